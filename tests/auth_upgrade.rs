//! Declarative authentication at the upgrade: Basic against a user store, Bearer JWTs (HS256,
//! RS256, ES256), OAuth2 introspection over HTTPS with its cache, several providers in order;
//! 401 with `WWW-Authenticate`, 403 without a required scope; the principal as the upgrade
//! hook and the handlers see it. The introspection endpoint is a real HTTPS server on
//! 127.0.0.1.

mod security_util;

use security_util::*;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as TError;
use ws_framework::auth::{
    hash_password_with_iterations, Auth, AuthProvider, ClientAuth, Introspection, JwtIssuer,
    JwtKey, JwtValidator, User, UserStore,
};
use ws_framework::http::StatusCode;
use ws_framework::{ListenerConfig, ServiceConfig};

const SECRET: &[u8] = b"a shared secret of at least 32 bytes!";

const RSA_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC0X0PZda9S1coW
9ESuCrZKo4r++E+IXMlHemSQno3f01kk7AikmE598hMlp5t4ZF6sAuBTuzI6m0Ps
8M0UiFnm34gM1I0As7exXzI4Fp0f5agqyKPpvcI+t2/Llf9N1OaK7llJn4daxopr
psj5YC436A2o7V1eCv3yKEF8KUJohhAGMWy0kBNNb4J10B4amVjXvcNMK2PDrqK5
urgeUh4Vjb35AevVm2kjK7GFUBr50ENeDIAQHVeTVcuAgUe5f/BlF/m1jkSJ1G9S
3bkl8wAHKQRpipg5LfJnYzXqYwJqA9zWB3feryqbN4DG+hOhyMn1E463y5BAf7+Z
drBbc5QZAgMBAAECggEAIJYVa/QW+KAnIn5+6fKFfHaPZgD2XWxl8MPr5zS97PIB
6Om7pgDeLWLOkr71F4sKj4j1fisTqALlAql+Y3c+xrcbnTXJQ5c0WJcaO4faWyji
eNhGxLPDpBD/4Yf319fezrrA5swrZ/r2hvxa0rLNpswFq782XwcdWeJr8kKB/N/t
UJfZWGwRIgEGmWLgWef5hCFWZ9KtcyvkqZ3pClkL+stibRhOPBFOWrl+oS6yTMOO
buDMt5HiM3AaePhnoAiOJ7/9+FE+yZ0NGGd/HzUqR98gzoGo1DmkZKXIQeodjUyf
X9VVFK2sKdPUNdZDJRhnJAPb/uwj1kLfqyQm3VlRAQKBgQDyVWXVxHSi+2RgWs0D
amgcxn+wQvvE5Mr2v+l7fpIDnE4r78U+WR0jCD8hoB293Q9iVBhfWpv7WsrZAXCf
Ki7C8VAC9A1vM346fgw6RfYLcls0HUw9C04GcXaudphqyr9xLZJkgEzcUpgx4DfX
jJZpfykzhNMOl+0DgYt9BjNiwwKBgQC+i1JLK34sNfmmYLA2bvl2nc7MQ8zpd/D+
iaza44K78oQgunmqRzo+O/cVi6eQaRSzqtXHnrQAxq09t2RdTp8N9u9HLn5CE1Au
I/DQX4yp68dmJMCeguyJDpyuuUZz1FKtHlK4g6/HjG2Iz7MqMakeHc6uKn37YSnI
77TX+IiH8wKBgFP2eME3Pz5VIfMsosnjLU2DDSzSGI+gwh36YnhSY17y4jbg7ZNr
pufDbLRG2Oc216S3BHbNWywcyhmkIRRUtjz/BTzwuFLmIX88uxnZsaVHqwgEeqzP
5OngmEFcf/TIaMpbAtTlizvvNiJZ0J9Ta64DzA+4nrP4ubs0QFNCOb2nAoGBAJxJ
9H8Zto0W3KW+aurLDa1gdS4QcrQRIEf3ryN/N01n9z5NFdw4PiqrztgKS6/ksQlJ
l737i5OTYqfbk+QAx++RWuRc20zhQIQIEM8pgFwju9MpVCDwLImixZt+9q2tOv8q
fxk/Ul/v7CwqiL+UKi48rrkmu10EblyVWRVIktxHAoGAdvWg9jVsO6vonOHiRbtU
pHG9SKotmTfFAdubQWRmg1i3q9hxITXlf4pS4+xzmeL7jPWy7Y/7wyZYWdksp8Vc
shTqL9b0KVyQh3mYqXoj47HptYSUyLgB4E+jclbVJet9A/F9w0EmN6zc0SdSvyM3
LNDjHv6GwM3bo/oLSBoQmd4=
-----END PRIVATE KEY-----
";

