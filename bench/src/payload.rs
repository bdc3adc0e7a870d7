//! What the load generator sends: text, random binary, or JSON-like text, each message carrying
//! its sequence number in a slot of hex digits so every echo can be checked byte for byte.

use std::fmt::Write as _;

/// The kind of messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ASCII text (a text frame).
    Text,
    /// Pseudo-random bytes (a binary frame; incompressible).
    Binary,
    /// JSON-like text: arrays of records with varied ids, names and words (a text frame;
    /// compresses like real JSON, not like a repeated string).
    Json,
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "binary" => Ok(Self::Binary),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown kind `{other}` (text|binary|json)")),
        }
    }
}

impl Kind {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
            Self::Json => "json",
        }
    }

    /// Whether messages go as text frames.
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Binary)
    }
}

/// The widest sequence slot: 16 hex digits (a whole u64).
pub const SEQ_DIGITS: usize = 16;

/// Message templates; message `seq` is `templates[seq % len]` with `seq` written in its slot.
#[derive(Clone, Debug)]
pub struct Pool {
    /// The kind of every template.
    pub kind: Kind,
    /// The templates, all of the same size, slot filled with `0` digits.
    pub templates: Vec<Vec<u8>>,
    /// Where the sequence slot starts in every template.
    pub seq_offset: usize,
    /// The slot's width: `SEQ_DIGITS`, or less for messages shorter than that.
    pub seq_width: usize,
}

/// A small deterministic generator (xorshift64*), so runs send the same bytes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded; a zero seed is replaced.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// How many distinct JSON templates a pool holds: more than fit in a 32 KiB deflate window at
/// 4 KiB, so compression cannot just point back at an identical earlier message.
const JSON_TEMPLATES: usize = 64;

impl Pool {
    /// Templates of `size` bytes of `kind`.
    pub fn new(kind: Kind, size: usize) -> Self {
        let seq_width = size.min(SEQ_DIGITS);
        match kind {
            Kind::Text => {
                let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
                let mut t: Vec<u8> = (0..size).map(|i| alphabet[i % alphabet.len()]).collect();
                t[..seq_width].fill(b'0');
                Self {
                    kind,
                    templates: vec![t],
                    seq_offset: 0,
                    seq_width,
                }
            }
            Kind::Binary => {
                let mut rng = Rng::new(0x5eed_b1a5);
                let mut t = vec![0u8; size];
                for chunk in t.chunks_mut(8) {
                    let r = rng.next_u64().to_le_bytes();
                    chunk.copy_from_slice(&r[..chunk.len()]);
                }
                t[..seq_width].fill(b'0');
                Self {
                    kind,
                    templates: vec![t],
                    seq_offset: 0,
                    seq_width,
                }
            }
            Kind::Json => {
                let mut rng = Rng::new(0x150b_1ec7);
                let templates = (0..JSON_TEMPLATES)
                    .map(|_| json_document(size, &mut rng))
                    .collect();
                let seq_offset = if size >= JSON_PREFIX.len() + SEQ_DIGITS + 2 {
                    JSON_PREFIX.len()
                } else {
                    0
                };
                Self {
                    kind,
                    templates,
                    seq_offset,
                    seq_width,
                }
            }
        }
    }

    /// The size of every message.
    pub fn size(&self) -> usize {
        self.templates.first().map_or(0, Vec::len)
    }

    /// The template for message `seq`.
    pub fn template(&self, seq: u64) -> &[u8] {
        &self.templates[(seq % self.templates.len() as u64) as usize]
    }

    /// The digits message `seq` carries in its slot.
    pub fn digits(&self, seq: u64) -> [u8; SEQ_DIGITS] {
        let mut out = [b'0'; SEQ_DIGITS];
        let hex = b"0123456789abcdef";
        let mut v = seq;
        for i in (0..self.seq_width).rev() {
            out[i] = hex[(v & 0xF) as usize];
            v >>= 4;
        }
        out
    }

