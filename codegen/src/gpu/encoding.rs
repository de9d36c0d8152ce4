//! Layout *encodings*: the compact, printable names of the distributions a
//! tile can have on a GPU (after Triton's `#blocked` and `#slice`). An
//! encoding says how registers, lanes and warps tile a tile *of any shape*;
//! [`Encoding::to_linear`] turns it into the [`LinearLayout`] for one shape,
//! which is what the lowering and the conversion checks work with.
//!
//! Text form (the `layout` attribute of ops in the GPU dialect):
//!
//! ```text
//! blocked<spt=[1, 1], tpw=[4, 8], wpc=[4, 1], order=[1, 0]>
//! slice<dim=1, blocked<spt=[1, 1], tpw=[4, 8], wpc=[4, 1], order=[1, 0]>>
//! ```
//!
//! `spt` is `size_per_thread`, `tpw` `threads_per_warp` (product 32), `wpc`
//! `warps_per_cta` (product `num_warps`), `order[0]` the fastest dimension.
//! `slice<dim, parent>` is the layout of `parent` with `dim` removed: the
//! layout of a reduction's result along `dim`, and the operand layout that
//! makes `expand_dims(dim)` into `parent` free.
//!
//! Tensor-core layouts (chosen by [`accelerate_dot`](super::accelerate_dot)):
//!
//! ```text
//! mma<wpc=[4, 1]>                        the accumulator of mma.sync m16n8kK
//! dot_op<idx=0, kw=2, mma<wpc=[4, 1]>>   its A operand (idx 1: B), kw elements per 32-bit register
//! ```
//!
//! `mma` is the m16n8 accumulator fragment of PTX's `mma.sync` (thread
//! `lane` holds rows `lane/4` and `lane/4 + 8`, columns `2 (lane % 4) + {0, 1}`),
//! the warps tiling `wpc` such fragments, repeated over registers along
//! the columns first, then the rows. `dot_op` is the matching A (`m16 x k`)
//! or B (`k x n8`) operand fragment; with `kw = 2` (16-bit inputs) the A
//! operand of a tile is the *same* linear layout as the accumulator of one
//! of the same shape, which is why `FlashAttention`'s `P` goes from the first
//! dot into the second without moving.

use std::fmt;

use crate::layout::{LayoutError, LinearLayout, blocked, slice};

/// Triton's blocked encoding: each thread holds `spt` contiguous elements, a
/// warp's lanes tile `tpw`, the warps tile `wpc`; the footprint repeats over
/// registers to cover larger tiles and broadcasts over smaller ones.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blocked {
    /// Elements per thread along each dimension.
    pub spt: Vec<u64>,
    /// Lanes along each dimension (product 32).
    pub tpw: Vec<u64>,
    /// Warps along each dimension (product `num_warps`).
    pub wpc: Vec<u64>,
    /// Dimensions from fastest to slowest.
    pub order: Vec<usize>,
}

/// A distribution of tiles over a CTA's registers, lanes and warps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// A blocked distribution.
    Blocked(Blocked),
    /// `parent` with dimension `dim` removed.
    Slice {
        /// The removed dimension of the parent.
        dim: usize,
        /// The parent encoding (one rank more).
        parent: Box<Encoding>,
    },
    /// The accumulator of `mma.sync` m16n8 (2-d).
    Mma(Mma),
    /// An operand of the `mma.sync` whose accumulator is `parent` (2-d).
    DotOp {
        /// 0 for A (`m x k`), 1 for B (`k x n`).
        idx: u8,
        /// Elements per 32-bit register along `k`: 2 for f16/bf16, 1 for tf32.
        k_width: u64,
        /// The accumulator's encoding.
        parent: Mma,
    },
}

/// The warps of an `mma.sync` (version 2: m16n8kK on `sm_75` and newer)
/// accumulator: `wpc[0]` along the rows, `wpc[1]` along the columns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mma {
    /// Warps along rows and columns (product `num_warps`).
    pub wpc: [u64; 2],
}

/// Rows and columns of one `mma.sync` accumulator fragment.
pub const MMA_M: u64 = 16;
/// Columns of one `mma.sync` accumulator fragment.
pub const MMA_N: u64 = 8;

