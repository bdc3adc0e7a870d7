//! The whole server read path on arbitrary bytes: an in-memory duplex stream into
//! `ws_framework::stream::accept`, then the connection driver and an echo loop, on a
//! current-thread tokio runtime with a paused clock.
//!
//! Input layout:
//! - byte 0: bits 0-2 the handshake prefix (see [`HANDSHAKES`]; 7 means none: the input itself
//!   is the request), bit 3 compression accepted, bit 4 tiny receive limits (16-byte frames,
//!   40-byte messages; else 64 KiB / 256 KiB), bit 5 pings delivered to the reader (no
//!   automatic pong; the echo loop answers them), bit 6 pongs delivered, bit 7 the server
//!   starts the closing handshake after the first message;
//! - byte 1: bits 0-1 the outbound fragment size (0 = never, 1, 100, 64 KiB), bit 2 a 1-byte
//!   write-buffer limit (every send waits for the driver), bit 3 separate control queue, bit 4
//!   compress every message (threshold 0), bits 5-6 the close timeout (60 s, 1 ms, none,
//!   0), bit 7 close with `close().await` instead of `start_close`;
//! - byte 2: bits 0-1 the capacity of the duplex pipe (64 KiB, 1, 7 or 300 bytes: small ones
//!   make the server read the handshake and the frames in pieces, and write in pieces), bit 2
//!   keepalive pings (1 s interval, 1 s timeout), bit 3 a 1 ms write timeout, bit 4 close
//!   with 1008 when it expires (`overflow_close`);
//! - the rest: bytes the client sends after the prefix; then the client closes its side
//!   (write shutdown) and reads everything the server sends until EOF.
//!
//! Checked:
//! - no panic, and the whole exchange finishes: the clock is paused and auto-advances, so
//!   timers fire at once and a deadlock shows up as the virtual-time limit being hit, which
//!   panics ("hang"); a busy loop is caught by libFuzzer's `-timeout`;
//! - the server's bytes are a valid HTTP response; after a 101 they are valid server frames
//!   (a client `Decoder` with the negotiated deflate parameters reads them all without error
//!   and without leftovers, nothing after a close frame), and the data messages in them are
//!   exactly the ones the echo loop sent successfully, in order. With a zero close timeout the
//!   driver may drop what it could not write at once when the connection ends (the timeout
//!   bounds that flush too), so there the output may end in a cut frame and hold only the
//!   first messages sent.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_framework::conn::{ConnConfig, Keepalive};
use ws_framework::handshake::parse_response;
use ws_framework::proto::codec::{Decoder, Event, Limits};
use ws_framework::proto::Role;
use ws_framework::stream::{accept, AcceptOptions};
use ws_framework::{CloseCode, CloseFrame, Incoming, Message};

/// Real opening handshakes: RFC 6455, browsers, curl, tungstenite, Node's ws, Autobahn.
const HANDSHAKES: [&str; 7] = [
    // RFC 6455 section 1.2.
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
     Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
     Sec-WebSocket-Version: 13\r\n\r\n",
    // Chrome.
    "GET /ws HTTP/1.1\r\nHost: localhost:9001\r\nConnection: Upgrade\r\nPragma: no-cache\r\n\
     Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0\r\n\
     Upgrade: websocket\r\nOrigin: http://localhost:9001\r\nSec-WebSocket-Version: 13\r\n\
     Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\
     Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    // Firefox.
    "GET /ws HTTP/1.1\r\nHost: localhost:9001\r\n\
     User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n\
     Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
     Sec-WebSocket-Version: 13\r\nOrigin: http://localhost:9001\r\n\
     Sec-WebSocket-Extensions: permessage-deflate\r\n\
     Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\nConnection: keep-alive, Upgrade\r\n\
     Sec-Fetch-Dest: empty\r\nSec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-origin\r\n\
     Pragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n",
    // curl --include --no-buffer -H 'Connection: Upgrade' -H 'Upgrade: websocket' ...
    "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
     Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==\r\n\r\n",
    // tungstenite, with every permessage-deflate parameter.
    "GET /socket?room=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nConnection: Upgrade\r\n\
     Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Key: 4Xo1iN1bN8JQ1wU0I8xJ4Q==\r\n\
     Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
     server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9\r\n\r\n",
    // Node's ws.
    "GET / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Key: Xr9t0pjS4+0X7vJxZ/2T9g==\r\nConnection: Upgrade\r\n\
     Upgrade: websocket\r\n\
     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
     Host: localhost:8080\r\n\r\n",
    // Autobahn|Testsuite 13.3.x: an 8-bit server window.
    "GET / HTTP/1.1\r\nUser-Agent: AutobahnTestSuite/0.8.2-0.10.9\r\nHost: 127.0.0.1:9001\r\n\
     Upgrade: WebSocket\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\
     Sec-WebSocket-Key: 1wO5v4pwPqNT2CHQrV3d4A==\r\nSec-WebSocket-Version: 13\r\n\
     Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8; \
     client_max_window_bits\r\n\r\n",
];

