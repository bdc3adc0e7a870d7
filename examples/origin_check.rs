//! Ballerina's "Origin" example: the upgrade hook reads the `Origin` header and refuses the
//! upgrade (400 Bad Request) unless it comes from an allowed page.
//!
//! ```sh
//! cargo run --example origin_check                                      # serve on 127.0.0.1:9090
//! cargo run --example origin_check -- --talk ws://127.0.0.1:9090/basic/ws  # in another terminal
//! cargo run --example origin_check -- --demo                            # both in one process
//! ```
//!
//! `--talk` connects with `ws_framework::Client` three times: with the allowed origin (the
//! echo works), with another origin and without one (both refused with 400). A browser page
//! served from `http://localhost:9090` may connect; pages from anywhere else are refused.
//!
//! The declarative alternative, without a hook: `#[ws_service("/basic/ws", origins =
//! ["http://localhost:9090"], require_origin = true)]` (or
//! `ServiceConfig::allowed_origins([..]).require_origin(true)` for a hand-written `Service`)
//! refuses other origins with 403 before any handler runs, and also accepts sub-domain
//! patterns such as `*.example.com`; see `ws_framework::origin`.

use ws_framework::{on_text, on_upgrade, ws_service, Client, Listener, UpgradeRequest};

const ALLOWED_ORIGIN: &str = "http://localhost:9090";

struct Echo;

#[ws_service("/basic/ws")]
impl Echo {
    /// Runs before the 101: returning `Err` refuses the upgrade. A `String` error is a
    /// 400 Bad Request whose body is the message (`UpgradeError::forbidden(..)` would be 403).
    #[on_upgrade]
    async fn upgrade(request: &UpgradeRequest) -> Result<Self, String> {
        match request.origin() {
            Some(ALLOWED_ORIGIN) => Ok(Echo),
            Some(other) => Err(format!("origin {other} is not allowed")),
            None => Err("an Origin header is required".to_owned()),
        }
    }

    #[on_text]
    async fn text(&self, text: String) -> String {
        text
    }
}

/// Connects with `origin` (if any) and says hello; prints what happened.
async fn attempt(url: &str, origin: Option<&str>) -> ws_framework::Result<()> {
    println!("Origin: {}", origin.unwrap_or("(none)"));
    let mut builder = Client::builder(url);
    if let Some(origin) = origin {
        builder = builder.header("Origin", origin);
    }
    match builder.connect().await {
        Ok(client) => {
            client.write_text("hello").await?;
            println!("  accepted; echo: {}", client.read_text().await?);
            client.close(1000, "done", None).await?;
        }
        Err(e) => println!("  refused: {e}"),
    }
    Ok(())
}

async fn talk(url: &str) -> ws_framework::Result<()> {
    attempt(url, Some(ALLOWED_ORIGIN)).await?;
    attempt(url, Some("https://evil.example")).await?;
    attempt(url, None).await
}

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--talk") => {
            let url = args
                .get(1)
                .map_or("ws://127.0.0.1:9090/basic/ws", String::as_str);
            talk(url).await
        }
        Some("--demo") => {
            let listener = Listener::bind("127.0.0.1:0").await?;
            listener.attach::<Echo>()?;
            listener.start()?;
            talk(&format!("ws://{}/basic/ws", listener.local_addr())).await?;
            listener.graceful_stop().await;
            Ok(())
        }
        _ => ws_framework::serve::<Echo>("127.0.0.1:9090").await,
    }
}
