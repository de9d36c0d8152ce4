//! `tile.scan` (inclusive prefix sum, product, max or min along one axis,
//! backwards when `reverse`) as a log-step (Hillis–Steele) scan through
//! shared memory.
//!
//! Every thread keeps the running value of each of its registers (copies
//! included, so copies agree bit for bit). Step `s` (for `2^s` below the
//! axis length): synchronize (the previous step's readers are done; before
//! the first step, earlier users of the buffer: `gpu::barriers` places that
//! one), the owners write the tile row-major, synchronize, and each register combines the element
//! `2^s` before it on its line (after it when `reverse`), if there is one.
//! After `ceil(log2 n)` steps each element holds the combination of all the
//! elements up to it. This works for any layout (the exchange goes through
//! row-major offsets) at the cost of two barriers per step; the shared
//! buffer is the whole tile (`gpu::shared_memory::scan_bytes`, the same
//! formula).
//!
//! f16 and bf16 scan in f32 and round once at the end
//! (`scan_compute_type`); float max/min propagate NaN and order -0 below +0
//! (`llvm.maximum`/`llvm.minimum`, as the interpreter's `fmax`/`fmin`);
//! integer sums and products wrap (the interpreter reports the overflow);
//! `i1` has max (`or`) and min (`and`) only, as in the interpreter. Float
//! sums and products combine in tree order, not left to right: they agree
//! with the interpreter within rounding.

use inkwell::IntPredicate;
use inkwell::values::BasicValueEnum;

