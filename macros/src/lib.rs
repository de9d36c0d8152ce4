//! tilefuse-macros: `#[tile_kernel]` and `#[tile_fn]`.
//!
//! The macros do not emit the function bodies as Rust. `#[tile_kernel]`
//! hands the syn AST of the kernel to the frontend
//! (`tilefuse_codegen::frontend`), which builds tile IR; the macro then
//! checks every declared configuration and emits a struct named after the
//! kernel with the IR text (`IR`), the metadata (`KERNEL`: name, IR,
//! configurations) and a typed `launch` that calls
//! `::tilefuse::__private::launch`. Every error is a `compile_error!` at
//! the user's span; nothing here panics on user input.
//!
//! # How a kernel finds the `#[tile_fn]`s it calls
//!
//! A proc macro sees only the item it is applied to, yet the kernel's IR
//! must contain the device functions it calls, and the call
//! `helpers::norm(x)` must mean what Rust's name resolution says it means.
//! We let rustc resolve every call path, where it is written, with chains
//! of macro calls (the "callback" pattern):
//!
//! 1. Every `#[tile_fn] fn f` ends up defining a
//!    `macro_rules! __tilefuse_tile_fn_f_<hash>` that replays the *closure*
//!    of `f`: `f`'s source and the sources of all the tile functions it
//!    calls, directly or not, each tagged with an identity (name and
//!    definition site) and with what each call path written in it resolves
//!    to. Invoked as `name!{ @tilefuse_resolve STATE }`, it expands to
//!    `::tilefuse::__private::tile_kernel_resolved! { STATE { CLOSURE } }`.
//!    `pub(crate) use __tilefuse_tile_fn_f_<hash> as f;` makes it
//!    addressable by the function's own path (macros have their own
//!    namespace; the hash of the definition site keeps the names unique).
//! 2. To build that closure, `#[tile_fn]` first requests, one after the
//!    other, the closures of the tile functions `f` calls
//!    (`frontend::collect_calls`: calls that are not DSL builtins):
//!    `g::path! { @tilefuse_resolve tile_fn {f} [collected] [resolved]
//!    [pending] (g::path) }`. These invocations expand where `f` is, so
//!    rustc resolves `g::path` exactly as written in `f`'s module: `use`
//!    imports (private ones too), `self::`, `super::`, `crate::`. Each
//!    answer goes to `tile_kernel_resolved!`, which records it and requests
//!    the next path; at the end it checks `f` (with its callees available)
//!    and emits `f`'s replay macro.
//! 3. `#[tile_kernel]` does the same with the paths its body calls, in
//!    the kernel's module; once every closure is in, it compiles the kernel
//!    with all the sources into one module: the kernel plus one `tile.func`
//!    per instance of each device function, called with `tile.call` (the
//!    inline pass removes the calls later), and emits its items.
//!
//! An unknown function is rustc's "cannot find macro `name`" at the call.
//! Limits: tile functions are visible within their crate (`pub(crate)
//! use`); recursion is rejected (a function calling itself by the
//! frontend; mutual recursion shows as rustc's "cannot find macro" at the
//! calls, since neither function's macro can be defined first). Single-segment
//! names one edit away from a builtin (`arrange`) are reported as typos,
//! and a single-segment call of a builtin's name is the builtin; call such
//! a tile function through a path (`self::arrange(..)`).

//! # Configurations
//!
//! `#[tile_kernel(configs = [(BLOCK = 128, num_warps = 8), (BLOCK = 256)])]`:
//! each configuration binds every const generic (and possibly `#[constexpr]`
//! parameters); the kernel is compiled again with those values, so shape
//! errors, non-power-of-two sizes and failing `static_assert`s that only
//! one configuration exposes are reported at their source span, naming the
//! configuration; when every constant is bound, the specialize pass is run
//! on the unspecialized IR as well.

mod expand;
mod paths;

use proc_macro::TokenStream;

/// Compiles a tile kernel written in the DSL into tile IR at compile time
/// and emits a struct of the same name with the IR, the declared
/// configurations (`configs = [(NAME = value, ..), ..]`) and a typed
/// `launch(dev, grid, args)`.
#[proc_macro_attribute]
pub fn tile_kernel(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::tile_kernel(attr.into(), item.into()).into()
}

/// Marks a device function callable from tile kernels and other tile
/// functions (found through its Rust path at the call site).
#[proc_macro_attribute]
pub fn tile_fn(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::tile_fn(attr.into(), item.into()).into()
}

/// Internal to `#[tile_kernel]`: one step of the resolution of the tile
/// functions a kernel calls. Not for direct use.
#[doc(hidden)]
#[proc_macro]
pub fn tile_kernel_resolved(input: TokenStream) -> TokenStream {
    expand::resolved(input.into()).into()
}
