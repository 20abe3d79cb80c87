//! Bit masks over 64-byte blocks, for finding the end of a quoted object
//! ([`crate::audit::scanner`]), where an escape comes every few bytes and a `memchr2` call
//! per escape spends more time starting than searching: sixteen bytes at a time with SSE2
//! (the x86_64 baseline), else eight at a time (SWAR), and the short searches of one line
//! ([`find2`], [`is_ascii`]). The byte-at-a-time twin, [`crate::audit::reference`], is checked
//! against the scanner by property tests, and each vector function against its scalar twin
//! here.
//!
//! The unescaper ([`crate::audit::unescape::unescape_to`]) reads its backslashes from these
//! masks too (session 22; in session 1, beside a `memchr`-per-escape copy loop, they measured
//! 12% slower, and an eight-bytes-at-a-time loop was kept until then).

pub(crate) mod lanes;
#[cfg(neon)]
pub(crate) mod neon;

pub(crate) const BLOCK: usize = 64;

/// `body[at..at + 64]`, zero-filled past the end (zero is neither a quote nor a backslash).
#[cfg(any(test, not(vector16)))]
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
/// top bits gathered into one byte by a multiplication. Where there is no SSE2, and the
/// twin the tests hold [`masks_at`] to.
#[cfg(any(test, not(vector16)))]
#[inline]
pub(crate) fn byte_mask(block: &[u8; BLOCK], byte: u8) -> u64 {
    let mut mask = 0u64;
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        mask |= top_bits(equal_bytes(word, byte)) << (i * 8);
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

/// Bit `i` is set when byte `i` of `word` (little-endian) has its top bit set: the other
/// bits must be clear, as in [`equal_bytes`]'s answer. The multiplication moves bit 8i to
/// bit 56 + i, with no two products on the same bit (so no carries). For the SWAR masks here
/// and in [`crate::sink::csv`], and the short objects of [`crate::audit::unescape`].
#[inline(always)]
pub(crate) fn top_bits(word: u64) -> u64 {
    ((word >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
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

/// `[byte_mask(&block_at(body, at), b) for b in bytes]` without building the block: each
/// sixteen bytes read where they lie with SSE2 or NEON (part of the x86_64 and aarch64
/// baselines), the last ones (past which the block is zero-filled) as the sixteen bytes
/// ending the body, shifted. No byte of `bytes` may be zero (the zero-filled bytes past the
/// body's end would match it).
///
/// (The SWAR masks cost ~120 instructions each, ~2 a line on a plain log: 24% of the
/// scanner's instructions; and the block's partial copy was a `memset` and a `memcpy` call,
/// ~1.2 a line.)
#[inline]
pub(crate) fn masks_at<const N: usize>(body: &[u8], at: usize, bytes: [u8; N]) -> [u64; N] {
    // A caller's contract, not input data (the needles are the scanner's constants).
    debug_assert!(
        !bytes.contains(&0),
        "masks_at: a zero needle matches past the end"
    );
    #[cfg(sse2)]
    {
        sse2::masks_at(body, at, bytes)
    }
    #[cfg(neon)]
    {
        neon_search::masks_at(body, at, bytes)
    }
    #[cfg(not(vector16))]
    {
        let block = block_at(body, at);
        bytes.map(|b| byte_mask(&block, b))
    }
}

/// The first `i >= from` where `s[i] == a` and `s[i + 1] == b` (a statement's opening `,'`),
/// a 64-byte block at a time from [`masks_at`]: the statement opens a few dozen bytes into
/// the line, where `memmem`'s start (~150 instructions a line) cost more than its search.
/// Neither byte may be zero.
pub(crate) fn find_pair(s: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    debug_assert!(
        a != 0 && b != 0,
        "find_pair: a zero byte matches past the end"
    );
    let mut base = from;
    while base < s.len() {
        if let Some(i) = pair_in_block(s, base, masks_at(s, base, [a, b]), b) {
            return Some(i);
        }
        base += BLOCK;
    }
    None
}

/// [`find_pair`] from 0 when `first` holds the masks of `a` and `b` over the first block of a
/// text that `s` starts (`masks_at(text, 0, [a, b])`): the caller's masks serve two
/// searches (see [`crate::audit::scanner`]'s `Ends`). They are cut to `s`.
pub(crate) fn find_pair_after_first(s: &[u8], first: [u64; 2], a: u8, b: u8) -> Option<usize> {
    let keep = if s.len() < BLOCK {
        (1u64 << s.len()) - 1
    } else {
        u64::MAX
    };
    pair_in_block(s, 0, first.map(|m| m & keep), b).or_else(|| find_pair(s, BLOCK, a, b))
}

/// The first `a` followed by `b` in the block of `s` at `base`, from the block's masks of
/// `[a, b]`.
#[inline]
fn pair_in_block(s: &[u8], base: usize, [first, second]: [u64; 2], b: u8) -> Option<usize> {
    // A pair across the block's end: its second byte is the next block's first.
    let next = u64::from(s.get(base + BLOCK) == Some(&b));
    let pairs = first & ((second >> 1) | (next << 63));
    (pairs != 0).then(|| base + pairs.trailing_zeros() as usize)
}

#[cfg(neon)]
use neon_search as vector;
/// The sixteen-byte searches: SSE2 on x86_64, NEON on aarch64 (twins, the same answers).
#[cfg(sse2)]
use sse2 as vector;

/// How many bytes [`find2`] searches sixteen at a time before it hands the rest to `memchr2`
/// (whose AVX2 or NEON loop is faster on long stretches, and whose start costs ~100
/// instructions).
#[cfg(vector16)]
const SHORT: usize = 128;

/// The first byte of `s` that is `a` or `b`: `memchr2` for the short stretches of one line
/// (the server host, the names before a statement, a statement up to its first unescaped
/// quote), where memchr's start costs more than its search. On x86_64 and aarch64 the first
/// `SHORT` bytes are searched sixteen at a time with SSE2 or NEON, the rest by `memchr2`.
#[inline]
pub(crate) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
    #[cfg(vector16)]
    {
        match (s.get(..SHORT), s.get(SHORT..)) {
            (Some(head), Some(rest)) => match vector::find2(head, a, b) {
                Some(i) => Some(i),
                None => memchr::memchr2(a, b, rest).map(|i| SHORT + i),
            },
            _ => vector::find2(s, a, b),
        }
    }
    #[cfg(not(vector16))]
    {
        memchr::memchr2(a, b, s)
    }
}

/// Whether every byte of `s` is ASCII: sixteen bytes at a time with SSE2 or NEON (the names
/// of a line are a few dozen bytes, where a UTF-8 validator's start costs more than its
/// check).
#[inline]
pub(crate) fn is_ascii(s: &[u8]) -> bool {
    #[cfg(vector16)]
    {
        vector::is_ascii(s)
    }
    #[cfg(not(vector16))]
    {
        s.is_ascii()
    }
}

/// Whether `bytes[first..end]` is UTF-8, for a part that follows ASCII: `first` is 0 or
/// `bytes[first - 1]` is ASCII (the bytes before it are ASCII text, or a string's opening
/// quote). One check for the two places that meet such a part: the rest of an envelope
/// string from its first byte above ASCII to its closing quote
/// ([`crate::input::envelope`]'s fast reader), and the rest of an audit object after its
/// ASCII start (the writers' one-pass escape). simdutf8 checks fewer than 64 bytes with
/// the standard library's loop (~380 instructions a string on 500 records of 200 events), so
/// a shorter part is checked inside the 64 bytes that end at `end` (one vector block), and
/// by that loop only when those are not UTF-8 (they may start inside an earlier character).
/// A UTF-8 window holds the part whole (the part is shorter) and `bytes[first - 1]`, which
/// is ASCII, so `first` is a character boundary of it (a continuation byte never follows
/// ASCII), as `end` (its end) is: the part is UTF-8 then. Out of line and cold: few parts
/// get here (most text is ASCII).
#[cold]
#[inline(never)]
pub(crate) fn utf8_after_ascii(bytes: &[u8], first: usize, end: usize) -> bool {
    let part = bytes.get(first..end).unwrap_or_default();
    let window = end
        .checked_sub(BLOCK)
        .and_then(|start| bytes.get(start..end));
    match window {
        Some(window) if part.len() < BLOCK => {
            simdutf8::basic::from_utf8(window).is_ok() || std::str::from_utf8(part).is_ok()
        }
        _ => simdutf8::basic::from_utf8(part).is_ok(),
    }
}

/// Bit `i` is set when `chunk[i]` is a byte a client host may hold
/// ([`crate::audit::dialect::is_host_byte`]), all sixteen classified at once with SSE2 or
/// NEON; for [`crate::audit::dialect::is_host_at`]. `host_bytes_is_is_host_byte` holds it to
/// the table.
#[cfg(vector16)]
pub(crate) use vector::host_bytes;

/// The first byte of `s` equal to `a` or `b`, eight bytes at a time: for stretches of 8 to
/// 16 bytes, as two overlapping words (the bytes of the second already in the first are
/// found in the first); `memchr2` past 16 bytes.
#[cfg(any(test, vector16))]
#[inline]
fn find2_words(s: &[u8], a: u8, b: u8) -> Option<usize> {
    if s.len() > 16 {
        return memchr::memchr2(a, b, s);
    }
    let word = |w: &[u8; 8]| {
        let w = u64::from_le_bytes(*w);
        equal_bytes(w, a) | equal_bytes(w, b)
    };
    match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        (Some(first), Some(last)) => {
            let m = word(first);
            if m != 0 {
                return Some(m.trailing_zeros() as usize / 8);
            }
            let m = word(last);
            (m != 0).then(|| s.len() - 8 + m.trailing_zeros() as usize / 8)
        }
        _ => s.iter().position(|&x| x == a || x == b),
    }
}

/// [`is_ascii`] of fewer than sixteen bytes: two overlapping words, or a byte at a time.
#[cfg(vector16)]
#[inline(always)]
fn short_is_ascii(s: &[u8]) -> bool {
    match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        (Some(lo), Some(hi)) => {
            (u64::from_le_bytes(*lo) | u64::from_le_bytes(*hi)) & 0x8080_8080_8080_8080 == 0
        }
        _ => s.is_ascii(),
    }
}

/// A body shorter than sixteen bytes, zero-filled to sixteen: [`masks_at`]'s last chunk.
#[cfg(vector16)]
#[inline]
fn short_chunk(body: &[u8]) -> [u8; 16] {
    let mut chunk = [0u8; 16];
    for (c, &b) in chunk.iter_mut().zip(body) {
        *c = b;
    }
    chunk
}

/// SSE2: sixteen bytes compared at once, one bit per byte.
///
/// The intrinsics are called from ordinary functions rather than `#[target_feature(enable =
/// "sse2")]` ones: a function with a target feature cannot be `#[inline(always)]` and was
/// not inlined into its callers (one call of ~96 instructions per mask, 12% of the scanner's
/// instructions on an event). The module is compiled only where the target has SSE2 (every
/// x86_64 target unless it is turned off by hand), so each call's feature holds statically.
#[cfg(sse2)]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    use super::{find2_words, short_chunk, short_is_ascii};

    /// The sixteen bytes as one vector.
    #[inline(always)]
    fn load(chunk: &[u8; 16]) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg); `chunk` is sixteen readable bytes,
        // and `_mm_loadu_si128` needs no alignment.
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    /// `byte` in each of the sixteen lanes.
    #[inline(always)]
    fn splat(byte: u8) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg). The cast keeps the bits.
        unsafe { _mm_set1_epi8(byte as i8) }
    }

    /// Bit `i` is set when lane `i` of `v` equals lane `i` of `n`.
    #[inline(always)]
    fn equal_mask(v: __m128i, n: __m128i) -> u32 {
        // SAFETY: the target has SSE2 (the module's cfg). Sixteen bits: the sign of the i32
        // is never set.
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(v, n)) as u32 }
    }

    /// Bit `i` is set when lane `i` of `v` equals `a`'s or `b`'s.
    #[inline(always)]
    fn equal2_mask(v: __m128i, a: __m128i, b: __m128i) -> u32 {
        // SAFETY: the target has SSE2 (the module's cfg). Sixteen bits: the sign of the i32
        // is never set.
        unsafe {
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b))) as u32
        }
    }

    /// Bit `i` is set when lane `i` of `v` has its top bit set.
    #[inline(always)]
    fn high_mask(v: __m128i) -> u32 {
        // SAFETY: the target has SSE2 (the module's cfg). Sixteen bits: the sign of the i32
        // is never set.
        unsafe { _mm_movemask_epi8(v) as u32 }
    }

    /// The lanes of `a` or `b`.
    #[inline(always)]
    fn or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg).
        unsafe { _mm_or_si128(a, b) }
    }

    /// The lanes of both `a` and `b`.
    #[inline(always)]
    fn and(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg).
        unsafe { _mm_and_si128(a, b) }
    }

    /// All ones in lane `i` when lane `i` of `v` equals lane `i` of `n`.
    #[inline(always)]
    fn equal(v: __m128i, n: __m128i) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg).
        unsafe { _mm_cmpeq_epi8(v, n) }
    }

    /// All ones in lane `i` when lane `i` of `a` is greater than lane `i` of `b`, both read
    /// as signed bytes.
    #[inline(always)]
    fn greater(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg).
        unsafe { _mm_cmpgt_epi8(a, b) }
    }

    /// See [`super::host_bytes`]. Two ranges and six bytes: letters once their case is
    /// folded (`| 0x20` maps exactly `A-Z` and `a-z` into `a-z`), digits with `:`
    /// (`0x30..=0x3a`), and `- . _ % [ ]`. The ranges are compared as signed bytes: bytes
    /// from 0x80 up are negative, below both ranges.
    #[inline(always)]
    pub(crate) fn host_bytes(chunk: &[u8; 16]) -> u32 {
        let v = load(chunk);
        let within =
            |x: __m128i, lo: u8, hi: u8| and(greater(x, splat(lo - 1)), greater(splat(hi + 1), x));
        let letters = within(or(v, splat(0x20)), b'a', b'z');
        let digits = within(v, b'0', b':');
        let marks = [b'-', b'.', b'_', b'%', b'[', b']']
            .map(|m| equal(v, splat(m)))
            .into_iter()
            .fold(or(letters, digits), or);
        high_mask(marks)
    }

    #[inline]
    pub(super) fn masks_at<const N: usize>(body: &[u8], at: usize, bytes: [u8; N]) -> [u64; N] {
        let needles = bytes.map(splat);
        let mut out = [0u64; N];
        for i in 0..4 {
            let start = at.saturating_add(16 * i);
            let whole = start
                .checked_add(16)
                .and_then(|end| body.get(start..end))
                .and_then(|c| <&[u8; 16]>::try_from(c).ok());
            // The chunk, and how many of its first bytes lie before `start`.
            let (v, before) = match (whole, body.last_chunk::<16>()) {
                (Some(chunk), _) => (load(chunk), 0),
                _ if start >= body.len() => break,
                (None, Some(last)) => (load(last), start - (body.len() - 16)),
                (None, None) => (load(&short_chunk(body)), start),
            };
            for (o, n) in out.iter_mut().zip(needles) {
                *o |= u64::from(equal_mask(v, n) >> before) << (16 * i);
            }
        }
        out
    }

    #[inline]
    pub(super) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
        let (va, vb) = (splat(a), splat(b));
        let mask = |chunk: &[u8; 16]| equal2_mask(load(chunk), va, vb);
        let (chunks, rest) = s.as_chunks::<16>();
        for (i, chunk) in chunks.iter().enumerate() {
            let m = mask(chunk);
            if m != 0 {
                return Some(i * 16 + m.trailing_zeros() as usize);
            }
        }
        if rest.is_empty() {
            return None;
        }
        let done = s.len() - rest.len();
        match s.last_chunk::<16>() {
            Some(last) => {
                // The last sixteen bytes, overlapping the chunks already searched.
                let m = mask(last) >> (16 - rest.len());
                (m != 0).then(|| done + m.trailing_zeros() as usize)
            }
            None => find2_words(s, a, b),
        }
    }

    #[inline]
    pub(super) fn is_ascii(s: &[u8]) -> bool {
        let (chunks, _) = s.as_chunks::<16>();
        let mut any = splat(0);
        for chunk in chunks {
            any = or(any, load(chunk));
        }
        // The last sixteen bytes (overlapping), or the whole when shorter, by words.
        match s.last_chunk::<16>() {
            Some(last) => high_mask(or(any, load(last))) == 0,
            None => short_is_ascii(s),
        }
    }
}

