//! wss:// end to end: the listener's TLS (certificates from memory and files, mutual TLS,
//! versions, cipher suites, handshake timeout, early misconfiguration errors) and the client
//! TLS of `ws_framework::tls` (trust, host names, versions), with tokio-tungstenite over its own
//! rustls stream as an independent client. Certificates are generated at test time.

mod security_util;

use security_util::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use ws_framework::stream::ConnectOptions;
use ws_framework::tls::{ClientCertMode, ClientTlsConfig, TlsConfig, TlsVersion};
use ws_framework::{Error, ListenerConfig, TlsErrorKind};

fn tls_listener(tls: TlsConfig) -> ListenerConfig {
    ListenerConfig::default().tls(tls)
}

fn kind_of(result: &ws_framework::Result<impl Sized>) -> TlsErrorKind {
    match result {
        Err(e) => e
            .tls_kind()
            .unwrap_or_else(|| panic!("not a TLS error: {e}")),
        Ok(_) => panic!("expected a TLS error, the connection succeeded"),
    }
}

struct Plain;
struct Secure;

#[tokio::test]
async fn wss_echo_with_our_client_and_an_independent_one() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Secure>(tls_listener(pki.server_tls())).await;

        let (ws, response) = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            response.headers()["x-secure"],
            "true",
            "UpgradeRequest::is_secure"
        );
        assert_eq!(ask(&ws, "hello over TLS").await, "hello over TLS");
        assert_eq!(ask(&ws, "secure").await, "true", "Caller::is_secure");

        // By IP address too: the certificate names 127.0.0.1.
        let (ws_ip, _) = our_wss(
            addr,
            "127.0.0.1",
            &pki.client_tls(),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(ask(&ws_ip, "by ip").await, "by ip");

        let request = format!("wss://localhost:{}/echo", addr.port())
            .into_client_request()
            .unwrap();
        let (mut ws, response) = tungstenite_wss(addr, rustls_client(&pki.ca.pem), request)
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(tungstenite_ask(&mut ws, "independent").await, "independent");
        assert_eq!(tungstenite_ask(&mut ws, "secure").await, "true");
    })
    .await;
}

#[tokio::test]
async fn plain_listener_is_not_secure() {
    within(async {
        let (_listener, addr, _) = start::<Plain>(ListenerConfig::default()).await;
        let (ws, response) = our_ws(addr, &ConnectOptions::default()).await.unwrap();
        assert_eq!(response.headers()["x-secure"], "false");
        assert_eq!(ask(&ws, "secure").await, "false");
    })
    .await;
}

struct Files;

#[tokio::test]
async fn certificate_and_key_from_pem_files() {
    within(async {
        let pki = Pki::new();
        let dir = TempDir::new("tls-files");
        let cert = dir.write("cert.pem", &pki.server.cert);
        let key = dir.write("key.pem", &pki.server.key);
        let ca = dir.write("ca.pem", &pki.ca.pem);
        let (_listener, addr, _) =
            start::<Files>(tls_listener(TlsConfig::from_pem_files(&cert, &key))).await;
        let client = ClientTlsConfig::new().ca_file(&ca);
        let (ws, _) = our_wss(addr, "localhost", &client, &ConnectOptions::default())
            .await
            .unwrap();
        assert_eq!(ask(&ws, "from files").await, "from files");
    })
    .await;
}

