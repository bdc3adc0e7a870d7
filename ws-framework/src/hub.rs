//! Groups and broadcast: a registry of open connections, named groups (rooms, topics), and
//! fan-out that encodes a message once and never lets one slow member hold up the others.
//!
//! Every listener has one [`Hub`]; handlers reach it through their [`Caller`]
//! (`caller.join("room")`, `caller.group("room").broadcast_text(..)`). Broadcasts go through a
//! [`Backplane`], so that a later backplane on a broker (Redis pub/sub) can carry them to other
//! nodes; the default [`LocalBackplane`] keeps everything in this process.

use crate::caller::{Caller, ConnectionId};
use crate::error::{Error, Result};
use crate::proto::codec::Encoder;
use crate::proto::{CloseCode, CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which node a message came from; random per hub.
pub type NodeId = u64;

/// A broadcast as it travels between nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The group it is for; `None` for every connection.
    pub group: Option<String>,
    /// The node that sent it (a node ignores its own envelopes: it already delivered locally).
    pub origin: NodeId,
    /// The sending connection, excluded from delivery when `exclude_sender` is set.
    pub sender: Option<ConnectionId>,
    /// Whether the sender is left out.
    pub exclude_sender: bool,
    /// The message (text or binary), already serialised.
    pub message: Message,
}

/// Carries broadcasts between the nodes that share groups.
///
/// The hub delivers to its own members itself, then publishes the envelope; a backplane hands
/// every envelope published by any node to every node's `deliver` callback (including, harmlessly,
/// the publisher's own, which it skips).
pub trait Backplane: Send + Sync + 'static {
    /// Publishes an envelope to all nodes.
    fn publish(&self, envelope: Envelope) -> BoxFuture<'_, Result<()>>;
    /// Registers the callback through which this node receives envelopes.
    fn subscribe(&self, deliver: Arc<dyn Fn(Envelope) + Send + Sync>);
}

/// The default backplane: one process, nothing to carry.
#[derive(Debug, Default)]
pub struct LocalBackplane;

impl Backplane for LocalBackplane {
    fn publish(&self, _envelope: Envelope) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self, _deliver: Arc<dyn Fn(Envelope) + Send + Sync>) {}
}

/// What to do with a member whose outbound buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Wait for room up to this long (concurrently for all full members), then skip.
    Wait(Duration),
    /// Skip that member at once.
    Drop,
    /// Close that member with this code (1008 or 1013).
    Close(CloseCode),
}

impl Default for Overflow {
    /// Wait up to one second.
    fn default() -> Self {
        Self::Wait(Duration::from_secs(1))
    }
}

/// How a broadcast went, for the members on this node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Members that got the message (queued for sending).
    pub delivered: usize,
    /// Members left out: full buffers, closed connections, closed by the overflow policy.
    pub skipped: usize,
}

struct HubInner {
    node: NodeId,
    connections: RwLock<HashMap<ConnectionId, Caller>>,
    groups: RwLock<HashMap<String, HashMap<ConnectionId, Caller>>>,
    backplane: Arc<dyn Backplane>,
}

/// The registry of open connections and their groups. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("node", &self.inner.node)
            .field("connections", &self.connection_count())
            .field("groups", &read(&self.inner.groups).len())
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(Arc::new(LocalBackplane))
    }
}

impl Hub {
    /// A hub on `backplane`.
    pub fn new(backplane: Arc<dyn Backplane>) -> Self {
        let node = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(std::process::id().into());
            h.finish()
        };
        let hub = Self {
            inner: Arc::new(HubInner {
                node,
                connections: RwLock::new(HashMap::new()),
                groups: RwLock::new(HashMap::new()),
                backplane,
            }),
        };
        let weak = Arc::downgrade(&hub.inner);
        hub.inner
            .backplane
            .subscribe(Arc::new(move |envelope: Envelope| {
                if let Some(inner) = weak.upgrade() {
                    let hub = Hub { inner };
                    if envelope.origin != hub.inner.node {
                        tokio::spawn(async move { hub.deliver_remote(envelope).await });
                    }
                }
            }));
        hub
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    pub(crate) fn register(&self, caller: &Caller) {
        write(&self.inner.connections).insert(caller.id(), caller.clone());
    }

