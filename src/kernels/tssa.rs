//! Token Statistics Self-Attention (`ToST`, ICLR 2025) in the DSL: the kernels behind
//! [`crate::tssa`] (SEEDS.md §1).
//!
//! TSSA has no `N×N` anything: every statistic is a reduction (non-causal) or a prefix scan
//! (causal) over tokens, per `(batch, head)` and channel, plus one softmax over **heads** per
//! token. The kernels therefore split tokens into blocks of `BN` and run in phases, each a
//! grid of `(token block, batch·head)` programs holding 2-d tiles only (`[BN, BD]` of one head,
//! or `[BH, BN]` of per-token scalars of every head), so they scale to any sequence length:
//!
//! * **reductions** ([`tssa_colsq`], [`tssa_pi`], the backward's partials) write one partial
//!   row per token block; [`tssa_combine`] sums them in a fixed order (deterministic, no
//!   atomics);
//! * **scans** (causal) compute in-block `cumsum`/`cumsum_rev` and add a carry: the block
//!   totals are turned into exclusive carries by [`tssa_scan`] (forward or reverse, optionally
//!   starting from and updating a recurrent state, which is how a prefill continues a decode
//!   state and leaves it ready for [`tssa_decode_step`]);
//! * **the cross-head softmax** ([`tssa_pi`] for both forms) loads the per-token scores of all
//!   heads of its token block as a `[BH, BN]` tile.
//!
//! Data are f32 (the statistics are f32 whatever the input; f16 inputs are widened once by
//! [`tssa_widen_f16`] or [`tssa_widen_bf16`] before the f32 path). Layout: `w (B, H, N, D)` row-major, as
//! `tilefuse::reference::tssa`. Per-`(b, h)` base offsets are computed in i64; offsets inside a
//! batch element (`H·N·D`) must fit in i32, which [`crate::tssa`] checks.
//!
//! Tile sizes ([`Tiles::for_device`]) are `#[constexpr]` parameters chosen per call, the same
//! for every kernel of the call (the block partials are laid out by `BN`). On the interpreter
//! they fit the data: `BD`/`BH` the next power of two of the head dim and head count, `BN`
//! the token block of [`crate::tssa::Params::block_tokens`]. On a GPU they are one of the
//! declared GPU configurations, which every token kernel, [`tssa_pi`] and [`tssa_bwd_gs`]
//! (both forms) declare alike and which are prebuilt: `(BN, BD, BH) = (64, 64, 32)` for the
//! `ToST` shapes (head dim 48 or 64, 12 to 20 heads), `(16, 256, 256)` and `(4, 1024, 256)`
//! for every other shape the API takes (`[BN, BD]` and `[BH, BN]` tiles of at most 4096
//! values; the kernels mask the padding). The block scans and sums ([`tssa_combine`],
//! [`tssa_scan`]) take 256 columns per program on a GPU ([`block_m`]); the decode step
//! ([`step_tiles`]) `BH = 32`, `BD = 64`, larger shapes stepping through the parallel form.
//! The `cpu_only` configurations are the interpreter's (checked when the crate compiles, no
//! PTX).
//!
//! GPU notes: [`tssa_pi`] and [`tssa_bwd_gs`] recompute the `[BH, BN]` softmax over heads in
//! each of the `H` programs of a token block (`O(H²·N)` exponentials, against `O(H·N·D)` for
//! everything else; cheaper than another launch for `H ≤ D`); the block partials make every
//! reduction deterministic; the scans over blocks ([`tssa_scan`]) are sequential over the
//! `N / BN` blocks of a row, tiny next to the token kernels.

use crate::{DeviceKind, tile_fn, tile_kernel};

/// The tile sizes of one call of the token kernels: the token block `bn`, the head-dim tile
/// `bd` (at least the head dim) and the heads tile `bh` (at least the head count), powers of
/// two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiles {
    /// Tokens per block (`BN`).
    pub bn: usize,
    /// Head-dim tile (`BD`).
    pub bd: usize,
    /// Heads tile (`BH`).
    pub bh: usize,
}

/// The GPU tiles, smallest first: the configurations every token kernel declares (without
/// `cpu_only`, so prebuilt). The last holds the largest problem [`crate::tssa`] takes.
const GPU_TILES: [Tiles; 3] = [
    Tiles {
        bn: 64,
        bd: 64,
        bh: 32,
    },
    Tiles {
        bn: 16,
        bd: 256,
        bh: 256,
    },
    Tiles {
        bn: 4,
        bd: 1024,
        bh: 256,
    },
];