#[tokio::test]
async fn misconfiguration_fails_when_binding_and_names_the_file() {
    within(async {
        let pki = Pki::new();
        let other = pki.ca.server(&["localhost"]);
        let dir = TempDir::new("tls-misconfig");
        let cert = dir.write("cert.pem", &pki.server.cert);
        let key = dir.write("key.pem", &pki.server.key);
        let other_key = dir.write("other-key.pem", &other.key);
        let garbage = dir.write("garbage.pem", "this is not PEM\n");
        let blank = dir.write("blank.pem", "\n  \n");
        let missing = dir.path("missing.pem");

        let bind = |tls: TlsConfig| async move {
            ws_framework::Listener::bind_with("127.0.0.1:0", tls_listener(tls)).await
        };
        let message = |r: ws_framework::Result<ws_framework::Listener>| match r {
            Err(
                e @ Error::Tls {
                    kind: TlsErrorKind::Config,
                    ..
                },
            ) => e.to_string(),
            Err(e) => panic!("expected a TLS configuration error, got {e}"),
            Ok(_) => panic!("expected a TLS configuration error, the listener started"),
        };

        let m = message(bind(TlsConfig::from_pem_files(&missing, &key)).await);
        assert!(
            m.contains("missing.pem") && m.contains("certificate"),
            "{m}"
        );
        let m = message(bind(TlsConfig::from_pem_files(&cert, &missing)).await);
        assert!(
            m.contains("missing.pem") && m.contains("private key"),
            "{m}"
        );
        let m = message(bind(TlsConfig::from_pem_files("", &key)).await);
        assert!(m.contains("must be provided"), "{m}");
        let m = message(bind(TlsConfig::from_pem_files(&blank, &key)).await);
        assert!(m.contains("blank.pem") && m.contains("empty"), "{m}");
        let m = message(bind(TlsConfig::from_pem_files(&garbage, &key)).await);
        assert!(m.contains("garbage.pem"), "{m}");
        let m = message(bind(TlsConfig::from_pem_files(&cert, &garbage)).await);
        assert!(
            m.contains("garbage.pem") && m.contains("private key"),
            "{m}"
        );
        let m = message(bind(TlsConfig::from_pem_files(&cert, &other_key)).await);
        assert!(
            m.contains("other-key.pem") && m.contains("cert.pem") && m.contains("does not match"),
            "{m}"
        );
        let m =
            message(bind(TlsConfig::from_pem_files(&cert, &key).client_ca_file(&missing)).await);
        assert!(m.contains("missing.pem") && m.contains("CA"), "{m}");
        let m = message(
            bind(TlsConfig::from_pem_files(&cert, &key).client_auth(ClientCertMode::Required))
                .await,
        );
        assert!(m.contains("client_ca_file"), "{m}");
        let m = message(
            bind(TlsConfig::from_pem_files(&cert, &key).cipher_suites(["TLS_NO_SUCH_SUITE"])).await,
        );
        assert!(m.contains("TLS_NO_SUCH_SUITE"), "{m}");

        // The client side fails before connecting, naming its file too.
        let err = ClientTlsConfig::new()
            .ca_file(&missing)
            .build()
            .unwrap_err();
        assert_eq!(err.tls_kind(), Some(TlsErrorKind::Config));
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let err = ClientTlsConfig::new()
            .client_cert_files(&cert, &other_key)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    })
    .await;
}

struct MutualRequired;
struct MutualOptional;

#[tokio::test]
async fn mutual_tls_required_accepts_a_trusted_client_and_refuses_others() {
    within(async {
        let pki = Pki::new();
        let clients = Ca::new("client CA");
        let alice = clients.client("alice");
        let stranger = Ca::new("someone else's CA").client("mallory");
        let (_listener, addr, _) = start::<MutualRequired>(tls_listener(
            pki.server_tls().client_ca_pem(clients.pem.clone()),
        ))
        .await;

        let with_cert = pki
            .client_tls()
            .client_cert_pem(alice.cert.clone(), alice.key.clone());
        let (ws, response) = our_wss(addr, "localhost", &with_cert, &ConnectOptions::default())
            .await
            .unwrap();
        assert_eq!(response.headers()["x-client-cert"], "1 certificate(s)");
        assert_eq!(ask(&ws, "mutual").await, "mutual");

        // No certificate: refused (TLS 1.3 reports it at the first read, after the client's
        // side of the handshake completed).
        let refused = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &ConnectOptions::default(),
        )
        .await;
        assert!(
            matches!(kind_of(&refused), TlsErrorKind::PeerRejected),
            "{:?}",
            refused.err()
        );

        // A certificate from an untrusted CA: refused.
        let untrusted = pki
            .client_tls()
            .client_cert_pem(stranger.cert.clone(), stranger.key.clone());
        let refused = our_wss(addr, "localhost", &untrusted, &ConnectOptions::default()).await;
        assert!(matches!(kind_of(&refused), TlsErrorKind::PeerRejected));

        // And the same over TLS 1.2, where the server refuses during the handshake.
        let tls12 = pki.client_tls().versions([TlsVersion::Tls12]);
        let refused = our_wss(addr, "localhost", &tls12, &ConnectOptions::default()).await;
        assert!(matches!(kind_of(&refused), TlsErrorKind::PeerRejected));
        let tls12_cert = with_cert.clone().versions([TlsVersion::Tls12]);
        let (ws, _) = our_wss(addr, "localhost", &tls12_cert, &ConnectOptions::default())
            .await
            .unwrap();
        assert_eq!(ask(&ws, "mutual 1.2").await, "mutual 1.2");
    })
    .await;
}

