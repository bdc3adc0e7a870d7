use ws_framework::{on_upgrade, ws_service};

struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_upgrade]
    async fn new() -> Option<Self> {
        Some(Svc)
    }
}

fn main() {}
