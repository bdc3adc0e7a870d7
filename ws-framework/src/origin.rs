//! The `Origin` allow-list of a service ([`crate::ServiceConfig::allowed_origins`]).
//!
//! Browsers send `Origin` with every WebSocket upgrade and do not apply the same-origin policy
//! to WebSockets, so a page on any site can open a connection to a service with the user's
//! cookies: the allow-list is how a service refuses them (403, before any handler runs).
//!
//! Patterns:
//! - `https://app.example.com` (or with a port): exactly that origin; scheme and host compare
//!   case-insensitively and a default port (80, 443) may be written or left out;
//! - `https://*.example.com`: any sub-domain of `example.com` (not `example.com` itself) with
//!   that scheme and port;
//! - `*.example.com`: any sub-domain, any scheme, any port;
//! - `app.example.com`: that host, any scheme, any port;
//! - `null`: the opaque origin browsers send from sandboxed frames and files;
//! - `*`: any origin (the same as no list, except that it documents the intent).

use crate::upgrade::UpgradeError;

/// One parsed allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Any,
    Null,
    /// `scheme` and `port` `None`: any.
    Host {
        scheme: Option<String>,
        host: String,
        port: Option<u16>,
        subdomains: bool,
    },
}

/// An origin as sent by a browser: `scheme://host[:port]`.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `host[:port]` (with `[v6]` hosts).
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in `{authority}`"))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("unexpected `{p}` after the host"))?,
            ),
        };
        (format!("[{}]", host.to_ascii_lowercase()), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!("`{authority}` is not a host"));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port number"))
        })
        .transpose()?;
    Ok((host, port))
}

fn parse_origin(value: &str) -> Result<Origin, String> {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once("://")
        .ok_or_else(|| "no scheme".to_owned())?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(format!("`{scheme}` is not a scheme"));
    }
    let (host, port) = split_host_port(rest)?;
    let port = port.or_else(|| default_port(&scheme));
    Ok(Origin { scheme, host, port })
}

fn parse_pattern(pattern: &str) -> Result<Pattern, String> {
    let p = pattern.trim();
    if p == "*" {
        return Ok(Pattern::Any);
    }
    if p.eq_ignore_ascii_case("null") {
        return Ok(Pattern::Null);
    }
    let (scheme, authority) = match p.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, p),
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let (subdomains, authority) = match authority.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None => (false, authority),
    };
    if authority.contains('*') {
        return Err(format!(
            "origin pattern `{pattern}`: `*` may only stand for sub-domains, as in `*.example.com`"
        ));
    }
    let (host, port) =
        split_host_port(authority).map_err(|e| format!("origin pattern `{pattern}`: {e}"))?;
    if let Some(s) = &scheme {
        if s.is_empty() {
            return Err(format!("origin pattern `{pattern}`: empty scheme"));
        }
    }
    let port = port.or_else(|| scheme.as_deref().and_then(default_port));
    Ok(Pattern::Host {
        scheme,
        host,
        port,
        subdomains,
    })
}

impl Pattern {
    fn matches(&self, origin: Option<&Origin>) -> bool {
        match (self, origin) {
            (Self::Any, _) => true,
            (Self::Null, o) => o.is_none(),
            (Self::Host { .. }, None) => false,
            (
                Self::Host {
                    scheme,
                    host,
                    port,
                    subdomains,
                },
                Some(o),
            ) => {
                if scheme.as_ref().is_some_and(|s| *s != o.scheme) {
                    return false;
                }
                // A pattern with a scheme fixes the port (its default when not written).
                if scheme.is_some() && *port != o.port {
                    return false;
                }
                if scheme.is_none() && port.is_some() && *port != o.port {
                    return false;
                }
                if *subdomains {
                    o.host.len() > host.len() + 1
                        && o.host.ends_with(host.as_str())
                        && o.host.as_bytes()[o.host.len() - host.len() - 1] == b'.'
                } else {
                    o.host == *host
                }
            }
        }
    }
}

/// Checks every pattern of an allow-list (at attach time).
pub(crate) fn validate(patterns: &[String]) -> Result<(), String> {
    patterns.iter().try_for_each(|p| parse_pattern(p).map(drop))
}

/// Whether `origin` (the request's `Origin` header, if any) may open a connection.
#[allow(clippy::result_large_err)] // built once per refused request
pub(crate) fn check(
    patterns: &[String],
    require_origin: bool,
    origin: Option<&str>,
) -> Result<(), UpgradeError> {
    let Some(value) = origin else {
        return if require_origin {
            Err(UpgradeError::forbidden(
                "the request has no Origin header; this service requires one",
            ))
        } else {
            Ok(())
        };
    };
    if patterns.is_empty() {
        return Ok(());
    }
    let parsed = if value.trim().eq_ignore_ascii_case("null") {
        None
    } else {
        match parse_origin(value) {
            Ok(o) => Some(o),
            Err(_) => {
                return Err(UpgradeError::forbidden(format!(
                    "origin `{value}` is not allowed"
                )))
            }
        }
    };
    let allowed = patterns
        .iter()
        .filter_map(|p| parse_pattern(p).ok())
        .any(|p| p.matches(parsed.as_ref()));
    if allowed {
        Ok(())
    } else {
        Err(UpgradeError::forbidden(format!(
            "origin `{value}` is not allowed"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(patterns: &[&str], origin: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        validate(&patterns).unwrap();
        check(&patterns, false, Some(origin)).is_ok()
    }

    #[test]
    fn exact_origins() {
        let list = ["https://app.example.com"];
        assert!(ok(&list, "https://app.example.com"));
        assert!(ok(&list, "HTTPS://App.Example.com"));
        assert!(ok(&list, "https://app.example.com:443"));
        assert!(!ok(&list, "http://app.example.com"));
        assert!(!ok(&list, "https://app.example.com:8443"));
        assert!(!ok(&list, "https://evil.com"));
        assert!(!ok(&list, "https://app.example.com.evil.com"));
        assert!(!ok(&list, "garbage"));
        assert!(!ok(&list, "null"));
        assert!(ok(&["http://localhost:3000"], "http://localhost:3000"));
        assert!(!ok(&["http://localhost:3000"], "http://localhost:3001"));
        assert!(ok(&["http://[::1]:3000"], "http://[::1]:3000"));
    }

    #[test]
    fn subdomains() {
        let list = ["*.example.com"];
        assert!(ok(&list, "https://a.example.com"));
        assert!(ok(&list, "http://a.b.example.com:8080"));
        assert!(!ok(&list, "https://example.com"));
        assert!(!ok(&list, "https://badexample.com"));
        assert!(!ok(&list, "https://example.com.evil.org"));
        let list = ["https://*.example.com"];
        assert!(ok(&list, "https://a.example.com"));
        assert!(!ok(&list, "http://a.example.com"));
        assert!(!ok(&list, "https://a.example.com:8443"));
    }

    #[test]
    fn hosts_any_null_and_missing() {
        assert!(ok(&["app.example.com"], "http://app.example.com:1234"));
        assert!(ok(&["*"], "https://anything.org"));
        assert!(ok(&["null"], "null"));
        assert!(check(&[], false, Some("https://x.org")).is_ok());
        assert!(check(&["https://a.org".into()], false, None).is_ok());
        assert_eq!(
            check(&[], true, None).unwrap_err().status(),
            http::StatusCode::FORBIDDEN
        );
        assert!(validate(&["https://a*.example.com".into()]).is_err());
        assert!(validate(&["https://a.example.com:99999".into()]).is_err());
    }
}
