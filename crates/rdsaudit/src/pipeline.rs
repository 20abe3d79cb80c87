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

use std::collections::HashMap;
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
                payload: payload_bytes(&record.payload),
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
        (outcome, records.edges())
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
    /// starts in the whole text)`, into `sink` under the window rule: every event within
    /// [`text::MAX_NAMES_BYTES`] of a dirty line ([`prefixed::Dirt`], of the piece or `around`
    /// it) is flagged with an unlisted reading. Read once when the piece is clean; else read
    /// again into a fresh sink from `make`, the piece's dirty lines known. Returns the
    /// [`text::Edges`] (byte positions of the whole text) for [`crate::Decoder`]'s neighbours.
    pub fn process_prefixed_piece<S: Sink>(
        &mut self,
        piece: (&[u8], u64, u64),
        around: text::Around,
        sink: &mut S,
        make: &impl Fn() -> S,
    ) -> (RecordOutcome, text::Edges) {
        let clean = prefixed::Dirt::default();
        let shape = prefixed::Shape::CloudWatch;
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
    /// is read with them known.
    pub fn process_prefixed_text<S: Sink>(
        &mut self,
        text: &[u8],
        shape: prefixed::Shape,
        sink: &mut S,
    ) -> RecordOutcome {
        let around = text::Around::default();
        let clean = prefixed::Dirt::default();
        let whole = (text, 1, 0);
        let none = &mut |_: &AuditEvent<'_>| {};
        let (_, dirt, _) = prefixed_pass(whole, shape, &clean, around, none);
        prefixed_pass(whole, shape, &dirt, around, sink).0
    }
}

