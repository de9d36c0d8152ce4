//! Emits the PTX of a small hand-built kernel for one architecture, to check
//! the NVPTX backend's output on a real GPU (`scripts/gpu/run_add_one.py`
//! loads and runs it through the CUDA driver API, no Rust needed there).
//!
//! `cargo run -p tilefuse-codegen --features llvm --example emit_add_one -- sm_90a > add_one.ptx`
//!
//! The kernel is `nvptx::smoke::add_one_module`.

use inkwell::context::Context;
use tilefuse_codegen::nvptx::smoke::add_one_module;
use tilefuse_codegen::nvptx::{Arch, emit_ptx};

fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sm_80".to_string());
    let Some(arch) = Arch::from_name(&name) else {
        let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        eprintln!("unknown architecture `{name}`; use one of {names:?}");
        std::process::exit(2);
    };
    let ctx = Context::create();
    match add_one_module(&ctx).and_then(|m| emit_ptx(&m, arch)) {
        Ok(ptx) => print!("{ptx}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
