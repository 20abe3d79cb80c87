//! From the chosen split to the event: the pieces raw line breaks cut a record into (each
//! a possible record of its own), and the event with its names and readings.

use crate::audit::dialect::Dialect;
use crate::audit::event::{Ambiguity, AuditEvent, Extra, Name, Object, Provenance, Timestamp};

use super::anchors::Split;
use super::counting::{Numbers, read_numbers, scan_counted};
use super::end::Span;
use super::start::Frame;
use super::{Breaks, LineError, MAX_BREAKS, RawLine, starts_with_timestamp};

/// The line up to a split's object: every raw name (the whole line when the object is a
/// table name). A quoted statement never holds a raw line break: the plugin escapes them.
pub(super) fn names_of<'a>(frame: &Frame<'a>, split: &Split) -> &'a [u8] {
    let end = if split.quoted {
        frame.at + split.object.0
    } else {
        frame.line.len()
    };
    frame.line.get(..end).unwrap_or_default()
}

/// The pieces a raw line break inside the names cuts the record into, that may be records
/// of their own: the text before a break, and the text after a break that starts with a
/// timestamp, up to the record's end or up to a later break (a record joined over several
/// lines may hold whole records between its breaks). At most [`MAX_BREAKS`] breaks are
/// examined.
pub(super) fn break_pieces<'a>(frame: &Frame<'a>, primary: &Split) -> Vec<&'a [u8]> {
    let line = frame.line;
    let names = names_of(frame, primary);
    // Each break as (where it starts, where the text after it starts); `\r\n` is one.
    let breaks: Vec<(usize, usize)> = memchr::memchr2_iter(b'\n', b'\r', names)
        .filter(|&b| !(names.get(b) == Some(&b'\n') && b > 0 && names.get(b - 1) == Some(&b'\r')))
        .take(MAX_BREAKS)
        .map(|b| {
            let crlf = line.get(b..b + 2) == Some(b"\r\n");
            (b, b + if crlf { 2 } else { 1 })
        })
        .collect();
    let mut pieces = Vec::new();
    for (i, &(b, after)) in breaks.iter().enumerate() {
        pieces.push(line.get(..b).unwrap_or_default());
        if !starts_with_timestamp(line.get(after..).unwrap_or_default()) {
            continue;
        }
        pieces.push(line.get(after..).unwrap_or_default());
        for &(later, _) in breaks.get(i + 1..).unwrap_or_default() {
            pieces.push(line.get(after..later).unwrap_or_default());
        }
    }
    pieces
}

/// How many readings the pieces cut by raw line breaks have (each read on its own).
pub(super) fn break_readings(frame: &Frame<'_>, primary: &Split) -> u64 {
    break_pieces(frame, primary)
        .into_iter()
        .filter_map(|piece| scan_counted(piece, Breaks::Unknown).ok())
        .map(|c| c.valid)
        .fold(0u64, u64::saturating_add)
}

// ---- building the event ----

pub(super) fn raw_of<'a>(frame: &Frame<'a>, s: &Split) -> RawLine<'a> {
    let a = &s.anchor;
    RawLine {
        timestamp: frame.timestamp,
        serverhost: frame.serverhost,
        username: frame.get(Span(0, a.user_end)),
        host: frame.get(a.host),
        connection_id: frame.get(a.connection_id),
        query_id: frame.get(a.query_id),
        operation: a.op.as_str(),
        database: frame.get(s.database),
        object: frame.get(s.object),
        quoted: s.quoted,
        retcode: frame.get(s.retcode),
        extra: s.extra.map(|e| frame.get(e)),
        dialect: Dialect::of(frame.form, s.tail),
    }
}

/// One reading of a line as an event (an alternative: no ambiguity of its own), unless its
/// numbers are out of range.
pub(super) fn reading<'a>(
    frame: &Frame<'a>,
    split: &Split,
    epoch_us: i64,
) -> Result<AuditEvent<'a>, LineError> {
    let read = read_numbers(frame, &split.anchor, split.retcode)?;
    Ok(event_of(frame, split, read, epoch_us, Ambiguity::default()))
}

/// The event of a split whose numbers have been read.
///
/// Always inlined, and read from the split's fields (not from [`raw_of`]'s whole
/// [`RawLine`]): called from [`parse`](super::parse), the split was first copied out of
/// [`sole_plain_split`](super::counting::sole_plain_split)'s answer into memory for the call.
#[inline(always)]
pub(super) fn event_of<'a>(
    frame: &Frame<'a>,
    split: &Split,
    numbers: Numbers,
    epoch_us: i64,
    ambiguity: Ambiguity<'a>,
) -> AuditEvent<'a> {
    let names = Names::of(frame, split);
    AuditEvent {
        timestamp: Timestamp {
            epoch_us,
            dialect: Dialect::of(frame.form, split.tail),
        },
        serverhost: names.name(frame.timestamp.len() + 1, frame.at - 1),
        username: names.middle(Span(0, split.anchor.user_end)),
        host: names.middle(split.anchor.host),
        connection_id: numbers.connection_id,
        query_id: numbers.query_id,
        operation: split.anchor.op,
        database: names.middle(split.database),
        object: Object::new(frame.get(split.object), split.quoted),
        retcode: numbers.retcode,
        extra: Extra::new(split.extra.map(|e| frame.get(e))),
        provenance: Provenance::default(),
        ambiguity,
    }
}

