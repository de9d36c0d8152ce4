//! Work counted per kernel call, the same way `anchors_gpu.py` counts it for
//! the peers, so that rates compare: floating-point operations for the
//! compute-bound kernels (TFLOP/s) and the minimum bytes moved for the
//! memory-bound ones (GB/s, as a fraction of the device-to-device copy rate).

/// FLOPs of an attention forward: two GEMMs of `2·N·N·d` per (batch, head),
/// `4·B·H·N²·d`, halved for causal (only the lower triangle is computed).
pub fn attention_flops(b: usize, h: usize, n: usize, d: usize, causal: bool) -> f64 {
    let full = 4.0 * b as f64 * h as f64 * n as f64 * n as f64 * d as f64;
    if causal { full / 2.0 } else { full }
}

/// FLOPs of `C (m×n) = A (m×k) · B (k×n)`: a multiply and an add per term.
pub fn matmul_flops(m: usize, n: usize, k: usize) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}

/// Bytes of `out = x + y` on `n` f32 elements: two reads and a write.
pub fn vector_add_bytes(n: usize) -> f64 {
    3.0 * 4.0 * n as f64
}

/// Bytes of a row softmax of an f16 `rows × cols` matrix: read once, write once.
pub fn softmax_bytes(rows: usize, cols: usize) -> f64 {
    2.0 * 2.0 * rows as f64 * cols as f64
}

/// Bytes of a layernorm of an f32 `rows × cols` matrix: the minimum traffic (x read
/// once, y written once, the weight and bias read once), though the kernel reads
/// x three times (its passes hit the L2 when a row fits it).
pub fn layernorm_bytes(rows: usize, cols: usize) -> f64 {
    4.0 * (2.0 * rows as f64 * cols as f64 + 2.0 * cols as f64)
}

/// Bytes of a decode step as `anchors_gpu.py` counts them: the K and V caches
/// `(B, Hkv, L, d)` in f16 read once (queries and output are negligible).
pub fn decode_bytes(b: usize, hkv: usize, l: usize, d: usize) -> f64 {
    2.0 * 2.0 * b as f64 * hkv as f64 * l as f64 * d as f64
}

/// Bytes of the TSSA forward as `anchors_gpu.py` counts them ("min traffic"):
/// `w (b, h, n, d)` read and the output written, at 2 bytes an element.
pub fn tssa_bytes(b: usize, h: usize, n: usize, d: usize) -> f64 {
    2.0 * 2.0 * b as f64 * h as f64 * n as f64 * d as f64
}

/// TFLOP/s of `flops` done in `ms` milliseconds.
pub fn tflops(flops: f64, ms: f64) -> f64 {
    flops / ms / 1e9
}

/// GB/s (10⁹ bytes a second) of `bytes` moved in `ms` milliseconds.
pub fn gbps(bytes: f64, ms: f64) -> f64 {
    bytes / ms / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn attention_flops_match_the_anchor_script() {
        // anchors_gpu.py: B, H = 16384 // N, 2048 // D; flops = 4·B·H·N·N·D / (2 if causal)
        let (n, d) = (16384, 128);
        let (b, h) = (16384 / n, 2048 / d);
        let f = attention_flops(b, h, n, d, false);
        assert!(close(f, 4.0 * 16384f64 * 16384.0 * 2048.0));
        assert!(close(attention_flops(b, h, n, d, true), f / 2.0));
        // 1k tokens: 16 sequences, the same 16k-token budget, 16x fewer FLOPs.
        assert!(close(attention_flops(16, 16, 1024, 128, false), f / 16.0));
    }

    #[test]
    fn matmul_rate_of_cublas_size() {
        let f = matmul_flops(8192, 8192, 8192);
        assert!(close(f, 2.0 * 8192f64.powi(3)));
        // 8192³ in 1.466 ms is 750 TFLOP/s (the README's bf16 cuBLAS anchor).
        assert!((tflops(f, 1.466) - 750.0).abs() < 0.1);
    }

    #[test]
    fn byte_counts_and_rates() {
        assert_eq!(vector_add_bytes(1000), 12_000.0);
        assert_eq!(softmax_bytes(10, 1024), 40_960.0);
        assert_eq!(layernorm_bytes(2, 8), 4.0 * (32.0 + 16.0));
        // anchors: byts = 2 * k.numel() * 2 with k (B, Hkv, L, D) f16
        assert_eq!(
            decode_bytes(32, 8, 4096, 128),
            2.0 * (32 * 8 * 4096 * 128) as f64 * 2.0
        );
        assert_eq!(
            tssa_bytes(8, 12, 4096, 64),
            2.0 * (8 * 12 * 4096 * 64) as f64 * 2.0
        );
        // 2973 GB/s copy: 1 GB in 0.3364 ms
        assert!((gbps(1e9, 0.3364) - 2972.65).abs() < 0.1);
    }
}
