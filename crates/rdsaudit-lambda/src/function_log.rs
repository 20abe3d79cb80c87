//! The lines the function writes to its own log (stdout, i.e. its CloudWatch Logs log group)
//! besides the events: quarantined items, pointers to quarantined items, delivery failures,
//! and one summary per invocation. Each is one JSON object on one line with a `kind` key;
//! event lines never have a `kind` key, so a consumer of the log stream tells them apart by it.
//!
//! The summary is also in CloudWatch Embedded Metric Format: CloudWatch turns its counts into
//! metrics (namespace `rdsaudit`, dimension `function_name`) with no code and no API call.

use std::collections::BTreeMap;
use std::io::Write as _;

use rdsaudit::quarantine::{Entry, LOG_EVENT_MAX, write_parts};
use rdsaudit::report::Report;
use serde::Serialize;

/// Appends the lines that carry a quarantine `document` (of `entry`) whole: the document
/// itself, or numbered parts when it is larger than a CloudWatch Logs event.
pub fn quarantine_lines(entry: &Entry<'_>, document: &[u8], out: &mut Vec<u8>) {
    write_parts(entry.id, document, LOG_EVENT_MAX, |line| {
        out.extend_from_slice(line);
        out.push(b'\n');
    });
}

#[derive(Serialize)]
struct Pointer<'a> {
    kind: &'static str,
    id: &'a str,
    entry: &'static str,
    error_kind: &'a str,
    reason: &'a str,
    record_index: Option<usize>,
    sequence_number: Option<&'a str>,
    event_id: Option<&'a str>,
    payload_bytes: usize,
    location: &'a str,
}

/// Appends a pointer to an entry written to a durable quarantine at `location`.
pub fn quarantined(entry: &Entry<'_>, location: &str, out: &mut Vec<u8>) {
    push(
        out,
        &Pointer {
            kind: "quarantined",
            id: entry.id,
            entry: entry.kind.as_str(),
            error_kind: entry.error_kind,
            reason: entry.reason,
            record_index: entry.record_index,
            sequence_number: entry.sequence_number,
            event_id: entry.event_id,
            payload_bytes: entry.payload.len(),
            location,
        },
    );
}

#[derive(Serialize)]
struct Failure<'a> {
    kind: &'static str,
    /// `delivery` or `quarantine` or `handler`.
    stage: &'a str,
    record_index: usize,
    sequence_number: Option<&'a str>,
    error: &'a str,
}

/// Appends the line saying why the invocation stops at record `record_index`, which Lambda
/// retries (it and every record after it).
pub fn stopped(
    stage: &str,
    record_index: usize,
    sequence_number: Option<&str>,
    error: &str,
    out: &mut Vec<u8>,
) {
    push(
        out,
        &Failure {
            kind: "retry_from",
            stage,
            record_index,
            sequence_number,
            error,
        },
    );
}

/// The accounting of one invocation.
#[derive(Debug, Default)]
pub struct Tally {
    /// Records read and counted (every record before the retry point).
    pub report: Report,
    /// Records in the event.
    pub input_records: u64,
    /// Records from the retry point on: Lambda delivers them again.
    pub deferred_records: u64,
    /// Quarantine entries written (records, lines, oversized events).
    pub quarantined: u64,
    /// Events that matched the filters and were handed to the destination or handler.
    pub matched_events: u64,
    /// Events the destination or handler took.
    pub delivered_events: u64,
    /// API calls or entries the destination sent again.
    pub delivery_retries: u64,
}

impl Tally {
    /// Every record is either counted in the report or deferred, and the report adds up.
    #[must_use]
    pub fn is_balanced(&self) -> bool {
        self.report.is_balanced()
            && self.report.records + self.deferred_records == self.input_records
    }
}

/// What an invocation was, besides its counts.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// The Lambda request id.
    pub request_id: &'a str,
    /// `kinesis`, `awslogs`, or `invalid` (an event of neither shape).
    pub source: &'a str,
    /// Decoding threads.
    pub threads: usize,
    /// The JSON parser's SIMD path (`AVX2`, `NEON`, ...), to see what ran, not assume it.
    pub simd_json: &'a str,
    /// The function's name, the metrics' dimension.
    pub function_name: &'a str,
    /// Wall time of the handler, from the event's bytes to the response.
    pub elapsed_ms: f64,
}

#[derive(Serialize)]
struct Summary<'a> {
    kind: &'static str,
    #[serde(rename = "_aws")]
    aws: Emf,
    function_name: &'a str,
    request_id: &'a str,
    source: &'a str,
    records: u64,
    data_records: u64,
    control_records: u64,
    failed_records: u64,
    deferred_records: u64,
    log_events: u64,
    parsed_events: u64,
    unparsed_events: u64,
    blank_lines: u64,
    matched_events: u64,
    delivered_events: u64,
    delivery_retries: u64,
    quarantined: u64,
    failed_by_kind: &'a BTreeMap<&'static str, u64>,
    unparsed_by_reason: &'a BTreeMap<&'static str, u64>,
    balanced: bool,
    threads: usize,
    simd_json: &'a str,
    elapsed_ms: f64,
}

