//! Kernels loaded from PTX text, launched on a CUDA device: the runtime's
//! low-level path, for PTX written by hand or produced by the NVPTX backend.

use cudarc::driver::CudaFunction;

use crate::cuda::{KernelArg, LaunchDims};
use crate::device::{Device, Place};
use crate::error::Error;
use crate::grid::Grid;
use crate::launch::{Arg, TensorArg};
use crate::stream::{Stream, StreamPlace};
use crate::tensor::Storage;
use tilefuse_codegen::ir::ScalarType;

/// A kernel of a PTX module loaded on a CUDA device.
pub struct PtxKernel {
    device: Device,
    name: String,
    function: CudaFunction,
    /// Dynamic shared memory the PTX declares it needs (its
    /// `SHARED_BYTES_MARKER` comment); every launch gets at least this.
    required_shared: u32,
}

/// The dynamic shared memory a PTX module made by tilefuse needs: the
/// number on its `// tilefuse.dynamic_shared_bytes = N` line, or 0.
pub fn required_shared_bytes(ptx: &str) -> Result<u32, Error> {
    let marker = tilefuse_codegen::gpu::SHARED_BYTES_MARKER;
    match ptx.lines().find_map(|l| l.strip_prefix(marker)) {
        None => Ok(0),
        Some(n) => n.trim().parse().map_err(|_| {
            Error::Invalid(format!(
                "the PTX has a malformed shared-memory line `{marker}{n}`"
            ))
        }),
    }
}

impl std::fmt::Debug for PtxKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PtxKernel({} on {:?})", self.name, self.device)
    }
}

impl Device {
    /// Loads `ptx` (cached per device) and returns its kernel `name`.
    /// Errors when this is not a GPU, when the driver rejects the PTX (for
    /// example PTX for a newer architecture), or when there is no such kernel.
    pub fn load_ptx(&self, ptx: &str, name: &str) -> Result<PtxKernel, Error> {
        match self.place() {
            Place::Host => Err(Error::Invalid(format!(
                "PTX kernel `{name}` needs a CUDA device; {} runs tile IR only",
                self.name()
            ))),
            Place::Cuda(gpu) => Ok(PtxKernel {
                device: self.clone(),
                name: name.to_string(),
                function: gpu.function(ptx, name)?,
                required_shared: required_shared_bytes(ptx)?,
            }),
        }
    }
}

impl PtxKernel {
    /// Launches the kernel over `grid` with `block` threads per CTA and
    /// `shared_bytes` of dynamic shared memory (at least what the PTX says it
    /// needs), and waits for it.
    ///
    /// `args` must match the kernel's parameters in order and type (tensors
    /// for pointers, scalars of the parameter's width): PTX carries no types
    /// the driver checks, so a mismatch is undefined behaviour on the GPU —
    /// this is the low-level path; `#[tile_kernel]` launchers are typed.
    /// Threads per block and shared memory are checked against the kernel's
    /// and the device's limits first, with an error saying what to shrink.
    pub fn launch(
        &self,
        grid: Grid,
        block: [u32; 3],
        shared_bytes: u32,
        args: Vec<Arg<'_>>,
    ) -> Result<(), Error> {
        self.enqueue(None, grid, block, shared_bytes, args)
    }

    /// Like [`PtxKernel::launch`], but only enqueues the kernel on `stream`
    /// (of this kernel's device) and returns: a fault shows when the stream
    /// is synchronized ([`Stream::synchronize`]) or a tensor is read.
    pub fn launch_on(
        &self,
        stream: &Stream,
        grid: Grid,
        block: [u32; 3],
        shared_bytes: u32,
        args: Vec<Arg<'_>>,
    ) -> Result<(), Error> {
        self.enqueue(Some(stream), grid, block, shared_bytes, args)
    }

    fn enqueue(
        &self,
        stream: Option<&Stream>,
        grid: Grid,
        block: [u32; 3],
        shared_bytes: u32,
        args: Vec<Arg<'_>>,
    ) -> Result<(), Error> {
        let fail = |message: String| Error::Launch {
            kernel: self.name.clone(),
            message,
        };
        let grid = grid.checked().map_err(fail)?;
        let Place::Cuda(gpu) = self.device.place() else {
            return Err(fail("the kernel's device is not a GPU".to_string()));
        };
        let on = match stream {
            None => None,
            Some(s) if !s.device().same(&self.device) => {
                return Err(fail("the stream belongs to another device".to_string()));
            }
            Some(s) => match s.place() {
                StreamPlace::Cuda(gs) => Some(gs),
                StreamPlace::Host => {
                    return Err(fail("the stream is not a GPU stream".to_string()));
                }
            },
        };
        let mut kernel_args = Vec::with_capacity(args.len());
        for (i, arg) in args.into_iter().enumerate() {
            kernel_args.push(match arg {
                Arg::Tensor(TensorArg {
                    storage, device, ..
                }) => {
                    if !device.same(&self.device) {
                        return Err(fail(format!("argument {i} is a tensor on another device")));
                    }
                    match storage {
                        Storage::Cuda(s) => KernelArg::Buffer(s),
                        Storage::Host(_) => {
                            return Err(fail(format!("argument {i} is a host tensor")));
                        }
                    }
                }
                Arg::Int(v, ScalarType::I8) => KernelArg::I8(v as i8),
                Arg::Int(v, ScalarType::I16) => KernelArg::I16(v as i16),
                Arg::Int(v, ScalarType::I32) => KernelArg::I32(v as i32),
                Arg::Int(v, _) => KernelArg::I64(v),
                Arg::Float(v, ScalarType::F16) => KernelArg::U16(half::f16::from_f64(v).to_bits()),
                Arg::Float(v, ScalarType::BF16) => {
                    KernelArg::U16(half::bf16::from_f64(v).to_bits())
                }
                Arg::Float(v, ScalarType::F32) => KernelArg::F32(v as f32),
                Arg::Float(v, _) => KernelArg::F64(v),
                Arg::Bool(v) => KernelArg::Bool(v),
            });
        }
        let dims = LaunchDims {
            grid,
            block,
            shared_bytes: shared_bytes.max(self.required_shared),
        };
        gpu.launch(&self.function, &self.name, dims, &kernel_args, on)
    }
}

#[cfg(test)]
mod tests {
    use super::required_shared_bytes;

    #[test]
    fn reads_the_shared_memory_line() {
        assert_eq!(required_shared_bytes(".entry k()\n{}\n").unwrap(), 0);
        let ptx = format!(
            "{{}}\n{}16384\n",
            tilefuse_codegen::gpu::SHARED_BYTES_MARKER
        );
        assert_eq!(required_shared_bytes(&ptx).unwrap(), 16384);
        let bad = format!("{}lots\n", tilefuse_codegen::gpu::SHARED_BYTES_MARKER);
        assert!(
            required_shared_bytes(&bad)
                .unwrap_err()
                .to_string()
                .contains("malformed")
        );
    }
}
