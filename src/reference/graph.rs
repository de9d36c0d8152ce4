//! Graph attention references on CSR graphs (SEEDS.md §2): GAT with `PyG` `GATConv` semantics,
//! GAO, hGAO (`attn = dot` as in the paper, `attn = gat` as in DGL/GammaGL) and cGAO for one
//! graph or a batch of graphs.
//!
//! Port of `attn_op`, `gao_dot`, `gat_layer`, `hgao` and `cgao` of `seeds_ref.py`, in its
//! row-major convention: node features `X (N, d)`, one row per node. The oracle takes a dense
//! 0/1 adjacency; here graphs are [`Csr`] (row `i` lists the neighbours `j` that node `i`
//! attends to, i.e. for GAT the sources of the edges `j → i`), which is what the kernels
//! consume; [`Csr::from_dense`] converts. Each CSR entry is one edge, so duplicate entries
//! count twice (as in `PyG`). Self loops are whatever the CSR holds; [`Csr::with_self_loops`]
//! applies `PyG`'s `add_self_loops` (the `GATConv` default). A node with no neighbour gets a
//! zero output (plus the bias for GAT), where the dense numpy oracle would produce NaN.

use super::tensor::{expect_finite, expect_ndim, expect_shape};
use super::{RefError, RefResult, Tensor, dot, softmax_in_place};

/// A square sparse adjacency in CSR form: the neighbours of node `i` are
/// `col[rowptr[i]..rowptr[i + 1]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    n: usize,
    rowptr: Vec<usize>,
    col: Vec<usize>,
}

impl Csr {
    /// A CSR graph on `n` nodes. Fails, naming the offending entry, unless `rowptr` has
    /// `n + 1` entries, starts at 0, never decreases and ends at `col.len()`, and every column
    /// is `< n`.
    pub fn new(n: usize, rowptr: Vec<usize>, col: Vec<usize>) -> RefResult<Self> {
        const F: &str = "Csr::new";
        if rowptr.len().checked_sub(1) != Some(n) {
            return Err(RefError::new(
                F,
                format!(
                    "rowptr has {} entries, expected n + 1 for n = {n} nodes",
                    rowptr.len()
                ),
            ));
        }
        if rowptr[0] != 0 {
            return Err(RefError::new(
                F,
                format!("rowptr must start at 0, got {}", rowptr[0]),
            ));
        }
        if let Some(i) = rowptr.windows(2).position(|w| w[1] < w[0]) {
            return Err(RefError::new(
                F,
                format!(
                    "rowptr decreases at row {i}: rowptr[{i}] = {} > rowptr[{}] = {}",
                    rowptr[i],
                    i + 1,
                    rowptr[i + 1]
                ),
            ));
        }
        if rowptr[n] != col.len() {
            return Err(RefError::new(
                F,
                format!(
                    "rowptr ends at {} but there are {} column indices",
                    rowptr[n],
                    col.len()
                ),
            ));
        }
        if let Some(e) = col.iter().position(|&c| c >= n) {
            return Err(RefError::new(
                F,
                format!(
                    "column index col[{e}] = {} is out of range for {n} nodes",
                    col[e]
                ),
            ));
        }
        Ok(Self { n, rowptr, col })
    }

    /// The graph of a dense `(N, N)` adjacency: row `i` lists, in increasing order, the `j`
    /// with `a[i, j] > 0` (the oracle's `A[i] > 0`).
    pub fn from_dense(a: &Tensor) -> RefResult<Self> {
        const F: &str = "Csr::from_dense";
        let s = expect_ndim(F, "adjacency (N, N)", a, 2)?;
        if s[0] != s[1] {
            return Err(RefError::new(
                F,
                format!("adjacency must be square, got {s:?}"),
            ));
        }
        if a.data().iter().any(|x| x.is_nan()) {
            return Err(RefError::new(F, "adjacency holds NaN"));
        }
        let n = s[0];
        let mut rowptr = vec![0];
        let mut col = Vec::new();
        for i in 0..n {
            col.extend((0..n).filter(|&j| a.data()[i * n + j] > 0.0));
            rowptr.push(col.len());
        }
        Self::new(n, rowptr, col)
    }

