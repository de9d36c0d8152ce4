//! `coalesce`: which way the threads of a memory access should run and how
//! many consecutive elements each thread should hold, from an analysis of
//! the addresses (Triton's `AxisInfo` + `Coalesce`, reduced to what the
//! lowering uses).
//!
//! [`axis_info`] computes, for every integer or pointer tile, per dimension:
//! - *contiguity*: the length of the runs of consecutive values (`+1` per
//!   step) along the dimension; runs start at multiples of their length;
//! - *constancy*: the length of the runs of equal values (likewise aligned).
//!
//! Rules: `arange` is contiguous along its one dimension; `splat` and
//! constants are constant along every dimension; `broadcast` makes the
//! broadcast dimensions constant; `expand_dims` adds a dimension of size 1;
//! `add`/`sub`/`addptr` keep the contiguity of one side where the other side
//! is constant over it; casts between integer types and `convert_layout`
//! keep both; other ops keep only the constancy their operands share.
//!
//! [`preferred`] turns that into a [`Preference`] per load, store and atomic
//! of a tile: the *fast* dimension (the most contiguous one, the last on
//! ties) and the elements per thread along it (`spt`). When the fast
//! dimension is not the last one (a transposed access such as `K^T` in
//! attention) the default blocked layout is turned to run its lanes along
//! it, so that neighbouring lanes read neighbouring addresses. `spt` is, as
//! in Triton's coalesce pass, `min(16 bytes / element bytes, contiguity,
//! extent / lanes and warps along the dimension)`: a thread holds up to 16
//! consecutive bytes, and the lanes and warps cover as much of the tile as
//! they did with one element each (no thread becomes a copy of another).
//! Tiles that are smaller than the layout's lanes and warps along another
//! dimension (4 x 1024 on 4 warps: warps hold copies of rows) are not
//! widened: ptxas allocated far more registers for them widened (168 ->
//! 247 for one bundled kernel, spills in others), and the layout cannot
//! move those lanes without changing the slices other tiles agree on.
//! `convert-to-gpu` combines the preferences of a class into one layout with
//! [`class_encoding`] (not for classes of `dot` operands or accumulators,
//! see there).
//!
//! [`run`] (the `coalesce` pass, after the layouts are final) records on
//! each load and store the vector width the lowering may use, `vec = N`:
//! runs of `N` registers of the pointer tile whose addresses are known
//! consecutive (register bases `1, 2, .., N/2` along a dimension contiguous
//! in runs of a multiple of `N`, every other basis a multiple of `N` there),
//! at most 16 bytes and at least 4. Alignment and masks are not known at
//! compile time (kernels are not specialized on the divisibility of their
//! arguments, which would multiply the prebuilt variants): the lowering
//! checks per run, at run time, that the first address is aligned to the
//! run's bytes and that the run's mask bits agree; a thread whose runs all
//! pass does one vector access per run, any other one access per element
//! (`nvptx::lower::memory`).

use std::collections::HashMap;

use super::encoding::{Blocked, Encoding};
use super::plan::LayoutPlan;
use super::table;
use crate::ir::{Attr, Body, Func, OpId, OpKind, ScalarType, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "coalesce";

/// The attribute holding a memory op's vector width.
pub const VEC: &str = "vec";

/// The widest vector access, in bytes.
pub const MAX_VECTOR_BYTES: u64 = 16;

/// The narrowest vector access worth doing, in bytes (one 32-bit word).
pub const MIN_VECTOR_BYTES: u64 = 4;

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
            OpKind::ConvertLayout => get(d.operands[0]),
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

/// The default blocked encoding of rank `rank` (2 or more) turned so that
/// its lanes run along dimension `fast`.
fn turned(rank: usize, fast: usize, num_warps: u32) -> Blocked {
    let mut order: Vec<usize> = vec![fast];
    order.extend((0..rank).rev().filter(|&k| k != fast));
    let mut tpw = vec![1u64; rank];
    tpw[order[0]] = 8;
    tpw[order[1]] = 4;
    let mut wpc = vec![1u64; rank];
    wpc[order[rank - 1]] = u64::from(num_warps);
    Blocked {
        spt: vec![1; rank],
        tpw,
        wpc,
        order,
    }
}

/// The blocked encoding whose lanes run along dimension `fast` with `spt`
/// elements per thread there: [`Encoding::default_for`] the rank when `fast`
/// is the last dimension, else the default turned to `fast` (order
/// `[fast, ..]`, lanes 8 along `fast` and 4 along the next, warps along the
/// slowest).
pub fn blocked_along(rank: usize, fast: usize, spt: u64, num_warps: u32) -> Encoding {
    let mut b = if rank >= 2 && fast + 1 != rank {
        turned(rank, fast, num_warps)
    } else {
        match Encoding::default_for(rank, num_warps) {
            Encoding::Blocked(b) => b,
            other => return other,
        }
    };
    if let Some(s) = b.spt.get_mut(fast) {
        *s = spt.max(1);
    }
    Encoding::Blocked(b)
}

/// What one memory access would like its class's layout to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preference {
    /// The load, store or atomic.
    pub op: OpId,
    /// The dimension its addresses run along (the most contiguous one).
    pub fast: usize,
    /// Consecutive elements per thread along `fast` (1 for atomics, which
    /// access element by element).
    pub spt: u64,
}

