//! Linear layouts: maps from hardware indices to tile coordinates that are
//! linear over GF(2), after Triton's `LinearLayout` (`include/triton/Tools/LinearLayout.h`).
//!
//! A layout has named input dimensions (`register`, `lane`, `warp`, or
//! `offset` for shared memory) and named output dimensions (`dim0`,
//! `dim1`, ...), every size a power of two. It is given by one *basis* per
//! input bit: the output coordinates that bit maps to. An input index maps to
//! the XOR of the bases of its set bits:
//!
//! ```text
//! L(lane = 0b101) = L(lane bit 0) ^ L(lane bit 2)
//! ```
//!
//! Every layout the GPU path needs is linear in this sense (blocked layouts,
//! their slices, MMA operand layouts, swizzled shared memory), so one
//! representation serves them all, and conversions between any two come
//! from composing one with the inverse of the other. Coordinates are packed
//! into one `u64` (output dimension `i` in its own bit field), so applying,
//! composing and inverting are bit operations; a layout may have at most 64
//! input bits and 64 output bits.

use std::fmt;

/// One input dimension: its name and the basis of each of its bits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct InDim {
    name: String,
    /// `bases[b]` is the packed output of input bit `b`.
    bases: Vec<u64>,
}

/// One output dimension: its name and size (log2).
#[derive(Clone, Debug, PartialEq, Eq)]
struct OutDim {
    name: String,
    log2: u32,
}

/// A map from input indices to output coordinates, linear over GF(2).
#[derive(Clone, PartialEq, Eq)]
pub struct LinearLayout {
    ins: Vec<InDim>,
    outs: Vec<OutDim>,
}

/// Why a layout operation does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("linear layout: {0}")]
pub struct LayoutError(pub String);

fn log2_exact(n: u64, what: &str) -> Result<u32, LayoutError> {
    if n == 0 || !n.is_power_of_two() {
        return Err(LayoutError(format!(
            "{what} has size {n}, which is not a power of two"
        )));
    }
    Ok(n.trailing_zeros())
}

impl LinearLayout {
    /// A layout from explicit bases: `ins[i] = (name, bases)` where each basis
    /// lists one coordinate per output dimension; `outs[j] = (name, size)`.
    pub fn from_bases(
        ins: &[(&str, Vec<Vec<u64>>)],
        outs: &[(&str, u64)],
    ) -> Result<LinearLayout, LayoutError> {
        let mut layout = LinearLayout {
            ins: Vec::new(),
            outs: Vec::new(),
        };
        let mut total = 0;
        for (name, size) in outs {
            let log2 = log2_exact(*size, &format!("output dimension `{name}`"))?;
            total += log2;
            layout.outs.push(OutDim {
                name: name.to_string(),
                log2,
            });
        }
        if total > 64 {
            return Err(LayoutError(format!("{total} output bits exceed 64")));
        }
        for (name, bases) in ins {
            let mut packed = Vec::with_capacity(bases.len());
            for basis in bases {
                if basis.len() != outs.len() {
                    return Err(LayoutError(format!(
                        "a basis of `{name}` has {} coordinates for {} output dimensions",
                        basis.len(),
                        outs.len()
                    )));
                }
                packed.push(layout.pack(basis)?);
            }
            layout.ins.push(InDim {
                name: name.to_string(),
                bases: packed,
            });
        }
        if layout.total_in_bits() > 64 {
            return Err(LayoutError(format!(
                "{} input bits exceed 64",
                layout.total_in_bits()
            )));
        }
        Ok(layout)
    }

    /// `size` consecutive values of `in_name` map to `0..size` along `out_name`.
    pub fn identity_1d(
        size: u64,
        in_name: &str,
        out_name: &str,
    ) -> Result<LinearLayout, LayoutError> {
        let log2 = log2_exact(size, in_name)?;
        let bases = (0..log2).map(|b| vec![1u64 << b]).collect();
        LinearLayout::from_bases(&[(in_name, bases)], &[(out_name, size)])
    }

