//! DSL type syntax to IR types, and the typing rules of the DSL:
//! promotion of mixed element types and numpy-style broadcasting of shapes.
//!
//! Type syntax (in parameter lists, `let x: T`, and `#[tile_fn]` signatures):
//!
//! | DSL | IR |
//! |---|---|
//! | `f16` `bf16` `f32` `f64` `i8` `i16` `i32` `i64` | the scalar |
//! | `bool` | `i1` |
//! | `Ptr<T>` | `ptr<T, global>` |
//! | `Tile<T, D0, D1, ..>` (T a scalar or `Ptr<U>`) | `tile<D0xD1x..xT>` |
//! | `Desc<T, B0, B1, ..>` | `desc<B0xB1x..xT>` |
//! | `_` (only in `#[tile_fn]` signatures) | the type of the argument |
//! | `(A, B)` (only as a `#[tile_fn]` return type) | several results |
//!
//! A dimension is an integer literal, a const parameter name, or `{ .. }`
//! around one of those. In a `#[tile_fn]`, a const generic used as a
//! dimension of a parameter type is inferred from the argument
//! (`fn norm<const N: usize>(x: Tile<f32, N>)`).
//!
//! Promotion (Triton's rules): the wider float wins, f16 with bf16 gives
//! f32, an int with a float gives the float, the wider int wins (i1 is the
//! narrowest). Untyped literals are "weak": they take the other operand's
//! type (an int literal with a float operand becomes that float; a float
//! literal with an int operand makes the operation f32); alone they default
//! to i32 and f32.
//!
//! Broadcasting (numpy's rules): shapes are aligned at their trailing
//! dimensions; two dimensions are compatible when equal or when one of them
//! is 1; missing leading dimensions count as 1; scalars splat. Symbolic
//! dimensions are equal only to the same const parameter.

use proc_macro2::Span;
use syn::ext::IdentExt;

use super::error::{err, err_at};
use crate::ir::{AddrSpace, Dim, ElemType, ScalarType, Type};

/// A dimension of a type pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DimPat {
    /// A known dimension (constant or a bound const parameter).
    Fixed(Dim),
    /// A const generic of a `#[tile_fn]` to infer from the argument.
    Var(String),
}

/// A type as written in the DSL, possibly with dimensions to infer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TyPat {
    /// A scalar, pointer or tile type whose dims may contain variables.
    Scalar(ScalarType),
    /// `Ptr<T>`.
    Ptr(ScalarType),
    /// `Tile<T, dims..>`.
    Tile(Vec<DimPat>, ElemType),
    /// `Desc<T, dims..>`.
    Desc(ScalarType, Vec<DimPat>),
    /// `_`: whatever the argument is.
    Infer,
    /// `(A, B, ..)`; `()` is the unit type.
    Tuple(Vec<TyPat>),
}

/// The IR scalar type of a DSL scalar type name.
pub(crate) fn scalar_from_name(name: &str) -> Option<ScalarType> {
    Some(match name {
        "f16" => ScalarType::F16,
        "bf16" => ScalarType::BF16,
        "f32" => ScalarType::F32,
        "f64" => ScalarType::F64,
        "i8" => ScalarType::I8,
        "i16" => ScalarType::I16,
        "i32" => ScalarType::I32,
        "i64" => ScalarType::I64,
        "bool" => ScalarType::I1,
        _ => return None,
    })
}

/// The DSL spelling of a scalar type (`bool` for i1).
pub(crate) fn dsl_scalar_name(s: ScalarType) -> &'static str {
    match s {
        ScalarType::I1 => "bool",
        other => other.name(),
    }
}

/// Why a Rust type name is not a DSL scalar, when it looks like one.
pub(crate) fn unsupported_scalar_hint(name: &str) -> Option<String> {
    match name {
        "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i128" => Some(format!(
            "`{name}` is not a tile type: the IR's integers are signed; use i32 or i64 \
             (const generics may be usize, they become i32)"
        )),
        "char" | "str" | "String" => Some(format!("`{name}` is not a tile type")),
        _ => None,
    }
}

