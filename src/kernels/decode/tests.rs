use crate::decode::{self, DecodeElement, DecodeParams, KvCache};
use crate::reference::Tensor as RefTensor;
use crate::reference::attention::{
    AttnOpts, BlockTable, attention_split_kv_ref, attention_with_kvcache_ref, merge_partials,
};
use crate::testing::test_device;
use crate::validate::expect_invalid;
use crate::{Device, Element, Error, Tensor, bf16, f16};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Element conversions for building inputs and reading outputs.
trait Num: DecodeElement {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}
impl Num for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl Num for f16 {
    fn from_f64(x: f64) -> Self {
        f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
}
impl Num for bf16 {
    fn from_f64(x: f64) -> Self {
        bf16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        bf16::to_f64(self)
    }
}

/// A random decode problem: q, a contiguous cache and its paged copy, lengths.
struct Problem<T: Num> {
    shape_q: [usize; 4],
    q: Vec<T>,
    k: Vec<T>,
    v: Vec<T>,
    s_max: usize,
    hk: usize,
    dv: usize,
    lens: Vec<usize>,
}

fn random_vals<T: Num>(rng: &mut SmallRng, n: usize, scale: f64) -> Vec<T> {
    (0..n)
        .map(|_| T::from_f64(rng.random_range(-1.0..1.0) * scale))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn problem<T: Num>(
    rng: &mut SmallRng,
    b: usize,
    sq: usize,
    hq: usize,
    hk: usize,
    d: usize,
    dv: usize,
    lens: &[usize],
) -> Problem<T> {
    assert_eq!(lens.len(), b);
    let s_max = lens.iter().copied().max().unwrap_or(0).max(1) + 2;
    Problem {
        shape_q: [b, sq, hq, d],
        q: random_vals(rng, b * sq * hq * d, 1.5),
        k: random_vals(rng, b * s_max * hk * d, 1.5),
        v: random_vals(rng, b * s_max * hk * dv, 1.0),
        s_max,
        hk,
        dv,
        lens: lens.to_vec(),
    }
}

fn to_ref<T: Num>(shape: &[usize], data: &[T]) -> RefTensor {
    RefTensor::new(shape, data.iter().map(|x| x.to_f64()).collect()).unwrap()
}

/// Device tensors of a problem, contiguous.
struct DevProblem<T: Num> {
    q: Tensor<T>,
    k: Tensor<T>,
    v: Tensor<T>,
    lens: Tensor<i32>,
}

impl<T: Num> DevProblem<T> {
    /// The contiguous cache of the problem.
    fn contiguous(&self) -> KvCache<'_, T> {
        KvCache::Contiguous {
            k: &self.k,
            v: &self.v,
            cache_seqlens: &self.lens,
        }
    }
}

impl<T: Num> Problem<T> {
    fn k_shape(&self) -> [usize; 4] {
        [self.shape_q[0], self.s_max, self.hk, self.shape_q[3]]
    }
    fn v_shape(&self) -> [usize; 4] {
        [self.shape_q[0], self.s_max, self.hk, self.dv]
    }
    fn upload(&self, dev: &Device) -> DevProblem<T> {
        let lens: Vec<i32> = self.lens.iter().map(|&n| n as i32).collect();
        DevProblem {
            q: dev.tensor(&self.q, self.shape_q).unwrap(),
            k: dev.tensor(&self.k, self.k_shape()).unwrap(),
            v: dev.tensor(&self.v, self.v_shape()).unwrap(),
            lens: dev.tensor(&lens, [lens.len()]).unwrap(),
        }
    }
    /// The f64 reference of the whole step (or one key range of it).
    fn reference(&self, opts: &AttnOpts) -> (RefTensor, RefTensor) {
        attention_with_kvcache_ref(
            &to_ref(&self.shape_q, &self.q),
            &to_ref(&self.k_shape(), &self.k),
            &to_ref(&self.v_shape(), &self.v),
            None,
            &self.lens,
            opts,
        )
        .unwrap()
    }
    /// The same cache in pages of `page` tokens, blocks shuffled, plus spare blocks.
    /// Returns `(k_cache, v_cache, block_table, max_blocks, num_blocks)`.
    fn paged(&self, rng: &mut SmallRng, page: usize) -> (Vec<T>, Vec<T>, Vec<i32>, usize, usize) {
        let [b, _, _, d] = self.shape_q;
        let (hk, dv) = (self.hk, self.dv);
        let max_blocks = self.s_max.div_ceil(page);
        let num_blocks = b * max_blocks + 3;
        let mut ids: Vec<usize> = (0..num_blocks).collect();
        ids.shuffle(rng);
        let mut kc = random_vals::<T>(rng, num_blocks * page * hk * d, 9.0);
        let mut vc = random_vals::<T>(rng, num_blocks * page * hk * dv, 9.0);
        let mut table = vec![0i32; b * max_blocks];
        for bi in 0..b {
            for p in 0..max_blocks {
                let blk = ids[bi * max_blocks + p];
                table[bi * max_blocks + p] = blk as i32;
                for r in 0..page {
                    let t = p * page + r;
                    if t >= self.s_max {
                        continue;
                    }
                    let (src_k, dst_k) =
                        ((bi * self.s_max + t) * hk * d, (blk * page + r) * hk * d);
                    kc[dst_k..dst_k + hk * d].copy_from_slice(&self.k[src_k..src_k + hk * d]);
                    let (src_v, dst_v) =
                        ((bi * self.s_max + t) * hk * dv, (blk * page + r) * hk * dv);
                    vc[dst_v..dst_v + hk * dv].copy_from_slice(&self.v[src_v..src_v + hk * dv]);
                }
            }
        }
        (kc, vc, table, max_blocks, num_blocks)
    }
}

fn opts_of(p: &DecodeParams<'_>, alibi: Option<&RefTensor>) -> AttnOpts {
    AttnOpts {
        causal: p.causal,
        window: p.window,
        softcap: p.softcap as f64,
        alibi: alibi.cloned(),
        scale: p.scale.map(|s| s as f64),
        key_range: None,
    }
}

/// Max |got − want| with `−∞` required to match exactly.
fn max_err<T: Num>(what: &str, got: &[T], want: &RefTensor) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want.data()).enumerate() {
        let g = g.to_f64();
        if w.is_infinite() || g.is_infinite() {
            assert_eq!(g, *w, "{what}[{i}]: {g} vs {w}");
        } else {
            assert!(g.is_finite(), "{what}[{i}] = {g}");
            worst = worst.max((g - w).abs());
        }
    }
    worst
}

