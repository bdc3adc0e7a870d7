//! Arbitrary bytes into a permessage-deflate [`Decompressor`], fragment by fragment, with a
//! maximum message size.
//!
//! Input layout:
//! - byte 0: bits 0-2 the window bits (8 + value), bit 3 no context takeover, bits 4-6 the
//!   maximum message size (see [`MAX_SIZES`]), bit 7 the role (server or client);
//! - then fragments, each a control byte (bit 7 FIN, bits 0-6 the length; 127 means "the next
//!   two bytes are the length, big-endian") followed by that many payload bytes (fewer at the
//!   end of the input). Messages follow each other on the same decompressor (context
//!   takeover applies across them).
//!
//! Checked, for every message:
//! - no panic; the output never exceeds the maximum size, not even on error, and neither does
//!   the capacity the decompressor gave the output buffer;
//! - an error is 1007 (corrupt data) or 1009 (too big);
//! - fragmentation does not matter: a second decompressor fed each whole message in one call
//!   agrees on success or failure and on the output (the error code may differ for a message
//!   that is both too big and corrupt, see the comment in the code). The fragmented one also
//!   calls `release_if_stateless` between fragments and messages, which must lose nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_framework::proto::deflate::{Decompressor, DeflateParams};
use ws_framework::proto::{CloseCode, ProtocolError, Role};

const MAX_SIZES: [usize; 8] = [0, 1, 5, 100, 1024, 16 << 10, 256 << 10, 1 << 20];

struct Fragment<'a> {
    fin: bool,
    payload: &'a [u8],
}

fn fragments(mut data: &[u8]) -> Vec<Fragment<'_>> {
    let mut out = Vec::new();
    while let [control, rest @ ..] = data {
        let mut rest = rest;
        let mut len = usize::from(control & 0x7F);
        if len == 127 {
            if let [hi, lo, tail @ ..] = rest {
                len = usize::from(u16::from_be_bytes([*hi, *lo]));
                rest = tail;
            }
        }
        let len = len.min(rest.len());
        out.push(Fragment {
            fin: control & 0x80 != 0,
            payload: &rest[..len],
        });
        data = &rest[len..];
    }
    out
}

fn check(result: &Result<(), ProtocolError>, out: &[u8], capacity: usize, max: usize) {
    assert!(
        out.len() <= max,
        "output of {} bytes over the maximum {max} ({result:?})",
        out.len()
    );
    assert!(
        capacity <= max,
        "output capacity {capacity} over the maximum {max} ({result:?})"
    );
    if let Err(e) = result {
        assert!(
            e.code == CloseCode::INVALID_PAYLOAD || e.code == CloseCode::MESSAGE_TOO_BIG,
            "unexpected error {e:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let bits = 8 + (flags & 7);
    let no_context_takeover = flags & 8 != 0;
    let max = MAX_SIZES[usize::from((flags >> 4) & 7)];
    let role = if flags & 0x80 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let params = DeflateParams {
        server_no_context_takeover: no_context_takeover,
        client_no_context_takeover: no_context_takeover,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    };
    let mut fragmented: Decompressor = params.decompressor(role);
    let mut whole: Decompressor = params.decompressor(role);

    let frags = fragments(rest);
    let mut frags = frags.as_slice();
    while !frags.is_empty() {
        // One message: up to and including the first FIN fragment (or the end of input).
        let end = frags
            .iter()
            .position(|f| f.fin)
            .map_or(frags.len(), |i| i + 1);
        let (message, later) = frags.split_at(end);
        frags = later;
        let complete = message.last().is_some_and(|f| f.fin);

        let mut out = Vec::new();
        let mut result = Ok(());
        for fragment in message {
            result = fragmented.decompress(fragment.payload, fragment.fin, &mut out, max);
            check(&result, &out, out.capacity(), max);
            if result.is_err() {
                break;
            }
            fragmented.release_if_stateless();
        }
        if !complete {
            // An unfinished message at the end of the input: nothing to compare it with.
            return;
        }

        let joined: Vec<u8> = message.iter().flat_map(|f| f.payload).copied().collect();
        let mut reference = Vec::new();
        let reference_result = whole.decompress(&joined, true, &mut reference, max);
        check(&reference_result, &reference, reference.capacity(), max);

        // Only success versus failure is compared: a message that is both too big and corrupt
        // may fail with either code depending on where the fragments end (zlib decodes the next
        // code before it notices the output is full), which is harmless.
        assert_eq!(
            result.is_ok(),
            reference_result.is_ok(),
            "fragmentation changed the outcome ({} fragments): {result:?} vs {reference_result:?}",
            message.len()
        );
        if result.is_err() {
            // The connection would be failed: the decompressors are not used again.
            return;
        }
        assert_eq!(out, reference, "fragmentation changed the output");
    }
});
