//! Tests of the interpreter on kernels built with `ir::Builder`: the issue's
//! kernels (vector add with a masked tail, row softmax, a K-loop matmul)
//! against plain Rust references, every axis op on random 2-d tiles over
//! both axes, f16 rounding, control flow, calls, prints, atomics,
//! descriptors and the elementwise op families.

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::*;
use crate::ir::{
    Attr, Attrs, BinaryOp, Builder, Dim, ElemType, Func, FuncKind, Location, OpKind,
    ScalarType as S, UnaryOp, ValueId,
};

/// Tile dims from constants.
pub(crate) fn dims(shape: &[u64]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Const(d)).collect()
}

/// A scalar/pointer type for an empty shape, else a tile type.
pub(crate) fn ty_of(shape: &[u64], elem: ElemType) -> Type {
    if shape.is_empty() {
        match elem {
            ElemType::Scalar(s) => Type::Scalar(s),
            ElemType::Ptr(s, a) => Type::Ptr(s, a),
        }
    } else {
        Type::Tile(dims(shape), elem)
    }
}

/// A tile of scalars.
pub(crate) fn tile(shape: &[u64], s: S) -> Type {
    ty_of(shape, ElemType::Scalar(s))
}

/// The constant shape of a type.
pub(crate) fn shape_of(t: &Type) -> Vec<u64> {
    t.const_shape().expect("constant shape in tests")
}

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

    pub fn int(&mut self, v: i64, s: S) -> ValueId {
        self.b.const_int(v, Type::Scalar(s))
    }

    pub fn i32(&mut self, v: i64) -> ValueId {
        self.int(v, S::I32)
    }

    pub fn float(&mut self, v: f64, s: S) -> ValueId {
        self.b.const_float(v, Type::Scalar(s))
    }

    pub fn pid(&mut self, axis: i64) -> ValueId {
        self.op1(
            OpKind::ProgramId,
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

/// Builds a region's body; returns the terminator's operands.
pub(crate) type RegionFill<'f> = Box<dyn FnOnce(&mut K, &[ValueId]) -> Vec<ValueId> + 'f>;

/// A module with one kernel `@k` (at `kern.rs:1:1`) built by `build`.
pub(crate) fn kernel(params: &[(&str, Type)], build: impl FnOnce(&mut K, &[ValueId])) -> Module {
    let mut m = Module::new();
    m.funcs
        .push(func("k", FuncKind::Kernel, params, vec![], |k, p| {
            build(k, p);
            vec![]
        }));
    m
}

/// A function built by `build`, which returns the values returned.
pub(crate) fn func(
    name: &str,
    kind: FuncKind,
    params: &[(&str, Type)],
    results: Vec<Type>,
    build: impl FnOnce(&mut K, &[ValueId]) -> Vec<ValueId>,
) -> Func {
    let mut f = Func::new(name, kind);
    f.loc = Location::new("kern.rs", 1, 1);
    f.results = results;
    let ps: Vec<ValueId> = params
        .iter()
        .map(|(n, t)| f.add_param(n, t.clone()))
        .collect();
    let entry = f.body.entry();
    let mut k = K {
        b: Builder::at_end(&mut f.body, entry),
    };
    k.at(1, 1);
    let rets = build(&mut k, &ps);
    k.op0(OpKind::Return, rets, Attrs::new());
    f
}

pub(crate) fn ptr(s: S) -> Type {
    Type::ptr(s)
}

pub(crate) fn arg(buffer: usize, elem: S) -> ArgValue {
    ArgValue::Ptr {
        buffer,
        byte_offset: 0,
        elem,
    }
}

fn random_f32s(rng: &mut SmallRng, n: usize, lo: f32, hi: f32) -> Vec<f64> {
    (0..n)
        .map(|_| f64::from(rng.random_range(lo..hi)))
        .collect()
}

#[test]
fn vector_add_with_masked_tail() {
    const BLOCK: u64 = 64;
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("y", ptr(S::F32)),
            ("out", ptr(S::F32)),
            ("n", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let pid = k.pid(0);
            let bs = k.i32(BLOCK as i64);
            let start = k.bin(BinaryOp::Mul, pid, bs);
            let ar = k.arange(BLOCK);
            let offs = k.bin(BinaryOp::Add, start, ar);
            let mask = k.cmp("lt", offs, p[3]);
            let xp = k.addptr(p[0], offs);
            let yp = k.addptr(p[1], offs);
            let x = k.load(xp, Some(mask), None);
            let y = k.load(yp, Some(mask), None);
            let s = k.bin(BinaryOp::Add, x, y);
            let op = k.addptr(p[2], offs);
            k.store(op, s, Some(mask));
        },
    );
    let mut rng = SmallRng::seed_from_u64(7);
    for n in [1usize, 63, 64, 1000] {
        let x = random_f32s(&mut rng, n, -10.0, 10.0);
        let y = random_f32s(&mut rng, n, -10.0, 10.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F32, &x));
        mem.add(Buffer::from_f64s(S::F32, &y));
        // One guard element past the end must stay untouched.
        mem.add(Buffer::from_f64s(S::F32, &vec![-1.0; n + 1]));
        let grid = n.div_ceil(BLOCK as usize) as u32;
        let args = [
            arg(0, S::F32),
            arg(1, S::F32),
            arg(2, S::F32),
            ArgValue::Int(n as i64),
        ];
        let out = run(&m, "k", [grid, 1, 1], &args, &mut mem).unwrap();
        assert!(out.printed.is_empty());
        let got = mem.buffers[2].to_f64s();
        for i in 0..n {
            let want = (x[i] as f32 + y[i] as f32) as f64;
            assert_eq!(got[i], want, "n = {n}, i = {i}");
        }
        assert_eq!(got[n], -1.0, "the guard element was written");
    }
}

/// The softmax of DESIGN.md: f16 in and out, f32 inside, one row per program.
fn softmax_module(block: u64) -> Module {
    kernel(
        &[
            ("x", ptr(S::F16)),
            ("y", ptr(S::F16)),
            ("n_cols", Type::Scalar(S::I32)),
            ("stride", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let row = k.pid(0);
            let cols = k.arange(block);
            let mask = k.cmp("lt", cols, p[2]);
            let base = k.bin(BinaryOp::Mul, row, p[3]);
            let offs = k.bin(BinaryOp::Add, base, cols);
            let xp = k.addptr(p[0], offs);
            let ninf = k.float(f64::NEG_INFINITY, S::F16);
            let other = k.splat(ninf, &[block]);
            let v16 = k.load(xp, Some(mask), Some(other));
            let v = k.cast(v16, S::F32);
            let mx = k.op1(
                OpKind::Reduce,
                vec![v],
                Type::Scalar(S::F32),
                Attrs::new()
                    .with("kind", Attr::Str("max".into()))
                    .with("axis", Attr::Int(0)),
            );
            let d = k.bin(BinaryOp::Sub, v, mx);
            let e = k.un(UnaryOp::Exp, d);
            let s = k.op1(
                OpKind::Reduce,
                vec![e],
                Type::Scalar(S::F32),
                Attrs::new()
                    .with("kind", Attr::Str("sum".into()))
                    .with("axis", Attr::Int(0)),
            );
            let r = k.bin(BinaryOp::Div, e, s);
            let r16 = k.cast(r, S::F16);
            let yp = k.addptr(p[1], offs);
            k.store(yp, r16, Some(mask));
        },
    )
}

#[test]
fn row_softmax_matches_reference() {
    let mut rng = SmallRng::seed_from_u64(11);
    let m = softmax_module(64);
    for (rows, cols) in [(7usize, 50usize), (3, 64), (1, 1)] {
        let stride = cols + 3;
        let x: Vec<f64> = random_f32s(&mut rng, rows * stride, -4.0, 4.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F16, &x));
        mem.add(Buffer::from_f64s(S::F16, &vec![9.0; rows * stride]));
        let xs = mem.buffers[0].to_f64s();
        let args = [
            arg(0, S::F16),
            arg(1, S::F16),
            ArgValue::Int(cols as i64),
            ArgValue::Int(stride as i64),
        ];
        run(&m, "k", [rows as u32, 1, 1], &args, &mut mem).unwrap();
        let y = mem.buffers[1].to_f64s();
        for r in 0..rows {
            let row = &xs[r * stride..r * stride + cols];
            let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
            for c in 0..stride {
                let got = y[r * stride + c];
                if c < cols {
                    let want = (row[c] - mx).exp() / sum;
                    assert!(
                        (got - want).abs() <= 1e-3 * want.max(1e-2),
                        "row {r} col {c}: {got} vs {want}"
                    );
                } else {
                    assert_eq!(got, 9.0, "masked column {c} was written");
                }
            }
            let total: f64 = y[r * stride..r * stride + cols].iter().sum();
            assert!((total - 1.0).abs() < 1e-2, "row {r} sums to {total}");
        }
    }
}

