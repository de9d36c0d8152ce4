//! Inlining: every `tile.call` in a kernel is replaced by the body of its
//! callee, a device function (`tile.func`) of the same module.
//!
//! What it does, per call: the callee's entry-region ops (all but its final
//! `tile.return`) are cloned before the call, nested regions included, with
//! the callee's parameters mapped to the call's arguments; the operands of
//! the callee's `tile.return` then replace the call's results and the call
//! is erased. Inlined ops keep the callee's source locations (an error in
//! inlined code points at the device function's source line) and value
//! names; a call result's name moves to the value that replaces it when
//! that value was created by the inlining.
//!
//! Callees are inlined fully first (bottom-up over the call graph, each
//! device function once), so a kernel ends up with no calls at all. The
//! device functions in the module are not changed or removed: users of the
//! module may still want them. Only functions reachable from kernels are
//! looked at.
//!
//! Preconditions: the module is valid IR (the verifier checks argument and
//! result types of calls); every device function's entry region ends with
//! `tile.return`.
//!
//! Errors (each at the call's location): a callee that does not exist or is
//! a kernel, a call whose argument or result count does not match the
//! callee, and recursion, direct or mutual, which the message spells out as
//! the cycle (`@a -> @b -> @a`).
//!
//! Limits: a device function with compile-time parameters is inlined as it
//! is (its `tile.constexpr` ops and symbolic dims come along); binding them
//! is specialization's job.

use std::collections::HashMap;

use crate::ir::{Body, Func, FuncKind, Location, Module, OpId, OpKind, ValueId};

use super::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "inline";

/// Inlines every call in every kernel of `m`; see the module doc.
pub fn inline_module(m: &mut Module) -> Result<(), PassError> {
    run(m).map(|_| ())
}

/// Inlines every call in every kernel of `m`; returns whether any call was
/// inlined.
pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut rewritten = Vec::new();
    {
        let mut inliner = Inliner {
            module: m,
            done: HashMap::new(),
            stack: Vec::new(),
        };
        for (i, f) in m.funcs.iter().enumerate() {
            if f.kind != FuncKind::Kernel || !has_calls(f) {
                continue;
            }
            let mut k = f.clone();
            inliner.stack.push(k.name.clone());
            inliner.inline_calls(&mut k)?;
            inliner.stack.pop();
            rewritten.push((i, k));
        }
    }
    let changed = !rewritten.is_empty();
    for (i, k) in rewritten {
        m.funcs[i] = k;
    }
    Ok(changed)
}

fn has_calls(f: &Func) -> bool {
    f.body
        .walk(f.body.entry())
        .into_iter()
        .any(|op| f.body.op(op).kind == OpKind::Call)
}

struct Inliner<'m> {
    module: &'m Module,
    /// Device functions with all their own calls inlined, by name.
    done: HashMap<String, Func>,
    /// The functions being inlined into, outermost first (for cycles).
    stack: Vec<String>,
}

