//! The kernel against the f64 references on random inputs with ragged sizes, each variant
//! and combinations, each dtype. Tolerance (SEEDS.md §5, the flash-attn test convention):
//! the kernel's max error against the f64 reference must be at most twice the error of the
//! same attention computed naively at the input's precision (scores, probabilities and
//! output rounded to the dtype, as torch does in that dtype) plus 1e-5, and under a hard
//! cap per dtype. The log-sum-exp is computed in f32 from exact inputs whatever the dtype,
//! so it is held to 1e-4 relative. Rows that keep no key must be exactly 0 with `−∞`.
//!
//! The device is [`test_device`] (`TILEFUSE_TEST_DEVICE=cuda` for GPU 0). On a GPU, the tests
//! that pick explicit tile sizes run every declared GPU configuration ([`tile_choices`])
//! instead of the `cpu_only` ones, and a few tests add larger ragged shapes (cheap there).

use super::*;
use crate::attention::{FlashParams, flash_impl, flash_varlen_impl};
use crate::codegen::ir::ConstValue;
use crate::reference::Tensor as RefTensor;
use crate::reference::attention::{AttnOpts, attention_ref, attention_varlen_ref};
use crate::testing::{gpu_config, on_gpu, test_device};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// An element type under test: conversions and rounding to it.
trait TestElem: FlashElement {
    const NAME: &'static str;
    /// Largest acceptable output error on O(1) outputs, whatever the emulation says.
    const CAP: f64;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn round(x: f64) -> f64 {
        Self::from_f64(x).to_f64()
    }
}

