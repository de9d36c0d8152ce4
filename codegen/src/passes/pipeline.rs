//! The tile-level pass pipeline, listed top to bottom in one place
//! ([`TILE_PIPELINE`]), in the spirit of Triton's `make_ttir`.
//!
//! Order: [`inline`] → [`canonicalize`] → [`cse`] → [`dce`]. Specialization
//! (binding constexprs, folding constexpr branches, checking shapes) needs
//! the configuration's const values, so the caller runs it before
//! [`run_tile_pipeline`].
//!
//! - Inlining works on the whole module; the other passes run on each kernel
//!   in turn. Device functions (`tile.func`) are left as they are: after
//!   inlining, kernels no longer need them, but users of the module may.
//! - In debug builds (`cfg!(debug_assertions)`) the verifier runs on the
//!   pipeline's input and after every pass; a failure is a [`PassError`]
//!   naming the pass after which the IR became invalid.
//! - `TILEFUSE_DUMP`: a comma-separated list of stages; when it contains
//!   `tile` or `all`, the IR is printed to stderr after every pass, limited
//!   to the function named by `TILEFUSE_DUMP_FILTER` when that is set.
//!
//! [`inline`]: super::inline
//! [`canonicalize`]: super::canonicalize
//! [`cse`]: super::cse
//! [`dce`]: super::dce

use crate::ir::{Func, FuncKind, Location, Module, VerifyError, print_func, verify_module};

use super::{canonicalize, cse, dce, inline};

/// A pass failure: which pass, where in the user's source, and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pass}: {loc}: {message}")]
pub struct PassError {
    /// The pass that failed (or after which the verifier failed).
    pub pass: &'static str,
    /// The location of the op concerned.
    pub loc: Location,
    /// What is wrong.
    pub message: String,
}

impl PassError {
    /// An error of `pass` at `loc`.
    pub fn new(pass: &'static str, loc: Location, message: impl Into<String>) -> PassError {
        PassError {
            pass,
            loc,
            message: message.into(),
        }
    }
}

/// What a pass transforms. Both forms return whether anything changed.
#[derive(Clone, Copy, Debug)]
pub enum PassFn {
    /// The whole module at once (inlining needs every function).
    Module(fn(&mut Module) -> Result<bool, PassError>),
    /// One function; the pipeline runs it on every kernel.
    Func(fn(&mut Func) -> Result<bool, PassError>),
}

/// A pass with the name used in errors and dumps.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// Short name (`inline`, `cse`, ...).
    pub name: &'static str,
    /// The transformation.
    pub run: PassFn,
}

/// The tile-level pipeline, in order.
pub const TILE_PIPELINE: [Pass; 4] = [
    Pass {
        name: inline::NAME,
        run: PassFn::Module(inline::run),
    },
    Pass {
        name: canonicalize::NAME,
        run: PassFn::Func(canonicalize::run),
    },
    Pass {
        name: cse::NAME,
        run: PassFn::Func(cse::run),
    },
    Pass {
        name: dce::NAME,
        run: PassFn::Func(dce::run),
    },
];

/// A verifier run between passes.
pub type Verifier = fn(&Module) -> Result<(), VerifyError>;

/// How [`run_passes`] checks and reports.
#[derive(Clone, Debug, Default)]
pub struct PipelineOptions {
    /// Run this verifier on the input and after every pass.
    pub verify: Option<Verifier>,
    /// Print the IR to stderr after every pass.
    pub dump: Option<DumpOptions>,
}

impl PipelineOptions {
    /// The defaults: the verifier in debug builds, dumps as the
    /// `TILEFUSE_DUMP` and `TILEFUSE_DUMP_FILTER` environment variables say.
    pub fn from_env() -> PipelineOptions {
        let dump = std::env::var("TILEFUSE_DUMP").ok();
        let filter = std::env::var("TILEFUSE_DUMP_FILTER").ok();
        PipelineOptions {
            verify: cfg!(debug_assertions).then_some(verify_module as Verifier),
            dump: DumpOptions::from_vars(dump.as_deref(), filter.as_deref()),
        }
    }
}

/// Which IR to print after each pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// Print only the function with this name (all when None).
    pub filter: Option<String>,
}

