//! PTX for `#[tile_kernel]` configurations that have no prebuilt PTX: a
//! cache in memory and on disk, and (cargo feature `jit`) the compiler.
//!
//! A launch on a CUDA device first looks for prebuilt PTX (the bundled
//! kernels' table, matched by kernel name, IR fingerprint and architecture).
//! When there is none, [`ptx_for_launch`] looks, in order:
//!
//! 1. in this process's memory, keyed by kernel name, IR fingerprint,
//!    architecture and warps per CTA (the driver module is then cached per
//!    device by the PTX text, in `cuda.rs`);
//! 2. in the disk cache ([`PtxCache`]): `<dir>/<arch>/<kernel>.<fingerprint
//!    as 016x>.ptx`, where `<dir>` is `$TILEFUSE_CACHE_DIR`, else
//!    `$XDG_CACHE_HOME/tilefuse`, else `~/.cache/tilefuse`. Each file starts
//!    with a header line (a PTX comment, so the file still assembles) that
//!    repeats the key, the tilefuse version, the PTX length and a checksum;
//!    a file whose header does not match, or that is truncated or altered,
//!    is ignored and recompiled, never loaded;
//! 3. with the `jit` feature, the compiler: the optimized kernel (the same
//!    module the interpreter runs) lowered by
//!    `tilefuse_codegen::nvptx::lower::lower_to_ptx` for the device's
//!    architecture (`Arch::for_device`), then stored in both caches. Files are
//!    written to a temporary name and renamed, so a reader never sees half a
//!    file, and concurrent writers of the same entry are harmless.
//!
//! The disk cache is read even without the `jit` feature, so PTX compiled by
//! a JIT-enabled build (on this machine, or in a cache folder carried to a
//! machine without LLVM) runs in a build that does not link LLVM.
//!
//! Warps per CTA come from the kernel's declared configuration with exactly
//! these compile-time values, else 4 (the default of `configs`).
//!
//! The key trusts that one version of tilefuse lowers one optimized kernel
//! to the same PTX. While developing tilefuse's backend itself, point
//! `TILEFUSE_CACHE_DIR` at a fresh folder (or delete the cache) after
//! changing the lowering.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tilefuse_codegen::arch::Arch;
use tilefuse_codegen::ir::{ConstValue, Module};

use crate::error::Error;
use crate::launch::KernelSource;

/// True when this build compiles kernels at launch (cargo feature `jit`).
pub const ENABLED: bool = cfg!(feature = "jit");

/// Warps per CTA when the launched configuration is not a declared one.
pub const DEFAULT_NUM_WARPS: u32 = 4;

/// The first words of a cache file's header line; the number is the format.
const MAGIC: &str = "// tilefuse-ptx-cache 1";

/// PTX of one kernel, configuration and architecture, compiled now or
/// loaded from the disk cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledPtx {
    /// The kernel's name (the PTX entry).
    pub kernel: String,
    /// The architecture it was compiled for.
    pub arch: Arch,
    /// [`tilefuse_codegen::ir::fingerprint`] of the optimized kernel.
    pub ir_hash: u64,
    /// Warps per CTA it was lowered for (the launch uses `32 * num_warps` threads).
    pub num_warps: u32,
    /// The PTX text (without the cache header).
    pub ptx: String,
}

/// Warps per CTA for launching `kernel` with `consts`: those of the
/// declared configuration with exactly these values, else
/// [`DEFAULT_NUM_WARPS`].
pub fn num_warps_for(kernel: &KernelSource, consts: &[(&str, ConstValue)]) -> u32 {
    kernel
        .configs
        .iter()
        .find(|c| {
            c.consts.len() == consts.len()
                && c.consts
                    .iter()
                    .all(|(n, v)| consts.iter().any(|(m, w)| m == n && w == v))
        })
        .map_or(DEFAULT_NUM_WARPS, |c| c.num_warps)
}

/// The disk cache of compiled PTX (see the module doc for the layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtxCache {
    dir: PathBuf,
}

/// The cache folder the environment chooses: `$TILEFUSE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/tilefuse`, else `$HOME/.cache/tilefuse`; None when none
/// of these is set (empty values count as unset).
pub(crate) fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("TILEFUSE_CACHE_DIR")
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("tilefuse")))
        .or_else(|| set("HOME").map(|d| d.join(".cache").join("tilefuse")))
}

