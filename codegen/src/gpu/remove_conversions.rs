//! `remove-layout-conversions`: drops the `tile.convert_layout` ops that
//! need not move data.
//!
//! Rules, applied until nothing changes:
//!
//! 1. **No-op**: a conversion whose source already has the target's linear
//!    layout (for the tile's shape: two encodings may agree on a shape, e.g.
//!    where the tile is smaller than the footprint) is replaced by its source.
//! 2. **Chains**: `convert(convert(y))` converts `y` directly.
//! 3. **Rematerialization** (Triton's backward rematerialization): when the
//!    source is computed by cheap ops (`arange`, `splat`, constants,
//!    elementwise arithmetic, `broadcast`, `expand_dims`) from scalars and
//!    from tiles that are already in the layouts they would need, those ops
//!    are cloned in the target layout instead of converting their result.
//!    Index arithmetic such as `offs_k` used both as a row and as a column
//!    is computed twice rather than moved through shared memory. A slice of
//!    more than [`MAX_REMAT`] ops, or one that reaches a load or a loop
//!    argument in another layout, is left alone.

use std::collections::HashMap;

use super::assign::same_layout;
use super::encoding::Encoding;
use super::table::{self, LayoutTable};
use crate::ir::{Attr, Body, Func, OpId, OpKind, ValueId};
use crate::passes::pipeline::PassError;

/// The pass name used in errors and dumps.
pub const NAME: &str = "remove-layout-conversions";

/// The most ops one conversion may rematerialize.
pub const MAX_REMAT: usize = 24;

/// Runs the pass on `f`, whose values already have layouts.
pub fn run(f: &mut Func) -> Result<bool, PassError> {
    let mut layouts = table::read(f)?;
    let mut changed_any = false;
    loop {
        let mut changed = false;
        let body = &mut f.body;
        for op in body.walk(body.entry()) {
            if body.op(op).dead || body.op(op).kind != OpKind::ConvertLayout {
                continue;
            }
            let d = body.op(op).clone();
            let (src, out) = (d.operands[0], d.results[0]);
            let target = layouts[&out].clone();
            // 2. Chains.
            if let Some(def) = body.def_op(src)
                && body.op(def).kind == OpKind::ConvertLayout
            {
                body.op_mut(op).operands[0] = body.op(def).operands[0];
                changed = true;
                continue;
            }
            // 1. No-op conversions.
            if same_layout(body, src, &layouts[&src], &target)? {
                body.replace_all_uses(out, src);
                body.erase_op(op);
                changed = true;
                continue;
            }
            // 3. Rematerialization.
            let mut plan = Vec::new();
            let mut memo = HashMap::new();
            if remat_plan(body, &layouts, src, &target, &mut plan, &mut memo)? {
                let mut map: HashMap<(ValueId, String), ValueId> = HashMap::new();
                for (v, enc) in &plan {
                    let new = clone_in(body, &mut layouts, op, *v, enc, &map)?;
                    map.insert((*v, enc.to_string()), new);
                }
                let new_src = map[&(src, target.to_string())];
                body.replace_all_uses(out, new_src);
                body.erase_op(op);
                changed = true;
            }
        }
        if !changed {
            break;
        }
        changed_any = true;
    }
    if changed_any {
        crate::passes::dce::run(f)?;
        let body = &mut f.body;
        for op in body.walk(body.entry()) {
            table::set(body, op, &layouts);
        }
    }
    Ok(changed_any)
}

fn is_cheap(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::Arange
            | OpKind::Splat
            | OpKind::Constant
            | OpKind::Binary(_)
            | OpKind::Unary(_)
            | OpKind::Cmp
            | OpKind::Select
            | OpKind::Fma
            | OpKind::Cast
            | OpKind::Bitcast
            | OpKind::Broadcast
            | OpKind::ExpandDims
    )
}

/// The layout operand `i` of a cheap op needs when its result is in `enc`.
fn operand_layout(body: &Body, op: OpId, enc: &Encoding) -> Encoding {
    let d = body.op(op);
    match d.kind {
        OpKind::ExpandDims => {
            let axis = d.attr("axis").and_then(Attr::as_int).unwrap_or(0) as usize;
            enc.sliced(axis)
        }
        _ => enc.clone(),
    }
}

/// Plans the values to clone (in dependency order) so that `v` exists in
/// `enc`; false when that would need more than cheap ops.
fn remat_plan(
    body: &Body,
    layouts: &LayoutTable,
    v: ValueId,
    enc: &Encoding,
    plan: &mut Vec<(ValueId, Encoding)>,
    memo: &mut HashMap<(ValueId, String), bool>,
) -> Result<bool, PassError> {
    let key = (v, enc.to_string());
    if let Some(&ok) = memo.get(&key) {
        return Ok(ok);
    }
    let Some(def) = body.def_op(v) else {
        return Ok(false);
    };
    let d = body.op(def);
    if !is_cheap(d.kind) || plan.len() >= MAX_REMAT {
        memo.insert(key, false);
        return Ok(false);
    }
    let need = operand_layout(body, def, enc);
    for &o in &d.operands {
        if !body.ty(o).is_tile() || same_layout(body, o, &layouts[&o], &need)? {
            continue;
        }
        if !remat_plan(body, layouts, o, &need, plan, memo)? {
            memo.insert(key, false);
            return Ok(false);
        }
    }
    plan.push((v, enc.clone()));
    memo.insert(key, true);
    Ok(true)
}

/// Clones the op defining `v` before `at`, in layout `enc`, with operands
/// taken from `map` (the clones made so far) where they needed a clone.
fn clone_in(
    body: &mut Body,
    layouts: &mut LayoutTable,
    at: OpId,
    v: ValueId,
    enc: &Encoding,
    map: &HashMap<(ValueId, String), ValueId>,
) -> Result<ValueId, PassError> {
    let def = body.def_op(v).expect("planned values are op results");
    let d = body.op(def).clone();
    let need = operand_layout(body, def, enc).to_string();
    let operands: Vec<ValueId> = d
        .operands
        .iter()
        .map(|o| map.get(&(*o, need.clone())).copied().unwrap_or(*o))
        .collect();
    let types = d.results.iter().map(|r| body.ty(*r).clone()).collect();
    let mut attrs = d.attrs.clone();
    attrs.remove(table::LAYOUT);
    let new = body.create_op(d.kind, operands, types, attrs, vec![], d.loc.clone());
    let (r, i) = body.position(at).expect("linked");
    body.insert_op(r, i, new);
    let out = body.op(new).results[0];
    layouts.insert(out, enc.clone());
    Ok(out)
}
