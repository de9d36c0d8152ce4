//! Token Statistics Self-Attention (`ToST`, ICLR 2025) references (SEEDS.md §1).
//!
//! Port of the TSSA part of `seeds_ref.py`: the non-causal operator exactly as the authors'
//! `tost_vision/tost.py::AttentionTSSA` computes it (§1.2: Π a softmax over **heads**, the
//! `1e-12` column-norm clamp, the `1e-8` on ΣΠ, the raw `w²` in the second moment), the causal
//! operator of `tost_lang/model_TSSA.py::CausalSelfAttention_TSSA` (§1.3: prefix sums, the
//! `1e-12` clamp on the squared prefix sum, the per-position `denom_bias`), its recurrent
//! decode step, and the analytic backward of both (§1.4).
//!
//! Layout: `w` is `(B, H, N, D)` (per-head projected tokens, `'b n (h d) -> b h n d'`),
//! `temp` is `(H,)` (the repo stores `(H, 1)`), `denom_bias` is `(H, block_size)` (the repo
//! stores `(H, block_size, 1)`).
//!
//! Where the oracle's backward assumes a clamp is inactive (column norm > 1e-12, prefix sum of
//! `w²` > 1e-12), this port follows `PyTorch`'s autograd instead of dividing by zero: the
//! clamped quantity is a constant there (`clamp_min` passes the gradient where its input is
//! `>= min`). Both agree wherever the oracle's assumption holds.

use super::tensor::{expect_finite, expect_ndim, expect_shape};
use super::{RefError, RefResult, Tensor};

/// `eps` of `F.normalize(w, dim=-2)`: column norms are clamped to at least this.
pub const NORM_EPS: f64 = 1e-12;
/// Added to the token sum of Π in the non-causal and causal forms.
pub const PI_EPS: f64 = 1e-8;
/// `clamp_min` of the causal prefix sum of `w²`.
pub const DENOM_CLAMP: f64 = 1e-12;

/// Softmax over the head axis of `z[(b·H + h)·N + n]` for every `(b, n)`, in place.
fn softmax_heads(z: &mut [f64], b: usize, h: usize, n: usize) {
    let mut col = vec![0.0; h];
    for bi in 0..b {
        for ni in 0..n {
            for (hi, c) in col.iter_mut().enumerate() {
                *c = z[(bi * h + hi) * n + ni];
            }
            super::softmax_in_place(&mut col);
            for (hi, c) in col.iter().enumerate() {
                z[(bi * h + hi) * n + ni] = *c;
            }
        }
    }
}

/// Checks `w (B, H, N, D)` and `temp (H,)`; returns `(B, H, N, D)`.
fn check_w_temp(
    func: &'static str,
    w: &Tensor,
    temp: &[f64],
) -> RefResult<(usize, usize, usize, usize)> {
    let s = expect_ndim(func, "w (B, H, N, D)", w, 4)?;
    if temp.len() != s[1] {
        return Err(RefError::new(
            func,
            format!(
                "temp has {} entries but w has H = {} heads",
                temp.len(),
                s[1]
            ),
        ));
    }
    expect_finite(func, "temp", temp)?;
    Ok((s[0], s[1], s[2], s[3]))
}

/// `torch.nn.functional.normalize(w, dim=-2)` (oracle `l2_normalize_tokens`): every
/// `(b, h, :, j)` column divided by `max(‖w[b, h, :, j]‖₂, 1e-12)`, the norm taken over tokens.
///
/// w `(B, H, N, D)`. Returns `(w̃ (B, H, N, D), nrm (B, H, D))` with the unclamped norms.
pub fn l2_normalize_tokens(w: &Tensor) -> RefResult<(Tensor, Tensor)> {
    const F: &str = "l2_normalize_tokens";
    let s = expect_ndim(F, "w (B, H, N, D)", w, 4)?;
    let (b, h, n, d) = (s[0], s[1], s[2], s[3]);
    let mut nrm = Tensor::zeros(&[b, h, d]);
    let mut wn = w.clone();
    for bh in 0..b * h {
        for j in 0..d {
            let mut acc = 0.0;
            for i in 0..n {
                let x = w.data()[(bh * n + i) * d + j];
                acc += x * x;
            }
            let c = acc.sqrt();
            nrm.data_mut()[bh * d + j] = c;
            let c = c.max(NORM_EPS);
            for i in 0..n {
                wn.data_mut()[(bh * n + i) * d + j] /= c;
            }
        }
    }
    Ok((wn, nrm))
}

/// Intermediates of [`tssa_core`], all the backward needs (oracle's `cache` dict).
#[derive(Clone, Debug, PartialEq)]
pub struct TssaCache {
    /// The input `w (B, H, N, D)`.
    pub w: Tensor,
    /// Unclamped column norms over tokens, `(B, H, D)`.
    pub nrm: Tensor,
    /// `s = Σ_j w̃²`, `(B, H, N)`.
    pub s: Tensor,
    /// `Π`, the softmax over heads of `temp·s`, `(B, H, N)`.
    pub pi: Tensor,
    /// `S = Σ_n Π + 1e-8`, `(B, H)`.
    pub s_pi: Tensor,
    /// `dots = Σ_n (Π/S) w²`, `(B, H, D)`.
    pub dots: Tensor,
    /// `a = 1/(1 + dots)`, `(B, H, D)`.
    pub a: Tensor,
    /// The temperatures `(H,)`.
    pub temp: Vec<f64>,
}