fn assert_close<T: Num>(what: &str, got: &[T], want: &RefTensor, tol: f64) {
    let e = max_err(what, got, want);
    assert!(e <= tol, "{what}: max error {e:e} > {tol:e}");
}

/// The variants the split/merge tests cover: (name, params, alibi kind).
fn variants() -> Vec<(&'static str, DecodeParams<'static>, u8)> {
    let base = DecodeParams::default();
    vec![
        ("plain", base, 0),
        (
            "causal",
            DecodeParams {
                causal: true,
                ..base
            },
            0,
        ),
        (
            "window",
            DecodeParams {
                window: (4, 0),
                ..base
            },
            0,
        ),
        (
            "window2",
            DecodeParams {
                window: (6, 1),
                causal: false,
                ..base
            },
            0,
        ),
        (
            "softcap",
            DecodeParams {
                softcap: 1.5,
                causal: true,
                ..base
            },
            0,
        ),
        (
            "alibi",
            DecodeParams {
                causal: true,
                ..base
            },
            1,
        ),
        (
            "alibi_b",
            DecodeParams {
                scale: Some(0.3),
                ..base
            },
            2,
        ),
        (
            "all",
            DecodeParams {
                causal: true,
                window: (9, -1),
                softcap: 2.0,
                ..base
            },
            1,
        ),
    ]
}

/// Random `ALiBi` slopes of `kind` (0: none, 1: `(Hq,)`, 2: `(B, Hq)`) on `dev` and as the
/// reference's tensor.
fn slopes(
    dev: &Device,
    rng: &mut SmallRng,
    kind: u8,
    b: usize,
    hq: usize,
) -> (Option<Tensor<f32>>, Option<RefTensor>) {
    let host: Option<(Vec<f32>, Vec<usize>)> = match kind {
        0 => None,
        1 => Some((
            (0..hq).map(|_| rng.random_range(0.05f32..0.6)).collect(),
            vec![hq],
        )),
        _ => Some((
            (0..b * hq)
                .map(|_| rng.random_range(0.05f32..0.6))
                .collect(),
            vec![b, hq],
        )),
    };
    let on_dev = host
        .as_ref()
        .map(|(s, sh)| dev.tensor(s, sh.clone()).unwrap());
    (on_dev, host.as_ref().map(|(s, sh)| to_ref(sh, s)))
}