/// The names a dimension or element may refer to while parsing a type.
pub(crate) trait TypeEnv {
    /// The dimension a const parameter name stands for, if it is one.
    fn dim_of(&self, name: &str) -> Option<Dim>;
    /// True if `name` is a const generic still to infer.
    fn is_var(&self, _name: &str) -> bool {
        false
    }
}

/// Parses a DSL type.
pub(crate) fn parse_type(ty: &syn::Type, env: &dyn TypeEnv) -> syn::Result<TyPat> {
    match ty {
        syn::Type::Infer(_) => Ok(TyPat::Infer),
        syn::Type::Paren(p) => parse_type(&p.elem, env),
        syn::Type::Group(g) => parse_type(&g.elem, env),
        syn::Type::Tuple(t) => Ok(TyPat::Tuple(
            t.elems
                .iter()
                .map(|e| parse_type(e, env))
                .collect::<syn::Result<_>>()?,
        )),
        syn::Type::Reference(_) | syn::Type::Ptr(_) => err_at(
            ty,
            "references and raw pointers are not supported in tile code; \
             pass memory as `Ptr<T>` and values by value",
        ),
        syn::Type::Path(p) if p.qself.is_none() => {
            let seg = match p.path.segments.last() {
                Some(s) if p.path.segments.len() == 1 => s,
                _ => {
                    return err_at(
                        ty,
                        "unsupported type path: use a scalar (f32, i32, bool, ..), \
                         Ptr<T>, Tile<T, dims..> or Desc<T, dims..>",
                    );
                }
            };
            let name = seg.ident.to_string();
            let args: Vec<&syn::GenericArgument> = match &seg.arguments {
                syn::PathArguments::None => vec![],
                syn::PathArguments::AngleBracketed(a) => a.args.iter().collect(),
                syn::PathArguments::Parenthesized(_) => {
                    return err_at(ty, "function types are not supported in tile code");
                }
            };
            match name.as_str() {
                "Ptr" => {
                    if args.len() != 1 {
                        return err_at(ty, "`Ptr` takes one element type: `Ptr<f16>`");
                    }
                    Ok(TyPat::Ptr(generic_scalar(args[0])?))
                }
                "Tile" => {
                    if args.len() < 2 {
                        return err_at(
                            ty,
                            "`Tile` takes an element type and at least one dimension: \
                             `Tile<f32, BLOCK>`, `Tile<f16, 64, 32>`",
                        );
                    }
                    let elem = match args[0] {
                        syn::GenericArgument::Type(t) => match parse_type(t, env)? {
                            TyPat::Scalar(s) => ElemType::Scalar(s),
                            TyPat::Ptr(s) => ElemType::Ptr(s, AddrSpace::Global),
                            _ => {
                                return err_at(
                                    args[0],
                                    "a tile element is a scalar type or `Ptr<T>`",
                                );
                            }
                        },
                        other => {
                            return err_at(other, "expected the element type of the tile here");
                        }
                    };
                    let dims = args[1..]
                        .iter()
                        .map(|a| parse_dim(a, env))
                        .collect::<syn::Result<_>>()?;
                    Ok(TyPat::Tile(dims, elem))
                }
                "Desc" => {
                    if args.len() < 2 {
                        return err_at(
                            ty,
                            "`Desc` takes an element type and the block dimensions: \
                             `Desc<f16, 64, 64>`",
                        );
                    }
                    let elem = generic_scalar(args[0])?;
                    let dims = args[1..]
                        .iter()
                        .map(|a| parse_dim(a, env))
                        .collect::<syn::Result<_>>()?;
                    Ok(TyPat::Desc(elem, dims))
                }
                _ => {
                    if !args.is_empty() {
                        return err_at(ty, format!("unknown generic type `{name}`"));
                    }
                    if let Some(s) = scalar_from_name(&name) {
                        return Ok(TyPat::Scalar(s));
                    }
                    if let Some(h) = unsupported_scalar_hint(&name) {
                        return err_at(ty, h);
                    }
                    err_at(
                        ty,
                        format!(
                            "unknown type `{name}`: tile code knows f16, bf16, f32, f64, \
                             i8, i16, i32, i64, bool, Ptr<T>, Tile<T, dims..> and Desc<T, dims..>"
                        ),
                    )
                }
            }
        }
        _ => err_at(ty, "unsupported type in tile code"),
    }
}