    /// `size` values of `in_name` all map to coordinate 0 of `out_name` (broadcast).
    pub fn zeros_1d(size: u64, in_name: &str, out_name: &str) -> Result<LinearLayout, LayoutError> {
        let log2 = log2_exact(size, in_name)?;
        let bases = (0..log2).map(|_| vec![0u64]).collect();
        LinearLayout::from_bases(&[(in_name, bases)], &[(out_name, 1)])
    }

    /// The empty layout: no inputs, no outputs.
    pub fn empty() -> LinearLayout {
        LinearLayout {
            ins: Vec::new(),
            outs: Vec::new(),
        }
    }

    fn out_offset(&self, j: usize) -> u32 {
        self.outs[..j].iter().map(|o| o.log2).sum()
    }

    fn pack(&self, coords: &[u64]) -> Result<u64, LayoutError> {
        let mut packed = 0u64;
        for (j, (&c, out)) in coords.iter().zip(&self.outs).enumerate() {
            if out.log2 < 64 && c >> out.log2 != 0 {
                return Err(LayoutError(format!(
                    "coordinate {c} is outside output dimension `{}` of size {}",
                    out.name,
                    1u64 << out.log2
                )));
            }
            packed |= c << self.out_offset(j);
        }
        Ok(packed)
    }

    fn unpack(&self, packed: u64) -> Vec<u64> {
        (0..self.outs.len())
            .map(|j| (packed >> self.out_offset(j)) & ((1u64 << self.outs[j].log2) - 1))
            .collect()
    }

    /// The input dimension names, in order.
    pub fn in_dims(&self) -> Vec<&str> {
        self.ins.iter().map(|d| d.name.as_str()).collect()
    }

    /// The output dimension names, in order.
    pub fn out_dims(&self) -> Vec<&str> {
        self.outs.iter().map(|d| d.name.as_str()).collect()
    }

    /// The size of an input dimension (1 when absent).
    pub fn in_size(&self, name: &str) -> u64 {
        self.ins
            .iter()
            .find(|d| d.name == name)
            .map_or(1, |d| 1u64 << d.bases.len())
    }

    /// The size of an output dimension (1 when absent).
    pub fn out_size(&self, name: &str) -> u64 {
        self.outs
            .iter()
            .find(|d| d.name == name)
            .map_or(1, |d| 1u64 << d.log2)
    }

    /// Total input bits.
    pub fn total_in_bits(&self) -> u32 {
        self.ins.iter().map(|d| d.bases.len() as u32).sum()
    }

    /// Total output bits.
    pub fn total_out_bits(&self) -> u32 {
        self.outs.iter().map(|d| d.log2).sum()
    }

    /// The basis of bit `bit` of input `name`, as output coordinates.
    pub fn basis(&self, name: &str, bit: usize) -> Option<Vec<u64>> {
        let d = self.ins.iter().find(|d| d.name == name)?;
        d.bases.get(bit).map(|&p| self.unpack(p))
    }

    /// Maps input indices (one per input dimension, in order) to output coordinates.
    pub fn apply(&self, inputs: &[u64]) -> Result<Vec<u64>, LayoutError> {
        if inputs.len() != self.ins.len() {
            return Err(LayoutError(format!(
                "{} inputs given for input dimensions {:?}",
                inputs.len(),
                self.in_dims()
            )));
        }
        let mut acc = 0u64;
        for (&v, d) in inputs.iter().zip(&self.ins) {
            if d.bases.len() < 64 && v >> d.bases.len() != 0 {
                return Err(LayoutError(format!(
                    "input {v} is outside `{}` of size {}",
                    d.name,
                    1u64 << d.bases.len()
                )));
            }
            for (b, &basis) in d.bases.iter().enumerate() {
                if v >> b & 1 == 1 {
                    acc ^= basis;
                }
            }
        }
        Ok(self.unpack(acc))
    }

