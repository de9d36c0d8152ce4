//! The lowering state of one function and the typing helpers every
//! expression uses: op emission with locations, literal materialization,
//! promotion, broadcasting, casts, and constant folding.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;

use super::error::{err, span_location};
use super::scope::Scope;
use super::types::{broadcast_shapes, promote, shape_str};
use super::value::{Lit, Val, convert_lit, fold_binary, fold_cmp, fold_weak};
use super::{CompileOptions, FileNames, Resolver};
use crate::ir::{
    Attr, Attrs, BinaryOp, Dim, Effect, ElemType, Func, Location, OpId, OpKind, RegionId,
    ScalarType, Type, UnaryOp, ValueId,
};

/// What a const parameter is bound to while lowering.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstVal {
    /// A known value (a configuration, an inferred `#[tile_fn]` generic).
    Known(Lit),
    /// Still symbolic: the name of a constexpr of the kernel.
    Sym(String),
}

/// A const parameter visible by name in the function being lowered.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConstBind {
    /// The IR type of its value.
    pub ty: ScalarType,
    /// What it is.
    pub val: ConstVal,
}

/// A compiled `#[tile_fn]` instance.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub name: String,
    pub results: Vec<Type>,
    /// True when the function returns a tuple (even of one element).
    pub tuple: bool,
}

/// State shared by every function of one compilation.
pub(crate) struct Ctx<'a> {
    pub fns: &'a [syn::ItemFn],
    pub resolver: &'a dyn Resolver,
    pub opts: &'a CompileOptions,
    /// Device-function instances, in creation order.
    pub funcs: Vec<Func>,
    pub instances: HashMap<String, Instance>,
    /// `#[tile_fn]`s being compiled (to reject recursion).
    pub stack: Vec<usize>,
    /// The IR types of the kernel's const parameters (for symbolic dims).
    pub sym_types: HashMap<String, ScalarType>,
    pub used_names: HashSet<String>,
}

impl Ctx<'_> {
    /// A function name not used yet, derived from `base`.
    pub(crate) fn unique_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.used_names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.used_names.insert(name.clone());
        name
    }

    pub(crate) fn loc(&self, span: Span) -> Location {
        match &self.opts.file {
            FileNames::Fixed(f) => span_location(span, Some(f)),
            FileNames::FromSpans => span_location(span, None),
        }
    }
}

/// The lowering of one function.
pub(crate) struct Lower<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    pub func: Func,
    /// Where ops are appended.
    pub region: RegionId,
    pub scope: Scope,
    pub consts: Vec<(String, ConstBind)>,
    /// Scalar values known at compile time.
    pub known: HashMap<ValueId, Lit>,
    /// Scalar values computed only from constants and constexprs.
    pub stat: HashSet<ValueId>,
    /// Values that are exactly `tile.constexpr {name}`.
    pub sym_of: HashMap<ValueId, String>,
    constexpr_cache: HashMap<String, ValueId>,
    hoisted: usize,
    /// The `#[tile_fn]` being lowered (None for the kernel).
    pub fn_id: Option<usize>,
    /// Variables carried by the enclosing loops/branches (for messages).
    pub carried: Vec<(Vec<String>, &'static str)>,
}

impl<'c, 'a> Lower<'c, 'a> {
    pub(crate) fn new(ctx: &'c mut Ctx<'a>, func: Func, fn_id: Option<usize>) -> Self {
        let region = func.body.entry();
        Lower {
            ctx,
            func,
            region,
            scope: Scope::new(),
            consts: Vec::new(),
            known: HashMap::new(),
            stat: HashSet::new(),
            sym_of: HashMap::new(),
            constexpr_cache: HashMap::new(),
            hoisted: 0,
            fn_id,
            carried: Vec::new(),
        }
    }

    // ----- emission -----

