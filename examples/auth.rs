//! A JWT-protected chat service, and a client that presents a token.
//!
//! ```sh
//! cargo run --example auth
//! ```
//!
//! The service accepts bearer JWTs signed with a shared secret (HS256), issued by `my-idp` for
//! the audience `chat`, and requires the scope `chat:write`. Upgrades without a token get 401
//! with `WWW-Authenticate: Bearer ...`; tokens without the scope get 403. The handlers greet
//! the authenticated user by name. RS256/ES256 work the same with
//! `JwtKey::rs256_pem_file("idp-public.pem")` / `JwtKey::es256_pem_file(...)`.

use std::sync::Arc;
use std::time::Duration;
use ws_framework::auth::{Auth, AuthProvider, ClientAuth, JwtIssuer, JwtKey, JwtValidator};
use ws_framework::stream::ConnectOptions;
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, Message, Reply, Service, ServiceConfig,
    UpgradeError, UpgradeRequest,
};

/// In real life: from a secret store, never in the source.
const SECRET: &[u8] = b"an example secret of at least 32 bytes";

struct Chat {
    user: String,
}

impl Service for Chat {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/chat").auth(
            Auth::providers([AuthProvider::jwt(
                JwtValidator::new(JwtKey::hs256(SECRET))
                    .issuer("my-idp")
                    .audience(["chat"])
                    .leeway(Duration::from_secs(30)),
            )])
            .scopes(["chat:write"]),
        )
    }

    async fn upgrade(req: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        // Authentication already ran: the principal is here.
        let user = req.principal().map_or("?", |p| p.name()).to_owned();
        Ok(Chat { user })
    }

    async fn handle(&mut self, caller: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(text) => {
                let scopes = caller
                    .principal()
                    .map(|p| p.scopes().join(" "))
                    .unwrap_or_default();
                Reply::Text(
                    format!("{} (scopes: {scopes}) says: {}", self.user, text.as_str()).into(),
                )
            }
            _ => Reply::None,
        }
    }
}

/// Connects with `auth` (if any) and says `text`; prints what happened.
async fn talk(url: &str, auth: Option<&ClientAuth>, text: &str) -> ws_framework::Result<()> {
    let mut options = ConnectOptions::default();
    if let Some(auth) = auth {
        options.headers.insert(
            ws_framework::http::header::AUTHORIZATION,
            auth.authorization().await?,
        );
    }
    match ws_framework::stream::connect(url, &options).await {
        Ok((ws, driver, _)) => {
            tokio::spawn(driver);
            ws.send(Message::Text(text.to_owned().into())).await?;
            if let Incoming::Message(Message::Text(answer)) = ws.recv().await? {
                println!("  server: {}", answer.as_str());
            }
            ws.close(None, None).await.ok();
        }
        Err(e) => println!("  refused: {e}"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let listener = Listener::bind("127.0.0.1:0").await?;
    listener.attach::<Chat>()?;
    listener.start()?;
    let url = format!("ws://{}/chat", listener.local_addr());
    println!("JWT-protected service on {url}");

    let issuer = JwtIssuer::new(JwtKey::hs256(SECRET))
        .issuer("my-idp")
        .audience(["chat"])
        .subject("alice")
        .scopes(["chat:read", "chat:write"])
        .expiry(Duration::from_secs(300));

    println!("with a valid token:");
    talk(&url, Some(&ClientAuth::jwt(issuer.clone())), "hello").await?;
    println!("with a token lacking `chat:write`:");
    talk(
        &url,
        Some(&ClientAuth::jwt(issuer.scopes(["chat:read"]))),
        "hello",
    )
    .await?;
    println!("without a token:");
    talk(&url, None, "hello").await?;

    listener.graceful_stop().await;
    Ok(())
}
