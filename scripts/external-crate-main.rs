//! A user's crate: DESIGN.md's softmax written with #[tile_kernel], run on the CPU device.
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
    Ok(())
}
