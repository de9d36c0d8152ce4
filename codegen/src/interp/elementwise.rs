//! Elementwise ops: constants, binary and unary arithmetic, comparisons,
//! select, fma, casts and bitcasts.
//!
//! The arithmetic itself is [`crate::ir::numeric`], shared with constant
//! folding: floats compute in f64 and round to the result type after every
//! op; integers compute exactly (in i128) and an out-of-range result, a
//! division by zero or a bad shift amount is an error, which this module
//! reports with the lane and the operands. Shifts are bit operations: `shl`
//! drops the bits shifted out (only the amount is checked), `shr` is
//! arithmetic.

use crate::ir::numeric::{
    self, IntError, bool_binary_fn, compare_fn, fit, float_binary_fn, float_to_int, float_unary_fn,
    int_to_float, round_float,
};
use crate::ir::typing::CmpPred;
use crate::ir::{Attr, BinaryOp, ElemType, ScalarType, UnaryOp};

use super::error::{ErrorKind, Fail, at_lane};
use super::exec::OpView;
use super::value::{Data, Tile, from_bits, to_bits};

/// `tile.constant`: the `value` attribute, splatted to the result type.
pub(crate) fn constant(view: &OpView) -> Result<Tile, Fail> {
    let (elem, shape) = view.result_val(0)?;
    let n: usize = shape.iter().product();
    let ElemType::Scalar(t) = *elem else {
        return Err(Fail::ir(format!(
            "a constant cannot have the pointer type {elem}"
        )));
    };
    let attr = view.required("value", view.op.attr("value"))?;
    let data = match (t, attr) {
        (ScalarType::I1, Attr::Bool(b)) => Data::Bool(vec![*b; n]),
        (ScalarType::I1, Attr::Int(v @ (0 | 1))) => Data::Bool(vec![*v == 1; n]),
        (t, Attr::Int(v)) if t.is_int() && !t.is_bool() => {
            let x = fit(i128::from(*v), t).ok_or_else(|| {
                Fail::new(
                    ErrorKind::IntegerOverflow,
                    format!("the constant {v} does not fit in {t}"),
                )
            })?;
            Data::Int(vec![x; n])
        }
        (t, Attr::Int(_) | Attr::Float(_)) if t.is_float() => {
            let x = attr.as_float().unwrap_or(0.0);
            Data::Float(vec![round_float(x, t); n])
        }
        (t, a) => {
            return Err(Fail::ir(format!("the constant {a} cannot have type {t}")));
        }
    };
    Tile::new(elem.clone(), shape.to_vec(), data)
}

/// Checks that two operands have one type.
pub(crate) fn same_type(a: &Tile, b: &Tile) -> Result<(), Fail> {
    if a.elem != b.elem || a.shape != b.shape {
        return Err(Fail::ir(format!(
            "the operands must have one type, got {} and {}",
            a.type_string(),
            b.type_string()
        )));
    }
    Ok(())
}

fn symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Rem => "%",
        BinaryOp::Shl => "<<",
        BinaryOp::Shr => ">>",
        BinaryOp::And => "&",
        BinaryOp::Or => "|",
        BinaryOp::Xor => "^",
        other => other.mnemonic(),
    }
}

fn not_defined(op: impl std::fmt::Display, t: ScalarType) -> Fail {
    Fail::ir(format!("tile.{op} is not defined on {t}"))
}

/// One integer binary op of type `t`, checked; `lane`/`rank` for messages.
pub(crate) fn int_binary_one(
    op: BinaryOp,
    t: ScalarType,
    a: i64,
    b: i64,
    rank: usize,
    lane: usize,
) -> Result<i64, Fail> {
    numeric::int_binary(op, t, a, b).map_err(|e| match e {
        IntError::ShiftOutOfRange => Fail::new(
            ErrorKind::ShiftOutOfRange,
            format!(
                "shift amount {b} is out of range for {t} (0..{}){}",
                t.bits(),
                at_lane(rank, lane)
            ),
        ),
        IntError::DivisionByZero => Fail::new(
            ErrorKind::DivisionByZero,
            format!(
                "integer division by zero: {a} {} 0{}",
                symbol(op),
                at_lane(rank, lane)
            ),
        ),
        IntError::Overflow(r) => Fail::new(
            ErrorKind::IntegerOverflow,
            format!(
                "integer overflow: {a} {} {b} = {r} does not fit in {t}{}",
                symbol(op),
                at_lane(rank, lane)
            ),
        ),
        IntError::Undefined => not_defined(op.mnemonic(), t),
    })
}