/// The `_aws` member of an Embedded Metric Format line.
#[derive(Serialize)]
struct Emf {
    #[serde(rename = "Timestamp")]
    timestamp: u128,
    #[serde(rename = "CloudWatchMetrics")]
    metrics: [EmfDirective; 1],
}

#[derive(Serialize)]
struct EmfDirective {
    #[serde(rename = "Namespace")]
    namespace: &'static str,
    #[serde(rename = "Dimensions")]
    dimensions: [[&'static str; 1]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<EmfMetric>,
}

#[derive(Serialize)]
struct EmfMetric {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

/// The summary keys CloudWatch turns into metrics, with their units.
pub const METRICS: [(&str, &str); 9] = [
    ("records", "Count"),
    ("parsed_events", "Count"),
    ("unparsed_events", "Count"),
    ("failed_records", "Count"),
    ("quarantined", "Count"),
    ("delivered_events", "Count"),
    ("delivery_retries", "Count"),
    ("deferred_records", "Count"),
    ("elapsed_ms", "Milliseconds"),
];

/// Appends the summary line of an invocation.
pub fn summary(out: &mut Vec<u8>, invocation: &Invocation<'_>, tally: &Tally) {
    let r = &tally.report;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let line = Summary {
        kind: "summary",
        aws: Emf {
            timestamp: now_ms,
            metrics: [EmfDirective {
                namespace: "rdsaudit",
                dimensions: [["function_name"]],
                metrics: METRICS
                    .iter()
                    .map(|&(name, unit)| EmfMetric { name, unit })
                    .collect(),
            }],
        },
        function_name: invocation.function_name,
        request_id: invocation.request_id,
        source: invocation.source,
        records: tally.input_records,
        data_records: r.data_records,
        control_records: r.control_records,
        failed_records: r.failed_records,
        deferred_records: tally.deferred_records,
        log_events: r.log_events,
        parsed_events: r.parsed_events,
        unparsed_events: r.unparsed_events,
        blank_lines: r.blank_lines,
        matched_events: tally.matched_events,
        delivered_events: tally.delivered_events,
        delivery_retries: tally.delivery_retries,
        quarantined: tally.quarantined,
        failed_by_kind: &r.failed_by_kind,
        unparsed_by_reason: &r.unparsed_by_reason,
        balanced: tally.is_balanced(),
        threads: invocation.threads,
        simd_json: invocation.simd_json,
        elapsed_ms: invocation.elapsed_ms,
    };
    push(out, &line);
}

fn push(out: &mut Vec<u8>, line: &impl Serialize) {
    // Serialising these structs (string keys, finite numbers) into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, line).is_ok() {
        out.push(b'\n');
    }
}

/// Writes `out` to stdout in one locked write and clears it.
pub fn flush(out: &mut Vec<u8>) {
    if out.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(out).and_then(|()| stdout.flush()) {
        // Nowhere else to write: say so where the runtime's own messages go.
        eprintln!("rdsaudit: cannot write {} bytes to stdout: {e}", out.len());
    }
    out.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdsaudit::quarantine::{EntryKind, read_entries};

    #[test]
    fn the_summary_is_embedded_metric_format() {
        let mut tally = Tally {
            input_records: 3,
            quarantined: 1,
            ..Tally::default()
        };
        tally.report.records = 3;
        tally.report.data_records = 3;
        let invocation = Invocation {
            request_id: "r",
            source: "kinesis",
            threads: 2,
            simd_json: "AVX2",
            function_name: "rdsaudit",
            elapsed_ms: 1.5,
        };
        let mut out = Vec::new();
        summary(&mut out, &invocation, &tally);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"][0][0], "function_name");
        assert_eq!(v["function_name"], "rdsaudit");
        // Every metric named in the directive is a number at the top level, as EMF requires.
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name}");
        }
        assert_eq!(
            (v["records"].as_u64(), v["quarantined"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(v["balanced"], true);
    }

    #[test]
    fn a_large_entry_is_logged_in_lines_under_the_event_limit() {
        let payload = "H4sI".repeat(200_000);
        let entry = Entry {
            id: "req-1-0",
            request_id: Some("req-1"),
            kind: EntryKind::Record,
            error_kind: "gzip",
            reason: "gzip: bad",
            record_index: Some(0),
            sequence_number: Some("1"),
            partition_key: None,
            log_group: None,
            log_stream: None,
            event_id: None,
            payload: payload.as_bytes(),
        };
        let mut doc = Vec::new();
        rdsaudit::quarantine::write_entry(&entry, &mut doc);
        let mut out = Vec::new();
        quarantine_lines(&entry, &doc, &mut out);
        let lines: Vec<&[u8]> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(lines.len() >= 4, "{}", lines.len());
        assert!(lines.iter().all(|l| l.len() <= LOG_EVENT_MAX));
        let read = read_entries(&out);
        assert_eq!(read.entries[0].payload, payload.as_bytes());
    }
}
