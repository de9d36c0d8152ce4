//! Canonicalization: constant folding, algebraic simplification and folding
//! of control flow whose condition is known, repeated to a fixed point.
//!
//! Constants are `tile.constant` ops of a scalar type, or of a tile type, in
//! which case the constant is a splat (every element has the value). A fold
//! computes exactly what the interpreter would: both apply the element
//! arithmetic of [`crate::ir::numeric`] (the semantics in `ir/ops.rs`), and
//! a fold happens only where it succeeds:
//!
//! - Binary, unary, `cmp`, `select`, `fma` and `cast` on constant operands
//!   become a constant. Floats compute in f64 and round once to the result
//!   type (f16 and bf16 round to nearest even). Integer ops that overflow
//!   their width, divide by zero or shift by the width or more are **not**
//!   folded: the interpreter reports them, with the op's location, if they
//!   run. Integer casts that narrow a value that does not fit, and i1
//!   arithmetic other than `and`/`or`/`xor`/`not`/`eq`/`ne`, are left alone
//!   too, and so, conservatively, are a few cases that run fine: a left
//!   shift that drops bits, `MIN % -1`, `max`/`min` of zeros of opposite
//!   signs, an integer `fma` whose product alone overflows, and casts of
//!   integers beyond 2^53 to f16/bf16 (which the interpreter rounds twice).
//!   A randomized test checks every fold against a run of the interpreter.
//! - `splat`, `broadcast`, `expand_dims`, `reshape` and `trans` of a constant
//!   become a constant of the result type; the identity forms (same type,
//!   identity permutation) are removed.
//! - Identities: `x + 0`, `x - 0`, `x * 1`, `x / 1`, `x | 0`, `x ^ 0`,
//!   `x & -1`, shifts by 0 give `x`; for integers only `x * 0 = 0`,
//!   `x & 0 = 0`, `x - x = 0`, `x ^ x = 0`, `x % 1 = 0` (floats: NaN and
//!   infinities); for floats the sign of zero matters, so only `x + (-0.0)`
//!   and `x - (+0.0)` are removed. `x & x`, `x | x`, `max(x, x)`,
//!   `min(x, x)` give `x`; `cmp x, x` folds for integers and pointers.
//!   `select(c, a, a)` and `select` on a constant condition pick an operand;
//!   `addptr p, 0` is `p`; `neg(neg x)` (floats), `not(not x)` and
//!   `abs(abs x)` simplify; a `cast` to the same type disappears, and a cast
//!   of a lossless cast casts the original value directly.
//! - `tile.if` on a constant condition is replaced by the ops of the taken
//!   region (its results by the yielded values); `tile.for` with constant
//!   bounds and a positive constant step runs 0 times (results = inits) or
//!   once (the body is inlined with the induction variable = lower bound).
//! - `tile.static_assert` on a constant true is erased, on a constant false
//!   it is an error at the op's location with its message; `tile.assert` on
//!   a constant true is erased.
//!
//! A fold rewrites the op in place (it keeps its result, name and location)
//! or replaces its results by an existing value. Ops left unused (the
//! operands of a folded op) are not removed here: that is [`dce`]'s job.
//!
//! Limits: transcendental functions fold through Rust's f64 functions, so
//! they match the interpreter, not necessarily a GPU's approximations;
//! `tile.while` is not folded; non-splat constant tiles do not exist.
//!
//! [`dce`]: super::dce

use crate::ir::numeric::{
    self, bool_binary_fn, compare, fit, float_binary_fn, float_to_int, float_unary_fn,
    int_to_float, int_to_float_rounds_once, round_float,
};
use crate::ir::typing::CmpPred;
use crate::ir::{
    Attr, Attrs, BinaryOp, Body, ElemType, Func, OpId, OpKind, RegionId, ScalarType, UnaryOp,
    ValueId,
};

use super::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "canonicalize";

/// Canonicalizes `f` to a fixed point; returns whether anything changed.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let body = &mut f.body;
    let mut changed = false;
    // Every rewrite removes an op, turns an op into a constant or moves a
    // cast's operand to an earlier value, so this terminates long before
    // the bound, which only guards against a bug.
    let bound = 4 * body.num_ops() + 8;
    for _ in 0..bound {
        let mut round = false;
        for op in body.walk(body.entry()) {
            let data = body.op(op);
            if data.dead || data.parent.is_none() {
                continue;
            }
            round |= simplify(body, op)?;
        }
        if !round {
            break;
        }
        changed = true;
    }
    Ok(changed)
}

/// A constant element, read in the value domain of its scalar type.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lit {
    /// An integer (i1 as 0 or 1).
    Int(i64),
    /// A float, already rounded to its type.
    Float(f64),
}

impl Lit {
    fn is_int(self, v: i64) -> bool {
        self == Lit::Int(v)
    }

    /// Bitwise equality for floats (to tell -0.0 from +0.0).
    fn is_float_bits(self, v: f64) -> bool {
        matches!(self, Lit::Float(x) if x.to_bits() == v.to_bits())
    }

    fn is_float(self, v: f64) -> bool {
        matches!(self, Lit::Float(x) if x == v)
    }

