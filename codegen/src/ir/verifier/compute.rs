//! The rules of the computing ops: elementwise arithmetic (`Binary`,
//! `Unary`, `tile.cmp`, `tile.select`, `tile.fma`), conversions
//! (`tile.cast`, `tile.bitcast`), `tile.dot` and the axis ops
//! (`tile.reduce`, `tile.scan`, `tile.sort`, `tile.topk`). Operands share
//! one numeric type; int-only and float-only ops say so; the result types
//! come from [`crate::ir::typing`].

use crate::ir::module::OpId;
use crate::ir::ops::{BinaryOp, OpKind, UnaryOp};
use crate::ir::types::{ElemType, ScalarType, Type};
use crate::ir::typing::{
    CmpPred, ReduceKind, check_axis, check_bitcast, check_cast, cmp_result_type, dot_result_type,
    is_power_of_two, reduce_result_type, sort_result_types, topk_result_types,
};

use super::{VResult, Verifier};

impl<'a> Verifier<'a> {
    /// Binary arithmetic: two operands of one numeric type; int-only and
    /// float-only ops.
    pub(super) fn check_binary(&self, op: OpId, b: BinaryOp) -> VResult {
        self.operands(op, 2, 2, "a, b")?;
        self.results(op, 1)?;
        let (a, bt) = (self.operand(op, 0), self.operand(op, 1));
        if a != bt {
            return Err(self.err(
                op,
                format!("operands must have the same type, found {a} and {bt}"),
            ));
        }
        let s = self.numeric(op, 0, "a")?;
        if b.int_only() && s.is_float() {
            return Err(self.err(op, format!("expected integer or i1 operands, found {a}")));
        }
        if b.float_only() && !s.is_float() {
            return Err(self.err(op, format!("expected float operands, found {a}")));
        }
        self.expect_result(op, 0, a)?;
        Ok(())
    }

    /// Unary arithmetic; int-only and float-only ops.
    pub(super) fn check_unary(&self, op: OpId, u: UnaryOp) -> VResult {
        self.operands(op, 1, 1, "a")?;
        self.results(op, 1)?;
        let a = self.operand(op, 0);
        let s = self.numeric(op, 0, "a")?;
        if u.int_only() && s.is_float() {
            return Err(self.err(op, format!("expected an integer or i1 operand, found {a}")));
        }
        if u.float_only() && !s.is_float() {
            return Err(self.err(op, format!("expected a float operand, found {a}")));
        }
        self.expect_result(op, 0, a)?;
        Ok(())
    }

    /// `tile.cmp {pred}`: two operands of one numeric type, an i1 of their
    /// shape.
    pub(super) fn check_cmp(&self, op: OpId) -> VResult {
        self.operands(op, 2, 2, "a, b")?;
        self.results(op, 1)?;
        self.attr_enum(op, "pred", CmpPred::from_name, &CmpPred::names())?;
        let (a, b) = (self.operand(op, 0), self.operand(op, 1));
        if a != b {
            return Err(self.err(
                op,
                format!("operands must have the same type, found {a} and {b}"),
            ));
        }
        self.numeric(op, 0, "a")?;
        self.expect_result(op, 0, &cmp_result_type(a))?;
        Ok(())
    }

    /// `tile.select cond, a, b`: an i1 condition of the shape of `a`.
    pub(super) fn check_select(&self, op: OpId) -> VResult {
        self.operands(op, 3, 3, "cond, a, b")?;
        self.results(op, 1)?;
        let (c, a, b) = (
            self.operand(op, 0),
            self.operand(op, 1),
            self.operand(op, 2),
        );
        if a != b {
            return Err(self.err(
                op,
                format!("operands a and b must have the same type, found {a} and {b}"),
            ));
        }
        if matches!(a, Type::Desc(..)) {
            return Err(self.err(op, format!("cannot select descriptors ({a})")));
        }
        let want = a.with_elem(ElemType::Scalar(ScalarType::I1));
        if *c != want {
            return Err(self.err(
                op,
                format!("the condition must be {want} (i1 with the shape of a), found {c}"),
            ));
        }
        self.expect_result(op, 0, a)?;
        Ok(())
    }

