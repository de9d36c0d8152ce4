//! The op catalogue of the tile dialect: every op's name, its side effects,
//! how many regions it has and whether it ends a region.
//!
//! Ops are generic MLIR-style records (operands, results, attributes,
//! regions, location; see `module.rs`); `OpKind` says which op a record is.
//! Families that differ only in the arithmetic they do (`tile.add`,
//! `tile.exp`, ...) share a variant carrying a sub-kind, so passes and the
//! interpreter can treat them uniformly.
//!
//! Operand conventions (the verifier checks them):
//!
//! | op | operands | results | attributes |
//! |---|---|---|---|
//! | `tile.return` | values returned by the function | — | |
//! | `tile.call` | arguments | callee results | `callee` (str) |
//! | `tile.yield` | values carried out of a `for`/`if`/`while` body | — | |
//! | `tile.condition` | `cond: i1`, forwarded values | — | |
//! | `tile.for` | `lb, ub, step` (same int type), inits | carried values | region `(iv, carried...)` |
//! | `tile.if` | `cond: i1` | values yielded | regions then, else |
//! | `tile.while` | inits | carried values | regions before `(carried)` → condition, after `(forwarded)` → yield |
//! | `tile.constant` | — | scalar or tile (splat) | `value` |
//! | `tile.constexpr` | — | scalar | `name`: a constexpr parameter |
//! | `tile.program_id`, `tile.num_programs` | — | i32 | `axis` 0..3 |
//! | `tile.arange` | — | `tile<N x i32>` | `start` |
//! | `tile.splat` | scalar | tile | |
//! | `tile.broadcast` | tile | tile (size-1 dims expanded) | |
//! | `tile.expand_dims` | tile | tile with a new size-1 dim | `axis` |
//! | `tile.reshape` | tile | tile with the same element count | |
//! | `tile.trans` | tile | permuted tile | `perm` |
//! | `tile.join` | a, b | new last dim of 2 | |
//! | `tile.split` | tile with last dim 2 | two tiles | |
//! | `tile.convert_layout` | tile | the same tile in another GPU layout | `layout` (str, see `gpu::encoding`) |
//! | `tile.addptr` | ptr, int offset (elements) | ptr | |
//! | `tile.load` | ptr [, mask [, other]] | value | |
//! | `tile.store` | ptr, value [, mask] | — | |
//! | `tile.make_desc` | base ptr, rank shapes, rank strides (i64) | desc | |
//! | `tile.desc_load` | desc, rank offsets (i32) | tile | |
//! | `tile.desc_store` | desc, rank offsets, value | — | |
//! | `tile.atomic_rmw` | ptr, value [, mask] | old value | `kind`: add, max, min, xchg |
//! | `tile.atomic_cas` | ptr, compare, value | old value | |
//! | binary (`tile.add` ...) | a, b of one type | that type | |
//! | unary (`tile.exp` ...) | a | same type | |
//! | `tile.cmp` | a, b of one type | i1 of that shape | `pred`: eq, ne, lt, le, gt, ge |
//! | `tile.select` | cond (i1), a, b | type of a | |
//! | `tile.fma` | a, b, c | type of a | |
//! | `tile.cast`, `tile.bitcast` | a | same shape, another element | |
//! | `tile.dot` | a `MxK`, b `KxN`, acc `MxN` | `MxN` | `precision` (optional) |
//! | `tile.reduce` | tile | tile without `axis` (scalar for 1-d) | `kind`: sum, prod, max, min, argmax, argmin; `axis` |
//! | `tile.scan` | tile | same type | `kind`: sum, prod, max, min; `axis`; `reverse` |
//! | `tile.sort` | tile | values, i32 indices | `axis`, `descending` |
//! | `tile.topk` | tile | values, i32 indices (`axis` cut to `k`) | `axis`, `k`, `largest` |
//! | `tile.print` | values | — | `prefix` |
//! | `tile.assert` | i1 scalar or tile | — | `msg` |
//! | `tile.static_assert` | i1 scalar known at specialization | — | `msg` |
//! | `tile.barrier` | — | — | |
//!
//! Semantics (the CPU interpreter is the reference; the GPU must agree):
//!
//! - Types must match exactly: binary ops, `select` and `cmp` take operands
//!   of one type; the frontend inserts `splat`, `broadcast` and `cast`.
//! - Floats: every op computes in f64 and rounds to the result's type (f16
//!   and bf16 round to nearest even through `half`). Integers are signed;
//!   overflow of the result's width, division by zero and shifts by the
//!   width or more are errors naming the op and its location.
//! - `cast`: float→int truncates toward zero and saturates, NaN gives 0;
//!   int→float rounds to nearest; anything→i1 is `!= 0`; i1→number is 0 or 1.
//! - `addptr` offsets are in elements of the pointee; a pointer may point
//!   anywhere, only an unmasked access out of its buffer is an error.
//! - `load`: masked-off lanes read `other` (0 when absent) and touch no memory.
//!   `store`, `atomic_rmw`: masked-off lanes write nothing (an atomic's
//!   masked lane returns 0). Lanes are processed in row-major order.
//! - `dot`: `acc + sum_k a[m,k] * b[k,n]` with the products summed in f64 and
//!   rounded once to the accumulator type (f32, or i32 for i8 inputs).
//! - `reduce` of a 1-d tile gives a scalar. max/min propagate NaN; argmax and
//!   argmin give the first index of the extreme value as i32.
//! - `scan` is inclusive; `reverse` scans from the last element.
//! - `sort` is stable; `topk` gives the k largest (or smallest when
//!   `largest = false`) in order, ties to the lower index; both return the
//!   original positions along `axis` as i32.
//! - `make_desc(base, shape.., strides..)`: shapes and strides in elements
//!   (i64); `desc_load` reads the block at element offsets (i32), parts out
//!   of `shape` read 0; `desc_store` writes only the parts inside `shape`.
//! - `constexpr` must be gone after specialization (the interpreter rejects
//!   it); a `static_assert` folds in `specialize` or `canonicalize` once its
//!   condition is constant, and one left over is checked when it runs.
//! - `barrier` (GPU dialect, placed by `gpu::barriers`, not written in the
//!   DSL): every thread of the CTA waits until all have reached it, and
//!   their shared-memory accesses before it are done for all threads after
//!   it. It does nothing on the interpreter.

