//! The one error type of ws-framework.

use crate::proto::{CloseCode, ProtocolError};
use std::fmt;

/// Everything that can go wrong, with kinds that mirror Ballerina's websocket errors.
///
/// Messages say what happened and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The opening handshake failed: a non-101 answer, a bad header, a sub-protocol or extension
    /// the other side did not agree to.
    #[error("invalid handshake: {message}")]
    InvalidHandshake {
        /// The HTTP status of the response, when there was one.
        status: Option<http::StatusCode>,
        /// What was wrong.
        message: String,
    },
    /// A frame or message exceeded a configured limit (close 1009).
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The peer broke the protocol: a malformed frame, invalid UTF-8, a bad close code (close 1002/1007).
    #[error("corrupted frame: {0}")]
    CorruptedFrame(String),
    /// The connection failed at the I/O level (refused, reset, broken pipe).
    #[error("connection error: {0}")]
    Connection(#[source] std::io::Error),
    /// The connection is closed or closing; see [`Closure`].
    #[error("{0}")]
    ConnectionClosure(Closure),
    /// A read waited longer than the configured read timeout; the connection stays usable.
    #[error("read timed out")]
    ReadTimedOut,
    /// A write waited longer than the configured write timeout.
    #[error("write timed out")]
    WriteTimedOut,
    /// The opening handshake did not complete within the handshake timeout.
    #[error("handshake timed out")]
    HandshakeTimedOut,
    /// An argument was out of range (for example a close code or a ping payload over 125 bytes).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A URL could not be used to connect.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A received message could not be bound to the requested type (the connection stays open).
    #[error("data binding failed: {0}")]
    PayloadBinding(String),
    /// A bound message failed validation.
    #[error("data validation failed: {0}")]
    PayloadValidation(String),
    /// Credentials could not be produced or were refused.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// TLS configuration or handshake failure; [`TlsErrorKind`] tells the common causes apart.
    #[error("TLS error: {message}")]
    Tls {
        /// What kind of failure.
        kind: TlsErrorKind,
        /// What happened, naming the file or the peer's certificate problem.
        message: String,
    },
    /// A handler returned `Err`: the error goes to the service's `on_error` and the connection
    /// stays open.
    #[error("{0}")]
    Handler(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// The kind of a TLS failure ([`Error::Tls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// Bad TLS settings: a missing, blank, unreadable or mismatched certificate or key file,
    /// an unknown cipher suite, no TLS version left.
    Config,
    /// The peer's certificate is not signed by a trusted CA.
    UntrustedCertificate,
    /// The server's certificate is valid, but not for the host name that was connected to.
    HostnameMismatch,
    /// The peer's certificate is invalid otherwise: expired, not yet valid, badly signed,
    /// revoked, not meant for this use.
    InvalidCertificate,
    /// The two sides have no TLS version in common.
    ProtocolVersion,
    /// The peer refused the handshake: it wants a client certificate, refused ours, or shares
    /// no cipher suite with us.
    PeerRejected,
    /// The TLS handshake did not complete in time.
    HandshakeTimeout,
    /// Any other TLS failure.
    Other,
}

impl fmt::Display for TlsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Config => "TLS configuration error",
            Self::UntrustedCertificate => "untrusted certificate",
            Self::HostnameMismatch => "host name mismatch",
            Self::InvalidCertificate => "invalid certificate",
            Self::ProtocolVersion => "no TLS version in common",
            Self::PeerRejected => "the peer refused the handshake",
            Self::HandshakeTimeout => "TLS handshake timed out",
            Self::Other => "TLS failure",
        })
    }
}

/// Why a connection is, or is becoming, closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Closure {
    /// This side already sent a close frame; nothing more may be sent.
    CloseSent {
        /// What was attempted: "text data", "binary data", "close frame", "ping", "pong".
        attempted: &'static str,
    },
    /// The connection is closed; reading or writing is no longer possible.
    Closed {
        /// The close code received from (or, for 1006, assumed of) the peer.
        code: CloseCode,
        /// The reason received, possibly empty.
        reason: String,
    },
    /// `close` was called with a code that may not be sent.
    InvalidCode(u16),
    /// The peer did not answer our close frame within the timeout; the socket was closed anyway.
    CloseTimeout(std::time::Duration),
}

impl fmt::Display for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CloseSent { attempted: "close frame" } => {
                f.write_str("close frame already sent; cannot send close frame again")
            }
            Self::CloseSent { attempted } => write!(f, "close frame already sent; cannot push {attempted}"),
            Self::Closed { code, reason } if reason.is_empty() => write!(f, "connection closed, status code: {code}"),
            Self::Closed { code, reason } => write!(f, "{reason}: status code: {code}"),
            Self::InvalidCode(code) => write!(
                f,
                "failed to execute close: invalid status code {code} (use 1000-1003, 1007-1011 or 3000-4999)"
            ),
            Self::CloseTimeout(t) => write!(
                f,
                "could not receive a close frame from the remote endpoint within {} s",
                t.as_secs_f64()
            ),
        }
    }
}

impl Error {
    /// The close code and reason when this error is (or carries) a connection closure.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Self::ConnectionClosure(Closure::Closed { code, .. }) => Some(*code),
            _ => None,
        }
    }

    /// Wraps an error a handler returned; an [`Error`] inside the box is unwrapped, not nested.
    pub fn handler(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        match error.into().downcast::<Self>() {
            Ok(error) => *error,
            Err(other) => Self::Handler(other),
        }
    }

    /// The kind of a TLS failure, when this is one.
    pub fn tls_kind(&self) -> Option<TlsErrorKind> {
        match self {
            Self::Tls { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tls(kind: TlsErrorKind, message: impl Into<String>) -> Self {
        Self::Tls {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn closed(code: CloseCode, reason: impl Into<String>) -> Self {
        Self::ConnectionClosure(Closure::Closed {
            code,
            reason: reason.into(),
        })
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        if e.code == CloseCode::MESSAGE_TOO_BIG {
            Self::PayloadTooLarge(e.reason.to_owned())
        } else {
            Self::CorruptedFrame(e.reason.to_owned())
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Connection(e)
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
