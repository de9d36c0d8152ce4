//! The rules of the ops that make values from attributes and the launch:
//! `tile.constant` (a value of the result's element kind that fits it),
//! `tile.constexpr` (a constexpr parameter of the function, with its
//! type), `tile.program_id` / `tile.num_programs` (an i32 on axis 0..=2)
//! and `tile.arange` (a 1-d i32 range that fits in i32).

use crate::ir::attr::Attr;
use crate::ir::module::{ConstParam, OpId};
use crate::ir::numeric::fit;
use crate::ir::types::{ElemType, ScalarType, Type};

use super::describe::attr_desc;
use super::{VResult, Verifier};

impl<'a> Verifier<'a> {
    /// `tile.constant {value}`: a number or boolean of the result's
    /// element kind; an integer must fit its type ([`fit`], the range the
    /// interpreter and the constant folder use).
    pub(super) fn check_constant(&self, op: OpId) -> VResult {
        self.operands(op, 0, 0, "none")?;
        self.results(op, 1)?;
        let t = self.result(op, 0);
        let s = match t {
            Type::Scalar(s) | Type::Tile(_, ElemType::Scalar(s)) => *s,
            _ => {
                return Err(self.err(
                    op,
                    format!("the result must be a number or a tile of numbers, found {t}"),
                ));
            }
        };
        let a = self.attr(op, "value", "a number or boolean")?;
        let ok = match (a, s.is_float(), s.is_bool()) {
            (Attr::Float(_) | Attr::Int(_), true, _) => true,
            (Attr::Bool(_), _, true) => true,
            (Attr::Int(v), false, _) => {
                if fit(i128::from(*v), s).is_none() {
                    return Err(self.err(op, format!("value {v} does not fit in {s}")));
                }
                true
            }
            _ => false,
        };
        if !ok {
            let want = if s.is_float() {
                "a float"
            } else if s.is_bool() {
                "a boolean"
            } else {
                "an integer"
            };
            return Err(self.err(
                op,
                format!(
                    "attribute `value` must be {want} for type {t}, found {} {a}",
                    attr_desc(a)
                ),
            ));
        }
        Ok(())
    }

    /// `tile.constexpr {name}`: names a constexpr parameter of the function,
    /// typed as it is.
    pub(super) fn check_constexpr(&self, op: OpId) -> VResult {
        self.operands(op, 0, 0, "none")?;
        self.results(op, 1)?;
        let name = self.attr_str(op, "name")?;
        let Some(c) = self.f.consts.iter().find(|c| c.name == name) else {
            return Err(self.err(
                op,
                format!(
                    "\"{name}\" is not a constexpr parameter of `{}` ({})",
                    self.f.name,
                    const_names(&self.f.consts)
                ),
            ));
        };
        self.expect_result(op, 0, &Type::Scalar(c.ty))?;
        Ok(())
    }

    /// `tile.program_id` / `tile.num_programs {axis}`: an i32 along axis 0, 1
    /// or 2.
    pub(super) fn check_program_id(&self, op: OpId) -> VResult {
        self.operands(op, 0, 0, "none")?;
        self.results(op, 1)?;
        let axis = self.attr_int(op, "axis")?;
        if !(0..=2).contains(&axis) {
            return Err(self.err(op, format!("axis must be 0, 1 or 2, found {axis}")));
        }
        self.expect_result(op, 0, &Type::Scalar(ScalarType::I32))?;
        Ok(())
    }

    /// `tile.arange {start}`: a 1-d i32 tile whose range fits in i32.
    pub(super) fn check_arange(&self, op: OpId) -> VResult {
        self.operands(op, 0, 0, "none")?;
        self.results(op, 1)?;
        let start = self.attr_int(op, "start")?;
        let t = self.result(op, 0);
        let Type::Tile(shape, ElemType::Scalar(ScalarType::I32)) = t else {
            return Err(self.err(op, format!("the result must be a tile<N x i32>, found {t}")));
        };
        if shape.len() != 1 {
            return Err(self.err(
                op,
                format!("the result must be a 1-d tile<N x i32>, found {t}"),
            ));
        }
        let n = shape[0].as_const().unwrap_or(1) as i128;
        let end = i128::from(start) + n - 1;
        if i32::try_from(start).is_err() || i32::try_from(end).is_err() {
            return Err(self.err(
                op,
                format!("the range {start}..{} does not fit in i32", end + 1),
            ));
        }
        Ok(())
    }
}

/// The constexpr parameters of a function, for messages.
pub(super) fn const_names(consts: &[ConstParam]) -> String {
    if consts.is_empty() {
        "it has none".to_string()
    } else {
        let v: Vec<&str> = consts.iter().map(|c| c.name.as_str()).collect();
        format!("it has {}", v.join(", "))
    }
}
