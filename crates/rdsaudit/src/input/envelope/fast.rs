//! The fast path of [`EnvelopeParser::parse`](super::EnvelopeParser::parse): a reader of the
//! CloudWatch Logs payload's own shape, in two passes over the text, with the simd-json path
//! as its reference and fallback.
//!
//! Why: simd-json classifies every byte, builds a tape of every value and then we walk the
//! tape; on 500 records of 200 events that was a fifth of the whole process. A payload is
//! always the same few keys and an array of `{"id","timestamp","message"}` objects, so one
//! pass that looks for them directly does a fraction of that work.
//!
//! 1. [`FastReader::read`] checks the whole text, changing nothing: it is UTF-8 (every byte
//!    outside the strings is one the reader matched as ASCII; a string is checked from its
//!    first non-ASCII byte, which the search for its end stops at, so an ASCII string costs
//!    no check), every string has no control byte and valid escapes, each value is where
//!    the envelope's shape wants it. It only notes where the strings are and where their
//!    escapes start. Whenever it meets anything it does not read with certainty (any error, a
//!    duplicate key the simd-json path refuses, an unexpected type, a key with an escape, a
//!    number other than a plain integer of up to 18 digits, nesting deeper than 62 in an
//!    unknown value, a payload over the value cap) it declines, and the simd-json path reads
//!    the same untouched bytes: acceptance, errors and their words stay exactly that path's.
//!    What it notes takes memory in proportion to the text (a few words per string), as
//!    simd-json's buffers do; the value cap is checked after the pass, as the simd-json path
//!    would find it.
//! 2. [`FastReader::finish`] then undoes the escapes of the strings that hold some, in place,
//!    going straight from one noted escape to the next (an escape is never shorter than what
//!    it stands for; the freed bytes at the end of the string become spaces, so the text stays
//!    UTF-8, and is not checked again), and borrows every string from the text.
//!
//! A property test holds it to the simd-json path: for generated and mutated payloads it
//! either declines or yields exactly the same envelopes.

use std::ops::Range;

use super::{EnvelopeError, LogEnvelope, LogEvent, MessageType, Spare};
use crate::input::json::walk::digits::leading_digits;
use crate::input::json::walk::{simple_escape, special_mask, string_mask, unescape};
use crate::input::json::{check_values, is_ws};
use crate::swar::lanes::{self, Mask};

/// The fast reader declines: the simd-json path must read the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decline;

type Read<T> = Result<T, Decline>;

/// A text with more than one escape for every this many bytes is declined: the positions
/// noted take at most half the text's size (a real event's statements hold about one escape
/// in 60 bytes).
const BYTES_PER_ESCAPE: usize = 8;

/// Escape positions whose room is kept from payload to payload (1 MiB).
const KEPT_ESCAPES: usize = 1 << 18;

/// A string of the text: the bytes between its quotes, and where its escapes start (a range
/// of [`FastReader`]'s `escapes`, empty for most strings).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Str {
    range: Range<usize>,
    escapes: Range<usize>,
}

impl Str {
    fn escaped(&self) -> bool {
        !self.escapes.is_empty()
    }
}

/// A [`LogEnvelope`] whose strings are still [`Str`]s; its filters and events are ranges of
/// the reader's lists.
#[derive(Debug)]
struct RawEnvelope {
    message_type: Str,
    owner: Option<Str>,
    log_group: Option<Str>,
    log_stream: Option<Str>,
    filters: Range<usize>,
    policy_level: Option<Str>,
    events: Range<usize>,
}

/// A [`LogEvent`] whose strings are still [`Str`]s.
#[derive(Debug)]
struct RawEvent {
    id: Str,
    timestamp: i64,
    message: Str,
    /// Whether an escape of the message stands for a line break (set by pass 2).
    breaks: bool,
}

/// The fast reader's lists, kept across payloads (one reader per worker, like the parser).
#[derive(Debug, Default)]
pub(super) struct FastReader {
    envelopes: Vec<RawEnvelope>,
    filters: Vec<Str>,
    events: Vec<RawEvent>,
    pieces: Vec<Range<usize>>,
    /// Where each escape starts (its backslash), in text order: pass 2 goes from one to the
    /// next instead of looking for them again. Four bytes each and at most one for every
    /// [`BYTES_PER_ESCAPE`] bytes of text (review 13: eight bytes for each two-byte escape
    /// made an 80 MB payload of `\n`s take 475 MB, not 163).
    escapes: Vec<u32>,
}

