use ws_framework::{on_dispatch, on_open, on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc", dispatcher_key = "event")]
impl Svc {
    #[on_open("x")]
    async fn open(&self) {}

    #[on_text(errors = failed)]
    async fn text(&self, text: String) {
        let _ = text;
    }

    #[on_dispatch("a", "b")]
    #[on_text]
    async fn on_a(&self) {}
}

fn main() {}
