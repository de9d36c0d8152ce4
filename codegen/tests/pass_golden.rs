//! The tile pipeline through the public API: it runs over every op of the
//! dialect (`golden/all_ops.tir`), leaves no calls in kernels, prints text
//! that parses back, and a second run changes nothing. Per-pass golden
//! cases live beside the passes (`src/passes/golden.rs`).

use tilefuse_codegen::ir::{FuncKind, OpKind, parse_module, print_module};
use tilefuse_codegen::passes::pipeline::{
    PassError, PipelineOptions, TILE_PIPELINE, keep_only_kernel, run_passes, run_tile_pipeline,
};

const ALL_OPS: &str = include_str!("golden/all_ops.tir");

#[test]
fn pipeline_runs_over_every_op() {
    let mut m = parse_module(ALL_OPS).unwrap();
    run_tile_pipeline(&mut m).unwrap();
    let kernel = &m.funcs[0];
    assert_eq!(kernel.kind, FuncKind::Kernel);
    let ops = kernel.body.walk(kernel.body.entry());
    assert!(
        ops.iter()
            .all(|&op| kernel.body.op(op).kind != OpKind::Call)
    );
    // Side effects survive: stores, atomics, prints, asserts.
    for kind in [
        OpKind::Store,
        OpKind::DescStore,
        OpKind::AtomicRmw,
        OpKind::AtomicCas,
        OpKind::Print,
        OpKind::Assert,
        OpKind::StaticAssert,
        OpKind::While,
    ] {
        assert!(
            ops.iter().any(|&op| kernel.body.op(op).kind == kind),
            "{kind} was removed"
        );
    }
    let printed = print_module(&m);
    assert_eq!(print_module(&parse_module(&printed).unwrap()), printed);
    let mut again = parse_module(&printed).unwrap();
    run_passes(&mut again, &TILE_PIPELINE, &PipelineOptions::default()).unwrap();
    assert_eq!(print_module(&again), printed, "the pipeline is idempotent");
}

#[test]
fn pipeline_errors_name_pass_and_location() {
    let src = r#"tile.kernel @k() loc("k.rs":1:1) {
  %t = tile.constant {value = 64} : i32 loc("k.rs":2:1)
  %ok = tile.call %t {callee = "small"} : i1 loc("k.rs":3:1)
  tile.static_assert %ok {msg = "BLOCK too large"} loc("k.rs":4:5)
  tile.return loc("k.rs":1:1)
}

tile.func @small(%b: i32) -> (i1) loc("f.rs":1:1) {
  %lim = tile.constant {value = 32} : i32 loc("f.rs":2:1)
  %r = tile.cmp %b, %lim {pred = "le"} : i1 loc("f.rs":2:1)
  tile.return %r loc("f.rs":2:1)
}
"#;
    let mut m = parse_module(src).unwrap();
    let err: PassError = run_tile_pipeline(&mut m).unwrap_err();
    assert_eq!(err.pass, "canonicalize");
    assert_eq!(
        err.to_string(),
        "canonicalize: k.rs:4:5: static assertion failed: BLOCK too large"
    );
}

#[test]
fn keep_only_kernel_needs_inlined_calls_then_drops_the_rest() {
    let mut m = parse_module(ALL_OPS).unwrap();
    let err = keep_only_kernel(&mut m.clone(), "every_op")
        .unwrap_err()
        .to_string();
    assert!(err.contains("still calls a function"), "{err}");
    assert!(
        keep_only_kernel(&mut m.clone(), "nope")
            .unwrap_err()
            .to_string()
            .contains("no function `nope`")
    );
    run_tile_pipeline(&mut m).unwrap();
    keep_only_kernel(&mut m, "every_op").unwrap();
    let names: Vec<&str> = m.funcs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["every_op"]);
}
