//! The `tilefuse` command line: `dump` at every stage, `prebuild` of a kernel dump, and their errors.

use std::process::Command;

fn tilefuse(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tilefuse"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the tilefuse binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FILE: &str = "tests/data/softmax.rs";

#[test]
fn dump_tile_prints_every_function_symbolically() {
    let (ok, out, err) = tilefuse(&["dump", FILE]);
    assert!(ok, "{err}");
    assert!(out.contains("tile.kernel @softmax<BLOCK: i32>("), "{out}");
    assert!(out.contains("tile.kernel @scale<twice: i1>("), "{out}");
    assert!(out.contains("tile<{BLOCK}xi32>"), "{out}");
    assert!(out.contains("tile.reduce"), "{out}");
    // The output is the IR's textual form: it parses back.
    tilefuse_codegen::ir::parse_module(&out).expect("dump output parses");
}

#[test]
fn dump_specialized_and_optimized_bind_the_constants() {
    let (ok, out, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "softmax",
        "--const",
        "BLOCK=256",
        "--stage",
        "specialized",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("tile.kernel @softmax("), "{out}");
    assert!(out.contains("tile<256xi32>"), "{out}");
    assert!(!out.contains("{BLOCK}"), "{out}");

    // softmax calls the tile_fn row_max: inlined and gone once optimized.
    let (ok, out, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "softmax",
        "--const",
        "BLOCK=256",
        "--stage",
        "optimized",
    ]);
    assert!(ok, "{err}");
    assert!(
        !out.contains("tile.call") && !out.contains("tile.func"),
        "{out}"
    );
    assert!(out.contains("kind = \"max\""), "{out}");

    let (ok, out, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "scale",
        "--const",
        "twice=true",
        "--stage",
        "all",
    ]);
    assert!(ok, "{err}");
    for stage in [
        "// ----- tile",
        "// ----- specialized",
        "// ----- optimized",
    ] {
        assert!(out.contains(stage), "{out}");
    }
    let optimized = out.split("// ----- optimized").nth(1).unwrap();
    assert!(
        !optimized.contains("tile.func"),
        "device functions are inlined and dropped:\n{optimized}"
    );
    assert!(
        !optimized.contains("tile.if"),
        "the constexpr branch folds away:\n{optimized}"
    );
    assert!(optimized.contains("tile.mul"), "{optimized}");
}

#[test]
fn dump_errors_say_what_would_work() {
    let cases: [(&[&str], &str); 6] = [
        (&["dump"], "dump needs a FILE.rs"),
        (&["frobnicate"], "unknown command `frobnicate`"),
        (&["dump", FILE, "--stage", "sass"], "unknown stage `sass`"),
        (&["dump", FILE, "--kernel", "nope"], "no kernel `nope`"),
        (
            &["dump", FILE, "--stage", "specialized"],
            "choose one with --kernel",
        ),
        (
            &["dump", FILE, "--kernel", "softmax", "--stage", "optimized"],
            "not bound",
        ),
    ];
    for (args, want) in cases {
        let (ok, _, err) = tilefuse(args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            err.contains(want),
            "{args:?}: `{err}` should contain `{want}`"
        );
    }
    let (ok, _, err) = tilefuse(&["dump", "tests/data/missing.rs"]);
    assert!(
        !ok && err.contains("cannot read tests/data/missing.rs"),
        "{err}"
    );
}

#[cfg(not(feature = "llvm"))]
#[test]
fn ptx_stage_needs_the_backend() {
    let (ok, _, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "softmax",
        "--const",
        "BLOCK=128",
        "--stage",
        "ptx",
    ]);
    assert!(
        !ok && err.contains("built without the NVPTX backend"),
        "{err}"
    );
}

#[cfg(feature = "llvm")]
#[test]
fn nvptx_ptx_stage_emits_the_kernel() {
    let (ok, out, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "softmax",
        "--const",
        "BLOCK=128",
        "--stage",
        "ptx",
        "--arch",
        "sm_90a",
        "--num-warps",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(".target sm_90a")
            && out.contains(".entry softmax")
            && out.contains(".maxntid 64"),
        "{out}"
    );
    let (ok, _, err) = tilefuse(&[
        "dump",
        FILE,
        "--kernel",
        "softmax",
        "--const",
        "BLOCK=128",
        "--stage",
        "ptx",
        "--arch",
        "sm_70",
    ]);
    assert!(!ok && err.contains("unknown --arch `sm_70`"), "{err}");
}

