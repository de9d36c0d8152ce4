use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>) {
    let a = load(x + arange::<64>());
    let b = load(x + arange::<128>());
    store(x + arange::<64>(), a + b);
}

fn main() {}
