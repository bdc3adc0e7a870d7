//! permessage-deflate (RFC 7692): extension negotiation and the per-message compressor and
//! decompressor.
//!
//! # Negotiation
//!
//! [`DeflateConfig`] says what this endpoint wants. A server calls
//! [`DeflateConfig::negotiate_server`] with the request's `Sec-WebSocket-Extensions` values and
//! gets the agreed [`DeflateParams`] plus the response header value; a client sends
//! [`DeflateConfig::client_offer`] and checks the answer with
//! [`DeflateConfig::accept_client_response`]. Parameter names and the extension name are
//! compared case-insensitively, whitespace around `,`, `;` and `=` is ignored and values may be
//! quoted strings (RFC 6455 section 9.1, RFC 7230 section 3.2.6).
//!
//! # Memory
//!
//! Both directions allocate their zlib state on first use and free it again whenever the
//! context may not outlive the message (`*_no_context_takeover`). Sizes measured with zlib-rs
//! 0.6, the backend of `flate2` here, which the compressor uses directly to choose memLevel 4:
//!
//! | window bits | compressor | decompressor |
//! |-------------|-----------:|-------------:|
//! | 8 and 9     |    140 KiB |     46.6 KiB |
//! | 10          |    142 KiB |     46.6 KiB |
//! | 11          |    146 KiB |     46.6 KiB |
//! | 12          |    154 KiB |     46.6 KiB |
//! | 13          |    170 KiB |     46.6 KiB |
//! | 14          |    202 KiB |     46.6 KiB |
//! | 15          |    266 KiB |     46.6 KiB |
//!
//! A compressor costs about `138 KiB + 4 * 2^w` bytes. zlib-rs always allocates a 64 Ki-entry
//! hash table (128 KiB) whatever the window and memLevel; the window is allocated twice over and
//! each of its positions has a 2-byte chain link (the `4 * 2^w`); the literal buffers take
//! `7 * 2^(memLevel + 6)` bytes. memLevel 4 keeps those at 7 KiB where zlib's default of 8 takes
//! 112 KiB, for output within 1% of memLevel 8 on text and JSON; memLevels 1 to 3 lose several
//! percent of ratio to save at most 6 KiB more. A decompressor costs the same at every window
//! size because zlib-rs always allocates a 32 KiB window.
//!
//! So an idle connection holds at most one decompressor (46.6 KiB, and nothing when the peer
//! may not use context takeover), provided its compressor is released when it goes idle:
//! [`Compressor::release`] is allowed between any two messages (see there).
//!
//! # Window bits 8
//!
//! zlib and zlib-rs refuse to compress a raw deflate stream with an 8-bit window (older zlib
//! silently used 9), so the compressor runs with 9 whenever 8 was agreed. That is still
//! correct: zlib never emits a distance beyond `window size - MIN_LOOKAHEAD`, which for a
//! 512-byte window is 512 - 262 = 250 bytes, inside the 256 bytes an 8-bit peer keeps. Node's
//! `zlib` relies on the same fact; a test below decodes our output with a reference decoder that
//! checks every distance. So a server can accept an offer of `server_max_window_bits=8`
//! (Autobahn cases 13.3 and 13.5 offer nothing else) and a client can honour
//! `client_max_window_bits=8`. The decompressor is given 9 for the same reason (`flate2` refuses
//! 8); zlib-rs inflates with a 32 KiB window anyway, so a peer that overshoots the window it
//! agreed to is not caught.
//!
//! # Errors
//!
//! Corrupt compressed data fails with 1007 (invalid payload): the frames were well formed, the
//! data inside them was not, as for invalid UTF-8 (Node's `ws` uses the same code). A message
//! inflating past the size limit fails with 1009 before more than the limit is allocated.

use super::{ProtocolError, Role};
use flate2::{Decompress, FlushDecompress};
use std::borrow::Cow;
use std::fmt;

/// The extension token.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest LZ77 window RFC 7692 allows, as a base-2 logarithm.
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest (and default) LZ77 window, 32 KiB, as a base-2 logarithm.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The default compression level: zlib-rs level 3 (its "medium" strategy). Level 1 is twice as
/// fast but only uses fixed Huffman codes (about 35% more output on text and JSON); level 3
/// gives output within 12% of level 6 at twice its speed.
pub const DEFAULT_LEVEL: u32 = 3;

/// The default size under which messages are sent uncompressed: 1 KiB, as in Node's `ws`.
///
/// A fresh compression context costs 140 to 266 KiB and about 10 µs to set up, which is more
/// than compressing a small message saves; below a kilobyte the saving is also a few hundred
/// bytes on a message that fits one TCP segment either way. Connections that only exchange
/// small messages then never allocate a compressor at all.
pub const DEFAULT_THRESHOLD: usize = 1024;

/// zlib's memLevel for the compressor; see the module documentation for the trade-off.
const MEM_LEVEL: i32 = 4;

/// The empty stored block that ends a sync flush: removed by the sender, restored by the
/// receiver (RFC 7692 sections 7.2.1 and 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How much the decompressor grows its output at least, when it must grow it.
const MIN_GROW: usize = 16 * 1024;

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// What this endpoint offers (as a client) or accepts (as a server).
///
/// Out-of-range window bits are clamped to 8..=15 and levels to 0..=9.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Client: ask the server not to keep its compression context between messages (so our
    /// decompressor is freed after each message). Server: insist on it even when not asked.
    /// Default `false`.
    pub server_no_context_takeover: bool,
    /// Client: promise not to keep our compression context between messages. Server: require
    /// that of the client (so our decompressor is freed after each message). Default `false`.
    ///
    /// A server also agrees to it, whatever this says, when the client offers it.
    pub client_no_context_takeover: bool,
    /// Client: the largest window the server may compress with. Server: the largest window we
    /// compress with. 8..=15, default 15.
    pub server_max_window_bits: u8,
    /// Client: the largest window we compress with. Server: the largest window we ask the client
    /// to use, when its offer allows asking (it has `client_max_window_bits`); otherwise the
    /// client keeps 15, which costs our decompressor nothing more. 8..=15, default 15.
    pub client_max_window_bits: u8,
    /// The compression level, 0 (store only) to 9. Default [`DEFAULT_LEVEL`] (3).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed. Default [`DEFAULT_THRESHOLD`] (1024).
    pub threshold: usize,
}

impl DeflateConfig {
    /// What a `#[ws_service]` (a [`crate::ServiceConfig`]) accepts by default: the defaults, but
    /// the server keeps no compression context between messages
    /// (`server_no_context_takeover`). Its compressor then holds no memory per connection (one
    /// zlib state per thread serves them all) instead of about 140 KiB each, for about a
    /// quarter more bytes on the wire than with context takeover on repetitive JSON (4 KiB
    /// JSON-like messages: 1,365 against 1,094 bytes at level 3; see BENCHMARKS.md).
    pub fn lean_server() -> Self {
        Self {
            server_no_context_takeover: true,
            ..Self::default()
        }
    }

