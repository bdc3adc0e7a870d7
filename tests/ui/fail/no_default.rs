use ws_framework::{on_text, ws_service};

struct Svc {
    name: String,
}

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, text: String) -> String {
        format!("{}: {text}", self.name)
    }
}

fn main() {}
