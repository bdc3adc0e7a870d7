//! The client's half of the opening handshake: build the request, then check the server's
//! answer (RFC 6455 sections 4.1 and 4.2.2).

use super::{
    accept_key, clip, clip_value, header_contains_token, is_token, server::joined, write_headers,
    HandshakeError, Negotiated, WEBSOCKET_VERSION,
};
use crate::proto::deflate::DeflateConfig;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};

/// Most header fields [`parse_response`] accepts in a response head; more fails with
/// [`HandshakeError::ResponseTooLarge`].
pub const MAX_RESPONSE_HEADERS: usize = 128;

/// The reason phrase of a response read by [`parse_response`], kept in the response's
/// extensions (`http::Response` has no field for it) so that
/// [`HandshakeError::Rejected`] can quote what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonPhrase(pub String);

/// The headers [`build_request`] computes itself; extra headers with these names are
/// dropped.
const HANDSHAKE_HEADERS: [HeaderName; 7] = [
    header::HOST,
    header::UPGRADE,
    header::CONNECTION,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_PROTOCOL,
    header::SEC_WEBSOCKET_EXTENSIONS,
];

/// Builds the opening handshake request for `uri` (RFC 6455 section 4.1).
///
/// The request is `GET` over HTTP/1.1 with the full `uri` (see [`write_request`] for what
/// goes on the wire) and these headers, in this order:
///
/// - `Host`: the URI's host, with `:port` only when the port is not the scheme's default
///   (80 for `ws`, 443 for `wss`); user information in the URI is never sent.
/// - `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Key: <key>`,
///   `Sec-WebSocket-Version: 13`.
/// - `Sec-WebSocket-Protocol`: `protocols` joined with `", "`, in order of preference;
///   omitted when empty.
/// - `Sec-WebSocket-Extensions`: [`DeflateConfig::client_offer`], when `deflate` is set.
/// - Every value of `extra_headers`, except those named like one of the headers above: the
///   handshake's own headers always take precedence and are never duplicated. Offer
///   sub-protocols and compression through the arguments, not as extra headers, so that
///   [`validate_response`] knows what was offered.
///
/// `key` is normally a fresh [`generate_key`](super::generate_key); keep it for
/// [`validate_response`].
///
/// # Errors
///
/// - [`HandshakeError::MissingScheme`]: `uri` has no scheme (for example `/chat` or
///   `example.com`).
/// - [`HandshakeError::UnsupportedScheme`]: the scheme is not `ws` or `wss` (any case).
/// - [`HandshakeError::MissingUriHost`]: `uri` has no host.
/// - [`HandshakeError::InvalidRequestHeader`]: a protocol is not an RFC 9110 token (it
///   would be split or mangled on the way), or `key` or the extension offer is not a
///   valid header value.
pub fn build_request(
    uri: &Uri,
    key: &str,
    protocols: &[String],
    deflate: Option<&DeflateConfig>,
    extra_headers: &HeaderMap,
) -> Result<Request<()>, HandshakeError> {
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| HandshakeError::MissingScheme {
            uri: clip(&uri.to_string()),
        })?;
    let default_port = if scheme.eq_ignore_ascii_case("ws") {
        80
    } else if scheme.eq_ignore_ascii_case("wss") {
        443
    } else {
        return Err(HandshakeError::UnsupportedScheme {
            scheme: clip(scheme),
        });
    };
    let host =
        uri.host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| HandshakeError::MissingUriHost {
                uri: clip(&uri.to_string()),
            })?;
    let host = match uri.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };

    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, value("Host", host, "not a valid host")?);
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        header::SEC_WEBSOCKET_KEY,
        value(
            "Sec-WebSocket-Key",
            key.to_owned(),
            "a key must be visible ASCII (base64)",
        )?,
    );
    headers.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static(WEBSOCKET_VERSION),
    );
    if let Some(bad) = protocols.iter().find(|p| !is_token(p)) {
        return Err(HandshakeError::InvalidRequestHeader {
            name: "Sec-WebSocket-Protocol",
            value: clip(bad),
            reason: "a sub-protocol name must be a non-empty token \
                     (no spaces, commas or other separators)",
        });
    }
    if !protocols.is_empty() {
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            value(
                "Sec-WebSocket-Protocol",
                protocols.join(", "),
                "not a valid header value",
            )?,
        );
    }
    if let Some(cfg) = deflate {
        headers.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            value(
                "Sec-WebSocket-Extensions",
                cfg.client_offer(),
                "the extension offer is not a valid header value",
            )?,
        );
    }
    for (name, value) in extra_headers {
        if !HANDSHAKE_HEADERS.contains(name) {
            headers.append(name, value.clone());
        }
    }

    let mut req = Request::new(());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri.clone();
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Ok(req)
}

