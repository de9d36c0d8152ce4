//! Errors before or around the run: arguments that do not match the
//! parameters, unspecialized kernels, launch errors (unknown kernel, zero
//! grid, device function) and malformed IR, which is an error, never a
//! panic. Each asserts the error kind and what the message says.

use super::*;

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
            vec![arg(1, S::F32), ok[1], ok[2], ok[3]],
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
fn unspecialized_kernels_are_rejected() {
    let m = kernel(&[], |k, _| {
        k.at(2, 7);
        k.op1(
            OpKind::Constexpr,
            vec![],
            Type::Scalar(S::I64),
            named("name", "BLOCK"),
        );
    });
    expect_err_bare(
        &m,
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
    expect_err_bare(
        &m,
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
                named("msg", "BLOCK must exceed 1"),
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
    expect_err_bare(&m, ErrorKind::Unspecialized, &["BLOCK are unbound"]);
    // A constexpr hidden in a called device function is found too.
    let mut m = kernel(&[], |k, _| {
        k.call("f", vec![], vec![]);
    });
    m.funcs
        .push(func("f", FuncKind::Device, &[], vec![], |k, _| {
            k.op1(
                OpKind::Constexpr,
                vec![],
                Type::Scalar(S::I1),
                named("name", "CAUSAL"),
            );
            vec![]
        }));
    expect_err_bare(&m, ErrorKind::Unspecialized, &["CAUSAL", "@f"]);
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

/// [`bad`] with the one op `kind` on the values `operands` picks from `x`
/// and `s`, with result type `result` and attributes `attrs`.
fn bad_op(
    kind: OpKind,
    operands: fn(ValueId, ValueId) -> Vec<ValueId>,
    result: Type,
    attrs: Attrs,
) -> Module {
    bad(|k, x, s| {
        k.op1(kind, operands(x, s), result, attrs);
    })
}

#[test]
fn malformed_ir_is_an_error_not_a_panic() {
    let t4 = || tile(&[4], S::F32);
    let add = OpKind::Binary(BinaryOp::Add);
    let only_x: fn(ValueId, ValueId) -> Vec<ValueId> = |x, _| vec![x];
    let cases: Vec<(Module, &str)> = vec![
        (
            bad_op(add, |x, s| vec![x, s], t4(), Attrs::new()),
            "the operands must have one type, got tile<4xf32> and f32",
        ),
        (
            bad_op(add, |x, _| vec![x, x], tile(&[4], S::F64), Attrs::new()),
            "result #0 is tile<4xf32> but the op declares tile<4xf64>",
        ),
        (
            bad_op(OpKind::Load, only_x, t4(), Attrs::new()),
            "the pointer operand must be a pointer or a tile of pointers, got tile<4xf32>",
        ),
        (
            bad_op(OpKind::Reduce, only_x, Type::Scalar(S::F32), Attrs::new()),
            "tile.reduce is missing its attribute `kind`",
        ),
        (
            bad_op(
                OpKind::Reduce,
                only_x,
                Type::Scalar(S::F32),
                named("kind", "median"),
            ),
            "unknown or unsupported reduction `median`",
        ),
        (
            bad_op(
                OpKind::Binary(BinaryOp::Xor),
                |x, _| vec![x, x],
                t4(),
                Attrs::new(),
            ),
            "tile.xor is not defined on f32",
        ),
        (
            bad_op(add, only_x, t4(), Attrs::new()),
            "tile.add takes 2 operands, got 1",
        ),
        (
            bad_op(OpKind::Reshape, only_x, tile(&[3], S::F32), Attrs::new()),
            "cannot reshape tile<4xf32> (4 elements) to shape [3] (3 elements)",
        ),
        (
            bad_op(OpKind::Cast, only_x, Type::ptr(S::F32), Attrs::new()),
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
                k.call("ghost", vec![], vec![]);
            }),
            "calls @ghost, which is not in the module",
        ),
        (
            bad_op(
                OpKind::Trans,
                only_x,
                t4(),
                Attrs::new().with("perm", Attr::Ints(vec![1])),
            ),
            "perm [1] is not a permutation",
        ),
        (
            bad_op(OpKind::Dot, |x, _| vec![x, x, x], t4(), Attrs::new()),
            "shapes do not chain",
        ),
        (
            bad(|k, _, s| {
                // The body yields an i32 where an f32 is carried.
                k.for_i32(
                    (0, 3, 1),
                    vec![s],
                    Box::new(|_: &mut K, a: &[ValueId]| vec![a[0]]),
                );
            }),
            "receives a value of type i32",
        ),
        (
            bad(|k, _, s| {
                k.for_i32((0, 3, 1), vec![s], yields_nothing());
            }),
            "gives 0 values, a region of tile.for expects 1",
        ),
        (
            bad(|k, _, _| {
                let c = k.float(0.0, S::F32);
                let branches = vec![
                    (vec![], OpKind::Yield, yields_nothing()),
                    (vec![], OpKind::Yield, yields_nothing()),
                ];
                k.region_op(OpKind::If, vec![c], vec![], branches);
            }),
            "the condition must be an i1 scalar, got f32",
        ),
        (
            bad(|k, _, _| {
                let c = k.b.const_bool(true, Type::Scalar(S::I1));
                let branches = vec![
                    (vec![], OpKind::Return, yields_nothing()),
                    (vec![], OpKind::Yield, yields_nothing()),
                ];
                k.region_op(OpKind::If, vec![c], vec![], branches);
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
