//! Tests of the verifier: a kernel using every op family is accepted, and
//! each rule rejects a broken variant with an error that names the op, says
//! what is wrong and carries the op's location. This file holds the
//! scaffolding (a test kernel with typical parameters, region builders, a
//! kernel using every op) and the whole-function tests; the rule tests are
//! grouped in `structure.rs` (links, terminators, dominance, control flow),
//! `ops.rs` (types and attributes of each op) and `module.rs` (signatures,
//! calls, names).

mod module;
mod ops;
mod structure;

use std::collections::HashSet;

use crate::ir::{
    AddrSpace, Attr, Attrs, BinaryOp, Builder, ConstParam, Dim, ElemType, Func, FuncKind, Location,
    Module, OpId, OpKind, RegionId, ScalarType, Type, UnaryOp, ValueId,
};

use super::{VerifyError, verify_func, verify_module};

pub(super) const I1: ScalarType = ScalarType::I1;
pub(super) const I8: ScalarType = ScalarType::I8;
pub(super) const I32: ScalarType = ScalarType::I32;
pub(super) const I64: ScalarType = ScalarType::I64;
pub(super) const F16: ScalarType = ScalarType::F16;
pub(super) const F32: ScalarType = ScalarType::F32;

// ----- types, locations and attributes -----

pub(super) fn sc(s: ScalarType) -> Type {
    Type::Scalar(s)
}

/// A tile of `s` with constant dims `shape`.
pub(super) fn tile(shape: &[u64], s: ScalarType) -> Type {
    tile_d(shape.iter().map(|&n| Dim::Const(n)).collect(), s)
}

/// A tile of `s` with dims `dims` (constant or symbolic).
pub(super) fn tile_d(dims: Vec<Dim>, s: ScalarType) -> Type {
    Type::Tile(dims, ElemType::Scalar(s))
}

/// The symbolic dim `{BLOCK}`.
pub(super) fn block() -> Dim {
    Dim::Sym("BLOCK".into())
}

/// `tile<{BLOCK} x s>`.
pub(super) fn blk(s: ScalarType) -> Type {
    tile_d(vec![block()], s)
}

/// `tile<{BLOCK} x ptr<s, global>>`.
pub(super) fn blk_ptr(s: ScalarType) -> Type {
    Type::Tile(vec![block()], ElemType::Ptr(s, AddrSpace::Global))
}

pub(super) fn at(line: u32) -> Location {
    Location::new("k.rs", line, 5)
}

pub(super) fn a1(name: &str, v: Attr) -> Attrs {
    Attrs::new().with(name, v)
}

/// One string attribute, `{name = "value"}`.
pub(super) fn named(name: &str, value: &str) -> Attrs {
    a1(name, Attr::Str(value.into()))
}

pub(super) fn axis(n: i64) -> Attrs {
    a1("axis", Attr::Int(n))
}

/// `{axis = n, kind = "kind"}` (reduce, scan).
pub(super) fn axis_kind(n: i64, kind: &str) -> Attrs {
    axis(n).with("kind", Attr::Str(kind.into()))
}

// ----- functions and regions -----

/// Parameters of the test kernel `k<BLOCK: i64, CAUSAL: i1>`.
pub(super) struct P {
    pub(super) x: ValueId,
    pub(super) n: ValueId,
    pub(super) out: ValueId,
    pub(super) q: ValueId,
}

