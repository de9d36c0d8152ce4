//! IR types: scalars, pointers, tiles and tensor descriptors.
//!
//! A tile is an n-d block with a static shape whose dimensions are either a
//! constant or the name of a constexpr parameter (`tile<{BLOCK}x64xf16>`);
//! specialization replaces every symbolic dimension by its bound value.
//! Tile elements are scalars or pointers (a tile of pointers is how gathers
//! and per-element addressing are written).

use std::fmt;

/// A scalar element type. Integers are two's-complement and signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarType {
    /// Boolean.
    I1,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// IEEE single precision.
    F32,
    /// IEEE double precision.
    F64,
}

impl ScalarType {
    /// Every scalar type, in printing order.
    pub const ALL: [ScalarType; 9] = [
        ScalarType::I1,
        ScalarType::I8,
        ScalarType::I16,
        ScalarType::I32,
        ScalarType::I64,
        ScalarType::F16,
        ScalarType::BF16,
        ScalarType::F32,
        ScalarType::F64,
    ];

    /// The textual name (`f16`, `i32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::I1 => "i1",
            ScalarType::I8 => "i8",
            ScalarType::I16 => "i16",
            ScalarType::I32 => "i32",
            ScalarType::I64 => "i64",
            ScalarType::F16 => "f16",
            ScalarType::BF16 => "bf16",
            ScalarType::F32 => "f32",
            ScalarType::F64 => "f64",
        }
    }

    /// Parses a textual name.
    pub fn from_name(s: &str) -> Option<ScalarType> {
        ScalarType::ALL.into_iter().find(|t| t.name() == s)
    }

    /// True for f16, bf16, f32, f64.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            ScalarType::F16 | ScalarType::BF16 | ScalarType::F32 | ScalarType::F64
        )
    }

    /// True for i1..i64.
    pub fn is_int(self) -> bool {
        !self.is_float()
    }

    /// True for i1.
    pub fn is_bool(self) -> bool {
        self == ScalarType::I1
    }

    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            ScalarType::I1 => 1,
            ScalarType::I8 => 8,
            ScalarType::I16 | ScalarType::F16 | ScalarType::BF16 => 16,
            ScalarType::I32 | ScalarType::F32 => 32,
            ScalarType::I64 | ScalarType::F64 => 64,
        }
    }

    /// Size in bytes when stored in memory (i1 takes a byte).
    pub fn bytes(self) -> usize {
        (self.bits() as usize).div_ceil(8)
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The memory a pointer points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrSpace {
    /// Device global memory (kernel arguments point here).
    Global,
    /// Per-CTA shared memory.
    Shared,
}

impl AddrSpace {
    /// The textual name.
    pub fn name(self) -> &'static str {
        match self {
            AddrSpace::Global => "global",
            AddrSpace::Shared => "shared",
        }
    }

    /// Parses a textual name.
    pub fn from_name(s: &str) -> Option<AddrSpace> {
        match s {
            "global" => Some(AddrSpace::Global),
            "shared" => Some(AddrSpace::Shared),
            _ => None,
        }
    }
}

/// One dimension of a tile shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A known extent.
    Const(u64),
    /// The value of a constexpr parameter, bound at specialization.
    Sym(String),
}

impl Dim {
    /// The constant extent, if known.
    pub fn as_const(&self) -> Option<u64> {
        match self {
            Dim::Const(n) => Some(*n),
            Dim::Sym(_) => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Const(n) => write!(f, "{n}"),
            Dim::Sym(s) => write!(f, "{{{s}}}"),
        }
    }
}

/// The element of a tile: a scalar or a pointer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    /// A number or boolean.
    Scalar(ScalarType),
    /// A pointer to `elem` in `space`.
    Ptr(ScalarType, AddrSpace),
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElemType::Scalar(s) => write!(f, "{s}"),
            ElemType::Ptr(s, a) => write!(f, "ptr<{s}, {}>", a.name()),
        }
    }
}

/// The type of an SSA value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// A single scalar.
    Scalar(ScalarType),
    /// A single pointer.
    Ptr(ScalarType, AddrSpace),
    /// An n-d block of elements (n >= 1).
    Tile(Vec<Dim>, ElemType),
    /// A tensor descriptor: a strided n-d view of global memory read and
    /// written in blocks of `block` (out-of-bounds parts read as zero and are
    /// not written).
    Desc(ScalarType, Vec<Dim>),
}

