//! The walk over the event text against the simd-json tape walk it replaced
//! ([`super::reference`]), on generated events of every shape a record can have.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::input::json::walk::tests::{
    Tree, any_string, any_value, emit, extra, field, same_reading, string, write_string,
};
use crate::test_support::padded;

fn base64() -> BoxedStrategy<Tree> {
    string("[A-Za-z0-9+/]{0,24}={0,2}").boxed()
}

fn text() -> BoxedStrategy<Tree> {
    prop_oneof![string("[a-zA-Z0-9:-]{0,20}"), string(any_string())].boxed()
}

/// An epoch-seconds number, sometimes one simd-json cannot hold.
fn seconds() -> BoxedStrategy<Tree> {
    prop_oneof![
        4 => (1_000_000_000.0f64..2_000_000_000.0).prop_map(|f| Tree::Value(Value::from(f))),
        1 => (0i64..2_000_000_000).prop_map(|i| Tree::Value(Value::from(i))),
        1 => proptest::sample::select(vec!["1e400", "-1e999", "123456789012345678901234567890", "1711200968.517", "17112009685170000000000e-13"]).prop_map(Tree::Token),
    ]
    .boxed()
}

fn kinesis() -> BoxedStrategy<Tree> {
    proptest::collection::vec(
        prop_oneof![
            field("data", base64()),
            field("sequenceNumber", text()),
            field("partitionKey", text()),
            field("encryptionType", text()),
            field("approximateArrivalTimestamp", seconds()),
            field("kinesisSchemaVersion", text()),
            extra(),
        ],
        0..8,
    )
    .prop_map(Tree::Object)
    .boxed()
}

fn record() -> BoxedStrategy<Tree> {
    let iso = prop_oneof![
        string(Just("2024-05-01T12:00:00.123000+00:00".to_owned())),
        seconds()
    ];
    let fields = proptest::collection::vec(
        prop_oneof![
            3 => field("kinesis", kinesis()),
            1 => field("eventID", text()),
            1 => field("eventSource", text()),
            1 => field("Data", base64()),
            1 => field("SequenceNumber", text()),
            1 => field("PartitionKey", text()),
            1 => field("EncryptionType", text()),
            1 => field("ApproximateArrivalTimestamp", iso.boxed()),
            1 => extra(),
        ],
        0..8,
    );
    prop_oneof![
        6 => fields.prop_map(Tree::Object),
        1 => any_value().prop_map(Tree::Value),
    ]
    .boxed()
}

fn event() -> impl Strategy<Value = Tree> {
    let records = prop_oneof![
        8 => proptest::collection::vec(record(), 0..6).prop_map(Tree::Array),
        1 => any_value().prop_map(Tree::Value),
    ];
    let top = proptest::collection::vec(
        prop_oneof![
            3 => records.prop_map(|r| ("Records".to_owned(), r)),
            1 => extra(),
        ],
        0..4,
    );
    prop_oneof![
        8 => top.prop_map(Tree::Object),
        1 => any_value().prop_map(Tree::Value),
    ]
}

/// Both readings of `text` ([`same_reading`]). The records handed out during the walk,
/// copied out as they come, read the same as the records returned at its end.
fn same_as_reference(text: &[u8]) -> Result<(), TestCaseError> {
    let (mut ours_buf, len) = padded(text);
    let (mut ref_buf, _) = padded(text);
    let (mut copied, mut found) = (Vec::new(), Vec::new());
    let ours = parse_kinesis_event_with(
        &mut ours_buf,
        len,
        0,
        &mut SourceParser::new(),
        &mut |record, text| found.push(record.copy_to(text, &mut copied)),
    );
    if let Ok(records) = &ours {
        let copied = EventText::new(&copied);
        let early: Vec<_> = found.iter().map(|r| r.resolve(&copied)).collect();
        prop_assert_eq!(&early, records);
    }
    let oracle = reference::parse_kinesis_event(&mut ref_buf, len, &mut Default::default());
    let ours = ours.map(|records| kept_as_read(records, text));
    same_reading(&ours, &oracle, text)
}

