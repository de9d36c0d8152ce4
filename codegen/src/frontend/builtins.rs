//! The DSL's builtin functions: the table (name, arity, signature, whether
//! it is also a method) and how each one is built into tile IR.
//!
//! | builtin | builds |
//! |---|---|
//! | `program_id(axis)`, `num_programs(axis)` | `tile.program_id`, `tile.num_programs` (i32) |
//! | `arange::<N>()`, `arange_from::<START, N>()` | `tile.arange` (`tile<N x i32>`, START..START+N) |
//! | `zeros::<[T,] dims..>()`, `full::<[T,] dims..>(v)`, `zeros_like(x)` | `tile.constant` / `tile.splat` (T defaults to f32 / v's type) |
//! | `splat::<dims..>(x)`, `broadcast_to::<dims..>(x)` | `tile.splat`, `tile.expand_dims`, `tile.broadcast` |
//! | `expand_dims(x, axis)`, `x[(.., None)]` | `tile.expand_dims` |
//! | `reshape::<dims..>(x)` | `tile.reshape` |
//! | `trans(x [, perm])`, `x.t()`, `permute(x, perm)` | `tile.trans` |
//! | `join(a, b)`, `split(x)` | `tile.join`, `tile.split` |
//! | `load(ptr [, mask [, other]])`, `store(ptr, v [, mask])` | `tile.load`, `tile.store` |
//! | `make_desc::<block..>(base, [shape..], [strides..])`, `desc_load(d, [offs..])`, `desc_store(d, [offs..], v)` | tensor descriptors |
//! | `dot(a, b [, acc])` | `tile.dot` (acc defaults to f32 zeros, i32 for int inputs) |
//! | `sum max min prod argmax argmin (x, axis)` | `tile.reduce` |
//! | `cumsum cumprod cummax cummin (x, axis)` and `_rev` | `tile.scan` |
//! | `sort(x, axis [, descending])` → `(values, indices)` | `tile.sort` |
//! | `topk(x, k, axis)`, `bottomk(x, k, axis)` → `(values, indices)` | `tile.topk` |
//! | `r#where(c, a, b)`, `where_(c, a, b)`, `select(c, a, b)` | `tile.select` |
//! | `cast::<T>(x)`, `x.cast::<T>()`, `x as T`, `bitcast::<T>(x)` | `tile.cast`, `tile.bitcast` |
//! | `exp exp2 log log2 sqrt rsqrt tanh sigmoid abs floor ceil sin cos (x)` | unary ops |
//! | `fma(a, b, c)`, `maximum(a, b)`, `minimum(a, b)`, `pow(a, b)`, `cdiv(a, b)` | elementwise |
//! | `atomic_add atomic_max atomic_min atomic_xchg (ptr, v [, mask])`, `atomic_cas(ptr, cmp, v)` | atomics |
//! | `static_assert(cond [, msg])`, `device_assert(cond [, msg])`, `device_print(prefix, xs..)` | checks and printing |
//!
//! `max(x, axis)`/`min(x, axis)` are reductions (as in Triton); the
//! elementwise maximum of two values is `maximum(a, b)`. Axes, `k` and
//! `descending` must be known at compile time (literals or bound const
//! parameters).

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::error::{err, err_at};
use super::lower::Lower;
use super::types::{check_pow2, dsl_scalar_name, scalar_from_name, shape_str};
use super::value::{Lit, Val};
use crate::ir::{Attr, Attrs, BinaryOp, Dim, ElemType, OpKind, ScalarType, Type, UnaryOp, ValueId};

/// A builtin function of the DSL.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// Its signature as shown in error messages.
    pub signature: &'static str,
    /// Fewest arguments (a method's receiver counts).
    pub min_args: usize,
    /// Most arguments (`usize::MAX` for variadic).
    pub max_args: usize,
    /// Also callable as a method (`x.exp()`).
    pub method: bool,
    /// Only callable as a method (`x.t()`).
    pub method_only: bool,
}

const fn f(name: &'static str, signature: &'static str, min: usize, max: usize) -> Builtin {
    Builtin {
        name,
        signature,
        min_args: min,
        max_args: max,
        method: false,
        method_only: false,
    }
}

const fn m(name: &'static str, signature: &'static str, min: usize, max: usize) -> Builtin {
    Builtin {
        method: true,
        ..f(name, signature, min, max)
    }
}

const fn mo(name: &'static str, signature: &'static str, min: usize, max: usize) -> Builtin {
    Builtin {
        method_only: true,
        ..f(name, signature, min, max)
    }
}

