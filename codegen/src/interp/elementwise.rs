//! Elementwise ops: constants, binary and unary arithmetic, comparisons,
//! select, fma, casts and bitcasts.
//!
//! Floats compute in f64 and round to the result type after every op
//! (`round_float`); integers compute exactly (in i128) and an out-of-range
//! result, a division by zero or a bad shift amount is an error naming the
//! lane and the operands. Shifts are bit operations: `shl` drops the bits
//! shifted out (only the amount is checked), `shr` is arithmetic.

use crate::ir::{Attr, BinaryOp, ElemType, ScalarType, UnaryOp};

use super::error::{ErrorKind, Fail, at_lane};
use super::exec::OpView;
use super::value::{Data, Tile, fit, from_bits, round_float, sext, to_bits};

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

/// max with NaN propagation; +0 is above -0.
pub(crate) fn fmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a || (a == b && a.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// min with NaN propagation; -0 is below +0.
pub(crate) fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b || (a == b && a.is_sign_negative()) {
        a
    } else {
        b
    }
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

/// A float binary op on f64 (unrounded).
fn float_fn(op: BinaryOp) -> Option<fn(f64, f64) -> f64> {
    Some(match op {
        BinaryOp::Add => |a, b| a + b,
        BinaryOp::Sub => |a, b| a - b,
        BinaryOp::Mul => |a, b| a * b,
        BinaryOp::Div => |a, b| a / b,
        BinaryOp::Rem => |a, b| a % b,
        BinaryOp::Max => fmax,
        BinaryOp::Min => fmin,
        BinaryOp::Pow => f64::powf,
        _ => return None,
    })
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
    let (x, y) = (i128::from(a), i128::from(b));
    let shift_amount = || -> Result<u32, Fail> {
        if b < 0 || b >= i64::from(t.bits()) {
            Err(Fail::new(
                ErrorKind::ShiftOutOfRange,
                format!(
                    "shift amount {b} is out of range for {t} (0..{}){}",
                    t.bits(),
                    at_lane(rank, lane)
                ),
            ))
        } else {
            Ok(b as u32)
        }
    };
    let r: i128 = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div | BinaryOp::Rem => {
            if b == 0 {
                return Err(Fail::new(
                    ErrorKind::DivisionByZero,
                    format!(
                        "integer division by zero: {a} {} 0{}",
                        symbol(op),
                        at_lane(rank, lane)
                    ),
                ));
            }
            if op == BinaryOp::Div { x / y } else { x % y }
        }
        BinaryOp::Max => x.max(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::And => x & y,
        BinaryOp::Or => x | y,
        BinaryOp::Xor => x ^ y,
        BinaryOp::Shl => i128::from(sext(a.wrapping_shl(shift_amount()?), t.bits())),
        BinaryOp::Shr => i128::from(a >> shift_amount()?),
        BinaryOp::Pow => return Err(not_defined(op.mnemonic(), t)),
    };
    fit(r, t).ok_or_else(|| {
        Fail::new(
            ErrorKind::IntegerOverflow,
            format!(
                "integer overflow: {a} {} {b} = {r} does not fit in {t}{}",
                symbol(op),
                at_lane(rank, lane)
            ),
        )
    })
}

/// A binary op on two operands of one type.
pub(crate) fn binary(op: BinaryOp, a: &Tile, b: &Tile) -> Result<Tile, Fail> {
    same_type(a, b)?;
    let t = a.scalar_type("the operands")?;
    let data = match (&a.data, &b.data) {
        (Data::Float(x), Data::Float(y)) => {
            let f = float_fn(op).ok_or_else(|| not_defined(op.mnemonic(), t))?;
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
            let f: fn(bool, bool) -> bool = match op {
                BinaryOp::And | BinaryOp::Min => |p, q| p & q,
                BinaryOp::Or | BinaryOp::Max => |p, q| p | q,
                BinaryOp::Xor => |p, q| p ^ q,
                _ => return Err(not_defined(op.mnemonic(), t)),
            };
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
            let f: fn(f64) -> f64 = match op {
                UnaryOp::Neg => |v| -v,
                UnaryOp::Not => return Err(not_defined(op.mnemonic(), t)),
                UnaryOp::Exp => f64::exp,
                UnaryOp::Exp2 => f64::exp2,
                UnaryOp::Log => f64::ln,
                UnaryOp::Log2 => f64::log2,
                UnaryOp::Sqrt => f64::sqrt,
                UnaryOp::Rsqrt => |v| 1.0 / v.sqrt(),
                UnaryOp::Tanh => f64::tanh,
                UnaryOp::Sigmoid => |v| 1.0 / (1.0 + (-v).exp()),
                UnaryOp::Abs => f64::abs,
                UnaryOp::Floor => f64::floor,
                UnaryOp::Ceil => f64::ceil,
                UnaryOp::Sin => f64::sin,
                UnaryOp::Cos => f64::cos,
            };
            Data::Float(round_all(x.iter().map(|&v| f(v)), t))
        }
        Data::Int(x) => {
            let mut out = Vec::with_capacity(x.len());
            for (lane, &v) in x.iter().enumerate() {
                let r = match op {
                    UnaryOp::Neg => -i128::from(v),
                    UnaryOp::Abs => i128::from(v).abs(),
                    UnaryOp::Not => i128::from(!v),
                    _ => return Err(not_defined(op.mnemonic(), t)),
                };
                out.push(fit(r, t).ok_or_else(|| {
                    Fail::new(
                        ErrorKind::IntegerOverflow,
                        format!(
                            "integer overflow: {}({v}) = {r} does not fit in {t}{}",
                            op.mnemonic(),
                            at_lane(a.rank(), lane)
                        ),
                    )
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
    fn apply<T: PartialOrd>(pred: &str, x: &[T], y: &[T]) -> Result<Vec<bool>, Fail> {
        let f: fn(&T, &T) -> bool = match pred {
            "eq" => |p, q| p == q,
            "ne" => |p, q| p != q,
            "lt" => |p, q| p < q,
            "le" => |p, q| p <= q,
            "gt" => |p, q| p > q,
            "ge" => |p, q| p >= q,
            other => {
                return Err(Fail::ir(format!(
                    "unknown predicate `{other}` (eq, ne, lt, le, gt, ge)"
                )));
            }
        };
        Ok(x.iter().zip(y).map(|(p, q)| f(p, q)).collect())
    }
    let out = match (&a.data, &b.data) {
        (Data::Float(x), Data::Float(y)) => apply(pred, x, y)?,
        (Data::Int(x), Data::Int(y)) => apply(pred, x, y)?,
        (Data::Bool(x), Data::Bool(y)) => apply(pred, x, y)?,
        (Data::Ptr(x), Data::Ptr(y)) => apply(pred, x, y)?,
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
                let v = i128::from(p) * i128::from(q) + i128::from(r);
                out.push(fit(v, t).ok_or_else(|| {
                    Fail::new(
                        ErrorKind::IntegerOverflow,
                        format!(
                            "integer overflow: {p} * {q} + {r} = {v} does not fit in {t}{}",
                            at_lane(a.rank(), lane)
                        ),
                    )
                })?);
            }
            Data::Int(out)
        }
        _ => return Err(not_defined("fma", t)),
    };
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// float -> int: truncate toward zero, saturate, NaN gives 0.
pub(crate) fn float_to_int(x: f64, t: ScalarType) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let (lo, hi) = super::value::int_bounds(t);
    let v = x.trunc();
    if v <= lo as f64 {
        lo
    } else if v >= hi as f64 {
        hi
    } else {
        v as i64
    }
}

/// int -> float, rounded to nearest even.
pub(crate) fn int_to_float(v: i64, t: ScalarType) -> f64 {
    match t {
        ScalarType::F32 => v as f32 as f64,
        ScalarType::F64 => v as f64,
        _ => round_float(v as f64, t),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_min_order_signed_zeros_and_propagate_nan() {
        assert_eq!(fmax(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(fmax(0.0, -0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(fmin(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(fmin(0.0, -0.0).to_bits(), (-0.0f64).to_bits());
        assert!(fmax(1.0, f64::NAN).is_nan() && fmin(f64::NAN, 1.0).is_nan());
        assert_eq!(fmax(1.0, 2.0), 2.0);
        assert_eq!(fmin(1.0, 2.0), 1.0);
    }

    #[test]
    fn float_to_int_saturates() {
        assert_eq!(float_to_int(1e300, ScalarType::I64), i64::MAX);
        assert_eq!(float_to_int(-1e300, ScalarType::I32), i64::from(i32::MIN));
        assert_eq!(float_to_int(-2.7, ScalarType::I16), -2);
        assert_eq!(
            int_to_float(i64::MAX, ScalarType::F32),
            9223372036854775808.0
        );
        assert_eq!(int_to_float(65520, ScalarType::F16), f64::INFINITY);
    }
}
