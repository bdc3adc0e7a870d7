//! The WebSocket client: connect to a `ws://` URL, then read and write messages from any task.
//!
//! [`Client`] re-creates Ballerina's `websocket:Client` on top of the connection engine
//! ([`crate::conn`]): the handshake happens in [`Client::connect`] / [`ClientBuilder::connect`],
//! reads pull one complete message at a time, and the engine's driver runs in a spawned task,
//! so pings are answered and a server's close is echoed even while the application is not
//! reading (unlike Ballerina's pull-based client).
//!
//! # Retry
//!
//! With [`ClientBuilder::retry`], the client reconnects when
//! - the opening handshake fails with an I/O error, a handshake timeout or a 5xx answer;
//! - a read finds the connection lost (an I/O error, or an end without a close frame: 1006);
//!   the read then goes on on the new connection;
//! - a write finds the connection lost; the message is then sent on the new connection.
//!
//! A connection the server closed with a close frame (whatever its code), a connection this
//! side closed, protocol violations and 4xx handshake answers are never retried. Before retry
//! number `n` (counted from 0) the client waits [`RetryConfig::delay`]`(n)`; the count starts
//! again after every successful connection. When the attempts run out the operation fails
//! with [`Error::Connection`].
//!
//! A reconnect opens a new WebSocket connection: [`Client::id`], [`Client::protocol`] and
//! [`Client::response`] then describe the new one; attributes stay with the `Client`.
//! Reconnection is lazy: it happens inside the read or write that met the lost connection.
//! One reconnect runs at a time; reads and writes that meet the same lost connection meanwhile
//! wait for it and go on on its connection, or fail with its [`Error::Connection`] (they do not
//! start over). A message the socket accepted just before the connection broke may still be
//! lost (WebSocket has no acknowledgements); only a write that *failed* is sent again. Pings,
//! pongs and closes are never retried.
//!
//! # Timeouts
//!
//! - Handshake ([`ClientBuilder::handshake_timeout`], 300 s): TCP connect plus the opening
//!   handshake, per attempt; [`Error::HandshakeTimedOut`].
//! - Read ([`ClientBuilder::read_timeout`], none): the wait for one message;
//!   [`Error::ReadTimedOut`], the connection untouched.
//! - Write ([`ClientBuilder::write_timeout`], none): the wait for room in the outbound buffer;
//!   [`Error::WriteTimedOut`].
//! - Close ([`ClientBuilder::close_timeout`], 60 s): the wait for the server's close frame.
//! - Keepalive ([`ClientBuilder::keepalive`], off): a ping every interval; no pong within the
//!   timeout closes the connection with 1011 "keepalive ping timeout".

use crate::caller::ConnectionId;
use crate::conn::{ConnConfig, Incoming, Keepalive, WebSocket};
use crate::error::{Closure, Error, Result};
use crate::proto::deflate::DeflateConfig;
use crate::proto::{CloseCode, CloseFrame, Limits, Message, Utf8Bytes};
use crate::stream::ConnectOptions;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Default largest frame payload, received or sent: 64 KiB (Ballerina's default).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 << 10;
/// Default largest received message, after decompression: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;
/// Default time allowed for the TCP connection plus the opening handshake: 300 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default time [`Client::close`] waits for the server's close frame: 60 s.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type PingHandler = Arc<dyn Fn(Client, Bytes) -> BoxFuture<Option<Bytes>> + Send + Sync>;
type PongHandler = Arc<dyn Fn(Client, Bytes) -> BoxFuture<()> + Send + Sync>;
type RetryHook = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;
type Attributes = HashMap<String, Arc<dyn Any + Send + Sync>>;

/// When and how often a [`Client`] reconnects; see the [module docs](self#retry).
///
/// The delay before retry `n` (0-based) is `min(interval * backoff_factor^n, max_wait)`.
/// Defaults: 10 retries, 1 s interval, factor 2.0, at most 30 s between attempts (so 1, 2, 4,
/// 8, 16, 30, 30, ... s).
///
/// ```
/// use std::time::Duration;
/// use ws_framework::client::RetryConfig;
///
/// let retry = RetryConfig::new().max_count(3).interval(Duration::from_millis(100)).backoff_factor(3.0);
/// assert_eq!(retry.delay(0), Duration::from_millis(100));
/// assert_eq!(retry.delay(2), Duration::from_millis(900));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// How many times to retry after a failure before giving up (default 10). 0 never retries;
    /// there is no "unlimited", but `u32::MAX` comes close.
    pub max_count: u32,
    /// The delay before the first retry (default 1 s).
    pub interval: Duration,
    /// What each further delay is multiplied by (default 2.0). Values below 1 (and NaN) count
    /// as 1: delays never shrink.
    pub backoff_factor: f64,
    /// The longest delay between two attempts (default 30 s).
    pub max_wait: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_count: 10,
            interval: Duration::from_secs(1),
            backoff_factor: 2.0,
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryConfig {
    /// The defaults: 10 retries, 1 s, factor 2.0, at most 30 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`RetryConfig::max_count`].
    #[must_use]
    pub fn max_count(mut self, max_count: u32) -> Self {
        self.max_count = max_count;
        self
    }

    /// Sets [`RetryConfig::interval`].
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`RetryConfig::backoff_factor`].
    #[must_use]
    pub fn backoff_factor(mut self, factor: f64) -> Self {
        self.backoff_factor = factor;
        self
    }

    /// Sets [`RetryConfig::max_wait`].
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The delay before retry `attempt` (0 for the first retry):
    /// `min(interval * backoff_factor^attempt, max_wait)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = if self.backoff_factor >= 1.0 {
            self.backoff_factor
        } else {
            1.0
        };
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        // In nanoseconds, so that whole-millisecond schedules stay exact.
        let nanos = self.interval.as_nanos() as f64 * factor.powi(exponent);
        if !(nanos.is_finite() && nanos < self.max_wait.as_nanos() as f64) {
            self.max_wait
        } else if nanos < u64::MAX as f64 {
            Duration::from_nanos(nanos.round() as u64)
        } else {
            Duration::from_secs_f64(nanos / 1e9)
        }
    }
}

