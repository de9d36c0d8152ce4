//! Softmax attention references with the `FlashAttention` variants (SEEDS.md §5), decode against
//! a contiguous or paged KV cache, split-KV partials and their exact merge (SEEDS.md §3.2), and
//! the `FlashAttention`-style backward.
//!
//! Port of `attention_ref`, `merge_partials` and `attention_bwd_ref` of `seeds_ref.py`; the
//! varlen, KV-cache and split-KV entry points are compositions of the same per-sequence core
//! with the conventions of `flash_attn_varlen_func` / `flash_attn_with_kvcache`.
//!
//! Conventions (flash-attn ≥ 2.1):
//! * layouts: q `(B, Sq, Hq, d)`, k `(B, Sk, Hk, d)`, v `(B, Sk, Hk, dv)`, output
//!   `(B, Sq, Hq, dv)`, log-sum-exp `(B, Hq, Sq)` in natural log;
//! * GQA/MQA: `Hq % Hk == 0`, query head `h` reads kv head `h / (Hq / Hk)`;
//! * the score of query `i` and key `j` is `s = scale · q_i·k_j` (default scale `1/√d`),
//!   then `s ← c·tanh(s/c)` if softcap `c > 0`, then `s ← s − slope_h·|i + Sk − Sq − j|` with
//!   `ALiBi`, then masking;
//! * masks are aligned to the **bottom-right**: query `i` sits at absolute key position
//!   `i' = i + Sk − Sq`; causal keeps `j ≤ i'`; window `(left, right)` keeps
//!   `i' − left ≤ j ≤ i' + right`, a negative bound meaning unbounded; `key_range = (lo, hi)`
//!   keeps `lo ≤ j < hi` at absolute positions (one shard of a split);
//! * a row with no kept key (e.g. `Sq > Sk` under causal) outputs 0 with `lse = −∞`.

use super::tensor::{expect_finite, expect_ndim, expect_shape};
use super::{RefError, RefResult, Tensor, dot};

/// Variant flags of [`attention_ref`] and friends; `AttnOpts::default()` is plain
/// non-causal attention with scale `1/√d`.
#[derive(Clone, Debug, PartialEq)]
pub struct AttnOpts {
    /// Bottom-right aligned causal mask: query `i` keeps key `j` iff `j ≤ i + Sk − Sq`.
    pub causal: bool,
    /// Sliding window `(left, right)`: keep `i + Sk − Sq − left ≤ j ≤ i + Sk − Sq + right`;
    /// a negative bound (flash-attn's `-1`) means unbounded on that side.
    pub window: (i64, i64),
    /// Softcap `c`: scores become `c·tanh(s/c)` when `c > 0`; `0` disables it.
    pub softcap: f64,
    /// `ALiBi` slopes, shape `(Hq,)` or `(B, Hq)`: the score gets `−slope·|i + Sk − Sq − j|`.
    pub alibi: Option<Tensor>,
    /// Score scale; `None` means `1/√d` with `d` the q/k head dim.
    pub scale: Option<f64>,
    /// Keep only keys `lo ≤ j < hi` (absolute positions): the shard of a split-KV partial.
    pub key_range: Option<(usize, usize)>,
}

impl Default for AttnOpts {
    fn default() -> Self {
        Self {
            causal: false,
            window: (-1, -1),
            softcap: 0.0,
            alibi: None,
            scale: None,
            key_range: None,
        }
    }
}

/// A page table for a paged KV cache: `table` is `(B, max_blocks)` row-major; entry
/// `table[b·max_blocks + p]` is the cache block holding positions `[p·page, (p+1)·page)` of
/// sequence `b`. Only the entries covering a sequence's `cache_seqlens[b]` tokens are read,
/// and each of those must name an existing block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTable<'a> {
    /// Row-major `(B, max_blocks)` block indices.
    pub table: &'a [usize],
    /// Row length of `table`.
    pub max_blocks: usize,
}

/// Head counts and head dims shared by every sequence of one call.
#[derive(Clone, Copy, Debug)]
struct Dims {
    hq: usize,
    hk: usize,
    d: usize,
    dv: usize,
}

/// Validated options.
struct Plan<'a> {
    causal: bool,
    left: Option<i64>,
    right: Option<i64>,
    softcap: f64,
    scale: f64,
    alibi: Option<&'a Tensor>,
    hq: usize,
}

impl Plan<'_> {
    /// `ALiBi` slopes of batch entry `b`, if any.
    fn slopes(&self, b: usize) -> Option<&[f64]> {
        self.alibi.map(|a| {
            if a.ndim() == 1 {
                a.data()
            } else {
                &a.data()[b * self.hq..(b + 1) * self.hq]
            }
        })
    }

    /// Whether query at absolute position `ia` keeps key `j` (causal, window, key range).
    fn keep(&self, range: Option<(usize, usize)>, ia: i64, j: usize) -> bool {
        let jj = j as i64;
        if let Some((lo, hi)) = range
            && (j < lo || j >= hi)
        {
            return false;
        }
        if self.causal && jj > ia {
            return false;
        }
        if let Some(l) = self.left
            && jj < ia.saturating_sub(l)
        {
            return false;
        }
        if let Some(r) = self.right
            && jj > ia.saturating_add(r)
        {
            return false;
        }
        true
    }

    /// `(raw, final)` score of a query row against a key row: raw = scale·q·k; final adds
    /// softcap and `ALiBi` (not the mask).
    fn score(&self, q: &[f64], k: &[f64], slope: Option<f64>, ia: i64, j: usize) -> (f64, f64) {
        let raw = dot(q, k) * self.scale;
        let mut s = raw;
        if self.softcap > 0.0 {
            s = self.softcap * (s / self.softcap).tanh();
        }
        if let Some(sl) = slope {
            s -= sl * (ia - j as i64).abs() as f64;
        }
        (raw, s)
    }
}

/// Validates `opts` for `batch` sequences of `dims`.
fn plan<'a>(
    func: &'static str,
    opts: &'a AttnOpts,
    batch: usize,
    dims: Dims,
) -> RefResult<Plan<'a>> {
    if !(opts.softcap >= 0.0 && opts.softcap.is_finite()) {
        return Err(RefError::new(
            func,
            format!(
                "softcap must be finite and >= 0 (0 disables it), got {}",
                opts.softcap
            ),
        ));
    }
    let scale = match opts.scale {
        Some(s) if !s.is_finite() => {
            return Err(RefError::new(
                func,
                format!("scale must be finite, got {s}"),
            ));
        }
        Some(s) => s,
        None if dims.d == 0 => {
            return Err(RefError::new(
                func,
                "head dim is 0, so the default scale 1/sqrt(d) is undefined",
            ));
        }
        None => 1.0 / (dims.d as f64).sqrt(),
    };
    if let Some((lo, hi)) = opts.key_range
        && lo > hi
    {
        return Err(RefError::new(
            func,
            format!("key_range ({lo}, {hi}) has lo > hi"),
        ));
    }
    if let Some(a) = &opts.alibi {
        let ok = a.shape() == [dims.hq] || a.shape() == [batch, dims.hq];
        if !ok {
            return Err(RefError::new(
                func,
                format!(
                    "alibi slopes must have shape ({},) or ({batch}, {}), got {:?}",
                    dims.hq,
                    dims.hq,
                    a.shape()
                ),
            ));
        }
        expect_finite(func, "alibi", a.data())?;
    }
    Ok(Plan {
        causal: opts.causal,
        left: (opts.window.0 >= 0).then_some(opts.window.0),
        right: (opts.window.1 >= 0).then_some(opts.window.1),
        softcap: opts.softcap,
        scale,
        alibi: opts.alibi.as_ref(),
        hq: dims.hq,
    })
}

/// Checks the head counts: `hk > 0` and `hq % hk == 0`.
fn check_heads(func: &'static str, hq: usize, hk: usize) -> RefResult<()> {
    if hk == 0 || hq == 0 {
        return Err(RefError::new(
            func,
            format!("head counts must be positive, got Hq = {hq}, Hk = {hk}"),
        ));
    }
    if !hq.is_multiple_of(hk) {
        return Err(RefError::new(
            func,
            format!("Hq = {hq} query heads is not a multiple of Hk = {hk} kv heads"),
        ));
    }
    Ok(())
}

