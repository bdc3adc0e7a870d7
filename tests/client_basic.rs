//! The client's messaging and handshake options against independent servers over 127.0.0.1.

// tungstenite's handshake callback returns its error response by value.
#![allow(clippy::result_large_err)]

mod client_util;

use client_util::{accept_with, bind, echo_server, recording_server, server, url, within};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue};
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::conn::ConnConfig;
use ws_framework::proto::Limits;
use ws_framework::stream::{accept, AcceptOptions};
use ws_framework::{Client, Error, Incoming, Message};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Coord {
    x: i32,
    y: i32,
}

#[tokio::test]
async fn echoes_text_and_binary() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        assert!(client.is_open());
        assert!(!client.is_secure());
        assert_eq!(client.url(), url(addr));
        assert_eq!(client.response().status(), 101);

        client.write_text("hello").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "hello");
        client.write_binary(vec![5u8, 24, 56]).await.unwrap();
        assert_eq!(&client.read_binary().await.unwrap()[..], [5, 24, 56]);
        client.write_message(&Coord { x: 7, y: -1 }).await.unwrap();
        assert_eq!(
            client.read_message::<Coord>().await.unwrap(),
            Coord { x: 7, y: -1 }
        );
        let big = "ünïcödé ".repeat(5_000); // 60 kB: under the 64 KiB frame limit
        client.write_text(big.clone()).await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), big);
        client.close(1000, "bye", None).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn concurrent_read_and_write_share_one_connection_id() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        const COUNT: usize = 50;
        let writer = {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..COUNT {
                    client.write_text(format!("m{i}")).await.unwrap();
                }
                client.id()
            })
        };
        let reader = {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..COUNT {
                    assert_eq!(client.read_text().await.unwrap(), format!("m{i}"));
                }
                client.id()
            })
        };
        let (written_on, read_on) = (writer.await.unwrap(), reader.await.unwrap());
        assert_eq!(written_on, read_on);
        assert_eq!(written_on, client.id());
    })
    .await;
}

#[tokio::test]
async fn concurrent_reads_each_get_a_different_message() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.read_text().await.unwrap() })
            })
            .collect();
        for i in 0..4 {
            client.write_text(format!("{i}")).await.unwrap();
        }
        let mut got = Vec::new();
        for reader in readers {
            got.push(reader.await.unwrap());
        }
        got.sort();
        assert_eq!(got, ["0", "1", "2", "3"]);
    })
    .await;
}

#[tokio::test]
async fn read_message_binds_text_json_binary_json_and_raw_strings() {
    within(async {
        let addr = server(|mut ws| async move {
            for message in [
                TMessage::text(r#"{"x":1,"y":2}"#),
                TMessage::binary(br#"{"x":3,"y":4}"#.to_vec()),
                TMessage::text("plain words"),
                TMessage::text("not json"),
                TMessage::binary(vec![5u8, 24, 56]),
                TMessage::text(r#"{"x":5,"y":6}"#),
            ] {
                ws.send(message).await.unwrap();
            }
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let client = Client::connect(url(addr)).await.unwrap();
        assert_eq!(
            client.read_message::<Coord>().await.unwrap(),
            Coord { x: 1, y: 2 }
        );
        assert_eq!(
            client.read_message::<Coord>().await.unwrap(),
            Coord { x: 3, y: 4 }
        );
        assert_eq!(
            client.read_message::<String>().await.unwrap(),
            "plain words"
        );

        let err = client.read_message::<Coord>().await.unwrap_err();
        assert!(matches!(err, Error::PayloadBinding(_)), "{err}");
        assert!(err.to_string().starts_with("data binding failed"), "{err}");
        assert!(
            client.is_open(),
            "a binding failure leaves the connection open"
        );

        assert_eq!(client.read_message::<Vec<u8>>().await.unwrap(), [5, 24, 56]);
        assert_eq!(
            client.read_message::<Coord>().await.unwrap(),
            Coord { x: 5, y: 6 }
        );
    })
    .await;
}

#[tokio::test]
async fn read_text_of_a_binary_message_is_a_binding_error() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client.write_binary(vec![1u8, 2]).await.unwrap();
        let err = client.read_text().await.unwrap_err();
        assert!(matches!(err, Error::PayloadBinding(_)), "{err}");
        client.write_text("still open").await.unwrap();
        let err = client.read_binary().await.unwrap_err();
        assert!(matches!(err, Error::PayloadBinding(_)), "{err}");
        client.write_text("again").await.unwrap();
        assert_eq!(client.read().await.unwrap(), Message::text("again"));
    })
    .await;
}

#[tokio::test]
async fn max_frame_size_one_sends_text_and_binary_intact_in_one_byte_frames() {
    within(async {
        // The peer accepts frames of at most 1 byte: an unfragmented message would fail it.
        let (listener, addr) = bind().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut options = AcceptOptions::default();
            let mut conn = ConnConfig::default();
            conn.limits = Limits {
                max_frame_size: 1,
                max_message_size: 1 << 20,
            };
            options.conn = conn;
            let (ws, driver, _) = accept(stream, &options).await.unwrap();
            tokio::spawn(driver);
            loop {
                match ws.recv().await {
                    Ok(Incoming::Message(m)) => tx.send(Ok(m)).unwrap(),
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        break;
                    }
                }
            }
        });
        let client = Client::builder(url(addr))
            .max_frame_size(1)
            .connect()
            .await
            .unwrap();
        client.write_text("text data").await.unwrap();
        client.write_binary(vec![5u8, 24, 56]).await.unwrap();
        assert_eq!(
            rx.recv().await.unwrap().unwrap(),
            Message::text("text data")
        );
        assert_eq!(
            rx.recv().await.unwrap().unwrap(),
            Message::binary(vec![5u8, 24, 56])
        );
    })
    .await;
}