const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtF9D2XWvUtXKFvRErgq2
SqOK/vhPiFzJR3pkkJ6N39NZJOwIpJhOffITJaebeGRerALgU7syOptD7PDNFIhZ
5t+IDNSNALO3sV8yOBadH+WoKsij6b3CPrdvy5X/TdTmiu5ZSZ+HWsaKa6bI+WAu
N+gNqO1dXgr98ihBfClCaIYQBjFstJATTW+CddAeGplY173DTCtjw66iubq4HlIe
FY29+QHr1ZtpIyuxhVAa+dBDXgyAEB1Xk1XLgIFHuX/wZRf5tY5EidRvUt25JfMA
BykEaYqYOS3yZ2M16mMCagPc1gd33q8qmzeAxvoTocjJ9ROOt8uQQH+/mXawW3OU
GQIDAQAB
-----END PUBLIC KEY-----
";

/// What tokio-tungstenite sees of a refused upgrade: status, `WWW-Authenticate` values, body.
async fn refusal(addr: SocketAddr, authorization: Option<&str>) -> (u16, Vec<String>, String) {
    let mut request = format!("ws://{addr}/echo").into_client_request().unwrap();
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("authorization", value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(TError::Http(resp)) => {
            let challenges = resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (resp.status().as_u16(), challenges, body)
        }
        Ok(_) => (101, Vec::new(), String::new()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// `Basic base64(user:password)`, as the client credentials produce it.
async fn basic(user: &str, password: &str) -> String {
    ClientAuth::basic(user, password)
        .authorization()
        .await
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Connects with an `Authorization` header; returns the status (101 on success) and, when
/// open, the answer to `whoami` and the `x-principal` header the hook set.
async fn whoami(addr: SocketAddr, authorization: &str) -> (u16, String, String) {
    let r = our_ws(addr, &with_headers(&[("authorization", authorization)])).await;
    let status = status_of(&r);
    match r {
        Ok((ws, response)) => {
            let header = response.headers()["x-principal"]
                .to_str()
                .unwrap()
                .to_owned();
            (status, ask(&ws, "whoami").await, header)
        }
        Err(_) => (status, String::new(), String::new()),
    }
}

fn store() -> UserStore {
    UserStore::new()
        .user(
            User::new("alice", hash_password_with_iterations("wonderland", 1000))
                .scopes(["chat", "admin"]),
        )
        .user(User::new("bob", hash_password_with_iterations("builder", 1000)).scopes(["read"]))
}

struct BasicAuth;

#[tokio::test]
async fn basic_against_a_user_store() {
    within(async {
        register::<BasicAuth>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([AuthProvider::basic(store())])
                    .scopes(["chat"])
                    .realm("test realm"),
            ),
        );
        let (_listener, addr, seen) = start::<BasicAuth>(ListenerConfig::default()).await;

        let (status, answer, header) = whoami(addr, &basic("alice", "wonderland").await).await;
        assert_eq!(status, 101);
        assert_eq!(answer, "alice chat,admin", "the handler sees the principal");
        assert_eq!(header, "alice", "the upgrade hook sees the principal");
        assert_eq!(seen.hook_runs.load(Ordering::SeqCst), 1);

        let (status, challenges, _) = refusal(addr, None).await;
        assert_eq!(status, 401);
        assert_eq!(challenges, ["Basic realm=\"test realm\""]);
        for wrong in [
            basic("alice", "Wonderland").await,
            basic("carol", "wonderland").await,
            "Basic not-base64!".to_owned(),
            "Bearer some-token".to_owned(),
        ] {
            let (status, challenges, _) = refusal(addr, Some(&wrong)).await;
            assert_eq!(status, 401, "{wrong}");
            assert!(!challenges.is_empty());
        }
        // Valid, but without the `chat` scope.
        let (status, _, body) = refusal(addr, Some(&basic("bob", "builder").await)).await;
        assert_eq!(status, 403);
        assert!(body.contains("chat"), "{body}");
        assert_eq!(
            seen.hook_runs.load(Ordering::SeqCst),
            1,
            "no hook for refused requests"
        );
    })
    .await;
}

struct BasicFile;
struct BasicMissingFile;

#[tokio::test]
async fn basic_with_a_user_file_checked_at_attach() {
    within(async {
        let dir = TempDir::new("users");
        let file = dir.write(
            "users.txt",
            format!(
                "# name:hash:scopes\ncarol:{}:chat\n",
                hash_password_with_iterations("s3cret", 1000)
            ),
        );
        register::<BasicFile>(ServiceConfig::new("/echo").auth(Auth::providers([
            AuthProvider::basic(UserStore::from_file(&file)),
        ])));
        let (_listener, addr, _) = start::<BasicFile>(ListenerConfig::default()).await;
        let (status, answer, _) = whoami(addr, &basic("carol", "s3cret").await).await;
        assert_eq!((status, answer.as_str()), (101, "carol chat"));

        register::<BasicMissingFile>(ServiceConfig::new("/echo").auth(Auth::providers([
            AuthProvider::basic(UserStore::from_file(dir.path("nope.txt"))),
        ])));
        let listener = ws_framework::Listener::bind("127.0.0.1:0").await.unwrap();
        let err = listener
            .attach_with::<Echo<BasicMissingFile>>(Default::default())
            .unwrap_err();
        assert!(err.to_string().contains("nope.txt"), "{err}");
    })
    .await;
}

struct Jwt;

#[tokio::test]
async fn bearer_jwt_hs256_with_issuer_audience_expiry_and_scopes() {
    within(async {
        register::<Jwt>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([AuthProvider::jwt(
                    JwtValidator::new(JwtKey::hs256(SECRET))
                        .issuer("https://idp.test")
                        .audience(["chat-service"])
                        .leeway(Duration::from_secs(5)),
                )])
                .scopes(["chat:write"]),
            ),
        );
        let (_listener, addr, seen) = start::<Jwt>(ListenerConfig::default()).await;
        let issuer = JwtIssuer::new(JwtKey::hs256(SECRET))
            .issuer("https://idp.test")
            .subject("alice")
            .audience(["chat-service"])
            .scopes(["chat:read", "chat:write"])
            .claim("tenant", "acme");
        let token = issuer.issue().unwrap();

        let (status, answer, header) = whoami(addr, &format!("Bearer {token}")).await;
        assert_eq!(status, 101);
        assert_eq!(answer, "alice chat:read,chat:write");
        assert_eq!(header, "alice");
        let (ws, _) = our_ws(
            addr,
            &with_headers(&[("authorization", &format!("Bearer {token}"))]),
        )
        .await
        .unwrap();
        assert_eq!(ask(&ws, "claim:tenant").await, "\"acme\"");
        assert_eq!(ask(&ws, "claim:iss").await, "\"https://idp.test\"");

        // Expired (beyond the leeway).
        let expired = issuer
            .clone()
            .claim("exp", now_secs() - 60)
            .issue()
            .unwrap();
        let (status, challenges, body) = refusal(addr, Some(&format!("Bearer {expired}"))).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenges,
            ["Bearer realm=\"ws-framework\", error=\"invalid_token\""]
        );
        assert!(body.contains("expired"), "{body}");
        // Expired, but within the leeway.
        let recent = issuer.clone().claim("exp", now_secs() - 1).issue().unwrap();
        assert_eq!(whoami(addr, &format!("Bearer {recent}")).await.0, 101);

        for bad in [
            issuer.clone().issuer("https://other.test").issue().unwrap(),
            issuer
                .clone()
                .audience(["another-service"])
                .issue()
                .unwrap(),
            JwtIssuer::new(JwtKey::hs256(b"the wrong secret".to_vec()))
                .issuer("https://idp.test")
                .audience(["chat-service"])
                .issue()
                .unwrap(),
            issuer
                .clone()
                .claim("nbf", now_secs() + 3600)
                .issue()
                .unwrap(),
            "not.a.jwt".to_owned(),
        ] {
            assert_eq!(
                refusal(addr, Some(&format!("Bearer {bad}"))).await.0,
                401,
                "{bad}"
            );
        }

        // Valid, without the scope.
        let reader = issuer.clone().scopes(["chat:read"]).issue().unwrap();
        let (status, challenges, _) = refusal(addr, Some(&format!("Bearer {reader}"))).await;
        assert_eq!(status, 403);
        assert_eq!(
            challenges,
            ["Bearer realm=\"ws-framework\", error=\"insufficient_scope\", scope=\"chat:write\""]
        );
        // Missing header.
        let (status, challenges, _) = refusal(addr, None).await;
        assert_eq!((status, challenges.len()), (401, 1));
        assert_eq!(seen.hook_runs.load(Ordering::SeqCst), 3);
    })
    .await;
}

