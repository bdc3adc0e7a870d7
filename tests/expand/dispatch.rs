//! Custom dispatch on the `event` field (Ballerina's `dispatcherKey`), by value and by name, with
//! a per-handler error handler, close frames and a fallback.

use serde::{Deserialize, Serialize};
use ws_framework::{
    on_dispatch, on_error, on_idle_timeout, on_text, ws_service, Caller, CloseCode, CloseFrame,
    Error,
};

#[derive(Deserialize)]
pub struct Subscribe {
    pub channel: String,
}

#[derive(Serialize)]
pub struct Subscribed {
    pub channel: String,
    pub ok: bool,
}

#[derive(Default)]
pub struct Feed;

#[ws_service("/feed", dispatcher_key = "event", close_timeout = "5s")]
impl Feed {
    #[on_dispatch("subscribe", error = subscribe_failed)]
    async fn subscribe_message(&self, message: Subscribe) -> Subscribed {
        Subscribed {
            channel: message.channel,
            ok: true,
        }
    }

    async fn subscribe_failed(&self, error: Error) -> String {
        format!("bad subscribe: {error}")
    }

    #[on_dispatch]
    async fn on_heartbeat(&self, caller: &Caller) -> Result<(), Error> {
        caller.write_text("beat").await
    }

    #[on_text]
    async fn other(&self, text: String) -> Option<CloseFrame> {
        (text == "bye").then(|| CloseFrame::new(CloseCode::NORMAL, "bye"))
    }

    #[on_error]
    async fn error(&self, error: Error) {
        eprintln!("{error}");
    }

    #[on_idle_timeout]
    async fn idle(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::GOING_AWAY, "idle")
    }
}

fn main() {}
