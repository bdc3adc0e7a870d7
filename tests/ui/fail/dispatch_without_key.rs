use ws_framework::{on_dispatch, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_dispatch]
    async fn on_subscribe(&self) {}
}

fn main() {}
