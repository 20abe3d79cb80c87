//! The walk over the event text against the simd-json tape walk it replaced
//! ([`super::reference`]), on generated events of every shape a record can have.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::input::json::walk::tests::{
    Tree, any_string, any_value, emit, extra, field, same_reading, string,
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
        &mut SourceParser::new(),
        &mut |record, text| found.push(record.copy_to(text, &mut copied)),
    );
    if let Ok(records) = &ours {
        let copied = EventText::new(&copied);
        let early: Vec<_> = found.iter().map(|r| r.resolve(&copied)).collect();
        prop_assert_eq!(&early, records);
    }
    let oracle = reference::parse_kinesis_event(&mut ref_buf, len, &mut Default::default());
    same_reading(&ours, &oracle, text)
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
        &br#"{"Records":{}} x"#[..],
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

#[test]
fn an_element_of_records_is_charged_for_its_memory() {
    // What one element costs us is what the cap let a tape of that many values cost before.
    let ours = std::mem::size_of::<RawRecord>() + std::mem::size_of::<SourceRecord<'_>>();
    let node = std::mem::size_of::<simd_json::tape::Node<'_>>();
    assert!(
        ours <= (RECORD_VALUES + 1) * node,
        "{ours} > {} x {node}",
        RECORD_VALUES + 1
    );
    let max = MAX_EVENT_VALUES / (RECORD_VALUES + 1);
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
