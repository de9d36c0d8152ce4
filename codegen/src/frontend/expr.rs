//! Expressions: literals, names, operators, calls, methods, casts, tuple
//! fields and the indexing sugar `x[(.., None)]` for `expand_dims`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::builtins::{Arg, BUILTINS, find_builtin};
use super::calls::{BindEnv, is_tile_fn_path, strip_generics};
use super::error::{closest, err, err_at};
use super::lower::Lower;
use super::stmt::macro_message;
use super::types::{dsl_scalar_name, scalar_from_name, unsupported_scalar_hint};
use super::value::{Lit, Val, convert_lit};
use crate::ir::{Attr, Attrs, BinaryOp, Dim, OpKind, ScalarType, Type, UnaryOp};

impl Lower<'_, '_> {
    /// The type environment of the function being lowered.
    pub(crate) fn type_env(&self) -> BindEnv<'_> {
        BindEnv {
            binds: &self.consts,
            vars: &[],
        }
    }

    /// Lowers an expression.
    pub(crate) fn expr(&mut self, e: &syn::Expr) -> syn::Result<Val> {
        use syn::Expr as E;
        match e {
            E::Lit(l) => self.lit(&l.lit),
            E::Path(p) => self.path_expr(p),
            E::Paren(p) => self.expr(&p.expr),
            E::Group(g) => self.expr(&g.expr),
            E::Binary(b) => self.binary_expr(b),
            E::Unary(u) => self.unary_expr(u),
            E::Assign(a) => {
                let v = self.expr(&a.right)?;
                self.assign(&a.left, v, a.eq_token.span)?;
                Ok(Val::Unit)
            }
            E::Call(c) => self.call(c),
            E::MethodCall(m) => self.method_call(m),
            E::Index(i) => self.index(i),
            E::Cast(c) => {
                let v = self.expr(&c.expr)?;
                let t = self.scalar_type_arg(&c.ty)?;
                self.cast_to(v, t, c.expr.span(), c.as_token.span)
            }
            E::Tuple(t) => {
                let mut v = Vec::new();
                for x in &t.elems {
                    v.push(self.expr(x)?);
                }
                Ok(if v.is_empty() {
                    Val::Unit
                } else {
                    Val::Tuple(v)
                })
            }
            E::Block(b) => {
                if let Some(l) = &b.label {
                    return err_at(l, "block labels are not supported in tile code");
                }
                self.block(&b.block)
            }
            E::If(i) => self.if_expr(i),
            E::ForLoop(f) => self.for_loop(f),
            E::While(w) => self.while_loop(w),
            E::Field(f) => {
                let base = self.expr(&f.base)?;
                match (&f.member, base) {
                    (syn::Member::Unnamed(i), Val::Tuple(t)) => match t.get(i.index as usize) {
                        Some(v) => Ok(v.clone()),
                        None => err_at(
                            f,
                            format!("this tuple has {} elements, no field {}", t.len(), i.index),
                        ),
                    },
                    (_, other) => err_at(
                        f,
                        format!(
                            "field access is only supported on tuples (`t.0`), not on {}",
                            self.describe(&other)
                        ),
                    ),
                }
            }
            E::Loop(l) => err_at(
                l.loop_token,
                "`loop` is not supported in tile code (there is no `break`): use `while cond { .. }` \
                 or `for i in lo..hi`",
            ),
            E::Match(m) => err_at(
                m.match_token,
                "`match` is not supported in tile code: use if/else, or where(c, a, b) for an \
                 elementwise choice",
            ),
            E::Closure(c) => err_at(
                c,
                "closures are not supported in tile code: write a #[tile_fn] function instead",
            ),
            E::Return(r) => err_at(
                r,
                "early `return` is not supported in tile code: only the last statement of a \
                 #[tile_fn] may return; use if/else or where(c, a, b)",
            ),
            E::Break(b) => err_at(
                b,
                "`break` is not supported in tile code: use a `while` loop whose condition \
                 becomes false",
            ),
            E::Continue(c) => err_at(
                c,
                "`continue` is not supported in tile code: guard the rest of the body with `if`",
            ),
            E::Reference(r) => err_at(
                r,
                "references are not supported in tile code: values are passed by value, memory \
                 through Ptr<T>",
            ),
            E::Macro(m) => err_at(&m.mac, macro_message(&m.mac)),
            E::Array(a) => err_at(
                a,
                "arrays are only allowed as the shape/stride/offset lists of make_desc, \
                 desc_load and desc_store and as the permutation of trans; build tiles with \
                 zeros/full/arange",
            ),
            E::Range(r) => err_at(
                r,
                "ranges are only allowed as the iterator of a `for` loop and as `..` in tile \
                 indexing x[(.., None)]",
            ),
            E::Struct(s) => err_at(s, "struct literals are not supported in tile code"),
            E::Let(l) => err_at(l, "`let` expressions are not supported in tile code"),
            E::Try(t) => err_at(t, "`?` is not supported in tile code"),
            E::Unsafe(u) => err_at(u.unsafe_token, "`unsafe` is not supported in tile code"),
            E::Async(a) => err_at(a.async_token, "`async` is not supported in tile code"),
            E::Await(a) => err_at(a, "`.await` is not supported in tile code"),
            E::Repeat(r) => err_at(r, "array repeat expressions are not supported in tile code"),
            other => err_at(other, "this expression is not supported in tile code"),
        }
    }

    fn lit(&mut self, l: &syn::Lit) -> syn::Result<Val> {
        match l {
            syn::Lit::Int(i) => {
                let suffix = i.suffix();
                let v: i64 = match i.base10_parse() {
                    Ok(v) => v,
                    Err(_) => return err_at(i, "integer literal too large for i64"),
                };
                if suffix.is_empty() {
                    return Ok(Val::Lit(Lit::Int(v)));
                }
                match scalar_from_name(suffix) {
                    Some(t) if t != ScalarType::I1 => {
                        let lit = if t.is_float() {
                            Lit::Float(v as f64)
                        } else {
                            Lit::Int(v)
                        };
                        Ok(Val::V(self.const_of(lit, &Type::Scalar(t), i.span())?))
                    }
                    _ => err_at(
                        i,
                        format!(
                            "unsupported literal suffix `{suffix}`: the IR's integers are \
                             signed; use i8, i16, i32, i64 (or no suffix)"
                        ),
                    ),
                }
            }
            syn::Lit::Float(f) => {
                let v: f64 = f.base10_parse()?;
                match f.suffix() {
                    "" => Ok(Val::Lit(Lit::Float(v))),
                    "f32" => Ok(Val::V(self.const_of(
                        Lit::Float(v),
                        &Type::Scalar(ScalarType::F32),
                        f.span(),
                    )?)),
                    "f64" => Ok(Val::V(self.const_of(
                        Lit::Float(v),
                        &Type::Scalar(ScalarType::F64),
                        f.span(),
                    )?)),
                    s => err_at(
                        f,
                        format!("unsupported float suffix `{s}`; write `x.cast::<f16>()` for f16"),
                    ),
                }
            }
            syn::Lit::Bool(b) => Ok(Val::Lit(Lit::Bool(b.value))),
            syn::Lit::Str(s) => Ok(Val::Str(s.value())),
            other => err_at(other, "this literal is not supported in tile code"),
        }
    }

    fn path_expr(&mut self, p: &syn::ExprPath) -> syn::Result<Val> {
        if p.qself.is_some() {
            return err_at(p, "qualified paths are not supported in tile code");
        }
        let path = &p.path;
        if let Some(id) = path.get_ident() {
            let name = id.unraw().to_string();
            if let Some(b) = self.scope.lookup(&name) {
                return Ok(b.val.clone());
            }
            if let Some(v) = self.const_param_value(&name, id.span()) {
                return Ok(Val::V(v?));
            }
            if name == "None" {
                return err_at(
                    p,
                    "`None` is only meaningful inside tile indexing: x[(.., None)] adds a \
                     size-1 dimension",
                );
            }
            if find_builtin(&name).is_some() {
                return err_at(p, format!("`{name}` is a function: call it, `{name}(..)`"));
            }
            let mut names = self.scope.names();
            names.extend(self.consts.iter().map(|(n, _)| n.clone()));
            let hint = match closest(&name, names.iter().map(|s| s.as_str())) {
                Some(c) => format!(" (did you mean `{c}`?)"),
                None => String::new(),
            };
            return err_at(
                p,
                format!(
                    "unknown name `{name}`{hint}. Tile code sees only its parameters, its local \
                     variables and its const parameters (items outside the function, such as \
                     Rust `const`s, are invisible to the tile compiler: pass them as const \
                     parameters)"
                ),
            );
        }
        // `f32::INFINITY`, `f32::consts::PI`, `std::f32::consts::PI`, `i32::MAX`.
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let segs: Vec<&str> = segs.iter().map(|s| s.as_str()).collect();
        let segs: &[&str] = match segs.as_slice() {
            ["std" | "core", rest @ ..] => rest,
            rest => rest,
        };
        let (ty, name) = match segs {
            [t, n] => (*t, *n),
            [t, "consts", n] => (*t, *n),
            _ => return err_at(p, "unsupported path in tile code"),
        };
        let Some(st) = scalar_from_name(ty) else {
            return err_at(
                p,
                format!("unsupported path in tile code: `{ty}` is not a scalar type"),
            );
        };
        match type_constant(st, name) {
            Some(l) => Ok(Val::V(self.const_of(l, &Type::Scalar(st), p.span())?)),
            None => err_at(
                p,
                format!(
                    "unknown constant `{ty}::{name}`: supported are INFINITY, NEG_INFINITY, NAN, \
                     MAX, MIN, MIN_POSITIVE, EPSILON and consts::{{PI, E, LN_2, LN_10, LOG2_E, \
                     LOG10_E, LOG2_10, SQRT_2, FRAC_1_SQRT_2}} on float types, MAX and MIN on \
                     integer types"
                ),
            ),
        }
    }

    fn binary_expr(&mut self, b: &syn::ExprBinary) -> syn::Result<Val> {
        use syn::BinOp as B;
        let span = b.op.span();
        let spans = (b.left.span(), b.right.span());
        let compound = match b.op {
            B::AddAssign(_) => Some((BinaryOp::Add, "+=")),
            B::SubAssign(_) => Some((BinaryOp::Sub, "-=")),
            B::MulAssign(_) => Some((BinaryOp::Mul, "*=")),
            B::DivAssign(_) => Some((BinaryOp::Div, "/=")),
            B::RemAssign(_) => Some((BinaryOp::Rem, "%=")),
            B::BitAndAssign(_) => Some((BinaryOp::And, "&=")),
            B::BitOrAssign(_) => Some((BinaryOp::Or, "|=")),
            B::BitXorAssign(_) => Some((BinaryOp::Xor, "^=")),
            B::ShlAssign(_) => Some((BinaryOp::Shl, "<<=")),
            B::ShrAssign(_) => Some((BinaryOp::Shr, ">>=")),
            _ => None,
        };
        if let Some((op, sym)) = compound {
            let cur = self.expr(&b.left)?;
            let rhs = self.expr(&b.right)?;
            let new = self.binary(op, cur, rhs, spans, span, sym)?;
            self.assign(&b.left, new, span)?;
            return Ok(Val::Unit);
        }
        let a = self.expr(&b.left)?;
        let c = self.expr(&b.right)?;
        let arith = |op| Some(op);
        let (op, sym) = match b.op {
            B::Add(_) => (arith(BinaryOp::Add), "+"),
            B::Sub(_) => (arith(BinaryOp::Sub), "-"),
            B::Mul(_) => (arith(BinaryOp::Mul), "*"),
            B::Div(_) => (arith(BinaryOp::Div), "/"),
            B::Rem(_) => (arith(BinaryOp::Rem), "%"),
            B::BitAnd(_) => (arith(BinaryOp::And), "&"),
            B::BitOr(_) => (arith(BinaryOp::Or), "|"),
            B::BitXor(_) => (arith(BinaryOp::Xor), "^"),
            B::Shl(_) => (arith(BinaryOp::Shl), "<<"),
            B::Shr(_) => (arith(BinaryOp::Shr), ">>"),
            B::And(_) => return self.logical(BinaryOp::And, a, c, spans, span, "&&"),
            B::Or(_) => return self.logical(BinaryOp::Or, a, c, spans, span, "||"),
            B::Eq(_) => return self.compare("eq", a, c, spans, span, "=="),
            B::Ne(_) => return self.compare("ne", a, c, spans, span, "!="),
            B::Lt(_) => return self.compare("lt", a, c, spans, span, "<"),
            B::Le(_) => return self.compare("le", a, c, spans, span, "<="),
            B::Gt(_) => return self.compare("gt", a, c, spans, span, ">"),
            B::Ge(_) => return self.compare("ge", a, c, spans, span, ">="),
            _ => (None, ""),
        };
        match op {
            Some(op) => self.binary(op, a, c, spans, span, sym),
            None => err_at(b.op, "unsupported operator in tile code"),
        }
    }

    fn unary_expr(&mut self, u: &syn::ExprUnary) -> syn::Result<Val> {
        let v = self.expr(&u.expr)?;
        let s = u.expr.span();
        match u.op {
            syn::UnOp::Neg(t) => self.unary(UnaryOp::Neg, v, s, t.span, "-"),
            syn::UnOp::Not(t) => self.unary(UnaryOp::Not, v, s, t.span, "!"),
            _ => err_at(
                u,
                "dereferencing is not supported in tile code: read memory with load(ptr)",
            ),
        }
    }

    fn call(&mut self, c: &syn::ExprCall) -> syn::Result<Val> {
        let syn::Expr::Path(p) = &*c.func else {
            return err_at(
                &c.func,
                "only calls of named functions are supported in tile code",
            );
        };
        if p.qself.is_some() {
            return err_at(p, "qualified paths are not supported in tile code");
        }
        let path = &p.path;
        if path.segments.len() == 1 && path.leading_colon.is_none() {
            let seg = &path.segments[0];
            let name = seg.ident.unraw().to_string();
            if let Some(b) = find_builtin(&name) {
                if b.method_only {
                    return err_at(
                        &seg.ident,
                        format!("`{name}` is a method: write `x.{name}(..)`"),
                    );
                }
                let generics = match &seg.arguments {
                    syn::PathArguments::AngleBracketed(a) => Some(a),
                    syn::PathArguments::None => None,
                    syn::PathArguments::Parenthesized(x) => {
                        return err_at(x, "unexpected parenthesized arguments");
                    }
                };
                let args: Vec<Arg> = c.args.iter().map(Arg::Expr).collect();
                return self.call_builtin(b, generics, args, seg.ident.span(), c);
            }
            if self.scope.lookup(&name).is_some() {
                return err_at(
                    &seg.ident,
                    format!("`{name}` is a variable, not a function"),
                );
            }
        }
        let stripped = strip_generics(path);
        if is_tile_fn_path(path)
            && let Some(id) = self.ctx.resolver.resolve(self.fn_id, &stripped)
        {
            return self.call_tile_fn(c, path, id);
        }
        let shown = quote::quote!(#stripped).to_string().replace(' ', "");
        let last = path
            .segments
            .last()
            .map(|s| s.ident.unraw().to_string())
            .unwrap_or_default();
        let hint = match closest(&last, BUILTINS.iter().map(|b| b.name)) {
            Some(b) => format!(
                "; did you mean the builtin `{b}`? (signature: {})",
                find_builtin(b).map(|x| x.signature).unwrap_or("")
            ),
            None => String::new(),
        };
        let tile_fn_hint = if path.segments.len() == 1 && !is_tile_fn_path(path) {
            format!(
                " (if you meant your own #[tile_fn] named `{last}`, call it by a path: \
                 `self::{last}(..)`)"
            )
        } else {
            String::new()
        };
        err_at(
            &c.func,
            format!(
                "unknown function `{shown}`{hint}{tile_fn_hint}. Tile code can call the DSL's \
                 builtins and #[tile_fn] functions"
            ),
        )
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall) -> syn::Result<Val> {
        let name = m.method.unraw().to_string();
        if name == "clone" && m.args.is_empty() {
            return self.expr(&m.receiver);
        }
        if name == "max" || name == "min" {
            return err_at(
                &m.method,
                format!(
                    "`.{name}(..)` is ambiguous in tile code: use {name}(x, axis) for a \
                     reduction along an axis, or {}imum(a, b) for the elementwise {name}imum",
                    name
                ),
            );
        }
        let Some(b) = find_builtin(&name).filter(|b| b.method || b.method_only) else {
            let methods: Vec<&str> = BUILTINS
                .iter()
                .filter(|b| b.method || b.method_only)
                .map(|b| b.name)
                .collect();
            let hint = match closest(&name, methods.iter().copied()) {
                Some(c) => format!("did you mean `.{c}(..)`? "),
                None => String::new(),
            };
            return err_at(
                &m.method,
                format!(
                    "`.{name}()` is not a method of tile code; {hint}the methods are: .{}",
                    methods.join(", .")
                ),
            );
        };
        let recv = self.expr(&m.receiver)?;
        let mut args = vec![Arg::Val(recv, m.receiver.span())];
        args.extend(m.args.iter().map(Arg::Expr));
        self.call_builtin(b, m.turbofish.as_ref(), args, m.method.span(), m)
    }

    /// `x[(.., None)]`: every `..` keeps a dimension, every `None` inserts
    /// a size-1 dimension; dimensions not mentioned are kept at the end.
    fn index(&mut self, i: &syn::ExprIndex) -> syn::Result<Val> {
        const HELP: &str = "tile indexing only adds dimensions: `x[(.., None)]` makes a column, \
                            `x[(None, ..)]` a row (each `..` keeps one dimension, each `None` \
                            inserts a size-1 dimension); to read memory use load(ptr)";
        let entries: Vec<&syn::Expr> = match &*i.index {
            syn::Expr::Tuple(t) => t.elems.iter().collect(),
            e => vec![e],
        };
        let mut keep = Vec::new();
        for e in &entries {
            match e {
                syn::Expr::Range(r) if r.start.is_none() && r.end.is_none() => keep.push(true),
                syn::Expr::Path(p) if p.path.is_ident("None") => keep.push(false),
                other => return err_at(other, HELP),
            }
        }
        let base = self.expr(&i.expr)?;
        let span = i.bracket_token.span.join();
        let v = self.materialize(&base, i.expr.span())?;
        let t = self.ty(v);
        let elem = match t.elem() {
            Some(e) => e,
            None => return err_at(&i.expr, format!("cannot index a value of type {t}")),
        };
        let src = t.shape().to_vec();
        let kept = keep.iter().filter(|k| **k).count();
        if kept > src.len() {
            return err_at(
                &i.index,
                format!(
                    "this index keeps {kept} dimensions (`..`) but the value has only {} ({t})",
                    src.len()
                ),
            );
        }
        let mut out_shape = Vec::new();
        let mut it = src.iter();
        let mut new_axes = Vec::new();
        for k in &keep {
            if *k {
                out_shape.push(it.next().expect("counted").clone());
            } else {
                new_axes.push(out_shape.len());
                out_shape.push(Dim::Const(1));
            }
        }
        out_shape.extend(it.cloned());
        if src.is_empty() {
            return Ok(Val::V(self.emit1(
                span,
                OpKind::Splat,
                vec![v],
                Type::Tile(out_shape, elem),
                Attrs::new(),
            )));
        }
        let mut cur = v;
        let mut cur_shape = src;
        for ax in new_axes {
            cur_shape.insert(ax, Dim::Const(1));
            cur = self.emit1(
                span,
                OpKind::ExpandDims,
                vec![cur],
                Type::Tile(cur_shape.clone(), elem.clone()),
                Attrs::new().with("axis", Attr::Int(ax as i64)),
            );
        }
        Ok(Val::V(cur))
    }

    /// A scalar type in `as T` / `cast::<T>` position.
    pub(crate) fn scalar_type_arg(&self, ty: &syn::Type) -> syn::Result<ScalarType> {
        if let syn::Type::Path(p) = super::sig::ungroup(ty)
            && let Some(id) = p.path.get_ident()
        {
            let n = id.to_string();
            if let Some(s) = scalar_from_name(&n) {
                return Ok(s);
            }
            if let Some(h) = unsupported_scalar_hint(&n) {
                return err_at(ty, h);
            }
        }
        err_at(
            ty,
            "expected a scalar type: f16, bf16, f32, f64, i8, i16, i32, i64 or bool",
        )
    }

    /// An explicit conversion (`x as T`, `x.cast::<T>()`).
    pub(crate) fn cast_to(
        &mut self,
        v: Val,
        to: ScalarType,
        vspan: Span,
        span: Span,
    ) -> syn::Result<Val> {
        match v {
            Val::Lit(l) => {
                let c = convert_lit(l, to).ok_or_else(|| {
                    syn::Error::new(
                        vspan,
                        format!("{l} does not fit in {}", dsl_scalar_name(to)),
                    )
                })?;
                Ok(Val::V(self.const_of(c, &Type::Scalar(to), span)?))
            }
            Val::V(id) => {
                let t = self.ty(id);
                if t.scalar_elem().is_none() {
                    return err(
                        vspan,
                        format!(
                            "cannot cast {t}: casts convert numbers and booleans; offset \
                             pointers with `ptr + offset`"
                        ),
                    );
                }
                Ok(Val::V(self.cast_elem(id, to, span)))
            }
            other => err(vspan, format!("cannot cast {}", self.describe(&other))),
        }
    }
}

