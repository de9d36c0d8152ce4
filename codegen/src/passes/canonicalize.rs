//! Canonicalization: constant folding, algebraic simplification and folding
//! of control flow whose condition is known, repeated to a fixed point.
//!
//! Constants are `tile.constant` ops of a scalar type, or of a tile type, in
//! which case the constant is a splat (every element has the value). A fold
//! computes exactly what the interpreter would (the semantics in `ir/ops.rs`):
//!
//! - Binary, unary, `cmp`, `select`, `fma` and `cast` on constant operands
//!   become a constant. Floats compute in f64 and round once to the result
//!   type (f16 and bf16 round to nearest even). Integer ops that overflow
//!   their width, divide by zero or shift by the width or more are **not**
//!   folded: the interpreter reports them, with the op's location, if they
//!   run. Integer casts that narrow a value that does not fit, and i1
//!   arithmetic other than `and`/`or`/`xor`/`not`/`eq`/`ne`, are left alone
//!   too.
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

/// The inclusive range of an integer type (i1: 0..=1).
fn int_bounds(t: ScalarType) -> (i64, i64) {
    match t {
        ScalarType::I1 => (0, 1),
        ScalarType::I8 => (i8::MIN.into(), i8::MAX.into()),
        ScalarType::I16 => (i16::MIN.into(), i16::MAX.into()),
        ScalarType::I32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

/// `v` if it fits integer type `t`.
fn fit(v: i128, t: ScalarType) -> Option<i64> {
    let (lo, hi) = int_bounds(t);
    (v >= i128::from(lo) && v <= i128::from(hi)).then_some(v as i64)
}

/// 2^k as an f64, for k in the normal exponent range.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023).clamp(1, 2046) as u64) << 52)
}

/// Rounds `x` to nearest even in a binary format with `p` significant bits,
/// minimum normal exponent `emin` and maximum exponent `emax`; overflow
/// gives infinity, tiny values become subnormals or a signed zero.
fn round_binary(x: f64, p: i32, emin: i32, emax: i32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // f64 subnormals are far below the smallest f16/bf16 subnormal.
        return 0.0f64.copysign(x);
    }
    let e = (biased - 1023).max(emin);
    let quantum = pow2(e - (p - 1));
    let r = (x / quantum).round_ties_even() * quantum;
    let max = (2.0 - pow2(1 - p)) * pow2(emax);
    if r.abs() > max {
        f64::INFINITY.copysign(x)
    } else {
        r
    }
}

