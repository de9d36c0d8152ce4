//! `FlashAttention` forward written in tilefuse's DSL (SEEDS.md §5, and the TL-Code sketch of
//! QiMeng-Attention in §4.2): one program per (`BLOCK_M` query rows, head, batch) — the grid
//! is `(⌈max Sq / BLOCK_M⌉, Hq, B)` — with a loop over key blocks of `BLOCK_N` that does
//! `S = Q·Kᵀ` with `dot`, an online softmax in base 2 with a running row max and row sum, and
//! `O = α·O + P·V` with `dot`; no `Sq×Sk` intermediate exists. The public entry points are in
//! [`crate::attention`]; this module holds the kernel, its dtype dispatch and its tests.
//!
//! Layout: q `(total_q, Hq, d)`, k/v `(total_k, Hk, d)` row-major (a dense `(B, S, H, d)`
//! tensor is the packed layout with sequence `b` starting at row `b·S`); the output has q's
//! layout and the log-sum-exp is `(B, Hq, Sq)` (dense) or `(Hq, total_q)` (varlen), natural
//! log, f32.
//!
//! What the kernel computes for query `i` of a sequence (at the absolute key position
//! `i' = i + Sk − Sq`: masks are aligned bottom-right, flash-attn ≥ 2.1) and key `j`:
//! `s = scale·q·k`; `s ← c·tanh(s/c)` (softcap); `s ← s − slope_h·|i' − j|` (`ALiBi`);
//! `s = −∞` where masked (causal `j > i'`, window outside `[i' − left, i' + right]`).
//!
//! Design points:
//! * The variants are `#[constexpr]` flags (`varlen`, `causal`, `local`, `capped`, `alibi`):
//!   the plain specialization computes `s = qk·(scale·log₂e)`, with no tanh, no bias, no
//!   `−∞` guard (a test checks its specialized IR).
//! * The key loop is split in three, as `FlashAttention` does for the diagonal: keys `[lo, hi)`
//!   are those some row of the tile can keep (causal and window shrink it, so fully masked
//!   blocks are never loaded); whole blocks kept by *every* row run through the step with
//!   `masked = false` (no key bound, no mask, no guard); only the blocks on the window's left
//!   edge, on the causal diagonal / window's right edge, and the ragged last block run masked.
//!   The step is a `#[tile_fn]` with a constexpr `masked`, inlined into each loop.
//! * Head dims that are not powers of two (96, 40, ...) run in a padded power-of-two tile
//!   `BLOCK_D` with the padding lanes masked to 0 on load and never stored.
//! * f16, bf16 and f32 inputs: the kernel is written once in a `macro_rules!` that stamps one
//!   `#[tile_kernel]` per element type (`flash_fwd_f16`, `flash_fwd_bf16`, `flash_fwd_f32`;
//!   the element type is an `ident` fragment: a `ty` fragment inside `Ptr<..>` is not
//!   accepted by the frontend). Both GEMMs accumulate in f32; `P` is rounded to the input
//!   type for the `P·V` GEMM (as `FlashAttention` does), the output is rounded to the input
//!   type once at the end.
//! * A fully masked row (e.g. `Sq > Sk` under causal) keeps `m = −∞`, `l = 0`: the kernel
//!   substitutes 0 for `m` in the exponentials so that no `−∞ − (−∞)` appears, and writes
//!   output 0 and `lse = −∞`.
//! * Row offsets into q/k/v and the LSE are computed in i64 (a packed tensor may exceed 2³¹
//!   elements); token counts are limited to 2²⁹ per launch by the API so that positions and
//!   window bounds stay in i32.
//! * Tile sizes are const generics; the declared configs are the CPU ones (16×16 with every
//!   head tile) and GPU-shaped ones (128×64 for d ≤ 128, 64×32 for d = 256). The API picks
//!   the tiles per device kind (`Blocks::for_device`).
//! * Prebuilt PTX (`tilefuse prebuild`): the CPU configs are `cpu_only`; the GPU ones are
//!   prebuilt for `varlen` and `causal` both ways with `local`, `capped` and `alibi` false
//!   (`prebuild = [varlen, causal]`: 4 of the 32 variants per config and element type); the
//!   other variants need the `jit` feature on a GPU.

