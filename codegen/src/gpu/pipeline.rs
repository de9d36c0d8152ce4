//! The GPU pipeline, in order, in one function (the tile pipeline and
//! specialization ran before; the NVPTX lowering runs after):
//!
//! 1. [`assign`](super::assign) (`convert-to-gpu`): a layout for every tile value;
//! 2. [`remove_conversions`](super::remove_conversions): drop conversions
//!    that move nothing or that recomputation avoids, then DCE;
//! 3. [`coalesce`](super::coalesce): the vector width of each load and store;
//! 4. [`shared_memory`](super::shared_memory): shared memory per op, and in total.
//!
//! Barriers are placed by the lowering: every shared-memory exchange
//! synchronizes before it writes (earlier readers are done) and between its
//! writes and its reads. In debug builds the verifier runs after each pass.

use crate::arch::Arch;
use crate::ir::{Func, verify_module};
use crate::passes::pipeline::PassError;

use super::{assign, coalesce, remove_conversions, shared_memory};

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
    // Every target lowers dot through SIMT FMAs for now; tensor-core layouts
    // (mma.sync on sm_80+, m16n8k8 on sm_75) will be chosen here by `arch`.
    let _ = arch;
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
    assign::run(f, num_warps)?;
    check(f, assign::NAME)?;
    remove_conversions::run(f)?;
    check(f, remove_conversions::NAME)?;
    coalesce::run(f)?;
    let shared_bytes = shared_memory::run(f)?;
    check(f, shared_memory::NAME)?;
    Ok(GpuKernelInfo { shared_bytes })
}
