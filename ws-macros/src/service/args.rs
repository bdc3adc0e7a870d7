//! `#[ws_service("/path", key = value, ...)]`: the service's path and configuration.
//!
//! The arguments are split at top-level commas first, so one bad value is reported and the
//! others are still read (every error of the attribute in one build).

use crate::diag::Errors;
use crate::path_template::{self, Template};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Type, UnOp};

/// The configuration keys, in documentation order.
pub const KEYS: &[&str] = &[
    "state",
    "protocols",
    "idle_timeout",
    "max_frame_size",
    "max_message_size",
    "close_timeout",
    "compression",
    "deflate",
    "dispatcher_key",
    "origins",
    "require_origin",
    "auth",
    "write_buffer_limit",
    "write_timeout",
    "overflow_close",
    "crate",
];

/// The parsed arguments; `None` for what was not given (or was invalid).
#[derive(Default)]
pub struct ServiceArgs {
    pub path: Option<LitStr>,
    pub template: Option<Template>,
    pub state: Option<Type>,
    pub krate: Option<Path>,
    pub protocols: Option<Vec<LitStr>>,
    pub idle_timeout: Option<Timeout>,
    pub max_frame_size: Option<Expr>,
    pub max_message_size: Option<Expr>,
    pub close_timeout: Option<Timeout>,
    pub compression: Option<Expr>,
    pub deflate: Option<Expr>,
    pub dispatcher_key: Option<LitStr>,
    pub origins: Option<Vec<LitStr>>,
    pub require_origin: Option<Expr>,
    pub auth: Option<Expr>,
    pub write_buffer_limit: Option<Expr>,
    pub write_timeout: Option<Timeout>,
    pub overflow_close: Option<OverflowClose>,
}

/// `overflow_close = 1013`: a checked literal, or an expression converting into a `CloseCode`.
pub enum OverflowClose {
    Code(u16),
    Expr(Expr),
}

/// A timeout given as a literal: seconds (`30`, `0.5`) or a string with a unit (`"500ms"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    Millis(u64),
    /// `close_timeout = "forever"`.
    Forever,
}

