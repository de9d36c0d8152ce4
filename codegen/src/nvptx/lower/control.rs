//! Structured control flow to LLVM blocks: `for` and `while` loops with a
//! header of phis for the carried values, `if` with phis at the merge.
//! Conditions are scalars, the same in every thread, so control flow never
//! diverges inside a CTA (which every `bar.sync` relies on: the users of
//! shared memory's own and each `tile.barrier`; `gpu::barriers` says why
//! scalars are uniform).

use inkwell::IntPredicate;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValueEnum, IntValue, PhiValue};

use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::ir::{Attr, OpId, OpKind, RegionId, ValueId};

impl<'ctx> Lowerer<'ctx, '_> {
    /// Phis shaped like `template` (one per register of a tile).
    fn phis_like(
        &mut self,
        template: &Lowered<'ctx>,
    ) -> Result<(Lowered<'ctx>, Vec<PhiValue<'ctx>>), NvptxError> {
        let values: Vec<BasicValueEnum<'ctx>> = match template {
            Lowered::Scalar(v) => vec![*v],
            Lowered::Tile(regs, _) => regs.clone(),
        };
        let mut phis = Vec::with_capacity(values.len());
        for v in &values {
            phis.push(self.b.build_phi(v.get_type(), "").map_err(llvm)?);
        }
        let as_values: Vec<BasicValueEnum<'ctx>> =
            phis.iter().map(|p| p.as_basic_value()).collect();
        let lowered = match template {
            Lowered::Scalar(_) => Lowered::Scalar(as_values[0]),
            Lowered::Tile(_, d) => Lowered::Tile(as_values, d.clone()),
        };
        Ok((lowered, phis))
    }

    fn add_incoming(phis: &[PhiValue<'ctx>], value: &Lowered<'ctx>, from: BasicBlock<'ctx>) {
        let values: Vec<BasicValueEnum<'ctx>> = match value {
            Lowered::Scalar(v) => vec![*v],
            Lowered::Tile(regs, _) => regs.clone(),
        };
        for (p, v) in phis.iter().zip(&values) {
            p.add_incoming(&[(v, from)]);
        }
    }

    fn bind_args(&mut self, r: RegionId, values: &[Lowered<'ctx>]) {
        let args = self.tf.body.region(r).args.clone();
        for (a, v) in args.into_iter().zip(values) {
            self.set(a, v.clone());
        }
    }

    fn current(&self) -> BasicBlock<'ctx> {
        self.b.get_insert_block().expect("positioned")
    }

    fn lowered_all(&self, vs: &[ValueId]) -> Vec<Lowered<'ctx>> {
        vs.iter().map(|&v| self.get(v)).collect()
    }

    /// The constant value of `v` if a `tile.constant` defines it.
    fn const_int_of(&self, v: ValueId) -> Option<i64> {
        let op = self.tf.body.def_op(v)?;
        let data = self.tf.body.op(op);
        (data.kind == OpKind::Constant)
            .then(|| data.attr("value").and_then(Attr::as_int))
            .flatten()
    }

    pub(super) fn for_op(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let body_region = data.regions[0];
        let inits = self.lowered_all(&data.operands[3..]);
        let (lb, ub, step) = (
            self.get(data.operands[0]),
            self.get(data.operands[1]),
            self.get(data.operands[2]),
        );
        let (Lowered::Scalar(lb), Lowered::Scalar(ub), Lowered::Scalar(step)) = (lb, ub, step)
        else {
            return Err(err_at(&data.loc, data.kind, "loop bounds must be scalars"));
        };
        let step_sign = self.const_int_of(data.operands[2]).map(i64::signum);
        if step_sign == Some(0) {
            return Err(err_at(&data.loc, data.kind, "a loop step of 0 never ends"));
        }
        let pre = self.current();
        let header = self.ctx.append_basic_block(self.function, "for.header");
        let body = self.ctx.append_basic_block(self.function, "for.body");
        let exit = self.ctx.append_basic_block(self.function, "for.exit");
        self.b.build_unconditional_branch(header).map_err(llvm)?;
        self.b.position_at_end(header);
        let (iv, iv_phi) = self.phis_like(&Lowered::Scalar(lb))?;
        Self::add_incoming(&iv_phi, &Lowered::Scalar(lb), pre);
        let mut carried = Vec::new();
        let mut carried_phis = Vec::new();
        for init in &inits {
            let (l, p) = self.phis_like(init)?;
            Self::add_incoming(&p, init, pre);
            carried.push(l);
            carried_phis.push(p);
        }
        let Lowered::Scalar(ivv) = iv.clone() else {
            unreachable!("scalar phi")
        };
        let (ivi, ubi, stepi) = (
            ivv.into_int_value(),
            ub.into_int_value(),
            step.into_int_value(),
        );
        let up = self
            .b
            .build_int_compare(IntPredicate::SLT, ivi, ubi, "")
            .map_err(llvm)?;
        let cond: IntValue<'ctx> = match step_sign {
            Some(1) => up,
            Some(_) => self
                .b
                .build_int_compare(IntPredicate::SGT, ivi, ubi, "")
                .map_err(llvm)?,
            None => {
                let down = self
                    .b
                    .build_int_compare(IntPredicate::SGT, ivi, ubi, "")
                    .map_err(llvm)?;
                let positive = self
                    .b
                    .build_int_compare(IntPredicate::SGT, stepi, stepi.get_type().const_zero(), "")
                    .map_err(llvm)?;
                self.b
                    .build_select(positive, up, down, "")
                    .map_err(llvm)?
                    .into_int_value()
            }
        };
        self.b
            .build_conditional_branch(cond, body, exit)
            .map_err(llvm)?;
        self.b.position_at_end(body);
        let mut args = vec![iv.clone()];
        args.extend(carried.iter().cloned());
        self.bind_args(body_region, &args);
        let yielded = self.region(body_region)?;
        let next_iv = self.b.build_int_add(ivi, stepi, "").map_err(llvm)?;
        let latch = self.current();
        Self::add_incoming(&iv_phi, &Lowered::Scalar(next_iv.into()), latch);
        for (p, y) in carried_phis.iter().zip(&yielded) {
            let v = self.get(*y);
            Self::add_incoming(p, &v, latch);
        }
        self.b.build_unconditional_branch(header).map_err(llvm)?;
        self.b.position_at_end(exit);
        for (r, l) in data.results.iter().zip(carried) {
            self.set(*r, l);
        }
        Ok(())
    }

    pub(super) fn if_op(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let Lowered::Scalar(cond) = self.get(data.operands[0]) else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the condition must be a scalar",
            ));
        };
        let then_bb = self.ctx.append_basic_block(self.function, "if.then");
        let else_bb = self.ctx.append_basic_block(self.function, "if.else");
        let merge = self.ctx.append_basic_block(self.function, "if.merge");
        self.b
            .build_conditional_branch(cond.into_int_value(), then_bb, else_bb)
            .map_err(llvm)?;
        let mut branches = Vec::new();
        for (bb, region) in [(then_bb, data.regions[0]), (else_bb, data.regions[1])] {
            self.b.position_at_end(bb);
            let yielded = self.region(region)?;
            let values = self.lowered_all(&yielded);
            branches.push((values, self.current()));
            self.b.build_unconditional_branch(merge).map_err(llvm)?;
        }
        self.b.position_at_end(merge);
        for (i, &r) in data.results.iter().enumerate() {
            let (l, phis) = self.phis_like(&branches[0].0[i])?;
            for (values, from) in &branches {
                Self::add_incoming(&phis, &values[i], *from);
            }
            self.set(r, l);
        }
        Ok(())
    }

    pub(super) fn while_op(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let (before, after) = (data.regions[0], data.regions[1]);
        let inits = self.lowered_all(&data.operands);
        let pre = self.current();
        let header = self.ctx.append_basic_block(self.function, "while.header");
        let body = self.ctx.append_basic_block(self.function, "while.body");
        let exit = self.ctx.append_basic_block(self.function, "while.exit");
        self.b.build_unconditional_branch(header).map_err(llvm)?;
        self.b.position_at_end(header);
        let mut carried = Vec::new();
        let mut phis = Vec::new();
        for init in &inits {
            let (l, p) = self.phis_like(init)?;
            Self::add_incoming(&p, init, pre);
            carried.push(l);
            phis.push(p);
        }
        self.bind_args(before, &carried);
        let cond_and_fwd = self.region(before)?;
        let Some((&cond, fwd)) = cond_and_fwd.split_first() else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the before region has no condition",
            ));
        };
        let Lowered::Scalar(c) = self.get(cond) else {
            return Err(err_at(
                &data.loc,
                data.kind,
                "the condition must be a scalar",
            ));
        };
        let forwarded = self.lowered_all(fwd);
        self.b
            .build_conditional_branch(c.into_int_value(), body, exit)
            .map_err(llvm)?;
        self.b.position_at_end(body);
        self.bind_args(after, &forwarded);
        let yielded = self.region(after)?;
        let latch = self.current();
        for (p, y) in phis.iter().zip(&yielded) {
            let v = self.get(*y);
            Self::add_incoming(p, &v, latch);
        }
        self.b.build_unconditional_branch(header).map_err(llvm)?;
        self.b.position_at_end(exit);
        for (r, l) in data.results.iter().zip(forwarded) {
            self.set(*r, l);
        }
        Ok(())
    }
}
