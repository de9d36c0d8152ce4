//! On a GPU every public API launches only kernel variants that have prebuilt PTX.
//!
//! The APIs pick their tile sizes per device kind ([`crate::tiles`]); a GPU runs a variant
//! only from the prebuilt table (or a JIT build). Each test here runs one API over a spread
//! of shapes and options with the tile sizes a CUDA device gets, records every variant it
//! launches ([`record_gpu_launches`]: the launches are skipped, so large shapes cost
//! nothing), and looks each up in `tilefuse::__private::PREBUILT` the way the runtime does:
//! kernel name and fingerprint of the kernel compiled for the launch's compile-time values
//! (as `tests/prebuilt.rs`). Every variant found must also fit in 99 KB of dynamic shared
//! memory (`sm_86`'s limit; the largest prebuilt kernels use 96 KB).
//!
//! Bool flags a kernel prebuilds `false` only are opt-in features that need the `jit`
//! feature on a GPU by the documented policy (`#[tile_kernel(prebuild = [..])]`): flash's
//! window, softcap and `ALiBi`, decode's softcap and `ALiBi`. For a launch that sets one the
//! check is that the same tiles with those flags off are prebuilt. Every other flag (flash's
//! `varlen`/`causal`, decode's `paged`, GAT's `concat`, the TSSA scans' and backward's
//! internal flags) must be prebuilt as launched.
//!
//! A few shapes per API, one per GPU tile size at least, also run with the GPU tiles
//! ([`run_with_gpu_tiles`]) on the test device (the interpreter, or GPU 0 with
//! `TILEFUSE_TEST_DEVICE=cuda`: then from the prebuilt PTX) and must agree with the
//! interpreter's own tiles: the kernels mask the padding of a tile larger than the data. Shapes a GPU has no prebuilt
//! tile for (cGAO above 128 features, hGAO's GAT attention beyond its tiles) must be
//! rejected before any launch.

use std::collections::HashMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::codegen::gpu::SHARED_BYTES_MARKER;
use crate::codegen::ir::{ConstValue, describe_consts, fingerprint};
use crate::runtime::compile_kernel;
use crate::testing::{Launched, on_gpu, record_gpu_launches, run_with_gpu_tiles, test_device};
use crate::{Device, Element, Error, Tensor, bf16, f16};

/// Dynamic shared memory a launched variant may need: 99 KB, what `sm_86` and `sm_89` grant.
const MAX_SHARED_BYTES: u32 = 99 * 1024;

/// Looks recorded launches up in the prebuilt table, once per distinct variant, and collects
/// what is missing.
#[derive(Default)]
struct Checker {
    /// Verdict per (kernel IR, kernel name, compile-time values).
    seen: HashMap<(usize, &'static str, String), Result<(), String>>,
    problems: Vec<String>,
    launches: usize,
}

impl Checker {
    /// Checks the launches `what` made (at least one).
    fn check(&mut self, what: &str, launches: &[Launched]) {
        assert!(!launches.is_empty(), "{what} launched nothing");
        self.launches += launches.len();
        for l in launches {
            let key = (
                l.kernel.ir.as_ptr() as usize,
                l.kernel.name,
                describe_consts(&l.consts),
            );
            let verdict = self.seen.entry(key).or_insert_with(|| prebuilt(l));
            if let Err(e) = verdict {
                let line = format!("{what}: {e}");
                if !self.problems.contains(&line) {
                    self.problems.push(line);
                }
            }
        }
    }

    /// Runs `f` with a GPU's tiles, launches skipped, and checks what it launched; returns
    /// its result.
    fn dry<R>(&mut self, what: &str, f: impl FnOnce() -> R) -> R {
        let (out, launches) = record_gpu_launches(f);
        self.check(what, &launches);
        out
    }

    /// Runs `f` with a GPU's tiles on the interpreter and checks what it launched.
    fn run<R>(&mut self, what: &str, f: impl FnOnce() -> R) -> R {
        let (out, launches) = run_with_gpu_tiles(f);
        self.check(what, &launches);
        out
    }

