//! The NVPTX backend (cargo feature `llvm`): LLVM 22 through inkwell,
//! linked dynamically.
//!
//! - [`target`]: the GPU architectures tilefuse targets and their LLVM
//!   target machines (the PTX ISA version is the minimum each needs, as LLVM
//!   chooses it; the text is never edited afterwards).
//! - [`intrinsics`]: the NVVM intrinsics the lowering uses, each looked up
//!   with `Intrinsic::find`, a missing one being an error.
//! - [`inline_ptx`]: the catalogue of special instructions emitted as
//!   inline PTX, each with the oldest architecture that has it.
//! - [`kernel`]: declaring a kernel entry (the `ptx_kernel` calling
//!   convention and launch bounds).
//! - [`emit`]: O3 and PTX emission, with the checks every PTX must pass.
//! - [`smoke`]: a minimal hand-built kernel for end-to-end checks.
//! - [`ptxas`]: finding and running `ptxas` to assemble PTX and read its
//!   register and spill report.
//!
//! - [`lower`]: tile IR (after the GPU dialect's passes) to LLVM IR.
//! - [`prebuild`]: PTX for every declared configuration of bundled kernels.

pub mod emit;
pub mod inline_ptx;
pub mod intrinsics;
pub mod kernel;
pub mod lower;
pub mod prebuild;
pub mod ptxas;
pub mod smoke;
pub mod target;

pub use emit::emit_ptx;
pub use target::Arch;

/// An error of the NVPTX backend, saying what failed and what would help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("nvptx: {0}")]
pub struct NvptxError(pub String);

#[cfg(test)]
mod tests;
