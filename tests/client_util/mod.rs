//! Peers for the client tests: tokio-tungstenite servers on 127.0.0.1, port 0.

#![allow(dead_code)] // Each test file uses a different part.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::WebSocketStream;

/// Every test's overall bound.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The server side of one connection.
pub type Server = WebSocketStream<TcpStream>;

/// Runs `test` bounded by [`LIMIT`].
pub async fn within<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out")
}

pub fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

pub async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Completes the server handshake on `stream`, letting `on_request` inspect the request and
/// shape the 101 response.
pub async fn accept_with<F>(stream: TcpStream, on_request: F) -> Server
where
    F: FnOnce(&Request, Response) -> Result<Response, ErrorResponse> + Unpin,
{
    tokio_tungstenite::accept_hdr_async(stream, on_request)
        .await
        .unwrap()
}

/// Serves every connection on `listener` with `serve`, each in its own task.
pub fn serve_all<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(Server) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            tokio::spawn(serve(ws));
        }
    });
}

/// Serves connections with `serve`; returns the address.
pub async fn server<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(Server) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, addr) = bind().await;
    serve_all(listener, serve);
    addr
}

/// Echoes text and binary messages until the connection ends (pings are answered by
/// tungstenite, closes echoed).
pub async fn echo(mut ws: Server) {
    use futures_util::{SinkExt, StreamExt};
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

pub async fn echo_server() -> SocketAddr {
    server(echo).await
}

/// Reports every data message the server receives on the returned channel.
pub async fn recording_server() -> (SocketAddr, mpsc::UnboundedReceiver<TMessage>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = server(move |mut ws| {
        let tx = tx.clone();
        async move {
            use futures_util::StreamExt;
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() || message.is_binary() {
                    let _ = tx.send(message);
                }
            }
        }
    })
    .await;
    (addr, rx)
}
