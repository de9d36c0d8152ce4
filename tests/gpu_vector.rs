//! Vector global accesses (`coalesce`'s `vec`, `ld/st.global.v2/v4.b32`)
//! run on a GPU and checked against the CPU interpreter running the same
//! kernels (defined here) on ragged sizes and misaligned bases.
//!
//! The lowering checks per run of consecutive registers, at run time, that
//! the first address is aligned to the run's bytes and that the run's mask
//! bits agree; else it falls back to one access per element. The kernels
//! take a `start` offset (in elements) into their tensors (tensors have no
//! views): `start = 1` puts every run off its 16-byte alignment, a ragged
//! `n` splits the last runs by the mask, an odd row stride misaligns every
//! other row. A second limit `lim` masks loads apart from stores, so that
//! masked-off elements read the `other` value (a tile, or a scalar) and are
//! stored; elements past `n` are never written (the outputs start filled
//! with a sentinel that must survive).
//!
//! Ignored without a GPU. `scripts/gpu/prebuild-basic.sh` writes the PTX of
//! these kernels (`tilefuse dump tests/gpu_vector.rs --kernel K ...`, 4
//! warps) and packs this test; on the GPU machine
//! `TILEFUSE_PTX_DIR=gpu-out/ptx gpu-out/run-tests.sh`.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::runtime::{Arg, PtrArg, PtxKernel};
use tilefuse::{Device, Element, Grid, Tensor, f16, tile_kernel};

/// `y[start + i] = load(x[start + i], i < lim, i % 7 - 3)` for `i < n`:
/// f16, 8 per thread (16 bytes), the `other` value a tile.
#[tile_kernel]
pub fn vcopy_f16<const B: usize>(x: Ptr<f16>, y: Ptr<f16>, n: i32, lim: i32, start: i32) {
    let i = program_id(0) * B + arange::<B>();
    let other = (i % 7 - 3).cast::<f16>();
    let v = load(x + start + i, i < lim, other);
    store(y + start + i, v, i < n);
}

/// `y[start + i] = 2 * load(x[start + i], i < lim, -1.5) + 1` for `i < n`:
/// f32, 4 per thread (16 bytes), the `other` value a scalar.
#[tile_kernel]
pub fn vscale_f32<const B: usize>(x: Ptr<f32>, y: Ptr<f32>, n: i32, lim: i32, start: i32) {
    let i = program_id(0) * B + arange::<B>();
    let v = load(x + start + i, i < lim, -1.5);
    store(y + start + i, v * 2.0 + 1.0, i < n);
}

/// `y[start + i] = load(x[start + i], i < lim, 0)` for `i < n`: f64, 2 per
/// thread (16 bytes).
#[tile_kernel]
pub fn vcopy_f64<const B: usize>(x: Ptr<f64>, y: Ptr<f64>, n: i32, lim: i32, start: i32) {
    let i = program_id(0) * B + arange::<B>();
    let v = load(x + start + i, i < lim, 0.0);
    store(y + start + i, v, i < n);
}

/// `y[start + i] = load(x[start + i], i < lim, 5)` for `i < n`: i8, 16 per
/// thread (16 bytes).
#[tile_kernel]
pub fn vcopy_i8<const B: usize>(x: Ptr<i8>, y: Ptr<i8>, n: i32, lim: i32, start: i32) {
    let i = program_id(0) * B + arange::<B>();
    let v = load(x + start + i, i < lim, 5);
    store(y + start + i, v, i < n);
}

/// An `R x C` block of a `rows x cols` f32 matrix with row stride
/// `stride`, from element `start`: `y = load(x, col < lim, -2) + 1` where
/// in bounds. Rows are contiguous: 4 f32 per thread along them.
#[tile_kernel]
pub fn vrows_f32<const R: usize, const C: usize>(
    x: Ptr<f32>,
    y: Ptr<f32>,
    rows: i32,
    cols: i32,
    lim: i32,
    stride: i32,
    start: i32,
) {
    let r = program_id(0) * R + arange::<R>();
    let c = program_id(1) * C + arange::<C>();
    let offs = start + r[(.., None)] * stride + c[(None, ..)];
    let rows_in = r[(.., None)] < rows;
    let v = load(x + offs, rows_in & (c[(None, ..)] < lim), -2.0);
    store(y + offs, v + 1.0, rows_in & (c[(None, ..)] < cols));
}

