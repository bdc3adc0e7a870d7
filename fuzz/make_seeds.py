#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/seed-*.

Each seed follows its target's input layout (see the doc comment at the top of
fuzz_targets/<target>.rs): a few leading configuration bytes, then wire bytes.
Run from anywhere: `python3 fuzz/make_seeds.py`. Deterministic; rewrites the seeds.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# RFC 6455 section 5.7 mask key, and the RFC 7692 section 7.2.3 "Hello" payloads.
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
HELLO_1 = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])  # 7.2.3.1
HELLO_2 = bytes([0xF2, 0x00, 0x11, 0x00, 0x00])  # 7.2.3.2, second message with context
HELLO_STORED = bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + b"Hello" + b"\x00"  # 7.2.3.3
HELLO_TWO_BLOCKS = bytes([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF,
                          0xCA, 0xC9, 0xC9, 0x07, 0x00])  # 7.2.3.5
HELLO_BFINAL = bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])  # 7.2.3.4


def deflate(data, wbits=15, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def mask(payload, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", fin=True, rsv1=False, key=None, rsv=0):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | rsv | opcode
    n = len(payload)
    m = 0x80 if key is not None else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n <= 0xFFFF:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if key is not None:
        return head + key + mask(payload, key)
    return head + payload


def cf(code, reason=b""):
    return struct.pack(">H", code) + reason


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear(target):
    d = os.path.join(HERE, "corpus", target)
    if os.path.isdir(d):
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.remove(os.path.join(d, f))


# --------------------------------------------------------------------------- frame_decode
# byte 0: bit 0 client, bit 1 deflate, bits 2-4 limits, bit 5 no context takeover,
# bits 6-7 window bits index (8, 9, 12, 15); bytes 1-2: split point.
SERVER, CLIENT, DEFLATE = 0x00, 0x01, 0x02
W15 = 0xC0
TINY = 1 << 2


def fd(name, flags, wire, split=3):
    write("frame_decode", name, bytes([flags]) + struct.pack(">H", split) + wire)


def frame_decode():
    clear("frame_decode")
    fd("rfc-text-unmasked", CLIENT, frame(1, b"Hello"))
    fd("rfc-text-masked", SERVER, frame(1, b"Hello", key=KEY))
    fd("rfc-fragmented-unmasked", CLIENT, frame(1, b"Hel", fin=False) + frame(0, b"lo"))
    fd("rfc-fragmented-masked", SERVER,
       frame(1, b"Hel", fin=False, key=KEY) + frame(0, b"lo", key=b"\x01\x02\x03\x04"))
    fd("rfc-ping-unmasked", CLIENT, frame(9, b"Hello"))
    fd("rfc-pong-masked", SERVER, frame(10, b"Hello", key=KEY))
    fd("rfc-binary-256", CLIENT, frame(2, bytes(range(256))), split=100)
    fd("rfc-binary-64k-header", CLIENT, bytes([0x82, 0x7F]) + struct.pack(">Q", 65536) + b"\0" * 16)
    fd("ping-between-fragments", CLIENT,
       frame(1, b"Hel", fin=False) + frame(9, b"x") + frame(0, b"lo"))
    fd("ping-between-fragments-masked", SERVER,
       frame(1, b"Hel", fin=False, key=KEY) + frame(9, b"x", key=KEY) + frame(0, b"lo", key=KEY))
    fd("close-1000", CLIENT, frame(8, cf(1000)))
    fd("close-empty", CLIENT, frame(8))
    fd("close-reason-masked", SERVER, frame(8, cf(1001, b"going away"), key=KEY))
    fd("close-bad-code", CLIENT, frame(8, cf(1005)))
    fd("close-one-byte", CLIENT, frame(8, b"\x03"))
    fd("close-bad-utf8", CLIENT, frame(8, cf(1000, b"\xc3\x28")))
    fd("text-utf8-multibyte", CLIENT, frame(1, "κόσμε 🌍".encode()))
    fd("text-utf8-split-codepoint", CLIENT,
       frame(1, "🌍".encode()[:2], fin=False) + frame(0, "🌍".encode()[2:]))
    fd("text-invalid-utf8", CLIENT, frame(1, b"\xc3\x28"))
    fd("text-overlong", SERVER, frame(1, b"\xc0\xaf", key=KEY))
    fd("rsv2-set", CLIENT, frame(1, b"a", rsv=0x20))
    fd("rsv1-no-deflate", CLIENT, frame(1, b"a", rsv1=True))
    fd("reserved-opcode", CLIENT, frame(3, b"a"))
    fd("fragmented-ping", CLIENT, frame(9, b"a", fin=False))
    fd("long-ping", CLIENT, bytes([0x89, 0x7E, 0x00, 0x7E]) + b"p" * 126)
    fd("length-msb", CLIENT, bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1]))
    fd("non-minimal-length", CLIENT, bytes([0x82, 0x7E, 0x00, 0x05]) + b"hello")
    fd("continuation-first", CLIENT, frame(0, b"x"))
    fd("text-during-message", CLIENT, frame(1, b"a", fin=False) + frame(1, b"b"))
    fd("tiny-limit-too-big", CLIENT | TINY, frame(2, b"x" * 17))
    fd("tiny-limit-message", CLIENT | TINY,
       frame(2, b"x" * 16, fin=False) + frame(0, b"y" * 16, fin=False) + frame(0, b"z" * 16))
    # permessage-deflate (RFC 7692 section 7.2.3).
    fd("deflate-hello", CLIENT | DEFLATE | W15, frame(1, HELLO_1, rsv1=True))
    fd("deflate-hello-masked", SERVER | DEFLATE | W15, frame(1, HELLO_1, rsv1=True, key=KEY))
    fd("deflate-hello-fragmented", CLIENT | DEFLATE | W15,
       frame(1, HELLO_1[:3], fin=False, rsv1=True) + frame(0, HELLO_1[3:]))
    fd("deflate-context-takeover", CLIENT | DEFLATE | W15,
       frame(1, HELLO_1, rsv1=True) + frame(1, HELLO_2, rsv1=True))
    fd("deflate-stored", CLIENT | DEFLATE | W15, frame(1, HELLO_STORED, rsv1=True))
    fd("deflate-two-blocks", CLIENT | DEFLATE | W15, frame(1, HELLO_TWO_BLOCKS, rsv1=True))
    fd("deflate-bfinal", CLIENT | DEFLATE | W15,
       frame(1, HELLO_BFINAL, rsv1=True) + frame(1, HELLO_1, rsv1=True))
    fd("deflate-uncompressed-message", CLIENT | DEFLATE | W15,
       frame(1, b"plain") + frame(2, deflate(b"\x00" * 300), rsv1=True))
    fd("deflate-bomb", CLIENT | DEFLATE | W15, frame(2, deflate(b"\x00" * 300000), rsv1=True))
    fd("deflate-bomb-tiny-limits", CLIENT | DEFLATE | W15 | TINY,
       frame(2, deflate(b"a" * 100)[:16], rsv1=True))
    fd("deflate-window-8", CLIENT | DEFLATE | 0x20,
       frame(1, deflate(b"abcdefgh" * 40, wbits=9), rsv1=True))
    fd("deflate-corrupt", CLIENT | DEFLATE | W15, frame(1, b"\xff\xff\xff\xff", rsv1=True))
    fd("deflate-rsv1-continuation", CLIENT | DEFLATE | W15,
       frame(1, HELLO_1[:3], fin=False, rsv1=True) + frame(0, HELLO_1[3:], rsv1=True))
    fd("deflate-rsv1-ping", CLIENT | DEFLATE | W15, frame(9, b"", rsv1=True))
    fd("deflate-compressed-invalid-utf8", CLIENT | DEFLATE | W15,
       frame(1, deflate(b"ok \xc3\x28"), rsv1=True))