/// 64-bit FNV-1a, the checksum of a cache file's PTX.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn header(p: &CompiledPtx) -> String {
    format!(
        "{MAGIC} tilefuse={} kernel={} arch={} fingerprint={:016x} num_warps={} bytes={} fnv={:016x}\n",
        env!("CARGO_PKG_VERSION"),
        p.kernel,
        p.arch.name(),
        p.ir_hash,
        p.num_warps,
        p.ptx.len(),
        fnv(p.ptx.as_bytes())
    )
}

/// Checks a cache file's text against the entry wanted and returns its PTX,
/// or says why the file is not trusted.
fn parse_entry(text: &str, want: &CompiledPtx) -> Result<String, String> {
    let (first, body) = text
        .split_once('\n')
        .ok_or_else(|| "no header line".to_string())?;
    let fields = first
        .strip_prefix(MAGIC)
        .ok_or_else(|| format!("the header does not start with `{MAGIC}`"))?;
    let expected = CompiledPtx {
        ptx: body.to_string(),
        ..want.clone()
    };
    let expected_header = header(&expected);
    if first != expected_header.trim_end_matches('\n') {
        return Err(format!(
            "the header `{}` does not match the entry `{}`",
            fields.trim(),
            expected_header[MAGIC.len()..].trim()
        ));
    }
    Ok(body.to_string())
}

impl PtxCache {
    /// A cache in folder `dir` (created when the first entry is stored).
    pub fn new(dir: impl Into<PathBuf>) -> PtxCache {
        PtxCache { dir: dir.into() }
    }

    /// The cache the environment chooses (see the module doc); None when no
    /// folder can be named (no `TILEFUSE_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`).
    pub fn from_env() -> Option<PtxCache> {
        cache_dir_from(|name| std::env::var_os(name)).map(PtxCache::new)
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `kernel`, `arch` and fingerprint `ir_hash` lives.
    pub fn path(&self, kernel: &str, arch: Arch, ir_hash: u64) -> PathBuf {
        self.dir
            .join(arch.name())
            .join(format!("{kernel}.{ir_hash:016x}.ptx"))
    }

    /// The cached PTX for `kernel`, `arch`, `ir_hash` and `num_warps`, or
    /// why there is none usable: no file, an unreadable one, or one whose
    /// header or checksum does not match (such a file is never loaded).
    pub fn lookup(
        &self,
        kernel: &str,
        arch: Arch,
        ir_hash: u64,
        num_warps: u32,
    ) -> Result<CompiledPtx, String> {
        let path = self.path(kernel, arch, ir_hash);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut want = CompiledPtx {
            kernel: kernel.to_string(),
            arch,
            ir_hash,
            num_warps,
            ptx: String::new(),
        };
        want.ptx = parse_entry(&text, &want).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(want)
    }

    /// Like [`PtxCache::lookup`], without the reason.
    pub fn load(
        &self,
        kernel: &str,
        arch: Arch,
        ir_hash: u64,
        num_warps: u32,
    ) -> Option<CompiledPtx> {
        self.lookup(kernel, arch, ir_hash, num_warps).ok()
    }

    /// Stores `ptx` atomically (a temporary file in the same folder, then a
    /// rename) and returns its path.
    pub fn store(&self, ptx: &CompiledPtx) -> Result<PathBuf, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = self.path(&ptx.kernel, ptx.arch, ptx.ir_hash);
        let fail = |what: &Path, e: std::io::Error| {
            Error::Invalid(format!(
                "cannot write the PTX cache file {}: {e}",
                what.display()
            ))
        };
        let folder = path.parent().expect("an entry path has a folder");
        std::fs::create_dir_all(folder).map_err(|e| fail(folder, e))?;
        let tmp = folder.join(format!(
            ".{}.{:016x}.{}.{}.tmp",
            ptx.kernel,
            ptx.ir_hash,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let text = header(ptx) + &ptx.ptx;
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(&path, e));
        }
        Ok(path)
    }
}

type MemoryKey = (String, u64, Arch, u32);

/// PTX found or compiled in this process.
fn memory() -> &'static Mutex<HashMap<MemoryKey, Arc<CompiledPtx>>> {
    static MEMORY: OnceLock<Mutex<HashMap<MemoryKey, Arc<CompiledPtx>>>> = OnceLock::new();
    MEMORY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Lowers an optimized kernel (the output of [`crate::compile_kernel`]) to PTX.
