//! Every handler kind, with the `&Caller` in different places and `#[state]` where it helps.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use ws_framework::{
    on_binary, on_close, on_error, on_idle_timeout, on_open, on_ping, on_pong, on_text, ws_service,
    Caller, CloseCode, CloseFrame, Error,
};

#[derive(Deserialize)]
struct Move {
    x: i32,
}

#[derive(Serialize)]
struct Moved {
    x: i32,
}

#[derive(Default)]
struct Game {
    moves: usize,
}

#[ws_service("/game", idle_timeout = "1.5s", max_frame_size = 1 << 16, max_message_size = 1 << 20, compression = false)]
impl Game {
    #[on_open]
    async fn open(&self, caller: &Caller) -> &'static str {
        let _ = caller.id();
        "welcome"
    }

    #[on_text]
    async fn text(&mut self, m: Move, caller: &Caller) -> Moved {
        self.moves += 1;
        let _ = caller;
        Moved { x: m.x }
    }

    #[on_binary]
    async fn binary(&self, data: Bytes) -> Bytes {
        data
    }

    #[on_ping]
    async fn ping(&self, payload: Vec<u8>) -> Vec<u8> {
        payload
    }

    #[on_pong]
    async fn pong(&self, _caller: &Caller, _payload: Bytes) {}

    #[on_close]
    async fn close(&self, reason: String, caller: &Caller, code: CloseCode) {
        let _ = (reason, caller, code);
    }

    #[on_error]
    async fn error(&self, caller: &Caller, error: Error) -> Option<CloseFrame> {
        let _ = caller;
        matches!(error, Error::PayloadBinding(_))
            .then(|| CloseFrame::new(CloseCode::UNSUPPORTED_DATA, "bad data"))
    }

    #[on_idle_timeout]
    async fn idle(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::GOING_AWAY, "idle")
    }

    // Methods without markers are ordinary methods.
    fn helper(&self) -> usize {
        self.moves
    }
}

#[derive(Default)]
struct Minimal;

#[ws_service("/")]
impl Minimal {
    #[on_close]
    async fn close(&self, code: u16) -> Result<(), String> {
        if code == 1000 {
            Ok(())
        } else {
            Err(format!("closed with {code}"))
        }
    }
}

fn assert_service<S: ws_framework::Service>() {}

fn main() {
    assert_service::<Game>();
    assert_service::<Minimal>();
    assert!(<Game as ws_framework::Service>::HANDLERS.ping);
    assert_eq!(Game::default().helper(), 0);
}
