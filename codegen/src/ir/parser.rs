//! Parser of the textual IR written by `printer.rs`; see there for the grammar.
//!
//! A character-level recursive-descent parser (the type syntax `128x64xf16`
//! does not tokenize cleanly, so there is no separate lexer). Value names are
//! scoped to a function and must be defined before use, which the printer
//! guarantees; names that are not plain numbers are kept as name hints so
//! that printing again gives the same text.

use std::collections::HashMap;

use super::attr::{Attr, Attrs};
use super::location::Location;
use super::module::{ConstParam, Func, FuncKind, Module, RegionId, ValueId};
use super::ops::OpKind;
use super::types::{AddrSpace, Dim, ElemType, ScalarType, Type};

/// A parse error with its line and column in the text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a module (any number of functions).
pub fn parse_module(src: &str) -> Result<Module, ParseError> {
    let mut p = Parser {
        src: src.as_bytes(),
        pos: 0,
    };
    let mut module = Module::new();
    loop {
        p.skip_ws();
        if p.at_end() {
            break;
        }
        let func = p.func()?;
        if module.func(&func.name).is_some() {
            return Err(p.error(format!("function @{} is defined twice", func.name)));
        }
        module.funcs.push(func);
    }
    Ok(module)
}

/// Parses a single type (`tile<{BLOCK}x64xf16>`), for tools and tests.
pub fn parse_type(src: &str) -> Result<Type, ParseError> {
    let mut p = Parser {
        src: src.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let t = p.ty()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.error("unexpected text after the type".into()));
    }
    Ok(t)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

