//! Decode attention against a KV cache, split-KV (flash-decoding) partials and the exact
//! log-sum-exp merge that attention offloading rests on (SEEDS.md §3.2, §3.7, §5), written in
//! tilefuse's DSL. The public, validated API is [`crate::decode`]; this module holds the
//! kernels and their tests.
//!
//! Three kernels, stamped out once per element type (`f16`, `bf16`, `f32`) by `macro_rules!`
//! because kernels are not generic over the element type; accumulation is always f32:
//!
//! * `split_*`: grid `(cdiv(G·Sq, BLOCK_M), B·Hk, num_splits)` with `G = Hq / Hk`. One program
//!   takes the `G·Sq` query rows that share a KV head (row `r` is query token `r / G` of query
//!   head `kh·G + r % G`, the flash-decoding GQA packing, so a decode step with `Sq = 1`
//!   still fills a `BLOCK_M`-row tile), one KV head and one key range, and runs the online
//!   softmax over `BLOCK_N`-key tiles with `dot` for `q·kᵀ` and `p·v`. The keys a program may
//!   need are `[0, Sk_b)` intersected with a caller's absolute `[range_lo, range_hi)` (one
//!   offloaded shard) and with what the sliding window can reach (so masked-out keys cost
//!   nothing and the splits stay balanced under a window); program `p` takes split `p` of
//!   them, `ceil(len / num_splits)` keys each (without a window or shard these are the
//!   reference's `split_ranges`, some empty when `num_splits > len`). Keys
//!   are gathered through the page table when `paged` (any page size, `row = table[b][j /
//!   page]·page + j % page`) or read at `row = b·S_max + j` when contiguous; cache offsets are
//!   i64. Scores follow `attention_ref`: `s = scale·q·k`, softcap `c·tanh(s/c)`, `ALiBi`
//!   `−slope·|i' − j|`, then the causal/window mask at absolute positions with the query at
//!   `i' = i + Sk_b − Sq` (bottom-right aligned; causal is passed as `right = 0`). It writes
//!   the normalised partial `o_p` `(B, Sq, Hq, dv)` and `lse_p` `(B, Hq, Sq)` in f32 into slot
//!   `p` of stacked buffers; an empty or fully masked range gives `o = 0`, `lse = −∞`.
//! * `merge_*`: the SEEDS §3.2 combine over `P` stacked f32 partials, one program per
//!   `BLOCK_R` output rows: `M = max_p lse_p`, `w_p = exp(lse_p − M)` (0 for `−∞`),
//!   `lse = M + ln Σ w_p`, `o = Σ w_p·o_p / Σ w_p`, or `o = 0`, `lse = −∞` when every shard
//!   is empty; the output is cast to the element type. The max is exact and the sums are f32,
//!   so the result does not depend on the order of the shards beyond f32 rounding.
//! * `stack_*`: copies (and widens to f32) one shard's `o` or `lse` into its slot of the
//!   stacked buffer the merge reads, so that `crate::decode::merge` takes any number of
//!   separately produced shards (from other devices, say) without host round trips.
//!
//! Block sizes are const generics: `BLOCK_M = 16`, `BLOCK_N` 32 or 64 and `BLOCK_D` the next
//! power of two ≥ max(d, dv, 16) up to 512, chosen at launch by [`crate::decode`]; every
//! combination it launches is a declared configuration, so each is compiled and checked when
//! the crate builds.
//!
//! Prebuilt PTX (`tilefuse prebuild`): `split_*` is prebuilt for `paged` both ways (paged KV
//! caches are the serving case) with `use_softcap` and `use_alibi` false
//! (`prebuild = [paged]`); the other variants need the `jit` feature on a GPU. The head tiles
//! of 16 and 32 lanes are `cpu_only`: on a GPU [`crate::decode`] pads head dims up to 64 to
//! the 64-lane tile (the kernels mask the padding), so every head dim up to 512 runs from
//! prebuilt PTX.

use crate::tile_kernel;

