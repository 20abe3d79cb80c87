//! JSON plumbing of the input shapes. The Lambda events (Kinesis, `awslogs`) and the logs
//! API's JSON ([`crate::input::logs_api`]) are read by one validating walk over their text,
//! in place ([`walk`]); the CloudWatch Logs payload inside each record
//! ([`crate::input::envelope`]) and the property tests' oracles (the readers the walk
//! replaced) parse with simd-json and walk its flat tape.
//!
//! The tape walk reads a buffer *in place* without building a value tree: a container node
//! carries the `count` of nodes below it, so an unknown value of any depth is skipped in O(1)
//! without recursion. Keeping that walk, the padding contract and the error conversion in one
//! place means every reader rejects the same inputs the same way.
//!
//! The text-level helpers ([`skip_ws`], [`skip_string`]) serve the two places that must look at
//! raw JSON *before* simd-json runs: the envelope's back-to-back object splitter (simd-json
//! unescapes in place, so a failed whole-buffer parse cannot be retried) and
//! [`crate::input::detect()`] (which only peeks at the top-level keys).

use simd_json::tape::{Node, Tape};
use simd_json::{Buffers, StaticNode};

mod numbers;
pub(crate) mod walk;
pub(crate) use numbers::fits;
#[cfg(test)]
pub(crate) use numbers::neutralize_wide_numbers;

/// Spare bytes simd-json needs after the JSON text to read it with SIMD loads in place.
pub(crate) const PADDING: usize = simd_json::INPUT_PADDING;

/// Why a JSON text could not be parsed at all (before any field is looked at).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The caller broke the padding contract (`buf.len() >= len + simd_json::INPUT_PADDING`).
    #[error(
        "buffer of {buf_len} bytes is too small for {len} bytes of JSON plus {PADDING} bytes of padding"
    )]
    InsufficientPadding {
        /// JSON length passed in.
        len: usize,
        /// Buffer length passed in.
        buf_len: usize,
    },
    /// The text is not JSON (syntax, invalid UTF-8, bad escape or lone surrogate, nesting
    /// deeper than 1024, ...).
    #[error("invalid JSON at byte {offset}{}: {msg}", InRecord(*.record))]
    Invalid {
        /// Byte offset in the buffer: where the walk found the fault (simd-json, reading the
        /// logs API's JSON, gives the position of the failing token, approximately).
        offset: usize,
        /// The 1-based element of the Kinesis event's `Records` the fault lies in, when it
        /// lies in one (the Kinesis walk knows; shape errors name the record the same way).
        record: Option<usize>,
        /// What is wrong (the walk's words, or simd-json's error kind).
        msg: String,
    },
    /// The text may hold more JSON values than allowed: memory for the parse grows with
    /// their number, so it is bounded (counted before parsing for simd-json, as they are read
    /// by the Kinesis event's walk).
    #[error("event holds more than the {max} JSON values allowed (counted {bound})")]
    TooManyValues {
        /// The count that went over the cap: an upper bound counted before parsing, or the
        /// values read (the walk's records counting 16 each) when the walk stopped.
        bound: usize,
        /// The cap.
        max: usize,
    },
    /// Pages back to back (each within the cap of [`JsonError::TooManyValues`]) hold more
    /// records or events than the text's size allows: what is built for them is kept until
    /// the last page is read, so it is bounded by the input's size as the input is.
    #[error(
        "the pages hold more records or events than their size allows (their memory, {kept} values' worth, over the {max} allowed: one per {} bytes of text)",
        walk::KEPT_VALUE_BYTES
    )]
    TooManyKept {
        /// What was kept when the walk stopped, in values' worth of memory.
        kept: usize,
        /// The allowance ([`MAX_EVENT_VALUES`], or one per 4 bytes of the text if more).
        max: usize,
    },
}

/// Which keys of an object were seen (up to 8, each a bit its reader numbers), and the first
/// seen twice. A key a reader reads that appears twice must fail what holds it: keeping
/// either value would drop the other without a word (the Kinesis record's `data`, the logs
/// API's `events` and an event's `message`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Twice {
    seen: u8,
    first: Option<&'static str>,
}

impl Twice {
    /// Notes key number `bit` (0 to 7), named `name`; whether it was seen before.
    #[inline(always)]
    pub(crate) fn see(&mut self, bit: u8, name: &'static str) -> bool {
        let mask = 1u8.wrapping_shl(u32::from(bit));
        let before = self.seen & mask != 0;
        if before {
            self.first = self.first.or(Some(name));
        }
        self.seen |= mask;
        before
    }

    /// The first key seen twice, by its name.
    pub(crate) fn first(&self) -> Option<&'static str> {
        self.first
    }
}

/// Most JSON values a Lambda event may hold: 2^20. A maximum Kinesis batch (10,000 records of
/// about fifteen values each) holds about 150,000.
pub const MAX_EVENT_VALUES: usize = 1 << 20;

