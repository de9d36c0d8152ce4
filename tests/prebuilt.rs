//! The committed prebuilt PTX matches the bundled kernels as they compile
//! now, and covers all of them:
//!
//! - the registry (`tilefuse::kernels::registry`) lists every `#[tile_kernel]`
//!   of `src/kernels/`, the ones `macro_rules!` stamp out included;
//! - every variant the prebuild policy implies (each configuration but the
//!   `cpu_only` ones, the kernel's prebuilt flags both ways, the other bools
//!   false) has PTX for every architecture, found by the same fingerprints
//!   the runtime uses, or is listed under "Not built" in `ptx/manifest.md`
//!   with a reason; and no PTX belongs to no variant.
//!
//! (CI also regenerates `ptx/` and requires the same bytes.)

use std::collections::{BTreeMap, HashSet};

use tilefuse::codegen::frontend::configs::prebuild_variants;
use tilefuse::codegen::ir::{ConstValue, describe_consts, fingerprint, parse_module};
use tilefuse::kernels::registry::{Bundled, bundled};
use tilefuse::runtime::compile_kernel;

const ARCHS: [&str; 5] = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90a"];

fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(kernel path, configuration)` of the manifest's "Not built" rows, with the reason.
fn not_built() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(manifest_dir().join("ptx/manifest.md")).unwrap();
    let section = text
        .split_once("## Not built")
        .expect("the manifest has a Not built section")
        .1;
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if cells.len() != 3 || cells[0] == "kernel" {
            continue;
        }
        assert!(
            !cells[2].is_empty(),
            "a Not built row without a reason: {line}"
        );
        rows.insert(
            (cells[0].to_string(), cells[1].to_string()),
            cells[2].to_string(),
        );
    }
    rows
}

/// Whether a variant runs on every architecture: each has its embedded PTX,
/// identical to its file under `ptx/<arch>/`, or none (and no file) when an
/// older architecture's is embedded: the prebuild leaves out PTX whose code
/// equals an older arch's, and devices of that arch run the older one.
fn covers_every_arch(kernel: &str, hash: u64, entries: &[&tilefuse::runtime::PrebuiltPtx]) -> bool {
    let mut embedded_before = false;
    for arch in ARCHS {
        let file = manifest_dir().join(format!("ptx/{arch}/{kernel}.{hash:016x}.ptx"));
        match entries.iter().find(|p| p.arch == arch) {
            Some(p) => {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    return false;
                };
                assert_eq!(
                    p.ptx,
                    text,
                    "{} differs from its embedded copy",
                    file.display()
                );
                embedded_before = true;
            }
            None if embedded_before && !file.exists() => {}
            None => return false,
        }
    }
    true
}

#[test]
fn every_variant_has_ptx_for_every_arch_or_is_listed_as_not_built() {
    let listed = not_built();
    let mut used: HashSet<(u64, &str)> = HashSet::new();
    let mut built_variants = 0;
    let mut missing: Vec<String> = Vec::new();
    for Bundled { path, source } in bundled() {
        let module = parse_module(source.ir).unwrap();
        let source_hash = fingerprint(&module);
        let declared = &module.func(source.name).unwrap().consts;
        assert!(
            !source.configs.is_empty(),
            "{path} declares no configuration"
        );
        let row = |consts: &str| listed.contains_key(&(path.to_string(), consts.to_string()));
        for config in source.configs {
            let mut own: Vec<(String, ConstValue)> = config
                .consts
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect();
            own.sort_by_key(|(n, _)| declared.iter().position(|c| c.name == *n));
            if config.cpu_only {
                if !row(&describe_consts(&own)) {
                    missing.push(format!("{path}: cpu_only {}", describe_consts(&own)));
                }
                continue;
            }
            for variant in prebuild_variants(&own, declared, source.prebuilt_flags) {
                let shown = describe_consts(&variant);
                let bindings: Vec<(&str, ConstValue)> =
                    variant.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                let all_bound = declared
                    .iter()
                    .all(|c| variant.iter().any(|(n, _)| *n == c.name));
                let hash = match compile_kernel(&source, &bindings) {
                    Ok(m) if all_bound => fingerprint(&m),
                    _ => {
                        if !row(&shown) {
                            missing.push(format!(
                                "{path}: {shown} (does not compile or not all bound)"
                            ));
                        }
                        continue;
                    }
                };
                let entries: Vec<_> = source
                    .prebuilt
                    .iter()
                    .filter(|p| p.kernel == source.name && p.ir_hash == hash)
                    .collect();
                let archs: Vec<&str> = entries.iter().map(|p| p.arch).collect();
                if covers_every_arch(source.name, hash, &entries) {
                    built_variants += 1;
                    assert!(
                        !row(&shown),
                        "{path} {shown}: built for every arch but also listed as not built"
                    );
                    for p in &entries {
                        assert!(p.ptx.contains(&format!(".entry {}", source.name)));
                        assert!(p.ptx.contains(&format!(".target {}", p.arch)));
                        assert_eq!(p.num_warps, config.num_warps, "{path} {shown}");
                        assert_eq!(p.consts, shown, "{path}");
                        assert_eq!(p.source_hash, source_hash, "{path} {shown}");
                        used.insert((p.ir_hash, p.arch));
                    }
                } else if !row(&shown) {
                    missing.push(format!("{path}: {shown} has PTX for {archs:?} only"));
                } else {
                    for p in &entries {
                        used.insert((p.ir_hash, p.arch));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "prebuilt PTX is missing or stale (run scripts/prebuild.sh):\n{}",
        missing.join("\n")
    );
    let table = tilefuse::__private::PREBUILT;
    let orphans: Vec<String> = table
        .iter()
        .filter(|p| !used.contains(&(p.ir_hash, p.arch)))
        .map(|p| format!("{} {} on {}", p.kernel, p.consts, p.arch))
        .collect();
    assert!(
        orphans.is_empty(),
        "PTX of no registered variant: {orphans:#?}"
    );
    // The 1-d kernels lower today; the basic ones at least must stay built.
    assert!(
        built_variants >= 6,
        "only {built_variants} variants have PTX"
    );
}

// ---------------------------------------------------------------------------
// The registry is complete.

/// The source without comments (strings kept), so that commented-out code
/// and docs do not count.
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_str = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A `macro_rules!` of a file: its name and the byte range of its body.
struct MacroDef {
    name: String,
    body: std::ops::Range<usize>,
}

fn macro_defs(src: &str) -> Vec<MacroDef> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = src[from..].find("macro_rules!") {
        let start = from + at + "macro_rules!".len();
        let open = start + src[start..].find('{').expect("a macro body");
        let name = src[start..open].trim().to_string();
        let mut depth = 0;
        let mut end = open;
        for (i, c) in src[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(MacroDef {
            name,
            body: open..end,
        });
        from = end;
    }
    out
}

/// How many times the macro `m` is expanded: once per invocation outside
/// macro bodies, and once per expansion of each macro whose body invokes it.
fn expansions(src: &str, defs: &[MacroDef], m: usize, depth: usize) -> usize {
    assert!(depth < 8, "macros invoking each other in a cycle");
    let pattern = format!("{}!", defs[m].name);
    src.match_indices(&pattern)
        .filter(|(i, _)| {
            // A whole identifier, not the tail of a longer one or `macro_rules!` itself.
            let before = src[..*i].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(
            |(i, _)| match defs.iter().position(|d| d.body.contains(&i)) {
                None => 1,
                Some(outer) if outer == m => 0,
                Some(outer) => expansions(src, defs, outer, depth + 1),
            },
        )
        .sum()
}

/// `(function name, how many kernels it stands for)` of each `#[tile_kernel]`
/// of a file: the name as written (`$name` for a macro-substituted one).
fn stamped_kernels(src: &str) -> Vec<(String, usize)> {
    let defs = macro_defs(src);
    let mut out = Vec::new();
    for (at, _) in src.match_indices("#[tile_kernel") {
        let rest = &src[at..];
        let f = rest.find("fn ").expect("a function after #[tile_kernel]");
        let name: String = rest[f + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        let times = match defs.iter().position(|d| d.body.contains(&at)) {
            None => 1,
            Some(m) => expansions(src, &defs, m, 0),
        };
        out.push((name, times));
    }
    out
}

#[test]
fn the_registry_lists_every_kernel_of_src_kernels() {
    let registry = bundled();
    let mut paths: Vec<&str> = registry.iter().map(|b| b.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), registry.len(), "a path is registered twice");
    for b in &registry {
        assert_eq!(
            b.path.rsplit("::").next(),
            Some(b.source.name),
            "{}",
            b.path
        );
        assert!(
            b.source
                .ir
                .contains(&format!("tile.kernel @{}", b.source.name))
        );
    }

    let dir = manifest_dir().join("src/kernels");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut total = 0;
    for file in files {
        let stem = file.file_stem().unwrap().to_str().unwrap().to_string();
        let src = strip_comments(&std::fs::read_to_string(&file).unwrap());
        let kernels = stamped_kernels(&src);
        let expected: usize = kernels.iter().map(|(_, n)| n).sum();
        let prefix = format!("{stem}::");
        let registered: Vec<&Bundled> = registry
            .iter()
            .filter(|b| b.path.starts_with(&prefix))
            .collect();
        assert_eq!(
            registered.len(),
            expected,
            "src/kernels/{stem}.rs has {expected} #[tile_kernel]s once its macros are expanded \
             ({kernels:?}) but the registry lists {} under `{prefix}`: add the missing ones to \
             src/kernels/registry.rs",
            registered.len()
        );
        for (name, times) in &kernels {
            if name.starts_with('$') {
                continue;
            }
            let found = registered.iter().filter(|b| b.source.name == name).count();
            assert_eq!(
                found, *times,
                "src/kernels/{stem}.rs: `{name}` ({times} instances) is registered {found} times"
            );
        }
        // Each registered kernel's IR was built from this file.
        for b in &registered {
            assert!(
                b.source.ir.contains(&format!("kernels/{stem}.rs")),
                "{} is not defined in src/kernels/{stem}.rs",
                b.path
            );
        }
        total += expected;
    }
    assert_eq!(
        total,
        registry.len(),
        "the registry lists kernels outside src/kernels"
    );
}

#[test]
fn the_completeness_scan_sees_macro_stamped_kernels() {
    let src = strip_comments(
        r#"
        // #[tile_kernel] in a comment does not count
        macro_rules! inner { ($n:ident) => { #[tile_kernel(configs = [(B = 1)])] pub fn $n() {} }; }
        macro_rules! outer { ($a:ident, $b:ident) => { inner!($a); inner!($b); }; }
        outer!(a, b);
        outer!(c, d);
        inner!(e);
        /* #[tile_kernel] */
        #[tile_kernel]
        pub fn plain() { let s = "// not a comment"; }
        "#,
    );
    assert_eq!(
        stamped_kernels(&src),
        [("$n".to_string(), 5), ("plain".to_string(), 1)]
    );
}
