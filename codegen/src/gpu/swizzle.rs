//! The swizzled shared layout tensor-core operands are staged in for
//! `ldmatrix` (a layout decision, so the allocation pass and the lowering
//! agree on it): the tile is stored with its *source's* fastest dimension
//! contiguous (so the owners write runs of consecutive elements), in rows
//! of 16-byte chunks whose index is `XORed` with the row (Triton's swizzled
//! shared layout, [`crate::layout::swizzled_shared`]): the 8 rows one
//! `ldmatrix` matrix reads then fall in 8 different bank groups.

use crate::gpu::encoding::Encoding;
use crate::ir::ScalarType;

/// How a tile is laid out in shared memory for `ldmatrix`: `cdim` is the
/// contiguous dimension, rows of `row_len` elements, 8-element (16-byte)
/// chunks XOR-swizzled by `(row / per_phase) % max_phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwizzledRows {
    /// The contiguous dimension (0 or 1).
    pub cdim: usize,
    /// Elements per row (the tile's extent along `cdim`).
    pub row_len: u64,
    /// Rows sharing one swizzle phase.
    pub per_phase: u64,
    /// Distinct phases.
    pub max_phase: u64,
}

/// Elements per swizzled chunk (16 bytes of 16-bit elements).
pub const VEC: u64 = 8;

impl SwizzledRows {
    /// The layout for a 16-bit tile of `shape` stored with `cdim` contiguous,
    /// if rows hold whole 16-byte chunks.
    pub fn new(shape: &[u64], cdim: usize) -> Option<SwizzledRows> {
        let row_len = shape[cdim];
        if row_len < VEC || !row_len.is_power_of_two() {
            return None;
        }
        // 128 bytes (all 32 banks) per phase; at most 8 phases.
        let per_phase = (128 / (row_len * 2)).max(1);
        let max_phase = (8 / per_phase).min(row_len / VEC).max(1);
        Some(SwizzledRows {
            cdim,
            row_len,
            per_phase,
            max_phase,
        })
    }

    /// The element offset of tile coordinate `(c0, c1)`: the constant form
    /// of what `swizzled_offset` computes, for the tests.
    #[cfg(test)]
    pub fn offset(&self, c: [u64; 2]) -> u64 {
        let (row, col) = (c[1 - self.cdim], c[self.cdim]);
        let phase = (row / self.per_phase) % self.max_phase;
        row * self.row_len + (((col / VEC) ^ phase) * VEC) + col % VEC
    }
}

/// Whether a conversion of a `elem` tile of `shape` from `src` to `dst`
/// goes through `ldmatrix`: `dst` is a 16-bit dot-operand layout (two
/// elements per register) and the source's contiguous dimension has whole
/// chunks. Returns the shared layout.
pub fn plan(
    src: &Encoding,
    dst: &Encoding,
    elem: ScalarType,
    shape: &[u64],
) -> Option<SwizzledRows> {
    let Encoding::DotOp { k_width: 2, .. } = dst else {
        return None;
    };
    if elem.bytes() != 2 || shape.len() != 2 || shape.iter().any(|&s| s < 8) {
        return None;
    }
    let cdim = match src {
        Encoding::Blocked(b) => b.order[0],
        _ => 1,
    };
    SwizzledRows::new(shape, cdim).or_else(|| SwizzledRows::new(shape, 1 - cdim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swizzled_rows_are_a_permutation_and_spread_a_matrix_over_banks() {
        for (shape, cdim) in [([64, 64], 1), ([64, 32], 1), ([16, 128], 0), ([32, 16], 1)] {
            let sw = SwizzledRows::new(&shape, cdim).unwrap();
            let mut seen = vec![false; (shape[0] * shape[1]) as usize];
            for a in 0..shape[0] {
                for b in 0..shape[1] {
                    let o = sw.offset([a, b]) as usize;
                    assert!(!std::mem::replace(&mut seen[o], true), "{shape:?} {a},{b}");
                }
            }
            // The 8 rows of one ldmatrix matrix (8 elements each, 16 bytes):
            // distinct 16-byte bank groups when a phase covers 128 bytes.
            let groups: std::collections::HashSet<u64> = (0..8)
                .map(|r| {
                    let mut c = [0u64; 2];
                    c[1 - cdim] = r;
                    (sw.offset(c) * 2 / 16) % 8
                })
                .collect();
            assert_eq!(groups.len(), 8, "{shape:?} cdim {cdim}: {sw:?}");
        }
        assert_eq!(SwizzledRows::new(&[64, 4], 1), None);
    }

    #[test]
    fn the_offsets_invert_the_named_swizzled_shared_layout() {
        for (shape, cdim) in [([64, 64], 1), ([64, 32], 0), ([32, 16], 1)] {
            let sw = SwizzledRows::new(&shape, cdim).unwrap();
            let l = crate::layout::swizzled_shared(
                &shape,
                VEC,
                sw.per_phase,
                sw.max_phase,
                &[cdim, 1 - cdim],
            )
            .unwrap();
            for a in 0..shape[0] {
                for b in 0..shape[1] {
                    assert_eq!(l.apply(&[sw.offset([a, b])]).unwrap(), vec![a, b]);
                }
            }
        }
    }
}
