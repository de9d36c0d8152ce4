//! Graph attention on CSR graphs (SEEDS.md §2): GAT with `PyG` `GATConv` semantics, GAO,
//! hGAO (`attn = dot` as in Gao & Ji's paper, `attn = gat` as in DGL/GammaGL) and cGAO for
//! one graph or a batch of graphs, running the DSL kernels of [`crate::kernels::graph`].
//!
//! Graphs are [`Csr`]: row `i` lists the neighbours `j` that node `i` attends to (for GAT, the
//! sources of the edges `j → i`, `PyG`'s `flow = "source_to_target"` grouped by target). A CSR
//! is validated when it is built, so a malformed one never reaches a kernel. Every function
//! here checks all its inputs (shapes, devices, head counts, feature widths, `k`) and returns
//! [`Error::Invalid`] naming what is wrong before it launches anything; outputs are fresh
//! tensors, so nothing is written on error.
//!
//! Node features are f32, f16 or bf16 ([`Feature`]); the kernels accumulate in f32 and return
//! the features' type (GAT's projected features `h` are rounded to it too, as in a
//! half-precision `PyG` layer). Parameters (weights, attention vectors, `p`, bias) are f32.
//! Feature widths (`d`, GAT's channels per head) go up to [`MAX_WIDTH`], padded to a
//! power-of-two tile. A node without neighbours gets 0 (GAT: the bias). Node features must be
//! finite: the kernels do not scan them (a NaN score in hGAO would rank above every number).
//!
//! On a CUDA device the tiles are the prebuilt ones ([`crate::kernels::graph`] lists them):
//! widths 16, 64 or 256, top-k tiles 16, 64 or 256. Two kernels hold a `d × d` (or
//! `[BD, BD]`) operand of `dot` in shared memory and have no GPU tile for every shape: cGAO
//! takes `d ≤ 128` there, and hGAO's GAT attention at most 64 features (the widest of `d` and
//! its output) with any `k`, or 128 with `min(k, max degree) ≤ 64`; other shapes are an
//! [`Error::Invalid`] saying so on a GPU (they run on the interpreter).
//!
//! The semantics are those of [`crate::reference::graph`], which the tests check against.

use crate::kernels::graph as k;
use crate::tiles::{first_fit, tile_kind};
use crate::validate::{self, I32_MAX, invalid, same_device};
use crate::{Device, DeviceKind, Error, Grid, Result, Tensor};

/// The widest feature dimension (`d`, or GAT's channels per head) the kernels take.
pub const MAX_WIDTH: usize = 256;

/// The largest effective `k` of [`hgao`] (`min(k, max degree)`).
pub const MAX_K: usize = 256;

/// A square sparse graph in CSR form: the neighbours of node `i` are
/// `col[rowptr[i]..rowptr[i + 1]]`. Valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    n: usize,
    rowptr: Vec<i32>,
    col: Vec<i32>,
}

impl Csr {
    /// A CSR graph on `n` nodes. Fails with [`Error::Invalid`], naming the offending entry,
    /// unless `rowptr` has `n + 1` entries, starts at 0, never decreases and ends at
    /// `col.len()`, and every column is in `0..n` (and `n`, the edge count fit in i32).
    pub fn new(n: usize, rowptr: Vec<i32>, col: Vec<i32>) -> Result<Csr> {
        const F: &str = "graph::Csr::new";
        if n >= I32_MAX || col.len() >= I32_MAX {
            return Err(invalid(
                F,
                format!(
                    "{n} nodes and {} edges do not fit the kernels' i32 indices",
                    col.len()
                ),
            ));
        }
        if rowptr.len() != n + 1 {
            return Err(invalid(
                F,
                format!(
                    "rowptr has {} entries, expected n + 1 = {} for n = {n} nodes",
                    rowptr.len(),
                    n + 1
                ),
            ));
        }
        // `col.len()` fits i32 (checked above).
        validate::offsets(
            F,
            "rowptr",
            &rowptr,
            col.len() as i32,
            &format!("there are {} column indices", col.len()),
        )?;
        validate::indices_in_range(F, "col", &col, n)?;
        Ok(Csr { n, rowptr, col })
    }

