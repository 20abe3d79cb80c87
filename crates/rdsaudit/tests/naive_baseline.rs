//! The naive baseline of the benchmarks (`benches/naive`) is wrong where it should be wrong
//! and right where it should be right, so the correctness share the benches print measures
//! the regex approach, not a broken port of it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../benches/naive/mod.rs"]
mod naive;

use rdsaudit::audit::scanner::parse_line;

fn ours(line: &str) -> String {
    parse_line(line.as_bytes())
        .unwrap()
        .object
        .text()
        .into_owned()
}

fn theirs(line: &str) -> Option<String> {
    naive::object(line).unwrap()
}

#[test]
fn right_on_plain_statements_and_table_events() {
    for line in [
        "20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,",
        "1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0",
        "20261125 18:54:44,vm,rdsaudit,127.0.0.1,4,5,QUERY,auditdb,'SELECT @@version, @@hostname',0",
        "20261125 18:54:44,vm,rdsaudit,127.0.0.1,4,0,CONNECT,auditdb,,0",
    ] {
        assert_eq!(theirs(line).as_deref(), Some(ours(line).as_str()), "{line}");
    }
}

#[test]
fn wrong_on_escaped_quotes_next_to_commas() {
    // The `'` of `\'` counts as a quote, so the comma inside the literal looks like a separator.
    let line = r"20240323 13:36:08,ip-172-17-4-137,rdsadmin,localhost,4,149868,QUERY,,'SELECT \'a,b\'',0,,";
    assert_eq!(ours(line), "SELECT 'a,b'");
    assert_eq!(theirs(line).as_deref(), Some("SELECT 'a"));
}

#[test]
fn loses_every_field_when_the_quotes_are_odd() {
    // Three `'` in the line: no header comma is followed by an even number of them.
    let line =
        r"20240323 13:36:08,ip-172-17-4-137,admin,10.0.1.5,4,7,QUERY,shop,'SELECT \'it, ok',0,,";
    assert_eq!(ours(line), "SELECT 'it, ok");
    let fields = naive::split_fields(line).unwrap();
    assert_eq!(
        fields[0],
        r"20240323 13:36:08,ip-172-17-4-137,admin,10.0.1.5,4,7,QUERY,shop,'SELECT \'it, ok'"
    );
    assert_eq!(theirs(line), None);
}

#[test]
fn leaves_other_escapes_as_written() {
    let line = r"20240323 13:36:08,ip-172-17-4-137,admin,10.0.1.5,4,7,QUERY,shop,'SELECT \'C:\\temp\'\nFROM dual',0,,";
    assert_eq!(ours(line), "SELECT 'C:\\temp'\nFROM dual");
    assert_eq!(
        theirs(line).as_deref(),
        Some(r"SELECT 'C:\\temp'\nFROM dual")
    );
}

/// The recorded logs with the default 1024-byte statement limit: every line is short enough
/// for the regex (it is quadratic in the line length: the 156 KB statement of
/// `audit-full.log` alone takes minutes in a debug build).
const LIMIT1024_LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../corpus/mariadb/audit-limit1024.log"
);

/// On the recorded corpus the baseline agrees with us on some lines and not on others, and
/// every disagreement has a cause we can name: a backslash escape in the object, or a comma or
/// quote in a field before it.
#[test]
fn recorded_corpus_disagreements_are_explained() {
    let log = std::fs::read(LIMIT1024_LOG).unwrap();
    let (mut agree, mut disagree) = (0, 0);
    for bytes in rdsaudit::input::text::records(&log) {
        let line = String::from_utf8_lossy(bytes.bytes);
        let event = parse_line(line.as_bytes()).unwrap();
        if theirs(&line).as_deref() == Some(&*event.object.text()) {
            agree += 1;
            continue;
        }
        disagree += 1;
        let raw = parse_line(line.as_bytes()).unwrap();
        let escaped = raw.object.raw().contains(&b'\\');
        let odd_header = [&raw.username, &raw.host, &raw.database]
            .iter()
            .any(|f| f.text().contains(',') || f.text().contains('\''));
        assert!(escaped || odd_header, "unexplained disagreement on {line}");
    }
    assert!(
        agree > 100 && disagree > 5,
        "agree {agree}, disagree {disagree}"
    );
}

/// The record path (base64, gzip, JSON) yields one object per data log event, in order: the
/// same as splitting each source line of `audit-limit1024.log`, which the awslogs fixture holds.
#[test]
fn record_path_matches_the_line_path_on_the_awslogs_fixture() {
    let event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../corpus/kinesis/awslogs-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let objects = naive::record_objects(event["awslogs"]["data"].as_str().unwrap()).unwrap();
    let log = std::fs::read(LIMIT1024_LOG).unwrap();
    let from_lines: Vec<Option<String>> = rdsaudit::input::text::records(&log)
        .map(|r| theirs(&String::from_utf8_lossy(r.bytes)))
        .collect();
    assert_eq!(objects.len(), 174);
    assert_eq!(objects, from_lines);
}
