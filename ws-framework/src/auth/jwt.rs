//! JSON Web Tokens (RFC 7519) signed with HS256, RS256 or ES256: validation for the listener
//! ([`JwtValidator`]) and self-signed tokens for the client ([`JwtIssuer`]), over `ring`.

use super::Principal;
use crate::error::{Error, Result};
use crate::pem::PemSource;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::pem::SectionKind;
use serde_json::{Map, Value};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// base64url, with or without padding.
const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A JWS signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys of 2048 to 8192 bits).
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
}

impl JwtAlgorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone)]
enum Material {
    Secret(Arc<[u8]>),
    Pem(PemSource),
}

/// A signing or verification key with its algorithm and optional key id (`kid`).
///
/// For RS256 and ES256 a validator accepts a `PUBLIC KEY` (SPKI), a `CERTIFICATE` or the
/// private key itself (`PRIVATE KEY`, PKCS#8; `RSA PRIVATE KEY`, PKCS#1); an issuer needs the
/// private key. PEM files are read when the service is attached (or the first token issued).
#[derive(Clone)]
pub struct JwtKey {
    alg: JwtAlgorithm,
    material: Material,
    kid: Option<String>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let material = match &self.material {
            Material::Secret(_) => "secret".to_owned(),
            Material::Pem(source) => format!("{source:?}"),
        };
        f.debug_struct("JwtKey")
            .field("alg", &self.alg)
            .field("material", &material)
            .field("kid", &self.kid)
            .finish()
    }
}

impl JwtKey {
    /// An HS256 shared secret (RFC 7518 asks for at least 32 bytes).
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            alg: JwtAlgorithm::HS256,
            material: Material::Secret(Arc::from(secret.into())),
            kid: None,
        }
    }

    /// An RS256 key from PEM text.
    pub fn rs256_pem(pem: impl Into<Vec<u8>>) -> Self {
        Self::pem(JwtAlgorithm::RS256, PemSource::memory(pem))
    }

    /// An RS256 key from a PEM file.
    pub fn rs256_pem_file(path: impl Into<PathBuf>) -> Self {
        Self::pem(JwtAlgorithm::RS256, PemSource::file(path))
    }

    /// An ES256 (P-256) key from PEM text.
    pub fn es256_pem(pem: impl Into<Vec<u8>>) -> Self {
        Self::pem(JwtAlgorithm::ES256, PemSource::memory(pem))
    }

    /// An ES256 (P-256) key from a PEM file.
    pub fn es256_pem_file(path: impl Into<PathBuf>) -> Self {
        Self::pem(JwtAlgorithm::ES256, PemSource::file(path))
    }

    fn pem(alg: JwtAlgorithm, source: PemSource) -> Self {
        Self {
            alg,
            material: Material::Pem(source),
            kid: None,
        }
    }

    /// Sets the key id: an issuer puts it in the header; a validator with several keys uses
    /// only keys whose id matches the token's `kid` (keys without an id match any).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    fn describe(&self) -> String {
        match &self.material {
            Material::Secret(_) => format!("{} secret", self.alg),
            Material::Pem(source) => source.describe(&format!("{} key", self.alg)),
        }
    }

    fn verifier(&self) -> std::result::Result<Verifier, String> {
        let what = format!("{} key", self.alg);
        match (&self.material, self.alg) {
            (Material::Secret(secret), JwtAlgorithm::HS256) => {
                Ok(Verifier::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)))
            }
            (Material::Secret(_), alg) => Err(format!("{alg} needs a PEM key, not a secret")),
            (Material::Pem(_), JwtAlgorithm::HS256) => {
                Err("HS256 needs a shared secret, not a PEM key".to_owned())
            }
            (Material::Pem(source), alg) => {
                let (kind, der) = source.section(
                    &what,
                    &[
                        SectionKind::PublicKey,
                        SectionKind::Certificate,
                        SectionKind::PrivateKey,
                        SectionKind::RsaPrivateKey,
                    ],
                )?;
                let bad = |e: &dyn fmt::Display| format!("the {}: {e}", source.describe(&what));
                let key = match kind {
                    SectionKind::Certificate => {
                        let spki = der::certificate_spki(&der)
                            .ok_or_else(|| bad(&"not a valid X.509 certificate"))?;
                        der::spki_key(spki, alg).map_err(|e| bad(&e))?
                    }
                    SectionKind::PublicKey => der::spki_key(&der, alg).map_err(|e| bad(&e))?,
                    SectionKind::PrivateKey | SectionKind::RsaPrivateKey => {
                        match signer_from_der(kind, &der, alg).map_err(|e| bad(&e))? {
                            Signer::Rsa(pair) => pair.public().as_ref().to_vec(),
                            Signer::Ec(pair) => pair.public_key().as_ref().to_vec(),
                            Signer::Hmac(_) => unreachable!("HS256 has no PEM key"),
                        }
                    }
                    _ => unreachable!("section kinds asked for above"),
                };
                Ok(match alg {
                    JwtAlgorithm::RS256 => Verifier::Rsa(key),
                    _ => Verifier::Ec(key),
                })
            }
        }
    }

    fn signer(&self) -> std::result::Result<Signer, String> {
        match (&self.material, self.alg) {
            (Material::Secret(secret), JwtAlgorithm::HS256) => {
                Ok(Signer::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)))
            }
            (Material::Secret(_), alg) => Err(format!("{alg} needs a PEM private key")),
            (Material::Pem(_), JwtAlgorithm::HS256) => {
                Err("HS256 needs a shared secret, not a PEM key".to_owned())
            }
            (Material::Pem(source), alg) => {
                let what = format!("{alg} private key");
                let (kind, der) = source.section(
                    &what,
                    &[SectionKind::PrivateKey, SectionKind::RsaPrivateKey],
                )?;
                signer_from_der(kind, &der, alg)
                    .map_err(|e| format!("the {}: {e}", source.describe(&what)))
            }
        }
    }
}

