//! Atomics on global memory: `tile.atomic_rmw` (add, max, min, xchg) and
//! `tile.atomic_cas`, as LLVM `atomicrmw` / `cmpxchg` (`acq_rel`, device
//! scope, like Triton's defaults), which the NVPTX backend turns into
//! `atom.global.*` where the GPU has the instruction and into a CAS loop
//! where it does not (float max/min, f16/bf16 on older GPUs, 8- and 16-bit
//! integers).
//!
//! Semantics, against the interpreter (`interp::memops`):
//!
//! - **One atomic per element.** A tile element held by several threads or
//!   registers (*copies*, where the tile is smaller than its layout's
//!   footprint) is updated once, by its owner, like `store`. When the op's
//!   result is used, the copies get the owner's old value: copies in other
//!   registers of the thread directly, copies in other lanes or warps
//!   through a static shared buffer (owners write, barrier, everyone reads;
//!   one buffer for the kernel, sized for the largest op; the barrier before
//!   the writes, where an earlier use may still be reading, is a
//!   `tile.barrier` from `gpu::barriers`, whose `atomic_shares_old_values`
//!   is this condition). A scalar atomic is done by thread 0 and its
//!   old value (when used) reaches every thread the same way.
//! - **Masks.** Masked-off elements touch no memory and return 0.
//! - **Kinds.** Integer `add`/`max`/`min` are signed, and wrap on overflow
//!   (the interpreter reports an overflow error instead: the GPU cannot).
//!   Float `max`/`min` are `fmaximum`/`fminimum`: NaN-propagating, -0 below
//!   +0, as `ir::numeric::fmax`. `i1` max/min are or/and (on a byte), `xchg`
//!   on floats exchanges the bits. `atomic_cas` compares bits, as the
//!   interpreter does (`-0.0` does not match `0.0`, a NaN matches itself).
//!   `f32` `add` is `atom.add.f32`, which flushes subnormals to zero.
//! - **Order.** The interpreter applies a tile's elements in row-major
//!   order; on the GPU, elements hitting one address are applied in an
//!   unspecified order. Commutative kinds (integer add, max, min) leave
//!   the same memory; the old values returned for colliding elements (and
//!   the winner of `xchg`/`cas`, and float sums' rounding) may differ.

use std::rc::Rc;

use inkwell::AddressSpace;
use inkwell::IntPredicate;
use inkwell::llvm_sys::LLVMAtomicOrdering;
use inkwell::llvm_sys::LLVMAtomicRMWBinOp;
use inkwell::values::{AsValueRef, BasicValueEnum, IntValue, PointerValue};

use super::layout::TileLayout;
use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::gpu::plan::row_major;
use crate::ir::{OpId, OpKind, ScalarType};

/// What one element of an atomic op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AtomicKind {
    Add,
    Max,
    Min,
    Xchg,
    Cas,
}

impl AtomicKind {
    fn parse(kind: &str) -> Option<AtomicKind> {
        Some(match kind {
            "add" => AtomicKind::Add,
            "max" => AtomicKind::Max,
            "min" => AtomicKind::Min,
            "xchg" => AtomicKind::Xchg,
            _ => return None,
        })
    }
}

/// `atomicrmw op ptr, val syncscope("device") acq_rel`. inkwell's
/// `build_atomicrmw` takes integers only and no sync scope, hence the C API.
#[allow(unsafe_code)]
fn build_rmw<'ctx>(
    b: &inkwell::builder::Builder<'ctx>,
    ctx: &'ctx inkwell::context::Context,
    op: LLVMAtomicRMWBinOp,
    ptr: PointerValue<'ctx>,
    val: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>, NvptxError> {
    if b.get_insert_block().is_none() {
        return Err(NvptxError("internal: an atomic outside any block".into()));
    }
    let scope = device_scope(ctx);
    // SAFETY: the builder is positioned (checked above); `ptr` and `val`
    // are values of this builder's context, `ptr` a pointer and `val` of a
    // type `op` accepts (the callers pick `op` from `val`'s type); the C
    // call only appends one instruction and returns it, of `val`'s type.
    unsafe {
        let v = inkwell::llvm_sys::core::LLVMBuildAtomicRMWSyncScope(
            b.as_mut_ptr(),
            op,
            ptr.as_value_ref(),
            val.as_value_ref(),
            LLVMAtomicOrdering::LLVMAtomicOrderingAcquireRelease,
            scope,
        );
        Ok(BasicValueEnum::new(v))
    }
}

