//! Frontend values and compile-time constant folding.
//!
//! An expression lowers to a [`Val`]: an SSA value of the IR, an untyped
//! ("weak") literal that takes its type from the other operand when it meets
//! one, a tuple, unit, or a string literal (only meaningful as the message of
//! `static_assert`/`device_print`).
//!
//! Folding evaluates operations on values known at compile time (literals,
//! const parameters bound by a configuration) so that `static_assert` and
//! `if` on constants can be decided by the frontend, the way the specialize
//! pass decides them later on the IR.

use crate::ir::{BinaryOp, ScalarType, ValueId};

/// A literal value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Lit {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Lit {
    /// The element type the literal takes when nothing else decides.
    pub(crate) fn default_type(self) -> ScalarType {
        match self {
            Lit::Int(_) => ScalarType::I32,
            Lit::Float(_) => ScalarType::F32,
            Lit::Bool(_) => ScalarType::I1,
        }
    }

    /// The value as an f64.
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Lit::Int(v) => v as f64,
            Lit::Float(v) => v,
            Lit::Bool(v) => f64::from(u8::from(v)),
        }
    }

    /// The value as an integer (floats truncate).
    pub(crate) fn as_i64(self) -> i64 {
        match self {
            Lit::Int(v) => v,
            Lit::Float(v) => v as i64,
            Lit::Bool(v) => i64::from(v),
        }
    }

    /// The value as a boolean (`!= 0`).
    pub(crate) fn truthy(self) -> bool {
        match self {
            Lit::Int(v) => v != 0,
            Lit::Float(v) => v != 0.0,
            Lit::Bool(v) => v,
        }
    }
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Int(v) => write!(f, "{v}"),
            Lit::Float(v) => write!(f, "{v:?}"),
            Lit::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// A lowered expression.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    /// An IR value.
    V(ValueId),
    /// A weak literal, not materialized yet.
    Lit(Lit),
    /// A tuple (results of `sort`, `split`, tuple expressions, calls).
    Tuple(Vec<Val>),
    /// The unit value (statements, `store`).
    Unit,
    /// A string literal.
    Str(String),
}

/// Rounds a float to what `ty` can hold.
pub(crate) fn round_float(v: f64, ty: ScalarType) -> f64 {
    match ty {
        ScalarType::F16 => f64::from(half::f16::from_f64(v)),
        ScalarType::BF16 => f64::from(half::bf16::from_f64(v)),
        ScalarType::F32 => f64::from(v as f32),
        _ => v,
    }
}

/// The range of a signed integer type.
pub(crate) fn int_range(ty: ScalarType) -> (i128, i128) {
    match ty {
        ScalarType::I1 => (0, 1),
        other => {
            let bits = other.bits();
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        }
    }
}

/// Converts a literal to a constant of element type `ty`, if it fits.
pub(crate) fn convert_lit(l: Lit, ty: ScalarType) -> Option<Lit> {
    if ty == ScalarType::I1 {
        return Some(Lit::Bool(l.truthy()));
    }
    if ty.is_float() {
        return Some(Lit::Float(round_float(l.as_f64(), ty)));
    }
    let v: i128 = match l {
        Lit::Int(v) => v.into(),
        Lit::Bool(b) => i128::from(b),
        Lit::Float(f) => {
            if f.is_nan() {
                0
            } else {
                let (lo, hi) = int_range(ty);
                return Some(Lit::Int((f.trunc() as i128).clamp(lo, hi) as i64));
            }
        }
    };
    let (lo, hi) = int_range(ty);
    (lo..=hi).contains(&v).then_some(Lit::Int(v as i64))
}

/// Folds a binary op on two constants of element type `ty`. None when the
/// result is not representable (overflow, division by zero): the op is then
/// emitted and the error happens where the IR is evaluated.
pub(crate) fn fold_binary(op: BinaryOp, a: Lit, b: Lit, ty: ScalarType) -> Option<Lit> {
    if ty.is_float() {
        let (x, y) = (a.as_f64(), b.as_f64());
        let r = match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Rem => x % y,
            BinaryOp::Max => {
                if x.is_nan() || y.is_nan() {
                    f64::NAN
                } else {
                    x.max(y)
                }
            }
            BinaryOp::Min => {
                if x.is_nan() || y.is_nan() {
                    f64::NAN
                } else {
                    x.min(y)
                }
            }
            BinaryOp::Pow => x.powf(y),
            _ => return None,
        };
        return Some(Lit::Float(round_float(r, ty)));
    }
    if ty == ScalarType::I1 {
        let (x, y) = (a.truthy(), b.truthy());
        return match op {
            BinaryOp::And | BinaryOp::Min | BinaryOp::Mul => Some(Lit::Bool(x & y)),
            BinaryOp::Or | BinaryOp::Max => Some(Lit::Bool(x | y)),
            BinaryOp::Xor => Some(Lit::Bool(x ^ y)),
            _ => None,
        };
    }
    let (x, y) = (i128::from(a.as_i64()), i128::from(b.as_i64()));
    let r = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => {
            if y == 0 {
                return None;
            }
            x / y
        }
        BinaryOp::Rem => {
            if y == 0 {
                return None;
            }
            x % y
        }
        BinaryOp::Max => x.max(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::And => x & y,
        BinaryOp::Or => x | y,
        BinaryOp::Xor => x ^ y,
        BinaryOp::Shl | BinaryOp::Shr => {
            if !(0..i128::from(ty.bits())).contains(&y) {
                return None;
            }
            if op == BinaryOp::Shl { x << y } else { x >> y }
        }
        BinaryOp::Pow => return None,
    };
    let (lo, hi) = int_range(ty);
    (lo..=hi).contains(&r).then_some(Lit::Int(r as i64))
}

