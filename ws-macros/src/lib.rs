//! Procedural macros of [ws-framework](https://docs.rs/ws-framework): `#[ws_service]` and the
//! handler markers. Use them through `ws_framework`, which re-exports them; the documentation
//! of the grammar lives on each macro, shown on the re-exports there.
//!
//! The pipeline (`service/`): `args` parses `#[ws_service(...)]`, `model` reads the `impl`
//! block into handlers (keeping the span of every token an error may blame), `validate` checks
//! meaning and accumulates every error, and `expand` generates the trait impl. With errors,
//! `fallback` emits the impl block, the errors and a stub impl.

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
/// ```
/// use ws_framework::{on_text, ws_service};
///
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
/// A service with every kind of argument:
///
/// ```
/// use std::sync::Mutex;
/// use ws_framework::auth::{Auth, AuthProvider, UserStore};
/// use ws_framework::{on_text, ws_service};
///
/// #[derive(Default)]
/// struct Counts(Mutex<u64>);
///
/// #[derive(Default)]
/// struct Feed;
///
/// #[ws_service(
///     "/feeds/{name}",
///     state = Counts,
///     protocols = ["feed.v2", "feed.v1"],
///     idle_timeout = "90s",
///     max_frame_size = 16 << 10,
///     max_message_size = 1 << 20,
///     close_timeout = 5,
///     compression = true,
///     origins = ["https://app.example.com", "*.example.com"],
///     require_origin = false,
///     auth = Auth::providers([AuthProvider::basic(UserStore::from_file("users.txt"))]),
///     write_buffer_limit = 256 << 10,
///     write_timeout = "2s",
///     overflow_close = 1013,
/// )]
/// impl Feed {
///     #[on_text]
///     async fn text(&self, #[state] counts: &Counts, _text: String) -> u64 {
///         let mut n = counts.0.lock().unwrap();
///         *n += 1;
///         *n
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
///   deflate          = expr                    a `ws_framework::proto::deflate::DeflateConfig`
///                                              (level, threshold, windows, context takeover);
///                                              default `DeflateConfig::lean_server()`
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
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {$(
        $(#[doc = $doc])*
        ///
        /// Markers are read by [`ws_service`](macro@ws_service) (which documents every
        /// marker's parameters and return values in one table); anywhere else a marker is a
        /// compile error.
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            marker::expand(stringify!($name), args.into(), item.into()).into()
        }
    )*};
}

