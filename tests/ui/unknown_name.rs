use tilefuse::tile_kernel;

const SCALE: f32 = 2.0;

#[tile_kernel]
fn k(x: Ptr<f32>) {
    store(x, load(x) * SCALE);
}

fn main() {}
