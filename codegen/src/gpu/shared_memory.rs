//! `allocate-shared-memory`: which ops exchange data through shared memory
//! and how many bytes each needs, written as an `smem_bytes` attribute on
//! each; the kernel needs the largest (every use writes, synchronizes,
//! reads and is done before the next one starts, so they share one buffer
//! at offset 0, which the lowering declares as dynamic shared memory).
//!
//! - Element moves (`convert_layout`, `broadcast`, `expand_dims`, `trans`,
//!   `reshape`) use shared memory only when some element changes threads
//!   ([`register_remap`] fails): the whole source tile.
//! - `join` and `split`: the whole joined tile.
//! - A reduction whose axis spans warps: one partial per warp along the
//!   axis for every element of the result (at least 4 bytes each).
//! - `dot` (SIMT): both operands, read back along `k`.

use super::plan::{LayoutPlan, move_weights, register_remap, row_major, weighted};
use super::table::{self, LayoutTable};
use crate::ir::{Attr, Func, OpKind, ScalarType, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "allocate-shared-memory";
/// The attribute holding an op's shared-memory bytes.
pub const SMEM_BYTES: &str = "smem_bytes";

/// The bytes one element of `v` takes in shared memory (`i1` as a byte).
pub fn elem_bytes(f: &Func, v: ValueId) -> u64 {
    f.body
        .ty(v)
        .scalar_elem()
        .map_or(8, |s: ScalarType| s.bytes().max(1) as u64)
}

fn plan(f: &Func, layouts: &LayoutTable, v: ValueId) -> Result<LayoutPlan, PassError> {
    let shape = super::assign::const_shape(&f.body, v)?;
    let enc = layouts.get(&v).ok_or_else(|| {
        PassError::new(
            NAME,
            crate::ir::Location::unknown(),
            format!("{} has no layout", table::describe(&f.body, v)),
        )
    })?;
    LayoutPlan::new(enc, &shape).map_err(|e| {
        PassError::new(
            NAME,
            crate::ir::Location::unknown(),
            format!("{}: {}", table::describe(&f.body, v), e.0),
        )
    })
}

/// The shared-memory bytes op `op` needs (0 for none).
pub fn bytes_of(f: &Func, layouts: &LayoutTable, op: crate::ir::OpId) -> Result<u64, PassError> {
    let d = f.body.op(op);
    let numel = |v: ValueId| f.body.ty(v).num_elements().unwrap_or(1);
    Ok(match d.kind {
        OpKind::ConvertLayout
        | OpKind::Broadcast
        | OpKind::ExpandDims
        | OpKind::Trans
        | OpKind::Reshape => {
            let (s, r) = (d.operands[0], d.results[0]);
            let (sp, rp) = (plan(f, layouts, s)?, plan(f, layouts, r)?);
            let w = move_weights(d.kind, &d.attrs, &sp.shape, &rp.shape).ok_or_else(|| {
                PassError::new(NAME, d.loc.clone(), format!("{}: bad attributes", d.kind))
            })?;
            let sw = row_major(&sp.shape);
            match register_remap(&sp, &rp, |c| weighted(c, &sw), |c| weighted(c, &w)) {
                Some(_) => 0,
                None => numel(s) * elem_bytes(f, s),
            }
        }
        OpKind::Join => numel(d.results[0]) * elem_bytes(f, d.results[0]),
        OpKind::Split => numel(d.operands[0]) * elem_bytes(f, d.operands[0]),
        OpKind::Reduce => {
            let x = d.operands[0];
            let axis = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
            let p = plan(f, layouts, x)?;
            let warps_on_axis = p.warp_bases.iter().filter(|b| b[axis] != 0).count() as u32;
            if warps_on_axis == 0 {
                0
            } else {
                let out = if f.body.ty(d.results[0]).is_tile() {
                    numel(d.results[0])
                } else {
                    1
                };
                out * (1u64 << warps_on_axis) * elem_bytes(f, x).max(4)
            }
        }
        OpKind::Dot => {
            let (a, b) = (d.operands[0], d.operands[1]);
            (numel(a) + numel(b)) * elem_bytes(f, a)
        }
        _ => 0,
    })
}

/// Annotates every op that uses shared memory; returns the kernel's total bytes.
pub fn run(f: &mut Func) -> Result<u64, PassError> {
    let layouts = table::read(f)?;
    let mut total = 0;
    for op in f.body.walk(f.body.entry()) {
        let bytes = bytes_of(f, &layouts, op)?;
        if bytes > 0 {
            f.body
                .op_mut(op)
                .attrs
                .set(SMEM_BYTES, Attr::Int(bytes as i64));
            total = total.max(bytes);
        }
    }
    Ok(total)
}
