//! The load generator: its own raw WebSocket client over tokio, which pre-encodes every masked
//! frame once per connection (only the sequence digits are patched per message), batches
//! writes, parses unmasked replies in place, and checks every echoed byte.
//!
//! ```sh
//! load --addr 127.0.0.1:PORT [--mode echo|handshake|idle] [--connections 100]
//!      [--size 64] [--kind text|binary|json] [--inflight 1] [--duration 5] [--warmup 1]
//!      [--compression] [--server-pid PID] [--core N] [--threads 1] [--label NAME]
//!      [--settle SECS] [--messages-each N]
//! ```
//!
//! Modes:
//! - `echo` (default): each connection keeps `--inflight` messages outstanding for `--warmup`
//!   then `--duration` seconds; only the second window is counted.
//! - `handshake`: `--connections` workers open a connection (TCP + upgrade), exchange close
//!   frames and reset it, in a loop; counts handshakes per second.
//! - `idle`: opens `--connections` connections, waits `--settle` seconds, and reports the
//!   server's resident memory per connection (`--server-pid` required), then closes them.
//!   With `--messages-each N`, every connection first sends N messages of `--kind`/`--size`
//!   (`--inflight` outstanding, default 1; compressed with `--compression`, as in echo mode)
//!   and checks each echo byte for byte, then goes idle: what a connection that has exchanged
//!   some traffic costs the server once quiet (its inflate window, under context takeover).
//!
//! Output: one JSON object on stdout. With `--server-pid`, the server's CPU time over the
//! counted window is read from `/proc/PID/stat` (utime + stime) and reported per message
//! (`server_cpu_us_per_msg`), its user-space part too (`server_user_us_per_msg`).
//! Any mismatch, protocol error or lost connection is counted in `errors` and makes the exit
//! status 1.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use ws_bench::args::{fail, parse_size, Args};
use ws_bench::deflate::ClientDeflate;
use ws_bench::hist::Histogram;
use ws_bench::payload::{Kind, Pool, Rng};
use ws_bench::sys;
use ws_bench::wire::{self, op};

const USAGE: &str = "usage: load --addr HOST:PORT [--mode echo|handshake|idle] \
    [--connections N] [--size BYTES] [--kind text|binary|json] [--inflight N] \
    [--duration SECS] [--warmup SECS] [--compression] [--level 1] [--server-pid PID] \
    [--core N] [--threads 1] [--settle SECS] [--messages-each N (idle mode)] [--path /] \
    [--label NAME]";

/// Frames up to this size are copied into the write buffer (and so batched); bigger ones are
/// written straight from the connection's pre-encoded frame.
const COPY_MAX: usize = 64 << 10;
/// Stop queueing messages once this much waits to be written.
const WBUF_HIGH: usize = 256 << 10;

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Echo,
    Handshake,
    Idle,
}

#[derive(Debug)]
struct Config {
    addr: SocketAddr,
    path: String,
    mode: Mode,
    connections: usize,
    kind: Kind,
    size: usize,
    inflight: usize,
    warmup: f64,
    duration: f64,
    settle: f64,
    /// Idle mode: messages each connection exchanges before going idle.
    messages_each: u64,
    compression: bool,
    level: u32,
    server_pid: Option<u32>,
    threads: usize,
    core: Option<usize>,
    label: Option<String>,
}

