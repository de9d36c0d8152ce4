//! The checks before a launch: [`Interp::prepare`] walks the kernel and
//! every function it calls, rejects what specialization should have removed
//! (`tile.constexpr`, symbolic dimensions, const parameters), resolves
//! callees, and resolves every value's type to constant shapes.

use std::rc::Rc;

use crate::ir::{Attr, Func, OpData, OpKind, ValueId};

use super::{FuncInfo, Interp, vname};
use crate::interp::error::{ErrorKind, InterpError};
use crate::interp::value::RType;

impl Interp<'_> {
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
}