const _: () = assert!(
    GPU_TILES[2].bd >= crate::tssa::MAX_HEAD_DIM && GPU_TILES[2].bh >= crate::tssa::MAX_HEADS,
    "the largest GPU tiles must hold every problem the API takes"
);

impl Tiles {
    /// The tiles for `h` heads of dim `d` and `n` tokens (all at least 1, `h ≤ MAX_HEADS`,
    /// `d ≤ MAX_HEAD_DIM`) on a device of kind `kind`; `block_tokens` is
    /// [`crate::tssa::Params::block_tokens`] (a checked power of two), used on the CPU only.
    pub fn for_device(
        kind: DeviceKind,
        h: usize,
        n: usize,
        d: usize,
        block_tokens: Option<usize>,
    ) -> Tiles {
        match kind {
            DeviceKind::Cpu => {
                let bd = d.next_power_of_two();
                let bh = h.next_power_of_two();
                let bn = block_tokens.unwrap_or_else(|| {
                    (4096 / bd.max(bh)).clamp(1, 128).min(n.next_power_of_two())
                });
                Tiles { bn, bd, bh }
            }
            DeviceKind::Cuda => crate::tiles::first_fit(&GPU_TILES, |t| d <= t.bd && h <= t.bh)
                .unwrap_or(GPU_TILES[GPU_TILES.len() - 1]),
        }
    }
}

/// Columns per program (`BM`) of [`tssa_combine`] and [`tssa_scan`] over rows of `m`
/// columns: the next power of two up to 256 on the CPU, 256 on a GPU (the one prebuilt
/// width; the kernels mask the columns past `m`).
pub(crate) fn block_m(kind: DeviceKind, m: usize) -> usize {
    match kind {
        DeviceKind::Cpu => m.next_power_of_two().min(256),
        DeviceKind::Cuda => 256,
    }
}

/// `(BH, BD)` of [`tssa_decode_step`] for `h` heads of dim `d` on a device of kind `kind`:
/// the next powers of two on the CPU; on a GPU the prebuilt `(32, 64)` when it holds them,
/// else `None` (the step then runs the parallel form on one token).
pub(crate) fn step_tiles(kind: DeviceKind, h: usize, d: usize) -> Option<(usize, usize)> {
    match kind {
        DeviceKind::Cpu => Some((h.next_power_of_two(), d.next_power_of_two())),
        DeviceKind::Cuda => (h <= 32 && d <= 64).then_some((32, 64)),
    }
}

/// The `[BH, BN]` tile of every head's value at tokens `rows` of batch element `b` in a
/// `(B, H, n)` tensor of per-token scalars: `(base, offs, mask)`, the offset `base` (i64) of
/// the batch element, the offsets `offs` from it and the in-bounds `mask`. Inlined.
#[tile_fn]
fn heads_tile<const BH: usize, const BN: usize>(
    b: i32,
    h: i32,
    n: i32,
    rows: Tile<i32, BN>,
) -> (i64, Tile<i32, BH, BN>, Tile<bool, BH, BN>) {
    let heads = arange::<BH>();
    let mask = (heads[(.., None)] < h) & (rows[(None, ..)] < n);
    let base = b.cast::<i64>() * h.cast::<i64>() * n.cast::<i64>();
    (base, heads[(.., None)] * n + rows[(None, ..)], mask)
}

/// The `[BN, BD]` tile of token block `blk` of row `bh` of a `(B·H, n, d)` tensor, as the
/// token kernels address it: `(rows, cols, mask, base, offs)` with the token indices `rows`
/// (`[BN]`), the column indices `cols` (`[BD]`), the in-bounds `mask` (`[BN, BD]`), the
/// offset `base` (i64) of the block's first element and the offsets `offs` (`[BN, BD]`, i32)
/// of its elements from `base`. Inlined into each kernel.
#[tile_fn]
fn token_tile<const BN: usize, const BD: usize>(
    bh: i64,
    blk: i32,
    n: i32,
    d: i32,
) -> (
    Tile<i32, BN>,
    Tile<i32, BD>,
    Tile<bool, BN, BD>,
    i64,
    Tile<i32, BN, BD>,
) {
    let local = arange::<BN>();
    let rows = blk * BN + local;
    let cols = arange::<BD>();
    let mask = (rows[(.., None)] < n) & (cols[(None, ..)] < d);
    let base = (bh * n.cast::<i64>() + (blk * BN).cast::<i64>()) * d.cast::<i64>();
    let offs = local[(.., None)] * d + cols[(None, ..)];
    (rows, cols, mask, base, offs)
}