use crate::runtime::KernelSource;
use crate::{Device, DeviceKind, Element, Error, Grid, Stream, Tensor, bf16, f16};
use crate::{tile_fn, tile_kernel};

/// Stamps the forward kernel, and the key-block step it calls, for one element type.
macro_rules! flash_fwd_kernel {
    ($(#[$doc:meta])* $name:ident, $step:ident, $t:ident) => {
        /// One key block of the online softmax: loads `K^T` and `V` for keys `offs_k`,
        /// scores them against `q_tile`, and folds them into `(acc, l_i, m_i)` (base-2
        /// running max `m_i`, running sum `l_i`). `masked` blocks apply the key bound and the
        /// causal/window masks and guard rows that have kept nothing yet; unmasked blocks are
        /// known to be kept whole for every row and skip all of it.
        #[tile_fn]
        fn $step<const BLOCK_M: usize, const BLOCK_N: usize, const BLOCK_D: usize>(
            acc: Tile<f32, BLOCK_M, BLOCK_D>,
            l_i: Tile<f32, BLOCK_M>,
            m_i: Tile<f32, BLOCK_M>,
            q_tile: Tile<$t, BLOCK_M, BLOCK_D>,
            k: Ptr<$t>,
            v: Ptr<$t>,
            offs_k: Tile<i32, BLOCK_N>,
            ia: Tile<i32, BLOCK_M>,
            k_start: i32,
            len_k: i32,
            kv_stride: i64,
            kv_cols: Tile<i32, BLOCK_D>,
            d_ok: Tile<bool, BLOCK_D>,
            sm_scale: f32,
            softcap: f32,
            slope: f32,
            left: i32,
            right: i32,
            #[constexpr] masked: bool,
            #[constexpr] causal: bool,
            #[constexpr] local: bool,
            #[constexpr] capped: bool,
            #[constexpr] alibi: bool,
        ) -> (Tile<f32, BLOCK_M, BLOCK_D>, Tile<f32, BLOCK_M>, Tile<f32, BLOCK_M>) {
            let k_ok = offs_k < len_k;
            let k_rows = (k_start + offs_k).cast::<i64>() * kv_stride;
            // K is loaded transposed, BLOCK_D x BLOCK_N.
            let mut kt_mask = broadcast_to::<BLOCK_D, BLOCK_N>(d_ok[(.., None)]);
            let mut v_mask = broadcast_to::<BLOCK_N, BLOCK_D>(d_ok[(None, ..)]);
            if masked {
                kt_mask = kt_mask & k_ok[(None, ..)];
                v_mask = v_mask & k_ok[(.., None)];
            }
            let kt = load(k + k_rows[(None, ..)] + kv_cols[(.., None)], kt_mask, 0.0);
            let qk = dot(q_tile, kt);
            let mut s = qk * (sm_scale * f32::consts::LOG2_E);
            if capped || alibi {
                let mut t = qk * sm_scale;
                if capped {
                    t = softcap * tanh(t / softcap);
                }
                if alibi {
                    let dist = abs((ia[(.., None)] - offs_k[(None, ..)]).cast::<f32>());
                    t = t - slope * dist;
                }
                s = t * f32::consts::LOG2_E;
            }
            if masked {
                let mut keep = broadcast_to::<BLOCK_M, BLOCK_N>(k_ok[(None, ..)]);
                if causal {
                    keep = keep & (offs_k[(None, ..)] <= ia[(.., None)]);
                }
                if local {
                    keep = keep
                        & (offs_k[(None, ..)] >= ia[(.., None)] - left)
                        & (offs_k[(None, ..)] <= ia[(.., None)] + right);
                }
                s = select(keep, s, f32::NEG_INFINITY);
            }
            let m_new = maximum(m_i, max(s, 1));
            // Rows with nothing kept so far: use 0 so that exp2 sees -inf - 0, never -inf + inf.
            let mut m_use = m_new;
            if masked && (causal || local) {
                m_use = select(m_new == f32::NEG_INFINITY, 0.0, m_new);
            }
            let p = exp2(s - m_use[(.., None)]);
            let alpha = exp2(m_i - m_use);
            let v_tile = load(v + k_rows[(.., None)] + kv_cols[(None, ..)], v_mask, 0.0);
            let acc_new = dot(p.cast::<$t>(), v_tile, acc * alpha[(.., None)]);
            (acc_new, l_i * alpha + sum(p, 1), m_new)
        }

        $(#[$doc])*
        #[tile_kernel(configs = [
            (BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 16, cpu_only = true),
            (BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 32, cpu_only = true),
            (BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 64, cpu_only = true),
            (BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 128, cpu_only = true),
            (BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 256, cpu_only = true),
            (BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64, num_warps = 4, num_stages = 3),
            (BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128, num_warps = 8, num_stages = 2),
            (BLOCK_M = 64, BLOCK_N = 32, BLOCK_D = 256, num_warps = 8, num_stages = 2),
        ], prebuild = [varlen, causal])]
        pub fn $name<const BLOCK_M: usize, const BLOCK_N: usize, const BLOCK_D: usize>(
            q: Ptr<$t>,
            k: Ptr<$t>,
            v: Ptr<$t>,
            o: Ptr<$t>,
            lse: Ptr<f32>,
            cu_q: Ptr<i32>,
            cu_k: Ptr<i32>,
            slopes: Ptr<f32>,
            seqlen_q: i32,
            seqlen_k: i32,
            total_q: i32,
            hq: i32,
            group: i32,
            head_dim: i32,
            sm_scale: f32,
            softcap: f32,
            left: i32,
            right: i32,
            slope_stride: i32,
            #[constexpr] varlen: bool,
            #[constexpr] causal: bool,
            #[constexpr] local: bool,
            #[constexpr] capped: bool,
            #[constexpr] alibi: bool,
        ) {
            let pid_m = program_id(0);
            let h = program_id(1);
            let b = program_id(2);
            let pid_bh = b * hq + h;
            let kh = h / group;
            let hk = hq / group;
            // Where this sequence's rows start, and its lengths.
            let mut q_start = b * seqlen_q;
            let mut k_start = b * seqlen_k;
            let mut len_q = seqlen_q;
            let mut len_k = seqlen_k;
            if varlen {
                q_start = load(cu_q + b);
                len_q = load(cu_q + b + 1) - q_start;
                k_start = load(cu_k + b);
                len_k = load(cu_k + b + 1) - k_start;
            }
            let start_m = pid_m * BLOCK_M as i32;
            if start_m < len_q {
                let offs_m = start_m + arange::<BLOCK_M>();
                let offs_n = arange::<BLOCK_N>();
                let offs_d = arange::<BLOCK_D>();
                let d_ok = offs_d < head_dim;
                let row_ok = offs_m < len_q;
                // Bottom-right alignment: query i sits at key position i + Sk - Sq.
                let shift = len_k - len_q;
                let ia = offs_m + shift;
                let q_rows = (q_start + offs_m).cast::<i64>() * (hq * head_dim).cast::<i64>();
                let q_cols = h * head_dim + offs_d;
                let q_mask = row_ok[(.., None)] & d_ok[(None, ..)];
                let q_tile = load(q + q_rows[(.., None)] + q_cols[(None, ..)], q_mask, 0.0);
                let kv_stride = (hk * head_dim).cast::<i64>();
                let kv_cols = kh * head_dim + offs_d;
                // Keys [lo, hi) can be kept by some row of this tile (lo is block-aligned);
                // keys [full_lo, full_hi) are kept by every row, in whole blocks, and run
                // without masks; the blocks before and after them are masked.
                let mut lo = 0;
                let mut hi = len_k;
                let mut full_lo = 0;
                let mut kept_by_all = len_k;
                if causal {
                    hi = minimum(hi, start_m + BLOCK_M as i32 + shift);
                    kept_by_all = minimum(kept_by_all, start_m + shift + 1);
                }
                if local {
                    hi = minimum(hi, start_m + BLOCK_M as i32 + shift + right);
                    lo = maximum(lo, start_m + shift - left);
                    lo = lo / BLOCK_N as i32 * BLOCK_N as i32;
                    kept_by_all = minimum(kept_by_all, start_m + shift + right + 1);
                    let first = maximum(start_m + BLOCK_M as i32 - 1 + shift - left, 0);
                    full_lo = minimum(cdiv(first, BLOCK_N as i32) * BLOCK_N as i32, hi);
                }
                let full_blocks = maximum(kept_by_all - full_lo, 0) / BLOCK_N as i32;
                let full_hi = full_lo + full_blocks * BLOCK_N as i32;
                let mut slope = 0.0;
                if alibi {
                    slope = load(slopes + b * slope_stride + h);
                }
                let mut m_i = full::<f32, BLOCK_M>(f32::NEG_INFINITY);
                let mut l_i = zeros::<f32, BLOCK_M>();
                let mut acc = zeros::<f32, BLOCK_M, BLOCK_D>();
                if local {
                    for start_n in range(lo, full_lo, BLOCK_N) {
                        let (a, l, m) = $step(
                            acc, l_i, m_i, q_tile, k, v, start_n + offs_n, ia, k_start, len_k,
                            kv_stride, kv_cols, d_ok, sm_scale, softcap, slope, left, right,
                            true, causal, local, capped, alibi,
                        );
                        acc = a;
                        l_i = l;
                        m_i = m;
                    }
                }
                for start_n in range(full_lo, full_hi, BLOCK_N) {
                    let (a, l, m) = $step(
                        acc, l_i, m_i, q_tile, k, v, start_n + offs_n, ia, k_start, len_k,
                        kv_stride, kv_cols, d_ok, sm_scale, softcap, slope, left, right,
                        false, causal, local, capped, alibi,
                    );
                    acc = a;
                    l_i = l;
                    m_i = m;
                }
                for start_n in range(maximum(full_hi, lo), hi, BLOCK_N) {
                    let (a, l, m) = $step(
                        acc, l_i, m_i, q_tile, k, v, start_n + offs_n, ia, k_start, len_k,
                        kv_stride, kv_cols, d_ok, sm_scale, softcap, slope, left, right,
                        true, causal, local, capped, alibi,
                    );
                    acc = a;
                    l_i = l;
                    m_i = m;
                }
                let has = l_i > 0.0;
                let out = acc / select(has, l_i, 1.0)[(.., None)];
                store(
                    o + q_rows[(.., None)] + q_cols[(None, ..)],
                    out.cast::<$t>(),
                    q_mask,
                );
                let lse_i = select(has, (m_i + log2(select(has, l_i, 1.0))) * f32::consts::LN_2, f32::NEG_INFINITY);
                let mut lse_base = pid_bh.cast::<i64>() * seqlen_q.cast::<i64>();
                if varlen {
                    lse_base = h.cast::<i64>() * total_q.cast::<i64>() + q_start.cast::<i64>();
                }
                store(lse + lse_base + offs_m, lse_i, row_ok);
            }
        }
    };
}

