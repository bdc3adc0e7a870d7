//! TLS for `wss://`, with rustls (the `ring` provider): the listener's [`TlsConfig`] and the
//! client's [`ClientTlsConfig`].
//!
//! Both are plain settings, checked when they are built: [`crate::Listener::bind_with`] builds
//! the listener's and fails with [`Error::Tls`] of kind [`TlsErrorKind::Config`], naming the
//! file, when a certificate or key is missing, blank, unreadable or does not match; a client
//! builds its [`TlsConnector`] before connecting.
//!
//! A server with a certificate from files, requiring client certificates signed by a CA:
//!
//! ```no_run
//! # async fn run() -> ws_framework::Result<()> {
//! use ws_framework::tls::{TlsConfig, TlsVersion};
//! use ws_framework::{Listener, ListenerConfig};
//!
//! let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")
//!     .client_ca_file("clients-ca.pem")
//!     .versions([TlsVersion::Tls13]);
//! let listener = Listener::bind_with("0.0.0.0:9443", ListenerConfig::default().tls(tls)).await?;
//! # Ok(()) }
//! ```
//!
//! A client trusting a private CA and presenting a certificate:
//!
//! ```no_run
//! # async fn run() -> ws_framework::Result<()> {
//! use ws_framework::tls::ClientTlsConfig;
//!
//! let tls = ClientTlsConfig::new()
//!     .ca_file("ca.pem")
//!     .client_cert_files("client.pem", "client-key.pem");
//! let tcp = tokio::net::TcpStream::connect("localhost:9443").await?;
//! let stream = tls.build()?.connect("localhost", tcp).await?;
//! # drop(stream); Ok(()) }
//! ```

use crate::error::{Error, Result, TlsErrorKind};
use crate::pem::PemSource;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// The ALPN protocol both sides announce: the upgrade is an HTTP/1.1 request.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Default time a client has to complete the TLS handshake with the listener: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            Self::Tls12 => &rustls::version::TLS12,
            Self::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// Whether the listener asks clients for a certificate (mutual TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClientCertMode {
    /// No client certificate is asked for (default without a client CA).
    #[default]
    None,
    /// A client may present a certificate; if it does, it must be signed by a trusted CA.
    Optional,
    /// A client must present a certificate signed by a trusted CA (default with a client CA).
    Required,
}

fn config_error(message: impl Into<String>) -> Error {
    Error::tls(TlsErrorKind::Config, message)
}

/// The `ring` provider, restricted to the named cipher suites when some are given.
fn provider(cipher_suites: &[String]) -> Result<Arc<CryptoProvider>> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !cipher_suites.is_empty() {
        let name_of = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
        let mut chosen = Vec::new();
        for wanted in cipher_suites {
            let wanted_norm = normalise_suite(wanted);
            match provider
                .cipher_suites
                .iter()
                .find(|s| name_of(s).eq_ignore_ascii_case(&wanted_norm))
            {
                Some(suite) => chosen.push(*suite),
                None => {
                    let known: Vec<String> = provider.cipher_suites.iter().map(name_of).collect();
                    return Err(config_error(format!(
                        "unknown cipher suite `{wanted}`; known: {}",
                        known.join(", ")
                    )));
                }
            }
        }
        provider.cipher_suites = chosen;
    }
    Ok(Arc::new(provider))
}

/// IANA names of TLS 1.3 suites (`TLS_AES_128_GCM_SHA256`) to rustls' (`TLS13_AES_...`).
fn normalise_suite(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.strip_prefix("TLS_") {
        Some(rest) if rest.starts_with("AES_") || rest.starts_with("CHACHA20_") => {
            format!("TLS13_{rest}")
        }
        _ => upper,
    }
}

fn versions(selected: &[TlsVersion]) -> Result<Vec<&'static SupportedProtocolVersion>> {
    if selected.is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out: Vec<&'static SupportedProtocolVersion> = Vec::new();
    for v in selected {
        if !out.iter().any(|o| o.version == v.rustls().version) {
            out.push(v.rustls());
        }
    }
    Ok(out)
}

