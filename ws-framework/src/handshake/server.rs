//! The server's half of the opening handshake: read and check the client's request, then
//! answer it (RFC 6455 section 4.2).

use super::{
    accept_key, clip, clip_value, header_contains_token, HandshakeError, Negotiated,
    WEBSOCKET_VERSION,
};
use crate::proto::deflate::DeflateConfig;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};

/// Bounds on a request head read by [`parse_request`], so a client cannot make the server
/// buffer without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Longest request-target accepted, in bytes; longer fails with 414 URI Too Long.
    /// Default 4096.
    pub max_uri_len: usize,
    /// Longest request head accepted (request line, header fields and the blank line), in
    /// bytes; longer fails with 431 Request Header Fields Too Large. Default 8192.
    pub max_head_len: usize,
    /// Most header fields accepted; more fails with 431 Request Header Fields Too Large.
    /// Default 64.
    pub max_headers: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_uri_len: 4096,
            max_head_len: 8192,
            max_headers: 64,
        }
    }
}

/// Parses an HTTP/1.x request head from the start of `buf`, incrementally.
///
/// Returns `Ok(None)` while the head is incomplete: call again with more bytes appended.
/// Once complete, returns the request (method, request-target, version and headers; HTTP/1.0
/// heads parse too, [`validate_request`] rejects them) and the length of the head in bytes;
/// whatever follows in `buf` is not part of it.
///
/// # Errors
///
/// - [`HandshakeError::MalformedRequest`] (400): not HTTP/1.x, or a header name, value or
///   request-target that `http` rejects.
/// - [`HandshakeError::UriTooLong`] (414): the request-target exceeds
///   [`RequestLimits::max_uri_len`]; detected as soon as that many bytes of it have arrived.
/// - [`HandshakeError::HeadTooLarge`] (431): the head exceeds
///   [`RequestLimits::max_head_len`], complete or not, so a head that never ends fails
///   instead of asking for more bytes forever.
/// - [`HandshakeError::TooManyHeaders`] (431): more than [`RequestLimits::max_headers`]
///   header fields.
/// - [`HandshakeError::UnexpectedBody`] (400): `Content-Length` > 0 or any
///   `Transfer-Encoding`. The engine cannot skip a body, and its bytes would otherwise be
///   taken for WebSocket frames.
pub fn parse_request(
    buf: &[u8],
    limits: &RequestLimits,
) -> Result<Option<(Request<()>, usize)>, HandshakeError> {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            let uri_len = req.path.map_or_else(|| partial_uri_len(buf), str::len);
            if uri_len > limits.max_uri_len {
                return Err(HandshakeError::UriTooLong {
                    len: uri_len,
                    limit: limits.max_uri_len,
                });
            }
            // An incomplete head already this long can only end up longer than the limit.
            if buf.len() >= limits.max_head_len {
                return Err(HandshakeError::HeadTooLarge {
                    limit: limits.max_head_len,
                });
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HandshakeError::TooManyHeaders {
                limit: limits.max_headers,
            })
        }
        Err(e) => return Err(HandshakeError::MalformedRequest(e.to_string())),
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HandshakeError::MalformedRequest(
            "incomplete request line".to_owned(),
        ));
    };
    // The URI check comes first: it is the more specific complaint when both apply.
    if path.len() > limits.max_uri_len {
        return Err(HandshakeError::UriTooLong {
            len: path.len(),
            limit: limits.max_uri_len,
        });
    }
    if head_len > limits.max_head_len {
        return Err(HandshakeError::HeadTooLarge {
            limit: limits.max_head_len,
        });
    }

    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| HandshakeError::MalformedRequest("invalid method".to_owned()))?;
    let uri = Uri::try_from(path)
        .map_err(|e| HandshakeError::MalformedRequest(format!("invalid request-target: {e}")))?;
    let version = match version {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => {
            return Err(HandshakeError::MalformedRequest(
                "unknown HTTP version".to_owned(),
            ))
        }
    };
    let too_many = |_| HandshakeError::TooManyHeaders {
        limit: limits.max_headers,
    };
    let mut map = HeaderMap::try_with_capacity(req.headers.len()).map_err(too_many)?;
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
            HandshakeError::MalformedRequest(format!("invalid header name `{}`", clip(h.name)))
        })?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| {
            HandshakeError::MalformedRequest(format!("invalid value in header `{}`", name))
        })?;
        map.try_append(name, value).map_err(too_many)?;
    }
    check_no_body(&map)?;

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = map;
    Ok(Some((request, head_len)))
}

