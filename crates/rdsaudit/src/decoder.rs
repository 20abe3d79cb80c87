//! The front door: any input's bytes in, events pushed into a [`Sink`], accounting out.
//!
//! A [`Decoder`] detects what an input holds (or is told, [`DecoderBuilder::kind`]), inflates a
//! gzip-compressed input, finds its records (Kinesis records, CloudWatch payloads) or its text
//! lines, and runs them through the [`Pipeline`]. [`Decoder::decode`] pushes everything into one
//! sink on the calling thread; [`Decoder::decode_parallel`] decodes records on rayon's threads,
//! each into a sink of its own, and hands the sinks back in input order, a chunk at a time, so
//! output starts before the input is done and memory stays bounded by the chunk.
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

use std::io::{self, Read};
use std::sync::{Mutex, PoisonError};

use crate::audit::scanner::LineError;
use crate::input::gzip::{DEFAULT_MAX_OUTPUT, InflateError, Inflater};
use crate::input::stream::{Piece, TextStream};
use crate::input::{self, InputKind, Payload, SourceError, SourceParser, SourceRecord, text};
use crate::pipeline::Pipeline;
use crate::report::{RecordOutcome, RecordStatus, Report};
use crate::sink::{Sink, UnparsedLine};

/// Default bound on what a whole gzip-compressed input inflates to: 1 GiB, ten times the
/// 100 MB at which Aurora rotates audit files.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1 << 30;
/// Default number of records decoded in parallel before their sinks are handed over.
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
}

