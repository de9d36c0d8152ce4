//! The benchmarked calls, on the shapes of issue 5 and of `anchors_gpu.py`.
//!
//! Each case uploads several sets of random inputs (never zeros; enough sets
//! that together they are at least three times the L2, at least two), runs
//! the call once untimed (a failure there becomes the row's error: kernels
//! that do not run on GPUs yet are reported, not fatal), warms up, then times
//! repetitions that rotate through the sets. Calls go through the public
//! API a user calls (`attention::flash`, `decode::attention`, `tssa::forward`,
//! the kernels' typed `launch`), so the times include what that API does
//! besides the kernels (allocating and zeroing outputs, validation, one
//! synchronization per launch).

use half::f16;
use tilefuse::kernels::basic::{layernorm, matmul, softmax, vector_add};
use tilefuse::{Device, Error, Grid, Tensor};

use crate::metrics;
use crate::report::{Json, Row};
use crate::stats::Summary;
use crate::timer::EventTimer;

/// How to measure.
#[derive(Clone, Copy, Debug)]
pub struct Opts {
    /// Untimed calls before the timed ones.
    pub warmup: usize,
    /// Fewest timed repetitions.
    pub min_reps: usize,
    /// Most timed repetitions.
    pub max_reps: usize,
    /// Target timed milliseconds per case: repetitions = budget / first timing, clamped.
    pub budget_ms: f64,
    /// Most input sets per case.
    pub max_sets: usize,
    /// Bytes of all input sets of a case together, at most (the sets shrink to two first).
    pub max_set_bytes: usize,
    /// L2 size of the device.
    pub l2_bytes: usize,
}

/// How many input sets of `set_bytes` each: enough to cover three L2s, at least 2,
/// at most `opts.max_sets`, and (down to 2) within `opts.max_set_bytes` in all.
pub fn sets_for(set_bytes: usize, opts: &Opts) -> usize {
    let set_bytes = set_bytes.max(1);
    let want = (3 * opts.l2_bytes).div_ceil(set_bytes);
    let fit = opts.max_set_bytes / set_bytes;
    want.min(opts.max_sets).min(fit).max(2)
}

/// Repetitions for a call of `ms`: the budget over the time, clamped.
pub fn reps_for(ms: f64, opts: &Opts) -> usize {
    if ms.is_nan() || ms <= 0.0 {
        return opts.max_reps;
    }
    ((opts.budget_ms / ms).ceil() as usize).clamp(opts.min_reps, opts.max_reps.max(opts.min_reps))
}

/// Random values for inputs: a pool of non-zero values in ±[0.05, 2) drawn once;
/// set `s` reads it from its own offset, so sets differ and no value is zero.
pub struct Pool {
    values: Vec<f32>,
}

impl Pool {
    /// A pool of about 4 million values from a fixed seed.
    pub fn new(seed: u64) -> Pool {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        // A length that is no power of two, so rows of power-of-two lengths do not repeat.
        let values = (0..(1 << 22) + 9)
            .map(|_| {
                let m = rng.random_range(0.05f32..2.0);
                if rng.random_bool(0.5) { m } else { -m }
            })
            .collect();
        Pool { values }
    }

    /// `len` values for input `which` of set `set`.
    pub fn f32s(&self, len: usize, set: usize, which: usize) -> Vec<f32> {
        self.values(len, set, which).collect()
    }

    /// As [`Pool::f32s`], rounded to f16.
    pub fn f16s(&self, len: usize, set: usize, which: usize) -> Vec<f16> {
        self.values(len, set, which).map(f16::from_f32).collect()
    }

    /// The pool read cyclically from the offset of input `which` of set `set`.
    fn values(&self, len: usize, set: usize, which: usize) -> impl Iterator<Item = f32> + '_ {
        let start = (set * 7_919_993 + which * 1_299_709) % self.values.len();
        self.values[start..]
            .iter()
            .chain(self.values.iter().cycle())
            .take(len)
            .copied()
    }
}

/// Everything a case needs.
pub struct Ctx<'a> {
    /// The GPU.
    pub dev: &'a Device,
    /// The event timer on its stream.
    pub timer: &'a mut EventTimer,
    /// Measurement options.
    pub opts: Opts,
    /// Input values.
    pub pool: &'a Pool,
}