pub fn parse(args: TokenStream, errors: &mut Errors) -> ServiceArgs {
    let mut out = ServiceArgs::default();
    let chunks = split_commas(args);
    let mut chunks = chunks.into_iter().peekable();
    match chunks
        .peek()
        .map(|chunk| syn::parse2::<LitStr>(chunk.clone()))
    {
        Some(Ok(lit)) => {
            chunks.next();
            match path_template::parse(&lit.value()) {
                Ok(template) => out.template = Some(template),
                Err(e) => errors.spanned(&lit, format!("invalid service path: {e}")),
            }
            out.path = Some(lit);
        }
        Some(Err(_)) => {
            let first = chunks.peek().cloned().unwrap_or_default();
            errors.spanned(
                first,
                "the first argument of `#[ws_service]` is the service's path, as in `#[ws_service(\"/chat/{room}\")]`",
            );
        }
        None => errors.at(
            Span::call_site(),
            "`#[ws_service]` needs the service's path, as in `#[ws_service(\"/chat/{room}\")]`",
        ),
    }
    let mut seen: Vec<(String, Span)> = Vec::new();
    for chunk in chunks {
        let Some((key, value)) = split_key(&chunk, errors) else {
            continue;
        };
        let name = key.to_string();
        if !KEYS.contains(&name.as_str()) {
            let hint = suggest(&name)
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            errors.spanned(
                &key,
                format!(
                    "unknown `#[ws_service]` argument `{name}`; {hint}expected one of: {}",
                    KEYS.join(", ")
                ),
            );
            continue;
        }
        if seen.iter().any(|(k, _)| *k == name) {
            errors.spanned(&key, format!("`{name}` is given twice; keep one"));
            continue;
        }
        seen.push((name.clone(), key.span()));
        if value.is_empty() {
            errors.spanned(&chunk, format!("`{name}` needs a value: `{name} = ...`"));
            continue;
        }
        let value_tokens = value.clone();
        let result = (|| -> syn::Result<()> {
            match name.as_str() {
                "state" => out.state = Some(syn::parse2(value)?),
                "crate" => {
                    out.krate = Some(syn::parse::Parser::parse2(Path::parse_mod_style, value)?)
                }
                "protocols" => out.protocols = Some(protocols(value, errors)?),
                "idle_timeout" => out.idle_timeout = timeout(value, "idle_timeout", errors),
                "close_timeout" => out.close_timeout = timeout(value, "close_timeout", errors),
                "write_timeout" => out.write_timeout = write_timeout(value, errors),
                "origins" => out.origins = Some(origins(value, errors)?),
                "require_origin" => out.require_origin = Some(syn::parse2(value)?),
                "auth" => out.auth = Some(syn::parse2(value)?),
                "write_buffer_limit" => {
                    let expr: Expr = syn::parse2(value)?;
                    if let Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) = &expr
                    {
                        if int.base10_parse::<u64>().ok() == Some(0) {
                            errors.spanned(int, "`write_buffer_limit` is a number of bytes and must be at least 1 (the default is 1 MiB, `1 << 20`)");
                        }
                    }
                    out.write_buffer_limit = Some(expr);
                }
                "overflow_close" => out.overflow_close = overflow_close(value, errors)?,
                "max_frame_size" => out.max_frame_size = Some(syn::parse2(value)?),
                "max_message_size" => out.max_message_size = Some(syn::parse2(value)?),
                "compression" => out.compression = Some(syn::parse2(value)?),
                "deflate" => out.deflate = Some(syn::parse2(value)?),
                "dispatcher_key" => {
                    let lit: LitStr = syn::parse2(value).map_err(|e| {
                        syn::Error::new(e.span(), "`dispatcher_key` is a string literal, as in `dispatcher_key = \"event\"`")
                    })?;
                    if lit.value().is_empty() {
                        errors.spanned(&lit, "`dispatcher_key` must not be empty; name the JSON field, as in `\"event\"`");
                    } else {
                        out.dispatcher_key = Some(lit);
                    }
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = result {
            let message = match name.as_str() {
                "state" => {
                    "`state` is the type shared by all connections, as in `state = AppState`"
                        .to_owned()
                }
                "crate" => {
                    "`crate` is the path of ws-framework, as in `crate = ::my_ws`".to_owned()
                }
                "auth" => "`auth` is a `ws_framework::Auth` expression, as in `auth = Auth::providers([..])` or `auth = my_auth()`".to_owned(),
                "require_origin" => "`require_origin` is a `bool`, as in `require_origin = true`".to_owned(),
                _ => e.to_string(),
            };
            errors.push(syn::Error::new_spanned(value_tokens, message));
        }
    }
    out
}

/// Splits at commas outside any group; empty chunks (a trailing comma) are dropped.
fn split_commas(args: TokenStream) -> Vec<TokenStream> {
    let mut chunks = vec![TokenStream::new()];
    for tt in args {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => chunks.push(TokenStream::new()),
            _ => chunks.last_mut().expect("never empty").extend([tt]),
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

/// `key = value` → (key, value tokens).
fn split_key(chunk: &TokenStream, errors: &mut Errors) -> Option<(Ident, TokenStream)> {
    let mut tts = chunk.clone().into_iter();
    let key = match tts.next() {
        Some(TokenTree::Ident(ident)) => ident,
        _ => {
            errors.spanned(chunk, "expected `key = value`, as in `idle_timeout = 30`");
            return None;
        }
    };
    match tts.next() {
        Some(TokenTree::Punct(p)) if p.as_char() == '=' => Some((key, tts.collect())),
        _ => {
            errors.spanned(chunk, format!("expected `{key} = value`"));
            None
        }
    }
}

fn protocols(value: TokenStream, errors: &mut Errors) -> syn::Result<Vec<LitStr>> {
    let expected =
        "`protocols` is a list of string literals, as in `protocols = [\"chat.v2\", \"chat\"]`";
    let lits: Vec<LitStr> = match syn::parse2::<Expr>(value.clone()) {
        Ok(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => vec![lit],
        Ok(Expr::Array(array)) => array
            .elems
            .into_iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => Ok(lit),
                other => Err(syn::Error::new(other.span(), expected)),
            })
            .collect::<syn::Result<_>>()?,
        _ => return Err(syn::Error::new_spanned(value, expected)),
    };
    let mut seen = Vec::new();
    for lit in &lits {
        let name = lit.value();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            errors.spanned(lit, format!("`{name}` is not a valid sub-protocol name (an HTTP token: letters, digits and `!#$%&'*+-.^_`|~`)"));
        } else if seen.contains(&name) {
            errors.spanned(lit, format!("sub-protocol `{name}` is listed twice"));
        }
        seen.push(name);
    }
    Ok(lits)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn origins(value: TokenStream, errors: &mut Errors) -> syn::Result<Vec<LitStr>> {
    let expected = "`origins` is a list of string literals, as in `origins = [\"https://app.example.com\", \"*.example.org\"]`";
    let lits: Vec<LitStr> = match syn::parse2::<Expr>(value.clone()) {
        Ok(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => vec![lit],
        Ok(Expr::Array(array)) => array
            .elems
            .into_iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => Ok(lit),
                other => Err(syn::Error::new(other.span(), expected)),
            })
            .collect::<syn::Result<_>>()?,
        _ => return Err(syn::Error::new_spanned(value, expected)),
    };
    if lits.is_empty() {
        errors.spanned(value, "an empty `origins` list would allow every origin, as no list does: leave `origins` out, or list the allowed origins");
    }
    let mut seen = Vec::new();
    for lit in &lits {
        let pattern = lit.value();
        if let Err(e) = check_origin_pattern(&pattern) {
            errors.spanned(lit, e);
        } else if seen.contains(&pattern) {
            errors.spanned(lit, format!("origin `{pattern}` is listed twice"));
        }
        seen.push(pattern);
    }
    Ok(lits)
}

/// The mistakes `ws_framework::origin` refuses when the service is attached, caught at compile
/// time: `*` (any origin), `null`, or `[scheme://][*.]host[:port]`.
fn check_origin_pattern(pattern: &str) -> Result<(), String> {
    let p = pattern.trim();
    if p.is_empty() {
        return Err("an origin pattern cannot be empty; write `https://app.example.com`, `*.example.com` or `*`".to_owned());
    }
    if p == "*" || p.eq_ignore_ascii_case("null") {
        return Ok(());
    }
    let authority = match p.split_once("://") {
        Some(("", _)) => return Err(format!("origin pattern `{pattern}`: empty scheme")),
        Some((scheme, rest)) => {
            if !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            {
                return Err(format!(
                    "origin pattern `{pattern}`: `{scheme}` is not a scheme"
                ));
            }
            rest
        }
        None => p,
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let authority = authority.strip_prefix("*.").unwrap_or(authority);
    if authority.contains('*') {
        return Err(format!(
            "origin pattern `{pattern}`: `*` may only stand for sub-domains, as in `*.example.com`"
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(format!(
                        "origin pattern `{pattern}`: unexpected `{after}` after the host"
                    ))
                }
            },
            None => return Err(format!("origin pattern `{pattern}`: unclosed `[`")),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!("origin pattern `{pattern}`: `{authority}` is not a host (an origin has no path, query or user)"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!(
                "origin pattern `{pattern}`: `{port}` is not a port number"
            ));
        }
    }
    Ok(())
}

/// `write_timeout`: like the other timeouts, but zero would fail every write that must wait.
fn write_timeout(value: TokenStream, errors: &mut Errors) -> Option<Timeout> {
    let span_tokens = value.clone();
    match timeout(value, "write_timeout", errors)? {
        Timeout::Millis(0) => {
            errors.spanned(span_tokens, "a write timeout of 0 would fail every write that has to wait for room; leave `write_timeout` out to wait without limit");
            None
        }
        t => Some(t),
    }
}

/// `overflow_close`: 1008 (policy violation) or 1013 (try again later) as a literal, or an
/// expression converting into a `CloseCode`.
fn overflow_close(value: TokenStream, errors: &mut Errors) -> syn::Result<Option<OverflowClose>> {
    let expr: Expr = syn::parse2(value)?;
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = &expr
    else {
        return Ok(Some(OverflowClose::Expr(expr)));
    };
    match int.base10_parse::<u16>() {
        Ok(code @ (1008 | 1013)) => Ok(Some(OverflowClose::Code(code))),
        _ => {
            errors.spanned(int, "`overflow_close` is the close code for a peer that stopped reading: 1008 (policy violation) or 1013 (try again later)");
            Ok(None)
        }
    }
}

/// `key` is `idle_timeout`, `close_timeout` (which also takes `"forever"`) or `write_timeout`.
fn timeout(value: TokenStream, key: &str, errors: &mut Errors) -> Option<Timeout> {
    let close = key == "close_timeout";
    let forever = if close { ", or `\"forever\"`" } else { "" };
    let expected = format!("expected a number of seconds (`30`, `0.5`) or a string with a unit (`\"500ms\"`, `\"30s\"`, `\"2m\"`){forever}");
    let expr = match syn::parse2::<Expr>(value.clone()) {
        Ok(expr) => expr,
        Err(_) => {
            errors.spanned(value, expected);
            return None;
        }
    };
    let lit = match &expr {
        Expr::Lit(ExprLit { lit, .. }) => lit,
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
            let hint = match key {
                "close_timeout" => "; write `close_timeout = \"forever\"` to wait without limit",
                "write_timeout" => "; leave `write_timeout` out to wait without limit",
                _ => "; `0` turns it off",
            };
            errors.spanned(&expr, format!("a timeout cannot be negative{hint}"));
            return None;
        }
        _ => {
            errors.spanned(&expr, expected);
            return None;
        }
    };
    let millis = match lit {
        Lit::Int(int) => int
            .base10_parse::<u64>()
            .ok()
            .and_then(|s| s.checked_mul(1000)),
        Lit::Float(float) => float.base10_parse::<f64>().ok().and_then(seconds_to_millis),
        Lit::Str(s) if close && s.value() == "forever" => return Some(Timeout::Forever),
        Lit::Str(s) => parse_duration(&s.value()),
        _ => None,
    };
    match millis {
        Some(ms) => Some(Timeout::Millis(ms)),
        None => {
            errors.spanned(lit.to_token_stream(), expected);
            None
        }
    }
}

fn seconds_to_millis(seconds: f64) -> Option<u64> {
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms >= 0.0 && ms < u64::MAX as f64).then_some(ms as u64)
}

/// `"500ms"`, `"30s"`, `"1.5s"`, `"2m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    seconds_to_millis(number * scale)
}

