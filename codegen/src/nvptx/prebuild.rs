//! `tilefuse prebuild`: compiles the bundled kernels' declared
//! configurations to PTX for every architecture, so that a bundled kernel
//! runs on a GPU with neither LLVM nor a CUDA toolkit.
//!
//! Input: a kernel dump ([`crate::kernel_dump`]) that the facade crate
//! writes from its registry of bundled kernels
//! (`cargo run -p tilefuse --example dump_kernels -- DIR`): each kernel's
//! unspecialized IR exactly as its `#[tile_kernel]` embedded it, its
//! configurations and its prebuilt flags. Reading the macro's own IR (rather
//! than parsing Rust sources) sees the kernels that `macro_rules!` stamp out
//! per element type, and fingerprints exactly what the runtime compiles.
//! `scripts/prebuild.sh` runs both steps.
//!
//! Which variants are built ([`crate::frontend::configs::prebuild_variants`]):
//! every configuration except `cpu_only` ones, with the kernel's prebuilt
//! flags (`prebuild = [..]`, default every `#[constexpr] bool`) both ways and
//! every other open bool `false`.
//!
//! Output, under the chosen folder (the repository's is `ptx/`):
//! - `<arch>/<kernel>.<fingerprint>.ptx`, one per variant and architecture;
//! - `index.rs`, the table the facade crate includes: kernel name, the
//!   compile-time values (for messages), architecture, the fingerprint of
//!   the optimized kernel the runtime matches, the fingerprint of the
//!   unspecialized kernel (which kernel of that name it is, for the error
//!   that lists a kernel's variants), warps per CTA, and the PTX;
//! - `manifest.md`: each kernel's policy, what was built, and what was not
//!   with the reason (a `cpu_only` configuration, a kernel the lowering does
//!   not cover yet, an integer `#[constexpr]` left open). Nothing is skipped
//!   silently: `tests/prebuilt.rs` checks every variant is either built for
//!   every architecture or listed.

use std::fmt::Write as _;
use std::path::Path;

use super::lower::{LowerOptions, lower_to_ptx};
use super::{Arch, NvptxError};
use crate::frontend::configs::prebuild_variants;
use crate::ir::{
    ConstValue, FuncKind, Module, ScalarType, describe_consts, fingerprint, parse_module,
};
use crate::kernel_dump::KernelDump;
use crate::passes::pipeline::{keep_only_kernel, run_tile_pipeline};
use crate::passes::specialize;

/// One PTX built.
#[derive(Clone, Debug)]
pub struct Built {
    /// The kernel's path in the registry (`graph::f16_features::gao`).
    pub path: String,
    /// Kernel name (the PTX entry).
    pub kernel: String,
    /// Its compile-time values, shown as `BLOCK = 1024`.
    pub consts: String,
    /// The architecture.
    pub arch: Arch,
    /// The fingerprint of the optimized kernel.
    pub ir_hash: u64,
    /// The fingerprint of the unspecialized kernel module.
    pub source_hash: u64,
    /// Warps per CTA.
    pub num_warps: u32,
    /// The PTX.
    pub ptx: String,
}

/// A variant (or configuration) that was not built, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    /// The kernel's path in the registry.
    pub path: String,
    /// Its compile-time values (as in [`Built::consts`]), or `-`.
    pub consts: String,
    /// Why.
    pub reason: String,
}

/// A kernel's prebuild policy, for the manifest.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The kernel's path in the registry.
    pub path: String,
    /// The bools prebuilt both ways (among those a GPU configuration leaves open).
    pub flags: Vec<String>,
    /// The bools prebuilt `false` only (among those a GPU configuration leaves open).
    pub other_flags: Vec<String>,
    /// Configurations built for GPUs.
    pub gpu_configs: usize,
    /// `cpu_only` configurations.
    pub cpu_configs: usize,
}

/// What was built and what was not (with why).
#[derive(Clone, Debug, Default)]
pub struct Prebuild {
    /// The PTX built.
    pub built: Vec<Built>,
    /// What was not built.
    pub not_built: Vec<NotBuilt>,
    /// Each kernel's policy.
    pub policies: Vec<Policy>,
}

