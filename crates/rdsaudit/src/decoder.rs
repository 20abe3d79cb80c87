//! The front door: any input's bytes in, events pushed into a [`Sink`], accounting out.
//!
//! A [`Decoder`] detects what an input holds (or is told, [`DecoderBuilder::kind`]), inflates a
//! gzip-compressed input, finds its records (Kinesis records, CloudWatch payloads) or its text
//! lines, and runs them through the [`Pipeline`]. [`Decoder::decode`] pushes everything into one
//! sink on the calling thread; [`Decoder::decode_parallel`] decodes records on rayon's threads,
//! each into a sink of its own, and hands the sinks back in input order as they are done, so
//! output starts before the input is done and memory stays bounded. A Kinesis event's records
//! go to the workers as the walk over the event finds them (`decoder/ahead.rs`).
//!
//! ```
//! use rdsaudit::{Decoder, Report};
//! // A Lambda Kinesis event as the function receives it (base64 of gzip'd CloudWatch payloads).
//! let event = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus/kinesis/kinesis-event.json"))?;
//! let mut writes = 0;
//! let report: Report = Decoder::new().decode(&event, &mut |e: &rdsaudit::AuditEvent<'_>| {
//!     if e.operation == rdsaudit::Operation::Write { writes += 1; }
//! })?;
//! assert!(report.is_balanced());
//! assert_eq!(report.parsed_events, 174);
//! assert!(writes > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::sync::{Mutex, PoisonError};

mod ahead;
mod board;
mod text_pieces;
mod text_stream;

use crate::input::encoding::{Encoding, EncodingError};
use crate::input::gzip::{DEFAULT_MAX_OUTPUT, InflateError, Inflater};
use crate::input::kinesis::RawRecord;
use crate::input::log_event::LogEvent;
use crate::input::logs_api::{LogsApiError, LogsApiParser};
use crate::input::prefixed::Shape;
use crate::input::syslog::SyslogError;
use crate::input::{self, InputKind, Payload, SourceError, SourceParser, SourceRecord};
use crate::pipeline::{EventWindow, Pipeline};
use crate::report::{RecordError, RecordOutcome, RecordStatus, Report};
use crate::sink::{FailedRecord, Sink};
use ahead::{Ahead, CHUNK_PAYLOAD_BYTES};

/// Default bound on what a whole gzip-compressed input inflates to: 1 GiB, ten times the
/// 100 MB at which Aurora rotates audit files.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1 << 30;
/// Default number of records a worker is given at a time.
pub const DEFAULT_RECORDS_PER_CHUNK: usize = 512;
/// Size of the pieces a text input is cut into (at record boundaries) for parallel decoding.
const TEXT_PIECE_BYTES: usize = 1 << 20;

/// Why a whole input could not be read (its records were never reached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input was taken for a Lambda event (detected or as told) but is not a usable one.
    #[error("not a {}: {source}", event_name(*.kind))]
    NotAnEvent {
        /// The kind it was read as.
        kind: InputKind,
        /// What is wrong with it.
        source: SourceError,
    },
    /// The input is gzip-compressed as a whole and does not inflate (within the input limit).
    #[error("gzip: {0}")]
    Gzip(InflateError),
    /// The input's text encoding cannot be undone (UTF-32, UTF-16 that does not decode).
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// `aws logs` API output that cannot be read.
    #[error(
        "{0}; expected `aws logs filter-log-events` / `get-log-events` output: {{\"events\":[...]}}"
    )]
    LogsApi(#[from] LogsApiError),
    /// Plugin syslog output without dates.
    #[error(transparent)]
    Syslog(#[from] SyslogError),
    /// Read as Logs Insights CSV but its header cannot be read: it names no `@message`
    /// column, or a column read twice.
    #[error("not Logs Insights CSV: {0}")]
    InsightsHeader(#[from] input::insights_csv::HeaderError),
}

/// The kinds read by the validating walk (`input/json/walk.rs`), which can start past a
/// UTF-8 byte order mark left in place ([`Decoder::decoded`]).
fn walked_json(kind: InputKind) -> bool {
    matches!(
        kind,
        InputKind::KinesisEvent
            | InputKind::KinesisGetRecords
            | InputKind::AwslogsEvent
            | InputKind::LogsApi
    )
}

fn event_name(kind: InputKind) -> &'static str {
    match kind {
        InputKind::AwslogsEvent => "CloudWatch Logs Lambda event",
        InputKind::KinesisGetRecords => "`aws kinesis get-records` output",
        InputKind::Base64Data => "base64 Kinesis record data",
        _ => "Lambda Kinesis event",
    }
}

/// Log events handed over at a time for the shapes read as [`LogEvent`]s.
const EVENTS_PER_CHUNK: usize = 4096;

/// Why [`Decoder::decode_parallel`] stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// The input could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The caller's `emit` failed (e.g. stdout closed).
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
    /// Reading a streamed input failed ([`Decoder::decode_text_stream`]); what was read
    /// before was decoded, emitted and counted.
    #[error("reading stopped after line {line}: {source}")]
    Read {
        /// The line the read failed at (1-based).
        line: u64,
        /// The counts of everything read before.
        report: Box<Report>,
        /// What failed.
        source: io::Error,
    },
}

