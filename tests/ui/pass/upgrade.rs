//! `#[on_upgrade]`: the request, path parameters by name, query parameters, headers, the shared
//! state; returning `Self` or `Result<Self, E>`.

use std::sync::Arc;
use ws_framework::{on_open, on_upgrade, ws_service, Caller, UpgradeError, UpgradeRequest};

struct Registry {
    allowed_origin: String,
}

struct Order {
    id: u32,
    item: String,
    verbose: bool,
    tags: Vec<String>,
    agent: Option<String>,
}

#[ws_service("/orders/{id}/items/{item}", state = Registry)]
impl Order {
    #[on_upgrade]
    async fn accept(
        #[state] registry: Arc<Registry>,
        id: u32,
        request: &mut UpgradeRequest,
        item: String,
        verbose: Option<bool>,
        tag: Vec<String>,
        #[header] user_agent: Option<String>,
        #[header("X-Api-Key")] key: String,
        #[header] accept_language: Vec<String>,
    ) -> Result<Self, UpgradeError> {
        if request.origin() != Some(registry.allowed_origin.as_str()) || key.is_empty() {
            return Err(UpgradeError::forbidden("origin not allowed"));
        }
        let _ = accept_language;
        let cookie = ws_framework::http::HeaderValue::from_static("seen=1");
        request.add_response_header(ws_framework::http::header::SET_COOKIE, cookie);
        Ok(Self {
            id,
            item,
            verbose: verbose.unwrap_or(false),
            tags: tag,
            agent: user_agent,
        })
    }

    #[on_open]
    async fn open(&self, _caller: &Caller) -> String {
        format!(
            "{} {} {} {:?} {:?}",
            self.id, self.item, self.verbose, self.tags, self.agent
        )
    }
}

struct Plain {
    room: String,
}

#[ws_service("/plain/{room}")]
impl Plain {
    #[on_upgrade]
    async fn new(room: String) -> Self {
        Self { room }
    }

    #[on_open]
    async fn open(&self) -> String {
        self.room.clone()
    }
}

struct StringError;

#[ws_service("/refuse")]
impl StringError {
    #[on_upgrade]
    async fn new(request: &UpgradeRequest) -> Result<Self, String> {
        match request.header("x-ok") {
            Some(_) => Ok(Self),
            None => Err("missing x-ok".to_owned()),
        }
    }
}

fn main() {
    fn assert_service<S: ws_framework::Service>() {}
    assert_service::<Order>();
    assert_service::<Plain>();
    assert_service::<StringError>();
}
