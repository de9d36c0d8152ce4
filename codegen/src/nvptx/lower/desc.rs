//! Tensor descriptors: `tile.make_desc`, `tile.desc_load`, `tile.desc_store`.
//!
//! A descriptor is the same in every thread, so it is a
//! [`Lowered::Scalar`] holding an LLVM struct `{ ptr addrspace(1) base,
//! i64 shape.., i64 strides.. }` (shapes and strides in elements). Being one
//! LLVM value, it flows through `for`/`if`/`while` phis like any scalar,
//! and O3 splits it back into its fields.
//!
//! `desc_load` reads, for each register of the result (laid out by the GPU
//! pipeline like any tile), the element at global coordinate `offset[d] +
//! c[d]` if every coordinate lies in `0..shape[d]`, else 0 — the
//! interpreter's "parts out of shape read 0". `desc_store` writes each
//! element of the value inside the shape, owners only (copies never write).
//! Address arithmetic is in i64. These are per-register masked strided
//! accesses; bulk copies (TMA on `sm_90`) come later.

use inkwell::IntPredicate;
use inkwell::types::{BasicTypeEnum, StructType};
use inkwell::values::{BasicValueEnum, IntValue, PointerValue, StructValue};

use super::layout::TileLayout;
use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::ir::{OpId, Type};

