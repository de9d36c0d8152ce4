//! Pointer arithmetic, loads and stores. Masked-off lanes touch no memory
//! (each access is guarded by its mask), and only the owner of an element
//! stores it (threads holding copies do not); registers that are copies of
//! another register of the thread are not loaded again.
//!
//! **Vector accesses.** Where `coalesce` recorded `vec = N` on a load or
//! store, the pointer tile's registers come in runs of `N` whose addresses
//! are consecutive. At run time each thread checks, per run, that the first
//! address is aligned to the run's bytes (`N` x element bytes: 4, 8 or 16)
//! and that the run's mask bits are all equal. When every run of the
//! thread passes (the common case: only threads at ragged edges or over
//! misaligned bases fail), the thread takes a straight-line path of one
//! access of 1, 2 or 4 32-bit words per run (`ld/st.global.v4.b32`, ...:
//! inline PTX from the catalogue, predicated by the run's shared mask bit,
//! the loaded words defaulting to the packed `other` values); otherwise it
//! takes the straight-line path of one access per element, as without a
//! vector width. Kernels are not specialized on the alignment of their
//! arguments (that would multiply the prebuilt variants).
//!
//! Measured on the bundled kernels with ptxas: a branch around every run,
//! or per-run predication of both forms, raised register pressure (spills
//! in kernels near the limit); one decision per access does not. Unmasked
//! loads use inline PTX too: LLVM splits an aligned vector load whose
//! elements are only extracted back into scalar loads.

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

