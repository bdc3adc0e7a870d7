//! Backpressure over 127.0.0.1: the bounded outbound buffer per connection, writers that wait,
//! slow readers closed with 1008 / 1013 when the service asks for it, and a slow but steady
//! reader that gets every one of 10,000 queued messages in order.
//!
//! The slow peers have a 4 KiB TCP receive buffer (set before connecting), so the kernel's
//! buffers fill quickly and the server's own outbound buffer is what the tests measure.

mod hardening_util;

use hardening_util::{bounded, eventually, tcp, Notes, RawPeer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use ws_framework::stream::{connect_stream, ConnectOptions};
use ws_framework::{
    Caller, CloseCode, Event, Handlers, Incoming, Listener, ListenerConfig, Message, Reply,
    Service, ServiceConfig, UpgradeError, UpgradeRequest,
};

/// The outbound buffer bound of every flood service.
const WRITE_LIMIT: usize = 16 << 10;

/// Modes of [`Flood`]: its `ServiceConfig`.
const WAIT: u8 = 0;
const CLOSE_1008: u8 = 1;
const CLOSE_1013: u8 = 2;
const CUT: u8 = 3;
/// Answers pings itself (`on_ping`), counting them in `sent`.
const PINGS: u8 = 4;

/// On "flood N SIZE", writes N binary messages of SIZE bytes to the peer, each starting with
/// its index as 8 decimal digits, counting how many went out and the largest outbound buffer
/// seen. Notes "write error E" when a write fails and "done" at the end. In mode [`PINGS`] it
/// also answers pings itself.
struct Flood<const MODE: u8>;

#[derive(Default)]
struct Counters {
    sent: AtomicUsize,
    max_buffered: AtomicUsize,
}

struct FloodState {
    notes: mpsc::UnboundedSender<String>,
    counters: Arc<Counters>,
}

impl<const MODE: u8> Service for Flood<MODE> {
    type State = FloodState;
    const HANDLERS: Handlers = if MODE == PINGS {
        Handlers::NONE.with_ping()
    } else {
        Handlers::NONE
    };

    fn config() -> ServiceConfig {
        let config = ServiceConfig::new("/flood").write_buffer_limit(WRITE_LIMIT);
        match MODE {
            CLOSE_1008 => config
                .write_timeout(Duration::from_millis(300))
                .overflow_close(CloseCode::POLICY_VIOLATION),
            CLOSE_1013 => config
                .write_timeout(Duration::from_millis(300))
                .overflow_close(CloseCode::TRY_AGAIN_LATER),
            CUT => config
                .write_timeout(Duration::from_millis(300))
                .overflow_close(CloseCode::TRY_AGAIN_LATER)
                .close_timeout(Some(Duration::from_millis(500))),
            _ => config,
        }
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<FloodState>) -> Result<Self, UpgradeError> {
        Ok(Flood)
    }

    async fn handle(&mut self, caller: &Caller, state: &Arc<FloodState>, event: Event) -> Reply {
        let command = match event {
            Event::Text(command) => command,
            Event::Ping(payload) => {
                state.counters.sent.fetch_add(1, Ordering::SeqCst);
                return Reply::Pong(payload);
            }
            _ => return Reply::None,
        };
        let mut words = command
            .split(' ')
            .skip(1)
            .map(|w| w.parse::<usize>().unwrap());
        let (n, size) = (words.next().unwrap(), words.next().unwrap());
        let ws = caller.websocket();
        for i in 0..n {
            let mut payload = format!("{i:08}").into_bytes();
            payload.resize(size.max(8), b'.');
            if let Err(e) = caller.write_binary(payload).await {
                let _ = state.notes.send(format!("write error {e}"));
                return Reply::None;
            }
            let counters = &state.counters;
            counters.sent.fetch_add(1, Ordering::SeqCst);
            counters
                .max_buffered
                .fetch_max(ws.buffered_amount(), Ordering::SeqCst);
        }
        let _ = state.notes.send("done".to_owned());
        Reply::None
    }
}

async fn start<const MODE: u8>() -> (Listener, SocketAddr, Arc<Counters>, Notes) {
    let (tx, notes) = Notes::channel();
    let counters = Arc::new(Counters::default());
    let state = FloodState {
        notes: tx,
        counters: counters.clone(),
    };
    // No keepalive pings in the way of the byte counts.
    let config = ListenerConfig::default().keepalive(None);
    let listener = Listener::bind_with("127.0.0.1:0", config).await.unwrap();
    listener.attach_with::<Flood<MODE>>(state).unwrap();
    listener.start().unwrap();
    let addr = listener.local_addr();
    (listener, addr, counters, notes)
}

/// The most a connection may hold: the limit, plus the one message a waiting writer adds once
/// there is room (with a frame header of at most 14 bytes), plus a few control frames.
fn bound(size: usize) -> usize {
    WRITE_LIMIT + size + 14 + 256
}

/// The index a flood message starts with.
fn index_of(message: &Message) -> usize {
    std::str::from_utf8(&message.as_bytes()[..8])
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits (bounded) until the writer made no progress for a second: it is waiting for room.
async fn until_stalled(counters: &Counters) -> usize {
    let mut last = usize::MAX;
    let mut unchanged = 0;
    for _ in 0..1200 {
        let sent = counters.sent.load(Ordering::SeqCst);
        if sent == last && sent > 0 {
            unchanged += 1;
            if unchanged == 20 {
                return sent;
            }
        } else {
            unchanged = 0;
            last = sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the writer never stalled (sent {last})");
}

#[tokio::test]
async fn reader_that_never_reads_cannot_grow_server_memory() {
    bounded(async {
        let (listener, addr, counters, mut notes) = start::<WAIT>().await;
        let mut peer = RawPeer::connect(addr, "/flood", Some(4096)).await;
        // Up to 80 MB for a peer that reads nothing.
        peer.send(Message::text("flood 20000 4096")).await;
        let sent = until_stalled(&counters).await;
        assert!(sent < 20_000, "the writer never had to wait");
        let max = counters.max_buffered.load(Ordering::SeqCst);
        assert!(max <= bound(4096), "buffered {max} bytes");
        // The writer waits because the buffer is full, and it stays within the bound.
        let caller = listener.hub().connections().pop().unwrap();
        let ws = caller.websocket().clone();
        eventually("a full buffer", || ws.buffered_amount() >= WRITE_LIMIT).await;
        let buffered = ws.buffered_amount();
        assert!(buffered <= bound(4096), "buffered {buffered}");
        assert!(counters.sent.load(Ordering::SeqCst) < 20_000);
        assert!(caller.is_open());
        // What was queued is intact and in order.
        for i in 0..100 {
            match peer.next().await {
                Some(ws_framework::proto::Event::Message(m)) => {
                    assert_eq!(index_of(&m), i);
                    assert_eq!(m.len(), 4096);
                }
                other => panic!("expected message {i}, got {other:?}"),
            }
        }
        // The peer goes away: the waiting writer fails and the connection ends.
        peer.reset();
        notes.expect("write error").await;
        eventually("the connection to end", || listener.connection_count() == 0).await;
        assert!(counters.max_buffered.load(Ordering::SeqCst) <= bound(4096));
    })
    .await;
}

/// A peer that stops reading: the writer times out, the connection is closed with `code`
/// behind what was already queued, and the peer, once it reads, gets everything that was
/// written, in order, then the close frame.
async fn overflow_closes_with<const MODE: u8>(code: CloseCode) {
    let (listener, addr, counters, mut notes) = start::<MODE>().await;
    let mut peer = RawPeer::connect(addr, "/flood", Some(4096)).await;
    peer.send(Message::text("flood 20000 4096")).await;
    let note = notes.expect("write error").await;
    assert!(note.contains("write timed out"), "{note}");
    let (messages, close) = peer.read_and_answer_close().await;
    let close = close.flatten().expect("no close frame");
    assert_eq!(close.code, code);
    assert_eq!(close.reason, "outbound buffer full");
    assert_eq!(messages.len(), counters.sent.load(Ordering::SeqCst));
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(index_of(m), i);
    }
    assert!(counters.max_buffered.load(Ordering::SeqCst) <= bound(4096));
    eventually("the connection to end", || listener.connection_count() == 0).await;
}

#[tokio::test]
async fn slow_peer_with_overflow_close_gets_1008() {
    bounded(overflow_closes_with::<CLOSE_1008>(
        CloseCode::POLICY_VIOLATION,
    ))
    .await;
}

#[tokio::test]
async fn slow_peer_with_overflow_close_gets_1013() {
    bounded(overflow_closes_with::<CLOSE_1013>(
        CloseCode::TRY_AGAIN_LATER,
    ))
    .await;
}

#[tokio::test]
async fn a_peer_that_never_reads_is_cut_at_the_close_timeout() {
    bounded(async {
        let (listener, addr, _counters, mut notes) = start::<CUT>().await;
        let mut peer = RawPeer::connect(addr, "/flood", Some(4096)).await;
        peer.send(Message::text("flood 20000 4096")).await;
        notes.expect("write error").await;
        // Its close frame cannot leave (the peer reads nothing); the close timeout ends it.
        eventually("the connection to be cut", || {
            listener.connection_count() == 0
        })
        .await;
        // What the kernel still held drains, then the stream ends.
        let _ = peer.read_to_close().await;
    })
    .await;
}

#[tokio::test]
async fn ten_thousand_queued_messages_reach_a_slow_peer_in_order() {
    bounded(async {
        let (listener, addr, counters, mut notes) = start::<WAIT>().await;
        let tcp = tcp(addr, Some(4096)).await;
        let uri: ws_framework::http::Uri = format!("ws://{addr}/flood").parse().unwrap();
        let (ws, driver, _) = connect_stream(tcp, &uri, &ConnectOptions::default())
            .await
            .unwrap();
        tokio::spawn(driver);
        ws.send(Message::text("flood 10000 1024")).await.unwrap();
        for i in 0..10_000 {
            match ws.recv().await.unwrap() {
                Incoming::Message(m) => {
                    assert_eq!(index_of(&m), i, "message {i} out of order");
                    assert_eq!(m.len(), 1024);
                }
                other => panic!("expected message {i}, got {other:?}"),
            }
            if i % 100 == 99 {
                // A slow reader.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        notes.expect("done").await;
        assert_eq!(counters.sent.load(Ordering::SeqCst), 10_000);
        let max = counters.max_buffered.load(Ordering::SeqCst);
        assert!(max <= bound(1024), "buffered {max} bytes");
        ws.close(None, None).await.unwrap();
        eventually("the connection to end", || listener.connection_count() == 0).await;
    })
    .await;
}

/// 1,000 masked pings of 125 bytes.
fn ping_batch() -> Vec<u8> {
    let mut batch = Vec::new();
    for _ in 0..1000 {
        batch.extend_from_slice(&[0x89, 0x80 | 125, 0, 0, 0, 0]);
        batch.extend_from_slice(&[b'p'; 125]);
    }
    batch
}

#[tokio::test]
async fn a_peer_that_pings_but_never_reads_cannot_grow_server_memory() {
    bounded(async {
        let (listener, addr, _counters, mut notes) = start::<WAIT>().await;
        let mut peer = RawPeer::connect(addr, "/flood", Some(4096)).await;
        // 200,000 pings (25 MB of pongs owed) from a peer that reads nothing.
        let batch = ping_batch();
        for _ in 0..200 {
            peer.write_raw(&batch).await;
        }
        // Handled after every ping was decoded.
        peer.send(Message::text("flood 0 8")).await;
        notes.expect("done").await;
        let caller = listener.hub().connections().pop().unwrap();
        let buffered = caller.websocket().buffered_amount();
        assert!(buffered <= bound(125), "buffered {buffered} bytes of pongs");
        // Once the peer reads, the pings it sent are answered (the latest at least).
        peer.send_control(ws_framework::proto::OpCode::Ping, b"sync")
            .await;
        let mut pongs = 0;
        loop {
            match peer.next().await {
                Some(ws_framework::proto::Event::Pong(p)) if &p[..] == b"sync" => break,
                Some(ws_framework::proto::Event::Pong(_)) => pongs += 1,
                other => panic!("expected pongs, got {other:?}"),
            }
        }
        assert!(pongs <= 200_000);
        assert!(caller.is_open());
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_pings_a_ping_handler_but_never_reads_cannot_grow_server_memory() {
    bounded(async {
        let (listener, addr, counters, _notes) = start::<PINGS>().await;
        let peer = RawPeer::connect(addr, "/flood", Some(4096)).await;
        // The service answers each ping itself; its pongs wait for room like any write, so
        // the server stops reading this peer, and this writer blocks.
        let mut tcp = peer.tcp;
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let batch = ping_batch();
            for _ in 0..200 {
                if tcp.write_all(&batch).await.is_err() {
                    break;
                }
            }
            tcp
        });
        let handled = until_stalled(&counters).await;
        assert!(handled < 200_000, "the server never stopped reading");
        let caller = listener.hub().connections().pop().unwrap();
        let buffered = caller.websocket().buffered_amount();
        assert!(buffered <= bound(125), "buffered {buffered} bytes of pongs");
        assert!(!writer.is_finished(), "all pings were taken in");
        writer.abort();
        eventually("the connection to end", || listener.connection_count() == 0).await;
    })
    .await;
}
