//! Finding and running `ptxas`, NVIDIA's PTX assembler, to check that
//! emitted PTX assembles for its architecture and to read the resource
//! report (registers, spills, shared memory).
//!
//! `ptxas` is looked up, in order, in `$TILEFUSE_PTXAS`, on `PATH`, and in
//! the `nvidia-cuda-nvcc` Python wheel (`pip install nvidia-cuda-nvcc`:
//! `site-packages/nvidia/cu13/bin/ptxas`), which needs no CUDA install.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::NvptxError;
use super::target::Arch;

/// What ptxas reports for one kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Registers per thread.
    pub registers: u32,
    /// Bytes spilled to local memory by stores.
    pub spill_stores: u32,
    /// Bytes reloaded from local memory.
    pub spill_loads: u32,
    /// Static shared memory in bytes.
    pub shared_bytes: u32,
}

fn python_site_packages() -> Vec<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import site, sys; print('\\n'.join(site.getsitepackages() + [site.getusersitepackages()]))"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// The path of a usable `ptxas`, if one is found.
pub fn find_ptxas() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TILEFUSE_PTXAS") {
        return Some(PathBuf::from(p));
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("ptxas");
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    python_site_packages()
        .into_iter()
        .map(|sp| sp.join("nvidia/cu13/bin/ptxas"))
        .find(|p| p.is_file())
}

/// Assembles `ptx` for `arch` with `ptxas -v` and returns each kernel's resources.
pub fn assemble(
    ptxas: &Path,
    ptx: &str,
    arch: Arch,
) -> Result<Vec<(String, Resources)>, NvptxError> {
    // One directory per call: tests assemble concurrently in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "tilefuse-ptxas-{}-{call}-{}",
        std::process::id(),
        arch.name()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| NvptxError(format!("cannot create {}: {e}", dir.display())))?;
    let input = dir.join("kernel.ptx");
    std::fs::write(&input, ptx)
        .map_err(|e| NvptxError(format!("cannot write {}: {e}", input.display())))?;
    let output = Command::new(ptxas)
        .arg(format!("-arch={}", arch.name()))
        .arg("-v")
        .arg(&input)
        .arg("-o")
        .arg(dir.join("kernel.cubin"))
        .output()
        .map_err(|e| NvptxError(format!("cannot run {}: {e}", ptxas.display())))?;
    let _ = std::fs::remove_dir_all(&dir);
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(NvptxError(format!(
            "ptxas rejected the PTX for {}:\n{report}\nrepro: {} -arch={} -v kernel.ptx",
            arch.name(),
            ptxas.display(),
            arch.name()
        )));
    }
    Ok(parse_report(&report))
}

/// Parses `ptxas -v` output into per-kernel resources.
pub fn parse_report(report: &str) -> Vec<(String, Resources)> {
    let mut out: Vec<(String, Resources)> = Vec::new();
    let number_before = |line: &str, unit: &str| -> Option<u32> {
        let i = line.find(unit)?;
        line[..i].split_whitespace().last()?.parse().ok()
    };
    for line in report.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            let name = rest.split('\'').next().unwrap_or("").to_string();
            out.push((name, Resources::default()));
        } else if let Some((_, res)) = out.last_mut() {
            if line.contains("bytes spill stores") {
                res.spill_stores = number_before(line, "bytes spill stores").unwrap_or(0);
                res.spill_loads = number_before(line, "bytes spill loads").unwrap_or(0);
            }
            if line.contains("Used") && line.contains("registers") {
                res.registers = number_before(line, "registers").unwrap_or(0);
                res.shared_bytes = number_before(line, "bytes smem").unwrap_or(0);
            }
        }
    }
    out
}