fn main() {
    let mut args = Args::from_env();
    if args.flag("help") {
        println!("{USAGE}");
        return;
    }
    let addr = args.string("addr").unwrap_or_else(|| fail(USAGE));
    let addr: SocketAddr = match addr.parse::<u16>() {
        Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
        Err(_) => addr
            .parse()
            .unwrap_or_else(|_| fail(&format!("bad --addr {addr}"))),
    };
    let mode = match args.string("mode").as_deref() {
        None | Some("echo") => Mode::Echo,
        Some("handshake") => Mode::Handshake,
        Some("idle") => Mode::Idle,
        Some(other) => fail(&format!("unknown --mode {other}")),
    };
    let size = args
        .string("size")
        .map(|s| parse_size(&s).unwrap_or_else(|| fail(&format!("bad --size {s}"))))
        .unwrap_or(64);
    let config = Config {
        addr,
        path: args.string("path").unwrap_or_else(|| "/".into()),
        mode,
        connections: args.get(
            "connections",
            if mode == Mode::Handshake { 16 } else { 100 },
        ),
        kind: args
            .get::<String>("kind", "text".into())
            .parse()
            .unwrap_or_else(|e: String| fail(&e)),
        size,
        inflight: args.get("inflight", 1usize).max(1),
        warmup: args.get("warmup", 1.0),
        duration: args.get("duration", 5.0),
        settle: args.get("settle", 1.0),
        messages_each: args.get("messages-each", 0),
        compression: args.flag("compression"),
        level: args.get("level", 1),
        server_pid: args.opt("server-pid"),
        threads: args.get("threads", 1usize).max(1),
        core: args.opt("core"),
        label: args.string("label"),
    };
    args.finish(USAGE);
    if config.duration <= 0.0
        || config.duration > 3600.0
        || config.warmup < 0.0
        || config.warmup > 600.0
    {
        fail("--duration must be in (0, 3600] and --warmup in [0, 600]");
    }
    if !(0.0..=3600.0).contains(&config.settle) {
        fail("--settle must be in [0, 3600]");
    }
    if config.messages_each > 0 && config.mode != Mode::Idle {
        fail("--messages-each applies to --mode idle only");
    }
    if config.messages_each > 1_000_000 {
        fail("--messages-each must be at most 1000000");
    }
    if config.connections == 0 || config.connections > 100_000 {
        fail("--connections must be in 1..=100000");
    }
    if let Some(core) = config.core {
        if let Err(e) = sys::pin_to_core(core) {
            fail(&format!("cannot pin to core {core}: {e}"));
        }
    }
    sys::raise_nofile_limit();
    let runtime = if config.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()
    }
    .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    let config = Arc::new(config);
    let report = runtime.block_on(async {
        match config.mode {
            Mode::Echo => run_echo(config.clone()).await,
            Mode::Handshake => run_handshakes(config.clone()).await,
            Mode::Idle => run_idle(config.clone()).await,
        }
    });
    // Connections still open (only after errors) are dropped with the runtime, bounded.
    runtime.shutdown_timeout(Duration::from_secs(1));
    println!("{report}");
    let errors = report["errors"].as_u64().unwrap_or(1);
    std::process::exit(if errors == 0 { 0 } else { 1 });
}

/// What one connection (or handshake worker) counted.
#[derive(Debug, Default)]
struct Stats {
    /// Messages (or handshakes) completed inside the counted window.
    count: u64,
    /// Payload bytes echoed inside the window.
    payload_bytes: u64,
    /// Messages completed in all phases, and the socket bytes for them (both directions).
    total_msgs: u64,
    wire_tx: u64,
    wire_rx: u64,
    hist: Histogram,
    errors: u64,
    first_error: Option<String>,
}

