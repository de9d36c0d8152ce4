//! Kernels stamped out per element type by a `macro_rules!` with `$t:ty`
//! fragments (how the bundled kernels provide f16/bf16/f32 variants).

use tilefuse::{Device, Grid, bf16, f16, tile_kernel};

macro_rules! double_kernel {
    ($name:ident, $t:ty) => {
        #[tile_kernel]
        pub fn $name(x: Ptr<$t>, n: i32) {
            let offs = arange::<16>();
            let mask = offs < n;
            let v = load(x + offs, mask, 0.0).cast::<f32>();
            store(x + offs, (v * 2.0).cast::<$t>(), mask);
        }
    };
}

double_kernel!(double_f32, f32);
double_kernel!(double_f16, f16);
double_kernel!(double_bf16, bf16);

#[test]
fn one_body_three_element_types() {
    let dev = Device::cpu();
    let n = 11;
    let x = dev
        .tensor(&(0..n).map(|i| i as f32).collect::<Vec<_>>(), [n])
        .unwrap();
    double_f32::launch(&dev, Grid::x(1), (&x, n as i32)).unwrap();
    assert_eq!(
        x.to_vec(),
        (0..n).map(|i| 2.0 * i as f32).collect::<Vec<_>>()
    );

    let h = dev
        .tensor(
            &(0..n)
                .map(|i| f16::from_f32(i as f32 + 0.5))
                .collect::<Vec<_>>(),
            [n],
        )
        .unwrap();
    double_f16::launch(&dev, Grid::x(1), (&h, n as i32)).unwrap();
    assert_eq!(
        h.to_vec(),
        (0..n)
            .map(|i| f16::from_f32(2.0 * i as f32 + 1.0))
            .collect::<Vec<_>>()
    );

    let b = dev
        .tensor(
            &(0..n).map(|i| bf16::from_f32(i as f32)).collect::<Vec<_>>(),
            [n],
        )
        .unwrap();
    double_bf16::launch(&dev, Grid::x(1), (&b, n as i32)).unwrap();
    assert_eq!(
        b.to_vec(),
        (0..n)
            .map(|i| bf16::from_f32(2.0 * i as f32))
            .collect::<Vec<_>>()
    );
}