/// What [`ClientBuilder::on_retry`] is told before the client waits and tries again.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// Which retry is about to be made, from 1.
    pub attempt: u32,
    /// How long the client waits before making it ([`RetryConfig::delay`]).
    pub delay: Duration,
    /// Why: the failed handshake, or the lost connection that a read or write met.
    pub error: &'a Error,
}

/// The URL and everything a connection attempt needs; shared by all attempts.
struct Settings {
    url: String,
    uri: Uri,
    host: String,
    port: u16,
    secure: bool,
    options: ConnectOptions,
    handshake_timeout: Duration,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    close_timeout: Option<Duration>,
    retry: Option<RetryConfig>,
    on_retry: Option<RetryHook>,
    on_ping: Option<PingHandler>,
    on_pong: Option<PongHandler>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConnector>,
    auth: Option<crate::auth::ClientAuth>,
}

/// Configures and opens a [`Client`]. Made by [`Client::builder`].
///
/// Setters that take header material (headers, cookies, credentials, sub-protocols) record the
/// first invalid value; [`ClientBuilder::connect`] then fails with [`Error::InvalidArgument`]
/// before anything is sent.
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct ClientBuilder {
    url: String,
    protocols: Vec<String>,
    headers: HeaderMap,
    cookies: Vec<String>,
    authorization: Option<HeaderValue>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    handshake_timeout: Duration,
    close_timeout: Option<Duration>,
    max_frame_size: usize,
    max_message_size: usize,
    compression: bool,
    keepalive: Option<Keepalive>,
    on_ping: Option<PingHandler>,
    on_pong: Option<PongHandler>,
    retry: Option<RetryConfig>,
    on_retry: Option<RetryHook>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ClientTlsConfig>,
    auth: Option<crate::auth::ClientAuth>,
    error: Option<Error>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("protocols", &self.protocols)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("cookies", &self.cookies.len())
            .field("authorization", &self.authorization.is_some())
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("close_timeout", &self.close_timeout)
            .field("max_frame_size", &self.max_frame_size)
            .field("max_message_size", &self.max_message_size)
            .field("compression", &self.compression)
            .field("keepalive", &self.keepalive)
            .field("on_ping", &self.on_ping.is_some())
            .field("on_pong", &self.on_pong.is_some())
            .field("retry", &self.retry)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder for `url` with every default; see the setters for each default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            protocols: Vec::new(),
            headers: HeaderMap::new(),
            cookies: Vec::new(),
            authorization: None,
            read_timeout: None,
            write_timeout: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            close_timeout: Some(DEFAULT_CLOSE_TIMEOUT),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            compression: true,
            keepalive: None,
            on_ping: None,
            on_pong: None,
            retry: None,
            on_retry: None,
            #[cfg(feature = "tls")]
            tls: None,
            auth: None,
            error: None,
        }
    }

    fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Offers these sub-protocols, in order of preference (`Sec-WebSocket-Protocol`), in
    /// addition to any offered before. Default: none.
    ///
    /// When some are offered and the server selects none (or one not offered), the handshake
    /// fails with [`Error::InvalidHandshake`]. Each name must be an HTTP token.
    pub fn sub_protocols<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        for protocol in protocols {
            let protocol = protocol.into();
            if !crate::handshake::is_token(&protocol) {
                self.fail(Error::InvalidArgument(format!(
                    "sub-protocol `{protocol}` is not a valid token (no spaces, commas or separators)"
                )));
            }
            self.protocols.push(protocol);
        }
        self
    }

    /// Adds a header to the upgrade request (added to, not replacing, earlier values of the same
    /// name). The handshake's own headers (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`) cannot be overridden; use the dedicated setters.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(_), _) => self.fail(Error::InvalidArgument(format!(
                "`{name}` is not a valid header name"
            ))),
            (_, Err(_)) => self.fail(Error::InvalidArgument(format!(
                "the value of header `{name}` is not a valid header value"
            ))),
        }
        self
    }

    /// Sends a cookie with the upgrade request. All cookies go in one `Cookie: n1=v1; n2=v2`
    /// header, in the order they were added (after any `Cookie` header set with
    /// [`ClientBuilder::header`]). The name must be a token and the value RFC 6265
    /// cookie-octets (optionally in double quotes).
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        if !crate::handshake::is_token(name) {
            self.fail(Error::InvalidArgument(format!(
                "cookie name `{name}` is not a valid token"
            )));
        } else if !is_cookie_value(value) {
            self.fail(Error::InvalidArgument(format!(
                "the value of cookie `{name}` has characters a cookie value cannot carry (space, `;`, `,`, `\"`, `\\`, controls)"
            )));
        } else {
            self.cookies.push(format!("{name}={value}"));
        }
        self
    }

    /// Sends `Authorization: Basic base64(username:password)`, replacing earlier credentials.
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        if username.contains(':') {
            self.fail(Error::Auth(format!(
                "a Basic user name cannot contain `:` (got `{username}`)"
            )));
            return self;
        }
        let encoded = BASE64.encode(format!("{username}:{password}"));
        self.set_authorization(format!("Basic {encoded}"));
        self
    }

    /// Sends `Authorization: Bearer <token>`, replacing earlier credentials.
    pub fn bearer_auth(mut self, token: &str) -> Self {
        self.set_authorization(format!("Bearer {token}"));
        self
    }

    fn set_authorization(&mut self, value: String) {
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.authorization = Some(value);
            }
            Err(_) => self.fail(Error::Auth(
                "the credentials are not a valid header value".into(),
            )),
        }
    }

    /// Fails a read with [`Error::ReadTimedOut`] when no message arrives within `timeout`; the
    /// connection is left untouched and the next read may succeed. Default: no timeout.
    ///
    /// The time counts while the client waits for a message on a connection (and for another
    /// task's read to finish); reconnecting is bounded by the handshake timeout and the retry
    /// settings instead.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Fails a write with [`Error::WriteTimedOut`] when it cannot be queued within `timeout`
    /// (the outbound buffer stays full because the server does not read). Default: no timeout.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = Some(timeout);
        self
    }

    /// Bounds the TCP connection plus the opening handshake; expiry fails the attempt with
    /// [`Error::HandshakeTimedOut`]. Default 300 s. Has no effect once connected.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long [`Client::close`] (with `timeout: None`) waits for the server's close frame
    /// before closing the socket anyway. Default 60 s; `None` waits forever.
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The largest frame payload: received frames above it fail the connection with
    /// [`Error::PayloadTooLarge`] (close 1009), and sent messages are split into frames of at
    /// most this many bytes. Default 65536; 0 means the default.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = if bytes == 0 {
            DEFAULT_MAX_FRAME_SIZE
        } else {
            bytes
        };
        self
    }

    /// The largest received message, counted after decompression; bigger ones fail the
    /// connection with [`Error::PayloadTooLarge`]. Default 16 MiB; 0 means the default.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = if bytes == 0 {
            DEFAULT_MAX_MESSAGE_SIZE
        } else {
            bytes
        };
        self
    }

    /// Offers permessage-deflate (RFC 7692). Default on; compressed messages from the server
    /// are decompressed transparently.
    pub fn compression(mut self, enabled: bool) -> Self {
        self.compression = enabled;
        self
    }

    /// Sends a ping every `interval` and closes the connection with 1011 "keepalive ping
    /// timeout" when no pong arrives within `timeout`, so a server that vanished without
    /// closing TCP is noticed. Default: off (`None`).
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Calls `handler` with each ping from the server; when it returns `Some(payload)`, that is
    /// sent as the pong. Without `on_ping`, pings are answered automatically with their own
    /// payload.
    ///
    /// Handlers run one at a time on a background task of the connection, so they are called
    /// even while the application is not reading; keep them short (a handler that waits blocks
    /// the next ping and pong, not the reads).
    pub fn on_ping<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Client, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Bytes>> + Send + 'static,
    {
        self.on_ping = Some(Arc::new(move |client, payload| {
            Box::pin(handler(client, payload))
        }));
        self
    }

    /// Calls `handler` with each pong from the server (answers to [`Client::ping`] and
    /// unsolicited ones), on the same background task as [`ClientBuilder::on_ping`]. Without it
    /// pongs are discarded.
    pub fn on_pong<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Client, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_pong = Some(Arc::new(move |client, payload| {
            Box::pin(handler(client, payload))
        }));
        self
    }

    /// TLS settings for `wss://` (default: the webpki roots, host-name verification on).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Credentials produced before every connection attempt (Basic, Bearer, a self-signed JWT,
    /// an OAuth2 client-credentials token refreshed on expiry).
    pub fn auth(mut self, auth: crate::auth::ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Reconnects as described in the [module docs](self#retry). Default: no retry.
    pub fn retry(mut self, config: RetryConfig) -> Self {
        self.retry = Some(config);
        self
    }

    /// Calls `hook` each time the client is about to wait and try to connect again (for
    /// logging or metrics). Only called with [`ClientBuilder::retry`].
    pub fn on_retry<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Connects, performs the opening handshake (retrying as configured) and returns the
    /// client. Must be called inside a tokio runtime: the connection runs in spawned tasks.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidUrl`]: no scheme, a scheme other than `ws` (`wss://` is not supported
    ///   yet), no host, or a malformed URL.
    /// - [`Error::InvalidArgument`] / [`Error::Auth`]: an invalid header, cookie, sub-protocol
    ///   or credential given to the builder.
    /// - [`Error::Connection`]: the host cannot be reached (refused, unknown host), or the
    ///   retries ran out.
    /// - [`Error::HandshakeTimedOut`]: no handshake within the handshake timeout.
    /// - [`Error::InvalidHandshake`]: the server refused the upgrade (its status is in the
    ///   error) or answered wrongly, for example without a sub-protocol when some were offered.
    pub async fn connect(self) -> Result<Client> {
        let settings = Arc::new(self.into_settings()?);
        let conn = connect_retrying(&settings, None, &|| None).await?;
        let inner = Arc::new(Inner {
            settings,
            current: Mutex::new(Arc::new(conn)),
            read_lock: tokio::sync::Mutex::new(()),
            reconnect_lock: tokio::sync::Mutex::new(None),
            failed_reconnects: AtomicU64::new(0),
            user_close: Mutex::new(None),
            attributes: Mutex::new(HashMap::new()),
        });
        let client = Client { inner };
        client.start_control(&client.current());
        Ok(client)
    }

    fn into_settings(self) -> Result<Settings> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let target = parse_url(&self.url)?;
        #[cfg(feature = "tls")]
        let tls = if target.secure {
            Some(self.tls.unwrap_or_default().build()?)
        } else {
            None
        };
        if let Some(auth) = &self.auth {
            auth.prepare()?;
        }
        let mut headers = self.headers;
        if !self.cookies.is_empty() {
            let mut cookie = existing_cookie(&headers)
                .map(|existing| format!("{existing}; "))
                .unwrap_or_default();
            cookie.push_str(&self.cookies.join("; "));
            let value = HeaderValue::try_from(cookie).map_err(|_| {
                Error::InvalidArgument("the Cookie header is not a valid header value".into())
            })?;
            headers.insert(http::header::COOKIE, value);
        }
        if let Some(authorization) = self.authorization {
            headers.insert(http::header::AUTHORIZATION, authorization);
        }
        let on_ping = self.on_ping;
        let on_pong = self.on_pong;
        let conn = ConnConfig {
            limits: Limits {
                max_frame_size: self.max_frame_size,
                max_message_size: self.max_message_size,
            },
            max_send_frame_size: self.max_frame_size,
            close_timeout: self.close_timeout,
            auto_pong: on_ping.is_none(),
            deliver_pongs: on_pong.is_some(),
            separate_control: on_ping.is_some() || on_pong.is_some(),
            keepalive: self.keepalive,
            ..ConnConfig::default()
        };
        let options = ConnectOptions {
            protocols: self.protocols,
            deflate: self.compression.then(DeflateConfig::default),
            headers,
            conn,
        };
        Ok(Settings {
            url: self.url,
            uri: target.uri,
            host: target.host,
            port: target.port,
            secure: target.secure,
            options,
            handshake_timeout: self.handshake_timeout,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            close_timeout: self.close_timeout,
            retry: self.retry,
            on_retry: self.on_retry,
            on_ping,
            on_pong,
            #[cfg(feature = "tls")]
            tls,
            auth: self.auth,
        })
    }
}