    /// The graph whose row `i` lists `neighbours[i]`.
    pub fn from_lists(neighbours: &[Vec<usize>]) -> Result<Csr> {
        let n = neighbours.len();
        let mut rowptr = vec![0i32];
        let mut col = Vec::new();
        for (i, row) in neighbours.iter().enumerate() {
            for &j in row {
                let j = i32::try_from(j).map_err(|_| {
                    invalid(
                        "graph::Csr::from_lists",
                        format!("node {i} lists neighbour {j}, beyond i32"),
                    )
                })?;
                col.push(j);
            }
            let len = i32::try_from(col.len())
                .map_err(|_| invalid("graph::Csr::from_lists", "too many edges for i32 offsets"))?;
            rowptr.push(len);
        }
        Csr::new(n, rowptr, col)
    }

    /// The graph of a `PyG` `edge_index` (COO, `flow = "source_to_target"`): edge `e` goes
    /// `src[e] → dst[e]`, so row `i` lists the sources of the edges into `i`, in edge order
    /// (a stable counting sort by destination). Fails if the lists differ in length or an
    /// endpoint is not in `0..n`.
    pub fn from_edge_index(n: usize, src: &[i64], dst: &[i64]) -> Result<Csr> {
        const F: &str = "graph::Csr::from_edge_index";
        if n >= I32_MAX {
            return Err(invalid(
                F,
                format!("{n} nodes do not fit the kernels' i32 indices"),
            ));
        }
        if src.len() != dst.len() {
            return Err(invalid(
                F,
                format!(
                    "src has {} entries but dst has {}; edge_index is (2, E)",
                    src.len(),
                    dst.len()
                ),
            ));
        }
        validate::indices_in_range(F, "src", src, n)?;
        validate::indices_in_range(F, "dst", dst, n)?;
        let mut count = vec![0usize; n + 1];
        for &t in dst {
            count[t as usize + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let rowptr: Vec<usize> = count.clone();
        let mut next = count;
        let mut col = vec![0i32; src.len()];
        for (&s, &t) in src.iter().zip(dst) {
            col[next[t as usize]] = s as i32;
            next[t as usize] += 1;
        }
        let rowptr = rowptr
            .into_iter()
            .map(|v| i32::try_from(v).map_err(|_| invalid(F, "too many edges for i32 offsets")))
            .collect::<Result<Vec<i32>>>()?;
        Csr::new(n, rowptr, col)
    }

    /// `PyG`'s `remove_self_loops` then `add_self_loops`: every node gets exactly one self
    /// loop, appended after its other neighbours (what `GATConv(add_self_loops=True)` does).
    pub fn with_self_loops(&self) -> Csr {
        let mut rowptr = vec![0i32];
        let mut col = Vec::with_capacity(self.col.len() + self.n);
        for i in 0..self.n {
            col.extend(
                self.neighbours(i)
                    .iter()
                    .copied()
                    .filter(|&j| j as usize != i),
            );
            col.push(i as i32);
            rowptr.push(col.len() as i32);
        }
        Csr {
            n: self.n,
            rowptr,
            col,
        }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of edges (CSR entries).
    pub fn num_edges(&self) -> usize {
        self.col.len()
    }

    /// Row offsets (`n + 1` entries).
    pub fn rowptr(&self) -> &[i32] {
        &self.rowptr
    }

    /// Column (neighbour) indices.
    pub fn col(&self) -> &[i32] {
        &self.col
    }

    /// Neighbours of node `i` (empty for `i >= n`).
    pub fn neighbours(&self, i: usize) -> &[i32] {
        if i >= self.n {
            return &[];
        }
        &self.col[self.rowptr[i] as usize..self.rowptr[i + 1] as usize]
    }

    /// Number of neighbours of node `i`.
    pub fn degree(&self, i: usize) -> usize {
        self.neighbours(i).len()
    }

    /// The largest degree (0 for an empty graph).
    pub fn max_degree(&self) -> usize {
        (0..self.n).map(|i| self.degree(i)).max().unwrap_or(0)
    }

    /// `rowptr` and `col` as device tensors (`col` padded to one entry when empty, which no
    /// kernel reads).
    fn upload(&self, dev: &Device) -> Result<(Tensor<i32>, Tensor<i32>)> {
        let rowptr = dev.tensor(&self.rowptr, [self.n + 1])?;
        let col = if self.col.is_empty() {
            dev.tensor(&[0], [1])?
        } else {
            dev.tensor(&self.col, [self.col.len()])?
        };
        Ok((rowptr, col))
    }
}

/// The weights of a GAT layer (`PyG` `GATConv`).
#[derive(Clone, Copy, Debug)]
pub struct GatWeights<'a> {
    /// `Θ`, the `Linear(in, heads·out, bias=False)` weight `(heads·out, in)`. `None` when `x`
    /// is already projected (`(N, heads·out)`).
    pub weight: Option<&'a Tensor<f32>>,
    /// `a_src` per head, `(heads, out)`.
    pub att_src: &'a Tensor<f32>,
    /// `a_dst` per head, `(heads, out)`.
    pub att_dst: &'a Tensor<f32>,
    /// Output bias, `(heads·out,)` with concat, `(out,)` with mean; `None` for none.
    pub bias: Option<&'a Tensor<f32>>,
}

/// The options of a GAT layer; [`Default`] is `PyG`'s: one head, concat, slope 0.2, self loops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatParams {
    /// Number of heads.
    pub heads: usize,
    /// Concatenate the heads (`true`) or average them.
    pub concat: bool,
    /// `LeakyReLU` negative slope.
    pub negative_slope: f32,
    /// Replace the graph's self loops by exactly one per node ([`Csr::with_self_loops`]) first.
    pub add_self_loops: bool,
}

impl Default for GatParams {
    fn default() -> Self {
        GatParams {
            heads: 1,
            concat: true,
            negative_slope: 0.2,
            add_self_loops: true,
        }
    }
}

/// The attention hGAO runs on each node's selected neighbours.
#[derive(Clone, Copy, Debug)]
pub enum HgaoAttn<'a> {
    /// The paper's dot-product operator: `z_i = softmax(X̃_i x_i)ᵀ X̃_i`, output `(N, d)`.
    Dot,
    /// DGL/GammaGL's additive attention (single head, slope 0.2), output `(N, out)`:
    /// `h_q = W x_i` (the query is not gated), `h_k = X̃_i Wᵀ`,
    /// `e = LeakyReLU(h_q·a_dst + h_k·a_src)`, `z_i = softmax(e)ᵀ h_k`.
    Gat {
        /// `W (out, d)`.
        w: &'a Tensor<f32>,
        /// `a_src (out,)`.
        a_src: &'a Tensor<f32>,
        /// `a_dst (out,)`.
        a_dst: &'a Tensor<f32>,
    },
}

