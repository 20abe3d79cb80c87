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
//! ([`crate::input::parse_kinesis_event`] reads an element with no `kinesis` key as a flat
//! one), so detection only has to tell the two apart for naming the input. An element holding
//! both, `kinesis` beside `Data` or `SequenceNumber`, fails
//! ([`RecordProblem::TwoShapes`]): reading either would hide the other's payload.

use std::ops::Range;

use crate::input::RecordProblem;
use crate::input::json::walk::{Kind, Walk};
use crate::input::json::{JsonError, Twice};
use crate::input::kinesis::{
    DATA, KinesisKey, RawPayload, RawRecord, SEQUENCE_NUMBER, fail_twice, number_or_none,
    string_or_none,
};

/// Whether `text` (a `{"Records":[...]}` object) holds `get-records` records rather than a
/// Lambda event's: its first record's first shape key is a flat one ([`record_shape`], from
/// the `Records` array's `[` on, in the first 4 KiB of text).
#[must_use]
pub fn looks_like_get_records(text: &[u8]) -> bool {
    let head = text.get(..text.len().min(SNIFF_BYTES)).unwrap_or(text);
    let first_record =
        memchr::memmem::find(head, b"[").map_or(head, |at| head.get(at..).unwrap_or_default());
    record_shape(first_record) == Some(RecordShape::GetRecords)
}

/// The two shapes of a Kinesis record as JSON ([`record_shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordShape {
    /// A Lambda event's record: a `kinesis` object (`{"kinesis":{"data":...},"eventID":...}`).
    Lambda,
    /// An `aws kinesis get-records` record: flat `Data`, `SequenceNumber`.
    GetRecords,
}

/// How far into a text [`record_shape`] looks.
const SNIFF_BYTES: usize = 4096;

/// The shape of the Kinesis record a JSON text starts with (or holds first), by the first of
/// its shape keys in the first 4 KiB: `"kinesis":` a Lambda record's, `"Data":` or
/// `"SequenceNumber":` a `get-records` record's; `None` when none is there. A peek, not a
/// parse: a key is a quoted name followed by `:` (whitespace allowed), which no string can
/// hold unescaped (base64 holds no `"`, a message's quotes are escaped), so a value
/// `"Data"` is not taken for the key. One sniff for detection ([`looks_like_get_records`])
/// and for the CLI's `replay`, which tells a record kept as its JSON from a CloudWatch
/// payload by it.
#[must_use]
pub fn record_shape(text: &[u8]) -> Option<RecordShape> {
    let head = text.get(..text.len().min(SNIFF_BYTES)).unwrap_or(text);
    let first = |names: &[&[u8]]| names.iter().filter_map(|n| first_key(head, n)).min();
    let lambda = first(&[b"\"kinesis\""]);
    let flat = first(&[b"\"Data\"", b"\"SequenceNumber\""]);
    match (flat, lambda) {
        (Some(f), Some(l)) if l < f => Some(RecordShape::Lambda),
        (Some(_), _) => Some(RecordShape::GetRecords),
        (None, Some(_)) => Some(RecordShape::Lambda),
        (None, None) => None,
    }
}

/// Where `quoted` (a name in its quotes) first stands as a key in `head`: followed by `:`.
fn first_key(head: &[u8], quoted: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(head, quoted).find(|&at| {
        let after = head.get(at + quoted.len()..).unwrap_or_default();
        after.iter().find(|b| !crate::input::json::is_ws(**b)) == Some(&b':')
    })
}

/// A flat record read key by key, beside the Lambda reading of the same object
/// ([`crate::input::kinesis`] takes it when the object has no `kinesis` key).
#[derive(Debug)]
pub(crate) struct FlatRecord {
    rec: RawRecord,
    /// The key only the flat record has that it holds, `Data` before `SequenceNumber`.
    flat: Option<&'static str>,
    /// A `Data` or `SequenceNumber` seen twice fails the record.
    twice: Twice,
}

impl Default for FlatRecord {
    fn default() -> Self {
        FlatRecord {
            rec: RawRecord::new(RecordProblem::MissingField("Data")),
            flat: None,
            twice: Twice::default(),
        }
    }
}

