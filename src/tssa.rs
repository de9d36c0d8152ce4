//! Token Statistics Self-Attention (`ToST`, ICLR 2025): the public API of the TSSA kernels
//! (SEEDS.md §1), computing exactly what the authors' code computes.
//!
//! * [`forward`]: the non-causal operator of `tost_vision/tost.py::AttentionTSSA` (§1.2):
//!   column norms over tokens clamped at `1e-12`, `Π` a softmax over **heads** of
//!   `temp_h · Σ_j (w/c)²`, `Σ Π + 1e-8`, the second moment of the **raw** `w`, and
//!   `out = −w · Π · 1/(1 + dots)`.
//! * [`causal_forward`]: the causal operator of `tost_lang/model_TSSA.py` (§1.3): prefix sums
//!   along time, the `1e-12` clamp on the squared prefix sum, the per-absolute-position
//!   `denom_bias`.
//! * [`DecodeState`]: the recurrent form of the causal operator (`O(H·d)` state per sequence,
//!   no KV cache): [`DecodeState::step`] for one token, [`DecodeState::prefill`] for a chunk of
//!   tokens continuing from the state; both equal the parallel form.
//! * [`backward`] and [`causal_backward`]: the analytic gradients of §1.4 with respect to `w`,
//!   `temp` and (causal) `denom_bias`. They recompute the forward statistics from `w` (no saved
//!   activations to pass around; the cost is one more forward).
//!
//! Layout: `w (B, H, N, D)` row-major, the per-head projected tokens
//! (`rearrange(qkv(x), 'b n (h d) -> b h n d')`); `temp` `(H,)` or the repo's `(H, 1)`;
//! `denom_bias` `(H, block_size)` or the repo's `(H, block_size, 1)`. The projections around
//! the operator (`qkv`, `to_out`) are ordinary matmuls and not part of this module.
//!
//! How it runs: every statistic is a reduction or a scan over tokens split into blocks of
//! [`Params::block_tokens`] tokens (see [`crate::kernels::tssa`]), so memory is `O(N·H·D)` for
//! the inputs and outputs plus `O(N·H)` for per-token scalars (scores, `Π`) and
//! `O(N/block · H · D)` for block partials: nothing is `N×N` and no tile spans the sequence.
//! Statistics are accumulated in f32 whatever the input type ([`Input`]: f32, f16 or bf16
//! inputs; f16/bf16 are widened to f32 once); outputs and gradients are f32.
//!
//! Every input is checked before anything is launched: a bad input is an [`Error::Invalid`]
//! naming the function, what is wrong and what would work, and no output is written.
//!
//! ```
//! use tilefuse::Device;
//! use tilefuse::tssa::{self, DecodeState, Params};
//!
//! let dev = Device::cpu();
//! let (b, h, n, d) = (1, 2, 5, 3);
//! let host: Vec<f32> = (0..b * h * n * d).map(|i| (i as f32 * 0.37).sin()).collect();
//! let w = dev.tensor(&host, [b, h, n, d])?;
//! let temp = dev.tensor(&[1.0f32, 1.0], [h])?;
//! let out = tssa::forward(&dev, &w, &temp, &Params::default())?;
//! assert_eq!(out.shape(), &[b, h, n, d]);
//!
//! // Causal: the parallel form, then one more token through the recurrent state.
//! let bias = dev.zeros::<f32>([h, 1024])?;
//! let y = tssa::causal_forward(&dev, &w, &temp, &bias, &Params::default())?;
//! let mut state = DecodeState::new(&dev, b, h, d)?;
//! let y_again = state.prefill(&dev, &w, &temp, &bias, &Params::default())?;
//! assert_eq!(y.to_vec(), y_again.to_vec());
//! let next = dev.tensor(&[0.1f32, -0.2, 0.3, 0.4, 0.5, -0.6], [b, h, d])?;
//! let y_next = state.step(&dev, &next, &temp, &bias)?;
//! assert_eq!((y_next.shape(), state.position()), (&[b, h, d][..], n + 1));
//! # Ok::<(), tilefuse::Error>(())
//! ```

