//! Host memory for the interpreter: byte buffers addressed by
//! (buffer index, byte offset) pointers, with every access checked.
//!
//! Elements are little-endian; i1 takes one byte (0 or 1; any non-zero byte
//! reads as true). An access must lie inside its buffer and be aligned to
//! its element size; anything else is an error that names the lane, the
//! buffer, the byte offset and the buffer size, never a panic.

use crate::ir::ScalarType;
use crate::ir::numeric::{round_float, sext};

use super::error::{ErrorKind, Fail};
use super::value::{Elt, PtrVal, from_bits, to_bits};

/// One host buffer: its element type and its bytes (little-endian
/// elements; i1 as one byte 0/1).
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    /// The element type the buffer holds; a pointer argument into it must
    /// point to this type.
    pub elem: ScalarType,
    /// The raw bytes.
    pub data: Vec<u8>,
}

impl Buffer {
    /// A buffer of `len` zero elements.
    pub fn zeroed(elem: ScalarType, len: usize) -> Buffer {
        Buffer {
            elem,
            data: vec![0; len * elem.bytes()],
        }
    }

    /// A buffer holding `values` converted to `elem`: floats round to
    /// nearest even, integers truncate toward zero and wrap to the width,
    /// i1 is `!= 0`.
    pub fn from_f64s(elem: ScalarType, values: &[f64]) -> Buffer {
        Buffer::from_elts(
            elem,
            values.iter().map(|&x| {
                if elem.is_bool() {
                    Elt::Bool(x != 0.0)
                } else if elem.is_float() {
                    Elt::Float(round_float(x, elem))
                } else {
                    Elt::Int(sext(x as i64, elem.bits()))
                }
            }),
        )
    }

    /// A buffer holding `values` converted to `elem`: integers wrap to the
    /// width, floats round to nearest even, i1 is `!= 0`.
    pub fn from_i64s(elem: ScalarType, values: &[i64]) -> Buffer {
        Buffer::from_elts(
            elem,
            values.iter().map(|&x| {
                if elem.is_bool() {
                    Elt::Bool(x != 0)
                } else if elem.is_float() {
                    Elt::Float(round_float(x as f64, elem))
                } else {
                    Elt::Int(sext(x, elem.bits()))
                }
            }),
        )
    }

    /// A buffer of `elem` holding `elts` (each already of `elem`'s class and range).
    fn from_elts(elem: ScalarType, elts: impl ExactSizeIterator<Item = Elt>) -> Buffer {
        let mut b = Buffer::zeroed(elem, elts.len());
        for (i, e) in elts.enumerate() {
            b.put(i, e);
        }
        b
    }

    /// The number of whole elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.elem.bytes()
    }

    /// True when the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element as f64 (exact for all types but i64 beyond 2^53; i1 as 0/1).
    pub fn to_f64s(&self) -> Vec<f64> {
        (0..self.len())
            .map(|i| match self.elt(i) {
                Elt::Float(x) => x,
                Elt::Int(v) => v as f64,
                Elt::Bool(b) => f64::from(u8::from(b)),
                Elt::Ptr(_) => 0.0,
            })
            .collect()
    }

    /// Every element as i64 (floats truncate toward zero and saturate; i1 as 0/1).
    pub fn to_i64s(&self) -> Vec<i64> {
        (0..self.len())
            .map(|i| match self.elt(i) {
                Elt::Float(x) => x as i64,
                Elt::Int(v) => v,
                Elt::Bool(b) => i64::from(b),
                Elt::Ptr(_) => 0,
            })
            .collect()
    }

    fn elt(&self, i: usize) -> Elt {
        let n = self.elem.bytes();
        let mut raw = [0u8; 8];
        raw[..n].copy_from_slice(&self.data[i * n..(i + 1) * n]);
        from_bits(self.elem, u64::from_le_bytes(raw))
    }

    fn put(&mut self, i: usize, e: Elt) {
        let n = self.elem.bytes();
        let bits = to_bits(self.elem, e).unwrap_or(0);
        self.data[i * n..(i + 1) * n].copy_from_slice(&bits.to_le_bytes()[..n]);
    }
}

