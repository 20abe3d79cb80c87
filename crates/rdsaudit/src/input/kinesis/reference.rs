//! The simd-json tape walk the Kinesis event was read with before [`super::parse_kinesis_event`]
//! walked the text itself: kept as the oracle its property tests compare it to.

use simd_json::StaticNode;
use simd_json::tape::Node;

use crate::input::json::array_elements;
use crate::input::json::{MAX_EVENT_VALUES, TapeParser, kind, object_entries};
use crate::input::{Payload, RecordProblem, SourceError, SourceRecord};

/// The event's records as simd-json's tape gives them.
pub(crate) fn parse_kinesis_event<'a>(
    buf: &'a mut [u8],
    len: usize,
    json: &mut TapeParser,
) -> Result<Vec<SourceRecord<'a>>, SourceError> {
    crate::input::json::neutralize_wide_numbers(buf.get_mut(..len).unwrap_or_default());
    json.parse_padded(buf, len, MAX_EVENT_VALUES, |tape| {
        let records_at =
            field(tape, 0, "Records", "Records")?.ok_or(SourceError::MissingField("Records"))?;
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
    let kinesis_objects = entries(tape, at).filter(|(k, _)| *k == "kinesis").count();
    for (key, v) in entries(tape, at) {
        match key {
            "eventID" => rec.event_id = string_at(tape, v),
            "kinesis" => match tape.get(v) {
                Some(Node::Object { .. }) => {
                    rec.payload = Payload::Invalid(RecordProblem::MissingData);
                    let twice = twice_in(tape, v, "data", "sequenceNumber");
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
                            "sequenceNumber" => {
                                rec.sequence_number = rec.sequence_number.or(string_at(tape, v));
                            }
                            "partitionKey" => rec.partition_key = string_at(tape, v),
                            "encryptionType" => rec.encryption_type = string_at(tape, v),
                            "approximateArrivalTimestamp" => {
                                rec.approximate_arrival_timestamp = number_at(tape, v);
                            }
                            _ => {}
                        }
                    }
                    if let Some(key) = twice {
                        let name = if key == "data" {
                            "kinesis.data"
                        } else {
                            "kinesis.sequenceNumber"
                        };
                        rec.payload = Payload::Invalid(RecordProblem::DuplicateField(name));
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
    if kinesis_objects > 1 {
        rec.payload = Payload::Invalid(RecordProblem::DuplicateField("kinesis"));
    }
    if rec.payload == Payload::Invalid(RecordProblem::MissingKinesis) {
        return flat_record(tape, at).unwrap_or(rec);
    }
    // Both shapes: the Lambda reading failed, its sequence number kept, else the flat one's.
    let keys: Vec<_> = entries(tape, at).map(|(k, _)| k).collect();
    let flat_key = ["Data", "SequenceNumber"]
        .into_iter()
        .find(|k| keys.contains(k));
    if let (Some(key), Some(flat)) = (flat_key, flat_record(tape, at)) {
        rec.payload = Payload::Invalid(RecordProblem::TwoShapes(key));
        rec.sequence_number = rec.sequence_number.or(flat.sequence_number);
    }
    rec
}

/// The first of the keys `a` and `b` of the object at `tape[at]` to appear a second time.
fn twice_in(
    tape: &[Node<'_>],
    at: usize,
    a: &'static str,
    b: &'static str,
) -> Option<&'static str> {
    let (mut seen_a, mut seen_b) = (false, false);
    for (key, _) in entries(tape, at) {
        if key == a && std::mem::replace(&mut seen_a, true) {
            return Some(a);
        }
        if key == b && std::mem::replace(&mut seen_b, true) {
            return Some(b);
        }
    }
    None
}

/// The `aws kinesis get-records` record at `tape[at]`, if it has `Data` or `SequenceNumber`.
fn flat_record<'a>(tape: &[Node<'a>], at: usize) -> Option<SourceRecord<'a>> {
    let entries = object_entries(tape, at).ok()?.map_while(Result::ok);
    let mut rec = SourceRecord::new(Payload::Invalid(RecordProblem::MissingField("Data")));
    let mut flat = false;
    for (key, v) in entries {
        let node = tape.get(v);
        flat |= ["Data", "SequenceNumber"].contains(&key);
        match (key, node) {
            ("Data", Some(Node::String(s))) => rec.payload = Payload::Base64(s.as_bytes()),
            ("Data", other) => {
                rec.payload = Payload::Invalid(RecordProblem::NotAString {
                    field: "Data",
                    found: other.map_or("nothing", kind),
                });
            }
            ("SequenceNumber", Some(Node::String(s))) => {
                rec.sequence_number = rec.sequence_number.or(Some(s));
            }
            ("PartitionKey", Some(Node::String(s))) => rec.partition_key = Some(s),
            ("EncryptionType", Some(Node::String(s))) => rec.encryption_type = Some(s),
            ("ApproximateArrivalTimestamp", Some(Node::String(s))) => {
                rec.approximate_arrival_timestamp = crate::input::get_records::iso_seconds(s);
            }
            ("ApproximateArrivalTimestamp", Some(_)) => {
                rec.approximate_arrival_timestamp = number_at(tape, v);
            }
            _ => {}
        }
    }
    if let Some(key) = twice_in(tape, at, "Data", "SequenceNumber") {
        rec.payload = Payload::Invalid(RecordProblem::DuplicateField(key));
    }
    if rec.sequence_number.is_none() && matches!(rec.payload, Payload::Base64(_)) {
        rec.payload = Payload::Invalid(RecordProblem::MissingField("SequenceNumber"));
    }
    flat.then_some(rec)
}

fn string_at<'a>(tape: &[Node<'a>], at: usize) -> Option<&'a str> {
    match tape.get(at) {
        Some(Node::String(s)) => Some(s),
        _ => None,
    }
}

