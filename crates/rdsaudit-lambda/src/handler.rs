//! One invocation: the event's bytes in; events delivered (or handed to your handler),
//! undecodable input quarantined, a summary line and a partial batch response out.
//!
//! The records are decoded in *slices* bounded by what they keep (see [`crate::capture`]),
//! each delivered before the next is decoded, so a batch of any shape stays within a small,
//! fixed amount of memory.
//!
//! Delivery semantics: every slice is delivered in order. When the destination (after its
//! own retries) or your handler fails an event, or the quarantine cannot take an entry, the
//! invocation stops there: the record holding it is reported in `batchItemFailures` (the
//! lowest sequence number; Lambda retries it and everything after it) and nothing after it
//! is delivered. Decoding failures are not delivery failures: they are quarantined and the
//! batch goes on. The same happens at the invocation's deadline (less [`crate::deadline`]'s
//! margin): the record of the first event not delivered by then is reported (stage
//! `deadline`), so Lambda's timeout never comes first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::Diagnostic;
use rdsaudit::input::{InputKind, SourceParser, SourceRecord};
use rdsaudit::pipeline::{Pipeline, Worker};
use rdsaudit::quarantine::{Entry, EntryKind, write_entry};
use rdsaudit::report::{RecordOutcome, RecordStatus};

use crate::capture::{Budget, Capture, Kept, LINES_COPY_LIMIT};
use crate::config::Config;
use crate::destination::InvocationInfo;
use crate::function_log::{self, Invocation, Tally};
use crate::quarantine::{PACK_BYTES, Pack, Quarantine, QuarantineError};
use crate::target::Target;

/// A slice stops taking new records once its records keep this many bytes...
const SLICE_SOFT_BYTES: usize = 8 << 20;
/// ...and a record stops keeping events at this many (it goes on in the next slice).
const SLICE_HARD_BYTES: usize = 16 << 20;

/// Function-log lines are written out once this many are waiting (else once per slice).
const LOG_FLUSH_BYTES: usize = 1 << 20;

/// The function's state, shared by all invocations.
#[derive(Debug)]
pub(crate) struct Handler<T> {
    config: Config,
    target: T,
    quarantine: Quarantine,
    pipeline: Pipeline,
    scratch: tokio::sync::Mutex<Scratch>,
    simd_json: String,
    function_name: String,
}

#[derive(Debug, Default)]
struct Scratch {
    /// The event, copied once with the padding simd-json needs.
    event: Vec<u8>,
    parser: SourceParser,
    /// Function-log lines, written once per slice.
    log: Vec<u8>,
    /// A quarantine document.
    document: Vec<u8>,
}

/// A record decoded in a slice.
struct Decoded<'b> {
    index: usize,
    outcome: RecordOutcome,
    capture: Capture<'b>,
}

/// Where the invocation stops: Lambda retries from this record.
struct Stop {
    record: usize,
    stage: &'static str,
    error: String,
}

impl Stop {
    /// Where a failed quarantine write stops the invocation (stage `deadline` when it was cut
    /// at the deadline).
    fn quarantine(record: usize, error: &QuarantineError) -> Stop {
        let stage = match error {
            QuarantineError::Deadline { .. } => "deadline",
            _ => "quarantine",
        };
        Stop {
            record,
            stage,
            error: error.to_string(),
        }
    }
}

/// The state of one invocation.
struct Run<'a> {
    request_id: &'a str,
    /// When every call must have returned (see [`crate::deadline`]).
    stop_at: Option<Instant>,
    tally: Tally,
    response: KinesisEventResponse,
}

impl<T: Target> Handler<T> {
    pub(crate) fn new(config: Config, target: T, quarantine: Quarantine) -> Self {
        Handler {
            pipeline: Pipeline::with_max_output(config.max_record_bytes),
            config,
            target,
            quarantine,
            scratch: tokio::sync::Mutex::new(Scratch::default()),
            simd_json: simd_json::Deserializer::algorithm().to_string(),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        }
    }

