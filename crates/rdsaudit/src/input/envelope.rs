//! Stage 3 of the pipeline: the CloudWatch Logs subscription envelope (the JSON inside the gzip).
//!
//! A real payload, as CloudWatch Logs delivers it to Kinesis / Lambda after gunzip:
//!
//! ```json
//! {
//!   "messageType": "DATA_MESSAGE",
//!   "owner": "123456789012",
//!   "logGroup": "/aws/rds/cluster/prod-aurora/audit",
//!   "logStream": "prod-aurora-instance-1.audit.log.0.2024-03-23-13-30.0.2",
//!   "subscriptionFilters": ["audit-to-kinesis"],
//!   "policyLevel": "ACCOUNT_LEVEL_POLICY",
//!   "logEvents": [
//!     {"id": "37605431982366218745392619003296741302869208427839209472",
//!      "timestamp": 1711200969000,
//!      "message": "1711200969123456,prod-aurora-instance-1,admin,10.0.1.5,35,698024,QUERY,db,'SELECT \\'x\\'',0"}
//!   ]
//! }
//! ```
//!
//! `CONTROL_MESSAGE` payloads (sent when the subscription is created, to check the destination)
//! have the same shape with `"owner":"CloudwatchLogs"` and a single health-check event.
//! `policyLevel` (account-level subscription policies, 2024) and any future top-level or
//! per-event key are ignored: we never reject unknown fields.
//!
//! How: a reader of the payload's own shape (`envelope/fast.rs`) reads it first, in two passes (check,
//! then unescape in place); it declines anything it does not read with certainty, and the
//! simd-json path below, its reference, reads the same untouched bytes. That path:
//! simd-json builds a tape over the buffer *in place* (strings are unescaped inside the
//! buffer and borrowed from it, so nothing is copied), then we walk the tape iteratively,
//! reading the keys we know and skipping any other value in O(1) using the node `count`. There
//! is no recursion, so arbitrarily nested unknown values cannot overflow the stack; simd-json
//! itself rejects nesting deeper than 1024 levels with an error.
//!
//! Firehose-to-S3 files concatenate payloads, so back-to-back objects (`{..}{..}` or separated
//! by whitespace/newlines) are accepted and each becomes one [`LogEnvelope`].
//!
//! ```
//! use rdsaudit::input::envelope::{EnvelopeParser, MessageType};
//! let json = br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit",
//!   "logStream":"c1-instance-1","subscriptionFilters":["f"],"policyLevel":"ACCOUNT_LEVEL_POLICY",
//!   "logEvents":[{"id":"3760","timestamp":1711200969000,"message":"a \"quoted\" caf\u00e9"}]}"#;
//! // The buffer must have simd_json::INPUT_PADDING spare bytes after the JSON text.
//! let mut buf = json.to_vec();
//! buf.resize(json.len() + simd_json::INPUT_PADDING, 0);
//! let mut parser = EnvelopeParser::new();
//! let envs = parser.parse(&mut buf, json.len())?;
//! assert_eq!(envs.len(), 1);
//! assert_eq!(envs[0].message_type, MessageType::Data);
//! assert_eq!(envs[0].log_events[0].message, "a \"quoted\" café");
//! assert_eq!(envs[0].log_events[0].timestamp, 1_711_200_969_000);
//! # Ok::<(), rdsaudit::input::envelope::EnvelopeError>(())
//! ```

use crate::input::json::{
    BadNode, PADDING, TapeParser, array_elements, is_ws, kind, object_entries, skip_string, skip_ws,
};
use simd_json::tape::{Node, Tape};
use simd_json::{Buffers, StaticNode};
use std::num::NonZeroU32;
use std::ops::Range;

pub use crate::input::json::JsonError;

/// The `messageType` of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType<'a> {
    /// `DATA_MESSAGE`: carries log events.
    Data,
    /// `CONTROL_MESSAGE`: destination health check; callers skip it.
    Control,
    /// Any other value, kept verbatim; parsed leniently (every field optional), and the batch
    /// stage fails the record with `RecordError::MessageType`, since its events cannot be trusted
    /// to be audit data.
    Other(&'a str),
}

impl<'a> MessageType<'a> {
    fn from_str(s: &'a str) -> Self {
        match s {
            "DATA_MESSAGE" => Self::Data,
            "CONTROL_MESSAGE" => Self::Control,
            other => Self::Other(other),
        }
    }
}

