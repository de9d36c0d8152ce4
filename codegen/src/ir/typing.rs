//! The typing rules of the tile dialect as plain functions, shared by the
//! verifier (which checks the types an op records) and the frontend (which
//! computes the types of the ops it builds).
//!
//! Every rule takes types and attribute values and returns the result type
//! (or `Ok(())` for pure checks) or a message saying what is wrong, without
//! the op name: callers prefix it (`tile.reduce: axis 2 is out of range ...`).
//!
//! Symbolic dimensions (`Dim::Sym`) follow two rules:
//!
//! - Where the op catalogue says types or dims must *match*, they must be
//!   syntactically equal: `{BLOCK}` equals `{BLOCK}` but not `64`, even if
//!   `BLOCK` is later bound to 64. The frontend always produces such types,
//!   and specialization substitutes every symbol at once, so the property is
//!   kept by every pass.
//! - Where a rule relates dims (a broadcast only expands size-1 dims; a
//!   reshape keeps the element count), a case that depends on the value of a
//!   symbol is accepted, and only what is provably wrong is rejected
//!   (dims are positive powers of two, which the symbolic reasoning uses).
//!   The verifier runs again after specialization, when every dim is known.

use std::fmt;

use super::module::ConstParam;
use super::types::{Dim, ElemType, ScalarType, Type};

/// True when `n` is a positive power of two (a legal constant tile dim).
pub fn is_power_of_two(n: u64) -> bool {
    n != 0 && n & (n - 1) == 0
}

/// Prints a shape as in the textual IR (`16x{BLOCK}`; `scalar` when empty).
pub fn shape_str(shape: &[Dim]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Checks one tile or descriptor dimension: a constant must be a power of
/// two, a symbol must name an integer constexpr parameter in `consts`.
pub fn check_dim(d: &Dim, consts: &[ConstParam]) -> Result<(), String> {
    match d {
        Dim::Const(n) => {
            if is_power_of_two(*n) {
                Ok(())
            } else {
                Err(format!("tile dimension {n} is not a power of two"))
            }
        }
        Dim::Sym(name) => match consts.iter().find(|c| &c.name == name) {
            Some(c) if c.ty.is_bool() => Err(format!(
                "symbolic dimension {{{name}}} names the bool constexpr parameter `{name}`, \
                 a dimension needs an integer one"
            )),
            Some(_) => Ok(()),
            None => {
                let known: Vec<&str> = consts.iter().map(|c| c.name.as_str()).collect();
                Err(format!(
                    "symbolic dimension {{{name}}} does not name a constexpr parameter of the \
                     function ({})",
                    if known.is_empty() {
                        "it has none".to_string()
                    } else {
                        format!("it has {}", known.join(", "))
                    }
                ))
            }
        },
    }
}

/// Checks that a type is well formed: tiles and descriptors have at least
/// one dimension and every dimension passes [`check_dim`].
pub fn check_type(ty: &Type, consts: &[ConstParam]) -> Result<(), String> {
    let dims = match ty {
        Type::Scalar(_) | Type::Ptr(..) => return Ok(()),
        Type::Tile(dims, _) => dims,
        Type::Desc(_, dims) => dims,
    };
    if dims.is_empty() {
        return Err(format!("{ty} has no dimensions (use a scalar type)"));
    }
    dims.iter()
        .try_for_each(|d| check_dim(d, consts).map_err(|e| format!("{ty}: {e}")))
}

/// True when two dims are both constant and different. A symbol may be
/// bound to any power of two, so nothing else is provably different.
pub fn dims_provably_differ(a: &Dim, b: &Dim) -> bool {
    matches!((a, b), (Dim::Const(x), Dim::Const(y)) if x != y)
}

/// Where two shapes fail to broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastMismatch {
    /// The dimension index in the result.
    pub axis: usize,
    /// The extent of the first shape there.
    pub a: Dim,
    /// The extent of the second shape there.
    pub b: Dim,
}

