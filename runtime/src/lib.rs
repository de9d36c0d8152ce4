//! tilefuse-runtime: devices, tensors, grids and kernel launch.
//!
//! A [`Device`] is where kernels run: `Device::cpu()` is the tile-IR
//! interpreter (the reference semantics, no GPU needed); `Device::cuda(n)`
//! is a GPU through the CUDA driver, loaded at run time (tensors and PTX
//! kernels today; tile kernels once the NVPTX lowering lands). [`Tensor`]s are typed, shaped buffers owned by a
//! device. A kernel written with `#[tile_kernel]` gets a typed `launch`
//! function that calls [`launch`] here with its IR, its compile-time values
//! and its arguments; the runtime specializes, optimizes and caches the
//! kernel per set of compile-time values, then runs it.

mod cuda;
mod device;
mod element;
mod error;
mod grid;
mod launch;
mod ptx;
mod tensor;

pub use device::{Device, DeviceKind};
pub use element::Element;
pub use error::Error;
pub use grid::Grid;
pub use launch::{
    Arg, Config, KernelSource, PrebuiltPtx, PtrArg, TensorArg, compile_kernel, launch,
};
pub use ptx::PtxKernel;
pub use tensor::Tensor;
pub use tilefuse_codegen::ir::ConstValue;

/// Results of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;
