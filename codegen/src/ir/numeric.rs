//! The numeric semantics of tile IR shared by the interpreter and constant
//! folding, so folding can never disagree with execution.
//!
//! The op table in [`super::ops`] states the rules; this module is their one
//! implementation on single elements. The interpreter (`crate::interp`)
//! applies these functions lane by lane and turns their errors into runtime
//! errors at the op; the canonicalizer (`crate::passes::canonicalize`)
//! applies them to constants and leaves an op unfolded wherever they fail.
//!
//! - **Floats** compute in f64 and round once, to nearest even, to the
//!   result type ([`round_float`]). f16 and bf16 are rounded here, not by
//!   `half`, whose f64 conversion is not correctly rounded. `max`/`min`
//!   propagate NaN and order -0 below +0 ([`fmax`], [`fmin`]).
//! - **Integers** are signed and compute exactly (in i128); a result that
//!   does not fit its width ([`fit`]), a division by zero and a shift by a
//!   negative amount or by the width or more are errors ([`IntError`]).
//!   `shl` keeps the low bits (the bits shifted out are dropped), `shr` is
//!   arithmetic. i1 is a boolean: `and`/`min` is logical and, `or`/`max`
//!   logical or, `xor` exclusive or ([`bool_binary_fn`]).
//! - **Casts**: float→int truncates toward zero and saturates, NaN gives 0
//!   ([`float_to_int`]); int→float rounds to nearest even
//!   ([`int_to_float`]); anything→i1 is `!= 0`; i1→number is 0 or 1; a
//!   narrowing int→int cast that does not fit is an error ([`fit`]).
//! - **Comparisons** are IEEE for floats (NaN is unordered) and numeric for
//!   integers ([`compare`]).

use super::ops::{BinaryOp, UnaryOp};
use super::types::ScalarType;
use super::typing::CmpPred;

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
        // An f64 subnormal is far below the smallest f16/bf16 subnormal.
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

/// Rounds an f64 to the nearest value of float type `t` (one rounding, ties
/// to even), returned as f64. Integer types and f64 pass `x` through.
///
/// `half`'s `from_f64` is not used: it is not correctly rounded (its
/// software path drops the low 32 mantissa bits before rounding, its f16c
/// path goes through f32), so this does the rounding itself and `half` only
/// encodes values that are already exact.
pub fn round_float(x: f64, t: ScalarType) -> f64 {
    match t {
        ScalarType::F16 => round_binary(x, 11, -14, 15),
        ScalarType::BF16 => round_binary(x, 8, -126, 127),
        ScalarType::F32 => x as f32 as f64,
        _ => x,
    }
}

