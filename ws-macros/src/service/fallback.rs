//! What to emit when the block has errors: the block itself (markers rewritten, so imports stay
//! used), every error, and a stub `Service` impl so that uses of the type (`listener.attach::<Chat>`)
//! do not add a cascade of errors to the real ones (thiserror's `fallback.rs`).

use super::args::ServiceArgs;
use super::expand::{krate, state_type};
use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

pub fn expand(args: &ServiceArgs, item: &ItemImpl, errors: &Errors) -> TokenStream {
    let errors = errors.to_compile_errors();
    // A stub for a generic or trait impl would only add errors of its own.
    if !item.generics.params.is_empty() || item.trait_.is_some() {
        return quote!(#item #errors);
    }
    let p = {
        let krate = krate(args);
        quote!(#krate::__private)
    };
    let self_ty = &item.self_ty;
    let state_ty = state_type(args);
    quote! {
        #item
        #errors
        impl #p::Service for #self_ty {
            type State = #state_ty;
            const HANDLERS: #p::Handlers = #p::Handlers::NONE;
            fn config() -> #p::ServiceConfig {
                ::core::unimplemented!()
            }
            async fn upgrade(
                _: &mut #p::UpgradeRequest,
                _: &#p::Arc<Self::State>,
            ) -> ::core::result::Result<Self, #p::UpgradeError> {
                ::core::unimplemented!()
            }
            async fn handle<'a>(
                &'a mut self,
                _: &'a #p::Caller,
                _: &'a #p::Arc<Self::State>,
                _: #p::Event,
            ) -> #p::Reply {
                ::core::unimplemented!()
            }
        }
    }
}
