//! Many records at once, in parallel, in input order.
//!
//! A [`Pipeline`] keeps a pool of [`Worker`]s (an inflater, an envelope parser and scratch
//! buffers each) that outlive a batch, so a Lambda that handles thousands of invocations
//! allocates its buffers once. Records are spread over `rayon`'s threads, each decoded into a
//! [`Sink`] of its own; the sinks come back in input order with their [`RecordOutcome`]s, for
//! the caller to write out. Most callers want the [`crate::Decoder`], which finds the records
//! in an input and drives this.
//!
//! ```
//! use rdsaudit::pipeline::Pipeline;
//! use rdsaudit::input::{Payload, SourceRecord};
//! use rdsaudit::sink::NdjsonBuffer;
//!
//! let json = br#"{"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"/aws/rds/cluster/c1/audit",
//!   "logStream":"c1-instance-1.audit.log.0","subscriptionFilters":["f"],"logEvents":[
//!   {"id":"1","timestamp":1653053459680,"message":"1653053459680124,c1-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0"},
//!   {"id":"2","timestamp":1653053459681,"message":"not an audit line"}]}"#;
//! let records = [SourceRecord::new(Payload::Json(json))];
//! let done = Pipeline::new().process(&records, 0, false, NdjsonBuffer::default);
//! let (outcome, ndjson) = &done[0];
//! assert!(String::from_utf8_lossy(&ndjson.out).contains(r#""object":"test2""#));
//! assert_eq!((outcome.parsed, outcome.unparsed_count()), (1, 1));
//! ```

use std::sync::Mutex;

use rayon::prelude::*;

use crate::audit::event::{AuditEvent, Provenance};
use crate::audit::scanner::LineError;
use crate::input::envelope::{self, EnvelopeParser, LogEnvelope, MessageType, emptied};
use crate::input::gzip::Inflater;
use crate::input::log_event::LogEvent;
use crate::input::{self as source, Payload, SourceRecord};
use crate::input::{multiline, prefixed, text};
use crate::report::{RecordError, RecordOutcome, RecordStatus};
use crate::sink::{FailedRecord, Sink, UnparsedLine};

mod event_window;
mod reads;

pub use event_window::EventWindow;
use reads::*;

