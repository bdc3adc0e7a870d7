//! The per-connection dispatch loop: events in order, one handler at a time, replies acted on.
//!
//! The connection driver runs beside this loop in the same task, so pings are answered and a
//! peer's close is echoed even while a handler runs; the next data message is only taken once
//! the current handler (and the sending of its reply) finished.

use crate::caller::Caller;
use crate::conn::{Incoming, WebSocket};
use crate::error::{Error, Result};
use crate::observability::{self, Kind};
use crate::proto::close::MAX_REASON_LEN;
use crate::proto::{CloseCode, CloseFrame, Message};
use crate::service::{Event, Reply, Service};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tracing::Instrument;

/// Runs a future, turning a panic into `Err(message)`.
pub(crate) struct CatchUnwind<F>(F);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::result::Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved out.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// Runs `future` and reports a panic inside it as `Err` with the panic message.
pub(crate) fn catch_unwind<F: Future>(future: F) -> CatchUnwind<F> {
    CatchUnwind(future)
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a handler panicked".to_owned()
    }
}

/// Closes with 1003 after a binding failure: Ballerina cuts a message over 100 characters to
/// 80 plus "...", and the whole reason must fit a close frame (123 bytes): a reason still
/// longer (multi-byte characters) is cut at a character boundary, keeping the "...".
pub(crate) fn binding_failure_reason(message: &str) -> String {
    let message = if message.chars().count() > 100 {
        format!("{}...", message.chars().take(80).collect::<String>())
    } else {
        message.to_owned()
    };
    let reason = format!("data binding failed: {message}");
    if reason.len() <= MAX_REASON_LEN {
        return reason;
    }
    let mut end = MAX_REASON_LEN - 3;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &reason[..end])
}

pub(crate) struct Connection<S: Service> {
    pub service: S,
    pub caller: Caller,
    pub state: Arc<S::State>,
    pub ws: WebSocket,
    pub idle_timeout: Option<Duration>,
    pub close_timeout: Option<Duration>,
    pub counters: Arc<observability::MessageCounters>,
    /// Counts not yet added to `counters` (flushed before the loop waits).
    pub tally: observability::Tally,
    /// Incoming items taken from the connection in one batch, not yet dispatched.
    pub pending: VecDeque<Incoming>,
}

enum Flow {
    Continue,
    Stop,
}

impl<S: Service> Connection<S> {
    /// Dispatches until the connection ends.
    pub(crate) async fn run(mut self) {
        if let Flow::Stop = self.dispatch(Event::Open).await {
            return;
        }
        let mut saw_close = false;
        loop {
            let next = match self.pending.pop_front() {
                Some(item) => Ok(item),
                None => {
                    // The batch is done: publish its counts before waiting for the next.
                    self.tally.flush(&self.counters);
                    let (ws, pending) = (&self.ws, &mut self.pending);
                    let batch = std::future::poll_fn(|cx| ws.poll_recv_batch(cx, pending));
                    match self.idle_timeout.filter(|_| S::HANDLERS.idle_timeout) {
                        Some(idle) => match tokio::time::timeout(idle, batch).await {
                            Ok(next) => next,
                            Err(_) => {
                                if let Flow::Stop = self.dispatch(Event::IdleTimeout).await {
                                    break;
                                }
                                continue;
                            }
                        },
                        None => batch.await,
                    }
                }
            };
            let event = match next {
                Ok(Incoming::Message(Message::Text(t))) => {
                    self.tally.message_in(Kind::Text, t.len());
                    Event::Text(t)
                }
                Ok(Incoming::Message(Message::Binary(b))) => {
                    self.tally.message_in(Kind::Binary, b.len());
                    Event::Binary(b)
                }
                Ok(Incoming::Ping(p)) => {
                    self.tally.message_in(Kind::Ping, p.len());
                    Event::Ping(p)
                }
                Ok(Incoming::Pong(p)) => {
                    self.tally.message_in(Kind::Pong, p.len());
                    Event::Pong(p)
                }
                Ok(Incoming::Close(frame)) => {
                    saw_close = true;
                    self.tally.message_in(
                        Kind::Close,
                        frame.as_ref().map_or(0, |f| 2 + f.reason.len()),
                    );
                    let (code, reason) = frame.map_or((CloseCode::NO_STATUS, String::new()), |f| {
                        (f.code, f.reason.into_owned())
                    });
                    Event::Close { code, reason }
                }
                Err(Error::ConnectionClosure(_)) => break,
                Err(e) => Event::Error(e),
            };
            let is_close = matches!(event, Event::Close { .. });
            let flow = if matches!(event, Event::Text(_) | Event::Binary(_)) {
                // The common case, kept lean: the handler's reply is queued at once unless it
                // needs waiting (a full buffer, a close, a stream) or fails.
                match catch_unwind(self.service.handle(&self.caller, &self.state, event)).await {
                    Ok(reply) => match self.act_now(reply) {
                        Ok(None) => Flow::Continue,
                        Ok(Some(reply)) => match self.act(reply).await {
                            Ok(flow) => flow,
                            Err(e) => self.dispatch(Event::Error(e)).await,
                        },
                        Err(e) => self.dispatch(Event::Error(e)).await,
                    },
                    Err(panic) => {
                        self.handler_panicked(panic).await;
                        Flow::Stop
                    }
                }
            } else {
                self.dispatch(event).await
            };
            if let Flow::Stop = flow {
                break;
            }
            if is_close {
                break;
            }
        }
        self.tally.flush(&self.counters);
        if !saw_close {
            // The connection ended without a close frame from the peer (or after ours): tell
            // the service once how it ended.
            if let Some((code, reason)) = self.ws.close_status() {
                // A vanished peer (1006), or one the runtime gave up on (keepalive, overflow).
                if code == CloseCode::ABNORMAL || self.ws.closed_by_runtime() {
                    let _ = self.dispatch(Event::Close { code, reason }).await;
                }
            }
        }
    }

