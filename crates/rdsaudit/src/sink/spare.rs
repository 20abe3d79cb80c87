//! Writing an output record into a `Vec`'s spare capacity with the length kept in a register.
//!
//! `Vec::extend_from_slice` reloads the vector's pointer, capacity and length from memory and
//! stores the length back for every piece (the bytes written could alias the header, as far as
//! the compiler knows): an NDJSON event is some thirty pieces (BENCHMARKS.md, "Session 8:
//! the writer"). [`Spare`] reserves an estimate of the record once, keeps the
//! buffer's address, capacity and length in locals and commits the length when dropped. Every
//! write still checks the capacity (a compare against a register), so an estimate that falls
//! short costs a growth, never memory safety. [`Buf`] lets the escapers write to either.

use std::ptr;

/// Something bytes are appended to: a `Vec<u8>`, or a [`Spare`] over one.
pub(crate) trait Buf {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn push(&mut self, b: u8);
    /// Appends a constant: the same as [`Buf::put`], copied as `N` bytes.
    #[inline(always)]
    fn put_const<const N: usize>(&mut self, bytes: &[u8; N]) {
        self.put(bytes);
    }
    /// Runs `f` on the vector underneath, for rare paths written for a `Vec` (escapes,
    /// ambiguity, front end keys): the one place a [`Spare`] hands its vector out, so that
    /// its own address never reaches code out of line and its fields stay in registers.
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R;
    /// Appends `src[start..end]` (nothing unless `start <= end <= src.len()`), free to read
    /// the bytes of `src` after `end` to copy in bigger pieces.
    #[inline(always)]
    fn put_run(&mut self, src: &[u8], start: usize, end: usize) {
        self.put(src.get(start..end).unwrap_or_default());
    }
    /// Appends `bytes`, given also as its first and last word (`W` bytes each, little-endian,
    /// `W <= bytes.len() <= 2 * W`), read already by the caller.
    #[inline(always)]
    fn put_words<W: Word>(&mut self, bytes: &[u8], head: W, tail: W) {
        let _ = (head, tail);
        self.put(bytes);
    }
    /// Appends `bytes`, then the constant `next` (a name and the key after it): one room
    /// check for both in a [`Spare`].
    #[inline(always)]
    fn put_then<const N: usize>(&mut self, bytes: &[u8], next: &[u8; N]) {
        self.put(bytes);
        self.put_const(next);
    }
    /// [`Buf::put_words`], then the constant `next`, as [`Buf::put_then`].
    #[inline(always)]
    fn put_words_then<W: Word, const N: usize>(
        &mut self,
        bytes: &[u8],
        head: W,
        tail: W,
        next: &[u8; N],
    ) {
        self.put_words(bytes, head, tail);
        self.put_const(next);
    }
    /// Appends the first `count` bytes of `word` (`count <= 8`), free to write all eight,
    /// then `next`.
    #[inline(always)]
    fn put_word_prefix_then<const N: usize>(
        &mut self,
        word: &[u8; 8],
        count: usize,
        next: &[u8; N],
    ) {
        self.put_then(word.get(..count).unwrap_or(word), next);
    }
    /// How much has been written: a place to [`Buf::rewind`] to.
    fn mark(&self) -> usize;
    /// Drops what was written after `mark` (a [`Buf::mark`] of this writer).
    fn rewind(&mut self, mark: usize);
}

/// A `u32` or `u64`: what [`Buf::put_words`] writes.
pub(crate) trait Word: Copy {
    /// Its size in bytes.
    const SIZE: usize;
}

impl Word for u32 {
    const SIZE: usize = 4;
}

impl Word for u64 {
    const SIZE: usize = 8;
}

/// An integer written in decimal ([`put_decimal`]).
pub(crate) trait Decimal: Copy {
    /// Appends `self` in decimal, as `Display` writes it.
    fn put_to<B: Buf>(self, out: &mut B);
}

impl Decimal for u64 {
    #[inline(always)]
    fn put_to<B: Buf>(self, out: &mut B) {
        put_decimal(out, self);
    }
}

impl Decimal for i64 {
    #[inline(always)]
    fn put_to<B: Buf>(self, out: &mut B) {
        if self < 0 {
            out.push(b'-');
        }
        put_decimal(out, self.unsigned_abs());
    }
}

