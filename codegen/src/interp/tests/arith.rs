//! Elementwise arithmetic and rounding: f16 rounding exactly at casts and
//! ops, the binary and unary op families, cmp/select/fma/cast/bitcast, and
//! `tile.dot` of i8 into i32 and f16 into f32.

use super::*;

#[test]
fn f16_rounds_exactly_at_casts_and_ops() {
    let mut rng = SmallRng::seed_from_u64(21);
    let n = 256u64;
    let x = random_f32s(&mut rng, n as usize, -300.0, 300.0);
    let y = random_f32s(&mut rng, n as usize, -3.0, 3.0);
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("y", ptr(S::F32)),
            ("sum32", ptr(S::F32)),
            ("prod16", ptr(S::F16)),
            ("wide", ptr(S::F32)),
            ("b16", ptr(S::BF16)),
        ],
        |k, p| {
            let o = k.arange(n);
            let xp = k.addptr(p[0], o);
            let yp = k.addptr(p[1], o);
            let x = k.load(xp, None, None);
            let y = k.load(yp, None, None);
            let x16 = k.cast(x, S::F16);
            let y16 = k.cast(y, S::F16);
            let s16 = k.bin(BinaryOp::Add, x16, y16);
            let s32 = k.cast(s16, S::F32);
            let sp = k.addptr(p[2], o);
            k.store(sp, s32, None);
            let p16 = k.bin(BinaryOp::Mul, x16, y16);
            let pp = k.addptr(p[3], o);
            k.store(pp, p16, None);
            // Computing in f32 and casting once differs from f16 arithmetic.
            let w = k.bin(BinaryOp::Mul, x, y);
            let wp = k.addptr(p[4], o);
            k.store(wp, w, None);
            let b = k.cast(w, S::BF16);
            let bp = k.addptr(p[5], o);
            k.store(bp, b, None);
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &x));
    mem.add(Buffer::from_f64s(S::F32, &y));
    mem.add(Buffer::zeroed(S::F32, n as usize));
    mem.add(Buffer::zeroed(S::F16, n as usize));
    mem.add(Buffer::zeroed(S::F32, n as usize));
    mem.add(Buffer::zeroed(S::BF16, n as usize));
    run_on_buffers(&m, [1, 1, 1], &mut mem);
    let sums = mem.buffers[2].to_f64s();
    let wide = mem.buffers[4].to_f64s();
    for i in 0..n as usize {
        let hx = half::f16::from_f32(x[i] as f32);
        let hy = half::f16::from_f32(y[i] as f32);
        assert_eq!(sums[i], f64::from((hx + hy).to_f32()), "sum at {i}");
        let prod = hx * hy;
        let bytes = &mem.buffers[3].data[2 * i..2 * i + 2];
        assert_eq!(
            u16::from_le_bytes([bytes[0], bytes[1]]),
            prod.to_bits(),
            "f16 product at {i}"
        );
        let w = x[i] as f32 * y[i] as f32;
        assert_eq!(wide[i], f64::from(w), "f32 product at {i}");
        let bytes = &mem.buffers[5].data[2 * i..2 * i + 2];
        assert_eq!(
            u16::from_le_bytes([bytes[0], bytes[1]]),
            half::bf16::from_f32(w).to_bits(),
            "bf16 cast at {i}"
        );
    }
}

