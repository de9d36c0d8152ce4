//! Independent float64 references for the seed kernels (issue 3).
//!
//! Every bundled kernel of tilefuse (`FlashAttention` and decode, TSSA, graph attention) is
//! checked against a plain, obviously-correct float64 computation. This module is that
//! computation: a line-by-line port of the numpy oracle `shared/reference/seeds_ref.py`, with
//! the semantics, variants and constants of `shared/reference/SEEDS.md`. It is deliberately
//! written as scalar loops over row-major [`Tensor`]s (no tiling, no online softmax, no
//! cleverness), so that it is independent of the DSL kernels it checks.
//!
//! * [`attention`]: softmax attention with the `FlashAttention` variants of SEEDS §5 (scale,
//!   bottom-right causal, GQA/MQA, sliding window, softcap, `ALiBi`, varlen), decode against
//!   a contiguous or paged KV cache, split-KV partials and the LSE merge of SEEDS §3.2, and
//!   the `FlashAttention`-style backward.
//! * [`tssa`]: Token Statistics Self-Attention (SEEDS §1): the non-causal forward exactly as
//!   the authors' code computes it (§1.2), the causal forward (§1.3), the recurrent decode
//!   step, and the analytic backward of both (§1.4).
//! * [`graph`]: graph attention on CSR (SEEDS §2): GAT with `PyG` `GATConv` semantics, GAO,
//!   hGAO with `attn = dot` and `attn = gat`, and cGAO for one graph or a batch of graphs.
//!
//! The port is checked against fixtures written by `scripts/gen_seed_fixtures.py` (which
//! imports the oracle itself) to about 1e-12 relative, and the oracle's own self-tests
//! (split-and-merge equals unsplit, recurrent equals parallel, finite-difference gradients)
//! are ported as Rust tests. Bad inputs return a [`RefError`] naming the function and what
//! is wrong; nothing here panics on user input.

pub mod attention;
pub mod graph;
pub mod tensor;
pub mod tssa;

#[cfg(test)]
mod tests;

pub use tensor::Tensor;

use std::fmt;

/// An invalid input to a reference function: which function, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError {
    /// The reference function that rejected its input, e.g. `"attention_ref"`.
    pub func: &'static str,
    /// What is wrong with the input, e.g. `"q has 4 heads, not a multiple of k's 3 heads"`.
    pub msg: String,
}

impl RefError {
    /// A new error raised by `func`.
    pub fn new(func: &'static str, msg: impl Into<String>) -> Self {
        Self {
            func,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.func, self.msg)
    }
}

impl std::error::Error for RefError {}

/// Result of a reference function.
pub type RefResult<T> = Result<T, RefError>;

/// Numerically stable softmax of `x` in place: `x_i <- exp(x_i - max x) / sum_j exp(x_j - max x)`
/// (the oracle's `softmax`). Entries equal to `-inf` get weight 0. An empty slice, or one whose
/// entries are all `-inf`, is left as all zeros (a row with nothing to attend to gives 0).
pub(crate) fn softmax_in_place(x: &mut [f64]) {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Dot product of two equally long slices.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
