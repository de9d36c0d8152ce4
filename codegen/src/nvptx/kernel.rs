//! Declaring kernel entry points: the `ptx_kernel` calling convention
//! (LLVM 22 marks kernels by calling convention, not by `nvvm.annotations`)
//! and launch bounds through the `nvvm.maxntid` function attribute.

use inkwell::attributes::AttributeLoc;
use inkwell::module::{Linkage, Module};
use inkwell::types::FunctionType;
use inkwell::values::FunctionValue;

/// LLVM's `ptx_kernel` calling convention number.
pub const PTX_KERNEL_CC: u32 = 71;

/// Adds a kernel `name` of type `ty` (returning void) to `module`, launched
/// with at most `max_threads` threads per CTA.
pub fn declare_kernel<'ctx>(
    module: &Module<'ctx>,
    name: &str,
    ty: FunctionType<'ctx>,
    max_threads: u32,
) -> FunctionValue<'ctx> {
    let f = module.add_function(name, ty, Some(Linkage::External));
    f.set_call_conventions(PTX_KERNEL_CC);
    let bounds = module
        .get_context()
        .create_string_attribute("nvvm.maxntid", &max_threads.to_string());
    f.add_attribute(AttributeLoc::Function, bounds);
    f
}

/// `getelementptr ty, base, indices`: the address of element `indices` of
/// `base`. inkwell marks GEP building `unsafe` because a wrong index makes the
/// *generated* code access memory out of bounds; building it cannot harm
/// this process, and the lowering's masks and bounds are what keep the
/// generated access in range.
#[allow(unsafe_code)]
pub fn gep<'ctx>(
    builder: &inkwell::builder::Builder<'ctx>,
    ty: impl inkwell::types::BasicType<'ctx>,
    base: inkwell::values::PointerValue<'ctx>,
    indices: &[inkwell::values::IntValue<'ctx>],
    name: &str,
) -> Result<inkwell::values::PointerValue<'ctx>, super::NvptxError> {
    // SAFETY: building a GEP instruction only creates IR; see the doc comment.
    unsafe { builder.build_gep(ty, base, indices, name) }
        .map_err(|e| super::NvptxError(format!("cannot build a GEP: {e}")))
}
