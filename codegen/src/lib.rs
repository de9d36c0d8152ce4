//! tilefuse-codegen: the tilefuse compiler.
//!
//! - [`ir`]: the IR core (types, ops, arena, builder, printer, parser, verifier).
//! - [`frontend`]: the DSL's Rust syntax (read with syn) to tile IR; used by
//!   the `#[tile_kernel]` macro and by the CLI.
//! - [`passes`]: specialize, inline, canonicalize, CSE, DCE, and the pipeline
//!   that lists them in order.
//! - [`interp`]: the CPU interpreter, the reference semantics of tile IR.
//!
//! Nothing here links LLVM; the NVPTX backend comes behind the `llvm` feature.

pub mod frontend;
pub mod interp;
pub mod ir;
pub mod layout;
pub mod passes;