    /// `PyG`'s `remove_self_loops` then `add_self_loops`: every node gets exactly one self loop,
    /// appended after its other neighbours.
    pub fn with_self_loops(&self) -> Self {
        let mut rowptr = vec![0];
        let mut col = Vec::with_capacity(self.col.len() + self.n);
        for i in 0..self.n {
            col.extend(self.neighbours(i).iter().copied().filter(|&j| j != i));
            col.push(i);
            rowptr.push(col.len());
        }
        Self {
            n: self.n,
            rowptr,
            col,
        }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Row offsets (`n + 1` entries).
    pub fn rowptr(&self) -> &[usize] {
        &self.rowptr
    }

    /// Column (neighbour) indices.
    pub fn col(&self) -> &[usize] {
        &self.col
    }

    /// Neighbours of node `i` (empty for `i >= n`).
    pub fn neighbours(&self, i: usize) -> &[usize] {
        if i >= self.n {
            return &[];
        }
        &self.col[self.rowptr[i]..self.rowptr[i + 1]]
    }

    /// Number of neighbours of node `i`.
    pub fn degree(&self, i: usize) -> usize {
        self.neighbours(i).len()
    }
}

/// Checks node features `x (N, d)` against a graph; returns `(N, d)`.
fn check_x(func: &'static str, x: &Tensor, graph: Option<&Csr>) -> RefResult<(usize, usize)> {
    let s = expect_ndim(func, "x (N, d)", x, 2)?;
    if let Some(g) = graph
        && g.n() != s[0]
    {
        return Err(RefError::new(
            func,
            format!("x has {} nodes but the graph has {}", s[0], g.n()),
        ));
    }
    expect_finite(func, "x", x.data())?;
    Ok((s[0], s[1]))
}

/// The paper's attention operator (SEEDS.md §2.1; oracle `attn_op`): `O = V·softmax(KᵀQ)`
/// column-wise, i.e. row-major `O = softmax_rows(Q·Kᵀ)·V`.
///
/// q `(m, d)`, k `(n, d)`, v `(n, p)`. Returns `(m, p)`; with `n = 0` the output is 0.
pub fn attn_op(q: &Tensor, k: &Tensor, v: &Tensor) -> RefResult<Tensor> {
    const F: &str = "attn_op";
    let qs = expect_ndim(F, "q (m, d)", q, 2)?;
    let ks = expect_ndim(F, "k (n, d)", k, 2)?;
    let vs = expect_ndim(F, "v (n, p)", v, 2)?;
    if ks[1] != qs[1] || vs[0] != ks[0] {
        return Err(RefError::new(
            F,
            format!("shapes q {qs:?}, k {ks:?}, v {vs:?} do not fit (m, d), (n, d), (n, p)"),
        ));
    }
    let (m, d, n, p) = (qs[0], qs[1], ks[0], vs[1]);
    let mut o = Tensor::zeros(&[m, p]);
    let mut e = vec![0.0; n];
    for i in 0..m {
        for (j, ej) in e.iter_mut().enumerate() {
            *ej = dot(&q.data()[i * d..(i + 1) * d], &k.data()[j * d..(j + 1) * d]);
        }
        softmax_in_place(&mut e);
        for (j, &a) in e.iter().enumerate() {
            for c in 0..p {
                o.data_mut()[i * p + c] += a * v.data()[j * p + c];
            }
        }
    }
    Ok(o)
}

/// GAO, soft graph attention (SEEDS.md §2.2; oracle `gao_dot`): dot-product self-attention
/// restricted to neighbours, `z_i = Σ_{j∈N(i)} softmax_j(x_i·x_j)·x_j`.
///
/// x `(N, d)`. Returns `(N, d)`; a node without neighbours gets 0.
pub fn gao_dot(x: &Tensor, graph: &Csr) -> RefResult<Tensor> {
    const F: &str = "gao_dot";
    let (n, d) = check_x(F, x, Some(graph))?;
    let xd = x.data();
    let mut z = Tensor::zeros(&[n, d]);
    for i in 0..n {
        let nbr = graph.neighbours(i);
        let mut e: Vec<f64> = nbr
            .iter()
            .map(|&j| dot(&xd[i * d..(i + 1) * d], &xd[j * d..(j + 1) * d]))
            .collect();
        softmax_in_place(&mut e);
        for (&j, &a) in nbr.iter().zip(&e) {
            for c in 0..d {
                z.data_mut()[i * d + c] += a * xd[j * d + c];
            }
        }
    }
    Ok(z)
}

/// Parameters of a multi-head GAT layer with `PyG` `GATConv` semantics (SEEDS.md §2.3).
#[derive(Clone, Copy, Debug)]
pub struct GatConvParams<'a> {
    /// `Θ`, the `Linear(in, heads·out, bias=False)` weight, `(heads·out, in)`.
    pub w: &'a Tensor,
    /// `a_src` per head, `(heads, out)`.
    pub att_src: &'a Tensor,
    /// `a_dst` per head, `(heads, out)`.
    pub att_dst: &'a Tensor,
    /// Output bias, `(heads·out,)` with concat, `(out,)` with mean; `None` for no bias.
    pub bias: Option<&'a [f64]>,
    /// Number of heads.
    pub heads: usize,
    /// Concatenate the heads (`true`, `PyG`'s default) or average them.
    pub concat: bool,
    /// `LeakyReLU` negative slope (`PyG`'s default 0.2).
    pub negative_slope: f64,
}