/// Runs `attention` with every variant and several split counts against the unsplit f64
/// reference, and checks one split launch's partials against `attention_split_kv_ref`.
fn check_attention<T: Num>(seed: u64, tol: f64) {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(seed);
    // (B, Sq, Hq, Hk, d, dv, lens): GQA, MQA, MHA, Sq > 1, a 1-token and an empty sequence,
    // Sq > Sk (fully masked causal rows), non-power-of-two head dims.
    type Shape = (usize, usize, usize, usize, usize, usize, &'static [usize]);
    let shapes: [Shape; 5] = [
        (2, 1, 4, 2, 16, 16, &[37, 1]),
        (3, 3, 4, 1, 24, 24, &[20, 2, 0]),
        (1, 2, 2, 2, 32, 20, &[45]),
        (2, 4, 6, 3, 16, 16, &[9, 33]),
        // G·Sq = 24 rows: two BLOCK_M row blocks per KV head.
        (1, 3, 8, 1, 16, 16, &[30]),
    ];
    for (si, &(b, sq, hq, hk, d, dv, lens)) in shapes.iter().enumerate() {
        let pr = problem::<T>(&mut rng, b, sq, hq, hk, d, dv, lens);
        let dp = pr.upload(&dev);
        let cache = dp.contiguous();
        for (name, params, ak) in variants() {
            let (sl_dev, sl_ref) = slopes(&dev, &mut rng, ak, b, hq);
            let want = pr.reference(&opts_of(&params, sl_ref.as_ref()));
            for splits in [1usize, 3, 8] {
                let p = DecodeParams {
                    num_splits: splits,
                    alibi: sl_dev.as_ref(),
                    ..params
                };
                let (o, lse) = decode::attention(&dev, &dp.q, &cache, &p).unwrap();
                let what = format!("shape {si} {name} splits {splits}");
                assert_eq!(o.shape(), &[b, sq, hq, dv]);
                assert_eq!(lse.shape(), &[b, hq, sq]);
                assert_close(&format!("{what} o"), &o.to_vec(), &want.0, tol);
                assert_close(
                    &format!("{what} lse"),
                    &lse.to_vec(),
                    &want.1,
                    tol.max(2e-5),
                );
            }
        }
    }
}

#[test]
fn split_and_merge_equal_unsplit_reference_f32() {
    check_attention::<f32>(11, 2e-5);
}

#[test]
fn f16_and_bf16_match_reference() {
    // p·v runs in the element type (as on a GPU), so errors are a few ulps of it.
    check_attention::<f16>(12, 4e-3);
    check_attention::<bf16>(13, 3e-2);
}

#[test]
fn head_dims_64_to_512_and_dv_unlike_d() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(15);
    for (d, dv) in [
        (64usize, 64usize),
        (96, 96),
        (128, 128),
        (256, 256),
        (96, 64),
    ] {
        let pr = problem::<f16>(&mut rng, 1, 2, 4, 1, d, dv, &[40]);
        let dp = pr.upload(&dev);
        let cache = dp.contiguous();
        let params = DecodeParams {
            causal: true,
            ..DecodeParams::default()
        };
        let want = pr.reference(&opts_of(&params, None));
        for splits in [1usize, 3] {
            let p = DecodeParams {
                num_splits: splits,
                ..params
            };
            let (o, lse) = decode::attention(&dev, &dp.q, &cache, &p).unwrap();
            let what = format!("d {d} dv {dv} splits {splits}");
            assert_close(&format!("{what} o"), &o.to_vec(), &want.0, 4e-3);
            assert_close(&format!("{what} lse"), &lse.to_vec(), &want.1, 2e-5);
        }
    }
}

