//! Stage 1 of the pipeline: the input shapes (Lambda events and files) turned into records.
//!
//! The main shape is the Lambda event for a Kinesis event source mapping. Each record's `data` is
//! base64 of the gzip that CloudWatch Logs wrote to the stream:
//!
//! ```json
//! {"Records":[{
//!   "kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"8b1e3c6c8c3c1c1d2b6e0b2f5a4d3c2b",
//!     "sequenceNumber":"49590338271490256608559692538361571095921575989136588898",
//!     "data":"H4sIAAAAAAAA/6VUXW/aMBT9K5af...","approximateArrivalTimestamp":1711200969.123,
//!     "encryptionType":"KMS"},
//!   "eventSource":"aws:kinesis","eventVersion":"1.0",
//!   "eventID":"shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
//!   "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role",
//!   "awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/audit"}]}
//! ```
//!
//! A subscription filter that targets a Lambda directly sends `{"awslogs":{"data":"H4sI..."}}`
//! instead. Files (CLI) can also hold a raw gzip payload, the envelope JSON, or plain audit
//! text; [`detect`] tells them apart by content.
//!
//! Both events are parsed in place with simd-json (the base64 text is borrowed from the event
//! buffer; JSON escapes such as `\/` are undone in place) by walking the tape, so unknown fields
//! are ignored and any `encryptionType` string is accepted (`aws_lambda_events` rejects values
//! other than `NONE`/`KMS` and would fail the whole batch).
//!
//! A record whose own shape is wrong does not fail the event: it becomes a [`SourceRecord`] with
//! [`Payload::Invalid`], keeping its `sequenceNumber` so the Lambda can report it in
//! `batchItemFailures`.
//!
//! ```
//! use rdsaudit::source::{decode_base64, parse_kinesis_event, Payload, SourceParser};
//! let event = br#"{"Records":[
//!   {"eventID":"shardId-000000000000:1","kinesis":{"data":"aGVsbG8=","sequenceNumber":"1","encryptionType":"SOME_NEW_TYPE"}},
//!   {"eventID":"shardId-000000000000:2","kinesis":{"sequenceNumber":"2"}}]}"#;
//! let mut buf = event.to_vec();
//! buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
//! let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new())?;
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[0].encryption_type, Some("SOME_NEW_TYPE"));
//! let Payload::Base64(b64) = records[0].payload else { unreachable!() };
//! let mut out = Vec::new();
//! decode_base64(b64, &mut out)?;
//! assert_eq!(out, b"hello");
//! // The broken record is kept, with its sequence number, for the failure report.
//! assert!(matches!(records[1].payload, Payload::Invalid(_)));
//! assert_eq!(records[1].sequence_number, Some("2"));
//! # Ok::<(), rdsaudit::source::SourceError>(())
//! ```

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use simd_json::tape::{Node, Tape};
use simd_json::{Buffers, StaticNode};

const PADDING: usize = simd_json::INPUT_PADDING;

/// Largest decoded base64 payload [`decode_base64`] accepts: 8 MiB. A Kinesis record is at most
/// 1 MiB and a synchronous Lambda payload at most 6 MB, so no legitimate record comes close.
pub const MAX_DECODED_LEN: usize = 8 << 20;

/// STANDARD alphabet; padding may be present or absent (producers differ), but bad characters
/// and non-canonical trailing bits are rejected.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What an input is, judged by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A Lambda Kinesis event: `{"Records":[...]}`.
    KinesisEvent,
    /// A Lambda CloudWatch Logs event: `{"awslogs":{"data":"..."}}`.
    CloudWatchLogsEvent,
    /// A gzip stream (by default assumed to hold the envelope JSON; use
    /// [`detect_decompressed`] after inflating to tell it from [`InputKind::GzipAuditText`]).
    GzipPayload,
    /// The CloudWatch Logs envelope JSON itself (one or more objects back to back).
    EnvelopeJson,
    /// Plain audit log text, one event per line.
    AuditText,
    /// A gzip stream that inflates to plain audit text (e.g. a downloaded `.log.gz`).
    GzipAuditText,
}

