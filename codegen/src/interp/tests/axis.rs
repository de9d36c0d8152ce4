//! Ops along an axis (reduce, scan, sort, topk) on random 2-d tiles over
//! both axes and on a 3-d tile, against plain Rust references, and the
//! shape ops that rearrange tiles in row-major order.

use super::*;

/// The lines of an `r x c` row-major tile along `axis`, as index lists.
fn lines(r: usize, c: usize, axis: usize) -> Vec<Vec<usize>> {
    if axis == 0 {
        (0..c)
            .map(|j| (0..r).map(|i| i * c + j).collect())
            .collect()
    } else {
        (0..r)
            .map(|i| (0..c).map(|j| i * c + j).collect())
            .collect()
    }
}

/// `n` random integers from `range`, times `scale` when `elem` is a float:
/// the input, and the values a buffer of `elem` holds for it.
fn random_input(
    rng: &mut SmallRng,
    n: usize,
    range: std::ops::Range<i32>,
    elem: S,
    scale: f64,
) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..n)
        .map(|_| {
            let v = f64::from(rng.random_range(range.clone()));
            if elem.is_float() { v * scale } else { v }
        })
        .collect();
    let held = Buffer::from_f64s(elem, &x).to_f64s();
    (x, held)
}

#[test]
fn reductions_on_both_axes_match_reference() {
    let (r, c) = (6usize, 9usize);
    let mut rng = SmallRng::seed_from_u64(5);
    for elem in [S::F32, S::I32] {
        let (x, xin) = random_input(&mut rng, r * c, -3..4, elem, 0.37);
        for axis in [0usize, 1] {
            let n_out = if axis == 0 { c } else { r };
            for kind in ["sum", "prod", "max", "min", "argmax", "argmin"] {
                let out_elem = if kind.starts_with("arg") {
                    S::I32
                } else {
                    elem
                };
                let outs = run_tile_op(
                    elem,
                    &x,
                    r as u64,
                    c as u64,
                    &[(out_elem, n_out)],
                    |k, v| {
                        let ty = tile(&[n_out as u64], out_elem);
                        vec![k.reduce(v, ty, kind, axis as i64)]
                    },
                );
                let got = outs[0].to_f64s();
                for (o, line) in lines(r, c, axis).iter().enumerate() {
                    let vals: Vec<f64> = line.iter().map(|&i| xin[i]).collect();
                    let want = match kind {
                        "sum" => vals.iter().sum::<f64>(),
                        "prod" => vals.iter().product::<f64>(),
                        "max" => vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                        "min" => vals.iter().cloned().fold(f64::INFINITY, f64::min),
                        "argmax" => {
                            let m = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                            vals.iter().position(|&v| v == m).unwrap() as f64
                        }
                        _ => {
                            let m = vals.iter().cloned().fold(f64::INFINITY, f64::min);
                            vals.iter().position(|&v| v == m).unwrap() as f64
                        }
                    };
                    let want = if out_elem == S::F32 {
                        want as f32 as f64
                    } else {
                        want
                    };
                    assert_eq!(got[o], want, "{elem} {kind} axis {axis} line {o}");
                }
            }
        }
    }
}

#[test]
fn reduce_1d_gives_scalar_and_argmax_takes_first_nan() {
    let x = [1.0, 5.0, f64::NAN, 5.0, f64::NAN];
    let outs = run_tile_op(
        S::F32,
        &x,
        1,
        5,
        &[(S::I32, 1), (S::F32, 1), (S::I32, 1)],
        |k, v| {
            let row = k.reshape(v, tile(&[5], S::F32));
            let am = k.reduce(row, Type::Scalar(S::I32), "argmax", 0);
            let mx = k.reduce(row, Type::Scalar(S::F32), "max", 0);
            let an = k.reduce(row, Type::Scalar(S::I32), "argmin", -1);
            vec![am, mx, an]
        },
    );
    assert_eq!(outs[0].to_i64s(), [2]);
    assert!(outs[1].to_f64s()[0].is_nan());
    assert_eq!(outs[2].to_i64s(), [2]);
    let x = [3.0, 7.0, 7.0, -1.0, -1.0];
    let outs = run_tile_op(S::I32, &x, 1, 5, &[(S::I32, 1), (S::I32, 1)], |k, v| {
        let row = k.reshape(v, tile(&[5], S::I32));
        let am = k.reduce(row, Type::Scalar(S::I32), "argmax", 0);
        let an = k.reduce(row, Type::Scalar(S::I32), "argmin", 0);
        vec![am, an]
    });
    assert_eq!(outs[0].to_i64s(), [1]);
    assert_eq!(outs[1].to_i64s(), [3]);
}

