use tilefuse::{tile_fn, tile_kernel};

#[tile_fn]
fn scale(v: Tile<f32, 64>, s: f32) -> Tile<f16, 64> {
    v * s
}

#[tile_kernel]
fn k(x: Ptr<f32>) {
    let offs = arange::<64>();
    store(x + offs, scale(load(x + offs), 2.0).cast::<f32>());
}

fn main() {}
