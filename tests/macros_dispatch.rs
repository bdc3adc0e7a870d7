//! Custom dispatch of `#[ws_service]` (`dispatcher_key`, Ballerina section 2) over 127.0.0.1,
//! with `ws_framework::Client` as the peer: by the handler's name, by an explicit value, the
//! naming rule, the fallbacks, and per-handler error methods before `on_error`.
//!
//! "Dropped" is checked by order: the answer to the next message is the next one read.

#![cfg(feature = "macros")]

mod macros_util;

use macros_util::*;
use serde::Deserialize;
use ws_framework::{on_dispatch, on_error, on_message, ws_service, Caller, Client, Error};

#[derive(Deserialize)]
struct Subscribe {
    pair: String,
}

#[derive(Deserialize)]
struct Heartbeat {
    seq: u64,
}

#[derive(Default)]
struct Feed;

#[ws_service("/feed", dispatcher_key = "event")]
impl Feed {
    #[on_dispatch(error = on_subscribe_error)]
    async fn on_subscribe(&self, message: Subscribe) -> String {
        format!("on_subscribe {}", message.pair)
    }

    async fn on_subscribe_error(&self, error: Error) -> String {
        format!("on_subscribe_error: {error}")
    }

    #[on_dispatch]
    async fn on_heartbeat(&self, beat: Heartbeat) -> String {
        format!("on_heartbeat {}", beat.seq)
    }

    #[on_dispatch]
    async fn on_connection_init(&self) -> &'static str {
        "on_connection_init"
    }

    #[on_message]
    async fn message(&self, value: serde_json::Value) -> String {
        format!("on_message {value}")
    }

    #[on_error]
    async fn error(&self, caller: &Caller, error: Error) -> Result<(), Error> {
        caller.write_text(format!("on_error: {error}")).await
    }
}

async fn feed() -> (ws_framework::Listener, Client) {
    let (listener, base) = start::<Feed>().await;
    let client = Client::connect(format!("{base}/feed")).await.unwrap();
    (listener, client)
}

async fn ask_client(client: &Client, text: &str) -> String {
    client.write_text(text.to_owned()).await.unwrap();
    client.read_text().await.unwrap()
}

#[tokio::test]
async fn event_value_goes_to_the_handler_named_after_it() {
    within(async {
        let (_listener, client) = feed().await;
        assert_eq!(
            ask_client(&client, r#"{"event":"subscribe","pair":"XBT/USD"}"#).await,
            "on_subscribe XBT/USD"
        );
    })
    .await;
}

#[tokio::test]
async fn event_value_is_mapped_to_snake_case_names() {
    within(async {
        let (_listener, client) = feed().await;
        for value in [
            "connection_init",
            "Connection Init",
            "connection-init",
            "_connection_init",
        ] {
            let text = format!(r#"{{"event":"{value}"}}"#);
            assert_eq!(
                ask_client(&client, &text).await,
                "on_connection_init",
                "{value}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_event_goes_to_on_message() {
    within(async {
        let (_listener, client) = feed().await;
        assert_eq!(
            ask_client(&client, r#"{"event":"trade"}"#).await,
            r#"on_message {"event":"trade"}"#
        );
    })
    .await;
}

#[tokio::test]
async fn message_without_the_key_goes_to_on_message() {
    within(async {
        let (_listener, client) = feed().await;
        assert_eq!(
            ask_client(&client, r#"{"type":"subscribe"}"#).await,
            r#"on_message {"type":"subscribe"}"#
        );
        // A key that is not a string does not dispatch either.
        assert_eq!(
            ask_client(&client, r#"{"event":5}"#).await,
            r#"on_message {"event":5}"#
        );
    })
    .await;
}

#[tokio::test]
async fn per_handler_error_method_is_preferred_over_on_error() {
    within(async {
        let (_listener, client) = feed().await;
        let answer = ask_client(&client, r#"{"event":"subscribe","pair":7}"#).await;
        assert!(
            answer
                .starts_with("on_subscribe_error: data binding failed: invalid type: integer `7`"),
            "{answer}"
        );
        // Without an error method, the binding failure goes to on_error.
        let answer = ask_client(&client, r#"{"event":"heartbeat"}"#).await;
        assert!(
            answer.starts_with("on_error: data binding failed: missing field `seq`"),
            "{answer}"
        );
        // The connection lives on.
        assert_eq!(
            ask_client(&client, r#"{"event":"heartbeat","seq":3}"#).await,
            "on_heartbeat 3"
        );
    })
    .await;
}

#[derive(Default)]
struct Explicit;

#[ws_service("/explicit", dispatcher_key = "event")]
impl Explicit {
    #[on_dispatch("subscribe")]
    async fn join_feed(&self, message: Subscribe) -> String {
        format!("join_feed {}", message.pair)
    }

    #[on_dispatch("Un Subscribe")]
    async fn leave_feed(&self) -> &'static str {
        "leave_feed"
    }
}

#[tokio::test]
async fn explicit_dispatch_value_goes_to_a_handler_of_another_name() {
    within(async {
        let (_listener, base) = start::<Explicit>().await;
        let client = Client::connect(format!("{base}/explicit")).await.unwrap();
        assert_eq!(
            ask_client(&client, r#"{"event":"subscribe","pair":"ETH/EUR"}"#).await,
            "join_feed ETH/EUR"
        );
        assert_eq!(
            ask_client(&client, r#"{"event":"Un Subscribe"}"#).await,
            "leave_feed"
        );
    })
    .await;
}

#[tokio::test]
async fn unmatched_message_without_on_message_is_dropped_and_the_connection_lives_on() {
    within(async {
        let (_listener, base) = start::<Explicit>().await;
        let client = Client::connect(format!("{base}/explicit")).await.unwrap();
        for dropped in [
            r#"{"event":"trade"}"#,
            r#"{"event":"un_subscribe"}"#,
            r#"{"type":"subscribe"}"#,
            "not json",
        ] {
            client.write_text(dropped.to_owned()).await.unwrap();
        }
        client.write_binary(b"binary too".to_vec()).await.unwrap();
        assert_eq!(
            ask_client(&client, r#"{"event":"subscribe","pair":"after"}"#).await,
            "join_feed after"
        );
        assert!(client.is_open());
    })
    .await;
}