/// `out[r, c] = Σ_k part[r, k, c]` for `part (R, nblk, m)`, summed in block order.
/// Grid `(cdiv(m, BM), R)`.
#[tile_kernel(configs = [(BM = 64, cpu_only = true), (BM = 256)])]
pub fn tssa_combine(part: Ptr<f32>, out: Ptr<f32>, nblk: i32, m: i32, #[constexpr] BM: usize) {
    let r = program_id(1).cast::<i64>();
    let cols = program_id(0) * BM + arange::<BM>();
    let mask = cols < m;
    let m64 = m.cast::<i64>();
    let mut acc = zeros::<f32, BM>();
    for k in range(0, nblk) {
        let off = (r * nblk.cast::<i64>() + k.cast::<i64>()) * m64;
        acc += load(part + off + cols, mask, 0.0);
    }
    store(out + r * m64 + cols, acc, mask);
}

/// Exclusive scan over blocks: `carry[r, k, c] = state[r, c] + Σ_{k' before k} part[r, k', c]`
/// ("before" in increasing `k`, or decreasing with `REVERSE`), for `part (R, nblk, m)`. With
/// `STATE` the running sum starts from `state (R, m)` and the total is written back to it;
/// without, it starts from 0 and `state` is not touched. Grid `(cdiv(m, BM), R)`.
#[tile_kernel(configs = [
    (BM = 64, REVERSE = false, STATE = true, cpu_only = true),
    (BM = 256, REVERSE = false, STATE = true),
    (BM = 256, REVERSE = true, STATE = false),
])]
pub fn tssa_scan(
    part: Ptr<f32>,
    carry: Ptr<f32>,
    state: Ptr<f32>,
    nblk: i32,
    m: i32,
    #[constexpr] BM: usize,
    #[constexpr] REVERSE: bool,
    #[constexpr] STATE: bool,
) {
    let r = program_id(1).cast::<i64>();
    let cols = program_id(0) * BM + arange::<BM>();
    let mask = cols < m;
    let m64 = m.cast::<i64>();
    let mut run = zeros::<f32, BM>();
    if STATE {
        run = load(state + r * m64 + cols, mask, 0.0);
    }
    for k in range(0, nblk) {
        let mut blk = k;
        if REVERSE {
            blk = nblk - 1 - k;
        }
        let off = (r * nblk.cast::<i64>() + blk.cast::<i64>()) * m64;
        let x = load(part + off + cols, mask, 0.0);
        store(carry + off + cols, run, mask);
        run += x;
    }
    if STATE {
        store(state + r * m64 + cols, run, mask);
    }
}

/// Widens f16 to f32 (`n` elements), one block of `BLOCK` per program.
#[tile_kernel(configs = [(BLOCK = 1024)])]
pub fn tssa_widen_f16(x: Ptr<f16>, y: Ptr<f32>, n: i64, #[constexpr] BLOCK: usize) {
    let base = program_id(0).cast::<i64>() * BLOCK.cast::<i64>();
    let offs = arange::<BLOCK>();
    let mask = offs.cast::<i64>() + base < n;
    store(
        y + base + offs,
        load(x + base + offs, mask, 0.0).cast::<f32>(),
        mask,
    );
}

/// Widens bf16 to f32 (`n` elements), one block of `BLOCK` per program.
#[tile_kernel(configs = [(BLOCK = 1024)])]
pub fn tssa_widen_bf16(x: Ptr<bf16>, y: Ptr<f32>, n: i64, #[constexpr] BLOCK: usize) {
    let base = program_id(0).cast::<i64>() * BLOCK.cast::<i64>();
    let offs = arange::<BLOCK>();
    let mask = offs.cast::<i64>() + base < n;
    store(
        y + base + offs,
        load(x + base + offs, mask, 0.0).cast::<f32>(),
        mask,
    );
}

/// Per-block column sums of squares: `part[bh, blk, j] = Σ_{i in blk} w[bh, i, j]²` for
/// `w (B·H, n, d)`, `part (B·H, nblk, d)`. Phase A of both forms (non-causal: the column norms
/// over tokens; causal: the block totals of the `Σ w²` scan). Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_colsq(
    w: Ptr<f32>,
    part: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let d64 = d.cast::<i64>();
    let (_, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let x = load(w + base + offs, mask, 0.0);
    let off = (bh * nblk + blk.cast::<i64>()) * d64;
    store(part + off + cols, sum(x * x, 0), cols < d);
}

