//! The opening handshake (RFC 6455 section 4), server and client, as pure functions over
//! [`http`] types.
//!
//! Nothing here touches a socket: the engine's own accept and connect paths feed bytes to
//! [`parse_request`] / [`parse_response`] and write what [`write_response`] /
//! [`write_request`] produce, while a hyper-based server hands its `http::Request` straight
//! to [`validate_request`] and [`accept`]. Both paths therefore apply exactly the same rules.
//!
//! Server side: [`parse_request`] → [`validate_request`] → [`accept`] → [`write_response`],
//! or on any failure [`HandshakeError::to_response`].
//!
//! Client side: [`generate_key`] → [`build_request`] → [`write_request`] →
//! [`parse_response`] → [`validate_response`].

mod client;
mod server;

pub use client::{
    build_request, parse_response, validate_response, write_request, ReasonPhrase,
    MAX_RESPONSE_HEADERS,
};
pub use server::{
    accept, parse_request, validate_request, write_response, AcceptConfig, ClientOffer,
    RequestLimits,
};

use crate::proto::deflate::{DeflateParams, ExtensionError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use sha1::{Digest, Sha1};

/// The GUID appended to the client's key before hashing (RFC 6455 section 1.3).
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks, as sent in `Sec-WebSocket-Version`.
const WEBSOCKET_VERSION: &str = "13";

/// Peer-supplied text echoed into error messages (and so into reply bodies) is cut to this
/// many bytes, so a hostile request cannot make the error reply arbitrarily large.
const MAX_ECHO: usize = 64;

/// Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key ++ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
///
/// `key` is the header value exactly as sent (the base64 text, not the decoded bytes).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    BASE64.encode(sha1.finalize())
}

/// Generates a fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (24 characters).
///
/// Uses the operating system's random source. Should that be unavailable, it falls back to
/// std's randomly seeded hasher mixed with the clock and a counter: the key only has to be
/// unpredictable enough that caching proxies cannot replay an old handshake (RFC 6455
/// section 10.3), not to be a cryptographic secret, so a connection is never refused for
/// lack of entropy.
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        fallback_nonce(&mut nonce);
    }
    BASE64.encode(nonce)
}

fn fallback_nonce(nonce: &mut [u8; 16]) {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, chunk) in nonce.chunks_mut(8).enumerate() {
        let word = RandomState::new().hash_one((count, now, i));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

/// What the handshake agreed on, as seen by either side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The selected sub-protocol (`Sec-WebSocket-Protocol`), if any.
    pub protocol: Option<String>,
    /// The agreed permessage-deflate parameters, if compression was negotiated.
    pub deflate: Option<DeflateParams>,
}

/// Whether any `name` header of `headers` lists `token` as one of its comma-separated
/// elements, ASCII case-insensitively and ignoring surrounding whitespace.
///
/// This is how `Connection` (for example `keep-alive, Upgrade`) and `Upgrade` (for example
/// `websocket` or `h2c, WebSocket`) must be read: browsers and proxies put other tokens
/// beside the one we look for, and may spread the list over several header lines.
pub fn header_contains_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(|value| list_contains_token(value.as_bytes(), token))
}

/// Whether the comma-separated list `value` contains `token` (ASCII case-insensitive).
pub fn list_contains_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| element.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether `s` is an RFC 9110 `token` (what sub-protocol and extension names must be).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Cuts peer-supplied text for an error message; see [`MAX_ECHO`].
pub(crate) fn clip(text: &str) -> String {
    if text.len() <= MAX_ECHO {
        return text.to_owned();
    }
    let mut end = MAX_ECHO;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A header value as (lossy) text for an error message, cut with [`clip`].
pub(crate) fn clip_value(value: &HeaderValue) -> String {
    clip(&String::from_utf8_lossy(value.as_bytes()))
}

/// Renders an optional header value found in a message: `` `value` `` or `nothing`.
fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("`{v}`"),
        None => "nothing".to_owned(),
    }
}

