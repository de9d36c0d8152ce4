//! Which tile sizes the public APIs launch on which device.
//!
//! Tile sizes are compile-time parameters: every distinct choice is a distinct kernel
//! variant. On the interpreter any variant compiles on first use, so the APIs pick tiles that
//! fit the data (the next power of two of a head dim, a token block sized to the tile, ...):
//! the interpreter pays for every padded lane. On a CUDA device a variant runs only from its
//! prebuilt PTX (`ptx/`, built by `scripts/prebuild.sh` from the declared configurations that
//! are not `cpu_only`) or from a JIT build: so there the APIs choose only among the declared
//! GPU configurations, the smallest that holds the data (the kernels mask the padding), and
//! reject up front a shape that no declared GPU configuration can hold (saying what fits).
//! `attention::flash` then lets the autotuner choose among the prebuilt GPU configurations
//! that hold the data (`src/attention/tune.rs`); the first fit stays its first candidate.
//! Each API keeps its choice in a pure function of the device kind and the shapes, next to
//! the launches that use it; the tests in `src/gpu_variants.rs` run every API with its GPU
//! choices and check that each variant it launches is prebuilt.

use crate::{Device, DeviceKind};

/// The device kind whose tile sizes an API picks for a launch on `dev`: its own kind, except
/// in the crate's tests, which can ask for the GPU's tiles on the interpreter
/// (`testing::record_gpu_launches`) to record, and run, what a GPU would launch.
pub(crate) fn tile_kind(dev: &Device) -> DeviceKind {
    #[cfg(test)]
    if let Some(kind) = crate::testing::forced_tile_kind() {
        return kind;
    }
    dev.kind()
}

/// The first of `tiles` that holds `v` (`fits(tile, v)`), in the given order: the tables list
/// the smallest (cheapest) tiles first.
pub(crate) fn first_fit<T: Copy>(tiles: &[T], fits: impl Fn(T) -> bool) -> Option<T> {
    tiles.iter().copied().find(|&t| fits(t))
}