/// The `Cookie` header already set through [`ClientBuilder::header`], if any, as one value.
fn existing_cookie(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join("; "))
}

/// RFC 6265 section 4.1.1: `cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )`.
fn is_cookie_value(value: &str) -> bool {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    inner
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

struct Target {
    uri: Uri,
    host: String,
    port: u16,
    secure: bool,
}

/// Checks `url` before anything is sent, with an error that says what to write instead.
fn parse_url(url: &str) -> Result<Target> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(invalid(
            "no scheme; write it as ws://host[:port]/path".into(),
        ));
    };
    let secure = if scheme.eq_ignore_ascii_case("ws") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") {
        #[cfg(not(feature = "tls"))]
        return Err(invalid("wss:// needs ws-framework's `tls` feature".into()));
        #[cfg(feature = "tls")]
        true
    } else if scheme.is_empty() {
        return Err(invalid(
            "no scheme; write it as ws://host[:port]/path".into(),
        ));
    } else {
        return Err(invalid(format!("unsupported scheme `{scheme}`; use ws://")));
    };
    let uri: Uri = url
        .parse()
        .map_err(|e| invalid(format!("malformed URL: {e}")))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("no host; write it as ws://host[:port]/path".into()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    Ok(Target {
        uri,
        host,
        port,
        secure,
    })
}

