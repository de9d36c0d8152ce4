//! The kernels against plain Rust references: vector add with a
//! masked tail, row softmax (f16 in and out, f32 inside), a K-loop matmul,
//! a gather through an index tile, and the golden module of every op.

use super::*;

#[test]
fn vector_add_with_masked_tail() {
    const BLOCK: u64 = 64;
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("y", ptr(S::F32)),
            ("out", ptr(S::F32)),
            ("n", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let pid = k.pid(0);
            let bs = k.i32(BLOCK as i64);
            let start = k.bin(BinaryOp::Mul, pid, bs);
            let ar = k.arange(BLOCK);
            let offs = k.bin(BinaryOp::Add, start, ar);
            let mask = k.cmp("lt", offs, p[3]);
            let xp = k.addptr(p[0], offs);
            let yp = k.addptr(p[1], offs);
            let x = k.load(xp, Some(mask), None);
            let y = k.load(yp, Some(mask), None);
            let s = k.bin(BinaryOp::Add, x, y);
            let op = k.addptr(p[2], offs);
            k.store(op, s, Some(mask));
        },
    );
    let mut rng = SmallRng::seed_from_u64(7);
    for n in [1usize, 63, 64, 1000] {
        let x = random_f32s(&mut rng, n, -10.0, 10.0);
        let y = random_f32s(&mut rng, n, -10.0, 10.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F32, &x));
        mem.add(Buffer::from_f64s(S::F32, &y));
        // One guard element past the end must stay untouched.
        mem.add(Buffer::from_f64s(S::F32, &vec![-1.0; n + 1]));
        let grid = n.div_ceil(BLOCK as usize) as u32;
        let args = [
            arg(0, S::F32),
            arg(1, S::F32),
            arg(2, S::F32),
            ArgValue::Int(n as i64),
        ];
        let out = run(&m, "k", [grid, 1, 1], &args, &mut mem).unwrap();
        assert!(out.printed.is_empty());
        let got = mem.buffers[2].to_f64s();
        for i in 0..n {
            let want = (x[i] as f32 + y[i] as f32) as f64;
            assert_eq!(got[i], want, "n = {n}, i = {i}");
        }
        assert_eq!(got[n], -1.0, "the guard element was written");
    }
}

/// The softmax of DESIGN.md: f16 in and out, f32 inside, one row per program.
fn softmax_module(block: u64) -> Module {
    kernel(
        &[
            ("x", ptr(S::F16)),
            ("y", ptr(S::F16)),
            ("n_cols", Type::Scalar(S::I32)),
            ("stride", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let row = k.pid(0);
            let cols = k.arange(block);
            let mask = k.cmp("lt", cols, p[2]);
            let base = k.bin(BinaryOp::Mul, row, p[3]);
            let offs = k.bin(BinaryOp::Add, base, cols);
            let xp = k.addptr(p[0], offs);
            let ninf = k.float(f64::NEG_INFINITY, S::F16);
            let other = k.splat(ninf, &[block]);
            let v16 = k.load(xp, Some(mask), Some(other));
            let v = k.cast(v16, S::F32);
            let mx = k.reduce(v, Type::Scalar(S::F32), "max", 0);
            let d = k.bin(BinaryOp::Sub, v, mx);
            let e = k.un(UnaryOp::Exp, d);
            let s = k.reduce(e, Type::Scalar(S::F32), "sum", 0);
            let r = k.bin(BinaryOp::Div, e, s);
            let r16 = k.cast(r, S::F16);
            let yp = k.addptr(p[1], offs);
            k.store(yp, r16, Some(mask));
        },
    )
}

#[test]
fn row_softmax_matches_reference() {
    let mut rng = SmallRng::seed_from_u64(11);
    let m = softmax_module(64);
    for (rows, cols) in [(7usize, 50usize), (3, 64), (1, 1)] {
        let stride = cols + 3;
        let x: Vec<f64> = random_f32s(&mut rng, rows * stride, -4.0, 4.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F16, &x));
        mem.add(Buffer::from_f64s(S::F16, &vec![9.0; rows * stride]));
        let xs = mem.buffers[0].to_f64s();
        let args = [
            arg(0, S::F16),
            arg(1, S::F16),
            ArgValue::Int(cols as i64),
            ArgValue::Int(stride as i64),
        ];
        run(&m, "k", [rows as u32, 1, 1], &args, &mut mem).unwrap();
        let y = mem.buffers[1].to_f64s();
        for r in 0..rows {
            let row = &xs[r * stride..r * stride + cols];
            let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
            for c in 0..stride {
                let got = y[r * stride + c];
                if c < cols {
                    let want = (row[c] - mx).exp() / sum;
                    assert!(
                        (got - want).abs() <= 1e-3 * want.max(1e-2),
                        "row {r} col {c}: {got} vs {want}"
                    );
                } else {
                    assert_eq!(got, 9.0, "masked column {c} was written");
                }
            }
            let total: f64 = y[r * stride..r * stride + cols].iter().sum();
            assert!((total - 1.0).abs() < 1e-2, "row {r} sums to {total}");
        }
    }
}

