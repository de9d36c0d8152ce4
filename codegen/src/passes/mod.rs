//! Passes over tile IR, one per file.
