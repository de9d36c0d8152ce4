//! Control flow and program order: while/if/call, for loops with negative
//! steps and zero trips, captured prints, the z-y-x program order, and the
//! bound on call depth.

use super::*;

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
                            let next = k.call("step", vec![a[0]], vec![Type::Scalar(S::I64)])[0];
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
        let z = k.i32(0);
        let r = k.for_i32(
            (10, 0, -3),
            vec![z],
            Box::new(|k: &mut K, a: &[ValueId]| vec![k.bin(BinaryOp::Add, a[1], a[0])]),
        );
        k.store(p[0], r[0], None);
        let seven = k.i32(7);
        let r2 = k.for_i32(
            (5, 5, 1),
            vec![seven],
            Box::new(|k: &mut K, a: &[ValueId]| vec![k.bin(BinaryOp::Mul, a[1], a[1])]),
        );
        let o = k.i32(1);
        let p1 = k.addptr(p[0], o);
        k.store(p1, r2[0], None);
    });
    let mut mem = Memory::new();
    mem.add(Buffer::zeroed(S::I32, 2));
    run_on_buffers(&m, [1, 1, 1], &mut mem);
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
            named("kind", "add"),
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
        let nx = k.num_programs(0);
        let nz = k.num_programs(2);
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
    run_on_buffers(&m, [2, 3, 2], &mut mem);
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
fn recursion_is_bounded() {
    let mut m = kernel(&[], |k, _| {
        k.call("f", vec![], vec![]);
    });
    m.funcs
        .push(func("f", FuncKind::Device, &[], vec![], |k, _| {
            k.at(3, 3);
            k.call("f", vec![], vec![]);
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