/// Runs `call(set)` once untimed, warms up, then times repetitions rotating over `sets`.
/// Returns the GPU-time summary and the median host time.
pub fn measure(
    ctx: &mut Ctx<'_>,
    sets: usize,
    mut call: impl FnMut(usize) -> Result<(), Error>,
) -> Result<(Summary, f64), String> {
    call(0).map_err(|e| e.to_string())?;
    for i in 0..ctx.opts.warmup {
        call((i + 1) % sets).map_err(|e| e.to_string())?;
    }
    let (first, _) = ctx.timer.time(|| call(0))?;
    let reps = reps_for(first, &ctx.opts);
    let mut gpu = Vec::with_capacity(reps);
    let mut host = Vec::with_capacity(reps);
    for r in 0..reps {
        let (g, h) = ctx.timer.time(|| call((r + 1) % sets))?;
        gpu.push(g);
        host.push(h);
    }
    let g = Summary::of(&gpu).ok_or("the GPU timings were not finite")?;
    let h = Summary::of(&host).ok_or("the host timings were not finite")?;
    Ok((g, h.median))
}

/// Fills `row` with the outcome of [`measure`].
fn finish(row: &mut Row, outcome: Result<(Summary, f64), String>) {
    match outcome {
        Ok((t, host)) => {
            row.timing = Some(t);
            row.host_ms = Some(host);
        }
        Err(e) => row.error = Some(e),
    }
}

/// Uploads `sets` input sets built by `make(set)`; an upload error becomes the row's error.
fn upload<S>(
    row: &mut Row,
    sets: usize,
    make: impl Fn(usize) -> Result<S, Error>,
) -> Option<Vec<S>> {
    row.sets = sets;
    match (0..sets).map(make).collect::<Result<Vec<S>, Error>>() {
        Ok(v) => Some(v),
        Err(e) => {
            row.error = Some(format!("cannot upload the inputs: {e}"));
            None
        }
    }
}

fn row(section: &str, kernel: &str, shape: String, dtype: &str) -> Row {
    Row {
        section: section.into(),
        kernel: kernel.into(),
        shape,
        dtype: dtype.into(),
        ..Row::default()
    }
}

fn p(k: &str, v: impl Into<Json>) -> (String, Json) {
    (k.to_string(), v.into())
}

/// Compares `got` with `want` at `idx`: close when `|got − want| ≤ atol + rtol·|want|`.
/// Returns `ok (N sampled)`, or the first mismatch.
pub fn spot_check(
    got: &[f32],
    want: impl Fn(usize) -> f32,
    idx: &[usize],
    (rtol, atol): (f32, f32),
) -> String {
    for &i in idx {
        let (g, w) = (got[i], want(i));
        let close = (g - w).abs() <= atol + rtol * w.abs();
        if !close {
            return format!("MISMATCH at {i}: got {g}, expected {w}");
        }
    }
    format!("ok ({} sampled)", idx.len())
}

/// Indices to check: spread over `0..len`, deterministic.
fn sample(len: usize, count: usize) -> Vec<usize> {
    let step = (len / count.max(1)).max(1);
    (0..len)
        .step_by(step)
        .take(count)
        .chain([len - 1])
        .collect()
}

/// `out = x + y` on 2²⁶ f32 (768 MB moved a call).
pub fn vector_add_case(ctx: &mut Ctx<'_>, n: usize) -> Row {
    let mut r = row("basic", "vector_add", format!("n={n}"), "f32");
    r.params = vec![p("n", n)];
    r.bytes = Some(metrics::vector_add_bytes(n));
    let sets = sets_for(8 * n, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        Ok((
            dev.tensor(&pool.f32s(n, s, 0), [n])?,
            dev.tensor(&pool.f32s(n, s, 1), [n])?,
        ))
    }) else {
        return r;
    };
    let mut out = match dev.zeros::<f32>([n]) {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let grid = Grid::x(n.div_ceil(1024));
    let call = |s: usize, out: &mut Tensor<f32>| {
        let (x, y) = &inputs[s];
        vector_add::<1024>::launch(dev, grid, (x, y, out, n as i32))
    };
    let outcome = measure(ctx, sets, |s| call(s, &mut out));
    finish(&mut r, outcome);
    if r.error.is_none() {
        r.check = Some(match call(0, &mut out).and_then(|()| out.read()) {
            Ok(got) => {
                let (x, y) = (pool.f32s(n, 0, 0), pool.f32s(n, 0, 1));
                spot_check(&got, |i| x[i] + y[i], &sample(n, 4096), (1e-6, 1e-6))
            }
            Err(e) => format!("cannot check: {e}"),
        });
    }
    r
}

