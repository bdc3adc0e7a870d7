//! Closing: code validation, double close, reads and writes after close, closes from the server.

mod client_util;

use client_util::{echo_server, server, url, within};
use futures_util::{SinkExt, StreamExt};
use std::sync::Mutex;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::{Client, CloseCode, Closure, Error};

/// A server whose first connection reports the close frame it receives.
async fn close_reporting_server() -> (
    std::net::SocketAddr,
    oneshot::Receiver<Option<(u16, String)>>,
) {
    let (tx, rx) = oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let addr = server(move |mut ws| {
        let tx = tx.lock().unwrap().take();
        async move {
            while let Some(Ok(message)) = ws.next().await {
                if let TMessage::Close(frame) = message {
                    if let Some(tx) = tx {
                        let _ = tx.send(frame.map(|f| (u16::from(f.code), f.reason.to_string())));
                    }
                    break;
                }
            }
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn close_sends_code_and_reason_to_the_server() {
    within(async {
        let (addr, closed) = close_reporting_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client.close(1001, "going home", None).await.unwrap();
        assert_eq!(closed.await.unwrap(), Some((1001, "going home".to_owned())));
        assert!(!client.is_open());
    })
    .await;
}

#[tokio::test]
async fn close_with_invalid_code_fails_and_keeps_the_connection_open() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        let err = client.close(20, "", None).await.unwrap_err();
        assert!(
            matches!(err, Error::ConnectionClosure(Closure::InvalidCode(20))),
            "{err}"
        );
        assert!(err.to_string().contains("invalid status code 20"), "{err}");
        for code in [1005, 1006, 1015, 2999, 5000] {
            assert!(
                client.close(code, "", None).await.is_err(),
                "{code} accepted"
            );
        }
        assert!(client.is_open());
        client.write_text("still usable").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "still usable");
    })
    .await;
}

#[tokio::test]
async fn second_close_fails_with_close_frame_already_sent() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client.close(1000, "", None).await.unwrap();
        let err = client.close(1000, "", None).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::ConnectionClosure(Closure::CloseSent {
                    attempted: "close frame"
                })
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("close frame already sent"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn writes_after_close_fail_with_close_frame_already_sent() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client
            .close(1000, "done", Some(std::time::Duration::ZERO))
            .await
            .unwrap();
        let err = client.write_text("late").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "close frame already sent; cannot push text data"
        );
        let err = client.write_binary(vec![1u8]).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "close frame already sent; cannot push binary data"
        );
        assert!(!client.is_open());
    })
    .await;
}

#[tokio::test]
async fn read_after_close_fails_with_connection_closure() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client.close(1000, "", None).await.unwrap();
        let err = client.read_text().await.unwrap_err();
        assert!(
            matches!(err, Error::ConnectionClosure(Closure::Closed { .. })),
            "{err}"
        );
        assert_eq!(err.close_code(), Some(CloseCode::NORMAL));
    })
    .await;
}

#[tokio::test]
async fn close_from_another_task_completes_a_pending_read() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        let reader = {
            let client = client.clone();
            tokio::spawn(async move { client.read_text().await })
        };
        client.close(4000, "stop reading", None).await.unwrap();
        let err = reader.await.unwrap().unwrap_err();
        assert!(
            matches!(err, Error::ConnectionClosure(Closure::Closed { .. })),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn server_close_while_reading_fails_the_read_with_its_code_and_reason() {
    within(async {
        let addr = server(|mut ws| async move {
            // Close once the client says it is reading.
            if let Some(Ok(_)) = ws.next().await {
                let frame = TCloseFrame {
                    code: TCloseCode::Normal,
                    reason: "Close the connection".into(),
                };
                ws.send(TMessage::Close(Some(frame))).await.unwrap();
            }
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let client = Client::connect(url(addr)).await.unwrap();
        let reader = {
            let client = client.clone();
            tokio::spawn(async move { client.read_text().await })
        };
        client.write_text("reading").await.unwrap();
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::NORMAL));
        assert_eq!(err.to_string(), "Close the connection: status code: 1000");
        // Later reads keep failing the same way; nothing is left open.
        assert_eq!(
            client.read_text().await.unwrap_err().close_code(),
            Some(CloseCode::NORMAL)
        );
        assert!(!client.is_open());
    })
    .await;
}

#[tokio::test]
async fn server_close_is_echoed_while_the_client_is_not_reading() {
    within(async {
        let (tx, echoed) = oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let addr = server(move |mut ws| {
            let tx = tx.lock().unwrap().take();
            async move {
                let frame = TCloseFrame {
                    code: TCloseCode::from(4321),
                    reason: "server leaves".into(),
                };
                ws.send(TMessage::Close(Some(frame))).await.unwrap();
                // The client's echo arrives although the application never reads.
                while let Some(Ok(message)) = ws.next().await {
                    if let TMessage::Close(frame) = message {
                        let _ = tx.unwrap().send(frame.map(|f| u16::from(f.code)));
                        break;
                    }
                }
            }
        })
        .await;
        let client = Client::connect(url(addr)).await.unwrap();
        assert_eq!(echoed.await.unwrap(), Some(4321));
        client.websocket().closed().await;
        assert!(!client.is_open());
        let err = client.read_text().await.unwrap_err();
        assert_eq!(err.to_string(), "server leaves: status code: 4321");
    })
    .await;
}

#[tokio::test]
async fn close_times_out_when_the_server_never_answers() {
    within(async {
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = Mutex::new(Some(stopped));
        // The server completes the handshake, then never reads: our close frame goes unanswered.
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
        let client = Client::connect(url(addr)).await.unwrap();
        let timeout = std::time::Duration::from_millis(200);
        let err = client.close(1000, "", Some(timeout)).await.unwrap_err();
        assert!(
            matches!(err, Error::ConnectionClosure(Closure::CloseTimeout(t)) if t == timeout),
            "{err}"
        );
        assert!(!client.is_open());
        drop(stop);
    })
    .await;
}