/// What `emit` tells [`Decoder::decode_parallel`] after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Go on with the next record.
    Continue,
    /// Stop: the rest of the input is not decoded and not counted.
    Stop,
}

/// One record (or piece of a text input) done: handed to `emit` in input order.
#[derive(Debug)]
pub struct Done<'r, S> {
    /// The record (Kinesis record, CloudWatch payload); `None` for a piece of a text input.
    pub record: Option<&'r SourceRecord<'r>>,
    /// 0-based index of the record, or of the text piece.
    pub index: usize,
    /// What became of it, with its counts.
    pub outcome: RecordOutcome,
    /// The sink it was decoded into.
    pub sink: S,
    /// How much of the input is done, from 0 to 1.
    pub progress: f64,
}

/// Builds a [`Decoder`]; every limit has a documented default.
#[derive(Debug, Clone)]
pub struct DecoderBuilder {
    kind: Option<InputKind>,
    max_record_bytes: usize,
    max_input_bytes: usize,
    records_per_chunk: usize,
    parallel: bool,
    max_held_bytes: usize,
}

/// Default bound on the text a stream's decoded pieces hold while they wait for the lines
/// after them (the window rule): 64 MiB ([`DecoderBuilder::max_held_bytes`]).
pub const DEFAULT_MAX_HELD_BYTES: usize = 64 << 20;

impl DecoderBuilder {
    /// Reads every input as `kind` instead of detecting it (a gzip-compressed input is still
    /// inflated first, except for [`InputKind::CloudWatchGzip`], which is one gzip record).
    #[must_use]
    pub fn kind(mut self, kind: Option<InputKind>) -> Self {
        self.kind = kind;
        self
    }

    /// Largest decompressed size of one record (a CloudWatch payload): default 64 MiB
    /// ([`DEFAULT_MAX_OUTPUT`]). A record past it fails with [`InflateError`]`::TooLarge`.
    #[must_use]
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Largest decompressed size of a whole gzip-compressed input (a `.log.gz` file, a gzip'd
    /// event): default 1 GiB ([`DEFAULT_MAX_INPUT_BYTES`]).
    #[must_use]
    pub fn max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }

    /// Records a worker is given at a time: default 512 ([`DEFAULT_RECORDS_PER_CHUNK`]); a
    /// chunk also ends at 32 KiB of payload bytes. Every record's sink is handed to `emit` as
    /// soon as it and the records before it are decoded; output memory is bounded by what
    /// 128 KiB of payload decodes to (the chunks being decoded or waiting for their turn).
    #[must_use]
    pub fn records_per_chunk(mut self, records: usize) -> Self {
        self.records_per_chunk = records.max(1);
        self
    }

