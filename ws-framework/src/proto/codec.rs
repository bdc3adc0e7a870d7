//! The message codec: bytes in, events out (decoder); messages in, frames out (encoder).
//!
//! The decoder enforces every receive-side rule of RFC 6455 and RFC 7692: masking by role,
//! reserved bits against what was negotiated, opcode sequencing, control-frame rules,
//! reassembly, UTF-8 validated as the bytes arrive, and the frame and message size limits
//! (the message limit counts bytes after decompression).

use super::close::CloseFrame;
use super::deflate::{Compressor, Decompressor};
use super::frame::{FrameHeader, OpCode};
use super::mask::{apply_mask, copy_unmasked};
use super::utf8::Utf8Validator;
use super::{ProtocolError, Role};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// Bytes that are known to be valid UTF-8: a text message's payload, shared without copying.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps `bytes` if they are valid UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// Wraps `bytes` without checking them.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8.
    pub(crate) unsafe fn from_bytes_unchecked(bytes: Bytes) -> Self {
        Self(bytes)
    }

    /// A static string, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checks (or starts from a `str`) that the bytes are UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the UTF-8 guarantee.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Utf8Bytes> for String {
    fn from(b: Utf8Bytes) -> Self {
        match b.0.try_into_mut() {
            // SAFETY: the bytes are UTF-8 (type invariant).
            Ok(unique) => unsafe { String::from_utf8_unchecked(Vec::from(unique)) },
            Err(shared) => unsafe { std::str::from_utf8_unchecked(&shared) }.to_owned(),
        }
    }
}

impl serde::Serialize for Utf8Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Utf8Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Utf8Bytes::from)
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A complete data message.
///
/// The payload of a received message is shared, not copied: a large one is a view of the
/// buffer it was read into, a small one (512 bytes or less) a slice of a 4 KiB chunk shared
/// with other small messages received on the same thread. That memory is freed when the last
/// message using it is dropped, so to keep a payload for a long time (a history, a cache),
/// keep a copy (`String`, `Vec<u8>`, `Bytes::copy_from_slice`) rather than the payload itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (always valid UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::Text(text.into())
    }

    /// A binary message.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self::Binary(bytes.into())
    }

    /// The payload bytes, whatever the kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }
}

/// What the decoder produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete (reassembled, decompressed, validated) data message.
    Message(Message),
    /// A ping with its payload.
    Ping(Bytes),
    /// A pong with its payload.
    Pong(Bytes),
    /// A close frame; `None` when it carried no status code.
    Close(Option<CloseFrame>),
}

/// Receive limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame payload accepted (bytes on the wire). Bigger frames fail with 1009.
    pub max_frame_size: usize,
    /// The largest message accepted, counted after decompression. Bigger ones fail with 1009.
    pub max_message_size: usize,
}

impl Default for Limits {
    /// 64 KiB frames (Ballerina's default) and 16 MiB messages.
    fn default() -> Self {
        Self {
            max_frame_size: 64 << 10,
            max_message_size: 16 << 20,
        }
    }
}

/// Payloads up to this size are copied out of the read buffer rather than split off it.
const COPY_OUT_LIMIT: usize = 2048;

/// Payloads up to this size are copied into a chunk shared with other small payloads received
/// on the same thread, instead of an allocation of their own.
const SHARED_CHUNK_LIMIT: usize = 512;

/// The size of those shared chunks. A chunk is freed when the last payload in it is dropped, so
/// a small payload kept for a long time keeps (at most) its chunk alive.
const SHARED_CHUNK: usize = 4096;

