//! Client credentials (`ws_framework::auth::ClientAuth`): Basic, Bearer, a self-signed JWT
//! and the OAuth2 client-credentials grant against a real HTTPS token endpoint on 127.0.0.1,
//! with the token reused while valid and fetched again once expired; each presented to a
//! listener that authenticates it.

mod security_util;

use security_util::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ws_framework::auth::{
    hash_password_with_iterations, Auth, AuthProvider, ClientAuth, Introspection, JwtIssuer,
    JwtKey, JwtValidator, OAuth2ClientCredentials, User, UserStore,
};
use ws_framework::http::StatusCode;
use ws_framework::{Error, ListenerConfig, ServiceConfig};

const SECRET: &[u8] = b"client and server share this secret";

async fn connect_with(addr: std::net::SocketAddr, auth: &ClientAuth) -> (u16, String) {
    let value = auth.authorization().await.unwrap();
    let r = our_ws(
        addr,
        &with_headers(&[("authorization", value.to_str().unwrap())]),
    )
    .await;
    let status = status_of(&r);
    match r {
        Ok((ws, _)) => (status, ask(&ws, "whoami").await),
        Err(_) => (status, String::new()),
    }
}

struct Static;

#[tokio::test]
async fn basic_and_bearer_credentials() {
    within(async {
        register::<Static>(ServiceConfig::new("/echo").auth(Auth::providers([
            AuthProvider::basic(UserStore::new().user(
                User::new("alice", hash_password_with_iterations("pw", 1000)).scopes(["chat"]),
            )),
            AuthProvider::jwt(JwtValidator::new(JwtKey::hs256(SECRET))),
        ])));
        let (_listener, addr, _) = start::<Static>(ListenerConfig::default()).await;
        assert_eq!(
            connect_with(addr, &ClientAuth::basic("alice", "pw")).await,
            (101, "alice chat".to_owned())
        );
        assert_eq!(
            connect_with(addr, &ClientAuth::basic("alice", "nope"))
                .await
                .0,
            401
        );
        let token = JwtIssuer::new(JwtKey::hs256(SECRET))
            .subject("bob")
            .issue()
            .unwrap();
        assert_eq!(
            connect_with(addr, &ClientAuth::bearer(&token)).await,
            (101, "bob ".to_owned())
        );
    })
    .await;
}

struct SelfSigned;

#[tokio::test]
async fn a_self_signed_jwt() {
    within(async {
        register::<SelfSigned>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([AuthProvider::jwt(
                    JwtValidator::new(JwtKey::hs256(SECRET))
                        .issuer("my-app")
                        .audience(["chat"]),
                )])
                .scopes(["chat:write"]),
            ),
        );
        let (_listener, addr, _) = start::<SelfSigned>(ListenerConfig::default()).await;
        let issuer = JwtIssuer::new(JwtKey::hs256(SECRET))
            .issuer("my-app")
            .subject("carol")
            .audience(["chat"])
            .scopes(["chat:write"]);
        let auth = ClientAuth::jwt(issuer.clone());
        auth.prepare().unwrap();
        assert_eq!(
            connect_with(addr, &auth).await,
            (101, "carol chat:write".to_owned())
        );
        // The same token is reused while it is valid.
        assert_eq!(
            auth.authorization().await.unwrap(),
            auth.authorization().await.unwrap()
        );
        let no_scope = ClientAuth::jwt(issuer.scopes(["chat:read"]));
        assert_eq!(connect_with(addr, &no_scope).await.0, 403);
        // A key that cannot sign fails before connecting.
        let broken = ClientAuth::jwt(JwtIssuer::new(JwtKey::rs256_pem("not a key")));
        assert!(matches!(broken.prepare(), Err(Error::Auth(_))));
        assert!(matches!(broken.authorization().await, Err(Error::Auth(_))));
    })
    .await;
}

struct OAuth2;