enum Verifier {
    Hmac(hmac::Key),
    /// An `RSAPublicKey` (PKCS#1) DER.
    Rsa(Vec<u8>),
    /// An uncompressed P-256 point.
    Ec(Vec<u8>),
}

impl Verifier {
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
            Self::Rsa(key) => UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
                .verify(message, sig)
                .is_ok(),
            Self::Ec(key) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, key)
                .verify(message, sig)
                .is_ok(),
        }
    }
}

enum Signer {
    Hmac(hmac::Key),
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
}

impl Signer {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match self {
            Self::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Self::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(sig)
            }
            Self::Ec(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
        }
    }
}

fn signer_from_der(
    kind: SectionKind,
    der: &[u8],
    alg: JwtAlgorithm,
) -> std::result::Result<Signer, String> {
    match (alg, kind) {
        (JwtAlgorithm::RS256, SectionKind::PrivateKey) => RsaKeyPair::from_pkcs8(der)
            .map(|k| Signer::Rsa(Arc::new(k)))
            .map_err(|e| format!("not a usable RSA private key ({e})")),
        (JwtAlgorithm::RS256, SectionKind::RsaPrivateKey) => RsaKeyPair::from_der(der)
            .map(|k| Signer::Rsa(Arc::new(k)))
            .map_err(|e| format!("not a usable RSA private key ({e})")),
        (JwtAlgorithm::ES256, SectionKind::PrivateKey) => EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der,
            &SystemRandom::new(),
        )
        .map(|k| Signer::Ec(Arc::new(k)))
        .map_err(|e| format!("not a usable P-256 private key in PKCS#8 ({e})")),
        (alg, _) => Err(format!("not a private key for {alg} (PKCS#8 expected)")),
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Scopes from a claim: a space-separated string or an array of strings.
pub(crate) fn scopes_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

struct LoadedKey {
    alg: JwtAlgorithm,
    kid: Option<String>,
    verifier: Verifier,
}

/// Validates bearer tokens that are JWTs (Ballerina's `JwtValidatorConfig`): the signature
/// with one of the configured keys, then `exp` (required by default), `nbf`, `iss` and `aud`,
/// with a leeway for clock skew. The principal's name is the `sub` claim and its scopes come
/// from the `scope` claim (a space-separated string or an array); both claim names can be
/// changed.
///
/// ```
/// use std::time::Duration;
/// use ws_framework::auth::{JwtKey, JwtValidator};
///
/// let validator = JwtValidator::new(JwtKey::hs256(b"0123456789abcdef0123456789abcdef".to_vec()))
///     .issuer("https://issuer.example.com")
///     .audience(["chat"])
///     .leeway(Duration::from_secs(30));
/// ```
#[derive(Clone)]
pub struct JwtValidator {
    keys: Vec<JwtKey>,
    issuer: Option<String>,
    audiences: Vec<String>,
    leeway: Duration,
    scope_claim: String,
    name_claim: String,
    require_exp: bool,
    loaded: Arc<OnceLock<Vec<LoadedKey>>>,
}

impl fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidator")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("scope_claim", &self.scope_claim)
            .field("name_claim", &self.name_claim)
            .field("require_exp", &self.require_exp)
            .finish()
    }
}

