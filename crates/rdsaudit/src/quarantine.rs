//! The quarantine format: how a record that could not be read, or a log event that is not an
//! audit line, is kept whole so it can be found, fixed and replayed (`rdsaudit replay`).
//!
//! An entry is one JSON object (the *document*, no newline):
//!
//! ```json
//! {"kind":"quarantine","version":1,"id":"shardId-000000000000-4963…0007-record","request_id":"8c2f…","entry":"record",
//!  "error_kind":"gzip","reason":"gzip: invalid gzip data","record_index":3,
//!  "sequence_number":"49630000000000000000000000000000000000000000000000000007",
//!  "payload_encoding":"text","payload":"H4sIAAAAAAAA/…"}
//! ```
//!
//! - `entry`: `record` (the payload is the record's data exactly as delivered: the base64 text
//!   of a Kinesis record or an `awslogs.data`; a record whose shape is wrong: its JSON as in the event), `line` (the payload is the CloudWatch log
//!   event's whole message, with `log_group`, `log_stream` and `event_id`) or `event` (the
//!   payload is a decoded event's NDJSON object that a destination could not take whole).
//! - `payload_encoding`: `text` (the payload string is the exact bytes, UTF-8) or `base64`
//!   (bytes that are not UTF-8, base64-encoded).
//! - Keys with no value are left out.
//!
//! Where an entry must fit a size limit (a CloudWatch Logs event: 256 KB; an SQS message:
//! 256 KiB), [`write_parts`] cuts the document into *parts*
//! `{"kind":"quarantine_part","id":"…","part":1,"parts":3,"data":"<piece of the document>"}`;
//! [`read_entries`] puts them back together. Nothing is ever truncated.

use std::collections::BTreeMap;

use base64::Engine as _;
use simd_json::prelude::*;

use crate::sink::json_str;

/// The version written in every document.
pub const FORMAT_VERSION: u64 = 1;

/// A CloudWatch Logs event is at most 256 KB (262,144 bytes) including 26 bytes of overhead
/// ("PutLogEvents" quotas, AWS CloudWatch Logs User Guide).
pub const LOG_EVENT_MAX: usize = 262_144 - 26;

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A whole record's payload as delivered.
    Record,
    /// One log event's whole message.
    Line,
    /// One decoded event's NDJSON object that a destination cannot take (larger than the
    /// service's message limit).
    Event,
}

impl EntryKind {
    /// `record` or `line`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Record => "record",
            EntryKind::Line => "line",
            EntryKind::Event => "event",
        }
    }
}

/// One quarantined item, borrowed from the input (written with [`write_entry`]).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Unique per entry, and the same when the same input is quarantined again (a retry
    /// rewrites its S3 object, SQS FIFO drops its copy): in the Lambda, `<shard id>-<sequence
    /// number>-record`, `-line-<n>` (the record's n-th log event that is not an audit line) or
    /// `-event-<de-duplication id>`, and `<request id>-<record index>-...` for a record without
    /// a sequence number (a direct `awslogs` event); the CLI's `--rejects` numbers its own.
    pub id: &'a str,
    /// The Lambda request id of the invocation that quarantined it.
    pub request_id: Option<&'a str>,
    /// Record or line.
    pub kind: EntryKind,
    /// A short, stable name of the error (`gzip`, `Timestamp`, ...).
    pub error_kind: &'a str,
    /// The whole error message.
    pub reason: &'a str,
    /// 0-based index of the record in the invocation's batch.
    pub record_index: Option<usize>,
    /// `kinesis.sequenceNumber` of the record.
    pub sequence_number: Option<&'a str>,
    /// `kinesis.partitionKey` of the record.
    pub partition_key: Option<&'a str>,
    /// CloudWatch Logs log group (lines).
    pub log_group: Option<&'a str>,
    /// CloudWatch Logs log stream (lines).
    pub log_stream: Option<&'a str>,
    /// CloudWatch Logs event id (lines).
    pub event_id: Option<&'a str>,
    /// The exact bytes kept: the record's data or the log event's message.
    pub payload: &'a [u8],
}

