//! The TSSA kernels (through the public API [`crate::tssa`]) against the f64 references of
//! [`crate::reference::tssa`], on random inputs whose token counts are not multiples of the
//! block; recurrent = parallel; the backward against the reference's analytic backward and
//! against finite differences of the kernels' own forward; bad inputs.
//!
//! The device is [`test_device`] (`TILEFUSE_TEST_DEVICE=cuda` for GPU 0). On a GPU the causal
//! form's kernels (in-block `tile.scan`) have no code yet: what needs them is skipped there
//! with a `skipped on GPU` line ([`skip_causal`]); the non-causal form and the decode step run.

use crate::reference::Tensor as RefTensor;
use crate::reference::tssa as r;
use crate::testing::{skip_without_gpu_code, test_device};
use crate::tssa::{self, DecodeState, Params};
use crate::validate::expect_invalid;
use crate::{Device, Tensor, f16};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// On a GPU without code for the causal form's kernels, prints why `what` is skipped and
/// returns true.
fn skip_causal(dev: &Device, what: &str) -> bool {
    use crate::kernels::tssa as k;
    skip_without_gpu_code(
        dev,
        what,
        &[
            k::tssa_causal_u::KERNEL,
            k::tssa_causal_out::KERNEL,
            k::tssa_causal_bwd_grq::KERNEL,
            k::tssa_causal_bwd_gpi::KERNEL,
            k::tssa_causal_bwd_dw::KERNEL,
            k::tssa_causal_bwd_bias::KERNEL,
        ],
    )
}

fn randn(rng: &mut SmallRng, n: usize, scale: f32) -> Vec<f32> {
    // Sum of uniforms: close enough to normal, and bounded.
    (0..n)
        .map(|_| {
            let s: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum();
            s * 0.866 * scale
        })
        .collect()
}

fn to_ref(v: &[f32], shape: &[usize]) -> RefTensor {
    RefTensor::new(shape, v.iter().map(|&x| x as f64).collect()).unwrap()
}

fn as_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Max |got − want| over max(1, max |want|): a relative error on the output's scale.
#[track_caller]
fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}[{i}] = {g} is not finite (want {w})");
        let e = (g as f64 - w).abs();
        if e > worst {
            worst = e;
            at = i;
        }
    }
    assert!(
        worst <= tol * scale,
        "{what}: max error {worst:e} at {at} ({} vs {}) exceeds {tol:e} × scale {scale}",
        got[at],
        want[at]
    );
}

struct Case {
    b: usize,
    h: usize,
    n: usize,
    d: usize,
    block: Option<usize>,
}

impl Case {
    fn shape(&self) -> [usize; 4] {
        [self.b, self.h, self.n, self.d]
    }
    fn len(&self) -> usize {
        self.b * self.h * self.n * self.d
    }
    fn params(&self) -> Params {
        Params {
            block_tokens: self.block,
        }
    }
}

/// Ragged token counts (never a multiple of the block), head counts and dims that are not
/// powers of two, one head, and the automatic block.
const CASES: [Case; 4] = [
    Case {
        b: 2,
        h: 3,
        n: 37,
        d: 5,
        block: Some(8),
    },
    Case {
        b: 1,
        h: 4,
        n: 50,
        d: 16,
        block: Some(16),
    },
    Case {
        b: 1,
        h: 1,
        n: 13,
        d: 3,
        block: Some(4),
    },
    Case {
        b: 2,
        h: 5,
        n: 21,
        d: 7,
        block: None,
    },
];

fn temps(rng: &mut SmallRng, h: usize) -> Vec<f32> {
    (0..h).map(|_| rng.random_range(0.3f32..2.0)).collect()
}

#[test]
fn forward_matches_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(101);
    for c in CASES {
        let w = randn(&mut rng, c.len(), 1.0);
        let temp = temps(&mut rng, c.h);
        let tw = dev.tensor(&w, c.shape()).unwrap();
        let tt = dev.tensor(&temp, [c.h]).unwrap();
        let out = tssa::forward(&dev, &tw, &tt, &c.params()).unwrap();
        assert_eq!(out.shape(), c.shape());
        let (want, _) = r::tssa_core(&to_ref(&w, &c.shape()), &as_f64(&temp)).unwrap();
        assert_close(&out.to_vec(), want.data(), 2e-6, "tssa::forward");
    }
}