    /// Most text held by [`Decoder::decode_text_stream`] in decoded pieces waiting for the
    /// lines after them (the window rule holds a record until the
    /// [`text::MAX_NAMES_BYTES`](crate::input::text::MAX_NAMES_BYTES) after it are read): default [`DEFAULT_MAX_HELD_BYTES`]. Past
    /// it, the first piece goes out with the plain records the unread lines could still flag
    /// flagged, as if a dirty line came next: a flag is never wrong, only less precise. A
    /// second bound: the reach holds a piece only until 4 KiB past its last plain record are
    /// decoded, so this is reached only when the stream's pieces themselves are that large.
    #[must_use]
    pub fn max_held_bytes(mut self, bytes: usize) -> Self {
        self.max_held_bytes = bytes;
        self
    }

    /// Whether [`Decoder::decode_parallel`] uses rayon's thread pool (default: yes).
    #[must_use]
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// The decoder.
    #[must_use]
    pub fn build(self) -> Decoder {
        Decoder {
            pipeline: Pipeline::with_max_output(self.max_record_bytes),
            parser: Mutex::new(SourceParser::new()),
            limits: self,
        }
    }
}

impl Default for DecoderBuilder {
    fn default() -> Self {
        DecoderBuilder {
            kind: None,
            max_record_bytes: DEFAULT_MAX_OUTPUT,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            records_per_chunk: DEFAULT_RECORDS_PER_CHUNK,
            parallel: true,
            max_held_bytes: DEFAULT_MAX_HELD_BYTES,
        }
    }
}

