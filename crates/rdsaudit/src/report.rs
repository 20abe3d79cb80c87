//! The accounting that makes losses visible.
//!
//! - records in = data records + control records (skipped by rule) + failed records (each
//!   with a reason);
//! - log events = parsed events + unparsed lines (each with a reason);
//! - of the parsed events, those whose line reads more than one way are counted as ambiguous
//!   (`ambiguous_events`): emitted once, flagged, never silently resolved.
//!
//! [`Report::is_balanced`] checks both sums; every front end prints them.

use std::collections::BTreeMap;

use crate::audit::event::AuditEvent;
use crate::audit::scanner::LineError;
use crate::input::envelope::EnvelopeError;
use crate::input::gzip::InflateError;
use crate::input::{RecordProblem, SourceError};

/// Why a whole record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The Lambda event's record itself is malformed (no `kinesis.data`, ...).
    #[error("record shape: {0}")]
    Shape(#[from] RecordProblem),
    /// `data` is not valid base64, or decodes past [`crate::input::MAX_DECODED_LEN`].
    #[error("base64: {0}")]
    Base64(SourceError),
    /// The payload is not gzip, is truncated, fails its CRC, or inflates past the limit.
    #[error("gzip: {0}")]
    Inflate(#[from] InflateError),
    /// The inflated payload is not a CloudWatch Logs envelope.
    #[error("CloudWatch envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// `messageType` is neither `DATA_MESSAGE` nor `CONTROL_MESSAGE`.
    #[error("unknown messageType {0:?}")]
    MessageType(String),
}

impl RecordError {
    /// A short, stable name for counting failures by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::Shape(_) => "shape",
            RecordError::Base64(_) => "base64",
            RecordError::Inflate(_) => "gzip",
            RecordError::Envelope(_) => "envelope",
            RecordError::MessageType(_) => "message_type",
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    /// Held at least one `DATA_MESSAGE`.
    Data,
    /// Held only `CONTROL_MESSAGE`s: skipped by rule.
    Control,
    /// Could not be read; the sink received it whole ([`crate::sink::FailedRecord`]).
    Failed(RecordError),
}

/// The result of one record (or one piece of a plain file): its status and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Data, control, or failed with a reason.
    pub status: RecordStatus,
    /// Log events (lines) read: `parsed` + unparsed.
    pub log_events: u64,
    /// Log events that are audit events.
    pub parsed: u64,
    /// Of `parsed`, the events flagged ambiguous (a raw name lets the line split more than
    /// one way, see [`crate::audit::event::Ambiguity`]).
    pub ambiguous: u64,
    /// Every unparsed line, counted by [`LineError::kind`].
    pub unparsed_by_reason: BTreeMap<&'static str, u64>,
    /// `CONTROL_MESSAGE` payloads in the record (a Firehose object holds them among data
    /// payloads), skipped by rule.
    pub control_messages: u64,
    /// Blank lines between audit lines (in a file or a message), skipped: no text.
    pub blank_lines: u64,
}

impl RecordOutcome {
    /// An outcome with this status and nothing counted yet.
    #[must_use]
    pub fn new(status: RecordStatus) -> Self {
        RecordOutcome {
            status,
            log_events: 0,
            parsed: 0,
            ambiguous: 0,
            unparsed_by_reason: BTreeMap::new(),
            control_messages: 0,
            blank_lines: 0,
        }
    }

    /// Every unparsed line.
    pub fn unparsed_count(&self) -> u64 {
        self.unparsed_by_reason.values().sum()
    }

    /// Counts a parsed event.
    pub(crate) fn add_parsed(&mut self, event: &AuditEvent<'_>) {
        self.log_events += 1;
        self.parsed += 1;
        self.ambiguous += u64::from(event.ambiguity.is_ambiguous());
    }

