//! `specialize`: binds a kernel's compile-time parameters to values.
//!
//! Every `Dim::Sym(NAME)` in a type becomes `Dim::Const(value)`, every
//! `tile.constexpr {name = NAME}` becomes a `tile.constant`, and the kernel's
//! const parameter list is emptied. Then the branches that are decided by a
//! bound value are folded: a `tile.if` whose condition is now a constant is
//! replaced by its taken region, and a `tile.static_assert` on a constant is
//! checked (an error when false) and removed. Conditions computed from
//! constants (`CAUSAL && BLOCK > 64`) fold in `canonicalize`, which runs next.
//! Finally the verifier checks the shapes, which are all constant now.
//!
//! Device functions declaring constants of the same names are bound too, so
//! that a `#[tile_fn]` generic over the kernel's block size inlines into a
//! fully specialized kernel.
//!
//! Preconditions: none. Errors: a constant that is not bound, bound twice,
//! bound to a value of the wrong kind or out of range of its type, unknown
//! to the kernel, or a failing `static_assert`; a shape error that only this
//! binding exposes (the verifier's message, prefixed with the binding).

use std::collections::HashMap;

use crate::ir::{
    Attr, Attrs, ConstValue, Dim, Func, Location, Module, OpKind, ScalarType, Type, ValueId,
    describe_consts, verify_func,
};

/// Why a kernel could not be specialized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct SpecializeError {
    /// Where: the op, or the kernel's definition.
    pub loc: Location,
    /// What is wrong and what would work.
    pub message: String,
}

/// Returns a copy of `module` with kernel `kernel` specialized for `consts`.
pub fn specialize(
    module: &Module,
    kernel: &str,
    consts: &[(String, ConstValue)],
) -> Result<Module, SpecializeError> {
    let Some(func) = module.func(kernel) else {
        let names: Vec<&str> = module.funcs.iter().map(|f| f.name.as_str()).collect();
        return Err(SpecializeError {
            loc: Location::unknown(),
            message: format!("no function `{kernel}` in the module (it has: {names:?})"),
        });
    };
    let binding = check_binding(func, consts)?;
    let describe = describe_consts(consts);
    let mut out = module.clone();
    for f in out.funcs.iter_mut() {
        let is_kernel = f.name == kernel;
        let applies = is_kernel || f.consts.iter().all(|c| binding.contains_key(&c.name));
        if !applies || f.consts.is_empty() && !is_kernel {
            continue;
        }
        let local: HashMap<String, ConstValue> = f
            .consts
            .iter()
            .map(|c| (c.name.clone(), binding[&c.name]))
            .collect();
        bind_func(f, &local)?;
        fold_decided(f)?;
        verify_func(f).map_err(|e| SpecializeError {
            loc: e.loc,
            message: format!("with {describe}: {}", e.message),
        })?;
    }
    Ok(out)
}

fn check_binding(
    func: &Func,
    consts: &[(String, ConstValue)],
) -> Result<HashMap<String, ConstValue>, SpecializeError> {
    let err = |message: String| SpecializeError {
        loc: func.loc.clone(),
        message,
    };
    let declared: Vec<&str> = func.consts.iter().map(|c| c.name.as_str()).collect();
    let mut binding = HashMap::new();
    for (name, value) in consts {
        let Some(param) = func.consts.iter().find(|c| &c.name == name) else {
            return Err(err(format!(
                "kernel `{}` has no compile-time parameter `{name}` (it has: {declared:?})",
                func.name
            )));
        };
        if binding.insert(name.clone(), *value).is_some() {
            return Err(err(format!("`{name}` is bound twice")));
        }
        check_value(param.ty, value).map_err(|why| {
            err(format!(
                "`{name}` of kernel `{}` is declared {} but bound to {value}: {why}",
                func.name, param.ty
            ))
        })?;
    }
    let unbound: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|n| !binding.contains_key(*n))
        .collect();
    if !unbound.is_empty() {
        return Err(err(format!(
            "compile-time parameter(s) {unbound:?} of kernel `{}` are not bound; every one of {declared:?} needs a value",
            func.name
        )));
    }
    Ok(binding)
}