#[test]
fn partials_over_split_ranges_match_split_kv_reference() {
    // `partial` over each flash-decoding range of sequence 0 (13 keys cut 5 ways:
    // 3, 3, 3, 3, 1) equals the reference's split-KV partials of that sequence.
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(14);
    let pr = problem::<f32>(&mut rng, 2, 2, 4, 2, 16, 16, &[13, 3]);
    let dp = pr.upload(&dev);
    let cache = dp.contiguous();
    let params = DecodeParams {
        causal: true,
        softcap: 3.0,
        ..DecodeParams::default()
    };
    let want = attention_split_kv_ref(
        &to_ref(&pr.shape_q, &pr.q),
        &to_ref(&pr.k_shape(), &pr.k),
        &to_ref(&pr.v_shape(), &pr.v),
        None,
        &pr.lens,
        &opts_of(&params, None),
        5,
    )
    .unwrap();
    for (p, (wo, wl)) in want.iter().enumerate() {
        let chunk = 13usize.div_ceil(5);
        let range = (p * chunk).min(13)..((p + 1) * chunk).min(13);
        let (o, lse) = decode::partial(&dev, &dp.q, &cache, &params, range.clone()).unwrap();
        let (o, lse) = (o.to_vec(), lse.to_vec());
        // Sequence 0's (Sq, Hq, dv) outputs and (Hq, Sq) LSEs.
        let n0 = 2 * 4 * 16;
        let w0 = RefTensor::new(&[n0], wo.data()[..n0].to_vec()).unwrap();
        assert_close(&format!("split {p} o"), &o[..n0], &w0, 2e-5);
        let l0 = RefTensor::new(&[8], wl.data()[..8].to_vec()).unwrap();
        assert_close(&format!("split {p} lse"), &lse[..8], &l0, 2e-5);
    }
}

/// Shards of `[0, S_max)` with ragged sizes, down to one token.
fn ragged_shards(s: usize) -> Vec<std::ops::Range<usize>> {
    let cuts = [0usize, 1, 2, 7, 8, 19, 20, 21];
    let mut v: Vec<usize> = cuts.iter().copied().filter(|&c| c < s).collect();
    v.push(s);
    v.windows(2).map(|w| w[0]..w[1]).collect()
}

#[test]
fn ragged_shards_merge_to_unsplit_for_every_variant() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(21);
    let (b, sq, hq, hk, d) = (2, 2, 4, 2, 16);
    let pr = problem::<f32>(&mut rng, b, sq, hq, hk, d, d, &[26, 5]);
    let dp = pr.upload(&dev);
    let cache = dp.contiguous();
    for (name, params, ak) in variants() {
        let (sl_dev, sl_ref) = slopes(&dev, &mut rng, ak, b, hq);
        let params = DecodeParams {
            alibi: sl_dev.as_ref(),
            ..params
        };
        let mut opts = opts_of(&params, sl_ref.as_ref());
        let want = pr.reference(&opts);
        let shards = ragged_shards(pr.s_max);
        assert!(shards.iter().any(|r| r.len() == 1));
        let mut parts = Vec::new();
        for (i, r) in shards.iter().enumerate() {
            // Alternate the inner split count: shards may themselves be split.
            let p = DecodeParams {
                num_splits: 1 + i % 3,
                ..params
            };
            let part = decode::partial(&dev, &dp.q, &cache, &p, r.clone()).unwrap();
            // Each shard equals attention restricted to its absolute key range.
            opts.key_range = Some((r.start, r.end));
            let wr = pr.reference(&opts);
            assert_close(
                &format!("{name} shard {r:?} o"),
                &part.0.to_vec(),
                &wr.0,
                2e-5,
            );
            assert_close(
                &format!("{name} shard {r:?} lse"),
                &part.1.to_vec(),
                &wr.1,
                2e-5,
            );
            parts.push(part);
        }
        let refs: Vec<(&Tensor<f32>, &Tensor<f32>)> = parts.iter().map(|(o, l)| (o, l)).collect();
        let (o, lse) = decode::merge(&dev, &refs).unwrap();
        assert_close(&format!("{name} merged o"), &o.to_vec(), &want.0, 2e-5);
        assert_close(&format!("{name} merged lse"), &lse.to_vec(), &want.1, 2e-5);
    }
}

