//! Custom dispatch on a JSON field (Ballerina's `dispatcherKey`), Kraken-style: every text
//! message is a JSON object whose `event` picks the handler.
//!
//! ```sh
//! cargo run --example dispatch                                      # serve on 127.0.0.1:9090
//! cargo run --example dispatch -- --talk ws://127.0.0.1:9090/kraken # in another terminal
//! cargo run --example dispatch -- --demo                            # both in one process
//! ```
//!
//! `--talk` plays a scripted conversation with `ws_framework::Client` and prints both sides;
//! any WebSocket client works too, e.g. in a browser console:
//! `ws = new WebSocket("ws://127.0.0.1:9090/kraken"); ws.onmessage = e => console.log(e.data);`
//! then `ws.send('{"event":"login","user":"alice","password":"wonderland"}')`.
//!
//! | sent | handled by | answer |
//! | --- | --- | --- |
//! | `{"event":"login","user":..,"password":..}` | `on_login` | `loggedIn`, or close 4444 "Invalid User" |
//! | `{"event":"subscribe","pair":["XBT/USD"]}` | `on_subscribe` | `subscriptionStatus` |
//! | `{"event":"unsubscribe","pair":["XBT/USD"]}` | `on_unsubscribe` | `subscriptionStatus` |
//! | `{"event":"heartbeat","seq":1}` | `on_heartbeat` | `heartbeat` with the same `seq` |
//! | a payload that does not fit the handler's struct | its `error = ...` method | `error` |
//! | `{"event":"anything else"}` or no `event` | `on_message` | `error` |

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use ws_framework::{
    on_dispatch, on_error, on_message, on_open, ws_service, Caller, Client, CloseFrame, Error,
    Listener,
};

// ---------------------------------------------------------------------------------------------
// Messages: what clients send (bound by the handlers' parameter types) and what they get back
// (returned by the handlers, sent as JSON text).
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

/// `subscribe` and `unsubscribe` carry the same fields.
#[derive(Deserialize)]
struct Pairs {
    pair: Vec<String>,
}

#[derive(Deserialize)]
struct Heartbeat {
    seq: u64,
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
enum Answer {
    SystemStatus {
        status: &'static str,
    },
    LoggedIn {
        user: String,
    },
    SubscriptionStatus {
        status: &'static str,
        pairs: Vec<String>,
    },
    Heartbeat {
        seq: u64,
    },
    Error {
        message: String,
    },
}

impl Answer {
    fn error(message: impl Into<String>) -> Self {
        Self::Error {
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The service: one `Kraken` value per connection.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Kraken {
    user: Option<String>,
    pairs: BTreeSet<String>,
}

#[ws_service("/kraken", dispatcher_key = "event")]
impl Kraken {
    #[on_open]
    async fn open(&self) -> Answer {
        Answer::SystemStatus { status: "online" }
    }

    /// A bad login closes the connection with 4444 "Invalid User"; so does a login message
    /// that cannot be read (through `bad_login`).
    #[on_dispatch(error = bad_login)]
    async fn on_login(
        &mut self,
        caller: &Caller,
        login: Login,
    ) -> Result<Option<CloseFrame>, Error> {
        if login.user != "alice" || login.password != "wonderland" {
            return Ok(Some(invalid_user()));
        }
        caller
            .write_message(&Answer::LoggedIn {
                user: login.user.clone(),
            })
            .await?;
        self.user = Some(login.user);
        Ok(None)
    }

    async fn bad_login(&self) -> CloseFrame {
        invalid_user()
    }

    #[on_dispatch(error = bad_request)]
    async fn on_subscribe(&mut self, request: Pairs) -> Answer {
        if self.user.is_none() {
            return Answer::error("log in first");
        }
        self.pairs.extend(request.pair);
        Answer::SubscriptionStatus {
            status: "subscribed",
            pairs: self.pairs.iter().cloned().collect(),
        }
    }

    #[on_dispatch(error = bad_request)]
    async fn on_unsubscribe(&mut self, request: Pairs) -> Answer {
        for pair in &request.pair {
            self.pairs.remove(pair);
        }
        Answer::SubscriptionStatus {
            status: "unsubscribed",
            pairs: request.pair,
        }
    }

    /// No `error = ...` here: a heartbeat that does not bind goes to `on_error`.
    #[on_dispatch]
    async fn on_heartbeat(&self, beat: Heartbeat) -> Answer {
        Answer::Heartbeat { seq: beat.seq }
    }

    /// The error method of `subscribe` and `unsubscribe`: the connection stays open.
    async fn bad_request(&self, error: Error) -> Answer {
        Answer::error(error.to_string())
    }

    /// Unknown events, and text without an `event` field.
    #[on_message]
    async fn unknown(&self, message: serde_json::Value) -> Answer {
        match message.get("event") {
            Some(event) => Answer::error(format!("unknown event {event}")),
            None => Answer::error("every message needs an \"event\" field"),
        }
    }

    #[on_error]
    async fn error(&self, caller: &Caller, error: Error) -> Result<(), Error> {
        eprintln!("connection {}: {error}", caller.id());
        caller
            .write_message(&Answer::error(error.to_string()))
            .await
    }
}

fn invalid_user() -> CloseFrame {
    CloseFrame::new(4444, "Invalid User")
}

// ---------------------------------------------------------------------------------------------
// A scripted client.
// ---------------------------------------------------------------------------------------------

async fn say(client: &Client, text: &str) -> ws_framework::Result<()> {
    println!("> {text}");
    client.write_text(text.to_owned()).await?;
    match client.read_text().await {
        Ok(answer) => println!("< {answer}"),
        Err(e) => println!("< closed: {e}"),
    }
    Ok(())
}

async fn talk(url: &str) -> ws_framework::Result<()> {
    let client = Client::connect(url).await?;
    println!("< {}", client.read_text().await?);
    say(&client, r#"{"event":"subscribe","pair":["XBT/USD"]}"#).await?;
    say(
        &client,
        r#"{"event":"login","user":"alice","password":"wonderland"}"#,
    )
    .await?;
    say(
        &client,
        r#"{"event":"subscribe","pair":["XBT/USD","ETH/USD"]}"#,
    )
    .await?;
    say(&client, r#"{"event":"subscribe","pair":"XBT/USD"}"#).await?;
    say(&client, r#"{"event":"unsubscribe","pair":["ETH/USD"]}"#).await?;
    say(&client, r#"{"event":"heartbeat","seq":1}"#).await?;
    say(&client, r#"{"event":"heartbeat"}"#).await?;
    say(&client, r#"{"event":"trade"}"#).await?;
    client.close(1000, "done", None).await?;

    println!("-- a second connection, with a wrong password:");
    let client = Client::connect(url).await?;
    println!("< {}", client.read_text().await?);
    say(
        &client,
        r#"{"event":"login","user":"alice","password":"guess"}"#,
    )
    .await
}

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--talk") => {
            let url = args
                .get(1)
                .map_or("ws://127.0.0.1:9090/kraken", String::as_str);
            talk(url).await
        }
        Some("--demo") => {
            let listener = Listener::bind("127.0.0.1:0").await?;
            listener.attach::<Kraken>()?;
            listener.start()?;
            talk(&format!("ws://{}/kraken", listener.local_addr())).await?;
            listener.graceful_stop().await;
            Ok(())
        }
        _ => ws_framework::serve::<Kraken>("127.0.0.1:9090").await,
    }
}
