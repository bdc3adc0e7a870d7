//! The connection driver: one future that owns the socket and runs the protocol, and cheap
//! handles that send and receive through it from any task.
//!
//! The driver reads and writes concurrently, answers pings and echoes a peer's close even while
//! nobody calls [`WebSocket::recv`] or [`WebSocket::send`], writes every frame queued while a
//! write was in flight in one vectored write, and performs the closing handshake of RFC 6455
//! section 7: send close, wait for the peer's close up to a timeout, and (as a server) close
//! TCP first. A connection that ends without a closing handshake reports code 1006.

use crate::error::{Closure, Error, Result};
use crate::proto::codec::WriteBuf;
use crate::proto::deflate::DeflateParams;
use crate::proto::{
    CloseCode, CloseFrame, Decoder, Encoder, Event, Limits, Message, OpCode, ProtocolError, Role,
};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Settings of one connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnConfig {
    /// Receive limits (default: 64 KiB frames, 16 MiB messages).
    pub limits: Limits,
    /// Outbound fragment size; 0 never fragments (default 64 KiB).
    pub max_send_frame_size: usize,
    /// How long to wait for the peer's close frame after ours (default 60 s; `None` waits
    /// forever). Also bounds how long the last frames may take to leave once the connection is
    /// done (at least one second, so a zero timeout still sends the close frame).
    pub close_timeout: Option<Duration>,
    /// Bytes that may wait in the outbound buffer before senders wait (default 1 MiB).
    pub write_buffer_limit: usize,
    /// Answer pings automatically (default true). When false, pings are delivered to the reader.
    pub auto_pong: bool,
    /// Deliver received pongs to the reader (default false).
    pub deliver_pongs: bool,
    /// Deliver pings and pongs through [`WebSocket::recv_control`] instead of
    /// [`WebSocket::recv`], so a control task can answer them while nobody reads messages
    /// (default false).
    pub separate_control: bool,
    /// Send a ping every `interval` and close with 1011 "keepalive ping timeout" when no pong
    /// arrives within `timeout` (default off here; the listener turns it on for servers).
    pub keepalive: Option<Keepalive>,
    /// How long a send may wait for room in the outbound buffer (default: forever).
    pub write_timeout: Option<Duration>,
    /// When a send waited `write_timeout` in vain: `None` (default) fails only that send with
    /// [`Error::WriteTimedOut`]; `Some(code)` also closes the connection with `code` (1008 or
    /// 1013), so a peer that stopped reading cannot hold the writer.
    pub overflow_close: Option<CloseCode>,
    /// Compression level for permessage-deflate, 0-9.
    pub deflate_level: u32,
    /// Messages below this many bytes are sent uncompressed.
    pub deflate_threshold: usize,
}

impl Default for ConnConfig {
    fn default() -> Self {
        let deflate = crate::proto::deflate::DeflateConfig::default();
        Self {
            limits: Limits::default(),
            max_send_frame_size: 64 << 10,
            close_timeout: Some(Duration::from_secs(60)),
            write_buffer_limit: 1 << 20,
            auto_pong: true,
            deliver_pongs: false,
            separate_control: false,
            keepalive: None,
            write_timeout: None,
            overflow_close: None,
            deflate_level: deflate.level,
            deflate_threshold: deflate.threshold,
        }
    }
}

/// Keepalive pings: one every `interval`; no pong within `timeout` closes with 1011.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between pings (default 20 s).
    pub interval: Duration,
    /// How long to wait for the pong (default 20 s).
    pub timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(20),
            timeout: Duration::from_secs(20),
        }
    }
}

/// What a reader receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A data message.
    Message(Message),
    /// A ping (only when automatic pongs are off).
    Ping(Bytes),
    /// A pong (only when pongs are delivered).
    Pong(Bytes),
    /// The peer started the closing handshake; our reply is already on its way.
    Close(Option<CloseFrame>),
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Stop reading ahead once this many bytes of messages wait for the reader.
const INBOX_BYTES: usize = 256 << 10;
/// ... or this many messages.
const INBOX_MESSAGES: usize = 64;

#[derive(Debug)]
enum Phase {
    Open,
    /// We sent close; waiting for the peer's.
    CloseSent,
    /// Both close frames exchanged (or the connection failed): flush and close TCP.
    Done,
}

struct State {
    encoder: Encoder,
    wbuf: WriteBuf,
    write_limit: usize,
    writers: Vec<Waker>,
    inbox: VecDeque<Incoming>,
    inbox_bytes: usize,
    reader: Option<Waker>,
    driver: Option<Waker>,
    /// The driver stopped reading because the inbox is full; the reader wakes it once it took
    /// something (and only then: a wake per message would cost a task poll per message).
    driver_parked_on_inbox: bool,
    /// The reader took a batch of incoming items ([`WebSocket::poll_recv_batch`]) and may not
    /// have handled them all yet: a protocol failure waits for it as for the inbox.
    batch_outstanding: bool,
    /// While the task that runs both the driver and the only reader polls them in turn (see
    /// [`WebSocket::inline_begin`]), wakes aimed at that task are recorded here instead: it
    /// polls both again anyway.
    inline_waker: Option<Waker>,
    inline_active: bool,
    /// Wakes recorded for the driver and for the reader.
    inline_pending: Wakes,
    phase: Phase,
    close_sent: bool,
    /// Why the connection ended (or is ending), reported to readers once the inbox is empty.
    end: Option<EndReason>,
    /// The error that failed the connection, reported once to a reader before `end`.
    failure: Option<Error>,
    /// A protocol violation seen while good messages still wait in the inbox.
    deferred_failure: Option<ProtocolError>,
    finished: bool,
    finish_waiters: Vec<Waker>,
    close_timeout: Option<Duration>,
    close_timeout_hit: bool,
    auto_pong: bool,
    deliver_pongs: bool,
    separate_control: bool,
    control: VecDeque<Incoming>,
    control_reader: Option<Waker>,
    pong_seen: bool,
    /// The payload of the latest ping not answered yet because the outbound buffer was full.
    pending_pong: Option<Bytes>,
    aborted: bool,
    /// The runtime itself ended the connection (keepalive timeout, full outbound buffer).
    runtime_close: bool,
    write_timeout: Option<Duration>,
    overflow_close: Option<CloseCode>,
}