impl Stats {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    fn merge(&mut self, o: Stats) {
        self.count += o.count;
        self.payload_bytes += o.payload_bytes;
        self.total_msgs += o.total_msgs;
        self.wire_tx += o.wire_tx;
        self.wire_rx += o.wire_rx;
        self.hist.merge(&o.hist);
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// CPU of the server and of this process over the counted window.
#[derive(Debug, Default)]
struct Window {
    seconds: f64,
    server_cpu: Option<f64>,
    /// The user-space part of `server_cpu`.
    server_user: Option<f64>,
    own_cpu: f64,
}

/// Drives the phases: warmup, the counted window, stop; samples CPU at the window's edges.
async fn phases(config: &Config, phase: &AtomicU8) -> Window {
    tokio::time::sleep(Duration::from_secs_f64(config.warmup)).await;
    let me = std::process::id();
    let server0 = config
        .server_pid
        .and_then(|p| sys::cpu_seconds_split(p).ok());
    let own0 = sys::cpu_seconds(me).unwrap_or(0.0);
    let t0 = Instant::now();
    phase.store(MEASURE, Ordering::Release);
    tokio::time::sleep(Duration::from_secs_f64(config.duration)).await;
    phase.store(STOP, Ordering::Release);
    let seconds = t0.elapsed().as_secs_f64();
    let server1 = config
        .server_pid
        .and_then(|p| sys::cpu_seconds_split(p).ok());
    let own1 = sys::cpu_seconds(me).unwrap_or(0.0);
    let server = server0.zip(server1);
    Window {
        seconds,
        server_cpu: server.map(|(a, b)| (b.0 + b.1) - (a.0 + a.1)),
        server_user: server.map(|(a, b)| b.0 - a.0),
        own_cpu: own1 - own0,
    }
}

fn base_report(config: &Config) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    let mode = match config.mode {
        Mode::Echo => "echo",
        Mode::Handshake => "handshake",
        Mode::Idle => "idle",
    };
    m.insert("label".into(), config.label.clone().into());
    m.insert("mode".into(), mode.into());
    m.insert("connections".into(), config.connections.into());
    m.insert("kind".into(), config.kind.name().into());
    m.insert("size".into(), config.size.into());
    m.insert("inflight".into(), config.inflight.into());
    m.insert("compression_offered".into(), config.compression.into());
    m
}

fn latency_fields(m: &mut serde_json::Map<String, serde_json::Value>, h: &Histogram) {
    let us = |ns: u64| (ns as f64 / 10.0).round() / 100.0;
    m.insert("p50_us".into(), us(h.quantile(0.5)).into());
    m.insert("p99_us".into(), us(h.quantile(0.99)).into());
    m.insert("p999_us".into(), us(h.quantile(0.999)).into());
    m.insert("max_us".into(), us(h.max()).into());
    m.insert("mean_us".into(), ((h.mean() / 10.0).round() / 100.0).into());
}

// ---------------------------------------------------------------------------------------------
// Echo mode.

async fn run_echo(config: Arc<Config>) -> serde_json::Value {
    let pool = Arc::new(Pool::new(config.kind, config.size));
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let mut total = Stats::default();
    // Open every connection first (at most 256 handshakes at a time), then start the clock.
    let mut opened = Vec::with_capacity(config.connections);
    let mut negotiated = None;
    for chunk_start in (0..config.connections).step_by(256) {
        let n = (config.connections - chunk_start).min(256);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let c = config.clone();
            set.spawn(async move {
                wire::open(c.addr, &c.path, c.compression, Duration::from_secs(10)).await
            });
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(o)) => {
                    negotiated = negotiated.or(o.deflate);
                    opened.push(o);
                }
                Ok(Err(e)) => total.error(e),
                Err(e) => total.error(format!("task: {e}")),
            }
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, o) in opened.into_iter().enumerate() {
        let conn = Conn::new(o, i as u64, &config, pool.clone(), phase.clone());
        set.spawn(conn.run());
    }
    let window = phases(&config, &phase).await;
    // Everyone drains and closes; bounded.
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            r = set.join_next() => match r {
                Some(Ok(stats)) => total.merge(stats),
                Some(Err(e)) => total.error(format!("task: {e}")),
                None => break,
            },
            _ = &mut deadline => {
                total.error(format!("{} connections did not finish within 10 s of the end", set.len()));
                set.abort_all();
                break;
            }
        }
    }
    let mut m = base_report(&config);
    let msgs_per_s = total.count as f64 / window.seconds;
    m.insert("deflate_negotiated".into(), negotiated.is_some().into());
    m.insert("seconds".into(), round3(window.seconds).into());
    m.insert("messages".into(), total.count.into());
    m.insert("total_messages".into(), total.total_msgs.into());
    m.insert("msgs_per_s".into(), msgs_per_s.round().into());
    m.insert(
        "mb_per_s".into(),
        round3(total.payload_bytes as f64 / window.seconds / 1e6).into(),
    );
    latency_fields(&mut m, &total.hist);
    let per_msg = |bytes: u64| {
        if total.total_msgs == 0 {
            0.0
        } else {
            round3(bytes as f64 / total.total_msgs as f64)
        }
    };
    m.insert("wire_tx_per_msg".into(), per_msg(total.wire_tx).into());
    m.insert("wire_rx_per_msg".into(), per_msg(total.wire_rx).into());
    cpu_fields(&mut m, &window, total.count);
    m.insert("errors".into(), total.errors.into());
    m.insert("first_error".into(), total.first_error.into());
    serde_json::Value::Object(m)
}

