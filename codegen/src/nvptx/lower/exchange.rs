//! Ops that move elements between registers and threads: `convert_layout`,
//! `broadcast`, `expand_dims`, `trans`, `reshape`, `join` and `split`.
//!
//! Each is described by offsets: the destination reads, for its coordinate
//! `c`, the source element at row-major offset `sum(c[d] * w[d])`
//! (`gpu::plan::move_weights`). When every lane and warp bit moves the two
//! tiles alike, each destination register is some source register of the
//! same thread and nothing is emitted ([`register_remap`]). Otherwise the
//! tile goes through shared memory: the owners of the source elements write
//! them at their offsets, synchronize, every thread reads its destination
//! elements. The barrier before the writes (earlier readers of the buffer
//! are done) is an explicit `tile.barrier`, placed by `gpu::barriers` only
//! where an earlier use may still be in flight; every user of shared memory
//! leaves out that leading barrier and keeps the one between its writes and
//! its reads.
//! `i1` travels as a byte.

use inkwell::values::{BasicValueEnum, IntValue, PointerValue};

use super::layout::TileLayout;
use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::gpu::plan::{move_weights, register_remap, row_major, weighted};
use crate::ir::{OpId, OpKind, ScalarType, ValueId};

impl<'ctx> Lowerer<'ctx, '_> {
    pub(super) fn barrier(&mut self) -> Result<(), NvptxError> {
        let f = super::super::intrinsics::declare(&self.module, super::super::intrinsics::BARRIER)?;
        self.b
            .build_call(f, &[self.ctx.i32_type().const_zero().into()], "")
            .map_err(llvm)?;
        Ok(())
    }

    /// The element type of tile `v`.
    pub(super) fn elem_of(&self, v: ValueId) -> Result<ScalarType, NvptxError> {
        self.tf.body.ty(v).scalar_elem().ok_or_else(|| {
            NvptxError(format!(
                "{} is a tile of pointers, which cannot be exchanged through shared memory yet",
                crate::gpu::table::describe(&self.tf.body, v)
            ))
        })
    }

    /// The thread's coordinates of register `r` of a tile laid out by `d`.
    pub(super) fn coords(
        &mut self,
        d: &TileLayout<'ctx>,
        r: usize,
    ) -> Result<Vec<IntValue<'ctx>>, NvptxError> {
        let i32t = self.ctx.i32_type();
        let mut out = Vec::with_capacity(d.shape.len());
        for (dim, &t) in d.thread_coord.iter().enumerate() {
            let c = d.reg_coord[r][dim];
            out.push(if c == 0 {
                t
            } else {
                self.b
                    .build_xor(t, i32t.const_int(c, false), "")
                    .map_err(llvm)?
            });
        }
        Ok(out)
    }

    /// `add + sum(coords[d] * weights[d])`, i32.
    pub(super) fn offset(
        &mut self,
        coords: &[IntValue<'ctx>],
        weights: &[u64],
        add: u64,
    ) -> Result<IntValue<'ctx>, NvptxError> {
        let i32t = self.ctx.i32_type();
        let mut acc = i32t.const_int(add, false);
        for (&c, &w) in coords.iter().zip(weights) {
            if w == 0 {
                continue;
            }
            let term = self
                .b
                .build_int_mul(c, i32t.const_int(w, false), "")
                .map_err(llvm)?;
            acc = self.b.build_int_add(acc, term, "off").map_err(llvm)?;
        }
        Ok(acc)
    }

    /// A pointer to element `index` (of type `elem`) of the shared buffer,
    /// after `base_bytes` bytes.
    pub(super) fn smem_ptr(
        &mut self,
        elem: ScalarType,
        base_bytes: u64,
        index: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>, NvptxError> {
        let g = self.scratch()?;
        let i8t = self.ctx.i8_type();
        let base = super::super::kernel::gep(
            &self.b,
            i8t,
            g.as_pointer_value(),
            &[self.ctx.i32_type().const_int(base_bytes, false)],
            "",
        )?;
        super::super::kernel::gep(&self.b, self.smem_llvm(elem), base, &[index], "")
    }

    fn smem_llvm(&self, elem: ScalarType) -> inkwell::types::BasicTypeEnum<'ctx> {
        match elem {
            ScalarType::I1 => self.ctx.i8_type().into(),
            other => scalar_llvm(self.ctx, other),
        }
    }

    /// The owners of the elements of `regs` (laid out by `d`) store them at
    /// `base_bytes + add + sum(c * weights)` elements.
    pub(super) fn smem_write(
        &mut self,
        regs: &[BasicValueEnum<'ctx>],
        d: &TileLayout<'ctx>,
        weights: &[u64],
        add: u64,
        elem: ScalarType,
        base_bytes: u64,
    ) -> Result<(), NvptxError> {
        let owner = d.owner;
        let regs = regs.to_vec();
        let d = d.clone();
        let weights = weights.to_vec();
        self.when(owner, |this| {
            for (r, &v) in regs.iter().enumerate() {
                if d.is_dup_reg(r) {
                    continue;
                }
                let c = this.coords(&d, r)?;
                let off = this.offset(&c, &weights, add)?;
                let p = this.smem_ptr(elem, base_bytes, off)?;
                let v = if elem == ScalarType::I1 {
                    this.b
                        .build_int_z_extend(v.into_int_value(), this.ctx.i8_type(), "")
                        .map_err(llvm)?
                        .into()
                } else {
                    v
                };
                this.b.build_store(p, v).map_err(llvm)?;
            }
            Ok(())
        })
    }

    /// Every register of a tile laid out by `d` reads the element at
    /// `base_bytes + add + sum(c * weights)` elements.
    pub(super) fn smem_read(
        &mut self,
        d: &TileLayout<'ctx>,
        weights: &[u64],
        add: u64,
        elem: ScalarType,
        base_bytes: u64,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let mut out = Vec::with_capacity(d.regs);
        for r in 0..d.regs {
            let c = self.coords(d, r)?;
            let off = self.offset(&c, weights, add)?;
            let p = self.smem_ptr(elem, base_bytes, off)?;
            let v = self
                .b
                .build_load(self.smem_llvm(elem), p, "")
                .map_err(llvm)?;
            out.push(if elem == ScalarType::I1 {
                self.b
                    .build_int_compare(
                        inkwell::IntPredicate::NE,
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
        Ok(out)
    }

    /// This thread's registers of tile operand `i` of `op`, and its layout.
    pub(super) fn tile_operand(
        &self,
        op: OpId,
        i: usize,
    ) -> Result<(Vec<BasicValueEnum<'ctx>>, std::rc::Rc<TileLayout<'ctx>>), NvptxError> {
        let data = self.tf.body.op(op);
        if self.resident.contains_key(&data.operands[i]) {
            return Err(err_at(
                &data.loc,
                data.kind,
                "internal: the operand is staged in shared memory for a dot",
            ));
        }
        match self.get(data.operands[i]) {
            Lowered::Tile(regs, d) => Ok((regs, d)),
            Lowered::Scalar(_) => Err(err_at(&data.loc, data.kind, "the operand is not a tile")),
        }
    }

    /// `convert_layout`, `broadcast`, `expand_dims`, `trans` and `reshape`.
    pub(super) fn move_elements(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let (regs, src) = self.tile_operand(op, 0)?;
        let dst = self.layout_of(data.results[0])?;
        let w = move_weights(data.kind, &data.attrs, &src.shape, &dst.shape)
            .ok_or_else(|| err_at(&data.loc, data.kind, "missing or bad attributes"))?;
        let sw = row_major(&src.shape);
        let out = match register_remap(&src, &dst, |c| weighted(c, &sw), |c| weighted(c, &w)) {
            Some(map) => map.into_iter().map(|s| regs[s]).collect(),
            None => {
                let elem = self.elem_of(data.operands[0])?;
                let (src_enc, dst_enc) = (
                    self.layouts.get(&data.operands[0]).cloned(),
                    self.layouts.get(&data.results[0]).cloned(),
                );
                if let (OpKind::ConvertLayout, Some(se), Some(de)) = (data.kind, src_enc, dst_enc)
                    && let Some(swz) = crate::gpu::swizzle::plan(&se, &de, elem, &src.shape)
                {
                    if let Some(base) = data
                        .attr(crate::gpu::shared_memory::SMEM_OFFSET)
                        .and_then(crate::ir::Attr::as_int)
                    {
                        // Resident: the dots load it one k step at a time.
                        self.stage_swizzled(&regs, &src, swz, elem, base as u64)?;
                        let res = super::Resident {
                            base: base as u64,
                            swizzle: swz,
                            layout: dst,
                            encoding: de,
                            elem,
                        };
                        self.resident.insert(data.results[0], res);
                        return Ok(());
                    }
                    let out = self.convert_to_dot_operand(&regs, &src, &dst, &de, swz, elem)?;
                    self.set(data.results[0], Lowered::Tile(out, dst));
                    return Ok(());
                }
                self.smem_write(&regs, &src, &sw, 0, elem, 0)?;
                self.barrier()?;
                self.smem_read(&dst, &w, 0, elem, 0)?
            }
        };
        self.set(data.results[0], Lowered::Tile(out, dst));
        Ok(())
    }

    /// `join(a, b)`: a new last dimension of 2, through shared memory.
    pub(super) fn join(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let (ra, da) = self.tile_operand(op, 0)?;
        let (rb, db) = self.tile_operand(op, 1)?;
        let dst = self.layout_of(data.results[0])?;
        let elem = self.elem_of(data.operands[0])?;
        let rw = row_major(&dst.shape);
        let src_w = &rw[..rw.len() - 1];
        self.smem_write(&ra, &da, src_w, 0, elem, 0)?;
        self.smem_write(&rb, &db, src_w, 1, elem, 0)?;
        self.barrier()?;
        let out = self.smem_read(&dst, &rw, 0, elem, 0)?;
        self.set(data.results[0], Lowered::Tile(out, dst));
        Ok(())
    }

    /// `split(x)`: the two halves of the last dimension (of 2), through shared memory.
    pub(super) fn split(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let (regs, src) = self.tile_operand(op, 0)?;
        let elem = self.elem_of(data.operands[0])?;
        let sw = row_major(&src.shape);
        self.smem_write(&regs, &src, &sw, 0, elem, 0)?;
        self.barrier()?;
        for (i, &res) in data.results.iter().enumerate() {
            let dst = self.layout_of(res)?;
            let out = self.smem_read(&dst, &sw[..sw.len() - 1], i as u64, elem, 0)?;
            self.set(res, Lowered::Tile(out, dst));
        }
        Ok(())
    }
}
