//! Autotuning `attention::flash` on a real GPU (ignored without one).
//!
//! On the GPU machine, with a fresh cache folder and tuning forced (so that nothing cached
//! or shipped is reused):
//!
//! ```sh
//! scripts/gpu/pack-tests.sh gpu_autotune          # here: packs gpu-out/bin/gpu_autotune
//! TILEFUSE_AUTOTUNE=force TILEFUSE_CACHE_DIR=$PWD/gpu-out/tune \
//!     gpu-out/bin/gpu_autotune --include-ignored --nocapture
//! ```
//!
//! The first test checks that a tuned call gives the interpreter's result on a ragged shape
//! with three candidates. The second tunes f16 flash on the benchmark's shapes (B·N = 16k
//! tokens, N in {1k, 4k, 16k}, head dims 64 and 128, causal and not), checks that each
//! choice is in the disk cache, and prints the lines of `src/autotune_defaults.rs` for this
//! device: those measured lines are what the shipped table is filled from.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::attention::{FlashParams, flash};
use tilefuse::runtime::autotune::{TuneCache, TuneMode, TunedDefault};
use tilefuse::{Device, Tensor, f16};

fn random(dev: &Device, rng: &mut SmallRng, shape: &[usize]) -> (Vec<f16>, Tensor<f16>) {
    let n: usize = shape.iter().product();
    let host: Vec<f16> = (0..n)
        .map(|_| f16::from_f32(rng.random_range(-1.0f32..=1.0)))
        .collect();
    let t = dev.tensor(&host, shape.to_vec()).unwrap();
    (host, t)
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn tuned_flash_matches_the_interpreter() {
    let gpu = Device::cuda(0).expect("a CUDA GPU");
    let cpu = Device::cpu();
    let mut rng = SmallRng::seed_from_u64(7);
    // d = 40 is held by every GPU configuration: three candidates on an H100.
    let (b, s, h, d) = (1, 300, 2, 40);
    let shape = [b, s, h, d];
    let (hq, gq) = random(&gpu, &mut rng, &shape);
    let (hk, gk) = random(&gpu, &mut rng, &shape);
    let (hv, gv) = random(&gpu, &mut rng, &shape);
    for causal in [false, true] {
        let p = FlashParams {
            causal,
            ..Default::default()
        };
        let (go, glse) = flash(&gpu, &gq, &gk, &gv, &p).unwrap();
        let cq = cpu.tensor(&hq, shape).unwrap();
        let ck = cpu.tensor(&hk, shape).unwrap();
        let cv = cpu.tensor(&hv, shape).unwrap();
        let (co, clse) = flash(&cpu, &cq, &ck, &cv, &p).unwrap();
        for (i, (a, w)) in go.to_vec().iter().zip(co.to_vec()).enumerate() {
            let (a, w) = (a.to_f32(), w.to_f32());
            assert!(
                (a - w).abs() <= 2e-2,
                "o[{i}] causal = {causal}: {a} vs {w}"
            );
        }
        for (i, (a, w)) in glse.to_vec().iter().zip(clse.to_vec()).enumerate() {
            assert!(
                (a - w).abs() <= 2e-3 * w.abs().max(1.0),
                "lse[{i}] causal = {causal}: {a} vs {w}"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn flash_tunes_the_benchmark_shapes_and_caches_the_choices() {
    let gpu = Device::cuda(0).expect("a CUDA GPU");
    let mode = TuneMode::from_env().unwrap();
    let cache = TuneCache::from_env().expect("a cache folder (TILEFUSE_CACHE_DIR)");
    let device = gpu.tune_device().unwrap();
    eprintln!(
        "tuning on {} ({}), mode {mode:?}, cache {}",
        device.name,
        device.arch,
        cache.dir().display()
    );
    let mut rng = SmallRng::seed_from_u64(11);
    let tokens = 16 * 1024;
    let mut keys = Vec::new();
    for d in [64usize, 128] {
        let h = 2048 / d;
        for n in [1024usize, 4096, 16384] {
            let b = tokens / n;
            let shape = [b, n, h, d];
            let (_, q) = random(&gpu, &mut rng, &shape);
            let (_, k) = random(&gpu, &mut rng, &shape);
            let (_, v) = random(&gpu, &mut rng, &shape);
            for causal in [false, true] {
                let p = FlashParams {
                    causal,
                    ..Default::default()
                };
                let start = std::time::Instant::now();
                let (o, lse) = flash(&gpu, &q, &k, &v, &p).unwrap();
                let first = start.elapsed();
                let start = std::time::Instant::now();
                flash(&gpu, &q, &k, &v, &p).unwrap();
                let second = start.elapsed();
                eprintln!(
                    "d = {d}, n = {n}, causal = {causal}: first call {first:?} (tuning), \
                     second {second:?}"
                );
                assert!(o.to_vec().iter().all(|x| x.to_f32().is_finite()));
                assert!(lse.to_vec().iter().all(|x| x.is_finite()));
                keys.push(format!(
                    "dtype=f16,d={d},n={n},causal={},varlen=0",
                    u8::from(causal)
                ));
            }
        }
    }
    if mode == TuneMode::Off {
        eprintln!("TILEFUSE_AUTOTUNE=0: nothing tuned, nothing cached");
        return;
    }
    let entries = cache.entries();
    println!("// src/autotune_defaults.rs, measured on {}:", device.name);
    for key in &keys {
        let found = entries.iter().find(|(k, _)| {
            k.device == device.name
                && k.arch == device.arch
                && k.kernel == "flash_fwd_f16"
                && &k.shape == key
        });
        match found {
            Some((k, c)) => println!(
                "    {} // {:.3} ms",
                TunedDefault::source_line(k, &c.config),
                c.time_ms
            ),
            // A shipped default or a single fitting candidate is not written to the cache;
            // with `force` and more than one candidate every key is.
            None if mode == TuneMode::Force => {
                panic!("no cached choice for {key} in {}", cache.dir().display())
            }
            None => eprintln!("{key}: not measured in this run (shipped default or one fit)"),
        }
    }
}
