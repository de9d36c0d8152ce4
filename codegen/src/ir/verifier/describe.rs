//! How verifier errors are built and how they name things: an error at an
//! op is prefixed with the op's name and carries its location; regions are
//! described by their owner ("the body of tile.for at k.rs:3:5") and values
//! by their name hint and definition ("%x, parameter 0 of \`k\`").

use crate::ir::attr::Attr;
use crate::ir::module::{OpId, RegionId, ValueDef, ValueId};
use crate::ir::ops::OpKind;
use crate::ir::types::Type;

use super::{Owner, Verifier, VerifyError};

pub(super) fn types_str(ts: &[Type]) -> String {
    let v: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
    format!("({})", v.join(", "))
}

pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub(super) fn attr_desc(a: &Attr) -> &'static str {
    match a {
        Attr::Int(_) => "an integer",
        Attr::Float(_) => "a float",
        Attr::Bool(_) => "a boolean",
        Attr::Str(_) => "a string",
        Attr::Ints(_) => "an integer list",
    }
}

impl<'a> Verifier<'a> {
    pub(super) fn func_err(&self, msg: impl Into<String>) -> VerifyError {
        VerifyError {
            loc: self.f.loc.clone(),
            message: msg.into(),
        }
    }

    /// An error at `op`, prefixed with its name.
    pub(super) fn err(&self, op: OpId, msg: impl AsRef<str>) -> VerifyError {
        let d = self.body.op(op);
        VerifyError {
            loc: d.loc.clone(),
            message: format!("{}: {}", d.kind, msg.as_ref()),
        }
    }

    /// An error about a region, at its owner's location (prefixed with the
    /// owning op's name; the function's name for its body).
    pub(super) fn owner_err(&self, owner: Owner, msg: impl AsRef<str>) -> VerifyError {
        match owner.op() {
            Some(o) => self.err(o, msg),
            None => self.func_err(format!("function `{}`: {}", self.f.name, msg.as_ref())),
        }
    }

    /// A terminator in a region that expects another one.
    pub(super) fn misplaced(&self, op: OpId, owner: Owner) -> VerifyError {
        self.err(
            op,
            format!(
                "{} must end with {}, not with this op",
                self.region_desc(owner),
                owner.terminator()
            ),
        )
    }

    pub(super) fn op_desc(&self, op: OpId) -> String {
        let d = self.body.op(op);
        format!("{} at {}", d.kind, d.loc)
    }

    pub(super) fn region_desc(&self, owner: Owner) -> String {
        match owner {
            Owner::Func => format!("the body of function `{}`", self.f.name),
            Owner::For(o) => format!("the body of {}", self.op_desc(o)),
            Owner::IfThen(o) => format!("the then region of {}", self.op_desc(o)),
            Owner::IfElse(o) => format!("the else region of {}", self.op_desc(o)),
            Owner::WhileBefore(o) => format!("the before region of {}", self.op_desc(o)),
            Owner::WhileAfter(o) => format!("the after region of {}", self.op_desc(o)),
        }
    }

    /// The owner of a region, found through its parent link (for messages).
    pub(super) fn owner_of(&self, r: RegionId) -> Owner {
        if r == self.body.entry() {
            return Owner::Func;
        }
        let Some(o) = self.body.region(r).parent else {
            return Owner::Func;
        };
        if o.0 as usize >= self.body.num_ops() {
            return Owner::Func;
        }
        let d = self.body.op(o);
        let i = d.regions.iter().position(|&x| x == r).unwrap_or(0);
        match (d.kind, i) {
            (OpKind::For, _) => Owner::For(o),
            (OpKind::If, 0) => Owner::IfThen(o),
            (OpKind::If, _) => Owner::IfElse(o),
            (OpKind::While, 0) => Owner::WhileBefore(o),
            (OpKind::While, _) => Owner::WhileAfter(o),
            _ => Owner::For(o),
        }
    }

    /// A value for messages: its name hint and where it is defined.
    pub(super) fn value_desc(&self, v: ValueId) -> String {
        let data = self.body.value(v);
        let name = match &data.name {
            Some(n) => format!("%{n}, "),
            None => String::new(),
        };
        match data.def {
            ValueDef::OpResult { op, index } if (op.0 as usize) < self.body.num_ops() => {
                format!("{name}result {index} of {}", self.op_desc(op))
            }
            ValueDef::RegionArg { region, index }
                if (region.0 as usize) < self.body.num_regions() =>
            {
                if region == self.body.entry() {
                    format!("{name}parameter {index} of `{}`", self.f.name)
                } else {
                    format!(
                        "{name}argument {index} of {}",
                        self.region_desc(self.owner_of(region))
                    )
                }
            }
            _ => format!("{name}value #{}", v.0),
        }
    }
}
