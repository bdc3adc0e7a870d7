//! # ws-framework
//!
//! Declarative WebSocket services for Rust: annotate an `impl` block with `#[ws_service]` and
//! its methods with `#[on_text]`, `#[on_binary]`, `#[on_close]`, ... and the framework serves
//! the upgrade, the dispatch, the ping/pong and the closing handshake (RFC 6455), with
//! per-message compression (RFC 7692) on by default.
//!
//! The layers, from the wire up:
//! - [`proto`]: frames, masking, UTF-8, close codes, permessage-deflate; no I/O.
//! - [`handshake`]: the opening handshake as pure functions over `http` types.
//! - [`conn`]: the connection driver over any `AsyncRead + AsyncWrite`.
//! - [`Service`], [`Caller`], [`UpgradeRequest`]: what services are made of.
//! - [`Client`]: the client, with data binding, ping/pong handlers and retry.

pub mod auth;
pub mod binding;
pub mod caller;
pub mod client;
pub mod conn;
mod dispatch;
pub mod error;
pub mod handshake;
pub mod hub;
pub mod listener;
pub mod origin;
pub mod path_template;
mod pem;
pub mod proto;
pub mod serve;
pub mod service;
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;
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