impl DumpOptions {
    /// Reads the values of `TILEFUSE_DUMP` and `TILEFUSE_DUMP_FILTER`:
    /// dumping is on when the comma-separated stage list names `tile` or
    /// `all`; an empty filter means no filter.
    pub fn from_vars(dump: Option<&str>, filter: Option<&str>) -> Option<DumpOptions> {
        let on = dump?
            .split(',')
            .map(str::trim)
            .any(|s| s.eq_ignore_ascii_case("tile") || s.eq_ignore_ascii_case("all"));
        on.then(|| DumpOptions {
            filter: filter
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_string),
        })
    }

    /// The dump text after `pass`: a header line, then every function the
    /// filter selects (nothing but the header when it selects none).
    pub fn render(&self, pass: &str, m: &Module) -> String {
        let mut out = format!("// ----- tile IR after {pass}\n");
        let selected = m
            .funcs
            .iter()
            .filter(|f| self.filter.as_deref().is_none_or(|name| f.name == name));
        for (i, f) in selected.enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&print_func(f));
        }
        out
    }
}

/// Runs the tile-level pipeline ([`TILE_PIPELINE`]) with the verifier in
/// debug builds and the `TILEFUSE_DUMP` hook.
pub fn run_tile_pipeline(m: &mut Module) -> Result<(), PassError> {
    run_passes(m, &TILE_PIPELINE, &PipelineOptions::from_env())
}

/// Drops every function but `kernel`: after the tile pipeline has inlined
/// its calls, the device functions (and other kernels) are not part of what
/// runs, and a backend must not see them. Errors when `kernel` still calls
/// something (the pipeline did not run).
pub fn keep_only_kernel(m: &mut Module, kernel: &str) -> Result<(), PassError> {
    let Some(f) = m.func(kernel) else {
        return Err(PassError::new(
            "keep-only-kernel",
            Location::unknown(),
            format!("no function `{kernel}`"),
        ));
    };
    if let Some(call) = f
        .body
        .walk(f.body.entry())
        .into_iter()
        .find(|&op| f.body.op(op).kind == crate::ir::OpKind::Call)
    {
        return Err(PassError::new(
            "keep-only-kernel",
            f.body.op(call).loc.clone(),
            format!(
                "`{kernel}` still calls a function; run the tile pipeline (which inlines) first"
            ),
        ));
    }
    m.funcs.retain(|f| f.name == kernel);
    Ok(())
}

