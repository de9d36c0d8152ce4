//! The kernels that prove the compiler: vector add, row softmax, layernorm
//! and a tiled matmul with a K loop, written in the DSL and checked on the
//! CPU interpreter against plain Rust references (below), on random inputs
//! whose sizes are not multiples of the block.

use crate::tile_kernel;

/// `out[i] = x[i] + y[i]` for `i < n`, one block of `BLOCK` elements per program.
#[tile_kernel(configs = [(BLOCK = 256), (BLOCK = 1024)])]
pub fn vector_add<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, out: Ptr<f32>, n: i32) {
    let offs = program_id(0) * BLOCK + arange::<BLOCK>();
    let mask = offs < n;
    let sum = load(x + offs, mask, 0.0) + load(y + offs, mask, 0.0);
    store(out + offs, sum, mask);
}

/// Softmax of each row of an f16 matrix, in f32; one row per program, `BLOCK >= n_cols`.
#[tile_kernel(configs = [(BLOCK = 128), (BLOCK = 1024)])]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}

/// Layernorm of each row: `(x - mean) / sqrt(var + eps) * w + b`, one row per
/// program, in chunks of `BLOCK` columns (any row length), two passes.
#[tile_kernel(configs = [(BLOCK = 64), (BLOCK = 512)])]
pub fn layernorm<const BLOCK: usize>(
    x: Ptr<f32>,
    w: Ptr<f32>,
    b: Ptr<f32>,
    y: Ptr<f32>,
    n_cols: i32,
    eps: f32,
) {
    let row_start = program_id(0) * n_cols;
    let mut acc = zeros::<f32, BLOCK>();
    for c0 in range(0, n_cols, BLOCK) {
        let cols = c0 + arange::<BLOCK>();
        acc += load(x + row_start + cols, cols < n_cols, 0.0);
    }
    let mean = sum(acc, 0) / n_cols.cast::<f32>();
    let mut sq = zeros::<f32, BLOCK>();
    for c0 in range(0, n_cols, BLOCK) {
        let cols = c0 + arange::<BLOCK>();
        let mask = cols < n_cols;
        let d = select(mask, load(x + row_start + cols, mask, 0.0) - mean, 0.0);
        sq += d * d;
    }
    let rstd = rsqrt(sum(sq, 0) / n_cols.cast::<f32>() + eps);
    for c0 in range(0, n_cols, BLOCK) {
        let cols = c0 + arange::<BLOCK>();
        let mask = cols < n_cols;
        let v = load(x + row_start + cols, mask, 0.0);
        let out = (v - mean) * rstd * load(w + cols, mask, 0.0) + load(b + cols, mask, 0.0);
        store(y + row_start + cols, out, mask);
    }
}

