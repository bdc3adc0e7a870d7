//! # ws-framework
//!
//! Declarative WebSocket services for Rust, on tokio: annotate an `impl` block with
//! [`#[ws_service("/path")]`][ws_service] and its methods with [`#[on_text]`][on_text],
//! [`#[on_open]`][on_open], [`#[on_close]`][on_close], ... and the framework serves the upgrade,
//! routes by path, binds parameters and payloads, runs the handlers one event at a time per
//! connection, sends what they return, and does the pings and the closing handshake
//! (RFC 6455), with per-message compression (RFC 7692) on by default. A [`Client`] with the
//! same data binding comes with it.
//!
//! - [Quick start](#quick-start)
//! - [Handlers](#handlers)
//! - [The `Caller`: writing, groups, attributes](#the-caller-writing-groups-attributes)
//! - [The `Client`](#the-client)
//! - [Configuration](#configuration)
//! - [TLS](#tls)
//! - [Serving from axum, hyper or tower](#serving-from-axum-hyper-or-tower)
//! - [Observability](#observability)
//! - [Testing your services](#testing-your-services)
//! - [Feature flags](#feature-flags)
//! - [The layers underneath](#the-layers-underneath)
//!
//! # Quick start
//!
//! ```no_run
//! use ws_framework::{on_text, ws_service};
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! #[ws_service("/echo")]
//! impl Echo {
//!     #[on_text]
//!     async fn text(&self, text: String) -> String {
//!         text
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> ws_framework::Result<()> {
//!     // Until Ctrl-C, then every connection gets 1001 "going away".
//!     ws_framework::serve::<Echo>("127.0.0.1:9001").await
//! }
//! ```
//!
//! Each connection gets its own `Echo` (from `Default`, as there is no `#[on_upgrade]` hook);
//! what a handler returns is sent back, a `String` as a text message. Without a tokio `main`,
//! [`block_on`] runs the server on a runtime of its own.
//!
//! # Handlers
//!
//! `Self` is the per-connection value; `state = T` is shared by every connection of the
//! service. Handlers are `async fn`s whose parameters are bound by type: an optional
//! [`&Caller`](Caller), an optional `#[state]` parameter, and the value the event carries.
//! [`ws_service`][ws_service] documents the whole grammar, and each marker its own.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use ws_framework::{
//!     on_close, on_error, on_open, on_text, on_upgrade, ws_service, Caller, CloseCode, Error,
//!     UpgradeError,
//! };
//!
//! #[derive(Default)]
//! struct Stats {
//!     moves: AtomicUsize,
//! }
//!
//! #[derive(Deserialize)]
//! struct Move {
//!     x: i32,
//!     y: i32,
//! }
//!
//! #[derive(Serialize)]
//! struct Ack {
//!     total: usize,
//! }
//!
//! struct Game {
//!     room: String,
//!     player: String,
//! }
//!
//! #[ws_service("/games/{room}", state = Stats, idle_timeout = 300)]
//! impl Game {
//!     // Path parameters and query parameters (`?player=ann`) by name; refuse with a status.
//!     #[on_upgrade]
//!     async fn upgrade(room: String, player: Option<String>) -> Result<Self, UpgradeError> {
//!         let player = player.ok_or_else(|| UpgradeError::bad_request("player is missing"))?;
//!         Ok(Game { room, player })
//!     }
//!
//!     #[on_open]
//!     async fn open(&self, caller: &Caller) -> ws_framework::Result<String> {
//!         caller.join(&self.room)?;
//!         Ok(format!("welcome to {}, {}", self.room, self.player))
//!     }
//!
//!     // The payload is bound from JSON; the return value is sent as JSON.
//!     #[on_text]
//!     async fn play(&mut self, #[state] stats: &Stats, m: Move) -> Ack {
//!         let _ = (m.x, m.y);
//!         Ack { total: stats.moves.fetch_add(1, Ordering::Relaxed) + 1 }
//!     }
//!
//!     #[on_close]
//!     async fn close(&self, code: CloseCode, reason: String) {
//!         println!("{} left: {code:?} {reason}", self.player);
//!     }
//!
//!     // Protocol errors, a handler's `Err`, payloads that did not bind.
//!     #[on_error]
//!     async fn error(&self, error: Error) {
//!         eprintln!("{error}");
//!     }
//! }
//! ```
//!
//! Return values: `()` sends nothing, strings are sent as text, `Vec<u8>` / [`Bytes`](bytes::Bytes)
//! as binary, any other `Serialize` value as JSON text, a [`CloseFrame`] closes, a `Stream` sends
//! one message per item, `Option::None` sends nothing and `Err(e)` goes to `#[on_error]`.
//! A service can also implement [`Service`] by hand; the macro generates nothing more.
//!
//! # The `Caller`: writing, groups, attributes
//!
//! A [`Caller`] is one server-side connection. It is cheap to clone and may be kept and written
//! to from any task: [`Caller::write_text`], [`Caller::write_message`] (JSON),
//! [`Caller::close`], per-connection attributes ([`Caller::set_attribute`]), the peer's address,
//! the negotiated sub-protocol. Groups (rooms, topics) live in the listener's [`Hub`]:
//!
//! ```
//! use ws_framework::{on_open, on_text, ws_service, Caller};
//!
//! #[derive(Default)]
//! struct Room;
//!
//! #[ws_service("/room")]
//! impl Room {
//!     #[on_open]
//!     async fn open(&self, caller: &Caller) -> ws_framework::Result<()> {
//!         caller.set_attribute("joined", std::time::Instant::now());
//!         caller.join("lobby")
//!     }
//!
//!     #[on_text]
//!     async fn text(&self, caller: &Caller, text: String) {
//!         // Encoded once, queued to every member without waiting on slow ones.
//!         caller.group("lobby").except(caller.id()).send_text(text).await;
//!     }
//! }
//! ```
//!
//! # The `Client`
//!
//! [`Client::connect`] or [`Client::builder`] (headers, sub-protocols, authentication, TLS,
//! timeouts, ping/pong callbacks, retry with backoff). Reads and writes may happen from any
//! task:
//!
//! ```no_run
//! # async fn run() -> ws_framework::Result<()> {
//! use std::time::Duration;
//! use ws_framework::{Client, RetryConfig};
//!
//! let client = Client::builder("ws://127.0.0.1:9001/games/a?player=ann")
//!     .header("x-trace", "1")
//!     .read_timeout(Duration::from_secs(30))
//!     .retry(RetryConfig::new().max_count(5))
//!     .connect()
//!     .await?;
//! client.write_text(r#"{"x": 1, "y": 2}"#).await?;
//! let welcome = client.read_text().await?;
//! let ack: serde_json::Value = client.read_message().await?;
//! client.close(1000, "bye", None).await?;
//! # let _ = (welcome, ack); Ok(()) }
//! ```
//!
//! # Configuration
//!
//! Per service, as arguments of [`ws_service`][ws_service] (the [`ServiceConfig`] they build):
//! sub-protocols, idle timeout, frame and message limits, close timeout, compression, the JSON
//! dispatcher key, the outbound buffer and write timeout, allowed origins, authentication
//! ([`Auth`]). Per listener, a [`ListenerConfig`]: request timeout, URI and header limits,
//! keepalive pings, connection limit, shutdown timeout, TLS. A [`Listener`] serves any number
//! of services on one port, routed by path template (the most specific wins), plus plain HTTP
//! routes ([`Listener::http_route`]):
//!
//! ```no_run
//! # #[derive(Default)] struct Echo;
//! # #[ws_framework::ws_service("/echo")] impl Echo {}
//! # async fn run() -> ws_framework::Result<()> {
//! use std::time::Duration;
//! use ws_framework::{Keepalive, Listener, ListenerConfig};
//!
//! let config = ListenerConfig::default()
//!     .max_connections(10_000)
//!     .keepalive(Some(Keepalive { interval: Duration::from_secs(30), timeout: Duration::from_secs(10) }))
//!     .shutdown_timeout(Duration::from_secs(5));
//! let listener = Listener::bind_with("0.0.0.0:9001", config).await?;
//! listener.attach::<Echo>()?;
//! listener.http_route("/health", |_request| async { ws_framework::http::Response::new("ok".into()) })?;
//! ws_framework::run_until_ctrl_c(&listener).await
//! # }
//! ```
//!
//! # TLS
//!
//! With the `tls` feature (on by default): `wss://` through rustls, configured by
//! [`ListenerConfig::tls`][listener-tls] on the server and [`ClientBuilder::tls`][client-tls] on
//! the client; see [`tls`][tls-module] for client certificates (mutual TLS), versions and cipher
//! suites.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn run() -> ws_framework::Result<()> {
//! use ws_framework::tls::{ClientTlsConfig, TlsConfig};
//! use ws_framework::{Client, Listener, ListenerConfig};
//!
//! let tls = TlsConfig::from_pem_files("cert.pem", "key.pem");
//! let listener = Listener::bind_with("0.0.0.0:9443", ListenerConfig::default().tls(tls)).await?;
//! // ... attach services, run ...
//!
//! let client = Client::builder("wss://localhost:9443/echo")
//!     .tls(ClientTlsConfig::new().ca_file("ca.pem"))
//!     .connect()
//!     .await?;
//! # let _ = (listener, client); Ok(()) }
//! ```
//!
//! # Serving from axum, hyper or tower
//!
//! The [`Listener`] is not required: [`tower::WsService`] answers the upgrade requests of a
//! service inside any hyper 1 or tower stack, and with the `axum` feature
//! `ws_framework::axum::ws::<S, _>()` mounts a service on an axum 0.8 `Router`, taking its
//! state from the router's state:
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # fn app() -> axum::Router {
//! # use std::sync::Arc;
//! # #[derive(Default)] struct ChatState;
//! # #[derive(Default)] struct Chat;
//! # #[ws_framework::ws_service("/chat/{room}", state = ChatState)] impl Chat {}
//! # let chat_state = Arc::new(ChatState);
//! let app = axum::Router::new()
//!     .route("/chat/{room}", ws_framework::axum::ws::<Chat, _>())
//!     // Or a state of the app's own, from which `Arc<ChatState>` is had through `FromRef`.
//!     .with_state(chat_state);
//! # app
//! # }
//! ```
//!
//! See [`tower`] (and, with the feature, the [axum module][axum-module]) for routing, the peer
//! address and groups there.
//!
//! # Observability
//!
//! Every connection runs in a `tracing` span (`ws.connection`, with its id, service, path,
//! peer and sub-protocol), with events for open, close (code and reason), errors, handler
//! panics and refused handshakes; counters and gauges go through the `metrics` facade (open
//! connections, messages and bytes in and out by kind, errors by kind, handshake failures by
//! status). Both cost nothing until the program installs a subscriber or a recorder. The names
//! are listed in [`observability`]; `examples/metrics.rs` exports them for Prometheus.
//!
//! # Testing your services
//!
//! [`testing`] starts a service on a free port of 127.0.0.1 and connects clients to it, one line
//! each:
//!
//! ```
//! # use ws_framework::{on_text, ws_service};
//! # #[derive(Default)] struct Echo;
//! # #[ws_service("/echo")] impl Echo { #[on_text] async fn text(&self, t: String) -> String { t } }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let server = ws_framework::testing::serve::<Echo>().await;
//! let client = server.client("/echo").await;
//! client.write_text("ping").await.unwrap();
//! assert_eq!(client.read_text().await.unwrap(), "ping");
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `macros` (default): [`ws_service`][ws_service] and the handler markers.
//! - `tls` (default): `wss://` for the listener and the client (rustls with the `ring`
//!   provider), and HTTPS for the OAuth2 introspection and token endpoints; the [`tls`][tls-module]
//!   module.
//! - `tower`: [`tower::WsService`] also implements `tower_service::Service` (it always
//!   implements hyper's `Service`).
//! - `axum`: the `ws_framework::axum` module, to mount services on an axum 0.8 `Router`;
//!   turns on `tower`.
//!
//! # The layers underneath
//!
//! From the wire up:
//! - [`proto`]: frames, masking, UTF-8, close codes, permessage-deflate; no I/O.
//! - [`handshake`]: the opening handshake as pure functions over `http` types.
//! - [`conn`]: the connection driver over any `AsyncRead + AsyncWrite`; [`stream`] accepts and
//!   connects over any stream.
//! - [`Service`], [`Caller`], [`UpgradeRequest`]: what services are made of.
//! - [`Client`]: the client, with data binding, ping/pong handlers and retry.
//!
//! <!-- Links to items of optional features: to their neighbours when the feature is off. -->
#![cfg_attr(feature = "axum", doc = "[axum-module]: crate::axum")]
#![cfg_attr(not(feature = "axum"), doc = "[axum-module]: crate::tower")]
#![cfg_attr(feature = "macros", doc = "[ws_service]: crate::ws_service")]
#![cfg_attr(feature = "macros", doc = "[on_text]: crate::on_text")]
#![cfg_attr(feature = "macros", doc = "[on_open]: crate::on_open")]
#![cfg_attr(feature = "macros", doc = "[on_close]: crate::on_close")]
#![cfg_attr(not(feature = "macros"), doc = "[ws_service]: crate::service")]
#![cfg_attr(not(feature = "macros"), doc = "[on_text]: crate::service")]
#![cfg_attr(not(feature = "macros"), doc = "[on_open]: crate::service")]
#![cfg_attr(not(feature = "macros"), doc = "[on_close]: crate::service")]
#![cfg_attr(feature = "tls", doc = "[tls-module]: crate::tls")]
#![cfg_attr(feature = "tls", doc = "[listener-tls]: crate::ListenerConfig::tls")]
#![cfg_attr(feature = "tls", doc = "[client-tls]: crate::ClientBuilder::tls")]
#![cfg_attr(not(feature = "tls"), doc = "[tls-module]: crate::ListenerConfig")]
#![cfg_attr(not(feature = "tls"), doc = "[listener-tls]: crate::ListenerConfig")]
#![cfg_attr(not(feature = "tls"), doc = "[client-tls]: crate::ClientBuilder")]

pub mod auth;
#[cfg(feature = "axum")]
pub mod axum;
pub mod binding;
pub mod caller;
pub mod client;
pub mod conn;
mod dispatch;
pub mod error;
pub mod handshake;
mod http_date;
pub mod hub;
pub mod listener;
pub mod observability;
pub mod origin;
pub mod path_template;
mod pem;
pub mod proto;
pub mod serve;
pub mod service;
mod session;
pub mod stream;
pub mod testing;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tower;
mod transport;
pub mod upgrade;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;

/// The `http` crate, re-exported for request and response types.
pub use http;

/// The `bytes` crate, re-exported: binary payloads are `Bytes`.
pub use bytes;

pub use auth::{Auth, AuthProvider, ClientAuth, Principal};
pub use caller::{Caller, ConnectionId};
pub use client::{Client, ClientBuilder, RetryConfig, RetryEvent};
pub use conn::{ConnConfig, Incoming, Keepalive, WebSocket};
pub use error::{Closure, Error, Result, TlsErrorKind};
pub use hub::{Delivery, Hub, Overflow};
pub use listener::{HttpRequest, Listener, ListenerConfig};
pub use proto::close::{
    GOING_AWAY, INTERNAL_SERVER_ERROR, INVALID_PAYLOAD, MESSAGE_TOO_BIG, NORMAL_CLOSURE,
    POLICY_VIOLATION, PROTOCOL_ERROR, UNSUPPORTED_DATA,
};
pub use proto::{CloseCode, CloseFrame, Message, Utf8Bytes};
pub use serve::{block_on, run_until_ctrl_c, serve};
pub use service::{Event, Handlers, Reply, Service, ServiceConfig};
pub use upgrade::{UpgradeError, UpgradeRequest};
#[cfg(feature = "macros")]
pub use ws_macros::{
    on_binary, on_close, on_dispatch, on_error, on_idle_timeout, on_message, on_open, on_ping,
    on_pong, on_text, on_upgrade, ws_service,
};