/// Appends the document of `entry` (one JSON object, no newline) to `out`.
pub fn write_entry(entry: &Entry<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":\"quarantine\",\"version\":");
    out.extend_from_slice(FORMAT_VERSION.to_string().as_bytes());
    key_str(out, "id", Some(entry.id));
    key_str(out, "request_id", entry.request_id);
    key_str(out, "entry", Some(entry.kind.as_str()));
    key_str(out, "error_kind", Some(entry.error_kind));
    key_str(out, "reason", Some(entry.reason));
    if let Some(index) = entry.record_index {
        out.extend_from_slice(b",\"record_index\":");
        out.extend_from_slice(index.to_string().as_bytes());
    }
    key_str(out, "sequence_number", entry.sequence_number);
    key_str(out, "partition_key", entry.partition_key);
    key_str(out, "log_group", entry.log_group);
    key_str(out, "log_stream", entry.log_stream);
    key_str(out, "event_id", entry.event_id);
    match std::str::from_utf8(entry.payload) {
        Ok(text) => {
            key_str(out, "payload_encoding", Some("text"));
            key_str(out, "payload", Some(text));
        }
        Err(_) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(entry.payload);
            key_str(out, "payload_encoding", Some("base64"));
            key_str(out, "payload", Some(&b64));
        }
    }
    out.push(b'}');
}

fn key_str(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.push(b',');
        json_str(out, key);
        out.push(b':');
        json_str(out, value);
    }
}

/// Calls `emit` with the lines that carry `document` (written by [`write_entry`]) within
/// `limit` bytes each: the document itself when it fits, else numbered parts. `limit` must
/// leave room for a part's keys (at least 1 KiB).
pub fn write_parts(id: &str, document: &[u8], limit: usize, mut emit: impl FnMut(&[u8])) {
    if document.len() <= limit {
        emit(document);
        return;
    }
    // A document is compact JSON: no raw control bytes, so escaping a piece at most doubles
    // it. The overhead covers the keys, the id and the part numbers.
    let overhead = 96 + 2 * id.len();
    let piece_max = (limit.saturating_sub(overhead) / 2).max(1);
    let text = String::from_utf8_lossy(document);
    let pieces = split_at_chars(&text, piece_max);
    let mut line = Vec::with_capacity(limit);
    for (n, piece) in pieces.iter().enumerate() {
        line.clear();
        line.extend_from_slice(b"{\"kind\":\"quarantine_part\",\"id\":");
        json_str(&mut line, id);
        line.extend_from_slice(
            format!(",\"part\":{},\"parts\":{},\"data\":", n + 1, pieces.len()).as_bytes(),
        );
        json_str(&mut line, piece);
        line.push(b'}');
        emit(&line);
    }
}

/// Cuts `text` into pieces of at most `max` bytes (at least one character each), on character
/// boundaries.
fn split_at_chars(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = max.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (piece, after) = rest.split_at(cut);
        pieces.push(piece);
        rest = after;
    }
    pieces
}

/// A quarantined item read back (see [`read_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    /// The entry's id.
    pub id: String,
    /// Record or line.
    pub kind: EntryKind,
    /// A short, stable name of the error.
    pub error_kind: String,
    /// The whole error message.
    pub reason: String,
    /// `kinesis.sequenceNumber`, when known.
    pub sequence_number: Option<String>,
    /// CloudWatch Logs log group (lines).
    pub log_group: Option<String>,
    /// CloudWatch Logs log stream (lines).
    pub log_stream: Option<String>,
    /// CloudWatch Logs event id (lines).
    pub event_id: Option<String>,
    /// The exact bytes kept.
    pub payload: Vec<u8>,
}

/// Why quarantine input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    /// A document lacks a key or has a wrong value.
    #[error("quarantine entry {id:?}: {problem}")]
    BadEntry {
        /// The entry's id, when it has one.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// Some parts of an entry are missing.
    #[error("quarantine entry {id:?}: {have} of {parts} parts found")]
    MissingParts {
        /// The entry's id.
        id: String,
        /// Parts found.
        have: usize,
        /// Parts announced.
        parts: usize,
    },
}

