//! `Caller`: one server-side connection, as handlers see it.

use crate::conn::WebSocket;
use crate::error::Result;
use crate::hub::{Broadcast, Hub, Membership};
use crate::proto::{CloseCode, CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A connection id, unique within the process (and so within a listener).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

type Attributes = HashMap<String, Arc<dyn Any + Send + Sync>>;

struct Inner {
    ws: WebSocket,
    hub: Hub,
    membership: Membership,
    peer: SocketAddr,
    secure: bool,
    path: String,
    close_timeout: Option<Duration>,
    attributes: Mutex<Attributes>,
    principal: std::sync::OnceLock<crate::auth::Principal>,
}

/// One server-side connection: write to it, close it, keep per-connection attributes.
///
/// Cheap to clone, `Send + Sync`: it may be stored (a chat room keeps its members' callers) and
/// written to from any task.
#[derive(Clone)]
pub struct Caller {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("id", &self.id())
            .field("peer", &self.inner.peer)
            .field("path", &self.inner.path)
            .field("open", &self.is_open())
            .finish()
    }
}

impl Caller {
    /// Wraps a connection handle (used by the listener).
    pub(crate) fn new(
        ws: WebSocket,
        hub: Hub,
        peer: SocketAddr,
        secure: bool,
        path: String,
        close_timeout: Option<Duration>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                ws,
                hub,
                membership: Membership::default(),
                peer,
                secure,
                path,
                close_timeout,
                attributes: Mutex::new(HashMap::new()),
                principal: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Records who authenticated at the upgrade (used by the listener, once).
    pub(crate) fn set_principal(&self, principal: Option<crate::auth::Principal>) {
        if let Some(principal) = principal {
            let _ = self.inner.principal.set(principal);
        }
    }

    /// Who opened the connection, when the service authenticates (its `auth` setting, or an
    /// upgrade hook that called [`crate::UpgradeRequest::set_principal`]).
    pub fn principal(&self) -> Option<&crate::auth::Principal> {
        self.inner.principal.get()
    }

    /// The registry and groups of the listener this connection belongs to.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Joins group `name` (a room, a topic); membership ends with the connection.
    pub fn join(&self, name: &str) -> Result<()> {
        self.inner.hub.join(self, name)
    }

    /// Leaves group `name`.
    pub fn leave(&self, name: &str) {
        self.inner.hub.leave(self, name);
    }

    /// The groups this connection is in.
    pub fn groups(&self) -> Vec<String> {
        self.inner.membership.list()
    }

    /// A broadcast to group `name`, from this connection (use `.except(caller.id())` to leave
    /// the sender out).
    pub fn group(&self, name: &str) -> Broadcast {
        self.inner.hub.group(name)
    }

    /// A broadcast to every connection of the listener.
    pub fn everyone(&self) -> Broadcast {
        self.inner.hub.everyone()
    }

    pub(crate) fn note_joined(&self, name: &str) {
        self.inner.membership.add(name);
    }

    pub(crate) fn note_left(&self, name: &str) {
        self.inner.membership.remove(name);
    }

    pub(crate) fn take_groups(&self) -> std::collections::HashSet<String> {
        self.inner.membership.take()
    }

    /// The connection handle underneath.
    pub fn websocket(&self) -> &WebSocket {
        &self.inner.ws
    }

    /// Sends a text message (fragmented at the service's max frame size).
    ///
    /// Fails with [`Error::ConnectionClosure`](crate::Error::ConnectionClosure) once a close
    /// frame was sent or the connection ended.
    pub async fn write_text(&self, text: impl Into<Utf8Bytes>) -> Result<()> {
        self.inner.ws.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn write_binary(&self, data: impl Into<Bytes>) -> Result<()> {
        self.inner.ws.send(Message::Binary(data.into())).await
    }

    /// Sends any serialisable value: a string as text, bytes as binary, anything else as JSON text.
    pub async fn write_message<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.inner.ws.send(crate::binding::to_message(value)?).await
    }

    /// Sends a ping; at most 125 bytes.
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.inner.ws.ping(payload).await
    }

    /// Sends a pong; at most 125 bytes.
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.inner.ws.pong(payload).await
    }

    /// Starts the closing handshake and waits for the peer's close frame up to `timeout`
    /// (`None`: the service's close timeout, 60 s by default).
    ///
    /// The code must be 1000-1003, 1007-1011 or 3000-4999. A second close fails with
    /// "close frame already sent". When the peer does not answer in time the socket is closed
    /// anyway and [`Closure::CloseTimeout`](crate::Closure::CloseTimeout) is returned.
    pub async fn close(
        &self,
        code: impl Into<CloseCode>,
        reason: impl Into<String>,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let frame = CloseFrame::new(code.into(), reason);
        let timeout = timeout.or(self.inner.close_timeout);
        if timeout == Some(Duration::ZERO) {
            // Don't wait: the connection counts as closed at once.
            self.inner.ws.start_close(Some(frame))?;
            return Ok(());
        }
        match timeout {
            Some(t) => self.inner.ws.close(Some(frame), Some(t)).await,
            None => self.inner.ws.close(Some(frame), Some(Duration::MAX)).await,
        }
    }

    /// Stores an attribute for this connection, replacing any previous value under `key`.
    pub fn set_attribute<T: Any + Send + Sync>(&self, key: impl Into<String>, value: T) {
        self.attributes().insert(key.into(), Arc::new(value));
    }

    /// A copy of attribute `key`, if present and of type `T`.
    pub fn attribute<T: Any + Send + Sync + Clone>(&self, key: &str) -> Option<T> {
        self.attributes()
            .get(key)
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Removes attribute `key`, returning it if it was of type `T`.
    pub fn remove_attribute<T: Any + Send + Sync + Clone>(&self, key: &str) -> Option<T> {
        self.attributes()
            .remove(key)
            .and_then(|v| v.downcast_ref::<T>().cloned())
    }

    fn attributes(&self) -> std::sync::MutexGuard<'_, Attributes> {
        self.inner
            .attributes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The connection id.
    pub fn id(&self) -> ConnectionId {
        ConnectionId(self.inner.ws.id())
    }

    /// The negotiated sub-protocol.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.ws.protocol()
    }

    /// Whether the connection runs over TLS.
    pub fn is_secure(&self) -> bool {
        self.inner.secure
    }

    /// Whether messages can still be sent (no close frame sent, connection not ended).
    pub fn is_open(&self) -> bool {
        self.inner.ws.is_open()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// The request path the connection was opened on.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Whether permessage-deflate is in use.
    pub fn is_compressed(&self) -> bool {
        self.inner.ws.deflate().is_some()
    }
}