    /// Handles one event's bytes (`{"Records":[...]}` or `{"awslogs":{...}}`), within the
    /// invocation's `deadline` (none: no limit). An event of neither shape (or not JSON at
    /// all) is an `RdsAudit.InvalidEvent` error, after the summary line.
    pub(crate) async fn invoke(
        &self,
        body: &[u8],
        request_id: &str,
        deadline: Option<SystemTime>,
    ) -> Result<KinesisEventResponse, Diagnostic> {
        let started = Instant::now();
        let stop_at = deadline.map(crate::deadline::stop_at);
        let mut guard = self.scratch.lock().await;
        let Scratch {
            event,
            parser,
            log,
            document,
        } = &mut *guard;
        event.clear();
        event.extend_from_slice(body);
        event.resize(body.len() + simd_json::INPUT_PADDING, 0);
        let mut run = Run {
            request_id,
            stop_at,
            tally: Tally::default(),
            response: KinesisEventResponse::default(),
        };
        let (source, result) = match read_event(event, body.len(), parser) {
            Err(e) => ("invalid", Err(e)),
            Ok((source, records)) => {
                let info = InvocationInfo {
                    request_id,
                    shard_id: shard_id(&records, source),
                    deadline: stop_at,
                };
                let result = self.run(&records, &info, &mut run, log, document).await;
                (source, result)
            }
        };
        let invocation = Invocation {
            request_id,
            source,
            threads: self.config.threads,
            simd_json: &self.simd_json,
            function_name: &self.function_name,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        function_log::summary(log, &invocation, &run.tally);
        function_log::flush(log);
        result.map(|()| run.response)
    }

    /// Decodes, quarantines and delivers `records` slice by slice.
    async fn run(
        &self,
        records: &[SourceRecord<'_>],
        info: &InvocationInfo<'_>,
        run: &mut Run<'_>,
        log: &mut Vec<u8>,
        document: &mut Vec<u8>,
    ) -> Result<(), Diagnostic> {
        run.tally.input_records = records.len() as u64;
        let budget = Budget::new(SLICE_SOFT_BYTES, SLICE_HARD_BYTES);
        let mut from = (0usize, 0u64);
        while from.0 < records.len() {
            if crate::deadline::passed(run.stop_at) {
                let stop = Stop {
                    record: from.0,
                    stage: "deadline",
                    error: "the invocation's deadline came before this record was delivered"
                        .to_owned(),
                };
                return self.retry_from(&stop, records, run, log);
            }
            let decoded = self.decode_slice(records, from, &budget);
            let mut stop = self
                .quarantine_slice(&decoded, records, info, run, log, document)
                .await;
            let deliverable = stop.as_ref().map_or(decoded.len(), |s| {
                decoded.iter().take_while(|d| d.index < s.record).count()
            });
            let slice = decoded.get(..deliverable).unwrap_or_default();
            if let Some(failed) = self.deliver(slice, records, info, run, log, document).await
                && stop.as_ref().is_none_or(|s| failed.record < s.record)
            {
                stop = Some(failed);
            }
            for d in &decoded {
                if stop.as_ref().is_some_and(|s| d.index >= s.record) {
                    break;
                }
                if d.capture.cut.is_none() {
                    run.tally.report.add(&d.outcome, true);
                }
            }
            for d in &decoded {
                budget.release(d.capture.held);
            }
            function_log::flush(log);
            if let Some(stop) = stop {
                return self.retry_from(&stop, records, run, log);
            }
            from = match decoded.last() {
                Some(d) => match d.capture.cut {
                    Some(kept) => (d.index, kept),
                    None => (d.index + 1, 0),
                },
                None => break,
            };
        }
        Ok(())
    }

    /// Reports `stop` in the response (or fails the invocation when the record has no
    /// sequence number to report: a direct CloudWatch Logs event).
    fn retry_from(
        &self,
        stop: &Stop,
        records: &[SourceRecord<'_>],
        run: &mut Run<'_>,
        log: &mut Vec<u8>,
    ) -> Result<(), Diagnostic> {
        let sequence_number = records
            .get(stop.record)
            .and_then(|r| r.sequence_number)
            .filter(|s| !s.is_empty());
        function_log::stopped(stop.stage, stop.record, sequence_number, &stop.error, log);
        function_log::flush(log);
        run.tally.deferred_records = (records.len() - stop.record) as u64;
        match sequence_number {
            Some(seq) => {
                run.response.add_failure(seq);
                Ok(())
            }
            None => Err(Diagnostic {
                error_type: format!("RdsAudit.{}Failed", capitalised(stop.stage)),
                error_message: stop.error.clone(),
            }),
        }
    }

    /// Decodes records from `from` (record, events of it already kept) in order, on the
    /// worker threads, until the budget is full. Returns the records in order, ending at
    /// the first one that was cut.
    fn decode_slice<'b>(
        &'b self,
        records: &[SourceRecord<'_>],
        from: (usize, u64),
        budget: &'b Budget,
    ) -> Vec<Decoded<'b>> {
        let next = AtomicUsize::new(from.0);
        let done = Mutex::new(Vec::new());
        // Only these cross to the worker threads (not the target, which need not be `Sync`).
        let (filter, pipeline) = (&self.config.filter, &self.pipeline);
        let enrich = self.config.enrich;
        let work = |worker: &mut Worker| {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let first = index == from.0;
                let Some(record) = records.get(index) else {
                    break;
                };
                if !first && budget.is_full() {
                    break;
                }
                let skip = if first { from.1 } else { 0 };
                let mut capture = Capture::new(T::MODE, filter, budget, skip, first)
                    .with_enrich(enrich)
                    .with_record(record.sequence_number, record.as_delivered());
                let outcome = worker.process_record(index, record, &mut capture);
                let cut = capture.cut.is_some();
                lock(&done).push(Decoded {
                    index,
                    outcome,
                    capture,
                });
                if cut {
                    break;
                }
            }
        };
        let threads = self.config.threads;
        if threads > 1 && records.len() > from.0 + 1 {
            rayon::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|_| pipeline.with_worker(|w| work(w)));
                }
            });
        } else {
            pipeline.with_worker(|w| work(w));
        }
        let mut decoded = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        decoded.sort_unstable_by_key(|d| d.index);
        // Keep the records in a row from `from`, up to the first cut one; the others are
        // decoded again in the next slice.
        let mut keep = 0;
        for (d, expected) in decoded.iter().zip(from.0..) {
            if d.index != expected {
                break;
            }
            keep += 1;
            if d.capture.cut.is_some() {
                break;
            }
        }
        for d in decoded.drain(keep..) {
            budget.release(d.capture.held);
        }
        decoded
    }

    /// Quarantines what the slice's fully decoded records could not give, packed (see
    /// [`Pack`]: a few calls for the whole slice, not one per entry). Returns where to stop
    /// when a pack cannot be written: the record of its first entry (the records before it
    /// are done, so a retry does not write them again).
    async fn quarantine_slice(
        &self,
        decoded: &[Decoded<'_>],
        records: &[SourceRecord<'_>],
        info: &InvocationInfo<'_>,
        run: &mut Run<'_>,
        log: &mut Vec<u8>,
        document: &mut Vec<u8>,
    ) -> Option<Stop> {
        let mut pack = Pack::default();
        for d in decoded.iter().filter(|d| d.capture.cut.is_none()) {
            let Some(record) = records.get(d.index) else {
                continue;
            };
            self.quarantine(d, record, info, run.request_id, &mut pack, log, document);
            if pack.len() >= PACK_BYTES
                && let Err(stop) = self.write_pack(&mut pack, run, log).await
            {
                return Some(stop);
            }
            // The function-log quarantine writes whole documents as they come: a slice's
            // could be many times what its records hold.
            if log.len() >= LOG_FLUSH_BYTES {
                function_log::flush(log);
            }
        }
        self.write_pack(&mut pack, run, log).await.err()
    }

    /// Adds what a fully decoded record could not give to `pack`: the whole record when it
    /// failed (or its unparsed lines would cost too much to copy), else its unparsed lines.
    #[allow(clippy::too_many_arguments)]
    fn quarantine(
        &self,
        d: &Decoded<'_>,
        record: &SourceRecord<'_>,
        info: &InvocationInfo<'_>,
        request_id: &str,
        pack: &mut Pack,
        log: &mut Vec<u8>,
        document: &mut Vec<u8>,
    ) {
        let whole = |error_kind: &'static str, reason: String| (error_kind, reason);
        let record_entry = match &d.outcome.status {
            RecordStatus::Failed(error) => Some(whole(error.kind(), error.to_string())),
            _ if d.capture.lines_overflow => Some(whole(
                "unparsed_lines",
                format!(
                    "{} log events are not audit lines (their copies would take more than {LINES_COPY_LIMIT} bytes): the record is kept whole",
                    d.outcome.unparsed_count()
                ),
            )),
            _ => None,
        };
        let id = |what: std::fmt::Arguments<'_>| {
            entry_id(
                info.shard_id,
                record.sequence_number,
                request_id,
                d.index,
                what,
            )
        };
        let base = Entry {
            id: "",
            request_id: Some(request_id),
            kind: EntryKind::Record,
            error_kind: "",
            reason: "",
            record_index: Some(d.index),
            sequence_number: record.sequence_number,
            partition_key: record.partition_key,
            log_group: None,
            log_stream: None,
            event_id: None,
            payload: record.as_delivered(),
        };
        if let Some((error_kind, reason)) = record_entry {
            let id = id(format_args!("record"));
            let entry = Entry {
                id: &id,
                error_kind,
                reason: &reason,
                ..base
            };
            return self.add(&entry, pack, log, document);
        }
        for (n, line) in d.capture.lines.iter().enumerate() {
            let id = id(format_args!("line-{n}"));
            let entry = Entry {
                id: &id,
                kind: EntryKind::Line,
                error_kind: line.error_kind,
                reason: &line.reason,
                log_group: line.log_group.as_deref(),
                log_stream: line.log_stream.as_deref(),
                event_id: line.event_id.as_deref(),
                payload: &line.bytes,
                ..base
            };
            self.add(&entry, pack, log, document);
        }
    }

    /// Adds one entry's document to `pack`.
    fn add(&self, entry: &Entry<'_>, pack: &mut Pack, log: &mut Vec<u8>, document: &mut Vec<u8>) {
        document.clear();
        write_entry(entry, document);
        self.quarantine.add(entry, document, pack, log);
    }

    /// Writes `pack` within the deadline (the function log has taken its entries already);
    /// where to stop when it cannot be.
    async fn write_pack(
        &self,
        pack: &mut Pack,
        run: &mut Run<'_>,
        log: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        let record = pack.first_record().unwrap_or_default();
        let written = if self.quarantine.is_durable() {
            crate::deadline::before(run.stop_at, self.quarantine.write(pack, log))
                .await
                .unwrap_or_else(|| {
                    Err(QuarantineError::Deadline {
                        id: pack.first_id().to_owned(),
                    })
                })
        } else {
            self.quarantine.write(pack, log).await
        };
        match written {
            Ok(entries) => {
                run.tally.quarantined += entries;
                Ok(())
            }
            Err(e) => Err(Stop::quarantine(record, &e)),
        }
    }

    /// Hands the slice's events to the target; quarantines the events it could not take
    /// whole. Returns where to stop when it failed.
    async fn deliver(
        &self,
        slice: &[Decoded<'_>],
        records: &[SourceRecord<'_>],
        info: &InvocationInfo<'_>,
        run: &mut Run<'_>,
        log: &mut Vec<u8>,
        document: &mut Vec<u8>,
    ) -> Option<Stop> {
        let items: Vec<Kept<'_>> = slice
            .iter()
            .flat_map(|d| {
                let sequence_number = records.get(d.index).and_then(|r| r.sequence_number);
                d.capture.items.iter().map(move |item| Kept {
                    record: d.index,
                    sequence_number,
                    capture: &d.capture,
                    item,
                })
            })
            .collect();
        if items.is_empty() {
            return None;
        }
        run.tally.matched_events += items.len() as u64;
        let taken = self.target.take(&items, info).await;
        run.tally.delivery_retries += taken.retries;
        run.tally.delivered_events += taken.done.saturating_sub(taken.rejected.len()) as u64;
        let mut pack = Pack::default();
        for (i, reason) in &taken.rejected {
            let Some(kept) = items.get(*i) else { continue };
            let record = records.get(kept.record);
            let id = entry_id(
                info.shard_id,
                kept.sequence_number,
                run.request_id,
                kept.record,
                format_args!("event-{}", kept.dedup_id()),
            );
            let entry = Entry {
                id: &id,
                request_id: Some(run.request_id),
                kind: EntryKind::Event,
                error_kind: "rejected",
                reason,
                record_index: Some(kept.record),
                sequence_number: kept.sequence_number,
                partition_key: record.and_then(|r| r.partition_key),
                log_group: None,
                log_stream: None,
                event_id: Some(kept.dedup_id()),
                payload: kept.json(),
            };
            self.add(&entry, &mut pack, log, document);
        }
        if let Err(stop) = self.write_pack(&mut pack, run, log).await {
            return Some(stop);
        }
        let failed = items.get(taken.done)?;
        Some(Stop {
            record: failed.record,
            stage: if taken.out_of_time {
                "deadline"
            } else {
                T::STAGE
            },
            error: taken.error.unwrap_or_else(|| "not delivered".to_owned()),
        })
    }
}

/// A quarantine entry's id, the same every time the same record is quarantined again (a
/// retry writes the same S3 object again, and SQS FIFO drops the copy):
/// `<shard>-<sequence number>-<what>`, or `<request id>-<record index>-<what>` for a record
/// without a sequence number (a direct CloudWatch Logs event: Lambda's asynchronous retries
/// keep the request id).
fn entry_id(
    shard: &str,
    sequence_number: Option<&str>,
    request_id: &str,
    record_index: usize,
    what: std::fmt::Arguments<'_>,
) -> String {
    match sequence_number.filter(|s| !s.is_empty()) {
        Some(seq) => format!("{shard}-{seq}-{what}"),
        None => format!("{request_id}-{record_index}-{what}"),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The Kinesis shard (`shardId-000000000000` from the first record's `eventID`), or
/// `awslogs` for a direct CloudWatch Logs event.
fn shard_id<'a>(records: &[SourceRecord<'a>], source: &str) -> &'a str {
    if source == "awslogs" {
        return "awslogs";
    }
    records
        .first()
        .and_then(|r| r.event_id)
        .and_then(|id| id.split_once(':'))
        .map_or("unknown", |(shard, _)| shard)
}

/// Parses the event in `buf[..len]` (padded) into records.
fn read_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<(&'static str, Vec<SourceRecord<'a>>), Diagnostic> {
    let invalid = |message: String| Diagnostic {
        error_type: "RdsAudit.InvalidEvent".into(),
        error_message: message,
    };
    match rdsaudit::input::detect(buf.get(..len).unwrap_or_default()) {
        InputKind::KinesisEvent => rdsaudit::input::parse_kinesis_event(buf, len, parser)
            .map(|records| ("kinesis", records))
            .map_err(|e| invalid(format!("Kinesis event: {e}"))),
        InputKind::AwslogsEvent => rdsaudit::input::parse_awslogs_event(buf, len, parser)
            .map(|record| ("awslogs", vec![record]))
            .map_err(|e| invalid(format!("CloudWatch Logs event: {e}"))),
        other => Err(invalid(format!(
            "expected a Kinesis event ({{\"Records\":[...]}}) or a CloudWatch Logs subscription event ({{\"awslogs\":{{\"data\":...}}}}), found {}",
            other.description()
        ))),
    }
}
