//! Golden `input -> expected` tests of the passes, in the manner of LLVM's
//! lit tests.
//!
//! Each case is a file `codegen/tests/golden/passes/<pass>/<case>.tir`: an
//! input module, a line `// ----- expected`, and the module the pass must
//! print. Comment lines (`// ...`) at the top of the input say what the case
//! checks. [`check`] parses each input, runs the pass, verifies and prints
//! the result, and compares it exactly with the expected part; a second
//! run must then report no change (every pass reaches its fixed point). With
//! `UPDATE_GOLDEN=1` in the environment it rewrites the expected parts
//! instead (read the diff before committing it).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::ir::{Func, Module, parse_module, print_module, verify_module};

use super::pipeline::PassError;

/// The line between input and expected output.
pub(crate) const SEPARATOR: &str = "// ----- expected";

/// The directory holding the cases of `pass`.
fn case_dir(pass: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/passes")
        .join(pass)
}

/// Runs a per-function pass on every function of the module (device
/// functions too, so cases can keep values alive through `tile.return`).
pub(crate) fn each_func(
    m: &mut Module,
    run: fn(&mut Func) -> Result<bool, PassError>,
) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.funcs {
        changed |= run(f)?;
    }
    Ok(changed)
}

/// Splits a case file into its input and expected parts.
fn split_case(text: &str) -> (&str, Option<&str>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == SEPARATOR {
            return (&text[..offset], Some(&text[offset + line.len()..]));
        }
        offset += line.len();
    }
    (text, None)
}

/// A short report of where two texts first differ.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    format!(
        "first difference at expected line {}:\n  expected: {}\n  actual:   {}",
        i + 1,
        e.get(i).unwrap_or(&"<end of text>"),
        a.get(i).unwrap_or(&"<end of text>")
    )
}

/// Runs every case of `pass` through `run`; panics with a report of every
/// failing case.
pub(crate) fn check(pass: &str, run: impl Fn(&mut Module) -> Result<bool, PassError>) {
    let dir = case_dir(pass);
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tir"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden cases in {}", dir.display());

    let mut failures = String::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let (input, expected) = split_case(&text);
        let name = path.display();
        let mut module = match parse_module(input) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(failures, "{name}: the input does not parse: {e}");
                continue;
            }
        };
        if let Err(e) = run(&mut module) {
            let _ = writeln!(failures, "{name}: the pass failed: {e}");
            continue;
        }
        if let Err(e) = verify_module(&module) {
            let _ = writeln!(failures, "{name}: the output does not verify: {e}");
            continue;
        }
        let actual = print_module(&module);
        // A pass reaches its fixed point in one run.
        match run(&mut module) {
            Ok(false) if print_module(&module) == actual => {}
            Ok(_) => {
                let _ = writeln!(
                    failures,
                    "{name}: a second run changed the output again (not idempotent)"
                );
            }
            Err(e) => {
                let _ = writeln!(failures, "{name}: a second run failed: {e}");
            }
        }
        if expected == Some(actual.as_str()) {
            continue;
        }
        if update {
            let mut new_text = input.to_string();
            if !new_text.ends_with('\n') {
                new_text.push('\n');
            }
            let _ = write!(new_text, "{SEPARATOR}\n{actual}");
            std::fs::write(path, new_text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!("updated {name}");
        } else {
            let _ = writeln!(
                failures,
                "{name}: output differs (UPDATE_GOLDEN=1 rewrites it)\n{}\n--- actual output:\n{actual}",
                first_difference(expected.unwrap_or(""), &actual)
            );
        }
    }
    assert!(
        failures.is_empty(),
        "golden failures for `{pass}`:\n{failures}"
    );
}

#[test]
fn splits_cases() {
    let (i, e) = split_case("a\nb\n// ----- expected\nc\n");
    assert_eq!((i, e), ("a\nb\n", Some("c\n")));
    assert_eq!(split_case("a\n"), ("a\n", None));
    let d = first_difference("x\ny\n", "x\nz\n");
    assert!(d.contains("line 2") && d.contains("expected: y") && d.contains("actual:   z"));
}