#[test]
fn prebuild_reads_a_kernel_dump_not_sources() {
    let (ok, _, err) = tilefuse(&["prebuild", FILE]);
    assert!(!ok, "prebuild of a source file must fail");
    assert!(
        err.contains("prebuild reads a kernel dump") && err.contains("dump_kernels"),
        "{err}"
    );
}

/// A dump of `FILE`'s two kernels: `softmax` with its configuration, `scale`
/// with one GPU configuration and one `cpu_only` one, and `twice` prebuilt.
#[cfg(feature = "llvm")]
fn write_test_dump(dir: &std::path::Path) {
    use tilefuse_codegen::frontend::compile_source;
    use tilefuse_codegen::ir::{ConstValue, Module, print_module};
    use tilefuse_codegen::kernel_dump::{DumpConfig, KernelDump, write_dump};
    let src = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE))
        .unwrap();
    let module = compile_source(&src, FILE).unwrap();
    let ir = |name: &str| {
        print_module(&Module {
            funcs: module
                .funcs
                .iter()
                .filter(|f| f.name == name || f.name == "row_max")
                .cloned()
                .collect(),
        })
    };
    let config = |consts: Vec<(String, ConstValue)>, cpu_only| DumpConfig {
        consts,
        num_warps: 4,
        num_stages: 2,
        cpu_only,
    };
    let kernels = [
        KernelDump {
            path: "data::softmax".into(),
            name: "softmax".into(),
            ir: ir("softmax"),
            flags: vec![],
            configs: vec![config(vec![("BLOCK".into(), ConstValue::Int(128))], false)],
        },
        KernelDump {
            path: "data::scale".into(),
            name: "scale".into(),
            ir: ir("scale"),
            flags: vec!["twice".into()],
            configs: vec![config(vec![], false), config(vec![], true)],
        },
    ];
    write_dump(&kernels, dir).unwrap();
}

#[cfg(feature = "llvm")]
#[test]
fn prebuild_builds_a_dump_for_the_chosen_archs() {
    let tmp = std::env::temp_dir().join(format!("tilefuse-cli-prebuild-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (dump, out) = (tmp.join("dump"), tmp.join("ptx"));
    write_test_dump(&dump);
    let (ok, stdout, err) = tilefuse(&[
        "prebuild",
        "--ir",
        dump.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--arch",
        "sm_80",
        "--arch",
        "sm_90a",
    ]);
    assert!(ok, "{err}");
    // softmax once, scale with twice = false and true: 3 variants on 2 archs.
    assert!(
        stdout.contains("built 6 variant-arch pairs of 2 kernels") && stdout.contains("(6 files"),
        "{stdout}"
    );
    let count = |arch: &str| std::fs::read_dir(out.join(arch)).map_or(0, |d| d.count());
    assert_eq!((count("sm_80"), count("sm_90a"), count("sm_75")), (3, 3, 0));
    let index = std::fs::read_to_string(out.join("index.rs")).unwrap();
    assert_eq!(index.matches("source_hash: 0x").count(), 6, "{index}");
    let manifest = std::fs::read_to_string(out.join("manifest.md")).unwrap();
    assert!(
        manifest.contains("| data::scale | twice = true | sm_90a | 4 |"),
        "{manifest}"
    );
    assert!(
        manifest.contains("| data::scale | no constants | cpu_only"),
        "{manifest}"
    );

    let (ok, _, err) = tilefuse(&["prebuild", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("prebuild needs --ir DUMP"), "{err}");
    let (ok, _, err) = tilefuse(&["prebuild", "--ir", tmp.join("nope").to_str().unwrap()]);
    assert!(!ok && err.contains("kernels.txt"), "{err}");
    let (ok, _, err) = tilefuse(&[
        "prebuild",
        "--ir",
        dump.to_str().unwrap(),
        "--arch",
        "sm_70",
    ]);
    assert!(!ok && err.contains("unknown --arch `sm_70`"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}
