//! Payload masking (RFC 6455 section 5.3), 32 bytes at a time.

/// XORs `buf` with the 4-byte `mask`, as if `buf` started at offset 0 of the masked payload.
#[inline]
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    xor_in_phase(buf, mask);
}

/// XORs `buf` with `mask`, where `buf` starts at byte `offset` of the masked payload.
///
/// Lets a payload be unmasked in pieces as it arrives. Blocks of 32 bytes are XORed as fixed
/// arrays, which the compiler turns into SIMD instructions (two SSE2 operations on plain
/// x86-64); then 8-byte words, then single bytes. Every block is a multiple of 4 bytes long,
/// so the mask stays in phase from one to the next. No alignment is needed: the loads are
/// unaligned ones.
pub fn apply_mask_at(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut mask = mask;
    mask.rotate_left(offset % 4);
    xor_in_phase(buf, mask);
}

/// XORs `buf` with `mask`, `buf` starting at a multiple of 4 bytes into the payload.
#[inline]
fn xor_in_phase(buf: &mut [u8], mask: [u8; 4]) {
    let mut wide = [0u8; 32];
    for (i, byte) in wide.iter_mut().enumerate() {
        *byte = mask[i % 4];
    }
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for (byte, m) in block.iter_mut().zip(wide.iter()) {
            *byte ^= m;
        }
    }
    let rest = blocks.into_remainder();
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut words = rest.chunks_exact_mut(8);
    for chunk in &mut words {
        let value = u64::from_ne_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Copies `src` into the start of `dst`, XORed with `mask` (a payload from its first byte), and
/// tells whether every byte of the result is ASCII (then it is valid UTF-8 without further
/// checks). One pass, 8 bytes at a time: the receive path of small frames.
///
/// # Panics
/// If `dst` is shorter than `src`.
pub fn copy_unmasked(dst: &mut [std::mem::MaybeUninit<u8>], src: &[u8], mask: [u8; 4]) -> bool {
    let dst = &mut dst[..src.len()];
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut high = 0u64;
    let mut words = src.chunks_exact(8);
    let mut out = dst.chunks_exact_mut(8);
    for (from, to) in (&mut words).zip(&mut out) {
        let value = u64::from_ne_bytes(from.try_into().expect("8 bytes")) ^ word;
        high |= value;
        // SAFETY: `to` is 8 bytes long; an unaligned store of 8 bytes stays inside it.
        unsafe { std::ptr::write_unaligned(to.as_mut_ptr().cast::<u64>(), value) };
    }
    let mut tail = 0u8;
    for (i, (slot, byte)) in out
        .into_remainder()
        .iter_mut()
        .zip(words.remainder())
        .enumerate()
    {
        let value = byte ^ mask[i % 4];
        tail |= value;
        slot.write(value);
    }
    high & 0x8080_8080_8080_8080 == 0 && tail & 0x80 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], mask: [u8; 4], offset: usize) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= mask[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_the_bytewise_definition_at_every_alignment_and_offset() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..9 {
            for len in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 250] {
                for offset in 0..5 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    let end = (start + len).min(data.len());
                    apply_mask_at(&mut fast[start..end], mask, offset);
                    naive(&mut slow[start..end], mask, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn copy_unmasked_matches_the_definition_and_spots_non_ascii() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in [0, 1, 5, 7, 8, 9, 16, 31, 64, 125] {
            let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut masked = plain.clone();
            naive(&mut masked, mask, 0);
            let mut dst = vec![std::mem::MaybeUninit::new(0u8); len + 3];
            assert!(copy_unmasked(&mut dst, &masked, mask), "len {len}");
            let out: Vec<u8> = dst[..len]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            assert_eq!(out, plain, "len {len}");
            for at in [0, len / 2, len.saturating_sub(1)] {
                if len == 0 {
                    continue;
                }
                let mut high = plain.clone();
                high[at] = 0xC3;
                naive(&mut high, mask, 0);
                assert!(!copy_unmasked(&mut dst, &high, mask), "len {len} at {at}");
            }
        }
    }

    #[test]
    fn rfc6455_example_hello() {
        // Section 5.7: a masked "Hello" with mask 37 fa 21 3d.
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let mask = [1, 2, 3, 4];
        let mut whole: Vec<u8> = (0..100).collect();
        let mut pieces = whole.clone();
        apply_mask(&mut whole, mask);
        let (a, b) = pieces.split_at_mut(13);
        apply_mask_at(a, mask, 0);
        apply_mask_at(b, mask, 13);
        assert_eq!(whole, pieces);
    }
}