/// How much of the request-target is in `buf` when httparse has not finished the request
/// line, so an overlong URI is caught with 414 before the head limit turns it into a 431.
fn partial_uri_len(buf: &[u8]) -> usize {
    // httparse skips blank lines before the request line; so do we.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or_default();
    match line.iter().position(|&b| b == b' ') {
        Some(space) => line
            .get(space + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| !matches!(b, b' ' | b'\r' | b'\n'))
            .count(),
        None => 0,
    }
}

/// Rejects a request that announces a body; see [`HandshakeError::UnexpectedBody`].
fn check_no_body(headers: &HeaderMap) -> Result<(), HandshakeError> {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(HandshakeError::UnexpectedBody);
    }
    for value in headers.get_all(header::CONTENT_LENGTH) {
        // A list of identical lengths ("0, 0") is allowed by RFC 9110 section 8.6.
        for element in value.as_bytes().split(|&b| b == b',') {
            let element = element.trim_ascii();
            if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
                return Err(HandshakeError::MalformedRequest(
                    "invalid Content-Length".to_owned(),
                ));
            }
            if element.iter().any(|&b| b != b'0') {
                return Err(HandshakeError::UnexpectedBody);
            }
        }
    }
    Ok(())
}

/// What a valid handshake request offers, as read by [`validate_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOffer {
    /// The `Sec-WebSocket-Key` exactly as sent (base64 of 16 bytes, surrounding whitespace
    /// removed); [`accept`] hashes it into `Sec-WebSocket-Accept`.
    pub key: String,
    /// The sub-protocols offered in `Sec-WebSocket-Protocol`, in the client's order of
    /// preference: every header line's comma-separated elements, trimmed, empty ones
    /// dropped.
    pub protocols: Vec<String>,
    /// Every `Sec-WebSocket-Extensions` header value, unsplit and in order, as
    /// [`DeflateConfig::negotiate_server`] takes them.
    pub extensions: Vec<String>,
}

