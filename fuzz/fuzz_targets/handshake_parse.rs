//! Arbitrary bytes into the opening-handshake functions: `parse_request` (then
//! `validate_request`, `accept` and `write_response`), `parse_response` (then
//! `validate_response` with a fixed key and offer), and permessage-deflate negotiation
//! (`DeflateConfig::negotiate_server` / `accept_client_response`) on the bytes as header values.
//!
//! Input layout:
//! - byte 0: flags: bit 0 tiny request limits, bit 1 tiny response head limit, bits 2-3 the
//!   sub-protocols the client offered (see [`CLIENT_PROTOCOLS`]), bit 4 whether the client
//!   offered permessage-deflate (with the byte-1 config), bits 5-6 the server's
//!   [`AcceptConfig`];
//! - byte 1: a client `DeflateConfig`, byte 2 a server one (see [`deflate_config`]);
//! - byte 3: where to cut a complete request head to check that every prefix "needs more";
//! - the rest: the request or response head, or (lossy UTF-8, split at `\n`) the
//!   `Sec-WebSocket-Extensions` values.
//!
//! Checked, beyond "no panic":
//! - a request head that parses also parses cut to its length, and its prefixes need more
//!   bytes (the stream accept path reads in pieces);
//! - every rejection carries a 4xx status, and its reply parses back as a response that
//!   `validate_response` reports as `Rejected` with that status;
//! - an accepted request's 101 reply parses back and passes `validate_response` for the
//!   request's key, agreeing with the server on the sub-protocol and on permessage-deflate;
//! - a response `validate_response` accepts selected an offered sub-protocol, and
//!   permessage-deflate only when offered, within what the offer asked for;
//! - whatever `negotiate_server` answers is a valid header value that a client with the
//!   default offer accepts with the same parameters; whatever `accept_client_response`
//!   accepts respects the client's configuration;
//! - a client and a server built from `DeflateConfig`s always agree (the server accepts the
//!   client's offer and the client accepts the answer, with equal parameters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_framework::handshake::{
    accept, accept_key, parse_request, parse_response, validate_request, validate_response,
    write_response, AcceptConfig, HandshakeError, RequestLimits,
};
use ws_framework::http::{header, HeaderValue, Response, StatusCode};
use ws_framework::proto::deflate::{DeflateConfig, DeflateParams};

/// The RFC 6455 section 1.3 example key.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

const CLIENT_PROTOCOLS: [&[&str]; 4] = [&[], &["chat"], &["chat", "superchat"], &["v1.json"]];

const SERVER_PROTOCOLS: &[&str] = &["superchat", "chat", "v1.json"];

/// bit 0 server_no_context_takeover, bit 1 client_no_context_takeover, bits 2-4 server window
/// bits (8 + value), bits 5-7 client window bits (8 + value).
fn deflate_config(byte: u8) -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = byte & 1 != 0;
    config.client_no_context_takeover = byte & 2 != 0;
    config.server_max_window_bits = 8 + ((byte >> 2) & 7);
    config.client_max_window_bits = 8 + (byte >> 5);
    config
}

fn check_params(p: &DeflateParams) {
    assert!((8..=15).contains(&p.server_max_window_bits), "{p:?}");
    assert!((8..=15).contains(&p.client_max_window_bits), "{p:?}");
}

/// A server's rejection: a client-error status, and a reply that reads back as that rejection.
fn check_rejection(e: &HandshakeError) {
    let status = e.status();
    assert!(
        [400, 405, 414, 426, 431].contains(&status.as_u16()),
        "status {status} for {e:?}"
    );
    let reply = e.to_response();
    let mut out = Vec::new();
    write_response(&reply, &mut out);
    let head_len = out.len();
    out.extend_from_slice(reply.body().as_bytes());
    let (resp, len) = parse_response(&out, 16 << 10)
        .unwrap_or_else(|err| panic!("error reply does not parse: {err:?} for {e:?}"))
        .expect("a complete error reply");
    assert_eq!(len, head_len);
    assert_eq!(resp.status(), status);
    match validate_response(&resp, KEY, &[], None) {
        Err(HandshakeError::Rejected { status: s, .. }) => assert_eq!(s, status),
        other => panic!("error reply validated as {other:?}"),
    }
}

