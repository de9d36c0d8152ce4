//! Runtime values: scalars, pointers and tiles as flat row-major vectors,
//! and tensor descriptors; the resolved (constant-shape) types they are
//! checked against; float rounding, integer ranges and bit encodings.
//!
//! A scalar is a tile of rank 0 (one element, empty shape), so every
//! elementwise routine treats scalars and tiles alike. Storage follows the
//! element type: `bool` for i1; `i64` for i8..i64, sign-extended and always
//! inside the type's range; `f64` for the floats, always exactly
//! representable in the type (every op rounds its result); and
//! (buffer, byte offset) for pointers. Every value carries its element
//! type, and the interpreter checks each op's results against the types the
//! IR declares, so a value in the environment always matches its type.

use std::fmt::{self, Write};

use crate::ir::{AddrSpace, Dim, ElemType, ScalarType, Type};

use super::error::{ErrorKind, Fail};

/// The most elements a tile may have in the interpreter (2^24).
pub(crate) const MAX_ELEMENTS: usize = 1 << 24;

/// A pointer: a buffer of the [`super::Memory`] and a byte offset into it.
/// The offset may be anywhere; only an access checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PtrVal {
    /// Index into `Memory::buffers`.
    pub buffer: usize,
    /// Byte offset, possibly negative or past the end.
    pub offset: i64,
}

impl PtrVal {
    /// The pointer a masked-off lane yields: no buffer.
    pub const NULL: PtrVal = PtrVal {
        buffer: usize::MAX,
        offset: 0,
    };
}

/// One element, for the generic (non-hot) paths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Elt {
    Bool(bool),
    Int(i64),
    Float(f64),
    Ptr(PtrVal),
}

/// The elements of a tile, stored by element class.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Ptr(Vec<PtrVal>),
}

impl Data {
    /// An empty vector of the class of `elem`, with room for `n`.
    pub fn with_capacity(elem: &ElemType, n: usize) -> Data {
        match elem {
            ElemType::Ptr(..) => Data::Ptr(Vec::with_capacity(n)),
            ElemType::Scalar(ScalarType::I1) => Data::Bool(Vec::with_capacity(n)),
            ElemType::Scalar(s) if s.is_float() => Data::Float(Vec::with_capacity(n)),
            ElemType::Scalar(_) => Data::Int(Vec::with_capacity(n)),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::Bool(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Ptr(v) => v.len(),
        }
    }

    /// Element `i` (callers keep `i` in range).
    pub fn get(&self, i: usize) -> Elt {
        match self {
            Data::Bool(v) => Elt::Bool(v[i]),
            Data::Int(v) => Elt::Int(v[i]),
            Data::Float(v) => Elt::Float(v[i]),
            Data::Ptr(v) => Elt::Ptr(v[i]),
        }
    }

    /// Appends an element of this vector's class.
    pub fn push(&mut self, e: Elt) -> Result<(), Fail> {
        match (self, e) {
            (Data::Bool(v), Elt::Bool(x)) => v.push(x),
            (Data::Int(v), Elt::Int(x)) => v.push(x),
            (Data::Float(v), Elt::Float(x)) => v.push(x),
            (Data::Ptr(v), Elt::Ptr(x)) => v.push(x),
            (d, e) => {
                return Err(Fail::ir(format!(
                    "internal: element {e:?} does not belong in a {} vector",
                    d.class_name()
                )));
            }
        }
        Ok(())
    }

    /// The elements at `idx`, in that order (callers keep indices in range).
    pub fn gather(&self, idx: &[usize]) -> Data {
        fn g<T: Copy>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i]).collect()
        }
        match self {
            Data::Bool(v) => Data::Bool(g(v, idx)),
            Data::Int(v) => Data::Int(g(v, idx)),
            Data::Float(v) => Data::Float(g(v, idx)),
            Data::Ptr(v) => Data::Ptr(g(v, idx)),
        }
    }

    fn class_name(&self) -> &'static str {
        match self {
            Data::Bool(_) => "bool",
            Data::Int(_) => "integer",
            Data::Float(_) => "float",
            Data::Ptr(_) => "pointer",
        }
    }
}