/// Expands to `$body` with `$b` bound to the const tile size `$w`, a power of two in
/// 16..=256 (feature tiles chosen by [`tile_width`], and hGAO's top-k tile `KP`).
macro_rules! with_width {
    ($w:expr, $b:ident => $body:expr) => {
        match $w {
            16 => {
                const $b: usize = 16;
                $body
            }
            32 => {
                const $b: usize = 32;
                $body
            }
            64 => {
                const $b: usize = 64;
                $body
            }
            128 => {
                const $b: usize = 128;
                $body
            }
            256 => {
                const $b: usize = 256;
                $body
            }
            w => Err(Error::Invalid(format!(
                "graph: internal error, no kernel for {} = {w}",
                stringify!($b)
            ))),
        }
    };
}

/// The element types of node features the graph kernels take: `f32`, `f16` and `bf16`. The
/// kernels load them, compute and accumulate in f32, and return outputs of the same type;
/// parameters (weights, attention vectors, `p`, bias) are always f32.
pub trait Feature: crate::Element + launch::Launch {}

impl Feature for f32 {}
impl Feature for crate::f16 {}
impl Feature for crate::bf16 {}

mod launch;

/// The feature tile widths (`BD`, `BO`) the feature kernels have GPU code for (declared
/// configurations, prebuilt), smallest first; the last is [`MAX_WIDTH`].
const GPU_WIDTHS: [usize; 3] = [16, 64, 256];

/// cGAO's GPU widths: its `d × d` attention matrix is a shared-memory operand of `dot`, and
/// 128 is the widest whose kernels fit the ~99 KB of shared memory of `sm_86` and later.
const GPU_CGAO_WIDTHS: [usize; 3] = [16, 64, 128];

/// hGAO's `(KP, BD)` GPU tiles for the dot-product attention (and the top-k tile `KP` of
/// both attentions), smallest first; the last holds every `k ≤ MAX_K`, `d ≤ MAX_WIDTH`.
const GPU_HGAO_DOT: [(usize, usize); 3] = [(16, 16), (64, 64), (256, 256)];

/// hGAO's `(KP, BD)` GPU tiles for the GAT attention, whose `[BD, BD]` weight tile is a
/// shared-memory `dot` operand: at most 64 features with any `k`, or 128 with `k ≤ 64`.
const GPU_HGAO_GAT: [(usize, usize); 4] = [(16, 16), (64, 64), (256, 64), (64, 128)];

