//! The per-thread values of a tile's distribution in one kernel: its
//! [`LayoutPlan`] plus the thread's coordinate along each dimension and
//! whether it owns its elements, computed once at the kernel's entry.

use inkwell::values::IntValue;

pub(crate) use crate::gpu::plan::LayoutPlan;

/// A distribution with the per-thread values of one kernel.
#[derive(Clone, Debug)]
pub(crate) struct TileLayout<'ctx> {
    /// The constant part.
    pub plan: LayoutPlan,
    /// The thread's own coordinate along each dimension (i32).
    pub thread_coord: Vec<IntValue<'ctx>>,
    /// True in the thread that owns its elements (no copy bits set), i1.
    pub owner: IntValue<'ctx>,
}

impl std::ops::Deref for TileLayout<'_> {
    type Target = LayoutPlan;
    fn deref(&self) -> &LayoutPlan {
        &self.plan
    }
}
