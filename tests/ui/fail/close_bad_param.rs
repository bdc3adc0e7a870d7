use ws_framework::{on_close, on_error, ws_service};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_close]
    async fn close(&self, code: i64) {
        let _ = code;
    }

    #[on_error]
    async fn error(&self, error: String) {
        let _ = error;
    }
}

fn main() {}