fn cpu_fields(m: &mut serde_json::Map<String, serde_json::Value>, w: &Window, count: u64) {
    if let Some(cpu) = w.server_cpu {
        m.insert("server_cpu_s".into(), round3(cpu).into());
        m.insert("server_cpu_util".into(), round3(cpu / w.seconds).into());
        if count > 0 {
            m.insert(
                "server_cpu_us_per_msg".into(),
                round3(cpu * 1e6 / count as f64).into(),
            );
            if let Some(user) = w.server_user {
                m.insert(
                    "server_user_us_per_msg".into(),
                    round3(user * 1e6 / count as f64).into(),
                );
            }
        }
    }
    m.insert("load_cpu_util".into(), round3(w.own_cpu / w.seconds).into());
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    Running,
    /// The window ended: no new messages; waiting for the outstanding echoes.
    Draining,
    /// Our close frame is queued or sent; waiting for the server's.
    CloseSent,
}

/// One echo connection, driven by a hand-written poll loop: no channels, no extra tasks.
struct Conn {
    stream: TcpStream,
    pool: Arc<Pool>,
    phase: Arc<AtomicU8>,
    mask: [u8; 4],
    text: bool,
    inflight: usize,
    /// Messages to send in all (`u64::MAX` in echo mode: until the window ends).
    limit: u64,
    /// Pre-encoded masked frames, one per template (none when compressing: built per message).
    frames: Vec<Vec<u8>>,
    header_len: usize,
    deflate: Option<ClientDeflate>,
    scratch: Vec<u8>,
    inflated: Vec<u8>,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    /// A big frame being written straight from `frames[index]`: (index, bytes written).
    large: Option<(usize, usize)>,
    next_send: u64,
    next_recv: u64,
    sent_at: VecDeque<Instant>,
    /// A fragmented reply being reassembled: (opcode, compressed, data).
    partial: Option<(u8, bool, Vec<u8>)>,
    state: ConnState,
    stats: Stats,
}