/// Non-causal TSSA exactly as the authors' code (SEEDS.md §1.2; oracle `tssa_core`).
///
/// Per `(b, h)` with `W = w[b, h] (N, D)`:
/// `c_j = max(‖W_:j‖₂, 1e-12)`, `s_i = Σ_j (W_ij/c_j)²`,
/// `Π_i^(h) = softmax_h(temp_h·s_i^(h))` (over **heads**), `S = Σ_i Π_i + 1e-8`,
/// `dots_j = Σ_i (Π_i/S) W_ij²` (raw `W`), `a_j = 1/(1 + dots_j)`,
/// `out_ij = −W_ij·Π_i·a_j`.
///
/// w `(B, H, N, D)`, temp `(H,)`. Returns `out (B, H, N, D)` and the [`TssaCache`].
pub fn tssa_core(w: &Tensor, temp: &[f64]) -> RefResult<(Tensor, TssaCache)> {
    const F: &str = "tssa_core";
    let (b, h, n, d) = check_w_temp(F, w, temp)?;
    let (wn, nrm) = l2_normalize_tokens(w)?;
    let mut s = Tensor::zeros(&[b, h, n]);
    for (r, sv) in s.data_mut().iter_mut().enumerate() {
        *sv = wn.data()[r * d..(r + 1) * d].iter().map(|x| x * x).sum();
    }
    let mut pi = s.clone();
    for bi in 0..b {
        for (hi, &t) in temp.iter().enumerate() {
            for ni in 0..n {
                pi.data_mut()[(bi * h + hi) * n + ni] *= t;
            }
        }
    }
    softmax_heads(pi.data_mut(), b, h, n);
    let mut s_pi = Tensor::zeros(&[b, h]);
    let mut dots = Tensor::zeros(&[b, h, d]);
    let mut a = Tensor::zeros(&[b, h, d]);
    let mut out = Tensor::zeros(&[b, h, n, d]);
    for bh in 0..b * h {
        let p = &pi.data()[bh * n..(bh + 1) * n];
        let sum = p.iter().sum::<f64>() + PI_EPS;
        s_pi.data_mut()[bh] = sum;
        for j in 0..d {
            let mut acc = 0.0;
            for (i, &pv) in p.iter().enumerate() {
                let x = w.data()[(bh * n + i) * d + j];
                acc += (pv / sum) * (x * x);
            }
            dots.data_mut()[bh * d + j] = acc;
            a.data_mut()[bh * d + j] = 1.0 / (1.0 + acc);
        }
        for (i, &pv) in p.iter().enumerate() {
            for j in 0..d {
                let r = (bh * n + i) * d + j;
                out.data_mut()[r] = -(w.data()[r] * pv) * a.data()[bh * d + j];
            }
        }
    }
    let cache = TssaCache {
        w: w.clone(),
        nrm,
        s,
        pi,
        s_pi,
        dots,
        a,
        temp: temp.to_vec(),
    };
    Ok((out, cache))
}