#[derive(Clone, Debug)]
struct EndReason {
    code: CloseCode,
    reason: String,
}

struct Shared {
    /// A server-side connection's message counters (see `crate::observability`).
    counters: std::sync::OnceLock<Arc<crate::observability::MessageCounters>>,
    id: u64,
    role: Role,
    protocol: Option<String>,
    deflate: Option<DeflateParams>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (no invariant spans a panic point).
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl State {
    /// Whether a wake of `w` can be left to the task polling driver and reader in turn.
    fn inline(&self, w: &Waker) -> bool {
        self.inline_active && self.inline_waker.as_ref().is_some_and(|i| i.will_wake(w))
    }

    fn wake_driver(&mut self) {
        if let Some(w) = &self.driver {
            if self.inline(w) {
                self.inline_pending.driver = true;
            } else {
                w.wake_by_ref();
            }
        }
    }

    fn wake_reader(&mut self) {
        if let Some(w) = &self.reader {
            if self.inline(w) {
                // Kept: the same task registers the same waker again.
                self.inline_pending.reader = true;
            } else if let Some(w) = self.reader.take() {
                w.wake();
            }
        }
    }

    fn push_control(&mut self, item: Incoming) {
        if self.separate_control {
            // Bounded: a control task that stopped reading loses the oldest, never memory.
            if self.control.len() >= INBOX_MESSAGES {
                self.control.pop_front();
            }
            self.control.push_back(item);
            if let Some(w) = self.control_reader.take() {
                w.wake();
            }
        } else {
            self.inbox.push_back(item);
            self.wake_reader();
        }
    }

    fn wake_all_readers(&mut self) {
        self.wake_reader();
        if let Some(w) = self.control_reader.take() {
            w.wake();
        }
    }

    /// Whether the driver must stop reading until the reader takes something.
    fn inbox_full(&self) -> bool {
        self.inbox.len() >= INBOX_MESSAGES || self.inbox_bytes >= INBOX_BYTES
    }

    fn wake_writers(&mut self) {
        if self.writers.is_empty() {
            return;
        }
        for w in self.writers.drain(..) {
            w.wake();
        }
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let was_empty = self.wbuf.is_empty();
        self.encoder.encode_close(frame, &mut self.wbuf);
        self.close_sent = true;
        if was_empty {
            self.wake_driver();
        }
    }

    /// Fails the connection for a protocol violation: close frame with the error's code, then
    /// TCP closed (RFC 6455 7.1.7); the stream cannot be parsed further, so the peer's reply is
    /// not awaited.
    fn fail(&mut self, err: ProtocolError) {
        if !self.close_sent {
            self.queue_close(Some(&CloseFrame::new(err.code, err.reason)));
        }
        self.failure = Some(err.into());
        self.end_with(err.code, err.reason);
        self.phase = Phase::Done;
        self.wake_all_readers();
        self.wake_writers();
        self.wake_driver();
    }

    fn end_with(&mut self, code: CloseCode, reason: &str) {
        if self.end.is_none() {
            self.end = Some(EndReason {
                code,
                reason: reason.to_owned(),
            });
        }
    }

    fn closure_error(&self) -> Error {
        match &self.end {
            Some(end) => Error::closed(end.code, end.reason.clone()),
            None => Error::closed(CloseCode::ABNORMAL, ""),
        }
    }
}

/// A handle to one WebSocket connection. Cheap to clone, `Send + Sync`; every clone talks to
/// the same connection.
#[derive(Clone)]
pub struct WebSocket {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("id", &self.shared.id)
            .field("role", &self.shared.role)
            .field("open", &self.is_open())
            .finish()
    }
}

impl WebSocket {
    /// Wraps an upgraded stream. Returns the handle and the driver future, which must be
    /// spawned (or otherwise polled) for the connection to make progress.
    ///
    /// `read_buf` holds bytes already read past the handshake; `protocol` and `deflate` are what
    /// the handshake negotiated.
    pub fn from_upgraded<S>(
        stream: S,
        role: Role,
        config: ConnConfig,
        protocol: Option<String>,
        deflate: Option<DeflateParams>,
        read_buf: BytesMut,
    ) -> (Self, Driver<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let encoder = Encoder::new(
            role,
            config.max_send_frame_size,
            deflate.map(|p| {
                (
                    p.compressor(role, config.deflate_level),
                    config.deflate_threshold,
                )
            }),
        );
        let decoder = Decoder::new(role, config.limits, deflate.map(|p| p.decompressor(role)));
        let state = State {
            encoder,
            wbuf: WriteBuf::new(),
            write_limit: config.write_buffer_limit.max(1),
            writers: Vec::new(),
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            reader: None,
            driver: None,
            driver_parked_on_inbox: false,
            batch_outstanding: false,
            inline_waker: None,
            inline_active: false,
            inline_pending: Wakes::default(),
            phase: Phase::Open,
            close_sent: false,
            end: None,
            failure: None,
            deferred_failure: None,
            finished: false,
            finish_waiters: Vec::new(),
            close_timeout: config.close_timeout,
            close_timeout_hit: false,
            auto_pong: config.auto_pong,
            deliver_pongs: config.deliver_pongs,
            separate_control: config.separate_control,
            control: VecDeque::new(),
            control_reader: None,
            pong_seen: false,
            pending_pong: None,
            aborted: false,
            runtime_close: false,
            write_timeout: config.write_timeout,
            overflow_close: config.overflow_close,
        };
        let shared = Arc::new(Shared {
            counters: std::sync::OnceLock::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            role,
            protocol,
            deflate,
            state: Mutex::new(state),
        });
        let driver = Driver {
            stream,
            rbuf: read_buf,
            decoder,
            shared: shared.clone(),
            read_closed: false,
            shutdown_done: false,
            timer: None,
            keepalive: config.keepalive,
            keepalive_timer: None,
            awaiting_pong: false,
            defer_timer: None,
            deflate_idle_timer: None,
            turns: false,
            read_blocked: false,
            decode_gate: true,
            write_check: true,
        };
        (Self { shared }, driver)
    }