thread_local! {
    static SMALL_PAYLOADS: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// A private copy of a small payload: a slice of this thread's current shared chunk (no
/// allocation per message; dropping it is a reference-count decrement), or its own
/// allocation above [`SHARED_CHUNK_LIMIT`].
fn copy_small(src: &[u8]) -> BytesMut {
    if src.len() > SHARED_CHUNK_LIMIT {
        return BytesMut::from(src);
    }
    SMALL_PAYLOADS.with(|cell| {
        let Ok(mut chunk) = cell.try_borrow_mut() else {
            return BytesMut::from(src);
        };
        if chunk.capacity() < src.len() {
            *chunk = BytesMut::with_capacity(SHARED_CHUNK);
        }
        chunk.extend_from_slice(src);
        chunk.split()
    })
}

/// As [`copy_small`], unmasking the copy with `mask` on the way (in the same pass); also tells
/// whether the payload is all ASCII.
fn copy_small_unmasking(src: &[u8], mask: [u8; 4]) -> (BytesMut, bool) {
    let copy_into = |dst: &mut BytesMut| {
        dst.reserve(src.len());
        let ascii = copy_unmasked(dst.spare_capacity_mut(), src, mask);
        // SAFETY: `copy_unmasked` initialised the first `src.len()` bytes of the spare capacity.
        unsafe { dst.set_len(dst.len() + src.len()) };
        ascii
    };
    if src.len() > SHARED_CHUNK_LIMIT {
        let mut own = BytesMut::new();
        let ascii = copy_into(&mut own);
        return (own, ascii);
    }
    SMALL_PAYLOADS.with(|cell| {
        let Ok(mut chunk) = cell.try_borrow_mut() else {
            let mut own = BytesMut::new();
            let ascii = copy_into(&mut own);
            return (own, ascii);
        };
        if chunk.capacity() < src.len() {
            *chunk = BytesMut::with_capacity(SHARED_CHUNK);
        }
        let ascii = copy_into(&mut chunk);
        (chunk.split(), ascii)
    })
}

struct Partial {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
    utf8: Utf8Validator,
}

/// Turns received bytes into [`Event`]s.
pub struct Decoder {
    role: Role,
    limits: Limits,
    inflate: Option<Decompressor>,
    header: Option<(FrameHeader, usize)>,
    partial: Option<Partial>,
    /// UTF-8 check of the part of an uncompressed text frame that has arrived so far, so that
    /// invalid text fails before the rest of a long frame arrives: the validator and how many
    /// payload bytes it has seen.
    lookahead: Option<(Utf8Validator, usize)>,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("role", &self.role)
            .field("limits", &self.limits)
            .field("deflate", &self.inflate.is_some())
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for frames received by `role`; `inflate` when permessage-deflate was negotiated.
    pub fn new(role: Role, limits: Limits, inflate: Option<Decompressor>) -> Self {
        Self {
            role,
            limits,
            inflate,
            header: None,
            partial: None,
            lookahead: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// How many more bytes the frame being parsed needs, when known (to size the next read).
    pub fn bytes_needed(&self, buffered: usize) -> Option<usize> {
        self.header
            .map(|(h, len)| (len + h.payload_len as usize).saturating_sub(buffered))
    }

    /// Whether a fragmented message is being reassembled.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Frees the inflate state when it is safe (no context takeover or between messages).
    pub fn release_idle_state(&mut self) {
        if self.partial.is_none() {
            if let Some(inflate) = &mut self.inflate {
                inflate.release_if_stateless();
            }
        }
    }

    /// Consumes bytes from the front of `buf` and returns the next event, or `Ok(None)` when
    /// more bytes are needed. After an error the connection must be failed with its code.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        if let Some(event) = self.decode_small(buf) {
            return event.map(Some);
        }
        loop {
            let (header, header_len) = match self.header {
                Some(h) => h,
                None => match FrameHeader::parse(buf)? {
                    Some(h) => {
                        self.check_header(&h.0)?;
                        self.header = Some(h);
                        h
                    }
                    None => return Ok(None),
                },
            };
            let payload_len = header.payload_len as usize;
            if buf.len() < header_len + payload_len {
                self.check_partial_text(&header, &buf[header_len..])?;
                return Ok(None);
            }
            self.header = None;
            self.lookahead = None;
            let mut payload = if payload_len <= COPY_OUT_LIMIT {
                // Small payloads are copied out so the read buffer stays unshared and is reused
                // for the next read instead of being reallocated.
                let small = copy_small(&buf[header_len..header_len + payload_len]);
                buf.advance(header_len + payload_len);
                small
            } else {
                buf.advance(header_len);
                buf.split_to(payload_len)
            };
            if let Some(mask) = header.mask {
                apply_mask(&mut payload, mask);
            }
            if let Some(event) = self.on_frame(header, payload)? {
                return Ok(Some(event));
            }
        }
    }

    /// The common case in one pass: a whole text or binary message in one frame of at most
    /// 125 bytes, uncompressed, masked as the role requires, within the limits, arriving
    /// between messages. `None` for anything else (and when the frame has not fully arrived):
    /// the general path decodes it, and reports what is wrong with it.
    #[inline]
    fn decode_small(&mut self, buf: &mut BytesMut) -> Option<Result<Event, ProtocolError>> {
        if self.header.is_some() || self.partial.is_some() {
            return None;
        }
        let [b0, b1, ..] = buf[..] else {
            return None;
        };
        // FIN set, no reserved bit, opcode 1 or 2; a 7-bit length.
        let opcode = b0 ^ 0x80;
        let len = usize::from(b1 & 0x7F);
        if !(opcode == 1 || opcode == 2)
            || len > 125
            || len > self.limits.max_frame_size
            || len > self.limits.max_message_size
        {
            return None;
        }
        let masked = b1 & 0x80 != 0;
        let (mask, header_len) = match (self.role, masked) {
            (Role::Server, true) => {
                let [_, _, m0, m1, m2, m3, ..] = buf[..] else {
                    return None;
                };
                (Some([m0, m1, m2, m3]), 6)
            }
            (Role::Client, false) => (None, 2),
            _ => return None,
        };
        let payload = buf.get(header_len..header_len + len)?;
        let (payload, ascii) = match mask {
            Some(mask) => copy_small_unmasking(payload, mask),
            None => (copy_small(payload), false),
        };
        let payload = payload.freeze();
        buf.advance(header_len + len);
        Some(Ok(Event::Message(if opcode != 1 {
            Message::Binary(payload)
        } else if ascii {
            // SAFETY: ASCII is valid UTF-8.
            Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(payload) })
        } else {
            match Utf8Bytes::try_from_bytes(payload) {
                Ok(text) => Message::Text(text),
                Err(_) => return Some(Err(invalid_utf8())),
            }
        })))
    }

    /// Validates the arrived part of an uncompressed text frame (fail fast on invalid UTF-8).
    fn check_partial_text(&mut self, h: &FrameHeader, arrived: &[u8]) -> Result<(), ProtocolError> {
        let is_text = match h.opcode {
            OpCode::Text => !h.rsv1,
            OpCode::Continuation => self
                .partial
                .as_ref()
                .is_some_and(|p| p.text && !p.compressed),
            _ => false,
        };
        if !is_text {
            return Ok(());
        }
        let (validator, seen) = self.lookahead.get_or_insert_with(|| {
            let carried = self
                .partial
                .as_ref()
                .map(|p| p.utf8.clone())
                .unwrap_or_default();
            (carried, 0)
        });
        if arrived.len() <= *seen {
            return Ok(());
        }
        let mut chunk = arrived[*seen..].to_vec();
        if let Some(mask) = h.mask {
            super::mask::apply_mask_at(&mut chunk, mask, *seen);
        }
        *seen = arrived.len();
        validator.feed(&chunk).map_err(|_| invalid_utf8())
    }

    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => {
                return Err(ProtocolError::protocol("unmasked frame from a client"))
            }
            (Role::Client, true) => {
                return Err(ProtocolError::protocol("masked frame from a server"))
            }
            _ => {}
        }
        if h.rsv2 || h.rsv3 {
            return Err(ProtocolError::protocol(
                "reserved bit set without a negotiated extension",
            ));
        }
        if h.rsv1 {
            let first_data = matches!(h.opcode, OpCode::Text | OpCode::Binary);
            if self.inflate.is_none() || !first_data {
                return Err(ProtocolError::protocol(
                    "RSV1 set where compression does not allow it",
                ));
            }
        }
        match (h.opcode, &self.partial) {
            (OpCode::Continuation, None) => {
                return Err(ProtocolError::protocol(
                    "continuation frame without a message to continue",
                ))
            }
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::protocol(
                    "new message started before the previous one ended",
                ))
            }
            _ => {}
        }
        if h.payload_len > self.limits.max_frame_size as u64 {
            return Err(ProtocolError::too_big(
                "frame larger than the maximum frame size",
            ));
        }
        let compressed = h.rsv1 || self.partial.as_ref().is_some_and(|p| p.compressed);
        if !h.opcode.is_control() && !compressed {
            let so_far = self.partial.as_ref().map_or(0, |p| p.data.len()) as u64;
            if so_far + h.payload_len > self.limits.max_message_size as u64 {
                return Err(ProtocolError::too_big(
                    "message larger than the maximum message size",
                ));
            }
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        h: FrameHeader,
        payload: BytesMut,
    ) -> Result<Option<Event>, ProtocolError> {
        match h.opcode {
            OpCode::Ping => return Ok(Some(Event::Ping(payload.freeze()))),
            OpCode::Pong => return Ok(Some(Event::Pong(payload.freeze()))),
            OpCode::Close => return Ok(Some(Event::Close(CloseFrame::parse(&payload)?))),
            OpCode::Text | OpCode::Binary if h.fin && !h.rsv1 => {
                // The common case: a whole message in one frame, handed over without a copy.
                let payload = payload.freeze();
                return Ok(Some(Event::Message(if h.opcode == OpCode::Text {
                    Message::Text(Utf8Bytes::try_from_bytes(payload).map_err(|_| invalid_utf8())?)
                } else {
                    Message::Binary(payload)
                })));
            }
            OpCode::Text | OpCode::Binary => {
                self.partial = Some(Partial {
                    text: h.opcode == OpCode::Text,
                    compressed: h.rsv1,
                    data: Vec::new(),
                    utf8: Utf8Validator::new(),
                });
            }
            OpCode::Continuation => {}
        }
        let Some(partial) = self.partial.as_mut() else {
            return Err(ProtocolError::protocol(
                "continuation frame without a message to continue",
            ));
        };
        let start = partial.data.len();
        if partial.compressed {
            let inflate = self
                .inflate
                .as_mut()
                .ok_or(ProtocolError::protocol("compressed frame without deflate"))?;
            inflate.decompress(
                &payload,
                h.fin,
                &mut partial.data,
                self.limits.max_message_size,
            )?;
        } else if partial.data.is_empty() && h.fin {
            partial.data = Vec::from(payload);
        } else {
            partial.data.extend_from_slice(&payload);
        }
        if partial.text {
            partial
                .utf8
                .feed(&partial.data[start..])
                .map_err(|_| invalid_utf8())?;
        }
        if !h.fin {
            return Ok(None);
        }
        let Partial {
            text,
            data,
            mut utf8,
            ..
        } = self.partial.take().expect("checked above");
        if text {
            utf8.finish().map_err(|_| invalid_utf8())?;
            // SAFETY: validated incrementally above, and finish() saw no truncated character.
            let text = unsafe { String::from_utf8_unchecked(data) };
            Ok(Some(Event::Message(Message::Text(Utf8Bytes::from(text)))))
        } else {
            Ok(Some(Event::Message(Message::Binary(Bytes::from(data)))))
        }
    }
}

