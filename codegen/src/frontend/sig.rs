//! Signatures of `#[tile_kernel]` and `#[tile_fn]` functions: const
//! generics, `#[constexpr]` parameters and runtime parameters, validated.
//!
//! The proc macro uses [`kernel_signature`] to emit the typed launcher; the
//! lowering uses [`FnSig`] to set up parameters and compile-time bindings.

use proc_macro2::Span;
use syn::ext::IdentExt;

use super::error::{err, err_at};
use super::types::{scalar_from_name, unsupported_scalar_hint};
use crate::ir::ScalarType;

/// A const generic or `#[constexpr]` parameter.
#[derive(Clone, Debug)]
pub struct ConstSig {
    /// Its name.
    pub name: String,
    /// Its IR type (i32 for usize/u32/i32, i64, i1 for bool).
    pub ty: ScalarType,
    /// The Rust type as written (for the launcher).
    pub rust_ty: syn::Type,
    /// Where it is declared.
    pub span: Span,
}

/// How a kernel parameter is passed at launch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// `Ptr<T>`: a device buffer of T.
    Ptr(ScalarType),
    /// A scalar passed by value.
    Scalar(ScalarType),
    /// A `#[constexpr]` parameter: passed by the caller, but bound at
    /// specialization (index into [`KernelSig::consts`]).
    Constexpr(usize),
}

/// A kernel parameter.
#[derive(Clone, Debug)]
pub struct ParamSig {
    /// Its name.
    pub name: String,
    /// How it is passed.
    pub kind: ParamKind,
    /// The Rust type as written.
    pub rust_ty: syn::Type,
    /// Where it is declared.
    pub span: Span,
}

/// The validated signature of a `#[tile_kernel]`.
#[derive(Clone, Debug)]
pub struct KernelSig {
    /// The kernel's name.
    pub name: syn::Ident,
    /// Its visibility (the generated struct gets the same).
    pub vis: syn::Visibility,
    /// Const generics (in order), then `#[constexpr]` parameters (in order).
    pub consts: Vec<ConstSig>,
    /// How many of `consts` are const generics (the rest are `#[constexpr]`).
    pub num_generics: usize,
    /// Every parameter in order, `#[constexpr]` ones included.
    pub params: Vec<ParamSig>,
}

/// A parameter as the lowering sees it.
#[derive(Clone, Debug)]
pub(crate) struct FnParam {
    pub name: String,
    pub span: Span,
    pub mutable: bool,
    /// Index into [`FnSig::consts`] for `#[constexpr]` parameters.
    pub constexpr: Option<usize>,
    pub ty: syn::Type,
}

/// The signature of a kernel or `#[tile_fn]` as the lowering sees it.
#[derive(Clone, Debug)]
pub(crate) struct FnSig {
    pub consts: Vec<ConstSig>,
    pub num_generics: usize,
    pub params: Vec<FnParam>,
    pub ret: Option<syn::Type>,
}

