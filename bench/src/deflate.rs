//! permessage-deflate (RFC 7692) for the load generator's client, on flate2: independent of
//! ws-framework's own implementation, so a bug there cannot hide itself.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block that ends a sync flush (removed by senders, restored by receivers).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The parameters the server's `Sec-WebSocket-Extensions` answer agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The server resets its context after every message.
    pub server_no_context_takeover: bool,
    /// We must reset ours after every message.
    pub client_no_context_takeover: bool,
    /// The window we may compress with.
    pub client_max_window_bits: u8,
    /// The window the server compresses with.
    pub server_max_window_bits: u8,
}

impl Negotiated {
    /// Parses the server's answer (a single `permessage-deflate` element).
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut parts = value.split(';').map(str::trim);
        if parts.next() != Some("permessage-deflate") || value.contains(',') {
            return Err(format!("unexpected extension answer `{value}`"));
        }
        let mut n = Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
        };
        for p in parts {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (p, None),
            };
            let bits = |v: Option<&str>| -> Result<u8, String> {
                v.and_then(|v| v.parse().ok())
                    .filter(|b| (8..=15).contains(b))
                    .ok_or_else(|| format!("bad window bits in `{value}`"))
            };
            match k {
                "server_no_context_takeover" => n.server_no_context_takeover = true,
                "client_no_context_takeover" => n.client_no_context_takeover = true,
                "server_max_window_bits" => n.server_max_window_bits = bits(v)?,
                "client_max_window_bits" => n.client_max_window_bits = bits(v)?,
                other => return Err(format!("unknown parameter `{other}` in `{value}`")),
            }
        }
        Ok(n)
    }
}

/// The client's compressor and decompressor for one connection.
pub struct ClientDeflate {
    neg: Negotiated,
    comp: Compress,
    decomp: Decompress,
    level: u32,
}

impl std::fmt::Debug for ClientDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientDeflate")
            .field("neg", &self.neg)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl ClientDeflate {
    /// A client compressing at `level` (0-9) within what `neg` allows.
    pub fn new(neg: Negotiated, level: u32) -> Self {
        Self {
            neg,
            comp: new_compress(neg, level),
            // A 15-bit window inflates whatever window the server used.
            decomp: Decompress::new_with_window_bits(false, 15),
            level,
        }
    }

    /// Compresses one message and appends the frame payload (sync flush, tail removed).
    pub fn compress(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if input.is_empty() {
            out.push(0x00);
            return Ok(());
        }
        let start = out.len();
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = self.comp.total_in();
            self.comp
                .compress_vec(input, out, FlushCompress::Sync)
                .map_err(|e| format!("deflate: {e}"))?;
            input = &input[(self.comp.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if !out[start..].ends_with(&TAIL) {
            return Err("sync flush without its empty stored block".into());
        }
        out.truncate(out.len() - TAIL.len());
        if self.neg.client_no_context_takeover {
            self.comp = new_compress(self.neg, self.level);
        }
        Ok(())
    }

    /// Inflates one whole message payload and appends it to `out`.
    pub fn decompress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let ended = self.inflate(payload, out)? || self.inflate(&TAIL, out)?;
        if ended || self.neg.server_no_context_takeover {
            self.decomp.reset(false);
        }
        Ok(())
    }

    /// Returns whether the deflate stream ended (BFINAL).
    fn inflate(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<bool, String> {
        loop {
            out.reserve((input.len() * 4).max(4096));
            let before = self.decomp.total_in();
            let status = self
                .decomp
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|e| format!("inflate: {e}"))?;
            input = &input[(self.decomp.total_in() - before) as usize..];
            if status == Status::StreamEnd {
                return Ok(true);
            }
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(false);
            }
        }
    }
}

fn new_compress(neg: Negotiated, level: u32) -> Compress {
    // zlib refuses an 8-bit window for raw deflate; 9 never emits distances an 8-bit window
    // cannot follow.
    Compress::new_with_window_bits(
        Compression::new(level.min(9)),
        false,
        neg.client_max_window_bits.clamp(9, 15),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Kind, Pool};
    use ws_framework::proto::deflate::DeflateParams;
    use ws_framework::proto::Role;

    #[test]
    fn parses_answers() {
        let n = Negotiated::parse(
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        )
        .unwrap();
        assert!(n.server_no_context_takeover);
        assert_eq!(n.client_max_window_bits, 10);
        assert!(Negotiated::parse("permessage-deflate; x").is_err());
        assert!(Negotiated::parse("x-webkit-deflate-frame").is_err());
    }

    #[test]
    fn interoperates_with_ws_framework_both_ways() {
        let pool = Pool::new(Kind::Json, 4096);
        let neg = Negotiated::parse("permessage-deflate").unwrap();
        let params = DeflateParams::default();
        let mut client = ClientDeflate::new(neg, 1);
        let mut server_in = params.decompressor(Role::Server);
        let mut server_out = params.compressor(Role::Server, 3);
        for seq in 0..20 {
            let msg = pool.message(seq);
            let mut wire = Vec::new();
            client.compress(&msg, &mut wire).unwrap();
            assert!(wire.len() < msg.len() / 2);
            let mut plain = Vec::new();
            server_in
                .decompress(&wire, true, &mut plain, 1 << 20)
                .unwrap();
            assert_eq!(plain, msg);
            let mut back = Vec::new();
            server_out.compress(&plain, &mut back).unwrap();
            let mut got = Vec::new();
            client.decompress(&back, &mut got).unwrap();
            assert!(pool.matches(seq, &got));
        }
    }
}
