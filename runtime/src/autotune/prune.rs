//! Pruning: which candidates cannot run on a device, decided without a launch.
//!
//! A candidate is pruned when its block of `32 * num_warps` threads exceeds the device's
//! limit or the compiled kernel's own (the driver lowers it when the kernel uses many
//! registers), when its shared memory (static plus the dynamic bytes its PTX declares)
//! exceeds what the device grants a block on opt-in, or when its registers per thread times
//! its threads exceed the device's registers per block. These are the checks the launcher
//! makes before every launch (`cuda.rs`), made here on every candidate up front, so a
//! configuration that would fail is never timed. Unknown needs ([`crate::autotune::Resources`]
//! fields that are `None`) are not checked.

use super::config::{Candidate, DeviceLimits};

/// Why `candidate` cannot run on a device with `limits`, or `Ok` when nothing known forbids
/// it. The reason names the resource, the need and the limit.
pub fn check_fits(limits: &DeviceLimits, candidate: &Candidate) -> Result<(), String> {
    let c = &candidate.config;
    let r = &candidate.resources;
    if c.num_warps == 0 {
        return Err("num_warps = 0: a block needs at least one warp".to_string());
    }
    let threads = c.num_warps as u64 * 32;
    if threads > limits.max_threads_per_block as u64 {
        return Err(format!(
            "{threads} threads per block ({} warps) exceed the device's {}",
            c.num_warps, limits.max_threads_per_block
        ));
    }
    if let Some(max) = r.max_threads_per_block
        && threads > max as u64
    {
        return Err(format!(
            "{threads} threads per block exceed the {max} the compiled kernel allows \
             (registers per thread: {})",
            r.registers_per_thread
                .map_or("unknown".to_string(), |n| n.to_string())
        ));
    }
    let dynamic = r.dynamic_shared_bytes.unwrap_or(0) as u64;
    let fixed = r.static_shared_bytes.unwrap_or(0) as u64;
    if dynamic + fixed > limits.max_shared_per_block_optin as u64 {
        return Err(format!(
            "{} bytes of shared memory ({fixed} static + {dynamic} dynamic) exceed the \
             device's {} per block",
            dynamic + fixed,
            limits.max_shared_per_block_optin
        ));
    }
    if let Some(regs) = r.registers_per_thread {
        let need = regs as u64 * threads;
        if need > limits.max_registers_per_block as u64 {
            return Err(format!(
                "{regs} registers per thread x {threads} threads = {need} registers exceed the \
                 device's {} per block",
                limits.max_registers_per_block
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autotune::config::{Resources, TuneConfig, test_device};

    fn cand(warps: u32, r: Resources) -> Candidate {
        Candidate {
            config: TuneConfig::new("B = 1", warps, 2),
            resources: r,
        }
    }

    #[test]
    fn each_resource_prunes_with_its_reason() {
        let limits = test_device().limits;
        let ok = |warps, r| check_fits(&limits, &cand(warps, r));
        let err = |warps, r| ok(warps, r).unwrap_err();
        assert_eq!(ok(4, Resources::default()), Ok(()));
        assert_eq!(ok(32, Resources::default()), Ok(()));
        assert!(err(0, Resources::default()).contains("at least one warp"));
        assert_eq!(
            err(33, Resources::default()),
            "1056 threads per block (33 warps) exceed the device's 1024"
        );
        let smem = |dynamic, fixed| Resources {
            dynamic_shared_bytes: Some(dynamic),
            static_shared_bytes: Some(fixed),
            ..Resources::default()
        };
        assert_eq!(ok(4, smem(227 * 1024 - 16, 16)), Ok(()));
        assert_eq!(
            err(4, smem(227 * 1024, 16)),
            "232464 bytes of shared memory (16 static + 232448 dynamic) exceed the device's \
             232448 per block"
        );
        let regs = |n, max| Resources {
            registers_per_thread: Some(n),
            max_threads_per_block: max,
            ..Resources::default()
        };
        assert_eq!(ok(8, regs(255, None)), Ok(()));
        assert_eq!(
            err(16, regs(255, None)),
            "255 registers per thread x 512 threads = 130560 registers exceed the device's \
             65536 per block"
        );
        assert_eq!(
            err(8, regs(200, Some(128))),
            "256 threads per block exceed the 128 the compiled kernel allows (registers per \
             thread: 200)"
        );
    }
}
