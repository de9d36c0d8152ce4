//! The kernels through the public API [`crate::graph`], against the f64 references of
//! [`crate::reference::graph`] on random graphs with ragged degrees (zero-degree nodes,
//! degree < k, a node with more neighbours than one block, duplicate edges).
//!
//! The device is [`test_device`] (`TILEFUSE_TEST_DEVICE=cuda` for GPU 0). On a GPU the hGAO
//! neighbour selection (`hgao_select`, a `tile.sort`) has no code yet: what needs it is
//! skipped there with a `skipped on GPU` line ([`skip_hgao`]).

use crate::graph::{self as api, Csr, GatParams, GatWeights, HgaoAttn};
use crate::reference::Tensor as RTensor;
use crate::reference::graph as rg;
use crate::testing::{skip_without_gpu_code, test_device};
use crate::validate::expect_invalid;
use crate::{Device, Tensor};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// f32 against f64: the kernels accumulate in f32 over at most a few hundred terms.
const ATOL: f64 = 1e-4;
const RTOL: f64 = 1e-4;

fn randn(rng: &mut SmallRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.5f32..1.5)).collect()
}

fn ints(rng: &mut SmallRng, n: usize, lo: i32, hi: i32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..=hi) as f32).collect()
}

/// On a GPU without code for the hGAO neighbour selection, prints why `what` is skipped and
/// returns true.
fn skip_hgao(dev: &Device, what: &str) -> bool {
    skip_without_gpu_code(
        dev,
        what,
        &[crate::kernels::graph::hgao_select::<1, 1>::KERNEL],
    )
}

/// A random directed graph on `n` nodes: node 0 has no neighbour, node 1 has `big`
/// (more than one block), node 2 has one (itself), the others 0..=6 random ones, with
/// a duplicate edge on node 3; neighbour lists are in random order.
fn random_graph(rng: &mut SmallRng, n: usize, big: usize) -> Csr {
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); n];
    lists[1] = (0..big).map(|_| rng.random_range(0..n)).collect();
    lists[2] = vec![2];
    for (i, l) in lists.iter_mut().enumerate().skip(3) {
        let deg = rng.random_range(0..=6);
        *l = (0..deg).map(|_| rng.random_range(0..n)).collect();
        if i == 3 {
            l.push(5);
            l.push(5);
        }
    }
    Csr::from_lists(&lists).unwrap()
}

fn to_ref_csr(g: &Csr) -> rg::Csr {
    rg::Csr::new(
        g.n(),
        g.rowptr().iter().map(|&v| v as usize).collect(),
        g.col().iter().map(|&v| v as usize).collect(),
    )
    .unwrap()
}

fn rt(shape: &[usize], data: &[f32]) -> RTensor {
    RTensor::new(shape, data.iter().map(|&v| f64::from(v)).collect()).unwrap()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&v| f64::from(v)).collect()
}

#[track_caller]
fn assert_close(got: &Tensor<f32>, want: &RTensor, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (&g, &w)) in got.to_vec().iter().zip(want.data()).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= ATOL + RTOL * w.abs(),
            "{what}: element {i} is {g}, the reference {w} (error {err:e})"
        );
    }
}

