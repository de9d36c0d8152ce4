use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, scale: f32) {
    let p = x + scale;
    store(p, 1.0);
}

fn main() {}