    /// Fails with every problem found.
    fn finish(self) {
        assert!(
            self.problems.is_empty(),
            "{} of {} distinct variants ({} launches) a GPU would launch are not prebuilt \
             or need too much shared memory (run scripts/prebuild.sh after changing a kernel's \
             configs):\n{}",
            self.seen.values().filter(|v| v.is_err()).count(),
            self.seen.len(),
            self.launches,
            self.problems.join("\n")
        );
    }
}

/// Whether the launch `l` runs from prebuilt PTX (ignoring the opt-in flags, see the module
/// doc), with its shared memory within [`MAX_SHARED_BYTES`].
fn prebuilt(l: &Launched) -> Result<(), String> {
    let k = &l.kernel;
    let mut opt_in = Vec::new();
    let consts: Vec<(&str, ConstValue)> = l
        .consts
        .iter()
        .map(|(n, v)| match v {
            ConstValue::Bool(true) if !k.prebuilt_flags.contains(&n.as_str()) => {
                opt_in.push(n.as_str());
                (n.as_str(), ConstValue::Bool(false))
            }
            _ => (n.as_str(), *v),
        })
        .collect();
    let shown = describe_consts(&consts);
    let module = compile_kernel(k, &consts)
        .map_err(|e| format!("{} {shown} does not compile: {e}", k.name))?;
    let hash = fingerprint(&module);
    let entries: Vec<_> = crate::__private::PREBUILT
        .iter()
        .filter(|p| p.kernel == k.name && p.ir_hash == hash)
        .collect();
    if entries.is_empty() {
        let flags = if opt_in.is_empty() {
            String::new()
        } else {
            format!(" (opt-in flags {} cleared)", opt_in.join(", "))
        };
        return Err(format!("{} {shown}{flags} has no prebuilt PTX", k.name));
    }
    for p in entries {
        let shared = p
            .ptx
            .lines()
            .find_map(|line| line.strip_prefix(SHARED_BYTES_MARKER))
            .map_or(0, |n| n.trim().parse::<u32>().unwrap_or(u32::MAX));
        if shared > MAX_SHARED_BYTES {
            return Err(format!(
                "{} {shown} on {} needs {shared} bytes of shared memory, more than {MAX_SHARED_BYTES}",
                k.name, p.arch
            ));
        }
    }
    Ok(())
}

/// The element types the APIs take, as far as the tests need them.
trait Num: Element {
    fn from_f32(v: f32) -> Self;
    fn to_f32(self) -> f32;
}

impl Num for f32 {
    fn from_f32(v: f32) -> Self {
        v
    }
    fn to_f32(self) -> f32 {
        self
    }
}

impl Num for f16 {
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

impl Num for bf16 {
    fn from_f32(v: f32) -> Self {
        bf16::from_f32(v)
    }
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
}

/// A tensor of `shape` with uniform values in `[-amp, amp]`.
fn random<T: Num>(dev: &Device, rng: &mut SmallRng, shape: &[usize], amp: f32) -> Tensor<T> {
    let n: usize = shape.iter().product();
    let host: Vec<T> = (0..n)
        .map(|_| T::from_f32(rng.random_range(-amp..=amp)))
        .collect();
    dev.tensor(&host, shape.to_vec()).unwrap()
}

/// The same random values (uniform in `[-amp, amp]`) as a tensor of `shape` on the interpreter
/// (`.0`) and on `gpu`, the device the GPU tiles run on (`.1`).
fn random_pair<T: Num>(
    gpu: &Device,
    rng: &mut SmallRng,
    shape: &[usize],
    amp: f32,
) -> (Tensor<T>, Tensor<T>) {
    let n: usize = shape.iter().product();
    let host: Vec<T> = (0..n)
        .map(|_| T::from_f32(rng.random_range(-amp..=amp)))
        .collect();
    (
        CPU.with(|c| c.tensor(&host, shape.to_vec()).unwrap()),
        gpu.tensor(&host, shape.to_vec()).unwrap(),
    )
}

thread_local! {
    /// The interpreter the reference side of the comparisons runs on.
    static CPU: Device = Device::cpu();
}

/// The interpreter of [`random_pair`]'s first tensors.
fn cpu() -> Device {
    CPU.with(Device::clone)
}

/// The tolerance of a comparison of f32 results of the GPU's tiles with the interpreter's:
/// summation order only on the interpreter, plus the GPU's approximate `exp2`/`log2` there.
fn f32_tol() -> f32 {
    if on_gpu() { 2e-3 } else { 1e-4 }
}

/// Asserts `got` (GPU tiles) equals `want` (the interpreter's tiles) within `tol` of the
/// output's scale; infinities must match exactly.
#[track_caller]
fn assert_same<T: Num>(got: &Tensor<T>, want: &Tensor<T>, tol: f32, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    let (g, w) = (got.to_vec(), want.to_vec());
    let scale = w
        .iter()
        .map(|v| v.to_f32().abs())
        .filter(|v| v.is_finite())
        .fold(1.0f32, f32::max);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let (a, b) = (a.to_f32(), b.to_f32());
        if b.is_infinite() {
            assert_eq!(a, b, "{what}[{i}]");
            continue;
        }
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}[{i}]: {a} with the GPU's tiles, {b} with the interpreter's (scale {scale})"
        );
    }
}