/// Far beyond any legitimate exchange here (the longest timer is the 60 s close timeout):
/// reaching it in virtual time means every task was waiting with nothing left to wake it.
const HANG: Duration = Duration::from_secs(24 * 3600);

/// What the server did: the negotiated deflate parameters (when the handshake succeeded) and
/// the messages it sent successfully.
type ServerOutcome = Option<(
    Option<ws_framework::proto::deflate::DeflateParams>,
    Vec<Message>,
)>;

async fn serve(
    stream: tokio::io::DuplexStream,
    options: AcceptOptions,
    flags: [u8; 3],
) -> ServerOutcome {
    let (ws, driver, _request) = accept(stream, &options).await.ok()?;
    let deflate = ws.deflate();
    let close_after_first = flags[0] & 0x80 != 0;
    let close_and_wait = flags[1] & 0x80 != 0;
    let echo = async {
        let mut sent = Vec::new();
        let mut received = 0usize;
        loop {
            match ws.recv().await {
                Ok(Incoming::Message(message)) => {
                    received += 1;
                    if ws.send(message.clone()).await.is_ok() {
                        sent.push(message);
                    }
                    if close_after_first && received == 1 {
                        let frame = Some(CloseFrame::new(1000, "bye"));
                        if close_and_wait {
                            let _ = ws.close(frame, None).await;
                        } else {
                            let _ = ws.start_close(frame);
                        }
                    }
                }
                Ok(Incoming::Ping(payload)) => {
                    let _ = ws.pong(payload).await;
                }
                Ok(Incoming::Pong(_) | Incoming::Close(_)) => {}
                Err(_) => break,
            }
        }
        sent
    };
    let ((), sent) = tokio::join!(driver, echo);
    Some((deflate, sent))
}

/// Whether the close timeout is zero (see the module documentation).
fn zero_close_timeout(flags: [u8; 3]) -> bool {
    (flags[1] >> 5) & 3 == 3
}

fn options(flags: [u8; 3]) -> AcceptOptions {
    let mut options = if flags[0] & 0x08 != 0 {
        AcceptOptions::with_compression()
    } else {
        AcceptOptions::default()
    };
    let mut conn = ConnConfig::default();
    conn.limits = if flags[0] & 0x10 != 0 {
        Limits {
            max_frame_size: 16,
            max_message_size: 40,
        }
    } else {
        Limits {
            max_frame_size: 64 << 10,
            max_message_size: 256 << 10,
        }
    };
    conn.auto_pong = flags[0] & 0x20 == 0;
    conn.deliver_pongs = flags[0] & 0x40 != 0;
    conn.max_send_frame_size = [0, 1, 100, 64 << 10][usize::from(flags[1] & 3)];
    if flags[1] & 0x04 != 0 {
        conn.write_buffer_limit = 1;
    }
    conn.separate_control = flags[1] & 0x08 != 0;
    if flags[1] & 0x10 != 0 {
        conn.deflate_threshold = 0;
    }
    conn.close_timeout = [
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(1)),
        None,
        Some(Duration::ZERO),
    ][usize::from((flags[1] >> 5) & 3)];
    if flags[2] & 0x04 != 0 {
        conn.keepalive = Some(Keepalive {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        });
    }
    if flags[2] & 0x08 != 0 {
        conn.write_timeout = Some(Duration::from_millis(1));
    }
    if flags[2] & 0x10 != 0 {
        conn.overflow_close = Some(CloseCode::POLICY_VIOLATION);
    }
    options.conn = conn;
    options
}

