//! JSON string escaping for the output path, sixteen bytes at a time.
//!
//! Audit text rarely needs escaping (a statement's quotes are `'`, not `"`), so the escaper
//! looks for the next byte that needs it a vector at a time (SSE2 on x86_64, NEON on aarch64;
//! elsewhere eight at a time in a `u64`, SWAR) and copies the whole run before it
//! at once; text with nothing to escape (nearly all of it) is one search and one copy. Escapes are the ones the NDJSON format has always written: `\"`, `\\`, `\n`,
//! `\r`, `\t`, and `\u00xx` (lowercase hex) for the other bytes below 0x20; everything else,
//! including DEL and all non-ASCII UTF-8, is copied as is (RFC 8259, section 7).
//! [`escape_reference`] is the byte-at-a-time twin the property tests hold it to.

use super::spare::{Buf, Spare};
use crate::swar::lanes;

// The target's sixteen-byte vector module, `neon` or `sse2` (each compiled only where its
// feature is on, as NEON is on every aarch64 Linux target); targets with neither search with
// the SWAR words (`next_escape_words`).
#[cfg(neon)]
use neon as vector;
#[cfg(sse2)]
use sse2 as vector;

/// Appends `text` escaped for the inside of a JSON string (no surrounding quotes).
///
/// ```
/// # use rdsaudit::sink::json_escape::escape;
/// let mut out = Vec::new();
/// escape(&mut out, "SELECT \"a\"\n\u{1}");
/// assert_eq!(out, br#"SELECT \"a\"\n\u0001"#);
/// ```
#[inline]
pub fn escape(out: &mut Vec<u8>, text: &str) {
    // Through a `Spare`: its `put_run` is one 16-byte move, a `Vec`'s a `memcpy` call per
    // block of the search-and-copy.
    escape_bytes(&mut Spare::new(out, text.len()), text.as_bytes(), &[]);
}

/// [`escape`] to any [`Buf`], of text that is usually 17 to 128 bytes long and needs no
/// escape (a Kinesis event's 56-digit CloudWatch event ids): searched whole, then copied at
/// once. The search alone is a vector compare and a test a block; the joined search and
/// copy of the names ([`copy_until_flagged`]) took ~27 instructions a block, its room check
/// and count among them (event-500x200: ~18 instructions an event fewer). Not for the
/// names: one more size class inlined at each of their places measured nothing on the
/// plain log, which has few long names. (Always inlined: see [`Buf::with_vec`].)
#[inline(always)]
pub(crate) fn escape_searched_to<B: Buf>(out: &mut B, text: &str) {
    let bytes = text.as_bytes();
    #[cfg(vector16)]
    if bytes.len() <= 128 {
        match next_escape(bytes, 0) {
            None => out.put(bytes),
            Some(at) => {
                out.put(bytes.get(..at).unwrap_or_default());
                out.with_vec(|v| escape_from(v, bytes, at));
            }
        }
        return;
    }
    escape_bytes(out, bytes, &[]);
}

/// [`escape`] to any [`Buf`], then the constant `next` (the key after a name): a name that
/// needs no escape (nearly all) is written with it under one room check ([`Buf::put_then`]).
#[inline(always)]
pub(crate) fn escape_to_then<B: Buf, const N: usize>(out: &mut B, text: &str, next: &[u8; N]) {
    escape_bytes(out, text.as_bytes(), next);
}

/// [`escape`] on bytes the caller knows to be UTF-8 (the output must stay valid JSON text),
/// then `next`.
#[inline(always)]
fn escape_bytes<B: Buf, const N: usize>(out: &mut B, bytes: &[u8], next: &[u8; N]) {
    // Names of 4 to 16 bytes (most user, host and database names): checked and copied from
    // the same two overlapping words, instead of a search, then a copy that loads them again.
    if let (4..=16, Some(head), Some(tail)) = (
        bytes.len(),
        bytes.first_chunk::<4>(),
        bytes.last_chunk::<4>(),
    ) {
        if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
            if !words_need_escaping(head, tail) {
                out.put_words_then(bytes, head, tail, next);
                return;
            }
        } else {
            let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
            let word = u64::from(head) | u64::from(tail) << 32;
            if !words_need_escaping(word, word) {
                out.put_words_then(bytes, head, tail, next);
                return;
            }
        }
    }
    // Names under four bytes: their bytes (one repeated when there are fewer than three)
    // checked as one word, filled out with a byte that is never escaped (the first byte
    // repeated five times more took ~10 more instructions to build).
    if let (1..=3, Some(&first), Some(&last)) = (bytes.len(), bytes.first(), bytes.last()) {
        let middle = bytes.get(bytes.len() / 2).copied().unwrap_or(first);
        let word = u64::from_le_bytes([first, middle, last, b'a', b'a', b'a', b'a', b'a']);
        if !words_need_escaping(word, word) {
            out.put_then(bytes, next);
            return;
        }
    }
    if let Some(at) = copy_until_flagged::<false, B>(out, bytes, 0, false) {
        out.with_vec(|v| escape_from(v, bytes, at));
    }
    out.put_const(next);
}