    fn is_zero(self) -> bool {
        match self {
            Lit::Int(v) => v == 0,
            Lit::Float(x) => x == 0.0,
        }
    }
}

/// The scalar element type of a value, if it is a scalar or a tile of scalars.
fn scalar_of(body: &Body, v: ValueId) -> Option<ScalarType> {
    body.ty(v).scalar_elem()
}

/// The constant value of `v`, if a `tile.constant` defines it.
fn lit(body: &Body, v: ValueId) -> Option<Lit> {
    let op = body.def_op(v)?;
    let data = body.op(op);
    if data.kind != OpKind::Constant {
        return None;
    }
    let t = scalar_of(body, v)?;
    let value = data.attr("value")?;
    if t.is_float() {
        Some(Lit::Float(round_float(value.as_float()?, t)))
    } else if t == ScalarType::I1 {
        match value {
            Attr::Bool(b) => Some(Lit::Int(i64::from(*b))),
            Attr::Int(i @ (0 | 1)) => Some(Lit::Int(*i)),
            _ => None,
        }
    } else {
        fit(i128::from(value.as_int()?), t).map(Lit::Int)
    }
}

/// The attribute spelling a literal of type `t`.
fn lit_attr(t: ScalarType, l: Lit) -> Attr {
    match l {
        Lit::Int(v) if t == ScalarType::I1 => Attr::Bool(v != 0),
        Lit::Int(v) => Attr::Int(v),
        Lit::Float(x) => Attr::Float(x),
    }
}

/// How an op simplifies.
enum Rewrite {
    /// Its (single) result becomes this constant.
    Const(Lit),
    /// Its (single) result is replaced by this value.
    Value(ValueId),
}

/// Applies `rw` to the single-result op `op`; false when the types do not
/// allow it (a replacement value of another type).
fn apply(body: &mut Body, op: OpId, rw: Rewrite) -> bool {
    let result = body.op(op).results[0];
    match rw {
        Rewrite::Const(l) => {
            let Some(t) = scalar_of(body, result) else {
                return false;
            };
            let data = body.op_mut(op);
            data.kind = OpKind::Constant;
            data.operands.clear();
            data.attrs = Attrs::new().with("value", lit_attr(t, l));
            true
        }
        Rewrite::Value(v) => {
            if v == result || body.ty(v) != body.ty(result) {
                return false;
            }
            body.replace_all_uses(result, v);
            body.erase_op(op);
            true
        }
    }
}

/// Tries every rule on `op`; returns whether it changed the IR.
fn simplify(body: &mut Body, op: OpId) -> Result<bool, PassError> {
    let data = body.op(op);
    let kind = data.kind;
    let ops = data.operands.clone();
    let has_one_result = data.results.len() == 1 && data.regions.is_empty();
    let rewrite = match kind {
        OpKind::If => return fold_if(body, op),
        OpKind::For => return fold_for(body, op),
        OpKind::StaticAssert | OpKind::Assert => return fold_assert(body, op),
        _ if !has_one_result => None,
        OpKind::Binary(b) if ops.len() == 2 => fold_binary(body, op, b, ops[0], ops[1]),
        OpKind::Unary(u) if ops.len() == 1 => fold_unary(body, op, u, ops[0]),
        OpKind::Cmp if ops.len() == 2 => fold_cmp(body, op, ops[0], ops[1]),
        OpKind::Select if ops.len() == 3 => fold_select(body, ops[0], ops[1], ops[2]),
        OpKind::Fma if ops.len() == 3 => fold_fma(body, op, ops[0], ops[1], ops[2]),
        OpKind::Cast if ops.len() == 1 => return Ok(fold_cast(body, op, ops[0])),
        OpKind::Splat
        | OpKind::Broadcast
        | OpKind::ExpandDims
        | OpKind::Reshape
        | OpKind::Trans
            if ops.len() == 1 =>
        {
            fold_shape(body, op, kind, ops[0])
        }
        OpKind::AddPtr if ops.len() == 2 => lit(body, ops[1])
            .filter(|l| l.is_int(0))
            .map(|_| Rewrite::Value(ops[0])),
        _ => None,
    };
    Ok(rewrite.is_some_and(|rw| apply(body, op, rw)))
}

/// An integer binary op: [`numeric::int_binary`], folded only where it
/// agrees with plain checked arithmetic. Its error cases (overflow,
/// division by zero, bad shift amounts) are left for the interpreter to
/// report if they run, and so are a left shift that drops bits and
/// `MIN % -1` (which run to the wrapped bits and to 0). i1 folds only its
/// logical ops.
fn int_binary(b: BinaryOp, t: ScalarType, x: i64, y: i64) -> Option<i64> {
    if t == ScalarType::I1 {
        return match b {
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => {
                bool_binary_fn(b).map(|f| i64::from(f(x != 0, y != 0)))
            }
            _ => None,
        };
    }
    let lossy_shl = b == BinaryOp::Shl
        && (0..i64::from(t.bits())).contains(&y)
        && fit(i128::from(x) << y, t).is_none();
    let min_rem_minus_one = b == BinaryOp::Rem && y == -1 && x == numeric::int_bounds(t).0;
    if lossy_shl || min_rem_minus_one {
        return None;
    }
    numeric::int_binary(b, t, x, y).ok()
}

