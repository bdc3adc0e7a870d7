//! A client with ping/pong callbacks: `on_ping` answers the server's pings with a payload of its
//! own, `on_pong` reports the pongs that answer the client's pings.
//!
//! ```sh
//! cargo run --example echo_server                                  # in one terminal
//! cargo run --example ping_pong_client [-- ws://127.0.0.1:9001/]   # in another
//! ```
//!
//! The echo server answers pings but sends none, so only `on_pong` runs against it.

use std::time::Duration;
use tokio::sync::mpsc;
use ws_framework::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".to_owned());
    let (pong_tx, mut pongs) = mpsc::unbounded_channel();
    let client = Client::builder(url.as_str())
        .on_ping(|_client, payload| async move {
            println!("server pinged with {:?}", String::from_utf8_lossy(&payload));
            // The returned payload is sent as the pong; `None` would send none.
            Some(payload)
        })
        .on_pong(move |_client, payload| {
            let pong_tx = pong_tx.clone();
            async move {
                let _ = pong_tx.send(payload);
            }
        })
        .connect()
        .await?;
    println!("connected to {url}");

    for i in 1..=3 {
        client.ping(format!("ping {i}")).await?;
        match tokio::time::timeout(Duration::from_secs(5), pongs.recv()).await {
            Ok(Some(pong)) => println!("pong {i}: {:?}", String::from_utf8_lossy(&pong)),
            _ => return Err(format!("no pong for ping {i} within 5 s").into()),
        }
    }
    client.close(1000, "done", None).await?;
    Ok(())
}
