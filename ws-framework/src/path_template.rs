//! Path templates of services (`/chat/{room}`): one parser for the listener's router and for
//! `#[ws_service]`, which checks the literal at compile time, so both accept exactly the same
//! paths.
//!
//! This file is compiled into two crates: `ws-framework` (as `path_template`) and `ws-macros`
//! (through `#[path = "../../ws-framework/src/path_template.rs"]`, since a proc-macro crate cannot
//! depend on its runtime). It therefore uses `std` only. (`cargo package` of ws-macros must
//! carry a copy of this file; see ws-macros' `Cargo.toml`.)
//!
//! # Grammar
//!
//! ```text
//! template = "/" | ("/" segment)+ ["/*"]
//! segment  = literal | "{" name "}"
//! literal  = one or more of: A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) + , ; = : @
//! name     = a Rust identifier ([A-Za-z_][A-Za-z0-9_]*, not `_` alone)
//! ```
//!
//! - The template starts with `/`; no segment is empty, so `//` and a trailing `/` are
//!   refused (the root `/` is the only template ending in `/`).
//! - A parameter takes a whole segment (`/{id}.json` is refused) and names are unique.
//! - A last segment `*` (Ballerina's `get .`) matches the path itself and anything below it:
//!   `/files/*` matches `/files`, `/files/a` and `/files/a/b`. It binds nothing; the handler can
//!   read the full path from the request.
//!
//! # Matching
//!
//! A request path is split on `/`; one trailing `/` is ignored (`/chat/` matches `/chat`).
//! Literal segments compare with the percent-decoded request segment, case-sensitively;
//! parameters receive the percent-decoded segment (`+` stays `+`) and never match an empty one.
//! When several templates match, the most [`Template::specificity`] wins.

use std::fmt;

/// A parsed path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

/// One `/`-separated piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Must equal the request segment.
    Literal(String),
    /// Binds the request segment to this name.
    Param(String),
}

/// Why a template was refused. `Display` says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    message: String,
}

impl PathError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

/// How specific a template is; greater wins. Compares, in order: the number of literal
/// segments, the number of segments, and exact over wildcard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    /// Literal segments.
    pub literals: usize,
    /// All segments (literals and parameters, not the wildcard).
    pub segments: usize,
    /// No trailing `*`.
    pub exact: bool,
}

/// Parses a path template; see the module docs for the grammar.
pub fn parse(template: &str) -> Result<Template, PathError> {
    if template.is_empty() {
        return Err(PathError::new("the path is empty: write `/` for the root"));
    }
    if !template.starts_with('/') {
        return Err(PathError::new(format!(
            "the path must start with `/`: write `/{template}`"
        )));
    }
    let mut out = Template {
        source: template.to_owned(),
        segments: Vec::new(),
        wildcard: false,
    };
    if template == "/" {
        return Ok(out);
    }
    if template.ends_with('/') {
        return Err(PathError::new(format!(
            "the path must not end with `/`: write `{}`",
            template.trim_end_matches('/')
        )));
    }
    let pieces: Vec<&str> = template[1..].split('/').collect();
    let count = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        if piece.is_empty() {
            return Err(PathError::new(
                "the path has an empty segment (`//`): remove one `/`",
            ));
        }
        if piece == "*" {
            if i + 1 != count {
                return Err(PathError::new(
                    "`*` (any sub-path) must be the last segment of the path",
                ));
            }
            out.wildcard = true;
            continue;
        }
        if let Some(inner) = piece.strip_prefix('{') {
            let Some(name) = inner.strip_suffix('}') else {
                return Err(PathError::new(format!(
                    "segment `{piece}`: a parameter takes a whole segment, as in `/{{name}}`"
                )));
            };
            check_name(name, piece)?;
            if out.params().any(|p| p == name) {
                return Err(PathError::new(format!(
                    "path parameter `{name}` appears twice"
                )));
            }
            out.segments.push(Segment::Param(name.to_owned()));
            continue;
        }
        if piece.contains(['{', '}']) {
            return Err(PathError::new(format!(
                "segment `{piece}`: a parameter takes a whole segment, as in `/{{name}}`"
            )));
        }
        if let Some(bad) = piece.chars().find(|&c| !is_literal_char(c)) {
            return Err(PathError::new(format!(
                "segment `{piece}`: `{}` is not allowed in a path; use letters, digits and `-._~!$&'()+,;=:@`",
                bad.escape_default()
            )));
        }
        out.segments.push(Segment::Literal(piece.to_owned()));
    }
    Ok(out)
}

fn check_name(name: &str, piece: &str) -> Result<(), PathError> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {
            chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        _ => false,
    };
    if !valid || name == "_" {
        return Err(PathError::new(format!(
            "segment `{piece}`: a parameter name must be a Rust identifier, as in `{{room}}` or `{{user_id}}`"
        )));
    }
    Ok(())
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@".contains(c)
}

impl Template {
    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The segments, without the trailing wildcard.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the template ends in `*`.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// How specific the template is, to pick among several that match.
    pub fn specificity(&self) -> Specificity {
        Specificity {
            literals: self
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count(),
            segments: self.segments.len(),
            exact: !self.wildcard,
        }
    }