/// A float binary op in f64, rounded to `t`. `max`/`min` of two zeros of
/// opposite signs are not folded (a conservative choice; the interpreter
/// orders -0 below +0, see [`numeric::fmax`]).
fn float_binary(b: BinaryOp, t: ScalarType, x: f64, y: f64) -> Option<f64> {
    let signed_zeros = x == 0.0 && y == 0.0 && x.to_bits() != y.to_bits();
    if matches!(b, BinaryOp::Max | BinaryOp::Min) && signed_zeros {
        return None;
    }
    float_binary_fn(b).map(|f| round_float(f(x, y), t))
}

fn fold_binary(body: &Body, op: OpId, b: BinaryOp, x: ValueId, y: ValueId) -> Option<Rewrite> {
    let t = scalar_of(body, body.op(op).results[0])?;
    let (lx, ly) = (lit(body, x), lit(body, y));
    match (lx, ly) {
        (Some(Lit::Int(a)), Some(Lit::Int(c))) => {
            return int_binary(b, t, a, c).map(|v| Rewrite::Const(Lit::Int(v)));
        }
        (Some(Lit::Float(a)), Some(Lit::Float(c))) => {
            return float_binary(b, t, a, c).map(|v| Rewrite::Const(Lit::Float(v)));
        }
        _ => {}
    }
    let same = x == y;
    if t == ScalarType::I1 {
        // Booleans: only the logical identities (i1 arithmetic is 0..=1).
        let is = |l: Option<Lit>, v| l.is_some_and(|l| l.is_int(v));
        return match b {
            BinaryOp::And if is(ly, 1) => Some(Rewrite::Value(x)),
            BinaryOp::And if is(lx, 1) => Some(Rewrite::Value(y)),
            BinaryOp::And if is(ly, 0) => Some(Rewrite::Value(y)),
            BinaryOp::And if is(lx, 0) => Some(Rewrite::Value(x)),
            BinaryOp::Or if is(ly, 0) => Some(Rewrite::Value(x)),
            BinaryOp::Or if is(lx, 0) => Some(Rewrite::Value(y)),
            BinaryOp::Or if is(ly, 1) => Some(Rewrite::Value(y)),
            BinaryOp::Or if is(lx, 1) => Some(Rewrite::Value(x)),
            BinaryOp::Xor if is(ly, 0) => Some(Rewrite::Value(x)),
            BinaryOp::Xor if is(lx, 0) => Some(Rewrite::Value(y)),
            BinaryOp::And | BinaryOp::Or if same => Some(Rewrite::Value(x)),
            BinaryOp::Xor if same => Some(Rewrite::Const(Lit::Int(0))),
            _ => None,
        };
    }
    if t.is_float() {
        let is = |l: Option<Lit>, v| l.is_some_and(|l| l.is_float(v));
        let is_bits = |l: Option<Lit>, v| l.is_some_and(|l| l.is_float_bits(v));
        return match b {
            // x + (-0.0) == x for every x, +0.0 is not (-0.0 + 0.0 = +0.0).
            BinaryOp::Add if is_bits(ly, -0.0) => Some(Rewrite::Value(x)),
            BinaryOp::Add if is_bits(lx, -0.0) => Some(Rewrite::Value(y)),
            BinaryOp::Sub if is_bits(ly, 0.0) => Some(Rewrite::Value(x)),
            BinaryOp::Mul if is(ly, 1.0) => Some(Rewrite::Value(x)),
            BinaryOp::Mul if is(lx, 1.0) => Some(Rewrite::Value(y)),
            BinaryOp::Div if is(ly, 1.0) => Some(Rewrite::Value(x)),
            BinaryOp::Max | BinaryOp::Min if same => Some(Rewrite::Value(x)),
            _ => None,
        };
    }
    let is = |l: Option<Lit>, v| l.is_some_and(|l| l.is_int(v));
    let zero = |l: Option<Lit>| l.is_some_and(Lit::is_zero);
    match b {
        BinaryOp::Add if zero(ly) => Some(Rewrite::Value(x)),
        BinaryOp::Add if zero(lx) => Some(Rewrite::Value(y)),
        BinaryOp::Sub if zero(ly) => Some(Rewrite::Value(x)),
        BinaryOp::Sub | BinaryOp::Xor if same => Some(Rewrite::Const(Lit::Int(0))),
        BinaryOp::Mul if is(ly, 1) => Some(Rewrite::Value(x)),
        BinaryOp::Mul if is(lx, 1) => Some(Rewrite::Value(y)),
        BinaryOp::Mul | BinaryOp::And if zero(ly) => Some(Rewrite::Value(y)),
        BinaryOp::Mul | BinaryOp::And if zero(lx) => Some(Rewrite::Value(x)),
        BinaryOp::Div if is(ly, 1) => Some(Rewrite::Value(x)),
        BinaryOp::Rem if is(ly, 1) => Some(Rewrite::Const(Lit::Int(0))),
        BinaryOp::And if is(ly, -1) => Some(Rewrite::Value(x)),
        BinaryOp::And if is(lx, -1) => Some(Rewrite::Value(y)),
        BinaryOp::Or if is(ly, -1) => Some(Rewrite::Value(y)),
        BinaryOp::Or if is(lx, -1) => Some(Rewrite::Value(x)),
        BinaryOp::Or | BinaryOp::Xor if zero(ly) => Some(Rewrite::Value(x)),
        BinaryOp::Or | BinaryOp::Xor if zero(lx) => Some(Rewrite::Value(y)),
        BinaryOp::Shl | BinaryOp::Shr if zero(ly) => Some(Rewrite::Value(x)),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Max | BinaryOp::Min if same => {
            Some(Rewrite::Value(x))
        }
        _ => None,
    }
}

