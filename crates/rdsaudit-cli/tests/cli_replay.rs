//! `rdsaudit replay`: quarantine entries written with the library's format (as the Lambda
//! writes them), split into parts, wrapped the way the AWS CLI returns them, decoded again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use base64::Engine as _;
use cli_common::*;
use rdsaudit::quarantine::{Entry, EntryKind, write_entry, write_parts};
use serde_json::json;

const GOOD: &str = "20240323 13:36:09,ip-172-17-4-137,app,10.0.0.7,4,149869,QUERY,shop,'INSERT INTO orders VALUES (1,\\'a,b\\')',0,,";

fn entry<'a>(id: &'a str, kind: EntryKind, payload: &'a [u8]) -> Entry<'a> {
    Entry {
        id,
        request_id: Some("req-1"),
        kind,
        error_kind: "gzip",
        reason: "gzip: invalid data",
        record_index: Some(2),
        sequence_number: Some("49630000000000000000000000000000000000000000000000000007"),
        partition_key: None,
        log_group: Some("/aws/rds/instance/db1/audit"),
        log_stream: Some("db1"),
        event_id: Some("37583768277390624687268267134240897445918434512310000000"),
        payload,
    }
}

fn document(e: &Entry<'_>) -> Vec<u8> {
    let mut doc = Vec::new();
    write_entry(e, &mut doc);
    doc
}

#[test]
fn entries_from_the_function_log_and_sqs_decode_again() {
    let dir = tempfile::tempdir().unwrap();
    // A record that the function could not decode then (say, an old build) but can now: a
    // real gzip CloudWatch payload of 300 audit lines, base64 as in the Kinesis event.
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 1, 300, 0);
    let gz = flate2_gzip(&corpus.records[0].envelope());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&gz);
    let record = entry("req-1-0", EntryKind::Record, b64.as_bytes());
    // The function log: the record's entry in parts (a small limit forces several), a line
    // that parses now, one that never will, and unrelated lines.
    let mut log = Vec::new();
    write_parts("req-1-0", &document(&record), 4096, |l| {
        log.extend_from_slice(b"2026-11-30T05:00:00.000Z 2026/11/30/[$LATEST]abc ");
        log.extend_from_slice(l);
        log.push(b'\n');
    });
    log.extend_from_slice(b"{\"kind\":\"summary\",\"records\":3}\n");
    log.extend_from_slice(&document(&entry(
        "req-1-1",
        EntryKind::Line,
        GOOD.as_bytes(),
    )));
    log.push(b'\n');
    let log_path = write(dir.path(), "log.txt", &log);
    let garbage = document(&entry("req-1-2", EntryKind::Line, b"not, an audit line"));
    let sqs = json!({"Messages": [{"MessageId": "m1", "ReceiptHandle": "r", "Body": String::from_utf8(garbage).unwrap()}]});
    let sqs_path = write(dir.path(), "sqs.json", sqs.to_string().as_bytes());

    let out = rdsaudit()
        .args(["replay"])
        .arg(&log_path)
        .arg(&sqs_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("req-1-2") && stderr.contains("still not an audit line"),
        "{stderr}"
    );
    let events = ndjson(&out.stdout);
    let parsed = corpus.records[0].lines.len();
    assert_eq!(events.len(), parsed + 1, "{stderr}");
    let line_event = events.last().unwrap();
    assert_eq!(line_event["object"], "INSERT INTO orders VALUES (1,'a,b')");
    assert_eq!(
        line_event["event_id"],
        "37583768277390624687268267134240897445918434512310000000"
    );
    assert!(events[..parsed].iter().all(
        |e| e["sequence_number"] == "49630000000000000000000000000000000000000000000000000007"
    ));

    let listed = rdsaudit()
        .args(["replay", "--list"])
        .arg(&log_path)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = ndjson(&listed.stdout);
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            listed[0]["entry"].as_str(),
            listed[0]["payload_bytes"].as_u64()
        ),
        (Some("record"), Some(b64.len() as u64))
    );
}

#[test]
fn a_missing_part_is_an_error_not_a_silent_gap() {
    let dir = tempfile::tempdir().unwrap();
    let payload = "QUJD".repeat(5000);
    let mut lines = Vec::new();
    write_parts(
        "req-9-0",
        &document(&entry("req-9-0", EntryKind::Record, payload.as_bytes())),
        2048,
        |l| {
            lines.push(l.to_vec());
        },
    );
    lines.remove(2);
    let path = write(dir.path(), "log.txt", &lines.join(&b'\n'));
    let out = rdsaudit().arg("replay").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parts found"));
}