impl FastReader {
    /// Pass 1: reads and checks `text` (one payload or several back to back) without changing
    /// it. `Ok` only when the simd-json path would accept it and read what was noted.
    pub(super) fn read(&mut self, text: &[u8], max_nodes: usize) -> Read<()> {
        self.envelopes.clear();
        self.filters.clear();
        self.events.clear();
        self.pieces.clear();
        self.escapes.clear();
        // What one large payload needed is not kept for the worker's life.
        self.escapes.shrink_to(KEPT_ESCAPES);
        if u32::try_from(text.len()).is_err() {
            return Err(Decline);
        }
        let mut reader = Reader {
            text,
            at: 0,
            escapes: &mut self.escapes,
            most_escapes: text.len() / BYTES_PER_ESCAPE,
        };
        while let Some(b) = reader.peek() {
            if b != b'{' {
                return Err(Decline);
            }
            let start = reader.at;
            let envelope = reader.envelope(&mut self.filters, &mut self.events)?;
            self.envelopes.push(envelope);
            self.pieces.push(start..reader.at);
        }
        // The simd-json path caps the values of the whole text when it holds one object,
        // of each object when it holds several.
        let over = |t: &[u8]| check_values(t, max_nodes).is_err();
        match self.pieces.as_slice() {
            [] => return Err(Decline),
            [_] if over(text) => return Err(Decline),
            pieces
                if pieces.len() > 1
                    && pieces
                        .iter()
                        .any(|p| over(text.get(p.clone()).unwrap_or_default())) =>
            {
                return Err(Decline);
            }
            _ => {}
        }
        debug_assert!(
            simdutf8::basic::from_utf8(text).is_ok(),
            "accepted non-UTF-8"
        );
        Ok(())
    }

    /// Pass 2, after [`FastReader::read`] accepted `buf[..len]`: undoes the escapes in place
    /// and returns the envelopes, their strings borrowed from `buf`.
    ///
    /// # Errors
    /// [`EnvelopeError::Unescaped`] only if this module is wrong (unreachable: pass 1 checked
    /// every escape and byte it rewrites).
    pub(super) fn finish<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
        spare: &mut Spare,
    ) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
        let text = buf.get_mut(..len).unwrap_or_default();
        let escapes = &self.escapes;
        // Says whether an escape stood for a line break.
        let mut undo = |s: &mut Str| -> Result<bool, EnvelopeError> {
            // Out of the list only if this module is wrong: an error, not the string left
            // escaped (review 13).
            let at = escapes
                .get(s.escapes.clone())
                .ok_or(EnvelopeError::Unescaped(s.range.start))?;
            let breaks;
            (s.range, breaks) = unescape_in_place(text, s.range.clone(), at)?;
            Ok(breaks)
        };
        // Each field tested in line: as an iterator over the five (a chain of an array's
        // flattened options) it was a loop of ~50 instructions an envelope.
        for e in &mut self.envelopes {
            let optional = [
                &mut e.owner,
                &mut e.log_group,
                &mut e.log_stream,
                &mut e.policy_level,
            ];
            for s in optional {
                if let Some(s) = s.as_mut().filter(|s| s.escaped()) {
                    undo(s)?;
                }
            }
            if e.message_type.escaped() {
                undo(&mut e.message_type)?;
            }
        }
        for s in self.filters.iter_mut().filter(|s| s.escaped()) {
            undo(s)?;
        }
        // Most events have nothing to undo: tested here, not in a call.
        for ev in &mut self.events {
            if ev.id.escaped() {
                undo(&mut ev.id)?;
            }
            if ev.message.escaped() {
                ev.breaks = undo(&mut ev.message)?;
            }
        }
        let buf: &'a [u8] = buf;
        let text = buf.get(..len).unwrap_or_default();
        debug_assert!(std::str::from_utf8(text).is_ok(), "pass 2 broke UTF-8");
        // SAFETY: `read` accepted this text only if it is UTF-8 (its bytes outside strings
        // are ones it matched as ASCII; each string holding a non-ASCII byte was checked from
        // that byte to its end, and the bytes before it are ASCII), and since then only
        // `unescape_in_place` wrote to it, inside strings (between two `"`), each rewritten
        // as a sequence of valid UTF-8 pieces: runs of the string's own text cut at escapes
        // (a backslash is ASCII, never inside a character, so each run is whole characters),
        // the `char` each escape stands for encoded as UTF-8, and spaces. A text of
        // whole-character pieces is UTF-8; the debug assertions here and in `read` check it
        // in tests.
        let whole: &'a str = unsafe { std::str::from_utf8_unchecked(text) };
        // Each range starts after a `"` and ends before one or before the spaces pass 2 left:
        // always on character boundaries; were it not, an error rather than a panic.
        let str_of = |s: &Str| {
            whole
                .get(s.range.clone())
                .ok_or(EnvelopeError::Unescaped(s.range.start))
        };
        // A `match`, not `map_or`: that was a call per field (~30 instructions each).
        let opt = |s: &Option<Str>| match s {
            Some(s) => str_of(s),
            None => Ok(""),
        };
        // Lists from `spare`, not new ones: this runs for every record.
        let mut out = spare.envelopes();
        for e in &self.envelopes {
            let mut filters = spare.filters();
            for f in self.filters.get(e.filters.clone()).unwrap_or_default() {
                filters.push(str_of(f)?);
            }
            let events = self.events.get(e.events.clone()).unwrap_or_default();
            let mut log_events = spare.events(events.len());
            let mut breaks = false;
            for ev in events {
                breaks |= ev.breaks;
                log_events.push(LogEvent {
                    id: str_of(&ev.id)?,
                    timestamp: ev.timestamp,
                    message: str_of(&ev.message)?,
                });
            }
            out.push(LogEnvelope {
                message_type: MessageType::from_str(str_of(&e.message_type)?),
                owner: opt(&e.owner)?,
                log_group: opt(&e.log_group)?,
                log_stream: opt(&e.log_stream)?,
                subscription_filters: filters,
                policy_level: e.policy_level.as_ref().map(str_of).transpose()?,
                log_events,
                failed_events: Vec::new(),
                unbroken: !breaks,
            });
        }
        Ok(out)
    }
}

