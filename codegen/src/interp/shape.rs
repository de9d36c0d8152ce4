//! Ops that create or rearrange tiles without arithmetic: `arange`,
//! `splat`, `broadcast`, `expand_dims`, `reshape` (row-major), `trans`,
//! `join` and `split`. Broadcasts and transposes read the source with
//! strides, a row at a time; the others compute the source index of every
//! result element and gather.

use crate::ir::ElemType;
use crate::ir::numeric::fit;

use super::error::{ErrorKind, Fail};
use super::exec::{OpView, norm_axis};
use super::value::{Data, Tile, strides};

/// `tile.arange {start}`: `start, start + 1, ...` along the 1-d result.
pub(crate) fn arange(view: &OpView) -> Result<Tile, Fail> {
    let (elem, shape) = view.result_val(0)?;
    let ElemType::Scalar(t) = *elem else {
        return Err(Fail::ir(format!(
            "the result must be an integer tile, got {elem}"
        )));
    };
    if shape.len() != 1 || !t.is_int() || t.is_bool() {
        return Err(Fail::ir(format!(
            "the result must be a 1-d integer tile, got {}",
            view.result(0)?
        )));
    }
    let start = view.attr_int("start")?.unwrap_or(0);
    let data = (0..shape[0])
        .map(|i| {
            let v = i128::from(start) + i as i128;
            fit(v, t).ok_or_else(|| {
                Fail::new(
                    ErrorKind::IntegerOverflow,
                    format!("integer overflow: element {v} does not fit in {t}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tile::new(elem.clone(), shape.to_vec(), Data::Int(data))
}

/// `tile.splat`: a scalar repeated to the result shape.
pub(crate) fn splat(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    if a.rank() != 0 {
        return Err(Fail::ir(format!(
            "the operand must be a scalar, got {}",
            a.type_string()
        )));
    }
    let (_, shape) = view.result_val(0)?;
    let n: usize = shape.iter().product();
    Tile::new(a.elem.clone(), shape.to_vec(), a.data.repeat(0, n))
}

/// `tile.broadcast`: size-1 dims (and missing leading dims) expanded to
/// the result shape.
pub(crate) fn broadcast(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let (_, out) = view.result_val(0)?;
    let bad = || {
        Fail::ir(format!(
            "cannot broadcast {} to shape {out:?}",
            a.type_string()
        ))
    };
    if a.rank() > out.len() {
        return Err(bad());
    }
    let pad = out.len() - a.rank();
    let src = strides(&a.shape);
    let mut st = vec![0; out.len()];
    for (d, &n) in a.shape.iter().enumerate() {
        if n == out[d + pad] {
            st[d + pad] = src[d];
        } else if n != 1 {
            return Err(bad());
        }
    }
    Tile::new(a.elem.clone(), out.to_vec(), a.data.strided(out, &st))
}

/// `tile.expand_dims {axis}`: a new size-1 dim at `axis`.
pub(crate) fn expand_dims(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let axis = view.required("axis", view.attr_int("axis")?)?;
    let axis = norm_axis(axis, a.rank(), true)?;
    let mut shape = a.shape.clone();
    shape.insert(axis, 1);
    Tile::new(a.elem.clone(), shape, a.data.clone())
}

/// `tile.reshape`: the same elements in row-major order, another shape.
pub(crate) fn reshape(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let (_, shape) = view.result_val(0)?;
    let n: usize = shape.iter().product();
    if n != a.len() {
        return Err(Fail::ir(format!(
            "cannot reshape {} ({} elements) to shape {shape:?} ({n} elements)",
            a.type_string(),
            a.len()
        )));
    }
    Tile::new(a.elem.clone(), shape.to_vec(), a.data.clone())
}

/// `tile.trans {perm}`: result dim `i` is operand dim `perm[i]` (reversed
/// dims when `perm` is absent).
pub(crate) fn trans(view: &OpView, a: &Tile) -> Result<Tile, Fail> {
    let r = a.rank();
    let perm: Vec<usize> = match view.attr_ints("perm")? {
        Some(p) => {
            let mut seen = vec![false; r];
            let mut out = Vec::with_capacity(r);
            for &d in p {
                let ok = usize::try_from(d).ok().filter(|&d| d < r && !seen[d]);
                let Some(d) = ok else {
                    return Err(Fail::ir(format!(
                        "perm {p:?} is not a permutation of the {r} dims of {}",
                        a.type_string()
                    )));
                };
                seen[d] = true;
                out.push(d);
            }
            if out.len() != r {
                return Err(Fail::ir(format!(
                    "perm {p:?} is not a permutation of the {r} dims of {}",
                    a.type_string()
                )));
            }
            out
        }
        None => (0..r).rev().collect(),
    };
    let src = strides(&a.shape);
    let shape: Vec<usize> = perm.iter().map(|&d| a.shape[d]).collect();
    let st: Vec<usize> = perm.iter().map(|&d| src[d]).collect();
    let data = a.data.strided(&shape, &st);
    Tile::new(a.elem.clone(), shape, data)
}

/// `tile.join a, b`: a new last dim of 2 holding `a` then `b`.
pub(crate) fn join(a: &Tile, b: &Tile) -> Result<Tile, Fail> {
    super::elementwise::same_type(a, b)?;
    let n = a.len();
    let mut data = Data::with_capacity(&a.elem, 2 * n);
    for i in 0..n {
        data.push(a.data.get(i))?;
        data.push(b.data.get(i))?;
    }
    let mut shape = a.shape.clone();
    shape.push(2);
    Tile::new(a.elem.clone(), shape, data)
}

/// `tile.split`: the two halves of a last dim of 2.
pub(crate) fn split(a: &Tile) -> Result<(Tile, Tile), Fail> {
    if a.shape.last() != Some(&2) {
        return Err(Fail::ir(format!(
            "the operand's last dim must be 2, got {}",
            a.type_string()
        )));
    }
    let n = a.len() / 2;
    let even: Vec<usize> = (0..n).map(|i| 2 * i).collect();
    let odd: Vec<usize> = (0..n).map(|i| 2 * i + 1).collect();
    let shape = a.shape[..a.rank() - 1].to_vec();
    Ok((
        Tile::new(a.elem.clone(), shape.clone(), a.data.gather(&even))?,
        Tile::new(a.elem.clone(), shape, a.data.gather(&odd))?,
    ))
}
