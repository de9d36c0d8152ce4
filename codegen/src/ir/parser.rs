//! Parser of the textual IR (placeholder until written).
use super::module::Module;

/// A parse error with its line and column in the text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a module.
pub fn parse_module(_src: &str) -> Result<Module, ParseError> {
    Err(ParseError {
        line: 1,
        col: 1,
        message: "parser not written yet".into(),
    })
}
