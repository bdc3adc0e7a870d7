//! Runs the whole comparison and prints it as markdown: every scenario against every server,
//! `--reps` times (median reported), the server order rotated between repetitions so drift of
//! a shared machine hits all servers alike. The server runs pinned to `--server-core` on a
//! single-threaded runtime, the load generator pinned to `--load-core`.
//!
//! ```sh
//! cargo build --release -p ws-bench && target/release/matrix [--reps 3] [--duration 5]
//!     [--warmup 1] [--impls engine,macros,tungstenite,fastwebsockets,floor] [--only SCENARIO,...]
//!     [--idle-connections 10000 (idle and idlez)] [--server-core 0] [--load-core 1] [--no-pin] [--quick]
//!     [--out DIR]
//! ```
//! (`scripts/bench.sh` does both.) Every run's JSON goes to `DIR/matrix-<time>.jsonl`
//! (default `target/bench`). The exit status is 1 when any run reported an error (such as an
//! echo that differs from what was sent).

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use ws_bench::args::{fail, parse_size, Args};
use ws_bench::sys;

const USAGE: &str = "usage: matrix [--reps 3] [--duration 5] [--warmup 1] \
    [--impls engine,macros,tungstenite,fastwebsockets,floor] [--only SCENARIO,...] [--idle-connections 10000] \
    [--server-core 0] [--load-core 1] [--no-pin] [--quick] [--out DIR] [--bin-dir DIR] [--list] \
    [--from target/bench/matrix-TIME.jsonl (print the tables of a saved run again)]";

/// The size from which ws-framework's servers compress a message (their default): smaller
/// replies go uncompressed even when permessage-deflate is negotiated.
const DEFLATE_THRESHOLD: usize = ws_framework::proto::deflate::DEFAULT_THRESHOLD;

/// The baseline every ratio is taken against.
const BASELINE: &str = "tungstenite";

/// The reference server that does the least work (`server --impl floor`): when it is in the
/// run, the echo and handshake tables say how far above it each server's CPU time is.
const FLOOR: &str = "floor";

/// The servers of a run unless `--impls` says otherwise.
const DEFAULT_IMPLS: &str = "engine,macros,tungstenite,fastwebsockets,floor";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Echo,
    Compression,
    Handshake,
    Idle,
    /// Idle connections that negotiated permessage-deflate and exchanged compressed messages
    /// first (ws-framework only), set against the same server's `twin` idle run.
    IdleDeflate,
}

#[derive(Clone, Debug)]
struct Scenario {
    /// Short id for `--only`.
    id: &'static str,
    /// What the table calls it.
    title: &'static str,
    table: Table,
    load_args: Vec<String>,
    /// `None`: every server; otherwise only these.
    only: Option<&'static [&'static str]>,
    /// For a compression scenario (or `idlez`): the id of its uncompressed twin, which its
    /// table sets it against.
    twin: Option<&'static str>,
}

