use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>) {
    let twice = |a: f32| a * 2.0;
    store(x, twice(load(x)));
}

fn main() {}
