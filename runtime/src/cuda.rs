//! The CUDA device, through cudarc with dynamic loading: the crate builds
//! and runs on machines without CUDA, and `Device::cuda` says clearly when
//! there is no driver or no such GPU.
//!
//! What it does: opening a GPU, device tensors (upload, download, zeros),
//! loading PTX (cached per device, keyed by the PTX text), launching a
//! kernel from it with resource checks before the launch
//! ([`crate::PtxKernel`]), streams ([`GpuStream`]) and timing events
//! ([`GpuEvent`]).
//!
//! Streams and ordering: tensor memory is allocated, copied and freed on the
//! context's legacy default (NULL) stream, and the streams tilefuse creates
//! are *blocking* streams (`CU_STREAM_DEFAULT`). CUDA orders the legacy
//! stream after earlier work of every blocking stream and before later
//! work, so a tensor read, written or dropped after a kernel enqueued on any
//! stream sees that kernel finished, without events per buffer. Kernels on
//! two created streams may run concurrently, as in CUDA. cudarc's own
//! multi-stream tracking stays off (its streams are not used).
//!
//! This module is the only one with `unsafe`: the driver calls that copy
//! memory, create streams and launch kernels. Each use says why it is sound.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig,
    PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use crate::error::Error;

/// The bytes of a tensor on a CUDA device. The allocation is at least one
/// byte (the driver refuses empty ones); the tensor's shape says how many are used.
pub(crate) type DeviceStorage = Arc<Mutex<CudaSlice<u8>>>;

/// An open GPU: its context, the stream everything runs on, its limits and
/// the PTX modules loaded so far.
pub(crate) struct CudaDevice {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    pub(crate) name: String,
    pub(crate) compute_capability: (u32, u32),
    max_threads_per_block: u32,
    max_shared_per_block_optin: u32,
    max_registers_per_block: u32,
    modules: Mutex<HashMap<String, Arc<CudaModule>>>,
}

fn driver_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::Execution {
        kernel: what.to_string(),
        message: format!("CUDA driver error: {e}"),
    }
}

