//! Incremental UTF-8 validation, so that an invalid text message fails at its first bad byte,
//! even in the middle of a fragmented message.

/// Validates a byte stream chunk by chunk.
///
/// A character split across chunks is carried over; a sequence that can never become valid
/// fails as soon as it is seen, not at the end of the message.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The bytes fed so far are not (a prefix of) valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct Utf8Error;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Self {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Validates the next chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Utf8Error> {
        if self.partial_len > 0 {
            // Complete the carried-over character with as many bytes as it can take.
            let have = self.partial_len as usize;
            let take = (4 - have).min(chunk.len());
            let mut buf = self.partial;
            buf[have..have + take].copy_from_slice(&chunk[..take]);
            match std::str::from_utf8(&buf[..have + take]) {
                Ok(_) => {
                    self.partial_len = 0;
                    chunk = &chunk[take..];
                }
                Err(e) if e.valid_up_to() > 0 => {
                    // The carried character completed within the first `valid_up_to` bytes.
                    let used = e.valid_up_to() - have;
                    self.partial_len = 0;
                    chunk = &chunk[used..];
                }
                Err(e) => {
                    if e.error_len().is_some() {
                        return Err(Utf8Error);
                    }
                    // Still incomplete: the chunk was too short to finish it.
                    self.partial = buf;
                    self.partial_len = (have + take) as u8;
                    return Ok(());
                }
            }
        }
        match std::str::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(Utf8Error),
                None => {
                    let tail = &chunk[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the message: an unfinished character is an error. Resets the validator.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let incomplete = self.partial_len > 0;
        self.partial_len = 0;
        if incomplete {
            Err(Utf8Error)
        } else {
            Ok(())
        }
    }

    /// Forgets any carried-over bytes.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(chunks: &[&[u8]]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        for chunk in chunks {
            v.feed(chunk)?;
        }
        v.finish()
    }

    #[test]
    fn every_split_of_valid_text_is_accepted() {
        let text = "κόσμε 𝄞 ascii € 中文".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(
                    feed_all(&[&text[..i], &text[i..j], &text[j..]]),
                    Ok(()),
                    "{i} {j}"
                );
            }
        }
        // One byte at a time.
        let mut v = Utf8Validator::new();
        for b in text {
            v.feed(std::slice::from_ref(b)).unwrap();
        }
        v.finish().unwrap();
    }

    #[test]
    fn invalid_sequences_fail_at_the_first_bad_byte() {
        // 0xF4 0x90 is above U+10FFFF: invalid as soon as the second byte is seen.
        let mut v = Utf8Validator::new();
        v.feed(b"ok \xf4").unwrap();
        assert_eq!(v.feed(b"\x90"), Err(Utf8Error));
        // A surrogate half (ED A0 80) fails at its second byte.
        let mut v = Utf8Validator::new();
        v.feed(b"\xed").unwrap();
        assert_eq!(v.feed(b"\xa0\x80"), Err(Utf8Error));
        // A lone continuation byte, an overlong encoding, and 0xFF.
        assert_eq!(Utf8Validator::new().feed(b"\x80"), Err(Utf8Error));
        assert_eq!(Utf8Validator::new().feed(b"\xc0\xaf"), Err(Utf8Error));
        assert_eq!(Utf8Validator::new().feed(b"abc\xff"), Err(Utf8Error));
    }

    #[test]
    fn a_truncated_character_fails_at_finish() {
        assert_eq!(feed_all(&[b"abc\xe2\x82"]), Err(Utf8Error));
        assert_eq!(feed_all(&[b"\xf0", b"\x9d", b"\x84"]), Err(Utf8Error));
        assert_eq!(feed_all(&[b"\xf0", b"\x9d", b"\x84", b"\x9e"]), Ok(()));
    }

    #[test]
    fn a_carried_character_followed_by_more_text() {
        assert_eq!(feed_all(&[b"\xe2", b"\x82\xacabc"]), Ok(()));
        assert_eq!(feed_all(&[b"\xe2\x82", b"\xac\xe2\x82", b"\xac"]), Ok(()));
        assert_eq!(feed_all(&[b"\xe2", b"\x82\xac\xff"]), Err(Utf8Error));
    }
}