/// Refuses a JSON text that may hold more than `max` values, before parsing it. Every value
/// takes at least one byte, so a text no longer than the cap passes without the count: only
/// unusually large texts pay for it. Returns the bound that was over the cap.
pub(crate) fn check_values(text: &[u8], max: usize) -> Result<(), usize> {
    if text.len() <= max {
        return Ok(());
    }
    let bound = node_bound(text);
    if bound > max { Err(bound) } else { Ok(()) }
}

impl JsonError {
    /// Converts simd-json's error; `base` is where the parsed text starts in the caller's
    /// buffer (non-zero for the second and later of back-to-back objects).
    pub(crate) fn from_simd(err: &simd_json::Error, base: usize) -> Self {
        Self::Invalid {
            offset: base.saturating_add(err.index()),
            record: None,
            msg: format!("{:?}", err.error()),
        }
    }

    /// The error, said to lie in the 1-based element `record` of `Records` when it is a
    /// syntax error (a value cap or the padding contract is the event's, not a record's).
    pub(crate) fn in_record(self, record: usize) -> Self {
        match self {
            Self::Invalid { offset, msg, .. } => Self::Invalid {
                offset,
                record: Some(record),
                msg,
            },
            other => other,
        }
    }
}

/// ` in record N` after the byte offset, when the fault lies in a record.
struct InRecord(Option<usize>);

impl std::fmt::Display for InRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, " (in record {n})"),
            None => Ok(()),
        }
    }
}

/// Checks the padding contract of an in-place parse of `buf[..len]`.
pub(crate) fn check_padding(buf: &[u8], len: usize) -> Result<(), JsonError> {
    if buf.len() < len.saturating_add(PADDING) {
        return Err(JsonError::InsufficientPadding {
            len,
            buf_len: buf.len(),
        });
    }
    Ok(())
}

/// simd-json's scratch buffers and tape allocation, kept across calls so a worker parsing one
/// payload after another does not reallocate. One per thread (`Send`, not shared).
pub(crate) struct TapeParser {
    buffers: Buffers,
    /// Always empty between calls; its lifetime is re-bound per call with `Tape::reset`.
    tape: Tape<'static>,
}

/// Empty buffers; they grow to the largest input seen.
impl Default for TapeParser {
    fn default() -> Self {
        Self {
            buffers: Buffers::default(),
            tape: Tape(Vec::new()),
        }
    }
}

/// Scratch contents are meaningless between calls, so they are not shown.
impl std::fmt::Debug for TapeParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapeParser").finish_non_exhaustive()
    }
}

impl TapeParser {
    /// Lends the scratch buffers and a tape that may borrow from `'a` data; the tape's
    /// allocation is taken back (emptied) afterwards.
    pub(crate) fn with_scratch<'a, T>(
        &mut self,
        run: impl FnOnce(&mut Buffers, &mut Tape<'a>) -> T,
    ) -> T {
        let mut tape: Tape<'a> = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let out = run(&mut self.buffers, &mut tape);
        self.tape = tape.reset();
        out
    }

    /// Parses `buf[..len]` in place (strings are unescaped inside `buf` and borrowed from it)
    /// and hands the tape to `walk`; refuses texts that may hold more than `max_values` values
    /// (`usize::MAX` when the caller has counted already).
    pub(crate) fn parse_padded<'a, T, E: From<JsonError>>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
        max_values: usize,
        walk: impl FnOnce(&[Node<'a>]) -> Result<T, E>,
    ) -> Result<T, E> {
        check_padding(buf, len)?;
        check_values(buf.get(..len).unwrap_or_default(), max_values).map_err(|bound| {
            JsonError::TooManyValues {
                bound,
                max: max_values,
            }
        })?;
        self.with_scratch(|buffers, tape| {
            simd_json::fill_tape_padded(buf, len, buffers, tape)
                .map_err(|e| JsonError::from_simd(&e, 0))?;
            walk(&tape.0)
        })
    }
}

/// Index of a tape node that is not shaped as simd-json documents it. Defensive: simd-json
/// builds the tape itself, so this should be unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadNode(pub(crate) usize);

/// Number of tape nodes the value at `node` occupies (itself plus its subtree).
pub(crate) fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count.saturating_add(1),
        _ => 1,
    }
}

/// The JSON type of `node`, worded for error messages ("found a string").
pub(crate) fn kind(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(_) => "a number",
    }
}

/// The `(key, value index)` pairs of the object at `tape[at]`, nested values skipped by their
/// node count (no recursion however deep an unknown value is).
pub(crate) fn object_entries<'t, 'a>(
    tape: &'t [Node<'a>],
    at: usize,
) -> Result<impl Iterator<Item = Result<(&'a str, usize), BadNode>> + 't, BadNode> {
    let len = match tape.get(at) {
        Some(Node::Object { len, .. }) => *len,
        _ => return Err(BadNode(at)),
    };
    let mut next = at + 1;
    Ok((0..len).map(move |_| {
        let key = match tape.get(next) {
            Some(Node::String(k)) => *k,
            _ => return Err(BadNode(next)),
        };
        let value = next + 1;
        let node = tape.get(value).ok_or(BadNode(value))?;
        next = value.saturating_add(span(node));
        Ok((key, value))
    }))
}

/// The element indices of the array at `tape[at]`, nested values skipped by node count.
pub(crate) fn array_elements<'t>(
    tape: &'t [Node<'_>],
    at: usize,
) -> Result<impl Iterator<Item = Result<usize, BadNode>> + 't, BadNode> {
    let len = match tape.get(at) {
        Some(Node::Array { len, .. }) => *len,
        _ => return Err(BadNode(at)),
    };
    let mut next = at + 1;
    Ok((0..len).map(move |_| {
        let this = next;
        let node = tape.get(this).ok_or(BadNode(this))?;
        next = this.saturating_add(span(node));
        Ok(this)
    }))
}