fn generic_scalar(arg: &syn::GenericArgument) -> syn::Result<ScalarType> {
    if let syn::GenericArgument::Type(syn::Type::Path(p)) = &super::sig::ungroup_generic(arg)
        && p.qself.is_none()
        && let Some(id) = p.path.get_ident()
    {
        let name = id.to_string();
        if let Some(s) = scalar_from_name(&name) {
            return Ok(s);
        }
        if let Some(h) = unsupported_scalar_hint(&name) {
            return err_at(arg, h);
        }
    }
    err_at(
        arg,
        "expected a scalar element type: f16, bf16, f32, f64, i8, i16, i32, i64 or bool",
    )
}

/// Parses one dimension of a type: an integer literal, a const name, or
/// `{ .. }` around either.
pub(crate) fn parse_dim(arg: &syn::GenericArgument, env: &dyn TypeEnv) -> syn::Result<DimPat> {
    match &super::sig::ungroup_generic(arg) {
        syn::GenericArgument::Type(syn::Type::Path(p)) if p.qself.is_none() => {
            match p.path.get_ident() {
                Some(id) => dim_name(&id.unraw().to_string(), id.span(), env),
                None => err_at(
                    arg,
                    "a dimension is an integer literal or a const parameter",
                ),
            }
        }
        syn::GenericArgument::Const(e) => dim_expr(e, env),
        _ => err_at(
            arg,
            "a dimension is an integer literal or a const parameter",
        ),
    }
}

fn dim_expr(e: &syn::Expr, env: &dyn TypeEnv) -> syn::Result<DimPat> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => {
            let v: u64 = i.base10_parse()?;
            if v == 0 {
                return err_at(e, "a tile dimension must be positive");
            }
            Ok(DimPat::Fixed(Dim::Const(v)))
        }
        syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => dim_expr(inner, env),
            _ => err_at(e, "a dimension is an integer literal or a const parameter"),
        },
        syn::Expr::Path(p) if p.path.get_ident().is_some() => {
            let id = p.path.get_ident().expect("checked");
            dim_name(&id.unraw().to_string(), id.span(), env)
        }
        syn::Expr::Paren(p) => dim_expr(&p.expr, env),
        _ => err_at(
            e,
            "a tile dimension must be an integer literal or a const parameter name; \
             arithmetic on dimensions is not supported (add a const parameter for it)",
        ),
    }
}

fn dim_name(name: &str, span: Span, env: &dyn TypeEnv) -> syn::Result<DimPat> {
    if let Some(d) = env.dim_of(name) {
        return Ok(DimPat::Fixed(d));
    }
    if env.is_var(name) {
        return Ok(DimPat::Var(name.to_string()));
    }
    err(
        span,
        format!(
            "unknown dimension `{name}`: a dimension is an integer literal or a const \
             parameter of the function (`const {name}: usize` in the generics)"
        ),
    )
}

