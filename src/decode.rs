//! Decode attention against a KV cache, split-KV (flash-decoding), and the exact merge of
//! partial results that attention offloading rests on (SEEDS.md §3.2, §3.7, §5).
//!
//! A decode step attends a few query tokens `q (B, Sq, Hq, d)` to each sequence's first
//! `cache_seqlens[b]` cached tokens, held either contiguously, `(B, S_max, Hk, d)`, or in pages,
//! `(num_blocks, page_size, Hk, d)` with a `block_table (B, max_blocks)` of i32 block indices
//! (any page size ≥ 1: 1, 16, 7, ...). Semantics are `flash_attn_with_kvcache`'s and exactly
//! those of [`crate::reference::attention::attention_with_kvcache_ref`]: default scale `1/√d`;
//! GQA/MQA with query head `h` reading KV head `h / (Hq / Hk)`; `s = scale·q·k`, then softcap
//! `c·tanh(s/c)`, then `ALiBi` `−slope_h·|i' − j|`, then masks, with query `i` at the absolute
//! position `i' = i + cache_seqlens[b] − Sq` (**bottom-right aligned**); causal keeps `j ≤ i'`,
//! a window `(left, right)` keeps `i' − left ≤ j ≤ i' + right` (negative = unbounded). A row
//! with no key outputs 0 and `lse = −∞`. The log-sum-exp is natural log, f32, `(B, Hq, Sq)`.
//!
//! * [`attention`]: the whole step. With `num_splits > 1` each sequence's keys are cut into
//!   `num_splits` ranges (flash-decoding), each computed by its own programs into f32 partials
//!   `(o_p, lse_p)`, then merged on the device.
//! * [`partial`]: one shard, the keys in an absolute `key_range` only, returned as f32
//!   `(o, lse)`: what an attention worker computes when a sequence's KV cache is spread over
//!   devices (Lamina's sequence split, SEEDS §3.7). Masks and `ALiBi` use absolute positions, so
//!   shards merge to exactly the unsplit result.
//! * [`merge`]: combines any number of `(o_i, lse_i)` shards, in any order:
//!   `lse = ln Σ exp(lse_i)` (max-shifted) and `o = Σ exp(lse_i − lse)·o_i`; shards with
//!   `lse = −∞` weigh nothing; if all are `−∞` the result is 0 and `−∞`.
//!
//! Element types: `f16`, `bf16` and `f32` for q, the cache and the output, with f32
//! accumulation (the kernels are stamped out per type, see [`crate::kernels::decode`]);
//! partials are f32. Every input is validated before the first launch (shapes, head counts,
//! head dims up to 512, the page table against the cache, `cache_seqlens` against the cache
//! capacity, devices), and a violation is an [`Error::Invalid`] that says what is wrong and
//! what would work; nothing is launched and no output is written then. Validation reads
//! `cache_seqlens` and `block_table` back to the host. The values of partial LSEs passed to
//! [`merge`] are not inspected: a NaN there propagates to the output.

use std::ops::Range;

use crate::kernels::decode as kern;
use crate::tiles::tile_kind;
use crate::validate::{self, I32_MAX, invalid, same_device};
use crate::{Device, DeviceKind, Element, Error, Grid, Tensor, bf16, f16};

/// The KV cache a decode step attends to.
#[derive(Debug)]
pub enum KvCache<'a, T: Element> {
    /// One row per sequence: `k (B, S_max, Hk, d)`, `v (B, S_max, Hk, dv)`; sequence `b`
    /// attends to its first `cache_seqlens[b] ≤ S_max` tokens.
    Contiguous {
        /// Keys `(B, S_max, Hk, d)`.
        k: &'a Tensor<T>,
        /// Values `(B, S_max, Hk, dv)`.
        v: &'a Tensor<T>,
        /// Tokens cached per sequence, `(B,)`.
        cache_seqlens: &'a Tensor<i32>,
    },
    /// Paged: token `t` of sequence `b` lives at
    /// `[block_table[b][t / page_size], t % page_size]`.
    Paged {
        /// Keys `(num_blocks, page_size, Hk, d)`.
        k_cache: &'a Tensor<T>,
        /// Values `(num_blocks, page_size, Hk, dv)`.
        v_cache: &'a Tensor<T>,
        /// `(B, max_blocks)` block indices; only the entries covering `cache_seqlens[b]`
        /// tokens (for [`partial`], those holding keys of its `key_range`) are read, and each
        /// of those must be in `0..num_blocks`; the others may hold anything (e.g. −1).
        block_table: &'a Tensor<i32>,
        /// Tokens cached per sequence, `(B,)`.
        cache_seqlens: &'a Tensor<i32>,
    },
}

