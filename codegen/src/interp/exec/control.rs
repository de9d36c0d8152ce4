//! Structured control flow and calls: `tile.for`, `tile.if`, `tile.while`
//! and `tile.call`. Each binds region arguments (checked against their
//! types), runs its regions through [`Interp::exec_region`], checks the
//! terminator and binds the op's results.

use std::rc::Rc;

use crate::ir::{Attr, ElemType, OpData, OpKind};

use super::{Env, Frame, Interp, MAX_CALL_DEPTH, vname, wrap_at};
use crate::interp::error::{ErrorKind, Fail, InterpError};
use crate::interp::value::{Tile, Value};

impl Interp<'_> {
    /// `tile.for lb, ub, step, inits { ^(iv, carried...) }`: `iv` runs from
    /// `lb` while `< ub` (or `> ub` for a negative step), by `step`.
    pub(super) fn exec_for(
        &mut self,
        frame: &Frame,
        env: &mut Env,
        op: &OpData,
    ) -> Result<(), InterpError> {
        let pid = self.pid;
        let w = move |e: Fail| wrap_at(pid, frame.func, op, e);
        if op.operands.len() < 3 {
            return Err(w(Fail::ir(format!(
                "takes lb, ub, step and the initial values, got {} operands",
                op.operands.len()
            ))));
        }
        let mut bounds = [0i64; 3];
        let mut iv_elem = None;
        for (i, name) in ["lower bound", "upper bound", "step"].iter().enumerate() {
            let v = Self::lookup(frame, env, op.operands[i]).map_err(w)?;
            let t = v.tile(name).map_err(w)?;
            bounds[i] = t.as_int_scalar(name).map_err(w)?;
            match &iv_elem {
                None => iv_elem = Some(t.elem.clone()),
                Some(e) if *e != t.elem => {
                    return Err(w(Fail::ir(format!(
                        "lb, ub and step must have one integer type, the {name} is {}",
                        t.type_string()
                    ))));
                }
                Some(_) => {}
            }
        }
        let Some(ElemType::Scalar(ivt)) = iv_elem else {
            return Err(w(Fail::ir("the bounds must be integers")));
        };
        let [lb, ub, step] = bounds;
        if step == 0 {
            return Err(w(Fail::ir("the step is 0")));
        }
        let region = self.region_of(frame, op, 0)?;
        let rargs = &frame.func.body.region(region).args;
        let n = op.operands.len() - 3;
        if rargs.len() != n + 1 {
            return Err(w(Fail::ir(format!(
                "the body has {} arguments, expected the induction variable and {n} carried values",
                rargs.len()
            ))));
        }
        let mut carried = Self::get_all(frame, env, &op.operands[3..]).map_err(w)?;
        let mut iv = i128::from(lb);
        loop {
            let go = if step > 0 {
                iv < i128::from(ub)
            } else {
                iv > i128::from(ub)
            };
            if !go {
                break;
            }
            let ivv = Rc::new(Value::Tile(Tile::int(ivt, iv as i64)));
            self.bind(frame, env, rargs[0], ivv).map_err(w)?;
            for (&a, c) in rargs[1..].iter().zip(&carried) {
                self.bind(frame, env, a, c.clone()).map_err(w)?;
            }
            let term = self.exec_region(frame, env, region)?;
            carried = self.expect_term(frame, Some(op), term, OpKind::Yield, n)?;
            iv += i128::from(step);
        }
        self.bind_results(frame, env, op, carried)
    }

    /// `tile.if cond { then } { else }`.
    pub(super) fn exec_if(
        &mut self,
        frame: &Frame,
        env: &mut Env,
        op: &OpData,
    ) -> Result<(), InterpError> {
        let w = |e: Fail| self.wrap(frame.func, op, e);
        if op.operands.len() != 1 {
            return Err(w(Fail::ir(format!(
                "takes one condition, got {} operands",
                op.operands.len()
            ))));
        }
        let c = Self::lookup(frame, env, op.operands[0]).map_err(w)?;
        let cond = c
            .tile("the condition")
            .and_then(|t| t.as_bool_scalar("the condition"))
            .map_err(w)?;
        let n = op.results.len();
        let values = match op.regions.get(if cond { 0 } else { 1 }).copied() {
            Some(region) => {
                if !frame.func.body.region(region).args.is_empty() {
                    return Err(w(Fail::ir("the regions of tile.if take no arguments")));
                }
                let term = self.exec_region(frame, env, region)?;
                self.expect_term(frame, Some(op), term, OpKind::Yield, n)?
            }
            None if n == 0 => Vec::new(),
            None => {
                return Err(w(Fail::ir(format!("has no else region but {n} results"))));
            }
        };
        self.bind_results(frame, env, op, values)
    }

    /// `tile.while inits { before(carried) -> condition } { after(forwarded) -> yield }`.
    pub(super) fn exec_while(
        &mut self,
        frame: &Frame,
        env: &mut Env,
        op: &OpData,
    ) -> Result<(), InterpError> {
        let pid = self.pid;
        let w = move |e: Fail| wrap_at(pid, frame.func, op, e);
        let before = self.region_of(frame, op, 0)?;
        let after = self.region_of(frame, op, 1)?;
        let body = &frame.func.body;
        let bargs = &body.region(before).args;
        let aargs = &body.region(after).args;
        let mut carried = Self::get_all(frame, env, &op.operands).map_err(w)?;
        if bargs.len() != carried.len() {
            return Err(w(Fail::ir(format!(
                "the before region has {} arguments for {} initial values",
                bargs.len(),
                carried.len()
            ))));
        }
        loop {
            for (&a, c) in bargs.iter().zip(&carried) {
                self.bind(frame, env, a, c.clone()).map_err(w)?;
            }
            let term = self.exec_region(frame, env, before)?;
            let term_op = term.op.map(|id| body.op(id));
            if term.kind != Some(OpKind::Condition) || term.values.is_empty() {
                let e = Fail::ir("the before region must end with tile.condition %cond, values...");
                return Err(match term_op {
                    Some(t) => self.wrap(frame.func, t, e),
                    None => w(e),
                });
            }
            let mut values = term.values;
            let cond_v = values.remove(0);
            let cond = cond_v
                .tile("the condition")
                .and_then(|t| t.as_bool_scalar("the condition"))
                .map_err(|e| match term_op {
                    Some(t) => self.wrap(frame.func, t, e),
                    None => w(e),
                })?;
            if !cond {
                return self.bind_results(frame, env, op, values);
            }
            if aargs.len() != values.len() {
                return Err(w(Fail::ir(format!(
                    "the after region has {} arguments for {} forwarded values",
                    aargs.len(),
                    values.len()
                ))));
            }
            for (&a, v) in aargs.iter().zip(values) {
                self.bind(frame, env, a, v).map_err(w)?;
            }
            let term = self.exec_region(frame, env, after)?;
            carried = self.expect_term(frame, Some(op), term, OpKind::Yield, bargs.len())?;
        }
    }

    /// `tile.call @callee(args)`.
    pub(super) fn exec_call(
        &mut self,
        frame: &Frame,
        env: &mut Env,
        op: &OpData,
    ) -> Result<(), InterpError> {
        let w = |e: Fail| self.wrap(frame.func, op, e);
        let callee = op
            .attr("callee")
            .and_then(Attr::as_str)
            .ok_or_else(|| w(Fail::ir("missing the string attribute `callee`")))?;
        let idx = *self
            .index
            .get(callee)
            .ok_or_else(|| w(Fail::ir(format!("@{callee} is not in the module"))))?;
        let module = self.module;
        let cf = &module.funcs[idx];
        let args = Self::get_all(frame, env, &op.operands).map_err(w)?;
        let params = cf.params();
        if params.len() != args.len() {
            return Err(w(Fail::ir(format!(
                "@{callee} takes {} arguments, got {}",
                params.len(),
                args.len()
            ))));
        }
        let info = self.infos[idx]
            .clone()
            .ok_or_else(|| w(Fail::ir(format!("internal: @{callee} was not prepared"))))?;
        for (i, (&p, a)) in params.iter().zip(&args).enumerate() {
            let ty = info.ty(p).map_err(w)?;
            if !a.conforms(ty) {
                return Err(w(Fail::ir(format!(
                    "argument #{i} is {} but parameter {} of @{callee} is {ty}",
                    a.type_string(),
                    vname(cf, p)
                ))));
            }
        }
        if self.depth >= MAX_CALL_DEPTH {
            return Err(w(Fail::new(
                ErrorKind::Unsupported,
                format!("calls nest deeper than {MAX_CALL_DEPTH} (recursion?)"),
            )));
        }
        self.depth += 1;
        let results = self.call(idx, args);
        self.depth -= 1;
        let results = results?;
        self.bind_results(frame, env, op, results)
    }
}
