//! What `#[ws_service]` handlers' return values send, over 127.0.0.1: nothing for `()` and
//! `Ok(())`, text, binary, pongs, JSON, close frames, streams, and `Err` to `on_error`; and a
//! panicking handler closing only its own connection with 1011.
//!
//! "Nothing sent" is checked by order: the service handles a connection's messages one at a
//! time and sends replies in order, so the answer to the next message is the next one read.

#![cfg(feature = "macros")]

mod macros_util;

use futures_util::SinkExt;
use macros_util::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::bytes::Bytes;
use ws_framework::{
    on_dispatch, on_error, on_ping, on_text, ws_service, Caller, CloseFrame, Error,
};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Quote {
    pair: String,
    price: f64,
}

#[derive(Deserialize)]
struct Echo {
    text: String,
}

/// The permits a streaming handler waits for before each item, so the test decides when the
/// stream advances.
struct Ticks {
    permits: Arc<Semaphore>,
}

#[derive(Default)]
struct Returns;

#[ws_service("/returns", dispatcher_key = "op", state = Ticks)]
impl Returns {
    #[on_dispatch]
    async fn on_unit(&self) {}

    #[on_dispatch]
    async fn on_ok(&self) -> Result<(), Error> {
        Ok(())
    }

    #[on_dispatch]
    async fn on_echo(&self, message: Echo) -> String {
        message.text
    }

    #[on_dispatch]
    async fn on_bytes(&self) -> Vec<u8> {
        vec![1, 2, 3]
    }

    #[on_dispatch]
    async fn on_shared_bytes(&self) -> Bytes {
        Bytes::from_static(b"shared")
    }

    #[on_dispatch]
    async fn on_quote(&self) -> Quote {
        Quote {
            pair: "XBT/USD".into(),
            price: 101.5,
        }
    }

    #[on_dispatch]
    async fn on_normal(&self) -> CloseFrame {
        ws_framework::NORMAL_CLOSURE
    }

    #[on_dispatch]
    async fn on_policy(&self) -> CloseFrame {
        ws_framework::POLICY_VIOLATION
    }

    #[on_dispatch]
    async fn on_invalid_user(&self) -> CloseFrame {
        CloseFrame::new(4444, "Invalid User")
    }

    #[on_dispatch]
    async fn on_fail(&self) -> Result<String, String> {
        Err("the handler failed".into())
    }

    /// Three items, each released by the test through the state's semaphore.
    #[on_dispatch]
    async fn on_stream(
        &self,
        #[state] ticks: &Ticks,
    ) -> impl futures_util::Stream<Item = String> + Send + 'static {
        let permits = ticks.permits.clone();
        futures_util::stream::unfold(1, move |i| {
            let permits = permits.clone();
            async move {
                if i > 3 {
                    return None;
                }
                permits.acquire().await.ok()?.forget();
                Some((format!("tick {i}"), i + 1))
            }
        })
    }

    #[on_dispatch]
    async fn on_panic(&self) -> String {
        panic!("a handler panicked on purpose")
    }

    #[on_error]
    async fn error(&self, caller: &Caller, error: Error) -> Result<(), Error> {
        caller.write_text(format!("on_error: {error}")).await
    }
}

async fn returns() -> (ws_framework::Listener, String, Arc<Semaphore>) {
    let permits = Arc::new(Semaphore::new(0));
    let ticks = Ticks {
        permits: permits.clone(),
    };
    let (listener, base) = start_with::<Returns>(ticks).await;
    (listener, format!("{base}/returns"), permits)
}

async fn echo(peer: &mut Peer, text: &str) -> String {
    ask(peer, &format!(r#"{{"op":"echo","text":"{text}"}}"#)).await
}

#[tokio::test]
async fn unit_and_ok_unit_send_nothing() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"unit"}"#).await;
        send_text(&mut peer, r#"{"op":"ok"}"#).await;
        assert_eq!(echo(&mut peer, "after").await, "after");
    })
    .await;
}

#[tokio::test]
async fn string_is_sent_as_text() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"echo","text":"hello"}"#).await;
        assert_eq!(next_data(&mut peer).await, TMessage::text("hello"));
    })
    .await;
}