impl JwtValidator {
    /// Validates tokens signed with `key`; add more with [`JwtValidator::key`].
    pub fn new(key: JwtKey) -> Self {
        Self {
            keys: vec![key],
            issuer: None,
            audiences: Vec::new(),
            leeway: Duration::ZERO,
            scope_claim: "scope".to_owned(),
            name_claim: "sub".to_owned(),
            require_exp: true,
            loaded: Arc::new(OnceLock::new()),
        }
    }

    /// Accepts tokens signed with `key` too (key rotation, several issuers' algorithms).
    pub fn key(mut self, key: JwtKey) -> Self {
        self.keys.push(key);
        self.loaded = Arc::new(OnceLock::new());
        self
    }

    /// Requires this `iss` claim.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires the `aud` claim to hold one of these.
    pub fn audience<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Allowed clock skew for `exp` and `nbf` (default 0).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The claim holding the scopes (default `scope`).
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.scope_claim = claim.into();
        self
    }

    /// The claim holding the principal's name (default `sub`).
    pub fn name_claim(mut self, claim: impl Into<String>) -> Self {
        self.name_claim = claim.into();
        self
    }

    /// Whether tokens without `exp` are refused (default true).
    pub fn require_exp(mut self, on: bool) -> Self {
        self.require_exp = on;
        self
    }

    /// Reads and checks the keys (a file that is missing or holds the wrong kind of key is an
    /// error naming it). Done when the service is attached.
    pub fn prepare(&self) -> Result<()> {
        self.keys().map(drop).map_err(Error::Auth)
    }

    fn keys(&self) -> std::result::Result<&[LoadedKey], String> {
        if let Some(keys) = self.loaded.get() {
            return Ok(keys);
        }
        let mut loaded = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let verifier = key
                .verifier()
                .map_err(|e| format!("JWT key ({}): {e}", key.describe()))?;
            loaded.push(LoadedKey {
                alg: key.alg,
                kid: key.kid.clone(),
                verifier,
            });
        }
        Ok(self.loaded.get_or_init(|| loaded))
    }

    /// Validates `token` and returns its principal (claims included); the error says why the
    /// token was refused.
    pub fn validate(&self, token: &str) -> std::result::Result<Principal, String> {
        let keys = self.keys()?;
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the token is not a JWT (three dot-separated parts)".to_owned());
        };
        let header: Map<String, Value> = B64
            .decode(header_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the JWT header is not base64url JSON")?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or("the JWT header has no `alg`")?;
        let kid = header.get("kid").and_then(Value::as_str);
        let candidates: Vec<&LoadedKey> = keys
            .iter()
            .filter(|k| k.alg.name() == alg)
            .filter(|k| match (&k.kid, kid) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(format!("no key accepts tokens signed with `{alg}`"));
        }
        let signature = B64
            .decode(sig_b64)
            .map_err(|_| "the JWT signature is not base64url")?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        if !candidates
            .iter()
            .any(|k| k.verifier.verify(signed.as_bytes(), &signature))
        {
            return Err("the JWT signature is invalid".to_owned());
        }
        let claims: Map<String, Value> = B64
            .decode(payload_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the JWT payload is not base64url JSON")?;
        let now = now_secs();
        let leeway = self.leeway.as_secs_f64();
        match claims.get("exp") {
            Some(exp) => {
                let exp = exp.as_f64().ok_or("the `exp` claim is not a number")?;
                if now >= exp + leeway {
                    return Err("the JWT has expired".to_owned());
                }
            }
            None if self.require_exp => return Err("the JWT has no `exp` claim".to_owned()),
            None => {}
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_f64().ok_or("the `nbf` claim is not a number")?;
            if now + leeway < nbf {
                return Err("the JWT is not valid yet (`nbf`)".to_owned());
            }
        }
        if let Some(issuer) = &self.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
                return Err(format!("the JWT was not issued by `{issuer}`"));
            }
        }
        if !self.audiences.is_empty() {
            let token_aud = match claims.get("aud") {
                Some(Value::String(a)) => vec![a.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !token_aud
                .iter()
                .any(|a| self.audiences.iter().any(|b| b == a))
            {
                return Err("the JWT is not meant for this audience".to_owned());
            }
        }
        let name = claims
            .get(&self.name_claim)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let scopes = scopes_of(claims.get(&self.scope_claim));
        Ok(Principal::new(name)
            .with_scopes(scopes)
            .with_claims(claims)
            .with_scheme("Bearer"))
    }
}

