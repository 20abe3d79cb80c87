//! `rdsaudit encode` and `rdsaudit decode` through the real binary: every delivery shape
//! round-trips to the same audit lines, and `parse` reads the encoded shape to the same events
//! as the plain file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use serde_json::Value;

/// Runs `rdsaudit <args>` and returns stdout, asserting success.
fn run(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = rdsaudit().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    out.stdout
}

#[test]
fn every_target_round_trips_to_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in DIALECTS {
        let corpus = corpus(dialect, 3, 40, 40);
        let log = write(dir.path(), "audit.log", &corpus.plain_text());
        let expected: Vec<String> = corpus
            .lines()
            .map(|l| String::from_utf8_lossy(&l.line).into_owned())
            .collect();
        for target in ["kinesis", "awslogs", "gzip", "firehose"] {
            let encoded = run(&[
                "encode".as_ref(),
                "--to".as_ref(),
                target.as_ref(),
                "--events-per-record".as_ref(),
                "25".as_ref(),
                log.as_os_str(),
            ]);
            let path = write(dir.path(), &format!("encoded-{target}"), &encoded);
            let payloads = ndjson(&run(&["decode".as_ref(), path.as_os_str()]));
            let per_payload = if matches!(target, "kinesis" | "firehose") {
                25
            } else {
                120
            };
            assert_eq!(payloads.len(), 120usize.div_ceil(per_payload), "{target}");
            let events: Vec<&Value> = payloads
                .iter()
                .flat_map(|p| p["logEvents"].as_array().unwrap())
                .collect();
            let messages: Vec<&str> = events
                .iter()
                .map(|e| e["message"].as_str().unwrap())
                .collect();
            assert_eq!(messages, expected, "{target} {dialect:?}");
            // Realistic ids: 56 digits, unique, increasing; the event time is the line's.
            let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
            assert!(
                ids.iter()
                    .all(|id| id.len() == 56 && id.bytes().all(|b| b.is_ascii_digit()))
            );
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{target}");
            for (e, line) in events.iter().zip(corpus.lines()) {
                assert_eq!(e["timestamp"], line.expected.timestamp_us.div_euclid(1000));
            }
            // parse reads the encoded shape to the events of the plain file.
            let (code, parsed, stderr) = parse(&[path.as_os_str()]);
            let (_, plain, _) = parse(&[log.as_os_str()]);
            assert_eq!(code, 0, "{target}: {stderr}");
            let objects = |v: &[Value]| v.iter().map(|e| e["object"].clone()).collect::<Vec<_>>();
            assert_eq!(objects(&parsed), objects(&plain), "{target}");
        }
    }
}

#[test]
fn lines_per_event_joins_lines_in_a_message_and_parse_splits_them_again() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in DIALECTS {
        let corpus = corpus(dialect, 2, 20, 40);
        let log = write(dir.path(), "audit.log", &corpus.plain_text());
        let lines: Vec<Vec<u8>> = corpus.lines().map(|l| l.line.clone()).collect();
        let encoded = run(&[
            "encode".as_ref(),
            "--lines-per-event".as_ref(),
            "3".as_ref(),
            log.as_os_str(),
        ]);
        let path = write(dir.path(), "multi.json", &encoded);
        let payloads = ndjson(&run(&["decode".as_ref(), path.as_os_str()]));
        let messages: Vec<String> = payloads
            .iter()
            .flat_map(|p| p["logEvents"].as_array().unwrap().clone())
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = lines
            .chunks(3)
            .map(|c| String::from_utf8_lossy(&c.join(&b'\n')).into_owned())
            .collect();
        assert_eq!(messages, expected, "{dialect:?}");
        // Every line comes back as the event it is in the plain file, numbered within its
        // message.
        let (code, parsed, stderr) = parse(&[path.as_os_str()]);
        let (_, plain, _) = parse(&[log.as_os_str()]);
        assert_eq!(code, 0, "{stderr}");
        let objects = |v: &[Value]| v.iter().map(|e| e["object"].clone()).collect::<Vec<_>>();
        assert_eq!(objects(&parsed), objects(&plain), "{dialect:?}");
        assert!(parsed.iter().any(|e| e["line"] == 3), "{dialect:?}");
    }
}

/// Review 8's F1: a record whose database name holds `⏎⏎<forged line>`. `encode` keeps every
/// byte (the blank line in the message of the record before it: 3 log events for 4 lines,
/// none dropped), and `parse` of the encoded event flags every event as `parse` of the file
/// does: the window rule runs across the log events of the envelope.
#[test]
fn encode_keeps_blank_lines_and_parse_flags_a_record_cut_across_log_events() {
    let dir = tempfile::tempdir().unwrap();
    let text = "20261130 09:35:27,vm,root,localhost,12,27,WRITE,d\n\n\
                20241231 23:59:59,vm,admin,10.0.0.1,9,9,WRITE,mysql,user,\n\
                20261130 09:35:27,vm,root,localhost,12,0,DISCONNECT,,,0\n";
    let log = write(dir.path(), "f1-split-record.log", text.as_bytes());
    let encoded = run(&["encode".as_ref(), log.as_os_str()]);
    let path = write(dir.path(), "f1.json", &encoded);
    let payloads = ndjson(&run(&["decode".as_ref(), path.as_os_str()]));
    let messages: Vec<String> = payloads
        .iter()
        .flat_map(|p| p["logEvents"].as_array().unwrap().clone())
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages.join("\n") + "\n", text);
    assert_eq!(messages.len(), 3);
    for input in [&path, &log] {
        let (_, events, stderr) = parse(&[input.as_os_str()]);
        assert_eq!(events.len(), 2, "{stderr}");
        for e in &events {
            assert_eq!(e["ambiguous"], true, "plain {e} in {input:?}");
        }
    }
}