use std::fmt;

/// Elementwise binary arithmetic, bitwise and min/max ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a * b
    Mul,
    /// a / b (integer division truncates toward zero)
    Div,
    /// remainder with the sign of a
    Rem,
    /// max(a, b) (NaN-propagating for floats)
    Max,
    /// min(a, b) (NaN-propagating for floats)
    Min,
    /// a ** b (floats)
    Pow,
    /// bitwise and (logical on i1)
    And,
    /// bitwise or
    Or,
    /// bitwise xor
    Xor,
    /// shift left
    Shl,
    /// arithmetic shift right
    Shr,
}

impl BinaryOp {
    /// Every binary op.
    pub const ALL: [BinaryOp; 13] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Pow,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Xor,
        BinaryOp::Shl,
        BinaryOp::Shr,
    ];

    /// The suffix of the op name (`add` for `tile.add`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Rem => "rem",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::Pow => "pow",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
            BinaryOp::Shl => "shl",
            BinaryOp::Shr => "shr",
        }
    }

    /// True for ops defined only on integers (and booleans).
    pub fn int_only(self) -> bool {
        matches!(
            self,
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Shl | BinaryOp::Shr
        )
    }

    /// True for ops defined only on floats.
    pub fn float_only(self) -> bool {
        self == BinaryOp::Pow
    }

    /// True when `a op b == b op a`.
    pub fn is_commutative(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Mul
                | BinaryOp::Max
                | BinaryOp::Min
                | BinaryOp::And
                | BinaryOp::Or
                | BinaryOp::Xor
        )
    }
}

/// Elementwise unary ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// -a
    Neg,
    /// bitwise not (logical on i1)
    Not,
    /// e^a
    Exp,
    /// 2^a
    Exp2,
    /// ln a
    Log,
    /// log2 a
    Log2,
    /// square root
    Sqrt,
    /// 1 / sqrt(a)
    Rsqrt,
    /// hyperbolic tangent
    Tanh,
    /// 1 / (1 + e^-a)
    Sigmoid,
    /// |a|
    Abs,
    /// floor
    Floor,
    /// ceil
    Ceil,
    /// sine
    Sin,
    /// cosine
    Cos,
}

