//! Tests of every error path: each asserts the error kind and what the
//! message says (op, location, program, lane, buffer, values).

use super::tests::{K, arg, dims, func, kernel, ptr, tile};
use super::*;
use crate::ir::{
    Attr, Attrs, BinaryOp, ConstParam, Dim, ElemType, FuncKind, OpKind, ScalarType as S, ValueId,
};

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

/// A kernel copying `n` f32 through a 64-lane block without a mask, with
/// the load at kern.rs:7:9 and the store at kern.rs:8:9.
fn unmasked_copy() -> Module {
    kernel(&[("x", ptr(S::F32)), ("y", ptr(S::F32))], |k, p| {
        let pid = k.pid(0);
        let bs = k.i32(64);
        let start = k.bin(BinaryOp::Mul, pid, bs);
        let ar = k.arange(64);
        let offs = k.bin(BinaryOp::Add, start, ar);
        let xp = k.addptr(p[0], offs);
        k.at(7, 9);
        let v = k.load(xp, None, None);
        k.at(8, 9);
        let yp = k.addptr(p[1], offs);
        k.store(yp, v, None);
    })
}

#[test]
fn out_of_bounds_load_names_everything() {
    let m = unmasked_copy();
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 100));
    mem.add(Buffer::zeroed(S::F32, 128));
    let e = expect_err(
        &m,
        [2, 1, 1],
        &[arg(0, S::F32), arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &[
            "kern.rs:7:9",
            "tile.load",
            "@k",
            "program (1, 0, 0)",
            "lane 36",
            "buffer 0",
            "byte offset 400",
            "buffer size 400 bytes",
        ],
    );
    assert_eq!(e.op, Some(OpKind::Load));
    assert_eq!(e.program, Some([1, 0, 0]));
    assert_eq!(
        e.to_string(),
        "kern.rs:7:9: tile.load in @k, program (1, 0, 0): out-of-bounds access at lane 36: \
         buffer 0, byte offset 400 (4 bytes of f32), buffer size 400 bytes"
    );
    // Program 0 ran fully before program 1 failed.
    assert_eq!(mem.buffers[1].to_f64s()[..64], [0.0; 64]);
}

#[test]
fn out_of_bounds_store_and_bad_pointers() {
    let m = unmasked_copy();
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 128));
    mem.add(Buffer::zeroed(S::F32, 70));
    expect_err(
        &m,
        [2, 1, 1],
        &[arg(0, S::F32), arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &[
            "kern.rs:8:9",
            "tile.store",
            "program (1, 0, 0)",
            "lane 6",
            "buffer 1",
            "byte offset 280",
            "buffer size 280 bytes",
        ],
    );
    // A negative starting offset.
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 128));
    mem.add(Buffer::zeroed(S::F32, 128));
    let neg = ArgValue::Ptr {
        buffer: 0,
        byte_offset: -8,
        elem: S::F32,
    };
    expect_err(
        &m,
        [1, 1, 1],
        &[neg, arg(1, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &["tile.load", "lane 0", "byte offset -8"],
    );
    // A misaligned pointer.
    let odd = ArgValue::Ptr {
        buffer: 0,
        byte_offset: 2,
        elem: S::F32,
    };
    expect_err(
        &m,
        [1, 1, 1],
        &[odd, arg(1, S::F32)],
        &mut mem,
        ErrorKind::Misaligned,
        &[
            "tile.load",
            "misaligned",
            "byte offset 2 is not a multiple of 4",
        ],
    );
}

#[test]
fn integer_overflow_is_an_error() {
    // pid * 2^30 * 4 overflows i32 in program 1.
    let m = kernel(&[("out", ptr(S::I32))], |k, p| {
        let pid = k.pid(0);
        let big = k.i32(1 << 30);
        let four = k.i32(4);
        let a = k.bin(BinaryOp::Mul, pid, big);
        k.at(5, 13);
        let b = k.bin(BinaryOp::Mul, a, four);
        k.store(p[0], b, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I32, 1));
    expect_err(
        &m,
        [2, 1, 1],
        &[arg(0, S::I32)],
        &mut mem,
        ErrorKind::IntegerOverflow,
        &[
            "kern.rs:5:13",
            "tile.mul",
            "program (1, 0, 0)",
            "1073741824 * 4 = 4294967296 does not fit in i32",
        ],
    );
    // Lanes are named in tiles; arange + offset overflow.
    let m = kernel(&[("out", ptr(S::I8))], |k, p| {
        let r = k.arange(8);
        let c = k.i32(2147483644);
        let s = k.bin(BinaryOp::Add, r, c);
        let q = k.addptr(p[0], s);
        let v = k.int(1, S::I8);
        k.store(q, v, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I8, 1));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::I8)],
        &mut mem,
        ErrorKind::IntegerOverflow,
        &["tile.add", "at lane 4"],
    );
    // A narrowing cast that does not fit.
    let m = kernel(&[("out", ptr(S::I16))], |k, p| {
        let v = k.i32(40000);
        let c = k.cast(v, S::I16);
        k.store(p[0], c, None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I16, 1));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::I16)],
        &mut mem,
        ErrorKind::IntegerOverflow,
        &["tile.cast", "40000 from i32 to i16"],
    );
    // A constant out of its type.
    let m = kernel(&[], |k, _| {
        k.int(300, S::I8);
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::IntegerOverflow,
        &["tile.constant", "300 does not fit in i8"],
    );
    // Pointer arithmetic beyond i64.
    let m = kernel(&[("x", ptr(S::F64))], |k, p| {
        let big = k.int(i64::MAX / 4, S::I64);
        k.addptr(p[0], big);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F64, 1));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F64)],
        &mut mem,
        ErrorKind::IntegerOverflow,
        &["tile.addptr", "pointer offset overflow"],
    );
}

