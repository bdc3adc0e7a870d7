//! Close codes (RFC 6455 section 7.4) and the close frame payload.

use super::ProtocolError;
use std::borrow::Cow;
use std::fmt;

/// A WebSocket close status code.
///
/// Any `u16` can be held; [`CloseCode::is_sendable`] and [`CloseCode::is_valid_received`] say whether it
/// may appear on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint cannot accept this kind of data.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present (never sent on the wire).
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection ended without a closing handshake (never sent on the wire).
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's data was inconsistent with its type (for example invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (temporary overload).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response.
    pub const BAD_GATEWAY: Self = Self(1014);

    /// Wraps any code without checking it; see [`CloseCode::is_sendable`].
    pub const fn new(code: u16) -> Self {
        Self(code)
    }

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether an application may send this code: 1000-1003, 1007-1011 and 3000-4999.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }

    /// Whether a peer may send this code: the sendable ones plus the IANA-registered 1012-1014.
    pub const fn is_valid_received(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The largest reason that fits a close frame: 125 bytes of payload less the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// The payload of a close frame: a code and a UTF-8 reason of at most 123 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// Why the connection is closing; may be empty.
    pub reason: Cow<'static, str>,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`; the reason is cut (at a character boundary) to fit.
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        truncate_reason(&mut reason);
        Self {
            code: code.into(),
            reason: Cow::Owned(reason),
        }
    }

    /// A close frame with a static reason, usable in constants. The reason must fit (123 bytes;
    /// checked at compile time when used in a constant).
    pub const fn from_static(code: CloseCode, reason: &'static str) -> Self {
        assert!(
            reason.len() <= MAX_REASON_LEN,
            "a close reason carries at most 123 bytes"
        );
        Self {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    /// 1000 normal closure.
    pub const NORMAL_CLOSURE: Self = Self::from_static(CloseCode::NORMAL, "");
    /// 1001 going away.
    pub const GOING_AWAY: Self = Self::from_static(CloseCode::GOING_AWAY, "");
    /// 1002 protocol error.
    pub const PROTOCOL_ERROR: Self = Self::from_static(
        CloseCode::PROTOCOL_ERROR,
        "Connection closed due to protocol error",
    );
    /// 1003 unsupported data.
    pub const UNSUPPORTED_DATA: Self = Self::from_static(
        CloseCode::UNSUPPORTED_DATA,
        "Endpoint received unsupported frame",
    );
    /// 1007 invalid payload.
    pub const INVALID_PAYLOAD: Self = Self::from_static(
        CloseCode::INVALID_PAYLOAD,
        "Payload does not match the expected format or encoding",
    );
    /// 1008 policy violation.
    pub const POLICY_VIOLATION: Self = Self::from_static(
        CloseCode::POLICY_VIOLATION,
        "Received message violates its policy",
    );
    /// 1009 message too big.
    pub const MESSAGE_TOO_BIG: Self = Self::from_static(
        CloseCode::MESSAGE_TOO_BIG,
        "The received message exceeds the allowed size limit",
    );
    /// 1011 internal server error.
    pub const INTERNAL_SERVER_ERROR: Self =
        Self::from_static(CloseCode::INTERNAL_ERROR, "Internal server error occurred");

    /// Parses a received close payload. `Ok(None)` is an empty payload (status 1005 for the application).
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, ProtocolError> {
        match payload.len() {
            0 => Ok(None),
            1 => Err(ProtocolError::protocol("close frame with a 1-byte payload")),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_valid_received() {
                    return Err(ProtocolError::protocol("invalid close code"));
                }
                let reason = std::str::from_utf8(&payload[2..]).map_err(|_| {
                    ProtocolError::invalid_payload("close reason is not valid UTF-8")
                })?;
                Ok(Some(Self {
                    code,
                    reason: Cow::Owned(reason.to_owned()),
                }))
            }
        }
    }

    /// Appends the wire payload (code then reason) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.0.to_be_bytes());
        out.extend_from_slice(self.reason.as_bytes());
    }
}

/// Ballerina's predefined close frames, as constants (`return NORMAL_CLOSURE;` from a handler).
pub const NORMAL_CLOSURE: CloseFrame = CloseFrame::NORMAL_CLOSURE;
/// 1001 going away.
pub const GOING_AWAY: CloseFrame = CloseFrame::GOING_AWAY;
/// 1002 protocol error.
pub const PROTOCOL_ERROR: CloseFrame = CloseFrame::PROTOCOL_ERROR;
/// 1003 unsupported data.
pub const UNSUPPORTED_DATA: CloseFrame = CloseFrame::UNSUPPORTED_DATA;
/// 1007 invalid payload.
pub const INVALID_PAYLOAD: CloseFrame = CloseFrame::INVALID_PAYLOAD;
/// 1008 policy violation.
pub const POLICY_VIOLATION: CloseFrame = CloseFrame::POLICY_VIOLATION;
/// 1009 message too big.
pub const MESSAGE_TOO_BIG: CloseFrame = CloseFrame::MESSAGE_TOO_BIG;
/// 1011 internal server error.
pub const INTERNAL_SERVER_ERROR: CloseFrame = CloseFrame::INTERNAL_SERVER_ERROR;

/// Cuts `reason` to at most [`MAX_REASON_LEN`] bytes without splitting a character.
pub fn truncate_reason(reason: &mut String) {
    if reason.len() > MAX_REASON_LEN {
        let mut end = MAX_REASON_LEN;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_classes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode::new(code).is_sendable(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 5555, 65535,
        ] {
            assert!(!CloseCode::new(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn received_classes() {
        for code in [1000, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999] {
            assert!(CloseCode::new(code).is_valid_received(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000] {
            assert!(!CloseCode::new(code).is_valid_received(), "{code}");
        }
    }

    #[test]
    fn parse_rules() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
        assert_eq!(
            CloseFrame::parse(&[3]).unwrap_err().code,
            CloseCode::PROTOCOL_ERROR
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xED]).unwrap_err().code,
            CloseCode::PROTOCOL_ERROR
        ); // 1005
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xE8, 0xFF]).unwrap_err().code,
            CloseCode::INVALID_PAYLOAD
        );
        let frame = CloseFrame::parse(&[0x03, 0xE8, b'b', b'y', b'e'])
            .unwrap()
            .unwrap();
        assert_eq!(frame, CloseFrame::new(1000, "bye"));
        let mut out = Vec::new();
        frame.encode(&mut out);
        assert_eq!(out, [0x03, 0xE8, b'b', b'y', b'e']);
    }

    #[test]
    fn long_reasons_are_cut_at_a_char_boundary() {
        let frame = CloseFrame::new(1000, "é".repeat(100));
        assert!(frame.reason.len() <= MAX_REASON_LEN);
        assert_eq!(frame.reason.len(), 122);
    }
}