struct Rs256;
struct Es256;

#[tokio::test]
async fn bearer_jwt_rs256_and_es256() {
    within(async {
        let dir = TempDir::new("jwt-keys");
        let public = dir.write("rsa-public.pem", RSA_PUBLIC);
        register::<Rs256>(
            ServiceConfig::new("/echo").auth(Auth::providers([AuthProvider::jwt(
                JwtValidator::new(JwtKey::rs256_pem_file(&public)),
            )])),
        );
        let (_l1, addr, _) = start::<Rs256>(ListenerConfig::default()).await;
        let token = JwtIssuer::new(JwtKey::rs256_pem(RSA_PRIVATE))
            .subject("rsa-user")
            .issue()
            .unwrap();
        assert_eq!(
            whoami(addr, &format!("Bearer {token}")).await.1,
            "rsa-user "
        );
        // An HS256 token signed with the public key as secret (algorithm confusion): refused.
        let confused = JwtIssuer::new(JwtKey::hs256(RSA_PUBLIC.as_bytes()))
            .subject("attacker")
            .issue()
            .unwrap();
        assert_eq!(
            refusal(addr, Some(&format!("Bearer {confused}"))).await.0,
            401
        );

        // ES256, the validator trusting a certificate of the signing key.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["issuer.test".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        register::<Es256>(
            ServiceConfig::new("/echo").auth(Auth::providers([AuthProvider::jwt(
                JwtValidator::new(JwtKey::es256_pem(cert.pem()).kid("k1")),
            )])),
        );
        let (_l2, addr, _) = start::<Es256>(ListenerConfig::default()).await;
        let signer = JwtKey::es256_pem(key.serialize_pem()).kid("k1");
        let token = JwtIssuer::new(signer.clone())
            .subject("ec-user")
            .issue()
            .unwrap();
        assert_eq!(whoami(addr, &format!("Bearer {token}")).await.1, "ec-user ");
        let wrong_kid = JwtIssuer::new(signer.kid("k2"))
            .subject("ec-user")
            .issue()
            .unwrap();
        assert_eq!(
            refusal(addr, Some(&format!("Bearer {wrong_kid}"))).await.0,
            401
        );
    })
    .await;
}