use crate::kernels::tssa as k;
use crate::tiles::tile_kind;
use crate::validate::{self, I32_MAX, invalid, same_device};
use crate::{Device, DeviceKind, Element, Error, Grid, Result, Tensor, bf16, f16};

mod state;
pub use state::DecodeState;

/// `eps` of `F.normalize(w, dim=-2)`: column norms are clamped to at least this.
pub const NORM_EPS: f32 = 1e-12;
/// Added to the token sum of Π (non-causal) and to its prefix sum (causal).
pub const PI_EPS: f32 = 1e-8;
/// `clamp_min` of the causal prefix sum of `w²`.
pub const DENOM_CLAMP: f32 = 1e-12;
/// The largest head dim `D` the kernels take (one `[block, D]` tile per program).
pub const MAX_HEAD_DIM: usize = 1024;
/// The most heads `H` the kernels take (the softmax over heads holds a `[H, block]` tile).
pub const MAX_HEADS: usize = 256;
/// The largest token block.
pub const MAX_BLOCK_TOKENS: usize = 1024;

/// Tuning of the TSSA kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Tokens per block of the token reductions and scans on the CPU interpreter: a power of
    /// two up to [`MAX_BLOCK_TOKENS`]. `None` picks one so that a `[block, D]` tile holds
    /// about 4096 values (at least 1, at most 128, at most the sequence length rounded up).
    /// On a CUDA device the block is that of the prebuilt tiles for the head count and dim
    /// (64, 16 or 4 tokens; see [`crate::kernels::tssa`]): the value is checked but not used
    /// there (the results do not depend on it beyond f32 rounding).
    pub block_tokens: Option<usize>,
}

/// Input element types: f32, or f16/bf16 widened to f32 once before the f32 kernels.
pub trait Input: Element + sealed::Sealed {}
impl Input for f32 {}
impl Input for f16 {}
impl Input for bf16 {}

mod sealed {
    /// Seals [`super::Input`].
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for crate::f16 {}
    impl Sealed for crate::bf16 {}
}

/// An f32 view of an input tensor: the tensor itself, or its widened copy.
enum Widened<'a> {
    Borrowed(&'a Tensor<f32>),
    Owned(Tensor<f32>),
}

impl Widened<'_> {
    fn get(&self) -> &Tensor<f32> {
        match self {
            Widened::Borrowed(t) => t,
            Widened::Owned(t) => t,
        }
    }
}

/// Widens `t` to f32 on `dev` (a no-op view for f32).
fn widen<'a, T: Input>(dev: &Device, t: &'a Tensor<T>) -> Result<Widened<'a>> {
    const BLOCK: usize = 1024;
    let any: &dyn std::any::Any = t;
    if let Some(f) = any.downcast_ref::<Tensor<f32>>() {
        return Ok(Widened::Borrowed(f));
    }
    let n = t.len();
    let grid = Grid::x(n.div_ceil(BLOCK).max(1));
    let mut out = dev.zeros::<f32>(t.shape().to_vec())?;
    if let Some(x) = any.downcast_ref::<Tensor<f16>>() {
        k::tssa_widen_f16::launch(dev, grid, (x, &mut out, n as i64, BLOCK))?;
    } else if let Some(x) = any.downcast_ref::<Tensor<bf16>>() {
        k::tssa_widen_bf16::launch(dev, grid, (x, &mut out, n as i64, BLOCK))?;
    } else {
        return Err(Error::Invalid(format!(
            "tssa: inputs are f32, f16 or bf16, not {}",
            T::DTYPE
        )));
    }
    Ok(Widened::Owned(out))
}

