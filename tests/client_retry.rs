//! Retry: the handshake until the server is up, reads and writes across a server restart,
//! exhaustion, the growing back-off, and no retry after a normal close.

mod client_util;

use client_util::{bind, echo, serve_all, server, url, within, Server};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::{Client, ClientBuilder, CloseCode, Error, RetryConfig};

/// What `on_retry` saw: attempt, delay, error text.
type Retries = mpsc::UnboundedReceiver<(u32, Duration, String)>;

/// A client builder that retries every 50 ms, up to 100 times, reporting each retry.
fn retrying(addr: SocketAddr) -> (ClientBuilder, Retries) {
    let (tx, rx) = mpsc::unbounded_channel();
    let builder = Client::builder(url(addr))
        .retry(
            RetryConfig::new()
                .interval(Duration::from_millis(50))
                .backoff_factor(1.0)
                .max_count(100),
        )
        .on_retry(move |event| {
            let _ = tx.send((event.attempt, event.delay, event.error.to_string()));
        });
    (builder, rx)
}

/// Serves one connection until told to crash: then the listener and the TCP connection are
/// dropped without a close frame.
async fn crashing_server() -> (SocketAddr, oneshot::Sender<()>) {
    let (listener, addr) = bind().await;
    let (crash, crashed) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let _ = crashed.await;
        drop(listener); // first, so that the port is free once the client notices
        drop(ws);
    });
    (addr, crash)
}

#[tokio::test]
async fn handshake_is_retried_until_the_server_comes_up() {
    within(async {
        let (listener, addr) = bind().await;
        drop(listener);
        let (builder, mut retries) = retrying(addr);
        let connecting = tokio::spawn(builder.connect());
        let (attempt, delay, error) = retries.recv().await.unwrap();
        assert_eq!((attempt, delay), (1, Duration::from_millis(50)));
        assert!(error.starts_with("connection error"), "{error}");
        // The first attempt failed: now the server comes up.
        serve_all(TcpListener::bind(addr).await.unwrap(), echo);
        let client = connecting.await.unwrap().unwrap();
        client.write_text("up").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "up");
    })
    .await;
}

#[tokio::test]
async fn pending_read_continues_on_a_new_connection_after_server_restart() {
    within(async {
        let (addr, crash) = crashing_server().await;
        let (builder, mut retries) = retrying(addr);
        let client = builder.connect().await.unwrap();
        let first_id = client.id();
        let reader = {
            let client = client.clone();
            tokio::spawn(async move { client.read_text().await })
        };
        crash.send(()).unwrap();
        let (attempt, _, error) = retries.recv().await.unwrap();
        assert_eq!(attempt, 1);
        assert!(
            error.contains("1006"),
            "the connection was lost abnormally: {error}"
        );
        // The server restarts on the same port and greets whoever connects.
        serve_all(
            TcpListener::bind(addr).await.unwrap(),
            |mut ws: Server| async move {
                ws.send(TMessage::text("after restart")).await.unwrap();
                while let Some(Ok(_)) = ws.next().await {}
            },
        );
        assert_eq!(reader.await.unwrap().unwrap(), "after restart");
        assert_ne!(client.id(), first_id, "a reconnect opens a new connection");
        assert!(client.is_open());
    })
    .await;
}

