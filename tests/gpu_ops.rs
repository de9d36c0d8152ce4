//! Scans, sorts and top-k lowered by the NVPTX backend, run on a GPU and
//! checked against the CPU interpreter running the same kernels (defined
//! here) on random, ragged inputs with many ties, NaNs and signed zeros;
//! and shared-memory users across loops and branches (`sync_flow`, where
//! `insert-barriers` decides the barriers) against a plain Rust reference.
//!
//! Ignored without a GPU. `scripts/gpu/prebuild-basic.sh` writes the PTX of
//! these kernels (`tilefuse dump tests/gpu_ops.rs --kernel K ...`, 4 warps)
//! and packs this test; on the GPU machine
//! `TILEFUSE_PTX_DIR=gpu-out/ptx gpu-out/run-tests.sh`.
//!
//! Max, min, sort and top-k must agree exactly (NaN with NaN, whatever its
//! payload); float sums and products within rounding (the GPU combines in
//! tree order, the interpreter left to right in f64).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::runtime::{Arg, PtrArg, PtxKernel};
use tilefuse::{Device, Grid, Tensor, f16, tile_kernel};

/// One row of `n` per program: prefix sum and max, reverse prefix product
/// and min, each into its own plane of `out` (`4 x rows x n`).
#[tile_kernel]
pub fn scan_f32<const B: usize>(x: Ptr<f32>, y: Ptr<f32>, out: Ptr<f32>, n: i32) {
    let row = program_id(0);
    let plane = num_programs(0) * n;
    let i = arange::<B>();
    let m = i < n;
    let v = load(x + row * n + i, m, 0.0);
    let p = load(y + row * n + i, m, 1.0);
    let big = load(x + row * n + i, m, f32::INFINITY);
    let o = out + row * n + i;
    store(o, cumsum(v, 0), m);
    store(o + plane, cummax(v, 0), m);
    store(o + 2 * plane, cumprod_rev(p, 0), m);
    store(o + 3 * plane, cummin_rev(big, 0), m);
}

/// i32 prefix sum, reverse prefix max and prefix min of rows of `n`.
#[tile_kernel]
pub fn scan_i32<const B: usize>(x: Ptr<i32>, out: Ptr<i32>, n: i32) {
    let row = program_id(0);
    let plane = num_programs(0) * n;
    let i = arange::<B>();
    let m = i < n;
    let v = load(x + row * n + i, m, 0);
    let o = out + row * n + i;
    store(o, cumsum(v, 0), m);
    store(o + plane, cummax_rev(v, 0), m);
    store(o + 2 * plane, cummin(v, 0), m);
}

/// f16 prefix sums (the GPU sums in f32 and rounds once) and i1 prefix
/// "any" (max) and reverse "all" (min) of rows of `n`.
#[tile_kernel]
pub fn scan_f16<const B: usize>(x: Ptr<f16>, out: Ptr<f16>, flags: Ptr<i32>, n: i32) {
    let row = program_id(0);
    let i = arange::<B>();
    let m = i < n;
    let v = load(x + row * n + i, m, 0.0);
    store(out + row * n + i, cumsum(v, 0), m);
    let any = cummax(v > 0.0, 0);
    let all = cummin_rev((v > -0.5) | (i >= n), 0);
    store(
        flags + row * n + i,
        select(any, 1, 0) + select(all, 2, 0),
        m,
    );
}

/// Scans of an `R x C` block of a `rows x cols` matrix along both axes.
#[tile_kernel]
pub fn scan2_f32<const R: usize, const C: usize>(x: Ptr<f32>, out: Ptr<f32>, rows: i32, cols: i32) {
    let r = program_id(0) * R + arange::<R>();
    let c = arange::<C>();
    let m = (r[(.., None)] < rows) & (c[(None, ..)] < cols);
    let offs = r[(.., None)] * cols + c[(None, ..)];
    let v = load(x + offs, m, 0.0);
    let big = load(x + offs, m, f32::INFINITY);
    let plane = rows * cols;
    store(out + offs, cumsum(v, 0), m);
    store(out + plane + offs, cumsum_rev(v, 1), m);
    store(out + 2 * plane + offs, cummax(v, 1), m);
    store(out + 3 * plane + offs, cummin_rev(big, 0), m);
}