fn server_side(text: &[u8], flags: u8, server_deflate: u8, cut: u8) {
    let limits = if flags & 1 == 0 {
        RequestLimits::default()
    } else {
        RequestLimits {
            max_uri_len: 16,
            max_head_len: 200,
            max_headers: 4,
        }
    };
    let (request, head_len) = match parse_request(text, &limits) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return,
        Err(e) => {
            check_rejection(&e);
            return;
        }
    };
    assert!(head_len <= text.len());
    // The head alone parses the same; any shorter prefix needs more bytes.
    let again = parse_request(&text[..head_len], &limits)
        .unwrap_or_else(|e| panic!("the head alone fails: {e:?}"))
        .expect("the head alone is complete");
    assert_eq!(again.1, head_len);
    assert_eq!(again.0.uri(), request.uri());
    assert_eq!(again.0.headers(), request.headers());
    let prefix = usize::from(cut) % head_len;
    match parse_request(&text[..prefix], &limits) {
        Ok(None) => {}
        other => panic!("a {prefix}-byte prefix of a {head_len}-byte head gave {other:?}"),
    }

    let offer = match validate_request(&request) {
        Ok(offer) => offer,
        Err(e) => {
            check_rejection(&e);
            return;
        }
    };
    let config = match (flags >> 5) & 3 {
        0 => AcceptConfig::default(),
        1 => AcceptConfig {
            protocols: Vec::new(),
            deflate: Some(DeflateConfig::default()),
        },
        2 => AcceptConfig {
            protocols: SERVER_PROTOCOLS.iter().map(|s| s.to_string()).collect(),
            deflate: Some(deflate_config(server_deflate)),
        },
        _ => AcceptConfig {
            protocols: SERVER_PROTOCOLS.iter().map(|s| s.to_string()).collect(),
            deflate: None,
        },
    };
    let (response, negotiated) = accept(&offer, &config);
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    if let Some(p) = &negotiated.protocol {
        assert!(offer.protocols.contains(p) && config.protocols.contains(p));
    }
    if let Some(p) = &negotiated.deflate {
        assert!(config.deflate.is_some());
        check_params(p);
    }

    // What the server writes must satisfy a client that sent this request.
    let mut out = Vec::new();
    write_response(&response, &mut out);
    let (parsed, len) = parse_response(&out, 16 << 10)
        .unwrap_or_else(|e| panic!("our 101 does not parse: {e:?}"))
        .expect("a complete 101");
    assert_eq!(len, out.len());
    let offered: &[String] = if negotiated.protocol.is_some() {
        &offer.protocols
    } else {
        &[]
    };
    let client_view = validate_response(
        &parsed,
        &offer.key,
        offered,
        Some(&DeflateConfig::default()),
    )
    .unwrap_or_else(|e| {
        panic!(
            "our own 101 fails validate_response: {e:?}\n{}",
            String::from_utf8_lossy(&out)
        )
    });
    assert_eq!(client_view, negotiated, "client and server disagree");
    assert_eq!(
        parsed.headers().get(header::SEC_WEBSOCKET_ACCEPT),
        Some(&HeaderValue::try_from(accept_key(offer.key.as_bytes())).unwrap())
    );
}

fn client_side(text: &[u8], flags: u8, client_deflate: u8) {
    let max_head = if flags & 2 == 0 { 16 << 10 } else { 256 };
    let (response, head_len): (Response<()>, usize) = match parse_response(text, max_head) {
        Ok(Some(parsed)) => parsed,
        Ok(None) | Err(_) => return,
    };
    assert!(head_len <= text.len() && head_len <= max_head);
    let protocols: Vec<String> = CLIENT_PROTOCOLS[usize::from((flags >> 2) & 3)]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let deflate = (flags & 0x10 != 0).then(|| deflate_config(client_deflate));
    let Ok(negotiated) = validate_response(&response, KEY, &protocols, deflate.as_ref()) else {
        return;
    };
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    match &negotiated.protocol {
        Some(p) => assert!(protocols.contains(p), "unoffered protocol {p:?}"),
        None => assert!(protocols.is_empty(), "no protocol though some were offered"),
    }
    if let Some(p) = &negotiated.deflate {
        let config = deflate.as_ref().expect("deflate accepted but not offered");
        check_client_params(config, p);
    }
}

/// What a client accepted respects what it offered.
fn check_client_params(config: &DeflateConfig, p: &DeflateParams) {
    check_params(p);
    if config.server_no_context_takeover {
        assert!(p.server_no_context_takeover, "{config:?} -> {p:?}");
    }
    if config.client_no_context_takeover {
        assert!(p.client_no_context_takeover, "{config:?} -> {p:?}");
    }
    assert!(
        p.server_max_window_bits <= config.server_max_window_bits.clamp(8, 15),
        "{config:?} -> {p:?}"
    );
    assert!(
        p.client_max_window_bits <= config.client_max_window_bits.clamp(8, 15),
        "{config:?} -> {p:?}"
    );
}

fn extension_values(text: &[u8], client_deflate: u8, server_deflate: u8) {
    let text = String::from_utf8_lossy(text);
    let values: Vec<&str> = text.split('\n').collect();

    for server in [DeflateConfig::default(), deflate_config(server_deflate)] {
        if let Some((params, answer)) = server.negotiate_server(values.iter().copied()) {
            check_params(&params);
            assert!(
                HeaderValue::from_str(&answer).is_ok(),
                "answer is no header value: {answer:?}"
            );
            if server.server_no_context_takeover {
                assert!(params.server_no_context_takeover);
            }
            if server.client_no_context_takeover {
                assert!(params.client_no_context_takeover);
            }
            assert!(params.server_max_window_bits <= server.server_max_window_bits);
            // A client that offered `client_max_window_bits` (bare, as by default) and nothing
            // else accepts any valid answer, with the parameters the server agreed.
            assert_eq!(
                DeflateConfig::default().accept_client_response([answer.as_str()]),
                Ok(Some(params)),
                "the default client rejects the answer {answer:?} to {values:?}"
            );
        }
    }

    for client in [DeflateConfig::default(), deflate_config(client_deflate)] {
        if let Ok(Some(params)) = client.accept_client_response(values.iter().copied()) {
            check_client_params(&client, &params);
        }
    }
}

/// Two `DeflateConfig`s always come to an agreement, and both ends see the same parameters.
fn configs_agree(client_deflate: u8, server_deflate: u8) {
    let client = deflate_config(client_deflate);
    let server = deflate_config(server_deflate);
    let offer = client.client_offer();
    let (params, answer) = server
        .negotiate_server([offer.as_str()])
        .unwrap_or_else(|| panic!("{server:?} declines {offer:?}"));
    assert_eq!(
        client.accept_client_response([answer.as_str()]),
        Ok(Some(params)),
        "{client:?} offered {offer:?}, {server:?} answered {answer:?}"
    );
    check_client_params(&client, &params);
}

fuzz_target!(|data: &[u8]| {
    let [flags, client_deflate, server_deflate, cut, text @ ..] = data else {
        return;
    };
    configs_agree(*client_deflate, *server_deflate);
    server_side(text, *flags, *server_deflate, *cut);
    client_side(text, *flags, *client_deflate);
    extension_values(text, *client_deflate, *server_deflate);
});
