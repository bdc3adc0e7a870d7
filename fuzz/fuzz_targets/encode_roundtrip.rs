//! Messages from the input through an [`Encoder`] (fragmentation, compression, masking), the
//! [`WriteBuf`] drained in arbitrary steps, then a [`Decoder`] of the other role: every message
//! must come back exactly, in order, with the pings between them.
//!
//! Input layout:
//! - byte 0: bit 0 the sender (0 server, 1 client), bit 1 permessage-deflate, bit 2 no context
//!   takeover, bits 3-5 the window bits (8 + value), bit 6 mask the client's frames with the
//!   key of bytes 3-6 (the encoder is then run as a server and the frames masked here, with a
//!   plain byte loop, so the decoder's word-at-a-time unmasking is checked against it),
//!   bit 7 split the wire bytes for the decoder at the byte-7 offset instead of one piece;
//! - byte 1: the outbound fragment size: 0 never fragments, 1-127 that many bytes, 128-255
//!   `(value - 127) * 257` bytes (past the 126 and 65535 length encodings);
//! - byte 2: the compression level (value % 10) and threshold (value / 10 * 16 bytes);
//! - bytes 3-6: the mask key; byte 7: how many bytes each `WriteBuf::advance` drains (0: all);
//! - the rest: messages separated by 0xFF (never in UTF-8); each message's first byte says
//!   bit 0 text (the rest made UTF-8, lossily) or binary, bit 1 a ping with the first 125
//!   bytes of the message follows it, bit 2 queue it with `Encoder::encode_shared` and
//!   `WriteBuf::push_encoded` (the fan-out path) when `sends_plain` allows that; a frame
//!   encoded that way must equal what `encode_message` makes for it.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use ws_framework::proto::codec::{Decoder, Encoder, Event, Limits, Message, WriteBuf};
use ws_framework::proto::deflate::DeflateParams;
use ws_framework::proto::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use ws_framework::proto::mask::{apply_mask, apply_mask_at};
use ws_framework::proto::Role;

/// Drains `buf` through `io_slices` / `advance`, `step` bytes at a time (0: everything).
fn drain(buf: &mut WriteBuf, step: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(buf.len());
    while !buf.is_empty() {
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let n = buf.io_slices(&mut slices);
        assert!(n > 0, "a non-empty WriteBuf gave no slices");
        let available: usize = slices[..n].iter().map(|s| s.len()).sum();
        assert!(available <= buf.len());
        let take = if step == 0 {
            available
        } else {
            step.min(available)
        };
        let mut left = take;
        for slice in &slices[..n] {
            let k = left.min(slice.len());
            wire.extend_from_slice(&slice[..k]);
            left -= k;
        }
        let before = buf.len();
        buf.advance(take);
        assert_eq!(buf.len(), before - take);
    }
    wire
}

fn naive_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// Masks every (unmasked) frame of `wire` with `key`, as a client would send it.
fn mask_frames(mut wire: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len() + wire.len() / 2);
    while !wire.is_empty() {
        let (mut header, len) = FrameHeader::parse(wire)
            .expect("the encoder wrote a valid header")
            .expect("the encoder wrote a whole header");
        assert!(header.mask.is_none(), "a server encoder masked a frame");
        let payload_len = header.payload_len as usize;
        header.mask = Some(key);
        let mut head = [0u8; FrameHeader::MAX_LEN];
        let n = header.encode(&mut head);
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(&wire[len..len + payload_len]);
        naive_mask(&mut out[start..], key, 0);
        wire = &wire[len + payload_len..];
    }
    out
}