impl<'ctx> Lowerer<'ctx, '_> {
    /// The LLVM struct of a rank-`rank` descriptor.
    fn desc_type(&self, rank: usize) -> StructType<'ctx> {
        let i64t: BasicTypeEnum = self.ctx.i64_type().into();
        let mut fields: Vec<BasicTypeEnum> =
            vec![self.ctx.ptr_type(inkwell::AddressSpace::from(1u16)).into()];
        fields.extend(std::iter::repeat_n(i64t, 2 * rank));
        self.ctx.struct_type(&fields, false)
    }

    /// `tile.make_desc base, shapes.., strides..`.
    pub(super) fn make_desc(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Type::Desc(_, block) = self.tf.body.ty(data.results[0]).clone() else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the result is not a descriptor",
            ));
        };
        let rank = block.len();
        if data.operands.len() != 1 + 2 * rank {
            return Err(err_at(
                &data.loc,
                data.kind,
                format!(
                    "a rank-{rank} descriptor takes the base, {rank} shapes and {rank} strides"
                ),
            ));
        }
        let ty = self.desc_type(rank);
        let mut agg = ty.get_undef();
        for (i, &v) in data.operands.iter().enumerate() {
            let Lowered::Scalar(x) = self.get(v) else {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("operand {i} must be a scalar"),
                ));
            };
            agg = self
                .b
                .build_insert_value(agg, x, i as u32, "desc")
                .map_err(llvm)?
                .into_struct_value();
        }
        self.set(data.results[0], Lowered::Scalar(agg.into()));
        Ok(())
    }

    /// The descriptor operand of `op` with its fields: base, shapes, strides.
    #[allow(clippy::type_complexity)]
    fn desc_fields(
        &mut self,
        op: OpId,
    ) -> Result<(PointerValue<'ctx>, Vec<IntValue<'ctx>>, Vec<IntValue<'ctx>>), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Type::Desc(_, block) = self.tf.body.ty(data.operands[0]).clone() else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the first operand is not a descriptor",
            ));
        };
        let rank = block.len();
        let agg: StructValue<'ctx> = match self.get(data.operands[0]) {
            Lowered::Scalar(BasicValueEnum::StructValue(s)) => s,
            _ => {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    "internal: the descriptor was not lowered to a record",
                ));
            }
        };
        let field = |this: &Self, i: usize| this.b.build_extract_value(agg, i as u32, "");
        let base = field(self, 0).map_err(llvm)?.into_pointer_value();
        let mut shape = Vec::with_capacity(rank);
        let mut strides = Vec::with_capacity(rank);
        for d in 0..rank {
            shape.push(field(self, 1 + d).map_err(llvm)?.into_int_value());
            strides.push(field(self, 1 + rank + d).map_err(llvm)?.into_int_value());
        }
        Ok((base, shape, strides))
    }

    /// The i32 offsets (operands 1..=rank) of a descriptor access, sign-extended to i64.
    fn desc_offsets(&mut self, op: OpId, rank: usize) -> Result<Vec<IntValue<'ctx>>, NvptxError> {
        let data = self.tf.body.op(op).clone();
        let i64t = self.ctx.i64_type();
        let mut out = Vec::with_capacity(rank);
        for i in 0..rank {
            let Some(&v) = data.operands.get(1 + i) else {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("a rank-{rank} descriptor takes {rank} offsets"),
                ));
            };
            let Lowered::Scalar(x) = self.get(v) else {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("offset {i} must be a scalar"),
                ));
            };
            out.push(
                self.b
                    .build_int_s_extend_or_bit_cast(x.into_int_value(), i64t, "")
                    .map_err(llvm)?,
            );
        }
        Ok(out)
    }

    /// For register `r` of a block laid out by `d`: whether its element
    /// lies inside the shape, and its address.
    #[allow(clippy::too_many_arguments)]
    fn desc_element(
        &mut self,
        d: &TileLayout<'ctx>,
        r: usize,
        elem_t: BasicTypeEnum<'ctx>,
        base: PointerValue<'ctx>,
        shape: &[IntValue<'ctx>],
        strides: &[IntValue<'ctx>],
        offsets: &[IntValue<'ctx>],
    ) -> Result<(IntValue<'ctx>, PointerValue<'ctx>), NvptxError> {
        let i64t = self.ctx.i64_type();
        let coords = self.coords(d, r)?;
        let mut inside = self.ctx.bool_type().const_int(1, false);
        let mut elems = i64t.const_zero();
        for (dim, c) in coords.iter().enumerate() {
            let c64 = self.b.build_int_z_extend(*c, i64t, "").map_err(llvm)?;
            let g = self.b.build_int_add(offsets[dim], c64, "g").map_err(llvm)?;
            let lo = self
                .b
                .build_int_compare(IntPredicate::SGE, g, i64t.const_zero(), "")
                .map_err(llvm)?;
            let hi = self
                .b
                .build_int_compare(IntPredicate::SLT, g, shape[dim], "")
                .map_err(llvm)?;
            let ok = self.b.build_and(lo, hi, "").map_err(llvm)?;
            inside = self.b.build_and(inside, ok, "inside").map_err(llvm)?;
            let term = self.b.build_int_mul(g, strides[dim], "").map_err(llvm)?;
            elems = self.b.build_int_add(elems, term, "").map_err(llvm)?;
        }
        let ptr = super::super::kernel::gep(&self.b, elem_t, base, &[elems], "")?;
        Ok((inside, ptr))
    }

    /// `tile.desc_load desc, offsets..`.
    pub(super) fn desc_load(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Type::Desc(elem, block) = self.tf.body.ty(data.operands[0]).clone() else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the first operand is not a descriptor",
            ));
        };
        let elem_t = scalar_llvm(self.ctx, elem);
        let (base, shape, strides) = self.desc_fields(op)?;
        let offsets = self.desc_offsets(op, block.len())?;
        let d = self.layout_of(data.results[0])?;
        let zero = elem_t.const_zero();
        let mut out = Vec::with_capacity(d.regs);
        for r in 0..d.regs {
            let (inside, ptr) =
                self.desc_element(&d, r, elem_t, base, &shape, &strides, &offsets)?;
            let v = self.guarded(
                inside,
                |this| this.b.build_load(elem_t, ptr, "").map_err(llvm),
                zero,
            )?;
            out.push(v);
        }
        self.set(data.results[0], Lowered::Tile(out, d));
        Ok(())
    }

    /// `tile.desc_store desc, offsets.., value`.
    pub(super) fn desc_store(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Type::Desc(elem, block) = self.tf.body.ty(data.operands[0]).clone() else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the first operand is not a descriptor",
            ));
        };
        let rank = block.len();
        let Some(&value) = data.operands.get(1 + rank) else {
            return Err(err_at(
                &data.loc,
                data.kind,
                format!("a rank-{rank} descriptor takes {rank} offsets and a value"),
            ));
        };
        let Lowered::Tile(regs, d) = self.get(value) else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the stored value must be a tile of the block's shape",
            ));
        };
        let elem_t = scalar_llvm(self.ctx, elem);
        let (base, shape, strides) = self.desc_fields(op)?;
        let offsets = self.desc_offsets(op, rank)?;
        for (r, &v) in regs.iter().enumerate() {
            if d.is_dup_reg(r) {
                continue; // a copy of an element another register stores
            }
            let (inside, ptr) =
                self.desc_element(&d, r, elem_t, base, &shape, &strides, &offsets)?;
            let cond = self.b.build_and(d.owner, inside, "").map_err(llvm)?;
            self.when(cond, |this| {
                this.b.build_store(ptr, v).map(|_| ()).map_err(llvm)
            })?;
        }
        Ok(())
    }
}
