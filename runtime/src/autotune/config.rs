//! What the tuner chooses among and for: candidate configurations, what their variants need
//! of the device, the device itself, and the key a choice is stored under.

use tilefuse_codegen::ir::describe_consts;

use crate::error::Error;
use crate::jit::fnv;
use crate::launch::Config;

/// One configuration the tuner may choose: the compile-time values (as text, in the form of
/// [`describe_consts`]: `BLOCK_M = 128, BLOCK_N = 64`), warps per CTA and pipeline stages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TuneConfig {
    /// The compile-time values, `NAME = value, ...`.
    pub consts: String,
    /// Warps per CTA (the launch uses `32 * num_warps` threads).
    pub num_warps: u32,
    /// Software-pipelining stages.
    pub num_stages: u32,
}

impl TuneConfig {
    /// A configuration from its parts.
    pub fn new(consts: impl Into<String>, num_warps: u32, num_stages: u32) -> TuneConfig {
        TuneConfig {
            consts: consts.into(),
            num_warps,
            num_stages,
        }
    }

    /// A kernel's declared configuration (`#[tile_kernel(configs = [..])]`).
    pub fn from_config(config: &Config) -> TuneConfig {
        TuneConfig::new(
            describe_consts(config.consts),
            config.num_warps,
            config.num_stages,
        )
    }

    /// Threads per CTA (`32 * num_warps`, saturating).
    pub fn threads(&self) -> u32 {
        self.num_warps.saturating_mul(32)
    }
}

impl std::fmt::Display for TuneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (num_warps = {}, num_stages = {})",
            self.consts, self.num_warps, self.num_stages
        )
    }
}

/// What a candidate's variant needs of the device, as far as it is known without a launch:
/// the dynamic shared memory its PTX declares ([`Resources::from_ptx`]), and, once its module
/// is loaded (`Device::kernel_resources`), the driver's register count, static shared memory
/// and the most threads per block the compiled kernel allows. `None` means unknown (not
/// checked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Bytes of dynamic shared memory every launch gets (the PTX's
    /// `// tilefuse.dynamic_shared_bytes = N` line).
    pub dynamic_shared_bytes: Option<u32>,
    /// Bytes of static shared memory (`CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES`).
    pub static_shared_bytes: Option<u32>,
    /// Registers per thread (`CU_FUNC_ATTRIBUTE_NUM_REGS`).
    pub registers_per_thread: Option<u32>,
    /// The most threads per block the compiled kernel can be launched with
    /// (`CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`: registers included).
    pub max_threads_per_block: Option<u32>,
}

impl Resources {
    /// What a PTX module made by tilefuse says about itself: its dynamic shared memory (0
    /// without the marker line). Errors on a malformed marker.
    pub fn from_ptx(ptx: &str) -> Result<Resources, Error> {
        Ok(Resources {
            dynamic_shared_bytes: Some(crate::ptx::required_shared_bytes(ptx)?),
            ..Resources::default()
        })
    }
}

/// A configuration offered to the tuner, with what its variant needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The configuration.
    pub config: TuneConfig,
    /// What its variant needs (checked against the device before any launch).
    pub resources: Resources,
}

impl Candidate {
    /// A candidate whose needs are not known (only its threads per block are checked).
    pub fn new(config: TuneConfig) -> Candidate {
        Candidate {
            config,
            resources: Resources::default(),
        }
    }
}

/// The limits of a device that decide whether a variant can run there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    /// `CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK`.
    pub max_threads_per_block: u32,
    /// `CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN` (static + dynamic).
    pub max_shared_per_block_optin: u32,
    /// `CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK`.
    pub max_registers_per_block: u32,
}

/// The device a choice is made for: its name, its compute capability as `sm_XY` and its
/// limits. `Device::tune_device` gives it for a GPU; tests build one by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneDevice {
    /// The driver's name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// The compute capability as `sm_{major}{minor}` (`sm_90`).
    pub arch: String,
    /// Its limits.
    pub limits: DeviceLimits,
}

/// The key of a choice: device name, compute capability, kernel, the caller's shape key and
/// a hash of the candidate list (so a choice made among other configurations is never
/// reused). Every field is one line of text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TuneKey {
    /// The device's name.
    pub device: String,
    /// The device's compute capability (`sm_90`).
    pub arch: String,
    /// The kernel's name.
    pub kernel: String,
    /// The caller's shape key (`dtype=f16,d=64,n=4096,causal=1`).
    pub shape: String,
    /// [`candidates_hash`] of the candidate list.
    pub candidates: u64,
}