/// Session 28: a record whose shape was wrong is quarantined as its JSON. Replayed, it is
/// read as a Kinesis record again: fixed (the duplicate `data` removed), its events; as
/// kept, still failing, with its reason (it was read as a CloudWatch payload: "missing
/// `messageType`", fixed or not).
#[test]
fn a_record_kept_as_its_json_replays_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 1, 5, 0);
    let gz = flate2_gzip(&corpus.records[0].envelope());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&gz);
    let fixed = format!(r#"{{"kinesis":{{"sequenceNumber":"7","data":"{b64}"}}}}"#);
    let kept = format!(r#"{{"kinesis":{{"sequenceNumber":"7","data":"{b64}","data":"x"}}}}"#);
    for (payload, events, code) in [(fixed, 5, 0), (kept, 0, 1)] {
        let doc = document(&entry("req-1-0", EntryKind::Record, payload.as_bytes()));
        let path = write(dir.path(), "entry.json", &doc);
        let out = rdsaudit().arg("replay").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert_eq!(ndjson(&out.stdout).len(), events, "{stderr}");
        if code == 1 {
            assert!(stderr.contains("`kinesis.data` more than once"), "{stderr}");
        }
    }
}

/// Session 29: `replay` sniffed a record kept as its JSON by its own rule (a quoted
/// `"kinesis"` or `"Data"` in the first 256 bytes), not detection's: a record whose
/// `kinesis` key came after a long `eventID`, or a `get-records` record with a
/// `SequenceNumber` and no `Data`, was read as a CloudWatch payload ("missing
/// messageType"). One sniff serves both (`input::get_records::record_shape`).
#[test]
fn a_record_kept_as_its_json_is_told_by_the_sniff_detection_uses() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 1, 5, 0);
    let gz = flate2_gzip(&corpus.records[0].envelope());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&gz);
    let id = format!("shardId-000000000000:{}", "4".repeat(300));
    let late = format!(r#"{{"eventID":"{id}","kinesis":{{"sequenceNumber":"7","data":"{b64}"}}}}"#);
    let no_data = r#"{"SequenceNumber":"8","PartitionKey":"p"}"#.to_owned();
    for (payload, events, code, says) in [
        (late, 5, 0, ""),
        (no_data, 0, 1, "record has no `Data` string"),
    ] {
        let doc = document(&entry("req-1-0", EntryKind::Record, payload.as_bytes()));
        let path = write(dir.path(), "entry.json", &doc);
        let out = rdsaudit().arg("replay").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert_eq!(ndjson(&out.stdout).len(), events, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// The Lambda's SQS quarantine packs several documents in a message body, one a line
/// (adversarial review 30, F1: one message per entry stalled the shard). `aws sqs
/// receive-message` gives such a body as one string: every document in it is replayed
/// (before, the body was one unreadable line, counted with the other lines, and nothing was
/// replayed).
#[test]
fn an_sqs_body_of_several_documents_replays_each() {
    let dir = tempfile::tempdir().unwrap();
    let good = document(&entry("s-1-line-0", EntryKind::Line, GOOD.as_bytes()));
    let bad = document(&entry("s-1-line-1", EntryKind::Line, b"not, an audit line"));
    let body = format!(
        "{}\n{}",
        String::from_utf8(good).unwrap(),
        String::from_utf8(bad).unwrap()
    );
    let sqs = json!({"Messages": [{"MessageId": "m1", "ReceiptHandle": "r", "Body": body}]});
    let path = write(dir.path(), "sqs.json", sqs.to_string().as_bytes());
    let out = rdsaudit().args(["replay"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s-1-line-1") && stderr.contains("still not an audit line"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 quarantine entries, 1 events decoded, 1 still failing"),
        "{stderr}"
    );
    let events = ndjson(&out.stdout);
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["object"], "INSERT INTO orders VALUES (1,'a,b')");
}

#[test]
fn a_file_holding_no_entry_is_said_and_fails() {
    // adv1 F7 (session 30): a `--rejects` file given to `replay` printed "0 quarantine
    // entries", exit 0, and nothing of its lines.
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "audit.log",
        format!("{GOOD}\nnot, an audit line\n").as_bytes(),
    );
    let rejects = dir.path().join("rejects.ndjson");
    let parsed = rdsaudit()
        .args(["parse", "--quiet", "--rejects"])
        .arg(&rejects)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(parsed.status.code(), Some(1));
    let out = rdsaudit().args(["replay"]).arg(&rejects).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rejects.ndjson: no quarantine entry in it (1 other lines)")
            && stderr.contains("rdsaudit parse"),
        "{stderr}"
    );
    assert!(stderr.contains("1 other lines skipped"), "{stderr}");
    // The same file with a real entry: the other line is counted, not an error.
    let mut mixed = std::fs::read(&rejects).unwrap();
    mixed.extend_from_slice(&document(&entry("r-1", EntryKind::Line, GOOD.as_bytes())));
    let mixed = write(dir.path(), "mixed.log", &mixed);
    let out = rdsaudit().args(["replay"]).arg(&mixed).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 quarantine entries, 1 events decoded, 0 still failing, 0 unreadable, 1 other lines skipped"),
        "{stderr}"
    );
}

