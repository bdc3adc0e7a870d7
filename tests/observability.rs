//! What the server reports: the `metrics` facade (through the Prometheus recorder of
//! examples/metrics.rs) and the `tracing` span and events of a connection.
//!
//! One test: the recorder is process-wide, so nothing else may run traffic in this binary.

#![cfg(feature = "macros")]

use bytes::Bytes;
use serde::Deserialize;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ws_framework::{on_binary, on_text, testing, ws_service, Error};

#[derive(Default)]
struct Probe;

#[ws_service("/probe")]
impl Probe {
    #[on_text]
    async fn text(&self, text: String) -> String {
        if text == "panic" {
            panic!("boom");
        }
        text
    }

    #[on_binary]
    async fn binary(&self, data: Bytes) -> Bytes {
        data
    }
}

#[derive(Deserialize)]
struct Point {
    x: i32,
}

#[derive(Default)]
struct Typed;

#[ws_service("/typed")]
impl Typed {
    #[on_text]
    async fn text(&self, point: Point) -> String {
        point.x.to_string()
    }
}

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(rendered: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    rendered.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        let (series, value) = rest.rsplit_once(' ')?;
        labels
            .iter()
            .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())?
    })
}

/// Log lines collected from the `fmt` subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn metrics_and_tracing_of_connections() {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    // This runtime has one thread, so every task of the server sees this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    tokio::time::timeout(Duration::from_secs(20), async {
        let server = testing::serve::<Probe>().await;
        server.attach::<Typed>();

        // Two texts, one binary, echoed; then a normal close.
        let client = server.client("/probe").await;
        client.write_text("a").await.unwrap();
        client.write_text("bb").await.unwrap();
        client.write_binary(vec![1u8, 2, 3]).await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "a");
        assert_eq!(client.read_text().await.unwrap(), "bb");
        assert_eq!(&client.read_binary().await.unwrap()[..], [1, 2, 3]);
        client.close(1000, "bye", None).await.unwrap();

        // A handler panic (1011) and a payload that does not bind (1003).
        let panicky = server.client("/probe").await;
        panicky.write_text("panic").await.unwrap();
        assert!(panicky.read_text().await.is_err());
        let typed = server.client("/typed").await;
        typed.write_text("not json").await.unwrap();
        assert!(typed.read_text().await.is_err());

        // A refused upgrade.
        match server.try_client("/nowhere").await {
            Err(Error::InvalidHandshake { .. }) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }

        // The connections end on the server side as their tasks finish (bounded wait).
        let mut rendered = prometheus.render();
        for _ in 0..200 {
            if sample(&rendered, "ws_connections_open", &[]) == Some(0.0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            rendered = prometheus.render();
        }
        let get = |name: &str, labels: &[(&str, &str)]| {
            sample(&rendered, name, labels)
                .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{rendered}"))
        };
        assert_eq!(get("ws_connections_open", &[]), 0.0);
        assert_eq!(get("ws_connections_total", &[]), 3.0);
        let io = |direction, kind| [("direction", direction), ("kind", kind)];
        // In: "a", "bb", "panic", "not json"; out: the two echoes.
        assert_eq!(get("ws_messages_total", &io("in", "text")), 4.0);
        assert_eq!(get("ws_bytes_total", &io("in", "text")), 16.0);
        assert_eq!(get("ws_messages_total", &io("out", "text")), 2.0);
        assert_eq!(get("ws_bytes_total", &io("out", "text")), 3.0);
        assert_eq!(get("ws_messages_total", &io("in", "binary")), 1.0);
        assert_eq!(get("ws_messages_total", &io("out", "binary")), 1.0);
        assert_eq!(get("ws_bytes_total", &io("out", "binary")), 3.0);
        // The client's close (code + "bye"); the server's 1011 and 1003.
        assert_eq!(get("ws_messages_total", &io("in", "close")), 1.0);
        assert_eq!(get("ws_bytes_total", &io("in", "close")), 5.0);
        assert_eq!(get("ws_messages_total", &io("out", "close")), 2.0);
        assert_eq!(get("ws_errors_total", &[("kind", "panic")]), 1.0);
        assert_eq!(get("ws_errors_total", &[("kind", "binding")]), 1.0);
        assert_eq!(
            get("ws_handshake_failures_total", &[("status", "404")]),
            1.0
        );
    })
    .await
    .expect("test timed out");

    let logs = logs.text();
    for expected in [
        "ws.connection{",
        "path=\"/probe\"",
        "peer=127.0.0.1:",
        "websocket opened",
        "websocket closed",
        "code=1000",
        "code=1011",
        "handler panicked",
        "boom",
        "payload binding failed",
        "websocket handshake refused",
        "status=404",
    ] {
        assert!(
            logs.contains(expected),
            "no `{expected}` in the logs:\n{logs}"
        );
    }
}