/// Non-causal token scores: `s[bh, i] = Σ_j (w[bh, i, j] / c_j)²` with
/// `c_j = max(√c2[bh, j], 1e-12)` (`F.normalize(w, dim=-2)`). Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_scores(
    w: Ptr<f32>,
    c2: Ptr<f32>,
    s: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let x = load(w + base + offs, mask, 0.0);
    let c = maximum(sqrt(load(c2 + bh * d64 + cols, cols < d, 0.0)), 1e-12);
    let xn = x / c[(None, ..)];
    store(s + bh * n64 + rows, sum(xn * xn, 1), rows < n);
}

/// Π and its partial sums, for both forms: `Π[b, h, i] = softmax_h(temp_h·s[b, h, i])` over
/// the `h` heads (the scores `s` of all heads of the token block are loaded as a `[BH, BN]`
/// tile), stored for this program's head; then `part[bh, blk, j] = Σ_i Π_i w_ij²` for
/// `j < d` and `part[bh, blk, d] = Σ_i Π_i` (`part (B·H, nblk, d + 1)`). Grid `(nblk, B·H)`.
#[tile_kernel(configs = [
    (BH = 16, BN = 64, BD = 64, cpu_only = true),
    (BH = 32, BN = 64, BD = 64),
    (BH = 256, BN = 16, BD = 256),
    (BH = 256, BN = 4, BD = 1024),
])]
pub fn tssa_pi(
    w: Ptr<f32>,
    s: Ptr<f32>,
    temp: Ptr<f32>,
    pi: Ptr<f32>,
    part: Ptr<f32>,
    h: i32,
    n: i32,
    d: i32,
    #[constexpr] BH: usize,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1);
    let nblk = num_programs(0).cast::<i64>();
    let hh = bh % h;
    let b = bh / h;
    let bh64 = bh.cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let heads = arange::<BH>();
    let local = arange::<BN>();
    let rows = blk * BN + local;
    let rmask = rows < n;
    let hmask = heads < h;
    let (sbase, soffs, smask) = heads_tile::<BH, BN>(b, h, n, rows);
    let sv = load(s + sbase + soffs, smask, 0.0);
    let tv = load(temp + heads, hmask, 0.0);
    let z = select(
        hmask[(.., None)] & (rows[(None, ..)] >= 0),
        tv[(.., None)] * sv,
        f32::NEG_INFINITY,
    );
    let e = exp(z - max(z, 0)[(None, ..)]);
    let p_all = e / sum(e, 0)[(None, ..)];
    let mine = (heads[(.., None)] == hh) & (rows[(None, ..)] >= 0);
    let p = select(rmask, sum(select(mine, p_all, 0.0), 0), 0.0);
    store(pi + bh64 * n64 + rows, p, rmask);
    let (_, cols, mask, base, offs) = token_tile::<BN, BD>(bh64, blk, n, d);
    let x = load(w + base + offs, mask, 0.0);
    let off = (bh64 * nblk + blk.cast::<i64>()) * (d64 + 1);
    store(part + off + cols, sum(p[(.., None)] * (x * x), 0), cols < d);
    store(part + off + d64, sum(p, 0));
}

/// Non-causal output: `out_ij = −w_ij·Π_i·a_j` with `a_j = 1/(1 + dots_j)`,
/// `dots_j = stat[bh, j] / (stat[bh, d] + 1e-8)` (`stat (B·H, d + 1)` = `[Σ Π w², Σ Π]`).
/// Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_out(
    w: Ptr<f32>,
    pi: Ptr<f32>,
    stat: Ptr<f32>,
    out: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let p = load(pi + bh * n64 + rows, rows < n, 0.0);
    let st = stat + bh * (d64 + 1);
    let dots = load(st + cols, cmask, 0.0) / (load(st + d64) + 1e-8);
    let a = 1.0 / (1.0 + dots);
    let y = -(x * p[(.., None)]) * a[(None, ..)];
    store(out + base + offs, y, mask);
}

/// Non-causal backward, partials of `Σ_i G_ij w_ij Π_i` (`gdots_j / a_j²`):
/// `part (B·H, nblk, d)`. Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_bwd_gdots(
    w: Ptr<f32>,
    g: Ptr<f32>,
    pi: Ptr<f32>,
    part: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let x = load(w + base + offs, mask, 0.0);
    let gv = load(g + base + offs, mask, 0.0);
    let p = load(pi + bh * n64 + rows, rows < n, 0.0);
    let off = (bh * nblk + blk.cast::<i64>()) * d64;
    store(part + off + cols, sum(gv * x * p[(.., None)], 0), cols < d);
}

