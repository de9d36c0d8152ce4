//! `tilefuse`: the compiler's command line.
//!
//! ```text
//! tilefuse prebuild --ir DUMP [--out DIR] [--arch sm_XX]...    (feature `llvm`)
//! tilefuse dump FILE.rs [--kernel K] [--const NAME=V]... [--stage tile|specialized|optimized|gpu|ptx|all]
//! ```
//!
//! `prebuild` compiles the bundled kernels to PTX from a kernel dump (the
//! facade's registry written by `cargo run -p tilefuse --example
//! dump_kernels -- DUMP`; see `tilefuse_codegen::nvptx::prebuild` and
//! `scripts/prebuild.sh`).
//!
//! `dump` reads a Rust source file, builds every `#[tile_kernel]` and
//! `#[tile_fn]` in it into tile IR (the same frontend the macro runs) and
//! prints the IR at the requested stage:
//!
//! - `tile`: as the frontend built it, compile-time parameters symbolic;
//! - `specialized`: after binding `--const` values (needs `--kernel` when the
//!   file has several kernels);
//! - `optimized`: after the tile pipeline (inline, canonicalize, CSE, DCE),
//!   the kernel alone (its device functions are inlined);
//! - `gpu`: the optimized kernel after the GPU passes for `--arch` and
//!   `--num-warps` (every tile value's layout, conversions, shared memory,
//!   barriers: what the lowering sees);
//! - `ptx`: the PTX of the optimized kernel for `--arch` (default `sm_80`)
//!   with `--num-warps` warps (default 4); needs the `llvm` feature;
//! - `all`: tile, specialized and optimized in turn, headed by `// ----- <stage>`.

use std::process::ExitCode;

use tilefuse_codegen::frontend::compile_source;
use tilefuse_codegen::ir::{ConstValue, FuncKind, Module, print_module};
use tilefuse_codegen::passes::pipeline::{keep_only_kernel, run_tile_pipeline};
use tilefuse_codegen::passes::specialize;

const USAGE: &str = "usage: tilefuse dump FILE.rs [--kernel K] [--const NAME=V]... [--stage tile|specialized|optimized|gpu|ptx|all] [--arch sm_80] [--num-warps 4]";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Tile,
    Specialized,
    Optimized,
    Gpu,
    Ptx,
    All,
}

struct DumpArgs {
    file: String,
    kernel: Option<String>,
    consts: Vec<(String, ConstValue)>,
    stage: Stage,
    arch: String,
    num_warps: u32,
}

fn parse_const(s: &str) -> Result<(String, ConstValue), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("--const wants NAME=VALUE, got `{s}`"))?;
    let value =
        match value {
            "true" => ConstValue::Bool(true),
            "false" => ConstValue::Bool(false),
            v => ConstValue::Int(v.parse().map_err(|_| {
                format!("--const {name}: `{v}` is neither an integer nor true/false")
            })?),
        };
    Ok((name.to_string(), value))
}

fn parse_args(args: &[String]) -> Result<DumpArgs, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("dump") => {}
        Some(other) => return Err(format!("unknown command `{other}`\n{USAGE}")),
        None => return Err(USAGE.to_string()),
    }
    let mut out = DumpArgs {
        file: String::new(),
        kernel: None,
        consts: Vec::new(),
        stage: Stage::Tile,
        arch: "sm_80".to_string(),
        num_warps: 4,
    };
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--kernel" => out.kernel = Some(value("--kernel")?),
            "--const" => out.consts.push(parse_const(&value("--const")?)?),
            "--stage" => {
                out.stage = match value("--stage")?.as_str() {
                    "tile" => Stage::Tile,
                    "specialized" => Stage::Specialized,
                    "optimized" => Stage::Optimized,
                    "gpu" => Stage::Gpu,
                    "ptx" => Stage::Ptx,
                    "all" => Stage::All,
                    s => {
                        return Err(format!(
                            "unknown stage `{s}`: use tile, specialized, optimized, gpu, ptx or all"
                        ));
                    }
                }
            }
            "--arch" => out.arch = value("--arch")?,
            "--num-warps" => {
                let v = value("--num-warps")?;
                out.num_warps = v
                    .parse()
                    .map_err(|_| format!("--num-warps wants a number, got `{v}`"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option `{s}`\n{USAGE}")),
            s if out.file.is_empty() => out.file = s.to_string(),
            s => return Err(format!("unexpected argument `{s}`\n{USAGE}")),
        }
    }
    if out.file.is_empty() {
        return Err(format!("dump needs a FILE.rs\n{USAGE}"));
    }
    Ok(out)
}

