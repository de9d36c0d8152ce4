//! Kernels, `#[tile_fn]` device functions and the calls between them.
//!
//! A `#[tile_fn]` is compiled per call signature (like a Rust generic or a
//! Triton `@jit` function): the argument types decide the parameter types
//! (`_` takes the argument's type, `Tile<f32, N>` infers the const generic
//! `N` from the argument's shape), and each distinct instance becomes one
//! `tile.func` in the module, called with `tile.call {callee}`. Symbolic
//! dimensions of the kernel flow into instances unchanged, so an instance
//! may mention the kernel's const parameters: they are listed in the
//! instance's `consts` and bound by the same specialization.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::error::{err, err_at, is_typo_of};
use super::lower::{ConstBind, ConstVal, Ctx, Instance, Lower};
use super::scope::Binding;
use super::sig::{FnSig, ParamKind, fn_signature, kernel_signature};
use super::types::{TyPat, TypeEnv, parse_type, scalar_from_name};
use super::value::{Lit, Val, convert_lit};
use super::{BUILTINS, is_builtin};
use crate::ir::{
    Attr, Attrs, ConstParam, ConstValue, Dim, Func, FuncKind, OpKind, ScalarType, Type,
};

/// Type environment of a function whose const parameters are bound.
pub(crate) struct BindEnv<'b> {
    pub binds: &'b [(String, ConstBind)],
    pub vars: &'b [String],
}

impl TypeEnv for BindEnv<'_> {
    fn dim_of(&self, name: &str) -> Option<Dim> {
        let (_, b) = self.binds.iter().rev().find(|(n, _)| n == name)?;
        match &b.val {
            ConstVal::Known(Lit::Int(v)) if *v > 0 => Some(Dim::Const(*v as u64)),
            ConstVal::Known(_) => None,
            ConstVal::Sym(s) => Some(Dim::Sym(s.clone())),
        }
    }

    fn is_var(&self, name: &str) -> bool {
        self.vars.iter().any(|v| v == name)
    }
}

fn const_value_lit(v: ConstValue) -> Lit {
    match v {
        ConstValue::Int(i) => Lit::Int(i),
        ConstValue::Bool(b) => Lit::Bool(b),
    }
}

/// Lowers a `#[tile_kernel]` function.
pub(crate) fn lower_kernel(ctx: &mut Ctx<'_>, item: &syn::ItemFn) -> syn::Result<Func> {
    let ksig = kernel_signature(item)?;
    let fsig = fn_signature(item)?;
    let name = item.sig.ident.unraw().to_string();
    ctx.used_names.insert(name.clone());
    ctx.sym_types = ksig.consts.iter().map(|c| (c.name.clone(), c.ty)).collect();
    for (n, _) in &ctx.opts.bindings {
        if !ksig.consts.iter().any(|c| &c.name == n) {
            return err(
                item.sig.ident.span(),
                format!("`{name}` has no const parameter named `{n}`"),
            );
        }
    }
    let mut binds = Vec::new();
    for c in &ksig.consts {
        let val = match ctx.opts.bindings.iter().find(|(n, _)| *n == c.name) {
            Some((_, v)) => {
                let lit = const_value_lit(*v);
                let ok = match (c.ty, lit) {
                    (ScalarType::I1, Lit::Bool(_)) => true,
                    (ScalarType::I1, _) | (_, Lit::Bool(_)) => false,
                    (t, l) => convert_lit(l, t).is_some(),
                };
                if !ok {
                    return err(
                        c.span,
                        format!("`{}` ({}) cannot be bound to {v}", c.name, c.ty),
                    );
                }
                ConstVal::Known(lit)
            }
            None => ConstVal::Sym(c.name.clone()),
        };
        binds.push((c.name.clone(), ConstBind { ty: c.ty, val }));
    }
    let mut func = Func::new(&name, FuncKind::Kernel);
    func.loc = ctx.loc(item.sig.ident.span());
    func.consts = ksig
        .consts
        .iter()
        .map(|c| ConstParam {
            name: c.name.clone(),
            ty: c.ty,
        })
        .collect();
    let mut l = Lower::new(ctx, func, None);
    l.consts = binds;
    for (p, ps) in fsig.params.iter().zip(&ksig.params) {
        let ty = match ps.kind {
            ParamKind::Ptr(s) => Type::ptr(s),
            ParamKind::Scalar(s) => Type::Scalar(s),
            ParamKind::Constexpr(_) => continue,
        };
        let v = l.func.add_param(&p.name, ty);
        l.scope.bind(
            &p.name,
            Binding {
                val: Val::V(v),
                mutable: p.mutable,
                span: p.span,
            },
        );
    }
    let (tail, tail_span) = l.fn_body(&item.block)?;
    if !matches!(tail, Val::Unit) {
        return err(
            tail_span,
            "a kernel returns nothing: end this expression with `;` and write results with \
             store(ptr, value)",
        );
    }
    l.emit(
        item.block.brace_token.span.close(),
        OpKind::Return,
        vec![],
        vec![],
        Attrs::new(),
    );
    Ok(l.func)
}

