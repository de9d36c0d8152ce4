//! `tile.dot a, b, acc`: `acc + sum_k a[m, k] * b[k, n]`, with the products
//! summed in f64 (in k order) and rounded once to the accumulator type.
//!
//! Float inputs (f16, bf16, f32, f64, both of one type) accumulate into a
//! float accumulator; integer inputs (i8, i16, i32) into an integer
//! accumulator, exactly, with overflow of the result checked (i8 into i32 is
//! the usual case). A leading batch dimension (`BxMxK`, `BxKxN`, `BxMxN`)
//! is allowed. The `precision` attribute (`ieee`, `tf32`, `tf32x3`) tells
//! the GPU which instructions it may use; the reference result is the exact
//! one whatever it says.

use crate::ir::numeric::{fit, round_float};

use super::error::{ErrorKind, Fail};
use super::exec::OpView;
use super::value::{Data, Tile};

/// Evaluates `tile.dot`.
pub(crate) fn dot(view: &OpView, a: &Tile, b: &Tile, acc: &Tile) -> Result<Tile, Fail> {
    if let Some(p) = view.attr_str("precision")?
        && !matches!(p, "ieee" | "tf32" | "tf32x3")
    {
        return Err(Fail::ir(format!(
            "unknown precision `{p}` (ieee, tf32, tf32x3)"
        )));
    }
    let r = a.rank();
    let shape_err = || {
        Fail::ir(format!(
            "shapes do not chain: a {}, b {}, acc {} (MxK, KxN, MxN, optionally with a batch dim)",
            a.type_string(),
            b.type_string(),
            acc.type_string()
        ))
    };
    if !(r == 2 || r == 3) || b.rank() != r || acc.rank() != r {
        return Err(shape_err());
    }
    let (batch, m, k) = if r == 3 {
        (a.shape[0], a.shape[1], a.shape[2])
    } else {
        (1, a.shape[0], a.shape[1])
    };
    let (kb, n) = (b.shape[r - 2], b.shape[r - 1]);
    if kb != k || acc.shape[r - 2] != m || acc.shape[r - 1] != n {
        return Err(shape_err());
    }
    if r == 3 && (b.shape[0] != batch || acc.shape[0] != batch) {
        return Err(shape_err());
    }
    let ta = a.scalar_type("the a operand")?;
    let tc = acc.scalar_type("the accumulator")?;
    if a.elem != b.elem {
        return Err(Fail::ir(format!(
            "a and b must have one element type, got {} and {}",
            a.type_string(),
            b.type_string()
        )));
    }
    let unsupported = || {
        Fail::ir(format!(
            "dot of {ta} inputs into a {tc} accumulator is not supported (float inputs into a float accumulator, integer inputs into an integer one)"
        ))
    };
    let data = match (&a.data, &b.data, &acc.data) {
        (Data::Float(x), Data::Float(y), Data::Float(c)) => {
            let mut out = Vec::with_capacity(batch * m * n);
            let mut row = vec![0f64; n];
            let row = &mut row[..];
            for bi in 0..batch {
                let (xa, yb) = (bi * m * k, bi * k * n);
                for mi in 0..m {
                    row.fill(0.0);
                    for ki in 0..k {
                        let av = x[xa + mi * k + ki];
                        let brow = &y[yb + ki * n..yb + (ki + 1) * n];
                        // A plain indexed loop: no iterator calls per
                        // element in the debug builds the tests run.
                        let mut j = 0;
                        while j < n {
                            row[j] += av * brow[j];
                            j += 1;
                        }
                    }
                    let base = bi * m * n + mi * n;
                    out.extend(
                        row.iter()
                            .zip(&c[base..base + n])
                            .map(|(&s, &cv)| round_float(cv + s, tc)),
                    );
                }
            }
            Data::Float(out)
        }
        (Data::Int(x), Data::Int(y), Data::Int(c)) => {
            let mut out = Vec::with_capacity(batch * m * n);
            let mut row = vec![0i128; n];
            let row = &mut row[..];
            for bi in 0..batch {
                let (xa, yb) = (bi * m * k, bi * k * n);
                for mi in 0..m {
                    row.fill(0);
                    for ki in 0..k {
                        let av = i128::from(x[xa + mi * k + ki]);
                        let brow = &y[yb + ki * n..yb + (ki + 1) * n];
                        let mut j = 0;
                        while j < n {
                            row[j] += av * i128::from(brow[j]);
                            j += 1;
                        }
                    }
                    let base = bi * m * n + mi * n;
                    for (ni, (&s, &cv)) in row.iter().zip(&c[base..base + n]).enumerate() {
                        let v = i128::from(cv) + s;
                        out.push(fit(v, tc).ok_or_else(|| {
                            Fail::new(
                                ErrorKind::IntegerOverflow,
                                format!(
                                    "integer overflow at lane {}: the dot product {v} does not fit in {tc}",
                                    base + ni
                                ),
                            )
                        })?);
                    }
                }
            }
            Data::Int(out)
        }
        _ => return Err(unsupported()),
    };
    Tile::new(acc.elem.clone(), acc.shape.clone(), data)
}
