//! The tile-gpu dialect: tile IR whose tile values carry layouts.
//!
//! - [`encoding`]: the layouts' printable encodings (`blocked`, `slice`) and
//!   their linear layouts.
//! - [`plan`]: a layout unpacked for code generation; register-only remaps.
//! - [`table`]: where layouts live in the IR (the `layout` attributes).
//! - [`assign`] (`convert-to-gpu`): infers a layout for every tile value and
//!   inserts `tile.convert_layout` where an op needs another one.
//! - [`coalesce`]: contiguity analysis of addresses and the layout each
//!   memory access would rather have (used by `convert-to-gpu`).
//! - [`remove_conversions`] (`remove-layout-conversions`): drops the
//!   conversions that move no data or that cheap recomputation avoids.
//! - [`shared_memory`] (`allocate-shared-memory`): how much shared memory
//!   each op needs, and the kernel's total.
//! - [`barriers`] (`insert-barriers`): `tile.barrier` between users of
//!   shared memory where an earlier access may still be in flight.
//! - [`pipeline`]: the passes in order, per architecture, in one function.

pub mod accelerate_dot;
pub mod assign;
pub mod barriers;
pub mod coalesce;
pub mod encoding;
pub mod pipeline;
pub mod plan;
pub mod remove_conversions;
pub mod shared_memory;
pub mod swizzle;
pub mod table;

#[cfg(test)]
mod tests;

pub use encoding::{Blocked, Encoding};
pub use table::LayoutTable;

/// The PTX comment line (followed by a byte count) that tells the runtime how
/// much dynamic shared memory a kernel needs at launch.
pub const SHARED_BYTES_MARKER: &str = "// tilefuse.dynamic_shared_bytes = ";
