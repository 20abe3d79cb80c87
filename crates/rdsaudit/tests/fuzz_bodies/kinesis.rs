//! Fuzz body for the whole Kinesis-event handler path the Lambda runs:
//! [`rdsaudit::input::parse_kinesis_event`], then [`rdsaudit::pipeline::Pipeline::process`] with
//! the NDJSON sink.
//!
//! Shared by `fuzz/fuzz_targets/kinesis.rs` and `tests/hostile_fuzz_stable.rs`. The first byte
//! picks the mode: even, the rest is the raw event JSON; odd, the rest describes records (split
//! on `0xff`) that are built into a real event, so the fuzzer reaches gzip and the envelope
//! without having to forge base64 of a valid gzip itself. Properties:
//!
//! - any event gives records or a typed error, never a panic;
//! - one outcome per record, the report balances, each outcome's log events are its parsed
//!   plus unparsed events, failed and control records produce no events;
//! - every output line is a JSON object carrying the record's `sequence_number` and an
//!   `event_id` (the de-duplication key), and there is one line per parsed event;
//! - in the built mode, records whose content is known come out as built: a data record with
//!   its exact number of log events, a control message skipped, a truncated gzip failed.

use std::sync::LazyLock;

use rdsaudit::input::{SourceParser, parse_kinesis_event};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::{RecordError, RecordOutcome, RecordStatus, Report};
use rdsaudit::sink::NdjsonBuffer;
use serde_json::Value;

use super::payload::{b64, control_message, data_message, gzip, kinesis_event};

/// Small inflate cap so a bomb costs little memory per run.
const LIMIT: usize = 1 << 20;

/// One pipeline for all runs: its worker pool is reused, as in the Lambda.
static PIPELINE: LazyLock<Pipeline> = LazyLock::new(|| Pipeline::with_max_output(LIMIT));

/// What a built record is known to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Data { log_events: u64 },
    Control,
    GzipFailure,
    Unknown,
}

pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => {
            let (event, known) = build_event(rest);
            let outcomes = handle(&event).expect("a built event is valid JSON");
            for (outcome, known) in outcomes.iter().zip(known) {
                check_known(outcome, known);
            }
        }
        _ => {
            handle(data);
        }
    }
}

/// Runs the handler path on `event`; `None` if the event itself is unusable.
fn handle(event: &[u8]) -> Option<Vec<RecordOutcome>> {
    let mut buf = event.to_vec();
    buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
    let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new()).ok()?;
    let done = PIPELINE.process(&records, 0, false, NdjsonBuffer::default);
    let mut report = Report::default();
    done.iter()
        .for_each(|(outcome, _)| report.add(outcome, true));
    assert_eq!(done.len(), records.len(), "one outcome per record");
    assert_eq!(report.records, records.len() as u64);
    assert!(report.is_balanced(), "{report:?}");
    for ((outcome, ndjson), record) in done.iter().zip(&records) {
        assert_eq!(
            outcome.log_events,
            outcome.parsed + outcome.unparsed_count()
        );
        if outcome.status != RecordStatus::Data {
            assert_eq!(outcome.log_events, 0, "{:?}", outcome.status);
        }
        check_output(&ndjson.out, outcome.parsed, record.sequence_number);
    }
    Some(done.into_iter().map(|(outcome, _)| outcome).collect())
}

fn check_output(ndjson: &[u8], parsed: u64, sequence_number: Option<&str>) {
    let lines: Vec<&[u8]> = ndjson.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(
        lines.len() as u64,
        parsed,
        "one NDJSON line per parsed event"
    );
    for line in lines {
        let value: Value = serde_json::from_slice(line).expect("NDJSON line is JSON");
        assert!(value["event_id"].is_string(), "no event_id in {value}");
        assert_eq!(value["sequence_number"].as_str(), sequence_number);
    }
}

fn check_known(outcome: &RecordOutcome, known: Known) {
    match known {
        Known::Data { log_events } => {
            assert_eq!(outcome.status, RecordStatus::Data);
            assert_eq!(outcome.log_events, log_events);
        }
        Known::Control => assert_eq!(outcome.status, RecordStatus::Control),
        Known::GzipFailure => assert!(
            matches!(
                outcome.status,
                RecordStatus::Failed(RecordError::Inflate(_))
            ),
            "{:?}",
            outcome.status
        ),
        Known::Unknown => {}
    }
}

/// Builds one record per `0xff`-separated chunk; the chunk's first byte picks its kind.
fn build_event(spec: &[u8]) -> (Vec<u8>, Vec<Known>) {
    let (data, known): (Vec<String>, Vec<Known>) = spec
        .split(|&b| b == 0xff)
        .enumerate()
        .map(|(i, chunk)| build_record(i, chunk))
        .unzip();
    (kinesis_event(&data), known)
}

fn build_record(index: usize, chunk: &[u8]) -> (String, Known) {
    let (kind, body) = chunk.split_first().map_or((0, chunk), |(k, b)| (*k, b));
    let text = String::from_utf8_lossy(body);
    // No message holds a line break (`\n`, `\r`), so each is one audit line.
    let messages: Vec<&str> = text.split(['\n', '\r']).collect();
    let envelope = data_message(index, &messages);
    match kind % 6 {
        0 => {
            let log_events = messages.len() as u64;
            (b64(&gzip(envelope.as_bytes())), Known::Data { log_events })
        }
        1 => (b64(&gzip(body)), Known::Unknown),
        2 => (b64(body), Known::Unknown),
        3 => (json_string_body(&text), Known::Unknown),
        4 => (b64(&gzip(&control_message())), Known::Control),
        _ => {
            let whole = gzip(envelope.as_bytes());
            let cut = body.len() % whole.len();
            (b64(&whole[..cut]), Known::GzipFailure)
        }
    }
}

/// `text` escaped for use between the quotes of a JSON string (the event builder does not
/// escape `data`: real base64 needs none).
fn json_string_body(text: &str) -> String {
    let quoted = Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