/// The block size changes only the order of f32 sums; the repo's `(H, 1)` temp is taken.
#[test]
fn forward_does_not_depend_on_the_block() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(102);
    let shape = [1, 3, 45, 6];
    let w = randn(&mut rng, 3 * 45 * 6, 1.0);
    let tw = dev.tensor(&w, shape).unwrap();
    let tt = dev.tensor(&[0.5f32, 1.0, 2.0], [3, 1]).unwrap();
    let base = tssa::forward(&dev, &tw, &tt, &Params::default())
        .unwrap()
        .to_vec();
    for bn in [1, 2, 16, 64] {
        let p = Params {
            block_tokens: Some(bn),
        };
        let got = tssa::forward(&dev, &tw, &tt, &p).unwrap().to_vec();
        assert_close(&got, &as_f64(&base), 1e-6, &format!("block {bn}"));
    }
}

/// SEEDS §1.6 edge cases: a zero column (the `1e-12` clamp), a huge temperature (one-hot Π),
/// tiny w (out ≈ −w·Π, a → 1).
#[test]
fn forward_edge_cases_match_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(103);
    let shape = [1, 3, 11, 4];
    let p = Params {
        block_tokens: Some(4),
    };
    let mut w = randn(&mut rng, 3 * 11 * 4, 1.0);
    for i in 0..11 {
        w[(11 + i) * 4 + 2] = 0.0; // head 1, column 2
    }
    for (temp, scale) in [
        ([0.7f32, 1.3, 1.0], 1.0f32),
        ([80.0, 60.0, 90.0], 1.0),
        ([1.0, 2.0, 3.0], 1e-4),
    ] {
        let ws: Vec<f32> = w.iter().map(|x| x * scale).collect();
        let tw = dev.tensor(&ws, shape).unwrap();
        let tt = dev.tensor(&temp, [3]).unwrap();
        let got = tssa::forward(&dev, &tw, &tt, &p).unwrap().to_vec();
        let (want, _) = r::tssa_core(&to_ref(&ws, &shape), &as_f64(&temp)).unwrap();
        assert_close(
            &got,
            want.data(),
            2e-6,
            &format!("temp {temp:?}, scale {scale}"),
        );
    }
}

/// f16 and bf16 inputs are widened exactly, then take the f32 path: bitwise equal results.
#[test]
fn half_inputs_equal_the_f32_path_on_the_same_values() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(104);
    let shape = [1, 2, 19, 5];
    let w16: Vec<f16> = randn(&mut rng, 2 * 19 * 5, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let w32: Vec<f32> = w16.iter().map(|x| x.to_f32()).collect();
    let wb: Vec<crate::bf16> = w32.iter().map(|&x| crate::bf16::from_f32(x)).collect();
    let wb32: Vec<f32> = wb.iter().map(|x| x.to_f32()).collect();
    let tt = dev.tensor(&[1.0f32, 0.5], [2]).unwrap();
    let db = dev.tensor(&vec![0.05f32; 2 * 32], [2, 32]).unwrap();
    let p = Params {
        block_tokens: Some(8),
    };
    let t16 = dev.tensor(&w16, shape).unwrap();
    let t32 = dev.tensor(&w32, shape).unwrap();
    let tb = dev.tensor(&wb, shape).unwrap();
    let tb32 = dev.tensor(&wb32, shape).unwrap();
    let a = tssa::forward(&dev, &t16, &tt, &p).unwrap().to_vec();
    let b = tssa::forward(&dev, &t32, &tt, &p).unwrap().to_vec();
    assert_eq!(a, b);
    if skip_causal(&dev, "causal_forward on bf16 inputs") {
        return;
    }
    let a = tssa::causal_forward(&dev, &tb, &tt, &db, &p)
        .unwrap()
        .to_vec();
    let b = tssa::causal_forward(&dev, &tb32, &tt, &db, &p)
        .unwrap()
        .to_vec();
    assert_eq!(a, b);
}

#[test]
fn causal_forward_matches_reference_and_is_prefix_invariant() {
    let dev = test_device();
    if skip_causal(&dev, "causal_forward") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(105);
    for c in CASES {
        let w = randn(&mut rng, c.len(), 1.0);
        let temp = temps(&mut rng, c.h);
        let bs = c.n + 7;
        let bias = randn(&mut rng, c.h * bs, 0.1);
        let tw = dev.tensor(&w, c.shape()).unwrap();
        let tt = dev.tensor(&temp, [c.h]).unwrap();
        let tb = dev.tensor(&bias, [c.h, bs]).unwrap();
        let y = tssa::causal_forward(&dev, &tw, &tt, &tb, &c.params()).unwrap();
        let want = r::causal_tssa_core(
            &to_ref(&w, &c.shape()),
            &as_f64(&temp),
            &to_ref(&bias, &[c.h, bs]),
        )
        .unwrap();
        let y = y.to_vec();
        assert_close(&y, want.data(), 2e-6, "tssa::causal_forward");
        // Prefix invariance: the first t tokens alone give the same first t outputs.
        let t = c.n / 2 + 1;
        let mut wp = Vec::new();
        for bh in 0..c.b * c.h {
            wp.extend_from_slice(&w[bh * c.n * c.d..(bh * c.n + t) * c.d]);
        }
        let tp = dev.tensor(&wp, [c.b, c.h, t, c.d]).unwrap();
        let yp = tssa::causal_forward(&dev, &tp, &tt, &tb, &c.params())
            .unwrap()
            .to_vec();
        for bh in 0..c.b * c.h {
            let full = &y[bh * c.n * c.d..(bh * c.n + t) * c.d];
            let part = &yp[bh * t * c.d..(bh + 1) * t * c.d];
            assert_close(part, &as_f64(full), 1e-6, "prefix");
        }
    }
}