/// Non-causal backward, `gΠ_i = −Σ_j G_ij w_ij a_j + (1/S) Σ_j gdots_j (w_ij² − dots_j)` with
/// `gdots_j = a_j² gd[bh, j]`, `S = ΣΠ + 1e-8`. Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_bwd_gpi(
    w: Ptr<f32>,
    g: Ptr<f32>,
    stat: Ptr<f32>,
    gd: Ptr<f32>,
    gpi: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let gv = load(g + base + offs, mask, 0.0);
    let st = stat + bh * (d64 + 1);
    let s_pi = load(st + d64) + 1e-8;
    let dots = load(st + cols, cmask, 0.0) / s_pi;
    let a = 1.0 / (1.0 + dots);
    let gdots = a * a * load(gd + bh * d64 + cols, cmask, 0.0);
    let direct = sum(gv * x * a[(None, ..)], 1);
    let moment = sum((x * x - dots[(None, ..)]) * gdots[(None, ..)], 1);
    store(gpi + bh * n64 + rows, moment / s_pi - direct, rows < n);
}

/// Backward of the softmax over heads, for both forms: `gz = Π (gΠ − Σ_h Π gΠ)` (all heads of
/// the token block as `[BH, BN]` tiles), `gs = temp_h·gz` stored, the temperature partial
/// `gtemp_part[b, blk, h] = Σ_i gz_i s_i` (`(B, nblk, H)`), and the column partials
/// `part[bh, blk, j] = Σ_i gs_i w_ij²` (non-causal, `CAUSAL = false`) or, for the causal form,
/// `Σ_i gC_ij` with `gC = −gs·w²/C²` where the prefix sum `C` of `w²` (block carry `carry_s`)
/// is at least `1e-12` (zero where the clamp binds). Grid `(nblk, B·H)`.
#[tile_kernel(configs = [
    (BH = 32, BN = 64, BD = 64, CAUSAL = false),
    (BH = 32, BN = 64, BD = 64, CAUSAL = true),
    (BH = 256, BN = 16, BD = 256, CAUSAL = false),
    (BH = 256, BN = 16, BD = 256, CAUSAL = true),
    (BH = 256, BN = 4, BD = 1024, CAUSAL = false),
    (BH = 256, BN = 4, BD = 1024, CAUSAL = true),
])]
pub fn tssa_bwd_gs(
    w: Ptr<f32>,
    s: Ptr<f32>,
    pi: Ptr<f32>,
    gpi: Ptr<f32>,
    temp: Ptr<f32>,
    carry_s: Ptr<f32>,
    gs: Ptr<f32>,
    part: Ptr<f32>,
    gtemp_part: Ptr<f32>,
    h: i32,
    n: i32,
    d: i32,
    #[constexpr] BH: usize,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
    #[constexpr] CAUSAL: bool,
) {
    let blk = program_id(0);
    let bh = program_id(1);
    let nblk = num_programs(0).cast::<i64>();
    let hh = bh % h;
    let b = bh / h;
    let bh64 = bh.cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let local = arange::<BN>();
    let rows = blk * BN + local;
    let rmask = rows < n;
    let (tile, toffs, tmask) = heads_tile::<BH, BN>(b, h, n, rows);
    let dotp = sum(
        load(pi + tile + toffs, tmask, 0.0) * load(gpi + tile + toffs, tmask, 0.0),
        0,
    );
    let p = load(pi + bh64 * n64 + rows, rmask, 0.0);
    let gp = load(gpi + bh64 * n64 + rows, rmask, 0.0);
    let gz = p * (gp - dotp);
    let sv = load(s + bh64 * n64 + rows, rmask, 0.0);
    let gsv = gz * load(temp + hh);
    store(gs + bh64 * n64 + rows, gsv, rmask);
    store(
        gtemp_part + (b.cast::<i64>() * nblk + blk.cast::<i64>()) * h.cast::<i64>() + hh,
        sum(gz * sv, 0),
    );
    let (_, cols, mask, base, offs) = token_tile::<BN, BD>(bh64, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let xsq = x * x;
    let off = (bh64 * nblk + blk.cast::<i64>()) * d64;
    if CAUSAL {
        let cs = cumsum(xsq, 0) + load(carry_s + off + cols, cmask, 0.0)[(None, ..)];
        let c = maximum(cs, 1e-12);
        let gc = select(cs >= 1e-12, -gsv[(.., None)] * xsq / (c * c), 0.0);
        store(part + off + cols, sum(gc, 0), cmask);
    } else {
        store(part + off + cols, sum(gsv[(.., None)] * xsq, 0), cmask);
    }
}

/// Non-causal backward, `dw`: `−G Π a + 2 w Π gdots / S` plus the normalisation term
/// `2 w gs / c² − 2 w T / c⁴` (`T_j = Σ_i gs_i w_ij²`, `tsum (B·H, d)`), or `2 w gs / 1e-24`
/// alone for a column whose norm is below the `1e-12` clamp. Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_bwd_dw(
    w: Ptr<f32>,
    g: Ptr<f32>,
    pi: Ptr<f32>,
    gs: Ptr<f32>,
    c2: Ptr<f32>,
    stat: Ptr<f32>,
    gd: Ptr<f32>,
    tsum: Ptr<f32>,
    dw: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let gv = load(g + base + offs, mask, 0.0);
    let p = load(pi + bh * n64 + rows, rows < n, 0.0)[(.., None)];
    let gsv = load(gs + bh * n64 + rows, rows < n, 0.0)[(.., None)];
    let st = stat + bh * (d64 + 1);
    let s_pi = load(st + d64) + 1e-8;
    let dots = load(st + cols, cmask, 0.0) / s_pi;
    let a = 1.0 / (1.0 + dots);
    let gdots = a * a * load(gd + bh * d64 + cols, cmask, 0.0);
    let nrm = sqrt(load(c2 + bh * d64 + cols, cmask, 0.0));
    let big = nrm >= 1e-12;
    let cc = select(big, nrm * nrm, 1e-24);
    let corr = select(big, load(tsum + bh * d64 + cols, cmask, 0.0) / cc / cc, 0.0);
    let y = -gv * p * a[(None, ..)]
        + 2.0 * x * p * gdots[(None, ..)] / s_pi
        + 2.0 * x * gsv / cc[(None, ..)]
        - 2.0 * x * corr[(None, ..)];
    store(dw + base + offs, y, mask);
}