/// A header value for [`build_request`], or the error naming what could not be sent.
fn value(
    name: &'static str,
    text: String,
    reason: &'static str,
) -> Result<HeaderValue, HandshakeError> {
    HeaderValue::try_from(text.as_str()).map_err(|_| HandshakeError::InvalidRequestHeader {
        name,
        value: clip(&text),
        reason,
    })
}

/// Appends the request head to `out`:
/// `<METHOD> <path-and-query> HTTP/1.1\r\n`, the header fields, and a blank line.
///
/// The request-target is the URI's path and query in origin form, `/` when the path is
/// empty (RFC 6455 section 4.1 calls it the "resource name"); any fragment was already
/// dropped by `http::Uri`. The version written is always HTTP/1.1, which the handshake
/// requires. Header names are written as `http` stores them, lowercase. No body is
/// written.
pub fn write_request<B>(req: &Request<B>, out: &mut Vec<u8>) {
    out.extend_from_slice(req.method().as_str().as_bytes());
    out.push(b' ');
    let path = req.uri().path();
    out.extend_from_slice(if path.is_empty() { "/" } else { path }.as_bytes());
    if let Some(query) = req.uri().query() {
        out.push(b'?');
        out.extend_from_slice(query.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    write_headers(req.headers(), out);
}

/// Parses an HTTP/1.x response head from the start of `buf`, incrementally.
///
/// Returns `Ok(None)` while the head is incomplete: call again with more bytes appended.
/// Once complete, returns the response (status, version, headers and, in its extensions,
/// the [`ReasonPhrase`]) and the length of the head in bytes. Bytes after the head (the
/// first frames after a 101, or an error body) are not part of it.
///
/// # Errors
///
/// - [`HandshakeError::ResponseTooLarge`]: the head is longer than `max_head_len` bytes,
///   complete or not (so a head that never ends fails instead of asking for more bytes
///   forever), or has more than [`MAX_RESPONSE_HEADERS`] header fields.
/// - [`HandshakeError::MalformedResponse`]: not HTTP/1.x, or a status code, header name
///   or value that `http` rejects.
pub fn parse_response(
    buf: &[u8],
    max_head_len: usize,
) -> Result<Option<(Response<()>, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let too_large = HandshakeError::ResponseTooLarge {
        limit: max_head_len,
    };
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len > max_head_len => return Err(too_large),
        Ok(httparse::Status::Complete(len)) => len,
        // An incomplete head already this long can only end up longer than the limit.
        Ok(httparse::Status::Partial) if buf.len() >= max_head_len => return Err(too_large),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(too_large),
        Err(e) => return Err(HandshakeError::MalformedResponse(e.to_string())),
    };
    let (Some(version), Some(code)) = (resp.version, resp.code) else {
        return Err(HandshakeError::MalformedResponse(
            "incomplete status line".to_owned(),
        ));
    };
    let status = StatusCode::from_u16(code)
        .map_err(|_| HandshakeError::MalformedResponse(format!("invalid status code {code}")))?;
    let version = match version {
        0 => Version::HTTP_10,
        1 => Version::HTTP_11,
        _ => {
            return Err(HandshakeError::MalformedResponse(
                "unknown HTTP version".to_owned(),
            ))
        }
    };
    let mut map = HeaderMap::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
            HandshakeError::MalformedResponse(format!("invalid header name `{}`", clip(h.name)))
        })?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| {
            HandshakeError::MalformedResponse(format!("invalid value in header `{name}`"))
        })?;
        map.append(name, value);
    }

    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = map;
    response
        .extensions_mut()
        .insert(ReasonPhrase(resp.reason.unwrap_or_default().to_owned()));
    Ok(Some((response, head_len)))
}

