//! Detection against forged first lines: a user or database name holding a line break and a
//! whole first line of another shape (`{"Records":[`, `@timestamp,@message`, a syslog or export
//! line), in a log cut at that line (`tail -n`). Whatever the shape detected, every event after
//! the cut is read (nothing hidden), and a whole log is detected as its own shape (a forged
//! line later on changes nothing).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit::input::{InputKind, detect};
use rdsaudit::{AuditEvent, Decoder};

/// First lines of every shape, as an attacker would put them after a line break in a name.
const FORGED: [&str; 16] = [
    r#"{"Records":["#,
    r#"{"Records":[{"kinesis":{"data":"x"}}]}"#,
    r#"{"Records":[{"SequenceNumber":"1","Data":"eA=="}]}"#,
    r#"{"awslogs":{"data":""#,
    r#"{"events":["#,
    r#"{"events":[],"nextForwardToken":"f"}"#,
    r#"{"messageType":"DATA_MESSAGE","logEvents":["#,
    r#"{"note":1}"#,
    "@timestamp,@message",
    "\"@timestamp\",\"@message\"",
    "H4sIAAAAAAAAA",
    "Dec  4 08:00:00 h mysql-server_auditing: x db1,forged",
    "2024-12-04T08:00:00+00:00 h mysql-server_auditing: x db1,forged",
    "2024-05-01T12:00:00.000Z 20240501 12:00:00,db1,forged",
    "20240501 12:00:00,db1,forged,h,1,2,QUERY,,'forged',0",
    "",
];

/// The log shapes a name's line break can cut, and how one audit line is written in each.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Text,
    Export,
    Syslog,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Text, Shape::Export, Shape::Syslog];

    fn kind(self) -> InputKind {
        match self {
            Shape::Text => InputKind::AuditText,
            Shape::Export => InputKind::PrefixedText,
            Shape::Syslog => InputKind::Syslog,
        }
    }

    /// Event `i` (user `user`, database `db`) as a line of this shape.
    fn line(self, i: usize, user: &str, db: &str) -> String {
        let time = format!("20240501 12:00:{:02}", i % 60);
        let record = format!("db1,{user},10.0.0.5,{i},{i},QUERY,{db},'SELECT {i}',0");
        match self {
            Shape::Text => format!("{time},{record}\n"),
            Shape::Export => format!("2024-05-01T12:00:{:02}.500Z {time},{record}\n", i % 60),
            Shape::Syslog => format!(
                "2024-05-01T12:00:{:02}+00:00 h mysql-server_auditing: info {record}\n",
                i % 60
            ),
        }
    }
}

/// A log of 40 events; event 10 has `hostile` as its user name (or its database name).
fn log(shape: Shape, hostile: &str, in_db: bool) -> String {
    (0..40)
        .map(|i| match (i, in_db) {
            (10, false) => shape.line(i, hostile, "shop"),
            (10, true) => shape.line(i, "app", hostile),
            _ => shape.line(i, "app", "shop"),
        })
        .collect()
}

/// The statements read from `input`, its kind detected.
fn statements(input: &[u8]) -> Vec<String> {
    let mut seen = Vec::new();
    let decoder = Decoder::new();
    let result = decoder.decode(input, &mut |e: &AuditEvent<'_>| {
        seen.push(e.object.text().into_owned());
    });
    match result {
        Ok(report) => assert!(report.is_balanced(), "{report:?}"),
        // Refused whole: nothing was read.
        Err(_) => seen.clear(),
    }
    seen
}

