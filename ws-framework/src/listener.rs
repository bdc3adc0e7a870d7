//! `Listener`: the server. Accepts TCP connections, serves the HTTP/1.1 upgrade, routes it to
//! the attached service whose path matches best, and runs each connection.
//!
//! A connection whose first request is a WebSocket upgrade for an attached service is read,
//! answered and run by the listener itself, in the connection's task (the common case, kept
//! lean); everything else (plain HTTP, refused or malformed requests, later requests on a
//! kept-alive connection) is served by hyper.

use crate::conn::{Keepalive, WebSocket};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::path_template::Template;
use crate::proto::{CloseCode, CloseFrame};
use crate::service::{Service, ServiceConfig};
use crate::session;
use crate::transport::{Acceptor, ConnInfo, Rewind, ServerStream};
use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming as Body;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::any::TypeId;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::Notify;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Listener settings (Ballerina's `ListenerConfiguration`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// How long the upgrade request may take to arrive (default 120 s; `None` disables).
    pub request_timeout: Option<Duration>,
    /// The `Server` header of every response (default `ws-framework`; `None` omits it).
    pub server_header: Option<String>,
    /// Longest request URI accepted (default 4096; longer: 414).
    pub max_uri_len: usize,
    /// Largest total size of request headers (default 8192; larger: 431).
    pub max_header_size: usize,
    /// Negotiate permessage-deflate when a service allows it (default on).
    pub compression: bool,
    /// How long a graceful stop waits for closing handshakes (default 10 s).
    pub shutdown_timeout: Duration,
    /// Keepalive pings to every connection (default every 20 s, closing with 1011 after 20 s
    /// without a pong; `None` turns them off).
    pub keepalive: Option<Keepalive>,
    /// Most WebSocket connections open at once; upgrades beyond get 503 (default 100,000).
    pub max_connections: usize,
    /// How many connections the kernel may hold set up but not yet accepted, for
    /// [`Listener::bind`] (default 1024; the kernel caps it at `net.core.somaxconn`). A burst of
    /// connections beyond it has its handshakes dropped and retried by the clients a second
    /// later (tokio's own `TcpListener::bind` asks for 128 here).
    pub backlog: u32,
    /// TLS (`wss://`); `None` (default) serves plain `ws://`.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            request_timeout: Some(Duration::from_secs(120)),
            server_header: Some("ws-framework".to_owned()),
            max_uri_len: 4096,
            max_header_size: 8192,
            compression: true,
            shutdown_timeout: Duration::from_secs(10),
            keepalive: Some(Keepalive::default()),
            max_connections: 100_000,
            backlog: 1024,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ListenerConfig {
    /// Sets the upgrade-request timeout; zero disables it.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Sets the `Server` header.
    pub fn server_header(mut self, value: Option<String>) -> Self {
        self.server_header = value;
        self
    }

    /// Turns compression on or off for every service of this listener.
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// Sets or turns off (`None`) keepalive pings.
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Sets the most connections open at once.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the listen backlog of [`Listener::bind`] (at least 1).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog.max(1);
        self
    }

    /// Sets how long a graceful stop waits.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Serves `wss://` with these TLS settings; they are checked (files read) when the
    /// listener is bound.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// A type-erased attached service.
trait Route: Send + Sync {
    fn template(&self) -> &Template;
    fn service_type(&self) -> TypeId;
    fn upgrade(
        self: Arc<Self>,
        req: Request<Body>,
        params: Vec<(String, String)>,
        peer: SocketAddr,
        listener: Arc<Inner>,
    ) -> BoxFuture<'static, Response<Full<Bytes>>>;
    /// The upgrade read by the listener itself: admits it, answers, and runs the connection
    /// over `stream` (`rest`: the bytes read past the request). A refusal is written and the
    /// stream given back, with `rest`, for hyper to serve what follows.
    fn upgrade_direct(
        self: Arc<Self>,
        request: Request<()>,
        params: Vec<(String, String)>,
        direct: Direct,
    ) -> BoxFuture<'static, Option<(ServerStream, Bytes)>>;
}

/// What an upgrade read by the listener itself goes on with.
struct Direct {
    stream: ServerStream,
    rest: BytesMut,
    info: ConnInfo,
    peer: SocketAddr,
    listener: Arc<Inner>,
}

/// A plain HTTP handler served beside the WebSocket services.
type HttpHandler = Arc<dyn Fn(HttpRequest) -> BoxFuture<'static, Response<Bytes>> + Send + Sync>;

/// A plain HTTP request as an [`Listener::http_route`] handler sees it (the body is not read).
pub type HttpRequest = Request<()>;

struct HttpRoute {
    template: Template,
    handler: HttpHandler,
}

struct ServiceRoute<S: Service> {
    state: Arc<S::State>,
    config: ServiceConfig,
    template: Template,
}

struct Inner {
    config: ListenerConfig,
    acceptor: Acceptor,
    local_addr: SocketAddr,
    tcp: Mutex<Option<TcpListener>>,
    routes: RwLock<Vec<Arc<dyn Route>>>,
    http_routes: RwLock<Vec<Arc<HttpRoute>>>,
    hub: Hub,
    active: AtomicUsize,
    idle: Notify,
    stopping: AtomicBool,
    stop: Notify,
    stopped: Notify,
    started: AtomicBool,
}

/// A WebSocket server on one address, serving any number of services by path.
///
/// ```no_run
/// # async fn run() -> ws_framework::Result<()> {
/// use ws_framework::Listener;
/// let listener = Listener::bind("127.0.0.1:0").await?;
/// println!("listening on {}", listener.local_addr());
/// // listener.attach::<MyService>()?;
/// listener.start()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.inner.local_addr)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Binds `addr` with the default configuration. Port 0 picks a free port; see
    /// [`Listener::local_addr`].
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<Self> {
        Self::bind_with(addr, ListenerConfig::default()).await
    }

    /// Binds `addr` with `config`.
    pub async fn bind_with(addr: impl ToSocketAddrs, config: ListenerConfig) -> Result<Self> {
        Self::bind_with_hub(addr, config, Hub::default()).await
    }

    /// Binds `addr` with `config`, sharing groups through `hub` (for example a hub on another
    /// [`crate::hub::Backplane`]).
    pub async fn bind_with_hub(
        addr: impl ToSocketAddrs,
        config: ListenerConfig,
        hub: Hub,
    ) -> Result<Self> {
        // TLS misconfiguration fails here, before the port is taken.
        Acceptor::new(&config)?;
        let tcp = bind_tcp(addr, config.backlog)
            .await
            .map_err(Error::Connection)?;
        Self::from_tcp(tcp, config, hub)
    }

    /// Serves on an already bound socket (for example one handed over by a process manager).
    pub fn from_tcp(tcp: TcpListener, config: ListenerConfig, hub: Hub) -> Result<Self> {
        let acceptor = Acceptor::new(&config)?;
        let local_addr = tcp.local_addr().map_err(Error::Connection)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                acceptor,
                local_addr,
                tcp: Mutex::new(Some(tcp)),
                routes: RwLock::new(Vec::new()),
                http_routes: RwLock::new(Vec::new()),
                hub,
                active: AtomicUsize::new(0),
                idle: Notify::new(),
                stopping: AtomicBool::new(false),
                stop: Notify::new(),
                stopped: Notify::new(),
                started: AtomicBool::new(false),
            }),
        })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Attaches service `S` with a default shared state. See [`Listener::attach_with`].
    pub fn attach<S: Service>(&self) -> Result<()>
    where
        S::State: Default,
    {
        self.attach_with::<S>(S::State::default())
    }

    /// Attaches service `S` at its path, with `state` shared by all its connections. Works
    /// while the listener runs. Fails when the path is invalid or already taken.
    pub fn attach_with<S: Service>(&self, state: S::State) -> Result<()> {
        let config = S::config();
        crate::auth::prepare_service(&config)?;
        let template = crate::path_template::parse(config.path)
            .map_err(|e| Error::InvalidArgument(format!("service path `{}`: {e}", config.path)))?;
        let mut routes = write(&self.inner.routes);
        if routes.iter().any(|r| {
            r.template().segments() == template.segments()
                && r.template().is_wildcard() == template.is_wildcard()
        }) {
            return Err(Error::InvalidArgument(format!(
                "a service is already attached at `{}`",
                config.path
            )));
        }
        routes.push(Arc::new(ServiceRoute::<S> {
            state: Arc::new(state),
            config,
            template,
        }));
        Ok(())
    }

    /// Serves plain HTTP requests (not WebSocket upgrades) for `path` with `handler`, beside the
    /// WebSocket services on the same port: a web page, a health check.
    ///
    /// A request that asks for a WebSocket upgrade goes to the WebSocket service of that path;
    /// any other request to `path` goes to `handler`.
    pub fn http_route<F, Fut>(&self, path: &str, handler: F) -> Result<()>
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Bytes>> + Send + 'static,
    {
        let template = crate::path_template::parse(path)
            .map_err(|e| Error::InvalidArgument(format!("route path `{path}`: {e}")))?;
        let handler: HttpHandler = Arc::new(move |req| Box::pin(handler(req)));
        write(&self.inner.http_routes).push(Arc::new(HttpRoute { template, handler }));
        Ok(())
    }

    /// Detaches service `S`: new upgrades to its path get 404; open connections are left alone.
    pub fn detach<S: Service>(&self) -> Result<()> {
        let mut routes = write(&self.inner.routes);
        let before = routes.len();
        routes.retain(|r| r.service_type() != TypeId::of::<S>());
        if routes.len() == before {
            return Err(Error::InvalidArgument(
                "cannot detach the service: it has not been attached".to_owned(),
            ));
        }
        Ok(())
    }

    /// Starts accepting connections in a background task. Returns at once.
    pub fn start(&self) -> Result<()> {
        let tcp = self
            .inner
            .tcp
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::InvalidArgument("the listener was already started".to_owned()))?;
        self.inner.started.store(true, Ordering::SeqCst);
        let inner = self.inner.clone();
        tokio::spawn(accept_loop(inner, tcp));
        Ok(())
    }

    /// Starts (if not yet started) and waits until the listener is stopped.
    pub async fn run(&self) -> Result<()> {
        let stopped = self.inner.stopped.notified();
        if !self.inner.started.load(Ordering::SeqCst) {
            self.start()?;
        }
        stopped.await;
        Ok(())
    }

    /// Stops accepting, sends 1001 "going away" to every open connection, waits for their
    /// closing handshakes up to the shutdown timeout, then cuts the rest. Returns when done.
    pub async fn graceful_stop(&self) {
        self.stop_accepting();
        let open: Vec<WebSocket> = self
            .inner
            .hub
            .connections()
            .iter()
            .map(|c| c.websocket().clone())
            .collect();
        for ws in &open {
            let _ = ws.start_close(Some(CloseFrame::new(
                CloseCode::GOING_AWAY,
                "server shutting down",
            )));
        }
        self.wait_until_idle(self.inner.config.shutdown_timeout)
            .await;
        for caller in self.inner.hub.connections() {
            caller.websocket().abort();
        }
        // The cut connections end at once; give their tasks a moment to finish.
        self.wait_until_idle(Duration::from_secs(1)).await;
        self.inner.stopped.notify_waiters();
    }

    /// Waits until no connection task is left, at most `limit`.
    async fn wait_until_idle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.inner.active.load(Ordering::SeqCst) > 0 {
            let idle = self.inner.idle.notified();
            if self.inner.active.load(Ordering::SeqCst) == 0
                || tokio::time::timeout_at(deadline, idle).await.is_err()
            {
                break;
            }
        }
    }

    /// Stops accepting and ends every open connection at once, without closing handshakes.
    pub fn immediate_stop(&self) {
        self.stop_accepting();
        for caller in self.inner.hub.connections() {
            caller.websocket().abort();
        }
        self.inner.stopped.notify_waiters();
    }

    fn stop_accepting(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.stop.notify_waiters();
        lock(&self.inner.tcp).take();
    }

    /// The number of open WebSocket connections.
    pub fn connection_count(&self) -> usize {
        self.inner.hub.connection_count()
    }

    /// The registry of open connections and their groups.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

