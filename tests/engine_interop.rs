//! The wire engine against an independent implementation (tokio-tungstenite), over 127.0.0.1:
//! text and binary, fragmented and not, compression on our side, close handshake both ways.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as TCloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::conn::ConnConfig;
use ws_framework::stream::{accept, connect, AcceptOptions, ConnectOptions};
use ws_framework::{CloseCode, CloseFrame, Incoming, Message};

const LIMIT: Duration = Duration::from_secs(10);

/// Starts an echo server built on the engine; returns its address.
async fn engine_echo_server(options: AcceptOptions) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let options = options.clone();
            tokio::spawn(async move {
                let (ws, driver, _) = accept(stream, &options).await.unwrap();
                let echo = async {
                    while let Ok(incoming) = ws.recv().await {
                        if let Incoming::Message(m) = incoming {
                            if m.as_bytes() == b"please close" {
                                let _ = ws
                                    .close(Some(CloseFrame::new(4001, "asked to")), None)
                                    .await;
                                break;
                            }
                            ws.send(m).await.unwrap();
                        }
                    }
                };
                tokio::join!(driver, echo);
            });
        }
    });
    addr
}

#[tokio::test]
async fn tungstenite_client_echoes_through_engine_server() {
    tokio::time::timeout(LIMIT, async {
        let mut options = AcceptOptions::with_compression();
        options.conn.max_send_frame_size = 7; // our replies arrive fragmented
        options.conn.limits.max_frame_size = 1 << 20; // tungstenite sends 100 KB in one frame
        let addr = engine_echo_server(options).await;
        let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/any/path"))
            .await
            .unwrap();
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let messages = vec![
            TMessage::text("hello"),
            TMessage::binary(vec![5u8, 24, 56]),
            TMessage::text("ünïcödé ".repeat(40)),
            TMessage::binary(big),
        ];
        for m in &messages {
            client.send(m.clone()).await.unwrap();
            let echoed = client.next().await.unwrap().unwrap();
            assert!(
                &echoed == m,
                "echo differs: {} bytes sent, got {} bytes",
                m.len(),
                echoed.len()
            );
        }
        // Close initiated by the client: the engine echoes it.
        client
            .close(Some(TCloseFrame {
                code: TCloseCode::Normal,
                reason: "bye".into(),
            }))
            .await
            .unwrap();
        loop {
            match client.next().await {
                Some(Ok(TMessage::Close(Some(frame)))) => {
                    assert_eq!(frame.code, TCloseCode::Normal);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn engine_server_initiates_close_to_tungstenite_client() {
    tokio::time::timeout(LIMIT, async {
        let addr = engine_echo_server(AcceptOptions::default()).await;
        let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        client.send(TMessage::text("please close")).await.unwrap();
        let mut seen = None;
        while let Some(Ok(m)) = client.next().await {
            if let TMessage::Close(frame) = m {
                seen = frame;
            }
        }
        let frame = seen.expect("a close frame");
        assert_eq!(u16::from(frame.code), 4001);
        assert_eq!(frame.reason.as_str(), "asked to");
    })
    .await
    .expect("test timed out");
}

/// An echo server built on tokio-tungstenite, with a small max frame size so that its
/// messages to us are fragmented.
async fn tungstenite_echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let config = WebSocketConfig::default();
                let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(config))
                    .await
                    .unwrap();
                while let Some(Ok(m)) = ws.next().await {
                    match m {
                        TMessage::Text(t) if t.as_str() == "please close" => {
                            ws.close(Some(TCloseFrame {
                                code: TCloseCode::Away,
                                reason: "going".into(),
                            }))
                            .await
                            .unwrap();
                        }
                        TMessage::Text(_) | TMessage::Binary(_) => ws.send(m).await.unwrap(),
                        _ => {}
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn engine_client_echoes_through_tungstenite_server() {
    tokio::time::timeout(LIMIT, async {
        let addr = tungstenite_echo_server().await;
        let mut options = ConnectOptions::with_compression(); // tungstenite declines: plain frames
        let mut conn = ConnConfig::default();
        conn.max_send_frame_size = 3; // our messages go out fragmented
        conn.limits.max_frame_size = 1 << 20; // tungstenite echoes 70 KB in one frame
        options.conn = conn;
        let (ws, driver, response) = connect(&format!("ws://{addr}/x"), &options).await.unwrap();
        assert_eq!(response.status(), 101);
        assert!(ws.deflate().is_none());
        tokio::spawn(driver);
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 13) as u8).collect();
        for m in [
            Message::text("hello"),
            Message::binary(vec![1u8, 2, 3, 4, 5]),
            Message::binary(big),
        ] {
            ws.send(m.clone()).await.unwrap();
            let echoed = ws.recv().await.unwrap();
            assert!(echoed == Incoming::Message(m), "echo differs");
        }
        // Close initiated by the engine client.
        ws.close(Some(CloseFrame::new(CloseCode::NORMAL, "done")), None)
            .await
            .unwrap();
        assert!(!ws.is_open());
        assert_eq!(ws.close_status().map(|(c, _)| c), Some(CloseCode::NORMAL));
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn tungstenite_server_close_reaches_engine_client() {
    tokio::time::timeout(LIMIT, async {
        let addr = tungstenite_echo_server().await;
        let (ws, driver, _) = connect(&format!("ws://{addr}/"), &ConnectOptions::default())
            .await
            .unwrap();
        tokio::spawn(driver);
        ws.send(Message::text("please close")).await.unwrap();
        match ws.recv().await.unwrap() {
            Incoming::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY);
                assert_eq!(frame.reason, "going");
            }
            other => panic!("expected the server's close, got {other:?}"),
        }
        let err = ws.recv().await.unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::GOING_AWAY));
        ws.closed().await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn engine_client_and_server_negotiate_compression() {
    tokio::time::timeout(LIMIT, async {
        let addr = engine_echo_server(AcceptOptions::with_compression()).await;
        let (ws, driver, response) = connect(
            &format!("ws://{addr}/"),
            &ConnectOptions::with_compression(),
        )
        .await
        .unwrap();
        assert!(response.headers().get("sec-websocket-extensions").is_some());
        assert!(ws.deflate().is_some());
        tokio::spawn(driver);
        let text = "compress me ".repeat(1000);
        for _ in 0..3 {
            ws.send(Message::text(text.as_str())).await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap(),
                Incoming::Message(Message::text(text.as_str()))
            );
        }
        ws.close(None, None).await.unwrap();
    })
    .await
    .expect("test timed out");
}
