//! Authentication and authorisation at the upgrade (Ballerina's `ListenerAuthConfig`), and the
//! credentials a client sends ([`ClientAuth`]).
//!
//! A service lists providers and, optionally, the scopes it requires:
//!
//! ```
//! use ws_framework::auth::{Auth, AuthProvider, JwtKey, JwtValidator, UserStore};
//! use ws_framework::ServiceConfig;
//!
//! let config = ServiceConfig::new("/chat").auth(
//!     Auth::providers([
//!         AuthProvider::jwt(
//!             JwtValidator::new(JwtKey::rs256_pem_file("issuer.pem")).issuer("https://idp"),
//!         ),
//!         AuthProvider::basic(UserStore::from_file("users.txt")),
//!     ])
//!     .scopes(["chat:read", "chat:write"]),
//! );
//! ```
//!
//! The upgrade request's `Authorization` header is handed to the providers of its scheme
//! (`Basic` or `Bearer`), in order; the first that accepts it wins. Then:
//! - no header, an unknown scheme, or credentials no provider accepts: **401** with a
//!   `WWW-Authenticate` challenge per scheme (RFC 7235; RFC 6750's `error="invalid_token"` for
//!   a refused bearer token);
//! - accepted, but the principal holds none of the required scopes: **403** (with RFC 6750's
//!   `error="insufficient_scope"` for bearer tokens).
//!
//! Both happen before the service's upgrade hook runs. The accepted [`Principal`] is then
//! available from [`crate::UpgradeRequest::principal`] and [`crate::Caller::principal`].
//!
//! Files (user stores, keys) and endpoint URLs are checked when the service is attached:
//! [`crate::Listener::attach`] fails with an error naming the file.

mod basic;
mod client;
mod http;
mod introspection;
mod jwt;

pub use basic::{
    hash_password, hash_password_with_iterations, verify_password, User, UserStore,
    DEFAULT_ITERATIONS,
};
pub use client::{ClientAuth, OAuth2ClientCredentials};
pub use introspection::Introspection;
pub use jwt::{JwtAlgorithm, JwtIssuer, JwtKey, JwtValidator};

use crate::error::Result;
use crate::service::ServiceConfig;
use crate::upgrade::{UpgradeError, UpgradeRequest};
use ::http::{header, HeaderMap, HeaderValue};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The `Authorization` header (Ballerina's `AUTH_HEADER`).
pub const AUTH_HEADER: &str = "Authorization";
/// The Basic scheme (`AUTH_SCHEME_BASIC`).
pub const AUTH_SCHEME_BASIC: &str = "Basic";
/// The Bearer scheme (`AUTH_SCHEME_BEARER`).
pub const AUTH_SCHEME_BEARER: &str = "Bearer";

/// Who opened a connection: the user name, scopes and (for tokens) claims that a provider
/// accepted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Principal {
    name: String,
    scopes: Vec<String>,
    claims: Map<String, Value>,
    scheme: String,
}

impl Principal {
    /// A principal named `name`, without scopes or claims.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// With these scopes.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With these claims.
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = claims;
        self
    }

    /// With the scheme that authenticated it (`Basic`, `Bearer`, or a custom one).
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// The user name (a JWT's `sub`, an introspected token's `username`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// All claims (of a JWT or an introspection answer; empty for Basic).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The scheme that authenticated it.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }
}

/// A boxed future, as [`Authenticator::authenticate`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A way to check credentials; implement it for a custom provider (LDAP, a database, API
/// keys) and wrap it with [`AuthProvider::custom`].
pub trait Authenticator: Send + Sync + 'static {
    /// The `Authorization` scheme handled (`Basic`, `Bearer`, ...; compared case-insensitively).
    fn scheme(&self) -> &str;

    /// Checks the credentials (what follows the scheme in the header): the principal, or why
    /// they were refused.
    fn authenticate<'a>(
        &'a self,
        credentials: &'a str,
    ) -> BoxFuture<'a, std::result::Result<Principal, String>>;

    /// Reads files and checks settings; called when the service is attached.
    fn prepare(&self) -> Result<()> {
        Ok(())
    }
}

impl Authenticator for UserStore {
    fn scheme(&self) -> &str {
        AUTH_SCHEME_BASIC
    }

    fn authenticate<'a>(
        &'a self,
        credentials: &'a str,
    ) -> BoxFuture<'a, std::result::Result<Principal, String>> {
        Box::pin(self.authenticate_basic(credentials))
    }

    fn prepare(&self) -> Result<()> {
        UserStore::prepare(self)
    }
}

impl Authenticator for JwtValidator {
    fn scheme(&self) -> &str {
        AUTH_SCHEME_BEARER
    }

    fn authenticate<'a>(
        &'a self,
        credentials: &'a str,
    ) -> BoxFuture<'a, std::result::Result<Principal, String>> {
        Box::pin(async move { self.validate(credentials.trim()) })
    }

    fn prepare(&self) -> Result<()> {
        JwtValidator::prepare(self)
    }
}

impl Authenticator for Introspection {
    fn scheme(&self) -> &str {
        AUTH_SCHEME_BEARER
    }

    fn authenticate<'a>(
        &'a self,
        credentials: &'a str,
    ) -> BoxFuture<'a, std::result::Result<Principal, String>> {
        Box::pin(self.validate(credentials.trim()))
    }

    fn prepare(&self) -> Result<()> {
        Introspection::prepare(self)
    }
}

/// One entry of a service's [`Auth`] list: a provider and, optionally, its own required
/// scopes (overriding [`Auth::scopes`]).
#[derive(Clone)]
pub struct AuthProvider {
    inner: Arc<dyn Authenticator>,
    scopes: Option<Vec<String>>,
    name: &'static str,
}

