//! Arbitrary bytes into a [`Decoder`], as a server or a client, with or without
//! permessage-deflate, under several receive limits.
//!
//! Input layout:
//! - byte 0: bit 0 role (0 server, 1 client), bit 1 deflate negotiated, bits 2-4 the limits
//!   (see [`LIMITS`]), bit 5 no context takeover, bits 6-7 the window bits (8, 9, 12, 15);
//! - bytes 1-2: where to split the wire bytes (big-endian u16, modulo their length + 1);
//! - the rest: the bytes received.
//!
//! The wire bytes are decoded three ways: all at once, in the two pieces of the split, and one
//! byte at a time, each until an error or "need more". Checked:
//! - no panic, and every `Some` event consumes bytes (so decoding cannot loop forever);
//! - a text message is valid UTF-8 and no message exceeds `max_message_size`;
//! - ping/pong payloads are at most 125 bytes and `max_frame_size`; a close frame has a code a
//!   peer may send and a reason of at most 123 bytes;
//! - an error carries 1002, 1007 or 1009 and a reason of at most 123 bytes;
//! - the three ways give the same events and the same final outcome (the decoder is
//!   incremental: how the bytes arrive must not matter);
//! - a frame header at the front of the input re-encodes to a header that parses back equal.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ws_framework::proto::codec::{Decoder, Event, Limits, Message};
use ws_framework::proto::deflate::DeflateParams;
use ws_framework::proto::frame::{FrameHeader, MAX_CONTROL_PAYLOAD};
use ws_framework::proto::{CloseCode, ProtocolError, Role};

const LIMITS: [Limits; 8] = [
    // Small limits: 64 KiB frames, 256 KiB messages.
    Limits {
        max_frame_size: 64 << 10,
        max_message_size: 256 << 10,
    },
    // Tiny ones: fragments and messages over the limit are easy to reach.
    Limits {
        max_frame_size: 16,
        max_message_size: 40,
    },
    Limits {
        max_frame_size: 125,
        max_message_size: 125,
    },
    // Frames may be bigger than messages.
    Limits {
        max_frame_size: 1000,
        max_message_size: 64,
    },
    Limits {
        max_frame_size: 0,
        max_message_size: 0,
    },
    Limits {
        max_frame_size: 1,
        max_message_size: 1,
    },
    Limits {
        max_frame_size: 4096,
        max_message_size: 4096,
    },
    // The defaults: 64 KiB frames, 16 MiB messages.
    Limits {
        max_frame_size: 64 << 10,
        max_message_size: 16 << 20,
    },
];

const WINDOW_BITS: [u8; 4] = [8, 9, 12, 15];

#[derive(Clone, Copy)]
struct Config {
    role: Role,
    limits: Limits,
    deflate: Option<DeflateParams>,
}

impl Config {
    fn decoder(&self) -> Decoder {
        Decoder::new(
            self.role,
            self.limits,
            self.deflate.map(|p| p.decompressor(self.role)),
        )
    }
}

/// Everything the decoder produced, then `Some(error)` or `None` for "needs more bytes".
type Outcome = (Vec<Event>, Option<ProtocolError>);

fn check_event(event: &Event, limits: Limits) {
    match event {
        Event::Message(message) => {
            assert!(
                message.len() <= limits.max_message_size,
                "message of {} bytes over max_message_size {}",
                message.len(),
                limits.max_message_size
            );
            if let Message::Text(text) = message {
                // `Utf8Bytes::as_str` trusts its invariant: check the raw bytes.
                assert!(
                    std::str::from_utf8(text.as_bytes()).is_ok(),
                    "text message is not UTF-8: {:?}",
                    text.as_bytes()
                );
            }
        }
        Event::Ping(payload) | Event::Pong(payload) => {
            assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
            assert!(payload.len() <= limits.max_frame_size);
        }
        Event::Close(Some(frame)) => {
            assert!(
                frame.code.is_valid_received(),
                "close code {:?}",
                frame.code
            );
            assert!(frame.reason.len() <= 123);
        }
        Event::Close(None) => {}
    }
}

fn check_error(error: &ProtocolError) {
    assert!(
        [
            CloseCode::PROTOCOL_ERROR,
            CloseCode::INVALID_PAYLOAD,
            CloseCode::MESSAGE_TOO_BIG
        ]
        .contains(&error.code),
        "unexpected close code in {error:?}"
    );
    assert!(error.reason.len() <= 123, "reason too long: {error:?}");
}

/// Feeds `chunks` one after the other, decoding after each until an error or "need more".
fn decode<'a>(config: &Config, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = config.decoder();
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(event)) => {
                    assert!(buf.len() < before, "an event that consumed no bytes");
                    check_event(&event, config.limits);
                    events.push(event);
                }
                // May have consumed whole fragments that completed no message.
                Ok(None) => break,
                Err(error) => {
                    check_error(&error);
                    return (events, Some(error));
                }
            }
        }
    }
    (events, None)
}

fn check_header_roundtrip(wire: &[u8]) {
    if let Ok(Some((header, len))) = FrameHeader::parse(wire) {
        assert!(len <= FrameHeader::MAX_LEN && len <= wire.len());
        let mut out = [0u8; FrameHeader::MAX_LEN];
        let n = header.encode(&mut out);
        // The shortest encoding: never longer than what was parsed.
        assert!(n <= len, "re-encoded header longer than the original");
        assert_eq!(
            n,
            FrameHeader::encoded_len(header.payload_len, header.mask.is_some())
        );
        assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((header, n))));
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, split_hi, split_lo, wire @ ..] = data else {
        return;
    };
    let config = Config {
        role: if flags & 1 == 0 {
            Role::Server
        } else {
            Role::Client
        },
        limits: LIMITS[usize::from((flags >> 2) & 7)],
        deflate: (flags & 2 != 0).then(|| {
            let no_context_takeover = flags & 0x20 != 0;
            let bits = WINDOW_BITS[usize::from(flags >> 6)];
            DeflateParams {
                server_no_context_takeover: no_context_takeover,
                client_no_context_takeover: no_context_takeover,
                server_max_window_bits: bits,
                client_max_window_bits: bits,
            }
        }),
    };
    let split = usize::from(u16::from_be_bytes([*split_hi, *split_lo])) % (wire.len() + 1);

    check_header_roundtrip(wire);

    let whole = decode(&config, [wire]);
    let (first, second) = wire.split_at(split);
    let halves = decode(&config, [first, second]);
    assert_eq!(whole, halves, "split at {split} changed the outcome");
    let bytewise = decode(&config, wire.chunks(1));
    assert_eq!(whole, bytewise, "byte-at-a-time changed the outcome");
});
