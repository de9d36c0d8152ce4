//! tilefuse-codegen: the tilefuse compiler.
//!
//! - [`arch`]: the GPU architectures and which PTX a device runs.
//! - [`ir`]: the IR core (types, ops, arena, builder, printer, parser, verifier).
//! - [`frontend`]: the DSL's Rust syntax (read with syn) to tile IR; used by
//!   the `#[tile_kernel]` macro and by the CLI.
//! - [`passes`]: specialize, inline, canonicalize, CSE, DCE, and the pipeline
//!   that lists them in order.
//! - [`interp`]: the CPU interpreter, the reference semantics of tile IR.
//!
//! - [`gpu`]: the tile-gpu dialect (layouts on tile values) and its passes.
//! - [`kernel_dump`]: the bundled kernels' IR and configurations as files,
//!   which `tilefuse prebuild --ir` reads.
//! - [`layout`]: linear layouts, the data the GPU dialect's layouts are made of.
//! - `nvptx` (feature `llvm`): LLVM 22 through inkwell, PTX emission, ptxas.
//!
//! Without the `llvm` feature nothing here links LLVM, so the macro and the
//! runtime never do.

pub mod arch;
pub mod frontend;
pub mod gpu;
pub mod interp;
pub mod ir;
pub mod kernel_dump;
pub mod layout;
#[cfg(feature = "llvm")]
pub mod nvptx;
pub mod passes;
