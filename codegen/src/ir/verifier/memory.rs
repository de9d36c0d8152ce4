//! The rules of the memory ops: `tile.addptr`, `tile.load`, `tile.store`,
//! the atomics (`tile.atomic_rmw`, `tile.atomic_cas`) and the tensor
//! descriptors (`tile.make_desc`, `tile.desc_load`, `tile.desc_store`). A
//! value accessed through a pointer (tile) has the pointee type with the
//! pointer's shape, and a mask is i1 of that shape.

use crate::ir::module::OpId;
use crate::ir::ops::OpKind;
use crate::ir::types::{AddrSpace, ElemType, ScalarType, Type};
use crate::ir::typing::{AtomicKind, load_result_type, mask_type, shape_str};

use super::{VResult, Verifier};

impl<'a> Verifier<'a> {
    /// Operand `i` must be the i1 mask of an access through `ptr`.
    pub(super) fn mask(&self, op: OpId, i: usize, ptr: &Type) -> VResult {
        let expected = mask_type(ptr);
        let found = self.operand(op, i);
        if *found != expected {
            return Err(self.err(
                op,
                format!(
                    "the mask must have the pointer's shape with i1 elements ({expected}), \
                     found {found}"
                ),
            ));
        }
        Ok(())
    }

    /// Operand `i` is the value accessed through `ptr` (operand 0): its
    /// pointee with the pointer's shape.
    pub(super) fn accessed_value(&self, op: OpId, i: usize, name: &str) -> VResult<Type> {
        let ptr = self.operand(op, 0);
        let expected = self.rule(
            op,
            load_result_type(ptr).map_err(|e| format!("operand ptr: {e}")),
        )?;
        let found = self.operand(op, i);
        if *found != expected {
            return Err(self.err(
                op,
                format!(
                    "operand {name} must match the pointer {ptr} (expected {expected}), found {found}"
                ),
            ));
        }
        Ok(expected)
    }

    /// Operand `i` (called `name`) must be a scalar of type `expected`.
    pub(super) fn int_scalar(
        &self,
        op: OpId,
        i: usize,
        name: &str,
        expected: ScalarType,
    ) -> VResult {
        let t = self.operand(op, i);
        if *t != Type::Scalar(expected) {
            return Err(self.err(
                op,
                format!("operand {name} must be an {expected} scalar, found {t}"),
            ));
        }
        Ok(())
    }

    /// `tile.addptr ptr, offset`: an integer offset of the pointer's shape.
    pub(super) fn check_addptr(&self, op: OpId) -> VResult {
        self.operands(op, 2, 2, "ptr, offset")?;
        self.results(op, 1)?;
        let (p, o) = (self.operand(op, 0), self.operand(op, 1));
        if p.pointee().is_none() {
            return Err(self.err(
                op,
                format!("operand ptr must be a pointer or a tile of pointers, found {p}"),
            ));
        }
        match o.scalar_elem() {
            Some(s) if s.is_int() && !s.is_bool() => {}
            _ => {
                return Err(self.err(
                    op,
                    format!("operand offset must be an integer (i8..i64), found {o}"),
                ));
            }
        }
        if p.is_tile() != o.is_tile() || p.shape() != o.shape() {
            return Err(self.err(
                op,
                format!(
                    "the offset must have the pointer's shape ({}), found {o}",
                    shape_str(p.shape())
                ),
            ));
        }
        self.expect_result(op, 0, p)?;
        Ok(())
    }

