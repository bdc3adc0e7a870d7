//! The upgrade request as the service sees it, and the ways to reject it.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::fmt;
use std::net::SocketAddr;

/// The HTTP request that asks to open a WebSocket, with the route's path parameters.
///
/// The upgrade hook (`#[on_upgrade]`) may read it and add headers to the 101 response.
#[derive(Debug)]
pub struct UpgradeRequest {
    parts: http::request::Parts,
    path_params: Vec<(String, String)>,
    peer: SocketAddr,
    secure: bool,
    protocols: Vec<String>,
    response_headers: HeaderMap,
    principal: Option<crate::auth::Principal>,
}

impl UpgradeRequest {
    /// Builds the view of a request; used by the listener and by tests.
    pub fn new(
        parts: http::request::Parts,
        path_params: Vec<(String, String)>,
        peer: SocketAddr,
        secure: bool,
    ) -> Self {
        let protocols = parts
            .headers
            .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        Self {
            parts,
            path_params,
            peer,
            secure,
            protocols,
            response_headers: HeaderMap::new(),
            principal: None,
        }
    }

    /// The method (always GET for a valid upgrade).
    pub fn method(&self) -> &http::Method {
        &self.parts.method
    }

    /// The request URI.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }

    /// The path of the URI.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The first value of header `name`, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name` that is valid UTF-8.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The `Origin` header, if any.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The cookies sent with the request, as (name, value) pairs in order.
    pub fn cookies(&self) -> Vec<(&str, &str)> {
        self.header_all("cookie")
            .into_iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|c| {
                let (name, value) = c.split_once('=')?;
                Some((name.trim(), value.trim()))
            })
            .collect()
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Query parameters, percent-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.parts.uri.query().map(parse_query).unwrap_or_default()
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Every value of query parameter `name`.
    pub fn query_all(&self, name: &str) -> Vec<String> {
        self.query_pairs()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// The value of path parameter `name` (from the service's path template), percent-decoded.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All path parameters.
    pub fn path_params(&self) -> &[(String, String)] {
        &self.path_params
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the request came over TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The sub-protocols the client offered, in its order.
    pub fn offered_protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Adds a header to the 101 response (for example `Set-Cookie`).
    pub fn add_response_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.response_headers.append(name, value);
    }

    /// The headers to add to the 101 response.
    pub fn response_headers(&self) -> &HeaderMap {
        &self.response_headers
    }

    /// Takes the response headers out (used by the listener).
    pub fn take_response_headers(&mut self) -> HeaderMap {
        std::mem::take(&mut self.response_headers)
    }

    /// The request head.
    pub fn parts(&self) -> &http::request::Parts {
        &self.parts
    }

    /// The client's certificate chain (DER, leaf first) when it presented one over mutual TLS
    /// (see [`ClientCertMode`][client-cert-mode]); the TLS layer has already verified it.
    ///
    #[cfg_attr(
        feature = "tls",
        doc = "[client-cert-mode]: crate::tls::ClientCertMode"
    )]
    #[cfg_attr(
        not(feature = "tls"),
        doc = "[client-cert-mode]: crate::ListenerConfig"
    )]
    pub fn peer_certificates(&self) -> Option<&[Vec<u8>]> {
        self.parts
            .extensions
            .get::<crate::transport::ConnInfo>()
            .and_then(|info| info.peer_certificates.as_deref())
    }

    /// Who authenticated, when the service has an `auth` setting (it ran before the hook).
    pub fn principal(&self) -> Option<&crate::auth::Principal> {
        self.principal.as_ref()
    }

    /// Records who the hook authenticated itself (custom schemes, cookies, query tokens); the
    /// connection's handlers then see it through [`crate::Caller::principal`].
    pub fn set_principal(&mut self, principal: crate::auth::Principal) {
        self.principal = Some(principal);
    }

    /// Takes the principal out (used by the listener).
    pub(crate) fn take_principal(&mut self) -> Option<crate::auth::Principal> {
        self.principal.take()
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as space, the form encoding); invalid escapes stay as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A refused upgrade: the HTTP status, a message for the response body, and extra headers.
///
/// Converting from a string gives 400 Bad Request, as Ballerina does for any returned error.
#[derive(Debug, Clone)]
pub struct UpgradeError(Box<Refusal>);

/// Boxed so that `Result<Service, UpgradeError>` stays small.
#[derive(Debug, Clone)]
struct Refusal {
    status: StatusCode,
    message: String,
    headers: HeaderMap,
}

impl UpgradeError {
    /// Refuses with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(Box::new(Refusal {
            status,
            message: message.into(),
            headers: HeaderMap::new(),
        }))
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 Unauthorized (authentication failed).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 Forbidden (authenticated but not allowed).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// Adds a header to the error response (for example `WWW-Authenticate`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.append(name, value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.status, self.0.message)
    }
}

impl From<String> for UpgradeError {
    fn from(message: String) -> Self {
        Self::bad_request(message)
    }
}

impl From<&str> for UpgradeError {
    fn from(message: &str) -> Self {
        Self::bad_request(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_cookies() {
        let req = http::Request::get("/chat/r1?name=Ann%20B&x=1&x=2&flag")
            .header("cookie", "a=1; b = two")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let req = UpgradeRequest::new(
            parts,
            vec![("room".into(), "r1".into())],
            "127.0.0.1:1".parse().unwrap(),
            false,
        );
        assert_eq!(req.query("name").as_deref(), Some("Ann B"));
        assert_eq!(req.query_all("x"), ["1", "2"]);
        assert_eq!(req.query("flag").as_deref(), Some(""));
        assert_eq!(req.cookie("b"), Some("two"));
        assert_eq!(req.path_param("room"), Some("r1"));
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%41"), "A");
    }
}
