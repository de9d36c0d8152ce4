//! The basic kernels lowered by the NVPTX backend, run on a GPU and checked
//! against the CPU interpreter running the same kernels.
//!
//! Ignored without a GPU. `scripts/gpu/prebuild-basic.sh` writes the PTX
//! (it needs LLVM 22, so it runs where the tests are built) and packs this
//! test; on the GPU machine `TILEFUSE_PTX_DIR=gpu-out/ptx gpu-out/run-tests.sh`.

use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::kernels::basic::{layernorm, softmax, vector_add};
use tilefuse::runtime::PtrArg;
use tilefuse::{Device, Grid, f16};

/// Threads per CTA the PTX was lowered for (4 warps).
const BLOCK_THREADS: [u32; 3] = [128, 1, 1];

fn ptx(kernel: &str) -> String {
    let dir = std::env::var("TILEFUSE_PTX_DIR")
        .expect("set TILEFUSE_PTX_DIR to the PTX of scripts/gpu/prebuild-basic.sh");
    let path = format!("{dir}/{kernel}.ptx");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn gpu() -> Device {
    Device::cuda(0).expect("these tests need a CUDA GPU")
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn vector_add_matches_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu.load_ptx(&ptx("vector_add"), "vector_add").unwrap();
    let mut rng = SmallRng::seed_from_u64(1);
    for n in [1usize, 1000, 100_003] {
        let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let y: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (gx, gy, go) = (
            gpu.tensor(&x, [n]).unwrap(),
            gpu.tensor(&y, [n]).unwrap(),
            gpu.zeros::<f32>([n]).unwrap(),
        );
        kernel
            .launch(
                Grid::x(n.div_ceil(1024)),
                BLOCK_THREADS,
                0,
                vec![
                    (&gx).into_arg(),
                    (&gy).into_arg(),
                    (&go).into_arg(),
                    (n as i32).into(),
                ],
            )
            .unwrap();
        let (cx, cy) = (cpu.tensor(&x, [n]).unwrap(), cpu.tensor(&y, [n]).unwrap());
        let mut co = cpu.zeros::<f32>([n]).unwrap();
        vector_add::<1024>::launch(
            &cpu,
            Grid::x(n.div_ceil(1024)),
            (&cx, &cy, &mut co, n as i32),
        )
        .unwrap();
        assert_eq!(go.to_vec(), co.to_vec(), "n = {n}");
    }
    // A rough bandwidth figure (not a benchmark: one launch, synchronous).
    let n = 1usize << 26;
    let x = gpu.tensor(&vec![1.0f32; n], [n]).unwrap();
    let y = gpu.tensor(&vec![2.0f32; n], [n]).unwrap();
    let o = gpu.zeros::<f32>([n]).unwrap();
    let args = || {
        vec![
            (&x).into_arg(),
            (&y).into_arg(),
            (&o).into_arg(),
            (n as i32).into(),
        ]
    };
    kernel
        .launch(Grid::x(n / 1024), BLOCK_THREADS, 0, args())
        .unwrap();
    let start = Instant::now();
    kernel
        .launch(Grid::x(n / 1024), BLOCK_THREADS, 0, args())
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "vector_add 2^26 f32 on {}: {:.3} ms, {:.0} GB/s (12 bytes/element)",
        gpu.name(),
        secs * 1e3,
        12.0 * n as f64 / secs / 1e9
    );
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn softmax_matches_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu.load_ptx(&ptx("softmax"), "softmax").unwrap();
    let mut rng = SmallRng::seed_from_u64(2);
    for (rows, cols) in [(1usize, 1usize), (37, 1000), (8, 1024)] {
        let x: Vec<f16> = (0..rows * cols)
            .map(|_| f16::from_f32(rng.random_range(-4.0..4.0)))
            .collect();
        let (gx, gy) = (
            gpu.tensor(&x, [rows, cols]).unwrap(),
            gpu.zeros::<f16>([rows, cols]).unwrap(),
        );
        kernel
            .launch(
                Grid::x(rows),
                BLOCK_THREADS,
                0,
                vec![
                    (&gx).into_arg(),
                    (&gy).into_arg(),
                    (cols as i32).into(),
                    (cols as i32).into(),
                ],
            )
            .unwrap();
        let cx = cpu.tensor(&x, [rows, cols]).unwrap();
        let mut cy = cpu.zeros::<f16>([rows, cols]).unwrap();
        softmax::<1024>::launch(
            &cpu,
            Grid::x(rows),
            (&cx, &mut cy, cols as i32, cols as i32),
        )
        .unwrap();
        let worst = gy
            .to_vec()
            .iter()
            .zip(cy.to_vec())
            .map(|(a, b)| (a.to_f32() - b.to_f32()).abs())
            .fold(0.0f32, f32::max);
        // The GPU's exp is ex2.approx: within a couple of f16 ulps of the interpreter's.
        assert!(worst <= 2e-3, "{rows}x{cols}: max difference {worst}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn layernorm_matches_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu.load_ptx(&ptx("layernorm"), "layernorm").unwrap();
    let mut rng = SmallRng::seed_from_u64(3);
    for (rows, cols) in [(3usize, 1usize), (16, 700), (4, 3000)] {
        let x: Vec<f32> = (0..rows * cols)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let w: Vec<f32> = (0..cols).map(|_| rng.random_range(-2.0..2.0)).collect();
        let b: Vec<f32> = (0..cols).map(|_| rng.random_range(-2.0..2.0)).collect();
        let eps = 1e-5f32;
        let (gx, gw, gb) = (
            gpu.tensor(&x, [rows, cols]).unwrap(),
            gpu.tensor(&w, [cols]).unwrap(),
            gpu.tensor(&b, [cols]).unwrap(),
        );
        let gy = gpu.zeros::<f32>([rows, cols]).unwrap();
        kernel
            .launch(
                Grid::x(rows),
                BLOCK_THREADS,
                0,
                vec![
                    (&gx).into_arg(),
                    (&gw).into_arg(),
                    (&gb).into_arg(),
                    (&gy).into_arg(),
                    (cols as i32).into(),
                    eps.into(),
                ],
            )
            .unwrap();
        let (cx, cw, cb) = (
            cpu.tensor(&x, [rows, cols]).unwrap(),
            cpu.tensor(&w, [cols]).unwrap(),
            cpu.tensor(&b, [cols]).unwrap(),
        );
        let mut cy = cpu.zeros::<f32>([rows, cols]).unwrap();
        layernorm::<512>::launch(
            &cpu,
            Grid::x(rows),
            (&cx, &cw, &cb, &mut cy, cols as i32, eps),
        )
        .unwrap();
        for (i, (g, c)) in gy.to_vec().iter().zip(cy.to_vec()).enumerate() {
            assert!(
                (g - c).abs() <= 1e-4 * (1.0 + c.abs()),
                "{rows}x{cols} element {i}: gpu {g} vs cpu {c}"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn launchers_run_prebuilt_ptx_on_the_gpu() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let mut rng = SmallRng::seed_from_u64(4);
    let (rows, cols) = (50usize, 777usize);
    let x: Vec<f16> = (0..rows * cols)
        .map(|_| f16::from_f32(rng.random_range(-4.0..4.0)))
        .collect();
    let (gx, cx) = (
        gpu.tensor(&x, [rows, cols]).unwrap(),
        cpu.tensor(&x, [rows, cols]).unwrap(),
    );
    let (mut gy, mut cy) = (
        gpu.zeros::<f16>([rows, cols]).unwrap(),
        cpu.zeros::<f16>([rows, cols]).unwrap(),
    );
    softmax::<1024>::launch(
        &gpu,
        Grid::x(rows),
        (&gx, &mut gy, cols as i32, cols as i32),
    )
    .unwrap();
    softmax::<1024>::launch(
        &cpu,
        Grid::x(rows),
        (&cx, &mut cy, cols as i32, cols as i32),
    )
    .unwrap();
    let worst = gy
        .to_vec()
        .iter()
        .zip(cy.to_vec())
        .map(|(a, b)| (a.to_f32() - b.to_f32()).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 2e-3, "max difference {worst}");
    // A configuration nobody prebuilt is an error that lists what exists.
    let err = softmax::<2048>::launch(
        &gpu,
        Grid::x(rows),
        (&gx, &mut gy, cols as i32, cols as i32),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no prebuilt PTX for BLOCK = 2048 on sm_90a")
            && err.contains("the prebuilt variants are: BLOCK = 128; BLOCK = 1024")
            && err.contains("`jit`"),
        "{err}"
    );
}

/// `c = a · b` in f64 from the f16 inputs.
fn matmul_reference(a: &[f16], b: &[f16], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let x = a[i * k + p].to_f64();
            for j in 0..n {
                c[i * n + j] += x * b[p * n + j].to_f64();
            }
        }
    }
    c
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn matmul_runs_2d_tiles_and_dot_on_the_gpu() {
    let gpu = gpu();
    let mut rng = SmallRng::seed_from_u64(5);
    // Ragged sizes: not multiples of any block, so every mask matters.
    for (m, n, k) in [(1usize, 1usize, 1usize), (77, 130, 45), (200, 64, 96)] {
        let a: Vec<f16> = (0..m * k)
            .map(|_| f16::from_f32(rng.random_range(-1.0..1.0)))
            .collect();
        let b: Vec<f16> = (0..k * n)
            .map(|_| f16::from_f32(rng.random_range(-1.0..1.0)))
            .collect();
        let want = matmul_reference(&a, &b, m, n, k);
        let (ga, gb) = (
            gpu.tensor(&a, [m, k]).unwrap(),
            gpu.tensor(&b, [k, n]).unwrap(),
        );
        let mut g64 = gpu.zeros::<f32>([m, n]).unwrap();
        tilefuse::kernels::basic::matmul::<64, 64, 32>::launch(
            &gpu,
            Grid::xy(m.div_ceil(64), n.div_ceil(64)),
            (&ga, &gb, &mut g64, m as i32, n as i32, k as i32),
        )
        .unwrap();
        let mut g16 = gpu.zeros::<f32>([m, n]).unwrap();
        tilefuse::kernels::basic::matmul::<16, 16, 16>::launch(
            &gpu,
            Grid::xy(m.div_ceil(16), n.div_ceil(16)),
            (&ga, &gb, &mut g16, m as i32, n as i32, k as i32),
        )
        .unwrap();
        let mut g128 = gpu.zeros::<f32>([m, n]).unwrap();
        tilefuse::kernels::basic::matmul::<128, 128, 32>::launch(
            &gpu,
            Grid::xy(m.div_ceil(128), n.div_ceil(128)),
            (&ga, &gb, &mut g128, m as i32, n as i32, k as i32),
        )
        .unwrap();
        for (name, got) in [
            ("64x64x32", g64.to_vec()),
            ("16x16x16", g16.to_vec()),
            ("128x128x32 on 8 warps", g128.to_vec()),
        ] {
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (f64::from(*g) - w).abs())
                .fold(0.0f64, f64::max);
            assert!(
                worst <= 1e-4 * k as f64,
                "{name} m={m} n={n} k={k}: max error {worst}"
            );
        }
    }
}
