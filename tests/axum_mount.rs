//! Services served from other HTTP stacks: mounted on an axum `Router` (state through
//! `FromRef`, the router's path parameters), as a tower service (`route_service`), and on a bare
//! hyper connection (`WsService`, `upgrade_request`).

#![cfg(feature = "macros")]

use axum::extract::FromRef;
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use ws_framework::tower::{upgrade_request, MountConfig, WsService};
use ws_framework::{
    on_open, on_text, on_upgrade, ws_service, Caller, Client, Error, Hub, UpgradeError,
};

const LIMIT: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out")
}

/// The chat's shared state: how many connections were opened.
#[derive(Default)]
struct Rooms {
    opened: AtomicUsize,
}

/// Joins the room named by the path; relays text to the room; `whoami` answers with the
/// peer's address and path.
struct Chat {
    room: String,
}

#[ws_service("/chat/{room}", state = Rooms)]
impl Chat {
    #[on_upgrade]
    async fn upgrade(room: String) -> Result<Self, UpgradeError> {
        if room == "closed" {
            return Err(UpgradeError::forbidden("this room is closed"));
        }
        Ok(Chat { room })
    }

    #[on_open]
    async fn open(&self, caller: &Caller, #[state] rooms: &Rooms) -> String {
        rooms.opened.fetch_add(1, Ordering::SeqCst);
        caller.join(&self.room).unwrap();
        format!("joined {}", self.room)
    }

    #[on_text]
    async fn text(&self, caller: &Caller, text: String) -> Option<String> {
        if text == "whoami" {
            return Some(format!(
                "{} {} {}",
                caller.peer_addr().ip(),
                caller.path(),
                caller.is_secure()
            ));
        }
        caller
            .group(&self.room)
            .except(caller.id())
            .send_text(format!("{}: {text}", self.room))
            .await;
        None
    }
}

#[derive(Default)]
struct Echo;

