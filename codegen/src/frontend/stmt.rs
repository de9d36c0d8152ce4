//! Statements and control flow: `let` (with `mut`, tuple destructuring and
//! type annotations), assignment and compound assignment, `if`/`else`,
//! `for` and `while`.
//!
//! Variables are SSA-renamed: an assignment replaces the binding's value.
//! A structured op's carried values are found syntactically: every outer
//! `let mut` variable assigned anywhere inside the loop (or a branch)
//! becomes a loop-carried value (`tile.for`/`tile.while` region argument,
//! yielded at the end of the body) or a `tile.if` result. A carried
//! variable keeps its type: an assignment that changes it is an error at
//! the assignment.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::error::{err, err_at};
use super::lower::{Lower, type_mismatch_msg};
use super::scope::{Binding, Slot, assigned_in_block, assigned_names};
use super::types::{TyPat, parse_type};
use super::value::{Lit, Val};
use crate::ir::{Attrs, OpKind, ScalarType, Type, ValueId};

/// A variable carried through a structured op.
struct Carried {
    name: String,
    slot: Slot,
    ty: Type,
    init: ValueId,
}

impl Lower<'_, '_> {
    /// Lowers a function body; a final `return e` counts as its value.
    /// Returns the value and the span of the expression that produced it.
    pub(crate) fn fn_body(&mut self, block: &syn::Block) -> syn::Result<(Val, Span)> {
        let n = block.stmts.len();
        self.scope.push();
        let mut tail = (Val::Unit, block.brace_token.span.close());
        for (i, s) in block.stmts.iter().enumerate() {
            if i + 1 == n {
                match s {
                    syn::Stmt::Expr(syn::Expr::Return(r), _) => {
                        tail = match &r.expr {
                            Some(e) => (self.expr(e)?, e.span()),
                            None => (Val::Unit, r.return_token.span),
                        };
                        continue;
                    }
                    syn::Stmt::Expr(e, None) => {
                        tail = (self.expr(e)?, e.span());
                        continue;
                    }
                    _ => {}
                }
            }
            self.stmt(s)?;
        }
        self.scope.pop();
        Ok(tail)
    }

    /// Lowers a block in a new scope; its value is the tail expression.
    pub(crate) fn block(&mut self, block: &syn::Block) -> syn::Result<Val> {
        self.scope.push();
        let mut tail = Val::Unit;
        let n = block.stmts.len();
        for (i, s) in block.stmts.iter().enumerate() {
            match s {
                syn::Stmt::Expr(e, None) if i + 1 == n => tail = self.expr(e)?,
                _ => self.stmt(s)?,
            }
        }
        self.scope.pop();
        Ok(tail)
    }

    fn stmt(&mut self, s: &syn::Stmt) -> syn::Result<()> {
        match s {
            syn::Stmt::Local(l) => self.local(l),
            syn::Stmt::Item(i) => err_at(
                i,
                "items (fn, const, use, struct, ..) are not allowed inside tile code; write \
                 helpers as #[tile_fn] functions and pass constants as const parameters",
            ),
            syn::Stmt::Expr(e, _) => {
                if let syn::Expr::Return(r) = e {
                    return err_at(
                        r,
                        "early `return` is not supported in tile code: only the last statement \
                         of a #[tile_fn] may return; use if/else or where(c, a, b)",
                    );
                }
                self.expr(e)?;
                Ok(())
            }
            syn::Stmt::Macro(m) => err_at(&m.mac, macro_message(&m.mac)),
        }
    }

    fn local(&mut self, l: &syn::Local) -> syn::Result<()> {
        let Some(init) = &l.init else {
            return err_at(
                l,
                "a `let` needs a value in tile code (`let x = ..;`); declare the variable where \
                 it gets its first value",
            );
        };
        if let Some((_, e)) = &init.diverge {
            return err_at(e, "`let .. else` is not supported in tile code");
        }
        let v = self.expr(&init.expr)?;
        self.bind_pat(&l.pat, v, init.expr.span())
    }