impl<T: Element> Clone for KvCache<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Element> Copy for KvCache<'_, T> {}

impl<'a, T: Element> KvCache<'a, T> {
    /// `(k, v, cache_seqlens, block_table)`, the table `None` for a contiguous cache.
    fn parts(&self) -> Parts<'a, T> {
        match *self {
            KvCache::Contiguous {
                k,
                v,
                cache_seqlens,
            } => (k, v, cache_seqlens, None),
            KvCache::Paged {
                k_cache,
                v_cache,
                block_table,
                cache_seqlens,
            } => (k_cache, v_cache, cache_seqlens, Some(block_table)),
        }
    }
}

/// The tensors of a [`KvCache`]: `(k, v, cache_seqlens, block_table)`.
type Parts<'a, T> = (
    &'a Tensor<T>,
    &'a Tensor<T>,
    &'a Tensor<i32>,
    Option<&'a Tensor<i32>>,
);

/// Options of a decode step; `DecodeParams::default()` is one split, non-causal, no window,
/// no softcap, no `ALiBi`, scale `1/√d`.
#[derive(Clone, Copy, Debug)]
pub struct DecodeParams<'a> {
    /// Key ranges per sequence computed separately and merged (flash-decoding); ≥ 1.
    pub num_splits: usize,
    /// Bottom-right aligned causal mask: query `i` keeps key `j ≤ i + Sk − Sq`.
    pub causal: bool,
    /// Sliding window `(left, right)`; a negative bound is unbounded.
    pub window: (i64, i64),
    /// Softcap `c`: scores become `c·tanh(s/c)` when `c > 0`; 0 disables it.
    pub softcap: f32,
    /// `ALiBi` slopes, `(Hq,)` or `(B, Hq)`.
    pub alibi: Option<&'a Tensor<f32>>,
    /// Score scale; `None` is `1/√d`.
    pub scale: Option<f32>,
}

impl Default for DecodeParams<'_> {
    fn default() -> Self {
        Self {
            num_splits: 1,
            causal: false,
            window: (-1, -1),
            softcap: 0.0,
            alibi: None,
            scale: None,
        }
    }
}

