//! A validating JSON reader that walks a text once, in place, for the Lambda event around the
//! records ([`crate::input::kinesis`]).
//!
//! Why not simd-json there: the event is read on one thread before any record can be decoded
//! in parallel, and almost all of it is the records' base64 `data`. simd-json classifies every
//! byte (stage 1), builds a tape of every value and copies every string (stage 2) into fresh
//! buffers as large as the event: on 6,000 one-line records that was a quarter of the whole
//! process, serial. This reader steps over a string with `memchr2` (its end quote or first
//! escape) and one pass that checks its bytes are printable ASCII, falling back to a UTF-8
//! check only for a string that holds other bytes; nothing is allocated but the caller's
//! records and a nesting stack.
//!
//! It accepts exactly RFC 8259 JSON: escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`,
//! `\uXXXX`, surrogate pairs; a lone surrogate is an error), no control byte or invalid UTF-8
//! inside a string, numbers by the grammar (any size: a number is only read where the caller
//! asks), nothing after the value but whitespace, nesting to [`MAX_DEPTH`]. Strings are
//! unescaped in place (an escape never grows), so the caller gets byte ranges of `text`.
//! The property tests hold it to `serde_json` (accepts and rejects the same texts, reads the
//! same values) and the Kinesis event built on it to the simd-json tape walk it replaced.
//!
//! ```text
//! {"Records":[{"kinesis":{"data":"H4sI..."},"eventID":"shardId-000000000000:4959..."}]}
//! value() -> Object, open(), next_key() -> "Records", value() -> Array, open(), next_element()...
//! ```

use std::cell::Cell;
use std::ops::Range;

use super::JsonError;
use crate::input::encoding::UTF8_BOM;
use crate::swar::lanes::{self, Mask};

/// Deepest nesting accepted (simd-json's limit too): the reader keeps one byte per level.
pub(crate) const MAX_DEPTH: usize = 1024;

/// The JSON type of a value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Object,
    Array,
    Number,
    Bool,
    Null,
}

impl Kind {
    /// The type worded for error messages ("found a string"), as [`super::kind`] words it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// The reader: a position in `text`, the closing brackets of the open containers, and the
/// count of values read against a cap (memory for what the caller builds grows with it).
///
/// Top-level values back to back (pages of `aws` output a shell loop appended to one file)
/// are each held to the cap on their own ([`Walk::next_page`]): a file of pages is read
/// however many it holds, as the pages would be one by one. What the caller keeps of every
/// page (its records, its events: [`Walk::keep`]) is bounded across them by the text's own
/// size ([`kept_allowance`]), so memory stays bounded by the input's size limit.
pub(crate) struct Walk<'t> {
    text: &'t mut [u8],
    at: usize,
    /// `}` or `]` for each open container, innermost last.
    open: &'t mut Vec<u8>,
    /// The next `next_key` / `next_element` is the container's first.
    fresh: bool,
    /// The values of the page being read (the whole text when it is one value).
    values: usize,
    max_values: usize,
    /// What the caller keeps of all pages, in values' worth of memory ([`Walk::keep`]).
    kept: usize,
    max_kept: usize,
    /// `None`: a lone surrogate escape is invalid JSON (the `awslogs` event).
    /// `Some`: it is read as U+FFFD and the first one since [`Walk::take_lone_surrogate`]
    /// noted, for a reader that fails only the value holding it ([`Walk::lone_surrogates`]:
    /// a logs API event, a Kinesis record).
    lone: Option<Option<LoneSurrogate>>,
    /// `Some` when asked ([`Walk::keeping_originals`]): the bytes of the strings unescaped in
    /// place since [`Walk::forget_originals`], as they were, to put back
    /// ([`Walk::restore_originals`]) when what holds them is kept as it is in the input.
    originals: Option<Originals>,
    /// What the last error the walk gave was, in its words ([`Walk::last_fault`]): kept for
    /// a failed page's record, whose problem holds no allocation.
    fault: Cell<&'static str>,
}

/// Strings as they were before being unescaped in place: `(offset, len)` of each in the
/// text, their bytes one after the other in `bytes`. Not capped: each string's bytes from
/// its first escape lie in the text walked since [`Walk::forget_originals`], and are kept
/// once, so `bytes` is at most that text (session 31: past a 2 MiB cap a failed record or
/// page part was kept without its bytes, or the input refused; a record is forgotten once
/// read whole, so only a failed one, or a part of a page that does not read, holds more than
/// one record's strings).
#[derive(Debug, Default)]
struct Originals {
    spans: Vec<(usize, usize)>,
    bytes: Vec<u8>,
    /// A string's bytes could not be kept (never, as the text holds them): not all are.
    lost: bool,
}

/// A lone surrogate escape (`\ud800` not followed by a low one, or a low one alone): no
/// character, so the string holding it cannot be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LoneSurrogate {
    /// The escape's code unit (`0xd800` for `\ud800`).
    pub(crate) unit: u16,
    /// Where its backslash is in the text walked.
    pub(crate) offset: usize,
}

impl<'t> Walk<'t> {
    /// A reader of `text` (the JSON text alone, no padding needed) that refuses more than
    /// `max_values` values; `open` is a reusable stack (cleared).
    pub(crate) fn new(text: &'t mut [u8], open: &'t mut Vec<u8>, max_values: usize) -> Self {
        open.clear();
        let max_kept = kept_allowance(text.len(), max_values);
        Walk {
            text,
            at: 0,
            open,
            fresh: false,
            values: 0,
            max_values,
            kept: 0,
            max_kept,
            lone: None,
            originals: None,
            fault: Cell::new(""),
        }
    }

