//! Attention on tilefuse devices: the `FlashAttention` forward (SEEDS.md §5) with the
//! variants users expect, run by the DSL kernel of [`crate::kernels::flash`].
//!
//! * [`flash`]: q `(B, Sq, Hq, d)`, k/v `(B, Sk, Hk, d)` → output `(B, Sq, Hq, d)` and the
//!   log-sum-exp `(B, Hq, Sq)` (natural log, f32).
//! * [`flash_varlen`]: packed sequences, q `(total_q, Hq, d)`, k/v `(total_k, Hk, d)`,
//!   `cu_seqlens_q/k` (int32, `B + 1` offsets) → output `(total_q, Hq, d)` and the
//!   log-sum-exp `(Hq, total_q)` (flash-attn's varlen layout).
//!
//! Semantics (flash-attn ≥ 2.1, and [`crate::reference::attention::attention_ref`]):
//! * the score of query `i` and key `j` is `s = scale·q_i·k_j` (default scale `1/√d`), then
//!   `s ← c·tanh(s/c)` with softcap `c > 0`, then `s ← s − slope_h·|i + Sk − Sq − j|` with
//!   `ALiBi`, then the masks;
//! * **masks are aligned to the bottom-right**: query `i` sits at key position
//!   `i' = i + Sk − Sq` (per sequence with varlen). Causal keeps `j ≤ i'`; a window
//!   `(left, right)` keeps `i' − left ≤ j ≤ i' + right`, a negative bound meaning unbounded on
//!   that side; causal and a window combine (both must keep the key). With `Sq > Sk` under
//!   causal the first `Sq − Sk` rows keep no key;
//! * a row that keeps no key outputs 0 with `lse = −∞`;
//! * GQA/MQA: `Hq` must be a multiple of `Hk`; query head `h` reads kv head `h / (Hq / Hk)`;
//! * head dims 1 to 256 (32, 64, 96, 128, 256 are the usual ones); a head dim that is not a
//!   power of two runs in the next power-of-two tile with the extra lanes masked;
//! * f16, bf16 and f32 inputs; both GEMMs accumulate in f32, the softmax runs in f32, the
//!   probabilities are rounded to the input type for the `P·V` GEMM and the output is
//!   rounded to it once.
//!
//! Every input is validated before anything is launched: a bad input returns
//! [`Error::Invalid`] saying what is wrong and what would work, and no kernel runs.
//!
//! On a GPU the tiles are autotuned (`attention/tune.rs`, [`crate::runtime::autotune`]):
//! the first call per element type, head dim, length bucket, causal and varlen times the
//! prebuilt GPU configurations that hold the head dim and caches the fastest on disk
//! (`TILEFUSE_AUTOTUNE=0` takes the smallest that holds it, `force` measures again).

use crate::kernels::flash::{Blocks, FwdArgs};
use crate::validate::{self, invalid, same_device};
use crate::{Device, DeviceKind, Element, Error, Grid, Tensor};

mod tune;

pub use crate::kernels::flash::FlashElement;

/// Options of [`flash`] and [`flash_varlen`]; `FlashParams::default()` is plain
/// non-causal attention with scale `1/√d`.
#[derive(Clone, Copy, Debug)]
pub struct FlashParams<'a> {
    /// Score scale; `None` means `1/√d`.
    pub scale: Option<f32>,
    /// Bottom-right aligned causal mask: query `i` keeps key `j` iff `j ≤ i + Sk − Sq`.
    pub causal: bool,
    /// Sliding window `(left, right)`: keep `i + Sk − Sq − left ≤ j ≤ i + Sk − Sq + right`;
    /// a negative bound (flash-attn's `-1`) is unbounded on that side. `(-1, -1)` is off.
    pub window: (i64, i64),
    /// Softcap `c`: scores become `c·tanh(s/c)` when `c > 0`; `0` disables it.
    pub softcap: f32,
    /// `ALiBi` slopes, f32 of shape `(Hq,)` or `(B, Hq)`: the score gets
    /// `−slope·|i + Sk − Sq − j|`.
    pub alibi_slopes: Option<&'a Tensor<f32>>,
}

impl Default for FlashParams<'_> {
    fn default() -> Self {
        Self {
            scale: None,
            causal: false,
            window: (-1, -1),
            softcap: 0.0,
            alibi_slopes: None,
        }
    }
}

