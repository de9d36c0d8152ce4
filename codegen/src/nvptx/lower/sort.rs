//! `tile.sort` and `tile.topk` by ranks in shared memory.
//!
//! The rank of an element is how many elements of its line come before it
//! in the requested order: for an ascending sort, element `j` comes before
//! element `i` when `x[j] < x[i]`, or when they are equal and `j < i`
//! (stable). Ranks are distinct, so they are the sorted positions.
//!
//! 1. The owners write the operand row-major; synchronize. (The barrier
//!    before, for earlier readers of the buffer, is `gpu::barriers`'.)
//! 2. One runtime loop over the axis (`j = 0..n`, not unrolled): each
//!    thread loads element `j` of each line its registers lie on and counts,
//!    per register, whether it comes before the register's element.
//! 3. The owners write each element's position along the axis (i32) at its
//!    rank in a second buffer shaped like the result (for `topk` only ranks
//!    below `k`); synchronize.
//! 4. Each result register reads its position from that buffer, and the
//!    value at that position from the first.
//!
//! The order is the interpreter's: floats by value with NaN above every
//! number (NaNs equal among themselves) and -0 equal to +0; integers signed;
//! `i1` false before true. Descending is the reverse order, still stable
//! (equal elements keep their order), and `topk` is the first `k` of the
//! descending sort (ascending when `largest = false`), so ties go to the
//! lower index. The work is `n` compare steps per register, the shared
//! memory the operand plus one i32 per result element
//! (`gpu::shared_memory::sort_bytes`, the same formula).

use inkwell::values::{BasicValueEnum, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::gpu::plan::row_major;
use crate::gpu::shared_memory::{axis_of, sort_index_offset};
use crate::ir::{Attr, OpId, OpKind, ScalarType};

/// A register taking part in the ranking.
#[derive(Clone, Copy)]
struct Member<'ctx> {
    /// Its position along the axis.
    pos: IntValue<'ctx>,
    /// Its value, as compared.
    key: BasicValueEnum<'ctx>,
    /// The row-major offset of its line's first element in the result.
    out_base: IntValue<'ctx>,
}