fn check_value(ty: ScalarType, value: &ConstValue) -> Result<(), String> {
    match (ty, value) {
        (ScalarType::I1, ConstValue::Bool(_)) => Ok(()),
        (ScalarType::I1, ConstValue::Int(_)) => Err("a boolean is needed".into()),
        (t, ConstValue::Int(v)) if t.is_int() => match crate::ir::numeric::fit(i128::from(*v), t) {
            Some(_) => Ok(()),
            None => {
                let (lo, hi) = crate::ir::numeric::int_bounds(t);
                Err(format!("out of range {lo}..={hi}"))
            }
        },
        (t, ConstValue::Bool(_)) if t.is_int() => Err("an integer is needed".into()),
        _ => Err("compile-time parameters are integers or booleans".into()),
    }
}

fn bind_dims(ty: &Type, binding: &HashMap<String, ConstValue>) -> Result<Type, String> {
    let bind = |dims: &[Dim]| -> Result<Vec<Dim>, String> {
        dims.iter()
            .map(|d| match d {
                Dim::Const(n) => Ok(Dim::Const(*n)),
                Dim::Sym(name) => match binding.get(name) {
                    Some(ConstValue::Int(v)) if *v > 0 => Ok(Dim::Const(*v as u64)),
                    Some(ConstValue::Int(v)) => Err(format!(
                        "tile dimension {name} = {v}: a tile dimension must be positive"
                    )),
                    Some(ConstValue::Bool(_)) => Err(format!(
                        "`{name}` is a boolean and cannot be a tile dimension"
                    )),
                    None => Err(format!(
                        "tile dimension `{name}` is not a compile-time parameter of this function"
                    )),
                },
            })
            .collect()
    };
    Ok(match ty {
        Type::Tile(dims, elem) => Type::Tile(bind(dims)?, elem.clone()),
        Type::Desc(elem, dims) => Type::Desc(*elem, bind(dims)?),
        other => other.clone(),
    })
}

fn bind_func(f: &mut Func, binding: &HashMap<String, ConstValue>) -> Result<(), SpecializeError> {
    let body = &mut f.body;
    for i in 0..body.num_values() {
        let v = ValueId(i as u32);
        let ty = body.ty(v).clone();
        let bound = bind_dims(&ty, binding).map_err(|message| SpecializeError {
            loc: value_loc(f.loc.clone(), body, v),
            message,
        })?;
        body.value_mut(v).ty = bound;
    }
    for i in 0..f.results.len() {
        f.results[i] = bind_dims(&f.results[i], binding).map_err(|message| SpecializeError {
            loc: f.loc.clone(),
            message,
        })?;
    }
    for op in body.walk(body.entry()) {
        if body.op(op).kind != OpKind::Constexpr {
            continue;
        }
        let data = body.op(op);
        let name = data.attr("name").and_then(Attr::as_str).unwrap_or("");
        let Some(value) = binding.get(name) else {
            return Err(SpecializeError {
                loc: data.loc.clone(),
                message: format!(
                    "`tile.constexpr` names `{name}`, which is not a compile-time parameter of `{}`",
                    f.name
                ),
            });
        };
        let result_ty = body.ty(data.results[0]).clone();
        let attr = match (value, result_ty.scalar_elem()) {
            (ConstValue::Bool(b), Some(ScalarType::I1)) => Attr::Bool(*b),
            (ConstValue::Int(v), Some(t)) if t.is_int() && !t.is_bool() => {
                check_value(t, value).map_err(|why| SpecializeError {
                    loc: data.loc.clone(),
                    message: format!("`{name}` = {v} used as {t}: {why}"),
                })?;
                Attr::Int(*v)
            }
            (ConstValue::Int(v), Some(t)) if t.is_float() => Attr::Float(*v as f64),
            _ => {
                return Err(SpecializeError {
                    loc: data.loc.clone(),
                    message: format!(
                        "`{name}` = {value} cannot be used as a value of type {result_ty}"
                    ),
                });
            }
        };
        let data = body.op_mut(op);
        data.kind = OpKind::Constant;
        data.attrs = Attrs::new().with("value", attr);
    }
    f.consts.clear();
    Ok(())
}

/// The location of the op defining `v`, or the function's.
fn value_loc(func_loc: Location, body: &crate::ir::Body, v: ValueId) -> Location {
    body.def_op(v)
        .map(|op| body.op(op).loc.clone())
        .unwrap_or(func_loc)
}

