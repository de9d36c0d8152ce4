//! A user's crate: DESIGN.md's softmax written with #[tile_kernel], run on the CPU device;
//! then a bundled kernel (tilefuse's matmul) on the best device: the GPU when there is one,
//! through prebuilt PTX (no LLVM, no CUDA toolkit), else the CPU interpreter.
use tilefuse::{Device, Grid, f16, tile_kernel};

#[tile_kernel]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}

fn main() -> Result<(), tilefuse::Error> {
    let dev = Device::cpu();
    let (rows, cols) = (7usize, 100usize);
    let host: Vec<f16> = (0..rows * cols)
        .map(|i| f16::from_f32(((i * 37 % 101) as f32 - 50.0) / 17.0))
        .collect();
    let x = dev.tensor(&host, [rows, cols])?;
    let mut y = dev.zeros::<f16>([rows, cols])?;
    softmax::<128>::launch(&dev, Grid::x(rows), (&x, &mut y, cols as i32, cols as i32))?;
    let got = y.to_vec();
    let mut worst = 0.0f64;
    for r in 0..rows {
        let row: Vec<f64> = host[r * cols..(r + 1) * cols].iter().map(|v| v.to_f64()).collect();
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for c in 0..cols {
            let want = (row[c] - m).exp() / s;
            worst = worst.max((got[r * cols + c].to_f64() - want).abs());
        }
    }
    assert!(worst < 2e-3, "softmax differs from the reference by {worst}");
    println!("user crate: softmax on {} matches the reference (max error {worst:.2e})", dev.name());
    bundled_matmul()
}

/// `tilefuse::kernels::basic::matmul` (2-d tiles and `dot`) on `Device::best()`.
fn bundled_matmul() -> Result<(), tilefuse::Error> {
    use tilefuse::kernels::basic::matmul;
    let dev = Device::best();
    let (m, n, k) = (70usize, 50usize, 40usize);
    let a: Vec<f16> = (0..m * k).map(|i| f16::from_f32(((i * 7 % 13) as f32 - 6.0) / 8.0)).collect();
    let b: Vec<f16> = (0..k * n).map(|i| f16::from_f32(((i * 5 % 11) as f32 - 5.0) / 8.0)).collect();
    let (ta, tb) = (dev.tensor(&a, [m, k])?, dev.tensor(&b, [k, n])?);
    let mut tc = dev.zeros::<f32>([m, n])?;
    matmul::<16, 16, 16>::launch(
        &dev,
        Grid::xy(m.div_ceil(16), n.div_ceil(16)),
        (&ta, &tb, &mut tc, m as i32, n as i32, k as i32),
    )?;
    let got = tc.to_vec();
    let mut worst = 0.0f64;
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|p| a[i * k + p].to_f64() * b[p * n + j].to_f64()).sum();
            worst = worst.max((f64::from(got[i * n + j]) - want).abs());
        }
    }
    assert!(worst < 1e-3, "matmul differs from the reference by {worst}");
    println!("user crate: the bundled matmul on {} matches the reference (max error {worst:.2e})", dev.name());
    Ok(())
}
