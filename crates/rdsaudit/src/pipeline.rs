//! Many records at once, in parallel, with every record and every log event accounted for.
//!
//! A [`Pipeline`] keeps a pool of workers (an inflater, an envelope parser, scratch buffers
//! and a `bumpalo` arena each) that outlive a batch, so a Lambda that handles thousands of
//! invocations allocates its buffers once. Records are spread over `rayon`'s threads; results
//! come back in input order.
//!
//! The [`Report`] holds the accounting that makes losses visible:
//!
//! - records in = data records + control records + failed records (each with a reason);
//! - log events = parsed events + unparsed lines (each with a reason).
//!
//! ```
//! use rdsaudit::pipeline::Pipeline;
//! use rdsaudit::input::source::{Payload, SourceRecord};
//!
//! let json = br#"{"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"/aws/rds/cluster/c1/audit",
//!   "logStream":"c1-instance-1.audit.log.0","subscriptionFilters":["f"],"logEvents":[
//!   {"id":"1","timestamp":1653053459680,"message":"1653053459680124,c1-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0"},
//!   {"id":"2","timestamp":1653053459681,"message":"not an audit line"}]}"#;
//! let records = [SourceRecord::new(Payload::Json(json))];
//! let batch = Pipeline::new().process(&records, false, |event, _arena, out: &mut Vec<String>| {
//!     out.push(event.object.text().into_owned());
//! });
//! assert_eq!(batch.records[0].output, ["test2"]);
//! assert_eq!((batch.report.parsed_events, batch.report.unparsed_events), (1, 1));
//! assert!(batch.report.is_balanced());
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;

use bumpalo::Bump;
use rayon::prelude::*;

use crate::audit::event::AuditEvent;
use crate::audit::scanner::{LineError, parse_line};
use crate::input::envelope::{self, EnvelopeError, EnvelopeParser, LogEnvelope, MessageType};
use crate::input::gzip::{InflateError, Inflater};
use crate::input::source::{self, Payload, RecordProblem, SourceError, SourceRecord};
use crate::input::text;

/// Why a whole record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record shape: {0}")]
    Shape(#[from] RecordProblem),
    #[error("base64: {0}")]
    Base64(SourceError),
    #[error("gzip: {0}")]
    Inflate(#[from] InflateError),
    #[error("CloudWatch envelope: {0}")]
    Envelope(#[from] EnvelopeError),
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
    Failed(RecordError),
}

/// A log event that did not parse as an audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed {
    /// CloudWatch event id, when the line came in an envelope.
    pub event_id: Option<String>,
    /// 1-based line number, when the line came from a plain file.
    pub line_number: Option<u64>,
    pub reason: LineError,
    /// The start of the line (at most [`EXCERPT_LEN`] bytes, lossy UTF-8).
    pub excerpt: String,
}

/// How much of an unparsed line is kept for the report.
pub const EXCERPT_LEN: usize = 160;

impl Unparsed {
    fn new(line: &[u8], reason: LineError) -> Self {
        let cut = line.get(..EXCERPT_LEN).unwrap_or(line);
        Unparsed {
            event_id: None,
            line_number: None,
            reason,
            excerpt: String::from_utf8_lossy(cut).into_owned(),
        }
    }
}

/// How many unparsed lines of one record keep their details ([`Unparsed`]); the rest are
/// only counted, so a record of a million bad lines cannot hold a million excerpts.
pub const MAX_UNPARSED_DETAILS: usize = 64;

/// The result of one record (or one piece of a plain file): its status, its counts, what
/// the visitor wrote for it.
#[derive(Debug)]
pub struct RecordOutcome<W> {
    pub status: RecordStatus,
    pub log_events: u64,
    pub parsed: u64,
    /// The first [`MAX_UNPARSED_DETAILS`] unparsed lines, in order.
    pub unparsed: Vec<Unparsed>,
    /// Every unparsed line, counted by [`LineError::kind`].
    pub unparsed_by_reason: BTreeMap<&'static str, u64>,
    pub output: W,
}

impl<W: Default> RecordOutcome<W> {
    fn new(status: RecordStatus) -> Self {
        RecordOutcome {
            status,
            log_events: 0,
            parsed: 0,
            unparsed: Vec::new(),
            unparsed_by_reason: BTreeMap::new(),
            output: W::default(),
        }
    }
}

impl<W> RecordOutcome<W> {
    /// All unparsed lines, including those past the detail cap.
    pub fn unparsed_count(&self) -> u64 {
        self.unparsed_by_reason.values().sum()
    }

    /// Counts an unparsed line; keeps its details while under the cap (built lazily, so a
    /// flood of bad lines costs no allocation each).
    fn add_unparsed(&mut self, reason: LineError, details: impl FnOnce() -> Unparsed) {
        self.log_events += 1;
        *self.unparsed_by_reason.entry(reason.kind()).or_default() += 1;
        if self.unparsed.len() < MAX_UNPARSED_DETAILS {
            self.unparsed.push(details());
        }
    }
}

/// The accounting of a batch. Failure reasons are counted by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub data_records: u64,
    pub control_records: u64,
    pub failed_records: u64,
    pub log_events: u64,
    pub parsed_events: u64,
    pub unparsed_events: u64,
    pub failed_by_kind: BTreeMap<&'static str, u64>,
    pub unparsed_by_reason: BTreeMap<&'static str, u64>,
}