/// Ascending and descending sorts of rows of `n` (values and positions).
#[tile_kernel]
pub fn sort_f32<const B: usize>(x: Ptr<f32>, vals: Ptr<f32>, idx: Ptr<i32>, n: i32) {
    let row = program_id(0);
    let plane = num_programs(0) * n;
    let i = arange::<B>();
    let m = i < n;
    let up = load(x + row * n + i, m, f32::INFINITY);
    let down = load(x + row * n + i, m, f32::NEG_INFINITY);
    let (a, ai) = sort(up, 0);
    let (d, di) = sort(down, 0, true);
    let o = row * n + i;
    store(vals + o, a, m);
    store(idx + o, ai, m);
    store(vals + plane + o, d, m);
    store(idx + plane + o, di, m);
}

/// Sorts of an `R x C` block of i32 along both axes (ascending along the
/// rows, descending down the columns).
#[tile_kernel]
pub fn sort2_i32<const R: usize, const C: usize>(
    x: Ptr<i32>,
    vals: Ptr<i32>,
    idx: Ptr<i32>,
    rows: i32,
    cols: i32,
) {
    let r = program_id(0) * R + arange::<R>();
    let c = arange::<C>();
    let m = (r[(.., None)] < rows) & (c[(None, ..)] < cols);
    let offs = r[(.., None)] * cols + c[(None, ..)];
    let v = load(x + offs, m, 2147483647);
    let (a, ai) = sort(v, 1);
    let (d, di) = sort(v, 0, true);
    let plane = rows * cols;
    store(vals + offs, a, m);
    store(idx + offs, ai, m);
    store(vals + plane + offs, d, m);
    store(idx + plane + offs, di, m);
}

/// The 8 largest and the 8 smallest of rows of `n` (`n >= 8`).
#[tile_kernel]
pub fn topk_f32<const B: usize>(x: Ptr<f32>, vals: Ptr<f32>, idx: Ptr<i32>, n: i32) {
    let row = program_id(0);
    let i = arange::<B>();
    let m = i < n;
    let lo = load(x + row * n + i, m, f32::NEG_INFINITY);
    let hi = load(x + row * n + i, m, f32::INFINITY);
    let (t, ti) = topk(lo, 8, 0);
    let (b, bi) = bottomk(hi, 8, 0);
    let j = arange::<8>();
    let o = row * 16 + j;
    store(vals + o, t);
    store(idx + o, ti);
    store(vals + o + 8, b);
    store(idx + o + 8, bi);
}

/// The 4 largest of each row and the 4 smallest of each column of an
/// `R x C` block of i32 (`cols >= 4` and `rows >= 4`).
#[tile_kernel]
pub fn topk2_i32<const R: usize, const C: usize>(
    x: Ptr<i32>,
    rv: Ptr<i32>,
    ri: Ptr<i32>,
    cv: Ptr<i32>,
    ci: Ptr<i32>,
    rows: i32,
    cols: i32,
) {
    let r = program_id(0) * R + arange::<R>();
    let c = arange::<C>();
    let m = (r[(.., None)] < rows) & (c[(None, ..)] < cols);
    let offs = r[(.., None)] * cols + c[(None, ..)];
    let lo = load(x + offs, m, -2147483647);
    let hi = load(x + offs, m, 2147483647);
    let (t, ti) = topk(lo, 4, 1);
    let (b, bi) = bottomk(hi, 4, 0);
    let k = arange::<4>();
    let ro = r[(.., None)] * 4 + k[(None, ..)];
    let rm = r[(.., None)] < rows;
    store(rv + ro, t, rm);
    store(ri + ro, ti, rm);
    let co = program_id(0) * 4 * C + k[(.., None)] * C + c[(None, ..)];
    store(cv + co, b);
    store(ci + co, bi);
}