/// A scalar (rank 0) or a tile: element type, shape, row-major elements.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tile {
    pub elem: ElemType,
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Tile {
    /// A tile from parts; checks that the data matches the shape and element class.
    pub fn new(elem: ElemType, shape: Vec<usize>, data: Data) -> Result<Tile, Fail> {
        let n: usize = shape.iter().product();
        let class_ok = matches!(
            (&elem, &data),
            (ElemType::Ptr(..), Data::Ptr(_)) | (ElemType::Scalar(ScalarType::I1), Data::Bool(_))
        ) || matches!((&elem, &data), (ElemType::Scalar(s), Data::Float(_)) if s.is_float())
            || matches!((&elem, &data), (ElemType::Scalar(s), Data::Int(_)) if s.is_int() && !s.is_bool());
        if n != data.len() || !class_ok {
            return Err(Fail::ir(format!(
                "internal: {} elements of class {} for shape {shape:?} of {elem}",
                data.len(),
                data.class_name()
            )));
        }
        Ok(Tile { elem, shape, data })
    }

    /// A scalar integer of type `t` (the value must be in range).
    pub fn int(t: ScalarType, v: i64) -> Tile {
        Tile {
            elem: ElemType::Scalar(t),
            shape: vec![],
            data: Data::Int(vec![v]),
        }
    }

    /// A scalar boolean.
    pub fn bool(v: bool) -> Tile {
        Tile {
            elem: ElemType::Scalar(ScalarType::I1),
            shape: vec![],
            data: Data::Bool(vec![v]),
        }
    }

    /// A scalar float of type `t`, rounded to it.
    pub fn float(t: ScalarType, v: f64) -> Tile {
        Tile {
            elem: ElemType::Scalar(t),
            shape: vec![],
            data: Data::Float(vec![round_float(v, t)]),
        }
    }

    /// A scalar pointer.
    pub fn ptr(pointee: ScalarType, space: AddrSpace, p: PtrVal) -> Tile {
        Tile {
            elem: ElemType::Ptr(pointee, space),
            shape: vec![],
            data: Data::Ptr(vec![p]),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The rank (0 for scalars).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The scalar element type, or an error naming `what` for pointer tiles.
    pub fn scalar_type(&self, what: &str) -> Result<ScalarType, Fail> {
        match self.elem {
            ElemType::Scalar(s) => Ok(s),
            ElemType::Ptr(..) => Err(Fail::ir(format!(
                "{what} must be numbers or booleans, got {}",
                self.type_string()
            ))),
        }
    }

    /// The IR spelling of this value's type.
    pub fn type_string(&self) -> String {
        type_string(&self.elem, &self.shape)
    }

    /// The one integer of an integer scalar.
    pub fn as_int_scalar(&self, what: &str) -> Result<i64, Fail> {
        match (&self.data, self.rank()) {
            (Data::Int(v), 0) => Ok(v[0]),
            _ => Err(Fail::ir(format!(
                "{what} must be an integer scalar, got {}",
                self.type_string()
            ))),
        }
    }

    /// The one boolean of an i1 scalar.
    pub fn as_bool_scalar(&self, what: &str) -> Result<bool, Fail> {
        match (&self.data, self.rank()) {
            (Data::Bool(v), 0) => Ok(v[0]),
            _ => Err(Fail::ir(format!(
                "{what} must be an i1 scalar, got {}",
                self.type_string()
            ))),
        }
    }
}

/// A tensor descriptor: a strided n-d view of memory, read and written in
/// blocks of `block`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Desc {
    pub elem: ScalarType,
    pub base: PtrVal,
    pub shape: Vec<i64>,
    pub strides: Vec<i64>,
    pub block: Vec<usize>,
}

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Tile(Tile),
    Desc(Desc),
}

impl Value {
    /// The tile, or an error naming `what` for descriptors.
    pub fn tile(&self, what: &str) -> Result<&Tile, Fail> {
        match self {
            Value::Tile(t) => Ok(t),
            Value::Desc(d) => Err(Fail::ir(format!(
                "{what} must be a scalar, pointer or tile, got a descriptor desc<{}>",
                shape_prefix(&d.block) + d.elem.name()
            ))),
        }
    }

    /// The descriptor, or an error naming `what`.
    pub fn desc(&self, what: &str) -> Result<&Desc, Fail> {
        match self {
            Value::Desc(d) => Ok(d),
            Value::Tile(t) => Err(Fail::ir(format!(
                "{what} must be a descriptor, got {}",
                t.type_string()
            ))),
        }
    }

