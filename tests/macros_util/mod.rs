//! Helpers of the `macros_*` tests: `#[ws_service]` services on a listener at 127.0.0.1:0,
//! driven by tokio-tungstenite (an independent peer) or by `ws_framework::Client`.

#![allow(dead_code)] // Each test file uses a different part.

use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::{Error as TError, Message as TMessage};
use ws_framework::{Listener, Service};

/// Every test's overall bound.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The tungstenite side of a connection.
pub type Peer =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Runs `test` bounded by [`LIMIT`].
pub async fn within<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out")
}

/// Starts a listener on 127.0.0.1:0 serving `S` with `state`; returns it and `ws://host:port`.
pub async fn start_with<S: Service>(state: S::State) -> (Listener, String) {
    let listener = Listener::bind("127.0.0.1:0").await.unwrap();
    listener.attach_with::<S>(state).unwrap();
    listener.start().unwrap();
    let base = format!("ws://{}", listener.local_addr());
    (listener, base)
}

/// [`start_with`] with the default state.
pub async fn start<S: Service>() -> (Listener, String)
where
    S::State: Default,
{
    start_with::<S>(S::State::default()).await
}

/// A request for `url` with extra headers.
pub fn request(url: &str, headers: &[(&str, &str)]) -> Request {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    request
}

/// Opens a connection, expecting the upgrade to succeed.
pub async fn open(url: &str) -> Peer {
    open_with(request(url, &[])).await.0
}

/// Opens a connection with `request`, returning the 101 response too.
pub async fn open_with(request: Request) -> (Peer, Response) {
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds")
}

/// The status and body of a refused upgrade (101 and an empty body when it succeeds).
pub async fn refusal(url: &str) -> (u16, String) {
    refusal_with(request(url, &[])).await
}

/// [`refusal`] with a prepared request.
pub async fn refusal_with(request: Request) -> (u16, String) {
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => (101, String::new()),
        Err(TError::Http(resp)) => {
            let body = resp.body().as_deref().unwrap_or_default();
            (
                resp.status().as_u16(),
                String::from_utf8_lossy(body).into_owned(),
            )
        }
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

pub async fn send_text(peer: &mut Peer, text: &str) {
    peer.send(TMessage::text(text)).await.expect("send text");
}

pub async fn send_binary(peer: &mut Peer, data: &[u8]) {
    peer.send(TMessage::binary(data.to_vec()))
        .await
        .expect("send binary");
}

/// The next text or binary message (pings and pongs are skipped).
pub async fn next_data(peer: &mut Peer) -> TMessage {
    loop {
        match peer.next().await {
            Some(Ok(m @ (TMessage::Text(_) | TMessage::Binary(_) | TMessage::Close(_)))) => {
                return m
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("read failed: {e}"),
            None => panic!("the connection ended"),
        }
    }
}

/// The payload of the next pong (the server's keepalive pings are skipped).
pub async fn next_pong(peer: &mut Peer) -> Vec<u8> {
    loop {
        match peer.next().await {
            Some(Ok(TMessage::Pong(p))) => return p.to_vec(),
            Some(Ok(TMessage::Ping(_))) => {}
            other => panic!("expected a pong, got {other:?}"),
        }
    }
}

/// The next message, which must be text.
pub async fn next_text(peer: &mut Peer) -> String {
    match next_data(peer).await {
        TMessage::Text(t) => t.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The next message, which must be binary.
pub async fn next_binary(peer: &mut Peer) -> Vec<u8> {
    match next_data(peer).await {
        TMessage::Binary(b) => b.to_vec(),
        other => panic!("expected binary, got {other:?}"),
    }
}

/// Sends `text` and returns the text answer.
pub async fn ask(peer: &mut Peer, text: &str) -> String {
    send_text(peer, text).await;
    next_text(peer).await
}

/// Reads until the server's close frame, then on until TCP ends (tungstenite echoes the close
/// meanwhile); returns the code and reason received, 1006 when none came.
pub async fn read_close(peer: &mut Peer) -> (u16, String) {
    let mut seen = None;
    // Bounded by the connection: the server closes TCP after the closing handshake.
    while let Some(m) = peer.next().await {
        match m {
            Ok(TMessage::Close(Some(f))) => seen = Some((u16::from(f.code), f.reason.to_string())),
            Ok(TMessage::Close(None)) => seen = Some((1005, String::new())),
            Ok(TMessage::Text(t)) if seen.is_none() => panic!("expected a close, got text {t:?}"),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    seen.unwrap_or((1006, String::new()))
}

/// Polls `cond` every 10 ms until it holds, at most 5 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}
