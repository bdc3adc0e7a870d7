//! Peers and helpers for the hardening tests: a raw WebSocket client over TCP that frames with
//! the engine's own client `Encoder`/`Decoder` but does only what a test tells it (never answers
//! pings, stops reading, sends half a message, resets), bounded polling, and event notes.

#![allow(dead_code)] // Each test file uses a different part.

use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use ws_framework::proto::codec::WriteBuf;
use ws_framework::proto::{Decoder, Encoder, Event as Frame, Limits, OpCode, Role};
use ws_framework::{CloseFrame, Message};

/// Every test's overall bound: generous, for a loaded 2-core machine.
pub const LIMIT: Duration = Duration::from_secs(60);

/// How long bounded polling waits before failing.
pub const POLL_LIMIT: Duration = Duration::from_secs(30);

/// Runs `test` bounded by [`LIMIT`].
pub async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time");
}

/// Polls `cond` every 10 ms until it holds; panics after [`POLL_LIMIT`] naming `what`.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + POLL_LIMIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A valid upgrade request for `path` (no compression offered).
pub fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Connects a TCP socket, optionally with a small receive buffer (set before connecting, so
/// the advertised window stays small).
pub async fn tcp(addr: SocketAddr, recv_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.connect(addr).await.unwrap()
}

/// A WebSocket client that does nothing on its own.
pub struct RawPeer {
    pub tcp: TcpStream,
    rbuf: BytesMut,
    decoder: Decoder,
    encoder: Encoder,
}

impl RawPeer {
    /// Opens a connection to `path` and completes the handshake; panics unless the answer is 101.
    pub async fn connect(addr: SocketAddr, path: &str, recv_buffer: Option<u32>) -> Self {
        match Self::try_connect(addr, path, recv_buffer).await {
            Ok(peer) => peer,
            Err(head) => panic!("expected 101, got {head}"),
        }
    }

    /// Like [`RawPeer::connect`]; `Err` holds the response head when it is not 101.
    pub async fn try_connect(
        addr: SocketAddr,
        path: &str,
        recv_buffer: Option<u32>,
    ) -> Result<Self, String> {
        let mut tcp = tcp(addr, recv_buffer).await;
        tcp.write_all(upgrade_request(path).as_bytes())
            .await
            .unwrap();
        let mut rbuf = BytesMut::with_capacity(4096);
        let head_len = loop {
            if let Some(end) = rbuf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match tcp.read_buf(&mut rbuf).await {
                Ok(0) | Err(_) => {
                    return Err(format!(
                        "no complete response: {:?}",
                        String::from_utf8_lossy(&rbuf)
                    ))
                }
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&rbuf[..head_len]).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(head);
        }
        let _ = rbuf.split_to(head_len);
        let limits = Limits {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
        };
        Ok(Self {
            tcp,
            rbuf,
            decoder: Decoder::new(Role::Client, limits, None),
            encoder: Encoder::new(Role::Client, 0, None),
        })
    }

    /// The next frame-level event from the server, or `None` once the server closed TCP (or
    /// reset it).
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(event)) => return Some(event),
                Ok(None) => {}
                Err(e) => panic!("the server sent invalid frames: {e}"),
            }
            match self.tcp.read_buf(&mut self.rbuf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads until the server's close frame and then until it closes TCP; returns the data
    /// messages seen before the close, and the close frame (`None` when none came).
    pub async fn read_to_close(&mut self) -> (Vec<Message>, Option<Option<CloseFrame>>) {
        let mut messages = Vec::new();
        let mut close = None;
        while let Some(event) = self.next().await {
            match event {
                Frame::Message(m) if close.is_none() => messages.push(m),
                Frame::Close(frame) if close.is_none() => close = Some(frame),
                _ => {}
            }
        }
        (messages, close)
    }

    /// Like [`RawPeer::read_to_close`], but answers the server's close frame with the same
    /// code, as a well-behaved peer does.
    pub async fn read_and_answer_close(&mut self) -> (Vec<Message>, Option<Option<CloseFrame>>) {
        let mut messages = Vec::new();
        let mut close = None;
        while let Some(event) = self.next().await {
            match event {
                Frame::Message(m) if close.is_none() => messages.push(m),
                Frame::Close(frame) if close.is_none() => {
                    let echo = frame.as_ref().map(|f| CloseFrame::new(f.code, ""));
                    self.send_close(echo).await;
                    close = Some(frame);
                }
                _ => {}
            }
        }
        (messages, close)
    }

    /// Reads until the server closes TCP, answering its close frame, and returns the close
    /// code and reason it sent (1006 and "" when it sent no close frame).
    pub async fn close_code(&mut self) -> (u16, String) {
        match self.read_and_answer_close().await.1 {
            Some(Some(frame)) => (frame.code.as_u16(), frame.reason.into_owned()),
            Some(None) => (1005, String::new()),
            None => (1006, String::new()),
        }
    }

    /// Sends `message` as one masked frame.
    pub async fn send(&mut self, message: Message) {
        let mut out = WriteBuf::new();
        self.encoder.encode_message(&message, &mut out).unwrap();
        self.write_buf(out).await;
    }

    /// Sends a masked control frame.
    pub async fn send_control(&mut self, opcode: OpCode, payload: &[u8]) {
        let mut out = WriteBuf::new();
        self.encoder.encode_control(opcode, payload, &mut out);
        self.write_buf(out).await;
    }

    /// Sends a masked close frame.
    pub async fn send_close(&mut self, frame: Option<CloseFrame>) {
        let mut out = WriteBuf::new();
        self.encoder.encode_close(frame.as_ref(), &mut out);
        self.write_buf(out).await;
    }

    /// Sends the first fragment of a text message (FIN clear, zero mask key): the message stays
    /// unfinished.
    pub async fn send_first_fragment(&mut self, text: &str) {
        assert!(text.len() < 126);
        let mut frame = vec![0x01, 0x80 | text.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(text.as_bytes());
        self.write_raw(&frame).await;
    }

    /// Sends a ping and waits for its pong, skipping anything else: proof that the server has
    /// decoded everything sent before.
    pub async fn sync(&mut self) {
        self.send_control(OpCode::Ping, b"sync").await;
        loop {
            match self.next().await {
                Some(Frame::Pong(p)) if &p[..] == b"sync" => return,
                Some(_) => {}
                None => panic!("the connection ended before the pong"),
            }
        }
    }

    /// Writes bytes as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.unwrap();
    }

    async fn write_buf(&mut self, mut out: WriteBuf) {
        let mut bytes = Vec::with_capacity(out.len());
        while !out.is_empty() {
            let mut slices = [std::io::IoSlice::new(&[]); 16];
            let n = out.io_slices(&mut slices);
            let mut taken = 0;
            for slice in &slices[..n] {
                bytes.extend_from_slice(slice);
                taken += slice.len();
            }
            out.advance(taken);
        }
        self.tcp.write_all(&bytes).await.unwrap();
    }

    /// Drops the connection with a TCP reset (SO_LINGER 0).
    pub fn reset(self) {
        self.tcp.set_zero_linger().unwrap();
        drop(self.tcp);
    }
}

/// Notes from a service under test ("label event"), received in the test.
pub struct Notes {
    rx: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Notes {
    pub fn channel() -> (mpsc::UnboundedSender<String>, Self) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            Self {
                rx,
                seen: Vec::new(),
            },
        )
    }

    /// Waits (bounded) for a note that starts with `prefix` and returns it; notes skipped on
    /// the way are kept for [`Notes::seen`].
    pub async fn expect(&mut self, prefix: &str) -> String {
        if let Some(i) = self.seen.iter().position(|n| n.starts_with(prefix)) {
            return self.seen.remove(i);
        }
        loop {
            let note = tokio::time::timeout(POLL_LIMIT, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no note starting with {prefix:?}; seen so far: {:?}",
                        self.seen
                    )
                })
                .expect("the service dropped its notes");
            if note.starts_with(prefix) {
                return note;
            }
            self.seen.push(note);
        }
    }

    /// Every note received so far that was not returned by [`Notes::expect`].
    pub fn seen(&mut self) -> &[String] {
        while let Ok(note) = self.rx.try_recv() {
            self.seen.push(note);
        }
        &self.seen
    }
}