fn invalid_utf8() -> ProtocolError {
    ProtocolError::invalid_payload("text message is not valid UTF-8")
}

/// Encoded frames waiting to be written, kept as a list of chunks for vectored writes.
///
/// Small frames are packed into one contiguous buffer; large payloads are kept as their own
/// chunk, so a server never copies a big message to send it.
#[derive(Default)]
pub struct WriteBuf {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl fmt::Debug for WriteBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBuf")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Payloads at least this big are queued by reference instead of being copied.
const COPY_LIMIT: usize = 4096;

/// The most an empty write buffer keeps allocated between bursts.
const IDLE_TAIL_CAPACITY: usize = 2048;

impl WriteBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends an unmasked frame with first byte `b0` and a payload under 64 KiB, copied.
    fn push_small_frame(&mut self, b0: u8, payload: &[u8]) {
        let len = payload.len();
        debug_assert!(len <= usize::from(u16::MAX));
        let mut head = [b0, 0, 0, 0];
        let head = if len < 126 {
            head[1] = len as u8;
            &head[..2]
        } else {
            head[1] = 126;
            head[2..].copy_from_slice(&(len as u16).to_be_bytes());
            &head[..]
        };
        let total = head.len() + len;
        self.tail.reserve(total);
        let spare = self.tail.spare_capacity_mut();
        // SAFETY: `reserve` made room for `total` bytes; both copies stay inside it, from
        // slices that cannot overlap the spare capacity.
        unsafe {
            let at = spare.as_mut_ptr().cast::<u8>();
            std::ptr::copy_nonoverlapping(head.as_ptr(), at, head.len());
            std::ptr::copy_nonoverlapping(payload.as_ptr(), at.add(head.len()), len);
            self.tail.set_len(self.tail.len() + total);
        }
        self.len += total;
    }