    /// `tile.load ptr [, mask [, other]]`: the pointee with the pointer's
    /// shape.
    pub(super) fn check_load(&self, op: OpId) -> VResult {
        let n = self.operands(op, 1, 3, "ptr [, mask [, other]]")?;
        self.results(op, 1)?;
        let ptr = self.operand(op, 0);
        let t = self.rule(
            op,
            load_result_type(ptr).map_err(|e| format!("operand ptr: {e}")),
        )?;
        if n >= 2 {
            self.mask(op, 1, ptr)?;
        }
        if n == 3 && *self.operand(op, 2) != t {
            return Err(self.err(
                op,
                format!(
                    "operand other must have the loaded type {t}, found {}",
                    self.operand(op, 2)
                ),
            ));
        }
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.store ptr, value [, mask]`.
    pub(super) fn check_store(&self, op: OpId) -> VResult {
        let n = self.operands(op, 2, 3, "ptr, value [, mask]")?;
        self.results(op, 0)?;
        self.accessed_value(op, 1, "value")?;
        if n == 3 {
            self.mask(op, 2, self.operand(op, 0))?;
        }
        Ok(())
    }

    /// `tile.atomic_rmw {kind} ptr, value [, mask]`: returns the old values.
    pub(super) fn check_atomic_rmw(&self, op: OpId) -> VResult {
        let n = self.operands(op, 2, 3, "ptr, value [, mask]")?;
        self.results(op, 1)?;
        self.attr_enum(op, "kind", AtomicKind::from_name, &AtomicKind::names())?;
        let t = self.accessed_value(op, 1, "value")?;
        if n == 3 {
            self.mask(op, 2, self.operand(op, 0))?;
        }
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.atomic_cas ptr, compare, value`: returns the old values.
    pub(super) fn check_atomic_cas(&self, op: OpId) -> VResult {
        self.operands(op, 3, 3, "ptr, compare, value")?;
        self.results(op, 1)?;
        let t = self.accessed_value(op, 1, "compare")?;
        self.accessed_value(op, 2, "value")?;
        self.expect_result(op, 0, &t)?;
        Ok(())
    }

    /// `tile.make_desc base, shapes..., strides...`: a global pointer to the
    /// element type and i64 shapes and strides, one per block dimension.
    pub(super) fn check_make_desc(&self, op: OpId) -> VResult {
        self.results(op, 1)?;
        let t = self.result(op, 0);
        let Type::Desc(s, block) = t else {
            return Err(self.err(op, format!("the result must be a descriptor, found {t}")));
        };
        let rank = block.len();
        self.operands(
            op,
            1 + 2 * rank,
            1 + 2 * rank,
            &format!("base, {rank} shapes, {rank} strides"),
        )?;
        let base = self.operand(op, 0);
        if *base != Type::Ptr(*s, AddrSpace::Global) {
            return Err(self.err(
                op,
                format!(
                    "the base must be a global pointer to the descriptor's element type \
                     (ptr<{s}, global>), found {base}"
                ),
            ));
        }
        for i in 0..rank {
            self.int_scalar(op, 1 + i, &format!("shape {i}"), ScalarType::I64)?;
            self.int_scalar(op, 1 + rank + i, &format!("stride {i}"), ScalarType::I64)?;
        }
        Ok(())
    }

    /// `tile.desc_load desc, offsets...` / `tile.desc_store desc, offsets...,
    /// value`: i32 offsets, one per dimension, and a block of the descriptor's
    /// shape.
    pub(super) fn check_desc_access(&self, op: OpId) -> VResult {
        let d = self.body.op(op);
        let store = d.kind == OpKind::DescStore;
        let n = d.operands.len();
        if n == 0 {
            return Err(self.err(op, "expected a descriptor operand, found none"));
        }
        let t = self.operand(op, 0);
        let Type::Desc(s, block) = t else {
            return Err(self.err(op, format!("operand 0 must be a descriptor, found {t}")));
        };
        let rank = block.len();
        let want = 1 + rank + usize::from(store);
        let what = if store {
            "desc, offsets, value"
        } else {
            "desc, offsets"
        };
        self.operands(op, want, want, what)?;
        for i in 1..=rank {
            self.int_scalar(op, i, &format!("offset {}", i - 1), ScalarType::I32)?;
        }
        let tile = Type::Tile(block.clone(), ElemType::Scalar(*s));
        if store {
            self.results(op, 0)?;
            let v = self.operand(op, rank + 1);
            if *v != tile {
                return Err(self.err(
                    op,
                    format!("the stored value must be the descriptor's block {tile}, found {v}"),
                ));
            }
        } else {
            self.results(op, 1)?;
            self.expect_result(op, 0, &tile)?;
        }
        Ok(())
    }
}