/// One CloudWatch Logs subscription payload. All strings borrow from the parsed buffer.
#[derive(Debug, Clone)]
pub struct LogEnvelope<'a> {
    /// `messageType`.
    pub message_type: MessageType<'a>,
    /// `owner`: the AWS account id (`"CloudwatchLogs"` for control messages).
    pub owner: &'a str,
    /// `logGroup`, e.g. `/aws/rds/cluster/<cluster>/audit`.
    pub log_group: &'a str,
    /// `logStream`, normally names the DB instance.
    pub log_stream: &'a str,
    /// `subscriptionFilters` (empty if absent or null).
    pub subscription_filters: Vec<&'a str>,
    /// `policyLevel`, present for account-level subscription policies. Values are not
    /// documented, so it is kept as an opaque string.
    pub policy_level: Option<&'a str>,
    /// `logEvents` (empty if absent in a control message): the entries read, in order.
    pub log_events: Vec<LogEvent<'a>>,
    /// The entries of `logEvents` that could not be read (no `id`, a `message` that is no
    /// string, a lone surrogate escape...), each kept whole as its JSON in the payload, in
    /// order of their place in `logEvents`. Empty unless simd-json refused the payload and the
    /// validating walk found every fault inside log events (`envelope/salvage.rs`).
    pub failed_events: Vec<FailedLogEvent<'a>>,
    /// No message holds a line break (`\n` or `\r`): each is one audit line, and the
    /// pipeline skips the search for its breaks ([`LogEnvelope::unbroken`]).
    pub(crate) unbroken: bool,
}

/// Whether no message of `events` holds a line break ([`LogEnvelope::unbroken`]).
pub(crate) fn none_broken(events: &[LogEvent<'_>]) -> bool {
    events
        .iter()
        .all(|e| memchr::memchr2(b'\n', b'\r', e.message.as_bytes()).is_none())
}

impl LogEnvelope<'_> {
    /// Whether no message of [`LogEnvelope::log_events`] holds a line break (`\n` or `\r`).
    /// The fast reader knows it for free: a JSON string holds one only as an escape.
    #[must_use]
    pub fn unbroken(&self) -> bool {
        self.unbroken
    }
}

/// One entry of `logEvents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// `id`: a 56-digit decimal string, unique per event (use it to deduplicate).
    pub id: &'a str,
    /// `timestamp`: CloudWatch event time in epoch milliseconds (not the audit line's own time).
    pub timestamp: i64,
    /// `message`: one audit log line, JSON-unescaped.
    pub message: &'a str,
}

/// An entry of `logEvents` that could not be read, as it is in the payload
/// ([`LogEnvelope::failed_events`]): the other entries of its payload are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogEvent<'a> {
    /// Its 0-based place in `logEvents` (the entries read and failed counted together).
    pub index: usize,
    /// Its JSON value as it is in the payload, from its first byte to its last.
    pub raw: &'a [u8],
    /// Why it could not be read.
    pub error: LogEventError,
}

/// Why an entry of `logEvents` could not be read ([`FailedLogEvent`]); reported as an
/// unparsed line ([`crate::LineError::LogEvent`]) holding the entry's JSON. Small (as small
/// as a Logs Insights row's error): every unparsed line's reason is as large as the largest,
/// and a larger one cost +0.2% of the instructions of the scanner's hot path on plain logs
/// (the payload's number fits in what the variants left as padding: still 32 bytes).
///
/// A record holding several payloads back to back (a Firehose-to-S3 object's shape) names
/// the entry's payload, 1-based: `payload 2, logEvents[1] ...` (session 34's adversary
/// LOW-2: two entries of two payloads were both `logEvents[1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LogEventError {
    /// The entry is not an object.
    #[error("{}logEvents[{index}] should be an object, found {found}", InPayload(*payload))]
    NotAnObject {
        /// Its 0-based place in `logEvents`.
        index: usize,
        /// What it is.
        found: &'static str,
        /// Its payload's 1-based place among the record's payloads back to back; `None`
        /// when the record holds one.
        payload: Option<NonZeroU32>,
    },
    /// A field is missing or of another type.
    #[error("{}logEvents[{index}].{field} should be {}, found {found}", InPayload(*payload), field.expected())]
    Field {
        /// Its 0-based place in `logEvents`.
        index: usize,
        /// Which.
        field: EventField,
        /// What it is (`missing` if absent).
        found: &'static str,
        /// As [`LogEventError::NotAnObject`]'s.
        payload: Option<NonZeroU32>,
    },
    /// A lone surrogate escape (`\ud800` alone): no character, the string holding it is
    /// no text.
    #[error(
        "{}logEvents[{index}] holds a lone surrogate \\u{unit:04x} at byte {offset} of the payload (no character: not text)",
        InPayload(*payload)
    )]
    LoneSurrogate {
        /// Its 0-based place in `logEvents`.
        index: usize,
        /// The escape's code unit.
        unit: u16,
        /// Where its backslash is in its payload, counted from the payload's `{` (the
        /// byte of the payload's line in `rdsaudit decode`'s output).
        offset: usize,
        /// As [`LogEventError::NotAnObject`]'s.
        payload: Option<NonZeroU32>,
    },
}

