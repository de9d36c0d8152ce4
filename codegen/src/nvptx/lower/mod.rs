//! Lowering of specialized tile IR to LLVM NVPTX.
//!
//! [`lower_to_ptx`] first runs the GPU pipeline (`crate::gpu`): every tile
//! value gets a layout. Each tile then becomes one LLVM value per register
//! of each thread ([`layout`]), a scalar one uniform LLVM value.
//! Elementwise ops apply per register (their operands share a layout);
//! loads and stores are per register and predicated by the mask (stores
//! also by ownership, so that copies never write); ops that move elements
//! (`convert_layout`, `broadcast`, `expand_dims`, `trans`, `reshape`,
//! `join`, `split`) stay in registers when every element stays in its
//! thread and otherwise go through shared memory ([`exchange`]); reductions
//! combine registers, then lanes by butterfly shuffles, then warps through
//! shared memory ([`reduce`]); `dot` is SIMT FMAs over operands staged in
//! shared memory ([`dot`]); `for`/`if`/`while` become LLVM control flow
//! with phis ([`control`]); scans are log-steps through shared memory
//! ([`scan`]); sort and top-k rank every element of a line in shared memory
//! and scatter by rank ([`sort`]). Atomics are `atomicrmw`/`cmpxchg` done
//! once per element by its owner ([`atomic`]); descriptors are uniform
//! records and their accesses masked per-register loads and stores
//! ([`desc`]); print and assert call `vprintf` and `__assertfail` ([`debug`]).
//!
//! Every op of the tile dialect is lowered.
//!
//! Preconditions: the kernel is specialized, the tile pipeline ran (no
//! calls, no constexprs), and `keep_only_kernel` left it alone in its module.

mod atomic;
mod compute;
mod control;
mod debug;
mod desc;
mod dot;
mod exchange;
mod layout;
mod ldmatrix;
mod memory;
mod mma;
mod reduce;
mod scan;
mod sort;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::rc::Rc;

use inkwell::AddressSpace;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Module as LlvmModule;
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{BasicValueEnum, FunctionValue, GlobalValue, IntValue};

use super::NvptxError;
use super::emit::emit_ptx;
use super::intrinsics::{self, SpecialReg};
use super::kernel::declare_kernel;
use super::target::Arch;
use crate::gpu::LayoutTable;
use crate::gpu::pipeline::run_gpu_pipeline;
use crate::ir::{
    ElemType, Func, FuncKind, Location, Module, OpId, OpKind, RegionId, ScalarType, Type, ValueId,
};
use layout::{LayoutPlan, TileLayout};

use crate::gpu::SHARED_BYTES_MARKER;

/// How to lower: the target and the CTA size.
#[derive(Clone, Copy, Debug)]
pub struct LowerOptions {
    /// The architecture to emit PTX for.
    pub arch: Arch,
    /// Warps per CTA (the launch uses `32 * num_warps` threads).
    pub num_warps: u32,
}

/// Lowers kernel `kernel` of `module` and returns its PTX.
pub fn lower_to_ptx(
    module: &Module,
    kernel: &str,
    opts: LowerOptions,
) -> Result<String, NvptxError> {
    let func = module
        .func(kernel)
        .ok_or_else(|| NvptxError(format!("no kernel `{kernel}` in the module")))?;
    if func.kind != FuncKind::Kernel {
        return Err(NvptxError(format!(
            "`{kernel}` is a device function, not a kernel"
        )));
    }
    if !opts.num_warps.is_power_of_two() || opts.num_warps > 32 {
        return Err(NvptxError(format!(
            "num_warps = {} must be a power of two up to 32",
            opts.num_warps
        )));
    }
    let mut func = func.clone();
    let info = run_gpu_pipeline(&mut func, opts.arch, opts.num_warps)
        .map_err(|e| NvptxError(format!("kernel `{kernel}`: {e}")))?;
    let layouts = crate::gpu::table::read(&func).map_err(|e| NvptxError(e.to_string()))?;
    let ctx = Context::create();
    let llvm = Lowerer::new(&ctx, &func, opts, layouts, info.shared_bytes)?.run()?;
    let mut ptx = emit_ptx(&llvm, opts.arch)?;
    if info.shared_bytes > 0 {
        ptx.push_str(&format!("{SHARED_BYTES_MARKER}{}\n", info.shared_bytes));
    }
    Ok(ptx)
}

/// A lowered SSA value.
#[derive(Clone)]
pub(crate) enum Lowered<'ctx> {
    /// A scalar or pointer, the same in every thread.
    Scalar(BasicValueEnum<'ctx>),
    /// A tile: this thread's registers of it, and how the tile is distributed.
    Tile(Vec<BasicValueEnum<'ctx>>, Rc<TileLayout<'ctx>>),
}