#[tokio::test]
async fn mutual_tls_optional_accepts_clients_without_a_certificate() {
    within(async {
        let pki = Pki::new();
        let clients = Ca::new("client CA");
        let alice = clients.client("alice");
        let stranger = Ca::new("someone else's CA").client("mallory");
        let (_listener, addr, _) = start::<MutualOptional>(tls_listener(
            pki.server_tls()
                .client_ca_pem(clients.pem.clone())
                .client_auth(ClientCertMode::Optional),
        ))
        .await;
        let (ws, response) = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &ConnectOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(response.headers()["x-client-cert"], "none");
        assert_eq!(ask(&ws, "no cert").await, "no cert");
        let with_cert = pki.client_tls().client_cert_pem(alice.cert, alice.key);
        let (ws, _) = our_wss(addr, "localhost", &with_cert, &ConnectOptions::default())
            .await
            .unwrap();
        assert_eq!(ask(&ws, "cert").await, "cert");
        let bad = pki
            .client_tls()
            .client_cert_pem(stranger.cert, stranger.key);
        let refused = our_wss(addr, "localhost", &bad, &ConnectOptions::default()).await;
        assert!(matches!(kind_of(&refused), TlsErrorKind::PeerRejected));
    })
    .await;
}

struct Trust;

#[tokio::test]
async fn untrusted_expired_and_misnamed_certificates_are_told_apart() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Trust>(tls_listener(pki.server_tls())).await;
        let options = ConnectOptions::default();

        // The default roots (webpki) do not know the test CA.
        let r = our_wss(addr, "localhost", &ClientTlsConfig::new(), &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::UntrustedCertificate);
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("not signed by a trusted CA"));
        // Nor does another CA.
        let other = ClientTlsConfig::new().ca_pem(Ca::new("other").pem);
        let r = our_wss(addr, "localhost", &other, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::UntrustedCertificate);

        // Trusted, but not for this name.
        let misnamed = pki.client_tls().server_name("chat.example.com");
        let r = our_wss(addr, "localhost", &misnamed, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::HostnameMismatch);
        assert!(
            r.unwrap_err().to_string().contains("localhost"),
            "names what it is valid for"
        );
        // ... which host-name verification off accepts, still checking the chain.
        let lax = misnamed.clone().verify_hostname(false);
        let (ws, _) = our_wss(addr, "localhost", &lax, &options).await.unwrap();
        assert_eq!(ask(&ws, "lax").await, "lax");
        let lax_untrusted = ClientTlsConfig::new().verify_hostname(false);
        let r = our_wss(addr, "localhost", &lax_untrusted, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::UntrustedCertificate);

        // The dangerous switch accepts anything.
        let any = ClientTlsConfig::new()
            .server_name("whatever.invalid")
            .danger_accept_invalid_certs(true);
        let (ws, _) = our_wss(addr, "localhost", &any, &options).await.unwrap();
        assert_eq!(ask(&ws, "danger").await, "danger");
    })
    .await;
}

struct Expired;

#[tokio::test]
async fn an_expired_server_certificate_is_invalid() {
    within(async {
        let pki = Pki::new();
        let expired = pki.ca.expired_server(&["localhost"]);
        let (_listener, addr, _) =
            start::<Expired>(tls_listener(TlsConfig::from_pem(expired.cert, expired.key))).await;
        let r = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &ConnectOptions::default(),
        )
        .await;
        assert_eq!(kind_of(&r), TlsErrorKind::InvalidCertificate);
    })
    .await;
}

struct Only13;
struct Only12;