/// Appends `bytes[from..]` up to the first byte [`next_flagged`] stops at, and returns where
/// that is (`None`: all appended). With SSE2, the search and the copy go together, a
/// block of sixteen bytes at a time: each block checked, then written by one 16-byte move
/// ([`Buf::put_run`]) with only the bytes before a flagged one counted, instead of a search
/// that loads every block and a copy that loads them again. The last
/// bytes (fewer than sixteen) as words ([`copy_short_until_flagged`]). With NEON (and the SWAR words), the
/// whole run is searched, then copied: on aarch64 the joined loop kept the writer's fields
/// and the search's constants in memory (a room check per block may call out to grow) and
/// took ~40 instructions a block, the search alone ~18 and the copy a few (aarch64
/// instructions under qemu: event 52.85 -> 51.45 M, plain 45.56 -> 44.04 M). With
/// `unquote` (a quoted object, [`object_to_json`]), a `\'` met in the SSE2 blocks is
/// written as `'` and the search goes on; the last bytes, and the other searches, stop at
/// its backslash as at any other. (Always inlined: see [`Buf::with_vec`].)
#[inline(always)]
fn copy_until_flagged<const HIGH: bool, B: Buf>(
    out: &mut B,
    bytes: &[u8],
    from: usize,
    unquote: bool,
) -> Option<usize> {
    #[cfg(sse2)]
    {
        let mut at = from;
        while let Some(block) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            let mask = vector::escape_mask::<HIGH>(block);
            let run = if mask == 0 { 16 } else { lanes::first(mask) };
            out.put_run(bytes, at, at + run);
            at += run;
            if mask != 0 {
                // The plugin's `\'` (a statement's quotes, which JSON writes as they are):
                // the backslash dropped and the quote left to start the next run, without
                // leaving the loop (the caller's handling of the pair, and the way back in,
                // cost ~20 instructions a quote).
                if unquote && bytes.get(at..at + 2) == Some(b"\\'") {
                    at += 1;
                    continue;
                }
                return Some(at);
            }
        }
        // The last bytes (fewer than sixteen) as words: searched and, when none is flagged
        // (nearly always), written from the same words. A `\'` there stops the search as
        // any flagged byte (dropping it here too measured nothing: p20 +0.5 M, the event
        // -0.3 M instructions).
        copy_short_until_flagged::<HIGH, B>(out, bytes, at)
    }
    #[cfg(not(sse2))]
    {
        // The search stops at every flagged byte: the caller handles a `\'` as any other.
        let _ = unquote;
        let found = next_flagged::<HIGH>(bytes, from);
        out.put(
            bytes
                .get(from..found.unwrap_or(bytes.len()))
                .unwrap_or_default(),
        );
        found
    }
}

/// [`copy_until_flagged`] of the last bytes, fewer than sixteen from `from`: as
/// [`next_escape_short`] searches them (the first and last eight or four bytes in one
/// vector), then, when none is flagged, written from the same words ([`Buf::put_words`]),
/// else the run before the flagged byte. The last bytes written again as the text's final
/// sixteen (with the output rewound over those written twice) took ~55 instructions, the
/// words ~25 (an object's end after its last escape, an event id's last digits).
#[cfg(sse2)]
#[inline(always)]
fn copy_short_until_flagged<const HIGH: bool, B: Buf>(
    out: &mut B,
    bytes: &[u8],
    from: usize,
) -> Option<usize> {
    let rest = bytes.get(from..).unwrap_or_default();
    let found = match short_words::<HIGH>(rest) {
        Some(ShortWords::Eight(head, tail, 0)) => {
            out.put_words(rest, head, tail);
            return None;
        }
        Some(ShortWords::Four(head, tail, 0)) => {
            out.put_words(rest, head, tail);
            return None;
        }
        Some(ShortWords::Eight(_, _, mask)) => Some(short_first(rest.len(), mask, 8)),
        Some(ShortWords::Four(_, _, mask)) => Some(short_first(rest.len(), mask, 4)),
        None => rest.iter().position(|&b| flagged::<HIGH>(b)),
    };
    out.put(rest.get(..found.unwrap_or(rest.len())).unwrap_or_default());
    found.map(|at| from + at)
}

/// Text of 4 to 16 bytes as its first and last word (eight bytes each from eight bytes on,
/// else four), with the [`flagged`] lanes of the two in one vector (the second word's in the
/// high half): what [`next_escape_short`] searches and [`copy_short_until_flagged`] writes.
#[cfg(vector16)]
#[cfg_attr(
    neon,
    expect(
        dead_code,
        reason = "the words are written only by SSE2's copy_short_until_flagged"
    )
)]
enum ShortWords {
    Eight(u64, u64, lanes::Mask),
    Four(u32, u32, lanes::Mask),
}

/// [`ShortWords`] of `rest` (fewer than seventeen bytes); `None` under four.
#[cfg(vector16)]
#[inline(always)]
fn short_words<const HIGH: bool>(rest: &[u8]) -> Option<ShortWords> {
    if let (Some(head), Some(tail)) = (rest.first_chunk::<8>(), rest.last_chunk::<8>()) {
        let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
        let mask = vector::escape_mask_of_words::<HIGH>(head, tail);
        return Some(ShortWords::Eight(head, tail, mask));
    }
    let (head, tail) = (rest.first_chunk::<4>()?, rest.last_chunk::<4>()?);
    let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
    let word = u64::from(head) | u64::from(tail) << 32;
    // The word is in both halves of the vector: the low half's lanes are its bytes.
    let mask = vector::escape_mask_of_words::<HIGH>(word, word) & lanes::LOW_HALF;
    Some(ShortWords::Four(head, tail, mask))
}