    /// `tile.fma a, b, c`: three float operands of one type.
    pub(super) fn check_fma(&self, op: OpId) -> VResult {
        self.operands(op, 3, 3, "a, b, c")?;
        self.results(op, 1)?;
        let a = self.operand(op, 0);
        for i in 1..3 {
            if self.operand(op, i) != a {
                return Err(self.err(
                    op,
                    format!(
                        "operands must have the same type, found {a} and {}",
                        self.operand(op, i)
                    ),
                ));
            }
        }
        if !self.numeric(op, 0, "a")?.is_float() {
            return Err(self.err(op, format!("expected float operands, found {a}")));
        }
        self.expect_result(op, 0, a)?;
        Ok(())
    }

    /// `tile.cast` / `tile.bitcast`: the rules of [`check_cast`] and
    /// [`check_bitcast`].
    pub(super) fn check_cast(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        self.operands(op, 1, 1, "a")?;
        self.results(op, 1)?;
        let (a, t) = (self.operand(op, 0), self.result(op, 0));
        if d.kind == OpKind::Cast {
            self.rule(op, check_cast(a, t))?;
        } else {
            self.rule(op, check_bitcast(a, t))?;
        }
        Ok(())
    }

    /// `tile.dot a, b, acc`: `MxK` by `KxN` into an `MxN` accumulator.
    pub(super) fn check_dot(&self, op: OpId) -> VResult {
        self.operands(op, 3, 3, "a, b, acc")?;
        self.results(op, 1)?;
        self.opt_str(op, "precision")?;
        let (a, b, acc) = (
            self.operand(op, 0),
            self.operand(op, 1),
            self.operand(op, 2),
        );
        let t = self.rule(op, dot_result_type(a, b))?;
        if *acc != t {
            return Err(self.err(
                op,
                format!("the accumulator must be MxN = {t} for a = {a} and b = {b}, found {acc}"),
            ));
        }
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.reduce {kind, axis}`.
    pub(super) fn check_reduce(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let kind = self.attr_enum(op, "kind", ReduceKind::from_name, &ReduceKind::names())?;
        let axis = self.attr_int(op, "axis")?;
        let t = self.rule(op, reduce_result_type(self.operand(op, 0), axis, kind))?;
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.scan {kind, axis [, reverse]}`: the operand's type,
    /// sum/prod/max/min only.
    pub(super) fn check_scan(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let kind = self.attr_str(op, "kind")?;
        if !ReduceKind::from_name(kind).is_some_and(ReduceKind::is_scan_kind) {
            return Err(self.err(
                op,
                format!("attribute `kind` must be one of sum, prod, max, min, found \"{kind}\""),
            ));
        }
        let axis = self.attr_int(op, "axis")?;
        self.opt_bool(op, "reverse")?;
        let a = self.operand(op, 0);
        self.rule(op, check_axis(a, axis))?;
        self.numeric(op, 0, "a")?;
        self.expect_result(op, 0, a)?;
        Ok(())
    }

    /// `tile.sort {axis [, descending]}`: values and i32 indices.
    pub(super) fn check_sort(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 2)?;
        let axis = self.attr_int(op, "axis")?;
        self.opt_bool(op, "descending")?;
        let [v, i] = self.rule(op, sort_result_types(self.operand(op, 0), axis))?;
        self.expect_result(op, 0, &v)?;
        self.expect_result(op, 1, &i)?;
        Ok(())
    }

    /// `tile.topk {axis, k [, largest]}`: k (a power of two) values and i32
    /// indices.
    pub(super) fn check_topk(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 2)?;
        let axis = self.attr_int(op, "axis")?;
        let k = self.attr_int(op, "k")?;
        if k > 0 && !is_power_of_two(k as u64) {
            return Err(self.err(
                op,
                format!("k = {k} is not a power of two (it becomes a tile dimension)"),
            ));
        }
        self.opt_bool(op, "largest")?;
        let [v, i] = self.rule(op, topk_result_types(self.operand(op, 0), axis, k))?;
        self.expect_result(op, 0, &v)?;
        self.expect_result(op, 1, &i)?;
        Ok(())
    }
}