impl Report {
    /// Both sums hold: nothing was lost without being counted.
    pub fn is_balanced(&self) -> bool {
        self.records == self.data_records + self.control_records + self.failed_records
            && self.log_events == self.parsed_events + self.unparsed_events
            && self.failed_records == self.failed_by_kind.values().sum::<u64>()
            && self.unparsed_events == self.unparsed_by_reason.values().sum::<u64>()
    }

    /// Adds the counts of one outcome; `is_record` is false for pieces of a plain file, whose
    /// lines are log events but which are not records themselves.
    pub fn add<W>(&mut self, outcome: &RecordOutcome<W>, is_record: bool) {
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
        self.log_events += outcome.log_events;
        self.parsed_events += outcome.parsed;
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
        self.log_events += other.log_events;
        self.parsed_events += other.parsed_events;
        self.unparsed_events += other.unparsed_events;
        for (k, v) in &other.failed_by_kind {
            *self.failed_by_kind.entry(k).or_default() += v;
        }
        for (k, v) in &other.unparsed_by_reason {
            *self.unparsed_by_reason.entry(k).or_default() += v;
        }
    }
}

/// Outcomes in input order, and their sum.
#[derive(Debug)]
pub struct BatchOutput<W> {
    pub records: Vec<RecordOutcome<W>>,
    pub report: Report,
}

impl<W> BatchOutput<W> {
    /// Sums the outcomes into the report (see [`Report::add`] for `are_records`).
    fn tally(records: Vec<RecordOutcome<W>>, are_records: bool) -> Self {
        let mut report = Report::default();
        for o in &records {
            report.add(o, are_records);
        }
        BatchOutput { records, report }
    }
}

/// Per-thread state: buffers and an arena, reused from record to record and batch to batch.
#[derive(Debug)]
pub struct Worker {
    inflater: Inflater,
    envelopes: EnvelopeParser,
    decoded: Vec<u8>,
    json: Vec<u8>,
    arena: Bump,
}

impl Worker {
    pub fn new(max_output: usize) -> Self {
        Worker {
            inflater: Inflater::with_limit(max_output),
            envelopes: EnvelopeParser::new(),
            decoded: Vec::new(),
            json: Vec::new(),
            arena: Bump::new(),
        }
    }

    /// Reads one record and calls `visit` for each audit event in it.
    pub fn process_record<W, F>(&mut self, record: &SourceRecord<'_>, visit: &F) -> RecordOutcome<W>
    where
        W: Default,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W),
    {
        let Worker {
            inflater,
            envelopes,
            decoded,
            json,
            arena,
        } = self;
        let parsed = match record.payload {
            Payload::Invalid(problem) => Err(RecordError::Shape(problem)),
            Payload::Base64(b64) => source::decode_base64(b64, decoded)
                .map_err(RecordError::Base64)
                .and_then(|()| gunzip_envelopes(inflater, envelopes, decoded)),
            Payload::Gzip(gz) => gunzip_envelopes(inflater, envelopes, gz),
            Payload::Json(text) => {
                envelope::parse_unpadded(envelopes, text, json).map_err(RecordError::from)
            }
        };
        let outcome = match parsed {
            Ok(list) => visit_envelopes(&list, record, arena, visit),
            Err(e) => RecordOutcome::new(RecordStatus::Failed(e)),
        };
        arena.reset();
        outcome
    }

    /// Reads a piece of a plain log file whose first line is `first_line`.
    pub fn process_text<W, F>(
        &mut self,
        piece: &[u8],
        first_line: u64,
        visit: &F,
    ) -> RecordOutcome<W>
    where
        W: Default,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W),
    {
        let mut outcome = RecordOutcome::new(RecordStatus::Data);
        for rec in text::records(piece) {
            let line_number = first_line + rec.line_number - 1;
            match parse_line(rec.bytes) {
                Ok(mut event) => {
                    event.provenance.line_number = Some(line_number);
                    visit(&event, &self.arena, &mut outcome.output);
                    outcome.log_events += 1;
                    outcome.parsed += 1;
                }
                Err(reason) => outcome.add_unparsed(reason, || Unparsed {
                    line_number: Some(line_number),
                    ..Unparsed::new(rec.bytes, reason)
                }),
            }
        }
        self.arena.reset();
        outcome
    }
}

