//! The handler markers (`#[on_text]`, ...) as attributes of their own.
//!
//! Inside `#[ws_service]` the outer macro reads each marker and rewrites it to
//! `#[on_text(__ws_expanded)]`, so the marker the user imported is resolved (no unused import,
//! and hover docs work) and then expands to the method unchanged. Anywhere else a marker is a
//! mistake, reported on the marker.

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// The argument `#[ws_service]` leaves on the markers it has read.
pub const EXPANDED: &str = "__ws_expanded";

pub fn expand(name: &str, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut tokens = args.clone().into_iter();
    if let (Some(proc_macro2::TokenTree::Ident(ident)), None) = (tokens.next(), tokens.next()) {
        if ident == EXPANDED {
            return item;
        }
    }
    let message = format!(
        "`#[{name}]` marks a method of an `impl` block that carries `#[ws_service(\"/path\")]`; \
         add `#[ws_service(\"/path\")]` to the `impl` block, or remove `#[{name}]`"
    );
    let error = syn::Error::new(Span::call_site(), message).to_compile_error();
    quote!(#error #item)
}