    /// Counts an unparsed line (its details went to the sink).
    pub(crate) fn add_unparsed(&mut self, reason: LineError) {
        self.log_events += 1;
        *self.unparsed_by_reason.entry(reason.kind()).or_default() += 1;
    }
}

/// The accounting of a batch. Failure reasons are counted by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Records read (Kinesis records, CloudWatch payloads); a text input has none.
    pub records: u64,
    /// Records that held at least one `DATA_MESSAGE`.
    pub data_records: u64,
    /// Records that held only `CONTROL_MESSAGE`s (skipped by rule).
    pub control_records: u64,
    /// Records that could not be read.
    pub failed_records: u64,
    /// Log events (CloudWatch events, text lines): `parsed_events` + `unparsed_events`.
    pub log_events: u64,
    /// Log events that are audit events.
    pub parsed_events: u64,
    /// Log events that are not audit lines.
    pub unparsed_events: u64,
    /// Of `parsed_events`, the events flagged ambiguous: their line splits more than one way
    /// (a raw user, host, database or table name holding commas, an operation or a line
    /// break; see `docs/HOSTILE.md`). Each is emitted once, with its other readings.
    pub ambiguous_events: u64,
    /// Failed records by [`RecordError::kind`].
    pub failed_by_kind: BTreeMap<&'static str, u64>,
    /// Unparsed log events by [`LineError::kind`].
    pub unparsed_by_reason: BTreeMap<&'static str, u64>,
    /// `CONTROL_MESSAGE` payloads, whichever record held them (skipped by rule): a record of
    /// only control payloads is also a control record; one among data payloads (a Firehose
    /// object) is counted here only.
    pub control_messages: u64,
    /// Blank lines between audit lines (in a file or a message), skipped: they hold no text.
    /// Not log events: every line of a text input is an audit line's or one of these.
    pub blank_lines: u64,
}

impl Report {
    /// Both sums hold: nothing was lost without being counted.
    pub fn is_balanced(&self) -> bool {
        self.records == self.data_records + self.control_records + self.failed_records
            && self.log_events == self.parsed_events + self.unparsed_events
            && self.failed_records == self.failed_by_kind.values().sum::<u64>()
            && self.unparsed_events == self.unparsed_by_reason.values().sum::<u64>()
            && self.ambiguous_events <= self.parsed_events
    }

    /// Adds the counts of one outcome; `is_record` is false for pieces of a plain file, whose
    /// lines are log events but which are not records themselves.
    pub fn add(&mut self, outcome: &RecordOutcome, is_record: bool) {
        if is_record {
            self.records += 1;
            match &outcome.status {
                RecordStatus::Data => self.data_records += 1,
                RecordStatus::Control => self.control_records += 1,
                RecordStatus::Failed(e) => {
                    self.failed_records += 1;
                    *self.failed_by_kind.entry(e.kind()).or_default() += 1;
                }
            }
        }
        self.control_messages += outcome.control_messages;
        self.blank_lines += outcome.blank_lines;
        self.log_events += outcome.log_events;
        self.parsed_events += outcome.parsed;
        self.ambiguous_events += outcome.ambiguous;
        self.unparsed_events += outcome.unparsed_count();
        for (reason, n) in &outcome.unparsed_by_reason {
            *self.unparsed_by_reason.entry(reason).or_default() += n;
        }
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &Report) {
        self.records += other.records;
        self.data_records += other.data_records;
        self.control_records += other.control_records;
        self.failed_records += other.failed_records;
        self.control_messages += other.control_messages;
        self.blank_lines += other.blank_lines;
        self.log_events += other.log_events;
        self.parsed_events += other.parsed_events;
        self.ambiguous_events += other.ambiguous_events;
        self.unparsed_events += other.unparsed_events;
        for (k, v) in &other.failed_by_kind {
            *self.failed_by_kind.entry(k).or_default() += v;
        }
        for (k, v) in &other.unparsed_by_reason {
            *self.unparsed_by_reason.entry(k).or_default() += v;
        }
    }
}
