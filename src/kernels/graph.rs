//! Graph attention kernels on CSR graphs (SEEDS.md §2), written in the DSL: GAT with `PyG`
//! `GATConv` semantics, GAO (dot-product attention over neighbours), hGAO (hard attention over
//! the top-k neighbours, `attn = dot` or `attn = gat`) and cGAO (channel-wise attention), for
//! one graph or a batch of graphs.
//!
//! Graphs are CSR: `rowptr` (i32, `N + 1`) and `col` (i32, `E`); row `i` lists the neighbours
//! `j` node `i` attends to (for GAT the sources of the edges `j → i`). The kernels that read
//! node features are stamped out per feature element type by a `macro_rules!` (modules
//! [`f32_features`], [`f16_features`], [`bf16_features`]): they load f32/f16/bf16 features,
//! compute and accumulate in f32 and store the output in the feature type; parameters
//! (weights, attention vectors, `p`, bias) and intermediate scores are f32. The public API is
//! [`crate::graph`], which validates everything before it launches these kernels.
//!
//! How they are meant to run on a GPU (and how they run on the interpreter):
//!
//! * Neighbour loops are *segment* loops: one program per destination node walks its CSR
//!   segment in blocks of `BE` edges, gathers the neighbour rows through the column index tile
//!   (`load(h + nb[:, None] * stride + c[None, :])`) and keeps an online max / sum (the
//!   `FlashAttention` recurrence), so no `N × N` or `E × d` intermediate exists and a node may have
//!   any number of neighbours. A node with no neighbour never enters the loop and writes 0.
//! * `linear_nt` is the tiled projection `h = x Wᵀ` (`PyG`'s `Linear(bias=False)`) with a K loop.
//! * hGAO is two phases: `hgao_scores` (`y = |x p| / ‖p‖`, one scalar per node) and
//!   [`hgao_select`], a streaming top-k over each node's neighbour blocks with the DSL's
//!   `topk` along an axis: every block's keys are cut to the best `KP`, joined with the
//!   running best and cut again. The key packs the score and the node id into one i64
//!   (`bits(y) << 32 | (2³¹ − 1 − id)`; `y ≥ 0`, so its f32 bits order like the value), which
//!   makes the ranking exactly the reference's: larger `y` first, ties to the lower node id,
//!   whatever the CSR order. Then `hgao_dot` / `hgao_gat` attend over the `≤ KP` selected
//!   rows, gated by `sigmoid(y)`.
//! * cGAO is three phases: `cgao_gram` reduces `Xᵀ X` over chunks of each graph's rows (a
//!   segmented, split reduction over a `(graph, split)` grid, `dot` on `BN × BD` tiles, so one
//!   big graph still fills the machine); [`cgao_softmax`] sums the partials in a fixed order
//!   and takes `softmax_rows(E)`; `cgao_apply` computes `O = X · softmax(E)ᵀ` for blocks of
//!   rows, in parallel over `(graph, row block)`.
//!
//! Feature widths are padded to the power-of-two tile width (`BD`, `BO`) with masks; offsets
//! are i32, so a tensor must hold fewer than 2³¹ elements.
//!
//! Prebuilt PTX (`tilefuse prebuild`): every declared config but `linear_nt`'s `cpu_only` one,
//! `gat_aggregate` with `concat` both ways (hidden layers concatenate heads, the last layer
//! averages them). The declared configurations are the tiles [`crate::graph`] launches on a
//! GPU: feature widths 16, 64 and 256 (cGAO: 16, 64 and 128, its `d × d` matrix being a
//! shared-memory `dot` operand), top-k tiles 16, 64 and 256, and for hGAO's GAT attention,
//! whose `[BD, BD]` weight tile is a shared-memory `dot` operand too, `(KP, BD)` of
//! `(16, 16)`, `(64, 64)`, `(256, 64)` and `(64, 128)`; on the interpreter it picks the next
//! power of two of the data instead.

use crate::{tile_fn, tile_kernel};

