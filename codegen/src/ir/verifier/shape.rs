//! The rules of the shape ops: `tile.splat`, `tile.broadcast`,
//! `tile.reshape`, `tile.expand_dims`, `tile.trans`, `tile.join` and
//! `tile.split`. They keep the element type; the shape rules themselves are
//! in [`crate::ir::typing`], shared with the frontend.

use crate::ir::module::OpId;
use crate::ir::ops::OpKind;
use crate::ir::types::Type;
use crate::ir::typing::{
    check_broadcast, check_reshape, expand_dims_shape, join_type, split_type, trans_shape,
};

use super::{VResult, Verifier};

impl<'a> Verifier<'a> {
    /// `tile.splat`: a scalar or pointer to a tile of it.
    pub(super) fn check_splat(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a scalar")?;
        self.results(op, 1)?;
        let a = self.operand(op, 0);
        if !matches!(a, Type::Scalar(_) | Type::Ptr(..)) {
            return Err(self.err(
                op,
                format!("the operand must be a scalar or a pointer, found {a}"),
            ));
        }
        let t = self.result(op, 0);
        if !t.is_tile() || t.elem() != a.elem() {
            return Err(self.err(
                op,
                format!(
                    "the result must be a tile of {}, found {t}",
                    a.elem().map(|e| e.to_string()).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// `tile.broadcast` / `tile.reshape`: a tile to a tile of the same element
    /// type and a compatible shape.
    pub(super) fn check_broadcast_reshape(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let (a, t) = (self.operand(op, 0), self.result(op, 0));
        let (Type::Tile(fs, fe), Type::Tile(ts, te)) = (a, t) else {
            return Err(self.err(
                op,
                format!("operand and result must be tiles, found {a} and {t}"),
            ));
        };
        if fe != te {
            return Err(self.err(
                op,
                format!("the result must keep the element type {fe}, found {t}"),
            ));
        }
        if d.kind == OpKind::Broadcast {
            self.rule(op, check_broadcast(fs, ts))?;
        } else {
            self.rule(op, check_reshape(fs, ts))?;
        }
        Ok(())
    }

    /// `tile.expand_dims {axis}`: a size-1 dimension inserted at `axis`.
    pub(super) fn check_expand_dims(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let axis = self.attr_int(op, "axis")?;
        let a = self.operand(op, 0);
        let Type::Tile(shape, elem) = a else {
            return Err(self.err(op, format!("the operand must be a tile, found {a}")));
        };
        let s = self.rule(op, expand_dims_shape(shape, axis))?;
        self.expect_result(op, 0, &Type::Tile(s, elem.clone()))?;
        Ok(())
    }

    /// `tile.trans {perm}`: the dimensions permuted.
    pub(super) fn check_trans(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let a = self.operand(op, 0);
        let p = self.attr(op, "perm", "an integer list")?;
        let perm = p
            .as_ints()
            .ok_or_else(|| self.wrong_attr(op, "perm", "an integer list", p))?;
        let Type::Tile(shape, elem) = a else {
            return Err(self.err(op, format!("the operand must be a tile, found {a}")));
        };
        let s = self.rule(op, trans_shape(shape, perm))?;
        self.expect_result(op, 0, &Type::Tile(s, elem.clone()))?;
        Ok(())
    }

    /// `tile.join a, b`: two equal tiles stacked along a new last dimension of
    /// 2.
    pub(super) fn check_join(&self, op: OpId) -> VResult {
        self.operands(op, 2, 2, "a, b")?;
        self.results(op, 1)?;
        let t = self.rule(op, join_type(self.operand(op, 0), self.operand(op, 1)))?;
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.convert_layout`: a tile to the same tile, with a `layout` string
    /// naming the GPU distribution of the result.
    pub(super) fn check_convert_layout(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile")?;
        self.results(op, 1)?;
        let a = self.operand(op, 0);
        if !a.is_tile() {
            return Err(self.err(op, format!("the operand must be a tile, found {a}")));
        }
        let l = self.attr(op, "layout", "a string")?;
        if l.as_str().is_none() {
            return Err(self.wrong_attr(op, "layout", "a string", l));
        }
        self.expect_result(op, 0, &a.clone())?;
        Ok(())
    }

    /// `tile.split`: the inverse of `join`, two results.
    pub(super) fn check_split(&self, op: OpId) -> VResult {
        self.operands(op, 1, 1, "a tile with last dimension 2")?;
        self.results(op, 2)?;
        let t = self.rule(op, split_type(self.operand(op, 0)))?;
        self.expect_result(op, 0, &t)?;
        self.expect_result(op, 1, &t)?;
        Ok(())
    }
}
