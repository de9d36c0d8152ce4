use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>) {
    let offs = arange::<100>();
    store(x + offs, 0.0);
}

fn main() {}