/// Recurrent = parallel: stepping every token equals the parallel scan and the reference's
/// recurrent state; a chunked prefill continued by steps and another prefill equals the full
/// scan, and the state's sums equal the reference's.
#[test]
fn decode_steps_and_chunked_prefill_equal_the_parallel_form() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(106);
    let (b, h, n, d) = (2, 3, 23, 6);
    let bs = 32;
    let w = randn(&mut rng, b * h * n * d, 1.0);
    let temp = temps(&mut rng, h);
    let bias = randn(&mut rng, h * bs, 0.1);
    let tt = dev.tensor(&temp, [h, 1]).unwrap();
    let tb = dev.tensor(&bias, [h, bs, 1]).unwrap();
    let p = Params {
        block_tokens: Some(4),
    };
    let tw = dev.tensor(&w, [b, h, n, d]).unwrap();
    // On a GPU without the causal kernels, the steps are checked against the reference only.
    let parallel = !skip_causal(&dev, "the parallel form and prefill (the steps run)");
    let par = if parallel {
        tssa::causal_forward(&dev, &tw, &tt, &tb, &p)
            .unwrap()
            .to_vec()
    } else {
        Vec::new()
    };
    let token = |t: usize| -> Vec<f32> {
        (0..b * h)
            .flat_map(|bh| w[(bh * n + t) * d..(bh * n + t + 1) * d].to_vec())
            .collect()
    };
    let rtemp = as_f64(&temp);
    let rbias = to_ref(&bias, &[h, bs]);
    // Every token stepped.
    let mut st = DecodeState::new(&dev, b, h, d).unwrap();
    let mut rst = r::CausalTssaDecodeState::new(b, h, d);
    for t in 0..n {
        let wt = token(t);
        let yt = st
            .step(&dev, &dev.tensor(&wt, [b, h, d]).unwrap(), &tt, &tb)
            .unwrap()
            .to_vec();
        let want = rst.step(&to_ref(&wt, &[b, h, d]), &rtemp, &rbias).unwrap();
        assert_close(&yt, want.data(), 2e-6, &format!("step {t} vs reference"));
        if parallel {
            let row: Vec<f64> = (0..b * h)
                .flat_map(|bh| as_f64(&par[(bh * n + t) * d..(bh * n + t + 1) * d]))
                .collect();
            assert_close(&yt, &row, 2e-6, &format!("step {t} vs parallel"));
        }
    }
    assert_eq!(st.position(), n);
    let (s2, rr, pp) = st.sums();
    assert_close(&s2, rst.sum_wsq.data(), 1e-6, "S2");
    assert_close(&rr, rst.sum_piwsq.data(), 1e-6, "R");
    assert_close(&pp, rst.sum_pi.data(), 1e-6, "P");
    if !parallel {
        return;
    }
    // Prefill 9 tokens, step 2, prefill the remaining 12.
    let chunk = |lo: usize, hi: usize| -> Tensor<f32> {
        let v: Vec<f32> = (0..b * h)
            .flat_map(|bh| w[(bh * n + lo) * d..(bh * n + hi) * d].to_vec())
            .collect();
        dev.tensor(&v, [b, h, hi - lo, d]).unwrap()
    };
    let mut st = DecodeState::new(&dev, b, h, d).unwrap();
    let mut got = vec![Vec::new(); b * h];
    let y = st
        .prefill(&dev, &chunk(0, 9), &tt, &tb, &p)
        .unwrap()
        .to_vec();
    for (bh, g) in got.iter_mut().enumerate() {
        g.extend_from_slice(&y[bh * 9 * d..(bh + 1) * 9 * d]);
    }
    for t in 9..11 {
        let y = st
            .step(&dev, &dev.tensor(&token(t), [b, h, d]).unwrap(), &tt, &tb)
            .unwrap()
            .to_vec();
        for (bh, g) in got.iter_mut().enumerate() {
            g.extend_from_slice(&y[bh * d..(bh + 1) * d]);
        }
    }
    let y = st
        .prefill(&dev, &chunk(11, n), &tt, &tb, &p)
        .unwrap()
        .to_vec();
    let m = n - 11;
    for (bh, g) in got.iter_mut().enumerate() {
        g.extend_from_slice(&y[bh * m * d..(bh + 1) * m * d]);
    }
    let got: Vec<f32> = got.concat();
    assert_close(&got, &as_f64(&par), 2e-6, "chunked prefill + decode");
    assert_eq!(st.position(), n);
}

