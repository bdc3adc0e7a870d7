use ws_framework::{on_text, ws_service, Caller};

#[derive(Default)]
struct Echo;

#[ws_service("/echo")]
impl Echo {
    #[on_text]
    fn text(&self, caller: &Caller, text: String) {
        let _ = (caller, text);
    }
}

fn main() {}