/// The transpose of an `R x C` block of f16: element `(r, c)` read at
/// `x[start + c * stride + r]` (contiguous along `r`: the layout turns to
/// dimension 0 with 8 f16 per thread there) and written at
/// `y[r * cols + c]`, within `rows x cols`.
#[tile_kernel]
pub fn vcols_f16<const R: usize, const C: usize>(
    x: Ptr<f16>,
    y: Ptr<f16>,
    rows: i32,
    cols: i32,
    stride: i32,
    start: i32,
) {
    let r = program_id(0) * R + arange::<R>();
    let c = program_id(1) * C + arange::<C>();
    let m = (r[(.., None)] < rows) & (c[(None, ..)] < cols);
    let v = load(x + start + c[(None, ..)] * stride + r[(.., None)], m, 0.0);
    store(y + r[(.., None)] * cols + c[(None, ..)], v, m);
}

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

fn load(gpu: &Device, name: &str) -> PtxKernel {
    let text = ptx(name);
    assert!(
        text.contains("ld.global.v"),
        "{name}.ptx has no vector load: rebuild it with scripts/gpu/prebuild-basic.sh"
    );
    gpu.load_ptx(&text, name).unwrap()
}

fn run(kernel: &PtxKernel, grid: Grid, args: Vec<Arg<'_>>) {
    kernel.launch(grid, BLOCK_THREADS, 0, args).unwrap();
}

/// The same data on the GPU and on the CPU.
fn both<T: Element>(gpu: &Device, cpu: &Device, host: &[T]) -> (Tensor<T>, Tensor<T>) {
    (
        gpu.tensor(host, [host.len()]).unwrap(),
        cpu.tensor(host, [host.len()]).unwrap(),
    )
}

/// The sizes of the 1-d cases: (n, lim, start) with `start` misaligning
/// (1, 3) or not (0, 8), `n` ragged or a multiple of the block, `lim`
/// inside a run, at `n`, or 0 (everything reads `other`).
fn one_d_cases(block: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for start in [0usize, 1, 3, 8] {
        for (n, lim) in [
            (block, block),
            (3 * block + 5, 2 * block + 3),
            (2 * block - 1, 2 * block - 1),
            (block + 6, 0),
            (1, 1),
        ] {
            out.push((n, lim, start));
        }
    }
    out
}