    /// Message `seq`, whole (the load generator patches frames in place instead).
    pub fn message(&self, seq: u64) -> Vec<u8> {
        let mut m = self.template(seq).to_vec();
        let d = self.digits(seq);
        m[self.seq_offset..self.seq_offset + self.seq_width].copy_from_slice(&d[..self.seq_width]);
        m
    }

    /// Whether `got` is exactly message `seq`.
    pub fn matches(&self, seq: u64, got: &[u8]) -> bool {
        let t = self.template(seq);
        let (a, b) = (self.seq_offset, self.seq_offset + self.seq_width);
        got.len() == t.len()
            && got[..a] == t[..a]
            && got[a..b] == self.digits(seq)[..self.seq_width]
            && got[b..] == t[b..]
    }
}

/// Every JSON template starts with this, then the 16-digit sequence slot.
const JSON_PREFIX: &str = "{\"seq\":\"";

const WORDS: &[&str] = &[
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "order",
    "shipped",
    "pending",
    "refund",
    "invoice",
    "customer",
    "warehouse",
    "priority",
    "standard",
    "express",
];

/// A JSON document of exactly `size` bytes (padded with spaces before the final brace; cut
/// short, and no longer valid JSON, only when `size` is too small for one record).
fn json_document(size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut doc = String::with_capacity(size + 256);
    doc.push_str(JSON_PREFIX);
    doc.push_str(&"0".repeat(SEQ_DIGITS));
    doc.push_str("\",\"items\":[");
    let mut first = true;
    loop {
        let mut rec = String::with_capacity(200);
        let id = rng.below(10_000_000);
        let user = WORDS[rng.below(WORDS.len() as u64) as usize];
        let status = WORDS[rng.below(WORDS.len() as u64) as usize];
        let _ = write!(
            rec,
            "{}{{\"id\":{id},\"user\":\"{user}-{}\",\"status\":\"{status}\",\"amount\":{}.{:02},\"ts\":{},\"tags\":[",
            if first { "" } else { "," },
            rng.below(1000),
            rng.below(100_000),
            rng.below(100),
            1_700_000_000_000u64 + rng.below(100_000_000),
        );
        for t in 0..rng.below(4) {
            let _ = write!(
                rec,
                "{}\"{}\"",
                if t == 0 { "" } else { "," },
                WORDS[rng.below(WORDS.len() as u64) as usize]
            );
        }
        rec.push_str("],\"note\":\"");
        for w in 0..3 + rng.below(6) {
            if w > 0 {
                rec.push(' ');
            }
            rec.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        rec.push_str("\"}");
        if doc.len() + rec.len() + 2 > size {
            break;
        }
        doc.push_str(&rec);
        first = false;
    }
    doc.push_str("]}");
    let mut bytes = doc.into_bytes();
    if bytes.len() < size {
        // Whitespace before the closing brace keeps it valid JSON.
        let pad = size - bytes.len();
        let close = bytes.pop();
        bytes.extend(std::iter::repeat_n(b' ', pad));
        bytes.extend(close);
    }
    bytes.truncate(size);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_slots() {
        for kind in [Kind::Text, Kind::Binary, Kind::Json] {
            for size in [0, 1, 8, 64, 4096, 16384] {
                let pool = Pool::new(kind, size);
                assert_eq!(pool.size(), size, "{kind:?} {size}");
                for seq in [0u64, 1, 0xabc, u64::MAX] {
                    let m = pool.message(seq);
                    assert_eq!(m.len(), size);
                    assert!(pool.matches(seq, &m));
                    if size > 0 {
                        assert!(!pool.matches(seq.wrapping_add(1), &m));
                    }
                    if kind.is_text() {
                        assert!(std::str::from_utf8(&m).is_ok());
                    }
                }
            }
        }
    }

    #[test]
    fn json_is_json_like_and_varied() {
        let pool = Pool::new(Kind::Json, 4096);
        let doc = String::from_utf8(pool.message(7)).unwrap();
        assert!(doc.starts_with("{\"seq\":\"0000000000000007\",\"items\":[{\"id\":"));
        assert!(doc.ends_with('}'));
        assert_ne!(pool.templates[0], pool.templates[1]);
    }
}