fn roots_from(sources: &[PemSource], what: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for source in sources {
        for cert in source.certificates(what).map_err(config_error)? {
            roots.add(cert).map_err(|e| {
                config_error(format!(
                    "the {} holds a certificate that cannot be a trust anchor: {e}",
                    source.describe(what)
                ))
            })?;
        }
    }
    Ok(roots)
}

// ---------------------------------------------------------------------------------------------
// Listener side

/// The listener's TLS settings (Ballerina's `ListenerSecureSocket`): a certificate chain and
/// its private key, optional mutual TLS, versions, cipher suites and a handshake timeout.
///
/// ALPN announces `http/1.1`. Files are read when the listener is bound.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    cert: PemSource,
    key: PemSource,
    client_cas: Vec<PemSource>,
    client_auth: Option<ClientCertMode>,
    versions: Vec<TlsVersion>,
    cipher_suites: Vec<String>,
    handshake_timeout: Duration,
}

impl TlsConfig {
    /// A certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1), from PEM
    /// files.
    pub fn from_pem_files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self::with_sources(PemSource::file(cert), PemSource::file(key))
    }

    /// A certificate chain and its private key, from PEM text in memory.
    pub fn from_pem(cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        Self::with_sources(PemSource::memory(cert), PemSource::memory(key))
    }

    fn with_sources(cert: PemSource, key: PemSource) -> Self {
        Self {
            cert,
            key,
            client_cas: Vec::new(),
            client_auth: None,
            versions: Vec::new(),
            cipher_suites: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Trusts client certificates signed by the CA certificates in this PEM file; client
    /// certificates become required unless [`TlsConfig::client_auth`] says otherwise.
    pub fn client_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_cas.push(PemSource::file(path));
        self
    }

    /// Like [`TlsConfig::client_ca_file`], with PEM text in memory.
    pub fn client_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.client_cas.push(PemSource::memory(pem));
        self
    }

    /// Whether client certificates are required, optional or not asked for. `Optional` and
    /// `Required` need a client CA.
    pub fn client_auth(mut self, mode: ClientCertMode) -> Self {
        self.client_auth = Some(mode);
        self
    }

    /// The TLS versions accepted (default: 1.2 and 1.3).
    pub fn versions(mut self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        self.versions = versions.into_iter().collect();
        self
    }

    /// The cipher suites accepted, by name, e.g. `TLS13_AES_256_GCM_SHA384` (or its IANA name
    /// `TLS_AES_256_GCM_SHA384`) and `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`. Default: rustls'
    /// safe defaults. An unknown name fails the listener's start.
    pub fn cipher_suites<I, S>(mut self, suites: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cipher_suites = suites.into_iter().map(Into::into).collect();
        self
    }

    /// How long a client has to complete the TLS handshake (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    fn mode(&self) -> ClientCertMode {
        self.client_auth.unwrap_or(if self.client_cas.is_empty() {
            ClientCertMode::None
        } else {
            ClientCertMode::Required
        })
    }

    /// Reads the files and builds the rustls configuration; every misconfiguration is an
    /// [`Error::Tls`] of kind [`TlsErrorKind::Config`] naming the file.
    pub fn check(&self) -> Result<()> {
        self.server_config().map(drop)
    }

    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let chain = self
            .cert
            .certificates("certificate")
            .map_err(config_error)?;
        let key = self.key.private_key("private key").map_err(config_error)?;
        let provider = provider(&self.cipher_suites)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions(&self.versions)?)
            .map_err(|e| config_error(format!("cannot use these TLS versions: {e}")))?;
        let mode = self.mode();
        let builder = match mode {
            ClientCertMode::None => builder.with_no_client_auth(),
            ClientCertMode::Optional | ClientCertMode::Required => {
                if self.client_cas.is_empty() {
                    return Err(config_error(
                        "mutual TLS needs the trusted CA certificate file location (client_ca_file)",
                    ));
                }
                let roots = roots_from(&self.client_cas, "trusted CA certificate")?;
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if mode == ClientCertMode::Optional {
                    verifier = verifier.allow_unauthenticated();
                }
                let verifier = verifier
                    .build()
                    .map_err(|e| config_error(format!("cannot verify client certificates: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            config_error(match e {
                rustls::Error::InconsistentKeys(_) => format!(
                    "the {} does not match the {}",
                    self.key.describe("private key"),
                    self.cert.describe("certificate")
                ),
                other => format!(
                    "cannot use the {} with the {}: {other}",
                    self.key.describe("private key"),
                    self.cert.describe("certificate")
                ),
            })
        })?;
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(Arc::new(config))
    }
}

