// A tiled matmul with a K loop, loop-carried accumulator and pointers, a
// #[constexpr] flag decided per launch, on sizes that are not multiples of
// the blocks.
use tilefuse::{Device, Grid, tile_kernel};

#[tile_kernel(configs = [(BM = 16, BN = 16, BK = 8), (BM = 32, BN = 16, BK = 16, num_stages = 3)])]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f32>,
    b: Ptr<f32>,
    c: Ptr<f32>,
    m: i32,
    n: i32,
    k: i32,
    #[constexpr] relu: bool,
) {
    static_assert(BK >= 8, "BK must be at least 8");
    let rm = program_id(0) * BM as i32 + arange::<BM>();
    let rn = program_id(1) * BN as i32 + arange::<BN>();
    let rk = arange::<BK>();
    let mut acc = zeros::<f32, BM, BN>();
    let mut pa = a + rm[(.., None)] * k + rk[(None, ..)];
    let mut pb = b + rk[(.., None)] * n + rn[(None, ..)];
    for kk in range(0, k, BK) {
        let ta = load(pa, (rm[(.., None)] < m) & (rk[(None, ..)] < k - kk), 0.0);
        let tb = load(pb, (rk[(.., None)] < k - kk) & (rn[(None, ..)] < n), 0.0);
        acc = dot(ta, tb, acc);
        pa += BK;
        pb += BK * n;
    }
    if relu {
        acc = maximum(acc, 0.0);
    }
    let mask = (rm[(.., None)] < m) & (rn[(None, ..)] < n);
    store(c + rm[(.., None)] * n + rn[(None, ..)], acc, mask);
}

fn main() {
    let dev = Device::cpu();
    let (m, n, k) = (37usize, 19usize, 29usize);
    let ha: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
    let hb: Vec<f32> = (0..k * n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let a = dev.tensor(&ha, [m, k]).unwrap();
    let b = dev.tensor(&hb, [k, n]).unwrap();
    for relu in [false, true] {
        let mut c = dev.zeros::<f32>([m, n]).unwrap();
        let grid = Grid::xy(m.div_ceil(32), n.div_ceil(16));
        matmul::<32, 16, 16>::launch(&dev, grid, (&a, &b, &mut c, m as i32, n as i32, k as i32, relu))
            .unwrap();
        let got = c.to_vec();
        for i in 0..m {
            for j in 0..n {
                let mut want: f32 = (0..k).map(|t| ha[i * k + t] * hb[t * n + j]).sum();
                if relu {
                    want = want.max(0.0);
                }
                assert!((got[i * n + j] - want).abs() < 1e-4, "({i}, {j})");
            }
        }
    }
}
