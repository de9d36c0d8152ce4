//! The IR verifier: checks that a function is well formed before and after
//! every pass (in debug builds), so a pass that breaks the IR is caught at
//! the pass, not three passes later or in the interpreter.
//!
//! One walk over each function, linear in its size, checks:
//!
//! - **Structure**: every op linked into a region is live, linked once and
//!   points back at its region; every region is owned once and points back
//!   at its op; ops have [`OpKind::num_regions`] regions; each region ends
//!   with exactly one terminator, the one its parent expects (`tile.return`
//!   for the function body, `tile.yield` for a `for` body, the branches of an
//!   `if` and the after region of a `while`, `tile.condition` for the before
//!   region of a `while`), with the types the parent expects; region
//!   arguments have the types the parent op prescribes.
//! - **SSA and dominance**: every value is defined once and its recorded
//!   definition matches where it is defined; an operand is an argument of
//!   the current or an enclosing region, or a result of an op earlier in the
//!   current region or earlier in an enclosing region than the op holding
//!   the use. Values defined in a region are not visible after it, and an
//!   op's own results are not visible in its regions.
//! - **Types**: every type is well formed (tile dims are powers of two,
//!   symbolic dims name an integer constexpr parameter of the function), and
//!   every op follows the rules of the op table in `ops.rs`: operand and
//!   result counts, element kinds, shapes, required attributes and their
//!   values. The shape rules themselves live in [`super::typing`] so the
//!   frontend computes types with the same code that checks them.
//!
//! Every region ends with its terminator, even when it carries nothing: the
//! else region of an `if` without results holds a bare `tile.yield`.
//! For `tile.while`, the before region's arguments have the types of the
//! initial values and the after region's `tile.yield` carries those types
//! back; `tile.condition` forwards values of the after region's argument
//! types, which are also the `while`'s result types (scf semantics; the
//! frontend makes all of them equal).
//!
//! Unknown attributes are ignored (passes may annotate ops). The boolean
//! flags `reverse` (scan), `descending` (sort), `largest` (topk) and the
//! strings `prefix` (print), `msg` (assert) and `precision` (dot) are
//! optional, but must have the right kind when present.
//!
//! [`verify_func`] sees one function: a `tile.call` is checked for its
//! `callee` attribute only. [`verify_module`] also checks that the callee
//! exists and that the argument and result types match its signature (a
//! callee's symbolic dims bind, consistently, to the caller's dims), and
//! that function names are unique.
//!
//! Every error names the op (`tile.dot: ...`), says what was expected and
//! what was found, and carries the op's source location.
//!
//! Layout: this file holds the API, the walk's state and the table that
//! sends each op to its rule; `structure.rs` walks regions and ops (links,
//! terminators), `dominance.rs` tracks which values are visible,
//! `module_checks.rs` checks function signatures, name uniqueness and
//! calls; the per-op rules are grouped by family in `control.rs`,
//! `sources.rs`, `shape.rs`, `memory.rs`, `compute.rs` and `debug.rs`, on
//! top of the operand/result/attribute checks of `expect.rs`; errors name
//! ops, regions and values through `describe.rs`.

mod compute;
mod control;
mod debug;
mod describe;
mod dominance;
mod expect;
mod memory;
mod module_checks;
mod shape;
mod sources;
mod structure;

#[cfg(test)]
mod tests;

use crate::ir::location::Location;
use crate::ir::module::{Body, Func, Module, OpId, ValueId};
use crate::ir::ops::OpKind;

/// A verification failure at an op.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct VerifyError {
    /// The op's location.
    pub loc: Location,
    /// What is wrong.
    pub message: String,
}

/// Verifies every function, the uniqueness of function names and every
/// call against its callee.
pub fn verify_module(m: &Module) -> Result<(), VerifyError> {
    module_checks::check_unique_names(m)?;
    m.funcs
        .iter()
        .try_for_each(|f| Verifier::new(f, Some(m)).run())
}

/// Verifies one function (calls are checked for their `callee` attribute
/// only; [`verify_module`] checks them against the callee).
pub fn verify_func(f: &Func) -> Result<(), VerifyError> {
    Verifier::new(f, None).run()
}

/// Which region is being verified, and so which terminator ends it.
#[derive(Clone, Copy, Debug)]
enum Owner {
    /// The function body (ends with `tile.return`).
    Func,
    /// The body of a `tile.for`.
    For(OpId),
    /// The then region of a `tile.if`.
    IfThen(OpId),
    /// The else region of a `tile.if`.
    IfElse(OpId),
    /// The before region of a `tile.while` (ends with `tile.condition`).
    WhileBefore(OpId),
    /// The after region of a `tile.while`.
    WhileAfter(OpId),
}

