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

/// A log of `n` events; event 10 has `hostile` as its user name (or its database name).
fn long_log(shape: Shape, n: usize, hostile: &str, in_db: bool) -> String {
    (0..n)
        .map(|i| match (i, in_db) {
            (10, false) => shape.line(i, hostile, "shop"),
            (10, true) => shape.line(i, "app", hostile),
            _ => shape.line(i, "app", "shop"),
        })
        .collect()
}

/// `count` whole lines of `shape`, as a name forges them after its line break.
fn forged_lines(shape: Shape, count: usize) -> String {
    (0..count)
        .map(|i| shape.line(900 + i, "forged", "forged"))
        .collect()
}

#[test]
fn several_forged_first_lines_hide_no_event_of_a_cut_log() {
    // A name holds up to 1,024 bytes (a failed login): up to ten forged lines of ~90 bytes.
    // Failed before (d0b33cf's rule, the first line standing when it has its like): an export
    // or syslog output cut on two or more forged lines of another shape was read as that
    // shape, its 289 events after the cut unparsed.
    let mut failures = Vec::new();
    for shape in Shape::ALL {
        for forger in Shape::ALL {
            for count in [2, 5, 10] {
                for in_db in [false, true] {
                    let forged = forged_lines(forger, count);
                    let hostile = format!("x\n{}", forged.trim_end());
                    let whole = long_log(shape, 300, &hostile, in_db);
                    assert_eq!(detect(whole.as_bytes()), shape.kind());
                    let cut = &whole[whole.find(&hostile).unwrap() + 2..];
                    let own: Vec<String> = (11..300).map(|i| format!("SELECT {i}")).collect();
                    let detected = statements(cut.as_bytes());
                    let missing = own.iter().filter(|s| !detected.contains(s)).count();
                    let kind = detect(cut.as_bytes());
                    // Audit text cut on forged export lines is read as an export, which reads
                    // audit lines too (its events flagged): a whole export whose first log
                    // events hold many audit lines looks the same.
                    let also = matches!((shape, forger), (Shape::Text, Shape::Export))
                        .then_some(InputKind::PrefixedText);
                    if (kind != shape.kind() && Some(kind) != also) || missing > 0 {
                        failures.push(format!(
                            "{shape:?} cut on {count} {forger:?} lines in {}: {kind:?}, {missing} hidden",
                            if in_db { "db" } else { "user" }
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Names that forge lines of every shape, several of them, as a failed login can: a record's
/// head cut at the name's break, whole lines of each shape (an audit line that reads alone
/// before an export line too), the rest of the record after them.
fn hostile_names(i: usize) -> [String; 3] {
    let line = |shape: Shape, j: usize| shape.line(800 + j, "f", "f").trim_end().to_owned();
    [
        format!(
            "x\n{}\n{}\n{}",
            line(Shape::Text, i),
            line(Shape::Export, i),
            line(Shape::Export, i + 1)
        ),
        format!(
            "y\n{}\n{}\n{}\n{}",
            line(Shape::Syslog, i),
            line(Shape::Syslog, i + 1),
            line(Shape::Export, i),
            line(Shape::Text, i)
        ),
        format!(
            "z\n{}\n\n{}\n{}",
            line(Shape::Export, i),
            line(Shape::Text, i),
            line(Shape::Syslog, i)
        ),
    ]
}

#[test]
fn a_whole_log_keeps_its_shape_however_many_lines_its_names_forge() {
    // Every event's user and database names forge lines of every shape: a whole log's first
    // line is the server's, and each forged line lies within reach of its record's first line.
    for shape in Shape::ALL {
        for n in [3, 40, 400] {
            let log: String = (0..n)
                .map(|i| {
                    let names = hostile_names(i);
                    shape.line(i, &names[i % 3], &names[(i + 1) % 3])
                })
                .collect();
            assert_eq!(detect(log.as_bytes()), shape.kind(), "{shape:?} {n}");
            // Hostile events only after the first: a clean first line, then forgeries.
            let mut log = shape.line(0, "app", "shop");
            for i in 1..n {
                let names = hostile_names(i);
                log.push_str(&shape.line(i, &names[i % 3], "shop"));
            }
            assert_eq!(
                detect(log.as_bytes()),
                shape.kind(),
                "{shape:?} {n}, first clean"
            );
        }
    }
}

/// An export to S3 whose log events hold three audit lines each (`server_audit` lines joined
/// by `\n` in one CloudWatch message), `events` of them.
fn multiline_export(events: usize) -> String {
    (0..events)
        .flat_map(|e| (0..3).map(move |j| (e, j)))
        .map(|(e, j)| {
            let line = Shape::Text.line(e * 3 + j, "app", "shop");
            if j == 0 {
                format!("2024-05-01T12:00:{:02}.500Z {line}", e % 60)
            } else {
                line
            }
        })
        .collect()
}

#[test]
fn a_tail_of_an_export_whose_events_hold_several_audit_lines_is_an_export() {
    // `tail -n` starting inside a log event: audit lines first, then export lines. Failed
    // before: read as audit text, each export line joined to the record before it as a name's
    // break (its event hidden in that record's user name, flagged).
    let whole = multiline_export(60);
    assert_eq!(detect(whole.as_bytes()), InputKind::PrefixedText);
    for skip in [1, 2] {
        let cut: String = whole.split_inclusive('\n').skip(skip).collect();
        assert_eq!(detect(cut.as_bytes()), InputKind::PrefixedText, "{skip}");
        let read = statements(cut.as_bytes());
        assert_eq!(read.len(), 180 - skip, "{skip}");
    }
    // A whole audit log is not one: its names' export lines follow a record's head cut at the
    // break, or come with the rest of the record after them, neither of which reads alone
    // (with an audit line forged before the export line, and one after it too).
    for tail in ["", "\n20240501 12:00:00,db1,y"] {
        let mut log = String::new();
        for i in 0..200 {
            let name = if i % 5 == 4 {
                format!(
                    "x\n{}\n2024-05-01T12:00:00.500Z {}{tail}",
                    Shape::Text.line(900, "f", "f").trim_end(),
                    Shape::Text.line(901, "f", "f").trim_end()
                )
            } else {
                "app".to_owned()
            };
            log.push_str(&Shape::Text.line(i, &name, "shop"));
        }
        assert_eq!(detect(log.as_bytes()), InputKind::AuditText, "{tail:?}");
    }
}

#[test]
fn an_insights_csv_whose_times_do_not_read_is_an_insights_csv_its_rows_kept_whole() {
    // Five of every eight `@timestamp`s rewritten (`05/01/2024 12:00:00`, a spreadsheet's):
    // those rows fail, kept whole, and the others read. Failed before: read as text, every
    // row an unparsed line, the ISO-timed ones read as audit lines of the ISO dialect would.
    let mut csv = String::from("@timestamp,@message\n");
    for i in 0..40 {
        let line = Shape::Text.line(i, "app", "shop");
        let time = if matches!(i % 8, 0 | 2 | 3 | 5 | 6) {
            format!("05/01/2024 12:00:{:02}", i % 60)
        } else {
            format!("2024-05-01 12:00:{:02}.000", i % 60)
        };
        csv.push_str(&format!("{time},\"{}\"\n", line.trim_end()));
    }
    assert_eq!(detect(csv.as_bytes()), InputKind::InsightsCsv);
    let mut events = 0;
    let report = Decoder::new()
        .decode(csv.as_bytes(), &mut |_: &AuditEvent<'_>| events += 1)
        .unwrap();
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!((events, report.unparsed_events), (15, 25), "{report:?}");
    // Audit text under a forged header stays text: no row is an audit line.
    let text = format!("@timestamp,@message\n{}", log(Shape::Text, "app", false));
    assert_eq!(detect(text.as_bytes()), InputKind::AuditText);
}

/// A log of `n` events of `shape` whose event 10 has `hostile` as its user name, cut at
/// `at` (the first place it is found in the hostile name), and the statements after the cut.
fn cut_at(shape: Shape, hostile: &str, n: usize, at: &str) -> (String, Vec<String>) {
    let whole: String = (0..n)
        .map(|i| shape.line(i, if i == 10 { hostile } else { "app" }, "shop"))
        .collect();
    let cut = whole[whole.find(at).unwrap()..].to_owned();
    (cut, (11..n).map(|i| format!("SELECT {i}")).collect())
}

#[test]
fn rows_forged_after_a_forged_insights_header_do_not_outvote_the_log() {
    // A failed login's user name holds ten lines: a header and up to eight quoted rows each
    // an audit line. Cut at the header, most of the first eight rows read; the rows past a
    // name's reach are the log's. Failed before from five forged rows on: read as Insights
    // CSV, the forged rows were the only events and every line of the log one failed row.
    let row = |k: usize| format!("\"20240501 12:00:0{k},v,a,h,1,{k},QUERY,d,'DROP TABLE t',0\"\n");
    for shape in Shape::ALL {
        for header in [
            "@message",
            "@timestamp,@message",
            "\"@timestamp\",\"@message\"",
        ] {
            for forged in 1..=8 {
                let rows: String = (0..forged).map(row).collect();
                let hostile = format!("x\n{header}\n{rows}");
                let (cut, own) = cut_at(shape, &hostile, 200, header);
                let read = statements(cut.as_bytes());
                let missing: Vec<_> = own.iter().filter(|s| !read.contains(s)).collect();
                assert!(
                    missing.is_empty(),
                    "{shape:?} {header} {forged} rows: {:?}, hides {} events",
                    detect(cut.as_bytes()),
                    missing.len()
                );
            }
        }
    }
}

#[test]
fn a_quote_opened_after_a_forged_insights_header_does_not_hide_the_log() {
    // A name `x⏎@message⏎"`: read as Insights CSV, the rest of the log is one row never
    // closed. Past a name's reach it holds the log's own lines, which no message does. Failed
    // before: 0 events, one reject holding the whole log.
    for shape in Shape::ALL {
        let (cut, own) = cut_at(shape, "x\n@message\n\"", 200, "@message");
        assert_eq!(detect(cut.as_bytes()), shape.kind(), "{shape:?}");
        assert_eq!(statements(cut.as_bytes()), own, "{shape:?}");
    }
}

#[test]
fn an_insights_csv_whose_first_row_is_longer_than_the_sniff_is_an_insights_csv() {
    // A first row of 70 KB whose database name holds a break after a forged CONNECT: the row
    // is cut by the CLI's 64 KiB sniff, and its first line reads as an audit line of the ISO
    // dialect. Not counted: the header is taken at its word (review 30: a version counting it
    // read the file as text, 0 of 31 events and one forged).
    let row = |i: usize, db: &str, sql: &str| {
        let line = format!("20240501 12:00:{i:02},vm,app,10.0.0.5,4,{i},QUERY,{db},'{sql}',0");
        format!("2024-05-01 12:00:{i:02}.000,\"{line}\"\n")
    };
    let long = format!("SELECT \\'{}\\'", "a".repeat(70_000));
    let mut csv = String::from("@timestamp,@message\n");
    csv.push_str(&row(0, "d,h,1,2,CONNECT,db,,0\nx", &long));
    for i in 1..31 {
        csv.push_str(&row(i, "shop", &format!("SELECT {i}")));
    }
    assert_eq!(detect(&csv.as_bytes()[..64 * 1024]), InputKind::InsightsCsv);
    assert_eq!(detect(csv.as_bytes()), InputKind::InsightsCsv);
    assert_eq!(statements(csv.as_bytes()).len(), 31);
}
