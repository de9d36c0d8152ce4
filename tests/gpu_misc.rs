//! Atomics, tensor descriptors, device print and device assert lowered by
//! the NVPTX backend, run on a GPU and checked against the CPU interpreter
//! running the same kernels (defined here; `scripts/gpu/prebuild-basic.sh`
//! lowers them from this file with `tilefuse dump`).
//!
//! Where the GPU may legitimately differ from the interpreter's row-major
//! sequential order (atomics hitting one address), the checks compare what
//! is order-independent: final memory of commutative kinds, the multiset of
//! old values per address, one winner per compare-and-swap.
//!
//! Print and assert write through the driver's printf buffer to the
//! process's stdout, and a failed assert leaves the CUDA context unusable,
//! so those run in a child process (this test binary again, with
//! `TILEFUSE_GPU_MISC_CHILD` naming the case) whose output the parent reads.
//!
//! Ignored without a GPU: on the GPU machine `TILEFUSE_PTX_DIR=gpu-out/ptx
//! gpu-out/run-tests.sh`.

use std::collections::HashMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::runtime::PtrArg;
use tilefuse::{Device, Grid, bf16, f16, tile_kernel};

/// Threads per CTA the PTX was lowered for (4 warps).
const BLOCK_THREADS: [u32; 3] = [128, 1, 1];

/// Counts elements per bin; every element's old count goes to `old` (0
/// for masked-off lanes); weights are summed per bin as f32.
#[tile_kernel]
pub fn histogram<const B: usize>(
    x: Ptr<i32>,
    w: Ptr<f32>,
    hist: Ptr<i32>,
    fhist: Ptr<f32>,
    old: Ptr<i32>,
    n: i32,
) {
    let offs = program_id(0) * B + arange::<B>();
    let mask = offs < n;
    let bin = load(x + offs, mask, 0);
    let o = atomic_add(hist + bin, 1, mask);
    store(old + offs, o);
    atomic_add(fhist + bin, load(w + offs, mask, 0.0), mask);
}

/// One ticket per program from a scalar counter.
#[tile_kernel]
pub fn tickets<const B: usize>(counter: Ptr<i32>, out: Ptr<i32>) {
    let t = atomic_add(counter, 1);
    store(out + program_id(0), t);
}

/// Max and min per bin (floats propagate NaN), and an exchange.
#[tile_kernel]
pub fn extremes<const B: usize>(
    x: Ptr<f32>,
    idx: Ptr<i32>,
    fmax: Ptr<f32>,
    imin: Ptr<i32>,
    swap: Ptr<f32>,
    prev: Ptr<f32>,
    n: i32,
) {
    let offs = program_id(0) * B + arange::<B>();
    let mask = offs < n;
    let v = load(x + offs, mask, 0.0);
    let i = load(idx + offs, mask, 0);
    atomic_max(fmax + i, v, mask);
    atomic_min(imin + i, (v * 1000.0).cast::<i32>(), mask);
    let p = atomic_xchg(swap + offs, v, mask);
    store(prev + offs, p, mask);
}

/// Atomics on every other element type, with values whose sums are exact
/// (so that the order of colliding elements does not matter).
#[tile_kernel]
pub fn typed_atomics<const B: usize>(
    bins: Ptr<i32>,
    zs: Ptr<f32>,
    h: Ptr<f16>,
    bh: Ptr<bf16>,
    d: Ptr<f64>,
    l: Ptr<i64>,
    lmax: Ptr<i64>,
    c: Ptr<i8>,
    any: Ptr<bool>,
    all: Ptr<bool>,
    fmin: Ptr<f32>,
    n: i32,
) {
    let offs = program_id(0) * B + arange::<B>();
    let m = offs < n;
    let b = load(bins + offs, m, 0);
    atomic_add(h + b, 0.25, m);
    atomic_add(bh + b, 1.0, m);
    atomic_add(d + b, 0.5, m);
    let big = offs.cast::<i64>() * 1000000007;
    atomic_add(l + b, big, m);
    atomic_max(lmax + b, -big, m);
    atomic_add(c + b, 1, m);
    atomic_max(any + b, offs == 5, m);
    atomic_min(all + b, offs != 7, m);
    atomic_min(fmin + b, load(zs + offs, m, 0.0), m);
}

