//! `convert-to-gpu`: gives every tile value of a kernel a layout, and
//! inserts `tile.convert_layout` where an op needs an operand in another one.
//!
//! Layouts are inferred rather than picked per op, so that most ops need no
//! conversion at all:
//!
//! 1. **Classes.** Values that must share a layout are unified: the
//!    operands and results of elementwise ops, loads, stores, atomics,
//!    scans and sorts, a `dot`'s accumulator and result, and everything a
//!    loop or `if` carries (init, region argument, yielded value, result).
//! 2. **Relations.** `expand_dims(x, d)` wants `x` in `slice(d, layout of
//!    the result)`; a reduction along `d` gives `slice(d, layout of the
//!    operand)`. These relate a class to one of a rank above. A
//!    `broadcast` wants its operand in its result's layout (every encoding
//!    fits any shape). Broadcasts relate rather than unify so that an index
//!    tile shared by two accesses (after CSE, `d[None, :]` in the addresses
//!    of V and of the output) does not glue their classes into one layout.
//! 3. **Assignment**, highest rank first: a class that a relation derives
//!    from an assigned class takes that slice; a class holding memory
//!    accesses that [`coalesce`](super::coalesce) lays out otherwise (turned
//!    to a transposed access, several consecutive elements per thread for
//!    vector accesses) takes that layout
//!    ([`class_encoding`](super::coalesce::class_encoding)), except classes
//!    of `dot` operands (and only turned, never widened, for accumulators);
//!    any other takes [`Encoding::default_for`] its rank.
//! 4. **Conversions** where a relation does not hold (a 1-d value expanded
//!    both as a row and as a column, say): a `convert_layout` before the
//!    `expand_dims`, or after the reduction. Whether a conversion moves
//!    data is decided later, on linear layouts: `remove-layout-conversions`
//!    drops the ones that do not.
//!
//! `dot` operands, `trans`, `reshape`, `join`, `split` and descriptor loads
//! start classes of their own; their lowering moves data as needed.

use std::collections::HashMap;

use super::encoding::Encoding;
use super::table::{self, LayoutTable};
use crate::ir::{Attr, Attrs, Body, Func, OpId, OpKind, Type, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "convert-to-gpu";

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut y = x;
        while self.0[y] != r {
            let next = self.0[y];
            self.0[y] = r;
            y = next;
        }
        r
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// `child = slice(dim, parent)`; with no `dim`, `child = parent` (the
/// operand of a `broadcast`: blocked and tensor-core layouts fit any shape).
struct Relation {
    child: ValueId,
    parent: ValueId,
    dim: Option<usize>,
}

fn rank_of(body: &Body, v: ValueId) -> usize {
    body.ty(v).shape().len()
}

/// Ops whose tile results are recomputed per memory access by
/// [`own_address_chains`]: cheap, pure, region-free index arithmetic.
fn is_index_op(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::Constant
            | OpKind::Arange
            | OpKind::Splat
            | OpKind::Broadcast
            | OpKind::ExpandDims
            | OpKind::AddPtr
            | OpKind::Binary(_)
            | OpKind::Unary(_)
            | OpKind::Cmp
            | OpKind::Select
            | OpKind::Cast
    )
}

