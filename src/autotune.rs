//! The facade's side of autotuning ([`crate::runtime::autotune`]): the process-wide tuner
//! the public APIs share, and tuning candidates drawn from the prebuilt PTX table.
//!
//! On a GPU the public APIs launch only prebuilt variants ([`crate::tiles`]), so an API that
//! tunes offers only the declared GPU configurations whose variant (the configuration plus
//! the launch's flags) has prebuilt PTX for the device: looked up as the runtime's launcher
//! does, best architecture first ([`Arch::candidates_for_device`]), by kernel name, the
//! fingerprint of the kernel's source and the compile-time values. Each candidate carries
//! what its PTX and its loaded module need (shared memory, registers), so the tuner prunes
//! those that cannot run before timing anything.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::codegen::arch::Arch;
use crate::codegen::ir::{ConstValue, describe_consts, fingerprint, parse_module};
use crate::runtime::autotune::{Autotuner, Candidate, TuneConfig};
use crate::runtime::{Config, KernelSource, PrebuiltPtx};
use crate::{Device, Error};

/// The tuner of this process: `TILEFUSE_AUTOTUNE` and the cache folder are read once, at the
/// first tuning; the shipped defaults are [`crate::autotune_defaults::DEFAULTS`]. An unknown
/// `TILEFUSE_AUTOTUNE` value is an error at every tuning, saying what works.
pub(crate) fn tuner() -> Result<&'static Autotuner, Error> {
    static TUNER: OnceLock<Result<Autotuner, String>> = OnceLock::new();
    TUNER
        .get_or_init(|| {
            Autotuner::from_env()
                .map(|t| t.with_defaults(crate::autotune_defaults::DEFAULTS))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Invalid(e.clone()))
}

/// The fingerprint of `kernel`'s unspecialized IR (what [`PrebuiltPtx::source_hash`]
/// records), computed once per kernel; None when the IR does not parse.
fn source_hash(kernel: &KernelSource) -> Option<u64> {
    static HASHES: OnceLock<Mutex<HashMap<usize, Option<u64>>>> = OnceLock::new();
    let key = kernel.ir.as_ptr() as usize;
    let mut hashes = HASHES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *hashes
        .entry(key)
        .or_insert_with(|| parse_module(kernel.ir).ok().map(|m| fingerprint(&m)))
}

/// The prebuilt PTX a device of compute capability `cc` runs for `kernel` with `consts`
/// (the best architecture at or below the device's), if any.
pub(crate) fn prebuilt_entry(
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    cc: (u32, u32),
) -> Option<&'static PrebuiltPtx> {
    let source = source_hash(kernel)?;
    let shown = describe_consts(consts);
    Arch::candidates_for_device(cc.0, cc.1)
        .into_iter()
        .find_map(|arch| {
            kernel.prebuilt.iter().find(|p| {
                p.kernel == kernel.name
                    && p.arch == arch.name()
                    && p.source_hash == source
                    && p.consts == shown
            })
        })
}

/// `config`'s compile-time values followed by the launch's `flags`, in the kernel's order
/// (configurations bind the tile sizes, flags the `#[constexpr] bool`s after them).
pub(crate) fn variant_consts<'a>(
    config: &'a Config,
    flags: &[(&'a str, bool)],
) -> Vec<(&'a str, ConstValue)> {
    config
        .consts
        .iter()
        .copied()
        .chain(flags.iter().map(|&(n, b)| (n, ConstValue::Bool(b))))
        .collect()
}

/// The tuning candidate for `config` of `kernel` launched with `flags` on the GPU `dev`: its
/// prebuilt PTX's needs and, from the module loaded (not launched), its registers. None when
/// that variant has no prebuilt PTX for the device.
pub(crate) fn prebuilt_candidate(
    dev: &Device,
    kernel: &KernelSource,
    config: &Config,
    flags: &[(&str, bool)],
) -> Result<Option<Candidate>, Error> {
    let Some(cc) = dev.compute_capability() else {
        return Ok(None);
    };
    let Some(entry) = prebuilt_entry(kernel, &variant_consts(config, flags), cc) else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        config: TuneConfig::from_config(config),
        resources: dev.kernel_resources(entry.ptx, kernel.name)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::FlashElement;
    use crate::f16;

    #[test]
    fn prebuilt_entries_follow_the_device_and_the_flags() {
        let kernel = <f16 as FlashElement>::fwd_kernel();
        let gpu = kernel
            .configs
            .iter()
            .find(|c| !c.cpu_only)
            .expect("flash declares GPU configurations");
        let plain = [
            ("varlen", false),
            ("causal", true),
            ("local", false),
            ("capped", false),
            ("alibi", false),
        ];
        let consts = variant_consts(gpu, &plain);
        assert_eq!(consts.len(), gpu.consts.len() + plain.len());
        let on_h100 = prebuilt_entry(&kernel, &consts, (9, 0)).expect("prebuilt for sm_90");
        assert_eq!(on_h100.kernel, "flash_fwd_f16");
        assert!(
            on_h100.consts.contains("causal = true"),
            "{}",
            on_h100.consts
        );
        assert!(on_h100.arch.starts_with("sm_"));
        let on_t4 = prebuilt_entry(&kernel, &consts, (7, 5)).expect("prebuilt for sm_75");
        assert_eq!(on_t4.arch, "sm_75");
        // Too old a device, an opt-in flag, a CPU-only configuration: nothing prebuilt.
        assert!(prebuilt_entry(&kernel, &consts, (7, 0)).is_none());
        let mut capped = plain;
        capped[3].1 = true;
        assert!(prebuilt_entry(&kernel, &variant_consts(gpu, &capped), (9, 0)).is_none());
        let cpu = kernel.configs.iter().find(|c| c.cpu_only).unwrap();
        assert!(prebuilt_entry(&kernel, &variant_consts(cpu, &plain), (9, 0)).is_none());
        // Another element type's kernel does not match f16's source.
        let bf = <crate::bf16 as FlashElement>::fwd_kernel();
        let bf_entry = prebuilt_entry(&bf, &variant_consts(gpu, &plain), (9, 0)).unwrap();
        assert_eq!(bf_entry.kernel, "flash_fwd_bf16");
        // On the CPU there is no candidate (and nothing is loaded).
        assert_eq!(
            prebuilt_candidate(&Device::cpu(), &kernel, gpu, &plain).unwrap(),
            None
        );
    }

    #[test]
    fn the_process_tuner_reads_the_environment() {
        // The crate's tests do not set TILEFUSE_AUTOTUNE to a bad value.
        let t = tuner().unwrap();
        assert!(std::ptr::eq(t, tuner().unwrap()));
    }
}
