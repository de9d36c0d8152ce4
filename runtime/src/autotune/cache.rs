//! The disk cache of tuning choices.
//!
//! One small text file per [`TuneKey`]:
//! `<dir>/autotune/<arch>/<kernel>.<key hash as 016x>.txt`, where `<dir>` is the PTX
//! cache's folder (`$TILEFUSE_CACHE_DIR`, else `$XDG_CACHE_HOME/tilefuse`, else
//! `~/.cache/tilefuse`; see [`crate::jit`]). The file repeats the whole key, then the choice
//! and its measured time, then an FNV-1a checksum of the lines above it:
//!
//! ```text
//! tilefuse-autotune 1
//! device = NVIDIA H100 80GB HBM3
//! arch = sm_90
//! kernel = flash_fwd_f16
//! shape = dtype=f16,d=64,n=4096,causal=1,varlen=0
//! candidates = 1f0c5e3a9b7d2c41
//! consts = BLOCK_M = 128, BLOCK_N = 64, BLOCK_D = 64
//! num_warps = 4
//! num_stages = 3
//! time_ms = 0.412
//! checksum = 9c2f0e6a4b1d3e57
//! ```
//!
//! A file that does not parse, whose checksum or key does not match (another key with the
//! same hash, a hand edit, a truncated write) is not used: the lookup says why and the tuner
//! measures again and overwrites it. Files are written to a temporary name in the same folder
//! and renamed, so a reader never sees half a file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::jit::fnv;

use super::config::{TuneConfig, TuneKey};

/// The first line of a cache file; the number is the format.
const MAGIC: &str = "tilefuse-autotune 1";

/// A choice read from (or written to) the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedChoice {
    /// The configuration chosen.
    pub config: TuneConfig,
    /// Its median time when it was measured, in milliseconds.
    pub time_ms: f32,
}

/// The disk cache of tuning choices (see the module doc for the layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneCache {
    dir: PathBuf,
}

/// `name` with every character other than ASCII letters, digits, `_` and `-` replaced by `_`
/// (kernel and arch names become file names).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The lines of a file for `key` and `choice`, without the checksum line.
fn body(key: &TuneKey, choice: &CachedChoice) -> String {
    format!(
        "{MAGIC}\ndevice = {}\narch = {}\nkernel = {}\nshape = {}\ncandidates = {:016x}\n\
         consts = {}\nnum_warps = {}\nnum_stages = {}\ntime_ms = {}\n",
        key.device,
        key.arch,
        key.kernel,
        key.shape,
        key.candidates,
        choice.config.consts,
        choice.config.num_warps,
        choice.config.num_stages,
        choice.time_ms
    )
}

/// The choice in a file's `text` for `key`, or why it is not usable.
fn parse(text: &str, key: &TuneKey) -> Result<CachedChoice, String> {
    let (stored, choice) = parse_file(text)?;
    if &stored != key {
        return Err(format!(
            "the file is for another key ({} {} {} `{}` {:016x})",
            stored.device, stored.arch, stored.kernel, stored.shape, stored.candidates
        ));
    }
    Ok(choice)
}

/// The key and choice in a file's `text`, or why it does not parse.
fn parse_file(text: &str) -> Result<(TuneKey, CachedChoice), String> {
    let (rest, last) = text
        .trim_end_matches('\n')
        .rsplit_once('\n')
        .ok_or_else(|| "the file has no checksum line".to_string())?;
    let sum = last
        .strip_prefix("checksum = ")
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| format!("the last line `{last}` is not `checksum = <16 hex digits>`"))?;
    let rest = format!("{rest}\n");
    if fnv(rest.as_bytes()) != sum {
        return Err("the checksum does not match (truncated or edited file)".to_string());
    }
    let mut lines = rest.lines();
    if lines.next() != Some(MAGIC) {
        return Err(format!("the file does not start with `{MAGIC}`"));
    }
    let mut field = |name: &str| -> Result<String, String> {
        let line = lines
            .next()
            .ok_or_else(|| format!("the field `{name}` is missing"))?;
        line.strip_prefix(name)
            .and_then(|l| l.strip_prefix(" = "))
            .map(str::to_string)
            .ok_or_else(|| format!("expected the field `{name}`, found `{line}`"))
    };
    let stored = TuneKey {
        device: field("device")?,
        arch: field("arch")?,
        kernel: field("kernel")?,
        shape: field("shape")?,
        candidates: {
            let v = field("candidates")?;
            u64::from_str_radix(&v, 16).map_err(|_| format!("bad candidates hash `{v}`"))?
        },
    };
    let consts = field("consts")?;
    let int = |v: String, what: &str| -> Result<u32, String> {
        v.parse().map_err(|_| format!("bad {what} `{v}`"))
    };
    let num_warps = int(field("num_warps")?, "num_warps")?;
    let num_stages = int(field("num_stages")?, "num_stages")?;
    let time = field("time_ms")?;
    let time_ms = time
        .parse::<f32>()
        .map_err(|_| format!("bad time_ms `{time}`"))?;
    Ok((
        stored,
        CachedChoice {
            config: TuneConfig::new(consts, num_warps, num_stages),
            time_ms,
        },
    ))
}

impl TuneCache {
    /// A cache whose files live under `dir/autotune` (created when the first is stored).
    pub fn new(dir: impl Into<PathBuf>) -> TuneCache {
        TuneCache { dir: dir.into() }
    }