#[test]
fn merge_is_order_independent_and_matches_reference_merge() {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(31);
    let (b, sq, h, dv) = (2, 3, 3, 20);
    let n = 6;
    let mut host = Vec::new();
    for i in 0..n {
        let o: Vec<f32> = random_vals(&mut rng, b * sq * h * dv, 2.0);
        let mut l: Vec<f32> = (0..b * h * sq)
            .map(|_| rng.random_range(-6.0f32..6.0))
            .collect();
        // Empty shards for some rows, one shard entirely empty, one row empty everywhere.
        for (r, x) in l.iter_mut().enumerate() {
            if r % 4 == i % 4 || i == 2 || r == 5 {
                *x = f32::NEG_INFINITY;
            }
        }
        host.push((o, l));
    }
    let tensors: Vec<(Tensor<f32>, Tensor<f32>)> = host
        .iter()
        .map(|(o, l)| {
            (
                dev.tensor(o, [b, sq, h, dv]).unwrap(),
                dev.tensor(l, [b, h, sq]).unwrap(),
            )
        })
        .collect();
    let outs: Vec<RefTensor> = host
        .iter()
        .map(|(o, _)| to_ref(&[b, sq, h, dv], o))
        .collect();
    let lses: Vec<RefTensor> = host.iter().map(|(_, l)| to_ref(&[b, h, sq], l)).collect();
    let want = merge_partials(&outs, &lses).unwrap();
    let mut order: Vec<usize> = (0..n).collect();
    let mut first: Option<(Vec<f32>, Vec<f32>)> = None;
    for _ in 0..5 {
        let refs: Vec<(&Tensor<f32>, &Tensor<f32>)> = order
            .iter()
            .map(|&i| (&tensors[i].0, &tensors[i].1))
            .collect();
        let (o, lse) = decode::merge(&dev, &refs).unwrap();
        let (o, lse) = (o.to_vec(), lse.to_vec());
        assert_close("merged o", &o, &want.0, 1e-5);
        assert_close("merged lse", &lse, &want.1, 1e-5);
        // Row 5 of the lse is empty in every shard: o = 0, lse = -inf.
        assert_eq!(lse[5], f32::NEG_INFINITY);
        match &first {
            None => first = Some((o, lse)),
            Some((o0, l0)) => {
                for (x, y) in o.iter().zip(o0).chain(lse.iter().zip(l0)) {
                    if x.is_finite() {
                        assert!(
                            (x - y).abs() <= 4.0 * f32::EPSILON * (1.0 + y.abs()),
                            "{x} vs {y}"
                        );
                    } else {
                        assert_eq!(x, y);
                    }
                }
            }
        }
        order.shuffle(&mut rng);
    }
}

#[test]
fn merge_of_all_empty_shards_is_zero_and_neg_inf() {
    let dev = test_device();
    let o = dev
        .tensor(&[f16::from_f32(3.0); 2 * 4], [1, 2, 1, 4])
        .unwrap();
    let l = dev.tensor(&[f32::NEG_INFINITY; 2], [1, 1, 2]).unwrap();
    let (mo, ml) = decode::merge(&dev, &[(&o, &l), (&o, &l), (&o, &l)]).unwrap();
    assert!(mo.to_vec().iter().all(|x| x.to_f32() == 0.0));
    assert!(ml.to_vec().iter().all(|x| *x == f32::NEG_INFINITY));
}

