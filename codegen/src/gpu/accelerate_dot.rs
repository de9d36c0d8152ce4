//! `accelerate-dot`: puts `tile.dot`s that tensor cores can compute into
//! `mma.sync` layouts, before layouts are inferred (after Triton's
//! `AccelerateMatmul`).
//!
//! For a dot of 16-bit inputs (f16; bf16 from `sm_80`) with an f32
//! accumulator whose tiles fit the instruction (`M >= 16`, `N >= 8`, `K` a
//! multiple of 16, or 8), the pass
//!
//! - writes the dot's `layout`: an [`Mma`] accumulator encoding, whose warps
//!   it chooses here ([`choose_warps`]);
//! - converts both operands to the matching [`Encoding::DotOp`] layouts
//!   (`tile.convert_layout` with that `layout`), right where each operand
//!   is defined, so that one loaded before a loop (`FlashAttention`'s Q) is
//!   converted once, and an operand two dots share is converted once.
//!
//! `convert-to-gpu` then treats those layouts as fixed: the accumulator's
//! whole class (the loop-carried `acc`, what scales it, what stores it)
//! takes the `mma` layout, and its row and column slices follow. An operand
//! already in its dot-operand layout (`FlashAttention`'s `P`, the accumulator
//! of the first dot in the second's A layout) needs no movement, and
//! `remove-layout-conversions` drops that conversion.
//!
//! Which instruction runs is the lowering's business (`nvptx::lower::dot`):
//! m16n8k16 on `sm_80` and newer, two m16n8k8 on `sm_75`, m16n8k8 where `K` is 8.
//! Other dots (f32 or integer inputs, smaller tiles) stay on the SIMT path.

use std::collections::{HashMap, HashSet};

use super::encoding::{Encoding, MMA_M, MMA_N, Mma};
use super::table::LAYOUT;
use crate::arch::Arch;
use crate::ir::{Attr, Body, Func, OpId, OpKind, ScalarType, ValueDef, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "accelerate-dot";

/// The `mma.sync` shape of a dot's inputs on `arch`, if tensor cores take it:
/// `Some(k_width)` (elements per 32-bit register) for 16-bit inputs.
pub fn k_width(elem: ScalarType, arch: Arch) -> Option<u64> {
    match elem {
        ScalarType::F16 => Some(2),
        ScalarType::BF16 if arch >= Arch::Sm80 => Some(2),
        _ => None,
    }
}

/// Whether the dot `op` (specialized, 2-d) can run on tensor cores on `arch`:
/// its `k_width` and `[M, N, K]`.
pub fn eligible(body: &Body, op: OpId, arch: Arch) -> Option<(u64, [u64; 3])> {
    let d = body.op(op);
    if d.kind != OpKind::Dot || d.operands.len() != 3 {
        return None;
    }
    let (ta, tb, tc) = (
        body.ty(d.operands[0]),
        body.ty(d.operands[1]),
        body.ty(d.operands[2]),
    );
    let ea = ta.scalar_elem()?;
    if tb.scalar_elem()? != ea || tc.scalar_elem()? != ScalarType::F32 {
        return None;
    }
    let kw = k_width(ea, arch)?;
    let (sa, sb) = (ta.const_shape()?, tb.const_shape()?);
    let [m, k] = <[u64; 2]>::try_from(sa).ok()?;
    let [k2, n] = <[u64; 2]>::try_from(sb).ok()?;
    let pow2 = [m, n, k].iter().all(|x| x.is_power_of_two());
    (pow2 && k == k2 && m >= MMA_M && n >= MMA_N && k >= 8).then_some((kw, [m, n, k]))
}

/// The warps of an `M x N` accumulator: all along the rows when the dot is
/// part of a chain (its result feeds another dot's A operand, or its A
/// operand comes from a dot), so that the accumulator is the next A
/// operand as it stands; else the squarest split of `num_warps` (each warp's
/// share of A and B read from shared memory is then smallest).
pub fn choose_warps(m: u64, n: u64, num_warps: u32, chained: bool) -> [u64; 2] {
    let nw = u64::from(num_warps);
    let (mut wm, mut wn) = (1u64, 1u64);
    while wm * wn < nw {
        let rows_left = m / (MMA_M * wm) > 1;
        let cols_left = n / (MMA_N * wn) > 1;
        let want_rows = chained || (m / wm) >= (n / wn);
        if (want_rows && rows_left) || !cols_left {
            wm *= 2;
        } else {
            wn *= 2;
        }
    }
    [wm, wn]
}

/// The dots whose result reaches another dot's A operand, and those.
fn chained_dots(body: &Body, ops: &[OpId]) -> HashSet<OpId> {
    let mut users: HashMap<ValueId, Vec<(OpId, usize)>> = HashMap::new();
    for &op in ops {
        for (i, &v) in body.op(op).operands.iter().enumerate() {
            users.entry(v).or_default().push((op, i));
        }
    }
    let mut chained = HashSet::new();
    for &op in ops {
        if body.op(op).kind != OpKind::Dot {
            continue;
        }
        let mut seen: HashSet<ValueId> = HashSet::new();
        let mut work = vec![body.op(op).results[0]];
        while let Some(v) = work.pop() {
            if !seen.insert(v) {
                continue;
            }
            for &(user, i) in users.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
                let u = body.op(user);
                if u.kind == OpKind::Dot {
                    if i == 0 {
                        chained.insert(op);
                        chained.insert(user);
                    }
                    continue;
                }
                work.extend(u.results.iter().copied());
            }
        }
    }
    chained
}

