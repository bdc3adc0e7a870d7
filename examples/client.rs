//! A client for the echo server: writes a text and a binary message and reads each echo back.
//!
//! ```sh
//! cargo run --example echo_server                        # in one terminal
//! cargo run --example client [-- ws://127.0.0.1:9001/]   # in another
//! ```

use ws_framework::Client;

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".to_owned());
    let client = Client::connect(url.as_str()).await?;
    println!(
        "connected to {url} (connection {}, compression {})",
        client.id(),
        client.is_compressed()
    );

    client.write_text("Hello, echo server!").await?;
    println!("text echoed:   {}", client.read_text().await?);

    client.write_binary(&b"bytes are echoed too"[..]).await?;
    let bytes = client.read_binary().await?;
    println!(
        "binary echoed: {} bytes, {:?}",
        bytes.len(),
        String::from_utf8_lossy(&bytes)
    );

    client.close(1000, "done", None).await
}
