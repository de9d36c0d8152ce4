//! How a 1-d tile is distributed over a CTA's threads: the blocked linear
//! layout `blocked([N], [1], [32], [num_warps], [0])`, clamped to N.
//!
//! Element `i` lives in register `r` of the thread whose lane and warp bits,
//! combined (XOR) with the basis of `r`, give `i`. When `N` is smaller than the CTA, some
//! lane and warp bits have a zero basis: those threads hold copies, so only
//! the *owner* (those bits zero) may store, and reductions skip the copies.

use inkwell::values::IntValue;

use crate::layout::{LayoutError, blocked};

/// The distribution of a 1-d tile of `n` elements, with the per-thread
/// values computed once at the kernel's entry.
#[derive(Clone, Debug)]
pub(crate) struct Dist<'ctx> {
    /// Registers per thread.
    pub regs: usize,
    /// The coordinate contributed by each register (combined by XOR with the thread's).
    pub reg_coord: Vec<u64>,
    /// Register bits whose basis is zero: registers with any of them set are copies.
    pub dup_reg_mask: u64,
    /// Lane bits that move along the tile (the shuffle partners of a reduction).
    pub lane_axis_bits: Vec<u32>,
    /// Warp bits that move along the tile.
    pub warp_axis_bits: Vec<u32>,
    /// Warps whose index has a copy bit set hold copies.
    pub dup_warp_mask: u64,
    /// The thread's own coordinate (the XOR of its lane and warp bases), i32.
    pub thread_coord: IntValue<'ctx>,
    /// True in the thread that owns its elements (no copy bits set), i1.
    pub owner: IntValue<'ctx>,
}

/// The layout and its constant parts, before the per-thread values exist.
pub(crate) struct DistPlan {
    pub regs: usize,
    pub reg_coord: Vec<u64>,
    pub dup_reg_mask: u64,
    pub lane_bases: Vec<u64>,
    pub warp_bases: Vec<u64>,
}

impl DistPlan {
    /// The plan for `n` elements over `num_warps` warps.
    pub fn new(n: u64, num_warps: u32) -> Result<DistPlan, LayoutError> {
        let layout = blocked(&[n], &[1], &[32], &[num_warps as u64], &[0])?;
        let regs = layout.in_size("register") as usize;
        let bits = |name: &str| -> Vec<u64> {
            (0..layout.in_size(name).trailing_zeros() as usize)
                .map(|b| layout.basis(name, b).map_or(0, |c| c[0]))
                .collect()
        };
        let reg_bases = bits("register");
        let reg_coord = (0..regs as u64)
            .map(|r| {
                reg_bases
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| r >> b & 1 == 1)
                    .fold(0, |acc, (_, &v)| acc ^ v)
            })
            .collect();
        let dup_reg_mask = reg_bases
            .iter()
            .enumerate()
            .filter(|(_, v)| **v == 0)
            .fold(0u64, |m, (b, _)| m | 1 << b);
        Ok(DistPlan {
            regs,
            reg_coord,
            dup_reg_mask,
            lane_bases: bits("lane"),
            warp_bases: bits("warp"),
        })
    }

    /// Lane bits with a zero basis (copies).
    pub fn dup_lane_mask(&self) -> u64 {
        mask_of_zero(&self.lane_bases)
    }

    /// Warp bits with a zero basis (copies).
    pub fn dup_warp_mask(&self) -> u64 {
        mask_of_zero(&self.warp_bases)
    }
}

fn mask_of_zero(bases: &[u64]) -> u64 {
    bases
        .iter()
        .enumerate()
        .filter(|(_, v)| **v == 0)
        .fold(0, |m, (b, _)| m | 1 << b)
}

/// The bits of `bases` that are not zero.
pub(crate) fn axis_bits(bases: &[u64]) -> Vec<u32> {
    bases
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0)
        .map(|(b, _)| b as u32)
        .collect()
}
