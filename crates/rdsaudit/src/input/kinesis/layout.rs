//! The records of a Lambda Kinesis event as AWS writes them, read in one pass over their
//! exact bytes: compact JSON, the keys always in one order, no escape in any value.
//!
//! ```text
//! {"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"...","sequenceNumber":"...",
//!   "data":"H4sI...","approximateArrivalTimestamp":1711200968.517[,"encryptionType":"KMS"]},
//!  "eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-...:...",
//!  "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:...","awsRegion":"us-east-1",
//!  "eventSourceARN":"arn:..."}
//! ```
//!
//! Why: the event is walked on one thread before its records are decoded, in parallel or
//! not, and the key by key walk ([`super::read_any_record`]) spent ~4,100 instructions on a
//! record of this shape (6,000 one-line records: 13% of the whole process). Here each key is
//! one compare against the key that must come next, each value not kept one short scan.
//!
//! Anything else (another order, an unknown or repeated key, whitespace, an escape, a value
//! of another type, a cut text) makes [`read`] give up before it has written anything
//! ([`Walk::fixed`]), and the record is read key by key from its start: every value, error
//! and count stays that walk's own (a property test compares the two on mutated records).

use std::ops::Range;

use super::{RawPayload, RawRecord, number_value, scaled};
use crate::input::json::walk::{Fixed, Walk};

/// The keys and values of a record of this layout without `encryptionType`, counted
/// against the cap as the key by key walk counts them: `kinesis` and its object (2), the
/// object's five keys and values (10), seven more keys and values (14).
const VALUES: usize = 26;

/// The record at the position (its `{`, whose value [`Walk::value`] counted) when it has
/// the layout, the position then past its `}`; else `None` and the position unmoved. Only
/// for an element of `Records` (two levels deep): the key by key walk's nesting limit,
/// which this does not check, is then never near. `seen` holds the parts the last record
/// read here repeats (kept for the next when this one is read).
pub(super) fn read(walk: &mut Walk<'_>, seen: &mut Seen) -> Option<RawRecord> {
    let (record, parts) = walk.fixed(|fixed| layout(fixed, seen))?;
    *seen = parts;
    Some(record)
}

/// The parts of a record that every record of an event repeats, as the last record read by
/// the layout wrote them (ranges of the event text, behind the walk): the keys and values
/// between the payload and `eventID`'s value, `},"eventSource":"aws:kinesis",
/// "eventVersion":"1.0","eventID":"`, and after it, `","eventName":"aws:kinesis:record",
/// "invokeIdentityArn":"..","awsRegion":"..","eventSourceARN":".."}`. Lambda's records of
/// one batch come from one stream, so a record's parts are most often the same bytes as the
/// record's before: one comparison each instead of six strings scanned (~300 instructions of
/// ~2,400 a one-line record, serial). Any other bytes are read as before.
#[derive(Debug, Default)]
pub(super) struct Seen {
    lead: Option<Range<usize>>,
    tail: Option<Range<usize>>,
}

/// Steps through the layout: the record and its parts [`Seen`], and the keys and values
/// read.
fn layout(fixed: &mut Fixed<'_, '_>, seen: &Seen) -> Option<((RawRecord, Seen), usize)> {
    fixed.string_after(br#"{"kinesis":{"kinesisSchemaVersion":""#)?;
    let partition_key = fixed.string_after(br#","partitionKey":""#)?;
    let sequence_number = fixed.string_after(br#","sequenceNumber":""#)?;
    let data = fixed.string_after(br#","data":""#)?;
    fixed.word(br#","approximateArrivalTimestamp":"#)?;
    // As AWS writes it, eight digits at a time (~90 instructions where the grammar's scan
    // and `number_value` took ~350, serial); any other number by the grammar.
    let approximate_arrival_timestamp = match fixed.decimal() {
        Some((_, mantissa, scale)) => scaled(mantissa, scale),
        None => {
            let timestamp = fixed.number()?;
            number_value(fixed.bytes(&timestamp))
        }
    };
    let encryption_type = match fixed.word(br#","encryptionType":""#) {
        Some(()) => Some(fixed.string_after(b"")?),
        None => None,
    };
    let lead = fixed.part(seen.lead.as_ref(), |fixed| {
        fixed.string_after(br#"},"eventSource":""#)?;
        fixed.string_after(br#","eventVersion":""#)?;
        fixed.word(br#","eventID":""#)
    })?;
    let event_id = fixed.string_after(b"")?;
    let tail = fixed.part(seen.tail.as_ref(), |fixed| {
        fixed.string_after(br#","eventName":""#)?;
        fixed.string_after(br#","invokeIdentityArn":""#)?;
        fixed.string_after(br#","awsRegion":""#)?;
        fixed.string_after(br#","eventSourceARN":""#)?;
        fixed.word(b"}")
    })?;
    let values = VALUES + if encryption_type.is_some() { 2 } else { 0 };
    let record = RawRecord {
        payload: RawPayload::Base64(data),
        sequence_number: Some(sequence_number),
        event_id: Some(event_id),
        partition_key: Some(partition_key),
        approximate_arrival_timestamp,
        encryption_type,
        as_read: None,
    };
    let parts = Seen {
        lead: Some(lead),
        tail: Some(tail),
    };
    Some(((record, parts), values))
}
