use ws_framework::{on_text, ws_service};

struct Reply {
    text: String,
}

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, text: String) -> Reply {
        Reply { text }
    }
}

fn main() {}