/// JSON insignificant whitespace (RFC 8259: space, tab, LF, CR; nothing else).
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first index at or after `at` that is not JSON whitespace (`text.len()` if none).
pub(crate) fn skip_ws(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(|b| is_ws(*b)) {
        at += 1;
    }
    at
}

/// Given the index just after an opening quote, returns the index just after the closing one,
/// or `None` if the string is unterminated. Escapes are stepped over, not validated: simd-json
/// validates them later.
pub(crate) fn skip_string(text: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        match text.get(at)? {
            b'\\' => at += 2,
            _ => return Some(at + 1),
        }
    }
}

/// Where the next page starts from `from` on, after a part of a text of pages back to back
/// that did not read (`aws kinesis get-records` output, [`crate::input::kinesis`]; the logs
/// API's, [`crate::input::logs_api`]): the first `{` at or after `from` (past the start of
/// the page that did not read) whose text reads as the
/// start of a page, an object whose first key is `key` (`Records`, `events`): `{`,
/// whitespace, `"key"`, whitespace, `:`. `None` when no page starts after `from`.
///
/// Found by structure, whatever brackets and quotes the text before it holds: the quote
/// after `{` stands unescaped, and in JSON an unescaped quote followed by a bare word
/// (`Records`) opens a string (one that closes a string is followed by `,`, `:`, `}` or `]`),
/// so that `{` lies outside every string: no string's text is taken for a page, whatever it
/// spells (a string holds `{"Records":` only as `{\"Records\":`). Brackets are not counted:
/// a damage that broke a string's quotes (a page cut inside a string, the next page
/// appended) leaves the count of everything after it off, but not this. Linear: each `{`
/// is looked at once, up to its key.
pub(crate) fn next_page_start(text: &[u8], from: usize, key: &[u8]) -> Option<usize> {
    let mut at = from;
    loop {
        at += memchr::memchr(b'{', text.get(at..)?)?;
        if starts_page(text, at, key) {
            return Some(at);
        }
        at += 1;
    }
}

/// Whether `text[at..]` is `{`, whitespace, `"key"`, whitespace, `:` ([`next_page_start`]).
#[inline]
fn starts_page(text: &[u8], at: usize, key: &[u8]) -> bool {
    if text.get(at) != Some(&b'{') {
        return false;
    }
    let quote = skip_ws(text, at + 1);
    let Some(after) = text
        .get(quote..)
        .and_then(|t| t.strip_prefix(b"\""))
        .and_then(|t| t.strip_prefix(key))
        .and_then(|t| t.strip_prefix(b"\""))
    else {
        return false;
    };
    let colon = skip_ws(after, 0);
    after.get(colon) == Some(&b':')
}

/// An upper bound on the tape nodes simd-json builds for `text`, found without building them:
/// one per string, plus one per `{`, `[`, `,` and `:` outside strings (every number, literal
/// and container follows one of those, or starts the text). Strings are crossed with
/// `memchr2`, so the cost is a fraction of the parse.
///
/// Why: tape memory grows with the number of values, not the number of bytes. A payload of
/// tiny values (`{"id":"1","timestamp":1,"message":"x"}` over and over, or `[1,1,1,...]`)
/// takes about ten times its size in tape, so the inflate limit alone does not bound memory.
pub(crate) fn node_bound(text: &[u8]) -> usize {
    let mut nodes = 1usize;
    let mut at = 0;
    while let Some(rest) = text.get(at..) {
        let quote = memchr::memchr(b'"', rest).unwrap_or(rest.len());
        let outside = rest.get(..quote).unwrap_or_default();
        nodes += outside
            .iter()
            .filter(|b| matches!(b, b'{' | b'[' | b',' | b':'))
            .count();
        if quote == rest.len() {
            break;
        }
        nodes += 1;
        at = skip_string(text, at + quote + 1).unwrap_or(text.len());
    }
    nodes
}

/// The 1-based line and column of byte `offset` of `text`, for messages: lines end at LF,
/// columns count characters (UTF-8 continuation bytes are not counted), as editors show them.
pub(crate) fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let start = memchr::memrchr(b'\n', before).map_or(0, |at| at + 1);
    let chars = before.get(start..).unwrap_or_default();
    let column = 1 + chars.iter().filter(|b| **b & 0xC0 != 0x80).count();
    (line, column)
}

#[cfg(test)]
mod tests;
