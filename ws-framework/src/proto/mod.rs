//! The sans-I/O protocol layer: frames, masking, UTF-8, close codes, permessage-deflate and
//! the message codec. Nothing in here touches a socket, so every piece is unit-testable.

pub mod close;
pub mod codec;
pub mod deflate;
pub mod frame;
pub mod mask;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use codec::{Decoder, Encoder, Event, Limits, Message, Utf8Bytes};
pub use frame::{FrameHeader, OpCode};

/// Which end of the connection this endpoint is. Clients mask what they send; servers do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The accepting end: sends unmasked frames, requires masked ones.
    Server,
    /// The connecting end: sends masked frames, requires unmasked ones.
    Client,
}

/// A violation of RFC 6455 / RFC 7692 by the peer, or a limit it exceeded.
///
/// Carries the close code the connection must be failed with (1002, 1007 or 1009).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ProtocolError {
    /// The code to close the connection with.
    pub code: CloseCode,
    /// What went wrong, suitable as a close reason (at most 123 bytes).
    pub reason: &'static str,
}

impl ProtocolError {
    pub(crate) const fn protocol(reason: &'static str) -> Self {
        Self {
            code: CloseCode::PROTOCOL_ERROR,
            reason,
        }
    }
    pub(crate) const fn invalid_payload(reason: &'static str) -> Self {
        Self {
            code: CloseCode::INVALID_PAYLOAD,
            reason,
        }
    }
    pub(crate) const fn too_big(reason: &'static str) -> Self {
        Self {
            code: CloseCode::MESSAGE_TOO_BIG,
            reason,
        }
    }
}