/// Every builtin.
pub static BUILTINS: &[Builtin] = &[
    f("program_id", "program_id(axis)", 1, 1),
    f("num_programs", "num_programs(axis)", 1, 1),
    f("arange", "arange::<N>()", 0, 0),
    f("arange_from", "arange_from::<START, N>()", 0, 0),
    f("zeros", "zeros::<T, dims..>()", 0, 0),
    f("full", "full::<T, dims..>(value)", 1, 1),
    m("zeros_like", "zeros_like(x)", 1, 1),
    m("splat", "splat::<dims..>(x)", 1, 1),
    m("broadcast_to", "broadcast_to::<dims..>(x)", 1, 1),
    m("expand_dims", "expand_dims(x, axis)", 2, 2),
    m("reshape", "reshape::<dims..>(x)", 1, 1),
    m("trans", "trans(x [, perm])", 1, 2),
    mo("t", "x.t()", 1, 1),
    m("permute", "permute(x, perm)", 2, 2),
    f("join", "join(a, b)", 2, 2),
    m("split", "split(x)", 1, 1),
    f("load", "load(ptr [, mask [, other]])", 1, 3),
    f("store", "store(ptr, value [, mask])", 2, 3),
    f(
        "make_desc",
        "make_desc::<block..>(base, [shape..], [strides..])",
        3,
        3,
    ),
    f("desc_load", "desc_load(desc, [offsets..])", 2, 2),
    f("desc_store", "desc_store(desc, [offsets..], value)", 3, 3),
    f("dot", "dot(a, b [, acc])", 2, 3),
    m("sum", "sum(x, axis)", 2, 2),
    m("prod", "prod(x, axis)", 2, 2),
    f("max", "max(x, axis)", 2, 2),
    f("min", "min(x, axis)", 2, 2),
    m("argmax", "argmax(x, axis)", 2, 2),
    m("argmin", "argmin(x, axis)", 2, 2),
    m("cumsum", "cumsum(x, axis)", 2, 2),
    m("cumprod", "cumprod(x, axis)", 2, 2),
    m("cummax", "cummax(x, axis)", 2, 2),
    m("cummin", "cummin(x, axis)", 2, 2),
    m("cumsum_rev", "cumsum_rev(x, axis)", 2, 2),
    m("cumprod_rev", "cumprod_rev(x, axis)", 2, 2),
    m("cummax_rev", "cummax_rev(x, axis)", 2, 2),
    m("cummin_rev", "cummin_rev(x, axis)", 2, 2),
    m("sort", "sort(x, axis [, descending])", 2, 3),
    f("topk", "topk(x, k, axis)", 3, 3),
    f("bottomk", "bottomk(x, k, axis)", 3, 3),
    f("where", "r#where(cond, a, b)", 3, 3),
    f("where_", "where_(cond, a, b)", 3, 3),
    f("select", "select(cond, a, b)", 3, 3),
    m("cast", "cast::<T>(x)", 1, 1),
    m("bitcast", "bitcast::<T>(x)", 1, 1),
    m("exp", "exp(x)", 1, 1),
    m("exp2", "exp2(x)", 1, 1),
    m("log", "log(x)", 1, 1),
    m("log2", "log2(x)", 1, 1),
    m("sqrt", "sqrt(x)", 1, 1),
    m("rsqrt", "rsqrt(x)", 1, 1),
    m("tanh", "tanh(x)", 1, 1),
    m("sigmoid", "sigmoid(x)", 1, 1),
    m("abs", "abs(x)", 1, 1),
    m("floor", "floor(x)", 1, 1),
    m("ceil", "ceil(x)", 1, 1),
    m("sin", "sin(x)", 1, 1),
    m("cos", "cos(x)", 1, 1),
    f("fma", "fma(a, b, c)", 3, 3),
    f("maximum", "maximum(a, b)", 2, 2),
    f("minimum", "minimum(a, b)", 2, 2),
    f("pow", "pow(a, b)", 2, 2),
    f("cdiv", "cdiv(a, b)", 2, 2),
    f("atomic_add", "atomic_add(ptr, value [, mask])", 2, 3),
    f("atomic_max", "atomic_max(ptr, value [, mask])", 2, 3),
    f("atomic_min", "atomic_min(ptr, value [, mask])", 2, 3),
    f("atomic_xchg", "atomic_xchg(ptr, value [, mask])", 2, 3),
    f("atomic_cas", "atomic_cas(ptr, compare, value)", 3, 3),
    f("static_assert", "static_assert(cond [, \"msg\"])", 1, 2),
    f("device_assert", "device_assert(cond [, \"msg\"])", 1, 2),
    f(
        "device_print",
        "device_print(\"prefix\", values..)",
        1,
        usize::MAX,
    ),
    f(
        "range",
        "range(lo, hi [, step]) (only as a for loop's iterator)",
        2,
        3,
    ),
];

/// Looks a builtin up by name.
pub(crate) fn find_builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// True if `name` is a builtin of the DSL.
pub fn is_builtin(name: &str) -> bool {
    find_builtin(name).is_some()
}

/// An argument of a builtin: syntax, or an already lowered method receiver.
pub(crate) enum Arg<'e> {
    Expr(&'e syn::Expr),
    Val(Val, Span),
}

/// A generic argument of a builtin (`::<f32, BLOCK, 64>`).
#[derive(Clone, Debug)]
enum GArg {
    Scalar(ScalarType, Span),
    Int(i64, Span),
    Name(String, Span),
}

impl GArg {
    fn span(&self) -> Span {
        match self {
            GArg::Scalar(_, s) | GArg::Int(_, s) | GArg::Name(_, s) => *s,
        }
    }
}

fn unary_of(name: &str) -> Option<UnaryOp> {
    UnaryOp::ALL
        .into_iter()
        .find(|u| u.mnemonic() == name && !matches!(u, UnaryOp::Neg | UnaryOp::Not))
}

impl Lower<'_, '_> {
    fn parse_gargs(
        &self,
        g: Option<&syn::AngleBracketedGenericArguments>,
    ) -> syn::Result<Vec<GArg>> {
        let Some(g) = g else { return Ok(vec![]) };
        let mut out = Vec::new();
        for a in &g.args {
            out.push(garg(a)?);
        }
        Ok(out)
    }

    fn garg_dim(&self, g: &GArg, what: &str) -> syn::Result<Dim> {
        let d = match g {
            GArg::Int(v, s) => {
                if *v <= 0 {
                    return err(*s, format!("{what} must be positive, not {v}"));
                }
                Dim::Const(*v as u64)
            }
            GArg::Name(n, s) => match self.const_dim(n) {
                Some(d) => d,
                None => {
                    let bound = self.const_bind(n).is_some();
                    return err(
                        *s,
                        if bound {
                            format!("`{n}` is bound to a value that is not a positive size")
                        } else {
                            format!(
                                "unknown size `{n}`: a tile size is an integer literal or a \
                                 const parameter of the function"
                            )
                        },
                    );
                }
            },
            GArg::Scalar(t, s) => {
                return err(
                    *s,
                    format!(
                        "expected a size here, found the type {}",
                        dsl_scalar_name(*t)
                    ),
                );
            }
        };
        check_pow2(&d, g.span(), what)?;
        Ok(d)
    }

    fn shape_of(&self, gargs: &[GArg], what: &str, span: Span) -> syn::Result<Vec<Dim>> {
        if gargs.is_empty() {
            return err(
                span,
                format!("{what} needs its shape as generic arguments, e.g. ::<64, 32>"),
            );
        }
        gargs
            .iter()
            .map(|g| self.garg_dim(g, "tile size"))
            .collect()
    }

    fn arg(&mut self, a: &Arg) -> syn::Result<(Val, Span)> {
        match a {
            Arg::Expr(e) => Ok((self.expr(e)?, e.span())),
            Arg::Val(v, s) => Ok((v.clone(), *s)),
        }
    }

    fn list_arg(&mut self, a: &Arg, what: &str) -> syn::Result<(Vec<(Val, Span)>, Span)> {
        let Arg::Expr(e) = a else {
            return err(Span::call_site(), format!("{what} must be a list"));
        };
        let elems: Vec<&syn::Expr> = match e {
            syn::Expr::Array(x) => x.elems.iter().collect(),
            syn::Expr::Tuple(x) => x.elems.iter().collect(),
            other => {
                return err_at(other, format!("{what} must be a list: `[a, b]`"));
            }
        };
        let mut out = Vec::new();
        for x in elems {
            out.push((self.expr(x)?, x.span()));
        }
        Ok((out, e.span()))
    }

    fn str_arg(&mut self, a: &Arg, what: &str) -> syn::Result<String> {
        let (v, s) = self.arg(a)?;
        match v {
            Val::Str(x) => Ok(x),
            _ => err(s, format!("{what} must be a string literal")),
        }
    }

