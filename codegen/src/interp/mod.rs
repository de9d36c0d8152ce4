//! The CPU interpreter of tile IR: the reference semantics of the language.
//!
//! [`run`] executes a *specialized* kernel (no `tile.constexpr`, no symbolic
//! dimension, no const parameter: those are rejected with
//! [`ErrorKind::Unspecialized`]) over a grid on host [`Memory`]. Programs run
//! one after the other, z outermost, then y, then x, so a run is
//! deterministic; atomics are sequential in lane order. The semantics of
//! every op are those of the module doc of [`crate::ir::ops`]; this
//! interpreter is what the GPU backend must agree with.
//!
//! What it guarantees beyond the op table (the element arithmetic is
//! [`crate::ir::numeric`], shared with constant folding):
//! - Floats compute in f64 and round (to nearest even) to the result type
//!   after every op, so f16/bf16 rounding happens exactly where the IR
//!   casts, stores or computes in f16/bf16.
//! - Integer results are checked against their width: overflow, division by
//!   zero, shifts by the width or more, and narrowing casts that do not fit
//!   are errors (the "index overflow" of a kernel computing offsets in i32).
//! - Every unmasked memory lane is bounds- and alignment-checked; an error
//!   names the op, its source location, the program id, the lane, the
//!   buffer, the byte offset and the buffer size. Nothing panics on bad IR
//!   or bad arguments: operands of the wrong kind, type or count are
//!   [`ErrorKind::InvalidIr`] errors, and every op's results are checked
//!   against the types the IR declares.
//! - `tile.print` writes one line per op execution,
//!   `pid (x, y, z) <prefix><values>`, to stdout and to
//!   [`RunOutput::printed`]; a failing `tile.assert` is an
//!   [`ErrorKind::AssertFailed`] error with its message. A
//!   `tile.static_assert` is checked the same way when it runs: `specialize`
//!   only removes those on a constant, and the ones on a condition computed
//!   from bound constants survive until `canonicalize` folds them.
//!
//! Layout: `value.rs` (runtime values, bit encodings), `memory.rs` (buffers),
//! `exec/` (functions, regions, control flow, dispatch),
//! `elementwise.rs`, `shape.rs`, `memops.rs`, `reduce.rs`, `dot.rs`; the
//! tests are in `tests/`, one file per concern.

mod dot;
mod elementwise;
mod error;
mod exec;
mod memops;
mod memory;
mod reduce;
mod shape;
mod value;

#[cfg(test)]
mod tests;

use std::rc::Rc;

use crate::ir::numeric::fit;
use crate::ir::{FuncKind, Module, ScalarType, Type};

pub use error::{ErrorKind, InterpError};
pub use memory::{Buffer, Memory};

use value::{PtrVal, Tile, Value};

/// A kernel argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgValue {
    /// A pointer into `Memory::buffers[buffer]`, `byte_offset` bytes in,
    /// to elements of type `elem` (which must be the parameter's pointee
    /// and the buffer's element type).
    Ptr {
        /// Index of the buffer.
        buffer: usize,
        /// Byte offset into it.
        byte_offset: i64,
        /// The pointee type.
        elem: ScalarType,
    },
    /// A value for an integer parameter (i8..i64); must fit its width.
    Int(i64),
    /// A value for a float parameter; rounded to its type.
    Float(f64),
    /// A value for an i1 parameter.
    Bool(bool),
}

/// What a run produced besides memory writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOutput {
    /// The lines `tile.print` wrote, in order.
    pub printed: Vec<String>,
}

