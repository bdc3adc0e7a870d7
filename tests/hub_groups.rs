//! Groups and broadcast over 127.0.0.1: membership, fan-out order, exclusion, filters, a stalled
//! member, and no entry left behind.

use std::sync::Arc;
use std::time::Duration;
use ws_framework::conn::ConnConfig;
use ws_framework::stream::{connect, ConnectOptions};
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, Message, Overflow, Reply, Service, ServiceConfig,
    UpgradeError, UpgradeRequest, WebSocket,
};

const LIMIT: Duration = Duration::from_secs(60);

/// Text commands: `join R`, `leave R`, `say R TEXT` (to the room except the sender),
/// `all TEXT`, `vip R TEXT` (members whose `tier` attribute is "vip").
struct Rooms;

impl Service for Rooms {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/rooms").write_buffer_limit(16 << 10)
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        Ok(Rooms)
    }

    async fn handle(&mut self, caller: &Caller, _: &Arc<()>, event: Event) -> Reply {
        let Event::Text(text) = event else {
            return Reply::None;
        };
        let mut words = text.splitn(3, ' ');
        let (cmd, arg, rest) = (
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
        );
        match cmd {
            "join" => {
                caller.join(arg).unwrap();
                Reply::Text(format!("joined {arg}").into())
            }
            "leave" => {
                caller.leave(arg);
                Reply::Text(format!("left {arg}").into())
            }
            "tier" => {
                caller.set_attribute("tier", arg.to_owned());
                Reply::Text("ok".into())
            }
            "say" => {
                let d = caller
                    .group(arg)
                    .except(caller.id())
                    .send_text(rest.to_owned())
                    .await;
                Reply::Text(format!("delivered {} skipped {}", d.delivered, d.skipped).into())
            }
            "drop" => {
                let d = caller
                    .group(arg)
                    .except(caller.id())
                    .overflow(Overflow::Drop)
                    .send_text(rest.to_owned())
                    .await;
                Reply::Text(format!("delivered {} skipped {}", d.delivered, d.skipped).into())
            }
            "vip" => {
                let d = caller
                    .group(arg)
                    .filter(|c| c.attribute::<String>("tier").as_deref() == Some("vip"))
                    .send_text(rest.to_owned())
                    .await;
                Reply::Text(format!("delivered {} skipped {}", d.delivered, d.skipped).into())
            }
            _ => Reply::None,
        }
    }
}

async fn start() -> (Listener, String) {
    let listener = Listener::bind("127.0.0.1:0").await.unwrap();
    listener.attach::<Rooms>().unwrap();
    listener.start().unwrap();
    let url = format!("ws://{}/rooms", listener.local_addr());
    (listener, url)
}

async fn client(url: &str) -> WebSocket {
    let mut options = ConnectOptions::default();
    options.conn = ConnConfig::default();
    let (ws, driver, _) = connect(url, &options).await.unwrap();
    tokio::spawn(driver);
    ws
}