/// Asserts that `r` is an `Error::Invalid` mentioning `needle`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(r: Result<T, Error>, needle: &str) {
    match r {
        Err(Error::Invalid(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected Error::Invalid mentioning {needle:?}, got {other:?}"),
    }
}

mod attention {
    use super::*;
    use crate::attention::{FlashElement, FlashParams, flash, flash_varlen};

    /// Runs flash (dense and varlen) with `d`, every flag combination the API has.
    fn sweep<T: Num + FlashElement>(c: &mut Checker, rng: &mut SmallRng, d: usize) {
        let dev = Device::cpu();
        let (b, sq, sk, hq, hk) = (2, 3, 5, 4, 2);
        let q = random::<T>(&dev, rng, &[b, sq, hq, d], 1.0);
        let k = random::<T>(&dev, rng, &[b, sk, hk, d], 1.0);
        let v = random::<T>(&dev, rng, &[b, sk, hk, d], 1.0);
        let slopes = random::<f32>(&dev, rng, &[hq], 0.5);
        let qv = random::<T>(&dev, rng, &[7, hq, d], 1.0);
        let kv = random::<T>(&dev, rng, &[9, hk, d], 1.0);
        let cu_q = dev.tensor(&[0i32, 3, 7], [3]).unwrap();
        let cu_k = dev.tensor(&[0i32, 5, 9], [3]).unwrap();
        for causal in [false, true] {
            for (window, softcap, alibi) in [
                ((-1, -1), 0.0, None),
                ((2, 0), 0.0, None),
                ((-1, -1), 5.0, Some(&slopes)),
            ] {
                let p = FlashParams {
                    causal,
                    window,
                    softcap,
                    alibi_slopes: alibi,
                    ..Default::default()
                };
                let what = format!("attention::flash d = {d}, {p:?}");
                c.dry(&what, || flash(&dev, &q, &k, &v, &p).unwrap());
                let what = format!("attention::flash_varlen d = {d}, {p:?}");
                c.dry(&what, || {
                    flash_varlen(&dev, &qv, &kv, &kv, &cu_q, &cu_k, &p).unwrap()
                });
            }
        }
    }

    #[test]
    fn flash_launches_prebuilt_variants_only() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(1);
        for d in [1, 8, 16, 40, 64, 96, 128, 160, 256] {
            sweep::<f16>(&mut c, &mut rng, d);
            sweep::<bf16>(&mut c, &mut rng, d);
            sweep::<f32>(&mut c, &mut rng, d);
        }
        c.finish();
    }

    #[test]
    fn flash_with_gpu_tiles_matches_the_interpreter_tiles() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(2);
        let (dev, gpu) = (cpu(), test_device());
        for (d, causal) in [(40, true), (128, false), (200, true)] {
            let (q, gq) = random_pair::<f32>(&gpu, &mut rng, &[1, 3, 2, d], 1.0);
            let (k, gk) = random_pair::<f32>(&gpu, &mut rng, &[1, 70, 1, d], 1.0);
            let (v, gv) = random_pair::<f32>(&gpu, &mut rng, &[1, 70, 1, d], 1.0);
            let p = FlashParams {
                causal,
                ..Default::default()
            };
            let (o, lse) = flash(&dev, &q, &k, &v, &p).unwrap();
            let what = format!("attention::flash d = {d}, causal = {causal}");
            let (go, glse) = c.run(&what, || flash(&gpu, &gq, &gk, &gv, &p).unwrap());
            assert_same(&go, &o, f32_tol(), &what);
            assert_same(&glse, &lse, f32_tol(), &what);
        }
        c.finish();
    }
}