    /// Keeps the bytes of every string unescaped in place since the last
    /// [`Walk::forget_originals`] (only strings with an escape are changed: a real Lambda
    /// event's have none), so that a record that fails can be kept as it is in the input
    /// ([`Walk::restore_originals`]). Memory: at most the text since the last forget.
    pub(crate) fn keeping_originals(mut self) -> Self {
        self.originals = Some(Originals::default());
        self
    }

    /// Drops the originals kept so far: what holds them is read and kept as read.
    pub(crate) fn forget_originals(&mut self) {
        if let Some(o) = &mut self.originals {
            o.spans.clear();
            o.bytes.clear();
            o.lost = false;
        }
    }

    /// Puts back the strings unescaped in place since [`Walk::forget_originals`]: the text
    /// they lie in is as it was in the input again (their ranges no longer hold their text).
    pub(crate) fn restore_originals(&mut self) {
        let Some(o) = &mut self.originals else {
            return;
        };
        let mut end = o.bytes.len();
        for &(at, len) in o.spans.iter().rev() {
            let from = end - len;
            if let (Some(dst), Some(src)) =
                (self.text.get_mut(at..at + len), o.bytes.get(from..end))
            {
                dst.copy_from_slice(src);
            }
            end = from;
        }
        self.forget_originals();
    }

    /// The bytes of `range` as they were in the input, in a copy: the text with the strings
    /// unescaped in place since [`Walk::forget_originals`] put back (the text itself is left
    /// as it is). `None` when not all of them were kept.
    pub(crate) fn original_of(&self, range: Range<usize>) -> Option<Vec<u8>> {
        let o = self.originals.as_ref().filter(|o| !o.lost)?;
        let mut copy = self.text.get(range.clone())?.to_vec();
        let mut end = o.bytes.len();
        for &(at, len) in o.spans.iter().rev() {
            let from = end.saturating_sub(len);
            let dst = at
                .checked_sub(range.start)
                .and_then(|at| copy.get_mut(at..at + len));
            if let (Some(dst), Some(src)) = (dst, o.bytes.get(from..end)) {
                dst.copy_from_slice(src);
            }
            end = from;
        }
        Some(copy)
    }

    /// Whether a string unescaped in place since [`Walk::forget_originals`] lies in `range`
    /// (which then holds other bytes once they are restored).
    pub(crate) fn changed_within(&self, range: &Range<usize>) -> bool {
        self.originals.as_ref().is_some_and(|o| {
            o.spans
                .iter()
                .any(|&(at, len)| at < range.end && range.start < at + len)
        })
    }

    /// Whether every string unescaped in place since [`Walk::forget_originals`] was kept as
    /// it was.
    pub(crate) fn originals_whole(&self) -> bool {
        self.originals.as_ref().is_some_and(|o| !o.lost)
    }

    /// Keeps the string's bytes from `at` (its first escape) to its closing quote as they are,
    /// when originals are kept: they are about to be unescaped in place. A string the text
    /// ends inside (a page cut short) is kept to the end of the text: it is unescaped up to
    /// there before it fails.
    #[cold]
    fn keep_original(&mut self, at: usize) {
        let Some(o) = self.originals.as_mut().filter(|o| !o.lost) else {
            return;
        };
        let to = super::skip_string(self.text, at).map_or(self.text.len(), |e| e - 1);
        match self.text.get(at..to) {
            Some(bytes) => {
                o.spans.push((at, bytes.len()));
                o.bytes.extend_from_slice(bytes);
            }
            None => o.lost = true,
        }
    }

    /// Starts the next top-level value, a page back to back with the one before: the cap
    /// counts its values afresh. What the caller keeps stays counted across pages
    /// ([`Walk::keep`]).
    pub(crate) fn next_page(&mut self) {
        self.count_afresh();
    }

    /// Counts the values of what is read next afresh against the cap: a page
    /// ([`Walk::next_page`]), or an element of the logs API's `events`, whose values the
    /// caller builds nothing for but the event it keeps ([`Walk::keep`] bounds those).
    pub(crate) fn count_afresh(&mut self) {
        self.values = 0;
    }

    /// Steps over a UTF-8 byte order mark that starts the next page: after the whitespace
    /// that ends the page before, a mark followed (after whitespace) by `{`. A file of pages
    /// each written with its mark (PowerShell's `>>`, a Windows tool appending its output to
    /// a file) holds one before each page, and it is not content (the decoder steps over the
    /// first page's, [`Walk::starting_at`]). A mark anywhere else is left where it is, for
    /// the read to refuse at its byte.
    pub(crate) fn page_mark(&mut self) {
        self.skip_ws();
        let Some(after) = self
            .text
            .get(self.at..)
            .and_then(|rest| rest.strip_prefix(UTF8_BOM))
        else {
            return;
        };
        if after.iter().find(|b| !super::is_ws(**b)) == Some(&b'{') {
            self.at += UTF8_BOM.len();
        }
    }

    /// A reader that starts at byte `at` of its text, the bytes before it stepped over: a
    /// UTF-8 byte order mark, so that every offset the walk gives is of the input as it is
    /// (the decoder reads a file's JSON past its mark in place).
    pub(crate) fn starting_at(mut self, at: usize) -> Self {
        self.at = at;
        self
    }