macro_rules! decode_kernels {
    ($split:ident, $merge:ident, $stack:ident, $t:ident) => {
        /// Split-KV decode attention for one element type: partial `(o, lse)` of one key range
        /// per program (see the module doc for the grid, layouts and masking).
        #[tile_kernel(configs = [
                                    (BLOCK_M = 16, BLOCK_N = 32, BLOCK_D = 16, cpu_only = true),
                                    (BLOCK_M = 16, BLOCK_N = 32, BLOCK_D = 32, cpu_only = true),
                                    (BLOCK_M = 16, BLOCK_N = 32, BLOCK_D = 64),
                                    (BLOCK_M = 16, BLOCK_N = 64, BLOCK_D = 128, num_warps = 4),
                                    (BLOCK_M = 16, BLOCK_N = 64, BLOCK_D = 256, num_warps = 8),
                                    (BLOCK_M = 16, BLOCK_N = 32, BLOCK_D = 512, num_warps = 8),
                                ], prebuild = [paged])]
        pub fn $split<const BLOCK_M: usize, const BLOCK_N: usize, const BLOCK_D: usize>(
            q: Ptr<$t>,
            k: Ptr<$t>,
            v: Ptr<$t>,
            seqlens: Ptr<i32>,
            block_table: Ptr<i32>,
            slopes: Ptr<f32>,
            o_part: Ptr<f32>,
            lse_part: Ptr<f32>,
            batch: i32,
            sq: i32,
            hq: i32,
            hk: i32,
            d: i32,
            dv: i32,
            rows_per_slot: i32,
            max_blocks: i32,
            slope_bstride: i32,
            range_lo: i32,
            range_hi: i32,
            left: i32,
            right: i32,
            scale: f32,
            softcap: f32,
            #[constexpr] paged: bool,
            #[constexpr] use_softcap: bool,
            #[constexpr] use_alibi: bool,
        ) {
            let pid_m = program_id(0);
            let bh = program_id(1);
            let split = program_id(2);
            let num_splits = num_programs(2);
            let b = bh / hk;
            let kh = bh % hk;
            let group = hq / hk;
            let rows = pid_m * BLOCK_M + arange::<BLOCK_M>();
            let row_ok = rows < group * sq;
            let qi = rows / group;
            let head = kh * group + rows % group;
            let sk = load(seqlens + b);
            // Absolute position of each query row (bottom-right aligned).
            let qpos = qi + sk - sq;

            // The keys any row can attend to: [0, sk) within the caller's shard and what the
            // window reaches (rows sit at sk - sq ..= sk - 1); this program takes split
            // `split` of them, ceil(len / num_splits) keys each.
            let mut a = minimum(range_lo, sk);
            let mut z = minimum(range_hi, sk);
            if left >= 0 {
                a = maximum(a, sk - sq - left);
            }
            if right >= 0 {
                z = minimum(z, sk + right);
            }
            z = maximum(z, a);
            let chunk = (z - a + num_splits - 1) / num_splits;
            let lo = minimum(a + split * chunk, z);
            let hi = minimum(lo + chunk, z);

            let dcols = arange::<BLOCK_D>();
            let q_off = ((b * sq + qi) * hq + head) * d;
            let q_tile = load(
                q + q_off[(.., None)] + dcols[(None, ..)],
                row_ok[(.., None)] & (dcols[(None, ..)] < d),
                0.0,
            );
            let mut slope = zeros::<f32, BLOCK_M>();
            if use_alibi {
                slope = load(slopes + b * slope_bstride + head, row_ok, 0.0);
            }

            let k_tok = (hk * d).cast::<i64>();
            let v_tok = (hk * dv).cast::<i64>();
            let kh_k = (kh * d).cast::<i64>();
            let kh_v = (kh * dv).cast::<i64>();
            let dcols64 = dcols.cast::<i64>();
            let mut m_i = full::<f32, BLOCK_M>(f32::NEG_INFINITY);
            let mut l_i = zeros::<f32, BLOCK_M>();
            let mut acc = zeros::<f32, BLOCK_M, BLOCK_D>();
            for start in range(lo, hi, BLOCK_N) {
                let j = start + arange::<BLOCK_N>();
                let j_ok = j < hi;
                let mut slot = b.cast::<i64>() * rows_per_slot.cast::<i64>() + j.cast::<i64>();
                if paged {
                    let blk = load(block_table + b * max_blocks + j / rows_per_slot, j_ok, 0);
                    slot = blk.cast::<i64>() * rows_per_slot.cast::<i64>()
                        + (j % rows_per_slot).cast::<i64>();
                }
                // K tile loaded transposed: (BLOCK_D, BLOCK_N).
                let k_off = slot * k_tok + kh_k;
                let k_tile = load(
                    k + k_off[(None, ..)] + dcols64[(.., None)],
                    (dcols[(.., None)] < d) & j_ok[(None, ..)],
                    0.0,
                );
                let mut s = dot(q_tile, k_tile) * scale;
                if use_softcap {
                    s = softcap * tanh(s / softcap);
                }
                let dist = qpos[(.., None)] - j[(None, ..)];
                if use_alibi {
                    s = s - slope[(.., None)] * abs(dist).cast::<f32>();
                }
                let mut keep = row_ok[(.., None)] & j_ok[(None, ..)];
                if left >= 0 {
                    keep = keep & (dist <= left);
                }
                if right >= 0 {
                    keep = keep & (dist >= -right);
                }
                s = select(keep, s, f32::NEG_INFINITY);
                let m_new = maximum(m_i, max(s, 1));
                let m_safe = select(m_new == f32::NEG_INFINITY, 0.0, m_new);
                let p = exp(s - m_safe[(.., None)]);
                let alpha = exp(m_i - m_safe);
                l_i = l_i * alpha + sum(p, 1);
                let v_off = slot * v_tok + kh_v;
                let v_tile = load(
                    v + v_off[(.., None)] + dcols64[(None, ..)],
                    j_ok[(.., None)] & (dcols[(None, ..)] < dv),
                    0.0,
                );
                acc = dot(p.cast::<$t>(), v_tile, acc * alpha[(.., None)]);
                m_i = m_new;
            }

            let nonempty = l_i > 0.0;
            let l_safe = select(nonempty, l_i, 1.0);
            let out = acc / l_safe[(.., None)];
            let lse = select(nonempty, m_i + log(l_safe), f32::NEG_INFINITY);
            let o_off = (((split * batch + b) * sq + qi) * hq + head) * dv;
            store(
                o_part + o_off[(.., None)] + dcols[(None, ..)],
                out,
                row_ok[(.., None)] & (dcols[(None, ..)] < dv),
            );
            store(
                lse_part + ((split * batch + b) * hq + head) * sq + qi,
                lse,
                row_ok,
            );
        }

        /// Exact log-sum-exp merge of `nparts` stacked f32 partials `(P, B, Sq, H, dv)` /
        /// `(P, B, H, Sq)` into `o (B, Sq, H, dv)` of the element type and `lse (B, H, Sq)`.
        #[tile_kernel(configs = [
                                    (BLOCK_R = 16, BLOCK_D = 16, cpu_only = true),
                                    (BLOCK_R = 16, BLOCK_D = 32, cpu_only = true),
                                    (BLOCK_R = 16, BLOCK_D = 64),
                                    (BLOCK_R = 16, BLOCK_D = 128),
                                    (BLOCK_R = 16, BLOCK_D = 256),
                                    (BLOCK_R = 16, BLOCK_D = 512),
                                ])]
        pub fn $merge<const BLOCK_R: usize, const BLOCK_D: usize>(
            o_parts: Ptr<f32>,
            lse_parts: Ptr<f32>,
            o: Ptr<$t>,
            lse: Ptr<f32>,
            nparts: i32,
            nrows: i32,
            sq: i32,
            h: i32,
            dv: i32,
        ) {
            let rows = program_id(0) * BLOCK_R + arange::<BLOCK_R>();
            let row_ok = rows < nrows;
            let hh = rows % h;
            let qi = (rows / h) % sq;
            let bb = rows / (h * sq);
            let lrow = (bb * h + hh) * sq + qi;
            let cols = arange::<BLOCK_D>();
            let o_mask = row_ok[(.., None)] & (cols[(None, ..)] < dv);
            let o_row = rows.cast::<i64>() * dv.cast::<i64>();
            let o_slot = nrows.cast::<i64>() * dv.cast::<i64>();
            let mut m = full::<f32, BLOCK_R>(f32::NEG_INFINITY);
            for p in range(0, nparts, 1) {
                let l = load(lse_parts + p * nrows + lrow, row_ok, f32::NEG_INFINITY);
                m = maximum(m, l);
            }
            let m_safe = select(m == f32::NEG_INFINITY, 0.0, m);
            let mut tot = zeros::<f32, BLOCK_R>();
            let mut acc = zeros::<f32, BLOCK_R, BLOCK_D>();
            for p in range(0, nparts, 1) {
                let l = load(lse_parts + p * nrows + lrow, row_ok, f32::NEG_INFINITY);
                let w = exp(l - m_safe);
                tot += w;
                let base = p.cast::<i64>() * o_slot + o_row;
                let op = load(
                    o_parts + base[(.., None)] + cols[(None, ..)].cast::<i64>(),
                    o_mask,
                    0.0,
                );
                acc += w[(.., None)] * op;
            }
            let nonempty = tot > 0.0;
            let tot_safe = select(nonempty, tot, 1.0);
            let out = acc / tot_safe[(.., None)];
            store(
                o + o_row[(.., None)] + cols[(None, ..)].cast::<i64>(),
                out.cast::<$t>(),
                o_mask,
            );
            store(
                lse + lrow,
                select(nonempty, m_safe + log(tot_safe), f32::NEG_INFINITY),
                row_ok,
            );
        }

        /// Copies `n` elements of `src`, widened to f32, to `dst[offset..offset + n]`: one
        /// shard into its slot of the merge's stacked buffer.
        #[tile_kernel(configs = [(BLOCK = 256)])]
        pub fn $stack<const BLOCK: usize>(src: Ptr<$t>, dst: Ptr<f32>, n: i64, offset: i64) {
            let offs = program_id(0).cast::<i64>() * BLOCK + arange::<BLOCK>().cast::<i64>();
            let mask = offs < n;
            let x = load(src + offs, mask, 0.0).cast::<f32>();
            store(dst + offset + offs, x, mask);
        }
    };
}

decode_kernels!(split_f32, merge_f32, stack_f32, f32);
decode_kernels!(split_f16, merge_f16, stack_f16, f16);
decode_kernels!(split_bf16, merge_bf16, stack_bf16, bf16);

#[cfg(test)]
mod tests;
