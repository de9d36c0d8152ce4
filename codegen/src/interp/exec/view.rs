//! What op implementations see of an op: [`OpView`] (the op with its
//! function's resolved types and typed attribute access), and the operand
//! count and axis checks they share.

use crate::ir::{Attr, ElemType, OpData};

use super::FuncInfo;
use crate::interp::error::Fail;
use crate::interp::value::{RType, Value};

/// An op together with its function's resolved types: what op
/// implementations get.
pub(crate) struct OpView<'a> {
    pub op: &'a OpData,
    pub info: &'a FuncInfo,
}

impl OpView<'_> {
    /// The resolved type of result `i`.
    pub fn result(&self, i: usize) -> Result<&RType, Fail> {
        let v = self.op.results.get(i).ok_or_else(|| {
            Fail::ir(format!(
                "{} needs at least {} results, it declares {}",
                self.op.kind,
                i + 1,
                self.op.results.len()
            ))
        })?;
        self.info.ty(*v)
    }

    /// The element and shape of result `i`, which must not be a descriptor.
    pub fn result_val(&self, i: usize) -> Result<(&ElemType, &[usize]), Fail> {
        self.result(i)?.val()
    }

    fn attr_of<'b, T>(
        &'b self,
        name: &str,
        what: &str,
        get: impl Fn(&'b Attr) -> Option<T>,
    ) -> Result<Option<T>, Fail> {
        match self.op.attr(name) {
            None => Ok(None),
            Some(a) => get(a).map(Some).ok_or_else(|| {
                Fail::ir(format!(
                    "attribute `{name}` of {} must be {what}, got {a}",
                    self.op.kind
                ))
            }),
        }
    }

    /// An optional integer attribute.
    pub fn attr_int(&self, name: &str) -> Result<Option<i64>, Fail> {
        self.attr_of(name, "an integer", Attr::as_int)
    }

    /// An optional boolean attribute (`true`/`false`, or 0/1).
    pub fn attr_bool(&self, name: &str) -> Result<Option<bool>, Fail> {
        self.attr_of(name, "a boolean", |a| match a {
            Attr::Bool(b) => Some(*b),
            Attr::Int(0) => Some(false),
            Attr::Int(1) => Some(true),
            _ => None,
        })
    }

    /// An optional string attribute.
    pub fn attr_str(&self, name: &str) -> Result<Option<&str>, Fail> {
        self.attr_of(name, "a string", Attr::as_str)
    }

    /// An optional integer-list attribute.
    pub fn attr_ints(&self, name: &str) -> Result<Option<&[i64]>, Fail> {
        self.attr_of(name, "a list of integers", Attr::as_ints)
    }

    /// A required attribute, or an error naming it.
    pub fn required<T>(&self, name: &str, v: Option<T>) -> Result<T, Fail> {
        v.ok_or_else(|| {
            Fail::ir(format!(
                "{} is missing its attribute `{name}`",
                self.op.kind
            ))
        })
    }
}

/// Checks the operand count of an op.
pub(crate) fn arity(op: &OpData, args: &[&Value], min: usize, max: usize) -> Result<(), Fail> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(Fail::ir(format!(
            "{} takes {want} operands, got {}",
            op.kind,
            args.len()
        )));
    }
    Ok(())
}

/// Normalizes an axis attribute (negative counts from the end) for `rank`
/// dims; `rank` itself is allowed when `allow_end`.
pub(crate) fn norm_axis(axis: i64, rank: usize, allow_end: bool) -> Result<usize, Fail> {
    let top = rank as i64 + i64::from(allow_end);
    let a = if axis < 0 { axis + top } else { axis };
    if a < 0 || a >= top {
        return Err(Fail::ir(format!(
            "axis {axis} is out of range for a tile of rank {rank}"
        )));
    }
    Ok(a as usize)
}