/// What [`read_entries`] found.
#[derive(Debug, Default)]
pub struct ReadEntries {
    /// Complete entries, in the order their document (or last part) was found.
    pub entries: Vec<OwnedEntry>,
    /// Entries that could not be read, with the reason.
    pub errors: Vec<QuarantineError>,
    /// Lines that held no quarantine JSON (events, summaries, other log lines).
    pub other_lines: u64,
}

/// Reads quarantine entries from any mix of what the writers produce or the AWS CLI prints:
/// documents (S3 objects), lines of the function log (also with a `aws logs tail` prefix
/// before the JSON), the JSON of `aws logs filter-log-events` / `get-log-events` (`events[]
/// .message`) and of `aws sqs receive-message` (`Messages[].Body`). Parts are put back
/// together by id and part number.
#[must_use]
pub fn read_entries(input: &[u8]) -> ReadEntries {
    let mut found = Found::default();
    // A whole JSON file (an AWS CLI answer or one S3 object), else one JSON value per line.
    let mut whole = input.to_vec();
    match simd_json::to_owned_value(&mut whole) {
        Ok(value) => found.value_of(&value, input),
        Err(_) => {
            for line in input.split(|&b| b == b'\n') {
                found.line(line);
            }
        }
    }
    found.finish()
}

#[derive(Default)]
struct Found {
    out: ReadEntries,
    /// Parts by entry id: announced count and pieces by part number.
    parts: BTreeMap<String, (usize, BTreeMap<usize, String>)>,
}

impl Found {
    fn line(&mut self, line: &[u8]) {
        let Some(start) = memchr::memchr(b'{', line) else {
            if !line.iter().all(u8::is_ascii_whitespace) {
                self.out.other_lines += 1;
            }
            return;
        };
        let text = line.get(start..).unwrap_or_default();
        let mut json = text.to_vec();
        match simd_json::to_owned_value(&mut json) {
            Ok(value) => self.value_of(&value, text),
            Err(_) if looks_like_an_entry(text) => self.out.errors.push(bad(
                "",
                "a line that holds an entry's keys does not read as JSON (cut short?)",
            )),
            Err(_) => self.out.other_lines += 1,
        }
    }

    /// [`Found::value`] of a line's JSON `text`: an object of another kind that holds an
    /// entry's keys is an entry that does not read (its `kind` damaged), not another line.
    fn value_of(&mut self, v: &simd_json::OwnedValue, text: &[u8]) {
        let kind = v.get("kind").and_then(|k| k.as_str());
        let entry_kind = matches!(kind, Some("quarantine" | "quarantine_part"));
        let wrapper = v.get("events").is_some() || v.get("Messages").is_some();
        if !entry_kind && !wrapper && looks_like_an_entry(text) {
            let id = v.get("id").and_then(|x| x.as_str()).unwrap_or_default();
            self.out.errors.push(bad(
                id,
                "an object with an entry's keys whose kind is not quarantine",
            ));
            return;
        }
        self.value(v);
    }

    fn value(&mut self, v: &simd_json::OwnedValue) {
        // AWS CLI answers wrap the lines: CloudWatch Logs events and SQS messages.
        for (list, field) in [("events", "message"), ("Messages", "Body")] {
            if let Some(items) = v.get(list).and_then(|l| l.as_array()) {
                for item in items {
                    match item.get(field).and_then(|t| t.as_str()) {
                        Some(text) => self.line(text.as_bytes()),
                        // An item whose field is damaged or not a string may still hold an
                        // entry (review 31: one given as an object was dropped, exit 0).
                        None => self.item(item),
                    }
                }
                return;
            }
        }
        match v.get("kind").and_then(|k| k.as_str()) {
            Some("quarantine") => match entry(v) {
                Ok(e) => self.out.entries.push(e),
                Err(e) => self.out.errors.push(e),
            },
            Some("quarantine_part") => self.part(v),
            _ => self.out.other_lines += 1,
        }
    }

