//! The echo service: text back as text, bytes back as bytes.
use ws_framework::{on_binary, on_text, ws_service};
#[derive(Default)]
pub struct Echo;
impl Echo {
    #[on_text(__ws_expanded)]
    async fn text(&self, text: String) -> String {
        text
    }
    #[on_binary(__ws_expanded)]
    async fn binary(&self, data: Vec<u8>) -> Vec<u8> {
        data
    }
}
impl ::ws_framework::__private::Service for Echo {
    type State = ();
    const HANDLERS: ::ws_framework::__private::Handlers = ::ws_framework::__private::Handlers::NONE;
    fn config() -> ::ws_framework::__private::ServiceConfig {
        ::ws_framework::__private::ServiceConfig::new("/echo")
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
            ::ws_framework::__private::Event::Text(__ws_text) => {
                match ::ws_framework::__private::bind_text(__ws_text) {
                    ::core::result::Result::Ok(__ws_payload) => {
                        let __ws_ret = Self::text(self, __ws_payload).await;
                        (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                            .__ws_reply_kind()
                            .into_reply(
                                ::ws_framework::__private::kind::on_text,
                                __ws_ret,
                            )
                    }
                    ::core::result::Result::Err(__ws_error) => {
                        ::ws_framework::__private::binding_failed(__ws_error)
                    }
                }
            }
            ::ws_framework::__private::Event::Binary(__ws_data) => {
                match ::ws_framework::__private::bind_binary(__ws_data) {
                    ::core::result::Result::Ok(__ws_payload) => {
                        let __ws_ret = Self::binary(self, __ws_payload).await;
                        (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                            .__ws_reply_kind()
                            .into_reply(
                                ::ws_framework::__private::kind::on_binary,
                                __ws_ret,
                            )
                    }
                    ::core::result::Result::Err(__ws_error) => {
                        ::ws_framework::__private::binding_failed(__ws_error)
                    }
                }
            }
            __ws_event => ::ws_framework::__private::unhandled(__ws_event),
        }
    }
}
fn main() {}