/// A token endpoint (HTTPS) issuing `tok-<n>` valid for `expires_in` seconds, and an
/// introspection endpoint accepting any `tok-` token.
async fn oauth2_endpoints(pki: &Pki, expires_in: u64) -> (String, Arc<AtomicUsize>, String) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let (token_base, token_hits) = http_endpoint(Some(&pki.server), move |req| {
        let grant = req.form.get("grant_type").map(String::as_str);
        let in_body = req.form.get("client_id").map(String::as_str) == Some("my-app")
            && req.form.get("client_secret").map(String::as_str) == Some("app secret");
        let in_header = req.authorization.as_deref() == Some("Basic bXktYXBwOmFwcCtzZWNyZXQ="); // my-app:app+secret
        if grant != Some("client_credentials") {
            return (
                StatusCode::BAD_REQUEST,
                json!({"error": "unsupported_grant_type"}).to_string(),
            );
        }
        if !(in_body || in_header) {
            return (
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_client"}).to_string(),
            );
        }
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let scope = req.form.get("scope").cloned().unwrap_or_default();
        (
            StatusCode::OK,
            json!({
                "access_token": format!("tok-{n}|{scope}"),
                "token_type": "Bearer",
                "expires_in": expires_in,
            })
            .to_string(),
        )
    })
    .await;
    let (introspect_base, _) = http_endpoint(None, |req| {
        let token = req.form.get("token").cloned().unwrap_or_default();
        let body = match token.strip_prefix("tok-") {
            Some(rest) => {
                let scope = rest.split_once('|').map(|(_, s)| s).unwrap_or_default();
                json!({"active": true, "client_id": "my-app", "scope": scope})
            }
            None => json!({"active": false}),
        };
        (StatusCode::OK, body.to_string())
    })
    .await;
    let _ = token_hits;
    (
        format!("{token_base}/oauth2/token"),
        issued,
        format!("{introspect_base}/oauth2/introspect"),
    )
}

#[tokio::test]
async fn the_oauth2_client_credentials_grant() {
    within(async {
        let pki = Pki::new();
        let (token_url, issued, introspect_url) = oauth2_endpoints(&pki, 3600).await;
        register::<OAuth2>(
            ServiceConfig::new("/echo").auth(
                Auth::providers([AuthProvider::introspection(
                    Introspection::new(introspect_url).cache_ttl(std::time::Duration::ZERO),
                )])
                .scopes(["chat"]),
            ),
        );
        let (_listener, addr, _) = start::<OAuth2>(ListenerConfig::default()).await;

        let grant = OAuth2ClientCredentials::new(&token_url, "my-app", "app secret")
            .scopes(["chat", "read"])
            .tls(pki.client_tls());
        let auth = ClientAuth::oauth2_client_credentials(grant.clone());
        auth.prepare().unwrap();
        assert_eq!(
            connect_with(addr, &auth).await,
            (101, "my-app chat,read".to_owned())
        );
        assert_eq!(issued.load(Ordering::SeqCst), 1);
        // Reused while valid.
        assert_eq!(connect_with(addr, &auth).await.0, 101);
        assert_eq!(issued.load(Ordering::SeqCst), 1);
        // Forgotten (say, after a 401): fetched again.
        auth.invalidate();
        assert_eq!(
            auth.authorization().await.unwrap().to_str().unwrap(),
            "Bearer tok-1|chat read"
        );

        // Credentials in the body instead of Basic.
        let in_body = ClientAuth::oauth2_client_credentials(
            grant.clone().credentials_in_body(true).scopes(["chat"]),
        );
        assert_eq!(connect_with(addr, &in_body).await.0, 101);
        // Without the scope the service requires: 403.
        let reader = ClientAuth::oauth2_client_credentials(grant.clone().scopes(["read"]));
        assert_eq!(connect_with(addr, &reader).await.0, 403);

        // Refused by the token endpoint: an auth error naming why.
        let wrong = ClientAuth::oauth2_client_credentials(
            OAuth2ClientCredentials::new(&token_url, "my-app", "wrong").tls(pki.client_tls()),
        );
        match wrong.authorization().await {
            Err(Error::Auth(m)) => assert!(m.contains("invalid_client"), "{m}"),
            other => panic!("expected an auth error, got {other:?}"),
        }
        // An endpoint whose certificate is not trusted.
        let untrusted = ClientAuth::oauth2_client_credentials(OAuth2ClientCredentials::new(
            &token_url,
            "my-app",
            "app secret",
        ));
        match untrusted.authorization().await {
            Err(Error::Auth(m)) => assert!(m.contains("trusted"), "{m}"),
            other => panic!("expected an auth error, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn an_expired_oauth2_token_is_fetched_again() {
    within(async {
        let pki = Pki::new();
        // Tokens that expire at once: every use needs a fresh one.
        let (token_url, issued, _) = oauth2_endpoints(&pki, 0).await;
        let auth = ClientAuth::oauth2_client_credentials(
            OAuth2ClientCredentials::new(&token_url, "my-app", "app secret").tls(pki.client_tls()),
        );
        let first = auth.authorization().await.unwrap();
        let second = auth.authorization().await.unwrap();
        assert_ne!(first, second);
        assert_eq!(issued.load(Ordering::SeqCst), 2);

        // A closed port: an auth error, not a hang.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let auth = ClientAuth::oauth2_client_credentials(OAuth2ClientCredentials::new(
            format!("http://127.0.0.1:{closed}/token"),
            "a",
            "b",
        ));
        assert!(matches!(auth.authorization().await, Err(Error::Auth(_))));
    })
    .await;
}