impl FlatRecord {
    /// Reads the value of `key` (found by [`Walk::value`] to be a `kind`): kept when it is a
    /// field of the flat record of the right type, else read and dropped.
    pub(crate) fn field(
        &mut self,
        key: KinesisKey,
        walk: &mut Walk<'_>,
        kind: Kind,
    ) -> Result<(), JsonError> {
        let rec = &mut self.rec;
        match key {
            KinesisKey::Data => {
                self.twice.see(DATA, "Data");
                self.flat = Some("Data");
            }
            KinesisKey::SequenceNumber => {
                self.twice.see(SEQUENCE_NUMBER, "SequenceNumber");
                self.flat = self.flat.or(Some("SequenceNumber"));
            }
            _ => {}
        }
        let keep = |slot: &mut Option<Range<usize>>, value: Option<Range<usize>>| {
            // A value of the wrong type leaves what an earlier key of the same name gave.
            if value.is_some() {
                *slot = value;
            }
        };
        match key {
            KinesisKey::Data if kind == Kind::String => {
                rec.payload = RawPayload::Base64(walk.string()?)
            }
            KinesisKey::Data => {
                walk.skip(kind)?;
                rec.payload = RawPayload::Invalid(RecordProblem::NotAString {
                    field: "Data",
                    found: kind.name(),
                });
            }
            KinesisKey::SequenceNumber => {
                // The first one is kept (a second fails the record, reported under the first).
                let value = string_or_none(walk, kind)?;
                rec.sequence_number = rec.sequence_number.take().or(value);
            }
            KinesisKey::PartitionKey => keep(&mut rec.partition_key, string_or_none(walk, kind)?),
            KinesisKey::EncryptionType => {
                keep(&mut rec.encryption_type, string_or_none(walk, kind)?)
            }
            KinesisKey::ApproximateArrivalTimestamp if kind == Kind::String => {
                let range = walk.string()?;
                let text = std::str::from_utf8(walk.bytes(&range)).unwrap_or_default();
                rec.approximate_arrival_timestamp = iso_seconds(text);
            }
            KinesisKey::ApproximateArrivalTimestamp => {
                rec.approximate_arrival_timestamp = number_or_none(walk, kind)?;
            }
            KinesisKey::Other => walk.skip(kind)?,
        }
        Ok(())
    }

    /// The record, if the object was a flat one.
    pub(crate) fn finish(mut self) -> Option<RawRecord> {
        fail_twice(&self.twice, &mut self.rec.payload);
        self.flat.map(|_| self.rec)
    }

    /// `lambda`, the Lambda reading of an object that has a `kinesis` key, failed when the
    /// object holds a flat record's key too ([`RecordProblem::TwoShapes`]): either reading
    /// would hide the other's payload or sequence number. Its sequence number is kept for
    /// `batchItemFailures`, the Lambda record's, else the flat one's.
    pub(crate) fn beside(self, mut lambda: RawRecord) -> RawRecord {
        if let Some(key) = self.flat {
            lambda.payload = RawPayload::Invalid(RecordProblem::TwoShapes(key));
            lambda.sequence_number = lambda.sequence_number.or(self.rec.sequence_number);
        }
        lambda
    }
}

