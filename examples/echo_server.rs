//! Echo server on every path, compression on, 64 MiB messages; stops on Ctrl-C. Run with
//! `cargo run --release --example echo_server -- --addr 127.0.0.1:9001 [--threads N]`
use ws_framework::{bytes::Bytes, on_binary, on_text, ws_service, Utf8Bytes};

#[derive(Default)]
struct Echo;
#[ws_service("/*", max_frame_size = 64 << 20, max_message_size = 64 << 20)]
impl Echo {
    #[on_text]
    async fn text(&self, text: Utf8Bytes) -> Utf8Bytes {
        text
    }
    #[on_binary]
    async fn binary(&self, data: Bytes) -> Bytes {
        data
    }
}

fn main() -> ws_framework::Result<()> {
    let arg = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let threads = arg("--threads").map(|n| n.parse().expect("--threads takes a number"));
    let addr = arg("--addr").unwrap_or_else(|| "127.0.0.1:9001".into());
    ws_framework::block_on(threads, ws_framework::serve::<Echo>(addr))?
}
