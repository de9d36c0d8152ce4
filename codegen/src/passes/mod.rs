//! Passes over tile IR, one per file.
//!
//! The tile-level pipeline (see [`pipeline`]) runs, after specialization:
//! [`inline`] (device functions into kernels), [`canonicalize`] (constant
//! folding, algebraic simplification, folding of constant control flow),
//! [`cse`] (merging identical pure ops) and [`dce`] (removing dead code).
//! Every pass reports failures as a [`pipeline::PassError`] naming the pass,
//! the op's source location and what is wrong; every pass has golden
//! `input -> expected` tests under `codegen/tests/golden/passes/<pass>/`.

pub mod canonicalize;
pub mod cse;
pub mod dce;
pub mod inline;
pub mod pipeline;

#[cfg(test)]
mod golden;
