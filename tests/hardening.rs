//! Hardening over 127.0.0.1: handshake and connection limits, oversized and compressed bombs,
//! keepalive on both ends, vanished and reset peers, panicking handlers, graceful shutdown with
//! connections mid-message, and no task or connection left behind after all that.
//!
//! Services are hand-written `Service` impls; the misbehaving peers are raw TCP clients framing
//! with the engine's client codec (`hardening_util::RawPeer`), so they do exactly what the test
//! says and nothing else (no automatic pongs, no close replies).

mod hardening_util;

use hardening_util::{bounded, eventually, tcp, upgrade_request, Notes, RawPeer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use ws_framework::conn::ConnConfig;
use ws_framework::proto::Event as Frame;
use ws_framework::stream::{connect, ConnectOptions};
use ws_framework::{
    Caller, Client, CloseCode, CloseFrame, Error, Event, Handlers, Incoming, Keepalive, Listener,
    ListenerConfig, Message, Reply, Service, ServiceConfig, UpgradeError, UpgradeRequest,
    WebSocket,
};

// ---------------------------------------------------------------------------------------------
// The service under test.

/// Echoes, and notes every event as "LABEL EVENT" (LABEL from the `label` query parameter).
/// Text "panic" panics, "big N" answers N bytes of binary; `?panic` panics in the upgrade hook,
/// `?panic-open` / `?panic-close` in `on_open` / `on_close`.
struct Probe {
    label: String,
    panic_open: bool,
    panic_close: bool,
}

struct ProbeState(mpsc::UnboundedSender<String>);

impl Service for Probe {
    type State = ProbeState;
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/probe").max_message_size(64 << 10)
    }

    async fn upgrade(req: &mut UpgradeRequest, _: &Arc<ProbeState>) -> Result<Self, UpgradeError> {
        if req.query("panic").is_some() {
            panic!("upgrade hook panicked on purpose");
        }
        Ok(Probe {
            label: req.query("label").unwrap_or_else(|| "-".to_owned()),
            panic_open: req.query("panic-open").is_some(),
            panic_close: req.query("panic-close").is_some(),
        })
    }

    async fn handle(&mut self, _: &Caller, state: &Arc<ProbeState>, event: Event) -> Reply {
        let note = |text: String| {
            let _ = state.0.send(format!("{} {text}", self.label));
        };
        match event {
            Event::Open => {
                note("open".into());
                if self.panic_open {
                    panic!("on_open panicked on purpose");
                }
                Reply::None
            }
            Event::Text(t) if t.as_str() == "panic" => panic!("handler panicked on purpose"),
            Event::Text(t) if t.starts_with("big ") => {
                let n: usize = t[4..].parse().unwrap();
                Reply::Binary(vec![7u8; n].into())
            }
            Event::Text(t) => {
                note(format!("text {t}"));
                Reply::Text(t)
            }
            Event::Binary(b) => {
                note(format!("binary {}", b.len()));
                Reply::Binary(b)
            }
            Event::Close { code, reason } => {
                note(format!("close {code} {reason}"));
                if self.panic_close {
                    panic!("on_close panicked on purpose");
                }
                Reply::None
            }
            Event::Error(e) => {
                note(format!("error {e}"));
                Reply::None
            }
            _ => Reply::None,
        }
    }
}

async fn start(config: ListenerConfig) -> (Listener, SocketAddr, Notes) {
    let (tx, notes) = Notes::channel();
    let listener = Listener::bind_with("127.0.0.1:0", config).await.unwrap();
    listener.attach_with::<Probe>(ProbeState(tx)).unwrap();
    listener.start().unwrap();
    let addr = listener.local_addr();
    (listener, addr, notes)
}

/// A ws-framework client (its driver spawned), with `conn` settings.
async fn client(addr: SocketAddr, path: &str, conn: ConnConfig) -> WebSocket {
    let mut options = ConnectOptions::default();
    options.conn = conn;
    let (ws, driver, _) = connect(&format!("ws://{addr}{path}"), &options)
        .await
        .unwrap();
    tokio::spawn(driver);
    ws
}

