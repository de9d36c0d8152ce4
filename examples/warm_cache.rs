//! Fills the PTX disk cache with bundled kernels' variants for given
//! architectures, so that a machine without LLVM (a GPU box, a container)
//! can launch variants that are not prebuilt: the runtime reads the cache
//! whether or not it was built with `jit`.
//!
//! ```sh
//! cargo run --release --features jit --example warm_cache -- \
//!     --dir CACHE [--arch sm_90a]... [--all-flags] [--only SUBSTRING] [--variants FILE]
//! ```
//!
//! `--variants FILE` adds variants that are not declared configurations
//! (block sizes an API picks from the data): one per line, tab-separated,
//! the kernel's name, the fingerprint of its unspecialized IR in hex (kernels
//! stamped per element type share a name) and its values as launch errors
//! show them (`BN = 32, BD = 16, causal = true`).
//!
//! By default each kernel's prebuild policy is followed (its prebuilt flags
//! both ways, the other bools false); `--all-flags` builds every
//! `#[constexpr] bool` both ways. `cpu_only` configurations are skipped.
//! Point `TILEFUSE_CACHE_DIR` at CACHE where the kernels run.

use std::process::ExitCode;

use tilefuse::codegen::arch::Arch;
use tilefuse::codegen::frontend::configs::prebuild_variants;
use tilefuse::codegen::ir::{ConstValue, ScalarType, describe_consts, fingerprint, parse_module};
use tilefuse::kernels::registry::bundled;
use tilefuse::runtime::jit::{PtxCache, compile_ptx};

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo run --release --features jit --example warm_cache -- \
         --dir CACHE [--arch sm_90a]... [--all-flags] [--only SUBSTRING] [--variants FILE]"
    );
    ExitCode::FAILURE
}

/// A `--variants` line: kernel name, source fingerprint, values.
type Listed = (String, u64, Vec<(String, ConstValue)>);

/// Reads a `--variants` file (see the module doc).
fn listed_variants(file: &str) -> Result<Vec<Listed>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |what: &str| format!("{file}:{}: {what}: `{line}`", i + 1);
        let cells: Vec<&str> = line.split('\t').collect();
        let [name, hash, consts] = cells.as_slice() else {
            return Err(bad("expected three tab-separated fields"));
        };
        let hash = u64::from_str_radix(hash.trim(), 16).map_err(|_| bad("bad fingerprint"))?;
        let mut values = Vec::new();
        for part in consts.split(", ").filter(|p| !p.trim().is_empty()) {
            let (n, v) = part
                .split_once(" = ")
                .ok_or_else(|| bad("expected `NAME = value`"))?;
            let v = match v.trim() {
                "true" => ConstValue::Bool(true),
                "false" => ConstValue::Bool(false),
                other => ConstValue::Int(other.parse().map_err(|_| bad("bad value"))?),
            };
            values.push((n.trim().to_string(), v));
        }
        out.push((name.trim().to_string(), hash, values));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let mut dir = None;
    let mut archs: Vec<Arch> = Vec::new();
    let mut all_flags = false;
    let mut only: Option<String> = None;
    let mut variants_file: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next(),
            "--arch" => match args
                .next()
                .and_then(|n| Arch::ALL.into_iter().find(|a| a.name() == n))
            {
                Some(arch) => archs.push(arch),
                None => {
                    eprintln!("warm_cache: --arch takes one of sm_75, sm_80, sm_86, sm_89, sm_90a");
                    return ExitCode::FAILURE;
                }
            },
            "--all-flags" => all_flags = true,
            "--only" => only = args.next(),
            "--variants" => variants_file = args.next(),
            _ => return usage(),
        }
    }
    let Some(dir) = dir else {
        return usage();
    };
    if archs.is_empty() {
        archs.push(Arch::Sm90a);
    }
    let cache = PtxCache::new(&dir);
    let (mut built, mut failed) = (0usize, 0usize);
    for k in bundled() {
        if only.as_ref().is_some_and(|o| !k.path.contains(o.as_str())) {
            continue;
        }
        let module = match parse_module(k.source.ir) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{}: the embedded IR does not parse: {e}", k.path);
                failed += 1;
                continue;
            }
        };
        let Some(func) = module.func(k.source.name) else {
            eprintln!("{}: no kernel `{}` in its IR", k.path, k.source.name);
            failed += 1;
            continue;
        };
        let flags: Vec<String> = if all_flags {
            func.consts
                .iter()
                .filter(|c| c.ty == ScalarType::I1)
                .map(|c| c.name.clone())
                .collect()
        } else {
            k.source
                .prebuilt_flags
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        for config in k.source.configs.iter().filter(|c| !c.cpu_only) {
            let values: Vec<(String, ConstValue)> = config
                .consts
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect();
            for variant in prebuild_variants(&values, &func.consts, &flags) {
                let consts: Vec<(&str, ConstValue)> =
                    variant.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                for &arch in &archs {
                    match compile_ptx(&k.source, &consts, arch, Some(&cache)) {
                        Ok(_) => built += 1,
                        Err(e) => {
                            failed += 1;
                            eprintln!(
                                "{} [{}] on {}: {e}",
                                k.path,
                                describe_consts(&variant),
                                arch.name()
                            );
                        }
                    }
                }
            }
        }
    }
    if let Some(file) = variants_file {
        match listed_variants(&file) {
            Ok(list) => {
                for (name, source_hash, consts) in list {
                    let found = bundled().into_iter().find(|k| {
                        k.source.name == name
                            && parse_module(k.source.ir)
                                .is_ok_and(|m| fingerprint(&m) == source_hash)
                    });
                    let Some(k) = found else {
                        eprintln!(
                            "{file}: no bundled kernel `{name}` with fingerprint {source_hash:016x}"
                        );
                        failed += 1;
                        continue;
                    };
                    let named: Vec<(&str, ConstValue)> =
                        consts.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                    for &arch in &archs {
                        match compile_ptx(&k.source, &named, arch, Some(&cache)) {
                            Ok(_) => built += 1,
                            Err(e) => {
                                failed += 1;
                                eprintln!(
                                    "{} [{}] on {}: {e}",
                                    k.path,
                                    describe_consts(&consts),
                                    arch.name()
                                );
                            }
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("warm_cache: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("warm_cache: {built} variants in {dir}, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