/// One read of a piece of prefixed text of `shape` (`(bytes, first line, where it starts)`):
/// its events into `sink`, those within reach of a line of `dirt` or `around` flagged;
/// returns the outcome, the dirty lines found and the edges (byte positions of the whole
/// text).
fn prefixed_pass<S: Sink>(
    (piece, first_line, at): (&[u8], u64, u64),
    shape: prefixed::Shape,
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
    for e in prefixed::events_of(piece, shape) {
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
        let mut event = LogEvent::from_prefixed(e, shape);
        event.line_number = Some(line);
        visit_event(&event, false, &mut window, &mut outcome);
    }
    // Blank lines after the last event (the piece's last break ends its last line).
    if next < piece.len() {
        let last_end = piece.len() - usize::from(piece.ends_with(b"\n"));
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
    let mut deliver = Deliver {
        sink,
        outcome,
        near,
        base: &base,
    };
    let lines = multiline::audit_lines(&e.message);
    let (blank_lines, _) = read_message(lines, &base, e.time_us, &mut deliver);
    deliver.outcome.blank_lines += blank_lines;
}

/// Whether a log event's message is dirty under the window rule ([`read_message`]).
fn is_dirty(e: &LogEvent<'_>) -> bool {
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

/// The window rule across the log events of the shapes read one event at a time (the logs
/// API's JSON, Insights CSV: docs/HOSTILE.md rule 4, review 9's R9-1). A
/// shipper may put each physical line of a record in a log event of its own, and
/// `filter-log-events` interleaves a group's streams: each stream's messages are read as the
/// text they came from, one after the other with a break between (as `Reach` reads an
/// envelope's), and an event is plain only when no dirty message of its stream lies within
/// [`text::MAX_NAMES_BYTES`] of text of its own. Kept from chunk to chunk: where each stream's
/// text is and where its last dirty message ends.
#[derive(Debug, Default)]
pub struct EventWindow {
    /// Per `(log group, log stream)` (none named: the whole input is one stream): where its
    /// next message's text starts, where its last dirty message's text ends.
    streams: HashMap<(Option<String>, Option<String>), Place>,
}

/// Where a stream's next message's text starts, where its last dirty message's text ends.
type Place = (u64, Option<u64>);

/// A log event's stream as [`EventWindow`] keys it.
type StreamKey<'k> = (Option<&'k str>, Option<&'k str>);

fn stream_key<'k>(e: &'k LogEvent<'_>) -> StreamKey<'k> {
    (e.log_group.as_deref(), e.log_stream.as_deref())
}

impl EventWindow {
    /// For each event of `chunk`: whether a dirty message of its stream (before it, itself,
    /// in `chunk` or `ahead` after it) lies within reach, or its reach goes past what is
    /// known while `more` follows. Moves the window past `chunk`.
    fn near_dirt(
        &mut self,
        chunk: &[LogEvent<'_>],
        ahead: &[LogEvent<'_>],
        more: bool,
    ) -> Vec<bool> {
        let all = chunk.iter().chain(ahead);
        let mut state: HashMap<StreamKey<'_>, Place> = HashMap::new();
        // (stream, start, end, dirty) of every message, its text placed in its stream's.
        let mut spans = Vec::with_capacity(chunk.len() + ahead.len());
        let mut near = Vec::with_capacity(chunk.len());
        for (i, e) in all.enumerate() {
            let key = stream_key(e);
            let (at, last_dirty) = state.entry(key).or_insert_with(|| {
                let owned = (key.0.map(str::to_owned), key.1.map(str::to_owned));
                self.streams.get(&owned).copied().unwrap_or_default()
            });
            let ((start, end), next) = text_span(&e.message, *at);
            *at = next;
            let dirty = is_dirty(e);
            if i < chunk.len() {
                near.push(dirty || last_dirty.is_some_and(|d| text::within_reach(d, start)));
            }
            if dirty {
                *last_dirty = Some(end);
            }
            spans.push((key, start, end, dirty));
            if i + 1 == chunk.len() {
                self.keep(&state);
            }
        }
        // Backwards: the next dirty message of each stream (or where its unknown text starts).
        let mut next: HashMap<StreamKey<'_>, u64> = HashMap::new();
        if more {
            next.extend(state.iter().map(|(k, (at, _))| (*k, *at)));
        }
        for (i, (key, start, end, dirty)) in spans.into_iter().enumerate().rev() {
            if let (Some(n), Some(&d)) = (near.get_mut(i), next.get(&key)) {
                *n |= text::within_reach(end, d);
            }
            if dirty {
                next.insert(key, start);
            }
        }
        near
    }

    /// Keeps each stream's place after a chunk.
    fn keep(&mut self, state: &HashMap<StreamKey<'_>, Place>) {
        for (k, v) in state {
            let owned = (k.0.map(str::to_owned), k.1.map(str::to_owned));
            self.streams.insert(owned, *v);
        }
    }
}

/// An audit line of a log event's message, read: the line, its event or why it is none.
/// Built where it is kept until delivered ([`Reads`]): an event is a few hundred bytes, and
/// each move of one is a `memcpy` call.
#[derive(Debug)]
struct Read<'a> {
    bytes: &'a [u8],
    /// Its line number (the event's provenance has it too).
    line_number: Option<u64>,
    /// Its log event's id (the event's provenance has it too).
    event_id: Option<&'a str>,
    parsed: Result<AuditEvent<'a>, LineError>,
}

/// A [`Read`] before its parse is written: its line, line number and log event's id.
#[derive(Debug, Clone, Copy)]
struct Unread<'a> {
    bytes: &'a [u8],
    line_number: Option<u64>,
    event_id: Option<&'a str>,
}

impl<'a> Read<'a> {
    /// The read of `line`, its parse not yet written (`Err(LineError::Empty)`).
    #[inline]
    fn unread(line: Unread<'a>) -> Self {
        Read {
            bytes: line.bytes,
            line_number: line.line_number,
            event_id: line.event_id,
            parsed: Err(LineError::Empty),
        }
    }

    /// Flags the event with a reading unlisted (the window rule: a dirty line within reach),
    /// unless it already has one.
    fn flag(&mut self) {
        if let Ok(event) = &mut self.parsed
            && event.ambiguity.omitted() == 0
        {
            event.ambiguity = event.ambiguity.with_unlisted_reading(self.bytes);
        }
    }

    /// Hands the read to `sink` and counts it; an unparsed line is told where it came from
    /// by `origin` (what its log event's reads share: its record, envelope, file) and the
    /// read. By reference: see [`Read`].
    fn deliver<S: Sink>(&self, origin: Origin<'_>, sink: &mut S, outcome: &mut RecordOutcome) {
        match &self.parsed {
            Ok(event) => {
                sink.event(event);
                outcome.add_parsed(event);
            }
            Err(reason) => {
                sink.unparsed(&UnparsedLine {
                    bytes: self.bytes,
                    reason: *reason,
                    record_index: origin.record_index,
                    sequence_number: origin.base.sequence_number,
                    log_group: origin.base.log_group,
                    log_stream: origin.base.log_stream,
                    event_id: self.event_id,
                    line_number: self.line_number,
                    file: origin.base.file,
                });
                outcome.add_unparsed(*reason);
            }
        }
    }
}

/// Where an unparsed line came from, beside its own line number and log event id
/// ([`Read::deliver`]): its record's index and `base`'s sequence number, log group and
/// stream, and file.
#[derive(Debug, Clone, Copy)]
struct Origin<'o> {
    record_index: Option<usize>,
    base: &'o Provenance<'o>,
}

/// Where [`read_message`] builds its reads.
trait Reads<'a> {
    /// Keeps the read of `line` where it stays until it is delivered, and there has `fill`
    /// write its parse.
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>));
}

