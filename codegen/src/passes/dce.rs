//! Dead code elimination: removes computations whose results nobody needs.
//!
//! A mark-and-sweep over one function (an "aggressive" DCE, as in LLVM's
//! ADCE), so dead cycles through loop-carried values go too:
//!
//! - Live from the start: ops that write memory, print or trap
//!   ([`Effect::Write`]), calls, `tile.while` loops (kept whole: their trip
//!   count decides what runs), `tile.return` and the terminators of `while`
//!   regions.
//! - A live op makes its operands live, and the `for`/`if`/`while` around it.
//! - A live result of `tile.for` / `tile.if` makes that carried value live:
//!   its init and the matching operand of each region's `tile.yield`; a live
//!   region argument of a `for` body does the same for its carried value
//!   (the induction variable makes the loop live).
//!
//! Then every op that is not live goes: pure ops and loads ([`Effect::Pure`],
//! [`Effect::Read`]) whose results are unused, recursively inside regions,
//! and whole `for`/`if` ops whose results are unused and whose bodies do
//! nothing live. Carried values of a live `for` or `if` that are not live
//! are dropped (init, result, region argument and yield operand), so an
//! accumulator that is updated in a loop but never read afterwards
//! disappears with its updates. Ops with [`Effect::Write`] always stay.
//!
//! Removing a dead op also removes any runtime error it would have raised
//! (an integer overflow, an out-of-bounds load), as in any optimizing
//! compiler. Terminators are never removed on their own.

use std::collections::HashSet;

use crate::ir::{Body, Effect, Func, OpId, OpKind, RegionId, ValueDef, ValueId};

use super::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "dce";