/// Row softmax of an f16 `rows × cols` matrix, `cols ≤ 1024` (`BLOCK = 1024`).
pub fn softmax_case(ctx: &mut Ctx<'_>, rows: usize, cols: usize) -> Row {
    let mut r = row("basic", "softmax", format!("{rows}x{cols}"), "f16");
    r.params = vec![p("rows", rows), p("cols", cols)];
    r.bytes = Some(metrics::softmax_bytes(rows, cols));
    let len = rows * cols;
    let sets = sets_for(2 * len, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        dev.tensor(&pool.f16s(len, s, 0), [rows, cols])
    }) else {
        return r;
    };
    let mut out = match dev.zeros::<f16>([rows, cols]) {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let grid = Grid::x(rows);
    let call = |s: usize, out: &mut Tensor<f16>| {
        softmax::<1024>::launch(dev, grid, (&inputs[s], out, cols as i32, cols as i32))
    };
    let outcome = measure(ctx, sets, |s| call(s, &mut out));
    finish(&mut r, outcome);
    if r.error.is_none() {
        r.check = Some(match call(0, &mut out).and_then(|()| out.read()) {
            Ok(got) => {
                let got: Vec<f32> = got.iter().map(|v| v.to_f32()).collect();
                let x: Vec<f32> = pool.f16s(len, 0, 0).iter().map(|v| v.to_f32()).collect();
                let checked_rows = sample(rows, 64);
                let idx: Vec<usize> = checked_rows
                    .iter()
                    .flat_map(|&row| [row * cols, row * cols + cols / 2, row * cols + cols - 1])
                    .collect();
                spot_check(
                    &got,
                    |i| {
                        let row = &x[i / cols * cols..][..cols];
                        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let z: f32 = row.iter().map(|v| (v - m).exp()).sum();
                        (x[i] - m).exp() / z
                    },
                    &idx,
                    // f16 output: half an ulp is 2^-11 relative.
                    (2e-3, 1e-6),
                )
            }
            Err(e) => format!("cannot check: {e}"),
        });
    }
    r
}

/// Layernorm of an f32 `rows × cols` matrix (`BLOCK = 512`, any row length).
pub fn layernorm_case(ctx: &mut Ctx<'_>, rows: usize, cols: usize) -> Row {
    const EPS: f32 = 1e-5;
    let mut r = row("basic", "layernorm", format!("{rows}x{cols}"), "f32");
    r.params = vec![p("rows", rows), p("cols", cols)];
    r.bytes = Some(metrics::layernorm_bytes(rows, cols));
    let len = rows * cols;
    let sets = sets_for(4 * len, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        dev.tensor(&pool.f32s(len, s, 0), [rows, cols])
    }) else {
        return r;
    };
    let wb = dev
        .tensor(&pool.f32s(cols, 0, 1), [cols])
        .and_then(|w| Ok((w, dev.tensor(&pool.f32s(cols, 0, 2), [cols])?)));
    let out = dev.zeros::<f32>([rows, cols]);
    let ((w, b), mut out) = match (wb, out) {
        (Ok(wb), Ok(out)) => (wb, out),
        (Err(e), _) | (_, Err(e)) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let grid = Grid::x(rows);
    let call = |s: usize, out: &mut Tensor<f32>| {
        layernorm::<512>::launch(dev, grid, (&inputs[s], &w, &b, out, cols as i32, EPS))
    };
    let outcome = measure(ctx, sets, |s| call(s, &mut out));
    finish(&mut r, outcome);
    if r.error.is_none() {
        r.check = Some(match call(0, &mut out).and_then(|()| out.read()) {
            Ok(got) => {
                let x = pool.f32s(len, 0, 0);
                let (w, b) = (pool.f32s(cols, 0, 1), pool.f32s(cols, 0, 2));
                let idx: Vec<usize> = sample(rows, 64)
                    .iter()
                    .flat_map(|&row| [row * cols, row * cols + cols - 1])
                    .collect();
                spot_check(
                    &got,
                    |i| {
                        let row = &x[i / cols * cols..][..cols];
                        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / cols as f64;
                        let var = row
                            .iter()
                            .map(|&v| (f64::from(v) - mean).powi(2))
                            .sum::<f64>()
                            / cols as f64;
                        let c = i % cols;
                        ((f64::from(x[i]) - mean) / (var + f64::from(EPS)).sqrt() * f64::from(w[c])
                            + f64::from(b[c])) as f32
                    },
                    &idx,
                    (1e-3, 1e-4),
                )
            }
            Err(e) => format!("cannot check: {e}"),
        });
    }
    r
}

