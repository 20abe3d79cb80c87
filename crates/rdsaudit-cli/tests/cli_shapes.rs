//! Every input shape AWS tools and people produce, detected by content without flags, read
//! to the same events as the plain audit file, with the shape's provenance kept.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use rdsaudit::Dialect;
use rdsaudit_synth::delivery::{base64, control_message, gzip};
use serde_json::Value;

/// A corpus with hard cases (commas, quotes, raw newlines in names, non-UTF-8 statements).
fn lines(dialect: Dialect) -> Vec<Vec<u8>> {
    corpus(dialect, 2, 15, 40)
        .lines()
        .map(|l| l.line.clone())
        .collect()
}

fn objects(events: &[Value]) -> Vec<Value> {
    events.iter().map(|e| e["object"].clone()).collect()
}

/// What `parse` makes of the lines as a plain file.
fn plain(dir: &std::path::Path, lines: &[Vec<u8>]) -> Vec<Value> {
    let text: Vec<u8> = lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    let path = write(dir, "plain.log", &text);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    events
}

fn parse_bytes(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (i32, Vec<Value>, String) {
    let path = write(dir, name, bytes);
    parse(&[path.as_os_str()])
}

fn json_string(bytes: &[u8]) -> String {
    serde_json::to_string(&String::from_utf8_lossy(bytes)).unwrap()
}

#[test]
fn kinesis_get_records_output_and_a_pasted_data_string() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(Dialect::Aurora, 3, 5, 40);
    let records = corpus.kinesis_records();
    let cli: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                r#"{{"SequenceNumber":"{}","ApproximateArrivalTimestamp":"2024-05-01T12:00:00.123000+00:00","Data":"{}","PartitionKey":"{}"}}"#,
                r.sequence_number, r.data, r.partition_key
            )
        })
        .collect();
    let output = format!(
        "{{\n  \"Records\": [{}],\n  \"NextShardIterator\": \"AAAA\",\n  \"MillisBehindLatest\": 0\n}}\n",
        cli.join(",\n")
    );
    let (code, events, stderr) = parse_bytes(dir.path(), "get-records.json", output.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.len(), 15);
    assert_eq!(
        events[0]["sequence_number"],
        records[0].sequence_number.as_str()
    );
    let (_, from_event, _) = parse_bytes(dir.path(), "event.json", &corpus.kinesis_event());
    assert_eq!(objects(&events), objects(&from_event));
    // Pages back to back, as a shell loop over NextShardIterator appends them.
    let pages: String = cli
        .chunks(4)
        .map(|page| {
            format!(
                "{{\"Records\":[{}],\"NextShardIterator\":\"A\"}}\n",
                page.join(",")
            )
        })
        .collect();
    let (code, paged, stderr) = parse_bytes(dir.path(), "pages.json", pages.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(objects(&paged), objects(&events));
    assert_eq!(paged[14]["sequence_number"], events[14]["sequence_number"]);
    // One record's Data, pasted alone.
    let (code, events, stderr) = parse_bytes(
        dir.path(),
        "data.txt",
        format!("{}\n", records[1].data).as_bytes(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(objects(&events), objects(&from_event)[5..10]);
}

#[test]
fn aws_logs_filter_and_get_log_events() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lines(Dialect::MariaDb);
    let expected = plain(dir.path(), &lines);
    let events: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                r#"{{"logStreamName":"db1","timestamp":{},"message":{},"ingestionTime":1714564800456,"eventId":"3760543198236621874539261900329674130286920842783920{i:04}"}}"#,
                1_714_564_800_000i64 + i as i64,
                json_string(l)
            )
        })
        .collect();
    let filter = format!(
        r#"{{"events":[{}],"searchedLogStreams":[{{"logStreamName":"db1","searchedCompletely":true}}],"nextToken":"x"}}"#,
        events.join(",")
    );
    let (code, got, stderr) = parse_bytes(dir.path(), "filter.json", filter.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(objects(&got), objects(&expected));
    assert_eq!(got[3]["log_stream"], "db1");
    assert_eq!(
        got[3]["event_id"],
        "37605431982366218745392619003296741302869208427839200003"
    );
    assert_eq!(got[3]["cloudwatch_timestamp_ms"], 1_714_564_800_003i64);
    let get = r#"{"events":[{"timestamp":1714564801000,"message":"20240501 12:00:01,db1,app,10.0.0.5,7,0,DISCONNECT,shop,,0","ingestionTime":1714564801001}],"nextForwardToken":"f/1","nextBackwardToken":"b/1"}"#;
    let (code, got, stderr) = parse_bytes(dir.path(), "get.json", get.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["operation"], "DISCONNECT");
}