impl Inliner<'_> {
    /// Inlines every call in `f` (which is a copy, not the module's).
    fn inline_calls(&mut self, f: &mut Func) -> Result<(), PassError> {
        let calls: Vec<OpId> = f
            .body
            .walk(f.body.entry())
            .into_iter()
            .filter(|&op| f.body.op(op).kind == OpKind::Call)
            .collect();
        for call in calls {
            let loc = f.body.op(call).loc.clone();
            let callee = f
                .body
                .op(call)
                .attr("callee")
                .and_then(|a| a.as_str())
                .ok_or_else(|| {
                    PassError::new(
                        NAME,
                        loc.clone(),
                        "tile.call has no `callee` string attribute",
                    )
                })?
                .to_string();
            self.prepare(&callee, &loc)?;
            let callee_func = &self.done[&callee];
            inline_call(&mut f.body, call, callee_func, &loc)?;
        }
        Ok(())
    }

    /// Makes sure `self.done` holds `name` fully inlined; `loc` is the call.
    fn prepare(&mut self, name: &str, loc: &Location) -> Result<(), PassError> {
        if self.done.contains_key(name) {
            return Ok(());
        }
        if let Some(pos) = self.stack.iter().position(|n| n == name) {
            let cycle: Vec<String> = self.stack[pos..]
                .iter()
                .chain(std::iter::once(&name.to_string()))
                .map(|n| format!("@{n}"))
                .collect();
            return Err(PassError::new(
                NAME,
                loc.clone(),
                format!(
                    "recursive call cycle {}: device functions are inlined, so they cannot be recursive",
                    cycle.join(" -> ")
                ),
            ));
        }
        let f = self.module.func(name).ok_or_else(|| {
            PassError::new(
                NAME,
                loc.clone(),
                format!("call to unknown function @{name}"),
            )
        })?;
        if f.kind == FuncKind::Kernel {
            return Err(PassError::new(
                NAME,
                loc.clone(),
                format!("call to kernel @{name}: only device functions (tile.func) can be called"),
            ));
        }
        let mut copy = f.clone();
        self.stack.push(name.to_string());
        self.inline_calls(&mut copy)?;
        self.stack.pop();
        self.done.insert(name.to_string(), copy);
        Ok(())
    }
}

/// Replaces `call` in `body` by a copy of `callee`'s body.
fn inline_call(
    body: &mut Body,
    call: OpId,
    callee: &Func,
    loc: &Location,
) -> Result<(), PassError> {
    let args = body.op(call).operands.clone();
    let results = body.op(call).results.clone();
    let name = &callee.name;
    if args.len() != callee.params().len() {
        return Err(PassError::new(
            NAME,
            loc.clone(),
            format!(
                "call to @{name} passes {} arguments but @{name} takes {}",
                args.len(),
                callee.params().len()
            ),
        ));
    }
    if results.len() != callee.results.len() {
        return Err(PassError::new(
            NAME,
            loc.clone(),
            format!(
                "call to @{name} expects {} results but @{name} returns {}",
                results.len(),
                callee.results.len()
            ),
        ));
    }
    let cb = &callee.body;
    let ops = &cb.region(cb.entry()).ops;
    let (ret, inner) = match ops.split_last() {
        Some((&ret, inner)) if cb.op(ret).kind == OpKind::Return => (ret, inner),
        _ => {
            return Err(PassError::new(
                NAME,
                callee.loc.clone(),
                format!("device function @{name} does not end with tile.return"),
            ));
        }
    };
    let returned = &cb.op(ret).operands;
    if returned.len() != results.len() {
        return Err(PassError::new(
            NAME,
            cb.op(ret).loc.clone(),
            format!(
                "tile.return in @{name} returns {} values but @{name} declares {} results",
                returned.len(),
                results.len()
            ),
        ));
    }
    let (region, mut index) = body.position(call).ok_or_else(|| {
        PassError::new(NAME, loc.clone(), "tile.call is not linked into a region")
    })?;

    let first_new = body.num_values();
    let mut map: HashMap<ValueId, ValueId> = callee
        .params()
        .iter()
        .copied()
        .zip(args.iter().copied())
        .collect();
    for &op in inner {
        let new = clone_op(cb, op, body, &mut map, name)?;
        body.insert_op(region, index, new);
        index += 1;
    }
    for (&result, &ret_val) in results.iter().zip(returned) {
        let new = lookup(&map, ret_val, cb, ret, name)?;
        if new.0 as usize >= first_new
            && let Some(hint) = body.value(result).name.clone()
        {
            body.value_mut(new).name = Some(hint);
        }
        body.replace_all_uses(result, new);
    }
    body.erase_op(call);
    Ok(())
}

/// The copy of callee value `v`, used by callee op `user`.
fn lookup(
    map: &HashMap<ValueId, ValueId>,
    v: ValueId,
    src: &Body,
    user: OpId,
    callee: &str,
) -> Result<ValueId, PassError> {
    map.get(&v).copied().ok_or_else(|| {
        PassError::new(
            NAME,
            src.op(user).loc.clone(),
            format!(
                "{} in @{callee} uses a value that is not defined before it",
                src.op(user).kind
            ),
        )
    })
}