    /// The IR spelling of this value's type.
    pub fn type_string(&self) -> String {
        match self {
            Value::Tile(t) => t.type_string(),
            Value::Desc(d) => format!("desc<{}{}>", shape_prefix(&d.block), d.elem),
        }
    }

    /// True when the value has the resolved type `ty`.
    pub fn conforms(&self, ty: &RType) -> bool {
        match (self, ty) {
            (Value::Tile(t), RType::Val { elem, shape }) => t.elem == *elem && t.shape == *shape,
            (Value::Desc(d), RType::Desc { elem, block }) => d.elem == *elem && d.block == *block,
            _ => false,
        }
    }
}

/// A type with every dimension known: what a value is checked against.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RType {
    /// A scalar or pointer (empty shape) or a tile.
    Val { elem: ElemType, shape: Vec<usize> },
    /// A descriptor with its block shape.
    Desc { elem: ScalarType, block: Vec<usize> },
}

impl RType {
    /// Resolves an IR type; an error names a symbolic dimension
    /// ([`ErrorKind::Unspecialized`]) or a bad shape.
    pub fn from_type(ty: &Type) -> Result<RType, Fail> {
        let dims = |dims: &[Dim]| -> Result<Vec<usize>, Fail> {
            if dims.is_empty() {
                return Err(Fail::ir(format!("{ty} has no dimensions")));
            }
            let mut out = Vec::with_capacity(dims.len());
            let mut total: usize = 1;
            for d in dims {
                let n = match d {
                    Dim::Const(n) => *n,
                    Dim::Sym(s) => {
                        return Err(Fail::new(
                            ErrorKind::Unspecialized,
                            format!(
                                "{ty} has the symbolic dimension `{s}`: constexpr `{s}` is not bound (run the specialize pass first)"
                            ),
                        ));
                    }
                };
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n == 0 {
                    return Err(Fail::ir(format!("{ty} has a zero dimension")));
                }
                total = total.saturating_mul(n);
                if total > MAX_ELEMENTS {
                    return Err(Fail::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{ty} has more than {MAX_ELEMENTS} elements, beyond the interpreter's limit"
                        ),
                    ));
                }
                out.push(n);
            }
            Ok(out)
        };
        Ok(match ty {
            Type::Scalar(s) => RType::Val {
                elem: ElemType::Scalar(*s),
                shape: vec![],
            },
            Type::Ptr(s, a) => RType::Val {
                elem: ElemType::Ptr(*s, *a),
                shape: vec![],
            },
            Type::Tile(d, e) => RType::Val {
                elem: e.clone(),
                shape: dims(d)?,
            },
            Type::Desc(s, d) => RType::Desc {
                elem: *s,
                block: dims(d)?,
            },
        })
    }

    /// The element and shape of a non-descriptor type.
    pub fn val(&self) -> Result<(&ElemType, &[usize]), Fail> {
        match self {
            RType::Val { elem, shape } => Ok((elem, shape)),
            RType::Desc { .. } => Err(Fail::ir(format!(
                "the result type {self} must be a scalar, pointer or tile"
            ))),
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RType::Val { elem, shape } => f.write_str(&type_string(elem, shape)),
            RType::Desc { elem, block } => write!(f, "desc<{}{elem}>", shape_prefix(block)),
        }
    }
}

fn shape_prefix(shape: &[usize]) -> String {
    let mut s = String::new();
    for d in shape {
        let _ = write!(s, "{d}x");
    }
    s
}

/// The IR spelling of a scalar/pointer/tile type.
pub(crate) fn type_string(elem: &ElemType, shape: &[usize]) -> String {
    if shape.is_empty() {
        elem.to_string()
    } else {
        format!("tile<{}{elem}>", shape_prefix(shape))
    }
}

/// 2^k for k in the normal range of f64.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023).clamp(1, 2046) as u64) << 52)
}

