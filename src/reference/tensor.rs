//! A minimal dense float64 tensor for the references: a shape and a row-major `Vec<f64>`.
//!
//! The reference functions need nothing more than shaped storage and multi-index access;
//! keeping this tiny keeps the references obviously correct and free of dependencies.
//! Multi-index access through `t[&[i, j, k]]` panics on an out-of-range index, like slice
//! indexing; the reference functions validate shapes before they index, so user input
//! never reaches such a panic.

use std::ops::{Index, IndexMut};

use super::{RefError, RefResult};

/// A dense, row-major float64 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Tensor {
    /// A tensor of the given shape holding `data` in row-major order.
    ///
    /// Fails if `data.len()` is not the product of `shape`.
    pub fn new(shape: &[usize], data: Vec<f64>) -> RefResult<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(RefError::new(
                "Tensor::new",
                format!(
                    "shape {shape:?} holds {n} values but {} were given",
                    data.len()
                ),
            ));
        }
        Ok(Self {
            shape: shape.to_vec(),
            data,
        })
    }

    /// A tensor of the given shape filled with zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// A tensor of the given shape filled with `value`.
    pub fn full(shape: &[usize], value: f64) -> Self {
        Self {
            shape: shape.to_vec(),
            data: vec![value; shape.iter().product()],
        }
    }

    /// A tensor whose entry at each multi-index `idx` is `f(idx)`, visited in row-major order.
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> f64) -> Self {
        let n: usize = shape.iter().product();
        let mut data = Vec::with_capacity(n);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..n {
            data.push(f(&idx));
            for ax in (0..shape.len()).rev() {
                idx[ax] += 1;
                if idx[ax] < shape[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
        Self {
            shape: shape.to_vec(),
            data,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no entries.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The entries in row-major order.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The entries in row-major order, mutable.
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The entries in row-major order, by value.
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    /// Row-major strides, in entries.
    pub fn strides(&self) -> Vec<usize> {
        let mut s = vec![1usize; self.shape.len()];
        for ax in (0..self.shape.len().saturating_sub(1)).rev() {
            s[ax] = s[ax + 1] * self.shape[ax + 1];
        }
        s
    }

    /// The flat offset of a multi-index, or `None` if it has the wrong rank or is out of range.
    pub fn offset(&self, idx: &[usize]) -> Option<usize> {
        if idx.len() != self.shape.len() {
            return None;
        }
        let mut off = 0usize;
        for (&i, &n) in idx.iter().zip(&self.shape) {
            if i >= n {
                return None;
            }
            off = off * n + i;
        }
        Some(off)
    }

    /// The entry at a multi-index, or `None` if the index is invalid.
    pub fn get(&self, idx: &[usize]) -> Option<f64> {
        self.offset(idx).map(|o| self.data[o])
    }

    /// The same entries under another shape with the same number of entries.
    pub fn reshape(self, shape: &[usize]) -> RefResult<Self> {
        Self::new(shape, self.data).map_err(|e| RefError::new("Tensor::reshape", e.msg))
    }

    /// Largest absolute difference between two tensors of the same shape, or `None` if the
    /// shapes differ. Equal infinities count as no difference; a NaN on either side counts
    /// as an infinite difference.
    pub fn max_abs_diff(&self, other: &Tensor) -> Option<f64> {
        if self.shape != other.shape {
            return None;
        }
        Some(
            self.data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| {
                    if a == b {
                        0.0
                    } else if a.is_nan() || b.is_nan() {
                        f64::INFINITY
                    } else {
                        (a - b).abs()
                    }
                })
                .fold(0.0, f64::max),
        )
    }
}

impl Index<&[usize]> for Tensor {
    type Output = f64;

    fn index(&self, idx: &[usize]) -> &f64 {
        match self.offset(idx) {
            Some(o) => &self.data[o],
            None => panic!("index {idx:?} out of range for shape {:?}", self.shape),
        }
    }
}

impl IndexMut<&[usize]> for Tensor {
    fn index_mut(&mut self, idx: &[usize]) -> &mut f64 {
        match self.offset(idx) {
            Some(o) => &mut self.data[o],
            None => panic!("index {idx:?} out of range for shape {:?}", self.shape),
        }
    }
}

/// Checks that `t` has `ndim` axes and returns its shape; `what` names the argument.
pub(crate) fn expect_ndim<'a>(
    func: &'static str,
    what: &str,
    t: &'a Tensor,
    ndim: usize,
) -> RefResult<&'a [usize]> {
    if t.ndim() != ndim {
        return Err(RefError::new(
            func,
            format!("{what} must have {ndim} axes, got shape {:?}", t.shape()),
        ));
    }
    Ok(t.shape())
}

/// Checks that `t` has exactly the shape `shape`; `what` names the argument.
pub(crate) fn expect_shape(
    func: &'static str,
    what: &str,
    t: &Tensor,
    shape: &[usize],
) -> RefResult<()> {
    if t.shape() != shape {
        return Err(RefError::new(
            func,
            format!("{what} must have shape {shape:?}, got {:?}", t.shape()),
        ));
    }
    Ok(())
}

/// Checks that every entry of `t` is finite; `what` names the argument.
pub(crate) fn expect_finite(func: &'static str, what: &str, data: &[f64]) -> RefResult<()> {
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(RefError::new(
            func,
            format!(
                "{what} has a non-finite entry {} at flat index {i}",
                data[i]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_indexing_and_from_fn() {
        let t = Tensor::from_fn(&[2, 3, 4], |i| (i[0] * 100 + i[1] * 10 + i[2]) as f64);
        assert_eq!(t.strides(), vec![12, 4, 1]);
        assert_eq!(t[&[1, 2, 3][..]], 123.0);
        assert_eq!(t.data()[12 + 8 + 3], 123.0);
        assert_eq!(t.get(&[1, 3, 0]), None);
        assert_eq!(t.get(&[1, 2]), None);
        let r = t.clone().reshape(&[6, 4]).unwrap();
        assert_eq!(r[&[5, 3][..]], 123.0);
        assert!(t.reshape(&[5, 5]).is_err());
    }

    #[test]
    fn new_checks_length_and_diff_handles_infinities() {
        assert!(Tensor::new(&[2, 2], vec![0.0; 3]).is_err());
        let a = Tensor::new(&[3], vec![f64::NEG_INFINITY, 1.0, 2.0]).unwrap();
        let b = Tensor::new(&[3], vec![f64::NEG_INFINITY, 1.5, 2.0]).unwrap();
        assert_eq!(a.max_abs_diff(&b), Some(0.5));
        let c = Tensor::new(&[3], vec![f64::NAN, 1.0, 2.0]).unwrap();
        assert_eq!(a.max_abs_diff(&c), Some(f64::INFINITY));
        assert_eq!(a.max_abs_diff(&Tensor::zeros(&[4])), None);
        let s = Tensor::new(&[], vec![7.0]).unwrap();
        assert_eq!(s[&[][..]], 7.0);
    }
}
