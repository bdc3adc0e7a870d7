//! Every configuration key of `#[ws_service]`, including the ones mapping the runtime's
//! origin, auth and back-pressure settings.

use ws_framework::auth::{Auth, AuthProvider, JwtKey, JwtValidator};
use ws_framework::{on_text, ws_service, CloseCode};

fn jwt() -> Auth {
    Auth::providers([AuthProvider::jwt(JwtValidator::new(JwtKey::hs256(
        b"an example secret of at least 32 bytes",
    )))])
    .scopes(["chat:write"])
}

#[derive(Default)]
struct Everything;

#[ws_service(
    "/everything/{room}",
    protocols = ["chat.v2", "chat"],
    idle_timeout = "30s",
    max_frame_size = 1 << 16,
    max_message_size = 1 << 20,
    close_timeout = 5,
    compression = false,
    deflate = ws_framework::proto::deflate::DeflateConfig::default().level(6),
    dispatcher_key = "event",
    origins = ["https://app.example.com", "*.example.org", "http://localhost:3000", "null"],
    require_origin = true,
    auth = jwt(),
    write_buffer_limit = 256 * 1024,
    write_timeout = "2.5s",
    overflow_close = 1013,
)]
impl Everything {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

const LIMIT: usize = 4096;

#[derive(Default)]
struct Exprs;

// Expressions where the runtime takes values: a constant, a `CloseCode`, a single origin.
#[ws_service(
    "/exprs",
    origins = "https://app.example.com",
    require_origin = cfg!(debug_assertions),
    write_buffer_limit = LIMIT,
    write_timeout = 1,
    overflow_close = CloseCode::POLICY_VIOLATION,
)]
impl Exprs {}

fn main() {
    let config = <Everything as ws_framework::Service>::config();
    assert_eq!(config.allowed_origins.len(), 4);
    assert!(config.require_origin && config.auth.is_some());
    assert_eq!(config.write_buffer_limit, 256 * 1024);
    assert_eq!(
        config.write_timeout,
        Some(std::time::Duration::from_millis(2500))
    );
    assert_eq!(config.overflow_close, Some(CloseCode::TRY_AGAIN_LATER));
    let config = <Exprs as ws_framework::Service>::config();
    assert_eq!(config.allowed_origins, ["https://app.example.com"]);
    assert_eq!(config.write_buffer_limit, LIMIT);
    assert_eq!(config.overflow_close, Some(CloseCode::POLICY_VIOLATION));
}