/// `records` with `as_read` checked and blanked (the tape oracle has no spans): a record
/// that failed its shape is kept as its element of `Records` in `text` (a string it keeps
/// holding an escape too: session 30, it was kept empty); a record read has none.
fn kept_as_read<'a>(mut records: Vec<SourceRecord<'a>>, text: &[u8]) -> Vec<SourceRecord<'a>> {
    let elements = serde_json::from_slice::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("Records")?.as_array().cloned());
    for (i, r) in records.iter_mut().enumerate() {
        // The oracle names no place: the walk's record with no record key is its
        // `MissingKinesis`.
        if let Payload::Invalid(RecordProblem::NoRecordKey { .. }) = r.payload {
            r.payload = Payload::Invalid(RecordProblem::MissingKinesis);
        }
        let as_read = std::mem::take(&mut r.as_read);
        if !matches!(r.payload, Payload::Invalid(_)) {
            assert!(as_read.is_empty(), "record {i} read, yet kept as read");
        } else if let Some(element) = elements.as_ref().and_then(|e| e.get(i)) {
            assert!(
                !as_read.is_empty(),
                "record {i} failed, kept without its bytes"
            );
            // (serde_json refuses some JSON the walk reads: numbers past f64, deep nesting.)
            if let Ok(kept) = serde_json::from_slice::<Value>(&as_read) {
                assert_eq!(&kept, element, "record {i} not kept as it is");
            }
        }
    }
    records
}

