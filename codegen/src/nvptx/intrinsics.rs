//! The NVVM intrinsics the lowering calls, each looked up by name with
//! `Intrinsic::find`; one LLVM does not know is an error naming it, never a
//! silent `.extern .func` in the PTX. Everything else special (mma,
//! ldmatrix, cp.async, wgmma) is inline PTX from the instruction catalogue.

use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::values::FunctionValue;

use super::NvptxError;

/// Special registers read through `llvm.nvvm.read.ptx.sreg.*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialReg {
    /// `%tid.{x,y,z}`: the thread within the CTA.
    ThreadId(u8),
    /// `%ctaid.{x,y,z}`: the CTA within the grid (the program id).
    CtaId(u8),
    /// `%ntid.{x,y,z}`: threads per CTA.
    NumThreads(u8),
    /// `%nctaid.{x,y,z}`: CTAs in the grid (the number of programs).
    NumCtas(u8),
}

impl SpecialReg {
    /// The intrinsic's name.
    pub fn intrinsic_name(self) -> Result<String, NvptxError> {
        let (reg, axis) = match self {
            SpecialReg::ThreadId(a) => ("tid", a),
            SpecialReg::CtaId(a) => ("ctaid", a),
            SpecialReg::NumThreads(a) => ("ntid", a),
            SpecialReg::NumCtas(a) => ("nctaid", a),
        };
        let axis = match axis {
            0 => "x",
            1 => "y",
            2 => "z",
            other => {
                return Err(NvptxError(format!(
                    "special register axis {other} is not 0, 1 or 2"
                )));
            }
        };
        Ok(format!("llvm.nvvm.read.ptx.sreg.{reg}.{axis}"))
    }
}

/// The CTA-wide barrier `bar.sync id`; it takes the barrier id (i32, 0 for
/// the whole CTA).
pub const BARRIER: &str = "llvm.nvvm.barrier.cta.sync.aligned.all";

/// The declaration of the intrinsic `name` (non-overloaded) in `module`.
pub fn declare<'ctx>(module: &Module<'ctx>, name: &str) -> Result<FunctionValue<'ctx>, NvptxError> {
    let intrinsic = Intrinsic::find(name).ok_or_else(|| {
        NvptxError(format!(
            "LLVM does not know the intrinsic `{name}`; this needs LLVM 22"
        ))
    })?;
    intrinsic.get_declaration(module, &[]).ok_or_else(|| {
        NvptxError(format!(
            "cannot declare the intrinsic `{name}` without type parameters"
        ))
    })
}

/// The declaration of the intrinsic reading `reg`.
pub fn special_reg<'ctx>(
    module: &Module<'ctx>,
    reg: SpecialReg,
) -> Result<FunctionValue<'ctx>, NvptxError> {
    declare(module, &reg.intrinsic_name()?)
}
