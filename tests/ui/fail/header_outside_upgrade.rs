use ws_framework::{on_open, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_open]
    async fn open(&self, #[header] origin: String) {
        let _ = origin;
    }
}

fn main() {}
