//! The arguments of `#[tile_kernel(...)]`: the declared configurations and
//! which variants get prebuilt PTX.
//!
//! ```text
//! #[tile_kernel(configs = [(BLOCK = 128, num_warps = 8), (BLOCK = 256)])]
//! #[tile_kernel(configs = [(BM = 16, cpu_only = true), (BM = 128)], prebuild = [causal])]
//! ```
//!
//! - `configs`: each configuration binds every const generic of the kernel
//!   (and may bind `#[constexpr]` parameters too), plus the GPU launch knobs
//!   `num_warps` (default 4) and `num_stages` (default 2), and
//!   `cpu_only = true` for a configuration meant for the CPU interpreter
//!   (small test tiles): it is compiled and checked like the others and runs
//!   on `Device::cpu()`, but `tilefuse prebuild` builds no PTX for it (the
//!   manifest lists it as not built, `cpu_only`), so on a GPU it needs the
//!   `jit` feature.
//! - `prebuild = [flag, ..]`: the `#[constexpr] bool` parameters whose both
//!   values get prebuilt PTX. Every bool a configuration leaves open multiplies
//!   the variants by two (five flags are 32 variants per configuration, per
//!   element type, per architecture), so a kernel with many flags lists the
//!   ones worth shipping; the others are prebuilt `false` only (the plain
//!   kernel), and a launch that sets one needs the `jit` feature on a GPU.
//!   Without the key every open bool is prebuilt both ways; `prebuild = []`
//!   prebuilds them all `false`. A bool a configuration binds keeps its bound
//!   value. [`prebuild_variants`] is the rule, shared by `tilefuse prebuild`
//!   and the tests that check the committed PTX.
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
    /// `prebuild = [flag, ..]` as written (`None` without the key).
    pub prebuild: Option<Vec<syn::Ident>>,
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
    /// `cpu_only = true`: meant for the interpreter, no prebuilt PTX.
    pub cpu_only: bool,
    /// The configuration as the user wrote it (`(BLOCK = 128)`), for messages.
    pub shown: String,
    /// Its tokens, for spans.
    pub tokens: TokenStream,
}

const USAGE: &str = "expected `configs = [(NAME = value, ..), ..]` and optionally \
                     `prebuild = [flag, ..]`, e.g. \
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
        if key == "prebuild" {
            if out.prebuild.is_some() {
                return Err(syn::Error::new(key.span(), "`prebuild` is given twice"));
            }
            out.prebuild = Some(parse_flag_list(&asg.right)?);
            continue;
        }
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