/// Rows `idx` of the row-major matrix at `p` (row stride `stride`), columns `c`, as an f32
/// `[K, BD]` tile; 0 where `rmask` (per row) or `cmask` (per column) is false. The gather of
/// neighbour features every kernel here does. Inlined.
#[tile_fn]
fn gather_rows(p: _, idx: _, rmask: _, stride: i32, c: _, cmask: _) -> _ {
    let m2 = rmask[(.., None)] & cmask[(None, ..)];
    load(p + idx[(.., None)] * stride + c[(None, ..)], m2, 0.0).cast::<f32>()
}

/// One block of an online softmax over neighbours: folds scores `s` (`[K]`, `−∞` for padding)
/// and their rows `v` (`[K, B]`) into the running `(acc, l, m)` (weighted sum, sum of
/// weights, max). Inlined.
#[tile_fn]
fn online_softmax_step<const K: usize, const B: usize>(
    acc: Tile<f32, B>,
    l: f32,
    m: f32,
    s: Tile<f32, K>,
    v: Tile<f32, K, B>,
) -> (Tile<f32, B>, f32, f32) {
    let m_new = maximum(m, max(s, 0));
    let alpha = exp(m - m_new);
    let p = exp(s - m_new);
    (
        acc * alpha + sum(p[(.., None)] * v, 0),
        l * alpha + sum(p, 0),
        m_new,
    )
}

/// `softmax(s)ᵀ v` for scores `s` (`[K]`, `−∞` for padding) and rows `v` (`[K, B]`); 0 when
/// every score is `−∞`. Inlined.
#[tile_fn]
fn softmax_pool(s: _, v: _) -> _ {
    let mx = max(s, 0);
    let p = exp(s - select(mx > f32::NEG_INFINITY, mx, 0.0));
    let l = sum(p, 0);
    sum(p[(.., None)] * v, 0) / select(l > 0.0, l, 1.0)
}

