//! The trait a `#[ws_service]` implements, and the values that flow through it.
//!
//! Users normally never implement [`Service`] by hand: the `#[ws_service]` attribute generates
//! the impl from the marked methods. Implementing it directly is supported and is what the
//! generated code does, so it stays small: one `upgrade` and one `handle` whose body is a `match`.

use crate::auth::Auth;
use crate::caller::Caller;
use crate::error::Error;
use crate::proto::deflate::DeflateConfig;
use crate::proto::{CloseCode, CloseFrame, Utf8Bytes};
use crate::upgrade::{UpgradeError, UpgradeRequest};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// One event of a connection, handed to [`Service::handle`] in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The handshake completed; no message has been dispatched yet.
    Open,
    /// A complete text message.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping (only dispatched when the service handles pings; otherwise pongs are automatic).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer started the closing handshake (our echo is already sent).
    Close {
        /// The peer's code; 1005 ([`CloseCode::NO_STATUS`]) when it sent none.
        code: CloseCode,
        /// The peer's reason, possibly empty.
        reason: String,
    },
    /// An error on this connection: a protocol violation by the peer, a failed write of a
    /// returned value, a handler's `Err`, or a payload that failed to bind.
    Error(Error),
    /// No frame arrived within the service's idle timeout.
    IdleTimeout,
}

/// What a handler's return value asks the runtime to do.
#[non_exhaustive]
pub enum Reply {
    /// Nothing.
    None,
    /// Send a text message.
    Text(Utf8Bytes),
    /// Send a binary message.
    Binary(Bytes),
    /// Send a pong (what `on_ping` returns).
    Pong(Bytes),
    /// Start the closing handshake with this frame and wait up to the service's close timeout.
    Close(CloseFrame),
    /// Send each item as it is produced, while other messages keep being handled.
    Stream(ReplyStream),
    /// The handler failed: the error goes to the service's `on_error` (the connection lives on).
    Error(Error),
    /// Binding the payload failed and the service has no handler for that: close 1003.
    BindingFailed(String),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Text(t) => f.debug_tuple("Text").field(t).finish(),
            Self::Binary(b) => f.debug_tuple("Binary").field(b).finish(),
            Self::Pong(b) => f.debug_tuple("Pong").field(b).finish(),
            Self::Close(c) => f.debug_tuple("Close").field(c).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
            Self::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Self::BindingFailed(e) => f.debug_tuple("BindingFailed").field(e).finish(),
        }
    }
}

/// A stream of replies: polled by the runtime, one message per item.
pub type ReplyStream = Pin<Box<dyn futures_core::Stream<Item = Reply> + Send + 'static>>;

/// Which handlers a service has; lets the runtime answer pings itself and skip idle timers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handlers {
    /// The service answers pings itself (`#[on_ping]`); otherwise pongs are automatic.
    pub ping: bool,
    /// The service wants pongs (`#[on_pong]`).
    pub pong: bool,
    /// The service has `#[on_idle_timeout]`.
    pub idle_timeout: bool,
}

impl Handlers {
    /// No optional handler.
    pub const NONE: Self = Self {
        ping: false,
        pong: false,
        idle_timeout: false,
    };

    /// With `#[on_ping]`.
    pub const fn with_ping(mut self) -> Self {
        self.ping = true;
        self
    }

    /// With `#[on_pong]`.
    pub const fn with_pong(mut self) -> Self {
        self.pong = true;
        self
    }

    /// With `#[on_idle_timeout]`.
    pub const fn with_idle_timeout(mut self) -> Self {
        self.idle_timeout = true;
        self
    }
}

/// A service's settings (Ballerina's `@ServiceConfig`), with the defaults documented on each
/// setter.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The path template, e.g. `/chat/{room}`.
    pub path: &'static str,
    /// Sub-protocols the service speaks (default none); the first one the client offers, in
    /// the client's order, is selected.
    pub protocols: Vec<String>,
    /// Dispatch `on_idle_timeout` after this long without a frame (default off).
    pub idle_timeout: Option<Duration>,
    /// Inbound frame limit and outbound fragment size (default 65536).
    pub max_frame_size: usize,
    /// Inbound message limit, after decompression (default 16 MiB).
    pub max_message_size: usize,
    /// How long `close` waits for the peer's close frame (default 60 s; `None` waits forever).
    pub close_timeout: Option<Duration>,
    /// Negotiate permessage-deflate when the client offers it (default on).
    pub compression: bool,
    /// How permessage-deflate is negotiated and run: level, threshold, windows, context
    /// takeover. Default [`DeflateConfig::lean_server`]: no compression context kept between
    /// messages on our side, so no compressor memory per connection.
    pub deflate: DeflateConfig,
    /// The JSON field whose value picks a custom handler for text messages (default none).
    pub dispatcher_key: Option<&'static str>,
    /// Bytes that may wait to be sent to one connection before writers wait (default 1 MiB).
    pub write_buffer_limit: usize,
    /// How long a write waits for room before failing (default: forever).
    pub write_timeout: Option<Duration>,
    /// Close a connection whose buffer stayed full past the write timeout with this code
    /// (1008 or 1013); `None` (default) only fails that write.
    pub overflow_close: Option<CloseCode>,
    /// Origins allowed to open connections (default: any); see [`crate::origin`].
    pub allowed_origins: Vec<String>,
    /// Refuse requests without an `Origin` header (default false: non-browser clients send
    /// none).
    pub require_origin: bool,
    /// Authentication and required scopes (default none); see [`crate::auth`].
    pub auth: Option<Auth>,
}

