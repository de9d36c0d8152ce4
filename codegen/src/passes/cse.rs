//! Common subexpression elimination: an op identical to an earlier one that
//! dominates it is removed and its results replaced by the earlier op's.
//!
//! Two ops are identical when they have the same kind, operands, attributes
//! and result types; the operands of commutative ops (`add`, `mul`, `and`,
//! `or`, `xor`, and integer `max`/`min`) are compared as a set. Only ops
//! whose effect is [`Effect::Pure`] merge: loads read memory that a store in
//! between may change, and ops with regions (`for`, `if`, `while`) are never
//! merged.
//!
//! Scoping follows dominance in structured control flow: an op may reuse an
//! equivalent op earlier in its own region or earlier in an enclosing
//! region (before the op owning the region), never one inside a sibling
//! region (the other branch of an `if`) or inside a nested region. The
//! survivor keeps its name and location.
//!
//! The walk is in dominance order, so chains merge in one pass (`a1 = x+y;
//! a2 = x+y; b1 = a1*2; b2 = a2*2` leaves `a1` and `b1`).

use std::collections::HashMap;

use crate::ir::{BinaryOp, Body, Effect, Func, OpId, OpKind, RegionId, Type, ValueId};

use super::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "cse";

/// Merges identical pure ops in `f`; returns whether any was merged.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let mut cse = Cse {
        scopes: Vec::new(),
        replaced: HashMap::new(),
        changed: false,
    };
    let entry = f.body.entry();
    cse.region(&mut f.body, entry);
    Ok(cse.changed)
}

/// What makes two pure ops the same.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: OpKind,
    operands: Vec<ValueId>,
    /// The attributes as printed (`name = value`, sorted by name); floats
    /// print so that they parse back bit-exactly, so equal text means equal
    /// values.
    attrs: String,
    types: Vec<Type>,
}

struct Cse {
    /// The available ops of each enclosing region, innermost last.
    scopes: Vec<HashMap<Key, OpId>>,
    /// Removed values and their replacements.
    replaced: HashMap<ValueId, ValueId>,
    changed: bool,
}

/// True when the operand order does not matter for `kind` on these types.
fn commutative(body: &Body, kind: OpKind, operands: &[ValueId]) -> bool {
    match kind {
        // max(-0.0, +0.0) may depend on the order: integers only.
        OpKind::Binary(BinaryOp::Max | BinaryOp::Min) => operands
            .first()
            .and_then(|&v| body.ty(v).scalar_elem())
            .is_some_and(|s| s.is_int()),
        OpKind::Binary(b) => b.is_commutative(),
        _ => false,
    }
}

impl Cse {
    fn region(&mut self, body: &mut Body, r: RegionId) {
        self.scopes.push(HashMap::new());
        for op in body.region(r).ops.clone() {
            // Uses of merged values come after their definitions in this
            // walk, so renaming operands here catches every use.
            let data = body.op_mut(op);
            for v in data.operands.iter_mut() {
                if let Some(&n) = self.replaced.get(v) {
                    *v = n;
                }
            }
            let data = body.op(op);
            if data.regions.is_empty()
                && !data.results.is_empty()
                && data.kind.effect() == Effect::Pure
            {
                let mut operands = data.operands.clone();
                if commutative(body, data.kind, &operands) {
                    operands.sort();
                }
                let key = Key {
                    kind: data.kind,
                    operands,
                    attrs: data
                        .attrs
                        .iter()
                        .map(|(n, a)| format!("{n} = {a}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    types: data.results.iter().map(|&v| body.ty(v).clone()).collect(),
                };
                let found = self.scopes.iter().rev().find_map(|s| s.get(&key)).copied();
                if let Some(prev) = found {
                    let old = body.op(op).results.clone();
                    let new = body.op(prev).results.clone();
                    self.replaced.extend(old.into_iter().zip(new));
                    body.erase_op(op);
                    self.changed = true;
                    continue;
                }
                if let Some(scope) = self.scopes.last_mut() {
                    scope.insert(key, op);
                }
            }
            for inner in body.op(op).regions.clone() {
                self.region(body, inner);
            }
        }
        self.scopes.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{parse_module, print_func};
    use crate::passes::golden;

    #[test]
    fn golden() {
        golden::check(NAME, |m| golden::each_func(m, run));
    }

    fn cse(src: &str) -> (bool, String) {
        let mut m = parse_module(src).unwrap();
        let changed = run(&mut m.funcs[0]).unwrap();
        (changed, print_func(&m.funcs[0]))
    }

    #[test]
    fn nothing_to_merge_reports_no_change() {
        let (changed, out) = cse(r#"tile.func @f(%a: i32, %b: i32) -> (i32) loc(unknown) {
  %x = tile.add %a, %b : i32 loc(unknown)
  %y = tile.sub %a, %b : i32 loc(unknown)
  %z = tile.mul %x, %y : i32 loc(unknown)
  tile.return %z loc(unknown)
}
"#);
        assert!(!changed);
        assert!(out.contains("tile.sub"));
    }

    #[test]
    fn float_max_is_not_commutative_but_add_is() {
        let (changed, out) = cse(
            r#"tile.func @f(%a: f32, %b: f32) -> (f32, f32, f32, f32) loc(unknown) {
  %m1 = tile.max %a, %b : f32 loc(unknown)
  %m2 = tile.max %b, %a : f32 loc(unknown)
  %s1 = tile.add %a, %b : f32 loc(unknown)
  %s2 = tile.add %b, %a : f32 loc(unknown)
  tile.return %m1, %m2, %s1, %s2 loc(unknown)
}
"#,
        );
        assert!(changed);
        assert!(out.contains("%m2 = tile.max %b, %a"), "{out}");
        assert!(!out.contains("%s2"), "{out}");
        assert!(out.contains("tile.return %m1, %m2, %s1, %s1"), "{out}");
    }

    #[test]
    fn constants_differ_by_type_and_sign_of_zero() {
        let (_, out) = cse(r#"tile.func @f() -> (f32, f32, f64, f32) loc(unknown) {
  %a = tile.constant {value = 0.0} : f32 loc(unknown)
  %b = tile.constant {value = -0.0} : f32 loc(unknown)
  %c = tile.constant {value = 0.0} : f64 loc(unknown)
  %d = tile.constant {value = 0.0} : f32 loc(unknown)
  tile.return %a, %b, %c, %d loc(unknown)
}
"#);
        assert!(out.contains("tile.return %a, %b, %c, %a"), "{out}");
    }
}
