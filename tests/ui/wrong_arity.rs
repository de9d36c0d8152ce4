use tilefuse::tile_kernel;

#[tile_kernel]
fn k(x: Ptr<f32>, n: i32) {
    let offs = arange::<64>();
    store(x + offs);
}

fn main() {}
