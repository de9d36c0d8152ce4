//! Shipped autotuning defaults: the configuration to launch per device, kernel and shape key,
//! consulted before the disk cache ([`crate::runtime::autotune`]), so that a machine of a
//! listed kind runs the tuned configuration at the first call, without a tuning run.
//!
//! **Where the entries come from.** The H100 entries below were measured on 2026-11-25
//! (nvidia-h100-x1, the commit that added them; each line ends with the winner's median time):
//! on the H100, with an empty cache folder, the ignored test `tests/gpu_autotune.rs`
//! (`TILEFUSE_AUTOTUNE=force TILEFUSE_CACHE_DIR=DIR`) tunes `attention::flash` over the
//! benchmark's shapes and prints one [`TunedDefault`] line per key it measured; those lines
//! are pasted here. Re-measure after changing flash's configurations or the compiler.
//! Today flash's GPU configurations differ only in the head tile, so each winner is the
//! smallest tile that holds the head dim. No entry may be written by hand or guessed: an entry is a
//! measurement. An entry applies only on a device whose driver name and compute capability
//! match exactly, for the exact shape key (see `src/attention/tune.rs` for flash's keys),
//! and only when the configuration it names is still a declared, prebuilt candidate that
//! fits (`check_entries` below and the tuner's own check).

use crate::runtime::autotune::TunedDefault;
#[cfg(test)]
use crate::runtime::{KernelSource, autotune::TuneConfig};

/// The shipped choices (see the module doc for how they were measured).
pub(crate) static DEFAULTS: &[TunedDefault] = &[
    // src/autotune_defaults.rs, measured on NVIDIA H100 80GB HBM3:
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=1024,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 1.062 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=1024,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 0.691 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=4096,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 3.728 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=4096,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 2.034 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=16384,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 14.075 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=64,n=16384,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64",
        num_warps: 4,
        num_stages: 3,
    }, // 7.221 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=1024,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 1.032 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=1024,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 0.668 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=4096,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 3.308 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=4096,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 1.869 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=16384,causal=0,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 13.608 ms
    TunedDefault {
        device: "NVIDIA H100 80GB HBM3",
        arch: "sm_90",
        kernel: "flash_fwd_f16",
        shape: "dtype=f16,d=128,n=16384,causal=1,varlen=0",
        consts: "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 128",
        num_warps: 8,
        num_stages: 2,
    }, // 6.411 ms
];

/// Checks that every entry of `table` names a bundled kernel among `kernels` and one of its
/// declared GPU configurations (constants, warps and stages), and that no key is listed
/// twice; returns the problems found.
#[cfg(test)]
pub(crate) fn check_entries(table: &[TunedDefault], kernels: &[KernelSource]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, d) in table.iter().enumerate() {
        let Some(k) = kernels.iter().find(|k| k.name == d.kernel) else {
            problems.push(format!("entry {i}: no bundled kernel `{}`", d.kernel));
            continue;
        };
        let declared = k
            .configs
            .iter()
            .filter(|c| !c.cpu_only)
            .any(|c| TuneConfig::from_config(c) == d.config());
        if !declared {
            problems.push(format!(
                "entry {i}: {} is not a declared GPU configuration of `{}`",
                d.config(),
                d.kernel
            ));
        }
        let twice = table[..i].iter().any(|e| {
            (e.device, e.arch, e.kernel, e.shape) == (d.device, d.arch, d.kernel, d.shape)
        });
        if twice {
            problems.push(format!(
                "entry {i}: the key {} {} {} `{}` is listed twice",
                d.device, d.arch, d.kernel, d.shape
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::FlashElement;
    use crate::{bf16, f16};

    fn kernels() -> Vec<KernelSource> {
        vec![
            <f16 as FlashElement>::fwd_kernel(),
            <bf16 as FlashElement>::fwd_kernel(),
            <f32 as FlashElement>::fwd_kernel(),
        ]
    }

    #[test]
    fn shipped_entries_name_declared_configurations() {
        let problems = check_entries(DEFAULTS, &kernels());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_check_catches_bad_entries() {
        // Fake entries, for the check only: not measurements.
        let entry = |kernel, shape, consts, num_warps| TunedDefault {
            device: "Test GPU",
            arch: "sm_90",
            kernel,
            shape,
            consts,
            num_warps,
            num_stages: if num_warps == 4 { 3 } else { 2 },
        };
        let m128 = "BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64";
        let good = entry("flash_fwd_f16", "d=64", m128, 4);
        assert!(check_entries(&[good], &kernels()).is_empty());
        let problems = check_entries(
            &[
                good,
                good,
                entry("flash_fwd_f16", "d=32", m128, 8),
                entry(
                    "flash_fwd_f16",
                    "d=16",
                    "BLOCK_M = 16, BLOCK_N = 16, BLOCK_D = 64",
                    4,
                ),
                entry("no_such_kernel", "d=64", "B = 1", 4),
            ],
            &kernels(),
        );
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("entry 1: the key"), "{problems:#?}");
        assert!(
            problems[1].starts_with("entry 2:") && problems[1].contains("num_warps = 8"),
            "{problems:#?}"
        );
        assert!(
            problems[2].starts_with("entry 3:") && problems[2].contains("not a declared GPU"),
            "{problems:#?}"
        );
        assert!(problems[3].contains("no bundled kernel `no_such_kernel`"));
    }
}