/// The index in `rest` (of `len` bytes, `half..=2 * half` of them) of the first flagged
/// byte, given the mask (not zero) of its first and last `half` bytes in one vector: one in
/// the first half comes before any in the second, whose bytes that overlap the first are not
/// flagged then.
#[cfg(vector16)]
#[inline(always)]
fn short_first(len: usize, mask: lanes::Mask, half: usize) -> usize {
    let first = lanes::first(mask);
    if first < half {
        first
    } else {
        // `first >= half`: the byte `first - half` of the last `half` bytes.
        len + first - 2 * half
    }
}

/// Whether a byte of `head` or `tail` needs escaping: one vector where there is SSE2 or
/// NEON, two SWAR words elsewhere.
#[inline(always)]
fn words_need_escaping(head: u64, tail: u64) -> bool {
    #[cfg(vector16)]
    {
        vector::escape_mask_of_words::<false>(head, tail) != 0
    }
    #[cfg(not(vector16))]
    {
        escape_mask(head) | escape_mask(tail) != 0
    }
}

/// [`escape_bytes`] of text whose first byte to escape is at `at`, the bytes before it
/// written already: out of line, so that the common case (nothing to escape) is a search
/// and a copy where the field is written.
#[inline(never)]
fn escape_from(out: &mut Vec<u8>, bytes: &[u8], mut at: usize) {
    let mut run = at;
    loop {
        out.put(bytes.get(run..at).unwrap_or_default());
        push_escape(out, bytes.get(at).copied().unwrap_or_default());
        run = at + 1;
        match next_escape(bytes, run) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.put(bytes.get(run..).unwrap_or_default());
}

/// Appends `bytes`, those up to 32 bytes long (names, numbers, the cached date-time) as two
/// overlapping copies of a constant size, which compile to a few moves: `extend_from_slice`
/// of a length unknown at compile time calls `memcpy`, and on the plain log a call per field
/// cost more in calling than in copying.
#[inline(always)]
pub(crate) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        0 => {}
        1 => out.extend(bytes.first()),
        2..=3 => put_overlapping::<2>(out, bytes),
        4..=7 => put_overlapping::<4>(out, bytes),
        8..=16 => put_overlapping::<8>(out, bytes),
        17..=32 => put_overlapping::<16>(out, bytes),
        _ => out.extend_from_slice(bytes),
    }
}

/// [`put`] for `N <= bytes.len() <= 2 * N`: the first `N` bytes, then the last `N` written
/// over the overlap.
#[inline(always)]
fn put_overlapping<const N: usize>(out: &mut Vec<u8>, bytes: &[u8]) {
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<N>(), bytes.last_chunk::<N>()) {
        let end = out.len() + bytes.len();
        out.extend_from_slice(head);
        out.truncate(end - N);
        out.extend_from_slice(tail);
    }
}

/// Appends `String::from_utf8_lossy(bytes)` escaped ([`escape`]) without making the lossy
/// text (a property test holds it to the two passes it replaces).
pub(crate) fn escape_lossy(out: &mut Vec<u8>, bytes: &[u8]) {
    lossy_to::<true>(&mut Spare::new(out, bytes.len()), bytes);
}

/// Appends `String::from_utf8_lossy(bytes)`, unescaped (CSV's cell of an object that is
/// not UTF-8, quoted after), without a `String` per object.
pub(crate) fn lossy(out: &mut Vec<u8>, bytes: &[u8]) {
    lossy_to::<false>(&mut Spare::new(out, bytes.len()), bytes);
}

/// `String::from_utf8_lossy(bytes)`, JSON-escaped when `ESCAPE`: the runs of ASCII
/// searched and copied sixteen bytes at a time ([`copy_until_flagged`], which stops at the
/// bytes to escape and those above ASCII); from a byte above ASCII, the rest checked by
/// `from_utf8`: its valid part copied (escaped), then U+FFFD (which needs no escape) for the
/// invalid sequence. The sequences are those `from_utf8_lossy` replaces: a
/// [`std::str::Utf8Error::error_len`] is the length lossy decoding skips, and `None` (a
/// sequence cut short by the end, as a statement cut at the plugin's length limit often
/// is) one replacement for the rest. A `from_utf8` of the whole rest from the start and from
/// each invalid sequence, and the object's unescaping through `Vec` runs, cost ~3,500
/// instructions a 50-byte object on the plain log. The check is `simdutf8`'s `compat` one
/// (std's error positions, found by std from the block before the error): std's alone took
/// ~5 instructions a byte of a statement cut inside a character after 900 bytes of CJK
/// text (the plain log's long objects that are not UTF-8).
fn lossy_to<const ESCAPE: bool>(out: &mut Spare<'_>, bytes: &[u8]) {
    /// U+FFFD in UTF-8.
    const REPLACEMENT: &[u8; 3] = b"\xef\xbf\xbd";
    let mut at = 0;
    while let Some(found) = copy_until_flagged::<true, _>(out, bytes, at, false) {
        let rest = bytes.get(found..).unwrap_or_default();
        let b = rest.first().copied().unwrap_or_default();
        if b < 0x80 {
            if ESCAPE {
                push_escape(out, b);
            } else {
                out.push(b);
            }
            at = found + 1;
            continue;
        }
        let (valid, skip) = match simdutf8::compat::from_utf8(rest) {
            Ok(_) => (rest, None),
            Err(e) => (
                rest.get(..e.valid_up_to()).unwrap_or_default(),
                Some(e.error_len()),
            ),
        };
        if ESCAPE {
            escape_bytes(out, valid, &[]);
        } else {
            out.put(valid);
        }
        let Some(skip) = skip else { return };
        out.put_const(REPLACEMENT);
        match skip {
            Some(n) => at = found + valid.len() + n,
            None => return,
        }
    }
}

