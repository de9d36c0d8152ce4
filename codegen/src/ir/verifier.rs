//! Verifier (placeholder until written).
use super::location::Location;
use super::module::{Func, Module};

/// A verification failure at an op.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct VerifyError {
    /// The op's location.
    pub loc: Location,
    /// What is wrong.
    pub message: String,
}

/// Verifies every function.
pub fn verify_module(m: &Module) -> Result<(), VerifyError> {
    m.funcs.iter().try_for_each(verify_func)
}

/// Verifies one function.
pub fn verify_func(_f: &Func) -> Result<(), VerifyError> {
    Ok(())
}
