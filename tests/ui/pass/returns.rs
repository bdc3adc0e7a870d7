//! Every accepted return type, through dispatch handlers (which accept all of them).

use serde::Serialize;
use std::pin::Pin;
use std::task::{Context, Poll};
use ws_framework::{on_dispatch, on_message, ws_service, CloseCode, CloseFrame, Error, Utf8Bytes};

#[derive(Serialize)]
struct Quote {
    price: f64,
}

/// A stream without futures-util: three quotes.
struct Quotes(u8);

impl futures_util::Stream for Quotes {
    type Item = Quote;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Quote>> {
        self.0 += 1;
        Poll::Ready((self.0 <= 3).then(|| Quote {
            price: f64::from(self.0),
        }))
    }
}

#[derive(Default)]
struct Returns;

#[ws_service("/returns", dispatcher_key = "type")]
impl Returns {
    #[on_dispatch]
    async fn on_unit(&self) {}
    #[on_dispatch]
    async fn on_string(&self) -> String {
        String::from("s")
    }
    #[on_dispatch]
    async fn on_static(&self) -> &'static str {
        "s"
    }
    #[on_dispatch]
    async fn on_utf8(&self) -> Utf8Bytes {
        Utf8Bytes::from_static("s")
    }
    #[on_dispatch]
    async fn on_bytes(&self) -> Vec<u8> {
        vec![1, 2]
    }
    #[on_dispatch]
    async fn on_json(&self) -> Quote {
        Quote { price: 1.0 }
    }
    #[on_dispatch]
    async fn on_value(&self) -> serde_json::Value {
        serde_json::json!({"a": 1})
    }
    #[on_dispatch]
    async fn on_number(&self) -> u64 {
        5
    }
    #[on_dispatch]
    async fn on_close_frame(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::new(4444), "Invalid User")
    }
    #[on_dispatch]
    async fn on_maybe_close(&self) -> Option<CloseFrame> {
        None
    }
    #[on_dispatch]
    async fn on_maybe_json(&self) -> Option<Quote> {
        None
    }
    #[on_dispatch]
    async fn on_fallible(&self) -> Result<(), Error> {
        Ok(())
    }
    #[on_dispatch]
    async fn on_fallible_string(&self) -> Result<String, std::io::Error> {
        Ok("s".into())
    }
    #[on_dispatch]
    async fn on_fallible_json(&self) -> Result<Quote, String> {
        Err("no quote".into())
    }
    #[on_dispatch]
    async fn on_fallible_close(&self) -> Result<CloseFrame, &'static str> {
        Err("nope")
    }
    #[on_dispatch]
    async fn on_stream(&self) -> Quotes {
        Quotes(0)
    }
    #[on_message]
    async fn message(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }
}

fn main() {
    fn assert_service<S: ws_framework::Service>() {}
    assert_service::<Returns>();
}
