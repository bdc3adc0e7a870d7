//! Soak run: many concurrent connections on 127.0.0.1, each exchanging messages with an echo
//! service (some compressed), every echo verified for content and order. Prints messages/s and
//! the server's memory per connection (idle, and idle with deflate negotiated), read from
//! `/proc` of the server process, which runs as a child of this one so that each side has its
//! own file-descriptor table.
//!
//! ```sh
//! cargo run --release --example soak -- [--connections 10000] [--messages 20] [--time-limit 300]
//! ```
//! Exits non-zero when any message is lost, corrupted or reordered, or the time limit passes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use ws_framework::stream::{connect, ConnectOptions};
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, ListenerConfig, Message, Reply, Service,
    ServiceConfig, UpgradeError, UpgradeRequest,
};

/// The echo service under test, written against the `Service` trait.
struct Echo;

impl Service for Echo {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/soak")
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        Ok(Echo)
    }

    async fn handle(&mut self, _: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(t) => Reply::Text(t),
            Event::Binary(b) => Reply::Binary(b),
            _ => Reply::None,
        }
    }
}

struct Args {
    connections: usize,
    messages: usize,
    time_limit: Duration,
    server: bool,
}

fn args() -> Args {
    let mut a = Args {
        connections: 10_000,
        messages: 20,
        time_limit: Duration::from_secs(300),
        server: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("a number")
        };
        match arg.as_str() {
            "--connections" => a.connections = value() as usize,
            "--messages" => a.messages = value() as usize,
            "--time-limit" => a.time_limit = Duration::from_secs(value()),
            "--server" => a.server = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.server {
        runtime.block_on(serve());
        return;
    }
    let ok = runtime.block_on(async {
        match tokio::time::timeout(args.time_limit, drive(&args)).await {
            Ok(result) => result,
            Err(_) => Err(format!("time limit of {:?} passed", args.time_limit)),
        }
    });
    match ok {
        Ok(()) => println!("soak: PASS"),
        Err(e) => {
            eprintln!("soak: FAIL: {e}");
            std::process::exit(1);
        }
    }
}

async fn serve() {
    let config = ListenerConfig::default().max_connections(1_000_000);
    let listener = Listener::bind_with("127.0.0.1:0", config)
        .await
        .expect("bind");
    listener.attach::<Echo>().expect("attach");
    println!("{}", listener.local_addr());
    // Ctrl-C (which reaches this child too) stops it gracefully.
    ws_framework::run_until_ctrl_c(&listener)
        .await
        .expect("serve");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The payload of message `i` on connection `c`: recognisable, of varied size, half of the
/// larger ones above the compression threshold.
fn payload(c: usize, i: usize) -> String {
    let size = [16, 200, 1500, 5000][(c + i) % 4];
    let mut s = format!("{c}:{i}:");
    while s.len() < size {
        s.push_str("soak-payload ");
    }
    s.truncate(size);
    s
}

async fn drive(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--server")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id().ok_or("no server pid")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let addr = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("server printed nothing")?;
    let url = format!("ws://{addr}/soak");
    let base_rss = rss_kib(pid);

    // Open the connections: the first half plain, the second half offering compression.
    let half = args.connections / 2;
    let mut sockets = Vec::with_capacity(args.connections);
    let opened = Instant::now();
    for c in 0..args.connections {
        let options = if c < half {
            ConnectOptions::default()
        } else {
            ConnectOptions::with_compression()
        };
        let (ws, driver, _) = connect(&url, &options)
            .await
            .map_err(|e| format!("connection {c}: {e}"))?;
        tokio::spawn(driver);
        sockets.push(ws);
    }
    let open_secs = opened.elapsed().as_secs_f64();
    let idle_rss = rss_kib(pid);
    let per_conn = |rss: u64| (rss.saturating_sub(base_rss)) as f64 / args.connections as f64;
    println!(
        "opened {} connections in {open_secs:.1} s ({:.0}/s); server RSS {base_rss} KiB -> {idle_rss} KiB",
        args.connections,
        args.connections as f64 / open_secs
    );

    // Exchange: every connection sends its messages in order and checks each echo.
    let lost = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(sockets.len());
    for (c, ws) in sockets.iter().cloned().enumerate() {
        let lost = lost.clone();
        let messages = args.messages;
        tasks.push(tokio::spawn(async move {
            for i in 0..messages {
                let sent = payload(c, i);
                let message = if i % 2 == 0 {
                    Message::text(sent.clone())
                } else {
                    Message::binary(sent.clone().into_bytes())
                };
                if ws.send(message.clone()).await.is_err() {
                    lost.fetch_add((messages - i) as u64, Ordering::Relaxed);
                    return;
                }
                match ws.recv().await {
                    Ok(Incoming::Message(echo)) if echo == message => {}
                    _ => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let secs = started.elapsed().as_secs_f64();
    let total = (args.connections * args.messages) as f64;
    let busy_rss = rss_kib(pid);
    for ws in &sockets {
        let _ = ws.start_close(None);
    }
    let lost = lost.load(Ordering::Relaxed);
    println!(
        "{} messages echoed and verified in {secs:.1} s: {:.0} msg/s; lost or wrong: {lost}",
        total as u64,
        total / secs
    );
    println!(
        "server memory per connection: idle {:.1} KiB (half with deflate negotiated), after traffic {:.1} KiB",
        per_conn(idle_rss),
        per_conn(busy_rss)
    );
    let _ = child.kill().await;
    if lost > 0 {
        return Err(format!("{lost} messages lost, corrupted or reordered"));
    }
    Ok(())
}
