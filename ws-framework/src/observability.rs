//! What the server reports about itself: `tracing` spans and events, and metrics through the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! Both cost next to nothing until the program installs a consumer: without a `tracing`
//! subscriber the spans and events are skipped, and without a `metrics` recorder every update
//! goes to a no-op recorder. Everything below concerns server-side connections (the
//! [`Listener`](crate::Listener), [`tower::WsService`](crate::tower::WsService) and, with the
//! `axum` feature, `ws_framework::axum`); the [`Client`](crate::Client) reports nothing.
//!
//! # Tracing
//!
//! Target `ws_framework` (module paths under it). Each connection runs inside a span named
//! `ws.connection` (level INFO) with the fields:
//!
//! | field | value |
//! | --- | --- |
//! | `id` | the [`ConnectionId`](crate::ConnectionId), 16 hex digits |
//! | `service` | the Rust type of the service |
//! | `path` | the request path |
//! | `peer` | the peer's address (`0.0.0.0:0` when the host stack did not say) |
//! | `protocol` | the negotiated sub-protocol, empty when none |
//!
//! Events (the handlers' own events inherit the span, so they carry the connection's fields):
//!
//! | level | message | fields |
//! | --- | --- | --- |
//! | DEBUG | `websocket opened` | `compressed` |
//! | DEBUG | `websocket closed` | `code`, `reason` (how the connection ended) |
//! | DEBUG | `websocket handshake refused` | `status`, `path`, `peer`, `reason` (outside the span: no connection yet) |
//! | WARN | `websocket error` | `kind` (as in `ws_errors_total`), `error` |
//! | ERROR | `handler panicked`, `upgrade hook panicked` | `panic` |
//! | ERROR | `accept failed`, `upgrade failed`, `backplane publish failed` | `error` |
//!
//! For example, with `tracing-subscriber`:
//! `tracing_subscriber::fmt().with_env_filter("ws_framework=debug").init()`.
//!
//! # Metrics
//!
//! | name | type | labels | counts |
//! | --- | --- | --- | --- |
//! | `ws_connections_open` | gauge | | open connections |
//! | `ws_connections_total` | counter | | connections opened |
//! | `ws_messages_total` | counter | `direction` = `in`/`out`, `kind` = `text`/`binary`/`ping`/`pong`/`close` | messages (whole messages, not frames) |
//! | `ws_bytes_total` | counter | `direction`, `kind` | payload bytes of those messages (before compression) |
//! | `ws_errors_total` | counter | `kind` | errors on open connections, see below |
//! | `ws_handshake_failures_total` | counter | `status` | upgrade requests answered with anything but 101 |
//!
//! Inbound messages are counted as the dispatch loop takes them: pings and pongs only when the
//! service handles them (`#[on_ping]`, `#[on_pong]`; otherwise the connection answers pings
//! itself and they are not seen). Outbound messages are counted when queued by a handler's
//! return value, a [`Caller`](crate::Caller) or a broadcast; the automatic pongs, keepalive pings
//! and the echo of the peer's close frame are not counted.
//!
//! Error kinds: `protocol` (the peer broke RFC 6455), `too_large` (a frame or message over a
//! limit), `io`, `write_timeout`, `binding` (a payload that did not bind), `validation`,
//! `handler` (a handler's `Err`), `panic` (a handler panicked), `upgrade` (the upgraded stream
//! could not be had), `other`.
//!
//! The message and byte counters are registered once per thread and recorder, and their handles
//! kept: a recorder that forgets idle series (the Prometheus exporter's `idle_timeout` with
//! counters in its mask) would lose their later updates. A connection takes its handles from
//! the recorder current when it opens (install the recorder before serving); every
//! (`direction`, `kind`) series then exists, at zero, from the first connection on.
//!
//! `examples/metrics.rs` in the repository exports them for Prometheus.

use crate::error::Error;
use crate::proto::Message;
use http::StatusCode;
use std::cell::RefCell;
use std::sync::Arc;

/// The gauge of open connections.
pub const CONNECTIONS_OPEN: &str = "ws_connections_open";
/// The counter of connections opened.
pub const CONNECTIONS_TOTAL: &str = "ws_connections_total";
/// The counter of messages, by `direction` and `kind`.
pub const MESSAGES_TOTAL: &str = "ws_messages_total";
/// The counter of payload bytes, by `direction` and `kind`.
pub const BYTES_TOTAL: &str = "ws_bytes_total";
/// The counter of errors on open connections, by `kind`.
pub const ERRORS_TOTAL: &str = "ws_errors_total";
/// The counter of refused upgrade requests, by `status`.
pub const HANDSHAKE_FAILURES_TOTAL: &str = "ws_handshake_failures_total";

