//! Structure, dominance and control flow: links between ops and regions,
//! terminators and their types, values used where they are not visible,
//! and the region arguments of `for`, `if` and `while`.

use super::*;

/// Op `i` of the function's body.
fn entry_op(f: &Func, i: usize) -> OpId {
    f.body.region(f.body.entry()).ops[i]
}

#[test]
fn use_before_def() {
    let mut f = kernel(|b, p| {
        let one = b.const_int(1, sc(I32));
        b.binary(BinaryOp::Add, p.n, one);
    });
    // Move the constant after its use.
    let c = entry_op(&f, 0);
    f.body.unlink_op(c);
    f.body.insert_op(f.body.entry(), 1, c);
    let e = fails(&f, "is used before its definition");
    assert!(e.message.starts_with("tile.add: operand 1"), "{e}");
    assert_eq!(e.loc, at(2));
}

#[test]
fn inner_value_used_outside_its_region() {
    let f = kernel(|b, p| {
        let mut inner = None;
        let zero = b.const_float(0.0, sc(F32));
        build_for(b, p.n, vec![zero], |b, args| {
            let t = b.binary(BinaryOp::Add, args[1], args[1]);
            inner = Some(t);
            vec![t]
        });
        b.set_loc(at(7));
        let t = inner.unwrap();
        b.binary(BinaryOp::Mul, t, t);
    });
    let e = fails(&f, "is defined inside the body of tile.for");
    assert!(e.message.starts_with("tile.mul: operand 0"), "{e}");
    assert_eq!(e.loc, at(7));
}

#[test]
fn region_argument_used_outside() {
    let f = kernel(|b, p| {
        let mut iv = None;
        build_for(b, p.n, vec![], |_, args| {
            iv = Some(args[0]);
            vec![]
        });
        let iv = iv.unwrap();
        b.binary(BinaryOp::Add, iv, iv);
    });
    fails(&f, "argument 0 of the body of tile.for");
}

#[test]
fn op_using_its_own_result() {
    let mut f = kernel(|b, p| {
        b.binary(BinaryOp::Add, p.n, p.n);
    });
    let op = entry_op(&f, 0);
    let r = f.body.op(op).results[0];
    f.body.op_mut(op).operands[1] = r;
    fails(&f, "is a result of the op itself");
}

#[test]
fn missing_terminator() {
    let mut f = Func::new("k", FuncKind::Kernel);
    let n = f.add_param("n", sc(I32));
    let entry = f.body.entry();
    let mut b = Builder::at_end(&mut f.body, entry);
    b.binary(BinaryOp::Add, n, n);
    fails(
        &f,
        "missing terminator: the body of function `k` must end with tile.return",
    );
    let empty = Func::new("e", FuncKind::Kernel);
    fails(&empty, "missing terminator");
}

#[test]
fn empty_for_body() {
    let f = kernel(|b, p| {
        let lb = b.const_int(0, sc(I32));
        let r = b.body.new_region(&[sc(I32)]);
        b.op(
            OpKind::For,
            vec![lb, p.n, lb],
            vec![],
            Attrs::new(),
            vec![r],
        );
    });
    let e = fails(&f, "missing terminator");
    assert!(e.message.starts_with("tile.for:"), "{e}");
}

#[test]
fn terminator_in_the_middle() {
    let mut f = kernel(|_, _| {});
    let entry = f.body.entry();
    let mut b = Builder::at_end(&mut f.body, entry);
    b.const_int(1, sc(I32));
    fails(
        &f,
        "a terminator must be the last op of the body of function `k`",
    );
}

#[test]
fn wrong_terminator_kind() {
    let f = kernel(|b, p| {
        build_for(b, p.n, vec![], |b, _| {
            b.op0(OpKind::Return, vec![], Attrs::new());
            vec![]
        });
    });
    // The return is followed by the yield that build_for adds.
    fails(
        &f,
        "a terminator must be the last op of the body of tile.for",
    );
    let mut f = Func::new("k", FuncKind::Kernel);
    let entry = f.body.entry();
    Builder::at_end(&mut f.body, entry).op0(OpKind::Yield, vec![], Attrs::new());
    fails(
        &f,
        "the body of function `k` must end with tile.return, found tile.yield",
    );
}

#[test]
fn wrong_yield_types() {
    let f = kernel(|b, p| {
        let zero = b.const_float(0.0, sc(F32));
        build_for(b, p.n, vec![zero], |_, args| vec![args[0]]);
    });
    let e = fails(&f, "carries (f32), found (i32)");
    assert!(
        e.message.starts_with("tile.yield: the body of tile.for"),
        "{e}"
    );
}

#[test]
fn dead_op_still_linked() {
    let mut f = kernel(|b, p| {
        b.binary(BinaryOp::Add, p.n, p.n);
    });
    let op = entry_op(&f, 0);
    f.body.op_mut(op).dead = true;
    fails(&f, "tile.add: an erased op is still linked");
}