/// What the listener uses for each accepted connection.
#[derive(Clone)]
pub(crate) struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
    handshake_timeout: Duration,
}

impl ServerTls {
    pub(crate) fn new(config: &TlsConfig) -> Result<Self> {
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(config.server_config()?),
            handshake_timeout: config.handshake_timeout,
        })
    }

    /// The server side of the handshake, bounded by the handshake timeout.
    pub(crate) async fn accept<IO>(&self, io: IO) -> Result<tokio_rustls::server::TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(io)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(classify_io(e, "client")),
            Err(_) => Err(Error::tls(
                TlsErrorKind::HandshakeTimeout,
                format!(
                    "the client did not complete the TLS handshake within {:?}",
                    self.handshake_timeout
                ),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

#[derive(Clone, Debug, PartialEq, Eq)]
enum Roots {
    WebPki,
    Native,
}

/// The client's TLS settings (Ballerina's `ClientSecureSocket`): which CAs to trust, a client
/// certificate for mutual TLS, host-name verification, versions and cipher suites.
///
/// By default the Mozilla roots shipped with `webpki-roots` are trusted and the host name is
/// verified.
#[derive(Clone, Debug)]
pub struct ClientTlsConfig {
    roots: Roots,
    cas: Vec<PemSource>,
    client_cert: Option<(PemSource, PemSource)>,
    verify_hostname: bool,
    accept_invalid_certs: bool,
    versions: Vec<TlsVersion>,
    cipher_suites: Vec<String>,
    server_name: Option<String>,
}

impl Default for ClientTlsConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientTlsConfig {
    /// The defaults: webpki roots, host-name verification on, TLS 1.2 and 1.3.
    pub fn new() -> Self {
        Self {
            roots: Roots::WebPki,
            cas: Vec::new(),
            client_cert: None,
            verify_hostname: true,
            accept_invalid_certs: false,
            versions: Vec::new(),
            cipher_suites: Vec::new(),
            server_name: None,
        }
    }

    /// Trusts the platform's certificate store instead of the webpki roots.
    pub fn native_roots(mut self) -> Self {
        self.roots = Roots::Native;
        self
    }

    /// Trusts the CA certificates in this PEM file *instead of* the default roots (call it
    /// again to trust several files).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cas.push(PemSource::file(path));
        self
    }

    /// Like [`ClientTlsConfig::ca_file`], with PEM text in memory.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.cas.push(PemSource::memory(pem));
        self
    }

    /// Presents this certificate chain and private key when the server asks (mutual TLS).
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((PemSource::file(cert), PemSource::file(key)));
        self
    }

    /// Like [`ClientTlsConfig::client_cert_files`], with PEM text in memory.
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert = Some((PemSource::memory(cert), PemSource::memory(key)));
        self
    }

    /// Whether the server's certificate must name the host connected to (default on). Turning
    /// it off still checks that the certificate chains to a trusted CA.
    pub fn verify_hostname(mut self, on: bool) -> Self {
        self.verify_hostname = on;
        self
    }

    /// Accepts any server certificate, trusted or not, for any name (Ballerina's
    /// `secureSocket: {enable: false}`). The connection is encrypted but not authenticated:
    /// anyone in the middle can read it. For tests only.
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.accept_invalid_certs = on;
        self
    }

    /// The TLS versions offered (default: 1.2 and 1.3).
    pub fn versions(mut self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        self.versions = versions.into_iter().collect();
        self
    }

    /// The cipher suites offered, by name (see [`TlsConfig::cipher_suites`]).
    pub fn cipher_suites<I, S>(mut self, suites: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cipher_suites = suites.into_iter().map(Into::into).collect();
        self
    }

    /// Sends and verifies this name (SNI) instead of the URL's host.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Reads the files and builds the connector; an [`Error::Tls`] of kind
    /// [`TlsErrorKind::Config`] names the file that is wrong.
    pub fn build(&self) -> Result<TlsConnector> {
        let provider = provider(&self.cipher_suites)?;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions(&self.versions)?)
            .map_err(|e| config_error(format!("cannot use these TLS versions: {e}")))?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
        } else {
            let roots = if !self.cas.is_empty() {
                roots_from(&self.cas, "trusted CA certificate")?
            } else if self.roots == Roots::Native {
                let loaded = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
                if added == 0 {
                    return Err(config_error(format!(
                        "no usable certificate found in the platform's certificate store{}",
                        loaded
                            .errors
                            .first()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    )));
                }
                roots
            } else {
                RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                }
            };
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| config_error(format!("cannot verify server certificates: {e}")))?;
            if self.verify_hostname {
                builder.with_webpki_verifier(verifier)
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(NoHostnameVerification(verifier)))
            }
        };
        let mut config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = cert
                    .certificates("client certificate")
                    .map_err(config_error)?;
                let private = key
                    .private_key("client private key")
                    .map_err(config_error)?;
                builder.with_client_auth_cert(chain, private).map_err(|e| {
                    config_error(match e {
                        rustls::Error::InconsistentKeys(_) => format!(
                            "the {} does not match the {}",
                            key.describe("client private key"),
                            cert.describe("client certificate")
                        ),
                        other => format!(
                            "cannot use the {} with the {}: {other}",
                            key.describe("client private key"),
                            cert.describe("client certificate")
                        ),
                    })
                })?
            }
        };
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(TlsConnector {
            config: Arc::new(config),
            server_name: self.server_name.clone(),
        })
    }
}