    /// Frees the buffer's memory when nothing is queued and a burst left it larger than a few
    /// small frames need.
    pub fn shrink_idle(&mut self) {
        if self.len == 0 && self.tail.capacity() > IDLE_TAIL_CAPACITY {
            self.tail = BytesMut::new();
        }
    }

    /// Queues already-encoded frames (shared by many connections, not copied when large).
    pub fn push_encoded(&mut self, frames: Bytes) {
        self.push_bytes(frames);
    }

    fn push_bytes(&mut self, bytes: Bytes) {
        if bytes.len() < COPY_LIMIT {
            self.push_slice(&bytes);
            return;
        }
        self.seal();
        self.len += bytes.len();
        self.chunks.push_back(bytes);
    }

    /// As `push_bytes`, cloning (a reference count; for a `Vec`-backed `Bytes` an allocation)
    /// only when the payload is queued rather than copied.
    fn push_bytes_ref(&mut self, bytes: &Bytes) {
        if bytes.len() < COPY_LIMIT {
            self.push_slice(bytes);
        } else {
            self.push_bytes(bytes.clone());
        }
    }

    fn seal(&mut self) {
        if !self.tail.is_empty() {
            self.chunks.push_back(self.tail.split().freeze());
        }
    }

    /// Everything queued, when it is one contiguous slice (the usual case: small frames only).
    pub fn as_single_slice(&self) -> Option<&[u8]> {
        self.chunks.is_empty().then_some(&self.tail[..])
    }

    /// Fills `dst` with the chunks to write next; returns how many were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for chunk in self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.tail[..]))
        {
            if n == dst.len() {
                break;
            }
            if !chunk.is_empty() {
                dst[n] = std::io::IoSlice::new(chunk);
                n += 1;
            }
        }
        n
    }

    /// Drops `n` written bytes from the front.
    pub fn advance(&mut self, mut n: usize) {
        if n == self.len && self.chunks.is_empty() {
            // All written: the tail is reused from its start, with no reclaiming later.
            self.tail.clear();
            self.len = 0;
            if self.tail.capacity() > 64 << 10 {
                self.tail = BytesMut::new();
            }
            return;
        }
        self.len -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(chunk) if chunk.len() <= n => {
                    n -= chunk.len();
                    self.chunks.pop_front();
                }
                Some(chunk) => {
                    chunk.advance(n);
                    return;
                }
                None => {
                    self.tail.advance(n);
                    return;
                }
            }
        }
        if self.len == 0 && self.tail.capacity() > 64 << 10 {
            // Give back the memory of a burst.
            self.tail = BytesMut::new();
        }
    }
}