/// `Σ g·out` in f64.
fn loss(out: &[f32], g: &[f32]) -> f64 {
    out.iter().zip(g).map(|(&o, &g)| o as f64 * g as f64).sum()
}

#[test]
fn backward_matches_reference_backward() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(107);
    for c in CASES {
        let w = randn(&mut rng, c.len(), 1.0);
        let g = randn(&mut rng, c.len(), 1.0);
        let temp = temps(&mut rng, c.h);
        let tw = dev.tensor(&w, c.shape()).unwrap();
        let tg = dev.tensor(&g, c.shape()).unwrap();
        let tt = dev.tensor(&temp, [c.h]).unwrap();
        let (dw, dtemp) = tssa::backward(&dev, &tw, &tt, &tg, &c.params()).unwrap();
        let (_, cache) = r::tssa_core(&to_ref(&w, &c.shape()), &as_f64(&temp)).unwrap();
        let (rdw, rdtemp) = r::tssa_core_backward(&to_ref(&g, &c.shape()), &cache).unwrap();
        assert_close(&dw.to_vec(), rdw.data(), 2e-5, "dw");
        assert_close(&dtemp.to_vec(), &rdtemp, 2e-5, "dtemp");
    }
}

/// The clamp path of the backward (a zero column) matches the reference's.
#[test]
fn backward_with_a_zero_column_matches_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(108);
    let shape = [1, 2, 9, 3];
    let mut w = randn(&mut rng, 2 * 9 * 3, 1.0);
    for i in 0..9 {
        w[(9 + i) * 3 + 2] = 0.0;
    }
    let g = randn(&mut rng, w.len(), 1.0);
    let temp = [0.7f32, 1.3];
    let p = Params {
        block_tokens: Some(4),
    };
    let (dw, dtemp) = tssa::backward(
        &dev,
        &dev.tensor(&w, shape).unwrap(),
        &dev.tensor(&temp, [2]).unwrap(),
        &dev.tensor(&g, shape).unwrap(),
        &p,
    )
    .unwrap();
    let (_, cache) = r::tssa_core(&to_ref(&w, &shape), &as_f64(&temp)).unwrap();
    let (rdw, rdtemp) = r::tssa_core_backward(&to_ref(&g, &shape), &cache).unwrap();
    assert_close(&dw.to_vec(), rdw.data(), 2e-5, "dw");
    assert_close(&dtemp.to_vec(), &rdtemp, 2e-5, "dtemp");
}

/// Directional finite differences of the kernels' own f32 forward (central, step 1e-2 along a
/// random unit-scale direction, loss summed in f64) against the kernels' backward.
#[test]
fn backward_matches_finite_differences_of_the_kernel_forward() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(109);
    let c = &CASES[0];
    let p = c.params();
    let w = randn(&mut rng, c.len(), 1.0);
    let g = randn(&mut rng, c.len(), 1.0);
    let v = randn(&mut rng, c.len(), 1.0);
    let temp = temps(&mut rng, c.h);
    let tt = dev.tensor(&temp, [c.h]).unwrap();
    let fwd = |w: &[f32], temp: &Tensor<f32>| -> f64 {
        let tw = dev.tensor(w, c.shape()).unwrap();
        loss(&tssa::forward(&dev, &tw, temp, &p).unwrap().to_vec(), &g)
    };
    let (dw, dtemp) = tssa::backward(
        &dev,
        &dev.tensor(&w, c.shape()).unwrap(),
        &tt,
        &dev.tensor(&g, c.shape()).unwrap(),
        &p,
    )
    .unwrap();
    let eps = 1e-2f32;
    let shifted = |s: f32| -> Vec<f32> { w.iter().zip(&v).map(|(a, b)| a + s * b).collect() };
    let num = (fwd(&shifted(eps), &tt) - fwd(&shifted(-eps), &tt)) / (2.0 * eps as f64);
    let ana: f64 = dw
        .to_vec()
        .iter()
        .zip(&v)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum();
    assert!(
        (num - ana).abs() <= 2e-3 * ana.abs().max(1.0),
        "directional derivative: finite differences {num} vs backward {ana}"
    );
    let dtemp = dtemp.to_vec();
    for hh in 0..c.h {
        let bump = |s: f32| {
            let mut t = temp.clone();
            t[hh] += s;
            dev.tensor(&t, [c.h]).unwrap()
        };
        let num = (fwd(&w, &bump(eps)) - fwd(&w, &bump(-eps))) / (2.0 * eps as f64);
        assert!(
            (num - dtemp[hh] as f64).abs() <= 2e-3 * num.abs().max(1.0),
            "dtemp[{hh}]: finite differences {num} vs backward {}",
            dtemp[hh]
        );
    }
}