#[test]
fn export_to_s3_tail_and_insights_csv() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lines(Dialect::RdsMySql);
    let expected = plain(dir.path(), &lines);
    let mut export = Vec::new();
    let mut tail = Vec::new();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["@timestamp", "@message", "@logStream"])
        .unwrap();
    for (i, l) in lines.iter().enumerate() {
        let ms = i % 1000;
        export.extend_from_slice(format!("2024-05-01T12:00:00.{ms:03}Z ").as_bytes());
        export.extend_from_slice(l);
        export.push(b'\n');
        tail.extend_from_slice(
            format!("2024-05-01T12:00:00.{ms:03}000+00:00 db1.audit.log ").as_bytes(),
        );
        tail.extend_from_slice(l);
        tail.push(b'\n');
        csv.write_record([format!("2024-05-01 12:00:00.{ms:03}").as_bytes(), l, b"db1"])
            .unwrap();
    }
    // The export object is gzip, named 000000.gz by CloudWatch.
    for (name, bytes, stream) in [
        ("000000.gz", gzip(&export), None),
        ("tail.txt", tail, Some("db1.audit.log")),
        ("results.csv", csv.into_inner().unwrap(), Some("db1")),
    ] {
        let (code, got, stderr) = parse_bytes(dir.path(), name, &bytes);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert_eq!(objects(&got), objects(&expected), "{name}");
        assert_eq!(
            got[2]["cloudwatch_timestamp_ms"], 1_714_564_800_002i64,
            "{name}"
        );
        assert_eq!(got[2]["log_stream"].as_str(), stream, "{name}");
    }
}

#[test]
fn syslog_output_is_read_or_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rfc3339 = b"2024-05-01T12:00:00.250000+00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\n";
    let (code, got, stderr) = parse_bytes(dir.path(), "syslog", rfc3339);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(got[0]["timestamp"], "2024-05-01T12:00:00.250000Z");
    assert_eq!(got[0]["object"], "SELECT 1");
    let rfc3164 = b"May  1 12:00:00 db1 mysql-server_auditing:  db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\n";
    let (code, got, stderr) = parse_bytes(dir.path(), "messages", rfc3164);
    assert_ne!(code, 0);
    assert!(got.is_empty());
    assert!(
        stderr.contains("messages") && stderr.contains("RFC 3164"),
        "{stderr}"
    );
}

#[test]
fn byte_order_marks_and_utf16() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(Dialect::MariaDb, 2, 5, 0);
    let mut event = b"\xEF\xBB\xBF".to_vec();
    event.extend_from_slice(&corpus.kinesis_event());
    let (code, got, stderr) = parse_bytes(dir.path(), "event.json", &event);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(got.len(), 10);
    let text = String::from_utf8(corpus.plain_text()).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let (code, got, stderr) = parse_bytes(dir.path(), "ps-redirect.log", &utf16);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(got.len(), 10);
    assert_eq!(got[0]["line"], 1);
    // UTF-16 that does not decode: one error naming the encoding, not a line per NUL run.
    utf16.push(b'x');
    let (code, got, stderr) = parse_bytes(dir.path(), "odd.log", &utf16);
    assert_eq!(code, 1);
    assert!(got.is_empty());
    assert!(
        stderr.contains("odd.log") && stderr.contains("UTF-16LE"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("UTF-16").count(), 1, "{stderr}");
}