async fn text(ws: &WebSocket) -> String {
    match ws.recv().await.unwrap() {
        Incoming::Message(Message::Text(t)) => t.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn command(ws: &WebSocket, cmd: &str) -> String {
    ws.send(Message::text(cmd)).await.unwrap();
    text(ws).await
}

#[tokio::test]
async fn join_leave_and_close_end_membership() {
    tokio::time::timeout(LIMIT, async {
        let (listener, url) = start().await;
        let a = client(&url).await;
        let b = client(&url).await;
        assert_eq!(command(&a, "join lobby").await, "joined lobby");
        assert_eq!(command(&b, "join lobby").await, "joined lobby");
        assert_eq!(listener.hub().members("lobby").len(), 2);
        assert_eq!(command(&b, "leave lobby").await, "left lobby");
        assert_eq!(listener.hub().members("lobby").len(), 1);
        a.close(None, None).await.unwrap();
        // The server side unregisters when its connection task ends.
        for _ in 0..200 {
            if listener.hub().members("lobby").is_empty() && listener.connection_count() == 1 {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(listener.hub().members("lobby").is_empty());
        assert!(listener.hub().group_names().is_empty());
        assert_eq!(listener.connection_count(), 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn broadcast_to_1000_members_arrives_everywhere_in_order_without_the_sender() {
    tokio::time::timeout(LIMIT, async {
        let (_listener, url) = start().await;
        let mut members = Vec::new();
        for _ in 0..1000 {
            let ws = client(&url).await;
            assert_eq!(command(&ws, "join big").await, "joined big");
            members.push(ws);
        }
        let sender = &members[0];
        for i in 0..20 {
            let report = command(sender, &format!("say big m{i}")).await;
            assert_eq!(report, "delivered 999 skipped 0");
        }
        for ws in &members[1..] {
            for i in 0..20 {
                assert_eq!(text(ws).await, format!("m{i}"));
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_filter_on_attributes_picks_the_audience() {
    tokio::time::timeout(LIMIT, async {
        let (_listener, url) = start().await;
        let vip = client(&url).await;
        let plain = client(&url).await;
        for ws in [&vip, &plain] {
            assert_eq!(command(ws, "join club").await, "joined club");
        }
        assert_eq!(command(&vip, "tier vip").await, "ok");
        assert_eq!(
            command(&plain, "vip club hello vips").await,
            "delivered 1 skipped 0"
        );
        assert_eq!(text(&vip).await, "hello vips");
        // The plain member got nothing: its next message is the answer to its own command.
        assert_eq!(command(&plain, "leave club").await, "left club");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_stalled_member_is_skipped_and_does_not_hold_up_the_others() {
    tokio::time::timeout(LIMIT, async {
        let (_listener, url) = start().await;
        let sender = client(&url).await;
        let reader = client(&url).await;
        // The stalled member: a raw TCP connection that completes the handshake and never reads.
        let stalled = {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let addr = url.trim_start_matches("ws://").trim_end_matches("/rooms").to_owned();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut tcp = socket.connect(addr.parse().unwrap()).await.unwrap();
            let req = "GET /rooms HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
            tcp.write_all(req.as_bytes()).await.unwrap();
            let mut head = [0u8; 129];
            let n = tcp.read(&mut head).await.unwrap();
            assert!(head[..n].starts_with(b"HTTP/1.1 101"));
            // "join slow", masked with a zero key.
            let mut frame = vec![0x81, 0x80 | 9, 0, 0, 0, 0];
            frame.extend_from_slice(b"join slow");
            tcp.write_all(&frame).await.unwrap();
            tcp
        };
        assert_eq!(command(&reader, "join slow").await, "joined slow");
        // Wait until the stalled member is in the room.
        let payload = "x".repeat(8 << 10);
        let mut skipped_seen = false;
        for i in 0..2000 {
            let report = command(&sender, &format!("drop slow {i} {payload}")).await;
            // The reader always gets it; the stalled one drops out once its buffers are full.
            let got = text(&reader).await;
            assert!(got.starts_with(&format!("{i} ")), "reader got {} instead of message {i}", &got[..10]);
            if report.ends_with("skipped 1") {
                skipped_seen = true;
                break;
            }
        }
        assert!(skipped_seen, "the stalled member was never skipped");
        drop(stalled);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn no_registry_or_group_entry_survives_10000_connections() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (listener, url) = start().await;
        for _batch in 0..40 {
            let mut batch = Vec::new();
            for _ in 0..250 {
                batch.push(client(&url).await);
            }
            for ws in &batch {
                ws.send(Message::text("join churn")).await.unwrap();
            }
            for ws in &batch {
                assert_eq!(text(ws).await, "joined churn");
            }
            for ws in batch {
                ws.abort(); // some vanish without a close handshake
            }
        }
        for _ in 0..1000 {
            if listener.connection_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(listener.connection_count(), 0);
        assert!(listener.hub().group_names().is_empty());
    })
    .await
    .unwrap();
}
