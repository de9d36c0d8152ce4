//! Tensor-core operands (`dot_op` layouts) of 16-bit tiles from a swizzled
//! shared layout ([`crate::gpu::swizzle`]) with `ldmatrix`.
//!
//! A conversion into such a layout stages the tile (`stage_swizzled`).
//! A *resident* one (`smem_offset`, see `allocate-shared-memory`) stops
//! there: its dots load the matrices of one `k` step at a time
//! (`load_matrices`, from `mma.rs`), so only that step's fragments take
//! registers. Otherwise every matrix is loaded into registers now
//! (`convert_to_dot_operand`).
//!
//! An operand fragment register holds two elements consecutive along `k`.
//! Each 8x8 block of the operand (8 along the other dimension `o`, 8
//! along `k`) is one `ldmatrix` matrix: when `k` is the contiguous
//! dimension the rows are `o` and the plain instruction hands thread `l`
//! the pair `(o0 + l / 4, k0 + 2 (l % 4) + {0, 1})`; when `o` is contiguous
//! the rows are `k` and `.trans` hands out the same pair. Matrices are
//! batched four (or two, or one) to an instruction.

use std::collections::BTreeMap;

use inkwell::values::{BasicValueEnum, IntValue};

use super::layout::TileLayout;
use super::{Lowerer, NvptxError, llvm};
use crate::gpu::encoding::Encoding;
use crate::gpu::swizzle::{SwizzledRows, VEC};
use crate::ir::ScalarType;
use crate::nvptx::inline_ptx::{emit, ldmatrix};