    /// The type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> Type {
        self.func.body.ty(v).clone()
    }

    /// Creates an op at the end of the current region.
    pub(crate) fn emit_op(
        &mut self,
        span: Span,
        kind: OpKind,
        operands: Vec<ValueId>,
        results: Vec<Type>,
        attrs: Attrs,
        regions: Vec<RegionId>,
    ) -> OpId {
        let loc = self.ctx.loc(span);
        let is_stat = kind.effect() == Effect::Pure
            && regions.is_empty()
            && !matches!(kind, OpKind::ProgramId | OpKind::NumPrograms)
            && operands.iter().all(|v| self.stat.contains(v))
            && results.iter().all(|t| !t.is_tile());
        let op = self
            .func
            .body
            .create_op(kind, operands, results, attrs, regions, loc);
        self.func.body.append_op(self.region, op);
        if is_stat {
            for r in self.func.body.op(op).results.clone() {
                self.stat.insert(r);
            }
        }
        op
    }

    /// Creates an op without regions; returns its results.
    pub(crate) fn emit(
        &mut self,
        span: Span,
        kind: OpKind,
        operands: Vec<ValueId>,
        results: Vec<Type>,
        attrs: Attrs,
    ) -> Vec<ValueId> {
        let op = self.emit_op(span, kind, operands, results, attrs, vec![]);
        self.func.body.op(op).results.clone()
    }

    /// Creates an op with one result; returns it.
    pub(crate) fn emit1(
        &mut self,
        span: Span,
        kind: OpKind,
        operands: Vec<ValueId>,
        result: Type,
        attrs: Attrs,
    ) -> ValueId {
        self.emit(span, kind, operands, vec![result], attrs)[0]
    }

    /// Gives a value a name hint (the Rust binding) if it has none.
    pub(crate) fn name_value(&mut self, v: ValueId, name: &str) {
        if name == "_" || name.starts_with('_') && name.len() == 1 {
            return;
        }
        let data = self.func.body.value_mut(v);
        if data.name.is_none() {
            data.name = Some(name.to_string());
        }
    }

    /// `tile.constexpr {name}`, placed once at the top of the function.
    pub(crate) fn constexpr_value(&mut self, name: &str, ty: ScalarType, span: Span) -> ValueId {
        if let Some(v) = self.constexpr_cache.get(name) {
            return *v;
        }
        let loc = self.ctx.loc(span);
        let op = self.func.body.create_op(
            OpKind::Constexpr,
            vec![],
            vec![Type::Scalar(ty)],
            Attrs::new().with("name", Attr::Str(name.to_string())),
            vec![],
            loc,
        );
        let entry = self.func.body.entry();
        self.func.body.insert_op(entry, self.hoisted, op);
        self.hoisted += 1;
        let v = self.func.body.op(op).results[0];
        self.func.body.value_mut(v).name = Some(name.to_string());
        self.constexpr_cache.insert(name.to_string(), v);
        self.stat.insert(v);
        self.sym_of.insert(v, name.to_string());
        v
    }

    // ----- constants -----

    /// A const parameter by name.
    pub(crate) fn const_bind(&self, name: &str) -> Option<&ConstBind> {
        self.consts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    /// The dimension a const parameter stands for.
    pub(crate) fn const_dim(&self, name: &str) -> Option<Dim> {
        match &self.const_bind(name)?.val {
            ConstVal::Known(Lit::Int(v)) if *v > 0 => Some(Dim::Const(*v as u64)),
            ConstVal::Known(_) => None,
            ConstVal::Sym(s) => Some(Dim::Sym(s.clone())),
        }
    }

    /// The value of a const parameter used as an expression (None when no
    /// const parameter has that name).
    pub(crate) fn const_param_value(
        &mut self,
        name: &str,
        span: Span,
    ) -> Option<syn::Result<ValueId>> {
        let b = self.const_bind(name)?.clone();
        Some(match b.val {
            ConstVal::Known(l) => self.const_of(l, &Type::Scalar(b.ty), span),
            ConstVal::Sym(s) => {
                // The kernel's declaration decides the constexpr's type.
                let kt = self.ctx.sym_types.get(&s).copied().unwrap_or(b.ty);
                let v = self.constexpr_value(&s, kt, span);
                Ok(self.cast_elem(v, b.ty, span))
            }
        })
    }

    /// A `tile.constant` of `ty` (scalar or tile) holding `lit`.
    pub(crate) fn const_of(&mut self, lit: Lit, ty: &Type, span: Span) -> syn::Result<ValueId> {
        let elem = match ty.scalar_elem() {
            Some(e) => e,
            None => return err(span, format!("a literal cannot have type {ty}")),
        };
        if matches!(lit, Lit::Float(_)) && !elem.is_float() {
            return err(
                span,
                format!(
                    "float literal {lit} used where {} is expected; write an integer or cast \
                     explicitly",
                    elem
                ),
            );
        }
        let Some(c) = convert_lit(lit, elem) else {
            return err(span, format!("literal {lit} does not fit in {elem}"));
        };
        let attr = match c {
            Lit::Int(v) => Attr::Int(v),
            Lit::Float(v) => Attr::Float(v),
            Lit::Bool(v) => Attr::Bool(v),
        };
        let v = self.emit1(
            span,
            OpKind::Constant,
            vec![],
            ty.clone(),
            Attrs::new().with("value", attr),
        );
        if !ty.is_tile() {
            self.known.insert(v, c);
        }
        Ok(v)
    }

    /// An IR value for `val`: literals get their default type.
    pub(crate) fn materialize(&mut self, val: &Val, span: Span) -> syn::Result<ValueId> {
        match val {
            Val::V(v) => Ok(*v),
            Val::Lit(l) => self.const_of(*l, &Type::Scalar(l.default_type()), span),
            Val::Tuple(_) => err(span, "expected a single value, found a tuple"),
            Val::Unit => err(
                span,
                "expected a value, found `()` (this expression has no value)",
            ),
            Val::Str(_) => err(span, "a string is only allowed as a message argument"),
        }
    }

    /// Converts `val` to exactly `ty`: literals are materialized as `ty`,
    /// IR values must already have it. `what` names the value in errors.
    pub(crate) fn coerce(
        &mut self,
        val: &Val,
        ty: &Type,
        span: Span,
        what: &dyn Fn() -> String,
    ) -> syn::Result<ValueId> {
        match val {
            Val::Lit(l) => self.const_of(*l, ty, span),
            Val::V(v) => {
                let got = self.ty(*v);
                if &got == ty {
                    Ok(*v)
                } else {
                    err(span, type_mismatch_msg(&what(), &got, ty))
                }
            }
            other => {
                self.materialize(other, span)?;
                unreachable_value(span)
            }
        }
    }

    /// The scalar element of a value, or an error naming `what`.
    pub(crate) fn scalar_elem(
        &self,
        v: ValueId,
        span: Span,
        what: &str,
    ) -> syn::Result<ScalarType> {
        let t = self.ty(v);
        match t.scalar_elem() {
            Some(s) => Ok(s),
            None => err(
                span,
                format!("{what} needs numbers or booleans, but this value has type {t}"),
            ),
        }
    }

    /// Casts to another element type (folding constants).
    pub(crate) fn cast_elem(&mut self, v: ValueId, to: ScalarType, span: Span) -> ValueId {
        let t = self.ty(v);
        if t.scalar_elem() == Some(to) {
            return v;
        }
        if let Some(l) = self.known.get(&v).copied()
            && let Some(c) = convert_lit(l, to)
        {
            return self
                .const_of(c, &Type::Scalar(to), span)
                .expect("converted literal fits");
        }
        let rt = t.with_elem(ElemType::Scalar(to));
        self.emit1(span, OpKind::Cast, vec![v], rt, Attrs::new())
    }

    /// Broadcasts a value (scalar, pointer or tile) to `shape` (numpy rules;
    /// the caller has checked compatibility).
    pub(crate) fn broadcast_to(&mut self, v: ValueId, shape: &[Dim], span: Span) -> ValueId {
        let t = self.ty(v);
        if t.shape() == shape {
            return v;
        }
        let elem = t.elem().expect("broadcast of a scalar, pointer or tile");
        if !t.is_tile() {
            return self.emit1(
                span,
                OpKind::Splat,
                vec![v],
                Type::Tile(shape.to_vec(), elem),
                Attrs::new(),
            );
        }
        let mut cur = v;
        let mut cur_shape = t.shape().to_vec();
        while cur_shape.len() < shape.len() {
            cur_shape.insert(0, Dim::Const(1));
            cur = self.emit1(
                span,
                OpKind::ExpandDims,
                vec![cur],
                Type::Tile(cur_shape.clone(), elem.clone()),
                Attrs::new().with("axis", Attr::Int(0)),
            );
        }
        if cur_shape != shape {
            cur = self.emit1(
                span,
                OpKind::Broadcast,
                vec![cur],
                Type::Tile(shape.to_vec(), elem),
                Attrs::new(),
            );
        }
        cur
    }

    /// The broadcast shape of several types, or an error naming the operation.
    pub(crate) fn common_shape(
        &self,
        types: &[&Type],
        span: Span,
        what: &str,
    ) -> syn::Result<Vec<Dim>> {
        let mut shape: Vec<Dim> = Vec::new();
        let mut first: Option<&Type> = None;
        for t in types {
            match broadcast_shapes(&shape, t.shape()) {
                Ok(s) => {
                    if t.is_tile() && first.is_none() {
                        first = Some(t);
                    }
                    shape = s;
                }
                Err(m) => {
                    let sym_note = if matches!(m.a, Dim::Sym(_)) || matches!(m.b, Dim::Sym(_)) {
                        " (a symbolic size is only known to equal the same const parameter)"
                    } else {
                        ""
                    };
                    return err(
                        span,
                        format!(
                            "shape mismatch in {what}: cannot broadcast {} with {}: dimension \
                             {} is {} vs {}{sym_note}. Broadcasting aligns trailing dimensions \
                             and only expands size-1 ones: add a dimension with x[(.., None)] \
                             / x[(None, ..)] or expand_dims, or use tiles of the same size",
                            first
                                .map(|t| t.to_string())
                                .unwrap_or_else(|| shape_str(&shape)),
                            t,
                            m.axis,
                            m.a,
                            m.b
                        ),
                    );
                }
            }
        }
        Ok(shape)
    }

    /// Brings numeric operands to one element type and one shape (promotion
    /// and broadcasting). Returns the converted values, the element type and
    /// the shape.
    pub(crate) fn unify(
        &mut self,
        vals: &[(Val, Span)],
        span: Span,
        what: &str,
    ) -> syn::Result<(Vec<ValueId>, ScalarType, Vec<Dim>)> {
        let mut elem: Option<ScalarType> = None;
        let mut types: Vec<Type> = Vec::new();
        for (v, s) in vals {
            match v {
                Val::V(id) => {
                    let t = self.ty(*id);
                    let e = match t.scalar_elem() {
                        Some(e) => e,
                        None => {
                            return err(
                                *s,
                                format!(
                                    "{what} is not defined on {t}{}",
                                    if t.pointee().is_some() {
                                        " (pointers support only `ptr + offset` and `ptr - offset`)"
                                    } else {
                                        ""
                                    }
                                ),
                            );
                        }
                    };
                    elem = Some(elem.map_or(e, |x| promote(x, e)));
                    types.push(t);
                }
                Val::Lit(_) => {}
                other => {
                    self.materialize(other, *s)?;
                }
            }
        }
        let lits: Vec<Lit> = vals
            .iter()
            .filter_map(|(v, _)| if let Val::Lit(l) = v { Some(*l) } else { None })
            .collect();
        let mut elem = match elem {
            Some(e) => e,
            None => lits
                .iter()
                .map(|l| l.default_type())
                .reduce(promote)
                .unwrap_or(ScalarType::I32),
        };
        for l in &lits {
            match l {
                Lit::Float(_) if !elem.is_float() => elem = promote(elem, ScalarType::F32),
                Lit::Int(_) if elem == ScalarType::I1 => elem = ScalarType::I32,
                _ => {}
            }
        }
        let refs: Vec<&Type> = types.iter().collect();
        let shape = self.common_shape(&refs, span, what)?;
        let target = if shape.is_empty() {
            Type::Scalar(elem)
        } else {
            Type::Tile(shape.clone(), ElemType::Scalar(elem))
        };
        let mut out = Vec::new();
        for (v, s) in vals {
            let id = match v {
                Val::V(id) => {
                    let c = self.cast_elem(*id, elem, *s);
                    self.broadcast_to(c, &shape, *s)
                }
                Val::Lit(l) => self.const_of(*l, &target, *s)?,
                _ => unreachable_value(*s)?,
            };
            out.push(id);
        }
        Ok((out, elem, shape))
    }

    // ----- arithmetic -----

    /// Elementwise binary arithmetic with promotion, broadcasting, pointer
    /// arithmetic and constant folding.
    pub(crate) fn binary(
        &mut self,
        op: BinaryOp,
        a: Val,
        b: Val,
        spans: (Span, Span),
        span: Span,
        sym: &str,
    ) -> syn::Result<Val> {
        if let (Val::Lit(x), Val::Lit(y)) = (&a, &b) {
            return match fold_weak(op, *x, *y) {
                Ok(l) => Ok(Val::Lit(l)),
                Err(m) => err(span, m),
            };
        }
        let is_ptr =
            |this: &Self, v: &Val| matches!(v, Val::V(id) if this.ty(*id).pointee().is_some());
        if is_ptr(self, &a) || is_ptr(self, &b) {
            return self.ptr_arith(op, a, b, spans, span, sym);
        }
        let (ops, elem, _) =
            self.unify(&[(a, spans.0), (b, spans.1)], span, &format!("`{sym}`"))?;
        if op.int_only() && elem.is_float() {
            return err(
                span,
                format!(
                    "`{sym}` needs integer or bool operands, but they are {elem}; cast with \
                     .cast::<i32>() or use arithmetic"
                ),
            );
        }
        if op.float_only() && !elem.is_float() {
            return err(
                span,
                format!(
                    "`{sym}` needs float operands, but they are {elem}; cast with .cast::<f32>()"
                ),
            );
        }
        if let (Some(x), Some(y)) = (
            self.known.get(&ops[0]).copied(),
            self.known.get(&ops[1]).copied(),
        ) && let Some(r) = fold_binary(op, x, y, elem)
        {
            let t = self.ty(ops[0]);
            return Ok(Val::V(self.const_of(r, &t, span)?));
        }
        let t = self.ty(ops[0]);
        Ok(Val::V(self.emit1(
            span,
            OpKind::Binary(op),
            ops,
            t,
            Attrs::new(),
        )))
    }

    fn ptr_arith(
        &mut self,
        op: BinaryOp,
        a: Val,
        b: Val,
        spans: (Span, Span),
        span: Span,
        sym: &str,
    ) -> syn::Result<Val> {
        let a_ptr = matches!(&a, Val::V(id) if self.ty(*id).pointee().is_some());
        let (p, off, off_span) = match (op, a_ptr) {
            (BinaryOp::Add, true) | (BinaryOp::Sub, true) => (a, b, spans.1),
            (BinaryOp::Add, false) => (b, a, spans.0),
            _ => {
                return err(
                    span,
                    format!(
                        "`{sym}` is not defined on pointers: pointer arithmetic is \
                         `ptr + offset` or `ptr - offset` with integer offsets (in elements)"
                    ),
                );
            }
        };
        let p = match p {
            Val::V(v) => v,
            _ => unreachable_value(span)?,
        };
        let off_val = match &off {
            Val::Lit(Lit::Int(i)) => {
                let ty = if i32::try_from(*i).is_ok() {
                    ScalarType::I32
                } else {
                    ScalarType::I64
                };
                self.const_of(Lit::Int(*i), &Type::Scalar(ty), off_span)?
            }
            Val::V(v) => *v,
            Val::Lit(l) => {
                return err(
                    off_span,
                    format!(
                        "cannot offset a pointer by {l}: offsets are integers (elements); \
                         cast with .cast::<i32>()"
                    ),
                );
            }
            other => self.materialize(other, off_span)?,
        };
        let ot = self.ty(off_val);
        match ot.scalar_elem() {
            Some(e) if e.is_int() && e != ScalarType::I1 => {}
            _ => {
                return err(
                    off_span,
                    format!(
                        "cannot add {ot} to a pointer: offsets are integers (elements of the \
                         pointee), e.g. `x + row * stride + cols` with i32 or i64 values{}",
                        if ot.pointee().is_some() {
                            "; two pointers cannot be added"
                        } else {
                            ""
                        }
                    ),
                );
            }
        }
        let pt = self.ty(p);
        let shape = self.common_shape(&[&pt, &ot], span, &format!("`{sym}`"))?;
        let mut off_val = self.broadcast_to(off_val, &shape, off_span);
        if op == BinaryOp::Sub {
            let t = self.ty(off_val);
            off_val = self.emit1(
                off_span,
                OpKind::Unary(UnaryOp::Neg),
                vec![off_val],
                t,
                Attrs::new(),
            );
        }
        let p = self.broadcast_to(p, &shape, span);
        let rt = self.ty(p);
        Ok(Val::V(self.emit1(
            span,
            OpKind::AddPtr,
            vec![p, off_val],
            rt,
            Attrs::new(),
        )))
    }

    /// A comparison (`pred` of `tile.cmp`), giving i1.
    pub(crate) fn compare(
        &mut self,
        pred: &str,
        a: Val,
        b: Val,
        spans: (Span, Span),
        span: Span,
        sym: &str,
    ) -> syn::Result<Val> {
        if let (Val::Lit(x), Val::Lit(y)) = (&a, &b) {
            let ty = if matches!(x, Lit::Float(_)) || matches!(y, Lit::Float(_)) {
                ScalarType::F64
            } else {
                ScalarType::I64
            };
            if let Some(r) = fold_cmp(pred, *x, *y, ty) {
                return Ok(Val::Lit(Lit::Bool(r)));
            }
        }
        let (ops, elem, _) =
            self.unify(&[(a, spans.0), (b, spans.1)], span, &format!("`{sym}`"))?;
        if let (Some(x), Some(y)) = (
            self.known.get(&ops[0]).copied(),
            self.known.get(&ops[1]).copied(),
        ) && let Some(r) = fold_cmp(pred, x, y, elem)
        {
            return Ok(Val::V(self.const_of(
                Lit::Bool(r),
                &Type::Scalar(ScalarType::I1),
                span,
            )?));
        }
        let t = self.ty(ops[0]).with_elem(ElemType::Scalar(ScalarType::I1));
        Ok(Val::V(self.emit1(
            span,
            OpKind::Cmp,
            ops,
            t,
            Attrs::new().with("pred", Attr::Str(pred.to_string())),
        )))
    }

    /// `&&` / `||` on booleans.
    pub(crate) fn logical(
        &mut self,
        op: BinaryOp,
        a: Val,
        b: Val,
        spans: (Span, Span),
        span: Span,
        sym: &str,
    ) -> syn::Result<Val> {
        for (v, s) in [(&a, spans.0), (&b, spans.1)] {
            let ok = match v {
                Val::Lit(l) => matches!(l, Lit::Bool(_)),
                Val::V(id) => self.ty(*id).scalar_elem() == Some(ScalarType::I1),
                _ => false,
            };
            if !ok {
                let got = match v {
                    Val::V(id) => self.ty(*id).to_string(),
                    Val::Lit(l) => format!("the literal {l}"),
                    _ => "a non-value".into(),
                };
                return err(
                    s,
                    format!(
                        "`{sym}` needs boolean (i1) operands, e.g. comparisons; this one is {got}. \
                         For bitwise logic on integers use `&` / `|`"
                    ),
                );
            }
        }
        self.binary(op, a, b, spans, span, sym)
    }

    /// Elementwise unary op (`-`, `!`, math functions).
    pub(crate) fn unary(
        &mut self,
        op: UnaryOp,
        a: Val,
        a_span: Span,
        span: Span,
        name: &str,
    ) -> syn::Result<Val> {
        match (&a, op) {
            (Val::Lit(Lit::Int(v)), UnaryOp::Neg) => {
                return Ok(Val::Lit(Lit::Int(v.checked_neg().ok_or_else(|| {
                    syn::Error::new(span, "constant negation overflows")
                })?)));
            }
            (Val::Lit(Lit::Float(v)), UnaryOp::Neg) => return Ok(Val::Lit(Lit::Float(-v))),
            (Val::Lit(Lit::Bool(v)), UnaryOp::Not) => return Ok(Val::Lit(Lit::Bool(!v))),
            (Val::Lit(Lit::Int(v)), UnaryOp::Not) => return Ok(Val::Lit(Lit::Int(!v))),
            _ => {}
        }
        let v = match &a {
            // Math on an untyped literal computes in f32.
            Val::Lit(l) if op.float_only() => self.const_of(
                Lit::Float(l.as_f64()),
                &Type::Scalar(ScalarType::F32),
                a_span,
            )?,
            other => self.materialize(other, a_span)?,
        };
        let elem = self.scalar_elem(v, a_span, &format!("`{name}`"))?;
        if op.float_only() && !elem.is_float() {
            return err(
                a_span,
                format!(
                    "`{name}` needs a float operand, but this is {}; cast first: \
                     .cast::<f32>()",
                    self.ty(v)
                ),
            );
        }
        if op.int_only() && elem.is_float() {
            return err(
                a_span,
                format!(
                    "`{name}` needs an integer or bool operand, but this is {}",
                    self.ty(v)
                ),
            );
        }
        if op == UnaryOp::Neg && elem == ScalarType::I1 {
            return err(a_span, "cannot negate a boolean; use `!` for logical not");
        }
        if let Some(l) = self.known.get(&v).copied() {
            let folded = match (op, l) {
                (UnaryOp::Neg, Lit::Int(x)) => x.checked_neg().map(Lit::Int),
                (UnaryOp::Neg, Lit::Float(x)) => Some(Lit::Float(-x)),
                (UnaryOp::Not, Lit::Bool(x)) => Some(Lit::Bool(!x)),
                (UnaryOp::Not, Lit::Int(x)) => Some(Lit::Int(!x)),
                (UnaryOp::Abs, Lit::Int(x)) => x.checked_abs().map(Lit::Int),
                (UnaryOp::Abs, Lit::Float(x)) => Some(Lit::Float(x.abs())),
                _ => None,
            };
            if let Some(r) = folded {
                let t = self.ty(v);
                if let Ok(c) = self.const_of(r, &t, span) {
                    return Ok(Val::V(c));
                }
            }
        }
        let t = self.ty(v);
        Ok(Val::V(self.emit1(
            span,
            OpKind::Unary(op),
            vec![v],
            t,
            Attrs::new(),
        )))
    }

    /// A value that must be a compile-time-known scalar (axis arguments, ...).
    pub(crate) fn known_int(&self, val: &Val) -> Option<i64> {
        match val {
            Val::Lit(Lit::Int(v)) => Some(*v),
            Val::V(id) => match self.known.get(id) {
                Some(Lit::Int(v)) => Some(*v),
                _ => None,
            },
            _ => None,
        }
    }

    /// The known boolean value of a value, if any.
    pub(crate) fn known_bool(&self, val: &Val) -> Option<bool> {
        match val {
            Val::Lit(Lit::Bool(v)) => Some(*v),
            Val::V(id) => match self.known.get(id) {
                Some(Lit::Bool(v)) => Some(*v),
                _ => None,
            },
            _ => None,
        }
    }

    /// Describes a value's type for messages.
    pub(crate) fn describe(&self, val: &Val) -> String {
        match val {
            Val::V(v) => self.ty(*v).to_string(),
            Val::Lit(l) => format!("the literal {l}"),
            Val::Tuple(t) => format!("a tuple of {}", t.len()),
            Val::Unit => "()".into(),
            Val::Str(_) => "a string".into(),
        }
    }
}

/// Used where a value kind was already rejected by an earlier check.
pub(crate) fn unreachable_value<T>(span: Span) -> syn::Result<T> {
    err(
        span,
        "internal error: unexpected value kind (please report this)",
    )
}

/// The message for a value of the wrong type, with a hint that fits.
pub(crate) fn type_mismatch_msg(what: &str, got: &Type, want: &Type) -> String {
    let hint = match (got.scalar_elem(), want.scalar_elem()) {
        _ if got.shape() != want.shape() && got.elem() == want.elem() => {
            if got.is_tile() && !want.is_tile() {
                " (a tile cannot become a scalar; reduce it with sum/max/min)".to_string()
            } else if !got.is_tile() && want.is_tile() {
                " (declare the variable as a tile, e.g. with zeros::<T, dims..>(), or use \
                 broadcast_to)"
                    .to_string()
            } else {
                " (the shapes differ)".to_string()
            }
        }
        (Some(_), Some(w)) if got.shape() == want.shape() => {
            format!(
                "; cast it with .cast::<{}>()",
                super::types::dsl_scalar_name(w)
            )
        }
        _ => String::new(),
    };
    format!("type mismatch: {what} has type {got} but {want} is expected{hint}")
}
