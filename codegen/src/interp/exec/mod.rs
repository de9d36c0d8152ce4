//! The executor: functions, regions, structured control flow, calls, and
//! the dispatch of every other op to its implementation.
//!
//! Each function call gets an environment, a `Vec<Option<Rc<Value>>>`
//! indexed by `ValueId`: an op reads its operands from it and writes its
//! results into it, so loop bodies simply overwrite their values on each
//! iteration and region arguments are rebound by reference count. Before
//! anything runs, [`Interp::prepare`] walks the kernel and every function it
//! calls: it rejects what specialization should have removed
//! (`tile.constexpr`, symbolic dimensions, const parameters), resolves
//! callees, and resolves every value's type to constant shapes. Every op's
//! results are then checked against those types, every region argument and
//! call argument on binding, so the interpreter never trusts the IR blindly
//! and ops can rely on the types of the values they get.
//!
//! Layout: this file holds the interpreter state, function calls, regions
//! and value binding; `prepare.rs` the checks before a launch,
//! `control.rs` the ops with regions and calls, `eval.rs` the dispatch of
//! every other op, `view.rs` what op implementations see of an op.

mod control;
mod eval;
mod prepare;
mod view;

use std::collections::HashMap;
use std::rc::Rc;

use crate::ir::{Func, Module, OpData, OpKind, RegionId, ValueId};

use super::error::{ErrorKind, Fail, InterpError};
use super::memory::Memory;
use super::value::{RType, Value};

pub(crate) use view::{OpView, arity, norm_axis};

/// How deeply `tile.call`s may nest.
const MAX_CALL_DEPTH: usize = 64;

/// The values of one function activation, indexed by `ValueId`.
pub(crate) type Env = Vec<Option<Rc<Value>>>;

/// What `prepare` learned about one function.
pub(crate) struct FuncInfo {
    /// The resolved type of every value defined by a live op or region.
    types: Vec<Option<RType>>,
    /// The resolved result types.
    results: Vec<RType>,
}

impl FuncInfo {
    /// The resolved type of a value.
    pub fn ty(&self, v: ValueId) -> Result<&RType, Fail> {
        self.types
            .get(v.0 as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| Fail::ir(format!("value #{} is not defined in this function", v.0)))
    }
}

/// How a region ended.
struct Term {
    /// The terminator's kind, or None when the region ran out of ops.
    kind: Option<OpKind>,
    /// The terminator op.
    op: Option<crate::ir::OpId>,
    /// Its operand values.
    values: Vec<Rc<Value>>,
}

/// The function being run and what `prepare` found about it.
struct Frame<'f> {
    func: &'f Func,
    info: Rc<FuncInfo>,
}

/// The interpreter state of one launch.
pub(crate) struct Interp<'a> {
    module: &'a Module,
    index: HashMap<&'a str, usize>,
    infos: Vec<Option<Rc<FuncInfo>>>,
    mem: &'a mut Memory,
    grid: [u32; 3],
    /// The program id now running.
    pub pid: [u32; 3],
    /// What `tile.print` wrote.
    pub printed: Vec<String>,
    depth: usize,
}

/// Adds an op's context (name, location, function, program) to a failure.
fn wrap_at(pid: [u32; 3], func: &Func, op: &OpData, e: Fail) -> InterpError {
    InterpError {
        kind: e.kind,
        message: e.message,
        op: Some(op.kind),
        loc: Some(op.loc.clone()),
        func: Some(func.name.clone()),
        program: Some(pid),
    }
}

/// `%name` of a value, or `value #N` when it has no name.
fn vname(func: &Func, v: ValueId) -> String {
    if v.0 as usize >= func.body.num_values() {
        return format!("value #{} (not in @{})", v.0, func.name);
    }
    match func.body.value(v).name.as_deref() {
        Some(n) => format!("%{n}"),
        None => format!("value #{}", v.0),
    }
}

