//! Procedural macros of [ws-framework](https://docs.rs/ws-framework): `#[ws_service]` and the
//! handler markers. Use them through `ws_framework`, which re-exports them; the documentation
//! of the grammar lives on each re-export there.
//!
//! The pipeline (`service/`): [`args`](service::args) parses `#[ws_service(...)]`,
//! [`model`](service::model) reads the `impl` block into handlers (keeping the span of every
//! token an error may blame), [`validate`](service::validate) checks meaning and accumulates
//! every error, and [`expand`](service::expand) generates the trait impl. With errors,
//! [`fallback`](service::fallback) emits the impl block, the errors and a stub impl.

use proc_macro::TokenStream;

mod diag;
mod marker;
#[path = "../../ws-framework/src/path_template.rs"]
#[allow(dead_code)]
mod path_template;
mod service;

/// Declares a WebSocket service on an `impl` block; see `ws_framework::ws_service`.
#[proc_macro_attribute]
pub fn ws_service(args: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(args.into(), item.into()).into()
}

macro_rules! markers {
    ($($name:ident),* $(,)?) => {$(
        /// Marks a handler of a `#[ws_service]` impl block; see `ws_framework::ws_service`.
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            marker::expand(stringify!($name), args.into(), item.into()).into()
        }
    )*};
}

markers!(
    on_upgrade,
    on_open,
    on_text,
    on_binary,
    on_message,
    on_ping,
    on_pong,
    on_close,
    on_error,
    on_idle_timeout,
    on_dispatch,
);