#[ws_service("/echo")]
impl Echo {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

/// The router's state: the chat's `Arc<Rooms>` is taken from it through `FromRef`.
#[derive(Clone, FromRef)]
struct AppState {
    rooms: Arc<Rooms>,
    greeting: &'static str,
}

/// Serves `app` on 127.0.0.1:0 with `ConnectInfo`; the task is aborted by the caller.
async fn serve_axum(app: Router) -> (SocketAddr, JoinHandle<()>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(tcp, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    (addr, task)
}

/// One plain HTTP/1.1 request; the whole response as text.
async fn http(addr: SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn status_of(result: ws_framework::Result<Client>) -> Option<u16> {
    match result {
        Err(Error::InvalidHandshake { status, .. }) => status.map(|s| s.as_u16()),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => Some(101),
    }
}

#[tokio::test]
async fn axum_router_mounts_a_service_with_the_routers_state_and_params() {
    within(async {
        let rooms = Arc::new(Rooms::default());
        let app = Router::new()
            .route("/chat/{room}", ws_framework::axum::ws::<Chat, _>())
            // The same service at a path of the router's choosing: the parameters are the
            // router's.
            .route("/v2/rooms/{room}/ws", ws_framework::axum::ws::<Chat, _>())
            .route(
                "/",
                axum::routing::get(|axum::extract::State(greeting): axum::extract::State<&'static str>| async move { greeting }),
            )
            .with_state(AppState {
                rooms: rooms.clone(),
                greeting: "hello from axum",
            });
        let (addr, server) = serve_axum(app).await;

        let a1 = Client::connect(format!("ws://{addr}/chat/a")).await.unwrap();
        assert_eq!(a1.read_text().await.unwrap(), "joined a");
        let a2 = Client::connect(format!("ws://{addr}/v2/rooms/a/ws"))
            .await
            .unwrap();
        assert_eq!(a2.read_text().await.unwrap(), "joined a");
        let b = Client::connect(format!("ws://{addr}/chat/b")).await.unwrap();
        assert_eq!(b.read_text().await.unwrap(), "joined b");
        assert_eq!(rooms.opened.load(Ordering::SeqCst), 3, "the router's Arc");

        // Groups work across the connections of the mount.
        a1.write_text("hi").await.unwrap();
        assert_eq!(a2.read_text().await.unwrap(), "a: hi");
        b.write_text("whoami").await.unwrap();
        assert_eq!(b.read_text().await.unwrap(), "127.0.0.1 /chat/b false");
        a2.write_text("whoami").await.unwrap();
        assert_eq!(a2.read_text().await.unwrap(), "127.0.0.1 /v2/rooms/a/ws false");

        // The upgrade hook's refusal, a plain GET on the WebSocket route, the router's own
        // routes and 404s.
        assert_eq!(
            status_of(Client::connect(format!("ws://{addr}/chat/closed")).await),
            Some(403)
        );
        let plain = http(
            addr,
            "GET /chat/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
        let page = http(addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.ends_with("hello from axum"), "{page}");
        assert_eq!(
            status_of(Client::connect(format!("ws://{addr}/elsewhere")).await),
            Some(404)
        );
        a1.close(1000, "bye", None).await.unwrap();
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn axum_ws_with_takes_a_hub_and_the_state_may_be_the_routers_whole_state() {
    within(async {
        let hub = Hub::default();
        let config = MountConfig::default().hub(hub.clone()).keepalive(None);
        let app = Router::new()
            .route(
                "/room/{room}",
                ws_framework::axum::ws_with::<Chat, _>(config),
            )
            .with_state(Arc::new(Rooms::default()));
        let (addr, server) = serve_axum(app).await;
        let c = Client::connect(format!("ws://{addr}/room/x"))
            .await
            .unwrap();
        assert_eq!(c.read_text().await.unwrap(), "joined x");
        assert_eq!(hub.connection_count(), 1);
        assert_eq!(hub.members("x").len(), 1);
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn a_ws_service_is_a_tower_service_for_route_service() {
    within(async {
        let echo = WsService::<Echo>::new(()).unwrap();
        let app = Router::new().route_service("/echo", echo);
        let (addr, server) = serve_axum(app).await;
        let c = Client::connect(format!("ws://{addr}/echo")).await.unwrap();
        c.write_text("tower").await.unwrap();
        assert_eq!(c.read_text().await.unwrap(), "tower");
        server.abort();
    })
    .await;
}

/// Serves every connection of `tcp` with hyper and `service`, upgrades on.
fn serve_hyper<F, Svc>(tcp: TcpListener, make: F) -> JoinHandle<()>
where
    F: Fn(SocketAddr) -> Svc + Send + 'static,
    Svc: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = ws_framework::tower::UpgradeResponse,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    Svc::Future: Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = tcp.accept().await else {
                return;
            };
            let service = make(peer);
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .with_upgrades()
                    .await;
            });
        }
    })
}

#[tokio::test]
async fn a_ws_service_on_a_bare_hyper_connection_matches_its_own_template() {
    within(async {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let chat = WsService::<Chat>::new(Rooms::default()).unwrap();
        let state = chat.state().clone();
        let server = serve_hyper(tcp, move |peer| chat.clone().peer(peer));

        let c = Client::connect(format!("ws://{addr}/chat/z"))
            .await
            .unwrap();
        assert_eq!(c.read_text().await.unwrap(), "joined z");
        c.write_text("whoami").await.unwrap();
        assert_eq!(c.read_text().await.unwrap(), "127.0.0.1 /chat/z false");
        assert_eq!(state.opened.load(Ordering::SeqCst), 1);
        // The template decides: other paths are 404.
        assert_eq!(
            status_of(Client::connect(format!("ws://{addr}/chat/z/deeper")).await),
            Some(404)
        );
        assert_eq!(
            status_of(Client::connect(format!("ws://{addr}/chat/closed")).await),
            Some(403)
        );
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn upgrade_request_serves_one_request_from_a_service_fn() {
    within(async {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let state = Arc::new(());
        let server = serve_hyper(tcp, move |peer| {
            let state = state.clone();
            hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok(upgrade_request::<Echo, _>(req, state, Some(peer)).await) }
            })
        });
        let c = Client::connect(format!("ws://{addr}/echo")).await.unwrap();
        c.write_text("fn").await.unwrap();
        assert_eq!(c.read_text().await.unwrap(), "fn");
        assert_eq!(
            status_of(Client::connect(format!("ws://{addr}/other")).await),
            Some(404)
        );
        // A request that is no upgrade is told so.
        let plain = http(
            addr,
            "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
        server.abort();
    })
    .await;
}