#[test]
fn gat_matches_pyg_gatconv_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(31);
    let n = 45;
    let g = random_graph(&mut rng, n, 40);
    for (heads, out, cin, concat, project, bias, loops) in [
        (1, 5, 7, true, true, true, true),
        (3, 4, 6, true, true, false, true),
        (2, 6, 5, false, true, true, true),
        (3, 3, 9, false, false, true, false),
        (2, 20, 3, true, false, false, false),
    ] {
        let what = format!(
            "heads {heads} out {out} in {cin} concat {concat} project {project} \
             bias {bias} self loops {loops}"
        );
        let hc = heads * out;
        let fin = if project { cin } else { hc };
        let xh = randn(&mut rng, n * fin);
        let wh = if project {
            randn(&mut rng, hc * cin)
        } else {
            (0..hc * hc)
                .map(|i| if i / hc == i % hc { 1.0 } else { 0.0 })
                .collect()
        };
        let ash = randn(&mut rng, hc);
        let adh = randn(&mut rng, hc);
        let width = if concat { hc } else { out };
        let bh = randn(&mut rng, width);
        let x = dev.tensor(&xh, [n, fin]).unwrap();
        let w = dev.tensor(&wh, [hc, fin]).unwrap();
        let a_s = dev.tensor(&ash, [heads, out]).unwrap();
        let a_d = dev.tensor(&adh, [heads, out]).unwrap();
        let b = dev.tensor(&bh, [width]).unwrap();
        let weights = GatWeights {
            weight: project.then_some(&w),
            att_src: &a_s,
            att_dst: &a_d,
            bias: bias.then_some(&b),
        };
        let params = GatParams {
            heads,
            concat,
            add_self_loops: loops,
            ..GatParams::default()
        };
        let got = api::gat(&dev, &x, &g, &weights, &params).unwrap();
        let rgraph = to_ref_csr(&g);
        let rgraph = if loops {
            rgraph.with_self_loops()
        } else {
            rgraph
        };
        let (rw, ras, rad) = (
            rt(&[hc, fin], &wh),
            rt(&[heads, out], &ash),
            rt(&[heads, out], &adh),
        );
        let rb = f64s(&bh);
        let want = rg::gat_conv(
            &rt(&[n, fin], &xh),
            &rgraph,
            &rg::GatConvParams {
                w: &rw,
                att_src: &ras,
                att_dst: &rad,
                bias: bias.then_some(&rb[..]),
                heads,
                concat,
                negative_slope: 0.2,
            },
        )
        .unwrap();
        assert_close(&got, &want, &what);
        if !loops {
            // Node 0 has no neighbour: the bias, or 0.
            let row0 = &got.to_vec()[..width];
            let want0: Vec<f32> = if bias { bh.clone() } else { vec![0.0; width] };
            assert_eq!(row0, &want0[..], "{what}: zero-degree row");
        }
    }
}

#[test]
fn gao_matches_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(32);
    for (n, d, big) in [(40, 6, 37), (20, 33, 70)] {
        let g = random_graph(&mut rng, n, big);
        let xh = randn(&mut rng, n * d);
        let x = dev.tensor(&xh, [n, d]).unwrap();
        let got = api::gao(&dev, &x, &g).unwrap();
        let want = rg::gao_dot(&rt(&[n, d], &xh), &to_ref_csr(&g)).unwrap();
        assert_close(&got, &want, &format!("gao n {n} d {d}"));
        assert!(got.to_vec()[..d].iter().all(|&v| v == 0.0), "node 0");
    }
}

#[test]
fn hgao_ranking_is_exact_with_ties_and_small_degrees() {
    let dev = test_device();
    if skip_hgao(&dev, "hgao_ranking") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(33);
    let (n, d) = (50, 4);
    let g = random_graph(&mut rng, n, 45);
    // Integer data in a tiny range: many equal scores, ranked by the lower node id.
    let xh = ints(&mut rng, n * d, -1, 1);
    let ph = [1.0f32, 2.0, -1.0, 1.0];
    let x = dev.tensor(&xh, [n, d]).unwrap();
    let p = dev.tensor(&ph, [d]).unwrap();
    let y = rg::hgao_scores(&rt(&[n, d], &xh), &f64s(&ph)).unwrap();
    let rgraph = to_ref_csr(&g);
    let max_deg = g.max_degree();
    let mut tied = 0;
    for k in [1, 2, 4, 8, 17, max_deg, max_deg + 5] {
        let got = api::hgao_ranking(&dev, &x, &g, &p, k).unwrap();
        let want = rg::ranking_k(&rgraph, &y, k).unwrap();
        assert_eq!(got, want, "k = {k}");
        for (i, sel) in want.iter().enumerate() {
            assert_eq!(sel.len(), k.min(g.degree(i)), "k = {k}, node {i}");
            tied += sel.windows(2).filter(|w| y[w[0]] == y[w[1]]).count();
        }
    }
    assert!(tied > 50, "the test data must exercise ties, saw {tied}");
}