/// One sequence: q `(sq, hq, d)`, k `(sk, hk, d)`, v `(sk, hk, dv)`, all contiguous.
struct Seq<'a> {
    q: &'a [f64],
    sq: usize,
    k: &'a [f64],
    v: &'a [f64],
    sk: usize,
}

/// Where [`attend_seq`] writes: `o (sq, hq, dv)` and `lse[h·lse_stride + i]`.
struct SeqOut<'a> {
    o: &'a mut [f64],
    lse: &'a mut [f64],
    lse_stride: usize,
}

/// Attention of one sequence (the oracle's `attention_ref` for one batch entry).
fn attend_seq(
    plan: &Plan<'_>,
    dims: Dims,
    seq: &Seq<'_>,
    slopes: Option<&[f64]>,
    range: Option<(usize, usize)>,
    out: SeqOut<'_>,
) {
    let SeqOut { o, lse, lse_stride } = out;
    let Dims { hq, hk, d, dv } = dims;
    let g = hq / hk;
    let mut s = vec![0.0; seq.sk];
    for h in 0..hq {
        let kh = h / g;
        let slope = slopes.map(|sl| sl[h]);
        for i in 0..seq.sq {
            let ia = i as i64 + seq.sk as i64 - seq.sq as i64;
            let qrow = &seq.q[(i * hq + h) * d..(i * hq + h + 1) * d];
            for (j, sj) in s.iter_mut().enumerate() {
                *sj = if plan.keep(range, ia, j) {
                    let krow = &seq.k[(j * hk + kh) * d..(j * hk + kh + 1) * d];
                    plan.score(qrow, krow, slope, ia, j).1
                } else {
                    f64::NEG_INFINITY
                };
            }
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let m_safe = if m.is_finite() { m } else { 0.0 };
            let mut l = 0.0;
            for sj in s.iter_mut() {
                *sj = (*sj - m_safe).exp();
                l += *sj;
            }
            let orow = &mut o[(i * hq + h) * dv..(i * hq + h + 1) * dv];
            orow.iter_mut().for_each(|x| *x = 0.0);
            let l_div = if l > 0.0 { l } else { 1.0 };
            for (j, &pj) in s.iter().enumerate() {
                if pj == 0.0 {
                    continue;
                }
                let p = pj / l_div;
                let vrow = &seq.v[(j * hk + kh) * dv..(j * hk + kh + 1) * dv];
                for (x, &vv) in orow.iter_mut().zip(vrow) {
                    *x += p * vv;
                }
            }
            lse[h * lse_stride + i] = if l > 0.0 {
                l.ln() + m_safe
            } else {
                f64::NEG_INFINITY
            };
        }
    }
}

/// Validated `(B, Sq, Hq, d)`, `(B, Sk, Hk, d)`, `(B, Sk, Hk, dv)` shapes: `(B, Sq, Sk, dims)`.
fn check_qkv(
    func: &'static str,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
) -> RefResult<(usize, usize, usize, Dims)> {
    let qs = expect_ndim(func, "q (B, Sq, Hq, d)", q, 4)?;
    let ks = expect_ndim(func, "k (B, Sk, Hk, d)", k, 4)?;
    let vs = expect_ndim(func, "v (B, Sk, Hk, dv)", v, 4)?;
    let (b, sq, hq, d) = (qs[0], qs[1], qs[2], qs[3]);
    let (sk, hk) = (ks[1], ks[2]);
    if ks[0] != b || vs[0] != b {
        return Err(RefError::new(
            func,
            format!("batch sizes differ: q {:?}, k {:?}, v {:?}", qs, ks, vs),
        ));
    }
    if ks[3] != d {
        return Err(RefError::new(
            func,
            format!("k head dim {} differs from q head dim {d}", ks[3]),
        ));
    }
    if vs[1] != sk || vs[2] != hk {
        return Err(RefError::new(
            func,
            format!("v shape {vs:?} does not match k shape {ks:?} in (B, Sk, Hk)"),
        ));
    }
    check_heads(func, hq, hk)?;
    Ok((
        b,
        sq,
        sk,
        Dims {
            hq,
            hk,
            d,
            dv: vs[3],
        },
    ))
}

/// Softmax attention with the `FlashAttention` variants (SEEDS.md §5; oracle `attention_ref`).
///
/// For batch `b`, query head `h` (kv head `h/(Hq/Hk)`), query `i` at absolute position
/// `i' = i + Sk − Sq` and key `j`:
/// `s_ij = scale·q_i·k_j`, `s ← c·tanh(s/c)` (softcap `c > 0`), `s ← s − slope_h·|i' − j|`
/// (`ALiBi`), `s = −∞` where masked (causal `j > i'`, window, `key_range`);
/// `lse_i = ln Σ_j exp(s_ij)`, `o_i = Σ_j exp(s_ij − lse_i)·v_j`. A fully masked row gives
/// `o_i = 0`, `lse_i = −∞`.
///
/// q `(B, Sq, Hq, d)`, k `(B, Sk, Hk, d)`, v `(B, Sk, Hk, dv)`. Returns
/// `(o (B, Sq, Hq, dv), lse (B, Hq, Sq))`.
pub fn attention_ref(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    opts: &AttnOpts,
) -> RefResult<(Tensor, Tensor)> {
    const F: &str = "attention_ref";
    let (b, sq, sk, dims) = check_qkv(F, q, k, v)?;
    let plan = plan(F, opts, b, dims)?;
    let Dims { hq, hk, d, dv } = dims;
    let mut o = Tensor::zeros(&[b, sq, hq, dv]);
    let mut lse = Tensor::zeros(&[b, hq, sq]);
    for bi in 0..b {
        let seq = Seq {
            q: &q.data()[bi * sq * hq * d..(bi + 1) * sq * hq * d],
            sq,
            k: &k.data()[bi * sk * hk * d..(bi + 1) * sk * hk * d],
            v: &v.data()[bi * sk * hk * dv..(bi + 1) * sk * hk * dv],
            sk,
        };
        attend_seq(
            &plan,
            dims,
            &seq,
            plan.slopes(bi),
            opts.key_range,
            SeqOut {
                o: &mut o.data_mut()[bi * sq * hq * dv..(bi + 1) * sq * hq * dv],
                lse: &mut lse.data_mut()[bi * hq * sq..(bi + 1) * hq * sq],
                lse_stride: sq,
            },
        );
    }
    Ok((o, lse))
}

/// Checks a `cu_seqlens` array: `B + 1` non-decreasing offsets from 0 to `total`.
fn check_cu_seqlens(func: &'static str, what: &str, cu: &[usize], total: usize) -> RefResult<()> {
    if cu.is_empty() {
        return Err(RefError::new(
            func,
            format!("{what} must have B + 1 >= 1 entries, got none"),
        ));
    }
    if cu[0] != 0 {
        return Err(RefError::new(
            func,
            format!("{what} must start at 0, got {}", cu[0]),
        ));
    }
    if let Some(i) = cu.windows(2).position(|w| w[1] < w[0]) {
        return Err(RefError::new(
            func,
            format!(
                "{what} decreases at index {}: {} then {}",
                i + 1,
                cu[i],
                cu[i + 1]
            ),
        ));
    }
    if cu[cu.len() - 1] != total {
        return Err(RefError::new(
            func,
            format!(
                "{what} ends at {} but the packed tensor has {total} tokens",
                cu[cu.len() - 1]
            ),
        ));
    }
    Ok(())
}

