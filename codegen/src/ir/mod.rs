//! The IR core: types, attributes, locations, the op catalogue, the arena
//! containers, a builder, the textual printer and parser, the verifier, and
//! the numeric semantics of the ops (`numeric`, shared by the interpreter
//! and constant folding).
//!
//! Modeled on MLIR (ops with operands, results, attributes and regions;
//! dialect-namespaced op names; a location on every op) and Cranelift
//! (arenas indexed by small ids). The tile dialect is the only dialect so
//! far; the GPU dialect (layouts, shared memory) comes with the GPU path.

pub mod attr;
pub mod builder;
pub mod location;
pub mod module;
pub mod numeric;
pub mod ops;
pub mod parser;
pub mod printer;
pub mod types;
pub mod typing;
pub mod verifier;

pub use attr::{Attr, Attrs};
pub use builder::Builder;
pub use location::Location;
pub use module::{
    Body, ConstParam, ConstValue, Func, FuncKind, Module, OpData, OpId, RegionData, RegionId,
    ValueData, ValueDef, ValueId, describe_consts,
};
pub use ops::{BinaryOp, Effect, OpKind, UnaryOp};
pub use parser::{ParseError, parse_module};
pub use printer::{fingerprint, print_func, print_module};
pub use types::{AddrSpace, Dim, ElemType, ScalarType, Type};
pub use verifier::{VerifyError, verify_func, verify_module};