#[test]
fn causal_backward_matches_reference_backward() {
    let dev = test_device();
    if skip_causal(&dev, "causal_backward") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(110);
    for c in CASES {
        let w = randn(&mut rng, c.len(), 1.0);
        let g = randn(&mut rng, c.len(), 1.0);
        let temp = temps(&mut rng, c.h);
        let bs = c.n + 5;
        let bias = randn(&mut rng, c.h * bs, 0.1);
        let (dw, dtemp, dbias) = tssa::causal_backward(
            &dev,
            &dev.tensor(&w, c.shape()).unwrap(),
            &dev.tensor(&temp, [c.h]).unwrap(),
            &dev.tensor(&bias, [c.h, bs]).unwrap(),
            &dev.tensor(&g, c.shape()).unwrap(),
            &c.params(),
        )
        .unwrap();
        let (rdw, rdtemp, rdbias) = r::causal_tssa_core_backward(
            &to_ref(&g, &c.shape()),
            &to_ref(&w, &c.shape()),
            &as_f64(&temp),
            &to_ref(&bias, &[c.h, bs]),
        )
        .unwrap();
        assert_eq!(dbias.shape(), [c.h, bs]);
        assert_close(&dw.to_vec(), rdw.data(), 2e-5, "dw");
        assert_close(&dtemp.to_vec(), &rdtemp, 2e-5, "dtemp");
        assert_close(&dbias.to_vec(), rdbias.data(), 2e-5, "dbias");
    }
}

/// Directional finite differences of the causal kernels' own forward against their backward,
/// for w, temp and `denom_bias`.
#[test]
fn causal_backward_matches_finite_differences_of_the_kernel_forward() {
    let dev = test_device();
    if skip_causal(&dev, "causal_backward vs finite differences") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(111);
    let c = &CASES[0];
    let p = c.params();
    let bs = c.n + 3;
    let w = randn(&mut rng, c.len(), 1.0);
    let g = randn(&mut rng, c.len(), 1.0);
    let v = randn(&mut rng, c.len(), 1.0);
    // The bias enters the exponent as D·temp·bias: a smaller step keeps the O(ε²) error down.
    let vb = randn(&mut rng, c.h * bs, 0.1);
    let temp = temps(&mut rng, c.h);
    let bias = randn(&mut rng, c.h * bs, 0.1);
    let fwd = |w: &[f32], temp: &[f32], bias: &[f32]| -> f64 {
        let y = tssa::causal_forward(
            &dev,
            &dev.tensor(w, c.shape()).unwrap(),
            &dev.tensor(temp, [c.h]).unwrap(),
            &dev.tensor(bias, [c.h, bs]).unwrap(),
            &p,
        )
        .unwrap();
        loss(&y.to_vec(), &g)
    };
    let (dw, dtemp, dbias) = tssa::causal_backward(
        &dev,
        &dev.tensor(&w, c.shape()).unwrap(),
        &dev.tensor(&temp, [c.h]).unwrap(),
        &dev.tensor(&bias, [c.h, bs]).unwrap(),
        &dev.tensor(&g, c.shape()).unwrap(),
        &p,
    )
    .unwrap();
    let eps = 1e-2f32;
    let along = |x: &[f32], dir: &[f32], s: f32| -> Vec<f32> {
        x.iter().zip(dir).map(|(a, b)| a + s * b).collect()
    };
    let dotf =
        |a: &[f32], b: &[f32]| -> f64 { a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum() };
    let check = |num: f64, ana: f64, what: &str| {
        assert!(
            (num - ana).abs() <= 2e-3 * ana.abs().max(1.0),
            "{what}: finite differences {num} vs backward {ana}"
        );
    };
    let num = (fwd(&along(&w, &v, eps), &temp, &bias) - fwd(&along(&w, &v, -eps), &temp, &bias))
        / (2.0 * eps as f64);
    check(num, dotf(&dw.to_vec(), &v), "w");
    let num = (fwd(&w, &temp, &along(&bias, &vb, eps)) - fwd(&w, &temp, &along(&bias, &vb, -eps)))
        / (2.0 * eps as f64);
    check(num, dotf(&dbias.to_vec(), &vb), "denom_bias");
    let dtemp = dtemp.to_vec();
    for hh in 0..c.h {
        let mut e = vec![0.0f32; c.h];
        e[hh] = 1.0;
        let num = (fwd(&w, &along(&temp, &e, eps), &bias)
            - fwd(&w, &along(&temp, &e, -eps), &bias))
            / (2.0 * eps as f64);
        check(num, dtemp[hh] as f64, &format!("temp[{hh}]"));
    }
}

