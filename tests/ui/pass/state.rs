//! Per-connection state in `Self` (`&mut self`), shared state through `#[state]` (`&S` or
//! `Arc<S>`), in handlers and the upgrade alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ws_framework::{on_close, on_open, on_text, on_upgrade, ws_service, Caller};

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
}

struct Session {
    number: usize,
    messages: usize,
}

#[ws_service("/count", state = Counters)]
impl Session {
    #[on_upgrade]
    async fn new(#[state] counters: &Counters) -> Self {
        let number = counters.connections.fetch_add(1, Ordering::SeqCst);
        Self {
            number,
            messages: 0,
        }
    }

    #[on_open]
    async fn open(&self, #[state] counters: Arc<Counters>) -> String {
        format!(
            "you are {} of {}",
            self.number,
            counters.connections.load(Ordering::SeqCst)
        )
    }

    #[on_text]
    async fn text(
        &mut self,
        #[state] _counters: &Counters,
        caller: &Caller,
        _text: String,
    ) -> String {
        self.messages += 1;
        format!("{} messages from {}", self.messages, caller.id())
    }

    #[on_close]
    async fn close(&self, #[state] counters: &Counters) {
        counters.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

fn main() {
    fn assert_service<S: ws_framework::Service<State = Counters>>() {}
    assert_service::<Session>();
}