/// A run of a vector access: its first register, and the mask bit all its
/// elements share when the run is whole (`None` when unmasked).
type Run<'ctx> = (usize, Option<IntValue<'ctx>>);

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

    /// The address of element `i` of a run starting at `first` (runs hold
    /// consecutive addresses: the `vec` attribute says so). Addressing the
    /// per-element path from the run's first pointer leaves the other
    /// pointers of the tile dead, so they take no registers (LLVM would
    /// otherwise keep one 64-bit base per element live across loops).
    fn run_element(
        &mut self,
        first: PointerValue<'ctx>,
        i: usize,
        bits: u32,
    ) -> Result<PointerValue<'ctx>, NvptxError> {
        if i == 0 {
            return Ok(first);
        }
        let off = self
            .ctx
            .i64_type()
            .const_int((i as u64) * u64::from(bits / 8), false);
        super::super::kernel::gep(&self.b, self.ctx.i8_type(), first, &[off], "")
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

    /// Whether every run of `vec` registers (copies skipped) of a tile can
    /// be accessed at once (aligned, mask bits agreeing), and each run's
    /// shared mask bit.
    fn tile_is_whole(
        &mut self,
        bits: u32,
        vec: usize,
        d: &TileLayout<'ctx>,
        ptrs: &[PointerValue<'ctx>],
        conds: Option<&[IntValue<'ctx>]>,
    ) -> Result<(IntValue<'ctx>, Vec<Run<'ctx>>), NvptxError> {
        let bytes = u64::from(vec as u32 * bits / 8);
        let mut all_whole: Option<IntValue<'ctx>> = None;
        let mut runs = Vec::new();
        for r in (0..ptrs.len()).step_by(vec) {
            if d.is_dup_reg(r) {
                continue;
            }
            let (whole, all) = self.run_is_whole(ptrs[r], bytes, conds.map(|c| &c[r..r + vec]))?;
            all_whole = Some(match all_whole {
                None => whole,
                Some(w) => self.b.build_and(w, whole, "").map_err(llvm)?,
            });
            runs.push((r, all));
        }
        let all_whole = all_whole.unwrap_or_else(|| self.ctx.bool_type().const_int(1, false));
        Ok((all_whole, runs))
    }

    /// A tile load with runs of `vec` consecutive registers, as two
    /// straight-line paths: one vector load per run when every run of the
    /// thread can (see [`Self::tile_is_whole`]), else one load per element.
    #[allow(clippy::too_many_arguments)]
    fn load_tile(
        &mut self,
        elem_t: BasicTypeEnum<'ctx>,
        bits: u32,
        vec: usize,
        d: &TileLayout<'ctx>,
        ptrs: &[PointerValue<'ctx>],
        conds: Option<&[IntValue<'ctx>]>,
        others: &[BasicValueEnum<'ctx>],
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let n = ptrs.len();
        let words = vec * bits as usize / 32;
        let (whole, runs) = self.tile_is_whole(bits, vec, d, ptrs, conds)?;
        let vec_bb = self.ctx.append_basic_block(self.function, "vec.whole");
        let scalar_bb = self.ctx.append_basic_block(self.function, "vec.split");
        let cont = self.ctx.append_basic_block(self.function, "vec.cont");
        self.b
            .build_conditional_branch(whole, vec_bb, scalar_bb)
            .map_err(llvm)?;
        let i32t = self.ctx.i32_type();

        self.b.position_at_end(vec_bb);
        let mut vector_vals: Vec<Option<BasicValueEnum<'ctx>>> = vec![None; n];
        for &(r, all) in &runs {
            let (instr, args): (Option<PtxInstr>, Vec<BasicValueEnum<'ctx>>) = match all {
                Some(all) => {
                    let mut args: Vec<BasicValueEnum<'ctx>> = vec![ptrs[r].into(), all.into()];
                    let packed = self.pack_words(&others[r..r + vec], elem_t)?;
                    args.extend(packed.iter().map(|&w| BasicValueEnum::from(w)));
                    (predicated_vector_load(words), args)
                }
                None => (vector_load(words), vec![ptrs[r].into()]),
            };
            let instr = instr
                .ok_or_else(|| NvptxError(format!("internal: no {words}-word vector load")))?;
            let ret: BasicTypeEnum<'ctx> = if words == 1 {
                i32t.into()
            } else {
                let fields: Vec<BasicTypeEnum<'ctx>> = vec![i32t.into(); words];
                self.ctx.struct_type(&fields, false).into()
            };
            let got = emit(self.ctx, &self.b, self.arch, instr, Some(ret), &args)?
                .expect("a load returns its value");
            let words_v: Vec<IntValue<'ctx>> = if words == 1 {
                vec![got.into_int_value()]
            } else {
                let sv = got.into_struct_value();
                (0..words)
                    .map(|i| {
                        self.b
                            .build_extract_value(sv, i as u32, "")
                            .map(|w| w.into_int_value())
                            .map_err(llvm)
                    })
                    .collect::<Result<_, _>>()?
            };
            for (k, v) in self
                .unpack_words(&words_v, elem_t, vec)?
                .into_iter()
                .enumerate()
            {
                vector_vals[r + k] = Some(v);
            }
        }
        let vec_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(cont).map_err(llvm)?;

        self.b.position_at_end(scalar_bb);
        let mut scalar_vals: Vec<Option<BasicValueEnum<'ctx>>> = vec![None; n];
        for &(r, _) in &runs {
            for k in r..r + vec {
                let m = conds.map(|c| (c[k], others[k]));
                let p = self.run_element(ptrs[r], k - r, bits)?;
                scalar_vals[k] = Some(self.load_one(elem_t, bits, p, m)?);
            }
        }
        let scalar_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(cont).map_err(llvm)?;

        self.b.position_at_end(cont);
        let mut out: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(n);
        for k in 0..n {
            match (vector_vals[k], scalar_vals[k]) {
                (Some(v), Some(s)) => {
                    let phi = self.b.build_phi(elem_t, "").map_err(llvm)?;
                    phi.add_incoming(&[(&v, vec_end), (&s, scalar_end)]);
                    out.push(phi.as_basic_value());
                }
                // A copy of a register loaded before (its copy bits cleared).
                _ => out.push(out[k & !(d.dup_reg_mask as usize)]),
            }
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
        if vec > 1
            && let Some(d) = &layout
        {
            let d = d.clone();
            let ptrs: Vec<PointerValue<'ctx>> = (0..n)
                .map(|k| self.regs_of(&p, k).into_pointer_value())
                .collect();
            let conds: Option<Vec<IntValue<'ctx>>> = mask.as_ref().map(|m| {
                (0..n)
                    .map(|k| self.regs_of(m, k).into_int_value())
                    .collect()
            });
            let others: Vec<BasicValueEnum<'ctx>> = (0..n)
                .map(|k| other.as_ref().map_or(zero, |o| self.regs_of(o, k)))
                .collect();
            let out = self.load_tile(elem_t, bits, vec, &d, &ptrs, conds.as_deref(), &others)?;
            self.set(data.results[0], Lowered::Tile(out, d));
            return Ok(());
        }
        let mut out: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(n);
        for r in 0..n {
            if let Some(d) = &layout
                && d.is_dup_reg(r)
            {
                // A copy of a register loaded before (its copy bits cleared).
                out.push(out[r & !(d.dup_reg_mask as usize)]);
                continue;
            }
            let ptr = self.regs_of(&p, r).into_pointer_value();
            let masked = mask.as_ref().map(|m| {
                (
                    self.regs_of(m, r).into_int_value(),
                    other.as_ref().map_or(zero, |o| self.regs_of(o, r)),
                )
            });
            out.push(self.load_one(elem_t, bits, ptr, masked)?);
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

    /// A tile store with runs of `vec` consecutive registers, as two
    /// straight-line paths (see [`Self::load_tile`]); only the owner stores.
    fn store_tile(
        &mut self,
        bits: u32,
        vec: usize,
        d: &TileLayout<'ctx>,
        ptrs: &[PointerValue<'ctx>],
        vals: &[BasicValueEnum<'ctx>],
        conds: Option<&[IntValue<'ctx>]>,
    ) -> Result<(), NvptxError> {
        let words = vec * bits as usize / 32;
        let elem_t = vals[0].get_type();
        let (whole, runs) = self.tile_is_whole(bits, vec, d, ptrs, conds)?;
        let vec_bb = self.ctx.append_basic_block(self.function, "vec.whole");
        let scalar_bb = self.ctx.append_basic_block(self.function, "vec.split");
        let cont = self.ctx.append_basic_block(self.function, "vec.cont");
        self.b
            .build_conditional_branch(whole, vec_bb, scalar_bb)
            .map_err(llvm)?;
        self.b.position_at_end(vec_bb);
        let instr = predicated_vector_store(words)
            .ok_or_else(|| NvptxError(format!("internal: no {words}-word predicated store")))?;
        for &(r, all) in &runs {
            let pred = match all {
                Some(all) => self.b.build_and(d.owner, all, "").map_err(llvm)?,
                None => d.owner,
            };
            let packed = self.pack_words(&vals[r..r + vec], elem_t)?;
            let mut args: Vec<BasicValueEnum<'ctx>> = vec![ptrs[r].into()];
            args.extend(packed.iter().map(|&w| BasicValueEnum::from(w)));
            args.push(pred.into());
            emit(self.ctx, &self.b, self.arch, instr, None, &args)?;
        }
        self.b.build_unconditional_branch(cont).map_err(llvm)?;
        self.b.position_at_end(scalar_bb);
        for &(r, _) in &runs {
            for k in r..r + vec {
                let cond = match conds {
                    Some(c) => self.b.build_and(d.owner, c[k], "").map_err(llvm)?,
                    None => d.owner,
                };
                let p = self.run_element(ptrs[r], k - r, bits)?;
                self.store_one(bits, p, vals[k], cond)?;
            }
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
                if vec > 1 {
                    let ptrs: Vec<PointerValue<'ctx>> = (0..n)
                        .map(|k| self.regs_of(&p, k).into_pointer_value())
                        .collect();
                    let vals: Vec<BasicValueEnum<'ctx>> =
                        (0..n).map(|k| self.regs_of(&v, k)).collect();
                    let conds: Option<Vec<IntValue<'ctx>>> = mask.as_ref().map(|m| {
                        (0..n)
                            .map(|k| self.regs_of(m, k).into_int_value())
                            .collect()
                    });
                    return self.store_tile(bits, vec, &d, &ptrs, &vals, conds.as_deref());
                }
                for r in 0..n {
                    if d.is_dup_reg(r) {
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
                    self.store_one(bits, ptr, val, cond)?;
                }
                Ok(())
            }
        }
    }
}
