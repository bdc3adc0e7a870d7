//! Micro-benchmarks of ws-framework's sans-I/O layer: frame headers, masking, the decoder and
//! encoder, and permessage-deflate on 4 KiB of JSON. Masking is measured beside
//! fastwebsockets' `unmask` and a byte-at-a-time loop for scale.
//!
//! ```sh
//! cargo bench -p ws-bench                 # everything, about two minutes
//! cargo bench -p ws-bench -- mask         # one group
//! ```

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use ws_bench::payload::{Kind, Pool};
use ws_bench::wire;
use ws_framework::proto::codec::WriteBuf;
use ws_framework::proto::deflate::{DeflateParams, DEFAULT_LEVEL};
use ws_framework::proto::mask::apply_mask;
use ws_framework::proto::{Decoder, Encoder, FrameHeader, Limits, Message, OpCode, Role};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}

fn headers(c: &mut Criterion) {
    let mut g = c.benchmark_group("header");
    let cases: [(&str, u64, Option<[u8; 4]>); 3] = [
        ("64B_masked", 64, Some([1, 2, 3, 4])),
        ("16KiB_masked", 16 << 10, Some([1, 2, 3, 4])),
        ("1MiB_unmasked", 1 << 20, None),
    ];
    for (name, len, mask) in cases {
        let header = FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::Binary,
            mask,
            payload_len: len,
        };
        let mut encoded = [0u8; FrameHeader::MAX_LEN];
        let n = header.encode(&mut encoded);
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| FrameHeader::parse(black_box(&encoded[..n])))
        });
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                let mut out = [0u8; FrameHeader::MAX_LEN];
                black_box(black_box(&header).encode(&mut out));
                out
            })
        });
    }
    g.finish();
}

fn masking(c: &mut Criterion) {
    let mut g = c.benchmark_group("mask");
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    for size in [64usize, 1 << 10, 64 << 10] {
        let mut buf = vec![0xAB_u8; size + 1];
        g.throughput(Throughput::Bytes(size as u64));
        // Offset by one byte: payloads rarely start 8-byte aligned in a read buffer.
        g.bench_function(format!("ws_framework/{size}"), |b| {
            b.iter(|| apply_mask(black_box(&mut buf[1..]), mask))
        });
        g.bench_function(format!("fastwebsockets/{size}"), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf[1..]), mask))
        });
        g.bench_function(format!("bytewise/{size}"), |b| {
            b.iter(|| {
                for (i, x) in black_box(&mut buf[1..]).iter_mut().enumerate() {
                    *x ^= mask[i & 3];
                }
            })
        });
    }
    g.finish();
}

/// `count` masked 64-byte text frames, as a server reads them.
fn client_wire(count: usize, size: usize, text: bool) -> Vec<u8> {
    let pool = Pool::new(if text { Kind::Text } else { Kind::Binary }, size);
    let mut wire_bytes = Vec::new();
    for seq in 0..count as u64 {
        let opcode = if text {
            wire::op::TEXT
        } else {
            wire::op::BINARY
        };
        let mask = (seq as u32).wrapping_mul(0x9E37_79B9).to_ne_bytes();
        wire::push_masked_frame(&mut wire_bytes, opcode, false, &pool.message(seq), mask);
    }
    wire_bytes
}

fn decoder(c: &mut Criterion) {
    let mut g = c.benchmark_group("decoder");
    for (name, count, size, text) in [
        ("64B_text", 1000, 64, true),
        ("16KiB_binary", 64, 16 << 10, false),
    ] {
        let wire_bytes = client_wire(count, size, text);
        g.throughput(Throughput::Elements(count as u64));
        g.bench_function(format!("server/{name}"), |b| {
            let mut dec = Decoder::new(Role::Server, Limits::default(), None);
            b.iter_batched(
                || BytesMut::from(&wire_bytes[..]),
                |mut buf| {
                    let mut n = 0;
                    while let Some(ev) = dec.decode(&mut buf).expect("valid frames") {
                        black_box(&ev);
                        n += 1;
                    }
                    assert_eq!(n, count);
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn encoder(c: &mut Criterion) {
    let mut g = c.benchmark_group("encoder");
    for (name, role, size, text) in [
        ("server/64B_text", Role::Server, 64, true),
        ("client/64B_text", Role::Client, 64, true),
        ("server/16KiB_binary", Role::Server, 16 << 10, false),
        ("client/16KiB_binary", Role::Client, 16 << 10, false),
    ] {
        let pool = Pool::new(if text { Kind::Text } else { Kind::Binary }, size);
        let bytes = Bytes::from(pool.message(1));
        let message = if text {
            Message::Text(ws_framework::Utf8Bytes::try_from_bytes(bytes).expect("text"))
        } else {
            Message::Binary(bytes)
        };
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            let mut enc = Encoder::new(role, 0, None);
            let mut out = WriteBuf::new();
            b.iter(|| {
                enc.encode_message(black_box(&message), &mut out)
                    .expect("encodes");
                let n = out.len();
                out.advance(n);
            })
        });
    }
    g.finish();
}

fn deflate(c: &mut Criterion) {
    let mut g = c.benchmark_group("deflate_4KiB_json");
    let pool = Pool::new(Kind::Json, 4096);
    let messages: Vec<Vec<u8>> = (0..64).map(|seq| pool.message(seq)).collect();
    g.throughput(Throughput::Bytes(4096));
    let takeover = DeflateParams::default();
    let no_takeover = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    for (name, params) in [("takeover", takeover), ("no_takeover", no_takeover)] {
        for level in [1, 2, DEFAULT_LEVEL, 6] {
            // What each level buys: the mean frame payload over the 64 messages, once.
            let mut comp = params.compressor(Role::Server, level);
            let total: usize = messages
                .iter()
                .map(|m| {
                    let mut out = Vec::new();
                    comp.compress(m, &mut out).expect("compresses");
                    out.len()
                })
                .sum();
            eprintln!(
                "deflate_4KiB_json/{name}/level{level}: {} bytes per 4096-byte message",
                total / messages.len()
            );
            g.bench_function(format!("compress/{name}/level{level}"), |b| {
                let mut comp = params.compressor(Role::Server, level);
                let mut out = Vec::with_capacity(8192);
                let mut i = 0;
                b.iter(|| {
                    out.clear();
                    comp.compress(black_box(&messages[i % 64]), &mut out)
                        .expect("compresses");
                    i += 1;
                    out.len()
                })
            });
        }
        // What a server inflates: the client's messages, compressed in order (level 1 here,
        // as the load generator sends them), decompressed in the same order forever (the first
        // one refers to nothing before it, so the cycle stays valid).
        let mut comp = params.compressor(Role::Client, 1);
        let payloads: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| {
                let mut out = Vec::new();
                comp.compress(m, &mut out).expect("compresses");
                out
            })
            .collect();
        g.bench_function(format!("decompress/{name}"), |b| {
            let mut dec = params.decompressor(Role::Server);
            let mut out = Vec::with_capacity(8192);
            let mut i = 0;
            b.iter(|| {
                out.clear();
                dec.decompress(black_box(&payloads[i % 64]), true, &mut out, 1 << 20)
                    .expect("inflates");
                i += 1;
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = headers, masking, decoder, encoder, deflate
}
criterion_main!(benches);
