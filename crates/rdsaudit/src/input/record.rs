//! What every Lambda event shape is read into: records ([`SourceRecord`]) whose payload is read
//! by the pipeline, the problems a single record can have, and the errors of a whole event.

use std::borrow::Cow;

pub use super::json::JsonError;

/// Why a single Kinesis record cannot be used (the rest of the event is unaffected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The element of `Records` is not an object.
    #[error("record is {0}, not an object")]
    NotAnObject(&'static str),
    /// No `kinesis` object in the record (the tape oracle's word; the walk says
    /// [`RecordProblem::NoRecordKey`]).
    #[error("record has no `kinesis` object")]
    MissingKinesis,
    /// An object with none of a record's keys (`kinesis`, `Data`, `SequenceNumber`): what it
    /// holds and where it is (session 30's adversary, F5: a page read as a record of the
    /// page before said only "record has no `kinesis` object").
    #[error("record at byte {offset} of page {page} is no Kinesis record: {found}")]
    NoRecordKey {
        /// The page it is in, 1-based (1 for a Lambda event).
        page: u32,
        /// Where its `{` is in the input.
        offset: usize,
        /// What it holds instead.
        found: &'static str,
    },
    /// `kinesis` is not an object.
    #[error("`kinesis` is {0}, not an object")]
    KinesisNotAnObject(&'static str),
    /// No `kinesis.data`.
    #[error("record has no `kinesis.data`")]
    MissingData,
    /// `kinesis.data` is not a string.
    #[error("`kinesis.data` is {0}, not a base64 string")]
    DataNotAString(&'static str),
    /// A required field of an `aws kinesis get-records` record is missing, or its value is
    /// not a string (`"SequenceNumber": 1`).
    #[error("record has no `{0}` string")]
    MissingField(&'static str),
    /// A field the record is read by (`kinesis`, `kinesis.data`, `kinesis.sequenceNumber`,
    /// `Data`, `SequenceNumber`) appears more than once: taking either would hide the other's
    /// payload, or report the record under the wrong sequence number.
    #[error("record has `{0}` more than once")]
    DuplicateField(&'static str),
    /// A record holds both a Lambda record's `kinesis` object and a key only an `aws kinesis
    /// get-records` record has (`Data`, `SequenceNumber`, named): which payload or sequence
    /// number is the record's cannot be told, and reading one shape would hide the other's.
    #[error(
        "record has both `kinesis` (a Lambda record) and `{0}` (a get-records record): which is the record's cannot be told"
    )]
    TwoShapes(&'static str),
    /// A string of the record holds a lone surrogate escape (`\ud800` without its pair): no
    /// character, so the record cannot be read as text; the records around it are read.
    #[error(
        "record holds a lone surrogate \\u{unit:04x} at byte {offset} (no character: not text)"
    )]
    LoneSurrogate {
        /// The escape's code unit.
        unit: u16,
        /// Where its backslash is in the input.
        offset: usize,
    },
    /// Part of a text of pages back to back (`aws kinesis get-records` in a shell loop) that
    /// does not read, kept whole as this record: a page cut short or damaged, from just
    /// after its last record read whole (its page's start if none) to where its structure
    /// shows the next page starts or to the end of the input; or text after a page that is
    /// no page. The pages around it, and its own records before the fault, are read.
    #[error("{0}")]
    Page(PagePart),
    /// A field of an `aws kinesis get-records` record that must be a string is not.
    #[error("`{field}` is {found}, not a base64 string")]
    NotAString {
        /// The field (`Data`).
        field: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
}

/// Where and why part of a text of pages did not read ([`RecordProblem::Page`]; a part of
/// the logs API's output, [`crate::input::logs_api::EventProblem::Page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PagePart {
    /// The page, 1-based; for text after a page that is no page, that page. (Small fields:
    /// every record's [`Payload`] is as large as its largest problem.)
    pub page: u32,
    /// Where the part kept starts in the input.
    pub offset: usize,
    /// Where the fault the walk found is in the input.
    pub fault: usize,
    /// What is wrong there, in the walk's words.
    pub what: &'static str,
    /// Text after page `page` that is no page, rather than a page that does not read.
    pub between: bool,
    /// The part runs to the end of the input: no page starts after the fault (a download
    /// cut short); any text after it is in it.
    pub to_end: bool,
    /// The pages hold events (the logs API's output), not records (`aws kinesis
    /// get-records`): how the message names them. (A flag, not a word: every record's
    /// [`Payload`] is as large as its largest problem, and 16 bytes more per record were
    /// +0.1% of the instructions on 6,000 one-line records, in copies.)
    pub events: bool,
    /// A page that reads as JSON but has no `Records` (`events`) array, its key damaged
    /// into another (`"Recrds"`) or its value no array (`what` says what stood there,
    /// `missing` if nothing): the whole page is the part, `fault` its start. Session 31's
    /// adversary B, F2: such a page refused every page of the input.
    pub shape: bool,
}

impl std::fmt::Display for PagePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (page, offset) = (self.page, self.offset);
        let to = if self.to_end {
            "the end of the input"
        } else {
            "the next page"
        };
        let items = if self.events { "events" } else { "records" };
        if self.shape {
            let key = if self.events { "events" } else { "Records" };
            return write!(
                f,
                "page {page} at byte {offset} is no page (kept whole, none of its {items} read; \
                 the pages around it are read): `{key}` should be an array, found {}",
                self.what
            );
        }
        if self.between {
            write!(
                f,
                "text after page {page}, from byte {offset} to {to}, is no page (kept whole)"
            )?;
        } else {
            write!(
                f,
                "page {page} does not read from byte {offset} to {to} (kept whole; its {items} before are read)",
            )?;
        }
        // The element of `Records` the fault lies in, if any, is this failed record's place.
        write!(f, ": invalid JSON at byte {}: {}", self.fault, self.what)
    }
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
    /// A record whose shape is wrong ([`Payload::Invalid`]): its JSON as it is in the input,
    /// to be kept whole; empty otherwise. Borrowed from the input, or a copy where a string
    /// the record is reported by (its sequence number) held an escape and stays unescaped
    /// in the input for it.
    pub as_read: Cow<'a, [u8]>,
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
            as_read: Cow::Borrowed(&[]),
        }
    }

    /// The record's bytes as delivered: its payload, or for a record whose shape is wrong,
    /// its JSON as it is in the input (what a failed record is kept as).
    #[must_use]
    pub fn as_delivered(&self) -> &[u8] {
        match self.payload {
            Payload::Base64(b) | Payload::Gzip(b) | Payload::Json(b) => b,
            Payload::Invalid(_) => &self.as_read,
        }
    }
}