impl LogEventError {
    /// The error of an entry of the `n`th (1-based) of several payloads back to back.
    pub(crate) fn in_payload(mut self, n: Option<NonZeroU32>) -> Self {
        match &mut self {
            LogEventError::NotAnObject { payload, .. }
            | LogEventError::Field { payload, .. }
            | LogEventError::LoneSurrogate { payload, .. } => *payload = n,
        }
        self
    }
}

/// `payload N, ` before an entry's place, when its record holds several payloads.
struct InPayload(Option<NonZeroU32>);

impl std::fmt::Display for InPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "payload {n}, "),
            None => Ok(()),
        }
    }
}

/// A field of an entry of `logEvents` ([`LogEventError::Field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventField {
    /// `id`.
    Id,
    /// `timestamp`.
    Timestamp,
    /// `message`.
    Message,
}

impl EventField {
    /// What the field should be.
    #[must_use]
    pub fn expected(self) -> &'static str {
        match self {
            EventField::Id | EventField::Message => "a string",
            EventField::Timestamp => "an integer (epoch milliseconds)",
        }
    }
}

impl std::fmt::Display for EventField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EventField::Id => "id",
            EventField::Timestamp => "timestamp",
            EventField::Message => "message",
        })
    }
}

/// Why a payload could not be turned into envelopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The text is not usable JSON, or the caller broke the padding contract of
    /// [`EnvelopeParser::parse`].
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The top-level value is not an object.
    #[error("payload is not a JSON object (found {found})")]
    NotAnObject {
        /// JSON type found.
        found: &'static str,
    },
    /// A required top-level field is missing.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// A field that decides what the payload means appears twice (`messageType`, `owner`,
    /// `logGroup`, `logStream`, `logEvents`): which one CloudWatch meant cannot be told, and
    /// taking either would hide the other's events.
    #[error("field `{0}` appears more than once")]
    DuplicateField(&'static str),
    /// A top-level field has the wrong JSON type.
    #[error("field `{field}` should be {expected}, found {found}")]
    WrongType {
        /// Field name (`subscriptionFilters[]` for an element).
        field: &'static str,
        /// What we expected.
        expected: &'static str,
        /// JSON type found.
        found: &'static str,
    },
    /// An entry of `logEvents` is malformed.
    #[error("logEvents[{index}].{field} should be {expected}, found {found}")]
    BadEvent {
        /// Index in `logEvents`.
        index: usize,
        /// Field name (`id`, `timestamp`, `message`, or `` for the entry itself).
        field: &'static str,
        /// What we expected.
        expected: &'static str,
        /// What we found (`missing` if absent).
        found: &'static str,
    },
    /// The payload holds more JSON values than a record may (see
    /// [`EnvelopeParser::with_max_nodes`]): memory for the parse grows with their number.
    #[error("payload holds up to {bound} JSON values, more than the {max} allowed per record")]
    TooManyValues {
        /// The upper bound counted before parsing.
        bound: usize,
        /// The parser's cap.
        max: usize,
    },
    /// The fast reader's second pass left a string that is not UTF-8, or met an escape its
    /// first pass did not check (defensive; should be unreachable).
    #[error("internal error: string at byte {0} unreadable after unescaping")]
    Unescaped(usize),
    /// The simd-json tape was not shaped as documented (defensive; should be unreachable).
    #[error("internal error: malformed simd-json tape at node {0}")]
    Tape(usize),
}

