//! Errors of the interpreter.
//!
//! Every failure is an [`InterpError`]: what went wrong ([`ErrorKind`], for
//! callers that branch on it), a message with the details (lane, buffer,
//! offsets, values), and where: the op's printed name, its source location,
//! the function and the program id. Op implementations return the lighter
//! [`Fail`] (kind and message only); the dispatcher adds the context.

use std::fmt;

use crate::ir::{Location, OpKind};

/// What kind of failure an [`InterpError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The kernel is not in the module, or is a device function.
    UnknownKernel,
    /// The launch grid has a zero dimension.
    InvalidGrid,
    /// An argument does not match its kernel parameter.
    ArgMismatch,
    /// The kernel still has compile-time parameters: a `tile.constexpr`, a
    /// symbolic dimension or an unbound const parameter.
    Unspecialized,
    /// An unmasked memory access outside its buffer (or into no buffer).
    OutOfBounds,
    /// A memory access not aligned to the size of its element.
    Misaligned,
    /// An integer result (or a pointer offset) outside its type's range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    DivisionByZero,
    /// A shift by a negative amount or by the width or more.
    ShiftOutOfRange,
    /// A `tile.assert` (or a `tile.static_assert` left for runtime) failed.
    AssertFailed,
    /// The IR is malformed: operands of the wrong kind, count or type,
    /// a missing or bad attribute, an unknown callee, a missing terminator.
    InvalidIr,
    /// Well-formed, but beyond what the interpreter runs (a tile too
    /// large, calls nested too deeply).
    Unsupported,
}

/// A failure while running a kernel, with the op, location and program
/// where it happened (when it happened inside an op).
#[derive(Clone, Debug, PartialEq)]
pub struct InterpError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The details: values, lane, buffer, offsets.
    pub message: String,
    /// The op (it prints as `tile.load`), when the failure is in an op.
    pub op: Option<OpKind>,
    /// The op's source location.
    pub loc: Option<Location>,
    /// The function the op is in.
    pub func: Option<String>,
    /// The program id `(x, y, z)` that was running.
    pub program: Option<[u32; 3]>,
}

impl InterpError {
    /// An error outside any op (arguments, grid, kernel lookup).
    pub(crate) fn bare(kind: ErrorKind, message: String) -> InterpError {
        InterpError {
            kind,
            message,
            op: None,
            loc: None,
            func: None,
            program: None,
        }
    }
}

impl fmt::Display for InterpError {
    /// `file:line:col: tile.load in @kernel, program (x, y, z): message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        let mut wrote = false;
        if let Some(op) = &self.op {
            write!(f, "{op}")?;
            wrote = true;
        }
        if let Some(func) = &self.func {
            if wrote {
                f.write_str(" in ")?;
            }
            write!(f, "@{func}")?;
            wrote = true;
        }
        if let Some([x, y, z]) = self.program {
            if wrote {
                f.write_str(", ")?;
            }
            write!(f, "program ({x}, {y}, {z})")?;
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InterpError {}

/// A failure inside an op, before the dispatcher adds the op's context.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fail {
    pub kind: ErrorKind,
    pub message: String,
}

impl Fail {
    /// A failure of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Fail {
        Fail {
            kind,
            message: message.into(),
        }
    }

    /// Malformed IR.
    pub fn ir(message: impl Into<String>) -> Fail {
        Fail::new(ErrorKind::InvalidIr, message)
    }
}

/// `" at lane N"` for tiles, nothing for scalars.
pub(crate) fn at_lane(rank: usize, lane: usize) -> String {
    if rank == 0 {
        String::new()
    } else {
        format!(" at lane {lane}")
    }
}
