//! Credentials a client sends with its upgrade request (Ballerina's `ClientAuthConfig`).

use super::http::Endpoint;
use super::jwt::JwtIssuer;
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The OAuth2 client-credentials grant (RFC 6749 section 4.4): a token is fetched from the
/// token endpoint before connecting, reused while valid and fetched again when it expires.
///
/// ```
/// use ws_framework::auth::OAuth2ClientCredentials;
///
/// let grant = OAuth2ClientCredentials::new("https://auth.example.com/oauth2/token", "my-app", "secret")
///     .scopes(["chat:read"]);
/// ```
#[derive(Clone)]
pub struct OAuth2ClientCredentials {
    endpoint: Endpoint,
    client_id: String,
    client_secret: String,
    scopes: Vec<String>,
    credentials_in_body: bool,
    refresh_margin: Duration,
    default_expiry: Duration,
}

impl fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("credentials_in_body", &self.credentials_in_body)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl OAuth2ClientCredentials {
    /// Fetches tokens from `token_url` as client `client_id`.
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: Endpoint::new(token_url),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            credentials_in_body: false,
            refresh_margin: Duration::from_secs(10),
            default_expiry: Duration::from_secs(3600),
        }
    }

    /// The scopes to ask for.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sends `client_id` and `client_secret` in the form body instead of HTTP Basic.
    pub fn credentials_in_body(mut self, on: bool) -> Self {
        self.credentials_in_body = on;
        self
    }

    /// Fetches a new token this long before the current one expires (default 10 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Time allowed for one call to the token endpoint (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// The TLS settings for an `https://` token endpoint (default: webpki roots).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTlsConfig) -> Self {
        self.endpoint.set_tls(tls);
        self
    }

    /// Fetches a token: (the access token, how long it is valid).
    async fn fetch(&self) -> Result<(String, Duration)> {
        let fail = |m: String| Error::Auth(format!("OAuth2 client credentials grant failed: {m}"));
        let scope = self.scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let authorization = if self.credentials_in_body {
            form.push(("client_id", self.client_id.as_str()));
            form.push(("client_secret", self.client_secret.as_str()));
            None
        } else {
            let encoded = STANDARD.encode(format!(
                "{}:{}",
                form_component(&self.client_id),
                form_component(&self.client_secret)
            ));
            Some(
                HeaderValue::try_from(format!("Basic {encoded}"))
                    .map_err(|_| fail("invalid client credentials".into()))?,
            )
        };
        let (status, body) = self
            .endpoint
            .post_form(authorization.as_ref(), &form)
            .await
            .map_err(fail)?;
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status != StatusCode::OK {
            let reason = json
                .get("error")
                .and_then(Value::as_str)
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            return Err(fail(format!(
                "`{}` answered {status}{reason}",
                self.endpoint.url()
            )));
        }
        let token = json
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("the answer has no access_token".into()))?
            .to_owned();
        let expires_in = json
            .get("expires_in")
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
            .filter(|s| *s >= 0.0)
            .map_or(self.default_expiry, Duration::from_secs_f64);
        Ok((token, expires_in))
    }
}

/// RFC 6749 section 2.3.1: client id and secret are form-encoded before Basic encoding.
fn form_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

enum Kind {
    Static(Result<HeaderValue, String>),
    Jwt(JwtIssuer),
    OAuth2(OAuth2ClientCredentials),
}

/// A cached `Authorization` value and when it stops being usable.
type Cached = Option<(HeaderValue, Instant)>;

/// The credentials of a client: `Authorization: Basic ...` or `Bearer ...`, a self-signed JWT
/// issued for each connection, or an OAuth2 access token fetched (and refreshed on expiry)
/// from a token endpoint.
///
/// Cheap to clone; clones share the cached token. [`ClientAuth::authorization`] gives the
/// header value to send; the client calls it before every connection attempt, so a reconnect
/// after the token expired gets a fresh one.
#[derive(Clone)]
pub struct ClientAuth {
    kind: Arc<Kind>,
    cached: Arc<Mutex<Cached>>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            Kind::Static(_) => f.write_str("ClientAuth::Static(..)"),
            Kind::Jwt(issuer) => f.debug_tuple("ClientAuth::Jwt").field(issuer).finish(),
            Kind::OAuth2(grant) => f.debug_tuple("ClientAuth::OAuth2").field(grant).finish(),
        }
    }
}