    /// Sets `server_no_context_takeover` (see the field).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets `client_no_context_takeover` (see the field).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets `server_max_window_bits` (clamped to 8..=15).
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Sets `client_max_window_bits` (clamped to 8..=15).
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// Sets the compression level (0 to 9).
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// Sets the size below which messages go uncompressed.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: DEFAULT_LEVEL,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// What the handshake agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compression context after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after every message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, 8..=15.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 8..=15.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// Context takeover both ways and 32 KiB windows: what a bare `permessage-deflate` agrees.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// Why a client must fail the connection after the server's `Sec-WebSocket-Extensions` answer.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The header does not follow the RFC 6455 section 9.1 grammar.
    #[error("malformed Sec-WebSocket-Extensions header")]
    Malformed,
    /// The server accepted an extension that was not offered.
    #[error("the server accepted extension `{0}`, which was not offered")]
    NotOffered(String),
    /// The server accepted permessage-deflate more than once.
    #[error("the server accepted permessage-deflate more than once")]
    Repeated,
    /// A parameter RFC 7692 does not define.
    #[error("unknown permessage-deflate parameter `{0}`")]
    UnknownParam(String),
    /// A parameter given twice.
    #[error("permessage-deflate parameter `{0}` given more than once")]
    DuplicateParam(&'static str),
    /// A value on a flag, no value where one is required, or a window size other than 8..=15
    /// written without leading zeros.
    #[error("invalid value for permessage-deflate parameter `{0}`")]
    InvalidValue(&'static str),
    /// The server sent a parameter the offer did not allow it to send.
    #[error("the server sent `{0}`, which the offer did not allow")]
    Unexpected(&'static str),
    /// The server did not grant a parameter the client asked for.
    #[error("the server did not accept the requested `{0}`")]
    Missing(&'static str),
    /// The server's window exceeds the one the client asked for.
    #[error("the server's server_max_window_bits={got} exceeds the requested {requested}")]
    WindowTooLarge {
        /// What the client offered.
        requested: u8,
        /// What the server answered.
        got: u8,
    },
}

/// The compressor failed. This is a bug (in this module or zlib-rs), never the peer's doing;
/// the connection should be closed with 1011.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("permessage-deflate compression failed: {reason}")]
pub struct DeflateError {
    /// What went wrong.
    pub reason: &'static str,
}

impl DeflateConfig {
    /// Server side: picks the first acceptable permessage-deflate offer.
    ///
    /// `offers` are all the `Sec-WebSocket-Extensions` values of the request, in order; each may
    /// hold several comma-separated extensions, other extensions are skipped. An offer with an
    /// unknown or repeated parameter, a malformed value or a value on a flag is declined and the
    /// next one tried (RFC 7692 section 7). Returns the agreed parameters and the value of the
    /// response's `Sec-WebSocket-Extensions` header, or `None` to answer without the extension.
    pub fn negotiate_server<'a>(
        &self,
        offers: impl IntoIterator<Item = &'a str>,
    ) -> Option<(DeflateParams, String)> {
        offers
            .into_iter()
            .flat_map(|value| split_unquoted(value, b','))
            .filter(|element| !trim_ows(element).is_empty())
            .find_map(|element| {
                let (name, params) = parse_element(element).ok()?;
                if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
                    return None;
                }
                let offer = Negotiated::parse(&params, false).ok()?;
                Some(self.accept_offer(&offer))
            })
    }

    /// Server side: the answer to a valid offer. Every offer is acceptable because any window
    /// from 8 to 15 can be produced (see the module documentation on window bits 8).
    fn accept_offer(&self, offer: &Negotiated) -> (DeflateParams, String) {
        let own_server_bits = clamp_bits(self.server_max_window_bits);
        let own_client_bits = clamp_bits(self.client_max_window_bits);
        let server_bits = offer
            .server_max_window_bits
            .unwrap_or(MAX_WINDOW_BITS)
            .min(own_server_bits);
        let client_bits = match offer.client_max_window_bits {
            // RFC 7692 7.1.2.2: without the parameter in the offer the answer must not carry it,
            // so the client keeps its 32 KiB window.
            None => MAX_WINDOW_BITS,
            Some(hint) => hint.unwrap_or(MAX_WINDOW_BITS).min(own_client_bits),
        };
        let answer = Negotiated {
            server_no_context_takeover: offer.server_no_context_takeover
                || self.server_no_context_takeover,
            // The client's hint costs it nothing to have confirmed, and lets our decompressor be
            // freed after every message.
            client_no_context_takeover: offer.client_no_context_takeover
                || self.client_no_context_takeover,
            // Accepting a requested window means answering with it (7.1.2.1); unrequested it is
            // only worth saying when smaller than the default.
            server_max_window_bits: (offer.server_max_window_bits.is_some()
                || server_bits < MAX_WINDOW_BITS)
                .then_some(server_bits),
            client_max_window_bits: (client_bits < MAX_WINDOW_BITS).then_some(Some(client_bits)),
        };
        (answer.params(), answer.to_header())
    }

    /// Client side: the value of the request's `Sec-WebSocket-Extensions` header.
    ///
    /// Always includes `client_max_window_bits` (with our limit as value when below 15) so the
    /// server may shrink our window, which only saves us memory.
    pub fn client_offer(&self) -> String {
        self.offer().to_header()
    }

    /// What [`Self::client_offer`] offers.
    fn offer(&self) -> Negotiated {
        let server_bits = clamp_bits(self.server_max_window_bits);
        let client_bits = clamp_bits(self.client_max_window_bits);
        Negotiated {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (server_bits < MAX_WINDOW_BITS).then_some(server_bits),
            client_max_window_bits: Some((client_bits < MAX_WINDOW_BITS).then_some(client_bits)),
        }
    }

    /// Client side: checks the response's `Sec-WebSocket-Extensions` values against
    /// [`Self::client_offer`].
    ///
    /// `Ok(None)`: the server declined compression. `Err`: the client must fail the connection
    /// (an extension that was not offered, permessage-deflate twice, an unknown, repeated or
    /// invalid parameter, `server_no_context_takeover` or `server_max_window_bits` requested but
    /// not granted, a larger `server_max_window_bits` than requested).
    ///
    /// A `client_max_window_bits` larger than the one we offered is accepted: we keep to ours,
    /// which the answer allows.
    pub fn accept_client_response<'a>(
        &self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<DeflateParams>, ExtensionError> {
        let mut accepted = None;
        for element in values
            .into_iter()
            .flat_map(|value| split_unquoted(value, b','))
        {
            if trim_ows(element).is_empty() {
                continue;
            }
            let (name, params) = parse_element(element).map_err(|()| ExtensionError::Malformed)?;
            if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
                return Err(ExtensionError::NotOffered(name.to_owned()));
            }
            if accepted.is_some() {
                return Err(ExtensionError::Repeated);
            }
            accepted = Some(Negotiated::parse(&params, true)?);
        }
        accepted
            .map(|answer| validate_response(&self.offer(), &answer))
            .transpose()
    }
}

/// Checks a server's answer against what was offered and resolves the agreed parameters.
fn validate_response(
    offer: &Negotiated,
    answer: &Negotiated,
) -> Result<DeflateParams, ExtensionError> {
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(ExtensionError::Missing(SERVER_NO_CONTEXT_TAKEOVER));
    }
    let server_bits = match (offer.server_max_window_bits, answer.server_max_window_bits) {
        (Some(_), None) => return Err(ExtensionError::Missing(SERVER_MAX_WINDOW_BITS)),
        (Some(requested), Some(got)) if got > requested => {
            return Err(ExtensionError::WindowTooLarge { requested, got });
        }
        (_, got) => got.unwrap_or(MAX_WINDOW_BITS),
    };
    let own_client_bits = match offer.client_max_window_bits {
        None if answer.client_max_window_bits.is_some() => {
            return Err(ExtensionError::Unexpected(CLIENT_MAX_WINDOW_BITS));
        }
        None => MAX_WINDOW_BITS,
        Some(hint) => hint.unwrap_or(MAX_WINDOW_BITS),
    };
    // The response always carries a value here: `Negotiated::parse` rejects a bare one.
    let client_bits = answer
        .client_max_window_bits
        .flatten()
        .unwrap_or(MAX_WINDOW_BITS)
        .min(own_client_bits);
    Ok(DeflateParams {
        server_no_context_takeover: answer.server_no_context_takeover,
        // An offered client_no_context_takeover is a promise we keep whatever the answer says.
        client_no_context_takeover: offer.client_no_context_takeover
            || answer.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    })
}

/// The parameters of one permessage-deflate offer or response, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Negotiated {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)` is the bare parameter (only valid in an offer).
    client_max_window_bits: Option<Option<u8>>,
}

