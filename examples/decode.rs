//! Attention offloading for one decode step (Lamina / SEEDS.md §3.7, the sequence split):
//! the KV cache of each sequence is spread over two "attention workers", each holding the
//! pages of its own key range in its own paged cache. Every worker gets the full query,
//! computes `decode::partial` over its absolute key range (masks and `ALiBi` at absolute
//! positions), and "sends" its f32 `(o, lse)` back to the model worker, which merges them
//! with `decode::merge`. The result is checked against the f64 reference of the unsplit step
//! and against `decode::attention` with split-KV on one device.
//!
//! All three "devices" are `Device::cpu()` instances (the interpreter); a transfer is a copy
//! through the host. Run it with `cargo run --example decode`.

use tilefuse::decode::{self, DecodeParams, KvCache};
use tilefuse::reference::Tensor as RefTensor;
use tilefuse::reference::attention::{AttnOpts, attention_with_kvcache_ref};
use tilefuse::{Device, Tensor, f16};

/// Reproducible inputs in `[-1, 1)` without extra dependencies (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn f16s(&mut self, n: usize, scale: f64) -> Vec<f16> {
        (0..n).map(|_| f16::from_f64(self.next() * scale)).collect()
    }
}

/// A worker's share of the cache: its own paged K/V holding positions `range` of each
/// sequence, and a block table whose entries for pages it does not hold are −1.
struct Worker {
    dev: Device,
    range: std::ops::Range<usize>,
    k_cache: Tensor<f16>,
    v_cache: Tensor<f16>,
    block_table: Tensor<i32>,
    cache_seqlens: Tensor<i32>,
}

/// Copies a tensor to another device through the host (the "network").
fn send<T: tilefuse::Element>(t: &Tensor<T>, to: &Device) -> Result<Tensor<T>, tilefuse::Error> {
    to.tensor(&t.to_vec(), t.shape().to_vec())
}

