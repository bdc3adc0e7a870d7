//! The service's `Origin` allow-list: allowed and refused origins (403 before any handler
//! runs), sub-domain patterns, requests without `Origin`, and the hand-written check in an
//! upgrade hook working beside it.

mod security_util;

use security_util::*;
use std::sync::atomic::Ordering;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as TError;
use ws_framework::stream::ConnectOptions;
use ws_framework::{ListenerConfig, ServiceConfig};

struct Listed;

fn origin(value: &str) -> ConnectOptions {
    with_headers(&[("origin", value)])
}

#[tokio::test]
async fn allowed_origins_pass_and_others_get_403_before_the_hook() {
    within(async {
        register::<Listed>(ServiceConfig::new("/echo").allowed_origins([
            "https://app.example.com",
            "*.example.org",
            "http://localhost:3000",
        ]));
        let (_listener, addr, seen) = start::<Listed>(ListenerConfig::default()).await;

        for allowed in [
            "https://app.example.com",
            "https://APP.example.com:443",
            "https://chat.example.org",
            "http://a.b.example.org:8080",
            "http://localhost:3000",
        ] {
            let r = our_ws(addr, &origin(allowed)).await;
            assert_eq!(status_of(&r), 101, "{allowed}");
            let (ws, _) = r.unwrap();
            assert_eq!(ask(&ws, "hi").await, "hi");
        }
        let runs = seen.hook_runs.load(Ordering::SeqCst);
        assert_eq!(runs, 5);

        for refused in [
            "https://evil.com",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://example.org",
            "https://app.example.com.evil.com",
            "http://localhost:3001",
            "null",
            "not an origin",
        ] {
            let r = our_ws(addr, &origin(refused)).await;
            assert_eq!(status_of(&r), 403, "{refused}");
            let message = r.unwrap_err().to_string();
            assert!(message.contains("403"), "{message}");
        }
        assert_eq!(
            seen.hook_runs.load(Ordering::SeqCst),
            runs,
            "the hook never ran for them"
        );

        // Non-browser clients send no Origin: allowed by default.
        let r = our_ws(addr, &ConnectOptions::default()).await;
        assert_eq!(status_of(&r), 101);
    })
    .await;
}

struct Required;

#[tokio::test]
async fn a_service_may_require_an_origin() {
    within(async {
        register::<Required>(
            ServiceConfig::new("/echo")
                .allowed_origins(["https://app.example.com"])
                .require_origin(true),
        );
        let (_listener, addr, seen) = start::<Required>(ListenerConfig::default()).await;
        assert_eq!(
            status_of(&our_ws(addr, &ConnectOptions::default()).await),
            403
        );
        assert_eq!(seen.hook_runs.load(Ordering::SeqCst), 0);
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://app.example.com")).await),
            101
        );
    })
    .await;
}

struct HookOnly;
struct Both;

#[tokio::test]
async fn the_hand_written_check_in_the_hook_keeps_working() {
    within(async {
        // Without an allow-list the hook decides.
        let (_l1, addr, _) = start::<HookOnly>(ListenerConfig::default()).await;
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://blocked-by-hook.example")).await),
            403
        );
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://fine.example")).await),
            101
        );

        // With one, an origin must pass both.
        register::<Both>(ServiceConfig::new("/echo").allowed_origins(["*.example"]));
        let (_l2, addr, _) = start::<Both>(ListenerConfig::default()).await;
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://blocked-by-hook.example")).await),
            403
        );
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://fine.example")).await),
            101
        );
        assert_eq!(
            status_of(&our_ws(addr, &origin("https://fine.other")).await),
            403
        );
    })
    .await;
}

struct Independent;

#[tokio::test]
async fn an_independent_client_sees_the_same() {
    within(async {
        register::<Independent>(
            ServiceConfig::new("/echo").allowed_origins(["https://ok.example"]),
        );
        let (_listener, addr, _) = start::<Independent>(ListenerConfig::default()).await;
        let request = |origin: &str| {
            let mut r = format!("ws://{addr}/echo").into_client_request().unwrap();
            r.headers_mut().insert("origin", origin.parse().unwrap());
            r
        };
        match tokio_tungstenite::connect_async(request("https://nope.example")).await {
            Err(TError::Http(resp)) => assert_eq!(resp.status(), 403),
            other => panic!("expected 403, got {:?}", other.map(|_| ())),
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(request("https://ok.example"))
            .await
            .unwrap();
        assert_eq!(tungstenite_ask(&mut ws, "ok").await, "ok");
    })
    .await;
}

struct BadPattern;

#[tokio::test]
async fn an_invalid_pattern_fails_attach() {
    within(async {
        register::<BadPattern>(
            ServiceConfig::new("/echo").allowed_origins(["https://a*b.example"]),
        );
        let listener = ws_framework::Listener::bind("127.0.0.1:0").await.unwrap();
        let err = listener
            .attach_with::<Echo<BadPattern>>(Default::default())
            .unwrap_err();
        assert!(err.to_string().contains("a*b.example"), "{err}");
    })
    .await;
}
