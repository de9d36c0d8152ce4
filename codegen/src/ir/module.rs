//! The IR containers: a module of functions, each with an arena body of ops,
//! SSA values and regions.
//!
//! Ops, values and regions live in per-function arenas and are named by
//! small copyable ids. A region is a single block with arguments (the
//! structured control flow of MLIR's `scf`: `for`, `if` and `while` own
//! regions, there are no branches), so "block" and "region" coincide here.
//! Erasing an op unlinks it from its region and marks it dead; ids are never
//! reused, so an id held by a pass never points at another op.

use super::attr::{Attr, Attrs};
use super::location::Location;
use super::ops::OpKind;
use super::types::{ScalarType, Type};

/// An SSA value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);
/// An op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u32);
/// A region (one block with arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(pub u32);

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Result `index` of `op`.
    OpResult {
        /// The defining op.
        op: OpId,
        /// Which result.
        index: usize,
    },
    /// Argument `index` of `region`.
    RegionArg {
        /// The region.
        region: RegionId,
        /// Which argument.
        index: usize,
    },
}

/// What the arena stores for a value.
#[derive(Clone, Debug)]
pub struct ValueData {
    /// Its type.
    pub ty: Type,
    /// Its definition.
    pub def: ValueDef,
    /// A name hint for printing (the Rust binding it came from).
    pub name: Option<String>,
}

/// What the arena stores for an op.
#[derive(Clone, Debug)]
pub struct OpData {
    /// Which op.
    pub kind: OpKind,
    /// Operand values.
    pub operands: Vec<ValueId>,
    /// Result values.
    pub results: Vec<ValueId>,
    /// Attributes.
    pub attrs: Attrs,
    /// Owned regions (see [`OpKind::num_regions`]).
    pub regions: Vec<RegionId>,
    /// Source location.
    pub loc: Location,
    /// The region the op is linked into, if any.
    pub parent: Option<RegionId>,
    /// Set when the op was erased.
    pub dead: bool,
}

impl OpData {
    /// An attribute by name.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.get(name)
    }
}

/// What the arena stores for a region.
#[derive(Clone, Debug, Default)]
pub struct RegionData {
    /// Block arguments.
    pub args: Vec<ValueId>,
    /// Ops in order; the last is the terminator once the region is complete.
    pub ops: Vec<OpId>,
    /// The op owning the region (None for a function's entry region).
    pub parent: Option<OpId>,
}

/// The arena of one function.
#[derive(Clone, Debug)]
pub struct Body {
    values: Vec<ValueData>,
    ops: Vec<OpData>,
    regions: Vec<RegionData>,
    entry: RegionId,
}

impl Default for Body {
    fn default() -> Self {
        Body::new()
    }
}

impl Body {
    /// An empty body with an entry region that has no arguments.
    pub fn new() -> Body {
        Body {
            values: Vec::new(),
            ops: Vec::new(),
            regions: vec![RegionData::default()],
            entry: RegionId(0),
        }
    }

    /// The function's entry region; its arguments are the parameters.
    pub fn entry(&self) -> RegionId {
        self.entry
    }

    /// A value.
    pub fn value(&self, v: ValueId) -> &ValueData {
        &self.values[v.0 as usize]
    }

    /// A value, mutably (to rename it or change its type).
    pub fn value_mut(&mut self, v: ValueId) -> &mut ValueData {
        &mut self.values[v.0 as usize]
    }

    /// The type of a value.
    pub fn ty(&self, v: ValueId) -> &Type {
        &self.value(v).ty
    }

    /// An op.
    pub fn op(&self, op: OpId) -> &OpData {
        &self.ops[op.0 as usize]
    }

    /// An op, mutably.
    pub fn op_mut(&mut self, op: OpId) -> &mut OpData {
        &mut self.ops[op.0 as usize]
    }

    /// A region.
    pub fn region(&self, r: RegionId) -> &RegionData {
        &self.regions[r.0 as usize]
    }

    /// A region, mutably.
    pub fn region_mut(&mut self, r: RegionId) -> &mut RegionData {
        &mut self.regions[r.0 as usize]
    }

