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

use crate::tile_kernel;

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
        #[tile_kernel(configs = [(BM = 32, BN = 32, BK = 16), (BM = 64, BN = 64, BK = 32)])]
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
        #[tile_kernel(configs = [(BE = 32, BO = 16), (BE = 32, BO = 64)])]
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
                    let m2 = emask[(.., None)] & cmask[(None, ..)];
                    let hk = load(h + nb[(.., None)] * hc + base + c[(None, ..)], m2, 0.0)
                        .cast::<f32>();
                    let raw = q + sum(hk * a_s[(None, ..)], 1);
                    let lr = select(raw > 0.0, raw, raw * slope);
                    let s = select(emask, lr, f32::NEG_INFINITY);
                    let m_new = maximum(m, max(s, 0));
                    let alpha = exp(m - m_new);
                    let p = exp(s - m_new);
                    l = l * alpha + sum(p, 0);
                    acc = acc * alpha + sum(p[(.., None)] * hk, 0);
                    m = m_new;
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
        #[tile_kernel(configs = [(BE = 32, BD = 16), (BE = 32, BD = 64)])]
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
                let m2 = emask[(.., None)] & cmask[(None, ..)];
                let xk = load(x + nb[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>();
                let s = select(emask, sum(xk * q[(None, ..)], 1), f32::NEG_INFINITY);
                let m_new = maximum(m, max(s, 0));
                let alpha = exp(m - m_new);
                let p = exp(s - m_new);
                l = l * alpha + sum(p, 0);
                acc = acc * alpha + sum(p[(.., None)] * xk, 0);
                m = m_new;
            }
            store(z + i * d + c, (acc / select(l > 0.0, l, 1.0)).cast::<$t>(), cmask);
        }

        /// hGAO's node scores `y = |x p| / ‖p‖` for blocks of `BN` nodes. `x (n, d)`, f32 `p (d,)`
        /// and `y (n,)`, `d ≤ BD`; `‖p‖ > 0` is the caller's to check.
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 64, BD = 64)])]
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
            let m2 = rmask[(.., None)] & cmask[(None, ..)];
            let xt = load(x + rows[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>();
            let score = abs(sum(xt * pv[(None, ..)], 1)) / norm;
            store(y + rows, score, rmask);
        }

        /// hGAO with the paper's dot-product attention over the selected neighbours:
        /// `X̃ = X[sel] ⊙ sigmoid(y[sel])`, `z_i = softmax(X̃ x_i)ᵀ X̃`. `sel (N, KP)` from
        /// [`super::hgao_select`] (−1 = none), `x (N, d)`, `d ≤ BD`.
        #[tile_kernel(configs = [(KP = 16, BD = 16), (KP = 64, BD = 64)])]
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
            let m2 = valid[(.., None)] & cmask[(None, ..)];
            let gate = sigmoid(load(y + id, valid, 0.0));
            let xt = load(x + id[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>()
                * gate[(.., None)];
            let s = select(valid, sum(xt * q[(None, ..)], 1), f32::NEG_INFINITY);
            let mx = max(s, 0);
            let p = exp(s - select(mx > f32::NEG_INFINITY, mx, 0.0));
            let l = sum(p, 0);
            let o = sum(p[(.., None)] * xt, 0) / select(l > 0.0, l, 1.0);
            store(z + i * d + c, o.cast::<$t>(), cmask);
        }

        /// hGAO with DGL/GammaGL's additive (GAT, single head, slope 0.2) attention over the
        /// selected neighbours: `h_q = W x_i` (ungated), `h_k = X̃ Wᵀ`, `e = LeakyReLU(h_q·a_dst +
        /// h_k·a_src)`, `z_i = softmax(e)ᵀ h_k`. `w (out, d)`, `a_src`/`a_dst (out,)`, `d, out ≤
        /// BD`.
        #[tile_kernel(configs = [(KP = 16, BD = 16), (KP = 64, BD = 64)])]
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
            let m2 = valid[(.., None)] & cmask[(None, ..)];
            let xt = load(x + id[(.., None)] * d + c[(None, ..)], m2, 0.0).cast::<f32>()
                * gate[(.., None)];
            let hk = dot(xt, wt);
            let a_s = load(a_src + o, omask, 0.0);
            let a_d = load(a_dst + o, omask, 0.0);
            let raw = sum(hq * a_d, 0) + sum(hk * a_s[(None, ..)], 1);
            let lr = select(raw > 0.0, raw, raw * 0.2);
            let s = select(valid, lr, f32::NEG_INFINITY);
            let mx = max(s, 0);
            let p = exp(s - select(mx > f32::NEG_INFINITY, mx, 0.0));
            let l = sum(p, 0);
            let out = sum(p[(.., None)] * hk, 0) / select(l > 0.0, l, 1.0);
            store(z + i * out_ch + o, out.cast::<$t>(), omask);
        }

        /// cGAO phase 1, a `(graph, split)` grid: program `(g, sp)` reduces `Xᵀ X` over its chunk
        /// of the rows `graph_ptr[g]..graph_ptr[g + 1]` of `x (N, d)` (the rows split into `splits`
        /// contiguous chunks of whole `BN`-row blocks), in blocks of `BN` rows with `dot`, and
        /// writes the partial `(d, d)` sum to `part[g·splits + sp]` (zeros for an empty chunk). `d
        /// ≤ BD`.
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 64, BD = 64)])]
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
        #[tile_kernel(configs = [(BN = 32, BD = 16), (BN = 64, BD = 64)])]
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
#[tile_kernel(configs = [(KP = 16, KP2 = 32), (KP = 64, KP2 = 128)])]
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
#[tile_kernel(configs = [(BD = 16), (BD = 64)])]
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
mod tests {
    //! The kernels through the public API [`crate::graph`], against the f64 references of
    //! [`crate::reference::graph`] on random graphs with ragged degrees (zero-degree nodes,
    //! degree < k, a node with more neighbours than one block, duplicate edges).