/// The value of `T::NAME` for a scalar type.
fn type_constant(t: ScalarType, name: &str) -> Option<Lit> {
    use std::f64::consts as c;
    if t.is_float() {
        let (max, min_pos, eps) = match t {
            ScalarType::F16 => (
                f64::from(half::f16::MAX),
                f64::from(half::f16::MIN_POSITIVE),
                f64::from(half::f16::EPSILON),
            ),
            ScalarType::BF16 => (
                f64::from(half::bf16::MAX),
                f64::from(half::bf16::MIN_POSITIVE),
                f64::from(half::bf16::EPSILON),
            ),
            ScalarType::F32 => (
                f64::from(f32::MAX),
                f64::from(f32::MIN_POSITIVE),
                f64::from(f32::EPSILON),
            ),
            _ => (f64::MAX, f64::MIN_POSITIVE, f64::EPSILON),
        };
        let v = match name {
            "INFINITY" => f64::INFINITY,
            "NEG_INFINITY" => f64::NEG_INFINITY,
            "NAN" => f64::NAN,
            "MAX" => max,
            "MIN" => -max,
            "MIN_POSITIVE" => min_pos,
            "EPSILON" => eps,
            "PI" => c::PI,
            "E" => c::E,
            "LN_2" => c::LN_2,
            "LN_10" => c::LN_10,
            "LOG2_E" => c::LOG2_E,
            "LOG10_E" => c::LOG10_E,
            "LOG2_10" => c::LOG2_10,
            "SQRT_2" => c::SQRT_2,
            "FRAC_1_SQRT_2" => c::FRAC_1_SQRT_2,
            _ => return None,
        };
        return Some(Lit::Float(v));
    }
    if t == ScalarType::I1 {
        return None;
    }
    let (lo, hi) = super::value::int_range(t);
    match name {
        "MAX" => Some(Lit::Int(hi as i64)),
        "MIN" => Some(Lit::Int(lo as i64)),
        _ => None,
    }
}
