use ws_framework::{on_text, ws_service};

struct Oops;

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, text: String) -> Result<String, Oops> {
        Ok(text)
    }
}

fn main() {}
