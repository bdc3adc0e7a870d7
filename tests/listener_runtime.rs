//! The listener and the dispatch loop, driven through hand-written `Service` impls (what the
//! macros generate), against tokio-tungstenite as an independent client, over 127.0.0.1.

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCode;
use tokio_tungstenite::tungstenite::{Error as TError, Message as TMessage};
use ws_framework::{
    Caller, CloseCode, CloseFrame, Event, Handlers, Listener, Reply, Service, ServiceConfig,
    UpgradeError, UpgradeRequest,
};

const LIMIT: Duration = Duration::from_secs(15);

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: String) -> Client {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake")
        .0
}

async fn status_of(url: String) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Err(TError::Http(resp)) => resp.status().as_u16(),
        Ok(_) => 101,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Reads until a close frame, then on until the server closes TCP (which also sends
/// tungstenite's close reply); returns the code and reason received.
async fn read_close(client: &mut Client) -> (u16, String) {
    let mut seen = None;
    while let Some(m) = client.next().await {
        match m {
            Ok(TMessage::Close(Some(f))) => seen = Some((u16::from(f.code), f.reason.to_string())),
            Ok(TMessage::Close(None)) => seen = Some((1005, String::new())),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    seen.unwrap_or((1006, String::new()))
}

async fn start<S: Service>(state: S::State) -> (Listener, String) {
    let listener = Listener::bind("127.0.0.1:0").await.unwrap();
    listener.attach_with::<S>(state).unwrap();
    listener.start().unwrap();
    let base = format!("ws://{}", listener.local_addr());
    (listener, base)
}

// ---------------------------------------------------------------------------------------------

/// Echo with the behaviours the tests poke at, driven by the text it receives.
struct Echo {
    room: String,
}

impl Service for Echo {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/echo/{room}").protocols(["xml", "json"])
    }

    async fn upgrade(req: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        match req.query("reject").as_deref() {
            Some("auth") => return Err(UpgradeError::unauthorized("who are you?")),
            Some("forbid") => return Err(UpgradeError::forbidden("not you")),
            Some("panic") => panic!("upgrade hook panicked on purpose"),
            Some(other) => return Err(UpgradeError::from(format!("rejected: {other}"))),
            None => {}
        }
        if let Some(session) = req.cookie("session").map(str::to_owned) {
            req.add_response_header(
                ws_framework::http::header::SET_COOKIE,
                ws_framework::http::HeaderValue::from_str(&format!("seen={session}")).unwrap(),
            );
        }
        Ok(Echo {
            room: req.path_param("room").unwrap_or_default().to_owned(),
        })
    }

    async fn handle(&mut self, caller: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(t) => match t.as_str() {
                "room" => Reply::Text(self.room.clone().into()),
                "protocol" => Reply::Text(caller.protocol().unwrap_or("none").to_owned().into()),
                "panic" => panic!("handler panicked on purpose"),
                "close" => Reply::Close(CloseFrame::new(4444, "Invalid User")),
                "bad close" => Reply::Close(CloseFrame::new(5555, "not a valid code")),
                "bind" => Reply::BindingFailed("expected a number".into()),
                "slow" => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Reply::Text("slow done".into())
                }
                _ => Reply::Text(t),
            },
            Event::Binary(b) => Reply::Binary(b),
            _ => Reply::None,
        }
    }
}

