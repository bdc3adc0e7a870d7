//! Testing services: a server on an ephemeral port and a connected client, each in one line.
//!
//! ```
//! use ws_framework::{on_text, testing, ws_service};
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! #[ws_service("/echo")]
//! impl Echo {
//!     #[on_text]
//!     async fn text(&self, text: String) -> String {
//!         text
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a test: #[tokio::test] async fn echoes() { ... }
//! let server = testing::serve::<Echo>().await;
//! let client = server.client("/echo").await;
//! client.write_text("hello").await.unwrap();
//! assert_eq!(client.read_text().await.unwrap(), "hello");
//! # }
//! ```
//!
//! The server listens on `127.0.0.1:0` (a free port, so tests run in parallel), runs in the
//! test's runtime, and stops when the [`TestServer`] is dropped. The helpers panic on failure,
//! with a message saying what failed, as test code wants; [`TestServer::try_client`] returns
//! the error instead, for tests of refusals.

use crate::client::{Client, ClientBuilder};
use crate::error::Result;
use crate::listener::{Listener, ListenerConfig};
use crate::service::Service;
use std::net::SocketAddr;
use std::time::Duration;

/// How long [`TestServer::client`] waits for the handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Listener`] on an ephemeral port of 127.0.0.1, started; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    listener: Listener,
    scheme: &'static str,
}

/// Starts a server for `S` with its default state.
///
/// # Panics
///
/// When the port cannot be bound or `S` cannot be attached (an invalid setting).
pub async fn serve<S: Service>() -> TestServer
where
    S::State: Default,
{
    serve_with::<S>(S::State::default()).await
}

/// Starts a server for `S` with `state`.
///
/// # Panics
///
/// As [`serve`].
pub async fn serve_with<S: Service>(state: S::State) -> TestServer {
    let server = TestServer::start(ListenerConfig::default()).await;
    server.attach_with::<S>(state);
    server
}

impl TestServer {
    /// Starts a server with `config` and no service yet; attach them with
    /// [`TestServer::attach`] (a running listener accepts new services).
    ///
    /// # Panics
    ///
    /// When the port cannot be bound or the TLS settings are invalid.
    pub async fn start(config: ListenerConfig) -> Self {
        #[cfg(feature = "tls")]
        let scheme = if config.tls.is_some() { "wss" } else { "ws" };
        #[cfg(not(feature = "tls"))]
        let scheme = "ws";
        let listener = Listener::bind_with("127.0.0.1:0", config)
            .await
            .unwrap_or_else(|e| panic!("cannot bind a test server on 127.0.0.1:0: {e}"));
        listener
            .start()
            .unwrap_or_else(|e| panic!("cannot start the test server: {e}"));
        Self { listener, scheme }
    }

    /// Attaches another service, with its default state.
    ///
    /// # Panics
    ///
    /// When `S` cannot be attached (an invalid setting, or its path is taken).
    pub fn attach<S: Service>(&self) -> &Self
    where
        S::State: Default,
    {
        self.attach_with::<S>(S::State::default())
    }

    /// Attaches another service with `state`.
    ///
    /// # Panics
    ///
    /// As [`TestServer::attach`].
    pub fn attach_with<S: Service>(&self, state: S::State) -> &Self {
        self.listener.attach_with::<S>(state).unwrap_or_else(|e| {
            panic!(
                "cannot attach `{}` to the test server: {e}",
                std::any::type_name::<S>()
            )
        });
        self
    }

    /// The URL of `path` on this server: `ws://127.0.0.1:PORT/path` (`wss://` with TLS).
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}://{}{slash}{path}", self.scheme, self.addr())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr()
    }

    /// The listener underneath: its hub, connection count, `graceful_stop`...
    pub fn listener(&self) -> &Listener {
        &self.listener
    }

    /// A client connected to `path`, with every default.
    ///
    /// # Panics
    ///
    /// When the connection fails or takes more than 10 seconds.
    pub async fn client(&self, path: &str) -> Client {
        let url = self.url(path);
        match tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(url.clone())).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("cannot connect to {url}: {e}"),
            Err(_) => panic!("connecting to {url} took more than {CONNECT_TIMEOUT:?}"),
        }
    }

    /// Connects a client to `path`, returning the error (a refused upgrade, for instance).
    pub async fn try_client(&self, path: &str) -> Result<Client> {
        Client::connect(self.url(path)).await
    }

    /// A client builder for `path`, for headers, sub-protocols, authentication...:
    /// `server.client_builder("/chat").header("x-user", "ann").connect().await`.
    pub fn client_builder(&self, path: &str) -> ClientBuilder {
        Client::builder(self.url(path))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.listener.immediate_stop();
    }
}