/// One log event holding two audit lines joined by `\n`, a numeric sequenceNumber and a
/// 400-digit arrival time in a Kinesis record, and a control message among Firehose payloads.
#[test]
fn glued_events_wide_numbers_and_control_messages() {
    let dir = tempfile::tempdir().unwrap();
    let a = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'DELETE FROM t',0";
    let b = "20240501 12:00:01,db1,app,10.0.0.5,7,10,QUERY,shop,'SELECT 1',0";
    let envelope = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{{"id":"42","timestamp":1714564800000,"message":{}}}]}}"#,
        serde_json::to_string(&format!("{a}\n{b}")).unwrap()
    );
    let data = base64(&gzip(envelope.as_bytes()));
    let event = format!(
        r#"{{"Records":[{{"kinesis":{{"data":"{data}","sequenceNumber":49590338271490256608559692538361571095921575989136588898,"approximateArrivalTimestamp":{}}}}}]}}"#,
        "7".repeat(400)
    );
    let (code, got, stderr) = parse_bytes(dir.path(), "event.json", event.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(got.len(), 2, "{stderr}");
    assert_eq!(got[0]["object"], "DELETE FROM t");
    assert_eq!(got[1]["object"], "SELECT 1");
    assert_eq!(
        (got[0]["event_id"].clone(), got[0]["line"].clone()),
        ("42".into(), 1.into())
    );
    assert_eq!(
        (got[1]["event_id"].clone(), got[1]["line"].clone()),
        ("42".into(), 2.into())
    );
    // Firehose object: data, control, data.
    let mut object = gzip(envelope.as_bytes());
    object.extend_from_slice(&gzip(&control_message()));
    object.extend_from_slice(&gzip(envelope.as_bytes()));
    let path = write(dir.path(), "firehose-object", &object);
    let out = rdsaudit().arg("stats").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("control messages: 1 "),
        "{stdout}{stderr}"
    );
}

#[test]
fn download_portion_truncation_is_reported_not_glued() {
    let dir = tempfile::tempdir().unwrap();
    let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'SELECT 1',0\n\
        20240615 10:31:01,h,u,l,1,3,QUERY,,'INSERT INTO t VALUES (\\'abc\n \
        [Your log message was truncated]\n\
        def\\')',0\n\
        20240615 10:31:03,h,u,l,1,5,QUERY,,'SELECT 3',0\n";
    let (code, got, stderr) = parse_bytes(dir.path(), "portion.log", log);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        objects(&got),
        [Value::from("SELECT 1"), Value::from("SELECT 3")]
    );
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(
        got.iter()
            .all(|e| !e["object"].as_str().unwrap().contains("truncated"))
    );
}

/// Blank lines are counted the same in a file and in one CloudWatch message holding the same
/// bytes (review 4: a file of blank lines reported `audit lines: 0` and nothing else, the
/// same message one unparsed line), and every line is an audit line or a blank line.
#[test]
fn blank_lines_are_counted_in_a_file_and_in_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let a = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'DELETE FROM t',0";
    for (text, blanks, lines) in [
        ("\n\n\n".to_owned(), 3, 0),
        (format!("\n{a}\n\r\n\n{a}\n"), 3, 2),
    ] {
        let envelope = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{{"id":"42","timestamp":1714564800000,"message":{}}}]}}"#,
            serde_json::to_string(&text).unwrap()
        );
        let event = format!(
            r#"{{"Records":[{{"kinesis":{{"data":"{}","sequenceNumber":"1"}}}}]}}"#,
            base64(&gzip(envelope.as_bytes()))
        );
        for (name, bytes) in [("a.log", text.as_bytes()), ("event.json", event.as_bytes())] {
            let (code, got, stderr) = parse_bytes(dir.path(), name, bytes);
            assert_eq!(code, 0, "{name}: {stderr}");
            assert_eq!(got.len(), lines, "{name}: {stderr}");
            assert_eq!(
                balanced(&stderr, "audit lines"),
                [lines as u64, 0],
                "{stderr}"
            );
            assert_eq!(summary_counts(&stderr, "blank lines"), [blanks], "{stderr}");
        }
    }
}

