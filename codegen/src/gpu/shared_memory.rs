//! `allocate-shared-memory`: which ops exchange data through shared memory
//! and how many bytes each needs, written as an `smem_bytes` attribute on
//! each. Most uses are *transient*: they write, synchronize, read and are
//! done before the next one starts, so they share one buffer at offset 0.
//! *Resident* ones ([`is_resident`]: tensor-core operands staged for their
//! dots, which read them with `ldmatrix` one `k` step at a time, so that
//! only one step's fragments are in registers) stay until their dots have
//! run, so each gets its own buffer after the transient one, at the
//! `smem_offset` attribute. The kernel's total is declared as one dynamic
//! shared buffer.
//!
//! - Element moves (`convert_layout`, `broadcast`, `expand_dims`, `trans`,
//!   `reshape`) use shared memory only when some element changes threads
//!   ([`register_remap`] fails): the whole source tile.
//! - `join` and `split`: the whole joined tile.
//! - A reduction whose axis spans warps: one partial per warp along the
//!   axis for every element of the result (at least 4 bytes each).
//! - `dot` (SIMT): both operands, read back along `k`; none on tensor cores
//!   (`mma` layouts: the operands arrive in registers, their conversions
//!   count as element moves).
//! - `scan` along an axis of more than one element: the whole tile in the
//!   type it computes in ([`scan_compute_type`]), exchanged once per
//!   log-step ([`scan_bytes`]).
//! - `sort` and `topk`: the operand, then one i32 source position per
//!   result element ([`sort_index_offset`], [`sort_bytes`]).

use std::collections::HashMap;

use super::plan::{LayoutPlan, move_weights, register_remap, row_major, weighted};
use super::swizzle;
use super::table::{self, LayoutTable};
use crate::ir::{Attr, Func, OpData, OpId, OpKind, ScalarType, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "allocate-shared-memory";
/// The attribute holding an op's shared-memory bytes.
pub const SMEM_BYTES: &str = "smem_bytes";
/// The attribute holding the byte offset of a resident operand's buffer.
pub const SMEM_OFFSET: &str = "smem_offset";

/// The bytes one element of `v` takes in shared memory (`i1` as a byte).
pub fn elem_bytes(f: &Func, v: ValueId) -> u64 {
    f.body
        .ty(v)
        .scalar_elem()
        .map_or(8, |s: ScalarType| s.bytes().max(1) as u64)
}

/// The axis of a `scan`, `sort` or `topk` on a tile of rank `rank`: the
/// `axis` attribute (negative counts from the end), or when it is missing
/// the only axis of a 1-d tile, or the last axis for `sort` and `topk`
/// (as the interpreter does). `None` when it is out of range or missing.
pub fn axis_of(d: &OpData, rank: usize) -> Option<usize> {
    match d.attr("axis").and_then(Attr::as_int) {
        Some(a) => {
            let a = if a < 0 { a + rank as i64 } else { a };
            (0..rank as i64).contains(&a).then_some(a as usize)
        }
        None if rank == 1 || matches!(d.kind, OpKind::Sort | OpKind::TopK) => rank.checked_sub(1),
        None => None,
    }
}

/// The type a `scan` of `elem` computes and exchanges in: f32 for f16 and
/// bf16 (one rounding at the end, closer to the interpreter's f64), else
/// `elem` itself.
pub fn scan_compute_type(elem: ScalarType) -> ScalarType {
    match elem {
        ScalarType::F16 | ScalarType::BF16 => ScalarType::F32,
        other => other,
    }
}

/// The shared bytes of a `scan` of a tile of `numel` elements of `elem`
/// along an axis of `axis_len`: the whole tile in its compute type (`i1` as
/// a byte), none when the axis has one element.
pub fn scan_bytes(numel: u64, axis_len: u64, elem: ScalarType) -> u64 {
    if axis_len <= 1 {
        0
    } else {
        numel * scan_compute_type(elem).bytes().max(1) as u64
    }
}

/// Where `sort` and `topk` put their i32 source positions: after the
/// operand (`in_numel` elements of `elem_bytes`), aligned to 4 bytes.
pub fn sort_index_offset(in_numel: u64, elem_bytes: u64) -> u64 {
    (in_numel * elem_bytes).next_multiple_of(4)
}

/// The shared bytes of a `sort` or `topk`: the operand, then one i32 per
/// element of the result (`out_numel`).
pub fn sort_bytes(in_numel: u64, out_numel: u64, elem_bytes: u64) -> u64 {
    sort_index_offset(in_numel, elem_bytes) + out_numel * 4
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
        OpKind::Dot if matches!(layouts.get(&d.results[0]), Some(super::Encoding::Mma(_))) => 0,
        OpKind::Dot => {
            let (a, b) = (d.operands[0], d.operands[1]);
            (numel(a) + numel(b)) * elem_bytes(f, a)
        }
        OpKind::Scan | OpKind::Sort | OpKind::TopK => {
            let x = d.operands[0];
            let shape = super::assign::const_shape(&f.body, x)?;
            let axis = axis_of(d, shape.len()).ok_or_else(|| {
                PassError::new(
                    NAME,
                    d.loc.clone(),
                    format!("{}: a missing or out-of-range `axis`", d.kind),
                )
            })?;
            if d.kind == OpKind::Scan {
                let elem = f.body.ty(x).scalar_elem().ok_or_else(|| {
                    PassError::new(NAME, d.loc.clone(), "tile.scan of a tile of pointers")
                })?;
                scan_bytes(numel(x), shape[axis], elem)
            } else {
                sort_bytes(numel(x), numel(d.results[0]), elem_bytes(f, x))
            }
        }
        _ => 0,
    })
}