/// Detects the kind of `input` from its content, never from a file name.
///
/// gzip magic (`1f 8b`) gives [`InputKind::GzipPayload`]: telling a gzip'd envelope from gzip'd
/// audit text needs the inflated bytes, see [`detect_decompressed`]. A leading `{` (after
/// whitespace) is classified by its first recognised top-level key: `Records` (Kinesis event),
/// `awslogs` (CloudWatch Logs event), `messageType` / `logEvents` (envelope). A JSON object with
/// none of those keys is still reported as [`InputKind::EnvelopeJson`], because the envelope
/// parser then gives a precise error (an audit line never starts with `{`). Anything else is
/// [`InputKind::AuditText`].
///
/// ```
/// use rdsaudit::source::{detect, InputKind};
/// assert_eq!(detect(br#" {"Records":[]}"#), InputKind::KinesisEvent);
/// assert_eq!(detect(br#"{"awslogs":{"data":""}}"#), InputKind::CloudWatchLogsEvent);
/// assert_eq!(detect(br#"{"owner":"1","messageType":"DATA_MESSAGE"}"#), InputKind::EnvelopeJson);
/// assert_eq!(detect(b"\x1f\x8b\x08\x00"), InputKind::GzipPayload);
/// assert_eq!(detect(b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n"), InputKind::AuditText);
/// ```
#[must_use]
pub fn detect(input: &[u8]) -> InputKind {
    if input.starts_with(&[0x1f, 0x8b]) {
        return InputKind::GzipPayload;
    }
    detect_text(input)
}

/// Classifies inflated bytes: JSON kinds are returned as by [`detect`] except that the envelope
/// becomes [`InputKind::GzipPayload`], and audit text becomes [`InputKind::GzipAuditText`].
#[must_use]
pub fn detect_decompressed(inflated: &[u8]) -> InputKind {
    match detect_text(inflated) {
        InputKind::EnvelopeJson => InputKind::GzipPayload,
        InputKind::AuditText => InputKind::GzipAuditText,
        other => other,
    }
}

fn detect_text(input: &[u8]) -> InputKind {
    let start = skip_ws(input, 0);
    if input.get(start) != Some(&b'{') {
        return InputKind::AuditText;
    }
    match first_known_key(input, start + 1) {
        Some(Key::Records) => InputKind::KinesisEvent,
        Some(Key::Awslogs) => InputKind::CloudWatchLogsEvent,
        Some(Key::Envelope) | None => InputKind::EnvelopeJson,
    }
}

enum Key {
    Records,
    Awslogs,
    Envelope,
}

/// Walks the top-level keys of the object whose body starts at `at`, skipping values with a
/// string-aware bracket counter, until a recognised key. Linear, no recursion, no allocation.
fn first_known_key(input: &[u8], mut at: usize) -> Option<Key> {
    loop {
        at = skip_ws(input, at);
        match input.get(at)? {
            b',' => at += 1,
            b'"' => {
                let end = skip_string(input, at + 1)?;
                let key = input.get(at + 1..end - 1)?;
                match key {
                    b"Records" => return Some(Key::Records),
                    b"awslogs" => return Some(Key::Awslogs),
                    b"messageType" | b"logEvents" => return Some(Key::Envelope),
                    _ => {}
                }
                at = skip_ws(input, end);
                if input.get(at) != Some(&b':') {
                    return None;
                }
                at = skip_value(input, at + 1)?;
            }
            _ => return None,
        }
    }
}

