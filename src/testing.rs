//! Test support: the device the kernel tests run on.
//!
//! The seed kernels' unit tests (`src/kernels/*`) check every kernel against the f64
//! references on the CPU interpreter by default. With `TILEFUSE_TEST_DEVICE=cuda` the same
//! tests, with the same inputs and tolerances, run on CUDA GPU 0 instead (a release test
//! binary packed by `scripts/gpu/pack-tests.sh` and run by `gpu-out/run-tests.sh`).
//!
//! What differs on a GPU is only what cannot be the same:
//! * tile sizes that are `cpu_only` (or not declared at all) have no GPU code, so a test that
//!   passes explicit CPU tiles runs with the GPU's instead ([`gpu_config`] says which exist);
//! * a kernel the NVPTX lowering cannot compile yet (no prebuilt PTX for any configuration:
//!   `ptx/manifest.md`, "Not built") cannot run, so the part of a test that needs it is
//!   skipped with a `skipped on GPU: ...` line on stderr ([`skip_without_gpu_code`]); the
//!   check is against the prebuilt table, so the part runs again once the kernel builds.
//!
//! [`record_gpu_launches`] and [`run_with_gpu_tiles`] run code with the tile sizes the public
//! APIs pick for a GPU (on the interpreter, or not at all) and record the kernel variants it
//! launches: `src/gpu_variants.rs` checks with them that every API launches only prebuilt
//! variants on a GPU.
//!
//! On a GPU the public APIs pick only prebuilt tile sizes ([`crate::tiles`]); launches whose
//! variant is still not prebuilt (opt-in flags prebuilt `false` only: softcap, `ALiBi`,
//! windows) load their PTX from the runtime's disk cache (`TILEFUSE_CACHE_DIR`) on a machine
//! without the compiler; a missing entry fails the test with the runtime's "no prebuilt PTX"
//! error naming the variant.

use std::cell::{Cell, RefCell};

use crate::codegen::ir::{ConstValue, fingerprint, parse_module};
use crate::runtime::KernelSource;
use crate::{Device, DeviceKind};

/// One launch recorded by [`with_gpu_tiles`]: the kernel and its compile-time values.
#[derive(Clone, Debug)]
pub(crate) struct Launched {
    /// The kernel's source (its name, IR and declared configurations).
    pub kernel: KernelSource,
    /// The compile-time values it was launched with.
    pub consts: Vec<(String, ConstValue)>,
}

thread_local! {
    /// The tile kind [`crate::tiles::tile_kind`] answers on this thread, when set.
    static FORCED_TILE_KIND: Cell<Option<DeviceKind>> = const { Cell::new(None) };
    /// The launches of this thread, while they are recorded.
    static RECORDED: RefCell<Option<Vec<Launched>>> = const { RefCell::new(None) };
    /// Whether recorded launches are skipped instead of run.
    static DRY: Cell<bool> = const { Cell::new(false) };
}

/// The tile kind forced on this thread by [`with_gpu_tiles`], if any.
pub(crate) fn forced_tile_kind() -> Option<DeviceKind> {
    FORCED_TILE_KIND.with(Cell::get)
}

/// Records a launch on this thread while [`record_gpu_launches`] or [`run_with_gpu_tiles`]
/// runs (called by `__private::launch` for every `#[tile_kernel]` launch of the crate's
/// tests). True when the launch is to be skipped ([`record_gpu_launches`]).
pub(crate) fn record_launch(kernel: &KernelSource, consts: &[(&str, ConstValue)]) -> bool {
    RECORDED.with(|r| match r.borrow_mut().as_mut() {
        Some(list) => {
            list.push(Launched {
                kernel: *kernel,
                consts: consts.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            });
            DRY.with(Cell::get)
        }
        None => false,
    })
}

/// Runs `f` with the public APIs picking the tile sizes of a CUDA device and returns its
/// result with the kernel launches it made, in order; with `dry` the launches are skipped
/// (outputs stay as allocated), else they run on the device `f` uses.
fn with_gpu_tiles<R>(dry: bool, f: impl FnOnce() -> R) -> (R, Vec<Launched>) {
    /// Restores this thread's state even when `f` panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            FORCED_TILE_KIND.with(|k| k.set(None));
            RECORDED.with(|r| r.borrow_mut().take());
            DRY.with(|d| d.set(false));
        }
    }
    assert!(
        forced_tile_kind().is_none(),
        "GPU tiles are already forced on this thread"
    );
    let _reset = Reset;
    FORCED_TILE_KIND.with(|k| k.set(Some(DeviceKind::Cuda)));
    DRY.with(|d| d.set(dry));
    RECORDED.with(|r| *r.borrow_mut() = Some(Vec::new()));
    let out = f();
    let launched = RECORDED.with(|r| r.borrow_mut().take()).unwrap_or_default();
    (out, launched)
}

/// The kernel variants `f` launches when the public APIs pick a GPU's tile sizes, without
/// running them: every launch returns `Ok` at once and outputs keep their initial values, so
/// only code whose launches do not depend on kernel results may be passed (the APIs' launch
/// sequences depend on shapes and options only). Cheap for any shape.
pub(crate) fn record_gpu_launches<R>(f: impl FnOnce() -> R) -> (R, Vec<Launched>) {
    with_gpu_tiles(true, f)
}