/// Sizes and block sizes of one call.
#[derive(Clone, Copy, Debug)]
struct Dims {
    b: usize,
    h: usize,
    n: usize,
    d: usize,
    /// Heads tile (at least `h`, a power of two).
    bh: usize,
    /// Head-dim tile (at least `d`, a power of two).
    bd: usize,
    /// Token block (a power of two).
    bn: usize,
    /// Token blocks.
    nblk: usize,
}

impl Dims {
    /// The sizes of a checked `(B, H, N, D)` problem with the tiles for `kind`.
    fn new(kind: DeviceKind, b: usize, h: usize, n: usize, d: usize, p: &Params) -> Dims {
        let t = k::Tiles::for_device(kind, h, n, d, p.block_tokens);
        Dims {
            b,
            h,
            n,
            d,
            bh: t.bh,
            bd: t.bd,
            bn: t.bn,
            nblk: n.div_ceil(t.bn),
        }
    }
    fn rows(&self) -> usize {
        self.b * self.h
    }
    fn grid(&self) -> Grid {
        Grid::xy(self.nblk, self.rows())
    }
}

/// Checks the sizes of a `(B, H, N, D)` problem and picks the block sizes for a device of
/// kind `kind`.
fn dims(func: &str, what: &str, shape: &[usize], p: &Params, kind: DeviceKind) -> Result<Dims> {
    let [b, h, n, d] = validate::rank::<4>(
        func,
        what,
        "(B, H, N, D)",
        shape,
        "; split the channels into heads first ('b n (h d) -> b h n d')",
    )?;
    if b == 0 || h == 0 || n == 0 || d == 0 {
        return Err(invalid(
            func,
            format!("{what} {shape:?} is empty; every axis needs at least 1 element"),
        ));
    }
    if d > MAX_HEAD_DIM {
        return Err(invalid(
            func,
            format!("head dim D = {d} is not supported; the kernels take D <= {MAX_HEAD_DIM}"),
        ));
    }
    if h > MAX_HEADS {
        return Err(invalid(
            func,
            format!("H = {h} heads is not supported; the kernels take H <= {MAX_HEADS}"),
        ));
    }
    if b * h > 65535 {
        return Err(invalid(
            func,
            format!(
                "B·H = {} exceeds 65535 (one grid row per (batch, head))",
                b * h
            ),
        ));
    }
    if h.checked_mul(n)
        .and_then(|x| x.checked_mul(d + 1))
        .is_none_or(|x| x > I32_MAX)
    {
        return Err(invalid(
            func,
            format!(
                "one batch element holds H·N·(D+1) = {h}·{n}·{} values, more than 2^31 - 1; \
                 split the sequence",
                d + 1
            ),
        ));
    }
    if let Some(bn) = p.block_tokens
        && (bn == 0 || !bn.is_power_of_two() || bn > MAX_BLOCK_TOKENS)
    {
        return Err(invalid(
            func,
            format!("block_tokens = {bn} must be a power of two between 1 and {MAX_BLOCK_TOKENS}"),
        ));
    }
    Ok(Dims::new(kind, b, h, n, d, p))
}

/// Checks the inputs every parallel-form entry point takes: `w (B, H, N, D)` and its
/// `temp`, on `dev`. Returns the sizes and block sizes.
fn check_w_temp<T: Input>(
    func: &str,
    dev: &Device,
    w: &Tensor<T>,
    temp: &Tensor<f32>,
    params: &Params,
) -> Result<Dims> {
    same_device(func, dev, "w", w)?;
    let dm = dims(func, "w", w.shape(), params, tile_kind(dev))?;
    check_temp(func, dev, temp, dm.h)?;
    Ok(dm)
}

/// Checks `temp`: `(H,)` or `(H, 1)`, on `dev`.
fn check_temp(func: &str, dev: &Device, temp: &Tensor<f32>, h: usize) -> Result<()> {
    same_device(func, dev, "temp", temp)?;
    let s = temp.shape();
    if s != [h] && s != [h, 1] {
        return Err(invalid(
            func,
            format!(
                "temp has shape {s:?}, expected {} or {}: one temperature per head",
                validate::tuple(&[h]),
                validate::tuple(&[h, 1])
            ),
        ));
    }
    Ok(())
}