#[cfg(feature = "jit")]
pub fn lower(
    module: &Module,
    kernel: &str,
    consts: &[(&str, ConstValue)],
    arch: Arch,
    num_warps: u32,
) -> Result<String, Error> {
    use tilefuse_codegen::nvptx::lower::{LowerOptions, lower_to_ptx};
    lower_to_ptx(module, kernel, LowerOptions { arch, num_warps }).map_err(|e| Error::Compile {
        kernel: kernel.to_string(),
        consts: tilefuse_codegen::ir::describe_consts(consts),
        message: format!("for {} with {num_warps} warps: {}", arch.name(), e.0),
    })
}

/// The PTX a launch of `kernel` with `consts` runs on `arch`, without a
/// GPU: the optimized kernel, looked up in memory and in `cache`, else
/// compiled and stored in both (a cache that cannot be written is not an
/// error: the PTX is returned all the same).
#[cfg(feature = "jit")]
pub fn compile_ptx(
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    arch: Arch,
    cache: Option<&PtxCache>,
) -> Result<Arc<CompiledPtx>, Error> {
    let module = crate::launch::compile_kernel(kernel, consts)?;
    let ir_hash = tilefuse_codegen::ir::fingerprint(&module);
    find_or_compile(kernel, consts, &module, ir_hash, arch, cache)
        .map(|p| p.expect("the jit feature always compiles"))
}

/// Memory, then `cache`, then (with `jit`) the compiler. `Ok(None)` only
/// without the `jit` feature, when neither cache has the entry.
fn find_or_compile(
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    module: &Module,
    ir_hash: u64,
    arch: Arch,
    cache: Option<&PtxCache>,
) -> Result<Option<Arc<CompiledPtx>>, Error> {
    let num_warps = num_warps_for(kernel, consts);
    let key = (kernel.name.to_string(), ir_hash, arch, num_warps);
    if let Some(p) = memory().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Some(Arc::clone(p)));
    }
    let found = match cache.and_then(|c| c.load(kernel.name, arch, ir_hash, num_warps)) {
        Some(p) => p,
        None => {
            #[cfg(feature = "jit")]
            {
                let ptx = lower(module, kernel.name, consts, arch, num_warps)?;
                let compiled = CompiledPtx {
                    kernel: kernel.name.to_string(),
                    arch,
                    ir_hash,
                    num_warps,
                    ptx,
                };
                if let Some(c) = cache {
                    // A cache that cannot be written only costs a compile next time.
                    let _ = c.store(&compiled);
                }
                compiled
            }
            #[cfg(not(feature = "jit"))]
            {
                let _ = (module, consts);
                return Ok(None);
            }
        }
    };
    let found = Arc::new(found);
    memory()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&found));
    Ok(Some(found))
}

/// The launcher's fallback when `kernel` has no prebuilt PTX for `arch`:
/// `module` is the optimized kernel and `ir_hash` its fingerprint. `Ok(None)`
/// only without the `jit` feature, when no cache has it; then
/// [`missing_hint`] says what to do.
pub(crate) fn ptx_for_launch(
    kernel: &KernelSource,
    consts: &[(&str, ConstValue)],
    module: &Module,
    ir_hash: u64,
    arch: Arch,
) -> Result<Option<Arc<CompiledPtx>>, Error> {
    find_or_compile(
        kernel,
        consts,
        module,
        ir_hash,
        arch,
        PtxCache::from_env().as_ref(),
    )
}

