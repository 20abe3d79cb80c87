//! `aws kinesis get-records` output: what a user sees when reading the stream by hand.
//!
//! ```json
//! {"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898",
//!   "ApproximateArrivalTimestamp":"2024-05-01T12:00:00.123000+00:00",
//!   "Data":"H4sIAAAAAAAA/6VUXW/aMBT9K5af...","PartitionKey":"8b1e3c6c","EncryptionType":"KMS"}],
//!  "NextShardIterator":"AAAAAAAAAAF...","MillisBehindLatest":0}
//! ```
//!
//! The same `Records` key as the Lambda event, but each record is flat and capitalised
//! (`Data`, not `kinesis.data`); `Data` is the same base64 of the same gzip payload. AWS CLI
//! v2 prints `ApproximateArrivalTimestamp` as an ISO date, v1 as epoch seconds: both are read.
//! Each element of `Records` is read as whichever shape it has
//! ([`crate::input::parse_kinesis_event`] calls [`record`] for the flat one), so
//! detection only has to tell the two apart for naming the input.

use simd_json::tape::Node;

use crate::input::json::{kind, object_entries};
use crate::input::record::number_at;
use crate::input::{Payload, RecordProblem, SourceRecord};

/// The keys only the flat `get-records` record has.
const FLAT_KEYS: [&str; 2] = ["Data", "SequenceNumber"];

/// Whether `text` (a `{"Records":[...]}` object) holds `get-records` records rather than a
/// Lambda event's: the first record has a `"Data"` or `"SequenceNumber"` key. A peek at the
/// first 4 KiB of text, not a parse; base64 holds no `"`, so the quoted key cannot be data.
#[must_use]
pub fn looks_like_get_records(text: &[u8]) -> bool {
    let head = text.get(..text.len().min(4096)).unwrap_or(text);
    let first_record =
        memchr::memmem::find(head, b"[").map_or(head, |at| head.get(at..).unwrap_or_default());
    let lambda = memchr::memmem::find(first_record, b"\"kinesis\"");
    let flat = [&b"\"Data\""[..], b"\"SequenceNumber\""]
        .iter()
        .filter_map(|k| memchr::memmem::find(first_record, k))
        .min();
    match (flat, lambda) {
        (Some(f), Some(l)) => f < l,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The record at `tape[at]` if it is a flat `get-records` record (it has `Data` or
/// `SequenceNumber`); `None` leaves the caller's own problem report in place.
pub(crate) fn record<'a>(tape: &[Node<'a>], at: usize) -> Option<SourceRecord<'a>> {
    let entries = object_entries(tape, at).ok()?.map_while(Result::ok);
    let mut rec = SourceRecord::new(Payload::Invalid(RecordProblem::MissingField("Data")));
    let mut flat = false;
    for (key, v) in entries {
        let node = tape.get(v);
        flat |= FLAT_KEYS.contains(&key);
        match (key, node) {
            ("Data", Some(Node::String(s))) => rec.payload = Payload::Base64(s.as_bytes()),
            ("Data", other) => {
                rec.payload = Payload::Invalid(RecordProblem::NotAString {
                    field: "Data",
                    found: other.map_or("nothing", kind),
                });
            }
            ("SequenceNumber", Some(Node::String(s))) => rec.sequence_number = Some(s),
            ("PartitionKey", Some(Node::String(s))) => rec.partition_key = Some(s),
            ("EncryptionType", Some(Node::String(s))) => rec.encryption_type = Some(s),
            ("ApproximateArrivalTimestamp", Some(_)) => {
                rec.approximate_arrival_timestamp = arrival_seconds(tape, v);
            }
            _ => {}
        }
    }
    flat.then_some(rec)
}

/// Epoch seconds from a number (CLI v1) or an ISO date string (CLI v2).
#[allow(clippy::cast_precision_loss)] // epoch seconds in an f64, as the Lambda event has them
fn arrival_seconds(tape: &[Node<'_>], at: usize) -> Option<f64> {
    match tape.get(at) {
        Some(Node::String(s)) => crate::audit::iso_time::parse_prefix(s.as_bytes())
            .filter(|t| t.len == s.len())
            .map(|t| t.epoch_us as f64 / 1e6),
        _ => number_at(tape, at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{SourceParser, parse_kinesis_event};
    use crate::test_support::padded;

    const OUTPUT: &str = r#"{
    "Records": [
        {
            "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "ApproximateArrivalTimestamp": "2024-05-01T12:00:00.123000+00:00",
            "Data": "aGVsbG8=",
            "PartitionKey": "8b1e3c6c",
            "EncryptionType": "KMS"
        },
        {"SequenceNumber": "2", "ApproximateArrivalTimestamp": 1714564800.5, "PartitionKey": "p"},
        {"SequenceNumber": "3", "Data": 12}
    ],
    "NextShardIterator": "AAAAAAAAAAFx",
    "MillisBehindLatest": 0
}"#;

    #[test]
    fn every_record_is_read_with_its_metadata() {
        assert!(looks_like_get_records(OUTPUT.as_bytes()));
        assert!(!looks_like_get_records(
            br#"{"Records":[{"kinesis":{"data":"x","sequenceNumber":"1"},"eventID":"Data"}]}"#
        ));
        let (mut buf, len) = padded(OUTPUT.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].payload, Payload::Base64(b"aGVsbG8="));
        assert_eq!(
            records[0].sequence_number,
            Some("49590338271490256608559692538361571095921575989136588898")
        );
        assert_eq!(records[0].partition_key, Some("8b1e3c6c"));
        assert_eq!(records[0].encryption_type, Some("KMS"));
        assert_eq!(
            records[0].approximate_arrival_timestamp,
            Some(1_714_564_800.123)
        );
        assert_eq!(
            records[1].approximate_arrival_timestamp,
            Some(1_714_564_800.5)
        );
        // Broken records keep their sequence number and say what is wrong, by its CLI name.
        assert_eq!(
            records[1].payload,
            Payload::Invalid(RecordProblem::MissingField("Data"))
        );
        assert_eq!(records[2].sequence_number, Some("3"));
        let Payload::Invalid(problem) = records[2].payload else {
            panic!("{:?}", records[2].payload)
        };
        assert_eq!(
            problem.to_string(),
            "`Data` is a number, not a base64 string"
        );
    }
}
