//! Serving a service from another HTTP stack: a hyper (and, with the `tower` feature, tower)
//! `Service`, and the function underneath, for when the [`Listener`](crate::Listener) is not the
//! server.
//!
//! - [`WsService`] answers the upgrade requests of one `#[ws_service]` type: it implements
//!   `hyper::service::Service<Request<B>>` always, and `tower_service::Service<Request<B>>` with
//!   the `tower` feature (which the `axum` feature turns on).
//! - [`upgrade_request`] does the same for one request, for a hand-written `service_fn`.
//!
//! Both validate the handshake, run the origin check, the authentication and the upgrade hook
//! of the service, answer (101, or the refusal), and then run the connection in a task of its
//! own once hyper hands the upgraded stream over. The HTTP connection must be served with
//! upgrades on (hyper's `serve_connection(..).with_upgrades()`; axum's `serve` does that).
//!
//! What differs from the [`Listener`](crate::Listener):
//! - **Routing**: the service's own path template (`#[ws_service("/chat/{room}")]`) is matched
//!   against the request path, which gives the path parameters; a request whose path does not
//!   match gets 404. (The axum mount uses the router's parameters instead; see
//!   `ws_framework::axum`.)
//! - **Peer address**: from [`WsService::peer`], else a `SocketAddr` in the request's
//!   extensions, else (with the `axum` feature) axum's `ConnectInfo<SocketAddr>`, else
//!   `0.0.0.0:0`.
//! - **Groups**: connections register in [`MountConfig::hub`], by default one process-wide hub
//!   shared by every mounted service (so they can broadcast to each other, as services on one
//!   listener do).
//! - **Limits and shutdown** belong to the host stack: there is no connection limit, `Server`
//!   header, request timeout or graceful stop here (close the connections through the hub:
//!   `for c in hub.connections() { c.close(1001, "going away", None).await.ok(); }`).
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use ws_framework::tower::WsService;
//! use ws_framework::{ws_service, on_text};
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! #[ws_service("/echo")]
//! impl Echo {
//!     #[on_text]
//!     async fn text(&self, text: String) -> String {
//!         text
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let echo = WsService::<Echo>::new(())?;
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! loop {
//!     let (stream, peer) = tcp.accept().await?;
//!     let service = echo.clone().peer(peer);
//!     tokio::spawn(async move {
//!         let io = hyper_util::rt::TokioIo::new(stream);
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(io, service)
//!             .with_upgrades()
//!             .await
//!     });
//! }
//! # }
//! ```

use crate::conn::Keepalive;
use crate::error::Result;
use crate::hub::Hub;
use crate::service::Service;
use crate::session::{self, Host, Prepared};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use std::any::TypeId;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

/// The response of an upgrade: 101 with an empty body, or a refusal with a plain-text body.
pub type UpgradeResponse = Response<Full<Bytes>>;

/// The future of [`WsService`]'s `call`.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = std::result::Result<UpgradeResponse, Infallible>> + Send>>;

/// Settings of services served from another HTTP stack (the listener-wide settings of
/// [`ListenerConfig`](crate::ListenerConfig) that apply to a single connection).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MountConfig {
    /// Where connections register and groups live (default: one hub shared by the whole
    /// process, see [`MountConfig::shared_hub`]).
    pub hub: Hub,
    /// Keepalive pings (default every 20 s, closing with 1011 after 20 s without a pong, as on
    /// the listener; `None` turns them off).
    pub keepalive: Option<Keepalive>,
    /// Negotiate permessage-deflate when the service allows it (default on).
    pub compression: bool,
    /// Whether the connections run over TLS that the host stack terminated (default false):
    /// what [`UpgradeRequest::is_secure`](crate::UpgradeRequest::is_secure) and
    /// [`Caller::is_secure`](crate::Caller::is_secure) say.
    pub secure: bool,
}

impl Default for MountConfig {
    fn default() -> Self {
        Self {
            hub: Self::shared_hub(),
            keepalive: Some(Keepalive::default()),
            compression: true,
            secure: false,
        }
    }
}

impl MountConfig {
    /// The hub of every mount that does not name its own: one per process.
    pub fn shared_hub() -> Hub {
        static HUB: OnceLock<Hub> = OnceLock::new();
        HUB.get_or_init(Hub::default).clone()
    }

