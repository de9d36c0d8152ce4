use tilefuse::tile_kernel;

#[tile_kernel(configs = [(BM = 64, BN = 64), (BM = 128)])]
fn k<const BM: usize, const BN: usize>(x: Ptr<f32>) {
    let v = zeros::<f32, BM, BN>();
    store(x + arange::<BM>()[(.., None)] * BN as i32 + arange::<BN>()[(None, ..)], v);
}

fn main() {}
