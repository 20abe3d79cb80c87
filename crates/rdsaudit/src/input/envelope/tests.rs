use super::*;
use crate::test_support::{gzip, padded};

fn parse_str(json: &str) -> Result<Vec<LogEnvelope<'static>>, EnvelopeError> {
    // Leaking is fine in tests and keeps them short.
    let scratch: &'static mut Vec<u8> = Box::leak(Box::default());
    parse_unpadded(&mut EnvelopeParser::new(), json.as_bytes(), scratch)
}

const DATA: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit","logStream":"c1-instance-1","subscriptionFilters":["to-kinesis","second"],"logEvents":[{"id":"37605431982366218745392619003296741302869208427839209472","timestamp":1711200969000,"message":"1711200969123456,c1-instance-1,admin,10.0.1.5,35,698024,QUERY,db,'SELECT 1',0"},{"id":"2","timestamp":1711200969001,"message":"x"}]}"#;

#[test]
fn data_message() {
    let envs = parse_str(DATA).unwrap();
    assert_eq!(envs.len(), 1);
    let e = &envs[0];
    assert_eq!(e.message_type, MessageType::Data);
    assert_eq!(e.owner, "123456789012");
    assert_eq!(e.log_group, "/aws/rds/cluster/c1/audit");
    assert_eq!(e.log_stream, "c1-instance-1");
    assert_eq!(e.subscription_filters, ["to-kinesis", "second"]);
    assert_eq!(e.policy_level, None);
    assert_eq!(e.log_events.len(), 2);
    assert_eq!(
        e.log_events[0].id,
        "37605431982366218745392619003296741302869208427839209472"
    );
    assert_eq!(e.log_events[0].timestamp, 1_711_200_969_000);
    assert!(e.log_events[0].message.ends_with("'SELECT 1',0"));
    assert_eq!(e.log_events[1].message, "x");
}

#[test]
fn policy_level_and_unknown_fields_ignored() {
    let json = r#"{"policyLevel":"ACCOUNT_LEVEL_POLICY","future":{"deep":[[[{"a":[1,2,{"b":null}]}]]],"x":"}{"},
        "messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s",
        "logEvents":[{"extra":[{"id":"nested, ignored"}],"id":"a","timestamp":5,"message":"m","more":true}],
        "subscriptionFilters":null, "zzz": 1.5}"#;
    let e = &parse_str(json).unwrap()[0];
    assert_eq!(e.policy_level, Some("ACCOUNT_LEVEL_POLICY"));
    assert!(e.subscription_filters.is_empty());
    assert_eq!(
        e.log_events,
        [LogEvent {
            id: "a",
            timestamp: 5,
            message: "m"
        }]
    );
}

#[test]
fn control_message() {
    let json = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1711200969000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}"#;
    let e = &parse_str(json).unwrap()[0];
    assert_eq!(e.message_type, MessageType::Control);
    assert_eq!(e.log_events.len(), 1);
    // Lenient: a bare control message is fine too.
    let e = &parse_str(r#"{"messageType":"CONTROL_MESSAGE"}"#).unwrap()[0];
    assert_eq!(e.message_type, MessageType::Control);
    assert_eq!(e.owner, "");
    assert!(e.log_events.is_empty());
    let e = &parse_str(r#"{"messageType":"NEW_KIND"}"#).unwrap()[0];
    assert_eq!(e.message_type, MessageType::Other("NEW_KIND"));
}

#[test]
fn missing_and_empty_log_events() {
    let json = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s"}"#;
    assert_eq!(
        parse_str(json).unwrap_err(),
        EnvelopeError::MissingField("logEvents")
    );
    let json = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#;
    assert!(parse_str(json).unwrap()[0].log_events.is_empty());
    let json = r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}"#;
    assert_eq!(
        parse_str(json).unwrap_err(),
        EnvelopeError::MissingField("owner")
    );
    assert_eq!(
        parse_str(r#"{"owner":"1"}"#).unwrap_err(),
        EnvelopeError::MissingField("messageType")
    );
}

#[test]
fn escapes_in_message() {
    let json = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[
        {"id":"1","timestamp":1,"message":"q=\"x\" b=\\ nl=\n tab=\t e=\u00e9 s=\ud83d\ude00 sl=\/ sq='it\\'s'"}]}"#;
    let e = &parse_str(json).unwrap()[0];
    assert_eq!(
        e.log_events[0].message,
        "q=\"x\" b=\\ nl=\n tab=\t e=é s=😀 sl=/ sq='it\\'s'"
    );
}

