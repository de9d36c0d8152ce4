//! Autotuning: which of a kernel's declared configurations to launch, per device and shape.
//!
//! A kernel declares its configurations (`#[tile_kernel(configs = [(BLOCK_M = 128, ...,
//! num_warps = 4, num_stages = 3), ...])]`); the fastest depends on the device and the
//! problem's shape. The caller (a public API such as `attention::flash`) names the kernel,
//! builds a *shape key* (text such as `dtype=f16,d=64,n=4096,causal=1,varlen=0`: the shape
//! features that change the best choice, bucketed so that a few keys cover every problem) and
//! offers the [`Candidate`]s it may launch. [`Autotuner::choose`] then:
//!
//! 1. **prunes** the candidates that cannot run on the device, without launching anything
//!    ([`check_fits`]: threads per block, shared memory from the PTX's marker plus static,
//!    registers per thread from the loaded module); each pruned one is reported with its
//!    reason, and when none is left the error lists them all;
//! 2. with tuning off (`TILEFUSE_AUTOTUNE=0`), takes the first candidate that fits (callers
//!    order them smallest first: the choice before autotuning existed);
//! 3. with one candidate left, takes it;
//! 4. looks the [`TuneKey`] up (device name, compute capability, kernel, shape key, hash of
//!    the candidate list): in this process's memory, then in the shipped defaults
//!    ([`TunedDefault`], a `static` table the facade passes in), then in the disk cache
//!    ([`TuneCache`]); a hit is used only when its configuration is among the candidates that
//!    fit. An unusable cache file (corrupt, another key) is ignored, with a note saying why;
//! 5. otherwise **measures**: each candidate runs `warmup` times untimed, then `reps` times
//!    timed through the caller's [`Measure`] (on a GPU, [`EventTiming`]: CUDA events around
//!    one `launch_on`, after an untimed lead run that hides the host's launch overhead); the
//!    lowest median wins (ties go to the earlier candidate). A
//!    candidate the launcher refuses before launching ([`Error::Launch`]) is skipped and
//!    reported as pruned; any other error ends the tuning. The winner is stored in memory and
//!    on disk (a cache that cannot be written is a note, not an error).
//!
//! `TILEFUSE_AUTOTUNE` ([`TuneMode::from_env`]): unset, empty, `1` or `on` tune as above;
//! `0` or `off` take the first fit; `force` skips the shipped defaults and the disk cache and
//! measures again, once per key and process (the new choice replaces the file). Any other
//! value is an error that lists these.
//!
//! Measuring runs the kernel on the caller's real inputs several times (as Triton's
//! autotuner does): kernels that overwrite their outputs (attention) are fine; a kernel that
//! accumulates into an output must be given scratch outputs by its caller.

mod cache;
mod config;
mod defaults;
mod device;
mod measure;
mod prune;

use std::collections::HashMap;
use std::sync::Mutex;

pub use cache::{CachedChoice, TuneCache};
pub use config::{
    Candidate, DeviceLimits, Resources, TuneConfig, TuneDevice, TuneKey, candidates_hash,
};
pub use defaults::{TunedDefault, find_default};
pub use measure::{EventTiming, Measure};
pub use prune::check_fits;

use crate::error::Error;
use measure::median;

/// The environment variable that switches tuning (see [`TuneMode::from_env`]).
pub const AUTOTUNE_ENV: &str = "TILEFUSE_AUTOTUNE";

/// Whether and how the tuner measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneMode {
    /// No tuning: the first candidate that fits the device.
    Off,
    /// Memory, shipped defaults, disk cache, else measure (the default).
    On,
    /// Measure once per key and process, ignoring the shipped defaults and the disk cache.
    Force,
}

impl TuneMode {
    /// The mode `TILEFUSE_AUTOTUNE` asks for.
    pub fn from_env() -> Result<TuneMode, Error> {
        match std::env::var_os(AUTOTUNE_ENV) {
            None => TuneMode::parse(None),
            Some(v) => match v.to_str() {
                Some(s) => TuneMode::parse(Some(s)),
                None => Err(Error::Invalid(format!(
                    "{AUTOTUNE_ENV} is not valid UTF-8 ({v:?}); use 0, 1 or force"
                ))),
            },
        }
    }

    /// The mode of a `TILEFUSE_AUTOTUNE` value (`None` when unset): see the module doc.
    pub fn parse(value: Option<&str>) -> Result<TuneMode, Error> {
        match value.map(str::trim) {
            None | Some("" | "1" | "on") => Ok(TuneMode::On),
            Some("0" | "off") => Ok(TuneMode::Off),
            Some("force") => Ok(TuneMode::Force),
            Some(other) => Err(Error::Invalid(format!(
                "{AUTOTUNE_ENV}={other:?} is not understood: use 1 (or on, or unset) to tune and \
                 cache the choice, 0 (or off) for the first configuration that fits, force to \
                 measure again ignoring the cache"
            ))),
        }
    }
}

