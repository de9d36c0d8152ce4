//! The per-element-type launches behind [`super::Feature`] (sealed: only this crate
//! implements it). Each takes its kernel's argument tuple and the tile sizes to pick.

use crate::kernels::graph::{bf16_features, f16_features, f32_features};
use crate::{Device, Error, Grid, Result, Tensor, bf16, f16};

type In<'a, T> = &'a Tensor<T>;
type Out<'a, T> = &'a mut Tensor<T>;
type F32<'a> = &'a Tensor<f32>;
type I32<'a> = &'a Tensor<i32>;
/// `linear_nt`: `(x, w, h, m, n, k)`.
pub type Linear<'a, T> = (In<'a, T>, F32<'a>, Out<'a, T>, i32, i32, i32);
/// `gat_aggregate`: `(h, att_src, att_dst, bias, rowptr, col, out, heads, out, slope,
/// concat)`.
pub type Gat<'a, T> = (
    In<'a, T>,
    F32<'a>,
    F32<'a>,
    F32<'a>,
    I32<'a>,
    I32<'a>,
    Out<'a, T>,
    i32,
    i32,
    f32,
    bool,
);
/// `gao`: `(x, rowptr, col, z, d)`.
pub type Gao<'a, T> = (In<'a, T>, I32<'a>, I32<'a>, Out<'a, T>, i32);
/// `hgao_scores`: `(x, p, y, n, d)`.
pub type Scores<'a, T> = (In<'a, T>, F32<'a>, Out<'a, f32>, i32, i32);
/// `hgao_dot`: `(x, y, sel, z, d)`.
pub type HgaoDot<'a, T> = (In<'a, T>, F32<'a>, I32<'a>, Out<'a, T>, i32);
/// `hgao_gat`: `(x, y, sel, w, a_src, a_dst, z, d, out)`.
pub type HgaoGat<'a, T> = (
    In<'a, T>,
    F32<'a>,
    I32<'a>,
    F32<'a>,
    F32<'a>,
    F32<'a>,
    Out<'a, T>,
    i32,
    i32,
);
/// `cgao_gram`: `(x, graph_ptr, part, d, splits)`.
pub type Gram<'a, T> = (In<'a, T>, I32<'a>, Out<'a, f32>, i32, i32);
/// `cgao_apply`: `(x, graph_ptr, s, z, d)`.
pub type Apply<'a, T> = (In<'a, T>, I32<'a>, F32<'a>, Out<'a, T>, i32);

/// The graph kernels' launches on features of type `Self`.
pub trait Launch: crate::Element + Sized {
    /// `linear_nt` with `(BM, BN, BK) = tiles`.
    fn linear(
        dev: &Device,
        tiles: (usize, usize, usize),
        grid: Grid,
        a: Linear<'_, Self>,
    ) -> Result<()>;
    /// `gat_aggregate` with `BO = bo`.
    fn gat(dev: &Device, bo: usize, grid: Grid, a: Gat<'_, Self>) -> Result<()>;
    /// `gao` with `BD = bd`.
    fn gao(dev: &Device, bd: usize, grid: Grid, a: Gao<'_, Self>) -> Result<()>;
    /// `hgao_scores` with `BD = bd`.
    fn hgao_scores(dev: &Device, bd: usize, grid: Grid, a: Scores<'_, Self>) -> Result<()>;
    /// `hgao_dot` with `KP = kp`, `BD = bd`.
    fn hgao_dot(dev: &Device, kp: usize, bd: usize, grid: Grid, a: HgaoDot<'_, Self>)
    -> Result<()>;
    /// `hgao_gat` with `KP = kp`, `BD = bd`.
    fn hgao_gat(dev: &Device, kp: usize, bd: usize, grid: Grid, a: HgaoGat<'_, Self>)
    -> Result<()>;
    /// `cgao_gram` with `BD = bd`.
    fn cgao_gram(dev: &Device, bd: usize, grid: Grid, a: Gram<'_, Self>) -> Result<()>;
    /// `cgao_apply` with `BD = bd`.
    fn cgao_apply(dev: &Device, bd: usize, grid: Grid, a: Apply<'_, Self>) -> Result<()>;
}

macro_rules! impl_launch {
    ($t:ty, $m:ident) => {
        impl Launch for $t {
            fn linear(
                dev: &Device,
                tiles: (usize, usize, usize),
                grid: Grid,
                a: Linear<'_, Self>,
            ) -> Result<()> {
                match tiles {
                    (32, 32, 16) => $m::linear_nt::<32, 32, 16>::launch(dev, grid, a),
                    (64, 64, 32) => $m::linear_nt::<64, 64, 32>::launch(dev, grid, a),
                    (bm, bn, bk) => Err(Error::Invalid(format!(
                        "graph: internal error, no linear_nt kernel for BM = {bm}, BN = {bn}, \
                         BK = {bk}"
                    ))),
                }
            }
            fn gat(dev: &Device, bo: usize, grid: Grid, a: Gat<'_, Self>) -> Result<()> {
                with_width!(bo, BO => $m::gat_aggregate::<32, BO>::launch(dev, grid, a))
            }
            fn gao(dev: &Device, bd: usize, grid: Grid, a: Gao<'_, Self>) -> Result<()> {
                with_width!(bd, BD => $m::gao::<32, BD>::launch(dev, grid, a))
            }
            fn hgao_scores(
                dev: &Device,
                bd: usize,
                grid: Grid,
                a: Scores<'_, Self>,
            ) -> Result<()> {
                with_width!(bd, BD => $m::hgao_scores::<32, BD>::launch(dev, grid, a))
            }
            fn hgao_dot(
                dev: &Device,
                kp: usize,
                bd: usize,
                grid: Grid,
                a: HgaoDot<'_, Self>,
            ) -> Result<()> {
                with_width!(kp, KP => with_width!(bd, BD =>
                    $m::hgao_dot::<KP, BD>::launch(dev, grid, a)))
            }
            fn hgao_gat(
                dev: &Device,
                kp: usize,
                bd: usize,
                grid: Grid,
                a: HgaoGat<'_, Self>,
            ) -> Result<()> {
                with_width!(kp, KP => with_width!(bd, BD =>
                    $m::hgao_gat::<KP, BD>::launch(dev, grid, a)))
            }
            fn cgao_gram(dev: &Device, bd: usize, grid: Grid, a: Gram<'_, Self>) -> Result<()> {
                with_width!(bd, BD =>
                    $m::cgao_gram::<{ super::CGAO_BN }, BD>::launch(dev, grid, a))
            }
            fn cgao_apply(
                dev: &Device,
                bd: usize,
                grid: Grid,
                a: Apply<'_, Self>,
            ) -> Result<()> {
                with_width!(bd, BD =>
                    $m::cgao_apply::<{ super::CGAO_BN }, BD>::launch(dev, grid, a))
            }
        }
    };
}

impl_launch!(f32, f32_features);
impl_launch!(f16, f16_features);
impl_launch!(bf16, bf16_features);