/// Runs a 1-d kernel of block `block` over `x` on both devices with every
/// case of [`one_d_cases`], the outputs starting as `fill`; compares the
/// whole outputs exactly (by `eq`).
fn check_one_d<T: Element + Copy + std::fmt::Debug>(
    name: &str,
    block: usize,
    make: impl Fn(&mut SmallRng) -> T,
    fill: T,
    eq: impl Fn(T, T) -> bool,
    cpu_launch: impl Fn(&Device, Grid, &Tensor<T>, &mut Tensor<T>, i32, i32, i32),
) {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = load(&gpu, name);
    let mut rng = SmallRng::seed_from_u64(40);
    for (n, lim, start) in one_d_cases(block) {
        let len = start + n + 19;
        let x: Vec<T> = (0..len).map(|_| make(&mut rng)).collect();
        let y0 = vec![fill; len];
        let ((gx, cx), (gy, mut cy)) = (both(&gpu, &cpu, &x), both(&gpu, &cpu, &y0));
        let grid = Grid::x(n.div_ceil(block));
        run(
            &kernel,
            grid,
            vec![
                (&gx).into_arg(),
                (&gy).into_arg(),
                (n as i32).into(),
                (lim as i32).into(),
                (start as i32).into(),
            ],
        );
        cpu_launch(&cpu, grid, &cx, &mut cy, n as i32, lim as i32, start as i32);
        let (got, want) = (gy.to_vec(), cy.to_vec());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                eq(*g, *w),
                "{name} n={n} lim={lim} start={start}: element {k}: gpu {g:?} vs cpu {w:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn f16_vector_copies_match_the_interpreter_misaligned_and_ragged() {
    check_one_d(
        "vcopy_f16",
        1024,
        |r| f16::from_f32(r.random_range(-8.0..8.0)),
        f16::from_f32(99.0),
        |a, b| a.to_bits() == b.to_bits(),
        |cpu, grid, x, y, n, lim, start| {
            vcopy_f16::<1024>::launch(cpu, grid, (x, y, n, lim, start)).unwrap();
        },
    );
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn f32_vector_accesses_match_the_interpreter_misaligned_and_ragged() {
    check_one_d(
        "vscale_f32",
        1024,
        |r| r.random_range(-8.0f32..8.0),
        99.0f32,
        |a, b| a.to_bits() == b.to_bits(),
        |cpu, grid, x, y, n, lim, start| {
            vscale_f32::<1024>::launch(cpu, grid, (x, y, n, lim, start)).unwrap();
        },
    );
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn f64_and_i8_vector_copies_match_the_interpreter_misaligned_and_ragged() {
    check_one_d(
        "vcopy_f64",
        256,
        |r| r.random_range(-8.0f64..8.0),
        99.0f64,
        |a, b| a.to_bits() == b.to_bits(),
        |cpu, grid, x, y, n, lim, start| {
            vcopy_f64::<256>::launch(cpu, grid, (x, y, n, lim, start)).unwrap();
        },
    );
    check_one_d(
        "vcopy_i8",
        2048,
        |r| r.random_range(-100i8..100),
        99i8,
        |a, b| a == b,
        |cpu, grid, x, y, n, lim, start| {
            vcopy_i8::<2048>::launch(cpu, grid, (x, y, n, lim, start)).unwrap();
        },
    );
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn row_blocks_match_the_interpreter_with_odd_strides_and_offsets() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = load(&gpu, "vrows_f32");
    let mut rng = SmallRng::seed_from_u64(41);
    // (rows, cols, lim, stride, start)
    for (rows, cols, lim, stride, start) in [
        (32usize, 64usize, 64usize, 64usize, 0usize),
        (37, 100, 100, 100, 0),
        (37, 100, 61, 101, 0),
        (20, 70, 70, 71, 1),
        (16, 128, 30, 128, 3),
        (5, 3, 2, 3, 2),
    ] {
        let len = start + rows * stride + 7;
        let x: Vec<f32> = (0..len).map(|_| rng.random_range(-4.0..4.0)).collect();
        let ((gx, cx), (gy, mut cy)) = (both(&gpu, &cpu, &x), both(&gpu, &cpu, &vec![9.0f32; len]));
        let grid = Grid::xy(rows.div_ceil(16), cols.div_ceil(64));
        let ints = [rows, cols, lim, stride, start].map(|v| v as i32);
        let mut args: Vec<Arg<'_>> = vec![(&gx).into_arg(), (&gy).into_arg()];
        args.extend(ints.iter().map(|&v| Arg::from(v)));
        run(&kernel, grid, args);
        let [r, c, l, s, o] = ints;
        vrows_f32::<16, 64>::launch(&cpu, grid, (&cx, &mut cy, r, c, l, s, o)).unwrap();
        let (got, want) = (gy.to_vec(), cy.to_vec());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits(),
                "{rows}x{cols} lim={lim} stride={stride} start={start}: element {k}: gpu {g} vs cpu {w}"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn column_blocks_match_the_interpreter_with_odd_strides_and_offsets() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = load(&gpu, "vcols_f16");
    let mut rng = SmallRng::seed_from_u64(42);
    // (rows, cols, stride >= rows, start)
    for (rows, cols, stride, start) in [
        (64usize, 32usize, 64usize, 0usize),
        (100, 40, 100, 0),
        (100, 40, 103, 0),
        (70, 33, 70, 1),
        (9, 5, 11, 3),
    ] {
        let len = start + cols * stride + 5;
        let x: Vec<f16> = (0..len)
            .map(|_| f16::from_f32(rng.random_range(-4.0..4.0)))
            .collect();
        let out = rows * cols;
        let fill = vec![f16::from_f32(9.0); out];
        let (gx, cx) = both(&gpu, &cpu, &x);
        let (gy, mut cy) = both(&gpu, &cpu, &fill);
        let grid = Grid::xy(rows.div_ceil(64), cols.div_ceil(32));
        let ints = [rows, cols, stride, start].map(|v| v as i32);
        let mut args: Vec<Arg<'_>> = vec![(&gx).into_arg(), (&gy).into_arg()];
        args.extend(ints.iter().map(|&v| Arg::from(v)));
        run(&kernel, grid, args);
        let [r, c, s, o] = ints;
        vcols_f16::<64, 32>::launch(&cpu, grid, (&cx, &mut cy, r, c, s, o)).unwrap();
        let (got, want) = (gy.to_vec(), cy.to_vec());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits(),
                "{rows}x{cols} stride={stride} start={start}: element {k}: gpu {g} vs cpu {w}"
            );
        }
    }
}