    /// A process-wide unique id of this connection.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.shared.role
    }

    /// The negotiated sub-protocol, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol.as_deref()
    }

    /// The negotiated permessage-deflate parameters, if compression is on.
    pub fn deflate(&self) -> Option<DeflateParams> {
        self.shared.deflate
    }

    /// Whether messages may still be sent: no close frame sent and the connection not ended.
    pub fn is_open(&self) -> bool {
        let state = self.shared.lock();
        !state.close_sent && state.end.is_none() && !state.finished
    }

    /// Receives the next message, ping, pong or the peer's close.
    ///
    /// After the connection ended, fails with [`Error::ConnectionClosure`] carrying the close code
    /// (1006 for an abnormal end). A protocol violation by the peer is reported once, as
    /// [`Error::CorruptedFrame`] or [`Error::PayloadTooLarge`], before that.
    pub async fn recv(&self) -> Result<Incoming> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`WebSocket::recv`].
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Incoming>> {
        let mut state = self.shared.lock();
        if let Some(item) = state.inbox.pop_front() {
            if let Incoming::Message(m) = &item {
                state.inbox_bytes -= m.len();
            }
            if std::mem::take(&mut state.driver_parked_on_inbox) {
                // Room freed: let the driver read on.
                state.wake_driver();
            }
            return Poll::Ready(Ok(item));
        }
        Self::poll_recv_empty(&mut state, cx)
    }

    /// As [`WebSocket::poll_recv`], and moves whatever else is waiting into `rest` (which must
    /// be empty) under the same lock: one lock per batch of messages instead of one each. The
    /// caller must take everything in `rest` before it calls again.
    pub(crate) fn poll_recv_batch(
        &self,
        cx: &mut Context<'_>,
        rest: &mut VecDeque<Incoming>,
    ) -> Poll<Result<Incoming>> {
        debug_assert!(rest.is_empty());
        let mut state = self.shared.lock();
        state.batch_outstanding = false;
        state.inline_pending.reader = false;
        if let Some(item) = state.inbox.pop_front() {
            std::mem::swap(&mut state.inbox, rest);
            state.inbox_bytes = 0;
            state.batch_outstanding = !rest.is_empty();
            if std::mem::take(&mut state.driver_parked_on_inbox) {
                state.wake_driver();
            }
            return Poll::Ready(Ok(item));
        }
        Self::poll_recv_empty(&mut state, cx)
    }

    /// The end of [`WebSocket::poll_recv`] when the inbox is empty: a failure, the end, or
    /// waiting.
    fn poll_recv_empty(state: &mut State, cx: &mut Context<'_>) -> Poll<Result<Incoming>> {
        if let Some(err) = state.deferred_failure.take() {
            state.fail(err);
        }
        if let Some(err) = state.failure.take() {
            return Poll::Ready(Err(err));
        }
        if state.end.is_some() || state.finished {
            return Poll::Ready(Err(state.closure_error()));
        }
        if !state
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.reader = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Receives the next ping or pong when [`ConnConfig::separate_control`] is on. Fails with
    /// [`Error::ConnectionClosure`] once the connection ended.
    pub async fn recv_control(&self) -> Result<Incoming> {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(item) = state.control.pop_front() {
                return Poll::Ready(Ok(item));
            }
            if state.end.is_some() || state.finished {
                return Poll::Ready(Err(state.closure_error()));
            }
            state.control_reader = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Sends a data message, fragmented at the configured frame size and compressed when
    /// negotiated. Waits while the outbound buffer is over its limit.
    pub async fn send(&self, message: Message) -> Result<()> {
        let attempted = if message.is_text() {
            "text data"
        } else {
            "binary data"
        };
        if !self.encode_now(&message, attempted, false)? {
            // Slow path: wait for room (bounded by the write timeout), then queue regardless.
            // Boxed: its timer would otherwise make every `send` future (and so every
            // connection's task) larger.
            Box::pin(self.wait_for_room_bounded(attempted)).await?;
            self.encode_now(&message, attempted, true)?;
        }
        self.count_out(crate::observability::Kind::of(&message), message.len());
        Ok(())
    }

    /// Queues `message` if the outbound buffer has room, without waiting: `Ok(None)` once
    /// queued, `Ok(Some(message))` (given back, for [`WebSocket::send`]) when the buffer is full.
    /// Unlike `send`, it leaves counting the message in the metrics to the caller.
    pub(crate) fn send_now(&self, message: Message) -> Result<Option<Message>> {
        let attempted = if message.is_text() {
            "text data"
        } else {
            "binary data"
        };
        if !self.encode_now(&message, attempted, false)? {
            return Ok(Some(message));
        }
        Ok(None)
    }

    /// Queues `message` under one lock: `Ok(false)` when the outbound buffer is full (and
    /// `force` is off).
    fn encode_now(&self, message: &Message, attempted: &'static str, force: bool) -> Result<bool> {
        let mut state = self.shared.lock();
        Self::check_open(&state, attempted)?;
        if !force && state.wbuf.len() >= state.write_limit {
            return Ok(false);
        }
        let was_empty = state.wbuf.is_empty();
        let State { encoder, wbuf, .. } = &mut *state;
        encoder.encode_message(message, wbuf)?;
        if was_empty {
            state.wake_driver();
        }
        Ok(true)
    }

    /// Sends `message` without waiting: `Ok(false)` when the outbound buffer is full. `shared`
    /// holds the same message encoded once by [`Encoder::encode_shared`], used instead of
    /// encoding again when this connection would send it as one plain frame.
    pub fn try_send_shared(&self, message: &Message, shared: &Bytes) -> Result<bool> {
        let attempted = if message.is_text() {
            "text data"
        } else {
            "binary data"
        };
        let mut state = self.shared.lock();
        Self::check_open(&state, attempted)?;
        if state.wbuf.len() >= state.write_limit {
            return Ok(false);
        }
        let was_empty = state.wbuf.is_empty();
        let State { encoder, wbuf, .. } = &mut *state;
        if encoder.sends_plain(message.len()) {
            wbuf.push_encoded(shared.clone());
        } else {
            encoder.encode_message(message, wbuf)?;
        }
        if was_empty {
            state.wake_driver();
        }
        Ok(true)
    }

    /// Waits until the outbound buffer has room (or the connection ends).
    pub async fn writable(&self) -> Result<()> {
        self.wait_for_room("text data").await
    }

    /// Sends a ping; the payload must be at most 125 bytes. Waits, like [`WebSocket::send`],
    /// while the outbound buffer is over its limit.
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.send_control(OpCode::Ping, payload.into(), "ping")
            .await
    }

    /// Sends a pong; the payload must be at most 125 bytes. Waits, like [`WebSocket::send`],
    /// while the outbound buffer is over its limit.
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.send_control(OpCode::Pong, payload.into(), "pong")
            .await
    }

    async fn send_control(
        &self,
        opcode: OpCode,
        payload: Bytes,
        attempted: &'static str,
    ) -> Result<()> {
        if payload.len() > crate::proto::frame::MAX_CONTROL_PAYLOAD {
            return Err(Error::InvalidArgument(format!(
                "{attempted} payload of {} bytes; control frames carry at most 125",
                payload.len()
            )));
        }
        // Bounded like data: a peer that pings a service answering pings itself, and never
        // reads, must not grow the buffer either.
        let full = {
            let state = self.shared.lock();
            state.wbuf.len() >= state.write_limit
        };
        if full {
            Box::pin(self.wait_for_room_bounded(attempted)).await?;
        }
        let mut state = self.shared.lock();
        Self::check_open(&state, attempted)?;
        let was_empty = state.wbuf.is_empty();
        let State { encoder, wbuf, .. } = &mut *state;
        encoder.encode_control(opcode, &payload, wbuf);
        if was_empty {
            state.wake_driver();
        }
        drop(state);
        if self.shared.role == Role::Server {
            let kind = if opcode == OpCode::Ping {
                crate::observability::Kind::Ping
            } else {
                crate::observability::Kind::Pong
            };
            self.count_out(kind, payload.len());
        }
        Ok(())
    }

    /// Starts the closing handshake with `frame` (`None`: no status code) and waits until the
    /// peer answered and the connection ended, or `timeout` passed (`None`: the connection's
    /// close timeout). Fails if a close frame was already sent or the code may not be sent.
    pub async fn close(&self, frame: Option<CloseFrame>, timeout: Option<Duration>) -> Result<()> {
        if let Some(f) = &frame {
            if !f.code.is_sendable() {
                return Err(Error::ConnectionClosure(Closure::InvalidCode(
                    f.code.as_u16(),
                )));
            }
        }
        {
            let mut state = self.shared.lock();
            Self::check_open(&state, "close frame")?;
            if let Some(t) = timeout {
                state.close_timeout = Some(t);
            }
            state.queue_close(frame.as_ref());
            state.phase = Phase::CloseSent;
            state.wake_driver();
        }
        self.count_close_out(frame.as_ref());
        self.closed().await;
        let state = self.shared.lock();
        if state.close_timeout_hit {
            return Err(Error::ConnectionClosure(Closure::CloseTimeout(
                state.close_timeout.unwrap_or_default(),
            )));
        }
        Ok(())
    }

    /// Sends a close frame without waiting for the handshake to finish.
    pub fn start_close(&self, frame: Option<CloseFrame>) -> Result<()> {
        if let Some(f) = &frame {
            if !f.code.is_sendable() {
                return Err(Error::ConnectionClosure(Closure::InvalidCode(
                    f.code.as_u16(),
                )));
            }
        }
        {
            let mut state = self.shared.lock();
            Self::check_open(&state, "close frame")?;
            state.queue_close(frame.as_ref());
            state.phase = Phase::CloseSent;
            state.wake_driver();
        }
        self.count_close_out(frame.as_ref());
        Ok(())
    }

    /// Counts a close frame queued by a server-side connection (see `crate::observability`).
    fn count_close_out(&self, frame: Option<&CloseFrame>) {
        let bytes = frame.map_or(0, |f| 2 + f.reason.len());
        self.count_out(crate::observability::Kind::Close, bytes);
    }

    /// Ends the connection now, without a closing handshake.
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        state.end_with(CloseCode::ABNORMAL, "aborted");
        state.phase = Phase::Done;
        state.aborted = true;
        state.wake_driver();
        state.wake_all_readers();
    }

    /// Waits until the driver finished: the socket is closed.
    pub async fn closed(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.finished {
                Poll::Ready(())
            } else {
                state.finish_waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Whether the runtime itself ended the connection: a keepalive timeout (1011) or an
    /// outbound buffer that stayed full (the overflow close code).
    pub fn closed_by_runtime(&self) -> bool {
        self.shared.lock().runtime_close
    }

    /// The close code and reason the connection ended with, once it ended.
    pub fn close_status(&self) -> Option<(CloseCode, String)> {
        let state = self.shared.lock();
        state.end.as_ref().map(|e| (e.code, e.reason.clone()))
    }

    /// Starts a turn of a task that polls this connection's driver and its reader one after
    /// the other: until [`WebSocket::inline_end`], wakes of `waker` (that task) from either side
    /// are only recorded, saving a task wake-up and a second poll per message.
    pub(crate) fn inline_begin(&self, waker: &Waker) {
        let mut state = self.shared.lock();
        if !state
            .inline_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(waker))
        {
            state.inline_waker = Some(waker.clone());
        }
        state.inline_active = true;
        state.inline_pending = Wakes::default();
    }

    /// The wakes recorded since the turn began (or the last call): the caller polls the woken
    /// sides again. With `stay` off, or when nothing was recorded, the turn ends and wakes go
    /// through again.
    pub(crate) fn inline_end(&self, stay: bool) -> Wakes {
        let mut state = self.shared.lock();
        let pending = std::mem::take(&mut state.inline_pending);
        if !stay || !pending.any() {
            state.inline_active = false;
        }
        pending
    }

    /// Counts this connection's outbound messages in `counters` rather than through the
    /// per-call recorder lookup.
    pub(crate) fn set_counters(&self, counters: Arc<crate::observability::MessageCounters>) {
        let _ = self.shared.counters.set(counters);
    }

    /// Counts one outbound message of a server-side connection.
    fn count_out(&self, kind: crate::observability::Kind, bytes: usize) {
        if self.shared.role != Role::Server {
            return;
        }
        match self.shared.counters.get() {
            Some(counters) => counters.message_out(kind, bytes),
            None => crate::observability::message_out(kind, bytes),
        }
    }

    /// Bytes queued for sending.
    pub fn buffered_amount(&self) -> usize {
        self.shared.lock().wbuf.len()
    }

    fn check_open(state: &State, attempted: &'static str) -> Result<()> {
        if state.close_sent {
            return Err(Error::ConnectionClosure(Closure::CloseSent { attempted }));
        }
        if state.end.is_some() || state.finished {
            return Err(state.closure_error());
        }
        Ok(())
    }

    async fn wait_for_room_bounded(&self, attempted: &'static str) -> Result<()> {
        let timeout = self.shared.lock().write_timeout;
        let Some(timeout) = timeout else {
            return self.wait_for_room(attempted).await;
        };
        match tokio::time::timeout(timeout, self.wait_for_room(attempted)).await {
            Ok(result) => result,
            Err(_) => {
                let mut state = self.shared.lock();
                if let Some(code) = state.overflow_close {
                    // The peer stopped reading: give up on it rather than hold the writer.
                    if !state.close_sent {
                        state.queue_close(Some(&CloseFrame::new(code, "outbound buffer full")));
                    }
                    state.end_with(code, "outbound buffer full");
                    state.runtime_close = true;
                    state.phase = Phase::Done;
                    state.wake_driver();
                    state.wake_all_readers();
                    state.wake_writers();
                }
                Err(Error::WriteTimedOut)
            }
        }
    }

    async fn wait_for_room(&self, attempted: &'static str) -> Result<()> {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            Self::check_open(&state, attempted)?;
            if state.wbuf.len() < state.write_limit {
                return Poll::Ready(Ok(()));
            }
            state.writers.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// The future that runs one connection. Spawn it; it ends when the socket is closed.
#[must_use = "the connection makes no progress unless its driver is polled"]
pub struct Driver<S> {
    stream: S,
    rbuf: BytesMut,
    decoder: Decoder,
    shared: Arc<Shared>,
    read_closed: bool,
    shutdown_done: bool,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    keepalive: Option<Keepalive>,
    keepalive_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    awaiting_pong: bool,
    /// Bounds how long a deferred failure waits for the application to take its messages.
    defer_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Frees the compressor once the connection stopped sending compressed messages.
    deflate_idle_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Polled in turns of a task (see [`Driver::begin_turn`]).
    turns: bool,
    /// The socket had nothing to read in this turn: no use asking again until the next.
    read_blocked: bool,
    /// The inbox was full or the connection done when last looked (at the start of this poll,
    /// or by the decoder since): an empty read buffer still needs a look under the lock.
    decode_gate: bool,
    /// Whether the write side needs a look: set at the start of a poll when frames are queued,
    /// and when the driver queued one itself (a pong, a close); cleared once the buffer is
    /// found empty or the socket is full.
    write_check: bool,
}

impl<S> std::fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

/// The least time given to the last frames (our close frame) to leave once the connection is
/// done, whatever the close timeout.
const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// How long a connection may go without compressing a message before its compressor is freed.
const COMPRESSOR_IDLE: Duration = Duration::from_secs(5);

/// Read at least this much at a time into a connection's own buffer.
const READ_CHUNK: usize = 8 << 10;

/// The per-thread buffer that reads land in when no frame is partly buffered.
const SCRATCH_SIZE: usize = 64 << 10;

/// Which sides of a connection polled in turn by one task (see [`WebSocket::inline_begin`])
/// were woken.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wakes {
    /// The driver (bytes to write, room in the inbox).
    pub(crate) driver: bool,
    /// The reader (something in the inbox, or the end).
    pub(crate) reader: bool,
}

impl Wakes {
    /// Both sides, as at the start of a task poll.
    pub(crate) const BOTH: Self = Self {
        driver: true,
        reader: true,
    };

    /// Whether either side was woken.
    pub(crate) fn any(self) -> bool {
        self.driver || self.reader
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

enum Step {
    Progress,
    Idle,
}

impl<S> Driver<S> {
    /// Starts a turn: a poll of the task that runs this driver, which may poll it several
    /// times. A read that found the socket empty is not tried again in the same turn (readiness
    /// only changes between task polls; a change during one wakes the task).
    pub(crate) fn begin_turn(&mut self) {
        self.turns = true;
        self.read_blocked = false;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver<S> {
    fn handle_event(state: &mut State, event: Event) {
        let closing = !matches!(state.phase, Phase::Open);
        match event {
            Event::Message(m) => {
                if closing || state.close_sent {
                    return; // Data after our close frame is discarded (RFC 6455 5.5.1).
                }
                state.inbox_bytes += m.len();
                state.inbox.push_back(Incoming::Message(m));
                state.wake_all_readers();
            }
            Event::Ping(payload) => {
                if state.close_sent {
                    return;
                }
                if state.auto_pong {
                    if state.wbuf.len() >= state.write_limit {
                        // A peer that pings but never reads must not grow the buffer: answer
                        // only its latest ping, once there is room (RFC 6455 section 5.5.3).
                        state.pending_pong = Some(payload);
                    } else {
                        state.pending_pong = None;
                        let State { encoder, wbuf, .. } = state;
                        encoder.encode_control(OpCode::Pong, &payload, wbuf);
                    }
                } else {
                    state.push_control(Incoming::Ping(payload));
                }
            }
            Event::Pong(payload) => {
                state.pong_seen = true;
                if state.deliver_pongs && !state.close_sent {
                    state.push_control(Incoming::Pong(payload));
                }
            }
            Event::Close(frame) => {
                let (code, reason) = frame
                    .as_ref()
                    .map_or((CloseCode::NO_STATUS, String::new()), |f| {
                        (f.code, f.reason.to_string())
                    });
                if !state.close_sent {
                    // Echo the peer's code (RFC 6455 5.5.1); no code if it sent none.
                    let echo = frame.as_ref().map(|f| CloseFrame {
                        code: f.code,
                        reason: std::borrow::Cow::Borrowed(""),
                    });
                    state.queue_close(echo.as_ref());
                    state.inbox.push_back(Incoming::Close(frame));
                    state.wake_all_readers();
                }
                state.end_with(code, &reason);
                state.phase = Phase::Done;
                state.wake_writers();
            }
        }
    }

    /// Decodes every complete frame in `buf` under one lock. `None` when more bytes are needed
    /// (and the inbox has room): the caller reads.
    fn decode_all(&mut self, buf: &mut BytesMut, cx: &mut Context<'_>) -> Option<Step> {
        let mut state = self.shared.lock();
        if matches!(state.phase, Phase::Done) {
            drop(state);
            self.decode_gate = true;
            return Some(self.poll_drain_until_eof(cx));
        }
        let mut progressed = false;
        loop {
            if state.inbox_full() {
                // The reader will wake us when it takes something.
                state.driver_parked_on_inbox = true;
                self.decode_gate = true;
                return Some(if progressed {
                    Step::Progress
                } else {
                    Step::Idle
                });
            }
            if buf.is_empty() {
                self.decode_gate = state.inbox_full();
                return progressed.then_some(Step::Progress);
            }
            match self.decoder.decode(buf) {
                Ok(Some(event)) => {
                    Self::handle_event(&mut state, event);
                    progressed = true;
                    if !state.wbuf.is_empty() {
                        // A pong or a close frame to send (or frames queued before).
                        self.write_check = true;
                    }
                    if matches!(state.phase, Phase::Done) {
                        self.decode_gate = true;
                        return Some(Step::Progress);
                    }
                }
                Ok(None) => {
                    self.decode_gate = state.inbox_full();
                    return progressed.then_some(Step::Progress);
                }
                Err(err) => {
                    if state.batch_outstanding
                        || state
                            .inbox
                            .iter()
                            .any(|i| matches!(i, Incoming::Message(_)))
                    {
                        // Messages before the bad frame were fine: let the application take
                        // (and answer) them first; the connection fails when the inbox is empty.
                        state.deferred_failure = Some(err);
                        state.wake_all_readers();
                    } else {
                        state.fail(err);
                    }
                    drop(state);
                    self.read_closed = true;
                    self.write_check = true;
                    self.decode_gate = true;
                    return Some(Step::Progress);
                }
            }
        }
    }

    fn poll_read_side(&mut self, cx: &mut Context<'_>) -> Step {
        if self.read_closed {
            return Step::Idle;
        }
        if !self.rbuf.is_empty() || self.decode_gate {
            let mut rbuf = std::mem::take(&mut self.rbuf);
            let decoded = self.decode_all(&mut rbuf, cx);
            self.rbuf = rbuf;
            if let Some(step) = decoded {
                return step;
            }
        }
        if self.read_blocked {
            return Step::Idle;
        }
        let needed = self.decoder.bytes_needed(self.rbuf.len());
        if self.rbuf.is_empty() && needed.is_none_or(|n| n <= SCRATCH_SIZE / 2) {
            if let Some(step) = self.poll_read_scratch(cx) {
                return step;
            }
        }
        // A frame is partly here: read into the connection's buffer, with room for the whole
        // frame (up to 1 MiB), so a big frame arrives in as few reads as the socket allows.
        let want = needed.unwrap_or(0).clamp(READ_CHUNK, 1 << 20);
        if self.rbuf.capacity() - self.rbuf.len() < want {
            self.rbuf.reserve(want);
        }
        let spare = self.rbuf.spare_capacity_mut();
        let mut read_buf = ReadBuf::uninit(spare);
        match Pin::new(&mut self.stream).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => {
                let n = read_buf.filled().len();
                if n == 0 {
                    self.on_eof();
                } else {
                    // SAFETY: `poll_read` initialised the first `n` bytes of the spare capacity.
                    unsafe { self.rbuf.set_len(self.rbuf.len() + n) };
                }
                Step::Progress
            }
            Poll::Ready(Err(e)) => {
                self.on_io_error(e);
                Step::Progress
            }
            Poll::Pending => {
                self.read_blocked = self.turns;
                Step::Idle
            }
        }
    }

    /// Reads into this thread's scratch buffer when nothing is buffered, decodes from there and
    /// keeps only what is left of a partial frame: an idle connection holds no read buffer, and
    /// small messages (copied out by the decoder) cost no buffer of their own. `None` when the
    /// scratch buffer is in use (a re-entrant poll): the caller reads the ordinary way.
    fn poll_read_scratch(&mut self, cx: &mut Context<'_>) -> Option<Step> {
        SCRATCH.with(|cell| {
            let mut scratch = cell.try_borrow_mut().ok()?;
            scratch.clear();
            if scratch.capacity() < SCRATCH_SIZE {
                // Reclaims the space the last read's frames took (in place, unless a large
                // payload split off it is still alive: then a new buffer).
                scratch.reserve(SCRATCH_SIZE);
            }
            let mut read_buf = ReadBuf::uninit(scratch.spare_capacity_mut());
            let step = match Pin::new(&mut self.stream).poll_read(cx, &mut read_buf) {
                Poll::Ready(Ok(())) => {
                    let n = read_buf.filled().len();
                    if n == 0 {
                        self.on_eof();
                        return Some(Step::Progress);
                    }
                    // SAFETY: `poll_read` initialised the first `n` bytes of the spare capacity.
                    unsafe { scratch.set_len(n) };
                    // Whatever the decoder did, it made progress: bytes arrived.
                    let _ = self.decode_all(&mut scratch, cx);
                    if !scratch.is_empty() {
                        // A partial frame, or frames the full inbox could not take yet.
                        self.rbuf.extend_from_slice(&scratch);
                        scratch.clear();
                    }
                    Step::Progress
                }
                Poll::Ready(Err(e)) => {
                    self.on_io_error(e);
                    Step::Progress
                }
                Poll::Pending => {
                    self.read_blocked = self.turns;
                    if self.rbuf.capacity() > 0 {
                        // Idle: give the connection's own buffer back.
                        self.rbuf = BytesMut::new();
                    }
                    Step::Idle
                }
            };
            Some(step)
        })
    }

    /// After the closing handshake a client waits for the server to close TCP (RFC 6455 7.1.1);
    /// whatever still arrives is discarded.
    fn poll_drain_until_eof(&mut self, cx: &mut Context<'_>) -> Step {
        if self.shared.role == Role::Server {
            return Step::Idle;
        }
        self.rbuf.clear();
        if self.rbuf.capacity() < 512 {
            self.rbuf.reserve(512);
        }
        let mut read_buf = ReadBuf::uninit(self.rbuf.spare_capacity_mut());
        match Pin::new(&mut self.stream).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) if read_buf.filled().is_empty() => {
                self.read_closed = true;
                Step::Progress
            }
            Poll::Ready(Ok(())) => Step::Progress,
            Poll::Ready(Err(_)) => {
                self.read_closed = true;
                Step::Progress
            }
            Poll::Pending => Step::Idle,
        }
    }

    fn on_eof(&mut self) {
        self.read_closed = true;
        let mut state = self.shared.lock();
        if !matches!(state.phase, Phase::Done) {
            state.end_with(
                CloseCode::ABNORMAL,
                "connection closed without a close frame",
            );
            state.phase = Phase::Done;
        }
        state.wake_all_readers();
        state.wake_writers();
    }

    fn on_io_error(&mut self, e: std::io::Error) {
        self.read_closed = true;
        let mut state = self.shared.lock();
        if !matches!(state.phase, Phase::Done) {
            state.end_with(CloseCode::ABNORMAL, &format!("connection lost: {e}"));
            state.phase = Phase::Done;
        }
        state.wbuf = WriteBuf::new();
        state.wake_all_readers();
        state.wake_writers();
    }

    fn poll_write_side(&mut self, cx: &mut Context<'_>) -> Step {
        if !self.write_check {
            return Step::Idle;
        }
        let mut state = self.shared.lock();
        if state.wbuf.is_empty() {
            self.write_check = false;
            return Step::Idle;
        }
        let result = match state.wbuf.as_single_slice() {
            Some(bytes) => Pin::new(&mut self.stream).poll_write(cx, bytes),
            None => {
                let mut slices = [IoSlice::new(&[]); 64];
                let n = state.wbuf.io_slices(&mut slices);
                Pin::new(&mut self.stream).poll_write_vectored(cx, &slices[..n])
            }
        };
        match result {
            Poll::Ready(Ok(0)) => {
                drop(state);
                self.on_io_error(std::io::ErrorKind::WriteZero.into());
                Step::Progress
            }
            Poll::Ready(Ok(written)) => {
                state.wbuf.advance(written);
                if state.wbuf.len() < state.write_limit {
                    if let Some(payload) = state.pending_pong.take() {
                        if !state.close_sent {
                            let State { encoder, wbuf, .. } = &mut *state;
                            encoder.encode_control(OpCode::Pong, &payload, wbuf);
                        }
                    }
                    state.wake_writers();
                }
                Step::Progress
            }
            Poll::Ready(Err(e)) => {
                drop(state);
                self.on_io_error(e);
                Step::Progress
            }
            Poll::Pending => {
                // The socket's write readiness wakes the task, and the next poll looks again.
                self.write_check = false;
                Step::Idle
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for Driver<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        {
            let mut state = this.shared.lock();
            if !state
                .driver
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.driver = Some(cx.waker().clone());
            }
            // Looking now at everything a recorded wake could have been about.
            state.inline_pending.driver = false;
            this.write_check = !state.wbuf.is_empty();
            this.decode_gate = state.driver_parked_on_inbox
                || state.inbox_full()
                || matches!(state.phase, Phase::Done);
            if state.aborted {
                drop(state);
                this.read_closed = true;
                this.shutdown_done = true; // cut, not a graceful shutdown
                return this.finish(cx);
            }
        }
        // Bounded so one busy connection cannot monopolise a worker thread.
        let mut budget_left = false;
        for _ in 0..256 {
            let read = this.poll_read_side(cx);
            let write = this.poll_write_side(cx);
            if matches!((read, write), (Step::Idle, Step::Idle)) {
                budget_left = true;
                break;
            }
        }
        if !budget_left {
            // Out of budget with work left: yield, and ask to be polled again.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Poll::Ready(()) = this.poll_keepalive(cx) {
            // A ping was queued or the connection failed: run the loop again to flush.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let (phase_done, closing, wbuf_empty, timeout) = {
            let mut state = this.shared.lock();
            // A protocol violation waits for the application to take the good messages before
            // it, but not forever: an application that stopped reading must not hold the
            // connection open.
            if state.deferred_failure.is_some() {
                let timer = this
                    .defer_timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_GRACE)));
                if timer.as_mut().poll(cx).is_ready() {
                    if let Some(err) = state.deferred_failure.take() {
                        state.fail(err);
                    }
                }
            }
            if state.aborted {
                drop(state);
                this.read_closed = true;
                this.shutdown_done = true;
                return this.finish(cx);
            }
            if state.wbuf.is_empty() {
                // Nothing in flight: give back a write buffer grown by a burst.
                state.wbuf.shrink_idle();
            }
            Self::poll_deflate_idle(&mut this.deflate_idle_timer, &mut state, cx);
            (
                matches!(state.phase, Phase::Done),
                matches!(state.phase, Phase::CloseSent),
                state.wbuf.is_empty(),
                state.close_timeout,
            )
        };
        if phase_done && wbuf_empty && (this.shared.role == Role::Server || this.read_closed) {
            return this.finish(cx);
        }
        if closing || phase_done {
            // Waiting for the peer's close frame, for the last frames to leave (a peer that
            // stopped reading), or, as a client, for the server to close TCP: all bounded by
            // the close timeout. Our own last frames always get at least FLUSH_GRACE, so a
            // zero close timeout ("don't wait for the reply") still sends the close frame.
            let timeout = if closing {
                timeout
            } else {
                timeout.map(|t| t.max(FLUSH_GRACE))
            };
            if let Some(t) = timeout {
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(t)));
                if timer.as_mut().poll(cx).is_ready() {
                    let mut state = this.shared.lock();
                    if closing {
                        state.close_timeout_hit = true;
                        state.end_with(CloseCode::ABNORMAL, "no close frame received in time");
                    }
                    state.phase = Phase::Done;
                    state.wbuf = WriteBuf::new();
                    drop(state);
                    this.read_closed = true;
                    return this.finish(cx);
                }
            }
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Driver<S> {
    /// Frees the compressor (140 KiB or more of zlib state) of a connection that compressed
    /// nothing for [`COMPRESSOR_IDLE`]: releasing it is allowed even with context takeover (the
    /// next message just starts from an empty window), and it is what keeps a quiet connection
    /// with permessage-deflate small. The inflate window cannot be dropped that way: under the
    /// peer's context takeover its next message may refer to it.
    fn poll_deflate_idle(
        idle_timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
        state: &mut State,
        cx: &mut Context<'_>,
    ) {
        if !state.encoder.holds_compression_state() {
            *idle_timer = None;
            return;
        }
        let used = state.encoder.take_compressed_recently();
        let timer = idle_timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(COMPRESSOR_IDLE)));
        if used {
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + COMPRESSOR_IDLE);
        }
        if timer.as_mut().poll(cx).is_ready() {
            state.encoder.release_compression_state();
            *idle_timer = None;
        }
    }

    /// Sends keepalive pings and fails the connection when a pong is overdue. Ready when it
    /// changed something that needs the I/O loop to run again.
    fn poll_keepalive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(keepalive) = self.keepalive else {
            return Poll::Pending;
        };
        let mut state = self.shared.lock();
        if !matches!(state.phase, Phase::Open) {
            return Poll::Pending;
        }
        let timer = self
            .keepalive_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(keepalive.interval)));
        if std::mem::take(&mut state.pong_seen) && self.awaiting_pong {
            self.awaiting_pong = false;
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + keepalive.interval);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if self.awaiting_pong {
            let reason = "keepalive ping timeout";
            if !state.close_sent {
                state.queue_close(Some(&CloseFrame::new(CloseCode::INTERNAL_ERROR, reason)));
            }
            state.end_with(CloseCode::INTERNAL_ERROR, reason);
            state.runtime_close = true;
            state.phase = Phase::Done;
            state.wake_all_readers();
            state.wake_writers();
            drop(state);
            self.read_closed = true;
            return Poll::Ready(());
        }
        let State { encoder, wbuf, .. } = &mut *state;
        encoder.encode_control(OpCode::Ping, b"keepalive", wbuf);
        self.awaiting_pong = true;
        timer
            .as_mut()
            .reset(tokio::time::Instant::now() + keepalive.timeout);
        Poll::Ready(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.shutdown_done {
            // Close our side of TCP; errors here change nothing for the application.
            if Pin::new(&mut self.stream).poll_shutdown(cx).is_pending() {
                return Poll::Pending;
            }
            self.shutdown_done = true;
        }
        let mut state = self.shared.lock();
        state.finished = true;
        state.end_with(CloseCode::ABNORMAL, "connection ended");
        state.wake_all_readers();
        state.wake_writers();
        for w in state.finish_waiters.drain(..) {
            w.wake();
        }
        self.rbuf = BytesMut::new();
        Poll::Ready(())
    }
}

