//! Lexical scopes of a function being lowered: `let` bindings, `let mut`
//! tracking, and the syntactic scan that finds which variables a loop or a
//! branch assigns (those become loop-carried values or `tile.if` results).

use std::collections::HashSet;
use syn::ext::IdentExt;

use proc_macro2::Span;
use syn::visit::Visit;

use super::value::Val;

/// A variable.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    /// Its current value (reassignment replaces it: SSA renaming).
    pub val: Val,
    /// Declared with `let mut`.
    pub mutable: bool,
    /// Where it was declared.
    pub span: Span,
}

/// A stack of frames, innermost last. Each frame keeps its bindings in
/// declaration order (a later `let` of the same name shadows an earlier one).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    frames: Vec<Vec<(String, Binding)>>,
}

/// The position of a binding in the scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    frame: usize,
    index: usize,
}

impl Scope {
    /// An empty scope with one frame.
    pub(crate) fn new() -> Scope {
        Scope {
            frames: vec![Vec::new()],
        }
    }

    /// Opens a frame (a block).
    pub(crate) fn push(&mut self) {
        self.frames.push(Vec::new());
    }

    /// Closes the innermost frame.
    pub(crate) fn pop(&mut self) {
        self.frames.pop();
    }

    /// Declares a variable in the innermost frame.
    pub(crate) fn bind(&mut self, name: &str, binding: Binding) {
        if self.frames.is_empty() {
            self.frames.push(Vec::new());
        }
        self.frames
            .last_mut()
            .expect("a frame exists")
            .push((name.to_string(), binding));
    }

    /// Finds the binding a name refers to.
    pub(crate) fn find(&self, name: &str) -> Option<Slot> {
        for (f, frame) in self.frames.iter().enumerate().rev() {
            if let Some(i) = frame.iter().rposition(|(n, _)| n == name) {
                return Some(Slot { frame: f, index: i });
            }
        }
        None
    }

    /// The binding at a slot.
    pub(crate) fn get(&self, slot: Slot) -> &Binding {
        &self.frames[slot.frame][slot.index].1
    }

    /// The binding at a slot, mutably.
    pub(crate) fn get_mut(&mut self, slot: Slot) -> &mut Binding {
        &mut self.frames[slot.frame][slot.index].1
    }

    /// Looks a name up.
    pub(crate) fn lookup(&self, name: &str) -> Option<&Binding> {
        self.find(name).map(|s| self.get(s))
    }

    /// Every visible name (for suggestions).
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .frames
            .iter()
            .flat_map(|f| f.iter().map(|(n, _)| n.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The variables assigned (`x = ..`, `x += ..`) anywhere inside the given
/// syntax, in order of first assignment.
pub(crate) fn assigned_names<'a>(nodes: impl IntoIterator<Item = &'a syn::Expr>) -> Vec<String> {
    let mut v = AssignScan::default();
    for n in nodes {
        v.visit_expr(n);
    }
    v.names
}

/// Same as [`assigned_names`] for a block.
pub(crate) fn assigned_in_block(block: &syn::Block) -> Vec<String> {
    let mut v = AssignScan::default();
    v.visit_block(block);
    v.names
}

#[derive(Default)]
struct AssignScan {
    names: Vec<String>,
    seen: HashSet<String>,
}

impl AssignScan {
    fn target(&mut self, e: &syn::Expr) {
        let e = match e {
            syn::Expr::Paren(p) => &*p.expr,
            other => other,
        };
        if let syn::Expr::Path(p) = e
            && let Some(id) = p.path.get_ident()
        {
            let n = id.unraw().to_string();
            if self.seen.insert(n.clone()) {
                self.names.push(n);
            }
        }
    }
}

impl<'ast> Visit<'ast> for AssignScan {
    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        self.target(&e.left);
        syn::visit::visit_expr_assign(self, e);
    }

    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            e.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        ) {
            self.target(&e.left);
        }
        syn::visit::visit_expr_binary(self, e);
    }

    // Closures and items are rejected by the lowering; don't look inside.
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_assignments() {
        let b: syn::Block = syn::parse_str(
            "{ let t = 1; acc += t; if c { m = 2; } else { acc = 3; } for i in 0..4 { (l) = 5; } x == y; }",
        )
        .unwrap();
        assert_eq!(assigned_in_block(&b), vec!["acc", "m", "l"]);
    }

    #[test]
    fn shadowing() {
        let mut s = Scope::new();
        let b = |v: i64| Binding {
            val: Val::Lit(super::super::value::Lit::Int(v)),
            mutable: false,
            span: Span::call_site(),
        };
        s.bind("x", b(1));
        s.push();
        s.bind("x", b(2));
        assert!(matches!(
            s.lookup("x").unwrap().val,
            Val::Lit(super::super::value::Lit::Int(2))
        ));
        s.pop();
        assert!(matches!(
            s.lookup("x").unwrap().val,
            Val::Lit(super::super::value::Lit::Int(1))
        ));
        assert!(s.lookup("y").is_none());
        assert_eq!(s.names(), vec!["x"]);
    }
}