    /// How many value ids exist (live or not).
    pub fn num_values(&self) -> usize {
        self.values.len()
    }

    /// How many op ids exist (live or dead).
    pub fn num_ops(&self) -> usize {
        self.ops.len()
    }

    /// How many region ids exist.
    pub fn num_regions(&self) -> usize {
        self.regions.len()
    }

    /// A new, unlinked region with arguments of the given types.
    pub fn new_region(&mut self, arg_types: &[Type]) -> RegionId {
        let r = RegionId(self.regions.len() as u32);
        self.regions.push(RegionData::default());
        for ty in arg_types {
            self.add_region_arg(r, ty.clone(), None);
        }
        r
    }

    /// Appends an argument to a region.
    pub fn add_region_arg(&mut self, r: RegionId, ty: Type, name: Option<String>) -> ValueId {
        let index = self.region(r).args.len();
        let v = self.new_value(ty, ValueDef::RegionArg { region: r, index }, name);
        self.region_mut(r).args.push(v);
        v
    }

    fn new_value(&mut self, ty: Type, def: ValueDef, name: Option<String>) -> ValueId {
        let v = ValueId(self.values.len() as u32);
        self.values.push(ValueData { ty, def, name });
        v
    }

    /// Creates an op that is not linked into any region yet. The regions
    /// become owned by the op.
    pub fn create_op(
        &mut self,
        kind: OpKind,
        operands: Vec<ValueId>,
        result_types: Vec<Type>,
        attrs: Attrs,
        regions: Vec<RegionId>,
        loc: Location,
    ) -> OpId {
        let op = OpId(self.ops.len() as u32);
        let results = result_types
            .into_iter()
            .enumerate()
            .map(|(index, ty)| self.new_value(ty, ValueDef::OpResult { op, index }, None))
            .collect();
        for &r in &regions {
            self.region_mut(r).parent = Some(op);
        }
        self.ops.push(OpData {
            kind,
            operands,
            results,
            attrs,
            regions,
            loc,
            parent: None,
            dead: false,
        });
        op
    }

    /// Links an unlinked op into `region` at position `index`.
    pub fn insert_op(&mut self, region: RegionId, index: usize, op: OpId) {
        assert!(self.op(op).parent.is_none(), "op is already linked");
        self.region_mut(region).ops.insert(index, op);
        self.op_mut(op).parent = Some(region);
    }

    /// Links an unlinked op at the end of `region`.
    pub fn append_op(&mut self, region: RegionId, op: OpId) {
        let n = self.region(region).ops.len();
        self.insert_op(region, n, op);
    }

    /// The position of a linked op in its region.
    pub fn position(&self, op: OpId) -> Option<(RegionId, usize)> {
        let r = self.op(op).parent?;
        let i = self.region(r).ops.iter().position(|&o| o == op)?;
        Some((r, i))
    }

    /// Unlinks an op from its region without erasing it (to move it).
    pub fn unlink_op(&mut self, op: OpId) {
        if let Some((r, i)) = self.position(op) {
            self.region_mut(r).ops.remove(i);
            self.op_mut(op).parent = None;
        }
    }

    /// Erases an op and everything in its regions. Its results must be
    /// unused (replace them first).
    pub fn erase_op(&mut self, op: OpId) {
        self.unlink_op(op);
        let regions = self.op(op).regions.clone();
        for r in regions {
            for inner in self.region(r).ops.clone() {
                self.erase_op(inner);
            }
        }
        self.op_mut(op).dead = true;
    }