/// Appends `"text"`: [`escape`] between quotes.
#[inline]
pub fn quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escape(out, text);
    out.push(b'"');
}

/// The position of the first byte at or after `from` that needs escaping: where SSE2 or NEON
/// is (every x86_64 and aarch64 target), sixteen bytes at a time and the last (partial) block as the
/// overlapping final sixteen bytes, text under sixteen bytes from `from` (most names) as one
/// vector of its overlapping first and last eight (or four) bytes ([`next_escape_short`]);
/// elsewhere by `next_escape_words`.
#[inline]
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    next_flagged::<false>(bytes, from)
}

/// [`next_escape`], stopping also at the bytes above ASCII when `HIGH` (for a UTF-8 check
/// in the same pass: text that has none is UTF-8).
#[inline]
fn next_flagged<const HIGH: bool>(bytes: &[u8], from: usize) -> Option<usize> {
    #[cfg(vector16)]
    {
        let len = bytes.len();
        if len.saturating_sub(from) < 16 {
            return next_escape_short::<HIGH>(bytes, from);
        }
        let mut at = from;
        while let Some(block) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            let mask = vector::escape_mask::<HIGH>(block);
            if mask != 0 {
                return Some(at + lanes::first(mask));
            }
            at += 16;
        }
        if at >= len {
            return None;
        }
        let last = bytes.last_chunk::<16>()?;
        // The bytes of `last` before `at` were checked already.
        let seen = 16 - (len - at);
        let mask = lanes::from(vector::escape_mask::<HIGH>(last), seen);
        (mask != 0).then(|| len - 16 + lanes::first(mask))
    }
    #[cfg(not(vector16))]
    next_escape_words::<HIGH>(bytes, from)
}

/// Whether `b` stops [`next_flagged`].
#[inline]
fn flagged<const HIGH: bool>(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || (HIGH && b >= 0x80)
}

/// [`next_escape`] of fewer than sixteen bytes from `from`, with a vector: eight bytes or more as
/// the first eight and the last eight (overlapping) in one vector, four to seven as the first
/// four and the last four, twice; under four byte by byte. A flagged byte of the first half
/// comes before any of the second, whose bytes that overlap the first are not flagged then.
#[cfg(vector16)]
#[inline]
fn next_escape_short<const HIGH: bool>(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let (mask, half) = match short_words::<HIGH>(rest) {
        Some(ShortWords::Eight(_, _, mask)) => (mask, 8),
        Some(ShortWords::Four(_, _, mask)) => (mask, 4),
        None => {
            return rest
                .iter()
                .position(|&b| flagged::<HIGH>(b))
                .map(|p| from + p);
        }
    };
    (mask != 0).then(|| from + short_first(rest.len(), mask, half))
}

/// SSE2: sixteen bytes compared at once, one bit per byte.
///
/// The module is compiled only where the target has SSE2 (every x86_64 target unless it is
/// turned off by hand), so each intrinsic's feature holds statically (the same convention as
/// `crate::swar`'s module).
#[cfg(sse2)]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };

    /// Bit `i` is set when `block[i]` is `"`, `\` or below 0x20 (or, when `HIGH`, above
    /// 0x7f).
    #[inline]
    pub(super) fn escape_mask<const HIGH: bool>(block: &[u8; 16]) -> u32 {
        // Two safe loads the compiler joins into one unaligned vector load.
        let (Some(lo), Some(hi)) = (block.first_chunk::<8>(), block.last_chunk::<8>()) else {
            return 0;
        };
        escape_mask_of_words::<HIGH>(u64::from_le_bytes(*lo), u64::from_le_bytes(*hi))
    }

    /// [`escape_mask`] of the sixteen bytes of `lo` then `hi` (little-endian).
    #[inline]
    pub(super) fn escape_mask_of_words<const HIGH: bool>(lo: u64, hi: u64) -> u32 {
        // SAFETY: the target has SSE2 (the module's cfg); the intrinsics take and return
        // values only. The casts keep the bits.
        unsafe {
            let v = _mm_set_epi64x(hi as i64, lo as i64);
            // `min(b, 0x1f) == b` exactly when `b <= 0x1f` (SSE2 has no unsigned byte compare).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let mut flags = _mm_or_si128(control, _mm_or_si128(quote, backslash));
            if HIGH {
                // `movemask` takes each byte's top bit: set in `v` exactly above 0x7f.
                flags = _mm_or_si128(flags, v);
            }
            // The mask has 16 bits: the sign of the i32 is never set.
            _mm_movemask_epi8(flags) as u32
        }
    }
}

/// NEON: the twin of `sse2`, its masks four bits a lane ([`lanes`]). Compiled only where
/// the target has NEON, so the primitives of [`crate::swar::neon`] are there.
#[cfg(neon)]
mod neon {
    use std::arch::aarch64::uint8x16_t;

    use crate::swar::neon::{eq, from_words, load, lt, lt_signed, nibbles, or, splat};

    /// Lane `i` of the mask is set when `block[i]` is `"`, `\` or below 0x20 (or, when
    /// `HIGH`, above 0x7f).
    #[inline(always)]
    pub(super) fn escape_mask<const HIGH: bool>(block: &[u8; 16]) -> u64 {
        flags::<HIGH>(load(block))
    }

    /// [`escape_mask`] of the sixteen bytes of `lo` then `hi` (little-endian).
    #[inline(always)]
    pub(super) fn escape_mask_of_words<const HIGH: bool>(lo: u64, hi: u64) -> u64 {
        flags::<HIGH>(from_words(lo, hi))
    }