/// Causal scores: `u[bh, t] = Σ_{j<d} (w_tj² / max(C_tj, 1e-12) + bias[h, t0 + t])` with the
/// prefix sum `C = cumsum(w², t) + carry_s` (block carry `(B·H, nblk, d)`); `bias (H, bs)`.
/// Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_causal_u(
    w: Ptr<f32>,
    carry_s: Ptr<f32>,
    bias: Ptr<f32>,
    u: Ptr<f32>,
    h: i32,
    n: i32,
    d: i32,
    bs: i32,
    t0: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1);
    let nblk = num_programs(0).cast::<i64>();
    let hh = bh % h;
    let bh64 = bh.cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let local = arange::<BN>();
    let rows = blk * BN + local;
    let rmask = rows < n;
    let (_, cols, mask, base, offs) = token_tile::<BN, BD>(bh64, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let xsq = x * x;
    let off = (bh64 * nblk + blk.cast::<i64>()) * d64;
    let cs = cumsum(xsq, 0) + load(carry_s + off + cols, cmask, 0.0)[(None, ..)];
    let bv = load(
        bias + hh.cast::<i64>() * bs.cast::<i64>() + t0 + rows,
        rmask,
        0.0,
    );
    let terms = select(mask, xsq / maximum(cs, 1e-12) + bv[(.., None)], 0.0);
    store(u + bh64 * n64 + rows, sum(terms, 1), rmask);
}

/// Causal output: `y_t = −w_t Π_t / (1 + R_t / Q_t)` with `R = cumsum(Π w²) + carry`,
/// `Q = cumsum(Π) + carry + 1e-8` (block carry `carry_rp (B·H, nblk, d + 1)`).
/// Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_causal_out(
    w: Ptr<f32>,
    pi: Ptr<f32>,
    carry_rp: Ptr<f32>,
    y: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let p = load(pi + bh * n64 + rows, rows < n, 0.0);
    let cr = carry_rp + (bh * nblk + blk.cast::<i64>()) * (d64 + 1);
    let rr = cumsum(x * x * p[(.., None)], 0) + load(cr + cols, cmask, 0.0)[(None, ..)];
    let qq = cumsum(p, 0) + load(cr + d64) + 1e-8;
    let a = 1.0 / (1.0 + rr / qq[(.., None)]);
    store(y + base + offs, -(x * p[(.., None)]) * a, mask);
}