/// Index just past the JSON value starting at (or after whitespace from) `at`; for a bare
/// scalar, the index of the `,` or `}` that ends it.
fn skip_value(input: &[u8], at: usize) -> Option<usize> {
    let mut at = skip_ws(input, at);
    let mut depth = 0usize;
    loop {
        match input.get(at)? {
            b'"' => {
                at = skip_string(input, at + 1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    return Some(at);
                }
                depth -= 1;
                at += 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            b',' if depth == 0 => return Some(at),
            _ => at += 1,
        }
    }
}

fn skip_ws(input: &[u8], mut at: usize) -> usize {
    while input
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// Given the index just after an opening quote, returns the index just after the closing one.
fn skip_string(input: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += memchr::memchr2(b'"', b'\\', input.get(at..)?)?;
        match input.get(at)? {
            b'\\' => at += 2,
            _ => return Some(at + 1),
        }
    }
}

/// Why a single Kinesis record cannot be used (the rest of the event is unaffected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    /// The element of `Records` is not an object.
    #[error("record is {0}, not an object")]
    NotAnObject(&'static str),
    /// No `kinesis` object in the record.
    #[error("record has no `kinesis` object")]
    MissingKinesis,
    /// `kinesis` is not an object.
    #[error("`kinesis` is {0}, not an object")]
    KinesisNotAnObject(&'static str),
    /// No `kinesis.data`.
    #[error("record has no `kinesis.data`")]
    MissingData,
    /// `kinesis.data` is not a string.
    #[error("`kinesis.data` is {0}, not a base64 string")]
    DataNotAString(&'static str),
}

/// The bytes of one record, in whatever encoding the source delivered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// Base64 text of a gzip payload (Kinesis `data`, `awslogs.data`).
    Base64(&'a [u8]),
    /// A gzip payload (raw files).
    Gzip(&'a [u8]),
    /// The envelope JSON, not compressed (raw files, tests).
    Json(&'a [u8]),
    /// The record's shape was wrong; it is reported as failed with this reason.
    Invalid(RecordProblem),
}

/// One record from a source, with the Kinesis metadata needed to report it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord<'a> {
    /// The payload bytes.
    pub payload: Payload<'a>,
    /// `kinesis.sequenceNumber`: the `itemIdentifier` for a partial batch failure.
    pub sequence_number: Option<&'a str>,
    /// `eventID` (`shardId-…:<sequence number>`).
    pub event_id: Option<&'a str>,
    /// `kinesis.partitionKey`.
    pub partition_key: Option<&'a str>,
    /// `kinesis.approximateArrivalTimestamp`, epoch seconds with a fraction.
    pub approximate_arrival_timestamp: Option<f64>,
    /// `kinesis.encryptionType`, any string (`NONE`, `KMS`, or something new).
    pub encryption_type: Option<&'a str>,
}

impl<'a> SourceRecord<'a> {
    /// A record with no metadata (files, `awslogs` events, tests).
    #[must_use]
    pub fn new(payload: Payload<'a>) -> Self {
        Self {
            payload,
            sequence_number: None,
            event_id: None,
            partition_key: None,
            approximate_arrival_timestamp: None,
            encryption_type: None,
        }
    }
}

/// Why an event (as a whole) or a base64 payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The caller broke the padding contract (`buf.len() >= len + INPUT_PADDING`).
    #[error(
        "buffer of {buf_len} bytes is too small for {len} bytes of JSON plus {PADDING} bytes of padding"
    )]
    InsufficientPadding {
        /// JSON length passed in.
        len: usize,
        /// Buffer length passed in.
        buf_len: usize,
    },
    /// The event is not valid JSON.
    #[error("invalid JSON at byte {offset}: {msg}")]
    Json {
        /// Byte offset (simd-json's position of the failing token).
        offset: usize,
        /// simd-json's error kind.
        msg: String,
    },
    /// The event is not a JSON object.
    #[error("event is {found}, not a JSON object")]
    NotAnObject {
        /// JSON type found.
        found: &'static str,
    },
    /// A required top-level field (`Records`, `awslogs`, `awslogs.data`) is missing.
    #[error("event has no `{0}`")]
    MissingField(&'static str),
    /// A required top-level field has the wrong type.
    #[error("`{field}` should be {expected}, found {found}")]
    WrongType {
        /// Field name.
        field: &'static str,
        /// What we expected.
        expected: &'static str,
        /// JSON type found.
        found: &'static str,
    },
    /// The base64 text is invalid (bad character, impossible length, non-canonical last
    /// symbol, misplaced `=`).
    #[error("invalid base64: {reason}")]
    Base64 {
        /// Offset of the bad byte in the base64 text, when known.
        offset: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The decoded payload would exceed the size bound.
    #[error("base64 payload of {encoded} bytes decodes to more than the {limit}-byte limit")]
    TooLarge {
        /// Length of the base64 text.
        encoded: usize,
        /// The bound in bytes.
        limit: usize,
    },
}

/// Reusable simd-json state for parsing Lambda events in place (one per thread; `Send`).
pub struct SourceParser {
    buffers: Buffers,
    /// Empty between calls; its lifetime is re-bound per call with `Tape::reset`.
    tape: Tape<'static>,
}

impl std::fmt::Debug for SourceParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceParser").finish_non_exhaustive()
    }
}

impl Default for SourceParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SourceParser {
    /// A parser with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self {
            buffers: Buffers::default(),
            tape: Tape(Vec::new()),
        }
    }

    /// Parses `buf[..len]` in place and hands the tape to `walk`.
    fn with_tape<'a, T>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
        walk: impl FnOnce(&[Node<'a>]) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        if buf.len() < len.saturating_add(PADDING) {
            return Err(SourceError::InsufficientPadding {
                len,
                buf_len: buf.len(),
            });
        }
        let mut tape: Tape<'a> = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let result = simd_json::fill_tape_padded(buf, len, &mut self.buffers, &mut tape)
            .map_err(|e| SourceError::Json {
                offset: e.index(),
                msg: format!("{:?}", e.error()),
            })
            .and_then(|()| walk(&tape.0));
        self.tape = tape.reset();
        result
    }
}

