use ws_framework::{on_text, ws_service};

#[derive(Default)]
struct Svc<T>(T);

#[ws_service("/svc")]
impl<T: Default + Send + 'static> Svc<T> {
    #[on_text]
    async fn text(&self, text: String) {
        let _ = text;
    }
}

fn main() {}