/// Causal backward, block totals of `gR = gdots / Q` (`j < d`) and
/// `gQ = −Σ_j gdots R / Q²` (column `d`), `gdots = a² G w Π`: `part (B·H, nblk, d + 1)`.
/// Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_causal_bwd_grq(
    w: Ptr<f32>,
    g: Ptr<f32>,
    pi: Ptr<f32>,
    carry_rp: Ptr<f32>,
    part: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let gv = load(g + base + offs, mask, 0.0);
    let p = load(pi + bh * n64 + rows, rows < n, 0.0)[(.., None)];
    let off = (bh * nblk + blk.cast::<i64>()) * (d64 + 1);
    let rr = cumsum(x * x * p, 0) + load(carry_rp + off + cols, cmask, 0.0)[(None, ..)];
    let qq = cumsum(p, 0) + load(carry_rp + off + d64) + 1e-8;
    let a = 1.0 / (1.0 + rr / qq);
    let gdots = a * a * gv * x * p;
    let gr = gdots / qq;
    let gq = -sum(gdots * rr / (qq * qq), 1);
    store(part + off + cols, sum(gr, 0), cmask);
    store(part + off + d64, sum(gq, 0));
}

/// Causal backward, `gΠ = −Σ_j G w a + Σ_j suffix(gR) w² + suffix(gQ)` (in-block
/// `cumsum_rev` plus the reverse block carry `carry_g (B·H, nblk, d + 1)`), stored; and the
/// first part of `dw`: `−G Π a + 2 w suffix(gR) Π`. Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_causal_bwd_gpi(
    w: Ptr<f32>,
    g: Ptr<f32>,
    pi: Ptr<f32>,
    carry_rp: Ptr<f32>,
    carry_g: Ptr<f32>,
    gpi: Ptr<f32>,
    dw: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let gv = load(g + base + offs, mask, 0.0);
    let p1 = load(pi + bh * n64 + rows, rows < n, 0.0);
    let p = p1[(.., None)];
    let off = (bh * nblk + blk.cast::<i64>()) * (d64 + 1);
    let xsq = x * x;
    let rr = cumsum(xsq * p, 0) + load(carry_rp + off + cols, cmask, 0.0)[(None, ..)];
    let qq = cumsum(p, 0) + load(carry_rp + off + d64) + 1e-8;
    let a = 1.0 / (1.0 + rr / qq);
    let gdots = a * a * gv * x * p;
    let gr = gdots / qq;
    let gq = -sum(gdots * rr / (qq * qq), 1);
    let grbar = cumsum_rev(gr, 0) + load(carry_g + off + cols, cmask, 0.0)[(None, ..)];
    let gqbar = cumsum_rev(gq, 0) + load(carry_g + off + d64);
    let gp = sum(grbar * xsq, 1) + gqbar - sum(gv * x * a, 1);
    store(gpi + bh * n64 + rows, gp, rows < n);
    store(dw + base + offs, -gv * p * a + 2.0 * x * (grbar * p), mask);
}

/// Causal backward, the rest of `dw`: `dw += 2 w (gu / C + suffix(gC))` with
/// `gC = −gu w² / C²` where the prefix sum is at least `1e-12` (in-block `cumsum_rev` plus the
/// reverse block carry `carry_c (B·H, nblk, d)`). Grid `(nblk, B·H)`.
#[tile_kernel(configs = [(BN = 64, BD = 64), (BN = 16, BD = 256), (BN = 4, BD = 1024)])]
pub fn tssa_causal_bwd_dw(
    w: Ptr<f32>,
    gu: Ptr<f32>,
    carry_s: Ptr<f32>,
    carry_c: Ptr<f32>,
    dw: Ptr<f32>,
    n: i32,
    d: i32,
    #[constexpr] BN: usize,
    #[constexpr] BD: usize,
) {
    let blk = program_id(0);
    let bh = program_id(1).cast::<i64>();
    let nblk = num_programs(0).cast::<i64>();
    let (n64, d64) = (n.cast::<i64>(), d.cast::<i64>());
    let (rows, cols, mask, base, offs) = token_tile::<BN, BD>(bh, blk, n, d);
    let cmask = cols < d;
    let x = load(w + base + offs, mask, 0.0);
    let xsq = x * x;
    let guv = load(gu + bh * n64 + rows, rows < n, 0.0)[(.., None)];
    let off = (bh * nblk + blk.cast::<i64>()) * d64;
    let cs = cumsum(xsq, 0) + load(carry_s + off + cols, cmask, 0.0)[(None, ..)];
    let c = maximum(cs, 1e-12);
    let gc = select(cs >= 1e-12, -guv * xsq / (c * c), 0.0);
    let gcbar = cumsum_rev(gc, 0) + load(carry_c + off + cols, cmask, 0.0)[(None, ..)];
    let prev = load(dw + base + offs, mask, 0.0);
    store(dw + base + offs, prev + 2.0 * x * (guv / c + gcbar), mask);
}

