//! Writes the bundled kernels' registry as a kernel dump for
//! `tilefuse prebuild --ir DIR` (`scripts/prebuild.sh` runs both steps):
//!
//! ```sh
//! cargo run -p tilefuse --example dump_kernels -- DIR
//! ```
//!
//! DIR gets `kernels.txt` (each kernel's path, name, prebuilt flags and
//! configurations) and one `.ir` file per kernel, the IR its
//! `#[tile_kernel]` embedded; see `tilefuse::codegen::kernel_dump`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: cargo run -p tilefuse --example dump_kernels -- DIR");
        return ExitCode::FAILURE;
    };
    match tilefuse::kernels::registry::dump(std::path::Path::new(dir)) {
        Ok(n) => {
            println!("wrote {n} kernels to {dir}/");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dump_kernels: {e}");
            ExitCode::FAILURE
        }
    }
}