/// Whether `token` is a number [`Fixed::decimal`] reads: digits, no leading zero but
/// before a point, maybe a point and at least one digit, 15 digits at most.
fn decimal_form(token: &str) -> bool {
    let (whole, fraction) = token.split_once('.').unwrap_or((token, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let count = token.bytes().filter(u8::is_ascii_digit).count();
    digits(whole) && digits(fraction) && (whole == "0" || !whole.starts_with('0')) && count <= 15
}

/// The general parse `number_or_none` falls back to.
fn parsed(token: &[u8]) -> Option<f64> {
    std::str::from_utf8(token).ok()?.parse::<f64>().ok()
}

proptest! {
    /// The fast path for short numbers gives what `str::parse` gives, bit for bit, and takes
    /// every JSON number of up to 15 digits without an exponent.
    #[test]
    fn short_numbers_parse_as_str_parse(
        negative in any::<bool>(),
        int in "(0|[1-9][0-9]{0,17})",
        frac in proptest::option::of("[0-9]{1,17}"),
    ) {
        let token = format!("{}{int}{}", if negative { "-" } else { "" }, frac.as_ref().map(|f| format!(".{f}")).unwrap_or_default());
        let digits = int.len() + frac.as_ref().map_or(0, String::len);
        match short_number(token.as_bytes()) {
            Some(v) => prop_assert_eq!(Some(v.to_bits()), parsed(token.as_bytes()).map(f64::to_bits), "{}", token),
            None => prop_assert!(digits > 15, "{}", token),
        }
    }

    /// Anything else (exponents, signs, stray bytes) is left to the general parse.
    #[test]
    fn other_tokens_are_left_or_parsed_alike(token in "[-+0-9.eE]{0,20}") {
        if let Some(v) = short_number(token.as_bytes()) {
            prop_assert_eq!(Some(v.to_bits()), parsed(token.as_bytes()).map(f64::to_bits), "{}", token);
        }
    }

    /// A number AWS's way, read eight digits at a time ([`Fixed::decimal`]), is read as the
    /// grammar ([`Walk::number`]) and [`number_value`] read it: the same bytes taken, the same
    /// value, bit for bit; and a usual timestamp is read so.
    #[test]
    fn decimals_are_the_grammars_numbers(
        token in prop_oneof![
            4 => "(0|[1-9][0-9]{0,11})(\\.[0-9]{1,5})?",
            1 => "[-0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{0,3})?",
        ],
        after in proptest::sample::select(vec!["", ",", "}", ".5", "5", "e", "E1", "x", " "]),
    ) {
        let text = format!("{token}{after}");
        let read = |fast: bool| {
            let mut buf = text.clone().into_bytes();
            let mut open = Vec::new();
            let mut walk = Walk::new(&mut buf, &mut open, usize::MAX);
            let read = if fast {
                walk.fixed(|fixed| Some((fixed.decimal()?, 0)))
                    .map(|(range, mantissa, scale)| (range, scaled(mantissa, scale)))
            } else {
                let range = walk.number().ok();
                range.map(|range| (range.clone(), number_value(walk.bytes(&range))))
            };
            read.map(|(range, value)| (range, value.map(f64::to_bits)))
        };
        let fast = read(true);
        if fast.is_some() {
            prop_assert_eq!(&fast, &read(false), "{}", text);
        }
        if decimal_form(&token) && matches!(after, "" | "," | "}" | "x" | " ") {
            prop_assert!(fast.is_some(), "{}", text);
        }
    }
}

proptest! {
    #[test]
    fn reads_what_the_tape_walk_read(
        event in event(),
        seeds in proptest::collection::vec(any::<u8>(), 1..32),
    ) {
        let mut style = seeds.iter().copied().cycle();
        let mut text = Vec::new();
        emit(&event, &mut || style.next().unwrap_or(0), &mut text);
        same_as_reference(&text)?;
        // Cut short: invalid, for both.
        if text.len() > 1 {
            same_as_reference(&text[..text.len() / 2])?;
        }
    }
}

/// The edges of the short form: a point at either end, 15 digits with and without a point
/// (taken), 16 digits or a second point (left to the general parse).
#[test]
fn short_number_edges() {
    for token in [
        "1.",
        ".5",
        "-.5",
        "0",
        "-0",
        "123456789012345",
        "1234567.89012345",
        "0.00000000000001",
    ] {
        let value = short_number(token.as_bytes()).map(f64::to_bits);
        assert_eq!(value, parsed(token.as_bytes()).map(f64::to_bits), "{token}");
    }
    for token in [
        "",
        "-",
        ".",
        "-.",
        "1..2",
        "1.2.",
        "1234567890123456",
        "123456789.0123456",
        "1e5",
        "+1",
        "1-",
    ] {
        assert_eq!(short_number(token.as_bytes()), None, "{token}");
    }
}

/// A string unescaped in place can leave half a character behind it (`\\é`: the escape is
/// one byte shorter than it was, so the last byte of `é` stays behind the string): the text
/// is no longer UTF-8 as a whole, and each string is then checked on its own.
#[test]
fn a_string_unescaped_in_place_leaves_the_text_unchecked_not_the_string() {
    let event =
        r#"{"Records":[{"kinesis":{"data":"aGk=","sequenceNumber":"\\é","partitionKey":"k"}}]}"#;
    same_as_reference(event.as_bytes()).unwrap();
    let (mut buf, len) = padded(event.as_bytes());
    let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(records[0].sequence_number, Some("\\é"));
    assert_eq!(records[0].partition_key, Some("k"));
    drop(records);
    assert!(std::str::from_utf8(&buf).is_err());
}

/// A range of a checked text that cuts a character is checked on its own, and refused.
#[test]
fn a_range_inside_a_character_is_no_string() {
    let text = EventText::new("aé".as_bytes());
    assert_eq!(text.str(0..3), Some("aé"));
    assert_eq!(text.str(0..2), None);
    let text = EventText::new(b"\xa9ab");
    assert_eq!(text.str(1..3), Some("ab"));
    assert_eq!(text.str(0..2), None);
}

#[test]
fn wide_numbers_are_absent_not_made_up() {
    let event = br#"{"Records":[{"kinesis":{"data":"aGk=","approximateArrivalTimestamp":1e400,"sequenceNumber":123456789012345678901234567890}},
        {"SequenceNumber":"2","ApproximateArrivalTimestamp":-1e999,"Data":"aGk="}],"x":1e99999}"#;
    same_as_reference(event).unwrap();
    let (mut buf, len) = padded(event);
    let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(records[0].approximate_arrival_timestamp, None);
    assert_eq!(records[0].sequence_number, None);
    assert_eq!(records[1].approximate_arrival_timestamp, None);
    assert_eq!(records[1].payload, Payload::Base64(b"aGk="));
}

