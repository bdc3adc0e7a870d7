//! What the server reports about itself: `tracing` spans and events, and metrics through the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! Both cost next to nothing until the program installs a consumer: without a `tracing`
//! subscriber the spans and events are skipped, and without a `metrics` recorder every update
//! goes to a no-op recorder. Everything below concerns server-side connections (the
//! [`Listener`](crate::Listener), [`tower::WsService`](crate::tower::WsService) and, with the
//! `axum` feature, `ws_framework::axum`); the [`Client`](crate::Client) reports nothing.
//!
//! # Tracing
//!
//! Target `ws_framework` (module paths under it). Each connection runs inside a span named
//! `ws.connection` (level INFO) with the fields:
//!
//! | field | value |
//! | --- | --- |
//! | `id` | the [`ConnectionId`](crate::ConnectionId), 16 hex digits |
//! | `service` | the Rust type of the service |
//! | `path` | the request path |
//! | `peer` | the peer's address (`0.0.0.0:0` when the host stack did not say) |
//! | `protocol` | the negotiated sub-protocol, empty when none |
//!
//! Events (the handlers' own events inherit the span, so they carry the connection's fields):
//!
//! | level | message | fields |
//! | --- | --- | --- |
//! | DEBUG | `websocket opened` | `compressed` |
//! | DEBUG | `websocket closed` | `code`, `reason` (how the connection ended) |
//! | DEBUG | `websocket handshake refused` | `status`, `path`, `peer`, `reason` (outside the span: no connection yet) |
//! | WARN | `websocket error` | `kind` (as in `ws_errors_total`), `error` |
//! | ERROR | `handler panicked`, `upgrade hook panicked` | `panic` |
//! | ERROR | `accept failed`, `upgrade failed`, `backplane publish failed` | `error` |
//!
//! For example, with `tracing-subscriber`:
//! `tracing_subscriber::fmt().with_env_filter("ws_framework=debug").init()`.
//!
//! # Metrics
//!
//! | name | type | labels | counts |
//! | --- | --- | --- | --- |
//! | `ws_connections_open` | gauge | | open connections |
//! | `ws_connections_total` | counter | | connections opened |
//! | `ws_messages_total` | counter | `direction` = `in`/`out`, `kind` = `text`/`binary`/`ping`/`pong`/`close` | messages (whole messages, not frames) |
//! | `ws_bytes_total` | counter | `direction`, `kind` | payload bytes of those messages (before compression) |
//! | `ws_errors_total` | counter | `kind` | errors on open connections, see below |
//! | `ws_handshake_failures_total` | counter | `status` | upgrade requests answered with anything but 101 |
//!
//! Inbound messages are counted as the dispatch loop takes them: pings and pongs only when the
//! service handles them (`#[on_ping]`, `#[on_pong]`; otherwise the connection answers pings
//! itself and they are not seen). Outbound messages are counted when queued by a handler's
//! return value, a [`Caller`](crate::Caller) or a broadcast; the automatic pongs, keepalive pings
//! and the echo of the peer's close frame are not counted.
//!
//! Error kinds: `protocol` (the peer broke RFC 6455), `too_large` (a frame or message over a
//! limit), `io`, `write_timeout`, `binding` (a payload that did not bind), `validation`,
//! `handler` (a handler's `Err`), `panic` (a handler panicked), `upgrade` (the upgraded stream
//! could not be had), `other`.
//!
//! `examples/metrics.rs` in the repository exports them for Prometheus.

use crate::error::Error;
use crate::proto::Message;
use http::StatusCode;

/// The gauge of open connections.
pub const CONNECTIONS_OPEN: &str = "ws_connections_open";
/// The counter of connections opened.
pub const CONNECTIONS_TOTAL: &str = "ws_connections_total";
/// The counter of messages, by `direction` and `kind`.
pub const MESSAGES_TOTAL: &str = "ws_messages_total";
/// The counter of payload bytes, by `direction` and `kind`.
pub const BYTES_TOTAL: &str = "ws_bytes_total";
/// The counter of errors on open connections, by `kind`.
pub const ERRORS_TOTAL: &str = "ws_errors_total";
/// The counter of refused upgrade requests, by `status`.
pub const HANDSHAKE_FAILURES_TOTAL: &str = "ws_handshake_failures_total";

/// What kind of message a metric counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

impl Kind {
    pub(crate) fn of(message: &Message) -> Self {
        if message.is_text() {
            Self::Text
        } else {
            Self::Binary
        }
    }
}