#[test]
fn bad_inputs_are_invalid_before_any_launch() {
    let dev = test_device();
    let z = |s: &[usize]| dev.zeros::<f32>(s.to_vec()).unwrap();
    let p = Params::default();
    let w = z(&[1, 2, 5, 3]);
    let t2 = z(&[2]);
    let b2 = z(&[2, 8]);
    expect_invalid(
        tssa::forward(&dev, &z(&[2, 5, 3]), &t2, &p),
        &["tssa::forward", "4-d (B, H, N, D)"],
    );
    expect_invalid(tssa::forward(&dev, &w, &z(&[3]), &p), &["temp", "(2,)"]);
    expect_invalid(tssa::forward(&dev, &z(&[1, 2, 0, 3]), &t2, &p), &["empty"]);
    expect_invalid(
        tssa::forward(&dev, &z(&[1, 2, 2, 2000]), &t2, &p),
        &["head dim D = 2000"],
    );
    expect_invalid(
        tssa::forward(
            &dev,
            &w,
            &t2,
            &Params {
                block_tokens: Some(12),
            },
        ),
        &["block_tokens = 12", "power of two"],
    );
    // Another handle than the test device (on a GPU run, the CPU): its tensors are foreign.
    let other = Device::cpu();
    let w_other = other.zeros::<f32>([1, 2, 5, 3]).unwrap();
    expect_invalid(tssa::forward(&dev, &w_other, &t2, &p), &["another device"]);
    expect_invalid(
        tssa::backward(&dev, &w, &t2, &z(&[1, 2, 5, 4]), &p),
        &["g ", "[1, 2, 5, 3]"],
    );
    expect_invalid(
        tssa::causal_forward(&dev, &w, &t2, &z(&[2, 4]), &p),
        &["block_size 4"],
    );
    expect_invalid(
        tssa::causal_forward(&dev, &w, &t2, &z(&[3, 8]), &p),
        &["denom_bias", "(2, block_size)"],
    );
    expect_invalid(
        tssa::causal_backward(&dev, &w, &t2, &b2, &z(&[1, 2, 4, 3]), &p),
        &["tssa::causal_backward", "g "],
    );
    // The decode state refuses bad tokens and positions past block_size, and stays as it was.
    let mut st = DecodeState::new(&dev, 1, 2, 3).unwrap();
    let wt = dev.tensor(&[0.5f32; 6], [1, 2, 3]).unwrap();
    let short = z(&[2, 2]);
    st.step(&dev, &wt, &t2, &short).unwrap();
    st.step(&dev, &wt, &t2, &short).unwrap();
    let before = (st.sums(), st.position());
    expect_invalid(
        st.step(&dev, &wt, &t2, &short),
        &["DecodeState::step", "block_size 2"],
    );
    expect_invalid(
        st.step(&dev, &z(&[1, 2, 4]), &t2, &b2),
        &["w_t", "(1, 2, 3)"],
    );
    expect_invalid(
        st.prefill(&dev, &z(&[1, 2, 7, 3]), &t2, &b2, &p),
        &["position 8", "block_size 8"],
    );
    expect_invalid(
        st.prefill(&dev, &z(&[1, 3, 2, 3]), &t2, &b2, &p),
        &["state's (B, H, D)"],
    );
    assert_eq!((st.sums(), st.position()), before);
    expect_invalid(DecodeState::new(&dev, 1, 0, 3), &["empty"]);
}

