//! Shared by the TLS, origin and auth tests: certificates generated at test time (rcgen), an
//! echo service whose configuration each test registers, clients (ours over
//! `ws_framework::tls`, and tokio-tungstenite over its own tokio-rustls stream), and plain
//! HTTP(S) servers standing in for OAuth2 endpoints. Everything on 127.0.0.1, port 0.

#![allow(dead_code)] // Each test file uses a different part.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::any::TypeId;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as TMessage;
use ws_framework::http::{HeaderValue, Request, Response, StatusCode};
use ws_framework::stream::ConnectOptions;
use ws_framework::tls::{ClientTlsConfig, TlsConfig};
use ws_framework::{
    Caller, Event, Handlers, Incoming, Listener, ListenerConfig, Message, Reply, Service,
    ServiceConfig, UpgradeError, UpgradeRequest, WebSocket,
};

/// Every test's overall bound.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Runs `test` bounded by [`LIMIT`].
pub async fn within<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out")
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate authority that signs leaf certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
}

/// A leaf certificate and its private key, PEM.
#[derive(Clone)]
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose, expired: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for these names (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server certificate that expired in 2001.
    pub fn expired_server(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A client certificate (mutual TLS).
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], ExtendedKeyUsagePurpose::ClientAuth, false)
    }
}

/// The usual set: a CA and a certificate for `localhost` and 127.0.0.1 it signed.
pub struct Pki {
    pub ca: Ca,
    pub server: Leaf,
}

impl Pki {
    pub fn new() -> Self {
        let ca = Ca::new("ws-framework test CA");
        let server = ca.server(&["localhost", "127.0.0.1"]);
        Self { ca, server }
    }

    /// The listener's TLS settings (certificate from memory).
    pub fn server_tls(&self) -> TlsConfig {
        TlsConfig::from_pem(self.server.cert.clone(), self.server.key.clone())
    }

    /// A client that trusts this CA.
    pub fn client_tls(&self) -> ClientTlsConfig {
        ClientTlsConfig::new().ca_pem(self.ca.pem.clone())
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ws-framework-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The service

/// Service settings registered per marker type (`Service::config` has no arguments).
fn configs() -> &'static Mutex<HashMap<TypeId, ServiceConfig>> {
    static CONFIGS: OnceLock<Mutex<HashMap<TypeId, ServiceConfig>>> = OnceLock::new();
    CONFIGS.get_or_init(Default::default)
}

/// Registers the settings of `Echo<M>`.
pub fn register<M: 'static>(config: ServiceConfig) {
    configs().lock().unwrap().insert(TypeId::of::<M>(), config);
}

/// What the echo service's upgrade hook saw.
#[derive(Default)]
pub struct Seen {
    pub hook_runs: AtomicUsize,
}

/// An echo service at `/echo`, configured by marker `M` (see [`register`]).
///
/// Text commands: `whoami` -> `name scope1,scope2` of the principal (or `anonymous`);
/// `claim:<name>` -> the claim as JSON; `secure` -> `Caller::is_secure`; `compressed` ->
/// `Caller::is_compressed`; anything else is echoed. The 101 carries `x-principal`,
/// `x-secure` and `x-client-cert` (the mutual-TLS chain's length) as the hook saw them.
pub struct Echo<M>(PhantomData<fn() -> M>);

impl<M: 'static> Service for Echo<M> {
    type State = Arc<Seen>;
    const HANDLERS: Handlers = Handlers::NONE;

    fn config() -> ServiceConfig {
        configs()
            .lock()
            .unwrap()
            .get(&TypeId::of::<M>())
            .cloned()
            .unwrap_or_else(|| ServiceConfig::new("/echo"))
    }

    async fn upgrade(
        req: &mut UpgradeRequest,
        state: &Arc<Arc<Seen>>,
    ) -> Result<Self, UpgradeError> {
        state.hook_runs.fetch_add(1, Ordering::SeqCst);
        if req.query("reject").is_some() {
            return Err(UpgradeError::bad_request("rejected by the hook"));
        }
        // The seed's hand-written origin check keeps working beside the allow-list.
        if req.origin() == Some("https://blocked-by-hook.example") {
            return Err(UpgradeError::forbidden("origin refused by the hook"));
        }
        let name = req
            .principal()
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| "anonymous".into());
        let secure = req.is_secure().to_string();
        req.add_response_header(
            "x-principal".parse().unwrap(),
            HeaderValue::from_str(&name).unwrap(),
        );
        req.add_response_header(
            "x-secure".parse().unwrap(),
            HeaderValue::from_str(&secure).unwrap(),
        );
        let client_cert = match req.peer_certificates() {
            Some(chain) => format!("{} certificate(s)", chain.len()),
            None => "none".to_owned(),
        };
        req.add_response_header(
            "x-client-cert".parse().unwrap(),
            HeaderValue::from_str(&client_cert).unwrap(),
        );
        Ok(Echo(PhantomData))
    }

    async fn handle(&mut self, caller: &Caller, _: &Arc<Arc<Seen>>, event: Event) -> Reply {
        match event {
            Event::Text(t) => {
                let text = t.as_str();
                if text == "whoami" {
                    let answer = match caller.principal() {
                        Some(p) => format!("{} {}", p.name(), p.scopes().join(",")),
                        None => "anonymous".to_owned(),
                    };
                    Reply::Text(answer.into())
                } else if let Some(claim) = text.strip_prefix("claim:") {
                    let value = caller
                        .principal()
                        .and_then(|p| p.claim(claim))
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "none".into());
                    Reply::Text(value.into())
                } else if text == "secure" {
                    Reply::Text(caller.is_secure().to_string().into())
                } else if text == "compressed" {
                    Reply::Text(caller.is_compressed().to_string().into())
                } else {
                    Reply::Text(t)
                }
            }
            Event::Binary(b) => Reply::Binary(b),
            _ => Reply::None,
        }
    }
}

