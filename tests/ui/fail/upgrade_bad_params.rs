use ws_framework::{on_upgrade, ws_service, Caller};

struct Svc;

#[ws_service("/svc/{id}")]
impl Svc {
    #[on_upgrade]
    async fn new(
        id: Option<u32>,
        caller: &Caller,
        filter: Vec<Vec<u8>>,
        #[header] token: u64,
    ) -> Self {
        let _ = (id, caller, filter, token);
        Svc
    }
}

fn main() {}