/// Runs `passes` in order: module passes once, function passes on every
/// kernel; verifies and dumps as `opts` says.
pub fn run_passes(
    m: &mut Module,
    passes: &[Pass],
    opts: &PipelineOptions,
) -> Result<(), PassError> {
    if let Some(verify) = opts.verify {
        verify(m).map_err(|e| {
            PassError::new(
                "verify",
                e.loc,
                format!("the pipeline's input is invalid: {}", e.message),
            )
        })?;
    }
    for pass in passes {
        match pass.run {
            PassFn::Module(run) => {
                run(m)?;
            }
            PassFn::Func(run) => {
                for f in m.funcs.iter_mut().filter(|f| f.kind == FuncKind::Kernel) {
                    run(f)?;
                }
            }
        }
        if let Some(verify) = opts.verify {
            verify(m).map_err(|e| {
                PassError::new(
                    pass.name,
                    e.loc,
                    format!("the IR is invalid after this pass: {}", e.message),
                )
            })?;
        }
        if let Some(dump) = &opts.dump {
            eprint!("{}", dump.render(pass.name, m));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::parse_module;

    const KERNEL: &str = r#"tile.kernel @k(%p: ptr<i32, global>) loc("k.rs":1:1) {
  %a = tile.constant {value = 2} : i32 loc("k.rs":2:1)
  %b = tile.constant {value = 3} : i32 loc("k.rs":3:1)
  %r = tile.call %a, %b {callee = "add"} : i32 loc("k.rs":4:1)
  %r2 = tile.call %a, %b {callee = "add"} : i32 loc("k.rs":5:1)
  %s = tile.add %r, %r2 : i32 loc("k.rs":6:1)
  tile.store %p, %s loc("k.rs":7:1)
  tile.return loc("k.rs":1:1)
}

tile.func @add(%x: i32, %y: i32) -> (i32) loc("k.rs":9:1) {
  %unused = tile.mul %x, %y : i32 loc("k.rs":10:1)
  %z = tile.add %x, %y : i32 loc("k.rs":11:1)
  tile.return %z loc("k.rs":11:1)
}
"#;

    #[test]
    fn pipeline_inlines_folds_and_cleans_up() {
        let mut m = parse_module(KERNEL).unwrap();
        let opts = PipelineOptions {
            verify: Some(verify_module),
            dump: None,
        };
        run_passes(&mut m, &TILE_PIPELINE, &opts).unwrap();
        let kernel = print_func(&m.funcs[0]);
        assert_eq!(
            kernel,
            r#"tile.kernel @k(%p: ptr<i32, global>) loc("k.rs":1:1) {
  %s = tile.constant {value = 10} : i32 loc("k.rs":6:1)
  tile.store %p, %s loc("k.rs":7:1)
  tile.return loc("k.rs":1:1)
}
"#
        );
        // The device function stays untouched.
        assert_eq!(
            print_func(&m.funcs[1]),
            print_func(&parse_module(KERNEL).unwrap().funcs[1])
        );
    }

    #[test]
    fn pipeline_order_is_listed() {
        let names: Vec<&str> = TILE_PIPELINE.iter().map(|p| p.name).collect();
        assert_eq!(names, ["inline", "canonicalize", "cse", "dce"]);
    }

    fn reject_adds(m: &Module) -> Result<(), VerifyError> {
        for f in &m.funcs {
            for op in f.body.walk(f.body.entry()) {
                let d = f.body.op(op);
                if d.kind == crate::ir::OpKind::Binary(crate::ir::BinaryOp::Add) {
                    return Err(VerifyError {
                        loc: d.loc.clone(),
                        message: "no adds allowed".into(),
                    });
                }
            }
        }
        Ok(())
    }

    #[test]
    fn verifier_failure_names_the_pass() {
        // A verifier that rejects any `tile.add`: the input has none, the
        // inliner brings one in from @add, so inlining is blamed.
        let src = KERNEL.replace("%s = tile.add %r, %r2 : i32", "%s = tile.mul %r, %r2 : i32");
        let mut m = parse_module(&src).unwrap();
        m.funcs.truncate(1);
        let mut with_callee = parse_module(&src).unwrap();
        let opts = PipelineOptions {
            verify: Some(reject_adds),
            dump: None,
        };
        // Without the callee the inliner fails on its own.
        let err = run_passes(&mut m, &TILE_PIPELINE, &opts).unwrap_err();
        assert_eq!(err.pass, "inline");
        assert_eq!(
            err.to_string(),
            "inline: k.rs:4:1: call to unknown function @add"
        );
        // The device function holds an add, so the input is already invalid.
        let err = run_passes(&mut with_callee, &TILE_PIPELINE, &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "verify: k.rs:11:1: the pipeline's input is invalid: no adds allowed"
        );
    }

    #[test]
    fn verifier_failure_after_a_pass() {
        fn kernels_only_no_add(m: &Module) -> Result<(), VerifyError> {
            let kernels = Module {
                funcs: m
                    .funcs
                    .iter()
                    .filter(|f| f.kind == FuncKind::Kernel)
                    .cloned()
                    .collect(),
            };
            reject_adds(&kernels)
        }
        let src = KERNEL.replace("%s = tile.add %r, %r2 : i32", "%s = tile.mul %r, %r2 : i32");
        let mut m = parse_module(&src).unwrap();
        let opts = PipelineOptions {
            verify: Some(kernels_only_no_add),
            dump: None,
        };
        let err = run_passes(&mut m, &TILE_PIPELINE, &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inline: k.rs:11:1: the IR is invalid after this pass: no adds allowed"
        );
    }

    #[test]
    fn dump_variables() {
        assert_eq!(DumpOptions::from_vars(None, Some("k")), None);
        assert_eq!(DumpOptions::from_vars(Some("gpu,llvm"), None), None);
        assert_eq!(
            DumpOptions::from_vars(Some("gpu, tile"), Some("softmax")),
            Some(DumpOptions {
                filter: Some("softmax".into())
            })
        );
        assert_eq!(
            DumpOptions::from_vars(Some("all"), Some("")),
            Some(DumpOptions { filter: None })
        );
    }

    #[test]
    fn dump_renders_filtered_functions() {
        let m = parse_module(KERNEL).unwrap();
        let all = DumpOptions { filter: None }.render("cse", &m);
        assert!(all.starts_with("// ----- tile IR after cse\ntile.kernel @k("));
        assert!(all.contains("\ntile.func @add("), "{all}");
        let only = DumpOptions {
            filter: Some("add".into()),
        }
        .render("dce", &m);
        assert!(only.starts_with("// ----- tile IR after dce\ntile.func @add("));
        assert!(!only.contains("@k"), "{only}");
        let none = DumpOptions {
            filter: Some("nope".into()),
        }
        .render("dce", &m);
        assert_eq!(none, "// ----- tile IR after dce\n");
    }
}