use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::gpu::plan::row_major;
use crate::gpu::shared_memory::{axis_of, scan_compute_type};
use crate::ir::{Attr, OpId, ScalarType};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ScanKind {
    Sum,
    Prod,
    Max,
    Min,
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// `a ⊕ b` for a scan of `kind` computing in `ty`.
    fn scan_combine(
        &mut self,
        kind: ScanKind,
        ty: ScalarType,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let bld = &self.b;
        Ok(match (kind, ty.is_float()) {
            (ScanKind::Sum, true) => bld
                .build_float_add(a.into_float_value(), b.into_float_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Prod, true) => bld
                .build_float_mul(a.into_float_value(), b.into_float_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Max, true) => self.call_overloaded("llvm.maximum", a.get_type(), &[a, b])?,
            (ScanKind::Min, true) => self.call_overloaded("llvm.minimum", a.get_type(), &[a, b])?,
            (ScanKind::Max, false) if ty == ScalarType::I1 => bld
                .build_or(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Min, false) if ty == ScalarType::I1 => bld
                .build_and(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Sum, false) => bld
                .build_int_add(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Prod, false) => bld
                .build_int_mul(a.into_int_value(), b.into_int_value(), "")
                .map_err(llvm)?
                .into(),
            (ScanKind::Max, false) => self.call_overloaded("llvm.smax", a.get_type(), &[a, b])?,
            (ScanKind::Min, false) => self.call_overloaded("llvm.smin", a.get_type(), &[a, b])?,
        })
    }

    /// Converts between a float type and the f32 it computes in.
    fn float_resize(
        &mut self,
        v: BasicValueEnum<'ctx>,
        to: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let to_t = scalar_llvm(self.ctx, to).into_float_type();
        let from = v.into_float_value();
        let from_bits = from.get_type().get_bit_width();
        let to_bits = to_t.get_bit_width();
        Ok(if from_bits < to_bits {
            self.b.build_float_ext(from, to_t, "").map_err(llvm)?.into()
        } else if from_bits > to_bits {
            self.b
                .build_float_trunc(from, to_t, "")
                .map_err(llvm)?
                .into()
        } else {
            v
        })
    }

    pub(super) fn scan(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let kind = match data.attr("kind").and_then(Attr::as_str) {
            Some("sum") => ScanKind::Sum,
            Some("prod") => ScanKind::Prod,
            Some("max") => ScanKind::Max,
            Some("min") => ScanKind::Min,
            other => {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("unknown scan kind {other:?} (sum, prod, max, min)"),
                ));
            }
        };
        let reverse = data
            .attr("reverse")
            .and_then(Attr::as_bool)
            .unwrap_or(false);
        let x = data.operands[0];
        let elem = self.elem_of(x)?;
        if elem == ScalarType::I1 && matches!(kind, ScanKind::Sum | ScanKind::Prod) {
            return Err(err_at(
                &data.loc,
                data.kind,
                "sum and prod scans of i1 are not defined; cast to i32 first",
            ));
        }
        let Lowered::Tile(regs, d) = self.get(x) else {
            return Err(err_at(&data.loc, data.kind, "a scan of a scalar"));
        };
        let axis = axis_of(&data, d.shape.len())
            .ok_or_else(|| err_at(&data.loc, data.kind, "a missing or out-of-range `axis`"))?;
        let res = self.layout_of(data.results[0])?;
        if res.plan != d.plan {
            return Err(err_at(
                &data.loc,
                data.kind,
                "internal: the result is not laid out as the operand",
            ));
        }
        let n = d.shape[axis];
        let ct = scan_compute_type(elem);
        let mut cur = Vec::with_capacity(regs.len());
        for &v in &regs {
            cur.push(if ct == elem {
                v
            } else {
                self.float_resize(v, ct)?
            });
        }
        let w = row_major(&d.shape);
        let i32t = self.ctx.i32_type();
        // Each register's row-major offset and position along the axis.
        let mut at = Vec::with_capacity(regs.len());
        for r in 0..regs.len() {
            let c = self.coords(&d, r)?;
            let off = self.offset(&c, &w, 0)?;
            at.push((off, c[axis]));
        }
        let ct_llvm = match ct {
            ScalarType::I1 => self.ctx.i8_type().into(),
            other => scalar_llvm(self.ctx, other),
        };
        let mut dist = 1u64;
        while dist < n {
            if dist > 1 {
                // The previous step's reads are done (the barrier before
                // the first step is `insert-barriers`').
                self.barrier()?;
            }
            self.smem_write(&cur, &d, &w, 0, ct, 0)?;
            self.barrier()?;
            for (r, &(off, pos)) in at.iter().enumerate() {
                let step = i32t.const_int(dist * w[axis], false);
                let (valid, partner) = if reverse {
                    let valid = self
                        .b
                        .build_int_compare(
                            IntPredicate::ULT,
                            pos,
                            i32t.const_int(n - dist, false),
                            "",
                        )
                        .map_err(llvm)?;
                    (valid, self.b.build_int_add(off, step, "").map_err(llvm)?)
                } else {
                    let valid = self
                        .b
                        .build_int_compare(IntPredicate::UGE, pos, i32t.const_int(dist, false), "")
                        .map_err(llvm)?;
                    (valid, self.b.build_int_sub(off, step, "").map_err(llvm)?)
                };
                let idx = self
                    .b
                    .build_select(valid, partner, off, "")
                    .map_err(llvm)?
                    .into_int_value();
                let p = self.smem_ptr(ct, 0, idx)?;
                let mut other = self.b.build_load(ct_llvm, p, "").map_err(llvm)?;
                if ct == ScalarType::I1 {
                    other = self
                        .b
                        .build_int_compare(
                            IntPredicate::NE,
                            other.into_int_value(),
                            self.ctx.i8_type().const_zero(),
                            "",
                        )
                        .map_err(llvm)?
                        .into();
                }
                let combined = self.scan_combine(kind, ct, other, cur[r])?;
                cur[r] = self
                    .b
                    .build_select(valid, combined, cur[r], "scan")
                    .map_err(llvm)?;
            }
            dist *= 2;
        }
        let mut out = Vec::with_capacity(cur.len());
        for v in cur {
            out.push(if ct == elem {
                v
            } else {
                self.float_resize(v, elem)?
            });
        }
        self.set(data.results[0], Lowered::Tile(out, res));
        Ok(())
    }
}
