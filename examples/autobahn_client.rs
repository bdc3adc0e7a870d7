//! Plays every case of Autobahn|Testsuite's fuzzing server with ws-framework's client
//! (compression offered), then asks the server to write its reports.
//!
//! ```sh
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001
//! ```
//! The agent name is `$AUTOBAHN_AGENT` or `ws-framework`.

use ws_framework::conn::ConnConfig;
use ws_framework::proto::Limits;
use ws_framework::stream::{connect, ConnectOptions};
use ws_framework::{Incoming, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("AUTOBAHN_URL").ok())
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "ws-framework".to_owned());
    let mut options = ConnectOptions::with_compression();
    let mut conn = ConnConfig::default();
    conn.limits = Limits {
        max_frame_size: 64 << 20,
        max_message_size: 64 << 20,
    };
    conn.max_send_frame_size = 0;
    conn.close_timeout = Some(std::time::Duration::from_secs(5));
    options.conn = conn;

    let count = {
        let (ws, driver, _) = connect(&format!("{base}/getCaseCount"), &options).await?;
        let task = tokio::spawn(driver);
        let count = match ws.recv().await? {
            Incoming::Message(Message::Text(t)) => t.parse::<u32>()?,
            other => return Err(format!("unexpected answer to getCaseCount: {other:?}").into()),
        };
        let _ = ws.recv().await;
        let _ = task.await;
        count
    };
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let (ws, driver, _) = match connect(&url, &options).await {
            Ok(open) => open,
            Err(e) => {
                eprintln!("case {case}: {e}");
                continue;
            }
        };
        let echo = async {
            loop {
                match ws.recv().await {
                    Ok(Incoming::Message(m)) => {
                        if ws.send(m).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(ws_framework::Error::ConnectionClosure(_)) => break,
                    Err(_) => {}
                }
            }
        };
        tokio::join!(driver, echo);
        if case % 50 == 0 {
            println!("{case}/{count}");
        }
    }
    let (ws, driver, _) = connect(&format!("{base}/updateReports?agent={agent}"), &options).await?;
    let wait = async { while ws.recv().await.is_ok() {} };
    tokio::join!(driver, wait);
    println!("reports written");
    Ok(())
}