/// The shape two operands broadcast to, numpy style: shapes are aligned at
/// the right, and each pair of dims must be equal or one of them 1 (the
/// missing leading dims of the shorter shape count as 1). Symbols must be
/// equal by name. This is the frontend's rule for implicit broadcasting;
/// the `tile.broadcast` op itself keeps the rank ([`check_broadcast`]).
pub fn broadcast_shapes(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, BroadcastMismatch> {
    let n = a.len().max(b.len());
    let one = Dim::Const(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let da = if i + a.len() >= n {
            &a[i + a.len() - n]
        } else {
            &one
        };
        let db = if i + b.len() >= n {
            &b[i + b.len() - n]
        } else {
            &one
        };
        let d = if da == db || *db == one {
            da
        } else if *da == one {
            db
        } else {
            return Err(BroadcastMismatch {
                axis: i,
                a: da.clone(),
                b: db.clone(),
            });
        };
        out.push(d.clone());
    }
    Ok(out)
}

/// The rule of `tile.broadcast`: same rank, and each dim of `from` is 1 or
/// equal to the dim of `to` (accepted when it depends on a symbol's value).
pub fn check_broadcast(from: &[Dim], to: &[Dim]) -> Result<(), String> {
    if from.len() != to.len() {
        return Err(format!(
            "the result must have the rank of the operand ({}), found rank {} \
             (use expand_dims to add dimensions)",
            from.len(),
            to.len()
        ));
    }
    for (i, (f, t)) in from.iter().zip(to).enumerate() {
        if *f != Dim::Const(1) && dims_provably_differ(f, t) {
            return Err(format!(
                "dimension {i} of size {f} cannot be broadcast to {t} \
                 (only size-1 dimensions expand): {} to {}",
                shape_str(from),
                shape_str(to)
            ));
        }
    }
    Ok(())
}

/// The shape of `tile.expand_dims`: a size-1 dim inserted before position
/// `axis` (0..=rank).
pub fn expand_dims_shape(shape: &[Dim], axis: i64) -> Result<Vec<Dim>, String> {
    if axis < 0 || axis as u64 > shape.len() as u64 {
        return Err(format!(
            "axis {axis} is out of range for a {}-d tile (expected 0..={})",
            shape.len(),
            shape.len()
        ));
    }
    let mut out = shape.to_vec();
    out.insert(axis as usize, Dim::Const(1));
    Ok(out)
}

/// Splits a shape into the product of its constant dims and its symbols.
fn factor(shape: &[Dim]) -> (u128, Vec<&str>) {
    let mut prod: u128 = 1;
    let mut syms = Vec::new();
    for d in shape {
        match d {
            Dim::Const(n) => prod = prod.saturating_mul(u128::from(*n)),
            Dim::Sym(s) => syms.push(s.as_str()),
        }
    }
    syms.sort_unstable();
    (prod, syms)
}

/// The rule of `tile.reshape`: the element count is kept. With symbolic
/// dims, the symbols both shapes have in common cancel. If none remain, the
/// constant products must be equal; if only one side keeps symbols (each
/// at least 1), the other side's product must be a multiple of its constant
/// product; if both keep symbols, the count depends on their values and is
/// accepted.
pub fn check_reshape(from: &[Dim], to: &[Dim]) -> Result<(), String> {
    let (pf, sf) = factor(from);
    let (pt, st) = factor(to);
    // Cancel the common symbols (both lists are sorted).
    let (mut i, mut j) = (0, 0);
    let (mut left_f, mut left_t) = (0usize, 0usize);
    while i < sf.len() && j < st.len() {
        match sf[i].cmp(st[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                left_f += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                left_t += 1;
                j += 1;
            }
        }
    }
    left_f += sf.len() - i;
    left_t += st.len() - j;
    let possible = match (left_f, left_t) {
        (0, 0) => pf == pt,
        (_, 0) => pf != 0 && pt % pf == 0,
        (0, _) => pt != 0 && pf % pt == 0,
        _ => true,
    };
    if !possible {
        return Err(format!(
            "a reshape keeps the element count: {} has {} elements, {} has {}",
            shape_str(from),
            count_str(from),
            shape_str(to),
            count_str(to)
        ));
    }
    Ok(())
}

/// The element count of a shape as text: `32`, or `8*{A}` with symbols.
fn count_str(shape: &[Dim]) -> String {
    let (p, syms) = factor(shape);
    let mut parts = vec![p.to_string()];
    parts.extend(syms.iter().map(|s| format!("{{{s}}}")));
    parts.join("*")
}

/// The shape of `tile.trans`: `result[i] = shape[perm[i]]`; `perm` must be
/// a permutation of `0..rank`.
pub fn trans_shape(shape: &[Dim], perm: &[i64]) -> Result<Vec<Dim>, String> {
    let n = shape.len();
    let mut seen = vec![false; n];
    let ok = perm.len() == n
        && perm.iter().all(|&p| {
            let fine = p >= 0 && (p as u64) < n as u64 && !seen[p as usize];
            if fine {
                seen[p as usize] = true;
            }
            fine
        });
    if !ok {
        return Err(format!(
            "perm {perm:?} is not a permutation of 0..{n} for a {n}-d tile"
        ));
    }
    Ok(perm.iter().map(|&p| shape[p as usize].clone()).collect())
}

/// A type of the given shape (a scalar or single pointer when empty).
pub fn type_with_shape(shape: Vec<Dim>, elem: ElemType) -> Type {
    if shape.is_empty() {
        match elem {
            ElemType::Scalar(s) => Type::Scalar(s),
            ElemType::Ptr(s, a) => Type::Ptr(s, a),
        }
    } else {
        Type::Tile(shape, elem)
    }
}

/// The type of `tile.join`: `a` and `b` of one type (scalar, pointer or
/// tile), result with a new last dim of 2.
pub fn join_type(a: &Type, b: &Type) -> Result<Type, String> {
    if a != b {
        return Err(format!(
            "operands must have the same type, found {a} and {b}"
        ));
    }
    let elem = a
        .elem()
        .ok_or_else(|| format!("cannot join descriptors ({a})"))?;
    let mut shape = a.shape().to_vec();
    shape.push(Dim::Const(2));
    Ok(Type::Tile(shape, elem))
}

/// The type of each of the two results of `tile.split`: the operand
/// without its last dim, which must be 2.
pub fn split_type(t: &Type) -> Result<Type, String> {
    let Type::Tile(shape, elem) = t else {
        return Err(format!("the operand must be a tile, found {t}"));
    };
    if shape.last() != Some(&Dim::Const(2)) {
        return Err(format!("the operand's last dimension must be 2, found {t}"));
    }
    Ok(type_with_shape(
        shape[..shape.len() - 1].to_vec(),
        elem.clone(),
    ))
}

/// The value type a pointer (or tile of pointers) loads: its pointee, with
/// the pointer's shape.
pub fn load_result_type(ptr: &Type) -> Result<Type, String> {
    match (ptr, ptr.pointee()) {
        (Type::Ptr(..) | Type::Tile(..), Some((s, _))) => Ok(ptr.with_elem(ElemType::Scalar(s))),
        _ => Err(format!(
            "expected a pointer or a tile of pointers, found {ptr}"
        )),
    }
}

/// The type a mask for accesses through `ptr` must have: i1 with the
/// pointer's shape.
pub fn mask_type(ptr: &Type) -> Type {
    ptr.with_elem(ElemType::Scalar(ScalarType::I1))
}

/// The result type of `tile.cmp`: i1 with the operand's shape.
pub fn cmp_result_type(a: &Type) -> Type {
    a.with_elem(ElemType::Scalar(ScalarType::I1))
}

/// Checks `axis` against the rank of `ty` and returns it as an index.
pub fn check_axis(ty: &Type, axis: i64) -> Result<usize, String> {
    let rank = ty.shape().len();
    if !ty.is_tile() {
        return Err(format!("the operand must be a tile, found {ty}"));
    }
    if axis < 0 || axis as u64 >= rank as u64 {
        return Err(format!(
            "axis {axis} is out of range for a {rank}-d tile {ty} (expected 0..{rank})"
        ));
    }
    Ok(axis as usize)
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// The attribute spelling.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            /// Parses the attribute spelling.
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)* _ => None }
            }

            /// The accepted spellings, for error messages (`sum, prod, ...`).
            pub fn names() -> String {
                [$($s),*].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// The `kind` of `tile.reduce` (and, without argmax/argmin, of `tile.scan`).
    ReduceKind {
        /// Sum.
        Sum = "sum",
        /// Product.
        Prod = "prod",
        /// Maximum (NaN-propagating).
        Max = "max",
        /// Minimum (NaN-propagating).
        Min = "min",
        /// First index of the maximum, as i32.
        Argmax = "argmax",
        /// First index of the minimum, as i32.
        Argmin = "argmin",
    }
}

