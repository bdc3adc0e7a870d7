//! Echo server for the benchmarks: every text and binary message goes back unchanged.
//!
//! ```sh
//! server --impl engine|tungstenite|fastwebsockets|macros|floor [--addr 127.0.0.1:0|PORT]
//!        [--threads 1] [--core N] [--lifetime SECS]
//! ```
//! The first line on stdout is the bound address (`127.0.0.1:PORT`), for the matrix to read.
//! `--threads 1` (the default) runs a single-threaded tokio runtime; `--core N` pins the process
//! to core N first. The server exits by itself after `--lifetime` seconds (default 3600).
//!
//! Each implementation is written the way its own documentation writes an echo server:
//! - `engine`: ws-framework's wire engine, `stream::accept` + `recv`/`send`, as
//!   `examples/echo_server.rs`; permessage-deflate accepted (level 3, messages from 1 KiB).
//! - `tungstenite`: tokio-tungstenite's `accept_async` and `read.forward(write)`, as its
//!   `examples/echo-server.rs` (`forward` feeds while messages are ready and flushes once).
//! - `fastwebsockets`: hyper's upgrade and `FragmentCollector`, as its
//!   `examples/echo_server.rs` (one `write_all` per frame; no compression support).
//! - `macros`: the `#[ws_service]` echo served by ws-framework's `Listener` (see
//!   [`serve_macros`]).
//! - `floor`: not a WebSocket library but a reference: the least user-space work that echoes
//!   this benchmark's traffic (see [`serve_floor`]). Its CPU time per message is the kernel's
//!   share plus almost nothing, so it shows how far any server could go on this machine.
//!
//! Limits are raised to 64 MiB everywhere so a 1 MiB message is one frame each way.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use ws_bench::args::{fail, Args};
use ws_framework::{on_binary, on_text};

const USAGE: &str = "usage: server --impl engine|tungstenite|fastwebsockets|macros|floor \
                     [--addr 127.0.0.1:0|PORT] [--threads 1] [--core N] [--lifetime SECS]";

/// The largest message and frame every implementation accepts.
const MAX_MESSAGE: usize = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Engine,
    Tungstenite,
    FastWebSockets,
    Macros,
    Floor,
}

fn main() {
    let mut args = Args::from_env();
    if args.flag("help") {
        println!("{USAGE}");
        return;
    }
    let which = match args.string("impl").as_deref() {
        Some("engine") => Impl::Engine,
        Some("tungstenite") => Impl::Tungstenite,
        Some("fastwebsockets") => Impl::FastWebSockets,
        Some("macros") => Impl::Macros,
        Some("floor") => Impl::Floor,
        Some(other) => fail(&format!("unknown --impl {other}\n{USAGE}")),
        None => fail(USAGE),
    };
    let addr = args
        .string("addr")
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = match addr.parse::<u16>() {
        Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        Err(_) => addr
            .parse()
            .unwrap_or_else(|_| fail(&format!("bad --addr {addr}"))),
    };
    let threads: usize = args.get("threads", 1);
    let core: Option<usize> = args.opt("core");
    let lifetime: f64 = args.get("lifetime", 3600.0);
    args.finish(USAGE);

    if let Some(core) = core {
        if let Err(e) = ws_bench::sys::pin_to_core(core) {
            fail(&format!("cannot pin to core {core}: {e}"));
        }
    }
    ws_bench::sys::raise_nofile_limit();
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .unwrap_or_else(|e| fail(&format!("runtime: {e}")));

    runtime.block_on(async move {
        let listener = bind(addr).unwrap_or_else(|e| fail(&format!("bind {addr}: {e}")));
        let local = listener.local_addr().expect("bound address");
        let serve = async {
            match which {
                Impl::Engine => serve_engine(listener).await,
                Impl::Tungstenite => serve_tungstenite(listener).await,
                Impl::FastWebSockets => serve_fastwebsockets(listener).await,
                Impl::Macros => serve_macros(listener).await,
                Impl::Floor => serve_floor(listener).await,
            }
        };
        // The address goes out only once the implementation is known to exist.
        if which == Impl::Macros && !MACROS_READY {
            eprintln!(
                "--impl macros: the #[ws_service] echo is not written yet (see serve_macros)"
            );
            std::process::exit(3);
        }
        println!("{local}");
        let _ = std::io::stdout().flush();
        // Ends by itself: after the lifetime, the runtime and every connection are dropped.
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs_f64(lifetime), serve).await {
            fail(&format!("accept: {e}"));
        }
    });
    // Connections still open are dropped with the runtime.
}

/// The listening socket every implementation serves on: a backlog of 1024 (as ws-framework's
/// `Listener::bind` asks for) rather than tokio's 128, which a burst of 256 openers (the idle
/// scenario) overflows, costing the dropped handshakes a one-second retry whatever the server.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts forever, handing each connection (with TCP_NODELAY) to `handle` on its own task.
async fn accept_loop<F, Fut>(listener: TcpListener, handle: F) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(handle(stream));
    }
}

// ---------------------------------------------------------------------------------------------
// ws-framework's engine, without the macro layer.

