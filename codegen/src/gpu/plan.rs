//! A tile's distribution unpacked for code generation: the tile's
//! [`LinearLayout`] (from its encoding and shape) as per-register,
//! per-lane-bit and per-warp-bit coordinates, and which data movements
//! between two distributions stay inside each thread's registers.
//!
//! Element `(c0, c1, ..)` lives in register `r` of the thread whose lane and
//! warp bases, combined by XOR with the basis of `r`, give it. Where the tile is
//! smaller than the layout's footprint some bases are zero: the threads or
//! registers they select hold *copies*, so only the *owner* (every
//! zero-basis bit clear) stores an element, and reductions skip copies.

use super::Encoding;
use crate::layout::{LayoutError, LinearLayout};

/// The constant part of a tile's distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutPlan {
    /// The tile's shape.
    pub shape: Vec<u64>,
    /// Registers per thread.
    pub regs: usize,
    /// The coordinate each register contributes (combined by XOR with the thread's).
    pub reg_coord: Vec<Vec<u64>>,
    /// Register bits with a zero basis: registers with any set are copies.
    pub dup_reg_mask: u64,
    /// The coordinate of each lane bit.
    pub lane_bases: Vec<Vec<u64>>,
    /// The coordinate of each warp bit.
    pub warp_bases: Vec<Vec<u64>>,
}

fn bases(l: &LinearLayout, name: &str, rank: usize) -> Vec<Vec<u64>> {
    (0..l.in_size(name).trailing_zeros() as usize)
        .map(|b| l.basis(name, b).unwrap_or_else(|| vec![0; rank]))
        .collect()
}

fn xor_all<'a>(rank: usize, vs: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut out = vec![0u64; rank];
    for v in vs {
        for (o, x) in out.iter_mut().zip(v) {
            *o ^= x;
        }
    }
    out
}

/// The bits of `bases` whose basis is all zero, as a mask.
pub fn zero_mask(bases: &[Vec<u64>]) -> u64 {
    bases
        .iter()
        .enumerate()
        .filter(|(_, v)| v.iter().all(|&x| x == 0))
        .fold(0, |m, (b, _)| m | 1 << b)
}

impl LayoutPlan {
    /// The plan for a tile of `shape` in `enc`.
    pub fn new(enc: &Encoding, shape: &[u64]) -> Result<LayoutPlan, LayoutError> {
        let l = enc.to_linear(shape)?;
        let rank = shape.len();
        let reg_bases = bases(&l, "register", rank);
        let regs = l.in_size("register") as usize;
        let reg_coord = (0..regs)
            .map(|r| {
                xor_all(
                    rank,
                    reg_bases
                        .iter()
                        .enumerate()
                        .filter(|(b, _)| r >> b & 1 == 1)
                        .map(|(_, v)| v),
                )
            })
            .collect();
        Ok(LayoutPlan {
            shape: shape.to_vec(),
            regs,
            reg_coord,
            dup_reg_mask: zero_mask(&reg_bases),
            lane_bases: bases(&l, "lane", rank),
            warp_bases: bases(&l, "warp", rank),
        })
    }

    /// Lane bits that hold copies.
    pub fn dup_lane_mask(&self) -> u64 {
        zero_mask(&self.lane_bases)
    }

    /// Warp bits that hold copies.
    pub fn dup_warp_mask(&self) -> u64 {
        zero_mask(&self.warp_bases)
    }

    /// Whether register `r` is a copy of another register.
    pub fn is_dup_reg(&self, r: usize) -> bool {
        r as u64 & self.dup_reg_mask != 0
    }
}

/// How each register of `dst` is read from `src` without leaving the
/// thread, if it can be: `src_offset(c)` is the source's row-major offset of
/// source coordinate `c`, `dst_to_src(c)` the source offset that destination
/// coordinate `c` reads (both linear over GF(2): bit fields of power-of-two
/// shapes). Works when every lane and warp bit moves both tiles alike;
/// returns the source register of each destination register.
pub fn register_remap(
    src: &LayoutPlan,
    dst: &LayoutPlan,
    src_offset: impl Fn(&[u64]) -> u64,
    dst_to_src: impl Fn(&[u64]) -> u64,
) -> Option<Vec<usize>> {
    for (db, sb) in [
        (&dst.lane_bases, &src.lane_bases),
        (&dst.warp_bases, &src.warp_bases),
    ] {
        if db.len() != sb.len() {
            return None;
        }
        for (d, s) in db.iter().zip(sb) {
            if dst_to_src(d) != src_offset(s) {
                return None;
            }
        }
    }
    let mut by_offset = std::collections::HashMap::new();
    for (r, c) in src.reg_coord.iter().enumerate() {
        if !src.is_dup_reg(r) {
            by_offset.entry(src_offset(c)).or_insert(r);
        }
    }
    dst.reg_coord
        .iter()
        .map(|c| by_offset.get(&dst_to_src(c)).copied())
        .collect()
}

/// `sum(c[d] * w[d])`: an offset from coordinates and per-dimension weights.
pub fn weighted(c: &[u64], w: &[u64]) -> u64 {
    c.iter().zip(w).map(|(a, b)| a * b).sum()
}

/// Row-major strides of `shape`, in elements.
pub fn row_major(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// For the ops that only move elements (`convert_layout`, `broadcast`,
/// `expand_dims`, `trans`, `reshape`): per destination dimension, the weight
/// of its coordinate in the source's row-major offset. `None` for other ops.
pub fn move_weights(
    kind: crate::ir::OpKind,
    attrs: &crate::ir::Attrs,
    src_shape: &[u64],
    dst_shape: &[u64],
) -> Option<Vec<u64>> {
    use crate::ir::OpKind;
    let src_w = row_major(src_shape);
    Some(match kind {
        OpKind::ConvertLayout | OpKind::Reshape => row_major(dst_shape),
        OpKind::Broadcast => (0..dst_shape.len())
            .map(|d| if src_shape[d] == 1 { 0 } else { src_w[d] })
            .collect(),
        OpKind::ExpandDims => {
            let axis = attrs.get("axis").and_then(crate::ir::Attr::as_int)? as usize;
            let mut w = src_w.clone();
            w.insert(axis, 0);
            w
        }
        OpKind::Trans => {
            let perm = attrs.get("perm").and_then(crate::ir::Attr::as_ints)?;
            perm.iter().map(|&p| src_w[p as usize]).collect()
        }
        _ => return None,
    })
}