/// Analytic backward of [`tssa_core`] (SEEDS.md §1.4; oracle `tssa_core_backward`).
///
/// With `G = ∂L/∂out`, `S = ΣΠ + 1e-8`, `c_j² = Σ_i W_ij²`:
/// `dW = −G·Π·a`; `gΠ_i = −Σ_j G_ij W_ij a_j`; `gdots_j = a_j² Σ_i G_ij W_ij Π_i`;
/// `dW += 2 W_ij Π_i gdots_j / S`; `gΠ_i += (1/S) Σ_j gdots_j (W_ij² − dots_j)`;
/// `gz = Π ⊙ (gΠ − Σ_h Π gΠ)`; `gtemp_h = Σ_{b,i} gz·s`; `gs = temp_h·gz`;
/// `dW_kj += 2 W_kj gs_k / c_j² − 2 W_kj / c_j⁴ · Σ_i gs_i W_ij²` — or, for a column whose
/// norm is below the clamp, `dW_kj += 2 W_kj gs_k / 1e-24` only (the norm is then a constant).
///
/// G `(B, H, N, D)`. Returns `(dW (B, H, N, D), dtemp (H,))`.
pub fn tssa_core_backward(g: &Tensor, cache: &TssaCache) -> RefResult<(Tensor, Vec<f64>)> {
    const F: &str = "tssa_core_backward";
    let w = &cache.w;
    let sh = w.shape();
    let (b, h, n, d) = (sh[0], sh[1], sh[2], sh[3]);
    expect_shape(F, "G", g, sh)?;
    for (what, t, shape) in [
        ("cache.nrm", &cache.nrm, vec![b, h, d]),
        ("cache.s", &cache.s, vec![b, h, n]),
        ("cache.pi", &cache.pi, vec![b, h, n]),
        ("cache.s_pi", &cache.s_pi, vec![b, h]),
        ("cache.dots", &cache.dots, vec![b, h, d]),
        ("cache.a", &cache.a, vec![b, h, d]),
    ] {
        expect_shape(F, what, t, &shape)?;
    }
    if cache.temp.len() != h {
        return Err(RefError::new(
            F,
            format!(
                "cache.temp has {} entries, expected H = {h}",
                cache.temp.len()
            ),
        ));
    }
    let (wd, gd, pid) = (w.data(), g.data(), cache.pi.data());
    let mut dw = Tensor::zeros(sh);
    let mut gpi = vec![0.0; b * h * n];
    for bh in 0..b * h {
        let sp = cache.s_pi.data()[bh];
        let a = &cache.a.data()[bh * d..(bh + 1) * d];
        let dots = &cache.dots.data()[bh * d..(bh + 1) * d];
        let mut gdots = vec![0.0; d];
        for (j, gd_j) in gdots.iter_mut().enumerate() {
            let mut acc = 0.0;
            for i in 0..n {
                let r = (bh * n + i) * d + j;
                acc += gd[r] * wd[r] * pid[bh * n + i];
            }
            *gd_j = a[j] * a[j] * acc;
        }
        for i in 0..n {
            let p = pid[bh * n + i];
            let mut gp = 0.0;
            let mut gp2 = 0.0;
            for j in 0..d {
                let r = (bh * n + i) * d + j;
                dw.data_mut()[r] = -gd[r] * p * a[j] + 2.0 * wd[r] * p * gdots[j] / sp;
                gp -= gd[r] * wd[r] * a[j];
                gp2 += (wd[r] * wd[r] - dots[j]) * gdots[j];
            }
            gpi[bh * n + i] = gp + gp2 / sp;
        }
    }
    // Softmax over heads, then the temperature and the column normalisation.
    let mut gtemp = vec![0.0; h];
    let mut gs = vec![0.0; b * h * n];
    for bi in 0..b {
        for ni in 0..n {
            let mut sum = 0.0;
            for hi in 0..h {
                let r = (bi * h + hi) * n + ni;
                sum += pid[r] * gpi[r];
            }
            for (hi, gt) in gtemp.iter_mut().enumerate() {
                let r = (bi * h + hi) * n + ni;
                let gz = pid[r] * (gpi[r] - sum);
                *gt += gz * cache.s.data()[r];
                gs[r] = gz * cache.temp[hi];
            }
        }
    }
    for bh in 0..b * h {
        for j in 0..d {
            let nrm = cache.nrm.data()[bh * d + j];
            if nrm >= NORM_EPS {
                let c2 = nrm * nrm;
                let mut t = 0.0;
                for i in 0..n {
                    let x = wd[(bh * n + i) * d + j];
                    t += gs[bh * n + i] * x * x;
                }
                for i in 0..n {
                    let r = (bh * n + i) * d + j;
                    dw.data_mut()[r] += 2.0 * wd[r] * gs[bh * n + i] / c2;
                    dw.data_mut()[r] -= 2.0 * wd[r] / (c2 * c2) * t;
                }
            } else {
                let c2 = NORM_EPS * NORM_EPS;
                for i in 0..n {
                    let r = (bh * n + i) * d + j;
                    dw.data_mut()[r] += 2.0 * wd[r] * gs[bh * n + i] / c2;
                }
            }
        }
    }
    Ok((dw, gtemp))
}

/// `y = x·Wᵀ (+ bias)` for `x (rows, cin)`, `W (cout, cin)`.
fn linear(x: &[f64], rows: usize, cin: usize, w: &Tensor, bias: Option<&[f64]>) -> Vec<f64> {
    let cout = w.shape()[0];
    let mut y = vec![0.0; rows * cout];
    for r in 0..rows {
        for o in 0..cout {
            let acc = super::dot(
                &x[r * cin..(r + 1) * cin],
                &w.data()[o * cin..(o + 1) * cin],
            );
            y[r * cout + o] = acc + bias.map_or(0.0, |bv| bv[o]);
        }
    }
    y
}

/// The full non-causal TSSA module (SEEDS.md §1.2 steps 1–9; oracle `tssa_module`):
/// `w = x·W_qkvᵀ + b_qkv` (one `Linear(C, C)`), split `'b n (h d) -> b h n d'`,
/// [`tssa_core`], merge `'b h n d -> b n (h d)'`, `y = out·W_outᵀ + b_out`.
///
/// x `(B, N, C)`, `W_qkv` and `W_out` `(C, C)`, biases `(C,)` or absent, temp `(H,)`, `C % H == 0`.
/// Returns `y (B, N, C)`.
pub fn tssa_module(
    x: &Tensor,
    w_qkv: &Tensor,
    b_qkv: Option<&[f64]>,
    w_out: &Tensor,
    b_out: Option<&[f64]>,
    temp: &[f64],
    heads: usize,
) -> RefResult<Tensor> {
    const F: &str = "tssa_module";
    let s = expect_ndim(F, "x (B, N, C)", x, 3)?;
    let (b, n, c) = (s[0], s[1], s[2]);
    if heads == 0 || c % heads != 0 {
        return Err(RefError::new(
            F,
            format!("C = {c} channels do not split into {heads} heads"),
        ));
    }
    expect_shape(F, "W_qkv", w_qkv, &[c, c])?;
    expect_shape(F, "W_out", w_out, &[c, c])?;
    for (what, bias) in [("b_qkv", b_qkv), ("b_out", b_out)] {
        if let Some(bv) = bias
            && bv.len() != c
        {
            return Err(RefError::new(
                F,
                format!("{what} has {} entries, expected C = {c}", bv.len()),
            ));
        }
    }
    let d = c / heads;
    let proj = linear(x.data(), b * n, c, w_qkv, b_qkv);
    let w = Tensor::from_fn(&[b, heads, n, d], |i| {
        proj[(i[0] * n + i[2]) * c + i[1] * d + i[3]]
    });
    let (out, _) = tssa_core(&w, temp).map_err(|e| RefError::new(F, e.msg))?;
    let merged: Vec<f64> =
        Tensor::from_fn(&[b, n, c], |i| out[&[i[0], i[2] / d, i[1], i[2] % d][..]]).into_data();
    Tensor::new(&[b, n, c], linear(&merged, b * n, c, w_out, b_out))
}