fn gunzip_envelopes<'a>(
    inflater: &'a mut Inflater,
    envelopes: &mut EnvelopeParser,
    gz: &[u8],
) -> Result<Vec<LogEnvelope<'a>>, RecordError> {
    let (buf, len) = inflater.inflate(gz)?.into_padded();
    Ok(envelopes.parse(buf, len)?)
}

fn visit_envelopes<W, F>(
    list: &[LogEnvelope<'_>],
    record: &SourceRecord<'_>,
    arena: &Bump,
    visit: &F,
) -> RecordOutcome<W>
where
    W: Default,
    F: Fn(&AuditEvent<'_>, &Bump, &mut W),
{
    if let Some(other) = list.iter().find_map(|e| match e.message_type {
        MessageType::Other(t) => Some(t),
        _ => None,
    }) {
        return RecordOutcome::new(RecordStatus::Failed(RecordError::MessageType(
            other.to_owned(),
        )));
    }
    let has_data = list.iter().any(|e| e.message_type == MessageType::Data);
    let mut outcome = RecordOutcome::new(if has_data {
        RecordStatus::Data
    } else {
        RecordStatus::Control
    });
    for env in list.iter().filter(|e| e.message_type == MessageType::Data) {
        for log_event in &env.log_events {
            match parse_line(log_event.message.as_bytes()) {
                Ok(mut event) => {
                    event.provenance = crate::audit::event::Provenance {
                        log_group: Some(env.log_group),
                        log_stream: Some(env.log_stream),
                        event_id: Some(log_event.id),
                        cloudwatch_timestamp_ms: Some(log_event.timestamp),
                        sequence_number: record.sequence_number,
                        line_number: None,
                    };
                    visit(&event, arena, &mut outcome.output);
                    outcome.log_events += 1;
                    outcome.parsed += 1;
                }
                Err(reason) => outcome.add_unparsed(reason, || Unparsed {
                    event_id: Some(log_event.id.to_owned()),
                    ..Unparsed::new(log_event.message.as_bytes(), reason)
                }),
            }
        }
    }
    outcome
}

/// Processes batches with a pool of [`Worker`]s that outlives them.
#[derive(Debug)]
pub struct Pipeline {
    max_output: usize,
    pool: Mutex<Vec<Worker>>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

/// A worker taken from the pool, returned to it when dropped.
struct Lease<'p> {
    pipeline: &'p Pipeline,
    worker: Option<Worker>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            self.pipeline.lock_pool().push(w);
        }
    }
}

impl Lease<'_> {
    fn worker(&mut self) -> &mut Worker {
        let max_output = self.pipeline.max_output;
        self.worker.get_or_insert_with(|| Worker::new(max_output))
    }
}

impl Pipeline {
    /// A pipeline whose inflater stops at [`crate::input::gzip::DEFAULT_MAX_OUTPUT`] per record.
    pub fn new() -> Self {
        Self::with_max_output(crate::input::gzip::DEFAULT_MAX_OUTPUT)
    }

    /// A pipeline whose inflater stops at `max_output` decompressed bytes per record.
    pub fn with_max_output(max_output: usize) -> Self {
        Pipeline {
            max_output,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// How many idle workers the pool keeps for the next batch.
    pub fn pooled_workers(&self) -> usize {
        self.lock_pool().len()
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        // A panic while holding the lock cannot leave the Vec inconsistent: take it anyway.
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lease(&self) -> Lease<'_> {
        let worker = self.lock_pool().pop();
        Lease {
            pipeline: self,
            worker,
        }
    }

    /// Processes `records` (in parallel on rayon's pool when `parallel`), calling `visit` for
    /// each audit event with the worker's arena and the record's output.
    pub fn process<W, F>(
        &self,
        records: &[SourceRecord<'_>],
        parallel: bool,
        visit: F,
    ) -> BatchOutput<W>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let outcomes: Vec<RecordOutcome<W>> = if parallel && records.len() > 1 {
            records
                .par_iter()
                .map_init(
                    || self.lease(),
                    |lease, r| lease.worker().process_record(r, &visit),
                )
                .collect()
        } else {
            let mut lease = self.lease();
            records
                .iter()
                .map(|r| lease.worker().process_record(r, &visit))
                .collect()
        };
        BatchOutput::tally(outcomes, true)
    }

    /// Processes a plain audit log (see [`crate::input::text`]), split into pieces at record
    /// boundaries when `parallel`. Outcomes are per piece, in order; the report counts lines
    /// as log events and no records.
    pub fn process_text<W, F>(&self, log: &[u8], parallel: bool, visit: F) -> BatchOutput<W>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let parts = if parallel {
            rayon::current_num_threads() * 4
        } else {
            1
        };
        let pieces = text::split_for_parallel(log, parts);
        let outcomes: Vec<RecordOutcome<W>> = pieces
            .par_iter()
            .with_max_len(1)
            .map_init(
                || self.lease(),
                |lease, &(first, piece)| lease.worker().process_text(piece, first, &visit),
            )
            .collect();
        BatchOutput::tally(outcomes, false)
    }
}
