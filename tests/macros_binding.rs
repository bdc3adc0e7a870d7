//! Data binding of `#[ws_service]` handlers over 127.0.0.1: text to `String` raw or to a
//! struct from JSON, binary to bytes or to a struct from UTF-8 JSON, and binding failures to
//! the handler's `error = ...` method, else `on_error`, else a 1003 close.

#![cfg(feature = "macros")]

mod macros_util;

use macros_util::*;
use serde::Deserialize;
use ws_framework::bytes::Bytes;
use ws_framework::{on_binary, on_error, on_text, ws_service, Caller, Error};

#[derive(Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(Default)]
struct Raw;

#[ws_service("/raw")]
impl Raw {
    #[on_text]
    async fn text(&self, text: String) -> String {
        format!("text {text}")
    }

    #[on_binary]
    async fn binary(&self, data: Bytes) -> String {
        format!("{} bytes {:?}", data.len(), &data[..])
    }
}

#[tokio::test]
async fn text_binds_to_string_raw() {
    within(async {
        let (_listener, base) = start::<Raw>().await;
        let mut peer = open(&format!("{base}/raw")).await;
        assert_eq!(
            ask(&mut peer, r#"{"x":1} not json"#).await,
            r#"text {"x":1} not json"#
        );
    })
    .await;
}

#[tokio::test]
async fn binary_binds_to_bytes_raw() {
    within(async {
        let (_listener, base) = start::<Raw>().await;
        let mut peer = open(&format!("{base}/raw")).await;
        send_binary(&mut peer, &[0, 255, 7]).await;
        assert_eq!(next_text(&mut peer).await, "3 bytes [0, 255, 7]");
    })
    .await;
}

#[derive(Default)]
struct Typed;

#[ws_service("/typed")]
impl Typed {
    #[on_text(error = bad_text)]
    async fn text(&self, point: Point) -> String {
        format!("text sum {}", point.x + point.y)
    }

    async fn bad_text(&self, error: Error) -> String {
        format!("bad_text: {error}")
    }

    #[on_binary]
    async fn binary(&self, point: Point) -> String {
        format!("binary sum {}", point.x + point.y)
    }

    #[on_error]
    async fn error(&self, caller: &Caller, error: Error) -> Result<(), Error> {
        caller.write_text(format!("on_error: {error}")).await
    }
}

#[tokio::test]
async fn text_binds_to_a_struct_from_json() {
    within(async {
        let (_listener, base) = start::<Typed>().await;
        let mut peer = open(&format!("{base}/typed")).await;
        assert_eq!(ask(&mut peer, r#"{"x":2,"y":3}"#).await, "text sum 5");
    })
    .await;
}

#[tokio::test]
async fn binary_binds_to_a_struct_from_utf8_json() {
    within(async {
        let (_listener, base) = start::<Typed>().await;
        let mut peer = open(&format!("{base}/typed")).await;
        send_binary(&mut peer, br#"{"x":10,"y":-4}"#).await;
        assert_eq!(next_text(&mut peer).await, "binary sum 6");
    })
    .await;
}

#[tokio::test]
async fn binding_failure_goes_to_the_handlers_error_method() {
    within(async {
        let (_listener, base) = start::<Typed>().await;
        let mut peer = open(&format!("{base}/typed")).await;
        let answer = ask(&mut peer, r#"{"x":"two"}"#).await;
        assert!(
            answer.starts_with("bad_text: data binding failed: "),
            "{answer}"
        );
        assert_eq!(ask(&mut peer, r#"{"x":1,"y":1}"#).await, "text sum 2");
    })
    .await;
}

#[tokio::test]
async fn binding_failure_without_error_method_goes_to_on_error() {
    within(async {
        let (_listener, base) = start::<Typed>().await;
        let mut peer = open(&format!("{base}/typed")).await;
        send_binary(&mut peer, &[0xff, 0xfe]).await;
        let answer = next_text(&mut peer).await;
        assert_eq!(
            answer,
            "on_error: data binding failed: binary message is not valid UTF-8"
        );
        send_binary(&mut peer, br#"{"x":1,"y":2}"#).await;
        assert_eq!(next_text(&mut peer).await, "binary sum 3");
    })
    .await;
}

#[derive(Default)]
struct Strict;

#[ws_service("/strict")]
impl Strict {
    #[on_text]
    async fn text(&self, point: Point) -> String {
        format!("sum {}", point.x + point.y)
    }
}

#[tokio::test]
async fn binding_failure_without_any_error_handler_closes_1003() {
    within(async {
        let (_listener, base) = start::<Strict>().await;
        let mut peer = open(&format!("{base}/strict")).await;
        send_text(&mut peer, r#"{"x":1}"#).await;
        let (code, reason) = read_close(&mut peer).await;
        assert_eq!(code, 1003);
        assert_eq!(
            reason,
            "data binding failed: missing field `y` at line 1 column 7"
        );
    })
    .await;
}

#[tokio::test]
async fn binding_failure_close_reason_is_cut_to_fit_a_close_frame() {
    within(async {
        let (_listener, base) = start::<Strict>().await;
        // serde_json quotes the bad value in its message: far over what a close frame carries.
        for long in ["a".repeat(150), "é".repeat(150)] {
            let mut peer = open(&format!("{base}/strict")).await;
            send_text(&mut peer, &format!(r#"{{"x":"{long}","y":1}}"#)).await;
            let (code, reason) = read_close(&mut peer).await;
            assert_eq!(code, 1003);
            assert!(
                reason.starts_with("data binding failed: invalid type: string"),
                "{reason}"
            );
            assert!(reason.ends_with("..."), "{reason}");
            assert!(reason.len() <= 123, "{} bytes: {reason}", reason.len());
        }
    })
    .await;
}