fn check_paged<T: Num>(seed: u64) {
    let dev = test_device();
    let mut rng = SmallRng::seed_from_u64(seed);
    let (b, sq, hq, hk, d) = (3, 2, 4, 2, 16);
    let pr = problem::<T>(&mut rng, b, sq, hq, hk, d, d, &[35, 16, 1]);
    let dp = pr.upload(&dev);
    let contiguous = dp.contiguous();
    for page in [1usize, 16, 7] {
        let (kc, vc, table, max_blocks, nb) = pr.paged(&mut rng, page);
        let kc = dev.tensor(&kc, [nb, page, hk, d]).unwrap();
        let vc = dev.tensor(&vc, [nb, page, hk, d]).unwrap();
        let bt = dev.tensor(&table, [b, max_blocks]).unwrap();
        let paged = KvCache::Paged {
            k_cache: &kc,
            v_cache: &vc,
            block_table: &bt,
            cache_seqlens: &dp.lens,
        };
        for (name, params, _) in variants().into_iter().take(5) {
            for splits in [1usize, 4] {
                let p = DecodeParams {
                    num_splits: splits,
                    ..params
                };
                let (oc, lc) = decode::attention(&dev, &dp.q, &contiguous, &p).unwrap();
                let (op, lp) = decode::attention(&dev, &dp.q, &paged, &p).unwrap();
                let what = format!("page {page} {name} splits {splits}");
                // Same keys in the same order: bit-identical results.
                assert_eq!(
                    oc.to_vec()
                        .iter()
                        .map(|x| x.to_f64().to_bits())
                        .collect::<Vec<_>>(),
                    op.to_vec()
                        .iter()
                        .map(|x| x.to_f64().to_bits())
                        .collect::<Vec<_>>(),
                    "{what} o"
                );
                assert_eq!(
                    lc.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    lp.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{what} lse"
                );
            }
        }
        // And against the paged f64 reference directly.
        let table_us: Vec<usize> = table.iter().map(|&x| x as usize).collect();
        let p = DecodeParams {
            causal: true,
            num_splits: 3,
            ..DecodeParams::default()
        };
        let want = attention_with_kvcache_ref(
            &to_ref(&pr.shape_q, &pr.q),
            &to_ref(&[nb, page, hk, d], &kc.to_vec()),
            &to_ref(&[nb, page, hk, d], &vc.to_vec()),
            Some(BlockTable {
                table: &table_us,
                max_blocks,
            }),
            &pr.lens,
            &opts_of(&p, None),
        )
        .unwrap();
        let (op, lp) = decode::attention(&dev, &dp.q, &paged, &p).unwrap();
        let tol = if T::DTYPE == f32::DTYPE { 2e-5 } else { 4e-3 };
        assert_close(
            &format!("page {page} vs paged reference o"),
            &op.to_vec(),
            &want.0,
            tol,
        );
        assert_close(
            &format!("page {page} vs paged reference lse"),
            &lp.to_vec(),
            &want.1,
            tol.max(2e-5),
        );
    }
}

#[test]
fn paged_equals_contiguous_for_page_sizes_1_16_and_7() {
    check_paged::<f32>(41);
    check_paged::<f16>(42);
}