/// A kernel with params `x: ptr<f32>, n: i32, out: ptr<i32>, q: ptr<f16>`
/// whose body is built by `build`, then ends with `tile.return`.
pub(super) fn kernel(build: impl FnOnce(&mut Builder, &P)) -> Func {
    let mut f = Func::new("k", FuncKind::Kernel);
    f.loc = at(1);
    f.consts = vec![
        ConstParam {
            name: "BLOCK".into(),
            ty: I64,
        },
        ConstParam {
            name: "CAUSAL".into(),
            ty: I1,
        },
    ];
    let p = P {
        x: f.add_param("x", Type::ptr(F32)),
        n: f.add_param("n", sc(I32)),
        out: f.add_param("out", Type::ptr(I32)),
        q: f.add_param("q", Type::ptr(F16)),
    };
    let entry = f.body.entry();
    let mut b = Builder::at_end(&mut f.body, entry);
    b.set_loc(at(2));
    build(&mut b, &p);
    b.set_loc(at(99));
    b.op0(OpKind::Return, vec![], Attrs::new());
    f
}

/// A kernel holding one op `kind` (with `attrs` and result types
/// `results`) applied to a constant 1.0 of type `input`.
pub(super) fn float_op(input: Type, kind: OpKind, results: Vec<Type>, attrs: Attrs) -> Func {
    kernel(|b, _| {
        let t = b.const_float(1.0, input);
        b.op(kind, vec![t], results, attrs, vec![]);
    })
}

/// Verifying `f` fails with a message containing `needle`.
#[track_caller]
pub(super) fn fails(f: &Func, needle: &str) -> VerifyError {
    let e = verify_func(f).expect_err("the verifier accepted an invalid function");
    assert!(
        e.message.contains(needle),
        "expected a message containing {needle:?}, got: {e}"
    );
    e
}

/// A new region with arguments of types `args`, filled by `fill` (which
/// adds the terminator, or leaves it out); the builder then goes back to
/// where it was.
pub(super) fn region(
    b: &mut Builder,
    args: &[Type],
    fill: impl FnOnce(&mut Builder, &[ValueId]),
) -> RegionId {
    let outer = b.region();
    let r = b.body.new_region(args);
    b.set_insertion_end(r);
    let vals = b.body.region(r).args.clone();
    fill(b, &vals);
    b.set_insertion_end(outer);
    r
}

/// `tile.yield values`.
pub(super) fn yield_(b: &mut Builder, values: Vec<ValueId>) {
    b.op0(OpKind::Yield, values, Attrs::new());
}

/// `tile.for lb=0, ub=n, step=1` carrying `inits`; `body` gets the
/// builder (at the end of the body) and the region's arguments and
/// returns the yielded values.
pub(super) fn build_for(
    b: &mut Builder,
    ub: ValueId,
    inits: Vec<ValueId>,
    body: impl FnOnce(&mut Builder, &[ValueId]) -> Vec<ValueId>,
) -> OpId {
    let lb = b.const_int(0, sc(I32));
    let step = b.const_int(1, sc(I32));
    let mut arg_types = vec![sc(I32)];
    arg_types.extend(inits.iter().map(|&v| b.ty(v).clone()));
    let result_types = arg_types[1..].to_vec();
    let r = region(b, &arg_types, |b, args| {
        let ys = body(b, args);
        yield_(b, ys);
    });
    let mut operands = vec![lb, ub, step];
    operands.extend(inits);
    b.op(OpKind::For, operands, result_types, Attrs::new(), vec![r])
}

/// `tile.call @callee(args) : result`.
pub(super) fn call(b: &mut Builder, callee: &str, args: Vec<ValueId>, result: Type) -> ValueId {
    b.op1(OpKind::Call, args, result, named("callee", callee))
}

pub(super) fn result(b: &Builder, op: OpId, i: usize) -> ValueId {
    b.body.op(op).results[i]
}

