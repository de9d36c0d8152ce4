//! Source locations: every op records where in the user's Rust source it came from.

use std::fmt;
use std::sync::Arc;

/// A position in a source file (1-based line and column), or unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Location {
    /// The file, as the compiler named it; None when unknown.
    pub file: Option<Arc<str>>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl Location {
    /// A location in `file`.
    pub fn new(file: &str, line: u32, col: u32) -> Location {
        Location {
            file: Some(Arc::from(file)),
            line,
            col,
        }
    }

    /// The unknown location.
    pub fn unknown() -> Location {
        Location::default()
    }

    /// True when the location is unknown.
    pub fn is_unknown(&self) -> bool {
        self.file.is_none()
    }
}

impl fmt::Display for Location {
    /// Human form `file:line:col`, used in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}:{}", self.line, self.col),
            None => f.write_str("<unknown location>"),
        }
    }
}