flash_fwd_kernel!(
    /// `FlashAttention` forward for f16 inputs (f32 accumulation); see the module doc.
    flash_fwd_f16,
    flash_step_f16,
    f16
);
flash_fwd_kernel!(
    /// `FlashAttention` forward for bf16 inputs (f32 accumulation); see the module doc.
    flash_fwd_bf16,
    flash_step_bf16,
    bf16
);
flash_fwd_kernel!(
    /// `FlashAttention` forward for f32 inputs; see the module doc.
    flash_fwd_f32,
    flash_step_f32,
    f32
);

/// The runtime arguments and variant flags of one launch of the forward kernel.
pub(crate) struct FwdArgs<'a, T: Element> {
    pub q: &'a Tensor<T>,
    pub k: &'a Tensor<T>,
    pub v: &'a Tensor<T>,
    pub o: &'a mut Tensor<T>,
    pub lse: &'a mut Tensor<f32>,
    pub cu_q: &'a Tensor<i32>,
    pub cu_k: &'a Tensor<i32>,
    pub slopes: &'a Tensor<f32>,
    pub seqlen_q: i32,
    pub seqlen_k: i32,
    pub total_q: i32,
    pub hq: i32,
    pub group: i32,
    pub head_dim: i32,
    pub sm_scale: f32,
    pub softcap: f32,
    pub left: i32,
    pub right: i32,
    pub slope_stride: i32,
    pub varlen: bool,
    pub causal: bool,
    pub local: bool,
    pub capped: bool,
    pub alibi: bool,
}