#[test]
fn k_loop_matmul_matches_naive() {
    const BM: u64 = 16;
    const BN: u64 = 8;
    const BK: u64 = 8;
    let m = kernel(
        &[
            ("a", ptr(S::F32)),
            ("b", ptr(S::F32)),
            ("c", ptr(S::F32)),
            ("M", Type::Scalar(S::I32)),
            ("N", Type::Scalar(S::I32)),
            ("K", Type::Scalar(S::I32)),
        ],
        |k, p| {
            let (pa, pb, pc, mm, nn, kk) = (p[0], p[1], p[2], p[3], p[4], p[5]);
            let pm = k.pid(0);
            let pn = k.pid(1);
            let bm = k.i32(BM as i64);
            let bn = k.i32(BN as i64);
            let om = k.bin(BinaryOp::Mul, pm, bm);
            let on = k.bin(BinaryOp::Mul, pn, bn);
            let am = k.arange(BM);
            let an = k.arange(BN);
            let rm = k.bin(BinaryOp::Add, om, am);
            let rn = k.bin(BinaryOp::Add, on, an);
            let zero = k.float(0.0, S::F32);
            let acc0 = k.splat(zero, &[BM, BN]);
            let lb = k.i32(0);
            let step = k.i32(BK as i64);
            let res = k.for_(
                lb,
                kk,
                step,
                vec![acc0],
                Box::new(move |k: &mut K, args: &[ValueId]| {
                    let (kb, acc) = (args[0], args[1]);
                    let rk0 = k.arange(BK);
                    let rk = k.bin(BinaryOp::Add, kb, rk0);
                    // a[rm, rk]
                    let rmk = k.bin(BinaryOp::Mul, rm, kk);
                    let a_off = k.outer(BinaryOp::Add, rmk, rk);
                    let m_in = k.cmp("lt", rm, mm);
                    let k_in = k.cmp("lt", rk, kk);
                    let a_mask = k.outer(BinaryOp::And, m_in, k_in);
                    let zero = k.float(0.0, S::F32);
                    let za = k.splat(zero, &[BM, BK]);
                    let ap = k.addptr(pa, a_off);
                    let a = k.load(ap, Some(a_mask), Some(za));
                    // b[rk, rn]
                    let rkn = k.bin(BinaryOp::Mul, rk, nn);
                    let b_off = k.outer(BinaryOp::Add, rkn, rn);
                    let n_in = k.cmp("lt", rn, nn);
                    let b_mask = k.outer(BinaryOp::And, k_in, n_in);
                    let zb = k.splat(zero, &[BK, BN]);
                    let bp = k.addptr(pb, b_off);
                    let b = k.load(bp, Some(b_mask), Some(zb));
                    let t = k.ty(acc);
                    let d = k.op1(OpKind::Dot, vec![a, b, acc], t, Attrs::new());
                    vec![d]
                }),
            );
            let rmn = k.bin(BinaryOp::Mul, rm, nn);
            let c_off = k.outer(BinaryOp::Add, rmn, rn);
            let m_in = k.cmp("lt", rm, mm);
            let n_in = k.cmp("lt", rn, nn);
            let c_mask = k.outer(BinaryOp::And, m_in, n_in);
            let cp = k.addptr(pc, c_off);
            k.store(cp, res[0], Some(c_mask));
        },
    );
    let mut rng = SmallRng::seed_from_u64(3);
    for (mm, nn, kk) in [(37usize, 29usize, 45usize), (16, 8, 8), (5, 3, 1)] {
        let a = random_f32s(&mut rng, mm * kk, -1.0, 1.0);
        let b = random_f32s(&mut rng, kk * nn, -1.0, 1.0);
        let mut mem = Memory::new();
        mem.add(Buffer::from_f64s(S::F32, &a));
        mem.add(Buffer::from_f64s(S::F32, &b));
        mem.add(Buffer::zeroed(S::F32, mm * nn));
        let grid = [
            mm.div_ceil(BM as usize) as u32,
            nn.div_ceil(BN as usize) as u32,
            1,
        ];
        let args = [
            arg(0, S::F32),
            arg(1, S::F32),
            arg(2, S::F32),
            ArgValue::Int(mm as i64),
            ArgValue::Int(nn as i64),
            ArgValue::Int(kk as i64),
        ];
        run(&m, "k", grid, &args, &mut mem).unwrap();
        let c = mem.buffers[2].to_f64s();
        for i in 0..mm {
            for j in 0..nn {
                let want: f64 = (0..kk).map(|l| a[i * kk + l] * b[l * nn + j]).sum();
                let got = c[i * nn + j];
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{mm}x{nn}x{kk} c[{i},{j}] = {got}, want {want}"
                );
            }
        }
    }
}

/// Runs a one-program kernel that loads an `r x c` tile of `elem` from
/// buffer 0, applies `f`, and stores each result (scalar, 1-d or 2-d) into
/// buffers 1.. of the given element types and lengths. Returns those buffers.
fn run_tile_op(
    elem: S,
    input: &[f64],
    r: u64,
    c: u64,
    outs: &[(S, usize)],
    f: impl FnOnce(&mut K, ValueId) -> Vec<ValueId>,
) -> Vec<Buffer> {
    let mut params = vec![("x", ptr(elem))];
    for (s, _) in outs {
        params.push(("out", ptr(*s)));
    }
    let m = kernel(&params, |k, p| {
        let x = k.load2d(p[0], r, c);
        let results = f(k, x);
        for (i, v) in results.into_iter().enumerate() {
            k.store_tile(p[i + 1], v);
        }
    });
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(elem, input));
    let mut args = vec![arg(0, elem)];
    for (i, (s, n)) in outs.iter().enumerate() {
        mem.add(Buffer::zeroed(*s, *n));
        args.push(arg(i + 1, *s));
    }
    run(&m, "k", [1, 1, 1], &args, &mut mem).unwrap();
    mem.buffers.split_off(1)
}