mod decode {
    use super::*;
    use crate::decode::{DecodeElement, DecodeParams, KvCache, attention, merge, partial};

    /// A decode problem of head dims `d`/`dv`: q, the contiguous cache, the paged cache.
    struct Problem<T: Element> {
        q: Tensor<T>,
        k: Tensor<T>,
        v: Tensor<T>,
        kp: Tensor<T>,
        vp: Tensor<T>,
        seqlens: Tensor<i32>,
        table: Tensor<i32>,
        slopes: Tensor<f32>,
    }

    impl<T: Num> Problem<T> {
        fn new(dev: &Device, rng: &mut SmallRng, d: usize, dv: usize) -> Problem<T> {
            let (b, sq, hq, hk, smax, page) = (2, 2, 4, 2, 12, 4);
            Problem {
                q: random(dev, rng, &[b, sq, hq, d], 1.0),
                k: random(dev, rng, &[b, smax, hk, d], 1.0),
                v: random(dev, rng, &[b, smax, hk, dv], 1.0),
                kp: random(dev, rng, &[6, page, hk, d], 1.0),
                vp: random(dev, rng, &[6, page, hk, dv], 1.0),
                seqlens: dev.tensor(&[11i32, 5], [b]).unwrap(),
                table: dev.tensor(&[0i32, 2, 4, 1, 3, 5], [b, 3]).unwrap(),
                slopes: random(dev, rng, &[hq], 0.5),
            }
        }

        fn contiguous(&self) -> KvCache<'_, T> {
            KvCache::Contiguous {
                k: &self.k,
                v: &self.v,
                cache_seqlens: &self.seqlens,
            }
        }

        fn paged(&self) -> KvCache<'_, T> {
            KvCache::Paged {
                k_cache: &self.kp,
                v_cache: &self.vp,
                cache_seqlens: &self.seqlens,
                block_table: &self.table,
            }
        }
    }

    fn sweep<T: Num + DecodeElement>(c: &mut Checker, rng: &mut SmallRng, d: usize, dv: usize) {
        let dev = Device::cpu();
        let pr = Problem::<T>::new(&dev, rng, d, dv);
        for paged in [false, true] {
            let cache = if paged { pr.paged() } else { pr.contiguous() };
            for (num_splits, softcap, alibi) in
                [(1, 0.0, None), (3, 0.0, None), (2, 4.0, Some(&pr.slopes))]
            {
                let p = DecodeParams {
                    num_splits,
                    causal: true,
                    softcap,
                    alibi,
                    ..Default::default()
                };
                let what = format!("decode d = {d}, dv = {dv}, paged = {paged}, {p:?}");
                let (o, l) = c.dry(&format!("{what}: attention"), || {
                    attention(&dev, &pr.q, &cache, &p).unwrap()
                });
                let (po, pl) = c.dry(&format!("{what}: partial"), || {
                    partial(&dev, &pr.q, &cache, &p, 2..9).unwrap()
                });
                let o32 = dev.zeros::<f32>(o.shape().to_vec()).unwrap();
                c.dry(&format!("{what}: merge"), || {
                    merge::<f32>(&dev, &[(&po, &pl), (&o32, &l)]).unwrap()
                });
            }
        }
    }

    #[test]
    fn decode_launches_prebuilt_variants_only() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(3);
        for (d, dv) in [
            (1, 1),
            (8, 8),
            (16, 16),
            (20, 48),
            (32, 32),
            (64, 64),
            (100, 64),
            (128, 128),
            (200, 256),
            (256, 256),
            (512, 300),
            (512, 512),
        ] {
            sweep::<f16>(&mut c, &mut rng, d, dv);
            sweep::<bf16>(&mut c, &mut rng, d, dv);
            sweep::<f32>(&mut c, &mut rng, d, dv);
        }
        c.finish();
    }

    #[test]
    fn decode_with_gpu_tiles_matches_the_interpreter_tiles() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(4);
        let (dev, gpu) = (cpu(), test_device());
        for (d, dv) in [(12, 20), (100, 100)] {
            // The same values on both devices.
            let seed = rng.random();
            let pr = Problem::<f32>::new(&dev, &mut SmallRng::seed_from_u64(seed), d, dv);
            let gpr = Problem::<f32>::new(&gpu, &mut SmallRng::seed_from_u64(seed), d, dv);
            let p = DecodeParams {
                num_splits: 2,
                causal: true,
                ..Default::default()
            };
            let (o, lse) = attention(&dev, &pr.q, &pr.paged(), &p).unwrap();
            let what = format!("decode::attention d = {d}, dv = {dv}, paged");
            let (go, glse) = c.run(&what, || attention(&gpu, &gpr.q, &gpr.paged(), &p).unwrap());
            assert_same(&go, &o, f32_tol(), &what);
            assert_same(&glse, &lse, f32_tol(), &what);
        }
        c.finish();
    }
}

