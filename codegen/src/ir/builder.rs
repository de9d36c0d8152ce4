//! A cursor that creates ops at an insertion point, stamping each with the
//! current source location.
//!
//! The builder does no type inference: callers (the frontend, passes) pass
//! result types explicitly and the verifier checks them. The typed helpers
//! here only cover the result types that follow from the operands alone.

use super::attr::{Attr, Attrs};
use super::location::Location;
use super::module::{Body, OpId, RegionId, ValueId};
use super::ops::{BinaryOp, OpKind, UnaryOp};
use super::types::{Dim, ElemType, ScalarType, Type};

/// Inserts ops into a [`Body`].
pub struct Builder<'a> {
    /// The arena being built.
    pub body: &'a mut Body,
    region: RegionId,
    index: usize,
    loc: Location,
}

impl<'a> Builder<'a> {
    /// A builder appending to the end of `region`.
    pub fn at_end(body: &'a mut Body, region: RegionId) -> Builder<'a> {
        let index = body.region(region).ops.len();
        Builder {
            body,
            region,
            index,
            loc: Location::unknown(),
        }
    }

    /// A builder inserting before `op`.
    pub fn before(body: &'a mut Body, op: OpId) -> Builder<'a> {
        let (region, index) = body.position(op).expect("op is linked");
        let loc = body.op(op).loc.clone();
        Builder {
            body,
            region,
            index,
            loc,
        }
    }

    /// Moves the insertion point to the end of `region`.
    pub fn set_insertion_end(&mut self, region: RegionId) {
        self.region = region;
        self.index = self.body.region(region).ops.len();
    }

    /// The region ops are inserted into.
    pub fn region(&self) -> RegionId {
        self.region
    }

    /// Sets the location stamped on the next ops.
    pub fn set_loc(&mut self, loc: Location) {
        self.loc = loc;
    }

    /// The current location.
    pub fn loc(&self) -> &Location {
        &self.loc
    }

    /// Creates and inserts an op; returns it.
    pub fn op(
        &mut self,
        kind: OpKind,
        operands: Vec<ValueId>,
        result_types: Vec<Type>,
        attrs: Attrs,
        regions: Vec<RegionId>,
    ) -> OpId {
        let op = self.body.create_op(
            kind,
            operands,
            result_types,
            attrs,
            regions,
            self.loc.clone(),
        );
        self.body.insert_op(self.region, self.index, op);
        self.index += 1;
        op
    }

    /// Creates an op with one result and no regions; returns the result.
    pub fn op1(
        &mut self,
        kind: OpKind,
        operands: Vec<ValueId>,
        result: Type,
        attrs: Attrs,
    ) -> ValueId {
        let op = self.op(kind, operands, vec![result], attrs, vec![]);
        self.body.op(op).results[0]
    }

    /// The type of a value.
    pub fn ty(&self, v: ValueId) -> &Type {
        self.body.ty(v)
    }

    /// `tile.constant` of an integer.
    pub fn const_int(&mut self, value: i64, ty: Type) -> ValueId {
        self.op1(
            OpKind::Constant,
            vec![],
            ty,
            Attrs::new().with("value", Attr::Int(value)),
        )
    }

    /// `tile.constant` of a float.
    pub fn const_float(&mut self, value: f64, ty: Type) -> ValueId {
        self.op1(
            OpKind::Constant,
            vec![],
            ty,
            Attrs::new().with("value", Attr::Float(value)),
        )
    }

    /// `tile.constant` of a boolean.
    pub fn const_bool(&mut self, value: bool, ty: Type) -> ValueId {
        self.op1(
            OpKind::Constant,
            vec![],
            ty,
            Attrs::new().with("value", Attr::Bool(value)),
        )
    }

    /// An elementwise binary op; the result has the type of `a`.
    pub fn binary(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.ty(a).clone();
        self.op1(OpKind::Binary(op), vec![a, b], ty, Attrs::new())
    }

    /// An elementwise unary op; the result has the type of `a`.
    pub fn unary(&mut self, op: UnaryOp, a: ValueId) -> ValueId {
        let ty = self.ty(a).clone();
        self.op1(OpKind::Unary(op), vec![a], ty, Attrs::new())
    }

    /// `tile.cmp` with predicate `pred` (eq, ne, lt, le, gt, ge).
    pub fn cmp(&mut self, pred: &str, a: ValueId, b: ValueId) -> ValueId {
        let ty = self.ty(a).with_elem(ElemType::Scalar(ScalarType::I1));
        self.op1(
            OpKind::Cmp,
            vec![a, b],
            ty,
            Attrs::new().with("pred", Attr::Str(pred.to_string())),
        )
    }

    /// `tile.splat` of a scalar to `shape`.
    pub fn splat(&mut self, v: ValueId, shape: Vec<Dim>) -> ValueId {
        let elem = self.ty(v).elem().expect("splat of a scalar or pointer");
        self.op1(
            OpKind::Splat,
            vec![v],
            Type::Tile(shape, elem),
            Attrs::new(),
        )
    }

    /// `tile.cast` to another element type (same shape).
    pub fn cast(&mut self, v: ValueId, to: ScalarType) -> ValueId {
        let ty = self.ty(v).with_elem(ElemType::Scalar(to));
        self.op1(OpKind::Cast, vec![v], ty, Attrs::new())
    }

    /// A terminator or other op without results.
    pub fn op0(&mut self, kind: OpKind, operands: Vec<ValueId>, attrs: Attrs) -> OpId {
        self.op(kind, operands, vec![], attrs, vec![])
    }
}
