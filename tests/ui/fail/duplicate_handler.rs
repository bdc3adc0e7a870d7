use ws_framework::{on_text, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn first(&self, text: String) {
        let _ = text;
    }

    #[on_text]
    async fn second(&self, text: String) {
        let _ = text;
    }
}

fn main() {}