impl Encoding {
    /// The default encoding of rank-`rank` tiles on `num_warps` warps: one
    /// element per thread, the lanes of a warp spread 8 wide along the
    /// fastest (last) dimension and 4 along the next, the warps along the
    /// first. It does not depend on the tile's size, so tiles of one rank
    /// that meet in an op share it, and the row slices of every 2-d tile
    /// agree, whatever its column count.
    pub fn default_for(rank: usize, num_warps: u32) -> Encoding {
        let nw = u64::from(num_warps);
        let (tpw, wpc) = match rank {
            0 | 1 => (vec![32], vec![nw]),
            r => {
                let mut tpw = vec![1; r];
                tpw[r - 1] = 8;
                tpw[r - 2] = 4;
                let mut wpc = vec![1; r];
                wpc[0] = nw;
                (tpw, wpc)
            }
        };
        let rank = rank.max(1);
        Encoding::Blocked(Blocked {
            spt: vec![1; rank],
            tpw,
            wpc,
            order: (0..rank).rev().collect(),
        })
    }

    /// `self` with dimension `dim` removed.
    pub fn sliced(&self, dim: usize) -> Encoding {
        Encoding::Slice {
            dim,
            parent: Box::new(self.clone()),
        }
    }

    /// The rank of the tiles this encoding distributes.
    pub fn rank(&self) -> usize {
        match self {
            Encoding::Blocked(b) => b.spt.len(),
            Encoding::Slice { parent, .. } => parent.rank() - 1,
            Encoding::Mma(_) | Encoding::DotOp { .. } => 2,
        }
    }

    /// The linear layout (`register`, `lane`, `warp` → `dim0..`) of a tile of `shape`.
    pub fn to_linear(&self, shape: &[u64]) -> Result<LinearLayout, LayoutError> {
        if shape.len() != self.rank() {
            return Err(LayoutError(format!(
                "the encoding {self} is for rank-{} tiles, the tile has shape {shape:?}",
                self.rank()
            )));
        }
        match self {
            Encoding::Blocked(b) => blocked(shape, &b.spt, &b.tpw, &b.wpc, &b.order),
            Encoding::Slice { dim, parent } => {
                if *dim > shape.len() {
                    return Err(LayoutError(format!(
                        "slice dimension {dim} is out of range for {self}"
                    )));
                }
                let mut pshape = shape.to_vec();
                pshape.insert(*dim, 1);
                slice(&parent.to_linear(&pshape)?, *dim)
            }
            Encoding::Mma(m) => mma_layout(shape, m),
            Encoding::DotOp {
                idx,
                k_width,
                parent,
            } => dot_op_layout(shape, *idx, *k_width, parent),
        }
    }

    /// Checks the encoding's invariants for `num_warps` warps.
    pub fn check(&self, num_warps: u32) -> Result<(), LayoutError> {
        match self {
            Encoding::Blocked(b) => {
                let r = b.spt.len();
                if b.tpw.len() != r || b.wpc.len() != r || b.order.len() != r || r == 0 {
                    return Err(LayoutError(format!("{self}: the lists differ in length")));
                }
                if b.tpw.iter().product::<u64>() != 32 {
                    return Err(LayoutError(format!(
                        "{self}: threads per warp must multiply to 32"
                    )));
                }
                if b.wpc.iter().product::<u64>() != u64::from(num_warps) {
                    return Err(LayoutError(format!(
                        "{self}: warps per CTA must multiply to num_warps = {num_warps}"
                    )));
                }
                let mut seen = vec![false; r];
                for &d in &b.order {
                    if d >= r || std::mem::replace(&mut seen[d], true) {
                        return Err(LayoutError(format!("{self}: order is not a permutation")));
                    }
                }
                for v in b.spt.iter().chain(&b.tpw).chain(&b.wpc) {
                    if !v.is_power_of_two() {
                        return Err(LayoutError(format!("{self}: {v} is not a power of two")));
                    }
                }
                Ok(())
            }
            Encoding::Slice { dim, parent } => {
                if *dim >= parent.rank() || parent.rank() < 2 {
                    return Err(LayoutError(format!(
                        "{self}: cannot remove dimension {dim} of a rank-{} parent",
                        parent.rank()
                    )));
                }
                parent.check(num_warps)
            }
            Encoding::Mma(m) => m.check(num_warps, self),
            Encoding::DotOp {
                idx,
                k_width,
                parent,
            } => {
                if *idx > 1 || !matches!(k_width, 1 | 2) {
                    return Err(LayoutError(format!(
                        "{self}: idx must be 0 or 1 and kw 1 or 2"
                    )));
                }
                parent.check(num_warps, self)
            }
        }
    }