impl Negotiated {
    /// Interprets the parameters of one extension; `response` forbids a bare
    /// `client_max_window_bits`.
    fn parse(params: &[Param<'_>], response: bool) -> Result<Self, ExtensionError> {
        let mut out = Self::default();
        let mut seen = [false; 4];
        for (name, value) in params {
            let (index, known) = [
                SERVER_NO_CONTEXT_TAKEOVER,
                CLIENT_NO_CONTEXT_TAKEOVER,
                SERVER_MAX_WINDOW_BITS,
                CLIENT_MAX_WINDOW_BITS,
            ]
            .into_iter()
            .enumerate()
            .find(|(_, known)| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| ExtensionError::UnknownParam((*name).to_owned()))?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(ExtensionError::DuplicateParam(known));
            }
            let value = value.as_deref();
            let invalid = || ExtensionError::InvalidValue(known);
            match index {
                0 | 1 if value.is_some() => return Err(invalid()),
                0 => out.server_no_context_takeover = true,
                1 => out.client_no_context_takeover = true,
                2 => {
                    out.server_max_window_bits =
                        Some(value.and_then(parse_window_bits).ok_or_else(invalid)?)
                }
                _ => {
                    out.client_max_window_bits = Some(match value {
                        None if response => return Err(invalid()),
                        None => None,
                        Some(value) => Some(parse_window_bits(value).ok_or_else(invalid)?),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The parameters as agreed, for an answer (bare `client_max_window_bits` means 15).
    fn params(&self) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            client_max_window_bits: self
                .client_max_window_bits
                .flatten()
                .unwrap_or(MAX_WINDOW_BITS),
        }
    }

    /// The header value that states these parameters.
    fn to_header(&self) -> String {
        let mut out = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            out.push_str("; ");
            out.push_str(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.client_no_context_takeover {
            out.push_str("; ");
            out.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; {SERVER_MAX_WINDOW_BITS}={bits}"));
        }
        match self.client_max_window_bits {
            Some(Some(bits)) => out.push_str(&format!("; {CLIENT_MAX_WINDOW_BITS}={bits}")),
            Some(None) => {
                out.push_str("; ");
                out.push_str(CLIENT_MAX_WINDOW_BITS);
            }
            None => {}
        }
        out
    }
}

/// A parameter name and its (unquoted) value.
type Param<'a> = (&'a str, Option<Cow<'a, str>>);

/// Parses `extension-token *( ";" extension-param )` (RFC 6455 section 9.1).
fn parse_element(element: &str) -> Result<(&str, Vec<Param<'_>>), ()> {
    let mut pieces = split_unquoted(element, b';').into_iter();
    let name = trim_ows(pieces.next().unwrap_or_default());
    if !is_token(name) {
        return Err(());
    }
    let params = pieces.map(parse_param).collect::<Result<_, _>>()?;
    Ok((name, params))
}

/// Parses `token [ "=" ( token / quoted-string ) ]`.
fn parse_param(piece: &str) -> Result<Param<'_>, ()> {
    let piece = trim_ows(piece);
    let (name, value) = match piece.split_once('=') {
        Some((name, value)) => (trim_ows(name), Some(trim_ows(value))),
        None => (piece, None),
    };
    if !is_token(name) {
        return Err(());
    }
    let value = match value {
        None => None,
        Some(value) if value.starts_with('"') => Some(Cow::Owned(unquote(value)?)),
        Some(value) if is_token(value) => Some(Cow::Borrowed(value)),
        Some(_) => return Err(()),
    };
    Ok((name, value))
}

/// Unescapes a quoted-string, whose content must then be a token (RFC 6455 section 9.1).
fn unquote(quoted: &str) -> Result<String, ()> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or(())?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or(())?),
            '"' => return Err(()),
            c => out.push(c),
        }
    }
    if is_token(&out) {
        Ok(out)
    } else {
        Err(())
    }
}

/// A window size: a decimal 8..=15 without leading zeros (RFC 7692 section 7.1.2).
fn parse_window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0')
        || !(1..=2).contains(&value.len())
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    value
        .parse()
        .ok()
        .filter(|bits| (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(bits))
}

/// Splits at each `separator` outside a quoted-string, where a comma or semicolon is text.
fn split_unquoted(value: &str, separator: u8) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, byte) in value.bytes().enumerate() {
        if quoted {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if byte == b'"' {
            quoted = true;
        } else if byte == separator {
            // The separator is ASCII, so `i` is a character boundary.
            pieces.push(&value[start..i]);
            start = i + 1;
        }
    }
    pieces.push(&value[start..]);
    pieces
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// RFC 7230 section 3.2.6 `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

impl DeflateParams {
    /// The compressor for messages `role` sends: a server compresses with the `server_*`
    /// parameters, a client with the `client_*` ones. `level` is 0..=9 (clamped); see
    /// [`DEFAULT_LEVEL`].
    pub fn compressor(&self, role: Role, level: u32) -> Compressor {
        let (window_bits, no_context_takeover) = match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        };
        Compressor {
            window_bits: clamp_bits(window_bits),
            no_context_takeover,
            level: level.min(9) as i32,
            state: None,
        }
    }

    /// The decompressor for messages `role` receives: a server inflates with the `client_*`
    /// parameters, a client with the `server_*` ones.
    pub fn decompressor(&self, role: Role) -> Decompressor {
        let (window_bits, no_context_takeover) = match role {
            Role::Server => (self.client_max_window_bits, self.client_no_context_takeover),
            Role::Client => (self.server_max_window_bits, self.server_no_context_takeover),
        };
        Decompressor {
            window_bits: clamp_bits(window_bits),
            no_context_takeover,
            state: None,
            in_message: false,
            ended: false,
        }
    }
}

/// Compresses outgoing messages (RFC 7692 section 7.2.1).
///
/// With context takeover its zlib state (about 140 KiB with a 32 KiB window, see the module
/// documentation) is allocated by the first [`Compressor::compress`] and kept until
/// [`Compressor::release`]. Without context takeover it holds none: every message borrows a
/// state kept once per thread (reset before each message), so many connections compressing
/// cost one state per thread.
pub struct Compressor {
    /// As agreed, 8..=15; zlib is given at least 9 (see the module documentation).
    window_bits: u8,
    no_context_takeover: bool,
    level: i32,
    state: Option<Box<zlib_rs::Deflate>>,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("level", &self.level)
            .field("allocated", &self.is_allocated())
            .finish()
    }
}

impl Compressor {
    /// Compresses one whole message payload and appends the frame payload to `out`: a sync
    /// flush with its trailing `00 00 ff ff` removed (RFC 7692 section 7.2.1). An empty message
    /// becomes the single byte `00` (section 7.2.3.6) without touching the zlib state.
    ///
    /// With no context takeover the state is freed afterwards. On error the state is freed too
    /// and the connection should be closed with 1011; `out` then holds partial output.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        if input.is_empty() {
            // zlib would emit nothing for a second sync flush in a row, and a payload the
            // receiver completes with 00 00 ff ff must begin a block: an empty stored block
            // header does, and leaves the stream byte-aligned as a flush would.
            out.push(0x00);
            return Ok(());
        }
        let (window_bits, level) = (self.window_bits, self.level);
        if self.no_context_takeover {
            // Nothing to keep between messages: borrow this thread's spare zlib state (reset),
            // so a connection holds none and a message costs no allocation.
            let mut deflate = take_spare_deflate(window_bits, level)
                .unwrap_or_else(|| new_deflate(window_bits, level));
            let result = sync_flush(&mut deflate, input, out);
            if result.is_ok() {
                put_spare_deflate(window_bits, level, deflate);
            }
            return result;
        }
        let deflate = self
            .state
            .get_or_insert_with(|| new_deflate(window_bits, level));
        let result = sync_flush(deflate, input, out);
        if result.is_err() {
            self.state = None;
        }
        result
    }

    /// Frees the compression state; the next message starts from an empty window.
    ///
    /// Always allowed between messages, with or without context takeover: context takeover lets
    /// the compressor refer to earlier messages but never obliges it to, and the peer's
    /// decompressor handles a block that refers only to itself whatever window it keeps. It
    /// only costs compression ratio on the next messages, so call it when the connection goes
    /// idle (this is what keeps an idle connection under 48 KiB).
    pub fn release(&mut self) {
        self.state = None;
    }

    /// Frees the state only when that loses nothing: with no context takeover. (The state is
    /// already freed after every message then, so this matters only after a failure.) To free
    /// an idle compressor whatever the parameters, use [`Compressor::release`].
    pub fn release_if_stateless(&mut self) {
        if self.no_context_takeover {
            self.state = None;
        }
    }

    /// Whether the zlib state is currently allocated.
    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }
}

thread_local! {
    /// One zlib compression state per thread for compressors without context takeover: they
    /// start every message from an empty window, so any reset state will do.
    static SPARE_DEFLATE: std::cell::RefCell<Option<(u8, i32, Box<zlib_rs::Deflate>)>> =
        const { std::cell::RefCell::new(None) };
}

/// This thread's spare state, reset, if it was made for `window_bits` and `level`.
fn take_spare_deflate(window_bits: u8, level: i32) -> Option<Box<zlib_rs::Deflate>> {
    SPARE_DEFLATE
        .try_with(|spare| {
            let mut spare = spare.try_borrow_mut().ok()?;
            match spare.take() {
                Some((bits, lvl, mut deflate)) if bits == window_bits && lvl == level => {
                    deflate.reset();
                    Some(deflate)
                }
                other => {
                    *spare = other;
                    None
                }
            }
        })
        .ok()
        .flatten()
}

/// Keeps `deflate` as this thread's spare state (replacing one made for other parameters).
fn put_spare_deflate(window_bits: u8, level: i32, deflate: Box<zlib_rs::Deflate>) {
    let _ = SPARE_DEFLATE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            *spare = Some((window_bits, level, deflate));
        }
    });
}