/// The pointer operand of a memory op, if it is a tile.
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

/// The most contiguous dimension of `a`, the last one on ties.
fn fastest(a: &AxisInfo) -> Option<usize> {
    (0..a.contiguity.len())
        .rev()
        .max_by_key(|&k| (a.contiguity[k], k))
}

/// The largest power of two at most `x` (1 for 0).
fn floor_pow2(x: u64) -> u64 {
    if x <= 1 {
        1
    } else {
        1 << (63 - x.leading_zeros())
    }
}

/// Elements per thread along `fast` for an access to `elem`s: at most 16
/// bytes, the contiguity, and what keeps the lanes and warps along `fast`
/// inside the tile's extent.
fn vector_spt(
    elem: ScalarType,
    contiguity: u64,
    shape: &[u64],
    fast: usize,
    num_warps: u32,
) -> u64 {
    if elem.is_bool() {
        return 1; // i1 tiles are bytes in memory but bits in registers
    }
    let Encoding::Blocked(b) = blocked_along(shape.len(), fast, 1, num_warps) else {
        return 1;
    };
    if (0..shape.len()).any(|k| k != fast && b.tpw[k] * b.wpc[k] > shape[k]) {
        // Lanes or warps already hold copies along another dimension: left
        // alone (measured: ptxas needs many more registers for such tiles
        // widened, e.g. 4 x 1024 on 4 warps, 168 -> 247).
        return 1;
    }
    let threads = b.tpw[fast] * b.wpc[fast];
    let cover = shape[fast] / threads.max(1);
    let cap = MAX_VECTOR_BYTES / elem.bytes() as u64;
    floor_pow2(cap.min(contiguity).min(cover))
}

/// The layout each memory access of `f` would rather have (see the module
/// doc); accesses best served by the default (contiguous along the last
/// dimension with one element per thread, or not contiguous at all) are not
/// listed.
///
/// Loads of `dot` operands are left alone: the SIMT `dot` stages them in
/// shared memory row-major, where a tile turned to its first dimension would
/// write with 8 lanes on one bank (measured: `FlashAttention` at half speed).
/// Turning them pays once operands get swizzled shared layouts.
pub fn preferred(f: &Func, num_warps: u32) -> Vec<Preference> {
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
        let (Some(a), Some(shape)) = (info.get(&p), body.ty(p).const_shape()) else {
            continue;
        };
        let Some(fast) = fastest(a) else {
            continue;
        };
        if a.contiguity[fast] <= 1 {
            continue;
        }
        let rank = shape.len();
        let spt = match (d.kind, body.ty(p).pointee()) {
            (OpKind::Load | OpKind::Store, Some((elem, _))) => {
                vector_spt(elem, a.contiguity[fast], &shape, fast, num_warps)
            }
            _ => 1,
        };
        if fast + 1 == rank && spt == 1 {
            continue;
        }
        out.push(Preference { op, fast, spt });
    }
    out
}

/// The layout of a class of rank `rank` holding the accesses `prefs`, if
/// not the default: turned to the fast dimension of the first transposed
/// access if there is one (else the last dimension), with the most elements
/// per thread any access along that dimension asks for. `vectors = false`
/// keeps one element per thread (classes holding a `dot` accumulator, whose
/// layout the `dot` lowering chooses for).
pub fn class_encoding(
    prefs: &[&Preference],
    rank: usize,
    num_warps: u32,
    vectors: bool,
) -> Option<Encoding> {
    let last = rank.checked_sub(1)?;
    let fast = prefs
        .iter()
        .find(|p| p.fast != last)
        .map_or(last, |p| p.fast);
    let spt = if vectors {
        prefs
            .iter()
            .filter(|p| p.fast == fast)
            .map(|p| p.spt)
            .max()
            .unwrap_or(1)
    } else {
        1
    };
    if fast == last && spt == 1 {
        return None;
    }
    Some(blocked_along(rank, fast, spt, num_warps))
}