/// `apply_mask_at` on two pieces of a buffer at any alignment equals the plain loop.
fn check_mask(data: &[u8], key: [u8; 4], cut: usize) {
    // An odd start offset in the allocation, so the word loop meets unaligned heads too.
    let skew = cut % 8;
    let mut storage = vec![0u8; data.len() + skew];
    storage[skew..].copy_from_slice(data);
    let buf = &mut storage[skew..];
    let cut = cut % (buf.len() + 1);
    let (a, b) = buf.split_at_mut(cut);
    apply_mask_at(a, key, 0);
    apply_mask_at(b, key, cut);
    let mut expected = data.to_vec();
    naive_mask(&mut expected, key, 0);
    assert_eq!(
        buf,
        &expected[..],
        "apply_mask_at disagrees with the plain loop"
    );
    let mut whole = data.to_vec();
    apply_mask(&mut whole, key);
    assert_eq!(whole, expected, "apply_mask disagrees with the plain loop");
}

fuzz_target!(|data: &[u8]| {
    let [flags, frame, level, k0, k1, k2, k3, step, rest @ ..] = data else {
        return;
    };
    let key = [*k0, *k1, *k2, *k3];
    check_mask(rest, key, usize::from(*step));

    let client = flags & 1 != 0;
    let manual_mask = client && flags & 0x40 != 0;
    let sender = if client && !manual_mask {
        Role::Client
    } else {
        Role::Server
    };
    let receiver = if client { Role::Server } else { Role::Client };
    let frame_size = match *frame {
        0..=127 => usize::from(*frame),
        f => usize::from(f - 127) * 257,
    };
    let params = (flags & 2 != 0).then(|| {
        let bits = 8 + ((flags >> 3) & 7);
        let no_context_takeover = flags & 4 != 0;
        DeflateParams {
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
        }
    });
    // The compressor compresses with the sender's parameters; the decoder inflates with the
    // same ones (a client's are the client_* ones whichever way it was run here).
    let compress_role = if client { Role::Client } else { Role::Server };
    let mut encoder = Encoder::new(
        sender,
        frame_size,
        params.map(|p| {
            (
                p.compressor(compress_role, u32::from(level % 10)),
                usize::from(level / 10) * 16,
            )
        }),
    );

    let mut expected = Vec::new();
    let mut out = WriteBuf::new();
    for piece in rest.split(|&b| b == 0xFF) {
        let (kind, body) = piece.split_first().map_or((0, piece), |(k, b)| (*k, b));
        let message = if kind & 1 != 0 {
            Message::text(String::from_utf8_lossy(body).into_owned())
        } else {
            Message::binary(Bytes::copy_from_slice(body))
        };
        if kind & 4 != 0 && sender == Role::Server && encoder.sends_plain(message.len()) {
            let shared = Encoder::encode_shared(&message);
            let mut plain = WriteBuf::new();
            encoder
                .encode_message(&message, &mut plain)
                .expect("encoding a message failed");
            assert_eq!(
                &shared[..],
                &drain(&mut plain, 0)[..],
                "encode_shared differs from encode_message"
            );
            out.push_encoded(shared);
        } else {
            encoder
                .encode_message(&message, &mut out)
                .expect("encoding a message failed");
        }
        expected.push(Event::Message(message));
        if kind & 2 != 0 {
            let ping = &body[..body.len().min(MAX_CONTROL_PAYLOAD)];
            encoder.encode_control(OpCode::Ping, ping, &mut out);
            expected.push(Event::Ping(Bytes::copy_from_slice(ping)));
        }
        encoder.release_idle_state();
    }

    let mut wire = drain(&mut out, usize::from(*step));
    if manual_mask {
        wire = mask_frames(&wire, key);
    }

    let limits = Limits {
        max_frame_size: usize::MAX,
        max_message_size: usize::MAX,
    };
    let mut decoder = Decoder::new(receiver, limits, params.map(|p| p.decompressor(receiver)));
    let cut = if flags & 0x80 != 0 {
        usize::from(*step) % (wire.len() + 1)
    } else {
        wire.len()
    };
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    for chunk in [&wire[..cut], &wire[cut..]] {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(e) => panic!("decoding our own frames failed: {e:?}"),
            }
        }
        decoder.release_idle_state();
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert_eq!(events, expected, "the messages did not round-trip");
});