#[tokio::test]
async fn server_frame_above_max_frame_size_fails_read_with_payload_too_large() {
    within(async {
        let (tx, rx) = oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let addr = server(move |mut ws| {
            let tx = tx.lock().unwrap().take();
            async move {
                ws.send(TMessage::text("x".repeat(100))).await.unwrap();
                // The client fails the connection with 1009.
                while let Some(Ok(message)) = ws.next().await {
                    if let TMessage::Close(frame) = message {
                        let _ = tx.unwrap().send(frame.map(|f| u16::from(f.code)));
                        break;
                    }
                }
            }
        })
        .await;
        let client = Client::builder(url(addr))
            .max_frame_size(8)
            .connect()
            .await
            .unwrap();
        let err = client.read_text().await.unwrap_err();
        assert!(matches!(err, Error::PayloadTooLarge(_)), "{err}");
        assert!(err.to_string().contains("payload too large"), "{err}");
        assert_eq!(rx.await.unwrap(), Some(1009));
        let err = client.read_text().await.unwrap_err();
        assert!(matches!(err, Error::ConnectionClosure(_)), "{err}");
    })
    .await;
}

#[tokio::test]
async fn server_message_above_max_message_size_fails_read_with_payload_too_large() {
    within(async {
        let addr = server(|mut ws| async move {
            ws.send(TMessage::text("0123456789".repeat(3)))
                .await
                .unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        let client = Client::builder(url(addr))
            .max_message_size(16)
            .connect()
            .await
            .unwrap();
        let err = client.read_text().await.unwrap_err();
        assert!(matches!(err, Error::PayloadTooLarge(_)), "{err}");
    })
    .await;
}

/// A server that selects `select(offered)` as its sub-protocol.
async fn protocol_server(select: fn(&str) -> Option<&'static str>) -> std::net::SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut ws = accept_with(stream, move |req, mut resp| {
                let offered = req
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if let Some(chosen) = select(offered) {
                    resp.headers_mut()
                        .insert("sec-websocket-protocol", HeaderValue::from_static(chosen));
                }
                Ok(resp)
            })
            .await;
            tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        }
    });
    addr
}

#[tokio::test]
async fn sub_protocol_negotiated_when_server_selects_an_offered_one() {
    within(async {
        let addr =
            protocol_server(|offered| offered.split(", ").any(|p| p == "xml").then_some("xml"))
                .await;
        let client = Client::builder(url(addr))
            .sub_protocols(["json", "xml"])
            .connect()
            .await
            .unwrap();
        assert_eq!(client.protocol().as_deref(), Some("xml"));
        let plain = Client::connect(url(addr)).await.unwrap();
        assert_eq!(plain.protocol(), None);
    })
    .await;
}

#[tokio::test]
async fn handshake_fails_when_server_selects_no_sub_protocol() {
    within(async {
        let addr = protocol_server(|_| None).await;
        let err = Client::builder(url(addr))
            .sub_protocols(["xml"])
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidHandshake { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("Invalid subprotocol") && text.contains("xml"),
            "{text}"
        );
    })
    .await;
}