    use crate::graph::{self as api, Csr, GatParams, GatWeights, HgaoAttn};
    use crate::reference::Tensor as RTensor;
    use crate::reference::graph as rg;
    use crate::{Device, Error, Tensor};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// f32 against f64: the kernels accumulate in f32 over at most a few hundred terms.
    const ATOL: f64 = 1e-4;
    const RTOL: f64 = 1e-4;

    fn randn(rng: &mut SmallRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.5f32..1.5)).collect()
    }

    fn ints(rng: &mut SmallRng, n: usize, lo: i32, hi: i32) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(lo..=hi) as f32).collect()
    }

    /// A random directed graph on `n` nodes: node 0 has no neighbour, node 1 has `big`
    /// (more than one block), node 2 has one (itself), the others 0..=6 random ones, with
    /// a duplicate edge on node 3; neighbour lists are in random order.
    fn random_graph(rng: &mut SmallRng, n: usize, big: usize) -> Csr {
        let mut lists: Vec<Vec<usize>> = vec![Vec::new(); n];
        lists[1] = (0..big).map(|_| rng.random_range(0..n)).collect();
        lists[2] = vec![2];
        for (i, l) in lists.iter_mut().enumerate().skip(3) {
            let deg = rng.random_range(0..=6);
            *l = (0..deg).map(|_| rng.random_range(0..n)).collect();
            if i == 3 {
                l.push(5);
                l.push(5);
            }
        }
        Csr::from_lists(&lists).unwrap()
    }

    fn to_ref_csr(g: &Csr) -> rg::Csr {
        rg::Csr::new(
            g.n(),
            g.rowptr().iter().map(|&v| v as usize).collect(),
            g.col().iter().map(|&v| v as usize).collect(),
        )
        .unwrap()
    }

    fn rt(shape: &[usize], data: &[f32]) -> RTensor {
        RTensor::new(shape, data.iter().map(|&v| f64::from(v)).collect()).unwrap()
    }

    fn f64s(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&v| f64::from(v)).collect()
    }

    #[track_caller]
    fn assert_close(got: &Tensor<f32>, want: &RTensor, what: &str) {
        assert_eq!(got.shape(), want.shape(), "{what}: shape");
        for (i, (&g, &w)) in got.to_vec().iter().zip(want.data()).enumerate() {
            let err = (f64::from(g) - w).abs();
            assert!(
                err <= ATOL + RTOL * w.abs(),
                "{what}: element {i} is {g}, the reference {w} (error {err:e})"
            );
        }
    }

    #[test]
    fn gat_matches_pyg_gatconv_reference() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(31);
        let n = 45;
        let g = random_graph(&mut rng, n, 40);
        for (heads, out, cin, concat, project, bias, loops) in [
            (1, 5, 7, true, true, true, true),
            (3, 4, 6, true, true, false, true),
            (2, 6, 5, false, true, true, true),
            (3, 3, 9, false, false, true, false),
            (2, 20, 3, true, false, false, false),
        ] {
            let what = format!(
                "heads {heads} out {out} in {cin} concat {concat} project {project} \
                 bias {bias} self loops {loops}"
            );
            let hc = heads * out;
            let fin = if project { cin } else { hc };
            let xh = randn(&mut rng, n * fin);
            let wh = if project {
                randn(&mut rng, hc * cin)
            } else {
                (0..hc * hc)
                    .map(|i| if i / hc == i % hc { 1.0 } else { 0.0 })
                    .collect()
            };
            let ash = randn(&mut rng, hc);
            let adh = randn(&mut rng, hc);
            let width = if concat { hc } else { out };
            let bh = randn(&mut rng, width);
            let x = dev.tensor(&xh, [n, fin]).unwrap();
            let w = dev.tensor(&wh, [hc, fin]).unwrap();
            let a_s = dev.tensor(&ash, [heads, out]).unwrap();
            let a_d = dev.tensor(&adh, [heads, out]).unwrap();
            let b = dev.tensor(&bh, [width]).unwrap();
            let weights = GatWeights {
                weight: project.then_some(&w),
                att_src: &a_s,
                att_dst: &a_d,
                bias: bias.then_some(&b),
            };
            let params = GatParams {
                heads,
                concat,
                add_self_loops: loops,
                ..GatParams::default()
            };
            let got = api::gat(&dev, &x, &g, &weights, &params).unwrap();
            let rgraph = to_ref_csr(&g);
            let rgraph = if loops {
                rgraph.with_self_loops()
            } else {
                rgraph
            };
            let (rw, ras, rad) = (
                rt(&[hc, fin], &wh),
                rt(&[heads, out], &ash),
                rt(&[heads, out], &adh),
            );
            let rb = f64s(&bh);
            let want = rg::gat_conv(
                &rt(&[n, fin], &xh),
                &rgraph,
                &rg::GatConvParams {
                    w: &rw,
                    att_src: &ras,
                    att_dst: &rad,
                    bias: bias.then_some(&rb[..]),
                    heads,
                    concat,
                    negative_slope: 0.2,
                },
            )
            .unwrap();
            assert_close(&got, &want, &what);
            if !loops {
                // Node 0 has no neighbour: the bias, or 0.
                let row0 = &got.to_vec()[..width];
                let want0: Vec<f32> = if bias { bh.clone() } else { vec![0.0; width] };
                assert_eq!(row0, &want0[..], "{what}: zero-degree row");
            }
        }
    }

    #[test]
    fn gao_matches_reference() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(32);
        for (n, d, big) in [(40, 6, 37), (20, 33, 70)] {
            let g = random_graph(&mut rng, n, big);
            let xh = randn(&mut rng, n * d);
            let x = dev.tensor(&xh, [n, d]).unwrap();
            let got = api::gao(&dev, &x, &g).unwrap();
            let want = rg::gao_dot(&rt(&[n, d], &xh), &to_ref_csr(&g)).unwrap();
            assert_close(&got, &want, &format!("gao n {n} d {d}"));
            assert!(got.to_vec()[..d].iter().all(|&v| v == 0.0), "node 0");
        }
    }

    #[test]
    fn hgao_ranking_is_exact_with_ties_and_small_degrees() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(33);
        let (n, d) = (50, 4);
        let g = random_graph(&mut rng, n, 45);
        // Integer data in a tiny range: many equal scores, ranked by the lower node id.
        let xh = ints(&mut rng, n * d, -1, 1);
        let ph = [1.0f32, 2.0, -1.0, 1.0];
        let x = dev.tensor(&xh, [n, d]).unwrap();
        let p = dev.tensor(&ph, [d]).unwrap();
        let y = rg::hgao_scores(&rt(&[n, d], &xh), &f64s(&ph)).unwrap();
        let rgraph = to_ref_csr(&g);
        let max_deg = g.max_degree();
        let mut tied = 0;
        for k in [1, 2, 4, 8, 17, max_deg, max_deg + 5] {
            let got = api::hgao_ranking(&dev, &x, &g, &p, k).unwrap();
            let want = rg::ranking_k(&rgraph, &y, k).unwrap();
            assert_eq!(got, want, "k = {k}");
            for (i, sel) in want.iter().enumerate() {
                assert_eq!(sel.len(), k.min(g.degree(i)), "k = {k}, node {i}");
                tied += sel.windows(2).filter(|w| y[w[0]] == y[w[1]]).count();
            }
        }
        assert!(tied > 50, "the test data must exercise ties, saw {tied}");
    }

    #[test]
    fn hgao_dot_and_gat_match_reference() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(34);
        let (n, d, out) = (36, 7, 5);
        let g = random_graph(&mut rng, n, 35).with_self_loops();
        let rgraph = to_ref_csr(&g);
        for integer in [false, true] {
            let xh = if integer {
                ints(&mut rng, n * d, -2, 2)
            } else {
                randn(&mut rng, n * d)
            };
            let ph = if integer {
                ints(&mut rng, d, 1, 3)
            } else {
                randn(&mut rng, d)
            };
            let wh = randn(&mut rng, out * d);
            let (ash, adh) = (randn(&mut rng, out), randn(&mut rng, out));
            let x = dev.tensor(&xh, [n, d]).unwrap();
            let p = dev.tensor(&ph, [d]).unwrap();
            let w = dev.tensor(&wh, [out, d]).unwrap();
            let a_s = dev.tensor(&ash, [out]).unwrap();
            let a_d = dev.tensor(&adh, [out]).unwrap();
            let (rx, rw) = (rt(&[n, d], &xh), rt(&[out, d], &wh));
            let (rs, rd) = (f64s(&ash), f64s(&adh));
            for k in [1, 4, 8, g.max_degree()] {
                let what = format!("integer {integer} k {k}");
                let got = api::hgao(&dev, &x, &g, &p, k, HgaoAttn::Dot).unwrap();
                let want = rg::hgao(&rx, &rgraph, &f64s(&ph), k, rg::HgaoAttn::Dot).unwrap();
                assert_close(&got, &want, &format!("dot {what}"));
                let attn = HgaoAttn::Gat {
                    w: &w,
                    a_src: &a_s,
                    a_dst: &a_d,
                };
                let got = api::hgao(&dev, &x, &g, &p, k, attn).unwrap();
                let rattn = rg::HgaoAttn::Gat {
                    w: &rw,
                    a_src: &rs,
                    a_dst: &rd,
                };
                let want = rg::hgao(&rx, &rgraph, &f64s(&ph), k, rattn).unwrap();
                assert_close(&got, &want, &format!("gat {what}"));
            }
        }
        // Without self loops node 0 has no neighbour and gets 0.
        let g0 = random_graph(&mut rng, 10, 12);
        let x = dev.tensor(&randn(&mut rng, 10 * 3), [10, 3]).unwrap();
        let p = dev.tensor(&[1.0f32, -1.0, 0.5], [3]).unwrap();
        let z = api::hgao(&dev, &x, &g0, &p, 3, HgaoAttn::Dot).unwrap();
        assert_eq!(z.to_vec()[..3], [0.0; 3]);
    }

    #[test]
    fn cgao_single_and_batched_match_reference() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(35);
        for (n, d) in [(1, 3), (45, 6), (20, 17)] {
            let xh = randn(&mut rng, n * d);
            let x = dev.tensor(&xh, [n, d]).unwrap();
            let got = api::cgao(&dev, &x).unwrap();
            let want = rg::cgao(&rt(&[n, d], &xh)).unwrap();
            assert_close(&got, &want, &format!("cgao n {n} d {d}"));
        }
        let (n, d) = (80, 5);
        let xh = randn(&mut rng, n * d);
        let x = dev.tensor(&xh, [n, d]).unwrap();
        // An empty graph, a one-node graph, one of more than a row block.
        let ptr = [0, 10, 10, 11, 50, 80];
        let got = api::cgao_batched(&dev, &x, &ptr).unwrap();
        let want = rg::cgao_batched(&rt(&[n, d], &xh), &ptr).unwrap();
        assert_close(&got, &want, "cgao_batched");
        // The split reduction: 1, 3 and 7 chunks per graph (some empty) agree.
        for splits in [1, 3, 7] {
            let got = crate::graph::cgao_impl("graph::cgao_batched", &dev, &x, &ptr, Some(splits));
            assert_close(
                &got.unwrap(),
                &want,
                &format!("cgao_batched, {splits} splits"),
            );
        }
        // Graphs do not mix: changing graph 3 leaves the others bit-identical.
        let mut xh2 = xh.clone();
        xh2[20 * d + 2] += 2.0;
        let x2 = dev.tensor(&xh2, [n, d]).unwrap();
        let got2 = api::cgao_batched(&dev, &x2, &ptr).unwrap();
        let (a, b) = (got.to_vec(), got2.to_vec());
        assert_eq!(a[..11 * d], b[..11 * d]);
        assert_eq!(a[50 * d..], b[50 * d..]);
        assert_ne!(a[11 * d..50 * d], b[11 * d..50 * d]);
    }

    #[test]
    fn edge_index_and_edge_order_and_node_permutations() {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(36);
        // PyG edge_index: row i of the CSR lists the sources of the edges into i.
        let g = Csr::from_edge_index(4, &[0, 2, 3, 1, 0], &[1, 1, 0, 3, 3]).unwrap();
        assert_eq!(g.rowptr(), &[0, 1, 3, 3, 5]);
        assert_eq!(g.col(), &[3, 0, 2, 1, 0]);
        expect_invalid(Csr::from_edge_index(4, &[0], &[4]), "dst[0] = 4");
        expect_invalid(Csr::from_edge_index(4, &[0, 1], &[1]), "src has 2");
        // GAT and GAO do not depend on the order of a node's neighbours.
        let n = 30;
        let g = random_graph(&mut rng, n, 40);
        let rev: Vec<Vec<usize>> = (0..n)
            .map(|i| g.neighbours(i).iter().rev().map(|&j| j as usize).collect())
            .collect();
        let grev = Csr::from_lists(&rev).unwrap();
        let (heads, out, cin) = (2, 5, 4);
        let x = dev.tensor(&randn(&mut rng, n * cin), [n, cin]).unwrap();
        let w = dev
            .tensor(&randn(&mut rng, heads * out * cin), [heads * out, cin])
            .unwrap();
        let a_s = dev
            .tensor(&randn(&mut rng, heads * out), [heads, out])
            .unwrap();
        let a_d = dev
            .tensor(&randn(&mut rng, heads * out), [heads, out])
            .unwrap();
        let weights = GatWeights {
            weight: Some(&w),
            att_src: &a_s,
            att_dst: &a_d,
            bias: None,
        };
        let params = GatParams {
            heads,
            ..GatParams::default()
        };
        let close = |a: &Tensor<f32>, b: &Tensor<f32>| {
            a.to_vec()
                .iter()
                .zip(b.to_vec())
                .all(|(u, v)| (u - v).abs() <= 1e-5 * (1.0 + v.abs()))
        };
        let a = api::gat(&dev, &x, &g, &weights, &params).unwrap();
        let b = api::gat(&dev, &x, &grev, &weights, &params).unwrap();
        assert!(close(&a, &b), "GAT depends on the neighbour order");
        assert!(close(
            &api::gao(&dev, &x, &g).unwrap(),
            &api::gao(&dev, &x, &grev).unwrap()
        ));
        // cGAO is equivariant to node permutations.
        let d = 6;
        let xh = randn(&mut rng, n * d);
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        let xp: Vec<f32> = (0..n * d).map(|e| xh[perm[e / d] * d + e % d]).collect();
        let z = api::cgao(&dev, &dev.tensor(&xh, [n, d]).unwrap()).unwrap();
        let zp = api::cgao(&dev, &dev.tensor(&xp, [n, d]).unwrap()).unwrap();
        let zv = z.to_vec();
        let want: Vec<f32> = (0..n * d).map(|e| zv[perm[e / d] * d + e % d]).collect();
        let want = dev.tensor(&want, [n, d]).unwrap();
        assert!(close(&zp, &want), "cGAO is not permutation equivariant");
    }

    /// f16 and bf16 features: the same kernels on rounded inputs, f32 accumulation, outputs
    /// (and GAT's projected features, as in a half-precision `PyG` layer) rounded to the type.
    fn half_features_match_reference<T: crate::graph::Feature>(
        to: fn(f32) -> T,
        back: fn(T) -> f64,
        tol: f64,
        seed: u64,
    ) {
        let dev = Device::cpu();
        let mut rng = SmallRng::seed_from_u64(seed);
        let (n, d) = (30, 6);
        let g = random_graph(&mut rng, n, 35);
        let rgraph = to_ref_csr(&g);
        let xh: Vec<T> = randn(&mut rng, n * d).into_iter().map(to).collect();
        let xr: Vec<f32> = xh.iter().map(|&v| back(v) as f32).collect();
        let rx = rt(&[n, d], &xr);
        let x = dev.tensor(&xh, [n, d]).unwrap();
        let check = |got: Tensor<T>, want: RTensor, what: &str| {
            assert_eq!(got.shape(), want.shape(), "{what}");
            for (i, (&g, &w)) in got.to_vec().iter().zip(want.data()).enumerate() {
                let err = (back(g) - w).abs();
                assert!(
                    err <= tol * (1.0 + w.abs()),
                    "{what}: [{i}] {} vs {w}",
                    back(g)
                );
            }
        };
        check(
            api::gao(&dev, &x, &g).unwrap(),
            rg::gao_dot(&rx, &rgraph).unwrap(),
            "gao",
        );
        check(api::cgao(&dev, &x).unwrap(), rg::cgao(&rx).unwrap(), "cgao");
        let ph = randn(&mut rng, d);
        let p = dev.tensor(&ph, [d]).unwrap();
        check(
            api::hgao(&dev, &x, &g, &p, 4, HgaoAttn::Dot).unwrap(),
            rg::hgao(&rx, &rgraph, &f64s(&ph), 4, rg::HgaoAttn::Dot).unwrap(),
            "hgao",
        );
        let (heads, out) = (2, 4);
        let wh = randn(&mut rng, heads * out * d);
        let (ash, adh) = (randn(&mut rng, heads * out), randn(&mut rng, heads * out));
        let w = dev.tensor(&wh, [heads * out, d]).unwrap();
        let a_s = dev.tensor(&ash, [heads, out]).unwrap();
        let a_d = dev.tensor(&adh, [heads, out]).unwrap();
        let weights = GatWeights {
            weight: Some(&w),
            att_src: &a_s,
            att_dst: &a_d,
            bias: None,
        };
        let params = GatParams {
            heads,
            ..GatParams::default()
        };
        let (rw, ras, rad) = (
            rt(&[heads * out, d], &wh),
            rt(&[heads, out], &ash),
            rt(&[heads, out], &adh),
        );
        let want = rg::gat_conv(
            &rx,
            &rgraph.with_self_loops(),
            &rg::GatConvParams {
                w: &rw,
                att_src: &ras,
                att_dst: &rad,
                bias: None,
                heads,
                concat: true,
                negative_slope: 0.2,
            },
        )
        .unwrap();
        check(
            api::gat(&dev, &x, &g, &weights, &params).unwrap(),
            want,
            "gat",
        );
    }

    #[test]
    fn f16_and_bf16_features_match_reference() {
        // f16 keeps 11 significant bits, bf16 8: outputs of size O(1) are within a few ulps.
        half_features_match_reference(crate::f16::from_f32, crate::f16::to_f64, 4e-3, 37);
        half_features_match_reference(crate::bf16::from_f32, crate::bf16::to_f64, 3e-2, 38);
    }

    #[track_caller]
    fn expect_invalid<T: std::fmt::Debug>(r: crate::Result<T>, needle: &str) {
        match r {
            Err(Error::Invalid(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
            other => panic!("expected Error::Invalid mentioning {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn bad_inputs_are_rejected_before_any_launch() {
        expect_invalid(
            Csr::new(2, vec![0, 2, 1], vec![0, 1]),
            "rowptr[1] = 2 > rowptr[2] = 1",
        );
        expect_invalid(Csr::new(2, vec![1, 2, 2], vec![0, 1]), "start at 0");
        expect_invalid(Csr::new(2, vec![0, 1, 3], vec![0, 1]), "ends at 3");
        expect_invalid(Csr::new(2, vec![0, 1], vec![0]), "rowptr has 2 entries");
        expect_invalid(Csr::new(2, vec![0, 1, 2], vec![0, 2]), "col[1] = 2");
        expect_invalid(Csr::new(2, vec![0, 1, 2], vec![-1, 0]), "col[0] = -1");
        let dev = Device::cpu();
        let g = Csr::new(3, vec![0, 1, 3, 3], vec![1, 0, 2]).unwrap();
        let z = |s: &[usize]| dev.zeros::<f32>(s.to_vec()).unwrap();
        let x = z(&[3, 4]);
        expect_invalid(api::gao(&dev, &z(&[4, 4]), &g), "x has 4 rows");
        expect_invalid(api::gao(&dev, &z(&[12]), &g), "2-d");
        expect_invalid(api::gao(&dev, &z(&[3, 300]), &g), "at most 256");
        let other = Device::cpu();
        let xo = other.zeros::<f32>([3, 4]).unwrap();
        expect_invalid(api::gao(&dev, &xo, &g), "x belongs to another device");
        let p = dev.tensor(&[1.0f32, 0.0, 0.0, 0.0], [4]).unwrap();
        expect_invalid(api::hgao(&dev, &x, &g, &p, 0, HgaoAttn::Dot), "k is 0");
        expect_invalid(
            api::hgao(&dev, &x, &g, &z(&[4]), 2, HgaoAttn::Dot),
            "positive finite norm",
        );
        expect_invalid(api::hgao(&dev, &x, &g, &z(&[3]), 2, HgaoAttn::Dot), "p has");
        let (w, a3) = (z(&[5, 4]), z(&[3]));
        let bad_gat = HgaoAttn::Gat {
            w: &w,
            a_src: &a3,
            a_dst: &a3,
        };
        expect_invalid(api::hgao(&dev, &x, &g, &p, 2, bad_gat), "a_src");
        let att = z(&[2, 3]);
        let w6 = z(&[6, 4]);
        let mut weights = GatWeights {
            weight: Some(&w6),
            att_src: &att,
            att_dst: &att,
            bias: None,
        };
        let params = GatParams {
            heads: 3,
            ..GatParams::default()
        };
        expect_invalid(api::gat(&dev, &x, &g, &weights, &params), "heads = 3");
        let params = GatParams {
            heads: 2,
            ..GatParams::default()
        };
        let w5 = z(&[6, 5]);
        weights.weight = Some(&w5);
        expect_invalid(api::gat(&dev, &x, &g, &weights, &params), "weight");
        weights.weight = None;
        expect_invalid(api::gat(&dev, &x, &g, &weights, &params), "projected");
        let b = z(&[3]);
        weights.weight = Some(&w6);
        weights.bias = Some(&b);
        expect_invalid(api::gat(&dev, &x, &g, &weights, &params), "bias");
        weights.bias = None;
        let nan = GatParams {
            negative_slope: f32::NAN,
            ..params
        };
        expect_invalid(api::gat(&dev, &x, &g, &weights, &nan), "negative_slope");
        let zero = GatParams { heads: 0, ..params };
        expect_invalid(api::gat(&dev, &x, &g, &weights, &zero), "heads is 0");
        expect_invalid(api::cgao_batched(&dev, &x, &[0, 2, 1, 3]), "decreases");
        expect_invalid(api::cgao_batched(&dev, &x, &[0, 2]), "x has N = 3 rows");
        assert!(api::gat(&dev, &x, &g, &weights, &params).is_ok());
    }
}
