//! Passes over tile IR, one per file, each with golden tests.
//!
//! `specialize` binds compile-time parameters; the tile pipeline (inline,
//! canonicalize, CSE, DCE) runs after it.

pub mod specialize;

pub use specialize::{SpecializeError, specialize};