/// Reads delivered as they are read, flagged when a dirty message is `near`
/// ([`visit_event`]: the window is known before the log event is read).
struct Deliver<'d, 'b, S> {
    sink: &'d mut S,
    outcome: &'d mut RecordOutcome,
    near: bool,
    base: &'d Provenance<'b>,
}

impl<'a, S: Sink> Reads<'a> for Deliver<'_, '_, S> {
    #[inline]
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        let mut read = Read::unread(line);
        fill(&mut read);
        if self.near {
            read.flag();
        }
        let origin = Origin {
            record_index: None,
            base: self.base,
        };
        read.deliver(origin, self.sink, self.outcome);
    }
}

/// Reads only read, to know whether the message is dirty ([`is_dirty`]).
struct Discard;

impl<'a> Reads<'a> for Discard {
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        fill(&mut Read::unread(line));
    }
}

/// One log event's message, split into its audit lines (`lines`: [`multiline::audit_lines`]),
/// each scanned into `out` with `base`'s provenance. `line` is the input line for text
/// shapes (`base.line_number` is where the event starts), the line within the message for a
/// CloudWatch event that held several, and absent otherwise. `time_us` replaces the time of
/// the message's first line (syslog: the header's time, which the line lacks). Returns the
/// blank lines skipped and whether the message is dirty under the window rule (a line of it
/// does not read alone, or it is blank: [`Reach`]).
#[inline(always)]
fn read_message<'a>(
    mut lines: multiline::AuditLines<'a>,
    base: &Provenance<'a>,
    time_us: Option<i64>,
    out: &mut impl Reads<'a>,
) -> (u64, bool) {
    let split = lines.is_split();
    let mut unparsed = false;
    while let Some((in_message, bytes)) = lines.next() {
        let line_number = match base.line_number {
            Some(first) => Some(first + in_message - 1),
            None => split.then_some(in_message),
        };
        let unread = Unread {
            bytes,
            line_number,
            event_id: base.event_id,
        };
        out.put(unread, |read| {
            lines.parse_into(&mut read.parsed);
            match &mut read.parsed {
                Ok(event) => {
                    event.provenance = Provenance {
                        line_number,
                        ..*base
                    };
                    if let Some(us) = time_us.filter(|_| in_message == 1) {
                        event.timestamp.epoch_us = us;
                    }
                }
                Err(_) => unparsed = true,
            }
        });
    }
    let blank_lines = lines.blank_lines();
    (blank_lines, unparsed || blank_lines > 0 || lines.is_cut())
}