/// Rounds an f64 to float type `t`, correctly (one rounding, ties to even).
///
/// `half::f16::from_f64` is not used: it drops the low 32 mantissa bits
/// before rounding, which misrounds values just above a tie.
fn round_float(x: f64, t: ScalarType) -> f64 {
    match t {
        ScalarType::F16 => round_binary(x, 11, -14, 15),
        ScalarType::BF16 => round_binary(x, 8, -126, 127),
        ScalarType::F32 => x as f32 as f64,
        _ => x,
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

/// Integer binary op with the interpreter's error cases left unfolded.
fn int_binary(b: BinaryOp, t: ScalarType, x: i64, y: i64) -> Option<i64> {
    let (xi, yi) = (i128::from(x), i128::from(y));
    if t == ScalarType::I1 {
        return match b {
            BinaryOp::And => Some(x & y),
            BinaryOp::Or => Some(x | y),
            BinaryOp::Xor => Some(x ^ y),
            _ => None,
        };
    }
    let bits = i64::from(t.bits());
    let r = match b {
        BinaryOp::Add => xi + yi,
        BinaryOp::Sub => xi - yi,
        BinaryOp::Mul => xi * yi,
        BinaryOp::Div if y != 0 => xi / yi,
        // x % -1 is 0, but the interpreter may see MIN % -1 as an overflow.
        BinaryOp::Rem if y != 0 && !(y == -1 && x == int_bounds(t).0) => xi % yi,
        BinaryOp::Max => xi.max(yi),
        BinaryOp::Min => xi.min(yi),
        BinaryOp::And => xi & yi,
        BinaryOp::Or => xi | yi,
        BinaryOp::Xor => xi ^ yi,
        // A left shift folds only when it loses no bits.
        BinaryOp::Shl if (0..bits).contains(&y) => xi << y,
        BinaryOp::Shr if (0..bits).contains(&y) => xi >> y,
        _ => return None,
    };
    fit(r, t)
}

/// Float binary op in f64, rounded to `t`.
fn float_binary(b: BinaryOp, t: ScalarType, x: f64, y: f64) -> Option<f64> {
    let r = match b {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Rem => x % y,
        BinaryOp::Max | BinaryOp::Min => {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else if x == 0.0 && y == 0.0 && x.to_bits() != y.to_bits() {
                // max(-0.0, +0.0): leave the choice to the interpreter.
                return None;
            } else if b == BinaryOp::Max {
                x.max(y)
            } else {
                x.min(y)
            }
        }
        BinaryOp::Pow => x.powf(y),
        _ => return None,
    };
    Some(round_float(r, t))
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
            let r = match u {
                UnaryOp::Not if t == ScalarType::I1 => Some(1 - v),
                _ if t == ScalarType::I1 => None,
                UnaryOp::Neg => fit(-i128::from(v), t),
                UnaryOp::Not => Some(!v),
                UnaryOp::Abs => fit(i128::from(v).abs(), t),
                _ => None,
            };
            return r.map(|v| Rewrite::Const(Lit::Int(v)));
        }
        Some(Lit::Float(v)) => {
            let r = match u {
                UnaryOp::Neg => -v,
                UnaryOp::Exp => v.exp(),
                UnaryOp::Exp2 => v.exp2(),
                UnaryOp::Log => v.ln(),
                UnaryOp::Log2 => v.log2(),
                UnaryOp::Sqrt => v.sqrt(),
                UnaryOp::Rsqrt => 1.0 / v.sqrt(),
                UnaryOp::Tanh => v.tanh(),
                UnaryOp::Sigmoid => 1.0 / (1.0 + (-v).exp()),
                UnaryOp::Abs => v.abs(),
                UnaryOp::Floor => v.floor(),
                UnaryOp::Ceil => v.ceil(),
                UnaryOp::Sin => v.sin(),
                UnaryOp::Cos => v.cos(),
                UnaryOp::Not => return None,
            };
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
    let pred = body.op(op).attr("pred")?.as_str()?;
    let elem = body.ty(x).elem()?;
    let ordered = |o: std::cmp::Ordering| match pred {
        "eq" => Some(o.is_eq()),
        "ne" => Some(o.is_ne()),
        "lt" => Some(o.is_lt()),
        "le" => Some(o.is_le()),
        "gt" => Some(o.is_gt()),
        "ge" => Some(o.is_ge()),
        _ => None,
    };
    // Booleans compare for equality only (their order is not defined).
    let pred_ok = elem != ElemType::Scalar(ScalarType::I1) || matches!(pred, "eq" | "ne");
    let is_float = matches!(elem, ElemType::Scalar(s) if s.is_float());
    let r = match (lit(body, x), lit(body, y)) {
        (Some(Lit::Int(a)), Some(Lit::Int(b))) if pred_ok => ordered(a.cmp(&b))?,
        (Some(Lit::Float(a)), Some(Lit::Float(b))) => match pred {
            "eq" => a == b,
            "ne" => a != b,
            "lt" => a < b,
            "le" => a <= b,
            "gt" => a > b,
            "ge" => a >= b,
            _ => return None,
        },
        // x == x for integers and pointers (floats: NaN).
        _ if x == y && pred_ok && !is_float => ordered(std::cmp::Ordering::Equal)?,
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
            // The product must fit on its own, as the interpreter checks it.
            let p = fit(i128::from(x) * i128::from(y), t)?;
            fit(i128::from(p) + i128::from(z), t).map(|v| Rewrite::Const(Lit::Int(v)))
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
/// None where the semantics leave a choice (narrowing integer casts) or
/// where one rounding cannot be done from f64.
fn cast_lit(l: Lit, to: ScalarType) -> Option<Lit> {
    if to == ScalarType::I1 {
        // NaN != 0, so NaN casts to true.
        return Some(Lit::Int(i64::from(!l.is_zero())));
    }
    match l {
        Lit::Int(v) if to.is_float() => {
            let x = match to {
                ScalarType::F64 => v as f64,
                ScalarType::F32 => f64::from(v as f32),
                // Exact in f64 first, so that rounding to 16 bits happens once.
                _ if v.unsigned_abs() <= 1 << 53 => round_float(v as f64, to),
                _ => return None,
            };
            Some(Lit::Float(x))
        }
        Lit::Int(v) => fit(i128::from(v), to).map(Lit::Int),
        Lit::Float(x) if to.is_float() => Some(Lit::Float(round_float(x, to))),
        Lit::Float(x) => {
            let (lo, hi) = int_bounds(to);
            let v = if x.is_nan() {
                0
            } else if x <= lo as f64 {
                lo
            } else if x >= hi as f64 {
                hi
            } else {
                x.trunc() as i64
            };
            Some(Lit::Int(v))
        }
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

    #[test]
    fn rounding_to_f16_and_bf16_matches_half_on_f32_inputs() {
        // half converts f32 (all of whose bits it sees) correctly.
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..200_000 {
            let x = f32::from_bits(rng.random());
            if x.is_nan() {
                continue;
            }
            let want16 = half::f16::from_f32(x).to_f64();
            let got16 = round_float(f64::from(x), ScalarType::F16);
            assert_eq!(got16.to_bits(), want16.to_bits(), "f16 of {x:e}");
            let want_bf = half::bf16::from_f32(x).to_f64();
            let got_bf = round_float(f64::from(x), ScalarType::BF16);
            assert_eq!(got_bf.to_bits(), want_bf.to_bits(), "bf16 of {x:e}");
        }
    }

    #[test]
    fn rounding_keeps_sticky_bits_below_f32() {
        // 1 + 2^-11 is a tie in f16 (rounds to 1); anything above it, even
        // by 2^-40, rounds up.
        let tie = 1.0 + 2f64.powi(-11);
        assert_eq!(round_float(tie, ScalarType::F16), 1.0);
        assert_eq!(
            round_float(tie + 2f64.powi(-40), ScalarType::F16),
            1.0 + 2f64.powi(-10)
        );
        assert_eq!(round_float(65520.0, ScalarType::F16), f64::INFINITY);
        assert_eq!(round_float(65519.99, ScalarType::F16), 65504.0);
    }

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
                        let (lo, hi) = int_bounds(from);
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