/// One open WebSocket connection of a client (a reconnect replaces it).
#[derive(Debug)]
struct Conn {
    ws: WebSocket,
    response: Arc<http::Response<()>>,
}

impl Conn {
    /// Identifies the connection for reconnects: ids are unique within the process.
    fn generation(&self) -> u64 {
        self.ws.id()
    }
}

/// TCP connect plus handshake, bounded by the handshake timeout.
async fn open(settings: &Settings) -> Result<Conn> {
    let attempt = async {
        let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
            .await
            .map_err(|e| {
                Error::Connection(std::io::Error::new(
                    e.kind(),
                    format!("cannot connect to {}:{}: {e}", settings.host, settings.port),
                ))
            })?;
        let _ = tcp.set_nodelay(true);
        let mut options = settings.options.clone();
        if let Some(auth) = &settings.auth {
            options
                .headers
                .insert(http::header::AUTHORIZATION, auth.authorization().await?);
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &settings.tls {
            let stream = tls.connect(&settings.host, tcp).await?;
            return handshake(settings, &options, stream)
                .await
                .map_err(crate::tls::refine_error);
        }
        handshake(settings, &options, tcp).await
    };
    tokio::time::timeout(settings.handshake_timeout, attempt)
        .await
        .map_err(|_| Error::HandshakeTimedOut)?
}

/// The opening handshake over any stream; spawns the connection's driver.
async fn handshake<S>(settings: &Settings, options: &ConnectOptions, stream: S) -> Result<Conn>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (ws, driver, response) = crate::stream::connect_stream(stream, &settings.uri, options)
        .await
        .inspect_err(|e| {
            if let (
                Some(auth),
                Error::InvalidHandshake {
                    status: Some(status),
                    ..
                },
            ) = (&settings.auth, e)
            {
                if *status == http::StatusCode::UNAUTHORIZED {
                    auth.invalidate(); // the next attempt fetches a fresh token
                }
            }
        })?;
    tokio::spawn(driver);
    Ok(Conn {
        ws,
        response: Arc::new(response),
    })
}

