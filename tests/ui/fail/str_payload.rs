use ws_framework::{on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, text: &str) {
        let _ = text;
    }
}

fn main() {}