/// `[flag, ..]`: the names of `#[constexpr] bool` parameters.
fn parse_flag_list(e: &syn::Expr) -> syn::Result<Vec<syn::Ident>> {
    const FLAGS: &str = "`prebuild` lists `#[constexpr] bool` parameters in brackets, \
                         e.g. `prebuild = [causal]` (or `[]` for none)";
    let syn::Expr::Array(arr) = e else {
        return Err(syn::Error::new_spanned(e, FLAGS));
    };
    arr.elems
        .iter()
        .map(|f| match f {
            syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                Ok(p.path.get_ident().expect("checked").clone())
            }
            other => Err(syn::Error::new_spanned(other, FLAGS)),
        })
        .collect()
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
                    "a configuration key is the name of a const parameter, `num_warps`, \
                     `num_stages` or `cpu_only`",
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
        let mut cpu_only = false;
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
                ("cpu_only", Value::Bool(b)) => cpu_only = b,
                ("cpu_only", Value::Int(_)) => {
                    return Err(syn::Error::new(
                        e.span,
                        "`cpu_only` is a bool: write `cpu_only = true` for a configuration \
                         meant for the interpreter only",
                    ));
                }
                _ => {
                    let Some(c) = sig.consts.iter().find(|c| c.name == key) else {
                        let names: Vec<&str> = sig
                            .consts
                            .iter()
                            .map(|c| c.name.as_str())
                            .chain(["num_warps", "num_stages", "cpu_only"])
                            .collect();
                        let hint = match closest(&key, names.iter().copied()) {
                            Some(c) => format!(" (did you mean `{c}`?)"),
                            None => String::new(),
                        };
                        return Err(syn::Error::new(
                            e.key.span(),
                            format!(
                                "unknown configuration key `{key}`{hint}: `{}` has the const \
                                 parameters {}; a configuration may also set num_warps, \
                                 num_stages and cpu_only",
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
            cpu_only,
            shown,
            tokens: spec.tokens.clone(),
        });
    }
    Ok(out)
}

/// The `#[constexpr] bool` parameters whose both values get prebuilt PTX, in
/// declaration order: those of `prebuild = [..]`, checked against the
/// signature, or every bool parameter without the key.
pub fn check_prebuild_flags(attr: &KernelAttr, sig: &KernelSig) -> syn::Result<Vec<String>> {
    let bools: Vec<&str> = sig
        .consts
        .iter()
        .filter(|c| c.ty == ScalarType::I1)
        .map(|c| c.name.as_str())
        .collect();
    let Some(listed) = &attr.prebuild else {
        return Ok(bools.iter().map(|b| b.to_string()).collect());
    };
    let mut seen: Vec<String> = Vec::new();
    for flag in listed {
        let name = flag.to_string();
        if seen.contains(&name) {
            return Err(syn::Error::new(
                flag.span(),
                format!("`{name}` is listed twice in `prebuild`"),
            ));
        }
        if !bools.contains(&name.as_str()) {
            let what = if sig.consts.iter().any(|c| c.name == name) {
                format!("`{name}` is an integer compile-time parameter, not a bool flag")
            } else {
                let hint = match closest(&name, bools.iter().copied()) {
                    Some(c) => format!(" (did you mean `{c}`?)"),
                    None => String::new(),
                };
                format!("`{}` has no `#[constexpr] {name}: bool`{hint}", sig.name)
            };
            let have = if bools.is_empty() {
                format!("`{}` has no bool flags", sig.name)
            } else {
                format!(
                    "its bool flags are {}",
                    bools
                        .iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(syn::Error::new(
                flag.span(),
                format!(
                    "{what}: `prebuild` lists the `#[constexpr] bool` parameters whose both \
                     values get prebuilt PTX; {have}"
                ),
            ));
        }
        seen.push(name);
    }
    Ok(bools
        .into_iter()
        .filter(|b| seen.iter().any(|s| s == b))
        .map(str::to_string)
        .collect())
}

/// The compile-time bindings `tilefuse prebuild` builds for one
/// configuration: its own values, each bool of `flags` it leaves open both
/// ways, every other open bool `false`. Integer parameters it leaves open
/// stay unbound (bound at launch time: nothing to prebuild). Each binding
/// lists the parameters in `declared` order; the first flag varies slowest.
pub fn prebuild_variants<S: AsRef<str>>(
    config: &[(String, ConstValue)],
    declared: &[crate::ir::ConstParam],
    flags: &[S],
) -> Vec<Vec<(String, ConstValue)>> {
    let mut out: Vec<Vec<(String, ConstValue)>> = vec![Vec::new()];
    for c in declared {
        let values: Vec<ConstValue> = match config.iter().find(|(n, _)| *n == c.name) {
            Some((_, v)) => vec![*v],
            None if c.ty != ScalarType::I1 => vec![],
            None if flags.iter().any(|f| f.as_ref() == c.name) => {
                vec![ConstValue::Bool(false), ConstValue::Bool(true)]
            }
            None => vec![ConstValue::Bool(false)],
        };
        if values.is_empty() {
            continue;
        }
        out = out
            .into_iter()
            .flat_map(|b| {
                values.iter().map(move |v| {
                    let mut b = b.clone();
                    b.push((c.name.clone(), *v));
                    b
                })
            })
            .collect();
    }
    out
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
        assert!(e(quote!(configs = [(BM = 1, BN = 1, cpu_only = 1)])).contains("is a bool"));
        assert!(e(quote!(configs = [(BM = 1, BN = 1, cpu_onyl = true)])).contains("cpu_only"));
    }

    #[test]
    fn cpu_only_configs() {
        let c = check(quote!(
            configs = [(BM = 16, BN = 16, cpu_only = true), (BM = 64, BN = 64)]
        ))
        .unwrap();
        assert!(c[0].cpu_only);
        assert!(!c[1].cpu_only);
        assert_eq!(c[0].consts.len(), 2, "cpu_only is not a compile-time value");
    }

    fn flags_sig() -> KernelSig {
        crate::frontend::kernel_signature(
            &syn::parse2(quote!(
                fn k<const B: usize>(
                    x: Ptr<f32>,
                    #[constexpr] varlen: bool,
                    #[constexpr] causal: bool,
                    #[constexpr] W: usize,
                    #[constexpr] alibi: bool,
                ) {
                }
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn flags(attr: TokenStream) -> syn::Result<Vec<String>> {
        check_prebuild_flags(&parse_kernel_attr(attr)?, &flags_sig())
    }

    #[test]
    fn prebuild_flags_default_to_every_bool_in_declaration_order() {
        assert_eq!(
            flags(quote!(configs = [(B = 1)])).unwrap(),
            ["varlen", "causal", "alibi"]
        );
        assert_eq!(
            flags(quote!(configs = [(B = 1)], prebuild = [alibi, varlen])).unwrap(),
            ["varlen", "alibi"]
        );
        assert!(flags(quote!(prebuild = [])).unwrap().is_empty());
    }

    #[test]
    fn prebuild_flag_errors() {
        let e = |t: TokenStream| flags(t).unwrap_err().to_string();
        assert!(e(quote!(prebuild = [Causal])).contains("did you mean `causal`"));
        assert!(e(quote!(prebuild = [W])).contains("integer compile-time parameter"));
        assert!(e(quote!(prebuild = [causal, causal])).contains("listed twice"));
        assert!(e(quote!(prebuild = causal)).contains("in brackets"));
        assert!(e(quote!(prebuild = [1])).contains("in brackets"));
        assert!(e(quote!(prebuild = [], prebuild = [])).contains("given twice"));
        assert!(e(quote!(prebuild = [nope])).contains("its bool flags are `varlen`, `causal`"));
    }

    #[test]
    fn prebuild_variants_follow_the_policy() {
        use crate::ir::ConstParam;
        let declared: Vec<ConstParam> = flags_sig()
            .consts
            .iter()
            .map(|c| ConstParam {
                name: c.name.clone(),
                ty: c.ty,
            })
            .collect();
        let show = |v: &[Vec<(String, ConstValue)>]| -> Vec<String> {
            v.iter().map(|b| crate::ir::describe_consts(b)).collect()
        };
        let config = vec![
            ("B".to_string(), ConstValue::Int(8)),
            ("W".to_string(), ConstValue::Int(2)),
        ];
        // Two flags prebuilt both ways, the third false; W keeps its declared position.
        assert_eq!(
            show(&prebuild_variants(&config, &declared, &["varlen", "alibi"])),
            [
                "B = 8, varlen = false, causal = false, W = 2, alibi = false",
                "B = 8, varlen = false, causal = false, W = 2, alibi = true",
                "B = 8, varlen = true, causal = false, W = 2, alibi = false",
                "B = 8, varlen = true, causal = false, W = 2, alibi = true",
            ]
        );
        // A bool bound by the configuration keeps its value; an open integer stays unbound.
        let config = vec![
            ("B".to_string(), ConstValue::Int(8)),
            ("varlen".to_string(), ConstValue::Bool(true)),
        ];
        assert_eq!(
            show(&prebuild_variants(
                &config,
                &declared,
                &["varlen", "causal"]
            )),
            [
                "B = 8, varlen = true, causal = false, alibi = false",
                "B = 8, varlen = true, causal = true, alibi = false",
            ]
        );
        assert_eq!(
            prebuild_variants::<&str>(&config, &declared, &[]).len(),
            1,
            "no flags: one variant"
        );
    }
}