/// Reads what the server wrote as a client would, and compares it with what it sent.
fn check_server_output(out: &[u8], outcome: &ServerOutcome, may_cut: bool) {
    if out.is_empty() {
        // The client closed before the head was complete: nothing to answer.
        assert!(outcome.is_none(), "a connection opened without a 101");
        return;
    }
    let (response, head_len) = match parse_response(out, 64 << 10) {
        Ok(Some(parsed)) => parsed,
        other => panic!(
            "the server's reply is no HTTP response ({other:?}): {:?}",
            String::from_utf8_lossy(out)
        ),
    };
    let Some((deflate, sent)) = outcome else {
        assert!(
            response.status().is_client_error(),
            "rejected with {}",
            response.status()
        );
        return;
    };
    assert_eq!(response.status().as_u16(), 101);
    let limits = Limits {
        max_frame_size: usize::MAX,
        max_message_size: usize::MAX,
    };
    let mut decoder = Decoder::new(
        Role::Client,
        limits,
        deflate.map(|p| p.decompressor(Role::Client)),
    );
    let mut buf = BytesMut::from(&out[head_len..]);
    let mut messages = Vec::new();
    let mut closed = false;
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(event)) => {
                assert!(!closed, "a frame after the server's close: {event:?}");
                match event {
                    Event::Message(m) => messages.push(m),
                    Event::Close(_) => closed = true,
                    Event::Ping(_) | Event::Pong(_) => {}
                }
            }
            Ok(None) => break,
            Err(e) => panic!("the server sent an invalid frame: {e:?}"),
        }
    }
    if may_cut {
        // A cut frame only ever needs more bytes: it never decodes as an error (checked above).
        assert!(
            sent.starts_with(&messages),
            "the echoed messages are not a prefix of those sent"
        );
        return;
    }
    assert!(
        buf.is_empty(),
        "{} bytes of an unfinished frame; the server wrote {:02x?}",
        buf.len(),
        out
    );
    assert_eq!(
        &messages, sent,
        "the echoed messages differ from those sent"
    );
}

fuzz_target!(|data: &[u8]| {
    let [f0, f1, f2, rest @ ..] = data else {
        return;
    };
    let pipe = [64 << 10, 1, 7, 300][usize::from(f2 & 3)];
    let flags = [*f0, *f1, *f2];
    let mut input = Vec::with_capacity(rest.len() + 512);
    if let Some(prefix) = HANDSHAKES.get(usize::from(f0 & 7)) {
        input.extend_from_slice(prefix.as_bytes());
    }
    input.extend_from_slice(rest);
    let options = options(flags);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let (out, outcome) = runtime.block_on(async move {
        let (client, server) = tokio::io::duplex(pipe);
        let (mut client_rd, mut client_wr) = tokio::io::split(client);
        let writer = async move {
            // Fails with a broken pipe once the server dropped its end: that is fine.
            let _ = client_wr.write_all(&input).await;
            let _ = client_wr.shutdown().await;
        };
        let reader = async move {
            let mut out = Vec::new();
            let _ = client_rd.read_to_end(&mut out).await;
            out
        };
        let all = async { tokio::join!(writer, reader, serve(server, options, flags)) };
        match tokio::time::timeout(HANG, all).await {
            Ok(((), out, outcome)) => (out, outcome),
            Err(_) => panic!("hang: the exchange did not finish within {HANG:?} of virtual time"),
        }
    });
    let may_cut = zero_close_timeout(flags);
    check_server_output(&out, &outcome, may_cut);
});
