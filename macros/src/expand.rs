//! The three expansions: `#[tile_kernel]`, `#[tile_fn]` and the hidden
//! `tile_kernel_resolved!` that receives a kernel together with the sources
//! of the tile functions it calls (see the crate docs for the protocol).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use syn::ext::IdentExt;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use tilefuse_codegen::frontend::{
    self, CompileOptions, FileNames, KernelSig, ParamKind, Resolver, collect_calls,
};
use tilefuse_codegen::ir::{ConstValue, Module, ScalarType, print_module, verify_module};

use crate::paths::key;
use tilefuse_codegen::frontend::configs::{
    Config, check_configs, check_prebuild_flags, parse_kernel_attr,
};

/// The marker the tile functions' `macro_rules!` match on.
const MARKER: &str = "tilefuse_resolve";

/// Turns errors into `compile_error!`s.
fn errors(e: syn::Error) -> TokenStream {
    e.to_compile_error()
}

fn options() -> CompileOptions {
    CompileOptions {
        file: FileNames::FromSpans,
        bindings: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// The resolution protocol

/// One function of a closure: its identity (name and definition site), its
/// source, and what each call path written in it resolves to.
#[derive(Clone)]
struct Entry {
    id: String,
    item: TokenStream,
    deps: Vec<(syn::Path, String)>,
}

impl Entry {
    fn tokens(&self) -> TokenStream {
        let id = &self.id;
        let item = &self.item;
        let deps = self.deps.iter().map(|(p, i)| quote!((#p) (#i)));
        quote!((#id) { #item } [ #(#deps)* ])
    }

    fn parse_list(input: ParseStream) -> syn::Result<Vec<Entry>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let c;
            syn::parenthesized!(c in input);
            let id: syn::LitStr = c.parse()?;
            let b;
            syn::braced!(b in input);
            let item: TokenStream = b.parse()?;
            let d;
            syn::bracketed!(d in input);
            let mut deps = Vec::new();
            while !d.is_empty() {
                deps.push(parse_mapping(&d)?);
            }
            out.push(Entry {
                id: id.value(),
                item,
                deps,
            });
        }
        Ok(out)
    }
}

/// `(path) ("id")`.
fn parse_mapping(input: ParseStream) -> syn::Result<(syn::Path, String)> {
    let p;
    syn::parenthesized!(p in input);
    let path = p.call(syn::Path::parse_mod_style)?;
    let i;
    syn::parenthesized!(i in input);
    let id: syn::LitStr = i.parse()?;
    Ok((path, id.value()))
}

/// What is being resolved: a kernel, or a tile function being defined.
#[derive(Clone)]
enum Target {
    Kernel {
        attr: TokenStream,
        item: TokenStream,
    },
    TileFn {
        item: TokenStream,
    },
}

/// The state carried from one resolution step to the next.
#[derive(Clone)]
struct State {
    target: Target,
    /// Every function of the closures received so far (deduplicated).
    collected: Vec<Entry>,
    /// The target's own calls: path as written -> identity.
    roots: Vec<(syn::Path, String)>,
    pending: Vec<syn::Path>,
}

impl State {
    /// `path! { @tilefuse_resolve STATE (path) }`: asks the tile function at
    /// `path` (resolved by rustc where the target is) for its closure.
    fn request(&self, path: &syn::Path) -> TokenStream {
        let marker = format_ident!("{}", MARKER);
        let target = match &self.target {
            Target::Kernel { attr, item } => quote!(kernel { #attr } { #item }),
            Target::TileFn { item } => quote!(tile_fn { #item }),
        };
        let collected = self.collected.iter().map(Entry::tokens);
        let roots = self.roots.iter().map(|(p, i)| quote!((#p) (#i)));
        let pending = self.pending.iter().map(|p| quote!((#p)));
        quote! {
            #path ! {
                @#marker #target [ #(#collected)* ] [ #(#roots)* ] [ #(#pending)* ] (#path)
            }
        }
    }

    /// Requests the next pending path, or gives the state back when
    /// everything is resolved.
    fn next(mut self) -> Next {
        if self.pending.is_empty() {
            return Next::Done(Box::new(self));
        }
        let next = self.pending.remove(0);
        Next::Request(self.request(&next))
    }
}

/// What follows a resolution step.
enum Next {
    /// Ask for another closure.
    Request(TokenStream),
    /// Everything is resolved.
    Done(Box<State>),
}

/// One resolution step as received: the state, the path just requested,
/// and the closure its tile function replayed.
struct Step {
    state: State,
    requested: syn::Path,
    answer: Vec<Entry>,
}

impl Parse for Step {
    fn parse(input: ParseStream) -> syn::Result<Step> {
        let kind: syn::Ident = input.parse()?;
        let target = if kind == "kernel" {
            let a;
            syn::braced!(a in input);
            let attr: TokenStream = a.parse()?;
            let i;
            syn::braced!(i in input);
            Target::Kernel {
                attr,
                item: i.parse()?,
            }
        } else if kind == "tile_fn" {
            let i;
            syn::braced!(i in input);
            Target::TileFn { item: i.parse()? }
        } else {
            return Err(syn::Error::new(kind.span(), "unknown resolution target"));
        };
        let c;
        syn::bracketed!(c in input);
        let collected = Entry::parse_list(&c)?;
        let r;
        syn::bracketed!(r in input);
        let mut roots = Vec::new();
        while !r.is_empty() {
            roots.push(parse_mapping(&r)?);
        }
        let p;
        syn::bracketed!(p in input);
        let mut pending = Vec::new();
        while !p.is_empty() {
            let x;
            syn::parenthesized!(x in p);
            pending.push(x.call(syn::Path::parse_mod_style)?);
        }
        let q;
        syn::parenthesized!(q in input);
        let requested = q.call(syn::Path::parse_mod_style)?;
        let a;
        syn::braced!(a in input);
        let answer = Entry::parse_list(&a)?;
        Ok(Step {
            state: State {
                target,
                collected,
                roots,
                pending,
            },
            requested,
            answer,
        })
    }
}

/// The calls of a function that name tile functions to request: each
/// distinct path once, without a function's calls to itself.
fn requests(f: &syn::ItemFn) -> Vec<syn::Path> {
    let name = f.sig.ident.unraw().to_string();
    collect_calls(f)
        .into_iter()
        .filter(|p| {
            let k = key(p);
            k != name && k != format!("self::{name}")
        })
        .collect()
}

/// Resolves calls through the closures the tile functions replayed.
#[derive(Default)]
struct ClosureResolver {
    /// The kernel's calls: path key -> function index.
    roots: HashMap<String, usize>,
    /// Each function's calls: path key -> function index.
    deps: Vec<HashMap<String, usize>>,
}

impl ClosureResolver {
    /// The functions of `entries` (parsed) and a resolver over them.
    fn new(
        entries: &[Entry],
        roots: &[(syn::Path, String)],
    ) -> syn::Result<(Vec<syn::ItemFn>, ClosureResolver)> {
        let index = |id: &str| entries.iter().position(|e| e.id == id);
        let mut fns = Vec::new();
        let mut r = ClosureResolver::default();
        for e in entries {
            fns.push(syn::parse2::<syn::ItemFn>(e.item.clone())?);
            r.deps.push(
                e.deps
                    .iter()
                    .filter_map(|(p, id)| Some((key(p), index(id)?)))
                    .collect(),
            );
        }
        r.roots = roots
            .iter()
            .filter_map(|(p, id)| Some((key(p), index(id)?)))
            .collect();
        Ok((fns, r))
    }
}

impl Resolver for ClosureResolver {
    fn resolve(&self, caller: Option<usize>, path: &syn::Path) -> Option<usize> {
        let map = match caller {
            None => &self.roots,
            Some(i) => self.deps.get(i)?,
        };
        map.get(&key(path)).copied()
    }
}

// ---------------------------------------------------------------------------
// #[tile_kernel]

/// Expands `#[tile_kernel(attr)] item`.
pub(crate) fn tile_kernel(attr: TokenStream, item: TokenStream) -> TokenStream {
    match tile_kernel_inner(attr, item) {
        Ok(t) => t,
        Err(e) => errors(e),
    }
}

fn tile_kernel_inner(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let kernel: syn::ItemFn = syn::parse2(item.clone()).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[tile_kernel] applies to a function: `fn name(..) { .. }`",
        )
    })?;
    let sig = frontend::kernel_signature(&kernel)?;
    let parsed = parse_kernel_attr(attr.clone())?;
    check_configs(&parsed, &sig)?;
    check_prebuild_flags(&parsed, &sig)?;
    let state = State {
        target: Target::Kernel { attr, item },
        collected: Vec::new(),
        roots: Vec::new(),
        pending: collect_calls(&kernel),
    };
    match state.next() {
        Next::Request(request) => Ok(request),
        Next::Done(state) => finish_kernel(*state),
    }
}

/// Compiles a kernel whose calls are all resolved and emits its items.
fn finish_kernel(state: State) -> syn::Result<TokenStream> {
    let Target::Kernel { attr, item } = &state.target else {
        return Err(syn::Error::new(
            Span::call_site(),
            "internal error: not a kernel",
        ));
    };
    let kernel: syn::ItemFn = syn::parse2(item.clone())?;
    let sig = frontend::kernel_signature(&kernel)?;
    let parsed = parse_kernel_attr(attr.clone())?;
    let configs = check_configs(&parsed, &sig)?;
    let flags = check_prebuild_flags(&parsed, &sig)?;
    let (fns, resolver) = ClosureResolver::new(&state.collected, &state.roots)?;
    // A tile function that fails on its own has reported its errors where
    // it is defined; don't report them a second time from every kernel.
    for i in 0..fns.len() {
        if frontend::check_tile_fn(&fns, i, &resolver, &options()).is_err() {
            return Ok(TokenStream::new());
        }
    }
    finish(&kernel, &sig, &configs, &flags, &fns, &resolver)
}

/// Compiles the kernel, checks every configuration, emits the Rust items.
fn finish(
    kernel: &syn::ItemFn,
    sig: &KernelSig,
    configs: &[Config],
    flags: &[String],
    fns: &[syn::ItemFn],
    resolver: &ClosureResolver,
) -> syn::Result<TokenStream> {
    let opts = options();
    let module = frontend::compile_kernel(kernel, fns, resolver, &opts)?;
    if let Err(e) = verify_module(&module) {
        return Err(syn::Error::new(
            sig.name.span(),
            format!(
                "internal compiler error: the tile IR built for `{}` does not verify ({e}); \
                 please report this with the kernel's source",
                sig.name
            ),
        ));
    }
    for (i, c) in configs.iter().enumerate() {
        check_config(kernel, sig, c, i, fns, resolver, &module)?;
    }
    Ok(emit_kernel(
        kernel,
        sig,
        configs,
        flags,
        &print_module(&module),
    ))
}

/// Compiles the kernel once more with a configuration's values (and each
/// value of the `#[constexpr] bool` parameters it leaves open), then runs
/// the specialize pass on the unspecialized module when every constant is
/// bound. Errors name the configuration.
fn check_config(
    kernel: &syn::ItemFn,
    sig: &KernelSig,
    c: &Config,
    index: usize,
    fns: &[syn::ItemFn],
    resolver: &ClosureResolver,
    module: &Module,
) -> syn::Result<()> {
    let open_bools: Vec<&str> = sig
        .consts
        .iter()
        .filter(|k| k.ty == ScalarType::I1 && !c.consts.iter().any(|(n, _)| *n == k.name))
        .map(|k| k.name.as_str())
        .take(4)
        .collect();
    for mask in 0..(1u32 << open_bools.len()) {
        let mut bindings = c.consts.clone();
        let mut extra = String::new();
        for (b, name) in open_bools.iter().enumerate() {
            let v = mask & (1 << b) != 0;
            bindings.push((name.to_string(), ConstValue::Bool(v)));
            extra.push_str(&format!(" with {name} = {v}"));
        }
        let what = format!("configuration #{} {}{extra}", index + 1, c.shown);
        let opts = CompileOptions {
            file: FileNames::FromSpans,
            bindings: bindings.clone(),
        };
        if let Err(e) = frontend::compile_kernel(kernel, fns, resolver, &opts) {
            let mut all: Option<syn::Error> = None;
            for one in e {
                let wrapped = syn::Error::new(one.span(), format!("in {what}: {one}"));
                match &mut all {
                    Some(a) => a.combine(wrapped),
                    None => all = Some(wrapped),
                }
            }
            return Err(all.expect("at least one error"));
        }
        let all_bound = sig
            .consts
            .iter()
            .all(|k| bindings.iter().any(|(n, _)| *n == k.name));
        if all_bound
            && let Err(e) =
                tilefuse_codegen::passes::specialize(module, &sig.name.to_string(), &bindings)
        {
            return Err(syn::Error::new_spanned(
                &c.tokens,
                format!("{what} does not specialize: {e}"),
            ));
        }
    }
    Ok(())
}

/// The Rust type of a DSL element type, for the launcher.
fn rust_elem(s: ScalarType) -> TokenStream {
    match s {
        ScalarType::I1 => quote!(bool),
        ScalarType::I8 => quote!(i8),
        ScalarType::I16 => quote!(i16),
        ScalarType::I32 => quote!(i32),
        ScalarType::I64 => quote!(i64),
        ScalarType::F16 => quote!(::tilefuse::f16),
        ScalarType::BF16 => quote!(::tilefuse::bf16),
        ScalarType::F32 => quote!(f32),
        ScalarType::F64 => quote!(f64),
    }
}

fn const_value_tokens(v: &ConstValue) -> TokenStream {
    match v {
        ConstValue::Int(i) => {
            let lit = proc_macro2::Literal::i64_unsuffixed(*i);
            quote!(::tilefuse::__private::ConstValue::Int(#lit))
        }
        ConstValue::Bool(b) => quote!(::tilefuse::__private::ConstValue::Bool(#b)),
    }
}

/// The struct, its IR, its metadata and its typed launcher.
fn emit_kernel(
    kernel: &syn::ItemFn,
    sig: &KernelSig,
    configs: &[Config],
    flags: &[String],
    ir: &str,
) -> TokenStream {
    let name = &sig.name;
    let name_str = name.to_string();
    let vis = &sig.vis;
    let generics: Vec<TokenStream> = sig.consts[..sig.num_generics]
        .iter()
        .map(|c| {
            let id = format_ident!("{}", c.name, span = c.span);
            let t = &c.rust_ty;
            quote!(const #id: #t)
        })
        .collect();
    let generic_names: Vec<syn::Ident> = sig.consts[..sig.num_generics]
        .iter()
        .map(|c| format_ident!("{}", c.name, span = c.span))
        .collect();
    let (decl, args_of) = if generics.is_empty() {
        (quote!(), quote!())
    } else {
        (quote!(<#(#generics),*>), quote!(<#(#generic_names),*>))
    };
    let docs: Vec<&syn::Attribute> = kernel
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let doc = if docs.is_empty() {
        let d = format!(
            "The tile kernel `{name_str}` (generated by `#[tile_kernel]`): launch it with \
             [`{name_str}::launch`]."
        );
        quote!(#[doc = #d])
    } else {
        quote!(#(#docs)*)
    };
    let config_tokens = configs.iter().map(|c| {
        let consts = c.consts.iter().map(|(n, v)| {
            let v = const_value_tokens(v);
            quote!((#n, #v))
        });
        let (w, s, cpu) = (c.num_warps, c.num_stages, c.cpu_only);
        quote! {
            ::tilefuse::__private::Config {
                consts: &[#(#consts),*],
                num_warps: #w,
                num_stages: #s,
                cpu_only: #cpu,
            }
        }
    });
    // The launcher.
    let mut lt_generics = Vec::new();
    let mut arg_types = Vec::new();
    let mut arg_vals = Vec::new();
    let mut consts = Vec::new();
    for (c, id) in sig.consts[..sig.num_generics].iter().zip(&generic_names) {
        let n = &c.name;
        consts.push(if c.ty == ScalarType::I1 {
            quote!((#n, ::tilefuse::__private::ConstValue::Bool(#id)))
        } else {
            quote!((#n, ::tilefuse::__private::ConstValue::Int(#id as i64)))
        });
    }
    let mut shown_args = Vec::new();
    for (k, p) in sig.params.iter().enumerate() {
        let idx = syn::Index::from(k);
        shown_args.push(p.name.clone());
        match &p.kind {
            ParamKind::Ptr(s) => {
                let a = format_ident!("A{}", k);
                let e = rust_elem(*s);
                lt_generics.push(quote!(#a: ::tilefuse::__private::PtrArg<'a, #e>));
                arg_types.push(quote!(#a));
                arg_vals.push(quote!(::tilefuse::__private::PtrArg::into_arg(args.#idx)));
            }
            ParamKind::Scalar(s) => {
                arg_types.push(rust_elem(*s));
                arg_vals.push(quote!(::tilefuse::__private::Arg::from(args.#idx)));
            }
            ParamKind::Constexpr(ci) => {
                let c = &sig.consts[*ci];
                let t = &c.rust_ty;
                arg_types.push(quote!(#t));
                let n = &c.name;
                consts.push(if c.ty == ScalarType::I1 {
                    quote!((#n, ::tilefuse::__private::ConstValue::Bool(args.#idx)))
                } else {
                    quote!((#n, ::tilefuse::__private::ConstValue::Int(args.#idx as i64)))
                });
            }
        }
    }
    let launch_generics = if lt_generics.is_empty() {
        quote!()
    } else {
        quote!(<'a, #(#lt_generics),*>)
    };
    let launch_doc = format!(
        "Launches `{name_str}` over `grid` with `args = ({})`: tensors for `Ptr<T>` \
         parameters, values for scalars and `#[constexpr]` parameters. The const generics \
         select the compile-time values.",
        shown_args.join(", ")
    );
    let launch_on_doc = format!(
        "Like [`{name_str}::launch`], on the stream's device, but only enqueues the kernel on \
         `stream` and returns: synchronize the stream (or read a tensor) to wait for it."
    );
    let span = Span::call_site();
    quote_spanned! {span=>
        #doc
        #[allow(non_camel_case_types)]
        #vis struct #name #decl;

        #[allow(clippy::unnecessary_cast)]
        impl #decl #name #args_of {
            /// The unspecialized tile IR of the kernel and the device functions it calls.
            pub const IR: &'static str = #ir;
            /// Kernel metadata for the runtime.
            pub const KERNEL: ::tilefuse::__private::KernelSource = ::tilefuse::__private::KernelSource {
                name: #name_str,
                ir: Self::IR,
                configs: &[#(#config_tokens),*],
                prebuilt_flags: &[#(#flags),*],
                prebuilt: ::tilefuse::__private::PREBUILT,
            };
            #[doc = #launch_doc]
            #[allow(unused_variables)]
            pub fn launch #launch_generics (
                dev: &::tilefuse::Device,
                grid: ::tilefuse::Grid,
                args: (#(#arg_types,)*),
            ) -> ::core::result::Result<(), ::tilefuse::Error> {
                ::tilefuse::__private::launch(
                    dev,
                    &Self::KERNEL,
                    &[#(#consts),*],
                    grid,
                    ::std::vec![#(#arg_vals),*],
                )
            }
            #[doc = #launch_on_doc]
            #[allow(unused_variables)]
            pub fn launch_on #launch_generics (
                stream: &::tilefuse::Stream,
                grid: ::tilefuse::Grid,
                args: (#(#arg_types,)*),
            ) -> ::core::result::Result<(), ::tilefuse::Error> {
                ::tilefuse::__private::launch_on(
                    stream,
                    &Self::KERNEL,
                    &[#(#consts),*],
                    grid,
                    ::std::vec![#(#arg_vals),*],
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------
// #[tile_fn]

/// Expands `#[tile_fn] item`: resolves the tile functions it calls (in its
/// own module), checks it, and defines the macro that replays its closure.
pub(crate) fn tile_fn(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    if !attr.is_empty() {
        out.extend(errors(syn::Error::new_spanned(
            &attr,
            "#[tile_fn] takes no arguments",
        )));
    }
    let f: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            out.extend(errors(syn::Error::new(
                e.span(),
                "#[tile_fn] applies to a function: `fn name(..) -> T { .. }`",
            )));
            return out;
        }
    };
    let state = State {
        target: Target::TileFn { item },
        collected: Vec::new(),
        roots: Vec::new(),
        pending: requests(&f),
    };
    out.extend(match state.next() {
        Next::Request(request) => request,
        Next::Done(state) => finish_tile_fn(*state),
    });
    out
}

/// Checks a tile function whose calls are resolved and emits its replay
/// macro, carrying the function and everything it calls.
fn finish_tile_fn(state: State) -> TokenStream {
    let Target::TileFn { item } = &state.target else {
        return errors(syn::Error::new(
            Span::call_site(),
            "internal error: not a tile_fn",
        ));
    };
    let f: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return errors(e),
    };
    let name = &f.sig.ident;
    let id = identity(name);
    let mut deps = state.roots.clone();
    // Calls to itself resolve to itself (the frontend reports the recursion).
    for p in collect_calls(&f) {
        let k = key(&p);
        if *name == k || k == format!("self::{name}") {
            deps.push((p, id.clone()));
        }
    }
    let mut closure = vec![Entry {
        id: id.clone(),
        item: item.clone(),
        deps,
    }];
    closure.extend(state.collected.iter().filter(|e| e.id != id).cloned());

    let mut out = TokenStream::new();
    match ClosureResolver::new(&closure, &[]) {
        Ok((fns, resolver)) => {
            if let Err(e) = frontend::check_tile_fn(&fns, 0, &resolver, &options()) {
                out.extend(errors(e));
            }
        }
        Err(e) => out.extend(errors(e)),
    }
    let mangled = format_ident!("__tilefuse_tile_fn_{}_{:016x}", name, identity_hash(name));
    let marker = format_ident!("{}", MARKER);
    let misuse = format!(
        "`{name}` is a #[tile_fn]: call it as a function, `{name}(..)`, from a #[tile_kernel] \
         or another #[tile_fn]"
    );
    let entries = closure.iter().map(Entry::tokens);
    out.extend(quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #mangled {
            (@#marker $($state:tt)*) => {
                ::tilefuse::__private::tile_kernel_resolved! { $($state)* { #(#entries)* } }
            };
            ($($other:tt)*) => {
                ::core::compile_error! { #misuse }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #mangled as #name;
    });
    out
}

/// A hash of where a function is defined, to name its `macro_rules!`
/// uniquely within the crate.
fn identity_hash(name: &syn::Ident) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    identity(name).hash(&mut h);
    h.finish()
}

/// A function's identity: its name and where it is defined.
fn identity(name: &syn::Ident) -> String {
    let s = name.span();
    let start = s.start();
    format!("{name}@{}:{}:{}", s.file(), start.line, start.column)
}

// ---------------------------------------------------------------------------
// tile_kernel_resolved!

/// Expands one step of the resolution.
pub(crate) fn resolved(input: TokenStream) -> TokenStream {
    match resolved_inner(input) {
        Ok(t) => t,
        Err(e) => errors(e),
    }
}

fn resolved_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let step: Step = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "tile_kernel_resolved! is internal to #[tile_kernel] and #[tile_fn]; do not \
                 invoke it directly ({e})"
            ),
        )
    })?;
    let mut state = step.state;
    let Some(root) = step.answer.first() else {
        return Err(syn::Error::new_spanned(
            &step.requested,
            "internal error: a tile function replayed nothing",
        ));
    };
    state.roots.push((step.requested.clone(), root.id.clone()));
    for e in step.answer {
        if !state.collected.iter().any(|c| c.id == e.id) {
            state.collected.push(e);
        }
    }
    match state.next() {
        Next::Request(request) => Ok(request),
        Next::Done(state) => match state.target {
            Target::Kernel { .. } => finish_kernel(*state),
            Target::TileFn { .. } => Ok(finish_tile_fn(*state)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(src: TokenStream, attr: TokenStream) -> String {
        tile_kernel(attr, src).to_string()
    }

    #[test]
    fn kernel_without_calls_expands_to_struct_and_launcher() {
        let out = kernel(
            quote! {
                /// Adds.
                pub fn add<const BLOCK: usize>(x: Ptr<f32>, y: Ptr<f32>, n: i32, #[constexpr] twice: bool) {
                    let o = program_id(0) * BLOCK as i32 + arange::<BLOCK>();
                    let v = load(x + o, o < n, 0.0);
                    store(y + o, if twice { v + v } else { v }, o < n);
                }
            },
            quote!(configs = [(BLOCK = 64), (BLOCK = 128, num_warps = 8, twice = true)]),
        );
        for needle in [
            "# [doc = r\" Adds.\"]",
            "pub struct add < const BLOCK : usize >",
            "impl < const BLOCK : usize > add < BLOCK >",
            "pub const IR : & 'static str = \"tile.kernel @add<BLOCK: i32, twice: i1>",
            "name : \"add\"",
            "consts : & [(\"BLOCK\" , :: tilefuse :: __private :: ConstValue :: Int (64))] , num_warps : 4u32 , num_stages : 2u32",
            "(\"twice\" , :: tilefuse :: __private :: ConstValue :: Bool (true))] , num_warps : 8u32",
            "pub fn launch < 'a , A0 : :: tilefuse :: __private :: PtrArg < 'a , f32 > , A1 : :: tilefuse :: __private :: PtrArg < 'a , f32 > >",
            "pub fn launch_on < 'a , A0 : :: tilefuse :: __private :: PtrArg < 'a , f32 > , A1 : :: tilefuse :: __private :: PtrArg < 'a , f32 > > (stream : & :: tilefuse :: Stream",
            ":: tilefuse :: __private :: launch_on (stream , & Self :: KERNEL",
            "args : (A0 , A1 , i32 , bool ,)",
            "(\"BLOCK\" , :: tilefuse :: __private :: ConstValue :: Int (BLOCK as i64))",
            "(\"twice\" , :: tilefuse :: __private :: ConstValue :: Bool (args . 3))",
            ":: tilefuse :: __private :: PtrArg :: into_arg (args . 0)",
            ":: tilefuse :: __private :: Arg :: from (args . 2)",
        ] {
            assert!(out.contains(needle), "`{needle}` not in:\n{out}");
        }
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn kernel_without_generics() {
        let out = kernel(
            quote!(
                fn k(x: Ptr<bf16>, v: f16) {
                    store(x, v.cast::<bf16>());
                }
            ),
            quote!(),
        );
        assert!(out.contains("struct k ;"), "{out}");
        assert!(out.contains("args : (A0 , :: tilefuse :: f16 ,)"), "{out}");
        assert!(out.contains("PtrArg < 'a , :: tilefuse :: bf16 >"), "{out}");
        assert!(out.contains("configs : & []"), "{out}");
    }

    #[test]
    fn kernel_errors_become_compile_errors() {
        let out = kernel(
            quote!(
                fn k(x: Ptr<f32>) {
                    let v = arange::<100>();
                }
            ),
            quote!(),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("not a power of two"), "{out}");
        let out = kernel(
            quote!(
                fn k<const B: usize>(x: Ptr<f32>) {
                    let v = arange::<B>();
                }
            ),
            quote!(configs = [(B = 16), (B = 24)]),
        );
        assert!(
            out.contains("in configuration #2 (B = 24): arange size 24 is not a power of two"),
            "{out}"
        );
        let out = kernel(
            quote!(
                struct S;
            ),
            quote!(),
        );
        assert!(out.contains("applies to a function"), "{out}");
    }

    #[test]
    fn kernel_calls_request_closures() {
        let attr = quote!(configs = [(B = 16)]);
        let k = quote! {
            fn k<const B: usize>(x: Ptr<f32>) {
                let v = load(x + arange::<B>());
                store(x + arange::<B>(), helpers::twice(v) + norm::<B>(v));
            }
        };
        let out = tile_kernel(attr.clone(), k.clone()).to_string();
        assert!(
            out.starts_with("helpers :: twice ! { @ tilefuse_resolve kernel {"),
            "{out}"
        );
        assert!(
            out.ends_with("[] [] [(norm)] (helpers :: twice) }"),
            "{out}"
        );

        // `helpers::twice` replays its closure: itself and `scale`, which it calls.
        let twice = quote!(
            pub fn twice(x: _) -> _ {
                scale(x, 2.0)
            }
        );
        let scale = quote!(
            fn scale(x: _, s: f32) -> _ {
                x * s
            }
        );
        let answer = quote! {
            ("twice@h.rs:1:7") { #twice } [(scale) ("scale@h.rs:2:3")]
            ("scale@h.rs:2:3") { #scale } []
        };
        let step = quote! {
            kernel { #attr } { #k } [] [] [(norm)] (helpers::twice) { #answer }
        };
        let out = resolved(step).to_string();
        assert!(
            out.starts_with("norm ! { @ tilefuse_resolve kernel"),
            "{out}"
        );
        assert!(
            out.contains("[(helpers :: twice) (\"twice@h.rs:1:7\")] [] (norm) }"),
            "{out}"
        );

        let norm = quote!(
            fn norm<const N: usize>(x: Tile<f32, N>) -> Tile<f32, N> {
                x / sum(x, 0)
            }
        );
        let step = quote! {
            kernel { #attr } { #k } [ #answer ] [(helpers::twice) ("twice@h.rs:1:7")] [] (norm)
            { ("norm@n.rs:1:1") { #norm } [] }
        };
        let out = resolved(step).to_string();
        assert!(!out.contains("compile_error"), "{out}");
        for needle in [
            "tile.call %v {callee = \\\"twice\\\"}",
            "tile.func @twice<B: i32>",
            "{callee = \\\"scale\\\"}",
            "tile.func @norm<B: i32>",
            "tile.func @scale<B: i32>",
            "pub fn launch",
        ] {
            assert!(out.contains(needle), "`{needle}` not in:\n{out}");
        }
    }

    #[test]
    fn tile_fn_without_calls_defines_its_replay_macro() {
        let out = tile_fn(
            quote!(),
            quote!(
                pub fn twice(x: f32) -> f32 {
                    x * 2
                }
            ),
        )
        .to_string();
        assert!(
            out.contains("macro_rules ! __tilefuse_tile_fn_twice_"),
            "{out}"
        );
        assert!(
            out.contains("(@ tilefuse_resolve $ ($ state : tt) *) => { :: tilefuse :: __private :: tile_kernel_resolved ! { $ ($ state) * { (\"twice@"),
            "{out}"
        );
        assert!(
            out.contains("{ pub fn twice (x : f32) -> f32 { x * 2 } } [] } } } ;"),
            "{out}"
        );
        assert!(
            out.contains("pub (crate) use __tilefuse_tile_fn_twice_"),
            "{out}"
        );
        assert!(out.contains("as twice ;"), "{out}");
        assert!(!out.contains("compile_error ! ("), "{out}");
        let out = tile_fn(
            quote!(),
            quote!(
                fn bad(x: f32) -> f32 {
                    x.powi(2)
                }
            ),
        )
        .to_string();
        assert!(out.contains("not a method of tile code"), "{out}");
        assert!(out.contains("macro_rules !"), "{out}");
        let out = tile_fn(
            quote!(x),
            quote!(
                fn f() {}
            ),
        )
        .to_string();
        assert!(out.contains("takes no arguments"), "{out}");
    }

    #[test]
    fn tile_fn_with_calls_resolves_them_first() {
        let f = quote!(
            fn f(x: f32) -> f32 {
                super::g(x) + f(x) * 0.0
            }
        );
        let out = tile_fn(quote!(), f.clone()).to_string();
        // Only `super::g` is requested: the call to itself is not.
        assert!(
            out.starts_with("super :: g ! { @ tilefuse_resolve tile_fn {"),
            "{out}"
        );
        assert!(out.ends_with("[] [] [] (super :: g) }"), "{out}");
        let step = quote! {
            tile_fn { #f } [] [] [] (super::g) { ("g@g.rs:1:1") { fn g(x: f32) -> f32 { x } } [] }
        };
        let out = resolved(step).to_string();
        // The replay macro carries f (with its calls resolved) and g.
        assert!(
            out.contains("[(super :: g) (\"g@g.rs:1:1\") (f) (\"f@"),
            "{out}"
        );
        assert!(
            out.contains("(\"g@g.rs:1:1\") { fn g (x : f32) -> f32 { x } } []"),
            "{out}"
        );
        // The standalone check sees the recursion.
        assert!(out.contains("recursion is not supported"), "{out}");
    }
}