impl<S> Drop for Driver<S> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if !state.finished {
            state.finished = true;
            state.end_with(CloseCode::ABNORMAL, "connection dropped");
            state.wake_all_readers();
            state.wake_writers();
            for w in state.finish_waiters.drain(..) {
                w.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    impl WebSocket {
        fn holds_compression_state(&self) -> bool {
            self.shared.lock().encoder.holds_compression_state()
        }
    }

    /// A connection that stops compressing gives its compressor back after `COMPRESSOR_IDLE`,
    /// and one that keeps compressing keeps it.
    #[tokio::test(start_paused = true)]
    async fn an_idle_compressor_is_freed() {
        let (server_io, mut client_io) = tokio::io::duplex(1 << 20);
        let (ws, driver) = WebSocket::from_upgraded(
            server_io,
            Role::Server,
            ConnConfig::default(),
            None,
            Some(DeflateParams::default()),
            BytesMut::new(),
        );
        tokio::spawn(driver);
        let text = "a compressible sentence, said again and again; ".repeat(64);
        let mut sink = vec![0u8; 1 << 16];
        let send = |ws: WebSocket, text: String| async move {
            ws.send(Message::Text(text.into())).await.expect("sent");
        };
        send(ws.clone(), text.clone()).await;
        // The frame left, compressed (RSV1 set).
        let n = client_io.read(&mut sink).await.expect("read");
        assert!(n > 2 && sink[0] & 0x40 != 0, "a compressed frame");
        assert!(ws.holds_compression_state());
        // Still in use: sending every second keeps the state.
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            send(ws.clone(), text.clone()).await;
            let n = client_io.read(&mut sink).await.expect("read");
            assert!(n > 2, "a frame");
            assert!(ws.holds_compression_state());
        }
        // Idle for longer than COMPRESSOR_IDLE: freed.
        tokio::time::sleep(COMPRESSOR_IDLE + Duration::from_millis(100)).await;
        assert!(!ws.holds_compression_state());
        // And the next message is compressed again from a fresh state.
        send(ws.clone(), text.clone()).await;
        let n = client_io.read(&mut sink).await.expect("read");
        assert!(n > 2 && sink[0] & 0x40 != 0, "a compressed frame");
    }
}
