use ws_framework::{on_open, on_text, ws_service, Caller};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_open]
    async fn open(&self, caller: &mut Caller) {
        let _ = caller;
    }

    #[on_text]
    async fn text(&self, text: String, config: &std::path::Path) {
        let _ = (text, config);
    }
}

fn main() {}
