//! Memory ops: pointer arithmetic, masked loads and stores, tensor
//! descriptors and atomics.
//!
//! A pointer is (buffer, byte offset); `addptr` adds `offset * sizeof(pointee)`
//! with overflow checked, and may point anywhere. Every unmasked lane of an
//! access is checked by [`Memory`] (bounds and alignment), lanes are
//! processed in row-major order, and masked-off lanes touch no memory.
//! Masks, `other` values and stored values may be scalars used for every
//! lane, or tiles of the pointer tile's shape.

use crate::ir::{ElemType, ScalarType};

use super::elementwise::{fmax, fmin, int_binary_one};
use super::error::{ErrorKind, Fail};
use super::exec::OpView;
use super::memory::Memory;
use super::value::{Data, Desc, Elt, PtrVal, RType, Tile, Value, round_float, to_bits};

/// The index of lane `i` in an operand that is a scalar or a full tile.
fn li(t: &Tile, i: usize) -> usize {
    if t.rank() == 0 { 0 } else { i }
}

/// Checks that `t` is a scalar or has `shape`.
fn fits_shape(t: &Tile, shape: &[usize], what: &str) -> Result<(), Fail> {
    if t.rank() != 0 && t.shape != shape {
        return Err(Fail::ir(format!(
            "the {what} {} does not match the pointer shape {shape:?}",
            t.type_string()
        )));
    }
    Ok(())
}

/// The pointee and the pointers of a pointer operand.
fn pointers(p: &Tile) -> Result<(ScalarType, &[PtrVal]), Fail> {
    match (&p.elem, &p.data) {
        (ElemType::Ptr(t, _), Data::Ptr(v)) => Ok((*t, v)),
        _ => Err(Fail::ir(format!(
            "the pointer operand must be a pointer or a tile of pointers, got {}",
            p.type_string()
        ))),
    }
}

/// The mask bits of an optional mask operand.
fn mask_bits<'t>(mask: Option<&'t Tile>, shape: &[usize]) -> Result<Option<&'t Tile>, Fail> {
    if let Some(m) = mask {
        if !matches!(m.data, Data::Bool(_)) {
            return Err(Fail::ir(format!(
                "the mask must be i1, got {}",
                m.type_string()
            )));
        }
        fits_shape(m, shape, "mask")?;
    }
    Ok(mask)
}

/// True when lane `i` is enabled.
fn enabled(mask: Option<&Tile>, i: usize) -> bool {
    match mask {
        Some(Tile {
            data: Data::Bool(b),
            shape,
            ..
        }) => b[if shape.is_empty() { 0 } else { i }],
        _ => true,
    }
}

/// Checks that a value operand holds `pointee` elements and fits the shape.
fn check_value(v: &Tile, pointee: ScalarType, shape: &[usize], what: &str) -> Result<(), Fail> {
    if v.elem != ElemType::Scalar(pointee) {
        return Err(Fail::ir(format!(
            "the {what} {} does not hold the pointee type {pointee}",
            v.type_string()
        )));
    }
    fits_shape(v, shape, what)
}

/// The zero element of a scalar type.
fn zero(t: ScalarType) -> Elt {
    if t.is_bool() {
        Elt::Bool(false)
    } else if t.is_float() {
        Elt::Float(0.0)
    } else {
        Elt::Int(0)
    }
}

/// `tile.addptr ptr, offset`: offsets in elements of the pointee; either
/// operand may be a scalar applied to every lane of the other.
pub(crate) fn addptr(p: &Tile, off: &Tile) -> Result<Tile, Fail> {
    let (pt, pv) = pointers(p)?;
    let Data::Int(ov) = &off.data else {
        return Err(Fail::ir(format!(
            "the offset must be an integer (i8..i64), got {}",
            off.type_string()
        )));
    };
    let shape = if p.shape == off.shape || off.rank() == 0 {
        p.shape.clone()
    } else if p.rank() == 0 {
        off.shape.clone()
    } else {
        return Err(Fail::ir(format!(
            "the pointer {} and the offset {} have different shapes",
            p.type_string(),
            off.type_string()
        )));
    };
    let n: usize = shape.iter().product();
    let size = pt.bytes() as i64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let q = pv[li(p, i)];
        let o = ov[li(off, i)];
        let offset = o
            .checked_mul(size)
            .and_then(|b| q.offset.checked_add(b))
            .ok_or_else(|| {
                Fail::new(
                    ErrorKind::IntegerOverflow,
                    format!(
                        "pointer offset overflow at lane {i}: byte offset {} + {o} * {size} does not fit in i64",
                        q.offset
                    ),
                )
            })?;
        out.push(PtrVal {
            buffer: q.buffer,
            offset,
        });
    }
    Tile::new(p.elem.clone(), shape, Data::Ptr(out))
}