struct Introspected;

#[tokio::test]
async fn oauth2_introspection_over_https_with_a_cache() {
    within(async {
        let pki = Pki::new();
        let (base, hits) = http_endpoint(Some(&pki.server), |req| {
            assert_eq!(
                req.authorization.as_deref(),
                Some("Basic cmVzb3VyY2Utc2VydmVyOnJzLXNlY3JldA=="),
                "the resource server authenticates to the endpoint"
            );
            assert_eq!(
                req.form.get("token_type_hint").map(String::as_str),
                Some("access_token")
            );
            let token = req.form.get("token").cloned().unwrap_or_default();
            let body = match token.as_str() {
                "good-token" => json!({
                    "active": true, "username": "dave", "scope": "chat read",
                    "exp": now_secs() + 3600, "client_id": "app"
                }),
                "reader-token" => json!({"active": true, "sub": "erin", "scope": "read"}),
                "expired-token" => json!({"active": true, "sub": "old", "exp": now_secs() - 10}),
                _ => json!({"active": false}),
            };
            (StatusCode::OK, body.to_string())
        })
        .await;
        register::<Introspected>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([AuthProvider::introspection(
                    Introspection::new(format!("{base}/oauth2/introspect"))
                        .client_credentials("resource-server", "rs-secret")
                        .token_type_hint("access_token")
                        .tls(pki.client_tls()),
                )])
                .scopes(["chat"]),
            ),
        );
        let (_listener, addr, _) = start::<Introspected>(ListenerConfig::default()).await;

        let (status, answer, _) = whoami(addr, "Bearer good-token").await;
        assert_eq!((status, answer.as_str()), (101, "dave chat,read"));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // Cached: the endpoint is not asked again.
        let (ws, _) = our_ws(
            addr,
            &with_headers(&[("authorization", "Bearer good-token")]),
        )
        .await
        .unwrap();
        assert_eq!(ask(&ws, "claim:client_id").await, "\"app\"");
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        let (status, challenges, _) = refusal(addr, Some("Bearer revoked-token")).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenges,
            ["Bearer realm=\"ws-framework\", error=\"invalid_token\""]
        );
        assert_eq!(refusal(addr, Some("Bearer expired-token")).await.0, 401);
        assert_eq!(refusal(addr, Some("Bearer reader-token")).await.0, 403);
        // Refusals are not cached.
        let before = hits.load(Ordering::SeqCst);
        assert_eq!(refusal(addr, Some("Bearer revoked-token")).await.0, 401);
        assert_eq!(hits.load(Ordering::SeqCst), before + 1);
    })
    .await;
}