/// `c (f32) = a · b` for f16 `m×k`, `k×n`, with the bundled matmul's `BM = BN = 64, BK = 32`
/// tiles on 4 warps (`large = false`, kernel `matmul`) or `BM = BN = 128, BK = 32` on 8 warps
/// (`large = true`, kernel `matmul128`).
pub fn matmul_case(ctx: &mut Ctx<'_>, m: usize, n: usize, k: usize, large: bool) -> Row {
    let name = if large { "matmul128" } else { "matmul" };
    let mut r = row("matmul", name, format!("{m}x{n}x{k}"), "f16");
    r.params = vec![p("M", m), p("N", n), p("K", k)];
    r.flops = Some(metrics::matmul_flops(m, n, k));
    let sets = sets_for(2 * (m * k + k * n), &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        Ok((
            dev.tensor(&pool.f16s(m * k, s, 0), [m, k])?,
            dev.tensor(&pool.f16s(k * n, s, 1), [k, n])?,
        ))
    }) else {
        return r;
    };
    let mut out = match dev.zeros::<f32>([m, n]) {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let tile = if large { 128 } else { 64 };
    let grid = Grid::xy(m.div_ceil(tile), n.div_ceil(tile));
    let outcome = measure(ctx, sets, |s| {
        let (a, b) = &inputs[s];
        let args = (a, b, &mut out, m as i32, n as i32, k as i32);
        if large {
            matmul::<128, 128, 32>::launch(dev, grid, args)
        } else {
            matmul::<64, 64, 32>::launch(dev, grid, args)
        }
    });
    finish(&mut r, outcome);
    r
}