/// Tile sizes of one launch: `BLOCK_M` query rows, `BLOCK_N` keys per step, `BLOCK_D` the
/// head dim padded to a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocks {
    pub m: usize,
    pub n: usize,
    pub d: usize,
}

impl Blocks {
    /// The tile sizes of a declared configuration (its `BLOCK_M`, `BLOCK_N`, `BLOCK_D`);
    /// None when one is missing or not a positive integer.
    pub fn from_config(config: &crate::runtime::Config) -> Option<Blocks> {
        let get = |name: &str| {
            config.consts.iter().find_map(|(n, v)| match v {
                crate::runtime::ConstValue::Int(i) if *n == name && *i > 0 => Some(*i as usize),
                _ => None,
            })
        };
        Some(Blocks {
            m: get("BLOCK_M")?,
            n: get("BLOCK_N")?,
            d: get("BLOCK_D")?,
        })
    }

    /// The tile sizes the public API uses on `kind` for a head dim `d` (1..=256).
    pub fn for_device(kind: DeviceKind, d: usize) -> Blocks {
        let bd = d.next_power_of_two().max(16);
        match kind {
            // The interpreter is single-threaded and pays for every padded lane: small tiles.
            DeviceKind::Cpu => Blocks {
                m: 16,
                n: 16,
                d: bd,
            },
            // GPU tiles (FlashAttention-2's shape): the declared GPU configurations, head
            // dims up to 64 padded to 64; the first candidate of the autotuner
            // (`attention/tune.rs`), which may choose a larger prebuilt one.
            DeviceKind::Cuda => match bd {
                ..=64 => Blocks {
                    m: 128,
                    n: 64,
                    d: 64,
                },
                128 => Blocks {
                    m: 128,
                    n: 64,
                    d: 128,
                },
                _ => Blocks {
                    m: 64,
                    n: 32,
                    d: 256,
                },
            },
        }
    }
}