/// Accepts one connection, reports the upgrade request's headers and answers with `x-server`.
async fn header_capturing_server() -> (std::net::SocketAddr, oneshot::Receiver<HeaderMap>) {
    let (listener, addr) = bind().await;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = accept_with(stream, move |req, mut resp| {
            let _ = tx.send(req.headers().clone());
            resp.headers_mut()
                .insert("x-server", HeaderValue::from_static("yes"));
            resp.headers_mut()
                .append("set-cookie", HeaderValue::from_static("id=42"));
            Ok(resp)
        })
        .await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    (addr, rx)
}

#[tokio::test]
async fn custom_headers_and_cookies_reach_the_server() {
    within(async {
        let (addr, headers) = header_capturing_server().await;
        let client = Client::builder(url(addr))
            .header("x-trace-id", "abc-123")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .cookie("session", "s1")
            .cookie("lang", "\"en\"")
            .connect()
            .await
            .unwrap();
        let headers = headers.await.unwrap();
        assert_eq!(headers["x-trace-id"], "abc-123");
        let multi: Vec<_> = headers.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["one", "two"]);
        let cookies: Vec<_> = headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["session=s1; lang=\"en\""]);
        // The server's 101 response is available, headers included.
        let response = client.response();
        assert_eq!(response.status(), 101);
        assert_eq!(response.headers()["x-server"], "yes");
        assert_eq!(response.headers()["set-cookie"], "id=42");
    })
    .await;
}

#[tokio::test]
async fn basic_credentials_are_sent_as_authorization_header() {
    within(async {
        let (addr, headers) = header_capturing_server().await;
        let _client = Client::builder(url(addr))
            .basic_auth("user", "pass")
            .connect()
            .await
            .unwrap();
        assert_eq!(
            headers.await.unwrap()["authorization"],
            "Basic dXNlcjpwYXNz"
        );
    })
    .await;
}

#[tokio::test]
async fn bearer_token_is_sent_as_authorization_header() {
    within(async {
        let (addr, headers) = header_capturing_server().await;
        let _client = Client::builder(url(addr))
            .header("authorization", "replaced")
            .bearer_auth("t0k3n")
            .connect()
            .await
            .unwrap();
        let headers = headers.await.unwrap();
        let values: Vec<_> = headers.get_all("authorization").iter().collect();
        assert_eq!(values, ["Bearer t0k3n"]);
    })
    .await;
}

#[tokio::test]
async fn compression_is_offered_by_default_and_can_be_turned_off() {
    within(async {
        let (addr, headers) = header_capturing_server().await;
        let _client = Client::connect(url(addr)).await.unwrap();
        let offer = headers.await.unwrap();
        assert!(offer["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .contains("permessage-deflate"));

        let (addr, headers) = header_capturing_server().await;
        let _client = Client::builder(url(addr))
            .compression(false)
            .connect()
            .await
            .unwrap();
        assert!(headers
            .await
            .unwrap()
            .get("sec-websocket-extensions")
            .is_none());
    })
    .await;
}

#[tokio::test]
async fn compressed_messages_round_trip_through_an_engine_server() {
    within(async {
        let (listener, addr) = bind().await;
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (ws, driver, _) = accept(stream, &AcceptOptions::with_compression())
                .await
                .unwrap();
            tokio::spawn(driver);
            while let Ok(Incoming::Message(m)) = ws.recv().await {
                ws.send(m).await.unwrap();
            }
        });
        let client = Client::connect(url(addr)).await.unwrap();
        assert!(client.is_compressed());
        let text = "compress me ".repeat(1000);
        client.write_text(text.clone()).await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), text);
    })
    .await;
}

#[tokio::test]
async fn attributes_are_typed_and_removable() {
    within(async {
        let (addr, _rx) = recording_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        client.set_attribute("name", String::from("alice"));
        client.set_attribute("count", 3i64);
        let other = client.clone();
        assert_eq!(other.attribute::<String>("name").as_deref(), Some("alice"));
        assert_eq!(other.attribute::<i64>("count"), Some(3));
        assert_eq!(other.attribute::<String>("count"), None, "wrong type");
        assert_eq!(client.remove_attribute::<i64>("count"), Some(3));
        assert_eq!(client.attribute::<i64>("count"), None);
    })
    .await;
}
