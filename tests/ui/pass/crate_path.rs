//! `crate = path` for a renamed ws-framework; markers and the attribute by path, unimported.

use ws_framework as my_ws;

#[derive(Default)]
struct Echo;

#[my_ws::ws_service("/echo", crate = my_ws)]
impl Echo {
    #[my_ws::on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

fn main() {
    fn assert_service<S: my_ws::Service>() {}
    assert_service::<Echo>();
}
