//! SSA and dominance: every value is defined once, and an operand must be
//! visible where it is used: an argument of the current or an enclosing
//! region, or a result of an earlier op of the current or an enclosing
//! region. The walk keeps the visible values on a scope stack, popped when
//! a region ends, so values defined in a region are not visible after it
//! and an op's own results are not visible in its regions. When an operand
//! is not visible, [`Verifier::dominance_error`] works out why.

use crate::ir::module::{OpId, RegionId, ValueDef, ValueId};

use super::{VResult, Verifier, VerifyError};

impl<'a> Verifier<'a> {
    /// Marks a value defined and visible; an error if it already was.
    pub(super) fn define(&mut self, v: ValueId) -> VResult {
        let i = v.0 as usize;
        if self.defined[i] {
            return Err(VerifyError {
                loc: self.f.loc.clone(),
                message: format!(
                    "value #{} ({}) is defined more than once",
                    v.0,
                    self.value_desc(v)
                ),
            });
        }
        self.defined[i] = true;
        self.visible[i] = true;
        self.scope.push(v);
        Ok(())
    }

    /// Every operand of `op` (in region `r`) must be visible here.
    pub(super) fn check_operands_visible(&self, op: OpId, r: RegionId) -> VResult {
        for (i, &v) in self.body.op(op).operands.iter().enumerate() {
            if !self.visible[v.0 as usize] {
                return Err(self.dominance_error(op, r, i, v));
            }
        }
        Ok(())
    }

    /// Makes the results of `op` visible to the ops after it.
    pub(super) fn show_results(&mut self, op: OpId) {
        for &v in &self.body.op(op).results {
            self.visible[v.0 as usize] = true;
            self.scope.push(v);
        }
    }

    /// The scope mark of a region being entered.
    pub(super) fn open_scope(&self) -> usize {
        self.scope.len()
    }

    /// Hides the values defined since `mark` (the region has ended).
    pub(super) fn close_scope(&mut self, mark: usize) {
        for v in self.scope.drain(mark..) {
            self.visible[v.0 as usize] = false;
        }
    }

    /// The regions enclosing `r`, `r` included (guarded against cycles).
    pub(super) fn ancestors(&self, mut r: RegionId) -> Vec<RegionId> {
        let mut out = vec![r];
        while out.len() <= self.body.num_regions() {
            let Some(op) = self.body.region(r).parent else {
                break;
            };
            if op.0 as usize >= self.body.num_ops() {
                break;
            }
            let Some(p) = self.body.op(op).parent else {
                break;
            };
            if p.0 as usize >= self.body.num_regions() {
                break;
            }
            r = p;
            out.push(r);
        }
        out
    }

    /// Why operand `index` of `user` (in region `r`) is not visible.
    pub(super) fn dominance_error(
        &self,
        user: OpId,
        r: RegionId,
        index: usize,
        v: ValueId,
    ) -> VerifyError {
        let what = format!("operand {index} ({})", self.value_desc(v));
        let enclosing = self.ancestors(r);
        let def_region = match self.body.value(v).def {
            ValueDef::OpResult { op, .. } => {
                if op == user {
                    return self.err(user, format!("{what} is a result of the op itself"));
                }
                let d = self.body.op(op);
                if d.dead {
                    return self.err(user, format!("{what} is defined by an erased op"));
                }
                match d.parent {
                    Some(p) => p,
                    None => {
                        return self.err(
                            user,
                            format!(
                                "{what} is defined by an op that is not linked into any region"
                            ),
                        );
                    }
                }
            }
            ValueDef::RegionArg { region, .. } => region,
        };
        // Walk up from the definition to the first region that encloses the use.
        let def_chain = self.ancestors(def_region);
        match def_chain.iter().position(|x| enclosing.contains(x)) {
            Some(0) => self.err(user, format!("{what} is used before its definition")),
            Some(i) => {
                let inner = def_chain[i - 1];
                self.err(
                    user,
                    format!(
                        "{what} is defined inside {} and is not visible here \
                         (values of a region cannot be used outside it)",
                        self.region_desc(self.owner_of(inner))
                    ),
                )
            }
            None => self.err(
                user,
                format!("{what} is defined in a region that is not part of the function"),
            ),
        }
    }
}