#[test]
fn bad_inputs_are_invalid_before_any_launch() {
    let dev = test_device();
    let z = |s: &[usize]| dev.zeros::<f32>(s.to_vec()).unwrap();
    let lens = dev.tensor(&[5i32, 3], [2]).unwrap();
    let q = z(&[2, 1, 4, 16]);
    let (k, v) = (z(&[2, 8, 2, 16]), z(&[2, 8, 2, 16]));
    let ok = KvCache::Contiguous {
        k: &k,
        v: &v,
        cache_seqlens: &lens,
    };
    let dp = DecodeParams::default();
    assert!(decode::attention(&dev, &q, &ok, &dp).is_ok());

    let e = |r: Result<(Tensor<f32>, Tensor<f32>), Error>, want: &str| {
        expect_invalid(r, &[want]);
    };
    // Shapes and head counts.
    e(
        decode::attention(&dev, &z(&[2, 4, 16]), &ok, &dp),
        "q must be 4-d",
    );
    e(
        decode::attention(&dev, &z(&[2, 1, 3, 16]), &ok, &dp),
        "not a multiple",
    );
    e(
        decode::attention(&dev, &z(&[2, 1, 4, 8]), &ok, &dp),
        "head dim 8",
    );
    e(
        decode::attention(&dev, &z(&[3, 1, 4, 16]), &ok, &dp),
        "cache_seqlens has shape [2], expected [3]",
    );
    let v_bad = z(&[2, 7, 2, 16]);
    e(
        decode::attention(
            &dev,
            &q,
            &KvCache::Contiguous {
                k: &k,
                v: &v_bad,
                cache_seqlens: &lens,
            },
            &dp,
        ),
        "differ in their first three axes",
    );
    let big = dev.zeros::<f32>([1, 1, 1, 600]).unwrap();
    let kb = dev.zeros::<f32>([1, 1, 1, 600]).unwrap();
    let l1 = dev.tensor(&[1i32], [1]).unwrap();
    e(
        decode::attention(
            &dev,
            &big,
            &KvCache::Contiguous {
                k: &kb,
                v: &kb,
                cache_seqlens: &l1,
            },
            &dp,
        ),
        "above 512",
    );
    let too_long = dev.tensor(&[9i32, 3], [2]).unwrap();
    e(
        decode::attention(
            &dev,
            &q,
            &KvCache::Contiguous {
                k: &k,
                v: &v,
                cache_seqlens: &too_long,
            },
            &dp,
        ),
        "exceeds the cache's 8 tokens",
    );
    let negative = dev.tensor(&[-1i32, 3], [2]).unwrap();
    e(
        decode::attention(
            &dev,
            &q,
            &KvCache::Contiguous {
                k: &k,
                v: &v,
                cache_seqlens: &negative,
            },
            &dp,
        ),
        "is negative",
    );
    // Options.
    e(
        decode::attention(
            &dev,
            &q,
            &ok,
            &DecodeParams {
                num_splits: 0,
                ..dp
            },
        ),
        "num_splits",
    );
    e(
        decode::attention(
            &dev,
            &q,
            &ok,
            &DecodeParams {
                softcap: -1.0,
                ..dp
            },
        ),
        "softcap",
    );
    let bad_slopes = z(&[3]);
    e(
        decode::attention(
            &dev,
            &q,
            &ok,
            &DecodeParams {
                alibi: Some(&bad_slopes),
                ..dp
            },
        ),
        "ALiBi",
    );
    #[allow(clippy::reversed_empty_ranges)]
    e(decode::partial(&dev, &q, &ok, &dp, 5..2), "reversed");
    // Another device's tensor.
    // Another handle than the test device (on a GPU run, the CPU): its tensors are foreign.
    let other = Device::cpu();
    let q_other = other.zeros::<f32>([2, 1, 4, 16]).unwrap();
    e(
        decode::attention(&dev, &q_other, &ok, &dp),
        "another device",
    );

    // Paged: table pointing outside the cache, negative entries, too few entries.
    let (kc, vc) = (z(&[4, 4, 2, 16]), z(&[4, 4, 2, 16]));
    fn with_table<'a>(
        kc: &'a Tensor<f32>,
        vc: &'a Tensor<f32>,
        t: &'a Tensor<i32>,
        lens: &'a Tensor<i32>,
    ) -> KvCache<'a, f32> {
        KvCache::Paged {
            k_cache: kc,
            v_cache: vc,
            block_table: t,
            cache_seqlens: lens,
        }
    }
    let paged = |t| with_table(&kc, &vc, t, &lens);
    let good = dev.tensor(&[0i32, 1, 2, 99], [2, 2]).unwrap();
    assert!(
        decode::attention(&dev, &q, &paged(&good), &dp).is_ok(),
        "entry 99 is never read"
    );
    let outside = dev.tensor(&[0i32, 4, 2, 3], [2, 2]).unwrap();
    e(
        decode::attention(&dev, &q, &paged(&outside), &dp),
        "block_table[0][1] = 4 points outside the cache of 4 blocks",
    );
    let neg = dev.tensor(&[0i32, 1, -2, 3], [2, 2]).unwrap();
    e(
        decode::attention(&dev, &q, &paged(&neg), &dp),
        "block_table[1][0] = -2",
    );
    // A shard reads only the pages holding its keys: sequence 1 (3 tokens) has none in
    // 4..8, so its bad entry is never read; 0..4 reads it.
    assert!(decode::partial(&dev, &q, &paged(&neg), &dp, 4..8).is_ok());
    e(
        decode::partial(&dev, &q, &paged(&neg), &dp, 0..4),
        "block_table[1][0] = -2",
    );
    let short = dev.tensor(&[0i32, 1], [2, 1]).unwrap();
    e(
        decode::attention(&dev, &q, &paged(&short), &dp),
        "only 1 entries",
    );
    let flat = dev.tensor(&[0i32, 1, 2, 3], [4]).unwrap();
    e(
        decode::attention(&dev, &q, &paged(&flat), &dp),
        "block_table must have shape [2, max_blocks]",
    );

    // Merge.
    let o = z(&[2, 1, 4, 16]);
    let l = z(&[2, 4, 1]);
    e(decode::merge::<f32>(&dev, &[]), "no partial results");
    let o2 = z(&[2, 1, 4, 8]);
    e(
        decode::merge(&dev, &[(&o, &l), (&o2, &l)]),
        "parts[1].o has shape",
    );
    let l2 = z(&[2, 1, 4]);
    e(
        decode::merge(&dev, &[(&o, &l), (&o, &l2)]),
        "parts[1].lse must have shape",
    );
    assert!(decode::merge(&dev, &[(&o, &l), (&o, &l)]).is_ok());
}