fn scenarios(idle_connections: usize) -> Vec<Scenario> {
    let a = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    vec![
        Scenario {
            id: "text64x1",
            title: "64 B text, 1 conn",
            table: Table::Echo,
            load_args: a("--kind text --size 64 --connections 1 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "text64x100",
            title: "64 B text, 100 conns",
            table: Table::Echo,
            load_args: a("--kind text --size 64 --connections 100 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "text64x100x16",
            title: "64 B text, 100 conns x 16 in flight",
            table: Table::Echo,
            load_args: a("--kind text --size 64 --connections 100 --inflight 16"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "bin16kx10",
            title: "16 KiB binary, 10 conns",
            table: Table::Echo,
            load_args: a("--kind binary --size 16k --connections 10 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "bin1mx1",
            title: "1 MiB binary, 1 conn",
            table: Table::Echo,
            load_args: a("--kind binary --size 1m --connections 1 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "json4kx10",
            title: "4 KiB JSON text, 10 conns",
            table: Table::Echo,
            load_args: a("--kind json --size 4k --connections 10 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "json4kx10z",
            title: "4 KiB JSON text, 10 conns, compression offered",
            table: Table::Compression,
            load_args: a("--kind json --size 4k --connections 10 --inflight 1 --compression"),
            only: Some(&["engine", "macros"]),
            twin: Some("json4kx10"),
        },
        Scenario {
            id: "json64x100",
            title: "64 B JSON text, 100 conns",
            table: Table::Echo,
            load_args: a("--kind json --size 64 --connections 100 --inflight 1"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "json64x100z",
            title: "64 B JSON text, 100 conns, compression offered",
            table: Table::Compression,
            load_args: a("--kind json --size 64 --connections 100 --inflight 1 --compression"),
            only: Some(&["engine", "macros"]),
            twin: Some("json64x100"),
        },
        Scenario {
            id: "handshake",
            title: "16 concurrent openers",
            table: Table::Handshake,
            load_args: a("--mode handshake --connections 16"),
            only: None,
            twin: None,
        },
        Scenario {
            id: "idle",
            title: "idle connections",
            table: Table::Idle,
            load_args: {
                let mut v = a("--mode idle --settle 1");
                v.extend(["--connections".into(), idle_connections.to_string()]);
                v
            },
            only: None,
            twin: None,
        },
        Scenario {
            id: "idlez",
            title: "idle connection with permessage-deflate (after 4 compressed 4 KiB JSON echoes each)",
            table: Table::IdleDeflate,
            load_args: {
                // 12 s of settling: ws-framework releases an idle connection's compressor
                // after a few seconds without compressing (its inflate window stays: context
                // takeover), so the figure is taken after that.
                let mut v = a("--mode idle --compression --kind json --size 4k --messages-each 4 \
                     --settle 12");
                v.extend(["--connections".into(), idle_connections.to_string()]);
                v
            },
            only: Some(&["engine", "macros"]),
            twin: Some("idle"),
        },
    ]
}

struct Options {
    reps: usize,
    duration: f64,
    warmup: f64,
    impls: Vec<String>,
    server_core: Option<usize>,
    load_core: Option<usize>,
    bin_dir: PathBuf,
}

fn main() {
    let mut args = Args::from_env();
    if args.flag("help") {
        println!("{USAGE}");
        return;
    }
    let quick = args.flag("quick");
    let list = args.flag("list");
    let no_pin = args.flag("no-pin");
    let idle_connections: usize = args.get("idle-connections", if quick { 1000 } else { 10_000 });
    let mut options = Options {
        reps: args.get("reps", if quick { 1 } else { 3 }).clamp(1, 20),
        duration: args.get("duration", if quick { 2.0 } else { 5.0 }),
        warmup: args.get("warmup", if quick { 0.5 } else { 1.0 }),
        impls: args
            .get::<String>("impls", DEFAULT_IMPLS.into())
            .split(',')
            .map(str::to_owned)
            .collect(),
        server_core: Some(args.get("server-core", 0)),
        load_core: Some(args.get("load-core", 1)),
        bin_dir: args.opt("bin-dir").unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."))
        }),
    };
    let only: Option<Vec<String>> = args
        .string("only")
        .map(|s| s.split(',').map(str::to_owned).collect());
    let out_dir: PathBuf = args
        .opt("out")
        .unwrap_or_else(|| PathBuf::from("target/bench"));
    let from: Option<PathBuf> = args.opt("from");
    args.finish(USAGE);
    if !(0.1..=600.0).contains(&options.duration) || !(0.0..=60.0).contains(&options.warmup) {
        fail("--duration must be in [0.1, 600] and --warmup in [0, 60]");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if no_pin || cpus < 2 {
        options.server_core = None;
        options.load_core = None;
    }
    let all = scenarios(idle_connections);
    if list {
        for s in &all {
            println!("{:14} {}", s.id, s.title);
        }
        return;
    }
    let chosen: Vec<Scenario> = all
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.iter().any(|id| id == s.id)))
        .collect();
    if chosen.is_empty() {
        fail("no scenario selected (see --list)");
    }
    if let Some(path) = from {
        rerender(&path, chosen, &options.impls);
        return;
    }
    for exe in ["server", "load"] {
        if !options.bin_dir.join(exe).exists() {
            fail(&format!(
                "{} not found: build first with `cargo build --release -p ws-bench` (or use scripts/bench.sh)",
                options.bin_dir.join(exe).display()
            ));
        }
    }
    let runs: usize = chosen
        .iter()
        .map(|s| impls_for(s, &options.impls).len())
        .sum::<usize>()
        * options.reps;
    // Idle runs take their settle time (plus opening), the others warmup + duration.
    let seconds: f64 = chosen
        .iter()
        .map(|s| {
            let per_run = match load_settle(s) {
                Some(settle) => settle + 2.0,
                None => options.warmup + options.duration + 1.0,
            };
            per_run * impls_for(s, &options.impls).len() as f64
        })
        .sum::<f64>()
        * options.reps as f64;
    eprintln!(
        "{runs} runs, about {seconds:.0} s; server on core {:?}, load on core {:?}",
        options.server_core, options.load_core
    );
    let _ = std::fs::create_dir_all(&out_dir);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let log_path = out_dir.join(format!("matrix-{stamp}.jsonl"));
    let mut log = std::fs::File::create(&log_path).ok();

    let load_before = sys::loadavg();
    let machine = sys::machine();
    if let Some(f) = log.as_mut() {
        let meta = serde_json::json!({
            "meta": "start", "machine": machine, "loadavg": load_before,
            "reps": options.reps, "duration": options.duration, "warmup": options.warmup,
            "server_core": options.server_core, "load_core": options.load_core,
        });
        let _ = writeln!(f, "{meta}");
    }
    let started = Instant::now();
    let mut results: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut done = 0;
    for rep in 0..options.reps {
        for (si, scenario) in chosen.iter().enumerate() {
            let mut order = impls_for(scenario, &options.impls);
            let k = order.len().max(1);
            order.rotate_left((rep + si) % k);
            for which in order {
                done += 1;
                eprint!(
                    "[{done}/{runs}] rep {} {} {which} ... ",
                    rep + 1,
                    scenario.id
                );
                let _ = std::io::stderr().flush();
                let result = run_one(&options, scenario, &which);
                let line = match &result {
                    Ok(v) => v.clone(),
                    Err(e) => serde_json::json!({ "errors": 1, "first_error": e }),
                };
                eprintln!("{}", summary(scenario.table, &line));
                if let Some(f) = log.as_mut() {
                    let mut record = line.clone();
                    record["scenario"] = scenario.id.into();
                    record["impl"] = which.clone().into();
                    record["rep"] = rep.into();
                    let _ = writeln!(f, "{record}");
                }
                if line["errors"].as_u64().unwrap_or(1) != 0 {
                    failures.push(format!(
                        "{} / {which} rep {}: {}",
                        scenario.id,
                        rep + 1,
                        line["first_error"]
                    ));
                }
                results
                    .entry((scenario.id.to_owned(), which))
                    .or_default()
                    .push(line);
            }
        }
    }
    let load_after = sys::loadavg();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(f) = log.as_mut() {
        let meta = serde_json::json!({ "meta": "end", "loadavg": load_after, "seconds": seconds });
        let _ = writeln!(f, "{meta}");
    }

    let mut out = String::new();
    out.push_str(&header(
        &machine,
        &load_before,
        &load_after,
        options.reps,
        options.duration,
        options.warmup,
        seconds,
        options.server_core,
        options.load_core,
    ));
    render(&mut out, &chosen, &options.impls, &results);
    if !failures.is_empty() {
        out.push_str("\n**Runs with errors:**\n\n");
        for f in &failures {
            out.push_str(&format!("- {f}\n"));
        }
    }
    out.push_str(&format!("\nRaw results: `{}`\n", log_path.display()));
    println!("{out}");
    if !failures.is_empty() {
        std::process::exit(1);
    }
}

#[allow(clippy::too_many_arguments)]
fn header(
    machine: &str,
    load_before: &str,
    load_after: &str,
    reps: usize,
    duration: f64,
    warmup: f64,
    seconds: f64,
    server_core: Option<usize>,
    load_core: Option<usize>,
) -> String {
    format!(
        "Machine: {machine}. Load average (/proc/loadavg) before: `{load_before}`, after: \
         `{load_after}`. {reps} repetitions of {duration} s (+{warmup} s warmup) per server and \
         scenario, server order rotated between repetitions; figures are medians, ratios are \
         medians of the ratios within each repetition (min–max in brackets); {seconds:.0} s in \
         all. Server pinned to core {}, load generator to core {}, both single-threaded.\n\n",
        server_core.map_or("-".into(), |c| c.to_string()),
        load_core.map_or("-".into(), |c| c.to_string()),
    )
}

/// Prints the tables again from a saved `matrix-*.jsonl`.
fn rerender(path: &Path, chosen: Vec<Scenario>, impls: &[String]) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    let mut start = Value::Null;
    let mut end = Value::Null;
    let mut rows: Vec<Value> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        match v["meta"].as_str() {
            Some("start") => start = v,
            Some("end") => end = v,
            _ => rows.push(v),
        }
    }
    rows.sort_by_key(|r| r["rep"].as_u64().unwrap_or(0));
    let mut results: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let mut all_impls: Vec<String> = impls.to_vec();
    let mut failures = 0;
    for r in rows {
        let (Some(s), Some(i)) = (r["scenario"].as_str(), r["impl"].as_str()) else {
            continue;
        };
        if !all_impls.iter().any(|x| x == i) {
            all_impls.push(i.to_owned());
        }
        if r["errors"].as_u64() != Some(0) {
            failures += 1;
        }
        results
            .entry((s.to_owned(), i.to_owned()))
            .or_default()
            .push(r);
    }
    let chosen: Vec<Scenario> = chosen
        .into_iter()
        .filter(|s| results.keys().any(|(id, _)| id == s.id))
        .collect();
    let reps = results.values().map(Vec::len).max().unwrap_or(0);
    let s = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let mut out = header(
        &s(&start["machine"]),
        &s(&start["loadavg"]),
        &s(&end["loadavg"]),
        start["reps"].as_u64().map_or(reps, |r| r as usize),
        start["duration"].as_f64().unwrap_or(f64::NAN),
        start["warmup"].as_f64().unwrap_or(f64::NAN),
        end["seconds"].as_f64().unwrap_or(f64::NAN),
        start["server_core"].as_u64().map(|c| c as usize),
        start["load_core"].as_u64().map(|c| c as usize),
    );
    render(&mut out, &chosen, &all_impls, &results);
    if failures > 0 {
        out.push_str(&format!(
            "\n**{failures} runs with errors** (see the file).\n"
        ));
    }
    out.push_str(&format!("\nRaw results: `{}`\n", path.display()));
    println!("{out}");
}

/// The value a scenario's load arguments give `flag` (such as `--size`), if any.
fn load_arg<'a>(s: &'a Scenario, flag: &str) -> Option<&'a str> {
    s.load_args
        .windows(2)
        .find(|w| w[0] == flag)
        .map(|w| w[1].as_str())
}