    /// An AWS CLI answer's item without its `message` / `Body` string: an unreadable entry when
    /// its text (strings' quotes unescaped) holds an entry's keys, else another line.
    fn item(&mut self, item: &simd_json::OwnedValue) {
        let text = item.to_string().replace("\\\"", "\"");
        if looks_like_an_entry(text.as_bytes()) {
            self.out.errors.push(bad(
                "",
                "an AWS CLI answer's item holds an entry's keys but no message or Body string",
            ));
        } else {
            self.out.other_lines += 1;
        }
    }

    fn part(&mut self, v: &simd_json::OwnedValue) {
        let id = v.get("id").and_then(|x| x.as_str()).unwrap_or_default();
        let part = v.get("part").and_then(|x| x.as_u64());
        let parts = v.get("parts").and_then(|x| x.as_u64());
        let data = v.get("data").and_then(|x| x.as_str());
        let (Some(part), Some(parts), Some(data)) = (part, parts, data) else {
            self.out
                .errors
                .push(bad(id, "a part needs part, parts and data"));
            return;
        };
        let (announced, pieces) = self.parts.entry(id.to_owned()).or_insert_with(|| {
            (
                usize::try_from(parts).unwrap_or(usize::MAX),
                BTreeMap::new(),
            )
        });
        pieces.insert(usize::try_from(part).unwrap_or(usize::MAX), data.to_owned());
        if pieces.len() == *announced {
            let document: String = pieces.values().map(String::as_str).collect();
            self.parts.remove(id);
            let mut bytes = document.into_bytes();
            match simd_json::to_owned_value(&mut bytes) {
                Ok(value) => self.value(&value),
                Err(e) => self
                    .out
                    .errors
                    .push(bad(id, &format!("parts do not join into JSON: {e}"))),
            }
        }
    }

    fn finish(mut self) -> ReadEntries {
        for (id, (parts, pieces)) in std::mem::take(&mut self.parts) {
            self.out.errors.push(QuarantineError::MissingParts {
                id,
                have: pieces.len(),
                parts,
            });
        }
        self.out
    }
}

/// Whether `text` holds what only an entry or its part holds: their `kind`, or an entry's
/// `payload_encoding` key (a function log's pointer lines, `"kind":"quarantined"`, and
/// summaries hold neither).
fn looks_like_an_entry(text: &[u8]) -> bool {
    [
        &b"\"kind\":\"quarantine\""[..],
        b"\"kind\":\"quarantine_part\"",
        b"\"payload_encoding\"",
    ]
    .iter()
    .any(|key| memchr::memmem::find(text, key).is_some())
}

fn bad(id: &str, problem: &str) -> QuarantineError {
    QuarantineError::BadEntry {
        id: id.to_owned(),
        problem: problem.to_owned(),
    }
}

