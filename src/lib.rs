//! tilefuse: tile kernels in a DSL embedded in Rust.
//!
//! TEMPORARY facade written on the `frontend` branch so that the macro's
//! trybuild tests can compile; the facade belongs to the lead, who replaces
//! this file when merging. It only re-exports what `#[tile_kernel]`'s
//! expansion names (plus main's `reference` module).

extern crate self as tilefuse;

pub mod reference;

pub use half::{bf16, f16};
pub use tilefuse_macros::{tile_fn, tile_kernel};
pub use tilefuse_runtime::{Device, Error, Grid, Tensor};

/// Items the macros' expansions refer to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use tilefuse_macros::tile_kernel_resolved;
    pub use tilefuse_runtime::{Arg, Config, ConstValue, KernelSource, PtrArg, launch};
}