/// Produces masking keys: SipHash with per-process random keys over a counter, which is
/// unpredictable to the peer (RFC 6455 section 10.3) and needs no system call per frame.
#[derive(Clone, Debug)]
struct MaskGen {
    keys: std::collections::hash_map::RandomState,
    counter: u64,
}

impl MaskGen {
    fn new() -> Self {
        Self {
            keys: std::collections::hash_map::RandomState::new(),
            counter: 0,
        }
    }

    fn next(&mut self) -> [u8; 4] {
        self.counter = self.counter.wrapping_add(1);
        let mut h = self.keys.build_hasher();
        h.write_u64(self.counter);
        (h.finish() as u32).to_ne_bytes()
    }
}

/// Turns messages into frames for `role`: masking (clients), compression (when negotiated and
/// the message is at least the threshold) and fragmentation at the maximum frame size.
pub struct Encoder {
    role: Role,
    max_frame_size: usize,
    deflate: Option<(Compressor, usize)>,
    masks: MaskGen,
    scratch: Vec<u8>,
    /// A message was compressed since [`Encoder::take_compressed_recently`] last looked.
    compressed_recently: bool,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("role", &self.role)
            .field("max_frame_size", &self.max_frame_size)
            .field("deflate", &self.deflate.is_some())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder; `max_frame_size` is the outbound fragment size (0 means never fragment);
    /// `deflate` is the compressor and the size under which messages go uncompressed.
    pub fn new(role: Role, max_frame_size: usize, deflate: Option<(Compressor, usize)>) -> Self {
        Self {
            role,
            max_frame_size,
            deflate,
            masks: MaskGen::new(),
            scratch: Vec::new(),
            compressed_recently: false,
        }
    }

    /// Whether a message of `len` bytes would leave as one plain frame (no compression, no
    /// fragmentation, no mask), so that frames encoded once can be shared with this encoder's
    /// connection.
    pub fn sends_plain(&self, len: usize) -> bool {
        self.role == Role::Server
            && (self.max_frame_size == 0 || len <= self.max_frame_size)
            && self
                .deflate
                .as_ref()
                .is_none_or(|(_, threshold)| len < *threshold)
    }

    /// Encodes `message` once as a single plain server frame, for fan-out to many connections.
    pub fn encode_shared(message: &Message) -> Bytes {
        let mut encoder = Encoder::new(Role::Server, 0, None);
        let mut out = WriteBuf::new();
        // Plain server frames cannot fail to encode.
        let _ = encoder.encode_message(message, &mut out);
        let mut all = BytesMut::with_capacity(out.len());
        for chunk in out
            .chunks
            .iter()
            .chain(std::iter::once(&out.tail.clone().freeze()))
        {
            all.extend_from_slice(chunk);
        }
        all.freeze()
    }

    /// Whether a message was compressed since the last call.
    pub fn take_compressed_recently(&mut self) -> bool {
        std::mem::take(&mut self.compressed_recently)
    }

    /// Whether compression holds memory (its zlib state or its output buffer).
    pub fn holds_compression_state(&self) -> bool {
        self.scratch.capacity() > 0 || self.deflate.as_ref().is_some_and(|(c, _)| c.is_allocated())
    }

    /// Frees the compression state whatever the parameters (see [`Compressor::release`]):
    /// for a connection that stopped sending, the next message starts from an empty window.
    pub fn release_compression_state(&mut self) {
        if let Some((compressor, _)) = &mut self.deflate {
            compressor.release();
        }
        self.scratch = Vec::new();
    }

    /// Frees the compression state when that is allowed.
    pub fn release_idle_state(&mut self) {
        if let Some((compressor, _)) = &mut self.deflate {
            compressor.release_if_stateless();
        }
        if self.scratch.capacity() > 64 << 10 {
            self.scratch = Vec::new();
        }
    }

    /// Appends the frames of `message` to `out`.
    pub fn encode_message(
        &mut self,
        message: &Message,
        out: &mut WriteBuf,
    ) -> Result<(), ProtocolError> {
        let (opcode, payload) = match message {
            Message::Text(t) => (OpCode::Text, t.as_bytes()),
            Message::Binary(b) => (OpCode::Binary, b),
        };
        if self.role == Role::Server
            && payload.len() < COPY_LIMIT
            && payload.len() <= self.frame_size()
            && self
                .deflate
                .as_ref()
                .is_none_or(|(_, threshold)| payload.len() < *threshold)
        {
            // The common case: one small plain frame, header and payload written in one go.
            out.push_small_frame(0x80 | opcode as u8, payload);
            return Ok(());
        }
        if let Some((compressor, threshold)) = &mut self.deflate {
            if payload.len() >= *threshold {
                self.compressed_recently = true;
                let mut compressed = std::mem::take(&mut self.scratch);
                compressed.clear();
                compressor
                    .compress(payload, &mut compressed)
                    .map_err(|_| ProtocolError {
                        code: super::CloseCode::INTERNAL_ERROR,
                        reason: "compression failed",
                    })?;
                if compressed.len() < COPY_LIMIT && compressed.len() <= self.frame_size() {
                    // One small frame: straight from the scratch buffer into the write buffer.
                    self.encode_slice_frame(true, opcode, &compressed, out);
                } else {
                    let body = Bytes::copy_from_slice(&compressed);
                    self.encode_data(opcode, true, &body, out);
                }
                self.scratch = compressed;
                return Ok(());
            }
        }
        self.encode_data(opcode, false, payload, out);
        Ok(())
    }