/// The two digits of each of `0..100`, in turn.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Appends `n` in decimal: under 100 (ids, return codes) as one or two bytes; longer
/// numbers as words of eight digits ([`eight_digits`]), the first from its first digit that
/// is not a leading zero ([`Buf::put_word_prefix_then`]: one unaligned 8-byte store), the others
/// whole. Formatting into `itoa`'s buffer and copying the result with a [`Buf::put`] of a
/// length only known then cost 35 instructions for a `0` and over 100 for a 13-digit
/// timestamp; the words gathered in a zeroed 40-byte local and copied out as a run, ~15
/// more than the stores straight to the output.
#[inline(always)]
pub(crate) fn put_decimal<B: Buf>(out: &mut B, n: u64) {
    put_decimal_then(out, n, &[]);
}

/// [`put_decimal`], then the constant `next`, under the last room check of the number.
#[inline(always)]
pub(crate) fn put_decimal_then<B: Buf, const N: usize>(out: &mut B, n: u64, next: &[u8; N]) {
    const ASCII: u64 = 0x3030_3030_3030_3030;
    const E8: u64 = 100_000_000;
    if n < 10 {
        // `n < 10`: the cast keeps it.
        out.put_then(&[b'0' + n as u8], next);
    } else if n < 100 {
        let pair = PAIRS
            .get(2 * n as usize..)
            .and_then(<[u8]>::first_chunk::<2>);
        out.put_then(pair.unwrap_or(b"00"), next);
    } else if n < 10_000 {
        // Three or four digits (connection ids, line numbers) as two pairs, one 8-byte
        // store from the first digit: a division and two lookups where the eight-digit split
        // takes ~20 instructions more.
        let pair = |v: u64| {
            PAIRS
                .get(2 * v as usize..)
                .and_then(<[u8]>::first_chunk::<2>)
                .copied()
                .unwrap_or(*b"00")
        };
        let ([a, b], [c, d]) = (pair(n / 100), pair(n % 100));
        // Under 1000 the first pair's first digit is a leading zero.
        let skip = usize::from(n < 1000);
        let word = u64::from_le_bytes([a, b, c, d, 0, 0, 0, 0]) >> (8 * skip);
        out.put_word_prefix_then(&word.to_le_bytes(), 4 - skip, next);
    } else if n < E8 {
        put_first_word(out, eight_digits(n), next);
    } else if n < E8 * E8 {
        put_first_word(out, eight_digits(n / E8), &[]);
        out.put_then(&(eight_digits(n % E8) | ASCII).to_le_bytes(), next);
    } else {
        let (top, rest) = (n / (E8 * E8), n % (E8 * E8));
        put_first_word(out, eight_digits(top), &[]);
        out.put_const(&(eight_digits(rest / E8) | ASCII).to_le_bytes());
        out.put_then(&(eight_digits(rest % E8) | ASCII).to_le_bytes(), next);
    }
}

/// The digits of a number's first word ([`eight_digits`], not zero) from the first that is
/// not a leading zero, then `next`: its lowest non-zero byte is the first digit, and the
/// bytes from it are the word shifted down.
#[inline(always)]
fn put_first_word<B: Buf, const N: usize>(out: &mut B, digits: u64, next: &[u8; N]) {
    const ASCII: u64 = 0x3030_3030_3030_3030;
    // Under 8 for any word but zero (which the callers never pass; it would be written
    // whole): the shift stays under 64.
    let skip = (digits.trailing_zeros() / 8) & 7;
    out.put_word_prefix_then(
        &((digits | ASCII) >> (8 * skip)).to_le_bytes(),
        8 - skip as usize,
        next,
    );
}

/// The eight decimal digits of `n < 100_000_000` (leading zeros included) as the values
/// 0..=9 in the bytes of a word, the most significant digit in the lowest byte (first in
/// little-endian memory order). Four splits done on all lanes of the word at once (SWAR):
/// into halves of four digits (32-bit lanes), then pairs (16-bit lanes), then digits, each
/// lane's quotient by a multiplication and shift exact for its range; no lane carries into
/// the next.
#[inline(always)]
fn eight_digits(n: u64) -> u64 {
    // Lanes of 32 bits: the first four digits, then the last four.
    let halves = (n / 10_000) | ((n % 10_000) << 32);
    // v / 100 for v < 10_000 is (v * 10_486) >> 20; each product stays under 2^27.
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007f_0000_007f;
    // Lanes of 16 bits: the four pairs.
    let pairs = ((halves - hundreds * 100) << 16) | hundreds;
    // v / 10 for v < 100 is (v * 103) >> 10; each product stays under 2^14.
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    ((pairs - tens * 10) << 8) | tens
}

