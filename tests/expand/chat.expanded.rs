//! A chat room: per-connection state in `Self`, shared state in `Rooms`.
use std::sync::Mutex;
use ws_framework::{
    on_close, on_message, on_open, on_upgrade, ws_service, Caller, UpgradeError,
    UpgradeRequest,
};
#[derive(Default)]
pub struct Rooms {
    members: Mutex<Vec<(String, Caller)>>,
}
pub struct ChatServer {
    room: String,
    name: String,
    sent: usize,
}
impl ChatServer {
    #[on_upgrade(__ws_expanded)]
    async fn join(
        request: &UpgradeRequest,
        room: String,
        name: Option<String>,
        token: String,
    ) -> Result<Self, UpgradeError> {
        if token != "secret" || request.origin() == Some("https://evil.example") {
            return Err(UpgradeError::forbidden("not allowed"));
        }
        Ok(Self {
            room,
            name: name.unwrap_or_else(|| "anonymous".into()),
            sent: 0,
        })
    }
    #[on_open(__ws_expanded)]
    async fn open(&self, caller: &Caller, rooms: &Rooms) -> String {
        rooms.members.lock().unwrap().push((self.room.clone(), caller.clone()));
        format!("{} joined {}", self.name, self.room)
    }
    #[on_message(__ws_expanded)]
    async fn message(&mut self, rooms: &Rooms, text: String) {
        self.sent += 1;
        let members = rooms.members.lock().unwrap().clone();
        for (room, member) in members {
            if room == self.room {
                let _ = member.write_text(format!("{}: {text}", self.name)).await;
            }
        }
    }
    #[on_close(__ws_expanded)]
    async fn close(&self, caller: &Caller, rooms: &Rooms, code: u16) {
        rooms.members.lock().unwrap().retain(|(_, m)| m.id() != caller.id());
        let _ = code;
    }
}
impl ::ws_framework::__private::Service for ChatServer {
    type State = Rooms;
    const HANDLERS: ::ws_framework::__private::Handlers = ::ws_framework::__private::Handlers::NONE;
    fn config() -> ::ws_framework::__private::ServiceConfig {
        ::ws_framework::__private::ServiceConfig::new("/chat/{room}")
            .protocols(["chat"])
            .idle_timeout(::ws_framework::__private::Duration::from_secs(30))
    }
    async fn upgrade(
        __ws_request: &mut ::ws_framework::__private::UpgradeRequest,
        __ws_state: &::ws_framework::__private::Arc<Self::State>,
    ) -> ::core::result::Result<Self, ::ws_framework::__private::UpgradeError> {
        let __ws_room = ::ws_framework::__private::path_param(__ws_request, "room")?;
        let __ws_name = ::ws_framework::__private::query_param(__ws_request, "name")?;
        let __ws_token = ::ws_framework::__private::header_param(
            __ws_request,
            "x-token",
        )?;
        ::ws_framework::__private::accept::<
            Self,
            _,
        >(
            Self::join(
                    ::ws_framework::__private::request(__ws_request),
                    __ws_room,
                    __ws_name,
                    __ws_token,
                )
                .await,
        )
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
            ::ws_framework::__private::Event::Open => {
                let __ws_ret = Self::open(
                        self,
                        ::ws_framework::__private::caller(__ws_caller),
                        ::ws_framework::__private::state(__ws_state),
                    )
                    .await;
                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                    .__ws_reply_kind()
                    .into_reply(::ws_framework::__private::kind::on_open, __ws_ret)
            }
            ::ws_framework::__private::Event::Text(__ws_text) => {
                match ::ws_framework::__private::bind_message_text(__ws_text) {
                    ::core::result::Result::Ok(__ws_payload) => {
                        let __ws_ret = Self::message(
                                self,
                                ::ws_framework::__private::state(__ws_state),
                                __ws_payload,
                            )
                            .await;
                        (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                            .__ws_reply_kind()
                            .into_reply(
                                ::ws_framework::__private::kind::on_message,
                                __ws_ret,
                            )
                    }
                    ::core::result::Result::Err(__ws_error) => {
                        ::ws_framework::__private::binding_failed(__ws_error)
                    }
                }
            }
            ::ws_framework::__private::Event::Binary(__ws_data) => {
                match ::ws_framework::__private::bind_message_binary(__ws_data) {
                    ::core::result::Result::Ok(__ws_payload) => {
                        let __ws_ret = Self::message(
                                self,
                                ::ws_framework::__private::state(__ws_state),
                                __ws_payload,
                            )
                            .await;
                        (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                            .__ws_reply_kind()
                            .into_reply(
                                ::ws_framework::__private::kind::on_message,
                                __ws_ret,
                            )
                    }
                    ::core::result::Result::Err(__ws_error) => {
                        ::ws_framework::__private::binding_failed(__ws_error)
                    }
                }
            }
            ::ws_framework::__private::Event::Close {
                code: __ws_code,
                reason: __ws_reason,
                ..
            } => {
                let __ws_ret = Self::close(
                        self,
                        ::ws_framework::__private::caller(__ws_caller),
                        ::ws_framework::__private::state(__ws_state),
                        ::ws_framework::__private::close_arg(__ws_code, &__ws_reason),
                    )
                    .await;
                (&&&&&::ws_framework::__private::Ret(&__ws_ret))
                    .__ws_reply_kind()
                    .into_reply(::ws_framework::__private::kind::on_close, __ws_ret)
            }
            __ws_event => ::ws_framework::__private::unhandled(__ws_event),
        }
    }
}
fn main() {}