/// Multi-head GAT forward on CSR with `PyG` `GATConv` semantics (SEEDS.md §2.3):
/// `h_j = Θ x_j` split into heads; per head, for node `i` and its neighbours `j` (the edges
/// `j → i`), `e_ij = LeakyReLU(a_dst·h_i + a_src·h_j)`, `α_ij = softmax_j(e_ij)` (segment
/// softmax over row `i`), `x'_i = Σ_j α_ij h_j`; heads concatenated or averaged, then `+ bias`.
/// A node without neighbours gets 0 (+ bias). Attention dropout is not modelled (`p = 0`).
///
/// x `(N, in)`. Returns `(N, heads·out)` with concat, `(N, out)` with mean.
pub fn gat_conv(x: &Tensor, graph: &Csr, params: &GatConvParams<'_>) -> RefResult<Tensor> {
    const F: &str = "gat_conv";
    let (n, cin) = check_x(F, x, Some(graph))?;
    let heads = params.heads;
    let ws = expect_ndim(F, "w (heads*out, in)", params.w, 2)?;
    if heads == 0 || ws[0] % heads != 0 {
        return Err(RefError::new(
            F,
            format!(
                "w has {} output rows, not a positive multiple of heads = {heads}",
                ws[0]
            ),
        ));
    }
    if ws[1] != cin {
        return Err(RefError::new(
            F,
            format!("w takes {} input features but x has {cin}", ws[1]),
        ));
    }
    let out = ws[0] / heads;
    expect_shape(F, "att_src", params.att_src, &[heads, out])?;
    expect_shape(F, "att_dst", params.att_dst, &[heads, out])?;
    let width = if params.concat { heads * out } else { out };
    if let Some(b) = params.bias
        && b.len() != width
    {
        return Err(RefError::new(
            F,
            format!("bias has {} entries, expected {width}", b.len()),
        ));
    }
    if !params.negative_slope.is_finite() {
        return Err(RefError::new(F, "negative_slope must be finite"));
    }
    for (what, data) in [
        ("w", params.w.data()),
        ("att_src", params.att_src.data()),
        ("att_dst", params.att_dst.data()),
    ] {
        expect_finite(F, what, data)?;
    }
    // h = x Θᵀ, (N, heads, out).
    let hc = heads * out;
    let mut h = vec![0.0; n * hc];
    for i in 0..n {
        for o in 0..hc {
            h[i * hc + o] = dot(
                &x.data()[i * cin..(i + 1) * cin],
                &params.w.data()[o * cin..(o + 1) * cin],
            );
        }
    }
    let mut y = Tensor::zeros(&[n, width]);
    for hd in 0..heads {
        let asrc = &params.att_src.data()[hd * out..(hd + 1) * out];
        let adst = &params.att_dst.data()[hd * out..(hd + 1) * out];
        let hrow = |j: usize| &h[j * hc + hd * out..j * hc + (hd + 1) * out];
        let al_src: Vec<f64> = (0..n).map(|j| dot(hrow(j), asrc)).collect();
        let al_dst: Vec<f64> = (0..n).map(|j| dot(hrow(j), adst)).collect();
        for (i, &ad) in al_dst.iter().enumerate() {
            let nbr = graph.neighbours(i);
            let mut e: Vec<f64> = nbr
                .iter()
                .map(|&j| {
                    let v = ad + al_src[j];
                    if v > 0.0 {
                        v
                    } else {
                        params.negative_slope * v
                    }
                })
                .collect();
            softmax_in_place(&mut e);
            let (base, scale) = if params.concat {
                (i * width + hd * out, 1.0)
            } else {
                (i * width, 1.0 / heads as f64)
            };
            for (&j, &a) in nbr.iter().zip(&e) {
                for (c, &hv) in hrow(j).iter().enumerate() {
                    y.data_mut()[base + c] += scale * a * hv;
                }
            }
        }
    }
    if let Some(b) = params.bias {
        for i in 0..n {
            for (c, &bv) in b.iter().enumerate() {
                y.data_mut()[i * width + c] += bv;
            }
        }
    }
    Ok(y)
}