/// The message size a scenario's load arguments ask for (`--size`), if any.
fn load_size(s: &Scenario) -> Option<usize> {
    load_arg(s, "--size").and_then(parse_size)
}

/// The settle time of an idle scenario (`--settle`), if any.
fn load_settle(s: &Scenario) -> Option<f64> {
    load_arg(s, "--settle").and_then(|v| v.parse().ok())
}

/// How fast an idle run opened its connections (TCP connect and upgrade, at most 256 at a
/// time, with the load generator's core as busy as in the handshake scenario): the median of
/// `open / open_seconds` over the repetitions.
fn opened_per_second(runs: &[Value]) -> String {
    let rates = runs
        .iter()
        .filter(|r| r["errors"].as_u64() == Some(0))
        .filter_map(|r| Some(r["open"].as_f64()? / r["open_seconds"].as_f64()?))
        .filter(|rate| rate.is_finite())
        .collect();
    median_of(rates).map_or("-".into(), |m| thousands(m.round() as u64))
}

fn impls_for(s: &Scenario, impls: &[String]) -> Vec<String> {
    impls
        .iter()
        .filter(|i| s.only.is_none_or(|o| o.contains(&i.as_str())))
        .cloned()
        .collect()
}

fn summary(table: Table, v: &Value) -> String {
    if v["errors"].as_u64().unwrap_or(1) != 0 {
        return format!("ERROR {}", v["first_error"]);
    }
    match table {
        Table::Echo | Table::Compression => format!(
            "{} msg/s, p99 {} us, server {} us/msg ({}% CPU), load {}% CPU",
            v["msgs_per_s"],
            v["p99_us"],
            v["server_cpu_us_per_msg"],
            pct(&v["server_cpu_util"]),
            pct(&v["load_cpu_util"])
        ),
        Table::Handshake => format!(
            "{} handshakes/s, server {} us each",
            v["handshakes_per_s"], v["server_cpu_us_per_msg"]
        ),
        Table::Idle => format!(
            "{} KiB per connection ({} open)",
            v["server_kib_per_conn"], v["open"]
        ),
        Table::IdleDeflate => format!(
            "{} KiB per connection ({} open, {} with deflate, {} echoes, {}/{} wire bytes per message out/in)",
            v["server_kib_per_conn"],
            v["open"],
            v["deflate_connections"],
            v["total_messages"],
            v["wire_tx_per_msg"],
            v["wire_rx_per_msg"]
        ),
    }
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or("?".into(), |f| format!("{:.0}", f * 100.0))
}