// The label values are literals in every call, so the keys are static: no allocation per update.
macro_rules! count_message {
    ($direction:literal, $kind:expr, $bytes:expr) => {{
        let bytes = $bytes as u64;
        match $kind {
            Kind::Text => count_message!(@ $direction, "text", bytes),
            Kind::Binary => count_message!(@ $direction, "binary", bytes),
            Kind::Ping => count_message!(@ $direction, "ping", bytes),
            Kind::Pong => count_message!(@ $direction, "pong", bytes),
            Kind::Close => count_message!(@ $direction, "close", bytes),
        }
    }};
    (@ $direction:literal, $kind:literal, $bytes:ident) => {{
        metrics::counter!(MESSAGES_TOTAL, "direction" => $direction, "kind" => $kind).increment(1);
        metrics::counter!(BYTES_TOTAL, "direction" => $direction, "kind" => $kind)
            .increment($bytes);
    }};
}

macro_rules! count_many {
    ($kind:literal, $count:ident, $bytes:ident) => {{
        metrics::counter!(MESSAGES_TOTAL, "direction" => "out", "kind" => $kind).increment($count);
        metrics::counter!(BYTES_TOTAL, "direction" => "out", "kind" => $kind)
            .increment($bytes as u64);
    }};
}

/// A message taken by the dispatch loop.
pub(crate) fn message_in(kind: Kind, bytes: usize) {
    count_message!("in", kind, bytes);
}

/// A message queued for sending by a server-side connection.
pub(crate) fn message_out(kind: Kind, bytes: usize) {
    count_message!("out", kind, bytes);
}

/// The same message queued on `count` server-side connections (a broadcast).
pub(crate) fn messages_out(kind: Kind, count: usize, bytes_each: usize) {
    if count == 0 {
        return;
    }
    let bytes = count * bytes_each;
    let count = count as u64;
    match kind {
        Kind::Text => count_many!("text", count, bytes),
        Kind::Binary => count_many!("binary", count, bytes),
        _ => {}
    }
}

/// A connection opened.
pub(crate) fn connection_opened() {
    metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
    metrics::counter!(CONNECTIONS_TOTAL).increment(1);
}

/// A connection ended.
pub(crate) fn connection_closed() {
    metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
}

/// The `kind` label of an error.
pub(crate) fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::CorruptedFrame(_) | Error::InvalidHandshake { .. } => "protocol",
        Error::PayloadTooLarge(_) => "too_large",
        Error::Connection(_) | Error::Tls { .. } => "io",
        Error::WriteTimedOut => "write_timeout",
        Error::PayloadBinding(_) => "binding",
        Error::PayloadValidation(_) => "validation",
        Error::Handler(_) => "handler",
        _ => "other",
    }
}

/// Counts an error of `kind` (a label of [`ERRORS_TOTAL`]).
pub(crate) fn error(kind: &'static str) {
    match kind {
        "protocol" => metrics::counter!(ERRORS_TOTAL, "kind" => "protocol").increment(1),
        "too_large" => metrics::counter!(ERRORS_TOTAL, "kind" => "too_large").increment(1),
        "io" => metrics::counter!(ERRORS_TOTAL, "kind" => "io").increment(1),
        "write_timeout" => metrics::counter!(ERRORS_TOTAL, "kind" => "write_timeout").increment(1),
        "binding" => metrics::counter!(ERRORS_TOTAL, "kind" => "binding").increment(1),
        "validation" => metrics::counter!(ERRORS_TOTAL, "kind" => "validation").increment(1),
        "handler" => metrics::counter!(ERRORS_TOTAL, "kind" => "handler").increment(1),
        "panic" => metrics::counter!(ERRORS_TOTAL, "kind" => "panic").increment(1),
        "upgrade" => metrics::counter!(ERRORS_TOTAL, "kind" => "upgrade").increment(1),
        other => metrics::counter!(ERRORS_TOTAL, "kind" => other).increment(1),
    }
}

/// Counts and logs an error on an open connection (inside its span).
pub(crate) fn connection_error(error: &Error) {
    let kind = error_kind(error);
    self::error(kind);
    tracing::warn!(kind, error = %error, "websocket error");
}

/// Counts and logs a refused upgrade request.
pub(crate) fn handshake_refused(
    status: StatusCode,
    path: &str,
    peer: Option<std::net::SocketAddr>,
    reason: &str,
) {
    metrics::counter!(HANDSHAKE_FAILURES_TOTAL, "status" => status.as_u16().to_string())
        .increment(1);
    tracing::debug!(
        status = status.as_u16(),
        path,
        peer = peer.map(tracing::field::display),
        reason,
        "websocket handshake refused"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds() {
        assert_eq!(error_kind(&Error::CorruptedFrame("x".into())), "protocol");
        assert_eq!(error_kind(&Error::PayloadTooLarge("x".into())), "too_large");
        assert_eq!(error_kind(&Error::PayloadBinding("x".into())), "binding");
        assert_eq!(error_kind(&Error::WriteTimedOut), "write_timeout");
        assert_eq!(error_kind(&Error::ReadTimedOut), "other");
    }
}