/// `FlashAttention` forward: q `(B, Sq, Hq, d)`, k and v `(B, Sk, Hk, d)` of one element type
/// (f16, bf16 or f32). Returns the output `(B, Sq, Hq, d)` in the input type and the
/// log-sum-exp `(B, Hq, Sq)` (natural log, f32; `−∞` for a row that keeps no key). See the
/// module doc for the exact semantics of [`FlashParams`].
///
/// ```
/// use tilefuse::attention::{FlashParams, flash};
/// use tilefuse::{Device, f16};
///
/// let dev = Device::cpu();
/// // 4 queries against 6 keys, 2 query heads sharing 1 kv head, head dim 32.
/// let q = dev.tensor(&vec![f16::from_f32(0.1); 4 * 2 * 32], [1, 4, 2, 32])?;
/// let k = dev.tensor(&vec![f16::from_f32(0.2); 6 * 32], [1, 6, 1, 32])?;
/// let params = FlashParams { causal: true, ..Default::default() };
/// let (o, lse) = flash(&dev, &q, &k, &k, &params)?;
/// assert_eq!((o.shape(), lse.shape()), (&[1, 4, 2, 32][..], &[1, 2, 4][..]));
/// // Equal scores: every output is the (equal) value rows; query 0 keeps keys 0..=2.
/// assert!(o.to_vec().iter().all(|x| (x.to_f32() - 0.2).abs() < 1e-3));
/// let want = 32.0 * 0.1 * 0.2 / 32f32.sqrt() + 3f32.ln();
/// assert!((lse.to_vec()[0] - want).abs() < 1e-3);
/// # Ok::<(), tilefuse::Error>(())
/// ```
pub fn flash<T: FlashElement>(
    dev: &Device,
    q: &Tensor<T>,
    k: &Tensor<T>,
    v: &Tensor<T>,
    params: &FlashParams<'_>,
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    flash_impl(dev, q, k, v, params, None)
}

/// `FlashAttention` forward on packed variable-length sequences (`flash_attn_varlen_func`):
/// sequence `b` owns query rows `cu_seqlens_q[b]..cu_seqlens_q[b+1]` of q `(total_q, Hq, d)`
/// and key rows `cu_seqlens_k[b]..cu_seqlens_k[b+1]` of k/v `(total_k, Hk, d)`; each sequence
/// is attended as by [`flash`] with its own lengths (masks bottom-right aligned within it,
/// `ALiBi` slopes `(Hq,)` or `(B, Hq)`). `cu_seqlens_q/k` are int32 with `B + 1` entries,
/// starting at 0, non-decreasing, ending at `total_q` / `total_k`. Returns the output
/// `(total_q, Hq, d)` and the log-sum-exp `(Hq, total_q)`.
pub fn flash_varlen<T: FlashElement>(
    dev: &Device,
    q: &Tensor<T>,
    k: &Tensor<T>,
    v: &Tensor<T>,
    cu_seqlens_q: &Tensor<i32>,
    cu_seqlens_k: &Tensor<i32>,
    params: &FlashParams<'_>,
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    flash_varlen_impl(dev, q, k, v, cu_seqlens_q, cu_seqlens_k, params, None)
}

/// The largest head dim the kernel has a tile for.
const MAX_HEAD_DIM: usize = 256;
/// Sizes above this could overflow the kernel's i32 positions and window arithmetic.
const MAX_TOKENS: usize = 1 << 29;

/// Shapes shared by the dense and varlen paths, validated.
struct Checked {
    hq: usize,
    hk: usize,
    d: usize,
}

/// Checks that every tensor lives on `dev`.
fn check_device<T: Element>(
    func: &str,
    dev: &Device,
    named: &[(&str, &Tensor<T>)],
) -> Result<(), Error> {
    named
        .iter()
        .try_for_each(|(name, t)| same_device(func, dev, name, t))
}

