//! The catalogue of special instructions emitted as inline PTX: every one
//! the lowering uses is listed here once, with its template, its LLVM
//! constraint string and the oldest architecture that has it, so that a
//! kernel lowered for an older target fails with an error naming the
//! instruction rather than PTX that ptxas rejects.
//!
//! Templates use LLVM's `$n` operand syntax; constraints follow LLVM's NVPTX
//! inline-assembly letters: `h` 16-bit, `r` 32-bit, `l` 64-bit registers,
//! `b` a predicate (an `i1`), `=&` an early-clobbered output.
//!
//! Intrinsics LLVM provides (`shfl.sync`, `bar.sync`, `ex2.approx`, special
//! registers) go through [`super::intrinsics`] instead.

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::types::{BasicMetadataTypeEnum, BasicType};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum};

use super::NvptxError;
use crate::arch::Arch;

/// One special instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtxInstr {
    /// A short name for messages.
    pub name: &'static str,
    /// The inline-asm template.
    pub template: &'static str,
    /// The LLVM constraint string (outputs first).
    pub constraints: &'static str,
    /// The oldest architecture that has the instruction.
    pub min_arch: Arch,
    /// Whether it has side effects (stores; loads too, so that LLVM never
    /// moves them across stores it cannot see).
    pub side_effects: bool,
}