/// The lines of an `r x c` row-major tile along `axis`, as index lists.
fn lines(r: usize, c: usize, axis: usize) -> Vec<Vec<usize>> {
    if axis == 0 {
        (0..c)
            .map(|j| (0..r).map(|i| i * c + j).collect())
            .collect()
    } else {
        (0..r)
            .map(|i| (0..c).map(|j| i * c + j).collect())
            .collect()
    }
}

fn axis_attrs(kind: &str, axis: i64) -> Attrs {
    Attrs::new()
        .with("kind", Attr::Str(kind.into()))
        .with("axis", Attr::Int(axis))
}

#[test]
fn reductions_on_both_axes_match_reference() {
    let (r, c) = (6usize, 9usize);
    let mut rng = SmallRng::seed_from_u64(5);
    for elem in [S::F32, S::I32] {
        let x: Vec<f64> = (0..r * c)
            .map(|_| {
                f64::from(rng.random_range(-3i32..4)) * if elem.is_float() { 0.37 } else { 1.0 }
            })
            .collect();
        let xin = Buffer::from_f64s(elem, &x).to_f64s();
        for axis in [0usize, 1] {
            let n_out = if axis == 0 { c } else { r };
            for kind in ["sum", "prod", "max", "min", "argmax", "argmin"] {
                let out_elem = if kind.starts_with("arg") {
                    S::I32
                } else {
                    elem
                };
                let outs = run_tile_op(
                    elem,
                    &x,
                    r as u64,
                    c as u64,
                    &[(out_elem, n_out)],
                    |k, v| {
                        let ty = tile(&[n_out as u64], out_elem);
                        vec![k.op1(OpKind::Reduce, vec![v], ty, axis_attrs(kind, axis as i64))]
                    },
                );
                let got = outs[0].to_f64s();
                for (o, line) in lines(r, c, axis).iter().enumerate() {
                    let vals: Vec<f64> = line.iter().map(|&i| xin[i]).collect();
                    let want = match kind {
                        "sum" => vals.iter().sum::<f64>(),
                        "prod" => vals.iter().product::<f64>(),
                        "max" => vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                        "min" => vals.iter().cloned().fold(f64::INFINITY, f64::min),
                        "argmax" => {
                            let m = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                            vals.iter().position(|&v| v == m).unwrap() as f64
                        }
                        _ => {
                            let m = vals.iter().cloned().fold(f64::INFINITY, f64::min);
                            vals.iter().position(|&v| v == m).unwrap() as f64
                        }
                    };
                    let want = if out_elem == S::F32 {
                        want as f32 as f64
                    } else {
                        want
                    };
                    assert_eq!(got[o], want, "{elem} {kind} axis {axis} line {o}");
                }
            }
        }
    }
}

#[test]
fn reduce_1d_gives_scalar_and_argmax_takes_first_nan() {
    let x = [1.0, 5.0, f64::NAN, 5.0, f64::NAN];
    let outs = run_tile_op(
        S::F32,
        &x,
        1,
        5,
        &[(S::I32, 1), (S::F32, 1), (S::I32, 1)],
        |k, v| {
            let row = k.op1(OpKind::Reshape, vec![v], tile(&[5], S::F32), Attrs::new());
            let am = k.op1(
                OpKind::Reduce,
                vec![row],
                Type::Scalar(S::I32),
                axis_attrs("argmax", 0),
            );
            let mx = k.op1(
                OpKind::Reduce,
                vec![row],
                Type::Scalar(S::F32),
                axis_attrs("max", 0),
            );
            let an = k.op1(
                OpKind::Reduce,
                vec![row],
                Type::Scalar(S::I32),
                axis_attrs("argmin", -1),
            );
            vec![am, mx, an]
        },
    );
    assert_eq!(outs[0].to_i64s(), [2]);
    assert!(outs[1].to_f64s()[0].is_nan());
    assert_eq!(outs[2].to_i64s(), [2]);
    let x = [3.0, 7.0, 7.0, -1.0, -1.0];
    let outs = run_tile_op(S::I32, &x, 1, 5, &[(S::I32, 1), (S::I32, 1)], |k, v| {
        let row = k.op1(OpKind::Reshape, vec![v], tile(&[5], S::I32), Attrs::new());
        let am = k.op1(
            OpKind::Reduce,
            vec![row],
            Type::Scalar(S::I32),
            axis_attrs("argmax", 0),
        );
        let an = k.op1(
            OpKind::Reduce,
            vec![row],
            Type::Scalar(S::I32),
            axis_attrs("argmin", 0),
        );
        vec![am, an]
    });
    assert_eq!(outs[0].to_i64s(), [1]);
    assert_eq!(outs[1].to_i64s(), [3]);
}