    /// The product `self * other`: inputs and outputs of the same name
    /// concatenate, `self`'s bits low and `other`'s high (Triton's `operator*`).
    pub fn product(&self, other: &LinearLayout) -> Result<LinearLayout, LayoutError> {
        let mut outs: Vec<(String, u32, u32)> = Vec::new(); // name, self log2, other log2
        for o in &self.outs {
            outs.push((o.name.clone(), o.log2, 0));
        }
        for o in &other.outs {
            match outs.iter_mut().find(|(n, _, _)| *n == o.name) {
                Some(entry) => entry.2 = o.log2,
                None => outs.push((o.name.clone(), 0, o.log2)),
            }
        }
        let out_sizes: Vec<(String, u64)> = outs
            .iter()
            .map(|(n, a, b)| (n.clone(), 1u64 << (a + b)))
            .collect();
        let lift = |layout: &LinearLayout, packed: u64, from_other: bool| -> Vec<u64> {
            let coords = layout.unpack(packed);
            outs.iter()
                .map(|(n, self_log2, _)| {
                    layout
                        .outs
                        .iter()
                        .position(|o| &o.name == n)
                        .map_or(0, |j| {
                            if from_other {
                                coords[j] << self_log2
                            } else {
                                coords[j]
                            }
                        })
                })
                .collect()
        };
        let mut ins: Vec<(String, Vec<Vec<u64>>)> = Vec::new();
        for d in &self.ins {
            ins.push((
                d.name.clone(),
                d.bases.iter().map(|&p| lift(self, p, false)).collect(),
            ));
        }
        for d in &other.ins {
            let lifted: Vec<Vec<u64>> = d.bases.iter().map(|&p| lift(other, p, true)).collect();
            match ins.iter_mut().find(|(n, _)| *n == d.name) {
                Some(entry) => entry.1.extend(lifted),
                None => ins.push((d.name.clone(), lifted)),
            }
        }
        let ins_ref: Vec<(&str, Vec<Vec<u64>>)> =
            ins.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let outs_ref: Vec<(&str, u64)> = out_sizes.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        LinearLayout::from_bases(&ins_ref, &outs_ref)
    }

    /// `outer ∘ self`: `self`'s outputs feed `outer`'s inputs, matched by
    /// name; each must be no larger than the input it feeds.
    pub fn compose(&self, outer: &LinearLayout) -> Result<LinearLayout, LayoutError> {
        for o in self.outs.iter().filter(|o| o.log2 > 0) {
            let fits = outer
                .ins
                .iter()
                .any(|d| d.name == o.name && d.bases.len() as u32 >= o.log2);
            if !fits {
                return Err(LayoutError(format!(
                    "output `{}` of size {} does not fit an input of the outer layout (inputs {:?})",
                    o.name,
                    1u64 << o.log2,
                    outer.in_dims()
                )));
            }
        }
        let outs = outer
            .outs
            .iter()
            .map(|o| (o.name.clone(), 1u64 << o.log2))
            .collect();
        self.map_outs(
            |coords| {
                let outer_in: Vec<u64> = outer
                    .ins
                    .iter()
                    .map(|od| {
                        self.outs
                            .iter()
                            .position(|o| o.name == od.name)
                            .map_or(0, |j| coords[j])
                    })
                    .collect();
                outer.apply(&outer_in).expect("sizes were checked")
            },
            outs,
        )
    }

    /// The input bits as columns of a GF(2) matrix over the packed output bits.
    fn columns(&self) -> Vec<u64> {
        self.ins
            .iter()
            .flat_map(|d| d.bases.iter().copied())
            .collect()
    }

    /// The rank of the map over GF(2).
    pub fn rank(&self) -> u32 {
        let mut rows: Vec<u64> = Vec::new();
        for mut c in self.columns() {
            for &r in &rows {
                c = c.min(c ^ r);
            }
            if c != 0 {
                rows.push(c);
                rows.sort_unstable_by(|a, b| b.cmp(a));
            }
        }
        rows.len() as u32
    }

    /// True when distinct inputs give distinct outputs.
    pub fn is_injective(&self) -> bool {
        self.rank() == self.total_in_bits()
    }

    /// True when every output coordinate is reached.
    pub fn is_surjective(&self) -> bool {
        self.rank() == self.total_out_bits()
    }

