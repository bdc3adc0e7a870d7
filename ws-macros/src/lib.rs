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

/// Declares a WebSocket service on an inherent `impl` block: `Self` is the per-connection
/// value, `state = T` the value shared by all connections, and the marked methods are the
/// handlers. Generates `impl ws_framework::Service for Self`.
///
/// ```ignore
/// #[derive(Default)]
/// struct Echo;
///
/// #[ws_service("/echo")]
/// impl Echo {
///     #[on_text]
///     async fn text(&self, text: String) -> String {
///         text
///     }
/// }
/// ```
///
/// # Arguments
///
/// ```text
/// #[ws_service("/path/{param}", key = value, ...)]
///   state            = Type                    shared state, default `()`
///   protocols        = ["a", "b"]              sub-protocols spoken; the client's first match wins
///   idle_timeout     = 30 | 0.5 | "500ms"      seconds or a string with ms/s/m/h; 0 = off
///   max_frame_size   = expr                    bytes (default 65536)
///   max_message_size = expr                    bytes (default 16 MiB)
///   close_timeout    = 60 | "5s" | "forever"   default 60 s
///   compression      = expr                    bool, default true
///   dispatcher_key   = "event"                 JSON field selecting `#[on_dispatch]` handlers
///   origins          = ["https://a.example", "*.b.example"]
///                                              allowed `Origin`s (403 otherwise), default any
///   require_origin   = expr                    bool: refuse requests without `Origin` (403)
///   auth             = expr                    a `ws_framework::Auth` (401/403 before the hook)
///   write_buffer_limit = expr                  bytes queued per connection (default 1 MiB)
///   write_timeout    = 5 | "500ms"             how long a write waits for room; default forever
///   overflow_close   = 1008 | 1013 | expr      close a reader that stayed full past the timeout
///   crate            = path                    ws-framework's path, default `::ws_framework`
/// ```
///
/// The path is checked at compile time by the parser the router uses
/// (`ws_framework::path_template`): `/`, `/chat`, `/chat/{room}`, `/files/*`.
/// Origin patterns are checked at compile time as well: `https://app.example.com` (exact),
/// `*.example.com` (sub-domains), `app.example.com` (any scheme and port), `null` or `*`; see
/// `ws_framework::origin`. The `auth` expression is evaluated when the service is attached.
///
/// # Markers
///
/// Every handler is an `async fn` taking `&self` or `&mut self` (events of one connection are
/// handled one at a time). Parameters are bound by type: an optional `&Caller` anywhere, an
/// optional `#[state]` parameter (`&State` or `Arc<State>`), and the value the kind receives:
///
/// | marker | value parameters | may return |
/// | --- | --- | --- |
/// | `#[on_upgrade]` (no `self`) | `&UpgradeRequest` / `&mut UpgradeRequest`; path parameters by name; `#[header]` / `#[header("x-name")]` (`String`, `Option<String>`, `Vec<String>`; `x_token` reads `x-token`); other owned parameters are query parameters by name (`String`, `bool`, `char`, numbers, `Option<_>`, `Vec<_>`) | `Self` or `Result<Self, E: Into<UpgradeError>>` |
/// | `#[on_open]`, `#[on_idle_timeout]` | none | see below |
/// | `#[on_text]`, `#[on_text(error = method)]` | `String` or `T: Deserialize` (JSON) | |
/// | `#[on_binary]`, `#[on_binary(error = method)]` | `Vec<u8>`, `Bytes` or `T: Deserialize` (UTF-8 JSON) | |
/// | `#[on_message]`, `#[on_message(error = method)]` | `T: Deserialize`, from text or binary | |
/// | `#[on_dispatch("value")]`, `#[on_dispatch]` on `on_<value>`, each with an optional `error = method` | optional `T: Deserialize` | |
/// | `#[on_ping]`, `#[on_pong]` | optional `Vec<u8>` / `Bytes` | |
/// | `#[on_close]` | optional code (`CloseCode` / `u16`) and reason (`String`), any order | |
/// | `#[on_error]`, the `error = method` handlers | optional `ws_framework::Error` | |
///
/// Return values: `()` and `Result<(), E>` send nothing; strings are sent as text, `Vec<u8>` /
/// `Bytes` as binary (from `on_ping`: the pong), a `CloseFrame` closes, a `Stream` sends one
/// message per item, any other `Serialize` value is sent as JSON text, `Option::None` sends
/// nothing and `Err(e)` goes to `on_error`. `on_pong` and `on_close` return only `()` /
/// `Result<(), E>`; `on_error` and `on_idle_timeout` also a close frame; `on_ping` bytes;
/// `on_open` anything but a close frame.
///
/// Dispatch (text only, with `dispatcher_key`): a JSON object whose key is a string value `v`
/// goes to `#[on_dispatch("v")]`, else to `#[on_dispatch] fn on_<name>` where `name` is `v`
/// split on non-alphanumerics, lower-cased and joined with `_` (`"Connection Init"` →
/// `on_connection_init`), else to `#[on_text]`, else `#[on_message]`, else it is dropped. A
/// payload that fails to bind goes to the handler's `error = method`, else `#[on_error]`, else
/// the connection closes with 1003.
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