/// Starts a server, runs the load generator against it, stops the server.
fn run_one(o: &Options, s: &Scenario, which: &str) -> Result<Value, String> {
    // Idle scenarios also wait `--settle` seconds once every connection is open.
    let settle = load_settle(s).unwrap_or(0.0);
    let lifetime = o.warmup + o.duration + settle + 120.0;
    let mut cmd = Command::new(o.bin_dir.join("server"));
    cmd.args(["--impl", which, "--threads", "1", "--lifetime"])
        .arg(format!("{lifetime}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(c) = o.server_core {
        cmd.args(["--core", &c.to_string()]);
    }
    let mut server = cmd.spawn().map_err(|e| format!("start server: {e}"))?;
    let result = (|| {
        let addr = read_first_line(&mut server, Duration::from_secs(10))?;
        let mut load = Command::new(o.bin_dir.join("load"));
        load.args(["--addr", &addr, "--server-pid", &server.id().to_string()])
            .args([
                "--warmup",
                &o.warmup.to_string(),
                "--duration",
                &o.duration.to_string(),
            ])
            .args(["--label", s.id])
            .args(&s.load_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(c) = o.load_core {
            load.args(["--core", &c.to_string()]);
        }
        let child = load.spawn().map_err(|e| format!("start load: {e}"))?;
        let (status, stdout, stderr) = wait_bounded(
            child,
            Duration::from_secs_f64(o.warmup + o.duration + settle + 90.0),
        )?;
        let last = stdout.lines().rev().find(|l| l.starts_with('{'));
        match last {
            Some(l) => serde_json::from_str(l).map_err(|e| format!("load output: {e}: {l}")),
            None => Err(format!(
                "load exited with {status} and no result: {}",
                stderr.trim()
            )),
        }
    })();
    // Our own child, by its id.
    let _ = server.kill();
    let _ = server.wait();
    std::thread::sleep(Duration::from_millis(200));
    result
}

/// The server's first stdout line (its address), within `limit`.
fn read_first_line(child: &mut Child, limit: Duration) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(line)) if !line.trim().is_empty() => Ok(line.trim().to_owned()),
        Ok(_) => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            Err(format!("server printed no address: {}", err.trim()))
        }
        Err(_) => Err(format!("server printed no address within {limit:?}")),
    }
}