#[tokio::test]
async fn echo_text_and_binary_in_order_on_port_zero() {
    tokio::time::timeout(LIMIT, async {
        let (listener, base) = start::<Echo>(()).await;
        assert_ne!(listener.local_addr().port(), 0);
        let mut c = open(format!("{base}/echo/r1")).await;
        for i in 0..50 {
            c.send(TMessage::text(format!("m{i}"))).await.unwrap();
        }
        c.send(TMessage::binary(vec![5u8, 24, 56])).await.unwrap();
        for i in 0..50 {
            assert_eq!(
                c.next().await.unwrap().unwrap(),
                TMessage::text(format!("m{i}"))
            );
        }
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            TMessage::binary(vec![5u8, 24, 56])
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn path_parameters_reach_the_upgrade_hook() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut c = open(format!("{base}/echo/blue%20room")).await;
        c.send(TMessage::text("room")).await.unwrap();
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            TMessage::text("blue room")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn upgrade_errors_become_http_statuses() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        assert_eq!(status_of(format!("{base}/echo/r?reject=yes")).await, 400);
        assert_eq!(status_of(format!("{base}/echo/r?reject=auth")).await, 401);
        assert_eq!(status_of(format!("{base}/echo/r?reject=forbid")).await, 403);
        assert_eq!(status_of(format!("{base}/unknown")).await, 404);
        assert_eq!(status_of(format!("{base}/echo/r/extra")).await, 404);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_panicking_upgrade_hook_gives_500_and_the_listener_keeps_serving() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        assert_eq!(status_of(format!("{base}/echo/r?reject=panic")).await, 500);
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("still here")).await.unwrap();
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            TMessage::text("still here")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_panicking_handler_closes_only_its_connection_with_1011() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut other = open(format!("{base}/echo/r")).await;
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("panic")).await.unwrap();
        assert_eq!(read_close(&mut c).await.0, 1011);
        other.send(TMessage::text("unaffected")).await.unwrap();
        assert_eq!(
            other.next().await.unwrap().unwrap(),
            TMessage::text("unaffected")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn sub_protocol_is_the_first_client_choice_the_service_speaks() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut req = format!("{base}/echo/r").into_client_request().unwrap();
        req.headers_mut()
            .insert("sec-websocket-protocol", "json, xml".parse().unwrap());
        let (mut c, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(resp.headers()["sec-websocket-protocol"], "json");
        c.send(TMessage::text("protocol")).await.unwrap();
        assert_eq!(c.next().await.unwrap().unwrap(), TMessage::text("json"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_upgrade_hook_sees_cookies_and_adds_response_headers() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut req = format!("{base}/echo/r").into_client_request().unwrap();
        req.headers_mut()
            .insert("cookie", "session=abc123; other=1".parse().unwrap());
        let (_c, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(resp.headers()["set-cookie"], "seen=abc123");
        assert_eq!(resp.headers()["server"], "ws-framework");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_returned_close_frame_reaches_the_client() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("close")).await.unwrap();
        assert_eq!(read_close(&mut c).await, (4444, "Invalid User".to_owned()));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_invalid_returned_close_code_drops_tcp_without_a_close_frame() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("bad close")).await.unwrap();
        assert_eq!(read_close(&mut c).await.0, 1006);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_binding_failure_without_handlers_closes_with_1003() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("bind")).await.unwrap();
        assert_eq!(
            read_close(&mut c).await,
            (1003, "data binding failed: expected a number".to_owned())
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn pings_are_answered_while_a_handler_runs() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let mut c = open(format!("{base}/echo/r")).await;
        c.send(TMessage::text("slow")).await.unwrap();
        c.send(TMessage::Ping(b"are you there".to_vec().into()))
            .await
            .unwrap();
        // The pong overtakes the slow handler's reply.
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            TMessage::Pong(b"are you there".to_vec().into())
        );
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            TMessage::text("slow done")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn request_limits_answer_414_and_431() {
    tokio::time::timeout(LIMIT, async {
        let (_l, base) = start::<Echo>(()).await;
        let long = "a".repeat(5000);
        assert_eq!(status_of(format!("{base}/echo/r?x={long}")).await, 414);
        let mut req = format!("{base}/echo/r").into_client_request().unwrap();
        req.headers_mut()
            .insert("x-big", "b".repeat(9000).parse().unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Err(TError::Http(resp)) => assert_eq!(resp.status(), 431),
            other => panic!("expected 431, got {other:?}"),
        }
    })
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------------

/// Records lifecycle events for the tests to observe; shares the channel through its state.
struct Recorder;

struct Events(mpsc::UnboundedSender<String>);

impl Service for Recorder {
    type State = Events;
    const HANDLERS: Handlers = Handlers::NONE.with_idle_timeout();

    fn config() -> ServiceConfig {
        ServiceConfig::new("/rec").idle_timeout(Duration::from_millis(200))
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<Events>) -> Result<Self, UpgradeError> {
        Ok(Recorder)
    }

    async fn handle(&mut self, _caller: &Caller, events: &Arc<Events>, event: Event) -> Reply {
        let note = match &event {
            Event::Open => "open".to_owned(),
            Event::Text(t) if t.as_str() == "idle-close" => return Reply::None,
            Event::Text(t) => format!("text {t}"),
            Event::Close { code, reason } => format!("close {code} {reason}"),
            Event::IdleTimeout => "idle".to_owned(),
            other => format!("{other:?}"),
        };
        let _ = events.0.send(note);
        if matches!(event, Event::IdleTimeout) {
            return Reply::Close(CloseFrame::new(CloseCode::NORMAL, "idle"));
        }
        Reply::None
    }
}

#[tokio::test]
async fn on_open_runs_first_and_peer_close_reaches_on_close() {
    tokio::time::timeout(LIMIT, async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_l, base) = start::<Recorder>(Events(tx)).await;
        let mut c = open(format!("{base}/rec")).await;
        c.send(TMessage::text("hi")).await.unwrap();
        c.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: TCode::Away,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        assert_eq!(rx.recv().await.unwrap(), "open");
        assert_eq!(rx.recv().await.unwrap(), "text hi");
        assert_eq!(rx.recv().await.unwrap(), "close 1001 bye");
        assert_eq!(read_close(&mut c).await.0, 1001);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn idle_timeout_calls_the_handler_which_may_close() {
    tokio::time::timeout(LIMIT, async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_l, base) = start::<Recorder>(Events(tx)).await;
        let mut c = open(format!("{base}/rec")).await;
        assert_eq!(rx.recv().await.unwrap(), "open");
        assert_eq!(rx.recv().await.unwrap(), "idle");
        assert_eq!(read_close(&mut c).await, (1000, "idle".to_owned()));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_vanished_peer_ends_in_on_close_with_1006() {
    tokio::time::timeout(LIMIT, async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_l, base) = start::<Recorder>(Events(tx)).await;
        let c = open(format!("{base}/rec")).await;
        assert_eq!(rx.recv().await.unwrap(), "open");
        drop(c); // TCP goes away without a close frame
        let note = rx.recv().await.unwrap();
        assert!(note.starts_with("close 1006"), "{note}");
    })
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------------

struct Root;
struct Deep;

static ROOT_HITS: AtomicUsize = AtomicUsize::new(0);

impl Service for Root {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;
    fn config() -> ServiceConfig {
        ServiceConfig::new("/svc/*")
    }
    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        ROOT_HITS.fetch_add(1, Ordering::SeqCst);
        Ok(Root)
    }
    async fn handle(&mut self, _: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(_) => Reply::Text("root".into()),
            _ => Reply::None,
        }
    }
}

impl Service for Deep {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;
    fn config() -> ServiceConfig {
        ServiceConfig::new("/svc/a/b")
    }
    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        Ok(Deep)
    }
    async fn handle(&mut self, _: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(_) => Reply::Text("deep".into()),
            _ => Reply::None,
        }
    }
}

async fn ask(url: String) -> String {
    let mut c = open(url).await;
    c.send(TMessage::text("who")).await.unwrap();
    c.next()
        .await
        .unwrap()
        .unwrap()
        .into_text()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn several_services_on_one_listener_the_most_specific_path_wins() {
    tokio::time::timeout(LIMIT, async {
        let listener = Listener::bind("127.0.0.1:0").await.unwrap();
        listener.attach::<Root>().unwrap();
        listener.attach::<Deep>().unwrap();
        assert!(
            listener.attach::<Deep>().is_err(),
            "the same path twice must be refused"
        );
        listener.start().unwrap();
        let base = format!("ws://{}", listener.local_addr());
        assert_eq!(ask(format!("{base}/svc/a/b")).await, "deep");
        assert_eq!(ask(format!("{base}/svc/a")).await, "root");
        assert_eq!(ask(format!("{base}/svc/x/y/z")).await, "root");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn detach_refuses_new_upgrades_and_leaves_open_connections_alone() {
    tokio::time::timeout(LIMIT, async {
        let server = ws_framework::testing::serve::<Deep>().await;
        let listener = server.listener();
        let base = format!("ws://{}", server.addr());
        let mut c = open(format!("{base}/svc/a/b")).await;
        listener.detach::<Deep>().unwrap();
        assert!(listener.detach::<Deep>().is_err());
        assert_eq!(status_of(format!("{base}/svc/a/b")).await, 404);
        c.send(TMessage::text("who")).await.unwrap();
        assert_eq!(c.next().await.unwrap().unwrap(), TMessage::text("deep"));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn graceful_stop_sends_1001_and_refuses_new_connections() {
    tokio::time::timeout(LIMIT, async {
        let listener = Listener::bind("127.0.0.1:0").await.unwrap();
        listener.attach::<Deep>().unwrap();
        listener.start().unwrap();
        let base = format!("ws://{}", listener.local_addr());
        let mut c = open(format!("{base}/svc/a/b")).await;
        let stopper = listener.clone();
        let stop = tokio::spawn(async move { stopper.graceful_stop().await });
        assert_eq!(read_close(&mut c).await.0, 1001);
        stop.await.unwrap();
        assert_eq!(listener.connection_count(), 0);
        assert!(tokio_tungstenite::connect_async(format!("{base}/svc/a/b"))
            .await
            .is_err());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn immediate_stop_cuts_connections() {
    tokio::time::timeout(LIMIT, async {
        let listener = Listener::bind("127.0.0.1:0").await.unwrap();
        listener.attach::<Deep>().unwrap();
        listener.start().unwrap();
        let base = format!("ws://{}", listener.local_addr());
        let mut c = open(format!("{base}/svc/a/b")).await;
        listener.immediate_stop();
        assert_eq!(read_close(&mut c).await.0, 1006);
    })
    .await
    .unwrap();
}

/// `Deep` at /svc/a/b, and a plain HTTP page at `/`.
async fn serve_deep_and_a_page() -> ws_framework::testing::TestServer {
    let server = ws_framework::testing::serve::<Deep>().await;
    server
        .listener()
        .http_route("/", |_req| async {
            ws_framework::http::Response::new(bytes::Bytes::from_static(b"<h1>hello</h1>"))
        })
        .unwrap();
    server
}

/// Sends one plain HTTP/1.1 request and returns the whole response as text.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn plain_http_routes_share_the_port_with_websocket_services() {
    tokio::time::timeout(LIMIT, async {
        // Routes may be added while the listener runs.
        let server = serve_deep_and_a_page().await;
        let addr = server.addr();
        let page = http_get(addr, "/").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.ends_with("<h1>hello</h1>"), "{page}");
        assert!(http_get(addr, "/nothing").await.starts_with("HTTP/1.1 404"));
        // A plain GET on a WebSocket path is told to upgrade.
        assert!(http_get(addr, "/svc/a/b").await.starts_with("HTTP/1.1 426"));
        assert_eq!(ask(format!("ws://{addr}/svc/a/b")).await, "deep");
    })
    .await
    .unwrap();
}

/// Writes `bytes` on a fresh connection and reads until `done` says the answer is complete (or
/// the server closes), bounded by `LIMIT`.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8], done: fn(&[u8]) -> bool) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !done(&seen) {
        let n = tcp.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&chunk[..n]);
    }
    seen
}

#[tokio::test]
async fn a_refused_upgrade_leaves_the_connection_open_for_more_requests() {
    tokio::time::timeout(LIMIT, async {
        let server = serve_deep_and_a_page().await;
        // No Sec-WebSocket-Key: refused with 400 by the service's admission; the request after
        // it, on the same connection, is still answered.
        let requests = "GET /svc/a/b HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                        Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n\
                        GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let seen = exchange(server.addr(), requests.as_bytes(), |_| false).await;
        let text = String::from_utf8_lossy(&seen);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        let second = text.find("HTTP/1.1 200").expect("a second response");
        assert!(text[..second].contains("content-length: "), "{text}");
        assert!(text[..second].contains(" GMT\r\n"), "a Date header: {text}");
        assert!(
            text[second..].contains("date: "),
            "hyper's answer too: {text}"
        );
        assert!(text.ends_with("<h1>hello</h1>"), "{text}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_refused_upgrade_closes_a_connection_that_is_not_persistent() {
    tokio::time::timeout(LIMIT, async {
        let server = serve_deep_and_a_page().await;
        // HTTP/1.0 without keep-alive, and HTTP/1.1 with `Connection: close`: the refusal says
        // `connection: close` and the connection ends (the read below stops at EOF; a server
        // waiting for another request would run into LIMIT).
        for (version, connection) in [("1.0", "Upgrade"), ("1.1", "Upgrade, close")] {
            let request = format!(
                "GET /svc/a/b HTTP/{version}\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                 Connection: {connection}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            let seen = exchange(server.addr(), request.as_bytes(), |_| false).await;
            let text = String::from_utf8_lossy(&seen);
            assert!(text.starts_with("HTTP/1.1 4"), "{text}");
            assert!(text.contains("connection: close\r\n"), "{text}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_not_lost() {
    tokio::time::timeout(LIMIT, async {
        let server = ws_framework::testing::serve::<Deep>().await;
        let mut bytes = b"GET /svc/a/b HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                          Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .to_vec();
        // A masked text frame "who" right behind the request, in the same write.
        let mask = [1u8, 2, 3, 4];
        bytes.extend_from_slice(&[0x81, 0x83]);
        bytes.extend_from_slice(&mask);
        bytes.extend(b"who".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let seen = exchange(server.addr(), &bytes, |seen| {
            seen.windows(6)
                .any(|w| w == [0x81, 0x04, b'd', b'e', b'e', b'p'])
        })
        .await;
        let text = String::from_utf8_lossy(&seen);
        assert!(text.starts_with("HTTP/1.1 101"), "{text}");
        assert!(text.contains("date: "), "{text}");
        assert!(
            text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the accept key of RFC 6455 1.3: {text}"
        );
        assert!(
            seen.ends_with(&[0x81, 0x04, b'd', b'e', b'e', b'p']),
            "{seen:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_listen_backlog_holds_a_burst_of_connections() {
    // Bound but not serving yet: every connection waits in the kernel's backlog, so a full
    // backlog never frees up. With tokio's own `TcpListener::bind` (128) the 130th handshake
    // is dropped, and every retry of it too: its `connect` never completes and the test runs
    // into LIMIT. The listener asks for 1024.
    let listener = ws_framework::Listener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr();
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let burst = 300.min(somaxconn.saturating_sub(1));
    let open = tokio::time::timeout(LIMIT, async {
        let mut open = Vec::with_capacity(burst);
        for _ in 0..burst {
            open.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        open
    })
    .await
    .unwrap_or_else(|_| panic!("not all {burst} connections were taken into the backlog"));
    assert_eq!(open.len(), burst);
}
