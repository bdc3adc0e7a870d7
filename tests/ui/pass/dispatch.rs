//! Custom dispatch on `event` (Ballerina section 4, example 6; the runnable version is
//! examples/dispatch.rs): by explicit value and by name, per-handler error handlers, close
//! frames from `on_message`.

use serde::{Deserialize, Serialize};
use ws_framework::{
    on_dispatch, on_error, on_message, ws_service, Caller, CloseCode, CloseFrame, Error,
};

#[derive(Deserialize)]
struct Heartbeat {
    #[allow(dead_code)]
    seq: u64,
}

#[derive(Deserialize)]
struct Subscribe {
    pair: String,
}

#[derive(Serialize)]
struct Ack {
    event: &'static str,
    pair: String,
}

#[derive(Default)]
struct Kraken;

#[ws_service("/kraken", dispatcher_key = "event")]
impl Kraken {
    /// `{"event":"heartbeat","seq":1}` (and `"Heartbeat"`, `"_heartbeat"`) by its name.
    #[on_dispatch(error = on_heartbeat_error)]
    async fn on_heartbeat(&self, _beat: Heartbeat) {}

    async fn on_heartbeat_error(&self, caller: &Caller, error: Error) -> String {
        let _ = caller;
        format!("bad heartbeat: {error}")
    }

    /// `{"event":"subscribe","pair":"XBT/USD"}` by explicit value.
    #[on_dispatch("subscribe")]
    async fn on_subscribe_message(&self, message: Subscribe) -> Ack {
        Ack {
            event: "subscribed",
            pair: message.pair,
        }
    }

    /// `{"event":"connection_init"}` and `{"event":"Connection Init"}`: no payload needed.
    #[on_dispatch]
    async fn on_connection_init(&self, caller: &Caller) -> Result<(), Error> {
        caller.write_text("{\"type\":\"connection_ack\"}").await
    }

    /// Everything else, text or binary.
    #[on_message]
    async fn message(&self, data: serde_json::Value) -> Result<CloseFrame, String> {
        match data.get("user").and_then(|u| u.as_str()) {
            Some("admin") => Ok(CloseFrame::new(CloseCode::NORMAL, "")),
            Some(_) => Ok(CloseFrame::new(CloseCode::new(4444), "Invalid User")),
            None => Err("no user".into()),
        }
    }

    #[on_error]
    async fn error(&self, error: Error) {
        eprintln!("error: {error}");
    }
}

fn main() {
    fn assert_service<S: ws_framework::Service>() {}
    assert_service::<Kraken>();
}
