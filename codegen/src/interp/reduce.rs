//! Ops along an axis: `reduce`, `scan`, `sort` and `topk`.
//!
//! An n-d tile is seen as `outer x n x inner` around the axis; each of the
//! `outer * inner` lines of `n` elements (stride `inner`) is processed
//! independently. Float sums and products accumulate in f64 and round once
//! per result element (a scan rounds each prefix once); integer results are
//! checked against their type. `max`/`min` propagate NaN, and `argmax`/
//! `argmin` return the first index of the extreme value (of the first NaN
//! when there is one) as i32. Sorting is stable; NaN sorts above every
//! number; `topk` is the first `k` of a stable descending (or ascending,
//! `largest = false`) sort, so ties go to the lower index.

use std::cmp::Ordering;

use crate::ir::numeric::{fit, fmax, fmin, round_float};
use crate::ir::{ElemType, OpKind, ScalarType};

use super::error::{ErrorKind, Fail};
use super::exec::{OpView, norm_axis};
use super::value::{Data, Tile};

/// `(outer, n, inner)` around `axis`.
fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// The `axis` attribute, defaulting to 0 for 1-d tiles (or to the last
/// axis when `default_last`).
fn axis_attr(view: &OpView, a: &Tile, default_last: bool) -> Result<usize, Fail> {
    if a.rank() == 0 {
        return Err(Fail::ir(format!(
            "{} needs a tile, got the scalar {}",
            view.op.kind,
            a.type_string()
        )));
    }
    match view.attr_int("axis")? {
        Some(x) => norm_axis(x, a.rank(), false),
        None if a.rank() == 1 || default_last => Ok(a.rank() - 1),
        None => Err(Fail::ir(format!(
            "{} of a rank-{} tile needs the attribute `axis`",
            view.op.kind,
            a.rank()
        ))),
    }
}

fn overflow(what: &str, r: impl std::fmt::Display, t: ScalarType) -> Fail {
    Fail::new(
        ErrorKind::IntegerOverflow,
        format!("integer overflow: the {what} {r} does not fit in {t}"),
    )
}

/// `tile.reduce {kind, axis}`: the tile without `axis` (a scalar for 1-d).
pub(crate) fn reduce(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let kind = view.required("kind", view.attr_str("kind")?)?;
    let axis = axis_attr(view, a, false)?;
    let t = a.scalar_type("the operand")?;
    let (outer, n, inner) = split_axis(&a.shape, axis);
    let mut shape = a.shape.clone();
    shape.remove(axis);
    let line = |o: usize, j: usize| (0..n).map(move |k| o * n * inner + k * inner + j);
    let positions = || (0..outer).flat_map(move |o| (0..inner).map(move |j| (o, j)));
    let unknown = || {
        Fail::ir(format!(
            "unknown or unsupported reduction `{kind}` on {t} (sum, prod, max, min, argmax, argmin)"
        ))
    };

    if kind == "argmax" || kind == "argmin" {
        let max = kind == "argmax";
        let mut out = Vec::with_capacity(outer * inner);
        for (o, j) in positions() {
            let mut best = o * n * inner + j;
            let mut best_k = 0usize;
            for (k, i) in line(o, j).enumerate().skip(1) {
                let better = match &a.data {
                    Data::Float(x) => {
                        !x[best].is_nan()
                            && (x[i].is_nan() || if max { x[i] > x[best] } else { x[i] < x[best] })
                    }
                    Data::Int(x) => {
                        if max {
                            x[i] > x[best]
                        } else {
                            x[i] < x[best]
                        }
                    }
                    Data::Bool(x) => {
                        if max {
                            x[i] & !x[best]
                        } else {
                            !x[i] & x[best]
                        }
                    }
                    Data::Ptr(_) => return Err(unknown()),
                };
                if better {
                    best = i;
                    best_k = k;
                }
            }
            out.push(best_k as i64);
        }
        return Tile::new(ElemType::Scalar(ScalarType::I32), shape, Data::Int(out));
    }

    let data = match &a.data {
        Data::Float(x) => {
            let f: fn(&mut dyn Iterator<Item = f64>) -> f64 = match kind {
                "sum" => |it| it.sum(),
                "prod" => |it| it.product(),
                "max" => |it| it.fold(f64::NEG_INFINITY, fmax),
                "min" => |it| it.fold(f64::INFINITY, fmin),
                _ => return Err(unknown()),
            };
            Data::Float(
                positions()
                    .map(|(o, j)| round_float(f(&mut line(o, j).map(|i| x[i])), t))
                    .collect(),
            )
        }
        Data::Int(x) => {
            let mut out = Vec::with_capacity(outer * inner);
            for (o, j) in positions() {
                let vals = line(o, j).map(|i| i128::from(x[i]));
                let r: i128 = match kind {
                    "sum" => vals.sum(),
                    "prod" => {
                        let vals: Vec<i128> = vals.collect();
                        if vals.contains(&0) {
                            0
                        } else {
                            vals.iter()
                                .try_fold(1i128, |p, &v| p.checked_mul(v))
                                .ok_or_else(|| overflow("product", "(beyond i128)", t))?
                        }
                    }
                    "max" => vals.max().unwrap_or(0),
                    "min" => vals.min().unwrap_or(0),
                    _ => return Err(unknown()),
                };
                out.push(fit(r, t).ok_or_else(|| overflow(kind, r, t))?);
            }
            Data::Int(out)
        }
        Data::Bool(x) => {
            let all = kind == "min";
            if kind != "max" && kind != "min" {
                return Err(unknown());
            }
            Data::Bool(
                positions()
                    .map(|(o, j)| {
                        let mut it = line(o, j).map(|i| x[i]);
                        if all { it.all(|b| b) } else { it.any(|b| b) }
                    })
                    .collect(),
            )
        }
        Data::Ptr(_) => return Err(unknown()),
    };
    Tile::new(a.elem.clone(), shape, data)
}

