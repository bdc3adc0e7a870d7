//! Custom dispatch on the `event` field (Ballerina's `dispatcherKey`), by value and by name, with
//! a per-handler error handler, close frames and a fallback.
use serde::{Deserialize, Serialize};
use ws_framework::{
    on_dispatch, on_error, on_idle_timeout, on_text, ws_service, Caller, CloseCode,
    CloseFrame, Error,
};
#[derive(Deserialize)]
pub struct Subscribe {
    pub channel: String,
}
#[derive(Serialize)]
pub struct Subscribed {
    pub channel: String,
    pub ok: bool,
}
#[derive(Default)]
pub struct Feed;
impl Feed {
    #[on_dispatch(__ws_expanded)]
    async fn subscribe_message(&self, message: Subscribe) -> Subscribed {
        Subscribed {
            channel: message.channel,
            ok: true,
        }
    }
    async fn subscribe_failed(&self, error: Error) -> String {
        format!("bad subscribe: {error}")
    }
    #[on_dispatch(__ws_expanded)]
    async fn on_heartbeat(&self, caller: &Caller) -> Result<(), Error> {
        caller.write_text("beat").await
    }
    #[on_text(__ws_expanded)]
    async fn other(&self, text: String) -> Option<CloseFrame> {
        (text == "bye").then(|| CloseFrame::new(CloseCode::NORMAL, "bye"))
    }
    #[on_error(__ws_expanded)]
    async fn error(&self, error: Error) {
        eprintln!("{error}");
    }
    #[on_idle_timeout(__ws_expanded)]
    async fn idle(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::GOING_AWAY, "idle")
    }
}
impl ::ws_framework::__private::Service for Feed {
    type State = ();
    const HANDLERS: ::ws_framework::__private::Handlers = ::ws_framework::__private::Handlers::NONE
        .with_idle_timeout();
    fn config() -> ::ws_framework::__private::ServiceConfig {
        ::ws_framework::__private::ServiceConfig::new("/feed")
            .close_timeout(
                ::core::option::Option::Some(
                    ::ws_framework::__private::Duration::from_secs(5),
                ),
            )
            .dispatcher_key("event")
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
                match ::ws_framework::__private::DispatchKey::of(&__ws_text, "event") {
                    ::core::option::Option::Some(
                        __ws_key,
                    ) if __ws_key.value() == "subscribe" => {
                        match ::ws_framework::__private::bind_text(__ws_text) {
                            ::core::result::Result::Ok(__ws_payload) => {
                                let __ws_ret = Self::subscribe_message(self, __ws_payload)
                                    .await;
                                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                                    .__ws_reply_kind()
                                    .into_reply(
                                        ::ws_framework::__private::kind::on_dispatch,
                                        __ws_ret,
                                    )
                            }
                            ::core::result::Result::Err(__ws_error) => {
                                let __ws_ret = Self::subscribe_failed(
                                        self,
                                        ::ws_framework::__private::error_arg(__ws_error),
                                    )
                                    .await;
                                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                                    .__ws_reply_kind()
                                    .into_reply(
                                        ::ws_framework::__private::kind::error_handler,
                                        __ws_ret,
                                    )
                            }
                        }
                    }
                    ::core::option::Option::Some(
                        __ws_key,
                    ) if __ws_key.name() == "heartbeat" => {
                        let __ws_ret = Self::on_heartbeat(
                                self,
                                ::ws_framework::__private::caller(__ws_caller),
                            )
                            .await;
                        (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                            .__ws_reply_kind()
                            .into_reply(
                                ::ws_framework::__private::kind::on_dispatch,
                                __ws_ret,
                            )
                    }
                    _ => {
                        match ::ws_framework::__private::bind_text(__ws_text) {
                            ::core::result::Result::Ok(__ws_payload) => {
                                let __ws_ret = Self::other(self, __ws_payload).await;
                                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                                    .__ws_reply_kind()
                                    .into_reply(
                                        ::ws_framework::__private::kind::on_text,
                                        __ws_ret,
                                    )
                            }
                            ::core::result::Result::Err(__ws_error) => {
                                let __ws_ret = Self::error(
                                        self,
                                        ::ws_framework::__private::error_arg(__ws_error),
                                    )
                                    .await;
                                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                                    .__ws_reply_kind()
                                    .into_reply(
                                        ::ws_framework::__private::kind::on_error,
                                        __ws_ret,
                                    )
                            }
                        }
                    }
                }
            }
            ::ws_framework::__private::Event::Error(__ws_error) => {
                let __ws_ret = Self::error(
                        self,
                        ::ws_framework::__private::error_arg(__ws_error),
                    )
                    .await;
                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                    .__ws_reply_kind()
                    .into_reply(::ws_framework::__private::kind::on_error, __ws_ret)
            }
            ::ws_framework::__private::Event::IdleTimeout => {
                let __ws_ret = Self::idle(self).await;
                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                    .__ws_reply_kind()
                    .into_reply(
                        ::ws_framework::__private::kind::on_idle_timeout,
                        __ws_ret,
                    )
            }
            __ws_event => ::ws_framework::__private::unhandled(__ws_event),
        }
    }
}
fn main() {}