/// A raw deflate stream. zlib-rs refuses an 8-bit window for raw deflate; 9 never emits a
/// distance beyond 250, which an 8-bit window covers (see the module documentation).
fn new_deflate(window_bits: u8, level: i32) -> Box<zlib_rs::Deflate> {
    let window_bits = window_bits.clamp(MIN_WINDOW_BITS + 1, MAX_WINDOW_BITS);
    Box::new(zlib_rs::Deflate::new_with_config(zlib_rs::DeflateConfig {
        level,
        method: zlib_rs::Method::Deflated,
        window_bits: -i32::from(window_bits),
        mem_level: MEM_LEVEL,
        strategy: zlib_rs::Strategy::Default,
    }))
}

/// Compresses `input` with a sync flush, appends it to `out` and removes the flush's tail.
fn sync_flush(
    deflate: &mut zlib_rs::Deflate,
    mut input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DeflateError> {
    let start = out.len();
    let mut written = start;
    loop {
        // Text and JSON shrink to well under half; what does not gets a second, bigger round.
        let room = (input.len() / 2).max(written - start) + 64;
        out.resize(written + room, 0);
        let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
        let status = deflate.compress(input, &mut out[written..], zlib_rs::DeflateFlush::SyncFlush);
        let consumed = (deflate.total_in() - in_before) as usize;
        let produced = (deflate.total_out() - out_before) as usize;
        written += produced;
        out.truncate(written);
        status.map_err(|e| DeflateError { reason: e.as_str() })?;
        input = &input[consumed..];
        // zlib's flush is complete once it returns with output space left over.
        if input.is_empty() && produced < room {
            break;
        }
        if consumed == 0 && produced == 0 {
            return Err(DeflateError {
                reason: "deflate made no progress",
            });
        }
    }
    if !out[start..].ends_with(&TAIL) {
        return Err(DeflateError {
            reason: "sync flush did not end with an empty stored block",
        });
    }
    out.truncate(out.len() - TAIL.len());
    Ok(())
}

/// Inflates incoming messages (RFC 7692 section 7.2.2), one fragment at a time.
///
/// Its zlib state (46.6 KiB) is allocated by the first compressed fragment and dropped after
/// every message when the peer may not use context takeover, or after a failure.
pub struct Decompressor {
    /// As agreed, 8..=15; zlib is given at least 9, which accepts every 8-bit stream.
    window_bits: u8,
    no_context_takeover: bool,
    state: Option<Box<Decompress>>,
    /// Between the first and the last fragment of a message.
    in_message: bool,
    /// The peer ended the deflate stream (a block with BFINAL set) in this message.
    ended: bool,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("allocated", &self.is_allocated())
            .field("in_message", &self.in_message)
            .finish()
    }
}

impl Decompressor {
    /// Inflates one fragment of a compressed message and appends the data to `out`.
    ///
    /// `fin` marks the last fragment: the `00 00 ff ff` tail is then fed (RFC 7692 section
    /// 7.2.2) and, with no context takeover, the state freed. `max_size` bounds `out.len()` in
    /// total, including what earlier fragments appended: the call fails with 1009 as soon as
    /// one more byte would be produced, and only grows `out` up to `max_size` (capacity it
    /// already had beyond that may be written into before the check). Corrupt data fails with
    /// 1007. After an error the state is freed; the connection must be failed.
    ///
    /// A deflate block with BFINAL set ends the stream (allowed by section 7.2.3.4): the rest of
    /// the message is ignored and the next message starts a fresh context.
    pub fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        max_size: usize,
    ) -> Result<(), ProtocolError> {
        let window_bits = self.window_bits.max(MIN_WINDOW_BITS + 1);
        let inflate = self
            .state
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, window_bits)));
        let mut result = inflate_into(inflate, &mut self.ended, input, out, max_size);
        if fin && result.is_ok() {
            result = inflate_into(inflate, &mut self.ended, &TAIL, out, max_size);
        }
        self.in_message = !fin && result.is_ok();
        if result.is_err() || (fin && (self.no_context_takeover || self.ended)) {
            self.state = None;
            self.ended = false;
        }
        result
    }

    /// Frees the state unconditionally, ending any message in progress.
    ///
    /// Only harmless when the peer may not refer to earlier messages (no context takeover)
    /// between messages, or when the connection is ending: otherwise the next message that
    /// refers to the discarded window fails with 1007. [`Decompressor::release_if_stateless`]
    /// checks this itself.
    pub fn release(&mut self) {
        self.state = None;
        self.in_message = false;
        self.ended = false;
    }

    /// Frees the state when no later message can need it: no context takeover and no message
    /// in progress.
    pub fn release_if_stateless(&mut self) {
        if self.no_context_takeover && !self.in_message {
            self.release();
        }
    }

    /// Whether the zlib state is currently allocated.
    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }
}

