//! Pointer arithmetic, loads and stores. Masked-off lanes touch no memory
//! (each access is guarded by its mask), and only the owner of an element
//! stores it (threads holding copies do not); registers that are copies of
//! another register of the thread are not loaded again.
//!
//! **Vector accesses.** Where `coalesce` recorded `vec = N` on a load or
//! store, the pointer tile's registers come in runs of `N` whose addresses
//! are consecutive. Per run, at run time, the thread checks that the first
//! address is aligned to the run's bytes (`N` x element bytes: 4, 8 or 16)
//! and that the run's mask bits are all equal; then it does one access of
//! 1, 2 or 4 32-bit words (`ld/st.global.v4.b32`, ...: inline PTX from the
//! catalogue, predicated by the shared mask bit with the loaded words
//! defaulting to the packed `other` values; loads without a mask use the
//! unpredicated forms, not LLVM vector loads, which LLVM splits back into
//! scalar loads), else one access per element as without a vector width. Kernels are not specialized on the alignment of their
//! arguments, so only threads at ragged edges or over misaligned bases take
//! the scalar path.

use inkwell::IntPredicate;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};

use super::layout::TileLayout;
use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::gpu::coalesce::VEC;
use crate::ir::{Attr, OpData, OpId, ScalarType};
use crate::nvptx::inline_ptx::{
    PtxInstr, emit, predicated_load, predicated_store, predicated_vector_load,
    predicated_vector_store, vector_load,
};