/// Removes dead code from `f`; returns whether anything was removed.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let body = &mut f.body;
    let live = Liveness::compute(body);
    let mut changed = false;
    for op in body.walk(body.entry()) {
        let data = body.op(op);
        if data.dead || live.ops[op.0 as usize] || data.kind.is_terminator() {
            continue;
        }
        body.erase_op(op);
        changed = true;
    }
    for op in body.walk(body.entry()) {
        let kind = body.op(op).kind;
        if !matches!(kind, OpKind::For | OpKind::If) {
            continue;
        }
        for i in (0..body.op(op).results.len()).rev() {
            if !live.slots.contains(&(op, i)) {
                remove_slot(body, op, i);
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// The `tile.yield` ending `region`, if any.
fn terminator(body: &Body, region: RegionId) -> Option<OpId> {
    body.region(region)
        .ops
        .last()
        .copied()
        .filter(|&t| body.op(t).kind == OpKind::Yield)
}

/// The op owning the region that `op` is in.
fn owner(body: &Body, op: OpId) -> Option<OpId> {
    body.region(body.op(op).parent?).parent
}

/// Removes carried value `i` of a `for` (init, result, body argument,
/// yield operand) or `if` (result, yield operands).
fn remove_slot(body: &mut Body, op: OpId, i: usize) {
    let kind = body.op(op).kind;
    let data = body.op_mut(op);
    if kind == OpKind::For && data.operands.len() > 3 + i {
        data.operands.remove(3 + i);
    }
    data.results.remove(i);
    let results = data.results.clone();
    let regions = data.regions.clone();
    for (index, v) in results.into_iter().enumerate() {
        body.value_mut(v).def = ValueDef::OpResult { op, index };
    }
    for r in regions {
        if kind == OpKind::For && body.region(r).args.len() > i + 1 {
            body.region_mut(r).args.remove(i + 1);
            for (index, v) in body.region(r).args.clone().into_iter().enumerate() {
                body.value_mut(v).def = ValueDef::RegionArg { region: r, index };
            }
        }
        if let Some(t) = terminator(body, r)
            && body.op(t).operands.len() > i
        {
            body.op_mut(t).operands.remove(i);
        }
    }
}

/// What the mark phase found live.
struct Liveness {
    /// By op id.
    ops: Vec<bool>,
    /// By value id.
    values: Vec<bool>,
    /// Live carried values `(for or if, index)`.
    slots: HashSet<(OpId, usize)>,
}

/// Work items of the mark phase.
enum Item {
    Op(OpId),
    Value(ValueId),
    Slot(OpId, usize),
}

impl Liveness {
    fn compute(body: &Body) -> Liveness {
        let mut live = Liveness {
            ops: vec![false; body.num_ops()],
            values: vec![false; body.num_values()],
            slots: HashSet::new(),
        };
        let mut work: Vec<Item> = Vec::new();
        for op in body.walk(body.entry()) {
            let kind = body.op(op).kind;
            let root = match kind {
                OpKind::Return | OpKind::Condition | OpKind::Call | OpKind::While => true,
                OpKind::Yield => owner(body, op).is_none_or(|o| body.op(o).kind == OpKind::While),
                k => k.effect() == Effect::Write,
            };
            if root {
                work.push(Item::Op(op));
            }
        }
        while let Some(item) = work.pop() {
            match item {
                Item::Op(op) => {
                    if std::mem::replace(&mut live.ops[op.0 as usize], true) {
                        continue;
                    }
                    let data = body.op(op);
                    if let Some(o) = owner(body, op) {
                        work.push(Item::Op(o));
                    }
                    let needed: &[ValueId] = match data.kind {
                        OpKind::For => &data.operands[..data.operands.len().min(3)],
                        OpKind::If => &data.operands[..data.operands.len().min(1)],
                        OpKind::Yield
                            if owner(body, op).is_some_and(|o| {
                                matches!(body.op(o).kind, OpKind::For | OpKind::If)
                            }) =>
                        {
                            &[]
                        }
                        _ => &data.operands,
                    };
                    work.extend(needed.iter().map(|&v| Item::Value(v)));
                }
                Item::Value(v) => {
                    if std::mem::replace(&mut live.values[v.0 as usize], true) {
                        continue;
                    }
                    match body.value(v).def {
                        ValueDef::OpResult { op, index } => match body.op(op).kind {
                            OpKind::For | OpKind::If => work.push(Item::Slot(op, index)),
                            _ => work.push(Item::Op(op)),
                        },
                        ValueDef::RegionArg { region, index } => {
                            if let Some(o) = body.region(region).parent {
                                if body.op(o).kind == OpKind::For && index > 0 {
                                    work.push(Item::Slot(o, index - 1));
                                } else {
                                    work.push(Item::Op(o));
                                }
                            }
                        }
                    }
                }
                Item::Slot(op, i) => {
                    if !live.slots.insert((op, i)) {
                        continue;
                    }
                    work.push(Item::Op(op));
                    let data = body.op(op);
                    if data.kind == OpKind::For
                        && let Some(&init) = data.operands.get(3 + i)
                    {
                        work.push(Item::Value(init));
                    }
                    for &r in &data.regions {
                        if let Some(t) = terminator(body, r)
                            && let Some(&y) = body.op(t).operands.get(i)
                        {
                            work.push(Item::Value(y));
                        }
                    }
                }
            }
        }
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{parse_module, print_func};
    use crate::passes::golden;

    #[test]
    fn golden() {
        golden::check(NAME, |m| golden::each_func(m, run));
    }

    fn dce(src: &str) -> (bool, String) {
        let mut m = parse_module(src).unwrap();
        let changed = run(&mut m.funcs[0]).unwrap();
        assert!(!run(&mut m.funcs[0]).unwrap(), "a second run finds nothing");
        (changed, print_func(&m.funcs[0]))
    }

    #[test]
    fn live_code_is_untouched() {
        let src = r#"tile.kernel @k(%p: ptr<f32, global>, %x: f32) loc(unknown) {
  %y = tile.exp %x : f32 loc(unknown)
  tile.store %p, %y loc(unknown)
  tile.return loc(unknown)
}
"#;
        let (changed, out) = dce(src);
        assert!(!changed);
        assert_eq!(out, src);
    }

    #[test]
    fn while_loops_and_atomics_stay() {
        let src = r#"tile.kernel @k(%p: ptr<i32, global>, %n: i32) loc(unknown) {
  %one = tile.constant {value = 1} : i32 loc(unknown)
  %old = tile.atomic_rmw %p, %one {kind = "add"} : i32 loc(unknown)
  %w = tile.while %one : i32 {
  ^(%i: i32):
    %more = tile.cmp %i, %n {pred = "lt"} : i1 loc(unknown)
    tile.condition %more, %i loc(unknown)
  } {
  ^(%i2: i32):
    %dead = tile.mul %i2, %i2 : i32 loc(unknown)
    %inc = tile.add %i2, %one : i32 loc(unknown)
    tile.yield %inc loc(unknown)
  } loc(unknown)
  tile.return loc(unknown)
}
"#;
        let (changed, out) = dce(src);
        assert!(changed);
        assert_eq!(
            out,
            src.replace("    %dead = tile.mul %i2, %i2 : i32 loc(unknown)\n", "")
        );
    }
}