/// Checks `denom_bias (H, block_size)` against `H` heads and `t` positions.
fn check_bias(func: &'static str, bias: &Tensor, h: usize, t: usize) -> RefResult<usize> {
    let s = expect_ndim(func, "denom_bias (H, block_size)", bias, 2)?;
    if s[0] != h {
        return Err(RefError::new(
            func,
            format!("denom_bias has {} heads, expected H = {h}", s[0]),
        ));
    }
    if t > s[1] {
        return Err(RefError::new(
            func,
            format!(
                "position {} is beyond denom_bias's block_size {} (the bias is per absolute position)",
                t - 1,
                s[1]
            ),
        ));
    }
    expect_finite(func, "denom_bias", bias.data())?;
    Ok(s[1])
}

/// Causal TSSA (SEEDS.md §1.3; oracle `causal_tssa_core`), per `(b, h)`, prefix sums along
/// time:
/// `C_t = max(Σ_{s≤t} w_s², 1e-12)` (per channel), `u_t = Σ_j (w_tj²/C_tj + bias_h[t])`,
/// `Π_t = softmax_h(temp_h·u_t)`, `dots_t = (Σ_{s≤t} Π_s w_s²) / (Σ_{s≤t} Π_s + 1e-8)`,
/// `y_t = −w_t·Π_t / (1 + dots_t)`.
///
/// w `(B, H, T, D)`, temp `(H,)`, `denom_bias` `(H, block_size)` with `T ≤ block_size`.
/// Returns `y (B, H, T, D)`.
pub fn causal_tssa_core(w: &Tensor, temp: &[f64], denom_bias: &Tensor) -> RefResult<Tensor> {
    const F: &str = "causal_tssa_core";
    let (b, h, t, d) = check_w_temp(F, w, temp)?;
    let bs = check_bias(F, denom_bias, h, t)?;
    let fw = CausalForward::new(w, temp, denom_bias.data(), bs, (b, h, t, d));
    let mut out = Tensor::zeros(w.shape());
    for bh in 0..b * h {
        for ti in 0..t {
            let p = fw.pi[bh * t + ti];
            for j in 0..d {
                let r = (bh * t + ti) * d + j;
                let a = 1.0 / (1.0 + fw.rr[r] / fw.qq[bh * t + ti]);
                out.data_mut()[r] = -(w.data()[r] * p) * a;
            }
        }
    }
    Ok(out)
}

/// The causal forward's intermediates, shared by the forward and the backward.
struct CausalForward {
    /// Unclamped prefix sums of w², `(B, H, T, D)`.
    cs: Vec<f64>,
    /// `u = Σ_j w²/C + D·bias`, `(B, H, T)`.
    u: Vec<f64>,
    /// Π, `(B, H, T)`.
    pi: Vec<f64>,
    /// `R = cumsum(Π w²)`, `(B, H, T, D)`.
    rr: Vec<f64>,
    /// `Q = cumsum(Π) + 1e-8`, `(B, H, T)`.
    qq: Vec<f64>,
}

impl CausalForward {
    fn new(
        w: &Tensor,
        temp: &[f64],
        bias: &[f64],
        bs: usize,
        (b, h, t, d): (usize, usize, usize, usize),
    ) -> Self {
        let wd = w.data();
        let mut cs = vec![0.0; wd.len()];
        let mut u = vec![0.0; b * h * t];
        for bh in 0..b * h {
            let hi = bh % h;
            for ti in 0..t {
                let mut acc = 0.0;
                for j in 0..d {
                    let r = (bh * t + ti) * d + j;
                    let prev = if ti == 0 { 0.0 } else { cs[r - d] };
                    cs[r] = prev + wd[r] * wd[r];
                    acc += wd[r] * wd[r] / cs[r].max(DENOM_CLAMP) + bias[hi * bs + ti];
                }
                u[bh * t + ti] = acc;
            }
        }
        let mut pi: Vec<f64> = u
            .iter()
            .enumerate()
            .map(|(r, &x)| x * temp[(r / t) % h])
            .collect();
        softmax_heads(&mut pi, b, h, t);
        let mut rr = vec![0.0; wd.len()];
        let mut qq = vec![0.0; b * h * t];
        for bh in 0..b * h {
            let mut qsum = 0.0;
            for ti in 0..t {
                let p = pi[bh * t + ti];
                qsum += p;
                qq[bh * t + ti] = qsum + PI_EPS;
                for j in 0..d {
                    let r = (bh * t + ti) * d + j;
                    let prev = if ti == 0 { 0.0 } else { rr[r - d] };
                    rr[r] = prev + wd[r] * wd[r] * p;
                }
            }
        }
        Self { cs, u, pi, rr, qq }
    }
}