/// NEON: the twin of [`sse2`] on aarch64, from the primitives of [`neon`].
#[cfg(neon)]
mod neon_search {
    use std::arch::aarch64::uint8x16_t;

    use super::neon::{
        and, any, eq, gt, high_nibbles, load, lookup, mask, mask64, nibbles, or, shift_down, splat,
        test,
    };
    use super::{find2_words, short_chunk, short_is_ascii};

    /// The sixteen bytes of `body` from `start`, zeros past its end: where they lie, or the
    /// sixteen ending the body (or all of a shorter body) moved down to `start`.
    #[inline(always)]
    fn chunk_at(body: &[u8], start: usize) -> uint8x16_t {
        let whole = start
            .checked_add(16)
            .and_then(|end| body.get(start..end))
            .and_then(|c| <&[u8; 16]>::try_from(c).ok());
        match (whole, body.last_chunk::<16>()) {
            (Some(chunk), _) => load(chunk),
            _ if start >= body.len() => splat(0),
            (None, Some(last)) => shift_down(load(last), start - (body.len() - 16)),
            (None, None) => shift_down(load(&short_chunk(body)), start),
        }
    }

    /// The four chunks compared with each needle, and each needle's sixty-four lanes
    /// gathered at once ([`mask64`]: nine instructions where four [`super::neon::mask`]s
    /// take twenty).
    #[inline]
    pub(super) fn masks_at<const N: usize>(body: &[u8], at: usize, bytes: [u8; N]) -> [u64; N] {
        let c0 = chunk_at(body, at);
        let c1 = chunk_at(body, at.saturating_add(16));
        let c2 = chunk_at(body, at.saturating_add(32));
        let c3 = chunk_at(body, at.saturating_add(48));
        let mut out = [0u64; N];
        for (o, &b) in out.iter_mut().zip(&bytes) {
            let n = splat(b);
            *o = mask64([eq(c0, n), eq(c1, n), eq(c2, n), eq(c3, n)]);
        }
        out
    }

