//! Constants, `arange`, `splat` and every elementwise op, register by register.

use inkwell::values::{BasicValue, BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm, scalar_llvm};
use crate::ir::{Attr, BinaryOp, OpId, OpKind, ScalarType, UnaryOp};

/// log2(e) and ln(2), for exp and log through `ex2.approx` and `lg2.approx`.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
const LN_2: f64 = std::f64::consts::LN_2;

impl<'ctx> Lowerer<'ctx, '_> {
    pub(super) fn constant(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let ty = self.tf.body.ty(data.results[0]).clone();
        let s = ty
            .scalar_elem()
            .ok_or_else(|| err_at(&data.loc, data.kind, "a constant pointer"))?;
        let lt = scalar_llvm(self.ctx, s);
        let v: BasicValueEnum = match (data.attr("value"), s.is_float()) {
            (Some(Attr::Float(f)), true) => lt.into_float_type().const_float(*f).into(),
            (Some(Attr::Int(i)), true) => lt.into_float_type().const_float(*i as f64).into(),
            (Some(Attr::Int(i)), false) => lt.into_int_type().const_int(*i as u64, true).into(),
            (Some(Attr::Bool(b)), false) => lt.into_int_type().const_int(*b as u64, false).into(),
            (other, _) => {
                return Err(err_at(
                    &data.loc,
                    data.kind,
                    format!("value {other:?} does not fit {ty}"),
                ));
            }
        };
        let l = self.broadcast_scalar(v, data.results[0])?;
        self.set(data.results[0], l);
        Ok(())
    }

    /// A scalar as the value `result`: itself, or every register of a tile.
    fn broadcast_scalar(
        &mut self,
        v: BasicValueEnum<'ctx>,
        result: crate::ir::ValueId,
    ) -> Result<Lowered<'ctx>, NvptxError> {
        if self.tf.body.ty(result).is_tile() {
            let d = self.layout_of(result)?;
            Ok(Lowered::Tile(vec![v; d.regs], d))
        } else {
            Ok(Lowered::Scalar(v))
        }
    }

    pub(super) fn arange(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let start = data.attr("start").and_then(Attr::as_int).unwrap_or(0);
        let d = self.layout_of(data.results[0])?;
        let i32t = self.ctx.i32_type();
        let mut regs = Vec::with_capacity(d.regs);
        for rc in &d.reg_coord {
            let c = self
                .b
                .build_xor(d.thread_coord[0], i32t.const_int(rc[0], false), "")
                .map_err(llvm)?;
            let c = self
                .b
                .build_int_add(c, i32t.const_int(start as u64, true), "idx")
                .map_err(llvm)?;
            regs.push(c.into());
        }
        self.set(data.results[0], Lowered::Tile(regs, d));
        Ok(())
    }

    pub(super) fn splat(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Lowered::Scalar(v) = self.get(data.operands[0]) else {
            return Err(err_at(&data.loc, data.kind, "splat of a tile"));
        };
        let l = self.broadcast_scalar(v, data.results[0])?;
        self.set(data.results[0], l);
        Ok(())
    }

    /// Applies an elementwise op register by register.
    pub(super) fn elementwise(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let operands: Vec<Lowered<'ctx>> = data.operands.iter().map(|&v| self.get(v)).collect();
        let in_elem = self.tf.body.ty(data.operands[0]).scalar_elem();
        let out_elem = self
            .tf
            .body
            .ty(data.results[0])
            .scalar_elem()
            .ok_or_else(|| err_at(&data.loc, data.kind, "an elementwise op on pointers"))?;
        // Select's first operand is the condition; the others give the element type.
        let elem = match data.kind {
            OpKind::Select => self.tf.body.ty(data.operands[1]).scalar_elem(),
            _ => in_elem,
        }
        .ok_or_else(|| err_at(&data.loc, data.kind, "an elementwise op on pointers"))?;
        let result = match operands.iter().find_map(|l| match l {
            Lowered::Tile(regs, d) => Some((regs.len(), d.clone())),
            Lowered::Scalar(_) => None,
        }) {
            Some((regs, d)) => {
                let mut out = Vec::with_capacity(regs);
                for r in 0..regs {
                    let args: Vec<BasicValueEnum<'ctx>> = operands
                        .iter()
                        .map(|l| match l {
                            Lowered::Tile(v, _) => v[r],
                            Lowered::Scalar(v) => *v,
                        })
                        .collect();
                    out.push(self.scalar_op(&data, elem, out_elem, &args)?);
                }
                Lowered::Tile(out, d)
            }
            None => {
                let args: Vec<BasicValueEnum<'ctx>> = operands
                    .iter()
                    .map(|l| match l {
                        Lowered::Scalar(v) => *v,
                        Lowered::Tile(..) => unreachable!("no tile operand here"),
                    })
                    .collect();
                Lowered::Scalar(self.scalar_op(&data, elem, out_elem, &args)?)
            }
        };
        self.set(data.results[0], result);
        Ok(())
    }

    /// One element of an elementwise op.
    fn scalar_op(
        &mut self,
        data: &crate::ir::OpData,
        elem: ScalarType,
        out: ScalarType,
        a: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let b = &self.b;
        let v: BasicValueEnum<'ctx> = match data.kind {
            OpKind::Binary(bop) if elem.is_float() => {
                let (x, y) = (a[0].into_float_value(), a[1].into_float_value());
                match bop {
                    BinaryOp::Add => b.build_float_add(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Sub => b.build_float_sub(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Mul => b.build_float_mul(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Div => b.build_float_div(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Rem => b.build_float_rem(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Max => self.call_overloaded(
                        "llvm.maximum",
                        x.get_type().into(),
                        &[x.into(), y.into()],
                    )?,
                    BinaryOp::Min => self.call_overloaded(
                        "llvm.minimum",
                        x.get_type().into(),
                        &[x.into(), y.into()],
                    )?,
                    BinaryOp::Pow => {
                        let lg = self.approx_f32(elem, x, "llvm.nvvm.lg2.approx.f", 1.0)?;
                        let yy = self.widen_to_f32(elem, y)?;
                        let p = self.b.build_float_mul(lg, yy, "").map_err(llvm)?;
                        let e = self.approx_f32(ScalarType::F32, p, "llvm.nvvm.ex2.approx", 1.0)?;
                        self.narrow_from_f32(elem, e)?.into()
                    }
                    _ => return Err(err_at(&data.loc, data.kind, "a bitwise op on floats")),
                }
            }
            OpKind::Binary(bop) => {
                let (x, y) = (a[0].into_int_value(), a[1].into_int_value());
                match bop {
                    BinaryOp::Add => b.build_int_add(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Sub => b.build_int_sub(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Mul => b.build_int_mul(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Div => b.build_int_signed_div(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Rem => b.build_int_signed_rem(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::And => b.build_and(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Or => b.build_or(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Xor => b.build_xor(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Shl => b.build_left_shift(x, y, "").map_err(llvm)?.into(),
                    BinaryOp::Shr => b.build_right_shift(x, y, true, "").map_err(llvm)?.into(),
                    BinaryOp::Max => self.call_overloaded(
                        "llvm.smax",
                        x.get_type().into(),
                        &[x.into(), y.into()],
                    )?,
                    BinaryOp::Min => self.call_overloaded(
                        "llvm.smin",
                        x.get_type().into(),
                        &[x.into(), y.into()],
                    )?,
                    BinaryOp::Pow => return Err(err_at(&data.loc, data.kind, "pow on integers")),
                }
            }
            OpKind::Unary(u) if elem.is_float() => {
                self.float_unary(data, u, elem, a[0].into_float_value())?
            }
            OpKind::Unary(u) => {
                let x = a[0].into_int_value();
                match u {
                    UnaryOp::Neg => b.build_int_neg(x, "").map_err(llvm)?.into(),
                    UnaryOp::Not => b.build_not(x, "").map_err(llvm)?.into(),
                    UnaryOp::Abs => {
                        let f = false;
                        self.call_overloaded(
                            "llvm.abs",
                            x.get_type().into(),
                            &[
                                x.into(),
                                self.ctx.bool_type().const_int(f as u64, false).into(),
                            ],
                        )?
                    }
                    _ => return Err(err_at(&data.loc, data.kind, "a float op on integers")),
                }
            }
            OpKind::Cmp => {
                let pred = data.attr("pred").and_then(Attr::as_str).unwrap_or("");
                if elem.is_float() {
                    let p = match pred {
                        "eq" => FloatPredicate::OEQ,
                        "ne" => FloatPredicate::UNE,
                        "lt" => FloatPredicate::OLT,
                        "le" => FloatPredicate::OLE,
                        "gt" => FloatPredicate::OGT,
                        _ => FloatPredicate::OGE,
                    };
                    b.build_float_compare(p, a[0].into_float_value(), a[1].into_float_value(), "")
                        .map_err(llvm)?
                        .into()
                } else {
                    let p = match pred {
                        "eq" => IntPredicate::EQ,
                        "ne" => IntPredicate::NE,
                        "lt" => IntPredicate::SLT,
                        "le" => IntPredicate::SLE,
                        "gt" => IntPredicate::SGT,
                        _ => IntPredicate::SGE,
                    };
                    b.build_int_compare(p, a[0].into_int_value(), a[1].into_int_value(), "")
                        .map_err(llvm)?
                        .into()
                }
            }
            OpKind::Select => b
                .build_select(a[0].into_int_value(), a[1], a[2], "")
                .map_err(llvm)?,
            OpKind::Fma if elem.is_float() => {
                let t = a[0].into_float_value().get_type();
                self.call_overloaded("llvm.fma", t.into(), a)?
            }
            OpKind::Fma => {
                let m = b
                    .build_int_mul(a[0].into_int_value(), a[1].into_int_value(), "")
                    .map_err(llvm)?;
                b.build_int_add(m, a[2].into_int_value(), "")
                    .map_err(llvm)?
                    .into()
            }
            OpKind::Cast => self.cast(a[0], elem, out)?,
            OpKind::Bitcast => b
                .build_bit_cast(a[0], scalar_llvm(self.ctx, out), "")
                .map_err(llvm)?,
            _ => return Err(err_at(&data.loc, data.kind, "not an elementwise op")),
        };
        Ok(v)
    }

    fn float_unary(
        &mut self,
        data: &crate::ir::OpData,
        u: UnaryOp,
        elem: ScalarType,
        x: FloatValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let t = x.get_type();
        let approx = matches!(
            u,
            UnaryOp::Exp
                | UnaryOp::Exp2
                | UnaryOp::Log
                | UnaryOp::Log2
                | UnaryOp::Rsqrt
                | UnaryOp::Tanh
                | UnaryOp::Sigmoid
                | UnaryOp::Sin
                | UnaryOp::Cos
        );
        if approx && elem == ScalarType::F64 {
            return Err(err_at(
                &data.loc,
                data.kind,
                "f64 transcendentals are not lowered yet; compute in f32",
            ));
        }
        let v: BasicValueEnum<'ctx> = match u {
            UnaryOp::Neg => self.b.build_float_neg(x, "").map_err(llvm)?.into(),
            UnaryOp::Abs => self.call_overloaded("llvm.fabs", t.into(), &[x.into()])?,
            UnaryOp::Floor => self.call_overloaded("llvm.floor", t.into(), &[x.into()])?,
            UnaryOp::Ceil => self.call_overloaded("llvm.ceil", t.into(), &[x.into()])?,
            UnaryOp::Sqrt => self.call_overloaded("llvm.sqrt", t.into(), &[x.into()])?,
            UnaryOp::Exp2 => self.approx_then_back(elem, x, "llvm.nvvm.ex2.approx", 1.0, 1.0)?,
            UnaryOp::Exp => self.approx_then_back(elem, x, "llvm.nvvm.ex2.approx", LOG2_E, 1.0)?,
            UnaryOp::Log2 => self.approx_then_back(elem, x, "llvm.nvvm.lg2.approx.f", 1.0, 1.0)?,
            UnaryOp::Log => self.approx_then_back(elem, x, "llvm.nvvm.lg2.approx.f", 1.0, LN_2)?,
            UnaryOp::Rsqrt => {
                self.approx_then_back(elem, x, "llvm.nvvm.rsqrt.approx.f", 1.0, 1.0)?
            }
            UnaryOp::Sin => self.approx_then_back(elem, x, "llvm.nvvm.sin.approx.f", 1.0, 1.0)?,
            UnaryOp::Cos => self.approx_then_back(elem, x, "llvm.nvvm.cos.approx.f", 1.0, 1.0)?,
            UnaryOp::Sigmoid | UnaryOp::Tanh => {
                // sigmoid(x) = 1 / (1 + e^-x); tanh(x) = 2 sigmoid(2x) - 1.
                let f32t = self.ctx.f32_type();
                let xf = self.widen_to_f32(elem, x)?;
                let scale = if u == UnaryOp::Tanh { -2.0 } else { -1.0 };
                let e =
                    self.approx_f32(ScalarType::F32, xf, "llvm.nvvm.ex2.approx", scale * LOG2_E)?;
                let den = self
                    .b
                    .build_float_add(f32t.const_float(1.0), e, "")
                    .map_err(llvm)?;
                let s = self
                    .b
                    .build_float_div(f32t.const_float(1.0), den, "")
                    .map_err(llvm)?;
                let r = if u == UnaryOp::Tanh {
                    let two = self
                        .b
                        .build_float_mul(s, f32t.const_float(2.0), "")
                        .map_err(llvm)?;
                    self.b
                        .build_float_sub(two, f32t.const_float(1.0), "")
                        .map_err(llvm)?
                } else {
                    s
                };
                self.narrow_from_f32(elem, r)?.into()
            }
            UnaryOp::Not => return Err(err_at(&data.loc, data.kind, "`not` on floats")),
        };
        Ok(v)
    }

    /// `f(x * pre) * post` through an f32 approximation intrinsic, converted back to `elem`.
    fn approx_then_back(
        &mut self,
        elem: ScalarType,
        x: FloatValue<'ctx>,
        name: &str,
        pre: f64,
        post: f64,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let mut r = self.approx_f32(elem, x, name, pre)?;
        if post != 1.0 {
            r = self
                .b
                .build_float_mul(r, self.ctx.f32_type().const_float(post), "")
                .map_err(llvm)?;
        }
        Ok(self.narrow_from_f32(elem, r)?.into())
    }

    /// `f(to_f32(x) * pre)` for an f32 NVVM approximation intrinsic.
    fn approx_f32(
        &mut self,
        elem: ScalarType,
        x: FloatValue<'ctx>,
        name: &str,
        pre: f64,
    ) -> Result<FloatValue<'ctx>, NvptxError> {
        let mut xf = self.widen_to_f32(elem, x)?;
        if pre != 1.0 {
            xf = self
                .b
                .build_float_mul(xf, self.ctx.f32_type().const_float(pre), "")
                .map_err(llvm)?;
        }
        let intrinsic = inkwell::intrinsics::Intrinsic::find(name)
            .ok_or_else(|| NvptxError(format!("LLVM does not know the intrinsic `{name}`")))?;
        // `llvm.nvvm.ex2.approx` is overloaded on its type in LLVM 22; the others are not.
        let params: &[inkwell::types::BasicTypeEnum] = if intrinsic.is_overloaded() {
            &[self.ctx.f32_type().into()]
        } else {
            &[]
        };
        let f = intrinsic
            .get_declaration(&self.module, params)
            .ok_or_else(|| NvptxError(format!("cannot declare the intrinsic `{name}`")))?;
        let call = self.b.build_call(f, &[xf.into()], "").map_err(llvm)?;
        Ok(call.try_as_basic_value().unwrap_basic().into_float_value())
    }

    fn widen_to_f32(
        &mut self,
        elem: ScalarType,
        x: FloatValue<'ctx>,
    ) -> Result<FloatValue<'ctx>, NvptxError> {
        if elem == ScalarType::F32 {
            return Ok(x);
        }
        self.b
            .build_float_cast(x, self.ctx.f32_type(), "")
            .map_err(llvm)
    }

    fn narrow_from_f32(
        &mut self,
        elem: ScalarType,
        x: FloatValue<'ctx>,
    ) -> Result<FloatValue<'ctx>, NvptxError> {
        if elem == ScalarType::F32 {
            return Ok(x);
        }
        self.b
            .build_float_cast(x, scalar_llvm(self.ctx, elem).into_float_type(), "")
            .map_err(llvm)
    }

    /// Calls an overloaded LLVM intrinsic (`llvm.fabs` and friends) on `ty`.
    pub(super) fn call_overloaded(
        &mut self,
        name: &str,
        ty: inkwell::types::BasicTypeEnum<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let intrinsic = inkwell::intrinsics::Intrinsic::find(name)
            .ok_or_else(|| NvptxError(format!("LLVM does not know the intrinsic `{name}`")))?;
        let f = intrinsic
            .get_declaration(&self.module, &[ty])
            .ok_or_else(|| NvptxError(format!("cannot declare `{name}` for {ty}")))?;
        let args: Vec<_> = args.iter().map(|a| (*a).into()).collect();
        let call = self.b.build_call(f, &args, "").map_err(llvm)?;
        Ok(call.try_as_basic_value().unwrap_basic())
    }

    /// `tile.cast` of one element, with the interpreter's semantics
    /// (float→int truncates and saturates, NaN gives 0; anything→i1 is `!= 0`).
    fn cast(
        &mut self,
        x: BasicValueEnum<'ctx>,
        from: ScalarType,
        to: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let b = &self.b;
        let to_t = scalar_llvm(self.ctx, to);
        if from == to {
            return Ok(x);
        }
        Ok(match (from.is_float(), to.is_float()) {
            (true, true) => b
                .build_float_cast(x.into_float_value(), to_t.into_float_type(), "")
                .map_err(llvm)?
                .into(),
            (false, true) if from == ScalarType::I1 => b
                .build_unsigned_int_to_float(x.into_int_value(), to_t.into_float_type(), "")
                .map_err(llvm)?
                .into(),
            (false, true) => b
                .build_signed_int_to_float(x.into_int_value(), to_t.into_float_type(), "")
                .map_err(llvm)?
                .into(),
            (true, false) if to == ScalarType::I1 => {
                let t = x.into_float_value().get_type();
                b.build_float_compare(
                    FloatPredicate::UNE,
                    x.into_float_value(),
                    t.const_zero(),
                    "",
                )
                .map_err(llvm)?
                .into()
            }
            (true, false) => {
                let name = "llvm.fptosi.sat";
                let intrinsic = inkwell::intrinsics::Intrinsic::find(name)
                    .ok_or_else(|| NvptxError(format!("LLVM does not know `{name}`")))?;
                let f = intrinsic
                    .get_declaration(&self.module, &[to_t, x.get_type()])
                    .ok_or_else(|| NvptxError(format!("cannot declare `{name}`")))?;
                let call = b.build_call(f, &[x.into()], "").map_err(llvm)?;
                call.try_as_basic_value().unwrap_basic()
            }
            (false, false) if to == ScalarType::I1 => {
                let xi: IntValue = x.into_int_value();
                b.build_int_compare(IntPredicate::NE, xi, xi.get_type().const_zero(), "")
                    .map_err(llvm)?
                    .into()
            }
            (false, false) if from == ScalarType::I1 => b
                .build_int_z_extend(x.into_int_value(), to_t.into_int_type(), "")
                .map_err(llvm)?
                .into(),
            (false, false) => b
                .build_int_cast_sign_flag(x.into_int_value(), to_t.into_int_type(), true, "")
                .map_err(llvm)?
                .as_basic_value_enum(),
        })
    }
}
