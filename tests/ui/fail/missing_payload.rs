use ws_framework::{on_binary, ws_service, Caller};

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_binary]
    async fn binary(&self, caller: &Caller) {
        let _ = caller;
    }
}

fn main() {}