/// Users of shared memory across control flow, where `insert-barriers`
/// places the barriers (`B = 1024` on 4 warps: every reduction crosses
/// warps): two reductions per trip of a loop (the back edge brings the
/// second's use to the first), a scalar atomic whose old value reaches every
/// thread through the atomics' buffer, a scan, reductions in either branch
/// of an `if`, and in both regions of a `while` (one in its condition).
/// Integers, so exact. Row `r` writes `acc`, `r + ticket`, `s`, `k` at
/// `out[4 r..]`.
#[tile_kernel]
pub fn sync_flow<const B: usize>(
    x: Ptr<i32>,
    counters: Ptr<i32>,
    out: Ptr<i32>,
    n: i32,
    trips: i32,
) {
    let row = program_id(0);
    let i = arange::<B>();
    let v = load(x + row * n + i, i < n, 0);
    let mut acc = 0;
    for t in range(0, trips, 1) {
        let w = v * (t + 1);
        acc += sum(w, 0) - max(w, 0);
    }
    let ticket = atomic_add(counters + row, 1);
    let c = cumsum(v, 0);
    let r = if acc > ticket {
        max(c, 0)
    } else {
        min(c, 0) + sum(v, 0)
    };
    let mut k = 0;
    let mut s = 0;
    while (k < trips) & (max(v + k, 0) < 60) {
        s += sum(v * k, 0);
        k += 1;
    }
    let o = out + row * 4;
    store(o, acc);
    store(o + 1, r + ticket);
    store(o + 2, s);
    store(o + 3, k);
}

/// What `sync_flow::<b>` computes, in plain Rust.
fn sync_flow_reference(x: &[i32], counters: &[i32], n: usize, b: usize, trips: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for (row, &ticket) in counters.iter().enumerate() {
        let mut v = x[row * n..(row + 1) * n].to_vec();
        v.resize(b, 0);
        let sum = |f: &dyn Fn(i32) -> i32| v.iter().map(|&e| f(e)).sum::<i32>();
        let max = |f: &dyn Fn(i32) -> i32| v.iter().map(|&e| f(e)).max().unwrap();
        let acc: i32 = (0..trips)
            .map(|t| sum(&|e| e * (t + 1)) - max(&|e| e * (t + 1)))
            .sum();
        let c: Vec<i32> = v
            .iter()
            .scan(0, |p, &e| {
                *p += e;
                Some(*p)
            })
            .collect();
        let r = if acc > ticket {
            *c.iter().max().unwrap()
        } else {
            *c.iter().min().unwrap() + sum(&|e| e)
        };
        let (mut k, mut s) = (0, 0);
        while k < trips && max(&|e| e + k) < 60 {
            s += sum(&|e| e * k);
            k += 1;
        }
        out.extend([acc, r + ticket, s, k]);
    }
    out
}

/// Random rows for `sync_flow`: some with an element large enough to end
/// the `while` early, some not; counters around the loop's result so
/// that both branches of the `if` run.
fn sync_flow_inputs(rng: &mut SmallRng, rows: usize, n: usize) -> (Vec<i32>, Vec<i32>) {
    let mut x = Vec::with_capacity(rows * n);
    for row in 0..rows {
        let top = if row % 2 == 0 { 40 } else { 58 };
        x.extend((0..n).map(|_| rng.random_range(-40..top)));
    }
    let counters = (0..rows).map(|_| rng.random_range(-3000..3000)).collect();
    (x, counters)
}