/// Single-head GAT without bias (oracle `gat_layer`; Veličković et al. 2018):
/// `h = x Wᵀ`, `e_ij = LeakyReLU(a_dst·h_i + a_src·h_j)` over row `i`, `out_i = Σ_j α_ij h_j`.
/// The same as [`gat_conv`] with one head.
///
/// x `(N, in)`, w `(out, in)`, `a_src` and `a_dst` `(out,)`. Returns `(N, out)`.
pub fn gat_layer(
    x: &Tensor,
    graph: &Csr,
    w: &Tensor,
    a_src: &[f64],
    a_dst: &[f64],
    slope: f64,
) -> RefResult<Tensor> {
    const F: &str = "gat_layer";
    let ws = expect_ndim(F, "w (out, in)", w, 2)?;
    let out = ws[0];
    for (what, a) in [("a_src", a_src), ("a_dst", a_dst)] {
        if a.len() != out {
            return Err(RefError::new(
                F,
                format!("{what} has {} entries, expected out = {out}", a.len()),
            ));
        }
    }
    let att_src = Tensor::new(&[1, out], a_src.to_vec())?;
    let att_dst = Tensor::new(&[1, out], a_dst.to_vec())?;
    let params = GatConvParams {
        w,
        att_src: &att_src,
        att_dst: &att_dst,
        bias: None,
        heads: 1,
        concat: true,
        negative_slope: slope,
    };
    gat_conv(x, graph, &params).map_err(|e| RefError::new(F, e.msg))
}

/// The attention used inside hGAO on each node's selected neighbours (SEEDS.md §2.4).
#[derive(Clone, Copy, Debug)]
pub enum HgaoAttn<'a> {
    /// The paper's dot-product operator: `z_i = attn_op(x_i, X̃_i, X̃_i)`.
    Dot,
    /// DGL/GammaGL-style additive attention, single head, slope 0.2:
    /// `h_q = W x_i` (the query is **not** gated), `h_k = X̃_i Wᵀ`,
    /// `e = LeakyReLU(h_q·a_dst + h_k·a_src)`, `z_i = softmax(e)·h_k`.
    Gat {
        /// `W (out, d)`.
        w: &'a Tensor,
        /// `a_src (out,)`.
        a_src: &'a [f64],
        /// `a_dst (out,)`.
        a_dst: &'a [f64],
    },
}

/// hGAO's global node scores (SEEDS.md §2.4): `y = |X p| / ‖p‖`, one per node.
///
/// x `(N, d)`, p `(d,)` with a positive finite norm. Returns `(N,)`.
pub fn hgao_scores(x: &Tensor, p: &[f64]) -> RefResult<Vec<f64>> {
    const F: &str = "hgao_scores";
    let (n, d) = check_x(F, x, None)?;
    if p.len() != d {
        return Err(RefError::new(
            F,
            format!("p has {} entries but x has d = {d} features", p.len()),
        ));
    }
    expect_finite(F, "p", p)?;
    let norm = dot(p, p).sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return Err(RefError::new(
            F,
            format!("p must have a positive finite norm, got {norm}"),
        ));
    }
    Ok((0..n)
        .map(|i| dot(&x.data()[i * d..(i + 1) * d], p).abs() / norm)
        .collect())
}

/// hGAO's `Ranking_k` (SEEDS.md §2.4): for every node `i`, its neighbours sorted by
/// decreasing `y`, ties broken by the lower node index (the oracle's stable sort of an
/// ascending neighbour list), truncated to `min(k, degree)` entries.
pub fn ranking_k(graph: &Csr, y: &[f64], k: usize) -> RefResult<Vec<Vec<usize>>> {
    const F: &str = "ranking_k";
    if k == 0 {
        return Err(RefError::new(F, "k must be >= 1"));
    }
    if y.len() != graph.n() {
        return Err(RefError::new(
            F,
            format!(
                "y has {} scores but the graph has {} nodes",
                y.len(),
                graph.n()
            ),
        ));
    }
    expect_finite(F, "y", y)?;
    Ok((0..graph.n())
        .map(|i| {
            let mut nbr = graph.neighbours(i).to_vec();
            nbr.sort_by(|&a, &b| y[b].total_cmp(&y[a]).then(a.cmp(&b)));
            nbr.truncate(k);
            nbr
        })
        .collect())
}