impl fmt::Debug for AuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthProvider")
            .field("kind", &self.name)
            .field("scheme", &self.inner.scheme())
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl AuthProvider {
    /// HTTP Basic against a user store (Ballerina's file user store).
    pub fn basic(store: UserStore) -> Self {
        Self::named("basic", store)
    }

    /// Bearer JWTs checked locally.
    pub fn jwt(validator: JwtValidator) -> Self {
        Self::named("jwt", validator)
    }

    /// Bearer tokens checked at an OAuth2 introspection endpoint.
    pub fn introspection(introspection: Introspection) -> Self {
        Self::named("introspection", introspection)
    }

    /// Any [`Authenticator`].
    pub fn custom(authenticator: impl Authenticator) -> Self {
        Self::named("custom", authenticator)
    }

    fn named(name: &'static str, authenticator: impl Authenticator) -> Self {
        Self {
            inner: Arc::new(authenticator),
            scopes: None,
            name,
        }
    }

    /// The scopes required of principals this provider accepts (one of them suffices).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// A service's authentication settings: providers tried in order, and the scopes required
/// (one of them suffices; none listed: any authenticated principal).
#[derive(Clone, Debug)]
pub struct Auth {
    providers: Vec<AuthProvider>,
    scopes: Vec<String>,
    realm: String,
}

impl Auth {
    /// These providers, tried in order.
    pub fn providers(providers: impl IntoIterator<Item = AuthProvider>) -> Self {
        Self {
            providers: providers.into_iter().collect(),
            scopes: Vec::new(),
            realm: "ws-framework".to_owned(),
        }
    }

    /// The scopes required; a principal holding none of them gets 403.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The realm of the `WWW-Authenticate` challenges (default `ws-framework`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into().replace(['"', '\\'], "");
        self
    }

    /// Prepares every provider (reads files, checks URLs and keys).
    pub fn prepare(&self) -> Result<()> {
        if self.providers.is_empty() {
            return Err(crate::Error::InvalidArgument(
                "an auth setting needs at least one provider".into(),
            ));
        }
        self.providers.iter().try_for_each(|p| p.inner.prepare())
    }

    fn challenges(&self, bearer_error: Option<&str>) -> Vec<HeaderValue> {
        let mut schemes: Vec<&str> = Vec::new();
        for p in &self.providers {
            let s = p.inner.scheme();
            if !schemes.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                schemes.push(s);
            }
        }
        schemes
            .into_iter()
            .filter_map(|s| {
                let mut value = format!("{s} realm=\"{}\"", self.realm);
                if s.eq_ignore_ascii_case(AUTH_SCHEME_BEARER) {
                    if let Some(e) = bearer_error {
                        value.push_str(&format!(", error=\"{e}\""));
                    }
                }
                HeaderValue::try_from(value).ok()
            })
            .collect()
    }

    fn unauthorized(&self, message: String, bearer_error: Option<&str>) -> UpgradeError {
        let mut error = UpgradeError::unauthorized(message);
        for challenge in self.challenges(bearer_error) {
            error = error.with_header(header::WWW_AUTHENTICATE, challenge);
        }
        error
    }

    /// Authenticates and authorises a request by its headers: the principal, or the 401/403
    /// to answer.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> std::result::Result<Principal, UpgradeError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(self.unauthorized("authentication required".into(), None));
        };
        let value = value.to_str().unwrap_or_default().trim();
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let credentials = credentials.trim();
        let bearer = scheme.eq_ignore_ascii_case(AUTH_SCHEME_BEARER);
        let mut last_reason = None;
        for provider in &self.providers {
            if !provider.inner.scheme().eq_ignore_ascii_case(scheme) {
                continue;
            }
            match provider.inner.authenticate(credentials).await {
                Ok(principal) => {
                    let required = provider.scopes.as_ref().unwrap_or(&self.scopes);
                    if required.is_empty() || required.iter().any(|s| principal.has_scope(s)) {
                        return Ok(principal);
                    }
                    let mut error = UpgradeError::forbidden(format!(
                        "`{}` holds none of the required scopes ({})",
                        principal.name(),
                        required.join(", ")
                    ));
                    if bearer {
                        let challenge = format!(
                            "Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{}\"",
                            self.realm,
                            required.join(" ").replace(['"', '\\'], "")
                        );
                        if let Ok(v) = HeaderValue::try_from(challenge) {
                            error = error.with_header(header::WWW_AUTHENTICATE, v);
                        }
                    }
                    return Err(error);
                }
                Err(reason) => last_reason = Some(reason),
            }
        }
        match last_reason {
            Some(reason) => Err(self.unauthorized(
                format!("authentication failed: {reason}"),
                bearer.then_some("invalid_token"),
            )),
            None => Err(self.unauthorized(
                format!("authentication failed: the `{scheme}` scheme is not accepted here"),
                None,
            )),
        }
    }
}

/// Checks the service's origin list and auth providers when it is attached.
pub(crate) fn prepare_service(config: &ServiceConfig) -> Result<()> {
    crate::origin::validate(&config.allowed_origins).map_err(crate::Error::InvalidArgument)?;
    match &config.auth {
        Some(auth) => auth.prepare(),
        None => Ok(()),
    }
}

/// What runs before the upgrade hook: the origin check (403), then authentication (401/403),
/// which records the principal on the request.
pub(crate) async fn admit(
    config: &ServiceConfig,
    request: &mut UpgradeRequest,
) -> std::result::Result<(), UpgradeError> {
    crate::origin::check(
        &config.allowed_origins,
        config.require_origin,
        request.origin(),
    )?;
    if let Some(auth) = &config.auth {
        let principal = auth.authenticate(request.headers()).await?;
        request.set_principal(principal);
    }
    Ok(())
}