#[test]
fn a_forged_first_line_hides_no_event_of_a_cut_log() {
    let mut cases = 0;
    for shape in Shape::ALL {
        for forged in FORGED {
            for in_db in [false, true] {
                let hostile = format!("x\n{forged}");
                let whole = log(shape, &hostile, in_db);
                assert_eq!(
                    detect(whole.as_bytes()),
                    shape.kind(),
                    "{shape:?} {forged:?}"
                );
                let cut = &whole[whole.find(&hostile).unwrap() + 2..];
                // Events 11..40 follow the cut whole (event 10 itself is cut).
                let own: Vec<String> = (11..40).map(|i| format!("SELECT {i}")).collect();
                let detected = statements(cut.as_bytes());
                let missing: Vec<_> = own.iter().filter(|s| !detected.contains(s)).collect();
                assert!(
                    missing.is_empty(),
                    "{shape:?}, {forged:?} in {}: detected {:?}, hides {missing:?}",
                    if in_db { "db" } else { "user" },
                    detect(cut.as_bytes())
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 3 * FORGED.len() * 2);
}

#[test]
fn a_syslog_file_is_told_by_its_plugin_lines_after_other_programs_lines() {
    let mut text = String::from("2024-05-01T11:59:59+00:00 h sshd[12]: Accepted key for ops\n");
    text.push_str("Dec  4 08:00:00 h cron[1]: job\n");
    for i in 0..5 {
        text.push_str(&Shape::Syslog.line(i, "app", "shop"));
    }
    assert_eq!(detect(text.as_bytes()), InputKind::Syslog);
    assert_eq!(statements(text.as_bytes()).len(), 5);
}

#[test]
fn a_cut_export_is_read_as_an_export() {
    // `tail -n` of an export to S3 that starts inside a message holding a name's break.
    let whole = log(Shape::Export, "x\nfragment", false);
    let cut = &whole[whole.find("fragment").unwrap()..];
    assert_eq!(detect(cut.as_bytes()), InputKind::PrefixedText);
    assert_eq!(statements(cut.as_bytes()).len(), 29);
}

#[test]
fn an_insights_csv_is_still_an_insights_csv() {
    let mut csv = String::from("@timestamp,@message\n");
    for i in 0..3 {
        let line = Shape::Text.line(i, "app", "shop");
        csv.push_str(&format!(
            "2024-05-01 12:00:00.000,\"{}\"\n",
            line.trim_end()
        ));
    }
    assert_eq!(detect(csv.as_bytes()), InputKind::InsightsCsv);
    assert_eq!(statements(csv.as_bytes()).len(), 3);
}

#[test]
fn json_far_from_its_ends_is_json() {
    // A large compact event: the probes read only its ends.
    let records: Vec<String> = (0..2_000)
        .map(|i| {
            format!(
                r#"{{"kinesis":{{"data":"{}","sequenceNumber":"{i}"}}}}"#,
                "A".repeat(400)
            )
        })
        .collect();
    let event = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    assert!(event.len() > 2 * rdsaudit::input::detect::JSON_PROBE);
    assert_eq!(detect(event.as_bytes()), InputKind::KinesisEvent);
    // Pretty-printed, as the AWS CLI writes it.
    let pretty = "{\n    \"events\": [\n        {\n            \"message\": \"20240501 12:00:00,db1,u,h,1,2,QUERY,,'x',0\"\n        }\n    ]\n}\n";
    assert_eq!(detect(pretty.as_bytes()), InputKind::LogsApi);
}

#[test]
fn an_insights_csv_whose_first_rows_are_not_audit_lines_is_an_insights_csv() {
    // A query over an error log group and an audit log group: error lines first.
    let mut csv = String::from("@timestamp,@message,@log\n");
    for i in 0..5 {
        csv.push_str(&format!(
            "2024-05-01 12:00:0{i}.000,2024-05-01T12:00:0{i}.000000Z 0 [Warning] note {i},1:/err\n"
        ));
    }
    for i in 0..5 {
        let line = Shape::Text.line(i, "app", "shop");
        csv.push_str(&format!(
            "2024-05-01 12:00:00.000,\"{}\",1:/audit\n",
            line.trim_end()
        ));
    }
    assert_eq!(detect(csv.as_bytes()), InputKind::InsightsCsv);
    assert_eq!(statements(csv.as_bytes()).len(), 5);
    // The CLI tells a file's shape by its first 64 KiB: a first row longer than that is cut.
    let long = format!("'{}'", "x".repeat(70_000));
    let csv = format!(
        "@timestamp,@message\n2024-05-01 12:00:00.000,\"{}\"\n",
        Shape::Text
            .line(0, "app", "shop")
            .replace("'SELECT 0'", &long)
            .trim_end()
    );
    assert_eq!(detect(&csv.as_bytes()[..64 * 1024]), InputKind::InsightsCsv);
    assert_eq!(detect(csv.as_bytes()), InputKind::InsightsCsv);
}

#[test]
fn lone_cr_lines_are_told_in_linear_time() {
    // Every line start looked at once: a look for `\n` from each of 100,000 lone-CR line
    // starts to the end of 2 MB took minutes (review of d0b33cf).
    let text = format!("{{{}{}", "\ra".repeat(100_000), "b".repeat(2 << 20));
    assert_eq!(detect(text.as_bytes()), InputKind::CloudWatchJson);
    let text = format!("x{}{}", "\ra".repeat(30_000), "b".repeat(2 << 20));
    assert_eq!(detect(text.as_bytes()), InputKind::AuditText);
}