/// Compiles `fns[fn_id]` alone with its const generics and `#[constexpr]`
/// parameters symbolic. None when a parameter type is `_`.
pub(crate) fn lower_standalone(ctx: &mut Ctx<'_>, fn_id: usize) -> syn::Result<Option<Func>> {
    let item = &ctx.fns[fn_id];
    let fsig = fn_signature(item)?;
    ctx.sym_types = fsig.consts.iter().map(|c| (c.name.clone(), c.ty)).collect();
    let binds: Vec<(String, ConstBind)> = fsig
        .consts
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                ConstBind {
                    ty: c.ty,
                    val: ConstVal::Sym(c.name.clone()),
                },
            )
        })
        .collect();
    let env = BindEnv {
        binds: &binds,
        vars: &[],
    };
    let mut types = Vec::new();
    for p in fsig.params.iter().filter(|p| p.constexpr.is_none()) {
        match parse_type(&p.ty, &env)?.to_type() {
            Some(t) => types.push(t),
            None => return Ok(None),
        }
    }
    let start = ctx.funcs.len();
    instantiate(ctx, fn_id, &fsig, types, binds, item.sig.ident.span())?;
    Ok(Some(ctx.funcs.remove(start)))
}

/// Checks `fns[fn_id]`; when its signature is concrete (no const
/// parameters, no `_`), adds its instance to `ctx.funcs` (unless a kernel
/// already instantiated it).
pub(crate) fn lower_concrete(ctx: &mut Ctx<'_>, fn_id: usize) -> syn::Result<()> {
    let item = &ctx.fns[fn_id];
    let fsig = fn_signature(item)?;
    let env = BindEnv {
        binds: &[],
        vars: &[],
    };
    let concrete: Option<Vec<Type>> = if fsig.consts.is_empty() {
        fsig.params
            .iter()
            .map(|p| parse_type(&p.ty, &env).ok().and_then(|t| t.to_type()))
            .collect()
    } else {
        None
    };
    match concrete {
        Some(types) => {
            ctx.sym_types.clear();
            instantiate(ctx, fn_id, &fsig, types, vec![], item.sig.ident.span())?;
        }
        None => {
            let mut scratch = Ctx {
                fns: ctx.fns,
                resolver: ctx.resolver,
                opts: ctx.opts,
                funcs: Vec::new(),
                instances: Default::default(),
                stack: Vec::new(),
                sym_types: Default::default(),
                used_names: Default::default(),
            };
            lower_standalone(&mut scratch, fn_id)?;
        }
    }
    Ok(())
}

