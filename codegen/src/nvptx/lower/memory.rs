//! Pointer arithmetic, loads and stores, register by register. Masked-off
//! lanes touch no memory (each access is guarded by its mask), and only the
//! owner of an element stores it (threads holding copies do not).

use inkwell::IntPredicate;
use inkwell::values::{BasicValueEnum, IntValue};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::ir::{OpId, ScalarType};
use crate::nvptx::inline_ptx::{PtxInstr, emit, predicated_load, predicated_store};

impl<'ctx> Lowerer<'ctx, '_> {
    pub(super) fn regs_of(&self, l: &Lowered<'ctx>, r: usize) -> BasicValueEnum<'ctx> {
        match l {
            Lowered::Scalar(v) => *v,
            Lowered::Tile(regs, _) => regs[r],
        }
    }

    /// What the op's first operand (a pointer or pointer tile) points to.
    fn pointee(&self, data: &crate::ir::OpData) -> Result<ScalarType, NvptxError> {
        let (pointee, _) =
            self.tf.body.ty(data.operands[0]).pointee().ok_or_else(|| {
                err_at(&data.loc, data.kind, "the first operand is not a pointer")
            })?;
        Ok(pointee)
    }

    /// `v` as an integer of its width (floats are bit-cast).
    fn as_bits(&mut self, v: BasicValueEnum<'ctx>) -> Result<IntValue<'ctx>, NvptxError> {
        Ok(match v {
            BasicValueEnum::IntValue(i) => i,
            BasicValueEnum::FloatValue(f) => {
                let bits = f.get_type().get_bit_width();
                let t = std::num::NonZero::new(bits)
                    .and_then(|b| self.ctx.custom_width_int_type(b).ok())
                    .ok_or_else(|| NvptxError(format!("internal: no {bits}-bit integer type")))?;
                self.b
                    .build_bit_cast(f, t, "")
                    .map_err(llvm)?
                    .into_int_value()
            }
            BasicValueEnum::PointerValue(p) => self
                .b
                .build_ptr_to_int(p, self.ctx.i64_type(), "")
                .map_err(llvm)?,
            other => {
                return Err(NvptxError(format!(
                    "internal: cannot move a {other:?} through a predicated access"
                )));
            }
        })
    }

    /// `cond ? *ptr : otherwise` with one predicated `ld.global`.
    fn predicated_load(
        &mut self,
        instr: PtxInstr,
        ptr: inkwell::values::PointerValue<'ctx>,
        cond: IntValue<'ctx>,
        otherwise: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let other_bits = self.as_bits(otherwise)?;
        let got = emit(
            self.ctx,
            &self.b,
            self.arch,
            instr,
            Some(other_bits.get_type().into()),
            &[ptr.into(), cond.into(), other_bits.into()],
        )?
        .expect("a load returns its value");
        Ok(match otherwise {
            BasicValueEnum::IntValue(_) => got,
            BasicValueEnum::PointerValue(p) => self
                .b
                .build_int_to_ptr(got.into_int_value(), p.get_type(), "")
                .map_err(llvm)?
                .into(),
            other => self
                .b
                .build_bit_cast(got, other.get_type(), "")
                .map_err(llvm)?,
        })
    }

    /// `if cond { *ptr = val }` with one predicated `st.global`.
    fn predicated_store(
        &mut self,
        instr: PtxInstr,
        ptr: inkwell::values::PointerValue<'ctx>,
        val: BasicValueEnum<'ctx>,
        cond: IntValue<'ctx>,
    ) -> Result<(), NvptxError> {
        let bits = self.as_bits(val)?;
        emit(
            self.ctx,
            &self.b,
            self.arch,
            instr,
            None,
            &[ptr.into(), bits.into(), cond.into()],
        )?;
        Ok(())
    }

    pub(super) fn addptr(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let elem_t = scalar_llvm(self.ctx, self.pointee(&data)?);
        let (p, off) = (self.get(data.operands[0]), self.get(data.operands[1]));
        let i64t = self.ctx.i64_type();
        let one = |this: &mut Self,
                   p: BasicValueEnum<'ctx>,
                   o: BasicValueEnum<'ctx>|
         -> Result<BasicValueEnum<'ctx>, NvptxError> {
            let o64 = this
                .b
                .build_int_s_extend_or_bit_cast(o.into_int_value(), i64t, "")
                .map_err(llvm)?;
            Ok(
                super::super::kernel::gep(&this.b, elem_t, p.into_pointer_value(), &[o64], "")?
                    .into(),
            )
        };
        let result = match (&p, &off) {
            (Lowered::Scalar(pv), Lowered::Scalar(ov)) => Lowered::Scalar(one(self, *pv, *ov)?),
            (Lowered::Tile(regs, d), _) | (_, Lowered::Tile(regs, d)) => {
                let (n, d) = (regs.len(), d.clone());
                let mut out = Vec::with_capacity(n);
                for r in 0..n {
                    let (pv, ov) = (self.regs_of(&p, r), self.regs_of(&off, r));
                    out.push(one(self, pv, ov)?);
                }
                Lowered::Tile(out, d)
            }
        };
        self.set(data.results[0], result);
        Ok(())
    }

    /// `if cond { then() } else { otherwise }` as a value, in straight-line blocks.
    pub(super) fn guarded(
        &mut self,
        cond: IntValue<'ctx>,
        then: impl FnOnce(&mut Self) -> Result<BasicValueEnum<'ctx>, NvptxError>,
        otherwise: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let from = self.b.get_insert_block().expect("positioned");
        let then_bb = self.ctx.append_basic_block(self.function, "masked.then");
        let cont = self.ctx.append_basic_block(self.function, "masked.cont");
        self.b
            .build_conditional_branch(cond, then_bb, cont)
            .map_err(llvm)?;
        self.b.position_at_end(then_bb);
        let v = then(self)?;
        let then_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(cont).map_err(llvm)?;
        self.b.position_at_end(cont);
        let phi = self.b.build_phi(v.get_type(), "").map_err(llvm)?;
        phi.add_incoming(&[(&v, then_end), (&otherwise, from)]);
        Ok(phi.as_basic_value())
    }

    /// Runs `then` only when `cond` holds.
    pub(super) fn when(
        &mut self,
        cond: IntValue<'ctx>,
        then: impl FnOnce(&mut Self) -> Result<(), NvptxError>,
    ) -> Result<(), NvptxError> {
        let then_bb = self.ctx.append_basic_block(self.function, "store.then");
        let cont = self.ctx.append_basic_block(self.function, "store.cont");
        self.b
            .build_conditional_branch(cond, then_bb, cont)
            .map_err(llvm)?;
        self.b.position_at_end(then_bb);
        then(self)?;
        self.b.build_unconditional_branch(cont).map_err(llvm)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    pub(super) fn load(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let pointee = self.pointee(&data)?;
        let elem_t = scalar_llvm(self.ctx, pointee);
        let p = self.get(data.operands[0]);
        let mask = data.operands.get(1).map(|&m| self.get(m));
        let other = data.operands.get(2).map(|&o| self.get(o));
        let zero = elem_t.const_zero();
        let pointee_bits = pointee.bits();
        let n = match &p {
            Lowered::Tile(regs, _) => regs.len(),
            Lowered::Scalar(_) => 1,
        };
        let mut out = Vec::with_capacity(n);
        for r in 0..n {
            let ptr = self.regs_of(&p, r).into_pointer_value();
            let v = match &mask {
                None => self.b.build_load(elem_t, ptr, "").map_err(llvm)?,
                Some(m) => {
                    let cond = self.regs_of(m, r).into_int_value();
                    let otherwise = other.as_ref().map_or(zero, |o| self.regs_of(o, r));
                    match predicated_load(pointee_bits) {
                        Some(instr) => self.predicated_load(instr, ptr, cond, otherwise)?,
                        None => self.guarded(
                            cond,
                            |this| this.b.build_load(elem_t, ptr, "").map_err(llvm),
                            otherwise,
                        )?,
                    }
                }
            };
            out.push(v);
        }
        let result = match p {
            Lowered::Tile(_, d) => Lowered::Tile(out, d),
            Lowered::Scalar(_) => Lowered::Scalar(out[0]),
        };
        self.set(data.results[0], result);
        Ok(())
    }

    pub(super) fn store(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let p = self.get(data.operands[0]);
        let v = self.get(data.operands[1]);
        let mask = data.operands.get(2).map(|&m| self.get(m));
        let i32t = self.ctx.i32_type();
        match &p {
            Lowered::Scalar(ptr) => {
                // A scalar store: every thread holds the value; thread 0 writes it.
                let first = self
                    .b
                    .build_int_compare(IntPredicate::EQ, self.tid, i32t.const_zero(), "")
                    .map_err(llvm)?;
                let cond = match &mask {
                    Some(m) => self
                        .b
                        .build_and(first, self.regs_of(m, 0).into_int_value(), "")
                        .map_err(llvm)?,
                    None => first,
                };
                let (ptr, val) = (ptr.into_pointer_value(), self.regs_of(&v, 0));
                self.when(cond, |this| {
                    this.b.build_store(ptr, val).map(|_| ()).map_err(llvm)
                })
            }
            Lowered::Tile(regs, d) => {
                let (n, d) = (regs.len(), d.clone());
                let bits = self.pointee(&data)?.bits();
                for r in 0..n {
                    if r as u64 & d.dup_reg_mask != 0 {
                        continue; // a copy of an element another register stores
                    }
                    let mut cond = d.owner;
                    if let Some(m) = &mask {
                        cond = self
                            .b
                            .build_and(cond, self.regs_of(m, r).into_int_value(), "")
                            .map_err(llvm)?;
                    }
                    let (ptr, val) = (
                        self.regs_of(&p, r).into_pointer_value(),
                        self.regs_of(&v, r),
                    );
                    match predicated_store(bits) {
                        Some(instr) => self.predicated_store(instr, ptr, val, cond)?,
                        None => self.when(cond, |this| {
                            this.b.build_store(ptr, val).map(|_| ()).map_err(llvm)
                        })?,
                    }
                }
                Ok(())
            }
        }
    }
}
