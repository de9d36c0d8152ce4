//! GPU architectures and their LLVM target machines.

use inkwell::OptimizationLevel;
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};

use super::NvptxError;
pub use crate::arch::Arch;

/// The triple of 64-bit CUDA.
pub const TRIPLE: &str = "nvptx64-nvidia-cuda";

/// The LLVM target features of `arch`: its default PTX ISA (the oldest that
/// has the target), except `sm_75`, which gets PTX 6.5, the oldest with
/// `mma.sync.m16n8k8` (CUDA 10.2 drivers and newer).
pub fn features(arch: Arch) -> &'static str {
    match arch {
        Arch::Sm75 => "+ptx65",
        _ => "",
    }
}

/// The LLVM target machine for `arch`, optimizing at O3.
pub fn target_machine(arch: Arch) -> Result<TargetMachine, NvptxError> {
    Target::initialize_nvptx(&InitializationConfig::default());
    let triple = TargetTriple::create(TRIPLE);
    let target = Target::from_triple(&triple).map_err(|e| {
        NvptxError(format!(
            "LLVM has no NVPTX target ({e}); tilefuse needs an LLVM 22 built with NVPTX"
        ))
    })?;
    target
        .create_target_machine(
            &triple,
            arch.name(),
            features(arch),
            OptimizationLevel::Aggressive,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| {
            NvptxError(format!(
                "LLVM cannot create a target machine for {}",
                arch.name()
            ))
        })
}
