//! The `#[ws_service]` keys that map the runtime's admission and back-pressure settings, over
//! 127.0.0.1: `origins`, `require_origin` and `auth` refuse before the upgrade hook runs;
//! `write_buffer_limit`, `write_timeout` and `overflow_close` reach the service's config.

#![cfg(feature = "macros")]

mod macros_util;

use macros_util::*;
use std::time::Duration;
use ws_framework::auth::{Auth, AuthProvider, ClientAuth, JwtIssuer, JwtKey, JwtValidator};
use ws_framework::{on_open, on_text, ws_service, Caller, CloseCode, Service};

#[derive(Default)]
struct Browsers;

#[ws_service("/browsers", origins = ["https://app.example.com", "*.example.org"])]
impl Browsers {
    #[on_open]
    async fn open(&self) -> &'static str {
        "welcome"
    }
}

#[tokio::test]
async fn origins_key_refuses_other_origins_with_403() {
    within(async {
        let (_listener, base) = start::<Browsers>().await;
        let url = format!("{base}/browsers");
        for allowed in ["https://app.example.com", "https://chat.example.org"] {
            let (mut peer, _) = open_with(request(&url, &[("origin", allowed)])).await;
            assert_eq!(next_text(&mut peer).await, "welcome", "{allowed}");
        }
        for refused in [
            "https://evil.example.com",
            "http://app.example.com",
            "https://example.org",
        ] {
            let (status, body) = refusal_with(request(&url, &[("origin", refused)])).await;
            assert_eq!(status, 403, "{refused}");
            assert_eq!(body, format!("origin `{refused}` is not allowed"));
        }
        // Non-browser clients send no Origin: allowed unless `require_origin = true`.
        let mut peer = open(&url).await;
        assert_eq!(next_text(&mut peer).await, "welcome");
    })
    .await;
}

#[derive(Default)]
struct BrowsersOnly;

#[ws_service(
    "/browsers-only",
    origins = "https://app.example.com",
    require_origin = true
)]
impl BrowsersOnly {
    #[on_open]
    async fn open(&self) -> &'static str {
        "welcome"
    }
}

#[tokio::test]
async fn require_origin_key_refuses_requests_without_origin() {
    within(async {
        let (_listener, base) = start::<BrowsersOnly>().await;
        let url = format!("{base}/browsers-only");
        let (status, _) = refusal(&url).await;
        assert_eq!(status, 403);
        let (mut peer, _) =
            open_with(request(&url, &[("origin", "https://app.example.com")])).await;
        assert_eq!(next_text(&mut peer).await, "welcome");
    })
    .await;
}

const SECRET: &[u8] = b"a test secret of at least 32 bytes!!";

fn jwt_auth() -> Auth {
    Auth::providers([AuthProvider::jwt(
        JwtValidator::new(JwtKey::hs256(SECRET)).issuer("tests"),
    )])
    .scopes(["feed:read"])
}

#[derive(Default)]
struct Protected;

#[ws_service("/protected", auth = jwt_auth())]
impl Protected {
    #[on_open]
    async fn open(&self, caller: &Caller) -> String {
        let name = caller.principal().map(|p| p.name().to_owned());
        format!("hello {}", name.unwrap_or_default())
    }
}

async fn bearer(scopes: &[&str]) -> String {
    let issuer = JwtIssuer::new(JwtKey::hs256(SECRET))
        .issuer("tests")
        .subject("alice")
        .scopes(scopes.iter().copied())
        .expiry(Duration::from_secs(300));
    let value = ClientAuth::jwt(issuer).authorization().await.unwrap();
    value.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn auth_key_authenticates_before_the_upgrade() {
    within(async {
        let (_listener, base) = start::<Protected>().await;
        let url = format!("{base}/protected");
        let (status, _) = refusal(&url).await;
        assert_eq!(status, 401);
        let token = bearer(&["other"]).await;
        let (status, _) = refusal_with(request(&url, &[("authorization", &token)])).await;
        assert_eq!(status, 403);
        let token = bearer(&["feed:read"]).await;
        let (mut peer, _) = open_with(request(&url, &[("authorization", &token)])).await;
        assert_eq!(next_text(&mut peer).await, "hello alice");
    })
    .await;
}

#[derive(Default)]
struct Buffered;

#[ws_service(
    "/buffered",
    write_buffer_limit = 64 << 10,
    write_timeout = "250ms",
    overflow_close = 1013
)]
impl Buffered {}

#[test]
fn back_pressure_keys_reach_the_service_config() {
    let config = <Buffered as Service>::config();
    assert_eq!(config.write_buffer_limit, 64 << 10);
    assert_eq!(config.write_timeout, Some(Duration::from_millis(250)));
    assert_eq!(config.overflow_close, Some(CloseCode::TRY_AGAIN_LATER));
}

#[derive(Default)]
struct Deflated;

#[ws_service(
    "/deflated",
    deflate = ws_framework::proto::deflate::DeflateConfig::default().level(6)
)]
impl Deflated {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

#[derive(Default)]
struct LeanEcho;

#[ws_service("/lean")]
impl LeanEcho {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

#[test]
fn deflate_key_reaches_the_service_config() {
    use ws_framework::proto::deflate::DeflateConfig;
    assert_eq!(
        <Deflated as Service>::config().deflate,
        DeflateConfig::default().level(6)
    );
    // Without the key: the server keeps no compression context between messages.
    assert_eq!(
        <LeanEcho as Service>::config().deflate,
        DeflateConfig::lean_server()
    );
}

/// By default a service answers a plain offer with `server_no_context_takeover`, and long,
/// compressible messages still go both ways intact, compressed, one after the other (each
/// from a fresh window, the thread's shared compressor reset in between).
#[tokio::test]
async fn services_compress_without_context_takeover_by_default() {
    let server = ws_framework::testing::serve::<LeanEcho>().await;
    let client = server
        .client_builder("/lean")
        .compression(true)
        .connect()
        .await
        .expect("connected");
    assert!(client.is_compressed());
    let extensions = client
        .response()
        .headers()
        .get("sec-websocket-extensions")
        .expect("extensions answered")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        extensions.contains("permessage-deflate")
            && extensions.contains("server_no_context_takeover"),
        "{extensions}"
    );
    for i in 0..5 {
        let text = format!("message {i}: {}", "all work and no play; ".repeat(200));
        client.write_text(text.clone()).await.expect("sent");
        assert_eq!(client.read_text().await.expect("echoed"), text);
    }
}