/// The buffers a kernel runs on; pointer arguments name them by index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Memory {
    /// The buffers, indexed by [`super::ArgValue::Ptr`]'s `buffer`.
    pub buffers: Vec<Buffer>,
}

impl Memory {
    /// Memory with no buffers.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Adds a buffer; returns its index.
    pub fn add(&mut self, buffer: Buffer) -> usize {
        self.buffers.push(buffer);
        self.buffers.len() - 1
    }

    /// The byte range an access of one `t` at `p` touches, checked.
    fn locate(&self, p: PtrVal, t: ScalarType, lane: usize) -> Result<(usize, usize), Fail> {
        let size = t.bytes();
        let Some(buf) = self.buffers.get(p.buffer) else {
            let which = if p == PtrVal::NULL {
                "a null pointer".to_string()
            } else {
                format!(
                    "buffer {}, which does not exist ({} buffers)",
                    p.buffer,
                    self.buffers.len()
                )
            };
            return Err(Fail::new(
                ErrorKind::OutOfBounds,
                format!(
                    "out-of-bounds access at lane {lane}: {which}, byte offset {}",
                    p.offset
                ),
            ));
        };
        let len = buf.data.len();
        let start = usize::try_from(p.offset).ok();
        let end = start.and_then(|s| s.checked_add(size));
        match (start, end) {
            (Some(s), Some(e)) if e <= len => {
                if s % size != 0 {
                    return Err(Fail::new(
                        ErrorKind::Misaligned,
                        format!(
                            "misaligned access at lane {lane}: buffer {}, byte offset {} is not a multiple of {size} ({t})",
                            p.buffer, p.offset
                        ),
                    ));
                }
                Ok((s, e))
            }
            _ => Err(Fail::new(
                ErrorKind::OutOfBounds,
                format!(
                    "out-of-bounds access at lane {lane}: buffer {}, byte offset {} ({size} bytes of {t}), buffer size {len} bytes",
                    p.buffer, p.offset
                ),
            )),
        }
    }

    /// Reads one `t` at `p`; `lane` is for the error message.
    pub(crate) fn read(&self, p: PtrVal, t: ScalarType, lane: usize) -> Result<Elt, Fail> {
        let (s, e) = self.locate(p, t, lane)?;
        let mut raw = [0u8; 8];
        raw[..e - s].copy_from_slice(&self.buffers[p.buffer].data[s..e]);
        Ok(from_bits(t, u64::from_le_bytes(raw)))
    }

    /// Writes one `t` at `p`; `lane` is for the error message.
    pub(crate) fn write(
        &mut self,
        p: PtrVal,
        t: ScalarType,
        v: Elt,
        lane: usize,
    ) -> Result<(), Fail> {
        let (s, e) = self.locate(p, t, lane)?;
        let bits = to_bits(t, v)?;
        self.buffers[p.buffer].data[s..e].copy_from_slice(&bits.to_le_bytes()[..e - s]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_and_bounds() {
        let mut m = Memory::new();
        let b = m.add(Buffer::from_f64s(ScalarType::I16, &[1.0, -2.0, 3.0]));
        let p = |offset| PtrVal { buffer: b, offset };
        assert_eq!(m.read(p(2), ScalarType::I16, 0).unwrap(), Elt::Int(-2));
        m.write(p(4), ScalarType::I16, Elt::Int(-300), 0).unwrap();
        assert_eq!(m.buffers[b].to_i64s(), [1, -2, -300]);
        let e = m.read(p(6), ScalarType::I16, 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfBounds);
        assert!(e.message.contains("lane 3"), "{}", e.message);
        assert!(e.message.contains("byte offset 6"), "{}", e.message);
        assert!(e.message.contains("buffer size 6 bytes"), "{}", e.message);
        let e = m.read(p(-2), ScalarType::I16, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfBounds);
        let e = m.read(p(1), ScalarType::I16, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Misaligned);
        let e = m
            .read(
                PtrVal {
                    buffer: 9,
                    offset: 0,
                },
                ScalarType::I16,
                1,
            )
            .unwrap_err();
        assert!(
            e.message.contains("buffer 9, which does not exist"),
            "{}",
            e.message
        );
    }
}