/// Gives every load, store and atomic its own copy of the index arithmetic
/// computing its pointers and mask, when that arithmetic is shared with
/// another access (CSE merges `rows * stride + cols` of Q's load and O's
/// store). Classes unify an access with everything its pointers are computed
/// from, so a shared computation would force one layout on accesses that
/// want different ones (O's is the accumulator's tensor-core layout, Q's a
/// coalesced one). Each copy sits right after its original, so nothing
/// moves into loops; LLVM merges copies that end up in the same layout.
pub fn own_address_chains(body: &mut Body) -> bool {
    let ops = body.walk(body.entry());
    let order: HashMap<OpId, usize> = ops.iter().enumerate().map(|(i, &o)| (o, i)).collect();
    let mut uses: HashMap<ValueId, usize> = HashMap::new();
    for &op in &ops {
        for &v in &body.op(op).operands {
            *uses.entry(v).or_default() += 1;
        }
    }
    let mut changed = false;
    let mut claimed: std::collections::HashSet<OpId> = std::collections::HashSet::new();
    for &mem in &ops {
        let kind = body.op(mem).kind;
        if !matches!(
            kind,
            OpKind::Load | OpKind::Store | OpKind::AtomicRmw | OpKind::AtomicCas
        ) {
            continue;
        }
        // The index ops upstream of the access's pointer and mask.
        let value_operand = match kind {
            OpKind::Store => Some(1),
            _ => None,
        };
        let mut chain: Vec<OpId> = Vec::new();
        let mut work: Vec<ValueId> = body
            .op(mem)
            .operands
            .iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != value_operand && i < 3)
            .map(|(_, &v)| v)
            .collect();
        while let Some(v) = work.pop() {
            let Some(d) = body.def_op(v) else { continue };
            if !body.ty(v).is_tile() || !is_index_op(body.op(d).kind) || chain.contains(&d) {
                continue;
            }
            chain.push(d);
            work.extend(body.op(d).operands.iter().copied());
            if chain.len() > 48 {
                break;
            }
        }
        let shared = chain.iter().any(|&d| {
            body.op(d)
                .results
                .iter()
                .any(|r| uses.get(r).copied().unwrap_or(0) > 1)
        });
        // The first access keeps the originals; the others get copies.
        if !shared || chain.iter().all(|d| claimed.insert(*d)) {
            continue;
        }
        let mut copy: HashMap<ValueId, ValueId> = HashMap::new();
        // Copy in program order (the walk order), each right after its original.
        let mut ordered = chain.clone();
        ordered.sort_by_key(|d| order.get(d).copied());
        for d in ordered {
            let data = body.op(d).clone();
            let operands = data
                .operands
                .iter()
                .map(|v| copy.get(v).copied().unwrap_or(*v))
                .collect();
            let types = data.results.iter().map(|&r| body.ty(r).clone()).collect();
            let c = body.create_op(
                data.kind,
                operands,
                types,
                data.attrs.clone(),
                vec![],
                data.loc,
            );
            let (r, i) = body.position(d).expect("linked");
            body.insert_op(r, i + 1, c);
            for (&old, &new) in data.results.iter().zip(&body.op(c).results.clone()) {
                copy.insert(old, new);
            }
        }
        let new_operands: Vec<ValueId> = body
            .op(mem)
            .operands
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if Some(i) == value_operand {
                    *v
                } else {
                    copy.get(v).copied().unwrap_or(*v)
                }
            })
            .collect();
        body.op_mut(mem).operands = new_operands;
        changed = true;
    }
    changed
}