#[test]
fn hgao_dot_and_gat_match_reference() {
    let dev = test_device();
    if skip_hgao(&dev, "hgao with dot and GAT attention") {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(34);
    let (n, d, out) = (36, 7, 5);
    let g = random_graph(&mut rng, n, 35).with_self_loops();
    let rgraph = to_ref_csr(&g);
    for integer in [false, true] {
        let xh = if integer {
            ints(&mut rng, n * d, -2, 2)
        } else {
            randn(&mut rng, n * d)
        };
        let ph = if integer {
            ints(&mut rng, d, 1, 3)
        } else {
            randn(&mut rng, d)
        };
        let wh = randn(&mut rng, out * d);
        let (ash, adh) = (randn(&mut rng, out), randn(&mut rng, out));
        let x = dev.tensor(&xh, [n, d]).unwrap();
        let p = dev.tensor(&ph, [d]).unwrap();
        let w = dev.tensor(&wh, [out, d]).unwrap();
        let a_s = dev.tensor(&ash, [out]).unwrap();
        let a_d = dev.tensor(&adh, [out]).unwrap();
        let (rx, rw) = (rt(&[n, d], &xh), rt(&[out, d], &wh));
        let (rs, rd) = (f64s(&ash), f64s(&adh));
        for k in [1, 4, 8, g.max_degree()] {
            let what = format!("integer {integer} k {k}");
            let got = api::hgao(&dev, &x, &g, &p, k, HgaoAttn::Dot).unwrap();
            let want = rg::hgao(&rx, &rgraph, &f64s(&ph), k, rg::HgaoAttn::Dot).unwrap();
            assert_close(&got, &want, &format!("dot {what}"));
            let attn = HgaoAttn::Gat {
                w: &w,
                a_src: &a_s,
                a_dst: &a_d,
            };
            let got = api::hgao(&dev, &x, &g, &p, k, attn).unwrap();
            let rattn = rg::HgaoAttn::Gat {
                w: &rw,
                a_src: &rs,
                a_dst: &rd,
            };
            let want = rg::hgao(&rx, &rgraph, &f64s(&ph), k, rattn).unwrap();
            assert_close(&got, &want, &format!("gat {what}"));
        }
    }
    // Without self loops node 0 has no neighbour and gets 0.
    let g0 = random_graph(&mut rng, 10, 12);
    let x = dev.tensor(&randn(&mut rng, 10 * 3), [10, 3]).unwrap();
    let p = dev.tensor(&[1.0f32, -1.0, 0.5], [3]).unwrap();
    let z = api::hgao(&dev, &x, &g0, &p, 3, HgaoAttn::Dot).unwrap();
    assert_eq!(z.to_vec()[..3], [0.0; 3]);
}

#[test]
fn cgao_single_and_batched_match_reference() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(35);
    for (n, d) in [(1, 3), (45, 6), (20, 17)] {
        let xh = randn(&mut rng, n * d);
        let x = dev.tensor(&xh, [n, d]).unwrap();
        let got = api::cgao(&dev, &x).unwrap();
        let want = rg::cgao(&rt(&[n, d], &xh)).unwrap();
        assert_close(&got, &want, &format!("cgao n {n} d {d}"));
    }
    let (n, d) = (80, 5);
    let xh = randn(&mut rng, n * d);
    let x = dev.tensor(&xh, [n, d]).unwrap();
    // An empty graph, a one-node graph, one of more than a row block.
    let ptr = [0, 10, 10, 11, 50, 80];
    let got = api::cgao_batched(&dev, &x, &ptr).unwrap();
    let want = rg::cgao_batched(&rt(&[n, d], &xh), &ptr).unwrap();
    assert_close(&got, &want, "cgao_batched");
    // The split reduction: 1, 3 and 7 chunks per graph (some empty) agree.
    for splits in [1, 3, 7] {
        let got = crate::graph::cgao_impl("graph::cgao_batched", &dev, &x, &ptr, Some(splits));
        assert_close(
            &got.unwrap(),
            &want,
            &format!("cgao_batched, {splits} splits"),
        );
    }
    // Graphs do not mix: changing graph 3 leaves the others bit-identical.
    let mut xh2 = xh.clone();
    xh2[20 * d + 2] += 2.0;
    let x2 = dev.tensor(&xh2, [n, d]).unwrap();
    let got2 = api::cgao_batched(&dev, &x2, &ptr).unwrap();
    let (a, b) = (got.to_vec(), got2.to_vec());
    assert_eq!(a[..11 * d], b[..11 * d]);
    assert_eq!(a[50 * d..], b[50 * d..]);
    assert_ne!(a[11 * d..50 * d], b[11 * d..50 * d]);
}