/// Rounds `x` to nearest-even in a binary format with `p` significant bits,
/// minimum normal exponent `emin` and maximum exponent `emax`; overflow
/// gives infinity, tiny values become subnormals or a signed zero.
fn round_binary(x: f64, p: i32, emin: i32, emax: i32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // An f64 subnormal is far below the smallest subnormal of the formats used here.
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

/// Rounds an f64 to the nearest value of float type `t` (ties to even),
/// returned as f64. Integers and f64 pass through.
///
/// `half`'s `from_f64` is not used here: it is not correctly rounded (its
/// software path drops the low 32 mantissa bits before rounding, its f16c
/// path goes through f32), so this does the rounding itself and `half` only
/// encodes values that are already exact.
pub(crate) fn round_float(x: f64, t: ScalarType) -> f64 {
    match t {
        ScalarType::F16 => round_binary(x, 11, -14, 15),
        ScalarType::BF16 => round_binary(x, 8, -126, 127),
        ScalarType::F32 => x as f32 as f64,
        _ => x,
    }
}

/// The range of an integer type (i1: 0..=1).
pub(crate) fn int_bounds(t: ScalarType) -> (i64, i64) {
    match t {
        ScalarType::I1 => (0, 1),
        ScalarType::I8 => (i8::MIN.into(), i8::MAX.into()),
        ScalarType::I16 => (i16::MIN.into(), i16::MAX.into()),
        ScalarType::I32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

/// `x` if it fits integer type `t`.
pub(crate) fn fit(x: i128, t: ScalarType) -> Option<i64> {
    let (lo, hi) = int_bounds(t);
    (x >= i128::from(lo) && x <= i128::from(hi)).then_some(x as i64)
}

/// Sign-extends the low `bits` bits of `v`.
pub(crate) fn sext(v: i64, bits: u32) -> i64 {
    if bits >= 64 {
        v
    } else {
        let s = 64 - bits;
        (v << s) >> s
    }
}

/// The bit pattern of an element of type `t` (in the low bits).
pub(crate) fn to_bits(t: ScalarType, e: Elt) -> Result<u64, Fail> {
    Ok(match (t, e) {
        (ScalarType::I1, Elt::Bool(b)) => u64::from(b),
        (ScalarType::I1, _) | (_, Elt::Bool(_)) | (_, Elt::Ptr(_)) => {
            return Err(Fail::ir(format!("internal: {e:?} is not a {t} element")));
        }
        (_, Elt::Int(v)) if t.is_int() => (v as u64) & mask(t.bits()),
        (ScalarType::F16, Elt::Float(x)) => u64::from(half::f16::from_f64(x).to_bits()),
        (ScalarType::BF16, Elt::Float(x)) => u64::from(half::bf16::from_f64(x).to_bits()),
        (ScalarType::F32, Elt::Float(x)) => u64::from((x as f32).to_bits()),
        (ScalarType::F64, Elt::Float(x)) => x.to_bits(),
        _ => return Err(Fail::ir(format!("internal: {e:?} is not a {t} element"))),
    })
}

/// The element of type `t` with bit pattern `bits` (low bits used).
pub(crate) fn from_bits(t: ScalarType, bits: u64) -> Elt {
    match t {
        ScalarType::I1 => Elt::Bool(bits != 0),
        ScalarType::F16 => Elt::Float(half::f16::from_bits(bits as u16).to_f64()),
        ScalarType::BF16 => Elt::Float(half::bf16::from_bits(bits as u16).to_f64()),
        ScalarType::F32 => Elt::Float(f64::from(f32::from_bits(bits as u32))),
        ScalarType::F64 => Elt::Float(f64::from_bits(bits)),
        _ => Elt::Int(sext(bits as i64, t.bits())),
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Formats one element the way its type prints it (f16 as f16, ...).
pub(crate) fn format_elt(elem: &ElemType, e: Elt) -> String {
    match (elem, e) {
        (ElemType::Scalar(ScalarType::F16), Elt::Float(x)) => half::f16::from_f64(x).to_string(),
        (ElemType::Scalar(ScalarType::BF16), Elt::Float(x)) => half::bf16::from_f64(x).to_string(),
        (ElemType::Scalar(ScalarType::F32), Elt::Float(x)) => (x as f32).to_string(),
        (_, Elt::Float(x)) => x.to_string(),
        (_, Elt::Int(v)) => v.to_string(),
        (_, Elt::Bool(b)) => b.to_string(),
        (_, Elt::Ptr(p)) if p == PtrVal::NULL => "null".to_string(),
        (_, Elt::Ptr(p)) => format!("buffer{}+{}", p.buffer, p.offset),
    }
}

/// Formats a value: a scalar as itself, a tile as nested `[..]` lists.
pub(crate) fn format_value(v: &Value) -> String {
    match v {
        Value::Tile(t) => {
            let mut out = String::new();
            format_nested(t, 0, 0, &mut out);
            out
        }
        Value::Desc(d) => format!(
            "desc(base = {}, shape = {:?}, strides = {:?}, block = {:?})",
            format_elt(&ElemType::Ptr(d.elem, AddrSpace::Global), Elt::Ptr(d.base)),
            d.shape,
            d.strides,
            d.block
        ),
    }
}

fn format_nested(t: &Tile, dim: usize, start: usize, out: &mut String) {
    if dim == t.rank() {
        out.push_str(&format_elt(&t.elem, t.data.get(start)));
        return;
    }
    let inner: usize = t.shape[dim + 1..].iter().product();
    out.push('[');
    for i in 0..t.shape[dim] {
        if i > 0 {
            out.push_str(", ");
        }
        format_nested(t, dim + 1, start + i * inner, out);
    }
    out.push(']');
}

/// Row-major strides of a shape.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// For each position of `out_shape` in row-major order, the flat index
/// `sum_d idx[d] * st[d]` into a source (strides of 0 broadcast).
pub(crate) fn strided_indices(out_shape: &[usize], st: &[usize]) -> Vec<usize> {
    let n: usize = out_shape.iter().product();
    let r = out_shape.len();
    let mut idx = vec![0usize; r];
    let mut off = 0usize;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(off);
        let mut d = r;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += st[d];
            if idx[d] < out_shape[d] {
                break;
            }
            off -= st[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    #[test]
    fn f16_rounding_matches_half_on_f32_inputs() {
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..100_000 {
            let x: f32 = f32::from_bits(rng.random());
            if x.is_nan() {
                continue;
            }
            let want = half::f16::from_f32(x).to_f64();
            assert_eq!(round_float(f64::from(x), ScalarType::F16), want, "{x:e}");
            let want = half::bf16::from_f32(x).to_f64();
            assert_eq!(round_float(f64::from(x), ScalarType::BF16), want, "{x:e}");
        }
    }

    #[test]
    fn rounding_keeps_sticky_bits_and_ties_to_even() {
        // Just above the tie between 1 and 1 + 2^-10: rounds up.
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(round_float(x, ScalarType::F16), 1.0 + 2f64.powi(-10));
        // Exactly the tie: to even (1.0).
        assert_eq!(round_float(1.0 + 2f64.powi(-11), ScalarType::F16), 1.0);
        assert_eq!(round_float(65519.0, ScalarType::F16), 65504.0);
        assert_eq!(round_float(65520.0, ScalarType::F16), f64::INFINITY);
        assert_eq!(
            round_float(-1e-9, ScalarType::F16).to_bits(),
            (-0.0f64).to_bits()
        );
        // Smallest f16 subnormal is 2^-24; half of it ties to zero, a bit more rounds up.
        assert_eq!(round_float(2f64.powi(-25), ScalarType::F16), 0.0);
        assert_eq!(
            round_float(2f64.powi(-25) * 1.0001, ScalarType::F16),
            2f64.powi(-24)
        );
        assert_eq!(round_float(1.0 + 2f64.powi(-8), ScalarType::BF16), 1.0);
        assert_eq!(
            round_float(1.0 + 2f64.powi(-8) + 2f64.powi(-30), ScalarType::BF16),
            1.0 + 2f64.powi(-7)
        );
        assert!(round_float(f64::NAN, ScalarType::BF16).is_nan());
    }

    #[test]
    fn bits_round_trip() {
        for t in ScalarType::ALL {
            let e = if t.is_bool() {
                Elt::Bool(true)
            } else if t.is_float() {
                Elt::Float(round_float(-1.375, t))
            } else {
                Elt::Int(-5)
            };
            let b = to_bits(t, e).unwrap();
            assert_eq!(from_bits(t, b), e, "{t}");
        }
        assert_eq!(to_bits(ScalarType::I8, Elt::Int(-1)).unwrap(), 0xff);
        assert_eq!(from_bits(ScalarType::I16, 0x8000), Elt::Int(-32768));
    }

    #[test]
    fn strided_indices_transpose() {
        // A 2x3 source read as its 3x2 transpose.
        let idx = strided_indices(&[3, 2], &[1, 3]);
        assert_eq!(idx, [0, 3, 1, 4, 2, 5]);
        assert_eq!(strides(&[2, 3, 4]), [12, 4, 1]);
    }
}
