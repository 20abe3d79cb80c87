use super::*;
use crate::input::envelope::{EnvelopeParser, MessageType};
use crate::input::gzip::Inflater;
use crate::test_support::{base64 as b64, gzip as gz, padded};

const ENVELOPE: &str = r#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/instance/db1/audit","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1711200969000,"message":"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,"}]}"#;

fn kinesis_event(records: &[String]) -> String {
    format!(r#"{{"Records":[{}]}}"#, records.join(","))
}

fn kinesis_record(data: &str, seq: &str, enc: &str) -> String {
    format!(
        r#"{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"pk","sequenceNumber":"{seq}","data":"{data}","approximateArrivalTimestamp":1711200969.123,"encryptionType":"{enc}"}},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:{seq}","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/r","awsRegion":"eu-west-1","eventSourceARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/audit"}}"#
    )
}

#[test]
fn kinesis_end_to_end() {
    let data = b64(&gz(ENVELOPE.as_bytes()));
    // JSON producers may escape `/` as `\/`: simd-json undoes it in place.
    let escaped = data.replace('/', "\\/");
    let event = kinesis_event(&[
        kinesis_record(
            &data,
            "49590338271490256608559692538361571095921575989136588898",
            "KMS",
        ),
        kinesis_record(&escaped, "2", "NONE"),
    ]);
    assert_eq!(detect(event.as_bytes()), InputKind::KinesisEvent);
    let (mut buf, len) = padded(event.as_bytes());
    let mut parser = SourceParser::new();
    let records = parse_kinesis_event(&mut buf, len, &mut parser).unwrap();
    assert_eq!(records.len(), 2);
    let r = &records[0];
    assert_eq!(
        r.sequence_number,
        Some("49590338271490256608559692538361571095921575989136588898")
    );
    assert_eq!(
        r.event_id,
        Some("shardId-000000000000:49590338271490256608559692538361571095921575989136588898")
    );
    assert_eq!(r.partition_key, Some("pk"));
    assert_eq!(r.encryption_type, Some("KMS"));
    assert_eq!(r.approximate_arrival_timestamp, Some(1_711_200_969.123));

    let mut decoded = Vec::new();
    let mut inflater = Inflater::new();
    let mut envelopes = EnvelopeParser::new();
    for r in &records {
        let Payload::Base64(b) = r.payload else {
            panic!("{:?}", r.payload)
        };
        decode_base64(b, &mut decoded).unwrap();
        assert_eq!(detect(&decoded), InputKind::CloudWatchGzip);
        let (buf, len) = inflater.inflate(&decoded).unwrap().into_padded();
        assert_eq!(detect(buf.get(..len).unwrap()), InputKind::CloudWatchJson);
        let envs = envelopes.parse(buf, len).unwrap();
        assert_eq!(envs[0].message_type, MessageType::Data);
        assert!(envs[0].log_events[0].message.contains("'SELECT 1'"));
    }
}

#[test]
fn unknown_encryption_type_accepted() {
    let event = kinesis_event(&[kinesis_record("aGk=", "7", "AES_9000_FUTURE")]);
    let (mut buf, len) = padded(event.as_bytes());
    let records = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(records[0].encryption_type, Some("AES_9000_FUTURE"));
    assert_eq!(records[0].payload, Payload::Base64(b"aGk="));
}

#[test]
fn bad_records_do_not_fail_the_event() {
    let event = r#"{"Records":[
        {"eventID":"e1","kinesis":{"sequenceNumber":"1","partitionKey":"p"}},
        {"eventID":"e2","kinesis":{"sequenceNumber":"2","data":12}},
        {"eventID":"e3","kinesis":"nope"},
        {"eventID":"e4"},
        "not a record",
        {"kinesis":{"sequenceNumber":6,"data":"aGk","approximateArrivalTimestamp":"x","encryptionType":null}},
        {"kinesis":{"data":"aGk=","sequenceNumber":"7","extra":{"deep":[[[[{}]]]]}},"future":[1,2,3]}
    ]}"#;
    let (mut buf, len) = padded(event.as_bytes());
    let rs = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(rs.len(), 7);
    assert_eq!(rs[0].payload, Payload::Invalid(RecordProblem::MissingData));
    assert_eq!(rs[0].sequence_number, Some("1"));
    assert_eq!(rs[0].event_id, Some("e1"));
    assert_eq!(
        rs[1].payload,
        Payload::Invalid(RecordProblem::DataNotAString("a number"))
    );
    assert_eq!(rs[1].sequence_number, Some("2"));
    assert_eq!(
        rs[2].payload,
        Payload::Invalid(RecordProblem::KinesisNotAnObject("a string"))
    );
    let Payload::Invalid(RecordProblem::NoRecordKey { page: 1, .. }) = rs[3].payload else {
        panic!("{:?}", rs[3].payload)
    };
    assert_eq!(
        rs[4].payload,
        Payload::Invalid(RecordProblem::NotAnObject("a string"))
    );
    // Wrong-typed metadata is treated as absent; unpadded base64 is kept for decoding.
    assert_eq!(rs[5].payload, Payload::Base64(b"aGk"));
    assert_eq!(rs[5].sequence_number, None);
    assert_eq!(rs[5].approximate_arrival_timestamp, None);
    assert_eq!(rs[6].payload, Payload::Base64(b"aGk="));
    assert_eq!(rs[6].sequence_number, Some("7"));
    assert_eq!(
        RecordProblem::MissingData.to_string(),
        "record has no `kinesis.data`"
    );
}