impl ClientAuth {
    fn with(kind: Kind) -> Self {
        Self {
            kind: Arc::new(kind),
            cached: Arc::new(Mutex::new(None)),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// HTTP Basic: `Authorization: Basic base64(username:password)`.
    pub fn basic(username: &str, password: &str) -> Self {
        let value = if username.contains(':') {
            Err(format!(
                "a Basic user name cannot contain `:` (got `{username}`)"
            ))
        } else {
            sensitive(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            ))
        };
        Self::with(Kind::Static(value))
    }

    /// A bearer token: `Authorization: Bearer <token>`.
    pub fn bearer(token: &str) -> Self {
        Self::with(Kind::Static(sensitive(format!("Bearer {token}"))))
    }

    /// A self-signed JWT, sent as a bearer token; a new one is issued when the last expires.
    pub fn jwt(issuer: JwtIssuer) -> Self {
        Self::with(Kind::Jwt(issuer))
    }

    /// An access token from the OAuth2 client-credentials grant, sent as a bearer token.
    pub fn oauth2_client_credentials(grant: OAuth2ClientCredentials) -> Self {
        Self::with(Kind::OAuth2(grant))
    }

    /// Checks what can be checked before connecting (the token endpoint's URL and TLS
    /// settings, the JWT key).
    pub fn prepare(&self) -> Result<()> {
        match &*self.kind {
            Kind::Static(Ok(_)) => Ok(()),
            Kind::Static(Err(e)) => Err(Error::Auth(e.clone())),
            Kind::Jwt(issuer) => issuer.issue().map(drop),
            Kind::OAuth2(grant) => grant
                .endpoint
                .prepare()
                .map_err(|e| Error::Auth(format!("OAuth2 token endpoint: {e}"))),
        }
    }

    /// Forgets a cached token (for example after the server answered 401), so the next call
    /// fetches or issues a new one.
    pub fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn cached(&self) -> Option<HeaderValue> {
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((value, until)) if *until > Instant::now() => Some(value.clone()),
            _ => None,
        }
    }

    fn store(&self, value: &HeaderValue, valid_for: Duration, margin: Duration) {
        let usable = valid_for.saturating_sub(margin.min(valid_for / 2));
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((value.clone(), Instant::now() + usable));
    }

    /// The value of the `Authorization` header to send now. Fails with [`Error::Auth`] when
    /// the credentials cannot be produced (the token endpoint refused or is unreachable, the
    /// JWT key is unusable).
    pub async fn authorization(&self) -> Result<HeaderValue> {
        match &*self.kind {
            Kind::Static(value) => value.clone().map_err(Error::Auth),
            Kind::Jwt(issuer) => {
                if let Some(value) = self.cached() {
                    return Ok(value);
                }
                let value =
                    sensitive(format!("Bearer {}", issuer.issue()?)).map_err(Error::Auth)?;
                self.store(&value, issuer.validity(), Duration::from_secs(5));
                Ok(value)
            }
            Kind::OAuth2(grant) => {
                if let Some(value) = self.cached() {
                    return Ok(value);
                }
                // One fetch at a time; whoever waited finds the fresh token.
                let _guard = self.fetching.lock().await;
                if let Some(value) = self.cached() {
                    return Ok(value);
                }
                let (token, valid_for) = grant.fetch().await?;
                let value = sensitive(format!("Bearer {token}")).map_err(|e| {
                    Error::Auth(format!("OAuth2 client credentials grant failed: {e}"))
                })?;
                self.store(&value, valid_for, grant.refresh_margin);
                Ok(value)
            }
        }
    }
}

fn sensitive(value: String) -> std::result::Result<HeaderValue, String> {
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| "the credentials are not a valid header value".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_credentials() {
        let basic = ClientAuth::basic("alice", "pw")
            .authorization()
            .await
            .unwrap();
        assert_eq!(basic, "Basic YWxpY2U6cHc=");
        assert!(ClientAuth::basic("a:b", "pw")
            .authorization()
            .await
            .is_err());
        let bearer = ClientAuth::bearer("t0k").authorization().await.unwrap();
        assert_eq!(bearer, "Bearer t0k");
        assert!(ClientAuth::bearer("bad\ntoken").prepare().is_err());
    }

    #[tokio::test]
    async fn jwt_is_reused_until_it_expires() {
        let auth = ClientAuth::jwt(JwtIssuer::new(super::super::JwtKey::hs256(
            b"0123456789abcdef0123456789abcdef".to_vec(),
        )));
        let a = auth.authorization().await.unwrap();
        let b = auth.authorization().await.unwrap();
        assert_eq!(a, b);
        auth.invalidate();
        assert_ne!(auth.authorization().await.unwrap(), a);
    }
}
