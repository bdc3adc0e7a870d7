//! One server-side WebSocket, from the upgrade request on, whatever accepted the HTTP
//! connection: the [`Listener`](crate::Listener), [`crate::tower::WsService`] and the axum mount
//! all go through [`admit`] (the handshake up to the 101) and [`run`] (the connection).

use crate::caller::Caller;
use crate::conn::{ConnConfig, Keepalive, Wakes, WebSocket};
use crate::dispatch::{catch_unwind, Connection};
use crate::error::{Error, Result};
use crate::handshake::{accept, validate_request, AcceptConfig, Negotiated};
use crate::hub::Hub;
use crate::observability;
use crate::path_template::Template;
use crate::proto::{Limits, Role};
use crate::service::{Service, ServiceConfig};
use crate::upgrade::UpgradeRequest;
use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::Instrument;

/// The peer address recorded when the host stack did not tell.
pub(crate) const UNKNOWN_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// A service's settings, read and checked once: what every upgrade to it needs besides its
/// state.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) config: ServiceConfig,
    pub(crate) template: Template,
}

impl Prepared {
    /// Reads `S::config()`, checks its origins and authentication (reading key files), and
    /// parses its path template.
    pub(crate) fn new<S: Service>() -> Result<Self> {
        let config = S::config();
        crate::auth::prepare_service(&config)?;
        let template = crate::path_template::parse(config.path)
            .map_err(|e| Error::InvalidArgument(format!("service path `{}`: {e}", config.path)))?;
        Ok(Self { config, template })
    }
}

/// What the host of the connections supplies: the listener, or a mount's settings.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    /// Where connections register and groups live.
    pub(crate) hub: Hub,
    /// Keepalive pings.
    pub(crate) keepalive: Option<Keepalive>,
}

/// An accepted upgrade: the per-connection value and what the handshake agreed.
pub(crate) struct Admitted<S> {
    pub(crate) service: S,
    pub(crate) negotiated: Negotiated,
    pub(crate) path: String,
    pub(crate) principal: Option<crate::auth::Principal>,
    pub(crate) peer: SocketAddr,
    pub(crate) secure: bool,
}

/// A plain-text answer.
pub(crate) fn text_response(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A refusal: counted, logged, answered.
pub(crate) fn refuse(
    status: StatusCode,
    body: impl Into<String>,
    path: &str,
    peer: Option<SocketAddr>,
) -> Response<Full<Bytes>> {
    let body = body.into();
    observability::handshake_refused(status, path, peer, body.trim_end());
    text_response(status, body)
}

/// The opening handshake up to the 101: validates the request, runs the origin check,
/// authentication and the upgrade hook (a panic there answers 500), and negotiates the
/// sub-protocol and compression. `Err` is the refusal to send; every refusal is counted and
/// logged here.
///
/// `parts` is the request head (its body is of no use); `params` the path parameters matched by
/// the router; the caller has already taken the request's `OnUpgrade`, if any.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn admit<S: Service>(
    parts: http::request::Parts,
    params: Vec<(String, String)>,
    peer: Option<SocketAddr>,
    secure: bool,
    config: &ServiceConfig,
    state: &Arc<S::State>,
    compression: bool,
) -> std::result::Result<(Response<Full<Bytes>>, Admitted<S>), Response<Full<Bytes>>> {
    let req = Request::from_parts(parts, ());
    let offer = match validate_request(&req) {
        Ok(offer) => offer,
        Err(e) => {
            let err = e.to_response();
            let (head, body) = err.into_parts();
            observability::handshake_refused(head.status, req.uri().path(), peer, body.trim_end());
            return Err(Response::from_parts(head, Full::new(Bytes::from(body))));
        }
    };
    let (parts, ()) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let mut request = UpgradeRequest::new(parts, params, peer.unwrap_or(UNKNOWN_PEER), secure);
    // The origin check and authentication come before the hook (403/401).
    let admitted = async {
        crate::auth::admit(config, &mut request).await?;
        S::upgrade(&mut request, state).await
    };
    let service = match catch_unwind(admitted).await {
        Ok(Ok(service)) => service,
        Ok(Err(e)) => {
            let mut resp = refuse(e.status(), e.message().to_owned(), &path, peer);
            for (name, value) in e.headers() {
                resp.headers_mut().append(name, value.clone());
            }
            return Err(resp);
        }
        Err(panic) => {
            observability::error("panic");
            tracing::error!(service = config.path, panic, "upgrade hook panicked");
            return Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error",
                &path,
                peer,
            ));
        }
    };
    let accept_config = AcceptConfig {
        protocols: config.protocols.clone(),
        deflate: (config.compression && compression).then(|| config.deflate.clone()),
    };
    let (head, negotiated) = accept(&offer, &accept_config);
    let (mut head, ()) = head.into_parts();
    for (name, value) in request.take_response_headers().iter() {
        head.headers.append(name, value.clone());
    }
    let principal = request.take_principal();
    let admitted = Admitted {
        service,
        negotiated,
        path: request.path().to_owned(),
        principal,
        peer: peer.unwrap_or(UNKNOWN_PEER),
        secure,
    };
    Ok((
        Response::from_parts(head, Full::new(Bytes::new())),
        admitted,
    ))
}