/// Where a [`Choice`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChoiceSource {
    /// Tuning is off: the first candidate that fits.
    FirstFit,
    /// Only one candidate fits the device.
    OnlyFit,
    /// This process chose it before, for the same key.
    Memory,
    /// The shipped defaults table.
    Default,
    /// The disk cache.
    DiskCache,
    /// Measured now.
    Measured,
}

/// A candidate pruned or skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// Its index in the candidate list.
    pub index: usize,
    /// Its configuration.
    pub config: TuneConfig,
    /// Why it cannot run.
    pub reason: String,
}

/// The median time of one measured candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Its index in the candidate list.
    pub index: usize,
    /// The median of its timed runs, in milliseconds.
    pub median_ms: f32,
}

/// The tuner's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The index of the chosen candidate in the list given.
    pub index: usize,
    /// Its configuration.
    pub config: TuneConfig,
    /// How it was chosen.
    pub source: ChoiceSource,
    /// The candidates that cannot run on the device (or that the launcher refused), with
    /// the reasons.
    pub pruned: Vec<Pruned>,
    /// The medians measured now (empty unless [`ChoiceSource::Measured`]).
    pub timings: Vec<Timing>,
    /// What else happened that a user may want to know: an unusable cache file, a shipped
    /// default that is not among the candidates, a cache that could not be written.
    pub notes: Vec<String>,
}

/// Chooses among a kernel's configurations per device and shape key (see the module doc).
/// Shareable between threads; two threads tuning the same key at once both measure.
#[derive(Debug)]
pub struct Autotuner {
    mode: TuneMode,
    cache: Option<TuneCache>,
    defaults: &'static [TunedDefault],
    warmup: u32,
    reps: u32,
    memory: Mutex<HashMap<TuneKey, TuneConfig>>,
}