/// Checks that `req` is a WebSocket opening handshake this server can accept (RFC 6455
/// section 4.2.1) and returns what it offers.
///
/// Works on any `http::Request`, whether from [`parse_request`] or from hyper, so both
/// accept paths apply the same rules. The `Origin` header is not checked here: whether to
/// accept cross-origin clients is the application's policy.
///
/// Checks run in this order, and the first failure is returned:
///
/// 1. The method is GET, else [`HandshakeError::MethodNotAllowed`] (405, with `Allow: GET`).
/// 2. The version is HTTP/1.1 or later, else [`HandshakeError::UnsupportedHttpVersion`]
///    (400). Not 505: RFC 9110 section 15.6.6 reserves 505 for an unsupported *major*
///    version, and HTTP/1.0 shares its major version with 1.1; RFC 6455 section 4.2.2 says
///    to answer a non-conforming handshake with an error "such as 400 Bad Request".
/// 3. Exactly one non-empty `Host`, else [`HandshakeError::MissingHost`] or
///    [`HandshakeError::DuplicateHeader`] (400).
/// 4. An `Upgrade` header listing `websocket` (any case). With no `Upgrade` header at all
///    the request is a plain HTTP request to a WebSocket-only endpoint, and
///    [`HandshakeError::UpgradeRequired`] (426, with `Upgrade: websocket` and
///    `Sec-WebSocket-Version: 13`) tells such a client what the endpoint wants; an
///    `Upgrade` header that asks for something else is a malformed handshake,
///    [`HandshakeError::InvalidUpgrade`] (400).
/// 5. A `Connection` header listing `upgrade` (any case, for example
///    `keep-alive, Upgrade`), else [`HandshakeError::InvalidConnection`] (400).
/// 6. Exactly one `Sec-WebSocket-Version`, equal to `13`: missing or another version is
///    [`HandshakeError::UnsupportedWebSocketVersion`] (426, with
///    `Sec-WebSocket-Version: 13`, per RFC 6455 section 4.4); repeated is
///    [`HandshakeError::DuplicateHeader`] (400, section 11.3.5 forbids it). Checked before
///    the key so that clients of older drafts, which send other key headers, learn which
///    version to speak.
/// 7. Exactly one `Sec-WebSocket-Key` that is base64 of exactly 16 bytes, else
///    [`HandshakeError::MissingKey`], [`HandshakeError::DuplicateHeader`] or
///    [`HandshakeError::InvalidKey`] (400).
/// 8. No body, else [`HandshakeError::UnexpectedBody`] (400) or
///    [`HandshakeError::MalformedRequest`] for an unreadable `Content-Length`.
/// 9. `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` are ASCII, else
///    [`HandshakeError::InvalidHeaderValue`] (400).
pub fn validate_request<B>(req: &Request<B>) -> Result<ClientOffer, HandshakeError> {
    if req.method() != Method::GET {
        return Err(HandshakeError::MethodNotAllowed {
            method: clip(req.method().as_str()),
        });
    }
    if req.version() < Version::HTTP_11 {
        return Err(HandshakeError::UnsupportedHttpVersion {
            version: req.version(),
        });
    }
    let headers = req.headers();

    match single(headers, &header::HOST, "Host")? {
        Some(host) if !host.as_bytes().trim_ascii().is_empty() => {}
        _ => return Err(HandshakeError::MissingHost),
    }

    if !headers.contains_key(header::UPGRADE) {
        return Err(HandshakeError::UpgradeRequired);
    }
    if !header_contains_token(headers, &header::UPGRADE, "websocket") {
        return Err(HandshakeError::InvalidUpgrade {
            found: joined(headers, &header::UPGRADE),
        });
    }
    if !header_contains_token(headers, &header::CONNECTION, "upgrade") {
        return Err(HandshakeError::InvalidConnection {
            found: joined(headers, &header::CONNECTION),
        });
    }

    match single(
        headers,
        &header::SEC_WEBSOCKET_VERSION,
        "Sec-WebSocket-Version",
    )? {
        Some(v) if v.as_bytes().trim_ascii() == WEBSOCKET_VERSION.as_bytes() => {}
        other => {
            return Err(HandshakeError::UnsupportedWebSocketVersion {
                found: other.map(clip_value),
            })
        }
    }

    let key = single(headers, &header::SEC_WEBSOCKET_KEY, "Sec-WebSocket-Key")?
        .ok_or(HandshakeError::MissingKey)?;
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| BASE64.decode(k).is_ok_and(|bytes| bytes.len() == 16))
        .ok_or_else(|| HandshakeError::InvalidKey {
            found: clip_value(key),
        })?
        .to_owned();

    check_no_body(headers)?;

    let mut protocols = Vec::new();
    for value in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let text = value
            .to_str()
            .map_err(|_| HandshakeError::InvalidHeaderValue {
                name: "Sec-WebSocket-Protocol",
            })?;
        protocols.extend(
            text.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
    }

    let mut extensions = Vec::new();
    for value in headers.get_all(header::SEC_WEBSOCKET_EXTENSIONS) {
        let text = value
            .to_str()
            .map_err(|_| HandshakeError::InvalidHeaderValue {
                name: "Sec-WebSocket-Extensions",
            })?;
        if !text.trim().is_empty() {
            extensions.push(text.to_owned());
        }
    }

    Ok(ClientOffer {
        key,
        protocols,
        extensions,
    })
}