/// Variable-length (packed) attention, `flash_attn_varlen_func` semantics (SEEDS.md §5,
/// "varlen / ragged"): sequence `b` owns query rows `cu_seqlens_q[b]..cu_seqlens_q[b+1]` and
/// key rows `cu_seqlens_k[b]..cu_seqlens_k[b+1]`; each sequence is attended exactly as
/// [`attention_ref`] with its own `Sq_b`, `Sk_b` (masks are per sequence and bottom-right
/// aligned within it; `key_range` is relative to the sequence start; `ALiBi` slopes `(Hq,)` or
/// `(B, Hq)`).
///
/// q `(total_q, Hq, d)`, k `(total_k, Hk, d)`, v `(total_k, Hk, dv)`. Returns
/// `(o (total_q, Hq, dv), lse (Hq, total_q))` (the flash-attn varlen LSE layout).
pub fn attention_varlen_ref(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    cu_seqlens_q: &[usize],
    cu_seqlens_k: &[usize],
    opts: &AttnOpts,
) -> RefResult<(Tensor, Tensor)> {
    const F: &str = "attention_varlen_ref";
    let qs = expect_ndim(F, "q (total_q, Hq, d)", q, 3)?;
    let ks = expect_ndim(F, "k (total_k, Hk, d)", k, 3)?;
    let vs = expect_ndim(F, "v (total_k, Hk, dv)", v, 3)?;
    let (tq, hq, d) = (qs[0], qs[1], qs[2]);
    let (tk, hk) = (ks[0], ks[1]);
    if ks[2] != d {
        return Err(RefError::new(
            F,
            format!("k head dim {} differs from q head dim {d}", ks[2]),
        ));
    }
    if vs[0] != tk || vs[1] != hk {
        return Err(RefError::new(
            F,
            format!("v shape {vs:?} does not match k shape {ks:?} in (total_k, Hk)"),
        ));
    }
    check_heads(F, hq, hk)?;
    if cu_seqlens_q.len() != cu_seqlens_k.len() {
        return Err(RefError::new(
            F,
            format!(
                "cu_seqlens_q has {} entries but cu_seqlens_k has {}",
                cu_seqlens_q.len(),
                cu_seqlens_k.len()
            ),
        ));
    }
    check_cu_seqlens(F, "cu_seqlens_q", cu_seqlens_q, tq)?;
    check_cu_seqlens(F, "cu_seqlens_k", cu_seqlens_k, tk)?;
    let batch = cu_seqlens_q.len() - 1;
    let dims = Dims {
        hq,
        hk,
        d,
        dv: vs[2],
    };
    let plan = plan(F, opts, batch, dims)?;
    let dv = dims.dv;
    let mut o = Tensor::zeros(&[tq, hq, dv]);
    let mut lse = Tensor::zeros(&[hq, tq]);
    for bi in 0..batch {
        let (q0, q1) = (cu_seqlens_q[bi], cu_seqlens_q[bi + 1]);
        let (k0, k1) = (cu_seqlens_k[bi], cu_seqlens_k[bi + 1]);
        let seq = Seq {
            q: &q.data()[q0 * hq * d..q1 * hq * d],
            sq: q1 - q0,
            k: &k.data()[k0 * hk * d..k1 * hk * d],
            v: &v.data()[k0 * hk * dv..k1 * hk * dv],
            sk: k1 - k0,
        };
        attend_seq(
            &plan,
            dims,
            &seq,
            plan.slopes(bi),
            opts.key_range,
            SeqOut {
                o: &mut o.data_mut()[q0 * hq * dv..q1 * hq * dv],
                lse: &mut lse.data_mut()[q0..],
                lse_stride: tq,
            },
        );
    }
    Ok((o, lse))
}

/// Where token `t` of sequence `b` lives in a contiguous or paged cache.
struct CacheMap<'a> {
    table: Option<BlockTable<'a>>,
    /// Tokens per cache row (`S_max` for contiguous, page size for paged).
    rows: usize,
}

impl CacheMap<'_> {
    /// Index of the `(b, t)` token among the cache's `(·, ·)` leading two axes, flattened.
    fn token(&self, b: usize, t: usize) -> usize {
        match self.table {
            None => b * self.rows + t,
            Some(bt) => bt.table[b * bt.max_blocks + t / self.rows] * self.rows + t % self.rows,
        }
    }
}