/// Checks `g`, the gradient of the output: on `dev`, of `w`'s shape.
fn check_grad(func: &str, dev: &Device, g: &Tensor<f32>, w_shape: &[usize]) -> Result<()> {
    const WHAT: &str = "g (the gradient of the output)";
    same_device(func, dev, WHAT, g)?;
    validate::expect_shape(func, WHAT, g.shape(), w_shape, " (w's shape)")
}

/// Checks `denom_bias`: `(H, block_size)` or `(H, block_size, 1)`, covering positions up to
/// `end` (exclusive). Returns `block_size`.
fn check_bias(func: &str, dev: &Device, bias: &Tensor<f32>, h: usize, end: usize) -> Result<usize> {
    same_device(func, dev, "denom_bias", bias)?;
    let s = bias.shape();
    let bs = match s {
        [hh, bs] | [hh, bs, 1] if *hh == h => *bs,
        _ => {
            return Err(invalid(
                func,
                format!(
                    "denom_bias has shape {s:?}, expected ({h}, block_size) or \
                     ({h}, block_size, 1): one bias per head and absolute position"
                ),
            ));
        }
    };
    if end > bs {
        return Err(invalid(
            func,
            format!(
                "position {} is beyond denom_bias's block_size {bs} (the bias is per absolute \
                 position; extend the parameter or start a new sequence)",
                end - 1
            ),
        ));
    }
    if bs > I32_MAX / (h + 1) {
        return Err(invalid(func, format!("block_size {bs} is too large")));
    }
    Ok(bs)
}

/// `out[r, :] = Σ_k part[r, k, :]` for `part (r, nblk, m)`.
fn combine(
    dev: &Device,
    part: &Tensor<f32>,
    out: &mut Tensor<f32>,
    (r, nblk, m): (usize, usize, usize),
) -> Result<()> {
    let bm = k::block_m(tile_kind(dev), m);
    k::tssa_combine::launch(
        dev,
        Grid::xy(m.div_ceil(bm), r),
        (part, out, nblk as i32, m as i32, bm),
    )
}

/// Exclusive block scan of `part (r, nblk, m)` into `carry`, forward or `reverse`, starting
/// from and updating `state (r, m)` when given.
fn scan(
    dev: &Device,
    part: &Tensor<f32>,
    carry: &mut Tensor<f32>,
    state: Option<&mut Tensor<f32>>,
    (r, nblk, m): (usize, usize, usize),
    reverse: bool,
) -> Result<()> {
    let bm = k::block_m(tile_kind(dev), m);
    let grid = Grid::xy(m.div_ceil(bm), r);
    let (nblk, m) = (nblk as i32, m as i32);
    match state {
        Some(st) => k::tssa_scan::launch(dev, grid, (part, carry, st, nblk, m, bm, reverse, true)),
        None => {
            let mut dummy = dev.zeros::<f32>([1])?;
            k::tssa_scan::launch(
                dev,
                grid,
                (part, carry, &mut dummy, nblk, m, bm, reverse, false),
            )
        }
    }
}

/// The non-causal statistics: squared column norms `c2 (B·H, D)`, scores `s (B·H·N)`,
/// `Π (B·H·N)` and `stat (B·H, D+1) = [Σ Π w², Σ Π]`.
struct Stats {
    c2: Tensor<f32>,
    s: Tensor<f32>,
    pi: Tensor<f32>,
    stat: Tensor<f32>,
}

/// Per-block column sums of squares of `w`: `part (B·H, nblk, D)`.
fn colsq_partials(dev: &Device, w: &Tensor<f32>, dm: &Dims) -> Result<Tensor<f32>> {
    let mut part = dev.zeros::<f32>([dm.rows(), dm.nblk, dm.d])?;
    k::tssa_colsq::launch(
        dev,
        dm.grid(),
        (w, &mut part, dm.n as i32, dm.d as i32, dm.bn, dm.bd),
    )?;
    Ok(part)
}