/// The one entry of `json`'s only envelope that fails, and its error; every other entry read.
fn one_failed(json: &str) -> (usize, LogEventError, String) {
    let envs = parse_str(json).unwrap();
    assert_eq!(envs.len(), 1, "{json}");
    let [failed] = envs[0].failed_events.as_slice() else {
        panic!("{json}: {:?}", envs[0].failed_events);
    };
    let raw = String::from_utf8(failed.raw.to_vec()).unwrap();
    (envs[0].log_events.len(), failed.error, raw)
}

#[test]
fn lone_surrogate_fails_its_log_event_alone() {
    // Session 32: simd-json refused the whole payload, every other event unread.
    for bad in [r#"\ud800"#, r#"\ud800x"#, r#"\udc00"#, r#"\ud800\u0041"#] {
        let event = format!(r#"{{"id":"1","timestamp":1,"message":"a,\"b\"\n{bad}"}}"#);
        let json = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{{"id":"0","timestamp":1,"message":"é\"0\""}},{event},{{"id":"2","timestamp":2,"message":"two"}}]}}"#
        );
        let (read, error, raw) = one_failed(&json);
        assert_eq!(read, 2, "{bad}");
        assert!(
            matches!(
                error,
                LogEventError::LoneSurrogate {
                    index: 1,
                    unit: 0xd800 | 0xdc00,
                    ..
                }
            ),
            "{bad}: {error:?}"
        );
        // Kept as it is in the payload (its escapes not undone).
        assert_eq!(raw, event, "{bad}");
        let envs = parse_str(&json).unwrap();
        assert_eq!(envs[0].log_events[0].message, "é\"0\"");
        assert_eq!(envs[0].log_events[1].message, "two");
        assert_eq!(envs[0].failed_events[0].index, 1);
    }
    // Outside the events (the payload's own): the whole payload, as before.
    for outside in [
        r#""logGroup":"g\ud800""#,
        r#""x\ud800":1,"logGroup":"g""#,
        r#""logGroup":"g","z":["\udc00"]"#,
    ] {
        let json = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1",{outside},"logStream":"s","logEvents":[{{"id":"1","timestamp":1,"message":"m"}}]}}"#
        );
        let err = parse_str(&json);
        assert!(
            matches!(err, Err(EnvelopeError::Json(JsonError::Invalid { .. }))),
            "{outside}: {err:?}"
        );
    }
}

#[test]
fn invalid_utf8_is_an_error() {
    let mut json = br#"{"messageType":"CONTROL_MESSAGE","x":"#.to_vec();
    json.extend_from_slice(b"\"\xff\xfe\"}");
    let mut scratch = Vec::new();
    let err = parse_unpadded(&mut EnvelopeParser::new(), &json, &mut scratch).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::Json(JsonError::Invalid { .. })),
        "{err:?}"
    );
}