/// Runs an inclusive scan along every line of `(outer, n, inner)` in
/// place, backwards when `reverse`: `step(state, element)` gives the new
/// state and the element stored in place of the old one.
fn scan_lines<T: Copy, A: Copy>(
    out: &mut [T],
    (outer, n, inner): (usize, usize, usize),
    reverse: bool,
    init: A,
    mut step: impl FnMut(A, T) -> Result<(A, T), Fail>,
) -> Result<(), Fail> {
    for o in 0..outer {
        for j in 0..inner {
            let mut s = init;
            for k in 0..n {
                let k = if reverse { n - 1 - k } else { k };
                let i = o * n * inner + k * inner + j;
                let (next, v) = step(s, out[i])?;
                s = next;
                out[i] = v;
            }
        }
    }
    Ok(())
}

/// `tile.scan {kind, axis, reverse}`: inclusive prefix combination.
pub(crate) fn scan(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let kind = view.required("kind", view.attr_str("kind")?)?;
    let axis = axis_attr(view, a, false)?;
    let reverse = view.attr_bool("reverse")?.unwrap_or(false);
    let t = a.scalar_type("the operand")?;
    let lines = split_axis(&a.shape, axis);
    let unknown = || {
        Fail::ir(format!(
            "unknown or unsupported scan `{kind}` on {t} (sum, prod, max, min)"
        ))
    };
    let mut data = a.data.clone();
    match &mut data {
        Data::Float(out) => {
            let (init, f): (f64, fn(f64, f64) -> f64) = match kind {
                "sum" => (0.0, |s, v| s + v),
                "prod" => (1.0, |s, v| s * v),
                "max" => (f64::NEG_INFINITY, fmax),
                "min" => (f64::INFINITY, fmin),
                _ => return Err(unknown()),
            };
            scan_lines(out, lines, reverse, init, |s, v| {
                let s = f(s, v);
                Ok((s, round_float(s, t)))
            })?;
        }
        Data::Int(out) => {
            let (init, f): (i128, fn(i128, i128) -> i128) = match kind {
                "sum" => (0, |s, v| s + v),
                "prod" => (1, |s, v| s.saturating_mul(v)),
                "max" => (i128::MIN, i128::max),
                "min" => (i128::MAX, i128::min),
                _ => return Err(unknown()),
            };
            scan_lines(out, lines, reverse, init, |s, v| {
                let s = f(s, i128::from(v));
                Ok((s, fit(s, t).ok_or_else(|| overflow(kind, s, t))?))
            })?;
        }
        Data::Bool(out) => {
            let all = match kind {
                "max" => false,
                "min" => true,
                _ => return Err(unknown()),
            };
            scan_lines(out, lines, reverse, all, |s, v| {
                let s = if all { s & v } else { s | v };
                Ok((s, s))
            })?;
        }
        Data::Ptr(_) => return Err(unknown()),
    }
    Tile::new(a.elem.clone(), a.shape.clone(), data)
}

/// The ascending order of two elements of `d` (NaN above every number).
fn order(d: &Data, x: usize, y: usize) -> Ordering {
    match d {
        Data::Float(v) => match (v[x].is_nan(), v[y].is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => v[x].partial_cmp(&v[y]).unwrap_or(Ordering::Equal),
        },
        Data::Int(v) => v[x].cmp(&v[y]),
        Data::Bool(v) => v[x].cmp(&v[y]),
        Data::Ptr(v) => v[x].cmp(&v[y]),
    }
}

/// `tile.sort {axis, descending}` and `tile.topk {axis, k, largest}`:
/// (values, i32 positions along `axis`).
pub(crate) fn sort(view: &OpView, a: &Tile) -> Result<(Tile, Tile), Fail> {
    let topk = view.op.kind == OpKind::TopK;
    let axis = axis_attr(view, a, true)?;
    a.scalar_type("the operand")?;
    let (outer, n, inner) = split_axis(&a.shape, axis);
    let (descending, k) = if topk {
        let k = view.required("k", view.attr_int("k")?)?;
        if k < 1 || k as u64 > n as u64 {
            return Err(Fail::ir(format!(
                "k = {k} is out of range for an axis of {n} elements"
            )));
        }
        (view.attr_bool("largest")?.unwrap_or(true), k as usize)
    } else {
        (view.attr_bool("descending")?.unwrap_or(false), n)
    };
    let mut src = vec![0usize; outer * k * inner];
    let mut pos = vec![0i64; outer * k * inner];
    let mut line: Vec<usize> = Vec::with_capacity(n);
    for o in 0..outer {
        for j in 0..inner {
            let at = |kk: usize| o * n * inner + kk * inner + j;
            line.clear();
            line.extend(0..n);
            line.sort_by(|&x, &y| {
                let c = order(&a.data, at(x), at(y));
                if descending { c.reverse() } else { c }
            });
            for (kk, &p) in line.iter().take(k).enumerate() {
                let dst = o * k * inner + kk * inner + j;
                src[dst] = at(p);
                pos[dst] = p as i64;
            }
        }
    }
    let mut shape = a.shape.clone();
    shape[axis] = k;
    Ok((
        Tile::new(a.elem.clone(), shape.clone(), a.data.gather(&src))?,
        Tile::new(ElemType::Scalar(ScalarType::I32), shape, Data::Int(pos))?,
    ))
}