/// `tile.load ptr [, mask [, other]]`.
pub(crate) fn load(
    mem: &Memory,
    p: &Tile,
    mask: Option<&Tile>,
    other: Option<&Tile>,
) -> Result<Tile, Fail> {
    let (pt, pv) = pointers(p)?;
    let mask = mask_bits(mask, &p.shape)?;
    if let Some(o) = other {
        check_value(o, pt, &p.shape, "other value")?;
    }
    let elem = ElemType::Scalar(pt);
    let mut data = Data::with_capacity(&elem, pv.len());
    for (i, &q) in pv.iter().enumerate() {
        let e = if enabled(mask, i) {
            mem.read(q, pt, i)?
        } else {
            match other {
                Some(o) => o.data.get(li(o, i)),
                None => zero(pt),
            }
        };
        data.push(e)?;
    }
    Tile::new(elem, p.shape.clone(), data)
}

/// `tile.store ptr, value [, mask]`.
pub(crate) fn store(mem: &mut Memory, p: &Tile, v: &Tile, mask: Option<&Tile>) -> Result<(), Fail> {
    let (pt, pv) = pointers(p)?;
    let mask = mask_bits(mask, &p.shape)?;
    check_value(v, pt, &p.shape, "stored value")?;
    for (i, &q) in pv.iter().enumerate() {
        if enabled(mask, i) {
            mem.write(q, pt, v.data.get(li(v, i)), i)?;
        }
    }
    Ok(())
}

/// `tile.make_desc base, shape..., strides...` (rank from the result type).
pub(crate) fn make_desc(view: &OpView, args: &[&Value]) -> Result<Desc, Fail> {
    let RType::Desc { elem, block } = view.result(0)? else {
        return Err(Fail::ir(format!(
            "the result must be a descriptor, got {}",
            view.result(0)?
        )));
    };
    let rank = block.len();
    if args.len() != 1 + 2 * rank {
        return Err(Fail::ir(format!(
            "a rank-{rank} descriptor takes the base, {rank} shapes and {rank} strides: {} operands expected, got {}",
            1 + 2 * rank,
            args.len()
        )));
    }
    let base = args[0].tile("base")?;
    let (pt, pv) = pointers(base)?;
    if base.rank() != 0 || pt != *elem {
        return Err(Fail::ir(format!(
            "the base must be a scalar pointer to {elem}, got {}",
            base.type_string()
        )));
    }
    let ints = |range: std::ops::Range<usize>, what: &str| -> Result<Vec<i64>, Fail> {
        args[range]
            .iter()
            .map(|a| a.tile(what)?.as_int_scalar(what))
            .collect()
    };
    let shape = ints(1..1 + rank, "shape")?;
    if let Some(s) = shape.iter().find(|&&s| s < 0) {
        return Err(Fail::ir(format!(
            "the shape {shape:?} has a negative extent {s}"
        )));
    }
    let strides = ints(1 + rank..1 + 2 * rank, "stride")?;
    Ok(Desc {
        elem: *elem,
        base: pv[0],
        shape,
        strides,
        block: block.clone(),
    })
}