/// Where a message lies in the text its envelope's messages came from, given where it starts:
/// its text (up to its own final `\n`, when a shipper kept it), and where the next message
/// starts (after that break, or after the one a shipper took out).
fn text_span(message: &[u8], at: u64) -> ((u64, u64), u64) {
    let own_break = u64::from(message.ends_with(b"\n"));
    let len = message.len() as u64;
    ((at, at + len - own_break), at + len + 1 - own_break)
}

/// The window rule across the log events of one envelope (docs/HOSTILE.md rule 4). A shipper
/// may put each physical line of a record in a log event of its own, so a name's raw break
/// can end a message and a forged line in the name be a message that reads alone. The
/// envelope's messages are read as the text they came from, one after the other with a break
/// between: an event is plain only when no dirty message (one that is blank, holds a line
/// that does not read alone, or is a piece of a record) lies within
/// [`text::MAX_NAMES_BYTES`] of text of its own. Reads wait here until no message still to
/// come can reach them (at most 4 KiB of text of them), then go to the sink in order.
struct Reach<'a> {
    /// Reads not yet delivered, each with where its message's text ends.
    held: std::collections::VecDeque<(u64, Read<'a>)>,
    /// Where the last dirty message's text ends.
    last_dirty: Option<u64>,
    /// Where the envelope's unparsed lines came from (its log events' provenance, less the
    /// event's id: [`Read::deliver`]).
    origin: (Option<usize>, Provenance<'a>),
}

impl<'a> Reach<'a> {
    /// Delivers the reads that no message starting at `start` or later can reach.
    fn settle<S: Sink>(&mut self, start: u64, sink: &mut S, outcome: &mut RecordOutcome) {
        let mut ready = 0;
        for (end, read) in &self.held {
            if text::within_reach(*end, start) {
                break;
            }
            read.deliver(self.origin(), sink, outcome);
            ready += 1;
        }
        // Dropped in place, not moved out one by one.
        self.held.drain(..ready);
    }

    /// Reads a message whose text lies from `start` to `end` in the envelope's: `read` hands
    /// its reads to the [`Hold`] and says whether the message is dirty.
    fn message(&mut self, (start, end): (u64, u64), read: impl FnOnce(&mut Hold<'_, 'a>) -> bool) {
        let near = self
            .last_dirty
            .is_some_and(|d| text::within_reach(d, start));
        let dirty = read(&mut Hold {
            held: &mut self.held,
            end,
            near,
        });
        if dirty {
            // Every read still held ends within reach of this message's start.
            self.held.iter_mut().for_each(|(_, r)| r.flag());
            self.last_dirty = Some(end);
        }
    }

    /// Delivers every read still held (the envelope's end).
    fn finish<S: Sink>(&mut self, sink: &mut S, outcome: &mut RecordOutcome) {
        self.held
            .iter()
            .for_each(|(_, read)| read.deliver(self.origin(), sink, outcome));
        self.held.clear();
    }

    fn origin(&self) -> Origin<'_> {
        let (record_index, ref base) = self.origin;
        Origin { record_index, base }
    }
}

/// Where [`Reach::message`]'s reads of one message go: each is built at the back of the held
/// reads. A type of its own, not a `dyn` closure: [`read_message`] is then compiled with the
/// push inlined, not called through a pointer per read.
struct Hold<'h, 'a> {
    held: &'h mut std::collections::VecDeque<(u64, Read<'a>)>,
    /// Where the message's text ends.
    end: u64,
    /// Whether a dirty message before it lies within reach.
    near: bool,
}