/// Every program tries to claim every slot; exactly one wins each.
#[tile_kernel]
pub fn claim<const B: usize>(slots: Ptr<i32>, won: Ptr<i32>) {
    let s = arange::<B>();
    let o = atomic_cas(slots + s, 0, program_id(0) + 1);
    store(won + program_id(0) * B + s, (o == 0).cast::<i32>());
}

/// Copies 2x the transpose of `x` (m x n, row stride sx) into `y` (n x m,
/// row stride sy) block by block, with blocks shifted so that some lie
/// partly before the start and past the end; also writes each loaded
/// block (zeros outside `x`) to `raw`.
#[tile_kernel]
pub fn desc_transpose<const BM: usize, const BN: usize>(
    x: Ptr<f32>,
    y: Ptr<f32>,
    raw: Ptr<f32>,
    m: i32,
    n: i32,
    sx: i64,
    sy: i64,
) {
    let dx = make_desc::<BM, BN>(x, [m, n], [sx, 1]);
    let dy = make_desc::<BN, BM>(y, [n, m], [sy, 1]);
    let r0 = program_id(0) * BM - 3;
    let c0 = program_id(1) * BN - 5;
    let t = desc_load(dx, [r0, c0]);
    desc_store(dy, [c0, r0], t.t() * 2.0);
    let blk = (program_id(0) * num_programs(1) + program_id(1)) * (BM * BN);
    let r = arange::<BM>();
    let c = arange::<BN>();
    store(raw + blk + r[(.., None)] * BN + c[(None, ..)], t);
}

/// Prints a tile and scalars.
#[tile_kernel]
pub fn printing<const B: usize>(x: Ptr<f32>, n: i32) {
    let i = arange::<B>();
    let v = load(x + i, i < n, -1.0);
    device_print("v = ", v);
    device_print("n = ", n, 2.5);
    device_assert(v < 100.0, "v stays small");
}

/// Asserts every element is non-negative.
#[tile_kernel]
pub fn checking<const B: usize>(x: Ptr<f32>) {
    let v = load(x + arange::<B>());
    device_assert(v >= 0.0, "x must be non-negative");
}