/// The known key closest to `name`, if close enough to be a typo.
fn suggest(name: &str) -> Option<&'static str> {
    let normal = name.to_ascii_lowercase().replace('_', "");
    KEYS.iter()
        .copied()
        .map(|k| (distance(&normal, &k.replace('_', "")), k))
        // Short keys (`auth`, `state`) only match near misses: `path` is not a typo of `auth`.
        .filter(|(d, k)| *d <= (k.len() / 3).clamp(1, 3))
        .min()
        .map(|(_, k)| k)
        .or(match normal.as_str() {
            "subprotocols" => Some("protocols"),
            "connectionclosuretimeout" => Some("close_timeout"),
            "allowedorigins" | "alloworigins" | "origin" | "alloworigin" => Some("origins"),
            "requireorigins" | "originrequired" => Some("require_origin"),
            "authentication" | "authconfig" | "authconfigs" => Some("auth"),
            "writebuffer" | "writebuffersize" | "maxwritebuffer" | "writelimit" => {
                Some("write_buffer_limit")
            }
            "overflowclosecode" | "overflow" | "overflowcode" => Some("overflow_close"),
            _ => None,
        })
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(args: TokenStream) -> ServiceArgs {
        let mut errors = Errors::default();
        let out = parse(args, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        out
    }

    fn parse_err(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(args, &mut errors);
        errors.messages()
    }

    #[test]
    fn every_key() {
        let args = parse_ok(quote!(
            "/chat/{room}",
            state = AppState,
            protocols = ["chat.v2", "chat"],
            idle_timeout = 30,
            max_frame_size = 1024,
            max_message_size = 64 * 1024,
            close_timeout = "forever",
            compression = false,
            dispatcher_key = "event",
            origins = [
                "https://a.example",
                "*.b.example",
                "http://[::1]:3000",
                "null",
                "*"
            ],
            require_origin = true,
            auth = my_auth(),
            write_buffer_limit = 64 << 10,
            write_timeout = "5s",
            overflow_close = 1013,
            crate = ::my_ws,
        ));
        assert_eq!(
            args.template.unwrap().params().collect::<Vec<_>>(),
            ["room"]
        );
        assert_eq!(args.protocols.unwrap().len(), 2);
        assert_eq!(args.idle_timeout, Some(Timeout::Millis(30_000)));
        assert_eq!(args.close_timeout, Some(Timeout::Forever));
        assert_eq!(args.dispatcher_key.unwrap().value(), "event");
        assert_eq!(args.origins.unwrap().len(), 5);
        assert!(args.require_origin.is_some() && args.auth.is_some());
        assert!(args.write_buffer_limit.is_some());
        assert_eq!(args.write_timeout, Some(Timeout::Millis(5_000)));
        assert!(matches!(
            args.overflow_close,
            Some(OverflowClose::Code(1013))
        ));
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: my_ws"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("1.5s"), Some(1500));
        assert_eq!(parse_duration("2m"), Some(120_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5 days"), None);
        assert_eq!(
            parse_ok(quote!("/", idle_timeout = 0.25)).idle_timeout,
            Some(Timeout::Millis(250))
        );
        assert_eq!(
            parse_ok(quote!("/", close_timeout = "10s")).close_timeout,
            Some(Timeout::Millis(10_000))
        );
    }

    #[test]
    fn every_error_of_the_attribute_is_reported() {
        let errors = parse_err(quote!(
            "chat", idle_timout = 3, idle_timeout = -1, close_timeout = "soon", protocols = ["a b", "x", "x"],
            dispatcher_key = 5, compression = true, compression = false, state =
        ));
        let expected = [
            "invalid service path: the path must start with `/`: write `/chat`",
            "unknown `#[ws_service]` argument `idle_timout`; did you mean `idle_timeout`?",
            "a timeout cannot be negative; `0` turns it off",
            "expected a number of seconds",
            "`a b` is not a valid sub-protocol name",
            "sub-protocol `x` is listed twice",
            "`dispatcher_key` is a string literal",
            "`compression` is given twice; keep one",
            "`state` needs a value",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(expected),
                "{error:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn the_runtime_keys_are_checked() {
        let errors = parse_err(quote!(
            "/",
            origins = ["https://a*.example", "https://a.example:99999", "https://a.example/path", "x", "x", 5],
            write_timeout = 0,
            overflow_close = 1000,
            write_buffer_limit = 0,
            auth =,
        ));
        let expected = [
            "`origins` is a list of string literals",
            "a write timeout of 0 would fail every write",
            "`overflow_close` is the close code for a peer that stopped reading",
            "`write_buffer_limit` is a number of bytes and must be at least 1",
            "`auth` needs a value",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(expected),
                "{error:?} should start with {expected:?}"
            );
        }
        let errors = parse_err(quote!(
            "/",
            origins = [
                "https://a*.example",
                "https://a.example:99999",
                "https://a.example/path",
                "x",
                "x",
                "",
                "://x"
            ],
            write_timeout = -1,
        ));
        let expected = [
            "`*` may only stand for sub-domains",
            "`99999` is not a port number",
            "is not a host",
            "origin `x` is listed twice",
            "an origin pattern cannot be empty",
            "empty scheme",
            "a timeout cannot be negative; leave `write_timeout` out",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.contains(expected),
                "{error:?} should contain {expected:?}"
            );
        }
        assert!(parse_err(quote!("/", origins = []))[0].contains("empty `origins` list"));
        assert!(matches!(
            parse_ok(quote!("/", overflow_close = CloseCode::POLICY_VIOLATION)).overflow_close,
            Some(OverflowClose::Expr(_))
        ));
    }

    #[test]
    fn typos_of_the_new_keys() {
        for (typo, key) in [
            ("allowed_origins", "origins"),
            ("origin", "origins"),
            ("require_origins", "require_origin"),
            ("authentication", "auth"),
            ("write_buffer_size", "write_buffer_limit"),
            ("write_timout", "write_timeout"),
            ("overflow_close_code", "overflow_close"),
        ] {
            assert_eq!(suggest(typo), Some(key), "{typo}");
        }
        // Short keys only take near misses.
        assert_eq!(suggest("path"), None);
        assert_eq!(suggest("aut"), Some("auth"));
    }

    #[test]
    fn the_path_comes_first() {
        assert!(parse_err(quote!())
            .first()
            .unwrap()
            .contains("needs the service's path"));
        assert!(parse_err(quote!(state = A))
            .first()
            .unwrap()
            .contains("the first argument"));
        assert!(parse_err(quote!("/a/{x}/{x}"))
            .first()
            .unwrap()
            .contains("`x` appears twice"));
    }
}
