//! The structured lines the function writes besides the events: a malformed record, an
//! unparsed log event, and one summary per invocation. Each is one JSON object on one line with
//! a `kind` key; event lines (see `rdsaudit::sink`) never have a `kind` key, so a consumer of
//! the log stream tells them apart by it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use rdsaudit::input::{Payload, SourceRecord};
use rdsaudit::report::{RecordError, Report};
use rdsaudit::sink::UnparsedLine;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// How much base64 of a malformed record's payload is logged: 64 KiB of text (48 KiB of
/// payload) keeps the line far below CloudWatch Logs' 256 KB event limit.
pub const PAYLOAD_LOG_CAP: usize = 64 << 10;

/// What the function did with a record that could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Logged and counted; the batch goes on.
    Quarantine,
    /// Reported in `batchItemFailures`: Lambda retries from this record.
    Retry,
    /// The whole invocation returns an error (a direct CloudWatch Logs event in `fail` mode).
    FailInvocation,
}

#[derive(Serialize)]
struct MalformedRecord<'a> {
    kind: &'static str,
    action: Action,
    sequence_number: Option<&'a str>,
    event_id: Option<&'a str>,
    partition_key: Option<&'a str>,
    encryption_type: Option<&'a str>,
    error_kind: &'static str,
    reason: String,
    /// Length of the payload as base64 text (what the event carried).
    payload_base64_len: Option<usize>,
    /// SHA-256 (hex) of the whole base64 text, so a capped payload can still be matched.
    payload_sha256: Option<String>,
    /// At most [`PAYLOAD_LOG_CAP`] bytes of the base64 text, cut on a 4-byte boundary so the
    /// prefix still decodes.
    payload_base64: Option<Cow<'a, str>>,
    payload_truncated: bool,
}

/// Appends the line for a record that could not be decoded.
pub fn malformed_record(
    out: &mut Vec<u8>,
    record: &SourceRecord<'_>,
    error: &RecordError,
    action: Action,
) {
    let text = payload_base64(&record.payload);
    let shown = text.as_deref().map(|t| {
        let cut = t.len().min(PAYLOAD_LOG_CAP / 4 * 4);
        String::from_utf8_lossy(t.get(..cut).unwrap_or(t))
    });
    let line = MalformedRecord {
        kind: "malformed_record",
        action,
        sequence_number: record.sequence_number,
        event_id: record.event_id,
        partition_key: record.partition_key,
        encryption_type: record.encryption_type,
        error_kind: error.kind(),
        reason: error.to_string(),
        payload_base64_len: text.as_ref().map(|t| t.len()),
        payload_sha256: text.as_deref().map(sha256_hex),
        payload_truncated: text
            .as_ref()
            .is_some_and(|t| t.len() > PAYLOAD_LOG_CAP / 4 * 4),
        payload_base64: shown,
    };
    push(out, &line);
}

/// The payload as base64 text: Lambda events already carry base64, other payloads are encoded.
fn payload_base64<'a>(payload: &Payload<'a>) -> Option<Cow<'a, [u8]>> {
    match *payload {
        Payload::Base64(b64) => Some(Cow::Borrowed(b64)),
        Payload::Gzip(bytes) | Payload::Json(bytes) => Some(Cow::Owned(
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into_bytes(),
        )),
        Payload::Invalid(_) => None,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize)]
struct UnparsedEvent<'a> {
    kind: &'static str,
    sequence_number: Option<&'a str>,
    event_id: Option<&'a str>,
    reason: String,
    excerpt: &'a str,
}

/// How much of an unparsed log event its line quotes.
const EXCERPT_LEN: usize = 160;

/// Appends the line for a log event that is not an audit line.
pub fn unparsed_event(out: &mut Vec<u8>, u: &UnparsedLine<'_>) {
    let line = UnparsedEvent {
        kind: "unparsed_event",
        sequence_number: u.sequence_number,
        event_id: u.event_id,
        reason: u.reason.to_string(),
        excerpt: &String::from_utf8_lossy(u.bytes.get(..EXCERPT_LEN).unwrap_or(u.bytes)),
    };
    push(out, &line);
}