/// A binary op on two operands of one type.
pub(crate) fn binary(op: BinaryOp, a: &Tile, b: &Tile) -> Result<Tile, Fail> {
    same_type(a, b)?;
    let t = a.scalar_type("the operands")?;
    let data = match (&a.data, &b.data) {
        (Data::Float(x), Data::Float(y)) => {
            let f = float_binary_fn(op).ok_or_else(|| not_defined(op.mnemonic(), t))?;
            Data::Float(round_all(x.iter().zip(y).map(|(&p, &q)| f(p, q)), t))
        }
        (Data::Int(x), Data::Int(y)) => Data::Int(
            x.iter()
                .zip(y)
                .enumerate()
                .map(|(lane, (&p, &q))| int_binary_one(op, t, p, q, a.rank(), lane))
                .collect::<Result<_, _>>()?,
        ),
        (Data::Bool(x), Data::Bool(y)) => {
            let f = bool_binary_fn(op).ok_or_else(|| not_defined(op.mnemonic(), t))?;
            Data::Bool(x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect())
        }
        _ => return Err(Fail::ir("internal: operand data of different classes")),
    };
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// Rounds every value to `t`.
fn round_all(it: impl Iterator<Item = f64>, t: ScalarType) -> Vec<f64> {
    match t {
        ScalarType::F64 => it.collect(),
        ScalarType::F32 => it.map(|x| x as f32 as f64).collect(),
        _ => it.map(|x| round_float(x, t)).collect(),
    }
}

/// A unary op.
pub(crate) fn unary(op: UnaryOp, a: &Tile) -> Result<Tile, Fail> {
    let t = a.scalar_type("the operand")?;
    let data = match &a.data {
        Data::Float(x) => {
            let f = float_unary_fn(op).ok_or_else(|| not_defined(op.mnemonic(), t))?;
            Data::Float(round_all(x.iter().map(|&v| f(v)), t))
        }
        Data::Int(x) => {
            let mut out = Vec::with_capacity(x.len());
            for (lane, &v) in x.iter().enumerate() {
                out.push(numeric::int_unary(op, t, v).map_err(|e| match e {
                    IntError::Overflow(r) => Fail::new(
                        ErrorKind::IntegerOverflow,
                        format!(
                            "integer overflow: {}({v}) = {r} does not fit in {t}{}",
                            op.mnemonic(),
                            at_lane(a.rank(), lane)
                        ),
                    ),
                    _ => not_defined(op.mnemonic(), t),
                })?);
            }
            Data::Int(out)
        }
        Data::Bool(x) => match op {
            UnaryOp::Not => Data::Bool(x.iter().map(|b| !b).collect()),
            _ => return Err(not_defined(op.mnemonic(), t)),
        },
        Data::Ptr(_) => return Err(Fail::ir("internal: pointer data with a scalar type")),
    };
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// `tile.cmp {pred}`: an i1 of the operands' shape.
pub(crate) fn cmp(pred: &str, a: &Tile, b: &Tile) -> Result<Tile, Fail> {
    same_type(a, b)?;
    let pred = CmpPred::from_name(pred)
        .ok_or_else(|| Fail::ir(format!("unknown predicate `{pred}` ({})", CmpPred::names())))?;
    fn apply<T: PartialOrd>(pred: CmpPred, x: &[T], y: &[T]) -> Vec<bool> {
        let f = compare_fn::<T>(pred);
        x.iter().zip(y).map(|(p, q)| f(p, q)).collect()
    }
    let out = match (&a.data, &b.data) {
        (Data::Float(x), Data::Float(y)) => apply(pred, x, y),
        (Data::Int(x), Data::Int(y)) => apply(pred, x, y),
        (Data::Bool(x), Data::Bool(y)) => apply(pred, x, y),
        (Data::Ptr(x), Data::Ptr(y)) => apply(pred, x, y),
        _ => return Err(Fail::ir("internal: operand data of different classes")),
    };
    Tile::new(
        ElemType::Scalar(ScalarType::I1),
        a.shape.clone(),
        Data::Bool(out),
    )
}

/// `tile.select cond, a, b`: `cond` is i1, a scalar or of the shape of `a`.
pub(crate) fn select(c: &Tile, a: &Tile, b: &Tile) -> Result<Tile, Fail> {
    same_type(a, b)?;
    let Data::Bool(cv) = &c.data else {
        return Err(Fail::ir(format!(
            "the condition must be i1, got {}",
            c.type_string()
        )));
    };
    if c.rank() != 0 && c.shape != a.shape {
        return Err(Fail::ir(format!(
            "the condition {} does not match the values {}",
            c.type_string(),
            a.type_string()
        )));
    }
    let pick = |i: usize| if c.rank() == 0 { cv[0] } else { cv[i] };
    fn sel<T: Copy>(pick: impl Fn(usize) -> bool, x: &[T], y: &[T]) -> Vec<T> {
        x.iter()
            .zip(y)
            .enumerate()
            .map(|(i, (&p, &q))| if pick(i) { p } else { q })
            .collect()
    }
    let data = match (&a.data, &b.data) {
        (Data::Float(x), Data::Float(y)) => Data::Float(sel(pick, x, y)),
        (Data::Int(x), Data::Int(y)) => Data::Int(sel(pick, x, y)),
        (Data::Bool(x), Data::Bool(y)) => Data::Bool(sel(pick, x, y)),
        (Data::Ptr(x), Data::Ptr(y)) => Data::Ptr(sel(pick, x, y)),
        _ => return Err(Fail::ir("internal: operand data of different classes")),
    };
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// `tile.fma a, b, c`: `a * b + c`, rounded once (floats) or checked (integers).
pub(crate) fn fma(a: &Tile, b: &Tile, c: &Tile) -> Result<Tile, Fail> {
    same_type(a, b)?;
    same_type(a, c)?;
    let t = a.scalar_type("the operands")?;
    let data = match (&a.data, &b.data, &c.data) {
        (Data::Float(x), Data::Float(y), Data::Float(z)) => Data::Float(round_all(
            x.iter().zip(y).zip(z).map(|((&p, &q), &r)| p.mul_add(q, r)),
            t,
        )),
        (Data::Int(x), Data::Int(y), Data::Int(z)) => {
            let mut out = Vec::with_capacity(x.len());
            for (lane, ((&p, &q), &r)) in x.iter().zip(y).zip(z).enumerate() {
                out.push(numeric::int_fma(t, p, q, r).map_err(|e| match e {
                    IntError::Overflow(v) => Fail::new(
                        ErrorKind::IntegerOverflow,
                        format!(
                            "integer overflow: {p} * {q} + {r} = {v} does not fit in {t}{}",
                            at_lane(a.rank(), lane)
                        ),
                    ),
                    _ => not_defined("fma", t),
                })?);
            }
            Data::Int(out)
        }
        _ => return Err(not_defined("fma", t)),
    };
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// `tile.cast`: to another scalar element type, same shape.
pub(crate) fn cast(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let (relem, _) = view.result_val(0)?;
    let ElemType::Scalar(to) = *relem else {
        return Err(Fail::ir(format!(
            "cannot cast to the pointer type {relem} (pointers change type with tile.bitcast)"
        )));
    };
    let from = a.scalar_type("the operand")?;
    let data = match &a.data {
        Data::Float(x) => {
            if to.is_bool() {
                Data::Bool(x.iter().map(|&v| v != 0.0).collect())
            } else if to.is_float() {
                Data::Float(round_all(x.iter().copied(), to))
            } else {
                Data::Int(x.iter().map(|&v| float_to_int(v, to)).collect())
            }
        }
        Data::Int(x) => {
            if to.is_bool() {
                Data::Bool(x.iter().map(|&v| v != 0).collect())
            } else if to.is_float() {
                Data::Float(x.iter().map(|&v| int_to_float(v, to)).collect())
            } else {
                let mut out = Vec::with_capacity(x.len());
                for (lane, &v) in x.iter().enumerate() {
                    out.push(fit(i128::from(v), to).ok_or_else(|| {
                        Fail::new(
                            ErrorKind::IntegerOverflow,
                            format!(
                                "integer overflow: casting {v} from {from} to {to}{}",
                                at_lane(a.rank(), lane)
                            ),
                        )
                    })?);
                }
                Data::Int(out)
            }
        }
        Data::Bool(x) => {
            if to.is_bool() {
                Data::Bool(x.clone())
            } else if to.is_float() {
                Data::Float(x.iter().map(|&b| f64::from(u8::from(b))).collect())
            } else {
                Data::Int(x.iter().map(|&b| i64::from(b)).collect())
            }
        }
        Data::Ptr(_) => return Err(Fail::ir("internal: pointer data with a scalar type")),
    };
    Tile::new(ElemType::Scalar(to), a.shape.clone(), data)
}

/// `tile.bitcast`: reinterprets the bits as another type of the same width
/// (not i1), or a pointer as a pointer to another element type.
pub(crate) fn bitcast(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let (relem, _) = view.result_val(0)?;
    match (&a.elem, relem) {
        (ElemType::Ptr(..), ElemType::Ptr(..)) => {
            Tile::new(relem.clone(), a.shape.clone(), a.data.clone())
        }
        (ElemType::Scalar(from), ElemType::Scalar(to))
            if from.bits() == to.bits() && !from.is_bool() =>
        {
            let mut data = Data::with_capacity(relem, a.len());
            for i in 0..a.len() {
                data.push(from_bits(*to, to_bits(*from, a.data.get(i))?))?;
            }
            Tile::new(relem.clone(), a.shape.clone(), data)
        }
        (from, to) => Err(Fail::ir(format!(
            "cannot bitcast {from} to {to}: the widths differ, or i1 or a pointer is involved"
        ))),
    }
}