impl From<BadNode> for EnvelopeError {
    fn from(BadNode(at): BadNode) -> Self {
        Self::Tape(at)
    }
}

/// Reusable in-place envelope parser: keeps simd-json's scratch buffers and tape allocation
/// across calls. One per worker thread (`Send`, not shared).
#[derive(Debug)]
pub struct EnvelopeParser {
    json: TapeParser,
    /// Top-level object ranges found by the splitter (reused allocation).
    pieces: Vec<Range<usize>>,
    /// The fast path, tried first ([`fast`]).
    fast: fast::FastReader,
    /// Lists given back by [`EnvelopeParser::recycle`], for the fast path's next envelopes.
    spare: Spare,
    /// A payload the fast path declined, as it is in the input ([`salvage`]).
    pristine: Vec<u8>,
    /// The walk's nesting stack ([`salvage`]).
    open: Vec<u8>,
    max_nodes: usize,
}

/// How many emptied lists of each kind [`Spare`] keeps: a record holds one envelope, a
/// Firehose object a few; more would keep memory for no gain.
const SPARE_LISTS: usize = 16;

/// Emptied lists of past envelopes, kept so that each record does not allocate its envelope
/// list, filters list and events list anew (three `malloc`/`free` pairs a record: a tenth of
/// the work of a one-line record). Emptied, they borrow nothing, so they are kept as
/// `'static` and lent out at any shorter lifetime.
#[derive(Debug, Default)]
struct Spare {
    envelopes: Vec<LogEnvelope<'static>>,
    filters: Vec<Vec<&'static str>>,
    events: Vec<Vec<LogEvent<'static>>>,
}

impl Spare {
    /// Keeps `list`'s allocations (the list's, and each envelope's two lists) up to
    /// [`SPARE_LISTS`] of each kind.
    fn keep(&mut self, mut list: Vec<LogEnvelope<'_>>) {
        for env in list.drain(..) {
            if self.filters.len() < SPARE_LISTS {
                self.filters.push(emptied(env.subscription_filters));
            }
            if self.events.len() < SPARE_LISTS {
                self.events.push(emptied(env.log_events));
            }
        }
        if list.capacity() > self.envelopes.capacity() {
            self.envelopes = emptied(list);
        }
    }

    /// An empty envelope list, with the room of the last one kept.
    fn envelopes<'a>(&mut self) -> Vec<LogEnvelope<'a>> {
        std::mem::take(&mut self.envelopes)
    }

    /// An empty filters list, with the room of one kept.
    fn filters<'a>(&mut self) -> Vec<&'a str> {
        self.filters.pop().unwrap_or_default()
    }

    /// An empty events list with room for `len` events.
    fn events<'a>(&mut self, len: usize) -> Vec<LogEvent<'a>> {
        let mut list: Vec<LogEvent<'a>> = self.events.pop().unwrap_or_default();
        list.reserve(len);
        list
    }
}

/// `list` emptied, as a list of `U` (the same type under another lifetime): the standard
/// library collects an emptied `Vec`'s iterator into its own allocation when the layouts
/// match, so the room is kept without borrowing what the items borrowed.
pub(crate) fn emptied<T, U>(mut list: Vec<T>) -> Vec<U> {
    list.clear();
    list.into_iter().filter_map(|_| None).collect()
}

/// Default cap on the JSON values of one payload: about 85,000 log events, where CloudWatch
/// sends at most 10,000 per payload. The tape for it takes at most about 24 MiB.
pub const DEFAULT_MAX_NODES: usize = 1 << 20;

impl Default for EnvelopeParser {
    fn default() -> Self {
        Self::with_max_nodes(DEFAULT_MAX_NODES)
    }
}

impl EnvelopeParser {
    /// A parser with empty buffers (they grow to the largest payload seen).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that refuses payloads with more than `max_nodes` JSON values (counted as
    /// strings plus `{ [ , :` outside strings, before parsing), bounding the tape's memory.
    #[must_use]
    pub fn with_max_nodes(max_nodes: usize) -> Self {
        Self {
            json: TapeParser::default(),
            pieces: Vec::new(),
            fast: fast::FastReader::default(),
            spare: Spare::default(),
            pristine: Vec::new(),
            open: Vec::new(),
            max_nodes,
        }
    }

