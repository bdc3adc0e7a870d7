use ws_framework::{on_dispatch, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", dispatcher_key = "event")]
impl Svc {
    #[on_dispatch("Subscribe")]
    async fn subscribe_message(&self) {}

    #[on_dispatch]
    async fn on_subscribe(&self) {}
}

fn main() {}
