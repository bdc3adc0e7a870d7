use ws_framework::{on_dispatch, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", dispatcher_key = "event")]
impl Svc {
    #[on_dispatch]
    async fn subscribe(&self) {}

    #[on_dispatch]
    async fn on_Heartbeat(&self) {}

    #[on_dispatch("")]
    async fn empty(&self) {}
}

fn main() {}