/// A device function `sq(x: f32) -> f32` and a generic
/// `rowsum<B>(t: tile<{B}xf32>) -> f32`.
pub(super) fn device_funcs() -> Vec<Func> {
    let mut sq = Func::new("sq", FuncKind::Device);
    sq.results = vec![sc(F32)];
    let x = sq.add_param("x", sc(F32));
    let e = sq.body.entry();
    let mut b = Builder::at_end(&mut sq.body, e);
    let y = b.binary(BinaryOp::Mul, x, x);
    b.op0(OpKind::Return, vec![y], Attrs::new());

    let mut rs = Func::new("rowsum", FuncKind::Device);
    rs.consts = vec![ConstParam {
        name: "B".into(),
        ty: I32,
    }];
    rs.results = vec![sc(F32)];
    let t = rs.add_param("t", tile_d(vec![Dim::Sym("B".into())], F32));
    let e = rs.body.entry();
    let mut b = Builder::at_end(&mut rs.body, e);
    let s = b.op1(OpKind::Reduce, vec![t], sc(F32), axis_kind(0, "sum"));
    b.op0(OpKind::Return, vec![s], Attrs::new());
    vec![sq, rs]
}

/// A kernel using nearly every op, all well typed.
pub(super) fn big_kernel() -> Func {
    kernel(|b, p| {
        let pid = b.op1(OpKind::ProgramId, vec![], sc(I32), axis(0));
        let _np = b.op1(OpKind::NumPrograms, vec![], sc(I32), axis(2));
        let _blk = b.op1(OpKind::Constexpr, vec![], sc(I64), named("name", "BLOCK"));
        let causal = b.op1(OpKind::Constexpr, vec![], sc(I1), named("name", "CAUSAL"));
        b.op0(
            OpKind::StaticAssert,
            vec![causal],
            named("msg", "causal only"),
        );
        let cols = b.op1(OpKind::Arange, vec![], blk(I32), a1("start", Attr::Int(0)));
        let row = b.binary(BinaryOp::Mul, pid, p.n);
        let rows = b.splat(row, vec![block()]);
        let off = b.binary(BinaryOp::Add, rows, cols);
        let xs = b.splat(p.x, vec![block()]);
        let ptrs = b.op1(OpKind::AddPtr, vec![xs, off], blk_ptr(F32), Attrs::new());
        let ns = b.splat(p.n, vec![block()]);
        let mask = b.cmp("lt", cols, ns);
        let other = b.const_float(f64::NEG_INFINITY, blk(F32));
        let v = b.op1(
            OpKind::Load,
            vec![ptrs, mask, other],
            blk(F32),
            Attrs::new(),
        );
        let m = b.op1(OpKind::Reduce, vec![v], sc(F32), axis_kind(0, "max"));
        let ms = b.splat(m, vec![block()]);
        let d = b.binary(BinaryOp::Sub, v, ms);
        let e = b.unary(UnaryOp::Exp, d);
        let _am = b.op1(OpKind::Reduce, vec![e], sc(I32), axis_kind(0, "argmax"));
        let scan = axis_kind(0, "sum").with("reverse", Attr::Bool(true));
        let cs = b.op1(OpKind::Scan, vec![e], blk(F32), scan);
        let sel = b.op1(
            OpKind::Select,
            vec![mask, cs, other],
            blk(F32),
            Attrs::new(),
        );
        let f = b.op1(OpKind::Fma, vec![sel, e, d], blk(F32), Attrs::new());
        b.op0(OpKind::Store, vec![ptrs, f, mask], Attrs::new());
        b.op0(OpKind::Store, vec![ptrs, f], Attrs::new());
        let bits = b.op1(OpKind::Bitcast, vec![f], blk(I32), Attrs::new());
        let _x = b.binary(BinaryOp::Xor, bits, bits);
        let _nb = b.unary(UnaryOp::Not, mask);
        let h = b.cast(f, F16);
        let _ab = b.unary(UnaryOp::Abs, h);
        b.op0(OpKind::Print, vec![pid, h], named("prefix", "h: "));
        b.op0(OpKind::Assert, vec![mask], named("msg", "in range"));
        b.op0(OpKind::Barrier, vec![], Attrs::new());
        // Shapes.
        let bx1 = tile_d(vec![block(), Dim::Const(1)], I32);
        let col2 = b.op1(OpKind::ExpandDims, vec![cols], bx1, axis(1));
        let bsx16 = tile_d(vec![block(), Dim::Const(16)], I32);
        let bc = b.op1(OpKind::Broadcast, vec![col2], bsx16.clone(), Attrs::new());
        let perm = a1("perm", Attr::Ints(vec![1, 0]));
        let t16xb = tile_d(vec![Dim::Const(16), block()], I32);
        let tr = b.op1(OpKind::Trans, vec![bc], t16xb, perm);
        let _rs = b.op1(OpKind::Reshape, vec![tr], bsx16, Attrs::new());
        let jt = tile_d(vec![block(), Dim::Const(2)], F32);
        let j = b.op1(OpKind::Join, vec![e, e], jt, Attrs::new());
        let halves = vec![blk(F32), blk(F32)];
        b.op(OpKind::Split, vec![j], halves, Attrs::new(), vec![]);
        let layout = named(
            "layout",
            "blocked<spt=[1,1], tpw=[4,8], wpc=[4,1], order=[1,0]>",
        );
        let jt2 = tile_d(vec![block(), Dim::Const(2)], F32);
        b.op1(OpKind::ConvertLayout, vec![j], jt2, layout);
        // Dot, sort, topk.
        let a = b.const_float(1.0, tile(&[16, 32], F16));
        let bm = b.const_float(2.0, tile(&[32, 16], F16));
        let acc = b.const_float(0.0, tile(&[16, 16], F32));
        let ieee = named("precision", "ieee");
        let dd = b.op1(OpKind::Dot, vec![a, bm, acc], tile(&[16, 16], F32), ieee);
        let ia = b.const_int(3, tile(&[16, 64], I8));
        let ib = b.const_int(-3, tile(&[64, 16], I8));
        let iacc = b.const_int(0, tile(&[16, 16], I32));
        let i32x16x16 = tile(&[16, 16], I32);
        b.op1(OpKind::Dot, vec![ia, ib, iacc], i32x16x16, Attrs::new());
        b.op(
            OpKind::Sort,
            vec![dd],
            vec![tile(&[16, 16], F32), tile(&[16, 16], I32)],
            axis(1).with("descending", Attr::Bool(true)),
            vec![],
        );
        b.op(
            OpKind::TopK,
            vec![dd],
            vec![tile(&[4, 16], F32), tile(&[4, 16], I32)],
            axis(0)
                .with("k", Attr::Int(4))
                .with("largest", Attr::Bool(false)),
            vec![],
        );
        // Atomics.
        let one = b.const_int(1, sc(I32));
        b.op1(
            OpKind::AtomicRmw,
            vec![p.out, one],
            sc(I32),
            named("kind", "add"),
        );
        let tru = b.const_bool(true, sc(I1));
        let xchg = named("kind", "xchg");
        b.op1(OpKind::AtomicRmw, vec![p.out, one, tru], sc(I32), xchg);
        b.op1(
            OpKind::AtomicCas,
            vec![p.out, one, pid],
            sc(I32),
            Attrs::new(),
        );
        // Descriptors.
        let s64 = b.const_int(1024, sc(I64));
        let st = b.const_int(1, sc(I64));
        let dt = Type::Desc(F16, vec![Dim::Const(16), Dim::Const(16)]);
        let desc = b.op1(
            OpKind::MakeDesc,
            vec![p.q, s64, s64, s64, st],
            dt,
            Attrs::new(),
        );
        let blk16 = tile(&[16, 16], F16);
        let blkv = b.op1(OpKind::DescLoad, vec![desc, pid, one], blk16, Attrs::new());
        b.op0(OpKind::DescStore, vec![desc, one, pid, blkv], Attrs::new());
        // Control flow: for with a carried value, if with results, while.
        let zero = b.const_float(0.0, sc(F32));
        let fo = build_for(b, p.n, vec![zero], |b, args| {
            let ivf = b.cast(args[0], F32);
            vec![b.binary(BinaryOp::Add, args[1], ivf)]
        });
        let total = result(b, fo, 0);
        let izero = b.const_int(0, sc(I32));
        let c = b.cmp("gt", p.n, izero);
        let then_r = region(b, &[], |b, _| yield_(b, vec![total]));
        let else_r = region(b, &[], |b, _| {
            let sqv = call(b, "sq", vec![zero], sc(F32));
            yield_(b, vec![sqv]);
        });
        let iff = b.op(
            OpKind::If,
            vec![c],
            vec![sc(F32)],
            Attrs::new(),
            vec![then_r, else_r],
        );
        let _r = result(b, iff, 0);
        let before = region(b, &[sc(I32)], |b, a| {
            let lt = b.cmp("lt", a[0], p.n);
            b.op0(OpKind::Condition, vec![lt, a[0]], Attrs::new());
        });
        let after = region(b, &[sc(I32)], |b, a| {
            let j1 = b.binary(BinaryOp::Add, a[0], one);
            yield_(b, vec![j1]);
        });
        b.op(
            OpKind::While,
            vec![izero],
            vec![sc(I32)],
            Attrs::new(),
            vec![before, after],
        );
        let rsum = call(b, "rowsum", vec![e], sc(F32));
        let _ = b.binary(BinaryOp::Pow, rsum, rsum);
    })
}