/// How many consecutive registers of a pointer tile laid out as `plan`,
/// pointing to `elem`s with addresses described by `info`, hold consecutive
/// addresses: runs of registers `r, r+1, .., r+N-1` (`r` a multiple of `N`)
/// whose first `log2 N` register bases are `1, 2, .., N/2` along the most
/// contiguous dimension, where every other basis (register, lane, warp) is a
/// multiple of `N` and the contiguity a multiple of `N`; capped at 16 bytes.
/// 1 when that is under 4 bytes or the elements are `i1`.
pub fn vector_width(plan: &LayoutPlan, info: &AxisInfo, elem: ScalarType) -> u64 {
    let Some(fast) = fastest(info) else {
        return 1;
    };
    if elem.is_bool() || plan.shape.len() != info.contiguity.len() {
        return 1;
    }
    let bytes = elem.bytes() as u64;
    let cap = MAX_VECTOR_BYTES / bytes;
    let unit = |v: u64| -> Vec<u64> {
        let mut c = vec![0; plan.shape.len()];
        c[fast] = v;
        c
    };
    let mut v = 1u64;
    while v * 2 <= cap && info.contiguity[fast].is_multiple_of(v * 2) {
        match plan.reg_coord.get(v as usize) {
            Some(b) if *b == unit(v) => v *= 2,
            _ => break,
        }
    }
    let reg_bases: Vec<&Vec<u64>> = (0..plan.regs.trailing_zeros())
        .map(|i| &plan.reg_coord[1 << i])
        .collect();
    while v > 1 {
        let k = v.trailing_zeros() as usize;
        let aligned = reg_bases[k..]
            .iter()
            .copied()
            .chain(&plan.lane_bases)
            .chain(&plan.warp_bases)
            .all(|b| b[fast].is_multiple_of(v));
        if aligned {
            break;
        }
        v /= 2;
    }
    if v * bytes < MIN_VECTOR_BYTES { 1 } else { v }
}