/// Binds 127.0.0.1:0 with `config`, attaches `Echo<M>` and starts.
pub async fn start<M: 'static>(config: ListenerConfig) -> (Listener, SocketAddr, Arc<Seen>) {
    let listener = Listener::bind_with("127.0.0.1:0", config).await.unwrap();
    let seen = Arc::new(Seen::default());
    listener.attach_with::<Echo<M>>(seen.clone()).unwrap();
    listener.start().unwrap();
    let addr = listener.local_addr();
    (listener, addr, seen)
}

// ---------------------------------------------------------------------------------------------
// Clients

/// Our client: TCP, `ws_framework::tls`, then the WebSocket handshake (what `Client` does for
/// `wss://`). Returns the connection and the 101 response.
pub async fn our_wss(
    addr: SocketAddr,
    host: &str,
    tls: &ClientTlsConfig,
    options: &ConnectOptions,
) -> ws_framework::Result<(WebSocket, Response<()>)> {
    let tcp = TcpStream::connect(addr).await?;
    let stream = ws_framework::tls::connect_tls(tcp, host, tls).await?;
    let uri = format!("wss://{host}:{}/echo", addr.port())
        .parse()
        .unwrap();
    let (ws, driver, response) = ws_framework::stream::connect_stream(stream, &uri, options)
        .await
        .map_err(ws_framework::tls::refine_error)?;
    tokio::spawn(driver);
    Ok((ws, response))
}

/// Our client over plain TCP, with extra headers.
pub async fn our_ws(
    addr: SocketAddr,
    options: &ConnectOptions,
) -> ws_framework::Result<(WebSocket, Response<()>)> {
    let (ws, driver, response) =
        ws_framework::stream::connect(&format!("ws://{addr}/echo"), options).await?;
    tokio::spawn(driver);
    Ok((ws, response))
}

/// Sends `text` and returns the text answer.
pub async fn ask(ws: &WebSocket, text: &str) -> String {
    ws.send(Message::Text(text.to_owned().into()))
        .await
        .unwrap();
    loop {
        match ws.recv().await.unwrap() {
            Incoming::Message(Message::Text(t)) => return t.as_str().to_owned(),
            Incoming::Message(other) => panic!("unexpected {other:?}"),
            Incoming::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Connect options carrying these headers.
pub fn with_headers(headers: &[(&str, &str)]) -> ConnectOptions {
    let mut options = ConnectOptions::default();
    for (name, value) in headers {
        options.headers.insert(
            ws_framework::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    options
}

/// The HTTP status of a refused handshake (or 101 when it succeeded).
pub fn status_of(result: &ws_framework::Result<(WebSocket, Response<()>)>) -> u16 {
    match result {
        Ok(_) => 101,
        Err(ws_framework::Error::InvalidHandshake {
            status: Some(status),
            ..
        }) => status.as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// A rustls client configuration that trusts `ca_pem`, independent of ws-framework.
pub fn rustls_client(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// tokio-tungstenite over a tokio-rustls stream: an independent wss client.
pub async fn tungstenite_wss(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: Request<()>,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    String,
> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tokio_tungstenite::client_async(request, tls)
        .await
        .map_err(|e| e.to_string())
}

/// Sends a text with tokio-tungstenite and returns the text answer.
pub async fn tungstenite_ask<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    text: &str,
) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(TMessage::Text(text.to_owned().into()))
        .await
        .unwrap();
    loop {
        match ws.next().await.expect("connection ended").unwrap() {
            TMessage::Text(t) => return t.to_string(),
            TMessage::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP(S) endpoints

/// A request as an endpoint saw it: the `Authorization` header and the form fields.
#[derive(Clone, Debug, Default)]
pub struct EndpointRequest {
    pub authorization: Option<String>,
    pub form: HashMap<String, String>,
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A rustls server configuration for `leaf`, independent of ws-framework.
pub fn rustls_server(leaf: &Leaf) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    let chain = rustls::pki_types::CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// An HTTP endpoint on 127.0.0.1:0 (HTTPS with `tls`) answering every request with
/// `answer(request)` = (status, JSON body). Returns its base URL (`https://localhost:port` or
/// `http://127.0.0.1:port`) and a count of the requests it got.
pub async fn http_endpoint<F>(tls: Option<&Leaf>, answer: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(EndpointRequest) -> (StatusCode, String) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(answer);
    let acceptor = tls.map(|leaf| tokio_rustls::TlsAcceptor::from(rustls_server(leaf)));
    let base = if acceptor.is_some() {
        format!("https://localhost:{port}")
    } else {
        format!("http://127.0.0.1:{port}")
    };
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let answer = answer.clone();
            let counter = counter.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let answer = answer.clone();
                        let counter = counter.clone();
                        async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let authorization = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let form = std::str::from_utf8(&body)
                                .unwrap()
                                .split('&')
                                .filter(|p| !p.is_empty())
                                .map(|pair| {
                                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                                    (form_decode(k), form_decode(v))
                                })
                                .collect();
                            let (status, json) = answer(EndpointRequest {
                                authorization,
                                form,
                            });
                            let mut resp = Response::new(Full::new(Bytes::from(json)));
                            *resp.status_mut() = status;
                            resp.headers_mut().insert(
                                "content-type",
                                HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            let _ = http.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    (base, hits)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