    /// Handles one event and acts on the reply; errors from acting go to `on_error`.
    async fn dispatch(&mut self, event: Event) -> Flow {
        let mut event = event;
        // An error raised while handling an error is only logged, so a failing `on_error`
        // cannot loop.
        for _ in 0..2 {
            let from_error = matches!(event, Event::Error(_));
            if let Event::Error(e) = &event {
                observability::connection_error(e);
            }
            let outcome = catch_unwind(self.service.handle(&self.caller, &self.state, event)).await;
            let reply = match outcome {
                Ok(reply) => reply,
                Err(panic) => {
                    self.handler_panicked(panic).await;
                    return Flow::Stop;
                }
            };
            match self.act(reply).await {
                Ok(flow) => return flow,
                Err(e) if from_error => {
                    observability::connection_error(&e);
                    tracing::warn!(error = %e, "on_error failed");
                    return Flow::Continue;
                }
                Err(e) => event = Event::Error(e),
            }
        }
        Flow::Continue
    }

    /// A handler panicked: logged, counted, and the connection fails with 1011.
    async fn handler_panicked(&mut self, panic: String) {
        observability::error("panic");
        tracing::error!(panic, "handler panicked");
        self.fail(CloseFrame::new(
            CloseCode::INTERNAL_ERROR,
            "unexpected condition",
        ))
        .await;
    }

    /// Acts on the replies that need no waiting: none, or a message the outbound buffer has
    /// room for. Gives the others back, for [`Connection::act`].
    fn act_now(&mut self, reply: Reply) -> Result<Option<Reply>> {
        let message = match reply {
            Reply::None => return Ok(None),
            Reply::Text(t) => Message::Text(t),
            Reply::Binary(b) => Message::Binary(b),
            other => return Ok(Some(other)),
        };
        let (kind, len) = (Kind::of(&message), message.len());
        Ok(match self.ws.send_now(message)? {
            None => {
                self.tally.message_out(kind, len);
                None
            }
            Some(Message::Text(t)) => Some(Reply::Text(t)),
            Some(Message::Binary(b)) => Some(Reply::Binary(b)),
        })
    }

    /// Queues a reply message, waiting for room only when the outbound buffer is full.
    async fn send(&mut self, message: Message) -> Result<()> {
        let (kind, len) = (Kind::of(&message), message.len());
        match self.ws.send_now(message)? {
            None => self.tally.message_out(kind, len),
            // `WebSocket::send` counts what it sends itself.
            Some(message) => self.ws.send(message).await?,
        }
        Ok(())
    }