/// Stamps out the kernels that read node features (and write outputs) of element type `$t`,
/// in a module `$m`; they load `$t`, compute and accumulate in f32, and store `$t`.
/// Parameters (weights, attention vectors, `p`, bias) and scores are f32.
macro_rules! feature_kernels {
    ($(#[$doc:meta])* $m:ident, $t:ident) => {
        $(#[$doc])*
        pub mod $m {
            use crate::tile_kernel;

        /// `y = x · wᵀ` for row-major `x (m, k)` and f32 `w (n, k)`, accumulated in f32: the
        /// bias-free linear layer. One `BM × BN` block of `y` per program, accumulating over `k` in
        /// steps of `BK`.
        #[tile_kernel(configs = [(BM = 32, BN = 32, BK = 16, cpu_only = true), (BM = 64, BN = 64, BK = 32)])]
        pub fn linear_nt<const BM: usize, const BN: usize, const BK: usize>(
            x: Ptr<$t>,
            w: Ptr<f32>,
            y: Ptr<$t>,
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
                let a = load(x + rows[(.., None)] * k + ks[(None, ..)], a_mask, 0.0).cast::<f32>();
                let b_mask = (ks[(.., None)] < k) & (cols[(None, ..)] < n);
                let b = load(w + cols[(None, ..)] * k + ks[(.., None)], b_mask, 0.0);
                acc = dot(a, b, acc);
            }
            let mask = (rows[(.., None)] < m) & (cols[(None, ..)] < n);
            store(y + rows[(.., None)] * n + cols[(None, ..)], acc.cast::<$t>(), mask);
        }

        /// GAT aggregation (`PyG` `GATConv` after the projection), one program per destination node
        /// `i`, all heads: `h (N, heads·out)`, `att_src`/`att_dst (heads, out)`; per head `e_ij =
        /// LeakyReLU(a_dst·h_i + a_src·h_j)` over the neighbours `j` of row `i`, an online segment
        /// softmax over blocks of `BE` edges, `o = Σ_j α_ij h_j`. With `concat` the heads are
        /// written side by side (`out (N, heads·out)`), otherwise averaged (`out (N, out)`); then
        /// `+ bias` (width of `out`'s row). `out_ch ≤ BO`.
        #[tile_kernel(configs = [(BE = 32, BO = 16), (BE = 32, BO = 64), (BE = 32, BO = 256)], prebuild = [concat])]
        pub fn gat_aggregate<const BE: usize, const BO: usize>(
            h: Ptr<$t>,
            att_src: Ptr<f32>,
            att_dst: Ptr<f32>,
            bias: Ptr<f32>,
            rowptr: Ptr<i32>,
            col: Ptr<i32>,
            out: Ptr<$t>,
            heads: i32,
            out_ch: i32,
            slope: f32,
            #[constexpr] concat: bool,
        ) {
            let i = program_id(0);
            let start = load(rowptr + i);
            let end = load(rowptr + i + 1);
            let c = arange::<BO>();
            let cmask = c < out_ch;
            let hc = heads * out_ch;
            let mut mean = zeros::<f32, BO>();
            for hd in range(0, heads, 1) {
                let base = hd * out_ch;
                let hi = load(h + i * hc + base + c, cmask, 0.0).cast::<f32>();
                let a_s = load(att_src + base + c, cmask, 0.0);
                let a_d = load(att_dst + base + c, cmask, 0.0);
                let q = sum(hi * a_d, 0);
                let mut m = f32::NEG_INFINITY;
                let mut l = 0.0;
                let mut acc = zeros::<f32, BO>();
                for e0 in range(start, end, BE) {
                    let eidx = e0 + arange::<BE>();
                    let emask = eidx < end;
                    let nb = load(col + eidx, emask, 0);
                    let hk = super::gather_rows(h + base, nb, emask, hc, c, cmask);
                    let raw = q + sum(hk * a_s[(None, ..)], 1);
                    let lr = select(raw > 0.0, raw, raw * slope);
                    let s = select(emask, lr, f32::NEG_INFINITY);
                    let (a, l2, m2) = super::online_softmax_step(acc, l, m, s, hk);
                    acc = a;
                    l = l2;
                    m = m2;
                }
                let o = acc / select(l > 0.0, l, 1.0);
                if concat {
                    let b = load(bias + base + c, cmask, 0.0);
                    store(out + i * hc + base + c, (o + b).cast::<$t>(), cmask);
                } else {
                    mean += o;
                }
            }
            if !concat {
                let b = load(bias + c, cmask, 0.0);
                store(out + i * out_ch + c, (mean / heads.cast::<f32>() + b).cast::<$t>(), cmask);
            }
        }

        /// GAO: `z_i = Σ_{j∈N(i)} softmax_j(x_i·x_j) x_j`, one program per node, online softmax
        /// over blocks of `BE` neighbours gathered through the column index tile. `x (N, d)`, `d ≤
        /// BD`.
        #[tile_kernel(configs = [(BE = 32, BD = 16), (BE = 32, BD = 64), (BE = 32, BD = 256)])]
        pub fn gao<const BE: usize, const BD: usize>(
            x: Ptr<$t>,
            rowptr: Ptr<i32>,
            col: Ptr<i32>,
            z: Ptr<$t>,
            d: i32,
        ) {
            let i = program_id(0);
            let start = load(rowptr + i);
            let end = load(rowptr + i + 1);
            let c = arange::<BD>();
            let cmask = c < d;
            let q = load(x + i * d + c, cmask, 0.0).cast::<f32>();
            let mut m = f32::NEG_INFINITY;
            let mut l = 0.0;
            let mut acc = zeros::<f32, BD>();
            for e0 in range(start, end, BE) {
                let eidx = e0 + arange::<BE>();
                let emask = eidx < end;
                let nb = load(col + eidx, emask, 0);
                let xk = super::gather_rows(x, nb, emask, d, c, cmask);
                let s = select(emask, sum(xk * q[(None, ..)], 1), f32::NEG_INFINITY);
                let (a, l2, m2) = super::online_softmax_step(acc, l, m, s, xk);
                acc = a;
                l = l2;
                m = m2;
            }
            store(z + i * d + c, (acc / select(l > 0.0, l, 1.0)).cast::<$t>(), cmask);
        }

        /// hGAO's node scores `y = |x p| / ‖p‖` for blocks of `BN` nodes. `x (n, d)`, f32 `p (d,)`
        /// and `y (n,)`, `d ≤ BD`; `‖p‖ > 0` is the caller's to check.
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 32, BD = 64), (BN = 32, BD = 256)])]
        pub fn hgao_scores<const BN: usize, const BD: usize>(
            x: Ptr<$t>,
            p: Ptr<f32>,
            y: Ptr<f32>,
            n: i32,
            d: i32,
        ) {
            let rows = program_id(0) * BN + arange::<BN>();
            let rmask = rows < n;
            let c = arange::<BD>();
            let cmask = c < d;
            let pv = load(p + c, cmask, 0.0);
            let norm = sqrt(sum(pv * pv, 0));
            let xt = super::gather_rows(x, rows, rmask, d, c, cmask);
            let score = abs(sum(xt * pv[(None, ..)], 1)) / norm;
            store(y + rows, score, rmask);
        }

        /// hGAO with the paper's dot-product attention over the selected neighbours:
        /// `X̃ = X[sel] ⊙ sigmoid(y[sel])`, `z_i = softmax(X̃ x_i)ᵀ X̃`. `sel (N, KP)` from
        /// [`super::hgao_select`] (−1 = none), `x (N, d)`, `d ≤ BD`.
        #[tile_kernel(configs = [(KP = 16, BD = 16), (KP = 64, BD = 64), (KP = 256, BD = 256, num_warps = 8)])]
        pub fn hgao_dot<const KP: usize, const BD: usize>(
            x: Ptr<$t>,
            y: Ptr<f32>,
            sel: Ptr<i32>,
            z: Ptr<$t>,
            d: i32,
        ) {
            let i = program_id(0);
            let c = arange::<BD>();
            let cmask = c < d;
            let id = load(sel + i * KP + arange::<KP>());
            let valid = id >= 0;
            let q = load(x + i * d + c, cmask, 0.0).cast::<f32>();
            let gate = sigmoid(load(y + id, valid, 0.0));
            let xt = super::gather_rows(x, id, valid, d, c, cmask) * gate[(.., None)];
            let s = select(valid, sum(xt * q[(None, ..)], 1), f32::NEG_INFINITY);
            let o = super::softmax_pool(s, xt);
            store(z + i * d + c, o.cast::<$t>(), cmask);
        }

        /// hGAO with DGL/GammaGL's additive (GAT, single head, slope 0.2) attention over the
        /// selected neighbours: `h_q = W x_i` (ungated), `h_k = X̃ Wᵀ`, `e = LeakyReLU(h_q·a_dst +
        /// h_k·a_src)`, `z_i = softmax(e)ᵀ h_k`. `w (out, d)`, `a_src`/`a_dst (out,)`, `d, out ≤
        /// BD`.
        #[tile_kernel(configs = [
            (KP = 16, BD = 16),
            (KP = 64, BD = 64),
            (KP = 256, BD = 64, num_warps = 8),
            (KP = 64, BD = 128, num_warps = 8),
        ])]
        pub fn hgao_gat<const KP: usize, const BD: usize>(
            x: Ptr<$t>,
            y: Ptr<f32>,
            sel: Ptr<i32>,
            w: Ptr<f32>,
            a_src: Ptr<f32>,
            a_dst: Ptr<f32>,
            z: Ptr<$t>,
            d: i32,
            out_ch: i32,
        ) {
            let i = program_id(0);
            let c = arange::<BD>();
            let cmask = c < d;
            let o = arange::<BD>();
            let omask = o < out_ch;
            let id = load(sel + i * KP + arange::<KP>());
            let valid = id >= 0;
            // wt[c, o] = w[o, c]: (BD features, BD outputs).
            let wt = load(
                w + o[(None, ..)] * d + c[(.., None)],
                cmask[(.., None)] & omask[(None, ..)],
                0.0,
            );
            let q = load(x + i * d + c, cmask, 0.0).cast::<f32>();
            let hq = sum(wt * q[(.., None)], 0);
            let gate = sigmoid(load(y + id, valid, 0.0));
            let xt = super::gather_rows(x, id, valid, d, c, cmask) * gate[(.., None)];
            let hk = dot(xt, wt);
            let a_s = load(a_src + o, omask, 0.0);
            let a_d = load(a_dst + o, omask, 0.0);
            let raw = sum(hq * a_d, 0) + sum(hk * a_s[(None, ..)], 1);
            let lr = select(raw > 0.0, raw, raw * 0.2);
            let s = select(valid, lr, f32::NEG_INFINITY);
            let out = super::softmax_pool(s, hk);
            store(z + i * out_ch + o, out.cast::<$t>(), omask);
        }

        /// cGAO phase 1, a `(graph, split)` grid: program `(g, sp)` reduces `Xᵀ X` over its chunk
        /// of the rows `graph_ptr[g]..graph_ptr[g + 1]` of `x (N, d)` (the rows split into `splits`
        /// contiguous chunks of whole `BN`-row blocks), in blocks of `BN` rows with `dot`, and
        /// writes the partial `(d, d)` sum to `part[g·splits + sp]` (zeros for an empty chunk). `d
        /// ≤ BD`.
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 32, BD = 64), (BN = 32, BD = 128, num_warps = 8)])]
        pub fn cgao_gram<const BN: usize, const BD: usize>(
            x: Ptr<$t>,
            graph_ptr: Ptr<i32>,
            part: Ptr<f32>,
            d: i32,
            splits: i32,
        ) {
            let g = program_id(0);
            let sp = program_id(1);
            let r0 = load(graph_ptr + g);
            let r1 = load(graph_ptr + g + 1);
            let chunk = cdiv(cdiv(r1 - r0, splits), BN) * BN;
            let lo = r0 + sp * chunk;
            let hi = minimum(lo + chunk, r1);
            let c = arange::<BD>();
            let cmask = c < d;
            let mut e = zeros::<f32, BD, BD>();
            for b0 in range(lo, hi, BN) {
                let rows = b0 + arange::<BN>();
                let m2 = (rows[(.., None)] < hi) & cmask[(None, ..)];
                let xb = load(x + rows[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>();
                e = dot(trans(xb), xb, e);
            }
            let m2 = cmask[(.., None)] & cmask[(None, ..)];
            store(
                part + (g * splits + sp) * d * d + c[(.., None)] * d + c[(None, ..)],
                e,
                m2,
            );
        }

        /// cGAO phase 3 over a `(graph, row block)` grid: `z[r] = s[g] · x[r]` (i.e.
        /// `O = X · softmax(E)ᵀ`) for the rows `r` of block `program_id(1)` of graph
        /// `program_id(0)`; blocks past the graph's end write nothing. `d ≤ BD`.
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 32, BD = 64), (BN = 32, BD = 128, num_warps = 8)])]
        pub fn cgao_apply<const BN: usize, const BD: usize>(
            x: Ptr<$t>,
            graph_ptr: Ptr<i32>,
            s: Ptr<f32>,
            z: Ptr<$t>,
            d: i32,
        ) {
            let g = program_id(0);
            let r1 = load(graph_ptr + g + 1);
            let rows = load(graph_ptr + g) + program_id(1) * BN + arange::<BN>();
            let c = arange::<BD>();
            let cmask = c < d;
            let cm2 = cmask[(.., None)] & cmask[(None, ..)];
            let sm = load(s + g * d * d + c[(.., None)] * d + c[(None, ..)], cm2, 0.0);
            let m2 = (rows[(.., None)] < r1) & cmask[(None, ..)];
            let xb = load(x + rows[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>();
            let o = dot(xb, trans(sm));
            store(z + rows[(.., None)] * d + c[(None, ..)], o.cast::<$t>(), m2);
        }
        }
    };
}