fn ptx(name: &str) -> String {
    let dir = std::env::var("TILEFUSE_PTX_DIR")
        .expect("set TILEFUSE_PTX_DIR to the PTX of scripts/gpu/prebuild-basic.sh");
    let path = format!("{dir}/{name}.ptx");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn gpu() -> Device {
    Device::cuda(0).expect("these tests need a CUDA GPU")
}

/// Old values grouped by the bin they were taken from, sorted.
fn olds_by_bin(bins: &[i32], olds: &[i32]) -> HashMap<i32, Vec<i32>> {
    let mut m: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&b, &o) in bins.iter().zip(olds) {
        m.entry(b).or_default().push(o);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn histogram_with_collisions_matches_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let mut rng = SmallRng::seed_from_u64(11);
    // B = 16 is smaller than the CTA: lanes and warps hold copies, which
    // must neither count twice nor miss their old value.
    for (block, n, bins) in [(256usize, 1000usize, 7usize), (256, 3, 2), (16, 301, 5)] {
        let kernel = gpu
            .load_ptx(&ptx(&format!("histogram_{block}")), "histogram")
            .unwrap();
        let programs = n.div_ceil(block);
        let padded = programs * block;
        let x: Vec<i32> = (0..n).map(|_| rng.random_range(0..bins as i32)).collect();
        let w: Vec<f32> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
        let (gx, gw) = (gpu.tensor(&x, [n]).unwrap(), gpu.tensor(&w, [n]).unwrap());
        let (gh, gf) = (
            gpu.zeros::<i32>([bins]).unwrap(),
            gpu.zeros::<f32>([bins]).unwrap(),
        );
        let go = gpu.tensor(&vec![-7; padded], [padded]).unwrap();
        kernel
            .launch(
                Grid::x(programs),
                BLOCK_THREADS,
                0,
                vec![
                    (&gx).into_arg(),
                    (&gw).into_arg(),
                    (&gh).into_arg(),
                    (&gf).into_arg(),
                    (&go).into_arg(),
                    (n as i32).into(),
                ],
            )
            .unwrap();
        let (cx, cw) = (cpu.tensor(&x, [n]).unwrap(), cpu.tensor(&w, [n]).unwrap());
        let mut ch = cpu.zeros::<i32>([bins]).unwrap();
        let mut cf = cpu.zeros::<f32>([bins]).unwrap();
        let mut co = cpu.tensor(&vec![-7; padded], [padded]).unwrap();
        let args = (&cx, &cw, &mut ch, &mut cf, &mut co, n as i32);
        match block {
            256 => histogram::<256>::launch(&cpu, Grid::x(programs), args),
            _ => histogram::<16>::launch(&cpu, Grid::x(programs), args),
        }
        .unwrap();
        let what = format!("B = {block}, n = {n}");
        assert_eq!(gh.to_vec(), ch.to_vec(), "{what}: counts");
        let (go, co) = (go.to_vec(), co.to_vec());
        assert!(
            go[n..].iter().all(|&o| o == 0),
            "{what}: masked-off lanes return 0: {:?}",
            &go[n..]
        );
        assert_eq!(
            olds_by_bin(&x, &go[..n]),
            olds_by_bin(&x, &co[..n]),
            "{what}: old values per bin"
        );
        for (b, (g, c)) in gf.to_vec().iter().zip(cf.to_vec()).enumerate() {
            assert!(
                (g - c).abs() <= 1e-4 * c.abs().max(1.0),
                "{what}: weight of bin {b}: {g} vs {c}"
            );
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn scalar_atomic_gives_every_program_one_ticket() {
    let gpu = gpu();
    let kernel = gpu.load_ptx(&ptx("tickets"), "tickets").unwrap();
    let programs = 500;
    let counter = gpu.zeros::<i32>([1]).unwrap();
    let out = gpu.tensor(&vec![-1; programs], [programs]).unwrap();
    kernel
        .launch(
            Grid::x(programs),
            BLOCK_THREADS,
            0,
            vec![(&counter).into_arg(), (&out).into_arg()],
        )
        .unwrap();
    assert_eq!(counter.to_vec(), [programs as i32]);
    let mut got = out.to_vec();
    got.sort_unstable();
    assert_eq!(got, (0..programs as i32).collect::<Vec<_>>());
    // The interpreter runs programs in order: ticket i for program i.
    let cpu = Device::cpu();
    let mut cc = cpu.zeros::<i32>([1]).unwrap();
    let mut co = cpu.zeros::<i32>([programs]).unwrap();
    tickets::<1>::launch(&cpu, Grid::x(programs), (&mut cc, &mut co)).unwrap();
    assert_eq!(co.to_vec(), (0..programs as i32).collect::<Vec<_>>());
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn max_min_and_exchange_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu.load_ptx(&ptx("extremes"), "extremes").unwrap();
    let mut rng = SmallRng::seed_from_u64(12);
    let (n, bins) = (777usize, 9usize);
    let mut x: Vec<f32> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
    let idx: Vec<i32> = (0..n).map(|_| rng.random_range(0..bins as i32)).collect();
    x[100] = f32::NAN; // its bin's max is NaN, as in the interpreter
    let fmax0 = vec![f32::NEG_INFINITY; bins];
    let imin0 = vec![i32::MAX; bins];
    let swap0: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let programs = n.div_ceil(128);
    let g = (
        gpu.tensor(&x, [n]).unwrap(),
        gpu.tensor(&idx, [n]).unwrap(),
        gpu.tensor(&fmax0, [bins]).unwrap(),
        gpu.tensor(&imin0, [bins]).unwrap(),
        gpu.tensor(&swap0, [n]).unwrap(),
        gpu.zeros::<f32>([n]).unwrap(),
    );
    kernel
        .launch(
            Grid::x(programs),
            BLOCK_THREADS,
            0,
            vec![
                (&g.0).into_arg(),
                (&g.1).into_arg(),
                (&g.2).into_arg(),
                (&g.3).into_arg(),
                (&g.4).into_arg(),
                (&g.5).into_arg(),
                (n as i32).into(),
            ],
        )
        .unwrap();
    let (cx, ci) = (cpu.tensor(&x, [n]).unwrap(), cpu.tensor(&idx, [n]).unwrap());
    let mut cmax = cpu.tensor(&fmax0, [bins]).unwrap();
    let mut cmin = cpu.tensor(&imin0, [bins]).unwrap();
    let mut cswap = cpu.tensor(&swap0, [n]).unwrap();
    let mut cprev = cpu.zeros::<f32>([n]).unwrap();
    extremes::<128>::launch(
        &cpu,
        Grid::x(programs),
        (
            &cx, &ci, &mut cmax, &mut cmin, &mut cswap, &mut cprev, n as i32,
        ),
    )
    .unwrap();
    // Bits, with every NaN alike (the GPU's canonical NaN is 0x7fffffff,
    // the interpreter's 0x7fc00000).
    let bits = |v: Vec<f32>| {
        v.iter()
            .map(|f| if f.is_nan() { u32::MAX } else { f.to_bits() })
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(g.2.to_vec()), bits(cmax.to_vec()), "float max");
    assert!(g.2.to_vec()[idx[100] as usize].is_nan());
    assert_eq!(g.3.to_vec(), cmin.to_vec(), "int min");
    assert_eq!(bits(g.4.to_vec()), bits(cswap.to_vec()), "exchanged");
    assert_eq!(bits(g.5.to_vec()), bits(cprev.to_vec()), "previous values");
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn atomics_on_every_element_type_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu
        .load_ptx(&ptx("typed_atomics"), "typed_atomics")
        .unwrap();
    let mut rng = SmallRng::seed_from_u64(14);
    let (n, bins) = (301usize, 5usize);
    let x: Vec<i32> = (0..n).map(|_| rng.random_range(0..bins as i32)).collect();
    // One -0.0 among +0.0: its bin's minimum is -0.0 (below +0.0).
    let zs: Vec<f32> = (0..n).map(|i| if i == 3 { -0.0 } else { 0.0 }).collect();
    let programs = n.div_ceil(64);
    macro_rules! pair {
        ($t:ty, $init:expr) => {{
            let v: Vec<$t> = vec![$init; bins];
            (
                gpu.tensor(&v, [bins]).unwrap(),
                cpu.tensor(&v, [bins]).unwrap(),
            )
        }};
    }
    let (gh, mut ch) = pair!(f16, f16::from_f32(0.0));
    let (gbh, mut cbh) = pair!(bf16, bf16::from_f32(0.0));
    let (gd, mut cd) = pair!(f64, 0.0);
    let (gl, mut cl) = pair!(i64, 0);
    let (glm, mut clm) = pair!(i64, i64::MIN);
    let (gc, mut cc) = pair!(i8, 0);
    let (gany, mut cany) = pair!(bool, false);
    let (gall, mut call) = pair!(bool, true);
    let (gfm, mut cfm) = pair!(f32, 0.0);
    let (gx, gz) = (gpu.tensor(&x, [n]).unwrap(), gpu.tensor(&zs, [n]).unwrap());
    kernel
        .launch(
            Grid::x(programs),
            BLOCK_THREADS,
            0,
            vec![
                (&gx).into_arg(),
                (&gz).into_arg(),
                (&gh).into_arg(),
                (&gbh).into_arg(),
                (&gd).into_arg(),
                (&gl).into_arg(),
                (&glm).into_arg(),
                (&gc).into_arg(),
                (&gany).into_arg(),
                (&gall).into_arg(),
                (&gfm).into_arg(),
                (n as i32).into(),
            ],
        )
        .unwrap();
    let (cx, cz) = (cpu.tensor(&x, [n]).unwrap(), cpu.tensor(&zs, [n]).unwrap());
    typed_atomics::<64>::launch(
        &cpu,
        Grid::x(programs),
        (
            &cx, &cz, &mut ch, &mut cbh, &mut cd, &mut cl, &mut clm, &mut cc, &mut cany, &mut call,
            &mut cfm, n as i32,
        ),
    )
    .unwrap();
    assert_eq!(gh.to_vec(), ch.to_vec(), "f16 add");
    assert_eq!(gbh.to_vec(), cbh.to_vec(), "bf16 add");
    assert_eq!(gd.to_vec(), cd.to_vec(), "f64 add");
    assert_eq!(gl.to_vec(), cl.to_vec(), "i64 add");
    assert_eq!(glm.to_vec(), clm.to_vec(), "i64 max");
    assert_eq!(gc.to_vec(), cc.to_vec(), "i8 add");
    assert_eq!(gany.to_vec(), cany.to_vec(), "bool max");
    assert_eq!(gall.to_vec(), call.to_vec(), "bool min");
    let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(gfm.to_vec()),
        bits(cfm.to_vec()),
        "f32 min of signed zeros"
    );
    assert_eq!(gfm.to_vec()[x[3] as usize].to_bits(), (-0.0f32).to_bits());
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn compare_and_swap_has_one_winner_per_slot() {
    let gpu = gpu();
    let kernel = gpu.load_ptx(&ptx("claim"), "claim").unwrap();
    let (programs, slots) = (300usize, 64usize);
    let gs = gpu.zeros::<i32>([slots]).unwrap();
    let gw = gpu.zeros::<i32>([programs * slots]).unwrap();
    kernel
        .launch(
            Grid::x(programs),
            BLOCK_THREADS,
            0,
            vec![(&gs).into_arg(), (&gw).into_arg()],
        )
        .unwrap();
    let (s, w) = (gs.to_vec(), gw.to_vec());
    for slot in 0..slots {
        let winners: Vec<usize> = (0..programs).filter(|p| w[p * slots + slot] == 1).collect();
        assert_eq!(winners.len(), 1, "slot {slot}: winners {winners:?}");
        assert_eq!(s[slot], winners[0] as i32 + 1, "slot {slot}");
    }
    // The interpreter: program 0 claims everything.
    let cpu = Device::cpu();
    let mut cs = cpu.zeros::<i32>([slots]).unwrap();
    let mut cw = cpu.zeros::<i32>([programs * slots]).unwrap();
    claim::<64>::launch(&cpu, Grid::x(programs), (&mut cs, &mut cw)).unwrap();
    assert_eq!(cs.to_vec(), vec![1; slots]);
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn descriptors_on_ragged_shapes_match_the_interpreter() {
    let (gpu, cpu) = (gpu(), Device::cpu());
    let kernel = gpu
        .load_ptx(&ptx("desc_transpose"), "desc_transpose")
        .unwrap();
    let (bm, bn) = (32usize, 16usize);
    let mut rng = SmallRng::seed_from_u64(13);
    for (m, n) in [(1usize, 1usize), (37, 21), (64, 50), (5, 100)] {
        let (sx, sy) = (n + 3, m + 2);
        let x: Vec<f32> = (0..m * sx).map(|_| rng.random_range(-1.0..1.0)).collect();
        let y0 = vec![-9.0f32; n * sy];
        let (gm, gn) = ((m + 3).div_ceil(bm), (n + 5).div_ceil(bn));
        let raw_len = gm * gn * bm * bn;
        let (gx, gy, graw) = (
            gpu.tensor(&x, [m * sx]).unwrap(),
            gpu.tensor(&y0, [n * sy]).unwrap(),
            gpu.zeros::<f32>([raw_len]).unwrap(),
        );
        kernel
            .launch(
                Grid::xy(gm, gn),
                BLOCK_THREADS,
                0,
                vec![
                    (&gx).into_arg(),
                    (&gy).into_arg(),
                    (&graw).into_arg(),
                    (m as i32).into(),
                    (n as i32).into(),
                    (sx as i64).into(),
                    (sy as i64).into(),
                ],
            )
            .unwrap();
        let cx = cpu.tensor(&x, [m * sx]).unwrap();
        let mut cy = cpu.tensor(&y0, [n * sy]).unwrap();
        let mut craw = cpu.zeros::<f32>([raw_len]).unwrap();
        desc_transpose::<32, 16>::launch(
            &cpu,
            Grid::xy(gm, gn),
            (
                &cx, &mut cy, &mut craw, m as i32, n as i32, sx as i64, sy as i64,
            ),
        )
        .unwrap();
        let (gy, cy) = (gy.to_vec(), cy.to_vec());
        assert_eq!(gy, cy, "{m}x{n}: the transposed copy");
        // Every element inside was written once; the padding was left alone.
        for j in 0..n {
            for i in 0..sy {
                let want = if i < m { 2.0 * x[i * sx + j] } else { -9.0 };
                assert_eq!(gy[j * sy + i], want, "{m}x{n}: y[{j}][{i}]");
            }
        }
        assert_eq!(graw.to_vec(), craw.to_vec(), "{m}x{n}: loaded blocks");
    }
}

/// Runs this test binary again with only `test` and `TILEFUSE_GPU_MISC_CHILD=case`;
/// returns (success, stdout + stderr).
fn run_child(test: &str, case: &str) -> (bool, String) {
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([test, "--exact", "--include-ignored", "--nocapture"])
        .env("TILEFUSE_GPU_MISC_CHILD", case)
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn child_case() -> Option<String> {
    std::env::var("TILEFUSE_GPU_MISC_CHILD").ok()
}

/// The GPU side of the print and assert tests (a no-op unless a parent runs it).
#[test]
#[ignore = "needs a CUDA GPU; run by the print and assert tests in a child process"]
fn child_launch() {
    let Some(case) = child_case() else { return };
    let gpu = gpu();
    match case.as_str() {
        "print" => {
            let kernel = gpu.load_ptx(&ptx("printing"), "printing").unwrap();
            let x: Vec<f32> = (0..10).map(|i| i as f32 * 0.5).collect();
            let gx = gpu.tensor(&x, [10]).unwrap();
            kernel
                .launch(
                    Grid::x(2),
                    BLOCK_THREADS,
                    0,
                    vec![(&gx).into_arg(), 10i32.into()],
                )
                .unwrap();
            println!("child: print launch done");
        }
        "assert" => {
            let kernel = gpu.load_ptx(&ptx("checking"), "checking").unwrap();
            let mut x = vec![1.0f32; 64];
            x[37] = -1.0;
            let gx = gpu.tensor(&x, [64]).unwrap();
            let r = kernel.launch(Grid::x(1), BLOCK_THREADS, 0, vec![(&gx).into_arg()]);
            println!("child: assert launch result: {r:?}");
            assert!(r.is_err(), "the failing assert must fail the launch");
        }
        other => panic!("unknown child case {other}"),
    }
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn device_print_prints_every_element_once() {
    if child_case().is_some() {
        return;
    }
    let (ok, out) = run_child("child_launch", "print");
    assert!(ok, "the child failed:\n{out}");
    for pid in 0..2 {
        for i in 0..10 {
            let line = format!("pid ({pid}, 0, 0) idx ({i}) v = {}", i as f32 * 0.5);
            assert_eq!(
                out.lines().filter(|l| *l == line).count(),
                1,
                "`{line}` once in:\n{out}"
            );
        }
        for i in 10..16 {
            let line = format!("pid ({pid}, 0, 0) idx ({i}) v = -1");
            assert!(out.lines().any(|l| l == line), "`{line}` in:\n{out}");
        }
        let line = format!("pid ({pid}, 0, 0) n = 10, 2.5");
        assert_eq!(
            out.lines().filter(|l| *l == line).count(),
            1,
            "`{line}` once in:\n{out}"
        );
    }
    assert!(!out.contains("assertion failed"), "{out}");
    // The interpreter prints the same scalar line and the tile as a list.
    let cpu = Device::cpu();
    let x: Vec<f32> = (0..10).map(|i| i as f32 * 0.5).collect();
    let cx = cpu.tensor(&x, [10]).unwrap();
    printing::<16>::launch(&cpu, Grid::x(2), (&cx, 10)).unwrap();
}

#[test]
#[ignore = "needs a CUDA GPU and the PTX of scripts/gpu/prebuild-basic.sh"]
fn failing_device_assert_stops_the_kernel_and_names_the_message() {
    if child_case().is_some() {
        return;
    }
    let (ok, out) = run_child("child_launch", "assert");
    assert!(ok, "the child must see its launch fail:\n{out}");
    assert!(out.contains("x must be non-negative"), "{out}");
    assert!(out.contains("gpu_misc.rs"), "the source file: {out}");
    assert!(
        out.contains("idx (37): assertion failed: x must be non-negative at lane 37"),
        "{out}"
    );
    // The interpreter reports the same assertion.
    let cpu = Device::cpu();
    let mut x = vec![1.0f32; 64];
    x[37] = -1.0;
    let cx = cpu.tensor(&x, [64]).unwrap();
    let err = checking::<64>::launch(&cpu, Grid::x(1), (&cx,)).unwrap_err();
    assert!(
        err.to_string()
            .contains("assertion failed: x must be non-negative at lane 37"),
        "{err}"
    );
}
