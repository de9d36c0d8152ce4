//! Shipped defaults: choices measured once on a known device and compiled into the binary,
//! consulted before the disk cache so that a fresh machine of that kind needs no tuning run.
//!
//! The table itself lives with the kernels it describes (the facade's
//! `src/autotune_defaults.rs`); the runtime only defines the entry and the lookup. An entry
//! is keyed like the cache, by device name, compute capability, kernel and shape key, but not
//! by the candidate list: it applies when the configuration it names is among the candidates
//! offered (and fits the device), so adding a configuration to a kernel does not silently
//! drop its defaults, and removing the chosen one does.

use super::config::{TuneConfig, TuneKey};

/// One shipped choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunedDefault {
    /// The device's name, exactly as the driver reports it (`NVIDIA H100 80GB HBM3`).
    pub device: &'static str,
    /// The compute capability (`sm_90`).
    pub arch: &'static str,
    /// The kernel's name (`flash_fwd_f16`).
    pub kernel: &'static str,
    /// The shape key, exactly as the caller builds it.
    pub shape: &'static str,
    /// The chosen configuration's compile-time values (`BLOCK_M = 128, BLOCK_N = 64, ...`).
    pub consts: &'static str,
    /// Its warps per CTA.
    pub num_warps: u32,
    /// Its pipeline stages.
    pub num_stages: u32,
}

impl TunedDefault {
    /// The configuration this entry chooses.
    pub fn config(&self) -> TuneConfig {
        TuneConfig::new(self.consts, self.num_warps, self.num_stages)
    }

    /// The Rust source of an entry choosing `config` for `key` (a line of the facade's
    /// table, printed after a measured run).
    pub fn source_line(key: &TuneKey, config: &TuneConfig) -> String {
        format!(
            "TunedDefault {{ device: {:?}, arch: {:?}, kernel: {:?}, shape: {:?}, consts: {:?}, \
             num_warps: {}, num_stages: {} }},",
            key.device,
            key.arch,
            key.kernel,
            key.shape,
            config.consts,
            config.num_warps,
            config.num_stages
        )
    }

    /// Whether this entry is for `key` (everything but the candidate list).
    pub fn matches(&self, key: &TuneKey) -> bool {
        self.device == key.device
            && self.arch == key.arch
            && self.kernel == key.kernel
            && self.shape == key.shape
    }
}

/// The first entry of `table` for `key`.
pub fn find_default<'t>(table: &'t [TunedDefault], key: &TuneKey) -> Option<&'t TunedDefault> {
    table.iter().find(|d| d.matches(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autotune::config::{Candidate, test_device};

    /// A fake entry: for the test device only, never a measured one.
    static TABLE: &[TunedDefault] = &[
        TunedDefault {
            device: "Other GPU",
            arch: "sm_90",
            kernel: "k",
            shape: "n=1",
            consts: "B = 64",
            num_warps: 4,
            num_stages: 2,
        },
        TunedDefault {
            device: "Test GPU",
            arch: "sm_90",
            kernel: "k",
            shape: "n=1",
            consts: "B = 128",
            num_warps: 8,
            num_stages: 3,
        },
    ];

    #[test]
    fn lookup_matches_device_arch_kernel_and_shape() {
        let c = [Candidate::new(TuneConfig::new("B = 64", 4, 2))];
        let key =
            |kernel: &str, shape: &str| TuneKey::new(&test_device(), kernel, shape, &c).unwrap();
        let hit = find_default(TABLE, &key("k", "n=1")).unwrap();
        assert_eq!(hit.config(), TuneConfig::new("B = 128", 8, 3));
        assert!(find_default(TABLE, &key("k", "n=2")).is_none());
        assert!(find_default(TABLE, &key("j", "n=1")).is_none());
        assert_eq!(
            TunedDefault::source_line(&key("k", "n=1"), &hit.config()),
            "TunedDefault { device: \"Test GPU\", arch: \"sm_90\", kernel: \"k\", \
             shape: \"n=1\", consts: \"B = 128\", num_warps: 8, num_stages: 3 },"
        );
        let mut sm80 = key("k", "n=1");
        sm80.arch = "sm_80".into();
        assert!(find_default(TABLE, &sm80).is_none());
    }
}
