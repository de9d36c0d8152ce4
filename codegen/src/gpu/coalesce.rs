//! `coalesce`: which way the threads of a memory access should run, from
//! an analysis of the addresses (Triton's `AxisInfo` + `Coalesce`, reduced
//! to what the lowering uses today).
//!
//! [`axis_info`] computes, for every integer or pointer tile, per dimension:
//! - *contiguity*: the length of the runs of consecutive values (`+1` per
//!   step) along the dimension;
//! - *constancy*: the length of the runs of equal values.
//!
//! Rules: `arange` is contiguous along its one dimension; `splat` and
//! constants are constant along every dimension; `broadcast` makes the
//! broadcast dimensions constant; `expand_dims` adds a dimension of size 1;
//! `add`/`sub`/`addptr` keep the contiguity of one side where the other side
//! is constant over it; casts between integer types keep both; other ops
//! keep only the constancy their operands share.
//!
//! [`preferred`] turns that into a layout for each load, store and atomic of
//! a tile of rank 2 or more: when the contiguous dimension is not the last
//! one (a transposed access such as `K^T` in attention), the default blocked
//! layout is turned to run its lanes along the contiguous dimension, so that
//! neighbouring lanes read neighbouring addresses. `convert-to-gpu` gives
//! that layout to the access's class (not to loads of `dot` operands, see
//! [`preferred`]). Accesses that are already contiguous
//! along the last dimension keep the default, so that they agree with the
//! other tiles they meet (no conversions). Wider (vector) accesses need
//! alignment facts the analysis does not have yet (divisibility of runtime
//! strides).

use std::collections::HashMap;

use super::encoding::{Blocked, Encoding};
use crate::ir::{Attr, Body, Func, OpId, OpKind, ValueId};

/// Contiguity and constancy of a tile, per dimension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxisInfo {
    /// Runs of consecutive values along each dimension.
    pub contiguity: Vec<u64>,
    /// Runs of equal values along each dimension.
    pub constancy: Vec<u64>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl AxisInfo {
    fn unknown(rank: usize) -> AxisInfo {
        AxisInfo {
            contiguity: vec![1; rank],
            constancy: vec![1; rank],
        }
    }

    fn constant(shape: &[u64]) -> AxisInfo {
        AxisInfo {
            contiguity: vec![1; shape.len()],
            constancy: shape.to_vec(),
        }
    }
}