/// Runs an admitted connection over `io` until it ends: the driver and the dispatch loop in
/// this task, registered in the host's hub, inside the connection's span.
///
/// `read_buf` holds bytes read past the handshake (the listener's fast path; empty otherwise).
pub(crate) async fn run<S, IO>(
    admitted: Admitted<S>,
    io: IO,
    read_buf: BytesMut,
    config: &ServiceConfig,
    state: Arc<S::State>,
    host: &Host,
) where
    S: Service,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Admitted {
        service,
        negotiated,
        path,
        principal,
        peer,
        secure,
    } = admitted;
    let conn_config = ConnConfig {
        limits: Limits {
            max_frame_size: config.max_frame_size,
            max_message_size: config.max_message_size,
        },
        max_send_frame_size: config.max_frame_size,
        close_timeout: config.close_timeout,
        auto_pong: !S::HANDLERS.ping,
        deliver_pongs: S::HANDLERS.pong,
        keepalive: host.keepalive,
        write_buffer_limit: config.write_buffer_limit,
        write_timeout: config.write_timeout,
        overflow_close: config.overflow_close,
        deflate_level: config.deflate.level,
        deflate_threshold: config.deflate.threshold,
        ..ConnConfig::default()
    };
    let (ws, driver) = WebSocket::from_upgraded(
        io,
        Role::Server,
        conn_config,
        negotiated.protocol,
        negotiated.deflate,
        read_buf,
    );
    let caller = Caller::new(
        ws.clone(),
        host.hub.clone(),
        peer,
        secure,
        path,
        config.close_timeout,
    );
    caller.set_principal(principal);
    let span = tracing::info_span!(
        "ws.connection",
        id = %caller.id(),
        service = std::any::type_name::<S>(),
        path = caller.path(),
        peer = %peer,
        protocol = caller.protocol().unwrap_or(""),
    );
    let counters = observability::MessageCounters::current();
    ws.set_counters(counters.clone());
    host.hub.register(&caller);
    let registered = caller.clone();
    observability::connection_opened();
    let connection = Connection {
        service,
        caller,
        state,
        ws: ws.clone(),
        idle_timeout: config.idle_timeout,
        close_timeout: config.close_timeout,
        counters,
        tally: observability::Tally::default(),
        pending: std::collections::VecDeque::new(),
    };
    async move {
        tracing::debug!(compressed = ws.deflate().is_some(), "websocket opened");
        // The driver and the dispatch loop share this task: no hand-off between tasks per
        // message. They are polled in turn, and while they are, their wakes of each other are
        // only recorded: a message is read, handled and its reply written in one task poll.
        let mut driver = std::pin::pin!(driver);
        let mut dispatch = std::pin::pin!(connection.run());
        let (mut driver_done, mut dispatch_done) = (false, false);
        std::future::poll_fn(|cx| {
            ws.inline_begin(cx.waker());
            driver.as_mut().get_mut().begin_turn();
            // Both sides on the first round (the task may have been woken by the socket or a
            // timer); after that, only the side the other one woke.
            let mut woken = Wakes::BOTH;
            for round in 0..INLINE_ROUNDS {
                if woken.driver && !driver_done {
                    driver_done = driver.as_mut().poll(cx).is_ready();
                }
                if woken.reader && !dispatch_done {
                    dispatch_done = dispatch.as_mut().poll(cx).is_ready();
                }
                let both_done = driver_done && dispatch_done;
                let last = both_done || round + 1 == INLINE_ROUNDS;
                woken = ws.inline_end(!last);
                let again = woken.any();
                if again && !last {
                    continue;
                }
                if again && !both_done {
                    // Still work to do: yield to other tasks, and come back.
                    cx.waker().wake_by_ref();
                }
                break;
            }
            if driver_done && dispatch_done {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        let (code, reason) = ws
            .close_status()
            .map_or((1006, String::new()), |(code, reason)| {
                (code.as_u16(), reason)
            });
        tracing::debug!(code, reason = %reason, "websocket closed");
    }
    .instrument(span)
    .await;
    host.hub.unregister(&registered);
    observability::connection_closed();
}

/// How many times one poll of a connection's task may go round driver and dispatch loop before
/// it yields.
const INLINE_ROUNDS: usize = 8;

/// Spawns the connection once hyper hands over the upgraded stream (hosts other than the
/// listener: the stream is hyper's `Upgraded`, which keeps any bytes read past the request).
pub(crate) fn spawn_upgraded<S: Service>(
    on_upgrade: hyper::upgrade::OnUpgrade,
    admitted: Admitted<S>,
    prepared: Arc<Prepared>,
    state: Arc<S::State>,
    host: Host,
) {
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                observability::error("upgrade");
                tracing::error!(error = %e, "upgrade failed");
                return;
            }
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        run(
            admitted,
            io,
            BytesMut::new(),
            &prepared.config,
            state,
            &host,
        )
        .await;
    });
}