/// Parses a Lambda Kinesis event in place (`buf[..len]` is the JSON, followed by at least
/// `simd_json::INPUT_PADDING` bytes).
///
/// Returns one [`SourceRecord`] per element of `Records`, in order. A record whose own shape is
/// wrong (no `kinesis`, no `data`, `data` not a string, ...) is returned with
/// [`Payload::Invalid`] and whatever metadata it has, so the caller can count it as failed and
/// report its `sequenceNumber`. Metadata fields of the wrong type are treated as absent.
///
/// # Errors
/// Only for an unusable event: invalid JSON, not an object, no `Records` array.
pub fn parse_kinesis_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<Vec<SourceRecord<'a>>, SourceError> {
    parser.with_tape(buf, len, |tape| {
        let records_at = field(tape, 0, "Records")?.ok_or(SourceError::MissingField("Records"))?;
        let count = match tape.get(records_at) {
            Some(Node::Array { len, .. }) => *len,
            other => {
                return Err(SourceError::WrongType {
                    field: "Records",
                    expected: "an array",
                    found: other.map_or("nothing", kind),
                });
            }
        };
        let mut records = Vec::with_capacity(count);
        for el in elements(tape, records_at) {
            records.push(kinesis_record(tape, el));
        }
        Ok(records)
    })
}

fn kinesis_record<'a>(tape: &[Node<'a>], at: usize) -> SourceRecord<'a> {
    let mut rec = SourceRecord::new(Payload::Invalid(RecordProblem::MissingKinesis));
    match tape.get(at) {
        Some(Node::Object { .. }) => {}
        other => {
            rec.payload =
                Payload::Invalid(RecordProblem::NotAnObject(other.map_or("nothing", kind)));
            return rec;
        }
    }
    for (key, v) in entries(tape, at) {
        match key {
            "eventID" => rec.event_id = string_at(tape, v),
            "kinesis" => match tape.get(v) {
                Some(Node::Object { .. }) => {
                    rec.payload = Payload::Invalid(RecordProblem::MissingData);
                    for (key, v) in entries(tape, v) {
                        match key {
                            "data" => {
                                rec.payload = match tape.get(v) {
                                    Some(Node::String(s)) => Payload::Base64(s.as_bytes()),
                                    other => Payload::Invalid(RecordProblem::DataNotAString(
                                        other.map_or("nothing", kind),
                                    )),
                                }
                            }
                            "sequenceNumber" => rec.sequence_number = string_at(tape, v),
                            "partitionKey" => rec.partition_key = string_at(tape, v),
                            "encryptionType" => rec.encryption_type = string_at(tape, v),
                            "approximateArrivalTimestamp" => {
                                rec.approximate_arrival_timestamp = number_at(tape, v);
                            }
                            _ => {}
                        }
                    }
                }
                other => {
                    rec.payload = Payload::Invalid(RecordProblem::KinesisNotAnObject(
                        other.map_or("nothing", kind),
                    ));
                }
            },
            _ => {}
        }
    }
    rec
}

