//! Bit masks over 64-byte blocks, eight bytes at a time (SWAR), for finding the end of a
//! quoted object ([`crate::audit::scanner`]), where an escape comes every few bytes and a `memchr2`
//! call per escape spends more time starting than searching. The byte-at-a-time twin,
//! [`crate::audit::reference`], is checked against it by property tests.
//!
//! (Tried for unescaping too: 12% slower than `memchr` there, since the cost of unescaping
//! is the copy of each run, not the search; `split/ours/1KB` 40.4 -> 45.4 µs. Unescaping
//! copies eight bytes at a time instead, see [`crate::audit::unescape::unescape_to`].)

pub(crate) const BLOCK: usize = 64;

/// `body[at..at + 64]`, zero-filled past the end (zero is neither a quote nor a backslash).
#[inline]
pub(crate) fn block_at(body: &[u8], at: usize) -> [u8; BLOCK] {
    // A whole block is a copy of constant size, which compiles to a few vector moves; the
    // zero-filled copy below has a variable size and calls `memcpy` (one call per block per
    // line was 1% of a plain log's run).
    if let Some(whole) = at
        .checked_add(BLOCK)
        .and_then(|end| body.get(at..end))
        .and_then(|b| <[u8; BLOCK]>::try_from(b).ok())
    {
        return whole;
    }
    let mut block = [0u8; BLOCK];
    let rest = body.get(at..).unwrap_or_default();
    let n = rest.len().min(BLOCK);
    if let (Some(dst), Some(src)) = (block.get_mut(..n), rest.get(..n)) {
        dst.copy_from_slice(src);
    }
    block
}

/// Bit `i` is set when `block[i] == byte`: eight bytes at a time (SWAR), the equal bytes'
/// top bits gathered into one byte by a multiplication.
#[inline]
pub(crate) fn byte_mask(block: &[u8; BLOCK], byte: u8) -> u64 {
    let mut mask = 0u64;
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let packed = ((equal_bytes(word, byte) >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        mask |= packed << (i * 8);
    }
    mask
}

/// 0x80 in each byte of `word` that equals `byte`, exactly (no borrow between bytes, so no
/// false positives); little-endian, so the lowest set byte is the first match.
#[inline]
pub(crate) fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let w = word ^ u64::from_ne_bytes([byte; 8]);
    !(((w & LOW7) + LOW7) | w | LOW7)
}

/// The bytes escaped by a backslash: in a run of backslashes they pair up from the left, and
/// an odd run escapes the byte after it. `carry` holds whether the block starts escaped and
/// is updated for the next block. (simdjson, `find_escaped_branchless`.)
#[inline]
pub(crate) fn escaped_mask(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows_escape = (backslash << 1) | *carry;
    let odd_starts = backslash & !EVEN & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *carry = u64::from(overflow);
    (EVEN ^ (even_starts << 1)) & follows_escape
}
