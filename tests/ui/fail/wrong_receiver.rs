use ws_framework::{on_close, on_open, on_text, on_upgrade, ws_service};

struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_upgrade]
    async fn new(&self) -> Self {
        Svc
    }

    #[on_open]
    async fn open() {}

    #[on_text]
    async fn text(self, text: String) {
        let _ = text;
    }

    #[on_close]
    async fn close(self: Box<Self>) {}
}

fn main() {}