/// The accounting of one invocation.
#[derive(Debug, Default)]
pub struct Tally {
    /// Records that were read and counted (records before the retry point).
    pub report: Report,
    /// Records in the event.
    pub input_records: u64,
    /// Records after the one reported for retry: Lambda delivers them again, so their events
    /// are not written now.
    pub deferred_records: u64,
    pub quarantined_records: u64,
    pub retried_records: u64,
    pub matched_events: u64,
}

impl Tally {
    /// Every record is either counted in the report or deferred, and the report adds up.
    pub fn is_balanced(&self) -> bool {
        self.report.is_balanced()
            && self.report.records + self.deferred_records == self.input_records
    }
}

/// What an invocation was, besides its counts.
#[derive(Debug)]
pub struct Invocation<'a> {
    pub request_id: &'a str,
    /// `kinesis` or `awslogs`.
    pub source: &'a str,
    pub threads: usize,
    /// The JSON parser's SIMD path (`AVX2`, `NEON`, ...), to see what ran, not assume it.
    pub simd_json: &'a str,
    pub elapsed_ms: f64,
}

#[derive(Serialize)]
struct Summary<'a> {
    kind: &'static str,
    request_id: &'a str,
    source: &'a str,
    records: u64,
    data_records: u64,
    control_records: u64,
    failed_records: u64,
    quarantined_records: u64,
    retried_records: u64,
    deferred_records: u64,
    log_events: u64,
    parsed_events: u64,
    unparsed_events: u64,
    matched_events: u64,
    failed_by_kind: &'a BTreeMap<&'static str, u64>,
    unparsed_by_reason: &'a BTreeMap<&'static str, u64>,
    balanced: bool,
    threads: usize,
    simd_json: &'a str,
    elapsed_ms: f64,
}

/// Appends the summary line of an invocation.
pub fn summary(out: &mut Vec<u8>, invocation: &Invocation<'_>, tally: &Tally) {
    let r = &tally.report;
    let line = Summary {
        kind: "summary",
        request_id: invocation.request_id,
        source: invocation.source,
        records: tally.input_records,
        data_records: r.data_records,
        control_records: r.control_records,
        failed_records: r.failed_records,
        quarantined_records: tally.quarantined_records,
        retried_records: tally.retried_records,
        deferred_records: tally.deferred_records,
        log_events: r.log_events,
        parsed_events: r.parsed_events,
        unparsed_events: r.unparsed_events,
        matched_events: tally.matched_events,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rdsaudit::input::SourceError;

    fn parse(out: &[u8]) -> serde_json::Value {
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(out).unwrap()
    }

    #[test]
    fn a_long_payload_is_capped_on_a_base64_boundary() {
        let text = "QUJD".repeat(PAYLOAD_LOG_CAP / 4 + 10) + "QQ==";
        let mut record = SourceRecord::new(Payload::Base64(text.as_bytes()));
        record.sequence_number = Some("49630000000000000000000000000000000000000000000000000007");
        let error = RecordError::Base64(SourceError::Base64 {
            offset: Some(3),
            reason: "x".into(),
        });
        let mut out = Vec::new();
        malformed_record(&mut out, &record, &error, Action::Quarantine);
        let v = parse(&out);
        assert_eq!(v["kind"], "malformed_record");
        assert_eq!(v["action"], "quarantine");
        assert_eq!(v["error_kind"], "base64");
        assert_eq!(v["payload_truncated"], true);
        assert_eq!(v["payload_base64_len"], text.len());
        let shown = v["payload_base64"].as_str().unwrap();
        assert_eq!(shown.len(), PAYLOAD_LOG_CAP);
        assert!(
            base64::engine::general_purpose::STANDARD
                .decode(shown)
                .is_ok()
        );
        assert_eq!(v["payload_sha256"], sha256_hex(text.as_bytes()));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_shape_error_has_no_payload() {
        let record = SourceRecord::new(Payload::Invalid(
            rdsaudit::input::RecordProblem::MissingData,
        ));
        let mut out = Vec::new();
        malformed_record(
            &mut out,
            &record,
            &RecordError::Shape(rdsaudit::input::RecordProblem::MissingData),
            Action::Retry,
        );
        let v = parse(&out);
        assert_eq!(v["action"], "retry");
        assert_eq!(v["payload_base64"], serde_json::Value::Null);
        assert_eq!(v["payload_truncated"], false);
    }
}