impl TuneKey {
    /// The key of a choice for `kernel` and `shape` on `device` among `candidates`. Errors
    /// when a field is empty or not one line (it could not be stored).
    pub fn new(
        device: &TuneDevice,
        kernel: &str,
        shape: &str,
        candidates: &[Candidate],
    ) -> Result<TuneKey, Error> {
        for (what, v) in [
            ("device name", device.name.as_str()),
            ("device arch", device.arch.as_str()),
            ("kernel name", kernel),
            ("shape key", shape),
        ] {
            if v.trim().is_empty() || v.contains(['\n', '\r']) {
                return Err(Error::Invalid(format!(
                    "autotune: the {what} {v:?} must be one non-empty line of text"
                )));
            }
        }
        Ok(TuneKey {
            device: device.name.clone(),
            arch: device.arch.clone(),
            kernel: kernel.to_string(),
            shape: shape.to_string(),
            candidates: candidates_hash(candidates.iter().map(|c| &c.config)),
        })
    }

    /// A 64-bit hash of the whole key (file names).
    pub fn hash(&self) -> u64 {
        fnv(format!(
            "{}\n{}\n{}\n{}\n{:016x}",
            self.device, self.arch, self.kernel, self.shape, self.candidates
        )
        .as_bytes())
    }
}

/// A hash of a list of configurations, in order: FNV-1a of one line per configuration.
pub fn candidates_hash<'a>(configs: impl IntoIterator<Item = &'a TuneConfig>) -> u64 {
    let text: String = configs
        .into_iter()
        .map(|c| format!("{}|{}|{}\n", c.consts, c.num_warps, c.num_stages))
        .collect();
    fnv(text.as_bytes())
}

/// An H100-like device for the tests.
#[cfg(test)]
pub(crate) fn test_device() -> TuneDevice {
    TuneDevice {
        name: "Test GPU".into(),
        arch: "sm_90".into(),
        limits: DeviceLimits {
            max_threads_per_block: 1024,
            max_shared_per_block_optin: 227 * 1024,
            max_registers_per_block: 65536,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilefuse_codegen::ir::ConstValue;

    fn device() -> TuneDevice {
        test_device()
    }

    #[test]
    fn configs_describe_their_declaration() {
        let c = Config {
            consts: &[
                ("BLOCK_M", ConstValue::Int(128)),
                ("BLOCK_N", ConstValue::Int(64)),
            ],
            num_warps: 8,
            num_stages: 2,
            cpu_only: false,
        };
        let t = TuneConfig::from_config(&c);
        assert_eq!(t, TuneConfig::new("BLOCK_M = 128, BLOCK_N = 64", 8, 2));
        assert_eq!(t.threads(), 256);
        assert_eq!(
            t.to_string(),
            "BLOCK_M = 128, BLOCK_N = 64 (num_warps = 8, num_stages = 2)"
        );
    }

    #[test]
    fn keys_depend_on_every_field_and_the_candidate_order() {
        let a = Candidate::new(TuneConfig::new("B = 1", 4, 2));
        let b = Candidate::new(TuneConfig::new("B = 2", 4, 2));
        let dev = device();
        let k = TuneKey::new(&dev, "k", "n=1", &[a.clone(), b.clone()]).unwrap();
        let swapped = TuneKey::new(&dev, "k", "n=1", &[b.clone(), a.clone()]).unwrap();
        assert_ne!(k.candidates, swapped.candidates);
        let stages = Candidate::new(TuneConfig::new("B = 1", 4, 3));
        let other = TuneKey::new(&dev, "k", "n=1", &[stages, b.clone()]).unwrap();
        assert_ne!(k.candidates, other.candidates);
        let shape = TuneKey::new(&dev, "k", "n=2", &[a.clone(), b.clone()]).unwrap();
        assert_ne!(k.hash(), shape.hash());
        assert_eq!(
            k.hash(),
            TuneKey::new(&dev, "k", "n=1", &[a.clone(), b.clone()])
                .unwrap()
                .hash()
        );
        let err = TuneKey::new(&dev, "k", "n=1\nx", std::slice::from_ref(&a))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shape key") && err.contains("one non-empty line"),
            "{err}"
        );
        assert!(TuneKey::new(&dev, "", "n=1", &[a]).is_err());
    }

    #[test]
    fn resources_read_the_ptx_marker() {
        let marker = tilefuse_codegen::gpu::SHARED_BYTES_MARKER;
        let r = Resources::from_ptx(&format!(".entry k()\n{marker}4096\n")).unwrap();
        assert_eq!(r.dynamic_shared_bytes, Some(4096));
        assert_eq!(r.registers_per_thread, None);
        assert_eq!(
            Resources::from_ptx(".entry k()\n")
                .unwrap()
                .dynamic_shared_bytes,
            Some(0)
        );
        assert!(Resources::from_ptx(&format!("{marker}many\n")).is_err());
    }
}
