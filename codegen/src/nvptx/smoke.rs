//! A minimal hand-built kernel, `add_one`: `p[i] += 1` for
//! `i = ctaid.x * ntid.x + tid.x < n`, then a CTA barrier. The backend's tests
//! emit it for every architecture and run it through ptxas, and
//! `examples/emit_add_one.rs` + `scripts/gpu/run_add_one.py` run it on a real
//! GPU: the smallest end-to-end check of kernel marking, launch bounds,
//! intrinsics and PTX versions, independent of the tile-IR lowering.

use inkwell::AddressSpace;
use inkwell::context::Context;

use super::NvptxError;
use super::intrinsics::{self, SpecialReg};
use super::kernel::{declare_kernel, gep};

/// The threads-per-CTA bound `add_one` is declared with (`.maxntid`).
pub const ADD_ONE_MAX_THREADS: u32 = 256;

/// Builds the `add_one` kernel (parameters: a global `f32*`, an `i32` count).
pub fn add_one_module(ctx: &Context) -> Result<inkwell::module::Module<'_>, NvptxError> {
    let llvm = |e: inkwell::builder::BuilderError| NvptxError(e.to_string());
    let module = ctx.create_module("add_one");
    let (f32t, i32t) = (ctx.f32_type(), ctx.i32_type());
    let ptr = ctx.ptr_type(AddressSpace::from(1u16));
    let f = declare_kernel(
        &module,
        "add_one",
        ctx.void_type().fn_type(&[ptr.into(), i32t.into()], false),
        ADD_ONE_MAX_THREADS,
    );
    let (entry, body, exit) = (
        ctx.append_basic_block(f, "entry"),
        ctx.append_basic_block(f, "body"),
        ctx.append_basic_block(f, "exit"),
    );
    let b = ctx.create_builder();
    b.position_at_end(entry);
    let read = |reg| -> Result<inkwell::values::IntValue<'_>, NvptxError> {
        let call = b
            .build_call(intrinsics::special_reg(&module, reg)?, &[], "")
            .map_err(llvm)?;
        Ok(call.try_as_basic_value().unwrap_basic().into_int_value())
    };
    let tid = read(SpecialReg::ThreadId(0))?;
    let ctaid = read(SpecialReg::CtaId(0))?;
    let ntid = read(SpecialReg::NumThreads(0))?;
    let idx = b
        .build_int_add(b.build_int_mul(ctaid, ntid, "").map_err(llvm)?, tid, "idx")
        .map_err(llvm)?;
    let n = f.get_nth_param(1).expect("two params").into_int_value();
    let inside = b
        .build_int_compare(inkwell::IntPredicate::SLT, idx, n, "")
        .map_err(llvm)?;
    b.build_conditional_branch(inside, body, exit)
        .map_err(llvm)?;
    b.position_at_end(body);
    let p = gep(
        &b,
        f32t,
        f.get_nth_param(0).expect("two params").into_pointer_value(),
        &[idx],
        "p",
    )?;
    let v = b.build_load(f32t, p, "v").map_err(llvm)?.into_float_value();
    b.build_store(
        p,
        b.build_float_add(v, f32t.const_float(1.0), "")
            .map_err(llvm)?,
    )
    .map_err(llvm)?;
    b.build_unconditional_branch(exit).map_err(llvm)?;
    b.position_at_end(exit);
    b.build_call(
        intrinsics::declare(&module, intrinsics::BARRIER)?,
        &[i32t.const_zero().into()],
        "",
    )
    .map_err(llvm)?;
    b.build_return(None).map_err(llvm)?;
    Ok(module)
}
