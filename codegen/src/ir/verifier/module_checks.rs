//! Checks beyond a single op: the function's signature (a kernel returns
//! nothing; constexpr parameters are uniquely named integers or i1; result
//! types are well formed), the uniqueness of function names in a module,
//! and calls. [`verify_func`](super::verify_func) checks a `tile.call` for
//! its `callee` attribute only; with the module at hand the callee must
//! exist, be a device function, and take and return the call's types, its
//! symbolic dims binding consistently to the caller's dims.

use std::collections::{HashMap, HashSet};

use crate::ir::module::{ConstParam, FuncKind, Module, OpId};
use crate::ir::types::{Dim, Type};
use crate::ir::typing::check_type;

use super::describe::types_str;
use super::{VResult, Verifier, VerifyError};

/// Function names are unique in a module.
pub(super) fn check_unique_names(m: &Module) -> VResult {
    let mut names = HashSet::new();
    for f in &m.funcs {
        if !names.insert(f.name.as_str()) {
            return Err(VerifyError {
                loc: f.loc.clone(),
                message: format!("function `{}` is defined more than once", f.name),
            });
        }
    }
    Ok(())
}

impl<'a> Verifier<'a> {
    /// The function's signature: a kernel returns nothing; constexpr
    /// parameters are uniquely named integers or i1; result types are well
    /// formed.
    pub(super) fn check_signature(&self) -> VResult {
        let f = self.f;
        if f.kind == FuncKind::Kernel && !f.results.is_empty() {
            return Err(self.func_err(format!(
                "kernel `{}` cannot return values, found results {}",
                f.name,
                types_str(&f.results)
            )));
        }
        let mut names = HashSet::new();
        for c in &f.consts {
            if !names.insert(c.name.as_str()) {
                return Err(self.func_err(format!(
                    "constexpr parameter `{}` of `{}` is declared more than once",
                    c.name, f.name
                )));
            }
            if c.ty.is_float() {
                return Err(self.func_err(format!(
                    "constexpr parameter `{}` of `{}` has type {}, expected an integer type or i1",
                    c.name, f.name, c.ty
                )));
            }
        }
        for (i, t) in f.results.iter().enumerate() {
            check_type(t, &f.consts)
                .map_err(|e| self.func_err(format!("result {i} of `{}`: {e}", f.name)))?;
        }
        Ok(())
    }

    /// `tile.call {callee}`: with the module, the callee exists, is a
    /// device function and matches the call's argument and result types.
    pub(super) fn check_call(&self, op: OpId) -> VResult {
        let callee = self.attr_str(op, "callee")?;
        let Some(m) = self.module else {
            return Ok(());
        };
        let Some(g) = m.func(callee) else {
            return Err(self.err(
                op,
                format!("the callee @{callee} is not a function of the module"),
            ));
        };
        if g.kind == FuncKind::Kernel {
            return Err(self.err(
                op,
                format!("the callee @{callee} is a kernel; only device functions can be called"),
            ));
        }
        let args = self.operand_types(op, 0);
        let params = g.param_types();
        let results = self.result_types(op);
        let mut binds = HashMap::new();
        let args_ok = args.len() == params.len()
            && params
                .iter()
                .zip(&args)
                .all(|(p, a)| match_type(p, a, &g.consts, &mut binds));
        if !args_ok {
            return Err(self.err(
                op,
                format!(
                    "@{callee} takes {}, found arguments {}",
                    types_str(&params),
                    types_str(&args)
                ),
            ));
        }
        let results_ok = results.len() == g.results.len()
            && g.results
                .iter()
                .zip(&results)
                .all(|(p, a)| match_type(p, a, &g.consts, &mut binds));
        if !results_ok {
            return Err(self.err(
                op,
                format!(
                    "@{callee} returns {}, found results {}",
                    types_str(&g.results),
                    types_str(&results)
                ),
            ));
        }
        Ok(())
    }
}

/// Matches a callee's signature type against the caller's type, binding the
/// callee's symbolic dims (its constexpr parameters) consistently.
pub(super) fn match_type(
    callee: &Type,
    actual: &Type,
    consts: &[ConstParam],
    binds: &mut HashMap<String, Dim>,
) -> bool {
    let mut dims = |ds: &[Dim], da: &[Dim]| {
        ds.len() == da.len()
            && ds.iter().zip(da).all(|(d, a)| match d {
                Dim::Sym(n) if consts.iter().any(|c| &c.name == n) => {
                    binds.entry(n.clone()).or_insert_with(|| a.clone()) == a
                }
                _ => d == a,
            })
    };
    match (callee, actual) {
        (Type::Tile(ds, e), Type::Tile(da, ea)) => e == ea && dims(ds, da),
        (Type::Desc(s, ds), Type::Desc(sa, da)) => s == sa && dims(ds, da),
        _ => callee == actual,
    }
}
