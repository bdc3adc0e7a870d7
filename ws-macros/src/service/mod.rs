//! `#[ws_service]`: parse → model → validate → expand (or fall back).

pub mod args;
pub mod expand;
pub mod fallback;
pub mod model;
pub mod validate;

#[cfg(test)]
mod snapshots;

use crate::diag::Errors;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{ImplItem, ItemImpl};

/// The whole macro over `proc_macro2` tokens (so unit tests and snapshots can run it).
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "`#[ws_service]` goes on an `impl` block whose methods are the handlers, as in `#[ws_service(\"/chat\")] impl Chat { .. }`",
            );
            let errors = errors.to_compile_errors();
            return quote!(#errors #item);
        }
    };
    validate::check_impl(&item, &mut errors);
    let handlers = model::collect(&mut item, &mut errors);
    let methods: Vec<_> = item
        .items
        .iter()
        .filter_map(|i| match i {
            ImplItem::Fn(f) => Some(f.sig.ident.clone()),
            _ => None,
        })
        .collect();
    validate::check_handlers(&args, &handlers, &methods, &mut errors);
    if errors.is_empty() {
        expand::expand(&args, &item, &handlers)
    } else {
        fallback::expand(&args, &item, &errors)
    }
}