    /// Registers connections in `hub` (for example a [`Listener`](crate::Listener)'s, so its
    /// services and the mounted ones share groups).
    pub fn hub(mut self, hub: Hub) -> Self {
        self.hub = hub;
        self
    }

    /// Sets or turns off (`None`) keepalive pings.
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Turns compression on or off.
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// Declares the connections secure (TLS terminated by the host stack).
    pub fn secure(mut self, on: bool) -> Self {
        self.secure = on;
        self
    }

    pub(crate) fn host(&self) -> Host {
        Host {
            hub: self.hub.clone(),
            keepalive: self.keepalive,
        }
    }
}

/// Answers upgrade requests for service `S`: a hyper and tower `Service`.
///
/// Cheap to clone (one `Arc`); build it once with [`WsService::new`], which reads and checks
/// the service's settings. See the [module documentation](self) for an example and for how
/// routing, the peer address and groups work.
pub struct WsService<S: Service> {
    inner: Arc<Inner<S>>,
    peer: Option<SocketAddr>,
}

struct Inner<S: Service> {
    prepared: Arc<Prepared>,
    state: Arc<S::State>,
    mount: MountConfig,
}

impl<S: Service> Clone for WsService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            peer: self.peer,
        }
    }
}

impl<S: Service> std::fmt::Debug for WsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsService")
            .field("service", &std::any::type_name::<S>())
            .field("path", &self.inner.prepared.config.path)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<S: Service> WsService<S> {
    /// Serves `S` with `state` shared by all its connections, and the default
    /// [`MountConfig`]. Fails like [`Listener::attach_with`](crate::Listener::attach_with):
    /// an invalid path, origin pattern or authentication setting.
    pub fn new(state: S::State) -> Result<Self> {
        Self::with_config(Arc::new(state), MountConfig::default())
    }

    /// Serves `S` with a state that is already shared, and `config`.
    pub fn with_config(state: Arc<S::State>, config: MountConfig) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                prepared: Arc::new(Prepared::new::<S>()?),
                state,
                mount: config,
            }),
            peer: None,
        })
    }

    /// This service for the connection from `peer` (what handlers see as the peer's address).
    pub fn peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<S::State> {
        &self.inner.state
    }

    /// The hub the connections register in.
    pub fn hub(&self) -> &Hub {
        &self.inner.mount.hub
    }

    /// Answers one upgrade request (the work of `call`).
    pub fn upgrade<B>(
        &self,
        req: Request<B>,
    ) -> impl Future<Output = UpgradeResponse> + Send + 'static {
        let peer = self.peer.or_else(|| peer_of(&req));
        let (on_upgrade, parts) = split(req);
        let params = self.inner.prepared.template.matches(parts.uri.path());
        let inner = self.inner.clone();
        async move {
            let Some(params) = params else {
                let path = parts.uri.path();
                return session::refuse(
                    StatusCode::NOT_FOUND,
                    format!("no service found to handle the request for {path}"),
                    path,
                    peer,
                );
            };
            serve::<S>(
                parts,
                on_upgrade,
                params,
                peer,
                &inner.prepared,
                &inner.state,
                &inner.mount,
            )
            .await
        }
    }
}

impl<S: Service, B> hyper::service::Service<Request<B>> for WsService<S> {
    type Response = UpgradeResponse;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request<B>) -> Self::Future {
        let upgrade = self.upgrade(req);
        Box::pin(async move { Ok(upgrade.await) })
    }
}

#[cfg(feature = "tower")]
impl<S: Service, B> tower_service::Service<Request<B>> for WsService<S> {
    type Response = UpgradeResponse;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::result::Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let upgrade = self.upgrade(req);
        Box::pin(async move { Ok(upgrade.await) })
    }
}