impl CudaDevice {
    /// Opens GPU `ordinal`.
    pub(crate) fn open(ordinal: usize) -> Result<CudaDevice, Error> {
        let no_cuda = |reason: String| Error::NoCuda { ordinal, reason };
        // SAFETY: only tries to load the driver library; no driver call is made.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(no_cuda(
                "no CUDA driver library (libcuda.so) was found on this machine".into(),
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| {
            no_cuda(format!(
                "the CUDA driver could not open it ({e}); check `nvidia-smi`"
            ))
        })?;
        let attr = |a: CUdevice_attribute| -> Result<u32, Error> {
            ctx.attribute(a)
                .map(|v| v.max(0) as u32)
                .map_err(|e| no_cuda(format!("cannot query the device ({e})")))
        };
        let compute_capability = (
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        );
        let max_threads_per_block =
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?;
        let max_shared_per_block_optin =
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)?;
        let max_registers_per_block =
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK)?;
        let name = ctx
            .name()
            .unwrap_or_else(|_| format!("CUDA device {ordinal}"));
        let stream = ctx.default_stream();
        Ok(CudaDevice {
            ctx,
            stream,
            name,
            compute_capability,
            max_threads_per_block,
            max_shared_per_block_optin,
            max_registers_per_block,
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// Copies host bytes to a new device allocation.
    pub(crate) fn upload(&self, bytes: &[u8]) -> Result<CudaSlice<u8>, Error> {
        let what = "upload";
        if bytes.is_empty() {
            return self.stream.alloc_zeros::<u8>(1).map_err(driver_err(what));
        }
        self.stream.clone_htod(bytes).map_err(driver_err(what))
    }

    /// A new zeroed device allocation of `len` bytes.
    pub(crate) fn zeros(&self, len: usize) -> Result<CudaSlice<u8>, Error> {
        self.stream
            .alloc_zeros::<u8>(len.max(1))
            .map_err(driver_err("allocation"))
    }

    /// Copies the first `len` bytes of a device allocation to the host.
    pub(crate) fn download(&self, slice: &CudaSlice<u8>, len: usize) -> Result<Vec<u8>, Error> {
        let mut bytes = self
            .stream
            .clone_dtoh(slice)
            .map_err(driver_err("download"))?;
        bytes.truncate(len);
        Ok(bytes)
    }

    /// Overwrites a device allocation from the host.
    pub(crate) fn overwrite(&self, slice: &mut CudaSlice<u8>, bytes: &[u8]) -> Result<(), Error> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream
            .memcpy_htod(bytes, slice)
            .map_err(driver_err("upload"))
    }

    /// Loads (or finds already loaded) `ptx` and returns its kernel `name`.
    pub(crate) fn function(&self, ptx: &str, name: &str) -> Result<CudaFunction, Error> {
        let fail = |message: String| Error::Launch {
            kernel: name.to_string(),
            message,
        };
        let module = {
            let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
            match modules.get(ptx) {
                Some(m) => Arc::clone(m),
                None => {
                    let m = self.ctx.load_module(Ptx::from_src(ptx)).map_err(|e| {
                        fail(format!(
                            "the driver cannot load the PTX on {} (compute capability {}.{}): {e}",
                            self.name, self.compute_capability.0, self.compute_capability.1
                        ))
                    })?;
                    modules.insert(ptx.to_string(), Arc::clone(&m));
                    m
                }
            }
        };
        module
            .load_function(name)
            .map_err(|e| fail(format!("the PTX has no kernel `{name}` ({e})")))
    }

    /// The limits the autotuner prunes candidates with.
    pub(crate) fn limits(&self) -> crate::autotune::DeviceLimits {
        crate::autotune::DeviceLimits {
            max_threads_per_block: self.max_threads_per_block,
            max_shared_per_block_optin: self.max_shared_per_block_optin,
            max_registers_per_block: self.max_registers_per_block,
        }
    }

    /// What a loaded kernel uses, as the driver reports it (unknown where it cannot say);
    /// the dynamic shared memory is left to the caller (it is in the PTX).
    pub(crate) fn function_resources(&self, f: &CudaFunction) -> crate::autotune::Resources {
        let known = |v: Result<i32, _>| v.ok().map(|n: i32| n.max(0) as u32);
        crate::autotune::Resources {
            dynamic_shared_bytes: None,
            static_shared_bytes: known(f.shared_size_bytes()),
            registers_per_thread: known(f.num_regs()),
            max_threads_per_block: known(f.max_threads_per_block()),
        }
    }

    /// Checks a launch configuration against the kernel's and the device's
    /// limits, naming what to shrink.
    pub(crate) fn check_resources(
        &self,
        f: &CudaFunction,
        name: &str,
        block: [u32; 3],
        shared_bytes: u32,
    ) -> Result<(), Error> {
        let fail = |message: String| Error::Launch {
            kernel: name.to_string(),
            message,
        };
        let threads = block.iter().map(|&b| b as u64).product::<u64>();
        let kernel_max = f
            .max_threads_per_block()
            .map(|v| v.max(0) as u64)
            .unwrap_or(u64::MAX);
        let limit = kernel_max.min(self.max_threads_per_block as u64);
        if threads == 0 || threads > limit {
            let regs = f.num_regs().unwrap_or(0);
            return Err(fail(format!(
                "a block of {threads} threads does not fit: this kernel allows at most {limit} \
                 (it uses {regs} registers per thread; the device allows {}); use fewer warps",
                self.max_threads_per_block
            )));
        }
        let static_shared = f.shared_size_bytes().map(|v| v.max(0) as u32).unwrap_or(0);
        let total = static_shared as u64 + shared_bytes as u64;
        if total > self.max_shared_per_block_optin as u64 {
            return Err(fail(format!(
                "it needs {total} bytes of shared memory ({static_shared} static + {shared_bytes} dynamic) \
                 but {} allows {} per block; use smaller blocks or fewer pipeline stages",
                self.name, self.max_shared_per_block_optin
            )));
        }
        if shared_bytes > 48 * 1024 {
            f.set_attribute(
                cudarc::driver::sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shared_bytes as i32,
            )
            .map_err(|e| fail(format!("cannot raise the dynamic shared memory limit to {shared_bytes} bytes: {e}")))?;
        }
        Ok(())
    }

    /// Launches `f` with `args` (device buffers and scalars in the kernel's
    /// parameter order). With `on = None` it runs on the default stream and
    /// is waited for (a fault is reported here); with a stream it is only
    /// enqueued there, and faults surface when the stream is synchronized.
    pub(crate) fn launch(
        &self,
        f: &CudaFunction,
        name: &str,
        dims: LaunchDims,
        args: &[KernelArg],
        on: Option<&GpuStream>,
    ) -> Result<(), Error> {
        let LaunchDims {
            grid,
            block,
            shared_bytes,
        } = dims;
        self.check_resources(f, name, block, shared_bytes)?;
        // Lock each distinct buffer once (the same tensor may be passed twice).
        let mut storages: Vec<&DeviceStorage> = Vec::new();
        for a in args {
            if let KernelArg::Buffer(s) = a
                && !storages.iter().any(|t| Arc::ptr_eq(t, s))
            {
                storages.push(s);
            }
        }
        let guards: Vec<_> = storages
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let stream = on.map_or(&self.stream, |s| &s.stream);
        let mut builder = stream.launch_builder(f);
        for a in args {
            match a {
                KernelArg::Buffer(s) => {
                    let i = storages
                        .iter()
                        .position(|t| Arc::ptr_eq(t, s))
                        .expect("collected above");
                    builder.arg(&*guards[i]);
                }
                KernelArg::I8(v) => _ = builder.arg(v),
                KernelArg::I16(v) => _ = builder.arg(v),
                KernelArg::I32(v) => _ = builder.arg(v),
                KernelArg::I64(v) => _ = builder.arg(v),
                KernelArg::U16(v) => _ = builder.arg(v),
                KernelArg::F32(v) => _ = builder.arg(v),
                KernelArg::F64(v) => _ = builder.arg(v),
                KernelArg::Bool(v) => _ = builder.arg(v),
            }
        }
        let cfg = LaunchConfig {
            grid_dim: (grid[0], grid[1], grid[2]),
            block_dim: (block[0], block[1], block[2]),
            shared_mem_bytes: shared_bytes,
        };
        // SAFETY: the argument list was built from typed values and live device
        // buffers; the caller ([`crate::PtxKernel::launch`]) documents that it
        // must match the kernel's parameters, and the resources were checked
        // above. The buffers stay allocated until the kernel is done: they are
        // freed on the legacy default stream, which waits for earlier work of
        // every blocking stream (the only kind tilefuse creates), and the
        // module stays loaded in `self.modules`.
        unsafe { builder.launch(cfg) }.map_err(driver_err(name))?;
        if on.is_none() {
            self.stream.synchronize().map_err(driver_err(name))?;
        }
        drop(guards);
        Ok(())
    }

    /// The default stream (the legacy NULL stream everything else uses).
    pub(crate) fn default_stream(&self) -> GpuStream {
        GpuStream {
            stream: Arc::clone(&self.stream),
            owned: None,
        }
    }

    /// A new blocking stream (see the module doc for why blocking).
    pub(crate) fn new_stream(&self) -> Result<GpuStream, Error> {
        let what = "stream creation";
        self.ctx.bind_to_thread().map_err(driver_err(what))?;
        let raw = cudarc::driver::result::stream::create(
            cudarc::driver::result::stream::StreamKind::Default,
        )
        .map_err(driver_err(what))?;
        // SAFETY: `raw` was just created in this context and stays alive
        // until `GpuStream`'s drop, after which the wrapper is never used:
        // it is private to the `GpuStream` and only lent out for the
        // duration of a call. Ordering with other streams is the one the
        // module doc describes.
        let stream = unsafe { self.ctx.wrap_borrowed_stream(raw) };
        Ok(GpuStream {
            stream,
            owned: Some(RawStream(raw)),
        })
    }

    /// A new event that records time.
    pub(crate) fn new_event(&self) -> Result<GpuEvent, Error> {
        self.ctx
            .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map(GpuEvent)
            .map_err(driver_err("event creation"))
    }
}

