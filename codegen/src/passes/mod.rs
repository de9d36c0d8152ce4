//! Passes over tile IR, one per file.
//!
//! [`specialize`] binds a kernel's compile-time parameters first. The
//! tile-level pipeline (see [`pipeline`]) then runs: [`inline`] (device
//! functions into kernels), [`canonicalize`] (constant folding, algebraic
//! simplification, folding of constant control flow), [`cse`] (merging
//! identical pure ops) and [`dce`] (removing dead code). Every pass reports
//! failures naming the pass, the op's source location and what is wrong;
//! every pass has golden `input -> expected` tests under
//! `codegen/tests/golden/passes/<pass>/` (specialize's are in its file).

pub mod canonicalize;
pub mod cse;
pub mod dce;
pub mod inline;
pub mod pipeline;
pub mod specialize;

pub use specialize::{SpecializeError, specialize};

#[cfg(test)]
pub(crate) mod golden;