# --------------------------------------------------------------------------- handshake_parse
# byte 0 flags, byte 1 client DeflateConfig, byte 2 server DeflateConfig, byte 3 cut.
RFC_REQUEST = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
CHROME_REQUEST = (b"GET /ws HTTP/1.1\r\nHost: localhost:9001\r\nConnection: Upgrade\r\n"
                  b"Pragma: no-cache\r\nCache-Control: no-cache\r\n"
                  b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0\r\n"
                  b"Upgrade: websocket\r\nOrigin: http://localhost:9001\r\n"
                  b"Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n"
                  b"Accept-Language: en-US,en;q=0.9\r\n"
                  b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
                  b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
FIREFOX_REQUEST = (b"GET /ws HTTP/1.1\r\nHost: localhost:9001\r\n"
                   b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
                   b"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n"
                   b"Accept-Encoding: gzip, deflate, br\r\nSec-WebSocket-Version: 13\r\n"
                   b"Origin: http://localhost:9001\r\n"
                   b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
                   b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\n"
                   b"Connection: keep-alive, Upgrade\r\nSec-Fetch-Dest: empty\r\n"
                   b"Sec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-origin\r\n"
                   b"Pragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n")
CURL_REQUEST = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: curl/8.5.0\r\n"
                b"Accept: */*\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==\r\n\r\n")