pub(crate) struct Lowerer<'ctx, 'a> {
    ctx: &'ctx Context,
    module: LlvmModule<'ctx>,
    b: Builder<'ctx>,
    function: FunctionValue<'ctx>,
    tf: &'a Func,
    arch: Arch,
    values: HashMap<ValueId, Lowered<'ctx>>,
    layouts: LayoutTable,
    tiles: HashMap<(String, Vec<u64>), Rc<TileLayout<'ctx>>>,
    shared_bytes: u64,
    lane: IntValue<'ctx>,
    warp: IntValue<'ctx>,
    tid: IntValue<'ctx>,
    smem: Option<GlobalValue<'ctx>>,
    /// Tensor-core operands staged in shared memory for their dots (see
    /// `ldmatrix.rs`); they have no registers.
    resident: HashMap<ValueId, Resident<'ctx>>,
}

/// A tensor-core operand staged in shared memory for its dots.
#[derive(Clone)]
pub(crate) struct Resident<'ctx> {
    /// Byte offset of its buffer.
    pub base: u64,
    /// How it is laid out there.
    pub swizzle: crate::gpu::swizzle::SwizzledRows,
    /// Its (dot-operand) layout.
    pub layout: Rc<TileLayout<'ctx>>,
    /// Its dot-operand encoding.
    pub encoding: crate::gpu::Encoding,
    /// Its element type (16-bit).
    pub elem: crate::ir::ScalarType,
}

fn err_at(loc: &Location, kind: OpKind, msg: impl std::fmt::Display) -> NvptxError {
    NvptxError(format!("{loc}: {kind}: {msg}"))
}

impl<'ctx, 'a> Lowerer<'ctx, 'a> {
    fn new(
        ctx: &'ctx Context,
        tf: &'a Func,
        opts: LowerOptions,
        layouts: LayoutTable,
        shared_bytes: u64,
    ) -> Result<Self, NvptxError> {
        if !tf.consts.is_empty() {
            return Err(NvptxError(format!(
                "`{}` is not specialized: bind its constants first",
                tf.name
            )));
        }
        let module = ctx.create_module(&tf.name);
        let b = ctx.create_builder();
        let mut param_types: Vec<BasicMetadataTypeEnum> = Vec::new();
        for ty in tf.param_types() {
            param_types.push(
                llvm_type_of(ctx, &ty)
                    .map_err(|m| NvptxError(format!("kernel `{}`: {m}", tf.name)))?
                    .into(),
            );
        }
        let fn_type = ctx.void_type().fn_type(&param_types, false);
        let function = declare_kernel(&module, &tf.name, fn_type, 32 * opts.num_warps);
        let entry = ctx.append_basic_block(function, "entry");
        b.position_at_end(entry);
        let zero = ctx.i32_type().const_zero();
        let mut me = Lowerer {
            ctx,
            module,
            b,
            function,
            tf,
            arch: opts.arch,
            values: HashMap::new(),
            layouts,
            tiles: HashMap::new(),
            shared_bytes,
            lane: zero,
            warp: zero,
            tid: zero,
            smem: None,
            resident: HashMap::new(),
        };
        me.tid = me.special(SpecialReg::ThreadId(0))?;
        let i32t = ctx.i32_type();
        me.lane =
            me.b.build_and(me.tid, i32t.const_int(31, false), "lane")
                .map_err(llvm)?;
        me.warp =
            me.b.build_right_shift(me.tid, i32t.const_int(5, false), false, "warp")
                .map_err(llvm)?;
        for (i, &p) in tf.params().iter().enumerate() {
            let v = function.get_nth_param(i as u32).expect("declared above");
            me.values.insert(p, Lowered::Scalar(v));
        }
        Ok(me)
    }