/// Inflates all of `input` into `out`, never letting `out` grow past `max_size`.
fn inflate_into(
    inflate: &mut Decompress,
    ended: &mut bool,
    mut input: &[u8],
    out: &mut Vec<u8>,
    max_size: usize,
) -> Result<(), ProtocolError> {
    const TOO_BIG: ProtocolError = ProtocolError::too_big("decompressed message too big");
    const CORRUPT: ProtocolError = ProtocolError::invalid_payload("invalid compressed data");
    while !*ended {
        let room = max_size.saturating_sub(out.len());
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let status = if room == 0 {
            // At the limit: any further byte, even one still pending inside zlib with no input
            // left, means too big, so ask for exactly one.
            inflate.decompress(input, &mut [0u8], FlushDecompress::None)
        } else {
            if out.len() == out.capacity() {
                // Doubling, but never past the limit: a bomb stops at max_size.
                out.reserve_exact(room.min(out.len().max(MIN_GROW)));
            }
            inflate.decompress_vec(input, out, FlushDecompress::None)
        }
        .map_err(|_| CORRUPT)?;
        let consumed = (inflate.total_in() - in_before) as usize;
        let produced = (inflate.total_out() - out_before) as usize;
        if (room == 0 && produced > 0) || out.len() > max_size {
            return Err(TOO_BIG);
        }
        input = &input[consumed..];
        if status == flate2::Status::StreamEnd {
            *ended = true;
        } else if input.is_empty() && (room == 0 || out.len() < out.capacity()) {
            // Out of input with output space to spare: zlib has nothing more to give.
            break;
        } else if consumed == 0 && produced == 0 {
            return Err(CORRUPT);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::CloseCode;

    const HELLO_1: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    const HELLO_2: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
    const NO_LIMIT: usize = usize::MAX;

    fn params(no_context_takeover: bool, window_bits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            server_max_window_bits: window_bits,
            client_max_window_bits: window_bits,
        }
    }

    fn compress(c: &mut Compressor, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(input, &mut out).unwrap();
        out
    }

    fn inflate(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let mut out = Vec::new();
        d.decompress(payload, true, &mut out, NO_LIMIT)
            .map(|()| out)
    }

    /// Deterministic xorshift bytes.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Compressible text: words drawn from a small vocabulary.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "{\"id\":",
            "\"user\"",
            "event",
            "update",
            " ",
            "value",
            "true",
            "null",
            ",",
            "}",
            "\n",
            "websocket",
        ];
        let mut out = Vec::with_capacity(len + 16);
        for r in noise(seed, len) {
            if out.len() >= len {
                break;
            }
            out.extend_from_slice(WORDS[usize::from(r) % WORDS.len()].as_bytes());
        }
        out.truncate(len);
        out
    }

    // ---- RFC 7692 section 7.2.3 examples ----

    #[test]
    fn rfc_hello_single_block() {
        for role in [Role::Server, Role::Client] {
            let mut d = DeflateParams::default().decompressor(role);
            assert_eq!(inflate(&mut d, &HELLO_1).unwrap(), b"Hello");
        }
    }

    #[test]
    fn rfc_hello_fragmented() {
        let mut d = DeflateParams::default().decompressor(Role::Server);
        let mut out = Vec::new();
        d.decompress(&HELLO_1[..3], false, &mut out, NO_LIMIT)
            .unwrap();
        d.decompress(&HELLO_1[3..], true, &mut out, NO_LIMIT)
            .unwrap();
        assert_eq!(out, b"Hello");
        // Byte by byte, then an empty final fragment.
        let mut out = Vec::new();
        for byte in HELLO_1 {
            d.decompress(&[byte], false, &mut out, NO_LIMIT).unwrap();
        }
        d.decompress(&[], true, &mut out, NO_LIMIT).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn rfc_context_takeover_vectors() {
        let mut d = DeflateParams::default().decompressor(Role::Client);
        assert_eq!(inflate(&mut d, &HELLO_1).unwrap(), b"Hello");
        assert_eq!(inflate(&mut d, &HELLO_2).unwrap(), b"Hello");
        assert!(d.is_allocated(), "the window must survive between messages");

        // Every level from 2 up reproduces the RFC bytes exactly.
        for level in 2..=9 {
            let mut c = DeflateParams::default().compressor(Role::Server, level);
            assert_eq!(compress(&mut c, b"Hello"), HELLO_1, "level {level}");
            assert_eq!(compress(&mut c, b"Hello"), HELLO_2, "level {level}");
            assert!(c.is_allocated());
        }
        // Level 1 (fixed Huffman codes only) encodes the second one differently; it must still
        // decode.
        let mut c = DeflateParams::default().compressor(Role::Server, 1);
        let mut d = DeflateParams::default().decompressor(Role::Client);
        for _ in 0..3 {
            let payload = compress(&mut c, b"Hello");
            assert_eq!(inflate(&mut d, &payload).unwrap(), b"Hello");
        }
    }

    #[test]
    fn rfc_no_context_takeover_vectors() {
        let p = params(true, 15);
        for level in 1..=9 {
            let mut c = p.compressor(Role::Server, level);
            assert_eq!(compress(&mut c, b"Hello"), HELLO_1, "level {level}");
            assert!(!c.is_allocated());
            assert_eq!(compress(&mut c, b"Hello"), HELLO_1, "level {level}");
        }
        let mut d = p.decompressor(Role::Client);
        assert_eq!(inflate(&mut d, &HELLO_1).unwrap(), b"Hello");
        assert!(!d.is_allocated());
        assert_eq!(inflate(&mut d, &HELLO_1).unwrap(), b"Hello");
        // The second RFC vector refers to the first message: without its window it is corrupt.
        assert_eq!(
            inflate(&mut d, &HELLO_2).unwrap_err().code,
            CloseCode::INVALID_PAYLOAD
        );
    }

    #[test]
    fn rfc_uncompressed_block() {
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let mut d = DeflateParams::default().decompressor(Role::Server);
        assert_eq!(inflate(&mut d, &stored).unwrap(), b"Hello");
        let mut c = DeflateParams::default().compressor(Role::Client, 0);
        assert_eq!(compress(&mut c, b"Hello"), stored);
    }

    #[test]
    fn rfc_bfinal_block() {
        // Section 7.2.3.4: a block with BFINAL set ends the stream; the next message starts a
        // fresh one.
        let mut d = DeflateParams::default().decompressor(Role::Server);
        let final_block = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate(&mut d, &final_block).unwrap(), b"Hello");
        assert!(!d.is_allocated());
        assert_eq!(inflate(&mut d, &HELLO_1).unwrap(), b"Hello");
        // Ended in a first fragment: the rest of the message is ignored.
        let mut out = Vec::new();
        d.decompress(&final_block[..7], false, &mut out, NO_LIMIT)
            .unwrap();
        d.decompress(&[0x00, 0x12, 0x34], true, &mut out, NO_LIMIT)
            .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn rfc_two_blocks() {
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        let mut d = DeflateParams::default().decompressor(Role::Server);
        assert_eq!(inflate(&mut d, &two).unwrap(), b"Hello");
    }

    #[test]
    fn empty_message() {
        // Section 7.2.3.6: an empty message is the single byte 00.
        for nct in [false, true] {
            let p = params(nct, 15);
            let mut c = p.compressor(Role::Server, DEFAULT_LEVEL);
            let mut d = p.decompressor(Role::Client);
            assert_eq!(compress(&mut c, b""), [0x00]);
            assert!(!c.is_allocated(), "an empty message needs no state");
            assert_eq!(inflate(&mut d, &[0x00]).unwrap(), b"");
            for msg in [&b"Hello"[..], b"", b"", b"Hello", b""] {
                let payload = compress(&mut c, msg);
                assert_eq!(inflate(&mut d, &payload).unwrap(), msg);
            }
        }
    }

    // ---- negotiation, server side ----

    fn server(config: &DeflateConfig, offers: &[&str]) -> Option<(DeflateParams, String)> {
        config.negotiate_server(offers.iter().copied())
    }

    fn accepted(offers: &[&str]) -> (DeflateParams, String) {
        server(&DeflateConfig::default(), offers).expect("offer declined")
    }

    #[test]
    fn server_bare_offer() {
        let (p, answer) = accepted(&["permessage-deflate"]);
        assert_eq!(p, DeflateParams::default());
        assert_eq!(answer, "permessage-deflate");
        assert_eq!(server(&DeflateConfig::default(), &[]), None);
        assert_eq!(server(&DeflateConfig::default(), &[""]), None);
    }

    #[test]
    fn server_each_param_alone() {
        let (p, answer) = accepted(&["permessage-deflate; server_no_context_takeover"]);
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!(answer, "permessage-deflate; server_no_context_takeover");

        // The client's hint is confirmed: it frees our decompressor after every message.
        let (p, answer) = accepted(&["permessage-deflate; client_no_context_takeover"]);
        assert!(p.client_no_context_takeover && !p.server_no_context_takeover);
        assert_eq!(answer, "permessage-deflate; client_no_context_takeover");

        for bits in 8..=15 {
            let (p, answer) = accepted(&[&format!(
                "permessage-deflate; server_max_window_bits={bits}"
            )]);
            assert_eq!(p.server_max_window_bits, bits);
            assert_eq!(
                answer,
                format!("permessage-deflate; server_max_window_bits={bits}")
            );
        }

        let (p, answer) = accepted(&["permessage-deflate; client_max_window_bits=10"]);
        assert_eq!(p.client_max_window_bits, 10);
        assert_eq!(answer, "permessage-deflate; client_max_window_bits=10");
        let (p, answer) = accepted(&["permessage-deflate; client_max_window_bits=15"]);
        assert_eq!(p.client_max_window_bits, 15);
        assert_eq!(answer, "permessage-deflate");
    }

    #[test]
    fn server_bare_client_max_window_bits() {
        // What browsers send: the client can be told a window, or not.
        let offer = ["permessage-deflate; client_max_window_bits"];
        let (p, answer) = accepted(&offer);
        assert_eq!(p, DeflateParams::default());
        assert_eq!(answer, "permessage-deflate");

        let config = DeflateConfig {
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let (p, answer) = server(&config, &offer).unwrap();
        assert_eq!(p.client_max_window_bits, 10);
        assert_eq!(answer, "permessage-deflate; client_max_window_bits=10");

        // A hint below our limit wins.
        let (p, answer) =
            server(&config, &["permessage-deflate; client_max_window_bits=9"]).unwrap();
        assert_eq!(p.client_max_window_bits, 9);
        assert_eq!(answer, "permessage-deflate; client_max_window_bits=9");

        // Without the parameter in the offer the answer must not carry it (7.1.2.2).
        let (p, answer) = server(&config, &["permessage-deflate"]).unwrap();
        assert_eq!(p.client_max_window_bits, 15);
        assert_eq!(answer, "permessage-deflate");
    }

    #[test]
    fn server_config_applies() {
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 12,
            ..DeflateConfig::default()
        };
        let (p, answer) = server(&config, &["permessage-deflate"]).unwrap();
        assert_eq!(
            p,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 12,
                client_max_window_bits: 15,
            }
        );
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12"
        );
        // The smaller of the request and our limit.
        let (p, _) = server(&config, &["permessage-deflate; server_max_window_bits=10"]).unwrap();
        assert_eq!(p.server_max_window_bits, 10);
        let (p, answer) =
            server(&config, &["permessage-deflate; server_max_window_bits=14"]).unwrap();
        assert_eq!(p.server_max_window_bits, 12);
        assert!(answer.contains("server_max_window_bits=12"));
        // Out-of-range configuration is clamped.
        let config = DeflateConfig {
            server_max_window_bits: 3,
            ..DeflateConfig::default()
        };
        let (p, _) = server(&config, &["permessage-deflate"]).unwrap();
        assert_eq!(p.server_max_window_bits, 8);
    }

    #[test]
    fn server_syntax_variants() {
        for offer in [
            "permessage-deflate;client_max_window_bits=\"10\"",
            "permessage-deflate ; client_max_window_bits = \"10\" ",
            "\tPerMessage-Deflate;\tCLIENT_MAX_WINDOW_BITS=10",
            "permessage-deflate; client_max_window_bits=\"1\\0\"",
        ] {
            let (p, answer) = accepted(&[offer]);
            assert_eq!(p.client_max_window_bits, 10, "{offer}");
            assert_eq!(
                answer, "permessage-deflate; client_max_window_bits=10",
                "{offer}"
            );
        }
        // Empty list elements are allowed (RFC 7230 section 7).
        assert!(server(&DeflateConfig::default(), &[" , ,permessage-deflate,"]).is_some());
    }

    #[test]
    fn server_declines_invalid_offers() {
        for offer in [
            "permessage-deflate; foo",
            "permessage-deflate; foo=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10; SERVER_MAX_WINDOW_BITS=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; server_max_window_bits=1O",
            "permessage-deflate; server_max_window_bits=\" 9\"",
            "permessage-deflate; server_max_window_bits=\"\"",
            "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=150",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"\"",
            "permessage-deflate; client_no_context_takeover=true",
            "permessage-deflate;",
            "permessage-deflate;; server_no_context_takeover",
            "permessage-deflate; =10",
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_max_window_bits=1 0",
            "permessage-deflate x",
        ] {
            assert_eq!(server(&DeflateConfig::default(), &[offer]), None, "{offer}");
            // Declining one offer moves on to the next, in the same header (unless an
            // unterminated quote swallowed the rest of it) or the next one.
            if !offer.ends_with("\"10") {
                let (p, _) = server(
                    &DeflateConfig::default(),
                    &[&format!(
                        "{offer}, permessage-deflate; server_max_window_bits=11"
                    )],
                )
                .unwrap_or_else(|| panic!("{offer}"));
                assert_eq!(p.server_max_window_bits, 11, "{offer}");
            }
            let (p, _) = server(
                &DeflateConfig::default(),
                &[offer, "permessage-deflate; server_max_window_bits=12"],
            )
            .unwrap_or_else(|| panic!("{offer}"));
            assert_eq!(p.server_max_window_bits, 12, "{offer}");
        }
    }

    #[test]
    fn server_first_acceptable_offer_wins() {
        let (p, _) = accepted(&["permessage-deflate; server_max_window_bits=10, \
                                  permessage-deflate; server_max_window_bits=11"]);
        assert_eq!(p.server_max_window_bits, 10);
        let (p, _) = accepted(&[
            "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=7",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=13, permessage-deflate",
        ]);
        assert_eq!(p.server_max_window_bits, 13);
    }

    #[test]
    fn server_ignores_other_extensions() {
        assert_eq!(
            server(
                &DeflateConfig::default(),
                &["foo, bar; baz=1", "x-webkit-deflate-frame"]
            ),
            None
        );
        // A quoted comma or semicolon inside another extension does not split it.
        let (p, _) = accepted(&[
            "foo; a=\"x,permessage-deflate;y\", permessage-deflate; server_no_context_takeover",
        ]);
        assert!(p.server_no_context_takeover);
        // Garbage that is not even an extension is skipped too.
        let (p, _) = accepted(&["@@@, ;, permessage-deflate; client_no_context_takeover"]);
        assert!(p.client_no_context_takeover);
    }

    #[test]
    fn server_accepts_autobahn_offers() {
        // What Autobahn's PerMessageDeflateOffer() always says about the client.
        const CLIENT: &str =
            "permessage-deflate; client_no_context_takeover; client_max_window_bits";
        // Cases 13.3 and 13.5: the only offer asks for an 8-bit window; 13.7 puts it first.
        for (offer, server_nct) in [
            (format!("{CLIENT}; server_max_window_bits=8"), false),
            (
                format!("{CLIENT}; server_no_context_takeover; server_max_window_bits=8"),
                true,
            ),
            (
                format!(
                    "{CLIENT}; server_no_context_takeover; server_max_window_bits=8, \
                     {CLIENT}; server_no_context_takeover, {CLIENT}"
                ),
                true,
            ),
        ] {
            let (p, answer) = accepted(&[&offer]);
            assert_eq!(p.server_max_window_bits, 8);
            assert_eq!(p.server_no_context_takeover, server_nct);
            assert!(p.client_no_context_takeover);
            assert!(answer.ends_with("server_max_window_bits=8"), "{answer}");
        }
    }

    // ---- negotiation, client side ----

    #[test]
    fn client_offers() {
        assert_eq!(
            DeflateConfig::default().client_offer(),
            "permessage-deflate; client_max_window_bits"
        );
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 10,
            client_max_window_bits: 9,
            ..DeflateConfig::default()
        };
        assert_eq!(
            config.client_offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
    }

    #[test]
    fn client_accepts_valid_responses() {
        let config = DeflateConfig::default();
        assert_eq!(config.accept_client_response([]), Ok(None));
        assert_eq!(config.accept_client_response([""]), Ok(None));
        assert_eq!(
            config.accept_client_response(["permessage-deflate"]),
            Ok(Some(DeflateParams::default()))
        );
        assert_eq!(
            config.accept_client_response([
                "Permessage-Deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=\"10\"; client_max_window_bits=9"
            ]),
            Ok(Some(DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 10,
                client_max_window_bits: 9,
            }))
        );
        // Our own client_no_context_takeover and window hint bind us whatever the answer says,
        // and a larger client window in the answer leaves us at ours.
        let config = DeflateConfig {
            client_no_context_takeover: true,
            client_max_window_bits: 11,
            ..DeflateConfig::default()
        };
        let p = config
            .accept_client_response(["permessage-deflate; client_max_window_bits=13"])
            .unwrap()
            .unwrap();
        assert!(p.client_no_context_takeover);
        assert_eq!(p.client_max_window_bits, 11);
        let p = config
            .accept_client_response(["permessage-deflate"])
            .unwrap()
            .unwrap();
        assert_eq!(p.client_max_window_bits, 11);
        // A smaller server window than requested is fine.
        let config = DeflateConfig {
            server_max_window_bits: 12,
            ..DeflateConfig::default()
        };
        let p = config
            .accept_client_response(["permessage-deflate; server_max_window_bits=8"])
            .unwrap()
            .unwrap();
        assert_eq!(p.server_max_window_bits, 8);
    }

    #[test]
    fn client_rejects_invalid_responses() {
        use ExtensionError::*;
        let plain = DeflateConfig::default();
        let demanding = DeflateConfig {
            server_no_context_takeover: true,
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let cases: &[(&DeflateConfig, &[&str], ExtensionError)] = &[
            (
                &plain,
                &["x-webkit-deflate-frame"],
                NotOffered("x-webkit-deflate-frame".into()),
            ),
            (
                &plain,
                &["permessage-deflate, foo"],
                NotOffered("foo".into()),
            ),
            (
                &plain,
                &["permessage-deflate, permessage-deflate"],
                Repeated,
            ),
            (
                &plain,
                &["permessage-deflate", "permessage-deflate"],
                Repeated,
            ),
            (
                &plain,
                &["permessage-deflate; foo"],
                UnknownParam("foo".into()),
            ),
            (
                &plain,
                &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
                DuplicateParam(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                &plain,
                &["permessage-deflate; client_max_window_bits=9; client_max_window_bits=9"],
                DuplicateParam(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; server_no_context_takeover=1"],
                InvalidValue(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                &plain,
                &["permessage-deflate; client_no_context_takeover=\"x\""],
                InvalidValue(CLIENT_NO_CONTEXT_TAKEOVER),
            ),
            (
                &plain,
                &["permessage-deflate; server_max_window_bits"],
                InvalidValue(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; server_max_window_bits=16"],
                InvalidValue(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; server_max_window_bits=010"],
                InvalidValue(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; client_max_window_bits"],
                InvalidValue(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; client_max_window_bits=7"],
                InvalidValue(CLIENT_MAX_WINDOW_BITS),
            ),
            (
                &plain,
                &["permessage-deflate; server_max_window_bits=\"10"],
                Malformed,
            ),
            (&plain, &["permessage-deflate;"], Malformed),
            (&plain, &["permessage-deflate; a b"], Malformed),
            (
                &demanding,
                &["permessage-deflate; server_max_window_bits=10"],
                Missing(SERVER_NO_CONTEXT_TAKEOVER),
            ),
            (
                &demanding,
                &["permessage-deflate; server_no_context_takeover"],
                Missing(SERVER_MAX_WINDOW_BITS),
            ),
            (
                &demanding,
                &["permessage-deflate; server_no_context_takeover; server_max_window_bits=11"],
                WindowTooLarge {
                    requested: 10,
                    got: 11,
                },
            ),
        ];
        for (config, values, expected) in cases {
            assert_eq!(
                config
                    .accept_client_response(values.iter().copied())
                    .as_ref(),
                Err(expected),
                "{values:?}"
            );
            assert!(!expected.to_string().is_empty());
        }
        // We always offer client_max_window_bits; had we not, an answer carrying it is invalid.
        let offer = Negotiated {
            client_max_window_bits: None,
            ..plain.offer()
        };
        let answer = Negotiated {
            client_max_window_bits: Some(Some(10)),
            ..Negotiated::default()
        };
        assert_eq!(
            validate_response(&offer, &answer),
            Err(Unexpected(CLIENT_MAX_WINDOW_BITS))
        );
        assert!(validate_response(&offer, &Negotiated::default()).is_ok());
    }

    #[test]
    fn negotiation_both_ends_agree() {
        for server_nct in [false, true] {
            for client_nct in [false, true] {
                for bits in [8, 9, 12, 15] {
                    let client = DeflateConfig {
                        server_no_context_takeover: server_nct,
                        client_no_context_takeover: client_nct,
                        server_max_window_bits: bits,
                        client_max_window_bits: 23 - bits,
                        ..DeflateConfig::default()
                    };
                    for server_config in [
                        DeflateConfig::default(),
                        DeflateConfig {
                            server_max_window_bits: 10,
                            client_max_window_bits: 9,
                            ..DeflateConfig::default()
                        },
                    ] {
                        let (agreed, answer) = server_config
                            .negotiate_server([client.client_offer().as_str()])
                            .unwrap();
                        let seen = client
                            .accept_client_response([answer.as_str()])
                            .unwrap()
                            .unwrap();
                        assert_eq!(agreed, seen, "{} -> {answer}", client.client_offer());
                    }
                }
            }
        }
    }

    // ---- compression ----

    /// Sends `messages` from `sender` to the other end, fragmenting every other message.
    fn roundtrip(p: DeflateParams, sender: Role, level: u32, messages: &[Vec<u8>]) {
        let receiver = if sender == Role::Server {
            Role::Client
        } else {
            Role::Server
        };
        let no_context_takeover = match sender {
            Role::Server => p.server_no_context_takeover,
            Role::Client => p.client_no_context_takeover,
        };
        let mut c = p.compressor(sender, level);
        let mut d = p.decompressor(receiver);
        assert!(!c.is_allocated() && !d.is_allocated());
        let mut sent_data = false;
        for (i, msg) in messages.iter().enumerate() {
            let payload = compress(&mut c, msg);
            sent_data |= !msg.is_empty();
            assert_eq!(c.is_allocated(), sent_data && !no_context_takeover);
            let mut out = Vec::new();
            if i % 2 == 0 {
                d.decompress(&payload, true, &mut out, msg.len()).unwrap();
            } else {
                for piece in payload.chunks(1 + i % 7) {
                    d.decompress(piece, false, &mut out, msg.len()).unwrap();
                    assert!(d.is_allocated(), "mid-message state must stay");
                }
                d.decompress(&[], true, &mut out, msg.len()).unwrap();
            }
            assert!(out == *msg, "{p:?} {sender:?} level {level} message {i}");
            if no_context_takeover {
                assert!(!c.is_allocated() && !d.is_allocated());
            }
        }
    }

    fn messages() -> Vec<Vec<u8>> {
        let mut messages = vec![
            text(1, 3000),
            text(1, 3000),
            text(2, 700),
            Vec::new(),
            noise(3, 2000),
        ];
        messages.push([text(4, 500), noise(5, 300), text(4, 500)].concat());
        messages.push(b"Hello".to_vec());
        messages
    }

    #[test]
    fn roundtrip_all_windows() {
        let messages = messages();
        for bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
            for nct in [false, true] {
                for sender in [Role::Server, Role::Client] {
                    roundtrip(params(nct, bits), sender, DEFAULT_LEVEL, &messages);
                }
            }
        }
    }

    #[test]
    fn roundtrip_all_levels() {
        let messages = messages();
        for level in 0..=10 {
            roundtrip(params(false, 15), Role::Server, level, &messages);
            roundtrip(params(true, 9), Role::Client, level, &messages);
        }
    }

    #[test]
    fn roundtrip_large_messages() {
        // Several rounds of output growth on both sides, compressible or not.
        let messages = vec![text(7, 300_000), noise(8, 200_000), text(7, 300_000)];
        roundtrip(params(false, 15), Role::Server, DEFAULT_LEVEL, &messages);
        roundtrip(params(true, 12), Role::Client, 1, &messages);
    }

    #[test]
    fn context_takeover_pays() {
        let msg = text(9, 4000);
        let mut c = DeflateParams::default().compressor(Role::Server, DEFAULT_LEVEL);
        let first = compress(&mut c, &msg).len();
        let second = compress(&mut c, &msg).len();
        assert!(second * 4 < first, "{second} vs {first}");
    }

    #[test]
    fn compressor_release_is_always_allowed() {
        // Dropping our context mid-connection while the peer keeps its window: the next
        // messages simply do not refer back.
        let p = params(false, 15);
        let mut c = p.compressor(Role::Client, DEFAULT_LEVEL);
        let mut d = p.decompressor(Role::Server);
        let msg = text(10, 2000);
        for i in 0..6 {
            if i % 2 == 1 {
                c.release();
                assert!(!c.is_allocated());
            }
            let payload = compress(&mut c, &msg);
            assert_eq!(inflate(&mut d, &payload).unwrap(), msg);
        }
        c.release_if_stateless();
        assert!(c.is_allocated(), "context takeover: only release() frees");
    }

    /// A minimal RFC 1951 decoder (after zlib's `puff.c`), independent of zlib, that reports the
    /// longest distance used: zlib-rs inflates with a 32 KiB window whatever it is told, so it
    /// cannot tell whether a stream fits an 8-bit one.
    mod reference {
        struct Bits<'a> {
            data: &'a [u8],
            pos: usize,
        }

        impl Bits<'_> {
            fn bits(&mut self, n: u32) -> u32 {
                let mut value = 0;
                for i in 0..n {
                    let byte = self.data[self.pos / 8];
                    value |= u32::from(byte >> (self.pos % 8) & 1) << i;
                    self.pos += 1;
                }
                value
            }
        }

        struct Huffman {
            counts: [u16; 16],
            symbols: Vec<u16>,
        }

        impl Huffman {
            fn new(lengths: &[u8]) -> Self {
                let mut counts = [0u16; 16];
                lengths.iter().for_each(|&l| counts[usize::from(l)] += 1);
                let mut symbols: Vec<u16> = (0..lengths.len() as u16)
                    .filter(|&s| lengths[usize::from(s)] != 0)
                    .collect();
                symbols.sort_by_key(|&s| lengths[usize::from(s)]);
                counts[0] = 0;
                Self { counts, symbols }
            }

            fn decode(&self, bits: &mut Bits<'_>) -> u16 {
                let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
                for len in 1..16 {
                    code |= bits.bits(1) as i32;
                    let count = i32::from(self.counts[len]);
                    if code - count < first {
                        return self.symbols[(index + code - first) as usize];
                    }
                    index += count;
                    first = (first + count) << 1;
                    code <<= 1;
                }
                panic!("invalid Huffman code");
            }
        }

        const LBASE: [u16; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        const LEXT: [u8; 29] = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ];
        const DBASE: [u16; 30] = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
            1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
        ];
        const DEXT: [u8; 30] = [
            0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
            12, 13, 13,
        ];

        /// Decodes one message (payload plus the 00 00 ff ff tail) onto `history`; returns the
        /// longest distance it used.
        pub fn inflate_message(payload: &[u8], history: &mut Vec<u8>) -> usize {
            let data = [payload, &super::TAIL].concat();
            let mut bits = Bits {
                data: &data,
                pos: 0,
            };
            let mut longest = 0;
            while bits.pos < data.len() * 8 {
                let last = bits.bits(1) == 1;
                let (lit, dist) = match bits.bits(2) {
                    0 => {
                        bits.pos = bits.pos.div_ceil(8) * 8;
                        let len = bits.bits(16) as usize;
                        assert_eq!(bits.bits(16) as usize, !len & 0xffff);
                        history.extend_from_slice(&data[bits.pos / 8..][..len]);
                        bits.pos += len * 8;
                        assert!(!last);
                        continue;
                    }
                    1 => {
                        let mut lengths = [8u8; 288];
                        lengths[144..256].fill(9);
                        lengths[256..280].fill(7);
                        (Huffman::new(&lengths), Huffman::new(&[5; 30]))
                    }
                    2 => {
                        let nlen = bits.bits(5) as usize + 257;
                        let ndist = bits.bits(5) as usize + 1;
                        let ncode = bits.bits(4) as usize + 4;
                        const ORDER: [usize; 19] = [
                            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                        ];
                        let mut code_lengths = [0u8; 19];
                        for &i in &ORDER[..ncode] {
                            code_lengths[i] = bits.bits(3) as u8;
                        }
                        let code = Huffman::new(&code_lengths);
                        let mut lengths = Vec::new();
                        while lengths.len() < nlen + ndist {
                            match code.decode(&mut bits) {
                                sym @ 0..=15 => lengths.push(sym as u8),
                                16 => {
                                    let prev = *lengths.last().unwrap();
                                    lengths.extend(std::iter::repeat_n(
                                        prev,
                                        3 + bits.bits(2) as usize,
                                    ));
                                }
                                17 => lengths
                                    .extend(std::iter::repeat_n(0, 3 + bits.bits(3) as usize)),
                                _ => lengths
                                    .extend(std::iter::repeat_n(0, 11 + bits.bits(7) as usize)),
                            }
                        }
                        (
                            Huffman::new(&lengths[..nlen]),
                            Huffman::new(&lengths[nlen..]),
                        )
                    }
                    _ => panic!("reserved block type"),
                };
                loop {
                    let sym = usize::from(lit.decode(&mut bits));
                    match sym {
                        0..=255 => history.push(sym as u8),
                        256 => break,
                        _ => {
                            let len = usize::from(LBASE[sym - 257])
                                + bits.bits(u32::from(LEXT[sym - 257])) as usize;
                            let code = usize::from(dist.decode(&mut bits));
                            let distance = usize::from(DBASE[code])
                                + bits.bits(u32::from(DEXT[code])) as usize;
                            longest = longest.max(distance);
                            for _ in 0..len {
                                history.push(history[history.len() - distance]);
                            }
                        }
                    }
                }
                assert!(!last);
            }
            longest
        }
    }

    #[test]
    fn window_bits_8_stays_within_256_bytes() {
        // Repeats at distances just under and well over 256 bytes, across messages too.
        let block = noise(11, 300);
        let messages: Vec<Vec<u8>> = vec![
            [&block[..], &block[..], &block[..40], &block[..]].concat(),
            block.clone(),
            [&block[..250], &block[..250], &block[..255]].concat(),
            text(12, 3000),
            block.clone(),
            vec![7; 1000],
        ];
        for level in 0..=9 {
            for nct in [false, true] {
                let mut c = params(nct, 8).compressor(Role::Server, level);
                let mut history = Vec::new();
                for msg in &messages {
                    let payload = compress(&mut c, msg);
                    if nct {
                        history.clear();
                    }
                    let start = history.len();
                    let longest = reference::inflate_message(&payload, &mut history);
                    assert_eq!(history[start..], msg[..], "level {level}");
                    assert!(longest <= 256, "level {level}: distance {longest}");
                }
            }
        }
        // The reference decoder does see long distances where a window allows them.
        let mut c = params(false, 15).compressor(Role::Server, 9);
        let wide = compress(&mut c, &[&block[..], &block[..]].concat());
        assert_eq!(reference::inflate_message(&wide, &mut Vec::new()), 300);
    }

    // ---- decompression limits and failures ----

    #[test]
    fn decompression_bomb_stops_at_the_limit() {
        // 1 MiB of zeros compresses to about 1 KiB; ten copies in a row inflate to 10 MiB.
        let mut c = DeflateParams::default().compressor(Role::Client, DEFAULT_LEVEL);
        let one = compress(&mut c, &vec![0u8; 1 << 20]);
        assert!(one.len() < 8 * 1024, "{}", one.len());
        let bomb = one.repeat(10);
        const LIMIT: usize = 64 * 1024;

        let mut d = DeflateParams::default().decompressor(Role::Server);
        let mut out = Vec::new();
        let err = d.decompress(&bomb, true, &mut out, LIMIT).unwrap_err();
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);
        assert!(out.capacity() <= LIMIT, "capacity {}", out.capacity());
        assert!(!d.is_allocated());

        // Fragment by fragment, the limit counting what earlier fragments produced.
        let mut d = DeflateParams::default().decompressor(Role::Server);
        let mut out = Vec::new();
        let mut failed = false;
        for piece in bomb.chunks(100) {
            match d.decompress(piece, false, &mut out, LIMIT) {
                Ok(()) => assert!(out.len() <= LIMIT),
                Err(err) => {
                    assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed);
        assert!(out.capacity() <= LIMIT, "capacity {}", out.capacity());
    }

    #[test]
    fn limit_is_exact() {
        let msg = text(13, 50_000);
        let mut c = DeflateParams::default().compressor(Role::Server, DEFAULT_LEVEL);
        let payload = compress(&mut c, &msg);
        let mut d = DeflateParams::default().decompressor(Role::Client);
        let mut out = Vec::new();
        d.decompress(&payload, true, &mut out, msg.len()).unwrap();
        assert_eq!(out, msg);
        assert_eq!(out.capacity(), msg.len());

        let mut d = DeflateParams::default().decompressor(Role::Client);
        let err = d
            .decompress(&payload, true, &mut Vec::new(), msg.len() - 1)
            .unwrap_err();
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);

        // Bytes already in `out` count.
        let mut d = DeflateParams::default().decompressor(Role::Client);
        let mut out = vec![1; 10];
        let err = d
            .decompress(&payload, true, &mut out, msg.len() + 9)
            .unwrap_err();
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);

        // Spare capacity beyond the limit is not a way past it.
        let mut d = DeflateParams::default().decompressor(Role::Client);
        let mut out = Vec::with_capacity(msg.len() * 2);
        let err = d
            .decompress(&payload, true, &mut out, msg.len() / 2)
            .unwrap_err();
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG);
    }

    #[test]
    fn corrupt_data_is_invalid_payload() {
        for payload in [
            &[0xff_u8, 0xff, 0xff][..],
            &[0x07],
            &[0x00, 0x05, 0x00, 0x00, 0x00],
        ] {
            let mut d = DeflateParams::default().decompressor(Role::Server);
            let err = inflate(&mut d, payload).unwrap_err();
            assert_eq!(err.code, CloseCode::INVALID_PAYLOAD, "{payload:02x?}");
            assert!(!d.is_allocated());
        }
        // A distance before the start of the stream.
        let mut d = DeflateParams::default().decompressor(Role::Server);
        assert_eq!(
            inflate(&mut d, &HELLO_2).unwrap_err().code,
            CloseCode::INVALID_PAYLOAD
        );
    }

    // ---- state lifetime ----

    #[test]
    fn state_is_lazy_and_released() {
        for nct in [false, true] {
            let p = params(nct, 15);
            let mut c = p.compressor(Role::Server, DEFAULT_LEVEL);
            let mut d = p.decompressor(Role::Client);
            assert!(!c.is_allocated() && !d.is_allocated());
            let payload = compress(&mut c, b"Hello, Hello, Hello");
            assert_eq!(c.is_allocated(), !nct);

            // Mid-message the state stays, even with no context takeover.
            let mut out = Vec::new();
            d.decompress(&payload[..4], false, &mut out, NO_LIMIT)
                .unwrap();
            assert!(d.is_allocated());
            d.release_if_stateless();
            assert!(d.is_allocated());
            d.decompress(&payload[4..], true, &mut out, NO_LIMIT)
                .unwrap();
            assert_eq!(out, b"Hello, Hello, Hello");
            assert_eq!(d.is_allocated(), !nct);

            // Between messages with context takeover the window must stay.
            d.release_if_stateless();
            assert_eq!(d.is_allocated(), !nct);
            d.release();
            c.release();
            assert!(!c.is_allocated() && !d.is_allocated());
            assert!(format!("{c:?} {d:?}").contains("allocated: false"));
        }
    }

    #[test]
    fn defaults() {
        let config = DeflateConfig::default();
        assert_eq!(config.level, DEFAULT_LEVEL);
        assert_eq!(config.threshold, DEFAULT_THRESHOLD);
        assert_eq!(
            (config.server_max_window_bits, config.client_max_window_bits),
            (15, 15)
        );
        assert!(!config.server_no_context_takeover && !config.client_no_context_takeover);
    }
}
