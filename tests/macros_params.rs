//! `#[ws_service]` handler parameters over 127.0.0.1: bound by type (the `&Caller` in any
//! position), per-connection state in `&mut self`, shared state through `state = T` and
//! `#[state]`.

#![cfg(feature = "macros")]

mod macros_util;

use macros_util::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ws_framework::{on_binary, on_close, on_open, on_text, on_upgrade, ws_service, Caller};

#[derive(Default)]
struct Positions;

#[ws_service("/positions")]
impl Positions {
    /// The caller after the message.
    #[on_text]
    async fn text(&self, text: String, caller: &Caller) -> String {
        format!("{} {text}", caller.path())
    }

    /// The caller before the message.
    #[on_binary]
    async fn binary(&self, caller: &Caller, data: Vec<u8>) -> String {
        format!("{} {} bytes", caller.path(), data.len())
    }
}

#[tokio::test]
async fn the_caller_is_bound_by_type_before_or_after_the_message() {
    within(async {
        let (_listener, base) = start::<Positions>().await;
        let mut peer = open(&format!("{base}/positions")).await;
        assert_eq!(ask(&mut peer, "hi").await, "/positions hi");
        send_binary(&mut peer, &[1, 2, 3]).await;
        assert_eq!(next_text(&mut peer).await, "/positions 3 bytes");
    })
    .await;
}

#[derive(Default)]
struct Counter {
    messages: usize,
}

#[ws_service("/counter")]
impl Counter {
    #[on_text]
    async fn text(&mut self, _text: String) -> String {
        self.messages += 1;
        self.messages.to_string()
    }
}

#[tokio::test]
async fn per_connection_state_in_mut_self_counts_each_connections_messages() {
    within(async {
        let (_listener, base) = start::<Counter>().await;
        let mut a = open(&format!("{base}/counter")).await;
        let mut b = open(&format!("{base}/counter")).await;
        assert_eq!(ask(&mut a, "x").await, "1");
        assert_eq!(ask(&mut a, "x").await, "2");
        assert_eq!(ask(&mut b, "x").await, "1");
        assert_eq!(ask(&mut a, "x").await, "3");
        assert_eq!(ask(&mut b, "x").await, "2");
    })
    .await;
}

#[derive(Default)]
struct Stats {
    opened: AtomicUsize,
    open_now: Arc<AtomicUsize>,
}

struct Member {
    number: usize,
}

#[ws_service("/members", state = Stats)]
impl Member {
    #[on_upgrade]
    async fn join(#[state] stats: &Stats) -> Self {
        Self {
            number: stats.opened.fetch_add(1, Ordering::SeqCst) + 1,
        }
    }

    #[on_open]
    async fn open(&self, #[state] stats: Arc<Stats>) -> String {
        let now = stats.open_now.fetch_add(1, Ordering::SeqCst) + 1;
        format!("member {} of {now}", self.number)
    }

    /// `#[state]` and the caller around the message.
    #[on_text]
    async fn text(&self, #[state] stats: &Stats, _text: String, caller: &Caller) -> String {
        format!(
            "{} connections opened, {} open; you are {}",
            stats.opened.load(Ordering::SeqCst),
            stats.open_now.load(Ordering::SeqCst),
            caller.path()
        )
    }

    #[on_close]
    async fn close(&self, #[state] stats: &Stats) {
        stats.open_now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn shared_state_through_state_attribute_counts_connections() {
    within(async {
        let open_now = Arc::new(AtomicUsize::new(0));
        let stats = Stats {
            opened: AtomicUsize::new(0),
            open_now: open_now.clone(),
        };
        let (_listener, base) = start_with::<Member>(stats).await;
        let url = format!("{base}/members");
        let mut a = open(&url).await;
        assert_eq!(next_text(&mut a).await, "member 1 of 1");
        let mut b = open(&url).await;
        assert_eq!(next_text(&mut b).await, "member 2 of 2");
        assert_eq!(
            ask(&mut a, "?").await,
            "2 connections opened, 2 open; you are /members"
        );
        b.close(None).await.unwrap();
        eventually("on_close of b ran", || open_now.load(Ordering::SeqCst) == 1).await;
        let mut c = open(&url).await;
        assert_eq!(next_text(&mut c).await, "member 3 of 2");
    })
    .await;
}
