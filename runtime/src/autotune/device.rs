//! What the tuner asks of a [`Device`]: its identity and limits, and the resources a loaded
//! kernel uses (a module load, never a launch).

use crate::device::{Device, Place};
use crate::error::Error;

use super::config::{Resources, TuneDevice};

impl Device {
    /// The device as the tuner keys and prunes for it: the driver's name, the compute
    /// capability as `sm_XY` and its limits; None on the CPU (nothing to tune there).
    pub fn tune_device(&self) -> Option<TuneDevice> {
        match self.place() {
            Place::Host => None,
            Place::Cuda(gpu) => Some(TuneDevice {
                name: gpu.name.clone(),
                arch: format!(
                    "sm_{}{}",
                    gpu.compute_capability.0, gpu.compute_capability.1
                ),
                limits: gpu.limits(),
            }),
        }
    }

    /// What kernel `name` of `ptx` needs: its dynamic shared memory (the PTX's marker line)
    /// and, from the driver after loading the module (cached per device, as for a launch),
    /// its registers per thread, static shared memory and the most threads per block it
    /// allows. Loads, never launches. Errors on the CPU, or when the driver rejects the PTX.
    pub fn kernel_resources(&self, ptx: &str, name: &str) -> Result<Resources, Error> {
        let mut r = Resources::from_ptx(ptx)?;
        match self.place() {
            Place::Host => Err(Error::Invalid(format!(
                "kernel resources of `{name}` need a CUDA device; {} runs tile IR only",
                self.name()
            ))),
            Place::Cuda(gpu) => {
                let f = gpu.function(ptx, name)?;
                let used = gpu.function_resources(&f);
                r.registers_per_thread = used.registers_per_thread;
                r.static_shared_bytes = used.static_shared_bytes;
                r.max_threads_per_block = used.max_threads_per_block;
                Ok(r)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_has_nothing_to_tune() {
        let dev = Device::cpu();
        assert_eq!(dev.tune_device(), None);
        let err = dev.kernel_resources(".entry k()\n", "k").unwrap_err();
        assert!(err.to_string().contains("need a CUDA device"), "{err}");
    }
}
