//! The GPU pipeline, in order, in one function (the tile pipeline and
//! specialization ran before; the NVPTX lowering runs after):
//!
//! 1. [`accelerate_dot`](super::accelerate_dot): tensor-core (`mma.sync`)
//!    layouts for the dots that can use them, by `arch`;
//! 2. [`assign`](super::assign) (`convert-to-gpu`): a layout for every tile value;
//! 3. [`remove_conversions`](super::remove_conversions): drop conversions
//!    that move nothing or that recomputation avoids, then DCE;
//! 4. [`coalesce`](super::coalesce): the vector width of each load and store;
//! 5. [`shared_memory`](super::shared_memory): shared memory per op, and in total;
//! 6. [`barriers`](super::barriers) (`insert-barriers`): a `tile.barrier`
//!    before each user of shared memory that an earlier access of its
//!    buffer may still be in flight for (a dataflow over loops and
//!    branches; the first user of a kernel needs none).
//!
//! The lowering emits each user's own barriers (between its writes and its
//! reads, between the steps of a scan) and lowers `tile.barrier`; the
//! barriers before a user are this pass's. In debug builds the verifier
//! runs after each pass.

use crate::arch::Arch;
use crate::ir::{Func, verify_module};
use crate::passes::pipeline::PassError;

use super::{accelerate_dot, assign, barriers, coalesce, remove_conversions, shared_memory};

/// What the GPU pipeline decided for one kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuKernelInfo {
    /// Bytes of (dynamic) shared memory the kernel needs.
    pub shared_bytes: u64,
}

/// Runs the GPU passes on kernel `f` for `arch` with `num_warps` warps.
pub fn run_gpu_pipeline(
    f: &mut Func,
    arch: Arch,
    num_warps: u32,
) -> Result<GpuKernelInfo, PassError> {
    let check = |f: &Func, pass: &'static str| -> Result<(), PassError> {
        if cfg!(debug_assertions) {
            let mut m = crate::ir::Module::new();
            m.funcs.push(f.clone());
            verify_module(&m).map_err(|e| {
                PassError::new(
                    pass,
                    crate::ir::Location::unknown(),
                    format!("invalid IR after the pass: {e}"),
                )
            })?;
        }
        Ok(())
    };
    accelerate_dot::run(f, arch, num_warps)?;
    check(f, accelerate_dot::NAME)?;
    assign::run(f, num_warps)?;
    check(f, assign::NAME)?;
    remove_conversions::run(f)?;
    check(f, remove_conversions::NAME)?;
    coalesce::run(f)?;
    let shared_bytes = shared_memory::run(f, arch.resident_shared_budget())?;
    check(f, shared_memory::NAME)?;
    barriers::run(f)?;
    check(f, barriers::NAME)?;
    Ok(GpuKernelInfo { shared_bytes })
}
