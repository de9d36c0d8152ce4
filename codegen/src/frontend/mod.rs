//! The frontend: Rust syntax (read with syn) to tile IR.
//!
//! The DSL is Triton's programming model written as Rust functions (see
//! `shared/DESIGN.md`, "The DSL"). The `#[tile_kernel]` macro does not emit
//! the body as Rust: it hands the syn AST to this module, which builds tile
//! IR directly, the way Triton's Python frontend walks the Python AST. The
//! same code runs at build time and in the CLI through [`compile_source`].
//!
//! Structure:
//! - [`sig`](self::sig): signatures: const generics, `#[constexpr]` and runtime parameters.
//! - `types`: DSL type syntax, promotion and broadcasting rules.
//! - `value`: lowered values (IR values, weak literals, tuples) and constant folding.
//! - `scope`: bindings, `let mut`, the scan for assigned variables.
//! - `lower`: per-function state, op emission, typing helpers.
//! - `expr`: expressions, operators, methods, indexing sugar.
//! - `stmt`: `let`, assignment, `if`/`for`/`while` with carried values.
//! - `builtins`: the table of DSL functions and how each is built.
//! - `calls`: calls to `#[tile_fn]` device functions (instantiated per
//!   argument types, emitted as `tile.func` + `tile.call`).
//!
//! Compile-time parameters (const generics and `#[constexpr]` parameters)
//! stay symbolic by default: `Dim::Sym("BLOCK")` in types and
//! `tile.constexpr {name = "BLOCK"}` for values. [`CompileOptions::bindings`]
//! binds some of them to values instead (one declared configuration): the
//! same lowering then folds them, so shape errors, non-power-of-two sizes
//! and failing `static_assert`s that only appear in that configuration are
//! reported at the exact source span.
//!
//! Every error is a [`syn::Error`] at the offending span (the macro turns it
//! into a `compile_error!`), or a [`FrontendError`] with a file/line/column
//! for [`compile_source`]. The frontend never panics on user input.

mod builtins;
mod calls;
pub mod configs;
mod error;
mod expr;
mod lower;
mod scope;
pub mod sig;
mod stmt;
mod types;
mod value;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use syn::ext::IdentExt;

pub use builtins::{BUILTINS, Builtin, is_builtin};
pub use calls::{collect_calls, pretty_tokens};
pub use error::FrontendError;
pub use sig::{ConstSig, KernelSig, ParamKind, ParamSig, kernel_signature};

use crate::ir::{ConstValue, Func, FuncKind, Module};
use lower::Ctx;

/// How op locations name their source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileNames {
    /// Every location names this file (compiling a file's text).
    Fixed(String),
    /// Each location names the file the compiler reports for its span
    /// (inside a proc macro; a `#[tile_fn]` may live in another file).
    FromSpans,
}

/// Options of one compilation.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// How locations name files.
    pub file: FileNames,
    /// Values for some const parameters of the kernel (a configuration).
    /// Unbound ones stay symbolic.
    pub bindings: Vec<(String, ConstValue)>,
}

impl CompileOptions {
    /// Symbolic compilation with locations in `file`.
    pub fn new(file: &str) -> CompileOptions {
        CompileOptions {
            file: FileNames::Fixed(file.to_string()),
            bindings: Vec::new(),
        }
    }
}

/// Finds the `#[tile_fn]` a call refers to.
pub trait Resolver {
    /// The index (into the `fns` given to [`compile_kernel`]) of the function
    /// `path` names when called from the kernel (`caller == None`) or from
    /// `fns[caller]`.
    fn resolve(&self, caller: Option<usize>, path: &syn::Path) -> Option<usize>;
}

/// Resolves calls by the last segment of their path among the given
/// functions (the first with that name wins).
pub struct ResolveByName {
    names: Vec<String>,
}

impl ResolveByName {
    /// A resolver over `fns`.
    pub fn new(fns: &[syn::ItemFn]) -> ResolveByName {
        ResolveByName {
            names: fns
                .iter()
                .map(|f| f.sig.ident.unraw().to_string())
                .collect(),
        }
    }
}

impl Resolver for ResolveByName {
    fn resolve(&self, _caller: Option<usize>, path: &syn::Path) -> Option<usize> {
        let last = path.segments.last()?.ident.to_string();
        self.names.iter().position(|n| *n == last)
    }
}

fn new_ctx<'a>(
    fns: &'a [syn::ItemFn],
    resolver: &'a dyn Resolver,
    opts: &'a CompileOptions,
) -> Ctx<'a> {
    Ctx {
        fns,
        resolver,
        opts,
        funcs: Vec::new(),
        instances: HashMap::new(),
        stack: Vec::new(),
        sym_types: HashMap::new(),
        used_names: HashSet::new(),
    }
}

