//! All errors of a block are reported in one build.
use ws_framework::{on_close, on_open, on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", idle_timeout = "soon")]
impl Svc {
    #[on_open]
    fn open(&self) {}

    #[on_text]
    async fn text(&self) {}

    #[on_close]
    async fn close(&self, a: u16, b: String, c: String) {
        let _ = (a, b, c);
    }
}

fn main() {}
