//! tilefuse-runtime: devices, tensors, grids and kernel launch.
//!
//! A [`Device`] is where kernels run: `Device::cpu()` is the tile-IR
//! interpreter (the reference semantics, no GPU needed); `Device::cuda(n)`
//! is a GPU through the CUDA driver, loaded at run time. [`Tensor`]s are
//! typed, shaped buffers owned by a device. A kernel written with
//! `#[tile_kernel]` gets a typed `launch` function that calls [`launch`]
//! here with its IR, its compile-time values and its arguments (and
//! `launch_on`, which calls [`launch_on`] with a [`Stream`]); the runtime
//! specializes, optimizes and caches the kernel per set of compile-time
//! values, then runs it: on the interpreter, or on a GPU from prebuilt PTX
//! or PTX compiled at first launch ([`jit`], cargo feature `jit`).
//! [`Timer`] and [`Event`] time work on a stream; [`autotune`] chooses among a
//! kernel's declared configurations per device and shape, and caches the choice.

pub mod autotune;
mod cuda;
mod device;
mod element;
mod error;
mod grid;
pub mod jit;
mod launch;
mod ptx;
mod stream;
mod tensor;
mod timing;

pub use device::{Device, DeviceKind};
pub use element::Element;
pub use error::Error;
pub use grid::Grid;
pub use launch::{
    Arg, Config, KernelSource, PrebuiltPtx, PtrArg, TensorArg, compile_kernel, launch, launch_on,
};
pub use ptx::PtxKernel;
pub use stream::Stream;
pub use tensor::Tensor;
pub use tilefuse_codegen::ir::ConstValue;
pub use timing::{Event, Timer};

/// Results of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;