#[test]
fn scans_forward_and_reverse_on_both_axes() {
    let (r, c) = (5usize, 7usize);
    let mut rng = SmallRng::seed_from_u64(9);
    for elem in [S::F32, S::I32] {
        let x: Vec<f64> = (0..r * c)
            .map(|_| {
                let v = f64::from(rng.random_range(-9i32..10));
                if elem.is_float() { v * 0.3 } else { v }
            })
            .collect();
        let xin = Buffer::from_f64s(elem, &x).to_f64s();
        for axis in [0usize, 1] {
            for reverse in [false, true] {
                for kind in ["sum", "prod", "max", "min"] {
                    let outs =
                        run_tile_op(elem, &x, r as u64, c as u64, &[(elem, r * c)], |k, v| {
                            let t = k.ty(v);
                            vec![k.op1(
                                OpKind::Scan,
                                vec![v],
                                t,
                                axis_attrs(kind, axis as i64).with("reverse", Attr::Bool(reverse)),
                            )]
                        });
                    let got = outs[0].to_f64s();
                    for line in lines(r, c, axis) {
                        let order: Vec<usize> = if reverse {
                            line.iter().rev().copied().collect()
                        } else {
                            line
                        };
                        let mut acc: Option<f64> = None;
                        for &i in &order {
                            let v = xin[i];
                            let s = match (kind, acc) {
                                (_, None) => v,
                                ("sum", Some(a)) => a + v,
                                ("prod", Some(a)) => a * v,
                                ("max", Some(a)) => a.max(v),
                                (_, Some(a)) => a.min(v),
                            };
                            acc = Some(s);
                            let want = if elem == S::F32 { s as f32 as f64 } else { s };
                            assert_eq!(
                                got[i], want,
                                "{elem} {kind} axis {axis} reverse {reverse} at {i}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn sort_and_topk_on_both_axes_are_stable() {
    let (r, c) = (6usize, 8usize);
    let mut rng = SmallRng::seed_from_u64(13);
    // Few distinct values, so ties are common and stability shows.
    let x: Vec<f64> = (0..r * c)
        .map(|_| f64::from(rng.random_range(0i32..4)))
        .collect();
    for axis in [0usize, 1] {
        for descending in [false, true] {
            let outs = run_tile_op(
                S::F32,
                &x,
                r as u64,
                c as u64,
                &[(S::F32, r * c), (S::I32, r * c)],
                |k, v| {
                    let t = k.ty(v);
                    let op = k.b.op(
                        OpKind::Sort,
                        vec![v],
                        vec![t, tile(&[r as u64, c as u64], S::I32)],
                        Attrs::new()
                            .with("axis", Attr::Int(axis as i64))
                            .with("descending", Attr::Bool(descending)),
                        vec![],
                    );
                    k.b.body.op(op).results.clone()
                },
            );
            let (vals, idx) = (outs[0].to_f64s(), outs[1].to_i64s());
            for line in lines(r, c, axis) {
                let mut want: Vec<(f64, usize)> =
                    line.iter().enumerate().map(|(p, &i)| (x[i], p)).collect();
                want.sort_by(|a, b| {
                    let o = a.0.partial_cmp(&b.0).unwrap();
                    if descending { o.reverse() } else { o }
                });
                for (p, &i) in line.iter().enumerate() {
                    assert_eq!(
                        (vals[i], idx[i] as usize),
                        want[p],
                        "axis {axis} desc {descending}"
                    );
                }
            }
        }
        for largest in [true, false] {
            let k_ = 3usize;
            let oshape = if axis == 0 {
                [k_ as u64, c as u64]
            } else {
                [r as u64, k_ as u64]
            };
            let n = k_ * if axis == 0 { c } else { r };
            let outs = run_tile_op(
                S::F32,
                &x,
                r as u64,
                c as u64,
                &[(S::F32, n), (S::I32, n)],
                |k, v| {
                    let op = k.b.op(
                        OpKind::TopK,
                        vec![v],
                        vec![tile(&oshape, S::F32), tile(&oshape, S::I32)],
                        Attrs::new()
                            .with("axis", Attr::Int(axis as i64))
                            .with("k", Attr::Int(k_ as i64))
                            .with("largest", Attr::Bool(largest)),
                        vec![],
                    );
                    k.b.body.op(op).results.clone()
                },
            );
            let (vals, idx) = (outs[0].to_f64s(), outs[1].to_i64s());
            let out_lines = lines(oshape[0] as usize, oshape[1] as usize, axis);
            for (line, oline) in lines(r, c, axis).iter().zip(out_lines) {
                let mut want: Vec<(f64, usize)> =
                    line.iter().enumerate().map(|(p, &i)| (x[i], p)).collect();
                want.sort_by(|a, b| {
                    let o = a.0.partial_cmp(&b.0).unwrap();
                    if largest { o.reverse() } else { o }
                });
                for (p, &i) in oline.iter().enumerate() {
                    assert_eq!(
                        (vals[i], idx[i] as usize),
                        want[p],
                        "topk axis {axis} largest {largest}"
                    );
                }
            }
        }
    }
}

#[test]
fn f16_rounds_exactly_at_casts_and_ops() {
    let mut rng = SmallRng::seed_from_u64(21);
    let n = 256u64;
    let x = random_f32s(&mut rng, n as usize, -300.0, 300.0);
    let y = random_f32s(&mut rng, n as usize, -3.0, 3.0);
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("y", ptr(S::F32)),
            ("sum32", ptr(S::F32)),
            ("prod16", ptr(S::F16)),
            ("wide", ptr(S::F32)),
            ("b16", ptr(S::BF16)),
        ],
        |k, p| {
            let o = k.arange(n);
            let xp = k.addptr(p[0], o);
            let yp = k.addptr(p[1], o);
            let x = k.load(xp, None, None);
            let y = k.load(yp, None, None);
            let x16 = k.cast(x, S::F16);
            let y16 = k.cast(y, S::F16);
            let s16 = k.bin(BinaryOp::Add, x16, y16);
            let s32 = k.cast(s16, S::F32);
            let sp = k.addptr(p[2], o);
            k.store(sp, s32, None);
            let p16 = k.bin(BinaryOp::Mul, x16, y16);
            let pp = k.addptr(p[3], o);
            k.store(pp, p16, None);
            // Computing in f32 and casting once differs from f16 arithmetic.
            let w = k.bin(BinaryOp::Mul, x, y);
            let wp = k.addptr(p[4], o);
            k.store(wp, w, None);
            let b = k.cast(w, S::BF16);
            let bp = k.addptr(p[5], o);
            k.store(bp, b, None);
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &x));
    mem.add(Buffer::from_f64s(S::F32, &y));
    mem.add(Buffer::zeroed(S::F32, n as usize));
    mem.add(Buffer::zeroed(S::F16, n as usize));
    mem.add(Buffer::zeroed(S::F32, n as usize));
    mem.add(Buffer::zeroed(S::BF16, n as usize));
    let args: Vec<ArgValue> = [S::F32, S::F32, S::F32, S::F16, S::F32, S::BF16]
        .iter()
        .enumerate()
        .map(|(i, &s)| arg(i, s))
        .collect();
    run(&m, "k", [1, 1, 1], &args, &mut mem).unwrap();
    let sums = mem.buffers[2].to_f64s();
    let wide = mem.buffers[4].to_f64s();
    for i in 0..n as usize {
        let hx = half::f16::from_f32(x[i] as f32);
        let hy = half::f16::from_f32(y[i] as f32);
        assert_eq!(sums[i], f64::from((hx + hy).to_f32()), "sum at {i}");
        let prod = hx * hy;
        let bytes = &mem.buffers[3].data[2 * i..2 * i + 2];
        assert_eq!(
            u16::from_le_bytes([bytes[0], bytes[1]]),
            prod.to_bits(),
            "f16 product at {i}"
        );
        let w = x[i] as f32 * y[i] as f32;
        assert_eq!(wide[i], f64::from(w), "f32 product at {i}");
        let bytes = &mem.buffers[5].data[2 * i..2 * i + 2];
        assert_eq!(
            u16::from_le_bytes([bytes[0], bytes[1]]),
            half::bf16::from_f32(w).to_bits(),
            "bf16 cast at {i}"
        );
    }
}

#[test]
fn while_if_and_call() {
    // @step(n) -> n / 2 if even else 3n + 1, as a device function.
    let step = func(
        "step",
        FuncKind::Device,
        &[("n", Type::Scalar(S::I64))],
        vec![Type::Scalar(S::I64)],
        |k, p| {
            let two = k.int(2, S::I64);
            let r = k.bin(BinaryOp::Rem, p[0], two);
            let zero = k.int(0, S::I64);
            let even = k.cmp("eq", r, zero);
            let i64t = Type::Scalar(S::I64);
            let n = p[0];
            let res = k.region_op(
                OpKind::If,
                vec![even],
                vec![i64t],
                vec![
                    (
                        vec![],
                        OpKind::Yield,
                        Box::new(move |k: &mut K, _: &[ValueId]| {
                            let two = k.int(2, S::I64);
                            vec![k.bin(BinaryOp::Div, n, two)]
                        }),
                    ),
                    (
                        vec![],
                        OpKind::Yield,
                        Box::new(move |k: &mut K, _: &[ValueId]| {
                            let three = k.int(3, S::I64);
                            let one = k.int(1, S::I64);
                            let t = k.bin(BinaryOp::Mul, n, three);
                            vec![k.bin(BinaryOp::Add, t, one)]
                        }),
                    ),
                ],
            );
            vec![res[0]]
        },
    );
    let mut m = kernel(
        &[("n", Type::Scalar(S::I64)), ("out", ptr(S::I64))],
        |k, p| {
            let zero = k.int(0, S::I64);
            let i64t = Type::Scalar(S::I64);
            let res = k.region_op(
                OpKind::While,
                vec![p[0], zero],
                vec![i64t.clone(), i64t.clone()],
                vec![
                    (
                        vec![i64t.clone(), i64t.clone()],
                        OpKind::Condition,
                        Box::new(|k: &mut K, a: &[ValueId]| {
                            let one = k.int(1, S::I64);
                            let c = k.cmp("ne", a[0], one);
                            vec![c, a[0], a[1]]
                        }),
                    ),
                    (
                        vec![i64t.clone(), i64t.clone()],
                        OpKind::Yield,
                        Box::new(|k: &mut K, a: &[ValueId]| {
                            let next = k.b.op(
                                OpKind::Call,
                                vec![a[0]],
                                vec![Type::Scalar(S::I64)],
                                Attrs::new().with("callee", Attr::Str("step".into())),
                                vec![],
                            );
                            let next = k.b.body.op(next).results[0];
                            let one = k.int(1, S::I64);
                            vec![next, k.bin(BinaryOp::Add, a[1], one)]
                        }),
                    ),
                ],
            );
            k.store(p[1], res[1], None);
            let o1 = k.int(1, S::I32);
            let p1 = k.addptr(p[1], o1);
            k.store(p1, res[0], None);
        },
    );
    m.funcs.push(step);
    for (n, steps) in [(27i64, 111i64), (1, 0), (6, 8)] {
        let mut mem = Memory::new();
        mem.add(Buffer::zeroed(S::I64, 2));
        run(
            &m,
            "k",
            [1, 1, 1],
            &[ArgValue::Int(n), arg(0, S::I64)],
            &mut mem,
        )
        .unwrap();
        assert_eq!(mem.buffers[0].to_i64s(), [steps, 1], "n = {n}");
    }
}

#[test]
fn for_with_negative_step_and_zero_trips() {
    // sum of iv for iv in (ub, lb] stepping by -3, and a loop that never runs.
    let m = kernel(&[("out", ptr(S::I32))], |k, p| {
        let lb = k.i32(10);
        let ub = k.i32(0);
        let st = k.i32(-3);
        let z = k.i32(0);
        let r = k.for_(
            lb,
            ub,
            st,
            vec![z],
            Box::new(|k: &mut K, a: &[ValueId]| vec![k.bin(BinaryOp::Add, a[1], a[0])]),
        );
        k.store(p[0], r[0], None);
        let seven = k.i32(7);
        let lb2 = k.i32(5);
        let ub2 = k.i32(5);
        let one = k.i32(1);
        let r2 = k.for_(
            lb2,
            ub2,
            one,
            vec![seven],
            Box::new(|k: &mut K, a: &[ValueId]| vec![k.bin(BinaryOp::Mul, a[1], a[1])]),
        );
        let o = k.i32(1);
        let p1 = k.addptr(p[0], o);
        k.store(p1, r2[0], None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I32, 2));
    run(&m, "k", [1, 1, 1], &[arg(0, S::I32)], &mut mem).unwrap();
    assert_eq!(mem.buffers[0].to_i64s(), [10 + 7 + 4 + 1, 7]);
}

#[test]
fn print_is_captured_in_program_order() {
    let m = kernel(&[], |k, _| {
        let pid = k.pid(0);
        let r = k.arange(3);
        let h = k.float(0.1, S::F16);
        k.op0(
            OpKind::Print,
            vec![pid, r, h],
            Attrs::new().with("prefix", Attr::Str("v = ".into())),
        );
    });
    let out = run(&m, "k", [2, 1, 1], &[], &mut Memory::new()).unwrap();
    assert_eq!(
        out.printed,
        [
            "pid (0, 0, 0) v = 0, [0, 1, 2], 0.099975586",
            "pid (1, 0, 0) v = 1, [0, 1, 2], 0.099975586"
        ]
    );
}

#[test]
fn programs_run_z_then_y_then_x_fastest() {
    // Each program takes a ticket with an atomic add and writes its id there.
    let m = kernel(&[("ticket", ptr(S::I32)), ("log", ptr(S::I32))], |k, p| {
        let one = k.i32(1);
        let t = k.op1(
            OpKind::AtomicRmw,
            vec![p[0], one],
            Type::Scalar(S::I32),
            Attrs::new().with("kind", Attr::Str("add".into())),
        );
        let x = k.pid(0);
        let y = k.pid(1);
        let z = k.pid(2);
        let ten = k.i32(10);
        let hundred = k.i32(100);
        let y10 = k.bin(BinaryOp::Mul, y, ten);
        let z100 = k.bin(BinaryOp::Mul, z, hundred);
        let id = k.bin(BinaryOp::Add, x, y10);
        let id = k.bin(BinaryOp::Add, id, z100);
        let nx = k.op1(
            OpKind::NumPrograms,
            vec![],
            Type::Scalar(S::I32),
            Attrs::new().with("axis", Attr::Int(0)),
        );
        let nz = k.op1(
            OpKind::NumPrograms,
            vec![],
            Type::Scalar(S::I32),
            Attrs::new().with("axis", Attr::Int(2)),
        );
        let thousand = k.i32(1000);
        let tenk = k.i32(10000);
        let nx = k.bin(BinaryOp::Mul, nx, thousand);
        let nz = k.bin(BinaryOp::Mul, nz, tenk);
        let id = k.bin(BinaryOp::Add, id, nx);
        let id = k.bin(BinaryOp::Add, id, nz);
        let lp = k.addptr(p[1], t);
        k.store(lp, id, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I32, 1));
    mem.add(Buffer::zeroed(S::I32, 12));
    run(
        &m,
        "k",
        [2, 3, 2],
        &[arg(0, S::I32), arg(1, S::I32)],
        &mut mem,
    )
    .unwrap();
    let mut want = vec![];
    for z in 0..2 {
        for y in 0..3 {
            for x in 0..2 {
                want.push(x + 10 * y + 100 * z + 2000 + 20000);
            }
        }
    }
    assert_eq!(mem.buffers[1].to_i64s(), want);
    assert_eq!(mem.buffers[0].to_i64s(), [12]);
}

#[test]
fn atomics_are_sequential_and_masked() {
    let m = kernel(
        &[
            ("cell", ptr(S::F32)),
            ("old", ptr(S::F32)),
            ("c", ptr(S::I32)),
        ],
        |k, p| {
            // Four lanes on the same cell: add [1, 2, 3, 4] with lane 1 masked off.
            let zero = k.i32(0);
            let zs = k.splat(zero, &[4]);
            let ptrs = k.addptr(p[0], zs);
            let r = k.arange(4);
            let one = k.i32(1);
            let r1 = k.bin(BinaryOp::Add, r, one);
            let vals = k.cast(r1, S::F32);
            let mask = k.cmp("ne", r, one);
            let olds = k.op1(
                OpKind::AtomicRmw,
                vec![ptrs, vals, mask],
                tile(&[4], S::F32),
                Attrs::new().with("kind", Attr::Str("add".into())),
            );
            k.store_tile(p[1], olds);
            // max, min and xchg on cells 1..4 of `c`; cas on cell 0.
            let c0 = p[2];
            let pid = k.pid(0);
            for (i, kind) in ["max", "min", "xchg"].iter().enumerate() {
                let o = k.i32(i as i64 + 1);
                let cp = k.addptr(c0, o);
                k.op1(
                    OpKind::AtomicRmw,
                    vec![cp, pid],
                    Type::Scalar(S::I32),
                    Attrs::new().with("kind", Attr::Str((*kind).into())),
                );
            }
            let next = k.bin(BinaryOp::Add, pid, one);
            k.op1(
                OpKind::AtomicCas,
                vec![c0, pid, next],
                Type::Scalar(S::I32),
                Attrs::new(),
            );
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &[0.5]));
    mem.add(Buffer::zeroed(S::F32, 4));
    mem.add(Buffer::from_i64s(S::I32, &[0, -1, 100, 9]));
    // Only the first program's tile atomics matter for `cell`; run 5 programs.
    run(
        &m,
        "k",
        [5, 1, 1],
        &[arg(0, S::F32), arg(1, S::F32), arg(2, S::I32)],
        &mut mem,
    )
    .unwrap();
    // Program 4 saw the cell after 4 programs each adding 1 + 3 + 4 = 8.
    assert_eq!(mem.buffers[0].to_f64s(), [0.5 + 5.0 * 8.0]);
    let base = 0.5 + 4.0 * 8.0;
    assert_eq!(
        mem.buffers[1].to_f64s(),
        [base, 0.0, base + 1.0, base + 4.0]
    );
    // cas: 0 -> 1 -> 2 ... by successive programs; max 4, min 0, xchg 4.
    assert_eq!(mem.buffers[2].to_i64s(), [5, 4, 0, 4]);
}

#[test]
fn descriptors_load_zero_outside_and_store_inside() {
    let (rows, cols) = (5i64, 7i64);
    let dty = Type::Desc(S::I32, dims(&[4, 4]));
    let m = kernel(
        &[
            ("src", ptr(S::I32)),
            ("out", ptr(S::I32)),
            ("dst", ptr(S::I32)),
        ],
        |k, p| {
            let r = k.int(rows, S::I64);
            let c = k.int(cols, S::I64);
            let one = k.int(1, S::I64);
            let d = k.op1(
                OpKind::MakeDesc,
                vec![p[0], r, c, c, one],
                dty.clone(),
                Attrs::new(),
            );
            let o0 = k.i32(3);
            let o1 = k.i32(5);
            let blk = k.op1(
                OpKind::DescLoad,
                vec![d, o0, o1],
                tile(&[4, 4], S::I32),
                Attrs::new(),
            );
            k.store_tile(p[1], blk);
            let dd = k.op1(
                OpKind::MakeDesc,
                vec![p[2], r, c, c, one],
                dty.clone(),
                Attrs::new(),
            );
            let m1 = k.i32(-1);
            let f = k.i32(4);
            k.op0(OpKind::DescStore, vec![dd, m1, f, blk], Attrs::new());
        },
    );
    let src: Vec<i64> = (0..rows * cols).map(|i| i + 1).collect();
    let mut mem = Memory::new();
    mem.add(Buffer::from_i64s(S::I32, &src));
    mem.add(Buffer::zeroed(S::I32, 16));
    mem.add(Buffer::zeroed(S::I32, (rows * cols) as usize));
    run(
        &m,
        "k",
        [1, 1, 1],
        &[arg(0, S::I32), arg(1, S::I32), arg(2, S::I32)],
        &mut mem,
    )
    .unwrap();
    let at = |r: i64, c: i64| {
        if r < rows && c < cols {
            r * cols + c + 1
        } else {
            0
        }
    };
    let mut want = vec![];
    for i in 0..4 {
        for j in 0..4 {
            want.push(at(3 + i, 5 + j));
        }
    }
    assert_eq!(mem.buffers[1].to_i64s(), want);
    let dst = mem.buffers[2].to_i64s();
    for r in 0..rows {
        for c in 0..cols {
            let (bi, bj) = (r + 1, c - 4);
            let w = if (0..4).contains(&bi) && (0..4).contains(&bj) {
                want[(bi * 4 + bj) as usize]
            } else {
                0
            };
            assert_eq!(dst[(r * cols + c) as usize], w, "dst[{r}, {c}]");
        }
    }
}

#[test]
fn shape_ops_rearrange_row_major() {
    // x = 2x3 [[0 1 2] [3 4 5]]; trans -> 3x2; join with 10 * itself ->
    // 3x2x2; split back; reshape the join to 12; broadcast rows and columns.
    let i6 = (S::I32, 6);
    let outs = run_tile_op(
        S::I32,
        &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        2,
        3,
        &[i6, i6, i6, i6, i6, (S::I32, 12)],
        |k, x| {
            let t = k.op1(
                OpKind::Trans,
                vec![x],
                tile(&[3, 2], S::I32),
                Attrs::new().with("perm", Attr::Ints(vec![1, 0])),
            );
            let ten = k.i32(10);
            let tt = k.bin(BinaryOp::Mul, t, ten);
            let j = k.op1(
                OpKind::Join,
                vec![t, tt],
                tile(&[3, 2, 2], S::I32),
                Attrs::new(),
            );
            let sp = k.b.op(
                OpKind::Split,
                vec![j],
                vec![tile(&[3, 2], S::I32), tile(&[3, 2], S::I32)],
                Attrs::new(),
                vec![],
            );
            let (a, b) = (k.b.body.op(sp).results[0], k.b.body.op(sp).results[1]);
            let flat = k.op1(OpKind::Reshape, vec![j], tile(&[12], S::I32), Attrs::new());
            let row = k.arange(3);
            let row2 = k.expand(row, 0);
            let bc = k.bcast(row2, &[2, 3]);
            let col = k.arange(2);
            let col2 = k.expand(col, -1);
            let bc2 = k.bcast(col2, &[2, 3]);
            vec![t, a, b, bc, bc2, flat]
        },
    );
    assert_eq!(outs[0].to_i64s(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(outs[1].to_i64s(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(outs[2].to_i64s(), [0, 30, 10, 40, 20, 50]);
    assert_eq!(outs[3].to_i64s(), [0, 1, 2, 0, 1, 2]);
    assert_eq!(outs[4].to_i64s(), [0, 0, 0, 1, 1, 1]);
    assert_eq!(outs[5].to_i64s(), [0, 0, 3, 30, 1, 10, 4, 40, 2, 20, 5, 50]);
}

#[test]
fn join_reshape_keeps_interleaved_order() {
    let outs = run_tile_op(S::I32, &[1.0, 2.0, 3.0], 1, 3, &[(S::I32, 6)], |k, x| {
        let row = k.op1(OpKind::Reshape, vec![x], tile(&[3], S::I32), Attrs::new());
        let neg = k.un(UnaryOp::Neg, row);
        let j = k.op1(
            OpKind::Join,
            vec![row, neg],
            tile(&[3, 2], S::I32),
            Attrs::new(),
        );
        vec![k.op1(OpKind::Reshape, vec![j], tile(&[6], S::I32), Attrs::new())]
    });
    assert_eq!(outs[0].to_i64s(), [1, -1, 2, -2, 3, -3]);
}

/// Evaluates `f` on constants in a one-program kernel storing one scalar of `out`.
fn eval_scalar(out: S, f: impl FnOnce(&mut K) -> ValueId) -> Result<f64, InterpError> {
    let m = kernel(&[("out", ptr(out))], |k, p| {
        let v = f(k);
        k.store(p[0], v, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(out, 1));
    run(&m, "k", [1, 1, 1], &[arg(0, out)], &mut mem)?;
    Ok(mem.buffers[0].to_f64s()[0])
}

#[test]
fn binary_ops_on_floats_and_ints() {
    let cases: [(BinaryOp, f64, f64, f64); 8] = [
        (BinaryOp::Add, 1.5, 2.25, 3.75),
        (BinaryOp::Sub, 1.5, 2.25, -0.75),
        (BinaryOp::Mul, 1.5, -2.0, -3.0),
        (BinaryOp::Div, 1.0, 3.0, 1.0 / 3.0),
        (BinaryOp::Rem, -7.5, 2.0, -1.5),
        (BinaryOp::Max, -1.0, 2.0, 2.0),
        (BinaryOp::Min, -1.0, 2.0, -1.0),
        (BinaryOp::Pow, 2.0, 10.0, 1024.0),
    ];
    for (op, a, b, want) in cases {
        let got = eval_scalar(S::F64, |k| {
            let x = k.float(a, S::F64);
            let y = k.float(b, S::F64);
            k.bin(op, x, y)
        })
        .unwrap();
        assert_eq!(got, want, "{op:?}");
    }
    let icases: [(BinaryOp, i64, i64, i64); 13] = [
        (BinaryOp::Add, 5, -7, -2),
        (BinaryOp::Sub, 5, -7, 12),
        (BinaryOp::Mul, -6, 7, -42),
        (BinaryOp::Div, -7, 2, -3),
        (BinaryOp::Rem, -7, 2, -1),
        (BinaryOp::Max, -7, 2, 2),
        (BinaryOp::Min, -7, 2, -7),
        (BinaryOp::And, 12, 10, 8),
        (BinaryOp::Or, 12, 10, 14),
        (BinaryOp::Xor, 12, 10, 6),
        (BinaryOp::Shl, 3, 4, 48),
        (BinaryOp::Shr, -16, 2, -4),
        // Shl drops the bits shifted out of the width.
        (BinaryOp::Shl, 0x40, 25, i64::from(i32::MIN)),
    ];
    for (op, a, b, want) in icases {
        let got = eval_scalar(S::I32, |k| {
            let x = k.i32(a);
            let y = k.i32(b);
            k.bin(op, x, y)
        })
        .unwrap();
        assert_eq!(got, want as f64, "{op:?} {a} {b}");
    }
}

#[test]
fn unary_ops_round_to_f32() {
    let x = 0.7f64;
    let x32 = x as f32 as f64;
    let cases: [(UnaryOp, f64); 14] = [
        (UnaryOp::Neg, -x32),
        (UnaryOp::Exp, x32.exp()),
        (UnaryOp::Exp2, x32.exp2()),
        (UnaryOp::Log, x32.ln()),
        (UnaryOp::Log2, x32.log2()),
        (UnaryOp::Sqrt, x32.sqrt()),
        (UnaryOp::Rsqrt, 1.0 / x32.sqrt()),
        (UnaryOp::Tanh, x32.tanh()),
        (UnaryOp::Sigmoid, 1.0 / (1.0 + (-x32).exp())),
        (UnaryOp::Abs, x32),
        (UnaryOp::Floor, 0.0),
        (UnaryOp::Ceil, 1.0),
        (UnaryOp::Sin, x32.sin()),
        (UnaryOp::Cos, x32.cos()),
    ];
    for (op, want) in cases {
        let got = eval_scalar(S::F32, |k| {
            let v = k.float(x, S::F32);
            k.un(op, v)
        })
        .unwrap();
        assert_eq!(got, want as f32 as f64, "{op:?}");
    }
    let got = eval_scalar(S::I8, |k| {
        let v = k.int(5, S::I8);
        k.un(UnaryOp::Not, v)
    })
    .unwrap();
    assert_eq!(got, -6.0);
    let got = eval_scalar(S::I8, |k| {
        let v = k.int(-5, S::I8);
        k.un(UnaryOp::Abs, v)
    })
    .unwrap();
    assert_eq!(got, 5.0);
}

#[test]
fn cmp_select_fma_cast_bitcast() {
    for (pred, want) in [
        ("eq", 0.0),
        ("ne", 1.0),
        ("lt", 1.0),
        ("le", 1.0),
        ("gt", 0.0),
        ("ge", 0.0),
    ] {
        let got = eval_scalar(S::I1, |k| {
            let a = k.float(1.0, S::F32);
            let b = k.float(2.0, S::F32);
            k.cmp(pred, a, b)
        })
        .unwrap();
        assert_eq!(got, want, "{pred}");
    }
    // NaN compares unequal to itself.
    let got = eval_scalar(S::I1, |k| {
        let a = k.float(f64::NAN, S::F32);
        k.cmp("eq", a, a)
    })
    .unwrap();
    assert_eq!(got, 0.0);
    let got = eval_scalar(S::I32, |k| {
        let c = k.b.const_bool(false, Type::Scalar(S::I1));
        let a = k.i32(1);
        let b = k.i32(2);
        k.select(c, a, b)
    })
    .unwrap();
    assert_eq!(got, 2.0);
    let got = eval_scalar(S::F64, |k| {
        let a = k.float(0.1, S::F64);
        let b = k.float(10.0, S::F64);
        let c = k.float(-1.0, S::F64);
        let t = k.ty(a);
        k.op1(OpKind::Fma, vec![a, b, c], t, Attrs::new())
    })
    .unwrap();
    assert_eq!(got, 0.1f64.mul_add(10.0, -1.0));
    // float -> int truncates and saturates; NaN gives 0.
    for (x, want) in [
        (-3.9, -3.0),
        (300.0, 127.0),
        (-1e30, -128.0),
        (f64::NAN, 0.0),
    ] {
        let got = eval_scalar(S::I8, |k| {
            let v = k.float(x, S::F32);
            k.cast(v, S::I8)
        })
        .unwrap();
        assert_eq!(got, want, "cast {x} to i8");
    }
    // int -> f16 rounds to nearest even: 2049 is a tie between 2048 and 2050.
    let got = eval_scalar(S::F16, |k| {
        let v = k.i32(2049);
        k.cast(v, S::F16)
    })
    .unwrap();
    assert_eq!(got, 2048.0);
    // anything -> i1 is != 0; i1 -> number is 0/1.
    let got = eval_scalar(S::I32, |k| {
        let v = k.float(-0.5, S::F32);
        let b = k.cast(v, S::I1);
        k.cast(b, S::I32)
    })
    .unwrap();
    assert_eq!(got, 1.0);
    // bitcast f32 -> i32 gives the IEEE bits.
    let got = eval_scalar(S::I32, |k| {
        let v = k.float(1.0, S::F32);
        k.op1(OpKind::Bitcast, vec![v], Type::Scalar(S::I32), Attrs::new())
    })
    .unwrap();
    assert_eq!(got, f64::from(1.0f32.to_bits()));
}

#[test]
fn dot_of_i8_into_i32_and_f16_into_f32() {
    let mut rng = SmallRng::seed_from_u64(17);
    let (mm, kk, nn) = (4usize, 16usize, 8usize);
    let a: Vec<f64> = (0..mm * kk)
        .map(|_| f64::from(rng.random_range(-128i32..128)))
        .collect();
    let b: Vec<f64> = (0..kk * nn)
        .map(|_| f64::from(rng.random_range(-128i32..128)))
        .collect();
    for (ein, eacc) in [
        (S::I8, S::I32),
        (S::F16, S::F32),
        (S::BF16, S::F32),
        (S::F64, S::F64),
    ] {
        let m = kernel(
            &[("a", ptr(ein)), ("b", ptr(ein)), ("c", ptr(eacc))],
            |k, p| {
                let x = k.load2d(p[0], mm as u64, kk as u64);
                let y = k.load2d(p[1], kk as u64, nn as u64);
                let c0 = k.load2d(p[2], mm as u64, nn as u64);
                let d = k.op1(
                    OpKind::Dot,
                    vec![x, y, c0],
                    tile(&[mm as u64, nn as u64], eacc),
                    Attrs::new().with("precision", Attr::Str("ieee".into())),
                );
                k.store_tile(p[2], d);
            },
        );
        let mut mem = Memory::new();
        let scale = if ein.is_float() { 1.0 / 64.0 } else { 1.0 };
        let a_s: Vec<f64> = a.iter().map(|v| v * scale).collect();
        let b_s: Vec<f64> = b.iter().map(|v| v * scale).collect();
        mem.add(Buffer::from_f64s(ein, &a_s));
        mem.add(Buffer::from_f64s(ein, &b_s));
        let acc0 = if eacc.is_int() { 3.0 } else { 0.5 };
        mem.add(Buffer::from_f64s(eacc, &vec![acc0; mm * nn]));
        let (a_r, b_r) = (mem.buffers[0].to_f64s(), mem.buffers[1].to_f64s());
        run(
            &m,
            "k",
            [1, 1, 1],
            &[arg(0, ein), arg(1, ein), arg(2, eacc)],
            &mut mem,
        )
        .unwrap();
        let c = mem.buffers[2].to_f64s();
        for i in 0..mm {
            for j in 0..nn {
                let s: f64 = (0..kk).map(|l| a_r[i * kk + l] * b_r[l * nn + j]).sum();
                // Exact products summed in f64, rounded once to the accumulator.
                let want = super::value::round_float(acc0 + s, eacc);
                assert_eq!(c[i * nn + j], want, "{ein} c[{i},{j}]");
            }
        }
    }
}

#[test]
fn gather_through_an_index_tile() {
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("idx", ptr(S::I32)),
            ("out", ptr(S::F32)),
        ],
        |k, p| {
            let r = k.arange(4);
            let ip = k.addptr(p[1], r);
            let idx = k.load(ip, None, None);
            let xp = k.addptr(p[0], idx);
            let g = k.load(xp, None, None);
            k.store_tile(p[2], g);
        },
    );
    let mut mem = Memory::new();
    mem.add(Buffer::from_f64s(S::F32, &[10.0, 11.0, 12.0, 13.0, 14.0]));
    mem.add(Buffer::from_i64s(S::I32, &[4, 0, 4, 2]));
    mem.add(Buffer::zeroed(S::F32, 4));
    run(
        &m,
        "k",
        [1, 1, 1],
        &[arg(0, S::F32), arg(1, S::I32), arg(2, S::F32)],
        &mut mem,
    )
    .unwrap();
    assert_eq!(mem.buffers[2].to_f64s(), [14.0, 10.0, 14.0, 12.0]);
}

/// The golden module with every op of the dialect (`tests/golden/all_ops.tir`).
const ALL_OPS: &str = include_str!("../../tests/golden/all_ops.tir");

#[test]
fn golden_module_of_every_op_runs_after_specialization() {
    use crate::ir::{ConstValue, parse_module, verify_module};
    use crate::passes::{pipeline::run_tile_pipeline, specialize};

    let m = parse_module(ALL_OPS).unwrap();
    let e = run(&m, "every_op", [1, 1, 1], &[], &mut Memory::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unspecialized, "{e}");
    assert!(e.to_string().contains("BLOCK, CAUSAL are unbound"), "{e}");

    let consts = [
        ("BLOCK".to_string(), ConstValue::Int(16)),
        ("CAUSAL".to_string(), ConstValue::Bool(false)),
    ];
    let spec = specialize(&m, "every_op", &consts).unwrap();
    let mut piped = spec.clone();
    run_tile_pipeline(&mut piped).unwrap();
    verify_module(&piped).unwrap();
    let mut outputs = Vec::new();
    for module in [&spec, &piped] {
        let mut mem = Memory::new();
        let x: Vec<f64> = (0..1024).map(|i| 0.25 + f64::from(i % 7) * 0.5).collect();
        mem.add(Buffer::from_f64s(S::F32, &x));
        mem.add(Buffer::zeroed(S::I32, 4));
        let args = [
            arg(0, S::F32),
            arg(1, S::I32),
            ArgValue::Int(12),
            ArgValue::Float(2.0),
        ];
        let out = run(module, "every_op", [2, 1, 1], &args, &mut mem).unwrap();
        assert_eq!(out.printed.len(), 2);
        assert!(
            out.printed[1].starts_with("pid (1, 0, 0) sc = \"q\"\n1, "),
            "{:?}",
            out.printed
        );
        // Each program added 1 to its counter, then swapped it back to 1.
        assert_eq!(mem.buffers[1].to_i64s(), [1, 1, 0, 0]);
        outputs.push((out, mem));
    }
    // The tile pipeline (inline, canonicalize, CSE, DCE) keeps the semantics.
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn axis_ops_on_a_3d_tile() {
    // x is 2x3x4 = [[[0..4], [4..8], [8..12]], [[12..16], ...]] reversed per
    // row so sorting has work to do.
    let x: Vec<f64> = (0..24).map(|i| f64::from(23 - i)).collect();
    let outs = run_tile_op(
        S::I32,
        &x,
        6,
        4,
        &[(S::I32, 8), (S::I32, 24), (S::I32, 24)],
        |k, v| {
            let t3 = k.op1(
                OpKind::Reshape,
                vec![v],
                tile(&[2, 3, 4], S::I32),
                Attrs::new(),
            );
            let s = k.op1(
                OpKind::Reduce,
                vec![t3],
                tile(&[2, 4], S::I32),
                axis_attrs("sum", 1),
            );
            let sp = k.b.op(
                OpKind::Sort,
                vec![t3],
                vec![tile(&[2, 3, 4], S::I32), tile(&[2, 3, 4], S::I32)],
                Attrs::new().with("axis", Attr::Int(1)),
                vec![],
            );
            let (sv, si) = (k.b.body.op(sp).results[0], k.b.body.op(sp).results[1]);
            let flat_v = k.op1(
                OpKind::Reshape,
                vec![sv],
                tile(&[6, 4], S::I32),
                Attrs::new(),
            );
            let flat_i = k.op1(
                OpKind::Reshape,
                vec![si],
                tile(&[6, 4], S::I32),
                Attrs::new(),
            );
            vec![s, flat_v, flat_i]
        },
    );
    let at = |a: usize, b: usize, c: usize| x[a * 12 + b * 4 + c] as i64;
    let mut sums = vec![];
    for a in 0..2 {
        for c in 0..4 {
            sums.push((0..3).map(|b| at(a, b, c)).sum::<i64>());
        }
    }
    assert_eq!(outs[0].to_i64s(), sums);
    // Along axis 1 each column is descending, so the sort reverses it.
    let (sv, si) = (outs[1].to_i64s(), outs[2].to_i64s());
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..4 {
                let i = a * 12 + b * 4 + c;
                assert_eq!(sv[i], at(a, 2 - b, c));
                assert_eq!(si[i], (2 - b) as i64);
            }
        }
    }
}

#[test]
fn recursion_is_bounded() {
    let mut m = kernel(&[], |k, _| {
        k.op0(
            OpKind::Call,
            vec![],
            Attrs::new().with("callee", Attr::Str("f".into())),
        );
    });
    m.funcs
        .push(func("f", FuncKind::Device, &[], vec![], |k, _| {
            k.at(3, 3);
            k.op0(
                OpKind::Call,
                vec![],
                Attrs::new().with("callee", Attr::Str("f".into())),
            );
            vec![]
        }));
    let e = run(&m, "k", [1, 1, 1], &[], &mut Memory::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(
        e.to_string()
            .contains("kern.rs:3:3: tile.call in @f, program (0, 0, 0): calls nest deeper than 64"),
        "{e}"
    );
}