/// Answers one upgrade request for service `S` with `state`, with the default
/// [`MountConfig`]: 101 and the connection in a task of its own, or the refusal.
///
/// The service's path template is matched against the request path (404 when it does not
/// match). `S`'s settings are read and checked on the first call and kept for the process
/// (a service whose settings are invalid is answered 500, and the error logged). For many
/// requests, [`WsService`] is the same with the settings checked up front.
///
/// ```no_run
/// # use std::sync::Arc;
/// # #[derive(Default)] struct Echo;
/// # #[ws_framework::ws_service("/echo")] impl Echo {}
/// # async fn run(stream: tokio::net::TcpStream, peer: std::net::SocketAddr) {
/// let state = Arc::new(());
/// let service = hyper::service::service_fn(move |req| {
///     let state = state.clone();
///     async move {
///         let resp = ws_framework::tower::upgrade_request::<Echo, _>(req, state, Some(peer)).await;
///         Ok::<_, std::convert::Infallible>(resp)
///     }
/// });
/// hyper::server::conn::http1::Builder::new()
///     .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
///     .with_upgrades()
///     .await
///     .ok();
/// # }
/// ```
pub async fn upgrade_request<S: Service, B>(
    req: Request<B>,
    state: Arc<S::State>,
    peer: Option<SocketAddr>,
) -> UpgradeResponse {
    static DEFAULT: OnceLock<MountConfig> = OnceLock::new();
    upgrade_request_with::<S, B>(req, state, peer, DEFAULT.get_or_init(MountConfig::default)).await
}

/// [`upgrade_request`] with `config`.
pub async fn upgrade_request_with<S: Service, B>(
    req: Request<B>,
    state: Arc<S::State>,
    peer: Option<SocketAddr>,
    config: &MountConfig,
) -> UpgradeResponse {
    let peer = peer.or_else(|| peer_of(&req));
    let (on_upgrade, parts) = split(req);
    let prepared = match prepared::<S>() {
        Ok(prepared) => prepared,
        Err(e) => {
            tracing::error!(service = std::any::type_name::<S>(), error = %e, "invalid service settings");
            return session::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error",
                parts.uri.path(),
                peer,
            );
        }
    };
    let Some(params) = prepared.template.matches(parts.uri.path()) else {
        let path = parts.uri.path();
        return session::refuse(
            StatusCode::NOT_FOUND,
            format!("no service found to handle the request for {path}"),
            path,
            peer,
        );
    };
    serve::<S>(parts, on_upgrade, params, peer, &prepared, &state, config).await
}

/// The settings of `S`, prepared once per process.
fn prepared<S: Service>() -> Result<Arc<Prepared>> {
    type Cache = Mutex<HashMap<TypeId, Arc<Prepared>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = TypeId::of::<S>();
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(found.clone());
    }
    // Prepared outside the lock (it may read files); a race prepares twice, harmlessly.
    let prepared = Arc::new(Prepared::new::<S>()?);
    Ok(cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_insert(prepared)
        .clone())
}

/// Takes the request's upgrade handle and head; the body is of no use.
pub(crate) fn split<B>(mut req: Request<B>) -> (hyper::upgrade::OnUpgrade, http::request::Parts) {
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _body) = req.into_parts();
    (on_upgrade, parts)
}

/// The peer address a request carries in its extensions, if any.
pub(crate) fn peer_of<B>(req: &Request<B>) -> Option<SocketAddr> {
    connect_info(req).or_else(|| req.extensions().get::<SocketAddr>().copied())
}

#[cfg(feature = "axum")]
fn connect_info<B>(req: &Request<B>) -> Option<SocketAddr> {
    req.extensions()
        .get::<::axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

#[cfg(not(feature = "axum"))]
fn connect_info<B>(_req: &Request<B>) -> Option<SocketAddr> {
    None
}

/// The handshake, then the connection spawned on the upgraded stream.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve<S: Service>(
    parts: http::request::Parts,
    on_upgrade: hyper::upgrade::OnUpgrade,
    params: Vec<(String, String)>,
    peer: Option<SocketAddr>,
    prepared: &Arc<Prepared>,
    state: &Arc<S::State>,
    mount: &MountConfig,
) -> UpgradeResponse {
    let admitted = session::admit::<S>(
        parts,
        params,
        peer,
        mount.secure,
        &prepared.config,
        state,
        mount.compression,
    )
    .await;
    match admitted {
        Ok((response, admitted)) => {
            session::spawn_upgraded(
                on_upgrade,
                admitted,
                prepared.clone(),
                state.clone(),
                mount.host(),
            );
            response
        }
        Err(refusal) => refusal,
    }
}