/// Checks the server's answer to our handshake (RFC 6455 section 4.2.2, as the client must
/// per section 4.1) and returns what was agreed.
///
/// `key`, `offered_protocols` and `deflate` must be what was passed to [`build_request`].
///
/// # Errors
///
/// In the order checked:
///
/// - [`HandshakeError::Rejected`]: the status is not 101 Switching Protocols; the error
///   keeps the status and reason phrase (message e.g.
///   `Invalid handshake response: 400 Bad Request`).
/// - [`HandshakeError::InvalidResponseHeader`]: `Upgrade` does not list `websocket` or
///   `Connection` does not list `upgrade` (both ASCII case-insensitive).
/// - [`HandshakeError::AcceptKeyMismatch`]: `Sec-WebSocket-Accept` is missing, repeated, or
///   not [`accept_key`]`(key)`.
/// - [`HandshakeError::UnofferedProtocol`]: the server selected a sub-protocol we did not
///   offer (exact, case-sensitive match), or more than one.
/// - [`HandshakeError::MissingProtocol`]: we offered sub-protocols and the server selected
///   none (as Ballerina does: a client that asks for a sub-protocol needs one). An empty
///   `Sec-WebSocket-Protocol` counts as none.
/// - [`HandshakeError::UnofferedExtension`]: the server accepted an extension other than
///   permessage-deflate, or permessage-deflate when `deflate` is `None`.
/// - [`HandshakeError::Extension`]: [`DeflateConfig::accept_client_response`] rejected the
///   server's permessage-deflate parameters.
/// - [`HandshakeError::MalformedResponse`]: one of those headers is not ASCII.
pub fn validate_response(
    resp: &Response<()>,
    key: &str,
    offered_protocols: &[String],
    deflate: Option<&DeflateConfig>,
) -> Result<Negotiated, HandshakeError> {
    let status = resp.status();
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let reason = resp
            .extensions()
            .get::<ReasonPhrase>()
            .map(|r| clip(r.0.trim()))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or_default().to_owned());
        return Err(HandshakeError::Rejected { status, reason });
    }
    let headers = resp.headers();

    for (name, display, token) in [
        (header::UPGRADE, "Upgrade", "websocket"),
        (header::CONNECTION, "Connection", "Upgrade"),
    ] {
        if !header_contains_token(headers, &name, token) {
            return Err(HandshakeError::InvalidResponseHeader {
                name: display,
                expected: token,
                found: joined(headers, &name),
            });
        }
    }

    let expected = accept_key(key.as_bytes());
    let mut accepts = headers.get_all(header::SEC_WEBSOCKET_ACCEPT).iter();
    match (accepts.next(), accepts.next()) {
        (Some(v), None) if v.as_bytes().trim_ascii() == expected.as_bytes() => {}
        _ => {
            return Err(HandshakeError::AcceptKeyMismatch {
                expected,
                found: joined(headers, &header::SEC_WEBSOCKET_ACCEPT),
            })
        }
    }

    let protocol = selected_protocol(headers, offered_protocols)?;

    let mut extensions = Vec::new();
    for value in headers.get_all(header::SEC_WEBSOCKET_EXTENSIONS) {
        let text = ascii(value, "Sec-WebSocket-Extensions")?;
        for element in split_list(text) {
            let name = element.split(';').next().unwrap_or_default().trim();
            if name.is_empty() {
                continue;
            }
            if deflate.is_none() || !name.eq_ignore_ascii_case("permessage-deflate") {
                return Err(HandshakeError::UnofferedExtension { name: clip(name) });
            }
        }
        extensions.push(text);
    }
    let deflate = match deflate {
        Some(cfg) => cfg
            .accept_client_response(extensions.iter().copied())
            .map_err(HandshakeError::Extension)?,
        None => None,
    };

    Ok(Negotiated { protocol, deflate })
}

/// The sub-protocol the server selected, checked against what we offered.
fn selected_protocol(
    headers: &HeaderMap,
    offered: &[String],
) -> Result<Option<String>, HandshakeError> {
    let mut values = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter();
    let selected = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(v), None) => {
            Some(ascii(v, "Sec-WebSocket-Protocol")?.trim()).filter(|p| !p.is_empty())
        }
        (Some(_), Some(_)) => {
            return Err(HandshakeError::UnofferedProtocol {
                actual: joined(headers, &header::SEC_WEBSOCKET_PROTOCOL).unwrap_or_default(),
                offered: offered.to_vec(),
            })
        }
    };
    match selected {
        Some(p) if offered.iter().any(|o| o == p) => Ok(Some(p.to_owned())),
        Some(p) => Err(HandshakeError::UnofferedProtocol {
            actual: clip(p),
            offered: offered.to_vec(),
        }),
        None if offered.is_empty() => Ok(None),
        None => Err(HandshakeError::MissingProtocol {
            offered: offered.to_vec(),
        }),
    }
}