    /// Reads a lone surrogate escape as U+FFFD (3 bytes, never longer than the escape) and
    /// notes it, instead of failing the text: the logs API's JSON fails the one event holding
    /// it ([`crate::input::logs_api`]), a Kinesis event or `get-records` output the one
    /// record ([`crate::input::kinesis`]).
    pub(crate) fn lone_surrogates(mut self) -> Self {
        self.lone = Some(None);
        self
    }

    /// The first lone surrogate read since the last call ([`Walk::lone_surrogates`]).
    pub(crate) fn take_lone_surrogate(&mut self) -> Option<LoneSurrogate> {
        self.lone.as_mut().and_then(Option::take)
    }

    /// Where the walk is: after [`Walk::value`], the value's first byte; after a value is
    /// read, just past it.
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// The words of the last error the walk gave (`""` before any): a page that fails is
    /// kept as a record whose problem names them ([`crate::input::kinesis`]).
    pub(crate) fn last_fault(&self) -> &'static str {
        self.fault.get()
    }

    /// The error of a lone surrogate escape read where no value can fail alone (outside a
    /// Kinesis record: [`Walk::lone_surrogates`]), at its byte, as the walk would have
    /// given it where it read it.
    pub(crate) fn lone_surrogate_error(&self, lone: LoneSurrogate) -> JsonError {
        self.fail(lone.offset, LONE_SURROGATE)
    }

    /// The fault of a page that starts where a value of the page before should (after
    /// [`Walk::value`] found an object: its first key is `key`, [`super::next_page_start`]):
    /// the page before lacks its end (a download cut short, the next page appended), and the
    /// page is read as a page, not as an element of the one before.
    #[inline(always)]
    pub(crate) fn page_inside(&self, key: &[u8], msg: &'static str) -> Result<(), JsonError> {
        // Almost every element: `{"` and a first letter other than the key's (`{"kinesis"`,
        // `{"SequenceNumber"`, `{"timestamp"`), told by two bytes (the full look was ~47
        // instructions a record on 6,000 one-line records: +0.18%).
        if let Some(&[b'"', first]) = self.text.get(self.at + 1..self.at + 3)
            && key.first() != Some(&first)
        {
            return Ok(());
        }
        if super::starts_page(self.text, self.at, key) {
            return Err(self.fail(self.at, msg));
        }
        Ok(())
    }

    /// Goes on from byte `at` as from the start of a text: no container open, the values
    /// counted afresh (a new page), no lone surrogate or original kept. For a page found
    /// past a part that did not read ([`crate::input::kinesis`]).
    pub(crate) fn resume_at(&mut self, at: usize) {
        self.open.clear();
        self.at = at;
        self.fresh = false;
        self.count_afresh();
        self.take_lone_surrogate();
        self.forget_originals();
    }

    /// The error at `at`. Out of line and cold: the hot reads inline their callers' paths,
    /// and building the message (an allocation) would fill them.
    #[cold]
    #[inline(never)]
    fn fail(&self, at: usize, msg: &'static str) -> JsonError {
        self.fault.set(msg);
        JsonError::Invalid {
            offset: at,
            record: None,
            msg: msg.to_owned(),
        }
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        // Compact JSON (a Lambda event): the next byte is no whitespace; all are below `!`.
        if self.text.get(self.at).is_some_and(|b| *b > b' ') {
            return;
        }
        while self.text.get(self.at).is_some_and(|b| super::is_ws(*b)) {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8, msg: &'static str) -> Result<(), JsonError> {
        self.skip_ws();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.fail(self.at, msg))
        }
    }

    /// The text as it stands: everything behind the walk is final (strings unescaped).
    pub(crate) fn text(&self) -> &[u8] {
        self.text
    }

    /// The bytes of a string read before (a range [`Walk::string`] returned).
    pub(crate) fn bytes(&self, range: &Range<usize>) -> &[u8] {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// Starts the next value: its type, from its first byte (nothing consumed yet). Counts it.
    /// Inlined, as are [`Walk::next_key`] and [`Walk::next_element`]: called once or twice a
    /// value, a call and its `Result` in memory cost more than the read (one-line records).
    #[inline(always)]
    pub(crate) fn value(&mut self) -> Result<Kind, JsonError> {
        self.skip_ws();
        let kind = match self.text.get(self.at) {
            Some(b'"') => Kind::String,
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            Some(_) => return Err(self.fail(self.at, "expected a value")),
            None => return Err(self.fail(self.at, "unexpected end of text")),
        };
        self.count()?;
        Ok(kind)
    }

    #[inline(always)]
    fn count(&mut self) -> Result<(), JsonError> {
        self.charge(1)
    }

    /// Counts `values` more against the cap: what the caller builds for one value may take
    /// the memory of several.
    #[inline(always)]
    pub(crate) fn charge(&mut self, values: usize) -> Result<(), JsonError> {
        self.values = self.values.saturating_add(values);
        if self.values > self.max_values {
            return Err(JsonError::TooManyValues {
                bound: self.values,
                max: self.max_values,
            });
        }
        Ok(())
    }

    /// Counts the value just started ([`Walk::value`] counted it once), which the caller keeps
    /// as memory worth `values` values (a record, an event): so against the page's cap, and
    /// against what may be kept of the whole text ([`kept_allowance`]). Within one page the
    /// page's cap is reached first; only pages back to back can reach the other.
    #[inline(always)]
    pub(crate) fn keep(&mut self, values: usize) -> Result<(), JsonError> {
        self.charge(values.saturating_sub(1))?;
        self.kept = self.kept.saturating_add(values);
        if self.kept > self.max_kept {
            return Err(JsonError::TooManyKept {
                kept: self.kept,
                max: self.max_kept,
            });
        }
        Ok(())
    }

    /// The values counted so far.
    #[cfg(test)]
    pub(crate) fn values(&self) -> usize {
        self.values
    }

    /// Whether only whitespace is left: after a top-level value, another may follow where
    /// the caller allows values back to back (pages of `aws` output written one after another).
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.at >= self.text.len()
    }

    /// Whether an object starts next (after whitespace): another top-level object, back to
    /// back with the one before.
    pub(crate) fn at_object(&mut self) -> bool {
        self.skip_ws();
        self.text.get(self.at) == Some(&b'{')
    }

    /// After the top-level value: only whitespace may follow.
    pub(crate) fn end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.at < self.text.len() {
            return Err(self.fail(self.at, "text after the JSON value"));
        }
        Ok(())
    }

    /// Enters the object or array that [`Walk::value`] found; then [`Walk::next_key`] or
    /// [`Walk::next_element`] until they say it is done.
    pub(crate) fn open(&mut self, kind: Kind) -> Result<(), JsonError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(self.fail(self.at, "nesting deeper than 1024"));
        }
        self.open
            .push(if kind == Kind::Object { b'}' } else { b']' });
        self.at += 1;
        self.fresh = true;
        Ok(())
    }

    fn close(&mut self) {
        self.open.pop();
        self.at += 1;
    }

    /// The next key of the open object (its value comes next: [`Walk::value`]), or `None`
    /// when the object ends.
    #[inline(always)]
    pub(crate) fn next_key(&mut self) -> Result<Option<Range<usize>>, JsonError> {
        let first = std::mem::take(&mut self.fresh);
        self.skip_ws();
        match self.text.get(self.at) {
            Some(b'}') => {
                self.close();
                return Ok(None);
            }
            Some(b',') if !first => {
                self.at += 1;
                self.skip_ws();
            }
            _ if first => {}
            _ => return Err(self.fail(self.at, "expected `,` or `}`")),
        }
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.fail(self.at, "expected a string key"));
        }
        self.count()?;
        let key = self.string()?;
        self.expect(b':', "expected `:`")?;
        Ok(Some(key))
    }

    /// Whether the open array has another element (read it with [`Walk::value`]).
    #[inline(always)]
    pub(crate) fn next_element(&mut self) -> Result<bool, JsonError> {
        let first = std::mem::take(&mut self.fresh);
        self.skip_ws();
        match self.text.get(self.at) {
            Some(b']') => {
                self.close();
                Ok(false)
            }
            Some(b',') if !first => {
                self.at += 1;
                Ok(true)
            }
            _ if first => Ok(true),
            _ => Err(self.fail(self.at, "expected `,` or `]`")),
        }
    }

    /// Reads the value [`Walk::value`] found and drops it, however deep (no recursion). A
    /// string (most values skipped) is read inline; any other value out of line.
    #[inline(always)]
    pub(crate) fn skip(&mut self, kind: Kind) -> Result<(), JsonError> {
        match kind {
            Kind::String => self.string().map(drop),
            _ => self.skip_other(kind),
        }
    }

    /// [`Walk::skip`] of a value that may not be a string.
    #[inline(never)]
    fn skip_other(&mut self, kind: Kind) -> Result<(), JsonError> {
        match kind {
            Kind::String => self.string().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::Bool | Kind::Null => self.literal(),
            Kind::Object | Kind::Array => {
                let depth = self.open.len();
                self.open(kind)?;
                while self.open.len() > depth {
                    let more = if self.open.last() == Some(&b'}') {
                        self.next_key()?.is_some()
                    } else {
                        self.next_element()?
                    };
                    if more {
                        match self.value()? {
                            inner @ (Kind::Object | Kind::Array) => self.open(inner)?,
                            inner => self.skip(inner)?,
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Reads a string whose opening quote is at the position, unescaping it in place; its
    /// bytes are then `bytes(&range)` (valid UTF-8).
    #[inline]
    pub(crate) fn string(&mut self) -> Result<Range<usize>, JsonError> {
        let start = self.at + 1;
        // Most strings (keys, short values): printable ASCII up to the closing quote within
        // the first [`SHORT`] bytes. Read here, in a few instructions; the rest out of line.
        let known = match short_run(self.text.get(start..).unwrap_or_default()) {
            Ok(run) if self.text.get(start + run) == Some(&b'"') => {
                self.at = start + run + 1;
                return Ok(start..start + run);
            }
            Ok(run) | Err(run) => run,
        };
        self.string_from(start, known)
    }

    /// [`Walk::string`] whose text starts at `start`, its first `known` bytes printable ASCII
    /// other than `"` and `\` (looked at already: a string longer than [`SHORT`] bytes, an
    /// `eventID` or a `data`, is not looked at twice): any length, escapes undone in place.
    #[inline(never)]
    fn string_from(&mut self, start: usize, known: usize) -> Result<Range<usize>, JsonError> {
        let (mut read, mut write, mut known) = (start, start, known);
        let mut kept = false;
        loop {
            // The run's bytes before `from` are known plain; a character starts at `from`.
            let from = read + std::mem::take(&mut known);
            let rest = self.text.get(from..).unwrap_or_default();
            let run = from - read
                + match short_run(rest) {
                    Ok(run) => run,
                    Err(plain) => {
                        let tail = rest.get(plain..).unwrap_or_default();
                        let Some(run) = memchr::memchr2(b'"', b'\\', tail) else {
                            return Err(self.fail(start - 1, "unterminated string"));
                        };
                        check_run(tail.get(..run).unwrap_or_default())
                            .map_err(|(at, msg)| self.fail(from + plain + at, msg))?;
                        plain + run
                    }
                };
            if write != read {
                self.text.copy_within(read..read + run, write);
            }
            read += run;
            write += run;
            if self.text.get(read) == Some(&b'"') {
                self.at = read + 1;
                return Ok(start..write);
            }
            if !kept {
                // The first escape: the bytes from here on are about to change.
                self.keep_original(read);
                kept = true;
            }
            let (ch, len) = match unescape(self.text.get(read..).unwrap_or_default()) {
                Ok(got) => got,
                Err(LONE_SURROGATE) if self.lone.is_some() => self.lone_surrogate(read),
                Err(msg) => return Err(self.fail(read, msg)),
            };
            let mut utf8 = [0; 4];
            let out = ch.encode_utf8(&mut utf8).as_bytes();
            // An escape is at least as long as what it stands for, so this stays behind `read`.
            if let Some(dst) = self.text.get_mut(write..write + out.len()) {
                dst.copy_from_slice(out);
            }
            read += len;
            write += out.len();
        }
    }

    /// A lone surrogate escape at `at`, read as U+FFFD (its 6 bytes) and noted.
    #[cold]
    fn lone_surrogate(&mut self, at: usize) -> (char, usize) {
        let unit = hex4(self.text.get(at + 2..at + 6)).unwrap_or_default();
        let seen = LoneSurrogate {
            unit: u16::try_from(unit).unwrap_or_default(),
            offset: at,
        };
        if let Some(first) = &mut self.lone {
            *first = first.or(Some(seen));
        }
        (char::REPLACEMENT_CHARACTER, 6)
    }

    /// Reads a number by the JSON grammar; its text is `bytes(&range)`.
    pub(crate) fn number(&mut self) -> Result<Range<usize>, JsonError> {
        let start = self.at;
        let text = &*self.text;
        let digits = |from: usize| {
            text.get(from..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut at = start + usize::from(text.get(start) == Some(&b'-'));
        match text.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at += digits(at),
            _ => return Err(self.fail(at, "invalid number")),
        }
        if text.get(at) == Some(&b'.') {
            let n = digits(at + 1);
            if n == 0 {
                return Err(self.fail(at + 1, "invalid number: no digit after `.`"));
            }
            at += 1 + n;
        }
        if matches!(text.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(text.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let n = digits(at);
            if n == 0 {
                return Err(self.fail(at, "invalid number: no digit in the exponent"));
            }
            at += n;
        }
        self.at = at;
        Ok(start..at)
    }

    /// Reads a value of a layout known in advance (the records AWS sends), cheaper than key
    /// by key: `read` steps through its exact bytes with [`Fixed`]'s reads, which write
    /// nothing, and gives the value and how many keys and values it read. When it gives up
    /// (`None`: another layout, an escape, whitespace, anything unexpected) the position goes
    /// back to where it was, so the general reads then see the text untouched and give
    /// exactly their value or error. On success the keys and values are counted against the
    /// cap, as the general reads would count them one by one; when they would pass it, this
    /// gives up too, so the cap's error stays the general reads' own.
    #[inline(always)]
    pub(crate) fn fixed<T>(
        &mut self,
        read: impl FnOnce(&mut Fixed<'_, 't>) -> Option<(T, usize)>,
    ) -> Option<T> {
        let at = self.at;
        let counted = read(&mut Fixed { walk: self }).and_then(|(value, values)| {
            let n = self.values.checked_add(values)?;
            (n <= self.max_values).then_some((value, n))
        });
        let Some((value, n)) = counted else {
            self.at = at;
            return None;
        };
        self.values = n;
        Some(value)
    }

    fn literal(&mut self) -> Result<(), JsonError> {
        let rest = self.text.get(self.at..).unwrap_or_default();
        let word = [&b"true"[..], b"false", b"null"]
            .into_iter()
            .find(|w| rest.starts_with(w))
            .ok_or_else(|| self.fail(self.at, "expected `true`, `false` or `null`"))?;
        self.at += word.len();
        Ok(())
    }
}

/// The reads of [`Walk::fixed`]: each takes exactly what it expects and moves on, or gives
/// `None`; none writes the text (no escape is undone), so giving up needs no undoing.
pub(crate) struct Fixed<'w, 't> {
    walk: &'w mut Walk<'t>,
}

impl Fixed<'_, '_> {
    /// `word` itself next (no whitespace skipped), then a string with no escape, as the
    /// word ends with the string's opening quote: the string's range, as [`Walk::string`]
    /// gives it. `None` at a `\` or at anything [`Walk::string`] refuses.
    #[inline(always)]
    pub(crate) fn string_after(&mut self, word: &[u8]) -> Option<Range<usize>> {
        self.word(word)?;
        let walk = &mut *self.walk;
        let start = walk.at;
        let rest = walk.text.get(start..).unwrap_or_default();
        let run = match short_run(rest) {
            Ok(run) => run,
            Err(plain) => plain + plain_tail(rest.get(plain..).unwrap_or_default())?,
        };
        if rest.get(run) != Some(&b'"') {
            return None;
        }
        walk.at = start + run + 1;
        Some(start..start + run)
    }

    /// `word` itself next (no whitespace skipped).
    #[inline(always)]
    pub(crate) fn word(&mut self, word: &[u8]) -> Option<()> {
        let walk = &mut *self.walk;
        let rest = walk.text.get(walk.at..).unwrap_or_default();
        let found = rest.get(..word.len()).is_some_and(|head| head == word);
        walk.at += if found { word.len() } else { 0 };
        found.then_some(())
    }

    /// A part of the text read by `read`, or, when the bytes next are exactly those of
    /// `earlier` (a part these reads accepted behind the position, and the text behind the
    /// position is final), stepped over with one comparison: `read` would accept them just
    /// the same, as what it reads depends on those bytes alone. The part's range, or `None`
    /// when `read` gives up.
    #[inline(always)]
    pub(crate) fn part(
        &mut self,
        earlier: Option<&Range<usize>>,
        read: impl FnOnce(&mut Self) -> Option<()>,
    ) -> Option<Range<usize>> {
        let start = self.walk.at;
        let text = &*self.walk.text;
        // A `match`, not `Option::filter`: that was a call (~40 instructions besides the
        // comparison) for each part of each record.
        let again = match earlier {
            Some(e) if !e.is_empty() && e.end <= start => {
                let next = text.get(start..start + e.len());
                next.is_some_and(|next| text.get(e.clone()) == Some(next))
            }
            _ => false,
        };
        match earlier {
            Some(e) if again => self.walk.at += e.len(),
            _ => read(self)?,
        }
        Some(start..self.walk.at)
    }

    /// A number next written as digits, maybe a point and more digits, 15 digits in all at
    /// most (no sign, no exponent, no leading zero: `1711200968.517`, as AWS writes an
    /// `approximateArrivalTimestamp`), read eight digits at a time: its digits as one
    /// integer and how many follow the point. `None`, nothing consumed, for any other
    /// number (or no number), which [`Fixed::number`] reads by the grammar; where this reads
    /// one, [`Fixed::number`] would take the same bytes (its range, given first).
    #[inline(always)]
    pub(crate) fn decimal(&mut self) -> Option<(Range<usize>, u64, usize)> {
        let walk = &mut *self.walk;
        let start = walk.at;
        let rest = walk.text.get(start..)?;
        let (whole, value) = digits::leading_digits(rest)?;
        if whole == 0 || (whole > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        let (scale, fraction) = match rest.get(whole) {
            Some(b'.') => digits::leading_digits(rest.get(whole + 1..)?)?,
            _ => (0, 0),
        };
        let end = whole + if scale > 0 { 1 + scale } else { 0 };
        let digits = whole + scale;
        let cut = rest.get(whole) == Some(&b'.') && scale == 0;
        if digits > 15 || cut || matches!(rest.get(end), Some(b'e' | b'E')) {
            return None;
        }
        let mantissa = value * digits::POW10.get(scale)? + fraction;
        walk.at = start + end;
        Some((start..start + end, mantissa, scale))
    }

    /// A number by the JSON grammar next: its range ([`Walk::number`]).
    pub(crate) fn number(&mut self) -> Option<Range<usize>> {
        self.walk.number().ok()
    }

    /// The bytes of a range read before.
    pub(crate) fn bytes(&self, range: &Range<usize>) -> &[u8] {
        self.walk.bytes(range)
    }
}

/// Bytes of text per value's worth of memory kept across pages ([`kept_allowance`]): a
/// value's worth is a simd-json tape node's 16 bytes, what the value caps were set in, so
/// what is kept stays within four times the text. A logs API event of `aws logs
/// get-log-events` (no `eventId`, no `logStreamName`) is written in about 214 bytes and kept
/// in 224 (review of session 28: at one value per 16 bytes, 120,000 such events in 12 pages
/// were refused).
pub(crate) const KEPT_VALUE_BYTES: usize = 4;

/// How much the caller of a walk over `len` bytes may keep of all its pages, in values' worth
/// of memory: as much as one page may (`max_values`), or as much memory as the text takes,
/// whichever is more. An `aws kinesis get-records` record is written in 300 bytes or more
/// and kept in 256, a logs API event in about 214 (compact, no ids) and kept in 224; a file
/// of minimal elements (`0,`, `{},`) over many pages would keep a hundred times its size,
/// and is refused. The text itself is held
/// within `--max-file-size`, so this bounds what is kept by it too.
pub(crate) fn kept_allowance(len: usize, max_values: usize) -> usize {
    max_values.max(len / KEPT_VALUE_BYTES)
}

/// The length of the run of string bytes at the start of `tail` up to its first `"` or
/// `\`, when all of it is bytes a string may hold ([`check_run`]); out of line, for the
/// long strings (a `data`) that [`short_run`] did not finish.
#[inline(never)]
fn plain_tail(tail: &[u8]) -> Option<usize> {
    let run = memchr::memchr2(b'"', b'\\', tail)?;
    check_run(tail.get(..run).unwrap_or_default()).ok()?;
    Some(run)
}

/// Bytes of a string looked at a word at a time before `memchr2` takes over. Most strings of
/// an event are keys and short values (`"eventSource":"aws:kinesis"`): they end within
/// this, and starting a `memchr2` call and the check after it cost more than the search (on
/// 6,000 one-line records, ~24 strings a record, 79 instructions a call). A base64 `data`
/// goes on to `memchr2` after these bytes.
const SHORT: usize = 64;

/// The run at the start of `rest` up to its first `"` or `\`, when that is within [`SHORT`]
/// bytes and every byte before it is printable ASCII (so already checked): `Ok(its length)`.
/// Otherwise `Err(n)`: the first `n` bytes are printable ASCII other than `"` and `\`, and
/// the byte after them is not one of those or was not looked at (past [`SHORT`] bytes, or
/// within the last eight bytes of the text).
///
/// On x86_64 and aarch64 sixteen bytes at a time with SSE2 or NEON ([`special_mask`]), then
/// at most one word; elsewhere a word at a time ([`short_run_words`], the reference: both
/// give the same result, a property test checks). Always inlined: a record as AWS writes it has twelve
/// strings read with it (`kinesis/layout.rs`), and the call cost ~15 of its ~57
/// instructions (6,000 one-line records: -0.6 M, serial).
#[inline(always)]
fn short_run(rest: &[u8]) -> Result<usize, usize> {
    #[cfg(vector16)]
    {
        let mut at = 0;
        while at < SHORT {
            let Some(block) = rest.get(at..at + 16).and_then(|b| b.first_chunk::<16>()) else {
                break;
            };
            let mask = special_mask(block);
            if mask != 0 {
                let run = at + lanes::first(mask);
                return match rest.get(run) {
                    Some(b'"' | b'\\') => Ok(run),
                    _ => Err(run),
                };
            }
            at += 16;
        }
        short_run_words(rest, at)
    }
    #[cfg(not(vector16))]
    short_run_words(rest, 0)
}

/// [`short_run`] a word at a time from `at` (up to [`SHORT`] bytes: the bytes before `at`
/// are printable ASCII other than `"` and `\`).
#[inline]
fn short_run_words(rest: &[u8], mut at: usize) -> Result<usize, usize> {
    use crate::sink::json_escape::{escape_mask, first_byte, word_at};
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while at < SHORT {
        let Some(word) = word_at(rest, at) else {
            return Err(at);
        };
        // `"`, `\` and bytes below 0x20 (exactly, no borrow across bytes), and non-ASCII.
        let mask = escape_mask(word) | word & HIGH;
        if mask != 0 {
            let run = at + first_byte(mask);
            return match rest.get(run) {
                Some(b'"' | b'\\') => Ok(run),
                _ => Err(run),
            };
        }
        at += 8;
    }
    Err(at)
}

/// Lane `i` of the [`Mask`] is set when `block[i]` is `"`, `\\` or below 0x20 (a
/// non-ASCII byte is not): what ends a run of a string whose text is known to be UTF-8.
/// SSE2 on x86_64, NEON on aarch64, a byte at a time elsewhere (the same bits; a property
/// test checks).
#[inline]
pub(crate) fn string_mask(block: &[u8; 16]) -> Mask {
    #[cfg(sse2)]
    {
        sse2::string_mask(block)
    }
    #[cfg(neon)]
    {
        neon::string_mask(block)
    }
    #[cfg(not(vector16))]
    string_mask_bytes(block)
}

/// Lane `i` of the [`Mask`] is set when `block[i]` is `"`, `\\`, below 0x20 or not
/// ASCII: [`string_mask`] that also stops at the first byte of a character that wants a UTF-8
/// check (the envelope's fast reader checks only the strings that hold one). SSE2 on x86_64,
/// NEON on aarch64, a byte at a time elsewhere (the same bits; a property test checks).
#[inline]
pub(crate) fn special_mask(block: &[u8; 16]) -> Mask {
    #[cfg(sse2)]
    {
        sse2::special_mask(block)
    }
    #[cfg(neon)]
    {
        neon::special_mask(block)
    }
    #[cfg(not(vector16))]
    special_mask_bytes(block)
}

/// [`special_mask`] a byte at a time, one bit a byte: the reference.
#[cfg(any(test, not(vector16)))]
pub(crate) fn special_mask_bytes(block: &[u8; 16]) -> u32 {
    block
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'"' | b'\\' | 0..0x20 | 0x80..))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// [`string_mask`] a byte at a time, one bit a byte: the reference.
#[cfg(any(test, not(vector16)))]
pub(crate) fn string_mask_bytes(block: &[u8; 16]) -> u32 {
    block
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'"' | b'\\' | 0..0x20))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// SSE2: sixteen bytes compared at once, one bit per byte. As in [`crate::swar`], ordinary
/// inlined functions whose intrinsics rest on the module's cfg: compiled only where the
/// target has SSE2 (every x86_64 target unless it is turned off by hand), elsewhere the
/// word-at-a-time twins run.
#[cfg(sse2)]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    /// The sixteen bytes as one vector.
    #[inline(always)]
    fn load(block: &[u8; 16]) -> __m128i {
        // SAFETY: the target has SSE2 (the module's cfg); `block` is sixteen readable bytes,
        // and `_mm_loadu_si128` needs no alignment.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    /// Bit `i` is set when `block[i]` is `"`, `\`, below 0x20 or not ASCII.
    #[inline(always)]
    pub(super) fn special_mask(block: &[u8; 16]) -> u32 {
        let v = load(block);
        // SAFETY: the target has SSE2 (the module's cfg). The casts keep the bits; the mask
        // has sixteen bits, so the sign of the i32 is never set.
        unsafe {
            // Signed: bytes from 0x80 are negative, so below 0x20 too.
            let low_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(low_or_high, _mm_or_si128(quote, backslash))) as u32
        }
    }

    /// Bit `i` is set when `block[i]` is `"`, `\`, or below 0x20.
    #[inline(always)]
    pub(super) fn string_mask(block: &[u8; 16]) -> u32 {
        let v = load(block);
        // SAFETY: the target has SSE2 (the module's cfg). The casts keep the bits; the mask
        // has sixteen bits, so the sign of the i32 is never set.
        unsafe {
            // Unsigned: a byte is below 0x20 when the smaller of it and 0x1f is itself (one
            // compare fewer than a signed test that then takes the high bytes back out).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) as u32
        }
    }
}

/// NEON: the twin of [`sse2`], four bits a byte ([`Mask`]).
#[cfg(neon)]
mod neon {
    use crate::swar::neon::{eq, load, lt, lt_signed, nibbles, or, splat};

    /// Four bits per byte set when the byte is `"`, `\\`, below 0x20 or not ASCII.
    #[inline(always)]
    pub(super) fn special_mask(block: &[u8; 16]) -> u64 {
        let v = load(block);
        // Signed, as SSE2's: bytes from 0x80 are negative, so below 0x20 too.
        let outside = lt_signed(v, splat(0x20));
        nibbles(or(outside, or(eq(v, splat(b'"')), eq(v, splat(b'\\')))))
    }

    /// Four bits per byte set when the byte is `"`, `\\`, or below 0x20.
    #[inline(always)]
    pub(super) fn string_mask(block: &[u8; 16]) -> u64 {
        let v = load(block);
        nibbles(or(
            lt(v, splat(0x20)),
            or(eq(v, splat(b'"')), eq(v, splat(b'\\'))),
        ))
    }
}

/// Checks a run of string bytes between escapes: no control byte, valid UTF-8. Printable ASCII
/// (all of a base64 `data`) is checked in one branch-free pass; only a run holding other bytes
/// is looked at again. A multi-byte character cannot straddle runs: quotes and backslashes
/// are ASCII, never inside one.
fn check_run(run: &[u8]) -> Result<(), (usize, &'static str)> {
    // 0x20..=0x7f maps to 0..=0x5f; a max, not an early exit, so it runs on vectors.
    let highest = run.iter().fold(0u8, |m, &b| m.max(b.wrapping_sub(0x20)));
    if highest < 0x60 {
        return Ok(());
    }
    if let Some(at) = run.iter().position(|&b| b < 0x20) {
        return Err((at, "control character in a string"));
    }
    std::str::from_utf8(run).map_err(|e| (e.valid_up_to(), "invalid UTF-8 in a string"))?;
    Ok(())
}

/// The character an escape at the start of `text` (a backslash) stands for, and the escape's
/// length (12 for a surrogate pair).
pub(crate) fn unescape(text: &[u8]) -> Result<(char, usize), &'static str> {
    match text.get(1) {
        Some(b'u') => unicode(text),
        Some(&letter) => simple_escape(letter)
            .map(|byte| (char::from(byte), 2))
            .ok_or("invalid escape"),
        None => Err("invalid escape"),
    }
}

/// The ASCII byte the two-byte escape of `letter` stands for (`n` in `\n`: a line feed);
/// `None` for `u` (a `\uXXXX` escape, [`unescape`]) and for what is no escape. The one
/// table of RFC 8259's short escapes: the envelope's fast reader stores them without
/// calling [`unescape`].
#[inline]
pub(crate) fn simple_escape(letter: u8) -> Option<u8> {
    SIMPLE_ESCAPES
        .get(usize::from(letter))
        .copied()
        .filter(|&byte| byte != 0)
}

/// [`simple_escape`] of every byte, 0 for none (no short escape stands for a NUL). A load
/// where a `match` compiled to a jump table: eight instructions and an indirect jump, twice
/// an escape on the envelope's fast path (its check, then its undoing).
const SIMPLE_ESCAPES: [u8; 256] = {
    let mut table = [0; 256];
    let (mut rest, mut letter): (&mut [u8], u8) = (&mut table, 0);
    while let Some((slot, after)) = rest.split_first_mut() {
        *slot = match letter {
            b'"' | b'\\' | b'/' => letter,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            _ => 0,
        };
        (rest, letter) = (after, letter.wrapping_add(1));
    }
    table
};

/// [`unescape`]'s error for a lone surrogate ([`Walk::lone_surrogates`] reads it).
const LONE_SURROGATE: &str = "lone surrogate in a \\u escape";

/// A `\uXXXX` escape, or two forming a surrogate pair.
fn unicode(text: &[u8]) -> Result<(char, usize), &'static str> {
    let unit = hex4(text.get(2..6)).ok_or("invalid \\u escape")?;
    let (code, len) = match unit {
        0xD800..=0xDBFF => {
            let low = match (text.get(6..8), hex4(text.get(8..12))) {
                (Some(b"\\u"), Some(low @ 0xDC00..=0xDFFF)) => low,
                _ => return Err(LONE_SURROGATE),
            };
            (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12)
        }
        0xDC00..=0xDFFF => return Err(LONE_SURROGATE),
        _ => (unit, 6),
    };
    char::from_u32(code)
        .map(|c| (c, len))
        .ok_or("invalid \\u escape")
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    digits?.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(acc << 4 | v)
    })
}

pub(crate) mod digits;
#[cfg(test)]
pub(crate) mod tests;