impl Buf for Vec<u8> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        super::json_escape::put(self, bytes);
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        Vec::push(self, b);
    }

    #[inline(always)]
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        f(self)
    }

    #[inline(always)]
    fn mark(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn rewind(&mut self, mark: usize) {
        self.truncate(mark);
    }
}

/// Appends to `out`'s spare capacity; the bytes become part of `out` when this is dropped.
pub(crate) struct Spare<'a> {
    out: &'a mut Vec<u8>,
    /// `out`'s buffer: `base[..len]` is initialised, `base[..cap]` allocated.
    base: *mut u8,
    len: usize,
    cap: usize,
}

impl<'a> Spare<'a> {
    /// A writer appending to `out`, with room for `estimate` bytes reserved.
    #[inline(always)]
    pub(crate) fn new(out: &'a mut Vec<u8>, estimate: usize) -> Self {
        out.reserve(estimate);
        let (base, len, cap) = (out.as_mut_ptr(), out.len(), out.capacity());
        Spare {
            out,
            base,
            len,
            cap,
        }
    }

    #[inline(always)]
    fn commit(&mut self) {
        // SAFETY: `len <= cap` (every write checks that it fits before advancing `len`) and
        // `base[..len]` is initialised: `out`'s own bytes up to its length when `base` was
        // read, then only bytes copied in by `put`/`push`. `base` is still `out`'s buffer:
        // `out` is borrowed by `self` and only reallocated through `grow`/`with_vec`, which
        // commit first and read `base` again after.
        unsafe { self.out.set_len(self.len) };
    }

    #[inline(always)]
    fn reload(&mut self) {
        self.base = self.out.as_mut_ptr();
        self.len = self.out.len();
        self.cap = self.out.capacity();
    }

    /// Makes room for `n` more bytes (the estimate fell short).
    #[inline(always)]
    fn grow(&mut self, n: usize) {
        // SAFETY: as in `commit`: `base[..len]` is initialised and `len <= cap`.
        (self.base, self.cap) = unsafe { grow_vec(self.out, self.len, n) };
    }

    /// Room for `n` more bytes, growing when there is not.
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if n > self.cap - self.len {
            self.grow(n);
        }
    }

    /// Copies `N` bytes from `src` to the end (room for them checked by the caller).
    ///
    /// # Safety
    /// `src` must be valid for reading `N` bytes and `len + at + N <= cap`.
    #[inline(always)]
    unsafe fn copy_at<const N: usize>(&mut self, at: usize, src: *const u8) {
        // SAFETY: the caller's contract; the source is a caller's slice, the destination
        // `out`'s spare capacity, so they do not overlap.
        unsafe { ptr::copy_nonoverlapping(src, self.base.add(self.len + at), N) };
    }

    /// Appends `bytes` (room for them checked by the caller): [`Buf::put`]'s copies.
    ///
    /// # Safety
    /// `len + bytes.len() <= cap`.
    #[inline(always)]
    unsafe fn copy_sized(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let src = bytes.as_ptr();
        // SAFETY (every arm): the caller's `len + n <= cap`; each copy reads `N` bytes of
        // `bytes` starting at an offset `o` with `o + N <= n` and writes them at the same
        // offset from `len`, so inside that room.
        unsafe {
            // Tested from the middle out, so that no size class is more than three tests
            // away (a `match` tested 0, 1, 2..=3, ... in turn: six tests to a 27-byte run).
            if n > 16 {
                // Up to 128 bytes as two overlapping copies of a constant size, like the
                // shorter ones: a loop of 16-byte copies took five instructions a block
                // (the lead of ~100 bytes, a record's cached provenance runs).
                if n <= 32 {
                    self.copy_at::<16>(0, src);
                    self.copy_at::<16>(n - 16, src.add(n - 16));
                } else if n <= 64 {
                    self.copy_at::<32>(0, src);
                    self.copy_at::<32>(n - 32, src.add(n - 32));
                } else if n <= 128 {
                    self.copy_at::<64>(0, src);
                    self.copy_at::<64>(n - 64, src.add(n - 64));
                } else {
                    ptr::copy_nonoverlapping(src, self.base.add(self.len), n);
                }
            } else if n >= 8 {
                self.copy_at::<8>(0, src);
                self.copy_at::<8>(n - 8, src.add(n - 8));
            } else if n >= 4 {
                self.copy_at::<4>(0, src);
                self.copy_at::<4>(n - 4, src.add(n - 4));
            } else if n >= 2 {
                self.copy_at::<2>(0, src);
                self.copy_at::<2>(n - 2, src.add(n - 2));
            } else if n == 1 {
                *self.base.add(self.len) = *src;
            }
        }
        self.len += n;
    }

    /// Writes `bytes` (`W::SIZE <= n <= 2 * W::SIZE`, given also as its first and last
    /// word, little-endian) at the end, without counting them.
    ///
    /// # Safety
    /// `len + bytes.len() <= cap` and `W::SIZE <= bytes.len() <= 2 * W::SIZE`.
    #[inline(always)]
    unsafe fn write_words<W: Word>(&mut self, bytes: &[u8], head: W, tail: W) {
        let n = bytes.len();
        // SAFETY: by the caller's contract, `head` goes to `len .. len + SIZE` and `tail` to
        // `len + n - SIZE .. len + n`, both inside the room since `SIZE <= n`, and together
        // they cover `len .. len + n` since `n <= 2 * SIZE`. Unaligned writes of plain
        // integers; the words were read little-endian, so they hold the bytes in memory
        // order on a little-endian target (on a big-endian one the bytes are copied).
        unsafe {
            let at = self.base.add(self.len);
            if cfg!(target_endian = "little") {
                ptr::write_unaligned(at.cast::<W>(), head);
                ptr::write_unaligned(at.add(n - W::SIZE).cast::<W>(), tail);
            } else {
                ptr::copy_nonoverlapping(bytes.as_ptr(), at, n);
            }
        }
    }
}