fn fold_unary(body: &Body, op: OpId, u: UnaryOp, x: ValueId) -> Option<Rewrite> {
    let t = scalar_of(body, body.op(op).results[0])?;
    match lit(body, x) {
        Some(Lit::Int(v)) => {
            let r = if t == ScalarType::I1 {
                // i1: only `not` (its arithmetic is not folded).
                (u == UnaryOp::Not).then_some(1 - v)
            } else {
                numeric::int_unary(u, t, v).ok()
            };
            return r.map(|v| Rewrite::Const(Lit::Int(v)));
        }
        Some(Lit::Float(v)) => {
            let r = float_unary_fn(u)?(v);
            return Some(Rewrite::Const(Lit::Float(round_float(r, t))));
        }
        None => {}
    }
    // u(u(y)) for the involutions and abs.
    let inner = body.def_op(x).map(|d| body.op(d))?;
    if inner.kind != OpKind::Unary(u) || inner.operands.len() != 1 {
        return None;
    }
    let y = inner.operands[0];
    match u {
        // -(-y) == y for floats; for integers -MIN overflows.
        UnaryOp::Neg if t.is_float() => Some(Rewrite::Value(y)),
        UnaryOp::Not => Some(Rewrite::Value(y)),
        UnaryOp::Abs => Some(Rewrite::Value(x)),
        _ => None,
    }
}

fn fold_cmp(body: &Body, op: OpId, x: ValueId, y: ValueId) -> Option<Rewrite> {
    let pred = CmpPred::from_name(body.op(op).attr("pred")?.as_str()?)?;
    let elem = body.ty(x).elem()?;
    // Booleans compare for equality only (their order is not folded).
    let pred_ok =
        elem != ElemType::Scalar(ScalarType::I1) || matches!(pred, CmpPred::Eq | CmpPred::Ne);
    let is_float = matches!(elem, ElemType::Scalar(s) if s.is_float());
    let r = match (lit(body, x), lit(body, y)) {
        (Some(Lit::Int(a)), Some(Lit::Int(b))) if pred_ok => compare(pred, &a, &b),
        (Some(Lit::Float(a)), Some(Lit::Float(b))) => compare(pred, &a, &b),
        // x cmp x for integers and pointers, as equal operands (floats: NaN).
        _ if x == y && pred_ok && !is_float => compare(pred, &0, &0),
        _ => return None,
    };
    Some(Rewrite::Const(Lit::Int(i64::from(r))))
}

fn fold_select(body: &Body, c: ValueId, a: ValueId, b: ValueId) -> Option<Rewrite> {
    if a == b {
        return Some(Rewrite::Value(a));
    }
    match lit(body, c)? {
        Lit::Int(1) => Some(Rewrite::Value(a)),
        Lit::Int(0) => Some(Rewrite::Value(b)),
        _ => None,
    }
}

fn fold_fma(body: &Body, op: OpId, a: ValueId, b: ValueId, c: ValueId) -> Option<Rewrite> {
    let t = scalar_of(body, body.op(op).results[0])?;
    match (lit(body, a)?, lit(body, b)?, lit(body, c)?) {
        (Lit::Int(x), Lit::Int(y), Lit::Int(z)) if t != ScalarType::I1 => {
            // Folded only when the product fits on its own too: more
            // conservative than the interpreter, which checks only the sum.
            fit(i128::from(x) * i128::from(y), t)?;
            numeric::int_fma(t, x, y, z)
                .ok()
                .map(|v| Rewrite::Const(Lit::Int(v)))
        }
        (Lit::Float(x), Lit::Float(y), Lit::Float(z)) => {
            Some(Rewrite::Const(Lit::Float(round_float(x.mul_add(y, z), t))))
        }
        _ => None,
    }
}

/// The mantissa precision (significant bits) of a float type.
fn precision(t: ScalarType) -> u32 {
    match t {
        ScalarType::F16 => 11,
        ScalarType::BF16 => 8,
        ScalarType::F32 => 24,
        _ => 53,
    }
}

/// True when every value of `from` is exactly a value of `to`, so that
/// casting through `to` changes nothing (every cast is defined on values).
fn lossless(from: ScalarType, to: ScalarType) -> bool {
    if from == to || from == ScalarType::I1 {
        return true;
    }
    match (from.is_float(), to.is_float()) {
        (false, false) => to != ScalarType::I1 && to.bits() >= from.bits(),
        (false, true) => from.bits() - 1 <= precision(to),
        (true, true) => precision(to) >= precision(from) && to.bits() > from.bits(),
        (true, false) => false,
    }
}