/// The axis info of every integer and pointer tile of `f` (specialized).
pub fn axis_info(f: &Func) -> HashMap<ValueId, AxisInfo> {
    let body = &f.body;
    let mut out: HashMap<ValueId, AxisInfo> = HashMap::new();
    for op in body.walk(body.entry()) {
        let d = body.op(op);
        let Some(&r) = d.results.first() else {
            continue;
        };
        let Some(shape) = body.ty(r).const_shape() else {
            continue;
        };
        if shape.is_empty() {
            continue;
        }
        let rank = shape.len();
        let get = |v: ValueId| -> AxisInfo {
            match body.ty(v).const_shape() {
                Some(s) if !s.is_empty() => out
                    .get(&v)
                    .cloned()
                    .unwrap_or_else(|| AxisInfo::unknown(s.len())),
                // A scalar is the same for every element.
                _ => AxisInfo::constant(&shape),
            }
        };
        let info = match d.kind {
            OpKind::Arange => AxisInfo {
                contiguity: shape.clone(),
                constancy: vec![1; rank],
            },
            OpKind::Splat | OpKind::Constant => AxisInfo::constant(&shape),
            OpKind::Broadcast => {
                let a = get(d.operands[0]);
                let src = body.ty(d.operands[0]).const_shape().unwrap_or_default();
                let mut info = a;
                for (k, &size) in shape.iter().enumerate() {
                    if src.get(k) == Some(&1) {
                        info.contiguity[k] = 1;
                        info.constancy[k] = size;
                    }
                }
                info
            }
            OpKind::ExpandDims => {
                let axis = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
                let mut info = get(d.operands[0]);
                if axis <= info.contiguity.len() {
                    info.contiguity.insert(axis, 1);
                    info.constancy.insert(axis, 1);
                }
                info
            }
            OpKind::Binary(crate::ir::BinaryOp::Add | crate::ir::BinaryOp::Sub)
            | OpKind::AddPtr => {
                let (a, b) = (get(d.operands[0]), get(d.operands[1]));
                let sub = matches!(d.kind, OpKind::Binary(crate::ir::BinaryOp::Sub));
                let mut info = AxisInfo::unknown(rank);
                for k in 0..rank {
                    let left = gcd(a.contiguity[k], b.constancy[k]);
                    // `c - x` runs backwards: only `x - c` keeps contiguity.
                    let right = if sub {
                        1
                    } else {
                        gcd(a.constancy[k], b.contiguity[k])
                    };
                    info.contiguity[k] = left.max(right);
                    info.constancy[k] = gcd(a.constancy[k], b.constancy[k]);
                }
                info
            }
            OpKind::Cast if body.ty(r).scalar_elem().is_some_and(|s| s.is_int()) => {
                get(d.operands[0])
            }
            _ if !d.operands.is_empty() && d.operands.iter().all(|&o| body.ty(o).is_tile()) => {
                let mut info = AxisInfo::unknown(rank);
                for (k, &size) in shape.iter().enumerate() {
                    info.constancy[k] = d
                        .operands
                        .iter()
                        .map(|&o| get(o).constancy.get(k).copied().unwrap_or(1))
                        .fold(size, gcd);
                }
                info
            }
            _ => AxisInfo::unknown(rank),
        };
        if info.contiguity.len() == rank {
            out.insert(r, info);
        }
    }
    out
}

/// The default encoding turned so that its lanes run along dimension `fast`.
fn along(rank: usize, fast: usize, num_warps: u32) -> Encoding {
    let mut order: Vec<usize> = vec![fast];
    order.extend((0..rank).rev().filter(|&k| k != fast));
    let mut tpw = vec![1u64; rank];
    tpw[order[0]] = 8;
    tpw[order[1]] = 4;
    let mut wpc = vec![1u64; rank];
    wpc[*order.last().expect("rank >= 2")] = u64::from(num_warps);
    Encoding::Blocked(Blocked {
        spt: vec![1; rank],
        tpw,
        wpc,
        order,
    })
}

/// The pointer operand of a memory op, if it is one.
fn pointer_of(body: &Body, op: OpId) -> Option<ValueId> {
    let d = body.op(op);
    match d.kind {
        OpKind::Load | OpKind::Store | OpKind::AtomicRmw | OpKind::AtomicCas => d
            .operands
            .first()
            .copied()
            .filter(|&p| body.ty(p).is_tile()),
        _ => None,
    }
}

/// The values `dot` takes as operands `a` or `b`, directly or through one cast.
fn dot_operands(body: &Body) -> Vec<ValueId> {
    let ops = body.walk(body.entry());
    let mut out: Vec<ValueId> = Vec::new();
    for &op in &ops {
        let d = body.op(op);
        if d.kind == OpKind::Dot {
            out.extend(&d.operands[..2]);
        }
    }
    for &op in &ops {
        let d = body.op(op);
        if d.kind == OpKind::Cast && out.contains(&d.results[0]) {
            out.push(d.operands[0]);
        }
    }
    out
}

