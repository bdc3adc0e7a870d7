//! A `wss://` echo server with a self-signed certificate, and how to connect to it.
//!
//! ```sh
//! # Serve (creates target/tls-echo/cert.pem and key.pem on the first run, reuses them after):
//! cargo run --example tls_echo -- --addr 127.0.0.1:9443
//! # Connect from another terminal, trusting that certificate:
//! cargo run --example tls_echo -- --client wss://localhost:9443/echo "hello"
//! # Or both in one process, once (a smoke test):
//! cargo run --example tls_echo -- --once
//! ```
//!
//! Any other client works too when told to trust `cert.pem`, for example
//! `websocat --ca target/tls-echo/cert.pem wss://localhost:9443/echo` or a browser after
//! importing the certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use ws_framework::stream::ConnectOptions;
use ws_framework::tls::{ClientTlsConfig, TlsConfig};
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, ListenerConfig, Message, Reply, Service,
    ServiceConfig, UpgradeError, UpgradeRequest,
};

/// Sends every message back.
struct Echo;

impl Service for Echo {
    type State = ();
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        ServiceConfig::new("/echo")
    }

    async fn upgrade(req: &mut UpgradeRequest, _: &Arc<()>) -> Result<Self, UpgradeError> {
        println!("{} connected (TLS: {})", req.peer_addr(), req.is_secure());
        Ok(Echo)
    }

    async fn handle(&mut self, _caller: &Caller, _: &Arc<()>, event: Event) -> Reply {
        match event {
            Event::Text(text) => Reply::Text(text),
            Event::Binary(data) => Reply::Binary(data),
            _ => Reply::None,
        }
    }
}

/// The certificate and key in `dir`, created (self-signed, for localhost and 127.0.0.1) when
/// missing.
fn certificate(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(dir)?;
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .map_err(std::io::Error::other)?;
        std::fs::write(&cert, generated.cert.pem())?;
        std::fs::write(&key, generated.signing_key.serialize_pem())?;
        println!("created a self-signed certificate: {}", cert.display());
    }
    Ok((cert, key))
}

async fn serve(addr: &str, dir: &Path) -> ws_framework::Result<Listener> {
    let (cert, key) = certificate(dir)?;
    let config = ListenerConfig::default().tls(TlsConfig::from_pem_files(&cert, &key));
    let listener = Listener::bind_with(addr, config).await?;
    listener.attach::<Echo>()?;
    listener.start()?;
    let port = listener.local_addr().port();
    println!("listening on wss://localhost:{port}/echo");
    println!(
        "connect with: cargo run --example tls_echo -- --dir {} --client wss://localhost:{port}/echo hello",
        dir.display()
    );
    Ok(listener)
}

/// Connects to `url`, trusting the certificate in `dir`, sends `text` and prints the answer.
async fn client(url: &str, dir: &Path, text: &str) -> ws_framework::Result<()> {
    let uri: ws_framework::http::Uri =
        url.parse().map_err(|e| ws_framework::Error::InvalidUrl {
            url: url.to_owned(),
            reason: format!("{e}"),
        })?;
    let host = uri.host().unwrap_or("localhost").to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let tls = ClientTlsConfig::new().ca_file(dir.join("cert.pem"));
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let stream = ws_framework::tls::connect_tls(tcp, &host, &tls).await?;
    let (ws, driver, _response) =
        ws_framework::stream::connect_stream(stream, &uri, &ConnectOptions::with_compression())
            .await
            .map_err(ws_framework::tls::refine_error)?;
    tokio::spawn(driver);
    ws.send(Message::Text(text.to_owned().into())).await?;
    loop {
        match ws.recv().await? {
            Incoming::Message(Message::Text(answer)) => {
                println!("server answered: {}", answer.as_str());
                break;
            }
            Incoming::Close(frame) => {
                println!("server closed: {frame:?}");
                break;
            }
            _ => {}
        }
    }
    ws.close(None, None).await.ok();
    Ok(())
}

#[tokio::main]
async fn main() -> ws_framework::Result<()> {
    let mut addr = "127.0.0.1:9443".to_owned();
    let mut dir = PathBuf::from("target/tls-echo");
    let mut connect: Option<String> = None;
    let mut once = false;
    let mut text = "hello over wss".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs HOST:PORT"),
            "--dir" => dir = args.next().expect("--dir needs a directory").into(),
            "--client" => connect = Some(args.next().expect("--client needs a wss:// URL")),
            "--once" => once = true,
            other if connect.is_some() => text = other.to_owned(),
            other => panic!(
                "unknown argument {other}; usage: tls_echo [--addr HOST:PORT] [--dir DIR] [--once | --client URL [TEXT]]"
            ),
        }
    }
    if let Some(url) = connect {
        return client(&url, &dir, &text).await;
    }
    if once {
        let listener = serve("127.0.0.1:0", &dir).await?;
        let url = format!("wss://localhost:{}/echo", listener.local_addr().port());
        client(&url, &dir, &text).await?;
        listener.graceful_stop().await;
        return Ok(());
    }
    let listener = serve(&addr, &dir).await?;
    ws_framework::run_until_ctrl_c(&listener).await
}