    /// Matches a request path (without its query); returns the parameters, percent-decoded,
    /// in template order.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let path = path.strip_prefix('/')?;
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut pieces = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect::<Vec<_>>()
        };
        if self.wildcard {
            if pieces.len() < self.segments.len() {
                return None;
            }
            pieces.truncate(self.segments.len());
        } else if pieces.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, piece) in self.segments.iter().zip(pieces) {
            let decoded = decode_segment(piece);
            match segment {
                Segment::Literal(lit) if *lit == decoded => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if decoded.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), decoded)),
            }
        }
        Some(params)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Decodes `%XX` escapes of one path segment; `+` stays `+` and invalid escapes stay as written.
fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        parse(template).unwrap().matches(path)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn accepted_templates() {
        for t in [
            "/",
            "/chat",
            "/chat/{room}",
            "/orders/{id}/items",
            "/a-b/c.d/~e",
            "/files/*",
            "/*",
            "/{_x1}",
        ] {
            assert!(parse(t).is_ok(), "{t}: {:?}", parse(t));
        }
        let t = parse("/orders/{id}/items/{item}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["id", "item"]);
        assert_eq!(t.to_string(), "/orders/{id}/items/{item}");
    }

    #[test]
    fn refused_templates_say_what_to_write() {
        let cases = [
            ("", "write `/` for the root"),
            ("chat", "write `/chat`"),
            ("/chat/", "write `/chat`"),
            ("/a//b", "empty segment"),
            ("/chat/{room", "whole segment"),
            ("/chat/{room}x", "whole segment"),
            ("/chat/x{room}", "whole segment"),
            ("/chat/{}", "Rust identifier"),
            ("/chat/{1x}", "Rust identifier"),
            ("/chat/{_}", "Rust identifier"),
            ("/chat/{a-b}", "Rust identifier"),
            ("/{a}/{a}", "`a` appears twice"),
            ("/chat room", "` ` is not allowed"),
            ("/a?b", "`?` is not allowed"),
            ("/a%20b", "`%` is not allowed"),
            ("/*/x", "must be the last segment"),
            ("/a*", "`*` is not allowed"),
        ];
        for (t, expected) in cases {
            let err = parse(t).unwrap_err().to_string();
            assert!(err.contains(expected), "{t}: {err}");
        }
    }

    #[test]
    fn root_and_literals() {
        assert_eq!(params("/", "/"), Some(vec![]));
        assert_eq!(params("/", "/x"), None);
        assert_eq!(params("/chat", "/chat"), Some(vec![]));
        assert_eq!(params("/chat", "/chat/"), Some(vec![]));
        assert_eq!(params("/chat", "/Chat"), None);
        assert_eq!(params("/chat", "/chat/x"), None);
        assert_eq!(params("/chat", "chat"), None);
        assert_eq!(params("/a:b", "/a%3Ab"), Some(vec![]));
    }

    #[test]
    fn parameters_are_percent_decoded() {
        assert_eq!(
            params("/chat/{room}", "/chat/r1"),
            Some(pairs(&[("room", "r1")]))
        );
        assert_eq!(
            params("/chat/{room}", "/chat/a%20b+c"),
            Some(pairs(&[("room", "a b+c")]))
        );
        assert_eq!(
            params("/chat/{room}", "/chat/%zz%4"),
            Some(pairs(&[("room", "%zz%4")]))
        );
        assert_eq!(params("/chat/{room}", "/chat/"), None);
        assert_eq!(params("/chat/{room}", "/chat//"), None);
        assert_eq!(
            params("/orders/{id}/items", "/orders/7/items"),
            Some(pairs(&[("id", "7")]))
        );
        assert_eq!(params("/orders/{id}/items", "/orders/7/other"), None);
    }

    #[test]
    fn wildcard_matches_the_path_and_below() {
        assert_eq!(params("/files/*", "/files"), Some(vec![]));
        assert_eq!(params("/files/*", "/files/a/b"), Some(vec![]));
        assert_eq!(params("/files/*", "/filesx"), None);
        assert_eq!(params("/{u}/*", "/ann/x"), Some(pairs(&[("u", "ann")])));
        assert_eq!(params("/*", "/"), Some(vec![]));
        assert_eq!(params("/*", "/any/thing"), Some(vec![]));
    }

    #[test]
    fn the_most_specific_template_wins() {
        let mut ts: Vec<Template> = ["/*", "/chat/*", "/chat/{room}", "/chat/lobby", "/{a}/{b}"]
            .iter()
            .map(|t| parse(t).unwrap())
            .collect();
        ts.sort_by_key(|t| std::cmp::Reverse(t.specificity()));
        let first_match = |path: &str| {
            ts.iter()
                .find(|t| t.matches(path).is_some())
                .map(|t| t.as_str().to_owned())
        };
        assert_eq!(first_match("/chat/lobby").as_deref(), Some("/chat/lobby"));
        assert_eq!(first_match("/chat/r1").as_deref(), Some("/chat/{room}"));
        assert_eq!(first_match("/chat/r1/x").as_deref(), Some("/chat/*"));
        assert_eq!(first_match("/x/y").as_deref(), Some("/{a}/{b}"));
        assert_eq!(first_match("/x/y/z").as_deref(), Some("/*"));
    }
}
