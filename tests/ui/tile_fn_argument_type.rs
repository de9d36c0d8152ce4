use tilefuse::{tile_fn, tile_kernel};

#[tile_fn]
fn norm<const N: usize>(v: Tile<f32, N>) -> f32 {
    sqrt(sum(v * v, 0))
}

#[tile_kernel]
fn k(x: Ptr<f16>) {
    let v = load(x + arange::<64>());
    store(x, norm(v).cast::<f16>());
}

fn main() {}
