//! O3 and PTX emission, with the checks every emitted PTX must pass.

use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::FileType;

use super::NvptxError;
use super::target::{Arch, TRIPLE, target_machine};

/// Optimizes `module` at O3 for `arch` and returns its PTX text.
///
/// The data layout comes from the target machine. Fails when the module
/// does not verify, or when the PTX calls an LLVM function that does not
/// exist on the GPU (`.extern .func llvm.*`: an intrinsic NVPTX could not
/// lower, which would fail only at load time otherwise).
pub fn emit_ptx(module: &Module<'_>, arch: Arch) -> Result<String, NvptxError> {
    let machine = target_machine(arch)?;
    module.set_triple(&inkwell::targets::TargetTriple::create(TRIPLE));
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    module.verify().map_err(|e| {
        NvptxError(format!(
            "the LLVM module does not verify: {}",
            e.to_string().trim()
        ))
    })?;
    module
        .run_passes("default<O3>", &machine, PassBuilderOptions::create())
        .map_err(|e| NvptxError(format!("LLVM's O3 pipeline failed: {e}")))?;
    let buffer = machine
        .write_to_memory_buffer(module, FileType::Assembly)
        .map_err(|e| NvptxError(format!("PTX emission for {} failed: {e}", arch.name())))?;
    let ptx = String::from_utf8(buffer.as_slice().to_vec())
        .map_err(|_| NvptxError("LLVM emitted PTX that is not UTF-8".to_string()))?;
    check_ptx(&ptx)?;
    Ok(ptx)
}

/// The checks of emitted PTX: no calls into LLVM runtime functions.
pub fn check_ptx(ptx: &str) -> Result<(), NvptxError> {
    if let Some(line) = ptx
        .lines()
        .find(|l| l.contains(".extern .func") && l.contains("llvm."))
    {
        return Err(NvptxError(format!(
            "the PTX declares an LLVM function the GPU does not have: `{}`",
            line.trim()
        )));
    }
    Ok(())
}

/// The `.version` of a PTX text (`7.0`).
pub fn ptx_version(ptx: &str) -> Option<&str> {
    ptx.lines()
        .find_map(|l| l.trim().strip_prefix(".version ").map(str::trim))
}
