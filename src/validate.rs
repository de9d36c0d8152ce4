//! Input checks shared by the public kernel APIs ([`crate::attention`], [`crate::decode`],
//! [`crate::tssa`], [`crate::graph`]): every check runs before any launch and fails with
//! [`Error::Invalid`] naming the function, what is wrong and what would work.
//!
//! Each check takes the public function's name (`"attention::flash"`, `"graph::gat"`, ...)
//! as `func` and the argument's name as the caller spells it to the user (`"q"`,
//! `"the K cache"`, `"parts[1].o"`), so every message reads `func: what ... ; what works`.
//! The checks only read shapes and, for small index tensors, host copies; they never launch.

use std::fmt::Display;

use crate::{Device, Element, Error, Result, Tensor};

/// The largest value an i32 kernel index or offset may hold, as a `usize`.
pub(crate) const I32_MAX: usize = i32::MAX as usize;

/// `Error::Invalid("{func}: {msg}")`.
pub(crate) fn invalid(func: &str, msg: impl Display) -> Error {
    Error::Invalid(format!("{func}: {msg}"))
}

/// A shape written as a tuple, the way the API docs spell layouts: `(4,)`, `(2, 4)`, `()`.
pub(crate) fn tuple(dims: &[usize]) -> String {
    match dims {
        [x] => format!("({x},)"),
        _ => {
            let inner: Vec<String> = dims.iter().map(ToString::to_string).collect();
            format!("({})", inner.join(", "))
        }
    }
}

/// Checks that `t` was made by `dev` (each `Device::cpu()` call is a separate device).
pub(crate) fn same_device<T: Element>(
    func: &str,
    dev: &Device,
    what: &str,
    t: &Tensor<T>,
) -> Result<()> {
    if t.device().same(dev) {
        return Ok(());
    }
    Err(invalid(
        func,
        format!(
            "{what} belongs to another device handle than the {} the call runs on; create every \
             tensor with the device you pass (each Device::cpu() call makes a separate device)",
            dev.name()
        ),
    ))
}

/// Checks that `shape` has `N` axes and returns them; the message names the expected
/// `layout` (e.g. `"(B, Sq, Hq, d)"`) and ends with `hint` (e.g. where other ranks go).
pub(crate) fn rank<const N: usize>(
    func: &str,
    what: &str,
    layout: &str,
    shape: &[usize],
    hint: &str,
) -> Result<[usize; N]> {
    <[usize; N]>::try_from(shape).map_err(|_| {
        invalid(
            func,
            format!("{what} must be {N}-d {layout}, got shape {shape:?}{hint}"),
        )
    })
}

/// Checks that `got == want`; the message ends with `why` (e.g. `" (one per head)"`).
pub(crate) fn expect_shape(
    func: &str,
    what: &str,
    got: &[usize],
    want: &[usize],
    why: &str,
) -> Result<()> {
    if got == want {
        return Ok(());
    }
    Err(invalid(
        func,
        format!("{what} has shape {got:?}, expected {want:?}{why}"),
    ))
}

/// Checks that `t` is on `dev` with shape `want`, then copies it to the host: for the small
/// index and parameter tensors whose values validation must see (sequence lengths, `p`).
pub(crate) fn host_copy<T: Element>(
    func: &str,
    dev: &Device,
    what: &str,
    t: &Tensor<T>,
    want: &[usize],
    why: &str,
) -> Result<Vec<T>> {
    same_device(func, dev, what, t)?;
    expect_shape(func, what, t.shape(), want, why)?;
    Ok(t.to_vec())
}