/// Clones `op` of `src` into `dst` (unlinked), with its regions; records the
/// copies of its results and region arguments in `map`.
fn clone_op(
    src: &Body,
    op: OpId,
    dst: &mut Body,
    map: &mut HashMap<ValueId, ValueId>,
    callee: &str,
) -> Result<OpId, PassError> {
    let data = src.op(op);
    let operands = data
        .operands
        .iter()
        .map(|&v| lookup(map, v, src, op, callee))
        .collect::<Result<Vec<_>, _>>()?;
    let mut regions = Vec::with_capacity(data.regions.len());
    for &r in &data.regions {
        let nr = dst.new_region(&[]);
        for &arg in &src.region(r).args {
            let value = src.value(arg);
            let na = dst.add_region_arg(nr, value.ty.clone(), value.name.clone());
            map.insert(arg, na);
        }
        for &inner in &src.region(r).ops {
            let c = clone_op(src, inner, dst, map, callee)?;
            dst.append_op(nr, c);
        }
        regions.push(nr);
    }
    let types = data.results.iter().map(|&v| src.ty(v).clone()).collect();
    let new = dst.create_op(
        data.kind,
        operands,
        types,
        data.attrs.clone(),
        regions,
        data.loc.clone(),
    );
    for (&old, new_v) in data.results.iter().zip(dst.op(new).results.clone()) {
        map.insert(old, new_v);
        dst.value_mut(new_v).name = src.value(old).name.clone();
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{parse_module, print_module};
    use crate::passes::golden;

    #[test]
    fn golden() {
        golden::check(NAME, run);
    }

    fn inline_err(src: &str) -> PassError {
        let mut m = parse_module(src).expect("test input parses");
        let before = print_module(&m);
        let err = inline_module(&mut m).unwrap_err();
        assert_eq!(
            print_module(&m),
            before,
            "a failed inlining leaves the module as it was"
        );
        err
    }

    #[test]
    fn direct_recursion_is_an_error() {
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  %y = tile.call %x {callee = "f"} : f32 loc("k.rs":2:1)
  tile.return loc("k.rs":3:1)
}

tile.func @f(%a: f32) -> (f32) loc("k.rs":5:1) {
  %b = tile.call %a {callee = "f"} : f32 loc("k.rs":6:7)
  tile.return %b loc("k.rs":7:1)
}
"#,
        );
        assert_eq!(
            err.to_string(),
            "inline: k.rs:6:7: recursive call cycle @f -> @f: device functions are inlined, so they cannot be recursive"
        );
    }

    #[test]
    fn mutual_recursion_names_the_cycle() {
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  %y = tile.call %x {callee = "a"} : f32 loc("k.rs":2:1)
  tile.return loc("k.rs":3:1)
}

tile.func @a(%v: f32) -> (f32) loc("k.rs":5:1) {
  %w = tile.call %v {callee = "b"} : f32 loc("k.rs":6:1)
  tile.return %w loc("k.rs":7:1)
}

tile.func @b(%v: f32) -> (f32) loc("k.rs":9:1) {
  %c = tile.constant {value = true} : i1 loc("k.rs":10:1)
  %w = tile.if %c : f32 {
    %r = tile.call %v {callee = "c"} : f32 loc("k.rs":12:5)
    tile.yield %r loc("k.rs":13:5)
  } {
    tile.yield %v loc("k.rs":15:5)
  } loc("k.rs":11:1)
  tile.return %w loc("k.rs":16:1)
}

tile.func @c(%v: f32) -> (f32) loc("k.rs":18:1) {
  %w = tile.call %v {callee = "a"} : f32 loc("k.rs":19:3)
  tile.return %w loc("k.rs":20:1)
}
"#,
        );
        assert_eq!(err.pass, "inline");
        assert_eq!(err.loc, Location::new("k.rs", 19, 3));
        assert!(
            err.message
                .starts_with("recursive call cycle @a -> @b -> @c -> @a:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_callee_and_kernel_callee() {
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  %y = tile.call %x {callee = "nope"} : f32 loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}
"#,
        );
        assert_eq!(
            err.to_string(),
            "inline: k.rs:2:9: call to unknown function @nope"
        );
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  tile.call %x {callee = "k2"} loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}