/// The runs of `VEC` registers of a tile laid out by `src` that hold `VEC`
/// consecutive elements along `cdim`, starting at a multiple of `VEC`
/// (so a 16-byte chunk of the swizzled layout), when the thread's own
/// coordinate along `cdim` is a multiple of `VEC` too (no lane or warp
/// basis below `VEC` along it).
fn vector_runs(src: &TileLayout<'_>, cdim: usize) -> Vec<Vec<usize>> {
    let below = |b: &Vec<u64>| !b[cdim].is_multiple_of(VEC);
    if src.lane_bases.iter().chain(&src.warp_bases).any(below) {
        return Vec::new();
    }
    let mut at = std::collections::HashMap::new();
    for (r, c) in src.reg_coord.iter().enumerate() {
        if !src.is_dup_reg(r) {
            at.entry(c.clone()).or_insert(r);
        }
    }
    let mut runs = Vec::new();
    for (r, c) in src.reg_coord.iter().enumerate() {
        if src.is_dup_reg(r) || c[cdim] % VEC != 0 {
            continue;
        }
        let run: Option<Vec<usize>> = (0..VEC)
            .map(|i| {
                let mut ci = c.clone();
                ci[cdim] += i;
                at.get(&ci).copied()
            })
            .collect();
        if let Some(run) = run {
            runs.push(run);
        }
    }
    runs
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// The runtime element offset of tile coordinate `(row, col)` of `sw`
    /// where `row`/`col` are i32 along the two tile dimensions.
    fn swizzled_offset(
        &mut self,
        sw: &SwizzledRows,
        c: [IntValue<'ctx>; 2],
    ) -> Result<IntValue<'ctx>, NvptxError> {
        let i32t = self.ctx.i32_type();
        let k = |v: u64| i32t.const_int(v, false);
        let (row, col) = (c[1 - sw.cdim], c[sw.cdim]);
        let b = &self.b;
        let phase = b
            .build_and(
                b.build_right_shift(row, k(sw.per_phase.trailing_zeros().into()), false, "")
                    .map_err(llvm)?,
                k(sw.max_phase - 1),
                "",
            )
            .map_err(llvm)?;
        let chunk = b.build_right_shift(col, k(3), false, "").map_err(llvm)?;
        let chunk = b.build_xor(chunk, phase, "").map_err(llvm)?;
        let within = b.build_and(col, k(VEC - 1), "").map_err(llvm)?;
        let row_off = b.build_int_mul(row, k(sw.row_len), "").map_err(llvm)?;
        let chunk_off = b.build_int_mul(chunk, k(VEC), "").map_err(llvm)?;
        let off = b.build_int_add(row_off, chunk_off, "").map_err(llvm)?;
        b.build_int_add(off, within, "swz").map_err(llvm)
    }

    /// Stores `regs` (laid out by `src`) at `base` bytes in the swizzled
    /// layout `sw`, then synchronizes (the writes are visible after; the
    /// barrier before, for earlier readers, is `insert-barriers`').
    pub(super) fn stage_swizzled(
        &mut self,
        regs: &[BasicValueEnum<'ctx>],
        src: &TileLayout<'ctx>,
        sw: SwizzledRows,
        elem: ScalarType,
        base: u64,
    ) -> Result<(), NvptxError> {
        let owner = src.owner;
        let (regs, src) = (regs.to_vec(), src.clone());
        let runs = vector_runs(&src, sw.cdim);
        self.when(owner, |this| {
            let mut done = vec![false; regs.len()];
            // Runs of VEC registers consecutive along the contiguous
            // dimension fill one 16-byte chunk: one vector store.
            for run in &runs {
                let c = this.coords(&src, run[0])?;
                let off = this.swizzled_offset(&sw, [c[0], c[1]])?;
                let p = this.smem_ptr(elem, base, off)?;
                let t = super::scalar_llvm(this.ctx, elem);
                let vt = match t {
                    inkwell::types::BasicTypeEnum::FloatType(f) => f.vec_type(VEC as u32),
                    inkwell::types::BasicTypeEnum::IntType(i) => i.vec_type(VEC as u32),
                    _ => return Err(NvptxError("internal: a 16-bit vector".into())),
                };
                let mut v = vt.get_undef();
                for (i, &r) in run.iter().enumerate() {
                    let idx = this.ctx.i32_type().const_int(i as u64, false);
                    v = this
                        .b
                        .build_insert_element(v, regs[r], idx, "")
                        .map_err(llvm)?;
                    done[r] = true;
                }
                let st = this.b.build_store(p, v).map_err(llvm)?;
                st.set_alignment(16)
                    .map_err(|e| NvptxError(format!("LLVM: {e}")))?;
            }
            for (r, &v) in regs.iter().enumerate() {
                if src.is_dup_reg(r) || done[r] {
                    continue;
                }
                let c = this.coords(&src, r)?;
                let off = this.swizzled_offset(&sw, [c[0], c[1]])?;
                let p = this.smem_ptr(elem, base, off)?;
                this.b.build_store(p, v).map_err(llvm)?;
            }
            Ok(())
        })?;
        self.barrier()
    }

    /// Loads the 8x8 matrices at `origins` (`(o0, k0)` relative to the
    /// warp's part of dot-operand layout `dst`, see the module doc) of a
    /// tile staged at `base` in `sw`: one 32-bit register each, this
    /// thread's pair of the matrix.
    pub(super) fn load_matrices(
        &mut self,
        dst: &TileLayout<'ctx>,
        dst_enc: &Encoding,
        sw: SwizzledRows,
        elem: ScalarType,
        base: u64,
        origins: &[(u64, u64)],
    ) -> Result<Vec<IntValue<'ctx>>, NvptxError> {
        let Encoding::DotOp { idx, .. } = dst_enc else {
            return Err(NvptxError(format!(
                "internal: {dst_enc} is not a dot operand"
            )));
        };
        let kd = if *idx == 0 { 1 } else { 0 };
        let od = 1 - kd;
        let trans = sw.cdim != kd;
        let i32t = self.ctx.i32_type();
        // The warp's offset in the operand (the lanes' part is ldmatrix's).
        let mut warp_c = vec![i32t.const_zero(); 2];
        self.xor_bases(self.warp, &dst.warp_bases.clone(), &mut warp_c)?;
        let lane = self.lane;
        let mut words = Vec::with_capacity(origins.len());
        let mut at = 0;
        while at < origins.len() {
            let count = match origins.len() - at {
                n if n >= 4 => 4,
                n if n >= 2 => 2,
                _ => 1,
            };
            let group = &origins[at..at + count];
            at += count;
            // Lane l gives row l % 8 of matrix (l / 8) % count.
            let j = self
                .b
                .build_right_shift(lane, i32t.const_int(3, false), false, "")
                .map_err(llvm)?;
            let j = self
                .b
                .build_and(j, i32t.const_int(count as u64 - 1, false), "")
                .map_err(llvm)?;
            let i = self
                .b
                .build_and(lane, i32t.const_int(7, false), "")
                .map_err(llvm)?;
            let mut o0 = i32t.const_int(group[0].0, false);
            let mut k0 = i32t.const_int(group[0].1, false);
            for (g, &(mo, mk)) in group.iter().enumerate().skip(1) {
                let is = self
                    .b
                    .build_int_compare(
                        inkwell::IntPredicate::EQ,
                        j,
                        i32t.const_int(g as u64, false),
                        "",
                    )
                    .map_err(llvm)?;
                o0 = self
                    .b
                    .build_select(is, i32t.const_int(mo, false), o0, "")
                    .map_err(llvm)?
                    .into_int_value();
                k0 = self
                    .b
                    .build_select(is, i32t.const_int(mk, false), k0, "")
                    .map_err(llvm)?
                    .into_int_value();
            }
            // Row i of the matrix: along o (plain) or along k (trans).
            let (o, k) = if trans {
                (o0, self.b.build_int_add(k0, i, "").map_err(llvm)?)
            } else {
                (self.b.build_int_add(o0, i, "").map_err(llvm)?, k0)
            };
            let o = self.b.build_xor(o, warp_c[od], "").map_err(llvm)?;
            let k = self.b.build_xor(k, warp_c[kd], "").map_err(llvm)?;
            let mut c = [o, o];
            c[kd] = k;
            let off = self.swizzled_offset(&sw, c)?;
            let p = self.smem_ptr(elem, base, off)?;
            let addr = self.b.build_ptr_to_int(p, i32t, "").map_err(llvm)?;
            let instr = ldmatrix(count, trans)
                .ok_or_else(|| NvptxError(format!("internal: ldmatrix of {count}")))?;
            let ret: inkwell::types::BasicTypeEnum<'ctx> = if count == 1 {
                i32t.into()
            } else {
                self.ctx
                    .struct_type(&vec![i32t.into(); count], false)
                    .into()
            };
            let got = emit(
                self.ctx,
                &self.b,
                self.arch,
                instr,
                Some(ret),
                &[addr.into()],
            )?
            .expect("ldmatrix returns registers");
            for g in 0..count {
                words.push(if count == 1 {
                    got.into_int_value()
                } else {
                    self.b
                        .build_extract_value(got.into_struct_value(), g as u32, "")
                        .map_err(llvm)?
                        .into_int_value()
                });
            }
        }
        Ok(words)
    }

    /// Converts `regs` (laid out by `src`) into the 16-bit dot-operand
    /// layout `dst` now: staged through shared memory at offset 0, every
    /// matrix loaded into registers.
    pub(super) fn convert_to_dot_operand(
        &mut self,
        regs: &[BasicValueEnum<'ctx>],
        src: &TileLayout<'ctx>,
        dst: &TileLayout<'ctx>,
        dst_enc: &Encoding,
        sw: SwizzledRows,
        elem: ScalarType,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let Encoding::DotOp { idx, .. } = dst_enc else {
            return Err(NvptxError(format!(
                "internal: {dst_enc} is not a dot operand"
            )));
        };
        let kd = if *idx == 0 { 1 } else { 0 };
        let od = 1 - kd;
        self.stage_swizzled(regs, src, sw, elem, 0)?;
        // Matrices by origin, each with the two registers its pair fills
        // (the first register of each coordinate; copies read it after).
        let at = super::mma::by_coord(&dst.reg_coord);
        let mut matrices: BTreeMap<(u64, u64), (usize, usize)> = BTreeMap::new();
        for (r, rc) in dst.reg_coord.iter().enumerate() {
            let origin = (rc[od], rc[kd]);
            if rc[od] % 8 != 0 || rc[kd] % 8 != 0 || matrices.contains_key(&origin) {
                continue;
            }
            let mut hi_c = [rc[0], rc[1]];
            hi_c[kd] += 1;
            let hi = at
                .get(&(hi_c[0], hi_c[1]))
                .copied()
                .ok_or_else(|| NvptxError(format!("internal: no register at {hi_c:?}")))?;
            matrices.insert(origin, (r, hi));
        }
        let origins: Vec<(u64, u64)> = matrices.keys().copied().collect();
        let words = self.load_matrices(dst, dst_enc, sw, elem, 0, &origins)?;
        let mut out: Vec<Option<BasicValueEnum<'ctx>>> = vec![None; dst.regs];
        for ((_, &(lo_r, hi_r)), word) in matrices.iter().zip(words) {
            let (lo, hi) = self.unpack2(word, elem)?;
            out[lo_r] = Some(lo);
            out[hi_r] = Some(hi);
        }
        let mut done = Vec::with_capacity(dst.regs);
        for rc in &dst.reg_coord {
            let v = at.get(&(rc[0], rc[1])).and_then(|&first| out[first]);
            done.push(v.ok_or_else(|| {
                NvptxError(format!(
                    "internal: no ldmatrix result for the operand register at {rc:?}"
                ))
            })?);
        }
        Ok(done)
    }

    /// The two 16-bit elements of a 32-bit register (low half first).
    fn unpack2(
        &mut self,
        word: IntValue<'ctx>,
        elem: ScalarType,
    ) -> Result<(BasicValueEnum<'ctx>, BasicValueEnum<'ctx>), NvptxError> {
        let i16t = self.ctx.i16_type();
        let t = super::scalar_llvm(self.ctx, elem);
        let lo = self.b.build_int_truncate(word, i16t, "").map_err(llvm)?;
        let hi = self
            .b
            .build_right_shift(word, self.ctx.i32_type().const_int(16, false), false, "")
            .map_err(llvm)?;
        let hi = self.b.build_int_truncate(hi, i16t, "").map_err(llvm)?;
        Ok((
            self.b.build_bit_cast(lo, t, "").map_err(llvm)?,
            self.b.build_bit_cast(hi, t, "").map_err(llvm)?,
        ))
    }
}