TUNGSTENITE_REQUEST = (b"GET /socket?room=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"
                       b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                       b"Sec-WebSocket-Key: 4Xo1iN1bN8JQ1wU0I8xJ4Q==\r\n"
                       b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
                       b"server_no_context_takeover; server_max_window_bits=10; "
                       b"client_max_window_bits=9\r\n\r\n")
NODE_REQUEST = (b"GET / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: Xr9t0pjS4+0X7vJxZ/2T9g==\r\nConnection: Upgrade\r\n"
                b"Upgrade: websocket\r\n"
                b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                b"Host: localhost:8080\r\n\r\n")
AUTOBAHN_REQUEST = (b"GET / HTTP/1.1\r\nUser-Agent: AutobahnTestSuite/0.8.2-0.10.9\r\n"
                    b"Host: 127.0.0.1:9001\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
                    b"Pragma: no-cache\r\nCache-Control: no-cache\r\n"
                    b"Sec-WebSocket-Key: 1wO5v4pwPqNT2CHQrV3d4A==\r\nSec-WebSocket-Version: 13\r\n"
                    b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8; "
                    b"client_max_window_bits\r\n\r\n")
RFC_RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                b"Sec-WebSocket-Protocol: chat\r\n\r\n")


def hp(name, text, flags=0x00, client=0xFF, server=0xFF, cut=40):
    write("handshake_parse", name, bytes([flags, client, server, cut]) + text)


