use ws_framework::{on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text(error = text_failed)]
    async fn text(&self, value: serde_json::Value) {
        let _ = value;
    }

    fn text_failed(&self, error: String) {
        let _ = error;
    }
}

fn main() {}
