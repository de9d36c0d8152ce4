//! `tile.reduce` along one axis (a 1-d tile reduces to a scalar).
//!
//! 1. Each thread combines its registers that differ only along the axis
//!    (copies skipped).
//! 2. Lanes that differ along the axis combine by butterfly shuffles
//!    (`shfl.sync.bfly`), so every such lane ends with the lane-level result.
//! 3. Warps that differ along the axis meet in shared memory: one partial per
//!    (result element, warp along the axis), written by one lane, read back
//!    and combined in warp order by every thread.
//!
//! The result's layout is the operand's with the axis sliced away, so
//! result register `r` is the group whose coordinate matches it. Every
//! element counts once; the combine is the same in every thread, so copies
//! agree bit for bit.

use inkwell::values::BasicValueEnum;

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::ir::{Attr, OpId, ScalarType};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sum,
    Prod,
    Max,
    Min,
}

fn without(v: &[u64], axis: usize) -> Vec<u64> {
    v.iter()
        .enumerate()
        .filter(|(d, _)| *d != axis)
        .map(|(_, &x)| x)
        .collect()
}

impl<'ctx> Lowerer<'ctx, '_> {
    fn combine(
        &mut self,
        kind: Kind,
        elem: ScalarType,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let float = elem.is_float();
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
            // i1 is 0 or 1: max is `or`, min is `and`.
            (Kind::Max, false) if elem == ScalarType::I1 => self
                .b
                .build_or(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Min, false) if elem == ScalarType::I1 => self
                .b
                .build_and(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (Kind::Max, false) => self.call_overloaded("llvm.smax", a.get_type(), &[a, b])?,
            (Kind::Min, false) => self.call_overloaded("llvm.smin", a.get_type(), &[a, b])?,
        })
    }

    /// `shfl.sync.bfly` of a value of any scalar type with lane mask `mask`.
    pub(super) fn shfl_xor(
        &mut self,
        v: BasicValueEnum<'ctx>,
        elem: ScalarType,
        mask: u64,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let i32t = self.ctx.i32_type();
        let f = super::super::intrinsics::declare(&self.module, "llvm.nvvm.shfl.sync.bfly.i32")?;
        let shfl32 = |this: &mut Self, x: inkwell::values::IntValue<'ctx>| {
            this.b
                .build_call(
                    f,
                    &[
                        i32t.const_all_ones().into(),
                        x.into(),
                        i32t.const_int(mask, false).into(),
                        i32t.const_int(0x1f, false).into(),
                    ],
                    "",
                )
                .map(|c| c.try_as_basic_value().unwrap_basic().into_int_value())
                .map_err(llvm)
        };
        let bits = elem.bits();
        let int_t = match bits {
            1 => self.ctx.bool_type(),
            8 => self.ctx.i8_type(),
            16 => self.ctx.i16_type(),
            32 => self.ctx.i32_type(),
            _ => self.ctx.i64_type(),
        };
        let as_int = if elem.is_float() {
            self.b
                .build_bit_cast(v, int_t, "")
                .map_err(llvm)?
                .into_int_value()
        } else {
            v.into_int_value()
        };
        let out = if bits <= 32 {
            let wide = self
                .b
                .build_int_z_extend_or_bit_cast(as_int, i32t, "")
                .map_err(llvm)?;
            let got = shfl32(self, wide)?;
            self.b
                .build_int_truncate_or_bit_cast(got, int_t, "")
                .map_err(llvm)?
        } else {
            let i64t = self.ctx.i64_type();
            let lo = self.b.build_int_truncate(as_int, i32t, "").map_err(llvm)?;
            let hi = self
                .b
                .build_right_shift(as_int, i64t.const_int(32, false), false, "")
                .map_err(llvm)?;
            let hi = self.b.build_int_truncate(hi, i32t, "").map_err(llvm)?;
            let (lo, hi) = (shfl32(self, lo)?, shfl32(self, hi)?);
            let lo = self.b.build_int_z_extend(lo, i64t, "").map_err(llvm)?;
            let hi = self.b.build_int_z_extend(hi, i64t, "").map_err(llvm)?;
            let hi = self
                .b
                .build_left_shift(hi, i64t.const_int(32, false), "")
                .map_err(llvm)?;
            self.b.build_or(lo, hi, "").map_err(llvm)?
        };
        Ok(if elem.is_float() {
            self.b.build_bit_cast(out, v.get_type(), "").map_err(llvm)?
        } else {
            out.into()
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
        let x = data.operands[0];
        let elem = self.elem_of(x)?;
        if elem == ScalarType::I1 && matches!(kind, Kind::Sum | Kind::Prod) {
            return Err(err_at(
                &data.loc,
                data.kind,
                "sum and prod of i1 are not lowered; cast to i32 first",
            ));
        }
        let Lowered::Tile(regs, d) = self.get(x) else {
            return Err(err_at(&data.loc, data.kind, "a reduction of a scalar"));
        };
        let axis = data.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
        let pure_axis = |b: &Vec<u64>| b.iter().enumerate().all(|(k, &c)| k == axis || c == 0);
        let mut lane_bits = Vec::new();
        for (bit, b) in d.lane_bases.iter().enumerate() {
            if b[axis] != 0 {
                if !pure_axis(b) {
                    return Err(err_at(
                        &data.loc,
                        data.kind,
                        "internal: a lane basis mixes the axis with other dimensions",
                    ));
                }
                lane_bits.push(bit);
            }
        }
        let mut warp_bits = Vec::new();
        for (bit, b) in d.warp_bases.iter().enumerate() {
            if b[axis] != 0 {
                if !pure_axis(b) {
                    return Err(err_at(
                        &data.loc,
                        data.kind,
                        "internal: a warp basis mixes the axis with other dimensions",
                    ));
                }
                warp_bits.push(bit);
            }
        }
        // 1. Registers, grouped by their coordinate off the axis.
        let mut keys: Vec<Vec<u64>> = Vec::new();
        let mut accs: Vec<BasicValueEnum<'ctx>> = Vec::new();
        for (r, &v) in regs.iter().enumerate() {
            if d.is_dup_reg(r) {
                continue;
            }
            let key = without(&d.reg_coord[r], axis);
            match keys.iter().position(|k| *k == key) {
                Some(i) => accs[i] = self.combine(kind, elem, accs[i], v)?,
                None => {
                    keys.push(key);
                    accs.push(v);
                }
            }
        }
        // 2. Lanes along the axis.
        for &bit in &lane_bits {
            for acc in accs.iter_mut() {
                let partner = self.shfl_xor(*acc, elem, 1 << bit)?;
                *acc = self.combine(kind, elem, *acc, partner)?;
            }
        }
        // 3. Warps along the axis, through shared memory.
        let result_is_tile = self.tf.body.ty(data.results[0]).is_tile();
        let out_shape = without(&d.shape, axis);
        if !warp_bits.is_empty() {
            let n_slots = 1u64 << warp_bits.len();
            let i32t = self.ctx.i32_type();
            // This warp's index along the axis (its axis bits, compressed).
            let mut slot = i32t.const_zero();
            for (i, &bit) in warp_bits.iter().enumerate() {
                let set = self
                    .b
                    .build_and(self.warp, i32t.const_int(1 << bit, false), "")
                    .map_err(llvm)?;
                let moved = if bit >= i {
                    self.b
                        .build_right_shift(set, i32t.const_int((bit - i) as u64, false), false, "")
                        .map_err(llvm)?
                } else {
                    self.b
                        .build_left_shift(set, i32t.const_int((i - bit) as u64, false), "")
                        .map_err(llvm)?
                };
                slot = self.b.build_or(slot, moved, "").map_err(llvm)?;
            }
            let out_w: Vec<u64> = crate::gpu::plan::row_major(&out_shape)
                .into_iter()
                .map(|w| w * n_slots)
                .collect();
            let thread_key: Vec<inkwell::values::IntValue<'ctx>> = d
                .thread_coord
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != axis)
                .map(|(_, &c)| c)
                .collect();
            let mut group_offsets = Vec::with_capacity(keys.len());
            for key in &keys {
                let mut c = Vec::with_capacity(key.len());
                for (&t, &k) in thread_key.iter().zip(key) {
                    c.push(if k == 0 {
                        t
                    } else {
                        self.b
                            .build_xor(t, i32t.const_int(k, false), "")
                            .map_err(llvm)?
                    });
                }
                group_offsets.push(self.offset(&c, &out_w, 0)?);
            }
            // One writer per warp and result element: lane bits along the
            // axis and copy bits all clear.
            let lane_mask = lane_bits.iter().fold(d.dup_lane_mask(), |m, &b| m | 1 << b);
            let lane_sel = self
                .b
                .build_and(self.lane, i32t.const_int(lane_mask, false), "")
                .map_err(llvm)?;
            let warp_sel = self
                .b
                .build_and(self.warp, i32t.const_int(d.dup_warp_mask(), false), "")
                .map_err(llvm)?;
            let any = self.b.build_or(lane_sel, warp_sel, "").map_err(llvm)?;
            let writer = self
                .b
                .build_int_compare(inkwell::IntPredicate::EQ, any, i32t.const_zero(), "writer")
                .map_err(llvm)?;
            let accs_w = accs.clone();
            let offs_w = group_offsets.clone();
            self.when(writer, |this| {
                for (acc, off) in accs_w.iter().zip(&offs_w) {
                    let idx = this.b.build_int_add(*off, slot, "").map_err(llvm)?;
                    let p = this.smem_ptr(elem, 0, idx)?;
                    this.b.build_store(p, *acc).map_err(llvm)?;
                }
                Ok(())
            })?;
            self.barrier()?;
            for (acc, off) in accs.iter_mut().zip(&group_offsets) {
                let mut total: Option<BasicValueEnum<'ctx>> = None;
                for s in 0..n_slots {
                    let idx = self
                        .b
                        .build_int_add(*off, i32t.const_int(s, false), "")
                        .map_err(llvm)?;
                    let p = self.smem_ptr(elem, 0, idx)?;
                    let v = self.b.build_load(acc.get_type(), p, "").map_err(llvm)?;
                    total = Some(match total {
                        None => v,
                        Some(t) => self.combine(kind, elem, t, v)?,
                    });
                }
                *acc = total.expect("at least one slot");
            }
        }
        if !result_is_tile {
            self.set(data.results[0], Lowered::Scalar(accs[0]));
            return Ok(());
        }
        // 4. The result's registers are the groups.
        let res = self.layout_of(data.results[0])?;
        for (mine, theirs) in [
            (&res.lane_bases, &d.lane_bases),
            (&res.warp_bases, &d.warp_bases),
        ] {
            let ok = mine.len() == theirs.len()
                && mine.iter().zip(theirs).all(|(m, t)| without(t, axis) == *m);
            if !ok {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    "internal: the result is not laid out as the operand's slice",
                ));
            }
        }
        let mut out = Vec::with_capacity(res.regs);
        for rc in &res.reg_coord {
            let i = keys.iter().position(|k| k == rc).ok_or_else(|| {
                err_at(
                    &data.loc,
                    data.kind,
                    "internal: a result register has no group in the operand",
                )
            })?;
            out.push(accs[i]);
        }
        self.set(data.results[0], Lowered::Tile(out, res));
        Ok(())
    }
}