/// Runs convert-to-gpu on kernel `f` for `num_warps` warps.
pub fn run(f: &mut Func, num_warps: u32) -> Result<bool, PassError> {
    if let Ok(done) = table::read(f) {
        let all = f.body.walk(f.body.entry());
        if !done.is_empty() || !all.iter().any(|&op| has_tile_result(&f.body, op)) {
            return Ok(false); // Already converted.
        }
    }
    let split = own_address_chains(&mut f.body);
    let coalesced = super::coalesce::preferred(f, num_warps);
    let body = &mut f.body;
    let n = body.num_values();
    let mut uf = UnionFind((0..n).collect());
    let mut relations: Vec<Relation> = Vec::new();
    let is_tile = |body: &Body, v: ValueId| body.ty(v).is_tile();
    let unite_all = |uf: &mut UnionFind, body: &Body, vals: &[ValueId]| {
        let tiles: Vec<ValueId> = vals.iter().copied().filter(|&v| is_tile(body, v)).collect();
        for w in tiles.windows(2) {
            uf.union(w[0].0 as usize, w[1].0 as usize);
        }
    };
    let ops = body.walk(body.entry());
    // Layouts fixed by earlier passes (`accelerate-dot`): the results of ops
    // that already carry a `layout`.
    let mut pinned: HashMap<ValueId, Encoding> = HashMap::new();
    for &op in &ops {
        let d = body.op(op);
        if let Some(text) = d.attr(table::LAYOUT).and_then(Attr::as_str) {
            for (&r, part) in d.results.iter().zip(text.split("; ")) {
                if let Ok(e) = Encoding::parse(part) {
                    pinned.insert(r, e);
                }
            }
        }
    }
    for &op in &ops {
        let d = body.op(op).clone();
        match d.kind {
            OpKind::Binary(_)
            | OpKind::Unary(_)
            | OpKind::Cmp
            | OpKind::Select
            | OpKind::Fma
            | OpKind::Cast
            | OpKind::Bitcast
            | OpKind::AddPtr
            | OpKind::Load
            | OpKind::Store
            | OpKind::AtomicRmw
            | OpKind::AtomicCas
            | OpKind::Scan
            | OpKind::Sort
            | OpKind::TopK
            | OpKind::Assert => {
                let all: Vec<ValueId> = d.operands.iter().chain(&d.results).copied().collect();
                unite_all(&mut uf, body, &all);
            }
            OpKind::Dot => unite_all(&mut uf, body, &[d.operands[2], d.results[0]]),
            OpKind::Broadcast if is_tile(body, d.operands[0]) => {
                relations.push(Relation {
                    child: d.operands[0],
                    parent: d.results[0],
                    dim: None,
                });
            }
            OpKind::ExpandDims => {
                let dim = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
                relations.push(Relation {
                    child: d.operands[0],
                    parent: d.results[0],
                    dim: Some(dim),
                });
            }
            OpKind::Reduce if is_tile(body, d.results[0]) => {
                let dim = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
                relations.push(Relation {
                    child: d.results[0],
                    parent: d.operands[0],
                    dim: Some(dim),
                });
            }
            OpKind::For => {
                let args = body.region(d.regions[0]).args.clone();
                let yielded = terminator_operands(body, d.regions[0]);
                for (i, &r) in d.results.iter().enumerate() {
                    unite_all(
                        &mut uf,
                        body,
                        &[d.operands[3 + i], args[1 + i], yielded[i], r],
                    );
                }
            }
            OpKind::If => {
                let then_y = terminator_operands(body, d.regions[0]);
                let else_y = terminator_operands(body, d.regions[1]);
                for (i, &r) in d.results.iter().enumerate() {
                    unite_all(&mut uf, body, &[then_y[i], else_y[i], r]);
                }
            }
            OpKind::While => {
                let before = body.region(d.regions[0]).args.clone();
                let after = body.region(d.regions[1]).args.clone();
                let cond = terminator_operands(body, d.regions[0]);
                let yielded = terminator_operands(body, d.regions[1]);
                for (i, &a) in before.iter().enumerate() {
                    unite_all(&mut uf, body, &[d.operands[i], a, yielded[i]]);
                }
                for (i, &r) in d.results.iter().enumerate() {
                    unite_all(&mut uf, body, &[cond[1 + i], after[i], r]);
                }
            }
            _ => {}
        }
    }

    // Every tile value, grouped by class, classes by decreasing rank.
    let mut members: HashMap<usize, Vec<ValueId>> = HashMap::new();
    for v in (0..n as u32).map(ValueId) {
        if is_tile(body, v) {
            members.entry(uf.find(v.0 as usize)).or_default().push(v);
        }
    }
    let mut classes: Vec<usize> = members.keys().copied().collect();
    // Highest rank first; at one rank, the operands of broadcasts after the
    // classes they broadcast into (so they can take their layout).
    let bcast_child: std::collections::HashSet<usize> = relations
        .iter()
        .filter(|r| r.dim.is_none())
        .map(|r| uf.find(r.child.0 as usize))
        .collect();
    classes.sort_by_key(|&c| {
        (
            std::cmp::Reverse(rank_of(body, members[&c][0])),
            bcast_child.contains(&c),
            c,
        )
    });
    // Memory accesses that coalesce better another way (see `coalesce`),
    // except in classes of `dot` operands (the SIMT dot stages them
    // row-major) and with one element per thread in classes of `dot`
    // accumulators (the dot lowering chooses for them).
    let mut operand_classes = Vec::new();
    let mut acc_classes = Vec::new();
    for &op in &ops {
        let d = body.op(op);
        if d.kind == OpKind::Dot {
            operand_classes.extend(d.operands[..2].iter().map(|v| uf.find(v.0 as usize)));
            acc_classes.extend([d.operands[2], d.results[0]].map(|v| uf.find(v.0 as usize)));
        }
    }
    let mut class_pin: HashMap<usize, Encoding> = HashMap::new();
    for (v, e) in &pinned {
        class_pin
            .entry(uf.find(v.0 as usize))
            .or_insert_with(|| e.clone());
    }
    let mut wishes: HashMap<usize, Vec<&super::coalesce::Preference>> = HashMap::new();
    for p in &coalesced {
        let c = uf.find(body.op(p.op).operands[0].0 as usize);
        if !operand_classes.contains(&c) {
            wishes.entry(c).or_default().push(p);
        }
    }
    let preferred: HashMap<usize, Encoding> = wishes
        .iter()
        .filter_map(|(&c, prefs)| {
            let rank = rank_of(body, members.get(&c)?[0]);
            let vectors = !acc_classes.contains(&c);
            super::coalesce::class_encoding(prefs, rank, num_warps, vectors).map(|e| (c, e))
        })
        .collect();
    let mut class_enc: HashMap<usize, Encoding> = HashMap::new();
    for &c in &classes {
        if let Some(e) = class_pin.get(&c) {
            class_enc.insert(c, e.clone());
            continue;
        }
        let derived = relations.iter().find_map(|r| {
            if uf.find(r.child.0 as usize) != c {
                return None;
            }
            class_enc
                .get(&uf.find(r.parent.0 as usize))
                .map(|p| match r.dim {
                    Some(d) => p.sliced(d),
                    None => p.clone(),
                })
        });
        let rank = rank_of(body, members[&c][0]);
        let enc = derived
            .or_else(|| preferred.get(&c).cloned())
            .unwrap_or_else(|| Encoding::default_for(rank, num_warps));
        class_enc.insert(c, enc);
    }
    let mut layouts: LayoutTable = LayoutTable::new();
    for (&c, vs) in &members {
        for &v in vs {
            layouts.insert(v, class_enc[&c].clone());
        }
    }

    // Conversions where a relation does not hold.
    let mut changed = false;
    for &op in &ops {
        let d = body.op(op).clone();
        match d.kind {
            OpKind::ExpandDims => {
                let dim = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
                let want = layouts[&d.results[0]].sliced(dim);
                let x = d.operands[0];
                if !same_layout(body, x, &layouts[&x], &want)? {
                    let c = convert_before(body, op, x, &want);
                    layouts.insert(c, want);
                    body.op_mut(op).operands[0] = c;
                    changed = true;
                }
            }
            OpKind::Broadcast if is_tile(body, d.operands[0]) => {
                let want = layouts[&d.results[0]].clone();
                let x = d.operands[0];
                if !same_layout(body, x, &layouts[&x], &want)? {
                    let c = convert_before(body, op, x, &want);
                    layouts.insert(c, want);
                    body.op_mut(op).operands[0] = c;
                    changed = true;
                }
            }
            OpKind::Dot if pinned.contains_key(&d.results[0]) => {
                // Two pinned layouts in one class: the dot keeps its own.
                let want = pinned[&d.results[0]].clone();
                let (acc, r) = (d.operands[2], d.results[0]);
                if !same_layout(body, acc, &layouts[&acc], &want)? {
                    let c = convert_before(body, op, acc, &want);
                    layouts.insert(c, want.clone());
                    body.op_mut(op).operands[2] = c;
                    changed = true;
                }
                let have = layouts[&r].clone();
                if !same_layout(body, r, &want, &have)? {
                    let c = convert_after(body, op, r, &have);
                    layouts.insert(r, want);
                    layouts.insert(c, have);
                    changed = true;
                }
            }
            OpKind::Reduce if is_tile(body, d.results[0]) => {
                let dim = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
                let natural = layouts[&d.operands[0]].sliced(dim);
                let r = d.results[0];
                let have = layouts[&r].clone();
                if !same_layout(body, r, &natural, &have)? {
                    let c = convert_after(body, op, r, &have);
                    layouts.insert(r, natural);
                    layouts.insert(c, have);
                    changed = true;
                }
            }
            _ => {}
        }
    }
    for op in body.walk(body.entry()) {
        table::set(body, op, &layouts);
    }
    Ok(split || changed || !layouts.is_empty())
}