/// Checks head counts and the head dim of q `(.., Hq, d)`, k `(.., Hk, d)`, v `(.., Hk, dv)`.
fn check_heads(func: &str, qs: &[usize], ks: &[usize], vs: &[usize]) -> Result<Checked, Error> {
    let n = qs.len();
    let (hq, d) = (qs[n - 2], qs[n - 1]);
    let (hk, dk) = (ks[n - 2], ks[n - 1]);
    if ks[..n - 1] != vs[..n - 1] {
        return Err(invalid(
            func,
            format!(
                "k has shape {ks:?} but v has shape {vs:?}: they must agree in every dimension but the last (the head dim)"
            ),
        ));
    }
    if dk != d {
        return Err(invalid(
            func,
            format!("k head dim {dk} differs from q head dim {d}; q and k must share the head dim"),
        ));
    }
    if vs[n - 1] != d {
        return Err(invalid(
            func,
            format!(
                "v head dim {} differs from q head dim {d}; this kernel needs dv = d",
                vs[n - 1]
            ),
        ));
    }
    if hq == 0 || hk == 0 {
        return Err(invalid(
            func,
            format!("head counts must be positive, got Hq = {hq}, Hk = {hk}"),
        ));
    }
    validate::gqa_heads(func, hq, hk)?;
    if hq > 65535 {
        return Err(invalid(
            func,
            format!("Hq = {hq} exceeds the 65535 heads one launch can cover"),
        ));
    }
    if d == 0 || d > MAX_HEAD_DIM {
        return Err(invalid(
            func,
            format!(
                "head dim {d} is not supported: head dims 1 to {MAX_HEAD_DIM} are (32, 64, 96, 128 and 256 are the usual ones; others run in the next power-of-two tile)"
            ),
        ));
    }
    Ok(Checked { hq, hk, d })
}

/// The resolved scalar options: `(sm_scale, softcap, left, right, local)`.
struct Scalars {
    sm_scale: f32,
    softcap: f32,
    left: i32,
    right: i32,
    local: bool,
}

/// Checks scale, softcap and window; `bound` is a key distance that covers every sequence
/// (an unbounded window side becomes `bound`).
fn check_scalars(
    func: &str,
    params: &FlashParams<'_>,
    d: usize,
    bound: usize,
) -> Result<Scalars, Error> {
    let sm_scale = validate::scale(func, params.scale, d)?;
    let softcap = params.softcap;
    validate::softcap(func, softcap)?;
    let (l, r) = params.window;
    let side = |w: i64| -> i32 {
        if w < 0 {
            bound as i32
        } else {
            w.min(bound as i64) as i32
        }
    };
    Ok(Scalars {
        sm_scale,
        softcap,
        left: side(l),
        right: side(r),
        local: l >= 0 || r >= 0,
    })
}

/// Checks `ALiBi` slopes: shape `(Hq,)` or `(batch, Hq)`, finite; returns the per-batch
/// stride (0 for `(Hq,)`).
fn check_alibi(
    func: &str,
    dev: &Device,
    slopes: &Tensor<f32>,
    batch: usize,
    hq: usize,
) -> Result<i32, Error> {
    let stride = validate::alibi_stride(func, dev, "alibi_slopes", slopes, batch, hq)?;
    if let Some(x) = slopes.to_vec().iter().find(|x| !x.is_finite()) {
        return Err(invalid(
            func,
            format!("alibi_slopes must be finite, got {x}"),
        ));
    }
    Ok(stride as i32)
}

/// The kernel launch shared by both paths: allocates nothing, writes `o` and `lse`.
struct Launch<'a, T: Element> {
    dev: &'a Device,
    q: &'a Tensor<T>,
    k: &'a Tensor<T>,
    v: &'a Tensor<T>,
    cu: Option<(&'a Tensor<i32>, &'a Tensor<i32>)>,
    params: &'a FlashParams<'a>,
    dims: Checked,
    scalars: Scalars,
    slope_stride: i32,
    batch: usize,
    seqlen_q: usize,
    seqlen_k: usize,
    total_q: usize,
    max_seqlen_q: usize,
    max_seqlen_k: usize,
    blocks: Option<Blocks>,
}