/// `Π (B·H, N)` from the scores `s (B·H, N)` (a softmax over heads) and its per-block
/// partials `[Σ Π w², Σ Π]` `(B·H, nblk, D+1)`.
fn pi_and_partials(
    dev: &Device,
    w: &Tensor<f32>,
    s: &Tensor<f32>,
    temp: &Tensor<f32>,
    dm: &Dims,
) -> Result<(Tensor<f32>, Tensor<f32>)> {
    let mut pi = dev.zeros::<f32>([dm.rows(), dm.n])?;
    let mut part = dev.zeros::<f32>([dm.rows(), dm.nblk, dm.d + 1])?;
    k::tssa_pi::launch(
        dev,
        dm.grid(),
        (
            w,
            s,
            temp,
            &mut pi,
            &mut part,
            dm.h as i32,
            dm.n as i32,
            dm.d as i32,
            dm.bh,
            dm.bn,
            dm.bd,
        ),
    )?;
    Ok((pi, part))
}

fn stats(dev: &Device, w: &Tensor<f32>, temp: &Tensor<f32>, dm: &Dims) -> Result<Stats> {
    let (rows, nblk, n, d) = (dm.rows(), dm.nblk, dm.n as i32, dm.d as i32);
    let part = colsq_partials(dev, w, dm)?;
    let mut c2 = dev.zeros::<f32>([rows, dm.d])?;
    combine(dev, &part, &mut c2, (rows, nblk, dm.d))?;
    let mut s = dev.zeros::<f32>([rows, dm.n])?;
    k::tssa_scores::launch(dev, dm.grid(), (w, &c2, &mut s, n, d, dm.bn, dm.bd))?;
    let (pi, part) = pi_and_partials(dev, w, &s, temp, dm)?;
    let mut stat = dev.zeros::<f32>([rows, dm.d + 1])?;
    combine(dev, &part, &mut stat, (rows, nblk, dm.d + 1))?;
    Ok(Stats { c2, s, pi, stat })
}

/// Non-causal TSSA (SEEDS.md §1.2), exactly as `AttentionTSSA.forward` between its two
/// projections: per `(b, h)` with `W = w[b, h] (N, D)`,
/// `c_j = max(‖W_:j‖₂, 1e-12)`, `s_i = Σ_j (W_ij/c_j)²`,
/// `Π_i^(h) = softmax_h(temp_h·s_i^(h))` (over heads), `S = Σ_i Π_i + 1e-8`,
/// `dots_j = Σ_i Π_i W_ij² / S`, `out_ij = −W_ij·Π_i/(1 + dots_j)`.
///
/// `w (B, H, N, D)` (f32, f16 or bf16), `temp (H,)` or `(H, 1)`. Returns `out (B, H, N, D)`.
pub fn forward<T: Input>(
    dev: &Device,
    w: &Tensor<T>,
    temp: &Tensor<f32>,
    params: &Params,
) -> Result<Tensor<f32>> {
    const F: &str = "tssa::forward";
    let dm = check_w_temp(F, dev, w, temp, params)?;
    let w = widen(dev, w)?;
    let w = w.get();
    let st = stats(dev, w, temp, &dm)?;
    let mut out = dev.zeros::<f32>(w.shape().to_vec())?;
    k::tssa_out::launch(
        dev,
        dm.grid(),
        (
            w,
            &st.pi,
            &st.stat,
            &mut out,
            dm.n as i32,
            dm.d as i32,
            dm.bn,
            dm.bd,
        ),
    )?;
    Ok(out)
}