impl UnaryOp {
    /// Every unary op.
    pub const ALL: [UnaryOp; 15] = [
        UnaryOp::Neg,
        UnaryOp::Not,
        UnaryOp::Exp,
        UnaryOp::Exp2,
        UnaryOp::Log,
        UnaryOp::Log2,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Abs,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Sin,
        UnaryOp::Cos,
    ];

    /// The suffix of the op name.
    pub fn mnemonic(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Not => "not",
            UnaryOp::Exp => "exp",
            UnaryOp::Exp2 => "exp2",
            UnaryOp::Log => "log",
            UnaryOp::Log2 => "log2",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Abs => "abs",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
        }
    }

    /// True for ops defined only on floats.
    pub fn float_only(self) -> bool {
        !matches!(self, UnaryOp::Neg | UnaryOp::Not | UnaryOp::Abs)
    }

    /// True for ops defined only on integers.
    pub fn int_only(self) -> bool {
        self == UnaryOp::Not
    }
}

/// Which op an op record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `tile.return`
    Return,
    /// `tile.call`
    Call,
    /// `tile.yield`
    Yield,
    /// `tile.condition`
    Condition,
    /// `tile.for`
    For,
    /// `tile.if`
    If,
    /// `tile.while`
    While,
    /// `tile.constant`
    Constant,
    /// `tile.constexpr`
    Constexpr,
    /// `tile.program_id`
    ProgramId,
    /// `tile.num_programs`
    NumPrograms,
    /// `tile.arange`
    Arange,
    /// `tile.splat`
    Splat,
    /// `tile.broadcast`
    Broadcast,
    /// `tile.expand_dims`
    ExpandDims,
    /// `tile.reshape`
    Reshape,
    /// `tile.trans`
    Trans,
    /// `tile.join`
    Join,
    /// `tile.split`
    Split,
    /// `tile.convert_layout` (GPU dialect: the same values, another distribution).
    ConvertLayout,
    /// `tile.addptr`
    AddPtr,
    /// `tile.load`
    Load,
    /// `tile.store`
    Store,
    /// `tile.make_desc`
    MakeDesc,
    /// `tile.desc_load`
    DescLoad,
    /// `tile.desc_store`
    DescStore,
    /// `tile.atomic_rmw`
    AtomicRmw,
    /// `tile.atomic_cas`
    AtomicCas,
    /// `tile.add`, `tile.mul`, ...
    Binary(BinaryOp),
    /// `tile.exp`, `tile.neg`, ...
    Unary(UnaryOp),
    /// `tile.cmp`
    Cmp,
    /// `tile.select`
    Select,
    /// `tile.fma`
    Fma,
    /// `tile.cast`
    Cast,
    /// `tile.bitcast`
    Bitcast,
    /// `tile.dot`
    Dot,
    /// `tile.reduce`
    Reduce,
    /// `tile.scan`
    Scan,
    /// `tile.sort`
    Sort,
    /// `tile.topk`
    TopK,
    /// `tile.print`
    Print,
    /// `tile.assert`
    Assert,
    /// `tile.static_assert`
    StaticAssert,
    /// `tile.barrier` (GPU dialect: a CTA-wide barrier for shared memory).
    Barrier,
}

/// What an op does besides computing its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing: may be removed when unused and merged with an identical op.
    Pure,
    /// Reads memory: may be removed when unused, never merged.
    Read,
    /// Writes memory, prints or traps: always kept.
    Write,
    /// Structured control flow or a terminator: kept; its regions decide.
    Control,
}

