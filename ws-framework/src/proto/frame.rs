//! Frame headers (RFC 6455 section 5.2): opcodes, flags, 7/16/64-bit lengths and the mask key.

use super::ProtocolError;

/// A frame's opcode. Reserved opcodes are rejected while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for the reserved ones (3-7, 11-15).
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// Close, ping and pong are control frames: at most 125 bytes and never fragmented.
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// The largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of the message.
    pub fin: bool,
    /// RSV1: "compressed" under permessage-deflate.
    pub rsv1: bool,
    /// RSV2: no extension we know uses it.
    pub rsv2: bool,
    /// RSV3: no extension we know uses it.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The longest encoded header: 2 + 8 (64-bit length) + 4 (mask).
    pub const MAX_LEN: usize = 14;

    /// Parses a header at the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold the whole header, else the header and
    /// its length. Fails (1002) on a reserved opcode, a fragmented or oversized control frame,
    /// or a 64-bit length with its most significant bit set; nothing is allocated for the
    /// announced length, so callers check it against their limits before reading the payload.
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        let opcode =
            OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::protocol("reserved opcode"))?;
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut len) = match b1 & 0x7F {
            126 => {
                let Some(bytes) = buf.get(2..4) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                let n = u64::from_be_bytes(be);
                if n >> 63 != 0 {
                    return Err(ProtocolError::protocol(
                        "64-bit payload length with the high bit set",
                    ));
                }
                (n, 10)
            }
            n => (u64::from(n), 2),
        };
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::protocol("fragmented control frame"));
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::protocol(
                    "control frame payload over 125 bytes",
                ));
            }
        }
        let mask = if masked {
            let Some(bytes) = buf.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };
        let header = Self {
            fin,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// Writes the header into `out` and returns its length (2 to 14 bytes), using the shortest
    /// length encoding as RFC 6455 requires.
    pub fn encode(&self, out: &mut [u8; Self::MAX_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7)
            | (u8::from(self.rsv1) << 6)
            | (u8::from(self.rsv2) << 5)
            | (u8::from(self.rsv3) << 4)
            | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = if self.payload_len < 126 {
            out[1] = mask_bit | self.payload_len as u8;
            2
        } else if self.payload_len <= u64::from(u16::MAX) {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            10
        };
        if let Some(mask) = self.mask {
            out[len..len + 4].copy_from_slice(&mask);
            len += 4;
        }
        len
    }

    /// The encoded length of a header for `payload_len` bytes, masked or not.
    pub const fn encoded_len(payload_len: u64, masked: bool) -> usize {
        let base = if payload_len < 126 {
            2
        } else if payload_len <= u16::MAX as u64 {
            4
        } else {
            10
        };
        if masked {
            base + 4
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::CloseCode;

    fn header(opcode: OpCode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            payload_len: len,
        }
    }

    #[test]
    fn rfc6455_examples() {
        // Section 5.7: unmasked "Hello", masked "Hello", 256-byte and 64 KiB binary headers.
        assert_eq!(
            FrameHeader::parse(&[0x81, 0x05, b'H']).unwrap(),
            Some((header(OpCode::Text, 5, None), 2))
        );
        assert_eq!(
            FrameHeader::parse(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]).unwrap(),
            Some((header(OpCode::Text, 5, Some([0x37, 0xfa, 0x21, 0x3d])), 6))
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7E, 0x01, 0x00]).unwrap(),
            Some((header(OpCode::Binary, 256, None), 4))
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap(),
            Some((header(OpCode::Binary, 65536, None), 10))
        );
    }

    #[test]
    fn asks_for_more_bytes_instead_of_failing() {
        let mut out = [0u8; FrameHeader::MAX_LEN];
        let h = header(OpCode::Binary, 70_000, Some([1, 2, 3, 4]));
        let n = h.encode(&mut out);
        assert_eq!(n, 14);
        for cut in 0..n {
            assert_eq!(
                FrameHeader::parse(&out[..cut]).unwrap(),
                None,
                "cut at {cut}"
            );
        }
        assert_eq!(FrameHeader::parse(&out[..n]).unwrap(), Some((h, n)));
    }

    #[test]
    fn encode_uses_the_shortest_length_and_round_trips() {
        for (len, expected) in [
            (0, 2),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
            (1 << 40, 10),
        ] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = header(OpCode::Binary, len, mask);
                let mut out = [0u8; FrameHeader::MAX_LEN];
                let n = h.encode(&mut out);
                assert_eq!(n, expected + if mask.is_some() { 4 } else { 0 });
                assert_eq!(n, FrameHeader::encoded_len(len, mask.is_some()));
                assert_eq!(FrameHeader::parse(&out[..n]).unwrap(), Some((h, n)));
            }
        }
    }

    #[test]
    fn protocol_violations() {
        for bad in [
            &[0x83, 0x00][..],                        // reserved opcode 3
            &[0x8B, 0x00],                            // reserved control opcode 0xB
            &[0x09, 0x00],                            // fragmented ping
            &[0x89, 0x7E, 0x00, 0x7E],                // 126-byte ping
            &[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], // 2^63-byte payload
        ] {
            let err = FrameHeader::parse(bad).unwrap_err();
            assert_eq!(err.code, CloseCode::PROTOCOL_ERROR, "{bad:?}");
        }
    }

    #[test]
    fn reserved_bits_are_reported() {
        let (h, _) = FrameHeader::parse(&[0xF1, 0x00]).unwrap().unwrap();
        assert!(h.rsv1 && h.rsv2 && h.rsv3);
    }
}