/// The `device` sync scope of `ctx` (`.gpu` in PTX).
#[allow(unsafe_code)]
fn device_scope(ctx: &inkwell::context::Context) -> u32 {
    let name = "device";
    // SAFETY: `ctx` is a live context; the name is passed with its length
    // (no NUL needed); LLVM interns it and returns its id.
    unsafe {
        inkwell::llvm_sys::core::LLVMGetSyncScopeID(ctx.raw(), name.as_ptr().cast(), name.len())
    }
}

/// `cmpxchg ptr, cmp, new syncscope("device") acq_rel acquire`; returns the old value.
#[allow(unsafe_code)]
fn build_cas<'ctx>(
    b: &inkwell::builder::Builder<'ctx>,
    ctx: &'ctx inkwell::context::Context,
    ptr: PointerValue<'ctx>,
    cmp: IntValue<'ctx>,
    new: IntValue<'ctx>,
) -> Result<IntValue<'ctx>, NvptxError> {
    if b.get_insert_block().is_none() {
        return Err(NvptxError("internal: an atomic outside any block".into()));
    }
    if cmp.get_type() != new.get_type() {
        return Err(NvptxError(
            "internal: cmpxchg operands of different types".into(),
        ));
    }
    let scope = device_scope(ctx);
    // SAFETY: as in `build_rmw`; `cmp` and `new` are integers of one type.
    let pair = unsafe {
        inkwell::values::StructValue::new(inkwell::llvm_sys::core::LLVMBuildAtomicCmpXchgSyncScope(
            b.as_mut_ptr(),
            ptr.as_value_ref(),
            cmp.as_value_ref(),
            new.as_value_ref(),
            LLVMAtomicOrdering::LLVMAtomicOrderingAcquireRelease,
            LLVMAtomicOrdering::LLVMAtomicOrderingAcquire,
            scope,
        ))
    };
    Ok(b.build_extract_value(pair, 0, "old")
        .map_err(llvm)?
        .into_int_value())
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// `tile.atomic_rmw` and `tile.atomic_cas`.
    pub(super) fn atomic(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let fail = |msg: String| err_at(&data.loc, data.kind, msg);
        let (elem, _) = self
            .tf
            .body
            .ty(data.operands[0])
            .pointee()
            .ok_or_else(|| fail("the first operand is not a pointer".into()))?;
        let kind = if data.kind == OpKind::AtomicCas {
            AtomicKind::Cas
        } else {
            let name = data.attr("kind").and_then(|a| a.as_str()).unwrap_or("");
            AtomicKind::parse(name).ok_or_else(|| {
                fail(format!(
                    "unknown atomic kind `{name}` (add, max, min, xchg)"
                ))
            })?
        };
        if kind == AtomicKind::Add && elem == ScalarType::I1 {
            return Err(fail("atomic `add` is not defined on i1".into()));
        }
        let p = self.get(data.operands[0]);
        // Operands after the pointer: (value, mask) or (compare, value).
        let (value, compare, mask) = if kind == AtomicKind::Cas {
            (
                self.get(data.operands[2]),
                Some(self.get(data.operands[1])),
                None,
            )
        } else {
            (
                self.get(data.operands[1]),
                None,
                data.operands.get(2).map(|&m| self.get(m)),
            )
        };
        let result = data.results[0];
        let used = self.tf.body.use_counts()[result.0 as usize] > 0;
        let zero = scalar_llvm(self.ctx, elem).const_zero();
        let one = |this: &mut Self, r: usize| -> Result<BasicValueEnum<'ctx>, NvptxError> {
            let ptr = this.regs_of(&p, r).into_pointer_value();
            let v = this.regs_of(&value, r);
            let c = compare.as_ref().map(|c| this.regs_of(c, r));
            this.atomic_one(kind, elem, ptr, v, c)
        };
        let i32t = self.ctx.i32_type();
        match &p {
            Lowered::Scalar(_) => {
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
                let old = self.guarded(cond, |this| one(this, 0), zero)?;
                let old = if used {
                    self.share_scalar(old, elem)?
                } else {
                    old
                };
                self.set(result, Lowered::Scalar(old));
            }
            Lowered::Tile(regs, d) => {
                let d = d.clone();
                let n = regs.len();
                let mut out: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(n);
                for r in 0..n {
                    if d.is_dup_reg(r) {
                        // A copy of register `r` without its copy bits, which
                        // comes first: take its old value.
                        out.push(out[r & !(d.dup_reg_mask as usize)]);
                        continue;
                    }
                    let mut cond = d.owner;
                    if let Some(m) = &mask {
                        cond = self
                            .b
                            .build_and(cond, self.regs_of(m, r).into_int_value(), "")
                            .map_err(llvm)?;
                    }
                    let old = self.guarded(cond, |this| one(this, r), zero)?;
                    out.push(old);
                }
                if used && (d.dup_lane_mask() | d.dup_warp_mask()) != 0 {
                    out = self.share_tile(&out, &d, elem)?;
                }
                self.set(result, Lowered::Tile(out, d));
            }
        }
        Ok(())
    }

    /// One atomic on the element at `ptr`; returns the old value.
    fn atomic_one(
        &mut self,
        kind: AtomicKind,
        elem: ScalarType,
        ptr: PointerValue<'ctx>,
        v: BasicValueEnum<'ctx>,
        compare: Option<BasicValueEnum<'ctx>>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        use LLVMAtomicRMWBinOp as B;
        let (b, ctx) = (&self.b, self.ctx);
        let bits = match elem.bits() {
            0..=8 => ctx.i8_type(),
            16 => ctx.i16_type(),
            32 => ctx.i32_type(),
            _ => ctx.i64_type(),
        };
        // Integers (bits of floats, bytes of i1) for exchanges and compares.
        let as_int = |x: BasicValueEnum<'ctx>| -> Result<IntValue<'ctx>, NvptxError> {
            Ok(match elem {
                ScalarType::I1 => b
                    .build_int_z_extend(x.into_int_value(), bits, "")
                    .map_err(llvm)?,
                s if s.is_float() => b
                    .build_bit_cast(x, bits, "")
                    .map_err(llvm)?
                    .into_int_value(),
                _ => x.into_int_value(),
            })
        };
        let from_int = |x: IntValue<'ctx>| -> Result<BasicValueEnum<'ctx>, NvptxError> {
            Ok(match elem {
                ScalarType::I1 => b
                    .build_int_compare(IntPredicate::NE, x, bits.const_zero(), "")
                    .map_err(llvm)?
                    .into(),
                s if s.is_float() => b.build_bit_cast(x, scalar_llvm(ctx, s), "").map_err(llvm)?,
                _ => x.into(),
            })
        };
        let float = elem.is_float();
        match kind {
            AtomicKind::Cas => {
                let c = compare.expect("a compare value for cas");
                let old = build_cas(b, ctx, ptr, as_int(c)?, as_int(v)?)?;
                from_int(old)
            }
            AtomicKind::Xchg => {
                let old = build_rmw(b, ctx, B::LLVMAtomicRMWBinOpXchg, ptr, as_int(v)?.into())?;
                from_int(old.into_int_value())
            }
            AtomicKind::Add if float => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpFAdd, ptr, v),
            AtomicKind::Max if float => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpFMaximum, ptr, v),
            AtomicKind::Min if float => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpFMinimum, ptr, v),
            AtomicKind::Max | AtomicKind::Min if elem == ScalarType::I1 => {
                let op = if kind == AtomicKind::Max {
                    B::LLVMAtomicRMWBinOpOr
                } else {
                    B::LLVMAtomicRMWBinOpAnd
                };
                let old = build_rmw(b, ctx, op, ptr, as_int(v)?.into())?;
                from_int(old.into_int_value())
            }
            AtomicKind::Add => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpAdd, ptr, v),
            AtomicKind::Max => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpMax, ptr, v),
            AtomicKind::Min => build_rmw(b, ctx, B::LLVMAtomicRMWBinOpMin, ptr, v),
        }
    }

    /// The static shared buffer through which owners pass old values to
    /// copies: one for the kernel, as large as the largest op needs (every
    /// use is write, barrier, read, after the `tile.barrier` that
    /// `gpu::barriers` places where an earlier use may still be reading, so
    /// uses never overlap).
    fn atomic_buffer(&mut self) -> Result<PointerValue<'ctx>, NvptxError> {
        const NAME: &str = "tilefuse_atomic_smem";
        if let Some(g) = self.module.get_global(NAME) {
            return Ok(g.as_pointer_value());
        }
        let body = &self.tf.body;
        let uses = body.use_counts();
        let mut bytes = 0u64;
        for op in body.walk(body.entry()) {
            let d = body.op(op);
            if !matches!(d.kind, OpKind::AtomicRmw | OpKind::AtomicCas)
                || uses[d.results[0].0 as usize] == 0
            {
                continue;
            }
            let r = d.results[0];
            let elem_bytes = body.ty(r).scalar_elem().map_or(8, |s| s.bytes() as u64);
            let numel = if body.ty(r).is_tile() {
                let l = self.layout_of(r)?;
                if (l.dup_lane_mask() | l.dup_warp_mask()) == 0 {
                    continue;
                }
                l.shape.iter().product()
            } else {
                1
            };
            bytes = bytes.max(numel * elem_bytes);
        }
        let ty = self.ctx.i8_type().array_type(bytes.max(1) as u32);
        let g = self
            .module
            .add_global(ty, Some(AddressSpace::from(3u16)), NAME);
        g.set_linkage(inkwell::module::Linkage::Internal);
        g.set_initializer(&ty.get_undef());
        g.set_alignment(16);
        Ok(g.as_pointer_value())
    }

    /// The type an element takes in shared memory (`i1` as a byte).
    fn stored_llvm(&self, elem: ScalarType) -> inkwell::types::BasicTypeEnum<'ctx> {
        match elem {
            ScalarType::I1 => self.ctx.i8_type().into(),
            s => scalar_llvm(self.ctx, s),
        }
    }

    fn stored(
        &self,
        v: BasicValueEnum<'ctx>,
        elem: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        Ok(if elem == ScalarType::I1 {
            self.b
                .build_int_z_extend(v.into_int_value(), self.ctx.i8_type(), "")
                .map_err(llvm)?
                .into()
        } else {
            v
        })
    }

    fn unstored(
        &self,
        v: BasicValueEnum<'ctx>,
        elem: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        Ok(if elem == ScalarType::I1 {
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
        })
    }

    /// Thread 0's `v` in every thread, through shared memory.
    fn share_scalar(
        &mut self,
        v: BasicValueEnum<'ctx>,
        elem: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let buf = self.atomic_buffer()?;
        let stored = self.stored(v, elem)?;
        let i32t = self.ctx.i32_type();
        let first = self
            .b
            .build_int_compare(IntPredicate::EQ, self.tid, i32t.const_zero(), "")
            .map_err(llvm)?;
        self.when(first, |this| {
            this.b.build_store(buf, stored).map(|_| ()).map_err(llvm)
        })?;
        self.barrier()?;
        let t = self.stored_llvm(elem);
        let read = self.b.build_load(t, buf, "").map_err(llvm)?;
        self.unstored(read, elem)
    }

    /// The owners' values of a tile laid out by `d` in every copy, through shared memory.
    fn share_tile(
        &mut self,
        regs: &[BasicValueEnum<'ctx>],
        d: &Rc<TileLayout<'ctx>>,
        elem: ScalarType,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        let buf = self.atomic_buffer()?;
        let t = self.stored_llvm(elem);
        let w = row_major(&d.shape);
        let owned: Vec<(usize, BasicValueEnum<'ctx>)> = regs
            .iter()
            .enumerate()
            .filter(|(r, _)| !d.is_dup_reg(*r))
            .map(|(r, v)| (r, *v))
            .collect();
        let dd = d.clone();
        self.when(d.owner, |this| {
            for (r, v) in owned {
                let c = this.coords(&dd, r)?;
                let off = this.offset(&c, &w, 0)?;
                let p = super::super::kernel::gep(&this.b, t, buf, &[off], "")?;
                let v = this.stored(v, elem)?;
                this.b.build_store(p, v).map_err(llvm)?;
            }
            Ok(())
        })?;
        self.barrier()?;
        let mut out = Vec::with_capacity(regs.len());
        for r in 0..regs.len() {
            let c = self.coords(d, r)?;
            let off = self.offset(&c, &w, 0)?;
            let p = super::super::kernel::gep(&self.b, t, buf, &[off], "")?;
            let v = self.b.build_load(t, p, "").map_err(llvm)?;
            out.push(self.unstored(v, elem)?);
        }
        Ok(out)
    }
}
