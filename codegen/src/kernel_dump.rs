//! The kernel dump: the bundled kernels' IR and configurations as files, the
//! bridge between the facade crate (which has every `#[tile_kernel]`'s
//! `KernelSource` in its registry) and `tilefuse prebuild --ir DIR` (which
//! cannot depend on the facade: the facade depends on this crate).
//!
//! A dump is a folder with `kernels.txt` and one `<file>.ir` per kernel (the
//! unspecialized tile IR the macro embedded, byte for byte, so `tilefuse
//! prebuild` fingerprints exactly what the runtime compiles). `kernels.txt`
//! is line based; `#` starts a comment line; a kernel is a `kernel` line
//! followed by its fields:
//!
//! ```text
//! kernel flash::flash_fwd_f16          # the registry's path (unique)
//! name flash_fwd_f16                   # the function name in the IR
//! ir flash__flash_fwd_f16.ir           # its IR, relative to the folder
//! flags varlen causal                  # bools prebuilt both ways (may be empty)
//! config BLOCK_M=16 BLOCK_N=16 BLOCK_D=16 num_warps=4 num_stages=2 cpu_only
//! config BLOCK_M=128 BLOCK_N=64 BLOCK_D=64 num_warps=4 num_stages=3
//! ```
//!
//! A `config` line binds compile-time values (`NAME=int`, `NAME=true|false`)
//! and the launch knobs `num_warps=`, `num_stages=`; a trailing `cpu_only`
//! marks a configuration meant for the interpreter. The order of kernels and
//! configurations is kept, so the manifest `tilefuse prebuild` writes follows
//! the registry.

use std::fmt::Write as _;
use std::path::Path;

use crate::ir::ConstValue;

/// One configuration of a dumped kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpConfig {
    /// The compile-time values it binds.
    pub consts: Vec<(String, ConstValue)>,
    /// Warps per program on a GPU.
    pub num_warps: u32,
    /// Software-pipelining stages on a GPU.
    pub num_stages: u32,
    /// Meant for the interpreter: no prebuilt PTX.
    pub cpu_only: bool,
}

/// One dumped kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDump {
    /// Where the kernel lives, unique in the dump (`graph::f16_features::gao`):
    /// kernels of several element types may share a function name.
    pub path: String,
    /// The kernel's function name in the IR.
    pub name: String,
    /// The unspecialized tile IR (the kernel and the device functions it calls).
    pub ir: String,
    /// The `#[constexpr] bool` parameters prebuilt both ways.
    pub flags: Vec<String>,
    /// The declared configurations.
    pub configs: Vec<DumpConfig>,
}

/// The index file of a dump folder.
pub const INDEX: &str = "kernels.txt";

/// An error reading or writing a dump, naming the file (and line).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("kernel dump: {0}")]
pub struct DumpError(pub String);

