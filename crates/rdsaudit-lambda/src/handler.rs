//! One invocation: the event's bytes in, NDJSON and a partial batch response out.
//!
//! The event is parsed in place by `rdsaudit::input::source` (any `encryptionType`, unknown fields
//! ignored), its records decoded by the shared [`Pipeline`] in chunks, and each chunk's lines
//! written to stdout in one locked write. Every buffer (the event copy, the source parser, the
//! output, the pipeline's workers and arenas) lives as long as the function, so a warm function
//! allocates little per invocation.

use std::io::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::Diagnostic;
use rdsaudit::input::InputKind;
use rdsaudit::input::{Payload, SourceParser, SourceRecord};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::RecordStatus;
use rdsaudit::sink::{NdjsonWriter, UnparsedLine};
use rdsaudit::{AuditEvent, Sink};
use rdsaudit_sql::filter::EventFilter;

use crate::config::{Config, OnMalformed};
use crate::lines::{self, Action, Invocation, Tally};

/// A chunk holds at most this much payload text per thread, which bounds the NDJSON held in
/// memory before it is written (a few MB even at high compression ratios).
const CHUNK_PAYLOAD_PER_THREAD: usize = 1 << 20;

/// The function's state, shared by all invocations.
#[derive(Debug)]
pub struct Handler {
    config: Config,
    pipeline: Pipeline,
    scratch: Mutex<Scratch>,
    simd_json: String,
}

#[derive(Debug, Default)]
struct Scratch {
    /// The event, copied with the padding simd-json needs.
    event: Vec<u8>,
    parser: SourceParser,
    /// One chunk's lines, written at once.
    out: Vec<u8>,
}

/// What one record decodes into: the NDJSON of its matching events, then a line for each of
/// its log events that is not an audit line.
#[derive(Debug)]
struct Matches<'f> {
    filter: &'f EventFilter,
    ndjson: Vec<u8>,
    count: u64,
    writer: NdjsonWriter,
    unparsed: Vec<u8>,
}

impl<'f> Matches<'f> {
    fn new(filter: &'f EventFilter) -> Self {
        Matches {
            filter,
            ndjson: Vec::new(),
            count: 0,
            writer: NdjsonWriter::new(),
            unparsed: Vec::new(),
        }
    }
}

impl Sink for Matches<'_> {
    fn event(&mut self, event: &AuditEvent<'_>) {
        if self.filter.matches(event) {
            self.writer.write(event, &mut self.ndjson);
            self.count += 1;
        }
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        lines::unparsed_event(&mut self.unparsed, line);
    }
}

/// The state of one invocation.
struct Run {
    source: Source,
    tally: Tally,
    response: KinesisEventResponse,
    /// Why the invocation fails (a direct CloudWatch Logs event in `fail` mode).
    failed_invocation: Option<String>,
}

/// What becomes of a failed record.
enum Decision<'a> {
    Quarantine,
    /// Reported in `batchItemFailures` with this sequence number.
    Retry(&'a str),
    FailInvocation,
}

impl Decision<'_> {
    fn action(&self) -> Action {
        match self {
            Decision::Quarantine => Action::Quarantine,
            Decision::Retry(_) => Action::Retry,
            Decision::FailInvocation => Action::FailInvocation,
        }
    }
}

/// Where the input came from, for the response and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Kinesis,
    CloudWatchLogs,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Kinesis => "kinesis",
            Source::CloudWatchLogs => "awslogs",
        }
    }
}

impl Handler {
    pub fn new(config: Config) -> Self {
        Handler {
            pipeline: Pipeline::with_max_output(config.max_record_bytes),
            config,
            scratch: Mutex::new(Scratch::default()),
            simd_json: simd_json::Deserializer::algorithm().to_string(),
        }
    }

