//! Runtime values: scalars, pointers and tiles as flat row-major vectors,
//! and tensor descriptors; the resolved (constant-shape) types they are
//! checked against; bit encodings and printing of elements. Rounding and
//! integer ranges are the IR's shared numeric semantics,
//! [`crate::ir::numeric`].
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

use crate::ir::numeric::{round_float, sext};
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

    /// Element `i` repeated `n` times (callers keep `i` in range).
    pub fn repeat(&self, i: usize, n: usize) -> Data {
        match self {
            Data::Bool(v) => Data::Bool(vec![v[i]; n]),
            Data::Int(v) => Data::Int(vec![v[i]; n]),
            Data::Float(v) => Data::Float(vec![v[i]; n]),
            Data::Ptr(v) => Data::Ptr(vec![v[i]; n]),
        }
    }

    /// The elements read at `out_shape` with element strides `st` (0
    /// broadcasts): what [`Data::gather`] of [`strided_indices`] gives, but
    /// a whole innermost row at a time (copied when its stride is 1,
    /// repeated when it is 0) instead of an index per element.
    pub fn strided(&self, out_shape: &[usize], st: &[usize]) -> Data {
        fn s<T: Copy>(v: &[T], out_shape: &[usize], st: &[usize]) -> Vec<T> {
            let Some((&inner, outer)) = out_shape.split_last() else {
                return vec![v[0]];
            };
            let ist = st[outer.len()];
            let mut out = Vec::with_capacity(inner * outer.iter().product::<usize>());
            for off in strided_indices(outer, &st[..outer.len()]) {
                match ist {
                    0 => out.extend(std::iter::repeat_n(v[off], inner)),
                    1 => out.extend_from_slice(&v[off..off + inner]),
                    _ => out.extend((0..inner).map(|i| v[off + i * ist])),
                }
            }
            out
        }
        match self {
            Data::Bool(v) => Data::Bool(s(v, out_shape, st)),
            Data::Int(v) => Data::Int(s(v, out_shape, st)),
            Data::Float(v) => Data::Float(s(v, out_shape, st)),
            Data::Ptr(v) => Data::Ptr(s(v, out_shape, st)),
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

    #[test]
    fn strided_matches_gather_of_strided_indices() {
        let d = Data::Int((0..24).collect());
        let cases: [(&[usize], &[usize]); 6] = [
            (&[], &[]),
            (&[5], &[0]),
            (&[3, 2], &[1, 3]),
            (&[2, 3, 4], &[12, 4, 1]),
            (&[2, 4, 3], &[0, 1, 4]),
            (&[4, 2, 3], &[3, 0, 1]),
        ];
        for (shape, st) in cases {
            assert_eq!(
                d.strided(shape, st),
                d.gather(&strided_indices(shape, st)),
                "{shape:?} {st:?}"
            );
        }
        assert_eq!(d.repeat(3, 4), Data::Int(vec![3; 4]));
    }
}
