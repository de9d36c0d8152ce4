//! Autotuning the tiles of [`super::flash`] and [`super::flash_varlen`] on a GPU.
//!
//! Without tuning a GPU launches the smallest declared GPU configuration whose head tile
//! holds the head dim (`Blocks::for_device`). With it ([`crate::runtime::autotune`]), when
//! more than one declared GPU configuration holds the head dim and has prebuilt PTX for the
//! launch's variant (its `varlen`/`causal` flags; the opt-in flags are prebuilt `false`
//! only, so a launch with a window, softcap or `ALiBi` has no candidates and keeps the first
//! fit), the tuner chooses among them, keyed by [`shape_key`]: element type, head dim, the
//! longer of the (longest) query and key lengths rounded up to a power of two, causal and
//! varlen. The candidates are ordered like the first fit (smallest head tile first), so
//! `TILEFUSE_AUTOTUNE=0` launches exactly what the GPU launched before tuning existed; every
//! candidate is prebuilt, so `src/gpu_variants.rs` holds whatever is chosen.
//!
//! Measuring launches each candidate on the call's own inputs and outputs (on a stream of
//! its own, timed with CUDA events); the call then launches the winner, which overwrites
//! the outputs. A choice is remembered per device name, kernel and key in this process, on
//! disk, and may be shipped (`src/autotune_defaults.rs`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::Launch;
use crate::autotune::{prebuilt_candidate, tuner};
use crate::kernels::flash::{Blocks, FlashElement};
use crate::runtime::autotune::{Candidate, EventTiming};
use crate::runtime::{Config, KernelSource};
use crate::{Error, Stream, Tensor};

