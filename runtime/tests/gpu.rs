//! The CUDA device on a real GPU: tensors, PTX kernels, resource checks,
//! streams, timers, and a `#[tile_kernel]` compiled by the JIT.
//! Ignored without a GPU; run with `cargo test -p tilefuse-runtime --test gpu -- --ignored`
//! (or the packed binaries of `scripts/gpu/pack-tests.sh` on a GPU machine,
//! where the JIT test runs from the PTX cache that script fills).

use tilefuse_runtime::{
    Arg, Config, ConstValue, Device, DeviceKind, Grid, KernelSource, PtrArg, launch, launch_on,
};

/// `p[i] += 1` for `i < n`, emitted by the NVPTX backend for `sm_80`
/// (`cargo run -p tilefuse-codegen --features llvm --example emit_add_one -- sm_80`).
const ADD_ONE_PTX: &str = include_str!("data/add_one.sm_80.ptx");

fn gpu() -> Device {
    Device::cuda(0).expect("these tests need a CUDA GPU")
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn tensors_round_trip_on_the_gpu() {
    let dev = gpu();
    assert_eq!(dev.kind(), DeviceKind::Cuda);
    assert!(dev.compute_capability().is_some());
    let host: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
    let mut t = dev.tensor(&host, [10, 100]).unwrap();
    assert_eq!(t.read().unwrap(), host);
    t.copy_from(&vec![2.0f32; 1000]).unwrap();
    assert_eq!(t.to_vec(), vec![2.0f32; 1000]);
    let z = dev.zeros::<half::f16>([0]).unwrap();
    assert!(z.read().unwrap().is_empty());
    let z = dev.zeros::<i32>([7]).unwrap();
    assert_eq!(z.to_vec(), vec![0; 7]);
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn ptx_from_the_backend_runs() {
    let dev = gpu();
    let kernel = dev.load_ptx(ADD_ONE_PTX, "add_one").unwrap();
    let host: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let x = dev.tensor(&host, [1000]).unwrap();
    let n = 777i32;
    kernel
        .launch(Grid::x(4), [256, 1, 1], 0, vec![(&x).into_arg(), n.into()])
        .unwrap();
    let got = x.to_vec();
    for (i, v) in got.iter().enumerate() {
        let want = if (i as i32) < n {
            i as f32 + 1.0
        } else {
            i as f32
        };
        assert_eq!(*v, want, "element {i}");
    }
    // Loading the same PTX again reuses the module.
    dev.load_ptx(ADD_ONE_PTX, "add_one").unwrap();
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn launch_errors_say_what_to_shrink() {
    let dev = gpu();
    let kernel = dev.load_ptx(ADD_ONE_PTX, "add_one").unwrap();
    let x = dev.zeros::<f32>([16]).unwrap();
    let err = kernel
        .launch(
            Grid::x(1),
            [512, 1, 1],
            0,
            vec![(&x).into_arg(), 16i32.into()],
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a block of 512 threads does not fit") && err.contains("at most 256"),
        "{err}"
    );
    let err = kernel
        .launch(
            Grid::x(1),
            [128, 1, 1],
            1 << 20,
            vec![(&x).into_arg(), 16i32.into()],
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bytes of shared memory") && err.contains("fewer pipeline stages"),
        "{err}"
    );
    let host = Device::cpu().zeros::<f32>([16]).unwrap();
    let err = kernel
        .launch(
            Grid::x(1),
            [16, 1, 1],
            0,
            vec![(&host).into_arg(), 16i32.into()],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("tensor on another device"), "{err}");
    let err = dev.load_ptx(ADD_ONE_PTX, "nope").unwrap_err().to_string();
    assert!(err.contains("no kernel `nope`"), "{err}");
    let err = dev
        .load_ptx(".version 99.0\n.target sm_200\n", "k")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot load the PTX"), "{err}");
}

/// `out[i] = x[i] * alpha` for i < n: a `#[tile_kernel]` with no prebuilt
/// PTX, so that a GPU launch takes the JIT path (or its disk cache).
const SCALE: KernelSource = KernelSource {
    name: "scale",
    ir: include_str!("data/scale.tile"),
    configs: &[Config {
        consts: &[("BLOCK", ConstValue::Int(128))],
        num_warps: 4,
        num_stages: 2,
        cpu_only: false,
    }],
    prebuilt: &[],
    prebuilt_flags: &[],
};
const SCALE_BLOCK: [(&str, ConstValue); 1] = [("BLOCK", ConstValue::Int(128))];

#[test]
#[ignore = "needs a CUDA GPU"]
fn streams_order_kernels_and_tensors_see_their_results() {
    let dev = gpu();
    let kernel = dev.load_ptx(ADD_ONE_PTX, "add_one").unwrap();
    let (s1, s2) = (dev.new_stream().unwrap(), dev.new_stream().unwrap());
    assert!(!s1.is_default() && dev.default_stream().is_default());
    let n = 1 << 20;
    let a = dev.zeros::<f32>([n]).unwrap();
    let b = dev.tensor(&vec![1.0f32; n], [n]).unwrap();
    for _ in 0..50 {
        let args = |t| vec![PtrArg::<f32>::into_arg(t), (n as i32).into()];
        kernel
            .launch_on(&s1, Grid::x(n / 256), [256, 1, 1], 0, args(&a))
            .unwrap();
        kernel
            .launch_on(&s2, Grid::x(n / 256), [256, 1, 1], 0, args(&b))
            .unwrap();
    }
    // No synchronize: reading a tensor waits for the kernels on every stream.
    assert!(a.to_vec().iter().all(|&v| v == 50.0));
    assert!(b.to_vec().iter().all(|&v| v == 51.0));
    // Enqueued work on a stream that is dropped still completes.
    let s3 = dev.new_stream().unwrap();
    kernel
        .launch_on(
            &s3,
            Grid::x(n / 256),
            [256, 1, 1],
            0,
            vec![(&a).into_arg(), (n as i32).into()],
        )
        .unwrap();
    drop(s3);
    assert!(a.to_vec().iter().all(|&v| v == 51.0));
    s1.synchronize().unwrap();
    s2.synchronize().unwrap();
    // A stream of another device is refused.
    let cpu_stream = Device::cpu().new_stream().unwrap();
    let err = kernel
        .launch_on(
            &cpu_stream,
            Grid::x(1),
            [32, 1, 1],
            0,
            vec![(&a).into_arg(), 1i32.into()],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("another device"), "{err}");
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn timers_measure_gpu_time() {
    let dev = gpu();
    let kernel = dev.load_ptx(ADD_ONE_PTX, "add_one").unwrap();
    let stream = dev.new_stream().unwrap();
    let n = 1usize << 26;
    let x = dev.zeros::<f32>([n]).unwrap();
    let t = dev.timer().unwrap();
    assert!(t.elapsed_ms().is_err());
    let reps = 20;
    let run = || {
        for _ in 0..reps {
            kernel
                .launch_on(
                    &stream,
                    Grid::x(n / 256),
                    [256, 1, 1],
                    0,
                    vec![(&x).into_arg(), (n as i32).into()],
                )
                .unwrap();
        }
    };
    run(); // warm up
    t.start(&stream).unwrap();
    run();
    t.stop(&stream).unwrap();
    let ms = t.elapsed_ms().unwrap();
    let gbs = (2 * 4 * n * reps) as f64 / (ms as f64 * 1e-3) / 1e9;
    eprintln!("add_one: {reps} x {n} floats in {ms:.3} ms = {gbs:.0} GB/s");
    // Plausible for any GPU tilefuse targets (memory bandwidth 0.1 to 10 TB/s).
    assert!((50.0..10_000.0).contains(&gbs), "{gbs} GB/s");
    // Events: the stream's order is the events' order.
    let a = stream.record().unwrap();
    run();
    let b = stream.record().unwrap();
    b.synchronize().unwrap();
    assert!(a.elapsed_ms(&b).unwrap() > 0.0);
    assert_eq!(x.to_vec()[n - 1], (3 * reps) as f32);
}

#[test]
#[ignore = "needs a CUDA GPU (and the `jit` feature, or a PTX cache warmed by it)"]
fn tile_kernel_without_prebuilt_ptx_is_jit_compiled() {
    let (dev, cpu) = (gpu(), Device::cpu());
    let n = 100_003usize;
    let host: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 - 3.5).collect();
    let want = cpu.zeros::<f32>([n]).unwrap();
    let cx = cpu.tensor(&host, [n]).unwrap();
    let args = |x, o| -> Vec<Arg<'_>> {
        vec![
            PtrArg::<f32>::into_arg(x),
            PtrArg::<f32>::into_arg(o),
            (n as i32).into(),
            2.0f32.into(),
        ]
    };
    let grid = Grid::x(n.div_ceil(128));
    launch(&cpu, &SCALE, &SCALE_BLOCK, grid, args(&cx, &want)).unwrap();
    let x = dev.tensor(&host, [n]).unwrap();
    let out = dev.zeros::<f32>([n]).unwrap();
    match launch(&dev, &SCALE, &SCALE_BLOCK, grid, args(&x, &out)) {
        Ok(()) => {}
        Err(e) => panic!(
            "{e}\n(without the `jit` feature, warm the cache first: \
             TILEFUSE_CACHE_DIR=DIR cargo test -p tilefuse-runtime --features jit --test gpu jit_ptx)"
        ),
    }
    assert_eq!(out.to_vec(), want.to_vec());
    // Again on a stream: the PTX comes from memory now.
    let stream = dev.new_stream().unwrap();
    let out2 = dev.zeros::<f32>([n]).unwrap();
    launch_on(&stream, &SCALE, &SCALE_BLOCK, grid, args(&x, &out2)).unwrap();
    stream.synchronize().unwrap();
    assert_eq!(out2.to_vec(), want.to_vec());
}

/// Compiles `scale` for every architecture into the PTX cache
/// (`$TILEFUSE_CACHE_DIR` when set, else a temporary folder): a test of
/// the JIT without a GPU, and how `scripts/gpu/pack-tests.sh` prepares the
/// cache a GPU machine without LLVM runs the test above from.
#[cfg(feature = "jit")]
#[test]
fn jit_ptx_for_every_arch_fills_the_cache() {
    use tilefuse_codegen::arch::Arch;
    use tilefuse_runtime::jit::{PtxCache, compile_ptx};
    let cache = match std::env::var_os("TILEFUSE_CACHE_DIR") {
        Some(dir) => PtxCache::new(dir),
        None => PtxCache::new(
            std::env::temp_dir().join(format!("tilefuse-gpu-test-cache-{}", std::process::id())),
        ),
    };
    for arch in Arch::ALL {
        let p = compile_ptx(&SCALE, &SCALE_BLOCK, arch, Some(&cache)).unwrap();
        if cache.load("scale", arch, p.ir_hash, p.num_warps).is_none() {
            cache.store(&p).unwrap();
        }
        assert_eq!(
            cache.load("scale", arch, p.ir_hash, p.num_warps),
            Some((*p).clone())
        );
        assert!(p.ptx.contains(".entry scale"));
    }
    if std::env::var_os("TILEFUSE_CACHE_DIR").is_none() {
        let _ = std::fs::remove_dir_all(cache.dir());
    }
}