fn entry(v: &simd_json::OwnedValue) -> Result<OwnedEntry, QuarantineError> {
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_owned);
    let id = text("id").unwrap_or_default();
    let kind = match v.get("entry").and_then(|x| x.as_str()) {
        Some("record") => EntryKind::Record,
        Some("line") => EntryKind::Line,
        Some("event") => EntryKind::Event,
        other => {
            return Err(bad(
                &id,
                &format!("entry is {other:?}, expected record or line"),
            ));
        }
    };
    let payload = text("payload").ok_or_else(|| bad(&id, "no payload"))?;
    let payload = match v.get("payload_encoding").and_then(|x| x.as_str()) {
        Some("text") | None => payload.into_bytes(),
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| bad(&id, &format!("payload is not base64: {e}")))?,
        Some(other) => return Err(bad(&id, &format!("unknown payload_encoding {other:?}"))),
    };
    Ok(OwnedEntry {
        kind,
        error_kind: text("error_kind").unwrap_or_default(),
        reason: text("reason").unwrap_or_default(),
        sequence_number: text("sequence_number"),
        log_group: text("log_group"),
        log_stream: text("log_stream"),
        event_id: text("event_id"),
        payload,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(id: &'a str, payload: &'a [u8]) -> Entry<'a> {
        Entry {
            id,
            request_id: Some("req-1"),
            kind: EntryKind::Record,
            error_kind: "gzip",
            reason: "gzip: \"bad\" data,\nsecond line",
            record_index: Some(3),
            sequence_number: Some("49630000000000000000000000000000000000000000000000000007"),
            partition_key: None,
            log_group: None,
            log_stream: None,
            event_id: None,
            payload,
        }
    }

    #[test]
    fn a_document_reads_back_whole() {
        let payload = b"H4sI#not*base64 ,'\\\" \xe2\x82\xac";
        let mut doc = Vec::new();
        write_entry(&record("req-1-0", payload), &mut doc);
        let read = read_entries(&doc);
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        let e = &read.entries[0];
        assert_eq!(
            (e.kind, e.payload.as_slice()),
            (EntryKind::Record, &payload[..])
        );
        assert_eq!(e.reason, "gzip: \"bad\" data,\nsecond line");
        assert_eq!(
            e.sequence_number.as_deref(),
            Some("49630000000000000000000000000000000000000000000000000007")
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_go_as_base64() {
        let payload = b"\xff\xfe1653053459680124,h,u";
        let mut doc = Vec::new();
        write_entry(
            &Entry {
                kind: EntryKind::Line,
                ..record("x", payload)
            },
            &mut doc,
        );
        assert!(std::str::from_utf8(&doc).is_ok());
        let read = read_entries(&doc);
        assert_eq!(read.entries[0].payload, payload);
        assert_eq!(read.entries[0].kind, EntryKind::Line);
    }

    #[test]
    fn parts_stay_under_the_limit_and_join_in_any_order() {
        // Quotes and multi-byte characters make escaping and char boundaries matter.
        let payload: Vec<u8> = "\"é€,'\\".repeat(40_000).into_bytes();
        let mut doc = Vec::new();
        write_entry(&record("req-1-7", &payload), &mut doc);
        let mut lines = Vec::new();
        write_parts("req-1-7", &doc, 4096, |l| lines.push(l.to_vec()));
        assert!(lines.len() > 10);
        assert!(
            lines.iter().all(|l| l.len() <= 4096),
            "a part exceeds the limit"
        );
        lines.reverse();
        let mut log = Vec::new();
        for l in &lines {
            log.extend_from_slice(b"2026-11-30T05:00:00.000Z 2026/11/30/[$LATEST]abc ");
            log.extend_from_slice(l);
            log.push(b'\n');
        }
        log.extend_from_slice(b"{\"kind\":\"summary\"}\n");
        let read = read_entries(&log);
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        assert_eq!(read.entries.len(), 1);
        assert_eq!(read.entries[0].payload, payload);
        assert_eq!(read.other_lines, 1);
    }

    #[test]
    fn a_missing_part_is_reported() {
        let payload = vec![b'A'; 10_000];
        let mut doc = Vec::new();
        write_entry(&record("r", &payload), &mut doc);
        let mut lines = Vec::new();
        write_parts("r", &doc, 2048, |l| lines.push(l.to_vec()));
        lines.remove(1);
        let read = read_entries(&lines.join(&b'\n'));
        assert!(read.entries.is_empty());
        assert!(matches!(
            read.errors[0],
            QuarantineError::MissingParts { .. }
        ));
    }

    #[test]
    fn aws_cli_answers_are_unwrapped() {
        let mut doc = Vec::new();
        write_entry(&record("s", b"QUJD"), &mut doc);
        let doc = String::from_utf8(doc).unwrap();
        let sqs = simd_json::json!({"Messages": [{"MessageId": "1", "Body": doc.clone()}]});
        let logs = simd_json::json!({"events": [{"timestamp": 1, "message": doc}], "searchedLogStreams": []});
        for answer in [sqs, logs] {
            let read = read_entries(simd_json::to_string(&answer).unwrap().as_bytes());
            assert_eq!(read.entries.len(), 1, "{answer:?}");
            assert_eq!(read.entries[0].payload, b"QUJD");
        }
    }
}