/// hGAO, the hard graph attention operator (SEEDS.md §2.4; oracle `hgao`):
/// `y = |X p| / ‖p‖`; for each node `i`, `idx_i = Ranking_k` of its neighbours by `y`
/// ([`ranking_k`]: ties → lower index, degree < k → all neighbours),
/// `X̃_i = X[idx_i] ⊙ sigmoid(y[idx_i])` (row gate), `z_i = attn(x_i, X̃_i, X̃_i)` with
/// [`HgaoAttn`]. A node without neighbours gets 0.
///
/// x `(N, d)`, p `(d,)`, `k ≥ 1`. Returns `(N, d)` for [`HgaoAttn::Dot`], `(N, out)` for
/// [`HgaoAttn::Gat`].
pub fn hgao(x: &Tensor, graph: &Csr, p: &[f64], k: usize, attn: HgaoAttn<'_>) -> RefResult<Tensor> {
    const F: &str = "hgao";
    let (n, d) = check_x(F, x, Some(graph))?;
    let wrap = |e: RefError| RefError::new(F, e.msg);
    let y = hgao_scores(x, p).map_err(wrap)?;
    let sel = ranking_k(graph, &y, k).map_err(wrap)?;
    let width = match attn {
        HgaoAttn::Dot => d,
        HgaoAttn::Gat { w, a_src, a_dst } => {
            let ws = expect_ndim(F, "gat w (out, d)", w, 2)?;
            if ws[1] != d {
                return Err(RefError::new(
                    F,
                    format!("gat w takes {} features but x has d = {d}", ws[1]),
                ));
            }
            for (what, a) in [("a_src", a_src), ("a_dst", a_dst)] {
                if a.len() != ws[0] {
                    return Err(RefError::new(
                        F,
                        format!("{what} has {} entries, expected out = {}", a.len(), ws[0]),
                    ));
                }
                expect_finite(F, what, a)?;
            }
            expect_finite(F, "gat w", w.data())?;
            ws[0]
        }
    };
    let xd = x.data();
    let mut z = Tensor::zeros(&[n, width]);
    for (i, idx) in sel.iter().enumerate() {
        let xt: Vec<f64> = idx
            .iter()
            .flat_map(|&j| {
                let g = 1.0 / (1.0 + (-y[j]).exp());
                xd[j * d..(j + 1) * d].iter().map(move |v| v * g)
            })
            .collect();
        let xi = &xd[i * d..(i + 1) * d];
        let zi = &mut z.data_mut()[i * width..(i + 1) * width];
        match attn {
            HgaoAttn::Dot => {
                let mut e: Vec<f64> = (0..idx.len())
                    .map(|r| dot(xi, &xt[r * d..(r + 1) * d]))
                    .collect();
                softmax_in_place(&mut e);
                for (r, &a) in e.iter().enumerate() {
                    for c in 0..d {
                        zi[c] += a * xt[r * d + c];
                    }
                }
            }
            HgaoAttn::Gat { w, a_src, a_dst } => {
                let wd = w.data();
                let proj = |v: &[f64]| -> Vec<f64> {
                    (0..width)
                        .map(|o| dot(v, &wd[o * d..(o + 1) * d]))
                        .collect()
                };
                let hq = proj(xi);
                let hk: Vec<Vec<f64>> = (0..idx.len())
                    .map(|r| proj(&xt[r * d..(r + 1) * d]))
                    .collect();
                let qd = dot(&hq, a_dst);
                let mut e: Vec<f64> = hk
                    .iter()
                    .map(|h| {
                        let v = qd + dot(h, a_src);
                        if v > 0.0 { v } else { 0.2 * v }
                    })
                    .collect();
                softmax_in_place(&mut e);
                for (h, &a) in hk.iter().zip(&e) {
                    for (zc, hv) in zi.iter_mut().zip(h) {
                        *zc += a * hv;
                    }
                }
            }
        }
    }
    Ok(z)
}

