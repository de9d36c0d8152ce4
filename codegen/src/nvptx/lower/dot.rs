//! `tile.dot` through SIMT FMAs: `acc[m, n] + sum_k a[m, k] * b[k, n]`.
//!
//! Both operands are staged row-major in shared memory (A, then B); each
//! thread then runs a loop over `k` that loads, for its accumulator
//! registers, the A elements of its distinct rows and the B elements of its
//! distinct columns, and does one FMA per register. Products accumulate in
//! the accumulator's type (f32, f64, or i32 for i8 inputs), inputs widened
//! first. This is the portable path, for the dots `accelerate-dot` leaves
//! alone; those it accelerates go to [`super::mma`].

use inkwell::values::{BasicValueEnum, IntValue};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::ir::{OpId, ScalarType};

impl<'ctx> Lowerer<'ctx, '_> {
    pub(super) fn dot(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        if let Some(crate::gpu::encoding::Encoding::Mma(_)) = self.layouts.get(&data.results[0]) {
            return self.dot_mma(op);
        }
        let (ra, la) = self.tile_operand(op, 0)?;
        let (rb, lb) = self.tile_operand(op, 1)?;
        let (racc, lacc) = self.tile_operand(op, 2)?;
        let in_elem = self.elem_of(data.operands[0])?;
        let acc_elem = self.elem_of(data.operands[2])?;
        let (m, k) = (la.shape[0], la.shape[1]);
        let n = lb.shape[1];
        if lacc.shape != [m, n] {
            return Err(err_at(&data.loc, data.kind, "internal: accumulator shape"));
        }
        let in_bytes = in_elem.bytes().max(1) as u64;
        let b_base = m * k * in_bytes;
        // Stage A and B.
        self.smem_write(&ra, &la, &[k, 1], 0, in_elem, 0)?;
        self.smem_write(&rb, &lb, &[n, 1], 0, in_elem, b_base)?;
        self.barrier()?;

        let i32t = self.ctx.i32_type();
        // The thread's distinct rows and columns, as offsets into A and B.
        let mut rows: Vec<(u64, IntValue<'ctx>)> = Vec::new();
        let mut cols: Vec<(u64, IntValue<'ctx>)> = Vec::new();
        for r in 0..lacc.regs {
            let [rc, cc] = [lacc.reg_coord[r][0], lacc.reg_coord[r][1]];
            if !rows.iter().any(|(c, _)| *c == rc) {
                let mm = self
                    .b
                    .build_xor(lacc.thread_coord[0], i32t.const_int(rc, false), "")
                    .map_err(llvm)?;
                let off = self
                    .b
                    .build_int_mul(mm, i32t.const_int(k, false), "arow")
                    .map_err(llvm)?;
                rows.push((rc, off));
            }
            if !cols.iter().any(|(c, _)| *c == cc) {
                let nn = self
                    .b
                    .build_xor(lacc.thread_coord[1], i32t.const_int(cc, false), "bcol")
                    .map_err(llvm)?;
                cols.push((cc, nn));
            }
        }

        // for kk in 0..k { acc += a[:, kk] * b[kk, :] }
        let pre = self.b.get_insert_block().expect("positioned");
        let header = self.ctx.append_basic_block(self.function, "dot.k");
        let exit = self.ctx.append_basic_block(self.function, "dot.done");
        self.b.build_unconditional_branch(header).map_err(llvm)?;
        self.b.position_at_end(header);
        let kk = self.b.build_phi(i32t, "kk").map_err(llvm)?;
        kk.add_incoming(&[(&i32t.const_zero(), pre)]);
        let mut phis = Vec::with_capacity(racc.len());
        for &v in &racc {
            let p = self.b.build_phi(v.get_type(), "acc").map_err(llvm)?;
            p.add_incoming(&[(&v, pre)]);
            phis.push(p);
        }
        let kv = kk.as_basic_value().into_int_value();
        let mut a_vals: Vec<(u64, BasicValueEnum<'ctx>)> = Vec::new();
        for (rc, off) in &rows {
            let idx = self.b.build_int_add(*off, kv, "").map_err(llvm)?;
            let p = self.smem_ptr(in_elem, 0, idx)?;
            let v = self
                .b
                .build_load(super::scalar_llvm(self.ctx, in_elem), p, "a")
                .map_err(llvm)?;
            a_vals.push((*rc, self.widen(v, in_elem, acc_elem)?));
        }
        let krow = self
            .b
            .build_int_mul(kv, i32t.const_int(n, false), "")
            .map_err(llvm)?;
        let mut b_vals: Vec<(u64, BasicValueEnum<'ctx>)> = Vec::new();
        for (cc, col) in &cols {
            let idx = self.b.build_int_add(krow, *col, "").map_err(llvm)?;
            let p = self.smem_ptr(in_elem, b_base, idx)?;
            let v = self
                .b
                .build_load(super::scalar_llvm(self.ctx, in_elem), p, "b")
                .map_err(llvm)?;
            b_vals.push((*cc, self.widen(v, in_elem, acc_elem)?));
        }
        let mut next = Vec::with_capacity(phis.len());
        for (r, phi) in phis.iter().enumerate() {
            let [rc, cc] = [lacc.reg_coord[r][0], lacc.reg_coord[r][1]];
            let a = a_vals.iter().find(|(c, _)| *c == rc).expect("row listed").1;
            let b = b_vals
                .iter()
                .find(|(c, _)| *c == cc)
                .expect("column listed")
                .1;
            let acc = phi.as_basic_value();
            let v: BasicValueEnum<'ctx> = if acc_elem.is_float() {
                self.call_overloaded("llvm.fma", acc.get_type(), &[a, b, acc])?
            } else {
                let prod = self
                    .b
                    .build_int_mul(a.into_int_value(), b.into_int_value(), "")
                    .map_err(llvm)?;
                self.b
                    .build_int_add(acc.into_int_value(), prod, "")
                    .map_err(llvm)?
                    .into()
            };
            next.push(v);
        }
        let k1 = self
            .b
            .build_int_add(kv, i32t.const_int(1, false), "")
            .map_err(llvm)?;
        let more = self
            .b
            .build_int_compare(inkwell::IntPredicate::ULT, k1, i32t.const_int(k, false), "")
            .map_err(llvm)?;
        let latch = self.b.get_insert_block().expect("positioned");
        kk.add_incoming(&[(&k1, latch)]);
        for (p, v) in phis.iter().zip(&next) {
            p.add_incoming(&[(v, latch)]);
        }
        self.b
            .build_conditional_branch(more, header, exit)
            .map_err(llvm)?;
        self.b.position_at_end(exit);
        self.set(data.results[0], Lowered::Tile(next, lacc));
        Ok(())
    }

    /// An input element widened to the accumulator's type.
    fn widen(
        &mut self,
        v: BasicValueEnum<'ctx>,
        from: ScalarType,
        to: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        if from == to {
            return Ok(v);
        }
        let t = super::scalar_llvm(self.ctx, to);
        Ok(if to.is_float() {
            self.b
                .build_float_ext(v.into_float_value(), t.into_float_type(), "")
                .map_err(llvm)?
                .into()
        } else {
            self.b
                .build_int_s_extend(v.into_int_value(), t.into_int_type(), "")
                .map_err(llvm)?
                .into()
        })
    }
}
