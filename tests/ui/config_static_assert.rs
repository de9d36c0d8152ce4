use tilefuse::tile_kernel;

#[tile_kernel(configs = [(BLOCK = 64), (BLOCK = 8)])]
fn k<const BLOCK: usize>(x: Ptr<f32>) {
    static_assert(BLOCK >= 16, "BLOCK must be at least 16 (one MMA tile)");
    store(x + arange::<BLOCK>(), 0.0);
}

fn main() {}
