//! The dispatch of every op without regions to its implementation
//! (elementwise, shape, memory, axis, dot, debug ops), after checking its
//! operand count; the results are checked against the declared types by
//! the caller.

use crate::ir::{OpData, OpKind, ScalarType};

use super::{Env, Frame, Interp, OpView, arity};
use crate::interp::error::{ErrorKind, Fail, at_lane};
use crate::interp::value::{Data, Tile, Value, format_value};
use crate::interp::{dot, elementwise as ew, memops, reduce, shape};

impl Interp<'_> {
    /// Evaluates an op without regions; returns its results.
    pub(super) fn eval(
        &mut self,
        frame: &Frame,
        env: &Env,
        op: &OpData,
    ) -> Result<Vec<Value>, Fail> {
        let args = op
            .operands
            .iter()
            .map(|&v| Self::lookup(frame, env, v).map(|r| &**r))
            .collect::<Result<Vec<&Value>, _>>()?;
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
            // A layout says how a GPU distributes the tile; the values are the same.
            OpKind::ConvertLayout => {
                arity(op, &args, 1, 1)?;
                one(tile(0, "operand")?.clone())
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
            // A GPU barrier orders threads of a CTA; the interpreter runs one
            // program instance at a time.
            OpKind::Barrier => {
                arity(op, &args, 0, 0)?;
                Ok(vec![])
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