impl TyPat {
    /// The IR type, when the pattern has no variables and is a single value.
    pub(crate) fn to_type(&self) -> Option<Type> {
        let dims = |d: &[DimPat]| -> Option<Vec<Dim>> {
            d.iter()
                .map(|x| match x {
                    DimPat::Fixed(d) => Some(d.clone()),
                    DimPat::Var(_) => None,
                })
                .collect()
        };
        match self {
            TyPat::Scalar(s) => Some(Type::Scalar(*s)),
            TyPat::Ptr(s) => Some(Type::ptr(*s)),
            TyPat::Tile(d, e) => Some(Type::Tile(dims(d)?, e.clone())),
            TyPat::Desc(s, d) => Some(Type::Desc(*s, dims(d)?)),
            TyPat::Infer | TyPat::Tuple(_) => None,
        }
    }

    /// Matches an IR type against the pattern, binding variables (a
    /// variable already bound must match its binding). Returns false on
    /// mismatch.
    pub(crate) fn unify(&self, ty: &Type, binds: &mut Vec<(String, Dim)>) -> bool {
        let dims = |pats: &[DimPat], got: &[Dim], binds: &mut Vec<(String, Dim)>| -> bool {
            if pats.len() != got.len() {
                return false;
            }
            for (p, g) in pats.iter().zip(got) {
                match p {
                    DimPat::Fixed(d) => {
                        if d != g {
                            return false;
                        }
                    }
                    DimPat::Var(v) => match binds.iter().find(|(n, _)| n == v) {
                        Some((_, d)) => {
                            if d != g {
                                return false;
                            }
                        }
                        None => binds.push((v.clone(), g.clone())),
                    },
                }
            }
            true
        };
        match (self, ty) {
            (TyPat::Infer, _) => true,
            (TyPat::Scalar(a), Type::Scalar(b)) => a == b,
            (TyPat::Ptr(a), Type::Ptr(b, _)) => a == b,
            (TyPat::Tile(pd, pe), Type::Tile(d, e)) => pe == e && dims(pd, d, binds),
            (TyPat::Desc(pe, pd), Type::Desc(e, d)) => pe == e && dims(pd, d, binds),
            _ => false,
        }
    }
}