/// The declared GPU configurations of the forward `kernel` whose head tile holds `d`, with
/// their tiles: smallest head tile first, in declaration order among equal ones (so the
/// first is the GPU's first fit, `Blocks::for_device`).
pub(super) fn gpu_configs(kernel: &KernelSource, d: usize) -> Vec<(&'static Config, Blocks)> {
    let mut found: Vec<(&'static Config, Blocks)> = kernel
        .configs
        .iter()
        .filter(|c| !c.cpu_only)
        .filter_map(|c| Blocks::from_config(c).map(|b| (c, b)))
        .filter(|(_, b)| b.d >= d)
        .collect();
    found.sort_by_key(|(_, b)| b.d);
    found
}

/// The shape key of a launch: `dtype=f16,d=64,n=4096,causal=1,varlen=0`, with `n` the
/// longer sequence length rounded up to a power of two.
pub(super) fn shape_key(dtype: &str, d: usize, n: usize, causal: bool, varlen: bool) -> String {
    format!(
        "dtype={dtype},d={d},n={},causal={},varlen={}",
        n.max(1).next_power_of_two(),
        u8::from(causal),
        u8::from(varlen)
    )
}

/// Tiles chosen in this process, per (device name and arch, kernel, shape key): later calls
/// skip building the candidates.
type Memo = Mutex<HashMap<(String, &'static str, String), Blocks>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The tiles to launch `l` with on its GPU: `first` (the first fit) unless the tuner chooses
/// among two or more prebuilt candidates. Measuring writes `o` and `lse`.
pub(super) fn choose<T: FlashElement>(
    l: &Launch<'_, T>,
    first: Blocks,
    dummies: (&Tensor<i32>, &Tensor<f32>),
    o: &mut Tensor<T>,
    lse: &mut Tensor<f32>,
) -> Result<Blocks, Error> {
    let Some(device) = l.dev.tune_device() else {
        return Ok(first);
    };
    let kernel = T::fwd_kernel();
    let key = shape_key(
        &T::DTYPE.to_string(),
        l.dims.d,
        l.max_seqlen_q.max(l.max_seqlen_k),
        l.params.causal,
        l.cu.is_some(),
    );
    let memo_key = (
        format!("{} {}", device.name, device.arch),
        kernel.name,
        key.clone(),
    );
    if let Some(b) = memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&memo_key)
    {
        return Ok(*b);
    }
    let flags = [
        ("varlen", l.cu.is_some()),
        ("causal", l.params.causal),
        ("local", l.scalars.local),
        ("capped", l.scalars.softcap > 0.0),
        ("alibi", l.params.alibi_slopes.is_some()),
    ];
    let mut candidates = Vec::new();
    let mut tiles = Vec::new();
    for (config, blocks) in gpu_configs(&kernel, l.dims.d) {
        if let Some(c) = prebuilt_candidate(l.dev, &kernel, config, &flags)? {
            candidates.push(c);
            tiles.push(blocks);
        }
    }
    let chosen = if candidates.len() < 2 {
        first
    } else {
        let stream = l.dev.new_stream()?;
        let mut timing = EventTiming::new(&stream, |c: &Candidate, s: &Stream| {
            let i = candidates
                .iter()
                .position(|x| x.config == c.config)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "autotune: {} is not a candidate of {}",
                        c.config, kernel.name
                    ))
                })?;
            let b = tiles[i];
            T::launch_fwd(l.dev, Some(s), l.grid(b), b, l.args(dummies, o, lse))
        })?;
        let choice = tuner()?.choose(kernel.name, &key, &device, &candidates, &mut timing)?;
        tiles[choice.index]
    };
    memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(memo_key, chosen);
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceKind, bf16, f16};

    #[test]
    fn candidates_start_with_the_first_fit() {
        for kernel in [
            <f16 as FlashElement>::fwd_kernel(),
            <bf16 as FlashElement>::fwd_kernel(),
            <f32 as FlashElement>::fwd_kernel(),
        ] {
            for d in 1..=256 {
                let found = gpu_configs(&kernel, d);
                assert!(!found.is_empty(), "{} d = {d}", kernel.name);
                assert_eq!(
                    found[0].1,
                    Blocks::for_device(DeviceKind::Cuda, d),
                    "{} d = {d}",
                    kernel.name
                );
                assert!(found.iter().all(|(c, b)| !c.cpu_only && b.d >= d));
                assert!(found.windows(2).all(|w| w[0].1.d <= w[1].1.d));
            }
            // Every GPU configuration holds a head dim of 64; only the 256-wide one holds 200.
            let gpu = kernel.configs.iter().filter(|c| !c.cpu_only).count();
            assert_eq!(gpu_configs(&kernel, 64).len(), gpu);
            assert!(gpu_configs(&kernel, 200).iter().all(|(_, b)| b.d == 256));
        }
    }

    #[test]
    fn every_candidate_has_prebuilt_ptx_on_an_h100() {
        use crate::autotune::{prebuilt_entry, variant_consts};
        let kernel = <f16 as FlashElement>::fwd_kernel();
        for varlen in [false, true] {
            for causal in [false, true] {
                let flags = [
                    ("varlen", varlen),
                    ("causal", causal),
                    ("local", false),
                    ("capped", false),
                    ("alibi", false),
                ];
                for (config, b) in gpu_configs(&kernel, 64) {
                    let consts = variant_consts(config, &flags);
                    assert!(
                        prebuilt_entry(&kernel, &consts, (9, 0)).is_some(),
                        "{b:?} varlen = {varlen}, causal = {causal}"
                    );
                }
            }
        }
    }

    #[test]
    fn shape_keys_bucket_the_length() {
        assert_eq!(
            shape_key("f16", 64, 4096, true, false),
            "dtype=f16,d=64,n=4096,causal=1,varlen=0"
        );
        assert_eq!(
            shape_key("bf16", 96, 3000, false, true),
            "dtype=bf16,d=96,n=4096,causal=0,varlen=1"
        );
        assert_eq!(
            shape_key("f32", 8, 0, false, false),
            "dtype=f32,d=8,n=1,causal=0,varlen=0"
        );
        assert_eq!(
            shape_key("f16", 64, 4097, false, false),
            shape_key("f16", 64, 8192, false, false)
        );
    }
}