/// What to do about a configuration with no prebuilt PTX, in a build that
/// cannot compile it.
pub(crate) fn missing_hint() -> String {
    let cache = PtxCache::from_env()
        .map(|c| format!(" and caches it under {}", c.dir().display()))
        .unwrap_or_default();
    format!(
        "this build has no JIT: enabling the `jit` cargo feature of tilefuse (it links LLVM 22) \
         compiles it on first launch{cache}; or use a prebuilt configuration, or Device::cpu()"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap as Map;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let m: Map<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("tilefuse-jit-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn entry(ptx: &str) -> CompiledPtx {
        CompiledPtx {
            kernel: "scale".into(),
            arch: Arch::Sm80,
            ir_hash: 0x0123_4567_89ab_cdef,
            num_warps: 4,
            ptx: ptx.into(),
        }
    }

    #[test]
    fn cache_dir_follows_the_environment() {
        let all = env(&[
            ("TILEFUSE_CACHE_DIR", "/a"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(cache_dir_from(all), Some(PathBuf::from("/a")));
        let xdg = env(&[
            ("TILEFUSE_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(cache_dir_from(xdg), Some(PathBuf::from("/x/tilefuse")));
        let home = env(&[("HOME", "/h")]);
        assert_eq!(
            cache_dir_from(home),
            Some(PathBuf::from("/h/.cache/tilefuse"))
        );
        assert_eq!(cache_dir_from(env(&[])), None);
        let c = PtxCache::new("/c");
        assert_eq!(
            c.path("softmax", Arch::Sm90a, 0xab),
            PathBuf::from("/c/sm_90a/softmax.00000000000000ab.ptx")
        );
    }

    #[test]
    fn entries_round_trip_and_replace_atomically() {
        let dir = temp_dir("round-trip");
        let cache = PtxCache::new(&dir);
        let e = entry("//\n.version 7.0\n.target sm_80\n");
        assert!(
            cache
                .lookup("scale", Arch::Sm80, e.ir_hash, 4)
                .unwrap_err()
                .contains("cannot read")
        );
        let path = cache.store(&e).unwrap();
        assert_eq!(path, cache.path("scale", Arch::Sm80, e.ir_hash));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(MAGIC) && text.ends_with(&e.ptx), "{text}");
        assert_eq!(
            cache.load("scale", Arch::Sm80, e.ir_hash, 4),
            Some(e.clone())
        );
        // Storing again replaces the file and leaves no temporary behind.
        let e2 = entry("// v2\n");
        cache.store(&e2).unwrap();
        assert_eq!(cache.load("scale", Arch::Sm80, e.ir_hash, 4), Some(e2));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|f| f.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Other keys miss.
        assert!(cache.load("scale", Arch::Sm80, e.ir_hash, 8).is_none());
        assert!(cache.load("scale", Arch::Sm86, e.ir_hash, 4).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_entries_are_rejected() {
        let dir = temp_dir("corrupt");
        let cache = PtxCache::new(&dir);
        let e = entry(".version 7.0\n.target sm_80\n.entry scale() { ret; }\n");
        let path = cache.store(&e).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        let lookup = || cache.lookup("scale", Arch::Sm80, e.ir_hash, 4);
        let cases: Vec<(String, &str)> = vec![
            (good[..good.len() - 5].to_string(), "does not match"),
            (good.replace("ret;", "ret ;"), "does not match"),
            (good.replace("num_warps=4", "num_warps=8"), "does not match"),
            (
                good.replace("kernel=scale", "kernel=other"),
                "does not match",
            ),
            (e.ptx.clone(), "does not start with"),
            (String::new(), "no header line"),
        ];
        for (text, why) in cases {
            std::fs::write(&path, &text).unwrap();
            let err = lookup().unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
        std::fs::write(&path, [0xffu8, 0xfe, b'\n']).unwrap();
        assert!(lookup().unwrap_err().contains("cannot read"));
        std::fs::write(&path, &good).unwrap();
        assert_eq!(lookup().unwrap(), e);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unwritable_cache_is_an_error_naming_the_file() {
        let dir = temp_dir("unwritable");
        std::fs::write(&dir, "a file, not a folder").unwrap();
        let err = PtxCache::new(&dir)
            .store(&entry("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot write the PTX cache file"), "{err}");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn warps_come_from_the_matching_configuration() {
        use crate::launch::Config;
        let k = KernelSource {
            name: "k",
            ir: "",
            configs: &[
                Config {
                    consts: &[("B", ConstValue::Int(64))],
                    num_warps: 8,
                    num_stages: 2,
                    cpu_only: false,
                },
                Config {
                    consts: &[("B", ConstValue::Int(64)), ("C", ConstValue::Bool(true))],
                    num_warps: 2,
                    num_stages: 2,
                    cpu_only: false,
                },
            ],
            prebuilt: &[],
            prebuilt_flags: &[],
        };
        assert_eq!(num_warps_for(&k, &[("B", ConstValue::Int(64))]), 8);
        let both = [("C", ConstValue::Bool(true)), ("B", ConstValue::Int(64))];
        assert_eq!(num_warps_for(&k, &both), 2);
        assert_eq!(num_warps_for(&k, &[("B", ConstValue::Int(32))]), 4);
    }

    #[cfg(not(feature = "jit"))]
    #[test]
    fn without_jit_a_miss_says_how_to_compile() {
        let hint = missing_hint();
        assert!(hint.contains("`jit` cargo feature"), "{hint}");
    }

    /// A kernel compiled from DSL source, as the macro would record it.
    #[cfg(feature = "jit")]
    fn vector_add() -> KernelSource {
        let src = r#"
            #[tile_kernel(configs = [(BLOCK = 256, num_warps = 2)])]
            pub fn vector_add<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, out: Ptr<f32>, n: i32) {
                let offs = program_id(0) * BLOCK + arange::<BLOCK>();
                let mask = offs < n;
                store(out + offs, load(x + offs, mask, 0.0) + load(y + offs, mask, 0.0), mask);
            }
        "#;
        let module = tilefuse_codegen::frontend::compile_source(src, "vector_add.rs").unwrap();
        let ir = tilefuse_codegen::ir::print_module(&module).leak();
        KernelSource {
            name: "vector_add",
            ir,
            configs: &[crate::launch::Config {
                consts: &[("BLOCK", ConstValue::Int(256))],
                num_warps: 2,
                num_stages: 2,
                cpu_only: false,
            }],
            prebuilt: &[],
            prebuilt_flags: &[],
        }
    }

    #[cfg(feature = "jit")]
    fn forget(kernel: &str, ir_hash: u64) {
        memory()
            .lock()
            .unwrap()
            .retain(|k, _| !(k.0 == kernel && k.1 == ir_hash));
    }

    #[cfg(feature = "jit")]
    #[test]
    fn jit_compiles_caches_and_recompiles_corrupt_files() {
        use tilefuse_codegen::nvptx::ptxas::{assemble, find_ptxas};
        let ptxas = find_ptxas();
        assert!(
            ptxas.is_some() || std::env::var("TILEFUSE_REQUIRE_PTXAS").is_err(),
            "TILEFUSE_REQUIRE_PTXAS is set but no ptxas was found"
        );
        let dir = temp_dir("jit");
        let cache = PtxCache::new(&dir);
        let k = vector_add();
        for (block, warps) in [(256, 2), (512, DEFAULT_NUM_WARPS)] {
            let consts = [("BLOCK", ConstValue::Int(block))];
            for arch in [Arch::Sm80, Arch::Sm90a] {
                let p = compile_ptx(&k, &consts, arch, Some(&cache)).unwrap();
                assert_eq!(
                    (p.kernel.as_str(), p.arch, p.num_warps),
                    ("vector_add", arch, warps)
                );
                assert!(p.ptx.contains(".entry vector_add"), "{}", p.ptx);
                assert!(
                    p.ptx.contains(&format!(".target {}", arch.name())),
                    "{}",
                    p.ptx
                );
                let module = crate::launch::compile_kernel(&k, &consts).unwrap();
                assert_eq!(p.ir_hash, tilefuse_codegen::ir::fingerprint(&module));
                // The second request is served from memory.
                let again = compile_ptx(&k, &consts, arch, Some(&cache)).unwrap();
                assert!(Arc::ptr_eq(&p, &again));
                // The file round-trips, and with its header it still assembles.
                let path = cache.path("vector_add", arch, p.ir_hash);
                assert_eq!(
                    cache.load("vector_add", arch, p.ir_hash, warps).as_ref(),
                    Some(&*p)
                );
                if let Some(ptxas) = &ptxas {
                    let file = std::fs::read_to_string(&path).unwrap();
                    assemble(ptxas, &file, arch).unwrap();
                }
                // A fresh process (memory forgotten) loads the file instead of compiling.
                let marked = CompiledPtx {
                    ptx: format!("{}// from disk\n", p.ptx),
                    ..(*p).clone()
                };
                cache.store(&marked).unwrap();
                forget("vector_add", p.ir_hash);
                let loaded = compile_ptx(&k, &consts, arch, Some(&cache)).unwrap();
                assert!(loaded.ptx.ends_with("// from disk\n"));
                // A corrupt file is recompiled and rewritten, not loaded.
                std::fs::write(&path, format!("{}garbage", header(&p))).unwrap();
                forget("vector_add", p.ir_hash);
                let fresh = compile_ptx(&k, &consts, arch, Some(&cache)).unwrap();
                assert_eq!(*fresh, *p);
                assert_eq!(
                    cache.load("vector_add", arch, p.ir_hash, warps).as_ref(),
                    Some(&*p)
                );
            }
        }
        // Without a disk cache it still compiles.
        let p = compile_ptx(&k, &[("BLOCK", ConstValue::Int(128))], Arch::Sm75, None).unwrap();
        assert!(p.ptx.contains(".target sm_75"));
        // Compile errors name the kernel and the configuration.
        let err = compile_ptx(&k, &[("BLOCK", ConstValue::Int(100))], Arch::Sm80, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector_add") && err.contains("BLOCK = 100"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