#[test]
fn division_by_zero_and_bad_shifts() {
    for (op, b, kind, needle) in [
        (
            BinaryOp::Div,
            0,
            ErrorKind::DivisionByZero,
            "integer division by zero: 7 / 0",
        ),
        (
            BinaryOp::Rem,
            0,
            ErrorKind::DivisionByZero,
            "integer division by zero: 7 % 0",
        ),
        (
            BinaryOp::Shl,
            32,
            ErrorKind::ShiftOutOfRange,
            "shift amount 32 is out of range for i32",
        ),
        (
            BinaryOp::Shr,
            -1,
            ErrorKind::ShiftOutOfRange,
            "shift amount -1",
        ),
    ] {
        let m = kernel(&[], |k, _| {
            let x = k.i32(7);
            let y = k.i32(b);
            k.at(3, 3);
            k.bin(op, x, y);
        });
        expect_err(
            &m,
            [1, 1, 1],
            &[],
            &mut Memory::new(),
            kind,
            &[needle, "kern.rs:3:3"],
        );
    }
    // i32::MIN / -1 overflows.
    let m = kernel(&[], |k, _| {
        let x = k.i32(i64::from(i32::MIN));
        let y = k.i32(-1);
        k.bin(BinaryOp::Div, x, y);
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::IntegerOverflow,
        &["tile.div", "does not fit in i32"],
    );
}

#[test]
fn argument_mismatches_name_the_parameter() {
    let m = kernel(
        &[
            ("x", ptr(S::F32)),
            ("n", Type::Scalar(S::I8)),
            ("s", Type::Scalar(S::F16)),
            ("flag", Type::Scalar(S::I1)),
        ],
        |_, _| {},
    );
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 4));
    mem.add(Buffer::zeroed(S::F16, 4));
    let ok = [
        arg(0, S::F32),
        ArgValue::Int(3),
        ArgValue::Float(0.5),
        ArgValue::Bool(true),
    ];
    run(&m, "k", [1, 1, 1], &ok, &mut mem).unwrap();
    let cases: Vec<(Vec<ArgValue>, &str)> = vec![
        (ok[..3].to_vec(), "the kernel takes 4 arguments, got 3"),
        (
            vec![ArgValue::Int(0), ok[1], ok[2], ok[3]],
            "parameter `x` (#0, ptr<f32, global>): expected a pointer (ArgValue::Ptr), got Int(0)",
        ),
        (
            vec![arg(1, S::F16), ok[1], ok[2], ok[3]],
            "parameter `x` (#0, ptr<f32, global>): expected a pointer to f32, got a pointer to f16",
        ),
        (
            vec![arg(5, S::F32), ok[1], ok[2], ok[3]],
            "parameter `x` (#0, ptr<f32, global>): buffer 5 does not exist",
        ),
        (
            vec![
                ArgValue::Ptr {
                    buffer: 1,
                    byte_offset: 0,
                    elem: S::F32,
                },
                ok[1],
                ok[2],
                ok[3],
            ],
            "buffer 1 holds f16, not f32",
        ),
        (
            vec![ok[0], ArgValue::Int(200), ok[2], ok[3]],
            "parameter `n` (#1, i8): the integer 200 does not fit in i8",
        ),
        (
            vec![ok[0], ArgValue::Float(2.0), ok[2], ok[3]],
            "parameter `n` (#1, i8): expected an integer (ArgValue::Int), got Float(2.0)",
        ),
        (
            vec![ok[0], ok[1], ArgValue::Int(1), ok[3]],
            "parameter `s` (#2, f16): expected a float",
        ),
        (
            vec![ok[0], ok[1], ok[2], ArgValue::Int(1)],
            "parameter `flag` (#3, i1): expected a boolean",
        ),
    ];
    for (args, needle) in cases {
        expect_err(
            &m,
            [1, 1, 1],
            &args,
            &mut mem,
            ErrorKind::ArgMismatch,
            &[needle, "@k"],
        );
    }
}