#[tokio::test]
async fn vec_and_bytes_are_sent_as_binary() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"bytes"}"#).await;
        assert_eq!(next_binary(&mut peer).await, [1, 2, 3]);
        send_text(&mut peer, r#"{"op":"shared_bytes"}"#).await;
        assert_eq!(next_binary(&mut peer).await, b"shared");
    })
    .await;
}

#[tokio::test]
async fn serialize_struct_is_sent_as_json_text() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        let json = ask(&mut peer, r#"{"op":"quote"}"#).await;
        let quote: Quote = serde_json::from_str(&json).unwrap();
        assert_eq!(
            quote,
            Quote {
                pair: "XBT/USD".into(),
                price: 101.5
            }
        );
    })
    .await;
}

#[tokio::test]
async fn predefined_close_frames_close_with_their_code_and_reason() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"normal"}"#).await;
        assert_eq!(read_close(&mut peer).await, (1000, String::new()));
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"policy"}"#).await;
        assert_eq!(
            read_close(&mut peer).await,
            (1008, "Received message violates its policy".to_owned())
        );
    })
    .await;
}

#[tokio::test]
async fn custom_close_frame_closes_with_4444_invalid_user() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"invalid_user"}"#).await;
        assert_eq!(
            read_close(&mut peer).await,
            (4444, "Invalid User".to_owned())
        );
    })
    .await;
}

#[tokio::test]
async fn err_goes_to_on_error_and_the_connection_lives_on() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut peer = open(&url).await;
        assert_eq!(
            ask(&mut peer, r#"{"op":"fail"}"#).await,
            "on_error: the handler failed"
        );
        assert_eq!(echo(&mut peer, "still here").await, "still here");
    })
    .await;
}

#[tokio::test]
async fn stream_sends_one_message_per_item_while_other_messages_are_handled() {
    within(async {
        let (_listener, url, permits) = returns().await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"stream"}"#).await;
        // The stream waits for its first permit: the echo and the ping are answered meanwhile.
        assert_eq!(
            echo(&mut peer, "before the first tick").await,
            "before the first tick"
        );
        peer.send(TMessage::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        assert_eq!(next_pong(&mut peer).await, b"p");
        permits.add_permits(1);
        assert_eq!(next_text(&mut peer).await, "tick 1");
        assert_eq!(echo(&mut peer, "between ticks").await, "between ticks");
        permits.add_permits(2);
        assert_eq!(next_text(&mut peer).await, "tick 2");
        assert_eq!(next_text(&mut peer).await, "tick 3");
        // The stream ended; the connection did not.
        assert_eq!(echo(&mut peer, "after").await, "after");
    })
    .await;
}

#[tokio::test]
async fn handler_panic_closes_that_connection_with_1011_and_the_listener_keeps_serving() {
    within(async {
        let (_listener, url, _) = returns().await;
        let mut bystander = open(&url).await;
        let mut peer = open(&url).await;
        send_text(&mut peer, r#"{"op":"panic"}"#).await;
        let (code, _) = read_close(&mut peer).await;
        assert_eq!(code, 1011);
        assert_eq!(echo(&mut bystander, "unaffected").await, "unaffected");
        let mut fresh = open(&url).await;
        assert_eq!(echo(&mut fresh, "new connection").await, "new connection");
    })
    .await;
}

#[derive(Default)]
struct Pinged;

#[ws_service("/pinged")]
impl Pinged {
    /// The returned bytes are the pong's payload.
    #[on_ping]
    async fn ping(&self, data: Vec<u8>) -> Vec<u8> {
        let mut pong = b"pong:".to_vec();
        pong.extend(data);
        pong
    }

    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

#[tokio::test]
async fn bytes_from_on_ping_are_the_pong() {
    within(async {
        let (_listener, base) = start::<Pinged>().await;
        let mut peer = open(&format!("{base}/pinged")).await;
        peer.send(TMessage::Ping(Bytes::from_static(b"abc")))
            .await
            .unwrap();
        assert_eq!(next_pong(&mut peer).await, b"pong:abc");
        assert_eq!(ask(&mut peer, "still open").await, "still open");
    })
    .await;
}