tile.kernel @k2(%x: f32) loc("k.rs":5:1) {
  tile.return loc("k.rs":6:1)
}
"#,
        );
        assert_eq!(
            err.to_string(),
            "inline: k.rs:2:9: call to kernel @k2: only device functions (tile.func) can be called"
        );
    }

    #[test]
    fn arity_mismatches() {
        let callee = r#"
tile.func @f(%a: f32, %b: f32) -> (f32) loc("k.rs":9:1) {
  tile.return %a loc("k.rs":10:1)
}
"#;
        let err = inline_err(&format!(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {{
  %y = tile.call %x {{callee = "f"}} : f32 loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}}
{callee}"#
        ));
        assert_eq!(
            err.to_string(),
            "inline: k.rs:2:9: call to @f passes 1 arguments but @f takes 2"
        );
        let err = inline_err(&format!(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {{
  %y, %z = tile.call %x, %x {{callee = "f"}} : f32, f32 loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}}
{callee}"#
        ));
        assert_eq!(
            err.to_string(),
            "inline: k.rs:2:9: call to @f expects 2 results but @f returns 1"
        );
    }

    #[test]
    fn missing_return_and_missing_callee_attr() {
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  tile.call %x {callee = "f"} loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}

tile.func @f(%a: f32) loc("k.rs":5:1) {
  tile.print %a {prefix = "a"} loc("k.rs":6:1)
}
"#,
        );
        assert_eq!(
            err.to_string(),
            "inline: k.rs:5:1: device function @f does not end with tile.return"
        );
        let err = inline_err(
            r#"tile.kernel @k(%x: f32) loc("k.rs":1:1) {
  tile.call %x loc("k.rs":2:9)
  tile.return loc("k.rs":3:1)
}
"#,
        );
        assert_eq!(
            err.to_string(),
            "inline: k.rs:2:9: tile.call has no `callee` string attribute"
        );
    }

    #[test]
    fn device_functions_are_kept_unchanged_and_kernels_lose_all_calls() {
        let src = r#"tile.kernel @k(%p: ptr<f32, global>, %x: f32) loc("k.rs":1:1) {
  %y = tile.call %x {callee = "outer"} : f32 loc("k.rs":2:1)
  tile.store %p, %y loc("k.rs":3:1)
  tile.return loc("k.rs":4:1)
}

tile.func @outer(%a: f32) -> (f32) loc("k.rs":6:1) {
  %b = tile.call %a {callee = "inner"} : f32 loc("k.rs":7:1)
  %c = tile.call %b {callee = "inner"} : f32 loc("k.rs":8:1)
  tile.return %c loc("k.rs":9:1)
}

tile.func @inner(%a: f32) -> (f32) loc("k.rs":11:1) {
  %b = tile.exp %a : f32 loc("k.rs":12:1)
  tile.return %b loc("k.rs":13:1)
}

tile.func @unused(%a: f32) -> (f32) loc("k.rs":15:1) {
  %b = tile.call %a {callee = "unused"} : f32 loc("k.rs":16:1)
  tile.return %b loc("k.rs":17:1)
}
"#;
        let mut m = parse_module(src).unwrap();
        let original = parse_module(src).unwrap();
        assert!(run(&mut m).unwrap());
        for i in 1..4 {
            assert_eq!(
                crate::ir::print_func(&m.funcs[i]),
                crate::ir::print_func(&original.funcs[i])
            );
        }
        let k = &m.funcs[0];
        assert!(!has_calls(k));
        let exps = k
            .body
            .walk(k.body.entry())
            .into_iter()
            .filter(|&op| k.body.op(op).kind == OpKind::Unary(crate::ir::UnaryOp::Exp))
            .count();
        assert_eq!(exps, 2);
        // Nothing left to inline the second time.
        assert!(!run(&mut m).unwrap());
    }
}
