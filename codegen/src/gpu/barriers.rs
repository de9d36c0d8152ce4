//! `insert-barriers`: explicit `tile.barrier` ops between the users of
//! shared memory, where (and only where) an earlier access could still be in
//! flight.
//!
//! **Users.** The lowering puts data in two shared buffers:
//!
//! - the kernel's dynamic buffer, used from offset 0 by every op that
//!   `allocate-shared-memory` gave an `smem_bytes` attribute (element moves
//!   across threads, `join`, `split`, reductions across warps, `dot`,
//!   `scan`, `sort`, `topk`; see [`shared_memory`](super::shared_memory));
//! - the static buffer of atomics, through which an atomic whose result is
//!   used passes old values from the element's owner to its copies: always
//!   for a scalar atomic (thread 0 does it), for a tile when its layout has
//!   copies in other lanes or warps ([`atomic_shares_old_values`], the
//!   condition the lowering applies).
//!
//! - the buffers of *resident* tensor-core operands (`smem_offset`, above the
//!   transient part of the dynamic buffer): the conversion staging one is
//!   a user (it writes, then synchronizes), and the dots that read it with
//!   `ldmatrix` are *readers* ([`reads_of`]): they need no barrier before
//!   them (the staging's own barrier ordered the writes), but their reads
//!   stay in flight after them, until a barrier.
//!
//! Nothing else touches shared memory (loads, stores and descriptor
//! accesses are global; print and assert call `vprintf`/`__assertfail`).
//!
//! **What a user does.** Each user writes its buffer, synchronizes, then
//! reads it (the *internal* barrier, emitted by the lowering with the op,
//! as are the barriers between the steps of a scan). So after a user, every
//! shared access before it is complete for every thread, and only its own
//! reads of its own buffer may still be in flight. What the lowering no
//! longer does is the *leading* barrier: the one before a user's first
//! write, which waits for earlier readers of the same buffer. This pass
//! places it.
//!
//! **The dataflow.** The state at a point is the set of buffers ([`Buffers`])
//! that may have been read since the last barrier, on some path to the
//! point. It starts empty at the kernel's entry; a `tile.barrier` empties
//! it; a user of buffers `B` needs a barrier before it when the state meets
//! `B`, and leaves the state `B` (its internal barrier ordered everything
//! before). Structured control flow: `if` joins its two branches (union);
//! a `for` body starts from the state before the loop joined with the
//! state at the end of the body (the back edge), iterated to a fixpoint,
//! and the loop exits with that state (zero trips or after the last); a
//! `while` runs its `before` region from the state before the loop joined
//! with the end of its `after` region, and exits from the end of `before`.
//! So the first user of a kernel needs no barrier, a user after another
//! user of the same buffer needs one, and a loop whose body uses a buffer
//! synchronizes once per trip only where the back edge brings an earlier
//! use. The analysis is a may-analysis over every path (both branches,
//! any trip count), so it is conservative: a barrier is left out only when
//! no path needs it.
//!
//! **Every thread reaches every barrier.** A `tile.barrier` is
//! `bar.sync 0`, which all threads of the CTA must execute. The pass only
//! places barriers in the regions of the tile IR, and tile IR control flow
//! never diverges inside a CTA: the conditions of `if` and `while` and the
//! bounds of `for` are scalars (the verifier requires `i1`/integer
//! scalars), and a scalar has one value in every thread of a CTA. Scalars
//! come from constants, kernel arguments, `program_id`/`num_programs`,
//! arithmetic on scalars, reductions of tiles to scalars (every thread
//! gets the total: butterfly shuffles within warps, then every thread reads
//! every warp's partial), scalar atomics (thread 0's old value is shared
//! with all) and scalar loads, which every thread does at one address. The
//! one exception is a scalar `load` of memory that another CTA writes
//! concurrently without synchronization (a data race the tile semantics
//! leave undefined; a flag polled across CTAs must be read with an atomic).
//! The lowering's own divergent code (owners writing shared memory,
//! predicated stores) never contains a barrier.
//!
//! Calls must be inlined before (the tile pipeline does it): a `tile.call`
//! is an error. The pass is idempotent: barriers already in the IR empty
//! the state like the ones it places, so a second run adds none.

