//! `FlashAttention` forward with tilefuse's bundled DSL kernel on the CPU interpreter, checked
//! against the f64 reference `tilefuse::reference::attention`: a causal GQA call in f16 with
//! `Sq ≠ Sk` and a head dim that is not a power of two, a bf16 call with a sliding window,
//! softcap and `ALiBi`, and a varlen call in f32.
//!
//! Run it with `cargo run --example attention` (add `--release` for speed).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tilefuse::attention::{FlashElement, FlashParams, flash, flash_varlen};
use tilefuse::reference::Tensor as RefTensor;
use tilefuse::reference::attention::{AttnOpts, attention_ref, attention_varlen_ref};
use tilefuse::{Device, Error, Tensor, bf16, f16};

/// An element type of the example: conversions, and the tolerance on O(1) outputs.
trait Elem: FlashElement {
    const NAME: &'static str;
    const TOL: f64;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Elem for f16 {
    const NAME: &'static str = "f16";
    const TOL: f64 = 2e-3;
    fn from_f64(x: f64) -> Self {
        f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
}

impl Elem for bf16 {
    const NAME: &'static str = "bf16";
    const TOL: f64 = 1.5e-2;
    fn from_f64(x: f64) -> Self {
        bf16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        bf16::to_f64(self)
    }
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    const TOL: f64 = 1e-5;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// Random inputs rounded to `T`, on the device and as an f64 reference tensor.
fn input<T: Elem>(
    dev: &Device,
    rng: &mut SmallRng,
    shape: &[usize],
) -> Result<(Tensor<T>, RefTensor), Error> {
    let n = shape.iter().product();
    let host: Vec<T> = (0..n)
        .map(|_| T::from_f64(rng.random_range(-1.5..1.5)))
        .collect();
    let exact = host.iter().map(|x| x.to_f64()).collect();
    let reference = RefTensor::new(shape, exact).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok((dev.tensor(&host, shape.to_vec())?, reference))
}

/// Max abs error of the output and of the finite LSE entries, and whether the `−∞` entries
/// agree.
fn compare<T: Elem>(
    o: &Tensor<T>,
    lse: &Tensor<f32>,
    ro: &RefTensor,
    rl: &RefTensor,
) -> (f64, f64, bool) {
    let eo = o
        .to_vec()
        .iter()
        .zip(ro.data())
        .map(|(g, w)| (g.to_f64() - w).abs())
        .fold(0.0, f64::max);
    let mut el = 0.0f64;
    let mut inf_ok = true;
    for (&g, &w) in lse.to_vec().iter().zip(rl.data()) {
        if w == f64::NEG_INFINITY {
            inf_ok &= g == f32::NEG_INFINITY;
        } else {
            el = el.max((g as f64 - w).abs());
        }
    }
    (eo, el, inf_ok)
}

/// Prints one check and says whether it passed.
fn report<T: Elem>(what: &str, (eo, el, inf_ok): (f64, f64, bool), secs: f64) -> bool {
    let ok = eo <= T::TOL && el <= 1e-4 && inf_ok;
    println!(
        "{what} [{}]: {:.1} ms; max |o - ref| = {eo:.2e} (tolerance {:.1e}), max |lse - ref| = {el:.2e}, fully masked rows {} -> {}",
        T::NAME,
        secs * 1e3,
        T::TOL,
        if inf_ok { "ok" } else { "WRONG" },
        if ok { "ok" } else { "FAILED" }
    );
    ok
}

fn dense<T: Elem>(
    dev: &Device,
    what: &str,
    (b, sq, sk, hq, hk, d): (usize, usize, usize, usize, usize, usize),
    params: &FlashParams<'_>,
    opts: &AttnOpts,
    seed: u64,
) -> Result<bool, Error> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (q, rq) = input::<T>(dev, &mut rng, &[b, sq, hq, d])?;
    let (k, rk) = input::<T>(dev, &mut rng, &[b, sk, hk, d])?;
    let (v, rv) = input::<T>(dev, &mut rng, &[b, sk, hk, d])?;
    let start = std::time::Instant::now();
    let (o, lse) = flash(dev, &q, &k, &v, params)?;
    let secs = start.elapsed().as_secs_f64();
    let (ro, rl) = attention_ref(&rq, &rk, &rv, opts).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(report::<T>(what, compare(&o, &lse, &ro, &rl), secs))
}

fn main() -> Result<(), Error> {
    let dev = Device::cpu();
    println!("FlashAttention forward on {}", dev.name());
    let mut ok = true;

    // Causal GQA, Sq > Sk (the first 20 rows keep no key), head dim 96 in a 128 tile.
    let params = FlashParams {
        causal: true,
        ..Default::default()
    };
    let opts = AttnOpts {
        causal: true,
        ..Default::default()
    };
    ok &= dense::<f16>(
        &dev,
        "causal GQA 8/2 heads, Sq 100 > Sk 80, d 96",
        (2, 100, 80, 8, 2, 96),
        &params,
        &opts,
        1,
    )?;

    // Sliding window, softcap and ALiBi slopes per head.
    let slopes_host: Vec<f32> = (0..4).map(|h| 2f32.powi(-(h + 1))).collect();
    let slopes = dev.tensor(&slopes_host, [4])?;
    let params = FlashParams {
        window: (32, 8),
        softcap: 5.0,
        alibi_slopes: Some(&slopes),
        ..Default::default()
    };
    let opts = AttnOpts {
        window: (32, 8),
        softcap: 5.0,
        alibi: Some(
            RefTensor::new(&[4], slopes_host.iter().map(|&s| s as f64).collect())
                .map_err(|e| Error::Invalid(e.to_string()))?,
        ),
        ..Default::default()
    };
    ok &= dense::<bf16>(
        &dev,
        "window (32, 8) + softcap 5 + ALiBi, Sq 77, Sk 130, d 64",
        (1, 77, 130, 4, 4, 64),
        &params,
        &opts,
        2,
    )?;

    // Varlen: three packed sequences of different lengths, causal MQA, f32.
    let (hq, hk, d) = (4usize, 1usize, 32usize);
    let cu_q = [0usize, 30, 31, 90];
    let cu_k = [0usize, 45, 90, 150];
    let mut rng = SmallRng::seed_from_u64(3);
    let (q, rq) = input::<f32>(&dev, &mut rng, &[cu_q[3], hq, d])?;
    let (k, rk) = input::<f32>(&dev, &mut rng, &[cu_k[3], hk, d])?;
    let (v, rv) = input::<f32>(&dev, &mut rng, &[cu_k[3], hk, d])?;
    let as_i32 = |c: &[usize]| c.iter().map(|&x| x as i32).collect::<Vec<_>>();
    let tq = dev.tensor(&as_i32(&cu_q), [4])?;
    let tk = dev.tensor(&as_i32(&cu_k), [4])?;
    let params = FlashParams {
        causal: true,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let (o, lse) = flash_varlen(&dev, &q, &k, &v, &tq, &tk, &params)?;
    let secs = start.elapsed().as_secs_f64();
    let opts = AttnOpts {
        causal: true,
        ..Default::default()
    };
    let (ro, rl) = attention_varlen_ref(&rq, &rk, &rv, &cu_q, &cu_k, &opts)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    ok &= report::<f32>(
        "varlen causal MQA, sequences (30, 45), (1, 45), (59, 60)",
        compare(&o, &lse, &ro, &rl),
        secs,
    );

    if !ok {
        eprintln!("FAILED: an error exceeds its tolerance");
        std::process::exit(1);
    }
    println!("ok");
    Ok(())
}