async fn serve_engine(listener: TcpListener) -> std::io::Result<()> {
    use ws_framework::conn::ConnConfig;
    use ws_framework::proto::Limits;
    use ws_framework::stream::{accept, AcceptOptions};
    use ws_framework::Incoming;

    let mut options = AcceptOptions::with_compression();
    let mut conn = ConnConfig::default();
    conn.limits = Limits {
        max_frame_size: MAX_MESSAGE,
        max_message_size: MAX_MESSAGE,
    };
    // Echo a message as one frame, as the peers do.
    conn.max_send_frame_size = 0;
    options.conn = conn;
    let options = Arc::new(options);
    accept_loop(listener, move |stream| {
        let options = options.clone();
        async move {
            let Ok((ws, driver, _request)) = accept(stream, &options).await else {
                return;
            };
            let echo = async {
                while let Ok(incoming) = ws.recv().await {
                    if let Incoming::Message(message) = incoming {
                        if ws.send(message).await.is_err() {
                            break;
                        }
                    }
                }
            };
            tokio::join!(driver, echo);
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The #[ws_service] echo: the slot for issue 7's fourth server.

/// The `#[ws_service]` echo is in place.
const MACROS_READY: bool = true;

/// The echo of `examples/echo_server.rs`, declared with `#[ws_service]`: the path users take.
#[derive(Default)]
struct MacroEcho;

#[ws_framework::ws_service("/*", max_frame_size = 64 << 20, max_message_size = 64 << 20)]
impl MacroEcho {
    #[on_text]
    async fn text(&self, text: ws_framework::Utf8Bytes) -> ws_framework::Utf8Bytes {
        text
    }
    #[on_binary]
    async fn binary(&self, data: bytes::Bytes) -> bytes::Bytes {
        data
    }
}

/// Serves [`MacroEcho`] through ws-framework's `Listener` on the already bound socket, with
/// compression on (as for `engine`) and keepalive pings off (they would add frames to the run).
async fn serve_macros(listener: TcpListener) -> std::io::Result<()> {
    let config = ws_framework::ListenerConfig::default().keepalive(None);
    let listener = ws_framework::Listener::from_tcp(listener, config, ws_framework::Hub::default())
        .map_err(std::io::Error::other)?;
    listener
        .attach::<MacroEcho>()
        .map_err(std::io::Error::other)?;
    listener.run().await.map_err(std::io::Error::other)
}

// ---------------------------------------------------------------------------------------------
// tokio-tungstenite.

async fn serve_tungstenite(listener: TcpListener) -> std::io::Result<()> {
    use futures_util::{future, StreamExt, TryStreamExt};
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_MESSAGE);
    config.max_frame_size = Some(MAX_MESSAGE);
    accept_loop(listener, move |stream| async move {
        let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
            return;
        };
        let (write, read) = ws.split();
        let _ = read
            .try_filter(|m| future::ready(m.is_text() || m.is_binary()))
            .forward(write)
            .await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// fastwebsockets, through hyper's upgrade.

async fn serve_fastwebsockets(listener: TcpListener) -> std::io::Result<()> {
    use fastwebsockets::upgrade;
    use fastwebsockets::{OpCode, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};

    async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = fut.await?;
        ws.set_max_message_size(MAX_MESSAGE);
        let mut ws = fastwebsockets::FragmentCollector::new(ws);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn server_upgrade(
        mut req: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, fut) = upgrade::upgrade(&mut req)?;
        tokio::spawn(async move {
            let _ = tokio::task::unconstrained(handle_client(fut)).await;
        });
        Ok(response)
    }

    accept_loop(listener, |stream| async move {
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = http1::Builder::new()
            .serve_connection(io, service_fn(server_upgrade))
            .with_upgrades()
            .await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The floor: the least work that echoes this benchmark's traffic.

/// A reference, not a WebSocket implementation: it answers the upgrade without checking it,
/// echoes whole masked text and binary frames as unmasked frames (text checked for UTF-8),
/// answers a close frame with a close frame and ends, and drops the connection on anything
/// else (fragments, reserved bits, unmasked frames, control frames other than close). No
/// limits, no compression, no pings, no close timeout. Everything read in one go is answered in
/// one write, as the coalescing servers do. What it costs per message is what the kernel and
/// tokio cost plus a header parse and an unmasking copy: the floor under every real server.
async fn serve_floor(listener: TcpListener) -> std::io::Result<()> {
    accept_loop(listener, |stream| async move {
        let _ = floor_connection(stream).await;
    })
    .await
}

async fn floor_connection(mut stream: TcpStream) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());

    // The upgrade request: read until the blank line (at most 8 KiB), answer with a 101.
    let mut rbuf: Vec<u8> = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = rbuf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if rbuf.len() > 8192 || stream.read_buf(&mut rbuf).await? == 0 {
            return Err(bad("no upgrade request"));
        }
    };
    let head = std::str::from_utf8(&rbuf[..head_end]).map_err(|_| bad("request not UTF-8"))?;
    let key = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })
        .ok_or_else(|| bad("no Sec-WebSocket-Key"))?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        ws_framework::handshake::accept_key(key.as_bytes())
    );
    stream.write_all(response.as_bytes()).await?;
    rbuf.drain(..head_end);

    // What to write, in order: ranges of `wbuf` (headers, small payloads copied out) and of
    // `rbuf` (big payloads, unmasked where they are).
    let mut wbuf: Vec<u8> = Vec::new();
    let mut out: Vec<(bool, std::ops::Range<usize>)> = Vec::new();
    let mut start = 0;
    loop {
        // Every whole frame in the buffer, answered; `missing`: how many bytes of the frame
        // cut short at the end are still to come, when its header is known.
        let mut missing = 0;
        let mut close = false;
        loop {
            let b = &rbuf[start..];
            if b.len() < 2 {
                break;
            }
            let (len, len_bytes) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 2),
                127 if b.len() >= 10 => {
                    let n = u64::from_be_bytes(b[2..10].try_into().expect("8 bytes"));
                    (usize::try_from(n).map_err(|_| bad("frame too long"))?, 8)
                }
                126 | 127 => break,
                n => (n as usize, 0),
            };
            let header = 2 + len_bytes + 4;
            if b[1] & 0x80 == 0 || b[0] & 0xf0 != 0x80 {
                return Err(bad("unmasked, fragmented or reserved bits set"));
            }
            if b.len() < header + len {
                missing = header + len - b.len();
                break;
            }
            let (b0, opcode) = (b[0], b[0] & 0x0f);
            let mask: [u8; 4] = b[header - 4..header].try_into().expect("4 bytes");
            let payload = start + header..start + header + len;
            start = payload.end;
            if opcode == 8 {
                close = true;
                break;
            }
            if opcode != 1 && opcode != 2 {
                return Err(bad("unexpected opcode"));
            }
            let head_at = wbuf.len();
            wbuf.push(b0);
            match len {
                0..=125 => wbuf.push(len as u8),
                126..=0xffff => {
                    wbuf.push(126);
                    wbuf.extend_from_slice(&(len as u16).to_be_bytes());
                }
                _ => {
                    wbuf.push(127);
                    wbuf.extend_from_slice(&(len as u64).to_be_bytes());
                }
            }
            // ws-framework's masking: 32 bytes at a time, vectorised.
            let data = &mut rbuf[payload.clone()];
            ws_framework::proto::mask::apply_mask(data, mask);
            if opcode == 1 && std::str::from_utf8(data).is_err() {
                return Err(bad("invalid UTF-8"));
            }
            if len <= 4096 {
                wbuf.extend_from_slice(data);
                push_range(&mut out, true, head_at..wbuf.len());
            } else {
                push_range(&mut out, true, head_at..wbuf.len());
                out.push((false, payload));
            }
        }
        if close {
            let at = wbuf.len();
            wbuf.extend_from_slice(&[0x88, 2, 0x03, 0xe8]);
            push_range(&mut out, true, at..wbuf.len());
        }
        write_ranges(&mut stream, &out, &wbuf, &rbuf).await?;
        out.clear();
        wbuf.clear();
        if close {
            return stream.shutdown().await;
        }
        if start == rbuf.len() {
            rbuf.clear();
        } else {
            rbuf.drain(..start);
        }
        start = 0;
        // Room for the rest of a big frame at once, so it arrives in one read.
        rbuf.reserve(missing.max(4096));
        if stream.read_buf(&mut rbuf).await? == 0 {
            return Ok(());
        }
    }
}