/// Element types the forward kernel is stamped for: f16, bf16 and f32.
pub trait FlashElement: Element + sealed::Sealed {
    /// Launches the forward kernel for this element type with tile sizes `blocks`: on the
    /// device's default stream, waiting for it (`stream = None`), or enqueued on `stream`.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn launch_fwd(
        dev: &Device,
        stream: Option<&Stream>,
        grid: Grid,
        blocks: Blocks,
        a: FwdArgs<'_, Self>,
    ) -> Result<(), Error>;

    /// The forward kernel of this element type (its name, IR and declared configurations;
    /// the same for every tile size).
    #[doc(hidden)]
    fn fwd_kernel() -> KernelSource;
}

mod sealed {
    /// Only the element types with a stamped kernel implement [`super::FlashElement`].
    pub trait Sealed {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
    impl Sealed for f32 {}
}

macro_rules! impl_flash_element {
    ($t:ty, $kernel:ident, [$(($bm:literal, $bn:literal, $bd:literal)),* $(,)?]) => {
        impl FlashElement for $t {
            #[allow(private_interfaces)]
            fn launch_fwd(
                dev: &Device,
                stream: Option<&Stream>,
                grid: Grid,
                blocks: Blocks,
                a: FwdArgs<'_, Self>,
            ) -> Result<(), Error> {
                match (blocks.m, blocks.n, blocks.d) {
                    $(($bm, $bn, $bd) => {
                        let args = (
                            a.q, a.k, a.v, a.o, a.lse, a.cu_q, a.cu_k, a.slopes,
                            a.seqlen_q, a.seqlen_k, a.total_q, a.hq, a.group, a.head_dim,
                            a.sm_scale, a.softcap, a.left, a.right, a.slope_stride,
                            a.varlen, a.causal, a.local, a.capped, a.alibi,
                        );
                        match stream {
                            None => $kernel::<$bm, $bn, $bd>::launch(dev, grid, args),
                            Some(s) => $kernel::<$bm, $bn, $bd>::launch_on(s, grid, args),
                        }
                    })*
                    (m, n, d) => Err(Error::Invalid(format!(
                        "flash attention has no kernel for tiles BLOCK_M = {m}, BLOCK_N = {n}, \
                         BLOCK_D = {d}; the stamped ones are {}",
                        [$(format!("({}, {}, {})", $bm, $bn, $bd)),*].join(", ")
                    ))),
                }
            }

            fn fwd_kernel() -> KernelSource {
                $kernel::<16, 16, 16>::KERNEL
            }
        }
    };
}

/// Tile sizes every element type is stamped for: the CPU ones (16×16 for every padded head
/// dim), a few others the tests use, and the GPU ones of the declared configs.
macro_rules! stamp_all {
    ($($t:ty => $kernel:ident),*) => {
        $(impl_flash_element!($t, $kernel, [
            (16, 16, 16), (16, 16, 32), (16, 16, 64), (16, 16, 128), (16, 16, 256),
            (32, 16, 64), (16, 64, 32),
            (128, 64, 64), (128, 64, 128), (64, 32, 256),
        ]);)*
    };
}

stamp_all!(f16 => flash_fwd_f16, bf16 => flash_fwd_bf16, f32 => flash_fwd_f32);

#[cfg(test)]
mod tests;

#[cfg(test)]
mod specialization_tests {
    //! The variant flags are compile-time: the plain kernel carries none of their code.