    /// Replaces every use of `old` by `new` in all live ops.
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        for op in self.ops.iter_mut().filter(|o| !o.dead) {
            for v in op.operands.iter_mut() {
                if *v == old {
                    *v = new;
                }
            }
        }
    }

    /// The op defining a value, if it is an op result.
    pub fn def_op(&self, v: ValueId) -> Option<OpId> {
        match self.value(v).def {
            ValueDef::OpResult { op, .. } => Some(op),
            ValueDef::RegionArg { .. } => None,
        }
    }

    /// All live ops reachable from `region`, nested ones included, in
    /// pre-order (an op comes before the ops of its regions).
    pub fn walk(&self, region: RegionId) -> Vec<OpId> {
        let mut out = Vec::new();
        self.walk_into(region, &mut out);
        out
    }

    fn walk_into(&self, region: RegionId, out: &mut Vec<OpId>) {
        for &op in &self.region(region).ops {
            out.push(op);
            for &r in &self.op(op).regions {
                self.walk_into(r, out);
            }
        }
    }

    /// How many times each value is used by live linked ops, indexed by value id.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.values.len()];
        for op in self.walk(self.entry) {
            for v in &self.op(op).operands {
                counts[v.0 as usize] += 1;
            }
        }
        counts
    }
}

/// Whether a function is a kernel (launched over a grid) or a device
/// function (`#[tile_fn]`, inlined into kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncKind {
    /// A `#[tile_kernel]`: no results, launched over a grid.
    Kernel,
    /// A `#[tile_fn]`: called from kernels, may return values.
    Device,
}

/// A compile-time parameter (const generic or `#[constexpr]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstParam {
    /// Its name in the source.
    pub name: String,
    /// Its type: an integer type or i1.
    pub ty: ScalarType,
}

/// The value bound to a compile-time parameter at specialization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstValue {
    /// An integer (const generics, integer `#[constexpr]` parameters).
    Int(i64),
    /// A boolean (`#[constexpr] causal: bool`).
    Bool(bool),
}

impl std::fmt::Display for ConstValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstValue::Int(v) => write!(f, "{v}"),
            ConstValue::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// Compile-time values as `BLOCK = 128, CAUSAL = true` (or `no constants`),
/// for messages and manifests.
pub fn describe_consts<S: AsRef<str>>(consts: &[(S, ConstValue)]) -> String {
    if consts.is_empty() {
        return "no constants".to_string();
    }
    consts
        .iter()
        .map(|(n, v)| format!("{} = {v}", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A function: a kernel or a device function.
#[derive(Clone, Debug)]
pub struct Func {
    /// Symbol name.
    pub name: String,
    /// Kernel or device function.
    pub kind: FuncKind,
    /// Compile-time parameters, bound by specialization.
    pub consts: Vec<ConstParam>,
    /// Result types (empty for kernels).
    pub results: Vec<Type>,
    /// The arena; the entry region's arguments are the runtime parameters.
    pub body: Body,
    /// Where the function is defined.
    pub loc: Location,
}

impl Func {
    /// A function with no parameters and an empty body.
    pub fn new(name: &str, kind: FuncKind) -> Func {
        Func {
            name: name.to_string(),
            kind,
            consts: Vec::new(),
            results: Vec::new(),
            body: Body::new(),
            loc: Location::unknown(),
        }
    }

    /// The runtime parameters (the entry region's arguments).
    pub fn params(&self) -> &[ValueId] {
        &self.body.region(self.body.entry()).args
    }

    /// Adds a runtime parameter.
    pub fn add_param(&mut self, name: &str, ty: Type) -> ValueId {
        let entry = self.body.entry();
        self.body.add_region_arg(entry, ty, Some(name.to_string()))
    }

    /// The parameter types, in order.
    pub fn param_types(&self) -> Vec<Type> {
        self.params()
            .iter()
            .map(|&v| self.body.ty(v).clone())
            .collect()
    }
}

/// A translation unit: kernels and the device functions they call.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// The functions, in definition order.
    pub funcs: Vec<Func>,
}

impl Module {
    /// An empty module.
    pub fn new() -> Module {
        Module { funcs: Vec::new() }
    }

    /// A function by name.
    pub fn func(&self, name: &str) -> Option<&Func> {
        self.funcs.iter().find(|f| f.name == name)
    }

    /// A function by name, mutably.
    pub fn func_mut(&mut self, name: &str) -> Option<&mut Func> {
        self.funcs.iter_mut().find(|f| f.name == name)
    }
}