/// Review 31 (advA F6): an entry cut short, or whose `kind` was damaged, was counted among
/// the function log's other lines: its record lost without a word, exit 0.
#[test]
fn an_entry_that_does_not_read_is_unreadable_not_another_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = document(&entry("r-1", EntryKind::Line, GOOD.as_bytes()));
    let lost = document(&entry("r-2", EntryKind::Line, b"DELETE FROM secret"));
    let cut = lost.get(..lost.len() - 40).unwrap();
    let renamed = String::from_utf8(lost.clone())
        .unwrap()
        .replace("\"kind\":\"quarantine\"", "\"kind\":\"quarantin\"");
    for (name, second) in [
        ("cut.log", cut.to_vec()),
        ("kind.log", renamed.into_bytes()),
    ] {
        let mut log = good.clone();
        log.push(b'\n');
        log.extend_from_slice(b"START RequestId: 1 Version: $LATEST\n");
        log.extend_from_slice(&second);
        log.push(b'\n');
        let path = write(dir.path(), name, &log);
        let out = rdsaudit().args(["replay"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains("1 quarantine entries, 1 events decoded, 0 still failing, 1 unreadable, 1 other lines skipped"),
            "{name}: {stderr}"
        );
    }
}

/// Review 31 (advD F3): an AWS CLI answer's item holding an entry not as its `message` /
/// `Body` string (an object, a misspelt key) was dropped without a word, exit 0.
#[test]
fn an_answer_item_holding_an_entry_otherwise_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        String::from_utf8(document(&entry("r-1", EntryKind::Line, GOOD.as_bytes()))).unwrap();
    let lost: serde_json::Value = serde_json::from_slice(&document(&entry(
        "r-2",
        EntryKind::Line,
        b"DELETE FROM secret",
    )))
    .unwrap();
    for (name, answer) in [
        (
            "object.json",
            json!({"events": [{"message": good}, {"message": lost}]}),
        ),
        (
            "key.json",
            json!({"events": [{"message": good}, {"messages": lost.to_string()}]}),
        ),
        (
            "sqs.json",
            json!({"Messages": [{"MessageId": "m1", "Body": good}, {"MessageId": "m2", "Body": lost}]}),
        ),
    ] {
        let path = write(dir.path(), name, answer.to_string().as_bytes());
        let out = rdsaudit().args(["replay"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr
                .contains("1 quarantine entries, 1 events decoded, 0 still failing, 1 unreadable"),
            "{name}: {stderr}"
        );
    }
}

/// A line entry of a CloudWatch log event that did not read (`error_kind` `EnvelopeEvent`:
/// its JSON as delivered, here without an `id`) is still failing, with the reason it was
/// kept for; it was read as an audit line and said to be "still not an audit line: line does
/// not start with an audit timestamp" (session 34's adversary, MEDIUM-1).
#[test]
fn a_log_event_entry_repeats_why_it_was_kept() {
    let dir = tempfile::tempdir().unwrap();
    let payload = format!(
        "{{\"timestamp\":1711200969000,\"message\":{}}}",
        serde_json::to_string(GOOD).unwrap()
    );
    let mut kept = entry("req-1-3", EntryKind::Line, payload.as_bytes());
    kept.error_kind = "EnvelopeEvent";
    kept.reason = "logEvents[1].id should be a string, found missing";
    let path = write(dir.path(), "q.ndjson", &document(&kept));
    let out = rdsaudit().args(["replay"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(ndjson(&out.stdout).is_empty(), "nothing invented");
    assert!(
        stderr.contains("entry req-1-3: still a CloudWatch log event that does not read: logEvents[1].id should be a string, found missing"),
        "{stderr}"
    );
    assert!(!stderr.contains("audit timestamp"), "{stderr}");
}