impl<T: FlashElement> Launch<'_, T> {
    fn run(self, o: &mut Tensor<T>, lse: &mut Tensor<f32>) -> Result<(), Error> {
        if self.batch == 0 || self.max_seqlen_q == 0 {
            return Ok(());
        }
        let dummy_i32 = self.dev.zeros::<i32>([1])?;
        let dummy_f32 = self.dev.zeros::<f32>([1])?;
        let dummies = (&dummy_i32, &dummy_f32);
        let blocks = match self.blocks {
            Some(b) => b,
            None => {
                let kind = crate::tiles::tile_kind(self.dev);
                let first = Blocks::for_device(kind, self.dims.d);
                if kind == DeviceKind::Cuda && self.dev.kind() == DeviceKind::Cuda {
                    tune::choose(&self, first, dummies, o, lse)?
                } else {
                    first
                }
            }
        };
        if blocks.d < self.dims.d {
            return Err(Error::Invalid(format!(
                "a head tile of BLOCK_D = {} lanes cannot hold head dim {}",
                blocks.d, self.dims.d
            )));
        }
        T::launch_fwd(
            self.dev,
            None,
            self.grid(blocks),
            blocks,
            self.args(dummies, o, lse),
        )
    }

    /// The grid of a launch with tiles `blocks`.
    fn grid(&self, blocks: Blocks) -> Grid {
        Grid::xyz(
            self.max_seqlen_q.div_ceil(blocks.m),
            self.dims.hq,
            self.batch,
        )
    }

    /// The kernel's arguments, writing `o` and `lse`; `dummies` stand for the absent
    /// `cu_seqlens` and slopes.
    fn args<'b>(
        &'b self,
        dummies: (&'b Tensor<i32>, &'b Tensor<f32>),
        o: &'b mut Tensor<T>,
        lse: &'b mut Tensor<f32>,
    ) -> FwdArgs<'b, T> {
        let (cu_q, cu_k) = self.cu.unwrap_or((dummies.0, dummies.0));
        FwdArgs {
            q: self.q,
            k: self.k,
            v: self.v,
            o,
            lse,
            cu_q,
            cu_k,
            slopes: self.params.alibi_slopes.unwrap_or(dummies.1),
            seqlen_q: self.seqlen_q as i32,
            seqlen_k: self.seqlen_k as i32,
            total_q: self.total_q as i32,
            hq: self.dims.hq as i32,
            group: (self.dims.hq / self.dims.hk) as i32,
            head_dim: self.dims.d as i32,
            sm_scale: self.scalars.sm_scale,
            softcap: self.scalars.softcap,
            left: self.scalars.left,
            right: self.scalars.right,
            slope_stride: self.slope_stride,
            varlen: self.cu.is_some(),
            causal: self.params.causal,
            local: self.scalars.local,
            capped: self.scalars.softcap > 0.0,
            alibi: self.params.alibi_slopes.is_some(),
        }
    }
}

/// [`flash`] with the tile sizes forced (tests run several).
pub(crate) fn flash_impl<T: FlashElement>(
    dev: &Device,
    q: &Tensor<T>,
    k: &Tensor<T>,
    v: &Tensor<T>,
    params: &FlashParams<'_>,
    blocks: Option<Blocks>,
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    const F: &str = "attention::flash";
    check_device(F, dev, &[("q", q), ("k", k), ("v", v)])?;
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    for (name, s, layout) in [
        ("q", qs, "(B, Sq, Hq, d)"),
        ("k", ks, "(B, Sk, Hk, d)"),
        ("v", vs, "(B, Sk, Hk, d)"),
    ] {
        validate::rank::<4>(
            F,
            name,
            layout,
            s,
            " (packed 3-d sequences go to flash_varlen)",
        )?;
    }
    if ks[0] != qs[0] {
        return Err(invalid(
            F,
            format!(
                "q has batch {} but k has batch {}; they must match",
                qs[0], ks[0]
            ),
        ));
    }
    let dims = check_heads(F, qs, ks, vs)?;
    let (batch, sq, sk) = (qs[0], qs[1], ks[1]);
    if batch > 65535 {
        return Err(invalid(
            F,
            format!(
                "batch {batch} exceeds the 65535 sequences one launch can cover; split the batch"
            ),
        ));
    }
    let (tq, tk) = (batch * sq, batch * sk);
    if tq + tk > MAX_TOKENS {
        return Err(invalid(
            F,
            format!(
                "B·Sq + B·Sk = {} tokens exceeds the {MAX_TOKENS} one launch supports; split the batch",
                tq + tk
            ),
        ));
    }
    let scalars = check_scalars(F, params, dims.d, sq + sk)?;
    let slope_stride = match params.alibi_slopes {
        Some(s) => check_alibi(F, dev, s, batch, dims.hq)?,
        None => 0,
    };
    let mut o = dev.zeros::<T>(qs.to_vec())?;
    let mut lse = dev.zeros::<f32>([batch, dims.hq, sq])?;
    Launch {
        dev,
        q,
        k,
        v,
        cu: None,
        params,
        dims,
        scalars,
        slope_stride,
        batch,
        seqlen_q: sq,
        seqlen_k: sk,
        total_q: tq,
        max_seqlen_q: sq,
        max_seqlen_k: sk,
        blocks,
    }
    .run(&mut o, &mut lse)?;
    Ok((o, lse))
}

