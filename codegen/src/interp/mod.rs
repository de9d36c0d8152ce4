//! The CPU interpreter of tile IR.
