use ws_framework::{on_message, on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, text: String) {
        let _ = text;
    }

    #[on_message]
    async fn message(&self, value: serde_json::Value) {
        let _ = value;
    }
}

fn main() {}