/// Runs kernel `kernel` of `module` over `grid` (x, y, z program counts)
/// with `args`, reading and writing `mem`.
///
/// Errors: an unknown kernel, a zero grid dimension, arguments that do not
/// match the parameters, an unspecialized kernel, and any failure while
/// running (out-of-bounds access, integer overflow, failing assert,
/// malformed IR), each naming what is wrong and where.
pub fn run(
    module: &Module,
    kernel: &str,
    grid: [u32; 3],
    args: &[ArgValue],
    mem: &mut Memory,
) -> Result<RunOutput, InterpError> {
    let Some(kidx) = module.funcs.iter().position(|f| f.name == kernel) else {
        let names: Vec<String> = module
            .funcs
            .iter()
            .map(|f| format!("@{}", f.name))
            .collect();
        return Err(InterpError::bare(
            ErrorKind::UnknownKernel,
            format!(
                "no kernel @{kernel} in the module (it has: {})",
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    };
    let func = &module.funcs[kidx];
    if func.kind != FuncKind::Kernel {
        return Err(InterpError::bare(
            ErrorKind::UnknownKernel,
            format!("@{kernel} is a device function, not a kernel"),
        ));
    }
    if let Some(axis) = grid.iter().position(|&g| g == 0) {
        return Err(InterpError::bare(
            ErrorKind::InvalidGrid,
            format!(
                "the grid {grid:?} has no programs along axis {} (every dimension must be at least 1)",
                ["x", "y", "z"][axis]
            ),
        ));
    }
    let mut interp = exec::Interp::new(module, mem, grid);
    interp.prepare(kidx)?;
    let argv = convert_args(module, kidx, args, interp.memory())?;
    for z in 0..grid[2] {
        for y in 0..grid[1] {
            for x in 0..grid[0] {
                interp.pid = [x, y, z];
                interp.call(kidx, argv.clone())?;
            }
        }
    }
    Ok(RunOutput {
        printed: interp.printed,
    })
}

/// Checks the arguments against the kernel's parameters and turns them
/// into values.
fn convert_args(
    module: &Module,
    kidx: usize,
    args: &[ArgValue],
    mem: &Memory,
) -> Result<Vec<Rc<Value>>, InterpError> {
    let func = &module.funcs[kidx];
    let params = func.params();
    let err = |message: String| {
        let mut e = InterpError::bare(ErrorKind::ArgMismatch, message);
        e.func = Some(func.name.clone());
        e.loc = Some(func.loc.clone());
        e
    };
    if params.len() != args.len() {
        return Err(err(format!(
            "the kernel takes {} arguments, got {}",
            params.len(),
            args.len()
        )));
    }
    let mut out = Vec::with_capacity(args.len());
    for (i, (&p, arg)) in params.iter().zip(args).enumerate() {
        let ty = func.body.ty(p);
        let name = match func.body.value(p).name.as_deref() {
            Some(n) => format!("parameter `{n}` (#{i}, {ty})"),
            None => format!("parameter #{i} ({ty})"),
        };
        let tile = match (ty, *arg) {
            (
                Type::Ptr(pointee, space),
                ArgValue::Ptr {
                    buffer,
                    byte_offset,
                    elem,
                },
            ) => {
                if elem != *pointee {
                    return Err(err(format!(
                        "{name}: expected a pointer to {pointee}, got a pointer to {elem}"
                    )));
                }
                let Some(b) = mem.buffers.get(buffer) else {
                    return Err(err(format!(
                        "{name}: buffer {buffer} does not exist ({} buffers)",
                        mem.buffers.len()
                    )));
                };
                if b.elem != elem {
                    return Err(err(format!(
                        "{name}: buffer {buffer} holds {}, not {elem}",
                        b.elem
                    )));
                }
                Tile::ptr(
                    *pointee,
                    *space,
                    PtrVal {
                        buffer,
                        offset: byte_offset,
                    },
                )
            }
            (Type::Scalar(ScalarType::I1), ArgValue::Bool(b)) => Tile::bool(b),
            (Type::Scalar(t), ArgValue::Int(v)) if t.is_int() && !t.is_bool() => {
                let v = fit(i128::from(v), *t)
                    .ok_or_else(|| err(format!("{name}: the integer {v} does not fit in {t}")))?;
                Tile::int(*t, v)
            }
            (Type::Scalar(t), ArgValue::Float(v)) if t.is_float() => Tile::float(*t, v),
            (Type::Tile(..) | Type::Desc(..), _) => {
                return Err(err(format!(
                    "{name}: kernel parameters must be scalars or pointers"
                )));
            }
            (_, a) => {
                let want = match ty {
                    Type::Ptr(..) => "a pointer (ArgValue::Ptr)",
                    Type::Scalar(ScalarType::I1) => "a boolean (ArgValue::Bool)",
                    Type::Scalar(t) if t.is_float() => "a float (ArgValue::Float)",
                    _ => "an integer (ArgValue::Int)",
                };
                return Err(err(format!("{name}: expected {want}, got {a:?}")));
            }
        };
        out.push(Rc::new(Value::Tile(tile)));
    }
    Ok(out)
}