use std::collections::HashMap;

use super::plan::LayoutPlan;
use super::shared_memory::{SMEM_BYTES, SMEM_OFFSET};
use super::table::{self, LayoutTable};
use crate::ir::{Attr, Attrs, Body, Func, OpId, OpKind, RegionId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "insert-barriers";

/// A set of shared-memory buffers (a bit each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Buffers(u8);

impl Buffers {
    /// No buffer.
    pub const NONE: Buffers = Buffers(0);
    /// The kernel's dynamic buffer (every op with `smem_bytes`).
    pub const DYNAMIC: Buffers = Buffers(1);
    /// The static buffer of atomics.
    pub const ATOMIC: Buffers = Buffers(2);
    /// The buffers of resident tensor-core operands (`smem_offset`), above
    /// the dynamic buffer's transient part: one bit each ([`Buffers::resident`]).
    pub const RESIDENT: Buffers = Buffers(!3);
    /// Every buffer.
    pub const ALL: Buffers = Buffers(!0);

    /// The buffer of the `i`-th resident operand (by offset); beyond six,
    /// they share bits (which only costs barriers).
    pub fn resident(i: usize) -> Buffers {
        Buffers(4 << (i % 6))
    }

    /// True when every buffer of the set is a resident operand's.
    pub fn only_resident(self) -> bool {
        !self.is_empty() && self.0 & 3 == 0
    }

    /// The buffers in either set.
    pub fn union(self, other: Buffers) -> Buffers {
        Buffers(self.0 | other.0)
    }

    /// True when the sets share a buffer.
    pub fn overlaps(self, other: Buffers) -> bool {
        self.0 & other.0 != 0
    }

    /// True for the empty set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

fn err(f: &Func, op: OpId, msg: impl Into<String>) -> PassError {
    let d = f.body.op(op);
    PassError::new(NAME, d.loc.clone(), format!("{}: {}", d.kind, msg.into()))
}

/// Whether atomic `op` passes old values through the static shared buffer
/// (the lowering's `share_scalar`/`share_tile`): its result is used
/// (`uses` counts the uses of every value) and either the pointer is a
/// scalar (thread 0 does the atomic) or the pointer tile's layout holds
/// copies in other lanes or warps.
pub fn atomic_shares_old_values(
    f: &Func,
    layouts: &LayoutTable,
    uses: &[usize],
    op: OpId,
) -> Result<bool, PassError> {
    let d = f.body.op(op);
    let (Some(&ptr), Some(&result)) = (d.operands.first(), d.results.first()) else {
        return Err(err(f, op, "an atomic without a pointer or a result"));
    };
    if uses.get(result.0 as usize).copied().unwrap_or(0) == 0 {
        return Ok(false);
    }
    if !f.body.ty(ptr).is_tile() {
        return Ok(true);
    }
    let enc = layouts
        .get(&ptr)
        .or_else(|| layouts.get(&result))
        .ok_or_else(|| err(f, op, "the pointer tile has no layout (run convert-to-gpu)"))?;
    let shape = super::assign::const_shape(&f.body, ptr)?;
    let plan = LayoutPlan::new(enc, &shape).map_err(|e| err(f, op, e.0))?;
    Ok((plan.dup_lane_mask() | plan.dup_warp_mask()) != 0)
}

/// The shared buffers op `op` uses: the dynamic buffer when it has a
/// positive `smem_bytes`, the atomics' buffer per
/// [`atomic_shares_old_values`], else none.
pub fn buffers_of(
    f: &Func,
    layouts: &LayoutTable,
    uses: &[usize],
    resident: &[i64],
    op: OpId,
) -> Result<Buffers, PassError> {
    let d = f.body.op(op);
    let mut b = Buffers::NONE;
    match d.attr(SMEM_BYTES) {
        None | Some(Attr::Int(0)) => {}
        Some(Attr::Int(_)) if d.attr(SMEM_OFFSET).is_some() => {
            b = b.union(resident_buffer(f, resident, op));
        }
        Some(Attr::Int(n)) if *n > 0 => b = b.union(Buffers::DYNAMIC),
        Some(other) => {
            return Err(err(
                f,
                op,
                format!("`{SMEM_BYTES}` must be a byte count, found {other}"),
            ));
        }
    }
    if matches!(d.kind, OpKind::AtomicRmw | OpKind::AtomicCas)
        && atomic_shares_old_values(f, layouts, uses, op)?
    {
        b = b.union(Buffers::ATOMIC);
    }
    Ok(b)
}

/// The resident buffers `op` reads without writing first: a `dot` whose
/// operands were staged by a resident conversion (it loads them with
/// `ldmatrix`, after the conversion's own barrier).
pub fn reads_of(f: &Func, resident: &[i64], op: OpId) -> Buffers {
    let d = f.body.op(op);
    if d.kind != OpKind::Dot {
        return Buffers::NONE;
    }
    d.operands
        .iter()
        .filter_map(|&v| f.body.def_op(v))
        .filter(|&o| f.body.op(o).attr(SMEM_OFFSET).is_some())
        .fold(Buffers::NONE, |b, o| {
            b.union(resident_buffer(f, resident, o))
        })
}

/// The kernel's resident buffer offsets (`smem_offset`), sorted, once each.
pub fn resident_offsets(f: &Func) -> Vec<i64> {
    let mut offsets: Vec<i64> = f
        .body
        .walk(f.body.entry())
        .into_iter()
        .filter_map(|o| f.body.op(o).attr(SMEM_OFFSET).and_then(Attr::as_int))
        .collect();
    offsets.sort_unstable();
    offsets.dedup();
    offsets
}

/// The buffer of resident conversion `op`: its rank among the kernel's
/// resident offsets ([`resident_offsets`]).
fn resident_buffer(f: &Func, resident: &[i64], op: OpId) -> Buffers {
    let mine = f.body.op(op).attr(SMEM_OFFSET).and_then(Attr::as_int);
    Buffers::resident(resident.iter().position(|&x| Some(x) == mine).unwrap_or(0))
}

/// The dataflow over the structured IR (see the module doc).
struct Flow<'a> {
    body: &'a Body,
    users: &'a HashMap<OpId, Buffers>,
    /// Ops that only read buffers (no barrier before them; their reads
    /// stay in flight after).
    readers: &'a HashMap<OpId, Buffers>,
    /// The users that need a barrier right before them (filled only by
    /// recording walks, which run with each loop's fixpoint state).
    need: Vec<OpId>,
}

impl Flow<'_> {
    /// The state at the end of region `r` entered with `state`; when
    /// `record`, notes the users that need a barrier.
    fn region(&mut self, r: RegionId, mut state: Buffers, record: bool) -> Result<Buffers, OpId> {
        let body = self.body;
        for &op in &body.region(r).ops {
            let d = body.op(op);
            match d.kind {
                OpKind::Barrier => state = Buffers::NONE,
                OpKind::Call => return Err(op),
                OpKind::If => {
                    let then = self.region(d.regions[0], state, record)?;
                    let els = self.region(d.regions[1], state, record)?;
                    state = then.union(els);
                }
                OpKind::For => {
                    let entry =
                        self.fixpoint(state, |this, e| this.region(d.regions[0], e, false))?;
                    if record {
                        self.region(d.regions[0], entry, true)?;
                    }
                    // Zero trips leave `state`; the last trip leaves a
                    // subset of `entry`, which includes `state`.
                    state = entry;
                }
                OpKind::While => {
                    let (before, after) = (d.regions[0], d.regions[1]);
                    let entry = self.fixpoint(state, |this, e| {
                        let c = this.region(before, e, false)?;
                        this.region(after, c, false)
                    })?;
                    let exit = self.region(before, entry, record)?;
                    if record {
                        self.region(after, exit, true)?;
                    }
                    state = exit;
                }
                _ => {
                    if let Some(&b) = self.readers.get(&op) {
                        state = state.union(b);
                    }
                    if let Some(&b) = self.users.get(&op) {
                        if state.overlaps(b) && record {
                            self.need.push(op);
                        }
                        // A staging of resident operands only writes (its
                        // dots read later), so after its barrier nothing is
                        // in flight.
                        state = if b.only_resident() { Buffers::NONE } else { b };
                    }
                }
            }
        }
        Ok(state)
    }

    /// The least state `e` with `e = init ∪ trip(e)`, where `trip` gives the
    /// state at the back edge of a loop entered with `e`.
    fn fixpoint(
        &mut self,
        init: Buffers,
        mut trip: impl FnMut(&mut Self, Buffers) -> Result<Buffers, OpId>,
    ) -> Result<Buffers, OpId> {
        let mut entry = init;
        loop {
            // Monotone over a finite lattice (three bits): a few rounds.
            let next = init.union(trip(self, entry)?);
            if next == entry {
                return Ok(entry);
            }
            entry = next;
        }
    }
}