/// A response header's value as text, or [`HandshakeError::MalformedResponse`].
fn ascii<'a>(value: &'a HeaderValue, name: &str) -> Result<&'a str, HandshakeError> {
    value.to_str().map_err(|_| {
        HandshakeError::MalformedResponse(format!(
            "the {name} header is not ASCII text: `{}`",
            clip_value(value)
        ))
    })
}

/// Splits a comma-separated header list, leaving commas inside quoted strings alone (an
/// extension parameter may be a quoted string, RFC 6455 section 9.1).
fn split_list(text: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            elements.push(text.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    elements.push(text.get(start..).unwrap_or_default());
    elements
}

#[cfg(test)]
mod tests {
    use super::super::{accept, parse_request, validate_request, write_response, AcceptConfig};
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn build(s: &str) -> Result<Request<()>, HandshakeError> {
        build_request(&uri(s), KEY, &[], None, &HeaderMap::new())
    }

    fn host_of(s: &str) -> String {
        build(s).unwrap().headers()[header::HOST]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// A 101 response head with the RFC's accept key plus `extra` header lines.
    fn response(extra: &[&str]) -> Response<()> {
        let mut text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n"
        );
        for line in extra {
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        parse_text(&text)
    }

    fn parse_text(text: &str) -> Response<()> {
        let (resp, len) = parse_response(text.as_bytes(), 8192).unwrap().unwrap();
        assert_eq!(len, text.len());
        resp
    }

    #[test]
    fn builds_the_rfc_request() {
        let protocols = strings(&["chat", "superchat"]);
        let mut extra = HeaderMap::new();
        extra.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://example.com"),
        );
        let req = build_request(
            &uri("ws://server.example.com/chat"),
            KEY,
            &protocols,
            None,
            &extra,
        )
        .unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.version(), Version::HTTP_11);
        let h = req.headers();
        assert_eq!(h[header::HOST], "server.example.com");
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "Upgrade");
        assert_eq!(h[header::SEC_WEBSOCKET_KEY], KEY);
        assert_eq!(h[header::SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(h[header::SEC_WEBSOCKET_PROTOCOL], "chat, superchat");
        assert_eq!(h[header::ORIGIN], "http://example.com");
        assert!(!h.contains_key(header::SEC_WEBSOCKET_EXTENSIONS));

        let mut out = Vec::new();
        write_request(&req, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("GET /chat HTTP/1.1\r\nhost: server.example.com\r\n"));
        assert!(text.contains("\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(text.ends_with("\r\norigin: http://example.com\r\n\r\n"));
    }

    #[test]
    fn host_carries_only_non_default_ports() {
        assert_eq!(host_of("ws://example.com"), "example.com");
        assert_eq!(host_of("ws://example.com:80/"), "example.com");
        assert_eq!(host_of("ws://example.com:443/"), "example.com:443");
        assert_eq!(host_of("wss://example.com:443/"), "example.com");
        assert_eq!(host_of("wss://example.com:80/"), "example.com:80");
        assert_eq!(host_of("ws://example.com:9001/x"), "example.com:9001");
        assert_eq!(
            host_of("WSS://user:pw@example.com:8443"),
            "example.com:8443"
        );
        assert_eq!(host_of("ws://[::1]:9001/"), "[::1]:9001");
        assert_eq!(host_of("ws://[::1]/"), "[::1]");
    }

    #[test]
    fn request_target_is_path_and_query() {
        for (u, line) in [
            ("ws://example.com", "GET / HTTP/1.1\r\n"),
            ("ws://example.com/", "GET / HTTP/1.1\r\n"),
            ("ws://example.com?x=1", "GET /?x=1 HTTP/1.1\r\n"),
            ("ws://example.com/a/b?x=1&y", "GET /a/b?x=1&y HTTP/1.1\r\n"),
        ] {
            let mut out = Vec::new();
            write_request(&build(u).unwrap(), &mut out);
            assert!(
                out.starts_with(line.as_bytes()),
                "{u}: {}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn uri_errors() {
        assert!(matches!(
            build("/chat"),
            Err(HandshakeError::MissingScheme { .. })
        ));
        assert!(matches!(
            build("example.com:80"),
            Err(HandshakeError::MissingScheme { .. })
        ));
        let err = build("http://example.com/").unwrap_err();
        assert!(
            matches!(err, HandshakeError::UnsupportedScheme { ref scheme } if scheme == "http")
        );
        assert!(err.to_string().contains("ws://"));
        assert!(matches!(
            build("ftp://example.com/"),
            Err(HandshakeError::UnsupportedScheme { .. })
        ));
        // http::Uri insists on an authority after a scheme, but an authority can be just
        // a port.
        for hostless in ["ws://:80/", "wss://user@:9/"] {
            let err = build(hostless).unwrap_err();
            assert!(
                matches!(err, HandshakeError::MissingUriHost { .. }),
                "{hostless}"
            );
            assert!(err.to_string().contains("has no host"));
        }
        assert!(build("ws://example.com").is_ok());
        assert!(build("wss://example.com").is_ok());
        assert!(build("Ws://example.com").is_ok());
    }

    #[test]
    fn invalid_request_values() {
        let err = build_request(
            &uri("ws://a/"),
            KEY,
            &strings(&["ok", "two words"]),
            None,
            &HeaderMap::new(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidRequestHeader {
                name: "Sec-WebSocket-Protocol",
                ..
            }
        ));
        for bad in ["", "a,b", "a;b"] {
            assert!(build_request(
                &uri("ws://a/"),
                KEY,
                &strings(&[bad]),
                None,
                &HeaderMap::new()
            )
            .is_err());
        }
        let err =
            build_request(&uri("ws://a/"), "bad\nkey", &[], None, &HeaderMap::new()).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidRequestHeader {
                name: "Sec-WebSocket-Key",
                ..
            }
        ));
    }

    #[test]
    fn extra_headers_never_override_the_handshake() {
        let mut extra = HeaderMap::new();
        extra.insert(header::HOST, HeaderValue::from_static("evil.example"));
        extra.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        extra.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAA=="),
        );
        extra.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("x"),
        );
        extra.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("x-foo"),
        );
        extra.append("x-token", HeaderValue::from_static("1"));
        extra.append("x-token", HeaderValue::from_static("2"));
        let req = build_request(&uri("ws://a.example/"), KEY, &[], None, &extra).unwrap();
        let h = req.headers();
        assert_eq!(h.get_all(header::HOST).iter().count(), 1);
        assert_eq!(h[header::HOST], "a.example");
        assert_eq!(h.get_all(header::UPGRADE).iter().count(), 1);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::SEC_WEBSOCKET_KEY], KEY);
        assert!(!h.contains_key(header::SEC_WEBSOCKET_PROTOCOL));
        assert!(!h.contains_key(header::SEC_WEBSOCKET_EXTENSIONS));
        let tokens: Vec<_> = h.get_all("x-token").iter().collect();
        assert_eq!(tokens, ["1", "2"]);
    }

    #[test]
    fn deflate_offer_is_sent() {
        let cfg = DeflateConfig::default();
        let req = build_request(&uri("ws://a/"), KEY, &[], Some(&cfg), &HeaderMap::new()).unwrap();
        assert_eq!(
            req.headers()[header::SEC_WEBSOCKET_EXTENSIONS],
            cfg.client_offer().as_str()
        );
    }

    #[test]
    fn accepts_a_plain_101() {
        let negotiated = validate_response(&response(&[]), KEY, &[], None).unwrap();
        assert_eq!(negotiated, Negotiated::default());
    }

    #[test]
    fn tokens_in_the_response_are_case_insensitive() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n\
             connection: keep-alive, UPGRADE\r\nsec-websocket-accept: {ACCEPT}\r\n\r\n"
        );
        assert!(validate_response(&parse_text(&text), KEY, &[], None).is_ok());
    }

    #[test]
    fn non_101_is_rejected_with_its_status() {
        let resp = parse_text("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\n");
        let err = validate_response(&resp, KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::Rejected { status, ref reason }
                if status == StatusCode::BAD_REQUEST && reason == "Bad Request"
        ));
        assert_eq!(
            err.to_string(),
            "Invalid handshake response: 400 Bad Request"
        );

        // The server's own reason phrase is kept.
        let resp = parse_text("HTTP/1.1 403 Go Away\r\n\r\n");
        let err = validate_response(&resp, KEY, &[], None).unwrap_err();
        assert_eq!(err.to_string(), "Invalid handshake response: 403 Go Away");

        // Without one (or built by hand), the canonical phrase is used.
        let resp = parse_text("HTTP/1.1 404\r\n\r\n");
        let err = validate_response(&resp, KEY, &[], None).unwrap_err();
        assert_eq!(err.to_string(), "Invalid handshake response: 404 Not Found");
        let mut resp = Response::new(());
        *resp.status_mut() = StatusCode::OK;
        let err = validate_response(&resp, KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::Rejected {
                status: StatusCode::OK,
                ..
            }
        ));
        assert_eq!(err.to_string(), "Invalid handshake response: 200 OK");
    }

    #[test]
    fn upgrade_and_connection_are_required() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        );
        let err = validate_response(&parse_text(&text), KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidResponseHeader {
                name: "Upgrade",
                found: None,
                ..
            }
        ));
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: close\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        );
        let err = validate_response(&parse_text(&text), KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidResponseHeader {
                name: "Connection",
                found: Some(ref f),
                ..
            } if f == "close"
        ));
    }

    #[test]
    fn wrong_accept_key_is_rejected() {
        let err =
            validate_response(&response(&[]), "AAAAAAAAAAAAAAAAAAAAAA==", &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::AcceptKeyMismatch { found: Some(ref f), .. } if f == ACCEPT
        ));

        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                    Connection: Upgrade\r\n\r\n";
        let err = validate_response(&parse_text(text), KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::AcceptKeyMismatch { found: None, ref expected } if expected == ACCEPT
        ));

        let twice = format!("Sec-WebSocket-Accept: {ACCEPT}");
        let err = validate_response(&response(&[&twice]), KEY, &[], None).unwrap_err();
        assert!(matches!(err, HandshakeError::AcceptKeyMismatch { .. }));
    }

    #[test]
    fn protocol_checks() {
        let offered = strings(&["xml", "json"]);
        let ok = validate_response(
            &response(&["Sec-WebSocket-Protocol: json"]),
            KEY,
            &offered,
            None,
        )
        .unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("json"));

        // Not offered.
        let err = validate_response(
            &response(&["Sec-WebSocket-Protocol: soap"]),
            KEY,
            &offered,
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, HandshakeError::UnofferedProtocol { ref actual, .. } if actual == "soap")
        );
        assert_eq!(
            err.to_string(),
            "Invalid subprotocol. Actual: soap. Expected one of: xml, json"
        );

        // Case matters.
        assert!(validate_response(
            &response(&["Sec-WebSocket-Protocol: XML"]),
            KEY,
            &offered,
            None
        )
        .is_err());

        // Selected while we offered none.
        let err = validate_response(&response(&["Sec-WebSocket-Protocol: xml"]), KEY, &[], None)
            .unwrap_err();
        assert!(matches!(err, HandshakeError::UnofferedProtocol { .. }));

        // More than one selected.
        for extra in [
            &["Sec-WebSocket-Protocol: xml, json"][..],
            &[
                "Sec-WebSocket-Protocol: xml",
                "Sec-WebSocket-Protocol: json",
            ][..],
        ] {
            let err = validate_response(&response(extra), KEY, &offered, None).unwrap_err();
            assert!(
                matches!(err, HandshakeError::UnofferedProtocol { .. }),
                "{err}"
            );
        }

        // None selected although we offered some.
        let xml = strings(&["xml"]);
        let err = validate_response(&response(&[]), KEY, &xml, None).unwrap_err();
        assert!(matches!(err, HandshakeError::MissingProtocol { .. }));
        assert_eq!(
            err.to_string(),
            "Invalid subprotocol. Actual: none. Expected one of: xml"
        );
        let err = validate_response(&response(&["Sec-WebSocket-Protocol: "]), KEY, &xml, None)
            .unwrap_err();
        assert!(matches!(err, HandshakeError::MissingProtocol { .. }));
    }

    #[test]
    fn extension_checks() {
        // Unknown extension.
        let err = validate_response(
            &response(&["Sec-WebSocket-Extensions: x-webkit-deflate-frame"]),
            KEY,
            &[],
            Some(&DeflateConfig::default()),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UnofferedExtension { ref name } if name == "x-webkit-deflate-frame"
        ));

        // permessage-deflate accepted although not offered.
        let err = validate_response(
            &response(&["Sec-WebSocket-Extensions: permessage-deflate"]),
            KEY,
            &[],
            None,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UnofferedExtension { ref name } if name == "permessage-deflate"
        ));

        // An unknown one beside permessage-deflate.
        let err = validate_response(
            &response(&["Sec-WebSocket-Extensions: permessage-deflate, x-foo; a=\"1,2\""]),
            KEY,
            &[],
            Some(&DeflateConfig::default()),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UnofferedExtension { ref name } if name == "x-foo"
        ));

        // Offered and accepted.
        let ok = validate_response(
            &response(&["Sec-WebSocket-Extensions: permessage-deflate"]),
            KEY,
            &[],
            Some(&DeflateConfig::default()),
        )
        .unwrap();
        assert!(ok.deflate.is_some());

        // Offered and declined.
        let ok =
            validate_response(&response(&[]), KEY, &[], Some(&DeflateConfig::default())).unwrap();
        assert!(ok.deflate.is_none());

        // Accepted with a parameter RFC 7692 does not define: delegated, and refused.
        let err = validate_response(
            &response(&["Sec-WebSocket-Extensions: permessage-deflate; bogus_param"]),
            KEY,
            &[],
            Some(&DeflateConfig::default()),
        )
        .unwrap_err();
        assert!(matches!(err, HandshakeError::Extension(_)), "{err}");
        assert!(err.to_string().starts_with("Invalid handshake response: "));
    }

    #[test]
    fn splits_lists_outside_quotes() {
        assert_eq!(split_list("a, b;c=\"1,2\", d"), ["a", " b;c=\"1,2\"", " d"]);
        assert_eq!(split_list("a;x=\"q\\\",\", b"), ["a;x=\"q\\\",\"", " b"]);
        assert_eq!(split_list(""), [""]);
        assert_eq!(split_list("\"unterminated, x"), ["\"unterminated, x"]);
    }

    #[test]
    fn parses_responses_byte_by_byte() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        );
        let bytes = text.as_bytes();
        for end in 0..bytes.len() {
            assert!(
                parse_response(&bytes[..end], 8192).unwrap().is_none(),
                "{end}"
            );
        }
        let mut with_frame = bytes.to_vec();
        with_frame.extend_from_slice(b"\x81\x02hi");
        let (resp, len) = parse_response(&with_frame, 8192).unwrap().unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            resp.extensions().get::<ReasonPhrase>(),
            Some(&ReasonPhrase("Switching Protocols".into()))
        );
    }

    #[test]
    fn oversized_and_malformed_responses() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nX-Filler: {}\r\n\r\n",
            "f".repeat(200)
        );
        assert!(matches!(
            parse_response(text.as_bytes(), 100),
            Err(HandshakeError::ResponseTooLarge { limit: 100 })
        ));
        // Incomplete but already at the limit: fail, do not wait for more.
        assert!(matches!(
            parse_response(&text.as_bytes()[..100], 100),
            Err(HandshakeError::ResponseTooLarge { .. })
        ));
        assert!(parse_response(&text.as_bytes()[..99], 100)
            .unwrap()
            .is_none());

        let many = format!(
            "HTTP/1.1 101 Switching Protocols\r\n{}\r\n",
            "X-A: b\r\n".repeat(MAX_RESPONSE_HEADERS + 1)
        );
        assert!(matches!(
            parse_response(many.as_bytes(), 1 << 20),
            Err(HandshakeError::ResponseTooLarge { .. })
        ));

        for bad in [
            "HTTP/2 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 abc\r\n\r\n",
            "HTTP/1.1 099 Weird\r\n\r\n",
            "SSH-2.0-OpenSSH_9.6\r\n",
        ] {
            assert!(
                matches!(
                    parse_response(bad.as_bytes(), 8192),
                    Err(HandshakeError::MalformedResponse(_))
                ),
                "{bad:?}"
            );
        }
    }

    /// The whole exchange, both sides, through the wire format.
    fn round_trip(
        client_protocols: &[String],
        client_deflate: Option<&DeflateConfig>,
        server: &AcceptConfig,
    ) -> (Negotiated, Result<Negotiated, HandshakeError>) {
        let key = crate::handshake::generate_key();
        let mut extra = HeaderMap::new();
        extra.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example"),
        );
        let req = build_request(
            &uri("wss://chat.example:8443/room/1?token=abc"),
            &key,
            client_protocols,
            client_deflate,
            &extra,
        )
        .unwrap();
        let mut wire = Vec::new();
        write_request(&req, &mut wire);
        wire.extend_from_slice(b"\x81\x80early"); // must not be consumed with the head

        let (parsed, head_len) = parse_request(&wire, &Default::default()).unwrap().unwrap();
        assert_eq!(&wire[head_len..], b"\x81\x80early");
        assert_eq!(parsed.uri(), "/room/1?token=abc");
        assert_eq!(parsed.headers()[header::HOST], "chat.example:8443");
        assert_eq!(parsed.headers()[header::ORIGIN], "https://app.example");
        let offer = validate_request(&parsed).unwrap();
        assert_eq!(offer.key, key);
        assert_eq!(offer.protocols, client_protocols);
        let (resp, server_side) = accept(&offer, server);

        let mut wire = Vec::new();
        write_response(&resp, &mut wire);
        let (parsed, head_len) = parse_response(&wire, 8192).unwrap().unwrap();
        assert_eq!(head_len, wire.len());
        let client_side = validate_response(&parsed, &key, client_protocols, client_deflate);
        (server_side, client_side)
    }

    #[test]
    fn round_trip_with_protocol_and_deflate() {
        let cfg = DeflateConfig::default();
        let server = AcceptConfig {
            protocols: strings(&["v1.json", "v2.json"]),
            deflate: Some(cfg.clone()),
        };
        let offered = strings(&["v2.json", "v1.json"]);
        let (server_side, client_side) = round_trip(&offered, Some(&cfg), &server);
        let client_side = client_side.unwrap();
        assert_eq!(server_side.protocol.as_deref(), Some("v2.json"));
        assert_eq!(client_side.protocol, server_side.protocol);
        assert!(server_side.deflate.is_some());
        assert!(client_side.deflate.is_some());
    }

    #[test]
    fn round_trip_plain() {
        let (server_side, client_side) = round_trip(&[], None, &AcceptConfig::default());
        assert_eq!(server_side, Negotiated::default());
        assert_eq!(client_side.unwrap(), Negotiated::default());
    }

    #[test]
    fn round_trip_declines() {
        // The server does no compression: the client's offer is declined, which is fine.
        let cfg = DeflateConfig::default();
        let (server_side, client_side) = round_trip(&[], Some(&cfg), &AcceptConfig::default());
        assert!(server_side.deflate.is_none());
        assert_eq!(client_side.unwrap(), Negotiated::default());

        // No common sub-protocol: the server still accepts, and the client fails.
        let server = AcceptConfig {
            protocols: strings(&["graphql-ws"]),
            deflate: None,
        };
        let (server_side, client_side) = round_trip(&strings(&["xml"]), None, &server);
        assert!(server_side.protocol.is_none());
        assert_eq!(
            client_side.unwrap_err().to_string(),
            "Invalid subprotocol. Actual: none. Expected one of: xml"
        );
    }

    #[test]
    fn server_rejection_reaches_the_client() {
        let req = parse_request(
            b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            &Default::default(),
        )
        .unwrap()
        .unwrap()
        .0;
        let reply = validate_request(&req).unwrap_err().to_response();
        let mut wire = Vec::new();
        write_response(&reply, &mut wire);
        let head = wire.len();
        wire.extend_from_slice(reply.body().as_bytes());
        let (resp, len) = parse_response(&wire, 8192).unwrap().unwrap();
        assert_eq!(len, head);
        assert_eq!(resp.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        let err = validate_response(&resp, KEY, &[], None).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::Rejected {
                status: StatusCode::UPGRADE_REQUIRED,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "Invalid handshake response: 426 Upgrade Required"
        );
    }
}