#[allow(clippy::cast_precision_loss)]
fn number_at(tape: &[Node<'_>], at: usize) -> Option<f64> {
    match tape.get(at) {
        Some(Node::Static(StaticNode::F64(f))) => Some(*f),
        Some(Node::Static(StaticNode::I64(i))) => Some(*i as f64),
        Some(Node::Static(StaticNode::U64(u))) => Some(*u as f64),
        _ => None,
    }
}

fn elements<'t>(tape: &'t [Node<'_>], at: usize) -> impl Iterator<Item = usize> + 't {
    array_elements(tape, at)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
}

/// `(key, value index)` pairs of the object at `tape[at]` (empty if it is not an object).
///
/// Lenient on purpose: a record's shape problems are reported per record, never by failing the
/// event, so a malformed tape node (simd-json's own tape; should not happen) ends the walk as
/// if the remaining keys were absent.
fn entries<'t, 'a>(tape: &'t [Node<'a>], at: usize) -> impl Iterator<Item = (&'a str, usize)> + 't {
    object_entries(tape, at)
        .into_iter()
        .flatten()
        .map_while(Result::ok)
}

/// Value index of `key` in the object at `tape[at]`. Errors if `tape[at]` is not an object
/// (only used on the root and on already-checked objects) or holds `key` more than once.
pub(crate) fn field(
    tape: &[Node<'_>],
    at: usize,
    key: &'static str,
    name: &'static str,
) -> Result<Option<usize>, SourceError> {
    match tape.get(at) {
        Some(Node::Object { .. }) => {
            let mut found = entries(tape, at).filter(|(k, _)| *k == key).map(|(_, v)| v);
            let first = found.next();
            match found.next() {
                Some(_) => Err(SourceError::DuplicateField(name)),
                None => Ok(first),
            }
        }
        other => Err(SourceError::NotAnObject {
            found: other.map_or("nothing", kind),
        }),
    }
}