mod tssa {
    use super::*;
    use crate::tssa::{self as api, DecodeState, Params};

    /// Every TSSA entry point on `(b, h, n, d)` with `block_tokens` (checked, unused on a
    /// GPU), f32 and f16 inputs; `run` runs them (with the GPU tiles) instead of recording.
    fn all(
        c: &mut Checker,
        rng: &mut SmallRng,
        (b, h, n, d): (usize, usize, usize, usize),
        block: Option<usize>,
    ) {
        let dev = Device::cpu();
        let w = random::<f32>(&dev, rng, &[b, h, n, d], 1.0);
        let w16 = random::<f16>(&dev, rng, &[b, h, n, d], 1.0);
        let g = random::<f32>(&dev, rng, &[b, h, n, d], 1.0);
        let temp = random::<f32>(&dev, rng, &[h], 1.0);
        let bias = random::<f32>(&dev, rng, &[h, n + 2], 0.1);
        let wt = random::<f32>(&dev, rng, &[b, h, d], 1.0);
        let p = Params {
            block_tokens: block,
        };
        let what = format!("tssa (B, H, N, D) = ({b}, {h}, {n}, {d}), block {block:?}");
        c.dry(&format!("{what}: forward"), || {
            api::forward(&dev, &w, &temp, &p).unwrap()
        });
        c.dry(&format!("{what}: forward f16"), || {
            api::forward(&dev, &w16, &temp, &p).unwrap()
        });
        c.dry(&format!("{what}: backward"), || {
            api::backward(&dev, &w, &temp, &g, &p).unwrap()
        });
        c.dry(&format!("{what}: causal_forward"), || {
            api::causal_forward(&dev, &w, &temp, &bias, &p).unwrap()
        });
        c.dry(&format!("{what}: causal_backward"), || {
            api::causal_backward(&dev, &w, &temp, &bias, &g, &p).unwrap()
        });
        let mut st = c.dry(&format!("{what}: DecodeState::new"), || {
            // `new` launches nothing: record one step with it.
            let mut st = DecodeState::new(&dev, b, h, d).unwrap();
            st.step(&dev, &wt, &temp, &bias).unwrap();
            st
        });
        c.dry(&format!("{what}: DecodeState::prefill"), || {
            st.prefill(&dev, &w16, &temp, &bias, &p).unwrap()
        });
        c.dry(&format!("{what}: DecodeState::step"), || {
            st.step(&dev, &wt, &temp, &bias).unwrap()
        });
    }

