use tilefuse::tile_kernel;

#[tile_kernel(configs = [(BLOCK = 64, num_warp = 4)])]
fn k<const BLOCK: usize>(x: Ptr<f32>) {
    store(x + arange::<BLOCK>(), 0.0);
}

fn main() {}
