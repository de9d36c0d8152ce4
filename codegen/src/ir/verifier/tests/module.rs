//! Function- and module-level checks: signatures (kernel results, return
//! types), calls against their callees (with symbolic dims binding
//! consistently) and unique function names.

use super::*;

/// Verifying `k` in a module with [`device_funcs`] fails with a message
/// containing `needle`.
#[track_caller]
fn module_fails(k: Func, needle: &str) -> VerifyError {
    let e = verify_module(&module_with(k)).expect_err("the verifier accepted an invalid module");
    assert!(
        e.message.contains(needle),
        "expected a message containing {needle:?}, got: {e}"
    );
    e
}

#[test]
fn wrong_return_types() {
    let mut f = Func::new("d", FuncKind::Device);
    f.results = vec![sc(F32)];
    let n = f.add_param("n", sc(I32));
    let entry = f.body.entry();
    Builder::at_end(&mut f.body, entry).op0(OpKind::Return, vec![n], Attrs::new());
    fails(&f, "tile.return: function `d` returns (f32), found (i32)");
}

#[test]
fn kernel_with_results() {
    let mut f = kernel(|_, _| {});
    f.results = vec![sc(F32)];
    let e = fails(&f, "kernel `k` cannot return values");
    assert_eq!(e.loc, at(1));
}

#[test]
fn calls_checked_against_the_module() {
    // Unknown callee: verify_func cannot tell, verify_module can.
    let k = kernel(|b, p| {
        call(b, "nope", vec![p.n], sc(F32));
    });
    verify_func(&k).unwrap();
    module_fails(
        k,
        "tile.call: the callee @nope is not a function of the module",
    );
    // Wrong argument type.
    let k = kernel(|b, p| {
        call(b, "sq", vec![p.n], sc(F32));
    });
    module_fails(k, "@sq takes (f32), found arguments (i32)");
    // A generic callee binds its symbol to the caller's dim, and the
    // result type must follow.
    let k = kernel(|b, _| {
        let t = b.const_float(1.0, tile(&[16], F32));
        call(b, "rowsum", vec![t], sc(F16));
    });
    module_fails(k, "@rowsum returns (f32), found results (f16)");
    // Missing callee attribute.
    let k = kernel(|b, p| {
        b.op1(OpKind::Call, vec![p.n], sc(F32), Attrs::new());
    });
    fails(&k, "tile.call: missing attribute `callee` (a string)");
}

#[test]
fn generic_callee_binds_symbols_consistently() {
    let mut pair = Func::new("pair", FuncKind::Device);
    pair.consts = vec![ConstParam {
        name: "B".into(),
        ty: I32,
    }];
    let bt = tile_d(vec![Dim::Sym("B".into())], F32);
    pair.add_param("a", bt.clone());
    pair.add_param("b", bt);
    let e = pair.body.entry();
    Builder::at_end(&mut pair.body, e).op0(OpKind::Return, vec![], Attrs::new());
    for (m, ok) in [(16, true), (32, false)] {
        let k = kernel(|b, _| {
            let x = b.const_float(1.0, tile(&[16], F32));
            let y = b.const_float(1.0, tile(&[m], F32));
            b.op(
                OpKind::Call,
                vec![x, y],
                vec![],
                named("callee", "pair"),
                vec![],
            );
        });
        let mut module = module_with(k);
        module.funcs.push(pair.clone());
        let r = verify_module(&module);
        assert_eq!(r.is_ok(), ok, "{r:?}");
        if let Err(e) = r {
            assert!(
                e.message
                    .contains("@pair takes (tile<{B}xf32>, tile<{B}xf32>), found arguments"),
                "{e}"
            );
        }
    }
}

#[test]
fn duplicate_function_names() {
    let mut m = module_with(big_kernel());
    m.funcs.push(device_funcs().remove(0));
    let e = verify_module(&m).unwrap_err();
    assert_eq!(e.message, "function `sq` is defined more than once");
}
