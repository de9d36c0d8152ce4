//! `tile.dot` on tensor cores: `mma.sync` over operands already in their
//! dot-operand layouts (`accelerate-dot` put them there; the conversions
//! into them are element moves like any other).
//!
//! Every register of the accumulator, A and B tiles has a coordinate
//! relative to its thread's (`LayoutPlan::reg_coord`); the fragments of one
//! `mma.sync` are found by those coordinates: the accumulator fragment at
//! rows `mr + {0, 8}`, columns `nc + {0, 1}`; A at rows `mr + {0, 8}`, `k`
//! `kk + {0, 1, 8, 9}`; B at `k` `kk + {0, 1, 8, 9}`, column `nc`. Rows step by
//! 16 per warp row, columns by 8 per warp column (the warps' own offsets are
//! in the thread's coordinate). Each pair of 16-bit elements along `k` is
//! packed into one 32-bit register.
//!
//! The instruction: m16n8k16 on `sm_80` and newer; on `sm_75`, and where `K` is
//! 8, m16n8k8 (a 16-wide `k` step is then two of them). The loop runs over
//! `k` steps outermost: an operand staged in shared memory (resident, see
//! `ldmatrix.rs`) is loaded one step's fragments at a time, right before
//! the products that use them.

use std::collections::HashMap;

use inkwell::values::{BasicValue, BasicValueEnum, FloatValue, InstructionOpcode};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::arch::Arch;
use crate::gpu::encoding::{Encoding, MMA_M, MMA_N};
use crate::ir::{OpId, ScalarType};
use crate::nvptx::inline_ptx::{
    CVT_RN_BF16X2_F32, CVT_RN_F16X2_F32, MMA_M16N8K8_BF16, MMA_M16N8K8_F16, MMA_M16N8K16_BF16,
    MMA_M16N8K16_F16, PtxInstr, emit,
};

/// The register of each (relative) coordinate; copies map to the first.
pub(super) fn by_coord(reg_coord: &[Vec<u64>]) -> HashMap<(u64, u64), usize> {
    let mut m = HashMap::new();
    for (r, c) in reg_coord.iter().enumerate() {
        m.entry((c[0], c[1])).or_insert(r);
    }
    m
}

/// The register at relative coordinate `key` of a tile of `shape` (whose
/// coordinates beyond a small tile are copies of those inside it).
fn find(
    map: &HashMap<(u64, u64), usize>,
    shape: &[u64],
    key: (u64, u64),
) -> Result<usize, NvptxError> {
    let key = (key.0 & (shape[0] - 1), key.1 & (shape[1] - 1));
    map.get(&key).copied().ok_or_else(|| {
        NvptxError(format!(
            "internal: no register at {key:?} of an mma operand"
        ))
    })
}

/// A `dot` operand: registers (with the register of each coordinate), or
/// staged in shared memory.
enum Operand<'ctx> {
    Regs(
        Vec<BasicValueEnum<'ctx>>,
        std::rc::Rc<super::layout::TileLayout<'ctx>>,
        HashMap<(u64, u64), usize>,
    ),
    Shared(super::Resident<'ctx>),
}

impl Operand<'_> {
    fn shape(&self) -> &[u64] {
        match self {
            Operand::Regs(_, l, _) => &l.shape,
            Operand::Shared(r) => &r.layout.shape,
        }
    }
}

