//! Graph attention on the CPU interpreter: GAT (`PyG` `GATConv` semantics, 4 heads, concat and
//! mean), GAO, hGAO (`attn = dot` and `attn = gat`, and its top-k selection) and cGAO (one
//! graph and a batch), each checked against the f64 references of `tilefuse::reference::graph`
//! on a random graph with ragged degrees.
//!
//! Run it with `cargo run --example graph`.

use tilefuse::graph::{self, Csr, GatParams, GatWeights, HgaoAttn};
use tilefuse::reference::Tensor as RTensor;
use tilefuse::reference::graph as rg;
use tilefuse::{Device, Tensor, f16};

/// Reproducible inputs without extra dependencies (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform()).collect()
    }
}

fn rt(shape: &[usize], data: &[f32]) -> RTensor {
    RTensor::new(shape, data.iter().map(|&v| f64::from(v)).collect()).expect("shape")
}

fn max_err(got: &Tensor<f32>, want: &RTensor) -> f64 {
    assert_eq!(got.shape(), want.shape());
    got.to_vec()
        .iter()
        .zip(want.data())
        .map(|(&g, &w)| (f64::from(g) - w).abs() / (1.0 + w.abs()))
        .fold(0.0, f64::max)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = Device::cpu();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (n, d) = (60usize, 8usize);
    // Ragged degrees: node 0 isolated, node 1 with 50 neighbours (more than one block),
    // the rest 0..=5.
    let lists: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let deg = match i {
                0 => 0,
                1 => 50,
                _ => rng.below(6),
            };
            (0..deg).map(|_| rng.below(n)).collect()
        })
        .collect();
    let g = Csr::from_lists(&lists)?;
    let rgraph = rg::Csr::new(
        n,
        g.rowptr().iter().map(|&v| v as usize).collect(),
        g.col().iter().map(|&v| v as usize).collect(),
    )?;
    println!(
        "graph: {n} nodes, {} edges, max degree {}; kernels on {}",
        g.num_edges(),
        g.max_degree(),
        dev.name()
    );
    let xh = rng.vec(n * d);
    let x = dev.tensor(&xh, [n, d])?;
    let rx = rt(&[n, d], &xh);
    let mut checks: Vec<(String, f64)> = Vec::new();

    // GAT: 4 heads of 6 channels, projection by the matmul kernel, PyG's self loops.
    let (heads, out) = (4usize, 6usize);
    let wh = rng.vec(heads * out * d);
    let (ash, adh) = (rng.vec(heads * out), rng.vec(heads * out));
    let w = dev.tensor(&wh, [heads * out, d])?;
    let a_s = dev.tensor(&ash, [heads, out])?;
    let a_d = dev.tensor(&adh, [heads, out])?;
    let (rw, ras, rad) = (
        rt(&[heads * out, d], &wh),
        rt(&[heads, out], &ash),
        rt(&[heads, out], &adh),
    );
    for concat in [true, false] {
        let width = if concat { heads * out } else { out };
        let bh = rng.vec(width);
        let b = dev.tensor(&bh, [width])?;
        let weights = GatWeights {
            weight: Some(&w),
            att_src: &a_s,
            att_dst: &a_d,
            bias: Some(&b),
        };
        let params = GatParams {
            heads,
            concat,
            ..GatParams::default()
        };
        let got = graph::gat(&dev, &x, &g, &weights, &params)?;
        let rb: Vec<f64> = bh.iter().map(|&v| f64::from(v)).collect();
        let want = rg::gat_conv(
            &rx,
            &rgraph.with_self_loops(),
            &rg::GatConvParams {
                w: &rw,
                att_src: &ras,
                att_dst: &rad,
                bias: Some(&rb),
                heads,
                concat,
                negative_slope: 0.2,
            },
        )?;
        let how = if concat { "concat" } else { "mean" };
        checks.push((format!("GAT {heads} heads, {how}"), max_err(&got, &want)));
    }

    // GAO over the graph with self loops.
    let gl = g.with_self_loops();
    let got = graph::gao(&dev, &x, &gl)?;
    let want = rg::gao_dot(&rx, &rgraph.with_self_loops())?;
    checks.push(("GAO".into(), max_err(&got, &want)));

    // GAO on f16 features (f32 accumulation), against the reference on the rounded inputs.
    let xh16: Vec<f16> = xh.iter().map(|&v| f16::from_f32(v)).collect();
    let x16 = dev.tensor(&xh16, [n, d])?;
    let xr16: Vec<f32> = xh16.iter().map(|v| v.to_f32()).collect();
    let got16 = graph::gao(&dev, &x16, &gl)?;
    let got16 = dev.tensor(
        &got16
            .to_vec()
            .iter()
            .map(|v| v.to_f32())
            .collect::<Vec<_>>(),
        [n, d],
    )?;
    let want = rg::gao_dot(&rt(&[n, d], &xr16), &rgraph.with_self_loops())?;
    let err16 = max_err(&got16, &want);
    println!("GAO on f16 features: max |err| / (1 + |ref|) = {err16:.2e} (f16 output rounding)");

    // hGAO, k = 4: the selection exactly, then both attentions.
    let ph = rng.vec(d);
    let p = dev.tensor(&ph, [d])?;
    let rp: Vec<f64> = ph.iter().map(|&v| f64::from(v)).collect();
    let k = 4;
    let sel = graph::hgao_ranking(&dev, &x, &gl, &p, k)?;
    let want_sel = rg::ranking_k(&rgraph.with_self_loops(), &rg::hgao_scores(&rx, &rp)?, k)?;
    let same = sel == want_sel;
    println!("hGAO top-{k} selection equals the reference: {same}");
    let got = graph::hgao(&dev, &x, &gl, &p, k, HgaoAttn::Dot)?;
    let want = rg::hgao(&rx, &rgraph.with_self_loops(), &rp, k, rg::HgaoAttn::Dot)?;
    checks.push((format!("hGAO dot, k = {k}"), max_err(&got, &want)));
    let hw = rng.vec(out * d);
    let (hs, hd) = (rng.vec(out), rng.vec(out));
    let (tw, ts, td) = (
        dev.tensor(&hw, [out, d])?,
        dev.tensor(&hs, [out])?,
        dev.tensor(&hd, [out])?,
    );
    let attn = HgaoAttn::Gat {
        w: &tw,
        a_src: &ts,
        a_dst: &td,
    };
    let got = graph::hgao(&dev, &x, &gl, &p, k, attn)?;
    let (rhs, rhd): (Vec<f64>, Vec<f64>) = (
        hs.iter().map(|&v| f64::from(v)).collect(),
        hd.iter().map(|&v| f64::from(v)).collect(),
    );
    let rattn = rg::HgaoAttn::Gat {
        w: &rt(&[out, d], &hw),
        a_src: &rhs,
        a_dst: &rhd,
    };
    let want = rg::hgao(&rx, &rgraph.with_self_loops(), &rp, k, rattn)?;
    checks.push((format!("hGAO gat, k = {k}"), max_err(&got, &want)));

    // cGAO: the whole node set, and three graphs of 25, 0 and 35 nodes.
    let got = graph::cgao(&dev, &x)?;
    checks.push(("cGAO".into(), max_err(&got, &rg::cgao(&rx)?)));
    let ptr = [0, 25, 25, 60];
    let got = graph::cgao_batched(&dev, &x, &ptr)?;
    let want = rg::cgao_batched(&rx, &ptr)?;
    checks.push(("cGAO batched (3 graphs)".into(), max_err(&got, &want)));

    let mut ok = same && err16 < 2e-3;
    for (what, err) in &checks {
        let pass = *err < 1e-4;
        ok &= pass;
        println!(
            "{what:<24} max |err| / (1 + |ref|) = {err:.2e}  {}",
            if pass { "ok" } else { "FAIL" }
        );
    }
    if !ok {
        return Err("a graph kernel disagrees with the f64 reference".into());
    }
    println!("all graph attention kernels agree with the f64 reference");
    Ok(())
}