/// `ty` without the invisible groups (`$t:ty` fragments of a `macro_rules!`)
/// and parentheses around it.
pub(crate) fn ungroup(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Group(g) => ungroup(&g.elem),
        syn::Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

/// A generic argument with the invisible groups of `macro_rules!` fragments removed.
pub(crate) fn ungroup_generic(a: &syn::GenericArgument) -> syn::GenericArgument {
    match a {
        syn::GenericArgument::Type(t) => syn::GenericArgument::Type(ungroup(t).clone()),
        other => other.clone(),
    }
}

/// The IR type of a const generic or `#[constexpr]` parameter's Rust type.
pub(crate) fn const_type(ty: &syn::Type) -> syn::Result<ScalarType> {
    if let syn::Type::Path(p) = ungroup(ty)
        && p.qself.is_none()
        && let Some(id) = p.path.get_ident()
    {
        match id.to_string().as_str() {
            "usize" | "u32" | "i32" => return Ok(ScalarType::I32),
            "i8" => return Ok(ScalarType::I8),
            "i16" => return Ok(ScalarType::I16),
            "i64" => return Ok(ScalarType::I64),
            "bool" => return Ok(ScalarType::I1),
            _ => {}
        }
    }
    err_at(
        ty,
        "a compile-time parameter must be usize, u32, i32, i64 (becomes i32/i64) or bool",
    )
}

/// Reads and validates a function's signature (common to kernels and `#[tile_fn]`s).
pub(crate) fn fn_signature(item: &syn::ItemFn) -> syn::Result<FnSig> {
    let s = &item.sig;
    if let Some(t) = &s.constness {
        return err(t.span, "a tile function cannot be `const fn`");
    }
    if let Some(t) = &s.asyncness {
        return err(t.span, "a tile function cannot be `async`");
    }
    if let Some(t) = &s.unsafety {
        return err(t.span, "a tile function cannot be `unsafe`");
    }
    if let Some(a) = &s.abi {
        return err_at(a, "a tile function cannot have an ABI");
    }
    if let Some(v) = &s.variadic {
        return err_at(v, "a tile function cannot be variadic");
    }
    if let Some(w) = &s.generics.where_clause {
        return err_at(w, "`where` clauses are not supported on tile functions");
    }
    let mut consts = Vec::new();
    for g in &s.generics.params {
        match g {
            syn::GenericParam::Const(c) => {
                if let Some(d) = &c.default {
                    return err_at(d, "const generic defaults are not supported");
                }
                consts.push(ConstSig {
                    name: c.ident.unraw().to_string(),
                    ty: const_type(&c.ty)?,
                    rust_ty: c.ty.clone(),
                    span: c.ident.span(),
                });
            }
            syn::GenericParam::Type(t) => {
                return err(
                    t.ident.span(),
                    "type parameters are not supported on tile functions: use a const generic \
                     for sizes, a #[constexpr] parameter for flags, and `_` parameter types \
                     in a #[tile_fn] to accept any argument type",
                );
            }
            syn::GenericParam::Lifetime(l) => {
                return err_at(l, "lifetimes are not supported on tile functions");
            }
        }
    }
    let num_generics = consts.len();
    let mut params: Vec<FnParam> = Vec::new();
    for input in &s.inputs {
        let pt = match input {
            syn::FnArg::Typed(pt) => pt,
            syn::FnArg::Receiver(r) => {
                return err_at(r, "tile functions cannot take `self`");
            }
        };
        let (name, span, mutable) = match &*pt.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => (
                pi.ident.unraw().to_string(),
                pi.ident.span(),
                pi.mutability.is_some(),
            ),
            other => {
                return err_at(other, "parameters must be plain names (`x: Ptr<f32>`)");
            }
        };
        if params.iter().any(|p| p.name == name) || consts.iter().any(|c| c.name == name) {
            return err(span, format!("parameter `{name}` is declared twice"));
        }
        let mut constexpr = None;
        for a in &pt.attrs {
            if a.path().is_ident("constexpr") {
                if !matches!(a.meta, syn::Meta::Path(_)) {
                    return err_at(a, "`#[constexpr]` takes no arguments");
                }
                if mutable {
                    return err(span, "a #[constexpr] parameter cannot be `mut`");
                }
                consts.push(ConstSig {
                    name: name.clone(),
                    ty: const_type(&pt.ty)?,
                    rust_ty: (*pt.ty).clone(),
                    span,
                });
                constexpr = Some(consts.len() - 1);
            } else {
                return err_at(
                    a,
                    "unknown attribute on a tile function parameter: only #[constexpr] is supported",
                );
            }
        }
        params.push(FnParam {
            name,
            span,
            mutable,
            constexpr,
            ty: (*pt.ty).clone(),
        });
    }
    let ret = match &s.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, t) => Some((**t).clone()),
    };
    Ok(FnSig {
        consts,
        num_generics,
        params,
        ret,
    })
}