    /// The cache in the folder the environment chooses (the PTX cache's, see
    /// [`crate::jit`]); None when no folder can be named.
    pub fn from_env() -> Option<TuneCache> {
        crate::jit::cache_dir_from(|name| std::env::var_os(name)).map(TuneCache::new)
    }

    /// The cache's base folder (files are under `autotune/` in it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the choice for `key` is stored.
    pub fn path(&self, key: &TuneKey) -> PathBuf {
        self.dir
            .join("autotune")
            .join(file_safe(&key.arch))
            .join(format!(
                "{}.{:016x}.txt",
                file_safe(&key.kernel),
                key.hash()
            ))
    }

    /// The stored choice for `key`: `Ok(None)` when there is no file, `Err` with the reason
    /// when there is one that cannot be used (unreadable, malformed, another key).
    pub fn lookup(&self, key: &TuneKey) -> Result<Option<CachedChoice>, String> {
        let path = self.path(key);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        parse(&text, key)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Every usable choice stored in the cache, with its key, in file-name order (files
    /// that cannot be read or parsed are left out). For tools: the shipped defaults are
    /// written from these after a measured run.
    pub fn entries(&self) -> Vec<(TuneKey, CachedChoice)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("autotune"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|arch| {
                std::fs::read_dir(arch.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|f| f.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|text| parse_file(&text).ok())
            .collect()
    }

    /// Stores `choice` for `key` atomically (a temporary file in the same folder, then a
    /// rename) and returns the file's path.
    pub fn store(&self, key: &TuneKey, choice: &CachedChoice) -> Result<PathBuf, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if choice.config.consts.contains(['\n', '\r']) {
            return Err(Error::Invalid(format!(
                "autotune: cannot store the configuration {:?}: it is not one line",
                choice.config.consts
            )));
        }
        let path = self.path(key);
        let fail = |what: &Path, e: std::io::Error| {
            Error::Invalid(format!(
                "autotune: cannot write the cache file {}: {e}",
                what.display()
            ))
        };
        let folder = path.parent().expect("a cache path has a folder");
        std::fs::create_dir_all(folder).map_err(|e| fail(folder, e))?;
        let tmp = folder.join(format!(
            ".{}.{:016x}.{}.{}.tmp",
            file_safe(&key.kernel),
            key.hash(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let text = body(key, choice);
        let text = format!("{text}checksum = {:016x}\n", fnv(text.as_bytes()));
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(&path, e));
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autotune::config::{Candidate, test_device};

    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tilefuse-autotune-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn key(shape: &str) -> TuneKey {
        let c = [
            Candidate::new(TuneConfig::new("B = 64", 4, 2)),
            Candidate::new(TuneConfig::new("B = 128", 8, 3)),
        ];
        TuneKey::new(&test_device(), "kern/el", shape, &c).unwrap()
    }

    #[test]
    fn round_trip_and_rejected_files() {
        let dir = temp_dir("cache");
        let cache = TuneCache::new(&dir);
        let k = key("n=1024,causal");
        assert_eq!(cache.lookup(&k), Ok(None));
        let choice = CachedChoice {
            config: TuneConfig::new("B = 128", 8, 3),
            time_ms: 0.25,
        };
        let path = cache.store(&k, &choice).unwrap();
        assert!(
            path.starts_with(dir.join("autotune").join("sm_90")),
            "{path:?}"
        );
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("kern_el."),
            "{path:?}"
        );
        assert_eq!(cache.lookup(&k), Ok(Some(choice.clone())));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Another key's file at this key's path (a hash collision) is not used.
        let other = key("n=2048,causal");
        std::fs::copy(cache.path(&k), cache.path(&other)).unwrap();
        let err = cache.lookup(&other).unwrap_err();
        assert!(err.contains("another key"), "{err}");

        let text = std::fs::read_to_string(&path).unwrap();
        for (bad, needle) in [
            (
                text.replace("B = 128", "B = 256"),
                "checksum does not match",
            ),
            (text[..text.len() / 2].to_string(), "checksum"),
            (String::new(), "no checksum line"),
            ("garbage\nchecksum = zz\n".to_string(), "not `checksum"),
            (
                {
                    let b = "tilefuse-autotune 0\n";
                    format!("{b}checksum = {:016x}\n", fnv(b.as_bytes()))
                },
                "does not start with",
            ),
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = cache.lookup(&k).unwrap_err();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
        // Storing again replaces a broken file.
        cache.store(&k, &choice).unwrap();
        assert_eq!(cache.lookup(&k), Ok(Some(choice.clone())));
        // The listing holds the usable files only (the copy at `other`'s path is `k`'s).
        std::fs::write(cache.path(&key("n=3")), "broken").unwrap();
        let listed = cache.entries();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(listed.iter().all(|(lk, c)| lk == &k && c == &choice));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unwritable_folder_is_an_error() {
        let dir = temp_dir("unwritable");
        std::fs::create_dir_all(&dir).unwrap();
        // A file where the cache wants a folder.
        std::fs::write(dir.join("autotune"), "x").unwrap();
        let choice = CachedChoice {
            config: TuneConfig::new("B = 64", 4, 2),
            time_ms: 1.0,
        };
        let err = TuneCache::new(&dir)
            .store(&key("n=1"), &choice)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot write the cache file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