/// cGAO of the rows `x[r0..r1]` into `z[r0..r1]`.
fn cgao_rows(xd: &[f64], d: usize, r0: usize, r1: usize, z: &mut [f64]) {
    let mut e = vec![0.0; d * d];
    for r in r0..r1 {
        let row = &xd[r * d..(r + 1) * d];
        for a in 0..d {
            for b in 0..d {
                e[a * d + b] += row[a] * row[b];
            }
        }
    }
    for a in 0..d {
        softmax_in_place(&mut e[a * d..(a + 1) * d]);
    }
    for r in r0..r1 {
        for a in 0..d {
            z[r * d + a] = dot(&xd[r * d..(r + 1) * d], &e[a * d..(a + 1) * d]);
        }
    }
}

/// cGAO, channel-wise graph attention (SEEDS.md §2.5; oracle `cgao`): attention among
/// channels, no adjacency. Row-major: `E = XᵀX (d, d)`, `O = X·softmax_rows(E)ᵀ`, i.e.
/// `O[n, a] = Σ_b X[n, b]·softmax_b(E[a, :])`.
///
/// x `(N, d)`. Returns `(N, d)`.
pub fn cgao(x: &Tensor) -> RefResult<Tensor> {
    let (n, d) = check_x("cgao", x, None)?;
    let mut z = Tensor::zeros(&[n, d]);
    cgao_rows(x.data(), d, 0, n, z.data_mut());
    Ok(z)
}