#[test]
fn syntax_errors_anywhere_come_before_shape_errors() {
    for text in [
        &br#"{"Records":{},x}"#[..],
        br#"[1,]"#,
        br#"{"Records":[{"kinesis":{"data":"a\u12"}}]}"#,
        br#"{"Records":[],"Records":{"a":1,}}"#,
    ] {
        let (mut buf, len) = padded(text);
        let err = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
        assert!(
            matches!(err, SourceError::Json(JsonError::Invalid { .. })),
            "{err:?}"
        );
    }
}

/// Review 6 (R6-4): a syntax error inside an element of `Records` names that record
/// (1-based, as shape errors do); one outside every record names none.
#[test]
fn a_syntax_error_names_its_record() {
    let good = r#"{"kinesis":{"data":"aGk=","sequenceNumber":"1"}}"#;
    for (text, record, offset) in [
        (
            format!(
                r#"{{"Records":[{good},{good},{good},{good},{{"kinesis":{{"data":"a\u12"}}}}]}}"#
            ),
            Some(5),
            None,
        ),
        (
            format!(r#"{{"Records":[{good},{{"kinesis":01}}]}}"#),
            Some(2),
            None,
        ),
        (format!(r#"{{"Records":[{good}],}}"#), None, None),
        (
            format!(r#"{{"Records":[{good},{good}] x"#),
            None,
            Some(2 * good.len()),
        ),
    ] {
        let (mut buf, len) = padded(text.as_bytes());
        let err = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
        let SourceError::Json(JsonError::Invalid {
            record: got,
            offset: at,
            ..
        }) = &err
        else {
            panic!("{text}: {err:?}")
        };
        assert_eq!(*got, record, "{text}: {err}");
        match record {
            Some(n) => assert!(
                err.to_string().contains(&format!(" (in record {n}): ")),
                "{err}"
            ),
            None => assert!(!err.to_string().contains("in record"), "{err}"),
        }
        if let Some(o) = offset {
            assert!(*at > o, "{text}: {err}");
        }
    }
}

/// Review 6 (R6-1): a key the event is read by, repeated, would hide one value's records
/// (`{"Records":[<records>],"Records":[]}` read as no record, exit status 0): a second
/// `Records` fails the event, a second `kinesis`, `data` or `sequenceNumber` (or `Data`,
/// `SequenceNumber` in a `get-records` record) fails the record under its first sequence
/// number. The oracle reads them the same way.
#[test]
fn a_repeated_key_fails_what_it_would_hide() {
    for text in [
        &br#"{"Records":[{"kinesis":{"data":"aGk=","sequenceNumber":"1"}}],"Records":[]}"#[..],
        br#"{"Records":{},"Records":[1]}"#,
        br#"{"Records":[1],"Records":"x"}"#,
    ] {
        same_as_reference(text).unwrap();
        let (mut buf, len) = padded(text);
        let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new());
        assert_eq!(got.unwrap_err(), SourceError::DuplicateField("Records"));
    }
    for (record, field) in [
        (
            r#"{"kinesis":{"data":"aGk=","sequenceNumber":"1","data":"aGk="}}"#,
            "kinesis.data",
        ),
        (
            r#"{"kinesis":{"sequenceNumber":"1","data":"aGk=","sequenceNumber":"2"}}"#,
            "kinesis.sequenceNumber",
        ),
        (
            r#"{"kinesis":{"sequenceNumber":"1","data":"aGk="},"kinesis":{"data":"aGk="}}"#,
            "kinesis",
        ),
        (
            r#"{"kinesis":{"sequenceNumber":"1"},"kinesis":{"sequenceNumber":2,"data":"aGk="}}"#,
            "kinesis",
        ),
        (
            r#"{"SequenceNumber":"1","Data":"aGk=","Data":"aGk="}"#,
            "Data",
        ),
        (
            r#"{"SequenceNumber":"1","Data":"aGk=","SequenceNumber":"2"}"#,
            "SequenceNumber",
        ),
    ] {
        let text = format!(r#"{{"Records":[{record}]}}"#);
        same_as_reference(text.as_bytes()).unwrap();
        let (mut buf, len) = padded(text.as_bytes());
        let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(
            got[0].payload,
            Payload::Invalid(RecordProblem::DuplicateField(field)),
            "{record}"
        );
        assert_eq!(got[0].sequence_number, Some("1"), "{record}");
    }
}

/// Session 28: a record that failed its shape was reported with an empty `raw` (its strings
/// unescaped in place were lost). It is kept as it is in the input, escapes and all, beside
/// the records read; where a string it keeps (its sequence number) held an escape, as a
/// copy (session 30: it was kept without its bytes).
#[test]
fn a_record_that_fails_is_kept_as_it_is() {
    let failed =
        r#"{"kinesis":{"sequenceNumber":"7","data":"a\/b\u0041","data":"aGk="},"eventID":"s:7"}"#;
    let escaped = r#"{"kinesis":{"sequenceNumber":"\u0038","data":"x","data":"y"}}"#;
    let text = format!(r#"{{"Records":[{failed},{{"kinesis":{{"data":"b2s\/"}}}},{escaped}]}}"#);
    same_as_reference(text.as_bytes()).unwrap();
    let (mut buf, len) = padded(text.as_bytes());
    let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(got[0].as_delivered(), failed.as_bytes());
    assert_eq!(got[0].sequence_number, Some("7"));
    assert_eq!(got[0].event_id, Some("s:7"));
    assert_eq!(got[1].as_delivered(), b"b2s/");
    assert_eq!(got[2].sequence_number, Some("8"));
    // Session 30: a kept string that held an escape no longer leaves it without its bytes.
    assert_eq!(got[2].as_delivered(), escaped.as_bytes());
    // Strings with escapes past 2 MiB (session 31: past what the walk kept then, the record
    // was kept without its bytes), also when a kept string held an escape (a copy).
    let long = r"\/".repeat((3 << 20) / 2);
    for sequence in ["9", r"\u0039"] {
        let record = format!(
            r#"{{"kinesis":{{"sequenceNumber":"{sequence}","data":"{long}","data":"x"}}}}"#
        );
        let text = format!(r#"{{"Records":[{record},{{"kinesis":{{"data":"b2s\/"}}}}]}}"#);
        let (mut buf, len) = padded(text.as_bytes());
        let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert!(got[0].as_delivered() == record.as_bytes(), "not kept whole");
        assert_eq!(got[0].sequence_number, Some("9"));
        assert_eq!(got[1].as_delivered(), b"b2s/");
    }
}

/// Session 28 review: a record holding both `kinesis.data` (Lambda) and `Data` (get-records)
/// was read by its `kinesis` and the other payload dropped without a word; so was a second
/// sequence number. Such a record fails, its sequence number kept for `batchItemFailures`.
#[test]
fn a_record_of_both_shapes_fails() {
    for (record, key, sequence) in [
        (
            r#"{"kinesis":{"data":"aGk=","sequenceNumber":"1"},"Data":"Zm9yZ2Vk"}"#,
            "Data",
            Some("1"),
        ),
        (
            r#"{"Data":"Zm9yZ2Vk","SequenceNumber":"2","kinesis":{"data":"aGk=","sequenceNumber":"1"}}"#,
            "Data",
            Some("1"),
        ),
        (
            r#"{"kinesis":{"data":"aGk=","sequenceNumber":"1"},"SequenceNumber":"2"}"#,
            "SequenceNumber",
            Some("1"),
        ),
        (
            r#"{"kinesis":{"data":"aGk="},"SequenceNumber":"2","Data":7}"#,
            "Data",
            Some("2"),
        ),
        (r#"{"kinesis":{},"Data":"Zm9yZ2Vk"}"#, "Data", None),
    ] {
        let text = format!(r#"{{"Records":[{record},{{"kinesis":{{"data":"b2s="}}}}]}}"#);
        same_as_reference(text.as_bytes()).unwrap();
        let (mut buf, len) = padded(text.as_bytes());
        let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
        assert_eq!(
            got[0].payload,
            Payload::Invalid(RecordProblem::TwoShapes(key)),
            "{record}"
        );
        assert_eq!(got[0].sequence_number, sequence, "{record}");
        assert_eq!(got[1].payload, Payload::Base64(b"b2s="));
    }
    assert_eq!(
        RecordProblem::TwoShapes("Data").to_string(),
        "record has both `kinesis` (a Lambda record) and `Data` (a get-records record): which is the record's cannot be told"
    );
    // The other keys of a flat record are not read beside `kinesis`: nothing is hidden.
    let text = r#"{"Records":[{"kinesis":{"data":"aGk="},"PartitionKey":"p"}]}"#;
    let (mut buf, len) = padded(text.as_bytes());
    let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(got[0].payload, Payload::Base64(b"aGk="));
}

#[test]
fn an_element_of_records_is_charged_for_its_memory() {
    // What one element costs us is what the cap let a tape of that many values cost before.
    let ours = std::mem::size_of::<RawRecord>() + std::mem::size_of::<SourceRecord<'_>>();
    let node = std::mem::size_of::<simd_json::tape::Node<'_>>();
    assert!(
        ours <= RECORD_VALUES * node,
        "{ours} > {RECORD_VALUES} x {node}"
    );
    let max = MAX_EVENT_VALUES / RECORD_VALUES;
    for (elements, refused) in [(max - 10, false), (max + 10, true)] {
        let event = format!(r#"{{"Records":[{}0]}}"#, "0,".repeat(elements - 1));
        let (mut buf, len) = padded(event.as_bytes());
        let got = parse_kinesis_event(&mut buf, len, &mut SourceParser::new());
        match got {
            Ok(records) => assert!(!refused && records.len() == elements),
            Err(e) => assert!(
                refused && matches!(e, SourceError::Json(JsonError::TooManyValues { .. })),
                "{e:?}"
            ),
        }
    }
}

/// A record as AWS writes it ([`layout`]): `strings` are the values of its twelve string
/// keys in order (the eleventh, `encryptionType`, left out when `None`), `timestamp` the
/// token of `approximateArrivalTimestamp`; each string written as is or escaped as `pick`
/// says.
fn aws_record(
    strings: &[Option<String>],
    timestamp: &str,
    pick: &mut dyn FnMut() -> u8,
) -> Vec<u8> {
    const KEYS: [&str; 12] = [
        "{\"kinesis\":{\"kinesisSchemaVersion\":",
        ",\"partitionKey\":",
        ",\"sequenceNumber\":",
        ",\"data\":",
        ",\"encryptionType\":",
        "},\"eventSource\":",
        ",\"eventVersion\":",
        ",\"eventID\":",
        ",\"eventName\":",
        ",\"invokeIdentityArn\":",
        ",\"awsRegion\":",
        ",\"eventSourceARN\":",
    ];
    let mut out = Vec::new();
    for (i, (key, value)) in KEYS.iter().zip(strings).enumerate() {
        if i == 4 {
            out.extend_from_slice(b",\"approximateArrivalTimestamp\":");
            out.extend_from_slice(timestamp.as_bytes());
        }
        if let Some(value) = value {
            out.extend_from_slice(key.as_bytes());
            write_string(value, pick, &mut out);
        }
    }
    out.push(b'}');
    out
}

/// One record read from `text` (under a cap of `cap` values) by [`read_record`] and by the
/// key by key walk alone: the same result, the text left the same, the same values counted
/// and the walk left at the same place.
fn both_reads(text: &[u8], cap: usize) -> Result<(), TestCaseError> {
    let read = |layout: bool| {
        let mut buf = text.to_vec();
        let mut open = Vec::new();
        let mut walk = Walk::new(&mut buf, &mut open, cap);
        let got = walk.value().and_then(|kind| {
            if layout {
                read_record(&mut walk, kind, &mut layout::Seen::default())
            } else {
                read_any_record(&mut walk, kind)
            }
        });
        let after = (walk.values(), walk.end());
        (format!("{got:?}"), after, buf)
    };
    prop_assert_eq!(read(true), read(false), "{}", String::from_utf8_lossy(text));
    Ok(())
}

fn layout_string() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        24 => "[a-zA-Z0-9:/.-]{0,80}".prop_map(Some),
        1 => any_string().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

/// A byte edit: where (a fraction of the length), what (replace, insert, delete) and which
/// byte.
fn edit() -> impl Strategy<Value = (proptest::sample::Index, u8, u8)> {
    let bytes = proptest::sample::select(b"\" \\,:{}[]0a1.-e\x01\xc3\xff\t".to_vec());
    (any::<proptest::sample::Index>(), 0u8..3, bytes)
}

proptest! {
    /// Records of AWS's layout, with escapes, other types, keys left out, and bytes
    /// changed: the layout's reading is the key by key walk's, and so, in an event, the
    /// tape walk's.
    #[test]
    fn the_layout_reads_what_the_key_by_key_walk_reads(
        strings in proptest::collection::vec(layout_string(), 12),
        timestamp in prop_oneof![
            4 => Just("1711200968.517"),
            1 => proptest::sample::select(vec![
                "1711200968", "-0.5", "1e400", "1.5E3", "123456789012345678901234567890",
                "01", "1.", "-", "\"1\"", "null", "{}",
            ]),
        ],
        edits in prop_oneof![Just(Vec::new()), proptest::collection::vec(edit(), 1..3)],
        cap in prop_oneof![Just(usize::MAX), 20usize..36],
        seeds in prop_oneof![
            3 => Just(vec![0u8]),
            1 => proptest::collection::vec(prop_oneof![8 => Just(0u8), 1 => any::<u8>()], 1..16),
        ],
    ) {
        let mut style = seeds.iter().copied().cycle();
        let mut text = aws_record(&strings, timestamp, &mut || style.next().unwrap_or(0));
        let unedited = text.clone();
        for (at, what, byte) in edits {
            let at = at.index(text.len() + 1);
            match what {
                0 if at < text.len() => text[at] = byte,
                1 => text.insert(at, byte),
                _ if at < text.len() => drop(text.remove(at)),
                _ => {}
            }
        }
        both_reads(&text, cap)?;
        // Records that repeat the parts of the one before, or almost ([`layout::Seen`]).
        let records = [&unedited[..], &text, &text, &unedited].join(&b',');
        let event = [&b"{\"Records\":["[..], &records, b"]}"].concat();
        same_as_reference(&event)?;
    }
}

/// The records AWS sends, with and without `encryptionType`, are read by the layout (the
/// property test above would pass if it never were).
#[test]
fn aws_records_take_the_layout() {
    for encryption in [None, Some("KMS".to_owned())] {
        let mut strings: Vec<_> = ["1.0", "pk", "4959", "H4sI", "", "aws:kinesis", "1.0"]
            .into_iter()
            .map(|s| Some(s.to_owned()))
            .collect();
        strings[4] = encryption.clone();
        strings.extend(
            [
                "shardId-0:4959",
                "aws:kinesis:record",
                "arn:a",
                "us-east-1",
                "arn:b",
            ]
            .map(|s| Some(s.to_owned())),
        );
        let mut text = aws_record(&strings, "1711200968.517", &mut || 0);
        let mut open = Vec::new();
        let mut walk = Walk::new(&mut text, &mut open, usize::MAX);
        assert_eq!(walk.value(), Ok(Kind::Object));
        let record = layout::read(&mut walk, &mut layout::Seen::default()).expect("the layout");
        assert_eq!(walk.values(), 27 + 2 * usize::from(encryption.is_some()));
        assert_eq!(walk.end(), Ok(()));
        let text = EventText::new(walk.text());
        let record = record.resolve(&text);
        assert_eq!(record.payload, Payload::Base64(b"H4sI"));
        assert_eq!(record.encryption_type, encryption.as_deref());
        assert_eq!(record.event_id, Some("shardId-0:4959"));
        assert_eq!(record.sequence_number, Some("4959"));
        assert_eq!(record.partition_key, Some("pk"));
        assert_eq!(record.approximate_arrival_timestamp, Some(1711200968.517));
    }
}