#[test]
fn scans_forward_and_reverse_on_both_axes() {
    let (r, c) = (5usize, 7usize);
    let mut rng = SmallRng::seed_from_u64(9);
    for elem in [S::F32, S::I32] {
        let (x, xin) = random_input(&mut rng, r * c, -9..10, elem, 0.3);
        for axis in [0usize, 1] {
            for reverse in [false, true] {
                for kind in ["sum", "prod", "max", "min"] {
                    let outs =
                        run_tile_op(elem, &x, r as u64, c as u64, &[(elem, r * c)], |k, v| {
                            let t = k.ty(v);
                            vec![k.op1(
                                OpKind::Scan,
                                vec![v],
                                t,
                                axis_attrs(kind, axis as i64).with("reverse", Attr::Bool(reverse)),
                            )]
                        });
                    let got = outs[0].to_f64s();
                    for line in lines(r, c, axis) {
                        let order: Vec<usize> = if reverse {
                            line.iter().rev().copied().collect()
                        } else {
                            line
                        };
                        let mut acc: Option<f64> = None;
                        for &i in &order {
                            let v = xin[i];
                            let s = match (kind, acc) {
                                (_, None) => v,
                                ("sum", Some(a)) => a + v,
                                ("prod", Some(a)) => a * v,
                                ("max", Some(a)) => a.max(v),
                                (_, Some(a)) => a.min(v),
                            };
                            acc = Some(s);
                            let want = if elem == S::F32 { s as f32 as f64 } else { s };
                            assert_eq!(
                                got[i], want,
                                "{elem} {kind} axis {axis} reverse {reverse} at {i}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The elements of `x` at `line` with their positions in it, stably
/// sorted by value (descending when `descending`): what sort and topk give.
fn stable_sorted(x: &[f64], line: &[usize], descending: bool) -> Vec<(f64, usize)> {
    let mut v: Vec<(f64, usize)> = line.iter().enumerate().map(|(p, &i)| (x[i], p)).collect();
    v.sort_by(|a, b| {
        let o = a.0.partial_cmp(&b.0).unwrap();
        if descending { o.reverse() } else { o }
    });
    v
}

#[test]
fn sort_and_topk_on_both_axes_are_stable() {
    let (r, c) = (6usize, 8usize);
    let mut rng = SmallRng::seed_from_u64(13);
    // Few distinct values, so ties are common and stability shows.
    let x: Vec<f64> = (0..r * c)
        .map(|_| f64::from(rng.random_range(0i32..4)))
        .collect();
    for axis in [0usize, 1] {
        for descending in [false, true] {
            let outs = run_tile_op(
                S::F32,
                &x,
                r as u64,
                c as u64,
                &[(S::F32, r * c), (S::I32, r * c)],
                |k, v| {
                    let t = k.ty(v);
                    k.op_n(
                        OpKind::Sort,
                        vec![v],
                        vec![t, tile(&[r as u64, c as u64], S::I32)],
                        Attrs::new()
                            .with("axis", Attr::Int(axis as i64))
                            .with("descending", Attr::Bool(descending)),
                    )
                },
            );
            let (vals, idx) = (outs[0].to_f64s(), outs[1].to_i64s());
            for line in lines(r, c, axis) {
                let want = stable_sorted(&x, &line, descending);
                for (p, &i) in line.iter().enumerate() {
                    assert_eq!(
                        (vals[i], idx[i] as usize),
                        want[p],
                        "axis {axis} desc {descending}"
                    );
                }
            }
        }
        for largest in [true, false] {
            let k_ = 3usize;
            let oshape = if axis == 0 {
                [k_ as u64, c as u64]
            } else {
                [r as u64, k_ as u64]
            };
            let n = k_ * if axis == 0 { c } else { r };
            let outs = run_tile_op(
                S::F32,
                &x,
                r as u64,
                c as u64,
                &[(S::F32, n), (S::I32, n)],
                |k, v| {
                    k.op_n(
                        OpKind::TopK,
                        vec![v],
                        vec![tile(&oshape, S::F32), tile(&oshape, S::I32)],
                        Attrs::new()
                            .with("axis", Attr::Int(axis as i64))
                            .with("k", Attr::Int(k_ as i64))
                            .with("largest", Attr::Bool(largest)),
                    )
                },
            );
            let (vals, idx) = (outs[0].to_f64s(), outs[1].to_i64s());
            let out_lines = lines(oshape[0] as usize, oshape[1] as usize, axis);
            for (line, oline) in lines(r, c, axis).iter().zip(out_lines) {
                let want = stable_sorted(&x, line, largest);
                for (p, &i) in oline.iter().enumerate() {
                    assert_eq!(
                        (vals[i], idx[i] as usize),
                        want[p],
                        "topk axis {axis} largest {largest}"
                    );
                }
            }
        }
    }
}

#[test]
fn axis_ops_on_a_3d_tile() {
    // x is 2x3x4 = [[[0..4], [4..8], [8..12]], [[12..16], ...]] reversed per
    // row so sorting has work to do.
    let x: Vec<f64> = (0..24).map(|i| f64::from(23 - i)).collect();
    let outs = run_tile_op(
        S::I32,
        &x,
        6,
        4,
        &[(S::I32, 8), (S::I32, 24), (S::I32, 24)],
        |k, v| {
            let t3 = k.reshape(v, tile(&[2, 3, 4], S::I32));
            let s = k.reduce(t3, tile(&[2, 4], S::I32), "sum", 1);
            let sorted = vec![tile(&[2, 3, 4], S::I32), tile(&[2, 3, 4], S::I32)];
            let axis1 = Attrs::new().with("axis", Attr::Int(1));
            let sp = k.op_n(OpKind::Sort, vec![t3], sorted, axis1);
            let flat_v = k.reshape(sp[0], tile(&[6, 4], S::I32));
            let flat_i = k.reshape(sp[1], tile(&[6, 4], S::I32));
            vec![s, flat_v, flat_i]
        },
    );
    let at = |a: usize, b: usize, c: usize| x[a * 12 + b * 4 + c] as i64;
    let mut sums = vec![];
    for a in 0..2 {
        for c in 0..4 {
            sums.push((0..3).map(|b| at(a, b, c)).sum::<i64>());
        }
    }
    assert_eq!(outs[0].to_i64s(), sums);
    // Along axis 1 each column is descending, so the sort reverses it.
    let (sv, si) = (outs[1].to_i64s(), outs[2].to_i64s());
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..4 {
                let i = a * 12 + b * 4 + c;
                assert_eq!(sv[i], at(a, 2 - b, c));
                assert_eq!(si[i], (2 - b) as i64);
            }
        }
    }
}

#[test]
fn shape_ops_rearrange_row_major() {
    // x = 2x3 [[0 1 2] [3 4 5]]; trans -> 3x2; join with 10 * itself ->
    // 3x2x2; split back; reshape the join to 12; broadcast rows and columns.
    let i6 = (S::I32, 6);
    let outs = run_tile_op(
        S::I32,
        &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        2,
        3,
        &[i6, i6, i6, i6, i6, (S::I32, 12)],
        |k, x| {
            let t = k.op1(
                OpKind::Trans,
                vec![x],
                tile(&[3, 2], S::I32),
                Attrs::new().with("perm", Attr::Ints(vec![1, 0])),
            );
            let ten = k.i32(10);
            let tt = k.bin(BinaryOp::Mul, t, ten);
            let j = k.op1(
                OpKind::Join,
                vec![t, tt],
                tile(&[3, 2, 2], S::I32),
                Attrs::new(),
            );
            let halves = vec![tile(&[3, 2], S::I32), tile(&[3, 2], S::I32)];
            let sp = k.op_n(OpKind::Split, vec![j], halves, Attrs::new());
            let (a, b) = (sp[0], sp[1]);
            let flat = k.reshape(j, tile(&[12], S::I32));
            let row = k.arange(3);
            let row2 = k.expand(row, 0);
            let bc = k.bcast(row2, &[2, 3]);
            let col = k.arange(2);
            let col2 = k.expand(col, -1);
            let bc2 = k.bcast(col2, &[2, 3]);
            vec![t, a, b, bc, bc2, flat]
        },
    );
    assert_eq!(outs[0].to_i64s(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(outs[1].to_i64s(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(outs[2].to_i64s(), [0, 30, 10, 40, 20, 50]);
    assert_eq!(outs[3].to_i64s(), [0, 1, 2, 0, 1, 2]);
    assert_eq!(outs[4].to_i64s(), [0, 0, 0, 1, 1, 1]);
    assert_eq!(outs[5].to_i64s(), [0, 0, 3, 30, 1, 10, 4, 40, 2, 20, 5, 50]);
}

#[test]
fn join_reshape_keeps_interleaved_order() {
    let outs = run_tile_op(S::I32, &[1.0, 2.0, 3.0], 1, 3, &[(S::I32, 6)], |k, x| {
        let row = k.reshape(x, tile(&[3], S::I32));
        let neg = k.un(UnaryOp::Neg, row);
        let j = k.op1(
            OpKind::Join,
            vec![row, neg],
            tile(&[3, 2], S::I32),
            Attrs::new(),
        );
        vec![k.reshape(j, tile(&[6], S::I32))]
    });
    assert_eq!(outs[0].to_i64s(), [1, -1, 2, -2, 3, -3]);
}