/// Causal backward, `dbias[h, t0 + t] = D Σ_b gu[b, h, t]` for `gu (B, H, n)`, `dbias (H, bs)`.
/// Grid `(nblk, H)`.
#[tile_kernel(configs = [(BN = 64), (BN = 16), (BN = 4)])]
pub fn tssa_causal_bwd_bias(
    gu: Ptr<f32>,
    dbias: Ptr<f32>,
    batch: i32,
    h: i32,
    n: i32,
    d: i32,
    bs: i32,
    t0: i32,
    #[constexpr] BN: usize,
) {
    let blk = program_id(0);
    let hh = program_id(1).cast::<i64>();
    let (n64, h64) = (n.cast::<i64>(), h.cast::<i64>());
    let rows = blk * BN + arange::<BN>();
    let rmask = rows < n;
    let mut acc = zeros::<f32, BN>();
    for bi in range(0, batch) {
        acc += load(gu + (bi.cast::<i64>() * h64 + hh) * n64 + rows, rmask, 0.0);
    }
    store(
        dbias + hh * bs.cast::<i64>() + t0 + rows,
        acc * d.cast::<f32>(),
        rmask,
    );
}

/// One recurrent decode step of causal TSSA for every sequence `b` (grid `(B,)`), all heads
/// of the new token as a `[BH, BD]` tile: `S₂ += w²`;
/// `u = Σ_j (w²/max(S₂, 1e-12) + bias[h, pos])`; `Π = softmax_h(temp_h u)`; `R += Π w²`;
/// `P += Π`; `y = −w Π / (1 + R/(P + 1e-8))`. State `s2 (B, H, d)`, `rp (B, H, d + 1)`
/// (`[R, P]`), updated in place.
#[tile_kernel(configs = [(BH = 16, BD = 64, cpu_only = true), (BH = 32, BD = 64)])]
pub fn tssa_decode_step(
    w: Ptr<f32>,
    s2: Ptr<f32>,
    rp: Ptr<f32>,
    temp: Ptr<f32>,
    bias: Ptr<f32>,
    y: Ptr<f32>,
    h: i32,
    d: i32,
    bs: i32,
    pos: i32,
    #[constexpr] BH: usize,
    #[constexpr] BD: usize,
) {
    let b = program_id(0).cast::<i64>();
    let (h64, d64) = (h.cast::<i64>(), d.cast::<i64>());
    let heads = arange::<BH>();
    let cols = arange::<BD>();
    let hmask = heads < h;
    let mask = hmask[(.., None)] & (cols[(None, ..)] < d);
    let base = b * h64 * d64;
    let offs = heads[(.., None)] * d + cols[(None, ..)];
    let x = load(w + base + offs, mask, 0.0);
    let xsq = x * x;
    let s2n = load(s2 + base + offs, mask, 0.0) + xsq;
    store(s2 + base + offs, s2n, mask);
    let bv = load(bias + heads * bs + pos, hmask, 0.0);
    let u = sum(
        select(mask, xsq / maximum(s2n, 1e-12) + bv[(.., None)], 0.0),
        1,
    );
    let z = select(hmask, load(temp + heads, hmask, 0.0) * u, f32::NEG_INFINITY);
    let e = exp(z - max(z, 0));
    let p = e / sum(e, 0);
    let rbase = b * h64 * (d64 + 1);
    let roffs = heads[(.., None)] * (d + 1) + cols[(None, ..)];
    let rr = load(rp + rbase + roffs, mask, 0.0) + xsq * p[(.., None)];
    store(rp + rbase + roffs, rr, mask);
    let poffs = heads * (d + 1) + d;
    let pp = load(rp + rbase + poffs, hmask, 0.0) + p;
    store(rp + rbase + poffs, pp, hmask);
    let yv = -(x * p[(.., None)]) / (1.0 + rr / (pp + 1e-8)[(.., None)]);
    store(y + base + offs, yv, mask);
}

#[cfg(test)]
mod tests;