#[test]
fn failing_assert_names_message_location_and_program() {
    let m = kernel(&[], |k, _| {
        let pid = k.pid(0);
        let two = k.i32(2);
        let c = k.cmp("lt", pid, two);
        k.at(4, 5);
        k.op0(
            OpKind::Assert,
            vec![c],
            Attrs::new().with("msg", Attr::Str("pid too big".into())),
        );
    });
    let out = run(&m, "k", [2, 1, 1], &[], &mut Memory::new()).unwrap();
    assert!(out.printed.is_empty());
    let e = expect_err(
        &m,
        [3, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::AssertFailed,
        &[
            "assertion failed: pid too big",
            "kern.rs:4:5",
            "tile.assert",
            "program (2, 0, 0)",
        ],
    );
    assert_eq!(e.loc.map(|l| l.line), Some(4));
    // On a tile, the first failing lane is named.
    let m = kernel(&[], |k, _| {
        let r = k.arange(8);
        let five = k.i32(5);
        let c = k.cmp("ne", r, five);
        k.op0(
            OpKind::Assert,
            vec![c],
            Attrs::new().with("msg", Attr::Str("no fives".into())),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::AssertFailed,
        &["no fives at lane 5"],
    );
}

#[test]
fn unspecialized_kernels_are_rejected() {
    let m = kernel(&[], |k, _| {
        k.at(2, 7);
        k.op1(
            OpKind::Constexpr,
            vec![],
            Type::Scalar(S::I64),
            Attrs::new().with("name", Attr::Str("BLOCK".into())),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::Unspecialized,
        &[
            "constexpr `BLOCK` is unbound",
            "kern.rs:2:7",
            "tile.constexpr",
            "specialize",
        ],
    );
    let m = kernel(&[], |k, _| {
        k.op1(
            OpKind::Arange,
            vec![],
            Type::Tile(vec![Dim::Sym("BLOCK".into())], ElemType::Scalar(S::I32)),
            Attrs::new(),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::Unspecialized,
        &[
            "tile<{BLOCK}xi32> has the symbolic dimension `BLOCK`",
            "tile.arange",
        ],
    );
    // A static_assert left for runtime (on a computed condition) is checked when it runs.
    for (holds, ok) in [(true, true), (false, false)] {
        let m = kernel(&[], |k, _| {
            let t = k.b.const_bool(holds, Type::Scalar(S::I1));
            let f = k.b.const_bool(false, Type::Scalar(S::I1));
            let c = k.bin(BinaryOp::Or, t, f);
            k.at(6, 2);
            k.op0(
                OpKind::StaticAssert,
                vec![c],
                Attrs::new().with("msg", Attr::Str("BLOCK must exceed 1".into())),
            );
        });
        let r = run(&m, "k", [1, 1, 1], &[], &mut Memory::new());
        if ok {
            r.unwrap();
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.kind, ErrorKind::AssertFailed);
            assert!(
                e.to_string()
                    .contains("kern.rs:6:2: tile.static_assert in @k, program (0, 0, 0): static assertion failed: BLOCK must exceed 1"),
                "{e}"
            );
        }
    }
    let mut m = kernel(&[], |_, _| {});
    m.funcs[0].consts.push(ConstParam {
        name: "BLOCK".into(),
        ty: S::I64,
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::Unspecialized,
        &["BLOCK are unbound"],
    );
    // A constexpr hidden in a called device function is found too.
    let mut m = kernel(&[], |k, _| {
        k.op0(
            OpKind::Call,
            vec![],
            Attrs::new().with("callee", Attr::Str("f".into())),
        );
    });
    m.funcs
        .push(func("f", FuncKind::Device, &[], vec![], |k, _| {
            k.op1(
                OpKind::Constexpr,
                vec![],
                Type::Scalar(S::I1),
                Attrs::new().with("name", Attr::Str("CAUSAL".into())),
            );
            vec![]
        }));
    expect_err(
        &m,
        [1, 1, 1],
        &[],
        &mut Memory::new(),
        ErrorKind::Unspecialized,
        &["CAUSAL", "@f"],
    );
}

#[test]
fn launch_errors() {
    let m = kernel(&[], |_, _| {});
    let e = run(&m, "nope", [1, 1, 1], &[], &mut Memory::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownKernel);
    assert_eq!(e.to_string(), "no kernel @nope in the module (it has: @k)");
    let e = run(&m, "k", [4, 0, 1], &[], &mut Memory::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidGrid);
    assert!(e.to_string().contains("along axis y"), "{e}");
    let mut m2 = Module::new();
    m2.funcs
        .push(func("k", FuncKind::Device, &[], vec![], |_, _| vec![]));
    let e = run(&m2, "k", [1, 1, 1], &[], &mut Memory::new()).unwrap_err();
    assert!(e.to_string().contains("is a device function"), "{e}");
}

/// A kernel whose body is built by `f` from a tile<4xf32> `x` and a scalar `s`.
fn bad(f: impl FnOnce(&mut K, ValueId, ValueId)) -> Module {
    kernel(&[], |k, _| {
        let z = k.float(1.0, S::F32);
        let x = k.splat(z, &[4]);
        k.at(9, 1);
        f(k, x, z);
    })
}

#[test]
fn malformed_ir_is_an_error_not_a_panic() {
    let cases: Vec<(Module, &str)> = vec![
        (
            bad(|k, x, s| {
                k.op1(
                    OpKind::Binary(BinaryOp::Add),
                    vec![x, s],
                    tile(&[4], S::F32),
                    Attrs::new(),
                );
            }),
            "the operands must have one type, got tile<4xf32> and f32",
        ),
        (
            bad(|k, x, _| {
                k.op1(
                    OpKind::Binary(BinaryOp::Add),
                    vec![x, x],
                    tile(&[4], S::F64),
                    Attrs::new(),
                );
            }),
            "result #0 is tile<4xf32> but the op declares tile<4xf64>",
        ),
        (
            bad(|k, x, _| {
                k.op1(OpKind::Load, vec![x], tile(&[4], S::F32), Attrs::new());
            }),
            "the pointer operand must be a pointer or a tile of pointers, got tile<4xf32>",
        ),
        (
            bad(|k, x, _| {
                k.op1(OpKind::Reduce, vec![x], Type::Scalar(S::F32), Attrs::new());
            }),
            "tile.reduce is missing its attribute `kind`",
        ),
        (
            bad(|k, x, _| {
                k.op1(
                    OpKind::Reduce,
                    vec![x],
                    Type::Scalar(S::F32),
                    Attrs::new().with("kind", Attr::Str("median".into())),
                );
            }),
            "unknown or unsupported reduction `median`",
        ),
        (
            bad(|k, x, _| {
                k.op1(
                    OpKind::Binary(BinaryOp::Xor),
                    vec![x, x],
                    tile(&[4], S::F32),
                    Attrs::new(),
                );
            }),
            "tile.xor is not defined on f32",
        ),
        (
            bad(|k, x, _| {
                k.op1(
                    OpKind::Binary(BinaryOp::Add),
                    vec![x],
                    tile(&[4], S::F32),
                    Attrs::new(),
                );
            }),
            "tile.add takes 2 operands, got 1",
        ),
        (
            bad(|k, x, _| {
                k.op1(OpKind::Reshape, vec![x], tile(&[3], S::F32), Attrs::new());
            }),
            "cannot reshape tile<4xf32> (4 elements) to shape [3] (3 elements)",
        ),
        (
            bad(|k, x, _| {
                k.op1(OpKind::Cast, vec![x], Type::ptr(S::F32), Attrs::new());
            }),
            "cannot cast to the pointer type",
        ),
        (
            bad(|k, _, s| {
                // Uses a value defined later in the region.
                let later = k.b.body.create_op(
                    OpKind::Constant,
                    vec![],
                    vec![Type::Scalar(S::F32)],
                    Attrs::new().with("value", Attr::Float(1.0)),
                    vec![],
                    crate::ir::Location::unknown(),
                );
                let v = k.b.body.op(later).results[0];
                k.bin(BinaryOp::Add, s, v);
            }),
            "is used where it is not defined",
        ),
        (
            bad(|k, _, _| {
                k.op0(
                    OpKind::Call,
                    vec![],
                    Attrs::new().with("callee", Attr::Str("ghost".into())),
                );
            }),
            "calls @ghost, which is not in the module",
        ),
        (
            bad(|k, x, _| {
                k.op1(
                    OpKind::Trans,
                    vec![x],
                    tile(&[4], S::F32),
                    Attrs::new().with("perm", Attr::Ints(vec![1])),
                );
            }),
            "perm [1] is not a permutation",
        ),
        (
            bad(|k, x, _| {
                k.op1(OpKind::Dot, vec![x, x, x], tile(&[4], S::F32), Attrs::new());
            }),
            "shapes do not chain",
        ),
        (
            bad(|k, _, s| {
                let lb = k.i32(0);
                let ub = k.i32(3);
                let st = k.i32(1);
                // The body yields an i32 where an f32 is carried.
                k.for_(
                    lb,
                    ub,
                    st,
                    vec![s],
                    Box::new(|_: &mut K, a: &[ValueId]| vec![a[0]]),
                );
            }),
            "receives a value of type i32",
        ),
        (
            bad(|k, _, s| {
                let lb = k.i32(0);
                let ub = k.i32(3);
                let st = k.i32(1);
                k.for_(
                    lb,
                    ub,
                    st,
                    vec![s],
                    Box::new(|_: &mut K, _: &[ValueId]| vec![]),
                );
            }),
            "gives 0 values, a region of tile.for expects 1",
        ),
        (
            bad(|k, _, s| {
                let c = k.float(0.0, S::F32);
                k.region_op(
                    OpKind::If,
                    vec![c],
                    vec![],
                    vec![
                        (
                            vec![],
                            OpKind::Yield,
                            Box::new(|_: &mut K, _: &[ValueId]| vec![]),
                        ),
                        (
                            vec![],
                            OpKind::Yield,
                            Box::new(|_: &mut K, _: &[ValueId]| vec![]),
                        ),
                    ],
                );
                let _ = s;
            }),
            "the condition must be an i1 scalar, got f32",
        ),
        (
            bad(|k, _, _| {
                let c = k.b.const_bool(true, Type::Scalar(S::I1));
                k.region_op(
                    OpKind::If,
                    vec![c],
                    vec![],
                    vec![
                        (
                            vec![],
                            OpKind::Return,
                            Box::new(|_: &mut K, _: &[ValueId]| vec![]),
                        ),
                        (
                            vec![],
                            OpKind::Yield,
                            Box::new(|_: &mut K, _: &[ValueId]| vec![]),
                        ),
                    ],
                );
            }),
            "cannot return early",
        ),
    ];
    for (m, needle) in cases {
        let e = run(&m, "k", [1, 1, 1], &[], &mut Memory::new()).expect_err(needle);
        let msg = e.to_string();
        assert!(msg.contains(needle), "`{needle}` is not in: {msg}");
        assert!(
            matches!(e.kind, ErrorKind::InvalidIr),
            "{needle}: kind {:?}",
            e.kind
        );
    }
}

#[test]
fn descriptor_and_atomic_misuse() {
    // desc_load with a mistyped operand count, and an unknown atomic kind.
    let m = kernel(&[("x", ptr(S::F32))], |k, p| {
        let n = k.int(4, S::I64);
        let one = k.int(1, S::I64);
        let d = k.op1(
            OpKind::MakeDesc,
            vec![p[0], n, one],
            Type::Desc(S::F32, dims(&[4])),
            Attrs::new(),
        );
        k.op1(OpKind::DescLoad, vec![d], tile(&[4], S::F32), Attrs::new());
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::F32, 4));
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::InvalidIr,
        &["tile.desc_load", "takes 1 offsets, got 0"],
    );
    let m = kernel(&[("x", ptr(S::F32))], |k, p| {
        let v = k.float(1.0, S::F32);
        k.op1(
            OpKind::AtomicRmw,
            vec![p[0], v],
            Type::Scalar(S::F32),
            Attrs::new().with("kind", Attr::Str("nand".into())),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::InvalidIr,
        &["unknown atomic kind `nand`"],
    );
    // A descriptor reads out of its buffer when its shape lies about it.
    let m = kernel(&[("x", ptr(S::F32))], |k, p| {
        let n = k.int(8, S::I64);
        let one = k.int(1, S::I64);
        let d = k.op1(
            OpKind::MakeDesc,
            vec![p[0], n, one],
            Type::Desc(S::F32, dims(&[4])),
            Attrs::new(),
        );
        let o = k.i32(2);
        k.op1(
            OpKind::DescLoad,
            vec![d, o],
            tile(&[4], S::F32),
            Attrs::new(),
        );
    });
    expect_err(
        &m,
        [1, 1, 1],
        &[arg(0, S::F32)],
        &mut mem,
        ErrorKind::OutOfBounds,
        &["tile.desc_load", "lane 2", "byte offset 16"],
    );
}