/// Decodes inputs of any [`InputKind`]. Keeps its workers and buffers from input to input.
#[derive(Debug)]
pub struct Decoder {
    limits: DecoderBuilder,
    pipeline: Pipeline,
    parser: Mutex<SourceParser>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// How many of `records` (at least one) go into the next chunk: up to `records_per_chunk`
/// records and [`CHUNK_PAYLOAD_BYTES`] payload bytes, and at most a share of the records
/// left (two chunks per worker): the last chunks shrink, so that the workers end together
/// instead of one decoding a whole last chunk (five 8 KiB records of the 16 MB event,
/// ~0.6 ms) while the other has nothing left. Two threads, 21 runs each at load ~6, time
/// from the end of the next-to-last chunk to the end of the last (median): 6,000 one-line
/// records 0.19 -> 0.05 ms; the event's 0.21 -> 0.20 ms (its last chunks ran one at a
/// time there: the load took the second core).
fn chunk_len(records: &[SourceRecord<'_>], limits: &DecoderBuilder) -> usize {
    let mut bytes = 0;
    let share = records.len().div_ceil(2 * rayon::current_num_threads());
    let within = records
        .iter()
        .take(limits.records_per_chunk.min(share))
        .take_while(|r| {
            let fits = bytes < CHUNK_PAYLOAD_BYTES;
            bytes += ahead::payload_len(r);
            fits
        });
    within.count().max(1)
}

/// Before record `index` is decoded: asks for what the next record's decoding reads first
/// (its payload and the strings the writer compares, [`crate::prefetch`]) and for the entry
/// after it in `records`, so they arrive while this one is decoded instead of stalling it.
/// 6,000 one-line records, one thread, with [`crate::input::kinesis`]'s hints while
/// resolving: cpu median -5% at load ~2 (60 interleaved runs each), -12% at load ~6 (80),
/// the more the caches are shared the more; both cost ~210 instructions a record
/// (155.92 -> 157.19 M). Workers decoding a chunk of records ([`Pipeline::process`]) ask
/// too: two threads, the same records, perf samples of `decode_base64_with_limit` 184 -> 19
/// and of `base64_simd`'s decode 253 -> 89, the process's cpu -4% and -8% (two sets of 15
/// interleaved runs, load ~5); the 16 MB event's within noise.
pub(crate) fn prefetch_next(records: &[SourceRecord<'_>], index: usize) {
    if let Some(next) = records.get(index + 1) {
        crate::prefetch::lines(next.as_delivered());
        for s in [next.sequence_number, next.event_id].into_iter().flatten() {
            crate::prefetch::lines(s.as_bytes());
        }
    }
    if let Some(after) = records.get(index + 2) {
        crate::prefetch::value(after);
    }
}

/// What an input turned out to hold.
/// The bad end of a whole-file gzip whose first members inflated (a cut download, zero
/// padding): reported as one failed record, whole, after the members' events.
struct FailedTail {
    payload: Vec<u8>,
    error: RecordError,
}

impl FailedTail {
    /// Sends the tail to `sink` as failed record `index`; its outcome.
    fn send<S: Sink>(&self, index: usize, sink: &mut S) -> RecordOutcome {
        sink.failed_record(&FailedRecord {
            index,
            sequence_number: None,
            payload: &self.payload,
            error: &self.error,
            file: None,
        });
        RecordOutcome::new(RecordStatus::Failed(self.error.clone()))
    }
}

enum Work<'a, 'i> {
    Records(&'a [SourceRecord<'a>]),
    /// A Kinesis event (or `get-records` output) still to be walked, padded: its records are
    /// found by the caller, who may hand them out while the walk goes on.
    Event {
        kind: InputKind,
        buf: &'a mut [u8],
        len: usize,
        /// Where the JSON starts: past a UTF-8 byte order mark, left in place.
        from: usize,
    },
    Text(&'a [u8]),
    /// Prefixed text ([`input::prefixed`]: CloudWatch's prefix, or syslog's), read under the
    /// window rule.
    Prefixed(&'a [u8], Shape),
    /// Log events of the API, Insights and syslog shapes, read lazily.
    Events(&'i mut dyn Iterator<Item = LogEvent<'a>>),
}

impl Decoder {
    /// A decoder with every default ([`DecoderBuilder`]).
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder, to set the kind or the limits.
    #[must_use]
    pub fn builder() -> DecoderBuilder {
        DecoderBuilder::default()
    }

    /// Decodes `input` into `sink` on the calling thread, in input order.
    ///
    /// # Errors
    /// [`DecodeError`] when the input as a whole is unusable; bad records and lines are not
    /// errors: they go to the sink and are counted in the [`Report`].
    pub fn decode<S: Sink>(&self, input: &[u8], sink: &mut S) -> Result<Report, DecodeError> {
        let mut buf = input.to_vec();
        self.decode_vec(&mut buf, sink)
    }

    /// [`Decoder::decode`] without copying: `input` is padded for simd-json and parsed in
    /// place (JSON escapes are undone in it), then truncated back to its length.
    ///
    /// # Errors
    /// As [`Decoder::decode`].
    pub fn decode_vec<S: Sink>(
        &self,
        input: &mut Vec<u8>,
        sink: &mut S,
    ) -> Result<Report, DecodeError> {
        let (report, tail) = self.with_work(input, |work| {
            let mut report = Report::default();
            let each = |records: &[SourceRecord<'_>], report: &mut Report, sink: &mut S| {
                self.pipeline.with_worker(|worker| {
                    for (i, r) in records.iter().enumerate() {
                        report.add(&worker.process_record(i, r, sink), true);
                    }
                });
            };
            match work {
                Work::Records(records) => each(records, &mut report, sink),
                Work::Event {
                    kind,
                    buf,
                    len,
                    from,
                } => {
                    let records = self.walk(kind, buf, len, from, &mut |_, _| {})?;
                    each(&records, &mut report, sink);
                }
                Work::Text(text) => self.pipeline.with_worker(|worker| {
                    report.add(&worker.process_text(text, 1, sink), false);
                }),
                Work::Events(events) => self.pipeline.with_worker(|worker| {
                    report.add(&worker.process_events(events, sink), false);
                }),
                Work::Prefixed(text, shape) => self.pipeline.with_worker(|worker| {
                    report.add(&worker.process_prefixed_text(text, shape, sink), false);
                }),
            }
            Ok::<_, DecodeError>(report)
        })?;
        let mut report = report?;
        if let Some(tail) = tail {
            report.add(&tail.send(report.records as usize, sink), true);
        }
        Ok(report)
    }

    /// Decodes `input` in parallel: each record (or piece of a text input) into a sink made by
    /// `make`, handed to `emit` in input order, a chunk at a time. `input` is padded and
    /// parsed in place as by [`Decoder::decode_vec`].
    ///
    /// # Errors
    /// [`StopError::Decode`] when the input as a whole is unusable, [`StopError::Output`] when
    /// `emit` fails (decoding stops there).
    pub fn decode_parallel<S, M, E>(
        &self,
        input: &mut Vec<u8>,
        make: M,
        mut emit: E,
    ) -> Result<Report, StopError>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let (result, tail) = self.with_work(input, |work| match work {
            Work::Records(records) => Ok(self.records_parallel(records, &make, &mut emit)?),
            Work::Event {
                kind,
                buf,
                len,
                from,
            } => self.event_parallel(kind, (buf, len, from), &make, &mut emit),
            Work::Text(text) => Ok(self.text_parallel(text, false, &make, &mut emit)?),
            Work::Prefixed(text, Shape::CloudWatch) => {
                Ok(self.text_parallel(text, true, &make, &mut emit)?)
            }
            Work::Prefixed(text, shape) => Ok(self.prefixed_whole(text, shape, &make, &mut emit)?),
            Work::Events(events) => Ok(self.events_in_chunks(events, &make, &mut emit)?),
        })?;
        let mut report = result?;
        if let Some(tail) = tail {
            let mut sink = make();
            let index = report.records as usize;
            let outcome = tail.send(index, &mut sink);
            report.add(&outcome, true);
            let record = SourceRecord::new(Payload::Gzip(&tail.payload));
            emit(Done {
                record: Some(&record),
                index,
                outcome,
                sink,
                progress: 1.0,
            })?;
        }
        Ok(report)
    }

    /// A whole prefixed text (syslog's: not cut into pieces, a shape people and daemons
    /// write, not the high-volume path) into one sink, on the calling thread.
    fn prefixed_whole<S, M, E>(
        &self,
        text: &[u8],
        shape: Shape,
        make: &M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut sink = make();
        let outcome = self
            .pipeline
            .with_worker(|w| w.process_prefixed_text(text, shape, &mut sink));
        let mut report = Report::default();
        report.add(&outcome, false);
        emit(Done {
            record: None,
            index: 0,
            outcome,
            sink,
            progress: 1.0,
        })?;
        Ok(report)
    }

    /// Log events a chunk at a time, each chunk into its own sink, on the calling thread
    /// (these shapes come from AWS tools and people, not the high-volume path).
    fn events_in_chunks<'a, S, M, E>(
        &self,
        events: &mut dyn Iterator<Item = LogEvent<'a>>,
        make: &M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut report = Report::default();
        // The window rule looks a chunk ahead: a chunk is a sink, not a window edge.
        let mut window = EventWindow::default();
        let mut chunk: Vec<LogEvent<'a>> = (&mut *events).take(EVENTS_PER_CHUNK).collect();
        for index in 0.. {
            if chunk.is_empty() {
                break;
            }
            let ahead: Vec<LogEvent<'a>> = (&mut *events).take(EVENTS_PER_CHUNK).collect();
            let more = ahead.len() == EVENTS_PER_CHUNK;
            let mut sink = make();
            let outcome = self.pipeline.with_worker(|w| {
                w.process_event_chunk(&chunk, (&ahead, more), &mut window, &mut sink)
            });
            report.add(&outcome, false);
            let next = emit(Done {
                record: None,
                index,
                outcome,
                sink,
                progress: if ahead.is_empty() { 1.0 } else { 0.0 },
            })?;
            if next == Next::Stop {
                break;
            }
            chunk = ahead;
        }
        Ok(report)
    }

    /// Records on rayon's threads, a chunk per worker at a time, each record's sink handed to
    /// `emit` in input order as soon as it and those before it are done ([`ahead`]).
    fn records_parallel<S, M, E>(
        &self,
        records: &[SourceRecord<'_>],
        make: &M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        if !self.is_parallel() {
            return self.records_in_turn(records, make, emit);
        }
        rayon::in_place_scope(|scope| {
            let mut ahead = Ahead::new(scope, &self.pipeline);
            self.write_in_order(records, &mut ahead, make, emit)
        })
    }

    /// A Kinesis event walked on the calling thread while rayon's threads decode the records
    /// the walk has found so far (copied out of the event, which the walk is still
    /// unescaping in place). Nothing is handed to `emit` before the walk ends: invalid JSON
    /// anywhere fails the whole event, as if it had been read first. The records past what
    /// may be decoded ahead ([`ahead::AHEAD_PAYLOAD_BYTES`]) are handed out after the walk,
    /// borrowed.
    fn event_parallel<S, M, E>(
        &self,
        kind: InputKind,
        (buf, len, from): (&mut [u8], usize, usize),
        make: &M,
        emit: &mut E,
    ) -> Result<Report, StopError>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        if !self.is_parallel() {
            let records = self.walk(kind, buf, len, from, &mut |_, _| {})?;
            return Ok(self.records_in_turn(&records, make, emit)?);
        }
        // Outside the scope: the workers borrow the records from it.
        let mut walked = None;
        let slot = &mut walked;
        rayon::in_place_scope(move |scope| {
            let mut ahead = Ahead::new(scope, &self.pipeline).copying();
            let per_chunk = self.limits.records_per_chunk;
            let records = self.walk(kind, buf, len, from, &mut |record, text| {
                ahead.found(record, text, per_chunk, make);
            })?;
            ahead.walked(make);
            let records = slot.insert(records);
            Ok(self.write_in_order(records, &mut ahead, make, emit)?)
        })
    }

    /// Whether records are decoded on rayon's threads.
    fn is_parallel(&self) -> bool {
        self.limits.parallel && rayon::current_num_threads() > 1
    }

    /// Reads a Kinesis event's records (its JSON from byte `from`), handing each to `found`
    /// as the walk reads it.
    fn walk<'b>(
        &self,
        kind: InputKind,
        buf: &'b mut [u8],
        len: usize,
        from: usize,
        found: &mut dyn FnMut(&RawRecord, &[u8]),
    ) -> Result<Vec<SourceRecord<'b>>, DecodeError> {
        let mut parser = self.parser.lock().unwrap_or_else(PoisonError::into_inner);
        input::kinesis::parse_kinesis_event_with(buf, len, from, &mut parser, found)
            .map_err(|source| DecodeError::NotAnEvent { kind, source })
    }