    fn special(&self, reg: SpecialReg) -> Result<IntValue<'ctx>, NvptxError> {
        let f = intrinsics::special_reg(&self.module, reg)?;
        let call = self.b.build_call(f, &[], "").map_err(llvm)?;
        Ok(call.try_as_basic_value().unwrap_basic().into_int_value())
    }

    /// The distribution of tile value `v` (planned at the entry, see `run`).
    pub(crate) fn layout_of(&self, v: ValueId) -> Result<Rc<TileLayout<'ctx>>, NvptxError> {
        let key = self.layout_key(v)?;
        self.tiles.get(&key).cloned().ok_or_else(|| {
            NvptxError(format!(
                "internal: the layout of {} was not planned at the entry",
                crate::gpu::table::describe(&self.tf.body, v)
            ))
        })
    }

    fn layout_key(&self, v: ValueId) -> Result<(String, Vec<u64>), NvptxError> {
        let enc = self.layouts.get(&v).ok_or_else(|| {
            NvptxError(format!(
                "internal: {} has no layout",
                crate::gpu::table::describe(&self.tf.body, v)
            ))
        })?;
        let shape =
            self.tf.body.ty(v).const_shape().ok_or_else(|| {
                NvptxError(format!("{} has a symbolic shape", self.tf.body.ty(v)))
            })?;
        Ok((enc.to_string(), shape))
    }

    /// `coord ^= basis[b]` for every bit `b` set in `src` (a lane or warp id).
    pub(super) fn xor_bases(
        &mut self,
        src: IntValue<'ctx>,
        bases: &[Vec<u64>],
        coord: &mut [IntValue<'ctx>],
    ) -> Result<(), NvptxError> {
        let i32t = self.ctx.i32_type();
        for (bit, basis) in bases.iter().enumerate() {
            if basis.iter().all(|&c| c == 0) {
                continue;
            }
            let set = self
                .b
                .build_and(src, i32t.const_int(1 << bit, false), "")
                .map_err(llvm)?;
            let is_set = self
                .b
                .build_int_compare(inkwell::IntPredicate::NE, set, i32t.const_zero(), "")
                .map_err(llvm)?;
            for (d, &c) in basis.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let add = self
                    .b
                    .build_select(is_set, i32t.const_int(c, false), i32t.const_zero(), "")
                    .map_err(llvm)?;
                coord[d] = self
                    .b
                    .build_xor(coord[d], add.into_int_value(), "coord")
                    .map_err(llvm)?;
            }
        }
        Ok(())
    }

    /// Computes the per-thread values of a distribution (in the entry block).
    fn plan_layout(&mut self, v: ValueId) -> Result<(), NvptxError> {
        let key = self.layout_key(v)?;
        if self.tiles.contains_key(&key) {
            return Ok(());
        }
        let plan = LayoutPlan::new(&self.layouts[&v], &key.1).map_err(|e| {
            NvptxError(format!(
                "{}: {}",
                crate::gpu::table::describe(&self.tf.body, v),
                e.0
            ))
        })?;
        let i32t = self.ctx.i32_type();
        let mut coord = vec![i32t.const_zero(); key.1.len()];
        for (src, bases) in [(self.lane, &plan.lane_bases), (self.warp, &plan.warp_bases)] {
            self.xor_bases(src, bases, &mut coord)?;
        }
        let lane_dup = self
            .b
            .build_and(self.lane, i32t.const_int(plan.dup_lane_mask(), false), "")
            .map_err(llvm)?;
        let warp_dup = self
            .b
            .build_and(self.warp, i32t.const_int(plan.dup_warp_mask(), false), "")
            .map_err(llvm)?;
        let any_dup = self.b.build_or(lane_dup, warp_dup, "").map_err(llvm)?;
        let owner = self
            .b
            .build_int_compare(
                inkwell::IntPredicate::EQ,
                any_dup,
                i32t.const_zero(),
                "owner",
            )
            .map_err(llvm)?;
        self.tiles.insert(
            key,
            Rc::new(TileLayout {
                plan,
                thread_coord: coord,
                owner,
            }),
        );
        Ok(())
    }

    fn run(mut self) -> Result<LlvmModule<'ctx>, NvptxError> {
        // Create every distribution up front, in the entry block.
        let mut tiles: Vec<ValueId> = self.layouts.keys().copied().collect();
        tiles.sort();
        for v in tiles {
            self.plan_layout(v)?;
        }
        let body = self.ctx.append_basic_block(self.function, "body");
        self.b.build_unconditional_branch(body).map_err(llvm)?;
        self.b.position_at_end(body);
        let entry = self.tf.body.entry();
        self.region(entry)?;
        Ok(self.module)
    }

    /// Lowers the ops of a region; returns the operands of its terminator.
    fn region(&mut self, r: RegionId) -> Result<Vec<ValueId>, NvptxError> {
        for &op in &self.tf.body.region(r).ops.clone() {
            let data = self.tf.body.op(op);
            match data.kind {
                OpKind::Yield | OpKind::Condition => return Ok(data.operands.clone()),
                OpKind::Return => {
                    self.b.build_return(None).map_err(llvm)?;
                    return Ok(Vec::new());
                }
                _ => self.op(op)?,
            }
        }
        Ok(Vec::new())
    }

    fn get(&self, v: ValueId) -> Lowered<'ctx> {
        self.values
            .get(&v)
            .cloned()
            .expect("the verifier checked dominance")
    }

    fn set(&mut self, v: ValueId, l: Lowered<'ctx>) {
        self.values.insert(v, l);
    }

    fn op(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let unsupported = |what: &str| {
            err_at(
                &data.loc,
                data.kind,
                format!("{what} is not lowered to NVPTX yet"),
            )
        };
        match data.kind {
            OpKind::Constant => self.constant(op),
            OpKind::ProgramId | OpKind::NumPrograms => {
                let axis = data.attr("axis").and_then(|a| a.as_int()).unwrap_or(0) as u8;
                let reg = if data.kind == OpKind::ProgramId {
                    SpecialReg::CtaId(axis)
                } else {
                    SpecialReg::NumCtas(axis)
                };
                let v = self.special(reg)?;
                self.set(data.results[0], Lowered::Scalar(v.into()));
                Ok(())
            }
            OpKind::Arange => self.arange(op),
            OpKind::Splat => self.splat(op),
            OpKind::Binary(_)
            | OpKind::Unary(_)
            | OpKind::Cmp
            | OpKind::Select
            | OpKind::Fma
            | OpKind::Cast
            | OpKind::Bitcast => self.elementwise(op),
            OpKind::AddPtr => self.addptr(op),
            OpKind::Load => self.load(op),
            OpKind::Store => self.store(op),
            OpKind::Reduce => self.reduce(op),
            OpKind::ConvertLayout
            | OpKind::Broadcast
            | OpKind::ExpandDims
            | OpKind::Trans
            | OpKind::Reshape => self.move_elements(op),
            OpKind::Join => self.join(op),
            OpKind::Split => self.split(op),
            OpKind::Dot => self.dot(op),
            OpKind::Scan => self.scan(op),
            OpKind::Sort | OpKind::TopK => self.sort(op),
            OpKind::For => self.for_op(op),
            OpKind::If => self.if_op(op),
            OpKind::While => self.while_op(op),
            OpKind::AtomicRmw | OpKind::AtomicCas => self.atomic(op),
            OpKind::MakeDesc => self.make_desc(op),
            OpKind::DescLoad => self.desc_load(op),
            OpKind::DescStore => self.desc_store(op),
            OpKind::Print => self.print(op),
            OpKind::Assert => self.assert(op),
            OpKind::Barrier => self.barrier(),
            OpKind::StaticAssert | OpKind::Constexpr | OpKind::Call => Err(unsupported(
                "this op (the kernel is not specialized and optimized)",
            )),
            _ => Err(unsupported("this op")),
        }
    }

    /// The kernel's shared memory: one dynamic buffer of `shared_bytes`
    /// (the GPU pipeline's total), which every exchange uses from offset 0.
    fn scratch(&mut self) -> Result<GlobalValue<'ctx>, NvptxError> {
        if let Some(g) = self.smem {
            return Ok(g);
        }
        if self.shared_bytes == 0 {
            return Err(NvptxError(
                "internal: an op uses shared memory that allocate-shared-memory did not count"
                    .into(),
            ));
        }
        let ty = self.ctx.i8_type().array_type(0);
        let g = self
            .module
            .add_global(ty, Some(AddressSpace::from(3u16)), "tilefuse_smem");
        g.set_linkage(inkwell::module::Linkage::External);
        g.set_alignment(16);
        self.smem = Some(g);
        Ok(g)
    }
}