#[tokio::test]
async fn failed_write_is_resent_after_server_restart() {
    within(async {
        let (addr, crash) = crashing_server().await;
        let (builder, mut retries) = retrying(addr);
        // Fragmented: the re-sent message is re-fragmented on the new connection.
        let client = builder.max_frame_size(4).connect().await.unwrap();
        crash.send(()).unwrap();
        client.websocket().closed().await; // the client noticed the loss
        assert!(!client.is_open());
        let (tx, mut on_addr) = mpsc::unbounded_channel();
        serve_all(
            TcpListener::bind(addr).await.unwrap(),
            move |mut ws: Server| {
                let tx = tx.clone();
                async move {
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_text() || message.is_binary() {
                            let _ = tx.send(message);
                        }
                    }
                }
            },
        );
        client.write_text("resent after restart").await.unwrap();
        client.write_binary(vec![1u8, 2, 3, 4, 5, 6]).await.unwrap();
        assert_eq!(
            on_addr.recv().await.unwrap(),
            TMessage::text("resent after restart")
        );
        assert_eq!(
            on_addr.recv().await.unwrap(),
            TMessage::binary(vec![1u8, 2, 3, 4, 5, 6])
        );
        let (attempt, _, error) = retries.recv().await.unwrap();
        assert_eq!(attempt, 1);
        assert!(error.contains("1006"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn exhausted_retries_fail_with_connection_error() {
    within(async {
        let (listener, addr) = bind().await;
        drop(listener);
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let err = Client::builder(url(addr))
            .retry(
                RetryConfig::new()
                    .max_count(3)
                    .interval(Duration::from_millis(10)),
            )
            .on_retry(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err}");
        assert!(err.to_string().contains("after 3 retries"), "{err}");
        assert_eq!(count.load(Ordering::SeqCst), 3);
    })
    .await;
}

#[tokio::test]
async fn backoff_delays_grow_between_attempts() {
    within(async {
        // Every attempt is answered 503 (retryable) and timestamped by the server.
        let (listener, addr) = bind().await;
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let record = stamps.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 << 10 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                record.lock().unwrap().push(Instant::now());
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let retry = RetryConfig::new()
            .max_count(3)
            .interval(Duration::from_millis(40))
            .backoff_factor(2.0)
            .max_wait(Duration::from_secs(1));
        let delays = Arc::new(Mutex::new(Vec::new()));
        let seen = delays.clone();
        let err = Client::builder(url(addr))
            .retry(retry.clone())
            .on_retry(move |event| seen.lock().unwrap().push(event.delay))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err}");
        assert!(
            err.to_string().contains("503"),
            "the last failure is named: {err}"
        );
        let expected: Vec<_> = (0..3).map(|n| retry.delay(n)).collect();
        assert_eq!(expected, [40, 80, 160].map(Duration::from_millis));
        assert_eq!(*delays.lock().unwrap(), expected);
        let stamps = stamps.lock().unwrap();
        assert_eq!(stamps.len(), 4, "the first attempt and 3 retries");
        for (i, pair) in stamps.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= expected[i],
                "gap {i} was {gap:?}, less than the delay {:?}",
                expected[i]
            );
        }
    })
    .await;
}

#[tokio::test]
async fn normal_close_from_server_is_not_retried() {
    within(async {
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let addr = server(move |mut ws| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let frame = TCloseFrame {
                    code: TCloseCode::Normal,
                    reason: "bye".into(),
                };
                ws.send(TMessage::Close(Some(frame))).await.unwrap();
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
        let (builder, mut retries) = retrying(addr);
        let client = builder.connect().await.unwrap();
        let err = client.read_text().await.unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::NORMAL));
        assert!(client.write_text("after close").await.is_err());
        assert!(client.read_text().await.is_err());
        assert!(retries.try_recv().is_err(), "no retry after a normal close");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn tasks_waiting_for_a_failed_reconnect_share_its_failure() {
    within(async {
        let (addr, crash) = crashing_server().await;
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        // The server never comes back; a reconnect gives up after 3 retries (at least 600 ms).
        let client = Client::builder(url(addr))
            .retry(
                RetryConfig::new()
                    .max_count(3)
                    .interval(Duration::from_millis(200))
                    .backoff_factor(1.0),
            )
            .on_retry(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .connect()
            .await
            .unwrap();
        let reader = {
            let client = client.clone();
            tokio::spawn(async move { client.read_text().await })
        };
        crash.send(()).unwrap();
        client.websocket().closed().await;
        let write_err = client.write_text("lost").await.unwrap_err();
        let read_err = reader.await.unwrap().unwrap_err();
        for err in [&write_err, &read_err] {
            assert!(matches!(err, Error::Connection(_)), "{err}");
            assert!(err.to_string().contains("after 3 retries"), "{err}");
        }
        assert_eq!(
            count.load(Ordering::SeqCst),
            3,
            "one reconnect for both tasks"
        );
    })
    .await;
}
