//! Device printing and assertions: `tile.print` through CUDA's `vprintf`
//! and `tile.assert` through `__assertfail` (both PTX system calls that the
//! driver provides; they appear as `.extern .func` in the PTX).
//!
//! **Print.** The interpreter prints one line per op, `pid (x, y, z)
//! {prefix}{values}` with tiles as nested lists. On the GPU a tile's
//! elements live in different threads, so a tile is printed one line per
//! element, by its owner (copies stay silent), with its coordinates:
//!
//! ```text
//! pid (0, 0, 0) idx (3, 1) {prefix}{value}
//! ```
//!
//! When the print has several operands, each line also says which one
//! (`pid (0, 0, 0) operand 1 idx (3) {prefix}{value}`), since elements of
//! different tiles live in different threads. A print of scalars only is
//! one line by thread 0, the interpreter's line. Lines of different threads
//! come in no particular order. Floats print with `%g`, integers in
//! decimal, `i1` as `true`/`false`, pointers with `%p`.
//!
//! **Assert.** Each element whose condition is false (owners only; a
//! scalar condition is checked by thread 0) prints `pid (..) idx (..):
//! assertion failed: {msg} at lane {row-major index} ({file:line:col})` and
//! calls `__assertfail(msg, file, line, kernel, 1)`, which reports the
//! failure and traps: the kernel stops and the CUDA context is unusable
//! afterwards (the launch returns an error).

use inkwell::AddressSpace;
use inkwell::IntPredicate;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FunctionValue, PointerValue};

use super::intrinsics::SpecialReg;
use super::layout::TileLayout;
use super::{Lowered, Lowerer, NvptxError, err_at, llvm};
use crate::gpu::plan::row_major;
use crate::ir::{ElemType, OpId, ScalarType};

/// `%` doubled, so that text goes through printf unchanged.
fn escape(s: &str) -> String {
    s.replace('%', "%%")
}