    /// A right inverse: maps output coordinates back to one input that
    /// produces them (the one with free input bits zero). Exists when the
    /// layout is surjective; it is the inverse when the layout is also injective.
    pub fn pseudo_inverse(&self) -> Result<LinearLayout, LayoutError> {
        if !self.is_surjective() {
            return Err(LayoutError(format!(
                "the layout reaches only 2^{} of 2^{} output coordinates, so it has no inverse",
                self.rank(),
                self.total_out_bits()
            )));
        }
        // Gaussian elimination: keep (packed output, packed input) pairs in
        // echelon form by leading output bit.
        let mut pivots: Vec<(u64, u64)> = Vec::new();
        for (i, c) in self.columns().into_iter().enumerate() {
            let (mut out, mut inp) = (c, 1u64 << i);
            for &(po, pi) in &pivots {
                if out ^ po < out {
                    out ^= po;
                    inp ^= pi;
                }
            }
            if out != 0 {
                pivots.push((out, inp));
                pivots.sort_unstable_by_key(|p| std::cmp::Reverse(p.0));
            }
        }
        // For each output bit, the input combination producing exactly it.
        let solve = |target: u64| -> u64 {
            let (mut out, mut inp) = (target, 0u64);
            for &(po, pi) in &pivots {
                if out ^ po < out {
                    out ^= po;
                    inp ^= pi;
                }
            }
            debug_assert_eq!(out, 0, "surjective, so every target is reached");
            inp
        };
        let in_split: Vec<(String, u32, u32)> = {
            let mut offset = 0;
            self.ins
                .iter()
                .map(|d| {
                    let entry = (d.name.clone(), offset, d.bases.len() as u32);
                    offset += d.bases.len() as u32;
                    entry
                })
                .collect()
        };
        let mut new_ins: Vec<(String, Vec<Vec<u64>>)> = Vec::new();
        for (j, o) in self.outs.iter().enumerate() {
            let offset = self.out_offset(j);
            let bases = (0..o.log2)
                .map(|b| {
                    let inp = solve(1u64 << (offset + b));
                    in_split
                        .iter()
                        .map(|(_, off, len)| (inp >> off) & ((1u64 << len) - 1))
                        .collect()
                })
                .collect();
            new_ins.push((o.name.clone(), bases));
        }
        let ins: Vec<(&str, Vec<Vec<u64>>)> = new_ins
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        let outs: Vec<(&str, u64)> = in_split
            .iter()
            .map(|(n, _, len)| (n.as_str(), 1u64 << len))
            .collect();
        LinearLayout::from_bases(&ins, &outs)
    }

    /// How to go from `self`'s hardware indices to `target`'s holding the same
    /// coordinate: `target⁻¹ ∘ self` (Triton's `invertAndCompose`), the heart
    /// of a layout conversion.
    pub fn invert_and_compose(&self, target: &LinearLayout) -> Result<LinearLayout, LayoutError> {
        self.compose(&target.pseudo_inverse()?)
    }

    /// Drops output dimension `name` (its coordinate is forgotten): the
    /// layout of a reduction's result along that dimension (a slice layout).
    pub fn remove_out_dim(&self, name: &str) -> Result<LinearLayout, LayoutError> {
        let Some(j) = self.outs.iter().position(|o| o.name == name) else {
            return Err(LayoutError(format!(
                "no output dimension `{name}` in {:?}",
                self.out_dims()
            )));
        };
        let outs = self
            .outs
            .iter()
            .filter(|o| o.name != name)
            .map(|o| (o.name.clone(), 1u64 << o.log2))
            .collect();
        self.map_outs(
            |mut c| {
                c.remove(j);
                c
            },
            outs,
        )
    }