fn has_tile_result(body: &Body, op: OpId) -> bool {
    body.op(op).results.iter().any(|&r| body.ty(r).is_tile())
}

fn terminator_operands(body: &Body, r: crate::ir::RegionId) -> Vec<ValueId> {
    body.region(r)
        .ops
        .last()
        .map(|&t| body.op(t).operands.clone())
        .unwrap_or_default()
}

/// Whether `a` and `b` distribute a tile of `v`'s shape the same way.
pub fn same_layout(body: &Body, v: ValueId, a: &Encoding, b: &Encoding) -> Result<bool, PassError> {
    if a == b {
        return Ok(true);
    }
    let shape = const_shape(body, v)?;
    let la = a.to_linear(&shape).map_err(|e| layout_err(body, v, e.0))?;
    let lb = b.to_linear(&shape).map_err(|e| layout_err(body, v, e.0))?;
    Ok(la == lb)
}

fn layout_err(body: &Body, v: ValueId, m: String) -> PassError {
    let loc = body
        .def_op(v)
        .map(|o| body.op(o).loc.clone())
        .unwrap_or_else(crate::ir::Location::unknown);
    PassError::new(NAME, loc, format!("{}: {m}", table::describe(body, v)))
}

/// The static shape of tile `v` (the kernel is specialized).
pub fn const_shape(body: &Body, v: ValueId) -> Result<Vec<u64>, PassError> {
    body.ty(v)
        .const_shape()
        .ok_or_else(|| layout_err(body, v, format!("{} has a symbolic shape", body.ty(v))))
}