/// Compiles a `#[tile_kernel]` function and the `#[tile_fn]`s it calls into
/// one module: the kernel first, then one `tile.func` per instance of a
/// device function (per distinct argument types), called with `tile.call`.
pub fn compile_kernel(
    kernel: &syn::ItemFn,
    fns: &[syn::ItemFn],
    resolver: &dyn Resolver,
    opts: &CompileOptions,
) -> syn::Result<Module> {
    let mut ctx = new_ctx(fns, resolver, opts);
    let k = calls::lower_kernel(&mut ctx, kernel)?;
    let mut m = Module::new();
    m.funcs.push(k);
    m.funcs.append(&mut ctx.funcs);
    Ok(m)
}

/// Checks the `#[tile_fn]` `fns[index]` on its own, as far as that is
/// possible without its callers: const generics and `#[constexpr]`
/// parameters stay symbolic; calls to other tile functions resolve through
/// `resolver` (with `caller == Some(index)`). Returns the compiled
/// function, or None when a parameter type is `_` (only a call decides it).
pub fn check_tile_fn(
    fns: &[syn::ItemFn],
    index: usize,
    resolver: &dyn Resolver,
    opts: &CompileOptions,
) -> syn::Result<Option<Func>> {
    let Some(item) = fns.get(index) else {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("no function #{index} to check"),
        ));
    };
    sig::fn_signature(item)?;
    let mut ctx = new_ctx(fns, resolver, opts);
    calls::lower_standalone(&mut ctx, index)
}

/// Compiles one function that calls no other tile function: a kernel
/// (`FuncKind::Kernel`) or a `#[tile_fn]` (`FuncKind::Device`, const
/// generics symbolic). Locations name `file`.
pub fn compile_fn(item: &syn::ItemFn, kind: FuncKind, file: &str) -> syn::Result<Func> {
    let opts = CompileOptions::new(file);
    match kind {
        FuncKind::Kernel => {
            let m = compile_kernel(item, &[], &ResolveByName { names: vec![] }, &opts)?;
            Ok(m.funcs.into_iter().next().expect("the kernel is first"))
        }
        FuncKind::Device => {
            let fns = std::slice::from_ref(item);
            match check_tile_fn(fns, 0, &ResolveByName::new(fns), &opts)? {
                Some(f) => Ok(f),
                None => Err(syn::Error::new(
                    item.sig.ident.span(),
                    "this #[tile_fn] has `_` parameter types: it can only be compiled from a \
                     call that decides them",
                )),
            }
        }
    }
}

/// The kind of tile function an attribute marks, if any.
fn tile_attr(attrs: &[syn::Attribute]) -> Option<FuncKind> {
    attrs.iter().find_map(|a| {
        let last = a.path().segments.last()?.ident.to_string();
        match last.as_str() {
            "tile_kernel" => Some(FuncKind::Kernel),
            "tile_fn" => Some(FuncKind::Device),
            _ => None,
        }
    })
}

fn collect_items(items: &[syn::Item], out: &mut Vec<(syn::ItemFn, FuncKind)>) {
    for item in items {
        match item {
            syn::Item::Fn(f) => {
                if let Some(k) = tile_attr(&f.attrs) {
                    out.push((f.clone(), k));
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    collect_items(items, out);
                }
            }
            _ => {}
        }
    }
}

/// Compiles every `#[tile_kernel]` and `#[tile_fn]` function of a Rust
/// source file (inline modules included) into one module. Calls to tile
/// functions resolve by the last segment of their path within the file.
/// Kernels come first, in source order, each followed by the device
/// functions it instantiates; a `#[tile_fn]` with a concrete signature that
/// no kernel instantiated is added at the end. Const parameters stay
/// symbolic.
pub fn compile_source(src: &str, file: &str) -> Result<Module, FrontendError> {
    let parsed = syn::parse_file(src).map_err(|e| FrontendError::from_syn(&e, file))?;
    let mut items = Vec::new();
    collect_items(&parsed.items, &mut items);
    let fns: Vec<syn::ItemFn> = items
        .iter()
        .filter(|(_, k)| *k == FuncKind::Device)
        .map(|(f, _)| f.clone())
        .collect();
    let resolver = ResolveByName::new(&fns);
    let opts = CompileOptions::new(file);
    let mut ctx = new_ctx(&fns, &resolver, &opts);
    let mut m = Module::new();
    let wrap = |e: syn::Error| FrontendError::from_syn(&e, file);
    for (item, kind) in &items {
        if *kind == FuncKind::Kernel {
            ctx.used_names.insert(item.sig.ident.unraw().to_string());
        }
    }
    for (item, kind) in &items {
        if *kind == FuncKind::Kernel {
            let k = calls::lower_kernel(&mut ctx, item).map_err(wrap)?;
            m.funcs.push(k);
            m.funcs.append(&mut ctx.funcs);
        }
    }
    for i in 0..fns.len() {
        // Check every tile_fn; keep the ones with a concrete signature.
        calls::lower_concrete(&mut ctx, i).map_err(wrap)?;
        m.funcs.append(&mut ctx.funcs);
    }
    Ok(m)
}