    /// Binds a pattern (`x`, `mut x`, `(a, b)`, `_`, `x: T`) to a value.
    pub(crate) fn bind_pat(&mut self, pat: &syn::Pat, v: Val, span: Span) -> syn::Result<()> {
        match pat {
            syn::Pat::Ident(pi) => {
                if pi.by_ref.is_some() {
                    return err_at(pi, "`ref` bindings are not supported in tile code");
                }
                if let Some((_, sub)) = &pi.subpat {
                    return err_at(sub, "`@` patterns are not supported in tile code");
                }
                if matches!(v, Val::Unit) {
                    return err(span, "this expression has no value to bind");
                }
                if matches!(v, Val::Str(_)) {
                    return err(span, "strings cannot be bound to variables in tile code");
                }
                let name = pi.ident.unraw().to_string();
                if let Val::V(id) = v {
                    self.name_value(id, &name);
                }
                self.scope.bind(
                    &name,
                    Binding {
                        val: v,
                        mutable: pi.mutability.is_some(),
                        span: pi.ident.span(),
                    },
                );
                Ok(())
            }
            syn::Pat::Wild(_) => Ok(()),
            syn::Pat::Paren(p) => self.bind_pat(&p.pat, v, span),
            syn::Pat::Tuple(t) => {
                let Val::Tuple(vals) = v else {
                    return err_at(
                        t,
                        format!("cannot destructure {} as a tuple", self.describe(&v)),
                    );
                };
                if vals.len() != t.elems.len() {
                    return err_at(
                        t,
                        format!(
                            "this pattern has {} elements but the value is a tuple of {}",
                            t.elems.len(),
                            vals.len()
                        ),
                    );
                }
                for (p, v) in t.elems.iter().zip(vals) {
                    self.bind_pat(p, v, span)?;
                }
                Ok(())
            }
            syn::Pat::Type(pt) => {
                let env = self.type_env();
                let pat_ty = parse_type(&pt.ty, &env)?;
                let v = match (&pat_ty, pat_ty.to_type()) {
                    (TyPat::Infer, _) => v,
                    (_, Some(t)) => Val::V(self.coerce(&v, &t, span, &|| "the value".into())?),
                    (p, None) => {
                        return err_at(&pt.ty, format!("unsupported type annotation {p}"));
                    }
                };
                self.bind_pat(&pt.pat, v, span)
            }
            other => err_at(
                other,
                "unsupported pattern in tile code: use a name, `mut name`, `_` or a tuple `(a, b)`",
            ),
        }
    }

