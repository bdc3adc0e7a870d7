//! Echo server: every text and binary message is sent back unchanged, on every path, with
//! permessage-deflate on and messages up to 64 MiB.
//!
//! ```sh
//! cargo run --release --example echo_server -- --addr 127.0.0.1:9001 [--threads N]
//! ```
//! `--threads 1` runs on a single-threaded runtime (for fair benchmarks).

use ws_framework::conn::ConnConfig;
use ws_framework::proto::Limits;
use ws_framework::stream::{accept, AcceptOptions};
use ws_framework::Incoming;

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9001".to_owned();
    let mut threads: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--threads" => {
                threads = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .expect("--threads needs a number"),
                )
            }
            other => panic!(
                "unknown argument {other}; usage: echo_server [--addr HOST:PORT] [--threads N]"
            ),
        }
    }
    let runtime = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    runtime.block_on(serve(addr))
}

async fn serve(addr: String) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let mut options = AcceptOptions::with_compression();
    let mut conn = ConnConfig::default();
    conn.limits = Limits {
        max_frame_size: 64 << 20,
        max_message_size: 64 << 20,
    };
    conn.max_send_frame_size = 0;
    options.conn = conn;
    let options = std::sync::Arc::new(options);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let options = options.clone();
        tokio::spawn(async move {
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
        });
    }
}