#[test]
fn a_log_event_of_wrong_shape_fails_alone() {
    // Session 32: the first such entry failed the whole payload (`BadEvent`), the others
    // unread. Each case: the entry, the field told, what was found.
    let base = |events: &str| {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{{"id":"a","timestamp":1,"message":"first, \"1\""}},{events},{{"id":"z","timestamp":3,"message":"last\r\n2"}}]}}"#
        )
    };
    let cases = [
        (
            r#"{"id":"1","timestamp":"1711200969000","message":"m"}"#,
            "timestamp",
            "a string",
        ),
        (r#"{"id":1,"timestamp":1,"message":"m"}"#, "id", "a number"),
        (
            r#"{"id":"1","timestamp":1,"message":null}"#,
            "message",
            "null",
        ),
        (
            r#"{"id":"1","timestamp":1,"message":["20240101 00:00:00,h,u,c,1,1,QUERY,d,'DROP TABLE x',0"]}"#,
            "message",
            "an array",
        ),
        (
            r#"{"id":"1","timestamp":1.5,"message":"m"}"#,
            "timestamp",
            "a non-integer number",
        ),
        (
            r#"{"id":"1","timestamp":1e300,"message":"m"}"#,
            "timestamp",
            "a non-integer number",
        ),
        (
            r#"{"id":"1","timestamp":18446744073709551615,"message":"m"}"#,
            "timestamp",
            "an out-of-range number",
        ),
        (r#"{"id":"1","message":"m"}"#, "timestamp", "missing"),
        (
            r#"{"timestamp":1,"message":"1,2,\"3\"\n20240101 00:00:00,h,u,c,1,1,QUERY,d,'DROP TABLE x',0"}"#,
            "id",
            "missing",
        ),
        (r#"{"id":"1","timestamp":1}"#, "message", "missing"),
    ];
    for (event, field, found) in cases {
        let (read, error, raw) = one_failed(&base(event));
        assert_eq!(read, 2, "{event}");
        assert!(
            matches!(error, LogEventError::Field { index: 1, field: f, found: g, payload: None } if f.to_string() == field && g == found),
            "{event}: {error:?}"
        );
        assert_eq!(raw, event);
    }
    let (read, error, raw) = one_failed(&base(r#" "not an object" "#));
    assert_eq!(read, 2);
    assert_eq!(
        error,
        LogEventError::NotAnObject {
            index: 1,
            found: "a string",
            payload: None,
        }
    );
    assert_eq!(raw, r#""not an object""#);
    // The entries read are read as a payload without the failed one reads them.
    let envs = parse_str(&base(r#"{"id":1}"#)).unwrap();
    let good = parse_str(&base(r#"{"id":"1","timestamp":2,"message":"m"}"#)).unwrap();
    assert_eq!(envs[0].log_events[0], good[0].log_events[0]);
    assert_eq!(envs[0].log_events[1], good[0].log_events[2]);
    assert_eq!(envs[0].unbroken(), good[0].unbroken());
    assert_eq!(
        (envs[0].owner, envs[0].log_group, envs[0].log_stream),
        ("1", "g", "s")
    );
}

#[test]
fn wrong_types() {
    let base = |events: &str| {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":{events}}}"#
        )
    };
    // A control message's events are not read: one that fails fails the payload.
    assert!(matches!(
        parse_str(r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"id":1}]}"#).unwrap_err(),
        EnvelopeError::BadEvent { field: "id", .. }
    ));
    assert_eq!(
        parse_str(&base(r#"{}"#)).unwrap_err(),
        EnvelopeError::WrongType {
            field: "logEvents",
            expected: "an array",
            found: "an object"
        }
    );
    // Integer-valued floats are accepted.
    let e = &parse_str(&base(r#"[{"id":"1","timestamp":1.7112e12,"message":"m"}]"#)).unwrap()[0];
    assert_eq!(e.log_events[0].timestamp, 1_711_200_000_000);
    assert!(matches!(
        parse_str(r#"{"messageType":"DATA_MESSAGE","owner":12}"#).unwrap_err(),
        EnvelopeError::WrongType { field: "owner", .. }
    ));
    assert!(matches!(
        parse_str(r#"{"messageType":"CONTROL_MESSAGE","subscriptionFilters":[1]}"#).unwrap_err(),
        EnvelopeError::WrongType {
            field: "subscriptionFilters[]",
            ..
        }
    ));
    assert_eq!(
        parse_str("[1,2]").unwrap_err(),
        EnvelopeError::NotAnObject { found: "an array" }
    );
    assert_eq!(
        parse_str(r#""str""#).unwrap_err(),
        EnvelopeError::NotAnObject { found: "a string" }
    );
}

#[test]
fn back_to_back_objects() {
    let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logEvents":[{"id":"","timestamp":1,"message":"}{ \"}{\" \\"}]}"#;
    for sep in ["", "\n", " \r\n\t "] {
        let json = format!("{DATA}{sep}{control}{sep}{DATA}\n");
        let envs = parse_str(&json).unwrap();
        assert_eq!(envs.len(), 3, "sep {sep:?}");
        assert_eq!(envs[0].message_type, MessageType::Data);
        assert_eq!(envs[1].message_type, MessageType::Control);
        assert_eq!(envs[1].log_events[0].message, "}{ \"}{\" \\");
        assert_eq!(envs[2].log_events.len(), 2);
    }
    // Escapes in the first object must survive (they are unescaped in place).
    let first = r#"{"messageType":"CONTROL_MESSAGE","owner":"a\"b\\c\u00e9"}"#;
    let envs = parse_str(&format!("{first}{first}")).unwrap();
    assert_eq!(envs[0].owner, "a\"b\\cé");
    assert_eq!(envs[1].owner, "a\"b\\cé");
}

#[test]
fn back_to_back_errors() {
    // Second object broken: error offset points into it.
    let json = format!(r#"{DATA}{{"messageType":"DATA_MESSAGE","owner":}}"#);
    match parse_str(&json).unwrap_err() {
        EnvelopeError::Json(JsonError::Invalid { offset, .. }) => {
            assert!(offset >= DATA.len(), "{offset}")
        }
        other => panic!("{other:?}"),
    }
    // Trailing garbage after one object: not splittable, simd-json's own error.
    assert!(matches!(
        parse_str(&format!("{DATA} x")).unwrap_err(),
        EnvelopeError::Json(JsonError::Invalid { .. })
    ));
    // A `}{` inside a string of a single object is not a split point.
    let json = r#"{"messageType":"CONTROL_MESSAGE","owner":"} {"}"#;
    assert_eq!(parse_str(json).unwrap().len(), 1);
    // Unbalanced: one object then a stray `}`.
    assert!(parse_str(r#"{"a":1}}{"b":2}"#).is_err());
    // Unterminated string in the second object.
    assert!(parse_str(r#"{"messageType":"CONTROL_MESSAGE"}{"a":"}"#).is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for open in ["[", "{\"a\":"] {
        let json = open.repeat(100_000);
        let err = parse_str(&json).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::Json(JsonError::Invalid { .. })),
            "{err:?}"
        );
        let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse_str(&json).unwrap_err();
        match err {
            EnvelopeError::Json(JsonError::Invalid { msg, .. }) => {
                assert!(msg.contains("Depth"), "{msg}")
            }
            other => panic!("{other:?}"),
        }
    }
    // Deep but within simd-json's limit, inside an ignored field: skipped without recursion.
    let json = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","x":{}{}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    assert_eq!(parse_str(&json).unwrap().len(), 1);
}

#[test]
fn garbage_inputs_never_panic() {
    for json in [
        "",
        " ",
        "{",
        "}",
        "{}",
        "null",
        "1",
        "{\"messageType\"",
        "}{",
        "{}{",
        "{}}",
        "\"",
        "{\"a\":\"\\",
        "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{}]}",
    ] {
        let _ = parse_str(json);
    }
    assert_eq!(
        parse_str("{}").unwrap_err(),
        EnvelopeError::MissingField("messageType")
    );
}

#[test]
fn padding_contract() {
    let mut buf = DATA.as_bytes().to_vec();
    let len = buf.len();
    let err = EnvelopeParser::new().parse(&mut buf, len).unwrap_err();
    assert!(matches!(
        err,
        EnvelopeError::Json(JsonError::InsufficientPadding { .. })
    ));
    let err = EnvelopeParser::new()
        .parse(&mut [], usize::MAX)
        .unwrap_err();
    assert!(matches!(
        err,
        EnvelopeError::Json(JsonError::InsufficientPadding { .. })
    ));
}

#[test]
fn parser_reused_and_in_place_from_inflater() {
    let z = gzip(DATA.as_bytes());
    let mut inflater = crate::input::gzip::Inflater::new();
    let mut parser = EnvelopeParser::new();
    for _ in 0..3 {
        let (buf, len) = inflater.inflate(&z).unwrap().into_padded();
        let envs = parser.parse(buf, len).unwrap();
        assert_eq!(envs[0].log_events.len(), 2);
    }
    // Parsing a padded buffer leaves the padding untouched.
    let mut buf = DATA.as_bytes().to_vec();
    buf.extend_from_slice(&[0xAA; PADDING]);
    parser.parse(&mut buf, DATA.len()).unwrap();
    assert!(buf[DATA.len()..].iter().all(|b| *b == 0xAA));
}

/// A parser given back each payload's envelopes reads the next as a new parser does: the
/// lists lent from the spares hold nothing of the payloads before.
#[test]
fn recycled_lists_read_as_new_ones() {
    let escaped = r#"{"messageType":"DATA_MESSAGE","owner":"o","logGroup":"g\u0041","logStream":"s","subscriptionFilters":["f\n"],"logEvents":[{"id":"1","timestamp":1,"message":"a\"b"}]}"#;
    let firehose = format!("{DATA}\n{escaped}{DATA}");
    let control = r#"{"messageType":"CONTROL_MESSAGE"}"#;
    let payloads = [
        DATA, &firehose, control, escaped, "{", DATA, control, &firehose,
    ];
    let mut parser = EnvelopeParser::new();
    for json in payloads.iter().chain(&payloads) {
        let fresh = format!("{:?}", parse_str(json));
        let (mut buf, len) = padded(json.as_bytes());
        let envs = parser.parse(&mut buf, len);
        assert_eq!(format!("{envs:?}"), fresh, "{json}");
        if let Ok(list) = envs {
            parser.recycle(list);
        }
    }
}

/// Emptying a list for another lifetime keeps its room (the point of recycling).
#[test]
fn emptied_keeps_the_room() {
    let text = String::from("abc");
    let mut list: Vec<&str> = Vec::with_capacity(8);
    list.push(&text);
    let room = list.capacity();
    let kept: Vec<&'static str> = emptied(list);
    assert!(kept.is_empty());
    assert_eq!(kept.capacity(), room);
}

#[test]
fn is_send() {
    crate::test_support::assert_send::<EnvelopeParser>();
}

#[test]
fn splitter() {
    let mut p = Vec::new();
    assert!(split_objects(br#" {"a":"}"} {"b":{"c":1}}"#, &mut p));
    assert_eq!(p, [1..10, 11..24]);
    assert!(!split_objects(br#"{"a":1} ["#, &mut p));
    assert!(!split_objects(br#"{"a":"\"#, &mut p));
    assert!(split_objects(b"", &mut p));
    assert!(p.is_empty());
    assert!(may_have_several(b"{}\n {}"));
    assert!(!may_have_several(br#"{"a":[{},{}]}"#));
}

#[test]
fn too_many_values_are_refused_before_parsing() {
    let event = r#"{"id":"1","timestamp":1,"message":"x"}"#;
    let events = vec![event; 1000].join(",");
    let json = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{events}]}}"#
    );
    let (mut buf, len) = crate::test_support::padded(json.as_bytes());
    let err = EnvelopeParser::with_max_nodes(5_000)
        .parse(&mut buf, len)
        .unwrap_err();
    assert!(
        matches!(err, EnvelopeError::TooManyValues { bound, max: 5_000 } if bound > 5_000),
        "{err:?}"
    );
    // Nothing was unescaped or parsed: the same buffer parses under the default cap.
    let envelopes = EnvelopeParser::new().parse(&mut buf, len).unwrap();
    assert_eq!(envelopes[0].log_events.len(), 1000);
}

#[test]
fn the_value_cap_is_per_object_in_a_firehose_file() {
    let event = r#"{"id":"1","timestamp":1,"message":"x"}"#;
    let events = vec![event; 300].join(",");
    let one = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{events}]}}"#
    );
    // Each object has ~3,000 values: under a 4,000 cap alone, over it together.
    let file = [one.as_str(); 5].join("\n");
    let (mut buf, len) = crate::test_support::padded(file.as_bytes());
    let envelopes = EnvelopeParser::with_max_nodes(4_000)
        .parse(&mut buf, len)
        .unwrap();
    assert_eq!(envelopes.len(), 5);
    assert!(envelopes.iter().all(|e| e.log_events.len() == 300));
    let (mut buf, len) = crate::test_support::padded(one.as_bytes());
    assert!(matches!(
        EnvelopeParser::with_max_nodes(2_000).parse(&mut buf, len),
        Err(EnvelopeError::TooManyValues { max: 2_000, .. })
    ));
}

#[test]
fn a_field_that_decides_the_meaning_may_appear_only_once() {
    let events = r#"[{"id":"1","timestamp":1,"message":"m"}]"#;
    for (json, field) in [
        (
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":{events},"logEvents":[]}}"#
            ),
            "logEvents",
        ),
        (
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":{events},"messageType":"CONTROL_MESSAGE"}}"#
            ),
            "messageType",
        ),
        (
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logGroup":"h","logStream":"s","logEvents":{events}}}"#
            ),
            "logGroup",
        ),
    ] {
        let (mut buf, len) = padded(json.as_bytes());
        assert_eq!(
            EnvelopeParser::new().parse(&mut buf, len).unwrap_err(),
            EnvelopeError::DuplicateField(field)
        );
    }
}

/// Session 34's adversary LOW-2 (env/fh.json): payloads back to back (a Firehose-to-S3
/// object's shape), failed log events in the second and third. Both errors said
/// `logEvents[1]`, naming no payload, and the surrogate's "byte 634 of the payload" was its
/// byte in the whole text. Each names its payload (1-based) when there are several, and a
/// lone surrogate's byte is counted from its payload's `{` (its line's byte in `rdsaudit
/// decode`'s output).
#[test]
fn a_failed_log_event_of_back_to_back_payloads_names_its_payload_and_its_byte() {
    let payload = |event: &str| {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{{"id":"0","timestamp":1,"message":"m"}},{event}]}}"#
        )
    };
    let lone = r#"{"id":"1","timestamp":1,"message":"x\ud800"}"#;
    let no_id = r#"{"timestamp":1,"message":"y"}"#;
    let good = r#"{"id":"2","timestamp":1,"message":"z"}"#;
    let (first, second, third) = (payload(good), payload(lone), payload(no_id));
    // The backslash of `\ud800` in the second payload, counted from its `{`.
    let at = second.find(r"\ud800").unwrap();
    for sep in ["", "\n", " \r\n "] {
        let json = format!("{first}{sep}{second}{sep}{third}");
        let envs = parse_str(&json).unwrap();
        assert_eq!(envs.len(), 3, "{sep:?}");
        assert!(envs[0].failed_events.is_empty());
        let [two] = envs[1].failed_events.as_slice() else {
            panic!("{:?}", envs[1].failed_events)
        };
        let [three] = envs[2].failed_events.as_slice() else {
            panic!("{:?}", envs[2].failed_events)
        };
        assert_eq!(
            two.error.to_string(),
            format!(
                r"payload 2, logEvents[1] holds a lone surrogate \ud800 at byte {at} of the payload (no character: not text)"
            ),
            "{sep:?}"
        );
        assert!(matches!(two.error, LogEventError::LoneSurrogate { offset, .. } if offset == at));
        assert_eq!(
            three.error.to_string(),
            "payload 3, logEvents[1].id should be a string, found missing"
        );
        assert_eq!((two.raw, three.raw), (lone.as_bytes(), no_id.as_bytes()));
    }
    // One payload (a Kinesis record's): named by its entry alone, the byte its own (blanks
    // before its `{` not counted).
    let json = format!(" \n{second}\n");
    let envs = parse_str(&json).unwrap();
    assert_eq!(
        envs[0].failed_events[0].error.to_string(),
        format!(
            r"logEvents[1] holds a lone surrogate \ud800 at byte {at} of the payload (no character: not text)"
        )
    );
}

/// [`LogEventError`] stays as small as a Logs Insights row's error: every unparsed line's
/// reason is as large as the largest (its doc), and naming the payload must not grow it.
#[test]
fn a_log_event_error_is_no_larger_than_an_insights_rows() {
    use crate::input::insights_csv::InsightsError;
    assert!(
        std::mem::size_of::<LogEventError>() <= std::mem::size_of::<InsightsError>(),
        "{} > {}",
        std::mem::size_of::<LogEventError>(),
        std::mem::size_of::<InsightsError>()
    );
}
