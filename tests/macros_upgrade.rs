//! `#[on_upgrade]` over 127.0.0.1: path parameters by type, query parameters (required and
//! `Option`), `#[header]` parameters, the request itself, refusals, panics, and headers added
//! to the 101.

#![cfg(feature = "macros")]

mod macros_util;

use macros_util::*;
use ws_framework::http::{header, HeaderValue};
use ws_framework::{on_open, on_upgrade, ws_service, UpgradeError, UpgradeRequest};

struct Order {
    summary: String,
}

#[ws_service("/orders/{id}")]
impl Order {
    #[on_upgrade]
    async fn accept(
        id: u64,
        qty: u32,
        note: Option<String>,
        #[header] x_user: Option<String>,
        #[header("X-Tenant")] tenant: Option<String>,
        request: &mut UpgradeRequest,
    ) -> Self {
        request.add_response_header(header::SET_COOKIE, HeaderValue::from_static("order=seen"));
        Self {
            summary: format!(
                "id={id} qty={qty} note={note:?} user={x_user:?} tenant={tenant:?} path={}",
                request.path()
            ),
        }
    }

    #[on_open]
    async fn open(&self) -> String {
        self.summary.clone()
    }
}

#[tokio::test]
async fn path_param_is_bound_by_type() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let mut peer = open(&format!("{base}/orders/42?qty=2")).await;
        let summary = next_text(&mut peer).await;
        assert!(summary.starts_with("id=42 qty=2 "), "{summary}");
    })
    .await;
}

#[tokio::test]
async fn non_numeric_path_param_is_404() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let (status, body) = refusal(&format!("{base}/orders/abc?qty=2")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body, "no resource found for path /orders/abc");
    })
    .await;
}

#[tokio::test]
async fn missing_required_query_param_is_400() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let (status, body) = refusal(&format!("{base}/orders/1")).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "no query param value found for: qty")
        );
        let (status, body) = refusal(&format!("{base}/orders/1?qty=many")).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "invalid value for query param qty: many")
        );
    })
    .await;
}

#[tokio::test]
async fn optional_query_param_is_none_when_absent_and_some_when_given() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let mut peer = open(&format!("{base}/orders/1?qty=1")).await;
        assert!(next_text(&mut peer).await.contains(" note=None "));
        let mut peer = open(&format!("{base}/orders/1?qty=1&note=gift%20wrap")).await;
        let summary = next_text(&mut peer).await;
        assert!(summary.contains(" note=Some(\"gift wrap\") "), "{summary}");
    })
    .await;
}

#[tokio::test]
async fn header_params_are_bound_by_name_and_by_explicit_name() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let url = format!("{base}/orders/1?qty=1");
        let mut peer = open(&url).await;
        let summary = next_text(&mut peer).await;
        assert!(summary.contains(" user=None tenant=None "), "{summary}");
        let (mut peer, _) =
            open_with(request(&url, &[("x-user", "ann"), ("x-tenant", "acme")])).await;
        let summary = next_text(&mut peer).await;
        assert!(
            summary.contains(" user=Some(\"ann\") tenant=Some(\"acme\") "),
            "{summary}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_request_is_bound_and_its_set_cookie_reaches_the_101() {
    within(async {
        let (_listener, base) = start::<Order>().await;
        let (mut peer, response) = open_with(request(&format!("{base}/orders/9?qty=1"), &[])).await;
        assert_eq!(response.status(), 101);
        assert_eq!(
            response.headers().get("set-cookie").unwrap(),
            "order=seen",
            "{response:?}"
        );
        assert!(next_text(&mut peer).await.ends_with(" path=/orders/9"));
    })
    .await;
}

#[derive(Default)]
struct Gate;

#[ws_service("/gate")]
impl Gate {
    #[on_upgrade]
    async fn check(reject: Option<String>) -> Result<Self, UpgradeError> {
        match reject.as_deref() {
            None => Ok(Self),
            Some("auth") => Err(UpgradeError::unauthorized("who are you?")),
            Some("forbid") => Err(UpgradeError::forbidden("not you")),
            Some("panic") => panic!("the upgrade hook panicked on purpose"),
            Some(other) => Err(format!("bad request: {other}").into()),
        }
    }

    #[on_open]
    async fn open(&self) -> &'static str {
        "welcome"
    }
}

#[tokio::test]
async fn upgrade_errors_refuse_with_400_401_and_403() {
    within(async {
        let (_listener, base) = start::<Gate>().await;
        for (reject, status, body) in [
            ("other", 400, "bad request: other"),
            ("auth", 401, "who are you?"),
            ("forbid", 403, "not you"),
        ] {
            let refused = refusal(&format!("{base}/gate?reject={reject}")).await;
            assert_eq!(refused, (status, body.to_owned()), "{reject}");
        }
    })
    .await;
}

#[tokio::test]
async fn upgrade_panic_is_500_and_the_listener_keeps_serving() {
    within(async {
        let (_listener, base) = start::<Gate>().await;
        let (status, _) = refusal(&format!("{base}/gate?reject=panic")).await;
        assert_eq!(status, 500);
        let mut peer = open(&format!("{base}/gate")).await;
        assert_eq!(next_text(&mut peer).await, "welcome");
    })
    .await;
}