/// The registers of one thread that lie on one line.
struct Line<'ctx> {
    /// The register coordinate off the axis (the same for the whole line).
    key: Vec<u64>,
    /// The row-major offset of the line's first element in the operand.
    base: IntValue<'ctx>,
    members: Vec<Member<'ctx>>,
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// The value compared for an element of `elem`: f16 and bf16 widen to
    /// f32 (exact), `i1` as the byte shared memory holds, others as they are.
    fn sort_key(
        &mut self,
        v: BasicValueEnum<'ctx>,
        elem: ScalarType,
        from_smem: bool,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        Ok(match elem {
            ScalarType::F16 | ScalarType::BF16 => self
                .b
                .build_float_ext(v.into_float_value(), self.ctx.f32_type(), "")
                .map_err(llvm)?
                .into(),
            ScalarType::I1 if !from_smem => self
                .b
                .build_int_z_extend(v.into_int_value(), self.ctx.i8_type(), "")
                .map_err(llvm)?
                .into(),
            _ => v,
        })
    }

    /// `a < b` in the sort order (NaN above every number).
    fn sort_less(
        &mut self,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<IntValue<'ctx>, NvptxError> {
        if a.is_float_value() {
            let (a, b) = (a.into_float_value(), b.into_float_value());
            let lt = self
                .b
                .build_float_compare(FloatPredicate::OLT, a, b, "")
                .map_err(llvm)?;
            let a_num = self
                .b
                .build_float_compare(FloatPredicate::ORD, a, a, "")
                .map_err(llvm)?;
            let b_nan = self
                .b
                .build_float_compare(FloatPredicate::UNO, b, b, "")
                .map_err(llvm)?;
            let below_nan = self.b.build_and(a_num, b_nan, "").map_err(llvm)?;
            self.b.build_or(lt, below_nan, "").map_err(llvm)
        } else {
            self.b
                .build_int_compare(
                    IntPredicate::SLT,
                    a.into_int_value(),
                    b.into_int_value(),
                    "",
                )
                .map_err(llvm)
        }
    }

    /// The LLVM type an element of `elem` has in shared memory.
    fn smem_elem_llvm(&self, elem: ScalarType) -> inkwell::types::BasicTypeEnum<'ctx> {
        match elem {
            ScalarType::I1 => self.ctx.i8_type().into(),
            other => super::scalar_llvm(self.ctx, other),
        }
    }

    /// `tile.sort {axis, descending}` and `tile.topk {axis, k, largest}`.
    pub(super) fn sort(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let x = data.operands[0];
        let elem = self.elem_of(x)?;
        let (regs, d) = self.tile_operand(op, 0)?;
        let axis = axis_of(&data, d.shape.len())
            .ok_or_else(|| err_at(&data.loc, data.kind, "a missing or out-of-range `axis`"))?;
        let n = d.shape[axis];
        let (descending, k) = if data.kind == OpKind::TopK {
            let k = data
                .attr("k")
                .and_then(Attr::as_int)
                .ok_or_else(|| err_at(&data.loc, data.kind, "the attribute `k` is missing"))?;
            if k < 1 || k as u64 > n {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("k = {k} is out of range for an axis of {n} elements"),
                ));
            }
            let largest = data.attr("largest").and_then(Attr::as_bool).unwrap_or(true);
            (largest, k as u64)
        } else {
            let desc = data
                .attr("descending")
                .and_then(Attr::as_bool)
                .unwrap_or(false);
            (desc, n)
        };
        let mut out_shape = d.shape.clone();
        out_shape[axis] = k;
        let (vals_d, idx_d) = (
            self.layout_of(data.results[0])?,
            self.layout_of(data.results[1])?,
        );
        if vals_d.shape != out_shape || idx_d.shape != out_shape {
            return Err(err_at(
                &data.loc,
                data.kind,
                format!(
                    "internal: the results are {:?} and {:?}, not {out_shape:?}",
                    vals_d.shape, idx_d.shape
                ),
            ));
        }
        let in_w = row_major(&d.shape);
        let out_w = row_major(&out_shape);
        let numel: u64 = d.shape.iter().product();
        let idx_base = sort_index_offset(numel, elem.bytes().max(1) as u64);
        let i32t = self.ctx.i32_type();
        let zero = i32t.const_zero();

        // 1. The operand into shared memory.
        self.smem_write(&regs, &d, &in_w, 0, elem, 0)?;
        self.barrier()?;

        // The thread's registers, by line.
        let mut lines: Vec<Line<'ctx>> = Vec::new();
        for (r, &v) in regs.iter().enumerate() {
            if d.is_dup_reg(r) {
                continue;
            }
            let mut c = self.coords(&d, r)?;
            let pos = c[axis];
            c[axis] = zero;
            let key = self.sort_key(v, elem, false)?;
            let out_base = self.offset(&c, &out_w, 0)?;
            let member = Member { pos, key, out_base };
            let mut line_key = d.reg_coord[r].clone();
            line_key[axis] = 0;
            match lines.iter_mut().find(|l| l.key == line_key) {
                Some(l) => l.members.push(member),
                None => {
                    let base = self.offset(&c, &in_w, 0)?;
                    lines.push(Line {
                        key: line_key,
                        base,
                        members: vec![member],
                    });
                }
            }
        }

        // 2. Ranks: one loop over the axis.
        let pre = self.b.get_insert_block().expect("positioned");
        let body = self.ctx.append_basic_block(self.function, "rank.body");
        let exit = self.ctx.append_basic_block(self.function, "rank.exit");
        self.b.build_unconditional_branch(body).map_err(llvm)?;
        self.b.position_at_end(body);
        let j_phi = self.b.build_phi(i32t, "j").map_err(llvm)?;
        let j = j_phi.as_basic_value().into_int_value();
        let mut count_phis = Vec::new();
        for line in &lines {
            for _ in &line.members {
                count_phis.push(self.b.build_phi(i32t, "rank").map_err(llvm)?);
            }
        }
        let stride = i32t.const_int(in_w[axis], false);
        let j_off = self.b.build_int_mul(j, stride, "").map_err(llvm)?;
        let mut next_counts = Vec::with_capacity(count_phis.len());
        let mut phi_at = 0;
        let elem_t = self.smem_elem_llvm(elem);
        for line in &lines {
            let at = self.b.build_int_add(line.base, j_off, "").map_err(llvm)?;
            let p = self.smem_ptr(elem, 0, at)?;
            let xj = self.b.build_load(elem_t, p, "").map_err(llvm)?;
            let xj = self.sort_key(xj, elem, true)?;
            for m in &line.members {
                // Element j precedes element i when, ascending, x[j] < x[i],
                // or (stable) j < i and not x[i] < x[j].
                let j_lt_x = self.sort_less(xj, m.key)?;
                let x_lt_j = self.sort_less(m.key, xj)?;
                let (strict, not_after) = if descending {
                    (x_lt_j, j_lt_x)
                } else {
                    (j_lt_x, x_lt_j)
                };
                let earlier = self
                    .b
                    .build_int_compare(IntPredicate::ULT, j, m.pos, "")
                    .map_err(llvm)?;
                let not_after = self.b.build_not(not_after, "").map_err(llvm)?;
                let before = self
                    .b
                    .build_select(earlier, not_after, strict, "")
                    .map_err(llvm)?
                    .into_int_value();
                let inc = self.b.build_int_z_extend(before, i32t, "").map_err(llvm)?;
                let count = count_phis[phi_at].as_basic_value().into_int_value();
                next_counts.push(self.b.build_int_add(count, inc, "").map_err(llvm)?);
                phi_at += 1;
            }
        }
        let j_next = self
            .b
            .build_int_add(j, i32t.const_int(1, false), "")
            .map_err(llvm)?;
        let more = self
            .b
            .build_int_compare(IntPredicate::ULT, j_next, i32t.const_int(n, false), "")
            .map_err(llvm)?;
        let latch = self.b.get_insert_block().expect("positioned");
        self.b
            .build_conditional_branch(more, body, exit)
            .map_err(llvm)?;
        j_phi.add_incoming(&[(&zero, pre), (&j_next, latch)]);
        for (phi, next) in count_phis.iter().zip(&next_counts) {
            phi.add_incoming(&[(&zero, pre), (next, latch)]);
        }
        self.b.position_at_end(exit);

        // 3. Each element's position, at its rank.
        let members: Vec<Member<'ctx>> = lines.iter().flat_map(|l| l.members.clone()).collect();
        let ranks = next_counts;
        let out_stride = i32t.const_int(out_w[axis], false);
        self.when(d.owner, |this| {
            for (m, &rank) in members.iter().zip(&ranks) {
                let scaled = this.b.build_int_mul(rank, out_stride, "").map_err(llvm)?;
                let at = this.b.build_int_add(m.out_base, scaled, "").map_err(llvm)?;
                let write = |this: &mut Self| -> Result<(), NvptxError> {
                    let p = this.smem_ptr(ScalarType::I32, idx_base, at)?;
                    this.b.build_store(p, m.pos).map_err(llvm)?;
                    Ok(())
                };
                if k < n {
                    let kept = this
                        .b
                        .build_int_compare(
                            IntPredicate::ULT,
                            rank,
                            this.ctx.i32_type().const_int(k, false),
                            "",
                        )
                        .map_err(llvm)?;
                    this.when(kept, write)?;
                } else {
                    write(this)?;
                }
            }
            Ok(())
        })?;
        self.barrier()?;

        // 4. The results: positions, and the values at them.
        let mut idx_out = Vec::with_capacity(idx_d.regs);
        for r in 0..idx_d.regs {
            let c = self.coords(&idx_d, r)?;
            let at = self.offset(&c, &out_w, 0)?;
            let p = self.smem_ptr(ScalarType::I32, idx_base, at)?;
            idx_out.push(self.b.build_load(i32t, p, "pos").map_err(llvm)?);
        }
        let mut vals_out = Vec::with_capacity(vals_d.regs);
        for r in 0..vals_d.regs {
            let mut c = self.coords(&vals_d, r)?;
            let at = self.offset(&c, &out_w, 0)?;
            let p = self.smem_ptr(ScalarType::I32, idx_base, at)?;
            let pos = self
                .b
                .build_load(i32t, p, "pos")
                .map_err(llvm)?
                .into_int_value();
            c[axis] = zero;
            let base = self.offset(&c, &in_w, 0)?;
            let scaled = self.b.build_int_mul(pos, stride, "").map_err(llvm)?;
            let src = self.b.build_int_add(base, scaled, "").map_err(llvm)?;
            let p = self.smem_ptr(elem, 0, src)?;
            let v = self.b.build_load(elem_t, p, "").map_err(llvm)?;
            vals_out.push(if elem == ScalarType::I1 {
                self.b
                    .build_int_compare(
                        IntPredicate::NE,
                        v.into_int_value(),
                        self.ctx.i8_type().const_zero(),
                        "",
                    )
                    .map_err(llvm)?
                    .into()
            } else {
                v
            });
        }
        self.set(data.results[0], Lowered::Tile(vals_out, vals_d));
        self.set(data.results[1], Lowered::Tile(idx_out, idx_d));
        Ok(())
    }
}