async fn recv_text(ws: &WebSocket) -> String {
    match ws.recv().await.unwrap() {
        Incoming::Message(Message::Text(t)) => t.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn keepalive(interval_ms: u64, timeout_ms: u64) -> Option<Keepalive> {
    Some(Keepalive {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
    })
}

// ---------------------------------------------------------------------------------------------
// Limits: handshake timeout, connection count, frame and message size.

#[tokio::test]
async fn slow_loris_handshake_is_cut_off() {
    bounded(async {
        let config = ListenerConfig::default().request_timeout(Duration::from_millis(300));
        let (_listener, addr, _notes) = start(config).await;
        // One byte every 100 ms: the whole request would take about 17 s.
        let request = upgrade_request("/probe");
        let (mut rd, mut wr) = tcp(addr, None).await.into_split();
        let mut sent = 0;
        let writer = async {
            for byte in request.as_bytes() {
                if wr.write_all(&[*byte]).await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let mut answer = Vec::new();
        tokio::select! {
            _ = rd.read_to_end(&mut answer) => {}
            () = writer => panic!("the whole request went through byte by byte"),
        }
        // Cut off: closed without a response, or answered 408.
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
        assert!(sent < request.len(), "cut off only after {sent} bytes");
        // A client that sends its request at once is served.
        let mut peer = RawPeer::connect(addr, "/probe", None).await;
        peer.send(Message::text("fast")).await;
        assert_eq!(
            peer.next().await,
            Some(Frame::Message(Message::text("fast")))
        );
    })
    .await;
}

#[tokio::test]
async fn a_silent_connection_is_cut_off_by_the_request_timeout() {
    bounded(async {
        let config = ListenerConfig::default().request_timeout(Duration::from_millis(300));
        let (_listener, addr, _notes) = start(config).await;
        let mut silent = tcp(addr, None).await;
        let mut answer = Vec::new();
        // Never sends a byte: the server must close the connection by itself.
        let _ = silent.read_to_end(&mut answer).await;
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    })
    .await;
}

#[tokio::test]
async fn max_connections_answers_503() {
    bounded(async {
        let config = ListenerConfig::default().max_connections(2);
        let (listener, addr, _notes) = start(config).await;
        let a = client(addr, "/probe", ConnConfig::default()).await;
        let _b = client(addr, "/probe", ConnConfig::default()).await;
        // Both counted by the server before the third tries.
        eventually("two connections", || listener.connection_count() == 2).await;
        let third = connect(&format!("ws://{addr}/probe"), &ConnectOptions::default()).await;
        match third {
            Err(Error::InvalidHandshake {
                status: Some(status),
                ..
            }) => assert_eq!(status.as_u16(), 503),
            Err(e) => panic!("expected 503, got {e}"),
            Ok(_) => panic!("a third connection was accepted"),
        }
        assert_eq!(listener.connection_count(), 2);
        // A slot frees up when a connection ends.
        a.close(None, None).await.unwrap();
        eventually("one connection", || listener.connection_count() == 1).await;
        let mut admitted = None;
        for _ in 0..100 {
            // The slot is released right after the registry entry: allow for that instant.
            match connect(&format!("ws://{addr}/probe"), &ConnectOptions::default()).await {
                Ok((ws, driver, _)) => {
                    tokio::spawn(driver);
                    admitted = Some(ws);
                    break;
                }
                Err(Error::InvalidHandshake {
                    status: Some(status),
                    ..
                }) if status.as_u16() == 503 => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        let c = admitted.expect("never admitted after a slot freed up");
        c.send(Message::text("in")).await.unwrap();
        assert_eq!(recv_text(&c).await, "in");
    })
    .await;
}

#[tokio::test]
async fn oversized_frame_closes_with_1009_before_its_payload_arrives() {
    bounded(async {
        let (_listener, addr, mut notes) = start(ListenerConfig::default()).await;
        let mut peer = RawPeer::connect(addr, "/probe?label=big", None).await;
        notes.expect("big open").await;
        // A binary frame header announcing 1 MB (the service allows 64 KiB frames); no payload.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&1_000_000u64.to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0]);
        peer.write_raw(&header).await;
        assert_eq!(peer.close_code().await.0, 1009);
        notes.expect("big error payload too large").await;
    })
    .await;
}

#[tokio::test]
async fn oversized_compressed_message_closes_with_1009() {
    bounded(async {
        let (listener, addr, mut notes) = start(ListenerConfig::default()).await;
        // A compression bomb: 8 MiB of zeros deflate to a few KiB, sent in 1 KiB fragments, to
        // a service that takes messages of at most 64 KiB after inflation.
        let mut options = ConnectOptions::with_compression();
        options.conn.max_send_frame_size = 1024;
        let (ws, driver, _) = connect(&format!("ws://{addr}/probe?label=bomb"), &options)
            .await
            .unwrap();
        tokio::spawn(driver);
        assert!(ws.deflate().is_some(), "compression was not negotiated");
        notes.expect("bomb open").await;
        ws.send(Message::binary(vec![0u8; 8 << 20])).await.unwrap();
        match ws.recv().await {
            Ok(Incoming::Close(Some(frame))) => assert_eq!(frame.code.as_u16(), 1009),
            other => panic!("expected close 1009, got {other:?}"),
        }
        notes.expect("bomb error payload too large").await;
        eventually("the connection to end", || listener.connection_count() == 0).await;
        assert!(
            !notes.seen().iter().any(|n| n.starts_with("bomb binary")),
            "the bomb reached the handler: {:?}",
            notes.seen()
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Keepalive.

#[tokio::test]
async fn keepalive_closes_a_dead_peer_with_1011() {
    bounded(async {
        let config = ListenerConfig::default().keepalive(keepalive(200, 400));
        let (listener, addr, mut notes) = start(config).await;
        // Completes the handshake, then never answers anything.
        let mut dead = RawPeer::connect(addr, "/probe?label=dead", None).await;
        notes.expect("dead open").await;
        assert_eq!(
            dead.next().await,
            Some(Frame::Ping(bytes::Bytes::from_static(b"keepalive")))
        );
        let (_, close) = dead.read_to_close().await;
        assert_eq!(
            close,
            Some(Some(CloseFrame::new(
                CloseCode::INTERNAL_ERROR,
                "keepalive ping timeout"
            )))
        );
        eventually("the connection count back to 0", || {
            listener.connection_count() == 0
        })
        .await;
    })
    .await;
}

/// A connection the runtime itself closes (here: keepalive) is reported to the service, so a
/// peer that vanished silently leaves a trace in `on_close`.
#[tokio::test]
async fn keepalive_timeout_is_reported_to_the_service() {
    bounded(async {
        let config = ListenerConfig::default().keepalive(keepalive(200, 400));
        let (listener, addr, mut notes) = start(config).await;
        let mut dead = RawPeer::connect(addr, "/probe?label=dead", None).await;
        notes.expect("dead open").await;
        let (_, close) = dead.read_to_close().await;
        assert_eq!(
            close.flatten().map(|f| f.code),
            Some(CloseCode::INTERNAL_ERROR)
        );
        eventually("the connection count back to 0", || {
            listener.connection_count() == 0
        })
        .await;
        let note = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let seen = notes.seen().to_vec();
                if let Some(n) = seen
                    .iter()
                    .find(|n| n.starts_with("dead close") || n.starts_with("dead error"))
                {
                    return n.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the service never heard that its connection ended");
        assert!(note.contains("1011") || note.contains("1006"), "{note}");
    })
    .await;
}

#[tokio::test]
async fn keepalive_keeps_a_live_peer() {
    bounded(async {
        // A short interval and a generous pong deadline (a loaded machine may answer late).
        let config = ListenerConfig::default().keepalive(keepalive(100, 5000));
        let (listener, addr, _notes) = start(config).await;
        let mut conn = ConnConfig::default();
        conn.auto_pong = false; // pings reach recv(); this test answers them itself
        let ws = client(addr, "/probe", conn).await;
        let mut pings = 0;
        while pings < 8 {
            match ws.recv().await.unwrap() {
                Incoming::Ping(payload) => {
                    ws.pong(payload).await.unwrap();
                    pings += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Eight intervals later the connection is still open and working.
        assert_eq!(listener.connection_count(), 1);
        ws.send(Message::text("alive")).await.unwrap();
        loop {
            match ws.recv().await.unwrap() {
                Incoming::Ping(payload) => ws.pong(payload).await.unwrap(),
                Incoming::Message(m) => {
                    assert_eq!(m, Message::text("alive"));
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(ws.is_open());
    })
    .await;
}

#[tokio::test]
async fn keepalive_can_be_switched_off() {
    bounded(async {
        let (off, off_addr, _n1) = start(ListenerConfig::default().keepalive(None)).await;
        let (_on, on_addr, _n2) =
            start(ListenerConfig::default().keepalive(keepalive(100, 300))).await;
        let mut quiet = RawPeer::connect(off_addr, "/probe", None).await;
        let mut pinged = RawPeer::connect(on_addr, "/probe", None).await;
        // The clock for "long enough": the same dead peer under keepalive is pinged and closed.
        assert!(matches!(pinged.next().await, Some(Frame::Ping(_))));
        assert_eq!(pinged.close_code().await.0, 1011);
        // Meanwhile nothing at all reached the peer of the listener without keepalive...
        let mut byte = [0u8; 1];
        match quiet.tcp.try_read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("expected nothing to read, got {other:?}"),
        }
        // ... and it is still open: its next frame is the echo, not a ping or a close.
        assert_eq!(off.connection_count(), 1);
        quiet.send(Message::text("still here")).await;
        assert_eq!(
            quiet.next().await,
            Some(Frame::Message(Message::text("still here")))
        );
    })
    .await;
}

/// A "server" that completes the opening handshake and then never reads or writes again.
async fn dead_server() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let key = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .expect("no key");
        let accept = ws_framework::handshake::accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        tcp.write_all(response.as_bytes()).await.unwrap();
        // Holds the socket open, silent, until the test is done.
        let _ = released.await;
        drop(tcp);
    });
    (addr, release)
}

#[tokio::test]
async fn client_keepalive_closes_a_dead_server_with_1011() {
    bounded(async {
        let (addr, _release) = dead_server().await;
        let client = Client::builder(format!("ws://{addr}/"))
            .compression(false)
            .keepalive(keepalive(100, 300))
            .connect()
            .await
            .unwrap();
        let err = client.read().await.unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::INTERNAL_ERROR), "{err}");
        assert!(err.to_string().contains("keepalive ping timeout"), "{err}");
        assert!(!client.is_open());
    })
    .await;
}

/// Answers pings itself (so it sees them) and notes each; echoes text.
struct PingCounter;

impl Service for PingCounter {
    type State = ProbeState;
    const HANDLERS: Handlers = Handlers::NONE.with_ping();

    fn config() -> ServiceConfig {
        ServiceConfig::new("/pings")
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<ProbeState>) -> Result<Self, UpgradeError> {
        Ok(PingCounter)
    }

    async fn handle(&mut self, _: &Caller, state: &Arc<ProbeState>, event: Event) -> Reply {
        match event {
            Event::Ping(p) => {
                let _ = state.0.send("ping".to_owned());
                Reply::Pong(p)
            }
            Event::Text(t) => Reply::Text(t),
            _ => Reply::None,
        }
    }
}

#[tokio::test]
async fn client_keepalive_keeps_a_live_connection() {
    bounded(async {
        let (tx, mut notes) = Notes::channel();
        let listener =
            Listener::bind_with("127.0.0.1:0", ListenerConfig::default().keepalive(None))
                .await
                .unwrap();
        listener.attach_with::<PingCounter>(ProbeState(tx)).unwrap();
        listener.start().unwrap();
        let client = Client::builder(format!("ws://{}/pings", listener.local_addr()))
            .keepalive(keepalive(100, 5000))
            .connect()
            .await
            .unwrap();
        for _ in 0..5 {
            notes.expect("ping").await;
        }
        assert!(client.is_open());
        client.write_text("alive").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "alive");
        assert_eq!(listener.connection_count(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Faults: vanished peers, panics.

#[tokio::test]
async fn peer_vanishing_mid_message_ends_in_on_close_1006() {
    bounded(async {
        let (listener, addr, mut notes) = start(ListenerConfig::default()).await;
        // One resets TCP (RST), one just closes it (FIN), both halfway through a message.
        for (label, reset) in [("rst", true), ("fin", false)] {
            let mut peer = RawPeer::connect(addr, &format!("/probe?label={label}"), None).await;
            notes.expect(&format!("{label} open")).await;
            peer.send_first_fragment("half a mess").await;
            peer.sync().await; // the server has read the fragment: it is mid-message
            if reset {
                peer.reset();
            } else {
                drop(peer);
            }
            let note = notes.expect(&format!("{label} close")).await;
            assert!(note.starts_with(&format!("{label} close 1006")), "{note}");
        }
        eventually("the connection count back to 0", || {
            listener.connection_count() == 0
        })
        .await;
        let seen = notes.seen().to_vec();
        assert!(
            !seen.iter().any(|n| n.contains(" text ")),
            "a partial message was dispatched: {seen:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn panicking_handlers_close_only_their_connection() {
    bounded(async {
        let (listener, addr, mut notes) = start(ListenerConfig::default()).await;
        let mut peers = Vec::new();
        for i in 0..6 {
            peers.push(RawPeer::connect(addr, &format!("/probe?label=p{i}"), None).await);
        }
        let mut on_open = RawPeer::connect(addr, "/probe?label=po&panic-open", None).await;
        let mut on_close = RawPeer::connect(addr, "/probe?label=pc&panic-close", None).await;
        eventually("eight connections", || listener.connection_count() == 8).await;
        // Every other peer makes its handler panic.
        for peer in peers.iter_mut().step_by(2) {
            peer.send(Message::text("panic")).await;
        }
        for peer in peers.iter_mut().step_by(2) {
            assert_eq!(peer.close_code().await.0, 1011);
        }
        // A panic in on_open closes that connection with 1011 too.
        assert_eq!(on_open.close_code().await.0, 1011);
        // A panic in on_close (after the peer's close) ends only that connection.
        on_close
            .send_close(Some(CloseFrame::new(1000, "bye")))
            .await;
        notes.expect("pc close 1000 bye").await;
        let _ = on_close.read_to_close().await;
        eventually("the panicked connections to end", || {
            listener.connection_count() == 3
        })
        .await;
        // The others never noticed.
        for (i, peer) in peers.iter_mut().enumerate().skip(1).step_by(2) {
            let text = format!("p{i} fine");
            peer.send(Message::text(text.clone())).await;
            assert_eq!(peer.next().await, Some(Frame::Message(Message::text(text))));
        }
        assert_eq!(listener.connection_count(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_panicking_upgrade_hook_answers_500() {
    bounded(async {
        let (listener, addr, _notes) = start(ListenerConfig::default()).await;
        for _ in 0..3 {
            let head = match RawPeer::try_connect(addr, "/probe?panic", None).await {
                Ok(_) => panic!("upgraded despite the panic"),
                Err(head) => head,
            };
            assert!(head.starts_with("HTTP/1.1 500"), "{head}");
        }
        let mut peer = RawPeer::connect(addr, "/probe", None).await;
        peer.send(Message::text("served")).await;
        assert_eq!(
            peer.next().await,
            Some(Frame::Message(Message::text("served")))
        );
        assert_eq!(listener.connection_count(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown.

#[tokio::test]
async fn graceful_stop_with_connections_mid_message() {
    bounded(async {
        let config = ListenerConfig::default().shutdown_timeout(Duration::from_secs(5));
        let (listener, addr, mut notes) = start(config).await;
        // An idle, well-behaved client.
        let idle = client(addr, "/probe?label=idle", ConnConfig::default()).await;
        // A peer with a small receive window that asks for 8 MB and does not read yet: the
        // server is mid-send when the stop begins (more than the kernel buffers can hold).
        let mut receiver = RawPeer::connect(addr, "/probe?label=recv", Some(4096)).await;
        // A peer halfway through sending a message, which will never answer a close.
        let mut sender = RawPeer::connect(addr, "/probe?label=send", None).await;
        for label in ["idle", "recv", "send"] {
            notes.expect(&format!("{label} open")).await;
        }
        sender.send_first_fragment("the first half").await;
        sender.sync().await;
        receiver.send(Message::text("big 8000000")).await;
        let hub = listener.hub().clone();
        eventually("the server to be mid-send", || {
            hub.connections()
                .iter()
                .any(|c| c.websocket().buffered_amount() > 0)
        })
        .await;

        let stopper = listener.clone();
        let stop = tokio::spawn(async move { stopper.graceful_stop().await });

        // The receiver gets the whole message, then 1001, and answers it.
        let (messages, close) = receiver.read_and_answer_close().await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].len(), 8_000_000);
        assert!(messages[0].as_bytes().iter().all(|&x| x == 7));
        assert_eq!(close.flatten().map(|f| f.code), Some(CloseCode::GOING_AWAY));
        // The idle client's driver answers by itself.
        match idle.recv().await.unwrap() {
            Incoming::Close(Some(f)) => assert_eq!(f.code, CloseCode::GOING_AWAY),
            other => panic!("expected close 1001, got {other:?}"),
        }
        // The silent sender is told 1001, never answers, and is cut at the deadline.
        let (_, close) = sender.read_to_close().await;
        assert_eq!(close.flatten().map(|f| f.code), Some(CloseCode::GOING_AWAY));
        stop.await.unwrap();
        // graceful_stop returns when done: nothing is left open.
        assert_eq!(listener.connection_count(), 0, "open after graceful_stop");
        // The service hears of the connection that was cut (closes this side started and the
        // peer answered are not dispatched to on_close).
        notes.expect("send close 1006").await;
        // No new connections.
        assert!(
            connect(&format!("ws://{addr}/probe"), &ConnectOptions::default())
                .await
                .is_err()
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Leaks.

#[tokio::test]
async fn no_task_or_connection_leaks_after_faults() {
    bounded(async {
        let config = ListenerConfig::default().request_timeout(Duration::from_millis(500));
        let (listener, addr, mut notes) = start(config).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        // The accept loop is running; nothing else of the listener is.
        let baseline = metrics.num_alive_tasks();

        for round in 0..3 {
            let label = |what: &str| format!("/probe?label=r{round}{what}");
            // Resets before and during the upgrade request.
            tcp(addr, None).await.set_zero_linger().unwrap();
            {
                let mut t = tcp(addr, None).await;
                t.write_all(&upgrade_request("/probe").as_bytes()[..40])
                    .await
                    .unwrap();
                t.set_zero_linger().unwrap();
            }
            // A slow-loris request left hanging (cut by the request timeout).
            let mut loris = tcp(addr, None).await;
            loris
                .write_all(&upgrade_request("/probe").as_bytes()[..30])
                .await
                .unwrap();
            // Refused upgrades: unknown path, panicking hook.
            assert!(RawPeer::try_connect(addr, "/nowhere", None).await.is_err());
            assert!(RawPeer::try_connect(addr, "/probe?panic", None)
                .await
                .is_err());
            // Reset right after the handshake, and reset / vanished mid-message.
            RawPeer::connect(addr, &label("a"), None).await.reset();
            let mut p = RawPeer::connect(addr, &label("b"), None).await;
            p.send_first_fragment("half").await;
            p.sync().await;
            p.reset();
            let mut p = RawPeer::connect(addr, &label("c"), None).await;
            p.send_first_fragment("half").await;
            p.sync().await;
            drop(p);
            // Protocol errors: an unmasked frame (1002), invalid UTF-8 (1007).
            let mut p = RawPeer::connect(addr, &label("d"), None).await;
            p.write_raw(&[0x81, 0x02, b'h', b'i']).await;
            assert_eq!(p.close_code().await.0, 1002);
            let mut p = RawPeer::connect(addr, &label("e"), None).await;
            p.write_raw(&[0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]).await;
            assert_eq!(p.close_code().await.0, 1007);
            // Panicking handlers.
            let mut p = RawPeer::connect(addr, &label("f"), None).await;
            p.send(Message::text("panic")).await;
            assert_eq!(p.close_code().await.0, 1011);
            let mut p = RawPeer::connect(addr, &format!("{}&panic-close", label("g")), None).await;
            p.send_close(Some(CloseFrame::new(1000, ""))).await;
            let _ = p.read_to_close().await;
            // A peer that leaves with an oversized frame header.
            let mut p = RawPeer::connect(addr, &label("h"), None).await;
            p.write_raw(&[0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0])
                .await;
            assert_eq!(p.close_code().await.0, 1009);
            // And a well-behaved client, for contrast.
            let ws = client(addr, &label("ok"), ConnConfig::default()).await;
            ws.close(Some(CloseFrame::new(1000, "done")), None)
                .await
                .unwrap();
            // The hanging request is cut off.
            let mut rest = Vec::new();
            let _ = loris.read_to_end(&mut rest).await;
            notes.expect(&format!("r{round}c close 1006")).await;
        }

        eventually("the connection count back to 0", || {
            listener.connection_count() == 0
        })
        .await;
        let mut alive = metrics.num_alive_tasks();
        for _ in 0..3000 {
            alive = metrics.num_alive_tasks();
            if alive <= baseline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            alive, baseline,
            "tasks still alive after the faults (baseline {baseline})"
        );
    })
    .await;
}