/// Checks segment offsets (`cu_seqlens`, a CSR `rowptr`, `PyG`'s `ptr`): at least one entry,
/// starting at 0, non-decreasing, ending at `total`; `total_what` says where `total` comes
/// from (`"the packed tensor has 10 tokens"`).
pub(crate) fn offsets<I: Copy + PartialOrd + Display + Default>(
    func: &str,
    what: &str,
    values: &[I],
    total: I,
    total_what: &str,
) -> Result<()> {
    let (Some(&first), Some(&last)) = (values.first(), values.last()) else {
        return Err(invalid(
            func,
            format!("{what} is empty; offsets need at least one entry (0, then one per segment)"),
        ));
    };
    if first != I::default() {
        return Err(invalid(
            func,
            format!("{what} must start at 0, got {first}"),
        ));
    }
    if let Some(i) = values.windows(2).position(|w| w[1] < w[0]) {
        return Err(invalid(
            func,
            format!(
                "{what} decreases at index {}: {what}[{i}] = {} > {what}[{}] = {}; offsets must \
                 be non-decreasing",
                i + 1,
                values[i],
                i + 1,
                values[i + 1]
            ),
        ));
    }
    if last != total {
        return Err(invalid(
            func,
            format!("{what} ends at {last} but {total_what}; the last offset must be {total}"),
        ));
    }
    Ok(())
}

/// The position of the first entry of `values` outside `0..n`, if any.
pub(crate) fn first_out_of_range<I: Copy + Into<i64>>(values: &[I], n: usize) -> Option<usize> {
    values.iter().position(|&v| {
        let v: i64 = v.into();
        v < 0 || v as u64 >= n as u64
    })
}

/// Checks that every index in `values` is in `0..n`, naming the first that is not.
pub(crate) fn indices_in_range<I: Copy + Into<i64> + Display>(
    func: &str,
    what: &str,
    values: &[I],
    n: usize,
) -> Result<()> {
    match first_out_of_range(values, n) {
        None => Ok(()),
        Some(e) => Err(invalid(
            func,
            format!("{what}[{e}] = {} is out of range 0..{n}", values[e]),
        )),
    }
}

/// Checks GQA/MQA head counts (`hk > 0`): `hq` query heads must be a multiple of `hk`.
pub(crate) fn gqa_heads(func: &str, hq: usize, hk: usize) -> Result<()> {
    if hq.is_multiple_of(hk) {
        return Ok(());
    }
    Err(invalid(
        func,
        format!(
            "Hq = {hq} query heads is not a multiple of Hk = {hk} kv heads; GQA needs \
             Hq % Hk == 0 (Hk = Hq for MHA, Hk = 1 for MQA)"
        ),
    ))
}

/// Resolves the score scale of an attention call: `scale` if finite, `1/√d` if `None`.
pub(crate) fn scale(func: &str, scale: Option<f32>, d: usize) -> Result<f32> {
    match scale {
        Some(s) if !s.is_finite() => Err(invalid(func, format!("scale must be finite, got {s}"))),
        Some(s) => Ok(s),
        None => Ok(1.0 / (d as f32).sqrt()),
    }
}

/// Checks an attention softcap: finite and `>= 0`.
pub(crate) fn softcap(func: &str, c: f32) -> Result<()> {
    if c.is_finite() && c >= 0.0 {
        return Ok(());
    }
    Err(invalid(
        func,
        format!("softcap must be finite and >= 0 (0 disables it), got {c}"),
    ))
}

/// Checks `ALiBi` slopes of shape `(heads,)` or `(batch, heads)` on `dev`; returns the stride
/// between sequences (0 for `(heads,)`).
pub(crate) fn alibi_stride(
    func: &str,
    dev: &Device,
    what: &str,
    slopes: &Tensor<f32>,
    batch: usize,
    heads: usize,
) -> Result<usize> {
    same_device(func, dev, what, slopes)?;
    let s = slopes.shape();
    if s == [heads] {
        Ok(0)
    } else if s == [batch, heads] {
        Ok(heads)
    } else {
        Err(invalid(
            func,
            format!(
                "{what} must have shape {} or {} for B = {batch}, Hq = {heads} (one slope per \
                 query head, optionally per sequence), got {s:?}",
                tuple(&[heads]),
                tuple(&[batch, heads])
            ),
        ))
    }
}