/// The interpreter runs `sync_flow` as the plain Rust reference says (so
/// the GPU test below checks the GPU against both).
#[test]
fn sync_flow_reference_matches_the_interpreter() {
    let cpu = Device::cpu();
    let mut rng = SmallRng::seed_from_u64(17);
    for (rows, n, trips) in [(2usize, 1024usize, 3i32), (3, 700, 5), (2, 33, 0)] {
        let (x, counters) = sync_flow_inputs(&mut rng, rows, n);
        let cx = cpu.tensor(&x, [rows * n]).unwrap();
        let mut cc = cpu.tensor(&counters, [rows]).unwrap();
        let mut co = cpu.zeros::<i32>([4 * rows]).unwrap();
        sync_flow::<1024>::launch(
            &cpu,
            Grid::x(rows),
            (&cx, &mut cc, &mut co, n as i32, trips),
        )
        .unwrap();
        assert_eq!(
            co.to_vec(),
            sync_flow_reference(&x, &counters, n, 1024, trips),
            "rows={rows} n={n} trips={trips}"
        );
        let bumped: Vec<i32> = counters.iter().map(|c| c + 1).collect();
        assert_eq!(cc.to_vec(), bumped);
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn barriers_across_control_flow_match_the_reference() {
    let gpu = gpu();
    let k = load(&gpu, "sync_flow", "sync_flow");
    let mut rng = SmallRng::seed_from_u64(18);
    // Many rows (CTAs) and repeats: a missing barrier is a race that shows
    // only sometimes.
    for (rows, n, trips) in [
        (64usize, 1024usize, 3i32),
        (96, 1000, 5),
        (64, 513, 1),
        (8, 33, 0),
    ] {
        for _ in 0..5 {
            let (x, counters) = sync_flow_inputs(&mut rng, rows, n);
            let gx = gpu.tensor(&x, [rows * n]).unwrap();
            let gc = gpu.tensor(&counters, [rows]).unwrap();
            let go = gpu.zeros::<i32>([4 * rows]).unwrap();
            run(
                &k,
                Grid::x(rows),
                vec![
                    (&gx).into_arg(),
                    (&gc).into_arg(),
                    (&go).into_arg(),
                    (n as i32).into(),
                    trips.into(),
                ],
            );
            assert_eq!(
                go.to_vec(),
                sync_flow_reference(&x, &counters, n, 1024, trips),
                "rows={rows} n={n} trips={trips}"
            );
            let bumped: Vec<i32> = counters.iter().map(|c| c + 1).collect();
            assert_eq!(gc.to_vec(), bumped);
        }
    }
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

fn load(gpu: &Device, name: &str, file: &str) -> PtxKernel {
    gpu.load_ptx(&ptx(file), name).unwrap()
}

fn run(kernel: &PtxKernel, grid: Grid, args: Vec<Arg<'_>>) {
    kernel.launch(grid, BLOCK_THREADS, 0, args).unwrap();
}

/// Floats from a small set (many ties), with signed zeros and, when `nan`,
/// an occasional NaN.
fn tied_floats(rng: &mut SmallRng, len: usize, nan: bool) -> Vec<f32> {
    (0..len)
        .map(|_| match rng.random_range(0..20) {
            0 => -0.0,
            1 => 0.0,
            2 if nan => f32::NAN,
            _ => rng.random_range(-6i32..=6) as f32 * 0.5,
        })
        .collect()
}

fn same_float(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Exact agreement, NaN matching NaN.
fn assert_exact(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(same_float(*g, *w), "{what} element {i}: gpu {g} vs cpu {w}");
    }
}

/// Agreement within `rel` of the magnitude `scale[i]` (NaN matching NaN).
fn assert_close(what: &str, got: &[f32], want: &[f32], scale: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.is_nan() || w.is_nan() {
            assert!(
                g.is_nan() && w.is_nan(),
                "{what} element {i}: gpu {g} vs cpu {w}"
            );
            continue;
        }
        let tol = rel * (1.0 + scale[i]);
        assert!(
            (f64::from(*g) - f64::from(*w)).abs() <= tol,
            "{what} element {i}: gpu {g} vs cpu {w} (tolerance {tol})"
        );
    }
}

/// `sum |x|` over each prefix (reversed when `rev`) of each line of `n`.
fn abs_prefix(x: &[f32], n: usize, rev: bool) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for (line, o) in x.chunks(n).zip(out.chunks_mut(n)) {
        let mut s = 0.0;
        let order: Vec<usize> = if rev {
            (0..n).rev().collect()
        } else {
            (0..n).collect()
        };
        for k in order {
            s += f64::from(line[k]).abs();
            o[k] = s;
        }
    }
    out
}

fn gpu_and_cpu<T: tilefuse::Element>(
    gpu: &Device,
    cpu: &Device,
    host: &[T],
    len: usize,
) -> (Tensor<T>, Tensor<T>) {
    (
        gpu.tensor(host, [len]).unwrap(),
        cpu.tensor(host, [len]).unwrap(),
    )
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn scans_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kf = load(&gpu, "scan_f32", "scan_f32");
    let ki = load(&gpu, "scan_i32", "scan_i32");
    let mut rng = SmallRng::seed_from_u64(11);
    for (rows, n) in [(1usize, 1usize), (3, 7), (2, 100), (3, 1000), (1, 1024)] {
        let len = rows * n;
        let mut x: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
        // Ties, signed zeros and a NaN in the last row for max and min.
        let tied = tied_floats(&mut rng, n, true);
        x[(rows - 1) * n..].copy_from_slice(&tied);
        let y: Vec<f32> = (0..len).map(|_| rng.random_range(0.8..1.25)).collect();
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let (gy, cy) = gpu_and_cpu(&gpu, &cpu, &y, len);
        let go = gpu.zeros::<f32>([4 * len]).unwrap();
        run(
            &kf,
            Grid::x(rows),
            vec![
                (&gx).into_arg(),
                (&gy).into_arg(),
                (&go).into_arg(),
                (n as i32).into(),
            ],
        );
        let mut co = cpu.zeros::<f32>([4 * len]).unwrap();
        scan_f32::<1024>::launch(&cpu, Grid::x(rows), (&cx, &cy, &mut co, n as i32)).unwrap();
        let (g, c) = (go.to_vec(), co.to_vec());
        let what = |k: &str| format!("{k} rows={rows} n={n}");
        assert_close(
            &what("cumsum"),
            &g[..len],
            &c[..len],
            &abs_prefix(&x, n, false),
            1e-5,
        );
        assert_exact(&what("cummax"), &g[len..2 * len], &c[len..2 * len]);
        // Products: relative to their magnitude.
        let magnitude: Vec<f64> = c[2 * len..3 * len]
            .iter()
            .map(|v| f64::from(v.abs()))
            .collect();
        assert_close(
            &what("cumprod_rev"),
            &g[2 * len..3 * len],
            &c[2 * len..3 * len],
            &magnitude,
            1e-4,
        );
        assert_exact(&what("cummin_rev"), &g[3 * len..], &c[3 * len..]);

        let xi: Vec<i32> = (0..len).map(|_| rng.random_range(-1000..1000)).collect();
        let (gxi, cxi) = gpu_and_cpu(&gpu, &cpu, &xi, len);
        let goi = gpu.zeros::<i32>([3 * len]).unwrap();
        run(
            &ki,
            Grid::x(rows),
            vec![(&gxi).into_arg(), (&goi).into_arg(), (n as i32).into()],
        );
        let mut coi = cpu.zeros::<i32>([3 * len]).unwrap();
        scan_i32::<1024>::launch(&cpu, Grid::x(rows), (&cxi, &mut coi, n as i32)).unwrap();
        assert_eq!(goi.to_vec(), coi.to_vec(), "i32 scans rows={rows} n={n}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn f16_and_bool_scans_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let k = load(&gpu, "scan_f16", "scan_f16");
    let mut rng = SmallRng::seed_from_u64(16);
    for (rows, n) in [(1usize, 1usize), (3, 50), (2, 1000)] {
        let len = rows * n;
        let x: Vec<f16> = (0..len)
            .map(|_| f16::from_f32(rng.random_range(-1.0..1.0)))
            .collect();
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let (go, gf) = (
            gpu.zeros::<f16>([len]).unwrap(),
            gpu.zeros::<i32>([len]).unwrap(),
        );
        run(
            &k,
            Grid::x(rows),
            vec![
                (&gx).into_arg(),
                (&go).into_arg(),
                (&gf).into_arg(),
                (n as i32).into(),
            ],
        );
        let (mut co, mut cf) = (
            cpu.zeros::<f16>([len]).unwrap(),
            cpu.zeros::<i32>([len]).unwrap(),
        );
        scan_f16::<1024>::launch(&cpu, Grid::x(rows), (&cx, &mut co, &mut cf, n as i32)).unwrap();
        let (g, c): (Vec<f32>, Vec<f32>) = (
            go.to_vec().iter().map(|v| v.to_f32()).collect(),
            co.to_vec().iter().map(|v| v.to_f32()).collect(),
        );
        // Within an f16 rounding of the result (plus the f32 sum's error).
        let magnitude: Vec<f64> = c.iter().map(|v| f64::from(v.abs())).collect();
        assert_close(
            &format!("f16 cumsum rows={rows} n={n}"),
            &g,
            &c,
            &magnitude,
            2e-3,
        );
        assert_eq!(gf.to_vec(), cf.to_vec(), "i1 scans rows={rows} n={n}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn two_d_scans_match_the_interpreter_along_both_axes() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let k = load(&gpu, "scan2_f32", "scan2_f32");
    let mut rng = SmallRng::seed_from_u64(12);
    for (rows, cols) in [(1usize, 1usize), (5, 60), (37, 64), (16, 33)] {
        let len = rows * cols;
        let x = tied_floats(&mut rng, len, false);
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let go = gpu.zeros::<f32>([4 * len]).unwrap();
        let grid = Grid::x(rows.div_ceil(16));
        run(
            &k,
            grid,
            vec![
                (&gx).into_arg(),
                (&go).into_arg(),
                (rows as i32).into(),
                (cols as i32).into(),
            ],
        );
        let mut co = cpu.zeros::<f32>([4 * len]).unwrap();
        scan2_f32::<16, 64>::launch(&cpu, grid, (&cx, &mut co, rows as i32, cols as i32)).unwrap();
        let (g, c) = (go.to_vec(), co.to_vec());
        // Sums of halves are exact in f32 here (small integers / 2); a sum
        // may differ in the sign of a zero (the interpreter starts from +0).
        let zeros = vec![0.0; 2 * len];
        let what = format!("2-d scans {rows}x{cols}");
        assert_close(&what, &g[..2 * len], &c[..2 * len], &zeros, 0.0);
        assert_exact(&what, &g[2 * len..], &c[2 * len..]);
    }
}

/// Sorted values and positions of the GPU and the interpreter, exactly.
fn check_sorted<T: PartialEq + std::fmt::Debug>(
    what: &str,
    gv: &[T],
    cv: &[T],
    gi: &[i32],
    ci: &[i32],
    same: impl Fn(&T, &T) -> bool,
) {
    assert_eq!(gi, ci, "{what}: positions");
    for (i, (g, c)) in gv.iter().zip(cv).enumerate() {
        assert!(same(g, c), "{what} element {i}: gpu {g:?} vs cpu {c:?}");
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn sorts_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let k = load(&gpu, "sort_f32", "sort_f32");
    let mut rng = SmallRng::seed_from_u64(13);
    for (rows, n) in [(1usize, 1usize), (3, 9), (2, 500), (3, 1024)] {
        let len = rows * n;
        let mut x = tied_floats(&mut rng, len, true);
        if rows > 1 {
            // A row without ties or NaNs.
            for v in &mut x[..n] {
                *v = rng.random_range(-1.0..1.0);
            }
        }
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let (gv, gi) = (
            gpu.zeros::<f32>([2 * len]).unwrap(),
            gpu.zeros::<i32>([2 * len]).unwrap(),
        );
        run(
            &k,
            Grid::x(rows),
            vec![
                (&gx).into_arg(),
                (&gv).into_arg(),
                (&gi).into_arg(),
                (n as i32).into(),
            ],
        );
        let (mut cv, mut ci) = (
            cpu.zeros::<f32>([2 * len]).unwrap(),
            cpu.zeros::<i32>([2 * len]).unwrap(),
        );
        sort_f32::<1024>::launch(&cpu, Grid::x(rows), (&cx, &mut cv, &mut ci, n as i32)).unwrap();
        check_sorted(
            &format!("sort rows={rows} n={n}"),
            &gv.to_vec(),
            &cv.to_vec(),
            &gi.to_vec(),
            &ci.to_vec(),
            |a, b| same_float(*a, *b),
        );
    }
}

/// Times one launch (after a warm-up) of `kernel` over `rows` rows of 1024
/// f32 with the (x, out, out.., n) parameters of the 1-d kernels here.
fn time_rows(gpu: &Device, kernel: &PtxKernel, outputs: usize, what: &str) {
    let (rows, n) = (4096usize, 1024usize);
    let x = gpu.tensor(&vec![0.5f32; rows * n], [rows * n]).unwrap();
    let outs: Vec<Tensor<f32>> = (0..outputs)
        .map(|_| gpu.zeros::<f32>([4 * rows * n]).unwrap())
        .collect();
    let args = || {
        let mut a = vec![(&x).into_arg()];
        a.extend(outs.iter().map(|o| o.into_arg()));
        a.push((n as i32).into());
        a
    };
    run(kernel, Grid::x(rows), args());
    let start = std::time::Instant::now();
    run(kernel, Grid::x(rows), args());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what}: {rows} rows of {n} f32 on {}: {:.3} ms (one synchronous launch)",
        gpu.name(),
        secs * 1e3
    );
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn rough_timings() {
    let gpu = gpu();
    let scan = load(&gpu, "scan_f32", "scan_f32");
    // scan_f32 takes (x, y, out, n): y is the second input.
    time_rows(
        &gpu,
        &scan,
        2,
        "scan_f32 (cumsum, cummax, cumprod_rev, cummin_rev)",
    );
    let sort = load(&gpu, "sort_f32", "sort_f32");
    time_rows(&gpu, &sort, 2, "sort_f32 (ascending and descending)");
    let topk = load(&gpu, "topk_f32", "topk_f32");
    time_rows(&gpu, &topk, 2, "topk_f32 (top 8 and bottom 8)");
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn two_d_sorts_match_the_interpreter_along_both_axes() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let k = load(&gpu, "sort2_i32", "sort2_i32");
    let mut rng = SmallRng::seed_from_u64(14);
    for (rows, cols) in [(1usize, 1usize), (7, 30), (40, 32), (32, 17)] {
        let len = rows * cols;
        let x: Vec<i32> = (0..len).map(|_| rng.random_range(-3..4)).collect();
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let (gv, gi) = (
            gpu.zeros::<i32>([2 * len]).unwrap(),
            gpu.zeros::<i32>([2 * len]).unwrap(),
        );
        let grid = Grid::x(rows.div_ceil(32));
        run(
            &k,
            grid,
            vec![
                (&gx).into_arg(),
                (&gv).into_arg(),
                (&gi).into_arg(),
                (rows as i32).into(),
                (cols as i32).into(),
            ],
        );
        let (mut cv, mut ci) = (
            cpu.zeros::<i32>([2 * len]).unwrap(),
            cpu.zeros::<i32>([2 * len]).unwrap(),
        );
        sort2_i32::<32, 32>::launch(
            &cpu,
            grid,
            (&cx, &mut cv, &mut ci, rows as i32, cols as i32),
        )
        .unwrap();
        check_sorted(
            &format!("2-d sort {rows}x{cols}"),
            &gv.to_vec(),
            &cv.to_vec(),
            &gi.to_vec(),
            &ci.to_vec(),
            |a, b| a == b,
        );
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn topk_matches_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let k = load(&gpu, "topk_f32", "topk_f32");
    let mut rng = SmallRng::seed_from_u64(15);
    for (rows, n) in [(1usize, 8usize), (3, 13), (2, 700), (2, 1024)] {
        let len = rows * n;
        let x = tied_floats(&mut rng, len, true);
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let (gv, gi) = (
            gpu.zeros::<f32>([16 * rows]).unwrap(),
            gpu.zeros::<i32>([16 * rows]).unwrap(),
        );
        run(
            &k,
            Grid::x(rows),
            vec![
                (&gx).into_arg(),
                (&gv).into_arg(),
                (&gi).into_arg(),
                (n as i32).into(),
            ],
        );
        let (mut cv, mut ci) = (
            cpu.zeros::<f32>([16 * rows]).unwrap(),
            cpu.zeros::<i32>([16 * rows]).unwrap(),
        );
        topk_f32::<1024>::launch(&cpu, Grid::x(rows), (&cx, &mut cv, &mut ci, n as i32)).unwrap();
        check_sorted(
            &format!("topk rows={rows} n={n}"),
            &gv.to_vec(),
            &cv.to_vec(),
            &gi.to_vec(),
            &ci.to_vec(),
            |a, b| same_float(*a, *b),
        );
    }

    let k2 = load(&gpu, "topk2_i32", "topk2_i32");
    for (rows, cols) in [(4usize, 4usize), (9, 30), (40, 32), (64, 17)] {
        let len = rows * cols;
        let x: Vec<i32> = (0..len).map(|_| rng.random_range(-3..4)).collect();
        let blocks = rows.div_ceil(32);
        let (gx, cx) = gpu_and_cpu(&gpu, &cpu, &x, len);
        let g: Vec<Tensor<i32>> = [4 * rows, 4 * rows, blocks * 4 * 32, blocks * 4 * 32]
            .iter()
            .map(|&l| gpu.zeros::<i32>([l]).unwrap())
            .collect();
        let grid = Grid::x(blocks);
        run(
            &k2,
            grid,
            vec![
                (&gx).into_arg(),
                (&g[0]).into_arg(),
                (&g[1]).into_arg(),
                (&g[2]).into_arg(),
                (&g[3]).into_arg(),
                (rows as i32).into(),
                (cols as i32).into(),
            ],
        );
        let mut c: Vec<Tensor<i32>> = [4 * rows, 4 * rows, blocks * 4 * 32, blocks * 4 * 32]
            .iter()
            .map(|&l| cpu.zeros::<i32>([l]).unwrap())
            .collect();
        let [c0, c1, c2, c3] = &mut c[..] else {
            unreachable!("four outputs")
        };
        topk2_i32::<32, 32>::launch(&cpu, grid, (&cx, c0, c1, c2, c3, rows as i32, cols as i32))
            .unwrap();
        for (i, (g, c)) in g.iter().zip(&c).enumerate() {
            assert_eq!(g.to_vec(), c.to_vec(), "2-d topk {rows}x{cols} output {i}");
        }
    }
}
