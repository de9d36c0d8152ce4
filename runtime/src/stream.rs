//! Streams: ordered queues of work on a device.
//!
//! Every launch API has two forms: `launch` runs on the device's default
//! stream and waits for the kernel (a fault is reported by that call), and
//! `launch_on(&stream, ..)` only enqueues the kernel on `stream` and returns,
//! so that the host can queue the next launch while the GPU works; call
//! [`Stream::synchronize`] to wait (a fault is reported there). Kernels on one
//! stream run in order; kernels on two streams made by
//! [`Device::new_stream`] may overlap, as in CUDA.
//!
//! Tensors stay consistent without any call from the user: their uploads,
//! downloads and frees run on the default stream, which waits for earlier
//! work of every stream tilefuse creates and is waited for by later work
//! (`runtime/src/cuda.rs` says how). So `tensor.to_vec()` after
//! `launch_on` returns the kernel's result.
//!
//! On the CPU device a stream is a formality that keeps code portable:
//! launches on it run to completion before `launch_on` returns.

use std::sync::Arc;

use crate::cuda::GpuStream;
use crate::device::{Device, Place};
use crate::error::Error;

/// Where a stream's work goes.
pub(crate) enum StreamPlace {
    /// The CPU interpreter: work runs when enqueued.
    Host,
    /// A GPU stream.
    Cuda(GpuStream),
}

/// A stream of a device; cheap to clone (clones are the same stream).
#[derive(Clone)]
pub struct Stream {
    device: Device,
    place: Arc<StreamPlace>,
    default: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let which = if self.default { "default" } else { "created" };
        write!(f, "Stream({which} on {:?})", self.device)
    }
}

impl Device {
    /// The default stream: where `launch` runs, and where tensors are copied.
    pub fn default_stream(&self) -> Stream {
        let place = match self.place() {
            Place::Host => StreamPlace::Host,
            Place::Cuda(gpu) => StreamPlace::Cuda(gpu.default_stream()),
        };
        Stream {
            device: self.clone(),
            place: Arc::new(place),
            default: true,
        }
    }

    /// A new stream. On a GPU its kernels may overlap those of other
    /// streams; it is destroyed when its last clone is dropped (work already
    /// enqueued still completes). Errors only when the driver fails.
    pub fn new_stream(&self) -> Result<Stream, Error> {
        let place = match self.place() {
            Place::Host => StreamPlace::Host,
            Place::Cuda(gpu) => StreamPlace::Cuda(gpu.new_stream()?),
        };
        Ok(Stream {
            device: self.clone(),
            place: Arc::new(place),
            default: false,
        })
    }
}

impl Stream {
    /// The device the stream belongs to.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// True for the device's default stream.
    pub fn is_default(&self) -> bool {
        self.default
    }

    /// Waits until everything enqueued on the stream has run. A kernel that
    /// faulted is reported here (as [`Error::Execution`]).
    pub fn synchronize(&self) -> Result<(), Error> {
        match &*self.place {
            StreamPlace::Host => Ok(()),
            StreamPlace::Cuda(s) => s.synchronize(),
        }
    }

    pub(crate) fn place(&self) -> &StreamPlace {
        &self.place
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_streams_belong_to_their_device() {
        let dev = Device::cpu();
        let s = dev.new_stream().unwrap();
        assert!(s.device().same(&dev));
        assert!(!s.is_default());
        assert!(dev.default_stream().is_default());
        s.synchronize().unwrap();
        let clone = s.clone();
        clone.synchronize().unwrap();
        assert_eq!(
            format!("{s:?}"),
            "Stream(created on Device(cpu (tile-IR interpreter)))"
        );
    }
}
