//! placeholder
pub mod reference;
