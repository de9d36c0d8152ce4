use tilefuse::tile_kernel;

// The reshape is only valid when BM * BN == BLOCK: the second
// configuration breaks it.
#[tile_kernel(configs = [(BM = 4, BN = 16, BLOCK = 64), (BM = 8, BN = 16, BLOCK = 64)])]
fn k<const BM: usize, const BN: usize, const BLOCK: usize>(x: Ptr<f32>) {
    let v = load(x + arange::<BLOCK>());
    let t = reshape::<BM, BN>(v);
    store(x + arange::<BLOCK>(), reshape::<BLOCK>(t));
}

fn main() {}