    fn encode_data(
        &mut self,
        opcode: OpCode,
        compressed: bool,
        payload: &Bytes,
        out: &mut WriteBuf,
    ) {
        let frame_size = self.frame_size();
        if payload.len() <= frame_size {
            self.encode_frame(true, compressed, opcode, payload, out);
            return;
        }
        let mut rest = payload.clone();
        let mut first = true;
        while !rest.is_empty() {
            let piece = rest.split_to(frame_size.min(rest.len()));
            let op = if first { opcode } else { OpCode::Continuation };
            self.encode_frame(rest.is_empty(), compressed && first, op, &piece, out);
            first = false;
        }
    }

    fn frame_size(&self) -> usize {
        if self.max_frame_size == 0 {
            usize::MAX
        } else {
            self.max_frame_size
        }
    }

    /// Appends a ping, pong or close frame; the payload must be at most 125 bytes.
    pub fn encode_control(&mut self, opcode: OpCode, payload: &[u8], out: &mut WriteBuf) {
        debug_assert!(opcode.is_control() && payload.len() <= super::frame::MAX_CONTROL_PAYLOAD);
        self.encode_slice_frame(false, opcode, payload, out);
    }

    /// Appends a close frame; `None` sends one without a status code.
    pub fn encode_close(&mut self, frame: Option<&CloseFrame>, out: &mut WriteBuf) {
        let mut payload = Vec::with_capacity(2 + frame.map_or(0, |f| f.reason.len()));
        if let Some(frame) = frame {
            frame.encode(&mut payload);
        }
        self.encode_control(OpCode::Close, &payload, out);
    }

    /// A final frame whose payload is copied into the buffer.
    fn encode_slice_frame(
        &mut self,
        rsv1: bool,
        opcode: OpCode,
        payload: &[u8],
        out: &mut WriteBuf,
    ) {
        let mask = self.push_header(true, rsv1, opcode, payload.len(), out);
        let start = out.tail.len();
        out.push_slice(payload);
        if let Some(mask) = mask {
            apply_mask(&mut out.tail[start..], mask);
        }
    }

    /// Appends one frame. Small payloads are copied into the buffer's tail; large ones are
    /// queued as they are (a reference count, no copy) when no mask applies.
    fn encode_frame(
        &mut self,
        fin: bool,
        rsv1: bool,
        opcode: OpCode,
        payload: &Bytes,
        out: &mut WriteBuf,
    ) {
        match self.push_header(fin, rsv1, opcode, payload.len(), out) {
            None => out.push_bytes_ref(payload),
            Some(mask) => {
                // Masking needs a private copy anyway: write it straight into the buffer.
                let start = out.tail.len();
                out.push_slice(payload);
                apply_mask(&mut out.tail[start..], mask);
            }
        }
    }