    /// [`escape_mask`] of the vector `v`.
    #[inline(always)]
    fn flags<const HIGH: bool>(v: uint8x16_t) -> u64 {
        // Signed, the bytes above 0x7f are below 0x20 too: one compare for both.
        let low = if HIGH {
            lt_signed(v, splat(0x20))
        } else {
            lt(v, splat(0x20))
        };
        nibbles(or(low, or(eq(v, splat(b'"')), eq(v, splat(b'\\')))))
    }
}

/// [`next_escape`] eight bytes at a time (SWAR): a word at a time, the last (partial) word as
/// the overlapping final eight bytes; strings under eight bytes (user, host, database names)
/// checked as one word of two overlapping halves, then (only when one needs escaping, or
/// under four bytes) byte by byte. The whole search where there is neither SSE2 nor NEON
/// (compiled for the tests everywhere).
#[cfg(any(test, not(vector16)))]
#[inline]
fn next_escape_words<const HIGH: bool>(bytes: &[u8], from: usize) -> Option<usize> {
    let flag_mask = |word: u64| {
        if HIGH {
            escape_mask(word) | (word & 0x8080_8080_8080_8080)
        } else {
            escape_mask(word)
        }
    };
    let len = bytes.len();
    let mut at = from;
    while let Some(word) = word_at(bytes, at) {
        let mask = flag_mask(word);
        if mask != 0 {
            return Some(at + first_byte(mask));
        }
        at += 8;
    }
    if at >= len {
        return None;
    }
    match word_at(bytes, len.wrapping_sub(8)) {
        Some(last) => {
            // The bytes of `last` before `at` were checked already.
            let seen = (8 - (len - at)) * 8;
            let mask = flag_mask(last) >> seen << seen;
            (mask != 0).then(|| len - 8 + first_byte(mask))
        }
        None => {
            let rest = bytes.get(at..)?;
            if let (Some(head), Some(tail)) = (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
                let word = u64::from(u32::from_le_bytes(*head))
                    | u64::from(u32::from_le_bytes(*tail)) << 32;
                if flag_mask(word) == 0 {
                    return None;
                }
            }
            rest.iter()
                .position(|&b| flagged::<HIGH>(b))
                .map(|p| at + p)
        }
    }
}

/// The eight bytes at `at`, little-endian, if there are eight.
#[inline]
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let word = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(word.try_into().ok()?))
}

/// The index of the lowest flagged byte of a non-zero mask.
#[inline]
pub(crate) fn first_byte(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// 0x80 in each byte of `word` that is `"`, `\` or below 0x20, exactly (no borrow or carry
/// crosses a byte, so every flagged byte needs escaping and none is missed).
#[inline]
pub(crate) fn escape_mask(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // (b & 0x7f) + 0x60 reaches 0x80 exactly when b & 0x7f >= 0x20; `| word` drops b >= 0x80.
    let control = !(((word & LOW7) + 0x6060_6060_6060_6060) | word) & HIGH;
    control | crate::swar::equal_bytes(word, b'"') | crate::swar::equal_bytes(word, b'\\')
}

/// Appends the JSON escape of one byte that needs escaping.
#[inline]
fn push_escape<B: Buf>(out: &mut B, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
            out.put_const(&[b'\\', b'u', b'0', b'0', hi, lo]);
            return;
        }
    };
    out.put_const(&[b'\\', short]);
}

/// One byte, escaped when JSON needs it.
#[inline]
fn push_json_byte<B: Buf>(out: &mut B, b: u8) {
    if b < 0x20 || b == b'"' || b == b'\\' {
        push_escape(out, b);
    } else {
        out.push(b);
    }
}

/// An audit object's text as the inside of a JSON string, with its UTF-8 check in the same
/// pass, when its raw bytes are valid UTF-8 (nearly always): when `quoted`, the plugin's
/// escapes undone and JSON's made in one pass (instead of unescaping into a buffer and
/// escaping that: the search stops at backslashes anyway, since JSON escapes them too),
/// else escaped ([`escape`]). Returns `false`, having appended nothing, when they are not.
///
/// Unescaping removes ASCII backslashes and turns ASCII pairs into ASCII bytes (unknown
/// pairs stay whole), so the unescaped text is valid UTF-8 exactly when the raw bytes are.
/// Same result as a UTF-8 check, then [`crate::audit::unescape::unescape_into`] (when
/// `quoted`) and [`escape`] (property tests check).
///
/// The search for the next byte to escape stops at bytes above ASCII too, as long as all
/// before them were ASCII: most statements are, and need no other check. At the first byte
/// that is not, the rest is checked ([`crate::swar::utf8_after_ascii`]: the text is UTF-8
/// exactly when the rest is, since an ASCII prefix ends on a character boundary) and the
/// search goes on for escapes only. That check was a second pass (and a call) over every
/// object before.
/// (Always inlined: see [`Buf::with_vec`].)
#[inline(always)]
pub(crate) fn object_to_json<B: Buf>(out: &mut B, raw: &[u8], quoted: bool) -> bool {
    let mark = out.mark();
    let mut run = 0;
    // Whether `raw` is known to be UTF-8; until then every byte before `run` is ASCII.
    let mut valid = false;
    loop {
        // The bytes up to the next to handle, appended as they are searched.
        let found = if valid {
            copy_until_flagged::<false, B>(out, raw, run, quoted)
        } else {
            copy_until_flagged::<true, B>(out, raw, run, quoted)
        };
        let Some(at) = found else { break };
        let b = raw.get(at).copied().unwrap_or_default();
        if b >= 0x80 {
            if !crate::swar::utf8_after_ascii(raw, at, raw.len()) {
                out.rewind(mark);
                return false;
            }
            valid = true;
            run = at;
            continue;
        }
        run = at + 1;
        if b != b'\\' || !quoted {
            push_escape(out, b);
            continue;
        }
        match raw.get(at + 1).copied() {
            // A lone trailing backslash is kept.
            None => push_escape(out, b'\\'),
            // The plugin's most common escape (a statement's quotes), which JSON has not: the
            // backslash dropped, the quote left to start the next run (instead of a push of
            // its own).
            Some(b'\'') => {}
            Some(c) => {
                if c >= 0x80 && !valid {
                    if !crate::swar::utf8_after_ascii(raw, at + 1, raw.len()) {
                        out.rewind(mark);
                        return false;
                    }
                    valid = true;
                }
                run += 1;
                match crate::audit::unescape::unescaped_byte(c) {
                    Some(u) => push_json_byte(out, u),
                    // An unknown pair is kept whole.
                    None => {
                        push_escape(out, b'\\');
                        push_json_byte(out, c);
                    }
                }
            }
        }
    }
    true
}