/// Keeps only the chosen kernel and the device functions.
fn only_kernel(module: &Module, kernel: &str) -> Module {
    Module {
        funcs: module
            .funcs
            .iter()
            .filter(|f| f.name == kernel || f.kind == FuncKind::Device)
            .cloned()
            .collect(),
    }
}

fn dump(args: &DumpArgs) -> Result<String, String> {
    let src = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file))?;
    let module = compile_source(&src, &args.file).map_err(|e| e.to_string())?;
    let kernels: Vec<&str> = module
        .funcs
        .iter()
        .filter(|f| f.kind == FuncKind::Kernel)
        .map(|f| f.name.as_str())
        .collect();
    let kernel = match (&args.kernel, kernels.as_slice()) {
        (Some(k), _) if kernels.contains(&k.as_str()) => Some(k.clone()),
        (Some(k), _) => {
            return Err(format!(
                "no kernel `{k}` in {}; it has {kernels:?}",
                args.file
            ));
        }
        (None, [only]) => Some(only.to_string()),
        (None, _) => None,
    };
    let mut out = String::new();
    let all = args.stage == Stage::All;
    let tile = match &kernel {
        Some(k) if args.kernel.is_some() => only_kernel(&module, k),
        _ => module.clone(),
    };
    if args.stage == Stage::Tile || all {
        if all {
            out.push_str("// ----- tile\n");
        }
        out.push_str(&print_module(&tile));
    }
    if args.stage == Stage::Tile {
        return Ok(out);
    }
    let Some(kernel) = kernel else {
        return Err(format!(
            "{} has several kernels {kernels:?}; choose one with --kernel",
            args.file
        ));
    };
    let mut specialized = specialize(&only_kernel(&module, &kernel), &kernel, &args.consts)
        .map_err(|e| e.to_string())?;
    if args.stage == Stage::Specialized || all {
        if all {
            out.push_str("// ----- specialized\n");
        }
        out.push_str(&print_module(&specialized));
    }
    if args.stage == Stage::Specialized {
        return Ok(out);
    }
    run_tile_pipeline(&mut specialized).map_err(|e| e.to_string())?;
    keep_only_kernel(&mut specialized, &kernel).map_err(|e| e.to_string())?;
    if args.stage == Stage::Optimized || all {
        if all {
            out.push_str("// ----- optimized\n");
        }
        out.push_str(&print_module(&specialized));
    }
    if args.stage == Stage::Gpu {
        let arch = arch_of(args)?;
        let mut m = specialized.clone();
        for f in &mut m.funcs {
            tilefuse_codegen::gpu::pipeline::run_gpu_pipeline(f, arch, args.num_warps)
                .map_err(|e| e.to_string())?;
        }
        out.push_str(&print_module(&m));
    }
    if args.stage == Stage::Ptx {
        out.push_str(&ptx(&specialized, &kernel, args)?);
    }
    Ok(out)
}

/// The `--arch` target.
fn arch_of(args: &DumpArgs) -> Result<tilefuse_codegen::arch::Arch, String> {
    use tilefuse_codegen::arch::Arch;
    Arch::from_name(&args.arch).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        format!("unknown --arch `{}`: use one of {names:?}", args.arch)
    })
}

/// The PTX of the optimized kernel (the NVPTX backend, feature `llvm`).
#[cfg(feature = "llvm")]
fn ptx(module: &Module, kernel: &str, args: &DumpArgs) -> Result<String, String> {
    use tilefuse_codegen::nvptx::lower::{LowerOptions, lower_to_ptx};
    let arch = arch_of(args)?;
    lower_to_ptx(
        module,
        kernel,
        LowerOptions {
            arch,
            num_warps: args.num_warps,
        },
    )
    .map_err(|e| e.to_string())
}