/// Waits for `child` at most `limit` (then kills it), collecting its output.
fn wait_bounded(mut child: Child, limit: Duration) -> Result<(String, String, String), String> {
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "load generator still running after {limit:?}; killed"
                ));
            }
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    Ok((
        status,
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
    ))
}

// ---------------------------------------------------------------------------------------------
// The tables.

fn median(values: &[Value], key: &str) -> Option<f64> {
    median_of(
        values
            .iter()
            .filter(|r| r["errors"].as_u64() == Some(0))
            .filter_map(|r| r[key].as_f64())
            .collect(),
    )
}

fn median_of(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    match v {
        None => "ERR".into(),
        Some(x) if decimals == 0 => thousands(x.round() as u64),
        Some(x) => format!("{x:.decimals$}"),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The ratio `num / den` of `key` taken within each repetition (the two runs were close in
/// time, so drift of a shared machine cancels), as "median (min–max)"; `num_is_base` flips
/// which side the baseline is on (for "lower is better" figures).
fn paired(x: &[Value], base: &[Value], key: &str, lower_is_better: bool) -> String {
    let ok = |r: &Value| r["errors"].as_u64() == Some(0);
    let mut v: Vec<f64> = x
        .iter()
        .zip(base)
        .filter(|(a, b)| ok(a) && ok(b))
        .filter_map(|(a, b)| {
            let (a, b) = (a[key].as_f64()?, b[key].as_f64()?);
            let (n, d) = if lower_is_better { (b, a) } else { (a, b) };
            (d > 0.0).then(|| n / d)
        })
        .collect();
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    if n == 1 {
        format!("{med:.2}x")
    } else {
        format!("{med:.2}x ({:.2}–{:.2})", v[0], v[n - 1])
    }
}

fn render(
    out: &mut String,
    chosen: &[Scenario],
    impls: &[String],
    results: &BTreeMap<(String, String), Vec<Value>>,
) {
    let get = |s: &Scenario, i: &str| results.get(&(s.id.to_owned(), i.to_owned()));
    let with_floor = impls.iter().any(|i| i == FLOOR);
    // "CPU ÷ floor": this server's CPU per message (or handshake) over the floor's, per rep.
    let over_floor = |s: &Scenario, r: &[Value]| match get(s, FLOOR) {
        Some(f) if with_floor => format!(" {} |", paired(r, f, "server_cpu_us_per_msg", false)),
        _ if with_floor => " - |".into(),
        _ => String::new(),
    };
    let floor_head = if with_floor { " CPU ÷ floor |" } else { "" };
    let floor_rule = if with_floor { "---:|" } else { "" };
    let echo: Vec<&Scenario> = chosen.iter().filter(|s| s.table == Table::Echo).collect();
    if !echo.is_empty() {
        out.push_str(&format!(
            "### Echo throughput (ratios: this server against {BASELINE}; CPU ratio = {BASELINE}'s CPU per message / this server's, so above 1 is better)\n\n"
        ));
        out.push_str(&format!("| scenario | server | msgs/s | MB/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/msg | of it user | server CPU | load CPU | msgs/s ratio | CPU/msg ratio |{floor_head}\n"));
        out.push_str(&format!(
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{floor_rule}\n"
        ));
        for s in &echo {
            let base = get(s, BASELINE);
            for i in impls {
                let Some(r) = get(s, i) else { continue };
                let m = |k: &str| median(r, k);
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n",
                    s.title,
                    i,
                    fmt(m("msgs_per_s"), 0),
                    fmt(m("mb_per_s"), 1),
                    fmt(m("p50_us"), 1),
                    fmt(m("p99_us"), 1),
                    fmt(m("p999_us"), 1),
                    fmt(m("server_cpu_us_per_msg"), 2),
                    m("server_user_us_per_msg").map_or("-".into(), |v| format!("{v:.2}")),
                    m("server_cpu_util").map_or("?".into(), |u| format!("{:.0}%", u * 100.0)),
                    m("load_cpu_util").map_or("?".into(), |u| format!("{:.0}%", u * 100.0)),
                    base.map_or("-".into(), |b| paired(r, b, "msgs_per_s", false)),
                    base.map_or("-".into(), |b| paired(r, b, "server_cpu_us_per_msg", true)),
                    over_floor(s, r),
                ));
            }
        }
        out.push('\n');
    }
    for s in chosen.iter().filter(|s| s.table == Table::Compression) {
        let plain = chosen.iter().find(|p| Some(p.id) == s.twin);
        let what = plain.map_or(s.title, |p| p.title);
        out.push_str(&format!(
            "### permessage-deflate (ws-framework against its own uncompressed run, {what})\n\n"
        ));
        if load_size(s).is_some_and(|n| n < DEFLATE_THRESHOLD) {
            out.push_str(&format!(
                "The server compresses only messages of at least {DEFLATE_THRESHOLD} bytes (its \
                 default threshold), so its replies go uncompressed here: only the client→server \
                 bytes shrink.\n\n"
            ));
        }
        out.push_str("| server | compression | msgs/s | wire bytes/msg client→server | wire bytes/msg server→client | server CPU µs/msg | p99 µs |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        for i in impls {
            let Some(z) = get(s, i) else { continue };
            let p = plain.and_then(|p| get(p, i));
            for (label, r) in [("off", p), ("on", Some(z))] {
                let Some(r) = r else { continue };
                let m = |k: &str| median(r, k);
                out.push_str(&format!(
                    "| {i} | {label} | {} | {} | {} | {} | {} |\n",
                    fmt(m("msgs_per_s"), 0),
                    fmt(m("wire_tx_per_msg"), 0),
                    fmt(m("wire_rx_per_msg"), 0),
                    fmt(m("server_cpu_us_per_msg"), 2),
                    fmt(m("p99_us"), 1),
                ));
            }
            if let Some(p) = p {
                out.push_str(&format!(
                    "| {i} | on ÷ off | {} | {} | {} | {} | |\n",
                    paired(z, p, "msgs_per_s", false),
                    paired(z, p, "wire_tx_per_msg", false),
                    paired(z, p, "wire_rx_per_msg", false),
                    paired(z, p, "server_cpu_us_per_msg", false),
                ));
            }
        }
        out.push('\n');
    }
    for s in chosen.iter().filter(|s| s.table == Table::Handshake) {
        out.push_str(&format!(
            "### Handshakes ({}: connect, upgrade, close frames both ways, reset)\n\n",
            s.title
        ));
        out.push_str(&format!("| server | handshakes/s | p50 µs | p99 µs | server CPU µs/handshake | of it user | server CPU | load CPU | handshakes/s ratio | CPU ratio |{floor_head}\n"));
        out.push_str(&format!(
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|{floor_rule}\n"
        ));
        let base = get(s, BASELINE);
        for i in impls {
            let Some(r) = get(s, i) else { continue };
            let m = |k: &str| median(r, k);
            out.push_str(&format!(
                "| {i} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n",
                fmt(m("handshakes_per_s"), 0),
                fmt(m("p50_us"), 1),
                fmt(m("p99_us"), 1),
                fmt(m("server_cpu_us_per_msg"), 1),
                m("server_user_us_per_msg").map_or("-".into(), |v| format!("{v:.1}")),
                m("server_cpu_util").map_or("?".into(), |u| format!("{:.0}%", u * 100.0)),
                m("load_cpu_util").map_or("?".into(), |u| format!("{:.0}%", u * 100.0)),
                base.map_or("-".into(), |b| paired(r, b, "handshakes_per_s", false)),
                base.map_or("-".into(), |b| paired(r, b, "server_cpu_us_per_msg", true)),
                over_floor(s, r),
            ));
        }
        out.push('\n');
    }
    for s in chosen.iter().filter(|s| s.table == Table::Idle) {
        let n = s
            .load_args
            .windows(2)
            .find(|w| w[0] == "--connections")
            .map_or("?".to_owned(), |w| w[1].clone());
        out.push_str(&format!(
            "### Server memory per idle connection ({n} connections, VmRSS delta / N)\n\n"
        ));
        out.push_str(&format!("| server | KiB per connection | RSS before KiB | RSS after KiB | ratio ({BASELINE} ÷ this) | opened per second |\n"));
        out.push_str("|---|---:|---:|---:|---:|---:|\n");
        let base = get(s, BASELINE);
        for i in impls {
            let Some(r) = get(s, i) else { continue };
            let m = |k: &str| median(r, k);
            out.push_str(&format!(
                "| {i} | {} | {} | {} | {} | {} |\n",
                fmt(m("server_kib_per_conn"), 2),
                fmt(m("server_rss_before_kib"), 0),
                fmt(m("server_rss_after_kib"), 0),
                base.map_or("-".into(), |b| paired(r, b, "server_kib_per_conn", true)),
                opened_per_second(r),
            ));
        }
        out.push('\n');
    }
    for s in chosen.iter().filter(|s| s.table == Table::IdleDeflate) {
        let plain = chosen.iter().find(|p| Some(p.id) == s.twin);
        let n = load_arg(s, "--connections").unwrap_or("?");
        let settle = load_arg(s, "--settle").unwrap_or("?");
        out.push_str(&format!("### Server memory per {}\n\n", s.title));
        out.push_str(&format!(
            "{n} connections, each offering permessage-deflate and echoing its messages \
             (compressed both ways, every byte checked) before going idle for {settle} s; \
             VmRSS delta / N. \"with deflate\": the connections that negotiated it; wire bytes \
             per message: what the client's socket wrote and read per echo; \"without\": the \
             same server's `{}` run.\n\n",
            plain.map_or("idle", |p| p.id)
        ));
        out.push_str("| server | KiB per connection | RSS before KiB | RSS after KiB | with deflate | wire bytes/msg client→server | wire bytes/msg server→client | KiB per connection without | with ÷ without |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for i in impls {
            let Some(r) = get(s, i) else { continue };
            let p = plain.and_then(|p| get(p, i));
            let m = |k: &str| median(r, k);
            out.push_str(&format!(
                "| {i} | {} | {} | {} | {} of {} | {} | {} | {} | {} |\n",
                fmt(m("server_kib_per_conn"), 2),
                fmt(m("server_rss_before_kib"), 0),
                fmt(m("server_rss_after_kib"), 0),
                fmt(m("deflate_connections"), 0),
                fmt(m("open"), 0),
                fmt(m("wire_tx_per_msg"), 0),
                fmt(m("wire_rx_per_msg"), 0),
                p.map_or("-".into(), |p| fmt(median(p, "server_kib_per_conn"), 2)),
                p.map_or("-".into(), |p| paired(r, p, "server_kib_per_conn", false)),
            ));
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every compression scenario is its uncompressed twin plus `--compression`, on
    /// ws-framework's servers only.
    #[test]
    fn compression_scenarios_have_their_twins() {
        let all = scenarios(10);
        let mut ids: Vec<&str> = all.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate ids");
        let mut n = 0;
        for z in all.iter().filter(|s| s.table == Table::Compression) {
            let twin = z.twin.expect("a compression scenario names its twin");
            let plain = all.iter().find(|s| s.id == twin).expect("the twin exists");
            assert_eq!(plain.table, Table::Echo, "{}", z.id);
            assert_eq!(z.id, format!("{twin}z"));
            let mut args = plain.load_args.clone();
            args.push("--compression".into());
            assert_eq!(z.load_args, args, "{}", z.id);
            assert_eq!(z.only, Some(&["engine", "macros"][..]));
            n += 1;
        }
        assert_eq!(n, 2);
        assert_eq!(load_size(&all[0]), Some(64));
    }

    /// `idlez` is `idle` (same connection count) with compression offered and compressed
    /// traffic first, on ws-framework's servers only, and settles longer.
    #[test]
    fn idlez_matches_idle() {
        let all = scenarios(1234);
        let find = |id: &str| all.iter().find(|s| s.id == id).expect(id);
        let (idle, z) = (find("idle"), find("idlez"));
        assert_eq!(z.table, Table::IdleDeflate);
        assert_eq!(z.twin, Some("idle"));
        assert_eq!(z.only, Some(&["engine", "macros"][..]));
        assert_eq!(load_arg(idle, "--connections"), Some("1234"));
        assert_eq!(load_arg(z, "--connections"), Some("1234"));
        assert_eq!(load_arg(z, "--mode"), Some("idle"));
        assert!(z.load_args.iter().any(|a| a == "--compression"));
        assert_eq!(load_arg(z, "--kind"), Some("json"));
        assert_eq!(load_size(z), Some(4096));
        assert_eq!(load_arg(z, "--messages-each"), Some("4"));
        assert_eq!(load_settle(idle), Some(1.0));
        assert_eq!(load_settle(z), Some(12.0));
        assert_eq!(load_settle(&all[0]), None);
    }
}
