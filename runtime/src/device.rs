//! Devices: where tensors live and kernels run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tilefuse_codegen::ir::Module;

use crate::cuda::CudaDevice;
use crate::element::Element;
use crate::error::Error;
use crate::tensor::Tensor;

/// Which kind of device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The CPU interpreter of tile IR.
    Cpu,
    /// An NVIDIA GPU through the CUDA driver.
    Cuda,
}

/// Compiled kernels and their fingerprints, keyed by kernel name, IR text
/// and compile-time values.
pub(crate) type ModuleCache = Mutex<HashMap<(String, String, String), (Arc<Module>, u64)>>;

pub(crate) enum Place {
    Host,
    Cuda(CudaDevice),
}

pub(crate) struct DeviceInner {
    pub(crate) place: Place,
    pub(crate) cache: ModuleCache,
}

/// A device; cheap to clone (clones share the kernel cache and, on a GPU, the context).
#[derive(Clone)]
pub struct Device {
    pub(crate) inner: Arc<DeviceInner>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({})", self.name())
    }
}

impl Device {
    fn with_place(place: Place) -> Device {
        Device {
            inner: Arc::new(DeviceInner {
                place,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The CPU device: kernels run on the tile-IR interpreter, exactly as
    /// specified, one program instance after another.
    pub fn cpu() -> Device {
        Device::with_place(Place::Host)
    }

    /// CUDA GPU `ordinal`, through the driver (loaded at run time, so no CUDA
    /// is needed to build). An error says why when there is no driver or no
    /// such GPU. Tensors, PTX kernels ([`Device::load_ptx`]) and
    /// `#[tile_kernel]`s run on it: from prebuilt PTX, from the PTX disk
    /// cache, or compiled at first launch with the `jit` feature
    /// ([`crate::jit`]).
    pub fn cuda(ordinal: usize) -> Result<Device, Error> {
        Ok(Device::with_place(Place::Cuda(CudaDevice::open(ordinal)?)))
    }

    /// A CUDA GPU when there is one, else the CPU interpreter. On a GPU, a
    /// `#[tile_kernel]` runs from its prebuilt PTX (`ptx/manifest.md` lists
    /// which kernels and configurations have it); one without is compiled
    /// at first launch with the `jit` feature, and is an error that says so
    /// without it (it runs on `Device::cpu()`).
    pub fn best() -> Device {
        Device::cuda(0).unwrap_or_else(|_| Device::cpu())
    }

    pub(crate) fn place(&self) -> &Place {
        &self.inner.place
    }

    /// Which kind of device this is.
    pub fn kind(&self) -> DeviceKind {
        match self.inner.place {
            Place::Host => DeviceKind::Cpu,
            Place::Cuda(_) => DeviceKind::Cuda,
        }
    }

    /// The compute capability of a GPU (None on the CPU).
    pub fn compute_capability(&self) -> Option<(u32, u32)> {
        match &self.inner.place {
            Place::Host => None,
            Place::Cuda(gpu) => Some(gpu.compute_capability),
        }
    }

    /// A human-readable name (`cpu (tile-IR interpreter)`, `NVIDIA H100 80GB HBM3 (sm_90)`).
    pub fn name(&self) -> String {
        match &self.inner.place {
            Place::Host => "cpu (tile-IR interpreter)".to_string(),
            Place::Cuda(gpu) => format!(
                "{} (sm_{}{})",
                gpu.name, gpu.compute_capability.0, gpu.compute_capability.1
            ),
        }
    }

    /// A tensor with the given data and shape (row-major).
    pub fn tensor<T: Element>(
        &self,
        data: &[T],
        shape: impl Into<Vec<usize>>,
    ) -> Result<Tensor<T>, Error> {
        Tensor::from_slice(self, data, shape.into())
    }

    /// A tensor of zeros.
    pub fn zeros<T: Element>(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor<T>, Error> {
        Tensor::zeros(self, shape.into())
    }

    /// True when both handles are the same device.
    pub fn same(&self, other: &Device) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