/// Builds the variants of every dumped kernel for `archs`. Errors are
/// inconsistent dumps (IR that does not parse, a flag or a configuration
/// naming no parameter); what the compiler cannot build yet is recorded in
/// [`Prebuild::not_built`].
pub fn prebuild_dump(kernels: &[KernelDump], archs: &[Arch]) -> Result<Prebuild, NvptxError> {
    let mut out = Prebuild::default();
    for k in kernels {
        let fail = |m: String| NvptxError(format!("kernel `{}` of the dump: {m}", k.path));
        let module =
            parse_module(&k.ir).map_err(|e| fail(format!("its IR does not parse: {e}")))?;
        let func = module
            .funcs
            .iter()
            .find(|f| f.name == k.name && f.kind == FuncKind::Kernel)
            .ok_or_else(|| fail(format!("its IR has no kernel `{}`", k.name)))?;
        let declared = &func.consts;
        for flag in &k.flags {
            if !declared
                .iter()
                .any(|c| c.name == *flag && c.ty == ScalarType::I1)
            {
                return Err(fail(format!(
                    "`{flag}` is listed as a prebuilt flag but `{}` has no `#[constexpr] {flag}: bool`",
                    k.name
                )));
            }
        }
        let source_hash = fingerprint(&module);
        // The bools some GPU configuration leaves open: where the policy matters.
        let open: Vec<&str> = declared
            .iter()
            .filter(|c| {
                c.ty == ScalarType::I1
                    && k.configs
                        .iter()
                        .any(|g| !g.cpu_only && !g.consts.iter().any(|(n, _)| *n == c.name))
            })
            .map(|c| c.name.as_str())
            .collect();
        let (flags, other_flags): (Vec<&str>, Vec<&str>) =
            open.iter().partition(|f| k.flags.iter().any(|g| g == *f));
        out.policies.push(Policy {
            path: k.path.clone(),
            flags: flags.into_iter().map(str::to_string).collect(),
            other_flags: other_flags.into_iter().map(str::to_string).collect(),
            gpu_configs: k.configs.iter().filter(|c| !c.cpu_only).count(),
            cpu_configs: k.configs.iter().filter(|c| c.cpu_only).count(),
        });
        let not_built = |out: &mut Prebuild, consts: String, reason: String| {
            out.not_built.push(NotBuilt {
                path: k.path.clone(),
                consts,
                reason,
            })
        };
        if k.configs.is_empty() {
            not_built(&mut out, "-".into(), "no declared configurations".into());
        }
        for config in &k.configs {
            if let Some((n, _)) = config
                .consts
                .iter()
                .find(|(n, _)| !declared.iter().any(|c| c.name == *n))
            {
                return Err(fail(format!(
                    "a configuration binds `{n}`, which is not a compile-time parameter of `{}`",
                    k.name
                )));
            }
            let mut own = config.consts.clone();
            own.sort_by_key(|(n, _)| declared.iter().position(|c| c.name == *n));
            if config.cpu_only {
                not_built(
                    &mut out,
                    describe_consts(&own),
                    "cpu_only configuration (the interpreter's; on a GPU it needs the `jit` feature)"
                        .into(),
                );
                continue;
            }
            for consts in prebuild_variants(&own, declared, &k.flags) {
                let shown = describe_consts(&consts);
                let unbound: Vec<&str> = declared
                    .iter()
                    .filter(|c| !consts.iter().any(|(n, _)| *n == c.name))
                    .map(|c| c.name.as_str())
                    .collect();
                if !unbound.is_empty() {
                    not_built(
                        &mut out,
                        shown,
                        format!("{unbound:?} are bound at launch time"),
                    );
                    continue;
                }
                let optimized = match optimize(&module, &k.name, &consts) {
                    Ok(m) => m,
                    Err(e) => {
                        not_built(&mut out, shown, e);
                        continue;
                    }
                };
                let ir_hash = fingerprint(&optimized);
                for &arch in archs {
                    let opts = LowerOptions {
                        arch,
                        num_warps: config.num_warps,
                    };
                    match lower_to_ptx(&optimized, &k.name, opts) {
                        Ok(ptx) => out.built.push(Built {
                            path: k.path.clone(),
                            kernel: k.name.clone(),
                            consts: shown.clone(),
                            arch,
                            ir_hash,
                            source_hash,
                            num_warps: config.num_warps,
                            ptx,
                        }),
                        Err(e) => {
                            not_built(&mut out, shown, format!("{}: {}", arch.name(), e.0));
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
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

/// A manifest table cell: no `|`, no newline.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The PTX without its `.version` and `.target` lines.
fn body_of(ptx: &str) -> impl Iterator<Item = &str> {
    ptx.lines()
        .filter(|l| !l.starts_with(".version ") && !l.starts_with(".target "))
}

/// The older architecture whose PTX for the same variant is the same code
/// (only `.version` and `.target` differ; `sm_86` and `sm_89` usually match
/// `sm_80`): only that one is written and embedded, and a device of `b`'s
/// architecture runs it.
pub fn same_as_older(prebuild: &Prebuild, b: &Built) -> Option<Arch> {
    let (major, minor) = b.arch.compute_capability();
    let next = Arch::candidates_for_device(major, minor)
        .into_iter()
        .find(|a| *a != b.arch)?;
    let older = prebuild
        .built
        .iter()
        .find(|o| o.arch == next && o.ir_hash == b.ir_hash && o.kernel == b.kernel)?;
    if !body_of(&older.ptx).eq(body_of(&b.ptx)) {
        return None;
    }
    // Follow the chain: sm_89 may match sm_86, which itself runs sm_80's.
    Some(same_as_older(prebuild, older).unwrap_or(next))
}

/// Writes the PTX files, `index.rs` and `manifest.md` under `dir`
/// (replacing what a previous prebuild left there) and returns how many PTX
/// files it wrote. `origin` says where the
/// kernels came from, for the manifest's header.
pub fn write(prebuild: &Prebuild, dir: &Path, origin: &str) -> Result<usize, NvptxError> {
    let io = |what: &Path, e: std::io::Error| {
        NvptxError(format!("cannot write {}: {e}", what.display()))
    };
    // For each built PTX, the older arch whose code it repeats (then shared).
    let shared: Vec<Option<Arch>> = prebuild
        .built
        .iter()
        .map(|b| same_as_older(prebuild, b))
        .collect();
    let files = shared.iter().filter(|s| s.is_none()).count();
    for arch in Arch::ALL {
        let sub = dir.join(arch.name());
        if sub.exists() {
            std::fs::remove_dir_all(&sub).map_err(|e| io(&sub, e))?;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    // The table's entries; the header (with their count) is added at the end.
    let mut index = String::new();
    let variants = |path: &str| {
        let mut v: Vec<&str> = prebuild
            .built
            .iter()
            .filter(|b| b.path == path)
            .map(|b| b.consts.as_str())
            .collect();
        v.dedup();
        v.len()
    };
    let mut manifest = format!(
        "# Prebuilt PTX\n\nGenerated by `tilefuse prebuild` from {origin}; CI checks that regenerating gives these bytes.\n\
         {} variant-arch pairs built, in {} PTX files (code equal to an older arch's is shared); \
         {} configurations or variants not built (listed below with why).\n\n\
         ## Kernels\n\nPrebuilt flags are built both ways, other flags `false` only \
         (`#[tile_kernel(prebuild = [..])]`); `cpu_only` configurations get no PTX.\n\n\
         | kernel | flags prebuilt both ways | flags prebuilt false | GPU configs | cpu_only configs | variants built |\n\
         |---|---|---|---|---|---|\n",
        prebuild.built.len(),
        files,
        prebuild.not_built.len()
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    for p in &prebuild.policies {
        let _ = writeln!(
            manifest,
            "| {} | {} | {} | {} | {} | {} |",
            p.path,
            list(&p.flags),
            list(&p.other_flags),
            p.gpu_configs,
            p.cpu_configs,
            variants(&p.path)
        );
    }
    manifest.push_str(
        "\n## Built\n\n| kernel | configuration | arch | warps | file |\n|---|---|---|---|---|\n",
    );
    for (b, &shared) in prebuild.built.iter().zip(&shared) {
        let rel = format!("{}/{}.{:016x}.ptx", b.arch.name(), b.kernel, b.ir_hash);
        if let Some(older) = shared {
            // Neither written nor embedded: the code is the older arch's,
            // which launches on this arch find (`Arch::candidates_for_device`).
            let _ = writeln!(
                manifest,
                "| {} | {} | {} | {} | runs `{}` (same code) |",
                b.path,
                b.consts,
                b.arch.name(),
                b.num_warps,
                rel.replacen(b.arch.name(), older.name(), 1)
            );
            continue;
        }
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| io(&path, e))?;
        std::fs::write(&path, &b.ptx).map_err(|e| io(&path, e))?;
        let _ = writeln!(
            index,
            "    tilefuse_runtime::PrebuiltPtx {{ kernel: {:?}, consts: {:?}, arch: {:?}, ir_hash: 0x{:016x}, source_hash: 0x{:016x}, num_warps: {}, ptx: include_str!({:?}) }},",
            b.kernel,
            b.consts,
            b.arch.name(),
            b.ir_hash,
            b.source_hash,
            b.num_warps,
            rel
        );
        let _ = writeln!(
            manifest,
            "| {} | {} | {} | {} | `{rel}` |",
            b.path,
            b.consts,
            b.arch.name(),
            b.num_warps
        );
    }
    let entries = index.matches("tilefuse_runtime::PrebuiltPtx {").count();
    // A static array: the binary holds one copy of the PTX, however many
    // kernels refer to it (a `const` or a promoted slice would be copied
    // into every codegen unit using it).
    let index = format!(
        "// Generated by `tilefuse prebuild`; do not edit. The facade crate includes this table.\n\
         pub(crate) static TABLE: [tilefuse_runtime::PrebuiltPtx; {entries}] = [\n{index}];\n"
    );
    manifest.push_str("\n## Not built\n\n| kernel | configuration | why |\n|---|---|---|\n");
    for n in &prebuild.not_built {
        let _ = writeln!(
            manifest,
            "| {} | {} | {} |",
            n.path,
            cell(&n.consts),
            cell(&n.reason)
        );
    }
    for (name, text) in [("index.rs", index), ("manifest.md", manifest)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::compile_source;
    use crate::ir::print_module;
    use crate::kernel_dump::{DumpConfig, KernelDump};

    /// `scale` is 1-d (it lowers); `outer` builds a 2-d tile (it does not yet).
    const SRC: &str = r#"
        #[tile_kernel]
        fn scale<const BLOCK: usize>(x: Ptr<f32>, n: i32, #[constexpr] twice: bool, #[constexpr] neg: bool, #[constexpr] W: usize) {
            let offs = program_id(0) * BLOCK + arange::<BLOCK>();
            let mask = offs < n;
            let mut v = load(x + offs, mask, 0.0);
            if twice { v = v * 2.0; }
            if neg { v = -v; }
            store(x + offs, v * W as f32, mask);
        }
        #[tile_kernel]
        fn outer<const B: usize>(x: Ptr<f32>) {
            let a = arange::<B>();
            let t = a[(.., None)] + a[(None, ..)];
            store(x + t, t.cast::<f32>());
        }
    "#;

    fn dump(name: &str, flags: &[&str], configs: Vec<DumpConfig>) -> KernelDump {
        let module = compile_source(SRC, "k.rs").unwrap();
        let only = Module {
            funcs: module
                .funcs
                .iter()
                .filter(|f| f.name == name)
                .cloned()
                .collect(),
        };
        KernelDump {
            path: format!("test::{name}"),
            name: name.into(),
            ir: print_module(&only),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            configs,
        }
    }

    fn config(consts: &[(&str, ConstValue)], cpu_only: bool) -> DumpConfig {
        DumpConfig {
            consts: consts.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            num_warps: 4,
            num_stages: 2,
            cpu_only,
        }
    }

    #[test]
    fn builds_the_policy_variants_and_lists_the_rest() {
        use ConstValue::{Bool, Int};
        let kernels = [
            dump(
                "scale",
                &["twice"],
                vec![
                    config(&[("BLOCK", Int(128)), ("W", Int(3))], false),
                    config(&[("BLOCK", Int(16)), ("W", Int(1))], true),
                    config(&[("BLOCK", Int(64))], false),
                    config(
                        &[("BLOCK", Int(256)), ("W", Int(1)), ("neg", Bool(true))],
                        false,
                    ),
                ],
            ),
            // A tile of 12 elements has no GPU layout (sizes are powers of two).
            dump("outer", &[], vec![config(&[("B", Int(12))], false)]),
        ];
        let archs = [Arch::Sm80, Arch::Sm90a];
        let p = prebuild_dump(&kernels, &archs).unwrap();
        let built: Vec<(String, &str)> = p
            .built
            .iter()
            .map(|b| (b.consts.clone(), b.arch.name()))
            .collect();
        let want = |c: &str| [(c.to_string(), "sm_80"), (c.to_string(), "sm_90a")];
        let expected: Vec<(String, &str)> = [
            "BLOCK = 128, twice = false, neg = false, W = 3",
            "BLOCK = 128, twice = true, neg = false, W = 3",
            "BLOCK = 256, twice = false, neg = true, W = 1",
            "BLOCK = 256, twice = true, neg = true, W = 1",
        ]
        .into_iter()
        .flat_map(want)
        .collect();
        assert_eq!(built, expected);
        for b in &p.built {
            assert!(b.ptx.contains(".entry scale"), "{}", b.ptx);
            assert_eq!(b.path, "test::scale");
        }
        // One fingerprint of the unspecialized kernel; one per variant optimized.
        assert!(
            p.built
                .iter()
                .all(|b| b.source_hash == p.built[0].source_hash)
        );
        let mut hashes: Vec<u64> = p.built.iter().map(|b| b.ir_hash).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), 4);

        let reasons: Vec<(&str, &str, &str)> = p
            .not_built
            .iter()
            .map(|n| (n.path.as_str(), n.consts.as_str(), n.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:#?}");
        assert_eq!(reasons[0].1, "BLOCK = 16, W = 1");
        assert!(reasons[0].2.contains("cpu_only"));
        assert_eq!(reasons[1].1, "BLOCK = 64, twice = false, neg = false");
        assert!(reasons[1].2.contains("[\"W\"] are bound at launch time"));
        assert_eq!(reasons[2].1, "BLOCK = 64, twice = true, neg = false");
        assert_eq!(reasons[3].0, "test::outer");
        assert!(reasons[3].2.contains("power of two"), "{}", reasons[3].2);

        assert_eq!(p.policies[0].flags, ["twice"]);
        assert_eq!(p.policies[0].other_flags, ["neg"]);
        assert_eq!(
            (p.policies[0].gpu_configs, p.policies[0].cpu_configs),
            (3, 1)
        );

        let dir = std::env::temp_dir().join(format!("tilefuse-prebuild-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write(&p, &dir, "a test").unwrap();
        let index = std::fs::read_to_string(dir.join("index.rs")).unwrap();
        assert_eq!(index.matches("PrebuiltPtx {").count(), 8);
        assert!(index.contains(&format!("source_hash: 0x{:016x}", p.built[0].source_hash)));
        let manifest = std::fs::read_to_string(dir.join("manifest.md")).unwrap();
        assert!(
            manifest.contains("| test::scale | twice | neg | 3 | 1 | 4 |"),
            "{manifest}"
        );
        assert!(
            manifest.contains("| test::outer | B = 12 | ") && manifest.contains("power of two"),
            "{manifest}"
        );
        let files = std::fs::read_dir(dir.join("sm_90a")).unwrap().count();
        assert_eq!(files, 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn inconsistent_dumps_are_errors() {
        use ConstValue::Int;
        let e = |k: KernelDump| prebuild_dump(&[k], &[Arch::Sm80]).unwrap_err().0;
        assert!(e(dump("scale", &["W"], vec![])).contains("no `#[constexpr] W: bool`"));
        assert!(
            e(dump("scale", &[], vec![config(&[("BLOK", Int(1))], false)]))
                .contains("binds `BLOK`")
        );
        let mut k = dump("scale", &[], vec![]);
        k.name = "nope".into();
        assert!(e(k).contains("no kernel `nope`"));
        let mut k = dump("scale", &[], vec![]);
        k.ir = "garbage".into();
        assert!(e(k).contains("does not parse"));
    }
}
