//! `tilefuse prebuild`: compiles every declared configuration of the
//! kernels in a DSL source file to PTX for every architecture, so that a
//! bundled kernel runs on a GPU with neither LLVM nor a CUDA toolkit.
//!
//! Output, under the chosen folder (the repository's is `ptx/`):
//! - `<arch>/<kernel>.<fingerprint>.ptx`, one per kernel, configuration and
//!   architecture;
//! - `index.rs`, the table the facade crate includes: kernel name, the
//!   configuration (for messages), architecture, the IR fingerprint the
//!   runtime matches, warps per CTA, and the PTX;
//! - `manifest.md`, what was built and what was not, with the reason (a
//!   kernel the lowering does not cover yet, a configuration that leaves an
//!   integer `#[constexpr]` open). Nothing is skipped silently.
//!
//! `#[constexpr] bool` parameters a configuration leaves open are built both ways.

use std::fmt::Write as _;
use std::path::Path;

use super::lower::{LowerOptions, lower_to_ptx};
use super::{Arch, NvptxError};
use crate::frontend::configs::{check_configs, parse_kernel_attr};
use crate::frontend::{compile_source, kernel_signature};
use crate::ir::{ConstValue, Module, ScalarType, describe_consts, fingerprint};
use crate::passes::pipeline::{keep_only_kernel, run_tile_pipeline};
use crate::passes::specialize;

/// One PTX built.
#[derive(Clone, Debug)]
pub struct Built {
    /// Kernel name.
    pub kernel: String,
    /// Its compile-time values, shown as `BLOCK = 1024`.
    pub consts: String,
    /// The architecture.
    pub arch: Arch,
    /// The fingerprint of the optimized kernel.
    pub ir_hash: u64,
    /// Warps per CTA.
    pub num_warps: u32,
    /// The PTX.
    pub ptx: String,
}

/// What was built and what was not (with why).
#[derive(Clone, Debug, Default)]
pub struct Prebuild {
    /// The PTX built.
    pub built: Vec<Built>,
    /// `(kernel, configuration, reason)` of what was not built.
    pub skipped: Vec<(String, String, String)>,
}