feature_kernels!(
    /// The graph kernels on f32 node features.
    f32_features,
    f32
);
feature_kernels!(
    /// The graph kernels on f16 node features (f32 accumulation).
    f16_features,
    f16
);
feature_kernels!(
    /// The graph kernels on bf16 node features (f32 accumulation).
    bf16_features,
    bf16
);

/// hGAO's `Ranking_k`: for every node `i` (one program each), the ids of its `min(k, deg_i)`
/// neighbours with the largest `y`, ties to the lower node id, written in that order to
/// `sel[i·KP ..]` and padded with −1 (`k ≤ KP`, `KP2 = 2·KP`). A streaming top-k over blocks
/// of `KP` neighbours on i64 keys `bits(y) << 32 | (2³¹ − 1 − id)` (valid for `y ≥ 0`): each
/// block is joined with the running best `KP`, sorted descending along the axis and cut back
/// to its first `KP` (the DSL's `topk` needs a literal `k`; `sort` + the cut does not).
#[tile_kernel(configs = [(KP = 16, KP2 = 32), (KP = 64, KP2 = 128), (KP = 256, KP2 = 512)])]
pub fn hgao_select<const KP: usize, const KP2: usize>(
    y: Ptr<f32>,
    rowptr: Ptr<i32>,
    col: Ptr<i32>,
    sel: Ptr<i32>,
    k: i32,
) {
    static_assert(KP2 == 2 * KP, "KP2 must be 2 * KP");
    let i = program_id(0);
    let start = load(rowptr + i);
    let end = load(rowptr + i + 1);
    let mut best = full::<i64, KP>(-1);
    for e0 in range(start, end, KP) {
        let eidx = e0 + arange::<KP>();
        let emask = eidx < end;
        let nb = load(col + eidx, emask, 0);
        let yv = load(y + nb, emask, 0.0);
        let hi = bitcast::<i32>(yv).cast::<i64>() << 32;
        let lo = (2147483647 - nb).cast::<i64>();
        let key = select(emask, hi | lo, -1);
        let (sorted, _) = sort(reshape::<KP2>(join(best, key)), 0, true);
        // sorted[0..KP] is the new best: (2, KP) -> (KP, 2) -> the first column.
        let (first, _) = split(trans(reshape::<2, KP>(sorted)));
        best = first;
    }
    let r = arange::<KP>();
    let valid = (best >= 0) & (r < k);
    let low = select(valid, best & 4294967295, 2147483647);
    let id = select(valid, (2147483647 - low).cast::<i32>(), -1);
    store(sel + i * KP + r, id);
}

/// cGAO phase 2, one program per graph: `E = Σ_sp part[g·splits + sp]` in a fixed order
/// (deterministic, no atomics), then `s[g] = softmax_rows(E)` (`s (G, d, d)`). `d ≤ BD`.
#[tile_kernel(configs = [(BD = 16), (BD = 64), (BD = 128, num_warps = 8)])]
pub fn cgao_softmax<const BD: usize>(part: Ptr<f32>, s: Ptr<f32>, d: i32, splits: i32) {
    let g = program_id(0);
    let c = arange::<BD>();
    let cmask = c < d;
    let m2 = cmask[(.., None)] & cmask[(None, ..)];
    let offs = c[(.., None)] * d + c[(None, ..)];
    let mut e = zeros::<f32, BD, BD>();
    for sp in range(0, splits, 1) {
        e += load(part + (g * splits + sp) * d * d + offs, m2, 0.0);
    }
    let e = select(cmask[(None, ..)], e, f32::NEG_INFINITY);
    let p = exp(e - max(e, 1)[(.., None)]);
    let sm = p / sum(p, 1)[(.., None)];
    store(s + g * d * d + offs, sm, m2);
}

#[cfg(test)]
mod tests;
