//! The main example: row softmax of an f16 matrix with tilefuse's bundled
//! kernel, on a CUDA GPU when there is one, else on the CPU interpreter,
//! checked against a plain f64 Rust reference.
//!
//! Run it with `scripts/example.sh` (or `cargo run --release --example softmax`).

use tilefuse::kernels::basic::softmax;
use tilefuse::{Device, DeviceKind, Grid, f16};

fn main() -> Result<(), tilefuse::Error> {
    let dev = Device::best();
    match dev.kind() {
        DeviceKind::Cuda => println!("running on the GPU: {} (prebuilt PTX)", dev.name()),
        DeviceKind::Cpu => match Device::cuda(0) {
            Ok(_) => println!("running on the CPU interpreter"),
            Err(why) => println!("no usable CUDA GPU ({why}): running on the CPU interpreter"),
        },
    }
    let (rows, cols) = (64usize, 1000usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let host: Vec<f16> = (0..rows * cols)
        .map(|_| {
            // xorshift: reproducible inputs in [-4, 4) without extra dependencies.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f16::from_f64((state >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0)
        })
        .collect();
    let x = dev.tensor(&host, [rows, cols])?;
    let mut y = dev.zeros::<f16>([rows, cols])?;
    let start = std::time::Instant::now();
    softmax::<1024>::launch(&dev, Grid::x(rows), (&x, &mut y, cols as i32, cols as i32))?;
    let elapsed = start.elapsed();

    let got = y.to_vec();
    let mut worst = 0.0f64;
    for r in 0..rows {
        let row: Vec<f64> = host[r * cols..(r + 1) * cols]
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
        for (c, v) in row.iter().enumerate() {
            let want = (v - max).exp() / total;
            worst = worst.max((got[r * cols + c].to_f64() - want).abs());
        }
    }
    println!(
        "softmax of a {rows}x{cols} f16 matrix on {} took {:.1} ms; max abs error vs f64 reference {worst:.2e}",
        dev.name(),
        elapsed.as_secs_f64() * 1e3
    );
    if worst > 1e-3 {
        eprintln!("FAILED: the error exceeds 1e-3");
        std::process::exit(1);
    }
    println!("ok");
    Ok(())
}