#[test]
fn kinesis_sequence_numbers_and_partition_keys_are_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        &corpus(DIALECTS[0], 2, 10, 0).plain_text(),
    );
    let event: Value = serde_json::from_slice(&run(&[
        "encode".as_ref(),
        "--events-per-record".as_ref(),
        "7".as_ref(),
        "--log-stream".as_ref(),
        "prod-1".as_ref(),
        log.as_os_str(),
    ]))
    .unwrap();
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    let seqs: Vec<&str> = records
        .iter()
        .map(|r| r["kinesis"]["sequenceNumber"].as_str().unwrap())
        .collect();
    assert!(seqs.iter().all(|s| s.len() == 56));
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(records[0]["kinesis"]["partitionKey"], "prod-1");
    assert_eq!(records[0]["eventSource"], "aws:kinesis");
}

#[test]
fn decode_reads_a_pasted_data_string_and_reports_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        &corpus(DIALECTS[1], 1, 3, 0).plain_text(),
    );
    let event: Value = serde_json::from_slice(&run(&["encode".as_ref(), log.as_os_str()])).unwrap();
    let data = event["Records"][0]["kinesis"]["data"]
        .as_str()
        .unwrap()
        .to_owned();
    // Pasted alone, wrapped at 76 columns as a terminal shows it.
    let wrapped: String = data
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let pasted = write(dir.path(), "data.txt", wrapped.as_bytes());
    let payloads = ndjson(&run(&["decode".as_ref(), pasted.as_os_str()]));
    assert_eq!(payloads[0]["logEvents"].as_array().unwrap().len(), 3);
    // A record whose data is not base64: named by number and sequence number, exit 1.
    let broken = r#"{"Records":[{"kinesis":{"sequenceNumber":"49590000000000000000000000000000000000000000000000000007","data":"not base64!"}}]}"#;
    let path = write(dir.path(), "broken.json", broken.as_bytes());
    let out = rdsaudit().arg("decode").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("record 1 (sequence number 49590000000000000000000000000000000000000000000000000007): base64"),
        "{stderr}"
    );
}

/// Review 8 (S1): an unparsed line inside a multi-line CloudWatch message is named by its
/// record, event and line in the message, not as a line of the JSON file.
#[test]
fn an_unparsed_line_of_a_message_is_named_by_record_event_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "ml.log",
        b"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SELECT 1',0\n\
          not an audit line\n\
          20240323 13:36:08,vm,app,10.0.0.1,5,8,QUERY,shop,'SELECT 2',0\n",
    );
    let encoded = run(&[
        "encode".as_ref(),
        "--lines-per-event".as_ref(),
        "3".as_ref(),
        log.as_os_str(),
    ]);
    let path = write(dir.path(), "ml.json", &encoded);
    let (code, events, stderr) = parse(&[path.as_os_str()]);
    assert_eq!((code, events.len()), (1, 2), "{stderr}");
    let said = stderr.lines().next().unwrap();
    assert!(said.contains(": record 1 (sequence "), "{said}");
    assert!(said.contains(", line 2: "), "{said}");
    assert!(!said.contains("ml.json: line 2"), "{said}");
}

/// Review 8 (S8): encode wraps any text; a delivery given by mistake is said on stderr.
#[test]
fn encoding_a_delivery_says_it_is_not_audit_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        b"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SELECT 1',0\n",
    );
    let event = run(&["encode".as_ref(), log.as_os_str()]);
    let out = rdsaudit().arg("encode").arg(&log).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = write(dir.path(), "event.json", &event);
    let out = rdsaudit().arg("encode").arg(&json).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("event.json: reads as kinesis input, not audit lines"),
        "{stderr}"
    );
}

/// Review 29: bytes that are not UTF-8 cannot be in a log event's JSON message; encode says
/// so, naming the line (it wrote U+FFFD without a word).
#[test]
fn encoding_bytes_that_are_not_utf8_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "latin1.log",
        b"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SELECT 1',0\n\
          20240323 13:36:08,vm,app,10.0.0.1,5,8,QUERY,shop,'SELECT \\'caf\xe9\\'',0\n",
    );
    let out = rdsaudit().arg("encode").arg(&log).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("latin1.log: line 2, byte 62: not valid UTF-8 (the first such byte"),
        "{stderr}"
    );
    // Lines as parse counts them: CR line ends too.
    let cr = write(
        dir.path(),
        "cr.log",
        &std::fs::read(&log)
            .unwrap()
            .iter()
            .map(|&b| if b == b'\n' { b'\r' } else { b })
            .collect::<Vec<u8>>(),
    );
    let out = rdsaudit().arg("encode").arg(&cr).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cr.log: line 2, byte 62: "), "{stderr}");
}