/// Backward of [`forward`] (SEEDS.md §1.4): given `g = ∂L/∂out (B, H, N, D)`, returns
/// `(∂L/∂w (B, H, N, D), ∂L/∂temp (H,))`. The forward statistics are recomputed from `w`.
///
/// Where a column's norm is below the `1e-12` clamp the norm is a constant (as in `PyTorch`'s
/// autograd of `F.normalize`), like `tilefuse::reference::tssa::tssa_core_backward`.
pub fn backward<T: Input>(
    dev: &Device,
    w: &Tensor<T>,
    temp: &Tensor<f32>,
    g: &Tensor<f32>,
    params: &Params,
) -> Result<(Tensor<f32>, Tensor<f32>)> {
    const F: &str = "tssa::backward";
    let dm = check_w_temp(F, dev, w, temp, params)?;
    check_grad(F, dev, g, w.shape())?;
    let w = widen(dev, w)?;
    let w = w.get();
    let st = stats(dev, w, temp, &dm)?;
    let (rows, nblk, n, d) = (dm.rows(), dm.nblk, dm.n as i32, dm.d as i32);
    let mut part = dev.zeros::<f32>([rows, nblk, dm.d])?;
    k::tssa_bwd_gdots::launch(
        dev,
        dm.grid(),
        (w, g, &st.pi, &mut part, n, d, dm.bn, dm.bd),
    )?;
    let mut gd = dev.zeros::<f32>([rows, dm.d])?;
    combine(dev, &part, &mut gd, (rows, nblk, dm.d))?;
    let mut gpi = dev.zeros::<f32>([rows, dm.n])?;
    k::tssa_bwd_gpi::launch(
        dev,
        dm.grid(),
        (w, g, &st.stat, &gd, &mut gpi, n, d, dm.bn, dm.bd),
    )?;
    let mut gs = dev.zeros::<f32>([rows, dm.n])?;
    let mut gtemp_part = dev.zeros::<f32>([dm.b, nblk, dm.h])?;
    let dummy = dev.zeros::<f32>([1])?;
    k::tssa_bwd_gs::launch(
        dev,
        dm.grid(),
        (
            w,
            &st.s,
            &st.pi,
            &gpi,
            temp,
            &dummy,
            &mut gs,
            &mut part,
            &mut gtemp_part,
            dm.h as i32,
            n,
            d,
            dm.bh,
            dm.bn,
            dm.bd,
            false,
        ),
    )?;
    let mut tsum = dev.zeros::<f32>([rows, dm.d])?;
    combine(dev, &part, &mut tsum, (rows, nblk, dm.d))?;
    let mut dtemp = dev.zeros::<f32>([dm.h])?;
    combine(dev, &gtemp_part, &mut dtemp, (1, dm.b * nblk, dm.h))?;
    let mut dw = dev.zeros::<f32>(w.shape().to_vec())?;
    k::tssa_bwd_dw::launch(
        dev,
        dm.grid(),
        (
            w, g, &st.pi, &gs, &st.c2, &st.stat, &gd, &tsum, &mut dw, n, d, dm.bn, dm.bd,
        ),
    )?;
    Ok((dw, dtemp))
}

/// The causal statistics of a chunk: block carries of `Σ w²` `(B·H, nblk, D)` and of
/// `[Σ Π w², Σ Π]` `(B·H, nblk, D+1)`, scores `u` and `Π` `(B·H, T)`.
struct CausalStats {
    carry_s: Tensor<f32>,
    carry_rp: Tensor<f32>,
    u: Tensor<f32>,
    pi: Tensor<f32>,
}

