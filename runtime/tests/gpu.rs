//! The CUDA device on a real GPU: tensors, PTX kernels, resource checks.
//! Ignored without a GPU; run with `cargo test -p tilefuse-runtime --test gpu -- --ignored`
//! (or the packed binaries of `scripts/gpu/pack-tests.sh` on a GPU machine).

use tilefuse_runtime::{Device, DeviceKind, Grid, PtrArg};

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