#[test]
fn k_loop_matmul_matches_naive() {
    const BM: u64 = 16;
    const BN: u64 = 8;
    const BK: u64 = 8;
    let m = kernel(
        &[
            ("a", ptr(S::F32)),
            ("b", ptr(S::F32)),
            ("c", ptr(S::F32)),
            ("M", Type::Scalar(S::I32)),
            ("N", Type::Scalar(S::I32)),
            ("K", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let (pa, pb, pc, mm, nn, kk) = (p[0], p[1], p[2], p[3], p[4], p[5]);
            let pm = k.pid(0);
            let pn = k.pid(1);
            let bm = k.i32(BM as i64);
            let bn = k.i32(BN as i64);
            let om = k.bin(BinaryOp::Mul, pm, bm);
            let on = k.bin(BinaryOp::Mul, pn, bn);
            let am = k.arange(BM);
            let an = k.arange(BN);
            let rm = k.bin(BinaryOp::Add, om, am);
            let rn = k.bin(BinaryOp::Add, on, an);
            let zero = k.float(0.0, S::F32);
            let acc0 = k.splat(zero, &[BM, BN]);
            let lb = k.i32(0);
            let step = k.i32(BK as i64);
            let res = k.for_(
                lb,
                kk,
                step,
                vec![acc0],
                Box::new(move |k: &mut K, args: &[ValueId]| {
                    let (kb, acc) = (args[0], args[1]);
                    let rk0 = k.arange(BK);
                    let rk = k.bin(BinaryOp::Add, kb, rk0);
                    // a[rm, rk]
                    let rmk = k.bin(BinaryOp::Mul, rm, kk);
                    let a_off = k.outer(BinaryOp::Add, rmk, rk);
                    let m_in = k.cmp("lt", rm, mm);
                    let k_in = k.cmp("lt", rk, kk);
                    let a_mask = k.outer(BinaryOp::And, m_in, k_in);
                    let zero = k.float(0.0, S::F32);
                    let za = k.splat(zero, &[BM, BK]);
                    let ap = k.addptr(pa, a_off);
                    let a = k.load(ap, Some(a_mask), Some(za));
                    // b[rk, rn]
                    let rkn = k.bin(BinaryOp::Mul, rk, nn);
                    let b_off = k.outer(BinaryOp::Add, rkn, rn);
                    let n_in = k.cmp("lt", rn, nn);
                    let b_mask = k.outer(BinaryOp::And, k_in, n_in);
                    let zb = k.splat(zero, &[BK, BN]);
                    let bp = k.addptr(pb, b_off);
                    let b = k.load(bp, Some(b_mask), Some(zb));
                    let t = k.ty(acc);
                    let d = k.op1(OpKind::Dot, vec![a, b, acc], t, Attrs::new());
                    vec![d]
                }),
            );
            let rmn = k.bin(BinaryOp::Mul, rm, nn);
            let c_off = k.outer(BinaryOp::Add, rmn, rn);
            let m_in = k.cmp("lt", rm, mm);
            let n_in = k.cmp("lt", rn, nn);
            let c_mask = k.outer(BinaryOp::And, m_in, n_in);
            let cp = k.addptr(pc, c_off);
            k.store(cp, res[0], Some(c_mask));
        },
    );
    let mut rng = SmallRng::seed_from_u64(3);
    for (mm, nn, kk) in [(37usize, 29usize, 45usize), (16, 8, 8), (5, 3, 1)] {
        let a = random_f32s(&mut rng, mm * kk, -1.0, 1.0);
        let b = random_f32s(&mut rng, kk * nn, -1.0, 1.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F32, &a));
        mem.add(Buffer::from_f64s(S::F32, &b));
        mem.add(Buffer::zeroed(S::F32, mm * nn));
        let grid = [
            mm.div_ceil(BM as usize) as u32,
            nn.div_ceil(BN as usize) as u32,
            1,
        ];
        let args = [
            arg(0, S::F32),
            arg(1, S::F32),
            arg(2, S::F32),
            ArgValue::Int(mm as i64),
            ArgValue::Int(nn as i64),
            ArgValue::Int(kk as i64),
        ];
        run(&m, "k", grid, &args, &mut mem).unwrap();
        let c = mem.buffers[2].to_f64s();
        for i in 0..mm {
            for j in 0..nn {
                let want: f64 = (0..kk).map(|l| a[i * kk + l] * b[l * nn + j]).sum();
                let got = c[i * nn + j];
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{mm}x{nn}x{kk} c[{i},{j}] = {got}, want {want}"
                );
            }
        }
    }
}

