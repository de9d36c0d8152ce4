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

/// True when `name` is so close to one of `candidates` (without being
/// it) that it is almost certainly a typo: one edit (two for long names).
/// Short names are never typos: `norm` is a fine function name.
pub(crate) fn is_typo_of<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> bool {
    let limit = match name.chars().count() {
        0..=4 => return false,
        5..=7 => 1,
        _ => 2,
    };
    candidates
        .into_iter()
        .any(|c| c != name && edit_distance(name, c) <= limit)
}

/// Edit distance between two strings (by chars): insertions, deletions,
/// substitutions and transpositions of adjacent characters cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, x) in d[0].iter_mut().enumerate() {
        *x = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
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
        assert_eq!(edit_distance("sotre", "store"), 1);
        assert!(is_typo_of("sotre", names));
        assert!(is_typo_of("arrange", names));
        assert!(!is_typo_of("norm", ["sort"]));
        assert!(!is_typo_of("load", names));
    }
}