/// The ops of `body` that need a barrier right before them, in program
/// order, given the buffers each user of shared memory touches; `Err` holds
/// a `tile.call` (calls must be inlined first).
pub fn plan(
    body: &Body,
    users: &HashMap<OpId, Buffers>,
    readers: &HashMap<OpId, Buffers>,
) -> Result<Vec<OpId>, OpId> {
    let mut flow = Flow {
        body,
        users,
        readers,
        need: Vec::new(),
    };
    flow.region(body.entry(), Buffers::NONE, true)?;
    Ok(flow.need)
}

/// Places the barriers in kernel `f` (after `allocate-shared-memory`, with
/// layouts); returns whether any was added.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let layouts = table::read(f)?;
    let uses = f.body.use_counts();
    let resident = resident_offsets(f);
    let mut users = HashMap::new();
    let mut readers = HashMap::new();
    for op in f.body.walk(f.body.entry()) {
        let b = buffers_of(f, &layouts, &uses, &resident, op)?;
        if !b.is_empty() {
            users.insert(op, b);
        }
        let r = reads_of(f, &resident, op);
        if !r.is_empty() {
            readers.insert(op, r);
        }
    }
    let need = plan(&f.body, &users, &readers)
        .map_err(|call| err(f, call, "calls must be inlined before barriers are placed"))?;
    for &op in &need {
        let (region, index) = f
            .body
            .position(op)
            .ok_or_else(|| err(f, op, "internal: the op is not linked"))?;
        let loc = f.body.op(op).loc.clone();
        let barrier = f
            .body
            .create_op(OpKind::Barrier, vec![], vec![], Attrs::new(), vec![], loc);
        f.body.insert_op(region, index, barrier);
    }
    Ok(!need.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::{Buffers, plan};
    use crate::ir::{Attr, Attrs, Body, ConstValue, Location, OpId, OpKind, RegionId, Type};
    use crate::ir::{Func, ScalarType};

    #[test]
    fn buffer_sets() {
        assert!(Buffers::NONE.is_empty());
        assert!(!Buffers::DYNAMIC.overlaps(Buffers::ATOMIC));
        assert!(Buffers::ALL.overlaps(Buffers::ATOMIC));
        assert_eq!(
            Buffers::DYNAMIC
                .union(Buffers::ATOMIC)
                .union(Buffers::RESIDENT),
            Buffers::ALL
        );
        assert_eq!(Buffers::NONE.union(Buffers::DYNAMIC), Buffers::DYNAMIC);
        assert!(!Buffers::NONE.overlaps(Buffers::ALL));
        let (q, k) = (Buffers::resident(0), Buffers::resident(1));
        assert!(!q.overlaps(k) && q.only_resident() && Buffers::RESIDENT.overlaps(k));
        assert!(!q.union(Buffers::DYNAMIC).only_resident());
        assert_eq!(Buffers::resident(6), q);
    }

    /// Builds random structured programs whose leaves use random buffers.
    struct Gen<'a> {
        body: &'a mut Body,
        rng: SmallRng,
        users: HashMap<OpId, Buffers>,
        cond: crate::ir::ValueId,
        int: crate::ir::ValueId,
    }

    impl Gen<'_> {
        fn op(&mut self, r: RegionId, kind: OpKind, operands: Vec<crate::ir::ValueId>) -> OpId {
            let op = self.body.create_op(
                kind,
                operands,
                vec![],
                Attrs::new(),
                vec![],
                Location::unknown(),
            );
            self.body.append_op(r, op);
            op
        }

        fn with_regions(&mut self, r: RegionId, kind: OpKind, regions: Vec<RegionId>) {
            let operands = match kind {
                OpKind::For => vec![self.int; 3],
                OpKind::If => vec![self.cond],
                _ => vec![],
            };
            let op = self.body.create_op(
                kind,
                operands,
                vec![],
                Attrs::new(),
                regions,
                Location::unknown(),
            );
            self.body.append_op(r, op);
        }

        /// Fills region `r` with up to four ops, nesting to `depth`.
        fn fill(&mut self, r: RegionId, depth: u32) {
            let i32t = Type::Scalar(ScalarType::I32);
            for _ in 0..self.rng.random_range(1..=4) {
                let pick = self.rng.random_range(0..10);
                match pick {
                    0..=4 => {
                        let op = self.op(r, OpKind::Print, vec![]);
                        let b = [Buffers::DYNAMIC, Buffers::DYNAMIC, Buffers::ATOMIC][pick % 3];
                        if pick != 4 {
                            self.users.insert(op, b);
                        }
                    }
                    5 => {
                        self.op(r, OpKind::Barrier, vec![]);
                    }
                    6 | 7 if depth > 0 => {
                        let body = self.body.new_region(std::slice::from_ref(&i32t));
                        self.fill(body, depth - 1);
                        self.op(body, OpKind::Yield, vec![]);
                        self.with_regions(r, OpKind::For, vec![body]);
                    }
                    8 if depth > 0 => {
                        let (t, e) = (self.body.new_region(&[]), self.body.new_region(&[]));
                        self.fill(t, depth - 1);
                        self.op(t, OpKind::Yield, vec![]);
                        if self.rng.random_bool(0.7) {
                            self.fill(e, depth - 1);
                        }
                        self.op(e, OpKind::Yield, vec![]);
                        self.with_regions(r, OpKind::If, vec![t, e]);
                    }
                    9 if depth > 0 => {
                        let (b, a) = (self.body.new_region(&[]), self.body.new_region(&[]));
                        if self.rng.random_bool(0.7) {
                            self.fill(b, depth - 1);
                        }
                        let c = self.cond;
                        self.op(b, OpKind::Condition, vec![c]);
                        self.fill(a, depth - 1);
                        self.op(a, OpKind::Yield, vec![]);
                        self.with_regions(r, OpKind::While, vec![b, a]);
                    }
                    _ => {}
                }
            }
        }
    }

    /// One random execution from region `r`: `pending` holds the buffers
    /// used since the last barrier. Counts a use that meets `pending` (a
    /// race), and notes the planned barriers that some earlier use needed.
    struct Exec<'a> {
        body: &'a Body,
        users: &'a HashMap<OpId, Buffers>,
        planned: &'a HashSet<OpId>,
        rng: SmallRng,
        races: usize,
        needed: HashSet<OpId>,
    }

    impl Exec<'_> {
        fn region(&mut self, r: RegionId, pending: &mut Buffers) {
            let body = self.body;
            for &op in &body.region(r).ops {
                let d = body.op(op);
                match d.kind {
                    OpKind::Barrier => *pending = Buffers::NONE,
                    OpKind::For => {
                        for _ in 0..self.rng.random_range(0..=3) {
                            self.region(d.regions[0], pending);
                        }
                    }
                    OpKind::If => {
                        let taken = if self.rng.random_bool(0.5) { 0 } else { 1 };
                        self.region(d.regions[taken], pending);
                    }
                    OpKind::While => {
                        for trip in 0.. {
                            self.region(d.regions[0], pending);
                            if trip == 3 || self.rng.random_bool(0.4) {
                                break;
                            }
                            self.region(d.regions[1], pending);
                        }
                    }
                    _ => {
                        if let Some(&b) = self.users.get(&op) {
                            if self.planned.contains(&op) {
                                if pending.overlaps(b) {
                                    self.needed.insert(op);
                                }
                                *pending = Buffers::NONE;
                            }
                            if pending.overlaps(b) {
                                self.races += 1;
                            }
                            *pending = b;
                        }
                    }
                }
            }
        }
    }

    /// On random programs, no execution path reaches a user while an
    /// earlier use of its buffer is pending (safety), and every barrier
    /// placed is needed on some sampled path (nothing superfluous).
    #[test]
    fn random_programs_are_race_free_without_superfluous_barriers() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut total_planned = 0;
        for case in 0..150 {
            let mut body = Body::new();
            let entry = body.entry();
            let mk = |body: &mut Body, ty: ScalarType| {
                let op = body.create_op(
                    OpKind::Constant,
                    vec![],
                    vec![Type::Scalar(ty)],
                    Attrs::new().with("value", Attr::Int(0)),
                    vec![],
                    Location::unknown(),
                );
                body.append_op(entry, op);
                body.op(op).results[0]
            };
            let int = mk(&mut body, ScalarType::I32);
            let cond = mk(&mut body, ScalarType::I1);
            let mut g = Gen {
                body: &mut body,
                rng: SmallRng::seed_from_u64(rng.random()),
                users: HashMap::new(),
                cond,
                int,
            };
            g.fill(entry, 3);
            let users = std::mem::take(&mut g.users);
            let ret = body.create_op(
                OpKind::Return,
                vec![],
                vec![],
                Attrs::new(),
                vec![],
                Location::unknown(),
            );
            body.append_op(entry, ret);

            let planned: HashSet<OpId> = plan(&body, &users, &HashMap::new())
                .unwrap()
                .into_iter()
                .collect();
            assert!(planned.iter().all(|op| users.contains_key(op)));
            total_planned += planned.len();
            let mut exec = Exec {
                body: &body,
                users: &users,
                planned: &planned,
                rng: SmallRng::seed_from_u64(case),
                races: 0,
                needed: HashSet::new(),
            };
            for _ in 0..600 {
                exec.region(entry, &mut Buffers::NONE.clone());
            }
            assert_eq!(exec.races, 0, "case {case}: a race");
            let unneeded: Vec<&OpId> = planned.difference(&exec.needed).collect();
            assert!(
                unneeded.is_empty(),
                "case {case}: barriers no path needs before {unneeded:?}"
            );
        }
        assert!(total_planned > 100, "the programs exercise the pass");
    }

    /// The pipeline from DSL source to the GPU dialect for one kernel.
    fn gpu_ir(src: &str, kernel: &str, consts: &[(&str, i64)]) -> Func {
        let m = crate::frontend::compile_source(src, "barriers.rs").unwrap();
        let consts: Vec<(String, ConstValue)> = consts
            .iter()
            .map(|(n, v)| (n.to_string(), ConstValue::Int(*v)))
            .collect();
        let mut m = crate::passes::specialize(&m, kernel, &consts).unwrap();
        crate::passes::pipeline::run_tile_pipeline(&mut m).unwrap();
        crate::passes::pipeline::keep_only_kernel(&mut m, kernel).unwrap();
        let mut f = m.func(kernel).unwrap().clone();
        super::super::pipeline::run_gpu_pipeline(&mut f, crate::arch::Arch::Sm80, 4).unwrap();
        f
    }

    /// The kinds of the ops of region `r` (not nested).
    fn kinds(f: &Func, r: RegionId) -> Vec<OpKind> {
        f.body
            .region(r)
            .ops
            .iter()
            .map(|&o| f.body.op(o).kind)
            .collect()
    }

    fn count(f: &Func, kind: OpKind) -> usize {
        f.body
            .walk(f.body.entry())
            .into_iter()
            .filter(|&o| f.body.op(o).kind == kind)
            .count()
    }

    const SRC: &str = r#"