/// Analytic backward of [`causal_tssa_core`] (SEEDS.md §1.4 "Causal"; oracle
/// `causal_tssa_core_backward`): the forward's prefix sums become suffix sums.
///
/// With `R = cumsum(Π w²)`, `Q = cumsum(Π) + 1e-8`, `a = 1/(1 + R/Q)`:
/// `dw = −G Π a`; `gΠ = −Σ_j G w a`; `gdots = a² G w Π`; `gR = gdots/Q`;
/// `gQ = −Σ_j gdots R / Q²`; `gΠ += Σ_j suffix(gR) w² + suffix(gQ)`; `gw² = suffix(gR) Π`;
/// `gz = Π ⊙ (gΠ − Σ_h Π gΠ)`; `gtemp_h = Σ gz u`; `gu = temp_h gz`;
/// `gbias[h, t] = D Σ_b gu`; `gw² += gu / C`; `gw² += suffix(−gu w² / C²)` (zero where the
/// `1e-12` clamp binds); `dw += 2 w gw²`.
///
/// G `(B, H, T, D)`, other arguments as [`causal_tssa_core`]. Returns
/// `(dw (B, H, T, D), dtemp (H,), dbias (H, block_size))` (zero beyond `T`).
pub fn causal_tssa_core_backward(
    g: &Tensor,
    w: &Tensor,
    temp: &[f64],
    denom_bias: &Tensor,
) -> RefResult<(Tensor, Vec<f64>, Tensor)> {
    const F: &str = "causal_tssa_core_backward";
    let (b, h, t, d) = check_w_temp(F, w, temp)?;
    let bs = check_bias(F, denom_bias, h, t)?;
    expect_shape(F, "G", g, w.shape())?;
    let fw = CausalForward::new(w, temp, denom_bias.data(), bs, (b, h, t, d));
    let (wd, gd) = (w.data(), g.data());
    let mut dw = Tensor::zeros(w.shape());
    let mut gpi = vec![0.0; b * h * t];
    let mut gwsq = vec![0.0; wd.len()];
    for bh in 0..b * h {
        // Suffix sums of gR (per channel) and gQ, walking time backwards.
        let mut grbar = vec![0.0; d];
        let mut gqbar = 0.0;
        for ti in (0..t).rev() {
            let p = fw.pi[bh * t + ti];
            let q = fw.qq[bh * t + ti];
            let mut gp = 0.0;
            let mut gq = 0.0;
            let mut gdots = vec![0.0; d];
            for (j, gdj) in gdots.iter_mut().enumerate() {
                let r = (bh * t + ti) * d + j;
                let a = 1.0 / (1.0 + fw.rr[r] / q);
                dw.data_mut()[r] = -gd[r] * p * a;
                gp -= gd[r] * wd[r] * a;
                *gdj = a * a * gd[r] * wd[r] * p;
                gq -= *gdj * fw.rr[r] / (q * q);
            }
            gqbar += gq;
            for j in 0..d {
                let r = (bh * t + ti) * d + j;
                grbar[j] += gdots[j] / q;
                gp += grbar[j] * wd[r] * wd[r];
                gwsq[r] = grbar[j] * p;
            }
            gpi[bh * t + ti] = gp + gqbar;
        }
    }
    let mut gtemp = vec![0.0; h];
    let mut gu = vec![0.0; b * h * t];
    for bi in 0..b {
        for ti in 0..t {
            let mut sum = 0.0;
            for hi in 0..h {
                let r = (bi * h + hi) * t + ti;
                sum += fw.pi[r] * gpi[r];
            }
            for (hi, gt) in gtemp.iter_mut().enumerate() {
                let r = (bi * h + hi) * t + ti;
                let gz = fw.pi[r] * (gpi[r] - sum);
                *gt += gz * fw.u[r];
                gu[r] = gz * temp[hi];
            }
        }
    }
    let mut gbias = Tensor::zeros(denom_bias.shape());
    for bi in 0..b {
        for hi in 0..h {
            for ti in 0..t {
                gbias.data_mut()[hi * bs + ti] += d as f64 * gu[(bi * h + hi) * t + ti];
            }
        }
    }
    for bh in 0..b * h {
        let mut gcbar = vec![0.0; d];
        for ti in (0..t).rev() {
            let guv = gu[bh * t + ti];
            for (j, gc) in gcbar.iter_mut().enumerate() {
                let r = (bh * t + ti) * d + j;
                let c = fw.cs[r].max(DENOM_CLAMP);
                if fw.cs[r] >= DENOM_CLAMP {
                    *gc += -guv * wd[r] * wd[r] / (c * c);
                }
                gwsq[r] += guv / c + *gc;
                dw.data_mut()[r] += 2.0 * wd[r] * gwsq[r];
            }
        }
    }
    Ok((dw, gtemp, gbias))
}

/// Constant-memory recurrent state of causal TSSA for decoding (SEEDS.md §1.3 "Recurrent
/// decode form"; oracle `CausalTSSADecodeState`): per `(b, h)` the running sums
/// `S₂ = Σ w²` (D), `R = Σ Π w²` (D) and `P = Σ Π`, and the next absolute position `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct CausalTssaDecodeState {
    /// Running `Σ w²`, `(B, H, D)`.
    pub sum_wsq: Tensor,
    /// Running `Σ Π w²`, `(B, H, D)`.
    pub sum_piwsq: Tensor,
    /// Running `Σ Π`, `(B, H)`.
    pub sum_pi: Tensor,
    /// Absolute position of the next token (index into `denom_bias`).
    pub t: usize,
}

impl CausalTssaDecodeState {
    /// The empty state (no token seen) of `b` sequences, `h` heads, head dim `d`.
    pub fn new(b: usize, h: usize, d: usize) -> Self {
        Self {
            sum_wsq: Tensor::zeros(&[b, h, d]),
            sum_piwsq: Tensor::zeros(&[b, h, d]),
            sum_pi: Tensor::zeros(&[b, h]),
            t: 0,
        }
    }