/// Per-function name scope.
struct Scope {
    values: HashMap<String, ValueId>,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn line_col(&self) -> (usize, usize) {
        let upto = &self.src[..self.pos.min(self.src.len())];
        let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
        let col = self.pos - upto.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    fn error(&self, message: String) -> ParseError {
        let (line, col) = self.line_col();
        ParseError { line, col, message }
    }

    fn expected(&self, what: &str) -> ParseError {
        let found: String = self.src[self.pos.min(self.src.len())..]
            .iter()
            .take(20)
            .take_while(|&&c| c != b'\n')
            .map(|&c| c as char)
            .collect();
        if found.is_empty() {
            self.error(format!("expected {what}, found the end of the line"))
        } else {
            self.error(format!("expected {what}, found `{found}`"))
        }
    }

    /// Skips spaces, newlines and `//` comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'/' && self.peek_at(1) == Some(b'/') {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Consumes `s` (after whitespace) if it is next.
    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.src[self.pos..].starts_with(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{s}`")))
        }
    }

    fn is_ident_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }

    /// An identifier `[A-Za-z_][A-Za-z0-9_]*` (after whitespace).
    fn ident(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
            _ => return Err(self.expected("an identifier")),
        }
        while self.peek().is_some_and(Self::is_ident_char) {
            self.pos += 1;
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    /// The name after `%` or `@`: identifier characters, possibly all digits.
    fn sigil_name(&mut self, sigil: u8) -> Result<String, ParseError> {
        self.skip_ws();
        if self.peek() != Some(sigil) {
            return Err(self.expected(&format!("`{}`", sigil as char)));
        }
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(Self::is_ident_char) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.expected("a name"));
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    fn unsigned(&mut self) -> Result<u64, ParseError> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        text.parse()
            .map_err(|_| self.error(format!("expected an unsigned integer, found `{text}`")))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.expected("a string"));
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string".into())),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            self.pos += 1;
                            self.expect("{")?;
                            let start = self.pos;
                            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                self.pos += 1;
                            }
                            let hex = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                            let c = u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error(format!("bad escape \\u{{{hex}}}")))?;
                            if self.peek() != Some(b'}') {
                                return Err(self.expected("`}`"));
                            }
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.error("unknown escape in string".into())),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8".into()))
    }

    fn scalar_type(&mut self) -> Result<ScalarType, ParseError> {
        let save = self.pos;
        let name = self.ident()?;
        ScalarType::from_name(&name).ok_or_else(|| {
            self.pos = save;
            self.expected("a scalar type (i1, i8, i16, i32, i64, f16, bf16, f32, f64)")
        })
    }

    fn ptr_body(&mut self) -> Result<(ScalarType, AddrSpace), ParseError> {
        self.expect("<")?;
        let elem = self.scalar_type()?;
        self.expect(",")?;
        let save = self.pos;
        let space = self.ident()?;
        let space = AddrSpace::from_name(&space).ok_or_else(|| {
            self.pos = save;
            self.expected("an address space (global, shared)")
        })?;
        self.expect(">")?;
        Ok((elem, space))
    }

    /// Dims of a `tile<...>` or `desc<...>` up to the element type.
    fn dims(&mut self) -> Result<Vec<Dim>, ParseError> {
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c) if c.is_ascii_digit() => dims.push(Dim::Const(self.unsigned()?)),
                Some(b'{') => {
                    self.pos += 1;
                    dims.push(Dim::Sym(self.ident()?));
                    self.expect("}")?;
                }
                _ => break,
            }
            if self.peek() != Some(b'x') {
                return Err(self.expected("`x` after a dimension"));
            }
            self.pos += 1;
        }
        if dims.is_empty() {
            return Err(self.expected("a dimension"));
        }
        Ok(dims)
    }

    fn ty(&mut self) -> Result<Type, ParseError> {
        let save = self.pos;
        let name = self.ident()?;
        match name.as_str() {
            "ptr" => {
                let (e, a) = self.ptr_body()?;
                Ok(Type::Ptr(e, a))
            }
            "tile" => {
                self.expect("<")?;
                let dims = self.dims()?;
                let elem_save = self.pos;
                let elem_name = self.ident()?;
                let elem = if elem_name == "ptr" {
                    let (e, a) = self.ptr_body()?;
                    ElemType::Ptr(e, a)
                } else {
                    ElemType::Scalar(ScalarType::from_name(&elem_name).ok_or_else(|| {
                        self.pos = elem_save;
                        self.expected("a tile element type")
                    })?)
                };
                self.expect(">")?;
                Ok(Type::Tile(dims, elem))
            }
            "desc" => {
                self.expect("<")?;
                let dims = self.dims()?;
                let elem = self.scalar_type()?;
                self.expect(">")?;
                Ok(Type::Desc(elem, dims))
            }
            other => match ScalarType::from_name(other) {
                Some(s) => Ok(Type::Scalar(s)),
                None => {
                    self.pos = save;
                    Err(self.expected("a type"))
                }
            },
        }
    }

    fn loc(&mut self) -> Result<Location, ParseError> {
        self.expect("loc")?;
        self.expect("(")?;
        if self.eat("unknown") {
            self.expect(")")?;
            return Ok(Location::unknown());
        }
        let file = self.string()?;
        self.expect(":")?;
        let line = self.unsigned()?;
        self.expect(":")?;
        let col = self.unsigned()?;
        self.expect(")")?;
        let line = u32::try_from(line).map_err(|_| self.error("line number too large".into()))?;
        let col = u32::try_from(col).map_err(|_| self.error("column number too large".into()))?;
        Ok(Location::new(&file, line, col))
    }

    fn attr_value(&mut self) -> Result<Attr, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => Ok(Attr::Str(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut v = Vec::new();
                if !self.eat("]") {
                    loop {
                        match self.number()? {
                            Attr::Int(i) => v.push(i),
                            _ => return Err(self.error("integer lists hold integers only".into())),
                        }
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Attr::Ints(v))
            }
            _ => {
                if self.eat("true") {
                    Ok(Attr::Bool(true))
                } else if self.eat("false") {
                    Ok(Attr::Bool(false))
                } else {
                    self.number()
                }
            }
        }
    }

    /// An integer or float literal (`-3`, `0.5`, `1e-9`, `inf`, `-inf`, `nan`).
    fn number(&mut self) -> Result<Attr, ParseError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.src[self.pos..].starts_with(b"inf") || self.src[self.pos..].starts_with(b"nan") {
            self.pos += 3;
        } else {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+'))
                || (self.peek() == Some(b'-')
                    && matches!(self.src.get(self.pos.wrapping_sub(1)), Some(b'e' | b'E')))
            {
                self.pos += 1;
            }
        }
        let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        if text.is_empty() || text == "-" {
            self.pos = start;
            return Err(self.expected("a number, string, boolean or integer list"));
        }
        if text.contains(['.', 'e', 'E', 'i', 'n']) {
            let v = match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                _ => text
                    .parse()
                    .map_err(|_| self.error(format!("bad float `{text}`")))?,
            };
            Ok(Attr::Float(v))
        } else {
            Ok(Attr::Int(text.parse().map_err(|_| {
                self.error(format!("integer `{text}` does not fit in i64"))
            })?))
        }
    }

    /// After `{`: is this an attribute dictionary (`key =`) rather than a region?
    fn at_attr_dict(&self) -> bool {
        let mut i = self.pos;
        while self.src.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if !self
            .src
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        {
            return false;
        }
        while self.src.get(i).copied().is_some_and(Self::is_ident_char) {
            i += 1;
        }
        while self.src.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        self.src.get(i) == Some(&b'=')
    }

    fn func(&mut self) -> Result<Func, ParseError> {
        let kind = if self.eat("tile.kernel") {
            FuncKind::Kernel
        } else if self.eat("tile.func") {
            FuncKind::Device
        } else {
            return Err(self.expected("`tile.kernel` or `tile.func`"));
        };
        let name = self.sigil_name(b'@')?;
        let mut func = Func::new(&name, kind);
        if self.eat("<") {
            loop {
                let cname = self.ident()?;
                self.expect(":")?;
                let ty = self.scalar_type()?;
                func.consts.push(ConstParam { name: cname, ty });
                if self.eat(">") {
                    break;
                }
                self.expect(",")?;
            }
        }
        let mut scope = Scope {
            values: HashMap::new(),
        };
        self.expect("(")?;
        if !self.eat(")") {
            loop {
                let pname = self.sigil_name(b'%')?;
                self.expect(":")?;
                let ty = self.ty()?;
                let entry = func.body.entry();
                let v = func.body.add_region_arg(entry, ty, name_hint(&pname));
                self.define(&mut scope, pname, v)?;
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        if self.eat("->") {
            self.expect("(")?;
            if !self.eat(")") {
                loop {
                    func.results.push(self.ty()?);
                    if self.eat(")") {
                        break;
                    }
                    self.expect(",")?;
                }
            }
        }
        func.loc = self.loc()?;
        self.expect("{")?;
        let entry = func.body.entry();
        self.region_ops(&mut func, &mut scope, entry)?;
        Ok(func)
    }

    fn define(&self, scope: &mut Scope, name: String, v: ValueId) -> Result<(), ParseError> {
        if scope.values.contains_key(&name) {
            return Err(self.error(format!("value %{name} is defined twice")));
        }
        scope.values.insert(name, v);
        Ok(())
    }

    fn use_value(&mut self, scope: &Scope) -> Result<ValueId, ParseError> {
        let save = self.pos;
        let name = self.sigil_name(b'%')?;
        scope.values.get(&name).copied().ok_or_else(|| {
            self.pos = save;
            self.error(format!("use of undefined value %{name}"))
        })
    }

    /// Ops up to and including the closing `}` of a region.
    fn region_ops(
        &mut self,
        func: &mut Func,
        scope: &mut Scope,
        region: RegionId,
    ) -> Result<(), ParseError> {
        loop {
            if self.eat("}") {
                return Ok(());
            }
            self.skip_ws();
            if self.at_end() {
                return Err(self.error("missing `}` at the end of a region".into()));
            }
            self.op(func, scope, region)?;
        }
    }

    fn op(
        &mut self,
        func: &mut Func,
        scope: &mut Scope,
        region: RegionId,
    ) -> Result<(), ParseError> {
        let mut result_names = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'%') {
            loop {
                result_names.push(self.sigil_name(b'%')?);
                if self.eat("=") {
                    break;
                }
                self.expect(",")?;
            }
        }
        self.skip_ws();
        let name_start = self.pos;
        let dialect = self.ident()?;
        self.expect(".")?;
        let mnemonic = self.ident()?;
        let full = format!("{dialect}.{mnemonic}");
        let kind = OpKind::from_name(&full).ok_or_else(|| {
            self.pos = name_start;
            self.error(format!("unknown op `{full}`"))
        })?;
        let mut operands = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'%') {
            loop {
                operands.push(self.use_value(scope)?);
                if !self.eat(",") {
                    break;
                }
            }
        }
        let mut attrs = Attrs::new();
        self.skip_ws();
        if self.peek() == Some(b'{') && {
            self.pos += 1;
            let dict = self.at_attr_dict();
            self.pos -= 1;
            dict
        } {
            self.pos += 1;
            loop {
                let key = self.ident()?;
                self.expect("=")?;
                let value = self.attr_value()?;
                if attrs.get(&key).is_some() {
                    return Err(self.error(format!("attribute `{key}` is given twice")));
                }
                attrs.set(&key, value);
                if self.eat("}") {
                    break;
                }
                self.expect(",")?;
            }
        }
        let mut result_types = Vec::new();
        if self.eat(":") {
            loop {
                result_types.push(self.ty()?);
                if !self.eat(",") {
                    break;
                }
            }
        }
        if result_types.len() != result_names.len() {
            return Err(self.error(format!(
                "`{full}` names {} results but gives {} result types",
                result_names.len(),
                result_types.len()
            )));
        }
        let mut regions = Vec::new();
        while self.eat("{") {
            let r = func.body.new_region(&[]);
            if self.eat("^") {
                self.expect("(")?;
                if !self.eat(")") {
                    loop {
                        let aname = self.sigil_name(b'%')?;
                        self.expect(":")?;
                        let ty = self.ty()?;
                        let v = func.body.add_region_arg(r, ty, name_hint(&aname));
                        self.define(scope, aname, v)?;
                        if self.eat(")") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                self.expect(":")?;
            }
            self.region_ops(func, scope, r)?;
            regions.push(r);
        }
        let loc = self.loc()?;
        let op = func
            .body
            .create_op(kind, operands, result_types, attrs, regions, loc);
        func.body.append_op(region, op);
        let results = func.body.op(op).results.clone();
        for (name, v) in result_names.into_iter().zip(results) {
            func.body.value_mut(v).name = name_hint(&name);
            self.define(scope, name, v)?;
        }
        Ok(())
    }
}

/// Numeric names (`%12`) carry no hint; others are kept for printing.
fn name_hint(name: &str) -> Option<String> {
    if name.bytes().all(|c| c.is_ascii_digit()) {
        None
    } else {
        Some(name.to_string())
    }
}