def handshake_parse():
    clear("handshake_parse")
    # flags: bits 5-6 the server's AcceptConfig (0x40 = protocols + deflate), bit 4 the client
    # offers deflate, bits 2-3 client protocols (0x08 = chat, superchat).
    for name, req in [("req-rfc6455", RFC_REQUEST), ("req-chrome", CHROME_REQUEST),
                      ("req-firefox", FIREFOX_REQUEST), ("req-curl", CURL_REQUEST),
                      ("req-tungstenite", TUNGSTENITE_REQUEST), ("req-node-ws", NODE_REQUEST),
                      ("req-autobahn", AUTOBAHN_REQUEST)]:
        hp(name, req, flags=0x40, server=0x00)
    hp("req-rfc6455-default-deflate", CHROME_REQUEST, flags=0x20)
    hp("req-tiny-limits", RFC_REQUEST, flags=0x01)
    hp("req-http10", RFC_REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0"))
    hp("req-post", RFC_REQUEST.replace(b"GET", b"POST"))
    hp("req-no-upgrade", CURL_REQUEST.replace(b"Upgrade: websocket\r\n", b""))
    hp("req-version-8", CURL_REQUEST.replace(b"Version: 13", b"Version: 8"))
    hp("req-bad-key", CURL_REQUEST.replace(b"SGVsbG8sIHdvcmxkIQ==", b"short"))
    hp("req-duplicate-key", CURL_REQUEST.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==\r\n\r\n"))
    hp("req-body", CURL_REQUEST.replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\nhello"))
    hp("req-chunked", CURL_REQUEST.replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n"))
    hp("req-with-frames-after", RFC_REQUEST + frame(1, b"Hello", key=KEY))
    hp("req-quoted-extension", CURL_REQUEST.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: foo; a=\"b,c\", "
                     b"permessage-deflate; client_max_window_bits=\"10\"\r\n\r\n"), flags=0x40)
    hp("req-partial", RFC_REQUEST[:60])
    # Responses: flags bit 4 = deflate offered by the client, 0x08 = chat + superchat offered.
    hp("resp-rfc6455", RFC_RESPONSE, flags=0x08)
    hp("resp-deflate", RFC_RESPONSE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; "
                     b"server_max_window_bits=10; client_max_window_bits=9\r\n\r\n"),
       flags=0x18, client=0x00)
    hp("resp-deflate-no-context", RFC_RESPONSE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; "
                     b"server_no_context_takeover; client_no_context_takeover\r\n\r\n"),
       flags=0x18, client=0x03)
    hp("resp-unoffered-extension", RFC_RESPONSE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"), flags=0x18)
    hp("resp-wrong-accept", RFC_RESPONSE.replace(b"s3pP", b"AAAA"), flags=0x08)
    hp("resp-400", b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                   b"Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n")
    hp("resp-426", b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n\r\n")
    hp("resp-101-then-frame", RFC_RESPONSE + frame(1, b"Hello"), flags=0x08)
    # Sec-WebSocket-Extensions values, one per line.
    hp("ext-offers", b"permessage-deflate; client_max_window_bits\n"
                     b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=\"9\"\n"
                     b"x-webkit-deflate-frame, permessage-deflate")
    hp("ext-answer", b"permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
       client=0x01)
    hp("ext-bad", b"permessage-deflate; server_max_window_bits=08; foo=\"\\\"\"\n"
                  b"permessage-deflate; client_max_window_bits; client_max_window_bits")


# --------------------------------------------------------------------------- inflate
# byte 0: bits 0-2 window bits - 8, bit 3 no context takeover, bits 4-6 max size index
# (0, 1, 5, 100, 1024, 16K, 256K, 1M), bit 7 client role; then (control, payload) fragments.
def frag(payload, fin=True):
    n = len(payload)
    if n < 127:
        return bytes([(0x80 if fin else 0) | n]) + payload
    return bytes([(0x80 if fin else 0) | 127]) + struct.pack(">H", n) + payload


def inf(name, flags, *frags):
    write("inflate", name, bytes([flags]) + b"".join(frags))


def inflate():
    clear("inflate")
    W15, BIG = 0x07, 0x60  # window 15, max 256 KiB
    inf("rfc-hello", W15 | BIG, frag(HELLO_1))
    inf("rfc-hello-fragmented", W15 | BIG, frag(HELLO_1[:3], False), frag(HELLO_1[3:]))
    inf("rfc-hello-bytewise", W15 | BIG, *[frag(bytes([b]), False) for b in HELLO_1], frag(b""))
    inf("rfc-context-takeover", W15 | BIG, frag(HELLO_1), frag(HELLO_2))
    inf("rfc-no-context-takeover", W15 | 0x08 | BIG, frag(HELLO_1), frag(HELLO_1))
    inf("rfc-stored", W15 | BIG, frag(HELLO_STORED))
    inf("rfc-bfinal", W15 | BIG, frag(HELLO_BFINAL + b"garbage"), frag(HELLO_1))
    inf("rfc-two-blocks", W15 | BIG, frag(HELLO_TWO_BLOCKS))
    inf("empty-message", W15 | BIG, frag(b"\x00"), frag(b""))
    inf("limit-exact", W15 | 0x20, frag(HELLO_1))  # max 5 = len("Hello")
    inf("limit-one-short", W15 | 0x10, frag(HELLO_1))  # max 1
    inf("limit-zero", W15, frag(b"\x00"), frag(HELLO_1))
    inf("bomb", W15 | 0x50, frag(deflate(b"\x00" * 100000)))  # max 16 KiB
    inf("text-window-9", 0x01 | BIG, frag(deflate(b"the quick brown fox " * 30, wbits=9)))
    inf("text-window-8-as-9", 0x00 | BIG, frag(deflate(b"abcabcabd" * 50, wbits=9)))
    data = deflate(bytes(range(256)) * 4)
    inf("binary-split", W15 | BIG, frag(data[:100], False), frag(data[100:]))
    inf("corrupt", W15 | BIG, frag(b"\xff\xff\xff\xff\xff"))
    inf("dynamic-huffman", W15 | BIG, frag(deflate(b"websocket permessage-deflate " * 20, level=9)))
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    m1 = c.compress(b"hello hello hello") + c.flush(zlib.Z_SYNC_FLUSH)
    m2 = c.compress(b"hello hello hello again") + c.flush(zlib.Z_SYNC_FLUSH)
    inf("context-takeover-zlib", W15 | BIG, frag(m1[:-4]), frag(m2[:-4]))
    # Found by the fuzzer: a message both over the limit (0) and corrupt, which fails with 1009
    # in fragments but 1007 in one piece (both are fine; the target compares only ok/err).
    write("inflate", "too-big-and-corrupt", bytes.fromhex(
        "00000000000000000000000000000000" "00033200000000000000000000000000"
        "0000000000fe000000000000ff00"))


# --------------------------------------------------------------------------- encode_roundtrip
# flags, frame size, level/threshold, 4-byte key, drain step; then 0xFF-separated messages,
# each led by a kind byte (bit 0 text, bit 1 ping follows, bit 2 encode_shared when plain).
def er(name, flags, frame_size, level, step, *messages):
    body = b"\xff".join(messages)
    write("encode_roundtrip", name, bytes([flags, frame_size, level]) + KEY + bytes([step]) + body)


def encode_roundtrip():
    clear("encode_roundtrip")
    text = lambda s: b"\x01" + s.encode()
    binary = lambda b: b"\x00" + b
    er("server-text", 0x00, 0, 0, 0, text("Hello"))
    er("client-text", 0x01, 0, 0, 0, text("Hello"))
    er("client-manual-mask", 0x41, 0, 0, 3, text("Hello"), binary(bytes(range(200))))
    er("fragmented-1", 0x01, 1, 0, 1, text("Hello"))
    er("fragmented-7-ping", 0x00, 7, 0, 5, b"\x03" + "κόσμε 🌍 ping".encode())
    er("len-126", 0x00, 0, 0, 0, binary(b"x" * 126), binary(b"y" * 125))
    er("len-1000", 0x00, 0, 0, 0, binary(b"z" * 1000))
    er("frame-257", 0x00, 128, 0, 100, binary(bytes(range(256)) * 3))
    er("deflate-server", 0x02 | 0x38, 0, 6, 0, text("Hello"), text("Hello"), text("Hello world"))
    er("deflate-client-no-context", 0x07 | 0x38, 0, 3, 0, text("Hello " * 20), text("Hello " * 20))
    er("deflate-window-8", 0x03, 3, 9, 2, text("abcdefgh" * 60))
    er("deflate-threshold", 0x02 | 0x38, 0, 3 + 10 * 4, 0, text("short"), text("long " * 40))
    er("deflate-empty", 0x02 | 0x38, 0, 6, 0, text(""), binary(b""), b"")
    er("shared-fanout", 0x00, 0, 0, 0, b"\x05Hello", b"\x04" + bytes(range(100)), b"\x07ping")
    er("shared-fanout-deflate", 0x02 | 0x38, 0, 3 + 10 * 4, 0, b"\x05short",
       b"\x05" + b"long " * 40, b"\x05again")
    er("deflate-manual-mask-split", 0xC3 | 0x38, 50, 6, 9, binary(bytes(range(256)) * 2))


# --------------------------------------------------------------------------- server_read_path
# byte 0: bits 0-2 handshake (0 RFC, 1 Chrome, 2 Firefox, 3 curl, 4 tungstenite, 5 node,
# 6 autobahn, 7 none), bit 3 compression, bit 4 tiny limits, bit 5 pings to reader, bit 6
# pongs delivered, bit 7 close after first; byte 1: bits 0-1 fragment size, bit 2 1-byte write
# limit, bit 3 separate control, bit 4 threshold 0, bits 5-6 close timeout, bit 7 close().await;
# byte 2: bits 0-1 duplex capacity (64 KiB, 1, 7, 300), bit 2 keepalive, bit 3 1 ms write
# timeout, bit 4 overflow_close 1008.
def srp(name, f0, f1, wire, pipe=0):
    write("server_read_path", name, bytes([f0, f1, pipe]) + wire)


def server_read_path():
    clear("server_read_path")
    close = frame(8, cf(1000), key=KEY)
    hello = frame(1, b"Hello", key=KEY)
    srp("rfc-hello-close", 0x00, 0x00, hello + close)
    srp("rfc-hello-eof", 0x00, 0x00, hello)
    srp("rfc-ping-fragmented", 0x00, 0x00,
        frame(1, b"Hel", fin=False, key=KEY) + frame(9, b"ping", key=KEY)
        + frame(0, b"lo", key=KEY) + frame(10, b"pong", key=KEY) + close)
    srp("binary-256-fragment-1", 0x03, 0x01, frame(2, bytes(range(256)), key=KEY) + close)
    srp("chrome-deflate-hello", 0x09, 0x10, frame(1, HELLO_1, rsv1=True, key=KEY)
        + frame(1, HELLO_2, rsv1=True, key=KEY) + close)
    srp("firefox-deflate-fragmented", 0x0A, 0x12,
        frame(1, HELLO_1[:3], fin=False, rsv1=True, key=KEY) + frame(0, HELLO_1[3:], key=KEY)
        + close)
    srp("tungstenite-no-context", 0x0C, 0x10,
        frame(1, deflate(b"Hello Hello Hello", wbits=9), rsv1=True, key=KEY)
        + frame(1, deflate(b"Hello Hello Hello", wbits=9), rsv1=True, key=KEY) + close)
    srp("autobahn-window-8", 0x0E, 0x10,
        frame(2, deflate(b"autobahn" * 100), rsv1=True, key=KEY) + close)
    srp("node-bomb", 0x0D, 0x00, frame(2, deflate(b"\x00" * 400000), rsv1=True, key=KEY))
    srp("unmasked-frame", 0x00, 0x00, frame(1, b"Hello"))
    srp("invalid-utf8", 0x00, 0x00, frame(1, b"\xc3\x28", key=KEY) + close)
    srp("tiny-limits", 0x10, 0x00, frame(2, b"x" * 41, key=KEY))
    srp("close-after-first", 0x80, 0x20, hello + hello + close)
    srp("close-and-wait", 0x80, 0x80, hello + hello)
    srp("close-no-timeout", 0x80, 0x40, hello)
    srp("pings-to-reader", 0x60, 0x08, frame(9, b"a", key=KEY) + frame(10, b"b", key=KEY) + close)
    srp("write-limit-1", 0x01, 0x05, hello * 5 + close)
    srp("raw-rfc-request", 0x07, 0x00, RFC_REQUEST + hello + close)
    srp("raw-post", 0x07, 0x00, RFC_REQUEST.replace(b"GET", b"POST"))
    srp("raw-missing-key", 0x07, 0x00, CURL_REQUEST.replace(b"Sec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==\r\n", b""))
    srp("raw-partial", 0x07, 0x00, RFC_REQUEST[:50])
    srp("raw-huge-head", 0x07, 0x00, b"GET /" + b"a" * 4100 + b" HTTP/1.1\r\n")
    srp("close-bad-code", 0x00, 0x00, frame(8, cf(999), key=KEY))
    srp("data-after-close", 0x00, 0x00, close + hello)
    srp("pipe-1-byte", 0x00, 0x00, hello + frame(9, b"ping", key=KEY) + close, pipe=1)
    srp("pipe-7-chrome-deflate", 0x09, 0x11, frame(1, HELLO_1, rsv1=True, key=KEY)
        + frame(2, bytes(range(200)), key=KEY) + close, pipe=2)
    srp("pipe-300-raw-request", 0x07, 0x00, FIREFOX_REQUEST + hello + close, pipe=3)
    srp("keepalive", 0x00, 0x00, hello, pipe=0x04)
    srp("write-timeout-overflow-close", 0x01, 0x05, hello * 8 + close, pipe=0x1A)
    srp("write-timeout-pings", 0x20, 0x04, frame(9, b"p" * 100, key=KEY) * 6 + close, pipe=0x09)


if __name__ == "__main__":
    frame_decode()
    handshake_parse()
    inflate()
    encode_roundtrip()
    server_read_path()
    for t in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        files = os.listdir(os.path.join(HERE, "corpus", t))
        size = sum(os.path.getsize(os.path.join(HERE, "corpus", t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")