/// Appends `range` of `wbuf` (`own`) or of the read buffer to `out`, merging it with the last
/// range when they are adjacent in `wbuf`.
fn push_range(
    out: &mut Vec<(bool, std::ops::Range<usize>)>,
    own: bool,
    range: std::ops::Range<usize>,
) {
    match out.last_mut() {
        Some((true, last)) if own && last.end == range.start => last.end = range.end,
        _ => out.push((own, range)),
    }
}

/// Writes `out` (ranges of `wbuf` and `rbuf`) with as few vectored writes as the socket takes.
async fn write_ranges(
    stream: &mut TcpStream,
    out: &[(bool, std::ops::Range<usize>)],
    wbuf: &[u8],
    rbuf: &[u8],
) -> std::io::Result<()> {
    use std::io::IoSlice;
    use tokio::io::AsyncWriteExt;
    let slice = |(own, r): &(bool, std::ops::Range<usize>)| -> &[u8] {
        if *own {
            &wbuf[r.clone()]
        } else {
            &rbuf[r.clone()]
        }
    };
    // The first range not fully written, and how much of it was.
    let (mut first, mut skip) = (0, 0);
    while first < out.len() {
        let mut iov = [IoSlice::new(&[]); 64];
        let mut n = 0;
        for (i, seg) in out[first..].iter().take(64).enumerate() {
            let bytes = slice(seg);
            iov[i] = IoSlice::new(if i == 0 { &bytes[skip..] } else { bytes });
            n += 1;
        }
        let mut written = stream.write_vectored(&iov[..n]).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let left = slice(&out[first]).len() - skip;
            if written >= left {
                written -= left;
                first += 1;
                skip = 0;
            } else {
                skip += written;
                written = 0;
            }
        }
    }
    Ok(())
}