    /// One decode step for the token at position `t` (then `t += 1`):
    /// `S₂ += w_t²`; `u = Σ_j (w_t²/max(S₂, 1e-12) + bias_h[t])`; `Π = softmax_h(temp_h·u)`;
    /// `R += Π w_t²`; `P += Π`; `y_t = −w_t·Π / (1 + R/(P + 1e-8))`.
    ///
    /// `w_t` `(B, H, D)`. Returns `y_t (B, H, D)`, equal to row `t` of [`causal_tssa_core`].
    /// Fails, leaving the state unchanged, on a shape mismatch or when `t ≥ block_size`
    /// (`denom_bias` is per absolute position, SEEDS.md §1.3 caveat).
    pub fn step(&mut self, w_t: &Tensor, temp: &[f64], denom_bias: &Tensor) -> RefResult<Tensor> {
        const F: &str = "CausalTssaDecodeState::step";
        let sh = self.sum_wsq.shape().to_vec();
        let (b, h, d) = (sh[0], sh[1], sh[2]);
        expect_shape(F, "w_t", w_t, &sh)?;
        if temp.len() != h {
            return Err(RefError::new(
                F,
                format!("temp has {} entries, expected H = {h}", temp.len()),
            ));
        }
        expect_finite(F, "temp", temp)?;
        let bs = check_bias(F, denom_bias, h, self.t + 1)?;
        let wd = w_t.data();
        let mut u = vec![0.0; b * h];
        for (bh, ub) in u.iter_mut().enumerate() {
            let hi = bh % h;
            let mut acc = 0.0;
            for j in 0..d {
                let r = bh * d + j;
                let wsq = wd[r] * wd[r];
                self.sum_wsq.data_mut()[r] += wsq;
                acc += wsq / self.sum_wsq.data()[r].max(DENOM_CLAMP)
                    + denom_bias.data()[hi * bs + self.t];
            }
            *ub = acc * temp[hi];
        }
        softmax_heads(&mut u, b, h, 1);
        let mut y = Tensor::zeros(&sh);
        for (bh, &p) in u.iter().enumerate() {
            self.sum_pi.data_mut()[bh] += p;
            let den = self.sum_pi.data()[bh] + PI_EPS;
            for j in 0..d {
                let r = bh * d + j;
                self.sum_piwsq.data_mut()[r] += wd[r] * wd[r] * p;
                let dots = self.sum_piwsq.data()[r] / den;
                y.data_mut()[r] = -(wd[r] * p) / (1.0 + dots);
            }
        }
        self.t += 1;
        Ok(y)
    }