/// `out` with its length set to `len` and room for `n` more bytes: its buffer and capacity.
/// Out of line and given only the vector, so a [`Spare`]'s address is never taken.
///
/// # Safety
/// `out`'s first `len` bytes must be initialised and `len <= out.capacity()`.
#[cold]
#[inline(never)]
unsafe fn grow_vec(out: &mut Vec<u8>, len: usize, n: usize) -> (*mut u8, usize) {
    // SAFETY: the caller's contract.
    unsafe { out.set_len(len) };
    out.reserve(n.max(256));
    (out.as_mut_ptr(), out.capacity())
}

impl Buf for Spare<'_> {
    /// Lengths up to 32 (names, numbers, the cached date-time) as two overlapping copies of
    /// a constant size, a few moves; longer ones a 16-byte copy at a time up to 128 bytes
    /// (log group, sequence number, most statements), a `memcpy` beyond.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.room(bytes.len());
        // SAFETY: `room` made `len + bytes.len() <= cap`.
        unsafe { self.copy_sized(bytes) };
    }

    /// One room check for the bytes and the constant after them.
    #[inline(always)]
    fn put_then<const N: usize>(&mut self, bytes: &[u8], next: &[u8; N]) {
        self.room(bytes.len() + N);
        // SAFETY: `room` made `len + bytes.len() + N <= cap`; `copy_sized` advances `len`
        // by `bytes.len()`, leaving `N` for `next`, which holds `N` bytes.
        unsafe {
            self.copy_sized(bytes);
            self.copy_at::<N>(0, next.as_ptr());
        }
        self.len += N;
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.room(1);
        // SAFETY: `room(1)` made `len < cap`.
        unsafe { *self.base.add(self.len) = b };
        self.len += 1;
    }

    /// A run of up to 16 bytes with 16 bytes of `src` from `start` (the runs between an
    /// object's escapes) as one 16-byte copy, only the run's bytes counted: the other bytes
    /// land in spare capacity, outside the vector.
    #[inline(always)]
    fn put_run(&mut self, src: &[u8], start: usize, end: usize) {
        if let (Some(n @ 0..=16), Some(block)) = (
            end.checked_sub(start),
            src.get(start..).and_then(<[u8]>::first_chunk::<16>),
        ) {
            self.room(16);
            // SAFETY: `room(16)` made `len + 16 <= cap`; `block` holds 16 bytes. `n <= 16`,
            // and the `n` bytes counted are `src[start..end]` (`end = start + n <= start + 16
            // <= src.len()`).
            unsafe { self.copy_at::<16>(0, block.as_ptr()) };
            self.len += n;
            return;
        }
        self.put(src.get(start..end).unwrap_or_default());
    }

    /// One 8-byte store, only `count` of its bytes counted: the others land in spare
    /// capacity, outside the vector.
    #[inline(always)]
    fn put_word_prefix_then<const N: usize>(
        &mut self,
        word: &[u8; 8],
        count: usize,
        next: &[u8; N],
    ) {
        self.room(8 + N);
        let count = count.min(8);
        // SAFETY: `room` made `len + 8 + N <= cap`; `word` holds 8 bytes, all written at
        // `len`, `count <= 8` of them counted; `next` (`N` bytes) goes at `len + count`,
        // inside the room since `count <= 8`.
        unsafe {
            self.copy_at::<8>(0, word.as_ptr());
            self.copy_at::<N>(count, next.as_ptr());
        }
        self.len += count + N;
    }

    #[inline(always)]
    fn put_words<W: Word>(&mut self, bytes: &[u8], head: W, tail: W) {
        self.put_words_then(bytes, head, tail, &[]);
    }

    /// One room check for the name and the constant after it.
    #[inline(always)]
    fn put_words_then<W: Word, const N: usize>(
        &mut self,
        bytes: &[u8],
        head: W,
        tail: W,
        next: &[u8; N],
    ) {
        let n = bytes.len();
        if !(W::SIZE..=2 * W::SIZE).contains(&n) {
            self.put_then(bytes, next);
            return;
        }
        self.room(n + N);
        // SAFETY: `room` made `len + n + N <= cap` and `SIZE <= n <= 2 * SIZE` (above):
        // the words fill `len .. len + n`, `next` (`N` bytes) `len + n .. len + n + N`.
        unsafe {
            self.write_words(bytes, head, tail);
            self.copy_at::<N>(n, next.as_ptr());
        }
        self.len += n + N;
    }

    #[inline(always)]
    fn mark(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn rewind(&mut self, mark: usize) {
        // Shortening keeps `base[..len]` initialised and `len <= cap`.
        self.len = self.len.min(mark);
    }

    #[inline(always)]
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.commit();
        let r = f(self.out);
        self.reload();
        r
    }

    #[inline(always)]
    fn put_const<const N: usize>(&mut self, bytes: &[u8; N]) {
        self.room(N);
        // SAFETY: `room(N)` made `len + N <= cap`; `bytes` holds `N` bytes.
        unsafe { self.copy_at::<N>(0, bytes.as_ptr()) };
        self.len += N;
    }
}