/// The value of a header that may appear at most once: `Ok(None)` when absent,
/// [`HandshakeError::DuplicateHeader`] when repeated.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    display: &'static str,
) -> Result<Option<&'a HeaderValue>, HandshakeError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) | (None, Some(_)) => {
            Err(HandshakeError::DuplicateHeader { name: display })
        }
    }
}

/// All values of a header joined with ", " for an error message, `None` when absent.
pub(super) fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<String> = headers.get_all(name).iter().map(clip_value).collect();
    if values.is_empty() {
        None
    } else {
        Some(clip(&values.join(", ")))
    }
}

/// How a server answers valid handshakes: which sub-protocols and extensions it agrees to.
#[derive(Debug, Clone, Default)]
pub struct AcceptConfig {
    /// The sub-protocols this server speaks. Default: none, so no sub-protocol is ever
    /// selected.
    pub protocols: Vec<String>,
    /// How to negotiate permessage-deflate; `None` (the default) declines compression.
    pub deflate: Option<DeflateConfig>,
}

/// Builds the 101 Switching Protocols answer to a validated offer, and says what was agreed.
///
/// The response carries `Upgrade: websocket`, `Connection: Upgrade` and the
/// `Sec-WebSocket-Accept` for the offer's key, plus:
///
/// - `Sec-WebSocket-Protocol`: the first of the *client's* offered protocols, in the
///   client's order, that `config.protocols` contains (exact, case-sensitive match). The
///   client lists its preferences, so its order wins; the server's order does not matter
///   (this matches Ballerina). When nothing overlaps the header is omitted and the
///   handshake still succeeds with no sub-protocol: a client that insists on one fails the
///   connection itself (RFC 6455 section 4.2.2 leaves this choice to the server).
/// - `Sec-WebSocket-Extensions`: what [`DeflateConfig::negotiate_server`] answers to all
///   the offer's extension values, when `config.deflate` is set and it agrees.
///
/// Never fails: anything that could not be put in a header (possible only for a hand-made
/// [`ClientOffer`]) is treated as not agreed.
pub fn accept(offer: &ClientOffer, config: &AcceptConfig) -> (Response<()>, Negotiated) {
    let mut resp = Response::new(());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = HeaderValue::try_from(accept_key(offer.key.as_bytes()))
        .expect("base64 text is always a valid header value");
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);

    let protocol = offer.protocols.iter().find_map(|offered| {
        if !config.protocols.contains(offered) {
            return None;
        }
        let value = HeaderValue::from_str(offered).ok()?;
        Some((offered.clone(), value))
    });
    let protocol = protocol.map(|(name, value)| {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        name
    });

    let deflate = config
        .deflate
        .as_ref()
        .and_then(|cfg| cfg.negotiate_server(offer.extensions.iter().map(String::as_str)))
        .and_then(|(params, value)| Some((params, HeaderValue::try_from(value).ok()?)))
        .map(|(params, value)| {
            headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
            params
        });

    (resp, Negotiated { protocol, deflate })
}