    /// Removes a connection from the registry and from every group it joined.
    pub(crate) fn unregister(&self, caller: &Caller) {
        write(&self.inner.connections).remove(&caller.id());
        let joined = caller.take_groups();
        if joined.is_empty() {
            return;
        }
        let mut groups = write(&self.inner.groups);
        for name in joined {
            if let Some(members) = groups.get_mut(&name) {
                members.remove(&caller.id());
                if members.is_empty() {
                    groups.remove(&name);
                }
            }
        }
    }

    /// The number of open connections.
    pub fn connection_count(&self) -> usize {
        read(&self.inner.connections).len()
    }

    /// The open connection with this id.
    pub fn get(&self, id: ConnectionId) -> Option<Caller> {
        read(&self.inner.connections).get(&id).cloned()
    }

    /// Every open connection (a snapshot).
    pub fn connections(&self) -> Vec<Caller> {
        read(&self.inner.connections).values().cloned().collect()
    }

    /// The names of the groups that have members.
    pub fn group_names(&self) -> Vec<String> {
        read(&self.inner.groups).keys().cloned().collect()
    }

    /// Adds `caller` to group `name` (idempotent). Fails if the connection is closed.
    pub fn join(&self, caller: &Caller, name: &str) -> Result<()> {
        if !caller.websocket().is_open() {
            return Err(Error::closed(
                CloseCode::ABNORMAL,
                "cannot join a group: connection closed",
            ));
        }
        caller.note_joined(name);
        write(&self.inner.groups)
            .entry(name.to_owned())
            .or_default()
            .insert(caller.id(), caller.clone());
        // A connection that ended meanwhile must not stay behind.
        if !read(&self.inner.connections).contains_key(&caller.id()) {
            self.leave(caller, name);
        }
        Ok(())
    }

    /// Removes `caller` from group `name`.
    pub fn leave(&self, caller: &Caller, name: &str) {
        caller.note_left(name);
        let mut groups = write(&self.inner.groups);
        if let Some(members) = groups.get_mut(name) {
            members.remove(&caller.id());
            if members.is_empty() {
                groups.remove(name);
            }
        }
    }

    /// The members of group `name` (a snapshot).
    pub fn members(&self, name: &str) -> Vec<Caller> {
        read(&self.inner.groups)
            .get(name)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A broadcast to group `name`.
    pub fn group(&self, name: &str) -> Broadcast {
        Broadcast::new(self.clone(), Some(name.to_owned()))
    }

    /// A broadcast to every open connection.
    pub fn everyone(&self) -> Broadcast {
        Broadcast::new(self.clone(), None)
    }

    fn targets(&self, group: Option<&str>) -> Vec<Caller> {
        match group {
            Some(name) => self.members(name),
            None => self.connections(),
        }
    }

    async fn deliver_remote(&self, envelope: Envelope) {
        let members = self.targets(envelope.group.as_deref());
        let exclude = envelope.exclude_sender.then_some(envelope.sender).flatten();
        let shared = Encoder::encode_shared(&envelope.message);
        let members: Vec<Caller> = members
            .into_iter()
            .filter(|c| Some(c.id()) != exclude)
            .collect();
        fan_out(&members, &envelope.message, &shared, Overflow::default()).await;
    }
}

type Filter = Box<dyn Fn(&Caller) -> bool + Send + Sync>;

/// A broadcast being prepared: pick the audience, then send.
#[must_use = "a broadcast does nothing until one of its send methods is awaited"]
pub struct Broadcast {
    hub: Hub,
    group: Option<String>,
    except: Option<ConnectionId>,
    filter: Option<Filter>,
    overflow: Overflow,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("group", &self.group)
            .field("except", &self.except)
            .field("filtered", &self.filter.is_some())
            .field("overflow", &self.overflow)
            .finish()
    }
}

impl Broadcast {
    fn new(hub: Hub, group: Option<String>) -> Self {
        Self {
            hub,
            group,
            except: None,
            filter: None,
            overflow: Overflow::default(),
        }
    }

