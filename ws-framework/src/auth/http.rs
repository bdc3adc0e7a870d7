//! A one-request HTTP/1.1 client (hyper) for the OAuth2 endpoints: the introspection endpoint
//! of the listener and the token endpoint of the client, over HTTPS or plain HTTP.

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Largest response body read from an endpoint.
const MAX_BODY: usize = 1 << 20;

/// Default time for one exchange with an endpoint (connect, TLS, request, response).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

struct Prepared {
    uri: Uri,
    host: String,
    port: u16,
    host_header: HeaderValue,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConnector>,
}

/// An HTTP(S) endpoint, checked (and its TLS configuration built) once.
#[derive(Clone)]
pub(crate) struct Endpoint {
    url: String,
    #[cfg(feature = "tls")]
    tls: crate::tls::ClientTlsConfig,
    pub(crate) timeout: Duration,
    prepared: Arc<OnceLock<Prepared>>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Endpoint");
        d.field("url", &self.url);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.field("timeout", &self.timeout).finish()
    }
}

impl Endpoint {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            #[cfg(feature = "tls")]
            tls: crate::tls::ClientTlsConfig::new(),
            timeout: DEFAULT_TIMEOUT,
            prepared: Arc::new(OnceLock::new()),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    #[cfg(feature = "tls")]
    pub(crate) fn set_tls(&mut self, tls: crate::tls::ClientTlsConfig) {
        self.tls = tls;
        self.prepared = Arc::new(OnceLock::new());
    }

    /// Parses the URL and builds the TLS connector.
    pub(crate) fn prepare(&self) -> Result<(), String> {
        self.prepared().map(drop)
    }

    fn prepared(&self) -> Result<&Prepared, String> {
        if let Some(p) = self.prepared.get() {
            return Ok(p);
        }
        let url = &self.url;
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("endpoint URL `{url}` is malformed: {e}"))?;
        let secure = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => {
                return Err(format!(
                    "endpoint URL `{url}` must start with https:// or http://"
                ))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("endpoint URL `{url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let host_header = match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let host_header = HeaderValue::try_from(host_header)
            .map_err(|_| format!("endpoint URL `{url}` has an invalid host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        #[cfg(feature = "tls")]
        let tls = if secure {
            Some(
                self.tls
                    .build()
                    .map_err(|e| format!("endpoint `{url}`: {e}"))?,
            )
        } else {
            None
        };
        #[cfg(not(feature = "tls"))]
        if secure {
            return Err(format!(
                "endpoint `{url}`: https:// needs ws-framework's `tls` feature"
            ));
        }
        let prepared = Prepared {
            uri,
            host,
            port,
            host_header,
            #[cfg(feature = "tls")]
            tls,
        };
        Ok(self.prepared.get_or_init(|| prepared))
    }

    /// POSTs an `application/x-www-form-urlencoded` body; returns the status and body.
    pub(crate) async fn post_form(
        &self,
        authorization: Option<&HeaderValue>,
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Bytes), String> {
        let prepared = self.prepared()?;
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let path = prepared
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut request = Request::post(path)
            .header(header::HOST, prepared.host_header.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        if let Some(value) = authorization {
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, value.clone());
        }
        let exchange = async {
            let tcp = TcpStream::connect((prepared.host.as_str(), prepared.port))
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            #[cfg(feature = "tls")]
            if let Some(tls) = &prepared.tls {
                let stream = tls
                    .connect(&prepared.host, tcp)
                    .await
                    .map_err(|e| e.to_string())?;
                return send(stream, request).await;
            }
            send(tcp, request).await
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("`{}` did not answer within {:?}", self.url, self.timeout))?
            .map_err(|e| format!("`{}`: {e}", self.url))
    }
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn bad_urls() {
        assert!(Endpoint::new("ftp://x").prepare().is_err());
        assert!(Endpoint::new("http://").prepare().is_err());
        assert!(Endpoint::new("http://127.0.0.1:9/introspect")
            .prepare()
            .is_ok());
    }
}