#[test]
fn edge_index_and_edge_order_and_node_permutations() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(36);
    // PyG edge_index: row i of the CSR lists the sources of the edges into i.
    let g = Csr::from_edge_index(4, &[0, 2, 3, 1, 0], &[1, 1, 0, 3, 3]).unwrap();
    assert_eq!(g.rowptr(), &[0, 1, 3, 3, 5]);
    assert_eq!(g.col(), &[3, 0, 2, 1, 0]);
    expect_invalid(Csr::from_edge_index(4, &[0], &[4]), &["dst[0] = 4"]);
    expect_invalid(Csr::from_edge_index(4, &[0, 1], &[1]), &["src has 2"]);
    // GAT and GAO do not depend on the order of a node's neighbours.
    let n = 30;
    let g = random_graph(&mut rng, n, 40);
    let rev: Vec<Vec<usize>> = (0..n)
        .map(|i| g.neighbours(i).iter().rev().map(|&j| j as usize).collect())
        .collect();
    let grev = Csr::from_lists(&rev).unwrap();
    let (heads, out, cin) = (2, 5, 4);
    let x = dev.tensor(&randn(&mut rng, n * cin), [n, cin]).unwrap();
    let w = dev
        .tensor(&randn(&mut rng, heads * out * cin), [heads * out, cin])
        .unwrap();
    let a_s = dev
        .tensor(&randn(&mut rng, heads * out), [heads, out])
        .unwrap();
    let a_d = dev
        .tensor(&randn(&mut rng, heads * out), [heads, out])
        .unwrap();
    let weights = GatWeights {
        weight: Some(&w),
        att_src: &a_s,
        att_dst: &a_d,
        bias: None,
    };
    let params = GatParams {
        heads,
        ..GatParams::default()
    };
    let close = |a: &Tensor<f32>, b: &Tensor<f32>| {
        a.to_vec()
            .iter()
            .zip(b.to_vec())
            .all(|(u, v)| (u - v).abs() <= 1e-5 * (1.0 + v.abs()))
    };
    let a = api::gat(&dev, &x, &g, &weights, &params).unwrap();
    let b = api::gat(&dev, &x, &grev, &weights, &params).unwrap();
    assert!(close(&a, &b), "GAT depends on the neighbour order");
    assert!(close(
        &api::gao(&dev, &x, &g).unwrap(),
        &api::gao(&dev, &x, &grev).unwrap()
    ));
    // cGAO is equivariant to node permutations.
    let d = 6;
    let xh = randn(&mut rng, n * d);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        perm.swap(i, rng.random_range(0..=i));
    }
    let xp: Vec<f32> = (0..n * d).map(|e| xh[perm[e / d] * d + e % d]).collect();
    let z = api::cgao(&dev, &dev.tensor(&xh, [n, d]).unwrap()).unwrap();
    let zp = api::cgao(&dev, &dev.tensor(&xp, [n, d]).unwrap()).unwrap();
    let zv = z.to_vec();
    let want: Vec<f32> = (0..n * d).map(|e| zv[perm[e / d] * d + e % d]).collect();
    let want = dev.tensor(&want, [n, d]).unwrap();
    assert!(close(&zp, &want), "cGAO is not permutation equivariant");
}