    /// Parses `buf[..len]` in place; `buf.len() >= len + simd_json::INPUT_PADDING`.
    ///
    /// Strings are unescaped inside `buf` and borrowed from it. Back-to-back JSON objects
    /// (`{...}{...}` or separated by whitespace/newlines, as Firehose writes them) are all
    /// returned, in order.
    ///
    /// Field rules: for `DATA_MESSAGE`, `owner`, `logGroup`, `logStream` (strings) and
    /// `logEvents` (array, may be empty) are required. For `CONTROL_MESSAGE` and unknown message
    /// types every field is optional (missing strings become `""`). `subscriptionFilters` and
    /// `policyLevel` are optional everywhere (`null` counts as absent). Each event needs a string
    /// `id`, a string `message` and an integer `timestamp` (an integer-valued float such as
    /// `1.7e12` is accepted). Unknown keys are ignored; for duplicate keys the last one wins.
    /// In a `DATA_MESSAGE`, an event that breaks these rules, or holds a lone surrogate escape
    /// (`\ud800`, no character) anywhere, fails alone: it is kept as its JSON in the payload
    /// in [`LogEnvelope::failed_events`], and the others are read.
    ///
    /// # Errors
    /// [`EnvelopeError`] for a padding contract violation, invalid JSON outside the events, a
    /// non-object, a missing / doubled / wrongly typed field of the payload, or a failing
    /// event of a control message. On error `buf[..len]` may have been partly unescaped.
    pub fn parse<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
    ) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
        crate::input::json::check_padding(buf, len)?;
        if self
            .fast
            .read(buf.get(..len).unwrap_or_default(), self.max_nodes)
            .is_ok()
        {
            return self.fast.finish(buf, len, &mut self.spare);
        }
        self.parse_declined(buf, len)
    }

    /// [`EnvelopeParser::parse`] of a payload the fast path declined: by simd-json, and what
    /// it refuses by the validating walk ([`salvage`]). Out of line: the usual payload pays
    /// nothing for it.
    #[cold]
    #[inline(never)]
    fn parse_declined<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
    ) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
        // simd-json unescapes in place even when it fails: the text as it is in the input is
        // kept aside (a copy of a payload the fast path declined, a rare one) for the walk
        // that reads what simd-json refused ([`salvage`]).
        self.pristine.clear();
        self.pristine
            .extend_from_slice(buf.get(..len).unwrap_or_default());
        let whole: *mut [u8] = buf;
        // SAFETY: `whole` is `buf`, lent once here; the second loan below is made only on
        // the error path, where nothing of the first is alive: the error is owned, and the
        // tape that borrowed from `buf` was emptied when `parse_simd` returned
        // (`TapeParser::with_scratch` resets it). This is the borrow checker's known
        // limit ("NLL problem case 3": a borrow returned on one arm is held on the other).
        let error = match self.parse_simd(unsafe { &mut *whole }, len) {
            Ok(list) => return Ok(list),
            Err(error) => error,
        };
        if !salvageable(&error) {
            return Err(error);
        }
        // SAFETY: as above; the first loan ended with its error.
        let buf: &'a mut [u8] = unsafe { &mut *whole };
        let text = buf.get_mut(..len).ok_or(EnvelopeError::Tape(0))?;
        text.copy_from_slice(self.pristine.get(..len).ok_or(EnvelopeError::Tape(0))?);
        salvage::salvage(buf, len, &mut self.open, self.max_nodes).ok_or(error)
    }

    /// Takes back envelopes [`EnvelopeParser::parse`] returned, once read, so that the next
    /// payloads' lists reuse their room rather than allocate.
    pub fn recycle(&mut self, list: Vec<LogEnvelope<'_>>) {
        self.spare.keep(list);
    }

    /// [`EnvelopeParser::parse`] by simd-json's tape alone: the fast path's reference, and
    /// what reads any text the fast path declines.
    fn parse_simd<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
    ) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
        crate::input::json::check_padding(buf, len)?;
        // Decide single vs. several objects *before* parsing: simd-json unescapes strings in
        // place while building the tape, so once a whole-buffer parse has failed on the second
        // object the first one is already rewritten and cannot be parsed again. The cheap
        // filter (`may_have_several`) keeps the precise, string-aware split off the hot path.
        self.pieces.clear();
        let text = buf.get(..len).unwrap_or_default();
        let several = may_have_several(text) && split_objects(text, &mut self.pieces);
        let max = self.max_nodes;
        if several && self.pieces.len() > 1 {
            // The cap is per object: a Firehose file of many payloads is many records' worth.
            let pieces = &self.pieces;
            self.json
                .with_scratch(|buffers, tape| parse_pieces(buf, pieces, max, buffers, tape))
        } else {
            check_values(text, max)?;
            self.json.parse_padded(buf, len, usize::MAX, |tape| {
                envelope_from_tape(tape).map(|env| vec![env])
            })
        }
    }
}