pub(super) fn module_with(k: Func) -> Module {
    let mut m = Module::new();
    m.funcs = device_funcs();
    m.funcs.push(k);
    m
}

#[test]
fn accepts_a_kernel_using_every_op_family() {
    let k = big_kernel();
    verify_func(&k).unwrap();
    let m = module_with(k);
    verify_module(&m).unwrap();
    // Every op kind except tile.constant's variants appears at least once.
    let used: HashSet<OpKind> = m
        .funcs
        .iter()
        .flat_map(|f| {
            f.body
                .walk(f.body.entry())
                .into_iter()
                .map(|o| f.body.op(o).kind)
        })
        .collect();
    let missing: Vec<String> = OpKind::all()
        .into_iter()
        .filter(|k| !matches!(k, OpKind::Binary(_) | OpKind::Unary(_)))
        .filter(|k| !used.contains(k))
        .map(|k| k.to_string())
        .collect();
    assert!(missing.is_empty(), "ops not covered: {missing:?}");
}

/// Random single-op mutations of the valid kernel never panic: each
/// either still verifies or gives an error with a location and message.
#[test]
fn random_mutations_never_panic() {
    use rand::{Rng, SeedableRng, rngs::SmallRng};
    let base = big_kernel();
    let mut rng = SmallRng::seed_from_u64(42);
    let ops = base.body.walk(base.body.entry());
    let mut rejected = 0;
    for _ in 0..400 {
        let mut f = base.clone();
        let op = ops[rng.random_range(0..ops.len())];
        let nv = f.body.num_values() as u32;
        match rng.random_range(0..5) {
            0 => {
                let d = f.body.op_mut(op);
                if !d.operands.is_empty() {
                    let i = rng.random_range(0..d.operands.len());
                    d.operands[i] = ValueId(rng.random_range(0..nv + 2));
                }
            }
            1 => {
                f.body.op_mut(op).operands.pop();
            }
            2 => {
                let d = f.body.op_mut(op);
                d.operands.push(ValueId(rng.random_range(0..nv)));
            }
            3 => {
                let v = ValueId(rng.random_range(0..nv));
                if let Some(&r) = f.body.op(op).results.first() {
                    let ty = f.body.ty(v).clone();
                    f.body.value_mut(r).ty = ty;
                }
            }
            _ => {
                f.body.op_mut(op).attrs = Attrs::new();
            }
        }
        if let Err(e) = verify_func(&f) {
            rejected += 1;
            assert!(!e.message.is_empty());
        }
    }
    assert!(rejected > 200, "only {rejected} of 400 mutations rejected");
}