    use super::*;
    use crate::codegen::ir::{ConstValue, print_module};
    use crate::runtime::compile_kernel;

    /// The kernel function of the specialized module (the module also keeps the specialized
    /// step functions after inlining them).
    fn specialized(flags: [bool; 5]) -> String {
        let names = ["varlen", "causal", "local", "capped", "alibi"];
        let mut consts: Vec<(&str, ConstValue)> = vec![
            ("BLOCK_M", ConstValue::Int(16)),
            ("BLOCK_N", ConstValue::Int(16)),
            ("BLOCK_D", ConstValue::Int(64)),
        ];
        consts.extend(
            names
                .iter()
                .zip(flags)
                .map(|(n, f)| (*n, ConstValue::Bool(f))),
        );
        let m = compile_kernel(&flash_fwd_f16::<16, 16, 64>::KERNEL, &consts).unwrap();
        let text = print_module(&m);
        let start = text.find("tile.kernel @flash_fwd_f16").unwrap();
        let end = text[start..]
            .find("\ntile.func")
            .map_or(text.len(), |e| start + e);
        text[start..end].to_string()
    }

    #[test]
    fn plain_kernel_pays_for_no_variant() {
        let plain = specialized([false; 5]);
        let full = specialized([true; 5]);
        let count = |s: &str, op: &str| s.matches(op).count();
        for op in ["tile.tanh", "tile.abs", "tile.call", "tile.constexpr"] {
            assert_eq!(count(&plain, op), 0, "plain kernel has {op}:\n{plain}");
        }
        assert_eq!(count(&full, "tile.call"), 0, "steps are inlined:\n{full}");
        // tanh and |i - j| in each of the three key loops of the full kernel.
        assert_eq!(count(&full, "tile.tanh"), 3, "{full}");
        assert_eq!(count(&full, "tile.abs"), 3, "{full}");
        // Plain: an unmasked loop over whole key blocks, then the masked last block; the
        // windowed kernel adds the masked blocks on the window's left edge.
        assert_eq!(count(&plain, "tile.for"), 2, "{plain}");
        assert_eq!(count(&full, "tile.for"), 3, "{full}");
        // The only score select of the plain kernel is the key bound of the last block; the
        // -inf guard of the running max exists only in the full kernel's masked loops.
        assert_eq!(count(&plain, "tile.select %keep"), 1, "{plain}");
        assert!(count(&plain, "tile.select") < count(&full, "tile.select"));
    }
}
