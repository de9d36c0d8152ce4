//! tilefuse-runtime: devices, tensors, grids and kernel launch.
//!
//! A [`Device`] is where kernels run: `Device::cpu()` is the tile-IR
//! interpreter (the reference semantics, no GPU needed); the CUDA device
//! comes with the GPU path. [`Tensor`]s are typed, shaped buffers owned by a
//! device. A kernel written with `#[tile_kernel]` gets a typed `launch`
//! function that calls [`launch`] here with its IR, its compile-time values
//! and its arguments; the runtime specializes, optimizes and caches the
//! kernel per set of compile-time values, then runs it.

mod device;
mod element;
mod error;
mod grid;
mod launch;
mod tensor;

pub use device::{Device, DeviceKind};
pub use element::Element;
pub use error::Error;
pub use grid::Grid;
pub use launch::{Arg, Config, KernelSource, PtrArg, compile_kernel, launch};
pub use tensor::Tensor;
pub use tilefuse_codegen::ir::ConstValue;

/// Results of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;
