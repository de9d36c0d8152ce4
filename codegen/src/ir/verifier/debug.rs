//! The rules of the debugging ops: `tile.print` (anything but
//! descriptors, an optional string `prefix`), `tile.assert` (an i1 scalar
//! or tile) and `tile.static_assert` (an i1 scalar), with an optional
//! string `msg`; and of `tile.barrier` (nothing in, nothing out, no
//! attributes), which like them is kept for its effect alone.

use crate::ir::module::OpId;
use crate::ir::types::{ScalarType, Type};

use super::{VResult, Verifier};

impl<'a> Verifier<'a> {
    /// `tile.print [prefix]`: anything but descriptors.
    pub(super) fn check_print(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        self.results(op, 0)?;
        self.opt_str(op, "prefix")?;
        for (i, &v) in d.operands.iter().enumerate() {
            if let Type::Desc(..) = self.ty(v) {
                return Err(self.err(
                    op,
                    format!(
                        "operand {i} is a descriptor ({}), which cannot be printed",
                        self.ty(v)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `tile.assert {msg}`: an i1 scalar or tile.
    pub(super) fn check_assert(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "cond")?;
        self.results(op, 0)?;
        self.opt_str(op, "msg")?;
        let c = self.operand(op, 0);
        if c.scalar_elem() != Some(ScalarType::I1) {
            return Err(self.err(
                op,
                format!("the condition must be an i1 scalar or tile, found {c}"),
            ));
        }
        Ok(())
    }

    /// `tile.static_assert {msg}`: an i1 scalar.
    pub(super) fn check_static_assert(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "cond")?;
        self.results(op, 0)?;
        self.opt_str(op, "msg")?;
        self.i1_condition(op, 0)?;
        Ok(())
    }

    /// `tile.barrier`: no operands, results or attributes.
    pub(super) fn check_barrier(&self, op: OpId) -> VResult {
        self.operands(op, 0, 0, "nothing")?;
        self.results(op, 0)?;
        if let Some((name, _)) = self.body.op(op).attrs.iter().next() {
            return Err(self.err(op, format!("takes no attributes, found `{name}`")));
        }
        Ok(())
    }
}
