//! Frontend errors.
//!
//! Inside the frontend every error is a [`syn::Error`]: it carries the span
//! of the offending syntax, so the proc macro can turn it into a
//! `compile_error!` pointing at the user's code. Callers that work on a
//! source file instead of a token stream (the CLI) get a [`FrontendError`]
//! with a [`Location`] (file, line, column) and the same message.

use std::fmt;

use proc_macro2::Span;

use crate::ir::Location;

/// An error of the frontend, located in the user's source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct FrontendError {
    /// Where in the source the error is.
    pub loc: Location,
    /// What is wrong and what would work.
    pub message: String,
}

impl fmt::Display for FrontendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
    }
}

impl FrontendError {
    /// Converts a syn error, naming `file` as the source file.
    pub fn from_syn(err: &syn::Error, file: &str) -> FrontendError {
        FrontendError {
            loc: span_location(err.span(), Some(file)),
            message: err.to_string(),
        }
    }
}

/// The location of a span: `file` if given, else the file the compiler
/// reports for the span (inside a proc macro on Rust 1.88+).
pub(crate) fn span_location(span: Span, file: Option<&str>) -> Location {
    let start = span.start();
    let file = match file {
        Some(f) => f.to_string(),
        None => span.file(),
    };
    Location::new(&file, start.line as u32, start.column as u32 + 1)
}

/// Shorthand: an error at `span`.
pub(crate) fn err<T>(span: Span, message: impl fmt::Display) -> syn::Result<T> {
    Err(syn::Error::new(span, message))
}

/// Shorthand: an error spanning the tokens of `tokens`.
pub(crate) fn err_at<T>(
    tokens: impl quote::ToTokens,
    message: impl fmt::Display,
) -> syn::Result<T> {
    Err(syn::Error::new_spanned(tokens, message))
}

/// The closest candidate to `name` by edit distance, if close enough to be
/// a plausible typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match name.len() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings (by chars).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("arange", "arrange"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        let names = ["arange", "load", "store", "sum"];
        assert_eq!(closest("arrange", names), Some("arange"));
        assert_eq!(closest("lod", names), Some("load"));
        assert_eq!(closest("softmax", names), None);
    }
}