markers!(
    /// Marks the upgrade hook: runs once per upgrade request, before the 101, and creates the
    /// per-connection value or refuses the request.
    ///
    /// ```text
    /// #[on_upgrade]
    /// async fn NAME(PARAMS) -> Self | Result<Self, E>      (no `self`; E: Into<UpgradeError>)
    ///   PARAMS, each optional, in any order:
    ///     request: &UpgradeRequest | &mut UpgradeRequest   the request; `&mut` adds response headers
    ///     NAME: T                    a path parameter of the template, by name, else a query
    ///                                parameter: String, bool, char, numbers, Option<_>, Vec<_>
    ///     #[header] NAME: T          header NAME (`_` read as `-`): String, Option<String>, Vec<String>
    ///     #[header("x-name")] p: T   the named header
    ///     #[state] s: &State | Arc<State>
    /// ```
    ///
    /// A missing or unparsable parameter answers 400; a returned `Err(e)` answers `e`'s status
    /// (401, 403, 404, any) with its message and headers. Without `#[on_upgrade]`, `Self` must
    /// be `Default`. Origin checks and authentication (`origins`, `auth`) run before the hook.
    ///
    /// ```
    /// use ws_framework::http::{HeaderName, HeaderValue};
    /// use ws_framework::{on_upgrade, ws_service, UpgradeError, UpgradeRequest};
    ///
    /// struct Room {
    ///     name: String,
    ///     user: String,
    ///     limit: u32,
    /// }
    ///
    /// #[ws_service("/rooms/{name}")]
    /// impl Room {
    ///     // ws://host/rooms/lobby?limit=10 with an `x-user` header.
    ///     #[on_upgrade]
    ///     async fn upgrade(
    ///         request: &mut UpgradeRequest,
    ///         name: String,
    ///         limit: Option<u32>,
    ///         #[header] x_user: Option<String>,
    ///     ) -> Result<Self, UpgradeError> {
    ///         let user = x_user.ok_or_else(|| UpgradeError::unauthorized("who are you?"))?;
    ///         if let Ok(value) = HeaderValue::from_str(&name) {
    ///             request.add_response_header(HeaderName::from_static("x-room"), value);
    ///         }
    ///         Ok(Room { name, user, limit: limit.unwrap_or(50) })
    ///     }
    /// }
    /// ```
    on_upgrade,
    /// Marks the handler of a new connection: runs once, after the 101 and before any message
    /// is handled.
    ///
    /// ```text
    /// #[on_open]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s: &State | Arc<State>]) -> R
    ///   R: (), Result<(), E>, or a value to send (String, Bytes, Serialize, Stream, Option, Result)
    /// ```
    ///
    /// ```
    /// use ws_framework::{on_open, ws_service, Caller};
    ///
    /// #[derive(Default)]
    /// struct Lobby;
    ///
    /// #[ws_service("/lobby")]
    /// impl Lobby {
    ///     #[on_open]
    ///     async fn open(&self, caller: &Caller) -> ws_framework::Result<String> {
    ///         caller.join("lobby")?;
    ///         Ok(format!("welcome, {}", caller.peer_addr()))
    ///     }
    /// }
    /// ```
    on_open,
    /// Marks the handler of text messages.
    ///
    /// ```text
    /// #[on_text]                      #[on_text(error = METHOD)]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], message: T) -> R
    ///   T: String, Utf8Bytes, or any Deserialize type (bound from JSON)
    ///   R: (), Result<(), E>, String / &'static str (text), Vec<u8> / Bytes (binary),
    ///      CloseFrame (closes), a Stream (one message per item), any Serialize (JSON text),
    ///      Option<R> (None sends nothing), Result<R, E> (Err goes to `#[on_error]`)
    /// ```
    ///
    /// A message that does not bind to `T` goes to `error = METHOD` (an `async fn` of the same
    /// block taking the error), else `#[on_error]`, else the connection closes with 1003.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use ws_framework::{on_text, ws_service, Error};
    ///
    /// #[derive(Deserialize)]
    /// struct Sum {
    ///     a: i64,
    ///     b: i64,
    /// }
    ///
    /// #[derive(Serialize)]
    /// struct Total {
    ///     total: i64,
    /// }
    ///
    /// #[derive(Default)]
    /// struct Calc;
    ///
    /// #[ws_service("/calc")]
    /// impl Calc {
    ///     // {"a": 1, "b": 2} -> {"total": 3}
    ///     #[on_text(error = bad_request)]
    ///     async fn sum(&self, sum: Sum) -> Total {
    ///         Total { total: sum.a + sum.b }
    ///     }
    ///
    ///     async fn bad_request(&self, error: Error) -> String {
    ///         format!("expected {{\"a\": .., \"b\": ..}}: {error}")
    ///     }
    /// }
    /// ```
    on_text,
    /// Marks the handler of binary messages.
    ///
    /// ```text
    /// #[on_binary]                    #[on_binary(error = METHOD)]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], data: T) -> R
    ///   T: Vec<u8>, Bytes, or any Deserialize type (bound from UTF-8 JSON)
    ///   R: as for `#[on_text]`
    /// ```
    ///
    /// ```
    /// use ws_framework::bytes::Bytes;
    /// use ws_framework::{on_binary, ws_service};
    ///
    /// #[derive(Default)]
    /// struct Reverse;
    ///
    /// #[ws_service("/reverse")]
    /// impl Reverse {
    ///     #[on_binary]
    ///     async fn binary(&self, data: Bytes) -> Vec<u8> {
    ///         data.iter().rev().copied().collect()
    ///     }
    /// }
    /// ```
    on_binary,
    /// Marks the handler of every data message, text or binary, bound to one type; used for
    /// the kinds that have no `#[on_text]` / `#[on_binary]` handler.
    ///
    /// ```text
    /// #[on_message]                   #[on_message(error = METHOD)]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], message: T) -> R
    ///   T: any Deserialize type (JSON, from text or UTF-8 binary)
    ///   R: as for `#[on_text]`
    /// ```
    ///
    /// ```
    /// use serde::Deserialize;
    /// use ws_framework::{on_message, ws_service};
    ///
    /// #[derive(Deserialize)]
    /// struct Reading {
    ///     sensor: String,
    ///     value: f64,
    /// }
    ///
    /// #[derive(Default)]
    /// struct Sensors;
    ///
    /// #[ws_service("/sensors")]
    /// impl Sensors {
    ///     #[on_message]
    ///     async fn reading(&self, reading: Reading) -> String {
    ///         format!("{} = {}", reading.sensor, reading.value)
    ///     }
    /// }
    /// ```
    on_message,
    /// Marks a handler of pings: the service answers pings itself (with the bytes it returns)
    /// instead of the automatic pong.
    ///
    /// ```text
    /// #[on_ping]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], [payload: Vec<u8> | Bytes]) -> R
    ///   R: (), Result<(), E>, or the pong's payload: Vec<u8> / Bytes (at most 125 bytes)
    /// ```
    ///
    /// ```
    /// use ws_framework::bytes::Bytes;
    /// use ws_framework::{on_ping, ws_service};
    ///
    /// #[derive(Default)]
    /// struct Pinged;
    ///
    /// #[ws_service("/ping")]
    /// impl Pinged {
    ///     #[on_ping]
    ///     async fn ping(&self, payload: Bytes) -> Bytes {
    ///         payload
    ///     }
    /// }
    /// ```
    on_ping,
    /// Marks the handler of pongs (the answers to pings, the listener's keepalive pings
    /// included; pongs are not delivered to services without it).
    ///
    /// ```text
    /// #[on_pong]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], [payload: Vec<u8> | Bytes]) -> () | Result<(), E>
    /// ```
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ws_framework::{on_pong, ws_service};
    ///
    /// #[derive(Default)]
    /// struct Health {
    ///     pongs: AtomicU64,
    /// }
    ///
    /// #[ws_service("/health")]
    /// impl Health {
    ///     #[on_pong]
    ///     async fn pong(&self) {
    ///         self.pongs.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    /// ```
    on_pong,
    /// Marks the handler of the end of a connection: the peer's close frame (the echo is
    /// already sent), or an end without one (code 1006).
    ///
    /// ```text
    /// #[on_close]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], [code: CloseCode | u16], [reason: String]) -> () | Result<(), E>
    ///   code and reason are each optional, in any order
    /// ```
    ///
    /// ```
    /// use ws_framework::{on_close, ws_service, Caller, CloseCode};
    ///
    /// #[derive(Default)]
    /// struct Tracked;
    ///
    /// #[ws_service("/tracked")]
    /// impl Tracked {
    ///     #[on_close]
    ///     async fn close(&self, caller: &Caller, code: CloseCode, reason: String) {
    ///         println!("{} left with {code:?} {reason:?}", caller.id());
    ///     }
    /// }
    /// ```
    on_close,
    /// Marks the handler of errors on a connection: a protocol violation by the peer, a
    /// handler's `Err`, a failed write of a returned value, a payload that did not bind (when
    /// its handler has no `error = METHOD`). The connection stays open unless it returns a
    /// close frame; an error raised by this handler itself is only logged.
    ///
    /// ```text
    /// #[on_error]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], [error: ws_framework::Error]) -> R
    ///   R: (), Result<(), E>, a value to send, or a CloseFrame (closes)
    /// ```
    ///
    /// ```
    /// use ws_framework::{on_error, ws_service, CloseCode, CloseFrame, Error};
    ///
    /// #[derive(Default)]
    /// struct Strict;
    ///
    /// #[ws_service("/strict")]
    /// impl Strict {
    ///     #[on_error]
    ///     async fn error(&self, error: Error) -> CloseFrame {
    ///         CloseFrame::new(CloseCode::POLICY_VIOLATION, error.to_string())
    ///     }
    /// }
    /// ```
    on_error,
    /// Marks the handler of the idle timeout: runs when no frame arrived for the service's
    /// `idle_timeout` (which it requires), and again after each further idle period.
    ///
    /// ```text
    /// #[on_idle_timeout]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s]) -> R
    ///   R: (), Result<(), E>, a value to send, or a CloseFrame (closes)
    /// ```
    ///
    /// ```
    /// use ws_framework::{on_idle_timeout, ws_service, CloseCode, CloseFrame};
    ///
    /// #[derive(Default)]
    /// struct Quiet;
    ///
    /// #[ws_service("/quiet", idle_timeout = "30s")]
    /// impl Quiet {
    ///     #[on_idle_timeout]
    ///     async fn idle(&self) -> CloseFrame {
    ///         CloseFrame::new(CloseCode::NORMAL, "idle for 30 s")
    ///     }
    /// }
    /// ```
    on_idle_timeout,
    /// Marks a handler of JSON text messages picked by the value of the service's
    /// `dispatcher_key` field (which it requires).
    ///
    /// ```text
    /// #[on_dispatch("VALUE")]          handles {"KEY": "VALUE", ...}
    /// #[on_dispatch]                   on a method named on_<name>: handles the values that
    ///                                  normalise to <name> ("Connection Init" -> on_connection_init)
    /// #[on_dispatch("VALUE", error = METHOD)]    #[on_dispatch(error = METHOD)]
    /// async fn NAME(&self | &mut self, [caller: &Caller], [#[state] s], [message: T]) -> R
    ///   T: any Deserialize type, bound from the whole object;  R: as for `#[on_text]`
    /// ```
    ///
    /// Text whose key matches no dispatch handler goes to `#[on_text]`, else `#[on_message]`,
    /// else it is dropped.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use ws_framework::{on_dispatch, ws_service};
    ///
    /// #[derive(Deserialize)]
    /// struct Subscribe {
    ///     topic: String,
    /// }
    ///
    /// #[derive(Default)]
    /// struct Topics;
    ///
    /// #[ws_service("/topics", dispatcher_key = "type")]
    /// impl Topics {
    ///     // {"type": "subscribe", "topic": "news"}
    ///     #[on_dispatch]
    ///     async fn on_subscribe(&self, message: Subscribe) -> String {
    ///         format!("subscribed to {}", message.topic)
    ///     }
    ///
    ///     // {"type": "ping"}
    ///     #[on_dispatch("ping")]
    ///     async fn heartbeat(&self) -> &'static str {
    ///         "pong"
    ///     }
    /// }
    /// ```
    on_dispatch,
);
