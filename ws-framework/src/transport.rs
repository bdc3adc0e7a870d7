//! The listener's byte stream: plain TCP or TLS over TCP, decided per listener.

use crate::error::Result;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// An accepted connection, after the TLS handshake when the listener has TLS.
#[derive(Debug)]
pub(crate) enum ServerStream {
    /// Plain TCP (`ws://`).
    Plain(TcpStream),
    /// TLS over TCP (`wss://`).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl ServerStream {
    /// What requests on this connection carry in their extensions.
    pub(crate) fn info(&self) -> ConnInfo {
        match self {
            Self::Plain(_) => ConnInfo::default(),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => ConnInfo {
                secure: true,
                peer_certificates: tls.get_ref().1.peer_certificates().map(|chain| {
                    chain
                        .iter()
                        .map(|c| c.as_ref().to_vec())
                        .collect::<Vec<_>>()
                        .into()
                }),
            },
        }
    }
}

/// What the listener knows of a connection beyond the peer's address; put into the extensions
/// of every request served on it.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnInfo {
    /// The request came over TLS.
    pub(crate) secure: bool,
    /// The client's certificate chain (DER, leaf first), when it presented one (mutual TLS).
    pub(crate) peer_certificates: Option<std::sync::Arc<[Vec<u8>]>>,
}

/// Turns accepted TCP connections into [`ServerStream`]s: the TLS handshake, if any.
#[derive(Clone, Default)]
pub(crate) struct Acceptor {
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor")
            .field("tls", &self.is_tls())
            .finish()
    }
}

impl Acceptor {
    /// Checks the listener's TLS settings (reading the files) and prepares the acceptor.
    pub(crate) fn new(config: &crate::listener::ListenerConfig) -> Result<Self> {
        #[cfg(feature = "tls")]
        {
            let tls = config
                .tls
                .as_ref()
                .map(crate::tls::ServerTls::new)
                .transpose()?;
            Ok(Self { tls })
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = config;
            Ok(Self {})
        }
    }

    /// Whether connections are TLS.
    pub(crate) fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.tls.is_some()
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }

    /// The TLS handshake (bounded by its timeout) when the listener has TLS; `None` when it
    /// failed (the connection is dropped: there is no one to report it to).
    pub(crate) async fn accept(&self, tcp: TcpStream) -> Option<ServerStream> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls
                .accept(tcp)
                .await
                .ok()
                .map(|s| ServerStream::Tls(Box::new(s)));
        }
        Some(ServerStream::Plain(tcp))
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A [`ServerStream`] with bytes already read from it put back in front: what the listener read
/// while looking for a WebSocket upgrade, handed to hyper when the request is something else.
#[derive(Debug)]
pub(crate) struct Rewind {
    prefix: bytes::Bytes,
    inner: ServerStream,
}

impl Rewind {
    /// `inner`, whose next bytes are `prefix`.
    pub(crate) fn new(prefix: bytes::Bytes, inner: ServerStream) -> Self {
        Self { prefix, inner }
    }

    /// The stream, and whatever of the prefix was not read yet.
    pub(crate) fn into_parts(self) -> (bytes::Bytes, ServerStream) {
        (self.prefix, self.inner)
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
