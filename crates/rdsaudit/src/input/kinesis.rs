//! The Lambda event of a Kinesis event source mapping, the main input shape. It is the Lambda event for a Kinesis event source mapping. Each record's `data` is
//! base64 of the gzip that CloudWatch Logs wrote to the stream:
//!
//! ```json
//! {"Records":[{
//!   "kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"8b1e3c6c8c3c1c1d2b6e0b2f5a4d3c2b",
//!     "sequenceNumber":"49590338271490256608559692538361571095921575989136588898",
//!     "data":"H4sIAAAAAAAA/6VUXW/aMBT9K5af...","approximateArrivalTimestamp":1711200969.123,
//!     "encryptionType":"KMS"},
//!   "eventSource":"aws:kinesis","eventVersion":"1.0",
//!   "eventID":"shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
//!   "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role",
//!   "awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/audit"}]}
//! ```
//!
//! A subscription filter that targets a Lambda directly sends `{"awslogs":{"data":"H4sI..."}}`
//! instead. Files (CLI) can also hold a raw gzip payload, the envelope JSON, or plain audit
//! text; [`detect`] tells them apart by content.
//!
//! Both events are parsed in place with simd-json (the base64 text is borrowed from the event
//! buffer; JSON escapes such as `\/` are undone in place) by walking the tape, so unknown fields
//! are ignored and any `encryptionType` string is accepted (`aws_lambda_events` rejects values
//! other than `NONE`/`KMS` and would fail the whole batch).
//!
//! A record whose own shape is wrong does not fail the event: it becomes a [`SourceRecord`] with
//! [`Payload::Invalid`], keeping its `sequenceNumber` so the Lambda can report it in
//! `batchItemFailures`.
//!
//! ```
//! use rdsaudit::input::{decode_base64, parse_kinesis_event, Payload, SourceParser};
//! let event = br#"{"Records":[
//!   {"eventID":"shardId-000000000000:1","kinesis":{"data":"aGVsbG8=","sequenceNumber":"1","encryptionType":"SOME_NEW_TYPE"}},
//!   {"eventID":"shardId-000000000000:2","kinesis":{"sequenceNumber":"2"}}]}"#;
//! let mut buf = event.to_vec();
//! buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
//! let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new())?;
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[0].encryption_type, Some("SOME_NEW_TYPE"));
//! let Payload::Base64(b64) = records[0].payload else { unreachable!() };
//! let mut out = Vec::new();
//! decode_base64(b64, &mut out)?;
//! assert_eq!(out, b"hello");
//! // The broken record is kept, with its sequence number, for the failure report.
//! assert!(matches!(records[1].payload, Payload::Invalid(_)));
//! assert_eq!(records[1].sequence_number, Some("2"));
//! # Ok::<(), rdsaudit::input::SourceError>(())
//! ```

use simd_json::tape::Node;

use super::json::{MAX_EVENT_VALUES, kind};
use super::record::{
    Payload, RecordProblem, SourceError, SourceParser, SourceRecord, elements, entries, field,
    number_at, string_at,
};

/// Parses a Lambda Kinesis event in place (`buf[..len]` is the JSON, followed by at least
/// `simd_json::INPUT_PADDING` bytes).
///
/// Returns one [`SourceRecord`] per element of `Records`, in order. A record whose own shape is
/// wrong (no `kinesis`, no `data`, `data` not a string, ...) is returned with
/// [`Payload::Invalid`] and whatever metadata it has, so the caller can count it as failed and
/// report its `sequenceNumber`. Metadata fields of the wrong type are treated as absent.
///
/// # Errors
/// Only for an unusable event: invalid JSON, not an object, no `Records` array.
pub fn parse_kinesis_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    parser: &mut SourceParser,
) -> Result<Vec<SourceRecord<'a>>, SourceError> {
    parser
        .json
        .parse_padded(buf, len, MAX_EVENT_VALUES, |tape| {
            let records_at =
                field(tape, 0, "Records")?.ok_or(SourceError::MissingField("Records"))?;
            let count = match tape.get(records_at) {
                Some(Node::Array { len, .. }) => *len,
                other => {
                    return Err(SourceError::WrongType {
                        field: "Records",
                        expected: "an array",
                        found: other.map_or("nothing", kind),
                    });
                }
            };
            let mut records = Vec::with_capacity(count);
            for el in elements(tape, records_at) {
                records.push(kinesis_record(tape, el));
            }
            Ok(records)
        })
}

fn kinesis_record<'a>(tape: &[Node<'a>], at: usize) -> SourceRecord<'a> {
    let mut rec = SourceRecord::new(Payload::Invalid(RecordProblem::MissingKinesis));
    match tape.get(at) {
        Some(Node::Object { .. }) => {}
        other => {
            rec.payload =
                Payload::Invalid(RecordProblem::NotAnObject(other.map_or("nothing", kind)));
            return rec;
        }
    }
    for (key, v) in entries(tape, at) {
        match key {
            "eventID" => rec.event_id = string_at(tape, v),
            "kinesis" => match tape.get(v) {
                Some(Node::Object { .. }) => {
                    rec.payload = Payload::Invalid(RecordProblem::MissingData);
                    for (key, v) in entries(tape, v) {
                        match key {
                            "data" => {
                                rec.payload = match tape.get(v) {
                                    Some(Node::String(s)) => Payload::Base64(s.as_bytes()),
                                    other => Payload::Invalid(RecordProblem::DataNotAString(
                                        other.map_or("nothing", kind),
                                    )),
                                }
                            }
                            "sequenceNumber" => rec.sequence_number = string_at(tape, v),
                            "partitionKey" => rec.partition_key = string_at(tape, v),
                            "encryptionType" => rec.encryption_type = string_at(tape, v),
                            "approximateArrivalTimestamp" => {
                                rec.approximate_arrival_timestamp = number_at(tape, v);
                            }
                            _ => {}
                        }
                    }
                }
                other => {
                    rec.payload = Payload::Invalid(RecordProblem::KinesisNotAnObject(
                        other.map_or("nothing", kind),
                    ));
                }
            },
            _ => {}
        }
    }
    rec
}