impl Conn {
    fn new(
        o: wire::Opened,
        index: u64,
        config: &Config,
        pool: Arc<Pool>,
        phase: Arc<AtomicU8>,
    ) -> Self {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ (index + 1).wrapping_mul(0x1000_0000_01b3));
        let mask = (rng.next_u64() as u32).to_ne_bytes();
        let text = config.kind.is_text();
        let opcode = if text { op::TEXT } else { op::BINARY };
        let deflate = o.deflate.map(|n| ClientDeflate::new(n, config.level));
        let mut frames = Vec::new();
        let mut header_len = 0;
        if deflate.is_none() {
            for t in &pool.templates {
                let mut f = Vec::with_capacity(t.len() + 14);
                wire::push_masked_frame(&mut f, opcode, false, t, mask);
                header_len = f.len() - t.len();
                frames.push(f);
            }
        }
        let frame_len = pool.size() + 14;
        let mut rbuf = vec![0u8; (frame_len + 64).max(64 << 10)];
        rbuf[..o.leftover.len()].copy_from_slice(&o.leftover);
        Self {
            stream: o.stream,
            pool,
            phase,
            mask,
            text,
            inflight: config.inflight,
            limit: u64::MAX,
            frames,
            header_len,
            deflate,
            scratch: Vec::new(),
            inflated: Vec::new(),
            rend: o.leftover.len(),
            rbuf,
            rstart: 0,
            wbuf: Vec::with_capacity(64 << 10),
            wpos: 0,
            large: None,
            next_send: 0,
            next_recv: 0,
            sent_at: VecDeque::with_capacity(config.inflight),
            partial: None,
            state: ConnState::Running,
            stats: Stats::default(),
        }
    }

    async fn run(mut self) -> Stats {
        let result = poll_fn(|cx| self.poll_run(cx)).await;
        if let Err(e) = result {
            self.stats.error(e);
        }
        self.stats
    }

    /// Idle mode: sends `limit` messages (at most `inflight` outstanding), checks their echoes,
    /// and hands back the stream, still open, with the bytes read past the last echo (none
    /// unless the server sent a control frame after it) and what it counted; on failure, what
    /// it counted and the error. The buffers and the client's compressor go with `self`: the
    /// connection sends nothing more but its close frame.
    async fn exchange(
        mut self,
        limit: u64,
    ) -> Result<(TcpStream, Vec<u8>, Stats), (Stats, String)> {
        self.limit = limit;
        match poll_fn(|cx| self.poll_exchange(cx)).await {
            Ok(()) => {
                let leftover = self.rbuf[self.rstart..self.rend].to_vec();
                Ok((self.stream, leftover, self.stats))
            }
            Err(e) => Err((self.stats, e)),
        }
    }

    fn poll_exchange(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        for _ in 0..64 {
            while self.sent_at.len() < self.inflight && self.queue_message()? {}
            let wrote = self.poll_write(cx)?;
            let written = self.large.is_none() && self.wpos == self.wbuf.len();
            if self.next_recv >= self.limit && self.partial.is_none() && written {
                return Poll::Ready(Ok(()));
            }
            match self.poll_read(cx)? {
                // Only after our close frame, which this mode never sends.
                Poll::Ready(true) => return Poll::Ready(Err("connection ended early".into())),
                Poll::Ready(false) => continue,
                Poll::Pending if wrote => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        for _ in 0..64 {
            let phase = self.phase.load(Ordering::Acquire);
            if phase == STOP && self.state == ConnState::Running {
                self.state = ConnState::Draining;
            }
            if self.state == ConnState::Running {
                while self.sent_at.len() < self.inflight && self.queue_message()? {}
            }
            if self.state == ConnState::Draining
                && self.sent_at.is_empty()
                && self.partial.is_none()
            {
                let mut close = Vec::with_capacity(8);
                wire::push_masked_frame(
                    &mut close,
                    op::CLOSE,
                    false,
                    &1000u16.to_be_bytes(),
                    self.mask,
                );
                self.wbuf.extend_from_slice(&close);
                self.state = ConnState::CloseSent;
            }
            let wrote = self.poll_write(cx)?;
            match self.poll_read(cx)? {
                Poll::Ready(true) => return Poll::Ready(Ok(())),
                Poll::Ready(false) => continue,
                Poll::Pending if wrote => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
        // Out of budget with work left: let the other connections run.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Queues the next message; false when the write side is full for now.
    fn queue_message(&mut self) -> Result<bool, String> {
        if self.large.is_some()
            || self.wbuf.len() - self.wpos >= WBUF_HIGH
            || self.next_send >= self.limit
        {
            return Ok(false);
        }
        let seq = self.next_send;
        let pool = &*self.pool;
        let (a, w) = (pool.seq_offset, pool.seq_width);
        let digits = pool.digits(seq);
        if let Some(deflate) = &mut self.deflate {
            self.scratch.clear();
            self.scratch.extend_from_slice(pool.template(seq));
            self.scratch[a..a + w].copy_from_slice(&digits[..w]);
            let mut body = std::mem::take(&mut self.inflated);
            body.clear();
            deflate.compress(&self.scratch, &mut body)?;
            let opcode = if self.text { op::TEXT } else { op::BINARY };
            wire::push_masked_frame(&mut self.wbuf, opcode, true, &body, self.mask);
            self.inflated = body;
        } else {
            let index = (seq % self.frames.len() as u64) as usize;
            let frame_len = self.frames[index].len();
            if frame_len > COPY_MAX && self.wpos < self.wbuf.len() {
                return Ok(false); // A big frame goes out alone, after what is queued.
            }
            let start = self.header_len + a;
            let slot = &mut self.frames[index][start..start + w];
            slot.copy_from_slice(&digits[..w]);
            wire::mask_at(slot, self.mask, a);
            if frame_len > COPY_MAX {
                self.large = Some((index, 0));
            } else {
                self.wbuf.extend_from_slice(&self.frames[index]);
            }
        }
        self.next_send += 1;
        self.sent_at.push_back(Instant::now());
        Ok(true)
    }

    /// Writes what is queued; true when bytes went out.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<bool, String> {
        let buf: &[u8] = match self.large {
            Some((index, pos)) => &self.frames[index][pos..],
            None if self.wpos < self.wbuf.len() => &self.wbuf[self.wpos..],
            None => return Ok(false),
        };
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(0)) => Err("write returned 0".into()),
            Poll::Ready(Ok(n)) => {
                self.stats.wire_tx += n as u64;
                match &mut self.large {
                    Some((index, pos)) => {
                        *pos += n;
                        if *pos == self.frames[*index].len() {
                            self.large = None;
                        }
                    }
                    None => {
                        self.wpos += n;
                        if self.wpos == self.wbuf.len() {
                            self.wbuf.clear();
                            self.wpos = 0;
                        }
                    }
                }
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(format!("write: {e}")),
            Poll::Pending => Ok(false),
        }
    }

    /// Reads and handles what arrived: `Ready(true)` once the server's close frame (after ours)
    /// or its EOF ended the connection cleanly, `Ready(false)` on progress.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, String>> {
        if self.rend == self.rbuf.len() {
            // Full: move the unparsed bytes to the front (the buffer always fits one frame).
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        let mut rb = ReadBuf::new(&mut self.rbuf[self.rend..]);
        match Pin::new(&mut self.stream).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(if self.state == ConnState::CloseSent {
                        Ok(true)
                    } else {
                        Err(format!(
                            "server closed the connection with {} messages outstanding",
                            self.sent_at.len()
                        ))
                    });
                }
                self.stats.wire_rx += n as u64;
                self.rend += n;
                Poll::Ready(self.parse())
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(format!("read: {e}"))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn parse(&mut self) -> Result<bool, String> {
        loop {
            let avail = &self.rbuf[self.rstart..self.rend];
            let Some(h) = wire::parse_header(avail)? else {
                break;
            };
            let total = h.header_len + h.payload_len;
            if avail.len() < total {
                if self.rbuf.len() - self.rstart < total {
                    // Make room for the whole frame.
                    self.rbuf.copy_within(self.rstart..self.rend, 0);
                    self.rend -= self.rstart;
                    self.rstart = 0;
                    if self.rbuf.len() < total {
                        self.rbuf.resize(total, 0);
                    }
                }
                break;
            }
            let start = self.rstart + h.header_len;
            self.rstart += total;
            let rbuf = std::mem::take(&mut self.rbuf);
            let done = self.on_frame(h, &rbuf[start..start + h.payload_len]);
            self.rbuf = rbuf;
            if done? {
                return Ok(true);
            }
        }
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        }
        Ok(false)
    }

    fn on_frame(&mut self, h: wire::Header, payload: &[u8]) -> Result<bool, String> {
        match h.opcode {
            op::TEXT | op::BINARY => {
                if self.partial.is_some() {
                    return Err("new message inside a fragmented one".into());
                }
                if h.fin {
                    self.on_message(h.opcode, h.rsv1, payload)?;
                } else {
                    self.partial = Some((h.opcode, h.rsv1, payload.to_vec()));
                }
            }
            op::CONTINUATION => {
                let Some((_, _, data)) = self.partial.as_mut() else {
                    return Err("continuation without a message".into());
                };
                data.extend_from_slice(payload);
                if h.fin {
                    let (opcode, compressed, data) = self.partial.take().expect("checked");
                    self.on_message(opcode, compressed, &data)?;
                }
            }
            op::CLOSE => {
                if self.state == ConnState::CloseSent {
                    return Ok(true);
                }
                let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                return Err(format!(
                    "server sent close {code:?} `{}`",
                    String::from_utf8_lossy(payload.get(2..).unwrap_or_default())
                ));
            }
            op::PING => {
                if self.state != ConnState::CloseSent {
                    // Queued behind a big frame in flight, if any: the write side keeps order.
                    wire::push_masked_frame(&mut self.wbuf, op::PONG, false, payload, self.mask);
                }
            }
            op::PONG => {}
            other => return Err(format!("unexpected opcode {other:#x}")),
        }
        Ok(false)
    }

    fn on_message(&mut self, opcode: u8, compressed: bool, payload: &[u8]) -> Result<(), String> {
        let seq = self.next_recv;
        let expected_op = if self.text { op::TEXT } else { op::BINARY };
        if opcode != expected_op {
            return Err(format!(
                "message {seq}: opcode {opcode:#x}, sent {expected_op:#x}"
            ));
        }
        let ok = if compressed {
            let deflate = self
                .deflate
                .as_mut()
                .ok_or("compressed reply without permessage-deflate")?;
            let mut out = std::mem::take(&mut self.inflated);
            out.clear();
            deflate.decompress(payload, &mut out)?;
            let ok = self.pool.matches(seq, &out);
            self.inflated = out;
            ok
        } else {
            self.pool.matches(seq, payload)
        };
        if !ok {
            return Err(format!(
                "message {seq}: the echo differs from what was sent ({} bytes{})",
                payload.len(),
                if compressed { ", compressed" } else { "" }
            ));
        }
        let sent = self
            .sent_at
            .pop_front()
            .ok_or("an echo of a message never sent")?;
        self.next_recv += 1;
        self.stats.total_msgs += 1;
        if self.phase.load(Ordering::Relaxed) == MEASURE {
            self.stats.count += 1;
            self.stats.payload_bytes += self.pool.size() as u64;
            self.stats.hist.record(sent.elapsed().as_nanos() as u64);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Handshake mode.

async fn run_handshakes(config: Arc<Config>) -> serde_json::Value {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..config.connections {
        let (c, p) = (config.clone(), phase.clone());
        set.spawn(handshake_worker(c, p, i as u64));
    }
    let window = phases(&config, &phase).await;
    let mut total = Stats::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(s) => total.merge(s),
            Err(e) => total.error(format!("task: {e}")),
        }
    }
    let mut m = base_report(&config);
    m.insert("seconds".into(), round3(window.seconds).into());
    m.insert("handshakes".into(), total.count.into());
    m.insert(
        "handshakes_per_s".into(),
        (total.count as f64 / window.seconds).round().into(),
    );
    latency_fields(&mut m, &total.hist);
    cpu_fields(&mut m, &window, total.count);
    m.insert("errors".into(), total.errors.into());
    m.insert("first_error".into(), total.first_error.into());
    serde_json::Value::Object(m)
}

/// Opens, closes (close frames both ways) and resets connections until the window ends.
async fn handshake_worker(config: Arc<Config>, phase: Arc<AtomicU8>, index: u64) -> Stats {
    let mut stats = Stats::default();
    let mask = (Rng::new(index + 7).next_u64() as u32).to_ne_bytes();
    let mut close = Vec::new();
    wire::push_masked_frame(&mut close, op::CLOSE, false, &1000u16.to_be_bytes(), mask);
    while phase.load(Ordering::Acquire) != STOP {
        let t = Instant::now();
        let result = async {
            let mut o = wire::open(
                config.addr,
                &config.path,
                config.compression,
                Duration::from_secs(5),
            )
            .await?;
            let elapsed = t.elapsed();
            o.stream
                .write_all(&close)
                .await
                .map_err(|e| format!("send close: {e}"))?;
            // The server's close frame (4 bytes for code 1000), then its EOF; bounded.
            let mut buf = o.leftover;
            tokio::time::timeout(Duration::from_secs(5), async {
                let mut chunk = [0u8; 64];
                loop {
                    if let Some(h) = wire::parse_header(&buf)? {
                        if h.opcode == op::CLOSE && buf.len() >= h.header_len + h.payload_len {
                            return Ok(());
                        }
                    }
                    let n = o
                        .stream
                        .read(&mut chunk)
                        .await
                        .map_err(|e| format!("read close: {e}"))?;
                    if n == 0 {
                        return Err("EOF before the server's close frame".to_owned());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            })
            .await
            .map_err(|_| "no close frame within 5 s".to_owned())??;
            // Reset rather than leave TIME_WAIT sockets behind at thousands per second.
            let _ = o.stream.set_zero_linger();
            Ok::<Duration, String>(elapsed)
        }
        .await;
        match result {
            Ok(latency) => {
                if phase.load(Ordering::Acquire) == MEASURE {
                    stats.count += 1;
                    stats.hist.record(latency.as_nanos() as u64);
                }
            }
            Err(e) => {
                stats.error(e);
                if stats.errors > 100 {
                    break;
                }
            }
        }
    }
    stats
}

// ---------------------------------------------------------------------------------------------
// Idle mode.

async fn run_idle(config: Arc<Config>) -> serde_json::Value {
    let mut m = base_report(&config);
    let Some(pid) = config.server_pid else {
        fail("--mode idle needs --server-pid");
    };
    // The messages of `--messages-each`, if any: never in a counted window (only totals).
    let pool = (config.messages_each > 0).then(|| Arc::new(Pool::new(config.kind, config.size)));
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let before = sys::rss_kib(pid).unwrap_or(0);
    let t = Instant::now();
    let mut total = Stats::default();
    let mut open = Vec::with_capacity(config.connections);
    // At most 256 connections opening (and exchanging their messages) at a time.
    for chunk_start in (0..config.connections).step_by(256) {
        let n = (config.connections - chunk_start).min(256);
        let mut set = tokio::task::JoinSet::new();
        for index in chunk_start..chunk_start + n {
            let (c, pool, phase) = (config.clone(), pool.clone(), phase.clone());
            set.spawn(open_idle(c, index as u64, pool, phase));
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok((result, stats)) => {
                    total.merge(stats);
                    match result {
                        Ok(o) => open.push(o),
                        Err(e) => total.error(e),
                    }
                }
                Err(e) => total.error(format!("task: {e}")),
            }
        }
    }
    let open_seconds = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(config.settle)).await;
    let after = sys::rss_kib(pid).unwrap_or(0);
    let n = open.len().max(1) as f64;
    let deflate_connections = open.iter().filter(|o| o.deflate.is_some()).count();
    m.insert("open".into(), open.len().into());
    m.insert("open_seconds".into(), round3(open_seconds).into());
    m.insert("settle_seconds".into(), config.settle.into());
    m.insert(
        "deflate_negotiated".into(),
        (deflate_connections > 0).into(),
    );
    m.insert("deflate_connections".into(), deflate_connections.into());
    m.insert("messages_each".into(), config.messages_each.into());
    m.insert("total_messages".into(), total.total_msgs.into());
    if total.total_msgs > 0 {
        let per_msg = |bytes: u64| round3(bytes as f64 / total.total_msgs as f64);
        m.insert("wire_tx_per_msg".into(), per_msg(total.wire_tx).into());
        m.insert("wire_rx_per_msg".into(), per_msg(total.wire_rx).into());
    }
    m.insert("server_rss_before_kib".into(), before.into());
    m.insert("server_rss_after_kib".into(), after.into());
    m.insert(
        "server_kib_per_conn".into(),
        round3(after.saturating_sub(before) as f64 / n).into(),
    );
    // Close them all, politely, bounded.
    let mut set = tokio::task::JoinSet::new();
    for (i, mut o) in open.into_iter().enumerate() {
        set.spawn(async move {
            let mut close = Vec::new();
            let mask = (Rng::new(i as u64 + 11).next_u64() as u32).to_ne_bytes();
            wire::push_masked_frame(&mut close, op::CLOSE, false, &1000u16.to_be_bytes(), mask);
            let _ = tokio::time::timeout(Duration::from_secs(3), async {
                o.stream.write_all(&close).await?;
                let mut chunk = [0u8; 64];
                while o.stream.read(&mut chunk).await? > 0 {}
                Ok::<(), std::io::Error>(())
            })
            .await;
            let _ = o.stream.set_zero_linger();
        });
    }
    while set.join_next().await.is_some() {}
    m.insert("errors".into(), total.errors.into());
    m.insert("first_error".into(), total.first_error.into());
    serde_json::Value::Object(m)
}

/// Opens one idle-mode connection and, with `pool` (`--messages-each`), exchanges its messages
/// through the echo-mode client (same encoding, compression and byte-for-byte check), bounded.
/// Returns the connection or the error, and what the exchange counted.
async fn open_idle(
    config: Arc<Config>,
    index: u64,
    pool: Option<Arc<Pool>>,
    phase: Arc<AtomicU8>,
) -> (Result<wire::Opened, String>, Stats) {
    let o = match wire::open(
        config.addr,
        &config.path,
        config.compression,
        Duration::from_secs(10),
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return (Err(e), Stats::default()),
    };
    let Some(pool) = pool else {
        return (Ok(o), Stats::default());
    };
    let deflate = o.deflate;
    let conn = Conn::new(o, index, &config, pool, phase);
    let limit = Duration::from_secs(30);
    match tokio::time::timeout(limit, conn.exchange(config.messages_each)).await {
        Ok(Ok((stream, leftover, stats))) => (
            Ok(wire::Opened {
                stream,
                leftover,
                deflate,
            }),
            stats,
        ),
        Ok(Err((stats, e))) => (Err(e), stats),
        Err(_) => (
            Err(format!(
                "{} messages not all echoed within {limit:?}",
                config.messages_each
            )),
            Stats::default(),
        ),
    }
}