pub(crate) fn llvm<E: std::fmt::Display>(e: E) -> NvptxError {
    NvptxError(format!("LLVM builder: {e}"))
}

/// The LLVM type of a scalar type.
pub(crate) fn scalar_llvm<'ctx>(ctx: &'ctx Context, s: ScalarType) -> BasicTypeEnum<'ctx> {
    match s {
        ScalarType::I1 => ctx.bool_type().into(),
        ScalarType::I8 => ctx.i8_type().into(),
        ScalarType::I16 => ctx.i16_type().into(),
        ScalarType::I32 => ctx.i32_type().into(),
        ScalarType::I64 => ctx.i64_type().into(),
        ScalarType::F16 => ctx.f16_type().into(),
        ScalarType::BF16 => ctx.bf16_type().into(),
        ScalarType::F32 => ctx.f32_type().into(),
        ScalarType::F64 => ctx.f64_type().into(),
    }
}

/// The LLVM type of one element of `elem` (scalars and global pointers).
pub(crate) fn elem_llvm<'ctx>(
    ctx: &'ctx Context,
    elem: &ElemType,
) -> Result<BasicTypeEnum<'ctx>, String> {
    match elem {
        ElemType::Scalar(s) => Ok(scalar_llvm(ctx, *s)),
        ElemType::Ptr(_, crate::ir::AddrSpace::Global) => {
            Ok(ctx.ptr_type(AddressSpace::from(1u16)).into())
        }
        ElemType::Ptr(_, space) => Err(format!(
            "pointers to {} memory are not lowered yet",
            space.name()
        )),
    }
}

/// The LLVM type of a scalar or pointer IR type (kernel parameters).
fn llvm_type_of<'ctx>(ctx: &'ctx Context, ty: &Type) -> Result<BasicTypeEnum<'ctx>, String> {
    match ty.elem() {
        Some(e) if !ty.is_tile() => elem_llvm(ctx, &e),
        _ => Err(format!(
            "a parameter of type {ty} cannot be passed to a kernel"
        )),
    }
}