/// Casts a literal of type `from` to type `to` as the interpreter does;
/// None where the interpreter reports an error (narrowing integer casts
/// that do not fit) or where it rounds twice (wide integers to f16/bf16).
fn cast_lit(l: Lit, to: ScalarType) -> Option<Lit> {
    if to == ScalarType::I1 {
        // NaN != 0, so NaN casts to true.
        return Some(Lit::Int(i64::from(!l.is_zero())));
    }
    match l {
        Lit::Int(v) if to.is_float() => {
            int_to_float_rounds_once(v, to).then(|| Lit::Float(int_to_float(v, to)))
        }
        Lit::Int(v) => fit(i128::from(v), to).map(Lit::Int),
        Lit::Float(x) if to.is_float() => Some(Lit::Float(round_float(x, to))),
        Lit::Float(x) => Some(Lit::Int(float_to_int(x, to))),
    }
}

fn fold_cast(body: &mut Body, op: OpId, x: ValueId) -> bool {
    let result = body.op(op).results[0];
    if body.ty(x) == body.ty(result) {
        return apply(body, op, Rewrite::Value(x));
    }
    let (Some(from), Some(to)) = (scalar_of(body, x), scalar_of(body, result)) else {
        return false;
    };
    if let Some(l) = lit(body, x) {
        return match cast_lit(l, to) {
            Some(r) => apply(body, op, Rewrite::Const(r)),
            None => false,
        };
    }
    // cast(cast(y: A -> B) -> C) == cast(y: A -> C) when A -> B is lossless.
    let Some(inner) = body.def_op(x) else {
        return false;
    };
    let inner = body.op(inner);
    if inner.kind != OpKind::Cast || inner.operands.len() != 1 {
        return false;
    }
    let y = inner.operands[0];
    let Some(a) = scalar_of(body, y) else {
        return false;
    };
    if !lossless(a, from) {
        return false;
    }
    if body.ty(y) == body.ty(result) {
        return apply(body, op, Rewrite::Value(y));
    }
    body.op_mut(op).operands[0] = y;
    true
}

fn fold_shape(body: &Body, op: OpId, kind: OpKind, x: ValueId) -> Option<Rewrite> {
    let result = body.op(op).results[0];
    if let Some(l) = lit(body, x) {
        // A constant tile is a splat, so any reshaping keeps its value.
        return body.ty(result).is_tile().then_some(Rewrite::Const(l));
    }
    let identity = match kind {
        OpKind::Broadcast | OpKind::Reshape => body.ty(x) == body.ty(result),
        OpKind::Trans => {
            let perm = body.op(op).attr("perm")?.as_ints()?;
            perm.iter().enumerate().all(|(i, &p)| p == i as i64) && body.ty(x) == body.ty(result)
        }
        _ => false,
    };
    identity.then_some(Rewrite::Value(x))
}

/// The yield ending `region`, with its operands (none when the region has
/// no terminator).
fn region_yield(body: &Body, region: RegionId) -> (Option<OpId>, Vec<ValueId>) {
    match body.region(region).ops.last() {
        Some(&t) if body.op(t).kind == OpKind::Yield => (Some(t), body.op(t).operands.clone()),
        _ => (None, Vec::new()),
    }
}

/// Moves the ops of `region` (all but its yield) before `op`, replaces the
/// results of `op` by the yielded values and erases `op`.
fn inline_region(body: &mut Body, op: OpId, region: RegionId) -> Result<(), PassError> {
    let (term, yielded) = region_yield(body, region);
    let results = body.op(op).results.clone();
    let loc = body.op(op).loc.clone();
    if yielded.len() != results.len() {
        return Err(PassError::new(
            NAME,
            loc,
            format!(
                "{} has {} results but its region yields {} values",
                body.op(op).kind,
                results.len(),
                yielded.len()
            ),
        ));
    }
    let Some((parent, mut index)) = body.position(op) else {
        return Err(PassError::new(NAME, loc, "op is not linked into a region"));
    };
    let moved: Vec<OpId> = body
        .region(region)
        .ops
        .iter()
        .copied()
        .filter(|&o| Some(o) != term)
        .collect();
    for o in moved {
        body.unlink_op(o);
        body.insert_op(parent, index, o);
        index += 1;
    }
    for (r, y) in results.into_iter().zip(yielded) {
        body.replace_all_uses(r, y);
    }
    body.erase_op(op);
    Ok(())
}

fn fold_if(body: &mut Body, op: OpId) -> Result<bool, PassError> {
    let data = body.op(op);
    let (Some(&cond), [then_r, else_r]) = (data.operands.first(), data.regions.as_slice()) else {
        return Ok(false);
    };
    let taken = match lit(body, cond) {
        Some(Lit::Int(1)) => *then_r,
        Some(Lit::Int(0)) => *else_r,
        _ => return Ok(false),
    };
    // The yielded values must have the result types (they do in valid IR).
    let (_, yielded) = region_yield(body, taken);
    let results = &body.op(op).results;
    if yielded.len() == results.len()
        && yielded
            .iter()
            .zip(results)
            .any(|(&y, &r)| body.ty(y) != body.ty(r))
    {
        return Ok(false);
    }
    inline_region(body, op, taken)?;
    Ok(true)
}