    #[test]
    fn tssa_launches_prebuilt_variants_only() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(5);
        for (shape, block) in [
            ((1, 1, 1, 1), None),
            ((2, 3, 37, 5), Some(8)),
            ((1, 12, 200, 48), None),
            ((2, 32, 65, 64), Some(1024)),
            ((1, 33, 20, 64), None),
            ((1, 4, 300, 65), Some(2)),
            ((2, 256, 3, 256), None),
            ((1, 3, 40, 257), None),
            ((1, 256, 2, 1024), Some(64)),
        ] {
            all(&mut c, &mut rng, shape, block);
        }
        c.finish();
    }

    #[test]
    fn tssa_with_gpu_tiles_matches_the_interpreter_tiles() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(6);
        let (dev, gpu) = (cpu(), test_device());
        let tol = f32_tol();
        // One shape per GPU tile size: (64, 64, 32), (16, 256, 256), (4, 1024, 256).
        for (b, h, n, d) in [(2, 3, 70, 5), (1, 40, 20, 70), (1, 2, 9, 300)] {
            let (w, gw) = random_pair::<f32>(&gpu, &mut rng, &[b, h, n, d], 1.0);
            let (g, gg) = random_pair::<f32>(&gpu, &mut rng, &[b, h, n, d], 1.0);
            let (temp, gtemp) = random_pair::<f32>(&gpu, &mut rng, &[h], 1.0);
            let (bias, gbias) = random_pair::<f32>(&gpu, &mut rng, &[h, n + 1], 0.1);
            let (wt, gwt) = random_pair::<f32>(&gpu, &mut rng, &[b, h, d], 1.0);
            let p = Params::default();
            let what = format!("tssa (B, H, N, D) = ({b}, {h}, {n}, {d})");
            let want = api::forward(&dev, &w, &temp, &p).unwrap();
            let got = c.run(&what, || api::forward(&gpu, &gw, &gtemp, &p).unwrap());
            assert_same(&got, &want, tol, &format!("{what}: forward"));
            let (dw, dt, db) = api::causal_backward(&dev, &w, &temp, &bias, &g, &p).unwrap();
            let (gdw, gdt, gdb) = c.run(&what, || {
                api::causal_backward(&gpu, &gw, &gtemp, &gbias, &gg, &p).unwrap()
            });
            assert_same(&gdw, &dw, tol, &format!("{what}: causal dw"));
            assert_same(&gdt, &dt, tol, &format!("{what}: causal dtemp"));
            assert_same(&gdb, &db, tol, &format!("{what}: causal dbias"));
            let (dw, dt) = api::backward(&dev, &w, &temp, &g, &p).unwrap();
            let (gdw, gdt) = c.run(&what, || api::backward(&gpu, &gw, &gtemp, &gg, &p).unwrap());
            assert_same(&gdw, &dw, tol, &format!("{what}: dw"));
            assert_same(&gdt, &dt, tol, &format!("{what}: dtemp"));
            // Prefill then step (the step kernel, or the parallel form on one token).
            let mut cpu_state = DecodeState::new(&dev, b, h, d).unwrap();
            let mut gpu_state = DecodeState::new(&gpu, b, h, d).unwrap();
            let want = cpu_state.prefill(&dev, &w, &temp, &bias, &p).unwrap();
            let got = c.run(&what, || {
                gpu_state.prefill(&gpu, &gw, &gtemp, &gbias, &p).unwrap()
            });
            assert_same(&got, &want, tol, &format!("{what}: prefill"));
            let want = cpu_state.step(&dev, &wt, &temp, &bias).unwrap();
            let got = c.run(&what, || {
                gpu_state.step(&gpu, &gwt, &gtemp, &gbias).unwrap()
            });
            assert_same(&got, &want, tol, &format!("{what}: step"));
        }
        c.finish();
    }
}

mod graph {
    use super::*;
    use crate::graph::{
        Csr, Feature, GatParams, GatWeights, HgaoAttn, cgao, cgao_batched, gao, gat, hgao,
        hgao_ranking,
    };