/// Evaluates `f` on constants in a one-program kernel storing one scalar of `out`.
fn eval_scalar(out: S, f: impl FnOnce(&mut K) -> ValueId) -> Result<f64, InterpError> {
    let m = kernel(&[("out", ptr(out))], |k, p| {
        let v = f(k);
        k.store(p[0], v, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(out, 1));
    run(&m, "k", [1, 1, 1], &[arg(0, out)], &mut mem)?;
    Ok(mem.buffers[0].to_f64s()[0])
}

#[test]
fn binary_ops_on_floats_and_ints() {
    let cases: [(BinaryOp, f64, f64, f64); 8] = [
        (BinaryOp::Add, 1.5, 2.25, 3.75),
        (BinaryOp::Sub, 1.5, 2.25, -0.75),
        (BinaryOp::Mul, 1.5, -2.0, -3.0),
        (BinaryOp::Div, 1.0, 3.0, 1.0 / 3.0),
        (BinaryOp::Rem, -7.5, 2.0, -1.5),
        (BinaryOp::Max, -1.0, 2.0, 2.0),
        (BinaryOp::Min, -1.0, 2.0, -1.0),
        (BinaryOp::Pow, 2.0, 10.0, 1024.0),
    ];
    for (op, a, b, want) in cases {
        let got = eval_scalar(S::F64, |k| {
            let x = k.float(a, S::F64);
            let y = k.float(b, S::F64);
            k.bin(op, x, y)
        })
        .unwrap();
        assert_eq!(got, want, "{op:?}");
    }
    let icases: [(BinaryOp, i64, i64, i64); 13] = [
        (BinaryOp::Add, 5, -7, -2),
        (BinaryOp::Sub, 5, -7, 12),
        (BinaryOp::Mul, -6, 7, -42),
        (BinaryOp::Div, -7, 2, -3),
        (BinaryOp::Rem, -7, 2, -1),
        (BinaryOp::Max, -7, 2, 2),
        (BinaryOp::Min, -7, 2, -7),
        (BinaryOp::And, 12, 10, 8),
        (BinaryOp::Or, 12, 10, 14),
        (BinaryOp::Xor, 12, 10, 6),
        (BinaryOp::Shl, 3, 4, 48),
        (BinaryOp::Shr, -16, 2, -4),
        // Shl drops the bits shifted out of the width.
        (BinaryOp::Shl, 0x40, 25, i64::from(i32::MIN)),
    ];
    for (op, a, b, want) in icases {
        let got = eval_scalar(S::I32, |k| {
            let x = k.i32(a);
            let y = k.i32(b);
            k.bin(op, x, y)
        })
        .unwrap();
        assert_eq!(got, want as f64, "{op:?} {a} {b}");
    }
}

#[test]
fn unary_ops_round_to_f32() {
    let x = 0.7f64;
    let x32 = x as f32 as f64;
    let cases: [(UnaryOp, f64); 14] = [
        (UnaryOp::Neg, -x32),
        (UnaryOp::Exp, x32.exp()),
        (UnaryOp::Exp2, x32.exp2()),
        (UnaryOp::Log, x32.ln()),
        (UnaryOp::Log2, x32.log2()),
        (UnaryOp::Sqrt, x32.sqrt()),
        (UnaryOp::Rsqrt, 1.0 / x32.sqrt()),
        (UnaryOp::Tanh, x32.tanh()),
        (UnaryOp::Sigmoid, 1.0 / (1.0 + (-x32).exp())),
        (UnaryOp::Abs, x32),
        (UnaryOp::Floor, 0.0),
        (UnaryOp::Ceil, 1.0),
        (UnaryOp::Sin, x32.sin()),
        (UnaryOp::Cos, x32.cos()),
    ];
    for (op, want) in cases {
        let got = eval_scalar(S::F32, |k| {
            let v = k.float(x, S::F32);
            k.un(op, v)
        })
        .unwrap();
        assert_eq!(got, want as f32 as f64, "{op:?}");
    }
    let got = eval_scalar(S::I8, |k| {
        let v = k.int(5, S::I8);
        k.un(UnaryOp::Not, v)
    })
    .unwrap();
    assert_eq!(got, -6.0);
    let got = eval_scalar(S::I8, |k| {
        let v = k.int(-5, S::I8);
        k.un(UnaryOp::Abs, v)
    })
    .unwrap();
    assert_eq!(got, 5.0);
}

#[test]
fn cmp_select_fma_cast_bitcast() {
    for (pred, want) in [
        ("eq", 0.0),
        ("ne", 1.0),
        ("lt", 1.0),
        ("le", 1.0),
        ("gt", 0.0),
        ("ge", 0.0),
    ] {
        let got = eval_scalar(S::I1, |k| {
            let a = k.float(1.0, S::F32);
            let b = k.float(2.0, S::F32);
            k.cmp(pred, a, b)
        })
        .unwrap();
        assert_eq!(got, want, "{pred}");
    }
    // NaN compares unequal to itself.
    let got = eval_scalar(S::I1, |k| {
        let a = k.float(f64::NAN, S::F32);
        k.cmp("eq", a, a)
    })
    .unwrap();
    assert_eq!(got, 0.0);
    let got = eval_scalar(S::I32, |k| {
        let c = k.b.const_bool(false, Type::Scalar(S::I1));
        let a = k.i32(1);
        let b = k.i32(2);
        k.select(c, a, b)
    })
    .unwrap();
    assert_eq!(got, 2.0);
    let got = eval_scalar(S::F64, |k| {
        let a = k.float(0.1, S::F64);
        let b = k.float(10.0, S::F64);
        let c = k.float(-1.0, S::F64);
        let t = k.ty(a);
        k.op1(OpKind::Fma, vec![a, b, c], t, Attrs::new())
    })
    .unwrap();
    assert_eq!(got, 0.1f64.mul_add(10.0, -1.0));
    // float -> int truncates and saturates; NaN gives 0.
    for (x, want) in [
        (-3.9, -3.0),
        (300.0, 127.0),
        (-1e30, -128.0),
        (f64::NAN, 0.0),
    ] {
        let got = eval_scalar(S::I8, |k| {
            let v = k.float(x, S::F32);
            k.cast(v, S::I8)
        })
        .unwrap();
        assert_eq!(got, want, "cast {x} to i8");
    }
    // int -> f16 rounds to nearest even: 2049 is a tie between 2048 and 2050.
    let got = eval_scalar(S::F16, |k| {
        let v = k.i32(2049);
        k.cast(v, S::F16)
    })
    .unwrap();
    assert_eq!(got, 2048.0);
    // anything -> i1 is != 0; i1 -> number is 0/1.
    let got = eval_scalar(S::I32, |k| {
        let v = k.float(-0.5, S::F32);
        let b = k.cast(v, S::I1);
        k.cast(b, S::I32)
    })
    .unwrap();
    assert_eq!(got, 1.0);
    // bitcast f32 -> i32 gives the IEEE bits.
    let got = eval_scalar(S::I32, |k| {
        let v = k.float(1.0, S::F32);
        k.op1(OpKind::Bitcast, vec![v], Type::Scalar(S::I32), Attrs::new())
    })
    .unwrap();
    assert_eq!(got, f64::from(1.0f32.to_bits()));
}

#[test]
fn dot_of_i8_into_i32_and_f16_into_f32() {
    let mut rng = SmallRng::seed_from_u64(17);
    let (mm, kk, nn) = (4usize, 16usize, 8usize);
    let a: Vec<f64> = (0..mm * kk)
        .map(|_| f64::from(rng.random_range(-128i32..128)))
        .collect();
    let b: Vec<f64> = (0..kk * nn)
        .map(|_| f64::from(rng.random_range(-128i32..128)))
        .collect();
    for (ein, eacc) in [
        (S::I8, S::I32),
        (S::F16, S::F32),
        (S::BF16, S::F32),
        (S::F64, S::F64),
    ] {
        let m = kernel(
            &[("a", ptr(ein)), ("b", ptr(ein)), ("c", ptr(eacc))],
            |k, p| {
                let x = k.load2d(p[0], mm as u64, kk as u64);
                let y = k.load2d(p[1], kk as u64, nn as u64);
                let c0 = k.load2d(p[2], mm as u64, nn as u64);
                let d = k.op1(
                    OpKind::Dot,
                    vec![x, y, c0],
                    tile(&[mm as u64, nn as u64], eacc),
                    Attrs::new().with("precision", Attr::Str("ieee".into())),
                );
                k.store_tile(p[2], d);
            },
        );
        let mut mem = Memory::new();
        let scale = if ein.is_float() { 1.0 / 64.0 } else { 1.0 };
        let a_s: Vec<f64> = a.iter().map(|v| v * scale).collect();
        let b_s: Vec<f64> = b.iter().map(|v| v * scale).collect();
        mem.add(Buffer::from_f64s(ein, &a_s));
        mem.add(Buffer::from_f64s(ein, &b_s));
        let acc0 = if eacc.is_int() { 3.0 } else { 0.5 };
        mem.add(Buffer::from_f64s(eacc, &vec![acc0; mm * nn]));
        let (a_r, b_r) = (mem.buffers[0].to_f64s(), mem.buffers[1].to_f64s());
        run_on_buffers(&m, [1, 1, 1], &mut mem);
        let c = mem.buffers[2].to_f64s();
        for i in 0..mm {
            for j in 0..nn {
                let s: f64 = (0..kk).map(|l| a_r[i * kk + l] * b_r[l * nn + j]).sum();
                // Exact products summed in f64, rounded once to the accumulator.
                let want = crate::ir::numeric::round_float(acc0 + s, eacc);
                assert_eq!(c[i * nn + j], want, "{ein} c[{i},{j}]");
            }
        }
    }
}
