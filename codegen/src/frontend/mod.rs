//! Rust syntax (syn) to tile IR.