    /// A compile-time integer argument (axis, k).
    fn int_arg(&mut self, a: &Arg, what: &str) -> syn::Result<(i64, Span)> {
        let (v, s) = self.arg(a)?;
        match self.known_int(&v) {
            Some(i) => Ok((i, s)),
            None => err(
                s,
                format!(
                    "{what} must be known at compile time: an integer literal{}",
                    if matches!(v, Val::V(id) if self.sym_of.contains_key(&id)) {
                        " (a symbolic const parameter is not allowed here)"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }

    fn axis_arg(&mut self, a: &Arg, rank: usize, name: &str) -> syn::Result<usize> {
        let (ax, s) = self.int_arg(a, "the axis")?;
        let r = rank as i64;
        let norm = if ax < 0 { ax + r } else { ax };
        if !(0..r).contains(&norm) {
            return err(
                s,
                format!(
                    "axis {ax} is out of range for `{name}` on a tile of rank {rank} (valid: 0..{rank}, \
                     or -1 for the last)"
                ),
            );
        }
        Ok(norm as usize)
    }

    fn tile_arg(
        &mut self,
        a: &Arg,
        name: &str,
    ) -> syn::Result<(ValueId, Vec<Dim>, ElemType, Span)> {
        let (v, s) = self.arg(a)?;
        let id = self.materialize(&v, s)?;
        let t = self.ty(id);
        match t {
            Type::Tile(shape, e) => Ok((id, shape, e, s)),
            other => err(s, format!("`{name}` needs a tile, but this is {other}")),
        }
    }

    fn ptr_arg(&mut self, a: &Arg, name: &str) -> syn::Result<(ValueId, ScalarType, Span)> {
        let (v, s) = self.arg(a)?;
        if let Val::V(id) = v
            && let Some((p, _)) = self.ty(id).pointee()
        {
            return Ok((id, p, s));
        }
        err(
            s,
            format!(
                "`{name}` needs a pointer (a Ptr<T> parameter, or pointer arithmetic like \
                 `x + offsets`), but this is {}",
                self.describe(&v)
            ),
        )
    }

    fn mask_arg(&mut self, a: &Arg) -> syn::Result<ValueId> {
        let (v, s) = self.arg(a)?;
        let id = self.materialize(&v, s)?;
        let t = self.ty(id);
        if t.scalar_elem() != Some(ScalarType::I1) {
            return err(
                s,
                format!("a mask must be a bool (i1) tile or scalar, e.g. `offs < n`; this is {t}"),
            );
        }
        Ok(id)
    }

    /// A value converted to the element type `elem` (the pointee of a load,
    /// store or atomic): literals convert, typed values must match.
    fn elem_value(
        &mut self,
        v: &Val,
        s: Span,
        elem: ScalarType,
        what: &str,
    ) -> syn::Result<ValueId> {
        match v {
            Val::Lit(l) => self.const_of(*l, &Type::Scalar(elem), s),
            Val::V(id) => {
                let t = self.ty(*id);
                match t.scalar_elem() {
                    Some(e) if e == elem => Ok(*id),
                    Some(_) => err(
                        s,
                        format!(
                            "type mismatch: {what} is {t} but the pointer is to {elem}: convert it \
                             explicitly with .cast::<{}>() (memory accesses never convert \
                             implicitly)",
                            dsl_scalar_name(elem)
                        ),
                    ),
                    None => err(s, format!("{what} must be numbers, not {t}")),
                }
            }
            other => {
                let m = self.materialize(other, s)?;
                Ok(m)
            }
        }
    }

    fn tile_or_scalar(shape: Vec<Dim>, elem: ElemType) -> Type {
        if shape.is_empty() {
            match elem {
                ElemType::Scalar(s) => Type::Scalar(s),
                ElemType::Ptr(s, a) => Type::Ptr(s, a),
            }
        } else {
            Type::Tile(shape, elem)
        }
    }

    /// Calls a builtin with `args` (a method's receiver first).
    pub(crate) fn call_builtin(
        &mut self,
        b: &Builtin,
        generics: Option<&syn::AngleBracketedGenericArguments>,
        args: Vec<Arg>,
        span: Span,
        whole: &dyn quote::ToTokens,
    ) -> syn::Result<Val> {
        let name = b.name;
        if args.len() < b.min_args || args.len() > b.max_args {
            let want = if b.min_args == b.max_args {
                format!("{}", b.min_args)
            } else if b.max_args == usize::MAX {
                format!("at least {}", b.min_args)
            } else {
                format!("{} to {}", b.min_args, b.max_args)
            };
            return err_at(
                whole,
                format!(
                    "`{name}` takes {want} argument(s) but {} {} given; signature: {}",
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" },
                    b.signature
                ),
            );
        }
        let gargs = self.parse_gargs(generics)?;
        let takes_generics = matches!(
            name,
            "arange"
                | "arange_from"
                | "zeros"
                | "full"
                | "splat"
                | "broadcast_to"
                | "reshape"
                | "make_desc"
                | "cast"
                | "bitcast"
        );
        if !takes_generics && let Some(g) = generics {
            return err_at(
                g,
                format!(
                    "`{name}` takes no generic arguments; signature: {}",
                    b.signature
                ),
            );
        }
        if let Some(u) = unary_of(name) {
            let (v, s) = self.arg(&args[0])?;
            return self.unary(u, v, s, span, name);
        }
        match name {
            "program_id" | "num_programs" => {
                let (ax, s) = self.int_arg(&args[0], "the axis")?;
                if !(0..3).contains(&ax) {
                    return err(s, format!("the grid axis must be 0, 1 or 2, not {ax}"));
                }
                let kind = if name == "program_id" {
                    OpKind::ProgramId
                } else {
                    OpKind::NumPrograms
                };
                Ok(Val::V(self.emit1(
                    span,
                    kind,
                    vec![],
                    Type::Scalar(ScalarType::I32),
                    Attrs::new().with("axis", Attr::Int(ax)),
                )))
            }
            "arange" => {
                if gargs.len() != 1 {
                    return err(
                        span,
                        "arange takes its size as one generic argument: arange::<N>() (for a start, use arange_from::<START, N>())",
                    );
                }
                let n = self.garg_dim(&gargs[0], "arange size")?;
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Arange,
                    vec![],
                    Type::Tile(vec![n], ElemType::Scalar(ScalarType::I32)),
                    Attrs::new().with("start", Attr::Int(0)),
                )))
            }
            "arange_from" => {
                if gargs.len() != 2 {
                    return err(
                        span,
                        "arange_from takes a start and a size: arange_from::<START, N>()",
                    );
                }
                let n = self.garg_dim(&gargs[1], "arange size")?;
                let ty = Type::Tile(vec![n.clone()], ElemType::Scalar(ScalarType::I32));
                let start: Result<i64, ValueId> = match &gargs[0] {
                    GArg::Int(v, _) => Ok(*v),
                    GArg::Name(nm, s) => match self.const_param_value(nm, *s) {
                        Some(v) => {
                            let v = v?;
                            match self.known.get(&v) {
                                Some(l) => Ok(l.as_i64()),
                                None => Err(v),
                            }
                        }
                        None => return err(*s, format!("unknown const parameter `{nm}`")),
                    },
                    GArg::Scalar(_, s) => return err(*s, "expected the start of the range"),
                };
                match start {
                    Ok(st) => Ok(Val::V(self.emit1(
                        span,
                        OpKind::Arange,
                        vec![],
                        ty,
                        Attrs::new().with("start", Attr::Int(st)),
                    ))),
                    Err(sym) => {
                        let a = self.emit1(
                            span,
                            OpKind::Arange,
                            vec![],
                            ty.clone(),
                            Attrs::new().with("start", Attr::Int(0)),
                        );
                        let sym = self.cast_elem(sym, ScalarType::I32, span);
                        let s = self.broadcast_to(sym, &[n], span);
                        Ok(Val::V(self.emit1(
                            span,
                            OpKind::Binary(BinaryOp::Add),
                            vec![a, s],
                            ty,
                            Attrs::new(),
                        )))
                    }
                }
            }
            "zeros" | "full" => {
                let (elem, dims) = match gargs.first() {
                    Some(GArg::Scalar(t, _)) => (Some(*t), &gargs[1..]),
                    _ => (None, &gargs[..]),
                };
                let shape = self.shape_of(dims, name, span)?;
                let value = if name == "zeros" {
                    (Val::Lit(Lit::Int(0)), span)
                } else {
                    self.arg(&args[0])?
                };
                let elem = match (elem, &value.0) {
                    (Some(t), _) => t,
                    (None, Val::Lit(l)) if name == "zeros" => {
                        let _ = l;
                        ScalarType::F32
                    }
                    (None, Val::Lit(l)) => l.default_type(),
                    (None, Val::V(id)) => self.scalar_elem(*id, value.1, "full")?,
                    (None, other) => {
                        return err(
                            value.1,
                            format!("full needs a value, not {}", self.describe(other)),
                        );
                    }
                };
                let ty = Type::Tile(shape.clone(), ElemType::Scalar(elem));
                match &value.0 {
                    Val::Lit(l) => Ok(Val::V(self.const_of(*l, &ty, value.1)?)),
                    Val::V(id) => {
                        let t = self.ty(*id);
                        if t.is_tile() {
                            return err(
                                value.1,
                                format!(
                                    "full needs a scalar value, not {t}; use broadcast_to for tiles"
                                ),
                            );
                        }
                        let c = self.cast_elem(*id, elem, value.1);
                        Ok(Val::V(self.broadcast_to(c, &shape, span)))
                    }
                    other => err(
                        value.1,
                        format!("full needs a value, not {}", self.describe(other)),
                    ),
                }
            }
            "zeros_like" => {
                let (v, s) = self.arg(&args[0])?;
                let id = self.materialize(&v, s)?;
                let t = self.ty(id);
                if t.scalar_elem().is_none() {
                    return err(s, format!("zeros_like needs numbers, not {t}"));
                }
                Ok(Val::V(self.const_of(Lit::Int(0), &t, span)?))
            }
            "splat" | "broadcast_to" => {
                let shape = self.shape_of(&gargs, name, span)?;
                let (v, s) = self.arg(&args[0])?;
                let id = self.materialize(&v, s)?;
                let t = self.ty(id);
                let target = Type::Tile(
                    shape.clone(),
                    t.elem().unwrap_or(ElemType::Scalar(ScalarType::I32)),
                );
                if t.elem().is_none() {
                    return err(s, format!("cannot broadcast {t}"));
                }
                let common = self.common_shape(&[&t, &target], span, name)?;
                if common != shape {
                    return err(
                        s,
                        format!("cannot broadcast {t} to shape {}", shape_str(&shape)),
                    );
                }
                Ok(Val::V(self.broadcast_to(id, &shape, span)))
            }
            "expand_dims" => {
                let (v, s) = self.arg(&args[0])?;
                let id = self.materialize(&v, s)?;
                let t = self.ty(id);
                let Some(elem) = t.elem() else {
                    return err(s, format!("cannot expand_dims {t}"));
                };
                let rank = t.shape().len();
                let (ax, axs) = self.int_arg(&args[1], "the axis")?;
                let norm = if ax < 0 { ax + rank as i64 + 1 } else { ax };
                if !(0..=rank as i64).contains(&norm) {
                    return err(
                        axs,
                        format!(
                            "axis {ax} is out of range for expand_dims on a tile of rank {rank} (valid: 0..={rank})"
                        ),
                    );
                }
                let mut shape = t.shape().to_vec();
                shape.insert(norm as usize, Dim::Const(1));
                if !t.is_tile() {
                    return Ok(Val::V(self.emit1(
                        span,
                        OpKind::Splat,
                        vec![id],
                        Type::Tile(shape, elem),
                        Attrs::new(),
                    )));
                }
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::ExpandDims,
                    vec![id],
                    Type::Tile(shape, elem),
                    Attrs::new().with("axis", Attr::Int(norm)),
                )))
            }
            "reshape" => {
                let shape = self.shape_of(&gargs, name, span)?;
                let (id, src, elem, s) = self.tile_arg(&args[0], name)?;
                let from = Type::Tile(src, elem.clone());
                let to = Type::Tile(shape.clone(), elem);
                if let (Some(a), Some(b)) = (from.num_elements(), to.num_elements())
                    && a != b
                {
                    return err(
                        s,
                        format!(
                            "shape mismatch: cannot reshape {from} ({a} elements) to {to} ({b} elements)"
                        ),
                    );
                }
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Reshape,
                    vec![id],
                    to,
                    Attrs::new(),
                )))
            }
            "trans" | "t" | "permute" => {
                let (id, src, elem, s) = self.tile_arg(&args[0], name)?;
                let rank = src.len();
                if rank < 2 {
                    return err(
                        s,
                        format!(
                            "`{name}` needs a tile of rank 2 or more, but this is {}; make a column with x[(.., None)] first",
                            self.ty(id)
                        ),
                    );
                }
                let perm: Vec<usize> = if args.len() == 2 {
                    let (items, ls) = self.list_arg(&args[1], "the permutation")?;
                    let mut p = Vec::new();
                    for (v, vs) in &items {
                        match self.known_int(v) {
                            Some(i) if (0..rank as i64).contains(&i) => p.push(i as usize),
                            _ => {
                                return err(
                                    *vs,
                                    format!(
                                        "a permutation entry is an integer literal in 0..{rank}"
                                    ),
                                );
                            }
                        }
                    }
                    let mut sorted = p.clone();
                    sorted.sort();
                    if sorted != (0..rank).collect::<Vec<_>>() {
                        return err(ls, format!("{p:?} is not a permutation of 0..{rank}"));
                    }
                    p
                } else {
                    (0..rank).rev().collect()
                };
                let shape: Vec<Dim> = perm.iter().map(|&i| src[i].clone()).collect();
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Trans,
                    vec![id],
                    Type::Tile(shape, elem),
                    Attrs::new().with("perm", Attr::Ints(perm.iter().map(|&i| i as i64).collect())),
                )))
            }
            "join" => {
                let a = self.arg(&args[0])?;
                let b2 = self.arg(&args[1])?;
                let (ops, elem, mut shape) = self.unify(&[a, b2], span, "join")?;
                shape.push(Dim::Const(2));
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Join,
                    ops,
                    Type::Tile(shape, ElemType::Scalar(elem)),
                    Attrs::new(),
                )))
            }
            "split" => {
                let (id, src, elem, s) = self.tile_arg(&args[0], name)?;
                if src.last() != Some(&Dim::Const(2)) {
                    return err(
                        s,
                        format!(
                            "split needs a tile whose last dimension is 2, but this is {}",
                            self.ty(id)
                        ),
                    );
                }
                let rt = Self::tile_or_scalar(src[..src.len() - 1].to_vec(), elem);
                let r = self.emit(
                    span,
                    OpKind::Split,
                    vec![id],
                    vec![rt.clone(), rt],
                    Attrs::new(),
                );
                Ok(Val::Tuple(r.into_iter().map(Val::V).collect()))
            }
            "load" => {
                let (p, pointee, ps) = self.ptr_arg(&args[0], name)?;
                let mask = match args.get(1) {
                    Some(a) => Some(self.mask_arg(a)?),
                    None => None,
                };
                let pt = self.ty(p);
                let mut types = vec![pt.clone()];
                if let Some(mk) = mask {
                    types.push(self.ty(mk));
                }
                let other = match args.get(2) {
                    Some(a) => {
                        let (v, s) = self.arg(a)?;
                        let o = self.elem_value(&v, s, pointee, "the `other` value")?;
                        types.push(self.ty(o));
                        Some((o, s))
                    }
                    None => None,
                };
                let refs: Vec<&Type> = types.iter().collect();
                let shape = self.common_shape(&refs, span, "load")?;
                let mut ops = vec![self.broadcast_to(p, &shape, ps)];
                if let Some(mk) = mask {
                    ops.push(self.broadcast_to(mk, &shape, span));
                }
                if let Some((o, s)) = other {
                    ops.push(self.broadcast_to(o, &shape, s));
                }
                let rt = Self::tile_or_scalar(shape, ElemType::Scalar(pointee));
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Load,
                    ops,
                    rt,
                    Attrs::new(),
                )))
            }
            "store" | "atomic_add" | "atomic_max" | "atomic_min" | "atomic_xchg" => {
                let (p, pointee, ps) = self.ptr_arg(&args[0], name)?;
                let (v, vs) = self.arg(&args[1])?;
                let what = if name == "store" {
                    "the stored value"
                } else {
                    "the atomic operand"
                };
                let val = self.elem_value(&v, vs, pointee, what)?;
                let mask = match args.get(2) {
                    Some(a) => Some(self.mask_arg(a)?),
                    None => None,
                };
                let mut types = vec![self.ty(p), self.ty(val)];
                if let Some(mk) = mask {
                    types.push(self.ty(mk));
                }
                let refs: Vec<&Type> = types.iter().collect();
                let shape = self.common_shape(&refs, span, name)?;
                let mut ops = vec![
                    self.broadcast_to(p, &shape, ps),
                    self.broadcast_to(val, &shape, vs),
                ];
                if let Some(mk) = mask {
                    ops.push(self.broadcast_to(mk, &shape, span));
                }
                if name == "store" {
                    self.emit(span, OpKind::Store, ops, vec![], Attrs::new());
                    return Ok(Val::Unit);
                }
                if name == "atomic_add" && pointee == ScalarType::I1 {
                    return err(vs, "atomic_add is not defined on bool");
                }
                let kind = &name["atomic_".len()..];
                let rt = Self::tile_or_scalar(shape, ElemType::Scalar(pointee));
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::AtomicRmw,
                    ops,
                    rt,
                    Attrs::new().with("kind", Attr::Str(kind.to_string())),
                )))
            }
            "atomic_cas" => {
                let (p, pointee, ps) = self.ptr_arg(&args[0], name)?;
                let (c, cs) = self.arg(&args[1])?;
                let c = self.elem_value(&c, cs, pointee, "the compare value")?;
                let (v, vs) = self.arg(&args[2])?;
                let v = self.elem_value(&v, vs, pointee, "the new value")?;
                let types = [self.ty(p), self.ty(c), self.ty(v)];
                let refs: Vec<&Type> = types.iter().collect();
                let shape = self.common_shape(&refs, span, name)?;
                let ops = vec![
                    self.broadcast_to(p, &shape, ps),
                    self.broadcast_to(c, &shape, cs),
                    self.broadcast_to(v, &shape, vs),
                ];
                let rt = Self::tile_or_scalar(shape, ElemType::Scalar(pointee));
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::AtomicCas,
                    ops,
                    rt,
                    Attrs::new(),
                )))
            }
            "make_desc" => {
                let block = self.shape_of(&gargs, name, span)?;
                let (p, pointee, ps) = self.ptr_arg(&args[0], name)?;
                if self.ty(p).is_tile() {
                    return err(
                        ps,
                        "make_desc needs a scalar base pointer (a Ptr<T> parameter plus a scalar offset)",
                    );
                }
                let rank = block.len();
                let mut ops = vec![p];
                for (i, what) in [(1, "the shape"), (2, "the strides")] {
                    let (items, ls) = self.list_arg(&args[i], what)?;
                    if items.len() != rank {
                        return err(
                            ls,
                            format!(
                                "{what} must have {rank} entries (one per block dimension), not {}",
                                items.len()
                            ),
                        );
                    }
                    for (v, s) in items {
                        ops.push(self.int_scalar(&v, s, ScalarType::I64, what)?);
                    }
                }
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::MakeDesc,
                    ops,
                    Type::Desc(pointee, block),
                    Attrs::new(),
                )))
            }
            "desc_load" | "desc_store" => {
                let (d, ds) = self.arg(&args[0])?;
                let (elem, block, did) = match &d {
                    Val::V(id) => match self.ty(*id) {
                        Type::Desc(e, b) => (e, b, *id),
                        t => {
                            return err(
                                ds,
                                format!(
                                    "`{name}` needs a tensor descriptor (from make_desc), not {t}"
                                ),
                            );
                        }
                    },
                    other => {
                        return err(
                            ds,
                            format!(
                                "`{name}` needs a tensor descriptor, not {}",
                                self.describe(other)
                            ),
                        );
                    }
                };
                let (items, ls) = self.list_arg(&args[1], "the offsets")?;
                if items.len() != block.len() {
                    return err(
                        ls,
                        format!(
                            "the offsets must have {} entries, not {}",
                            block.len(),
                            items.len()
                        ),
                    );
                }
                let mut ops = vec![did];
                for (v, s) in items {
                    ops.push(self.int_scalar(&v, s, ScalarType::I32, "an offset")?);
                }
                let tile = Type::Tile(block.clone(), ElemType::Scalar(elem));
                if name == "desc_load" {
                    return Ok(Val::V(self.emit1(
                        span,
                        OpKind::DescLoad,
                        ops,
                        tile,
                        Attrs::new(),
                    )));
                }
                let (v, vs) = self.arg(&args[2])?;
                let val = self.elem_value(&v, vs, elem, "the stored value")?;
                let vt = self.ty(val);
                let common = self.common_shape(&[&vt, &tile], span, name)?;
                if common != block {
                    return err(
                        vs,
                        format!("desc_store needs a value of the block's shape {tile}, not {vt}"),
                    );
                }
                ops.push(self.broadcast_to(val, &block, vs));
                self.emit(span, OpKind::DescStore, ops, vec![], Attrs::new());
                Ok(Val::Unit)
            }
            "dot" => self.dot(&args, span),
            "sum" | "prod" | "max" | "min" | "argmax" | "argmin" => {
                let (id, shape, elem, s) = match self.arg(&args[0])? {
                    (Val::V(id), s) if self.ty(id).is_tile() => {
                        let t = self.ty(id);
                        (id, t.shape().to_vec(), t.elem().expect("tile"), s)
                    }
                    (v, s) => {
                        let extra = if name == "max" || name == "min" {
                            format!(
                                " ({name}(x, axis) is a reduction; for the elementwise {name}imum of two values use {name}imum(a, b))"
                            )
                        } else {
                            String::new()
                        };
                        return err(
                            s,
                            format!(
                                "`{name}` reduces a tile along an axis, but this is {}{extra}",
                                self.describe(&v)
                            ),
                        );
                    }
                };
                if (name == "max" || name == "min")
                    && let Arg::Expr(e) = &args[1]
                    && !matches!(e, syn::Expr::Lit(_) | syn::Expr::Unary(_))
                {
                    let (v, vs) = self.arg(&args[1])?;
                    if self.known_int(&v).is_none() {
                        return err(
                            vs,
                            format!(
                                "{name}(x, axis) is a reduction along `axis`, which must be an integer literal; for the elementwise {name}imum of two values use {name}imum(a, b)"
                            ),
                        );
                    }
                }
                let ax = self.axis_arg(&args[1], shape.len(), name)?;
                let ElemType::Scalar(e) = elem else {
                    return err(s, format!("cannot reduce a tile of pointers with `{name}`"));
                };
                let re = if name.starts_with("arg") {
                    ScalarType::I32
                } else {
                    e
                };
                let mut rshape = shape.clone();
                rshape.remove(ax);
                let rt = Self::tile_or_scalar(rshape, ElemType::Scalar(re));
                Ok(Val::V(
                    self.emit1(
                        span,
                        OpKind::Reduce,
                        vec![id],
                        rt,
                        Attrs::new()
                            .with("axis", Attr::Int(ax as i64))
                            .with("kind", Attr::Str(name.to_string())),
                    ),
                ))
            }
            "cumsum" | "cumprod" | "cummax" | "cummin" | "cumsum_rev" | "cumprod_rev"
            | "cummax_rev" | "cummin_rev" => {
                let (id, shape, elem, s) = self.tile_arg(&args[0], name)?;
                if !matches!(elem, ElemType::Scalar(_)) {
                    return err(s, "cannot scan a tile of pointers");
                }
                let ax = self.axis_arg(&args[1], shape.len(), name)?;
                let reverse = name.ends_with("_rev");
                let kind = name.trim_end_matches("_rev").trim_start_matches("cum");
                let t = self.ty(id);
                Ok(Val::V(
                    self.emit1(
                        span,
                        OpKind::Scan,
                        vec![id],
                        t,
                        Attrs::new()
                            .with("axis", Attr::Int(ax as i64))
                            .with("kind", Attr::Str(kind.to_string()))
                            .with("reverse", Attr::Bool(reverse)),
                    ),
                ))
            }
            "sort" => {
                let (id, shape, elem, s) = self.tile_arg(&args[0], name)?;
                if !matches!(elem, ElemType::Scalar(_)) {
                    return err(s, "cannot sort a tile of pointers");
                }
                let ax = self.axis_arg(&args[1], shape.len(), name)?;
                let desc = match args.get(2) {
                    Some(a) => {
                        let (v, vs) = self.arg(a)?;
                        match self.known_bool(&v) {
                            Some(b) => b,
                            None => {
                                return err(
                                    vs,
                                    "`descending` must be a bool literal; with a const \
                                     parameter, branch: `if DESC { sort(x, axis, true) } else \
                                     { sort(x, axis, false) }`",
                                );
                            }
                        }
                    }
                    None => false,
                };
                let t = self.ty(id);
                let it = Type::Tile(shape, ElemType::Scalar(ScalarType::I32));
                let r = self.emit(
                    span,
                    OpKind::Sort,
                    vec![id],
                    vec![t, it],
                    Attrs::new()
                        .with("axis", Attr::Int(ax as i64))
                        .with("descending", Attr::Bool(desc)),
                );
                Ok(Val::Tuple(r.into_iter().map(Val::V).collect()))
            }
            "topk" | "bottomk" => {
                let (id, shape, elem, s) = self.tile_arg(&args[0], name)?;
                if !matches!(elem, ElemType::Scalar(_)) {
                    return err(s, "cannot select from a tile of pointers");
                }
                let (k, ks) = self.int_arg(&args[1], "k")?;
                let ax = self.axis_arg(&args[2], shape.len(), name)?;
                if k <= 0 {
                    return err(ks, format!("k must be positive, not {k}"));
                }
                if let Dim::Const(n) = shape[ax]
                    && k as u64 > n
                {
                    return err(
                        ks,
                        format!("k = {k} is larger than the axis ({n} elements)"),
                    );
                }
                let mut rshape = shape.clone();
                rshape[ax] = Dim::Const(k as u64);
                let vt = Type::Tile(rshape.clone(), elem);
                let it = Type::Tile(rshape, ElemType::Scalar(ScalarType::I32));
                let r = self.emit(
                    span,
                    OpKind::TopK,
                    vec![id],
                    vec![vt, it],
                    Attrs::new()
                        .with("axis", Attr::Int(ax as i64))
                        .with("k", Attr::Int(k))
                        .with("largest", Attr::Bool(name == "topk")),
                );
                Ok(Val::Tuple(r.into_iter().map(Val::V).collect()))
            }
            "where" | "where_" | "select" => {
                let c = self.mask_arg(&args[0])?;
                let a = self.arg(&args[1])?;
                let b2 = self.arg(&args[2])?;
                let (ops, _, shape) = self.unify(&[a, b2], span, name)?;
                let ct = self.ty(c);
                let at = self.ty(ops[0]);
                let shape2 = self.common_shape(&[&ct, &at], span, name)?;
                let _ = shape;
                let c = self.broadcast_to(c, &shape2, span);
                let x = self.broadcast_to(ops[0], &shape2, span);
                let y = self.broadcast_to(ops[1], &shape2, span);
                let t = self.ty(x);
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Select,
                    vec![c, x, y],
                    t,
                    Attrs::new(),
                )))
            }
            "cast" | "bitcast" => {
                let [GArg::Scalar(to, _)] = gargs.as_slice() else {
                    return err(
                        span,
                        format!(
                            "`{name}` takes the target type as its generic argument: {name}::<f32>(x) or x.{name}::<f32>()"
                        ),
                    );
                };
                let (v, s) = self.arg(&args[0])?;
                if name == "cast" {
                    return self.cast_to(v, *to, s, span);
                }
                let id = self.materialize(&v, s)?;
                let t = self.ty(id);
                let Some(from) = t.scalar_elem() else {
                    return err(s, format!("cannot bitcast {t}"));
                };
                if from.bits() != to.bits() || *to == ScalarType::I1 || from == ScalarType::I1 {
                    return err(
                        s,
                        format!(
                            "bitcast needs types of the same width: {from} is {} bits, {to} is {} bits",
                            from.bits(),
                            to.bits()
                        ),
                    );
                }
                let rt = t.with_elem(ElemType::Scalar(*to));
                Ok(Val::V(self.emit1(
                    span,
                    OpKind::Bitcast,
                    vec![id],
                    rt,
                    Attrs::new(),
                )))
            }
            "fma" => {
                let a = self.arg(&args[0])?;
                let b2 = self.arg(&args[1])?;
                let c = self.arg(&args[2])?;
                let (ops, elem, _) = self.unify(&[a, b2, c], span, "fma")?;
                if !elem.is_float() {
                    return err(span, format!("fma needs float operands, not {elem}"));
                }
                let t = self.ty(ops[0]);
                Ok(Val::V(self.emit1(span, OpKind::Fma, ops, t, Attrs::new())))
            }
            "maximum" | "minimum" | "pow" => {
                let (a, sa) = self.arg(&args[0])?;
                let (b2, sb) = self.arg(&args[1])?;
                let op = match name {
                    "maximum" => BinaryOp::Max,
                    "minimum" => BinaryOp::Min,
                    _ => BinaryOp::Pow,
                };
                // `pow` on untyped literals computes in f32.
                let (a, b2) = if op == BinaryOp::Pow {
                    let fl = |v: Val| match v {
                        Val::Lit(l) => Val::Lit(Lit::Float(l.as_f64())),
                        o => o,
                    };
                    (fl(a), fl(b2))
                } else {
                    (a, b2)
                };
                self.binary(op, a, b2, (sa, sb), span, name)
            }
            "cdiv" => {
                let (a, sa) = self.arg(&args[0])?;
                let (b2, sb) = self.arg(&args[1])?;
                for (v, s) in [(&a, sa), (&b2, sb)] {
                    let is_int = match v {
                        Val::Lit(l) => matches!(l, Lit::Int(_)),
                        Val::V(id) => self
                            .ty(*id)
                            .scalar_elem()
                            .is_some_and(|e| e.is_int() && e != ScalarType::I1),
                        _ => false,
                    };
                    if !is_int {
                        return err(s, format!("cdiv needs integers, not {}", self.describe(v)));
                    }
                }
                let one = Val::Lit(Lit::Int(1));
                let t = self.binary(BinaryOp::Add, a, b2.clone(), (sa, sb), span, "cdiv")?;
                let t = self.binary(BinaryOp::Sub, t, one, (sa, sb), span, "cdiv")?;
                self.binary(BinaryOp::Div, t, b2, (sa, sb), span, "cdiv")
            }
            "static_assert" => {
                let (c, cs) = self.arg(&args[0])?;
                let msg = match args.get(1) {
                    Some(a) => self.str_arg(a, "the message")?,
                    None => "static_assert failed".to_string(),
                };
                let is_bool = match &c {
                    Val::Lit(l) => matches!(l, Lit::Bool(_)),
                    Val::V(id) => self.ty(*id) == Type::Scalar(ScalarType::I1),
                    _ => false,
                };
                if !is_bool {
                    return err(
                        cs,
                        format!(
                            "static_assert needs a bool condition, not {}",
                            self.describe(&c)
                        ),
                    );
                }
                if let Some(b) = self.known_bool(&c) {
                    if !b {
                        return err(cs, format!("static_assert failed: {msg}"));
                    }
                    return Ok(Val::Unit);
                }
                let Val::V(id) = c else { unreachable_lit()? };
                if !self.stat.contains(&id) {
                    return err(
                        cs,
                        "static_assert needs a condition known at compile time (computed from literals and const parameters); for a runtime check use device_assert(cond, \"msg\")",
                    );
                }
                self.emit(
                    span,
                    OpKind::StaticAssert,
                    vec![id],
                    vec![],
                    Attrs::new().with("msg", Attr::Str(msg)),
                );
                Ok(Val::Unit)
            }
            "device_assert" => {
                let c = self.mask_arg(&args[0])?;
                let msg = match args.get(1) {
                    Some(a) => self.str_arg(a, "the message")?,
                    None => "device_assert failed".to_string(),
                };
                self.emit(
                    span,
                    OpKind::Assert,
                    vec![c],
                    vec![],
                    Attrs::new().with("msg", Attr::Str(msg)),
                );
                Ok(Val::Unit)
            }
            "device_print" => {
                let prefix =
                    self.str_arg(&args[0], "the first argument of device_print (the prefix)")?;
                let mut ops = Vec::new();
                for a in &args[1..] {
                    let (v, s) = self.arg(a)?;
                    ops.push(self.materialize(&v, s)?);
                }
                self.emit(
                    span,
                    OpKind::Print,
                    ops,
                    vec![],
                    Attrs::new().with("prefix", Attr::Str(prefix)),
                );
                Ok(Val::Unit)
            }
            "range" => err(
                span,
                "range(lo, hi, step) is only valid as the iterator of a for loop: `for i in range(lo, hi, step)`",
            ),
            other => err(
                span,
                format!("internal error: builtin `{other}` has no lowering (please report this)"),
            ),
        }
    }

    /// A scalar integer converted to `to` (shapes, strides, offsets).
    fn int_scalar(&mut self, v: &Val, s: Span, to: ScalarType, what: &str) -> syn::Result<ValueId> {
        match v {
            Val::Lit(Lit::Int(_)) => {
                let Val::Lit(l) = v else { unreachable_lit()? };
                self.const_of(*l, &Type::Scalar(to), s)
            }
            Val::V(id) => {
                let t = self.ty(*id);
                match t {
                    Type::Scalar(e) if e.is_int() && e != ScalarType::I1 => {
                        Ok(self.cast_elem(*id, to, s))
                    }
                    other => err(s, format!("{what} must be an integer scalar, not {other}")),
                }
            }
            other => err(
                s,
                format!(
                    "{what} must be an integer scalar, not {}",
                    self.describe(other)
                ),
            ),
        }
    }

    fn dot(&mut self, args: &[Arg], span: Span) -> syn::Result<Val> {
        let (a, ash, ae, sa) = self.tile_arg(&args[0], "dot")?;
        let (b, bsh, be, sb) = self.tile_arg(&args[1], "dot")?;
        for (sh, s, t) in [(&ash, sa, a), (&bsh, sb, b)] {
            if sh.len() != 2 {
                return err(
                    s,
                    format!(
                        "dot needs 2-d tiles (MxK times KxN), but this is {} ({}-d); make 2-d \
                         tiles with x[(.., None)], expand_dims or reshape",
                        self.ty(t),
                        sh.len()
                    ),
                );
            }
        }
        let (ElemType::Scalar(ea), ElemType::Scalar(eb)) = (&ae, &be) else {
            return err(sa, "dot needs tiles of numbers");
        };
        if ea != eb {
            return err(
                sb,
                format!(
                    "dot needs both operands of one element type, but they are {ea} and {eb}; \
                     cast one with .cast::<{}>()",
                    dsl_scalar_name(*ea)
                ),
            );
        }
        if *ea == ScalarType::I1 {
            return err(sa, "dot is not defined on bool tiles");
        }
        if ash[1] != bsh[0] {
            return err(
                sb,
                format!(
                    "shape mismatch in dot: the inner dimensions differ: {} is {}x{}, {} is {}x{} \
                     (K = {} vs {})",
                    self.ty(a),
                    ash[0],
                    ash[1],
                    self.ty(b),
                    bsh[0],
                    bsh[1],
                    ash[1],
                    bsh[0]
                ),
            );
        }
        let acc_elem = if ea.is_float() {
            if *ea == ScalarType::F64 {
                ScalarType::F64
            } else {
                ScalarType::F32
            }
        } else {
            ScalarType::I32
        };
        let out = vec![ash[0].clone(), bsh[1].clone()];
        let acc_ty = Type::Tile(out.clone(), ElemType::Scalar(acc_elem));
        let acc = match args.get(2) {
            None => self.const_of(Lit::Int(0), &acc_ty, span)?,
            Some(x) => {
                let (v, s) = self.arg(x)?;
                match &v {
                    Val::Lit(l) => self.const_of(*l, &acc_ty, s)?,
                    Val::V(id) => {
                        let t = self.ty(*id);
                        let ok_elem = match t.scalar_elem() {
                            Some(e) if ea.is_float() => {
                                e == ScalarType::F32
                                    || (e == ScalarType::F64 && *ea == ScalarType::F64)
                                    || (e == *ea)
                            }
                            Some(e) => e == ScalarType::I32,
                            None => false,
                        };
                        if !ok_elem || t.shape() != out.as_slice() {
                            return err(
                                s,
                                format!(
                                    "the accumulator of dot must be {acc_ty} (the MxN result, f32 \
                                     for float inputs, i32 for integer inputs), but it is {t}"
                                ),
                            );
                        }
                        *id
                    }
                    other => {
                        return err(
                            s,
                            format!(
                                "the accumulator must be a tile, not {}",
                                self.describe(other)
                            ),
                        );
                    }
                }
            }
        };
        let rt = self.ty(acc);
        Ok(Val::V(self.emit1(
            span,
            OpKind::Dot,
            vec![a, b, acc],
            rt,
            Attrs::new(),
        )))
    }
}