/// Convenience for callers holding an unpadded JSON text: copies `json` into `scratch` (reused,
/// grown to `json.len() + simd_json::INPUT_PADDING`) and parses it there.
///
/// # Errors
/// As [`EnvelopeParser::parse`].
pub fn parse_unpadded<'a>(
    parser: &mut EnvelopeParser,
    json: &[u8],
    scratch: &'a mut Vec<u8>,
) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
    scratch.clear();
    scratch.reserve(json.len().saturating_add(PADDING));
    scratch.extend_from_slice(json);
    scratch.resize(json.len().saturating_add(PADDING), 0);
    parser.parse(scratch.as_mut_slice(), json.len())
}

/// Parses each top-level object of a multi-object buffer on its own. `pieces` are sorted,
/// disjoint ranges inside `buf`. The pieces are carved out with `split_at_mut` so each borrows
/// only its own bytes; since a piece has no padding of its own we use `fill_tape`, which copies
/// the piece into simd-json's aligned scratch (acceptable: this is the rare Firehose case).
fn parse_pieces<'a>(
    buf: &'a mut [u8],
    pieces: &[Range<usize>],
    max_nodes: usize,
    buffers: &mut Buffers,
    tape: &mut Tape<'a>,
) -> Result<Vec<LogEnvelope<'a>>, EnvelopeError> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut rest: &'a mut [u8] = buf;
    let mut consumed = 0usize;
    for piece in pieces {
        let skip = piece.start.saturating_sub(consumed);
        let (_, tail) = rest
            .split_at_mut_checked(skip)
            .ok_or(EnvelopeError::Tape(0))?;
        let (this, tail) = tail
            .split_at_mut_checked(piece.len())
            .ok_or(EnvelopeError::Tape(0))?;
        rest = tail;
        consumed = piece.end;
        check_values(this, max_nodes)?;
        simd_json::fill_tape(this, buffers, tape)
            .map_err(|e| JsonError::from_simd(&e, piece.start))?;
        out.push(envelope_from_tape(&tape.0)?);
    }
    Ok(out)
}

/// Whether simd-json's refusal may lie in entries of `logEvents` alone: invalid JSON (a lone
/// surrogate escape in a message) or an entry that does not read. The payload's own faults
/// (a field missing, doubled or of another type, the value cap) are the record's.
fn salvageable(error: &EnvelopeError) -> bool {
    matches!(
        error,
        EnvelopeError::Json(JsonError::Invalid { .. }) | EnvelopeError::BadEvent { .. }
    )
}

/// Refuses a payload that may hold more than `max` values (tape nodes), before parsing it.
fn check_values(text: &[u8], max: usize) -> Result<(), EnvelopeError> {
    crate::input::json::check_values(text, max)
        .map_err(|bound| EnvelopeError::TooManyValues { bound, max })
}

/// The byte ranges of the top-level JSON objects of `text` (one or more, back to back, as a
/// Firehose-to-S3 object holds them once inflated), or `None` when `text` is not a
/// whitespace-separated sequence of `{...}`. Only the braces are checked, not the JSON inside.
///
/// ```
/// let text = br#"{"a":"}{"} {"b":1}"#;
/// let pieces = rdsaudit::input::envelope::objects(text).unwrap();
/// assert_eq!(pieces, [0..10, 11..18]);
/// ```
#[must_use]
pub fn objects(text: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut pieces = Vec::new();
    split_objects(text, &mut pieces).then_some(pieces)
}

