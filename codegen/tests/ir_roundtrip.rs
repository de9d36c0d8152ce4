//! The textual IR prints and parses back exactly, for every op of the tile dialect.

use std::collections::HashSet;

use tilefuse_codegen::ir::{OpKind, parse_module, print_module};

const ALL_OPS: &str = include_str!("golden/all_ops.tir");

#[test]
fn every_op_round_trips_exactly() {
    let module = parse_module(ALL_OPS).expect("golden text parses");
    assert_eq!(print_module(&module), ALL_OPS);
    let again = parse_module(&print_module(&module)).expect("printed text parses");
    assert_eq!(print_module(&again), ALL_OPS);
}

#[test]
fn golden_text_covers_every_op() {
    let module = parse_module(ALL_OPS).expect("golden text parses");
    let mut seen = HashSet::new();
    for f in &module.funcs {
        for op in f.body.walk(f.body.entry()) {
            seen.insert(f.body.op(op).kind);
        }
    }
    let missing: Vec<String> = OpKind::all()
        .into_iter()
        .filter(|k| !seen.contains(k))
        .map(|k| k.to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "ops missing from the golden text: {missing:?}"
    );
}

#[test]
fn unnamed_values_renumber_and_names_stay() {
    let text = "tile.kernel @k(%p: ptr<f32, global>) loc(unknown) {\n  %7 = tile.constant {value = 1.5} : f32 loc(unknown)\n  %x = tile.constant {value = 2} : i32 loc(unknown)\n  tile.store %p, %7 loc(unknown)\n  tile.return loc(unknown)\n}\n";
    let printed = print_module(&parse_module(text).unwrap());
    assert!(
        printed.contains("%0 = tile.constant {value = 1.5} : f32"),
        "{printed}"
    );
    assert!(
        printed.contains("%x = tile.constant {value = 2} : i32"),
        "{printed}"
    );
    assert!(printed.contains("tile.store %p, %0"), "{printed}");
}

#[test]
fn errors_name_line_and_column() {
    let cases = [
        (
            "tile.kernel @k() loc(unknown) {\n  tile.bogus loc(unknown)\n}\n",
            "2:3: unknown op `tile.bogus`",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n  tile.store %nope loc(unknown)\n}\n",
            "2:14: use of undefined value %nope",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n  %a = tile.constant {value = 1} : tile<8xq32> loc(unknown)\n}\n",
            "expected a tile element type",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n  %a, %b = tile.constant {value = 1} : i32 loc(unknown)\n}\n",
            "names 2 results but gives 1 result types",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n  tile.return loc(unknown)\n",
            "missing `}` at the end of a region",
        ),
        (
            "tile.kernel @k(%a: i32, %a: i32) loc(unknown) {\n}\n",
            "value %a is defined twice",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n}\ntile.kernel @k() loc(unknown) {\n}\n",
            "function @k is defined twice",
        ),
        (
            "tile.kernel @k() loc(unknown) {\n  %a = tile.constant {value = 99999999999999999999} : i64 loc(unknown)\n}\n",
            "does not fit in i64",
        ),
    ];
    for (text, want) in cases {
        let err = parse_module(text).expect_err(text).to_string();
        assert!(err.contains(want), "error `{err}` should contain `{want}`");
    }
}

#[test]
fn special_floats_and_strings_round_trip() {
    let text = "tile.kernel @k() loc(\"a \\\"b\\\".rs\":1:2) {\n  %0 = tile.constant {value = nan} : f32 loc(unknown)\n  %1 = tile.constant {value = -0.0} : f64 loc(unknown)\n  %2 = tile.constant {value = 1e-300} : f64 loc(unknown)\n  tile.print %0, %1, %2 {prefix = \"tab\\there \\u{1}\"} loc(unknown)\n  tile.return loc(unknown)\n}\n";
    let printed = print_module(&parse_module(text).unwrap());
    assert_eq!(printed, text);
}

#[test]
fn golden_text_verifies() {
    let module = parse_module(ALL_OPS).expect("golden text parses");
    tilefuse_codegen::ir::verify_module(&module).expect("the golden module is valid IR");
}