/// Issues self-signed JWTs for the client (Ballerina's `JwtIssuerConfig`): `iss`, `sub`,
/// `aud`, `iat`, `exp` (default 5 minutes ahead), a random `jti`, `scope` and any custom
/// claims (which override the standard ones).
///
/// ```
/// use ws_framework::auth::{JwtIssuer, JwtKey};
///
/// let token = JwtIssuer::new(JwtKey::hs256(b"0123456789abcdef0123456789abcdef".to_vec()))
///     .issuer("me")
///     .subject("alice")
///     .scopes(["chat:write"])
///     .issue()
///     .unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone)]
pub struct JwtIssuer {
    key: JwtKey,
    issuer: Option<String>,
    subject: Option<String>,
    audience: Vec<String>,
    expiry: Duration,
    scopes: Vec<String>,
    scope_claim: String,
    claims: Map<String, Value>,
    signer: Arc<OnceLock<Signer>>,
}

impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("key", &self.key)
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("audience", &self.audience)
            .field("expiry", &self.expiry)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl JwtIssuer {
    /// Signs with `key` (a secret for HS256, a private key for RS256/ES256).
    pub fn new(key: JwtKey) -> Self {
        Self {
            key,
            issuer: None,
            subject: None,
            audience: Vec::new(),
            expiry: Duration::from_secs(300),
            scopes: Vec::new(),
            scope_claim: "scope".to_owned(),
            claims: Map::new(),
            signer: Arc::new(OnceLock::new()),
        }
    }

    /// The `iss` claim.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `sub` claim (the user name).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The `aud` claim (a string for one audience, an array for several).
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// How long tokens are valid (default 300 s).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// The scopes, as a space-separated `scope` claim.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The claim the scopes go in (default `scope`).
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.scope_claim = claim.into();
        self
    }

    /// Any other claim; it overrides a standard claim of the same name.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// How long each issued token is valid.
    pub fn validity(&self) -> Duration {
        self.expiry
    }

    /// Issues a token now.
    pub fn issue(&self) -> Result<String> {
        let signer = match self.signer.get() {
            Some(s) => s,
            None => {
                let s = self
                    .key
                    .signer()
                    .map_err(|e| Error::Auth(format!("cannot issue a JWT: {e}")))?;
                self.signer.get_or_init(|| s)
            }
        };
        let mut header = Map::new();
        header.insert("alg".into(), self.key.alg.name().into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = &self.key.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        let now = now_secs() as u64;
        let mut claims = Map::new();
        if let Some(iss) = &self.issuer {
            claims.insert("iss".into(), iss.clone().into());
        }
        if let Some(sub) = &self.subject {
            claims.insert("sub".into(), sub.clone().into());
        }
        match self.audience.as_slice() {
            [] => {}
            [one] => {
                claims.insert("aud".into(), one.clone().into());
            }
            many => {
                claims.insert("aud".into(), many.to_vec().into());
            }
        }
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + self.expiry.as_secs()).into());
        let mut jti = [0u8; 16];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut jti)
            .map_err(|_| Error::Auth("no randomness for the JWT id".into()))?;
        claims.insert(
            "jti".into(),
            jti.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        );
        if !self.scopes.is_empty() {
            claims.insert(self.scope_claim.clone(), self.scopes.join(" ").into());
        }
        for (k, v) in &self.claims {
            claims.insert(k.clone(), v.clone());
        }
        let encode = |m: &Map<String, Value>| {
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(m).unwrap_or_default())
        };
        let signed = format!("{}.{}", encode(&header), encode(&claims));
        let sig = signer
            .sign(signed.as_bytes())
            .map_err(|e| Error::Auth(format!("cannot issue a JWT: {e}")))?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

/// Just enough DER to find the public key of a certificate or an SPKI.
mod der {
    use super::JwtAlgorithm;

    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    /// (tag, content, the whole TLV, the rest).
    type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

