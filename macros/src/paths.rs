//! Call paths as keys: a call is resolved by the exact path written at the
//! call site (generic arguments removed), so two spellings are two keys
//! that may resolve to the same function (recognized by its identity).

use quote::ToTokens;

/// The text of a path without spaces, used as a key.
pub(crate) fn key(p: &syn::Path) -> String {
    p.to_token_stream().to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let p: syn::Path = syn::parse_str("crate :: a::b").unwrap();
        assert_eq!(key(&p), "crate::a::b");
    }
}