impl ReduceKind {
    /// True for the kinds `tile.scan` accepts (sum, prod, max, min).
    pub fn is_scan_kind(self) -> bool {
        !matches!(self, ReduceKind::Argmax | ReduceKind::Argmin)
    }
}

named_enum! {
    /// The `pred` of `tile.cmp`.
    CmpPred {
        /// Equal.
        Eq = "eq",
        /// Not equal.
        Ne = "ne",
        /// Less than.
        Lt = "lt",
        /// Less or equal.
        Le = "le",
        /// Greater than.
        Gt = "gt",
        /// Greater or equal.
        Ge = "ge",
    }
}

named_enum! {
    /// The `kind` of `tile.atomic_rmw`.
    AtomicKind {
        /// Add the value.
        Add = "add",
        /// Keep the maximum.
        Max = "max",
        /// Keep the minimum.
        Min = "min",
        /// Exchange.
        Xchg = "xchg",
    }
}

/// The result type of `tile.reduce` along `axis`: the input without that
/// dim (a scalar for a 1-d input), i32 elements for argmax/argmin.
pub fn reduce_result_type(input: &Type, axis: i64, kind: ReduceKind) -> Result<Type, String> {
    let axis = check_axis(input, axis)?;
    let Some(s) = input.scalar_elem() else {
        return Err(format!(
            "the operand must be a tile of numbers, found {input}"
        ));
    };
    let elem = match kind {
        ReduceKind::Argmax | ReduceKind::Argmin => ScalarType::I32,
        _ => s,
    };
    let mut shape = input.shape().to_vec();
    shape.remove(axis);
    Ok(type_with_shape(shape, ElemType::Scalar(elem)))
}