/// The list of sub-protocols the client offered, for the sub-protocol errors.
fn expected_protocols(offered: &[String]) -> String {
    if offered.is_empty() {
        "Expected: none, since none was offered".to_owned()
    } else {
        format!("Expected one of: {}", offered.join(", "))
    }
}

/// Appends `name: value` lines for every header value, then the blank line ending the head.
fn write_headers(headers: &HeaderMap, out: &mut Vec<u8>) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Everything that can make an opening handshake fail, on either side.
///
/// Failures a server detects in the client's request carry the HTTP status to answer with
/// ([`HandshakeError::status`]); [`HandshakeError::to_response`] builds the whole reply.
/// Failures a client detects (in its own arguments or in the server's response) are answered
/// by nobody; their `status` is what a gateway relaying the handshake would answer (see
/// there).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    // ---- Server side: reading the request head (the engine's own accept path). ----
    /// The request head is not valid HTTP/1.x. Status 400.
    #[error("Malformed HTTP request: {0}; send a valid HTTP/1.1 request head")]
    MalformedRequest(String),
    /// The request-target is longer than [`RequestLimits::max_uri_len`]. Status 414.
    #[error("Request URI is at least {len} bytes, over the limit of {limit}; use a shorter URI")]
    UriTooLong {
        /// How long the URI is (or how much of it was seen before giving up).
        len: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// The request head is longer than [`RequestLimits::max_head_len`]. Status 431.
    #[error("Request head exceeds {limit} bytes; send fewer or shorter header fields")]
    HeadTooLarge {
        /// The limit it exceeded.
        limit: usize,
    },
    /// The request has more than [`RequestLimits::max_headers`] header fields. Status 431.
    #[error("Request has more than {limit} header fields; send fewer header fields")]
    TooManyHeaders {
        /// The limit it exceeded.
        limit: usize,
    },
    /// The request announces a body (`Content-Length` > 0 or any `Transfer-Encoding`), which
    /// an upgrade request must not have: its bytes would be read as WebSocket frames.
    /// Status 400.
    #[error(
        "A WebSocket handshake request must not have a body; \
         remove Content-Length and Transfer-Encoding"
    )]
    UnexpectedBody,

    // ---- Server side: validating the request. ----
    /// The method is not GET. Status 405, with `Allow: GET`.
    #[error("Method {method} cannot open a WebSocket; use GET")]
    MethodNotAllowed {
        /// The method received (cut to 64 bytes).
        method: String,
    },
    /// The request is older than HTTP/1.1. Status 400 (see [`validate_request`] for why not
    /// 505).
    #[error("{version:?} cannot open a WebSocket; send the handshake as HTTP/1.1")]
    UnsupportedHttpVersion {
        /// The version received.
        version: http::Version,
    },
    /// The `Host` header is missing or empty. Status 400.
    #[error("Missing Host header; send the server's host name in Host")]
    MissingHost,
    /// A header that must appear once appears several times. Status 400.
    #[error("The {name} header appears more than once; send it exactly once")]
    DuplicateHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A header the handshake reads is not visible ASCII text. Status 400.
    #[error("The {name} header is not valid ASCII text; send plain ASCII tokens")]
    InvalidHeaderValue {
        /// The header's name.
        name: &'static str,
    },
    /// There is no `Upgrade` header at all: a plain HTTP request reached a WebSocket-only
    /// endpoint. Status 426, with `Upgrade: websocket` (see [`validate_request`]).
    #[error(
        "This endpoint only speaks WebSocket; send a handshake with \
         Upgrade: websocket and Connection: Upgrade"
    )]
    UpgradeRequired,
    /// The `Upgrade` header does not list `websocket`. Status 400.
    #[error(
        "The Upgrade header must contain `websocket`, got {}; \
         send Upgrade: websocket",
        shown(found)
    )]
    InvalidUpgrade {
        /// The value received (cut to 64 bytes).
        found: Option<String>,
    },
    /// The `Connection` header is missing or does not list `upgrade`. Status 400.
    #[error(
        "The Connection header must contain `Upgrade`, got {}; \
         send Connection: Upgrade",
        shown(found)
    )]
    InvalidConnection {
        /// The value received, if any (cut to 64 bytes).
        found: Option<String>,
    },
    /// `Sec-WebSocket-Key` is missing. Status 400.
    #[error(
        "Missing Sec-WebSocket-Key header; send 16 random bytes, base64-encoded, \
         in Sec-WebSocket-Key"
    )]
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of exactly 16 bytes. Status 400.
    #[error(
        "Sec-WebSocket-Key must be the base64 encoding of exactly 16 bytes, got `{found}`; \
         send a fresh random key"
    )]
    InvalidKey {
        /// The value received (cut to 64 bytes).
        found: String,
    },
    /// `Sec-WebSocket-Version` is missing or not 13. Status 426, with
    /// `Sec-WebSocket-Version: 13`.
    #[error(
        "Unsupported WebSocket version {}; this server speaks version 13 (RFC 6455), \
         send Sec-WebSocket-Version: 13",
        shown(found)
    )]
    UnsupportedWebSocketVersion {
        /// The version received, if any (cut to 64 bytes).
        found: Option<String>,
    },

    // ---- Client side: building the request. ----
    /// The URI has no scheme. Status 500 (a local mistake; nothing is sent).
    #[error("WebSocket URI `{uri}` has no scheme; use ws://host/path or wss://host/path")]
    MissingScheme {
        /// The URI given.
        uri: String,
    },
    /// The URI's scheme is not `ws` or `wss`. Status 500 (a local mistake; nothing is sent).
    #[error("Unsupported URI scheme `{scheme}`; use ws:// or wss://")]
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// The URI has no host. Status 500 (a local mistake; nothing is sent).
    #[error("WebSocket URI `{uri}` has no host; use ws://host[:port]/path")]
    MissingUriHost {
        /// The URI given.
        uri: String,
    },
    /// A value the client was asked to send cannot be put in its header (a sub-protocol
    /// name that is not a token, a key or extension offer that is not visible ASCII).
    /// Status 500 (a local mistake; nothing is sent).
    #[error("Cannot send `{value}` in the {name} header: {reason}")]
    InvalidRequestHeader {
        /// The header's name.
        name: &'static str,
        /// The offending value (cut to 64 bytes).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    // ---- Client side: reading and validating the response. ----
    /// The response head is not valid HTTP/1.x. Status 502.
    #[error("Invalid handshake response: malformed HTTP: {0}")]
    MalformedResponse(String),
    /// The response head is longer than the caller's limit or has more than
    /// [`MAX_RESPONSE_HEADERS`] header fields. Status 502.
    #[error(
        "Invalid handshake response: head exceeds {limit} bytes or {} header fields",
        MAX_RESPONSE_HEADERS
    )]
    ResponseTooLarge {
        /// The byte limit in force.
        limit: usize,
    },
    /// The server answered with something other than 101 Switching Protocols. Status 502
    /// (the server's own status is in `status`).
    #[error("Invalid handshake response: {} {reason}", status.as_u16())]
    Rejected {
        /// The status the server answered with.
        status: StatusCode,
        /// Its reason phrase (the canonical one when the response carried none).
        reason: String,
    },
    /// A 101 response lacks the `Upgrade: websocket` or `Connection: Upgrade` it must carry,
    /// or carries a header the handshake reads that is not ASCII. Status 502.
    #[error(
        "Invalid handshake response: the {name} header must contain `{expected}`, got {}",
        shown(found)
    )]
    InvalidResponseHeader {
        /// The header's name.
        name: &'static str,
        /// What it had to contain.
        expected: &'static str,
        /// What it contained, if anything (cut to 64 bytes).
        found: Option<String>,
    },
    /// `Sec-WebSocket-Accept` is missing, repeated or does not match our key: the server
    /// did not answer this handshake (or a proxy replayed another). Status 502.
    #[error(
        "Invalid handshake response: Sec-WebSocket-Accept is {}, expected `{expected}`",
        shown(found)
    )]
    AcceptKeyMismatch {
        /// The value our key requires.
        expected: String,
        /// The value received, if any (cut to 64 bytes).
        found: Option<String>,
    },
    /// The server selected a sub-protocol the client did not offer. Status 502.
    #[error(
        "Invalid subprotocol. Actual: {actual}. {}",
        expected_protocols(offered)
    )]
    UnofferedProtocol {
        /// What the server selected (cut to 64 bytes).
        actual: String,
        /// What the client offered.
        offered: Vec<String>,
    },
    /// The client offered sub-protocols and the server selected none. Status 502.
    #[error("Invalid subprotocol. Actual: none. {}", expected_protocols(offered))]
    MissingProtocol {
        /// What the client offered.
        offered: Vec<String>,
    },
    /// The server accepted an extension the client did not offer. Status 502.
    #[error(
        "Invalid handshake response: the server accepted extension `{name}`, which was not offered"
    )]
    UnofferedExtension {
        /// The extension's name (cut to 64 bytes).
        name: String,
    },
    /// The server's permessage-deflate acceptance is invalid (RFC 7692). Status 502.
    #[error("Invalid handshake response: {0}")]
    Extension(ExtensionError),
}

