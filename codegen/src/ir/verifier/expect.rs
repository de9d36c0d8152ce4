//! The building blocks of the per-op rules: operand and result counts and
//! types, required and optional attributes of a given kind, and typing
//! rules from [`crate::ir::typing`], each failing with an error at the
//! op that says what was expected and what was found.

use crate::ir::attr::Attr;
use crate::ir::module::{OpId, RegionId, ValueId};
use crate::ir::types::{ScalarType, Type};

use super::describe::{attr_desc, plural};
use super::{VResult, Verifier, VerifyError};

impl<'a> Verifier<'a> {
    pub(super) fn ty(&self, v: ValueId) -> &'a Type {
        self.body.ty(v)
    }

    pub(super) fn operand(&self, op: OpId, i: usize) -> &'a Type {
        self.body.ty(self.body.op(op).operands[i])
    }

    pub(super) fn result(&self, op: OpId, i: usize) -> &'a Type {
        self.body.ty(self.body.op(op).results[i])
    }

    pub(super) fn operand_types(&self, op: OpId, from: usize) -> Vec<Type> {
        self.body.op(op).operands[from..]
            .iter()
            .map(|&v| self.ty(v).clone())
            .collect()
    }

    pub(super) fn result_types(&self, op: OpId) -> Vec<Type> {
        self.body
            .op(op)
            .results
            .iter()
            .map(|&v| self.ty(v).clone())
            .collect()
    }

    pub(super) fn arg_types(&self, r: RegionId) -> Vec<Type> {
        self.body
            .region(r)
            .args
            .iter()
            .map(|&v| self.ty(v).clone())
            .collect()
    }

    /// Checks the operand count is in `lo..=hi`; `what` names them.
    pub(super) fn operands(&self, op: OpId, lo: usize, hi: usize, what: &str) -> VResult<usize> {
        let n = self.body.op(op).operands.len();
        if n < lo || n > hi {
            let expected = if lo == hi {
                plural(lo, "operand")
            } else {
                format!("{lo} to {hi} operands")
            };
            return Err(self.err(op, format!("expected {expected} ({what}), found {n}")));
        }
        Ok(n)
    }

    pub(super) fn results(&self, op: OpId, n: usize) -> VResult {
        let found = self.body.op(op).results.len();
        if found != n {
            return Err(self.err(
                op,
                format!("expected {}, found {found}", plural(n, "result")),
            ));
        }
        Ok(())
    }

    pub(super) fn expect_result(&self, op: OpId, i: usize, expected: &Type) -> VResult {
        let found = self.result(op, i);
        if found != expected {
            let which = if self.body.op(op).results.len() == 1 {
                "the result".to_string()
            } else {
                format!("result {i}")
            };
            return Err(self.err(
                op,
                format!("{which} must have type {expected}, found {found}"),
            ));
        }
        Ok(())
    }

    pub(super) fn attr(&self, op: OpId, name: &str, kind: &str) -> VResult<&'a Attr> {
        self.body
            .op(op)
            .attr(name)
            .ok_or_else(|| self.err(op, format!("missing attribute `{name}` ({kind})")))
    }

    pub(super) fn wrong_attr(&self, op: OpId, name: &str, kind: &str, a: &Attr) -> VerifyError {
        self.err(
            op,
            format!(
                "attribute `{name}` must be {kind}, found {} {a}",
                attr_desc(a)
            ),
        )
    }

    pub(super) fn attr_int(&self, op: OpId, name: &str) -> VResult<i64> {
        let a = self.attr(op, name, "an integer")?;
        a.as_int()
            .ok_or_else(|| self.wrong_attr(op, name, "an integer", a))
    }

    pub(super) fn attr_str(&self, op: OpId, name: &str) -> VResult<&'a str> {
        let a = self.attr(op, name, "a string")?;
        a.as_str()
            .ok_or_else(|| self.wrong_attr(op, name, "a string", a))
    }

    pub(super) fn opt_bool(&self, op: OpId, name: &str) -> VResult {
        match self.body.op(op).attr(name) {
            Some(a) if a.as_bool().is_none() => Err(self.wrong_attr(op, name, "a boolean", a)),
            _ => Ok(()),
        }
    }

    pub(super) fn opt_str(&self, op: OpId, name: &str) -> VResult {
        match self.body.op(op).attr(name) {
            Some(a) if a.as_str().is_none() => Err(self.wrong_attr(op, name, "a string", a)),
            _ => Ok(()),
        }
    }

    /// A required enum-valued string attribute.
    pub(super) fn attr_enum<T>(
        &self,
        op: OpId,
        name: &str,
        parse: fn(&str) -> Option<T>,
        names: &str,
    ) -> VResult<T> {
        let s = self.attr_str(op, name)?;
        parse(s).ok_or_else(|| {
            self.err(
                op,
                format!("attribute `{name}` must be one of {names}, found \"{s}\""),
            )
        })
    }

    /// Maps a typing-rule message to an error at the op.
    pub(super) fn rule<T>(&self, op: OpId, r: Result<T, String>) -> VResult<T> {
        r.map_err(|e| self.err(op, e))
    }

    /// Operand `i` must be a scalar or tile of numbers; returns its element.
    pub(super) fn numeric(&self, op: OpId, i: usize, name: &str) -> VResult<ScalarType> {
        let t = self.operand(op, i);
        t.scalar_elem().ok_or_else(|| {
            self.err(
                op,
                format!("operand {name} must be a number or a tile of numbers, found {t}"),
            )
        })
    }

    /// Operand `i` must be an i1 scalar (the condition of `if`,
    /// `condition` and `static_assert`).
    pub(super) fn i1_condition(&self, op: OpId, i: usize) -> VResult {
        let c = self.operand(op, i);
        if *c != Type::Scalar(ScalarType::I1) {
            return Err(self.err(op, format!("the condition must be an i1 scalar, found {c}")));
        }
        Ok(())
    }
}