/// The sizes of a launch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaunchDims {
    /// Programs (CTAs) along x, y, z.
    pub(crate) grid: [u32; 3],
    /// Threads per CTA along x, y, z.
    pub(crate) block: [u32; 3],
    /// Bytes of dynamic shared memory.
    pub(crate) shared_bytes: u32,
}

/// A raw stream handle that tilefuse created and destroys.
struct RawStream(cudarc::driver::sys::CUstream);

// SAFETY: a CUstream handle may be used from any thread of the process
// (the driver API is thread safe); it is only destroyed once, on drop.
unsafe impl Send for RawStream {}
// SAFETY: as above; shared references never destroy it.
unsafe impl Sync for RawStream {}

/// A stream of a GPU: the default one, or one tilefuse created.
pub(crate) struct GpuStream {
    stream: Arc<CudaStream>,
    owned: Option<RawStream>,
}

impl GpuStream {
    /// Waits for everything enqueued so far.
    pub(crate) fn synchronize(&self) -> Result<(), Error> {
        self.stream
            .synchronize()
            .map_err(driver_err("stream synchronize"))
    }
}

impl Drop for GpuStream {
    fn drop(&mut self) {
        if let Some(RawStream(raw)) = self.owned.take() {
            // Errors cannot be reported from a drop; the driver releases the
            // stream's resources once its pending work is done.
            if self.stream.context().bind_to_thread().is_ok() {
                // SAFETY: `raw` was created by `CudaDevice::new_stream`, is
                // destroyed only here, and the borrowed wrapper is dropped
                // right after without being used again.
                let _ = unsafe { cudarc::driver::result::stream::destroy(raw) };
            }
        }
    }
}