/// Undoes the escapes of the string at `range` in place; returns the range it then takes,
/// and whether an escape stood for a line break (`\n` or `\r`: the string's only ones, since
/// pass 1 declined raw control bytes).
/// `escapes` are where its escapes start, in order (pass 1 noted them): the runs between them
/// move back over the bytes the escapes before them freed, and each escape becomes what it
/// stands for. The bytes the string no longer takes become spaces (so the text stays UTF-8).
fn unescape_in_place(
    text: &mut [u8],
    range: Range<usize>,
    escapes: &[u32],
) -> Result<(Range<usize>, bool), EnvelopeError> {
    let Some(first) = escapes.first().map(|&a| a as usize) else {
        return Ok((range, false));
    };
    if range.end > text.len() {
        return Err(EnvelopeError::Unescaped(range.start));
    }
    // Nothing moves before the first escape; from there `write` trails `read`.
    let (mut read, mut write) = (first, first);
    // Bit `b % 32` of each byte `b` a two-byte escape stood for: `\n` and `\r` set bits 10
    // and 13, which no other does (`"`, `\\`, `/`, `\b`, `\f`, `\t`: 2, 28, 15, 8, 12, 9);
    // two instructions an escape where a test of each byte cost six and a spilled register.
    let mut simple = 0u32;
    let mut breaks = false;
    for at in escapes.iter().map(|&a| a as usize) {
        // Pass 1 noted them in order, inside the string; were it not so, an error rather
        // than a panic or bytes moved from the wrong place.
        if !(read..range.end).contains(&at) {
            return Err(EnvelopeError::Unescaped(at));
        }
        // The first run moves nowhere (`write == read`): the same two words written back.
        move_back(text, read, at - read, write);
        write += at - read;
        // Most escapes stand for one ASCII byte (`\"`, `\\`, `\n`): stored without a call.
        let letter = text.get(at + 1).filter(|_| at + 1 < range.end);
        if let Some(byte) = letter.copied().and_then(simple_escape)
            && let Some(slot) = text.get_mut(write)
        {
            *slot = byte;
            simple |= 1 << (byte % 32);
            (read, write) = (at + 2, write + 1);
            continue;
        }
        let (ch, len) = unescape(text.get(at..range.end).unwrap_or_default())
            .map_err(|_| EnvelopeError::Unescaped(at))?;
        read = at + len;
        breaks |= matches!(ch, '\n' | '\r');
        let mut utf8 = [0; 4];
        let out = ch.encode_utf8(&mut utf8).as_bytes();
        text.get_mut(write..write + out.len())
            .ok_or(EnvelopeError::Unescaped(at))?
            .copy_from_slice(out);
        write += out.len();
    }
    move_back(text, read, range.end - read, write);
    write += range.end - read;
    if let Some(freed) = text.get_mut(write..range.end) {
        fill_spaces(freed);
    }
    breaks |= simple & ((1 << b'\n') | (1 << b'\r')) != 0;
    Ok((range.start..write, breaks))
}

/// Moves the `len` bytes at `from` back to `to` (`to` at most `from`; both in `text`, or nothing
/// moves). A run of up to 16 bytes, most runs between a message's escapes, is moved inline as
/// two words that may overlap, both loaded before either is stored (as the NDJSON writer
/// copies its short runs, `sink::spare`); `copy_within` was a `memmove` call of ~13
/// instructions and its checks for every escape (318,516 on 500 records of 200 events).
/// Checked once for the run: with safe word reads each word's checks cost more than the call.
#[inline(always)]
fn move_back(text: &mut [u8], from: usize, len: usize, to: usize) {
    if from + len > text.len() || to > from {
        return;
    }
    if len > 16 {
        text.copy_within(from..from + len, to);
        return;
    }
    let base = text.as_mut_ptr();
    // SAFETY: `from .. from + len` lies inside `text`, and `to + len <= from + len <=
    // text.len()` (checked above), so `to .. to + len` does too; each word below is `N <= len`
    // bytes at the start or the end of one of the two (`len <= 2 * N`: together they cover it).
    // Longest first: the commonest runs are 8 to 16 bytes (46% of those on 500 records of 200
    // events; 0-1: 17%, 2-3: 16%, 4-7: 18%, over 16: 2.5%).
    unsafe {
        if len >= 8 {
            move_words::<8>(base, from, len, to);
        } else if len >= 4 {
            move_words::<4>(base, from, len, to);
        } else if len >= 2 {
            move_words::<2>(base, from, len, to);
        } else if len == 1 {
            *base.add(to) = *base.add(from);
        }
    }
}

