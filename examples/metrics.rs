//! An echo service whose metrics are exported for Prometheus, with its logs on stderr.
//!
//! Run it:
//!
//! ```text
//! cargo run --example metrics -- --addr 127.0.0.1:9002
//! ```
//!
//! Talk to `ws://127.0.0.1:9002/echo` with any WebSocket client (for instance
//! `cargo run --example client -- ws://127.0.0.1:9002/echo`), then scrape the metrics, served on
//! the same port by a plain HTTP route:
//!
//! ```text
//! curl http://127.0.0.1:9002/metrics
//! ```
//!
//! A Prometheus job for it:
//!
//! ```text
//! scrape_configs:
//!   - job_name: ws-framework
//!     static_configs:
//!       - targets: ["127.0.0.1:9002"]
//! ```
//!
//! The metrics (`ws_connections_open`, `ws_messages_total`, `ws_bytes_total`, `ws_errors_total`,
//! `ws_handshake_failures_total`, ...) are listed in `ws_framework::observability`. Logs go
//! through `tracing`; `RUST_LOG` filters them (default `info,ws_framework=debug`: one line per
//! connection opened and closed, warnings for errors).
//!
//! The recorder is `metrics-exporter-prometheus` without its own HTTP listener: the listener's
//! `http_route` serves `/metrics` beside the WebSocket service. Any other `metrics` recorder
//! (StatsD, OpenTelemetry, ...) works the same way: install it before starting the listener.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::time::Duration;
use tracing_subscriber::EnvFilter;
use ws_framework::bytes::Bytes;
use ws_framework::http::{header, HeaderValue, Response};
use ws_framework::{on_binary, on_text, ws_service, Listener, Utf8Bytes};

#[derive(Default)]
struct Echo;

#[ws_service("/echo")]
impl Echo {
    #[on_text]
    async fn text(&self, text: Utf8Bytes) -> Utf8Bytes {
        text
    }

    #[on_binary]
    async fn binary(&self, data: Bytes) -> Bytes {
        data
    }
}

/// The `/metrics` page: the Prometheus text format.
fn metrics_page(prometheus: &PrometheusHandle) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(prometheus.render()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let addr = arg("--addr").unwrap_or_else(|| "127.0.0.1:9002".into());

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,ws_framework=debug")),
        )
        .init();
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other metrics recorder is installed");
    // The recorder wants periodic upkeep (it drains histogram buckets); cheap.
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });

    let listener = Listener::bind(addr).await?;
    listener.attach::<Echo>()?;
    listener.http_route("/metrics", move |_request| {
        let page = metrics_page(&prometheus);
        async move { page }
    })?;
    let at = listener.local_addr();
    println!("echo on ws://{at}/echo, metrics on http://{at}/metrics; Ctrl-C stops");
    ws_framework::run_until_ctrl_c(&listener).await
}
