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
//! use rdsaudit::input::source::{decode_base64, parse_kinesis_event, Payload, SourceParser};
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
//! # Ok::<(), rdsaudit::input::source::SourceError>(())
//! ```

use crate::input::json::{TapeParser, kind, skip_string, skip_ws};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use simd_json::StaticNode;
use simd_json::tape::Node;

pub use crate::input::json::JsonError;

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
/// use rdsaudit::input::source::{detect, InputKind};
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
    /// A required field of an `aws kinesis get-records` record is missing.
    #[error("record has no `{0}`")]
    MissingField(&'static str),
    /// A field of an `aws kinesis get-records` record that must be a string is not.
    #[error("`{field}` is {found}, not a base64 string")]
    NotAString {
        /// The field (`Data`).
        field: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
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
    /// The event is not usable JSON, or the caller broke the padding contract
    /// (`buf.len() >= len + simd_json::INPUT_PADDING`).
    #[error(transparent)]
    Json(#[from] JsonError),
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
#[derive(Debug, Default)]
pub struct SourceParser {
    json: TapeParser,
}

impl SourceParser {
    /// A parser with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
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
    parser.json.parse_padded(buf, len, |tape| {
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
    if rec.payload == Payload::Invalid(RecordProblem::MissingKinesis) {
        // `aws kinesis get-records` output: flat, capitalised records.
        return crate::input::get_records::record(tape, at).unwrap_or(rec);
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
    parser.json.parse_padded(buf, len, |tape| {
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

/// `(key, value index)` pairs of the object at `tape[at]` (empty if it is not an object).
///
/// Lenient on purpose: a record's shape problems are reported per record, never by failing the
/// event, so a malformed tape node (simd-json's own tape; should not happen) ends the walk as
/// if the remaining keys were absent.
fn entries<'t, 'a>(tape: &'t [Node<'a>], at: usize) -> impl Iterator<Item = (&'a str, usize)> + 't {
    crate::input::json::object_entries(tape, at)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
}

/// Element indices of the array at `tape[at]` (empty if it is not an array), lenient like
/// [`entries`].
fn elements<'t>(tape: &'t [Node<'_>], at: usize) -> impl Iterator<Item = usize> + 't {
    crate::input::json::array_elements(tape, at)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
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
mod tests;