/// Reads and validates the signature of a `#[tile_kernel]`: parameters are
/// `Ptr<T>`, scalars, or `#[constexpr]`; no return type.
pub fn kernel_signature(item: &syn::ItemFn) -> syn::Result<KernelSig> {
    let sig = fn_signature(item)?;
    if let Some(r) = &sig.ret {
        return err_at(
            r,
            "a kernel returns nothing: write its results to memory with store(ptr, value)",
        );
    }
    let mut params = Vec::new();
    for p in &sig.params {
        let kind = match p.constexpr {
            Some(i) => ParamKind::Constexpr(i),
            None => kernel_param_kind(&p.ty)?,
        };
        params.push(ParamSig {
            name: p.name.clone(),
            kind,
            rust_ty: p.ty.clone(),
            span: p.span,
        });
    }
    Ok(KernelSig {
        name: item.sig.ident.clone(),
        vis: item.vis.clone(),
        consts: sig.consts,
        num_generics: sig.num_generics,
        params,
    })
}

fn kernel_param_kind(ty: &syn::Type) -> syn::Result<ParamKind> {
    const HELP: &str = "a kernel parameter is a pointer `Ptr<T>` (T one of f16, bf16, f32, f64, \
                        i8, i16, i32, i64, bool), a scalar of one of those types, or a \
                        #[constexpr] compile-time value; tiles are built inside the kernel";
    if let syn::Type::Path(p) = ungroup(ty)
        && p.qself.is_none()
        && p.path.segments.len() == 1
    {
        let seg = &p.path.segments[0];
        let name = seg.ident.to_string();
        match (&seg.arguments, name.as_str()) {
            (syn::PathArguments::None, n) => {
                if let Some(s) = scalar_from_name(n) {
                    return Ok(ParamKind::Scalar(s));
                }
                if let Some(h) = unsupported_scalar_hint(n) {
                    return err_at(ty, h);
                }
            }
            (syn::PathArguments::AngleBracketed(a), "Ptr") if a.args.len() == 1 => {
                if let syn::GenericArgument::Type(inner) = &a.args[0]
                    && let syn::Type::Path(inner) = ungroup(inner)
                    && let Some(id) = inner.path.get_ident()
                {
                    if let Some(s) = scalar_from_name(&id.to_string()) {
                        return Ok(ParamKind::Ptr(s));
                    }
                    if let Some(h) = unsupported_scalar_hint(&id.to_string()) {
                        return err_at(&a.args[0], h);
                    }
                }
                return err_at(&a.args[0], HELP);
            }
            _ => {}
        }
    }
    err_at(ty, HELP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(src: &str) -> syn::Result<KernelSig> {
        kernel_signature(&syn::parse_str(src).unwrap())
    }

    #[test]
    fn kernel_signatures() {
        let s = sig(
            "pub fn k<const BLOCK: usize, const CAUSAL: bool>(x: Ptr<f16>, n: i32, #[constexpr] h: i64) {}",
        )
        .unwrap();
        assert_eq!(s.num_generics, 2);
        let names: Vec<_> = s.consts.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        assert_eq!(
            names,
            [
                ("BLOCK", ScalarType::I32),
                ("CAUSAL", ScalarType::I1),
                ("h", ScalarType::I64)
            ]
        );
        assert_eq!(s.params[0].kind, ParamKind::Ptr(ScalarType::F16));
        assert_eq!(s.params[1].kind, ParamKind::Scalar(ScalarType::I32));
        assert_eq!(s.params[2].kind, ParamKind::Constexpr(2));
    }

    #[test]
    fn kernel_signature_errors() {
        let e = |s: &str| sig(s).unwrap_err().to_string();
        assert!(e("fn k<T>(x: Ptr<T>) {}").contains("type parameters"));
        assert!(e("fn k(x: Ptr<u8>) {}").contains("signed"));
        assert!(e("fn k(x: Tile<f32, 4>) {}").contains("kernel parameter"));
        assert!(e("fn k(x: f32) -> f32 { x }").contains("returns nothing"));
        assert!(e("fn k(x: f32, x: f32) {}").contains("twice"));
        assert!(e("fn k(#[foo] x: f32) {}").contains("unknown attribute"));
        assert!(e("async fn k() {}").contains("async"));
        assert!(e("fn k<const N: u8>() {}").contains("compile-time parameter"));
    }
}