/// Whether a failed connection attempt is worth repeating.
fn is_retryable_connect(error: &Error) -> bool {
    match error {
        Error::Connection(_) | Error::HandshakeTimedOut => true,
        Error::InvalidHandshake {
            status: Some(status),
            ..
        } => status.is_server_error(),
        _ => false,
    }
}

/// Whether an error from a read or write means the connection was lost (not closed).
fn is_connection_lost(error: &Error) -> bool {
    matches!(error, Error::Connection(_)) || error.close_code() == Some(CloseCode::ABNORMAL)
}

/// Opens a connection, retrying as configured. With `lost`, a connection was lost: the first
/// attempt is itself a retry (so a server that accepts and drops at once is not hammered).
///
/// `closed` says whether the application closed the client meanwhile (then: the error to
/// return instead of connecting).
async fn connect_retrying(
    settings: &Settings,
    lost: Option<Error>,
    closed: &(dyn Fn() -> Option<Error> + Sync),
) -> Result<Conn> {
    let Some(retry) = &settings.retry else {
        return match lost {
            Some(error) => Err(error),
            None => open(settings).await,
        };
    };
    let mut retries = 0u32;
    let mut failure = lost;
    loop {
        if let Some(error) = failure.take() {
            if retries >= retry.max_count {
                return Err(exhausted(settings, retries, &error));
            }
            let delay = retry.delay(retries);
            retries += 1;
            if let Some(hook) = &settings.on_retry {
                hook(&RetryEvent {
                    attempt: retries,
                    delay,
                    error: &error,
                });
            }
            tokio::time::sleep(delay).await;
        }
        if let Some(error) = closed() {
            return Err(error);
        }
        match open(settings).await {
            Ok(conn) => return Ok(conn),
            Err(error) if is_retryable_connect(&error) => failure = Some(error),
            Err(error) => return Err(error),
        }
    }
}

fn exhausted(settings: &Settings, retries: u32, last: &Error) -> Error {
    let kind = match last {
        Error::Connection(e) => e.kind(),
        Error::HandshakeTimedOut => std::io::ErrorKind::TimedOut,
        _ => std::io::ErrorKind::Other,
    };
    Error::Connection(std::io::Error::new(
        kind,
        format!(
            "gave up on {} after {retries} retries; last error: {last}",
            settings.url
        ),
    ))
}

struct Inner {
    settings: Arc<Settings>,
    current: Mutex<Arc<Conn>>,
    /// One read at a time: the engine keeps a single reader.
    read_lock: tokio::sync::Mutex<()>,
    /// One reconnect at a time; the others use its result: the new connection, or the failure
    /// kept here.
    reconnect_lock: tokio::sync::Mutex<Option<FailedReconnect>>,
    /// Reconnects that failed so far (numbers [`FailedReconnect::number`]).
    failed_reconnects: AtomicU64,
    /// The close frame the application sent with [`Client::close`]; no retry after it.
    user_close: Mutex<Option<CloseFrame>>,
    attributes: Mutex<Attributes>,
}

/// The last reconnect that gave up, for the tasks that waited for it.
struct FailedReconnect {
    /// The lost connection it tried to replace.
    generation: u64,
    /// Its number in [`Inner::failed_reconnects`].
    number: u64,
    kind: std::io::ErrorKind,
    message: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No invariant spans a panic point in the data these mutexes guard.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Drop for Inner {
    /// The last handle is gone: close the connection (1001 going away) so its tasks end.
    fn drop(&mut self) {
        let ws = lock(&self.current).ws.clone();
        if !ws.is_open() {
            return;
        }
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "client dropped");
        let timeout = self.settings.close_timeout.unwrap_or(DEFAULT_CLOSE_TIMEOUT);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = ws.close(Some(frame), Some(timeout)).await;
                });
            }
            Err(_) => ws.abort(),
        }
    }
}

/// A WebSocket client: Ballerina's `websocket:Client`.
///
/// Cheap to clone, `Send + Sync`: clones share the connection, so one task may read while
/// others write. Reads are served one at a time, each getting the next complete message;
/// writes may run concurrently. Pings are answered and the server's close is echoed in the
/// background, whether or not anyone is reading. Dropping the last clone closes the
/// connection with 1001 (going away).
///
/// ```no_run
/// use ws_framework::Client;
///
/// # async fn demo() -> ws_framework::Result<()> {
/// let client = Client::connect("ws://127.0.0.1:9001/").await?;
/// client.write_text("hello").await?;
/// let echoed: String = client.read_text().await?;
/// assert_eq!(echoed, "hello");
///
/// #[derive(serde::Deserialize)]
/// struct Coord { x: i32, y: i32 }
/// client.write_text(r#"{"x":1,"y":2}"#).await?;
/// let coord: Coord = client.read_message().await?;
/// assert_eq!((coord.x, coord.y), (1, 2));
///
/// client.close(1000, "done", None).await?;
/// # Ok(())
/// # }
/// ```
///
/// Use [`Client::builder`] for sub-protocols, headers, cookies, credentials, timeouts, limits,
/// compression, ping/pong handlers and retry.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let conn = self.current();
        f.debug_struct("Client")
            .field("url", &self.inner.settings.url)
            .field("id", &conn.ws.id())
            .field("protocol", &conn.ws.protocol())
            .field("open", &self.is_open())
            .finish()
    }
}

impl Client {
    /// Connects to `url` (`ws://host[:port]/path`) with every default; see
    /// [`ClientBuilder::connect`] for the errors.
    pub async fn connect(url: impl Into<String>) -> Result<Self> {
        ClientBuilder::new(url).connect().await
    }