/// cGAO over a batch of graphs (SEEDS.md §2.5 "batched graphs"): graph `g` owns the node rows
/// `graph_ptr[g]..graph_ptr[g + 1]` (`PyG`'s `ptr`), and each graph is transformed by [`cgao`] on
/// its own rows only, so `E` is a segmented reduction and nodes of different graphs never mix.
///
/// x `(N, d)`, `graph_ptr` `(G + 1,)` from 0 to N, non-decreasing. Returns `(N, d)`.
pub fn cgao_batched(x: &Tensor, graph_ptr: &[usize]) -> RefResult<Tensor> {
    const F: &str = "cgao_batched";
    let (n, d) = check_x(F, x, None)?;
    if graph_ptr.first() != Some(&0) || graph_ptr.last() != Some(&n) {
        return Err(RefError::new(
            F,
            format!("graph_ptr must run from 0 to N = {n}, got {graph_ptr:?}"),
        ));
    }
    if let Some(g) = graph_ptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(RefError::new(
            F,
            format!(
                "graph_ptr decreases at graph {g}: {} then {}",
                graph_ptr[g],
                graph_ptr[g + 1]
            ),
        ));
    }
    let mut z = Tensor::zeros(&[n, d]);
    for w in graph_ptr.windows(2) {
        cgao_rows(x.data(), d, w[0], w[1], z.data_mut());
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tests::{randn, rng};
    use rand::Rng;

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        a.max_abs_diff(b).expect("shapes differ")
    }

    /// A random symmetric graph with self loops (the oracle's smoke-test graph).
    fn random_graph(n: usize, p: f64, seed: u64) -> Csr {
        let mut r = rng(seed);
        let mut a = Tensor::zeros(&[n, n]);
        for i in 0..n {
            for j in 0..=i {
                if i == j || r.random::<f64>() < p {
                    a[&[i, j][..]] = 1.0;
                    a[&[j, i][..]] = 1.0;
                }
            }
        }
        Csr::from_dense(&a).unwrap()
    }

    /// Oracle self-test: hGAO with k ≥ max degree is dense masked attention over the
    /// sigmoid-gated neighbour features.
    #[test]
    fn hgao_with_large_k_equals_dense_gated_gao() {
        let mut r = rng(21);
        let (n, d) = (10, 6);
        let x = randn(&mut r, &[n, d], 1.0);
        let g = random_graph(n, 0.3, 22);
        let p = randn(&mut r, &[d], 1.0);
        let z = hgao(&x, &g, p.data(), n, HgaoAttn::Dot).unwrap();
        let y = hgao_scores(&x, p.data()).unwrap();
        let xt = Tensor::from_fn(&[n, d], |i| x[i] / (1.0 + (-y[i[0]]).exp()));
        for i in 0..n {
            let nbr = g.neighbours(i);
            let mut e: Vec<f64> = nbr
                .iter()
                .map(|&j| {
                    dot(
                        &x.data()[i * d..(i + 1) * d],
                        &xt.data()[j * d..(j + 1) * d],
                    )
                })
                .collect();
            softmax_in_place(&mut e);
            for c in 0..d {
                let want: f64 = nbr.iter().zip(&e).map(|(&j, a)| a * xt[&[j, c][..]]).sum();
                assert!((z[&[i, c][..]] - want).abs() < 1e-14);
            }
        }
    }

    /// Oracle self-test: cGAO is equivariant to node permutations; batched cGAO keeps graphs
    /// apart.
    #[test]
    fn cgao_is_permutation_equivariant_and_batches_do_not_mix() {
        let mut r = rng(23);
        let x = randn(&mut r, &[10, 6], 1.0);
        let mut perm: Vec<usize> = (0..10).collect();
        for i in (1..10).rev() {
            perm.swap(i, r.random_range(0..=i));
        }
        let xp = Tensor::from_fn(&[10, 6], |i| x[&[perm[i[0]], i[1]][..]]);
        let (z, zp) = (cgao(&x).unwrap(), cgao(&xp).unwrap());
        let zperm = Tensor::from_fn(&[10, 6], |i| z[&[perm[i[0]], i[1]][..]]);
        assert!(max_diff(&zp, &zperm) < 1e-14);
        let ptr = [0, 4, 4, 10];
        let zb = cgao_batched(&x, &ptr).unwrap();
        let first = cgao(&Tensor::from_fn(&[4, 6], |i| x[i])).unwrap();
        assert!((0..4).all(|i| (0..6).all(|c| zb[&[i, c][..]] == first[&[i, c][..]])));
        let mut x2 = x.clone();
        x2[&[7, 1][..]] += 3.0;
        let zb2 = cgao_batched(&x2, &ptr).unwrap();
        assert_eq!(zb.data()[..24], zb2.data()[..24]);
        assert_ne!(zb.data()[24..], zb2.data()[24..]);
        assert_eq!(cgao_batched(&x, &[0, 10]).unwrap(), z);
    }

    #[test]
    fn gat_conv_one_head_equals_gat_layer_and_is_edge_order_independent() {
        let mut r = rng(24);
        let (n, cin, out) = (7, 4, 3);
        let x = randn(&mut r, &[n, cin], 1.0);
        let g = random_graph(n, 0.4, 25);
        let w = randn(&mut r, &[out, cin], 1.0);
        let a_s = randn(&mut r, &[1, out], 1.0);
        let a_d = randn(&mut r, &[1, out], 1.0);
        let single = gat_layer(&x, &g, &w, a_s.data(), a_d.data(), 0.2).unwrap();
        let mut params = GatConvParams {
            w: &w,
            att_src: &a_s,
            att_dst: &a_d,
            bias: None,
            heads: 1,
            concat: false,
            negative_slope: 0.2,
        };
        assert_eq!(gat_conv(&x, &g, &params).unwrap(), single);
        params.concat = true;
        // Reversed neighbour lists: the same segment softmax up to rounding.
        let mut col = Vec::new();
        for i in 0..n {
            col.extend(g.neighbours(i).iter().rev());
        }
        let rev = Csr::new(n, g.rowptr().to_vec(), col).unwrap();
        assert!(max_diff(&gat_conv(&x, &rev, &params).unwrap(), &single) < 1e-14);
    }

    #[test]
    fn nodes_without_neighbours_get_zero_or_the_bias() {
        let mut r = rng(26);
        let x = randn(&mut r, &[3, 2], 1.0);
        let g = Csr::new(3, vec![0, 2, 2, 3], vec![0, 1, 2]).unwrap();
        assert_eq!(g.degree(1), 0);
        let z = gao_dot(&x, &g).unwrap();
        assert_eq!((z[&[1, 0][..]], z[&[1, 1][..]]), (0.0, 0.0));
        let z = hgao(&x, &g, &[1.0, 0.5], 2, HgaoAttn::Dot).unwrap();
        assert_eq!((z[&[1, 0][..]], z[&[1, 1][..]]), (0.0, 0.0));
        let w = randn(&mut r, &[4, 2], 1.0);
        let att = randn(&mut r, &[2, 2], 1.0);
        let bias = [0.5, -1.0, 2.0, 3.0];
        let params = GatConvParams {
            w: &w,
            att_src: &att,
            att_dst: &att,
            bias: Some(&bias),
            heads: 2,
            concat: true,
            negative_slope: 0.2,
        };
        let z = gat_conv(&x, &g, &params).unwrap();
        assert_eq!(z.data()[4..8], bias);
    }

    #[test]
    fn ranking_breaks_ties_by_lower_index_and_keeps_all_when_degree_is_below_k() {
        let e = Csr::new(2, vec![0, 4], vec![1, 0, 1, 0]).unwrap_err();
        assert!(e.msg.contains("rowptr has 2 entries"), "{e}");
        let g = Csr::new(4, vec![0, 4, 6, 6, 6], vec![3, 2, 0, 1, 0, 1]).unwrap();
        let y = [1.0, 2.0, 2.0, 2.0];
        let sel = ranking_k(&g, &y, 2).unwrap();
        assert_eq!(sel[0], vec![1, 2]);
        assert_eq!(sel[1], vec![1, 0]);
        assert!(sel[2].is_empty());
        assert_eq!(ranking_k(&g, &y, 9).unwrap()[0], vec![1, 2, 3, 0]);
    }

    #[track_caller]
    fn expect_err<T: std::fmt::Debug>(r: RefResult<T>, func: &str, needle: &str) {
        let e = r.unwrap_err();
        assert_eq!(e.func, func, "{e}");
        assert!(e.msg.contains(needle), "{e} does not mention {needle:?}");
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_problem() {
        let c = "Csr::new";
        expect_err(
            Csr::new(2, vec![0, 2, 1], vec![0, 1]),
            c,
            "decreases at row 1",
        );
        expect_err(Csr::new(2, vec![1, 2, 2], vec![0, 1]), c, "start at 0");
        expect_err(Csr::new(2, vec![0, 1, 3], vec![0, 1]), c, "ends at 3");
        expect_err(
            Csr::new(2, vec![0, 1, 2], vec![0, 2]),
            c,
            "col[1] = 2 is out of range",
        );
        expect_err(
            Csr::from_dense(&Tensor::zeros(&[2, 3])),
            "Csr::from_dense",
            "square",
        );
        let z = |s: &[usize]| Tensor::zeros(s);
        let g = Csr::new(3, vec![0, 1, 2, 3], vec![0, 1, 2]).unwrap();
        expect_err(gao_dot(&z(&[4, 2]), &g), "gao_dot", "x has 4 nodes");
        let mut bad = z(&[3, 2]);
        bad.data_mut()[3] = f64::INFINITY;
        expect_err(gao_dot(&bad, &g), "gao_dot", "non-finite");
        let x = Tensor::full(&[3, 2], 1.0);
        expect_err(hgao(&x, &g, &[0.0, 0.0], 2, HgaoAttn::Dot), "hgao", "norm");
        expect_err(hgao(&x, &g, &[1.0], 2, HgaoAttn::Dot), "hgao", "p has 1");
        expect_err(
            hgao(&x, &g, &[1.0, 1.0], 0, HgaoAttn::Dot),
            "hgao",
            "k must be",
        );
        let w = z(&[3, 2]);
        let gat = HgaoAttn::Gat {
            w: &w,
            a_src: &[0.0; 2],
            a_dst: &[0.0; 3],
        };
        expect_err(hgao(&x, &g, &[1.0, 1.0], 2, gat), "hgao", "a_src has 2");
        let att = z(&[2, 2]);
        let mut params = GatConvParams {
            w: &z(&[5, 2]),
            att_src: &att,
            att_dst: &att,
            bias: None,
            heads: 2,
            concat: true,
            negative_slope: 0.2,
        };
        expect_err(gat_conv(&x, &g, &params), "gat_conv", "multiple of heads");
        let w4 = z(&[4, 3]);
        params.w = &w4;
        expect_err(gat_conv(&x, &g, &params), "gat_conv", "input features");
        let w4 = z(&[4, 2]);
        params.w = &w4;
        params.bias = Some(&[0.0; 2]);
        expect_err(gat_conv(&x, &g, &params), "gat_conv", "bias has 2");
        params.bias = None;
        let att3 = z(&[2, 3]);
        params.att_src = &att3;
        expect_err(gat_conv(&x, &g, &params), "gat_conv", "att_src");
        expect_err(
            gat_layer(&x, &g, &w4, &[0.0; 3], &[0.0; 4], 0.2),
            "gat_layer",
            "a_src",
        );
        expect_err(cgao_batched(&x, &[0, 2, 1, 3]), "cgao_batched", "decreases");
        expect_err(cgao_batched(&x, &[0, 2]), "cgao_batched", "from 0 to N = 3");
        expect_err(
            attn_op(&z(&[2, 3]), &z(&[4, 2]), &z(&[4, 2])),
            "attn_op",
            "do not fit",
        );
    }
}
