//! Where the layout of every tile value is written: attributes on the ops
//! that define them, so that the IR text shows them and golden tests see
//! every pass's decisions.
//!
//! - An op with tile results carries `layout`: one encoding per result,
//!   joined by `"; "`, with `-` for a result that is not a tile.
//! - Region arguments take theirs from the owning op: the carried values of
//!   a `tile.for` (after the induction variable) and the arguments of a
//!   `tile.while`'s after region are laid out as the op's results; the
//!   before region's arguments of a `tile.while` are in its
//!   `carried_layout` attribute.
//!
//! [`read`] rebuilds the value → encoding table from the attributes; [`set`]
//! writes one op's.

use std::collections::HashMap;

use super::encoding::Encoding;
use crate::ir::{Attr, Body, Func, OpId, OpKind, ValueDef, ValueId};
use crate::passes::pipeline::PassError;

/// The attribute holding the layouts of an op's results.
pub const LAYOUT: &str = "layout";
/// The attribute holding the layouts of a `tile.while`'s before-region arguments.
pub const CARRIED_LAYOUT: &str = "carried_layout";

/// The encoding of every tile value of a function.
pub type LayoutTable = HashMap<ValueId, Encoding>;

/// Formats the encodings of `values` (`-` for non-tiles) as an attribute.
pub fn format(body: &Body, values: &[ValueId], table: &LayoutTable) -> Option<Attr> {
    if !values.iter().any(|v| body.ty(*v).is_tile()) {
        return None;
    }
    let parts: Vec<String> = values
        .iter()
        .map(|v| table.get(v).map_or("-".to_string(), ToString::to_string))
        .collect();
    Some(Attr::Str(parts.join("; ")))
}

/// Writes the `layout` (and for `while`, `carried_layout`) attributes of `op` from `table`.
pub fn set(body: &mut Body, op: OpId, table: &LayoutTable) {
    let data = body.op(op).clone();
    if let Some(a) = format(body, &data.results, table) {
        body.op_mut(op).attrs.set(LAYOUT, a);
    }
    if data.kind == OpKind::While {
        let args = body.region(data.regions[0]).args.clone();
        if let Some(a) = format(body, &args, table) {
            body.op_mut(op).attrs.set(CARRIED_LAYOUT, a);
        }
    }
}

fn parse_list(
    body: &Body,
    op: OpId,
    attr: &str,
    values: &[ValueId],
    out: &mut LayoutTable,
) -> Result<(), PassError> {
    let data = body.op(op);
    let err =
        |m: String| PassError::new("layouts", data.loc.clone(), format!("{}: {m}", data.kind));
    let Some(a) = data.attr(attr) else {
        if values.iter().any(|v| body.ty(*v).is_tile()) {
            return Err(err(format!("a tile result has no `{attr}` attribute")));
        }
        return Ok(());
    };
    let text = a
        .as_str()
        .ok_or_else(|| err(format!("`{attr}` is not a string")))?;
    let parts: Vec<&str> = text.split("; ").collect();
    if parts.len() != values.len() {
        return Err(err(format!(
            "`{attr}` lists {} layouts for {} values",
            parts.len(),
            values.len()
        )));
    }
    for (&v, p) in values.iter().zip(parts) {
        let is_tile = body.ty(v).is_tile();
        match (p, is_tile) {
            ("-", false) => {}
            ("-", true) => return Err(err(format!("a tile value has no layout in `{attr}`"))),
            (_, false) => return Err(err(format!("a non-tile value has a layout in `{attr}`"))),
            (text, true) => {
                let e = Encoding::parse(text).map_err(|e| err(e.0))?;
                out.insert(v, e);
            }
        }
    }
    Ok(())
}

/// Rebuilds the layout of every tile value of `f` from its attributes.
pub fn read(f: &Func) -> Result<LayoutTable, PassError> {
    let body = &f.body;
    let mut out = LayoutTable::new();
    for op in body.walk(body.entry()) {
        let data = body.op(op);
        parse_list(body, op, LAYOUT, &data.results, &mut out)?;
        match data.kind {
            OpKind::For => {
                let args = &body.region(data.regions[0]).args;
                for (&a, r) in args[1..].iter().zip(&data.results) {
                    if let Some(e) = out.get(r).cloned() {
                        out.insert(a, e);
                    }
                }
            }
            OpKind::While => {
                let before = body.region(data.regions[0]).args.clone();
                parse_list(body, op, CARRIED_LAYOUT, &before, &mut out)?;
                let after = &body.region(data.regions[1]).args;
                for (&a, r) in after.iter().zip(&data.results) {
                    if let Some(e) = out.get(r).cloned() {
                        out.insert(a, e);
                    }
                }
            }
            _ => {}
        }
    }
    for &p in f.params() {
        if body.ty(p).is_tile() {
            return Err(PassError::new(
                "layouts",
                crate::ir::Location::unknown(),
                "a kernel parameter is a tile",
            ));
        }
    }
    Ok(out)
}

/// The op and result index, or region and argument index, that defines `v` (for messages).
pub fn describe(body: &Body, v: ValueId) -> String {
    match body.value(v).def {
        ValueDef::OpResult { op, index } => {
            format!("result {index} of {}", body.op(op).kind)
        }
        ValueDef::RegionArg { index, .. } => format!("region argument {index}"),
    }
}
