//! The life of a `#[ws_service]` connection over 127.0.0.1: the peer's close reaching
//! `on_close`, the idle timeout, pings and pongs, kinds without a handler, sub-protocols.

#![cfg(feature = "macros")]

mod macros_util;

use futures_util::SinkExt;
use macros_util::*;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::bytes::Bytes;
use ws_framework::{
    on_binary, on_close, on_idle_timeout, on_open, on_pong, on_text, ws_service, Caller, CloseCode,
    CloseFrame, Error,
};

/// Where `on_close` reports what it received.
struct Closes(mpsc::UnboundedSender<(u16, String)>);

#[derive(Default)]
struct Closing;

#[ws_service("/closing", state = Closes)]
impl Closing {
    /// The reason before the code: they are bound by type.
    #[on_close]
    async fn close(&self, reason: String, #[state] closes: &Closes, code: CloseCode) {
        let _ = closes.0.send((code.as_u16(), reason));
    }
}

#[tokio::test]
async fn on_close_receives_the_peers_code_and_reason() {
    within(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_listener, base) = start_with::<Closing>(Closes(tx)).await;
        let mut peer = open(&format!("{base}/closing")).await;
        peer.close(Some(TCloseFrame {
            code: TCode::from(4001),
            reason: "bye now".into(),
        }))
        .await
        .unwrap();
        assert_eq!(rx.recv().await.unwrap(), (4001, "bye now".to_owned()));
        // The server echoed the code (RFC 6455 section 5.5.1; the reason is not repeated).
        assert_eq!(read_close(&mut peer).await.0, 4001);
    })
    .await;
}

#[derive(Default)]
struct Sleepy;

#[ws_service("/sleepy", idle_timeout = "200ms")]
impl Sleepy {
    #[on_idle_timeout]
    async fn idle(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::GOING_AWAY, "idle for too long")
    }
}

#[tokio::test]
async fn on_idle_timeout_returning_a_close_frame_closes() {
    within(async {
        let (_listener, base) = start::<Sleepy>().await;
        let mut peer = open(&format!("{base}/sleepy")).await;
        assert_eq!(
            read_close(&mut peer).await,
            (1001, "idle for too long".to_owned())
        );
    })
    .await;
}

#[derive(Default)]
struct TextOnly;

#[ws_service("/text-only")]
impl TextOnly {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

#[tokio::test]
async fn pings_are_answered_without_on_ping() {
    within(async {
        let (_listener, base) = start::<TextOnly>().await;
        let mut peer = open(&format!("{base}/text-only")).await;
        peer.send(TMessage::Ping(Bytes::from_static(b"are you there")))
            .await
            .unwrap();
        assert_eq!(next_pong(&mut peer).await, b"are you there");
    })
    .await;
}

#[tokio::test]
async fn binary_without_on_binary_is_dropped_without_closing() {
    within(async {
        let (_listener, base) = start::<TextOnly>().await;
        let mut peer = open(&format!("{base}/text-only")).await;
        send_binary(&mut peer, b"nobody handles this").await;
        // Unsolicited pongs are dropped too (no on_pong).
        peer.send(TMessage::Pong(Bytes::from_static(b"unasked")))
            .await
            .unwrap();
        assert_eq!(ask(&mut peer, "still open").await, "still open");
    })
    .await;
}

#[derive(Default)]
struct BinaryOnly;

#[ws_service("/binary-only")]
impl BinaryOnly {
    #[on_binary]
    async fn binary(&self, data: Vec<u8>) -> Vec<u8> {
        data
    }
}

#[tokio::test]
async fn text_without_on_text_is_dropped_without_closing() {
    within(async {
        let (_listener, base) = start::<BinaryOnly>().await;
        let mut peer = open(&format!("{base}/binary-only")).await;
        send_text(&mut peer, "nobody handles this").await;
        send_binary(&mut peer, b"echo").await;
        assert_eq!(next_binary(&mut peer).await, b"echo");
    })
    .await;
}

#[derive(Default)]
struct Ponged;

#[ws_service("/ponged")]
impl Ponged {
    #[on_pong]
    async fn pong(&self, caller: &Caller, data: Bytes) -> Result<(), Error> {
        let text = String::from_utf8_lossy(&data).into_owned();
        caller.write_text(format!("on_pong {text}")).await
    }
}

#[tokio::test]
async fn on_pong_receives_pongs() {
    within(async {
        let (_listener, base) = start::<Ponged>().await;
        let mut peer = open(&format!("{base}/ponged")).await;
        peer.send(TMessage::Pong(Bytes::from_static(b"heartbeat 1")))
            .await
            .unwrap();
        assert_eq!(next_text(&mut peer).await, "on_pong heartbeat 1");
    })
    .await;
}

#[derive(Default)]
struct Negotiating;

#[ws_service("/negotiating", protocols = ["v2.chat", "chat"])]
impl Negotiating {
    #[on_open]
    async fn open(&self, caller: &Caller) -> String {
        format!("protocol {:?}", caller.protocol())
    }
}

#[tokio::test]
async fn sub_protocols_are_negotiated_in_the_clients_order() {
    within(async {
        let (_listener, base) = start::<Negotiating>().await;
        let url = format!("{base}/negotiating");
        for (offer, selected) in [
            ("chat, v2.chat", "chat"),
            ("v2.chat, chat", "v2.chat"),
            ("other, v2.chat", "v2.chat"),
        ] {
            let (mut peer, response) =
                open_with(request(&url, &[("sec-websocket-protocol", offer)])).await;
            assert_eq!(
                response.headers().get("sec-websocket-protocol").unwrap(),
                selected,
                "{offer}"
            );
            assert_eq!(
                next_text(&mut peer).await,
                format!("protocol Some({selected:?})")
            );
        }
        // No offer: no sub-protocol, and the connection opens.
        let (mut peer, response) = open_with(request(&url, &[])).await;
        assert!(response.headers().get("sec-websocket-protocol").is_none());
        assert_eq!(next_text(&mut peer).await, "protocol None");
    })
    .await;
}
