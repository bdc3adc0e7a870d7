//! The configuration keys that map the runtime's origin, auth and back-pressure settings.
use ws_framework::auth::{Auth, AuthProvider, JwtKey, JwtValidator};
use ws_framework::ws_service;
fn jwt() -> Auth {
    Auth::providers([
        AuthProvider::jwt(
            JwtValidator::new(JwtKey::hs256(b"an example secret of at least 32 bytes")),
        ),
    ])
}
#[derive(Default)]
pub struct Guarded;
impl Guarded {}
impl ::ws_framework::__private::Service for Guarded {
    type State = ();
    const HANDLERS: ::ws_framework::__private::Handlers = ::ws_framework::__private::Handlers::NONE;
    fn config() -> ::ws_framework::__private::ServiceConfig {
        ::ws_framework::__private::ServiceConfig::new("/guarded")
            .allowed_origins(["https://app.example.com", "*.example.org"])
            .require_origin(true)
            .auth(jwt())
            .write_buffer_limit(64 << 10)
            .write_timeout(::ws_framework::__private::Duration::from_millis(500))
            .overflow_close(::ws_framework::__private::CloseCode::new(1008))
    }
    async fn upgrade(
        _: &mut ::ws_framework::__private::UpgradeRequest,
        _: &::ws_framework::__private::Arc<Self::State>,
    ) -> ::core::result::Result<Self, ::ws_framework::__private::UpgradeError> {
        ::ws_framework::__private::default_service()
    }
    async fn handle<'a>(
        &'a mut self,
        __ws_caller: &'a ::ws_framework::__private::Caller,
        __ws_state: &'a ::ws_framework::__private::Arc<Self::State>,
        __ws_event: ::ws_framework::__private::Event,
    ) -> ::ws_framework::__private::Reply {
        #[allow(unused_imports)]
        use ::ws_framework::__private::autoref::*;
        match __ws_event {
            __ws_event => ::ws_framework::__private::unhandled(__ws_event),
        }
    }
}
fn main() {}
