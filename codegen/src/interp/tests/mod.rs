//! Tests of the interpreter on kernels built with `ir::Builder`, one file
//! per concern: `kernels.rs` (the kernels against plain Rust
//! references), `axis.rs` (reduce, scan, sort, topk and shape ops),
//! `arith.rs` (elementwise families, rounding, dot), `control.rs` (loops,
//! branches, calls, prints, program order), `memory.rs` (atomics,
//! descriptors), `errors_run.rs` and `errors_setup.rs` (every error path).
//! This file holds the shared helpers; `builder.rs` the op builder [`K`].

mod arith;
mod axis;
mod builder;
mod control;
mod errors_run;
mod errors_setup;
mod kernels;
mod memory;

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::*;
use crate::ir::{
    Attr, Attrs, BinaryOp, Builder, ConstParam, Dim, ElemType, Func, FuncKind, Location, OpKind,
    ScalarType as S, UnaryOp, ValueId,
};

pub(crate) use builder::K;

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

/// Builds a region's body; returns the terminator's operands.
pub(crate) type RegionFill<'f> = Box<dyn FnOnce(&mut K, &[ValueId]) -> Vec<ValueId> + 'f>;

/// A region body with no ops whose terminator carries nothing.
pub(crate) fn yields_nothing<'f>() -> RegionFill<'f> {
    Box::new(|_: &mut K, _: &[ValueId]| vec![])
}

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

/// One string attribute, `{name = "value"}`.
pub(crate) fn named(name: &str, value: &str) -> Attrs {
    Attrs::new().with(name, Attr::Str(value.into()))
}

/// `{kind = "kind", axis = n}` (reduce, scan).
pub(crate) fn axis_attrs(kind: &str, axis: i64) -> Attrs {
    named("kind", kind).with("axis", Attr::Int(axis))
}

pub(crate) fn ptr(s: S) -> Type {
    Type::ptr(s)
}

pub(crate) fn arg(buffer: usize, elem: S) -> ArgValue {
    arg_at(buffer, 0, elem)
}

/// A pointer `byte_offset` bytes into buffer `buffer` of `elem`.
pub(crate) fn arg_at(buffer: usize, byte_offset: i64, elem: S) -> ArgValue {
    ArgValue::Ptr {
        buffer,
        byte_offset,
        elem,
    }
}

/// One pointer argument per buffer of `mem`, in order, each to the start
/// of its buffer and to its element type.
fn buffer_args(mem: &Memory) -> Vec<ArgValue> {
    mem.buffers
        .iter()
        .enumerate()
        .map(|(i, b)| arg(i, b.elem))
        .collect()
}

/// Runs `@k` of `m` over `grid` with [`buffer_args`] of `mem`, which must
/// succeed.
fn run_on_buffers(m: &Module, grid: [u32; 3], mem: &mut Memory) -> RunOutput {
    let args = buffer_args(mem);
    run(m, "k", grid, &args, mem).expect("the run must succeed")
}

fn random_f32s(rng: &mut SmallRng, n: usize, lo: f32, hi: f32) -> Vec<f64> {
    (0..n)
        .map(|_| f64::from(rng.random_range(lo..hi)))
        .collect()
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
    for &(s, n) in outs {
        mem.add(Buffer::zeroed(s, n));
    }
    run_on_buffers(&m, [1, 1, 1], &mut mem);
    mem.buffers.split_off(1)
}

/// Runs `m`'s kernel `@k` expecting an error of `kind` whose message
/// contains every needle; returns the error.
fn expect_err(
    m: &Module,
    grid: [u32; 3],
    args: &[ArgValue],
    mem: &mut Memory,
    kind: ErrorKind,
    needles: &[&str],
) -> InterpError {
    let e = run(m, "k", grid, args, mem).expect_err("the run must fail");
    let msg = e.to_string();
    assert_eq!(e.kind, kind, "{msg}");
    for n in needles {
        assert!(msg.contains(n), "`{n}` is not in: {msg}");
    }
    e
}

/// [`expect_err`] for one program of a kernel without arguments or memory.
fn expect_err_bare(m: &Module, kind: ErrorKind, needles: &[&str]) -> InterpError {
    expect_err(m, [1, 1, 1], &[], &mut Memory::new(), kind, needles)
}

/// [`expect_err`] for a kernel whose one argument points to a fresh
/// one-element buffer of `elem`.
fn expect_err_one_buffer(
    m: &Module,
    grid: [u32; 3],
    elem: S,
    kind: ErrorKind,
    needles: &[&str],
) -> InterpError {
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(elem, 1));
    expect_err(m, grid, &[arg(0, elem)], &mut mem, kind, needles)
}
