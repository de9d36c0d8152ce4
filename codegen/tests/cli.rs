//! The `tilefuse` command line: `dump` at every stage, and its errors.

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
