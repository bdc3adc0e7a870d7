//! Keeps the benchmark tools honest: every server echoes what the load generator sends (each
//! byte checked), in every mode, and a server that corrupts one echo fails the load run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(which: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--impl", which, "--lifetime", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    Server(child, line.trim().to_owned())
}

fn load(addr: &str, pid: u32, args: &str) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_load"))
        .args(["--addr", addr, "--server-pid", &pid.to_string()])
        .args(["--warmup", "0.1", "--duration", "0.4"])
        .args(args.split_whitespace())
        .output()
        .expect("load runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("load output `{stdout}`: {e}"));
    (out.status.success(), v)
}

#[test]
fn every_server_echoes_every_kind() {
    for which in ["engine", "macros", "tungstenite", "fastwebsockets", "floor"] {
        let s = server(which);
        for args in [
            "--kind text --size 64 --connections 4 --inflight 8",
            "--kind binary --size 100k --connections 2 --inflight 2",
            "--kind json --size 4k --connections 2 --compression",
            // Below the server's deflate threshold: compressed requests, uncompressed replies.
            "--kind json --size 64 --connections 4 --compression",
        ] {
            let (ok, v) = load(&s.1, s.0.id(), args);
            assert!(ok, "{which} {args}: {v}");
            assert_eq!(v["errors"], 0, "{which} {args}: {v}");
            assert!(v["messages"].as_u64().unwrap() > 0, "{which} {args}: {v}");
            let deflate = v["deflate_negotiated"].as_bool().unwrap();
            let ours = which == "engine" || which == "macros";
            assert_eq!(deflate, ours && args.contains("compression"));
        }
        let (ok, v) = load(&s.1, s.0.id(), "--mode handshake --connections 2");
        assert!(ok && v["handshakes"].as_u64().unwrap() > 0, "{which}: {v}");
        let (ok, v) = load(&s.1, s.0.id(), "--mode idle --connections 20 --settle 0.1");
        assert!(ok && v["open"] == 20, "{which}: {v}");
        // Idle after compressed traffic (uncompressed where the server declines deflate).
        let args = "--mode idle --connections 5 --settle 0.1 --messages-each 3 \
                    --kind json --size 4k --compression";
        let (ok, v) = load(&s.1, s.0.id(), args);
        assert!(ok && v["open"] == 5 && v["errors"] == 0, "{which}: {v}");
        assert_eq!(v["messages_each"], 3, "{which}: {v}");
        assert_eq!(v["total_messages"], 15, "{which}: {v}");
        let ours = which == "engine" || which == "macros";
        assert_eq!(v["deflate_connections"], if ours { 5 } else { 0 }, "{v}");
        let rx = v["wire_rx_per_msg"].as_f64().unwrap();
        assert_eq!(
            rx < 4096.0,
            ours,
            "{which}: replies compressed only by ours: {v}"
        );
    }
}

/// An engine echo server that flips one bit of the 50th message of each connection.
#[test]
fn a_corrupted_echo_fails_the_run() {
    use ws_framework::stream::{accept, AcceptOptions};
    use ws_framework::{Incoming, Message};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok((ws, driver, _)) = accept(stream, &AcceptOptions::default()).await
                    else {
                        return;
                    };
                    let echo = async {
                        let mut n = 0;
                        while let Ok(Incoming::Message(m)) = ws.recv().await {
                            n += 1;
                            let m = match m {
                                Message::Binary(b) if n == 50 => {
                                    let mut v = b.to_vec();
                                    v[40] ^= 1;
                                    Message::binary(v)
                                }
                                other => other,
                            };
                            if ws.send(m).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::join!(driver, echo);
                });
            }
        });
        addr
    });
    let (ok, v) = load(
        &addr.to_string(),
        std::process::id(),
        "--kind binary --size 256 --connections 1",
    );
    assert!(!ok, "{v}");
    assert_eq!(v["errors"], 1, "{v}");
    let e = v["first_error"].as_str().unwrap();
    assert!(e.contains("message 49") && e.contains("differs"), "{e}");
    // The same check in idle mode's exchanges: both connections fail, none stays open.
    let (ok, v) = load(
        &addr.to_string(),
        std::process::id(),
        "--mode idle --kind binary --size 256 --connections 2 --messages-each 60 --settle 0",
    );
    assert!(!ok, "{v}");
    assert_eq!(
        (v["errors"].as_u64(), v["open"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );
    let e = v["first_error"].as_str().unwrap();
    assert!(e.contains("message 49") && e.contains("differs"), "{e}");
    rt.shutdown_timeout(Duration::from_secs(1));
}
