use ws_framework::{on_close, on_pong, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_close]
    async fn close(&self) -> String {
        "bye".into()
    }

    #[on_pong]
    async fn pong(&self, payload: Vec<u8>) -> Vec<u8> {
        payload
    }
}

fn main() {}
