//! Connecting: URL validation, unreachable hosts, handshake and read timeouts.

mod client_util;

use client_util::{bind, server, url, within};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::{Client, Error};

fn invalid_url_reason(err: Error) -> String {
    match err {
        Error::InvalidUrl { reason, .. } => reason,
        other => panic!("expected an invalid URL error, got {other}"),
    }
}

#[tokio::test]
async fn url_without_scheme_is_rejected() {
    within(async {
        let err = Client::connect("127.0.0.1:9090/echo").await.unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:9090/echo"), "{err}");
        assert!(invalid_url_reason(err).contains("no scheme"));
    })
    .await;
}

#[tokio::test]
async fn url_with_unsupported_scheme_is_rejected() {
    within(async {
        let err = Client::connect("http://127.0.0.1:9090/echo")
            .await
            .unwrap_err();
        assert!(invalid_url_reason(err).contains("unsupported scheme `http`"));
        let err = Client::connect("ws://").await.unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err}");
    })
    .await;
}

#[tokio::test]
async fn wss_to_a_plain_server_fails_with_a_tls_error() {
    within(async {
        let (listener, addr) = bind().await;
        // A plain TCP server that answers the TLS hello with HTTP.
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            if let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let err = Client::connect(format!("wss://{addr}/echo"))
            .await
            .unwrap_err();
        assert!(err.tls_kind().is_some(), "expected a TLS error, got {err}");
    })
    .await;
}

#[tokio::test]
async fn unreachable_port_fails_with_connection_error() {
    within(async {
        let (listener, addr) = bind().await;
        drop(listener); // Nothing listens there any more: the connection is refused.
        let err = Client::connect(url(addr)).await.unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err}");
        assert!(
            err.to_string().contains(&addr.to_string()),
            "the error names the address: {err}"
        );
    })
    .await;
}

#[tokio::test]
async fn handshake_timeout_fails_against_a_server_that_never_answers() {
    within(async {
        let (listener, addr) = bind().await;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Accept TCP, then say nothing until the test ends.
            let (_stream, _) = listener.accept().await.unwrap();
            let _ = stopped.await;
        });
        let started = tokio::time::Instant::now();
        let err = Client::builder(url(addr))
            .handshake_timeout(Duration::from_millis(200))
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::HandshakeTimedOut), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(200));
        drop(stop);
    })
    .await;
}

#[tokio::test]
async fn read_timeout_fails_the_read_and_a_later_read_succeeds() {
    within(async {
        let (go, gone) = oneshot::channel::<()>();
        let gone = std::sync::Mutex::new(Some(gone));
        let addr = server(move |mut ws| {
            let gone = gone.lock().unwrap().take();
            async move {
                if let Some(gone) = gone {
                    gone.await.unwrap();
                    ws.send(TMessage::text("late")).await.unwrap();
                }
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
        let client = Client::builder(url(addr))
            .read_timeout(Duration::from_millis(150))
            .connect()
            .await
            .unwrap();
        let err = client.read_text().await.unwrap_err();
        assert!(matches!(err, Error::ReadTimedOut), "{err}");
        assert_eq!(err.to_string(), "read timed out");
        assert!(
            client.is_open(),
            "a read timeout leaves the connection open"
        );
        go.send(()).unwrap();
        assert_eq!(client.read_text().await.unwrap(), "late");
    })
    .await;
}

#[tokio::test]
async fn write_timeout_fails_a_write_the_server_does_not_take() {
    within(async {
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = std::sync::Mutex::new(Some(stopped));
        // The server never reads: the socket buffers and then the client's outbound buffer fill.
        let addr = server(move |ws| {
            let stopped = stopped.lock().unwrap().take();
            async move {
                if let Some(stopped) = stopped {
                    let _ = stopped.await;
                }
                drop(ws);
            }
        })
        .await;
        let client = Client::builder(url(addr))
            .write_timeout(Duration::from_millis(200))
            .compression(false)
            .connect()
            .await
            .unwrap();
        let chunk = bytes::Bytes::from(vec![7u8; 1 << 20]);
        let mut outcome = None;
        for _ in 0..512 {
            if let Err(err) = client.write_binary(chunk.clone()).await {
                outcome = Some(err);
                break;
            }
        }
        let err = outcome.expect("512 MiB were accepted by a server that reads nothing");
        assert!(matches!(err, Error::WriteTimedOut), "{err}");
        assert!(
            client.is_open(),
            "a write timeout does not close the connection"
        );
        drop(stop);
    })
    .await;
}

#[tokio::test]
async fn write_timeout_leaves_normal_writes_alone() {
    within(async {
        let addr = client_util::echo_server().await;
        let client = Client::builder(url(addr))
            .write_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap();
        for i in 0..20 {
            client.write_text(format!("{i}")).await.unwrap();
            assert_eq!(client.read_text().await.unwrap(), format!("{i}"));
        }
    })
    .await;
}