/// Compiles (or reuses) the instance of `fns[fn_id]` for these parameter
/// types and const bindings.
fn instantiate(
    ctx: &mut Ctx<'_>,
    fn_id: usize,
    fsig: &FnSig,
    param_types: Vec<Type>,
    binds: Vec<(String, ConstBind)>,
    call_span: Span,
) -> syn::Result<Instance> {
    let item: &syn::ItemFn = &ctx.fns[fn_id];
    let key = format!(
        "{fn_id}|{}|{:?}",
        param_types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(","),
        binds
    );
    if let Some(inst) = ctx.instances.get(&key) {
        return Ok(inst.clone());
    }
    if ctx.stack.contains(&fn_id) {
        return err(
            call_span,
            format!(
                "`{}` calls itself (directly or through other tile functions): recursion is \
                 not supported, tile functions are inlined",
                item.sig.ident
            ),
        );
    }
    let name = ctx.unique_name(&item.sig.ident.unraw().to_string());
    let mut func = Func::new(&name, FuncKind::Device);
    func.loc = ctx.loc(item.sig.ident.span());
    // The kernel's const parameters this instance mentions.
    let mut syms: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !syms.iter().any(|x| x == s) {
            syms.push(s.to_string());
        }
    };
    for t in &param_types {
        let dims: &[Dim] = match t {
            Type::Tile(d, _) | Type::Desc(_, d) => d,
            _ => &[],
        };
        for d in dims {
            if let Dim::Sym(s) = d {
                add(s);
            }
        }
    }
    for (_, b) in &binds {
        if let ConstVal::Sym(s) = &b.val {
            add(s);
        }
    }
    func.consts = syms
        .iter()
        .map(|s| ConstParam {
            name: s.clone(),
            ty: ctx.sym_types.get(s).copied().unwrap_or(ScalarType::I32),
        })
        .collect();
    let pos = ctx.funcs.len();
    ctx.stack.push(fn_id);
    let mut l = Lower::new(ctx, func, Some(fn_id));
    l.consts = binds.clone();
    let mut types = param_types.into_iter();
    for p in &fsig.params {
        if p.constexpr.is_some() {
            continue;
        }
        let ty = types.next().expect("one type per runtime parameter");
        let v = l.func.add_param(&p.name, ty);
        l.scope.bind(
            &p.name,
            Binding {
                val: Val::V(v),
                mutable: p.mutable,
                span: p.span,
            },
        );
    }
    let (tail, tail_span) = l.fn_body(&item.block)?;
    let env = BindEnv {
        binds: &binds,
        vars: &[],
    };
    let ret = match &fsig.ret {
        None => TyPat::Tuple(vec![]),
        Some(t) => parse_type(t, &env)?,
    };
    let (values, tuple) = match (&ret, &tail) {
        (TyPat::Tuple(elems), _) if elems.is_empty() => {
            if !matches!(tail, Val::Unit) {
                return err(
                    tail_span,
                    format!(
                        "`{}` has no return type but its body ends with a value; declare it \
                         (`-> _` infers it) or end the expression with `;`",
                        item.sig.ident
                    ),
                );
            }
            (vec![], false)
        }
        (TyPat::Tuple(elems), Val::Tuple(vals)) if elems.len() == vals.len() => {
            let mut out = Vec::new();
            for (i, (p, v)) in elems.iter().zip(vals).enumerate() {
                out.push(ret_value(&mut l, p, v, tail_span, &|| {
                    format!("element {i} of the returned tuple")
                })?);
            }
            (out, true)
        }
        (TyPat::Tuple(elems), other) => {
            return err(
                tail_span,
                format!(
                    "`{}` returns a tuple of {} but its body ends with {}",
                    item.sig.ident,
                    elems.len(),
                    l.describe(other)
                ),
            );
        }
        (p, v) => (
            vec![ret_value(&mut l, p, v, tail_span, &|| {
                "the returned value".into()
            })?],
            false,
        ),
    };
    let results: Vec<Type> = values.iter().map(|v| l.ty(*v)).collect();
    l.emit(
        item.block.brace_token.span.close(),
        OpKind::Return,
        values,
        vec![],
        Attrs::new(),
    );
    let mut func = l.func;
    func.results = results.clone();
    ctx.stack.pop();
    ctx.funcs.insert(pos, func);
    let inst = Instance {
        name,
        results,
        tuple,
    };
    ctx.instances.insert(key, inst.clone());
    Ok(inst)
}

fn ret_value(
    l: &mut Lower<'_, '_>,
    pat: &TyPat,
    v: &Val,
    span: Span,
    what: &dyn Fn() -> String,
) -> syn::Result<crate::ir::ValueId> {
    match pat {
        TyPat::Infer => l.materialize(v, span),
        p => match p.to_type() {
            Some(t) => l.coerce(v, &t, span, what),
            None => err(span, format!("unsupported return type {p}")),
        },
    }
}