impl std::fmt::Display for TyPat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims = |d: &[DimPat]| -> String {
            d.iter()
                .map(|x| match x {
                    DimPat::Fixed(Dim::Const(n)) => n.to_string(),
                    DimPat::Fixed(Dim::Sym(s)) | DimPat::Var(s) => s.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            TyPat::Scalar(s) => f.write_str(dsl_scalar_name(*s)),
            TyPat::Ptr(s) => write!(f, "Ptr<{}>", dsl_scalar_name(*s)),
            TyPat::Tile(d, ElemType::Scalar(s)) => {
                write!(f, "Tile<{}, {}>", dsl_scalar_name(*s), dims(d))
            }
            TyPat::Tile(d, ElemType::Ptr(s, _)) => {
                write!(f, "Tile<Ptr<{}>, {}>", dsl_scalar_name(*s), dims(d))
            }
            TyPat::Desc(s, d) => write!(f, "Desc<{}, {}>", dsl_scalar_name(*s), dims(d)),
            TyPat::Infer => f.write_str("_"),
            TyPat::Tuple(t) => {
                f.write_str("(")?;
                for (i, x) in t.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The element type two operands are computed in (Triton's promotion).
pub(crate) fn promote(a: ScalarType, b: ScalarType) -> ScalarType {
    use ScalarType::*;
    if a == b {
        return a;
    }
    match (a.is_float(), b.is_float()) {
        (true, false) => a,
        (false, true) => b,
        (true, true) => {
            if matches!((a, b), (F16, BF16) | (BF16, F16)) {
                F32
            } else if a.bits() >= b.bits() {
                a
            } else {
                b
            }
        }
        (false, false) => {
            if a.bits() >= b.bits() {
                a
            } else {
                b
            }
        }
    }
}

pub(crate) use crate::ir::typing::broadcast_shapes;

/// Prints a shape the way the IR does (`64x{BLOCK}`), or `scalar`.
pub(crate) fn shape_str(shape: &[Dim]) -> String {
    if shape.is_empty() {
        return "scalar".into();
    }
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Checks that a known tile extent is a power of two.
pub(crate) fn check_pow2(d: &Dim, span: Span, what: &str) -> syn::Result<()> {
    if let Dim::Const(n) = d
        && !n.is_power_of_two()
    {
        let lo = 1u64 << (63 - n.leading_zeros());
        return err(
            span,
            format!(
                "{what} {n} is not a power of two: tile sizes must be powers of two \
                 (use {lo} or {} and mask the rest)",
                lo * 2
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarType::*;

    struct Env;
    impl TypeEnv for Env {
        fn dim_of(&self, name: &str) -> Option<Dim> {
            (name == "BLOCK").then(|| Dim::Sym("BLOCK".into()))
        }
        fn is_var(&self, name: &str) -> bool {
            name == "N"
        }
    }

    fn ty(s: &str) -> syn::Result<TyPat> {
        parse_type(&syn::parse_str(s).unwrap(), &Env)
    }

    #[test]
    fn parses_types() {
        assert_eq!(ty("f16").unwrap(), TyPat::Scalar(F16));
        assert_eq!(ty("bool").unwrap(), TyPat::Scalar(I1));
        assert_eq!(ty("Ptr<bf16>").unwrap(), TyPat::Ptr(BF16));
        let t = ty("Tile<f32, BLOCK, 64>").unwrap();
        assert_eq!(t.to_type().unwrap().to_string(), "tile<{BLOCK}x64xf32>");
        let t = ty("Tile<Ptr<f16>, N>").unwrap();
        assert_eq!(t.to_string(), "Tile<Ptr<f16>, N>");
        assert!(t.to_type().is_none());
        assert!(ty("usize").unwrap_err().to_string().contains("signed"));
        assert!(ty("&f32").is_err());
        assert!(
            ty("Tile<f32, M>")
                .unwrap_err()
                .to_string()
                .contains("unknown dimension `M`")
        );
        assert!(ty("Tile<f32, 0>").is_err());
    }

    #[test]
    fn unifies() {
        let t = ty("Tile<f32, N, N>").unwrap();
        let mut b = vec![];
        let got = Type::Tile(vec![Dim::Const(8), Dim::Const(8)], ElemType::Scalar(F32));
        assert!(t.unify(&got, &mut b));
        assert_eq!(b, vec![("N".to_string(), Dim::Const(8))]);
        let mut b = vec![];
        let bad = Type::Tile(vec![Dim::Const(8), Dim::Const(4)], ElemType::Scalar(F32));
        assert!(!t.unify(&bad, &mut b));
    }

    #[test]
    fn promotion() {
        assert_eq!(promote(F16, F32), F32);
        assert_eq!(promote(F16, BF16), F32);
        assert_eq!(promote(I32, F16), F16);
        assert_eq!(promote(I32, I64), I64);
        assert_eq!(promote(I1, I8), I8);
        assert_eq!(promote(F64, I64), F64);
    }

    #[test]
    fn broadcasting() {
        let c = Dim::Const;
        let s = |n: &str| Dim::Sym(n.into());
        assert_eq!(
            broadcast_shapes(&[c(64), c(1)], &[c(1), c(32)]).unwrap(),
            vec![c(64), c(32)]
        );
        assert_eq!(
            broadcast_shapes(&[c(32)], &[c(16), c(32)]).unwrap(),
            vec![c(16), c(32)]
        );
        assert_eq!(broadcast_shapes(&[], &[s("B")]).unwrap(), vec![s("B")]);
        let e = broadcast_shapes(&[c(64)], &[c(128)]).unwrap_err();
        assert_eq!(e.axis, 0);
        assert!(broadcast_shapes(&[s("A")], &[s("B")]).is_err());
        assert!(
            check_pow2(&c(100), Span::call_site(), "size")
                .unwrap_err()
                .to_string()
                .contains("64 or 128")
        );
    }
}
