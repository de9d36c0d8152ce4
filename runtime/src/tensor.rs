//! Typed, shaped tensors owned by a device.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use crate::cuda::DeviceStorage;
use crate::device::{Device, Place};
use crate::element::Element;
use crate::error::Error;

/// The bytes of a tensor on the CPU device (little-endian elements).
pub(crate) type HostStorage = Arc<Mutex<Vec<u8>>>;

/// Where a tensor's bytes live.
#[derive(Clone)]
pub(crate) enum Storage {
    /// Host memory (the CPU device).
    Host(HostStorage),
    /// GPU memory.
    Cuda(DeviceStorage),
}

/// A row-major tensor of `T` on a device.
pub struct Tensor<T: Element> {
    pub(crate) device: Device,
    pub(crate) shape: Vec<usize>,
    pub(crate) storage: Storage,
    _elem: PhantomData<T>,
}

impl<T: Element> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor<{}>{:?} on {:?}",
            T::DTYPE,
            self.shape,
            self.device
        )
    }
}

fn element_count(shape: &[usize]) -> Result<usize, Error> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::Tensor(format!(
                "shape {shape:?} has more elements than fit in memory"
            ))
        })
}

fn encode<T: Element>(data: &[T]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(data.len() * T::DTYPE.bytes());
    for &v in data {
        v.write_le(&mut bytes);
    }
    bytes
}

impl<T: Element> Tensor<T> {
    fn with_bytes(device: &Device, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Tensor<T>, Error> {
        let storage = match device.place() {
            Place::Host => Storage::Host(Arc::new(Mutex::new(bytes))),
            Place::Cuda(gpu) => Storage::Cuda(Arc::new(Mutex::new(gpu.upload(&bytes)?))),
        };
        Ok(Tensor {
            device: device.clone(),
            shape,
            storage,
            _elem: PhantomData,
        })
    }

    pub(crate) fn from_slice(
        device: &Device,
        data: &[T],
        shape: Vec<usize>,
    ) -> Result<Tensor<T>, Error> {
        let n = element_count(&shape)?;
        if n != data.len() {
            return Err(Error::Tensor(format!(
                "shape {shape:?} needs {n} elements but {} were given",
                data.len()
            )));
        }
        Tensor::with_bytes(device, shape, encode(data))
    }

    pub(crate) fn zeros(device: &Device, shape: Vec<usize>) -> Result<Tensor<T>, Error> {
        let n = element_count(&shape)?;
        let bytes = n
            .checked_mul(T::DTYPE.bytes())
            .ok_or_else(|| Error::Tensor(format!("shape {shape:?} is too large")))?;
        match device.place() {
            Place::Host => Tensor::with_bytes(device, shape, vec![0u8; bytes]),
            Place::Cuda(gpu) => Ok(Tensor {
                device: device.clone(),
                shape,
                storage: Storage::Cuda(Arc::new(Mutex::new(gpu.zeros(bytes)?))),
                _elem: PhantomData,
            }),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The device holding the tensor.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Copies the data back to the host; fails only when a GPU reports an
    /// error (for example after a kernel faulted).
    pub fn read(&self) -> Result<Vec<T>, Error> {
        let bytes = match (&self.storage, self.device.place()) {
            (Storage::Host(h), _) => h.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            (Storage::Cuda(d), Place::Cuda(gpu)) => {
                let slice = d.lock().unwrap_or_else(|e| e.into_inner());
                gpu.download(&slice, self.len() * T::DTYPE.bytes())?
            }
            (Storage::Cuda(_), Place::Host) => {
                return Err(Error::Tensor("a GPU tensor lost its device".to_string()));
            }
        };
        Ok(bytes
            .chunks_exact(T::DTYPE.bytes())
            .map(T::read_le)
            .collect())
    }

    /// Copies the data back to the host.
    ///
    /// # Panics
    /// When a GPU reports an error while copying (use [`Tensor::read`] to
    /// handle that case); never on the CPU device.
    pub fn to_vec(&self) -> Vec<T> {
        self.read()
            .unwrap_or_else(|e| panic!("reading a tensor back from {:?} failed: {e}", self.device))
    }

    /// Overwrites the data from the host; the length must match.
    pub fn copy_from(&mut self, data: &[T]) -> Result<(), Error> {
        if data.len() != self.len() {
            return Err(Error::Tensor(format!(
                "tensor of shape {:?} holds {} elements but {} were given",
                self.shape,
                self.len(),
                data.len()
            )));
        }
        let bytes = encode(data);
        match (&self.storage, self.device.place()) {
            (Storage::Host(h), _) => *h.lock().unwrap_or_else(|e| e.into_inner()) = bytes,
            (Storage::Cuda(d), Place::Cuda(gpu)) => {
                gpu.overwrite(&mut d.lock().unwrap_or_else(|e| e.into_inner()), &bytes)?
            }
            (Storage::Cuda(_), Place::Host) => {
                return Err(Error::Tensor("a GPU tensor lost its device".to_string()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_shape() {
        let dev = Device::cpu();
        let t = dev
            .tensor(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])
            .unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(t.read().unwrap(), t.to_vec());
        let err = dev.tensor(&[1i32, 2], [3]).unwrap_err().to_string();
        assert!(
            err.contains("shape [3] needs 3 elements but 2 were given"),
            "{err}"
        );
        let z = dev.zeros::<half::f16>([4]).unwrap();
        assert_eq!(z.to_vec(), vec![half::f16::ZERO; 4]);
        let mut z = z;
        assert!(z.copy_from(&[half::f16::ONE; 3]).is_err());
        z.copy_from(&[half::f16::ONE; 4]).unwrap();
        assert_eq!(z.to_vec(), vec![half::f16::ONE; 4]);
    }
}