#[test]
fn op_linked_twice_and_broken_parent_links() {
    let mut f = kernel(|b, p| {
        b.binary(BinaryOp::Add, p.n, p.n);
    });
    let op = entry_op(&f, 0);
    let entry = f.body.entry();
    f.body.region_mut(entry).ops.insert(1, op);
    fails(&f, "linked into the IR more than once");

    let mut f = kernel(|b, p| {
        build_for(b, p.n, vec![], |_, _| vec![]);
    });
    let fo = f
        .body
        .walk(f.body.entry())
        .into_iter()
        .find(|&o| f.body.op(o).kind == OpKind::For)
        .unwrap();
    let r = f.body.op(fo).regions[0];
    f.body.region_mut(r).parent = None;
    fails(&f, "the parent link of the body of tile.for");
}

#[test]
fn wrong_region_count() {
    let f = kernel(|b, p| {
        let lb = b.const_int(0, sc(I32));
        b.op(OpKind::For, vec![lb, p.n, lb], vec![], Attrs::new(), vec![]);
    });
    fails(&f, "tile.for: expected 1 region, found 0");
}

#[test]
fn value_with_a_foreign_definition() {
    let mut f = kernel(|b, p| {
        let a = b.binary(BinaryOp::Add, p.n, p.n);
        b.binary(BinaryOp::Sub, a, a);
    });
    let (a, s) = (entry_op(&f, 0), entry_op(&f, 1));
    let v = f.body.op(a).results[0];
    f.body.op_mut(s).results = vec![v];
    fails(&f, "tile.sub: result 0 records another definition");
}

#[test]
fn for_bounds_and_arguments() {
    let f = kernel(|b, p| {
        let lb = b.const_int(0, sc(I64));
        let r = region(b, &[sc(I32)], |b, _| yield_(b, vec![]));
        b.op(
            OpKind::For,
            vec![lb, p.n, p.n],
            vec![],
            Attrs::new(),
            vec![r],
        );
    });
    fails(
        &f,
        "lb, ub and step must be integer scalars of one type, found (i64, i32, i32)",
    );
    let f = kernel(|b, p| {
        let zero = b.const_float(0.0, sc(F32));
        let r = region(b, &[sc(I32), sc(F16)], |b, args| yield_(b, vec![args[1]]));
        b.op(
            OpKind::For,
            vec![p.n, p.n, p.n, zero],
            vec![sc(F32)],
            Attrs::new(),
            vec![r],
        );
    });
    fails(
        &f,
        "the body's arguments must be the induction variable and the carried values (i32, f32), found (i32, f16)",
    );
}

#[test]
fn if_condition_must_be_an_i1_scalar() {
    let f = kernel(|b, p| {
        let t = region(b, &[], |b, _| yield_(b, vec![]));
        let e = region(b, &[], |b, _| yield_(b, vec![]));
        b.op(OpKind::If, vec![p.n], vec![], Attrs::new(), vec![t, e]);
    });
    fails(&f, "tile.if: the condition must be an i1 scalar, found i32");
}

#[test]
fn while_condition_and_forwarding() {
    let build = |cond_is_bool: bool| {
        kernel(move |b, p| {
            let before = region(b, &[sc(I32)], |b, args| {
                let i = args[0];
                let c = if cond_is_bool { b.cmp("lt", i, p.n) } else { i };
                let f = b.cast(i, F32);
                b.op0(OpKind::Condition, vec![c, f], Attrs::new());
            });
            let after = region(b, &[sc(I32)], |b, args| yield_(b, vec![args[0]]));
            b.op(
                OpKind::While,
                vec![p.n],
                vec![sc(I32)],
                Attrs::new(),
                vec![before, after],
            );
        })
    };
    fails(
        &build(false),
        "tile.condition: the condition must be an i1 scalar, found i32",
    );
    fails(
        &build(true),
        "the forwarded values must match the arguments of the after region",
    );
}

#[test]
fn if_branches_yield_the_results() {
    let build = |else_yields: Option<Type>| {
        kernel(move |b, p| {
            let c = b.cmp("gt", p.n, p.n);
            let t = region(b, &[], |b, _| {
                let one = b.const_float(1.0, sc(F32));
                yield_(b, vec![one]);
            });
            // Without a type, the else region has no terminator.
            let e = region(b, &[], |b, _| {
                if let Some(ty) = else_yields {
                    let v = b.const_int(0, ty);
                    yield_(b, vec![v]);
                }
            });
            b.op(OpKind::If, vec![c], vec![sc(F32)], Attrs::new(), vec![t, e]);
        })
    };
    let e = fails(&build(Some(sc(I32))), "yields (f32), found (i32)");
    assert!(
        e.message
            .starts_with("tile.yield: the else region of tile.if"),
        "{e}"
    );
    fails(
        &build(None),
        "missing terminator: the else region of tile.if",
    );
}