/// Runs the causal scans over the chunk `w` from the running sums `s2 (B·H, D)` and
/// `rp (B·H, D+1)` (updated to include the chunk) at absolute position `t0`.
#[allow(clippy::too_many_arguments)]
fn causal_stats(
    dev: &Device,
    w: &Tensor<f32>,
    temp: &Tensor<f32>,
    bias: &Tensor<f32>,
    bs: usize,
    t0: usize,
    dm: &Dims,
    s2: &mut Tensor<f32>,
    rp: &mut Tensor<f32>,
) -> Result<CausalStats> {
    let (rows, nblk, n, d) = (dm.rows(), dm.nblk, dm.n as i32, dm.d as i32);
    let part = colsq_partials(dev, w, dm)?;
    let mut carry_s = dev.zeros::<f32>([rows, nblk, dm.d])?;
    scan(
        dev,
        &part,
        &mut carry_s,
        Some(s2),
        (rows, nblk, dm.d),
        false,
    )?;
    let mut u = dev.zeros::<f32>([rows, dm.n])?;
    k::tssa_causal_u::launch(
        dev,
        dm.grid(),
        (
            w,
            &carry_s,
            bias,
            &mut u,
            dm.h as i32,
            n,
            d,
            bs as i32,
            t0 as i32,
            dm.bn,
            dm.bd,
        ),
    )?;
    let (pi, part) = pi_and_partials(dev, w, &u, temp, dm)?;
    let mut carry_rp = dev.zeros::<f32>([rows, nblk, dm.d + 1])?;
    scan(
        dev,
        &part,
        &mut carry_rp,
        Some(rp),
        (rows, nblk, dm.d + 1),
        false,
    )?;
    Ok(CausalStats {
        carry_s,
        carry_rp,
        u,
        pi,
    })
}

/// The causal output from its statistics.
fn causal_out(dev: &Device, w: &Tensor<f32>, cs: &CausalStats, dm: &Dims) -> Result<Tensor<f32>> {
    let mut y = dev.zeros::<f32>(w.shape().to_vec())?;
    k::tssa_causal_out::launch(
        dev,
        dm.grid(),
        (
            w,
            &cs.pi,
            &cs.carry_rp,
            &mut y,
            dm.n as i32,
            dm.d as i32,
            dm.bn,
            dm.bd,
        ),
    )?;
    Ok(y)
}

/// Causal TSSA (SEEDS.md §1.3), exactly as `CausalSelfAttention_TSSA.forward` between its
/// projections: per `(b, h)`, prefix sums along time,
/// `C_t = max(Σ_{s≤t} w_s², 1e-12)`, `u_t = Σ_j (w_tj²/C_tj + bias_h[t])`,
/// `Π_t = softmax_h(temp_h·u_t)`, `dots_t = Σ_{s≤t} Π_s w_s² / (Σ_{s≤t} Π_s + 1e-8)`,
/// `y_t = −w_t·Π_t/(1 + dots_t)`.
///
/// `w (B, H, T, D)`, `temp (H,)`, `denom_bias (H, block_size)` with `T ≤ block_size`.
/// Returns `y (B, H, T, D)`. Equal to a [`DecodeState`] stepped over every token.
pub fn causal_forward<T: Input>(
    dev: &Device,
    w: &Tensor<T>,
    temp: &Tensor<f32>,
    denom_bias: &Tensor<f32>,
    params: &Params,
) -> Result<Tensor<f32>> {
    const F: &str = "tssa::causal_forward";
    let dm = check_w_temp(F, dev, w, temp, params)?;
    let bs = check_bias(F, dev, denom_bias, dm.h, dm.n)?;
    let w = widen(dev, w)?;
    let w = w.get();
    let mut s2 = dev.zeros::<f32>([dm.rows(), dm.d])?;
    let mut rp = dev.zeros::<f32>([dm.rows(), dm.d + 1])?;
    let cs = causal_stats(dev, w, temp, denom_bias, bs, 0, &dm, &mut s2, &mut rp)?;
    causal_out(dev, w, &cs, &dm)
}