#[test]
fn gather_through_an_index_tile() {
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("idx", ptr(S::I32)),
            ("out", ptr(S::F32)),
        ],
        |k, p| {
            let r = k.arange(4);
            let ip = k.addptr(p[1], r);
            let idx = k.load(ip, None, None);
            let xp = k.addptr(p[0], idx);
            let g = k.load(xp, None, None);
            k.store_tile(p[2], g);
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &[10.0, 11.0, 12.0, 13.0, 14.0]));
    mem.add(Buffer::from_i64s(S::I32, &[4, 0, 4, 2]));
    mem.add(Buffer::zeroed(S::F32, 4));
    run_on_buffers(&m, [1, 1, 1], &mut mem);
    assert_eq!(mem.buffers[2].to_f64s(), [14.0, 10.0, 14.0, 12.0]);
}

/// The golden module with every op of the dialect (`tests/golden/all_ops.tir`).
const ALL_OPS: &str = include_str!("../../../tests/golden/all_ops.tir");

#[test]
fn golden_module_of_every_op_runs_after_specialization() {
    use crate::ir::{ConstValue, parse_module, verify_module};
    use crate::passes::{pipeline::run_tile_pipeline, specialize};

    let m = parse_module(ALL_OPS).unwrap();
    let e = run(&m, "every_op", [1, 1, 1], &[], &mut Memory::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unspecialized, "{e}");
    assert!(e.to_string().contains("BLOCK, CAUSAL are unbound"), "{e}");

    let consts = [
        ("BLOCK".to_string(), ConstValue::Int(16)),
        ("CAUSAL".to_string(), ConstValue::Bool(false)),
    ];
    let spec = specialize(&m, "every_op", &consts).unwrap();
    let mut piped = spec.clone();
    run_tile_pipeline(&mut piped).unwrap();
    verify_module(&piped).unwrap();
    let mut outputs = Vec::new();
    for module in [&spec, &piped] {
        let mut mem = Memory::new();
        let x: Vec<f64> = (0..1024).map(|i| 0.25 + f64::from(i % 7) * 0.5).collect();
        mem.add(Buffer::from_f64s(S::F32, &x));
        mem.add(Buffer::zeroed(S::I32, 4));
        let args = [
            arg(0, S::F32),
            arg(1, S::I32),
            ArgValue::Int(12),
            ArgValue::Float(2.0),
        ];
        let out = run(module, "every_op", [2, 1, 1], &args, &mut mem).unwrap();
        assert_eq!(out.printed.len(), 2);
        assert!(
            out.printed[1].starts_with("pid (1, 0, 0) sc = \"q\"\n1, "),
            "{:?}",
            out.printed
        );
        // Each program added 1 to its counter, then swapped it back to 1.
        assert_eq!(mem.buffers[1].to_i64s(), [1, 1, 0, 0]);
        outputs.push((out, mem));
    }
    // The tile pipeline (inline, canonicalize, CSE, DCE) keeps the semantics.
    assert_eq!(outputs[0], outputs[1]);
}