/// The result types of `tile.sort` along `axis`: the sorted values (the
/// input type) and their original positions (i32, same shape).
pub fn sort_result_types(input: &Type, axis: i64) -> Result<[Type; 2], String> {
    check_axis(input, axis)?;
    if input.scalar_elem().is_none() {
        return Err(format!(
            "the operand must be a tile of numbers, found {input}"
        ));
    }
    Ok([
        input.clone(),
        input.with_elem(ElemType::Scalar(ScalarType::I32)),
    ])
}

/// The result types of `tile.topk`: the input with `axis` cut to `k`, and
/// the i32 positions of the same shape. `k` must be at least 1 and at most
/// the dim (when the dim is known).
pub fn topk_result_types(input: &Type, axis: i64, k: i64) -> Result<[Type; 2], String> {
    let ax = check_axis(input, axis)?;
    let Type::Tile(shape, elem) = input else {
        return Err(format!("the operand must be a tile, found {input}"));
    };
    if !matches!(elem, ElemType::Scalar(_)) {
        return Err(format!(
            "the operand must be a tile of numbers, found {input}"
        ));
    }
    if k < 1 {
        return Err(format!("k must be at least 1, found {k}"));
    }
    if let Dim::Const(n) = shape[ax]
        && k as u64 > n
    {
        return Err(format!(
            "k = {k} is larger than dimension {ax} of {input} ({n})"
        ));
    }
    let mut out = shape.clone();
    out[ax] = Dim::Const(k as u64);
    Ok([
        Type::Tile(out.clone(), elem.clone()),
        Type::Tile(out, ElemType::Scalar(ScalarType::I32)),
    ])
}

/// The accumulator element type `tile.dot` uses for inputs of type `a`:
/// f32 for f16/bf16/f32, f64 for f64, i32 for i8; None for other inputs.
pub fn dot_acc_elem(a: ScalarType) -> Option<ScalarType> {
    match a {
        ScalarType::F16 | ScalarType::BF16 | ScalarType::F32 => Some(ScalarType::F32),
        ScalarType::F64 => Some(ScalarType::F64),
        ScalarType::I8 => Some(ScalarType::I32),
        _ => None,
    }
}

/// The accumulator (and result) type of `tile.dot a, b`: `a` is `MxK`, `b`
/// is `KxN` with the same element type (one of f16, bf16, f32, f64, i8),
/// the result is `MxN` of [`dot_acc_elem`].
pub fn dot_result_type(a: &Type, b: &Type) -> Result<Type, String> {
    let (Type::Tile(sa, ea), Type::Tile(sb, eb)) = (a, b) else {
        return Err(format!(
            "operands a and b must be 2-d tiles, found {a} and {b}"
        ));
    };
    if sa.len() != 2 || sb.len() != 2 {
        return Err(format!(
            "operands a and b must be 2-d tiles (MxK and KxN), found {a} and {b}"
        ));
    }
    if ea != eb {
        return Err(format!(
            "operands a and b must have the same element type, found {a} and {b}"
        ));
    }
    let acc = match ea {
        ElemType::Scalar(s) => dot_acc_elem(*s),
        ElemType::Ptr(..) => None,
    }
    .ok_or_else(|| {
        format!("unsupported input element type {ea}: expected one of f16, bf16, f32, f64, i8")
    })?;
    if sa[1] != sb[0] {
        return Err(format!(
            "a is MxK = {} and b must be KxN with K = {}, found b = {}",
            shape_str(sa),
            sa[1],
            shape_str(sb)
        ));
    }
    Ok(Type::Tile(
        vec![sa[0].clone(), sb[1].clone()],
        ElemType::Scalar(acc),
    ))
}