/// The byte-at-a-time twin of [`escape`], for the property tests.
#[doc(hidden)]
pub fn escape_reference(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fast(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        escape(&mut out, text);
        out
    }

    fn reference(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        escape_reference(&mut out, text);
        out
    }

    #[test]
    fn every_byte_below_0x80_alone_and_inside_words() {
        for b in 0u8..0x80 {
            let c = char::from(b);
            for text in [
                c.to_string(),
                format!("abcdefg{c}hijklmnopq"),
                format!("{c}{c}é{c}"),
            ] {
                assert_eq!(fast(&text), reference(&text), "byte {b:#04x} in {text:?}");
            }
        }
    }

    /// Names of every length around the size classes of [`escape_bytes`] (words, the joined
    /// search and copy) and [`escape_searched_to`] (the whole search up to 128 bytes), with
    /// nothing to escape or one escape at each place, to a `Vec` and through a
    /// [`Spare`](super::super::spare::Spare), with the key after them.
    #[test]
    fn every_length_and_escape_place() {
        for len in 0..=140 {
            let plain: String = (0..len)
                .map(|i| char::from(b'0' + (i % 10) as u8))
                .collect();
            let mut texts = vec![plain.clone()];
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1f}'] {
                    let mut t = plain.clone().into_bytes();
                    t[at] = c as u8;
                    texts.push(String::from_utf8(t).unwrap());
                }
            }
            for t in &texts {
                let mut expected = reference(t);
                expected.extend_from_slice(b"\",\"k\":\"");
                let mut plain_out = Vec::new();
                escape_to_then(&mut plain_out, t, b"\",\"k\":\"");
                assert_eq!(plain_out, expected, "{t:?}");
                let mut spared = Vec::new();
                escape_to_then(
                    &mut super::super::spare::Spare::new(&mut spared, 0),
                    t,
                    b"\",\"k\":\"",
                );
                assert_eq!(spared, expected, "{t:?}");
                let mut searched = Vec::new();
                escape_searched_to(&mut searched, t);
                escape_searched_to(&mut super::super::spare::Spare::new(&mut searched, 0), t);
                let twice = [reference(t), reference(t)].concat();
                assert_eq!(searched, twice, "{t:?}");
            }
        }
    }

    #[test]
    fn output_is_the_json_string_serde_reads_back() {
        let text = "SELECT 'it''s', \"q\" \\ \n\r\t\u{0}\u{1f}\u{7f} é 漢 🙂";
        let mut out = vec![b'"'];
        escape(&mut out, text);
        out.push(b'"');
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, text);
    }

    /// The vector masks (SSE2's or NEON's, of a block and of its two words, with and
    /// without the bytes above ASCII) flag exactly the lanes [`flagged`] does, every byte
    /// value in every lane ([`lanes::every_byte_in_every_lane`]).
    #[cfg(vector16)]
    #[test]
    fn vector_masks_flag_every_byte_in_every_lane() {
        let lanes_of = |mask| {
            let bits = lanes::bits(mask);
            std::array::from_fn::<_, 16, _>(|i| bits >> i & 1 == 1)
        };
        for block in lanes::every_byte_in_every_lane::<16>(16) {
            let (lo, hi) = block.split_at(8);
            let (lo, hi) = (word_at(lo, 0).unwrap(), word_at(hi, 0).unwrap());
            let expected = |high: bool| {
                block.map(|b| {
                    if high {
                        flagged::<true>(b)
                    } else {
                        flagged::<false>(b)
                    }
                })
            };
            assert_eq!(
                lanes_of(vector::escape_mask::<false>(&block)),
                expected(false)
            );
            assert_eq!(
                lanes_of(vector::escape_mask::<true>(&block)),
                expected(true)
            );
            assert_eq!(
                lanes_of(vector::escape_mask_of_words::<false>(lo, hi)),
                expected(false)
            );
            assert_eq!(
                lanes_of(vector::escape_mask_of_words::<true>(lo, hi)),
                expected(true)
            );
        }
    }

    /// Text made of the bytes that matter here: escapes, their neighbours in the SWAR
    /// arithmetic (0x1f/0x20, 0x7f/0x80 boundaries), multi-byte UTF-8, and plain runs that
    /// cross word boundaries.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\t".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{1f}".to_owned()),
            Just(" ".to_owned()),
            Just("\u{7f}".to_owned()),
            Just("\u{80}".to_owned()),
            Just("é漢🙂".to_owned()),
            Just("'a,b'".to_owned()),
            "[a-z0-9,' ]{0,20}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    /// The first byte at or after `from` that needs escaping, a byte at a time.
    fn next_escape_reference(bytes: &[u8], from: usize) -> Option<usize> {
        (from..bytes.len()).find(|&i| matches!(bytes[i], 0..=0x1f | b'"' | b'\\'))
    }

    proptest! {
        #[test]
        fn fast_matches_reference(text in text()) {
            prop_assert_eq!(fast(&text), reference(&text));
        }

        /// Through a [`Spare`](super::super::spare::Spare) (words written whole, runs as
        /// 16-byte moves), several texts in a row, each at any length, with the constant
        /// after each written on its own or under the same room check ([`escape_to_then`]).
        #[test]
        fn spare_matches_reference(texts in prop::collection::vec(text(), 1..6), estimate in 0usize..64) {
            let mut out = b"x".to_vec();
            {
                let mut w = super::super::spare::Spare::new(&mut out, estimate);
                for (i, t) in texts.iter().enumerate() {
                    if i % 2 == 0 {
                        escape_to_then(&mut w, t, &[]);
                        w.push(b'|');
                    } else {
                        escape_to_then(&mut w, t, b"|");
                    }
                }
            }
            // And to a `Vec`, the key after each name put on its own.
            let mut plain = b"x".to_vec();
            for t in &texts {
                escape_to_then(&mut plain, t, b"|");
            }
            let mut expected = b"x".to_vec();
            for t in &texts {
                escape_reference(&mut expected, t);
                expected.push(b'|');
            }
            prop_assert_eq!(&plain, &expected);
            prop_assert_eq!(out, expected);
        }

        /// Both searches (the vector one where there is SSE2, and the SWAR one every target
        /// falls back on) find what a byte-at-a-time search finds, from any start, with the
        /// escape at any place in or across the 16- and 8-byte blocks.
        #[test]
        fn searches_find_the_first_escape(
            text in text(),
            escape in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(vec![0u8, 0x1f, b'"', b'\\', b'\n']))),
            from in any::<prop::sample::Index>(),
        ) {
            let mut bytes = text.into_bytes();
            if let (Some((at, b)), false) = (escape, bytes.is_empty()) {
                let at = at.index(bytes.len());
                bytes[at] = b;
            }
            let from = from.index(bytes.len() + 1);
            let expected = next_escape_reference(&bytes, from);
            prop_assert_eq!(next_escape(&bytes, from), expected);
            prop_assert_eq!(next_escape_words::<false>(&bytes, from), expected);
            let high = (from..bytes.len()).find(|&i| matches!(bytes[i], 0..=0x1f | b'"' | b'\\' | 0x80..));
            prop_assert_eq!(next_flagged::<true>(&bytes, from), high);
            prop_assert_eq!(next_escape_words::<true>(&bytes, from), high);
        }

        /// The one-pass object writer equals the two passes it replaces: a UTF-8 check of
        /// the raw bytes, then unescape-and-escape (quoted) or escape; `false` and nothing
        /// written exactly when the bytes are not UTF-8. Bytes: text with the plugin's
        /// escapes, stray bytes above ASCII (invalid alone), some right after a backslash.
        #[test]
        fn object_to_json_is_check_then_escape(
            text in text(),
            stray in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![0x80u8, 0xc3, 0xe9, 0xff, b'\\'])), 0..3),
            quoted in any::<bool>(),
            tail in prop_oneof![Just(&b""[..]), Just(&b"\\"[..]), Just(&b"\\\xc3\xa9"[..]), Just(&b"\\\xe9"[..])],
        ) {
            let mut raw = Vec::new();
            crate::audit::unescape::escape_like_plugin(text.as_bytes(), &mut raw);
            for (at, b) in stray {
                let at = at.index(raw.len() + 1);
                raw.insert(at, b);
            }
            raw.extend_from_slice(tail);
            let expected = std::str::from_utf8(&raw).ok().map(|t| {
                if quoted {
                    reference(&String::from_utf8(crate::audit::unescape::unescape_reference(&raw)).unwrap())
                } else {
                    reference(t)
                }
            });
            let mut out = b"before".to_vec();
            let ok = object_to_json(&mut out, &raw, quoted);
            prop_assert_eq!(ok, expected.is_some());
            let expected = [&b"before"[..], expected.as_deref().unwrap_or_default()].concat();
            prop_assert_eq!(&out, &expected);
            // Through a Spare (blocks written whole, the last sixteen bytes written again).
            let mut spared = b"before".to_vec();
            prop_assert_eq!(object_to_json(&mut super::super::spare::Spare::new(&mut spared, raw.len() % 40), &raw, quoted), ok);
            prop_assert_eq!(&spared, &expected);
        }

        /// Statements dense with the plugin's `\'` (dropped inside the block loop, without
        /// leaving it), next to other pairs that start with a backslash (`\\`, `\\\'`, `\n`, an
        /// unknown pair, a lone one at the end), quotes JSON escapes and bytes above ASCII, at
        /// every offset from the blocks' edges: the same as the unescape, then the escape.
        #[test]
        fn object_to_json_drops_quote_escapes_in_blocks(
            pieces in prop::collection::vec(prop_oneof![
                4 => Just(&br"\'"[..]),
                1 => Just(&br"\\"[..]),
                1 => Just(&br"\\\'"[..]),
                1 => Just(&br"\n"[..]),
                1 => Just(&br"\q"[..]),
                1 => Just(&b"\""[..]),
                1 => Just(&b"'"[..]),
                1 => Just("é".as_bytes()),
                1 => Just(&b"\xe9"[..]),
                4 => prop::sample::select(vec![&b"a"[..], b"ab", b"abcdefg", b"0123456789abcde"]),
            ], 0..40),
            quoted in any::<bool>(),
            lone in any::<bool>(),
        ) {
            let mut raw = pieces.concat();
            if lone {
                raw.push(b'\\');
            }
            let unescaped = if quoted {
                crate::audit::unescape::unescape_reference(&raw)
            } else {
                raw.clone()
            };
            let expected = std::str::from_utf8(&raw)
                .ok()
                .map(|_| reference(&String::from_utf8(unescaped).unwrap()));
            for estimate in [0, raw.len() * 6 + 16] {
                let mut out = b"before".to_vec();
                let ok = object_to_json(&mut super::super::spare::Spare::new(&mut out, estimate), &raw, quoted);
                prop_assert_eq!(ok, expected.is_some());
                let want = [&b"before"[..], expected.as_deref().unwrap_or_default()].concat();
                prop_assert_eq!(&out, &want);
            }
            let mut out = Vec::new();
            prop_assert_eq!(object_to_json(&mut out, &raw, quoted), expected.is_some());
            prop_assert_eq!(out, expected.unwrap_or_default());
        }

        /// The search-and-copy appends exactly the bytes from `from` to what a byte-at-a-time
        /// search finds (all of them when it finds none) and returns that, to a `Vec` and
        /// through a [`Spare`](super::super::spare::Spare), after other bytes or none.
        #[test]
        fn copy_until_flagged_is_search_then_copy(
            text in text(),
            from in any::<prop::sample::Index>(),
            high in any::<bool>(),
            before in prop::collection::vec(any::<u8>(), 0..3),
        ) {
            let bytes = text.as_bytes();
            let from = from.index(bytes.len() + 1);
            let expected_at = (from..bytes.len()).find(|&i| matches!(bytes[i], 0..=0x1f | b'"' | b'\\') || (high && bytes[i] >= 0x80));
            let expected = [&before[..], &bytes[from..expected_at.unwrap_or(bytes.len())]].concat();
            let copy = |out: &mut Vec<u8>, spare: bool| {
                if spare {
                    let mut w = super::super::spare::Spare::new(out, 0);
                    if high { copy_until_flagged::<true, _>(&mut w, bytes, from, false) } else { copy_until_flagged::<false, _>(&mut w, bytes, from, false) }
                } else if high {
                    copy_until_flagged::<true, _>(out, bytes, from, false)
                } else {
                    copy_until_flagged::<false, _>(out, bytes, from, false)
                }
            };
            for spare in [false, true] {
                let mut out = before.clone();
                prop_assert_eq!(copy(&mut out, spare), expected_at);
                prop_assert_eq!(&out, &expected);
            }
        }

        /// The one-pass lossy escape equals `from_utf8_lossy`, then [`escape_reference`], for
        /// bytes of every class: escapes, ASCII, whole characters, sequences cut short (also at
        /// the end), stray continuation bytes, overlong forms, surrogates, bytes never valid.
        #[test]
        fn escape_lossy_is_lossy_then_escape(
            pieces in prop::collection::vec(prop_oneof![
                text().prop_map(String::into_bytes),
                prop::sample::select(vec![
                    &b"\x80"[..], b"\xbf", b"\xc0\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
                    b"\xf0\x9f\x99", b"\xf4\x90\x80\x80", b"\xf8", b"\xff", b"\xe9 ", b"\xc3\xa9",
                ]).prop_map(<[u8]>::to_vec),
                prop::collection::vec(any::<u8>(), 0..6),
            ], 0..12),
            before in prop::collection::vec(any::<u8>(), 0..3),
        ) {
            let bytes = pieces.concat();
            let mut expected = before.clone();
            escape_reference(&mut expected, &String::from_utf8_lossy(&bytes));
            let mut out = before.clone();
            escape_lossy(&mut out, &bytes);
            prop_assert_eq!(out, expected);
            let mut out = before.clone();
            lossy(&mut out, &bytes);
            prop_assert_eq!(out, [before.as_slice(), String::from_utf8_lossy(&bytes).as_bytes()].concat());
        }

        /// `put` appends exactly the bytes, at every length around its size classes.
        #[test]
        fn put_appends_the_bytes(before in prop::collection::vec(any::<u8>(), 0..40), bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let mut out = before.clone();
            put(&mut out, &bytes);
            prop_assert_eq!(out, [before, bytes].concat());
        }

        /// One pass (unescape into JSON) equals two (unescape, then escape), for any text
        /// with the plugin's escapes, unknown pairs and a trailing backslash.
        #[test]
        fn object_to_json_is_unescape_then_escape(text in text(), tail in prop_oneof![Just(""), Just("\\"), Just("\\q")]) {
            let mut sql = Vec::new();
            crate::audit::unescape::escape_like_plugin(text.as_bytes(), &mut sql);
            sql.extend_from_slice(text.as_bytes());
            sql.extend_from_slice(tail.as_bytes());
            let mut one = Vec::new();
            prop_assert!(object_to_json(&mut one, &sql, true));
            let unescaped = String::from_utf8(crate::audit::unescape::unescape_reference(&sql)).unwrap();
            prop_assert_eq!(one, reference(&unescaped));
        }
    }
}
