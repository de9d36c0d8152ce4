// A DSL source file for the CLI tests: two kernels and a device function.
use tilefuse::{tile_fn, tile_kernel};

#[tile_fn]
fn row_max<const N: usize>(v: Tile<f32, N>) -> f32 {
    max(v, 0)
}

#[tile_kernel(configs = [(BLOCK = 128)])]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - row_max(v));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}

#[tile_kernel]
pub fn scale(x: Ptr<f32>, n: i32, #[constexpr] twice: bool) {
    let offs = arange::<64>();
    let mask = offs < n;
    let v = load(x + offs, mask, 0.0);
    if twice {
        store(x + offs, v * 2.0, mask);
    } else {
        store(x + offs, v, mask);
    }
}
