//! `tile.reduce` of a 1-d tile to a scalar: the thread's own registers, then
//! the lanes of a warp by butterfly shuffles (`shfl.sync.bfly`), then the
//! warps through shared memory between two barriers. Copies (registers,
//! lanes or warps with a zero layout basis) are skipped, so every element
//! counts once; the result is the same in every thread.

use inkwell::values::{BasicValueEnum, IntValue};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::ir::{Attr, OpId, ScalarType};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sum,
    Prod,
    Max,
    Min,
}

impl<'ctx> Lowerer<'ctx, '_> {
    fn combine(
        &mut self,
        kind: Kind,
        float: bool,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        Ok(match (kind, float) {
            (Kind::Sum, true) => self
                .b
                .build_float_add(a.into_float_value(), b.into_float_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Prod, true) => self
                .b
                .build_float_mul(a.into_float_value(), b.into_float_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Sum, false) => self
                .b
                .build_int_add(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Prod, false) => self
                .b
                .build_int_mul(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Max, true) => self.call_overloaded("llvm.maximum", a.get_type(), &[a, b])?,
            (Kind::Min, true) => self.call_overloaded("llvm.minimum", a.get_type(), &[a, b])?,
            (Kind::Max, false) => self.call_overloaded("llvm.smax", a.get_type(), &[a, b])?,
            (Kind::Min, false) => self.call_overloaded("llvm.smin", a.get_type(), &[a, b])?,
        })
    }

    pub(super) fn reduce(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let kind = match data.attr("kind").and_then(Attr::as_str) {
            Some("sum") => Kind::Sum,
            Some("prod") => Kind::Prod,
            Some("max") => Kind::Max,
            Some("min") => Kind::Min,
            other => {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("a {other:?} reduction is not lowered to NVPTX yet"),
                ));
            }
        };
        let elem = self
            .tf
            .body
            .ty(data.operands[0])
            .scalar_elem()
            .unwrap_or(ScalarType::I1);
        let (float, shfl) = match elem {
            ScalarType::F32 => (true, "llvm.nvvm.shfl.sync.bfly.f32"),
            ScalarType::I32 => (false, "llvm.nvvm.shfl.sync.bfly.i32"),
            other => {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("reductions of {other} are not lowered yet; cast to f32 or i32 first"),
                ));
            }
        };
        let Lowered::Tile(regs, d) = self.get(data.operands[0]) else {
            return Err(err_at(&data.loc, data.kind, "a reduction of a scalar"));
        };
        // 1. The thread's distinct registers.
        let mut acc: Option<BasicValueEnum<'ctx>> = None;
        for (r, &v) in regs.iter().enumerate() {
            if r as u64 & d.dup_reg_mask != 0 {
                continue;
            }
            acc = Some(match acc {
                None => v,
                Some(a) => self.combine(kind, float, a, v)?,
            });
        }
        let mut acc = acc.expect("register 0 is never a copy");
        // 2. Lanes that hold other elements, by butterfly shuffles.
        let i32t = self.ctx.i32_type();
        if !d.lane_axis_bits.is_empty() {
            let f = super::super::intrinsics::declare(&self.module, shfl)?;
            for &bit in &d.lane_axis_bits {
                let partner = self
                    .b
                    .build_call(
                        f,
                        &[
                            i32t.const_all_ones().into(),
                            acc.into(),
                            i32t.const_int(1 << bit, false).into(),
                            i32t.const_int(0x1f, false).into(),
                        ],
                        "",
                    )
                    .map_err(llvm)?
                    .try_as_basic_value()
                    .unwrap_basic();
                acc = self.combine(kind, float, acc, partner)?;
            }
        }
        // 3. Warps that hold other elements, through shared memory.
        if !d.warp_axis_bits.is_empty() {
            acc = self.across_warps(kind, float, acc, d.dup_warp_mask)?;
        }
        self.set(data.results[0], Lowered::Scalar(acc));
        Ok(())
    }

    fn barrier(&mut self) -> Result<(), NvptxError> {
        let f = super::super::intrinsics::declare(&self.module, super::super::intrinsics::BARRIER)?;
        self.b
            .build_call(f, &[self.ctx.i32_type().const_zero().into()], "")
            .map_err(llvm)?;
        Ok(())
    }

    fn across_warps(
        &mut self,
        kind: Kind,
        float: bool,
        acc: BasicValueEnum<'ctx>,
        dup_warp_mask: u64,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let scratch = self.scratch();
        let i32t = self.ctx.i32_type();
        let i64t = self.ctx.i64_type();
        let arr = i64t.array_type(self.opts.num_warps);
        let slot = |this: &mut Self,
                    w: IntValue<'ctx>|
         -> Result<inkwell::values::PointerValue<'ctx>, NvptxError> {
            super::super::kernel::gep(
                &this.b,
                arr,
                scratch.as_pointer_value(),
                &[i32t.const_zero(), w],
                "",
            )
        };
        // Lane 0 of each warp publishes its warp's partial result.
        let lane0 = self
            .b
            .build_int_compare(inkwell::IntPredicate::EQ, self.lane, i32t.const_zero(), "")
            .map_err(llvm)?;
        let then_bb = self.ctx.append_basic_block(self.function, "reduce.publish");
        let cont = self
            .ctx
            .append_basic_block(self.function, "reduce.published");
        self.b
            .build_conditional_branch(lane0, then_bb, cont)
            .map_err(llvm)?;
        self.b.position_at_end(then_bb);
        let mine = slot(self, self.warp)?;
        self.b.build_store(mine, acc).map_err(llvm)?;
        self.b.build_unconditional_branch(cont).map_err(llvm)?;
        self.b.position_at_end(cont);
        self.barrier()?;
        let mut total: Option<BasicValueEnum<'ctx>> = None;
        for w in 0..self.opts.num_warps as u64 {
            if w & dup_warp_mask != 0 {
                continue;
            }
            let p = slot(self, i32t.const_int(w, false))?;
            let v = self.b.build_load(acc.get_type(), p, "").map_err(llvm)?;
            total = Some(match total {
                None => v,
                Some(t) => self.combine(kind, float, t, v)?,
            });
        }
        // Nobody may overwrite the scratch before everyone has read it.
        self.barrier()?;
        Ok(total.expect("warp 0 is never a copy"))
    }
}
