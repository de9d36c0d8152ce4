//! Kernels shipped with tilefuse, written in its own DSL; each file holds
//! kernels, their plain-Rust references and their tests.

pub mod basic;
pub mod decode;
pub mod flash;
pub mod graph;
#[doc(hidden)]
pub mod registry;
pub mod tssa;
