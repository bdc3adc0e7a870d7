use ws_framework::{on_dispatch, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", dispatcher_key = "event")]
impl Svc {
    #[on_dispatch("subscribe")]
    async fn subscribe(&self) {}

    #[on_dispatch("subscribe")]
    async fn subscribe_again(&self) {}
}

fn main() {}
