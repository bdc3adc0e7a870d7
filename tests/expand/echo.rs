//! The echo service: text back as text, bytes back as bytes.

use ws_framework::{on_binary, on_text, ws_service};

#[derive(Default)]
pub struct Echo;

#[ws_service("/echo")]
impl Echo {
    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }

    #[on_binary]
    async fn binary(&self, data: Vec<u8>) -> Vec<u8> {
        data
    }
}

fn main() {}