impl HandshakeError {
    /// The HTTP status a server answers this failure with.
    ///
    /// 400, 405, 414, 426 or 431 for failures in a client's request. Failures only a client
    /// can meet are never answered on the wire; for them this is what a gateway relaying the
    /// handshake would answer: 502 Bad Gateway when the server's response is at fault
    /// (including [`HandshakeError::Rejected`], whose own status is in its field) and 500
    /// Internal Server Error when the client's own arguments are.
    pub fn status(&self) -> StatusCode {
        use HandshakeError::*;
        match self {
            MalformedRequest(_)
            | UnexpectedBody
            | UnsupportedHttpVersion { .. }
            | MissingHost
            | DuplicateHeader { .. }
            | InvalidHeaderValue { .. }
            | InvalidUpgrade { .. }
            | InvalidConnection { .. }
            | MissingKey
            | InvalidKey { .. } => StatusCode::BAD_REQUEST,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            HeadTooLarge { .. } | TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            UpgradeRequired | UnsupportedWebSocketVersion { .. } => StatusCode::UPGRADE_REQUIRED,
            MissingScheme { .. }
            | UnsupportedScheme { .. }
            | MissingUriHost { .. }
            | InvalidRequestHeader { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            MalformedResponse(_)
            | ResponseTooLarge { .. }
            | Rejected { .. }
            | InvalidResponseHeader { .. }
            | AcceptKeyMismatch { .. }
            | UnofferedProtocol { .. }
            | MissingProtocol { .. }
            | UnofferedExtension { .. }
            | Extension(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The complete error reply a server sends for this failure: [`status`](Self::status),
    /// a short `text/plain` body saying what was wrong and what to do (this error's
    /// message), `Content-Length`, and `Connection: close` since the connection is not
    /// reused after a failed handshake.
    ///
    /// A 426 also carries `Sec-WebSocket-Version: 13` (RFC 6455 section 4.4) and
    /// `Upgrade: websocket` with `Connection: Upgrade, close` (RFC 9110 section 15.5.22
    /// requires the Upgrade header on a 426); a 405 carries `Allow: GET`.
    pub fn to_response(&self) -> Response<String> {
        let status = self.status();
        let body = format!("{self}\n");
        let len = body.len();
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        match status {
            StatusCode::UPGRADE_REQUIRED => {
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(
                    header::CONNECTION,
                    HeaderValue::from_static("Upgrade, close"),
                );
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static(WEBSOCKET_VERSION),
                );
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_section_1_3_vector() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_16_random_bytes() {
        let a = generate_key();
        let b = generate_key();
        assert_eq!(a.len(), 24);
        assert_eq!(BASE64.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
        let mut n1 = [0u8; 16];
        let mut n2 = [0u8; 16];
        fallback_nonce(&mut n1);
        fallback_nonce(&mut n2);
        assert_ne!(n1, n2);
    }

    #[test]
    fn token_lists() {
        assert!(list_contains_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(list_contains_token(b"UPGRADE", "upgrade"));
        assert!(list_contains_token(b" websocket ", "websocket"));
        assert!(list_contains_token(b"h2c,WebSocket", "websocket"));
        assert!(list_contains_token(b",,websocket,", "websocket"));
        assert!(!list_contains_token(b"upgrade-insecure", "upgrade"));
        assert!(!list_contains_token(b"websocket/13", "websocket"));
        assert!(!list_contains_token(b"", "websocket"));

        let mut headers = HeaderMap::new();
        headers.append(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!header_contains_token(
            &headers,
            &header::CONNECTION,
            "upgrade"
        ));
        headers.append(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        assert!(header_contains_token(
            &headers,
            &header::CONNECTION,
            "upgrade"
        ));
        assert!(!header_contains_token(
            &headers,
            &header::UPGRADE,
            "websocket"
        ));
    }

    #[test]
    fn tokens() {
        assert!(is_token("chat.v2+json"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a,b"));
        assert!(!is_token("a\"b"));
        assert!(!is_token("é"));
    }

    #[test]
    fn clip_cuts_on_char_boundaries() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(40); // 80 bytes
        let clipped = clip(&long);
        assert!(clipped.ends_with("..."));
        assert!(clipped.len() <= MAX_ECHO + 3);
    }

    #[test]
    fn error_responses() {
        let resp = HandshakeError::UnsupportedWebSocketVersion {
            found: Some("8".into()),
        }
        .to_response();
        assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(resp.headers()[header::UPGRADE], "websocket");
        assert!(resp.body().contains("version `8`"));
        assert_eq!(
            resp.headers()[header::CONTENT_LENGTH],
            resp.body().len().to_string().as_str()
        );

        let resp = HandshakeError::MethodNotAllowed {
            method: "POST".into(),
        }
        .to_response();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET");
        assert_eq!(resp.headers()[header::CONNECTION], "close");
        assert_eq!(
            resp.body(),
            "Method POST cannot open a WebSocket; use GET\n"
        );

        let resp = HandshakeError::UpgradeRequired.to_response();
        assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_VERSION], "13");

        let resp = HandshakeError::MissingKey.to_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get(header::SEC_WEBSOCKET_VERSION).is_none());
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn client_side_messages() {
        let err = HandshakeError::Rejected {
            status: StatusCode::BAD_REQUEST,
            reason: "Bad Request".into(),
        };
        assert_eq!(
            err.to_string(),
            "Invalid handshake response: 400 Bad Request"
        );
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        let err = HandshakeError::MissingProtocol {
            offered: vec!["xml".into()],
        };
        assert_eq!(
            err.to_string(),
            "Invalid subprotocol. Actual: none. Expected one of: xml"
        );
        let err = HandshakeError::UnofferedProtocol {
            actual: "json".into(),
            offered: vec!["xml".into(), "soap".into()],
        };
        assert_eq!(
            err.to_string(),
            "Invalid subprotocol. Actual: json. Expected one of: xml, soap"
        );
        let err = HandshakeError::UnofferedProtocol {
            actual: "json".into(),
            offered: vec![],
        };
        assert_eq!(
            err.to_string(),
            "Invalid subprotocol. Actual: json. Expected: none, since none was offered"
        );
    }
}