    /// A builder for a client of `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    fn current(&self) -> Arc<Conn> {
        lock(&self.inner.current).clone()
    }

    fn user_closed(&self) -> bool {
        lock(&self.inner.user_close).is_some()
    }

    /// After [`Client::close`]: the error reads and reconnects fail with, carrying the code the
    /// connection ended with (or, while the handshake is still under way, the code sent).
    fn closed_by_user(&self) -> Option<Error> {
        let frame = lock(&self.inner.user_close).clone()?;
        let (code, reason) = self
            .current()
            .ws
            .close_status()
            .unwrap_or((frame.code, frame.reason.into_owned()));
        Some(Error::closed(code, reason))
    }

    /// Spawns the task that feeds pings and pongs to the handlers, when there are any.
    fn start_control(&self, conn: &Conn) {
        let settings = &self.inner.settings;
        if settings.on_ping.is_none() && settings.on_pong.is_none() {
            return;
        }
        let ws = conn.ws.clone();
        let client: Weak<Inner> = Arc::downgrade(&self.inner);
        let on_ping = settings.on_ping.clone();
        let on_pong = settings.on_pong.clone();
        tokio::spawn(async move {
            // Ends when the connection ends (`recv_control` fails) or the client is gone.
            while let Ok(control) = ws.recv_control().await {
                let Some(inner) = client.upgrade() else { break };
                let client = Client { inner };
                match (control, &on_ping, &on_pong) {
                    (Incoming::Ping(payload), Some(handler), _) => {
                        if let Some(reply) = handler(client, payload).await {
                            let _ = ws.pong(reply).await;
                        }
                    }
                    (Incoming::Pong(payload), _, Some(handler)) => handler(client, payload).await,
                    _ => {}
                }
            }
        });
    }

    /// Replaces the connection `failed` (lost with `cause`) with a new one, unless another task
    /// already did; returns the connection to use. Tasks that waited while another one's
    /// reconnect gave up fail with that failure instead of starting over.
    async fn reconnect(&self, failed: u64, cause: Error) -> Result<Arc<Conn>> {
        let failures_before = self.inner.failed_reconnects.load(Ordering::Acquire);
        let mut last_failure = self.inner.reconnect_lock.lock().await;
        let current = self.current();
        if current.generation() != failed {
            return Ok(current);
        }
        if let Some(failure) = last_failure.as_ref() {
            if failure.generation == failed && failure.number > failures_before {
                return Err(Error::Connection(std::io::Error::new(
                    failure.kind,
                    failure.message.clone(),
                )));
            }
        }
        if let Some(error) = self.closed_by_user() {
            return Err(error);
        }
        let connected =
            connect_retrying(&self.inner.settings, Some(cause), &|| self.closed_by_user()).await;
        let conn = match connected {
            Ok(conn) => Arc::new(conn),
            Err(error) => {
                let number = self.inner.failed_reconnects.fetch_add(1, Ordering::AcqRel) + 1;
                let (kind, message) = match &error {
                    Error::Connection(e) => (e.kind(), e.to_string()),
                    other => (std::io::ErrorKind::Other, other.to_string()),
                };
                *last_failure = Some(FailedReconnect {
                    generation: failed,
                    number,
                    kind,
                    message,
                });
                return Err(error);
            }
        };
        {
            // Under the `current` lock, as in `close`: a close either sees the new connection
            // or is seen here.
            let mut current = lock(&self.inner.current);
            let user_close = lock(&self.inner.user_close).clone();
            if let Some(frame) = user_close {
                // `close` ran while we were connecting: the application wants no connection.
                let _ = conn.ws.start_close(Some(frame.clone()));
                return Err(Error::closed(frame.code, frame.reason));
            }
            *current = conn.clone();
        }
        self.start_control(&conn);
        Ok(conn)
    }

    fn should_retry(&self, error: &Error) -> bool {
        self.inner.settings.retry.is_some() && is_connection_lost(error) && !self.user_closed()
    }

    /// Sends a data message: fragmented at the max frame size, compressed when negotiated.
    ///
    /// With retry, a message whose connection was found lost is sent again on a new one.
    ///
    /// # Errors
    ///
    /// - [`Error::ConnectionClosure`]: a close frame was sent ("close frame already sent;
    ///   cannot push text data") or the connection ended.
    /// - [`Error::WriteTimedOut`]: the message could not be queued within the write timeout.
    /// - [`Error::Connection`]: the connection was lost and could not be re-established.
    pub async fn write(&self, message: Message) -> Result<()> {
        loop {
            let conn = self.current();
            let sent = match self.inner.settings.write_timeout {
                Some(t) => tokio::time::timeout(t, conn.ws.send(message.clone()))
                    .await
                    .map_err(|_| Error::WriteTimedOut)?,
                None => conn.ws.send(message.clone()).await,
            };
            match sent {
                Err(error) if self.should_retry(&error) => {
                    self.reconnect(conn.generation(), error).await?;
                }
                other => return other,
            }
        }
    }

    /// Sends a text message; see [`Client::write`].
    pub async fn write_text(&self, text: impl Into<Utf8Bytes>) -> Result<()> {
        self.write(Message::Text(text.into())).await
    }

    /// Sends a binary message; see [`Client::write`].
    pub async fn write_binary(&self, data: impl Into<Bytes>) -> Result<()> {
        self.write(Message::Binary(data.into())).await
    }

    /// Sends a value: a string as text, bytes (`serde_bytes`) as binary, anything else as JSON
    /// text; see [`crate::binding::to_message`] and [`Client::write`].
    ///
    /// # Errors
    ///
    /// [`Error::PayloadBinding`] when the value cannot be serialised, else as [`Client::write`].
    pub async fn write_message<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.write(crate::binding::to_message(value)?).await
    }

    /// Waits for the next complete (reassembled, decompressed) message.
    ///
    /// With retry, a connection lost while waiting is re-established and the read goes on
    /// there.
    ///
    /// # Errors
    ///
    /// - [`Error::ConnectionClosure`] with [`Closure::Closed`]: the server closed the
    ///   connection (its code and reason; 1005 when it sent none), the connection was lost
    ///   (1006), or [`Client::close`] was called before.
    /// - [`Error::ReadTimedOut`]: nothing arrived within the read timeout; the connection is
    ///   untouched.
    /// - [`Error::PayloadTooLarge`] / [`Error::CorruptedFrame`]: the server exceeded a limit
    ///   or broke the protocol; the connection is failed (reported once, then
    ///   [`Error::ConnectionClosure`]).
    /// - [`Error::Connection`]: the connection was lost and could not be re-established.
    pub async fn read(&self) -> Result<Message> {
        let timeout = self.inner.settings.read_timeout;
        let _one_reader = match timeout {
            Some(t) => tokio::time::timeout(t, self.inner.read_lock.lock())
                .await
                .map_err(|_| Error::ReadTimedOut)?,
            None => self.inner.read_lock.lock().await,
        };
        loop {
            if let Some(error) = self.closed_by_user() {
                return Err(error);
            }
            let conn = self.current();
            let received = match timeout {
                Some(t) => tokio::time::timeout(t, conn.ws.recv())
                    .await
                    .map_err(|_| Error::ReadTimedOut)?,
                None => conn.ws.recv().await,
            };
            match received {
                Ok(Incoming::Message(message)) => return Ok(message),
                Ok(Incoming::Close(Some(frame))) => {
                    return Err(Error::closed(frame.code, frame.reason))
                }
                Ok(Incoming::Close(None)) => return Err(Error::closed(CloseCode::NO_STATUS, "")),
                // Control frames go to the control task or are answered by the driver.
                Ok(Incoming::Ping(_) | Incoming::Pong(_)) => {}
                Err(error) if self.should_retry(&error) => {
                    self.reconnect(conn.generation(), error).await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads the next message, which must be text.
    ///
    /// # Errors
    ///
    /// [`Error::PayloadBinding`] when a binary message arrives (it is consumed; the connection
    /// stays open); otherwise as [`Client::read`].
    pub async fn read_text(&self) -> Result<String> {
        match self.read().await? {
            Message::Text(text) => Ok(text.into()),
            Message::Binary(data) => Err(Error::PayloadBinding(format!(
                "expected a text message, received a binary message of {} bytes",
                data.len()
            ))),
        }
    }

    /// Reads the next message, which must be binary.
    ///
    /// # Errors
    ///
    /// [`Error::PayloadBinding`] when a text message arrives (it is consumed; the connection
    /// stays open); otherwise as [`Client::read`].
    pub async fn read_binary(&self) -> Result<Bytes> {
        match self.read().await? {
            Message::Binary(data) => Ok(data),
            Message::Text(text) => Err(Error::PayloadBinding(format!(
                "expected a binary message, received a text message of {} bytes",
                text.len()
            ))),
        }
    }

    /// Reads the next message and binds it to `T` ([`crate::binding`]): text to `String` raw
    /// and to anything else as JSON; binary to `Vec<u8>` raw and to anything else as UTF-8
    /// JSON.
    ///
    /// # Errors
    ///
    /// [`Error::PayloadBinding`] when the message does not fit `T` (it is consumed; the
    /// connection stays open); otherwise as [`Client::read`].
    pub async fn read_message<T: DeserializeOwned>(&self) -> Result<T> {
        crate::binding::from_message(&self.read().await?)
    }

    /// Sends a ping. The server's pong goes to [`ClientBuilder::on_pong`], if set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `payload` is over 125 bytes; [`Error::ConnectionClosure`]
    /// once closed. Pings are not retried.
    pub async fn ping(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.current().ws.ping(payload).await
    }

    /// Sends an (unsolicited, or handler-made) pong; errors as [`Client::ping`].
    pub async fn pong(&self, payload: impl Into<Bytes>) -> Result<()> {
        self.current().ws.pong(payload).await
    }

    /// Starts the closing handshake with `code` and `reason`, and waits for the server's close
    /// frame up to `timeout` (`None`: the builder's close timeout, 60 s by default;
    /// `Some(Duration::ZERO)`: do not wait). The socket is closed in any case; nothing is
    /// retried afterwards, and reads and writes fail with [`Error::ConnectionClosure`].
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionClosure`] with
    /// - [`Closure::InvalidCode`]: `code` is not 1000-1003, 1007-1011 or 3000-4999 (nothing is
    ///   sent; the connection stays open);
    /// - [`Closure::CloseSent`]: a close frame was already sent ("cannot send close frame
    ///   again");
    /// - [`Closure::CloseTimeout`]: the server did not answer in time;
    /// - [`Closure::Closed`]: the connection had already ended.
    pub async fn close(
        &self,
        code: impl Into<CloseCode>,
        reason: impl Into<String>,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let frame = CloseFrame::new(code.into(), reason);
        if !frame.code.is_sendable() {
            return Err(Error::ConnectionClosure(Closure::InvalidCode(
                frame.code.as_u16(),
            )));
        }
        let ws = {
            let current = lock(&self.inner.current);
            lock(&self.inner.user_close).get_or_insert_with(|| frame.clone());
            current.ws.clone()
        };
        match timeout {
            Some(Duration::ZERO) => ws.start_close(Some(frame)),
            timeout => ws.close(Some(frame), timeout).await,
        }
    }

    /// Stores an attribute on the client, replacing any previous value under `key`. Attributes
    /// belong to the `Client` and survive reconnects.
    pub fn set_attribute<T: Any + Send + Sync>(&self, key: impl Into<String>, value: T) {
        lock(&self.inner.attributes).insert(key.into(), Arc::new(value));
    }

    /// A copy of attribute `key`, if present and of type `T`.
    pub fn attribute<T: Any + Send + Sync + Clone>(&self, key: &str) -> Option<T> {
        lock(&self.inner.attributes)
            .get(key)
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Removes attribute `key`, returning it if it was of type `T`.
    pub fn remove_attribute<T: Any + Send + Sync + Clone>(&self, key: &str) -> Option<T> {
        lock(&self.inner.attributes)
            .remove(key)
            .and_then(|v| v.downcast_ref::<T>().cloned())
    }

    /// The id of the current connection, unique within the process; the same from every clone
    /// and task. A reconnect (retry) opens a new connection with a new id.
    pub fn id(&self) -> ConnectionId {
        ConnectionId(self.current().ws.id())
    }

    /// The sub-protocol the server selected, if any.
    pub fn protocol(&self) -> Option<String> {
        self.current().ws.protocol().map(str::to_owned)
    }

    /// Whether the connection runs over TLS (`wss://`); always false until TLS is supported.
    pub fn is_secure(&self) -> bool {
        self.inner.settings.secure
    }

    /// Whether messages can still be sent: no close frame sent and the connection not ended.
    /// With retry, a lost connection reports false until a read or write reconnects.
    pub fn is_open(&self) -> bool {
        self.current().ws.is_open()
    }

    /// Whether permessage-deflate was negotiated.
    pub fn is_compressed(&self) -> bool {
        self.current().ws.deflate().is_some()
    }

    /// The server's `101 Switching Protocols` response (status and headers, for example
    /// `Set-Cookie`) of the current connection.
    pub fn response(&self) -> Arc<http::Response<()>> {
        self.current().response.clone()
    }

    /// The URL the client connects to, as given.
    pub fn url(&self) -> &str {
        &self.inner.settings.url
    }

    /// The engine handle of the current connection (for example to await
    /// [`WebSocket::closed`]).
    pub fn websocket(&self) -> WebSocket {
        self.current().ws.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_by_the_factor_up_to_max_wait() {
        let retry = RetryConfig::new()
            .interval(Duration::from_millis(100))
            .backoff_factor(2.0)
            .max_wait(Duration::from_secs(1));
        let delays: Vec<_> = (0..6).map(|n| retry.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn retry_delay_never_shrinks_or_overflows() {
        let shrinking = RetryConfig::new()
            .interval(Duration::from_millis(50))
            .backoff_factor(0.5);
        assert_eq!(shrinking.delay(3), Duration::from_millis(50));
        let nan = RetryConfig::new().backoff_factor(f64::NAN);
        assert_eq!(nan.delay(5), Duration::from_secs(1));
        let huge = RetryConfig::new().max_wait(Duration::from_secs(30));
        assert_eq!(huge.delay(u32::MAX), Duration::from_secs(30));
        let infinite = RetryConfig::new().backoff_factor(f64::INFINITY);
        assert_eq!(infinite.delay(1), Duration::from_secs(30));
    }

    #[test]
    fn default_retry_schedule() {
        let retry = RetryConfig::default();
        let delays: Vec<_> = (0..7).map(|n| retry.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry.max_count, 10);
    }

    #[test]
    fn urls_are_checked_with_clear_reasons() {
        let reason = |url: &str| match parse_url(url) {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            Err(other) => panic!("{url}: unexpected error {other}"),
            Ok(_) => panic!("{url}: accepted"),
        };
        assert!(reason("127.0.0.1:9090/echo").contains("no scheme"));
        assert!(reason("localhost/echo").contains("no scheme"));
        assert!(reason("http://localhost/").contains("unsupported scheme `http`"));
        #[cfg(not(feature = "tls"))]
        assert!(reason("wss://localhost/").contains("tls"));
        assert!(
            reason("ws:///path").contains("no host") || reason("ws:///path").contains("malformed")
        );
        assert!(reason("ws://exa mple/").contains("malformed"));
        let ok = parse_url("WS://[::1]:9001/chat?x=1").unwrap();
        assert_eq!((ok.host.as_str(), ok.port, ok.secure), ("::1", 9001, false));
        assert_eq!(parse_url("ws://example.com/").unwrap().port, 80);
    }

    #[test]
    fn cookie_values_follow_rfc_6265() {
        assert!(is_cookie_value("abc123"));
        assert!(is_cookie_value("\"quoted\""));
        assert!(is_cookie_value(""));
        assert!(!is_cookie_value("a b"));
        assert!(!is_cookie_value("a;b"));
        assert!(!is_cookie_value("a,b"));
    }

    #[test]
    fn builder_errors_surface_at_connect() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(
                Client::builder("ws://127.0.0.1:1/")
                    .header("bad header", "x")
                    .connect(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        let err = runtime
            .block_on(
                Client::builder("ws://127.0.0.1:1/")
                    .sub_protocols(["a b"])
                    .connect(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        let err = runtime
            .block_on(
                Client::builder("ws://127.0.0.1:1/")
                    .cookie("k", "v;x")
                    .connect(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }

    #[test]
    fn client_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Client>();
    }
}