impl Owner {
    /// The owning op (none for the function body).
    fn op(self) -> Option<OpId> {
        match self {
            Owner::Func => None,
            Owner::For(o)
            | Owner::IfThen(o)
            | Owner::IfElse(o)
            | Owner::WhileBefore(o)
            | Owner::WhileAfter(o) => Some(o),
        }
    }

    /// The terminator that must end the region.
    fn terminator(self) -> OpKind {
        match self {
            Owner::Func => OpKind::Return,
            Owner::WhileBefore(_) => OpKind::Condition,
            _ => OpKind::Yield,
        }
    }
}

type VResult<T = ()> = Result<T, VerifyError>;

/// The state of one walk over a function.
struct Verifier<'a> {
    /// The function verified.
    f: &'a Func,
    /// Its body.
    body: &'a Body,
    /// The module, when calls are checked against their callees.
    module: Option<&'a Module>,
    /// Values that may be used at the current point of the walk.
    visible: Vec<bool>,
    /// Values whose definition has been seen.
    defined: Vec<bool>,
    /// Stack of visible values, popped when their region ends.
    scope: Vec<ValueId>,
    /// Ops already met in the walk (each is linked once).
    op_seen: Vec<bool>,
    /// Regions already met in the walk (each is owned once).
    region_seen: Vec<bool>,
}

impl<'a> Verifier<'a> {
    fn new(f: &'a Func, module: Option<&'a Module>) -> Verifier<'a> {
        let body = &f.body;
        Verifier {
            f,
            body,
            module,
            visible: vec![false; body.num_values()],
            defined: vec![false; body.num_values()],
            scope: Vec::new(),
            op_seen: vec![false; body.num_ops()],
            region_seen: vec![false; body.num_regions()],
        }
    }

    /// Checks `op` by the rule of its kind (the op table in `ops.rs`);
    /// `owner` is the region holding it, for terminators.
    fn check_op(&self, op: OpId, owner: Owner) -> VResult {
        match self.body.op(op).kind {
            OpKind::Return => self.check_return(op),
            OpKind::Yield => self.check_yield(op, owner),
            OpKind::Condition => self.check_condition(op, owner),
            OpKind::For => self.check_for(op),
            OpKind::If => self.check_if(op),
            OpKind::While => self.check_while(op),
            OpKind::Call => self.check_call(op),
            OpKind::Constant => self.check_constant(op),
            OpKind::Constexpr => self.check_constexpr(op),
            OpKind::ProgramId | OpKind::NumPrograms => self.check_program_id(op),
            OpKind::Arange => self.check_arange(op),
            OpKind::Splat => self.check_splat(op),
            OpKind::Broadcast | OpKind::Reshape => self.check_broadcast_reshape(op),
            OpKind::ExpandDims => self.check_expand_dims(op),
            OpKind::Trans => self.check_trans(op),
            OpKind::Join => self.check_join(op),
            OpKind::Split => self.check_split(op),
            OpKind::ConvertLayout => self.check_convert_layout(op),
            OpKind::AddPtr => self.check_addptr(op),
            OpKind::Load => self.check_load(op),
            OpKind::Store => self.check_store(op),
            OpKind::AtomicRmw => self.check_atomic_rmw(op),
            OpKind::AtomicCas => self.check_atomic_cas(op),
            OpKind::MakeDesc => self.check_make_desc(op),
            OpKind::DescLoad | OpKind::DescStore => self.check_desc_access(op),
            OpKind::Binary(b) => self.check_binary(op, b),
            OpKind::Unary(u) => self.check_unary(op, u),
            OpKind::Cmp => self.check_cmp(op),
            OpKind::Select => self.check_select(op),
            OpKind::Fma => self.check_fma(op),
            OpKind::Cast | OpKind::Bitcast => self.check_cast(op),
            OpKind::Dot => self.check_dot(op),
            OpKind::Reduce => self.check_reduce(op),
            OpKind::Scan => self.check_scan(op),
            OpKind::Sort => self.check_sort(op),
            OpKind::TopK => self.check_topk(op),
            OpKind::Print => self.check_print(op),
            OpKind::Assert => self.check_assert(op),
            OpKind::StaticAssert => self.check_static_assert(op),
            OpKind::Barrier => self.check_barrier(op),
        }
    }
}