/// f16 and bf16 features: the same kernels on rounded inputs, f32 accumulation, outputs
/// (and GAT's projected features, as in a half-precision `PyG` layer) rounded to the type.
fn half_features_match_reference<T: crate::graph::Feature>(
    to: fn(f32) -> T,
    back: fn(T) -> f64,
    tol: f64,
    seed: u64,
) {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(seed);
    let (n, d) = (30, 6);
    let g = random_graph(&mut rng, n, 35);
    let rgraph = to_ref_csr(&g);
    let xh: Vec<T> = randn(&mut rng, n * d).into_iter().map(to).collect();
    let xr: Vec<f32> = xh.iter().map(|&v| back(v) as f32).collect();
    let rx = rt(&[n, d], &xr);
    let x = dev.tensor(&xh, [n, d]).unwrap();
    let check = |got: Tensor<T>, want: RTensor, what: &str| {
        assert_eq!(got.shape(), want.shape(), "{what}");
        for (i, (&g, &w)) in got.to_vec().iter().zip(want.data()).enumerate() {
            let err = (back(g) - w).abs();
            assert!(
                err <= tol * (1.0 + w.abs()),
                "{what}: [{i}] {} vs {w}",
                back(g)
            );
        }
    };
    check(
        api::gao(&dev, &x, &g).unwrap(),
        rg::gao_dot(&rx, &rgraph).unwrap(),
        "gao",
    );
    check(api::cgao(&dev, &x).unwrap(), rg::cgao(&rx).unwrap(), "cgao");
    let ph = randn(&mut rng, d);
    let p = dev.tensor(&ph, [d]).unwrap();
    if !skip_hgao(&dev, "hgao on half features") {
        check(
            api::hgao(&dev, &x, &g, &p, 4, HgaoAttn::Dot).unwrap(),
            rg::hgao(&rx, &rgraph, &f64s(&ph), 4, rg::HgaoAttn::Dot).unwrap(),
            "hgao",
        );
    }
    let (heads, out) = (2, 4);
    let wh = randn(&mut rng, heads * out * d);
    let (ash, adh) = (randn(&mut rng, heads * out), randn(&mut rng, heads * out));
    let w = dev.tensor(&wh, [heads * out, d]).unwrap();
    let a_s = dev.tensor(&ash, [heads, out]).unwrap();
    let a_d = dev.tensor(&adh, [heads, out]).unwrap();
    let weights = GatWeights {
        weight: Some(&w),
        att_src: &a_s,
        att_dst: &a_d,
        bias: None,
    };
    let params = GatParams {
        heads,
        ..GatParams::default()
    };
    let (rw, ras, rad) = (
        rt(&[heads * out, d], &wh),
        rt(&[heads, out], &ash),
        rt(&[heads, out], &adh),
    );
    let want = rg::gat_conv(
        &rx,
        &rgraph.with_self_loops(),
        &rg::GatConvParams {
            w: &rw,
            att_src: &ras,
            att_dst: &rad,
            bias: None,
            heads,
            concat: true,
            negative_slope: 0.2,
        },
    )
    .unwrap();
    check(
        api::gat(&dev, &x, &g, &weights, &params).unwrap(),
        want,
        "gat",
    );
}

#[test]
fn f16_and_bf16_features_match_reference() {
    // f16 keeps 11 significant bits, bf16 8: outputs of size O(1) are within a few ulps.
    half_features_match_reference(crate::f16::from_f32, crate::f16::to_f64, 4e-3, 37);
    half_features_match_reference(crate::bf16::from_f32, crate::bf16::to_f64, 3e-2, 38);
}

