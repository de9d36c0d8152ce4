//! The arguments of `#[tile_kernel(...)]`: the declared configurations.
//!
//! ```text
//! #[tile_kernel(configs = [(BLOCK = 128, num_warps = 8), (BLOCK = 256)])]
//! ```
//!
//! Each configuration binds every const generic of the kernel (and may bind
//! `#[constexpr]` parameters too), plus the GPU launch knobs `num_warps`
//! (default 4) and `num_stages` (default 2).
//!
//! It lives in the frontend (not the macro crate) so that tools read the
//! same configurations the macro checks: `tilefuse prebuild` compiles each.

use super::KernelSig;
use crate::ir::{ConstValue, ScalarType};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

/// A value in a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer literal.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
}

/// One `NAME = value` of a configuration.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The parameter or knob it sets.
    pub key: syn::Ident,
    /// Its value.
    pub value: Value,
    /// Where it is written.
    pub span: Span,
}

/// One configuration as written.
#[derive(Clone, Debug)]
pub struct ConfigSpec {
    /// The `NAME = value` entries.
    pub entries: Vec<Entry>,
    /// The tokens of the configuration, for spans.
    pub tokens: TokenStream,
}

/// The parsed attribute.
#[derive(Clone, Debug, Default)]
pub struct KernelAttr {
    /// The declared configurations, in order.
    pub configs: Vec<ConfigSpec>,
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Bound const parameters, in the kernel's declaration order.
    pub consts: Vec<(String, ConstValue)>,
    /// Warps per program on a GPU.
    pub num_warps: u32,
    /// Software-pipelining stages on a GPU.
    pub num_stages: u32,
    /// The configuration as the user wrote it (`(BLOCK = 128)`), for messages.
    pub shown: String,
    /// Its tokens, for spans.
    pub tokens: TokenStream,
}

const USAGE: &str = "expected `configs = [(NAME = value, ..), ..]`, e.g. \
                     #[tile_kernel(configs = [(BLOCK = 128, num_warps = 8), (BLOCK = 256)])]";

/// Parses the attribute's arguments.
pub fn parse_kernel_attr(attr: TokenStream) -> syn::Result<KernelAttr> {
    let mut out = KernelAttr::default();
    if attr.is_empty() {
        return Ok(out);
    }
    let args = syn::parse::Parser::parse2(
        Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        attr,
    )
    .map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("bad #[tile_kernel] arguments: {e}; {USAGE}"),
        )
    })?;
    let mut seen_configs = false;
    for a in args {
        let syn::Expr::Assign(asg) = &a else {
            return Err(syn::Error::new_spanned(&a, USAGE));
        };
        let key = match &*asg.left {
            syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                p.path.get_ident().expect("checked").clone()
            }
            other => return Err(syn::Error::new_spanned(other, USAGE)),
        };
        if key != "configs" {
            return Err(syn::Error::new(
                key.span(),
                format!("unknown #[tile_kernel] argument `{key}`; {USAGE}"),
            ));
        }
        if seen_configs {
            return Err(syn::Error::new(key.span(), "`configs` is given twice"));
        }
        seen_configs = true;
        let syn::Expr::Array(arr) = &*asg.right else {
            return Err(syn::Error::new_spanned(
                &asg.right,
                format!("`configs` is a list of configurations in brackets; {USAGE}"),
            ));
        };
        for c in &arr.elems {
            out.configs.push(parse_config(c)?);
        }
    }
    Ok(out)
}