    /// Reads one TLV.
    fn read(input: &[u8]) -> Option<Tlv<'_>> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let header_len = input.len() - rest.len();
        Some((tag, &rest[..len], &input[..header_len + len], &rest[len..]))
    }

    /// The SubjectPublicKeyInfo (whole TLV) of an X.509 certificate.
    pub(super) fn certificate_spki(cert: &[u8]) -> Option<&[u8]> {
        let (0x30, cert, _, _) = read(cert)? else {
            return None;
        };
        let (0x30, tbs, _, _) = read(cert)? else {
            return None;
        };
        let mut rest = tbs;
        let (tag, _, _, after) = read(rest)?;
        if tag == 0xa0 {
            rest = after; // [0] version
        }
        // serialNumber, signature, issuer, validity, subject
        for _ in 0..5 {
            rest = read(rest)?.3;
        }
        let (0x30, _, spki, _) = read(rest)? else {
            return None;
        };
        Some(spki)
    }

    /// The key bytes ring wants (RSAPublicKey DER, or the EC point) of an SPKI for `alg`.
    pub(super) fn spki_key(spki: &[u8], alg: JwtAlgorithm) -> Result<Vec<u8>, String> {
        let malformed = || "not a valid public key (SubjectPublicKeyInfo)".to_owned();
        let (0x30, spki, _, _) = read(spki).ok_or_else(malformed)? else {
            return Err(malformed());
        };
        let (0x30, algorithm, _, rest) = read(spki).ok_or_else(malformed)? else {
            return Err(malformed());
        };
        let (0x03, bits, _, _) = read(rest).ok_or_else(malformed)? else {
            return Err(malformed());
        };
        let (0x06, oid, _, params) = read(algorithm).ok_or_else(malformed)? else {
            return Err(malformed());
        };
        let key = match bits.split_first() {
            Some((0, key)) => key.to_vec(),
            _ => return Err(malformed()),
        };
        match alg {
            JwtAlgorithm::RS256 if oid == RSA_ENCRYPTION => Ok(key),
            JwtAlgorithm::ES256 if oid == EC_PUBLIC_KEY => match read(params) {
                Some((0x06, curve, _, _)) if curve == P256 => Ok(key),
                _ => Err("an EC key not on P-256; ES256 needs P-256".to_owned()),
            },
            _ => Err(format!("the key's algorithm does not fit {alg}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn hs256_round_trip_and_checks() {
        let issuer = JwtIssuer::new(JwtKey::hs256(SECRET.to_vec()))
            .issuer("iss")
            .subject("alice")
            .audience(["chat"])
            .scopes(["read", "write"]);
        let token = issuer.issue().unwrap();
        let validator = JwtValidator::new(JwtKey::hs256(SECRET.to_vec()))
            .issuer("iss")
            .audience(["chat", "other"]);
        let p = validator.validate(&token).unwrap();
        assert_eq!(p.name(), "alice");
        assert_eq!(p.scopes(), ["read", "write"]);
        assert_eq!(p.claim("iss").and_then(Value::as_str), Some("iss"));

        let wrong_key = JwtValidator::new(JwtKey::hs256(b"another secret".to_vec()));
        assert!(wrong_key
            .validate(&token)
            .unwrap_err()
            .contains("signature"));
        let wrong_iss = JwtValidator::new(JwtKey::hs256(SECRET.to_vec())).issuer("x");
        assert!(wrong_iss.validate(&token).is_err());
        let wrong_aud = JwtValidator::new(JwtKey::hs256(SECRET.to_vec())).audience(["x"]);
        assert!(wrong_aud.validate(&token).is_err());

        let expired = issuer
            .clone()
            .claim("exp", now_secs() as u64 - 100)
            .issue()
            .unwrap();
        assert!(validator
            .validate(&expired)
            .unwrap_err()
            .contains("expired"));
        let lenient = validator.clone().leeway(Duration::from_secs(200));
        assert!(lenient.validate(&expired).is_ok());

        // alg confusion: an RS256 key never accepts an HS256 token.
        let tampered = token.replacen('.', ".x", 1);
        assert!(validator.validate(&tampered).is_err());
        assert!(validator.validate("a.b").is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","exp":99999999999}"#);
        let token = format!("{header}.{payload}.");
        let validator = JwtValidator::new(JwtKey::hs256(SECRET.to_vec()));
        assert!(validator.validate(&token).is_err());
    }
}
