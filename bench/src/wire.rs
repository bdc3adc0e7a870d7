//! The load generator's side of RFC 6455, kept minimal: the client handshake over a raw
//! `TcpStream`, masked frames built once and patched in place, and server frame headers parsed
//! straight out of the read buffer.

use crate::deflate::Negotiated;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opcodes the client deals with.
pub mod op {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// Appends a frame header (FIN set) for `len` payload bytes, masked with `mask` when given.
/// Returns the header length.
pub fn push_header(
    out: &mut Vec<u8>,
    opcode: u8,
    rsv1: bool,
    len: usize,
    mask: Option<[u8; 4]>,
) -> usize {
    let start = out.len();
    out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(m) = mask {
        out.extend_from_slice(&m);
    }
    out.len() - start
}

/// XORs `buf` with `mask`, where `buf` starts at byte `offset` of the payload. A plain loop of
/// 8-byte words: the client masks only what changes per message (the sequence slot) or, with
/// compression on, the compressed bytes.
pub fn mask_at(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut m = mask;
    m.rotate_left(offset % 4);
    let word = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i % 4];
    }
}

/// Appends a whole masked frame.
pub fn push_masked_frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8], mask: [u8; 4]) {
    push_header(out, opcode, rsv1, payload.len(), Some(mask));
    let start = out.len();
    out.extend_from_slice(payload);
    mask_at(&mut out[start..], mask, 0);
}

/// A parsed server frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// FIN bit.
    pub fin: bool,
    /// RSV1 (compressed).
    pub rsv1: bool,
    /// Opcode.
    pub opcode: u8,
    /// Header length in bytes.
    pub header_len: usize,
    /// Payload length in bytes.
    pub payload_len: usize,
}

/// Parses a server-to-client header at the front of `buf`: `Ok(None)` when incomplete, an error
/// for a masked frame or RSV2/RSV3.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, String> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b1 & 0x80 != 0 {
        return Err("masked frame from the server".into());
    }
    if b0 & 0x30 != 0 {
        return Err("RSV2/RSV3 set by the server".into());
    }
    let (payload_len, header_len) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                let n = u64::from_be_bytes(be);
                (usize::try_from(n).map_err(|_| "frame too long")?, 10)
            }
            None => return Ok(None),
        },
        n => (usize::from(n), 2),
    };
    Ok(Some(Header {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0F,
        header_len,
        payload_len,
    }))
}

/// The permessage-deflate offer the client makes: context takeover both ways (what browsers do),
/// and room for the server to lower our window.
pub const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// What the opening handshake left: the stream, bytes read past the response head, and the
/// negotiated compression.
#[derive(Debug)]
pub struct Opened {
    /// The connection.
    pub stream: TcpStream,
    /// Bytes that followed the response head.
    pub leftover: Vec<u8>,
    /// permessage-deflate, when the server accepted the offer.
    pub deflate: Option<Negotiated>,
}

/// Connects to `addr`, sends the upgrade request for `path` (offering compression when asked)
/// and checks the `101` answer, its `Sec-WebSocket-Accept` and its extension, within `timeout`.
pub async fn open(
    addr: std::net::SocketAddr,
    path: &str,
    compression: bool,
    timeout: Duration,
) -> Result<Opened, String> {
    tokio::time::timeout(timeout, open_inner(addr, path, compression))
        .await
        .map_err(|_| format!("handshake not done within {timeout:?}"))?
}

async fn open_inner(
    addr: std::net::SocketAddr,
    path: &str,
    compression: bool,
) -> Result<Opened, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let key = ws_framework::handshake::generate_key();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if compression {
        request.push_str("Sec-WebSocket-Extensions: ");
        request.push_str(DEFLATE_OFFER);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send request: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read response: {e}"))?;
        if n == 0 {
            return Err("connection closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                if response.code != Some(101) {
                    return Err(format!("handshake answered {:?}", response.code));
                }
                let expected = ws_framework::handshake::accept_key(key.as_bytes());
                let mut accepted = false;
                let mut extension: Option<String> = None;
                for h in response.headers.iter() {
                    if h.name.eq_ignore_ascii_case("sec-websocket-accept") {
                        accepted = h.value == expected.as_bytes();
                    } else if h.name.eq_ignore_ascii_case("sec-websocket-extensions") {
                        extension = Some(String::from_utf8_lossy(h.value).into_owned());
                    }
                }
                if !accepted {
                    return Err("wrong or missing Sec-WebSocket-Accept".into());
                }
                let deflate = match extension {
                    Some(ext) if compression => Some(Negotiated::parse(&ext)?),
                    Some(ext) => return Err(format!("extension `{ext}` that was not offered")),
                    None => None,
                };
                let leftover = buf[head_len..].to_vec();
                return Ok(Opened {
                    stream,
                    leftover,
                    deflate,
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < 16 << 10 => {}
            Ok(httparse::Status::Partial) => return Err("response head too long".into()),
            Err(e) => return Err(format!("bad response: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for len in [0, 5, 125, 126, 65535, 65536, 1 << 20] {
            let mut out = Vec::new();
            let n = push_header(&mut out, op::BINARY, true, len, None);
            let h = parse_header(&out).unwrap().unwrap();
            assert_eq!(
                h,
                Header {
                    fin: true,
                    rsv1: true,
                    opcode: op::BINARY,
                    header_len: n,
                    payload_len: len
                }
            );
            for cut in 0..n {
                assert_eq!(parse_header(&out[..cut]).unwrap(), None);
            }
        }
        let mut masked = Vec::new();
        push_header(&mut masked, op::TEXT, false, 3, Some([1, 2, 3, 4]));
        assert!(parse_header(&masked).is_err());
    }

    #[test]
    fn masking_matches_ws_framework() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..100u8).collect();
        for offset in 0..8 {
            let mut ours = data.clone();
            let mut theirs = data.clone();
            mask_at(&mut ours, mask, offset);
            ws_framework::proto::mask::apply_mask_at(&mut theirs, mask, offset);
            assert_eq!(ours, theirs);
        }
    }
}
