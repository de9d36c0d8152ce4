use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>) {
    let v = load(x + arange::<64>());
    store(x + arange::<64>(), v.powf(2.0));
}

fn main() {}