/// Validates a cache `(B | num_blocks, S_max | page, Hk, d)` pair and the page table for
/// sequences needing `need[b]` tokens; returns the map and `(Hk, d, dv)`.
fn check_cache<'a>(
    func: &'static str,
    k_cache: &Tensor,
    v_cache: &Tensor,
    block_table: Option<BlockTable<'a>>,
    need: &[usize],
) -> RefResult<(CacheMap<'a>, usize, usize, usize)> {
    let lead = if block_table.is_some() {
        "(num_blocks, page_size, Hk, d)"
    } else {
        "(B, S_max, Hk, d)"
    };
    let ks = expect_ndim(func, &format!("k_cache {lead}"), k_cache, 4)?;
    let vs = expect_ndim(func, &format!("v_cache {lead}"), v_cache, 4)?;
    if ks[..3] != vs[..3] {
        return Err(RefError::new(
            func,
            format!("k_cache {ks:?} and v_cache {vs:?} differ in their first three axes"),
        ));
    }
    let batch = need.len();
    let rows = ks[1];
    match block_table {
        None => {
            if ks[0] != batch {
                return Err(RefError::new(
                    func,
                    format!(
                        "contiguous cache holds {} sequences but {batch} are given",
                        ks[0]
                    ),
                ));
            }
            if let Some(b) = need.iter().position(|&n| n > rows) {
                return Err(RefError::new(
                    func,
                    format!(
                        "sequence {b} needs {} cached tokens but the cache holds {rows}",
                        need[b]
                    ),
                ));
            }
        }
        Some(bt) => {
            if rows == 0 {
                return Err(RefError::new(func, "paged cache has page size 0"));
            }
            if bt.table.len() != batch * bt.max_blocks {
                return Err(RefError::new(
                    func,
                    format!(
                        "block_table has {} entries, expected B * max_blocks = {batch} * {}",
                        bt.table.len(),
                        bt.max_blocks
                    ),
                ));
            }
            for (b, &n) in need.iter().enumerate() {
                let pages = n.div_ceil(rows);
                if pages > bt.max_blocks {
                    return Err(RefError::new(
                        func,
                        format!(
                            "sequence {b} needs {n} tokens = {pages} pages of {rows}, but block_table rows have {} entries",
                            bt.max_blocks
                        ),
                    ));
                }
                for p in 0..pages {
                    let blk = bt.table[b * bt.max_blocks + p];
                    if blk >= ks[0] {
                        return Err(RefError::new(
                            func,
                            format!(
                                "block_table[{b}][{p}] = {blk} points outside the cache of {} blocks",
                                ks[0]
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok((
        CacheMap {
            table: block_table,
            rows,
        },
        ks[2],
        ks[3],
        vs[3],
    ))
}

/// Checks q `(B, Sq, Hq, d)` against a cache; returns `(B, Sq, dims)`.
fn check_decode_q(
    func: &'static str,
    q: &Tensor,
    cache_seqlens: &[usize],
    hk: usize,
    d: usize,
    dv: usize,
) -> RefResult<(usize, usize, Dims)> {
    let qs = expect_ndim(func, "q (B, Sq, Hq, d)", q, 4)?;
    if qs[0] != cache_seqlens.len() {
        return Err(RefError::new(
            func,
            format!(
                "q has batch {} but cache_seqlens has {} entries",
                qs[0],
                cache_seqlens.len()
            ),
        ));
    }
    if qs[3] != d {
        return Err(RefError::new(
            func,
            format!("q head dim {} differs from the cache head dim {d}", qs[3]),
        ));
    }
    check_heads(func, qs[2], hk)?;
    Ok((
        qs[0],
        qs[1],
        Dims {
            hq: qs[2],
            hk,
            d,
            dv,
        },
    ))
}

/// Gathers sequence `b`'s first `n` cached tokens into contiguous `(n, Hk, ·)` buffers.
fn gather(
    map: &CacheMap<'_>,
    k_cache: &Tensor,
    v_cache: &Tensor,
    b: usize,
    n: usize,
    dims: Dims,
) -> (Vec<f64>, Vec<f64>) {
    let (kw, vw) = (dims.hk * dims.d, dims.hk * dims.dv);
    let mut k = Vec::with_capacity(n * kw);
    let mut v = Vec::with_capacity(n * vw);
    for t in 0..n {
        let r = map.token(b, t);
        k.extend_from_slice(&k_cache.data()[r * kw..(r + 1) * kw]);
        v.extend_from_slice(&v_cache.data()[r * vw..(r + 1) * vw]);
    }
    (k, v)
}

/// Decode/prefill attention against a KV cache, `flash_attn_with_kvcache` semantics
/// (SEEDS.md §5 "KV cache decode", "paged KV"): sequence `b` attends to the first
/// `cache_seqlens[b]` cached tokens (`Sk_b = cache_seqlens[b]`, masks bottom-right aligned on
/// it), exactly as [`attention_ref`] over those keys.
///
/// Without a block table the cache is contiguous, `(B, S_max, Hk, d|dv)`, token `t` of
/// sequence `b` at `[b, t]`. With one it is paged, `(num_blocks, page_size, Hk, d|dv)` with any
/// page size ≥ 1, token `t` at `[table[b][t / page_size], t % page_size]`.
///
/// q `(B, Sq, Hq, d)`. Returns `(o (B, Sq, Hq, dv), lse (B, Hq, Sq))`.
pub fn attention_with_kvcache_ref(
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    block_table: Option<BlockTable<'_>>,
    cache_seqlens: &[usize],
    opts: &AttnOpts,
) -> RefResult<(Tensor, Tensor)> {
    const F: &str = "attention_with_kvcache_ref";
    let mut parts = decode_partials(F, q, k_cache, v_cache, block_table, cache_seqlens, opts, 1)?;
    Ok(parts.remove(0))
}

/// Split-KV (flash-decoding) partials against a KV cache (SEEDS.md §3.2, §3.7, §5
/// "split-KV"): sequence `b`'s keys `[0, Sk_b)` are cut by [`split_ranges`] into `num_splits`
/// ranges (some empty when `num_splits > Sk_b`), and partial `p` is the attention of
/// [`attention_with_kvcache_ref`] restricted to range `p` (intersected with
/// `opts.key_range`), with masks and `ALiBi` at absolute positions.
///
/// Returns `num_splits` pairs `(o_p (B, Sq, Hq, dv), lse_p (B, Hq, Sq))`; an empty range gives
/// `o_p = 0`, `lse_p = −∞`. [`merge_partials`] of them equals the unsplit attention.
pub fn attention_split_kv_ref(
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    block_table: Option<BlockTable<'_>>,
    cache_seqlens: &[usize],
    opts: &AttnOpts,
    num_splits: usize,
) -> RefResult<Vec<(Tensor, Tensor)>> {
    decode_partials(
        "attention_split_kv_ref",
        q,
        k_cache,
        v_cache,
        block_table,
        cache_seqlens,
        opts,
        num_splits,
    )
}

#[allow(clippy::too_many_arguments)]
fn decode_partials(
    func: &'static str,
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    block_table: Option<BlockTable<'_>>,
    cache_seqlens: &[usize],
    opts: &AttnOpts,
    num_splits: usize,
) -> RefResult<Vec<(Tensor, Tensor)>> {
    if num_splits == 0 {
        return Err(RefError::new(func, "num_splits must be >= 1"));
    }
    let (map, hk, d, dv) = check_cache(func, k_cache, v_cache, block_table, cache_seqlens)?;
    let (b, sq, dims) = check_decode_q(func, q, cache_seqlens, hk, d, dv)?;
    let plan = plan(func, opts, b, dims)?;
    let hq = dims.hq;
    let mut parts: Vec<(Tensor, Tensor)> = (0..num_splits)
        .map(|_| (Tensor::zeros(&[b, sq, hq, dv]), Tensor::zeros(&[b, hq, sq])))
        .collect();
    for (bi, &sk) in cache_seqlens.iter().enumerate() {
        let (k, v) = gather(&map, k_cache, v_cache, bi, sk, dims);
        let seq = Seq {
            q: &q.data()[bi * sq * hq * d..(bi + 1) * sq * hq * d],
            sq,
            k: &k,
            v: &v,
            sk,
        };
        for (p, (lo, hi)) in split_ranges(sk, num_splits)?.into_iter().enumerate() {
            let range = match opts.key_range {
                Some((a, z)) => (lo.max(a), hi.min(z).max(lo.max(a))),
                None => (lo, hi),
            };
            let (o, lse) = &mut parts[p];
            attend_seq(
                &plan,
                dims,
                &seq,
                plan.slopes(bi),
                Some(range),
                SeqOut {
                    o: &mut o.data_mut()[bi * sq * hq * dv..(bi + 1) * sq * hq * dv],
                    lse: &mut lse.data_mut()[bi * hq * sq..(bi + 1) * hq * sq],
                    lse_stride: sq,
                },
            );
        }
    }
    Ok(parts)
}

/// The key ranges of a split-KV launch: `[0, sk)` cut into `num_splits` consecutive ranges of
/// `ceil(sk / num_splits)` keys (the last shorter, trailing ones empty when
/// `num_splits > sk`), as flash-decoding partitions the key axis.
pub fn split_ranges(sk: usize, num_splits: usize) -> RefResult<Vec<(usize, usize)>> {
    if num_splits == 0 {
        return Err(RefError::new("split_ranges", "num_splits must be >= 1"));
    }
    let chunk = sk.div_ceil(num_splits);
    Ok((0..num_splits)
        .map(|p| ((p * chunk).min(sk), ((p + 1) * chunk).min(sk)))
        .collect())
}

/// Appends new tokens to a KV cache in place, as `flash_attn_with_kvcache(k=…, v=…)` does
/// before attending (SEEDS.md §5 "KV cache decode"): token `s` of `k_new[b]`/`v_new[b]` is
/// written at position `cache_seqlens[b] + s` of sequence `b` (through the block table when
/// paged). Afterwards attend with `cache_seqlens[b] + S_new`. Every check runs before the
/// first write, so on error the cache is unchanged.
///
/// `k_new` `(B, S_new, Hk, d)`, `v_new` `(B, S_new, Hk, dv)`.
pub fn kvcache_append(
    k_cache: &mut Tensor,
    v_cache: &mut Tensor,
    block_table: Option<BlockTable<'_>>,
    cache_seqlens: &[usize],
    k_new: &Tensor,
    v_new: &Tensor,
) -> RefResult<()> {
    const F: &str = "kvcache_append";
    let kn = expect_ndim(F, "k_new (B, S_new, Hk, d)", k_new, 4)?;
    let vn = expect_ndim(F, "v_new (B, S_new, Hk, dv)", v_new, 4)?;
    if kn[..3] != vn[..3] {
        return Err(RefError::new(
            F,
            format!("k_new {kn:?} and v_new {vn:?} differ in (B, S_new, Hk)"),
        ));
    }
    if kn[0] != cache_seqlens.len() {
        return Err(RefError::new(
            F,
            format!(
                "k_new has batch {} but cache_seqlens has {} entries",
                kn[0],
                cache_seqlens.len()
            ),
        ));
    }
    let s_new = kn[1];
    let need: Vec<usize> = cache_seqlens
        .iter()
        .map(|&n| n.saturating_add(s_new))
        .collect();
    let (map, hk, d, dv) = check_cache(F, k_cache, v_cache, block_table, &need)?;
    if kn[2] != hk || kn[3] != d || vn[3] != dv {
        return Err(RefError::new(
            F,
            format!(
                "new tokens k {kn:?} / v {vn:?} do not match the cache's (Hk, d, dv) = ({hk}, {d}, {dv})"
            ),
        ));
    }
    let (kw, vw) = (hk * d, hk * dv);
    for (b, &n) in cache_seqlens.iter().enumerate() {
        for s in 0..s_new {
            let r = map.token(b, n + s);
            let src = b * s_new + s;
            k_cache.data_mut()[r * kw..(r + 1) * kw]
                .copy_from_slice(&k_new.data()[src * kw..(src + 1) * kw]);
            v_cache.data_mut()[r * vw..(r + 1) * vw]
                .copy_from_slice(&v_new.data()[src * vw..(src + 1) * vw]);
        }
    }
    Ok(())
}

/// Exact merge of attention over disjoint key shards (SEEDS.md §3.2; oracle `merge_partials`;
/// Lamina §4.2.2 / the flash-decoding combine), in the stable log-sum-exp form:
/// `M = max_p lse_p`, `lse = M + ln Σ_p exp(lse_p − M)`, `o = Σ_p exp(lse_p − lse)·o_p`.
/// Empty shards (`lse_p = −∞`) weigh 0; if every shard is empty, `o = 0`, `lse = −∞`.
///
/// `outs`: `P ≥ 1` normalised partial outputs `(B, Sq, H, dv)`; `lses`: their `(B, H, Sq)`
/// natural-log LSEs. Returns `(o (B, Sq, H, dv), lse (B, H, Sq))`.
pub fn merge_partials(outs: &[Tensor], lses: &[Tensor]) -> RefResult<(Tensor, Tensor)> {
    const F: &str = "merge_partials";
    if outs.is_empty() {
        return Err(RefError::new(F, "no partial results to merge"));
    }
    if outs.len() != lses.len() {
        return Err(RefError::new(
            F,
            format!("{} outputs but {} LSEs", outs.len(), lses.len()),
        ));
    }
    let os = expect_ndim(F, "outs[0] (B, Sq, H, dv)", &outs[0], 4)?.to_vec();
    let (b, sq, h, dv) = (os[0], os[1], os[2], os[3]);
    for (p, (o, l)) in outs.iter().zip(lses).enumerate() {
        expect_shape(F, &format!("outs[{p}]"), o, &os)?;
        expect_shape(F, &format!("lses[{p}]"), l, &[b, h, sq])?;
        if let Some(x) = l.data().iter().find(|x| x.is_nan() || **x == f64::INFINITY) {
            return Err(RefError::new(
                F,
                format!("lses[{p}] holds {x}; an LSE must be finite or -inf"),
            ));
        }
    }
    let mut o = Tensor::zeros(&[b, sq, h, dv]);
    let mut lse = Tensor::zeros(&[b, h, sq]);
    let mut w = vec![0.0; outs.len()];
    for bi in 0..b {
        for hi in 0..h {
            for i in 0..sq {
                let li = (bi * h + hi) * sq + i;
                let m = lses
                    .iter()
                    .map(|l| l.data()[li])
                    .fold(f64::NEG_INFINITY, f64::max);
                let m_safe = if m.is_finite() { m } else { 0.0 };
                let mut tot = 0.0;
                for (wp, l) in w.iter_mut().zip(lses) {
                    *wp = (l.data()[li] - m_safe).exp();
                    tot += *wp;
                }
                lse.data_mut()[li] = if tot > 0.0 {
                    tot.ln() + m_safe
                } else {
                    f64::NEG_INFINITY
                };
                let tot_div = if tot > 0.0 { tot } else { 1.0 };
                let oi = ((bi * sq + i) * h + hi) * dv;
                for (wp, op) in w.iter().zip(outs) {
                    let c = wp / tot_div;
                    for x in 0..dv {
                        o.data_mut()[oi + x] += c * op.data()[oi + x];
                    }
                }
            }
        }
    }
    Ok((o, lse))
}

/// `FlashAttention`-style backward of [`attention_ref`] (SEEDS.md §5 "Backward"; oracle
/// `attention_bwd_ref`), recomputing `P = exp(s − lse)` on kept keys:
/// `D_i = Σ dO_i·o_i`, `dP_ij = dO_i·v_j`, `dS = P ⊙ (dP − D)` (softcap: `dS ·= 1 − tanh²(s_raw/c)`),
/// `dq = scale·dS·k`, `dk = scale·dSᵀ·q`, `dv = Pᵀ·dO`, with dk/dv summed over each GQA group.
/// `opts.key_range` masks as in the forward.
///
/// Shapes as [`attention_ref`]; `d_o` is `(B, Sq, Hq, dv)`. Returns `(dq, dk, dv)` shaped like
/// `(q, k, v)`.
pub fn attention_bwd_ref(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    d_o: &Tensor,
    opts: &AttnOpts,
) -> RefResult<(Tensor, Tensor, Tensor)> {
    const F: &str = "attention_bwd_ref";
    let (b, sq, sk, dims) = check_qkv(F, q, k, v)?;
    let Dims { hq, hk, d, dv } = dims;
    expect_shape(F, "dO", d_o, &[b, sq, hq, dv])?;
    let plan = plan(F, opts, b, dims)?;
    let (o, lse) = attention_ref(q, k, v, opts).map_err(|e| RefError::new(F, e.msg))?;
    let g = hq / hk;
    let mut dq = Tensor::zeros(q.shape());
    let mut dk = Tensor::zeros(k.shape());
    let mut dvt = Tensor::zeros(v.shape());
    let (qd, kd, vd, od, dod) = (q.data(), k.data(), v.data(), o.data(), d_o.data());
    for bi in 0..b {
        let slopes = plan.slopes(bi);
        for h in 0..hq {
            let kh = h / g;
            let slope = slopes.map(|s| s[h]);
            for i in 0..sq {
                let ia = i as i64 + sk as i64 - sq as i64;
                let l = lse.data()[(bi * hq + h) * sq + i];
                let l_safe = if l.is_finite() { l } else { 0.0 };
                let qi = ((bi * sq + i) * hq + h) * d;
                let oi = ((bi * sq + i) * hq + h) * dv;
                let dd = dot(&dod[oi..oi + dv], &od[oi..oi + dv]);
                for j in 0..sk {
                    if !plan.keep(opts.key_range, ia, j) {
                        continue;
                    }
                    let kj = ((bi * sk + j) * hk + kh) * d;
                    let vj = ((bi * sk + j) * hk + kh) * dv;
                    let (raw, s) = plan.score(&qd[qi..qi + d], &kd[kj..kj + d], slope, ia, j);
                    let p = (s - l_safe).exp();
                    let dp = dot(&dod[oi..oi + dv], &vd[vj..vj + dv]);
                    let mut ds = p * (dp - dd);
                    if plan.softcap > 0.0 {
                        let t = (raw / plan.softcap).tanh();
                        ds *= 1.0 - t * t;
                    }
                    for x in 0..d {
                        dq.data_mut()[qi + x] += ds * kd[kj + x] * plan.scale;
                        dk.data_mut()[kj + x] += ds * qd[qi + x] * plan.scale;
                    }
                    for x in 0..dv {
                        dvt.data_mut()[vj + x] += p * dod[oi + x];
                    }
                }
            }
        }
    }
    Ok((dq, dk, dvt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tests::{randn, rng};

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        a.max_abs_diff(b).expect("shapes differ")
    }

    fn variants(hq: usize) -> Vec<(&'static str, AttnOpts)> {
        let slopes: Vec<f64> = (0..hq)
            .map(|h| 0.1 + 0.9 * h as f64 / (hq - 1).max(1) as f64)
            .collect();
        vec![
            ("none", AttnOpts::default()),
            (
                "causal",
                AttnOpts {
                    causal: true,
                    ..AttnOpts::default()
                },
            ),
            (
                "softcap",
                AttnOpts {
                    softcap: 5.0,
                    ..AttnOpts::default()
                },
            ),
            (
                "alibi",
                AttnOpts {
                    alibi: Some(Tensor::new(&[hq], slopes).unwrap()),
                    ..AttnOpts::default()
                },
            ),
            (
                "window_causal",
                AttnOpts {
                    causal: true,
                    window: (10, 0),
                    ..AttnOpts::default()
                },
            ),
        ]
    }

    /// Oracle self-test: attention over disjoint key shards, merged, equals the full attention.
    #[test]
    fn split_and_merge_equals_full() {
        let mut r = rng(1);
        let q = randn(&mut r, &[2, 3, 8, 16], 1.0);
        let k = randn(&mut r, &[2, 50, 2, 16], 1.0);
        let v = randn(&mut r, &[2, 50, 2, 16], 1.0);
        let cuts = [0, 7, 20, 21, 50];
        for (name, opts) in variants(8) {
            let (o, lse) = attention_ref(&q, &k, &v, &opts).unwrap();
            let (mut os, mut ls) = (vec![], vec![]);
            for w in cuts.windows(2) {
                let o2 = AttnOpts {
                    key_range: Some((w[0], w[1])),
                    ..opts.clone()
                };
                let (po, pl) = attention_ref(&q, &k, &v, &o2).unwrap();
                os.push(po);
                ls.push(pl);
            }
            let (mo, ml) = merge_partials(&os, &ls).unwrap();
            assert!(max_diff(&mo, &o) < 1e-14, "{name}: {}", max_diff(&mo, &o));
            assert!(
                max_diff(&ml, &lse) < 1e-13,
                "{name}: {}",
                max_diff(&ml, &lse)
            );
            // Order independence: reversed shards give the same merge to rounding.
            os.reverse();
            ls.reverse();
            let (ro, rl) = merge_partials(&os, &ls).unwrap();
            assert!(
                max_diff(&ro, &mo) < 1e-14 && max_diff(&rl, &ml) < 1e-13,
                "{name}"
            );
        }
    }

    #[test]
    fn merge_of_empty_shards_is_zero_and_neg_inf_and_one_shard_is_identity() {
        let mut r = rng(2);
        let o = randn(&mut r, &[1, 2, 3, 4], 1.0);
        let l = randn(&mut r, &[1, 3, 2], 1.0);
        let (mo, ml) = merge_partials(std::slice::from_ref(&o), std::slice::from_ref(&l)).unwrap();
        assert!(max_diff(&mo, &o) < 1e-15 && max_diff(&ml, &l) < 1e-15);
        let empty_o = Tensor::zeros(&[1, 2, 3, 4]);
        let empty_l = Tensor::full(&[1, 3, 2], f64::NEG_INFINITY);
        let (mo, ml) = merge_partials(
            &[empty_o.clone(), empty_o.clone()],
            &[empty_l.clone(), empty_l.clone()],
        )
        .unwrap();
        assert!(mo.data().iter().all(|&x| x == 0.0));
        assert!(ml.data().iter().all(|&x| x == f64::NEG_INFINITY));
        // An empty shard next to a real one changes nothing.
        let (mo, ml) = merge_partials(&[empty_o, o.clone()], &[empty_l, l.clone()]).unwrap();
        assert!(max_diff(&mo, &o) < 1e-15 && max_diff(&ml, &l) < 1e-15);
    }

    /// Oracle self-test: fully masked rows (Sq > Sk, causal bottom-right) give 0 and −∞.
    #[test]
    fn fully_masked_rows_are_zero_with_neg_inf_lse() {
        let mut r = rng(3);
        let q = randn(&mut r, &[1, 5, 2, 8], 1.0);
        let k = randn(&mut r, &[1, 2, 1, 8], 1.0);
        let v = randn(&mut r, &[1, 2, 1, 8], 1.0);
        let opts = AttnOpts {
            causal: true,
            ..AttnOpts::default()
        };
        let (o, lse) = attention_ref(&q, &k, &v, &opts).unwrap();
        for h in 0..2 {
            for i in 0..5 {
                let l = lse[&[0, h, i][..]];
                if i < 3 {
                    assert_eq!(l, f64::NEG_INFINITY);
                    assert!((0..8).all(|c| o[&[0, i, h, c][..]] == 0.0));
                } else {
                    assert!(l.is_finite());
                }
            }
        }
        // Row 3 (absolute position 0) sees only key 0: its output is v[0].
        for c in 0..8 {
            assert!((o[&[0, 3, 1, c][..]] - v[&[0, 0, 0, c][..]]).abs() < 1e-15);
        }
    }

    #[test]
    fn gqa_equals_mha_with_repeated_kv_and_default_scale_is_inv_sqrt_d() {
        let mut r = rng(4);
        let q = randn(&mut r, &[2, 4, 6, 5], 1.0);
        let k = randn(&mut r, &[2, 7, 2, 5], 1.0);
        let v = randn(&mut r, &[2, 7, 2, 3], 1.0);
        let rep = |t: &Tensor| {
            let s = t.shape();
            Tensor::from_fn(&[s[0], s[1], 6, s[3]], |i| {
                t[&[i[0], i[1], i[2] / 3, i[3]][..]]
            })
        };
        let opts = AttnOpts {
            causal: true,
            ..AttnOpts::default()
        };
        let (o1, l1) = attention_ref(&q, &k, &v, &opts).unwrap();
        let (o2, l2) = attention_ref(&q, &rep(&k), &rep(&v), &opts).unwrap();
        assert_eq!(o1, o2);
        assert_eq!(l1, l2);
        let explicit = AttnOpts {
            scale: Some(1.0 / 5f64.sqrt()),
            ..opts
        };
        assert_eq!(attention_ref(&q, &k, &v, &explicit).unwrap(), (o1, l1));
    }

    fn finite_diff(
        f: &dyn Fn(&Tensor, &Tensor, &Tensor) -> f64,
        args: [&Tensor; 3],
        which: usize,
    ) -> Tensor {
        let e = 1e-6;
        Tensor::from_fn(args[which].shape(), |idx| {
            let mut p = args.map(|t| t.clone());
            let mut m = args.map(|t| t.clone());
            p[which][idx] += e;
            m[which][idx] -= e;
            (f(&p[0], &p[1], &p[2]) - f(&m[0], &m[1], &m[2])) / (2.0 * e)
        })
    }

    /// Oracle self-test: the backward agrees with central finite differences.
    #[test]
    fn backward_matches_finite_differences() {
        let mut r = rng(5);
        let q = randn(&mut r, &[1, 4, 4, 8], 1.0);
        let k = randn(&mut r, &[1, 6, 2, 8], 1.0);
        let v = randn(&mut r, &[1, 6, 2, 8], 1.0);
        let d_o = randn(&mut r, &[1, 4, 4, 8], 1.0);
        let cases = [
            AttnOpts {
                causal: true,
                ..AttnOpts::default()
            },
            AttnOpts {
                softcap: 3.0,
                alibi: Some(Tensor::new(&[4], vec![0.1, 0.2, 0.3, 0.4]).unwrap()),
                ..AttnOpts::default()
            },
            AttnOpts {
                window: (2, 1),
                ..AttnOpts::default()
            },
        ];
        for opts in cases {
            let (dq, dk, dv) = attention_bwd_ref(&q, &k, &v, &d_o, &opts).unwrap();
            let f = |a: &Tensor, b: &Tensor, c: &Tensor| {
                let (o, _) = attention_ref(a, b, c, &opts).unwrap();
                crate::reference::dot(o.data(), d_o.data())
            };
            for (which, g) in [(0, &dq), (1, &dk), (2, &dv)] {
                let num = finite_diff(&f, [&q, &k, &v], which);
                let err = max_diff(&num, g);
                assert!(err < 1e-7, "{opts:?} arg {which}: {err}");
            }
        }
    }

    /// A random paged layout of a contiguous cache: `(k_pages, v_pages, table, max_blocks)`.
    fn page(
        kc: &Tensor,
        vc: &Tensor,
        lens: &[usize],
        page: usize,
        seed: u64,
    ) -> (Tensor, Tensor, Vec<usize>, usize) {
        let s = kc.shape();
        let (hk, d, dv) = (s[2], s[3], vc.shape()[3]);
        let pages: Vec<usize> = lens.iter().map(|l| l.div_ceil(page)).collect();
        let max_blocks = pages.iter().copied().max().unwrap_or(0) + 1;
        let nblk: usize = pages.iter().sum::<usize>() + 3;
        // A deterministic shuffle of the block ids.
        let mut ids: Vec<usize> = (0..nblk).collect();
        let mut r = rng(seed);
        for i in (1..nblk).rev() {
            ids.swap(i, r.random_range(0..=i));
        }
        let mut table = vec![usize::MAX; lens.len() * max_blocks];
        let mut kp = randn(&mut r, &[nblk, page, hk, d], 1.0);
        let mut vp = randn(&mut r, &[nblk, page, hk, dv], 1.0);
        let mut next = 0;
        for (b, &n) in pages.iter().enumerate() {
            for p in 0..n {
                let blk = ids[next];
                next += 1;
                table[b * max_blocks + p] = blk;
                for o in 0..page {
                    let t = p * page + o;
                    if t >= lens[b] {
                        continue;
                    }
                    for h in 0..hk {
                        for c in 0..d {
                            kp[&[blk, o, h, c][..]] = kc[&[b, t, h, c][..]];
                        }
                        for c in 0..dv {
                            vp[&[blk, o, h, c][..]] = vc[&[b, t, h, c][..]];
                        }
                    }
                }
            }
        }
        (kp, vp, table, max_blocks)
    }

    use rand::Rng;

    #[test]
    fn paged_equals_contiguous_and_split_kv_merges_to_unsplit() {
        let mut r = rng(6);
        let lens = [1, 17, 9, 32];
        let (hq, hk, d, dv) = (4, 2, 6, 5);
        let kc = randn(&mut r, &[4, 33, hk, d], 1.0);
        let vc = randn(&mut r, &[4, 33, hk, dv], 1.0);
        for sq in [1, 3] {
            let q = randn(&mut r, &[4, sq, hq, d], 1.0);
            for (name, opts) in variants(hq) {
                let (o, lse) =
                    attention_with_kvcache_ref(&q, &kc, &vc, None, &lens, &opts).unwrap();
                // Against attention_ref on each sequence's prefix.
                for (b, &n) in lens.iter().enumerate() {
                    let sl = |t: &Tensor, w: usize| {
                        Tensor::from_fn(&[1, n, hk, w], |i| t[&[b, i[1], i[2], i[3]][..]])
                    };
                    let qb = Tensor::from_fn(&[1, sq, hq, d], |i| q[&[b, i[1], i[2], i[3]][..]]);
                    let (ob, lb) = attention_ref(&qb, &sl(&kc, d), &sl(&vc, dv), &opts).unwrap();
                    for i in 0..sq {
                        for h in 0..hq {
                            assert_eq!(lb[&[0, h, i][..]], lse[&[b, h, i][..]], "{name}");
                            for c in 0..dv {
                                assert_eq!(ob[&[0, i, h, c][..]], o[&[b, i, h, c][..]], "{name}");
                            }
                        }
                    }
                }
                for page_size in [1, 3, 16] {
                    let (kp, vp, table, mb) = page(&kc, &vc, &lens, page_size, 7);
                    let bt = Some(BlockTable {
                        table: &table,
                        max_blocks: mb,
                    });
                    let (po, pl) =
                        attention_with_kvcache_ref(&q, &kp, &vp, bt, &lens, &opts).unwrap();
                    assert_eq!((&po, &pl), (&o, &lse), "{name} page {page_size}");
                    for ns in [1, 3, 8] {
                        let parts =
                            attention_split_kv_ref(&q, &kp, &vp, bt, &lens, &opts, ns).unwrap();
                        let (os, ls): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
                        let (mo, ml) = merge_partials(&os, &ls).unwrap();
                        assert!(
                            max_diff(&mo, &o) < 1e-14,
                            "{name} page {page_size} splits {ns}"
                        );
                        assert!(
                            max_diff(&ml, &lse) < 1e-13,
                            "{name} page {page_size} splits {ns}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn huge_window_bounds_equal_unbounded_and_zero_window_keeps_the_diagonal() {
        let mut r = rng(27);
        let q = randn(&mut r, &[1, 4, 2, 3], 1.0);
        let k = randn(&mut r, &[1, 6, 1, 3], 1.0);
        let v = randn(&mut r, &[1, 6, 1, 3], 1.0);
        let huge = AttnOpts {
            window: (i64::MAX, i64::MAX),
            ..AttnOpts::default()
        };
        assert_eq!(
            attention_ref(&q, &k, &v, &huge).unwrap(),
            attention_ref(&q, &k, &v, &AttnOpts::default()).unwrap()
        );
        // window (0, 0): query i sees exactly key i + Sk − Sq.
        let diag = AttnOpts {
            window: (0, 0),
            ..AttnOpts::default()
        };
        let (o, _) = attention_ref(&q, &k, &v, &diag).unwrap();
        for i in 0..4 {
            for c in 0..3 {
                assert_eq!(o[&[0, i, 1, c][..]], v[&[0, i + 2, 0, c][..]]);
            }
        }
    }

    #[test]
    fn split_ranges_cover_the_keys_in_order() {
        assert_eq!(split_ranges(10, 3).unwrap(), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(
            split_ranges(2, 4).unwrap(),
            vec![(0, 1), (1, 2), (2, 2), (2, 2)]
        );
        assert_eq!(split_ranges(0, 2).unwrap(), vec![(0, 0), (0, 0)]);
        assert!(split_ranges(5, 0).is_err());
    }

    #[test]
    fn varlen_equals_per_sequence_attention() {
        let mut r = rng(8);
        let lq = [3usize, 0, 5, 2];
        let lk = [4usize, 2, 6, 0];
        let cq: Vec<usize> = std::iter::once(0)
            .chain(lq.iter().scan(0, |a, &x| {
                *a += x;
                Some(*a)
            }))
            .collect();
        let ck: Vec<usize> = std::iter::once(0)
            .chain(lk.iter().scan(0, |a, &x| {
                *a += x;
                Some(*a)
            }))
            .collect();
        let (hq, hk, d) = (4, 2, 3);
        let q = randn(&mut r, &[cq[4], hq, d], 1.0);
        let k = randn(&mut r, &[ck[4], hk, d], 1.0);
        let v = randn(&mut r, &[ck[4], hk, d], 1.0);
        let slopes = randn(&mut r, &[4, hq], 0.3);
        let opts = AttnOpts {
            causal: true,
            window: (2, 0),
            alibi: Some(slopes.clone()),
            ..AttnOpts::default()
        };
        let (o, lse) = attention_varlen_ref(&q, &k, &v, &cq, &ck, &opts).unwrap();
        for b in 0..4 {
            let (sq, sk) = (lq[b], lk[b]);
            let qb = Tensor::from_fn(&[1, sq, hq, d], |i| q[&[cq[b] + i[1], i[2], i[3]][..]]);
            let kb = Tensor::from_fn(&[1, sk, hk, d], |i| k[&[ck[b] + i[1], i[2], i[3]][..]]);
            let vb = Tensor::from_fn(&[1, sk, hk, d], |i| v[&[ck[b] + i[1], i[2], i[3]][..]]);
            let ob_opts = AttnOpts {
                alibi: Some(Tensor::from_fn(&[hq], |i| slopes[&[b, i[0]][..]])),
                ..opts.clone()
            };
            let (ob, lb) = attention_ref(&qb, &kb, &vb, &ob_opts).unwrap();
            for i in 0..sq {
                for h in 0..hq {
                    assert_eq!(lb[&[0, h, i][..]], lse[&[h, cq[b] + i][..]]);
                    for c in 0..d {
                        assert_eq!(ob[&[0, i, h, c][..]], o[&[cq[b] + i, h, c][..]]);
                    }
                }
            }
        }
        // The sequence with no keys: zero output, -inf lse.
        assert!((cq[3]..cq[4]).all(|i| lse[&[0, i][..]] == f64::NEG_INFINITY));
    }

    #[test]
    fn append_then_attend_equals_attention_over_the_grown_cache() {
        let mut r = rng(9);
        let (hk, d) = (2, 4);
        let lens = [3usize, 7];
        let full_k = randn(&mut r, &[2, 10, hk, d], 1.0);
        let full_v = randn(&mut r, &[2, 10, hk, d], 1.0);
        let q = randn(&mut r, &[2, 2, 4, d], 1.0);
        let grown = [5usize, 9];
        let opts = AttnOpts {
            causal: true,
            ..AttnOpts::default()
        };
        let (want_o, want_l) =
            attention_with_kvcache_ref(&q, &full_k, &full_v, None, &grown, &opts).unwrap();
        let new = |t: &Tensor| {
            Tensor::from_fn(&[2, 2, hk, d], |i| {
                t[&[i[0], lens[i[0]] + i[1], i[2], i[3]][..]]
            })
        };
        for page_size in [0usize, 3] {
            let (mut kc, mut vc, table, mb) = if page_size == 0 {
                (full_k.clone(), full_v.clone(), vec![], 0)
            } else {
                page(&full_k, &full_v, &grown, page_size, 10)
            };
            // Scramble the slots that append must fill, through the same layout.
            let bt = (page_size > 0).then_some(BlockTable {
                table: &table,
                max_blocks: mb,
            });
            let junk = randn(&mut r, &[2, 2, hk, d], 5.0);
            kvcache_append(&mut kc, &mut vc, bt, &lens, &junk, &junk).unwrap();
            kvcache_append(&mut kc, &mut vc, bt, &lens, &new(&full_k), &new(&full_v)).unwrap();
            let (o, l) = attention_with_kvcache_ref(&q, &kc, &vc, bt, &grown, &opts).unwrap();
            assert_eq!((o, l), (want_o.clone(), want_l.clone()), "page {page_size}");
            // Too many new tokens: an error, and the cache is untouched.
            let before = (kc.clone(), vc.clone());
            let big = Tensor::zeros(&[2, 20, hk, d]);
            let e = kvcache_append(&mut kc, &mut vc, bt, &lens, &big, &big).unwrap_err();
            assert_eq!(e.func, "kvcache_append");
            assert_eq!((kc, vc), before);
        }
    }

    #[track_caller]
    fn expect_err<T: std::fmt::Debug>(r: RefResult<T>, func: &str, needle: &str) {
        let e = r.unwrap_err();
        assert_eq!(e.func, func, "{e}");
        assert!(e.msg.contains(needle), "{e} does not mention {needle:?}");
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_problem() {
        let z = |s: &[usize]| Tensor::zeros(s);
        let d = AttnOpts::default();
        let f = "attention_ref";
        expect_err(
            attention_ref(&z(&[1, 2, 3, 4]), &z(&[1, 2, 2, 4]), &z(&[1, 2, 2, 4]), &d),
            f,
            "not a multiple",
        );
        expect_err(
            attention_ref(&z(&[1, 2, 4, 4]), &z(&[1, 2, 2, 5]), &z(&[1, 2, 2, 4]), &d),
            f,
            "head dim",
        );
        expect_err(
            attention_ref(&z(&[2, 2, 4, 4]), &z(&[1, 2, 2, 4]), &z(&[1, 2, 2, 4]), &d),
            f,
            "batch",
        );
        expect_err(
            attention_ref(&z(&[1, 2, 4, 4]), &z(&[1, 3, 2, 4]), &z(&[1, 2, 2, 4]), &d),
            f,
            "does not match",
        );
        expect_err(
            attention_ref(&z(&[2, 4, 4]), &z(&[1, 3, 2, 4]), &z(&[1, 2, 2, 4]), &d),
            f,
            "4 axes",
        );
        expect_err(
            attention_ref(&z(&[1, 2, 4, 4]), &z(&[1, 2, 0, 4]), &z(&[1, 2, 0, 4]), &d),
            f,
            "positive",
        );
        let qkv = (z(&[1, 2, 4, 4]), z(&[1, 2, 2, 4]), z(&[1, 2, 2, 4]));
        let run = |o: AttnOpts| attention_ref(&qkv.0, &qkv.1, &qkv.2, &o);
        expect_err(
            run(AttnOpts {
                softcap: -1.0,
                ..AttnOpts::default()
            }),
            f,
            "softcap",
        );
        expect_err(
            run(AttnOpts {
                scale: Some(f64::NAN),
                ..AttnOpts::default()
            }),
            f,
            "scale",
        );
        expect_err(
            run(AttnOpts {
                key_range: Some((3, 1)),
                ..AttnOpts::default()
            }),
            f,
            "lo > hi",
        );
        expect_err(
            run(AttnOpts {
                alibi: Some(z(&[3])),
                ..AttnOpts::default()
            }),
            f,
            "alibi",
        );
        expect_err(
            run(AttnOpts {
                alibi: Some(z(&[2, 4])),
                ..AttnOpts::default()
            }),
            f,
            "alibi",
        );
        // varlen
        let g = "attention_varlen_ref";
        let (q, k) = (z(&[5, 2, 3]), z(&[4, 1, 3]));
        expect_err(
            attention_varlen_ref(&q, &k, &k, &[0, 3, 2, 5], &[0, 1, 2, 4], &d),
            g,
            "decreases",
        );
        expect_err(
            attention_varlen_ref(&q, &k, &k, &[0, 3, 4], &[0, 1, 4], &d),
            g,
            "ends at 4",
        );
        expect_err(
            attention_varlen_ref(&q, &k, &k, &[1, 3, 5], &[0, 1, 4], &d),
            g,
            "start at 0",
        );
        expect_err(
            attention_varlen_ref(&q, &k, &k, &[0, 5], &[0, 1, 4], &d),
            g,
            "entries",
        );
        // KV cache
        let h = "attention_with_kvcache_ref";
        let (q, kc) = (z(&[2, 1, 2, 3]), z(&[4, 3, 1, 3]));
        let table = [0usize, 1, 2, 4];
        let bt = Some(BlockTable {
            table: &table,
            max_blocks: 2,
        });
        expect_err(
            attention_with_kvcache_ref(&q, &kc, &kc, bt, &[3, 6], &d),
            h,
            "points outside",
        );
        expect_err(
            attention_with_kvcache_ref(&q, &kc, &kc, bt, &[3, 7], &d),
            h,
            "pages",
        );
        // The entry 4 is not read when sequence 1 fits in its first page.
        assert!(attention_with_kvcache_ref(&q, &kc, &kc, bt, &[6, 3], &d).is_ok());
        let short = Some(BlockTable {
            table: &table[..3],
            max_blocks: 2,
        });
        expect_err(
            attention_with_kvcache_ref(&q, &kc, &kc, short, &[3, 4], &d),
            h,
            "block_table has 3",
        );
        let contig = z(&[2, 3, 1, 3]);
        expect_err(
            attention_with_kvcache_ref(&q, &contig, &contig, None, &[3, 4], &d),
            h,
            "holds 3",
        );
        expect_err(
            attention_with_kvcache_ref(&q, &contig, &contig, None, &[3], &d),
            h,
            "sequences",
        );
        expect_err(
            attention_with_kvcache_ref(&q, &contig, &z(&[2, 3, 2, 3]), None, &[1, 1], &d),
            h,
            "differ",
        );
        expect_err(
            attention_split_kv_ref(&q, &contig, &contig, None, &[1, 1], &d, 0),
            "attention_split_kv_ref",
            "num_splits",
        );
        // merge
        let m = "merge_partials";
        expect_err(merge_partials(&[], &[]), m, "no partial");
        expect_err(
            merge_partials(&[z(&[1, 2, 2, 3])], &[z(&[1, 2, 3])]),
            m,
            "lses[0]",
        );
        expect_err(
            merge_partials(
                &[z(&[1, 2, 2, 3]), z(&[1, 2, 2, 4])],
                &[z(&[1, 2, 2]), z(&[1, 2, 2])],
            ),
            m,
            "outs[1]",
        );
        let mut nan = z(&[1, 2, 2]);
        nan.data_mut()[1] = f64::NAN;
        expect_err(merge_partials(&[z(&[1, 2, 2, 3])], &[nan]), m, "NaN");
        // backward
        expect_err(
            attention_bwd_ref(&qkv.0, &qkv.1, &qkv.2, &z(&[1, 2, 4, 3]), &d),
            "attention_bwd_ref",
            "dO",
        );
    }
}
