//! `ws_framework::testing`: a service on an ephemeral port and a connected client in one line.

#![cfg(feature = "macros")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use ws_framework::testing::{self, TestServer};
use ws_framework::{on_text, on_upgrade, ws_service, Caller, Error, ListenerConfig, UpgradeError};

const LIMIT: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out")
}

#[derive(Default)]
struct Echo;

#[ws_service("/echo")]
impl Echo {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

/// Counts messages in its shared state; only user "ann" may connect.
struct Counter;

#[ws_service("/count/{name}", state = AtomicUsize)]
impl Counter {
    #[on_upgrade]
    async fn upgrade(name: String) -> Result<Self, UpgradeError> {
        if name == "ann" {
            Ok(Counter)
        } else {
            Err(UpgradeError::forbidden("only ann"))
        }
    }

    #[on_text]
    async fn text(&self, #[state] count: &AtomicUsize, caller: &Caller, _text: String) -> String {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{} {n}", caller.path())
    }
}

#[tokio::test]
async fn serve_and_client_in_one_line_each() {
    within(async {
        let server = testing::serve::<Echo>().await;
        let client = server.client("/echo").await;
        client.write_text("hello").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "hello");
        assert_eq!(server.listener().connection_count(), 1);
        client.close(1000, "bye", None).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn url_addr_and_a_shared_state() {
    within(async {
        let server = testing::serve_with::<Counter>(AtomicUsize::new(10)).await;
        let addr = server.addr();
        assert_eq!(addr.ip().to_string(), "127.0.0.1");
        assert_ne!(addr.port(), 0);
        assert_eq!(server.url("/count/ann"), format!("ws://{addr}/count/ann"));
        assert_eq!(server.url("count/ann"), format!("ws://{addr}/count/ann"));

        let a = server.client("/count/ann").await;
        let b = server.client("/count/ann").await;
        a.write_text("x").await.unwrap();
        assert_eq!(a.read_text().await.unwrap(), "/count/ann 11");
        b.write_text("x").await.unwrap();
        assert_eq!(b.read_text().await.unwrap(), "/count/ann 12");
    })
    .await;
}

#[tokio::test]
async fn try_client_reports_a_refused_upgrade() {
    within(async {
        let server = testing::serve_with::<Counter>(AtomicUsize::new(0)).await;
        match server.try_client("/count/bob").await {
            Err(Error::InvalidHandshake { status, .. }) => {
                assert_eq!(status.map(|s| s.as_u16()), Some(403))
            }
            other => panic!("expected a 403 refusal, got {other:?}"),
        }
        match server.try_client("/nowhere").await {
            Err(Error::InvalidHandshake { status, .. }) => {
                assert_eq!(status.map(|s| s.as_u16()), Some(404))
            }
            other => panic!("expected a 404 refusal, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn several_services_a_config_and_a_builder() {
    within(async {
        let server = TestServer::start(ListenerConfig::default().keepalive(None)).await;
        server
            .attach::<Echo>()
            .attach_with::<Counter>(AtomicUsize::new(0));
        let echo = server.client("/echo").await;
        let counter = server
            .client_builder("/count/ann")
            .header("x-test", "1")
            .connect()
            .await
            .unwrap();
        echo.write_text("e").await.unwrap();
        counter.write_text("c").await.unwrap();
        assert_eq!(echo.read_text().await.unwrap(), "e");
        assert_eq!(counter.read_text().await.unwrap(), "/count/ann 1");
        assert_eq!(server.listener().connection_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    within(async {
        let server = testing::serve::<Echo>().await;
        let url = server.url("/echo");
        let client = server.client("/echo").await;
        let hub = server.listener().hub().clone();
        drop(server);
        // The open connection is cut, and the port refuses new ones.
        assert!(client.read_text().await.is_err());
        assert!(ws_framework::Client::connect(url).await.is_err());
        // The server side unregisters as its task ends (bounded wait).
        for _ in 0..200 {
            if hub.connection_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(hub.connection_count(), 0);
    })
    .await;
}
