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

    /// The record, if the object was a flat one. A record with a payload and no sequence
    /// number (a string) fails: `aws kinesis get-records` writes one in every record, so its
    /// key was damaged (`"SequenceNumbr"`) or its value retyped, and a record read without
    /// one could not be named in `batchItemFailures` nor told from its neighbours (session
    /// 30's adversary, F6: such a record was read, unflagged).
    pub(crate) fn finish(mut self) -> Option<RawRecord> {
        fail_twice(&self.twice, &mut self.rec.payload);
        if self.rec.sequence_number.is_none() && matches!(self.rec.payload, RawPayload::Base64(_)) {
            self.rec.payload = RawPayload::Invalid(RecordProblem::MissingField("SequenceNumber"));
        }
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
    use crate::input::record::PagePart;
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
        // A page without `Records` is kept whole, the others read (session 31; it failed
        // the input as one page would: `a_page_without_records_is_kept_whole_among_others`).
        // Text that is no page, or a page that is not JSON, is one failed record kept whole
        // (session 30: they failed the input).
        for (bad, kept, error) in [
            (format!("{OUTPUT} [1]"), "[1]", "text after the JSON value"),
            (
                format!("{OUTPUT}{{\"Records\":[{{]}}"),
                "{\"Records\":[{]}",
                "page 2 does not read from byte 537",
            ),
        ] {
            let (mut buf, len) = padded(bad.as_bytes());
            let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
            assert_eq!(records.len(), 4, "{bad}");
            let last = &records[3];
            assert_eq!(last.as_delivered(), kept.as_bytes(), "{bad}");
            let Payload::Invalid(problem) = last.payload else {
                panic!("{bad}: {last:?}")
            };
            assert!(problem.to_string().contains(error), "{bad}: {problem}");
        }
    }

    /// Session 28 review: a page without `Records`, or with `Records` not an array, failed
    /// the input without saying which page. Session 31's adversary B, F2 (`dk_gr_key.json`):
    /// it failed every page of the input. Among others it is one failed record kept whole,
    /// none of its records read (a damaged key's array is not taken for the page's), named
    /// by its page and byte, and the pages around it are read; one page alone is the event,
    /// its error as before.
    #[test]
    fn a_page_without_records_is_kept_whole_among_others() {
        let empty = r#"{"Records":[],"NextShardIterator":"B"}"#;
        for (bad, found, problem) in [
            (
                r#"{"NextShardIterator":"B"}"#,
                "missing",
                "event has no `Records`",
            ),
            (
                r#"{"Records":{"Data":"aGk="}}"#,
                "an object",
                "`Records` should be an array, found an object",
            ),
            (
                r#"{"Recrds":[{"SequenceNumber":"1","Data":"aGk="}],"NextShardIterator":"B"}"#,
                "missing",
                "event has no `Records`",
            ),
        ] {
            for text in [
                format!("{OUTPUT}\n{empty}\n  {bad}\n{empty}"),
                format!("{bad}{OUTPUT}"),
                format!("{OUTPUT}{bad}"),
            ] {
                let (mut buf, len) = padded(text.as_bytes());
                let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
                    .unwrap_or_else(|e| panic!("{text}: {e}"));
                let at = text.find(bad).unwrap();
                let failed: Vec<_> = records
                    .iter()
                    .filter_map(|r| match r.payload {
                        Payload::Invalid(RecordProblem::Page(part)) => Some((
                            part.to_string(),
                            String::from_utf8(r.as_delivered().to_vec()).unwrap(),
                        )),
                        _ => None,
                    })
                    .collect();
                let page = text.get(..at).unwrap().matches("NextShardIterator").count() + 1;
                assert_eq!(
                    failed,
                    [(
                        format!(
                            "page {page} at byte {at} is no page (kept whole, none of its \
                             records read; the pages around it are read): `Records` should be \
                             an array, found {found}"
                        ),
                        bad.to_owned()
                    )],
                    "{text}"
                );
                assert_eq!(records.len(), 4, "{text}");
            }
            let (mut buf, len) = padded(bad.as_bytes());
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            assert_eq!(e.to_string(), problem);
        }
    }

    /// Session 31 (helper pages' item 5): a page cut short inside a string holding more
    /// than 2 MiB of escapes (past what the walk kept of the strings it unescapes in place)
    /// refused the input (`PageRefused`): it is kept whole now, and the page after it read.
    #[test]
    fn a_page_part_past_2_mib_of_escapes_is_kept_whole() {
        let long = r"\/".repeat((3 << 20) / 2);
        let cut = format!(r#"{{"Records":[{{"SequenceNumber":"1","Data":"{long}"#);
        let text = format!("{cut}\n{OUTPUT}");
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), 4);
        assert!(
            matches!(records[0].payload, Payload::Invalid(RecordProblem::Page(_))),
            "{:?}",
            records[0].payload
        );
        assert!(
            records[0].as_delivered() == cut.as_bytes(),
            "not kept whole"
        );
        assert_eq!(records[1].payload, Payload::Base64(b"aGVsbG8="));
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
        // A mark anywhere else is a fault at its byte: of text that is no page, or of a page
        // that does not read, kept whole (session 30: they failed the input).
        let page2 = [
            format!("{{{BOM}\"Records\":[]}}"),
            format!("{{\"Records\":{BOM}[]}}"),
            format!("{{\"Records\":[]{BOM}}}"),
        ];
        for (bad, kept, between, to_end) in [
            (format!("{OUTPUT}\n{BOM}"), BOM.to_owned(), true, true),
            (format!("{OUTPUT}\n{BOM}\n"), BOM.to_owned(), true, true),
            (
                format!("{OUTPUT}{BOM}{BOM}{empty}"),
                BOM.to_owned(),
                true,
                false,
            ),
            (format!("{OUTPUT}{BOM}[]"), format!("{BOM}[]"), true, true),
            (
                format!("{OUTPUT}{}", page2[0]),
                page2[0].clone(),
                false,
                true,
            ),
            (
                format!("{OUTPUT}{}", page2[1]),
                page2[1].clone(),
                false,
                true,
            ),
            (
                format!("{OUTPUT}{}", page2[2]),
                page2[2].clone(),
                false,
                true,
            ),
        ] {
            let (mut buf, len) = padded(bad.as_bytes());
            let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
            assert_eq!(records.len(), 4, "{bad:?}");
            let Payload::Invalid(RecordProblem::Page(part)) = records[3].payload else {
                panic!("{bad:?}: {:?}", records[3])
            };
            let at = bad.find(BOM).unwrap();
            assert_eq!(
                (part.fault, part.between, part.to_end),
                (at, between, to_end)
            );
            assert_eq!(records[3].as_delivered(), kept.as_bytes(), "{bad:?}");
            assert_eq!(
                &bad.as_bytes()[part.offset..][..kept.len()],
                kept.as_bytes()
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

    /// A record read: its number, or the part that did not read.
    type Read = (Option<usize>, Option<(PagePart, String)>);

    /// The records of `text` read, each a record of [`flat_record`] (its number) or a part
    /// that did not read (`None`, with its [`PagePart`] and bytes).
    fn read_parts(text: &str) -> Vec<Read> {
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let number = |seq: &str| seq.get(seq.len() - 7..)?.parse::<usize>().ok();
        records
            .iter()
            .map(|r| match r.payload {
                Payload::Base64(_) => (r.sequence_number.and_then(number), None),
                Payload::Invalid(RecordProblem::Page(part)) => {
                    let kept = String::from_utf8(r.as_delivered().to_vec()).unwrap();
                    (None, Some((part, kept)))
                }
                _ => panic!("{r:?}"),
            })
            .collect()
    }

    /// Session 30: one page that did not read (a download cut short, a damaged byte, a stray
    /// byte between pages) refused the whole file, every good page with it. It is one failed
    /// record kept whole, from the record its fault lies in (its records before are read) to
    /// where the next page starts or the input ends; the other pages are read. A first page
    /// with nothing after it is the whole event, refused as before.
    #[test]
    fn a_page_that_does_not_read_is_kept_whole_and_the_others_are_read() {
        let text = pages_of(3, |p| p * 3..(p + 1) * 3);
        let starts: Vec<usize> = text
            .match_indices("{\"Records\"")
            .map(|(at, _)| at)
            .collect();
        let ends: Vec<usize> = text.match_indices("}\n").map(|(at, _)| at + 1).collect();
        let record_at = |n: usize| text.find(&flat_record(n)).unwrap();
        // The last page cut short anywhere: the records whole before the cut are read, the
        // rest is kept.
        for cut in starts[2] + 1..ends[2] {
            let cut_text = &text[..cut];
            let read = read_parts(cut_text);
            let whole = (6..9)
                .filter(|&n| record_at(n) + flat_record(n).len() <= cut)
                .count();
            let numbers: Vec<_> = read.iter().map(|(n, _)| *n).collect();
            let mut expected: Vec<_> = (0..6 + whole).map(Some).collect();
            expected.push(None);
            assert_eq!(numbers, expected, "cut at {cut}");
            let (part, kept) = read.last().unwrap().1.clone().unwrap();
            assert_eq!((part.page, part.between, part.to_end), (3, false, true));
            assert_eq!(kept, cut_text[part.offset..].trim_end(), "cut at {cut}");
            // It starts where page 3 does, or right after its last record read whole.
            let before = cut_text[..part.offset].trim_end().trim_end_matches(',');
            assert!(
                part.offset == starts[2] || before.ends_with(&flat_record(5 + whole)),
                "cut at {cut}: {before}"
            );
        }
        // The first page cut short, nothing after it: the event, refused as before.
        for cut in [1, 40, ends[0] - 1] {
            let (mut buf, len) = padded(&text.as_bytes()[..cut]);
            let e = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
            assert!(
                matches!(e, SourceError::Json(JsonError::Invalid { .. })),
                "{e}"
            );
        }
        // A broken value in the middle of page 2: in its second record (record 5), in what
        // follows its records, and before them; a broken first page, pages after it.
        let kms = record_at(4) + flat_record(4).find("\"KMS\"").unwrap();
        let after = text[starts[1]..].find("\"MillisBehindLatest\":0").unwrap() + starts[1];
        let before = starts[1] + 1;
        for (at, from, record, what) in [
            (kms, record_at(4), Some(5), "expected a value"),
            (
                after + 21,
                text[..ends[1]].rfind("}]").unwrap() + 1,
                None,
                "expected a value",
            ),
            (before, starts[1], None, "expected a string key"),
            (1, 0, None, "expected a string key"),
        ] {
            let mut bad = text.clone();
            bad.insert(at, 'x');
            let read = read_parts(&bad);
            let page: u32 = if at < ends[0] { 1 } else { 2 };
            let (part, kept) = read
                .iter()
                .find_map(|(_, p)| p.clone())
                .unwrap_or_else(|| panic!("{what}: {read:?}"));
            assert_eq!(
                (part.page, part.offset, part.fault, part.what),
                (page, from, at, what)
            );
            assert!(!part.between && !part.to_end, "{part:?}");
            // The fault's record is the failed record's place.
            let place = read.iter().position(|(_, p)| p.is_some()).unwrap() + 1;
            assert!(record.is_none_or(|n| n == place), "{what}: {place}");
            let end = ends[page as usize - 1] + 1;
            assert_eq!(kept, bad[from..end], "{what}");
            let numbers: Vec<_> = read.iter().filter_map(|(n, _)| *n).collect();
            let lost: Vec<usize> = (0..9)
                .filter(|&n| text[..end - 1].contains(&flat_record(n)) && from <= record_at(n))
                .collect();
            let expected: Vec<usize> = (0..9).filter(|n| !lost.contains(n)).collect();
            assert_eq!(numbers, expected, "{what}");
            assert!(part.to_string().starts_with(&format!(
                "page {page} does not read from byte {from} to the next page (kept whole; its records before are read): invalid JSON at byte {at}"
            )), "{part}");
        }
        // A stray byte between pages, and text after the last page.
        for (bad, page, to_end) in [
            (
                format!("{}x{}", &text[..ends[0]], &text[ends[0]..]),
                1,
                false,
            ),
            (
                format!("{}]}}{}", &text[..ends[1]], &text[ends[1]..]),
                2,
                false,
            ),
            (format!("{text}[1] x"), 3, true),
        ] {
            let read = read_parts(&bad);
            let numbers: Vec<_> = read.iter().filter_map(|(n, _)| *n).collect();
            assert_eq!(numbers, (0..9).collect::<Vec<_>>(), "{bad}");
            let (part, kept) = read.iter().find_map(|(_, p)| p.clone()).unwrap();
            assert_eq!((part.page, part.between, part.to_end), (page, true, to_end));
            assert_eq!(
                kept,
                bad[part.offset..].split("\n{").next().unwrap().trim_end()
            );
            assert!(
                part.to_string()
                    .starts_with(&format!("text after page {page}, from byte")),
                "{part}"
            );
        }
        // A stray quote between pages is text that is no page, up to the next page's start
        // (session 30: the quote opened a string the rest of the text was in, kept whole,
        // never read).
        let bad = format!("{}\"{}", &text[..ends[1]], &text[ends[1]..]);
        let read = read_parts(&bad);
        let numbers: Vec<_> = read.iter().map(|(n, _)| *n).collect();
        let mut expected: Vec<_> = (0..6).map(Some).collect();
        expected.push(None);
        expected.extend((6..9).map(Some));
        assert_eq!(numbers, expected);
        let (part, kept) = read[6].1.clone().unwrap();
        assert_eq!((part.page, part.between, part.to_end), (2, true, false));
        assert_eq!(kept, "\"");
    }

    /// Session 30's adversary (F4): a page cut inside a string with the next page appended
    /// (a download cut short, then the loop went on) leaves every quote after it off by one,
    /// and the count of brackets outside strings with it: the pages after it were kept in
    /// the failed record, not read, and a partition key holding `}{}` made the count stop
    /// inside a string, where a strict read found no `Records` and refused the whole file,
    /// naming a page the file does not hold. The next page is found where an object starts
    /// whose first key is `Records`: every page after the cut is read, whatever the strings
    /// hold, and no string's text is read as a page.
    #[test]
    fn a_page_cut_inside_a_string_does_not_hide_the_pages_after_it() {
        let forged = r#"]}{\"Records\":[{\"SequenceNumber\":\"666\",\"Data\":\"Zm9yZ2Vk\"}]}{"#;
        for key in ["plain", "}{}", r#"}{\""#, forged, r#"\"}]}{"#] {
            for sep in ["", "\n"] {
                let record = |n: usize, key: &str| {
                    format!(r#"{{"SequenceNumber":"{n}","Data":"aGk=","PartitionKey":"{key}"}}"#)
                };
                let page = |records: &[String], next: &str| {
                    format!(
                        r#"{{"Records":[{}],"NextShardIterator":"{next}","MillisBehindLatest":0}}"#,
                        records.join(",")
                    )
                };
                let pages = [
                    page(&[record(1, "p")], "AAA"),
                    page(&[record(2, key)], "AAAAQQ"),
                    page(&[record(3, key), record(4, "q")], key),
                    page(&[record(5, "r")], "CCC"),
                ];
                let cut_from = pages[1].find("}],").unwrap() + 1;
                for cut in cut_from..pages[1].len() - 1 {
                    let text = format!(
                        "{}{sep}{}{}{sep}{}{sep}",
                        pages[0],
                        &pages[1][..cut],
                        pages[2],
                        pages[3]
                    );
                    let (mut buf, len) = padded(text.as_bytes());
                    let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
                        .unwrap_or_else(|e| panic!("{text}: {e}"));
                    let seq: Vec<_> = records.iter().map(|r| r.sequence_number).collect();
                    assert_eq!(
                        seq,
                        [Some("1"), Some("2"), None, Some("3"), Some("4"), Some("5")],
                        "{text}"
                    );
                    let Payload::Invalid(RecordProblem::Page(part)) = records[2].payload else {
                        panic!("{text}: {:?}", records[2])
                    };
                    let page2 = pages[0].len() + sep.len();
                    let kept = &pages[1][cut_from..cut];
                    let kept = kept.trim_start_matches(',');
                    assert_eq!(part.page, 2, "{text}");
                    assert!(!part.to_end && !part.between, "{text}: {part}");
                    assert_eq!(records[2].as_delivered(), kept.as_bytes(), "{text}");
                    assert!(part.offset >= page2 + cut_from, "{text}: {part}");
                    for r in &records {
                        if let Payload::Base64(data) = r.payload {
                            assert_eq!(data, b"aGk=", "{text}");
                        }
                    }
                }
            }
        }
    }

    /// Session 30: no string can make a part that does not read, or the pages after it,
    /// read as a page the file does not hold. Pages whose records' strings hold a forged
    /// page (`}]}{"Records":[...]}`, escaped as a JSON string holds it, and `]}{` bare),
    /// cut, or with a byte taken out, or a quote or brace put in, at every place: every
    /// record read is one of the file's, in order, and every record whose text is still
    /// there is read or kept in a failed part.
    #[test]
    fn no_damage_reads_a_string_as_a_page() {
        let forged = r#"}]}\n{\"Records\":[{\"SequenceNumber\":\"666\",\"Data\":\"Zm9yZ2Vk\"}]}{"#;
        let text = format!(
            r#"{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}},{{"SequenceNumber":"2","Data":"aGk=","PartitionKey":"{forged}"}}]}}
{{"Records":[{{"SequenceNumber":"3","Data":"aGk=","PartitionKey":"]}}{{\"Records\":["}},{{"SequenceNumber":"4","Data":"{forged}"}}],"NextShardIterator":"{forged}"}}
{{"Records":[{{"SequenceNumber":"5","Data":"aGk="}}]}}"#
        );
        let marker = |n: usize| format!(r#"{{"SequenceNumber":"{n}","Data":""#);
        let mut tried = 0;
        for at in 0..=text.len() {
            let mut variants = vec![text[..at].to_owned()];
            if at < text.len() {
                variants.push(format!("{}{}", &text[..at], &text[at + 1..]));
            }
            for b in ['"', '{', '}', ']'] {
                variants.push(format!("{}{b}{}", &text[..at], &text[at..]));
            }
            for bad in variants {
                let (mut buf, len) = padded(bad.as_bytes());
                let base = buf.as_ptr() as usize;
                let Ok(records) = parse_kinesis_event(&mut buf, len, &mut SourceParser::new())
                else {
                    continue;
                };
                tried += 1;
                let mut last = 0;
                for r in &records {
                    // Damage inside a sequence number is the file's: its digits are one's.
                    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect();
                    if let Some(seq) = r
                        .sequence_number
                        .map(digits)
                        .filter(|s: &String| !s.is_empty())
                    {
                        let n: usize = seq.parse().unwrap_or_else(|_| panic!("{bad}: {seq}"));
                        assert!((1..=5).contains(&n) && n > last, "{bad}: {records:?}");
                        last = n;
                    }
                    // The forged record's data only as part of the string that holds it.
                    if let Payload::Base64(data) = r.payload {
                        let has = |s: &[u8]| memchr::memmem::find(data, s).is_some();
                        assert!(!has(b"Zm9") || data.len() > 40, "{bad}: {records:?}");
                    }
                }
                // Where each failure kept lies in the text: the failures' bytes, one after
                // the other, and the records read cover every record still there.
                let kept: Vec<(usize, usize)> = records
                    .iter()
                    .filter(|r| matches!(r.payload, Payload::Invalid(_)))
                    .filter(|r| !r.as_delivered().is_empty())
                    .map(|r| {
                        // In the text, or a copy of a record whose kept string held an
                        // escape: found where it is in the text.
                        let bytes = r.as_delivered();
                        let at = (bytes.as_ptr() as usize)
                            .checked_sub(base)
                            .filter(|at| at + bytes.len() <= bad.len())
                            .or_else(|| memchr::memmem::find(bad.as_bytes(), bytes))
                            .unwrap_or_else(|| panic!("{bad}: {bytes:?} is not in it"));
                        (at, at + bytes.len())
                    })
                    .collect();
                for n in 1..=5 {
                    let Some(at) = bad.find(&marker(n)) else {
                        continue;
                    };
                    let read = records
                        .iter()
                        .any(|r| r.sequence_number == Some(&n.to_string()));
                    let (mut from, to) = (at, at + marker(n).len());
                    for &(start, end) in &kept {
                        if start <= from && from < end {
                            from = end;
                        }
                    }
                    assert!(read || from >= to, "{bad}: record {n} lost: {records:?}");
                }
            }
        }
        assert!(tried > 1000, "{tried}");
    }

    /// Session 30's adversary (F6): a record whose `SequenceNumber` key was damaged
    /// (`"SequenceNumbr"`), or whose sequence number is no string, was read without one,
    /// unflagged. It fails (kept whole): the Lambda's `batchItemFailures` and a replay name
    /// a record by it. Other keys AWS writes, damaged, leave the record read without them
    /// (`PartitionKey`, `EncryptionType`, `ApproximateArrivalTimestamp`; a damaged `Data`
    /// fails it as before).
    #[test]
    fn a_record_without_its_sequence_number_fails() {
        for bad in [
            r#"{"SequenceNumbr":"2","Data":"aGk="}"#,
            r#"{"SequenceNumber":2,"Data":"aGk="}"#,
            r#"{"Data":"aGk=","PartitionKey":"p"}"#,
        ] {
            let text = format!(r#"{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}},{bad}]}}"#);
            let (mut buf, len) = padded(text.as_bytes());
            let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
            assert_eq!(records[0].payload, Payload::Base64(b"aGk="));
            assert_eq!(
                records[1].payload,
                Payload::Invalid(RecordProblem::MissingField("SequenceNumber")),
                "{bad}"
            );
            assert_eq!(records[1].as_delivered(), bad.as_bytes());
        }
        let damaged = r#"{"SequenceNumber":"3","Data":"aGk=","PartitionKy":"p"}"#;
        let text = format!(r#"{{"Records":[{damaged}]}}"#);
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records[0].payload, Payload::Base64(b"aGk="));
        assert_eq!(records[0].partition_key, None);
    }

    /// Session 30's adversary (F5): a page read as a record of the page before (its end
    /// lost, the next page's first key not `Records`) was kept as "record has no `kinesis`
    /// object". The message says what the element holds and where it is.
    #[test]
    fn a_record_with_no_record_key_says_what_it_is_and_where() {
        let page = r#"{"NextShardIterator":"B","Records":[{"SequenceNumber":"2","Data":"aGk="}]}"#;
        let text = format!(
            r#"{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}}]}}
{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}},{page},{{"x":1}}]}}"#
        );
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records.len(), 4);
        for (r, kept, holds) in [
            (
                &records[2],
                page,
                "an object with a page's keys (`Records`, `NextShardIterator`): the page before it has no end",
            ),
            (
                &records[3],
                r#"{"x":1}"#,
                "an object with no `kinesis` object (a Lambda record) and no `Data` or `SequenceNumber`",
            ),
        ] {
            let Payload::Invalid(problem) = r.payload else {
                panic!("{r:?}")
            };
            let at = text.find(kept).unwrap();
            assert!(
                problem.to_string().starts_with(&format!(
                    "record at byte {at} of page 2 is no Kinesis record: {holds}"
                )),
                "{problem}"
            );
            assert_eq!(r.as_delivered(), kept.as_bytes());
        }
    }

    /// The part kept is the text as read (the escapes the walk undid in place put back, up
    /// to a string the text ends inside), while the records read before it keep their
    /// strings unescaped.
    #[test]
    fn a_part_kept_is_as_read_and_the_records_before_it_unescaped() {
        let bad = r#"{"SequenceNumber":"3","Data":"b2s\/","PartitionKey":"a\"b\u0041","x":tru}"#;
        let cut = r#"{"SequenceNumber":"5","Data":"b2s\/b2s\/"#;
        let text = format!(
            r#"{{"Records":[{{"SequenceNumber":"1","Data":"aGk="}}]}}
{{"NextShardIterator":"\u0041","Records":[{{"SequenceNumber":"2","Data":"b2s\/"}},{bad}]}}
{{"Records":[{{"SequenceNumber":"4","Data":"aGk="}},{cut}"#
        );
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        let seq: Vec<_> = records.iter().map(|r| r.sequence_number).collect();
        assert_eq!(
            seq,
            [Some("1"), Some("2"), None, Some("4"), None],
            "{records:?}"
        );
        assert_eq!(records[1].payload, Payload::Base64(b"b2s/"));
        assert_eq!(records[2].as_delivered(), format!("{bad}]}}").as_bytes());
        assert_eq!(records[4].as_delivered(), cut.as_bytes());
        // The first page's escape in what precedes its records is put back too.
        let text = format!(r#"{{"NextShardIterator":"\u0041","Records":[{bad}]}}{{"Records":[]}}"#);
        let (mut buf, len) = padded(text.as_bytes());
        let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].as_delivered(),
            &text.as_bytes()[..text.len() - 14]
        );
    }

    /// Session 30: a failed record whose sequence number (or another string it is reported
    /// by) held a JSON escape was kept without its bytes (`raw: ""` in `--rejects`, an empty
    /// quarantine payload). Its bytes as read are a copy; its sequence number, for
    /// `batchItemFailures`, stays the unescaped one; copied out during the walk (as the
    /// decoder does) it reads the same.
    #[test]
    fn a_failed_record_with_an_escaped_sequence_number_keeps_its_bytes() {
        use crate::input::kinesis::{EventText, parse_kinesis_event_with};
        let flat = r#"{"SequenceNumber":"4\u0039","Data":12,"PartitionKey":"p\/q"}"#;
        let lambda =
            r#"{"kinesis":{"sequenceNumber":"5\/1","partitionKey":"\u0041"},"eventID":"x\"y"}"#;
        let twice = r#"{"kinesis":{"sequenceNumber":"6\u0036","data":"aGk=","data":"aGk="}}"#;
        let text = format!(
            r#"{{"Records":[{flat},{{"SequenceNumber":"1","Data":"aGk\/"}},{lambda},{twice}]}}"#
        );
        let (mut buf, len) = padded(text.as_bytes());
        let (mut found, mut copied) = (Vec::new(), Vec::new());
        let records = parse_kinesis_event_with(
            &mut buf,
            len,
            0,
            &mut SourceParser::new(),
            &mut |record, text| found.push(record.copy_to(text, &mut copied)),
        )
        .unwrap();
        let copied = EventText::new(&copied);
        let early: Vec<_> = found.iter().map(|r| r.resolve(&copied)).collect();
        assert_eq!(early, records);
        let seq: Vec<_> = records.iter().map(|r| r.sequence_number).collect();
        assert_eq!(seq, [Some("49"), Some("1"), Some("5/1"), Some("66")]);
        assert_eq!(records[0].partition_key, Some("p/q"));
        assert_eq!(records[1].payload, Payload::Base64(b"aGk/"));
        assert_eq!(records[2].event_id, Some("x\"y"));
        for (r, kept) in [
            (&records[0], flat),
            (&records[2], lambda),
            (&records[3], twice),
        ] {
            assert!(matches!(r.payload, Payload::Invalid(_)), "{r:?}");
            assert_eq!(r.as_delivered(), kept.as_bytes());
        }
    }
}
