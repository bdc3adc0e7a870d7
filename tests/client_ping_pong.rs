//! Pings and pongs: the payload limit, automatic pongs while idle, the ping/pong handlers.

mod client_util;

use bytes::Bytes;
use client_util::{echo_server, server, url, within};
use futures_util::{SinkExt, StreamExt};
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::{Client, Error};

/// A server that pings its first connection with `payload` and reports the pong's payload.
async fn pinging_server(
    payload: &'static str,
) -> (std::net::SocketAddr, oneshot::Receiver<Vec<u8>>) {
    let (tx, rx) = oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let addr = server(move |mut ws| {
        let tx = tx.lock().unwrap().take();
        async move {
            ws.send(TMessage::Ping(Bytes::from_static(payload.as_bytes())))
                .await
                .unwrap();
            while let Some(Ok(message)) = ws.next().await {
                if let TMessage::Pong(pong) = message {
                    let _ = tx.unwrap().send(pong.to_vec());
                    break;
                }
            }
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn ping_payload_over_125_bytes_is_rejected() {
    within(async {
        let addr = echo_server().await;
        let client = Client::connect(url(addr)).await.unwrap();
        let err = client.ping(vec![0u8; 148]).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains("148"), "{err}");
        client.ping(vec![0u8; 125]).await.unwrap();
        assert!(client.is_open());
    })
    .await;
}

#[tokio::test]
async fn server_ping_is_answered_while_the_client_is_not_reading() {
    within(async {
        let (addr, pong) = pinging_server("are you there").await;
        let client = Client::connect(url(addr)).await.unwrap();
        // The application does nothing with the client: the pong comes from the background.
        assert_eq!(pong.await.unwrap(), b"are you there");
        assert!(client.is_open());
    })
    .await;
}

#[tokio::test]
async fn on_ping_reply_is_sent_as_the_pong() {
    within(async {
        let (addr, pong) = pinging_server("knock").await;
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let client = Client::builder(url(addr))
            .on_ping(move |client, payload| {
                let seen_tx = seen_tx.clone();
                async move {
                    let _ = seen_tx.send((client.id(), payload.clone()));
                    let mut reply = b"re: ".to_vec();
                    reply.extend_from_slice(&payload);
                    Some(Bytes::from(reply))
                }
            })
            .connect()
            .await
            .unwrap();
        assert_eq!(pong.await.unwrap(), b"re: knock");
        let (id, payload) = seen.recv().await.unwrap();
        assert_eq!(id, client.id(), "the handler gets the client");
        assert_eq!(&payload[..], b"knock");
    })
    .await;
}

#[tokio::test]
async fn on_pong_receives_the_servers_pong() {
    within(async {
        let addr = echo_server().await; // tungstenite answers pings while it reads
        let (tx, mut pongs) = mpsc::unbounded_channel();
        let client = Client::builder(url(addr))
            .on_pong(move |_client, payload| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(payload);
                }
            })
            .connect()
            .await
            .unwrap();
        client.ping("abc").await.unwrap();
        assert_eq!(&pongs.recv().await.unwrap()[..], b"abc");
        // Without on_ping, pings from the server are still answered automatically; and
        // messages are unaffected by the control task.
        client.write_text("data").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "data");
    })
    .await;
}

#[tokio::test]
async fn pong_handler_can_write_through_the_client() {
    within(async {
        let addr = echo_server().await;
        let client = Client::builder(url(addr))
            .on_pong(|client, payload| async move {
                let _ = client.write_binary(payload).await;
            })
            .connect()
            .await
            .unwrap();
        client.ping("from pong").await.unwrap();
        assert_eq!(&client.read_binary().await.unwrap()[..], b"from pong");
    })
    .await;
}