fn event_name(kind: InputKind) -> &'static str {
    match kind {
        InputKind::AwslogsEvent => "CloudWatch Logs Lambda event",
        _ => "Lambda Kinesis event",
    }
}

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
        report: Report,
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
}

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

    /// Records decoded before their sinks are handed to `emit`: default 512
    /// ([`DEFAULT_RECORDS_PER_CHUNK`]). Output memory is bounded by one chunk's output.
    #[must_use]
    pub fn records_per_chunk(mut self, records: usize) -> Self {
        self.records_per_chunk = records.max(1);
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

/// What an input turned out to hold.
enum Work<'a> {
    Records(&'a [SourceRecord<'a>]),
    Text(&'a [u8]),
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
        self.with_work(input, |work| {
            let mut report = Report::default();
            self.pipeline.with_worker(|worker| match work {
                Work::Records(records) => {
                    for (i, r) in records.iter().enumerate() {
                        report.add(&worker.process_record(i, r, sink), true);
                    }
                }
                Work::Text(text) => report.add(&worker.process_text(text, 1, sink), false),
            });
            report
        })
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
        let result = self.with_work(input, |work| match work {
            Work::Records(records) => self.records_parallel(records, &make, &mut emit),
            Work::Text(text) => self.text_parallel(text, &make, &mut emit),
        })?;
        Ok(result?)
    }

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
        let mut report = Report::default();
        let total = records.len().max(1) as f64;
        let chunk_len = self.limits.records_per_chunk;
        for (c, chunk) in records.chunks(chunk_len).enumerate() {
            let first = c * chunk_len;
            let done = self
                .pipeline
                .process(chunk, first, self.limits.parallel, make);
            for (i, ((outcome, sink), record)) in done.into_iter().zip(chunk).enumerate() {
                report.add(&outcome, true);
                let index = first + i;
                let next = emit(Done {
                    record: Some(record),
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
        Ok(report)
    }

    fn text_parallel<S, M, E>(&self, text: &[u8], make: &M, emit: &mut E) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut report = Report::default();
        let pieces = text::split_for_parallel(text, text.len() / TEXT_PIECE_BYTES + 1);
        let group = if self.limits.parallel {
            rayon::current_num_threads() * 2
        } else {
            1
        };
        let (mut index, mut bytes_done) = (0, 0usize);
        for group in pieces.chunks(group) {
            let done = self.pipeline.process_text(group, make);
            for ((outcome, sink), (_, piece)) in done.into_iter().zip(group) {
                report.add(&outcome, false);
                bytes_done += piece.len();
                let next = emit(Done {
                    record: None,
                    index,
                    outcome,
                    sink,
                    progress: bytes_done as f64 / text.len().max(1) as f64,
                })?;
                index += 1;
                if next == Next::Stop {
                    return Ok(report);
                }
            }
        }
        Ok(report)
    }

    /// Decodes plain audit text read from `stream` ([`crate::input::stream`]), for inputs of
    /// any size: pieces are read on a thread of their own while earlier ones are decoded, a
    /// group at a time in parallel, each into a sink made by `make` and handed to `emit` in
    /// input order. Whatever has been read is decoded as soon as the reader has nothing more
    /// for now, so a pipe or a growing file is followed line by line. Memory: a few pieces
    /// per thread (the stream's piece size, 1 MiB by default), not the input.
    ///
    /// A line longer than the stream's longest record reaches the sink as an unparsed line
    /// with its first bytes and [`LineError::TooLong`].
    ///
    /// # Errors
    /// [`StopError::Read`] when reading fails (everything read before is decoded, emitted and
    /// counted in its report), [`StopError::Output`] when `emit` fails.
    pub fn decode_text_stream<R, S, M, E>(
        &self,
        stream: TextStream<R>,
        make: M,
        mut emit: E,
    ) -> Result<Report, StopError>
    where
        R: Read + Send,
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let group = if self.limits.parallel {
            rayon::current_num_threads() * 2
        } else {
            1
        };
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(group);
            scope.spawn(move || {
                for piece in stream {
                    let failed = piece.is_err();
                    if tx.send(piece).is_err() || failed {
                        return;
                    }
                }
            });
            let mut run = StreamRun {
                report: Report::default(),
                index: 0,
                next_line: 1,
            };
            // Everything waiting is one group; at least one piece (blocks until it comes).
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter().take(group.saturating_sub(1)));
                let mut pieces = Vec::with_capacity(batch.len());
                for piece in batch {
                    match piece {
                        Ok(p) => pieces.push(p),
                        Err(source) => {
                            self.stream_group(&pieces, &mut run, &make, &mut emit)?;
                            return Err(StopError::Read {
                                line: run.next_line,
                                report: run.report,
                                source,
                            });
                        }
                    }
                }
                if self.stream_group(&pieces, &mut run, &make, &mut emit)? == Next::Stop {
                    break;
                }
            }
            Ok(run.report)
        })
    }

    /// Decodes a group of pieces in order: runs of whole records in parallel, an oversize
    /// line as one unparsed line.
    fn stream_group<S, M, E>(
        &self,
        pieces: &[Piece],
        run: &mut StreamRun,
        make: &M,
        emit: &mut E,
    ) -> io::Result<Next>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        for same in pieces.chunk_by(|a, b| {
            matches!(a, Piece::Records { .. }) && matches!(b, Piece::Records { .. })
        }) {
            let done = match same {
                [
                    Piece::Oversize {
                        line_number,
                        head,
                        len,
                    },
                ] => {
                    run.next_line = line_number + 1;
                    vec![oversize(*line_number, head, *len, make)]
                }
                records => {
                    let texts: Vec<(u64, &[u8])> = records
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Records { first_line, bytes } => {
                                Some((*first_line, bytes.as_slice()))
                            }
                            Piece::Oversize { .. } => None,
                        })
                        .collect();
                    if let Some(Piece::Records { first_line, bytes }) = records.last() {
                        run.next_line =
                            first_line + memchr::memchr_iter(b'\n', bytes).count() as u64;
                    }
                    self.pipeline.process_text(&texts, make)
                }
            };
            for (outcome, sink) in done {
                run.report.add(&outcome, false);
                let next = emit(Done {
                    record: None,
                    index: run.index,
                    outcome,
                    sink,
                    progress: 0.0,
                })?;
                run.index += 1;
                if next == Next::Stop {
                    return Ok(Next::Stop);
                }
            }
        }
        Ok(Next::Continue)
    }

    /// Pads `input`, inflates it when it is gzip-compressed as a whole, detects its kind (unless
    /// told) and finds its records or text, then runs `f` on them. `input` is truncated back to
    /// its length afterwards.
    fn with_work<T>(
        &self,
        input: &mut Vec<u8>,
        f: impl FnOnce(Work<'_>) -> T,
    ) -> Result<T, DecodeError> {
        let len = input.len();
        input.resize(len + simd_json::INPUT_PADDING, 0);
        let result = self.dispatch(input, len, f);
        input.truncate(len);
        result
    }

    fn dispatch<T>(
        &self,
        buf: &mut [u8],
        len: usize,
        f: impl FnOnce(Work<'_>) -> T,
    ) -> Result<T, DecodeError> {
        let bytes = buf.get(..len).unwrap_or_default();
        let kind = self.limits.kind;
        if kind != Some(InputKind::CloudWatchGzip) && bytes.starts_with(&input::detect::GZIP_MAGIC)
        {
            let mut inflater = Inflater::with_limit(self.limits.max_input_bytes);
            match inflater.inflate(bytes) {
                Ok(inflated) => {
                    let (inner, inner_len) = inflated.into_padded();
                    let kind = kind.unwrap_or_else(|| {
                        input::detect(inner.get(..inner_len).unwrap_or_default())
                    });
                    return self.records_of(kind, inner, inner_len, f);
                }
                // Past the input limit: the file's limit is the one to name, not a record's.
                Err(e @ InflateError::OutputLimit { .. }) => return Err(DecodeError::Gzip(e)),
                // Not a whole-file gzip: taken for a CloudWatch payload, one failed record.
                Err(_) if kind.is_none() => {}
                Err(e) => return Err(DecodeError::Gzip(e)),
            }
            return Ok(f(Work::Records(&[SourceRecord::new(Payload::Gzip(bytes))])));
        }
        let kind = kind.unwrap_or_else(|| input::detect(bytes));
        self.records_of(kind, buf, len, f)
    }

    /// Reads `buf[..len]` (padded) as `kind`.
    fn records_of<T>(
        &self,
        kind: InputKind,
        buf: &mut [u8],
        len: usize,
        f: impl FnOnce(Work<'_>) -> T,
    ) -> Result<T, DecodeError> {
        let mut parser = self.parser.lock().unwrap_or_else(PoisonError::into_inner);
        let not_an_event = |source| DecodeError::NotAnEvent { kind, source };
        let records = match kind {
            InputKind::KinesisEvent => {
                input::parse_kinesis_event(buf, len, &mut parser).map_err(not_an_event)?
            }
            InputKind::AwslogsEvent => {
                vec![input::parse_awslogs_event(buf, len, &mut parser).map_err(not_an_event)?]
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
            InputKind::AuditText => {
                drop(parser);
                return Ok(f(Work::Text(buf.get(..len).unwrap_or_default())));
            }
        };
        drop(parser);
        Ok(f(Work::Records(&records)))
    }
}

/// Where a text stream's decoding is.
struct StreamRun {
    report: Report,
    /// Index of the next piece handed to `emit`.
    index: usize,
    /// The line the next piece starts at (for a read error's message).
    next_line: u64,
}

/// An oversize line as an unparsed line in a sink of its own.
fn oversize<S: Sink, M: Fn() -> S>(
    line_number: u64,
    head: &[u8],
    len: u64,
    make: &M,
) -> (RecordOutcome, S) {
    let reason = LineError::TooLong { len };
    let mut sink = make();
    sink.unparsed(&UnparsedLine {
        bytes: head,
        reason,
        record_index: None,
        sequence_number: None,
        log_group: None,
        log_stream: None,
        event_id: None,
        line_number: Some(line_number),
        file: None,
    });
    let mut outcome = RecordOutcome::new(RecordStatus::Data);
    outcome.add_unparsed(reason);
    (outcome, sink)
}