fn unreachable_lit<T>() -> syn::Result<T> {
    err(
        Span::call_site(),
        "internal error: unexpected literal (please report this)",
    )
}

/// Parses one generic argument of a builtin.
fn garg(a: &syn::GenericArgument) -> syn::Result<GArg> {
    let plain = super::sig::ungroup_generic(a);
    match &plain {
        syn::GenericArgument::Type(syn::Type::Path(p)) if p.qself.is_none() => {
            let Some(id) = p.path.get_ident() else {
                return err_at(a, "expected a type, an integer or a const parameter name");
            };
            let n = id.to_string();
            Ok(match scalar_from_name(&n) {
                Some(t) => GArg::Scalar(t, id.span()),
                None => GArg::Name(n, id.span()),
            })
        }
        syn::GenericArgument::Const(e) => gexpr(e),
        other => err_at(
            other,
            "expected a type, an integer or a const parameter name",
        ),
    }
}

fn gexpr(e: &syn::Expr) -> syn::Result<GArg> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Ok(GArg::Int(i.base10_parse()?, i.span())),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match gexpr(expr)? {
            GArg::Int(v, _) => Ok(GArg::Int(-v, e.span())),
            _ => err_at(e, "expected an integer"),
        },
        syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => gexpr(inner),
            _ => err_at(e, "expected an integer literal or a const parameter"),
        },
        syn::Expr::Path(p) if p.path.get_ident().is_some() => {
            let id = p.path.get_ident().expect("checked");
            Ok(GArg::Name(id.unraw().to_string(), id.span()))
        }
        _ => err_at(
            e,
            "a generic argument is an integer literal or a const parameter name; arithmetic on \
             sizes is not supported (add a const parameter for it)",
        ),
    }
}