/// The ops that are not a family, with their names, for lookup in both directions.
const SIMPLE: [(OpKind, &str); 42] = [
    (OpKind::Return, "return"),
    (OpKind::Call, "call"),
    (OpKind::Yield, "yield"),
    (OpKind::Condition, "condition"),
    (OpKind::For, "for"),
    (OpKind::If, "if"),
    (OpKind::While, "while"),
    (OpKind::Constant, "constant"),
    (OpKind::Constexpr, "constexpr"),
    (OpKind::ProgramId, "program_id"),
    (OpKind::NumPrograms, "num_programs"),
    (OpKind::Arange, "arange"),
    (OpKind::Splat, "splat"),
    (OpKind::Broadcast, "broadcast"),
    (OpKind::ExpandDims, "expand_dims"),
    (OpKind::Reshape, "reshape"),
    (OpKind::Trans, "trans"),
    (OpKind::Join, "join"),
    (OpKind::Split, "split"),
    (OpKind::ConvertLayout, "convert_layout"),
    (OpKind::AddPtr, "addptr"),
    (OpKind::Load, "load"),
    (OpKind::Store, "store"),
    (OpKind::MakeDesc, "make_desc"),
    (OpKind::DescLoad, "desc_load"),
    (OpKind::DescStore, "desc_store"),
    (OpKind::AtomicRmw, "atomic_rmw"),
    (OpKind::AtomicCas, "atomic_cas"),
    (OpKind::Cmp, "cmp"),
    (OpKind::Select, "select"),
    (OpKind::Fma, "fma"),
    (OpKind::Cast, "cast"),
    (OpKind::Bitcast, "bitcast"),
    (OpKind::Dot, "dot"),
    (OpKind::Reduce, "reduce"),
    (OpKind::Scan, "scan"),
    (OpKind::Sort, "sort"),
    (OpKind::TopK, "topk"),
    (OpKind::Print, "print"),
    (OpKind::Assert, "assert"),
    (OpKind::StaticAssert, "static_assert"),
    (OpKind::Barrier, "barrier"),
];

/// The dialect prefix of every op in this catalogue.
pub const DIALECT: &str = "tile";

impl OpKind {
    /// The name without the dialect (`add`, `for`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            OpKind::Binary(b) => b.mnemonic(),
            OpKind::Unary(u) => u.mnemonic(),
            other => {
                SIMPLE
                    .iter()
                    .find(|(k, _)| *k == other)
                    .expect("every non-family op is listed in SIMPLE")
                    .1
            }
        }
    }

    /// Looks an op up by its full name (`tile.add`).
    pub fn from_name(name: &str) -> Option<OpKind> {
        let m = name.strip_prefix(DIALECT)?.strip_prefix('.')?;
        if let Some((k, _)) = SIMPLE.iter().find(|(_, n)| *n == m) {
            return Some(*k);
        }
        if let Some(b) = BinaryOp::ALL.into_iter().find(|b| b.mnemonic() == m) {
            return Some(OpKind::Binary(b));
        }
        UnaryOp::ALL
            .into_iter()
            .find(|u| u.mnemonic() == m)
            .map(OpKind::Unary)
    }

    /// Every op kind (families expanded).
    pub fn all() -> Vec<OpKind> {
        let mut v: Vec<OpKind> = SIMPLE.iter().map(|(k, _)| *k).collect();
        v.extend(BinaryOp::ALL.map(OpKind::Binary));
        v.extend(UnaryOp::ALL.map(OpKind::Unary));
        v
    }

    /// The side effects of the op.
    pub fn effect(self) -> Effect {
        match self {
            OpKind::Return
            | OpKind::Yield
            | OpKind::Condition
            | OpKind::For
            | OpKind::If
            | OpKind::While
            | OpKind::Call => Effect::Control,
            OpKind::Load | OpKind::DescLoad => Effect::Read,
            OpKind::Store
            | OpKind::DescStore
            | OpKind::AtomicRmw
            | OpKind::AtomicCas
            | OpKind::Print
            | OpKind::Assert
            | OpKind::StaticAssert
            | OpKind::Barrier => Effect::Write,
            _ => Effect::Pure,
        }
    }

    /// True for ops that end a region.
    pub fn is_terminator(self) -> bool {
        matches!(self, OpKind::Return | OpKind::Yield | OpKind::Condition)
    }

    /// How many regions the op has.
    pub fn num_regions(self) -> usize {
        match self {
            OpKind::For => 1,
            OpKind::If | OpKind::While => 2,
            _ => 0,
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DIALECT}.{}", self.mnemonic())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let all = OpKind::all();
        assert_eq!(all.len(), 42 + 13 + 15);
        for k in all {
            assert_eq!(OpKind::from_name(&k.to_string()), Some(k), "{k}");
        }
        assert_eq!(OpKind::from_name("tile.nope"), None);
        assert_eq!(OpKind::from_name("arith.add"), None);
    }
}
