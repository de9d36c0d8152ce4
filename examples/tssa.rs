//! TSSA (Token Statistics Self-Attention, `ToST`) on the CPU interpreter: the non-causal
//! forward, the causal forward, the recurrent decode step and the backward of both, each
//! checked against the f64 reference `tilefuse::reference::tssa`.
//!
//! Run it with `cargo run --example tssa`.

use tilefuse::reference::Tensor as RefTensor;
use tilefuse::reference::tssa as reference;
use tilefuse::tssa::{self, DecodeState, Params};
use tilefuse::{Device, Tensor};

/// Reproducible inputs in [-2, 2) without extra dependencies (xorshift).
fn inputs(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0) as f32 * scale
        })
        .collect()
}

fn to_ref(v: &[f32], shape: &[usize]) -> RefTensor {
    RefTensor::new(shape, v.iter().map(|&x| x as f64).collect()).expect("shape matches")
}

/// Max |got − want| relative to max(1, max |want|).
fn err(got: &Tensor<f32>, want: &[f64]) -> f64 {
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    got.to_vec()
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max)
        / scale
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = Device::cpu();
    // ToST-lang's per-head layout at toy size; 100 tokens in blocks of 16 (ragged last block).
    let (b, h, n, d) = (2usize, 4usize, 100usize, 16usize);
    let block_size = 128;
    let params = Params {
        block_tokens: Some(16),
    };
    let shape = [b, h, n, d];
    let w = inputs(b * h * n * d, 1, 1.0);
    let g = inputs(b * h * n * d, 2, 1.0);
    let temp: Vec<f32> = inputs(h, 3, 0.4).iter().map(|t| 1.0 + t).collect();
    let bias = inputs(h * block_size, 4, 0.05);
    let (tw, tg) = (dev.tensor(&w, shape)?, dev.tensor(&g, shape)?);
    let tt = dev.tensor(&temp, [h])?;
    let tb = dev.tensor(&bias, [h, block_size])?;
    let (rw, rg, rb) = (
        to_ref(&w, &shape),
        to_ref(&g, &shape),
        to_ref(&bias, &[h, block_size]),
    );
    let rt: Vec<f64> = temp.iter().map(|&t| t as f64).collect();
    let mut checks: Vec<(&str, f64)> = Vec::new();

    let out = tssa::forward(&dev, &tw, &tt, &params)?;
    let (want, cache) = reference::tssa_core(&rw, &rt)?;
    checks.push(("non-causal forward", err(&out, want.data())));

    let (dw, dtemp) = tssa::backward(&dev, &tw, &tt, &tg, &params)?;
    let (rdw, rdtemp) = reference::tssa_core_backward(&rg, &cache)?;
    checks.push(("non-causal backward dw", err(&dw, rdw.data())));
    checks.push(("non-causal backward dtemp", err(&dtemp, &rdtemp)));

    let y = tssa::causal_forward(&dev, &tw, &tt, &tb, &params)?;
    let want = reference::causal_tssa_core(&rw, &rt, &rb)?;
    checks.push(("causal forward", err(&y, want.data())));

    // Prefill 60 tokens, then decode the other 40 one at a time.
    let mut state = DecodeState::new(&dev, b, h, d)?;
    let mut rstate = reference::CausalTssaDecodeState::new(b, h, d);
    let split = 60;
    let chunk: Vec<f32> = (0..b * h)
        .flat_map(|bh| w[bh * n * d..(bh * n + split) * d].to_vec())
        .collect();
    let y0 = state.prefill(
        &dev,
        &dev.tensor(&chunk, [b, h, split, d])?,
        &tt,
        &tb,
        &params,
    )?;
    let want0 = rstate.prefill(&to_ref(&chunk, &[b, h, split, d]), &rt, &rb)?;
    let mut worst = err(&y0, want0.data());
    for t in split..n {
        let tok: Vec<f32> = (0..b * h)
            .flat_map(|bh| w[(bh * n + t) * d..(bh * n + t + 1) * d].to_vec())
            .collect();
        let yt = state.step(&dev, &dev.tensor(&tok, [b, h, d])?, &tt, &tb)?;
        let want = rstate.step(&to_ref(&tok, &[b, h, d]), &rt, &rb)?;
        worst = worst.max(err(&yt, want.data()));
    }
    checks.push(("causal prefill + decode steps", worst));

    let (dw, dtemp, dbias) = tssa::causal_backward(&dev, &tw, &tt, &tb, &tg, &params)?;
    let (rdw, rdtemp, rdbias) = reference::causal_tssa_core_backward(&rg, &rw, &rt, &rb)?;
    checks.push(("causal backward dw", err(&dw, rdw.data())));
    checks.push(("causal backward dtemp", err(&dtemp, &rdtemp)));
    checks.push(("causal backward ddenom_bias", err(&dbias, rdbias.data())));

    println!(
        "TSSA on {} with w of shape (B, H, N, D) = {shape:?}, token blocks of 16:",
        dev.name()
    );
    let mut ok = true;
    for (what, e) in &checks {
        let tol = if what.contains("backward") {
            2e-5
        } else {
            2e-6
        };
        let pass = *e <= tol;
        ok &= pass;
        println!(
            "  {what:<30} max error vs f64 reference {e:.2e} (relative to scale; tolerance {tol:.0e}) {}",
            if pass { "ok" } else { "FAILED" }
        );
    }
    if !ok {
        eprintln!("FAILED: an error exceeds its tolerance");
        std::process::exit(1);
    }
    println!("ok");
    Ok(())
}
