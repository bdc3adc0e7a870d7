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

#[cfg(test)]
mod tests {
    use quote::quote;

    fn expand(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        super::expand(args, item).to_string()
    }

    #[test]
    fn errors_come_with_the_block_and_a_stub_impl() {
        let out = expand(
            quote!("/svc"),
            quote! {
                impl Svc {
                    #[on_text] fn a(&self, t: String) {}
                    #[on_text] async fn b(&self) {}
                }
            },
        );
        assert_eq!(out.matches("compile_error").count(), 4, "{out}");
        assert!(out.contains("must be an `async fn`"), "{out}");
        assert!(out.contains("duplicate `#[on_text]` handler"), "{out}");
        assert!(out.contains("needs the message"), "{out}");
        assert!(
            out.contains("impl :: ws_framework :: __private :: Service for Svc"),
            "{out}"
        );
        assert!(out.contains("unimplemented"), "the stub: {out}");
        assert!(
            out.contains("# [on_text (__ws_expanded)]"),
            "markers are rewritten: {out}"
        );
    }

    #[test]
    fn parameter_attributes_are_consumed() {
        let out = expand(
            quote!("/svc/{id}", state = S),
            quote! {
                impl Svc {
                    #[on_upgrade] async fn new(id: u32, #[header] x_token: String, #[state] s: &S) -> Self { Svc }
                }
            },
        );
        assert!(
            !out.contains("# [header]") && !out.contains("# [state]"),
            "{out}"
        );
        assert!(out.contains("path_param (__ws_request , \"id\")"), "{out}");
        assert!(
            out.contains("header_param (__ws_request , \"x-token\")"),
            "{out}"
        );
    }

    #[test]
    fn not_an_impl_block() {
        let out = expand(
            quote!("/svc"),
            quote!(
                struct Svc;
            ),
        );
        assert!(out.contains("goes on an `impl` block"), "{out}");
        assert!(out.contains("struct Svc"), "the item is kept: {out}");
    }

    #[test]
    fn handle_arms_follow_declaration_order() {
        let out = expand(
            quote!("/svc"),
            quote! {
                impl Svc {
                    #[on_close] async fn close(&self) {}
                    #[on_open] async fn open(&self) {}
                    #[on_ping] async fn ping(&self) {}
                }
            },
        );
        let close = out.find("Event :: Close").unwrap();
        let open = out.find("Event :: Open").unwrap();
        let ping = out.find("Event :: Ping").unwrap();
        assert!(close < open && open < ping, "{out}");
        assert!(out.contains("Handlers :: NONE . with_ping ()"), "{out}");
    }
}
