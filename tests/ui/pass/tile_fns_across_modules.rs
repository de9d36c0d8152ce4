// Tile functions found through Rust paths: in the same module, in other
// modules, through `use`, `super::` and `crate::`, calling each other.
use tilefuse::{Device, Grid, tile_kernel};

mod math {
    use tilefuse::tile_fn;

    #[tile_fn]
    pub fn square(x: _) -> _ {
        x * x
    }

    #[tile_fn]
    pub fn sum_of_squares<const N: usize>(x: Tile<f32, N>) -> f32 {
        // A call to a tile_fn of the same module, and one through `super::`.
        sum(square(x), 0) + super::zero()
    }

    pub mod deep {
        use tilefuse::tile_fn;

        #[tile_fn]
        pub fn norm(x: _) -> _ {
            sqrt(super::sum_of_squares(x))
        }
    }
}

#[tilefuse::tile_fn]
fn zero() -> f32 {
    0.0
}

mod kernels {
    use super::math::deep::norm;
    use tilefuse::tile_kernel;

    /// Normalizes each row of `x` (length `n`) into `y`.
    #[tile_kernel(configs = [(BLOCK = 32)])]
    pub fn normalize<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, n: i32) {
        let row = program_id(0);
        let offs = arange::<BLOCK>();
        let mask = offs < n;
        let v = load(x + row * n + offs, mask, 0.0);
        let r = norm(v);
        store(y + row * n + offs, v / r + crate::zero(), mask);
    }
}

// A kernel calling a tile_fn of its own module by plain name.
#[tile_kernel]
fn squares(x: Ptr<f32>, n: i32) {
    let offs = arange::<16>();
    let v = load(x + offs, offs < n, 0.0);
    store(x + offs, math::square(v), offs < n);
}

fn main() {
    let dev = Device::cpu();
    let (rows, n) = (3usize, 20usize);
    let host: Vec<f32> = (0..rows * n).map(|i| (i % 7) as f32 - 2.0).collect();
    let x = dev.tensor(&host, [rows, n]).unwrap();
    let mut y = dev.zeros::<f32>([rows, n]).unwrap();
    kernels::normalize::<32>::launch(&dev, Grid::x(rows), (&x, &mut y, n as i32)).unwrap();
    let got = y.to_vec();
    for r in 0..rows {
        let row = &host[r * n..(r + 1) * n];
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        for c in 0..n {
            assert!((got[r * n + c] - row[c] / norm).abs() < 1e-5);
        }
    }
    assert!(kernels::normalize::<32>::IR.contains("tile.func @norm"));
    let mut s = dev.tensor(&[1.0f32, 2.0, 3.0], [3]).unwrap();
    squares::launch(&dev, Grid::x(1), (&mut s, 3)).unwrap();
    assert_eq!(s.to_vec(), vec![1.0, 4.0, 9.0]);
}
