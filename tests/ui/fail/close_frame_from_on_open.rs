use ws_framework::{on_open, ws_service, CloseCode, CloseFrame};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_open]
    async fn open(&self) -> CloseFrame {
        CloseFrame::new(CloseCode::NORMAL, "go away")
    }
}

fn main() {}
