//! `#[tile_kernel]` launchers on streams (`launch_on`) and timing them with
//! a `Timer`: on the CPU interpreter always, on a GPU when there is one
//! (ignored otherwise; packed by `scripts/gpu/pack-tests.sh`).

use tilefuse::kernels::basic::vector_add;
use tilefuse::{Device, Grid};

fn add_on_a_stream(dev: &Device, n: usize) -> (Vec<f32>, f32) {
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..n).map(|i| 0.5 * i as f32).collect();
    let (tx, ty) = (dev.tensor(&x, [n]).unwrap(), dev.tensor(&y, [n]).unwrap());
    let mut out = dev.zeros::<f32>([n]).unwrap();
    let stream = dev.new_stream().unwrap();
    let timer = dev.timer().unwrap();
    timer.start(&stream).unwrap();
    vector_add::<1024>::launch_on(
        &stream,
        Grid::x(n.div_ceil(1024)),
        (&tx, &ty, &mut out, n as i32),
    )
    .unwrap();
    timer.stop(&stream).unwrap();
    stream.synchronize().unwrap();
    (out.to_vec(), timer.elapsed_ms().unwrap())
}

#[test]
fn launch_on_a_stream_and_time_it_on_the_cpu() {
    let n = 3001;
    let (got, ms) = add_on_a_stream(&Device::cpu(), n);
    let want: Vec<f32> = (0..n).map(|i| 1.5 * i as f32).collect();
    assert_eq!(got, want);
    assert!(ms > 0.0, "{ms}");
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn launch_on_a_stream_and_time_it_on_the_gpu() {
    let dev = Device::cuda(0).expect("this test needs a CUDA GPU");
    let n = 1_000_003;
    let (got, ms) = add_on_a_stream(&dev, n);
    let want: Vec<f32> = (0..n).map(|i| 1.5 * i as f32).collect();
    assert_eq!(got, want);
    assert!(ms > 0.0 && ms < 1000.0, "{ms}");
}