#[test]
fn unusable_events_are_errors() {
    let mut p = SourceParser::new();
    let mut run = |s: &str| {
        let (mut buf, len) = padded(s.as_bytes());
        parse_kinesis_event(&mut buf, len, &mut p).map(|r| r.len())
    };
    assert_eq!(run(r#"{"Records":[]}"#), Ok(0));
    assert_eq!(run(r#"{}"#), Err(SourceError::MissingField("Records")));
    assert!(matches!(
        run(r#"{"Records":{}}"#),
        Err(SourceError::WrongType {
            field: "Records",
            ..
        })
    ));
    assert!(matches!(run(r#"[]"#), Err(SourceError::NotAnObject { .. })));
    assert!(matches!(
        run(r#"{"Records":["#),
        Err(SourceError::Json(JsonError::Invalid { .. }))
    ));
    assert!(matches!(
        run(""),
        Err(SourceError::Json(JsonError::Invalid { .. }))
    ));
    assert!(matches!(
        run(&"[".repeat(100_000)),
        Err(SourceError::Json(JsonError::Invalid { .. }))
    ));
    let mut short = b"{}".to_vec();
    assert!(matches!(
        parse_kinesis_event(&mut short, 2, &mut p),
        Err(SourceError::Json(JsonError::InsufficientPadding { .. }))
    ));
}

#[test]
fn awslogs_event() {
    let data = b64(&gz(ENVELOPE.as_bytes()));
    let event = format!(r#"{{"awslogs":{{"data":"{data}","unknown":1}}}}"#);
    assert_eq!(detect(event.as_bytes()), InputKind::AwslogsEvent);
    let (mut buf, len) = padded(event.as_bytes());
    let mut p = SourceParser::new();
    let rec = parse_awslogs_event(&mut buf, len, &mut p).unwrap();
    assert_eq!(rec.payload, Payload::Base64(data.as_bytes()));
    assert_eq!(rec.sequence_number, None);

    let mut run = |s: &str| {
        let (mut buf, len) = padded(s.as_bytes());
        parse_awslogs_event(&mut buf, len, &mut p).map(|_| ())
    };
    assert_eq!(run("{}"), Err(SourceError::MissingField("awslogs")));
    assert_eq!(
        run(r#"{"awslogs":{}}"#),
        Err(SourceError::MissingField("awslogs.data"))
    );
    assert!(matches!(
        run(r#"{"awslogs":[]}"#),
        Err(SourceError::WrongType {
            field: "awslogs",
            ..
        })
    ));
    assert!(matches!(
        run(r#"{"awslogs":{"data":null}}"#),
        Err(SourceError::WrongType {
            field: "awslogs.data",
            ..
        })
    ));
    // A repeated key would hide one payload (review 6).
    assert_eq!(
        run(r#"{"awslogs":{"data":"aGk="},"awslogs":{"data":"aGk="}}"#),
        Err(SourceError::DuplicateField("awslogs"))
    );
    assert_eq!(
        run(r#"{"awslogs":{"data":"aGk=","data":"aGk="}}"#),
        Err(SourceError::DuplicateField("awslogs.data"))
    );
}

#[test]
fn base64_rules() {
    let mut out = vec![1, 2, 3];
    decode_base64(b"aGVsbG8=", &mut out).unwrap();
    assert_eq!(out, b"hello");
    decode_base64(b"aGVsbG8", &mut out).unwrap();
    assert_eq!(out, b"hello", "missing padding is accepted");
    decode_base64(b"", &mut out).unwrap();
    assert!(out.is_empty());
    let err = decode_base64(b"aGV*bG8=", &mut out).unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Base64 {
                offset: Some(3),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        decode_base64(b"aGVs\nbG8=", &mut out).unwrap_err(),
        SourceError::Base64 {
            offset: Some(4),
            ..
        }
    ));
    assert!(matches!(
        decode_base64(b"a", &mut out).unwrap_err(),
        SourceError::Base64 { .. }
    ));
    // URL-safe alphabet is not STANDARD, and the error says so at its first `-` or `_`.
    assert_eq!(
        decode_base64(b"-_-_", &mut out).unwrap_err(),
        SourceError::UrlSafeBase64 {
            offset: 0,
            byte: b'-'
        }
    );
    assert_eq!(
        decode_base64(b"aGVsbG8_d29y", &mut out).unwrap_err(),
        SourceError::UrlSafeBase64 {
            offset: 7,
            byte: b'_'
        }
    );
    // Another bad byte before it: not told as URL-safe.
    assert!(matches!(
        decode_base64(b"aGV*bG8_", &mut out).unwrap_err(),
        SourceError::Base64 {
            offset: Some(3),
            ..
        }
    ));
    // Non-canonical trailing bits.
    assert!(decode_base64(b"aGVsbG9=", &mut out).is_err());
    assert_eq!(
        decode_base64_with_limit(b"aGVsbG8gd29ybGQ=", &mut out, 5).unwrap_err(),
        SourceError::TooLarge {
            encoded: 16,
            limit: 5
        }
    );
    decode_base64_with_limit(b"aGVsbG8=", &mut out, 5).unwrap();
    assert_eq!(out, b"hello");
}

#[test]
fn detection() {
    assert_eq!(detect(b""), InputKind::AuditText);
    assert_eq!(detect(b"{"), InputKind::CloudWatchJson);
    assert_eq!(
        detect(br#"{"x":{"Records":1},"Records":[]}"#),
        InputKind::KinesisEvent
    );
    assert_eq!(
        detect(br#"{"x":"\"Records\"","y":[{"awslogs":1}],"logEvents":[]}"#),
        InputKind::CloudWatchJson
    );
    assert_eq!(
        detect(br#"{"a":1,"b":true,"c":null}"#),
        InputKind::CloudWatchJson
    );
    assert_eq!(detect(ENVELOPE.as_bytes()), InputKind::CloudWatchJson);
    // Review of issue 12: a text file whose first byte is `{` lost all its lines.
    assert_eq!(
        detect(
            b"{ exported by a script }
20240615 10:31:00,db1,u,h,1,2,QUERY,,'x',0
"
        ),
        InputKind::AuditText
    );
    assert_eq!(
        detect(b"{\"a\":1}\n2024-06-15T10:31:00.5,db1,u,h,1,2,QUERY,,'x',0\n"),
        InputKind::AuditText
    );
    assert_eq!(
        detect(b"1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0\n"),
        InputKind::AuditText
    );
    let text =
        b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,\n";
    assert_eq!(detect(&gz(text)), InputKind::CloudWatchGzip);
    let mut inflater = Inflater::new();
    let out = inflater.inflate(&gz(text)).unwrap();
    assert_eq!(detect(out.bytes()), InputKind::AuditText);
    // Malformed JSON never panics.
    for s in [
        "{\"",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":\"",
        "{\"a\":[",
        "{\"a\"x",
        "{,,",
        "{\"a\":1,",
        "{\"a\\",
        "{\"a\":{]]]}",
    ] {
        let _ = detect(s.as_bytes());
    }
}

#[test]
fn is_send() {
    crate::test_support::assert_send::<SourceParser>();
}

#[test]
fn an_event_of_millions_of_values_is_refused_before_parsing() {
    let mut event = br#"{"Records":["#.to_vec();
    event.extend(b"0,".repeat(2_500_000));
    event.extend(br#"0]}"#);
    let (mut buf, len) = padded(&event);
    let err = parse_kinesis_event(&mut buf, len, &mut SourceParser::new()).unwrap_err();
    assert!(
        matches!(err, SourceError::Json(JsonError::TooManyValues { bound, max: MAX_EVENT_VALUES }) if bound > MAX_EVENT_VALUES),
        "{err:?}"
    );
}

/// A logs API page that is not JSON is told by where it goes wrong in the whole input: the
/// line, the column and the byte, whatever page it is in (simd-json said "at byte 1" for a
/// bad escape, or the offset within the page for a later page).
#[test]
fn logs_api_syntax_errors_name_the_line_and_column_in_the_input() {
    use crate::input::logs_api::{LogsApiError, LogsApiParser};
    let page = r#"{"events":[{"timestamp":1,"message":"a"}]}"#;
    // (A page after the first that does not read is kept whole, the others read: session 31.)
    let cases = [
        (
            "\n{\"events\":[{\"timestamp\":1,\n \"message\":\"a\\qb\"}]}\n".to_owned(),
            (3, 14, "invalid escape"),
        ),
        (
            r#"{"events":[{"timestamp": 12 "message":"x"}]}"#.to_owned(),
            (1, 29, "expected `,` or `}`"),
        ),
        (
            page[..25].to_owned(),
            (1, 26, "expected `,` or `}`, found the end of the text"),
        ),
    ];
    for (text, (line, column, msg)) in cases {
        let err = LogsApiParser::new()
            .parse(text.as_bytes(), &mut Vec::new())
            .unwrap_err();
        let LogsApiError::Syntax {
            line: l,
            column: c,
            msg: m,
            offset,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*l, *c, m.as_str()), (line, column, msg), "{text}");
        assert_eq!(
            crate::input::json::line_column(text.as_bytes(), *offset),
            (line, column)
        );
        assert!(
            err.to_string().starts_with(&format!(
                "invalid JSON at line {line}, column {column} (byte {offset}): "
            )),
            "{err}"
        );
    }
}