impl<'a> Interp<'a> {
    /// An interpreter for one launch of `grid` over `mem`.
    pub fn new(module: &'a Module, mem: &'a mut Memory, grid: [u32; 3]) -> Interp<'a> {
        let mut index = HashMap::new();
        for (i, f) in module.funcs.iter().enumerate() {
            index.entry(f.name.as_str()).or_insert(i);
        }
        Interp {
            module,
            index,
            infos: vec![None; module.funcs.len()],
            mem,
            grid,
            pid: [0; 3],
            printed: Vec::new(),
            depth: 0,
        }
    }

    /// The memory the launch runs on.
    pub fn memory(&self) -> &Memory {
        self.mem
    }

    /// Adds the op's context (name, location, function, program) to a failure.
    fn wrap(&self, func: &Func, op: &OpData, e: Fail) -> InterpError {
        wrap_at(self.pid, func, op, e)
    }

    /// Runs function `idx` on `args` (already checked against its
    /// parameters); returns its results.
    pub fn call(
        &mut self,
        idx: usize,
        args: Vec<Rc<Value>>,
    ) -> Result<Vec<Rc<Value>>, InterpError> {
        let module = self.module;
        let func = &module.funcs[idx];
        let info = self.infos[idx].clone().ok_or_else(|| {
            InterpError::bare(
                ErrorKind::InvalidIr,
                format!("internal: @{} was not prepared", func.name),
            )
        })?;
        let frame = Frame { func, info };
        let mut env: Env = vec![None; func.body.num_values()];
        let params = func.params();
        if params.len() != args.len() {
            return Err(InterpError::bare(
                ErrorKind::ArgMismatch,
                format!(
                    "@{} takes {} arguments, got {}",
                    func.name,
                    params.len(),
                    args.len()
                ),
            ));
        }
        for (&p, a) in params.iter().zip(args) {
            self.bind(&frame, &mut env, p, a).map_err(|e| {
                let mut err = InterpError::bare(e.kind, e.message);
                err.func = Some(func.name.clone());
                err.loc = Some(func.loc.clone());
                err
            })?;
        }
        let term = self.exec_region(&frame, &mut env, func.body.entry())?;
        let values =
            self.expect_term(&frame, None, term, OpKind::Return, frame.info.results.len())?;
        for (i, (v, ty)) in values.iter().zip(&frame.info.results).enumerate() {
            if !v.conforms(ty) {
                return Err(InterpError {
                    kind: ErrorKind::InvalidIr,
                    message: format!("returns {} as result #{i}, declared {ty}", v.type_string()),
                    op: Some(OpKind::Return),
                    loc: Some(func.loc.clone()),
                    func: Some(func.name.clone()),
                    program: Some(self.pid),
                });
            }
        }
        Ok(values)
    }

    /// Binds `val` to `v` after checking it has `v`'s type.
    fn bind(&self, frame: &Frame, env: &mut Env, v: ValueId, val: Rc<Value>) -> Result<(), Fail> {
        let ty = frame.info.ty(v)?;
        if !val.conforms(ty) {
            return Err(Fail::ir(format!(
                "{} of type {ty} receives a value of type {}",
                vname(frame.func, v),
                val.type_string()
            )));
        }
        match env.get_mut(v.0 as usize) {
            Some(slot) => *slot = Some(val),
            None => return Err(Fail::ir(format!("value #{} is out of range", v.0))),
        }
        Ok(())
    }

    /// The value of an operand.
    fn get(frame: &Frame, env: &Env, v: ValueId) -> Result<Rc<Value>, Fail> {
        Self::lookup(frame, env, v).cloned()
    }

    /// The value of an operand, borrowed from the environment.
    fn lookup<'e>(frame: &Frame, env: &'e Env, v: ValueId) -> Result<&'e Rc<Value>, Fail> {
        env.get(v.0 as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                Fail::ir(format!(
                    "operand {} is used where it is not defined",
                    vname(frame.func, v)
                ))
            })
    }

    /// The values of several operands.
    fn get_all(frame: &Frame, env: &Env, vs: &[ValueId]) -> Result<Vec<Rc<Value>>, Fail> {
        vs.iter().map(|&v| Self::get(frame, env, v)).collect()
    }

    /// Runs a region's ops up to its terminator.
    fn exec_region(
        &mut self,
        frame: &Frame,
        env: &mut Env,
        region: RegionId,
    ) -> Result<Term, InterpError> {
        let body = &frame.func.body;
        for &id in &body.region(region).ops {
            let op = body.op(id);
            if op.kind.is_terminator() {
                let values = Self::get_all(frame, env, &op.operands)
                    .map_err(|e| self.wrap(frame.func, op, e))?;
                return Ok(Term {
                    kind: Some(op.kind),
                    op: Some(id),
                    values,
                });
            }
            self.exec_op(frame, env, op)?;
        }
        Ok(Term {
            kind: None,
            op: None,
            values: Vec::new(),
        })
    }

    /// Checks that a region ended with `want` carrying `n` values; a region
    /// without terminator counts as `want` with no values.
    fn expect_term(
        &self,
        frame: &Frame,
        owner: Option<&OpData>,
        term: Term,
        want: OpKind,
        n: usize,
    ) -> Result<Vec<Rc<Value>>, InterpError> {
        let func = frame.func;
        let at = |op: Option<&OpData>, message: String| match op {
            Some(o) => self.wrap(func, o, Fail::ir(message)),
            None => InterpError {
                kind: ErrorKind::InvalidIr,
                message,
                op: None,
                loc: Some(func.loc.clone()),
                func: Some(func.name.clone()),
                program: Some(self.pid),
            },
        };
        // Only formatted on failure: this runs once per region execution.
        let where_ = || {
            owner.map_or_else(
                || "the function body".to_string(),
                |o| format!("a region of {}", o.kind),
            )
        };
        let term_op = term.op.map(|id| func.body.op(id));
        match term.kind {
            None if n == 0 => Ok(Vec::new()),
            None => Err(at(
                owner,
                format!(
                    "{} ends without {want}, but {n} values are expected",
                    where_()
                ),
            )),
            Some(k) if k == want => {
                if term.values.len() != n {
                    return Err(at(
                        term_op,
                        format!(
                            "gives {} values, {} expects {n}",
                            term.values.len(),
                            where_()
                        ),
                    ));
                }
                Ok(term.values)
            }
            Some(OpKind::Return) => Err(at(
                term_op,
                format!(
                    "{} cannot return early: tile.return must end the function body",
                    where_()
                ),
            )),
            Some(k) => Err(at(
                term_op,
                format!("{} must end with {want}, not {k}", where_()),
            )),
        }
    }

    /// Runs one non-terminator op.
    fn exec_op(&mut self, frame: &Frame, env: &mut Env, op: &OpData) -> Result<(), InterpError> {
        match op.kind {
            OpKind::For => self.exec_for(frame, env, op),
            OpKind::If => self.exec_if(frame, env, op),
            OpKind::While => self.exec_while(frame, env, op),
            OpKind::Call => self.exec_call(frame, env, op),
            _ => {
                let results = self
                    .eval(frame, env, op)
                    .map_err(|e| self.wrap(frame.func, op, e))?;
                self.check_result_count(frame, op, results.len())?;
                for (i, (val, &r)) in results.into_iter().zip(&op.results).enumerate() {
                    let ty = frame.info.ty(r).map_err(|e| self.wrap(frame.func, op, e))?;
                    if !val.conforms(ty) {
                        return Err(self.wrap(
                            frame.func,
                            op,
                            Fail::ir(format!(
                                "result #{i} is {} but the op declares {ty}",
                                val.type_string()
                            )),
                        ));
                    }
                    env[r.0 as usize] = Some(Rc::new(val));
                }
                Ok(())
            }
        }
    }

    /// Binds the results of a control op.
    fn bind_results(
        &self,
        frame: &Frame,
        env: &mut Env,
        op: &OpData,
        values: Vec<Rc<Value>>,
    ) -> Result<(), InterpError> {
        self.check_result_count(frame, op, values.len())?;
        for (&r, v) in op.results.iter().zip(values) {
            self.bind(frame, env, r, v)
                .map_err(|e| self.wrap(frame.func, op, e))?;
        }
        Ok(())
    }

    /// Checks that an op produced as many values as it declares results.
    fn check_result_count(
        &self,
        frame: &Frame,
        op: &OpData,
        produced: usize,
    ) -> Result<(), InterpError> {
        if produced != op.results.len() {
            return Err(self.wrap(
                frame.func,
                op,
                Fail::ir(format!(
                    "produces {produced} values but declares {} results",
                    op.results.len()
                )),
            ));
        }
        Ok(())
    }

    fn region_of(&self, frame: &Frame, op: &OpData, i: usize) -> Result<RegionId, InterpError> {
        op.regions
            .get(i)
            .copied()
            .ok_or_else(|| self.wrap(frame.func, op, Fail::ir(format!("region #{i} is missing"))))
    }
}