impl ServiceConfig {
    /// The defaults for a service at `path`.
    pub fn new(path: &'static str) -> Self {
        Self {
            path,
            protocols: Vec::new(),
            idle_timeout: None,
            max_frame_size: 65536,
            max_message_size: 16 << 20,
            close_timeout: Some(Duration::from_secs(60)),
            compression: true,
            deflate: DeflateConfig::lean_server(),
            dispatcher_key: None,
            write_buffer_limit: 1 << 20,
            write_timeout: None,
            overflow_close: None,
            allowed_origins: Vec::new(),
            require_origin: false,
            auth: None,
        }
    }

    /// Origins allowed to open connections: exact origins (`https://app.example.com`) and
    /// sub-domain patterns (`*.example.com`); any other origin gets 403 before any handler
    /// runs. Requests without `Origin` are allowed unless [`ServiceConfig::require_origin`].
    /// An invalid pattern fails [`crate::Listener::attach`].
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Refuses (403) requests that carry no `Origin` header.
    pub fn require_origin(mut self, on: bool) -> Self {
        self.require_origin = on;
        self
    }

    /// Authenticates every upgrade request (401 without valid credentials, 403 without a
    /// required scope) before the upgrade hook runs.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sub-protocols the service speaks. The handshake selects the first protocol the client
    /// offers that is in this list (the client's order wins, as in Ballerina); with no match,
    /// the connection opens without a sub-protocol.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Idle timeout; zero turns it off.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Maximum frame size; zero means the default, 65536.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = if bytes == 0 { 65536 } else { bytes };
        self
    }

    /// Maximum message size; zero means the default, 16 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = if bytes == 0 { 16 << 20 } else { bytes };
        self
    }

    /// Close timeout; `None` waits forever (Ballerina's -1).
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Turns permessage-deflate on or off.
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// How permessage-deflate is negotiated and run (see [`ServiceConfig::deflate`]), e.g.
    /// `DeflateConfig::default()` to keep the compression context between messages: better
    /// ratio on repetitive messages, about 140 KiB more per connection while it sends.
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = deflate;
        self
    }

    /// The outbound buffer bound per connection, in bytes.
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.write_buffer_limit = bytes.max(1);
        self
    }

    /// How long a write may wait for room.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = Some(timeout);
        self
    }

    /// Close slow readers with `code` once a write timed out (see [`ServiceConfig::write_timeout`]).
    pub fn overflow_close(mut self, code: CloseCode) -> Self {
        self.overflow_close = Some(code);
        self
    }

    /// The dispatcher key for custom handlers.
    pub fn dispatcher_key(mut self, key: &'static str) -> Self {
        self.dispatcher_key = Some(key);
        self
    }
}

/// A WebSocket service: how to accept a connection and how to handle its events.
///
/// `Self` is the per-connection value (Ballerina's service object returned by `get`);
/// [`Service::State`] is shared by all connections of the service.
pub trait Service: Sized + Send + 'static {
    /// State shared by every connection, given to [`crate::Listener::attach`].
    type State: Send + Sync + 'static;

    /// Which optional handlers exist.
    const HANDLERS: Handlers;

    /// The path template and settings.
    fn config() -> ServiceConfig;

    /// Accepts (returning the per-connection value) or rejects the upgrade request.
    fn upgrade(
        request: &mut UpgradeRequest,
        state: &Arc<Self::State>,
    ) -> impl Future<Output = Result<Self, UpgradeError>> + Send;

    /// Handles one event; the runtime acts on the reply. Events of one connection are handled
    /// one at a time, in order.
    fn handle<'a>(
        &'a mut self,
        caller: &'a Caller,
        state: &'a Arc<Self::State>,
        event: Event,
    ) -> impl Future<Output = Reply> + Send + 'a;
}
