//! The walk over a function and its structure: every op linked into a
//! region is live, linked once and points back at its region; every region
//! is owned once and points back at its op; ops have the number of regions
//! their kind prescribes and refer only to existing values and regions;
//! each region ends with exactly one terminator, the one its owner expects
//! (`tile.return`, `tile.yield` or `tile.condition`); region arguments and
//! results have well-formed types. Each op is then checked for dominance
//! (`dominance.rs`) and by the rule of its kind (`check_op`).

use crate::ir::module::{OpId, RegionId, ValueDef};
use crate::ir::ops::OpKind;
use crate::ir::typing::check_type;

use super::describe::plural;
use super::{Owner, VResult, Verifier};

impl<'a> Verifier<'a> {
    /// Verifies the whole function: its signature, then its body.
    pub(super) fn run(mut self) -> VResult {
        self.check_signature()?;
        let f = self.f;
        let entry = self.body.entry();
        if (entry.0 as usize) >= self.body.num_regions() {
            return Err(self.func_err(format!("`{}` has no entry region", f.name)));
        }
        self.region(entry, Owner::Func)
    }

    /// Verifies region `r`, owned by `owner`, and everything in it.
    fn region(&mut self, r: RegionId, owner: Owner) -> VResult {
        let ri = r.0 as usize;
        if self.region_seen[ri] {
            return Err(self.owner_err(
                owner,
                format!("{} is also a region of another op", self.region_desc(owner)),
            ));
        }
        self.region_seen[ri] = true;
        let rd = self.body.region(r);
        if rd.parent != owner.op() {
            return Err(self.owner_err(
                owner,
                format!(
                    "the parent link of {} does not point at its owner",
                    self.region_desc(owner)
                ),
            ));
        }
        let mark = self.open_scope();
        for (i, &a) in rd.args.iter().enumerate() {
            let vd = self.body.value(a);
            if vd.def
                != (ValueDef::RegionArg {
                    region: r,
                    index: i,
                })
            {
                return Err(self.owner_err(
                    owner,
                    format!(
                        "argument {i} of {} records another definition ({})",
                        self.region_desc(owner),
                        self.value_desc(a)
                    ),
                ));
            }
            self.define(a)?;
            check_type(&vd.ty, &self.f.consts).map_err(|e| {
                let what = match (owner, &vd.name) {
                    (Owner::Func, Some(n)) => format!("parameter {i} (%{n})"),
                    (Owner::Func, None) => format!("parameter {i}"),
                    _ => format!("argument {i} of {}", self.region_desc(owner)),
                };
                self.owner_err(owner, format!("{what}: {e}"))
            })?;
        }
        let ops = &rd.ops;
        let expected_term = owner.terminator();
        if ops.is_empty() {
            return Err(self.owner_err(
                owner,
                format!(
                    "missing terminator: {} is empty, it must end with {expected_term}",
                    self.region_desc(owner)
                ),
            ));
        }
        for (i, &op) in ops.iter().enumerate() {
            if op.0 as usize >= self.body.num_ops() {
                return Err(self.owner_err(
                    owner,
                    format!(
                        "{} lists op #{}, which does not exist",
                        self.region_desc(owner),
                        op.0
                    ),
                ));
            }
            let d = self.body.op(op);
            if self.op_seen[op.0 as usize] {
                return Err(self.err(op, "the op is linked into the IR more than once"));
            }
            self.op_seen[op.0 as usize] = true;
            if d.dead {
                return Err(self.err(
                    op,
                    format!(
                        "an erased op is still linked into {}",
                        self.region_desc(owner)
                    ),
                ));
            }
            if d.parent != Some(r) {
                return Err(self.err(
                    op,
                    format!(
                        "the op's parent link does not point at {}, which holds it",
                        self.region_desc(owner)
                    ),
                ));
            }
            let last = i + 1 == ops.len();
            if d.kind.is_terminator() && !last {
                let next = ops[i + 1];
                let next = if (next.0 as usize) < self.body.num_ops() {
                    self.op_desc(next)
                } else {
                    format!("op #{}", next.0)
                };
                return Err(self.err(
                    op,
                    format!(
                        "a terminator must be the last op of {}, found before {next}",
                        self.region_desc(owner)
                    ),
                ));
            }
            if last && !d.kind.is_terminator() {
                return Err(self.err(
                    op,
                    format!(
                        "missing terminator: {} must end with {expected_term}, \
                         found {} as its last op",
                        self.region_desc(owner),
                        d.kind
                    ),
                ));
            }
            if last && d.kind != expected_term {
                return Err(self.err(
                    op,
                    format!(
                        "{} must end with {expected_term}, found {}",
                        self.region_desc(owner),
                        d.kind
                    ),
                ));
            }
            self.op(op, r, owner)?;
        }
        self.close_scope(mark);
        Ok(())
    }

    /// Verifies op `op` of region `r` (owned by `owner`), then its regions.
    fn op(&mut self, op: OpId, r: RegionId, owner: Owner) -> VResult {
        let d = self.body.op(op);
        let nv = self.body.num_values();
        // Ids first, so the checks below may index freely.
        for (i, &v) in d.operands.iter().enumerate() {
            if v.0 as usize >= nv {
                return Err(self.err(
                    op,
                    format!("operand {i} refers to value #{}, which does not exist", v.0),
                ));
            }
        }
        for (i, &v) in d.results.iter().enumerate() {
            if v.0 as usize >= nv {
                return Err(self.err(
                    op,
                    format!("result {i} refers to value #{}, which does not exist", v.0),
                ));
            }
        }
        if d.regions.len() != d.kind.num_regions() {
            return Err(self.err(
                op,
                format!(
                    "expected {}, found {}",
                    plural(d.kind.num_regions(), "region"),
                    d.regions.len()
                ),
            ));
        }
        for (i, &reg) in d.regions.iter().enumerate() {
            if reg.0 as usize >= self.body.num_regions() {
                return Err(self.err(
                    op,
                    format!(
                        "region {i} refers to region #{}, which does not exist",
                        reg.0
                    ),
                ));
            }
            for &a in &self.body.region(reg).args {
                if a.0 as usize >= nv {
                    return Err(self.err(
                        op,
                        format!(
                            "an argument of region {i} refers to value #{}, which does not exist",
                            a.0
                        ),
                    ));
                }
            }
        }
        // Dominance.
        self.check_operands_visible(op, r)?;
        // Results: defined once, here.
        for (i, &v) in d.results.iter().enumerate() {
            let vd = self.body.value(v);
            if vd.def != (ValueDef::OpResult { op, index: i }) {
                return Err(self.err(
                    op,
                    format!(
                        "result {i} records another definition ({})",
                        self.value_desc(v)
                    ),
                ));
            }
            if self.defined[v.0 as usize] {
                return Err(self.err(op, format!("result {i} is defined more than once")));
            }
            self.defined[v.0 as usize] = true;
            check_type(&vd.ty, &self.f.consts)
                .map_err(|e| self.err(op, format!("result type {e}")))?;
        }
        self.check_op(op, owner)?;
        // Regions see the values before the op, not its results.
        let regions = d.regions.clone();
        for (i, reg) in regions.into_iter().enumerate() {
            let inner = match (d.kind, i) {
                (OpKind::For, _) => Owner::For(op),
                (OpKind::If, 0) => Owner::IfThen(op),
                (OpKind::If, _) => Owner::IfElse(op),
                (OpKind::While, 0) => Owner::WhileBefore(op),
                (_, _) => Owner::WhileAfter(op),
            };
            self.region(reg, inner)?;
        }
        self.show_results(op);
        Ok(())
    }
}