impl Autotuner {
    /// A tuner in `mode`, storing choices in `cache` (none: memory only), without shipped
    /// defaults, with 2 warm-up runs and the median of 10 timed ones per candidate.
    pub fn new(mode: TuneMode, cache: Option<TuneCache>) -> Autotuner {
        Autotuner {
            mode,
            cache,
            defaults: &[],
            warmup: 2,
            reps: 10,
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// The tuner the environment asks for: [`TuneMode::from_env`] and
    /// [`TuneCache::from_env`]. Errors on an unknown `TILEFUSE_AUTOTUNE` value.
    pub fn from_env() -> Result<Autotuner, Error> {
        Ok(Autotuner::new(TuneMode::from_env()?, TuneCache::from_env()))
    }

    /// Consults `defaults` (before the disk cache) in [`TuneMode::On`].
    pub fn with_defaults(mut self, defaults: &'static [TunedDefault]) -> Autotuner {
        self.defaults = defaults;
        self
    }

    /// `warmup` untimed runs, then the median of `reps` timed runs (at least 1) per candidate.
    pub fn with_samples(mut self, warmup: u32, reps: u32) -> Autotuner {
        self.warmup = warmup;
        self.reps = reps.max(1);
        self
    }

    /// The tuner's mode.
    pub fn mode(&self) -> TuneMode {
        self.mode
    }

    /// The disk cache, if any.
    pub fn cache(&self) -> Option<&TuneCache> {
        self.cache.as_ref()
    }

    /// Chooses among `candidates` (in the caller's order, smallest first) for `kernel` and
    /// the shape key `shape` on `device`, measuring with `measure` when no earlier choice
    /// applies (see the module doc for the order). Errors when there is no candidate, when
    /// none fits the device (listing why each does not), when the key is not one line of
    /// text, when a measurement fails other than by the launcher refusing the candidate, or
    /// when it is not a finite, non-negative time.
    pub fn choose(
        &self,
        kernel: &str,
        shape: &str,
        device: &TuneDevice,
        candidates: &[Candidate],
        measure: &mut dyn Measure,
    ) -> Result<Choice, Error> {
        if candidates.is_empty() {
            return Err(Error::Invalid(format!(
                "autotune: no candidate configurations for kernel `{kernel}` ({shape})"
            )));
        }
        let mut pruned = Vec::new();
        let mut fits = Vec::new();
        for (index, c) in candidates.iter().enumerate() {
            match check_fits(&device.limits, c) {
                Ok(()) => fits.push(index),
                Err(reason) => pruned.push(Pruned {
                    index,
                    config: c.config.clone(),
                    reason,
                }),
            }
        }
        let mut choice = Choice {
            index: 0,
            config: candidates[0].config.clone(),
            source: ChoiceSource::FirstFit,
            pruned,
            timings: Vec::new(),
            notes: Vec::new(),
        };
        let pick = |choice: &mut Choice, index: usize, source| {
            choice.index = index;
            choice.config = candidates[index].config.clone();
            choice.source = source;
        };
        let Some(&first) = fits.first() else {
            return Err(no_fit(kernel, shape, device, &choice.pruned));
        };
        if self.mode == TuneMode::Off {
            pick(&mut choice, first, ChoiceSource::FirstFit);
            return Ok(choice);
        }
        if fits.len() == 1 {
            pick(&mut choice, first, ChoiceSource::OnlyFit);
            return Ok(choice);
        }
        let key = TuneKey::new(device, kernel, shape, candidates)?;
        let fitting = |config: &TuneConfig| {
            fits.iter()
                .copied()
                .find(|&i| &candidates[i].config == config)
        };
        let remembered = self.memory_get(&key);
        if let Some(i) = remembered.as_ref().and_then(fitting) {
            pick(&mut choice, i, ChoiceSource::Memory);
            return Ok(choice);
        }
        if self.mode == TuneMode::On {
            if let Some(d) = find_default(self.defaults, &key) {
                match fitting(&d.config()) {
                    Some(i) => {
                        pick(&mut choice, i, ChoiceSource::Default);
                        self.memory_put(key, choice.config.clone());
                        return Ok(choice);
                    }
                    None => choice.notes.push(format!(
                        "the shipped default {} is not among the candidates that fit",
                        d.config()
                    )),
                }
            }
            if let Some(cache) = &self.cache {
                match cache.lookup(&key) {
                    Ok(None) => {}
                    Ok(Some(hit)) => match fitting(&hit.config) {
                        Some(i) => {
                            pick(&mut choice, i, ChoiceSource::DiskCache);
                            self.memory_put(key, choice.config.clone());
                            return Ok(choice);
                        }
                        None => choice.notes.push(format!(
                            "the cached choice {} is not among the candidates that fit",
                            hit.config
                        )),
                    },
                    Err(why) => choice.notes.push(format!("ignored a cache file: {why}")),
                }
            }
        }
        let mut best: Option<(usize, f32)> = None;
        for &i in &fits {
            let c = &candidates[i];
            match self.sample(c, measure) {
                Ok(ms) => {
                    choice.timings.push(Timing {
                        index: i,
                        median_ms: ms,
                    });
                    if best.is_none_or(|(_, b)| ms < b) {
                        best = Some((i, ms));
                    }
                }
                Err(Error::Launch { message, .. }) => choice.pruned.push(Pruned {
                    index: i,
                    config: c.config.clone(),
                    reason: format!("the launcher refused it: {message}"),
                }),
                Err(e) => return Err(e),
            }
        }
        let Some((winner, ms)) = best else {
            return Err(no_fit(kernel, shape, device, &choice.pruned));
        };
        pick(&mut choice, winner, ChoiceSource::Measured);
        if let Some(cache) = &self.cache {
            let stored = CachedChoice {
                config: choice.config.clone(),
                time_ms: ms,
            };
            if let Err(e) = cache.store(&key, &stored) {
                choice.notes.push(e.to_string());
            }
        }
        self.memory_put(key, choice.config.clone());
        Ok(choice)
    }

    /// The median of `reps` timed runs of `c` after `warmup` untimed ones.
    fn sample(&self, c: &Candidate, measure: &mut dyn Measure) -> Result<f32, Error> {
        for _ in 0..self.warmup {
            measure.run_ms(c)?;
        }
        let mut times = Vec::with_capacity(self.reps as usize);
        for _ in 0..self.reps {
            let ms = measure.run_ms(c)?;
            if !ms.is_finite() || ms < 0.0 {
                return Err(Error::Invalid(format!(
                    "autotune: a run of {} measured {ms} ms; a time must be finite and >= 0",
                    c.config
                )));
            }
            times.push(ms);
        }
        Ok(median(&mut times).expect("reps >= 1"))
    }

    fn memory_get(&self, key: &TuneKey) -> Option<TuneConfig> {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn memory_put(&self, key: TuneKey, config: TuneConfig) {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, config);
    }
}

/// The error when no candidate can run: each one with its reason.
fn no_fit(kernel: &str, shape: &str, device: &TuneDevice, pruned: &[Pruned]) -> Error {
    let reasons: Vec<String> = pruned
        .iter()
        .map(|p| format!("{}: {}", p.config, p.reason))
        .collect();
    Error::Invalid(format!(
        "autotune: no configuration of kernel `{kernel}` ({shape}) can run on {} ({}): {}",
        device.name,
        device.arch,
        reasons.join("; ")
    ))
}

#[cfg(test)]
mod tests;