/// What kind of message a metric counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

impl Kind {
    pub(crate) fn of(message: &Message) -> Self {
        if message.is_text() {
            Self::Text
        } else {
            Self::Binary
        }
    }
}

/// Which way a message went: the `direction` label.
#[derive(Clone, Copy)]
enum Direction {
    In,
    Out,
}

// Per-message counting goes through handles registered once.
//
// `metrics::counter!(MESSAGES_TOTAL, "direction" => .., "kind" => ..)` builds a `metrics::Key`
// and hashes it (the name is a `const`, not a literal, so the key is not a static) and the
// recorder then looks the key up in its registry, on every update: two updates per message in
// each direction came to ~22% of the user-space instructions of an echoed message under
// callgrind. Instead every (name, direction, kind) counter is registered once per thread and
// recorder, in a `MessageCounters`; a connection takes the set current when it opens, so
// counting one of its messages is the handles' increments (an atomic add each for the usual
// recorders). Counting outside a connection (a broadcast) looks the set up first: a
// thread-local access and a pointer comparison.
//
// The sets are keyed by the identity of the recorder `metrics::with_recorder` yields (data and
// vtable pointers): a recorder installed later, or a thread-local one
// (`metrics::with_local_recorder`, `set_default_local_recorder`), gets its own. Caveats: a
// thread-local recorder dropped and another of the same type allocated at the same address
// would be taken for the old one and its updates lost into the old handles (the global
// recorder is `'static`, so this cannot happen to it); a recorder that drops idle series from
// its registry (the Prometheus exporter's `idle_timeout` on counters) leaves the handles of a
// dropped series counting into nothing; and one that registers by more than the key (e.g.
// `metrics-tracing-context`, labels from the current span) sees one registration per thread.

/// One slot per (name, direction, kind): `[name][direction][kind]`, name 0 `MESSAGES_TOTAL` and
/// 1 `BYTES_TOTAL`, direction and kind in declaration order.
const SLOTS: usize = 2 * 2 * 5;

const KINDS: [Kind; 5] = [
    Kind::Text,
    Kind::Binary,
    Kind::Ping,
    Kind::Pong,
    Kind::Close,
];