fn fold_for(body: &mut Body, op: OpId) -> Result<bool, PassError> {
    let data = body.op(op);
    if data.operands.len() < 3 || data.regions.len() != 1 {
        return Ok(false);
    }
    let (lb, ub, step) = (data.operands[0], data.operands[1], data.operands[2]);
    let inits = data.operands[3..].to_vec();
    let results = data.results.clone();
    let region = data.regions[0];
    let (Some(Lit::Int(l)), Some(Lit::Int(u)), Some(Lit::Int(s))) =
        (lit(body, lb), lit(body, ub), lit(body, step))
    else {
        return Ok(false);
    };
    if s <= 0 || inits.len() != results.len() {
        return Ok(false);
    }
    let trips = if l >= u {
        0
    } else {
        (i128::from(u) - i128::from(l) + i128::from(s) - 1) / i128::from(s)
    };
    match trips {
        0 => {
            if inits
                .iter()
                .zip(&results)
                .any(|(&i, &r)| body.ty(i) != body.ty(r))
            {
                return Ok(false);
            }
            for (r, i) in results.into_iter().zip(inits) {
                body.replace_all_uses(r, i);
            }
            body.erase_op(op);
            Ok(true)
        }
        1 => {
            let args = body.region(region).args.clone();
            let (_, yielded) = region_yield(body, region);
            if args.len() != inits.len() + 1
                || body.ty(args[0]) != body.ty(lb)
                || args[1..]
                    .iter()
                    .zip(&inits)
                    .any(|(&a, &i)| body.ty(a) != body.ty(i))
                || yielded.len() != results.len()
                || yielded
                    .iter()
                    .zip(&results)
                    .any(|(&y, &r)| body.ty(y) != body.ty(r))
            {
                return Ok(false);
            }
            body.replace_all_uses(args[0], lb);
            for (&a, &i) in args[1..].iter().zip(&inits) {
                body.replace_all_uses(a, i);
            }
            inline_region(body, op, region)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn fold_assert(body: &mut Body, op: OpId) -> Result<bool, PassError> {
    let data = body.op(op);
    let Some(&cond) = data.operands.first() else {
        return Ok(false);
    };
    match lit(body, cond) {
        Some(Lit::Int(1)) => {
            body.erase_op(op);
            Ok(true)
        }
        Some(Lit::Int(0)) if data.kind == OpKind::StaticAssert => {
            let msg = data.attr("msg").and_then(Attr::as_str).unwrap_or("");
            Err(PassError::new(
                NAME,
                data.loc.clone(),
                format!("static assertion failed: {msg}"),
            ))
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{parse_module, print_func};
    use crate::passes::golden;

    #[test]
    fn golden() {
        golden::check(NAME, |m| golden::each_func(m, run));
    }

    fn canon(src: &str) -> Result<String, PassError> {
        let mut m = parse_module(src).expect("test input parses");
        run(&mut m.funcs[0])?;
        Ok(print_func(&m.funcs[0]))
    }

    #[test]
    fn static_assert_false_is_an_error_at_its_location() {
        let err = canon(
            r#"tile.kernel @k() loc("s.rs":1:1) {
  %b = tile.constant {value = 48} : i32 loc("s.rs":2:1)
  %m = tile.constant {value = 47} : i32 loc("s.rs":2:1)
  %and = tile.and %b, %m : i32 loc("s.rs":3:1)
  %z = tile.constant {value = 0} : i32 loc("s.rs":3:1)
  %pow2 = tile.cmp %and, %z {pred = "eq"} : i1 loc("s.rs":3:1)
  tile.static_assert %pow2 {msg = "BLOCK must be a power of two"} loc("s.rs":3:5)
  tile.return loc("s.rs":1:1)
}
"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "canonicalize: s.rs:3:5: static assertion failed: BLOCK must be a power of two"
        );
    }

    #[test]
    fn non_constant_static_assert_and_false_assert_stay() {
        let src = r#"tile.kernel @k(%c: i1) loc(unknown) {
  tile.static_assert %c {msg = "unknown"} loc(unknown)
  %f = tile.constant {value = false} : i1 loc(unknown)
  tile.assert %f {msg = "traps when reached"} loc(unknown)
  tile.return loc(unknown)
}
"#;
        assert_eq!(canon(src).unwrap(), src);
    }

    #[test]
    fn malformed_if_is_an_error_not_a_panic() {
        let err = canon(
            r#"tile.kernel @k(%x: f32) loc(unknown) {
  %t = tile.constant {value = true} : i1 loc(unknown)
  %a = tile.if %t : f32 {
    tile.yield loc(unknown)
  } {
    tile.yield %x loc(unknown)
  } loc("m.rs":3:7)
  tile.return loc(unknown)
}
"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "canonicalize: m.rs:3:7: tile.if has 1 results but its region yields 0 values"
        );
    }

    #[test]
    fn symbolic_splats_fold() {
        let out = canon(
            r#"tile.kernel @k(%p: tile<{BLOCK}xptr<f32, global>>) loc(unknown) {
  %a = tile.constant {value = 1.5} : f32 loc(unknown)
  %s = tile.splat %a : tile<{BLOCK}xf32> loc(unknown)
  %d = tile.add %s, %s : tile<{BLOCK}xf32> loc(unknown)
  tile.store %p, %d loc(unknown)
  tile.return loc(unknown)
}
"#,
        )
        .unwrap();
        assert!(
            out.contains("%d = tile.constant {value = 3.0} : tile<{BLOCK}xf32>"),
            "{out}"
        );
    }

    #[test]
    fn negative_and_zero_steps_are_not_folded() {
        let src = r#"tile.kernel @k(%p: ptr<i32, global>) loc(unknown) {
  %lo = tile.constant {value = 0} : i32 loc(unknown)
  %hi = tile.constant {value = 1} : i32 loc(unknown)
  %st = tile.constant {value = 0} : i32 loc(unknown)
  %r = tile.for %lo, %hi, %st, %lo : i32 {
  ^(%i: i32, %a: i32):
    tile.yield %i loc(unknown)
  } loc(unknown)
  tile.store %p, %r loc(unknown)
  tile.return loc(unknown)
}
"#;
        assert_eq!(canon(src).unwrap(), src);
    }

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use crate::ir::{Builder, Type};

    #[test]
    fn integer_folds_agree_with_checked_arithmetic() {
        let mut rng = SmallRng::seed_from_u64(11);
        for _ in 0..100_000 {
            let (x, y): (i8, i8) = (rng.random(), rng.random());
            let (a, b) = (i64::from(x), i64::from(y));
            let t = ScalarType::I8;
            let f = |op| int_binary(op, t, a, b);
            assert_eq!(f(BinaryOp::Add), x.checked_add(y).map(i64::from));
            assert_eq!(f(BinaryOp::Sub), x.checked_sub(y).map(i64::from));
            assert_eq!(f(BinaryOp::Mul), x.checked_mul(y).map(i64::from));
            assert_eq!(f(BinaryOp::Div), x.checked_div(y).map(i64::from));
            assert_eq!(f(BinaryOp::Rem), x.checked_rem(y).map(i64::from));
            assert_eq!(f(BinaryOp::Xor), Some(i64::from(x ^ y)));
            let shr = (0..8).contains(&y).then(|| i64::from(x >> y));
            assert_eq!(f(BinaryOp::Shr), shr);
            let shl = (0..8)
                .contains(&y)
                .then(|| i64::from(x) << y)
                .filter(|v| i8::try_from(*v).is_ok());
            assert_eq!(f(BinaryOp::Shl), shl);
        }
        let mut rng = SmallRng::seed_from_u64(12);
        for _ in 0..100_000 {
            let (x, y): (i64, i64) = (rng.random::<i64>() >> rng.random_range(0..64), rng.random());
            let f = |op| int_binary(op, ScalarType::I64, x, y);
            assert_eq!(f(BinaryOp::Add), x.checked_add(y));
            assert_eq!(f(BinaryOp::Mul), x.checked_mul(y));
            assert_eq!(f(BinaryOp::Div), x.checked_div(y));
        }
    }

    /// A random constant of type `t`: boundary values, signed zeros,
    /// infinities and NaN mixed with ordinary values.
    fn random_constant(rng: &mut SmallRng, b: &mut Builder, t: ScalarType) -> ValueId {
        let ty = Type::Scalar(t);
        if t == ScalarType::I1 {
            return b.const_bool(rng.random(), ty);
        }
        if t.is_float() {
            let specials = [0.0, -0.0, 1.0, -1.5, 65504.0, 1e-8, f64::INFINITY, f64::NAN];
            let x = if rng.random_bool(0.3) {
                specials[rng.random_range(0..specials.len())]
            } else {
                f64::from(rng.random_range(-1000.0f32..1000.0)) * 0.37
            };
            return b.const_float(x, ty);
        }
        let (lo, hi) = numeric::int_bounds(t);
        let v = match rng.random_range(0..4) {
            0 => [lo, hi, -1, 0, 1, i64::from(t.bits())][rng.random_range(0..6)],
            1 => rng.random_range(lo..=hi),
            _ => rng.random_range(-40..40),
        };
        b.const_int(v, ty)
    }

    /// Folding never disagrees with execution: random ops on random
    /// constants are run by the interpreter, then canonicalized; whenever
    /// the stored value folds to a constant, the run succeeded with exactly
    /// that value.
    #[test]
    fn folding_agrees_with_the_interpreter() {
        use crate::interp::{self, ArgValue, Buffer, Memory};
        use crate::ir::{FuncKind, Module, verify_func};

        let types = ScalarType::ALL;
        let preds = ["eq", "ne", "lt", "le", "gt", "ge"];
        let mut rng = SmallRng::seed_from_u64(23);
        let (mut folded, mut checked) = (0, 0);
        for _ in 0..6000 {
            let t = types[rng.random_range(0..types.len())];
            let mut f = Func::new("k", FuncKind::Kernel);
            let entry = f.body.entry();
            // The result type is only known once the op is chosen, so the
            // output parameter is added after building.
            let mut b = Builder::at_end(&mut f.body, entry);
            let x = random_constant(&mut rng, &mut b, t);
            let y = random_constant(&mut rng, &mut b, t);
            let r = match rng.random_range(0..5) {
                0 => {
                    let all = BinaryOp::ALL;
                    b.binary(all[rng.random_range(0..all.len())], x, y)
                }
                1 => {
                    let all = UnaryOp::ALL;
                    b.unary(all[rng.random_range(0..all.len())], x)
                }
                2 => b.cmp(preds[rng.random_range(0..preds.len())], x, y),
                3 => b.cast(x, types[rng.random_range(0..types.len())]),
                _ => {
                    let z = random_constant(&mut rng, &mut b, t);
                    b.op1(OpKind::Fma, vec![x, y, z], Type::Scalar(t), Attrs::new())
                }
            };
            let rt = b.ty(r).scalar_elem().expect("a scalar result");
            let out = f.add_param("out", Type::ptr(rt));
            let mut b = Builder::at_end(&mut f.body, entry);
            b.op0(OpKind::Store, vec![out, r], Attrs::new());
            b.op0(OpKind::Return, vec![], Attrs::new());
            if verify_func(&f).is_err() {
                continue; // an op not defined on this type
            }
            checked += 1;
            let mut m = Module::new();
            m.funcs.push(f.clone());
            let mut mem = Memory::new();
            mem.add(Buffer::zeroed(rt, 1));
            let ptr = ArgValue::Ptr {
                buffer: 0,
                byte_offset: 0,
                elem: rt,
            };
            let ran = interp::run(&m, "k", [1, 1, 1], &[ptr], &mut mem);
            run(&mut f).expect("canonicalize succeeds on constants");
            let store = f.body.walk(f.body.entry()).into_iter();
            let stored = store
                .filter(|&o| f.body.op(o).kind == OpKind::Store)
                .map(|o| f.body.op(o).operands[1])
                .next()
                .expect("the store stays");
            let Some(l) = lit(&f.body, stored) else {
                continue;
            };
            folded += 1;
            let what = print_func(&m.funcs[0]);
            if let Err(e) = ran {
                panic!("folded to {l:?}, but the run fails: {e}\n{what}");
            }
            match l {
                Lit::Float(v) => {
                    let got = mem.buffers[0].to_f64s()[0];
                    let same = v.to_bits() == got.to_bits() || (v.is_nan() && got.is_nan());
                    assert!(same, "folded to {v:e}, ran to {got:e}\n{what}");
                }
                Lit::Int(v) => {
                    assert_eq!(v, mem.buffers[0].to_i64s()[0], "{what}");
                }
            }
        }
        assert!(
            checked > 3000 && folded > 2000,
            "{checked} checked, {folded} folded"
        );
    }

    #[test]
    fn lossless_casts_round_trip() {
        let mut rng = SmallRng::seed_from_u64(3);
        for from in ScalarType::ALL {
            for to in ScalarType::ALL {
                if !lossless(from, to) {
                    continue;
                }
                for _ in 0..2000 {
                    let l = if from.is_float() {
                        let x = f64::from(f32::from_bits(rng.random()));
                        Lit::Float(round_float(x, from))
                    } else {
                        let (lo, hi) = numeric::int_bounds(from);
                        Lit::Int(rng.random_range(lo..=hi))
                    };
                    let there = cast_lit(l, to).expect("a lossless cast folds");
                    let back = cast_lit(there, from).expect("casting back folds");
                    match (l, back) {
                        (Lit::Float(a), Lit::Float(b)) if a.is_nan() => assert!(b.is_nan()),
                        _ => assert_eq!(l, back, "{from} -> {to} -> {from}"),
                    }
                }
            }
        }
        assert!(!lossless(ScalarType::I16, ScalarType::F16));
        assert!(!lossless(ScalarType::F16, ScalarType::BF16));
        assert!(!lossless(ScalarType::BF16, ScalarType::F16));
        assert!(!lossless(ScalarType::I32, ScalarType::F32));
        assert!(!lossless(ScalarType::F32, ScalarType::I64));
    }

    #[test]
    fn float_to_int_casts_truncate_and_saturate() {
        let c = |x: f64, t| cast_lit(Lit::Float(x), t);
        assert_eq!(c(-2.9, ScalarType::I32), Some(Lit::Int(-2)));
        assert_eq!(c(f64::NAN, ScalarType::I32), Some(Lit::Int(0)));
        assert_eq!(c(1e300, ScalarType::I16), Some(Lit::Int(32767)));
        assert_eq!(
            c(f64::NEG_INFINITY, ScalarType::I64),
            Some(Lit::Int(i64::MIN))
        );
        assert_eq!(c(f64::NAN, ScalarType::I1), Some(Lit::Int(1)));
        assert_eq!(c(-0.0, ScalarType::I1), Some(Lit::Int(0)));
        assert_eq!(cast_lit(Lit::Int(300), ScalarType::I8), None);
        assert_eq!(
            cast_lit(Lit::Int((1 << 60) + 1), ScalarType::BF16),
            None,
            "one rounding from a wide integer to 16 bits is not done through f64"
        );
    }
}