#[tile_kernel]
pub fn softmax<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, n: i32) {
    let cols = arange::<BLOCK>();
    let v = load(x + program_id(0) * n + cols, cols < n, f32::NEG_INFINITY);
    let e = exp(v - max(v, 0));
    store(y + program_id(0) * n + cols, e / sum(e, 0), cols < n);
}

#[tile_kernel]
pub fn matmul<const BM: usize, const BN: usize, const BK: usize>(
    a: Ptr<f32>, b: Ptr<f32>, c: Ptr<f32>, k: i32,
) {
    let rm = arange::<BM>();
    let rn = arange::<BN>();
    let rk = arange::<BK>();
    let mut acc = zeros::<f32, BM, BN>();
    for k0 in range(0, k, BK) {
        let ta = load(a + rm[(.., None)] * k + (k0 + rk)[(None, ..)]);
        let tb = load(b + (k0 + rk)[(.., None)] * BN + rn[(None, ..)]);
        acc = dot(ta, tb, acc);
    }
    store(c + rm[(.., None)] * BN + rn[(None, ..)], acc);
}
"#;

    /// Softmax over 1024 columns on 4 warps: two reductions across warps,
    /// one barrier, right before the second.
    #[test]
    fn softmax_synchronizes_once_between_its_reductions() {
        let f = gpu_ir(SRC, "softmax", &[("BLOCK", 1024)]);
        assert_eq!(count(&f, OpKind::Barrier), 1);
        let ops = &f.body.region(f.body.entry()).ops;
        let at = ops
            .iter()
            .position(|&o| f.body.op(o).kind == OpKind::Barrier)
            .unwrap();
        let next = f.body.op(ops[at + 1]);
        assert_eq!(next.kind, OpKind::Reduce);
        assert_eq!(next.attr("kind").and_then(Attr::as_str), Some("sum"));
        // 32 columns stay inside one warp: no shared memory, no barrier.
        let f = gpu_ir(SRC, "softmax", &[("BLOCK", 32)]);
        assert_eq!(count(&f, OpKind::Barrier), 0);
    }

    /// A K loop with a dot (operands staged in shared memory): one barrier
    /// per trip, at the dot, for the previous trip's readers; none outside.
    #[test]
    fn matmul_synchronizes_once_per_trip() {
        let f = gpu_ir(SRC, "matmul", &[("BM", 32), ("BN", 32), ("BK", 16)]);
        assert_eq!(count(&f, OpKind::Barrier), 1);
        let entry = f.body.entry();
        assert!(!kinds(&f, entry).contains(&OpKind::Barrier));
        let for_op = f.body.region(entry).ops.iter().copied();
        let for_op = for_op
            .into_iter()
            .find(|&o| f.body.op(o).kind == OpKind::For)
            .unwrap();
        let body = kinds(&f, f.body.op(for_op).regions[0]);
        let b = body.iter().position(|&k| k == OpKind::Barrier).unwrap();
        let users: Vec<OpKind> = body[b + 1..]
            .iter()
            .copied()
            .filter(|k| matches!(k, OpKind::Dot | OpKind::ConvertLayout))
            .collect();
        assert!(!users.is_empty(), "{body:?}");
        // The pass is idempotent: a second run places nothing.
        let mut again = f.clone();
        assert!(!super::run(&mut again).unwrap());
    }

    #[test]
    fn calls_are_an_error() {
        let text = r#"tile.kernel @k(%a: f32) loc("k.rs":1:1) {
  %r = tile.call %a {callee = "g"} : f32 loc("k.rs":2:5)
  tile.return loc("k.rs":3:1)
}

tile.func @g(%x: f32) -> (f32) loc("g.rs":1:1) {
  tile.return %x loc("g.rs":2:1)
}
"#;
        let mut m = crate::ir::parse_module(text).unwrap();
        let e = super::run(&mut m.funcs[0]).unwrap_err();
        assert_eq!(e.pass, super::NAME);
        assert!(e.message.contains("tile.call"), "{}", e.message);
        assert!(e.message.contains("inlined"), "{}", e.message);
        assert_eq!(e.loc.to_string(), "k.rs:2:5");
    }
}
