use ws_framework::{on_dispatch, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", dispatcher_key = "event")]
impl Svc {
    #[on_dispatch(error = on_subscribe_error)]
    async fn on_subscribe(&self, channel: String) {
        let _ = channel;
    }
}

fn main() {}