/// For each element of the block at `offsets`, its pointer, or None when it
/// lies outside the descriptor's shape.
fn desc_lanes(desc: &Desc, args: &[&Value]) -> Result<Vec<Option<PtrVal>>, Fail> {
    let rank = desc.block.len();
    let offsets = args[1..1 + rank]
        .iter()
        .map(|a| a.tile("offset")?.as_int_scalar("offset"))
        .collect::<Result<Vec<_>, _>>()?;
    let n: usize = desc.block.iter().product();
    let size = desc.elem.bytes() as i128;
    let mut idx = vec![0usize; rank];
    let mut out = Vec::with_capacity(n);
    for lane in 0..n {
        let mut inside = true;
        let mut elems: i128 = 0;
        for d in 0..rank {
            let c = i128::from(offsets[d]) + idx[d] as i128;
            if c < 0 || c >= i128::from(desc.shape[d]) {
                inside = false;
                break;
            }
            elems += c * i128::from(desc.strides[d]);
        }
        if inside {
            let byte = i128::from(desc.base.offset) + elems * size;
            let offset = i64::try_from(byte).map_err(|_| {
                Fail::new(
                    ErrorKind::IntegerOverflow,
                    format!("pointer offset overflow at lane {lane}: byte offset {byte}"),
                )
            })?;
            out.push(Some(PtrVal {
                buffer: desc.base.buffer,
                offset,
            }));
        } else {
            out.push(None);
        }
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < desc.block[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

/// `tile.desc_load desc, offsets...`: the block at the element offsets;
/// parts outside the shape read 0.
pub(crate) fn desc_load(mem: &Memory, args: &[&Value]) -> Result<Tile, Fail> {
    let desc = args
        .first()
        .ok_or_else(|| Fail::ir("tile.desc_load takes a descriptor and offsets"))?
        .desc("the first operand")?;
    if args.len() != 1 + desc.block.len() {
        return Err(Fail::ir(format!(
            "a rank-{} descriptor takes {} offsets, got {}",
            desc.block.len(),
            desc.block.len(),
            args.len() - 1
        )));
    }
    let elem = ElemType::Scalar(desc.elem);
    let lanes = desc_lanes(desc, args)?;
    let mut data = Data::with_capacity(&elem, lanes.len());
    for (i, l) in lanes.into_iter().enumerate() {
        data.push(match l {
            Some(p) => mem.read(p, desc.elem, i)?,
            None => zero(desc.elem),
        })?;
    }
    Tile::new(elem, desc.block.clone(), data)
}

/// `tile.desc_store desc, offsets..., value`: writes the parts of the block
/// inside the shape.
pub(crate) fn desc_store(mem: &mut Memory, args: &[&Value]) -> Result<(), Fail> {
    let desc = args
        .first()
        .ok_or_else(|| Fail::ir("tile.desc_store takes a descriptor, offsets and a value"))?
        .desc("the first operand")?;
    let rank = desc.block.len();
    if args.len() != 2 + rank {
        return Err(Fail::ir(format!(
            "a rank-{rank} descriptor takes {rank} offsets and a value: {} operands expected, got {}",
            2 + rank,
            args.len()
        )));
    }
    let v = args[1 + rank].tile("value")?;
    if v.elem != ElemType::Scalar(desc.elem) || v.shape != desc.block {
        return Err(Fail::ir(format!(
            "the value {} does not match the descriptor block {:?} of {}",
            v.type_string(),
            desc.block,
            desc.elem
        )));
    }
    let lanes = desc_lanes(desc, args)?;
    for (i, l) in lanes.into_iter().enumerate() {
        if let Some(p) = l {
            mem.write(p, desc.elem, v.data.get(i), i)?;
        }
    }
    Ok(())
}

/// The new value an atomic read-modify-write stores.
fn combine(kind: &str, t: ScalarType, old: Elt, val: Elt, lane: usize) -> Result<Elt, Fail> {
    let undefined = || Fail::ir(format!("atomic `{kind}` is not defined on {t}"));
    Ok(match (kind, old, val) {
        ("xchg", _, v) => v,
        ("add", Elt::Float(a), Elt::Float(b)) => Elt::Float(round_float(a + b, t)),
        ("max", Elt::Float(a), Elt::Float(b)) => Elt::Float(fmax(a, b)),
        ("min", Elt::Float(a), Elt::Float(b)) => Elt::Float(fmin(a, b)),
        ("add", Elt::Int(a), Elt::Int(b)) => {
            Elt::Int(int_binary_one(crate::ir::BinaryOp::Add, t, a, b, 1, lane)?)
        }
        ("max", Elt::Int(a), Elt::Int(b)) => Elt::Int(a.max(b)),
        ("min", Elt::Int(a), Elt::Int(b)) => Elt::Int(a.min(b)),
        ("max", Elt::Bool(a), Elt::Bool(b)) => Elt::Bool(a | b),
        ("min", Elt::Bool(a), Elt::Bool(b)) => Elt::Bool(a & b),
        _ => return Err(undefined()),
    })
}

/// `tile.atomic_rmw {kind} ptr, value [, mask]`: sequential in lane order;
/// returns the old values (0 for masked-off lanes).
pub(crate) fn atomic_rmw(
    mem: &mut Memory,
    kind: &str,
    p: &Tile,
    v: &Tile,
    mask: Option<&Tile>,
) -> Result<Tile, Fail> {
    if !matches!(kind, "add" | "max" | "min" | "xchg") {
        return Err(Fail::ir(format!(
            "unknown atomic kind `{kind}` (add, max, min, xchg)"
        )));
    }
    let (pt, pv) = pointers(p)?;
    let mask = mask_bits(mask, &p.shape)?;
    check_value(v, pt, &p.shape, "value")?;
    let elem = ElemType::Scalar(pt);
    let mut data = Data::with_capacity(&elem, pv.len());
    for (i, &q) in pv.iter().enumerate() {
        if !enabled(mask, i) {
            data.push(zero(pt))?;
            continue;
        }
        let old = mem.read(q, pt, i)?;
        let new = combine(kind, pt, old, v.data.get(li(v, i)), i)?;
        mem.write(q, pt, new, i)?;
        data.push(old)?;
    }
    Tile::new(elem, p.shape.clone(), data)
}

/// `tile.atomic_cas ptr, compare, value`: where the stored bits equal
/// `compare`'s, writes `value`; returns the old values.
pub(crate) fn atomic_cas(mem: &mut Memory, p: &Tile, c: &Tile, v: &Tile) -> Result<Tile, Fail> {
    let (pt, pv) = pointers(p)?;
    check_value(c, pt, &p.shape, "compare value")?;
    check_value(v, pt, &p.shape, "new value")?;
    let elem = ElemType::Scalar(pt);
    let mut data = Data::with_capacity(&elem, pv.len());
    for (i, &q) in pv.iter().enumerate() {
        let old = mem.read(q, pt, i)?;
        if to_bits(pt, old)? == to_bits(pt, c.data.get(li(c, i)))? {
            mem.write(q, pt, v.data.get(li(v, i)), i)?;
        }
        data.push(old)?;
    }
    Tile::new(elem, p.shape.clone(), data)
}