/// The IR file name of a kernel path: `graph::f16_features::gao` → `graph__f16_features__gao.ir`.
fn ir_file(path: &str) -> String {
    format!("{}.ir", path.replace("::", "__"))
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Writes `kernels` to the folder `dir` (created if missing; a previous
/// dump's files are overwritten).
pub fn write_dump(kernels: &[KernelDump], dir: &Path) -> Result<(), DumpError> {
    let io =
        |what: &Path, e: std::io::Error| DumpError(format!("cannot write {}: {e}", what.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut index =
        String::from("# tilefuse kernel dump (format 1): read by `tilefuse prebuild --ir DIR`.\n");
    let mut seen: Vec<&str> = Vec::new();
    for k in kernels {
        for word in [&k.path, &k.name].into_iter().chain(&k.flags) {
            if !is_word(word) {
                return Err(DumpError(format!(
                    "kernel `{}`: `{word}` is not a name (letters, digits, `_`, `::`)",
                    k.path
                )));
            }
        }
        if seen.contains(&k.path.as_str()) {
            return Err(DumpError(format!("kernel `{}` is listed twice", k.path)));
        }
        seen.push(&k.path);
        let file = ir_file(&k.path);
        let path = dir.join(&file);
        std::fs::write(&path, &k.ir).map_err(|e| io(&path, e))?;
        let _ = writeln!(index, "\nkernel {}\nname {}\nir {file}", k.path, k.name);
        index.push_str("flags");
        for f in &k.flags {
            let _ = write!(index, " {f}");
        }
        index.push('\n');
        for c in &k.configs {
            index.push_str("config");
            for (n, v) in &c.consts {
                if !is_word(n) {
                    return Err(DumpError(format!(
                        "kernel `{}`: `{n}` is not a parameter name",
                        k.path
                    )));
                }
                let _ = write!(index, " {n}={v}");
            }
            let _ = write!(
                index,
                " num_warps={} num_stages={}",
                c.num_warps, c.num_stages
            );
            if c.cpu_only {
                index.push_str(" cpu_only");
            }
            index.push('\n');
        }
    }
    let path = dir.join(INDEX);
    std::fs::write(&path, index).map_err(|e| io(&path, e))
}

/// Reads the dump in the folder `dir`.
pub fn read_dump(dir: &Path) -> Result<Vec<KernelDump>, DumpError> {
    let index_path = dir.join(INDEX);
    let text = std::fs::read_to_string(&index_path).map_err(|e| {
        DumpError(format!(
            "cannot read {}: {e} (write a dump with `cargo run -p tilefuse --example dump_kernels -- DIR`)",
            index_path.display()
        ))
    })?;
    let at =
        |line: usize, msg: String| DumpError(format!("{}:{line}: {msg}", index_path.display()));
    let mut out: Vec<KernelDump> = Vec::new();
    // Which of name / ir / flags the current kernel has seen.
    let mut have = [false; 3];
    let finish = |k: Option<&KernelDump>, have: [bool; 3], line: usize| match k {
        Some(k) if have != [true; 3] => Err(at(
            line,
            format!(
                "kernel `{}` lacks a `name`, `ir` or `flags` line before this point",
                k.path
            ),
        )),
        _ => Ok(()),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (key, rest) = l.split_once(' ').unwrap_or((l, ""));
        let rest = rest.trim();
        if key == "kernel" {
            finish(out.last(), have, line)?;
            if !is_word(rest) {
                return Err(at(line, format!("`kernel` wants a path, got `{rest}`")));
            }
            if out.iter().any(|k| k.path == rest) {
                return Err(at(line, format!("kernel `{rest}` is listed twice")));
            }
            out.push(KernelDump {
                path: rest.to_string(),
                name: String::new(),
                ir: String::new(),
                flags: Vec::new(),
                configs: Vec::new(),
            });
            have = [false; 3];
            continue;
        }
        let Some(k) = out.last_mut() else {
            return Err(at(line, format!("`{key}` before the first `kernel` line")));
        };
        let slot = match key {
            "name" => 0,
            "ir" => 1,
            "flags" => 2,
            "config" => 3,
            other => {
                return Err(at(
                    line,
                    format!(
                        "unknown field `{other}`: a kernel has `name`, `ir`, `flags` and `config` lines"
                    ),
                ));
            }
        };
        if slot < 3 {
            if have[slot] {
                return Err(at(line, format!("`{key}` is given twice for `{}`", k.path)));
            }
            have[slot] = true;
        }
        match slot {
            0 if is_word(rest) => k.name = rest.to_string(),
            0 => {
                return Err(at(
                    line,
                    format!("`name` wants a function name, got `{rest}`"),
                ));
            }
            1 => {
                let file = Path::new(rest);
                if rest.is_empty() || file.is_absolute() || rest.contains("..") {
                    return Err(at(
                        line,
                        format!("`ir` wants a file name inside the dump folder, got `{rest}`"),
                    ));
                }
                let p = dir.join(file);
                k.ir = std::fs::read_to_string(&p)
                    .map_err(|e| at(line, format!("cannot read {}: {e}", p.display())))?;
            }
            2 => {
                for f in rest.split_whitespace() {
                    if !is_word(f) || k.flags.iter().any(|g| g == f) {
                        return Err(at(line, format!("bad or repeated flag `{f}`")));
                    }
                    k.flags.push(f.to_string());
                }
            }
            _ => k.configs.push(parse_config(rest).map_err(|m| at(line, m))?),
        }
    }
    finish(out.last(), have, text.lines().count() + 1)?;
    Ok(out)
}

fn parse_config(s: &str) -> Result<DumpConfig, String> {
    let mut c = DumpConfig {
        consts: Vec::new(),
        num_warps: 4,
        num_stages: 2,
        cpu_only: false,
    };
    for word in s.split_whitespace() {
        if word == "cpu_only" {
            c.cpu_only = true;
            continue;
        }
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("a config entry is NAME=VALUE or `cpu_only`, got `{word}`"))?;
        let int = || {
            value
                .parse::<i64>()
                .map_err(|_| format!("`{name}={value}`: the value is not an integer"))
        };
        match name {
            "num_warps" | "num_stages" => {
                let v = u32::try_from(int()?)
                    .map_err(|_| format!("`{word}`: {name} must be positive"))?;
                if name == "num_warps" {
                    c.num_warps = v;
                } else {
                    c.num_stages = v;
                }
            }
            _ if !is_word(name) => return Err(format!("`{name}` is not a parameter name")),
            _ if c.consts.iter().any(|(n, _)| n == name) => {
                return Err(format!("`{name}` is bound twice"));
            }
            _ => {
                let v = match value {
                    "true" => ConstValue::Bool(true),
                    "false" => ConstValue::Bool(false),
                    _ => ConstValue::Int(int()?),
                };
                c.consts.push((name.to_string(), v));
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tilefuse-dump-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn sample() -> Vec<KernelDump> {
        vec![
            KernelDump {
                path: "flash::flash_fwd_f16".into(),
                name: "flash_fwd_f16".into(),
                ir: "tile.kernel @flash_fwd_f16() {\n  tile.return\n}\n".into(),
                flags: vec!["varlen".into(), "causal".into()],
                configs: vec![
                    DumpConfig {
                        consts: vec![
                            ("BLOCK_M".into(), ConstValue::Int(16)),
                            ("masked".into(), ConstValue::Bool(true)),
                        ],
                        num_warps: 4,
                        num_stages: 2,
                        cpu_only: true,
                    },
                    DumpConfig {
                        consts: vec![("BLOCK_M".into(), ConstValue::Int(-128))],
                        num_warps: 8,
                        num_stages: 3,
                        cpu_only: false,
                    },
                ],
            },
            KernelDump {
                path: "basic::vector_add".into(),
                name: "vector_add".into(),
                ir: "whatever \"text\"\n".into(),
                flags: vec![],
                configs: vec![],
            },
        ]
    }

    #[test]
    fn a_dump_reads_back_as_written() {
        let dir = temp_dir("roundtrip");
        write_dump(&sample(), &dir).unwrap();
        assert!(dir.join("flash__flash_fwd_f16.ir").exists());
        assert_eq!(read_dump(&dir).unwrap(), sample());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_dumps_say_where() {
        let dir = temp_dir("bad");
        write_dump(&sample(), &dir).unwrap();
        let index = std::fs::read_to_string(dir.join(INDEX)).unwrap();
        let cases = [
            ("config BLOCK_M=16", "config BLOCK_M=x", "not an integer"),
            ("name vector_add\n", "", "lacks a `name`"),
            (
                "flags varlen causal",
                "flags varlen varlen",
                "repeated flag",
            ),
            (
                "ir basic__vector_add.ir",
                "ir ../x.ir",
                "inside the dump folder",
            ),
            ("ir basic__vector_add.ir", "ir missing.ir", "cannot read"),
            (
                "kernel basic::vector_add",
                "kernel flash::flash_fwd_f16",
                "listed twice",
            ),
            (
                "config BLOCK_M=16",
                "config BLOCK_M=16 BLOCK_M=2",
                "bound twice",
            ),
            ("num_warps=8", "num_warps=-8", "positive"),
            ("flags varlen causal", "flag varlen", "unknown field `flag`"),
        ];
        for (from, to, want) in cases {
            assert!(index.contains(from), "{from}");
            std::fs::write(dir.join(INDEX), index.replacen(from, to, 1)).unwrap();
            let e = read_dump(&dir).unwrap_err().to_string();
            assert!(e.contains(want), "{from} -> {to}: {e}");
            assert!(e.contains("kernels.txt:"), "{e}");
        }
        let mut bad = sample();
        bad[1].path = "a b".into();
        assert!(write_dump(&bad, &dir).unwrap_err().0.contains("not a name"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(read_dump(&dir).unwrap_err().0.contains("dump_kernels"));
    }
}
