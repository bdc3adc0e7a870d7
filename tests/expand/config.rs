//! The configuration keys that map the runtime's origin, auth and back-pressure settings.

use ws_framework::auth::{Auth, AuthProvider, JwtKey, JwtValidator};
use ws_framework::ws_service;

fn jwt() -> Auth {
    Auth::providers([AuthProvider::jwt(JwtValidator::new(JwtKey::hs256(
        b"an example secret of at least 32 bytes",
    )))])
}

#[derive(Default)]
pub struct Guarded;

#[ws_service(
    "/guarded",
    origins = ["https://app.example.com", "*.example.org"],
    require_origin = true,
    auth = jwt(),
    write_buffer_limit = 64 << 10,
    write_timeout = "500ms",
    overflow_close = 1008,
)]
impl Guarded {}

fn main() {}