/// Whether conversion `op` stages a tensor-core operand that its dots read
/// from shared memory themselves (`ldmatrix` per `k` step, see the module
/// doc): a 16-bit `convert_layout` into a dot-operand layout that moves
/// data, with a swizzled layout ([`swizzle::plan`]), whose every user is
/// a dot on tensor cores.
pub fn is_resident(
    f: &Func,
    layouts: &LayoutTable,
    users: &HashMap<ValueId, Vec<OpId>>,
    op: OpId,
) -> bool {
    let d = f.body.op(op);
    if d.kind != OpKind::ConvertLayout {
        return false;
    }
    let (x, r) = (d.operands[0], d.results[0]);
    let (Some(se), Some(de)) = (layouts.get(&x), layouts.get(&r)) else {
        return false;
    };
    let (Some(elem), Some(shape)) = (f.body.ty(x).scalar_elem(), f.body.ty(x).const_shape()) else {
        return false;
    };
    if swizzle::plan(se, de, elem, &shape).is_none() {
        return false;
    }
    let us = users.get(&r).map(Vec::as_slice).unwrap_or(&[]);
    !us.is_empty()
        && us.iter().all(|&u| {
            let ud = f.body.op(u);
            ud.kind == OpKind::Dot
                && ud.operands[2] != r
                && matches!(layouts.get(&ud.results[0]), Some(super::Encoding::Mma(_)))
        })
}

/// Every op's users, by the value they use.
pub fn users(f: &Func) -> HashMap<ValueId, Vec<OpId>> {
    let mut m: HashMap<ValueId, Vec<OpId>> = HashMap::new();
    for op in f.body.walk(f.body.entry()) {
        for &v in &f.body.op(op).operands {
            m.entry(v).or_default().push(op);
        }
    }
    m
}

/// Annotates every op that uses shared memory; returns the kernel's total
/// bytes. Resident operands are kept only while the total stays within
/// `budget` bytes (in program order; the others convert at once, through
/// the transient buffer).
pub fn run(f: &mut Func, budget: u64) -> Result<u64, PassError> {
    let layouts = table::read(f)?;
    let users = users(f);
    let mut transient = 0;
    let mut candidates = Vec::new();
    for op in f.body.walk(f.body.entry()) {
        let bytes = bytes_of(f, &layouts, op)?;
        if bytes > 0 {
            if is_resident(f, &layouts, &users, op) {
                candidates.push((op, bytes));
            } else {
                transient = transient.max(bytes);
            }
            f.body
                .op_mut(op)
                .attrs
                .set(SMEM_BYTES, Attr::Int(bytes as i64));
        }
    }
    // Keep candidates in order while they fit; a rejected one becomes
    // transient, which may move the resident buffers up: retry until stable.
    let mut keep = candidates.len();
    let (resident, transient) = loop {
        let t = candidates[keep..]
            .iter()
            .map(|&(_, b)| b)
            .fold(transient, u64::max);
        let mut top = t.next_multiple_of(16);
        let mut fits = 0;
        for &(_, bytes) in &candidates[..keep] {
            if top + bytes > budget {
                break;
            }
            top = (top + bytes).next_multiple_of(16);
            fits += 1;
        }
        if fits == keep {
            break (&candidates[..keep], t);
        }
        keep = fits;
    };
    let mut top = transient.next_multiple_of(16);
    for &(op, bytes) in resident {
        f.body
            .op_mut(op)
            .attrs
            .set(SMEM_OFFSET, Attr::Int(top as i64));
        top = (top + bytes).next_multiple_of(16);
    }
    Ok(if resident.is_empty() { transient } else { top })
}