const _: () = assert!(GPU_WIDTHS[2] == MAX_WIDTH && GPU_HGAO_DOT[2].0 >= MAX_K);

/// The tile width holding `v` features (`1..=MAX_WIDTH`) on a device of kind `kind`: the
/// next power of two (at least 16) on the interpreter, the smallest of `gpu` on a GPU (`None`
/// when none holds it).
pub(crate) fn width_for(kind: DeviceKind, v: usize, gpu: &[usize]) -> Option<usize> {
    match kind {
        DeviceKind::Cpu => Some(v.next_power_of_two().max(16)),
        DeviceKind::Cuda => first_fit(gpu, |w| v <= w),
    }
}

/// `(BM, BN, BK)` of the projection `linear_nt` on a device of kind `kind`.
pub(crate) fn linear_tiles(kind: DeviceKind) -> (usize, usize, usize) {
    match kind {
        DeviceKind::Cpu => (32, 32, 16),
        DeviceKind::Cuda => (64, 64, 32),
    }
}

/// hGAO's `(KP, BD)`: the top-k tile `KP ≥ k_eff` (shared by the selection and the
/// attention) and the feature tile `BD ≥ width` (the features, and GAT's outputs), on a device
/// of kind `kind` for the dot-product (`gat = false`) or the GAT attention. `None` on a GPU
/// when no prebuilt tile holds them.
pub(crate) fn hgao_tiles(
    kind: DeviceKind,
    k_eff: usize,
    width: usize,
    gat: bool,
) -> Option<(usize, usize)> {
    match kind {
        DeviceKind::Cpu => Some((
            k_eff.next_power_of_two().max(16),
            width.next_power_of_two().max(16),
        )),
        DeviceKind::Cuda => {
            let table: &[(usize, usize)] = if gat { &GPU_HGAO_GAT } else { &GPU_HGAO_DOT };
            first_fit(table, |(kp, bd)| k_eff <= kp && width <= bd)
        }
    }
}

/// The tile width holding `v` features on a device of kind `kind` ([`GPU_WIDTHS`] on a GPU),
/// or an error naming `what` when `v` is 0 or above [`MAX_WIDTH`].
fn tile_width(func: &str, what: &str, v: usize, kind: DeviceKind) -> Result<usize> {
    if v == 0 {
        return Err(invalid(func, format!("{what} is 0; it must be at least 1")));
    }
    if v > MAX_WIDTH {
        return Err(invalid(
            func,
            format!("{what} is {v}; the graph kernels support at most {MAX_WIDTH}"),
        ));
    }
    Ok(width_for(kind, v, &GPU_WIDTHS).unwrap_or(MAX_WIDTH))
}

fn check_shape<T: crate::Element>(
    func: &str,
    dev: &Device,
    what: &str,
    t: &Tensor<T>,
    want: &[usize],
) -> Result<()> {
    same_device(func, dev, what, t)?;
    validate::expect_shape(func, what, t.shape(), want, "")
}

/// Node features `x (N, f)` of a graph on `n` nodes (`n = None`: any); returns `(N, f)`.
fn check_x<T: Feature>(
    func: &str,
    dev: &Device,
    x: &Tensor<T>,
    n: Option<usize>,
) -> Result<(usize, usize)> {
    same_device(func, dev, "x", x)?;
    let [rows, f] = validate::rank::<2>(func, "x", "(N, features)", x.shape(), "")?;
    if let Some(n) = n
        && rows != n
    {
        return Err(invalid(
            func,
            format!("x has {rows} rows but the graph has {n} nodes"),
        ));
    }
    if rows >= I32_MAX || rows.saturating_mul(f) >= I32_MAX {
        return Err(invalid(
            func,
            format!("x of shape {:?} is too large for i32 offsets", x.shape()),
        ));
    }
    Ok((rows, f))
}