    /// Runs [`step`](Self::step) over every token of `w (B, H, T, D)` (chunked prefill that
    /// continues from the current state). Returns `y (B, H, T, D)`. All checks run first, so
    /// on error the state is unchanged.
    pub fn prefill(&mut self, w: &Tensor, temp: &[f64], denom_bias: &Tensor) -> RefResult<Tensor> {
        const F: &str = "CausalTssaDecodeState::prefill";
        let sh = self.sum_wsq.shape().to_vec();
        let ws = expect_ndim(F, "w (B, H, T, D)", w, 4)?;
        if ws[0] != sh[0] || ws[1] != sh[1] || ws[3] != sh[2] {
            return Err(RefError::new(
                F,
                format!("w {ws:?} does not match the state's (B, H, D) = {sh:?}"),
            ));
        }
        let t = ws[2];
        check_bias(F, denom_bias, sh[1], self.t + t)?;
        if temp.len() != sh[1] {
            return Err(RefError::new(
                F,
                format!("temp has {} entries, expected H = {}", temp.len(), sh[1]),
            ));
        }
        expect_finite(F, "temp", temp)?;
        let mut y = Tensor::zeros(ws);
        for ti in 0..t {
            let wt = Tensor::from_fn(&sh, |i| w[&[i[0], i[1], ti, i[2]][..]]);
            let yt = self.step(&wt, temp, denom_bias)?;
            for bi in 0..sh[0] {
                for hi in 0..sh[1] {
                    for j in 0..sh[2] {
                        y[&[bi, hi, ti, j][..]] = yt[&[bi, hi, j][..]];
                    }
                }
            }
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::dot;
    use crate::reference::tests::{randn, rng};

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        a.max_abs_diff(b).expect("shapes differ")
    }

    /// Central finite differences of `f` with respect to every entry of `x`.
    fn fd(x: &Tensor, f: impl Fn(&Tensor) -> f64) -> Tensor {
        let e = 1e-6;
        Tensor::from_fn(x.shape(), |idx| {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[idx] += e;
            m[idx] -= e;
            (f(&p) - f(&m)) / (2.0 * e)
        })
    }

    fn temps(h: usize, seed: u64) -> Vec<f64> {
        let mut r = rng(seed);
        randn(&mut r, &[h], 1.0)
            .data()
            .iter()
            .map(|t| t + 1.0)
            .collect()
    }

    /// Oracle self-test: the non-causal analytic backward matches finite differences.
    #[test]
    fn tssa_backward_matches_finite_differences() {
        let mut r = rng(11);
        let w = randn(&mut r, &[2, 3, 7, 4], 1.0);
        let g = randn(&mut r, &[2, 3, 7, 4], 1.0);
        let temp = temps(3, 12);
        let (_, cache) = tssa_core(&w, &temp).unwrap();
        let (dw, dtemp) = tssa_core_backward(&g, &cache).unwrap();
        let loss = |w: &Tensor, t: &[f64]| dot(tssa_core(w, t).unwrap().0.data(), g.data());
        let num = fd(&w, |w| loss(w, &temp));
        assert!(max_diff(&num, &dw) < 1e-8, "dw {}", max_diff(&num, &dw));
        let tt = Tensor::new(&[3], temp.clone()).unwrap();
        let numt = fd(&tt, |t| loss(&w, t.data()));
        let dtemp = Tensor::new(&[3], dtemp).unwrap();
        assert!(
            max_diff(&numt, &dtemp) < 1e-8,
            "dtemp {}",
            max_diff(&numt, &dtemp)
        );
    }

    /// Test invariants of SEEDS §1.6: `Σ_h` Π = 1; H = 1 gives Π ≡ 1 and the closed form;
    /// tiny w gives out ≈ −w·Π.
    #[test]
    fn tssa_invariants() {
        let mut r = rng(13);
        let w = randn(&mut r, &[2, 4, 6, 3], 1.0);
        let (_, cache) = tssa_core(&w, &temps(4, 14)).unwrap();
        for b in 0..2 {
            for n in 0..6 {
                let s: f64 = (0..4).map(|h| cache.pi[&[b, h, n][..]]).sum();
                assert!((s - 1.0).abs() < 1e-15);
            }
        }
        let w1 = randn(&mut r, &[1, 1, 5, 3], 1.0);
        let (out, cache) = tssa_core(&w1, &[2.5]).unwrap();
        assert!(cache.pi.data().iter().all(|&p| p == 1.0));
        for j in 0..3 {
            let m: f64 =
                (0..5).map(|i| w1[&[0, 0, i, j][..]].powi(2)).sum::<f64>() / (5.0 + PI_EPS);
            for i in 0..5 {
                let want = -w1[&[0, 0, i, j][..]] / (1.0 + m);
                assert!((out[&[0, 0, i, j][..]] - want).abs() < 1e-15);
            }
        }
        let tiny = randn(&mut r, &[1, 3, 4, 2], 1e-9);
        let (out, cache) = tssa_core(&tiny, &[1.0, 2.0, 3.0]).unwrap();
        for (idx, &o) in out.data().iter().enumerate() {
            let want = -tiny.data()[idx] * cache.pi.data()[idx / 2];
            assert!((o - want).abs() <= 1e-15 * want.abs().max(1e-9));
        }
    }

    /// A zero column hits the `1e-12` clamp: outputs and gradients stay finite, and the
    /// gradient of every entry outside that column still matches finite differences.
    #[test]
    fn zero_column_takes_the_clamp_path() {
        let mut r = rng(15);
        let mut w = randn(&mut r, &[1, 2, 5, 3], 1.0);
        for i in 0..5 {
            w[&[0, 1, i, 2][..]] = 0.0;
        }
        let g = randn(&mut r, &[1, 2, 5, 3], 1.0);
        let temp = [0.7, 1.3];
        let (out, cache) = tssa_core(&w, &temp).unwrap();
        assert!(out.data().iter().all(|v| v.is_finite()));
        assert_eq!(cache.nrm[&[0, 1, 2][..]], 0.0);
        let (dw, _) = tssa_core_backward(&g, &cache).unwrap();
        assert!(dw.data().iter().all(|v| v.is_finite()));
        let num = fd(&w, |w| dot(tssa_core(w, &temp).unwrap().0.data(), g.data()));
        for h in 0..2 {
            for i in 0..5 {
                for j in 0..3 {
                    if (h, j) == (1, 2) {
                        continue;
                    }
                    let (a, b) = (dw[&[0, h, i, j][..]], num[&[0, h, i, j][..]]);
                    assert!((a - b).abs() < 1e-8, "({h},{i},{j}): {a} vs {b}");
                }
            }
        }
    }

    /// Oracle self-tests: causal parallel == recurrent; prefix invariance; chunked prefill
    /// followed by decode equals the full scan.
    #[test]
    fn causal_parallel_equals_recurrent_and_is_prefix_invariant() {
        let mut r = rng(16);
        let w = randn(&mut r, &[2, 3, 9, 4], 1.0);
        let db = randn(&mut r, &[3, 16], 0.1);
        let temp = temps(3, 17);
        let par = causal_tssa_core(&w, &temp, &db).unwrap();
        let mut st = CausalTssaDecodeState::new(2, 3, 4);
        let mut rec = Tensor::zeros(&[2, 3, 9, 4]);
        for t in 0..9 {
            let wt = Tensor::from_fn(&[2, 3, 4], |i| w[&[i[0], i[1], t, i[2]][..]]);
            let yt = st.step(&wt, &temp, &db).unwrap();
            for (idx, &y) in yt.data().iter().enumerate() {
                let (bh, j) = (idx / 4, idx % 4);
                rec.data_mut()[(bh * 9 + t) * 4 + j] = y;
            }
        }
        assert!(max_diff(&par, &rec) < 1e-15, "{}", max_diff(&par, &rec));
        let w5 = Tensor::from_fn(&[2, 3, 5, 4], |i| w[i]);
        let par5 = causal_tssa_core(&w5, &temp, &db).unwrap();
        assert!(par5.data().iter().enumerate().all(|(idx, &v)| {
            let (bh, t, j) = (idx / 20, (idx / 4) % 5, idx % 4);
            v == par.data()[(bh * 9 + t) * 4 + j]
        }));
        // Chunked: prefill 5 tokens, then 4 more, from the handed-over state.
        let mut st = CausalTssaDecodeState::new(2, 3, 4);
        let y1 = st.prefill(&w5, &temp, &db).unwrap();
        let rest = Tensor::from_fn(&[2, 3, 4, 4], |i| w[&[i[0], i[1], i[2] + 5, i[3]][..]]);
        let y2 = st.prefill(&rest, &temp, &db).unwrap();
        assert!(max_diff(&y1, &par5) < 1e-15);
        let tail = Tensor::from_fn(&[2, 3, 4, 4], |i| par[&[i[0], i[1], i[2] + 5, i[3]][..]]);
        assert!(max_diff(&y2, &tail) < 1e-15);
    }

    /// Oracle self-test: the causal backward (w, temp, `denom_bias`) matches finite differences.
    #[test]
    fn causal_backward_matches_finite_differences() {
        let mut r = rng(18);
        let w = randn(&mut r, &[2, 3, 9, 4], 1.0);
        let g = randn(&mut r, &[2, 3, 9, 4], 1.0);
        let db = randn(&mut r, &[3, 16], 0.1);
        let temp = temps(3, 19);
        let (dw, dtemp, dbias) = causal_tssa_core_backward(&g, &w, &temp, &db).unwrap();
        let loss = |w: &Tensor, t: &[f64], b: &Tensor| {
            dot(causal_tssa_core(w, t, b).unwrap().data(), g.data())
        };
        let num = fd(&w, |w| loss(w, &temp, &db));
        assert!(max_diff(&num, &dw) < 1e-8, "dw {}", max_diff(&num, &dw));
        let tt = Tensor::new(&[3], temp.clone()).unwrap();
        let numt = fd(&tt, |t| loss(&w, t.data(), &db));
        let dtemp = Tensor::new(&[3], dtemp).unwrap();
        assert!(max_diff(&numt, &dtemp) < 1e-8);
        let numb = fd(&db, |b| loss(&w, &temp, b));
        assert!(max_diff(&numb, &dbias) < 1e-8);
        // Positions beyond T get no gradient.
        assert!((9..16).all(|t| (0..3).all(|h| dbias[&[h, t][..]] == 0.0)));
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
        expect_err(
            tssa_core(&z(&[1, 3, 4, 2]), &[1.0, 1.0]),
            "tssa_core",
            "temp has 2",
        );
        expect_err(tssa_core(&z(&[3, 4, 2]), &[1.0]), "tssa_core", "4 axes");
        expect_err(
            tssa_core(&z(&[1, 1, 4, 2]), &[f64::NAN]),
            "tssa_core",
            "non-finite",
        );
        let (_, cache) = tssa_core(&z(&[1, 2, 3, 2]), &[1.0, 1.0]).unwrap();
        expect_err(
            tssa_core_backward(&z(&[1, 2, 3, 3]), &cache),
            "tssa_core_backward",
            "G",
        );
        let x = z(&[1, 2, 6]);
        expect_err(
            tssa_module(&x, &z(&[6, 6]), None, &z(&[6, 6]), None, &[1.0; 4], 4),
            "tssa_module",
            "do not split",
        );
        expect_err(
            tssa_module(&x, &z(&[6, 5]), None, &z(&[6, 6]), None, &[1.0; 3], 3),
            "tssa_module",
            "W_qkv",
        );
        expect_err(
            tssa_module(
                &x,
                &z(&[6, 6]),
                Some(&[0.0; 5]),
                &z(&[6, 6]),
                None,
                &[1.0; 3],
                3,
            ),
            "tssa_module",
            "b_qkv",
        );
        let w = z(&[1, 2, 5, 3]);
        expect_err(
            causal_tssa_core(&w, &[1.0; 2], &z(&[2, 4])),
            "causal_tssa_core",
            "block_size 4",
        );
        expect_err(
            causal_tssa_core(&w, &[1.0; 2], &z(&[3, 8])),
            "causal_tssa_core",
            "3 heads",
        );
        expect_err(
            causal_tssa_core_backward(&z(&[1, 2, 5, 2]), &w, &[1.0; 2], &z(&[2, 8])),
            "causal_tssa_core_backward",
            "G",
        );
        // Decoding past block_size is refused and leaves the state as it was.
        let mut st = CausalTssaDecodeState::new(1, 2, 3);
        let db = z(&[2, 2]);
        let wt = Tensor::full(&[1, 2, 3], 0.5);
        st.step(&wt, &[1.0; 2], &db).unwrap();
        st.step(&wt, &[1.0; 2], &db).unwrap();
        let before = st.clone();
        expect_err(
            st.step(&wt, &[1.0; 2], &db),
            "CausalTssaDecodeState::step",
            "block_size 2",
        );
        expect_err(
            st.step(&z(&[1, 2, 4]), &[1.0; 2], &z(&[2, 8])),
            "CausalTssaDecodeState::step",
            "w_t",
        );
        expect_err(
            st.prefill(&z(&[1, 2, 1, 3]), &[1.0; 2], &db),
            "CausalTssaDecodeState::prefill",
            "block_size",
        );
        assert_eq!(st, before);
    }
}