/// Parses a Lambda CloudWatch Logs event `{"awslogs":{"data":"<base64>"}}` in place into one
/// record (no sequence number). Unknown keys are ignored.
///
/// # Errors
/// Invalid JSON, not an object, or `awslogs` / `awslogs.data` missing or of the wrong type.
pub fn parse_awslogs_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<SourceRecord<'a>, SourceError> {
    parser.with_tape(buf, len, |tape| {
        let awslogs = field(tape, 0, "awslogs")?.ok_or(SourceError::MissingField("awslogs"))?;
        match tape.get(awslogs) {
            Some(Node::Object { .. }) => {}
            other => {
                return Err(SourceError::WrongType {
                    field: "awslogs",
                    expected: "an object",
                    found: other.map_or("nothing", kind),
                });
            }
        }
        let data =
            field(tape, awslogs, "data")?.ok_or(SourceError::MissingField("awslogs.data"))?;
        match tape.get(data) {
            Some(Node::String(s)) => Ok(SourceRecord::new(Payload::Base64(s.as_bytes()))),
            other => Err(SourceError::WrongType {
                field: "awslogs.data",
                expected: "a base64 string",
                found: other.map_or("nothing", kind),
            }),
        }
    })
}

/// Decodes STANDARD base64 into `out` (cleared first, allocation reused), bounded by
/// [`MAX_DECODED_LEN`]. Padding is optional; bad characters (including whitespace) are errors.
///
/// # Errors
/// [`SourceError::Base64`] for invalid text, [`SourceError::TooLarge`] above the bound.
pub fn decode_base64(b64: &[u8], out: &mut Vec<u8>) -> Result<(), SourceError> {
    decode_base64_with_limit(b64, out, MAX_DECODED_LEN)
}

/// [`decode_base64`] with an explicit bound on the decoded size.
///
/// # Errors
/// As [`decode_base64`].
pub fn decode_base64_with_limit(
    b64: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), SourceError> {
    out.clear();
    // Exact for padded input, at most 2 bytes high otherwise: never under the real size.
    let estimate = b64.len().div_ceil(4).saturating_mul(3);
    if estimate.saturating_sub(2) > limit {
        return Err(SourceError::TooLarge {
            encoded: b64.len(),
            limit,
        });
    }
    out.reserve(estimate);
    BASE64.decode_vec(b64, out).map_err(|e| {
        let offset = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => Some(at),
            base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => None,
        };
        SourceError::Base64 {
            offset,
            reason: e.to_string(),
        }
    })?;
    if out.len() > limit {
        out.clear();
        return Err(SourceError::TooLarge {
            encoded: b64.len(),
            limit,
        });
    }
    Ok(())
}

fn kind(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(_) => "a number",
    }
}

fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count.saturating_add(1),
        _ => 1,
    }
}

/// `(key, value index)` pairs of the object at `tape[at]` (empty if it is not an object), the
/// values skipped by node count: no recursion however deep unknown values are.
fn entries<'t, 'a>(tape: &'t [Node<'a>], at: usize) -> impl Iterator<Item = (&'a str, usize)> + 't {
    let len = match tape.get(at) {
        Some(Node::Object { len, .. }) => *len,
        _ => 0,
    };
    let mut next = at + 1;
    (0..len).map_while(move |_| {
        let Some(Node::String(key)) = tape.get(next) else {
            return None;
        };
        let value = next + 1;
        next = value.saturating_add(span(tape.get(value)?));
        Some((*key, value))
    })
}

/// Element indices of the array at `tape[at]` (empty if it is not an array).
fn elements<'t>(tape: &'t [Node<'_>], at: usize) -> impl Iterator<Item = usize> + 't {
    let len = match tape.get(at) {
        Some(Node::Array { len, .. }) => *len,
        _ => 0,
    };
    let mut next = at + 1;
    (0..len).map_while(move |_| {
        let this = next;
        next = this.saturating_add(span(tape.get(this)?));
        Some(this)
    })
}

/// Value index of `key` in the object at `tape[at]` (last one wins). Errors if `tape[at]` is
/// not an object (only used on the root and on already-checked objects).
fn field(tape: &[Node<'_>], at: usize, key: &str) -> Result<Option<usize>, SourceError> {
    match tape.get(at) {
        Some(Node::Object { .. }) => Ok(entries(tape, at)
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .last()),
        other => Err(SourceError::NotAnObject {
            found: other.map_or("nothing", kind),
        }),
    }
}

fn string_at<'a>(tape: &[Node<'a>], at: usize) -> Option<&'a str> {
    match tape.get(at) {
        Some(Node::String(s)) => Some(s),
        _ => None,
    }
}

