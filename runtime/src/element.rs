//! Element types a tensor can hold, and their byte encoding.

use half::{bf16, f16};
use tilefuse_codegen::ir::ScalarType;

/// A type that can be a tensor element: the IR scalar type it maps to and
/// its little-endian encoding (the layout the interpreter and GPUs use).
pub trait Element: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The IR scalar type.
    const DTYPE: ScalarType;
    /// Appends the little-endian bytes of `self`.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads a value from exactly `DTYPE.bytes()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! numeric_element {
    ($t:ty, $dtype:ident) => {
        impl Element for $t {
            const DTYPE: ScalarType = ScalarType::$dtype;
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_le_bytes(a)
            }
        }
    };
}

numeric_element!(i8, I8);
numeric_element!(i16, I16);
numeric_element!(i32, I32);
numeric_element!(i64, I64);
numeric_element!(f16, F16);
numeric_element!(bf16, BF16);
numeric_element!(f32, F32);
numeric_element!(f64, F64);

impl Element for bool {
    const DTYPE: ScalarType = ScalarType::I1;
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn read_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Element + PartialEq>(v: T) {
        let mut bytes = Vec::new();
        v.write_le(&mut bytes);
        assert_eq!(bytes.len(), T::DTYPE.bytes());
        assert_eq!(T::read_le(&bytes), v);
    }

    #[test]
    fn encodings_round_trip() {
        round_trip(-3i8);
        round_trip(-300i16);
        round_trip(123_456i32);
        round_trip(-1i64 << 40);
        round_trip(f16::from_f32(1.5));
        round_trip(bf16::from_f32(-2.25));
        round_trip(0.1f32);
        round_trip(0.1f64);
        round_trip(true);
    }
}