#[track_caller]
#[test]
fn bad_inputs_are_rejected_before_any_launch() {
    expect_invalid(
        Csr::new(2, vec![0, 2, 1], vec![0, 1]),
        &["rowptr[1] = 2 > rowptr[2] = 1"],
    );
    expect_invalid(Csr::new(2, vec![1, 2, 2], vec![0, 1]), &["start at 0"]);
    expect_invalid(Csr::new(2, vec![0, 1, 3], vec![0, 1]), &["ends at 3"]);
    expect_invalid(Csr::new(2, vec![0, 1], vec![0]), &["rowptr has 2 entries"]);
    expect_invalid(Csr::new(2, vec![0, 1, 2], vec![0, 2]), &["col[1] = 2"]);
    expect_invalid(Csr::new(2, vec![0, 1, 2], vec![-1, 0]), &["col[0] = -1"]);
    let dev = test_device();
    let g = Csr::new(3, vec![0, 1, 3, 3], vec![1, 0, 2]).unwrap();
    let z = |s: &[usize]| dev.zeros::<f32>(s.to_vec()).unwrap();
    let x = z(&[3, 4]);
    expect_invalid(api::gao(&dev, &z(&[4, 4]), &g), &["x has 4 rows"]);
    expect_invalid(api::gao(&dev, &z(&[12]), &g), &["2-d"]);
    expect_invalid(api::gao(&dev, &z(&[3, 300]), &g), &["at most 256"]);
    // Another handle than the test device (on a GPU run, the CPU): its tensors are foreign.
    let other = Device::cpu();
    let xo = other.zeros::<f32>([3, 4]).unwrap();
    expect_invalid(api::gao(&dev, &xo, &g), &["x belongs to another device"]);
    let p = dev.tensor(&[1.0f32, 0.0, 0.0, 0.0], [4]).unwrap();
    expect_invalid(api::hgao(&dev, &x, &g, &p, 0, HgaoAttn::Dot), &["k is 0"]);
    expect_invalid(
        api::hgao(&dev, &x, &g, &z(&[4]), 2, HgaoAttn::Dot),
        &["positive finite norm"],
    );
    expect_invalid(
        api::hgao(&dev, &x, &g, &z(&[3]), 2, HgaoAttn::Dot),
        &["p has"],
    );
    let (w, a3) = (z(&[5, 4]), z(&[3]));
    let bad_gat = HgaoAttn::Gat {
        w: &w,
        a_src: &a3,
        a_dst: &a3,
    };
    expect_invalid(api::hgao(&dev, &x, &g, &p, 2, bad_gat), &["a_src"]);
    let att = z(&[2, 3]);
    let w6 = z(&[6, 4]);
    let mut weights = GatWeights {
        weight: Some(&w6),
        att_src: &att,
        att_dst: &att,
        bias: None,
    };
    let params = GatParams {
        heads: 3,
        ..GatParams::default()
    };
    expect_invalid(api::gat(&dev, &x, &g, &weights, &params), &["heads = 3"]);
    let params = GatParams {
        heads: 2,
        ..GatParams::default()
    };
    let w5 = z(&[6, 5]);
    weights.weight = Some(&w5);
    expect_invalid(api::gat(&dev, &x, &g, &weights, &params), &["weight"]);
    weights.weight = None;
    expect_invalid(api::gat(&dev, &x, &g, &weights, &params), &["projected"]);
    let b = z(&[3]);
    weights.weight = Some(&w6);
    weights.bias = Some(&b);
    expect_invalid(api::gat(&dev, &x, &g, &weights, &params), &["bias"]);
    weights.bias = None;
    let nan = GatParams {
        negative_slope: f32::NAN,
        ..params
    };
    expect_invalid(api::gat(&dev, &x, &g, &weights, &nan), &["negative_slope"]);
    let zero = GatParams { heads: 0, ..params };
    expect_invalid(api::gat(&dev, &x, &g, &weights, &zero), &["heads is 0"]);
    expect_invalid(api::cgao_batched(&dev, &x, &[0, 2, 1, 3]), &["decreases"]);
    expect_invalid(api::cgao_batched(&dev, &x, &[0, 2]), &["x has N = 3 rows"]);
    assert!(api::gat(&dev, &x, &g, &weights, &params).is_ok());
}
