use ws_framework::{on_close, on_open, on_text, ws_service, Caller};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_open]
    async fn open(&self, greeting: String) {
        let _ = greeting;
    }

    #[on_text]
    async fn text(&self, text: String, caller: &Caller, other: String) {
        let _ = (text, caller, other);
    }

    #[on_close]
    async fn close(&self, code: u16, reason: String, extra: u8) {
        let _ = (code, reason, extra);
    }
}

fn main() {}