/// Backward of [`causal_forward`] (SEEDS.md §1.4, "Causal": the forward's prefix sums become
/// suffix sums, computed as in-block reverse scans plus reverse block carries). Given
/// `g = ∂L/∂y (B, H, T, D)`, returns `(∂L/∂w (B, H, T, D), ∂L/∂temp (H,),
/// ∂L/∂denom_bias (H, block_size))` (zero beyond `T`; shaped `(H, block_size)` whichever
/// layout the bias came in). Where the prefix sum of `w²` is below the `1e-12` clamp, the
/// clamped value is a constant (as `PyTorch`'s `clamp_min`).
pub fn causal_backward<T: Input>(
    dev: &Device,
    w: &Tensor<T>,
    temp: &Tensor<f32>,
    denom_bias: &Tensor<f32>,
    g: &Tensor<f32>,
    params: &Params,
) -> Result<(Tensor<f32>, Tensor<f32>, Tensor<f32>)> {
    const F: &str = "tssa::causal_backward";
    let dm = check_w_temp(F, dev, w, temp, params)?;
    let bs = check_bias(F, dev, denom_bias, dm.h, dm.n)?;
    check_grad(F, dev, g, w.shape())?;
    let w = widen(dev, w)?;
    let w = w.get();
    let (rows, nblk, n, d) = (dm.rows(), dm.nblk, dm.n as i32, dm.d as i32);
    let mut s2 = dev.zeros::<f32>([rows, dm.d])?;
    let mut rp = dev.zeros::<f32>([rows, dm.d + 1])?;
    let cs = causal_stats(dev, w, temp, denom_bias, bs, 0, &dm, &mut s2, &mut rp)?;
    // Suffix sums of gR and gQ.
    let mut part = dev.zeros::<f32>([rows, nblk, dm.d + 1])?;
    k::tssa_causal_bwd_grq::launch(
        dev,
        dm.grid(),
        (w, g, &cs.pi, &cs.carry_rp, &mut part, n, d, dm.bn, dm.bd),
    )?;
    let mut carry_g = dev.zeros::<f32>([rows, nblk, dm.d + 1])?;
    scan(dev, &part, &mut carry_g, None, (rows, nblk, dm.d + 1), true)?;
    let mut gpi = dev.zeros::<f32>([rows, dm.n])?;
    let mut dw = dev.zeros::<f32>(w.shape().to_vec())?;
    k::tssa_causal_bwd_gpi::launch(
        dev,
        dm.grid(),
        (
            w,
            g,
            &cs.pi,
            &cs.carry_rp,
            &carry_g,
            &mut gpi,
            &mut dw,
            n,
            d,
            dm.bn,
            dm.bd,
        ),
    )?;
    // Softmax over heads, temperature, and the suffix sums of gC.
    let mut gu = dev.zeros::<f32>([rows, dm.n])?;
    let mut part = dev.zeros::<f32>([rows, nblk, dm.d])?;
    let mut gtemp_part = dev.zeros::<f32>([dm.b, nblk, dm.h])?;
    k::tssa_bwd_gs::launch(
        dev,
        dm.grid(),
        (
            w,
            &cs.u,
            &cs.pi,
            &gpi,
            temp,
            &cs.carry_s,
            &mut gu,
            &mut part,
            &mut gtemp_part,
            dm.h as i32,
            n,
            d,
            dm.bh,
            dm.bn,
            dm.bd,
            true,
        ),
    )?;
    let mut dtemp = dev.zeros::<f32>([dm.h])?;
    combine(dev, &gtemp_part, &mut dtemp, (1, dm.b * nblk, dm.h))?;
    let mut carry_c = dev.zeros::<f32>([rows, nblk, dm.d])?;
    scan(dev, &part, &mut carry_c, None, (rows, nblk, dm.d), true)?;
    k::tssa_causal_bwd_dw::launch(
        dev,
        dm.grid(),
        (w, &gu, &cs.carry_s, &carry_c, &mut dw, n, d, dm.bn, dm.bd),
    )?;
    let mut dbias = dev.zeros::<f32>([dm.h, bs])?;
    k::tssa_causal_bwd_bias::launch(
        dev,
        Grid::xy(nblk, dm.h),
        (
            &gu,
            &mut dbias,
            dm.b as i32,
            dm.h as i32,
            n,
            d,
            bs as i32,
            0,
            dm.bn,
        ),
    )?;
    Ok((dw, dtemp, dbias))
}
