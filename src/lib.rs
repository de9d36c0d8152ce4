//! # tilefuse
//!
//! Attention kernels in a tile DSL embedded in Rust. Write a kernel with
//! `#[tile_kernel]` in Triton's programming model (a program instance per
//! grid point, values that are whole tiles, the compiler decides how threads
//! hold them); tilefuse turns it into tile IR at compile time, specializes and
//! optimizes it per configuration, and runs it — today on the CPU
//! interpreter, which defines the semantics, and on NVIDIA GPUs through
//! LLVM's NVPTX backend as that path lands.
//!
//! ```
//! use tilefuse::{Device, Grid, f16, tile_kernel};
//!
//! #[tile_kernel]
//! pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
//!     let row = program_id(0);
//!     let cols = arange::<BLOCK>();
//!     let mask = cols < n_cols;
//!     let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
//!     let e = exp(v - max(v, 0));
//!     store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
//! }
//!
//! let dev = Device::cpu();
//! let (rows, cols) = (3, 5);
//! let host: Vec<f16> = (0..rows * cols).map(|i| f16::from_f32(i as f32 * 0.25)).collect();
//! let x = dev.tensor(&host, [rows, cols])?;
//! let mut y = dev.zeros::<f16>([rows, cols])?;
//! softmax::<8>::launch(&dev, Grid::x(rows), (&x, &mut y, cols as i32, cols as i32))?;
//! let row0: f32 = y.to_vec()[..cols].iter().map(|v| v.to_f32()).sum();
//! assert!((row0 - 1.0).abs() < 1e-2);
//! # Ok::<(), tilefuse::Error>(())
//! ```

extern crate self as tilefuse;

pub use half::{bf16, f16};
pub use tilefuse_macros::{tile_fn, tile_kernel};
pub use tilefuse_runtime::{
    Device, DeviceKind, Element, Error, Event, Grid, Result, Stream, Tensor, Timer,
};

pub mod attention;
mod autotune;
mod autotune_defaults;
pub mod decode;
#[cfg(test)]
mod gpu_variants;
pub mod graph;
pub mod kernels;
pub mod reference;
#[cfg(test)]
mod testing;
mod tiles;
pub mod tssa;
mod validate;

/// The compiler: IR, frontend, passes and interpreter, for tools and tests.
pub use tilefuse_codegen as codegen;
/// The runtime crate, for its lower-level launch API.
pub use tilefuse_runtime as runtime;

/// The bundled kernels' PTX, compiled ahead of time by `tilefuse prebuild`
/// (`ptx/manifest.md` lists what is there and what is not yet).
mod prebuilt {
    include!("../ptx/index.rs");
}

/// What the macros' generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    /// The prebuilt PTX every kernel's launcher searches (by name and IR
    /// fingerprint). A `static`, so that the binary holds one copy of the PTX
    /// whatever the number of kernels referring to it (a `const` would be
    /// copied into every codegen unit that uses one).
    pub static PREBUILT: &[tilefuse_runtime::PrebuiltPtx] = &super::prebuilt::TABLE;
    pub use tilefuse_macros::tile_kernel_resolved;
    pub use tilefuse_runtime::{Arg, Config, ConstValue, KernelSource, PtrArg};
    use tilefuse_runtime::{Device, Error, Grid, Stream};

    /// [`tilefuse_runtime::launch`], which every `#[tile_kernel]` launcher calls (the
    /// crate's own tests record the variants it launches: `testing::record_gpu_launches`).
    pub fn launch(
        dev: &Device,
        kernel: &KernelSource,
        consts: &[(&str, ConstValue)],
        grid: Grid,
        args: Vec<Arg<'_>>,
    ) -> Result<(), Error> {
        #[cfg(test)]
        if crate::testing::record_launch(kernel, consts) {
            return Ok(());
        }
        tilefuse_runtime::launch(dev, kernel, consts, grid, args)
    }

    /// [`tilefuse_runtime::launch_on`], which every `#[tile_kernel]` launcher calls.
    pub fn launch_on(
        stream: &Stream,
        kernel: &KernelSource,
        consts: &[(&str, ConstValue)],
        grid: Grid,
        args: Vec<Arg<'_>>,
    ) -> Result<(), Error> {
        #[cfg(test)]
        if crate::testing::record_launch(kernel, consts) {
            return Ok(());
        }
        tilefuse_runtime::launch_on(stream, kernel, consts, grid, args)
    }
}