impl TestElem for f32 {
    const NAME: &'static str = "f32";
    const CAP: f64 = 1e-4;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl TestElem for f16 {
    const NAME: &'static str = "f16";
    const CAP: f64 = 4e-3;
    fn from_f64(x: f64) -> Self {
        f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
}

impl TestElem for bf16 {
    const NAME: &'static str = "bf16";
    const CAP: f64 = 3e-2;
    fn from_f64(x: f64) -> Self {
        bf16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        bf16::to_f64(self)
    }
}

/// `ALiBi` slopes of a case: none, per head `(Hq,)`, or per batch and head `(B, Hq)`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Alibi {
    Off,
    PerHead,
    PerBatch,
}

/// One test case; `b` is the batch of a dense case (ignored by varlen cases).
#[derive(Clone, Copy, Debug)]
struct Case {
    b: usize,
    sq: usize,
    sk: usize,
    hq: usize,
    hk: usize,
    d: usize,
    causal: bool,
    window: (i64, i64),
    softcap: f32,
    alibi: Alibi,
    scale: Option<f32>,
    /// Half-width of the uniform inputs.
    amp: f64,
}

const PLAIN: Case = Case {
    b: 2,
    sq: 37,
    sk: 53,
    hq: 2,
    hk: 2,
    d: 64,
    causal: false,
    window: (-1, -1),
    softcap: 0.0,
    alibi: Alibi::Off,
    scale: None,
    amp: 1.5,
};

/// The declared tile configurations that have GPU code (not `cpu_only`).
fn gpu_tiles() -> Vec<Blocks> {
    flash_fwd_f32::<1, 1, 1>::KERNEL
        .configs
        .iter()
        .filter(|c| !c.cpu_only)
        .map(|c| {
            let get = |name: &str| match c.consts.iter().find(|(n, _)| *n == name) {
                Some((_, ConstValue::Int(v))) => *v as usize,
                other => panic!("flash config without an integer {name}: {other:?}"),
            };
            Blocks {
                m: get("BLOCK_M"),
                n: get("BLOCK_N"),
                d: get("BLOCK_D"),
            }
        })
        .collect()
}

/// The tile sizes a test sweeps: `cpu` on the interpreter; on a GPU, where the CPU tiles have
/// no code, every declared GPU configuration.
fn tile_choices(cpu: &[Blocks]) -> Vec<Blocks> {
    if on_gpu() { gpu_tiles() } else { cpu.to_vec() }
}

/// True when `b` is a configuration with GPU code.
fn has_gpu_tiles(b: Blocks) -> bool {
    let consts = [
        ("BLOCK_M", b.m as i64),
        ("BLOCK_N", b.n as i64),
        ("BLOCK_D", b.d as i64),
    ];
    gpu_config(&flash_fwd_f32::<1, 1, 1>::KERNEL, &consts)
}

/// Uniform values in `[-amp, amp]` rounded to `T`: the kernel's input and its exact f64 value.
fn random<T: TestElem>(rng: &mut SmallRng, n: usize, amp: f64) -> (Vec<T>, Vec<f64>) {
    let xs: Vec<T> = (0..n)
        .map(|_| T::from_f64(rng.random_range(-amp..amp)))
        .collect();
    let f = xs.iter().map(|x| x.to_f64()).collect();
    (xs, f)
}

/// The attention of one sequence computed naively with every stored intermediate
/// rounded by `round` (scores, softcapped/biased scores, probabilities, output), in f64
/// otherwise: at `T::round` it is "the same computation at the same dtype" of the
/// tolerance rule. q `(sq, hq, d)`, k/v `(sk, hk, d)`; returns o `(sq, hq, d)`.
#[allow(clippy::too_many_arguments)]
fn naive_seq(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    (sq, sk, hq, hk, d): (usize, usize, usize, usize, usize),
    c: &Case,
    slopes: Option<&[f64]>,
    round: fn(f64) -> f64,
) -> Vec<f64> {
    let g = hq / hk;
    let scale = c.scale.map(f64::from).unwrap_or(1.0 / (d as f64).sqrt());
    let mut o = vec![0.0; sq * hq * d];
    for h in 0..hq {
        let kh = h / g;
        for i in 0..sq {
            let ia = i as i64 + sk as i64 - sq as i64;
            let mut s: Vec<f64> = (0..sk)
                .map(|j| {
                    let mut x = 0.0;
                    for t in 0..d {
                        x += q[(i * hq + h) * d + t] * k[(j * hk + kh) * d + t];
                    }
                    let mut x = round(x * scale);
                    if c.softcap > 0.0 {
                        let cap = c.softcap as f64;
                        x = round(cap * (x / cap).tanh());
                    }
                    if let Some(sl) = slopes {
                        x = round(x - sl[h] * (ia - j as i64).abs() as f64);
                    }
                    let jj = j as i64;
                    let mut keep = !(c.causal && jj > ia);
                    keep &= c.window.0 < 0 || jj >= ia - c.window.0;
                    keep &= c.window.1 < 0 || jj <= ia + c.window.1;
                    if keep { x } else { f64::NEG_INFINITY }
                })
                .collect();
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                continue;
            }
            let l: f64 = s.iter().map(|x| (x - m).exp()).sum();
            s.iter_mut().for_each(|x| *x = round((*x - m).exp() / l));
            for t in 0..d {
                let acc: f64 = (0..sk).map(|j| s[j] * v[(j * hk + kh) * d + t]).sum();
                o[(i * hq + h) * d + t] = round(acc);
            }
        }
    }
    o
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Checks the kernel's `(o, lse)` against the f64 reference and the dtype emulation.
fn check<T: TestElem>(
    what: &str,
    got_o: &[T],
    got_lse: &[f32],
    ref_o: &[f64],
    ref_lse: &[f64],
    emul_o: &[f64],
    d: usize,
) {
    let got: Vec<f64> = got_o.iter().map(|x| x.to_f64()).collect();
    let err = max_err(&got, ref_o);
    let emul = max_err(emul_o, ref_o);
    let tol = (2.0 * emul + 1e-5).min(T::CAP);
    assert!(
        err <= tol,
        "{what} [{}]: output error {err:e} > tolerance {tol:e} (naive {} error {emul:e})",
        T::NAME,
        T::NAME
    );
    assert_eq!(got_lse.len(), ref_lse.len());
    for (r, (&g, &want)) in got_lse.iter().zip(ref_lse).enumerate() {
        if want == f64::NEG_INFINITY {
            assert_eq!(
                g,
                f32::NEG_INFINITY,
                "{what}: lse[{r}] of a fully masked row"
            );
        } else {
            let e = (g as f64 - want).abs();
            assert!(
                e <= 1e-4 * (1.0 + want.abs()),
                "{what} [{}]: lse[{r}] = {g} vs {want}",
                T::NAME
            );
        }
    }
    // Fully masked rows output exactly 0.
    for (row, chunk) in got_o.chunks(d).enumerate() {
        let rf = &ref_o[row * d..(row + 1) * d];
        if rf.iter().all(|&x| x == 0.0) && chunk.iter().any(|x| x.to_f64() != 0.0) {
            panic!("{what}: row {row} keeps no key but its output is not 0");
        }
    }
}

fn slopes_for(rng: &mut SmallRng, c: &Case, batch: usize) -> Option<(Vec<f32>, Vec<usize>)> {
    let shape = match c.alibi {
        Alibi::Off => return None,
        Alibi::PerHead => vec![c.hq],
        Alibi::PerBatch => vec![batch, c.hq],
    };
    let n = shape.iter().product();
    Some((
        (0..n).map(|_| rng.random_range(0.05f32..0.6)).collect(),
        shape,
    ))
}

fn opts(c: &Case, slopes: &Option<(Vec<f32>, Vec<usize>)>) -> AttnOpts {
    AttnOpts {
        causal: c.causal,
        window: c.window,
        softcap: c.softcap as f64,
        alibi: slopes.as_ref().map(|(s, shape)| {
            RefTensor::new(shape, s.iter().map(|&x| x as f64).collect()).unwrap()
        }),
        scale: c.scale.map(f64::from),
        key_range: None,
    }
}

/// On a GPU, explicit tiles must have GPU code: `cpu_only` and undeclared ones have none.
fn assert_gpu_tiles(dev: &Device, blocks: Option<Blocks>) {
    if let Some(b) = blocks {
        assert!(
            dev.kind() != DeviceKind::Cuda || has_gpu_tiles(b),
            "tiles {b:?} have no GPU code (cpu_only or not declared): take them from \
             tile_choices() or pass None"
        );
    }
}

/// Runs a dense case with tile sizes `blocks` (the API's choice when `None`).
fn run_dense<T: TestElem>(seed: u64, c: Case, blocks: Option<Blocks>) {
    let dev = test_device();
    assert_gpu_tiles(&dev, blocks);
    let mut rng = SmallRng::seed_from_u64(seed);
    let (qh, qf) = random::<T>(&mut rng, c.b * c.sq * c.hq * c.d, c.amp);
    let (kh, kf) = random::<T>(&mut rng, c.b * c.sk * c.hk * c.d, c.amp);
    let (vh, vf) = random::<T>(&mut rng, c.b * c.sk * c.hk * c.d, 1.0);
    let slopes = slopes_for(&mut rng, &c, c.b);
    let q = dev.tensor(&qh, [c.b, c.sq, c.hq, c.d]).unwrap();
    let k = dev.tensor(&kh, [c.b, c.sk, c.hk, c.d]).unwrap();
    let v = dev.tensor(&vh, [c.b, c.sk, c.hk, c.d]).unwrap();
    let ts = slopes
        .as_ref()
        .map(|(s, shape)| dev.tensor(s, shape.clone()).unwrap());
    let params = FlashParams {
        scale: c.scale,
        causal: c.causal,
        window: c.window,
        softcap: c.softcap,
        alibi_slopes: ts.as_ref(),
    };
    let (o, lse) = flash_impl(&dev, &q, &k, &v, &params, blocks).unwrap();
    assert_eq!(o.shape(), &[c.b, c.sq, c.hq, c.d]);
    assert_eq!(lse.shape(), &[c.b, c.hq, c.sq]);
    let rq = RefTensor::new(&[c.b, c.sq, c.hq, c.d], qf.clone()).unwrap();
    let rk = RefTensor::new(&[c.b, c.sk, c.hk, c.d], kf.clone()).unwrap();
    let rv = RefTensor::new(&[c.b, c.sk, c.hk, c.d], vf.clone()).unwrap();
    let (ro, rl) = attention_ref(&rq, &rk, &rv, &opts(&c, &slopes)).unwrap();
    let (nq, nk) = (c.sq * c.hq * c.d, c.sk * c.hk * c.d);
    let mut emul = Vec::new();
    for b in 0..c.b {
        let sl: Option<Vec<f64>> = slopes.as_ref().map(|(s, shape)| {
            let off = if shape.len() == 2 { b * c.hq } else { 0 };
            s[off..off + c.hq].iter().map(|&x| x as f64).collect()
        });
        emul.extend(naive_seq(
            &qf[b * nq..(b + 1) * nq],
            &kf[b * nk..(b + 1) * nk],
            &vf[b * nk..(b + 1) * nk],
            (c.sq, c.sk, c.hq, c.hk, c.d),
            &c,
            sl.as_deref(),
            T::round,
        ));
    }
    let what = format!("{c:?} blocks {blocks:?}");
    check::<T>(
        &what,
        &o.to_vec(),
        &lse.to_vec(),
        ro.data(),
        rl.data(),
        &emul,
        c.d,
    );
}

/// Runs a varlen case over sequences of lengths `lens = [(sq_b, sk_b)]`.
fn run_varlen<T: TestElem>(seed: u64, c: Case, lens: &[(usize, usize)], blocks: Option<Blocks>) {
    let dev = test_device();
    assert_gpu_tiles(&dev, blocks);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut cu_q = vec![0usize];
    let mut cu_k = vec![0usize];
    for &(a, b) in lens {
        cu_q.push(cu_q.last().unwrap() + a);
        cu_k.push(cu_k.last().unwrap() + b);
    }
    let (tq, tk) = (*cu_q.last().unwrap(), *cu_k.last().unwrap());
    let (qh, qf) = random::<T>(&mut rng, tq * c.hq * c.d, c.amp);
    let (kh, kf) = random::<T>(&mut rng, tk * c.hk * c.d, c.amp);
    let (vh, vf) = random::<T>(&mut rng, tk * c.hk * c.d, 1.0);
    let slopes = slopes_for(&mut rng, &c, lens.len());
    let q = dev.tensor(&qh, [tq, c.hq, c.d]).unwrap();
    let k = dev.tensor(&kh, [tk, c.hk, c.d]).unwrap();
    let v = dev.tensor(&vh, [tk, c.hk, c.d]).unwrap();
    let to_i32 = |cu: &[usize]| cu.iter().map(|&x| x as i32).collect::<Vec<_>>();
    let tcq = dev.tensor(&to_i32(&cu_q), [cu_q.len()]).unwrap();
    let tck = dev.tensor(&to_i32(&cu_k), [cu_k.len()]).unwrap();
    let ts = slopes
        .as_ref()
        .map(|(s, shape)| dev.tensor(s, shape.clone()).unwrap());
    let params = FlashParams {
        scale: c.scale,
        causal: c.causal,
        window: c.window,
        softcap: c.softcap,
        alibi_slopes: ts.as_ref(),
    };
    let (o, lse) = flash_varlen_impl(&dev, &q, &k, &v, &tcq, &tck, &params, blocks).unwrap();
    assert_eq!(o.shape(), &[tq, c.hq, c.d]);
    assert_eq!(lse.shape(), &[c.hq, tq]);
    let rq = RefTensor::new(&[tq, c.hq, c.d], qf.clone()).unwrap();
    let rk = RefTensor::new(&[tk, c.hk, c.d], kf.clone()).unwrap();
    let rv = RefTensor::new(&[tk, c.hk, c.d], vf.clone()).unwrap();
    let (ro, rl) = attention_varlen_ref(&rq, &rk, &rv, &cu_q, &cu_k, &opts(&c, &slopes)).unwrap();
    let mut emul = Vec::new();
    for (b, &(sq, sk)) in lens.iter().enumerate() {
        let sl: Option<Vec<f64>> = slopes.as_ref().map(|(s, shape)| {
            let off = if shape.len() == 2 { b * c.hq } else { 0 };
            s[off..off + c.hq].iter().map(|&x| x as f64).collect()
        });
        let (q0, k0) = (cu_q[b] * c.hq * c.d, cu_k[b] * c.hk * c.d);
        emul.extend(naive_seq(
            &qf[q0..q0 + sq * c.hq * c.d],
            &kf[k0..k0 + sk * c.hk * c.d],
            &vf[k0..k0 + sk * c.hk * c.d],
            (sq, sk, c.hq, c.hk, c.d),
            &c,
            sl.as_deref(),
            T::round,
        ));
    }
    let what = format!("varlen {lens:?} {c:?} blocks {blocks:?}");
    check::<T>(
        &what,
        &o.to_vec(),
        &lse.to_vec(),
        ro.data(),
        rl.data(),
        &emul,
        c.d,
    );
}

#[test]
fn plain_matches_reference_on_ragged_sizes() {
    for (i, (b, sq, sk)) in [(2, 37, 53), (1, 1, 1), (3, 53, 37), (1, 16, 32), (2, 5, 70)]
        .into_iter()
        .enumerate()
    {
        let c = Case { b, sq, sk, ..PLAIN };
        run_dense::<f32>(10 + i as u64, c, None);
    }
    if on_gpu() {
        // Several query and key tiles of the GPU configuration, ragged.
        for (i, (b, sq, sk)) in [(2, 300, 517), (1, 777, 1025)].into_iter().enumerate() {
            let c = Case { b, sq, sk, ..PLAIN };
            run_dense::<f32>(15 + i as u64, c, None);
            run_dense::<f16>(17 + i as u64, c, None);
        }
    }
}

#[test]
fn causal_bottom_right_with_sq_below_equal_and_above_sk() {
    for (i, (b, sq, sk)) in [
        (2, 37, 53),
        (2, 53, 37),
        (1, 37, 37),
        (2, 1, 29),
        (1, 20, 7),
    ]
    .into_iter()
    .enumerate()
    {
        let c = Case {
            b,
            sq,
            sk,
            causal: true,
            ..PLAIN
        };
        run_dense::<f32>(20 + i as u64, c, None);
        run_dense::<f16>(25 + i as u64, c, None);
    }
    if on_gpu() {
        for (i, (b, sq, sk)) in [(2, 300, 517), (1, 517, 300), (1, 640, 640)]
            .into_iter()
            .enumerate()
        {
            let c = Case {
                b,
                sq,
                sk,
                causal: true,
                ..PLAIN
            };
            run_dense::<f16>(140 + i as u64, c, None);
        }
    }
}

#[test]
fn fully_masked_rows_give_zero_and_neg_inf() {
    // Sq > Sk under causal: the first Sq - Sk rows keep nothing; a window that ends before
    // the first key; no keys at all.
    let cases = [
        Case {
            b: 1,
            sq: 20,
            sk: 7,
            causal: true,
            ..PLAIN
        },
        Case {
            b: 2,
            sq: 9,
            sk: 3,
            window: (0, 0),
            ..PLAIN
        },
        Case {
            b: 1,
            sq: 12,
            sk: 5,
            causal: true,
            window: (1, -1),
            alibi: Alibi::PerHead,
            ..PLAIN
        },
        Case {
            b: 2,
            sq: 6,
            sk: 0,
            ..PLAIN
        },
        Case {
            b: 1,
            sq: 6,
            sk: 0,
            causal: true,
            softcap: 2.0,
            ..PLAIN
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        run_dense::<f32>(30 + i as u64, c, None);
        run_dense::<bf16>(35 + i as u64, c, None);
    }
    // And explicitly: with Sq = 20 > Sk = 7 causal, rows 0..13 are masked in every head.
    let dev = test_device();
    let q = dev
        .tensor(&vec![f16::ONE; 20 * 2 * 32], [1, 20, 2, 32])
        .unwrap();
    let k = dev
        .tensor(&vec![f16::ONE; 7 * 2 * 32], [1, 7, 2, 32])
        .unwrap();
    let params = FlashParams {
        causal: true,
        ..Default::default()
    };
    let (o, lse) = crate::attention::flash(&dev, &q, &k, &k, &params).unwrap();
    let (o, lse) = (o.to_vec(), lse.to_vec());
    for h in 0..2 {
        for i in 0..20 {
            let l = lse[h * 20 + i];
            let row = &o[(i * 2 + h) * 32..(i * 2 + h + 1) * 32];
            if i < 13 {
                assert_eq!(l, f32::NEG_INFINITY, "head {h} row {i}");
                assert!(row.iter().all(|x| *x == f16::ZERO), "head {h} row {i}");
            } else {
                // Every score is 32 / sqrt(32): lse = that + ln(number of kept keys).
                let kept = (i - 13 + 1) as f32;
                let want = 32f32.sqrt() + kept.ln();
                assert!((l - want).abs() < 1e-4, "head {h} row {i}: {l} vs {want}");
                assert!(row.iter().all(|x| *x == f16::ONE), "head {h} row {i}");
            }
        }
    }
}

#[test]
fn every_head_dim_including_non_powers_of_two() {
    for (i, d) in [32usize, 64, 96, 128, 256, 40, 8].into_iter().enumerate() {
        let c = Case {
            b: 1,
            sq: 19,
            sk: 29,
            hq: 2,
            hk: 1,
            d,
            causal: i % 2 == 1,
            ..PLAIN
        };
        run_dense::<f16>(40 + i as u64, c, None);
    }
    let c = Case {
        b: 1,
        sq: 19,
        sk: 29,
        d: 96,
        ..PLAIN
    };
    run_dense::<f32>(48, c, None);
    run_dense::<bf16>(49, c, None);
}

#[test]
fn gqa_and_mqa() {
    for (i, (hq, hk)) in [(6usize, 2usize), (4, 1), (3, 3), (8, 4)]
        .into_iter()
        .enumerate()
    {
        for causal in [false, true] {
            let c = Case {
                b: 2,
                sq: 21,
                sk: 34,
                hq,
                hk,
                d: 32,
                causal,
                ..PLAIN
            };
            run_dense::<f16>(50 + 2 * i as u64 + causal as u64, c, None);
        }
    }
    let c = Case {
        b: 1,
        sq: 33,
        sk: 18,
        hq: 4,
        hk: 1,
        d: 64,
        causal: true,
        ..PLAIN
    };
    run_dense::<f32>(59, c, None);
}

#[test]
fn sliding_window_alone_and_with_causal() {
    let windows = [(8i64, 4i64), (-1, 5), (10, -1), (0, 0), (3, 3), (40, 2)];
    for (i, w) in windows.into_iter().enumerate() {
        for (j, (sq, sk)) in [(37usize, 53usize), (45, 30)].into_iter().enumerate() {
            for causal in [false, true] {
                let c = Case {
                    b: 1,
                    sq,
                    sk,
                    hq: 2,
                    hk: 1,
                    d: 32,
                    window: w,
                    causal,
                    ..PLAIN
                };
                run_dense::<f32>(60 + (i * 4 + j * 2) as u64 + causal as u64, c, None);
            }
        }
    }
}

#[test]
fn softcap_and_alibi() {
    // Large scores so that the cap matters (scale 1, entries up to 2: |qk| up to ~20).
    for (i, causal) in [false, true].into_iter().enumerate() {
        let c = Case {
            d: 32,
            softcap: 3.0,
            scale: Some(1.0),
            amp: 2.0,
            causal,
            ..PLAIN
        };
        run_dense::<f32>(90 + i as u64, c, None);
        run_dense::<f16>(92 + i as u64, c, None);
    }
    for (i, alibi) in [Alibi::PerHead, Alibi::PerBatch].into_iter().enumerate() {
        for causal in [false, true] {
            let c = Case {
                hq: 4,
                hk: 2,
                d: 32,
                alibi,
                causal,
                ..PLAIN
            };
            run_dense::<f32>(94 + 2 * i as u64 + causal as u64, c, None);
        }
    }
    let c = Case {
        sq: 53,
        sk: 37,
        d: 32,
        alibi: Alibi::PerHead,
        causal: true,
        ..PLAIN
    };
    run_dense::<bf16>(98, c, None);
}

#[test]
fn combinations_of_every_variant() {
    let c = Case {
        b: 2,
        sq: 29,
        sk: 41,
        hq: 6,
        hk: 2,
        d: 96,
        causal: true,
        window: (12, -1),
        softcap: 4.0,
        alibi: Alibi::PerBatch,
        scale: Some(0.3),
        amp: 1.5,
    };
    run_dense::<f32>(100, c, None);
    run_dense::<f16>(101, c, None);
    run_dense::<bf16>(102, c, None);
    let c = Case {
        sq: 41,
        sk: 29,
        causal: false,
        window: (6, 9),
        alibi: Alibi::PerHead,
        d: 64,
        ..c
    };
    run_dense::<f32>(103, c, None);
    run_dense::<bf16>(104, c, None);
}

#[test]
fn varlen_per_sequence_masks_and_empty_sequences() {
    // Sequences of different lengths, one without queries, one without keys.
    let lens = [(5usize, 17usize), (0, 13), (35, 0), (17, 31), (20, 9)];
    let base = Case {
        hq: 4,
        hk: 2,
        d: 32,
        ..PLAIN
    };
    run_varlen::<f32>(110, base, &lens, None);
    run_varlen::<f32>(
        111,
        Case {
            causal: true,
            ..base
        },
        &lens,
        None,
    );
    let full = Case {
        causal: true,
        window: (7, -1),
        softcap: 2.5,
        alibi: Alibi::PerBatch,
        ..base
    };
    run_varlen::<f32>(112, full, &lens, None);
    run_varlen::<f16>(113, full, &lens, None);
    run_varlen::<bf16>(
        114,
        Case {
            alibi: Alibi::PerHead,
            window: (3, 4),
            ..base
        },
        &lens,
        None,
    );
    // Varlen equals the dense call when every sequence has the same lengths.
    run_varlen::<f16>(
        115,
        Case {
            causal: true,
            ..base
        },
        &[(23, 31); 3],
        None,
    );
}

#[test]
fn every_dtype() {
    let c = Case {
        sq: 30,
        sk: 45,
        hq: 4,
        hk: 2,
        causal: true,
        ..PLAIN
    };
    run_dense::<f32>(120, c, None);
    run_dense::<f16>(121, c, None);
    run_dense::<bf16>(122, c, None);
}

/// One random case of the mask-boundary sweep: lengths up to `70·scale` and `90·scale`.
fn sweep_case(rng: &mut SmallRng, i: usize, blocks: Blocks, scale: usize) -> Case {
    let side = |rng: &mut SmallRng| {
        if rng.random_bool(0.3) {
            -1
        } else {
            rng.random_range(0..40 * scale as i64)
        }
    };
    let window = (side(rng), side(rng));
    Case {
        b: 1 + i % 2,
        sq: rng.random_range(1..70 * scale),
        sk: rng.random_range(1..90 * scale),
        hq: 2,
        hk: 1,
        d: blocks.d.min(16 + 8 * (i % 3)),
        causal: rng.random_bool(0.5),
        window,
        alibi: if i.is_multiple_of(4) {
            Alibi::PerHead
        } else {
            Alibi::Off
        },
        ..PLAIN
    }
}

#[test]
fn random_sweep_of_mask_boundaries() {
    // Random lengths, windows and tile sizes: the split of the key loop into masked edge
    // blocks and unmasked whole blocks must never change the result.
    let mut rng = SmallRng::seed_from_u64(7);
    let tiles = tile_choices(&[
        Blocks {
            m: 16,
            n: 16,
            d: 16,
        },
        Blocks {
            m: 32,
            n: 16,
            d: 64,
        },
        Blocks {
            m: 16,
            n: 64,
            d: 32,
        },
    ]);
    for i in 0..36 {
        let blocks = tiles[i % tiles.len()];
        let c = sweep_case(&mut rng, i, blocks, 1);
        run_dense::<f32>(200 + i as u64, c, Some(blocks));
    }
    if on_gpu() {
        // Lengths and windows 4× larger: several GPU tiles along both axes.
        for i in 36..60 {
            let blocks = tiles[i % tiles.len()];
            let c = sweep_case(&mut rng, i, blocks, 4);
            run_dense::<f32>(200 + i as u64, c, Some(blocks));
        }
    }
}

#[test]
fn other_tile_sizes_agree() {
    let c = Case {
        b: 1,
        sq: 37,
        sk: 53,
        hq: 2,
        hk: 1,
        d: 32,
        causal: true,
        window: (20, 3),
        ..PLAIN
    };
    for blocks in tile_choices(&[
        Blocks {
            m: 16,
            n: 64,
            d: 32,
        },
        Blocks {
            m: 16,
            n: 16,
            d: 64,
        },
    ]) {
        run_dense::<f16>(130, c, Some(blocks));
    }
    let c = Case {
        d: 64,
        alibi: Alibi::PerHead,
        ..c
    };
    for blocks in tile_choices(&[
        Blocks {
            m: 32,
            n: 16,
            d: 64,
        },
        Blocks {
            m: 128,
            n: 64,
            d: 64,
        },
    ]) {
        run_dense::<f32>(131, c, Some(blocks));
        run_varlen::<f32>(132, c, &[(13, 40), (37, 29)], Some(blocks));
    }
    let dev = test_device();
    let q = dev.zeros::<f32>([1, 4, 1, 32]).unwrap();
    let err = flash_impl(
        &dev,
        &q,
        &q,
        &q,
        &FlashParams::default(),
        Some(Blocks { m: 8, n: 8, d: 32 }),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no kernel for tiles BLOCK_M = 8"), "{err}");
}

#[test]
fn the_api_tiles_of_every_head_dim_are_stamped_and_the_gpu_ones_have_gpu_code() {
    // Each distinct choice with the largest head dim it takes.
    let mut choices: Vec<(Blocks, usize)> = Vec::new();
    for d in 1..=256 {
        let cpu = Blocks::for_device(DeviceKind::Cpu, d);
        let gpu = Blocks::for_device(DeviceKind::Cuda, d);
        assert!(has_gpu_tiles(gpu), "d = {d}: {gpu:?} has no GPU code");
        for b in [cpu, gpu] {
            assert!(b.d >= d && b.d.is_power_of_two(), "d = {d}: {b:?}");
            match choices.iter_mut().find(|(c, _)| *c == b) {
                Some(entry) => entry.1 = d,
                None => choices.push((b, d)),
            }
        }
    }
    // A launch with them on the interpreter checks that the kernel is stamped for them
    // (one query, one key: a single program).
    let dev = Device::cpu();
    for (b, d) in choices {
        let q = dev.zeros::<f32>([1, 1, 1, d]).unwrap();
        flash_impl(&dev, &q, &q, &q, &FlashParams::default(), Some(b))
            .unwrap_or_else(|e| panic!("d = {d}, {b:?}: {e}"));
    }
}
