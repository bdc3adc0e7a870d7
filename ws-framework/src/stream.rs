//! Opening handshakes over a raw stream, for the engine used without the listener or the client
//! types: [`accept`] on the server side, [`connect`] / [`connect_stream`] on the client side.

use crate::conn::{ConnConfig, Driver, WebSocket};
use crate::error::{Error, Result};
use crate::handshake::{
    accept as accept_offer, parse_request, validate_request, write_response, AcceptConfig,
    RequestLimits,
};
use crate::handshake::{build_request, parse_response, validate_response, write_request};
use crate::handshake::{generate_key, HandshakeError};
use crate::proto::deflate::DeflateConfig;
use crate::proto::Role;
use bytes::BytesMut;
use http::{Request, Response, Uri};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a server accepts: sub-protocols, compression, limits of the request head.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AcceptOptions {
    /// Sub-protocols and permessage-deflate settings (`deflate: None` declines compression).
    pub accept: AcceptConfig,
    /// Limits of the request head.
    pub limits: RequestLimits,
    /// Settings of the connection once open.
    pub conn: ConnConfig,
}

impl AcceptOptions {
    /// Defaults with compression on.
    pub fn with_compression() -> Self {
        let mut options = Self::default();
        options.accept.deflate = Some(DeflateConfig::default());
        options
    }
}

/// Reads the opening handshake from `stream`, answers it, and returns the open connection, its
/// driver (spawn it) and the request. A bad request is answered with its HTTP error status
/// before this fails.
pub async fn accept<S>(
    mut stream: S,
    options: &AcceptOptions,
) -> Result<(WebSocket, Driver<S>, Request<()>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(1024);
    let (request, head_len) = loop {
        match parse_request(&buf, &options.limits) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) => {}
            Err(e) => return Err(reject(&mut stream, e).await),
        }
        if stream.read_buf(&mut buf).await.map_err(Error::Connection)? == 0 {
            return Err(Error::InvalidHandshake {
                status: None,
                message: "connection closed during the handshake".into(),
            });
        }
    };
    let _ = buf.split_to(head_len);
    let offer = match validate_request(&request) {
        Ok(offer) => offer,
        Err(e) => return Err(reject(&mut stream, e).await),
    };
    let (response, negotiated) = accept_offer(&offer, &options.accept);
    let mut out = Vec::with_capacity(256);
    write_response(&response, &mut out);
    stream.write_all(&out).await.map_err(Error::Connection)?;
    let (ws, driver) = WebSocket::from_upgraded(
        stream,
        Role::Server,
        options.conn.clone(),
        negotiated.protocol,
        negotiated.deflate,
        buf,
    );
    Ok((ws, driver, request))
}

async fn reject<S: AsyncWrite + Unpin>(stream: &mut S, e: HandshakeError) -> Error {
    let response = e.to_response();
    let mut out = Vec::with_capacity(256);
    write_response(&response, &mut out);
    out.extend_from_slice(response.body().as_bytes());
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
    Error::InvalidHandshake {
        status: Some(e.status()),
        message: e.to_string(),
    }
}

/// What a client asks for.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Sub-protocols to offer, in preference order.
    pub protocols: Vec<String>,
    /// permessage-deflate to offer (`None`: no compression).
    pub deflate: Option<DeflateConfig>,
    /// Extra request headers.
    pub headers: http::HeaderMap,
    /// Settings of the connection once open.
    pub conn: ConnConfig,
}

impl ConnectOptions {
    /// Defaults with compression offered.
    pub fn with_compression() -> Self {
        Self {
            deflate: Some(DeflateConfig::default()),
            ..Self::default()
        }
    }
}

/// Largest response head a client reads.
const MAX_RESPONSE_HEAD: usize = 16 << 10;

/// Performs the client handshake for `uri` over an already connected `stream`.
pub async fn connect_stream<S>(
    mut stream: S,
    uri: &Uri,
    options: &ConnectOptions,
) -> Result<(WebSocket, Driver<S>, Response<()>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let key = generate_key();
    let request = build_request(
        uri,
        &key,
        &options.protocols,
        options.deflate.as_ref(),
        &options.headers,
    )
    .map_err(handshake_error)?;
    let mut out = Vec::with_capacity(256);
    write_request(&request, &mut out);
    stream.write_all(&out).await.map_err(Error::Connection)?;
    let mut buf = BytesMut::with_capacity(1024);
    let (response, head_len) = loop {
        if let Some(parsed) = parse_response(&buf, MAX_RESPONSE_HEAD).map_err(handshake_error)? {
            break parsed;
        }
        if stream.read_buf(&mut buf).await.map_err(Error::Connection)? == 0 {
            return Err(Error::InvalidHandshake {
                status: None,
                message: "connection closed during the handshake".into(),
            });
        }
    };
    let _ = buf.split_to(head_len);
    let negotiated = validate_response(
        &response,
        &key,
        &options.protocols,
        options.deflate.as_ref(),
    )
    .map_err(handshake_error)?;
    let (ws, driver) = WebSocket::from_upgraded(
        stream,
        Role::Client,
        options.conn.clone(),
        negotiated.protocol,
        negotiated.deflate,
        buf,
    );
    Ok((ws, driver, response))
}

/// Connects to a `ws://` URL over TCP and performs the handshake.
pub async fn connect(
    url: &str,
    options: &ConnectOptions,
) -> Result<(WebSocket, Driver<TcpStream>, Response<()>)> {
    let uri: Uri = url.parse().map_err(|e| Error::InvalidUrl {
        url: url.to_owned(),
        reason: format!("{e}"),
    })?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") => {}
        Some(s) if s.eq_ignore_ascii_case("wss") => {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "wss:// needs the TLS client".into(),
            })
        }
        Some(s) => {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: format!("unsupported scheme `{s}`; use ws or wss"),
            })
        }
        None => {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "no scheme; use ws://host:port/path".into(),
            })
        }
    }
    let host = uri.host().ok_or_else(|| Error::InvalidUrl {
        url: url.to_owned(),
        reason: "no host".into(),
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(Error::Connection)?;
    let _ = tcp.set_nodelay(true);
    connect_stream(tcp, &uri, options).await
}

pub(crate) fn handshake_error(e: HandshakeError) -> Error {
    let status = match &e {
        HandshakeError::Rejected { status, .. } => Some(*status),
        _ => None,
    };
    Error::InvalidHandshake {
        status,
        message: e.to_string(),
    }
}