/// `<n x t>` for a scalar LLVM type `t`.
fn vector_of<'ctx>(t: BasicTypeEnum<'ctx>, n: usize) -> Result<VectorType<'ctx>, NvptxError> {
    match t {
        BasicTypeEnum::IntType(i) => Ok(i.vec_type(n as u32)),
        BasicTypeEnum::FloatType(f) => Ok(f.vec_type(n as u32)),
        other => Err(NvptxError(format!(
            "internal: no vector of {other:?} for a vector access"
        ))),
    }
}

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

    /// The vector width `coalesce` recorded on the memory op `data` (its
    /// `vec` attribute; 1 without one), checked against the layout `d` of
    /// its pointer tile: every run of that many registers must step by one
    /// element along one dimension.
    fn vector_width(
        &self,
        data: &OpData,
        d: &TileLayout<'ctx>,
        pointee: ScalarType,
    ) -> Result<usize, NvptxError> {
        let Some(v) = data.attr(VEC).and_then(Attr::as_int) else {
            return Ok(1);
        };
        let bad = |why: &str| {
            err_at(
                &data.loc,
                data.kind,
                format!("internal: {VEC} = {v} on a {pointee} access: {why}"),
            )
        };
        let v = usize::try_from(v).map_err(|_| bad("not a width"))?;
        let bytes = v * pointee.bytes();
        if v < 2
            || !v.is_power_of_two()
            || pointee.is_bool()
            || !bytes.is_multiple_of(4)
            || bytes > 16
        {
            return Err(bad("not 2, 4, 8 or 16 elements of 4 to 16 bytes"));
        }
        if !d.regs.is_multiple_of(v) {
            return Err(bad(&format!(
                "the tile has {} registers per thread",
                d.regs
            )));
        }
        let fast = d.reg_coord[1]
            .iter()
            .position(|&c| c == 1)
            .ok_or_else(|| bad("register 1 is not the next element"))?;
        for r0 in (0..d.regs).step_by(v) {
            for k in 0..v {
                let mut want = d.reg_coord[r0].clone();
                want[fast] += k as u64;
                if d.reg_coord[r0 + k] != want {
                    return Err(bad(&format!(
                        "register {} is not element {k} after register {r0}",
                        r0 + k
                    )));
                }
            }
        }
        Ok(v)
    }

    /// Whether a run of registers starting at `ptr` with `bytes` in all can
    /// be accessed at once: the address is aligned to `bytes` and the mask
    /// bits `conds` (if any) are all equal. Returns that, and the mask bit
    /// the whole run shares when it holds (their AND).
    fn run_is_whole(
        &mut self,
        ptr: PointerValue<'ctx>,
        bytes: u64,
        conds: Option<&[IntValue<'ctx>]>,
    ) -> Result<(IntValue<'ctx>, Option<IntValue<'ctx>>), NvptxError> {
        let i64t = self.ctx.i64_type();
        let addr = self.b.build_ptr_to_int(ptr, i64t, "").map_err(llvm)?;
        let low = self
            .b
            .build_and(addr, i64t.const_int(bytes - 1, false), "")
            .map_err(llvm)?;
        let aligned = self
            .b
            .build_int_compare(IntPredicate::EQ, low, i64t.const_zero(), "aligned")
            .map_err(llvm)?;
        let Some(conds) = conds else {
            return Ok((aligned, None));
        };
        let (mut all, mut any) = (conds[0], conds[0]);
        for &c in &conds[1..] {
            all = self.b.build_and(all, c, "").map_err(llvm)?;
            any = self.b.build_or(any, c, "").map_err(llvm)?;
        }
        let none = self.b.build_not(any, "").map_err(llvm)?;
        let uniform = self.b.build_or(all, none, "uniform").map_err(llvm)?;
        let whole = self.b.build_and(aligned, uniform, "whole").map_err(llvm)?;
        Ok((whole, Some(all)))
    }

    /// `vals` (scalars of type `elem_t`, 4 to 16 bytes in all) as 32-bit words.
    fn pack_words(
        &mut self,
        vals: &[BasicValueEnum<'ctx>],
        elem_t: BasicTypeEnum<'ctx>,
    ) -> Result<Vec<IntValue<'ctx>>, NvptxError> {
        let vt = vector_of(elem_t, vals.len())?;
        let mut v = vt.get_undef();
        let i32t = self.ctx.i32_type();
        for (i, &x) in vals.iter().enumerate() {
            v = self
                .b
                .build_insert_element(v, x, i32t.const_int(i as u64, false), "")
                .map_err(llvm)?;
        }
        let words = self.bits_of(elem_t)? as usize * vals.len() / 32;
        if words == 1 {
            return Ok(vec![
                self.b
                    .build_bit_cast(v, i32t, "")
                    .map_err(llvm)?
                    .into_int_value(),
            ]);
        }
        let wv = self
            .b
            .build_bit_cast(v, i32t.vec_type(words as u32), "")
            .map_err(llvm)?
            .into_vector_value();
        (0..words)
            .map(|i| {
                self.b
                    .build_extract_element(wv, i32t.const_int(i as u64, false), "")
                    .map(|w| w.into_int_value())
                    .map_err(llvm)
            })
            .collect()
    }

    /// 32-bit `words` as `n` scalars of type `elem_t`.
    fn unpack_words(
        &mut self,
        words: &[IntValue<'ctx>],
        elem_t: BasicTypeEnum<'ctx>,
        n: usize,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let i32t = self.ctx.i32_type();
        let packed: BasicValueEnum<'ctx> = if words.len() == 1 {
            words[0].into()
        } else {
            let mut wv = i32t.vec_type(words.len() as u32).get_undef();
            for (i, &w) in words.iter().enumerate() {
                wv = self
                    .b
                    .build_insert_element(wv, w, i32t.const_int(i as u64, false), "")
                    .map_err(llvm)?;
            }
            wv.into()
        };
        let v = self
            .b
            .build_bit_cast(packed, vector_of(elem_t, n)?, "")
            .map_err(llvm)?
            .into_vector_value();
        (0..n)
            .map(|i| {
                self.b
                    .build_extract_element(v, i32t.const_int(i as u64, false), "")
                    .map_err(llvm)
            })
            .collect()
    }

    /// The width in bits of a scalar LLVM type.
    fn bits_of(&self, t: BasicTypeEnum<'ctx>) -> Result<u32, NvptxError> {
        match t {
            BasicTypeEnum::IntType(i) => Ok(i.get_bit_width()),
            BasicTypeEnum::FloatType(f) => Ok(f.get_bit_width()),
            other => Err(NvptxError(format!(
                "internal: {other:?} in a vector access"
            ))),
        }
    }

    /// One element: `*ptr`, or `cond ? *ptr : otherwise` under a mask.
    fn load_one(
        &mut self,
        elem_t: BasicTypeEnum<'ctx>,
        bits: u32,
        ptr: PointerValue<'ctx>,
        masked: Option<(IntValue<'ctx>, BasicValueEnum<'ctx>)>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let Some((cond, otherwise)) = masked else {
            return self.b.build_load(elem_t, ptr, "").map_err(llvm);
        };
        match predicated_load(bits) {
            Some(instr) => self.predicated_load(instr, ptr, cond, otherwise),
            None => self.guarded(
                cond,
                |this| this.b.build_load(elem_t, ptr, "").map_err(llvm),
                otherwise,
            ),
        }
    }

    /// A run of consecutive elements at `ptrs` (see the module doc): one
    /// vector load when the run is aligned and its mask bits agree, else
    /// one load per element. `masked` holds the mask bits and the values of
    /// masked-off elements.
    fn load_run(
        &mut self,
        elem_t: BasicTypeEnum<'ctx>,
        bits: u32,
        ptrs: &[PointerValue<'ctx>],
        masked: Option<(&[IntValue<'ctx>], &[BasicValueEnum<'ctx>])>,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let n = ptrs.len();
        let bytes = (n as u32 * bits / 8) as u64;
        let words = (bytes / 4) as usize;
        let (whole, all) = self.run_is_whole(ptrs[0], bytes, masked.map(|m| m.0))?;
        let vec_bb = self.ctx.append_basic_block(self.function, "vec.whole");
        let scalar_bb = self.ctx.append_basic_block(self.function, "vec.split");
        let cont = self.ctx.append_basic_block(self.function, "vec.cont");
        self.b
            .build_conditional_branch(whole, vec_bb, scalar_bb)
            .map_err(llvm)?;

        self.b.position_at_end(vec_bb);
        let i32t = self.ctx.i32_type();
        let (instr, args): (Option<PtxInstr>, Vec<BasicValueEnum<'ctx>>) = match (masked, all) {
            (Some((_, others)), Some(all)) => {
                let mut args: Vec<BasicValueEnum<'ctx>> = vec![ptrs[0].into(), all.into()];
                let fallback = self.pack_words(others, elem_t)?;
                args.extend(fallback.iter().map(|&w| BasicValueEnum::from(w)));
                (predicated_vector_load(words), args)
            }
            _ => (vector_load(words), vec![ptrs[0].into()]),
        };
        let instr =
            instr.ok_or_else(|| NvptxError(format!("internal: no {words}-word vector load")))?;
        let ret: BasicTypeEnum<'ctx> = if words == 1 {
            i32t.into()
        } else {
            let fields: Vec<BasicTypeEnum<'ctx>> = vec![i32t.into(); words];
            self.ctx.struct_type(&fields, false).into()
        };
        let r = emit(self.ctx, &self.b, self.arch, instr, Some(ret), &args)?
            .expect("a load returns its value");
        let got: Vec<IntValue<'ctx>> = if words == 1 {
            vec![r.into_int_value()]
        } else {
            let sv = r.into_struct_value();
            (0..words)
                .map(|i| {
                    self.b
                        .build_extract_value(sv, i as u32, "")
                        .map(|w| w.into_int_value())
                        .map_err(llvm)
                })
                .collect::<Result<_, _>>()?
        };
        let vector_vals = self.unpack_words(&got, elem_t, n)?;
        let vec_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(cont).map_err(llvm)?;

        self.b.position_at_end(scalar_bb);
        let mut scalar_vals = Vec::with_capacity(n);
        for (k, &ptr) in ptrs.iter().enumerate() {
            let m = masked.map(|(conds, others)| (conds[k], others[k]));
            scalar_vals.push(self.load_one(elem_t, bits, ptr, m)?);
        }
        let scalar_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(cont).map_err(llvm)?;

        self.b.position_at_end(cont);
        let mut out = Vec::with_capacity(n);
        for (v, s) in vector_vals.iter().zip(&scalar_vals) {
            let phi = self.b.build_phi(elem_t, "").map_err(llvm)?;
            phi.add_incoming(&[(v, vec_end), (s, scalar_end)]);
            out.push(phi.as_basic_value());
        }
        Ok(out)
    }

    pub(super) fn load(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let pointee = self.pointee(&data)?;
        let elem_t = scalar_llvm(self.ctx, pointee);
        let p = self.get(data.operands[0]);
        let mask = data.operands.get(1).map(|&m| self.get(m));
        let other = data.operands.get(2).map(|&o| self.get(o));
        let zero = elem_t.const_zero();
        let bits = pointee.bits();
        let (n, layout) = match &p {
            Lowered::Tile(regs, d) => (regs.len(), Some(d.clone())),
            Lowered::Scalar(_) => (1, None),
        };
        let vec = match &layout {
            Some(d) => self.vector_width(&data, d, pointee)?,
            None => 1,
        };
        let mut out: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(n);
        let mut r = 0;
        while r < n {
            if let Some(d) = &layout
                && d.is_dup_reg(r)
            {
                // A copy of a register loaded before (its copy bits cleared).
                out.push(out[r & !(d.dup_reg_mask as usize)]);
                r += 1;
                continue;
            }
            let run = if vec > 1 { vec } else { 1 };
            let ptrs: Vec<PointerValue<'ctx>> = (r..r + run)
                .map(|k| self.regs_of(&p, k).into_pointer_value())
                .collect();
            let masked: Option<(Vec<IntValue<'ctx>>, Vec<BasicValueEnum<'ctx>>)> =
                mask.as_ref().map(|m| {
                    (
                        (r..r + run)
                            .map(|k| self.regs_of(m, k).into_int_value())
                            .collect(),
                        (r..r + run)
                            .map(|k| other.as_ref().map_or(zero, |o| self.regs_of(o, k)))
                            .collect(),
                    )
                });
            if run > 1 {
                let vals = self.load_run(
                    elem_t,
                    bits,
                    &ptrs,
                    masked.as_ref().map(|(c, o)| (c.as_slice(), o.as_slice())),
                )?;
                out.extend(vals);
            } else {
                let m = masked.map(|(c, o)| (c[0], o[0]));
                out.push(self.load_one(elem_t, bits, ptrs[0], m)?);
            }
            r += run;
        }
        let result = match p {
            Lowered::Tile(_, d) => Lowered::Tile(out, d),
            Lowered::Scalar(_) => Lowered::Scalar(out[0]),
        };
        self.set(data.results[0], result);
        Ok(())
    }

    /// One element: `if cond { *ptr = val }`.
    fn store_one(
        &mut self,
        bits: u32,
        ptr: PointerValue<'ctx>,
        val: BasicValueEnum<'ctx>,
        cond: IntValue<'ctx>,
    ) -> Result<(), NvptxError> {
        match predicated_store(bits) {
            Some(instr) => self.predicated_store(instr, ptr, val, cond),
            None => self.when(cond, |this| {
                this.b.build_store(ptr, val).map(|_| ()).map_err(llvm)
            }),
        }
    }

    /// A run of consecutive elements (see the module doc): one vector store
    /// when the run is aligned and its mask bits `conds` agree, else one
    /// store per element; either only in the owner thread.
    fn store_run(
        &mut self,
        bits: u32,
        ptrs: &[PointerValue<'ctx>],
        vals: &[BasicValueEnum<'ctx>],
        conds: Option<&[IntValue<'ctx>]>,
        owner: IntValue<'ctx>,
    ) -> Result<(), NvptxError> {
        let n = ptrs.len();
        let bytes = (n as u32 * bits / 8) as u64;
        let words = (bytes / 4) as usize;
        let elem_t = vals[0].get_type();
        let (whole, all) = self.run_is_whole(ptrs[0], bytes, conds)?;
        let vec_bb = self.ctx.append_basic_block(self.function, "vec.whole");
        let scalar_bb = self.ctx.append_basic_block(self.function, "vec.split");
        let cont = self.ctx.append_basic_block(self.function, "vec.cont");
        self.b
            .build_conditional_branch(whole, vec_bb, scalar_bb)
            .map_err(llvm)?;

        self.b.position_at_end(vec_bb);
        let pred = match all {
            Some(all) => self.b.build_and(owner, all, "").map_err(llvm)?,
            None => owner,
        };
        let instr = predicated_vector_store(words)
            .ok_or_else(|| NvptxError(format!("internal: no {words}-word predicated store")))?;
        let packed = self.pack_words(vals, elem_t)?;
        let mut args: Vec<BasicValueEnum<'ctx>> = vec![ptrs[0].into()];
        args.extend(packed.iter().map(|&w| BasicValueEnum::from(w)));
        args.push(pred.into());
        emit(self.ctx, &self.b, self.arch, instr, None, &args)?;
        self.b.build_unconditional_branch(cont).map_err(llvm)?;

        self.b.position_at_end(scalar_bb);
        for k in 0..n {
            let cond = match conds {
                Some(c) => self.b.build_and(owner, c[k], "").map_err(llvm)?,
                None => owner,
            };
            self.store_one(bits, ptrs[k], vals[k], cond)?;
        }
        self.b.build_unconditional_branch(cont).map_err(llvm)?;
        self.b.position_at_end(cont);
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
                let pointee = self.pointee(&data)?;
                let bits = pointee.bits();
                let vec = self.vector_width(&data, &d, pointee)?;
                let mut r = 0;
                while r < n {
                    if d.is_dup_reg(r) {
                        r += 1; // a copy of an element another register stores
                        continue;
                    }
                    let ptrs: Vec<PointerValue<'ctx>> = (r..r + vec)
                        .map(|k| self.regs_of(&p, k).into_pointer_value())
                        .collect();
                    let vals: Vec<BasicValueEnum<'ctx>> =
                        (r..r + vec).map(|k| self.regs_of(&v, k)).collect();
                    let conds: Option<Vec<IntValue<'ctx>>> = mask.as_ref().map(|m| {
                        (r..r + vec)
                            .map(|k| self.regs_of(m, k).into_int_value())
                            .collect()
                    });
                    if vec > 1 {
                        self.store_run(bits, &ptrs, &vals, conds.as_deref(), d.owner)?;
                    } else {
                        let cond = match &conds {
                            Some(c) => self.b.build_and(d.owner, c[0], "").map_err(llvm)?,
                            None => d.owner,
                        };
                        self.store_one(bits, ptrs[0], vals[0], cond)?;
                    }
                    r += vec;
                }
                Ok(())
            }
        }
    }
}
