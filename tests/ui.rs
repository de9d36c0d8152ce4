//! trybuild tests of `#[tile_kernel]` and `#[tile_fn]`: every error the
//! macros report (`tests/ui/*.rs`, each with the expected `.stderr`), and
//! kernels that must compile and run (`tests/ui/pass/*.rs`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test ui`
//! and read every `.stderr` it writes.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}