/// Inserts `convert_layout x` to `to` right after `x` is defined (at the
/// start of its region for a region argument), so that an operand defined
/// outside a loop is converted once, not every iteration; `dot` is the op
/// that wants it (for the location). Returns the converted value.
fn convert_at_definition(body: &mut Body, dot: OpId, x: ValueId, to: &Encoding) -> ValueId {
    let loc = body.op(dot).loc.clone();
    let c = super::assign::convert_op(body, x, to, loc);
    let (region, index) = match body.value(x).def {
        ValueDef::OpResult { op, .. } => {
            let (r, i) = body.position(op).expect("linked");
            (r, i + 1)
        }
        ValueDef::RegionArg { region, .. } => (region, 0),
    };
    body.insert_op(region, index, c);
    body.op(c).results[0]
}

/// Runs accelerate-dot on kernel `f` for `arch` and `num_warps` warps;
/// returns whether any dot was accelerated.
pub fn run(f: &mut Func, arch: Arch, num_warps: u32) -> Result<bool, PassError> {
    let body = &mut f.body;
    let ops = body.walk(body.entry());
    if ops.iter().any(|&op| body.op(op).attr(LAYOUT).is_some()) {
        return Ok(false); // Layouts are already assigned.
    }
    let chained = chained_dots(body, &ops);
    let mut converted: HashMap<(ValueId, String), ValueId> = HashMap::new();
    let mut changed = false;
    for &op in &ops {
        let Some((kw, [m, n, _])) = eligible(body, op, arch) else {
            continue;
        };
        let mma = Mma {
            wpc: choose_warps(m, n, num_warps, chained.contains(&op)),
        };
        let enc = Encoding::Mma(mma.clone());
        body.op_mut(op)
            .attrs
            .set(LAYOUT, Attr::Str(enc.to_string()));
        for idx in 0..2u8 {
            let x = body.op(op).operands[idx as usize];
            let to = Encoding::DotOp {
                idx,
                k_width: kw,
                parent: mma.clone(),
            };
            let c = match converted.get(&(x, to.to_string())) {
                Some(&c) => c,
                None => {
                    let c = convert_at_definition(body, op, x, &to);
                    converted.insert((x, to.to_string()), c);
                    c
                }
            };
            body.op_mut(op).operands[idx as usize] = c;
        }
        changed = true;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warps_go_along_the_rows_in_chains_and_square_up_otherwise() {
        assert_eq!(choose_warps(128, 64, 4, true), [4, 1]);
        assert_eq!(choose_warps(64, 64, 4, false), [2, 2]);
        assert_eq!(choose_warps(128, 128, 8, false), [4, 2]);
        assert_eq!(choose_warps(16, 64, 4, false), [1, 4]);
        // Too small for the warps: the extra ones hold copies.
        assert_eq!(choose_warps(16, 8, 4, false), [4, 1]);
        assert_eq!(choose_warps(16, 64, 4, true), [1, 4]);
    }

    #[test]
    fn only_16_bit_inputs_take_tensor_cores() {
        assert_eq!(k_width(ScalarType::F16, Arch::Sm75), Some(2));
        assert_eq!(k_width(ScalarType::BF16, Arch::Sm75), None);
        assert_eq!(k_width(ScalarType::BF16, Arch::Sm90a), Some(2));
        assert_eq!(k_width(ScalarType::F32, Arch::Sm80), None);
        assert_eq!(k_width(ScalarType::I8, Arch::Sm80), None);
    }
}