    async fn act(&mut self, reply: Reply) -> Result<Flow> {
        match reply {
            Reply::None => {}
            Reply::Text(t) => self.send(Message::Text(t)).await?,
            Reply::Binary(b) => self.send(Message::Binary(b)).await?,
            Reply::Pong(p) => self.ws.pong(p).await?,
            Reply::Close(frame) => {
                self.close_with(frame).await;
                return Ok(Flow::Stop);
            }
            Reply::Stream(stream) => {
                let caller = self.caller.clone();
                let close_timeout = self.close_timeout;
                let stream = run_stream(stream, caller, close_timeout);
                tokio::spawn(stream.instrument(tracing::Span::current()));
            }
            Reply::Error(e) => return Err(e),
            Reply::BindingFailed(message) => {
                observability::error("binding");
                tracing::warn!(error = %message, "payload binding failed; closing with 1003");
                let reason = binding_failure_reason(&message);
                self.close_with(CloseFrame::new(CloseCode::UNSUPPORTED_DATA, reason))
                    .await;
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    async fn close_with(&mut self, frame: CloseFrame) {
        if !frame.code.is_sendable() {
            // Ballerina: an invalid status closes TCP without a close frame (the peer sees 1006).
            self.ws.abort();
            return;
        }
        let _ = self
            .ws
            .close(Some(frame), self.close_timeout.or(Some(Duration::MAX)))
            .await;
    }

    async fn fail(&mut self, frame: CloseFrame) {
        if self.ws.start_close(Some(frame)).is_err() {
            self.ws.abort();
        }
    }
}

async fn run_stream(
    mut stream: crate::service::ReplyStream,
    caller: Caller,
    close_timeout: Option<Duration>,
) {
    let ws = caller.websocket().clone();
    loop {
        let item = catch_unwind(std::future::poll_fn(|cx| stream.as_mut().poll_next(cx))).await;
        let result = match item {
            Ok(None) => return,
            Ok(Some(Reply::None)) => Ok(()),
            Ok(Some(Reply::Text(t))) => ws.send(Message::Text(t)).await,
            Ok(Some(Reply::Binary(b))) => ws.send(Message::Binary(b)).await,
            Ok(Some(Reply::Pong(p))) => ws.pong(p).await,
            Ok(Some(Reply::Close(frame))) => {
                if frame.code.is_sendable() {
                    let _ = ws
                        .close(Some(frame), close_timeout.or(Some(Duration::MAX)))
                        .await;
                } else {
                    ws.abort();
                }
                return;
            }
            Ok(Some(Reply::Stream(_))) => Ok(()),
            Ok(Some(Reply::Error(e))) => {
                let _ = ws.start_close(Some(CloseFrame::new(
                    CloseCode::INTERNAL_ERROR,
                    format!("streaming failed: {e}"),
                )));
                return;
            }
            Ok(Some(Reply::BindingFailed(m))) => Err(Error::PayloadBinding(m)),
            Err(panic) => {
                let _ = ws.start_close(Some(CloseFrame::new(
                    CloseCode::INTERNAL_ERROR,
                    format!("streaming failed: panic from next: {panic}"),
                )));
                return;
            }
        };
        if result.is_err() {
            return; // The connection is closing or closed: nothing more to stream.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_failure_reasons_fit_a_close_frame() {
        assert_eq!(
            binding_failure_reason("missing field `y`"),
            "data binding failed: missing field `y`"
        );
        let ascii = binding_failure_reason(&"a".repeat(150));
        assert_eq!(ascii, format!("data binding failed: {}...", "a".repeat(80)));
        for long in ["é".repeat(150), "é".repeat(60), "€".repeat(99)] {
            let reason = binding_failure_reason(&long);
            assert!(reason.len() <= MAX_REASON_LEN, "{} bytes", reason.len());
            assert!(
                reason.starts_with("data binding failed: é")
                    || reason.starts_with("data binding failed: €")
            );
            assert!(reason.ends_with("..."), "{reason}");
        }
    }
}