fn parse_config(c: &syn::Expr) -> syn::Result<ConfigSpec> {
    let items: Vec<&syn::Expr> = match c {
        syn::Expr::Paren(p) => vec![&*p.expr],
        syn::Expr::Tuple(t) => t.elems.iter().collect(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("a configuration is a parenthesized list `(NAME = value, ..)`; {USAGE}"),
            ));
        }
    };
    let mut entries = Vec::new();
    for it in items {
        let syn::Expr::Assign(asg) = it else {
            return Err(syn::Error::new_spanned(
                it,
                "a configuration entry is `NAME = value` (an integer or bool literal)",
            ));
        };
        let key = match &*asg.left {
            syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                p.path.get_ident().expect("checked").clone()
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a configuration key is the name of a const parameter, `num_warps` or `num_stages`",
                ));
            }
        };
        let value = literal_value(&asg.right)?;
        entries.push(Entry {
            key,
            value,
            span: asg.right.span(),
        });
    }
    Ok(ConfigSpec {
        entries,
        tokens: c.to_token_stream(),
    })
}

fn literal_value(e: &syn::Expr) -> syn::Result<Value> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Ok(Value::Int(i.base10_parse()?)),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Ok(Value::Bool(b.value)),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match literal_value(expr)? {
            Value::Int(v) => Ok(Value::Int(-v)),
            Value::Bool(_) => Err(syn::Error::new_spanned(e, "cannot negate a bool")),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "a configuration value is an integer or bool literal",
        )),
    }
}

fn closest<'a>(name: &str, cands: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    cands.into_iter().find(|c| {
        let cl = c.to_lowercase();
        cl == lower || cl.starts_with(&lower) || lower.starts_with(&cl)
    })
}