impl Lower<'_, '_> {
    /// A call to a `#[tile_fn]`.
    pub(crate) fn call_tile_fn(
        &mut self,
        call: &syn::ExprCall,
        path: &syn::Path,
        fn_id: usize,
    ) -> syn::Result<Val> {
        let item: &syn::ItemFn = &self.ctx.fns[fn_id];
        let fname = item.sig.ident.unraw().to_string();
        let fsig = fn_signature(item)?;
        let generics: Vec<String> = fsig.consts[..fsig.num_generics]
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let mut binds: Vec<(String, ConstBind)> = Vec::new();
        // Explicit const generics: f::<64>(..).
        if let Some(seg) = path.segments.last()
            && let syn::PathArguments::AngleBracketed(a) = &seg.arguments
        {
            if a.args.len() > generics.len() {
                return err_at(
                    a,
                    format!(
                        "`{fname}` takes {} const generic argument(s), {} given",
                        generics.len(),
                        a.args.len()
                    ),
                );
            }
            for (i, ga) in a.args.iter().enumerate() {
                let c = &fsig.consts[i];
                let val = self.const_generic_arg(ga, c.ty)?;
                binds.push((c.name.clone(), ConstBind { ty: c.ty, val }));
            }
        }
        if call.args.len() != fsig.params.len() {
            let params: Vec<String> = item
                .sig
                .inputs
                .iter()
                .map(|i| pretty_tokens(&quote::quote!(#i).to_string()))
                .collect();
            return err_at(
                call,
                format!(
                    "`{fname}` takes {} argument(s) ({}), {} given",
                    fsig.params.len(),
                    params.join(", "),
                    call.args.len()
                ),
            );
        }
        let vars: Vec<String> = generics
            .iter()
            .filter(|g| !binds.iter().any(|(n, _)| n == *g))
            .cloned()
            .collect();
        let mut dim_binds: Vec<(String, Dim)> = Vec::new();
        let mut args = Vec::new();
        let mut arg_types = Vec::new();
        for (p, a) in fsig.params.iter().zip(&call.args) {
            let span = a.span();
            let v = self.expr(a)?;
            if let Some(ci) = p.constexpr {
                let c = &fsig.consts[ci];
                let val = match &v {
                    Val::Lit(l) => Some(ConstVal::Known(*l)),
                    Val::V(id) => self
                        .known
                        .get(id)
                        .map(|l| ConstVal::Known(*l))
                        .or_else(|| self.sym_of.get(id).map(|s| ConstVal::Sym(s.clone()))),
                    _ => None,
                };
                let Some(val) = val else {
                    return err(
                        span,
                        format!(
                            "parameter `{}` of `{fname}` is #[constexpr]: pass a literal or a \
                             const parameter, not a runtime value",
                            p.name
                        ),
                    );
                };
                let val = match val {
                    ConstVal::Known(l) => match convert_lit(l, c.ty) {
                        Some(l) if c.ty != ScalarType::I1 || matches!(l, Lit::Bool(_)) => {
                            ConstVal::Known(l)
                        }
                        _ => {
                            return err(
                                span,
                                format!("`{}` of `{fname}` is {}, cannot take {l}", p.name, c.ty),
                            );
                        }
                    },
                    s => s,
                };
                binds.push((c.name.clone(), ConstBind { ty: c.ty, val }));
                continue;
            }
            let env = BindEnv {
                binds: &binds,
                vars: &vars,
            };
            let pat = parse_type(&p.ty, &env)?;
            let id = match (&v, pat.to_type()) {
                (Val::Lit(_), Some(t)) => self.coerce(&v, &t, span, &|| {
                    format!("argument `{}` of `{fname}`", p.name)
                })?,
                (Val::V(_) | Val::Lit(_), _) => self.materialize(&v, span)?,
                _ => {
                    return err(
                        span,
                        format!(
                            "argument `{}` of `{fname}` must be a single value, not {}",
                            p.name,
                            self.describe(&v)
                        ),
                    );
                }
            };
            let t = self.ty(id);
            if !pat.unify(&t, &mut dim_binds) {
                return err(
                    span,
                    format!(
                        "type mismatch: argument `{}` of `{fname}` has type {t}, but the \
                         parameter is declared as {pat}",
                        p.name
                    ),
                );
            }
            args.push(id);
            arg_types.push(t);
        }
        for (n, d) in dim_binds {
            let c = fsig.consts.iter().find(|c| c.name == n).expect("a generic");
            let val = match d {
                Dim::Const(v) => ConstVal::Known(Lit::Int(v as i64)),
                Dim::Sym(s) => ConstVal::Sym(s),
            };
            binds.push((n, ConstBind { ty: c.ty, val }));
        }
        for g in &generics {
            if !binds.iter().any(|(n, _)| n == g) {
                return err_at(
                    call,
                    format!(
                        "cannot infer the const generic `{g}` of `{fname}` from the arguments: \
                         pass it explicitly, `{fname}::<..>(..)`"
                    ),
                );
            }
        }
        // Keep the declaration order of the callee's consts in the key.
        binds.sort_by_key(|(n, _)| fsig.consts.iter().position(|c| &c.name == n));
        let span = call.func.span();
        let inst = instantiate(self.ctx, fn_id, &fsig, arg_types, binds, span)?;
        let results = self.emit(
            span,
            OpKind::Call,
            args,
            inst.results.clone(),
            Attrs::new().with("callee", Attr::Str(inst.name.clone())),
        );
        Ok(if inst.tuple {
            Val::Tuple(results.into_iter().map(Val::V).collect())
        } else if results.is_empty() {
            Val::Unit
        } else {
            Val::V(results[0])
        })
    }

    /// A const generic argument given explicitly: a literal, a const
    /// parameter of the caller, or `{ .. }` around one.
    pub(crate) fn const_generic_arg(
        &mut self,
        ga: &syn::GenericArgument,
        ty: ScalarType,
    ) -> syn::Result<ConstVal> {
        let expr = match ga {
            syn::GenericArgument::Const(e) => e.clone(),
            syn::GenericArgument::Type(syn::Type::Path(p)) if p.path.get_ident().is_some() => {
                syn::Expr::Path(syn::ExprPath {
                    attrs: vec![],
                    qself: None,
                    path: p.path.clone(),
                })
            }
            other => {
                return err_at(
                    other,
                    "a const generic argument is an integer or bool literal or a const parameter",
                );
            }
        };
        let v = self.expr(&expr)?;
        let val = match &v {
            Val::Lit(l) => Some(ConstVal::Known(*l)),
            Val::V(id) => self
                .known
                .get(id)
                .map(|l| ConstVal::Known(*l))
                .or_else(|| self.sym_of.get(id).map(|s| ConstVal::Sym(s.clone()))),
            _ => None,
        };
        match val {
            Some(ConstVal::Known(l)) => match convert_lit(l, ty) {
                Some(c) => Ok(ConstVal::Known(c)),
                None => err_at(
                    ga,
                    format!("{l} does not fit the const generic's type {ty}"),
                ),
            },
            Some(s) => Ok(s),
            None => err_at(
                ga,
                "a const generic argument must be known at compile time: a literal or a const \
                 parameter (arithmetic on symbolic parameters is not supported)",
            ),
        }
    }
}

/// The paths of the calls in function `f` that are not DSL builtins: the
/// `#[tile_fn]`s it needs, in order of first appearance, without generic
/// arguments. Left out: single-segment names close to a builtin name
/// (likely typos, which the frontend reports with a suggestion) and names
/// bound as variables in the function (closures, shadowing parameters),
/// which the frontend rejects with a precise message.
pub fn collect_calls(f: &syn::ItemFn) -> Vec<syn::Path> {
    let mut v = CallScan::default();
    for input in &f.sig.inputs {
        if let syn::FnArg::Typed(pt) = input {
            v.visit_pat(&pt.pat);
        }
    }
    v.visit_block(&f.block);
    v.paths
        .into_iter()
        .filter(|p| {
            p.segments.len() > 1 || !v.locals.contains(&p.segments[0].ident.unraw().to_string())
        })
        .collect()
}

#[derive(Default)]
struct CallScan {
    paths: Vec<syn::Path>,
    seen: Vec<String>,
    /// Names bound by patterns anywhere in the function.
    locals: Vec<String>,
}

/// True when `path` (a call's function) is a `#[tile_fn]` call candidate.
pub(crate) fn is_tile_fn_path(path: &syn::Path) -> bool {
    let first = path.segments[0].ident.to_string();
    if path.segments.len() == 1 && path.leading_colon.is_none() {
        // `Some(..)`, `Ok(..)`, tuple structs: not functions of tile code.
        if first.starts_with(|c: char| c.is_uppercase()) {
            return false;
        }
        return !is_builtin(&first) && !is_typo_of(&first, BUILTINS.iter().map(|b| b.name));
    }
    !(scalar_from_name(&first).is_some()
        || matches!(
            first.as_str(),
            "Self" | "Ptr" | "Tile" | "Desc" | "std" | "core"
        ))
}

/// The path without generic arguments.
pub(crate) fn strip_generics(path: &syn::Path) -> syn::Path {
    let mut p = path.clone();
    for seg in p.segments.iter_mut() {
        seg.arguments = syn::PathArguments::None;
    }
    p
}

impl<'ast> Visit<'ast> for CallScan {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func
            && p.qself.is_none()
            && is_tile_fn_path(&p.path)
        {
            let stripped = strip_generics(&p.path);
            let key = quote::quote!(#stripped).to_string();
            if !self.seen.contains(&key) {
                self.seen.push(key);
                self.paths.push(stripped);
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.locals.push(p.ident.unraw().to_string());
        syn::visit::visit_pat_ident(self, p);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        for p in &c.inputs {
            self.visit_pat(p);
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Token text without the spaces `quote` puts around punctuation
/// (`x : Tile < f32 , N >` becomes `x: Tile<f32, N>`).
pub fn pretty_tokens(s: &str) -> String {
    s.replace(" : ", ": ")
        .replace(" :: ", "::")
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
}