/// `attention::flash` forward, fp16, q/k/v `(B, N, H, D)` with `anchors_gpu.py`'s
/// `B = 16384 / N`, `H = 2048 / D`.
pub fn flash_case(ctx: &mut Ctx<'_>, n: usize, d: usize, causal: bool) -> Row {
    use tilefuse::attention::{FlashParams, flash};
    let (b, h) = (16384 / n, 2048 / d);
    let mut r = row(
        "flash_fwd",
        "attention::flash",
        format!(
            "B={b} H={h} N={n} d={d}{}",
            if causal { " causal" } else { "" }
        ),
        "f16",
    );
    r.params = vec![
        p("D", d),
        p("N", n),
        p("B", b),
        p("H", h),
        p("causal", causal),
    ];
    r.flops = Some(metrics::attention_flops(b, h, n, d, causal));
    let len = b * n * h * d;
    let sets = sets_for(3 * 2 * len, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let shape = [b, n, h, d];
    let Some(inputs) = upload(&mut r, sets, |s| {
        Ok((
            dev.tensor(&pool.f16s(len, s, 0), shape)?,
            dev.tensor(&pool.f16s(len, s, 1), shape)?,
            dev.tensor(&pool.f16s(len, s, 2), shape)?,
        ))
    }) else {
        return r;
    };
    let params = FlashParams {
        causal,
        ..FlashParams::default()
    };
    let outcome = measure(ctx, sets, |s| {
        let (q, k, v) = &inputs[s];
        flash(dev, q, k, v, &params).map(|_| ())
    });
    finish(&mut r, outcome);
    r
}

/// `decode::attention`, fp16, one query token, GQA: q `(B, 1, Hq, D)` against a full
/// contiguous cache `(B, L, Hkv, D)`; `L / 4096` splits.
pub fn decode_case(ctx: &mut Ctx<'_>, l: usize) -> Row {
    use tilefuse::decode::{DecodeParams, KvCache, attention};
    let (b, hq, hkv, d) = (32usize, 32usize, 8usize, 128usize);
    let splits = (l / 4096).max(1);
    let mut r = row(
        "decode",
        "decode::attention",
        format!("B={b} Hq={hq} Hkv={hkv} D={d} L={l} splits={splits}"),
        "f16",
    );
    r.params = vec![p("B", b), p("Hq", hq), p("Hkv", hkv), p("D", d), p("L", l)];
    r.bytes = Some(metrics::decode_bytes(b, hkv, l, d));
    let kv_len = b * l * hkv * d;
    let sets = sets_for(2 * 2 * kv_len, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        Ok((
            dev.tensor(&pool.f16s(b * hq * d, s, 0), [b, 1, hq, d])?,
            dev.tensor(&pool.f16s(kv_len, s, 1), [b, l, hkv, d])?,
            dev.tensor(&pool.f16s(kv_len, s, 2), [b, l, hkv, d])?,
        ))
    }) else {
        return r;
    };
    let seqlens = match dev.tensor(&vec![l as i32; b], [b]) {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let params = DecodeParams {
        num_splits: splits,
        ..DecodeParams::default()
    };
    let outcome = measure(ctx, sets, |s| {
        let (q, k, v) = &inputs[s];
        let cache = KvCache::Contiguous {
            k,
            v,
            cache_seqlens: &seqlens,
        };
        attention(dev, q, &cache, &params).map(|_| ())
    });
    finish(&mut r, outcome);
    r
}

/// `tssa::forward` on fp16 `w (b, h, n, d)` with `b = 8, h = 12, d = 64`, temperatures 1
/// (as `anchors_gpu.py`).
pub fn tssa_case(ctx: &mut Ctx<'_>, n: usize) -> Row {
    let (b, h, d) = (8usize, 12usize, 64usize);
    let mut r = row(
        "tssa",
        "tssa::forward",
        format!("b={b} h={h} n={n} d={d}"),
        "f16",
    );
    r.params = vec![p("b", b), p("h", h), p("n", n), p("d", d)];
    r.bytes = Some(metrics::tssa_bytes(b, h, n, d));
    let len = b * h * n * d;
    let sets = sets_for(2 * len, &ctx.opts);
    let (dev, pool) = (ctx.dev, ctx.pool);
    let Some(inputs) = upload(&mut r, sets, |s| {
        dev.tensor(&pool.f16s(len, s, 0), [b, h, n, d])
    }) else {
        return r;
    };
    let temp = match dev.tensor(&vec![1.0f32; h], [h]) {
        Ok(t) => t,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let params = tilefuse::tssa::Params::default();
    let outcome = measure(ctx, sets, |s| {
        tilefuse::tssa::forward(dev, &inputs[s], &temp, &params).map(|_| ())
    });
    finish(&mut r, outcome);
    r
}

/// One benchmark: its selector name and how to run it.
pub struct Case {
    /// `section/kernel/shape`, matched by `--only`.
    pub name: String,
    /// Runs it.
    pub run: Box<dyn Fn(&mut Ctx<'_>) -> Row>,
}

/// Every case, in order: what runs today first, so that a kernel that faults
/// (and poisons the CUDA context) late cannot spoil the earlier rows.
pub fn all(quick: bool) -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let mut add = |name: String, run: Box<dyn Fn(&mut Ctx<'_>) -> Row>| {
        v.push(Case { name, run });
    };
    let scale = if quick { 4 } else { 1 };
    let n = (1 << 26) / scale;
    add(
        format!("basic/vector_add/n={n}"),
        Box::new(move |c| vector_add_case(c, n)),
    );
    let rows = 65536 / scale;
    add(
        format!("basic/softmax/{rows}x1024"),
        Box::new(move |c| softmax_case(c, rows, 1024)),
    );
    add(
        format!("basic/softmax/{rows}x1000"),
        Box::new(move |c| softmax_case(c, rows, 1000)),
    );
    let lrows = 32768 / scale;
    add(
        format!("basic/layernorm/{lrows}x4096"),
        Box::new(move |c| layernorm_case(c, lrows, 4096)),
    );
    for s in [4096usize, 8192] {
        if quick && s == 8192 {
            continue;
        }
        add(
            format!("matmul/matmul/{s}x{s}x{s}"),
            Box::new(move |c| matmul_case(c, s, s, s, false)),
        );
        add(
            format!("matmul/matmul128/{s}x{s}x{s}"),
            Box::new(move |c| matmul_case(c, s, s, s, true)),
        );
    }
    for d in [64usize, 128] {
        for n in [1024usize, 4096, 16384] {
            if quick && n == 16384 {
                continue;
            }
            for causal in [false, true] {
                add(
                    format!(
                        "flash_fwd/attention::flash/N={n} d={d}{}",
                        if causal { " causal" } else { "" }
                    ),
                    Box::new(move |c| flash_case(c, n, d, causal)),
                );
            }
        }
    }
    for l in [4096usize, 32768] {
        if quick && l == 32768 {
            continue;
        }
        add(
            format!("decode/decode::attention/L={l}"),
            Box::new(move |c| decode_case(c, l)),
        );
    }
    for n in [4096usize, 65536] {
        if quick && n == 65536 {
            continue;
        }
        add(
            format!("tssa/tssa::forward/n={n}"),
            Box::new(move |c| tssa_case(c, n)),
        );
    }
    v
}

/// True when `name` is selected by the comma-separated substrings of `only` (all when `None`).
pub fn selected(name: &str, only: Option<&str>) -> bool {
    only.is_none_or(|o| {
        o.split(',')
            .any(|pat| !pat.is_empty() && name.contains(pat))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Opts {
        Opts {
            warmup: 3,
            min_reps: 10,
            max_reps: 100,
            budget_ms: 1000.0,
            max_sets: 8,
            max_set_bytes: 16 << 30,
            l2_bytes: 50 << 20,
        }
    }

    #[test]
    fn sets_cover_three_l2s_within_bounds() {
        let o = opts();
        assert_eq!(sets_for(1 << 20, &o), 8, "small sets: capped");
        assert_eq!(sets_for(40 << 20, &o), 4, "150 MiB / 40 MiB -> 4");
        assert_eq!(sets_for(1 << 30, &o), 2, "big sets: at least two");
        assert_eq!(
            sets_for(12 << 30, &o),
            2,
            "over the memory budget: still two"
        );
        assert_eq!(sets_for(0, &o), 8);
    }

    #[test]
    fn reps_follow_the_budget() {
        let o = opts();
        assert_eq!(reps_for(50.0, &o), 20);
        assert_eq!(reps_for(1000.0, &o), 10, "slow: the minimum");
        assert_eq!(reps_for(0.001, &o), 100, "fast: the maximum");
        assert_eq!(reps_for(f64::NAN, &o), 100);
    }

    #[test]
    fn pool_values_are_never_zero_and_sets_differ() {
        let pool = Pool::new(1);
        let a = pool.f32s(100_000, 0, 0);
        let b = pool.f32s(100_000, 1, 0);
        let c = pool.f32s(100_000, 0, 1);
        assert!(a.iter().all(|v| v.abs() >= 0.05 && v.abs() < 2.0));
        assert!(pool.f16s(1000, 2, 2).iter().all(|v| v.to_f32() != 0.0));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            a,
            pool.f32s(100_000, 0, 0),
            "deterministic (the spot checks regenerate)"
        );
        let neg = a.iter().filter(|v| **v < 0.0).count();
        assert!((40_000..60_000).contains(&neg), "both signs: {neg}");
    }

    #[test]
    fn spot_check_reports_the_first_mismatch() {
        let got = [1.0f32, 2.0, 3.5];
        assert_eq!(
            spot_check(&got, |i| got[i], &[0, 1, 2], (1e-6, 0.0)),
            "ok (3 sampled)"
        );
        let msg = spot_check(&got, |i| (i + 1) as f32, &[0, 1, 2], (1e-3, 1e-3));
        assert_eq!(msg, "MISMATCH at 2: got 3.5, expected 3");
        assert!(spot_check(&[f32::NAN], |_| 1.0, &[0], (1.0, 1.0)).starts_with("MISMATCH"));
        // A small value is held to its relative tolerance, not to an absolute one of 1.
        assert!(spot_check(&[1.2e-3], |_| 1e-3, &[0], (2e-3, 1e-6)).starts_with("MISMATCH"));
        assert_eq!(sample(10, 3), vec![0, 3, 6, 9]);
    }

    #[test]
    fn case_names_select_and_cover_the_issue_shapes() {
        let names: Vec<String> = all(false).into_iter().map(|c| c.name).collect();
        let flash = names.iter().filter(|n| n.starts_with("flash_fwd/")).count();
        assert_eq!(flash, 12, "2 head dims x 3 lengths x causal or not");
        assert!(names.contains(&"flash_fwd/attention::flash/N=16384 d=128 causal".to_string()));
        assert!(names.iter().any(|n| n == "matmul/matmul/8192x8192x8192"));
        assert!(all(true).len() < names.len());
        assert!(selected("flash_fwd/x", None));
        assert!(selected("flash_fwd/x", Some("decode,flash")));
        assert!(!selected("tssa/x", Some("decode,flash")));
        assert!(!selected("tssa/x", Some("")));
    }
}