/// Folds a comparison (`pred` as in `tile.cmp`).
pub(crate) fn fold_cmp(pred: &str, a: Lit, b: Lit, ty: ScalarType) -> Option<bool> {
    use std::cmp::Ordering::*;
    let ord = if ty.is_float() {
        a.as_f64().partial_cmp(&b.as_f64())
    } else {
        Some(a.as_i64().cmp(&b.as_i64()))
    };
    Some(match (pred, ord) {
        ("ne", None) => true,
        (_, None) => false,
        ("eq", Some(o)) => o == Equal,
        ("ne", Some(o)) => o != Equal,
        ("lt", Some(o)) => o == Less,
        ("le", Some(o)) => o != Greater,
        ("gt", Some(o)) => o == Greater,
        ("ge", Some(o)) => o != Less,
        _ => return None,
    })
}

/// Folds arithmetic on two weak literals (no IR type yet): int with int
/// stays an int (computed in i64), anything with a float is a float.
pub(crate) fn fold_weak(op: BinaryOp, a: Lit, b: Lit) -> Result<Lit, String> {
    match (a, b) {
        (Lit::Bool(_), _) | (_, Lit::Bool(_)) => fold_binary(op, a, b, ScalarType::I1)
            .ok_or_else(|| format!("`{}` is not defined on booleans", op.mnemonic())),
        (Lit::Int(x), Lit::Int(y)) => {
            let r = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                BinaryOp::Mul => x.checked_mul(y),
                BinaryOp::Div => x.checked_div(y),
                BinaryOp::Rem => x.checked_rem(y),
                BinaryOp::Max => Some(x.max(y)),
                BinaryOp::Min => Some(x.min(y)),
                BinaryOp::And => Some(x & y),
                BinaryOp::Or => Some(x | y),
                BinaryOp::Xor => Some(x ^ y),
                BinaryOp::Shl => u32::try_from(y).ok().and_then(|s| x.checked_shl(s)),
                BinaryOp::Shr => u32::try_from(y).ok().and_then(|s| x.checked_shr(s)),
                BinaryOp::Pow => u32::try_from(y).ok().and_then(|s| x.checked_pow(s)),
            };
            r.map(Lit::Int).ok_or_else(|| {
                format!(
                    "constant `{x} {} {y}` overflows or divides by zero",
                    op.mnemonic()
                )
            })
        }
        _ => {
            if op.int_only() {
                return Err(format!("`{}` is not defined on floats", op.mnemonic()));
            }
            fold_binary(op, a, b, ScalarType::F64)
                .ok_or_else(|| format!("cannot fold `{}` on floats", op.mnemonic()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarType::*;

    #[test]
    fn folding() {
        assert_eq!(
            fold_binary(BinaryOp::Add, Lit::Int(i32::MAX as i64), Lit::Int(1), I32),
            None
        );
        assert_eq!(
            fold_binary(BinaryOp::Add, Lit::Int(i32::MAX as i64), Lit::Int(1), I64),
            Some(Lit::Int(1 << 31))
        );
        assert_eq!(
            fold_binary(BinaryOp::Div, Lit::Int(-7), Lit::Int(2), I32),
            Some(Lit::Int(-3))
        );
        assert_eq!(
            fold_binary(BinaryOp::Div, Lit::Int(1), Lit::Int(0), I32),
            None
        );
        assert_eq!(
            fold_binary(BinaryOp::Add, Lit::Float(0.1), Lit::Float(0.2), F16),
            Some(Lit::Float(f64::from(half::f16::from_f64(0.1 + 0.2))))
        );
        assert_eq!(fold_cmp("lt", Lit::Int(1), Lit::Int(2), I32), Some(true));
        assert_eq!(
            fold_cmp("eq", Lit::Float(f64::NAN), Lit::Float(f64::NAN), F32),
            Some(false)
        );
        assert_eq!(
            fold_weak(BinaryOp::Mul, Lit::Int(3), Lit::Float(0.5)),
            Ok(Lit::Float(1.5))
        );
        assert!(fold_weak(BinaryOp::Div, Lit::Int(3), Lit::Int(0)).is_err());
        assert_eq!(convert_lit(Lit::Int(300), I8), None);
        assert_eq!(
            convert_lit(Lit::Float(1e10), I32),
            Some(Lit::Int(i32::MAX as i64))
        );
        assert_eq!(convert_lit(Lit::Int(2), I1), Some(Lit::Bool(true)));
    }
}