struct Unreachable;

#[tokio::test]
async fn an_unreachable_or_untrusted_introspection_endpoint_means_401() {
    within(async {
        let pki = Pki::new();
        // An HTTPS endpoint whose certificate the listener does not trust.
        let (base, hits) = http_endpoint(Some(&pki.server), |_| {
            (StatusCode::OK, json!({"active": true}).to_string())
        })
        .await;
        register::<Unreachable>(ServiceConfig::new("/echo").auth(Auth::providers(
            [
                AuthProvider::introspection(
                    Introspection::new(format!("{base}/introspect")).tls(
                        ws_framework::tls::ClientTlsConfig::new().ca_pem(Ca::new("other").pem),
                    ),
                ),
            ],
        )));
        let (_listener, addr, _) = start::<Unreachable>(ListenerConfig::default()).await;
        let (status, _, body) = refusal(addr, Some("Bearer anything")).await;
        assert_eq!(status, 401);
        assert!(body.contains("introspection"), "{body}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    })
    .await;
}

struct Several;

#[tokio::test]
async fn several_providers_are_tried_in_order() {
    within(async {
        let (base, hits) = http_endpoint(None, |req| {
            let active = req.form.get("token").map(String::as_str) == Some("opaque-token");
            (
                StatusCode::OK,
                json!({"active": active, "username": "frank", "scope": "chat"}).to_string(),
            )
        })
        .await;
        register::<Several>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([
                    AuthProvider::jwt(JwtValidator::new(JwtKey::hs256(SECRET))),
                    AuthProvider::introspection(Introspection::new(format!("{base}/introspect"))),
                    AuthProvider::basic(store()).scopes(["admin"]),
                ])
                .scopes(["chat"]),
            ),
        );
        let (_listener, addr, _) = start::<Several>(ListenerConfig::default()).await;

        // A JWT: the first provider accepts it; the endpoint is not asked.
        let jwt = JwtIssuer::new(JwtKey::hs256(SECRET))
            .subject("grace")
            .scopes(["chat"])
            .issue()
            .unwrap();
        assert_eq!(whoami(addr, &format!("Bearer {jwt}")).await.1, "grace chat");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        // An opaque token: the JWT validator refuses it, introspection accepts it.
        assert_eq!(whoami(addr, "Bearer opaque-token").await.1, "frank chat");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // Basic goes to the user store, whose own scope list (admin) applies.
        assert_eq!(
            whoami(addr, &basic("alice", "wonderland").await).await.0,
            101
        );
        assert_eq!(
            refusal(addr, Some(&basic("bob", "builder").await)).await.0,
            403
        );
        // Nobody accepts it: 401, with a challenge per scheme.
        let (status, challenges, _) = refusal(addr, Some("Bearer nonsense")).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenges,
            [
                "Bearer realm=\"ws-framework\", error=\"invalid_token\"",
                "Basic realm=\"ws-framework\""
            ]
        );
    })
    .await;
}

struct Tls;

#[tokio::test]
async fn authentication_over_wss() {
    within(async {
        let pki = Pki::new();
        register::<Tls>(
            ServiceConfig::new("/echo").auth(Auth::providers([AuthProvider::basic(store())])),
        );
        let (_listener, addr, _) =
            start::<Tls>(ListenerConfig::default().tls(pki.server_tls())).await;
        let (ws, response) = our_wss(
            addr,
            "localhost",
            &pki.client_tls(),
            &with_headers(&[("authorization", &basic("alice", "wonderland").await)]),
        )
        .await
        .unwrap();
        assert_eq!(response.headers()["x-principal"], "alice");
        assert_eq!(ask(&ws, "whoami").await, "alice chat,admin");
        let refused = our_wss(addr, "localhost", &pki.client_tls(), &with_headers(&[])).await;
        assert_eq!(status_of(&refused), 401);
    })
    .await;
}