impl<'a> Reads<'a> for Hold<'_, 'a> {
    /// Keeps `read` at the back, its parse written there, flagged if a dirty message is near.
    #[inline]
    fn put(&mut self, line: Unread<'a>, fill: impl FnOnce(&mut Read<'a>)) {
        // Made by the deque after it has room: `push_back` takes a value built before and
        // copies it in (a `memcpy` call of the read's few hundred bytes).
        let end = self.end;
        let len = self.held.len();
        self.held.resize_with(len + 1, || (end, Read::unread(line)));
        // Always there (just made); were it not, the line would stay an unparsed line of its
        // bytes (`LineError::Empty`), not be lost.
        if let Some((_, read)) = self.held.back_mut() {
            fill(read);
            if self.near {
                read.flag();
            }
        }
    }
}

/// The record's bytes as delivered.
fn payload_bytes<'a>(payload: &Payload<'a>) -> &'a [u8] {
    match *payload {
        Payload::Base64(b) | Payload::Gzip(b) | Payload::Json(b) => b,
        Payload::Invalid(_) => &[],
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
            held: std::mem::take(held).into(),
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
        for log_event in &env.log_events {
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
            let mut blank_lines = 0;
            reach.message(span, |hold| {
                // Its breaks not looked for when the envelope reader saw there are none.
                let lines = if env.unbroken() {
                    multiline::unbroken_lines(message)
                } else {
                    multiline::audit_lines(message)
                };
                let (blank, dirty) = read_message(lines, &base, None, hold);
                blank_lines = blank;
                dirty
            });
            outcome.blank_lines += blank_lines;
        }
        reach.finish(sink, &mut outcome);
        if reach.held.capacity() <= HELD_ROOM {
            *held = emptied(reach.held.into());
        }
    }
    Ok(outcome)
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
                .map(|item| run(&mut lease, item))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    /// Everything a sink is told, in order, as text.
    #[derive(Default)]
    struct Told(Vec<String>);

    impl Sink for Told {
        fn event(&mut self, event: &AuditEvent<'_>) {
            self.0.push(format!("{event:?}"));
        }

        fn unparsed(&mut self, line: &UnparsedLine<'_>) {
            self.0.push(format!("{line:?}"));
        }

        fn failed_record(&mut self, record: &FailedRecord<'_>) {
            self.0.push(format!("failed {}", record.index));
        }
    }

    /// The way reads were held before they were built in place (session 16): each message's
    /// lines parsed by value ([`multiline::AuditLines::next_parsed`]), given their provenance,
    /// and flagged when a dirty message of the envelope lies within reach of the message's
    /// text (before it, after it, or itself), every pair of messages looked at.
    fn by_value(messages: &[&str], index: usize, sequence_number: &str) -> (Vec<String>, u64) {
        let (group, stream) = ("/aws/rds/instance/db1/audit", "db1");
        let mut spans = Vec::new();
        let mut at = 0;
        for m in messages {
            let (span, next) = text_span(m.as_bytes(), at);
            spans.push(span);
            at = next;
        }
        let ids: Vec<String> = (0..messages.len()).map(|i| format!("id{i}")).collect();
        let mut reads = Vec::new();
        let mut dirty = Vec::new();
        let mut blank_lines = 0;
        for (i, m) in messages.iter().enumerate() {
            let mut lines = multiline::audit_lines(m.as_bytes());
            let split = lines.is_split();
            let mut unparsed = false;
            while let Some((n, bytes, mut parsed)) = lines.next_parsed() {
                let line_number = split.then_some(n);
                match &mut parsed {
                    Ok(event) => {
                        event.provenance = Provenance {
                            log_group: Some(group),
                            log_stream: Some(stream),
                            event_id: Some(&ids[i]),
                            cloudwatch_timestamp_ms: Some(1),
                            sequence_number: Some(sequence_number),
                            line_number,
                            file: None,
                        };
                    }
                    Err(_) => unparsed = true,
                }
                reads.push((i, bytes, line_number, parsed));
            }
            blank_lines += lines.blank_lines();
            dirty.push(unparsed || lines.blank_lines() > 0 || lines.is_cut());
        }
        let near = |i: usize| {
            let (start, end) = spans[i];
            (0..messages.len()).any(|j| {
                let (s, e) = spans[j];
                dirty[j]
                    && (j == i
                        || (j < i && text::within_reach(e, start))
                        || (j > i && text::within_reach(end, s)))
            })
        };
        let mut told = Told::default();
        for (i, bytes, line_number, mut parsed) in reads {
            match &mut parsed {
                Ok(event) => {
                    if near(i) && event.ambiguity.omitted() == 0 {
                        event.ambiguity = event.ambiguity.with_unlisted_reading(bytes);
                    }
                    told.event(event);
                }
                Err(reason) => told.unparsed(&UnparsedLine {
                    bytes,
                    reason: *reason,
                    record_index: Some(index),
                    sequence_number: Some(sequence_number),
                    log_group: Some(group),
                    log_stream: Some(stream),
                    event_id: Some(&ids[i]),
                    line_number,
                    file: None,
                }),
            }
        }
        (told.0, blank_lines)
    }

    /// The envelope of `messages` as CloudWatch sends it (JSON), ids as [`by_value`]'s.
    fn envelope_json(messages: &[&str]) -> Vec<u8> {
        let events: Vec<serde_json::Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"id": format!("id{i}"), "timestamp": 1, "message": m}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "messageType": "DATA_MESSAGE",
            "owner": "111111111111",
            "logGroup": "/aws/rds/instance/db1/audit",
            "logStream": "db1",
            "subscriptionFilters": ["f"],
            "logEvents": events,
        }))
        .unwrap()
    }

    /// Messages clean and dirty: whole lines (statements long enough to put the next dirty
    /// message in or out of reach), lines that do not parse, blank messages, several lines,
    /// a record cut by a raw break in a name, forged lines in names, CRs.
    fn message() -> impl Strategy<Value = String> {
        let clean = (0usize..1800, 1u32..99).prop_map(|(len, id)| {
            format!(
                "20240615 10:31:05,db1,app,10.0.0.9,{id},7,QUERY,shop,'SELECT {}',0",
                "x".repeat(len)
            )
        });
        prop_oneof![
            6 => clean,
            1 => Just(String::new()),
            1 => Just("\n".to_string()),
            1 => "[a-z ,']{0,40}",
            1 => Just("20240615 10:31:05,db1,u\nx,10.0.0.9,77,0,FAILED_CONNECT,,,1045".to_string()),
            1 => Just("20240615 10:31:05,db1,u".to_string()),
            1 => Just("x,10.0.0.9,77,0,FAILED_CONNECT,,,1045".to_string()),
            1 => Just(
                "20240615 10:31:05,db1,app,h,1,2,QUERY,,'a',0\n1718447466000000,db1,app,h,1,3,WRITE,shop,t,0"
                    .to_string()
            ),
            1 => Just("20240615 10:31:05,db1,a,b,1,2,READ,a,b,t,1,\r\n".to_string()),
            1 => Just(
                "20240615 10:31:05,db1,u\n20241231 23:59:59,h,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0\ny,10.0.0.9,77,0,FAILED_CONNECT,,,1045"
                    .to_string()
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Reads built in place in the window's deque are told to the sink exactly as the reads
        /// moved by value were (same events, flags, provenance, unparsed lines, order), and
        /// counted the same.
        #[test]
        fn reads_built_in_place_are_the_reads_moved_by_value(
            messages in proptest::collection::vec(message(), 0..40),
        ) {
            let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
            let json = envelope_json(&messages);
            let mut record = SourceRecord::new(Payload::Json(&json));
            record.sequence_number = Some("495");
            let mut told = Told::default();
            let outcome = Worker::new(usize::MAX).process_record(3, &record, &mut told);
            let (expected, blank_lines) = by_value(&messages, 3, "495");
            prop_assert_eq!(&told.0, &expected);
            prop_assert_eq!(outcome.blank_lines, blank_lines);
            prop_assert_eq!(outcome.parsed as usize + outcome.unparsed_count() as usize, expected.len());
        }
    }
}