/// Builds every declared configuration of every kernel in `src` for `archs`.
pub fn prebuild_source(src: &str, file: &str, archs: &[Arch]) -> Result<Prebuild, NvptxError> {
    let module = compile_source(src, file).map_err(|e| NvptxError(e.to_string()))?;
    let ast = syn::parse_file(src).map_err(|e| NvptxError(format!("{file}: {e}")))?;
    let mut out = Prebuild::default();
    let mut items: Vec<&syn::ItemFn> = Vec::new();
    collect_fns(&ast.items, &mut items);
    for item in items {
        let Some(attr) = item.attrs.iter().find(|a| a.path().is_ident("tile_kernel")) else {
            continue;
        };
        let name = item.sig.ident.to_string();
        let args = match &attr.meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => proc_macro2::TokenStream::new(),
        };
        let sig = kernel_signature(item).map_err(|e| NvptxError(format!("{file}: {name}: {e}")))?;
        let configs = parse_kernel_attr(args)
            .and_then(|a| check_configs(&a, &sig))
            .map_err(|e| NvptxError(format!("{file}: {name}: {e}")))?;
        if configs.is_empty() {
            out.skipped.push((
                name.clone(),
                "-".into(),
                "no declared configurations".into(),
            ));
        }
        for config in configs {
            for consts in expand_open_bools(&config.consts, &sig.consts) {
                let shown = describe_consts(&consts);
                let mut unbound: Vec<&str> = sig
                    .consts
                    .iter()
                    .filter(|c| !consts.iter().any(|(n, _)| *n == c.name))
                    .map(|c| c.name.as_str())
                    .collect();
                if !unbound.is_empty() {
                    unbound.dedup();
                    out.skipped.push((
                        name.clone(),
                        shown,
                        format!("{unbound:?} are bound at launch time"),
                    ));
                    continue;
                }
                match optimize(&module, &name, &consts) {
                    Err(e) => out.skipped.push((name.clone(), shown, e)),
                    Ok(optimized) => {
                        let ir_hash = fingerprint(&optimized);
                        for &arch in archs {
                            let opts = LowerOptions {
                                arch,
                                num_warps: config.num_warps,
                            };
                            match lower_to_ptx(&optimized, &name, opts) {
                                Ok(ptx) => out.built.push(Built {
                                    kernel: name.clone(),
                                    consts: shown.clone(),
                                    arch,
                                    ir_hash,
                                    num_warps: config.num_warps,
                                    ptx,
                                }),
                                Err(e) => {
                                    out.skipped.push((
                                        name.clone(),
                                        format!("{shown} on {}", arch.name()),
                                        e.0,
                                    ));
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

fn collect_fns<'a>(items: &'a [syn::Item], out: &mut Vec<&'a syn::ItemFn>) {
    for item in items {
        match item {
            syn::Item::Fn(f) => out.push(f),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_fns(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// The configuration with each open `#[constexpr] bool` bound both ways.
fn expand_open_bools(
    consts: &[(String, ConstValue)],
    declared: &[crate::frontend::ConstSig],
) -> Vec<Vec<(String, ConstValue)>> {
    let mut out = vec![consts.to_vec()];
    for c in declared {
        if c.ty == ScalarType::I1 && !consts.iter().any(|(n, _)| *n == c.name) {
            out = out
                .into_iter()
                .flat_map(|b| {
                    [false, true].map(|v| {
                        let mut b = b.clone();
                        b.push((c.name.clone(), ConstValue::Bool(v)));
                        b
                    })
                })
                .collect();
        }
    }
    out
}

/// Specialize, run the tile pipeline, keep the kernel alone: what the runtime compiles too.
fn optimize(
    module: &Module,
    kernel: &str,
    consts: &[(String, ConstValue)],
) -> Result<Module, String> {
    let mut m = specialize(module, kernel, consts).map_err(|e| e.to_string())?;
    run_tile_pipeline(&mut m).map_err(|e| e.to_string())?;
    keep_only_kernel(&mut m, kernel).map_err(|e| e.to_string())?;
    Ok(m)
}

/// Writes the PTX files, `index.rs` and `manifest.md` under `dir`
/// (replacing what a previous prebuild left there).
pub fn write(prebuild: &Prebuild, dir: &Path, sources: &[String]) -> Result<(), NvptxError> {
    let io = |what: &Path, e: std::io::Error| {
        NvptxError(format!("cannot write {}: {e}", what.display()))
    };
    for arch in Arch::ALL {
        let sub = dir.join(arch.name());
        if sub.exists() {
            std::fs::remove_dir_all(&sub).map_err(|e| io(&sub, e))?;
        }
    }
    let mut index = String::from(
        "// Generated by `tilefuse prebuild`; do not edit. The facade crate includes this table.\n\
         pub(crate) const TABLE: &[tilefuse_runtime::PrebuiltPtx] = &[\n",
    );
    let mut manifest = format!(
        "# Prebuilt PTX\n\nGenerated by `tilefuse prebuild` from {}; CI checks that regenerating gives these bytes.\n\n\
         | kernel | configuration | arch | warps | file |\n|---|---|---|---|---|\n",
        sources.join(", ")
    );
    for b in &prebuild.built {
        let rel = format!("{}/{}.{:016x}.ptx", b.arch.name(), b.kernel, b.ir_hash);
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| io(&path, e))?;
        std::fs::write(&path, &b.ptx).map_err(|e| io(&path, e))?;
        let _ = writeln!(
            index,
            "    tilefuse_runtime::PrebuiltPtx {{ kernel: {:?}, consts: {:?}, arch: {:?}, ir_hash: 0x{:016x}, num_warps: {}, ptx: include_str!({:?}) }},",
            b.kernel,
            b.consts,
            b.arch.name(),
            b.ir_hash,
            b.num_warps,
            rel
        );
        let _ = writeln!(
            manifest,
            "| {} | {} | {} | {} | `{rel}` |",
            b.kernel,
            b.consts,
            b.arch.name(),
            b.num_warps
        );
    }
    index.push_str("];\n");
    manifest.push_str("\n## Not built\n\n| kernel | configuration | why |\n|---|---|---|\n");
    for (k, c, why) in &prebuild.skipped {
        let why = why.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(manifest, "| {k} | {c} | {why} |");
    }
    for (name, text) in [("index.rs", index), ("manifest.md", manifest)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    Ok(())
}