/// Fills `run` (the bytes a string's escapes freed, one or a few a string) with spaces: up to
/// 16 bytes as two words that may overlap, where `fill` was a `memset` call (~20 instructions,
/// 24,642 on 500 records of 200 events).
#[inline(always)]
fn fill_spaces(run: &mut [u8]) {
    fn words<const N: usize>(run: &mut [u8]) {
        if let Some(head) = run.first_chunk_mut::<N>() {
            *head = [b' '; N];
        }
        if let Some(tail) = run.last_chunk_mut::<N>() {
            *tail = [b' '; N];
        }
    }
    match run.len() {
        0 => {}
        1 => words::<1>(run),
        2..4 => words::<2>(run),
        4..8 => words::<4>(run),
        8..=16 => words::<8>(run),
        _ => run.fill(b' '),
    }
}

/// [`move_back`] of `len` bytes (`N` to `2 * N`) at `base + from` to `base + to`: the first and
/// last `N` (overlapping below `2 * N`), both read before either is written.
///
/// # Safety
/// `N <= len <= 2 * N`, and `from .. from + len` and `to .. to + len` lie in one allocation at
/// `base`.
#[inline(always)]
unsafe fn move_words<const N: usize>(base: *mut u8, from: usize, len: usize, to: usize) {
    // SAFETY: by the caller's contract, each word is inside the run read or written; unaligned
    // reads and writes of byte arrays.
    unsafe {
        let head = std::ptr::read_unaligned(base.add(from).cast::<[u8; N]>());
        let tail = std::ptr::read_unaligned(base.add(from + len - N).cast::<[u8; N]>());
        std::ptr::write_unaligned(base.add(to).cast::<[u8; N]>(), head);
        std::ptr::write_unaligned(base.add(to + len - N).cast::<[u8; N]>(), tail);
    }
}

/// Scans the string whose text starts at `at`: the index of its closing quote; where each
/// of its escapes starts is pushed on `escapes`. Declines a control byte, a bad escape,
/// invalid UTF-8, a missing closing quote. Sixteen bytes at a time ([`special_mask`]), which
/// also stops at a non-ASCII byte: [`scan_non_ascii`] reads the rest of such a string and
/// checks it is UTF-8 (an ASCII string, most of them, needs no other check: the whole text's
/// was 7.1 M instructions on 500 records of 200 events). Always inlined: it runs twice an
/// event, and as a call it spent a fifth of its work saving and restoring registers.
#[inline(always)]
fn scan_string(text: &[u8], at: usize, escapes: &mut Vec<u32>, most_escapes: usize) -> Read<usize> {
    let found = past_escapes(text, at, escapes, most_escapes)?;
    match text.get(found) {
        Some(b'"') => Ok(found),
        Some(0x80..) => scan_non_ascii(text, found, escapes, most_escapes),
        _ => Err(Decline),
    }
}

/// [`scan_string`] from the string's first non-ASCII byte, at `first`: the rest of it,
/// then a UTF-8 check from `first` to the closing quote (the bytes before are ASCII, and a
/// character never holds a `"` or `\\`, so the string is UTF-8 exactly when this part is).
/// Out of line: few strings get here.
#[inline(never)]
fn scan_non_ascii(
    text: &[u8],
    first: usize,
    escapes: &mut Vec<u32>,
    most_escapes: usize,
) -> Read<usize> {
    // Block by block from each escape's end, not [`past_escapes`]'s way: these strings hold
    // escapes a few bytes apart, and that way's state cost more in saved registers than
    // the blocks it did not load again (+1.4 M on 500 records of 200 events).
    let mut at = first;
    loop {
        let found = next_special::<false>(text, at).ok_or(Decline)?;
        match text.get(found) {
            Some(b'"') => {
                return if crate::swar::utf8_after_ascii(text, first, found) {
                    Ok(found)
                } else {
                    Err(Decline)
                };
            }
            Some(b'\\') => at = step_escape(text, found, escapes, most_escapes)?,
            _ => return Err(Decline),
        }
    }
}