/// Checks a `tile.cast` from `from` to `to`: numbers (or i1) on both sides,
/// same shape.
pub fn check_cast(from: &Type, to: &Type) -> Result<(), String> {
    if from.scalar_elem().is_none() || to.scalar_elem().is_none() {
        return Err(format!(
            "casts convert between number types, found {from} to {to}"
        ));
    }
    if from.is_tile() != to.is_tile() || from.shape() != to.shape() {
        return Err(format!("a cast keeps the shape, found {from} to {to}"));
    }
    Ok(())
}

/// Checks a `tile.bitcast` from `from` to `to`: numbers of the same bit
/// width on both sides, same shape.
pub fn check_bitcast(from: &Type, to: &Type) -> Result<(), String> {
    check_cast(from, to)?;
    let (a, b) = (
        from.scalar_elem().expect("checked by check_cast"),
        to.scalar_elem().expect("checked by check_cast"),
    );
    if a.bits() != b.bits() {
        return Err(format!(
            "a bitcast keeps the bit width, found {a} ({} bits) to {b} ({} bits)",
            a.bits(),
            b.bits()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    fn c(n: u64) -> Dim {
        Dim::Const(n)
    }
    fn s(n: &str) -> Dim {
        Dim::Sym(n.to_string())
    }
    fn f32t(shape: Vec<Dim>) -> Type {
        Type::Tile(shape, ElemType::Scalar(ScalarType::F32))
    }

    #[test]
    fn powers_of_two() {
        assert!(is_power_of_two(1) && is_power_of_two(64) && is_power_of_two(1 << 40));
        assert!(!is_power_of_two(0) && !is_power_of_two(100) && !is_power_of_two(3));
    }

    #[test]
    fn dims_and_types() {
        let consts = vec![
            ConstParam {
                name: "BLOCK".into(),
                ty: ScalarType::I64,
            },
            ConstParam {
                name: "CAUSAL".into(),
                ty: ScalarType::I1,
            },
        ];
        assert!(check_type(&f32t(vec![s("BLOCK"), c(16)]), &consts).is_ok());
        let e = check_type(&f32t(vec![c(100)]), &consts).unwrap_err();
        assert!(
            e.contains("tile dimension 100 is not a power of two"),
            "{e}"
        );
        let e = check_type(&f32t(vec![s("N")]), &consts).unwrap_err();
        assert!(
            e.contains("{N} does not name") && e.contains("BLOCK, CAUSAL"),
            "{e}"
        );
        let e = check_type(&f32t(vec![s("CAUSAL")]), &consts).unwrap_err();
        assert!(e.contains("bool constexpr"), "{e}");
        let e = check_type(&f32t(vec![]), &consts).unwrap_err();
        assert!(e.contains("no dimensions"), "{e}");
    }

    #[test]
    fn numpy_broadcast() {
        assert_eq!(
            broadcast_shapes(&[c(16), c(1)], &[c(32)]),
            Ok(vec![c(16), c(32)])
        );
        assert_eq!(
            broadcast_shapes(&[s("M"), c(1)], &[c(1), s("N")]),
            Ok(vec![s("M"), s("N")])
        );
        assert_eq!(broadcast_shapes(&[c(16)], &[c(32)]).ok(), None);
        assert_eq!(broadcast_shapes(&[s("M")], &[c(32)]).ok(), None);
        assert_eq!(broadcast_shapes(&[], &[c(8)]).ok(), Some(vec![c(8)]));
        assert!(check_broadcast(&[c(1), c(8)], &[c(4), c(8)]).is_ok());
        assert!(check_broadcast(&[s("A")], &[c(8)]).is_ok());
        assert!(check_broadcast(&[c(2)], &[c(8)]).is_err());
        assert!(check_broadcast(&[c(8)], &[c(1), c(8)]).is_err());
    }

    #[test]
    fn reshape_symbolic() {
        assert!(check_reshape(&[c(4), c(8)], &[c(32)]).is_ok());
        assert!(check_reshape(&[c(4), c(8)], &[c(16)]).is_err());
        assert!(check_reshape(&[s("A"), c(8)], &[c(2), s("A"), c(4)]).is_ok());
        assert!(check_reshape(&[s("A"), c(8)], &[s("A"), c(4)]).is_err());
        // Depends on the values of A and B: accepted.
        assert!(check_reshape(&[s("A"), c(8)], &[s("B"), c(4)]).is_ok());
        assert!(check_reshape(&[s("A"), s("B")], &[s("B"), s("A")]).is_ok());
        // {A}*8 is a multiple of 8: 4 elements cannot be reached, 64 can.
        assert!(check_reshape(&[s("A"), c(8)], &[c(4)]).is_err());
        assert!(check_reshape(&[s("A"), c(8)], &[c(64)]).is_ok());
        assert!(check_reshape(&[c(2)], &[s("A"), c(4)]).is_err());
    }

    #[test]
    fn reshape_random_constant_shapes() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..500 {
            let a: Vec<u64> = (0..rng.random_range(1..4))
                .map(|_| 1u64 << rng.random_range(0..5))
                .collect();
            let b: Vec<u64> = (0..rng.random_range(1..4))
                .map(|_| 1u64 << rng.random_range(0..5))
                .collect();
            let ok = a.iter().product::<u64>() == b.iter().product::<u64>();
            let da: Vec<Dim> = a.iter().map(|&n| c(n)).collect();
            let db: Vec<Dim> = b.iter().map(|&n| c(n)).collect();
            assert_eq!(check_reshape(&da, &db).is_ok(), ok, "{a:?} -> {b:?}");
        }
    }

    #[test]
    fn shape_rules() {
        assert_eq!(expand_dims_shape(&[c(8)], 1).unwrap(), vec![c(8), c(1)]);
        assert!(expand_dims_shape(&[c(8)], 2).is_err());
        assert_eq!(
            trans_shape(&[c(8), s("N"), c(2)], &[2, 0, 1]).unwrap(),
            vec![c(2), c(8), s("N")]
        );
        assert!(trans_shape(&[c(8), c(2)], &[0, 0]).is_err());
        assert!(trans_shape(&[c(8), c(2)], &[0]).is_err());
        let t = f32t(vec![c(8)]);
        assert_eq!(join_type(&t, &t).unwrap(), f32t(vec![c(8), c(2)]));
        assert_eq!(
            split_type(&f32t(vec![c(8), c(2)])).unwrap(),
            f32t(vec![c(8)])
        );
        assert_eq!(
            split_type(&f32t(vec![c(2)])).unwrap(),
            Type::Scalar(ScalarType::F32)
        );
        assert!(split_type(&f32t(vec![c(8)])).is_err());
    }

    #[test]
    fn reductions_and_dot() {
        let t = f32t(vec![c(16), c(32)]);
        assert_eq!(
            reduce_result_type(&t, 1, ReduceKind::Sum).unwrap(),
            f32t(vec![c(16)])
        );
        assert_eq!(
            reduce_result_type(&f32t(vec![c(16)]), 0, ReduceKind::Argmax).unwrap(),
            Type::Scalar(ScalarType::I32)
        );
        assert!(reduce_result_type(&t, 2, ReduceKind::Max).is_err());
        let [v, i] = topk_result_types(&t, 1, 4).unwrap();
        assert_eq!(v, f32t(vec![c(16), c(4)]));
        assert_eq!(
            i,
            Type::Tile(vec![c(16), c(4)], ElemType::Scalar(ScalarType::I32))
        );
        assert!(topk_result_types(&t, 1, 64).is_err());
        let a = Type::Tile(vec![c(16), c(64)], ElemType::Scalar(ScalarType::F16));
        let b = Type::Tile(vec![c(64), c(32)], ElemType::Scalar(ScalarType::F16));
        assert_eq!(dot_result_type(&a, &b).unwrap(), f32t(vec![c(16), c(32)]));
        assert!(dot_result_type(&a, &a).is_err());
        let i8a = Type::Tile(vec![c(16), c(16)], ElemType::Scalar(ScalarType::I8));
        assert_eq!(
            dot_result_type(&i8a, &i8a).unwrap().scalar_elem(),
            Some(ScalarType::I32)
        );
        for k in ReduceKind::ALL {
            assert_eq!(ReduceKind::from_name(k.name()), Some(*k));
        }
        assert_eq!(CmpPred::from_name("lt"), Some(CmpPred::Lt));
        assert_eq!(AtomicKind::names(), "add, max, min, xchg");
    }
}