/// `$0 = $2 ? load.b16 [$1] : $3`: a predicated 16-bit global load.
pub const LD_GLOBAL_PRED_B16: PtxInstr = PtxInstr {
    name: "ld.global.b16 (predicated)",
    template: "mov.b16 $0, $3;\n\t@$2 ld.global.b16 $0, [$1];",
    constraints: "=&h,l,b,h",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `$0 = $2 ? load.b32 [$1] : $3`: a predicated 32-bit global load.
pub const LD_GLOBAL_PRED_B32: PtxInstr = PtxInstr {
    name: "ld.global.b32 (predicated)",
    template: "mov.b32 $0, $3;\n\t@$2 ld.global.b32 $0, [$1];",
    constraints: "=&r,l,b,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `$0 = $2 ? load.b64 [$1] : $3`: a predicated 64-bit global load.
pub const LD_GLOBAL_PRED_B64: PtxInstr = PtxInstr {
    name: "ld.global.b64 (predicated)",
    template: "mov.b64 $0, $3;\n\t@$2 ld.global.b64 $0, [$1];",
    constraints: "=&l,l,b,l",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `if $2 { store.b16 [$0] = $1 }`.
pub const ST_GLOBAL_PRED_B16: PtxInstr = PtxInstr {
    name: "st.global.b16 (predicated)",
    template: "@$2 st.global.b16 [$0], $1;",
    constraints: "l,h,b,~{memory}",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `if $2 { store.b32 [$0] = $1 }`.
pub const ST_GLOBAL_PRED_B32: PtxInstr = PtxInstr {
    name: "st.global.b32 (predicated)",
    template: "@$2 st.global.b32 [$0], $1;",
    constraints: "l,r,b,~{memory}",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `if $2 { store.b64 [$0] = $1 }`.
pub const ST_GLOBAL_PRED_B64: PtxInstr = PtxInstr {
    name: "st.global.b64 (predicated)",
    template: "@$2 st.global.b64 [$0], $1;",
    constraints: "l,l,b,~{memory}",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `{$0, $1} = $3 ? load.v2.b32 [$2] : {$4, $5}`: a predicated 8-byte
/// vector load (the address aligned to 8 bytes).
pub const LD_GLOBAL_PRED_V2_B32: PtxInstr = PtxInstr {
    name: "ld.global.v2.b32 (predicated)",
    template: "mov.b32 $0, $4;\n\tmov.b32 $1, $5;\n\t@$3 ld.global.v2.b32 {$0, $1}, [$2];",
    constraints: "=&r,=&r,l,b,r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `{$0..$3} = $5 ? load.v4.b32 [$4] : {$6..$9}`: a predicated 16-byte
/// vector load (the address aligned to 16 bytes).
pub const LD_GLOBAL_PRED_V4_B32: PtxInstr = PtxInstr {
    name: "ld.global.v4.b32 (predicated)",
    template: "mov.b32 $0, $6;\n\tmov.b32 $1, $7;\n\tmov.b32 $2, $8;\n\tmov.b32 $3, $9;\n\t@$5 ld.global.v4.b32 {$0, $1, $2, $3}, [$4];",
    constraints: "=&r,=&r,=&r,=&r,l,b,r,r,r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `if $3 { store.v2.b32 [$0] = {$1, $2} }` (the address aligned to 8 bytes).
pub const ST_GLOBAL_PRED_V2_B32: PtxInstr = PtxInstr {
    name: "st.global.v2.b32 (predicated)",
    template: "@$3 st.global.v2.b32 [$0], {$1, $2};",
    constraints: "l,r,r,b,~{memory}",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `if $5 { store.v4.b32 [$0] = {$1..$4} }` (the address aligned to 16 bytes).
pub const ST_GLOBAL_PRED_V4_B32: PtxInstr = PtxInstr {
    name: "st.global.v4.b32 (predicated)",
    template: "@$5 st.global.v4.b32 [$0], {$1, $2, $3, $4};",
    constraints: "l,r,r,r,r,b,~{memory}",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `$0 = load.b32 [$1]`: an unmasked load of one 32-bit word.
pub const LD_GLOBAL_B32: PtxInstr = PtxInstr {
    name: "ld.global.b32",
    template: "ld.global.b32 $0, [$1];",
    constraints: "=r,l",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `{$0, $1} = load.v2.b32 [$2]`: an unmasked 8-byte vector load.
pub const LD_GLOBAL_V2_B32: PtxInstr = PtxInstr {
    name: "ld.global.v2.b32",
    template: "ld.global.v2.b32 {$0, $1}, [$2];",
    constraints: "=r,=r,l",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// `{$0..$3} = load.v4.b32 [$4]`: an unmasked 16-byte vector load.
pub const LD_GLOBAL_V4_B32: PtxInstr = PtxInstr {
    name: "ld.global.v4.b32",
    template: "ld.global.v4.b32 {$0, $1, $2, $3}, [$4];",
    constraints: "=r,=r,=r,=r,l",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// Every instruction of the catalogue.
pub const CATALOG: [PtxInstr; 25] = [
    LD_GLOBAL_B32,
    LD_GLOBAL_V2_B32,
    LD_GLOBAL_V4_B32,
    LD_GLOBAL_PRED_B16,
    LD_GLOBAL_PRED_B32,
    LD_GLOBAL_PRED_B64,
    ST_GLOBAL_PRED_B16,
    ST_GLOBAL_PRED_B32,
    ST_GLOBAL_PRED_B64,
    MMA_M16N8K16_F16,
    MMA_M16N8K16_BF16,
    MMA_M16N8K8_F16,
    MMA_M16N8K8_BF16,
    LDMATRIX_X4,
    LDMATRIX_X4_TRANS,
    LDMATRIX_X2,
    LDMATRIX_X2_TRANS,
    LDMATRIX_X1,
    LDMATRIX_X1_TRANS,
    CVT_RN_F16X2_F32,
    CVT_RN_BF16X2_F32,
    LD_GLOBAL_PRED_V2_B32,
    LD_GLOBAL_PRED_V4_B32,
    ST_GLOBAL_PRED_V2_B32,
    ST_GLOBAL_PRED_V4_B32,
];

/// `{$0..$3} = A{$4..$7} * B{$8,$9} + {$10..$13}`: one m16n8k16 f16 tensor-core
/// product with f32 accumulation (operands packed two halves per register).
pub const MMA_M16N8K16_F16: PtxInstr = PtxInstr {
    name: "mma.sync.m16n8k16.f32.f16",
    template: "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};",
    constraints: "=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3",
    min_arch: Arch::Sm80,
    side_effects: false,
};

/// [`MMA_M16N8K16_F16`] for bf16 inputs.
pub const MMA_M16N8K16_BF16: PtxInstr = PtxInstr {
    name: "mma.sync.m16n8k16.f32.bf16",
    template: "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};",
    constraints: "=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3",
    min_arch: Arch::Sm80,
    side_effects: false,
};

/// `{$0..$3} = A{$4,$5} * B{$6} + {$7..$10}`: m16n8k8 f16 (Turing's shape).
pub const MMA_M16N8K8_F16: PtxInstr = PtxInstr {
    name: "mma.sync.m16n8k8.f32.f16",
    template: "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {$0, $1, $2, $3}, {$4, $5}, {$6}, {$7, $8, $9, $10};",
    constraints: "=f,=f,=f,=f,r,r,r,0,1,2,3",
    min_arch: Arch::Sm75,
    side_effects: false,
};

/// [`MMA_M16N8K8_F16`] for bf16 inputs.
pub const MMA_M16N8K8_BF16: PtxInstr = PtxInstr {
    name: "mma.sync.m16n8k8.f32.bf16",
    template: "mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {$0, $1, $2, $3}, {$4, $5}, {$6}, {$7, $8, $9, $10};",
    constraints: "=f,=f,=f,=f,r,r,r,0,1,2,3",
    min_arch: Arch::Sm80,
    side_effects: false,
};

/// `{$0..$3} = ldmatrix.x4 [$4]`: four 8x8 matrices of 16-bit elements from
/// shared memory, lanes `8j..8j+7` giving the row addresses of matrix `j`;
/// each thread gets elements `(lane / 4, 2 (lane % 4) + {0, 1})` of each.
pub const LDMATRIX_X4: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x4",
    template: "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {$0, $1, $2, $3}, [$4];",
    constraints: "=r,=r,=r,=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// [`LDMATRIX_X4`] transposed: each thread gets `(2 (lane % 4) + {0, 1}, lane / 4)`.
pub const LDMATRIX_X4_TRANS: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x4.trans",
    template: "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {$0, $1, $2, $3}, [$4];",
    constraints: "=r,=r,=r,=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// [`LDMATRIX_X4`] with two matrices (lanes 0-15 give the addresses).
pub const LDMATRIX_X2: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x2",
    template: "ldmatrix.sync.aligned.m8n8.x2.shared.b16 {$0, $1}, [$2];",
    constraints: "=r,=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// [`LDMATRIX_X2`] transposed.
pub const LDMATRIX_X2_TRANS: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x2.trans",
    template: "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {$0, $1}, [$2];",
    constraints: "=r,=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// [`LDMATRIX_X4`] with one matrix (lanes 0-7 give the addresses).
pub const LDMATRIX_X1: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x1",
    template: "ldmatrix.sync.aligned.m8n8.x1.shared.b16 {$0}, [$1];",
    constraints: "=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// [`LDMATRIX_X1`] transposed.
pub const LDMATRIX_X1_TRANS: PtxInstr = PtxInstr {
    name: "ldmatrix.m8n8.x1.trans",
    template: "ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {$0}, [$1];",
    constraints: "=r,r",
    min_arch: Arch::Sm75,
    side_effects: true,
};

/// The `ldmatrix` of `count` (1, 2 or 4) matrices, transposed or not.
pub fn ldmatrix(count: usize, trans: bool) -> Option<PtxInstr> {
    Some(match (count, trans) {
        (1, false) => LDMATRIX_X1,
        (1, true) => LDMATRIX_X1_TRANS,
        (2, false) => LDMATRIX_X2,
        (2, true) => LDMATRIX_X2_TRANS,
        (4, false) => LDMATRIX_X4,
        (4, true) => LDMATRIX_X4_TRANS,
        _ => return None,
    })
}

/// `$0 = {round($1) : high, round($2) : low}`: two f32 rounded to f16 into
/// one 32-bit register (a tensor-core operand pair).
pub const CVT_RN_F16X2_F32: PtxInstr = PtxInstr {
    name: "cvt.rn.f16x2.f32",
    template: "cvt.rn.f16x2.f32 $0, $1, $2;",
    constraints: "=r,f,f",
    min_arch: Arch::Sm80,
    side_effects: false,
};

/// [`CVT_RN_F16X2_F32`] to bf16.
pub const CVT_RN_BF16X2_F32: PtxInstr = PtxInstr {
    name: "cvt.rn.bf16x2.f32",
    template: "cvt.rn.bf16x2.f32 $0, $1, $2;",
    constraints: "=r,f,f",
    min_arch: Arch::Sm80,
    side_effects: false,
};

/// The predicated load of a `bits`-wide value, if there is one.
pub fn predicated_load(bits: u32) -> Option<PtxInstr> {
    match bits {
        16 => Some(LD_GLOBAL_PRED_B16),
        32 => Some(LD_GLOBAL_PRED_B32),
        64 => Some(LD_GLOBAL_PRED_B64),
        _ => None,
    }
}

/// The predicated store of a `bits`-wide value, if there is one.
pub fn predicated_store(bits: u32) -> Option<PtxInstr> {
    match bits {
        16 => Some(ST_GLOBAL_PRED_B16),
        32 => Some(ST_GLOBAL_PRED_B32),
        64 => Some(ST_GLOBAL_PRED_B64),
        _ => None,
    }
}

/// The predicated load of `words` 32-bit words at once (1, 2 or 4), if
/// there is one: its outputs are the words, its inputs the address, the
/// predicate and the words to return when the predicate is false.
pub fn predicated_vector_load(words: usize) -> Option<PtxInstr> {
    match words {
        1 => Some(LD_GLOBAL_PRED_B32),
        2 => Some(LD_GLOBAL_PRED_V2_B32),
        4 => Some(LD_GLOBAL_PRED_V4_B32),
        _ => None,
    }
}

/// The unmasked load of `words` 32-bit words at once (1, 2 or 4), if there
/// is one: its outputs are the words, its input the address. (An aligned
/// LLVM vector load is no substitute: LLVM splits a vector load whose
/// elements are only extracted back into scalar loads.)
pub fn vector_load(words: usize) -> Option<PtxInstr> {
    match words {
        1 => Some(LD_GLOBAL_B32),
        2 => Some(LD_GLOBAL_V2_B32),
        4 => Some(LD_GLOBAL_V4_B32),
        _ => None,
    }
}

/// The predicated store of `words` 32-bit words at once (1, 2 or 4), if
/// there is one: its inputs are the address, the words and the predicate.
pub fn predicated_vector_store(words: usize) -> Option<PtxInstr> {
    match words {
        1 => Some(ST_GLOBAL_PRED_B32),
        2 => Some(ST_GLOBAL_PRED_V2_B32),
        4 => Some(ST_GLOBAL_PRED_V4_B32),
        _ => None,
    }
}

/// Emits `instr` with `args`, returning its result when `ret` is given.
pub fn emit<'ctx>(
    ctx: &'ctx Context,
    b: &Builder<'ctx>,
    arch: Arch,
    instr: PtxInstr,
    ret: Option<inkwell::types::BasicTypeEnum<'ctx>>,
    args: &[BasicValueEnum<'ctx>],
) -> Result<Option<BasicValueEnum<'ctx>>, NvptxError> {
    if arch < instr.min_arch {
        return Err(NvptxError(format!(
            "`{}` needs {} or newer; the target is {}",
            instr.name,
            instr.min_arch.name(),
            arch.name()
        )));
    }
    let params: Vec<BasicMetadataTypeEnum> = args.iter().map(|a| a.get_type().into()).collect();
    let fn_type = match ret {
        Some(t) => t.fn_type(&params, false),
        None => ctx.void_type().fn_type(&params, false),
    };
    let asm = ctx.create_inline_asm(
        fn_type,
        instr.template.to_string(),
        instr.constraints.to_string(),
        instr.side_effects,
        false,
        None,
        false,
    );
    let margs: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
    let call = b
        .build_indirect_call(fn_type, asm, &margs, "")
        .map_err(|e| NvptxError(format!("LLVM builder: {e}")))?;
    Ok(ret.map(|_| call.try_as_basic_value().unwrap_basic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_entries_are_consistent() {
        for i in CATALOG {
            let operands = i
                .constraints
                .split(',')
                .filter(|c| !c.starts_with('~'))
                .count();
            let highest = (0..64)
                .rev()
                .find(|n| i.template.contains(&format!("${n}")))
                .expect("uses an operand");
            assert_eq!(
                highest + 1,
                operands,
                "{}: template and constraints disagree",
                i.name
            );
        }
        assert_eq!(predicated_load(32), Some(LD_GLOBAL_PRED_B32));
        assert_eq!(predicated_store(8), None);
        for words in [1, 2, 4] {
            let (ld, st) = (
                predicated_vector_load(words).unwrap(),
                predicated_vector_store(words).unwrap(),
            );
            // Outputs, address, predicate, fallbacks; address, words, predicate.
            let count = |i: PtxInstr| {
                i.constraints
                    .split(',')
                    .filter(|c| !c.starts_with('~'))
                    .count()
            };
            assert_eq!(count(ld), 2 * words + 2, "{}", ld.name);
            assert_eq!(count(st), words + 2, "{}", st.name);
        }
        for words in [1, 2, 4] {
            let ld = vector_load(words).unwrap();
            assert_eq!(ld.constraints.split(',').count(), words + 1, "{}", ld.name);
        }
        assert_eq!(vector_load(8), None);
        assert_eq!(predicated_vector_load(3), None);
        assert_eq!(predicated_vector_store(8), None);
    }
}