    /// Clamps the layout to `shape` (one size per output dimension, in
    /// order): coordinates beyond a smaller shape are dropped (those inputs
    /// broadcast: they hold the same element), and a larger shape is covered
    /// by repeating the layout over more registers (Triton's
    /// `combineCtaCgaWithShape` for one CTA).
    pub fn fit_to_shape(&self, shape: &[u64]) -> Result<LinearLayout, LayoutError> {
        if shape.len() != self.outs.len() {
            return Err(LayoutError(format!(
                "shape {shape:?} has {} dimensions, the layout has {:?}",
                shape.len(),
                self.out_dims()
            )));
        }
        let mut out_logs = Vec::new();
        for (&s, o) in shape.iter().zip(&self.outs) {
            out_logs.push(log2_exact(s, &o.name)?);
        }
        // Mask each coordinate to the shape (bases beyond it become broadcasts).
        let clamp = |coords: Vec<u64>| -> Vec<u64> {
            coords
                .iter()
                .zip(&out_logs)
                .map(|(&c, &l)| c & ((1u64 << l) - 1))
                .collect()
        };
        let mut ins: Vec<(String, Vec<Vec<u64>>)> = self
            .ins
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.bases.iter().map(|&p| clamp(self.unpack(p))).collect(),
                )
            })
            .collect();
        // Repeat over registers where the layout covers less than the shape.
        for (j, (o, &want)) in self.outs.iter().zip(&out_logs).enumerate() {
            for b in o.log2..want {
                let mut basis = vec![0u64; self.outs.len()];
                basis[j] = 1u64 << b;
                match ins.iter_mut().find(|(n, _)| n == "register") {
                    Some(entry) => entry.1.push(basis),
                    None => ins.insert(0, ("register".to_string(), vec![basis])),
                }
            }
        }
        let ins_ref: Vec<(&str, Vec<Vec<u64>>)> =
            ins.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let outs: Vec<(&str, u64)> = self
            .outs
            .iter()
            .zip(shape)
            .map(|(o, &s)| (o.name.as_str(), s))
            .collect();
        LinearLayout::from_bases(&ins_ref, &outs)
    }
}

impl LinearLayout {
    /// The same layout with its output dimensions in the order `names`
    /// (which must list each exactly once).
    pub fn reorder_outs(&self, names: &[&str]) -> Result<LinearLayout, LayoutError> {
        let mut perm = Vec::new();
        for n in names {
            match self.outs.iter().position(|o| o.name == *n) {
                Some(j) if !perm.contains(&j) => perm.push(j),
                _ => {
                    return Err(LayoutError(format!(
                        "{names:?} is not an order of {:?}",
                        self.out_dims()
                    )));
                }
            }
        }
        if perm.len() != self.outs.len() {
            return Err(LayoutError(format!(
                "{names:?} is not an order of {:?}",
                self.out_dims()
            )));
        }
        self.map_outs(
            |coords| perm.iter().map(|&j| coords[j]).collect(),
            perm.iter()
                .map(|&j| (self.outs[j].name.clone(), 1u64 << self.outs[j].log2))
                .collect(),
        )
    }

    /// The same layout with its output dimensions renamed, in order.
    pub fn rename_outs(&self, names: &[&str]) -> Result<LinearLayout, LayoutError> {
        if names.len() != self.outs.len() {
            return Err(LayoutError(format!(
                "{} names for output dimensions {:?}",
                names.len(),
                self.out_dims()
            )));
        }
        self.map_outs(
            |c| c,
            self.outs
                .iter()
                .zip(names)
                .map(|(o, n)| (n.to_string(), 1u64 << o.log2))
                .collect(),
        )
    }

    fn map_outs(
        &self,
        f: impl Fn(Vec<u64>) -> Vec<u64>,
        outs: Vec<(String, u64)>,
    ) -> Result<LinearLayout, LayoutError> {
        let ins: Vec<(&str, Vec<Vec<u64>>)> = self
            .ins
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.bases.iter().map(|&p| f(self.unpack(p))).collect(),
                )
            })
            .collect();
        let outs_ref: Vec<(&str, u64)> = outs.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        LinearLayout::from_bases(&ins, &outs_ref)
    }
}

impl fmt::Debug for LinearLayout {
    /// `register: [[0, 1], [0, 2]], lane: [...] -> dim0: 16, dim1: 16`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.ins.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let bases: Vec<Vec<u64>> = d.bases.iter().map(|&p| self.unpack(p)).collect();
            write!(f, "{}: {:?}", d.name, bases)?;
        }
        f.write_str(" -> ")?;
        for (j, o) in self.outs.iter().enumerate() {
            if j > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", o.name, 1u64 << o.log2)?;
        }
        Ok(())
    }
}