/// Per-thread state: buffers reused from record to record and batch to batch.
#[derive(Debug)]
pub struct Worker {
    inflater: Inflater,
    envelopes: EnvelopeParser,
    decoded: Vec<u8>,
    json: Vec<u8>,
    /// The room of [`Reach`]'s held reads, kept emptied from record to record.
    held: Vec<(u64, Read<'static>)>,
}

impl Worker {
    /// A worker whose inflater stops at `max_output` decompressed bytes per record.
    #[must_use]
    pub fn new(max_output: usize) -> Self {
        Worker {
            inflater: Inflater::with_limit(max_output),
            envelopes: EnvelopeParser::new(),
            decoded: Vec::new(),
            json: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Reads record number `index` into `sink`: its events, unparsed lines, or the record
    /// itself when it cannot be read.
    pub fn process_record<S: Sink>(
        &mut self,
        index: usize,
        record: &SourceRecord<'_>,
        sink: &mut S,
    ) -> RecordOutcome {
        let Worker {
            inflater,
            envelopes,
            decoded,
            json,
            held,
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
        let result = parsed.and_then(|list| {
            let outcome = visit_envelopes(&list, (index, record), held, sink);
            envelopes.recycle(list);
            outcome
        });
        result.unwrap_or_else(|error| {
            sink.failed_record(&FailedRecord {
                index,
                sequence_number: record.sequence_number,
                payload: record.as_delivered(),
                error: &error,
                file: None,
            });
            RecordOutcome::new(RecordStatus::Failed(error))
        })
    }

    /// Reads a piece of a plain log file whose first line is number `first_line` into `sink`.
    pub fn process_text<S: Sink>(
        &mut self,
        piece: &[u8],
        first_line: u64,
        sink: &mut S,
    ) -> RecordOutcome {
        self.process_records(text::records(piece), first_line, sink)
            .0
    }

    /// Reads the records of a piece of a plain log file (whole, or a window of one up to its
    /// cut) whose first line is number `first_line` into `sink`; also returns where the
    /// window rule saw dirty lines and plain records ([`text::Edges`], byte positions of the
    /// whole text: [`text::Records::at`]), which says whether the piece must be read again
    /// with its neighbours'.
    pub fn process_records<S: Sink>(
        &mut self,
        mut records: text::Records<'_>,
        first_line: u64,
        sink: &mut S,
    ) -> (RecordOutcome, text::Edges) {
        let outcome = self.read_records(&mut records, first_line, sink);
        (outcome, records.edges())
    }

    /// [`Worker::process_records`] with the records left to the caller, who may ask them
    /// more once read ([`text::Records::breaks_passed`]).
    pub(crate) fn read_records<S: Sink>(
        &mut self,
        records: &mut text::Records<'_>,
        first_line: u64,
        sink: &mut S,
    ) -> RecordOutcome {
        let mut outcome = RecordOutcome::new(RecordStatus::Data);
        // Parsed once: the record rule already parsed each record; read where it lies.
        while let Some((rec, parsed)) = records.next_in_place() {
            let line_number = first_line + rec.line_number - 1;
            match parsed {
                Ok(event) => {
                    event.provenance.line_number = Some(line_number);
                    sink.event(event);
                    outcome.add_parsed(event);
                }
                Err(reason) => {
                    let reason = *reason;
                    sink.unparsed(&UnparsedLine::of_text(rec.bytes, reason, line_number));
                    outcome.add_unparsed(reason);
                }
            }
        }
        outcome.blank_lines += records.blank_lines();
        outcome
    }

    /// Reads log events of the shapes that are not subscription payloads (the logs API's JSON,
    /// Insights CSV: [`crate::input::log_event`]) into `sink`.
    /// The window rule runs across the events of each log stream ([`EventWindow`]).
    pub fn process_events<'e, S: Sink>(
        &mut self,
        events: impl IntoIterator<Item = LogEvent<'e>>,
        sink: &mut S,
    ) -> RecordOutcome {
        let events: Vec<LogEvent<'e>> = events.into_iter().collect();
        let mut window = EventWindow::default();
        self.process_event_chunk(&events, (&[], false), &mut window, sink)
    }

    /// Reads a chunk of log events into `sink` under the window rule of each log stream
    /// ([`EventWindow`]): `window` holds what the chunks before left (where each stream's text
    /// is, its last dirty message), `ahead` is `(the events after the chunk, whether more
    /// follow them)`. A chunk is a sink, not a window edge: a dirty message among `ahead`
    /// flags the chunk's events within reach, and an event whose 4 KiB after it are not all
    /// known (the stream's text goes past `ahead`) is flagged, never guessed plain.
    pub fn process_event_chunk<S: Sink>(
        &mut self,
        chunk: &[LogEvent<'_>],
        (ahead, more): (&[LogEvent<'_>], bool),
        window: &mut EventWindow,
        sink: &mut S,
    ) -> RecordOutcome {
        let near = window.near_dirt(chunk, ahead, more);
        let mut outcome = RecordOutcome::new(RecordStatus::Data);
        for (e, near) in chunk.iter().zip(near) {
            visit_event(e, near, sink, &mut outcome);
        }
        outcome
    }

    /// Reads a piece of prefixed text ([`prefixed`]), `(bytes, first line number, where it
    /// starts in the whole text)` whose lines end at `breaks` (the whole text's,
    /// [`prefixed::Breaks`]), into `sink` under the window rule: every event within
    /// [`text::MAX_NAMES_BYTES`] of a dirty line ([`prefixed::Dirt`], of the piece or `around`
    /// it) is flagged with an unlisted reading. Read once when the piece is clean; else read
    /// again into a fresh sink from `make`, the piece's dirty lines known. Returns the
    /// [`text::Edges`] (byte positions of the whole text) for [`crate::Decoder`]'s neighbours.
    pub fn process_prefixed_piece<S: Sink>(
        &mut self,
        piece: (&[u8], u64, u64),
        breaks: prefixed::Breaks,
        around: text::Around,
        sink: &mut S,
        make: &impl Fn() -> S,
    ) -> (RecordOutcome, text::Edges) {
        let clean = prefixed::Dirt::default();
        let shape = (prefixed::Shape::CloudWatch, breaks);
        let (outcome, dirt, edges) = prefixed_pass(piece, shape, &clean, around, sink);
        if dirt.is_empty() {
            return (outcome, edges);
        }
        *sink = make();
        let (outcome, _, edges) = prefixed_pass(piece, shape, &dirt, around, sink);
        (outcome, edges)
    }

    /// A whole prefixed text of `shape` (CloudWatch's prefix, or syslog's) into one `sink`
    /// that cannot be replaced: its dirty lines are found first (a read into no sink), then it
    /// is read with them known. Its line breaks are told by [`prefixed::Breaks::of`].
    pub fn process_prefixed_text<S: Sink>(
        &mut self,
        text: &[u8],
        shape: prefixed::Shape,
        sink: &mut S,
    ) -> RecordOutcome {
        let around = text::Around::default();
        let clean = prefixed::Dirt::default();
        let whole = (text, 1, 0);
        let shape = (shape, prefixed::Breaks::of(text));
        let none = &mut |_: &AuditEvent<'_>| {};
        let (_, dirt, _) = prefixed_pass(whole, shape, &clean, around, none);
        prefixed_pass(whole, shape, &dirt, around, sink).0
    }
}

/// One read of a piece of prefixed text of `shape` whose lines end at `breaks` (`(bytes,
/// first line, where it starts)`): its events into `sink`, those within reach of a line of
/// `dirt` or `around` flagged; returns the outcome, the dirty lines found and the edges (byte
/// positions of the whole text).
fn prefixed_pass<S: Sink>(
    (piece, first_line, at): (&[u8], u64, u64),
    (shape, breaks): (prefixed::Shape, prefixed::Breaks),
    dirt: &prefixed::Dirt,
    around: text::Around,
    sink: &mut S,
) -> (RecordOutcome, prefixed::Dirt, text::Edges) {
    let mut outcome = RecordOutcome::new(RecordStatus::Data);
    let mut window = WindowSink {
        inner: sink,
        dirt,
        around,
        record: &[],
        span: (0, 0),
        dirty: false,
        found: prefixed::Dirt::default(),
        plain: (None, None),
        flagged: 0,
    };
    // Where the line after the last event starts.
    let mut next = 0;
    for e in prefixed::events_in(piece, shape, breaks) {
        let line = e.line_number + first_line - 1;
        let broken = memchr::memchr2(b'\n', b'\r', e.message).is_some();
        let (start, end) = (at + e.start as u64, at + e.end as u64);
        if e.start > next {
            // Blank lines: the last one's text ends at its break, right before the event.
            window.found.add(at + next as u64, start - 1);
        }
        window.dirty = e.time_us.is_none() || broken;
        if window.dirty {
            window.found.add(start, end);
        }
        next = e.end + 1;
        (window.record, window.span) = (e.message, (start, end));
        let mut event = LogEvent::from_prefixed(e, shape, piece);
        event.line_number = Some(line);
        visit_event(&event, false, &mut window, &mut outcome);
    }
    // Blank lines after the last event (the piece's last break ends its last line).
    if next < piece.len() {
        let last_end = piece.len() - usize::from(breaks.ends_line(piece));
        window.found.add(at + next as u64, at + last_end as u64);
    }
    outcome.ambiguous += window.flagged;
    let (first_dirty, last_dirty) = window.found.bounds();
    let edges = text::Edges {
        first_dirty,
        last_dirty,
        first_plain: window.plain.0,
        last_plain: window.plain.1,
    };
    (outcome, window.found, edges)
}

/// A sink that applies the window rule to prefixed text ([`prefixed_pass`]) on its way to
/// `inner`, and notes the dirty lines (unparsed) and plain events it sees.
struct WindowSink<'s, 'r, S> {
    inner: &'s mut S,
    dirt: &'s prefixed::Dirt,
    around: text::Around,
    /// The message being read (the record an unlisted reading is over).
    record: &'r [u8],
    /// Where its lines lie in the whole text: its first line's start, its last line's end.
    span: (u64, u64),
    /// Whether that message is dirty (its events are flagged whatever their line number: a
    /// lone `\r` splits a message but not the text's lines).
    dirty: bool,
    found: prefixed::Dirt,
    plain: (Option<u64>, Option<u64>),
    /// Events flagged here that were not ambiguous before.
    flagged: u64,
}

impl<S> WindowSink<'_, '_, S> {
    /// Whether the message being read is dirty or has a dirty line within reach.
    fn near(&self) -> bool {
        let (start, end) = self.span;
        self.dirty
            || self.dirt.near(start, end)
            || self
                .around
                .before
                .is_some_and(|b| text::within_reach(b, start))
            || self
                .around
                .after
                .is_some_and(|a| text::within_reach(end, a))
    }
}

impl<S: Sink> Sink for WindowSink<'_, '_, S> {
    fn event(&mut self, event: &AuditEvent<'_>) {
        if !self.near() {
            let (start, end) = self.span;
            self.plain = (self.plain.0.or(Some(start)), Some(end));
            self.inner.event(event);
        } else if event.ambiguity.omitted() > 0 {
            // Already flagged with a reading unlisted (a message cut by a name).
            self.inner.event(event);
        } else {
            let mut event = event.clone();
            self.flagged += u64::from(!event.ambiguity.is_ambiguous());
            event.ambiguity = event.ambiguity.with_unlisted_reading(self.record);
            self.inner.event(&event);
        }
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.found.add(self.span.0, self.span.1);
        self.inner.unparsed(line);
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        self.inner.failed_record(record);
    }
}

/// One log event: its message through [`read_message`] with the event's provenance, each
/// audit line to `sink` as it is read.
fn visit_event<S: Sink>(e: &LogEvent<'_>, near: bool, sink: &mut S, outcome: &mut RecordOutcome) {
    let base = event_provenance(e);
    if let Some(failure) = e.failure {
        // Not read out of its shape: one unparsed line, its bytes as read.
        let reason = LineError::LogEvent(failure);
        sink.unparsed(&UnparsedLine {
            bytes: &e.message,
            reason,
            record_index: None,
            sequence_number: None,
            log_group: base.log_group,
            log_stream: base.log_stream,
            event_id: base.event_id,
            line_number: base.line_number,
            file: None,
            place: e.place,
        });
        outcome.add_unparsed(reason);
        return;
    }
    let mut deliver = Deliver {
        sink,
        outcome,
        near,
        base: &base,
        place: e.place,
        rebuilt: e.rebuilt_from,
    };
    let lines = multiline::audit_lines(&e.message);
    let (blank_lines, _) = read_message(lines, &base, e.time_us, &mut deliver);
    deliver.outcome.blank_lines += blank_lines;
}

/// Whether a log event's message is dirty under the window rule ([`read_message`]).
fn is_dirty(e: &LogEvent<'_>) -> bool {
    if e.failure.is_some() {
        return true;
    }
    let base = event_provenance(e);
    let lines = multiline::audit_lines(&e.message);
    read_message(lines, &base, e.time_us, &mut Discard).1
}

fn event_provenance<'a>(e: &'a LogEvent<'_>) -> Provenance<'a> {
    Provenance {
        log_group: e.log_group.as_deref(),
        log_stream: e.log_stream.as_deref(),
        event_id: e.event_id,
        cloudwatch_timestamp_ms: e.cloudwatch_timestamp_ms,
        sequence_number: None,
        line_number: e.line_number,
        file: None,
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

/// How many reads' room a [`Worker`] keeps from record to record (a few hundred bytes each):
/// a window's worth of one-line messages; a record of many more lines allocates its own.
const HELD_ROOM: usize = 256;

/// Sends every log event of a record's envelopes to `sink`. An unknown `messageType` fails the
/// record before anything is sent. `held` lends [`Reach`] its room, and gets it back emptied
/// (up to [`HELD_ROOM`]).
fn visit_envelopes<S: Sink>(
    list: &[LogEnvelope<'_>],
    (index, record): (usize, &SourceRecord<'_>),
    held: &mut Vec<(u64, Read<'static>)>,
    sink: &mut S,
) -> Result<RecordOutcome, RecordError> {
    if let Some(other) = list.iter().find_map(|e| match e.message_type {
        MessageType::Other(t) => Some(t),
        _ => None,
    }) {
        return Err(RecordError::MessageType(other.to_owned()));
    }
    let has_data = list.iter().any(|e| e.message_type == MessageType::Data);
    let mut outcome = RecordOutcome::new(if has_data {
        RecordStatus::Data
    } else {
        RecordStatus::Control
    });
    // A Firehose object may hold control payloads among data ones: each is counted.
    outcome.control_messages = list
        .iter()
        .filter(|e| e.message_type == MessageType::Control)
        .count() as u64;
    for env in list.iter().filter(|e| e.message_type == MessageType::Data) {
        // One envelope is one log stream's events in order: the window rule runs across them.
        let mut reach = Reach {
            held: Ring::new(std::mem::take(held)),
            last_dirty: None,
            origin: (
                Some(index),
                Provenance {
                    log_group: Some(env.log_group),
                    log_stream: Some(env.log_stream),
                    event_id: None,
                    cloudwatch_timestamp_ms: None,
                    sequence_number: record.sequence_number,
                    line_number: None,
                    file: None,
                },
            ),
        };
        let mut at = 0u64;
        // Entries of `logEvents` that could not be read (none but in a payload simd-json
        // refused: `EnvelopeParser::parse`), each reported in its place: the events are read
        // in runs between them, by the one loop the usual envelope (one run) pays nothing for.
        let mut failed = env.failed_events.as_slice();
        let none_failed = failed.is_empty();
        let mut from = 0;
        loop {
            // The run up to the next failed entry (its place counts those before it).
            let upto = failed.first().map_or(env.log_events.len(), |f| {
                f.index
                    .saturating_sub(env.failed_events.len() - failed.len())
                    .clamp(from, env.log_events.len())
            });
            let run = env.log_events.get(from..upto).unwrap_or_default();
            for (i, log_event) in (from..).zip(run) {
                let base = Provenance {
                    log_group: Some(env.log_group),
                    log_stream: Some(env.log_stream),
                    event_id: Some(log_event.id),
                    cloudwatch_timestamp_ms: Some(log_event.timestamp),
                    sequence_number: record.sequence_number,
                    line_number: None,
                    file: None,
                };
                let message = log_event.message.as_bytes();
                let (span, next) = text_span(message, at);
                at = next;
                reach.settle(span.0, sink, &mut outcome);
                // Its breaks not looked for when the envelope reader saw there are none.
                let blank_lines = if env.unbroken() {
                    let mut blank_lines = 0;
                    reach.message(span, |hold| {
                        let lines = (multiline::unbroken_lines(message), false);
                        let (blank, dirty) = read_lines(lines, &base, None, hold);
                        blank_lines = blank;
                        dirty
                    });
                    blank_lines
                } else if let Some(blank_lines) =
                    // Not with a failed entry after it (dirty): `long_message` looks ahead
                    // at the events only.
                    (message.len() >= LONG_MESSAGE && none_failed)
                        .then(|| {
                            let rest = env.log_events.get(i + 1..).unwrap_or_default();
                            long_message(
                                &mut reach,
                                (message, &base),
                                (span, at),
                                rest,
                                sink,
                                &mut outcome,
                            )
                        })
                        .flatten()
                {
                    blank_lines
                } else {
                    let mut blank_lines = 0;
                    reach.message_of_lines(span, (&mut *sink, &mut outcome), |hold| {
                        let lines = multiline::audit_lines(message);
                        let split = lines.is_split();
                        let (blank, dirty) = read_lines((lines, split), &base, None, hold);
                        blank_lines = blank;
                        dirty
                    });
                    blank_lines
                };
                outcome.blank_lines += blank_lines;
            }
            let Some((f, rest)) = failed.split_first() else {
                break;
            };
            at = failed_event(&mut reach, f, at, sink, &mut outcome);
            (failed, from) = (rest, upto);
        }
        reach.finish(sink, &mut outcome);
        if reach.held.capacity() <= HELD_ROOM {
            *held = emptied(reach.held.into_slots());
        }
    }
    Ok(outcome)
}

/// Reports an entry of an envelope's `logEvents` that could not be read, whose text (its
/// JSON, standing for the message it holds) starts at `at`, as one unparsed line kept whole
/// ([`Reach::failed_event`]); returns where the next message's text starts.
fn failed_event<S: Sink>(
    reach: &mut Reach<'_>,
    failed: &envelope::FailedLogEvent<'_>,
    at: u64,
    sink: &mut S,
    outcome: &mut RecordOutcome,
) -> u64 {
    let (span, next) = text_span(failed.raw, at);
    let (record_index, base) = reach.origin;
    let line = UnparsedLine {
        bytes: failed.raw,
        reason: LineError::LogEvent(failed.error.into()),
        record_index,
        sequence_number: base.sequence_number,
        log_group: base.log_group,
        log_stream: base.log_stream,
        event_id: None,
        line_number: None,
        file: None,
        place: None,
    };
    reach.failed_event(span, &line, sink, outcome);
    next
}

/// Reads a message of at least [`LONG_MESSAGE`] bytes of an envelope (`(message, its
/// provenance)`, whose text lies at `span`, the next message's at `next`, the envelope's
/// messages after it `rest`) without holding its reads when it can ([`Reach::long_message`]):
/// whether it is dirty, and whether a message after it within reach is, are read first
/// (into nothing). Returns the blank lines it skipped, or `None` when it was not read.
fn long_message<'a, S: Sink>(
    reach: &mut Reach<'a>,
    (message, base): (&'a [u8], &Provenance<'a>),
    (span, next): ((u64, u64), u64),
    rest: &[envelope::LogEvent<'a>],
    sink: &mut S,
    outcome: &mut RecordOutcome,
) -> Option<u64> {
    let lines = multiline::audit_lines(message);
    // Cut by a name: dirty, known as the lines were split (no read needed).
    let dirty = lines.is_cut() || read_message(lines.clone(), base, None, &mut Discard).1;
    let after = || {
        let mut at = next;
        for e in rest {
            let m = e.message.as_bytes();
            let ((start, _), following) = text_span(m, at);
            if !text::within_reach(span.1, start) {
                return false;
            }
            if read_message(multiline::audit_lines(m), base, None, &mut Discard).1 {
                return true;
            }
            at = following;
        }
        false
    };
    let read = |direct: &mut Direct<'_, S>| read_message(lines, base, None, direct).0;
    reach.long_message((span, next), (sink, outcome), (dirty, after), read)
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
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_output(crate::input::gzip::DEFAULT_MAX_OUTPUT)
    }

    /// A pipeline whose inflater stops at `max_output` decompressed bytes per record.
    #[must_use]
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

    /// Runs `f` with a worker from the pool (the calling thread's sequential path).
    pub fn with_worker<T>(&self, f: impl FnOnce(&mut Worker) -> T) -> T {
        let mut lease = self.lease();
        f(lease.worker())
    }

    fn lease(&self) -> Lease<'_> {
        let worker = self.lock_pool().pop();
        Lease {
            pipeline: self,
            worker,
        }
    }

    /// Decodes `records` (numbered from `first_index`) each into a sink made by `make` (and
    /// told [`Sink::finish`] once its record is decoded), on rayon's pool when `parallel`.
    /// Returns the outcomes and sinks in input order.
    pub fn process<S, M>(
        &self,
        records: &[SourceRecord<'_>],
        first_index: usize,
        parallel: bool,
        make: M,
    ) -> Vec<(RecordOutcome, S)>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
    {
        let run = |lease: &mut Lease<'_>, (i, r): (usize, &SourceRecord<'_>)| {
            let mut sink = make();
            let outcome = lease.worker().process_record(first_index + i, r, &mut sink);
            sink.finish();
            (outcome, sink)
        };
        if parallel && records.len() > 1 {
            records
                .par_iter()
                .enumerate()
                .map_init(|| self.lease(), run)
                .collect()
        } else {
            let mut lease = self.lease();
            records
                .iter()
                .enumerate()
                .map(|item| {
                    // The next record's payload and strings were last read by the walk or a
                    // copy, megabytes ago: asked for while this one is decoded.
                    crate::decoder::prefetch_next(records, item.0);
                    run(&mut lease, item)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests;