async fn accept_loop(inner: Arc<Inner>, tcp: TcpListener) {
    loop {
        let stop = inner.stop.notified();
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            _ = stop => return,
            accepted = tcp.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_http(inner.clone(), stream, peer));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn serve_http(inner: Arc<Inner>, stream: TcpStream, peer: SocketAddr) {
    // The TLS handshake (bounded by its timeout) runs here, in the connection's own task.
    let Some(stream) = inner.acceptor.accept(stream).await else {
        return;
    };
    let info = stream.info();
    let (stream, read) = match read_first_request(&inner, stream, &info, peer).await {
        First::Gone => return,
        First::Upgrade(upgrade) => match upgrade
            .route
            .upgrade_direct(upgrade.request, upgrade.params, upgrade.direct)
            .await
        {
            Some(refused) => refused,
            None => return,
        },
        First::Other(stream, read) => (stream, read),
    };
    serve_with_hyper(inner, Rewind::new(read, stream), info, peer).await;
}

/// Serves HTTP/1.1 on `stream` with hyper: plain HTTP routes, refusals, and upgrades that
/// came after other requests.
async fn serve_with_hyper(inner: Arc<Inner>, stream: Rewind, info: ConnInfo, peer: SocketAddr) {
    let service = {
        let inner = inner.clone();
        hyper::service::service_fn(move |mut req: Request<Body>| {
            req.extensions_mut().insert(info.clone());
            let inner = inner.clone();
            async move { Ok::<_, Infallible>(handle_request(inner, req, peer).await) }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(inner.config.request_timeout)
        .max_buf_size((inner.config.max_uri_len + inner.config.max_header_size).max(8192) + 1024);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let stop = inner.stop.notified();
    tokio::pin!(conn);
    tokio::pin!(stop);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = &mut stop => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// An upgrade request the listener serves itself, and the service route it goes to.
struct DirectUpgrade {
    route: Arc<dyn Route>,
    request: Request<()>,
    params: Vec<(String, String)>,
    direct: Direct,
}

/// What the first request on a connection turned out to be.
enum First {
    /// A WebSocket upgrade for an attached service, which the listener serves itself.
    Upgrade(Box<DirectUpgrade>),
    /// Anything else: the stream and the bytes read from it, for hyper.
    Other(ServerStream, Bytes),
    /// The client went away, sent nothing in time, or the listener is stopping.
    Gone,
}

/// Reads the connection's first request head and tells whether the listener serves it itself:
/// a WebSocket upgrade that an attached service may take. Anything else goes to hyper with the
/// bytes read so far, and hyper then answers exactly as if it had read them itself (errors,
/// limits and refusals included). Bounded, like hyper's reading, by the request timeout.
async fn read_first_request(
    inner: &Arc<Inner>,
    mut stream: ServerStream,
    info: &ConnInfo,
    peer: SocketAddr,
) -> First {
    use tokio::io::AsyncReadExt;
    let config = &inner.config;
    let limits = crate::handshake::RequestLimits {
        max_uri_len: config.max_uri_len,
        max_head_len: config.max_uri_len + config.max_header_size + 1024,
        max_headers: 100,
    };
    let mut buf = BytesMut::with_capacity(1024);
    let read_head = async {
        loop {
            match crate::handshake::parse_request(&buf, &limits) {
                Ok(Some(parsed)) => return Some(Some(parsed)),
                Ok(None) => {}
                Err(_) => return Some(None),
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    };
    let read_head = async {
        match config.request_timeout {
            Some(limit) => tokio::time::timeout(limit, read_head).await.ok().flatten(),
            None => read_head.await,
        }
    };
    // A stop drops a connection still sending its first request (as hyper's graceful shutdown
    // closes idle ones).
    let stop = inner.stop.notified();
    if inner.stopping.load(Ordering::SeqCst) {
        return First::Gone;
    }
    let parsed = tokio::select! {
        parsed = read_head => parsed,
        _ = stop => return First::Gone,
    };
    let Some(parsed) = parsed else {
        return First::Gone;
    };
    let Some((request, head_len)) = parsed else {
        return First::Other(stream, buf.freeze());
    };
    let wants_upgrade =
        crate::handshake::header_contains_token(request.headers(), &header::UPGRADE, "websocket");
    let header_size: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    let plain = wants_upgrade
        && header_size <= config.max_header_size
        && !inner.stopping.load(Ordering::SeqCst)
        && inner.active.load(Ordering::SeqCst) < config.max_connections;
    let found = plain.then(|| {
        let path = request.uri().path();
        read(&inner.routes)
            .iter()
            .filter_map(|r| r.template().matches(path).map(|params| (r.clone(), params)))
            .max_by_key(|(r, _)| r.template().specificity())
    });
    let Some(Some((route, params))) = found else {
        // Not the common case: hyper answers it, and the listener's refusals stay in one place.
        return First::Other(stream, buf.freeze());
    };
    // Copied out: a view of `buf` would keep its whole allocation for the connection's life.
    let rest = match buf.get(head_len..) {
        Some(more) if !more.is_empty() => BytesMut::from(more),
        _ => BytesMut::new(),
    };
    First::Upgrade(Box::new(DirectUpgrade {
        route,
        request,
        params,
        direct: Direct {
            stream,
            rest,
            info: info.clone(),
            peer,
            listener: inner.clone(),
        },
    }))
}

/// Binds the first of `addr`'s addresses that can be bound, listening with `backlog` (as
/// tokio's `TcpListener::bind` does, address reuse on Unix included, but with the backlog
/// given).
async fn bind_tcp(addr: impl ToSocketAddrs, backlog: u32) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let bound = (|| {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            #[cfg(unix)]
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(backlog)
        })();
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// Whether the connection stays open after the answer to `request` (RFC 9112 §9.3): HTTP/1.1
/// unless the client sent `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
fn is_persistent<B>(request: &Request<B>) -> bool {
    let has = |token| {
        crate::handshake::header_contains_token(request.headers(), &header::CONNECTION, token)
    };
    if request.version() == http::Version::HTTP_10 {
        has("keep-alive")
    } else {
        !has("close")
    }
}

/// The head of `resp` (with the listener's `Server` header) and, for a refusal, its body.
async fn write_direct_response(
    stream: &mut ServerStream,
    resp: Response<Full<Bytes>>,
    listener: &Inner,
) -> std::io::Result<()> {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let (mut head, body) = resp.into_parts();
    // The headers hyper adds to the responses it writes: `Date`, and `Server` if configured.
    head.headers.insert(header::DATE, crate::http_date::now());
    if let Some(server) = &listener.config.server_header {
        if let Ok(value) = HeaderValue::from_str(server) {
            head.headers.insert(header::SERVER, value);
        }
    }
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    if head.status != StatusCode::SWITCHING_PROTOCOLS {
        head.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let mut out = Vec::with_capacity(256 + body.len());
    crate::handshake::write_response(&Response::from_parts(head, ()), &mut out);
    out.extend_from_slice(&body);
    stream.write_all(&out).await?;
    stream.flush().await
}

fn text_response(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn handle_request(
    inner: Arc<Inner>,
    req: Request<Body>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let mut resp = route_request(inner.clone(), req, peer).await;
    if let Some(server) = &inner.config.server_header {
        if let Ok(value) = HeaderValue::from_str(server) {
            resp.headers_mut().insert(header::SERVER, value);
        }
    }
    resp
}

async fn route_request(
    inner: Arc<Inner>,
    req: Request<Body>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let wants_upgrade =
        crate::handshake::header_contains_token(req.headers(), &header::UPGRADE, "websocket");
    // Refusals of upgrade requests are counted as handshake failures (those of a service's
    // own checks are counted by `session::admit`).
    let text_response = |status: StatusCode, body: String| {
        if wants_upgrade {
            session::refuse(status, body, req.uri().path(), Some(peer))
        } else {
            text_response(status, body)
        }
    };
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > inner.config.max_uri_len {
        return text_response(StatusCode::URI_TOO_LONG, "request URI too long".into());
    }
    let header_size: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_size > inner.config.max_header_size {
        return text_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large".into(),
        );
    }
    if inner.stopping.load(Ordering::SeqCst) {
        return text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".into(),
        );
    }
    if inner.active.load(Ordering::SeqCst) >= inner.config.max_connections {
        return text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections; try again later".into(),
        );
    }
    let path = req.uri().path().to_owned();
    let found = {
        let routes = read(&inner.routes);
        routes
            .iter()
            .filter_map(|r| {
                r.template()
                    .matches(&path)
                    .map(|params| (r.clone(), params))
            })
            .max_by_key(|(r, _)| r.template().specificity())
    };
    if !wants_upgrade {
        let http = {
            let routes = read(&inner.http_routes);
            routes
                .iter()
                .filter(|r| r.template.matches(&path).is_some())
                .max_by_key(|r| r.template.specificity())
                .cloned()
        };
        if let Some(route) = http {
            let (parts, _body) = req.into_parts();
            let resp = (route.handler)(Request::from_parts(parts, ())).await;
            let (parts, body) = resp.into_parts();
            return Response::from_parts(parts, Full::new(body));
        }
    }
    match found {
        Some((route, params)) => route.upgrade(req, params, peer, inner.clone()).await,
        None => text_response(
            StatusCode::NOT_FOUND,
            format!("no service found to handle the request for {path}"),
        ),
    }
}

impl<S: Service> Route for ServiceRoute<S> {
    fn template(&self) -> &Template {
        &self.template
    }

    fn service_type(&self) -> TypeId {
        TypeId::of::<S>()
    }

    fn upgrade_direct(
        self: Arc<Self>,
        request: Request<()>,
        params: Vec<(String, String)>,
        direct: Direct,
    ) -> BoxFuture<'static, Option<(ServerStream, Bytes)>> {
        Box::pin(self.serve_direct(request, params, direct))
    }

    fn upgrade(
        self: Arc<Self>,
        mut req: Request<Body>,
        params: Vec<(String, String)>,
        peer: SocketAddr,
        listener: Arc<Inner>,
    ) -> BoxFuture<'static, Response<Full<Bytes>>> {
        Box::pin(async move {
            let on_upgrade = hyper::upgrade::on(&mut req);
            let (parts, _body) = req.into_parts();
            let (response, admitted) = match self.admit(parts, params, peer, &listener).await {
                Ok(accepted) => accepted,
                Err(refusal) => return refusal,
            };
            let route = self.clone();
            tokio::spawn(async move {
                let upgraded = match on_upgrade.await {
                    Ok(upgraded) => upgraded,
                    Err(e) => {
                        crate::observability::error("upgrade");
                        tracing::error!(error = %e, "upgrade failed");
                        return;
                    }
                };
                // The listener's own stream, without hyper's `Upgraded` around it.
                let parts = match upgraded.downcast::<TokioIo<Rewind>>() {
                    Ok(parts) => parts,
                    Err(_) => {
                        crate::observability::error("upgrade");
                        tracing::error!("upgrade produced an unexpected stream type");
                        return;
                    }
                };
                // Only the bytes read past the request are kept: hyper's `read_buf` is a view of
                // its whole read buffer (8 KiB), which would otherwise stay allocated for the
                // connection's lifetime.
                let hyper::upgrade::Parts {
                    io, read_buf: past, ..
                } = parts;
                let (unread, stream) = io.into_inner().into_parts();
                let mut read_buf = BytesMut::new();
                read_buf.extend_from_slice(&past);
                read_buf.extend_from_slice(&unread);
                drop(past);
                route
                    .run_connection(admitted, stream, read_buf, listener)
                    .await;
            });
            response
        })
    }
}

impl<S: Service> ServiceRoute<S> {
    /// The opening handshake up to the 101 (see [`session::admit`]), whoever read the request:
    /// `parts` carry the connection's [`ConnInfo`] in their extensions.
    async fn admit(
        &self,
        parts: http::request::Parts,
        params: Vec<(String, String)>,
        peer: SocketAddr,
        listener: &Inner,
    ) -> std::result::Result<(Response<Full<Bytes>>, session::Admitted<S>), Response<Full<Bytes>>>
    {
        let secure = parts.extensions.get::<ConnInfo>().is_some_and(|c| c.secure);
        session::admit::<S>(
            parts,
            params,
            Some(peer),
            secure,
            &self.config,
            &self.state,
            listener.config.compression,
        )
        .await
    }

    async fn serve_direct(
        self: Arc<Self>,
        request: Request<()>,
        params: Vec<(String, String)>,
        direct: Direct,
    ) -> Option<(ServerStream, Bytes)> {
        let Direct {
            mut stream,
            rest,
            info,
            peer,
            listener,
        } = direct;
        let persistent = is_persistent(&request);
        let (mut parts, ()) = request.into_parts();
        parts.extensions.insert(info);
        match self.admit(parts, params, peer, &listener).await {
            Ok((response, admitted)) => {
                if write_direct_response(&mut stream, response, &listener)
                    .await
                    .is_err()
                {
                    return None;
                }
                // A task of its own, sized for the connection alone: the one reading the
                // request (and its admission, and hyper's room) ends here.
                tokio::spawn(self.run_connection(admitted, stream, rest, listener));
                None
            }
            Err(mut refusal) => {
                // Answered here (it is counted and logged once, by `admit`); what follows on
                // a persistent connection is hyper's, as it would have been had hyper answered.
                if !persistent {
                    refusal
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                write_direct_response(&mut stream, refusal, &listener)
                    .await
                    .ok()?;
                if !persistent {
                    use tokio::io::AsyncWriteExt;
                    let _ = stream.shutdown().await;
                    return None;
                }
                Some((stream, rest.freeze()))
            }
        }
    }

    async fn run_connection(
        self: Arc<Self>,
        admitted: session::Admitted<S>,
        stream: ServerStream,
        read_buf: BytesMut,
        listener: Arc<Inner>,
    ) {
        let host = session::Host {
            hub: listener.hub.clone(),
            keepalive: listener.config.keepalive,
        };
        listener.active.fetch_add(1, Ordering::SeqCst);
        session::run(
            admitted,
            stream,
            read_buf,
            &self.config,
            self.state.clone(),
            &host,
        )
        .await;
        if listener.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            listener.idle.notify_waiters();
        }
    }
}