/// Element types the decode kernels are built for: `f16`, `bf16`, `f32`.
pub trait DecodeElement: Element + sealed::Sealed {
    #[doc(hidden)]
    fn launch_split(dev: &Device, a: SplitArgs<'_, Self>) -> Result<(), Error>;
    #[doc(hidden)]
    fn launch_merge(dev: &Device, a: MergeArgs<'_, Self>) -> Result<(), Error>;
    #[doc(hidden)]
    fn launch_stack(
        dev: &Device,
        src: &Tensor<Self>,
        dst: &mut Tensor<f32>,
        offset: usize,
    ) -> Result<(), Error>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// Arguments of one split-kernel launch (internal).
#[doc(hidden)]
pub struct SplitArgs<'a, T: Element> {
    grid: Grid,
    block_d: usize,
    q: &'a Tensor<T>,
    k: &'a Tensor<T>,
    v: &'a Tensor<T>,
    seqlens: &'a Tensor<i32>,
    block_table: &'a Tensor<i32>,
    slopes: &'a Tensor<f32>,
    o_part: &'a mut Tensor<f32>,
    lse_part: &'a mut Tensor<f32>,
    scalars: [i32; 13],
    scale: f32,
    softcap: f32,
    paged: bool,
    use_softcap: bool,
    use_alibi: bool,
}

/// Arguments of one merge-kernel launch (internal).
#[doc(hidden)]
pub struct MergeArgs<'a, T: Element> {
    block_d: usize,
    o_parts: &'a Tensor<f32>,
    lse_parts: &'a Tensor<f32>,
    o: &'a mut Tensor<T>,
    lse: &'a mut Tensor<f32>,
    nparts: i32,
    nrows: i32,
    sq: i32,
    h: i32,
    dv: i32,
}

const BLOCK_R: usize = 16;
const STACK_BLOCK: usize = 256;

macro_rules! launch_split {
    ($kernel:ident, $dev:expr, $a:expr, $bn:literal, $bd:literal) => {{
        let a = $a;
        let s = a.scalars;
        kern::$kernel::<16, $bn, $bd>::launch(
            $dev,
            a.grid,
            (
                a.q,
                a.k,
                a.v,
                a.seqlens,
                a.block_table,
                a.slopes,
                a.o_part,
                a.lse_part,
                s[0],
                s[1],
                s[2],
                s[3],
                s[4],
                s[5],
                s[6],
                s[7],
                s[8],
                s[9],
                s[10],
                s[11],
                s[12],
                a.scale,
                a.softcap,
                a.paged,
                a.use_softcap,
                a.use_alibi,
            ),
        )
    }};
}

macro_rules! launch_merge {
    ($kernel:ident, $dev:expr, $a:expr, $bd:literal) => {{
        let a = $a;
        let grid = Grid::x((a.nrows as usize).div_ceil(BLOCK_R));
        kern::$kernel::<16, $bd>::launch(
            $dev,
            grid,
            (
                a.o_parts,
                a.lse_parts,
                a.o,
                a.lse,
                a.nparts,
                a.nrows,
                a.sq,
                a.h,
                a.dv,
            ),
        )
    }};
}

macro_rules! decode_element {
    ($t:ty, $split:ident, $merge:ident, $stack:ident) => {
        impl DecodeElement for $t {
            fn launch_split(dev: &Device, a: SplitArgs<'_, Self>) -> Result<(), Error> {
                match a.block_d {
                    16 => launch_split!($split, dev, a, 32, 16),
                    32 => launch_split!($split, dev, a, 32, 32),
                    64 => launch_split!($split, dev, a, 32, 64),
                    128 => launch_split!($split, dev, a, 64, 128),
                    256 => launch_split!($split, dev, a, 64, 256),
                    512 => launch_split!($split, dev, a, 32, 512),
                    bd => Err(unsupported_block(bd)),
                }
            }

            fn launch_merge(dev: &Device, a: MergeArgs<'_, Self>) -> Result<(), Error> {
                match a.block_d {
                    16 => launch_merge!($merge, dev, a, 16),
                    32 => launch_merge!($merge, dev, a, 32),
                    64 => launch_merge!($merge, dev, a, 64),
                    128 => launch_merge!($merge, dev, a, 128),
                    256 => launch_merge!($merge, dev, a, 256),
                    512 => launch_merge!($merge, dev, a, 512),
                    bd => Err(unsupported_block(bd)),
                }
            }

            fn launch_stack(
                dev: &Device,
                src: &Tensor<Self>,
                dst: &mut Tensor<f32>,
                offset: usize,
            ) -> Result<(), Error> {
                let n = src.len();
                kern::$stack::<STACK_BLOCK>::launch(
                    dev,
                    Grid::x(n.div_ceil(STACK_BLOCK)),
                    (src, dst, n as i64, offset as i64),
                )
            }
        }
    };
}

decode_element!(f32, split_f32, merge_f32, stack_f32);
decode_element!(f16, split_f16, merge_f16, stack_f16);
decode_element!(bf16, split_bf16, merge_bf16, stack_bf16);

fn unsupported_block(bd: usize) -> Error {
    Error::Invalid(format!(
        "decode: internal block size {bd} has no kernel; head dims up to {MAX_HEAD_DIM} are supported"
    ))
}

/// The largest head dim (q/k and v) the kernels take.
pub const MAX_HEAD_DIM: usize = 512;

/// Validated decode problem.
struct Plan {
    b: usize,
    sq: usize,
    hq: usize,
    hk: usize,
    d: usize,
    dv: usize,
    rows_per_slot: usize,
    max_blocks: usize,
    paged: bool,
    left: i32,
    right: i32,
    scale: f32,
    softcap: f32,
    slope_bstride: usize,
    block_d: usize,
    num_splits: usize,
}

/// The head tile (`BLOCK_D`) of the split and merge kernels for a head dim `dim`
/// (1..=[`MAX_HEAD_DIM`]) on a device of kind `kind`: the next power of two, at least 16 on
/// the interpreter, at least 64 on a GPU, whose 16- and 32-lane tiles are `cpu_only` (no
/// prebuilt PTX); the kernels mask the padding lanes.
pub(crate) fn block_for(kind: DeviceKind, dim: usize) -> usize {
    let least = match kind {
        DeviceKind::Cpu => 16,
        DeviceKind::Cuda => 64,
    };
    dim.max(least).next_power_of_two()
}

fn plan<T: Element>(
    func: &str,
    dev: &Device,
    q: &Tensor<T>,
    cache: &KvCache<'_, T>,
    params: &DecodeParams<'_>,
    key_range: &Range<usize>,
) -> Result<Plan, Error> {
    let (k, v, seqlens, table) = cache.parts();
    same_device(func, dev, "q", q)?;
    same_device(func, dev, "the K cache", k)?;
    same_device(func, dev, "the V cache", v)?;
    if let Some(t) = table {
        same_device(func, dev, "block_table", t)?;
    }
    if let Some(a) = params.alibi {
        same_device(func, dev, "the ALiBi slopes", a)?;
    }
    let [b, sq, hq, d] = validate::rank::<4>(func, "q", "(B, Sq, Hq, d)", q.shape(), "")?;
    let lead = if table.is_some() {
        "(num_blocks, page_size, Hk, d)"
    } else {
        "(B, S_max, Hk, d)"
    };
    let ks = validate::rank::<4>(func, "the K cache", lead, k.shape(), "")?;
    let vs = validate::rank::<4>(func, "the V cache", lead, v.shape(), "")?;
    if ks[..3] != vs[..3] {
        return Err(invalid(
            func,
            format!(
                "the K cache {:?} and the V cache {:?} differ in their first three axes",
                ks, vs
            ),
        ));
    }
    let (hk, dv) = (ks[2], vs[3]);
    if b == 0 || sq == 0 || hq == 0 || d == 0 {
        return Err(invalid(
            func,
            format!(
                "q has shape {:?}: B, Sq, Hq and d must all be at least 1",
                q.shape()
            ),
        ));
    }
    if hk == 0 || dv == 0 || ks[1] == 0 {
        return Err(invalid(
            func,
            format!(
                "the cache has shape {ks:?} / {vs:?}: Hk, the head dims and the tokens per {} must be at least 1",
                if table.is_some() { "page" } else { "sequence" }
            ),
        ));
    }
    if ks[3] != d {
        return Err(invalid(
            func,
            format!(
                "q has head dim {d} but the K cache has head dim {}; they must match",
                ks[3]
            ),
        ));
    }
    validate::gqa_heads(func, hq, hk)?;
    if d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM {
        return Err(invalid(
            func,
            format!("head dims (d = {d}, dv = {dv}) above {MAX_HEAD_DIM} are not supported"),
        ));
    }
    let lens = validate::host_copy(
        func,
        dev,
        "cache_seqlens",
        seqlens,
        &[b],
        " (one length per sequence of q)",
    )?;
    if let Some(i) = lens.iter().position(|&n| n < 0) {
        return Err(invalid(
            func,
            format!("cache_seqlens[{i}] = {} is negative", lens[i]),
        ));
    }
    if key_range.start > key_range.end {
        return Err(invalid(
            func,
            format!("key_range {key_range:?} is reversed; use lo <= hi"),
        ));
    }
    let rows_per_slot = ks[1];
    let mut max_blocks = 1;
    match table {
        None => {
            if ks[0] != b {
                return Err(invalid(
                    func,
                    format!(
                        "the contiguous cache holds {} sequences but q has batch {b}",
                        ks[0]
                    ),
                ));
            }
            if let Some(i) = lens.iter().position(|&n| n as usize > rows_per_slot) {
                return Err(invalid(
                    func,
                    format!(
                        "cache_seqlens[{i}] = {} exceeds the cache's {rows_per_slot} tokens per sequence",
                        lens[i]
                    ),
                ));
            }
        }
        Some(t) => {
            let ts = t.shape();
            if ts.len() != 2 || ts[0] != b || ts[1] == 0 {
                return Err(invalid(
                    func,
                    format!(
                        "block_table must have shape [{b}, max_blocks] with max_blocks >= 1, got {ts:?}"
                    ),
                ));
            }
            max_blocks = ts[1];
            if t.len() > I32_MAX {
                return Err(invalid(
                    func,
                    format!(
                        "block_table {ts:?} has more than 2^31 entries, beyond the kernels' 32-bit indices"
                    ),
                ));
            }
            let entries = t.to_vec();
            // Only the pages holding keys of `key_range` are read (all of them for a whole
            // step); a shard's table may leave the others unset.
            for (i, &n) in lens.iter().enumerate() {
                let end = (n as usize).min(key_range.end);
                let first = key_range.start / rows_per_slot;
                let pages = end.div_ceil(rows_per_slot);
                if pages > max_blocks {
                    return Err(invalid(
                        func,
                        format!(
                            "sequence {i} reads cached tokens up to {end} = {pages} pages of {rows_per_slot}, but block_table rows have only {max_blocks} entries"
                        ),
                    ));
                }
                let row = &entries[i * max_blocks..(i + 1) * max_blocks];
                if first < pages
                    && let Some(e) = validate::first_out_of_range(&row[first..pages], ks[0])
                {
                    let p = first + e;
                    return Err(invalid(
                        func,
                        format!(
                            "block_table[{i}][{p}] = {} points outside the cache of {} blocks (valid: 0..{})",
                            row[p], ks[0], ks[0]
                        ),
                    ));
                }
            }
        }
    }
    if params.num_splits == 0 || params.num_splits > 65535 {
        return Err(invalid(
            func,
            format!("num_splits = {} must be in 1..=65535", params.num_splits),
        ));
    }
    if b * hk > 65535 {
        return Err(invalid(
            func,
            format!(
                "B * Hk = {} exceeds the grid limit of 65535 programs",
                b * hk
            ),
        ));
    }
    let max_len = lens.iter().copied().max().unwrap_or(0) as usize;
    // Every i32 index the kernels form must fit: q and partial offsets, positions.
    let part_elems = params
        .num_splits
        .checked_mul(b * sq * hq)
        .and_then(|n| n.checked_mul(dv.max(d)));
    if part_elems.is_none_or(|n| n > I32_MAX)
        || q.len() > I32_MAX
        || max_len + sq > I32_MAX / 2
        || rows_per_slot > I32_MAX
    {
        return Err(invalid(
            func,
            "the problem is too large for the kernels' 32-bit indices (q, num_splits * B * Sq * Hq * d and positions must stay below 2^31)",
        ));
    }
    let cap = (max_len + sq) as i64;
    let bound = |x: i64| -> i32 { if x < 0 || x >= cap { -1 } else { x as i32 } };
    let left = bound(params.window.0);
    let mut right = bound(params.window.1);
    if params.causal {
        right = 0;
    }
    validate::softcap(func, params.softcap)?;
    let scale = validate::scale(func, params.scale, d)?;
    let slope_bstride = match params.alibi {
        None => 0,
        Some(a) => validate::alibi_stride(func, dev, "the ALiBi slopes", a, b, hq)?,
    };
    Ok(Plan {
        b,
        sq,
        hq,
        hk,
        d,
        dv,
        rows_per_slot,
        max_blocks,
        paged: table.is_some(),
        left,
        right,
        scale,
        softcap: params.softcap,
        slope_bstride,
        block_d: block_for(tile_kind(dev), d.max(dv)),
        num_splits: params.num_splits,
    })
}

/// Runs the split kernel into fresh f32 partials `(num_splits, B, Sq, Hq, dv)` /
/// `(num_splits, B, Hq, Sq)` (the leading axis dropped when `stacked` is false and there is
/// one split).
fn run_split<T: DecodeElement>(
    dev: &Device,
    q: &Tensor<T>,
    cache: &KvCache<'_, T>,
    params: &DecodeParams<'_>,
    p: &Plan,
    key_range: &Range<usize>,
    stacked: bool,
) -> Result<(Tensor<f32>, Tensor<f32>), Error> {
    let (k, v, seqlens, table) = cache.parts();
    let (o_shape, l_shape) = if stacked {
        (
            vec![p.num_splits, p.b, p.sq, p.hq, p.dv],
            vec![p.num_splits, p.b, p.hq, p.sq],
        )
    } else {
        (vec![p.b, p.sq, p.hq, p.dv], vec![p.b, p.hq, p.sq])
    };
    let mut o_part = dev.zeros::<f32>(o_shape)?;
    let mut lse_part = dev.zeros::<f32>(l_shape)?;
    let dummy_i32 = dev.zeros::<i32>([1])?;
    let dummy_f32 = dev.zeros::<f32>([1])?;
    let group = p.hq / p.hk;
    let clamp = |x: usize| x.min(I32_MAX) as i32;
    let grid = Grid::xyz((group * p.sq).div_ceil(16), p.b * p.hk, p.num_splits);
    T::launch_split(
        dev,
        SplitArgs {
            grid,
            block_d: p.block_d,
            q,
            k,
            v,
            seqlens,
            block_table: table.unwrap_or(&dummy_i32),
            slopes: params.alibi.unwrap_or(&dummy_f32),
            o_part: &mut o_part,
            lse_part: &mut lse_part,
            scalars: [
                p.b as i32,
                p.sq as i32,
                p.hq as i32,
                p.hk as i32,
                p.d as i32,
                p.dv as i32,
                p.rows_per_slot as i32,
                p.max_blocks as i32,
                p.slope_bstride as i32,
                clamp(key_range.start),
                clamp(key_range.end),
                p.left,
                p.right,
            ],
            scale: p.scale,
            softcap: p.softcap,
            paged: p.paged,
            use_softcap: p.softcap > 0.0,
            use_alibi: params.alibi.is_some(),
        },
    )?;
    Ok((o_part, lse_part))
}

/// Merges stacked f32 partials into `(o, lse)` of element type `T`.
fn run_merge<T: DecodeElement>(
    dev: &Device,
    o_parts: &Tensor<f32>,
    lse_parts: &Tensor<f32>,
    nparts: usize,
    [b, sq, h, dv]: [usize; 4],
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    let mut o = dev.zeros::<T>([b, sq, h, dv])?;
    let mut lse = dev.zeros::<f32>([b, h, sq])?;
    T::launch_merge(
        dev,
        MergeArgs {
            block_d: block_for(tile_kind(dev), dv),
            o_parts,
            lse_parts,
            o: &mut o,
            lse: &mut lse,
            nparts: nparts as i32,
            nrows: (b * sq * h) as i32,
            sq: sq as i32,
            h: h as i32,
            dv: dv as i32,
        },
    )?;
    Ok((o, lse))
}

/// Decode attention of `q (B, Sq, Hq, d)` against `cache`, split into `params.num_splits`
/// key ranges per sequence and merged (see the module doc for the exact semantics).
///
/// Returns `(o (B, Sq, Hq, dv), lse (B, Hq, Sq))`, `o` in `T`, `lse` natural-log f32.
pub fn attention<T: DecodeElement>(
    dev: &Device,
    q: &Tensor<T>,
    cache: &KvCache<'_, T>,
    params: &DecodeParams<'_>,
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    let all = 0..usize::MAX;
    let p = plan("decode::attention", dev, q, cache, params, &all)?;
    let (o_parts, lse_parts) = run_split(dev, q, cache, params, &p, &all, true)?;
    run_merge(
        dev,
        &o_parts,
        &lse_parts,
        p.num_splits,
        [p.b, p.sq, p.hq, p.dv],
    )
}

/// One shard of a decode step: attention restricted to the keys at absolute positions
/// `key_range` (intersected with each sequence's `[0, cache_seqlens[b])`), with masks and
/// `ALiBi` at absolute positions, as an offloading worker computes it (SEEDS §3.7). Inside the
/// shard, `params.num_splits` splits it further.
///
/// Returns f32 `(o (B, Sq, Hq, dv), lse (B, Hq, Sq))`; rows with no key in the shard give
/// `o = 0`, `lse = −∞`. [`merge`] of shards covering `[0, Sk)` equals [`attention`].
pub fn partial<T: DecodeElement>(
    dev: &Device,
    q: &Tensor<T>,
    cache: &KvCache<'_, T>,
    params: &DecodeParams<'_>,
    key_range: Range<usize>,
) -> Result<(Tensor<f32>, Tensor<f32>), Error> {
    let p = plan("decode::partial", dev, q, cache, params, &key_range)?;
    if p.num_splits == 1 {
        return run_split(dev, q, cache, params, &p, &key_range, false);
    }
    let (o_parts, lse_parts) = run_split(dev, q, cache, params, &p, &key_range, true)?;
    run_merge(
        dev,
        &o_parts,
        &lse_parts,
        p.num_splits,
        [p.b, p.sq, p.hq, p.dv],
    )
}

/// Exact merge of attention partials over disjoint key sets (SEEDS §3.2): each part is
/// `(o_i (B, Sq, H, dv), lse_i (B, H, Sq))`; returns `(o, lse)` of the same shapes with
/// `lse = ln Σ_i exp(lse_i)` and `o = Σ_i exp(lse_i − lse)·o_i` (computed max-shifted, in f32).
/// Parts with `lse_i = −∞` contribute nothing; if every part has `−∞`, `o = 0`, `lse = −∞`.
/// The result does not depend on the order of the parts beyond f32 rounding.
pub fn merge<T: DecodeElement>(
    dev: &Device,
    parts: &[(&Tensor<T>, &Tensor<f32>)],
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    const F: &str = "decode::merge";
    let Some((o0, _)) = parts.first() else {
        return Err(invalid(
            F,
            "no partial results to merge; pass at least one (o, lse) pair",
        ));
    };
    let [b, sq, h, dv] = validate::rank::<4>(F, "parts[0].o", "(B, Sq, H, dv)", o0.shape(), "")?;
    if b == 0 || sq == 0 || h == 0 || dv == 0 {
        return Err(invalid(
            F,
            format!(
                "parts[0].o has shape {:?}: every axis must be at least 1",
                o0.shape()
            ),
        ));
    }
    if dv > MAX_HEAD_DIM {
        return Err(invalid(
            F,
            format!("head dim {dv} above {MAX_HEAD_DIM} is not supported"),
        ));
    }
    for (i, (o, l)) in parts.iter().enumerate() {
        same_device(F, dev, &format!("parts[{i}].o"), o)?;
        same_device(F, dev, &format!("parts[{i}].lse"), l)?;
        if o.shape() != [b, sq, h, dv] {
            return Err(invalid(
                F,
                format!(
                    "parts[{i}].o has shape {:?} but parts[0].o has {:?}; all parts must match",
                    o.shape(),
                    [b, sq, h, dv]
                ),
            ));
        }
        if l.shape() != [b, h, sq] {
            return Err(invalid(
                F,
                format!(
                    "parts[{i}].lse must have shape (B, H, Sq) = {:?}, got {:?}",
                    [b, h, sq],
                    l.shape()
                ),
            ));
        }
    }
    let n = parts.len();
    let nrows = b * sq * h;
    if n.checked_mul(nrows).is_none_or(|x| x > I32_MAX)
        || nrows.checked_mul(dv).is_none_or(|x| x > I32_MAX)
    {
        return Err(invalid(
            F,
            "too many or too large parts for the kernels' 32-bit indices (parts * B * Sq * H and B * Sq * H * dv must stay below 2^31)",
        ));
    }
    let mut o_stack = dev.zeros::<f32>([n, b, sq, h, dv])?;
    let mut l_stack = dev.zeros::<f32>([n, b, h, sq])?;
    for (i, (o, l)) in parts.iter().enumerate() {
        T::launch_stack(dev, o, &mut o_stack, i * nrows * dv)?;
        f32::launch_stack(dev, l, &mut l_stack, i * nrows)?;
    }
    run_merge(dev, &o_stack, &l_stack, n, [b, sq, h, dv])
}
