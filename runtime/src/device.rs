//! Devices: where tensors live and kernels run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tilefuse_codegen::ir::Module;

use crate::element::Element;
use crate::error::Error;
use crate::tensor::Tensor;

/// Which kind of device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The CPU interpreter of tile IR.
    Cpu,
}

/// Compiled kernels, keyed by kernel name, IR text and compile-time values.
pub(crate) type ModuleCache = Mutex<HashMap<(String, String, String), Arc<Module>>>;

pub(crate) struct DeviceInner {
    pub(crate) kind: DeviceKind,
    pub(crate) cache: ModuleCache,
}

/// A device; cheap to clone (clones share the kernel cache).
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
    /// The CPU device: kernels run on the tile-IR interpreter, exactly as
    /// specified, one program instance after another.
    pub fn cpu() -> Device {
        Device {
            inner: Arc::new(DeviceInner {
                kind: DeviceKind::Cpu,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A CUDA device. This build has no CUDA backend yet (it comes with the
    /// NVPTX code generator), so this always returns [`Error::NoCuda`].
    pub fn cuda(ordinal: usize) -> Result<Device, Error> {
        Err(Error::NoCuda {
            ordinal,
            reason: "this build of tilefuse has no CUDA backend yet".to_string(),
        })
    }

    /// The best device available: a CUDA GPU when there is one, else the CPU.
    pub fn best() -> Device {
        Device::cuda(0).unwrap_or_else(|_| Device::cpu())
    }

    /// Which kind of device this is.
    pub fn kind(&self) -> DeviceKind {
        self.inner.kind
    }

    /// A human-readable name (`cpu (tile-IR interpreter)`).
    pub fn name(&self) -> String {
        match self.inner.kind {
            DeviceKind::Cpu => "cpu (tile-IR interpreter)".to_string(),
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