/// Checks a `cu_seqlens` tensor and returns its host copy.
fn check_cu(func: &str, what: &str, cu: &Tensor<i32>, total: usize) -> Result<Vec<i32>, Error> {
    if cu.shape().len() != 1 || cu.shape()[0] == 0 {
        return Err(invalid(
            func,
            format!(
                "{what} must be 1-d with B + 1 >= 1 entries, got shape {:?}",
                cu.shape()
            ),
        ));
    }
    let host = cu.to_vec();
    // `total` <= MAX_TOKENS fits i32 (checked by the caller).
    validate::offsets(
        func,
        what,
        &host,
        total as i32,
        &format!("the packed tensor has {total} tokens"),
    )?;
    Ok(host)
}

/// [`flash_varlen`] with the tile sizes forced (tests run several).
#[allow(clippy::too_many_arguments)]
pub(crate) fn flash_varlen_impl<T: FlashElement>(
    dev: &Device,
    q: &Tensor<T>,
    k: &Tensor<T>,
    v: &Tensor<T>,
    cu_seqlens_q: &Tensor<i32>,
    cu_seqlens_k: &Tensor<i32>,
    params: &FlashParams<'_>,
    blocks: Option<Blocks>,
) -> Result<(Tensor<T>, Tensor<f32>), Error> {
    const F: &str = "attention::flash_varlen";
    check_device(F, dev, &[("q", q), ("k", k), ("v", v)])?;
    check_device(
        F,
        dev,
        &[
            ("cu_seqlens_q", cu_seqlens_q),
            ("cu_seqlens_k", cu_seqlens_k),
        ],
    )?;
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    for (name, s, layout) in [
        ("q", qs, "(total_q, Hq, d)"),
        ("k", ks, "(total_k, Hk, d)"),
        ("v", vs, "(total_k, Hk, d)"),
    ] {
        validate::rank::<3>(F, name, layout, s, " (4-d batches go to flash)")?;
    }
    let dims = check_heads(F, qs, ks, vs)?;
    let (tq, tk) = (qs[0], ks[0]);
    if tq + tk > MAX_TOKENS {
        return Err(invalid(
            F,
            format!(
                "total_q + total_k = {} tokens exceeds the {MAX_TOKENS} one launch supports; split the batch",
                tq + tk
            ),
        ));
    }
    if cu_seqlens_q.shape() != cu_seqlens_k.shape() {
        return Err(invalid(
            F,
            format!(
                "cu_seqlens_q has shape {:?} but cu_seqlens_k has shape {:?}; both need B + 1 entries",
                cu_seqlens_q.shape(),
                cu_seqlens_k.shape()
            ),
        ));
    }
    let host_q = check_cu(F, "cu_seqlens_q", cu_seqlens_q, tq)?;
    let host_k = check_cu(F, "cu_seqlens_k", cu_seqlens_k, tk)?;
    let batch = host_q.len() - 1;
    if batch > 65535 {
        return Err(invalid(
            F,
            format!("{batch} sequences exceed the 65535 one launch can cover; split the batch"),
        ));
    }
    let max_seqlen_q = host_q
        .windows(2)
        .map(|w| (w[1] - w[0]) as usize)
        .max()
        .unwrap_or(0);
    let max_seqlen_k = host_k
        .windows(2)
        .map(|w| (w[1] - w[0]) as usize)
        .max()
        .unwrap_or(0);
    let scalars = check_scalars(F, params, dims.d, tq + tk)?;
    let slope_stride = match params.alibi_slopes {
        Some(s) => check_alibi(F, dev, s, batch, dims.hq)?,
        None => 0,
    };
    let mut o = dev.zeros::<T>(qs.to_vec())?;
    let mut lse = dev.zeros::<f32>([dims.hq, tq])?;
    Launch {
        dev,
        q,
        k,
        v,
        cu: Some((cu_seqlens_q, cu_seqlens_k)),
        params,
        dims,
        scalars,
        slope_stride,
        batch,
        seqlen_q: 0,
        seqlen_k: 0,
        total_q: tq,
        max_seqlen_q,
        max_seqlen_k,
        blocks,
    }
    .run(&mut o, &mut lse)?;
    Ok((o, lse))
}

#[cfg(test)]
mod tests {
    //! Every bad input is an [`Error::Invalid`] naming the problem and what works, returned
    //! before anything is launched.