/// The line up to its object (every name), checked as UTF-8 once: a `from_utf8` call per
/// field cost more in starting than in checking (names are a few bytes each). A name that
/// is not UTF-8 keeps its bytes ([`Name`]); only the names of a line that is not UTF-8
/// up to its object are checked again, each on its own.
struct Names<'a> {
    line: &'a [u8],
    /// Where `middle` starts in `line`.
    at: usize,
    /// `line[..end]` when it is ASCII (nearly always): every slice of it is text, so a
    /// field is cut from it without the two char-boundary checks of `str::get` (~40
    /// instructions a line over its four names).
    ascii: Option<&'a [u8]>,
    /// `line[..end]` as text, when it is valid UTF-8 but not ASCII.
    text: Option<&'a str>,
}

impl<'a> Names<'a> {
    fn of(frame: &Frame<'a>, split: &Split) -> Self {
        // A statement is checked by whoever reads it; a table name is short.
        let names = names_of(frame, split);
        // ASCII checked first: the check of a few dozen bytes costs a quarter of a UTF-8
        // validator's start.
        let ascii = crate::swar::is_ascii(names);
        Names {
            line: frame.line,
            at: frame.at,
            ascii: ascii.then_some(names),
            text: if ascii {
                None
            } else {
                simdutf8::basic::from_utf8(names).ok()
            },
        }
    }

    /// The name `line[start..end]`: a slice of the checked names when it lies in them (a
    /// field's ends are commas, so char boundaries), else checked on its own.
    ///
    /// Always inlined, the ASCII slice only ([`Names::name_checked`] out of line): called,
    /// four times a line, each answer came back through memory and was copied into the event
    /// (~25 instructions a call for a slice of ~10).
    #[inline(always)]
    fn name(&self, start: usize, end: usize) -> Name<'a> {
        if let Some(field) = self.ascii.and_then(|names| names.get(start..end)) {
            // SAFETY: ASCII bytes are valid UTF-8 (each is a one-byte code point).
            return Name::from(unsafe { std::str::from_utf8_unchecked(field) });
        }
        self.name_checked(start, end)
    }

    /// [`Names::name`] of a field that is not a slice of ASCII names: a slice of the names'
    /// text, or its bytes checked on their own (the names are not UTF-8: this one may be).
    #[inline(never)]
    fn name_checked(&self, start: usize, end: usize) -> Name<'a> {
        match self.text.and_then(|t| t.get(start..end)) {
            Some(s) => Name::from(s),
            None => Name::new(self.line.get(start..end).unwrap_or_default()),
        }
    }

    /// A name of `middle`.
    fn middle(&self, span: Span) -> Name<'a> {
        self.name(self.at + span.0, self.at + span.1)
    }
}

/// Digits only: ids are unsigned 64-bit counters.
pub(super) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    // Up to 19 digits (below 10^19 < u64::MAX) cannot overflow: the common case, read without
    // an overflow check per digit (three numbers per line, 2.7% of a plain log's run).
    if b.len() <= 19 {
        let mut n = 0u64;
        for &c in b {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(n);
    }
    b.iter().try_fold(0u64, |acc, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// [`parse_u64`] of `s[span]`: a number of four to eight digits with eight bytes of `s` ending
/// where it ends (a busy server's query ids and connection ids) is read as one word
/// ([`digits_in_word`], ~30 instructions), where the digit loop costs ~8 a digit and its
/// setup (a four-digit connection id ~38); shorter numbers (return codes) are cheaper by the
/// loop (three digits measured even), longer ones need its overflow checks. Held to
/// [`parse_u64`] by `numbers_at_read_as_parse_u64`.
#[inline(always)]
pub(super) fn parse_u64_at(s: &[u8], span: Span) -> Option<u64> {
    let Span(start, end) = span;
    let n = end.wrapping_sub(start);
    let word = end
        .checked_sub(8)
        .and_then(|from| s.get(from..end))
        .and_then(|w| w.first_chunk::<8>());
    match word {
        Some(word) if (4..=8).contains(&n) => digits_in_word(u64::from_le_bytes(*word), n),
        _ => parse_u64(s.get(start..end).unwrap_or_default()),
    }
}

/// The number the last `n` bytes (1 to 8) of `word` write, read little-endian (the text's
/// order), when all of them are digits: the bytes before them taken as `0`s, every byte
/// checked at once, then digits paired into tens, hundreds and ten-thousands by three
/// multiplications (no product crosses its lane: 9 * 10 + 9, 99 * 100 + 99 and
/// 9999 * 10000 + 9999 fit eight, sixteen and thirty-two bits).
#[inline(always)]
pub(super) fn digits_in_word(word: u64, n: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let keep = u64::MAX << (8 * (8 - n));
    let w = (word & keep) | (ZEROS & !keep);
    // A digit is `0x30..=0x39`: high nibble 3, and still 3 with 6 added. Both nibbles of
    // each byte side by side, compared at once (a byte whose addition carries into the next
    // byte has high nibble `f`, so the line fails on it whatever the carry does).
    let nibbles = (w & HIGH) | ((w.wrapping_add(0x0606_0606_0606_0606) & HIGH) >> 4);
    if nibbles != 0x3333_3333_3333_3333 {
        return None;
    }
    let d = w - ZEROS;
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00ff_00ff_00ff_00ff;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_ffff_0000_ffff;
    Some((d.wrapping_mul(10_000) + (d >> 32)) & 0xffff_ffff)
}

/// `-?digits` in the signed 64-bit range (`i64::MIN` included). Inlined: a call per line
/// (the return code) cost more than its few digits.
#[inline(always)]
pub(super) fn parse_i64(b: &[u8]) -> Option<i64> {
    // One digit (the return code 0 of nearly every line) read at once: `parse_u64` is a
    // call, ~35 instructions a line with its setup.
    if let [d @ b'0'..=b'9'] = b {
        return Some(i64::from(d - b'0'));
    }
    // `split_first`, not `strip_prefix`: the latter compared through an out-of-line slice
    // comparison, ~30 instructions a line.
    let (negative, digits) = match b.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, b),
    };
    let magnitude = parse_u64(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}
