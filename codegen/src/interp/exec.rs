//! The executor: functions, regions, structured control flow, calls, and
//! the dispatch of every other op to its implementation.
//!
//! Each function call gets an environment, a `Vec<Option<Rc<Value>>>`
//! indexed by `ValueId`: an op reads its operands from it and writes its
//! results into it, so loop bodies simply overwrite their values on each
//! iteration and region arguments are rebound by reference count. Before
//! anything runs, [`Interp::prepare`] walks the kernel and every function it
//! calls: it rejects what specialization should have removed
//! (`tile.constexpr`, symbolic dimensions, const parameters), resolves callees, and resolves every value's type to
//! constant shapes. Every op's results are then checked against those
//! types, every region argument and call argument on binding, so the
//! interpreter never trusts the IR blindly and ops can rely on the types of
//! the values they get.

use std::collections::HashMap;
use std::rc::Rc;

use crate::ir::{Attr, ElemType, Func, Module, OpData, OpKind, RegionId, ScalarType, ValueId};

use super::error::{ErrorKind, Fail, InterpError, at_lane};
use super::memory::Memory;
use super::value::{Data, RType, Tile, Value, format_value};
use super::{dot, elementwise as ew, memops, reduce, shape};

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

    /// Checks the function at `root` and every function it calls
    /// (transitively) and resolves their types.
    pub fn prepare(&mut self, root: usize) -> Result<(), InterpError> {
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if self.infos[i].is_some() {
                continue;
            }
            let func = &self.module.funcs[i];
            let info = self.prepare_func(func, &mut stack)?;
            self.infos[i] = Some(Rc::new(info));
        }
        Ok(())
    }

    fn prepare_func(&self, func: &Func, stack: &mut Vec<usize>) -> Result<FuncInfo, InterpError> {
        let func_err = |kind, message: String| InterpError {
            kind,
            message,
            op: None,
            loc: Some(func.loc.clone()),
            func: Some(func.name.clone()),
            program: None,
        };
        if !func.consts.is_empty() {
            let names: Vec<&str> = func.consts.iter().map(|c| c.name.as_str()).collect();
            return Err(func_err(
                ErrorKind::Unspecialized,
                format!(
                    "the function is not specialized: its compile-time parameters {} are unbound (run the specialize pass first)",
                    names.join(", ")
                ),
            ));
        }
        let body = &func.body;
        let mut types: Vec<Option<RType>> = vec![None; body.num_values()];
        let mut resolve = |v: ValueId, op: Option<&OpData>| -> Result<(), InterpError> {
            let ty = RType::from_type(body.ty(v)).map_err(|e| InterpError {
                kind: e.kind,
                message: format!("{}: {}", vname(func, v), e.message),
                op: op.map(|o| o.kind),
                loc: Some(op.map_or_else(|| func.loc.clone(), |o| o.loc.clone())),
                func: Some(func.name.clone()),
                program: None,
            })?;
            if let Some(slot) = types.get_mut(v.0 as usize) {
                *slot = Some(ty);
            }
            Ok(())
        };
        for &p in func.params() {
            resolve(p, None)?;
        }
        let results = func
            .results
            .iter()
            .map(|t| {
                RType::from_type(t)
                    .map_err(|e| func_err(e.kind, format!("result type: {}", e.message)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for id in body.walk(body.entry()) {
            let op = body.op(id);
            let op_err = |kind, message: String| InterpError {
                kind,
                message,
                op: Some(op.kind),
                loc: Some(op.loc.clone()),
                func: Some(func.name.clone()),
                program: None,
            };
            match op.kind {
                OpKind::Constexpr => {
                    let name = op.attr("name").and_then(Attr::as_str).unwrap_or("?");
                    return Err(op_err(
                        ErrorKind::Unspecialized,
                        format!(
                            "the kernel is not specialized: constexpr `{name}` is unbound (run the specialize pass first)"
                        ),
                    ));
                }
                OpKind::Call => {
                    let callee = op.attr("callee").and_then(Attr::as_str).ok_or_else(|| {
                        op_err(
                            ErrorKind::InvalidIr,
                            "missing the string attribute `callee`".into(),
                        )
                    })?;
                    let idx = *self.index.get(callee).ok_or_else(|| {
                        op_err(
                            ErrorKind::InvalidIr,
                            format!("calls @{callee}, which is not in the module"),
                        )
                    })?;
                    stack.push(idx);
                }
                _ => {}
            }
            if op.regions.len() != op.kind.num_regions()
                && !(op.kind == OpKind::If && op.regions.len() == 1)
            {
                return Err(op_err(
                    ErrorKind::InvalidIr,
                    format!(
                        "has {} regions, {} expected",
                        op.regions.len(),
                        op.kind.num_regions()
                    ),
                ));
            }
            for &r in &op.results {
                resolve(r, Some(op))?;
            }
            for &reg in &op.regions {
                for &a in &body.region(reg).args {
                    resolve(a, Some(op))?;
                }
            }
        }
        Ok(FuncInfo { types, results })
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
        env.get(v.0 as usize).and_then(Clone::clone).ok_or_else(|| {
            Fail::ir(format!(
                "operand {} is used where it is not defined",
                vname(frame.func, v)
            ))
        })
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
                let values = op
                    .operands
                    .iter()
                    .map(|&v| Self::get(frame, env, v))
                    .collect::<Result<Vec<_>, _>>()
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
        let where_ = owner.map_or_else(
            || "the function body".to_string(),
            |o| format!("a region of {}", o.kind),
        );
        let term_op = term.op.map(|id| func.body.op(id));
        match term.kind {
            None if n == 0 => Ok(Vec::new()),
            None => Err(at(
                owner,
                format!("{where_} ends without {want}, but {n} values are expected"),
            )),
            Some(k) if k == want => {
                if term.values.len() != n {
                    return Err(at(
                        term_op,
                        format!("gives {} values, {where_} expects {n}", term.values.len()),
                    ));
                }
                Ok(term.values)
            }
            Some(OpKind::Return) => Err(at(
                term_op,
                format!("{where_} cannot return early: tile.return must end the function body"),
            )),
            Some(k) => Err(at(
                term_op,
                format!("{where_} must end with {want}, not {k}"),
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
                if results.len() != op.results.len() {
                    return Err(self.wrap(
                        frame.func,
                        op,
                        Fail::ir(format!(
                            "produces {} values but declares {} results",
                            results.len(),
                            op.results.len()
                        )),
                    ));
                }
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
        if values.len() != op.results.len() {
            return Err(self.wrap(
                frame.func,
                op,
                Fail::ir(format!(
                    "produces {} values but declares {} results",
                    values.len(),
                    op.results.len()
                )),
            ));
        }
        for (&r, v) in op.results.iter().zip(values) {
            self.bind(frame, env, r, v)
                .map_err(|e| self.wrap(frame.func, op, e))?;
        }
        Ok(())
    }

    fn region_of(&self, frame: &Frame, op: &OpData, i: usize) -> Result<RegionId, InterpError> {
        op.regions
            .get(i)
            .copied()
            .ok_or_else(|| self.wrap(frame.func, op, Fail::ir(format!("region #{i} is missing"))))
    }

    /// `tile.for lb, ub, step, inits { ^(iv, carried...) }`: `iv` runs from
    /// `lb` while `< ub` (or `> ub` for a negative step), by `step`.
    fn exec_for(&mut self, frame: &Frame, env: &mut Env, op: &OpData) -> Result<(), InterpError> {
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
            let v = Self::get(frame, env, op.operands[i]).map_err(w)?;
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
        let mut carried = op.operands[3..]
            .iter()
            .map(|&v| Self::get(frame, env, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(w)?;
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
    fn exec_if(&mut self, frame: &Frame, env: &mut Env, op: &OpData) -> Result<(), InterpError> {
        let w = |e: Fail| self.wrap(frame.func, op, e);
        if op.operands.len() != 1 {
            return Err(w(Fail::ir(format!(
                "takes one condition, got {} operands",
                op.operands.len()
            ))));
        }
        let c = Self::get(frame, env, op.operands[0]).map_err(w)?;
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
    fn exec_while(&mut self, frame: &Frame, env: &mut Env, op: &OpData) -> Result<(), InterpError> {
        let pid = self.pid;
        let w = move |e: Fail| wrap_at(pid, frame.func, op, e);
        let before = self.region_of(frame, op, 0)?;
        let after = self.region_of(frame, op, 1)?;
        let body = &frame.func.body;
        let bargs = &body.region(before).args;
        let aargs = &body.region(after).args;
        let mut carried = op
            .operands
            .iter()
            .map(|&v| Self::get(frame, env, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(w)?;
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
    fn exec_call(&mut self, frame: &Frame, env: &mut Env, op: &OpData) -> Result<(), InterpError> {
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
        let args = op
            .operands
            .iter()
            .map(|&v| Self::get(frame, env, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(w)?;
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

    /// Evaluates an op without regions; returns its results.
    fn eval(&mut self, frame: &Frame, env: &Env, op: &OpData) -> Result<Vec<Value>, Fail> {
        let rcs = op
            .operands
            .iter()
            .map(|&v| Self::get(frame, env, v))
            .collect::<Result<Vec<_>, _>>()?;
        let args: Vec<&Value> = rcs.iter().map(|r| &**r).collect();
        let view = OpView {
            op,
            info: &frame.info,
        };
        let tile = |i: usize, what: &str| -> Result<&Tile, Fail> {
            args.get(i)
                .ok_or_else(|| Fail::ir(format!("{} is missing its {what}", op.kind)))?
                .tile(what)
        };
        let one = |t: Tile| Ok(vec![Value::Tile(t)]);
        match op.kind {
            OpKind::Return
            | OpKind::Yield
            | OpKind::Condition
            | OpKind::For
            | OpKind::If
            | OpKind::While
            | OpKind::Call => Err(Fail::ir(format!("internal: {} reached eval", op.kind))),
            OpKind::Constexpr => Err(Fail::new(
                ErrorKind::Unspecialized,
                "the kernel is not specialized (run the specialize pass first)",
            )),
            OpKind::Constant => {
                arity(op, &args, 0, 0)?;
                one(ew::constant(&view)?)
            }
            OpKind::ProgramId | OpKind::NumPrograms => {
                arity(op, &args, 0, 0)?;
                let axis = view.required("axis", view.attr_int("axis")?)?;
                let a = usize::try_from(axis)
                    .ok()
                    .filter(|a| *a < 3)
                    .ok_or_else(|| Fail::ir(format!("axis {axis} is not 0, 1 or 2")))?;
                let v = if op.kind == OpKind::ProgramId {
                    self.pid[a]
                } else {
                    self.grid[a]
                };
                one(Tile::int(ScalarType::I32, i64::from(v)))
            }
            OpKind::Arange => {
                arity(op, &args, 0, 0)?;
                one(shape::arange(&view)?)
            }
            OpKind::Splat => {
                arity(op, &args, 1, 1)?;
                one(shape::splat(&view, tile(0, "operand")?)?)
            }
            OpKind::Broadcast => {
                arity(op, &args, 1, 1)?;
                one(shape::broadcast(&view, tile(0, "operand")?)?)
            }
            OpKind::ExpandDims => {
                arity(op, &args, 1, 1)?;
                one(shape::expand_dims(&view, tile(0, "operand")?)?)
            }
            OpKind::Reshape => {
                arity(op, &args, 1, 1)?;
                one(shape::reshape(&view, tile(0, "operand")?)?)
            }
            OpKind::Trans => {
                arity(op, &args, 1, 1)?;
                one(shape::trans(&view, tile(0, "operand")?)?)
            }
            OpKind::Join => {
                arity(op, &args, 2, 2)?;
                one(shape::join(
                    tile(0, "first operand")?,
                    tile(1, "second operand")?,
                )?)
            }
            OpKind::Split => {
                arity(op, &args, 1, 1)?;
                let (a, b) = shape::split(tile(0, "operand")?)?;
                Ok(vec![Value::Tile(a), Value::Tile(b)])
            }
            OpKind::AddPtr => {
                arity(op, &args, 2, 2)?;
                one(memops::addptr(tile(0, "pointer")?, tile(1, "offset")?)?)
            }
            OpKind::Load => {
                arity(op, &args, 1, 3)?;
                let mask = args.get(1).map(|_| tile(1, "mask")).transpose()?;
                let other = args.get(2).map(|_| tile(2, "other value")).transpose()?;
                one(memops::load(self.mem, tile(0, "pointer")?, mask, other)?)
            }
            OpKind::Store => {
                arity(op, &args, 2, 3)?;
                let mask = args.get(2).map(|_| tile(2, "mask")).transpose()?;
                memops::store(self.mem, tile(0, "pointer")?, tile(1, "value")?, mask)?;
                Ok(vec![])
            }
            OpKind::MakeDesc => Ok(vec![Value::Desc(memops::make_desc(&view, &args)?)]),
            OpKind::DescLoad => one(memops::desc_load(self.mem, &args)?),
            OpKind::DescStore => {
                memops::desc_store(self.mem, &args)?;
                Ok(vec![])
            }
            OpKind::AtomicRmw => {
                arity(op, &args, 2, 3)?;
                let kind = view.required("kind", view.attr_str("kind")?)?;
                let mask = args.get(2).map(|_| tile(2, "mask")).transpose()?;
                one(memops::atomic_rmw(
                    self.mem,
                    kind,
                    tile(0, "pointer")?,
                    tile(1, "value")?,
                    mask,
                )?)
            }
            OpKind::AtomicCas => {
                arity(op, &args, 3, 3)?;
                one(memops::atomic_cas(
                    self.mem,
                    tile(0, "pointer")?,
                    tile(1, "compare value")?,
                    tile(2, "new value")?,
                )?)
            }
            OpKind::Binary(b) => {
                arity(op, &args, 2, 2)?;
                one(ew::binary(
                    b,
                    tile(0, "first operand")?,
                    tile(1, "second operand")?,
                )?)
            }
            OpKind::Unary(u) => {
                arity(op, &args, 1, 1)?;
                one(ew::unary(u, tile(0, "operand")?)?)
            }
            OpKind::Cmp => {
                arity(op, &args, 2, 2)?;
                let pred = view.required("pred", view.attr_str("pred")?)?;
                one(ew::cmp(
                    pred,
                    tile(0, "first operand")?,
                    tile(1, "second operand")?,
                )?)
            }
            OpKind::Select => {
                arity(op, &args, 3, 3)?;
                one(ew::select(
                    tile(0, "condition")?,
                    tile(1, "true value")?,
                    tile(2, "false value")?,
                )?)
            }
            OpKind::Fma => {
                arity(op, &args, 3, 3)?;
                one(ew::fma(tile(0, "a")?, tile(1, "b")?, tile(2, "c")?)?)
            }
            OpKind::Cast => {
                arity(op, &args, 1, 1)?;
                one(ew::cast(&view, tile(0, "operand")?)?)
            }
            OpKind::Bitcast => {
                arity(op, &args, 1, 1)?;
                one(ew::bitcast(&view, tile(0, "operand")?)?)
            }
            OpKind::Dot => {
                arity(op, &args, 3, 3)?;
                one(dot::dot(
                    &view,
                    tile(0, "a operand")?,
                    tile(1, "b operand")?,
                    tile(2, "accumulator")?,
                )?)
            }
            OpKind::Reduce => {
                arity(op, &args, 1, 1)?;
                one(reduce::reduce(&view, tile(0, "operand")?)?)
            }
            OpKind::Scan => {
                arity(op, &args, 1, 1)?;
                one(reduce::scan(&view, tile(0, "operand")?)?)
            }
            OpKind::Sort | OpKind::TopK => {
                arity(op, &args, 1, 1)?;
                let (v, i) = reduce::sort(&view, tile(0, "operand")?)?;
                Ok(vec![Value::Tile(v), Value::Tile(i)])
            }
            OpKind::Print => {
                let prefix = view.attr_str("prefix")?.unwrap_or("");
                let vals: Vec<String> = args.iter().map(|v| format_value(v)).collect();
                let [x, y, z] = self.pid;
                let line = format!("pid ({x}, {y}, {z}) {prefix}{}", vals.join(", "));
                println!("{line}");
                self.printed.push(line);
                Ok(vec![])
            }
            OpKind::Assert | OpKind::StaticAssert => {
                arity(op, &args, 1, 1)?;
                let t = tile(0, "condition")?;
                let Data::Bool(c) = &t.data else {
                    return Err(Fail::ir(format!(
                        "the condition must be i1, got {}",
                        t.type_string()
                    )));
                };
                if let Some(lane) = c.iter().position(|b| !b) {
                    let msg = view.attr_str("msg")?.unwrap_or("assertion failed");
                    let what = if op.kind == OpKind::StaticAssert {
                        "static assertion"
                    } else {
                        "assertion"
                    };
                    return Err(Fail::new(
                        ErrorKind::AssertFailed,
                        format!("{what} failed: {msg}{}", at_lane(t.rank(), lane)),
                    ));
                }
                Ok(vec![])
            }
        }
    }
}
