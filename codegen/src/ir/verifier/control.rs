//! The rules of the control-flow ops and their terminators: the types that
//! flow into a region (its arguments) and out of it (its terminator's
//! operands) match what the owning op prescribes: `tile.for` (integer
//! bounds, induction variable and carried values), `tile.if` (an i1
//! condition, branches yielding the results), `tile.while` (before region
//! on the initial values, `tile.condition` forwarding to the after region,
//! whose `tile.yield` carries the values back).

use crate::ir::module::OpId;
use crate::ir::types::Type;

use super::describe::types_str;
use super::{Owner, VResult, Verifier};

impl<'a> Verifier<'a> {
    /// The function body ends with `tile.return` of the function's result
    /// types.
    pub(super) fn check_return(&self, op: OpId) -> VResult {
        self.results(op, 0)?;
        let found = self.operand_types(op, 0);
        if found != self.f.results {
            return Err(self.err(
                op,
                format!(
                    "function `{}` returns {}, found {}",
                    self.f.name,
                    types_str(&self.f.results),
                    types_str(&found)
                ),
            ));
        }
        Ok(())
    }

    /// `tile.yield` carries the types its parent region expects.
    pub(super) fn check_yield(&self, op: OpId, owner: Owner) -> VResult {
        self.results(op, 0)?;
        let (expected, what) = match owner {
            Owner::For(o) => (self.result_types(o), "carries"),
            Owner::IfThen(o) | Owner::IfElse(o) => (self.result_types(o), "yields"),
            Owner::WhileAfter(o) => (self.arg_types(self.body.op(o).regions[0]), "carries"),
            Owner::Func | Owner::WhileBefore(_) => {
                return Err(self.misplaced(op, owner));
            }
        };
        let found = self.operand_types(op, 0);
        if found != expected {
            return Err(self.err(
                op,
                format!(
                    "{} {what} {}, found {}",
                    self.region_desc(owner),
                    types_str(&expected),
                    types_str(&found)
                ),
            ));
        }
        Ok(())
    }

    /// `tile.condition` ends the before region of a `while`: an i1 and the
    /// values forwarded to the after region.
    pub(super) fn check_condition(&self, op: OpId, owner: Owner) -> VResult {
        self.results(op, 0)?;
        self.operands(op, 1, usize::MAX, "cond: i1, forwarded values")?;
        self.i1_condition(op, 0)?;
        let Owner::WhileBefore(w) = owner else {
            return Err(self.misplaced(op, owner));
        };
        let expected = self.arg_types(self.body.op(w).regions[1]);
        let found = self.operand_types(op, 1);
        if found != expected {
            return Err(self.err(
                op,
                format!(
                    "the forwarded values must match the arguments of the after \
                     region of {}: expected {}, found {}",
                    self.op_desc(w),
                    types_str(&expected),
                    types_str(&found)
                ),
            ));
        }
        Ok(())
    }

    /// `tile.for lb, ub, step, inits...`: integer bounds of one type; the
    /// body takes the induction variable and the carried values.
    pub(super) fn check_for(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        self.operands(op, 3, usize::MAX, "lb, ub, step, inits")?;
        let lb = self.operand(op, 0);
        let bounds_ok = matches!(lb, Type::Scalar(s) if s.is_int() && !s.is_bool())
            && self.operand(op, 1) == lb
            && self.operand(op, 2) == lb;
        if !bounds_ok {
            return Err(self.err(
                op,
                format!(
                    "lb, ub and step must be integer scalars of one type, found {}",
                    types_str(&self.operand_types(op, 0)[..3])
                ),
            ));
        }
        let inits = self.operand_types(op, 3);
        let results = self.result_types(op);
        if inits != results {
            return Err(self.err(
                op,
                format!(
                    "the results must have the types of the initial values {}, found {}",
                    types_str(&inits),
                    types_str(&results)
                ),
            ));
        }
        let args = self.arg_types(d.regions[0]);
        let mut expected = vec![lb.clone()];
        expected.extend(inits);
        if args != expected {
            return Err(self.err(
                op,
                format!(
                    "the body's arguments must be the induction variable and the carried \
                     values {}, found {}",
                    types_str(&expected),
                    types_str(&args)
                ),
            ));
        }
        Ok(())
    }

    /// `tile.if`: an i1 condition and two regions without arguments.
    pub(super) fn check_if(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        self.operands(op, 1, 1, "cond: i1")?;
        self.i1_condition(op, 0)?;
        for (i, name) in ["then", "else"].into_iter().enumerate() {
            let n = self.body.region(d.regions[i]).args.len();
            if n != 0 {
                return Err(self.err(
                    op,
                    format!("the {name} region must have no arguments, found {n}"),
                ));
            }
        }
        Ok(())
    }

    /// `tile.while`: the before region takes the initial values, the after
    /// region the results.
    pub(super) fn check_while(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        let inits = self.operand_types(op, 0);
        let before = self.arg_types(d.regions[0]);
        if before != inits {
            return Err(self.err(
                op,
                format!(
                    "the before region's arguments must have the types of the initial \
                     values {}, found {}",
                    types_str(&inits),
                    types_str(&before)
                ),
            ));
        }
        let results = self.result_types(op);
        let after = self.arg_types(d.regions[1]);
        if after != results {
            return Err(self.err(
                op,
                format!(
                    "the after region's arguments must have the result types {}, found {}",
                    types_str(&results),
                    types_str(&after)
                ),
            ));
        }
        Ok(())
    }
}