    use super::*;
    use crate::f16;
    use crate::validate::expect_invalid;

    fn t(dev: &Device, shape: &[usize]) -> Tensor<f32> {
        dev.zeros::<f32>(shape.to_vec()).unwrap()
    }

    #[test]
    fn dense_shape_errors() {
        let dev = Device::cpu();
        let p = FlashParams::default();
        let q = t(&dev, &[2, 5, 4, 32]);
        let k = t(&dev, &[2, 7, 2, 32]);
        expect_invalid(
            flash(&dev, &t(&dev, &[5, 4, 32]), &k, &k, &p),
            &["q must be 4-d (B, Sq, Hq, d)", "[5, 4, 32]", "flash_varlen"],
        );
        expect_invalid(
            flash(
                &dev,
                &q,
                &t(&dev, &[3, 7, 2, 32]),
                &t(&dev, &[3, 7, 2, 32]),
                &p,
            ),
            &["batch 2", "batch 3"],
        );
        expect_invalid(
            flash(&dev, &q, &k, &t(&dev, &[2, 8, 2, 32]), &p),
            &["k has shape [2, 7, 2, 32] but v has shape [2, 8, 2, 32]"],
        );
        expect_invalid(
            flash(&dev, &q, &t(&dev, &[2, 7, 2, 64]), &k, &p),
            &["k head dim 64 differs from q head dim 32"],
        );
        expect_invalid(
            flash(&dev, &q, &k, &t(&dev, &[2, 7, 2, 16]), &p),
            &["v head dim 16", "dv = d"],
        );
        let k3 = t(&dev, &[2, 7, 3, 32]);
        expect_invalid(
            flash(&dev, &q, &k3, &k3, &p),
            &["Hq = 4", "not a multiple of Hk = 3", "Hq % Hk == 0"],
        );
        let k0 = t(&dev, &[2, 7, 0, 32]);
        expect_invalid(
            flash(&dev, &q, &k0, &k0, &p),
            &["head counts must be positive"],
        );
        for d in [0usize, 257, 512] {
            let (q, k) = (t(&dev, &[1, 3, 2, d]), t(&dev, &[1, 3, 2, d]));
            expect_invalid(
                flash(&dev, &q, &k, &k, &p),
                &[&format!("head dim {d} is not supported"), "1 to 256", "96"],
            );
        }
        // f16 goes through the same checks.
        let qh = dev.zeros::<f16>([1, 3, 2, 32]).unwrap();
        let kh = dev.zeros::<f16>([1, 3, 3, 32]).unwrap();
        expect_invalid(flash(&dev, &qh, &kh, &kh, &p), &["not a multiple"]);
    }