/// `c = a · b` for row-major f16 `a` (m×k) and `b` (k×n) with an f32 result,
/// one `BM×BN` block of `c` per program, accumulating over `k` in steps of `BK`.
#[tile_kernel(configs = [
    (BM = 16, BN = 16, BK = 16),
    (BM = 64, BN = 64, BK = 32),
    (BM = 128, BN = 128, BK = 32, num_warps = 8),
])]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f16>,
    b: Ptr<f16>,
    c: Ptr<f32>,
    m: i32,
    n: i32,
    k: i32,
) {
    let rows = program_id(0) * BM + arange::<BM>();
    let cols = program_id(1) * BN + arange::<BN>();
    let mut acc = zeros::<f32, BM, BN>();
    for k0 in range(0, k, BK) {
        let ks = k0 + arange::<BK>();
        let a_mask = (rows[(.., None)] < m) & (ks[(None, ..)] < k);
        let a_tile = load(a + rows[(.., None)] * k + ks[(None, ..)], a_mask, 0.0);
        let b_mask = (ks[(.., None)] < k) & (cols[(None, ..)] < n);
        let b_tile = load(b + ks[(.., None)] * n + cols[(None, ..)], b_mask, 0.0);
        acc = dot(a_tile, b_tile, acc);
    }
    let c_mask = (rows[(.., None)] < m) & (cols[(None, ..)] < n);
    store(c + rows[(.., None)] * n + cols[(None, ..)], acc, c_mask);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_device;
    use crate::{Grid, f16};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    fn random_f32(rng: &mut SmallRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect()
    }

    fn random_f16(rng: &mut SmallRng, n: usize) -> Vec<f16> {
        (0..n)
            .map(|_| f16::from_f32(rng.random_range(-2.0f32..2.0)))
            .collect()
    }

    #[test]
    fn vector_add_matches_reference_on_ragged_sizes() {
        let dev = test_device();
        let mut rng = SmallRng::seed_from_u64(1);
        for n in [1usize, 255, 256, 1000, 3001] {
            let x = random_f32(&mut rng, n);
            let y = random_f32(&mut rng, n);
            let (tx, ty) = (dev.tensor(&x, [n]).unwrap(), dev.tensor(&y, [n]).unwrap());
            let mut out = dev.zeros::<f32>([n]).unwrap();
            vector_add::<256>::launch(
                &dev,
                Grid::x(n.div_ceil(256)),
                (&tx, &ty, &mut out, n as i32),
            )
            .unwrap();
            let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
            assert_eq!(out.to_vec(), want, "n = {n}");
        }
    }

    #[test]
    fn softmax_matches_f64_reference() {
        let dev = test_device();
        let mut rng = SmallRng::seed_from_u64(2);
        for (rows, cols) in [(1usize, 1usize), (5, 100), (3, 128)] {
            let x = random_f16(&mut rng, rows * cols);
            let tx = dev.tensor(&x, [rows, cols]).unwrap();
            let mut ty = dev.zeros::<f16>([rows, cols]).unwrap();
            softmax::<128>::launch(
                &dev,
                Grid::x(rows),
                (&tx, &mut ty, cols as i32, cols as i32),
            )
            .unwrap();
            let got = ty.to_vec();
            for r in 0..rows {
                let row: Vec<f64> = x[r * cols..(r + 1) * cols]
                    .iter()
                    .map(|v| v.to_f64())
                    .collect();
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
                for c in 0..cols {
                    let want = (row[c] - m).exp() / s;
                    let err = (got[r * cols + c].to_f64() - want).abs();
                    // f16 output: half an ulp of values below 1 is at most 2^-12.
                    assert!(
                        err <= 2.5e-4 + want * 1e-3,
                        "row {r} col {c}: {} vs {want}",
                        got[r * cols + c]
                    );
                }
            }
        }
    }

    #[test]
    fn layernorm_matches_f64_reference() {
        let dev = test_device();
        let mut rng = SmallRng::seed_from_u64(3);
        for (rows, cols) in [(3usize, 1usize), (4, 63), (2, 200)] {
            let x = random_f32(&mut rng, rows * cols);
            let w = random_f32(&mut rng, cols);
            let b = random_f32(&mut rng, cols);
            let (tx, tw, tb) = (
                dev.tensor(&x, [rows, cols]).unwrap(),
                dev.tensor(&w, [cols]).unwrap(),
                dev.tensor(&b, [cols]).unwrap(),
            );
            let mut ty = dev.zeros::<f32>([rows, cols]).unwrap();
            let eps = 1e-5f32;
            layernorm::<64>::launch(
                &dev,
                Grid::x(rows),
                (&tx, &tw, &tb, &mut ty, cols as i32, eps),
            )
            .unwrap();
            let got = ty.to_vec();
            for r in 0..rows {
                let row: Vec<f64> = x[r * cols..(r + 1) * cols]
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                let mean = row.iter().sum::<f64>() / cols as f64;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / cols as f64;
                let rstd = 1.0 / (var + eps as f64).sqrt();
                for c in 0..cols {
                    let want = (row[c] - mean) * rstd * w[c] as f64 + b[c] as f64;
                    let err = (got[r * cols + c] as f64 - want).abs();
                    assert!(
                        err < 1e-4 * (1.0 + want.abs()),
                        "row {r} col {c}: {} vs {want}",
                        got[r * cols + c]
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_matches_f64_reference() {
        let dev = test_device();
        let mut rng = SmallRng::seed_from_u64(4);
        for (m, n, k) in [(1usize, 1usize, 1usize), (17, 33, 20), (32, 16, 48)] {
            let a = random_f16(&mut rng, m * k);
            let b = random_f16(&mut rng, k * n);
            let (ta, tb) = (
                dev.tensor(&a, [m, k]).unwrap(),
                dev.tensor(&b, [k, n]).unwrap(),
            );
            let mut tc = dev.zeros::<f32>([m, n]).unwrap();
            matmul::<16, 16, 16>::launch(
                &dev,
                Grid::xy(m.div_ceil(16), n.div_ceil(16)),
                (&ta, &tb, &mut tc, m as i32, n as i32, k as i32),
            )
            .unwrap();
            let got = tc.to_vec();
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|p| a[i * k + p].to_f64() * b[p * n + j].to_f64())
                        .sum();
                    let err = (got[i * n + j] as f64 - want).abs();
                    assert!(
                        err < 1e-4 * (1.0 + want.abs()),
                        "c[{i},{j}] = {} vs {want}",
                        got[i * n + j]
                    );
                }
            }
        }
    }
}