/// The printf conversion of an element type.
fn conversion(elem: &ElemType) -> &'static str {
    match elem {
        ElemType::Scalar(s) if s.is_float() => "%g",
        ElemType::Scalar(ScalarType::I1) => "%s",
        ElemType::Scalar(ScalarType::I64) => "%lld",
        ElemType::Scalar(_) => "%d",
        ElemType::Ptr(..) => "%p",
    }
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// A generic pointer to a NUL-terminated constant string (a global in
    /// the global address space, one per distinct `name`).
    fn c_string(&mut self, name: &str, text: &str) -> Result<PointerValue<'ctx>, NvptxError> {
        let g = match self.module.get_global(name) {
            Some(g) => g,
            None => {
                let init = self.ctx.const_string(text.as_bytes(), true);
                let g =
                    self.module
                        .add_global(init.get_type(), Some(AddressSpace::from(1u16)), name);
                g.set_initializer(&init);
                g.set_constant(true);
                g.set_linkage(inkwell::module::Linkage::Private);
                g
            }
        };
        self.b
            .build_address_space_cast(
                g.as_pointer_value(),
                self.ctx.ptr_type(AddressSpace::default()),
                "",
            )
            .map_err(llvm)
    }

    /// The declaration of `vprintf(ptr fmt, ptr args) -> i32`.
    fn vprintf(&self) -> FunctionValue<'ctx> {
        let generic = self.ctx.ptr_type(AddressSpace::default());
        self.module.get_function("vprintf").unwrap_or_else(|| {
            let ty = self
                .ctx
                .i32_type()
                .fn_type(&[generic.into(), generic.into()], false);
            self.module.add_function("vprintf", ty, None)
        })
    }

    /// The declaration of `__assertfail(ptr msg, ptr file, i32 line, ptr func, i64 char_size)`.
    fn assertfail(&self) -> FunctionValue<'ctx> {
        let generic = self.ctx.ptr_type(AddressSpace::default());
        self.module.get_function("__assertfail").unwrap_or_else(|| {
            let ty = self.ctx.void_type().fn_type(
                &[
                    generic.into(),
                    generic.into(),
                    self.ctx.i32_type().into(),
                    generic.into(),
                    self.ctx.i64_type().into(),
                ],
                false,
            );
            self.module.add_function("__assertfail", ty, None)
        })
    }

    /// A stack slot of type `ty` in the kernel's entry block, as a generic pointer.
    fn entry_alloca(&mut self, ty: BasicTypeEnum<'ctx>) -> Result<PointerValue<'ctx>, NvptxError> {
        let here = self.b.get_insert_block().expect("positioned");
        let entry = self
            .function
            .get_first_basic_block()
            .expect("the kernel has an entry block");
        match entry.get_terminator() {
            Some(t) => self.b.position_before(&t),
            None => self.b.position_at_end(entry),
        }
        let slot = self.b.build_alloca(ty, "printf.args").map_err(llvm);
        self.b.position_at_end(here);
        let slot = slot?;
        let generic = self.ctx.ptr_type(AddressSpace::default());
        if slot.get_type() == generic {
            Ok(slot)
        } else {
            self.b
                .build_address_space_cast(slot, generic, "")
                .map_err(llvm)
        }
    }

    /// A value as printf's variadic promotion passes it: floats as double,
    /// small integers as i32, `i1` as a `"true"`/`"false"` string.
    fn printf_arg(
        &mut self,
        v: BasicValueEnum<'ctx>,
        elem: &ElemType,
    ) -> Result<BasicValueEnum<'ctx>, NvptxError> {
        let (b, ctx) = (&self.b, self.ctx);
        Ok(match elem {
            ElemType::Scalar(s) if s.is_float() => b
                .build_float_ext(v.into_float_value(), ctx.f64_type(), "")
                .map_err(llvm)?
                .into(),
            ElemType::Scalar(ScalarType::I1) => {
                let t = self.c_string("tilefuse_str_true", "true")?;
                let f = self.c_string("tilefuse_str_false", "false")?;
                self.b
                    .build_select(v.into_int_value(), t, f, "")
                    .map_err(llvm)?
            }
            ElemType::Scalar(ScalarType::I8 | ScalarType::I16) => b
                .build_int_s_extend(v.into_int_value(), ctx.i32_type(), "")
                .map_err(llvm)?
                .into(),
            _ => v,
        })
    }

    /// `vprintf(fmt, &{args..})`.
    fn call_printf(
        &mut self,
        fmt: PointerValue<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<(), NvptxError> {
        let types: Vec<BasicTypeEnum> = args.iter().map(|a| a.get_type()).collect();
        let st = self.ctx.struct_type(&types, false);
        let slot = self.entry_alloca(st.into())?;
        for (i, a) in args.iter().enumerate() {
            let p = self
                .b
                .build_struct_gep(st, slot, i as u32, "")
                .map_err(llvm)?;
            self.b.build_store(p, *a).map_err(llvm)?;
        }
        let f = self.vprintf();
        self.b
            .build_call(f, &[fmt.into(), slot.into()], "")
            .map_err(llvm)?;
        Ok(())
    }

    /// The program id along x, y and z (i32).
    fn pids(&mut self) -> Result<Vec<BasicValueEnum<'ctx>>, NvptxError> {
        (0..3)
            .map(|a| Ok(self.special(SpecialReg::CtaId(a))?.into()))
            .collect()
    }

    fn is_thread0(&mut self) -> Result<inkwell::values::IntValue<'ctx>, NvptxError> {
        self.b
            .build_int_compare(
                IntPredicate::EQ,
                self.tid,
                self.ctx.i32_type().const_zero(),
                "",
            )
            .map_err(llvm)
    }

    /// `tile.print {prefix} values..`.
    pub(super) fn print(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let prefix = escape(data.attr("prefix").and_then(|a| a.as_str()).unwrap_or(""));
        let mut elems = Vec::with_capacity(data.operands.len());
        for (k, &v) in data.operands.iter().enumerate() {
            let e = self.tf.body.ty(v).elem().ok_or_else(|| {
                err_at(
                    &data.loc,
                    data.kind,
                    format!("operand {k} ({}) cannot be printed", self.tf.body.ty(v)),
                )
            })?;
            elems.push(e);
        }
        let pids = self.pids()?;
        let values: Vec<Lowered<'ctx>> = data.operands.iter().map(|&v| self.get(v)).collect();
        let any_tile = values.iter().any(|l| matches!(l, Lowered::Tile(..)));
        if !any_tile {
            // The interpreter's line, printed once.
            let convs: Vec<&str> = elems.iter().map(conversion).collect();
            let text = format!("pid (%d, %d, %d) {prefix}{}\n", convs.join(", "));
            let fmt = self.c_string(&format!("tilefuse_fmt_{}", op.0), &text)?;
            let mut args = pids.clone();
            for (l, e) in values.iter().zip(&elems) {
                let Lowered::Scalar(v) = l else { continue };
                args.push(self.printf_arg(*v, e)?);
            }
            let first = self.is_thread0()?;
            return self.when(first, |this| this.call_printf(fmt, &args));
        }
        let several = values.len() > 1;
        for (k, (l, e)) in values.iter().zip(&elems).enumerate() {
            let label = if several {
                format!(" operand {k}")
            } else {
                String::new()
            };
            match l {
                Lowered::Scalar(v) => {
                    let text = format!("pid (%d, %d, %d){label} {prefix}{}\n", conversion(e));
                    let fmt = self.c_string(&format!("tilefuse_fmt_{}_{k}", op.0), &text)?;
                    let mut args = pids.clone();
                    args.push(self.printf_arg(*v, e)?);
                    let first = self.is_thread0()?;
                    self.when(first, |this| this.call_printf(fmt, &args))?;
                }
                Lowered::Tile(regs, d) => {
                    let idx = vec!["%d"; d.shape.len()].join(", ");
                    let text = format!(
                        "pid (%d, %d, %d){label} idx ({idx}) {prefix}{}\n",
                        conversion(e)
                    );
                    let fmt = self.c_string(&format!("tilefuse_fmt_{}_{k}", op.0), &text)?;
                    for (r, &v) in regs.iter().enumerate() {
                        if d.is_dup_reg(r) {
                            continue;
                        }
                        let mut args = pids.clone();
                        args.extend(self.coords(d, r)?.into_iter().map(BasicValueEnum::from));
                        args.push(self.printf_arg(v, e)?);
                        self.when(d.owner, |this| this.call_printf(fmt, &args))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `tile.assert {msg} cond`.
    pub(super) fn assert(&mut self, op: OpId) -> Result<(), NvptxError> {
        let data = self.tf.body.op(op).clone();
        let msg = data
            .attr("msg")
            .and_then(|a| a.as_str())
            .unwrap_or("assertion failed")
            .to_string();
        let loc = data.loc.clone();
        let file = loc.file.as_deref().unwrap_or("<unknown>").to_string();
        let id = op.0;
        let msg_p = self.c_string(&format!("tilefuse_assert_msg_{id}"), &msg)?;
        let file_p = self.c_string(&format!("tilefuse_assert_file_{id}"), &file)?;
        let func_p = self.c_string(&format!("tilefuse_assert_func_{id}"), &self.tf.name.clone())?;
        let line = self.ctx.i32_type().const_int(u64::from(loc.line), false);
        let pids = self.pids()?;
        let fail = |this: &mut Self,
                    fmt: PointerValue<'ctx>,
                    args: Vec<BasicValueEnum<'ctx>>|
         -> Result<(), NvptxError> {
            this.call_printf(fmt, &args)?;
            let f = this.assertfail();
            let call_args: [BasicMetadataValueEnum; 5] = [
                msg_p.into(),
                file_p.into(),
                line.into(),
                func_p.into(),
                this.ctx.i64_type().const_int(1, false).into(),
            ];
            this.b.build_call(f, &call_args, "").map_err(llvm)?;
            Ok(())
        };
        let where_ = escape(&format!("{loc}"));
        let emsg = escape(&msg);
        match self.get(data.operands[0]) {
            Lowered::Scalar(c) => {
                let text = format!("pid (%d, %d, %d): assertion failed: {emsg} ({where_})\n");
                let fmt = self.c_string(&format!("tilefuse_fmt_{id}"), &text)?;
                let first = self.is_thread0()?;
                let not = self.b.build_not(c.into_int_value(), "").map_err(llvm)?;
                let cond = self.b.build_and(first, not, "").map_err(llvm)?;
                self.when(cond, |this| fail(this, fmt, pids))
            }
            Lowered::Tile(regs, d) => {
                let idx = vec!["%d"; d.shape.len()].join(", ");
                let text = format!(
                    "pid (%d, %d, %d) idx ({idx}): assertion failed: {emsg} at lane %d ({where_})\n"
                );
                let fmt = self.c_string(&format!("tilefuse_fmt_{id}"), &text)?;
                let w = row_major(&d.shape);
                for (r, &c) in regs.iter().enumerate() {
                    if d.is_dup_reg(r) {
                        continue;
                    }
                    let cond = self.failing(&d, c)?;
                    let coords = self.coords(&d, r)?;
                    let lane = self.offset(&coords, &w, 0)?;
                    let mut args = pids.clone();
                    args.extend(coords.into_iter().map(BasicValueEnum::from));
                    args.push(lane.into());
                    self.when(cond, |this| fail(this, fmt, args))?;
                }
                Ok(())
            }
        }
    }

    /// Whether an owner's condition `c` is false.
    fn failing(
        &mut self,
        d: &TileLayout<'ctx>,
        c: BasicValueEnum<'ctx>,
    ) -> Result<inkwell::values::IntValue<'ctx>, NvptxError> {
        let not = self.b.build_not(c.into_int_value(), "").map_err(llvm)?;
        self.b.build_and(d.owner, not, "").map_err(llvm)
    }
}