/// Checks the configurations against the kernel's signature.
pub fn check_configs(attr: &KernelAttr, sig: &KernelSig) -> syn::Result<Vec<Config>> {
    let mut out = Vec::new();
    for spec in &attr.configs {
        let mut consts: Vec<(String, ConstValue)> = Vec::new();
        let mut num_warps = 4u32;
        let mut num_stages = 2u32;
        let mut seen: Vec<String> = Vec::new();
        for e in &spec.entries {
            let key = e.key.to_string();
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    e.key.span(),
                    format!("`{key}` is given twice in this configuration"),
                ));
            }
            seen.push(key.clone());
            match (key.as_str(), e.value) {
                ("num_warps", Value::Int(v)) => {
                    if !(1..=32).contains(&v) || !(v as u64).is_power_of_two() {
                        return Err(syn::Error::new(
                            e.span,
                            format!("num_warps must be a power of two from 1 to 32, not {v}"),
                        ));
                    }
                    num_warps = v as u32;
                }
                ("num_stages", Value::Int(v)) => {
                    if !(1..=8).contains(&v) {
                        return Err(syn::Error::new(
                            e.span,
                            format!("num_stages must be from 1 to 8, not {v}"),
                        ));
                    }
                    num_stages = v as u32;
                }
                ("num_warps" | "num_stages", Value::Bool(_)) => {
                    return Err(syn::Error::new(e.span, format!("`{key}` is an integer")));
                }
                _ => {
                    let Some(c) = sig.consts.iter().find(|c| c.name == key) else {
                        let names: Vec<&str> = sig
                            .consts
                            .iter()
                            .map(|c| c.name.as_str())
                            .chain(["num_warps", "num_stages"])
                            .collect();
                        let hint = match closest(&key, names.iter().copied()) {
                            Some(c) => format!(" (did you mean `{c}`?)"),
                            None => String::new(),
                        };
                        return Err(syn::Error::new(
                            e.key.span(),
                            format!(
                                "unknown configuration key `{key}`{hint}: `{}` has the const \
                                 parameters {}; a configuration may also set num_warps and \
                                 num_stages",
                                sig.name,
                                if sig.consts.is_empty() {
                                    "(none)".to_string()
                                } else {
                                    sig.consts
                                        .iter()
                                        .map(|c| format!("`{}`", c.name))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                }
                            ),
                        ));
                    };
                    let v = match (c.ty, e.value) {
                        (ScalarType::I1, Value::Bool(b)) => ConstValue::Bool(b),
                        (ScalarType::I1, Value::Int(_)) => {
                            return Err(syn::Error::new(
                                e.span,
                                format!("`{key}` is a bool: write `{key} = true` or `false`"),
                            ));
                        }
                        (_, Value::Bool(_)) => {
                            return Err(syn::Error::new(
                                e.span,
                                format!("`{key}` is an integer, not a bool"),
                            ));
                        }
                        (t, Value::Int(v)) => {
                            let bits = t.bits();
                            let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
                            if !(lo..=hi).contains(&i128::from(v)) {
                                return Err(syn::Error::new(
                                    e.span,
                                    format!("{v} does not fit `{key}` ({t})"),
                                ));
                            }
                            ConstValue::Int(v)
                        }
                    };
                    consts.push((key, v));
                }
            }
        }
        let shown = super::pretty_tokens(&spec.tokens.to_string());
        for g in &sig.consts[..sig.num_generics] {
            if !consts.iter().any(|(n, _)| *n == g.name) {
                return Err(syn::Error::new_spanned(
                    &spec.tokens,
                    format!(
                        "the configuration {shown} does not bind the const generic `{}`: every \
                         configuration gives every const generic of `{}` a value",
                        g.name, sig.name
                    ),
                ));
            }
        }
        consts.sort_by_key(|(n, _)| sig.consts.iter().position(|c| c.name == *n));
        out.push(Config {
            consts,
            num_warps,
            num_stages,
            shown,
            tokens: spec.tokens.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn sig() -> KernelSig {
        crate::frontend::kernel_signature(
            &syn::parse2(quote!(
                fn k<const BM: usize, const BN: usize>(x: Ptr<f32>, #[constexpr] causal: bool) {}
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn check(attr: TokenStream) -> syn::Result<Vec<Config>> {
        check_configs(&parse_kernel_attr(attr)?, &sig())
    }

    #[test]
    fn parses_configs() {
        let c = check(quote!(
            configs = [
                (BN = 32, BM = 64, num_warps = 8),
                (BM = 16, BN = 16, causal = true, num_stages = 3)
            ]
        ))
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].consts,
            vec![
                ("BM".to_string(), ConstValue::Int(64)),
                ("BN".to_string(), ConstValue::Int(32))
            ]
        );
        assert_eq!((c[0].num_warps, c[0].num_stages), (8, 2));
        assert_eq!((c[1].num_warps, c[1].num_stages), (4, 3));
        assert_eq!(
            c[1].consts[2],
            ("causal".to_string(), ConstValue::Bool(true))
        );
        assert_eq!(c[0].shown, "(BN = 32, BM = 64, num_warps = 8)");
        assert!(check(quote!()).unwrap().is_empty());
    }

    #[test]
    fn config_errors() {
        let e = |t: TokenStream| check(t).unwrap_err().to_string();
        assert!(e(quote!(config = [])).contains("unknown #[tile_kernel] argument `config`"));
        assert!(e(quote!(configs = (BM = 1))).contains("list of configurations"));
        assert!(e(quote!(configs = [(BM = 64)])).contains("does not bind the const generic `BN`"));
        assert!(e(quote!(configs = [(bm = 64, BN = 1)])).contains("did you mean `BM`"));
        assert!(e(quote!(configs = [(BM = 64, BN = 1, num_warps = 3)])).contains("power of two"));
        assert!(e(quote!(configs = [(BM = 64, BN = 1, causal = 1)])).contains("is a bool"));
        assert!(e(quote!(configs = [(BM = true, BN = 1)])).contains("not a bool"));
        assert!(e(quote!(configs = [(BM = 64, BM = 1)])).contains("twice"));
        assert!(e(quote!(configs = [(BM = 1 + 1, BN = 1)])).contains("literal"));
        assert!(e(quote!(configs = [(BM = 4294967296, BN = 1)])).contains("does not fit"));
        assert!(e(quote!(configs = [BM = 4])).contains("parenthesized"));
    }
}
