//! Frontend tests on source strings.

use super::*;
use crate::ir::print_module;

fn ir(src: &str) -> String {
    match compile_source(src, "t.rs") {
        Ok(m) => print_module(&m),
        Err(e) => panic!("compile error: {e}"),
    }
}

fn error(src: &str) -> FrontendError {
    match compile_source(src, "t.rs") {
        Ok(m) => panic!("expected an error, got:\n{}", print_module(&m)),
        Err(e) => e,
    }
}

#[test]
fn dump_softmax() {
    let s = ir(r#"
#[tile_kernel(configs = [(BLOCK = 1024), (BLOCK = 2048)])]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}
"#);
    println!("{s}");
}