impl Type {
    /// Shorthand for a scalar type.
    pub fn scalar(s: ScalarType) -> Type {
        Type::Scalar(s)
    }

    /// Shorthand for a global pointer.
    pub fn ptr(s: ScalarType) -> Type {
        Type::Ptr(s, AddrSpace::Global)
    }

    /// A tile of the given element (scalar or pointer) type.
    pub fn tile(shape: Vec<Dim>, elem: ElemType) -> Type {
        Type::Tile(shape, elem)
    }

    /// The element type of a scalar, pointer or tile (None for descriptors).
    pub fn elem(&self) -> Option<ElemType> {
        match self {
            Type::Scalar(s) => Some(ElemType::Scalar(*s)),
            Type::Ptr(s, a) => Some(ElemType::Ptr(*s, *a)),
            Type::Tile(_, e) => Some(e.clone()),
            Type::Desc(..) => None,
        }
    }

    /// The scalar element type of a scalar or tile of scalars.
    pub fn scalar_elem(&self) -> Option<ScalarType> {
        match self.elem()? {
            ElemType::Scalar(s) => Some(s),
            ElemType::Ptr(..) => None,
        }
    }

    /// The pointee of a pointer or tile of pointers.
    pub fn pointee(&self) -> Option<(ScalarType, AddrSpace)> {
        match self.elem()? {
            ElemType::Ptr(s, a) => Some((s, a)),
            ElemType::Scalar(_) => None,
        }
    }

    /// The tile shape, or an empty slice for scalars and pointers.
    pub fn shape(&self) -> &[Dim] {
        match self {
            Type::Tile(s, _) => s,
            _ => &[],
        }
    }

    /// True for tiles.
    pub fn is_tile(&self) -> bool {
        matches!(self, Type::Tile(..))
    }

    /// A type with the same shape (tile or not) and another element type.
    pub fn with_elem(&self, elem: ElemType) -> Type {
        match self {
            Type::Tile(shape, _) => Type::Tile(shape.clone(), elem),
            _ => match elem {
                ElemType::Scalar(s) => Type::Scalar(s),
                ElemType::Ptr(s, a) => Type::Ptr(s, a),
            },
        }
    }

    /// The constant shape, if every dimension is known.
    pub fn const_shape(&self) -> Option<Vec<u64>> {
        self.shape().iter().map(Dim::as_const).collect()
    }

    /// The number of elements if the shape is constant (1 for scalars).
    pub fn num_elements(&self) -> Option<u64> {
        Some(self.const_shape()?.iter().product())
    }
}

impl From<ScalarType> for Type {
    fn from(s: ScalarType) -> Type {
        Type::Scalar(s)
    }
}

fn write_shape(f: &mut fmt::Formatter<'_>, shape: &[Dim]) -> fmt::Result {
    for d in shape {
        write!(f, "{d}x")?;
    }
    Ok(())
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Scalar(s) => write!(f, "{s}"),
            Type::Ptr(s, a) => write!(f, "ptr<{s}, {}>", a.name()),
            Type::Tile(shape, e) => {
                f.write_str("tile<")?;
                write_shape(f, shape)?;
                write!(f, "{e}>")
            }
            Type::Desc(s, block) => {
                f.write_str("desc<")?;
                write_shape(f, block)?;
                write!(f, "{s}>")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_types() {
        let t = Type::Tile(
            vec![Dim::Sym("BLOCK".into()), Dim::Const(64)],
            ElemType::Scalar(ScalarType::F16),
        );
        assert_eq!(t.to_string(), "tile<{BLOCK}x64xf16>");
        let p = Type::Tile(
            vec![Dim::Const(128)],
            ElemType::Ptr(ScalarType::F32, AddrSpace::Global),
        );
        assert_eq!(p.to_string(), "tile<128xptr<f32, global>>");
        assert_eq!(Type::ptr(ScalarType::BF16).to_string(), "ptr<bf16, global>");
        let d = Type::Desc(ScalarType::F16, vec![Dim::Const(64), Dim::Const(32)]);
        assert_eq!(d.to_string(), "desc<64x32xf16>");
    }
}