/// Why an event (as a whole) or a base64 payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// A top-level field (`Records`, `awslogs`, `awslogs.data`) appears more than once: taking
    /// either would hide the other's records.
    #[error("event has `{0}` more than once (taking either would hide the other's records)")]
    DuplicateField(&'static str),
    /// The base64 text is invalid (bad character, impossible length, non-canonical last
    /// symbol, misplaced `=`).
    #[error("invalid base64: {reason}")]
    Base64 {
        /// Offset of the bad byte in the base64 text, when known.
        offset: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The base64 text uses the URL-safe alphabet's `-` or `_` (RFC 4648 section 5), which
    /// standard base64 has not: Kinesis `data` and `Data` are standard base64 (`+` and `/`),
    /// so the text was re-encoded somewhere on its way (a tool or a hand converted it). Told
    /// apart from [`SourceError::Base64`] because the fix is the producer's alphabet; the
    /// bytes are not decoded with the other alphabet: which was meant is a guess.
    #[error(
        "URL-safe base64 ('{}' at offset {offset}): Kinesis data is standard base64, with '+' and '/'",
        char::from(*.byte)
    )]
    UrlSafeBase64 {
        /// Offset of the first `-` or `_` in the base64 text (no byte before it is invalid).
        offset: usize,
        /// `-` or `_`.
        byte: u8,
    },
    /// A page of `aws kinesis get-records` output, in a file of several back to back (a shell
    /// loop over `NextShardIterator`), is not usable: which page, and where it starts.
    #[error("page {page}, at byte {offset}: {problem}")]
    Page {
        /// The page, 1-based.
        page: usize,
        /// The byte its `{` is at in the input.
        offset: usize,
        /// What is wrong with it.
        problem: Box<SourceError>,
    },
    /// A page that does not read, in a text of several, that cannot be kept whole: the
    /// input is refused as a whole, rather than the page read in part or lost.
    #[error("page {page}, at byte {offset}: {problem} (the input is refused: {why})")]
    PageRefused {
        /// The page, 1-based.
        page: usize,
        /// The byte its `{` is at in the input.
        offset: usize,
        /// What is wrong with it.
        problem: Box<SourceError>,
        /// Why it cannot be kept whole.
        why: &'static str,
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

/// Reusable state for parsing Lambda events in place (one per thread; `Send`): the nesting
/// stack of the walk that reads them.
#[derive(Debug, Default)]
pub struct SourceParser {
    pub(crate) open: Vec<u8>,
}

impl SourceParser {
    /// A parser with empty buffers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

/// Opens the root object of a Lambda event for `walk`. Any other root is read to its end
/// first (invalid JSON anywhere is reported before the shape), then refused.
pub(crate) fn open_event(walk: &mut super::json::walk::Walk<'_>) -> Result<(), SourceError> {
    let root = walk.value()?;
    if root != super::json::walk::Kind::Object {
        walk.skip(root)?;
        walk.end()?;
        return Err(SourceError::NotAnObject { found: root.name() });
    }
    walk.open(root)?;
    Ok(())
}