fn i32_of(v: usize) -> i32 {
    // Every size passed here was checked to fit i32 (by `Csr::new` or `check_x`).
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Multi-head GAT forward with `PyG` `GATConv` semantics (SEEDS.md §2.3): `h = x Θᵀ` (a tiled
/// matmul kernel, skipped when `weights.weight` is `None` and `x` is already `h`); per head,
/// for node `i` and its neighbours `j`, `e_ij = LeakyReLU(a_dst·h_i + a_src·h_j)`,
/// `α = softmax_j(e_ij)` over row `i` (online over blocks of neighbours), `x'_i = Σ_j α_ij h_j`;
/// heads concatenated or averaged, `+ bias`. With `params.add_self_loops` the graph's self
/// loops are replaced by one per node first. A node without neighbours gets the bias (or 0).
///
/// `x (N, in)` (or `(N, heads·out)`), the weights as documented on [`GatWeights`]. Returns
/// `(N, heads·out)` with concat, `(N, out)` with mean.
pub fn gat<T: Feature>(
    dev: &Device,
    x: &Tensor<T>,
    graph: &Csr,
    weights: &GatWeights<'_>,
    params: &GatParams,
) -> Result<Tensor<T>> {
    const F: &str = "graph::gat";
    let (n, f) = check_x(F, dev, x, Some(graph.n()))?;
    let heads = params.heads;
    if heads == 0 {
        return Err(invalid(
            F,
            "heads is 0; a GAT layer needs at least one head",
        ));
    }
    same_device(F, dev, "att_src", weights.att_src)?;
    let [ah, out] = validate::rank::<2>(F, "att_src", "(heads, out)", weights.att_src.shape(), "")?;
    if ah != heads {
        return Err(invalid(
            F,
            format!("att_src has {ah} rows but heads = {heads}; it must be (heads, out)"),
        ));
    }
    let kind = tile_kind(dev);
    let bo = tile_width(
        F,
        "the number of channels per head (att_src's columns)",
        out,
        kind,
    )?;
    check_shape(F, dev, "att_dst", weights.att_dst, &[heads, out])?;
    let hc = heads * out;
    match weights.weight {
        Some(w) => check_shape(F, dev, "weight (heads·out, in)", w, &[hc, f])?,
        None if f != hc => {
            return Err(invalid(
                F,
                format!(
                    "x has {f} features but, without a weight, it must be the projected \
                     features (N, heads·out) = (N, {hc})"
                ),
            ));
        }
        None => {}
    }
    let width = if params.concat { hc } else { out };
    if let Some(b) = weights.bias {
        check_shape(F, dev, "bias", b, &[width])?;
    }
    if !params.negative_slope.is_finite() {
        return Err(invalid(
            F,
            format!(
                "negative_slope is {}; it must be finite",
                params.negative_slope
            ),
        ));
    }
    if n.saturating_mul(hc) >= I32_MAX || hc.saturating_mul(f) >= I32_MAX {
        return Err(invalid(
            F,
            "N·heads·out or the weight (heads·out, in) is too large for i32 offsets",
        ));
    }
    let mut y = dev.zeros::<T>([n, width])?;
    if n == 0 {
        return Ok(y);
    }
    let g = if params.add_self_loops {
        graph.with_self_loops()
    } else {
        graph.clone()
    };
    let (rowptr, col) = g.upload(dev)?;
    let projected;
    let h = match weights.weight {
        Some(w) => {
            let mut hbuf = dev.zeros::<T>([n, hc])?;
            let tiles = linear_tiles(kind);
            T::linear(
                dev,
                tiles,
                Grid::xy(n.div_ceil(tiles.0), hc.div_ceil(tiles.1)),
                (x, w, &mut hbuf, i32_of(n), i32_of(hc), i32_of(f)),
            )?;
            projected = hbuf;
            &projected
        }
        None => x,
    };
    let zero_bias;
    let bias = match weights.bias {
        Some(b) => b,
        None => {
            zero_bias = dev.zeros::<f32>([width])?;
            &zero_bias
        }
    };
    T::gat(
        dev,
        bo,
        Grid::x(n),
        (
            h,
            weights.att_src,
            weights.att_dst,
            bias,
            &rowptr,
            &col,
            &mut y,
            i32_of(heads),
            i32_of(out),
            params.negative_slope,
            params.concat,
        ),
    )?;
    Ok(y)
}

/// GAO, soft graph attention (SEEDS.md §2.2): `z_i = Σ_{j∈N(i)} softmax_j(x_i·x_j) x_j` over
/// the graph's neighbours as given (the paper's `A` includes self loops: pass
/// [`Csr::with_self_loops`] for that). `x (N, d)`; returns `(N, d)`; a node without
/// neighbours gets 0.
pub fn gao<T: Feature>(dev: &Device, x: &Tensor<T>, graph: &Csr) -> Result<Tensor<T>> {
    const F: &str = "graph::gao";
    let (n, d) = check_x(F, dev, x, Some(graph.n()))?;
    let bd = tile_width(F, "the feature dimension d", d, tile_kind(dev))?;
    let mut z = dev.zeros::<T>([n, d])?;
    if n == 0 {
        return Ok(z);
    }
    let (rowptr, col) = graph.upload(dev)?;
    T::gao(dev, bd, Grid::x(n), (x, &rowptr, &col, &mut z, i32_of(d)))?;
    Ok(z)
}

/// The checked inputs of an hGAO launch and its tiles.
struct HgaoPlan {
    n: usize,
    d: usize,
    /// Tile width for the features (and GAT's outputs).
    bd: usize,
    /// Tile width of the scores kernel (`hgao_scores`, which reads the features only).
    score_bd: usize,
    /// Kept top-k tile (`≥ min(k, max degree)`, a power of two ≥ 16).
    kp: usize,
    /// `min(k, max degree)`.
    k_eff: usize,
}

impl HgaoPlan {
    /// Picks the tiles ([`hgao_tiles`]) for the features and, with GAT attention, its `out`
    /// outputs; fails on a GPU when no prebuilt tile holds them, or when the selection would
    /// not fit i32 offsets.
    fn pick_tiles(&mut self, func: &str, dev: &Device, gat_out: Option<usize>) -> Result<()> {
        let width = self.d.max(gat_out.unwrap_or(0));
        let Some((kp, bd)) = hgao_tiles(tile_kind(dev), self.k_eff, width, gat_out.is_some())
        else {
            return Err(invalid(
                func,
                format!(
                    "GAT attention over {} kept neighbours with {width} features (the widest of \
                     d and the output) has no GPU kernel: on a CUDA device the prebuilt ones \
                     take at most 64 features with any k, or 128 features with at most 64 kept \
                     neighbours (the [BD, BD] weight tile lives in shared memory); lower k or \
                     the width, use HgaoAttn::Dot, or run it on Device::cpu()",
                    self.k_eff
                ),
            ));
        };
        if self.n.saturating_mul(kp) >= I32_MAX {
            return Err(invalid(
                func,
                format!(
                    "{} nodes × {kp} kept neighbours are too many for i32 offsets",
                    self.n
                ),
            ));
        }
        self.kp = kp;
        self.bd = bd;
        // The interpreter reuses `bd`; a GPU takes the prebuilt width of the features alone
        // (GAT's `(64, 128)` tile has no 128-wide scores kernel).
        self.score_bd = match tile_kind(dev) {
            DeviceKind::Cpu => bd,
            DeviceKind::Cuda => width_for(DeviceKind::Cuda, self.d, &GPU_WIDTHS).unwrap_or(bd),
        };
        Ok(())
    }
}

fn hgao_plan<T: Feature>(
    func: &str,
    dev: &Device,
    x: &Tensor<T>,
    graph: &Csr,
    p: &Tensor<f32>,
    k: usize,
) -> Result<HgaoPlan> {
    let (n, d) = check_x(func, dev, x, Some(graph.n()))?;
    tile_width(func, "the feature dimension d", d, DeviceKind::Cpu)?;
    let pv = validate::host_copy(func, dev, "p", p, &[d], "")?;
    if k == 0 {
        return Err(invalid(func, "k is 0; it must be at least 1"));
    }
    let norm = pv
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return Err(invalid(
            func,
            format!("p must have a positive finite norm, got {norm}"),
        ));
    }
    let k_eff = k.min(graph.max_degree()).max(1);
    if k_eff > MAX_K {
        return Err(invalid(
            func,
            format!(
                "k = {k} with a maximum degree of {} keeps {k_eff} neighbours; at most {MAX_K} \
                 are supported",
                graph.max_degree()
            ),
        ));
    }
    Ok(HgaoPlan {
        n,
        d,
        bd: 0,
        score_bd: 0,
        kp: 0,
        k_eff,
    })
}

/// Runs hGAO's scores and top-k phases: `y (N,)` and the selection `(N, kp)` (−1 padded).
fn hgao_select<T: Feature>(
    dev: &Device,
    x: &Tensor<T>,
    graph: &Csr,
    p: &Tensor<f32>,
    plan: &HgaoPlan,
) -> Result<(Tensor<f32>, Tensor<i32>)> {
    let (n, d) = (plan.n, plan.d);
    let mut y = dev.zeros::<f32>([n])?;
    T::hgao_scores(
        dev,
        plan.score_bd,
        Grid::x(n.div_ceil(32)),
        (x, p, &mut y, i32_of(n), i32_of(d)),
    )?;
    let (rowptr, col) = graph.upload(dev)?;
    let mut sel = dev.zeros::<i32>([n, plan.kp])?;
    let args = (&y, &rowptr, &col, &mut sel, i32_of(plan.k_eff));
    let grid = Grid::x(n);
    match plan.kp {
        16 => k::hgao_select::<16, 32>::launch(dev, grid, args)?,
        32 => k::hgao_select::<32, 64>::launch(dev, grid, args)?,
        64 => k::hgao_select::<64, 128>::launch(dev, grid, args)?,
        128 => k::hgao_select::<128, 256>::launch(dev, grid, args)?,
        256 => k::hgao_select::<256, 512>::launch(dev, grid, args)?,
        kp => {
            return Err(Error::Invalid(format!(
                "graph::hgao: internal error, no kernel for KP = {kp}"
            )));
        }
    }
    Ok((y, sel))
}

/// hGAO's selection as host lists: for each node, the ids its top-k keeps, best first (the
/// reference's `ranking_k`). For tests and inspection.
pub fn hgao_ranking<T: Feature>(
    dev: &Device,
    x: &Tensor<T>,
    graph: &Csr,
    p: &Tensor<f32>,
    k: usize,
) -> Result<Vec<Vec<usize>>> {
    const F: &str = "graph::hgao_ranking";
    let mut plan = hgao_plan(F, dev, x, graph, p, k)?;
    plan.pick_tiles(F, dev, None)?;
    if plan.n == 0 {
        return Ok(Vec::new());
    }
    let (_, sel) = hgao_select(dev, x, graph, p, &plan)?;
    Ok(sel
        .to_vec()
        .chunks(plan.kp)
        .map(|row| {
            row.iter()
                .filter(|&&v| v >= 0)
                .map(|&v| v as usize)
                .collect()
        })
        .collect())
}

/// hGAO, the hard graph attention operator (SEEDS.md §2.4): `y = |x p| / ‖p‖`; for each node
/// `i`, the `min(k, deg_i)` neighbours with the largest `y` (ties to the lower node id),
/// `X̃_i = X[idx_i] ⊙ sigmoid(y[idx_i])`, `z_i = attn(x_i, X̃_i, X̃_i)` with [`HgaoAttn`]. A node
/// without neighbours gets 0.
///
/// `x (N, d)`, `p (d,)` with a positive norm, `k ≥ 1`. Returns `(N, d)` for
/// [`HgaoAttn::Dot`], `(N, out)` for [`HgaoAttn::Gat`].
pub fn hgao<T: Feature>(
    dev: &Device,
    x: &Tensor<T>,
    graph: &Csr,
    p: &Tensor<f32>,
    k: usize,
    attn: HgaoAttn<'_>,
) -> Result<Tensor<T>> {
    const F: &str = "graph::hgao";
    let mut plan = hgao_plan(F, dev, x, graph, p, k)?;
    let out = match attn {
        HgaoAttn::Dot => plan.d,
        HgaoAttn::Gat { w, a_src, a_dst } => {
            same_device(F, dev, "gat w", w)?;
            let [out, wd] = validate::rank::<2>(F, "gat w", "(out, d)", w.shape(), "")?;
            if wd != plan.d {
                return Err(invalid(
                    F,
                    format!("gat w takes {wd} features but x has d = {}", plan.d),
                ));
            }
            tile_width(F, "gat w's output dimension", out, DeviceKind::Cpu)?;
            check_shape(F, dev, "a_src", a_src, &[out])?;
            check_shape(F, dev, "a_dst", a_dst, &[out])?;
            out
        }
    };
    let gat_out = match attn {
        HgaoAttn::Dot => None,
        HgaoAttn::Gat { .. } => Some(out),
    };
    plan.pick_tiles(F, dev, gat_out)?;
    let n = plan.n;
    let mut z = dev.zeros::<T>([n, out])?;
    if n == 0 {
        return Ok(z);
    }
    let (y, sel) = hgao_select(dev, x, graph, p, &plan)?;
    let d = i32_of(plan.d);
    let grid = Grid::x(n);
    match attn {
        HgaoAttn::Dot => T::hgao_dot(dev, plan.kp, plan.bd, grid, (x, &y, &sel, &mut z, d))?,
        HgaoAttn::Gat { w, a_src, a_dst } => T::hgao_gat(
            dev,
            plan.kp,
            plan.bd,
            grid,
            (x, &y, &sel, w, a_src, a_dst, &mut z, d, i32_of(out)),
        )?,
    }
    Ok(z)
}

/// cGAO, channel-wise graph attention (SEEDS.md §2.5) of one graph: `E = Xᵀ X (d, d)`,
/// `O = X · softmax_rows(E)ᵀ`; no adjacency. `x (N, d)`; returns `(N, d)`.
pub fn cgao<T: Feature>(dev: &Device, x: &Tensor<T>) -> Result<Tensor<T>> {
    let n = x.shape().first().copied().unwrap_or(0);
    cgao_impl("graph::cgao", dev, x, &[0, n], None)
}

/// cGAO over a batch of graphs: graph `g` owns the rows `graph_ptr[g]..graph_ptr[g + 1]` of
/// `x` (`PyG`'s `ptr`) and is transformed by [`cgao`] on its own rows only (`E` is a segmented
/// reduction; graphs never mix). `graph_ptr` runs from 0 to N, non-decreasing.
pub fn cgao_batched<T: Feature>(
    dev: &Device,
    x: &Tensor<T>,
    graph_ptr: &[usize],
) -> Result<Tensor<T>> {
    cgao_impl("graph::cgao_batched", dev, x, graph_ptr, None)
}

/// Rows per block of the cGAO kernels.
const CGAO_BN: usize = 32;

/// Rows of a graph per split of cGAO's `Xᵀ X` reduction, at least.
const CGAO_ROWS_PER_SPLIT: usize = 256;

/// cGAO with the `Xᵀ X` reduction of every graph split into `splits` chunks (`None`: one per
/// 256 rows of the largest graph, at most 64). The result does not depend on it beyond f32
/// rounding; tests use it to exercise the split reduction on small inputs.
pub(crate) fn cgao_impl<T: Feature>(
    func: &str,
    dev: &Device,
    x: &Tensor<T>,
    graph_ptr: &[usize],
    splits: Option<usize>,
) -> Result<Tensor<T>> {
    let (n, d) = check_x(func, dev, x, None)?;
    tile_width(func, "the feature dimension d", d, DeviceKind::Cpu)?;
    let Some(bd) = width_for(tile_kind(dev), d, &GPU_CGAO_WIDTHS) else {
        return Err(invalid(
            func,
            format!(
                "d = {d} features has no GPU kernel: on a CUDA device cGAO takes d <= {} (its \
                 d × d attention matrix is a shared-memory tile); run it on Device::cpu() for \
                 wider features",
                GPU_CGAO_WIDTHS[GPU_CGAO_WIDTHS.len() - 1]
            ),
        ));
    };
    validate::offsets(
        func,
        "graph_ptr",
        graph_ptr,
        n,
        &format!("x has N = {n} rows"),
    )?;
    let graphs = graph_ptr.len() - 1;
    if graphs.saturating_mul(64 * d * d) >= I32_MAX {
        return Err(invalid(func, "too many graphs for i32 offsets"));
    }
    let mut z = dev.zeros::<T>([n, d])?;
    if graphs == 0 || n == 0 {
        return Ok(z);
    }
    const BN: usize = CGAO_BN;
    let blocks = graph_ptr
        .windows(2)
        .map(|w| (w[1] - w[0]).div_ceil(BN))
        .max()
        .unwrap_or(0);
    let largest = graph_ptr.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let splits = splits
        .unwrap_or(largest.div_ceil(CGAO_ROWS_PER_SPLIT))
        .clamp(1, 64);
    let ptr: Vec<i32> = graph_ptr.iter().map(|&v| i32_of(v)).collect();
    let ptr = dev.tensor(&ptr, [graphs + 1])?;
    let mut part = dev.zeros::<f32>([graphs, splits, d, d])?;
    let mut s = dev.zeros::<f32>([graphs, d, d])?;
    let (di, si) = (i32_of(d), i32_of(splits));
    T::cgao_gram(
        dev,
        bd,
        Grid::xy(graphs, splits),
        (x, &ptr, &mut part, di, si),
    )?;
    with_width!(bd, BD => k::cgao_softmax::<BD>::launch(
        dev,
        Grid::x(graphs),
        (&part, &mut s, di, si),
    ))?;
    T::cgao_apply(dev, bd, Grid::xy(graphs, blocks), (x, &ptr, &s, &mut z, di))?;
    Ok(z)
}