/// Runs `f` with the public APIs picking a GPU's tile sizes (on the device `f` uses, e.g. the
/// interpreter) and returns its result with the variants it launched.
pub(crate) fn run_with_gpu_tiles<R>(f: impl FnOnce() -> R) -> (R, Vec<Launched>) {
    with_gpu_tiles(false, f)
}

/// The environment variable that picks the test device: unset, empty or `cpu` for the
/// interpreter, `cuda` for CUDA GPU 0.
pub(crate) const TEST_DEVICE_ENV: &str = "TILEFUSE_TEST_DEVICE";

/// True when `TILEFUSE_TEST_DEVICE` asks for the GPU (panics on a value it does not know).
pub(crate) fn on_gpu() -> bool {
    match std::env::var(TEST_DEVICE_ENV) {
        Err(std::env::VarError::NotPresent) => false,
        Ok(v) if v.is_empty() || v == "cpu" => false,
        Ok(v) if v == "cuda" => true,
        Ok(v) => panic!("{TEST_DEVICE_ENV} = {v:?}: expected `cpu` (the default) or `cuda`"),
        Err(e) => panic!("{TEST_DEVICE_ENV}: {e}; expected `cpu` (the default) or `cuda`"),
    }
}

/// A fresh handle on the test device: `Device::cpu()` by default, CUDA GPU 0 when
/// `TILEFUSE_TEST_DEVICE=cuda` (panics, saying why, when there is none). Each call makes a
/// separate device, as `Device::cpu()` does.
pub(crate) fn test_device() -> Device {
    if !on_gpu() {
        return Device::cpu();
    }
    Device::cuda(0).unwrap_or_else(|e| {
        panic!(
            "{TEST_DEVICE_ENV}=cuda but CUDA device 0 cannot be opened: {e}; \
             run on a machine with an NVIDIA GPU and driver, or unset {TEST_DEVICE_ENV}"
        )
    })
}

/// True when `kernel` declares a configuration with exactly the integer compile-time values
/// `consts` that is not `cpu_only`: one that has GPU code (prebuilt, or from the JIT cache).
pub(crate) fn gpu_config(kernel: &KernelSource, consts: &[(&str, i64)]) -> bool {
    kernel.configs.iter().any(|c| {
        !c.cpu_only
            && consts.iter().all(|(name, v)| {
                c.consts
                    .iter()
                    .any(|(n, cv)| n == name && *cv == ConstValue::Int(*v))
            })
    })
}

/// True when the prebuilt table holds PTX for some configuration of `kernel`: the NVPTX
/// lowering compiles it. False for kernels it cannot compile yet (listed with why under
/// "Not built" in `ptx/manifest.md`).
pub(crate) fn has_gpu_code(kernel: &KernelSource) -> bool {
    let Ok(module) = parse_module(kernel.ir) else {
        return false;
    };
    let source = fingerprint(&module);
    kernel
        .prebuilt
        .iter()
        .any(|p| p.kernel == kernel.name && p.source_hash == source)
}

/// On a GPU, when one of `kernels` has no GPU code ([`has_gpu_code`]), prints
/// `skipped on GPU: {what}: ...` to stderr and returns true: the caller skips `what`.
/// False on the CPU, and on a GPU when every kernel has code.
pub(crate) fn skip_without_gpu_code(dev: &Device, what: &str, kernels: &[KernelSource]) -> bool {
    if dev.kind() != DeviceKind::Cuda {
        return false;
    }
    let missing: Vec<&str> = kernels
        .iter()
        .filter(|k| !has_gpu_code(k))
        .map(|k| k.name)
        .collect();
    if missing.is_empty() {
        return false;
    }
    eprintln!(
        "skipped on GPU: {what}: {} cannot be compiled for a GPU yet (no prebuilt PTX; \
         ptx/manifest.md, \"Not built\", says why)",
        missing.join(", ")
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{flash, tssa};

    #[test]
    fn the_default_device_is_the_interpreter() {
        if !on_gpu() {
            assert_eq!(test_device().kind(), DeviceKind::Cpu);
        }
    }

    #[test]
    fn gpu_configs_exclude_cpu_only_and_undeclared_tiles() {
        let k = flash::flash_fwd_f32::<1, 1, 1>::KERNEL;
        let tiles = |m, n, d| [("BLOCK_M", m), ("BLOCK_N", n), ("BLOCK_D", d)];
        assert!(gpu_config(&k, &tiles(128, 64, 64)));
        assert!(gpu_config(&k, &tiles(64, 32, 256)));
        assert!(!gpu_config(&k, &tiles(16, 16, 64)), "cpu_only");
        assert!(!gpu_config(&k, &tiles(32, 16, 64)), "not declared");
    }

    /// A kernel that is not bundled: no prebuilt PTX can belong to it.
    #[crate::tile_kernel]
    fn not_bundled<const BLOCK: usize>(x: Ptr<f32>, n: i32) {
        let offs = program_id(0) * BLOCK + arange::<BLOCK>();
        store(x + offs, load(x + offs, offs < n, 0.0) + 1.0, offs < n);
    }

    #[test]
    fn gpu_code_is_the_prebuilt_ptx_of_that_very_kernel() {
        assert!(has_gpu_code(&flash::flash_fwd_f16::<1, 1, 1>::KERNEL));
        assert!(has_gpu_code(&tssa::tssa_colsq::KERNEL));
        assert!(!has_gpu_code(&not_bundled::<1>::KERNEL));
        assert!(!skip_without_gpu_code(
            &Device::cpu(),
            "nothing",
            &[not_bundled::<1>::KERNEL]
        ));
    }
}
