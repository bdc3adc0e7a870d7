//! Mounting a `#[ws_service]` type on an [axum](https://docs.rs/axum) 0.8 `Router` (feature
//! `axum`).
//!
//! [`ws::<S>()`](ws) is a `MethodRouter` (GET) to pass to `Router::route`; the service's shared
//! state comes from the router's state:
//!
//! ```no_run
//! use axum::extract::FromRef;
//! use axum::Router;
//! use std::sync::Arc;
//! use ws_framework::{on_text, on_upgrade, ws_service, Caller};
//!
//! #[derive(Default)]
//! struct Rooms {/* ... */}
//!
//! struct Chat;
//!
//! #[ws_service("/chat/{room}", state = Rooms)]
//! impl Chat {
//!     #[on_upgrade]
//!     async fn upgrade(room: String) -> Self {
//!         let _ = room;
//!         Chat
//!     }
//!
//!     #[on_text]
//!     async fn text(&self, caller: &Caller, text: String) -> String {
//!         format!("{}: {text}", caller.path())
//!     }
//! }
//!
//! // The router's state; `Arc<Rooms>` is taken from it through `FromRef` (which
//! // `#[derive(FromRef)]`, with axum's `macros` feature, writes for every field).
//! #[derive(Clone)]
//! struct AppState {
//!     rooms: Arc<Rooms>,
//!     greeting: &'static str,
//! }
//!
//! impl FromRef<AppState> for Arc<Rooms> {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.rooms.clone()
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/chat/{room}", ws_framework::axum::ws::<Chat, _>())
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .with_state(AppState { rooms: Arc::new(Rooms::default()), greeting: "hi" });
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // `ConnectInfo` gives the handlers the peer's address (else they see 0.0.0.0:0).
//! axum::serve(tcp, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```
//!
//! # How it fits together
//!
//! - **State**: the handler extracts `State<Arc<S::State>>`, so the router's state `T` must
//!   provide it: `Arc<S::State>: FromRef<T>`. Either the router's state *is* `Arc<S::State>`
//!   (`FromRef` is implemented for every `Clone` type from itself), or a field of type
//!   `Arc<S::State>` in a `#[derive(FromRef)]` struct (axum's `macros` feature), or a hand-written
//!   `impl FromRef<AppState> for Arc<MyState>`. The same `Arc` is handed to every connection, as
//!   the listener does.
//! - **Path parameters** are the router's: the parameters of the route the service is mounted
//!   on (`/chat/{room}` above), by name, as `#[on_upgrade]` parameters and
//!   [`UpgradeRequest::path_param`](crate::UpgradeRequest::path_param). The path in
//!   `#[ws_service("...")]` is not used for routing here, so a service may be mounted at any
//!   path (its `#[on_upgrade]` parameters must then be named like the route's).
//! - **Peer address**: from `ConnectInfo<SocketAddr>` (serve with
//!   `into_make_service_with_connect_info::<SocketAddr>()`), else `0.0.0.0:0`.
//! - **Groups, keepalive, compression**: as [`MountConfig`] says; [`ws`] uses its default (one
//!   process-wide hub), [`ws_with`] takes one.
//! - Anything else that is not a valid upgrade request gets the same refusals as on the
//!   listener (400, 426, ...), counted and logged the same way.
//!
//! A service with a state of its own can also be mounted as a tower service, which matches the
//! service's own path template against the request path:
//! `Router::new().route_service("/echo", WsService::<Echo>::new(())?)`.

use crate::service::Service;
use crate::session::Prepared;
use crate::tower::{peer_of, serve, split, MountConfig};
use ::axum::extract::rejection::RawPathParamsRejection;
use ::axum::extract::{FromRef, RawPathParams, Request, State};
use ::axum::response::IntoResponse;
use ::axum::routing::{get, MethodRouter};
use std::sync::Arc;

/// A GET route serving `S`, with its state taken from the router's state (`Arc<S::State>:
/// FromRef<T>`) and the default [`MountConfig`]. See the [module documentation](self).
///
/// # Panics
///
/// When `S`'s settings are invalid (a bad origin pattern or authentication setting), like
/// axum's own `route` panics on an invalid path.
pub fn ws<S, T>() -> MethodRouter<T>
where
    S: Service,
    Arc<S::State>: FromRef<T>,
    T: Clone + Send + Sync + 'static,
{
    ws_with::<S, T>(MountConfig::default())
}

/// [`ws`] with `config`: a hub of its own (or a listener's), keepalive, compression.
///
/// # Panics
///
/// As [`ws`].
pub fn ws_with<S, T>(config: MountConfig) -> MethodRouter<T>
where
    S: Service,
    Arc<S::State>: FromRef<T>,
    T: Clone + Send + Sync + 'static,
{
    let prepared = match Prepared::new::<S>() {
        Ok(prepared) => Arc::new(prepared),
        Err(e) => panic!(
            "cannot mount the WebSocket service `{}`: {e}",
            std::any::type_name::<S>()
        ),
    };
    let mount = Arc::new(config);
    get(
        move |State(state): State<Arc<S::State>>,
              params: Result<RawPathParams, RawPathParamsRejection>,
              req: Request| {
            let prepared = prepared.clone();
            let mount = mount.clone();
            async move {
                let params = match params {
                    Ok(raw) => raw
                        .iter()
                        .map(|(name, value)| (name.to_owned(), value.to_owned()))
                        .collect(),
                    Err(RawPathParamsRejection::MissingPathParams(_)) => Vec::new(),
                    Err(rejection) => return rejection.into_response(),
                };
                let peer = peer_of(&req);
                let (on_upgrade, parts) = split(req);
                serve::<S>(parts, on_upgrade, params, peer, &prepared, &state, &mount)
                    .await
                    .into_response()
            }
        },
    )
}