/// A built client TLS configuration: cheap to clone, used for every connection (and reconnect).
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Performs the client side of the TLS handshake over `io` (a connected TCP stream), for
    /// `host` (a DNS name or an IP address; the configured server name wins).
    ///
    /// Errors are [`Error::Tls`] whose kind tells an untrusted certificate, a host-name
    /// mismatch and a version mismatch apart. There is no timeout here: the client's handshake
    /// timeout bounds it.
    pub async fn connect<IO>(
        &self,
        host: &str,
        io: IO,
    ) -> Result<tokio_rustls::client::TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(name.to_owned()).map_err(|_| {
            Error::tls(
                TlsErrorKind::Config,
                format!("`{name}` is not a valid DNS name or IP address for TLS"),
            )
        })?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(server_name, io)
            .await
            .map_err(|e| classify_io(e, &format!("`{name}`")))
    }
}

/// Builds `config` and performs the TLS handshake over `tcp` for `host`: the one-call form of
/// [`ClientTlsConfig::build`] + [`TlsConnector::connect`].
pub async fn connect_tls<IO>(
    io: IO,
    host: &str,
    config: &ClientTlsConfig,
) -> Result<tokio_rustls::client::TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    config.build()?.connect(host, io).await
}

/// Turns an [`Error::Connection`] that really is a TLS failure reported after the handshake
/// (a server that refused our client certificate says so at the first read under TLS 1.3)
/// into an [`Error::Tls`]; any other error is returned as it is.
pub fn refine_error(error: Error) -> Error {
    match error {
        Error::Connection(io) if rustls_error(&io).is_some() => classify_io(io, "server"),
        other => other,
    }
}

fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// An I/O error from a TLS stream, as an [`Error::Tls`] with its kind (or
/// [`Error::Connection`] when it is not a TLS failure).
pub(crate) fn classify_io(e: std::io::Error, peer: &str) -> Error {
    let Some(tls) = rustls_error(&e) else {
        return Error::Connection(e);
    };
    let kind = classify(tls);
    let detail = match (kind, tls) {
        (
            TlsErrorKind::HostnameMismatch,
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
                expected,
                presented,
            }),
        ) => format!(
            "the certificate of {peer} is not valid for {expected:?}; it names {}",
            presented.join(", ")
        ),
        (TlsErrorKind::HostnameMismatch, _) => {
            format!("the certificate of {peer} is not valid for the name connected to")
        }
        (TlsErrorKind::UntrustedCertificate, _) => format!(
            "the certificate of {peer} is not signed by a trusted CA (unable to find a valid certification path)"
        ),
        (TlsErrorKind::ProtocolVersion, _) => {
            format!("no TLS version in common with {peer} ({tls})")
        }
        (TlsErrorKind::PeerRejected, _) => format!("{peer} refused the TLS handshake ({tls})"),
        _ => format!("TLS handshake with {peer} failed: {tls}"),
    };
    Error::tls(kind, detail)
}

fn classify(e: &rustls::Error) -> TlsErrorKind {
    use rustls::{AlertDescription as A, CertificateError as C, PeerIncompatible as P};
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => TlsErrorKind::UntrustedCertificate,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsErrorKind::HostnameMismatch,
            _ => TlsErrorKind::InvalidCertificate,
        },
        rustls::Error::AlertReceived(A::ProtocolVersion) => TlsErrorKind::ProtocolVersion,
        rustls::Error::AlertReceived(_) => TlsErrorKind::PeerRejected,
        rustls::Error::PeerIncompatible(p) => match p {
            P::ServerTlsVersionIsDisabledByOurConfig
            | P::ServerDoesNotSupportTls12Or13
            | P::Tls12NotOffered
            | P::Tls12NotOfferedOrEnabled
            | P::SupportedVersionsExtensionRequired => TlsErrorKind::ProtocolVersion,
            _ => TlsErrorKind::PeerRejected,
        },
        rustls::Error::NoCertificatesPresented => TlsErrorKind::PeerRejected,
        _ => TlsErrorKind::Other,
    }
}

/// Chain verification without the host-name check.
#[derive(Debug)]
struct NoHostnameVerification(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameVerification {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Accepts any certificate; still checks the handshake signatures (so the peer holds the key
/// of the certificate it sent).
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_are_normalised() {
        assert_eq!(
            normalise_suite("tls_aes_128_gcm_sha256"),
            "TLS13_AES_128_GCM_SHA256"
        );
        assert_eq!(
            normalise_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert!(provider(&["TLS_AES_128_GCM_SHA256".into()]).is_ok());
        let err = provider(&["TLS_NOPE".into()]).unwrap_err();
        assert_eq!(err.tls_kind(), Some(TlsErrorKind::Config));
    }

    #[test]
    fn native_roots_load_or_say_why() {
        // Machines differ: either the platform store loads or the error says it is empty.
        if let Err(e) = ClientTlsConfig::new().native_roots().build() {
            assert_eq!(e.tls_kind(), Some(TlsErrorKind::Config));
            assert!(e.to_string().contains("platform"), "{e}");
        }
    }

    #[test]
    fn missing_files_are_named() {
        let err = TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
            .check()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
        let err = TlsConfig::from_pem_files("  ", "key.pem")
            .check()
            .unwrap_err();
        assert!(err.to_string().contains("must be provided"), "{err}");
    }
}
