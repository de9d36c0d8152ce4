//! Launching a kernel from its IR text on the CPU device, and every launch error.

use tilefuse_runtime::{Config, ConstValue, Device, Error, Grid, KernelSource, PtrArg, launch};

/// `out[i] = x[i] * alpha` for i < n, BLOCK elements per program.
const SCALE: KernelSource = KernelSource {
    name: "scale",
    ir: include_str!("data/scale.tile"),
    configs: &[Config {
        consts: &[("BLOCK", ConstValue::Int(64))],
        num_warps: 4,
        num_stages: 2,
        cpu_only: false,
    }],
    prebuilt_flags: &[],
    prebuilt: &[],
};

fn run(dev: &Device, block: i64, n: usize, grid: Grid, n_arg: i32) -> Result<Vec<f32>, Error> {
    let host: Vec<f32> = (0..n).map(|i| i as f32 - 3.5).collect();
    let x = dev.tensor(&host, [n])?;
    let mut out = dev.zeros::<f32>([n])?;
    launch(
        dev,
        &SCALE,
        &[("BLOCK", ConstValue::Int(block))],
        grid,
        vec![
            (&x).into_arg(),
            (&mut out).into_arg(),
            n_arg.into(),
            2.0f32.into(),
        ],
    )?;
    Ok(out.to_vec())
}

#[test]
fn runs_over_a_ragged_grid() {
    let dev = Device::cpu();
    for (block, n) in [(64, 1), (64, 100), (16, 100), (128, 128)] {
        let got = run(
            &dev,
            block,
            n,
            Grid::x(n.div_ceil(block as usize)),
            n as i32,
        )
        .unwrap();
        let want: Vec<f32> = (0..n).map(|i| (i as f32 - 3.5) * 2.0).collect();
        assert_eq!(got, want, "BLOCK = {block}, n = {n}");
    }
}

#[test]
fn the_same_tensor_twice_is_one_buffer() {
    let dev = Device::cpu();
    // In-place use: one tensor as the input and the output.
    let x = dev.tensor(&[1.0f32, 2.0, 3.0], [3]).unwrap();
    launch(
        &dev,
        &SCALE,
        &[("BLOCK", ConstValue::Int(4))],
        Grid::x(1),
        vec![
            (&x).into_arg(),
            (&x).into_arg(),
            3i32.into(),
            10.0f32.into(),
        ],
    )
    .unwrap();
    assert_eq!(x.to_vec(), vec![10.0, 20.0, 30.0]);
}

#[test]
fn launch_errors_say_what_is_wrong() {
    let dev = Device::cpu();
    let err = run(&dev, 64, 100, Grid::x(2), 101).unwrap_err().to_string();
    assert!(err.contains("kernel `scale` failed"), "{err}");
    assert!(err.contains("scale.rs:4:5"), "{err}");
    assert!(err.contains("out-of-bounds"), "{err}");

    let err = run(&dev, 64, 10, Grid::x(0), 10).unwrap_err().to_string();
    assert!(err.contains("grid dimension x is 0"), "{err}");

    let err = run(&dev, 48, 10, Grid::x(1), 10).unwrap_err().to_string();
    assert!(
        err.contains("cannot compile kernel `scale` with BLOCK = 48"),
        "{err}"
    );
    assert!(err.contains("not a power of two"), "{err}");

    let x = dev.tensor(&[1.0f32], [1]).unwrap();
    let err = launch(&dev, &SCALE, &[], Grid::x(1), vec![(&x).into_arg()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[\"BLOCK\"] of kernel `scale` are not bound"),
        "{err}"
    );

    let err = launch(
        &dev,
        &SCALE,
        &[("BLOCK", ConstValue::Int(4))],
        Grid::x(1),
        vec![(&x).into_arg()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("takes 4 runtime arguments but 1 were given"),
        "{err}"
    );

    let other = Device::cpu();
    let y = other.zeros::<f32>([1]).unwrap();
    let err = launch(
        &dev,
        &SCALE,
        &[("BLOCK", ConstValue::Int(4))],
        Grid::x(1),
        vec![(&x).into_arg(), (&y).into_arg(), 1i32.into(), 1.0f32.into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("argument 1 is a tensor on another device"),
        "{err}"
    );

    let ints = dev.zeros::<i32>([1]).unwrap();
    let err = launch(
        &dev,
        &SCALE,
        &[("BLOCK", ConstValue::Int(4))],
        Grid::x(1),
        vec![
            (&x).into_arg(),
            (&ints).into_arg(),
            1i32.into(),
            1.0f32.into(),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("out"), "{err}");
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error() {
    match Device::cuda(0) {
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("CUDA device 0 is not available"), "{e}");
            assert!(e.contains("Device::cpu()"), "{e}");
        }
        Ok(dev) => assert_eq!(dev.kind(), tilefuse_runtime::DeviceKind::Cuda),
    }
    let best = Device::best().kind();
    assert_eq!(
        best == tilefuse_runtime::DeviceKind::Cuda,
        Device::cuda(0).is_ok()
    );
    let err = Device::cpu()
        .load_ptx(".version 7.0", "k")
        .unwrap_err()
        .to_string();
    assert!(err.contains("PTX kernel `k` needs a CUDA device"), "{err}");
}

#[test]
fn launch_on_a_cpu_stream_runs_at_once() {
    let dev = Device::cpu();
    let stream = dev.new_stream().unwrap();
    let x = dev.tensor(&[1.0f32, 2.0, 3.0], [3]).unwrap();
    let out = dev.zeros::<f32>([3]).unwrap();
    let args = || {
        vec![
            (&x).into_arg(),
            (&out).into_arg(),
            3i32.into(),
            3.0f32.into(),
        ]
    };
    let block = [("BLOCK", ConstValue::Int(4))];
    tilefuse_runtime::launch_on(&stream, &SCALE, &block, Grid::x(1), args()).unwrap();
    assert_eq!(out.to_vec(), vec![3.0, 6.0, 9.0]);
    // A stream of another device is refused for its tensors.
    let other = Device::cpu().new_stream().unwrap();
    let err = tilefuse_runtime::launch_on(&other, &SCALE, &block, Grid::x(1), args())
        .unwrap_err()
        .to_string();
    assert!(err.contains("tensor on another device"), "{err}");
}
