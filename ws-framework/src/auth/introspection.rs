//! OAuth2 token introspection (RFC 7662): bearer tokens checked by asking the authorisation
//! server, with a cache of active tokens.

use super::http::Endpoint;
use super::Principal;
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Cache {
    /// SHA-256 of the token -> (principal, valid until).
    entries: HashMap<[u8; 32], (Principal, Instant)>,
}

/// Validates bearer tokens by POSTing them to an introspection endpoint (Ballerina's
/// `OAuth2IntrospectionConfig`). Active tokens are cached (by their SHA-256, never in clear)
/// until the cache time or the token's `exp`, whichever comes first.
///
/// The principal's name is the response's `username`, else `sub`, else `client_id`; its scopes
/// come from `scope` (space-separated); every field of the response is a claim.
///
/// ```
/// use std::time::Duration;
/// use ws_framework::auth::Introspection;
///
/// let introspection = Introspection::new("https://auth.example.com/oauth2/introspect")
///     .client_credentials("resource-server", "secret")
///     .cache_ttl(Duration::from_secs(60));
/// ```
#[derive(Clone)]
pub struct Introspection {
    endpoint: Endpoint,
    authorization: Option<HeaderValue>,
    token_type_hint: Option<String>,
    scope_claim: String,
    cache_ttl: Duration,
    cache_capacity: usize,
    cache: Arc<Mutex<Cache>>,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("token_type_hint", &self.token_type_hint)
            .field("scope_claim", &self.scope_claim)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Asks the endpoint at `url` (`https://`, or `http://` on a trusted network).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            endpoint: Endpoint::new(url),
            authorization: None,
            token_type_hint: None,
            scope_claim: "scope".to_owned(),
            cache_ttl: Duration::from_secs(300),
            cache_capacity: 10_000,
            cache: Arc::new(Mutex::new(Cache::default())),
        }
    }

    /// Authenticates to the endpoint with HTTP Basic `client_id:client_secret` (RFC 7662
    /// section 2.1).
    pub fn client_credentials(mut self, client_id: &str, client_secret: &str) -> Self {
        let encoded = STANDARD.encode(format!("{client_id}:{client_secret}"));
        self.authorization = HeaderValue::try_from(format!("Basic {encoded}")).ok();
        self
    }

    /// Authenticates to the endpoint with a bearer token.
    pub fn bearer(mut self, token: &str) -> Self {
        self.authorization = HeaderValue::try_from(format!("Bearer {token}")).ok();
        self
    }

    /// Sends `token_type_hint` (for example `access_token`).
    pub fn token_type_hint(mut self, hint: impl Into<String>) -> Self {
        self.token_type_hint = Some(hint.into());
        self
    }

    /// The response field holding the scopes (default `scope`).
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.scope_claim = claim.into();
        self
    }

    /// How long an active token is remembered (default 300 s; zero turns the cache off).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Most tokens remembered (default 10,000).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Time allowed for one call to the endpoint (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// The TLS settings for an `https://` endpoint (default: webpki roots).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTlsConfig) -> Self {
        self.endpoint.set_tls(tls);
        self
    }

    /// Checks the URL and builds the TLS settings. Done when the service is attached.
    pub fn prepare(&self) -> Result<()> {
        self.endpoint
            .prepare()
            .map_err(|e| Error::Auth(format!("introspection: {e}")))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Introspects `token` (or finds it in the cache).
    pub async fn validate(&self, token: &str) -> std::result::Result<Principal, String> {
        let key: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        let now = Instant::now();
        if let Some((principal, until)) = self.cache().entries.get(&key) {
            if *until > now {
                return Ok(principal.clone());
            }
        }
        let mut form = vec![("token", token)];
        if let Some(hint) = &self.token_type_hint {
            form.push(("token_type_hint", hint));
        }
        let (status, body) = self
            .endpoint
            .post_form(self.authorization.as_ref(), &form)
            .await
            .map_err(|e| format!("token introspection failed: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!(
                "token introspection failed: `{}` answered {status}",
                self.endpoint.url()
            ));
        }
        let claims: Map<String, Value> = serde_json::from_slice(&body).map_err(|e| {
            format!("token introspection failed: the answer is not a JSON object: {e}")
        })?;
        if claims.get("active").and_then(Value::as_bool) != Some(true) {
            return Err("the token is not active".to_owned());
        }
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let remaining = match claims.get("exp").and_then(Value::as_f64) {
            Some(exp) if exp <= wall => return Err("the token has expired".to_owned()),
            Some(exp) => Some(Duration::from_secs_f64(exp - wall)),
            None => None,
        };
        let name = ["username", "sub", "client_id"]
            .iter()
            .find_map(|k| claims.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        let scopes = super::jwt::scopes_of(claims.get(&self.scope_claim));
        let principal = Principal::new(name)
            .with_scopes(scopes)
            .with_claims(claims)
            .with_scheme("Bearer");
        let ttl = remaining.map_or(self.cache_ttl, |r| r.min(self.cache_ttl));
        if !ttl.is_zero() && self.cache_capacity > 0 {
            let mut cache = self.cache();
            if cache.entries.len() >= self.cache_capacity {
                cache.entries.retain(|_, (_, until)| *until > now);
            }
            if cache.entries.len() >= self.cache_capacity {
                // Still full of live entries: drop the one closest to expiry.
                if let Some(k) = cache
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, until))| *until)
                    .map(|(k, _)| *k)
                {
                    cache.entries.remove(&k);
                }
            }
            cache.entries.insert(key, (principal.clone(), now + ttl));
        }
        Ok(principal)
    }
}