fn number_at(tape: &[Node<'_>], at: usize) -> Option<f64> {
    // Converting a JSON integer to seconds-as-f64 may round beyond 2^53, which is irrelevant
    // for epoch seconds.
    #[allow(clippy::cast_precision_loss)]
    match tape.get(at) {
        Some(Node::Static(StaticNode::F64(f))) => Some(*f),
        Some(Node::Static(StaticNode::I64(i))) => Some(*i as f64),
        Some(Node::Static(StaticNode::U64(u))) => Some(*u as f64),
        _ => None,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::envelope::{EnvelopeParser, MessageType};
    use crate::inflate::Inflater;
    use std::io::Write;

    fn padded(json: &[u8]) -> (Vec<u8>, usize) {
        let mut v = json.to_vec();
        v.resize(json.len() + PADDING, 0);
        (v, json.len())
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    const ENVELOPE: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/instance/db1/audit","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1711200969000,"message":"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,"}]}"#;

    fn kinesis_event(records: &[String]) -> String {
        format!(r#"{{"Records":[{}]}}"#, records.join(","))
    }

    fn kinesis_record(data: &str, seq: &str, enc: &str) -> String {
        format!(
            r#"{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"pk","sequenceNumber":"{seq}","data":"{data}","approximateArrivalTimestamp":1711200969.123,"encryptionType":"{enc}"}},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:{seq}","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/r","awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/audit"}}"#
        )
    }

    #[test]
    fn kinesis_end_to_end() {
        let data = b64(&gz(ENVELOPE.as_bytes()));
        // JSON producers may escape `/` as `\/`: simd-json undoes it in place.
        let escaped = data.replace('/', "\\/");
        let event = kinesis_event(&[
            kinesis_record(
                &data,
                "49590338271490256608559692538361571095921575989136588898",
                "KMS",
            ),
            kinesis_record(&escaped, "2", "NONE"),
        ]);
        assert_eq!(detect(event.as_bytes()), InputKind::KinesisEvent);
        let (mut buf, len) = padded(event.as_bytes());
        let mut parser = SourceParser::new();
        let records = parse_kinesis_event(&mut buf, len, &mut parser).unwrap();
        assert_eq!(records.len(), 2);
        let r = &records[0];
        assert_eq!(
            r.sequence_number,
            Some("49590338271490256608559692538361571095921575989136588898")
        );
        assert_eq!(
            r.event_id,
            Some("shardId-000000000000:49590338271490256608559692538361571095921575989136588898")
        );
        assert_eq!(r.partition_key, Some("pk"));
        assert_eq!(r.encryption_type, Some("KMS"));
        assert_eq!(r.approximate_arrival_timestamp, Some(1_711_200_969.123));

        let mut decoded = Vec::new();
        let mut inflater = Inflater::new();
        let mut envelopes = EnvelopeParser::new();
        for r in &records {
            let Payload::Base64(b) = r.payload else {
                panic!("{:?}", r.payload)
            };
            decode_base64(b, &mut decoded).unwrap();
            assert_eq!(detect(&decoded), InputKind::GzipPayload);
            let (buf, len) = inflater.inflate(&decoded).unwrap().into_padded();
            assert_eq!(
                detect_decompressed(buf.get(..len).unwrap()),
                InputKind::GzipPayload
            );
            let envs = envelopes.parse(buf, len).unwrap();
            assert_eq!(envs[0].message_type, MessageType::Data);
            assert!(envs[0].log_events[0].message.contains("'SELECT 1'"));
        }
    }

    #[test]
    fn unknown_encryption_type_accepted() {
        let event = kinesis_event(&[kinesis_record("aGk=", "7", "AES_9000_FUTURE")]);
        let (mut buf, len) = padded(event.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records[0].encryption_type, Some("AES_9000_FUTURE"));
        assert_eq!(records[0].payload, Payload::Base64(b"aGk="));
    }

    #[test]
    fn bad_records_do_not_fail_the_event() {
        let event = r#"{"Records":[
            {"eventID":"e1","kinesis":{"sequenceNumber":"1","partitionKey":"p"}},
            {"eventID":"e2","kinesis":{"sequenceNumber":"2","data":12}},
            {"eventID":"e3","kinesis":"nope"},
            {"eventID":"e4"},
            "not a record",
            {"kinesis":{"sequenceNumber":6,"data":"aGk","approximateArrivalTimestamp":"x","encryptionType":null}},
            {"kinesis":{"data":"aGk=","sequenceNumber":"7","extra":{"deep":[[[[{}]]]]}},"future":[1,2,3]}
        ]}"#;
        let (mut buf, len) = padded(event.as_bytes());
        let rs = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(rs.len(), 7);
        assert_eq!(rs[0].payload, Payload::Invalid(RecordProblem::MissingData));
        assert_eq!(rs[0].sequence_number, Some("1"));
        assert_eq!(rs[0].event_id, Some("e1"));
        assert_eq!(
            rs[1].payload,
            Payload::Invalid(RecordProblem::DataNotAString("a number"))
        );
        assert_eq!(rs[1].sequence_number, Some("2"));
        assert_eq!(
            rs[2].payload,
            Payload::Invalid(RecordProblem::KinesisNotAnObject("a string"))
        );
        assert_eq!(
            rs[3].payload,
            Payload::Invalid(RecordProblem::MissingKinesis)
        );
        assert_eq!(
            rs[4].payload,
            Payload::Invalid(RecordProblem::NotAnObject("a string"))
        );
        // Wrong-typed metadata is treated as absent; unpadded base64 is kept for decoding.
        assert_eq!(rs[5].payload, Payload::Base64(b"aGk"));
        assert_eq!(rs[5].sequence_number, None);
        assert_eq!(rs[5].approximate_arrival_timestamp, None);
        assert_eq!(rs[6].payload, Payload::Base64(b"aGk="));
        assert_eq!(rs[6].sequence_number, Some("7"));
        assert_eq!(
            RecordProblem::MissingData.to_string(),
            "record has no `kinesis.data`"
        );
    }

    #[test]
    fn unusable_events_are_errors() {
        let mut p = SourceParser::new();
        let mut run = |s: &str| {
            let (mut buf, len) = padded(s.as_bytes());
            parse_kinesis_event(&mut buf, len, &mut p).map(|r| r.len())
        };
        assert_eq!(run(r#"{"Records":[]}"#), Ok(0));
        assert_eq!(run(r#"{}"#), Err(SourceError::MissingField("Records")));
        assert!(matches!(
            run(r#"{"Records":{}}"#),
            Err(SourceError::WrongType {
                field: "Records",
                ..
            })
        ));
        assert!(matches!(run(r#"[]"#), Err(SourceError::NotAnObject { .. })));
        assert!(matches!(
            run(r#"{"Records":["#),
            Err(SourceError::Json { .. })
        ));
        assert!(matches!(run(""), Err(SourceError::Json { .. })));
        assert!(matches!(
            run(&"[".repeat(100_000)),
            Err(SourceError::Json { .. })
        ));
        let mut short = b"{}".to_vec();
        assert!(matches!(
            parse_kinesis_event(&mut short, 2, &mut p),
            Err(SourceError::InsufficientPadding { .. })
        ));
    }

    #[test]
    fn awslogs_event() {
        let data = b64(&gz(ENVELOPE.as_bytes()));
        let event = format!(r#"{{"awslogs":{{"data":"{data}","unknown":1}}}}"#);
        assert_eq!(detect(event.as_bytes()), InputKind::CloudWatchLogsEvent);
        let (mut buf, len) = padded(event.as_bytes());
        let mut p = SourceParser::new();
        let rec = parse_awslogs_event(&mut buf, len, &mut p).unwrap();
        assert_eq!(rec.payload, Payload::Base64(data.as_bytes()));
        assert_eq!(rec.sequence_number, None);

        let mut run = |s: &str| {
            let (mut buf, len) = padded(s.as_bytes());
            parse_awslogs_event(&mut buf, len, &mut p).map(|_| ())
        };
        assert_eq!(run("{}"), Err(SourceError::MissingField("awslogs")));
        assert_eq!(
            run(r#"{"awslogs":{}}"#),
            Err(SourceError::MissingField("awslogs.data"))
        );
        assert!(matches!(
            run(r#"{"awslogs":[]}"#),
            Err(SourceError::WrongType {
                field: "awslogs",
                ..
            })
        ));
        assert!(matches!(
            run(r#"{"awslogs":{"data":null}}"#),
            Err(SourceError::WrongType {
                field: "awslogs.data",
                ..
            })
        ));
    }

    #[test]
    fn base64_rules() {
        let mut out = vec![1, 2, 3];
        decode_base64(b"aGVsbG8=", &mut out).unwrap();
        assert_eq!(out, b"hello");
        decode_base64(b"aGVsbG8", &mut out).unwrap();
        assert_eq!(out, b"hello", "missing padding is accepted");
        decode_base64(b"", &mut out).unwrap();
        assert!(out.is_empty());
        let err = decode_base64(b"aGV*bG8=", &mut out).unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::Base64 {
                    offset: Some(3),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            decode_base64(b"aGVs\nbG8=", &mut out).unwrap_err(),
            SourceError::Base64 {
                offset: Some(4),
                ..
            }
        ));
        assert!(matches!(
            decode_base64(b"a", &mut out).unwrap_err(),
            SourceError::Base64 { .. }
        ));
        // URL-safe alphabet is not STANDARD.
        assert!(decode_base64(b"-_-_", &mut out).is_err());
        // Non-canonical trailing bits.
        assert!(decode_base64(b"aGVsbG9=", &mut out).is_err());
        assert_eq!(
            decode_base64_with_limit(b"aGVsbG8gd29ybGQ=", &mut out, 5).unwrap_err(),
            SourceError::TooLarge {
                encoded: 16,
                limit: 5
            }
        );
        decode_base64_with_limit(b"aGVsbG8=", &mut out, 5).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn detection() {
        assert_eq!(detect(b""), InputKind::AuditText);
        assert_eq!(detect(b"{"), InputKind::EnvelopeJson);
        assert_eq!(
            detect(br#"{"x":{"Records":1},"Records":[]}"#),
            InputKind::KinesisEvent
        );
        assert_eq!(
            detect(br#"{"x":"\"Records\"","y":[{"awslogs":1}],"logEvents":[]}"#),
            InputKind::EnvelopeJson
        );
        assert_eq!(
            detect(br#"{"a":1,"b":true,"c":null}"#),
            InputKind::EnvelopeJson
        );
        assert_eq!(detect(ENVELOPE.as_bytes()), InputKind::EnvelopeJson);
        assert_eq!(
            detect(b"1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0\n"),
            InputKind::AuditText
        );
        let text = b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n";
        assert_eq!(detect(&gz(text)), InputKind::GzipPayload);
        let mut inflater = Inflater::new();
        let out = inflater.inflate(&gz(text)).unwrap();
        assert_eq!(detect_decompressed(out.bytes()), InputKind::GzipAuditText);
        // Malformed JSON never panics.
        for s in [
            "{\"",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":\"",
            "{\"a\":[",
            "{\"a\"x",
            "{,,",
            "{\"a\":1,",
            "{\"a\\",
            "{\"a\":{]]]}",
        ] {
            let _ = detect(s.as_bytes());
        }
    }

    #[test]
    fn is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<SourceParser>();
    }
}
