use ws_framework::{on_open, on_text};

struct Svc;

impl Svc {
    #[on_text]
    async fn text(&self, text: String) {
        let _ = text;
    }
}

#[on_open]
async fn open() {}

fn main() {}