/// Test helper: asserts that `r` is an [`Error::Invalid`] whose message contains every one of
/// `needles`.
#[cfg(test)]
#[track_caller]
pub(crate) fn expect_invalid<R: std::fmt::Debug>(r: Result<R>, needles: &[&str]) {
    match r {
        Err(Error::Invalid(msg)) => {
            for n in needles {
                assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
            }
        }
        other => panic!("expected Error::Invalid containing {needles:?}, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<R: std::fmt::Debug>(r: Result<R>) -> String {
        match r {
            Err(Error::Invalid(m)) => m,
            other => panic!("expected Error::Invalid, got {other:?}"),
        }
    }

    #[test]
    fn tuples_read_like_layouts() {
        assert_eq!(tuple(&[]), "()");
        assert_eq!(tuple(&[4]), "(4,)");
        assert_eq!(tuple(&[2, 4, 8]), "(2, 4, 8)");
    }

    #[test]
    fn rank_and_shape() {
        assert_eq!(rank::<2>("f", "x", "(N, d)", &[3, 4], "").unwrap(), [3, 4]);
        let m = msg(rank::<4>("m::f", "q", "(B, S, H, d)", &[3, 4], "; try g"));
        assert_eq!(
            m,
            "m::f: q must be 4-d (B, S, H, d), got shape [3, 4]; try g"
        );
        assert!(expect_shape("f", "p", &[3], &[3], "").is_ok());
        let m = msg(expect_shape("f", "p", &[2], &[3], " (one per feature)"));
        assert_eq!(m, "f: p has shape [2], expected [3] (one per feature)");
    }

    #[test]
    fn devices_and_host_copies() {
        let dev = Device::cpu();
        let other = Device::cpu();
        let t = dev.tensor(&[1i32, 2], [2]).unwrap();
        assert_eq!(host_copy("f", &dev, "t", &t, &[2], "").unwrap(), vec![1, 2]);
        let m = msg(host_copy("f", &other, "t", &t, &[2], ""));
        assert!(m.contains("t belongs to another device"), "{m}");
        let m = msg(host_copy("f", &dev, "t", &t, &[3], ""));
        assert!(m.contains("t has shape [2], expected [3]"), "{m}");
    }

    #[test]
    fn offsets_and_indices() {
        assert!(offsets("f", "cu", &[0i32, 2, 2, 5], 5, "x has 5 rows").is_ok());
        assert!(offsets("f", "cu", &[0usize], 0, "x has 0 rows").is_ok());
        let m = msg(offsets::<i32>("f", "cu", &[], 0, ""));
        assert!(m.contains("cu is empty"), "{m}");
        let m = msg(offsets("f", "cu", &[1i32, 2], 2, ""));
        assert!(m.contains("cu must start at 0, got 1"), "{m}");
        let m = msg(offsets("f", "cu", &[0i32, 7, 5], 5, ""));
        assert!(
            m.contains("cu decreases at index 2: cu[1] = 7 > cu[2] = 5"),
            "{m}"
        );
        let m = msg(offsets("f", "cu", &[0usize, 4], 5, "x has 5 rows"));
        assert!(m.contains("cu ends at 4 but x has 5 rows"), "{m}");
        assert_eq!(first_out_of_range(&[0i32, 3, 4, -1], 4), Some(2));
        assert_eq!(first_out_of_range(&[0i64, 3], 4), None);
        let m = msg(indices_in_range("f", "col", &[0i32, -1], 2));
        assert!(m.contains("col[1] = -1 is out of range 0..2"), "{m}");
    }

    #[test]
    fn attention_options() {
        assert!(gqa_heads("f", 8, 2).is_ok());
        assert!(msg(gqa_heads("f", 4, 3)).contains("Hq % Hk == 0"));
        assert_eq!(scale("f", None, 16).unwrap(), 0.25);
        assert_eq!(scale("f", Some(2.0), 16).unwrap(), 2.0);
        assert!(msg(scale("f", Some(f32::NAN), 16)).contains("scale must be finite"));
        assert!(softcap("f", 0.0).is_ok());
        assert!(msg(softcap("f", -1.0)).contains("0 disables it"));
        assert!(softcap("f", f32::INFINITY).is_err());
        let dev = Device::cpu();
        let s = dev.zeros::<f32>([2, 4]).unwrap();
        assert_eq!(alibi_stride("f", &dev, "a", &s, 2, 4).unwrap(), 4);
        let s1 = dev.zeros::<f32>([4]).unwrap();
        assert_eq!(alibi_stride("f", &dev, "a", &s1, 2, 4).unwrap(), 0);
        let m = msg(alibi_stride("f", &dev, "a", &s, 3, 4));
        assert!(m.contains("a must have shape (4,) or (3, 4)"), "{m}");
    }
}