    /// Parses the text form (see the module doc).
    pub fn parse(text: &str) -> Result<Encoding, LayoutError> {
        let mut p = Parser { s: text, pos: 0 };
        let e = p.encoding()?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(p.err("trailing text"));
        }
        Ok(e)
    }
}

fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &[T]) -> fmt::Result {
    f.write_str("[")?;
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    f.write_str("]")
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encoding::Blocked(b) => {
                f.write_str("blocked<spt=")?;
                list(f, &b.spt)?;
                f.write_str(", tpw=")?;
                list(f, &b.tpw)?;
                f.write_str(", wpc=")?;
                list(f, &b.wpc)?;
                f.write_str(", order=")?;
                list(f, &b.order)?;
                f.write_str(">")
            }
            Encoding::Slice { dim, parent } => write!(f, "slice<dim={dim}, {parent}>"),
            Encoding::Mma(m) => write!(f, "{m}"),
            Encoding::DotOp {
                idx,
                k_width,
                parent,
            } => write!(f, "dot_op<idx={idx}, kw={k_width}, {parent}>"),
        }
    }
}

impl fmt::Display for Mma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mma<wpc=")?;
        list(f, &self.wpc)?;
        f.write_str(">")
    }
}

impl Mma {
    fn check(&self, num_warps: u32, whole: &Encoding) -> Result<(), LayoutError> {
        if self.wpc.iter().product::<u64>() != u64::from(num_warps)
            || !self.wpc.iter().all(|w| w.is_power_of_two())
        {
            return Err(LayoutError(format!(
                "{whole}: warps per CTA must be powers of two multiplying to num_warps = {num_warps}"
            )));
        }
        Ok(())
    }
}

/// A 2-d layout from per-input bases, in the order given; coordinates at
/// or beyond `shape` are dropped (those inputs hold copies), and where the
/// bases cover less than `shape` the remainder repeats over registers
/// along dimension `repeat_first` first.
fn layout_2d(
    shape: &[u64],
    regs: Vec<[u64; 2]>,
    lanes: Vec<[u64; 2]>,
    warps: Vec<[u64; 2]>,
    repeat_first: usize,
) -> Result<LinearLayout, LayoutError> {
    if shape.len() != 2 || !shape.iter().all(|s| s.is_power_of_two()) {
        return Err(LayoutError(format!(
            "tensor-core layouts are for 2-d tiles of powers of two, got {shape:?}"
        )));
    }
    let covered = |bases: &[&Vec<[u64; 2]>], d: usize| -> u64 {
        bases
            .iter()
            .flat_map(|v| v.iter())
            .map(|b| b[d])
            .fold(0, |a, b| a | b)
            + 1
    };
    let mut regs = regs;
    for d in [repeat_first, 1 - repeat_first] {
        let mut c = covered(&[&regs, &lanes, &warps], d).next_power_of_two();
        while c < shape[d] {
            let mut b = [0u64; 2];
            b[d] = c;
            regs.push(b);
            c *= 2;
        }
    }
    let clamp = |v: Vec<[u64; 2]>| -> Vec<Vec<u64>> {
        v.into_iter()
            .map(|b| {
                (0..2)
                    .map(|d| if b[d] < shape[d] { b[d] } else { 0 })
                    .collect()
            })
            .collect()
    };
    LinearLayout::from_bases(
        &[
            ("register", clamp(regs)),
            ("lane", clamp(lanes)),
            ("warp", clamp(warps)),
        ],
        &[("dim0", shape[0]), ("dim1", shape[1])],
    )
}