/// Cheap necessary condition for "more than one top-level object": some `}` is followed
/// (after optional JSON whitespace) by `{`. Inside a CloudWatch payload a `}` closes a log
/// event and is followed by `,` or `]`, so this almost never fires on a single payload; a
/// false positive (e.g. `}{` inside a message) only costs running the precise splitter.
fn may_have_several(text: &[u8]) -> bool {
    memchr::memchr_iter(b'}', text).any(|at| {
        text.get(at + 1..)
            .unwrap_or_default()
            .iter()
            .find(|b| !is_ws(**b))
            == Some(&b'{')
    })
}

/// Splits `text` into top-level objects with a string-aware brace scanner. Returns `false` if
/// the text is not a whitespace-separated sequence of `{...}` (then the caller parses the whole
/// buffer and reports simd-json's own error). Validity inside each object is left to simd-json.
pub(crate) fn split_objects(text: &[u8], pieces: &mut Vec<Range<usize>>) -> bool {
    pieces.clear();
    let mut at = skip_ws(text, 0);
    while at < text.len() {
        if text.get(at) != Some(&b'{') {
            return false;
        }
        let start = at;
        let mut depth = 0usize;
        loop {
            let Some(rel) = memchr::memchr3(b'"', b'{', b'}', text.get(at..).unwrap_or_default())
            else {
                return false;
            };
            at += rel;
            match text.get(at) {
                Some(b'{') => depth += 1,
                Some(b'}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        at += 1;
                        break;
                    }
                }
                _ => match skip_string(text, at + 1) {
                    Some(end) => {
                        at = end;
                        continue;
                    }
                    None => return false,
                },
            }
            at += 1;
        }
        pieces.push(start..at);
        at = skip_ws(text, at);
    }
    true
}

fn top_string<'a>(node: &Node<'a>, field: &'static str) -> Result<&'a str, EnvelopeError> {
    match node {
        Node::String(s) => Ok(s),
        other => Err(EnvelopeError::WrongType {
            field,
            expected: "a string",
            found: kind(other),
        }),
    }
}

/// Stores the string `node` of a field that may appear only once.
fn set_once<'a>(
    slot: &mut Option<&'a str>,
    node: &Node<'a>,
    field: &'static str,
) -> Result<(), EnvelopeError> {
    if slot.is_some() {
        return Err(EnvelopeError::DuplicateField(field));
    }
    *slot = Some(top_string(node, field)?);
    Ok(())
}

fn envelope_from_tape<'a>(tape: &[Node<'a>]) -> Result<LogEnvelope<'a>, EnvelopeError> {
    match tape.first() {
        Some(Node::Object { .. }) => {}
        Some(other) => return Err(EnvelopeError::NotAnObject { found: kind(other) }),
        None => return Err(EnvelopeError::Tape(0)),
    }
    let mut message_type = None;
    let mut owner = None;
    let mut log_group = None;
    let mut log_stream = None;
    let mut subscription_filters = Vec::new();
    let mut policy_level = None;
    let mut events_at = None;
    for entry in object_entries(tape, 0)? {
        let (key, at) = entry?;
        let node = tape.get(at).ok_or(EnvelopeError::Tape(at))?;
        match key {
            "messageType" => set_once(&mut message_type, node, "messageType")?,
            "owner" => set_once(&mut owner, node, "owner")?,
            "logGroup" => set_once(&mut log_group, node, "logGroup")?,
            "logStream" => set_once(&mut log_stream, node, "logStream")?,
            "policyLevel" => {
                policy_level = match node {
                    Node::Static(StaticNode::Null) => None,
                    other => Some(top_string(other, "policyLevel")?),
                }
            }
            "subscriptionFilters" => {
                subscription_filters.clear();
                match node {
                    Node::Static(StaticNode::Null) => {}
                    Node::Array { len, .. } => {
                        subscription_filters.reserve(*len);
                        for el in array_elements(tape, at)? {
                            let el = el?;
                            let n = tape.get(el).ok_or(EnvelopeError::Tape(el))?;
                            subscription_filters.push(top_string(n, "subscriptionFilters[]")?);
                        }
                    }
                    other => {
                        return Err(EnvelopeError::WrongType {
                            field: "subscriptionFilters",
                            expected: "an array of strings",
                            found: kind(other),
                        });
                    }
                }
            }
            "logEvents" => match node {
                Node::Array { .. } if events_at.is_some() => {
                    return Err(EnvelopeError::DuplicateField("logEvents"));
                }
                Node::Array { .. } => events_at = Some(at),
                other => {
                    return Err(EnvelopeError::WrongType {
                        field: "logEvents",
                        expected: "an array",
                        found: kind(other),
                    });
                }
            },
            _ => {} // policyLevel's siblings of the future: ignored on purpose.
        }
    }

    let message_type =
        MessageType::from_str(message_type.ok_or(EnvelopeError::MissingField("messageType"))?);
    let strict = message_type == MessageType::Data;
    let required = |v: Option<&'a str>, field: &'static str| match v {
        Some(s) => Ok(s),
        None if strict => Err(EnvelopeError::MissingField(field)),
        None => Ok(""),
    };
    let owner = required(owner, "owner")?;
    let log_group = required(log_group, "logGroup")?;
    let log_stream = required(log_stream, "logStream")?;
    let log_events = match events_at {
        Some(at) => events_from_tape(tape, at)?,
        None if strict => return Err(EnvelopeError::MissingField("logEvents")),
        None => Vec::new(),
    };
    let unbroken = none_broken(&log_events);
    Ok(LogEnvelope {
        message_type,
        owner,
        log_group,
        log_stream,
        subscription_filters,
        policy_level,
        log_events,
        failed_events: Vec::new(),
        unbroken,
    })
}