/// The `mma.sync` for `elem` inputs with a `k` step of `k`.
fn instruction(elem: ScalarType, k: u64) -> Option<PtxInstr> {
    match (elem, k) {
        (ScalarType::F16, 16) => Some(MMA_M16N8K16_F16),
        (ScalarType::BF16, 16) => Some(MMA_M16N8K16_BF16),
        (ScalarType::F16, 8) => Some(MMA_M16N8K8_F16),
        (ScalarType::BF16, 8) => Some(MMA_M16N8K8_BF16),
        _ => None,
    }
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// This thread's operand `i` of `op`: its registers, or its staged copy.
    fn mma_operand(&self, op: OpId, i: usize) -> Result<Operand<'ctx>, NvptxError> {
        let v = self.tf.body.op(op).operands[i];
        if let Some(r) = self.resident.get(&v) {
            return Ok(Operand::Shared(r.clone()));
        }
        let (regs, layout) = self.tile_operand(op, i)?;
        let at = by_coord(&layout.reg_coord);
        Ok(Operand::Regs(regs, layout, at))
    }

    /// The 32-bit fragment registers of `operand` at the `(o, k)` matrix
    /// origins `origins` (A: `o` the row; B: `o` the column).
    fn fragments(
        &mut self,
        operand: &Operand<'ctx>,
        idx: usize,
        origins: &[(u64, u64)],
    ) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        match operand {
            Operand::Shared(r) => Ok(self
                .load_matrices(&r.layout, &r.encoding, r.swizzle, r.elem, r.base, origins)?
                .into_iter()
                .map(Into::into)
                .collect()),
            Operand::Regs(regs, layout, at) => {
                let mut out = Vec::with_capacity(origins.len());
                for &(o, k) in origins {
                    let (lo, hi) = if idx == 0 {
                        ((o, k), (o, k + 1))
                    } else {
                        ((k, o), (k + 1, o))
                    };
                    let lo = regs[find(at, &layout.shape, lo)?];
                    let hi = regs[find(at, &layout.shape, hi)?];
                    out.push(self.pack2(lo, hi)?);
                }
                Ok(out)
            }
        }
    }

    /// `dot` whose accumulator is in an `mma` layout.
    pub(super) fn dot_mma(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Some(Encoding::Mma(mma)) = self.layouts.get(&data.results[0]).cloned() else {
            return Err(err_at(&data.loc, data.kind, "internal: not an mma dot"));
        };
        let a = self.mma_operand(op, 0)?;
        let b = self.mma_operand(op, 1)?;
        let (racc, lacc) = self.tile_operand(op, 2)?;
        let elem = self.elem_of(data.operands[0])?;
        let (m, k) = (a.shape()[0], a.shape()[1]);
        let n = b.shape()[1];
        if lacc.shape != [m, n] {
            return Err(err_at(&data.loc, data.kind, "internal: accumulator shape"));
        }
        let k_step = if self.arch >= Arch::Sm80 && k % 16 == 0 {
            16
        } else {
            8
        };
        let instr = instruction(elem, k_step).ok_or_else(|| {
            err_at(
                &data.loc,
                data.kind,
                format!("no mma.sync for {elem} inputs with k = {k_step}"),
            )
        })?;
        let c_at = by_coord(&lacc.reg_coord);
        let f32t = self.ctx.f32_type();
        let ret = self.ctx.struct_type(&[f32t.into(); 4], false);
        let rows: Vec<u64> = (0..m).step_by((MMA_M * mma.wpc[0]) as usize).collect();
        let cols: Vec<u64> = (0..n).step_by((MMA_N * mma.wpc[1]) as usize).collect();
        // The accumulator fragments: rows mr + {0, 8}, columns nc + {0, 1}.
        let c_keys = |mr: u64, nc: u64| [(mr, nc), (mr, nc + 1), (mr + 8, nc), (mr + 8, nc + 1)];
        let mut acc: HashMap<(u64, u64), Vec<BasicValueEnum<'ctx>>> = HashMap::new();
        for &mr in &rows {
            for &nc in &cols {
                let mut c = Vec::with_capacity(4);
                for key in c_keys(mr, nc) {
                    c.push(racc[find(&c_at, &lacc.shape, key)?]);
                }
                acc.insert((mr, nc), c);
            }
        }
        let halves = k_step / 8;
        for kk in (0..k).step_by(k_step as usize) {
            // This k step's fragments: A's (a0a1, a2a3[, a4a5, a6a7]) per
            // row block, B's (b0b1[, b2b3]) per column block.
            let a_origins: Vec<(u64, u64)> = rows
                .iter()
                .flat_map(|&mr| {
                    (0..halves).flat_map(move |q| (0..2).map(move |h| (mr + 8 * h, kk + 8 * q)))
                })
                .collect();
            let b_origins: Vec<(u64, u64)> = cols
                .iter()
                .flat_map(|&nc| (0..halves).map(move |q| (nc, kk + 8 * q)))
                .collect();
            let a_frags = self.fragments(&a, 0, &a_origins)?;
            let b_frags = self.fragments(&b, 1, &b_origins)?;
            let per_a = (2 * halves) as usize;
            let per_b = halves as usize;
            for (i, &mr) in rows.iter().enumerate() {
                for (j, &nc) in cols.iter().enumerate() {
                    let c = acc.get_mut(&(mr, nc)).expect("initialized above");
                    let mut args: Vec<BasicValueEnum<'ctx>> =
                        a_frags[i * per_a..(i + 1) * per_a].to_vec();
                    args.extend_from_slice(&b_frags[j * per_b..(j + 1) * per_b]);
                    args.extend(c.iter().copied());
                    let res = emit(self.ctx, &self.b, self.arch, instr, Some(ret.into()), &args)?
                        .expect("mma returns its accumulator")
                        .into_struct_value();
                    for (q, slot) in c.iter_mut().enumerate() {
                        *slot = self
                            .b
                            .build_extract_value(res, q as u32, "mma")
                            .map_err(llvm)?;
                    }
                }
            }
        }
        let mut out: HashMap<(u64, u64), BasicValueEnum<'ctx>> = HashMap::new();
        for (&(mr, nc), c) in &acc {
            for (key, &v) in c_keys(mr, nc).into_iter().zip(c) {
                out.entry((key.0 & (m - 1), key.1 & (n - 1))).or_insert(v);
            }
        }
        let mut next = Vec::with_capacity(racc.len());
        for rc in &lacc.reg_coord {
            let v = out.get(&(rc[0], rc[1])).copied().ok_or_else(|| {
                err_at(
                    &data.loc,
                    data.kind,
                    format!("internal: no mma result for the accumulator register at {rc:?}"),
                )
            })?;
            next.push(v);
        }
        self.set(data.results[0], Lowered::Tile(next, lacc));
        Ok(())
    }

    /// Two 16-bit values in one 32-bit register (`lo` in the low half).
    /// When both were just rounded from f32 (`FlashAttention`'s `P`, the cast
    /// of the first dot's accumulator), one `cvt.rn.f16x2.f32` (or bf16x2,
    /// `sm_80` and newer) rounds and packs them at once.
    fn pack2(
        &mut self,
        lo: BasicValueEnum<'ctx>,
        hi: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let i16t = self.ctx.i16_type();
        let i32t = self.ctx.i32_type();
        if self.arch >= Arch::Sm80
            && let (Some(l), Some(h)) = (self.rounded_from_f32(lo), self.rounded_from_f32(hi))
        {
            let instr = if lo.get_type() == self.ctx.bf16_type().into() {
                CVT_RN_BF16X2_F32
            } else {
                CVT_RN_F16X2_F32
            };
            let packed = emit(
                self.ctx,
                &self.b,
                self.arch,
                instr,
                Some(i32t.into()),
                &[h.into(), l.into()],
            )?
            .expect("cvt returns its register");
            return Ok(packed);
        }
        let bits = |this: &mut Self, v: BasicValueEnum<'ctx>| -> Result<_, NvptxError> {
            let b = this.b.build_bit_cast(v, i16t, "").map_err(llvm)?;
            this.b
                .build_int_z_extend(b.into_int_value(), i32t, "")
                .map_err(llvm)
        };
        let l = bits(self, lo)?;
        let h = bits(self, hi)?;
        let h = self
            .b
            .build_left_shift(h, i32t.const_int(16, false), "")
            .map_err(llvm)?;
        Ok(self.b.build_or(l, h, "pk").map_err(llvm)?.into())
    }

    /// The f32 a 16-bit float value was rounded from, when it is a plain
    /// `fptrunc` of one.
    fn rounded_from_f32(&self, v: BasicValueEnum<'ctx>) -> Option<FloatValue<'ctx>> {
        let i = v.as_instruction_value()?;
        if i.get_opcode() != InstructionOpcode::FPTrunc {
            return None;
        }
        match i.get_operand(0)? {
            inkwell::values::Operand::Value(BasicValueEnum::FloatValue(f))
                if f.get_type() == self.ctx.f32_type() =>
            {
                Some(f)
            }
            _ => None,
        }
    }
}
