//! Broadcast benchmark: one 64 B message to every member of a 1,000-connection group, sent
//! encode-once through the hub (`caller.group(..).send_text(..)`) against a naive loop that
//! writes to each member's `Caller` in turn. The server runs in a child process pinned to one
//! core; every delivery is counted by the clients. Prints deliveries/s and server CPU per
//! delivery for both, and their ratio.
//!
//! ```sh
//! cargo run --release -p ws-bench --bin broadcast -- [--members 1000] [--messages 200] [--reps 3]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use ws_bench::sys;
use ws_framework::stream::{connect, ConnectOptions};
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, Message, Reply, Service, ServiceConfig,
    UpgradeError, UpgradeRequest,
};

const PAYLOAD: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `join` joins the group; `hub N` / `naive N` broadcast N messages, then answer `done`.
struct Fanout;

impl Service for Fanout {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/fanout")
    }

    async fn upgrade(_: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        Ok(Fanout)
    }

    async fn handle(&mut self, caller: &Caller, _: &Arc<()>, event: Event) -> Reply {
        let Event::Text(text) = event else {
            return Reply::None;
        };
        let (cmd, n) = text.split_once(' ').unwrap_or((&text, "0"));
        let n: usize = n.parse().unwrap_or(0);
        match cmd {
            "join" => {
                let _ = caller.join("all");
                Reply::Text("joined".into())
            }
            "hub" => {
                for _ in 0..n {
                    let _ = caller.group("all").send_text(PAYLOAD).await;
                }
                Reply::Text("done".into())
            }
            "naive" => {
                for _ in 0..n {
                    for member in caller.hub().members("all") {
                        let _ = member.write_text(PAYLOAD).await;
                    }
                }
                Reply::Text("done".into())
            }
            _ => Reply::None,
        }
    }
}

fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    sys::raise_nofile_limit();
    if std::env::args().any(|a| a == "--server") {
        let _ = sys::pin_to_core(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let listener = Listener::bind("127.0.0.1:0").await.expect("bind");
            listener.attach::<Fanout>().expect("attach");
            println!("{}", listener.local_addr());
            listener.run().await.expect("run");
        });
        return;
    }
    let _ = sys::pin_to_core(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(drive()) {
        eprintln!("broadcast: FAIL: {e}");
        std::process::exit(1);
    }
}

async fn drive() -> Result<(), String> {
    let members = arg("--members", 1000) as usize;
    let messages = arg("--messages", 200) as usize;
    let reps = arg("--reps", 3) as usize;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--server")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id().ok_or("no pid")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let addr = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no address")?;
    let url = format!("ws://{addr}/fanout");

    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..members {
        let (ws, driver, _) = connect(&url, &ConnectOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(driver);
        ws.send(Message::text("join"))
            .await
            .map_err(|e| e.to_string())?;
        match ws.recv().await {
            Ok(Incoming::Message(Message::Text(t))) if t == "joined" => {}
            other => return Err(format!("join failed: {other:?}")),
        }
        let received = received.clone();
        tokio::spawn(async move {
            while let Ok(Incoming::Message(m)) = ws.recv().await {
                if m.as_bytes() == PAYLOAD.as_bytes() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let (control, driver, _) = connect(&url, &ConnectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(driver);

    let expected = (members * messages) as u64;
    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    for rep in 0..reps {
        // Alternate the order so machine drift hits both alike.
        let order = if rep % 2 == 0 {
            ["hub", "naive"]
        } else {
            ["naive", "hub"]
        };
        for mode in order {
            received.store(0, Ordering::Relaxed);
            let cpu0 = sys::cpu_seconds(pid).map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            control
                .send(Message::text(format!("{mode} {messages}")))
                .await
                .map_err(|e| e.to_string())?;
            match control.recv().await {
                Ok(Incoming::Message(Message::Text(t))) if t == "done" => {}
                other => return Err(format!("{mode}: unexpected answer {other:?}")),
            }
            let deadline = Instant::now() + Duration::from_secs(120);
            while received.load(Ordering::Relaxed) < expected {
                if Instant::now() > deadline {
                    return Err(format!(
                        "{mode}: {} of {expected} deliveries arrived",
                        received.load(Ordering::Relaxed)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = sys::cpu_seconds(pid).map_err(|e| e.to_string())? - cpu0;
            let per_s = expected as f64 / secs;
            let cpu_us = cpu * 1e6 / expected as f64;
            println!("rep {} {mode:5}: {expected} deliveries in {secs:.3} s: {per_s:.0}/s, server CPU {cpu_us:.3} us/delivery", rep + 1);
            rows.push((mode, per_s, cpu_us));
        }
    }
    let median = |mode: &str, pick: fn(&(&str, f64, f64)) -> f64| {
        let mut v: Vec<f64> = rows.iter().filter(|r| r.0 == mode).map(pick).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (hub_rate, naive_rate) = (median("hub", |r| r.1), median("naive", |r| r.1));
    let (hub_cpu, naive_cpu) = (median("hub", |r| r.2), median("naive", |r| r.2));
    println!();
    println!("| broadcast of 64 B to {members} members | deliveries/s | server CPU µs/delivery |");
    println!("|---|---:|---:|");
    println!("| encode-once (hub) | {hub_rate:.0} | {hub_cpu:.3} |");
    println!("| naive per-member write loop | {naive_rate:.0} | {naive_cpu:.3} |");
    println!(
        "| ratio hub / naive | {:.2}x | {:.2}x less CPU |",
        hub_rate / naive_rate,
        naive_cpu / hub_cpu
    );
    println!("machine load: {}", sys::loadavg());
    let _ = child.kill().await;
    Ok(())
}