fn events_from_tape<'a>(tape: &[Node<'a>], at: usize) -> Result<Vec<LogEvent<'a>>, EnvelopeError> {
    let len = match tape.get(at) {
        Some(Node::Array { len, .. }) => *len,
        _ => return Err(EnvelopeError::Tape(at)),
    };
    let mut events = Vec::with_capacity(len);
    for (index, el) in array_elements(tape, at)?.enumerate() {
        let el = el?;
        let bad = |field, expected, found| EnvelopeError::BadEvent {
            index,
            field,
            expected,
            found,
        };
        match tape.get(el) {
            Some(Node::Object { .. }) => {}
            Some(other) => return Err(bad("", "an object", kind(other))),
            None => return Err(EnvelopeError::Tape(el)),
        }
        let (mut id, mut timestamp, mut message) = (None, None, None);
        for entry in object_entries(tape, el)? {
            let (key, v) = entry?;
            let node = tape.get(v).ok_or(EnvelopeError::Tape(v))?;
            match key {
                "id" => match node {
                    Node::String(s) => id = Some(*s),
                    other => return Err(bad("id", "a string", kind(other))),
                },
                "message" => match node {
                    Node::String(s) => message = Some(*s),
                    other => return Err(bad("message", "a string", kind(other))),
                },
                "timestamp" => {
                    timestamp = Some(millis(node).map_err(|found| {
                        bad("timestamp", "an integer (epoch milliseconds)", found)
                    })?);
                }
                _ => {}
            }
        }
        events.push(LogEvent {
            id: id.ok_or_else(|| bad("id", "a string", "missing"))?,
            timestamp: timestamp.ok_or_else(|| bad("timestamp", "an integer", "missing"))?,
            message: message.ok_or_else(|| bad("message", "a string", "missing"))?,
        });
    }
    Ok(events)
}

/// Epoch milliseconds from a JSON number: integers as is, floats only if integer-valued and in
/// the `i64` range (some producers serialise `1.7112e12`).
fn millis(node: &Node<'_>) -> Result<i64, &'static str> {
    // 2^63 as f64; every f64 strictly below it (and >= -2^63) converts to i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match node {
        Node::Static(StaticNode::I64(v)) => Ok(*v),
        Node::Static(StaticNode::U64(v)) => i64::try_from(*v).map_err(|_| "an out-of-range number"),
        Node::Static(StaticNode::F64(f)) => {
            if f.is_finite() && f.fract() == 0.0 && *f >= -LIMIT && *f < LIMIT {
                // Checked above: integer-valued and in range, so the cast is exact.
                #[allow(clippy::cast_possible_truncation)]
                Ok(*f as i64)
            } else {
                Err("a non-integer number")
            }
        }
        other => Err(kind(other)),
    }
}

mod fast;
mod salvage;

#[cfg(test)]
mod tests;