/// Without the NVPTX backend there is no PTX stage.
#[cfg(not(feature = "llvm"))]
fn ptx(_: &Module, _: &str, _: &DumpArgs) -> Result<String, String> {
    Err("this tilefuse was built without the NVPTX backend: build it with `--features llvm` for --stage ptx".to_string())
}

/// `tilefuse prebuild --ir DUMP [--out DIR] [--arch sm_XX]...`: PTX of every
/// prebuilt variant of the dumped kernels for every architecture (all five
/// by default).
#[cfg(feature = "llvm")]
fn prebuild(args: &[String]) -> Result<String, String> {
    use tilefuse_codegen::kernel_dump::read_dump;
    use tilefuse_codegen::nvptx::Arch;
    use tilefuse_codegen::nvptx::prebuild::{prebuild_dump, write};
    let mut out_dir = "ptx".to_string();
    let mut archs: Vec<Arch> = Vec::new();
    let mut ir: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out_dir = it.next().cloned().ok_or("--out needs a folder")?,
            "--ir" => ir = Some(it.next().cloned().ok_or("--ir needs a folder")?),
            "--arch" => {
                let name = it.next().ok_or("--arch needs a name")?;
                archs.push(Arch::from_name(name).ok_or_else(|| {
                    let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
                    format!("unknown --arch `{name}`: use one of {names:?}")
                })?);
            }
            s if s.starts_with('-') => {
                return Err(format!("unknown option `{s}`\n{PREBUILD_USAGE}"));
            }
            s => return Err(not_a_dump(s)),
        }
    }
    let Some(ir) = ir else {
        return Err(format!("prebuild needs --ir DUMP\n{PREBUILD_USAGE}"));
    };
    if archs.is_empty() {
        archs = Arch::ALL.to_vec();
    }
    let kernels = read_dump(std::path::Path::new(&ir)).map_err(|e| e.to_string())?;
    let all = prebuild_dump(&kernels, &archs).map_err(|e| e.to_string())?;
    let files = write(
        &all,
        std::path::Path::new(&out_dir),
        "the bundled kernels' registry (`src/kernels/registry.rs`, dumped by `examples/dump_kernels.rs`)",
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "built {} variant-arch pairs of {} kernels into {out_dir}/ ({} files: code equal to an older arch's is shared; {} configurations or variants not built: see {out_dir}/manifest.md)\n",
        all.built.len(),
        kernels.len(),
        files,
        all.not_built.len()
    ))
}

/// Without the NVPTX backend there is nothing to prebuild.
#[cfg(not(feature = "llvm"))]
fn prebuild(args: &[String]) -> Result<String, String> {
    if let Some(file) = args.iter().find(|a| a.ends_with(".rs")) {
        return Err(not_a_dump(file));
    }
    Err(format!(
        "this tilefuse was built without the NVPTX backend: build it with `--features llvm` to prebuild\n{PREBUILD_USAGE}"
    ))
}

/// The error for a positional argument: prebuild reads a kernel dump, not sources.
fn not_a_dump(arg: &str) -> String {
    format!(
        "prebuild reads a kernel dump (--ir DUMP), not `{arg}`: `macro_rules!`-stamped kernels are \
         only visible after macro expansion, so the dump comes from the facade's registry \
         (`cargo run -p tilefuse --example dump_kernels -- DUMP`; scripts/prebuild.sh does both \
         steps). For one kernel of a source file, `tilefuse dump FILE.rs --kernel K --const N=V \
         --stage ptx` prints its PTX.\n{PREBUILD_USAGE}"
    )
}

const PREBUILD_USAGE: &str = "usage: tilefuse prebuild --ir DUMP [--out DIR] [--arch sm_XX]...   (DUMP: see examples/dump_kernels.rs)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("prebuild") => prebuild(&args[1..]),
        _ => parse_args(&args).and_then(|a| dump(&a)),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tilefuse: {e}");
            ExitCode::FAILURE
        }
    }
}