    /// A random graph on `n` nodes whose node 0 has `deg0` neighbours (others fewer).
    fn graph(rng: &mut SmallRng, n: usize, deg0: usize) -> Csr {
        let lists: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let deg = if i == 0 {
                    deg0
                } else {
                    rng.random_range(0..=deg0.min(5))
                };
                (0..deg).map(|_| rng.random_range(0..n)).collect()
            })
            .collect();
        Csr::from_lists(&lists).unwrap()
    }

    /// GAT, GAO, hGAO (both attentions), cGAO on `n` nodes of `d` features; GAT with `heads`
    /// heads of `out` channels; hGAO keeping `k` of up to `deg` neighbours.
    fn sweep<T: Num + Feature>(
        c: &mut Checker,
        rng: &mut SmallRng,
        d: usize,
        out: usize,
        deg: usize,
        k: usize,
    ) {
        let dev = Device::cpu();
        let n = deg + 3;
        let g = graph(rng, n, deg);
        let x = random::<T>(&dev, rng, &[n, d], 1.0);
        let what = format!("graph d = {d}, out = {out}, max degree {deg}, k = {k}");
        for heads in [1, 3] {
            let w = random::<f32>(&dev, rng, &[heads * out, d], 0.5);
            let a_src = random::<f32>(&dev, rng, &[heads, out], 0.5);
            let a_dst = random::<f32>(&dev, rng, &[heads, out], 0.5);
            let xh = random::<T>(&dev, rng, &[n, heads * out], 1.0);
            for concat in [false, true] {
                let params = GatParams {
                    heads,
                    concat,
                    ..Default::default()
                };
                let weights = GatWeights {
                    weight: Some(&w),
                    att_src: &a_src,
                    att_dst: &a_dst,
                    bias: None,
                };
                c.dry(&format!("{what}: gat {params:?}"), || {
                    gat(&dev, &x, &g, &weights, &params).unwrap()
                });
                let projected = GatWeights {
                    weight: None,
                    ..weights
                };
                c.dry(&format!("{what}: gat (projected) {params:?}"), || {
                    gat(&dev, &xh, &g, &projected, &params).unwrap()
                });
            }
        }
        c.dry(&format!("{what}: gao"), || gao(&dev, &x, &g).unwrap());
        let p = random::<f32>(&dev, rng, &[d], 1.0);
        c.dry(&format!("{what}: hgao_ranking"), || {
            hgao_ranking(&dev, &x, &g, &p, k).unwrap()
        });
        c.dry(&format!("{what}: hgao dot"), || {
            hgao(&dev, &x, &g, &p, k, HgaoAttn::Dot).unwrap()
        });
        let w = random::<f32>(&dev, rng, &[out, d], 0.5);
        let a_src = random::<f32>(&dev, rng, &[out], 0.5);
        let a_dst = random::<f32>(&dev, rng, &[out], 0.5);
        let attn = HgaoAttn::Gat {
            w: &w,
            a_src: &a_src,
            a_dst: &a_dst,
        };
        let k_eff = k.min(g.max_degree()).max(1);
        let wide = d.max(out);
        if wide <= 64 || (wide <= 128 && k_eff <= 64) {
            c.dry(&format!("{what}: hgao gat"), || {
                hgao(&dev, &x, &g, &p, k, attn).unwrap()
            });
        } else {
            let (r, launched) = record_gpu_launches(|| hgao(&dev, &x, &g, &p, k, attn));
            assert_invalid(r, "has no GPU kernel");
            assert!(
                launched.is_empty(),
                "{what}: hgao gat launched before failing"
            );
        }
        if d <= 128 {
            c.dry(&format!("{what}: cgao"), || cgao(&dev, &x).unwrap());
            c.dry(&format!("{what}: cgao_batched"), || {
                cgao_batched(&dev, &x, &[0, 1, 1, n]).unwrap()
            });
        } else {
            let (r, launched) = record_gpu_launches(|| cgao(&dev, &x));
            assert_invalid(r, "on a CUDA device cGAO takes d <= 128");
            assert!(launched.is_empty(), "{what}: cgao launched before failing");
        }
    }

    #[test]
    fn graph_launches_prebuilt_variants_only() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(7);
        for (d, out, deg, k) in [
            (1, 1, 1, 1),
            (5, 7, 4, 2),
            (16, 16, 20, 16),
            (20, 40, 40, 17),
            (64, 64, 70, 64),
            (30, 50, 100, 100),
            (100, 30, 30, 8),
            (100, 130, 10, 8),
            (128, 128, 80, 70),
            (200, 256, 300, 256),
            (256, 16, 5, 300),
        ] {
            sweep::<f32>(&mut c, &mut rng, d, out, deg, k);
            sweep::<f16>(&mut c, &mut rng, d, out, deg, k);
            sweep::<bf16>(&mut c, &mut rng, d, out, deg, k);
        }
        c.finish();
    }

    /// GAT (2 heads, `out` channels), GAO, hGAO (both attentions, `k`) and batched cGAO on
    /// `g` with `d` features, with the GPU's tiles on `gpu` against the interpreter's.
    fn compare(c: &mut Checker, rng: &mut SmallRng, g: &Csr, d: usize, out: usize, k: usize) {
        let (dev, gpu) = (cpu(), test_device());
        let tol = f32_tol();
        let n = g.n();
        let what = format!(
            "graph d = {d}, out = {out}, max degree {}, k = {k}",
            g.max_degree()
        );
        let (x, gx) = random_pair::<f32>(&gpu, rng, &[n, d], 1.0);
        let heads = 2;
        let (w, gw) = random_pair::<f32>(&gpu, rng, &[heads * out, d], 0.5);
        let (a_src, ga_src) = random_pair::<f32>(&gpu, rng, &[heads, out], 0.5);
        let (a_dst, ga_dst) = random_pair::<f32>(&gpu, rng, &[heads, out], 0.5);
        let weights = |w, att_src, att_dst| GatWeights {
            weight: Some(w),
            att_src,
            att_dst,
            bias: None,
        };
        let params = GatParams {
            heads,
            ..Default::default()
        };
        let want = gat(&dev, &x, g, &weights(&w, &a_src, &a_dst), &params).unwrap();
        let got = c.run(&what, || {
            gat(&gpu, &gx, g, &weights(&gw, &ga_src, &ga_dst), &params).unwrap()
        });
        assert_same(&got, &want, tol, &format!("{what}: gat"));
        let want = gao(&dev, &x, g).unwrap();
        let got = c.run(&what, || gao(&gpu, &gx, g).unwrap());
        assert_same(&got, &want, tol, &format!("{what}: gao"));
        let (p, gp) = random_pair::<f32>(&gpu, rng, &[d], 1.0);
        let want = hgao_ranking(&dev, &x, g, &p, k).unwrap();
        let got = c.run(&what, || hgao_ranking(&gpu, &gx, g, &gp, k).unwrap());
        assert_eq!(got, want, "{what}: hgao_ranking");
        let want = hgao(&dev, &x, g, &p, k, HgaoAttn::Dot).unwrap();
        let got = c.run(&what, || hgao(&gpu, &gx, g, &gp, k, HgaoAttn::Dot).unwrap());
        assert_same(&got, &want, tol, &format!("{what}: hgao dot"));
        let (w1, gw1) = random_pair::<f32>(&gpu, rng, &[out, d], 0.5);
        let (a1, ga1) = random_pair::<f32>(&gpu, rng, &[out], 0.5);
        let (b1, gb1) = random_pair::<f32>(&gpu, rng, &[out], 0.5);
        let attn = |w, a_src, a_dst| HgaoAttn::Gat { w, a_src, a_dst };
        let k_eff = k.min(g.max_degree()).max(1);
        let wide = d.max(out);
        if wide <= 64 || (wide <= 128 && k_eff <= 64) {
            let want = hgao(&dev, &x, g, &p, k, attn(&w1, &a1, &b1)).unwrap();
            let got = c.run(&what, || {
                hgao(&gpu, &gx, g, &gp, k, attn(&gw1, &ga1, &gb1)).unwrap()
            });
            assert_same(&got, &want, tol, &format!("{what}: hgao gat"));
        }
        if d <= 128 {
            let want = cgao_batched(&dev, &x, &[0, 2, n]).unwrap();
            let got = c.run(&what, || cgao_batched(&gpu, &gx, &[0, 2, n]).unwrap());
            assert_same(&got, &want, tol, &format!("{what}: cgao"));
        }
    }

    #[test]
    fn graph_with_gpu_tiles_matches_the_interpreter_tiles() {
        let mut c = Checker::default();
        let mut rng = SmallRng::seed_from_u64(8);
        // Feature widths 16, 64 and 256 (cGAO: 128), top-k tiles 16, 64 and 256, each of the
        // GAT attention's (KP, BD), GAT's BO = 256.
        for (d, out, deg, k) in [
            (5, 7, 6, 3),
            (40, 20, 70, 64),
            (100, 30, 10, 8),
            (24, 10, 90, 80),
            (200, 130, 3, 2),
        ] {
            let g = graph(&mut rng, deg + 2, deg);
            compare(&mut c, &mut rng, &g, d, out, k);
        }
        // Shapes without a GPU kernel work on the interpreter's tiles.
        let x = random::<f32>(&cpu(), &mut rng, &[3, 200], 1.0);
        assert_eq!(cgao(&cpu(), &x).unwrap().shape(), &[3, 200]);
        c.finish();
    }
}