/// Runs the `coalesce` pass on `f`, whose values have their final layouts:
/// sets (or clears) the [`VEC`] attribute of every load and store of a tile.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let layouts = table::read(f)?;
    let info = axis_info(f);
    let body = &mut f.body;
    let mut changed = false;
    for op in body.walk(body.entry()) {
        let d = body.op(op);
        if !matches!(d.kind, OpKind::Load | OpKind::Store) {
            continue;
        }
        let Some(p) = pointer_of(body, op) else {
            continue;
        };
        let want = match (
            layouts.get(&p),
            info.get(&p),
            body.ty(p).pointee(),
            body.ty(p).const_shape(),
        ) {
            (Some(enc), Some(a), Some((elem, _)), Some(shape)) => {
                let plan = LayoutPlan::new(enc, &shape).map_err(|e| {
                    PassError::new(NAME, d.loc.clone(), format!("{}: {}", d.kind, e.0))
                })?;
                vector_width(&plan, a, elem)
            }
            _ => 1,
        };
        let have = d.attr(VEC).and_then(Attr::as_int);
        if want >= 2 && have != Some(want as i64) {
            body.op_mut(op).attrs.set(VEC, Attr::Int(want as i64));
            changed = true;
        } else if want < 2 && have.is_some() {
            body.op_mut(op).attrs.remove(VEC);
            changed = true;
        }
    }
    Ok(changed)
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

    fn preferred_for(use_line: &str) -> Vec<Preference> {
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
        // 32 rows over 8 lanes: 4 f16 per thread along dim 0.
        assert_eq!((turned[0].fast, turned[0].spt), (0, 4));
        assert_eq!(
            class_encoding(&[&turned[0]], 2, 4, true)
                .unwrap()
                .to_string(),
            "blocked<spt=[4, 1], tpw=[8, 4], wpc=[1, 4], order=[0, 1]>"
        );
        assert_eq!(
            class_encoding(&[&turned[0]], 2, 4, false).unwrap(),
            blocked_along(2, 0, 1, 4)
        );
        let staged = preferred_for(
            "%z = tile.constant {value = 0.0} : tile<32x32xf32> loc(unknown)\n  %c = tile.dot %kt, %kt, %z : tile<32x32xf32> loc(unknown)",
        );
        assert!(staged.is_empty(), "{staged:?}");
    }

    #[test]
    fn turned_layouts_are_valid() {
        for nw in [1, 4, 8] {
            let e = blocked_along(2, 0, 1, nw);
            e.check(nw).unwrap();
            assert_eq!(
                e.to_string(),
                format!("blocked<spt=[1, 1], tpw=[8, 4], wpc=[1, {nw}], order=[0, 1]>")
            );
            blocked_along(3, 1, 4, nw).check(nw).unwrap();
            assert_eq!(
                blocked_along(2, 1, 8, nw).to_string(),
                format!("blocked<spt=[1, 8], tpw=[4, 8], wpc=[{nw}, 1], order=[1, 0]>")
            );
            assert_eq!(blocked_along(1, 0, 1, nw), Encoding::default_for(1, nw));
        }
    }

    /// A 1-d kernel loading `elem`s at `base + arange<n>` (masked) and storing them back.
    fn one_d(elem: &str, n: u64) -> Func {
        let text = format!(
            r#"tile.kernel @k(%p: ptr<{elem}, global>, %base: i32, %limit: i32) loc(unknown) {{
  %i = tile.arange {{start = 0}} : tile<{n}xi32> loc(unknown)
  %b = tile.splat %base : tile<{n}xi32> loc(unknown)
  %off = tile.add %b, %i : tile<{n}xi32> loc(unknown)
  %l = tile.splat %limit : tile<{n}xi32> loc(unknown)
  %m = tile.cmp %off, %l {{pred = "lt"}} : tile<{n}xi1> loc(unknown)
  %ps = tile.splat %p : tile<{n}xptr<{elem}, global>> loc(unknown)
  %ptrs = tile.addptr %ps, %off : tile<{n}xptr<{elem}, global>> loc(unknown)
  %v = tile.load %ptrs, %m : tile<{n}x{elem}> loc(unknown)
  tile.store %ptrs, %v, %m loc(unknown)
  tile.return loc(unknown)
}}
"#
        );
        crate::ir::parse_module(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .funcs
            .remove(0)
    }

    #[test]
    fn one_d_accesses_hold_up_to_16_bytes_while_lanes_cover_the_tile() {
        // (element, tile size, warps) -> elements per thread
        for (elem, n, nw, want) in [
            ("f32", 1024, 4, 4),
            ("f16", 1024, 4, 8),
            ("f16", 2048, 4, 8),
            ("i8", 4096, 4, 16),
            ("f64", 1024, 4, 2),
            ("f32", 256, 4, 2), // 2 per thread covers 256 with 128 threads
            ("f32", 128, 4, 1), // as many lanes as elements
            ("f32", 64, 4, 1),  // fewer elements than lanes
            ("i1", 1024, 4, 1), // bits in registers
            ("f32", 1024, 8, 4),
        ] {
            let f = one_d(elem, n);
            let prefs = preferred(&f, nw);
            let got = prefs.first().map_or(1, |p| p.spt);
            assert_eq!(got, want, "{elem} x {n} on {nw} warps: {prefs:?}");
            assert!(prefs.iter().all(|p| p.fast == 0));
        }
    }

    /// A kernel reading an `r x c` f32 tile row by row.
    fn rows(r: u64, c: u64) -> Func {
        let text = format!(
            r#"tile.kernel @k(%x: ptr<f32, global>, %stride: i32) loc(unknown) {{
  %r = tile.arange {{start = 0}} : tile<{r}xi32> loc(unknown)
  %c = tile.arange {{start = 0}} : tile<{c}xi32> loc(unknown)
  %rc = tile.expand_dims %r {{axis = 1}} : tile<{r}x1xi32> loc(unknown)
  %st = tile.splat %stride : tile<{r}x1xi32> loc(unknown)
  %rs = tile.mul %rc, %st : tile<{r}x1xi32> loc(unknown)
  %cr = tile.expand_dims %c {{axis = 0}} : tile<1x{c}xi32> loc(unknown)
  %rb = tile.broadcast %rs : tile<{r}x{c}xi32> loc(unknown)
  %cb = tile.broadcast %cr : tile<{r}x{c}xi32> loc(unknown)
  %off = tile.add %rb, %cb : tile<{r}x{c}xi32> loc(unknown)
  %xs = tile.splat %x : tile<{r}x{c}xptr<f32, global>> loc(unknown)
  %xp = tile.addptr %xs, %off : tile<{r}x{c}xptr<f32, global>> loc(unknown)
  %v = tile.load %xp : tile<{r}x{c}xf32> loc(unknown)
  tile.store %xp, %v loc(unknown)
  tile.return loc(unknown)
}}
"#
        );
        crate::ir::parse_module(&text).unwrap().funcs.remove(0)
    }

    #[test]
    fn two_d_tiles_widen_along_rows_unless_threads_hold_copies() {
        // (rows, cols, warps) -> f32 per thread along the rows
        for (r, c, nw, want) in [
            (64, 64, 4, 4),
            (16, 64, 4, 4),
            (16, 16, 4, 2),  // 16 columns over 8 lanes
            (16, 8, 4, 1),   // one column per lane
            (4, 1024, 4, 1), // 4 rows over 4 lanes x 4 warps: copies
            (4, 1024, 1, 4), // one warp: its 4 row lanes cover the rows
            (8, 256, 2, 4),
        ] {
            let prefs = preferred(&rows(r, c), nw);
            let got = prefs.first().map_or(1, |p| p.spt);
            assert_eq!(got, want, "{r} x {c} on {nw} warps: {prefs:?}");
            assert!(prefs.iter().all(|p| p.fast == 1));
        }
    }

    fn plan(enc: &Encoding, shape: &[u64]) -> LayoutPlan {
        LayoutPlan::new(enc, shape).unwrap()
    }

    #[test]
    fn vector_widths_follow_the_registers_and_the_contiguity() {
        let contiguous = |c: &[u64]| AxisInfo {
            contiguity: c.to_vec(),
            constancy: vec![1; c.len()],
        };
        let row = blocked_along(2, 1, 8, 4);
        let p = plan(&row, &[64, 64]);
        assert_eq!(vector_width(&p, &contiguous(&[1, 64]), ScalarType::F16), 8);
        // 16 bytes at most.
        assert_eq!(vector_width(&p, &contiguous(&[1, 64]), ScalarType::F32), 4);
        assert_eq!(vector_width(&p, &contiguous(&[1, 64]), ScalarType::F64), 2);
        // Runs of 2 consecutive addresses only.
        assert_eq!(vector_width(&p, &contiguous(&[1, 2]), ScalarType::F32), 2);
        // 2 bytes is not worth a vector; i1 never is.
        assert_eq!(vector_width(&p, &contiguous(&[1, 2]), ScalarType::I8), 1);
        assert_eq!(vector_width(&p, &contiguous(&[1, 64]), ScalarType::I1), 1);
        // Contiguous along the other dimension than the registers.
        assert_eq!(vector_width(&p, &contiguous(&[64, 1]), ScalarType::F32), 1);
        // One element per thread: nothing to vectorize.
        let d = plan(&Encoding::default_for(2, 4), &[64, 64]);
        assert_eq!(vector_width(&d, &contiguous(&[1, 64]), ScalarType::F16), 1);
        // A tile narrower than the registers' run: the bases beyond it are copies.
        let narrow = plan(&row, &[64, 2]);
        assert_eq!(
            vector_width(&narrow, &contiguous(&[1, 2]), ScalarType::F32),
            2
        );
        // A turned layout runs along dim 0.
        let col = plan(&blocked_along(2, 0, 4, 4), &[64, 64]);
        assert_eq!(
            vector_width(&col, &contiguous(&[64, 1]), ScalarType::F32),
            4
        );
        // Slices keep the parent's registers along the remaining dimension.
        let cols = plan(&row.sliced(0), &[64]);
        assert_eq!(vector_width(&cols, &contiguous(&[64]), ScalarType::F16), 8);
    }

    #[test]
    fn the_pass_records_vector_widths_and_clears_stale_ones() {
        let mut f = one_d("f16", 1024);
        crate::gpu::assign::run(&mut f, 4).unwrap();
        assert!(run(&mut f).unwrap());
        let widths: Vec<Option<i64>> = f
            .body
            .walk(f.body.entry())
            .into_iter()
            .filter(|&o| matches!(f.body.op(o).kind, OpKind::Load | OpKind::Store))
            .map(|o| f.body.op(o).attr(VEC).and_then(Attr::as_int))
            .collect();
        assert_eq!(widths, [Some(8), Some(8)]);
        assert!(!run(&mut f).unwrap(), "a second run changes nothing");
        // A stale width on an access that cannot use one is removed.
        let mut g = one_d("f32", 64);
        crate::gpu::assign::run(&mut g, 4).unwrap();
        let load = g
            .body
            .walk(g.body.entry())
            .into_iter()
            .find(|&o| g.body.op(o).kind == OpKind::Load)
            .unwrap();
        g.body.op_mut(load).attrs.set(VEC, Attr::Int(4));
        assert!(run(&mut g).unwrap());
        assert!(g.body.op(load).attr(VEC).is_none());
    }
}