    /// Records one at a time on the calling thread, each handed to `emit` once decoded.
    fn records_in_turn<S, M, E>(
        &self,
        records: &[SourceRecord<'_>],
        make: &M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut report = Report::default();
        let total = records.len().max(1) as f64;
        self.pipeline.with_worker(|worker| {
            for (index, record) in records.iter().enumerate() {
                prefetch_next(records, index);
                let mut sink = make();
                let outcome = worker.process_record(index, record, &mut sink);
                report.add(&outcome, true);
                let next = emit(Done {
                    record: Some(record),
                    index,
                    outcome,
                    sink,
                    progress: (index + 1) as f64 / total,
                })?;
                if next == Next::Stop {
                    break;
                }
            }
            Ok(report)
        })
    }

    /// Hands to `emit`, in input order, the records `ahead` has handed out and then the rest
    /// of `records` (from `ahead.next`), handing out more chunks as earlier ones are written.
    fn write_in_order<'scope, S, M, E>(
        &self,
        records: &'scope [SourceRecord<'scope>],
        ahead: &mut Ahead<'_, 'scope, S>,
        make: &'scope M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send + 'scope,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut report = Report::default();
        let total = records.len().max(1) as f64;
        loop {
            while ahead.has_room() && ahead.next < records.len() {
                let rest = records.get(ahead.next..).unwrap_or_default();
                let len = chunk_len(rest, &self.limits);
                ahead.records(rest.get(..len).unwrap_or_default(), make);
            }
            let Some((first, done)) = ahead.next_done() else {
                return Ok(report);
            };
            for (index, (outcome, sink)) in (first..).zip(done) {
                report.add(&outcome, true);
                let next = emit(Done {
                    record: records.get(index),
                    index,
                    outcome,
                    sink,
                    progress: (index + 1) as f64 / total,
                })?;
                if next == Next::Stop {
                    return Ok(report);
                }
            }
        }
    }

    /// Pads `input`, inflates it when it is gzip-compressed as a whole, detects its kind (unless
    /// told) and finds its records or text, then runs `f` on them. `input` is truncated back to
    /// its length afterwards.
    /// Also returns the bad tail of a whole-file gzip whose first members inflated: the
    /// caller reports it as a failed record after the work.
    fn with_work<T>(
        &self,
        input: &mut Vec<u8>,
        f: impl FnOnce(Work<'_, '_>) -> T,
    ) -> Result<(T, Option<FailedTail>), DecodeError> {
        let len = input.len();
        input.resize(len + simd_json::INPUT_PADDING, 0);
        let mut tail = None;
        let result = self.dispatch(self.limits.kind, input, len, &mut tail, f);
        input.truncate(len);
        result.map(|t| (t, tail))
    }

    fn dispatch<T>(
        &self,
        kind: Option<InputKind>,
        buf: &mut [u8],
        len: usize,
        tail: &mut Option<FailedTail>,
        f: impl FnOnce(Work<'_, '_>) -> T,
    ) -> Result<T, DecodeError> {
        let bytes = buf.get(..len).unwrap_or_default();
        if kind != Some(InputKind::CloudWatchGzip) && bytes.starts_with(&input::detect::GZIP_MAGIC)
        {
            let mut inflater = Inflater::with_limit(self.limits.max_input_bytes);
            match inflater.inflate_prefix(bytes) {
                Ok((inflated, bad)) => {
                    // The members before a bad one (a cut download, zero padding) are read;
                    // the rest is reported whole, with its offset in the error.
                    *tail = bad.map(|bad| FailedTail {
                        payload: bytes.get(bad.offset..).unwrap_or_default().to_vec(),
                        error: RecordError::Inflate(bad.error),
                    });
                    let (inner, inner_len) = inflated.into_padded();
                    return self.decoded(kind, inner, inner_len, tail, f);
                }
                // Past the input limit: the input's limit is the one to name, not a record's
                // (retried as one record, it would inflate up to the record limit instead).
                Err(e @ InflateError::OutputLimit { .. }) => return Err(DecodeError::Gzip(e)),
                // Not a whole-file gzip: taken for a CloudWatch payload, one failed record.
                Err(_) if kind.is_none() => {}
                Err(e) => return Err(DecodeError::Gzip(e)),
            }
            return Ok(f(Work::Records(&[SourceRecord::new(Payload::Gzip(bytes))])));
        }
        self.decoded(kind, buf, len, tail, f)
    }

    /// Undoes a byte order mark or UTF-16 ([`input::encoding`]), detects the kind (unless
    /// told) and reads `buf[..len]` (padded) as it.
    fn decoded<T>(
        &self,
        kind: Option<InputKind>,
        buf: &mut [u8],
        len: usize,
        tail: &mut Option<FailedTail>,
        f: impl FnOnce(Work<'_, '_>) -> T,
    ) -> Result<T, DecodeError> {
        let bytes = buf.get(..len).unwrap_or_default();
        let text = input::encoding::to_utf8(bytes)?;
        let mut kind = kind;
        if text.encoding == Encoding::Utf8Bom {
            let detected = kind.unwrap_or_else(|| input::detect(&text.bytes));
            // JSON the walk reads is read past the mark in place, so that the offsets its
            // errors give are the file's (a copy without the mark gave them 3 bytes early).
            if walked_json(detected) {
                let from = input::encoding::UTF8_BOM.len();
                return self.records_of(detected, buf, len, from, tail, f);
            }
            kind = Some(detected);
        }
        if text.encoding != Encoding::Utf8 {
            // Transcoding at least drops a BOM, so this ends.
            let mut utf8 = text.bytes.into_owned();
            let n = utf8.len();
            utf8.resize(n + simd_json::INPUT_PADDING, 0);
            return self.decoded(kind, &mut utf8, n, tail, f);
        }
        let kind = kind.unwrap_or_else(|| input::detect(bytes));
        self.records_of(kind, buf, len, 0, tail, f)
    }

    /// Reads the shapes whose unit is a log event, not a record ([`LogEvent`]).
    fn events_of<T>(
        &self,
        kind: InputKind,
        bytes: &[u8],
        from: usize,
        f: impl FnOnce(Work<'_, '_>) -> T,
    ) -> Result<T, DecodeError> {
        match kind {
            InputKind::LogsApi => {
                let mut scratch = Vec::new();
                let events = LogsApiParser::new().parse_from(bytes, from, &mut scratch)?;
                Ok(f(Work::Events(&mut events.iter().map(LogEvent::from_api))))
            }
            InputKind::InsightsCsv => {
                let rows = input::insights_csv::read_rows(bytes)?;
                Ok(f(Work::Events(&mut rows.map(LogEvent::from_insights))))
            }
            InputKind::Syslog => {
                input::syslog::check(bytes)?;
                Ok(f(Work::Prefixed(bytes, Shape::Syslog)))
            }
            _ => Ok(f(Work::Prefixed(bytes, Shape::CloudWatch))),
        }
    }

    /// Reads `buf[..len]` (padded) as `kind`; `from` is where the JSON of a
    /// [`walked_json`] kind starts (past a byte order mark), 0 for any other.
    fn records_of<T>(
        &self,
        kind: InputKind,
        buf: &mut [u8],
        len: usize,
        from: usize,
        tail: &mut Option<FailedTail>,
        f: impl FnOnce(Work<'_, '_>) -> T,
    ) -> Result<T, DecodeError> {
        let not_an_event = |source| DecodeError::NotAnEvent { kind, source };
        match kind {
            InputKind::KinesisEvent | InputKind::KinesisGetRecords => {
                return Ok(f(Work::Event {
                    kind,
                    buf,
                    len,
                    from,
                }));
            }
            InputKind::LogsApi
            | InputKind::PrefixedText
            | InputKind::InsightsCsv
            | InputKind::Syslog => {
                return self.events_of(kind, buf.get(..len).unwrap_or_default(), from, f);
            }
            InputKind::Base64Data => {
                let mut decoded = Vec::new();
                input::base64_data::decode(buf.get(..len).unwrap_or_default(), &mut decoded)
                    .map_err(not_an_event)?;
                let n = decoded.len();
                decoded.resize(n + simd_json::INPUT_PADDING, 0);
                return self.dispatch(None, &mut decoded, n, tail, f);
            }
            _ => {}
        }
        let mut parser = self.parser.lock().unwrap_or_else(PoisonError::into_inner);
        let records = match kind {
            InputKind::AwslogsEvent => {
                vec![
                    input::awslogs::parse_awslogs_event_from(buf, len, from, &mut parser)
                        .map_err(not_an_event)?,
                ]
            }
            InputKind::CloudWatchGzip => {
                vec![SourceRecord::new(Payload::Gzip(
                    buf.get(..len).unwrap_or_default(),
                ))]
            }
            InputKind::CloudWatchJson => {
                vec![SourceRecord::new(Payload::Json(
                    buf.get(..len).unwrap_or_default(),
                ))]
            }
            // Events are read above; text is the remaining kind.
            _ => {
                drop(parser);
                return Ok(f(Work::Text(buf.get(..len).unwrap_or_default())));
            }
        };
        drop(parser);
        Ok(f(Work::Records(&records)))
    }
}
