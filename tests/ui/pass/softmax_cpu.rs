// The softmax of DESIGN.md, launched on the CPU device for every declared
// configuration, on rows that are not a multiple of the block.
use tilefuse::{Device, Grid, f16, tile_kernel};

#[tile_kernel(configs = [(BLOCK = 64), (BLOCK = 128, num_warps = 8)])]
pub fn softmax<const BLOCK: usize>(x: Ptr<f16>, y: Ptr<f16>, n_cols: i32, stride: i32) {
    let row = program_id(0);
    let cols = arange::<BLOCK>();
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask, f16::NEG_INFINITY).cast::<f32>();
    let e = exp(v - max(v, 0));
    store(y + row * stride + cols, (e / sum(e, 0)).cast::<f16>(), mask);
}

fn main() {
    assert_eq!(softmax::<64>::KERNEL.configs.len(), 2);
    assert_eq!(softmax::<64>::KERNEL.configs[1].num_warps, 8);
    assert!(softmax::<64>::IR.starts_with("tile.kernel @softmax<BLOCK: i32>"));
    // Every op carries its real source location (file, line, column).
    let ir = softmax::<64>::IR;
    assert!(ir.contains("softmax_cpu.rs\":6:8) {"), "{ir}");
    assert!(ir.contains("%row = tile.program_id {axis = 0} : i32 loc(\""), "{ir}");
    assert!(ir.contains("softmax_cpu.rs\":7:15)"), "{ir}");
    assert!(!ir.contains("loc(unknown)"), "{ir}");
    let dev = Device::cpu();
    let (rows, cols) = (5usize, 50usize);
    let host: Vec<f16> = (0..rows * cols)
        .map(|i| f16::from_f32(((i * 37 % 101) as f32 - 50.0) / 13.0))
        .collect();
    let x = dev.tensor(&host, [rows, cols]).unwrap();
    let mut y = dev.zeros::<f16>([rows, cols]).unwrap();
    softmax::<64>::launch(&dev, Grid::x(rows), (&x, &mut y, cols as i32, cols as i32)).unwrap();
    let got = y.to_vec();
    let mut y2 = dev.zeros::<f16>([rows, cols]).unwrap();
    softmax::<128>::launch(&dev, Grid::x(rows), (&x, &mut y2, cols as i32, cols as i32)).unwrap();
    assert_eq!(got, y2.to_vec());
    for r in 0..rows {
        let row: Vec<f32> = host[r * cols..(r + 1) * cols].iter().map(|v| v.to_f32()).collect();
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let s: f32 = row.iter().map(|v| (v - m).exp()).sum();
        for c in 0..cols {
            let want = (row[c] - m).exp() / s;
            let g = got[r * cols + c].to_f32();
            assert!((g - want).abs() < 2e-3, "row {r} col {c}: {g} vs {want}");
        }
    }
}