fn warp_bases(wpc: [u64; 2], rows: bool, cols: bool) -> Vec<[u64; 2]> {
    let mut w = Vec::new();
    for i in 0..wpc[0].trailing_zeros() {
        w.push(if rows { [MMA_M << i, 0] } else { [0, 0] });
    }
    for j in 0..wpc[1].trailing_zeros() {
        w.push(if cols { [0, MMA_N << j] } else { [0, 0] });
    }
    w
}

/// The accumulator layout (see the module doc).
fn mma_layout(shape: &[u64], m: &Mma) -> Result<LinearLayout, LayoutError> {
    layout_2d(
        shape,
        vec![[0, 1], [8, 0]],
        vec![[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]],
        warp_bases(m.wpc, true, true),
        1,
    )
}

/// The operand layouts (see the module doc): per register `kw` elements
/// along `k`, the lanes' `k` in steps of `kw`, one more register bit for
/// the second half of the instruction's `k` (and for A the rows `+8`); the
/// warps of the other operand's dimension hold copies.
fn dot_op_layout(shape: &[u64], idx: u8, kw: u64, m: &Mma) -> Result<LinearLayout, LayoutError> {
    let k_bits: Vec<u64> = (0..kw.trailing_zeros()).map(|b| 1 << b).collect();
    if idx == 0 {
        let mut regs: Vec<[u64; 2]> = k_bits.iter().map(|&k| [0, k]).collect();
        regs.push([8, 0]);
        regs.push([0, 4 * kw]);
        layout_2d(
            shape,
            regs,
            vec![[0, kw], [0, 2 * kw], [1, 0], [2, 0], [4, 0]],
            warp_bases(m.wpc, true, false),
            1,
        )
    } else {
        let mut regs: Vec<[u64; 2]> = k_bits.iter().map(|&k| [k, 0]).collect();
        regs.push([4 * kw, 0]);
        layout_2d(
            shape,
            regs,
            vec![[kw, 0], [2 * kw, 0], [0, 1], [0, 2], [0, 4]],
            warp_bases(m.wpc, false, true),
            0,
        )
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> LayoutError {
        LayoutError(format!(
            "cannot read the layout `{}`: {what} at column {}",
            self.s,
            self.pos + 1
        ))
    }

    fn ws(&mut self) {
        while self.s[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> Result<(), LayoutError> {
        self.ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected `{tok}`")))
        }
    }

    fn number(&mut self) -> Result<u64, LayoutError> {
        self.ws();
        let start = self.pos;
        while self.s[self.pos..].starts_with(|c: char| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.s[start..self.pos]
            .parse()
            .map_err(|_| self.err("expected a number"))
    }

    fn numbers(&mut self, key: &str) -> Result<Vec<u64>, LayoutError> {
        self.eat(key)?;
        self.eat("=")?;
        self.eat("[")?;
        let mut v = Vec::new();
        loop {
            self.ws();
            if self.s[self.pos..].starts_with(']') {
                self.pos += 1;
                return Ok(v);
            }
            if !v.is_empty() {
                self.eat(",")?;
            }
            v.push(self.number()?);
        }
    }

    fn encoding(&mut self) -> Result<Encoding, LayoutError> {
        self.ws();
        if self.s[self.pos..].starts_with("blocked<") {
            self.pos += "blocked<".len();
            let spt = self.numbers("spt")?;
            self.eat(",")?;
            let tpw = self.numbers("tpw")?;
            self.eat(",")?;
            let wpc = self.numbers("wpc")?;
            self.eat(",")?;
            let order = self.numbers("order")?;
            self.eat(">")?;
            Ok(Encoding::Blocked(Blocked {
                spt,
                tpw,
                wpc,
                order: order.into_iter().map(|d| d as usize).collect(),
            }))
        } else if self.s[self.pos..].starts_with("slice<") {
            self.pos += "slice<".len();
            self.eat("dim")?;
            self.eat("=")?;
            let dim = self.number()? as usize;
            self.eat(",")?;
            let parent = self.encoding()?;
            self.eat(">")?;
            Ok(Encoding::Slice {
                dim,
                parent: Box::new(parent),
            })
        } else if self.s[self.pos..].starts_with("mma<") {
            Ok(Encoding::Mma(self.mma()?))
        } else if self.s[self.pos..].starts_with("dot_op<") {
            self.pos += "dot_op<".len();
            self.eat("idx")?;
            self.eat("=")?;
            let idx = self.number()?;
            self.eat(",")?;
            self.eat("kw")?;
            self.eat("=")?;
            let k_width = self.number()?;
            self.eat(",")?;
            let parent = self.mma()?;
            self.eat(">")?;
            Ok(Encoding::DotOp {
                idx: u8::try_from(idx).map_err(|_| self.err("idx is 0 or 1"))?,
                k_width,
                parent,
            })
        } else {
            Err(self.err("expected `blocked<`, `slice<`, `mma<` or `dot_op<`"))
        }
    }

    fn mma(&mut self) -> Result<Mma, LayoutError> {
        self.eat("mma<")?;
        let w = self.numbers("wpc")?;
        self.eat(">")?;
        match w[..] {
            [a, b] => Ok(Mma { wpc: [a, b] }),
            _ => Err(self.err("mma has two warp counts")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for e in [
            Encoding::default_for(1, 4),
            Encoding::default_for(2, 8),
            Encoding::default_for(3, 4).sliced(1).sliced(0),
        ] {
            let t = e.to_string();
            assert_eq!(Encoding::parse(&t).unwrap(), e, "{t}");
        }
        assert_eq!(
            Encoding::default_for(2, 4).sliced(1).to_string(),
            "slice<dim=1, blocked<spt=[1, 1], tpw=[4, 8], wpc=[4, 1], order=[1, 0]>>"
        );
    }

    #[test]
    fn bad_text_is_an_error_naming_the_column() {
        let e = Encoding::parse("blocked<spt=[1], tpw=[32] wpc=[4], order=[0]>").unwrap_err();
        assert!(
            e.0.contains("expected `,`") && e.0.contains("column"),
            "{e}"
        );
        assert!(Encoding::parse("mma<>").is_err());
        assert!(Encoding::parse("mma<wpc=[4]>").is_err());
        assert!(
            Encoding::parse("slice<dim=1, blocked<spt=[1], tpw=[32], wpc=[4], order=[0]>> x")
                .is_err()
        );
    }

    #[test]
    fn defaults_are_valid_and_slices_agree_across_column_counts() {
        for nw in [1, 2, 4, 8] {
            for r in 1..4 {
                Encoding::default_for(r, nw).check(nw).unwrap();
            }
        }
        let e = Encoding::default_for(2, 4);
        let rows = e.sliced(1);
        // The row slice of a 128x64 and of a 128x16 tile are the same layout.
        let a = rows.to_linear(&[128]).unwrap();
        let b = crate::layout::slice(&e.to_linear(&[128, 16]).unwrap(), 1).unwrap();
        assert_eq!(a.in_size("register"), 8);
        assert_eq!(
            a.apply(&[3, 5, 2]).unwrap(),
            b.apply(&[3, 5, 2]).unwrap(),
            "register 3, lane 5, warp 2"
        );
        assert!(e.sliced(2).check(4).is_err());
        let bad = Encoding::Blocked(Blocked {
            spt: vec![1],
            tpw: vec![16],
            wpc: vec![4],
            order: vec![0],
        });
        assert!(bad.check(4).unwrap_err().0.contains("32"));
    }

    fn at(l: &LinearLayout, reg: u64, lane: u64, warp: u64) -> (u64, u64) {
        let c = l.apply(&[reg, lane, warp]).unwrap();
        (c[0], c[1])
    }

    #[test]
    fn tensor_core_layouts_match_the_ptx_fragments() {
        let m = Mma { wpc: [1, 1] };
        let acc = Encoding::Mma(m.clone()).to_linear(&[16, 8]).unwrap();
        let a16 = Encoding::DotOp {
            idx: 0,
            k_width: 2,
            parent: m.clone(),
        }
        .to_linear(&[16, 16])
        .unwrap();
        let b16 = Encoding::DotOp {
            idx: 1,
            k_width: 2,
            parent: m.clone(),
        }
        .to_linear(&[16, 8])
        .unwrap();
        let a32 = Encoding::DotOp {
            idx: 0,
            k_width: 1,
            parent: m.clone(),
        }
        .to_linear(&[16, 8])
        .unwrap();
        let b32 = Encoding::DotOp {
            idx: 1,
            k_width: 1,
            parent: m,
        }
        .to_linear(&[8, 8])
        .unwrap();
        for lane in 0..32 {
            let (g, t) = (lane / 4, lane % 4);
            for r in 0..4 {
                // mma.sync m16n8: c0..c3.
                assert_eq!(at(&acc, r, lane, 0), (g + 8 * (r / 2), 2 * t + r % 2));
                // f16 B (k16 x n8): b0..b3 as halves.
                assert_eq!(at(&b16, r, lane, 0), (2 * t + (r & 1) + 8 * (r >> 1), g));
                // tf32 A (m16 x k8): a0..a3.
                assert_eq!(at(&a32, r, lane, 0), (g + 8 * (r & 1), t + 4 * (r >> 1)));
            }
            for r in 0..8 {
                // f16 A (m16 x k16): a0..a7 as halves.
                assert_eq!(
                    at(&a16, r, lane, 0),
                    (g + 8 * ((r >> 1) & 1), 2 * t + (r & 1) + 8 * (r >> 2))
                );
            }
            for r in 0..2 {
                assert_eq!(at(&b32, r, lane, 0), (t + 4 * r, g));
            }
        }
    }

    #[test]
    fn the_accumulator_is_the_a_operand_of_the_next_dot() {
        let m = Mma { wpc: [4, 1] };
        for shape in [[64, 32], [128, 64], [128, 128], [16, 16]] {
            let acc = Encoding::Mma(m.clone()).to_linear(&shape).unwrap();
            let a = Encoding::DotOp {
                idx: 0,
                k_width: 2,
                parent: m.clone(),
            }
            .to_linear(&shape)
            .unwrap();
            assert_eq!(acc, a, "{shape:?}");
        }
        // Warps along the columns break it: B's warps split n, A's copy it.
        let m2 = Mma { wpc: [2, 2] };
        let acc = Encoding::Mma(m2.clone()).to_linear(&[64, 64]).unwrap();
        let a = Encoding::DotOp {
            idx: 0,
            k_width: 2,
            parent: m2,
        }
        .to_linear(&[64, 64])
        .unwrap();
        assert_ne!(acc, a);
    }

    #[test]
    fn tensor_core_layouts_cover_their_tiles_and_print() {
        for (enc, shape, regs) in [
            (Encoding::Mma(Mma { wpc: [4, 1] }), [128, 64], 64),
            (Encoding::Mma(Mma { wpc: [2, 2] }), [64, 64], 32),
            (
                Encoding::DotOp {
                    idx: 1,
                    k_width: 2,
                    parent: Mma { wpc: [4, 1] },
                },
                [64, 128],
                256,
            ),
        ] {
            enc.check(4).unwrap();
            let l = enc.to_linear(&shape).unwrap();
            assert_eq!(l.in_size("register"), regs, "{enc}");
            assert!(l.is_surjective(), "{enc} covers {shape:?}");
            assert_eq!(Encoding::parse(&enc.to_string()).unwrap(), enc);
        }
        // A tile smaller than the warps' footprint: copies, still covered.
        let l = Encoding::Mma(Mma { wpc: [4, 1] })
            .to_linear(&[16, 8])
            .unwrap();
        assert!(l.is_surjective() && !l.is_injective());
        assert!(Encoding::Mma(Mma { wpc: [2, 1] }).check(4).is_err());
        assert_eq!(
            Encoding::DotOp {
                idx: 0,
                k_width: 2,
                parent: Mma { wpc: [4, 1] }
            }
            .to_string(),
            "dot_op<idx=0, kw=2, mma<wpc=[4, 1]>>"
        );
    }
}