/// Appends `resp`'s status line and header fields, then the blank line that ends the head,
/// to `out`: what the engine's own accept path writes to the socket.
///
/// The status line always says `HTTP/1.1` (a server answers with the highest HTTP/1.x it
/// supports, even to an HTTP/1.0 request) and uses the status's canonical reason phrase.
/// Header names are written as `http` stores them, lowercase. The body is not written: for
/// an error reply from [`HandshakeError::to_response`], append its `body()` bytes after
/// this.
pub fn write_response<B>(resp: &Response<B>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(resp.status().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        resp.status()
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    super::write_headers(resp.headers(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// The handshake of RFC 6455 section 1.2, with header lines dropped or added.
    fn raw(drop: &[&str], add: &[&str]) -> String {
        let base = [
            "Host: server.example.com",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Origin: http://example.com",
            "Sec-WebSocket-Protocol: chat, superchat",
            "Sec-WebSocket-Version: 13",
        ];
        let mut out = String::from("GET /chat HTTP/1.1\r\n");
        for line in base {
            let name = line.split(':').next().unwrap();
            if !drop.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        for line in add {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out
    }

    fn parse(text: &str) -> Result<Request<()>, HandshakeError> {
        let (req, len) =
            parse_request(text.as_bytes(), &RequestLimits::default())?.expect("complete head");
        assert_eq!(len, text.len());
        Ok(req)
    }

    fn check(text: &str) -> Result<ClientOffer, HandshakeError> {
        validate_request(&parse(text)?)
    }

    fn status_of(text: &str) -> StatusCode {
        check(text).expect_err("must be rejected").status()
    }

    #[test]
    fn accepts_the_rfc_example() {
        let offer = check(&raw(&[], &[])).unwrap();
        assert_eq!(offer.key, KEY);
        assert_eq!(offer.protocols, ["chat", "superchat"]);
        assert!(offer.extensions.is_empty());

        let (resp, negotiated) = accept(
            &offer,
            &AcceptConfig {
                protocols: vec!["chat".into()],
                deflate: None,
            },
        );
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            resp.headers()[header::SEC_WEBSOCKET_ACCEPT],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(resp.headers()[header::UPGRADE], "websocket");
        assert_eq!(resp.headers()[header::CONNECTION], "Upgrade");
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_PROTOCOL], "chat");
        assert!(!resp
            .headers()
            .contains_key(header::SEC_WEBSOCKET_EXTENSIONS));
        assert_eq!(
            negotiated,
            Negotiated {
                protocol: Some("chat".into()),
                deflate: None
            }
        );

        let mut out = Vec::new();
        write_response(&resp, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn method_must_be_get() {
        let text = raw(&[], &[]).replacen("GET", "POST", 1);
        let err = check(&text).unwrap_err();
        assert!(matches!(err, HandshakeError::MethodNotAllowed { ref method } if method == "POST"));
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(err.to_response().headers()[header::ALLOW], "GET");
    }

    #[test]
    fn http_1_0_is_rejected_with_400() {
        let text = raw(&[], &[]).replacen("HTTP/1.1", "HTTP/1.0", 1);
        let err = check(&text).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UnsupportedHttpVersion { version } if version == Version::HTTP_10
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("HTTP/1.0"));
    }

    #[test]
    fn later_http_versions_pass_the_version_check() {
        let mut req = parse(&raw(&[], &[])).unwrap();
        *req.version_mut() = Version::HTTP_2;
        assert!(validate_request(&req).is_ok());
    }

    #[test]
    fn host_is_required_once() {
        let err = check(&raw(&["Host"], &[])).unwrap_err();
        assert!(matches!(err, HandshakeError::MissingHost));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(matches!(
            check(&raw(&["Host"], &["Host:"])),
            Err(HandshakeError::MissingHost)
        ));
        assert!(matches!(
            check(&raw(&[], &["Host: other.example"])),
            Err(HandshakeError::DuplicateHeader { name: "Host" })
        ));
    }

    #[test]
    fn missing_upgrade_is_426() {
        let err = check(&raw(&["Upgrade"], &[])).unwrap_err();
        assert!(matches!(err, HandshakeError::UpgradeRequired));
        let resp = err.to_response();
        assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(resp.headers()[header::UPGRADE], "websocket");
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_VERSION], "13");

        // A plain GET without any WebSocket header gets the same answer.
        let plain = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(status_of(plain), StatusCode::UPGRADE_REQUIRED);
    }

    #[test]
    fn wrong_upgrade_is_400() {
        let err = check(&raw(&["Upgrade"], &["Upgrade: h2c"])).unwrap_err();
        assert!(matches!(err, HandshakeError::InvalidUpgrade { found: Some(ref f) } if f == "h2c"));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn connection_must_list_upgrade() {
        let err = check(&raw(&["Connection"], &[])).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidConnection { found: None }
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let err = check(&raw(&["Connection"], &["Connection: keep-alive"])).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidConnection { found: Some(ref f) } if f == "keep-alive"
        ));
    }

    #[test]
    fn tokens_are_case_insensitive_and_listed() {
        let text = raw(
            &["Upgrade", "Connection"],
            &["UPGRADE: h2c, WebSocket", "connection: keep-alive, Upgrade"],
        );
        assert!(check(&text).is_ok());
        let text = raw(
            &["Connection"],
            &["Connection: keep-alive", "Connection: UPGRADE"],
        );
        assert!(check(&text).is_ok());
    }

    #[test]
    fn key_must_be_16_base64_bytes_once() {
        let err = check(&raw(&["Sec-WebSocket-Key"], &[])).unwrap_err();
        assert!(matches!(err, HandshakeError::MissingKey));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);

        for bad in [
            "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==",         // 10 bytes
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSEh", // 18 bytes
            "Sec-WebSocket-Key: not base64 at all!!!!!!",  // not base64
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ",   // unpadded
            "Sec-WebSocket-Key:",                          // empty
        ] {
            let err = check(&raw(&["Sec-WebSocket-Key"], &[bad])).unwrap_err();
            assert!(
                matches!(err, HandshakeError::InvalidKey { .. }),
                "{bad}: {err}"
            );
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }

        let err = check(&raw(&[], &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="])).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Key"
            }
        ));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn version_must_be_13() {
        for (add, found) in [
            (None, None),
            (Some("Sec-WebSocket-Version: 8"), Some("8")),
            (Some("Sec-WebSocket-Version: 14"), Some("14")),
            (Some("Sec-WebSocket-Version: 13, 8"), Some("13, 8")),
            (Some("Sec-WebSocket-Version:"), Some("")),
        ] {
            let add: Vec<&str> = add.into_iter().collect();
            let err = check(&raw(&["Sec-WebSocket-Version"], &add)).unwrap_err();
            assert!(
                matches!(
                    err,
                    HandshakeError::UnsupportedWebSocketVersion { found: ref f }
                        if f.as_deref() == found
                ),
                "{err}"
            );
            let resp = err.to_response();
            assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(resp.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        }
        let err = check(&raw(&[], &["Sec-WebSocket-Version: 13"])).unwrap_err();
        assert!(matches!(err, HandshakeError::DuplicateHeader { .. }));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn version_is_checked_before_the_key() {
        // A hybi-00 client sends Sec-WebSocket-Key1/Key2 and no version: tell it to use 13.
        let text = raw(
            &["Sec-WebSocket-Key", "Sec-WebSocket-Version"],
            &["Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5"],
        );
        assert_eq!(status_of(&text), StatusCode::UPGRADE_REQUIRED);
    }

    #[test]
    fn bodies_are_rejected() {
        for add in [
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
            "Content-Length: 0, 1",
        ] {
            let err = parse(&raw(&[], &[add])).unwrap_err();
            assert!(matches!(err, HandshakeError::UnexpectedBody), "{add}");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
        let err = parse(&raw(&[], &["Content-Length: lots"])).unwrap_err();
        assert!(matches!(err, HandshakeError::MalformedRequest(_)));
        assert!(check(&raw(&[], &["Content-Length: 0"])).is_ok());

        // Also when the request did not come through parse_request (hyper's path).
        let mut req = parse(&raw(&[], &[])).unwrap();
        req.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        assert!(matches!(
            validate_request(&req),
            Err(HandshakeError::UnexpectedBody)
        ));
    }

    #[test]
    fn protocols_across_several_headers() {
        let text = raw(
            &["Sec-WebSocket-Protocol"],
            &[
                "Sec-WebSocket-Protocol: a ,b",
                "Sec-WebSocket-Protocol: ,c,, d ",
            ],
        );
        assert_eq!(check(&text).unwrap().protocols, ["a", "b", "c", "d"]);
        let none = check(&raw(&["Sec-WebSocket-Protocol"], &[])).unwrap();
        assert!(none.protocols.is_empty());
    }

    #[test]
    fn non_ascii_protocols_are_rejected() {
        let mut text = raw(&["Sec-WebSocket-Protocol"], &[]).into_bytes();
        let at = text.len() - 2;
        text.splice(
            at..at,
            b"Sec-WebSocket-Protocol: caf\xc3\xa9\r\n".iter().copied(),
        );
        let (req, _) = parse_request(&text, &RequestLimits::default())
            .unwrap()
            .unwrap();
        let err = validate_request(&req).unwrap_err();
        assert!(matches!(err, HandshakeError::InvalidHeaderValue { .. }));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn extensions_are_kept_whole() {
        let text = raw(
            &[],
            &[
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo",
                "Sec-WebSocket-Extensions: permessage-deflate",
            ],
        );
        assert_eq!(
            check(&text).unwrap().extensions,
            [
                "permessage-deflate; client_max_window_bits, x-foo",
                "permessage-deflate"
            ]
        );
    }

    #[test]
    fn protocol_selection_follows_the_client_order() {
        let offer = ClientOffer {
            key: KEY.into(),
            protocols: vec!["b".into(), "a".into(), "c".into()],
            extensions: vec![],
        };
        let config = AcceptConfig {
            protocols: vec!["a".into(), "b".into()],
            deflate: None,
        };
        let (resp, negotiated) = accept(&offer, &config);
        assert_eq!(negotiated.protocol.as_deref(), Some("b"));
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_PROTOCOL], "b");

        // Exact match only.
        let config = AcceptConfig {
            protocols: vec!["B".into()],
            deflate: None,
        };
        let (resp, negotiated) = accept(&offer, &config);
        assert_eq!(negotiated.protocol, None);
        assert!(!resp.headers().contains_key(header::SEC_WEBSOCKET_PROTOCOL));

        // No overlap: no header, still 101.
        let config = AcceptConfig {
            protocols: vec!["z".into()],
            deflate: None,
        };
        let (resp, negotiated) = accept(&offer, &config);
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(negotiated.protocol, None);
        assert!(!resp.headers().contains_key(header::SEC_WEBSOCKET_PROTOCOL));
    }

    #[test]
    fn unusable_offered_protocols_are_skipped() {
        let offer = ClientOffer {
            key: KEY.into(),
            protocols: vec!["bad\nname".into(), "ok".into()],
            extensions: vec![],
        };
        let config = AcceptConfig {
            protocols: vec!["bad\nname".into(), "ok".into()],
            deflate: None,
        };
        assert_eq!(accept(&offer, &config).1.protocol.as_deref(), Some("ok"));
    }

    #[test]
    fn deflate_is_negotiated_when_configured() {
        let offer = ClientOffer {
            key: KEY.into(),
            protocols: vec![],
            extensions: vec!["permessage-deflate".into()],
        };
        let config = AcceptConfig {
            protocols: vec![],
            deflate: Some(DeflateConfig::default()),
        };
        let (resp, negotiated) = accept(&offer, &config);
        assert!(negotiated.deflate.is_some());
        let value = resp.headers()[header::SEC_WEBSOCKET_EXTENSIONS]
            .to_str()
            .unwrap();
        assert!(value.starts_with("permessage-deflate"));

        // Not configured: declined even when offered.
        let (resp, negotiated) = accept(&offer, &AcceptConfig::default());
        assert!(negotiated.deflate.is_none());
        assert!(!resp
            .headers()
            .contains_key(header::SEC_WEBSOCKET_EXTENSIONS));

        // Configured but not offered.
        let offer = ClientOffer {
            extensions: vec!["x-unknown".into()],
            ..offer
        };
        let (resp, negotiated) = accept(&offer, &config);
        assert!(negotiated.deflate.is_none());
        assert!(!resp
            .headers()
            .contains_key(header::SEC_WEBSOCKET_EXTENSIONS));
    }

    #[test]
    fn parses_byte_by_byte() {
        let text = raw(&[], &[]);
        let bytes = text.as_bytes();
        let limits = RequestLimits::default();
        for end in 0..bytes.len() {
            assert!(
                parse_request(&bytes[..end], &limits).unwrap().is_none(),
                "complete after {end} of {} bytes",
                bytes.len()
            );
        }
        let (req, len) = parse_request(bytes, &limits).unwrap().unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/chat");
        assert_eq!(req.version(), Version::HTTP_11);
        assert_eq!(req.headers()[header::HOST], "server.example.com");
        assert!(validate_request(&req).is_ok());
    }

    #[test]
    fn trailing_bytes_are_not_consumed() {
        let text = raw(&[], &[]);
        let mut bytes = text.clone().into_bytes();
        bytes.extend_from_slice(b"\x81\x85frame");
        let (_, len) = parse_request(&bytes, &RequestLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(len, text.len());
    }

    #[test]
    fn malformed_heads_are_400() {
        let cases: [&[u8]; 5] = [
            b"GET /chat HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET /chat HTTP/2.0\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"GET /chat HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            b"GET /chat HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n",
        ];
        for bad in cases {
            let err = parse_request(bad, &RequestLimits::default()).unwrap_err();
            assert!(
                matches!(err, HandshakeError::MalformedRequest(_)),
                "{:?}: {err}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn long_uri_is_414() {
        let limits = RequestLimits::default();
        let long_path = format!("/{}", "a".repeat(limits.max_uri_len));
        let text = raw(&[], &[]).replacen("/chat", &long_path, 1);
        let err = parse_request(text.as_bytes(), &limits).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UriTooLong { limit: 4096, .. }
        ));
        assert_eq!(err.status(), StatusCode::URI_TOO_LONG);

        // Caught while the request line is still arriving, before the head limit.
        let partial = format!("GET {long_path}");
        let err = parse_request(partial.as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, HandshakeError::UriTooLong { .. }));

        // Exactly at the limit is fine.
        let path = format!("/{}", "a".repeat(limits.max_uri_len - 1));
        let text = raw(&[], &[]).replacen("/chat", &path, 1);
        assert!(parse_request(text.as_bytes(), &limits).unwrap().is_some());
    }

    #[test]
    fn long_head_is_431() {
        let limits = RequestLimits::default();
        let filler = format!("X-Filler: {}", "f".repeat(limits.max_head_len));
        let text = raw(&[], &[&filler]);
        let err = parse_request(text.as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, HandshakeError::HeadTooLarge { limit: 8192 }));
        assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

        // A head that never ends fails once it reaches the limit instead of waiting.
        let endless = format!("GET / HTTP/1.1\r\n{}", "X-A: b\r\n".repeat(2000));
        let err = parse_request(
            endless.as_bytes(),
            &RequestLimits {
                max_headers: 10_000,
                ..limits
            },
        )
        .unwrap_err();
        assert!(matches!(err, HandshakeError::HeadTooLarge { .. }));
        let just_under = &endless.as_bytes()[..limits.max_head_len - 1];
        assert!(parse_request(
            just_under,
            &RequestLimits {
                max_headers: 10_000,
                ..limits
            }
        )
        .unwrap()
        .is_none());

        // A complete head over a small limit fails too, however it was chunked.
        let small = RequestLimits {
            max_head_len: 100,
            ..limits
        };
        let err = parse_request(raw(&[], &[]).as_bytes(), &small).unwrap_err();
        assert!(matches!(err, HandshakeError::HeadTooLarge { limit: 100 }));
    }

    #[test]
    fn too_many_headers_is_431() {
        let limits = RequestLimits::default();
        let many: Vec<String> = (0..limits.max_headers)
            .map(|i| format!("X-{i}: v"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = parse_request(raw(&[], &many).as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, HandshakeError::TooManyHeaders { limit: 64 }));
        assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

        // Exactly at the limit is fine.
        let at_limit = &many[..limits.max_headers - 7];
        assert!(parse_request(raw(&[], at_limit).as_bytes(), &limits).is_ok());
    }

    #[test]
    fn error_replies_serialise() {
        let err = check(&raw(&["Sec-WebSocket-Version"], &[])).unwrap_err();
        let resp = err.to_response();
        let mut out = Vec::new();
        write_response(&resp, &mut out);
        out.extend_from_slice(resp.body().as_bytes());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("\r\nsec-websocket-version: 13\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(body.contains("version 13"));
    }
}