    #[test]
    fn option_errors() {
        let dev = Device::cpu();
        let q = t(&dev, &[2, 5, 4, 32]);
        let k = t(&dev, &[2, 7, 2, 32]);
        let bad = |p: FlashParams<'_>, needles: &[&str]| {
            expect_invalid(flash(&dev, &q, &k, &k, &p), needles)
        };
        bad(
            FlashParams {
                scale: Some(f32::NAN),
                ..Default::default()
            },
            &["scale must be finite"],
        );
        bad(
            FlashParams {
                softcap: -1.0,
                ..Default::default()
            },
            &["softcap must be finite and >= 0", "0 disables it"],
        );
        bad(
            FlashParams {
                softcap: f32::INFINITY,
                ..Default::default()
            },
            &["softcap"],
        );
        let s = t(&dev, &[3]);
        bad(
            FlashParams {
                alibi_slopes: Some(&s),
                ..Default::default()
            },
            &["alibi_slopes must have shape (4,) or (2, 4)", "[3]"],
        );
        let s = t(&dev, &[3, 4]);
        bad(
            FlashParams {
                alibi_slopes: Some(&s),
                ..Default::default()
            },
            &["(2, 4)", "[3, 4]"],
        );
        let s = dev.tensor(&[0.5f32, f32::NAN, 0.1, 0.2], [4]).unwrap();
        bad(
            FlashParams {
                alibi_slopes: Some(&s),
                ..Default::default()
            },
            &["alibi_slopes must be finite"],
        );
        let other = Device::cpu();
        let s = t(&other, &[4]);
        bad(
            FlashParams {
                alibi_slopes: Some(&s),
                ..Default::default()
            },
            &["alibi_slopes belongs to another device"],
        );
        let qo = t(&other, &[2, 5, 4, 32]);
        expect_invalid(
            flash(&dev, &qo, &k, &k, &FlashParams::default()),
            &["q belongs to another device"],
        );
        // Good options pass.
        let s = t(&dev, &[2, 4]);
        let p = FlashParams {
            causal: true,
            window: (3, -1),
            softcap: 5.0,
            alibi_slopes: Some(&s),
            scale: Some(0.1),
        };
        assert!(flash(&dev, &q, &k, &k, &p).is_ok());
    }

    #[test]
    fn varlen_errors() {
        let dev = Device::cpu();
        let p = FlashParams::default();
        let q = t(&dev, &[10, 4, 32]);
        let k = t(&dev, &[12, 2, 32]);
        let cu = |v: &[i32]| dev.tensor(v, [v.len()]).unwrap();
        let (cq, ck) = (cu(&[0, 4, 10]), cu(&[0, 5, 12]));
        assert!(flash_varlen(&dev, &q, &k, &k, &cq, &ck, &p).is_ok());
        expect_invalid(
            flash_varlen(&dev, &t(&dev, &[1, 10, 4, 32]), &k, &k, &cq, &ck, &p),
            &["q must be 3-d (total_q, Hq, d)", "flash"],
        );
        let k3 = t(&dev, &[12, 3, 32]);
        expect_invalid(
            flash_varlen(&dev, &q, &k3, &k3, &cq, &ck, &p),
            &["not a multiple of Hk = 3"],
        );
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &cu(&[0, 10]), &ck, &p),
            &["cu_seqlens_q has shape [2] but cu_seqlens_k has shape [3]"],
        );
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &cu(&[1, 4, 10]), &ck, &p),
            &["cu_seqlens_q must start at 0, got 1"],
        );
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &cq, &cu(&[0, 7, 5]), &p),
            &["cu_seqlens_k decreases at index 2: cu_seqlens_k[1] = 7 > cu_seqlens_k[2] = 5"],
        );
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &cu(&[0, 4, 9]), &ck, &p),
            &["cu_seqlens_q ends at 9", "10 tokens"],
        );
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &cq, &cu(&[0, 4, 13]), &p),
            &["cu_seqlens_k ends at 13", "12 tokens"],
        );
        let empty = dev.zeros::<i32>([0]).unwrap();
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &empty, &empty, &p),
            &["cu_seqlens_q must be 1-d with B + 1 >= 1 entries"],
        );
        let two_d = dev.zeros::<i32>([1, 3]).unwrap();
        expect_invalid(
            flash_varlen(&dev, &q, &k, &k, &two_d, &two_d, &p),
            &["must be 1-d", "[1, 3]"],
        );
        let s = t(&dev, &[3, 4]);
        expect_invalid(
            flash_varlen(
                &dev,
                &q,
                &k,
                &k,
                &cq,
                &ck,
                &FlashParams {
                    alibi_slopes: Some(&s),
                    ..p
                },
            ),
            &["(4,) or (2, 4)"],
        );
    }

    #[test]
    fn empty_inputs_need_no_launch() {
        let dev = Device::cpu();
        let p = FlashParams {
            causal: true,
            ..Default::default()
        };
        // (output shape, lse shape) of a dense call with q and k = v of these shapes.
        let dense = |qs: &[usize], kvs: &[usize]| {
            let kv = t(&dev, kvs);
            let (o, lse) = flash(&dev, &t(&dev, qs), &kv, &kv, &p).unwrap();
            (o.shape().to_vec(), lse.shape().to_vec())
        };
        assert_eq!(
            dense(&[0, 5, 2, 32], &[0, 3, 1, 32]),
            (vec![0, 5, 2, 32], vec![0, 2, 5])
        );
        assert_eq!(
            dense(&[2, 0, 2, 32], &[2, 3, 1, 32]),
            (vec![2, 0, 2, 32], vec![2, 2, 0])
        );
        let z = dev.tensor(&[0i32], [1]).unwrap();
        let (o, lse) = flash_varlen(
            &dev,
            &t(&dev, &[0, 2, 32]),
            &t(&dev, &[0, 1, 32]),
            &t(&dev, &[0, 1, 32]),
            &z,
            &z,
            &p,
        )
        .unwrap();
        assert_eq!((o.shape(), lse.shape()), (&[0, 2, 32][..], &[2, 0][..]));
    }
}