/// The first `"`, control byte or non-ASCII byte of a string's text at or after `at`, each
/// escape before it stepped over and noted ([`step_escape`]). After an escape the search
/// goes on in the mask of the block it was found in (the block's later lanes), not from a
/// new block at the escape's end: a message's escapes come a few bytes apart (`\\'`
/// around each SQL string), and each restart cost a block load, its mask and the loop's
/// start again (-3.7 M instructions on 500 records of 200 events, 91,892 escapes in their
/// ASCII messages).
#[inline(always)]
fn past_escapes(
    text: &[u8],
    mut at: usize,
    escapes: &mut Vec<u32>,
    most_escapes: usize,
) -> Read<usize> {
    loop {
        // The lanes of `mask` are the bytes from `base`; it covers `covered` of them.
        let (mut base, mut mask, mut covered) = next_mask(text, at).ok_or(Decline)?;
        loop {
            let found = base + lanes::first(mask);
            if text.get(found) != Some(&b'\\') {
                return Ok(found);
            }
            let after = step_escape(text, found, escapes, most_escapes)?;
            let skip = after - base;
            if skip >= covered {
                at = after;
                break;
            }
            (base, mask, covered) = (after, lanes::down(mask, skip), covered - skip);
            if mask == 0 {
                at = base + covered;
                break;
            }
        }
    }
}

/// Steps over the escape at `found` (a backslash) and notes where it starts: the index after
/// it. Declines a bad escape, and an escape past `most_escapes`.
#[inline(always)]
fn step_escape(
    text: &[u8],
    found: usize,
    escapes: &mut Vec<u32>,
    most_escapes: usize,
) -> Read<usize> {
    let after = found + escape_len(text.get(found..).unwrap_or_default())?;
    // Denser escapes go the simd-json way, whose memory does not grow with them (the
    // text's length fits a `u32`: `FastReader::read`).
    if escapes.len() >= most_escapes {
        return Err(Decline);
    }
    escapes.push(u32::try_from(found).map_err(|_| Decline)?);
    Ok(after)
}

/// The index of the quote that closes the key whose text starts at `at`. Declines a key with
/// an escape (simd-json compares keys unescaped: the fast reader does not read them), a
/// control byte or invalid UTF-8, and a missing quote. [`scan_string`] without noting
/// escapes: a key is read for every field, and noting its (declined) escapes cost more than
/// finding its end.
#[inline(always)]
fn key_end(text: &[u8], at: usize) -> Read<usize> {
    let found = next_special::<true>(text, at).ok_or(Decline)?;
    match text.get(found) {
        Some(b'"') => Ok(found),
        // No escape may be noted (none allowed), so none is kept.
        Some(0x80..) => scan_non_ascii(text, found, &mut Vec::new(), 0),
        _ => Err(Decline),
    }
}

/// [`next_special`] (non-ASCII bytes too) as the block it is found in: where the block
/// starts, its mask (not zero) and how many bytes from its start it covers (16; for the last
/// bytes of a text, looked at a byte at a time, the special itself is the block: one lane,
/// one byte).
#[inline(always)]
fn next_mask(text: &[u8], at: usize) -> Option<(usize, Mask, usize)> {
    let mut rest = text.get(at..)?;
    while let Some((block, after)) = rest.split_first_chunk::<16>() {
        let mask = special_mask(block);
        if mask != 0 {
            return Some((text.len() - rest.len(), mask, 16));
        }
        rest = after;
    }
    special_in::<true>(rest).map(|j| (text.len() - rest.len() + j, 1, 1))
}

/// Where the first `"`, `\\` or control byte at or after `at` is, and with `HIGH` the first
/// non-ASCII byte too; `None` if there is none. Sixteen bytes at a time ([`special_mask`],
/// [`string_mask`]) on a shrinking rest of the text, so that a step is one bound and one
/// pointer, and so is the start (`as_chunks` spent eleven instructions a call on its count
/// and tail, more than its steps saved); the last bytes one at a time ([`special_in`]).
#[inline(always)]
fn next_special<const HIGH: bool>(text: &[u8], at: usize) -> Option<usize> {
    let mut rest = text.get(at..)?;
    while let Some((block, after)) = rest.split_first_chunk::<16>() {
        let mask = if HIGH {
            special_mask(block)
        } else {
            string_mask(block)
        };
        if mask != 0 {
            return Some(text.len() - rest.len() + lanes::first(mask));
        }
        rest = after;
    }
    special_in::<HIGH>(rest).map(|j| text.len() - rest.len() + j)
}

/// Where the first `"`, `\\` or control byte of `rest` is (with `HIGH`, or non-ASCII byte):
/// the last bytes of a text, which the masks do not take, a byte at a time. Out of line:
/// inlined, it cost the hot loops around it registers.
#[inline(never)]
fn special_in<const HIGH: bool>(rest: &[u8]) -> Option<usize> {
    rest.iter()
        .position(|&b| matches!(b, b'"' | b'\\' | 0..0x20) || (HIGH && b >= 0x80))
}