    /// See [`super::host_bytes`]. By two table lookups, of each byte's high and low four bits
    /// (simdjson's classification): a host byte is one of `%-.` (0x2_), a digit or `:`
    /// (0x3_), a letter (0x4_ to 0x7_), or one of `[]_` (0x5_), so four classes of low
    /// halves, one for each high half (none from 0x80 up). A byte is a host byte when the
    /// class of its high half is among its low half's.
    #[inline(always)]
    pub(crate) fn host_bytes(chunk: &[u8; 16]) -> u32 {
        // The classes: the low halves each high half takes.
        const MARKS: u8 = 1; // 0x2_: 5 (`%`), d (`-`), e (`.`)
        const DIGITS: u8 = 2; // 0x3_ and 0x7_: 0 to a (digits, `:`; `p` to `z`)
        const LETTERS: u8 = 4; // 0x4_ and 0x6_: 1 to f (`A` to `O`, `a` to `o`)
        const UPPER: u8 = 8; // 0x5_: 0 to b (`P` to `Z`, `[`), d (`]`), f (`_`)
        const HIGH: [u8; 16] = [
            0, 0, MARKS, DIGITS, LETTERS, UPPER, LETTERS, DIGITS, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        // The classes of each low half, from the list above.
        const ALL: u8 = DIGITS | LETTERS | UPPER;
        const LOW: [u8; 16] = [
            DIGITS | UPPER,          // 0
            ALL,                     // 1
            ALL,                     // 2
            ALL,                     // 3
            ALL,                     // 4
            MARKS | ALL,             // 5
            ALL,                     // 6
            ALL,                     // 7
            ALL,                     // 8
            ALL,                     // 9
            ALL,                     // a
            LETTERS | UPPER,         // b
            LETTERS,                 // c
            MARKS | LETTERS | UPPER, // d
            MARKS | LETTERS,         // e
            LETTERS | UPPER,         // f
        ];
        let v = load(chunk);
        let high = lookup(load(&HIGH), high_nibbles(v));
        let low = lookup(load(&LOW), and(v, splat(0x0f)));
        mask(test(high, low))
    }

    #[inline]
    pub(super) fn is_ascii(s: &[u8]) -> bool {
        let (chunks, _) = s.as_chunks::<16>();
        let mut all = splat(0);
        for chunk in chunks {
            all = or(all, load(chunk));
        }
        // The last sixteen bytes (overlapping), or the whole when shorter, by words.
        match s.last_chunk::<16>() {
            Some(last) => !any(gt(or(all, load(last)), splat(0x7f))),
            None => short_is_ascii(s),
        }
    }

    /// [`super::sse2::find2`] with four bits a byte ([`nibbles`]: two instructions, where one
    /// bit a byte takes five and a constant).
    #[inline]
    pub(super) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
        let (va, vb) = (splat(a), splat(b));
        let hits = |chunk: &[u8; 16]| {
            let v = load(chunk);
            nibbles(or(eq(v, va), eq(v, vb)))
        };
        let first = |m: u64| (m.trailing_zeros() / 4) as usize;
        let (chunks, rest) = s.as_chunks::<16>();
        for (i, chunk) in chunks.iter().enumerate() {
            let m = hits(chunk);
            if m != 0 {
                return Some(i * 16 + first(m));
            }
        }
        if rest.is_empty() {
            return None;
        }
        let done = s.len() - rest.len();
        match s.last_chunk::<16>() {
            Some(last) => {
                // The last sixteen bytes, overlapping the chunks already searched.
                let m = hits(last) >> (4 * (16 - rest.len()));
                (m != 0).then(|| done + first(m))
            }
            None => find2_words(s, a, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn byte_mask_bytes(block: &[u8; BLOCK], byte: u8) -> u64 {
        block
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u64::from(b == byte) << i)
    }

    fn text() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => b'a'..=b'z',
                1 => Just(b'\n'),
                1 => Just(b'\r'),
                1 => any::<u8>(),
            ],
            0..300,
        )
    }

    /// `host_bytes` classifies every byte value in every lane as the table does.
    #[test]
    #[cfg(vector16)]
    fn host_bytes_is_is_host_byte() {
        for chunk in lanes::every_byte_in_every_lane::<16>(16) {
            let expected = chunk.iter().enumerate().fold(0u32, |m, (i, &b)| {
                m | u32::from(crate::audit::dialect::is_host_byte(b)) << i
            });
            assert_eq!(host_bytes(&chunk), expected, "{chunk:?}");
        }
    }

    /// `masks_at` is `byte_mask` of `block_at` with every byte value in every lane of a
    /// block, for every needle, at every start of the body's last chunks.
    #[test]
    fn masks_at_is_byte_mask_in_every_lane() {
        for body in lanes::every_byte_in_every_lane::<64>(64) {
            for needle in 1..=255u8 {
                for (n, at) in [(64, 0), (64, 7), (50, 0), (50, 40), (9, 0), (9, 3)] {
                    let part = body.get(..n).unwrap_or_default();
                    let expected = byte_mask(&block_at(part, at), needle);
                    assert_eq!(masks_at(part, at, [needle]), [expected], "{part:?} {at}");
                }
            }
        }
    }

    /// `find2` is `memchr2` with every byte value in every lane of the sixteen-byte
    /// chunks and of the overlapping last one, for every needle.
    #[test]
    fn find2_is_memchr2_in_every_lane() {
        for s in lanes::every_byte_in_every_lane::<40>(16) {
            for a in 0..=255u8 {
                let b = a.wrapping_add(7);
                for n in [16, 23, 40] {
                    let part = s.get(..n).unwrap_or_default();
                    assert_eq!(find2(part, a, b), memchr::memchr2(a, b, part), "{part:?}");
                }
            }
        }
    }

    /// `is_ascii` is the standard library's with every byte value in every lane of the
    /// sixteen-byte chunks and of the overlapping last one.
    #[test]
    fn is_ascii_is_std_in_every_lane() {
        for shift in 0..16u8 {
            for first in (0..=255u8).step_by(16) {
                let s: [u8; 40] = std::array::from_fn(|i| {
                    // One byte of the chunk's values among ASCII letters.
                    if i % 16 == usize::from(shift) {
                        first.wrapping_add(shift)
                    } else {
                        b'a'
                    }
                });
                for n in 0..=40 {
                    let part = s.get(..n).unwrap_or_default();
                    assert_eq!(is_ascii(part), part.is_ascii(), "{part:?}");
                }
            }
        }
        for b in 0..=255u8 {
            for lane in 0..40 {
                let mut s = [b'a'; 40];
                s[lane] = b;
                assert_eq!(is_ascii(&s), s.is_ascii(), "{b} at {lane}");
            }
        }
    }

    /// A zero needle would match the zero-filled bytes past the body's end: refused in
    /// debug builds (review 11's R11-2; every caller searches for punctuation).
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "zero")]
    fn a_zero_needle_is_refused() {
        let _ = find_pair(b"a,'", 0, b',', 0);
    }

    proptest! {
        /// `find2` finds what `memchr2` finds, at every length around the chunk sizes and the
        /// short stretch searched with SSE2.
        #[test]
        fn find2_is_memchr2(s in text(), from in 0usize..40) {
            let s = s.get(from.min(s.len())..).unwrap_or_default();
            prop_assert_eq!(find2(s, b'\n', b'\r'), memchr::memchr2(b'\n', b'\r', s));
            for n in 0..s.len().min(40) {
                let short = s.get(..n).unwrap_or_default();
                prop_assert_eq!(find2_words(short, b'\n', b'\r'), memchr::memchr2(b'\n', b'\r', short));
                prop_assert_eq!(find2(short, b'\n', b'\r'), memchr::memchr2(b'\n', b'\r', short));
            }
        }

        /// `masks_at` is `byte_mask` of `block_at`, at every start and length.
        #[test]
        fn masks_at_is_byte_mask_of_block_at(
            body in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'\\'), Just(b'\''), 1u8..=255],
                0..200,
            ),
            at in 0usize..220,
        ) {
            let needles = [b',', b'\\', b'\''];
            for n in [body.len(), body.len().saturating_sub(1), 15, 16, 17, 63, 64, 65] {
                let part = body.get(..n.min(body.len())).unwrap_or_default();
                let block = block_at(part, at);
                let expected = needles.map(|b| byte_mask(&block, b));
                prop_assert_eq!(masks_at(part, at, needles), expected);
            }
        }

        /// `find_pair` is `memmem` of the two bytes from `from` on.
        #[test]
        fn find_pair_is_memmem(
            s in proptest::collection::vec(
                prop_oneof![3 => Just(b','), 3 => Just(b'\''), 1 => 1u8..=255],
                0..300,
            ),
            from in 0usize..300,
        ) {
            let expected = s
                .get(from..)
                .and_then(|rest| memchr::memmem::find(rest, b",'"))
                .map(|i| from + i);
            prop_assert_eq!(find_pair(&s, from, b',', b'\''), expected);
        }

        /// A part from the first byte above ASCII is UTF-8 as the standard library says,
        /// whatever the bytes before the ASCII that precedes it (the window may start inside
        /// a character, or in bytes that are not UTF-8) and after it (an envelope string's
        /// closing quote, or the end of an object).
        #[test]
        fn utf8_after_ascii_is_from_utf8(
            before in proptest::collection::vec(any::<u8>(), 0..90),
            ascii in "[ -~]{0,20}",
            part in proptest::collection::vec(prop_oneof![
                3 => 0x20u8..0x7f,
                3 => 0x80u8..=0xff,
                2 => prop::sample::select(vec![0xc3u8, 0xe6, 0xf0]),
            ], 0..80),
            after in prop_oneof![Just(&b""[..]), Just(&b"\""[..]), Just(&b"\xa9\x80"[..])],
        ) {
            // A byte above ASCII first, as where the callers stop.
            let part: Vec<u8> = if part.first().is_some_and(|&b| b < 0x80) {
                [&[0xc3, 0xa9][..], &part].concat()
            } else {
                part
            };
            // An ASCII byte (a string's opening quote) between the bytes before and the part.
            let sep: &[u8] = if before.is_empty() { b"" } else { b"\"" };
            let first = before.len() + sep.len() + ascii.len();
            let end = first + part.len();
            let bytes = [&before[..], sep, ascii.as_bytes(), &part, after].concat();
            prop_assert_eq!(
                utf8_after_ascii(&bytes, first, end),
                std::str::from_utf8(&part).is_ok()
            );
        }

        /// `find_pair_after_first` with the masks of a longer text's first block is
        /// `find_pair` from 0, on every start of the text.
        #[test]
        fn find_pair_after_first_is_find_pair(
            s in proptest::collection::vec(
                prop_oneof![3 => Just(b','), 3 => Just(b'\''), 1 => 1u8..=255],
                0..200,
            ),
        ) {
            let first = masks_at(&s, 0, [b',', b'\'']);
            for n in 0..=s.len() {
                let part = s.get(..n).unwrap_or_default();
                prop_assert_eq!(
                    find_pair_after_first(part, first, b',', b'\''),
                    find_pair(part, 0, b',', b'\'')
                );
            }
        }

        /// `is_ascii` is the standard library's.
        #[test]
        fn is_ascii_is_std(s in text(), from in 0usize..40) {
            let s = s.get(from.min(s.len())..).unwrap_or_default();
            for n in 0..=s.len() {
                let part = s.get(..n).unwrap_or_default();
                prop_assert_eq!(is_ascii(part), part.is_ascii());
            }
        }

        /// The SWAR mask and a byte-at-a-time count agree, on blocks dense with the byte
        /// searched for and on arbitrary bytes.
        #[test]
        fn byte_masks_agree(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'\\'), Just(b'\''), any::<u8>()],
                BLOCK,
            ),
            byte in prop_oneof![Just(b','), Just(b'\\'), Just(b'\''), any::<u8>()],
        ) {
            let block: [u8; BLOCK] = bytes.try_into().unwrap_or([0; BLOCK]);
            let expected = byte_mask_bytes(&block, byte);
            prop_assert_eq!(byte_mask(&block, byte), expected);
        }
    }
}