/// The boolean value of `v` if a `tile.constant` defines it.
fn const_bool(f: &Func, v: ValueId) -> Option<bool> {
    let op = f.body.def_op(v)?;
    let data = f.body.op(op);
    if data.kind != OpKind::Constant {
        return None;
    }
    match data.attr("value")? {
        Attr::Bool(b) => Some(*b),
        Attr::Int(i) => Some(*i != 0),
        _ => None,
    }
}

/// Folds `tile.if` on constant conditions and checks constant `tile.static_assert`s.
fn fold_decided(f: &mut Func) -> Result<(), SpecializeError> {
    for op in f.body.walk(f.body.entry()) {
        if f.body.op(op).dead || f.body.op(op).parent.is_none() {
            continue;
        }
        match f.body.op(op).kind {
            OpKind::StaticAssert => {
                let cond = f.body.op(op).operands[0];
                if let Some(holds) = const_bool(f, cond) {
                    if !holds {
                        let data = f.body.op(op);
                        let msg = data.attr("msg").and_then(Attr::as_str).unwrap_or("");
                        return Err(SpecializeError {
                            loc: data.loc.clone(),
                            message: format!("static assertion failed: {msg}"),
                        });
                    }
                    f.body.erase_op(op);
                }
            }
            OpKind::If => {
                let cond = f.body.op(op).operands[0];
                if let Some(taken) = const_bool(f, cond) {
                    inline_branch(f, op, if taken { 0 } else { 1 });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Replaces `if_op` by the ops of its region `which`.
fn inline_branch(f: &mut Func, if_op: crate::ir::OpId, which: usize) {
    let body = &mut f.body;
    let region = body.op(if_op).regions[which];
    let (parent, mut index) = body.position(if_op).expect("the if is linked");
    let ops = body.region(region).ops.clone();
    let mut yielded = Vec::new();
    for inner in ops {
        body.unlink_op(inner);
        if body.op(inner).kind == OpKind::Yield {
            yielded = body.op(inner).operands.clone();
            body.erase_op(inner);
            continue;
        }
        body.insert_op(parent, index, inner);
        index += 1;
    }
    let results = body.op(if_op).results.clone();
    for (r, y) in results.into_iter().zip(yielded) {
        body.replace_all_uses(r, y);
    }
    body.erase_op(if_op);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{parse_module, print_module};

    const KERNEL: &str = r#"tile.kernel @k<BLOCK: i32, CAUSAL: i1>(%x: ptr<f32, global>) loc("k.rs":1:1) {
  %offs = tile.arange {start = 0} : tile<{BLOCK}xi32> loc("k.rs":2:5)
  %b = tile.constexpr {name = "BLOCK"} : i32 loc("k.rs":3:5)
  %c = tile.constexpr {name = "CAUSAL"} : i1 loc("k.rs":4:5)
  %r = tile.if %c : i32 {
    tile.yield %b loc("k.rs":5:9)
  } {
    %z = tile.constant {value = 0} : i32 loc("k.rs":6:9)
    tile.yield %z loc("k.rs":6:9)
  } loc("k.rs":5:5)
  %one = tile.constant {value = 1} : i32 loc("k.rs":7:5)
  %ok = tile.cmp %b, %one {pred = "gt"} : i1 loc("k.rs":8:5)
  %t = tile.constant {value = true} : i1 loc("k.rs":9:5)
  tile.static_assert %t {msg = "always"} loc("k.rs":9:5)
  %xs = tile.splat %x : tile<{BLOCK}xptr<f32, global>> loc("k.rs":10:5)
  %p = tile.addptr %xs, %offs : tile<{BLOCK}xptr<f32, global>> loc("k.rs":10:5)
  %rs = tile.splat %r : tile<{BLOCK}xi32> loc("k.rs":11:5)
  %v = tile.cast %rs : tile<{BLOCK}xf32> loc("k.rs":11:5)
  tile.store %p, %v loc("k.rs":12:5)
  tile.return loc("k.rs":1:1)
}
"#;

    fn bind(block: i64, causal: bool) -> Vec<(String, ConstValue)> {
        vec![
            ("BLOCK".to_string(), ConstValue::Int(block)),
            ("CAUSAL".to_string(), ConstValue::Bool(causal)),
        ]
    }

    #[test]
    fn binds_dims_constexprs_and_folds_the_branch() {
        let m = parse_module(KERNEL).unwrap();
        let out = specialize(&m, "k", &bind(128, true)).unwrap();
        let text = print_module(&out);
        let expected = r#"tile.kernel @k(%x: ptr<f32, global>) loc("k.rs":1:1) {
  %offs = tile.arange {start = 0} : tile<128xi32> loc("k.rs":2:5)
  %b = tile.constant {value = 128} : i32 loc("k.rs":3:5)
  %c = tile.constant {value = true} : i1 loc("k.rs":4:5)
  %one = tile.constant {value = 1} : i32 loc("k.rs":7:5)
  %ok = tile.cmp %b, %one {pred = "gt"} : i1 loc("k.rs":8:5)
  %t = tile.constant {value = true} : i1 loc("k.rs":9:5)
  %xs = tile.splat %x : tile<128xptr<f32, global>> loc("k.rs":10:5)
  %p = tile.addptr %xs, %offs : tile<128xptr<f32, global>> loc("k.rs":10:5)
  %rs = tile.splat %b : tile<128xi32> loc("k.rs":11:5)
  %v = tile.cast %rs : tile<128xf32> loc("k.rs":11:5)
  tile.store %p, %v loc("k.rs":12:5)
  tile.return loc("k.rs":1:1)
}
"#;
        assert_eq!(text, expected);
        // The input is left untouched.
        assert_eq!(print_module(&m), KERNEL);
    }

    #[test]
    fn false_branch_keeps_its_ops() {
        let m = parse_module(KERNEL).unwrap();
        let text = print_module(&specialize(&m, "k", &bind(64, false)).unwrap());
        assert!(
            text.contains("%z = tile.constant {value = 0} : i32"),
            "{text}"
        );
        assert!(
            text.contains("%rs = tile.splat %z : tile<64xi32>"),
            "{text}"
        );
        assert!(!text.contains("tile.if"), "{text}");
    }

    #[test]
    fn binding_errors_say_what_is_wrong() {
        let m = parse_module(KERNEL).unwrap();
        let cases: Vec<(Vec<(String, ConstValue)>, &str)> = vec![
            (
                vec![("BLOCK".into(), ConstValue::Int(64))],
                r#"compile-time parameter(s) ["CAUSAL"] of kernel `k` are not bound"#,
            ),
            (
                {
                    let mut b = bind(64, true);
                    b.push(("WARPS".into(), ConstValue::Int(4)));
                    b
                },
                "kernel `k` has no compile-time parameter `WARPS`",
            ),
            (
                vec![
                    ("BLOCK".into(), ConstValue::Bool(true)),
                    ("CAUSAL".into(), ConstValue::Bool(true)),
                ],
                "`BLOCK` of kernel `k` is declared i32 but bound to true: an integer is needed",
            ),
            (
                vec![
                    ("BLOCK".into(), ConstValue::Int(1 << 40)),
                    ("CAUSAL".into(), ConstValue::Bool(true)),
                ],
                "out of range",
            ),
            (bind(0, true), "a tile dimension must be positive"),
        ];
        for (binding, want) in cases {
            let err = specialize(&m, "k", &binding).unwrap_err().to_string();
            assert!(err.contains(want), "`{err}` should contain `{want}`");
        }
        let err = specialize(&m, "nope", &[]).unwrap_err().to_string();
        assert!(err.contains("no function `nope`"), "{err}");
    }

    #[test]
    fn failing_static_assert_is_an_error_at_its_location() {
        let text = r#"tile.kernel @k<N: i32>() loc("k.rs":1:1) {
  %f = tile.constant {value = false} : i1 loc("k.rs":2:5)
  tile.static_assert %f {msg = "N must be even"} loc("k.rs":2:5)
  tile.return loc("k.rs":1:1)
}
"#;
        let m = parse_module(text).unwrap();
        let err = specialize(&m, "k", &[("N".into(), ConstValue::Int(3))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k.rs:2:5: static assertion failed: N must be even"
        );
    }
}