/// Export to S3 and `aws logs tail` text written with CR line ends only (classic Mac, `tr
/// '\n' '\r'`) reads as its LF twin: the same events, line numbers, flags, rejects (with
/// their prefix) and exit code, from a file larger than a stream piece (256 KiB), gzip and
/// stdin. Before: 1 event holding every line in its user name, flagged, 0 unparsed, exit 0.
#[test]
fn cr_only_export_and_tail_read_as_their_lf_twins() {
    let dir = tempfile::tempdir().unwrap();
    let mut lf = String::new();
    for i in 0..4_000 {
        let ms = i % 1000;
        let stream = if i % 2 == 0 { "" } else { "db1.audit.log " };
        lf.push_str(&format!(
            "2024-05-01T12:00:00.{ms:03}Z {stream}20240501 12:00:00,db1,app,10.0.0.5,7,{i},QUERY,shop,'SELECT {i}',0\n"
        ));
        if i == 2_000 {
            lf.push_str("2024-05-01T12:00:00.000Z not audit text\n");
        }
    }
    assert!(lf.len() > 256 << 10);
    let run = |name: &str, bytes: &[u8], stdin: bool| {
        let path = write(dir.path(), name, bytes);
        let rejects = dir.path().join(format!("{name}.rejects"));
        let mut cmd = rdsaudit();
        cmd.arg("parse").arg("--rejects").arg(&rejects);
        let out = if stdin {
            cmd.write_stdin(bytes.to_vec()).output().unwrap()
        } else {
            cmd.arg(&path).output().unwrap()
        };
        let mut events = ndjson(&out.stdout);
        for e in &mut events {
            e.as_object_mut().unwrap().remove("file");
        }
        let mut rejects = ndjson(&std::fs::read(&rejects).unwrap());
        for r in &mut rejects {
            r.as_object_mut().unwrap().remove("file");
        }
        (out.status.code().unwrap(), events, rejects)
    };
    let expected = run("lf.txt", lf.as_bytes(), false);
    assert_eq!(expected.0, 1);
    assert_eq!(expected.1.len(), 4_000);
    assert_eq!(expected.1[3_999]["line"], 4_001);
    assert_eq!(expected.2.len(), 1);
    assert_eq!(expected.2[0]["line"], 2_002);
    assert_eq!(
        expected.2[0]["raw"],
        "2024-05-01T12:00:00.000Z not audit text"
    );
    let cr = lf.replace('\n', "\r");
    for (name, bytes, stdin) in [
        ("cr.txt", cr.clone().into_bytes(), false),
        ("000000.gz", gzip(cr.as_bytes()), false),
        ("stdin", cr.clone().into_bytes(), true),
        ("crlf.txt", lf.replace('\n', "\r\n").into_bytes(), false),
    ] {
        let got = run(name, &bytes, stdin);
        assert!(
            got == expected,
            "{name}: {:?}",
            (got.0, got.1.len(), &got.2)
        );
    }
}

/// A user name holding a lone CR and a forged prefixed line: in LF text one event, the CR
/// and the forged line inside its user name, flagged (a CR is no line break where LFs are);
/// in CR-only text the forged line is a line, and an event of its own, flagged with its
/// neighbours, the name's first half an unparsed line (exit 1).
#[test]
fn a_names_lone_cr_is_a_break_only_in_cr_only_text() {
    let dir = tempfile::tempdir().unwrap();
    let forged =
        "2024-05-01T12:00:01.000Z 20241231 23:59:59,d,admin,h,9,9,QUERY,mysql,'DROP TABLE t1',0";
    let name = format!("x\r{forged}\ry");
    let lf = format!(
        "2024-05-01T12:00:00.000Z 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\n\
         2024-05-01T12:00:01.000Z 20240501 12:00:01,db1,{name},10.0.0.9,0,0,FAILED_CONNECT,,,1045\n\
         2024-05-01T12:00:02.000Z 20240501 12:00:02,db1,app,10.0.0.5,7,10,QUERY,shop,'SELECT 2',0\n"
    );
    let (code, events, stderr) = parse_bytes(dir.path(), "lf.txt", lf.as_bytes());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["username"], name.as_str());
    assert_eq!(events[1]["line"], 2);
    assert_eq!(events[2]["line"], 3);
    assert!(events.iter().all(|e| e["ambiguous"] == true));
    // CR text is told by a CR past 8 KiB (`prefixed::CR_REACH`): clean lines after these.
    let clean = "2024-05-01T12:00:03.000Z 20240501 12:00:03,db1,app,10.0.0.5,7,11,QUERY,shop,'SELECT 3',0\n";
    let cr = format!("{lf}{}", clean.repeat(120)).replace('\n', "\r");
    let (code, events, stderr) = parse_bytes(dir.path(), "cr.txt", cr.as_bytes());
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<_> = events.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines[..3], [1, 3, 5]);
    assert_eq!(lines.len(), 123);
    assert_eq!(events[1]["timestamp"], "2024-12-31T23:59:59.000000Z");
    assert!(events[..3].iter().all(|e| e["ambiguous"] == true));
    assert!(stderr.contains("line 2:"), "{stderr}");
    // A short CR text is one event, flagged, its lines in the name (a limit).
    let short = lf.replace('\n', "\r");
    let (_, events, stderr) = parse_bytes(dir.path(), "short.txt", short.as_bytes());
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["ambiguous"], true);
}