/// A CUDA event that records time.
pub(crate) struct GpuEvent(CudaEvent);

impl GpuEvent {
    /// Records the work enqueued so far on `stream`.
    pub(crate) fn record(&self, stream: &GpuStream) -> Result<(), Error> {
        self.0
            .record(&stream.stream)
            .map_err(driver_err("event record"))
    }

    /// Milliseconds from `self` to `end`, waiting for both.
    pub(crate) fn elapsed_ms(&self, end: &GpuEvent) -> Result<f32, Error> {
        self.0
            .elapsed_ms(&end.0)
            .map_err(driver_err("event timing"))
    }

    /// Waits for the recorded work.
    pub(crate) fn synchronize(&self) -> Result<(), Error> {
        self.0
            .synchronize()
            .map_err(driver_err("event synchronize"))
    }
}

impl crate::device::Device {
    /// The CUDA stream that every copy and kernel of this GPU runs on (its context is
    /// `stream.context()`); `None` on the CPU device. For tools that time work with CUDA
    /// events or enqueue their own copies in order with the runtime's (the benchmark
    /// harness): work enqueued here runs in stream order with the runtime's launches.
    pub fn cuda_stream(&self) -> Option<Arc<CudaStream>> {
        match self.place() {
            crate::device::Place::Cuda(gpu) => Some(Arc::clone(&gpu.stream)),
            crate::device::Place::Host => None,
        }
    }
}

/// A kernel argument on a CUDA device.
pub(crate) enum KernelArg {
    /// A device buffer, passed as its address.
    Buffer(DeviceStorage),
    /// `.s8`
    I8(i8),
    /// `.s16`
    I16(i16),
    /// `.s32`
    I32(i32),
    /// `.s64`
    I64(i64),
    /// `.b16` (f16 and bf16 bits)
    U16(u16),
    /// `.f32`
    F32(f32),
    /// `.f64`
    F64(f64),
    /// `.pred` passed as a byte
    Bool(bool),
}