    /// Handles one event (`{"Records":[...]}` or `{"awslogs":{...}}`). An event of neither
    /// shape, or a direct CloudWatch Logs event whose record fails in `fail` mode, is an error
    /// (Lambda retries the invocation); a Kinesis record that fails is reported in the
    /// response (`fail`) or quarantined.
    pub fn invoke(
        &self,
        event: &[u8],
        request_id: &str,
    ) -> Result<KinesisEventResponse, Diagnostic> {
        let started = Instant::now();
        let mut scratch = self.lock_scratch();
        let Scratch {
            event: buf,
            parser,
            out,
        } = &mut *scratch;
        buf.clear();
        buf.extend_from_slice(event);
        buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
        let (source, records) = read_event(buf, event.len(), parser)?;

        let mut run = Run {
            source,
            tally: Tally {
                input_records: records.len() as u64,
                ..Tally::default()
            },
            response: KinesisEventResponse::default(),
            failed_invocation: None,
        };
        let budget = CHUNK_PAYLOAD_PER_THREAD.saturating_mul(self.config.threads);
        let mut rest: &[SourceRecord<'_>] = &records;
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(chunk_len(rest, budget));
            rest = after;
            out.clear();
            let retry_at = self.process_chunk(chunk, &mut run, out);
            write_stdout(out);
            if let Some(index) = retry_at {
                // Lambda retries from this record: the records after it come again, so their
                // events are not written now (no duplicates).
                run.tally.deferred_records = (chunk.len() - index - 1 + rest.len()) as u64;
                break;
            }
        }

        out.clear();
        let invocation = Invocation {
            request_id,
            source: source.name(),
            threads: self.config.threads,
            simd_json: &self.simd_json,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        lines::summary(out, &invocation, &run.tally);
        write_stdout(out);
        match run.failed_invocation {
            None => Ok(run.response),
            Some(reason) => Err(Diagnostic {
                error_type: "RdsAudit.MalformedRecord".into(),
                error_message: format!("the CloudWatch Logs event could not be decoded: {reason}"),
            }),
        }
    }

    /// Decodes `chunk` and appends its lines to `out`. Returns the index of the record reported
    /// for retry, if any: the rest of the chunk is then left uncounted.
    fn process_chunk(
        &self,
        chunk: &[SourceRecord<'_>],
        run: &mut Run,
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        let done = self
            .pipeline
            .process(chunk, 0, self.config.threads > 1, || {
                Matches::new(&self.config.filter)
            });
        for (index, (record, (outcome, matches))) in chunk.iter().zip(&done).enumerate() {
            run.tally.report.add(outcome, true);
            run.tally.matched_events += matches.count;
            out.extend_from_slice(&matches.ndjson);
            out.extend_from_slice(&matches.unparsed);
            let RecordStatus::Failed(error) = &outcome.status else {
                continue;
            };
            let decision = self.decide(run.source, record);
            lines::malformed_record(out, record, error, decision.action());
            match decision {
                Decision::Quarantine => run.tally.quarantined_records += 1,
                Decision::FailInvocation => run.failed_invocation = Some(error.to_string()),
                Decision::Retry(sequence_number) => {
                    run.response.add_failure(sequence_number);
                    run.tally.retried_records += 1;
                    return Some(index);
                }
            }
        }
        None
    }

    /// What to do with a record that failed. A Kinesis record without a sequence number cannot
    /// be reported (an empty `itemIdentifier` would fail the whole batch), so it is quarantined
    /// even in `fail` mode.
    fn decide<'a>(&self, source: Source, record: &SourceRecord<'a>) -> Decision<'a> {
        match (self.config.on_malformed, source) {
            (OnMalformed::Quarantine, _) => Decision::Quarantine,
            (OnMalformed::Fail, Source::CloudWatchLogs) => Decision::FailInvocation,
            (OnMalformed::Fail, Source::Kinesis) => match record.sequence_number {
                Some(seq) if !seq.is_empty() => Decision::Retry(seq),
                _ => Decision::Quarantine,
            },
        }
    }

    fn lock_scratch(&self) -> MutexGuard<'_, Scratch> {
        // Invocations are sequential; a panic mid-invocation leaves only reusable buffers.
        self.scratch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses the event in `buf[..len]` (padded) into records.
fn read_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<(Source, Vec<SourceRecord<'a>>), Diagnostic> {
    let invalid = |message: String| Diagnostic {
        error_type: "RdsAudit.InvalidEvent".into(),
        error_message: message,
    };
    match rdsaudit::input::detect(buf.get(..len).unwrap_or_default()) {
        InputKind::KinesisEvent => rdsaudit::input::parse_kinesis_event(buf, len, parser)
            .map(|records| (Source::Kinesis, records))
            .map_err(|e| invalid(format!("Kinesis event: {e}"))),
        InputKind::AwslogsEvent => rdsaudit::input::parse_awslogs_event(buf, len, parser)
            .map(|record| (Source::CloudWatchLogs, vec![record]))
            .map_err(|e| invalid(format!("CloudWatch Logs event: {e}"))),
        other => Err(invalid(format!(
            "expected a Kinesis event ({{\"Records\":[...]}}) or a CloudWatch Logs subscription event ({{\"awslogs\":{{\"data\":...}}}}), found {other:?}"
        ))),
    }
}

/// How many records from the start of `records` fit in `budget` bytes of payload (at least one).
fn chunk_len(records: &[SourceRecord<'_>], budget: usize) -> usize {
    let mut total = 0usize;
    let fitting = records
        .iter()
        .take_while(|r| {
            total += payload_len(&r.payload);
            total <= budget
        })
        .count();
    fitting.max(1).min(records.len())
}

fn payload_len(payload: &Payload<'_>) -> usize {
    match *payload {
        Payload::Base64(b) | Payload::Gzip(b) | Payload::Json(b) => b.len(),
        Payload::Invalid(_) => 0,
    }
}

fn write_stdout(out: &[u8]) {
    if out.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(out).and_then(|()| stdout.flush()) {
        // Nowhere else to write events: say so where the runtime's own messages go.
        eprintln!("rdsaudit: cannot write {} bytes to stdout: {e}", out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdsaudit::input::RecordProblem;

    #[test]
    fn chunks_hold_at_least_one_record_and_stay_within_the_budget() {
        let b64 = |n: usize| SourceRecord::new(Payload::Base64(&[b'A'; 4096][..n]));
        let records = [
            b64(1000),
            b64(1000),
            SourceRecord::new(Payload::Invalid(RecordProblem::MissingData)),
            b64(4096),
            b64(10),
        ];
        assert_eq!(chunk_len(&records, 2000), 3);
        assert_eq!(chunk_len(&records, 1999), 1);
        assert_eq!(
            chunk_len(&records[3..], 100),
            1,
            "an oversized record goes alone"
        );
        assert_eq!(chunk_len(&records, usize::MAX), 5);
    }
}