/// The unescaper writes its runs and bytes through [`Buf`]'s copies: short runs as copies of
/// a constant size, in spare capacity with the length in a register.
impl crate::audit::unescape::Output for Spare<'_> {
    #[inline(always)]
    fn run(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.push(b);
    }
}

/// `scratch` becomes `raw` with the plugin's escapes undone
/// ([`crate::audit::unescape::unescape_to`]; the objects that are not UTF-8, whose exact bytes
/// are written in base64, and CSV's objects written in full), reserved once (unescaping
/// never lengthens) and written through a [`Spare`].
pub(crate) fn unescape_into(raw: &[u8], scratch: &mut Vec<u8>) {
    scratch.clear();
    crate::audit::unescape::unescape_to(raw, &mut Spare::new(scratch, raw.len()));
}

impl Drop for Spare<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.commit();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every number of up to five digits (each size class of [`put_decimal_then`] and the
    /// edges between them) is written as `Display` writes it, through a [`Spare`] and a `Vec`.
    #[test]
    fn small_decimals_are_display() {
        let mut out = Vec::new();
        let mut plain = Vec::new();
        let mut expected = Vec::new();
        {
            let mut w = Spare::new(&mut out, 0);
            for n in 0u64..100_000 {
                put_decimal_then(&mut w, n, b",");
                put_decimal_then(&mut plain, n, b",");
                expected.extend_from_slice(format!("{n},").as_bytes());
            }
        }
        assert_eq!(out, expected);
        assert_eq!(plain, expected);
    }

    proptest! {
        /// Any sequence of writes, through an estimate too small or large, appends what the
        /// same writes to a `Vec` append.
        #[test]
        fn spare_writes_what_vec_writes(
            before in prop::collection::vec(any::<u8>(), 0..40),
            pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12),
            estimate in 0usize..600,
        ) {
            let mut reference = before.clone();
            let mut out = before;
            out.shrink_to_fit();
            {
                let mut w = Spare::new(&mut out, estimate);
                for (i, p) in pieces.iter().enumerate() {
                    match i % 5 {
                        0 => w.put(p),
                        4 => {
                            // The first (up to) eight bytes of `p`, from a word padded out.
                            let mut word = *b"01234567";
                            let count = p.len().min(8);
                            word[..count].copy_from_slice(&p[..count]);
                            w.put_word_prefix_then(&word, count, &[]);
                        }
                        1 => p.iter().for_each(|&b| w.push(b)),
                        2 => {
                            w.put_const(b"\",\"key\":\"");
                            // A run of `p` and the bytes after it, as object_to_json writes.
                            let with_after = [p.as_slice(), b"0123456789abcdefghij"].concat();
                            w.put_run(&with_after, 0, p.len());
                        }
                        _ => w.with_vec(|v| v.extend_from_slice(p)),
                    }
                }
            }
            for (i, p) in pieces.iter().enumerate() {
                if i % 5 == 2 {
                    reference.extend_from_slice(b"\",\"key\":\"");
                }
                if i % 5 == 4 {
                    reference.extend_from_slice(&p[..p.len().min(8)]);
                } else {
                    reference.extend_from_slice(p);
                }
            }
            prop_assert_eq!(out, reference);
        }

        /// [`unescape_into`] is the reference unescaper on text of escapes, unknown pairs,
        /// runs of backslashes and plain bytes, across and at the ends of its 64-byte blocks,
        /// ending in a lone backslash or not; the scratch's old bytes never show.
        #[test]
        fn unescape_into_is_reference(
            pieces in prop::collection::vec(prop_oneof![
                prop::sample::select(vec![
                    &b"\\'"[..], b"\\\\", b"\\n", b"\\t", b"\\r", b"\\b", b"\\f", b"\\q", b"\\\xe9",
                    b"\\\\\\", b"'", b"\xc3\xa9", b"\0",
                ]).prop_map(<[u8]>::to_vec),
                prop::collection::vec(prop::sample::select(vec![b'a', b' ', b',', b'\\']), 0..70),
            ], 0..12),
            old in prop::collection::vec(any::<u8>(), 0..8),
        ) {
            let raw = pieces.concat();
            let mut scratch = old;
            unescape_into(&raw, &mut scratch);
            prop_assert_eq!(scratch, crate::audit::unescape::unescape_reference(&raw));
        }

        /// Decimals through a `Vec` and a [`Spare`] (any estimate) are `Display`'s, at every
        /// length, both signs and the extremes.
        #[test]
        fn decimal_is_display(
            numbers in prop::collection::vec(prop_oneof![
                any::<u64>(),
                0u64..1000,
                (0u32..20).prop_map(|e| 10u64.pow(e)),
                (1u32..20).prop_map(|e| 10u64.pow(e) - 1),
                (0u32..20).prop_flat_map(|e| 10u64.pow(e)..10u64.pow(e).saturating_mul(10)),
                Just(u64::MAX),
            ], 1..8),
            signed in prop::collection::vec(prop_oneof![any::<i64>(), -1000i64..1000, Just(i64::MIN), Just(i64::MAX)], 0..4),
            estimate in 0usize..64,
        ) {
            let mut expected = Vec::new();
            for n in &numbers {
                expected.extend_from_slice(format!("{n}|").as_bytes());
            }
            for n in &signed {
                expected.extend_from_slice(format!("{n}|").as_bytes());
            }
            let mut plain = Vec::new();
            let mut out = Vec::new();
            {
                let mut w = Spare::new(&mut out, estimate);
                for &n in &numbers {
                    // With the separator under the number's room check, and on its own.
                    put_decimal_then(&mut w, n, b"|");
                    n.put_to(&mut plain);
                    plain.push(b'|');
                }
                for &n in &signed {
                    n.put_to(&mut w);
                    w.push(b'|');
                    n.put_to(&mut plain);
                    plain.push(b'|');
                }
            }
            prop_assert_eq!(&out, &expected);
            prop_assert_eq!(&plain, &expected);
        }
    }
}