/// The causal clamp path: a column that is zero for its first tokens (prefix sum of w² = 0,
/// below the `1e-12` clamp), one that is tiny (w² ≈ 1e-16, still below it after several
/// tokens) and one that is zero throughout, forward and backward against the reference.
#[test]
fn causal_clamp_path_matches_reference() {
    let dev = test_device();
    if skip_causal(&dev, "the causal clamp path") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(112);
    let (b, h, n, d) = (1, 2, 14, 4);
    let shape = [b, h, n, d];
    let mut w = randn(&mut rng, b * h * n * d, 1.0);
    for t in 0..n {
        if t < 5 {
            w[t * d + 1] = 0.0; // head 0, column 1: zero for 5 tokens
        }
        w[t * d + 3] = 1e-8 * (1.0 + t as f32); // head 0, column 3: tiny
        w[(n + t) * d + 2] = 0.0; // head 1, column 2: zero
    }
    let g = randn(&mut rng, w.len(), 1.0);
    let temp = [0.8f32, 1.4];
    let bs = 16;
    let bias = randn(&mut rng, h * bs, 0.1);
    let p = Params {
        block_tokens: Some(4),
    };
    let (tw, tt, tb) = (
        dev.tensor(&w, shape).unwrap(),
        dev.tensor(&temp, [h]).unwrap(),
        dev.tensor(&bias, [h, bs]).unwrap(),
    );
    let (rw, rt, rb) = (to_ref(&w, &shape), as_f64(&temp), to_ref(&bias, &[h, bs]));
    let y = tssa::causal_forward(&dev, &tw, &tt, &tb, &p).unwrap();
    let want = r::causal_tssa_core(&rw, &rt, &rb).unwrap();
    assert_close(&y.to_vec(), want.data(), 2e-6, "causal forward");
    let (dw, dtemp, dbias) =
        tssa::causal_backward(&dev, &tw, &tt, &tb, &dev.tensor(&g, shape).unwrap(), &p).unwrap();
    let (rdw, rdtemp, rdbias) =
        r::causal_tssa_core_backward(&to_ref(&g, &shape), &rw, &rt, &rb).unwrap();
    // The tiny column's gradient is huge (∝ 1/w); compare it relative to its own scale.
    let (dw, rdw) = (dw.to_vec(), rdw.data().to_vec());
    let tiny: Vec<usize> = (0..n).map(|t| t * d + 3).collect();
    let pick = |v: &[f32], idx: &[usize]| -> Vec<f32> { idx.iter().map(|&i| v[i]).collect() };
    let pick64 = |v: &[f64], idx: &[usize]| -> Vec<f64> { idx.iter().map(|&i| v[i]).collect() };
    assert_close(
        &pick(&dw, &tiny),
        &pick64(&rdw, &tiny),
        2e-5,
        "dw (tiny column)",
    );
    let rest: Vec<usize> = (0..w.len()).filter(|i| !tiny.contains(i)).collect();
    assert_close(&pick(&dw, &rest), &pick64(&rdw, &rest), 2e-5, "dw");
    assert_close(&dtemp.to_vec(), &rdtemp, 2e-5, "dtemp");
    assert_close(&dbias.to_vec(), rdbias.data(), 2e-5, "dbias");
}

/// A few hundred tokens with block sizes from 1 to larger than the sequence: every form
/// against the reference.
#[test]
fn longer_sequences_and_every_block_size() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(113);
    let (b, h, n, d) = (1, 3, 300, 8);
    let shape = [b, h, n, d];
    let w = randn(&mut rng, b * h * n * d, 1.0);
    let g = randn(&mut rng, w.len(), 1.0);
    let temp = temps(&mut rng, h);
    let bs = 320;
    let bias = randn(&mut rng, h * bs, 0.05);
    let (tw, tg, tt, tb) = (
        dev.tensor(&w, shape).unwrap(),
        dev.tensor(&g, shape).unwrap(),
        dev.tensor(&temp, [h]).unwrap(),
        dev.tensor(&bias, [h, bs]).unwrap(),
    );
    let (rw, rg, rt, rb) = (
        to_ref(&w, &shape),
        to_ref(&g, &shape),
        as_f64(&temp),
        to_ref(&bias, &[h, bs]),
    );
    let (want, cache) = r::tssa_core(&rw, &rt).unwrap();
    let (rdw, rdtemp) = r::tssa_core_backward(&rg, &cache).unwrap();
    let cwant = r::causal_tssa_core(&rw, &rt, &rb).unwrap();
    let (crdw, crdtemp, crdbias) = r::causal_tssa_core_backward(&rg, &rw, &rt, &rb).unwrap();
    let causal = !skip_causal(&dev, "the causal form of every block size");
    for block in [Some(1), Some(32), Some(512), None] {
        let p = Params {
            block_tokens: block,
        };
        let tag = |what: &str| format!("{what}, block {block:?}");
        let out = tssa::forward(&dev, &tw, &tt, &p).unwrap();
        assert_close(&out.to_vec(), want.data(), 2e-6, &tag("forward"));
        if causal {
            let y = tssa::causal_forward(&dev, &tw, &tt, &tb, &p).unwrap();
            assert_close(&y.to_vec(), cwant.data(), 2e-6, &tag("causal forward"));
        }
        if block == Some(1) {
            continue; // the backward at block 1 adds nothing the others do not cover
        }
        let (dw, dtemp) = tssa::backward(&dev, &tw, &tt, &tg, &p).unwrap();
        assert_close(&dw.to_vec(), rdw.data(), 2e-5, &tag("dw"));
        assert_close(&dtemp.to_vec(), &rdtemp, 2e-5, &tag("dtemp"));
        if causal {
            let (dw, dtemp, dbias) = tssa::causal_backward(&dev, &tw, &tt, &tb, &tg, &p).unwrap();
            assert_close(&dw.to_vec(), crdw.data(), 2e-5, &tag("causal dw"));
            assert_close(&dtemp.to_vec(), &crdtemp, 2e-5, &tag("causal dtemp"));
            assert_close(&dbias.to_vec(), crdbias.data(), 2e-5, &tag("causal dbias"));
        }
    }
}