/// The layout each memory access of rank 2 or more would rather have (see
/// the module doc); accesses best served by the default are not listed.
///
/// Loads of `dot` operands are left alone: the SIMT `dot` stages them in
/// shared memory row-major, where a tile turned to its first dimension would
/// write with 8 lanes on one bank (measured: `FlashAttention` at half speed).
/// Turning them pays once operands get swizzled shared layouts.
pub fn preferred(f: &Func, num_warps: u32) -> Vec<(OpId, Encoding)> {
    let info = axis_info(f);
    let body = &f.body;
    let staged = dot_operands(body);
    let mut out = Vec::new();
    for op in body.walk(body.entry()) {
        let Some(p) = pointer_of(body, op) else {
            continue;
        };
        let d = body.op(op);
        if d.kind == OpKind::Load && staged.contains(&d.results[0]) {
            continue;
        }
        let Some(a) = info.get(&p) else {
            continue;
        };
        let rank = a.contiguity.len();
        if rank < 2 {
            continue;
        }
        // The most contiguous dimension, the last one on ties.
        let fast = (0..rank)
            .rev()
            .max_by_key(|&k| (a.contiguity[k], k))
            .expect("rank >= 2");
        if fast != rank - 1 && a.contiguity[fast] > 1 {
            out.push((op, along(rank, fast, num_warps)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KT: &str = r#"tile.kernel @k(%p: ptr<f16, global>, %o: ptr<f32, global>, %stride: i32) loc(unknown) {
  %d = tile.arange {start = 0} : tile<32xi32> loc(unknown)
  %n = tile.arange {start = 0} : tile<32xi32> loc(unknown)
  %dcol = tile.expand_dims %d {axis = 1} : tile<32x1xi32> loc(unknown)
  %nrow = tile.expand_dims %n {axis = 0} : tile<1x32xi32> loc(unknown)
  %st = tile.splat %stride : tile<1x32xi32> loc(unknown)
  %noff = tile.mul %nrow, %st : tile<1x32xi32> loc(unknown)
  %a = tile.broadcast %dcol : tile<32x32xi32> loc(unknown)
  %b = tile.broadcast %noff : tile<32x32xi32> loc(unknown)
  %off = tile.add %a, %b : tile<32x32xi32> loc(unknown)
  %ps = tile.splat %p : tile<32x32xptr<f16, global>> loc(unknown)
  %ptrs = tile.addptr %ps, %off : tile<32x32xptr<f16, global>> loc(unknown)
  %kt = tile.load %ptrs : tile<32x32xf16> loc(unknown)
  USE
  tile.return loc(unknown)
}
"#;

    fn preferred_for(use_line: &str) -> Vec<(OpId, Encoding)> {
        let m = crate::ir::parse_module(&KT.replace("USE", use_line)).unwrap();
        preferred(&m.funcs[0], 4)
    }

    #[test]
    fn transposed_loads_turn_unless_dot_stages_them() {
        // %kt's addresses run along dim 0 (d), stride along dim 1 (n).
        let m = crate::ir::parse_module(&KT.replace("USE", "")).unwrap();
        let info = axis_info(&m.funcs[0]);
        let ptrs = m.funcs[0]
            .body
            .walk(m.funcs[0].body.entry())
            .into_iter()
            .find(|&o| m.funcs[0].body.op(o).kind == OpKind::AddPtr)
            .map(|o| m.funcs[0].body.op(o).results[0])
            .unwrap();
        assert_eq!(info[&ptrs].contiguity, [32, 1]);
        let turned = preferred_for(
            "%s = tile.reduce %kt {axis = 0, kind = \"max\"} : tile<32xf16> loc(unknown)",
        );
        assert_eq!(turned.len(), 1);
        assert_eq!(turned[0].1, along(2, 0, 4));
        let staged = preferred_for(
            "%z = tile.constant {value = 0.0} : tile<32x32xf32> loc(unknown)\n  %c = tile.dot %kt, %kt, %z : tile<32x32xf32> loc(unknown)",
        );
        assert!(staged.is_empty(), "{staged:?}");
    }

    #[test]
    fn turned_layouts_are_valid() {
        for nw in [1, 4, 8] {
            let e = along(2, 0, nw);
            e.check(nw).unwrap();
            assert_eq!(
                e.to_string(),
                format!("blocked<spt=[1, 1], tpw=[8, 4], wpc=[1, {nw}], order=[0, 1]>")
            );
            along(3, 1, nw).check(nw).unwrap();
        }
    }
}