fn main() -> Result<(), tilefuse::Error> {
    let (b, hq, hk, d, page) = (2usize, 8usize, 2usize, 64usize, 16usize);
    let lens = [150usize, 41];
    let split_at = 96; // worker 0 holds positions [0, 96), worker 1 the rest (the hot tail)
    let max_blocks = lens.iter().max().unwrap().div_ceil(page);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);

    // The logical cache of every sequence, (B, S_max, Hk, d), and one query token per sequence.
    let s_max = max_blocks * page;
    let k_all = rng.f16s(b * s_max * hk * d, 1.0);
    let v_all = rng.f16s(b * s_max * hk * d, 1.0);
    let q_host = rng.f16s(b * hq * d, 1.0);
    let slopes: Vec<f32> = (0..hq).map(|h| 2f32.powf(-(h as f32 + 1.0))).collect();
    let tok = hk * d;

    // Each worker gets the pages overlapping its range, packed into its own block pool.
    let ranges = [0..split_at, split_at..usize::MAX];
    let mut workers = Vec::new();
    for range in ranges {
        let dev = Device::cpu();
        let mut table = vec![-1i32; b * max_blocks];
        let (mut kc, mut vc) = (Vec::new(), Vec::new());
        let mut blocks = 0;
        for (bi, &n) in lens.iter().enumerate() {
            for p in 0..n.div_ceil(page) {
                if p * page >= range.end || (p + 1) * page <= range.start {
                    continue;
                }
                table[bi * max_blocks + p] = blocks as i32;
                blocks += 1;
                let src = (bi * s_max + p * page) * tok;
                kc.extend_from_slice(&k_all[src..src + page * tok]);
                vc.extend_from_slice(&v_all[src..src + page * tok]);
            }
        }
        let lens_i32: Vec<i32> = lens.iter().map(|&n| n as i32).collect();
        workers.push(Worker {
            k_cache: dev.tensor(&kc, [blocks, page, hk, d])?,
            v_cache: dev.tensor(&vc, [blocks, page, hk, d])?,
            block_table: dev.tensor(&table, [b, max_blocks])?,
            cache_seqlens: dev.tensor(&lens_i32, [b])?,
            dev,
            range,
        });
    }

    // The model worker.
    let model = Device::cpu();
    let q = model.tensor(&q_host, [b, 1, hq, d])?;
    let slopes_model = model.tensor(&slopes, [hq])?;
    let mut parts = Vec::new();
    for (r, w) in workers.iter().enumerate() {
        let q_r = send(&q, &w.dev)?; // the query is broadcast to every worker
        let slopes_r = send(&slopes_model, &w.dev)?;
        let params = DecodeParams {
            num_splits: 2,
            causal: true,
            softcap: 30.0,
            alibi: Some(&slopes_r),
            ..DecodeParams::default()
        };
        let cache = KvCache::Paged {
            k_cache: &w.k_cache,
            v_cache: &w.v_cache,
            block_table: &w.block_table,
            cache_seqlens: &w.cache_seqlens,
        };
        let (o_r, lse_r) = decode::partial(&w.dev, &q_r, &cache, &params, w.range.clone())?;
        let end = if w.range.end == usize::MAX {
            "end".to_string()
        } else {
            w.range.end.to_string()
        };
        println!(
            "worker {r}: keys {}..{end} over {} pages of {page} tokens -> o {:?}, lse {:?} (f32)",
            w.range.start,
            w.k_cache.shape()[0],
            o_r.shape(),
            lse_r.shape()
        );
        parts.push((send(&o_r, &model)?, send(&lse_r, &model)?));
    }
    let refs: Vec<(&Tensor<f32>, &Tensor<f32>)> = parts.iter().map(|(o, l)| (o, l)).collect();
    let (o, lse) = decode::merge(&model, &refs)?;

    // The unsplit step on one device, contiguous cache, split-KV with 3 splits.
    let lens_i32: Vec<i32> = lens.iter().map(|&n| n as i32).collect();
    let k_dev = model.tensor(&k_all, [b, s_max, hk, d])?;
    let v_dev = model.tensor(&v_all, [b, s_max, hk, d])?;
    let seqlens = model.tensor(&lens_i32, [b])?;
    let params = DecodeParams {
        num_splits: 3,
        causal: true,
        softcap: 30.0,
        alibi: Some(&slopes_model),
        ..DecodeParams::default()
    };
    let contiguous = KvCache::Contiguous {
        k: &k_dev,
        v: &v_dev,
        cache_seqlens: &seqlens,
    };
    let (o_one, lse_one) = decode::attention(&model, &q, &contiguous, &params)?;

    // The f64 reference.
    let to_ref = |shape: &[usize], x: &[f16]| {
        RefTensor::new(shape, x.iter().map(|v| v.to_f64()).collect()).expect("shape")
    };
    let opts = AttnOpts {
        causal: true,
        softcap: 30.0,
        alibi: Some(
            RefTensor::new(&[hq], slopes.iter().map(|&s| s as f64).collect()).expect("shape"),
        ),
        ..AttnOpts::default()
    };
    let (o_ref, lse_ref) = attention_with_kvcache_ref(
        &to_ref(&[b, 1, hq, d], &q_host),
        &to_ref(&[b, s_max, hk, d], &k_all),
        &to_ref(&[b, s_max, hk, d], &v_all),
        None,
        &lens,
        &opts,
    )
    .expect("reference");

    let err = |got: &[f64], want: &RefTensor| {
        got.iter()
            .zip(want.data())
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f64, f64::max)
    };
    let o_off = err(
        &o.to_vec().iter().map(|&x| x as f64).collect::<Vec<_>>(),
        &o_ref,
    );
    let l_off = err(
        &lse.to_vec().iter().map(|&x| x as f64).collect::<Vec<_>>(),
        &lse_ref,
    );
    let o_one_err = err(
        &o_one
            .to_vec()
            .iter()
            .map(|x| x.to_f64())
            .collect::<Vec<_>>(),
        &o_ref,
    );
    let l_one_err = err(
        &lse_one
            .to_vec()
            .iter()
            .map(|&x| x as f64)
            .collect::<Vec<_>>(),
        &lse_ref,
    );
    println!(
        "offloaded (2 workers, merged): max |o - ref| = {o_off:.2e}, max |lse - ref| = {l_off:.2e}"
    );
    println!(
        "one device (split-KV x3, f16 out): max |o - ref| = {o_one_err:.2e}, max |lse - ref| = {l_one_err:.2e}"
    );
    // f16 inputs with f32 accumulation; p·v runs in f16 as on a GPU.
    if o_off > 2e-3 || l_off > 1e-4 || o_one_err > 3e-3 || l_one_err > 1e-4 {
        eprintln!("FAILED: errors exceed the f16 tolerances (o 2e-3 / 3e-3, lse 1e-4)");
        std::process::exit(1);
    }
    println!("ok");
    Ok(())
}