/// The kernels' gradients against central finite differences in f64 (step 1e-6) of the
/// reference forward (the exact function the kernels' forward computes in f32), along random
/// directions of w, temp and `denom_bias`, for both forms.
#[test]
fn kernel_gradients_match_finite_differences_in_f64() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(114);
    let c = &CASES[1];
    let p = c.params();
    let shape = c.shape();
    let bs = c.n + 2;
    let w = randn(&mut rng, c.len(), 1.0);
    let g = randn(&mut rng, c.len(), 1.0);
    let temp = temps(&mut rng, c.h);
    let bias = randn(&mut rng, c.h * bs, 0.1);
    let vw: Vec<f64> = as_f64(&randn(&mut rng, c.len(), 1.0));
    let vt: Vec<f64> = as_f64(&randn(&mut rng, c.h, 1.0));
    let vb: Vec<f64> = as_f64(&randn(&mut rng, c.h * bs, 1.0));
    let (rw, rt, rb, rg) = (
        to_ref(&w, &shape),
        as_f64(&temp),
        to_ref(&bias, &[c.h, bs]),
        as_f64(&g),
    );
    let dot64 = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let dotf = |a: &[f32], b: &[f64]| -> f64 { a.iter().zip(b).map(|(&x, y)| x as f64 * y).sum() };
    let shift = |x: &RefTensor, v: &[f64], s: f64| -> RefTensor {
        let d: Vec<f64> = x.data().iter().zip(v).map(|(a, b)| a + s * b).collect();
        RefTensor::new(x.shape(), d).unwrap()
    };
    let shift_v = |x: &[f64], v: &[f64], s: f64| -> Vec<f64> {
        x.iter().zip(v).map(|(a, b)| a + s * b).collect()
    };
    let e = 1e-6;
    let check = |num: f64, ana: f64, what: &str| {
        assert!(
            (num - ana).abs() <= 1e-5 * num.abs().max(1.0),
            "{what}: f64 finite differences {num} vs kernel backward {ana}"
        );
    };
    // Non-causal.
    let l = |w: &RefTensor, t: &[f64]| dot64(r::tssa_core(w, t).unwrap().0.data(), &rg);
    let (dw, dtemp) = tssa::backward(
        &dev,
        &dev.tensor(&w, shape).unwrap(),
        &dev.tensor(&temp, [c.h]).unwrap(),
        &dev.tensor(&g, shape).unwrap(),
        &p,
    )
    .unwrap();
    let num = (l(&shift(&rw, &vw, e), &rt) - l(&shift(&rw, &vw, -e), &rt)) / (2.0 * e);
    check(num, dotf(&dw.to_vec(), &vw), "non-causal w");
    let num = (l(&rw, &shift_v(&rt, &vt, e)) - l(&rw, &shift_v(&rt, &vt, -e))) / (2.0 * e);
    check(num, dotf(&dtemp.to_vec(), &vt), "non-causal temp");
    if skip_causal(&dev, "the causal gradients") {
        return;
    }
    // Causal.
    let l = |w: &RefTensor, t: &[f64], b: &RefTensor| {
        dot64(r::causal_tssa_core(w, t, b).unwrap().data(), &rg)
    };
    let (dw, dtemp, dbias) = tssa::causal_backward(
        &dev,
        &dev.tensor(&w, shape).unwrap(),
        &dev.tensor(&temp, [c.h]).unwrap(),
        &dev.tensor(&bias, [c.h, bs]).unwrap(),
        &dev.tensor(&g, shape).unwrap(),
        &p,
    )
    .unwrap();
    let num = (l(&shift(&rw, &vw, e), &rt, &rb) - l(&shift(&rw, &vw, -e), &rt, &rb)) / (2.0 * e);
    check(num, dotf(&dw.to_vec(), &vw), "causal w");
    let num =
        (l(&rw, &shift_v(&rt, &vt, e), &rb) - l(&rw, &shift_v(&rt, &vt, -e), &rb)) / (2.0 * e);
    check(num, dotf(&dtemp.to_vec(), &vt), "causal temp");
    let num = (l(&rw, &rt, &shift(&rb, &vb, e)) - l(&rw, &rt, &shift(&rb, &vb, -e))) / (2.0 * e);
    check(num, dotf(&dbias.to_vec(), &vb), "causal denom_bias");
}