/// The recorder `metrics` uses on this thread now, as an identity.
fn current_recorder() -> RecorderId {
    metrics::with_recorder(|recorder| {
        let recorder: *const (dyn metrics::Recorder + '_) = recorder;
        // SAFETY: a change of the trait object's lifetime bound only (same type, same layout),
        // which a cast may not do; the pointer is only ever compared, never dereferenced.
        RecorderId(unsafe {
            std::mem::transmute::<
                *const (dyn metrics::Recorder + '_),
                *const (dyn metrics::Recorder + 'static),
            >(recorder)
        })
    })
}

/// Registers the counter of `bytes` (else of messages) for `direction` and `kind`, with the
/// current recorder. The labels are literals, so the keys need no allocation.
fn register(bytes: bool, direction: Direction, kind: Kind) -> metrics::Counter {
    macro_rules! by_kind {
        ($name:expr, $direction:literal) => {
            match kind {
                Kind::Text => metrics::counter!($name, "direction" => $direction, "kind" => "text"),
                Kind::Binary => {
                    metrics::counter!($name, "direction" => $direction, "kind" => "binary")
                }
                Kind::Ping => metrics::counter!($name, "direction" => $direction, "kind" => "ping"),
                Kind::Pong => metrics::counter!($name, "direction" => $direction, "kind" => "pong"),
                Kind::Close => {
                    metrics::counter!($name, "direction" => $direction, "kind" => "close")
                }
            }
        };
    }
    match (bytes, direction) {
        (false, Direction::In) => by_kind!(MESSAGES_TOTAL, "in"),
        (false, Direction::Out) => by_kind!(MESSAGES_TOTAL, "out"),
        (true, Direction::In) => by_kind!(BYTES_TOTAL, "in"),
        (true, Direction::Out) => by_kind!(BYTES_TOTAL, "out"),
    }
}

/// A recorder's address, as an identity.
#[derive(Clone, Copy)]
struct RecorderId(*const dyn metrics::Recorder);

// SAFETY: the pointer is only ever compared, never dereferenced.
unsafe impl Send for RecorderId {}
// SAFETY: as above.
unsafe impl Sync for RecorderId {}

/// Every message and byte counter, registered with one recorder (so every (`direction`,
/// `kind`) series exists, at zero, from the first use on). Shared by the connections opened
/// under that recorder.
pub(crate) struct MessageCounters {
    recorder: RecorderId,
    slots: [metrics::Counter; SLOTS],
}

impl MessageCounters {
    fn register(recorder: RecorderId) -> Arc<Self> {
        let slots = std::array::from_fn(|i| {
            let direction = if (i % 10) < 5 {
                Direction::In
            } else {
                Direction::Out
            };
            register(i >= 10, direction, KINDS[i % 5])
        });
        Arc::new(Self { recorder, slots })
    }

    /// This thread's set for the current recorder (registered on first use): what a connection
    /// opening now counts into.
    pub(crate) fn current() -> Arc<Self> {
        thread_local! {
            static CURRENT: RefCell<Option<Arc<MessageCounters>>> = const { RefCell::new(None) };
        }
        let recorder = current_recorder();
        CURRENT
            .try_with(|current| {
                // Busy only if a recorder counts messages from inside `register_counter`; gone
                // while the thread's locals are destroyed: then a set of its own.
                let mut current = current.try_borrow_mut().ok()?;
                match &*current {
                    Some(set) if std::ptr::eq(set.recorder.0, recorder.0) => Some(set.clone()),
                    _ => {
                        let set = Self::register(recorder);
                        *current = Some(set.clone());
                        Some(set)
                    }
                }
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| Self::register(recorder))
    }

    fn count(&self, direction: Direction, kind: Kind, messages: u64, bytes: u64) {
        let slot = direction as usize * 5 + kind as usize;
        self.slots[slot].increment(messages);
        self.slots[10 + slot].increment(bytes);
    }

    /// A message taken by the dispatch loop (which counts in a [`Tally`] first).
    #[cfg(test)]
    pub(crate) fn message_in(&self, kind: Kind, bytes: usize) {
        self.count(Direction::In, kind, 1, bytes as u64);
    }

    /// A message queued for sending.
    pub(crate) fn message_out(&self, kind: Kind, bytes: usize) {
        self.count(Direction::Out, kind, 1, bytes as u64);
    }
}

/// Message counts of one connection's dispatch loop not yet added to its [`MessageCounters`]:
/// plain additions per message, flushed once per batch of messages (before the loop waits for
/// the next), so a handled message costs no call into the recorder.
///
/// The price: while a handler of the batch runs (or waits), the counts of the messages before
/// it in the same batch (at most the inbox's 64) are not published yet.
#[derive(Default)]
pub(crate) struct Tally {
    values: [u64; SLOTS],
    /// Bit `i` set: `values[i]` (and `values[10 + i]`) may be non-zero.
    touched: u16,
}

impl Tally {
    fn add(&mut self, direction: Direction, kind: Kind, bytes: usize) {
        let slot = direction as usize * 5 + kind as usize;
        self.values[slot] += 1;
        self.values[10 + slot] += bytes as u64;
        self.touched |= 1 << slot;
    }

    /// A message taken by the dispatch loop.
    pub(crate) fn message_in(&mut self, kind: Kind, bytes: usize) {
        self.add(Direction::In, kind, bytes);
    }

    /// A message the dispatch loop queued for sending.
    pub(crate) fn message_out(&mut self, kind: Kind, bytes: usize) {
        self.add(Direction::Out, kind, bytes);
    }

    /// Adds what was counted to `counters`, and starts again from zero.
    pub(crate) fn flush(&mut self, counters: &MessageCounters) {
        let mut touched = std::mem::take(&mut self.touched);
        while touched != 0 {
            let slot = touched.trailing_zeros() as usize;
            touched &= touched - 1;
            for i in [slot, 10 + slot] {
                let value = std::mem::take(&mut self.values[i]);
                if value != 0 {
                    counters.slots[i].increment(value);
                }
            }
        }
    }
}

/// Adds `messages` messages of `bytes` bytes in all to the counters of `direction` and `kind`.
fn count_messages(direction: Direction, kind: Kind, messages: u64, bytes: u64) {
    MessageCounters::current().count(direction, kind, messages, bytes);
}

/// A message received, counted without a connection's [`MessageCounters`].
#[cfg(test)]
pub(crate) fn message_in(kind: Kind, bytes: usize) {
    count_messages(Direction::In, kind, 1, bytes as u64);
}

/// A message queued for sending by a server-side connection without its own counters.
pub(crate) fn message_out(kind: Kind, bytes: usize) {
    count_messages(Direction::Out, kind, 1, bytes as u64);
}

/// The same message queued on `count` server-side connections (a broadcast).
pub(crate) fn messages_out(kind: Kind, count: usize, bytes_each: usize) {
    if count == 0 || !matches!(kind, Kind::Text | Kind::Binary) {
        return;
    }
    count_messages(
        Direction::Out,
        kind,
        count as u64,
        (count * bytes_each) as u64,
    );
}

/// A connection opened.
pub(crate) fn connection_opened() {
    metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
    metrics::counter!(CONNECTIONS_TOTAL).increment(1);
}

/// A connection ended.
pub(crate) fn connection_closed() {
    metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
}

/// The `kind` label of an error.
pub(crate) fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::CorruptedFrame(_) | Error::InvalidHandshake { .. } => "protocol",
        Error::PayloadTooLarge(_) => "too_large",
        Error::Connection(_) | Error::Tls { .. } => "io",
        Error::WriteTimedOut => "write_timeout",
        Error::PayloadBinding(_) => "binding",
        Error::PayloadValidation(_) => "validation",
        Error::Handler(_) => "handler",
        _ => "other",
    }
}

/// Counts an error of `kind` (a label of [`ERRORS_TOTAL`]).
pub(crate) fn error(kind: &'static str) {
    match kind {
        "protocol" => metrics::counter!(ERRORS_TOTAL, "kind" => "protocol").increment(1),
        "too_large" => metrics::counter!(ERRORS_TOTAL, "kind" => "too_large").increment(1),
        "io" => metrics::counter!(ERRORS_TOTAL, "kind" => "io").increment(1),
        "write_timeout" => metrics::counter!(ERRORS_TOTAL, "kind" => "write_timeout").increment(1),
        "binding" => metrics::counter!(ERRORS_TOTAL, "kind" => "binding").increment(1),
        "validation" => metrics::counter!(ERRORS_TOTAL, "kind" => "validation").increment(1),
        "handler" => metrics::counter!(ERRORS_TOTAL, "kind" => "handler").increment(1),
        "panic" => metrics::counter!(ERRORS_TOTAL, "kind" => "panic").increment(1),
        "upgrade" => metrics::counter!(ERRORS_TOTAL, "kind" => "upgrade").increment(1),
        other => metrics::counter!(ERRORS_TOTAL, "kind" => other).increment(1),
    }
}

/// Counts and logs an error on an open connection (inside its span).
pub(crate) fn connection_error(error: &Error) {
    let kind = error_kind(error);
    self::error(kind);
    tracing::warn!(kind, error = %error, "websocket error");
}

/// Counts and logs a refused upgrade request.
pub(crate) fn handshake_refused(
    status: StatusCode,
    path: &str,
    peer: Option<std::net::SocketAddr>,
    reason: &str,
) {
    metrics::counter!(HANDSHAKE_FAILURES_TOTAL, "status" => status.as_u16().to_string())
        .increment(1);
    tracing::debug!(
        status = status.as_u16(),
        path,
        peer = peer.map(tracing::field::display),
        reason,
        "websocket handshake refused"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds() {
        assert_eq!(error_kind(&Error::CorruptedFrame("x".into())), "protocol");
        assert_eq!(error_kind(&Error::PayloadTooLarge("x".into())), "too_large");
        assert_eq!(error_kind(&Error::PayloadBinding("x".into())), "binding");
        assert_eq!(error_kind(&Error::WriteTimedOut), "write_timeout");
        assert_eq!(error_kind(&Error::ReadTimedOut), "other");
    }

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// A recorder that keeps its counters by key and counts its registrations.
    #[derive(Default)]
    struct Counting {
        counters: Mutex<HashMap<Key, Arc<AtomicU64>>>,
        registrations: AtomicUsize,
    }

    impl Recorder for Counting {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

        fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
            assert_eq!(
                metadata.target(),
                module_path!().trim_end_matches("::tests")
            );
            self.registrations.fetch_add(1, Ordering::Relaxed);
            let mut counters = self.counters.lock().unwrap();
            Counter::from_arc(counters.entry(key.clone()).or_default().clone())
        }

        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }

        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    impl Counting {
        /// (messages, bytes) counted for `direction` and `kind`, `None` when never registered.
        fn get(&self, direction: &str, kind: &str) -> (Option<u64>, Option<u64>) {
            let counters = self.counters.lock().unwrap();
            let value = |name: &str| {
                counters.iter().find_map(|(key, value)| {
                    let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
                    (key.name() == name && labels == [("direction", direction), ("kind", kind)])
                        .then(|| value.load(Ordering::Relaxed))
                })
            };
            (value(MESSAGES_TOTAL), value(BYTES_TOTAL))
        }

        fn series(&self) -> usize {
            self.counters.lock().unwrap().len()
        }

        fn registrations(&self) -> usize {
            self.registrations.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn message_counters_follow_the_recorder() {
        let first = Counting::default();
        let second = Counting::default();
        metrics::with_local_recorder(&first, || {
            for _ in 0..3 {
                message_in(Kind::Text, 5);
            }
            message_in(Kind::Binary, 7);
            message_out(Kind::Close, 2);
            messages_out(Kind::Text, 4, 10);
            messages_out(Kind::Binary, 0, 10);
            messages_out(Kind::Ping, 3, 1);
        });
        assert_eq!(first.get("in", "text"), (Some(3), Some(15)));
        assert_eq!(first.get("in", "binary"), (Some(1), Some(7)));
        assert_eq!(first.get("out", "close"), (Some(1), Some(2)));
        assert_eq!(first.get("out", "text"), (Some(4), Some(40)));
        // Every series is registered, once per thread, and exists at zero until counted.
        assert_eq!(first.get("out", "binary"), (Some(0), Some(0)));
        assert_eq!(first.get("out", "ping"), (Some(0), Some(0)));
        assert_eq!(first.series(), SLOTS);
        assert_eq!(first.registrations(), SLOTS);

        // Another recorder gets its own handles; the first keeps its counts.
        metrics::with_local_recorder(&second, || {
            message_in(Kind::Text, 1);
            message_in(Kind::Pong, 0);
        });
        assert_eq!(second.get("in", "text"), (Some(1), Some(1)));
        assert_eq!(second.get("in", "pong"), (Some(1), Some(0)));
        assert_eq!(second.registrations(), SLOTS);
        assert_eq!(first.get("in", "text"), (Some(3), Some(15)));

        // Back and forth, nested.
        metrics::with_local_recorder(&first, || {
            message_in(Kind::Text, 5);
            metrics::with_local_recorder(&second, || message_in(Kind::Text, 1));
            message_in(Kind::Text, 5);
        });
        assert_eq!(first.get("in", "text"), (Some(5), Some(25)));
        assert_eq!(second.get("in", "text"), (Some(2), Some(2)));
        // One set per thread is kept: coming back to a recorder registers again (twice here,
        // around the nested one), and the counts still add up above.
        assert_eq!(first.registrations(), 3 * SLOTS);

        // Without them, neither sees anything.
        message_in(Kind::Text, 5);
        assert_eq!(first.get("in", "text"), (Some(5), Some(25)));
        assert_eq!(second.get("in", "text"), (Some(2), Some(2)));
    }

    #[test]
    fn a_tally_adds_up_and_publishes_on_flush() {
        let recorder = Counting::default();
        let counters = metrics::with_local_recorder(&recorder, MessageCounters::current);
        let mut tally = Tally::default();
        for _ in 0..3 {
            tally.message_in(Kind::Text, 5);
        }
        tally.message_out(Kind::Binary, 7);
        assert_eq!(recorder.get("in", "text"), (Some(0), Some(0)));
        tally.flush(&counters);
        assert_eq!(recorder.get("in", "text"), (Some(3), Some(15)));
        assert_eq!(recorder.get("out", "binary"), (Some(1), Some(7)));
        // A flush publishes each count once.
        tally.flush(&counters);
        tally.message_in(Kind::Text, 1);
        tally.flush(&counters);
        assert_eq!(recorder.get("in", "text"), (Some(4), Some(16)));
        assert_eq!(recorder.get("out", "binary"), (Some(1), Some(7)));
    }

    #[test]
    fn a_connection_takes_the_counters_current_when_it_opens() {
        let first = Counting::default();
        let second = Counting::default();
        let (a, b) = metrics::with_local_recorder(&first, || {
            (MessageCounters::current(), MessageCounters::current())
        });
        // Connections opened under one recorder share one set of handles.
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        a.message_in(Kind::Text, 5);
        b.message_out(Kind::Text, 5);
        a.message_in(Kind::Binary, 3);
        assert_eq!(first.get("in", "text"), (Some(1), Some(5)));
        assert_eq!(first.get("out", "text"), (Some(1), Some(5)));
        assert_eq!(first.get("in", "binary"), (Some(1), Some(3)));
        // Every series exists from the first connection on.
        assert_eq!(first.series(), SLOTS);
        assert_eq!(first.get("out", "close"), (Some(0), Some(0)));
        // A connection opened under another recorder counts there.
        let c = metrics::with_local_recorder(&second, MessageCounters::current);
        assert!(!std::sync::Arc::ptr_eq(&a, &c));
        c.message_in(Kind::Text, 1);
        assert_eq!(second.get("in", "text"), (Some(1), Some(1)));
        assert_eq!(first.get("in", "text"), (Some(1), Some(5)));
    }
}
