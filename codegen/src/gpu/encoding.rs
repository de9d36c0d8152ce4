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
}

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
        }
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
        } else {
            Err(self.err("expected `blocked<` or `slice<`"))
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
}
