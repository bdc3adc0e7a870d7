use ws_framework::{on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/chat/{room")]
impl Svc {
    #[on_text]
    async fn text(&self, text: String) {
        let _ = text;
    }
}

#[derive(Default)]
struct Other;

#[ws_service("chat")]
impl Other {}

fn main() {}