/// Epoch seconds from an ISO date (`ApproximateArrivalTimestamp` as AWS CLI v2 prints it; v1
/// prints epoch seconds, a number).
#[allow(clippy::cast_precision_loss)] // epoch seconds in an f64, as the Lambda event has them
pub(crate) fn iso_seconds(s: &str) -> Option<f64> {
    crate::audit::iso_time::parse_prefix(s.as_bytes())
        .filter(|t| t.len == s.len())
        .map(|t| t.epoch_us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::json::JsonError;
    use crate::input::{Payload, SourceError, SourceParser, parse_kinesis_event};
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

    /// The one key sniff (session 29: the CLI's `replay` had its own, 256 bytes, any quoted
    /// `"kinesis"` or `"Data"`, no `"SequenceNumber"`): the first shape key of the text,
    /// as a key (a value `"Data"` is none), within 4 KiB.
    #[test]
    fn the_record_shape_is_its_first_shape_key() {
        let long = "x".repeat(300);
        for (text, shape) in [
            (
                r#"{"kinesis":{"data":"x"},"eventID":"Data"}"#.to_owned(),
                Some(RecordShape::Lambda),
            ),
            (
                format!(r#"{{"eventID":"{long}","kinesis" : {{}}}}"#),
                Some(RecordShape::Lambda),
            ),
            (
                r#"{"SequenceNumber":"1"}"#.to_owned(),
                Some(RecordShape::GetRecords),
            ),
            (
                r#"{"Data":"x","kinesis":{}}"#.to_owned(),
                Some(RecordShape::GetRecords),
            ),
            (
                r#"{"eventID":"Data","kinesis":{}}"#.to_owned(),
                Some(RecordShape::Lambda),
            ),
            (r#"{"logGroup":"Data","logEvents":[]}"#.to_owned(), None),
            (
                format!(r#"{{"x":"{}","kinesis":{{}}}}"#, "y".repeat(5000)),
                None,
            ),
        ] {
            assert_eq!(record_shape(text.as_bytes()), shape, "{text}");
        }
    }

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

    /// What a shell loop of `aws kinesis get-records` writes: one page per call.
    #[test]
    fn pages_back_to_back_are_read_in_turn() {
        let pages = format!(
            "{OUTPUT}\n{}{OUTPUT}",
            r#"{"Records":[],"NextShardIterator":"B"}"#
        );
        let (mut buf, len) = padded(pages.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        let sequence: Vec<_> = records.iter().map(|r| r.sequence_number).collect();
        assert_eq!(sequence.len(), 6);
        assert_eq!(sequence[3..], [sequence[0], Some("2"), Some("3")]);
        assert_eq!(records[3].payload, Payload::Base64(b"aGVsbG8="));
        // A page without `Records`, or text that is no page, fails the input as one page would.
        for (bad, error) in [
            (
                format!("{OUTPUT}{{\"NextShardIterator\":\"B\"}}"),
                "`Records`",
            ),
            (format!("{OUTPUT} [1]"), "text after the JSON value"),
            (format!("{OUTPUT}{{\"Records\":[{{]}}"), "record 4"),
        ] {
            let (mut buf, len) = padded(bad.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            assert!(e.to_string().contains(error), "{bad}: {e}");
        }
    }

    /// Session 28 review: a page without `Records`, or with `Records` not an array, failed
    /// the input without saying which page: named, 1-based, with the byte it starts at. One
    /// page alone is the event, its error as before.
    #[test]
    fn a_bad_page_is_named() {
        let empty = r#"{"Records":[],"NextShardIterator":"B"}"#;
        for (bad, problem) in [
            (r#"{"NextShardIterator":"B"}"#, "event has no `Records`"),
            (
                r#"{"Records":{"Data":"aGk="}}"#,
                "`Records` should be an array, found an object",
            ),
        ] {
            let text = format!("{OUTPUT}\n{empty}\n  {bad}\n{empty}");
            let (mut buf, len) = padded(text.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            let at = text.find(bad).unwrap();
            assert_eq!(e.to_string(), format!("page 3, at byte {at}: {problem}"));
            let (mut buf, len) = padded(bad.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            assert_eq!(e.to_string(), problem);
        }
    }

    /// Session 29 (F9): pages appended one after another by a Windows tool (PowerShell's
    /// `>>`) each start with a UTF-8 byte order mark; the file was refused at the second
    /// page's mark. A mark where a page starts is stepped over; anywhere else it is an error
    /// at its byte, as before.
    #[test]
    fn a_byte_order_mark_before_a_page_is_not_content() {
        const BOM: &str = "\u{feff}";
        let empty = r#"{"Records":[],"NextShardIterator":"B"}"#;
        let text = format!("{OUTPUT}\r\n{BOM}{OUTPUT}\r\n{BOM}\r\n{empty}{BOM}{OUTPUT}");
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        let sequence: Vec<_> = records.iter().map(|r| r.sequence_number).collect();
        assert_eq!(sequence.len(), 9);
        assert_eq!(sequence[6..], sequence[..3]);
        assert_eq!(records[6].payload, Payload::Base64(b"aGVsbG8="));
        for bad in [
            format!("{OUTPUT}\n{BOM}"),
            format!("{OUTPUT}\n{BOM}\n"),
            format!("{OUTPUT}{BOM}{BOM}{empty}"),
            format!("{OUTPUT}{BOM}[]"),
            format!("{OUTPUT}{{{BOM}\"Records\":[]}}"),
            format!("{OUTPUT}{{\"Records\":{BOM}[]}}"),
            format!("{OUTPUT}{{\"Records\":[]{BOM}}}"),
        ] {
            let (mut buf, len) = padded(bad.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            let at = bad.find(BOM).unwrap();
            assert!(
                e.to_string().contains(&format!("at byte {at}")),
                "{bad:?}: {e}"
            );
        }
    }

    /// Session 29: a lone surrogate escape (`\ud800` without its pair) in one record's
    /// string refused the whole file. It fails that record alone, kept whole with its reason;
    /// a kept string holding it (a sequence number) is not made up from U+FFFD. Outside the
    /// records it still refuses the input, at its byte.
    #[test]
    fn a_lone_surrogate_fails_its_record_only() {
        let bad_key = r#"{"SequenceNumber":"2","Data":"aGk=","PartitionKey":"p\ud800q"}"#;
        let bad_seq = r#"{"SequenceNumber":"3\udc00","Data":"aGk="}"#;
        let lambda = r#"{"kinesis":{"sequenceNumber":"4","data":"aGk=","x":"\ud83d"}}"#;
        let text = format!(
            r#"{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}},{bad_key},{bad_seq},{lambda},{{"SequenceNumber":"5","Data":"b2s\/"}}]}}"#
        );
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].payload, Payload::Base64(b"aGk="));
        assert_eq!(records[4].payload, Payload::Base64(b"b2s/"));
        for (i, kept, seq, unit) in [
            (1, bad_key, Some("2"), 0xd800),
            (2, bad_seq, None, 0xdc00),
            (3, lambda, Some("4"), 0xd83d),
        ] {
            let r = &records[i];
            let offset = text.find(kept).unwrap() + kept.find("\\u").unwrap();
            assert_eq!(
                r.payload,
                Payload::Invalid(RecordProblem::LoneSurrogate { unit, offset }),
                "{kept}"
            );
            assert_eq!(r.as_delivered(), kept.as_bytes());
            assert_eq!(r.sequence_number, seq);
        }
        assert_eq!(
            RecordProblem::LoneSurrogate {
                unit: 0xd800,
                offset: 7
            }
            .to_string(),
            r"record holds a lone surrogate \ud800 at byte 7 (no character: not text)"
        );
        for bad in [
            r#"{"Records":[],"NextShardIterator":"\ud800"}"#,
            r#"{"Records\udfff":[],"Records":[]}"#,
        ] {
            let (mut buf, len) = padded(bad.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            let at = bad.find('\\').unwrap();
            assert_eq!(
                e.to_string(),
                format!("invalid JSON at byte {at}: lone surrogate in a \\u escape")
            );
        }
    }

    /// A flat record as `aws kinesis get-records` writes it (compact), sequence number `n`.
    fn flat_record(n: usize) -> String {
        format!(
            r#"{{"SequenceNumber":"4959033827149025660855969253836157109592157598913{n:07}","ApproximateArrivalTimestamp":"2024-05-01T12:00:00.123000+00:00","Data":"H4sIAAAAAAAA/6VUXW/aMBT9K5af{n:07}","PartitionKey":"8b1e3c6c8c3c1c1d2b6e0b2f5a4d3c2b","EncryptionType":"KMS"}}"#
        )
    }

    /// `pages` pages back to back, page `p` holding the records `records(p)` names.
    fn pages_of(pages: usize, mut records: impl FnMut(usize) -> std::ops::Range<usize>) -> String {
        let mut text = String::new();
        for p in 0..pages {
            let list: Vec<_> = records(p).map(flat_record).collect();
            text.push_str(&format!(
                "{{\"Records\":[{}],\"NextShardIterator\":\"AAAAAAAAAAHcXy1oZq8VsC3{p:07}\",\"MillisBehindLatest\":0}}\n",
                list.join(",")
            ));
        }
        text
    }

    /// The sequence numbers read, each checked to be record `i`'s.
    fn assert_read_whole(text: &str, count: usize) {
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), count);
        for (i, r) in records.iter().enumerate() {
            let seq = r.sequence_number.unwrap();
            assert!(seq.ends_with(&format!("{i:07}")), "record {i}: {seq}");
            assert!(matches!(r.payload, Payload::Base64(_)), "record {i}");
        }
    }

    /// Session 28 review: the pages of one file shared the event's cap of 2^20 values, so a
    /// file of more than about 50,000 records (5 full pages), or of some 150,000 empty pages
    /// (a loop at an idle shard's tip), was refused whole. Each page is held to the cap alone.
    #[test]
    fn each_page_has_its_own_value_cap() {
        // 60,000 records in 6 full pages: 1.3 million values in all.
        assert_read_whole(&pages_of(6, |p| p * 10_000..(p + 1) * 10_000), 60_000);
        // 200,000 pages, one record in every 20,000th.
        let mut seen = 0;
        let pages = pages_of(200_000, |p| {
            let n = usize::from(p % 20_000 == 7);
            seen += n;
            seen - n..seen
        });
        assert_read_whole(&pages, 10);
        // One page over the cap is still refused, as a Lambda event is; named when it is not
        // the first.
        let over = pages_of(1, |_| 0..60_000);
        let (mut buf, len) = padded(over.as_bytes());
        let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
        assert!(
            matches!(e, SourceError::Json(JsonError::TooManyValues { .. })),
            "{e}"
        );
        let text = format!("{}{over}", pages_of(1, |_| 0..1));
        let (mut buf, len) = padded(text.as_bytes());
        let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
        let page2 = text.find("}\n{").unwrap() + 2;
        assert!(
            e.to_string().starts_with(&format!(
                "page 2, at byte {page2}: event holds more than the 1048576 JSON values allowed"
            )),
            "{e}"
        );
    }

    /// What the pages keep is bounded by the text's size: pages of minimal elements, each
    /// within the cap, keep a hundred times their size in records, and are refused.
    #[test]
    fn what_pages_keep_is_bounded_by_their_size() {
        let page = format!(r#"{{"Records":[{}0]}}"#, "0,".repeat(60_000));
        let (mut buf, len) = padded(page.as_bytes());
        let one = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(one.len(), 60_001);
        let text = page.repeat(3);
        let (mut buf, len) = padded(text.as_bytes());
        let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
        let SourceError::Page { page, problem, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*page, 2, "{e}");
        assert!(
            matches!(**problem, SourceError::Json(JsonError::TooManyKept { .. })),
            "{e}"
        );
    }
}