    /// Leaves out one connection (usually the sender).
    pub fn except(mut self, id: ConnectionId) -> Self {
        self.except = Some(id);
        self
    }

    /// Only members for which `keep` returns true (for example by attribute). A filtered
    /// broadcast is delivered on this node only: a predicate cannot travel to other nodes.
    pub fn filter(mut self, keep: impl Fn(&Caller) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Box::new(keep));
        self
    }

    /// What to do with members whose buffer is full (default: wait up to 1 s, then skip).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Sends a text message to the audience.
    pub async fn send_text(self, text: impl Into<Utf8Bytes>) -> Delivery {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message to the audience.
    pub async fn send_binary(self, data: impl Into<Bytes>) -> Delivery {
        self.send(Message::Binary(data.into())).await
    }

    /// Serialises `value` once (strings as text, bytes as binary, anything else as JSON) and
    /// sends it to the audience.
    pub async fn send_message<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Delivery> {
        let message = crate::binding::to_message(value)?;
        Ok(self.send(message).await)
    }

    /// Sends `message` to the audience: encoded once, queued without waiting on every member
    /// with room, then the full ones handled by the overflow policy, all at once.
    pub async fn send(self, message: Message) -> Delivery {
        let members: Vec<Caller> = self
            .hub
            .targets(self.group.as_deref())
            .into_iter()
            .filter(|c| Some(c.id()) != self.except)
            .filter(|c| self.filter.as_ref().is_none_or(|keep| keep(c)))
            .collect();
        let shared = Encoder::encode_shared(&message);
        let delivery = fan_out(&members, &message, &shared, self.overflow).await;
        crate::observability::messages_out(
            crate::observability::Kind::of(&message),
            delivery.delivered,
            message.len(),
        );
        if self.filter.is_none() {
            let envelope = Envelope {
                group: self.group,
                origin: self.hub.node(),
                sender: self.except,
                exclude_sender: self.except.is_some(),
                message,
            };
            if let Err(e) = self.hub.inner.backplane.publish(envelope).await {
                tracing::error!(error = %e, "backplane publish failed");
            }
        }
        delivery
    }
}

async fn fan_out(
    members: &[Caller],
    message: &Message,
    shared: &Bytes,
    overflow: Overflow,
) -> Delivery {
    let mut delivery = Delivery::default();
    let mut full = Vec::new();
    for member in members {
        match member.websocket().try_send_shared(message, shared) {
            Ok(true) => delivery.delivered += 1,
            Ok(false) => full.push(member),
            Err(_) => delivery.skipped += 1,
        }
    }
    if full.is_empty() {
        return delivery;
    }
    match overflow {
        Overflow::Drop => delivery.skipped += full.len(),
        Overflow::Close(code) => {
            for member in full {
                let ws = member.websocket();
                if ws
                    .start_close(Some(CloseFrame::new(code, "too slow to keep up")))
                    .is_err()
                {
                    ws.abort();
                }
                delivery.skipped += 1;
            }
        }
        Overflow::Wait(limit) => {
            // Wait for every full member at once, so the slowest bounds the wait, not the sum.
            let waits = full.iter().map(|member| async move {
                let ws = member.websocket();
                let ready = tokio::time::timeout(limit, ws.writable()).await;
                matches!(ready, Ok(Ok(())))
                    && matches!(ws.try_send_shared(message, shared), Ok(true))
            });
            for ok in join_all(waits).await {
                if ok {
                    delivery.delivered += 1;
                } else {
                    delivery.skipped += 1;
                }
            }
        }
    }
    delivery
}

/// Polls all futures concurrently in the current task; output in input order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (i, fut) in pending.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Keeps the set of groups a connection joined, so its membership ends with it.
#[derive(Debug, Default)]
pub(crate) struct Membership(std::sync::Mutex<HashSet<String>>);

impl Membership {
    pub(crate) fn add(&self, name: &str) {
        self.lock().insert(name.to_owned());
    }

    pub(crate) fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    pub(crate) fn take(&self) -> HashSet<String> {
        std::mem::take(&mut *self.lock())
    }

    pub(crate) fn list(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
