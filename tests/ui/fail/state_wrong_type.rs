use ws_framework::{on_open, ws_service};

#[derive(Default)]
struct AppState;

struct Other;

#[derive(Default)]
struct Svc;

#[ws_service("/svc", state = AppState)]
impl Svc {
    #[on_open]
    async fn open(&self, #[state] state: &Other) {
        let _ = state;
    }
}

fn main() {}