/// The inclusive range of an integer type (i1: 0..=1; float types get the
/// i64 range).
pub fn int_bounds(t: ScalarType) -> (i64, i64) {
    match t {
        ScalarType::I1 => (0, 1),
        ScalarType::I8 => (i8::MIN.into(), i8::MAX.into()),
        ScalarType::I16 => (i16::MIN.into(), i16::MAX.into()),
        ScalarType::I32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

/// `x` if it fits integer type `t` (see [`int_bounds`]).
pub fn fit(x: i128, t: ScalarType) -> Option<i64> {
    let (lo, hi) = int_bounds(t);
    (x >= i128::from(lo) && x <= i128::from(hi)).then_some(x as i64)
}

/// Sign-extends the low `bits` bits of `v` (wrapping `v` to a signed
/// integer of that width).
pub fn sext(v: i64, bits: u32) -> i64 {
    if bits >= 64 {
        v
    } else {
        let s = 64 - bits;
        (v << s) >> s
    }
}

/// `max` on floats: NaN if either is NaN; +0 is above -0.
pub fn fmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a || (a == b && a.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// `min` on floats: NaN if either is NaN; -0 is below +0.
pub fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b || (a == b && a.is_sign_negative()) {
        a
    } else {
        b
    }
}

/// A float binary op on f64, before rounding to the result type; `None`
/// for the ops not defined on floats (bitwise ops and shifts).
pub fn float_binary_fn(op: BinaryOp) -> Option<fn(f64, f64) -> f64> {
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

/// A float unary op on f64, before rounding to the result type; `None`
/// for `not`, which is not defined on floats.
pub fn float_unary_fn(op: UnaryOp) -> Option<fn(f64) -> f64> {
    Some(match op {
        UnaryOp::Neg => |v| -v,
        UnaryOp::Not => return None,
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
    })
}

/// Why an integer op has no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntError {
    /// The exact result does not fit the result type.
    Overflow(i128),
    /// `div` or `rem` by zero.
    DivisionByZero,
    /// A shift amount below 0 or at least the width.
    ShiftOutOfRange,
    /// The op is not defined on integers (`pow`; the float-only unary ops).
    Undefined,
}

/// A binary op on integers of type `t` (i8..i64; i1 is [`bool_binary_fn`]).
pub fn int_binary(op: BinaryOp, t: ScalarType, a: i64, b: i64) -> Result<i64, IntError> {
    let (x, y) = (i128::from(a), i128::from(b));
    let shift_amount = || {
        if b < 0 || b >= i64::from(t.bits()) {
            Err(IntError::ShiftOutOfRange)
        } else {
            Ok(b as u32)
        }
    };
    let r: i128 = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div | BinaryOp::Rem if b == 0 => return Err(IntError::DivisionByZero),
        BinaryOp::Div => x / y,
        BinaryOp::Rem => x % y,
        BinaryOp::Max => x.max(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::And => x & y,
        BinaryOp::Or => x | y,
        BinaryOp::Xor => x ^ y,
        BinaryOp::Shl => i128::from(sext(a.wrapping_shl(shift_amount()?), t.bits())),
        BinaryOp::Shr => i128::from(a >> shift_amount()?),
        BinaryOp::Pow => return Err(IntError::Undefined),
    };
    fit(r, t).ok_or(IntError::Overflow(r))
}

/// A unary op on an integer of type `t` (i8..i64): `neg`, `abs` and `not`
/// (bitwise); the others are float-only.
pub fn int_unary(op: UnaryOp, t: ScalarType, v: i64) -> Result<i64, IntError> {
    let r = match op {
        UnaryOp::Neg => -i128::from(v),
        UnaryOp::Abs => i128::from(v).abs(),
        UnaryOp::Not => i128::from(!v),
        _ => return Err(IntError::Undefined),
    };
    fit(r, t).ok_or(IntError::Overflow(r))
}

/// `fma` on integers of type `t` (i8..i64): `a * b + c` computed exactly;
/// only the sum must fit.
pub fn int_fma(t: ScalarType, a: i64, b: i64, c: i64) -> Result<i64, IntError> {
    let r = i128::from(a) * i128::from(b) + i128::from(c);
    fit(r, t).ok_or(IntError::Overflow(r))
}

/// A binary op on i1 as a function: `and`/`min` is logical and, `or`/`max`
/// logical or, `xor` exclusive or; `None` for the arithmetic ops, which are
/// not defined on i1.
pub fn bool_binary_fn(op: BinaryOp) -> Option<fn(bool, bool) -> bool> {
    Some(match op {
        BinaryOp::And | BinaryOp::Min => |a, b| a & b,
        BinaryOp::Or | BinaryOp::Max => |a, b| a | b,
        BinaryOp::Xor => |a, b| a ^ b,
        _ => return None,
    })
}

/// The comparison `pred` as a function (IEEE on floats: NaN compares
/// unequal and unordered; booleans order false below true).
pub fn compare_fn<T: PartialOrd>(pred: CmpPred) -> fn(&T, &T) -> bool {
    match pred {
        CmpPred::Eq => |a, b| a == b,
        CmpPred::Ne => |a, b| a != b,
        CmpPred::Lt => |a, b| a < b,
        CmpPred::Le => |a, b| a <= b,
        CmpPred::Gt => |a, b| a > b,
        CmpPred::Ge => |a, b| a >= b,
    }
}

/// `a pred b`; see [`compare_fn`].
pub fn compare<T: PartialOrd>(pred: CmpPred, a: &T, b: &T) -> bool {
    compare_fn(pred)(a, b)
}

/// `cast` from a float to integer type `t` (not i1): truncates toward zero
/// and saturates to the range of `t`; NaN gives 0.
pub fn float_to_int(x: f64, t: ScalarType) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let (lo, hi) = int_bounds(t);
    let v = x.trunc();
    if v <= lo as f64 {
        lo
    } else if v >= hi as f64 {
        hi
    } else {
        v as i64
    }
}

/// `cast` from an integer to float type `t`, rounded to nearest even.
///
/// f32 and f64 round once. f16 and bf16 go through f64, which is exact for
/// `|v| <= 2^53` (see [`int_to_float_rounds_once`]); above that the value
/// is rounded twice, which can differ from one rounding in bf16 (f16
/// overflows to infinity there either way).
pub fn int_to_float(v: i64, t: ScalarType) -> f64 {
    match t {
        ScalarType::F32 => v as f32 as f64,
        ScalarType::F64 => v as f64,
        _ => round_float(v as f64, t),
    }
}

/// True when [`int_to_float`] of `v` to `t` is the correctly rounded
/// value (one rounding); false for f16/bf16 of `|v| > 2^53`.
pub fn int_to_float_rounds_once(v: i64, t: ScalarType) -> bool {
    matches!(t, ScalarType::F32 | ScalarType::F64) || v.unsigned_abs() <= 1 << 53
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    const F16: ScalarType = ScalarType::F16;
    const BF16: ScalarType = ScalarType::BF16;

    #[test]
    fn rounding_to_f16_and_bf16_matches_half_on_f32_inputs() {
        // half converts f32 (all of whose bits it sees) correctly; compare
        // bit patterns, so the sign of zero counts too.
        for (seed, n) in [(1, 100_000), (7, 200_000)] {
            let mut rng = SmallRng::seed_from_u64(seed);
            for _ in 0..n {
                let x = f32::from_bits(rng.random());
                if x.is_nan() {
                    continue;
                }
                let want16 = half::f16::from_f32(x).to_f64();
                let got16 = round_float(f64::from(x), F16);
                assert_eq!(got16.to_bits(), want16.to_bits(), "f16 of {x:e}");
                let want_bf = half::bf16::from_f32(x).to_f64();
                let got_bf = round_float(f64::from(x), BF16);
                assert_eq!(got_bf.to_bits(), want_bf.to_bits(), "bf16 of {x:e}");
            }
        }
    }

    #[test]
    fn rounding_keeps_sticky_bits_and_ties_to_even() {
        // 1 + 2^-11 is a tie in f16 (rounds to even, 1); anything above it,
        // even by 2^-40 (below f32's precision), rounds up.
        let tie = 1.0 + 2f64.powi(-11);
        assert_eq!(round_float(tie + 2f64.powi(-40), F16), 1.0 + 2f64.powi(-10));
        assert_eq!(round_float(tie, F16), 1.0);
        assert_eq!(round_float(65519.0, F16), 65504.0);
        assert_eq!(round_float(65519.99, F16), 65504.0);
        assert_eq!(round_float(65520.0, F16), f64::INFINITY);
        assert_eq!(round_float(-1e-9, F16).to_bits(), (-0.0f64).to_bits());
        // Smallest f16 subnormal is 2^-24; half of it ties to zero, a bit more rounds up.
        assert_eq!(round_float(2f64.powi(-25), F16), 0.0);
        assert_eq!(round_float(2f64.powi(-25) * 1.0001, F16), 2f64.powi(-24));
        assert_eq!(round_float(1.0 + 2f64.powi(-8), BF16), 1.0);
        assert_eq!(
            round_float(1.0 + 2f64.powi(-8) + 2f64.powi(-30), BF16),
            1.0 + 2f64.powi(-7)
        );
        assert!(round_float(f64::NAN, BF16).is_nan());
    }

    #[test]
    fn max_min_order_signed_zeros_and_propagate_nan() {
        assert_eq!(fmax(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(fmax(0.0, -0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(fmin(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(fmin(0.0, -0.0).to_bits(), (-0.0f64).to_bits());
        assert!(fmax(1.0, f64::NAN).is_nan() && fmin(f64::NAN, 1.0).is_nan());
        assert_eq!(fmax(1.0, 2.0), 2.0);
        assert_eq!(fmin(1.0, 2.0), 1.0);
        let max = float_binary_fn(BinaryOp::Max).unwrap();
        assert_eq!(max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
        assert!(float_binary_fn(BinaryOp::Xor).is_none());
        assert!(float_unary_fn(UnaryOp::Not).is_none());
    }

    #[test]
    fn float_to_int_saturates() {
        assert_eq!(float_to_int(1e300, ScalarType::I64), i64::MAX);
        assert_eq!(float_to_int(-1e300, ScalarType::I32), i64::from(i32::MIN));
        assert_eq!(float_to_int(-2.7, ScalarType::I16), -2);
        assert_eq!(float_to_int(f64::NAN, ScalarType::I8), 0);
        assert_eq!(float_to_int(127.9, ScalarType::I8), 127);
        assert_eq!(float_to_int(-128.9, ScalarType::I8), -128);
        assert_eq!(
            int_to_float(i64::MAX, ScalarType::F32),
            9223372036854775808.0
        );
        assert_eq!(int_to_float(65520, F16), f64::INFINITY);
        // 2049 is a tie between 2048 and 2050 in f16.
        assert_eq!(int_to_float(2049, F16), 2048.0);
    }

    #[test]
    fn int_to_float_rounds_once_up_to_2_pow_53() {
        assert!(int_to_float_rounds_once(i64::MAX, ScalarType::F32));
        assert!(int_to_float_rounds_once(1 << 53, BF16));
        assert!(!int_to_float_rounds_once((1 << 53) + 1, BF16));
        assert!(!int_to_float_rounds_once(i64::MIN, F16));
        // Where it rounds once, it agrees with rounding the exact value.
        let mut rng = SmallRng::seed_from_u64(5);
        for _ in 0..10_000 {
            let v: i64 = rng.random::<i64>() >> rng.random_range(10..64);
            for t in [F16, BF16] {
                assert!(int_to_float_rounds_once(v, t));
                assert_eq!(int_to_float(v, t), round_float(v as f64, t), "{v} to {t}");
            }
        }
    }

    /// Integer binary ops agree with Rust's checked arithmetic, except that
    /// `shl` keeps the low bits and `MIN % -1` is 0.
    #[test]
    fn int_binary_agrees_with_checked_arithmetic() {
        let mut rng = SmallRng::seed_from_u64(11);
        let t = ScalarType::I8;
        for _ in 0..100_000 {
            let (x, y): (i8, i8) = (rng.random(), rng.random());
            let f = |op| int_binary(op, t, i64::from(x), i64::from(y)).ok();
            let w = |v: Option<i8>| v.map(i64::from);
            assert_eq!(f(BinaryOp::Add), w(x.checked_add(y)));
            assert_eq!(f(BinaryOp::Sub), w(x.checked_sub(y)));
            assert_eq!(f(BinaryOp::Mul), w(x.checked_mul(y)));
            assert_eq!(f(BinaryOp::Div), w(x.checked_div(y)));
            let rem = if y == -1 { Some(0) } else { x.checked_rem(y) };
            assert_eq!(f(BinaryOp::Rem), w(rem));
            assert_eq!(f(BinaryOp::Xor), Some(i64::from(x ^ y)));
            assert_eq!(f(BinaryOp::Max), Some(i64::from(x.max(y))));
            let shift = (0..8).contains(&y);
            assert_eq!(f(BinaryOp::Shr), shift.then(|| i64::from(x >> y)));
            assert_eq!(
                f(BinaryOp::Shl),
                shift.then(|| i64::from(x.wrapping_shl(y as u32)))
            );
        }
        assert_eq!(
            int_binary(BinaryOp::Mul, ScalarType::I32, 1 << 30, 4),
            Err(IntError::Overflow(1 << 32))
        );
        assert_eq!(
            int_binary(BinaryOp::Rem, ScalarType::I32, 7, 0),
            Err(IntError::DivisionByZero)
        );
        assert_eq!(
            int_binary(BinaryOp::Shl, ScalarType::I32, 7, 32),
            Err(IntError::ShiftOutOfRange)
        );
        assert_eq!(
            int_binary(BinaryOp::Pow, ScalarType::I32, 2, 3),
            Err(IntError::Undefined)
        );
    }

    #[test]
    fn int_unary_fma_and_bool_ops() {
        let t = ScalarType::I8;
        assert_eq!(int_unary(UnaryOp::Not, t, 5), Ok(-6));
        assert_eq!(int_unary(UnaryOp::Abs, t, -5), Ok(5));
        assert_eq!(
            int_unary(UnaryOp::Neg, t, -128),
            Err(IntError::Overflow(128))
        );
        assert_eq!(int_unary(UnaryOp::Exp, t, 1), Err(IntError::Undefined));
        // Only the sum must fit, not the product.
        assert_eq!(int_fma(t, 100, 2, -100), Ok(100));
        assert_eq!(int_fma(t, 100, 2, 0), Err(IntError::Overflow(200)));
        let b = |op| bool_binary_fn(op).map(|f| f(true, false));
        assert_eq!(b(BinaryOp::Max), Some(true));
        assert_eq!(b(BinaryOp::Min), Some(false));
        assert_eq!(b(BinaryOp::Xor), Some(true));
        assert_eq!(b(BinaryOp::Add), None);
        assert_eq!(sext(0xff, 8), -1);
        assert_eq!(fit(128, t), None);
        assert_eq!(fit(-128, t), Some(-128));
        assert_eq!(int_bounds(ScalarType::I1), (0, 1));
    }

    #[test]
    fn comparisons_are_ieee_on_floats() {
        // CmpPred::ALL is eq, ne, lt, le, gt, ge.
        let preds = CmpPred::ALL;
        let got: Vec<bool> = preds.iter().map(|&p| compare(p, &1.0, &2.0)).collect();
        assert_eq!(got, [false, true, true, true, false, false]);
        let nan: Vec<bool> = preds
            .iter()
            .map(|&p| compare(p, &f64::NAN, &f64::NAN))
            .collect();
        assert_eq!(nan, [false, true, false, false, false, false]);
        assert!(compare(CmpPred::Lt, &false, &true));
        assert!(compare(CmpPred::Ge, &-3i64, &-3i64));
    }
}