#[tokio::test]
async fn tls_version_mismatch_is_reported_as_such() {
    within(async {
        let pki = Pki::new();
        let options = ConnectOptions::default();
        let (_l13, addr13, _) =
            start::<Only13>(tls_listener(pki.server_tls().versions([TlsVersion::Tls13]))).await;
        let (_l12, addr12, _) =
            start::<Only12>(tls_listener(pki.server_tls().versions([TlsVersion::Tls12]))).await;

        let client12 = pki.client_tls().versions([TlsVersion::Tls12]);
        let client13 = pki.client_tls().versions([TlsVersion::Tls13]);
        let r = our_wss(addr13, "localhost", &client12, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::ProtocolVersion);
        let r = our_wss(addr12, "localhost", &client13, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::ProtocolVersion);

        let (ws, _) = our_wss(addr12, "localhost", &client12, &options)
            .await
            .unwrap();
        assert_eq!(ask(&ws, "1.2").await, "1.2");
        let (ws, _) = our_wss(addr13, "localhost", &client13, &options)
            .await
            .unwrap();
        assert_eq!(ask(&ws, "1.3").await, "1.3");
        let (ws, _) = our_wss(addr12, "localhost", &pki.client_tls(), &options)
            .await
            .unwrap();
        assert_eq!(ask(&ws, "negotiated").await, "negotiated");
    })
    .await;
}

struct Suites;

#[tokio::test]
async fn cipher_suites_are_selectable() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Suites>(tls_listener(
            pki.server_tls().cipher_suites(["TLS13_AES_256_GCM_SHA384"]),
        ))
        .await;
        let options = ConnectOptions::default();
        let same = pki.client_tls().cipher_suites(["TLS_AES_256_GCM_SHA384"]);
        let (ws, _) = our_wss(addr, "localhost", &same, &options).await.unwrap();
        assert_eq!(ask(&ws, "suite").await, "suite");
        let other = pki.client_tls().cipher_suites(["TLS13_AES_128_GCM_SHA256"]);
        let r = our_wss(addr, "localhost", &other, &options).await;
        assert_eq!(kind_of(&r), TlsErrorKind::PeerRejected);
    })
    .await;
}

struct Compressed;

#[tokio::test]
async fn compression_works_over_tls() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Compressed>(tls_listener(pki.server_tls())).await;
        let (ws, response) = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &ConnectOptions::with_compression(),
        )
        .await
        .unwrap();
        assert!(response
            .headers()
            .get("sec-websocket-extensions")
            .is_some_and(|v| v.to_str().unwrap().contains("permessage-deflate")));
        assert_eq!(ask(&ws, "compressed").await, "true");
        let big = "compress me ".repeat(20_000);
        assert_eq!(ask(&ws, &big).await, big);
    })
    .await;
}

struct Timeout;

#[tokio::test]
async fn a_stalled_tls_handshake_is_cut_after_the_timeout() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Timeout>(tls_listener(
            pki.server_tls()
                .handshake_timeout(Duration::from_millis(300)),
        ))
        .await;
        // Connect and say nothing: the server must hang up by itself.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("the server kept a silent connection open")
            .unwrap_or(0);
        assert_eq!(n, 0, "expected the server to close the connection");

        // Plain HTTP to a TLS port does not get an HTTP answer either.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
        assert!(!answer.starts_with(b"HTTP/1.1 101"));
    })
    .await;
}

#[tokio::test]
async fn the_high_level_client_speaks_wss() {
    within(async {
        let pki = Pki::new();
        let (_listener, addr, _) = start::<Secure>(tls_listener(pki.server_tls())).await;
        let url = format!("wss://localhost:{}/echo", addr.port());
        let client = ws_framework::Client::builder(url.as_str())
            .tls(pki.client_tls())
            .connect()
            .await
            .unwrap();
        assert!(client.is_secure());
        client.write_text("hello").await.unwrap();
        assert_eq!(client.read_text().await.unwrap(), "hello");
        client.write_text("secure").await.unwrap();
        assert_eq!(
            client.read_text().await.unwrap(),
            "true",
            "Caller::is_secure"
        );
        client.close(1000, "done", None).await.unwrap();

        // Without trusting the test CA, the server's certificate is untrusted.
        let refused = ws_framework::Client::builder(url.as_str()).connect().await;
        assert_eq!(kind_of(&refused), TlsErrorKind::UntrustedCertificate);
    })
    .await;
}