/// The length of the valid escape at the start of `text` (a backslash).
#[inline]
fn escape_len(text: &[u8]) -> Read<usize> {
    match text.get(1).copied().and_then(simple_escape) {
        Some(_) => Ok(2),
        None => unescape(text).map(|(_, len)| len).map_err(|_| Decline),
    }
}

/// Deepest nesting of an unknown value the reader follows (one bit each of a `u64`).
const MAX_SKIP_DEPTH: u32 = 62;

/// Pass 1's position in the text, and where the escapes of the strings read so far start.
struct Reader<'t, 'e> {
    text: &'t [u8],
    at: usize,
    escapes: &'e mut Vec<u32>,
    /// How many escapes the text may hold on this path ([`BYTES_PER_ESCAPE`]).
    most_escapes: usize,
}

impl<'t> Reader<'t, '_> {
    /// The next byte that is not JSON whitespace (not consumed).
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.text.get(self.at) {
            if !is_ws(b) {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    fn eat(&mut self, byte: u8) -> Read<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Decline)
        }
    }

    /// The string whose opening quote is next. Always inlined: called for each of an
    /// envelope's values (six a one-line record), as a call it cost a third more.
    #[inline(always)]
    fn string(&mut self) -> Read<Str> {
        self.eat(b'"')?;
        self.string_body()
    }

    /// [`Reader::string`] after its opening quote.
    #[inline(always)]
    fn string_body(&mut self) -> Read<Str> {
        let start = self.at;
        let escapes = self.escapes.len();
        let end = scan_string(self.text, start, self.escapes, self.most_escapes)?;
        self.at = end + 1;
        Ok(Str {
            range: start..end,
            escapes: escapes..self.escapes.len(),
        })
    }

    /// A string value, or `None` for `null`.
    fn string_or_null(&mut self) -> Read<Option<Str>> {
        if self.peek() == Some(b'n') {
            self.literal()?;
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// The next key of an object (after `{` when `first`, else after a value), or `None`
    /// when the object ends (its `}` consumed). Keys with escapes are declined: simd-json
    /// compares them unescaped ([`key_end`]).
    fn key(&mut self, first: bool) -> Read<Option<&'t [u8]>> {
        match self.peek() {
            Some(b'}') => {
                self.at += 1;
                return Ok(None);
            }
            Some(b',') if !first => self.at += 1,
            _ if first => {}
            _ => return Err(Decline),
        }
        self.eat(b'"')?;
        let start = self.at;
        let end = key_end(self.text, start)?;
        self.at = end + 1;
        self.eat(b':')?;
        Ok(self.text.get(start..end))
    }

    /// Whether the array has another element (after `[` when `first`, else after one).
    fn element(&mut self, first: bool) -> Read<bool> {
        match self.peek() {
            Some(b']') => {
                self.at += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.at += 1;
                Ok(true)
            }
            _ if first => Ok(true),
            _ => Err(Decline),
        }
    }

    /// `true`, `false` or `null` (what follows is checked by the caller's next step).
    fn literal(&mut self) -> Read<()> {
        let rest = self.text.get(self.at..).unwrap_or_default();
        let word = [&b"true"[..], b"false", b"null"]
            .into_iter()
            .find(|w| rest.starts_with(w))
            .ok_or(Decline)?;
        self.at += word.len();
        Ok(())
    }

    /// A plain integer, `-?(0|[1-9][0-9]{0,17})`: it fits an `i64`, and simd-json reads it as
    /// the same integer. Anything else (a fraction, an exponent, more digits) is declined.
    fn integer(&mut self) -> Read<i64> {
        self.peek();
        let negative = self.text.get(self.at) == Some(&b'-');
        let first = self.at + usize::from(negative);
        let (n, value) =
            leading_digits(self.text.get(first..).unwrap_or_default()).ok_or(Decline)?;
        let at = first + n;
        let leading_zero = n > 1 && self.text.get(first) == Some(&b'0');
        if n == 0 || leading_zero || matches!(self.text.get(at), Some(b'.' | b'e' | b'E')) {
            return Err(Decline);
        }
        // At most 18 digits: below 10^18, it fits.
        let value = i64::try_from(value).map_err(|_| Decline)?;
        self.at = at;
        Ok(if negative { -value } else { value })
    }

    /// Checks and steps over a value of any type, however deep (up to [`MAX_SKIP_DEPTH`]),
    /// without recursion: `open` holds one bit per open container, set for an object.
    fn skip(&mut self) -> Read<()> {
        let (mut open, mut depth) = (0u64, 0u32);
        loop {
            // A value starts here.
            match self.peek() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'{' | b'[') if depth >= MAX_SKIP_DEPTH => return Err(Decline),
                Some(b'{') => {
                    self.at += 1;
                    if self.key(true)?.is_some() {
                        (open, depth) = (open << 1 | 1, depth + 1);
                        continue;
                    }
                }
                Some(b'[') => {
                    self.at += 1;
                    if self.element(true)? {
                        (open, depth) = (open << 1, depth + 1);
                        continue;
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.integer()?;
                }
                _ => self.literal()?,
            }
            // A value ended: close what ends after it, until a next value starts.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let more = if open & 1 == 1 {
                    self.key(false)?.is_some()
                } else {
                    self.element(false)?
                };
                if more {
                    break;
                }
                (open, depth) = (open >> 1, depth - 1);
            }
        }
    }

    /// One payload object, `{` next. Mirrors `envelope_from_tape`'s rules, declining where
    /// that would fail.
    fn envelope(
        &mut self,
        filters: &mut Vec<Str>,
        events: &mut Vec<RawEvent>,
    ) -> Read<RawEnvelope> {
        if let Some(envelope) = self.written(filters, events) {
            return Ok(envelope);
        }
        self.eat(b'{')?;
        let (mut message_type, mut owner, mut log_group, mut log_stream) = (None, None, None, None);
        let mut policy_level = None;
        let filters_start = filters.len();
        let mut log_events = None;
        let mut first = true;
        while let Some(key) = self.key(std::mem::take(&mut first))? {
            match key {
                b"messageType" => once(&mut message_type, self.string()?)?,
                b"owner" => once(&mut owner, self.string()?)?,
                b"logGroup" => once(&mut log_group, self.string()?)?,
                b"logStream" => once(&mut log_stream, self.string()?)?,
                b"policyLevel" => policy_level = self.string_or_null()?,
                b"subscriptionFilters" => {
                    filters.truncate(filters_start);
                    if self.peek() == Some(b'n') {
                        self.literal()?;
                    } else {
                        self.eat(b'[')?;
                        let mut first = true;
                        while self.element(std::mem::take(&mut first))? {
                            filters.push(self.string()?);
                        }
                    }
                }
                b"logEvents" if log_events.is_none() => {
                    let start = events.len();
                    self.events(events)?;
                    log_events = Some(start..events.len());
                }
                b"logEvents" => return Err(Decline),
                _ => self.skip()?,
            }
        }
        let message_type = message_type.ok_or(Decline)?;
        if message_type.escaped() {
            return Err(Decline);
        }
        let strict = self.text.get(message_type.range.clone()) == Some(b"DATA_MESSAGE");
        let missing = [&owner, &log_group, &log_stream]
            .iter()
            .any(|s| s.is_none());
        if strict && (missing || log_events.is_none()) {
            return Err(Decline);
        }
        let end = events.len();
        Ok(RawEnvelope {
            message_type,
            owner,
            log_group,
            log_stream,
            filters: filters_start..filters.len(),
            policy_level,
            events: log_events.unwrap_or(end..end),
        })
    }

    /// A payload written as CloudWatch Logs writes it, its keys in their order and no
    /// space, `policyLevel` only when present:
    /// `{"messageType":"DATA_MESSAGE","owner":"..","logGroup":"..","logStream":"..",
    /// "subscriptionFilters":[".."],"policyLevel":"..","logEvents":[..]}`, read without
    /// looking its keys up (a key looked up cost ~120 instructions: a one-line record's
    /// payload has six). `None`, with nothing consumed or noted, for anything else (another
    /// order or key, a space, a `null`, an escaped `messageType`, and any string or event the
    /// general loop would decline): the general loop then reads the same bytes and decides,
    /// so what is read or declined stays its own.
    fn written(
        &mut self,
        filters: &mut Vec<Str>,
        events: &mut Vec<RawEvent>,
    ) -> Option<RawEnvelope> {
        self.peek();
        let (at, escapes) = (self.at, self.escapes.len());
        let (filters_start, events_start) = (filters.len(), events.len());
        let envelope = self.written_keys(filters, events);
        if envelope.is_none() {
            self.at = at;
            self.escapes.truncate(escapes);
            filters.truncate(filters_start);
            events.truncate(events_start);
        }
        envelope
    }

    /// [`Reader::written`]'s steps, which may stop anywhere.
    fn written_keys(
        &mut self,
        filters: &mut Vec<Str>,
        events: &mut Vec<RawEvent>,
    ) -> Option<RawEnvelope> {
        self.word(br#"{"messageType":""#)?;
        let message_type = self.string_body().ok().filter(|s| !s.escaped())?;
        self.word(br#","owner":""#)?;
        let owner = self.string_body().ok()?;
        self.word(br#","logGroup":""#)?;
        let log_group = self.string_body().ok()?;
        self.word(br#","logStream":""#)?;
        let log_stream = self.string_body().ok()?;
        self.word(br#","subscriptionFilters":["#)?;
        let filters_start = filters.len();
        if self.word(b"]").is_none() {
            loop {
                self.word(b"\"")?;
                filters.push(self.string_body().ok()?);
                if self.word(b",").is_none() {
                    break;
                }
            }
            self.word(b"]")?;
        }
        let policy_level = match self.word(br#","policyLevel":""#) {
            Some(()) => Some(self.string_body().ok()?),
            None => None,
        };
        self.word(br#","logEvents":"#)?;
        let events_start = events.len();
        self.events(events).ok()?;
        self.word(b"}")?;
        Some(RawEnvelope {
            message_type,
            owner: Some(owner),
            log_group: Some(log_group),
            log_stream: Some(log_stream),
            filters: filters_start..filters.len(),
            policy_level,
            events: events_start..events.len(),
        })
    }

    /// `word` itself next (no whitespace skipped), consumed.
    #[inline(always)]
    fn word(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.text.get(self.at..).unwrap_or_default();
        let found = rest.get(..word.len()).is_some_and(|head| head == word);
        self.at += if found { word.len() } else { 0 };
        found.then_some(())
    }

    /// An event written as CloudWatch writes it, `{"id":"..","timestamp":..,"message":".."}`
    /// with no space, read without looking its keys up; `None` (nothing consumed) for any
    /// other layout, which the general loop reads.
    #[inline]
    fn compact_event(&mut self) -> Read<Option<RawEvent>> {
        const ID: &[u8] = br#"{"id":""#;
        const TIMESTAMP: &[u8] = br#"","timestamp":"#;
        const MESSAGE: &[u8] = br#","message":""#;
        self.peek();
        let start = self.at;
        let text = self.text;
        let follows = |at: usize, what: &[u8]| text.get(at..).is_some_and(|t| t.starts_with(what));
        if !follows(start, ID) {
            return Ok(None);
        }
        let id_start = start + ID.len();
        let id_escapes = self.escapes.len();
        let id_end = scan_string(text, id_start, self.escapes, self.most_escapes)?;
        if !follows(id_end, TIMESTAMP) {
            self.escapes.truncate(id_escapes);
            return Ok(None);
        }
        let digits_at = id_end + TIMESTAMP.len();
        let Some((digits, timestamp)) = plain_integer(text.get(digits_at..).unwrap_or_default())
        else {
            self.escapes.truncate(id_escapes);
            return Ok(None);
        };
        self.at = digits_at + digits;
        if !follows(self.at, MESSAGE) {
            self.at = start;
            self.escapes.truncate(id_escapes);
            return Ok(None);
        }
        let message_start = self.at + MESSAGE.len();
        let message_escapes = self.escapes.len();
        let message_end = scan_string(text, message_start, self.escapes, self.most_escapes)?;
        if !follows(message_end, b"\"}") {
            self.at = start;
            self.escapes.truncate(id_escapes);
            return Ok(None);
        }
        self.at = message_end + 2;
        Ok(Some(RawEvent {
            id: Str {
                range: id_start..id_end,
                escapes: id_escapes..message_escapes,
            },
            timestamp,
            message: Str {
                range: message_start..message_end,
                escapes: message_escapes..self.escapes.len(),
            },
            breaks: false,
        }))
    }

    /// The `logEvents` array, `[` next.
    fn events(&mut self, events: &mut Vec<RawEvent>) -> Read<()> {
        self.eat(b'[')?;
        let mut first = true;
        while self.element(std::mem::take(&mut first))? {
            if let Some(event) = self.compact_event()? {
                events.push(event);
                continue;
            }
            self.eat(b'{')?;
            let (mut id, mut timestamp, mut message) = (None, None, None);
            let mut first = true;
            while let Some(key) = self.key(std::mem::take(&mut first))? {
                match key {
                    b"id" => id = Some(self.string()?),
                    b"timestamp" => timestamp = Some(self.integer()?),
                    b"message" => message = Some(self.string()?),
                    _ => self.skip()?,
                }
            }
            events.push(RawEvent {
                id: id.ok_or(Decline)?,
                timestamp: timestamp.ok_or(Decline)?,
                message: message.ok_or(Decline)?,
                breaks: false,
            });
        }
        Ok(())
    }
}

/// The timestamp as CloudWatch writes it at the start of `text`, `[1-9][0-9]{0,17}|0`: its
/// length and value. `None` for any other (a sign, a space, a leading zero, more digits): the
/// general loop reads those with [`Reader::integer`], or declines. What follows the digits is
/// the caller's to check (`,"message"`: no fraction or exponent then). Inlined in
/// [`Reader::compact_event`], without `integer`'s call, blank skipping and sign.
#[inline(always)]
fn plain_integer(text: &[u8]) -> Option<(usize, i64)> {
    let (n, value) = leading_digits(text)?;
    let leading_zero = n > 1 && text.first() == Some(&b'0');
    if n == 0 || leading_zero {
        return None;
    }
    // At most 18 digits: below 10^18, it fits.
    Some((n, i64::try_from(value).ok()?))
}

/// Stores a field that may appear only once (a second is the simd-json path's error).
fn once(slot: &mut Option<Str>, value: Str) -> Read<()> {
    if slot.replace(value).is_some() {
        return Err(Decline);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