    /// Appends a frame header (with a fresh mask as a client); returns the mask to apply.
    fn push_header(
        &mut self,
        fin: bool,
        rsv1: bool,
        opcode: OpCode,
        len: usize,
        out: &mut WriteBuf,
    ) -> Option<[u8; 4]> {
        let mask = match self.role {
            Role::Client => Some(self.masks.next()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            payload_len: len as u64,
        };
        let mut head = [0u8; FrameHeader::MAX_LEN];
        let n = header.encode(&mut head);
        out.push_slice(&head[..n]);
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::deflate::DeflateParams;
    use crate::proto::CloseCode;

    fn collect(buf: &WriteBuf) -> BytesMut {
        let mut slices = [std::io::IoSlice::new(&[]); 64];
        let n = buf.io_slices(&mut slices);
        let mut all = BytesMut::new();
        for s in &slices[..n] {
            all.extend_from_slice(s);
        }
        assert_eq!(all.len(), buf.len());
        all
    }

    fn roundtrip(sender: Role, msg: &Message, frame_size: usize, deflate: bool) -> Vec<Event> {
        let params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let receiver = if sender == Role::Client {
            Role::Server
        } else {
            Role::Client
        };
        let mut enc = Encoder::new(
            sender,
            frame_size,
            deflate.then(|| (params.compressor(sender, 6), 0)),
        );
        let mut dec = Decoder::new(
            receiver,
            Limits::default(),
            deflate.then(|| params.decompressor(receiver)),
        );
        let mut out = WriteBuf::new();
        enc.encode_message(msg, &mut out).unwrap();
        enc.encode_control(OpCode::Ping, b"p", &mut out);
        let mut wire = collect(&out);
        let mut events = Vec::new();
        // Feed one byte at a time to exercise "need more bytes".
        let mut buf = BytesMut::new();
        while !wire.is_empty() {
            buf.extend_from_slice(&wire.split_to(1));
            while let Some(ev) = dec.decode(&mut buf).unwrap() {
                events.push(ev);
            }
        }
        events
    }

    #[test]
    fn messages_round_trip_through_every_option() {
        let text = Message::text("héllo wörld ".repeat(50));
        let bin = Message::binary((0..3000u32).map(|i| i as u8).collect::<Vec<_>>());
        for role in [Role::Client, Role::Server] {
            for frame_size in [0, 1, 7, 1000] {
                for deflate in [false, true] {
                    for msg in [
                        &text,
                        &bin,
                        &Message::text(""),
                        &Message::binary(Vec::new()),
                    ] {
                        let events = roundtrip(role, msg, frame_size, deflate);
                        assert_eq!(
                            events,
                            vec![
                                Event::Message(msg.clone()),
                                Event::Ping(Bytes::from_static(b"p"))
                            ]
                        );
                    }
                }
            }
        }
    }

    fn decode_all(role: Role, limits: Limits, wire: &[u8]) -> Result<Vec<Event>, ProtocolError> {
        let mut dec = Decoder::new(role, limits, None);
        let mut buf = BytesMut::from(wire);
        let mut events = Vec::new();
        while let Some(ev) = dec.decode(&mut buf)? {
            events.push(ev);
        }
        Ok(events)
    }

    #[test]
    fn control_frames_interleave_with_fragments() {
        // "Hel" + ping + "lo", unmasked frames to a client.
        let wire = [
            0x01, 3, b'H', b'e', b'l', 0x89, 1, b'x', 0x80, 2, b'l', b'o',
        ];
        let events = decode_all(Role::Client, Limits::default(), &wire).unwrap();
        assert_eq!(
            events,
            vec![
                Event::Ping(Bytes::from_static(b"x")),
                Event::Message(Message::text("Hello"))
            ]
        );
    }

    #[test]
    fn sequencing_and_masking_violations_close_with_1002() {
        let cases: &[&[u8]] = &[
            &[0x80, 0],                // continuation with nothing to continue
            &[0x01, 1, b'a', 0x01, 0], // new text while a message is open
            &[0xC1, 0],                // RSV1 without deflate
            &[0xA1, 0],                // RSV2
        ];
        for wire in cases {
            let err = decode_all(Role::Client, Limits::default(), wire).unwrap_err();
            assert_eq!(err.code, CloseCode::PROTOCOL_ERROR, "{wire:?}");
        }
        // A server requires masks, a client forbids them.
        assert_eq!(
            decode_all(Role::Server, Limits::default(), &[0x81, 0])
                .unwrap_err()
                .code,
            CloseCode::PROTOCOL_ERROR
        );
        assert_eq!(
            decode_all(Role::Client, Limits::default(), &[0x81, 0x80, 1, 2, 3, 4])
                .unwrap_err()
                .code,
            CloseCode::PROTOCOL_ERROR
        );
    }

    #[test]
    fn invalid_utf8_fails_at_the_first_bad_fragment() {
        // First fragment fine, second has a bad byte, the message never finishes.
        let wire = [0x01, 2, b'o', b'k', 0x00, 1, 0xFF];
        let mut dec = Decoder::new(Role::Client, Limits::default(), None);
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            dec.decode(&mut buf).unwrap_err().code,
            CloseCode::INVALID_PAYLOAD
        );
        // A single-frame message with invalid UTF-8.
        assert_eq!(
            decode_all(Role::Client, Limits::default(), &[0x81, 1, 0xC0])
                .unwrap_err()
                .code,
            CloseCode::INVALID_PAYLOAD
        );
    }

    #[test]
    fn size_limits_are_checked_before_the_payload_arrives() {
        let limits = Limits {
            max_frame_size: 10,
            max_message_size: 15,
        };
        // A 2^62-byte frame: refused from the header alone.
        let huge = [0x82, 0x7F, 0x40, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_all(Role::Client, limits, &huge).unwrap_err().code,
            CloseCode::MESSAGE_TOO_BIG
        );
        // 11-byte frame.
        assert_eq!(
            decode_all(Role::Client, limits, &[0x82, 11])
                .unwrap_err()
                .code,
            CloseCode::MESSAGE_TOO_BIG
        );
        // Two 8-byte fragments: 16 > 15.
        let mut wire = vec![0x02, 8];
        wire.extend_from_slice(&[0; 8]);
        wire.extend_from_slice(&[0x80, 8]);
        assert_eq!(
            decode_all(Role::Client, limits, &wire).unwrap_err().code,
            CloseCode::MESSAGE_TOO_BIG
        );
    }

    /// A masked single-frame message from a client, as the server's fast path sees it.
    fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut wire = vec![b0, 0x80 | payload.len() as u8];
        wire.extend_from_slice(&mask);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        wire
    }