/// A new, unlinked `convert_layout x` to `to` at `loc`.
pub fn convert_op(body: &mut Body, x: ValueId, to: &Encoding, loc: crate::ir::Location) -> OpId {
    let ty: Type = body.ty(x).clone();
    body.create_op(
        OpKind::ConvertLayout,
        vec![x],
        vec![ty],
        Attrs::new().with(table::LAYOUT, Attr::Str(to.to_string())),
        vec![],
        loc,
    )
}

/// The location of the op defining `x` (unknown for region arguments).
fn def_loc(body: &Body, x: ValueId) -> crate::ir::Location {
    body.def_op(x)
        .map(|o| body.op(o).loc.clone())
        .unwrap_or_else(crate::ir::Location::unknown)
}

/// Inserts `convert_layout x` to `to` right before `op`; returns the converted value.
pub fn convert_before(body: &mut Body, op: OpId, x: ValueId, to: &Encoding) -> ValueId {
    let c = convert_op(body, x, to, def_loc(body, x));
    let (r, i) = body.position(op).expect("linked");
    body.insert_op(r, i, c);
    body.op(c).results[0]
}

/// Inserts `convert_layout r` to `to` right after `op` (which defines `r`) and
/// makes every other use of `r` use it; returns the converted value.
pub fn convert_after(body: &mut Body, op: OpId, r: ValueId, to: &Encoding) -> ValueId {
    let c = convert_op(body, r, to, def_loc(body, r));
    let (reg, i) = body.position(op).expect("linked");
    body.insert_op(reg, i + 1, c);
    let cv = body.op(c).results[0];
    body.replace_all_uses(r, cv);
    body.op_mut(c).operands[0] = r;
    cv
}