    /// `target = v` (SSA renaming of a `let mut` variable).
    pub(crate) fn assign(&mut self, target: &syn::Expr, v: Val, span: Span) -> syn::Result<()> {
        let target = match target {
            syn::Expr::Paren(p) => &*p.expr,
            t => t,
        };
        let name = match target {
            syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                p.path.get_ident().expect("checked").unraw().to_string()
            }
            syn::Expr::Index(_) | syn::Expr::Field(_) | syn::Expr::Unary(_) => {
                return err_at(
                    target,
                    "only local variables can be assigned in tile code; write to memory with \
                     store(ptr, value)",
                );
            }
            other => return err_at(other, "cannot assign to this expression"),
        };
        let Some(slot) = self.scope.find(&name) else {
            if self.const_bind(&name).is_some() {
                return err_at(
                    target,
                    format!("cannot assign to the const parameter `{name}`"),
                );
            }
            return err_at(
                target,
                format!("cannot assign to unknown variable `{name}`"),
            );
        };
        let b = self.scope.get(slot).clone();
        if !b.mutable {
            return err_at(
                target,
                format!(
                    "cannot assign twice to immutable variable `{name}`: declare it with \
                     `let mut {name}`"
                ),
            );
        }
        let new = match (&b.val, &v) {
            (Val::Lit(_), Val::Lit(_)) => v,
            (Val::Lit(l), Val::V(id)) => {
                let t = self.ty(*id);
                let ok = !t.is_tile()
                    && match (l, t.scalar_elem()) {
                        (Lit::Int(_), Some(e)) => e != ScalarType::I1,
                        (Lit::Float(_), Some(e)) => e.is_float(),
                        (Lit::Bool(_), Some(e)) => e == ScalarType::I1,
                        _ => false,
                    };
                if !ok {
                    return err(
                        span,
                        format!(
                            "type mismatch: `{name}` was declared with the literal {l} but is \
                             assigned {t}; declare it with a value of that type{}",
                            if t.is_tile() {
                                " (e.g. zeros::<T, dims..>() for a tile)"
                            } else {
                                ""
                            }
                        ),
                    );
                }
                v
            }
            (Val::V(cur), _) => {
                let want = self.ty(*cur);
                match &v {
                    Val::Lit(_) => Val::V(self.coerce(&v, &want, span, &|| format!("`{name}`"))?),
                    Val::V(id) => {
                        let got = self.ty(*id);
                        if got != want {
                            let mut msg = type_mismatch_msg(
                                &format!("the value assigned to `{name}`"),
                                &got,
                                &want,
                            );
                            if let Some(kind) = self.carried_kind(&name) {
                                msg.push_str(&format!(
                                    ". `{name}` is carried through the {kind}, so it keeps the \
                                     type it has before it (values carried by a loop must have \
                                     the same type in every iteration)"
                                ));
                            } else {
                                msg.push_str(&format!(
                                    ". A variable keeps the type of its `let`; use a new `let \
                                     {name} = ..` to change it"
                                ));
                            }
                            return err(span, msg);
                        }
                        v
                    }
                    other => {
                        return err(
                            span,
                            format!("cannot assign {} to `{name}`", self.describe(other)),
                        );
                    }
                }
            }
            (cur, _) => {
                return err(
                    span,
                    format!(
                        "cannot reassign `{name}`, which holds {}; bind the parts separately",
                        self.describe(cur)
                    ),
                );
            }
        };
        self.scope.get_mut(slot).val = new;
        Ok(())
    }

    fn carried_kind(&self, name: &str) -> Option<&'static str> {
        self.carried
            .iter()
            .rev()
            .find(|(names, _)| names.iter().any(|n| n == name))
            .map(|(_, k)| *k)
    }

    /// The outer `let mut` variables among `names`, materialized so they
    /// have an IR type.
    fn carried_vars(&mut self, names: &[String], span: Span) -> syn::Result<Vec<Carried>> {
        let mut out = Vec::new();
        for n in names {
            let Some(slot) = self.scope.find(n) else {
                continue;
            };
            let b = self.scope.get(slot).clone();
            if !b.mutable {
                continue;
            }
            let id = match &b.val {
                Val::V(id) => *id,
                Val::Lit(_) => {
                    let id = self.materialize(&b.val, b.span)?;
                    self.name_value(id, n);
                    self.scope.get_mut(slot).val = Val::V(id);
                    id
                }
                other => {
                    return err(
                        span,
                        format!(
                            "`{n}` holds {} and is assigned here; only single values can be \
                             carried through if/for/while",
                            self.describe(other)
                        ),
                    );
                }
            };
            out.push(Carried {
                name: n.clone(),
                slot,
                ty: self.ty(id),
                init: id,
            });
        }
        Ok(out)
    }

    fn set_carried(&mut self, carried: &[Carried], vals: &[ValueId]) {
        for (c, v) in carried.iter().zip(vals) {
            self.scope.get_mut(c.slot).val = Val::V(*v);
        }
    }

    fn current_carried(&self, carried: &[Carried]) -> Vec<ValueId> {
        carried
            .iter()
            .map(|c| match self.scope.get(c.slot).val {
                Val::V(v) => v,
                _ => c.init,
            })
            .collect()
    }

    /// A new region whose arguments are named after the carried variables.
    fn carried_region(
        &mut self,
        lead: Option<(Type, String)>,
        carried: &[Carried],
    ) -> crate::ir::RegionId {
        let r = self.func.body.new_region(&[]);
        if let Some((t, n)) = lead {
            let name = (n != "_").then_some(n);
            self.func.body.add_region_arg(r, t, name);
        }
        for c in carried {
            self.func
                .body
                .add_region_arg(r, c.ty.clone(), Some(c.name.clone()));
        }
        r
    }

    /// A condition of `if`/`while`: an i1 scalar.
    fn condition(&mut self, v: Val, span: Span, what: &str) -> syn::Result<Val> {
        match &v {
            Val::Lit(Lit::Bool(_)) => Ok(v),
            Val::V(id) if self.ty(*id) == Type::Scalar(ScalarType::I1) => Ok(v),
            Val::V(id) if self.ty(*id).is_tile() => err(
                span,
                format!(
                    "the condition of `{what}` must be a single bool, but this is {}; for an \
                     elementwise choice use where(c, a, b), or reduce the mask first",
                    self.ty(*id)
                ),
            ),
            other => err(
                span,
                format!(
                    "the condition of `{what}` must be a bool (i1), e.g. a comparison; this is {}",
                    self.describe(other)
                ),
            ),
        }
    }

    /// `if c { .. } else { .. }`.
    pub(crate) fn if_expr(&mut self, e: &syn::ExprIf) -> syn::Result<Val> {
        if let syn::Expr::Let(l) = &*e.cond {
            return err_at(l, "`if let` is not supported in tile code");
        }
        let cspan = e.cond.span();
        let c = self.expr(&e.cond)?;
        let c = self.condition(c, cspan, "if")?;
        if let Some(b) = self.known_bool(&c) {
            // Decided now (a literal or a bound const parameter).
            return if b {
                self.block(&e.then_branch)
            } else if let Some((_, els)) = &e.else_branch {
                self.expr(els)
            } else {
                Ok(Val::Unit)
            };
        }
        let cond = self.materialize(&c, cspan)?;
        let mut names = assigned_in_block(&e.then_branch);
        if let Some((_, els)) = &e.else_branch {
            for n in assigned_names([&**els]) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        let carried = self.carried_vars(&names, e.if_token.span)?;
        let inits: Vec<ValueId> = carried.iter().map(|c| c.init).collect();
        let outer = self.region;
        self.carried.push((names, "`if`"));

        let r_then = self.func.body.new_region(&[]);
        self.region = r_then;
        let tv = self.block(&e.then_branch)?;
        let then_vals = self.current_carried(&carried);
        self.set_carried(&carried, &inits);

        let r_else = self.func.body.new_region(&[]);
        self.region = r_else;
        let (ev, else_span) = match &e.else_branch {
            Some((_, els)) => (self.expr(els)?, els.span()),
            None => (Val::Unit, e.then_branch.brace_token.span.close()),
        };
        let else_vals = self.current_carried(&carried);
        self.set_carried(&carried, &inits);
        self.carried.pop();

        // The value of the `if` expression, when both branches have one.
        let then_span = e.then_branch.brace_token.span.close();
        let mut result_types = Vec::new();
        let mut then_res = Vec::new();
        let mut else_res = Vec::new();
        let template = if matches!(tv, Val::Unit) || matches!(ev, Val::Unit) {
            Val::Unit
        } else {
            let tf = flatten(&tv);
            let ef = flatten(&ev);
            if tf.len() != ef.len() {
                return err(
                    else_span,
                    format!(
                        "the branches of this `if` have different values: {} vs {}",
                        self.describe(&tv),
                        self.describe(&ev)
                    ),
                );
            }
            for (a, b) in tf.iter().zip(&ef) {
                let ty = match (a, b) {
                    (Val::V(x), _) => self.ty(*x),
                    (_, Val::V(y)) => self.ty(*y),
                    (Val::Lit(x), Val::Lit(y)) => {
                        Type::Scalar(super::types::promote(x.default_type(), y.default_type()))
                    }
                    _ => {
                        return err(
                            else_span,
                            "this `if` has a branch value that is not a value",
                        );
                    }
                };
                self.region = r_then;
                let what = |t: &str| -> String { format!("the value of the `{t}` branch") };
                then_res.push(self.coerce(a, &ty, then_span, &|| what("then"))?);
                self.region = r_else;
                else_res.push(self.coerce(b, &ty, else_span, &|| what("else"))?);
                result_types.push(ty);
            }
            tv
        };
        let nres = result_types.len();
        result_types.extend(carried.iter().map(|c| c.ty.clone()));
        then_res.extend(then_vals);
        else_res.extend(else_vals);
        self.region = r_then;
        self.emit(then_span, OpKind::Yield, then_res, vec![], Attrs::new());
        self.region = r_else;
        self.emit(else_span, OpKind::Yield, else_res, vec![], Attrs::new());
        self.region = outer;
        let op = self.emit_op(
            e.if_token.span,
            OpKind::If,
            vec![cond],
            result_types,
            Attrs::new(),
            vec![r_then, r_else],
        );
        let results = self.func.body.op(op).results.clone();
        for (c, v) in carried.iter().zip(&results[nres..]) {
            self.name_value(*v, &c.name);
        }
        self.set_carried(&carried, &results[nres..]);
        let mut it = results[..nres].iter().copied();
        Ok(rebuild(&template, &mut it))
    }

    /// `for i in lo..hi`, `for i in range(lo, hi, step)`, `(lo..hi).step_by(s)`.
    pub(crate) fn for_loop(&mut self, f: &syn::ExprForLoop) -> syn::Result<Val> {
        if let Some(l) = &f.label {
            return err_at(l, "loop labels are not supported in tile code");
        }
        let (lo, hi, step, inclusive) = self.loop_range(&f.expr)?;
        let rspan = f.expr.span();
        let mut parts = vec![lo, hi];
        if let Some(s) = step {
            parts.push(s);
        }
        let (mut ops, elem, shape) = self.unify(&parts, rspan, "a loop range")?;
        if !shape.is_empty() || elem.is_float() || elem == ScalarType::I1 {
            return err(
                rspan,
                format!(
                    "loop bounds must be integer scalars, but this range is over {}",
                    if shape.is_empty() {
                        elem.to_string()
                    } else {
                        "tiles".to_string()
                    }
                ),
            );
        }
        if inclusive {
            let one = self.const_of(Lit::Int(1), &Type::Scalar(elem), rspan)?;
            ops[1] = match self.binary(
                crate::ir::BinaryOp::Add,
                Val::V(ops[1]),
                Val::V(one),
                (rspan, rspan),
                rspan,
                "..=",
            )? {
                Val::V(v) => v,
                _ => ops[1],
            };
        }
        let step_v = match ops.get(2) {
            Some(s) => {
                if let Some(k) = self.known.get(s).copied()
                    && k.as_i64() <= 0
                {
                    return err(rspan, format!("the loop step must be positive, not {k}"));
                }
                *s
            }
            None => self.const_of(Lit::Int(1), &Type::Scalar(elem), rspan)?,
        };
        let iv_name = match &*f.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                pi.ident.unraw().to_string()
            }
            syn::Pat::Wild(_) => "_".to_string(),
            other => return err_at(other, "the loop variable must be a name or `_`"),
        };
        let names = assigned_in_block(&f.body);
        let carried = self.carried_vars(&names, f.for_token.span)?;
        let inits: Vec<ValueId> = carried.iter().map(|c| c.init).collect();
        let r = self.carried_region(Some((Type::Scalar(elem), iv_name.clone())), &carried);
        let args = self.func.body.region(r).args.clone();
        let outer = self.region;
        self.region = r;
        self.scope.push();
        if iv_name != "_" {
            self.scope.bind(
                &iv_name,
                super::scope::Binding {
                    val: Val::V(args[0]),
                    mutable: false,
                    span: f.pat.span(),
                },
            );
        }
        self.set_carried(&carried, &args[1..]);
        self.carried.push((names, "`for` loop"));
        self.block(&f.body)?;
        self.carried.pop();
        let vals = self.current_carried(&carried);
        self.emit(
            f.body.brace_token.span.close(),
            OpKind::Yield,
            vals,
            vec![],
            Attrs::new(),
        );
        self.scope.pop();
        self.region = outer;
        let mut operands = vec![ops[0], ops[1], step_v];
        operands.extend(inits);
        let op = self.emit_op(
            f.for_token.span,
            OpKind::For,
            operands,
            carried.iter().map(|c| c.ty.clone()).collect(),
            Attrs::new(),
            vec![r],
        );
        let results = self.func.body.op(op).results.clone();
        for (c, v) in carried.iter().zip(&results) {
            self.name_value(*v, &c.name);
        }
        self.set_carried(&carried, &results);
        Ok(Val::Unit)
    }

    /// The bounds of a `for` loop's iterator.
    #[allow(clippy::type_complexity)]
    fn loop_range(
        &mut self,
        e: &syn::Expr,
    ) -> syn::Result<((Val, Span), (Val, Span), Option<(Val, Span)>, bool)> {
        const HELP: &str = "a `for` loop iterates over an integer range: `for i in lo..hi`, \
                            `for i in range(lo, hi, step)` or `for i in (lo..hi).step_by(s)`";
        match e {
            syn::Expr::Paren(p) => self.loop_range(&p.expr),
            syn::Expr::Group(g) => self.loop_range(&g.expr),
            syn::Expr::Range(r) => {
                let (Some(a), Some(b)) = (&r.start, &r.end) else {
                    return err_at(r, format!("the range needs both bounds; {HELP}"));
                };
                let lo = (self.expr(a)?, a.span());
                let hi = (self.expr(b)?, b.span());
                Ok((
                    lo,
                    hi,
                    None,
                    matches!(r.limits, syn::RangeLimits::Closed(_)),
                ))
            }
            syn::Expr::Call(c) if matches!(&*c.func, syn::Expr::Path(p) if p.path.is_ident("range")) =>
            {
                if !(2..=3).contains(&c.args.len()) {
                    return err_at(c, "range takes (lo, hi) or (lo, hi, step)");
                }
                let mut v = Vec::new();
                for a in &c.args {
                    v.push((self.expr(a)?, a.span()));
                }
                let step = if v.len() == 3 { v.pop() } else { None };
                let hi = v.pop().expect("two args");
                let lo = v.pop().expect("two args");
                Ok((lo, hi, step, false))
            }
            syn::Expr::MethodCall(m) if m.method == "step_by" && m.args.len() == 1 => {
                let (lo, hi, step, inc) = self.loop_range(&m.receiver)?;
                if step.is_some() {
                    return err_at(m, "the step is given twice");
                }
                let s = (self.expr(&m.args[0])?, m.args[0].span());
                Ok((lo, hi, Some(s), inc))
            }
            other => err_at(other, HELP),
        }
    }

    /// `while cond { .. }`.
    pub(crate) fn while_loop(&mut self, w: &syn::ExprWhile) -> syn::Result<Val> {
        if let Some(l) = &w.label {
            return err_at(l, "loop labels are not supported in tile code");
        }
        if let syn::Expr::Let(l) = &*w.cond {
            return err_at(l, "`while let` is not supported in tile code");
        }
        let mut names = assigned_names([&*w.cond]);
        for n in assigned_in_block(&w.body) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let carried = self.carried_vars(&names, w.while_token.span)?;
        let inits: Vec<ValueId> = carried.iter().map(|c| c.init).collect();
        let outer = self.region;
        self.carried.push((names, "`while` loop"));

        let before = self.carried_region(None, &carried);
        let args = self.func.body.region(before).args.clone();
        self.region = before;
        self.set_carried(&carried, &args);
        self.scope.push();
        let cspan = w.cond.span();
        let c = self.expr(&w.cond)?;
        let c = self.condition(c, cspan, "while")?;
        let cv = self.materialize(&c, cspan)?;
        self.scope.pop();
        let mut operands = vec![cv];
        operands.extend(self.current_carried(&carried));
        self.emit(cspan, OpKind::Condition, operands, vec![], Attrs::new());

        let after = self.carried_region(None, &carried);
        let args = self.func.body.region(after).args.clone();
        self.region = after;
        self.set_carried(&carried, &args);
        self.block(&w.body)?;
        let vals = self.current_carried(&carried);
        self.emit(
            w.body.brace_token.span.close(),
            OpKind::Yield,
            vals,
            vec![],
            Attrs::new(),
        );
        self.carried.pop();
        self.region = outer;
        let op = self.emit_op(
            w.while_token.span,
            OpKind::While,
            inits,
            carried.iter().map(|c| c.ty.clone()).collect(),
            Attrs::new(),
            vec![before, after],
        );
        let results = self.func.body.op(op).results.clone();
        for (c, v) in carried.iter().zip(&results) {
            self.name_value(*v, &c.name);
        }
        self.set_carried(&carried, &results);
        Ok(Val::Unit)
    }
}

/// The message for a macro invocation in tile code.
pub(crate) fn macro_message(m: &syn::Macro) -> String {
    let name = m
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let hint = match name.as_str() {
        "println" | "print" | "eprintln" | "dbg" => " use device_print(\"prefix\", x) instead",
        "assert" | "assert_eq" | "debug_assert" => {
            " use device_assert(cond, \"msg\") (runtime) or static_assert(cond, \"msg\") \
             (compile time) instead"
        }
        "vec" => " tiles are built with zeros/full/arange",
        _ => "",
    };
    format!("macros (`{name}!`) are not supported in tile code;{hint}")
}

/// The leaves of a (possibly nested) tuple value.
fn flatten(v: &Val) -> Vec<Val> {
    match v {
        Val::Tuple(t) => t.iter().flat_map(flatten).collect(),
        other => vec![other.clone()],
    }
}

/// Rebuilds a value shaped like `template` from flat IR values.
fn rebuild(template: &Val, it: &mut impl Iterator<Item = ValueId>) -> Val {
    match template {
        Val::Unit => Val::Unit,
        Val::Tuple(t) => Val::Tuple(t.iter().map(|x| rebuild(x, it)).collect()),
        _ => it.next().map(Val::V).unwrap_or(Val::Unit),
    }
}