    #[test]
    fn small_client_frames_decode_and_fail_like_any_other() {
        let ok = |wire: &[u8]| decode_all(Role::Server, Limits::default(), wire).unwrap();
        let code =
            |limits: Limits, wire: &[u8]| decode_all(Role::Server, limits, wire).unwrap_err().code;
        assert_eq!(
            ok(&masked(0x81, b"plain ascii")),
            vec![Event::Message(Message::text("plain ascii"))]
        );
        assert_eq!(
            ok(&masked(0x81, "ünïcödé".as_bytes())),
            vec![Event::Message(Message::text("ünïcödé"))]
        );
        assert_eq!(
            ok(&masked(0x82, &[0xff, 0, 0x80])),
            vec![Event::Message(Message::binary(vec![0xff, 0, 0x80]))]
        );
        // Invalid UTF-8 (also where the ASCII check sees a high bit): 1007.
        for bad in [&b"abc\xff"[..], &b"\xc3"[..], &b"12345678\xc0\x80"[..]] {
            assert_eq!(
                code(Limits::default(), &masked(0x81, bad)),
                CloseCode::INVALID_PAYLOAD,
                "{bad:?}"
            );
        }
        // Over a small frame or message limit: 1009.
        for (frame, message) in [(4, 100), (100, 4)] {
            let limits = Limits {
                max_frame_size: frame,
                max_message_size: message,
            };
            assert_eq!(
                code(limits, &masked(0x81, b"hello")),
                CloseCode::MESSAGE_TOO_BIG
            );
        }
        // Unmasked from a client, or RSV1 without compression: 1002.
        assert_eq!(
            code(Limits::default(), &[0x81, 2, b'h', b'i']),
            CloseCode::PROTOCOL_ERROR
        );
        assert_eq!(
            code(Limits::default(), &masked(0xC1, b"hi")),
            CloseCode::PROTOCOL_ERROR
        );
        // A frame cut short is not decoded until the rest arrives.
        let wire = masked(0x81, b"later");
        let mut dec = Decoder::new(Role::Server, Limits::default(), None);
        let mut buf = BytesMut::from(&wire[..wire.len() - 1]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&wire[wire.len() - 1..]);
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Event::Message(Message::text("later"))))
        );
    }

    #[test]
    fn close_frames_are_parsed() {
        let events = decode_all(
            Role::Client,
            Limits::default(),
            &[0x88, 4, 0x03, 0xE8, b'o', b'k'],
        )
        .unwrap();
        assert_eq!(
            events,
            vec![Event::Close(Some(CloseFrame::new(1000, "ok")))]
        );
        let events = decode_all(Role::Client, Limits::default(), &[0x88, 0]).unwrap();
        assert_eq!(events, vec![Event::Close(None)]);
    }

    #[test]
    fn client_frames_are_masked_with_fresh_keys() {
        let mut enc = Encoder::new(Role::Client, 0, None);
        let mut out = WriteBuf::new();
        enc.encode_message(&Message::text("aaaa"), &mut out)
            .unwrap();
        enc.encode_message(&Message::text("aaaa"), &mut out)
            .unwrap();
        let wire = collect(&out);
        assert_eq!(wire[1], 0x84);
        assert_ne!(&wire[2..6], &wire[12..16], "mask keys repeat");
        assert_ne!(&wire[6..10], b"aaaa");
    }
}

#[cfg(test)]
mod fail_fast_tests {
    use super::*;
    use crate::proto::CloseCode;

    #[test]
    fn invalid_text_fails_before_the_whole_frame_arrives() {
        // A 200-byte text frame announced; the first 10 bytes arrive and hold invalid UTF-8.
        let mut dec = Decoder::new(Role::Client, Limits::default(), None);
        let mut buf = BytesMut::from(&[0x81, 126, 0, 200][..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"abc\xffdefghi");
        assert_eq!(
            dec.decode(&mut buf).unwrap_err().code,
            CloseCode::INVALID_PAYLOAD
        );
    }

    #[test]
    fn valid_text_arriving_in_pieces_is_accepted() {
        let text = "ünïcödé ".repeat(30);
        let mut wire = vec![0x81, 126];
        wire.extend_from_slice(&(text.len() as u16).to_be_bytes());
        wire.extend_from_slice(text.as_bytes());
        let mut dec = Decoder::new(Role::Client, Limits::default(), None);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for piece in wire.chunks(7) {
            buf.extend_from_slice(piece);
            while let Some(ev) = dec.decode(&mut buf).unwrap() {
                events.push(ev);
            }
        }
        assert_eq!(events, vec![Event::Message(Message::text(text.as_str()))]);
    }
}
