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
    /// JSON-like text: arrays of records with varied ids, names and words, or at sizes too small
    /// for one record (below about 200 bytes) a flat object of such fields (a text frame;
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

/// How many distinct JSON templates a pool holds at least: at 4 KiB more than fit in a 32 KiB
/// deflate window, so compression cannot just point back at an identical earlier message.
const JSON_TEMPLATES: usize = 64;
/// Smaller messages get more templates, `JSON_SPAN` bytes of them in all (at most
/// `JSON_TEMPLATES_MAX`): 1,024 at 64 B, again twice the deflate window, so a template comes
/// back only after the window forgot it.
const JSON_SPAN: usize = 64 << 10;
const JSON_TEMPLATES_MAX: usize = 4096;

/// How many JSON templates a pool of `size`-byte messages holds (64 from 1 KiB up).
pub fn json_templates(size: usize) -> usize {
    (JSON_SPAN / size.max(1)).clamp(JSON_TEMPLATES, JSON_TEMPLATES_MAX)
}

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
                let templates = (0..json_templates(size))
                    .map(|_| json_document(size, &mut rng))
                    .collect();
                let seq_offset = if size >= JSON_MIN {
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

/// The smallest JSON document: the sequence slot alone, `{"seq":"0000000000000000"}`.
const JSON_MIN: usize = JSON_PREFIX.len() + SEQ_DIGITS + 2;

/// A JSON document of exactly `size` bytes (padded with spaces before the final brace): an
/// array of records, or a flat object (`json_flat`) when not even one record fits; cut short,
/// and no longer valid JSON, only below `JSON_MIN` bytes.
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
            if first && size >= JSON_MIN {
                return json_flat(size, rng);
            }
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

/// A flat JSON object of exactly `size` (at least `JSON_MIN`) bytes, for sizes too small for a
/// record: the sequence slot, then fields of the records' kinds in a random order with random
/// values (those that fit), then a `note` of words filling exactly what is left (spaces before
/// the final brace only below 39 bytes, where no note fits). At 64 B, for example:
/// `{"seq":"0000000000000000","ts":1700027429047,"note":"express p"}`.
fn json_flat(size: usize, rng: &mut Rng) -> Vec<u8> {
    debug_assert!(size >= JSON_MIN);
    let mut doc = String::with_capacity(size + 64);
    doc.push_str(JSON_PREFIX);
    doc.push_str(&"0".repeat(SEQ_DIGITS));
    doc.push('"');
    let word = |rng: &mut Rng| WORDS[rng.below(WORDS.len() as u64) as usize];
    let mut fields = [0usize, 1, 2, 3, 4, 5, 6, 7];
    for i in (1..fields.len()).rev() {
        fields.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // What a note needs: its key and quotes, and a few letters.
    const NOTE: &str = ",\"note\":\"\"";
    let reserve = if size >= JSON_MIN + NOTE.len() + 3 {
        NOTE.len() + 3
    } else {
        0
    };
    for f in fields {
        let field = match f {
            0 => format!(",\"id\":{}", rng.below(10_000_000)),
            1 => format!(",\"user\":\"{}-{}\"", word(rng), rng.below(1000)),
            2 => format!(",\"status\":\"{}\"", word(rng)),
            3 => format!(",\"amount\":{}.{:02}", rng.below(100_000), rng.below(100)),
            4 => format!(",\"ts\":{}", 1_700_000_000_000u64 + rng.below(100_000_000)),
            5 => format!(",\"tag\":\"{}\"", word(rng)),
            6 => format!(",\"qty\":{}", 1 + rng.below(99)),
            _ => format!(",\"ok\":{}", rng.below(2) == 1),
        };
        if doc.len() + field.len() + reserve < size {
            doc.push_str(&field);
        }
    }
    let room = size - 1 - doc.len();
    if reserve > 0 {
        let mut note = String::new();
        while note.len() < room - NOTE.len() {
            if !note.is_empty() {
                note.push(' ');
            }
            note.push_str(word(rng));
        }
        note.truncate(room - NOTE.len());
        if note.ends_with(' ') {
            note.pop();
            note.push('s');
        }
        let _ = write!(doc, ",\"note\":\"{note}\"");
    }
    let mut bytes = doc.into_bytes();
    bytes.resize(size - 1, b' ');
    bytes.push(b'}');
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

    #[test]
    fn small_json_is_valid_varied_json() {
        for size in [26, 27, 40, 64, 100, 150, 200, 300, 1024, 4096] {
            let pool = Pool::new(Kind::Json, size);
            assert_eq!(pool.seq_offset, JSON_PREFIX.len(), "{size}");
            assert_eq!(pool.templates.len(), json_templates(size));
            let distinct: std::collections::HashSet<&Vec<u8>> = pool.templates.iter().collect();
            if size >= 64 {
                assert!(
                    distinct.len() * 100 >= pool.templates.len() * 95,
                    "{size}: {} distinct of {}",
                    distinct.len(),
                    pool.templates.len()
                );
            }
            for seq in [0u64, 1, 0x1234_5678_9abc_def0, u64::MAX] {
                let m = pool.message(seq);
                assert_eq!(m.len(), size);
                let v: serde_json::Value = serde_json::from_slice(&m)
                    .unwrap_or_else(|e| panic!("{size}: {e}: {}", String::from_utf8_lossy(&m)));
                assert_eq!(v["seq"].as_str(), Some(format!("{seq:016x}").as_str()));
            }
        }
        // At 64 B: several fields, no padding before the final brace.
        let pool = Pool::new(Kind::Json, 64);
        for t in &pool.templates {
            let v: serde_json::Value = serde_json::from_slice(t).unwrap();
            let doc = String::from_utf8_lossy(t);
            assert!(v.as_object().unwrap().len() >= 3, "{doc}");
            let body = doc.strip_suffix('}').unwrap();
            assert_eq!(body, body.trim_end(), "{doc}");
        }
    }

    /// The array-of-records documents (1 KiB and up) are exactly those of earlier runs, so
    /// their results stay comparable.
    #[test]
    fn large_json_is_unchanged() {
        for (size, expected) in [
            (1024, 0x171c_37d7_f047_c477u64),
            (4096, 0x5ffc_fd23_beb0_3104),
            (16384, 0x8fce_098d_a949_0885),
        ] {
            let pool = Pool::new(Kind::Json, size);
            assert_eq!(pool.templates.len(), 64);
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in pool.templates.iter().flatten() {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x100_0000_01b3);
            }
            assert_eq!(h, expected, "{size}");
        }
    }
}
