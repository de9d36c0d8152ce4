//! [`K`], the kernel-building helper the tests use around [`Builder`].

use super::*;

/// A kernel-building helper around [`Builder`]: each method creates one op
/// with the result type that follows from its operands.
pub(crate) struct K<'a> {
    pub b: Builder<'a>,
}

impl K<'_> {
    pub fn ty(&self, v: ValueId) -> Type {
        self.b.ty(v).clone()
    }

    /// Stamps the next ops with `kern.rs:line:col`.
    pub fn at(&mut self, line: u32, col: u32) {
        self.b.set_loc(Location::new("kern.rs", line, col));
    }

    pub fn op1(&mut self, kind: OpKind, operands: Vec<ValueId>, ty: Type, attrs: Attrs) -> ValueId {
        self.b.op1(kind, operands, ty, attrs)
    }

    pub fn op0(&mut self, kind: OpKind, operands: Vec<ValueId>, attrs: Attrs) {
        self.b.op0(kind, operands, attrs);
    }

    /// An op with several results (sort, topk, split, calls); returns them.
    pub fn op_n(
        &mut self,
        kind: OpKind,
        operands: Vec<ValueId>,
        results: Vec<Type>,
        attrs: Attrs,
    ) -> Vec<ValueId> {
        let op = self.b.op(kind, operands, results, attrs, vec![]);
        self.b.body.op(op).results.clone()
    }

    /// `tile.call @callee(args) : results`.
    pub fn call(&mut self, callee: &str, args: Vec<ValueId>, results: Vec<Type>) -> Vec<ValueId> {
        self.op_n(OpKind::Call, args, results, named("callee", callee))
    }

    /// `tile.reduce {kind, axis}` of `v` to type `result`.
    pub fn reduce(&mut self, v: ValueId, result: Type, kind: &str, axis: i64) -> ValueId {
        self.op1(OpKind::Reduce, vec![v], result, axis_attrs(kind, axis))
    }

    /// `tile.reshape` of `v` to type `result`.
    pub fn reshape(&mut self, v: ValueId, result: Type) -> ValueId {
        self.op1(OpKind::Reshape, vec![v], result, Attrs::new())
    }

    pub fn int(&mut self, v: i64, s: S) -> ValueId {
        self.b.const_int(v, Type::Scalar(s))
    }

    pub fn i32(&mut self, v: i64) -> ValueId {
        self.int(v, S::I32)
    }

    pub fn float(&mut self, v: f64, s: S) -> ValueId {
        self.b.const_float(v, Type::Scalar(s))
    }

    /// `tile.program_id {axis}`.
    pub fn pid(&mut self, axis: i64) -> ValueId {
        self.grid_query(OpKind::ProgramId, axis)
    }

    /// `tile.num_programs {axis}`.
    pub fn num_programs(&mut self, axis: i64) -> ValueId {
        self.grid_query(OpKind::NumPrograms, axis)
    }

    /// An i32 op of the grid (`program_id`, `num_programs`) along `axis`.
    fn grid_query(&mut self, kind: OpKind, axis: i64) -> ValueId {
        self.op1(
            kind,
            vec![],
            Type::Scalar(S::I32),
            Attrs::new().with("axis", Attr::Int(axis)),
        )
    }

    pub fn arange(&mut self, n: u64) -> ValueId {
        self.op1(
            OpKind::Arange,
            vec![],
            tile(&[n], S::I32),
            Attrs::new().with("start", Attr::Int(0)),
        )
    }

    pub fn splat(&mut self, v: ValueId, shape: &[u64]) -> ValueId {
        self.b.splat(v, dims(shape))
    }

    /// Splats a scalar operand to the other's shape.
    fn unify(&mut self, a: ValueId, b: ValueId) -> (ValueId, ValueId) {
        let (sa, sb) = (shape_of(&self.ty(a)), shape_of(&self.ty(b)));
        if sa.is_empty() && !sb.is_empty() {
            (self.splat(a, &sb), b)
        } else if sb.is_empty() && !sa.is_empty() {
            (a, self.splat(b, &sa))
        } else {
            (a, b)
        }
    }

    pub fn bin(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let (a, b) = self.unify(a, b);
        self.b.binary(op, a, b)
    }

    pub fn un(&mut self, op: UnaryOp, a: ValueId) -> ValueId {
        self.b.unary(op, a)
    }

    pub fn cmp(&mut self, pred: &str, a: ValueId, b: ValueId) -> ValueId {
        let (a, b) = self.unify(a, b);
        self.b.cmp(pred, a, b)
    }

    pub fn cast(&mut self, v: ValueId, to: S) -> ValueId {
        self.b.cast(v, to)
    }

    pub fn select(&mut self, c: ValueId, a: ValueId, b: ValueId) -> ValueId {
        let t = self.ty(a);
        self.op1(OpKind::Select, vec![c, a, b], t, Attrs::new())
    }

    pub fn addptr(&mut self, p: ValueId, off: ValueId) -> ValueId {
        let (pt, space) = self.ty(p).pointee().expect("pointer");
        let (sp, so) = (shape_of(&self.ty(p)), shape_of(&self.ty(off)));
        let shape = if sp.is_empty() { so } else { sp };
        self.op1(
            OpKind::AddPtr,
            vec![p, off],
            ty_of(&shape, ElemType::Ptr(pt, space)),
            Attrs::new(),
        )
    }

    pub fn load(&mut self, p: ValueId, mask: Option<ValueId>, other: Option<ValueId>) -> ValueId {
        let t = self.ty(p);
        let (pt, _) = t.pointee().expect("pointer");
        let mut ops = vec![p];
        ops.extend(mask);
        ops.extend(other);
        self.op1(
            OpKind::Load,
            ops,
            t.with_elem(ElemType::Scalar(pt)),
            Attrs::new(),
        )
    }

    pub fn store(&mut self, p: ValueId, v: ValueId, mask: Option<ValueId>) {
        let mut ops = vec![p, v];
        ops.extend(mask);
        self.op0(OpKind::Store, ops, Attrs::new());
    }

    pub fn expand(&mut self, v: ValueId, axis: i64) -> ValueId {
        let t = self.ty(v);
        let mut s = shape_of(&t);
        let a = if axis < 0 {
            axis + s.len() as i64 + 1
        } else {
            axis
        };
        s.insert(a as usize, 1);
        self.op1(
            OpKind::ExpandDims,
            vec![v],
            ty_of(&s, t.elem().unwrap()),
            Attrs::new().with("axis", Attr::Int(axis)),
        )
    }

    pub fn bcast(&mut self, v: ValueId, shape: &[u64]) -> ValueId {
        let t = self.ty(v);
        self.op1(
            OpKind::Broadcast,
            vec![v],
            ty_of(shape, t.elem().unwrap()),
            Attrs::new(),
        )
    }

    /// `op(a[i], b[j])` over an `len(a) x len(b)` grid, from two 1-d tiles.
    pub fn outer(&mut self, op: BinaryOp, a: ValueId, b: ValueId) -> ValueId {
        let (n, m) = (shape_of(&self.ty(a))[0], shape_of(&self.ty(b))[0]);
        let a2 = self.expand(a, 1);
        let b2 = self.expand(b, 0);
        let a3 = self.bcast(a2, &[n, m]);
        let b3 = self.bcast(b2, &[n, m]);
        self.bin(op, a3, b3)
    }

    /// `r * stride + c` over an `rows x cols` tile (i32).
    pub fn offsets2d(&mut self, rows: u64, cols: u64, stride: i64) -> ValueId {
        let r = self.arange(rows);
        let s = self.i32(stride);
        let rs = self.bin(BinaryOp::Mul, r, s);
        let c = self.arange(cols);
        self.outer(BinaryOp::Add, rs, c)
    }

    /// Stores a scalar or 1-d/2-d tile at `p` in row-major order.
    pub fn store_tile(&mut self, p: ValueId, v: ValueId) {
        let s = shape_of(&self.ty(v));
        let ptrs = match s.len() {
            0 => p,
            1 => {
                let o = self.arange(s[0]);
                self.addptr(p, o)
            }
            _ => {
                let o = self.offsets2d(s[0], s[1], s[1] as i64);
                self.addptr(p, o)
            }
        };
        self.store(ptrs, v, None);
    }

    /// Loads an `rows x cols` row-major tile at `p`.
    pub fn load2d(&mut self, p: ValueId, rows: u64, cols: u64) -> ValueId {
        let o = self.offsets2d(rows, cols, cols as i64);
        let ps = self.addptr(p, o);
        self.load(ps, None, None)
    }

    /// A region op's results after building its regions with `fill`; each
    /// closure gets the region's arguments and returns what it yields.
    pub fn region_op(
        &mut self,
        kind: OpKind,
        operands: Vec<ValueId>,
        results: Vec<Type>,
        regions: Vec<(Vec<Type>, OpKind, RegionFill<'_>)>,
    ) -> Vec<ValueId> {
        let outer = self.b.region();
        let ids: Vec<_> = regions
            .iter()
            .map(|(args, _, _)| self.b.body.new_region(args))
            .collect();
        let op = self
            .b
            .op(kind, operands, results, Attrs::new(), ids.clone());
        for (r, (_, term, fill)) in ids.into_iter().zip(regions) {
            self.b.set_insertion_end(r);
            let args = self.b.body.region(r).args.clone();
            let ys = fill(self, &args);
            self.op0(term, ys, Attrs::new());
        }
        self.b.set_insertion_end(outer);
        self.b.body.op(op).results.clone()
    }

    /// `tile.for lb..ub by step` over i32 constants, carrying `inits`.
    pub fn for_i32(
        &mut self,
        (lb, ub, step): (i64, i64, i64),
        inits: Vec<ValueId>,
        body: RegionFill<'_>,
    ) -> Vec<ValueId> {
        let lb = self.i32(lb);
        let ub = self.i32(ub);
        let step = self.i32(step);
        self.for_(lb, ub, step, inits, body)
    }

    /// `tile.for lb..ub by step` carrying `inits`.
    pub fn for_(
        &mut self,
        lb: ValueId,
        ub: ValueId,
        step: ValueId,
        inits: Vec<ValueId>,
        body: RegionFill<'_>,
    ) -> Vec<ValueId> {
        let tys: Vec<Type> = inits.iter().map(|&v| self.ty(v)).collect();
        let mut args = vec![self.ty(lb)];
        args.extend(tys.iter().cloned());
        let mut ops = vec![lb, ub, step];
        ops.extend(inits);
        self.region_op(OpKind::For, ops, tys, vec![(args, OpKind::Yield, body)])
    }
}
