//! Every output format: CSV and TSV parsed back with the csv crate must say what NDJSON says;
//! SQL is one QUERY statement per line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use serde_json::Value;

const COLUMNS: [&str; 28] = [
    "timestamp",
    "timestamp_us",
    "dialect",
    "serverhost",
    "username",
    "host",
    "connection_id",
    "query_id",
    "operation",
    "database",
    "object",
    "object_base64",
    "retcode",
    "extra",
    "ambiguous",
    "readings",
    "alternatives_omitted",
    "log_group",
    "log_stream",
    "event_id",
    "cloudwatch_timestamp_ms",
    "sequence_number",
    "file",
    "line",
    "serverhost_base64",
    "username_base64",
    "host_base64",
    "database_base64",
];

fn run(path: &std::path::Path, format: &str) -> Vec<u8> {
    let out = rdsaudit()
        .args(["parse", "--format", format])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The CSV/TSV field NDJSON's value corresponds to (missing keys are empty fields).
fn as_field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_table(path: &std::path::Path, format: &str) {
    let events = ndjson(&run(path, "ndjson"));
    let rows = table(&run(path, format), format);
    assert_eq!(rows[0], COLUMNS);
    let rows = &rows[1..];
    assert_eq!(rows.len(), events.len());
    for (row, v) in rows.iter().zip(&events) {
        assert_eq!(row.len(), COLUMNS.len());
        for (column, field) in COLUMNS.iter().zip(row.iter()) {
            let want = v.get(*column).map(as_field).unwrap_or_default();
            // A cell a spreadsheet would run as a formula has a ' in front (CSV injection).
            let formula = want.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let field = if formula {
                field.strip_prefix('\'').unwrap()
            } else {
                field.as_str()
            };
            assert_eq!(field, want, "{format} column {column}");
        }
    }
}

#[test]
fn csv_and_tsv_match_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in DIALECTS {
        // Hard cases: commas, quotes, tabs, newlines, multibyte and non-UTF-8 objects.
        let corpus = corpus(dialect, 4, 50, 70);
        let kinesis = write(dir.path(), "k.json", &corpus.kinesis_event());
        let text = write(dir.path(), "t.log", &corpus.plain_text());
        for path in [&kinesis, &text] {
            check_table(path, "csv");
            check_table(path, "tsv");
        }
        // The table keeps the exact bytes of a non-UTF-8 object, like NDJSON.
        let tsv = table(&run(&text, "tsv"), "tsv");
        assert!(
            tsv.iter().skip(1).any(|r| !r[11].is_empty()),
            "no object_base64 in {dialect:?}"
        );
    }
}

#[test]
fn ndjson_keys_are_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 2, 20, 30);
    let events = ndjson(&run(
        &write(dir.path(), "k", &corpus.kinesis_event()),
        "ndjson",
    ));
    for v in &events {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let optional = [
            "object_base64",
            "ambiguous",
            "readings",
            "alternatives_omitted",
            "line",
            "serverhost_base64",
            "username_base64",
            "host_base64",
            "database_base64",
        ];
        let want: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|k| !optional.contains(k))
            .collect();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        assert_eq!(keys_sorted, want_sorted);
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            v["timestamp"].as_str().unwrap().len(),
            "2024-03-23T13:36:08.000000Z".len()
        );
    }
}

#[test]
fn sql_is_one_query_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::MariaDb, 3, 60, 50);
    let path = write(dir.path(), "t.log", &corpus.plain_text());
    let sql = String::from_utf8(run(&path, "sql")).unwrap();
    let statements: Vec<(String, bool, i64, String)> = corpus
        .lines()
        .filter(|l| l.expected.operation == "QUERY")
        .map(|l| {
            let s = String::from_utf8_lossy(&l.expected.object)
                .trim()
                .to_owned();
            // Text that is not UTF-8 is a comment (its bytes would change).
            let exact = !s.contains(['\n', '\r', '#', '\\', '\u{fffd}'])
                && !s.contains("--")
                && !s.contains("/*");
            let retcode = l.expected.retcode.unwrap_or(0);
            (s, exact, retcode, l.expected.database.clone())
        })
        .filter(|(s, ..)| !s.is_empty())
        .collect();
    // The database each statement runs in comes first when it changes.
    let (mut lines, mut database) = (Vec::new(), String::new());
    for line in sql.lines() {
        if let Some(name) = line
            .strip_prefix("USE `")
            .and_then(|l| l.strip_suffix("`;"))
        {
            database = name.replace("``", "`");
        } else if line.starts_with("-- rdsaudit: no database selected") {
            database.clear();
        } else if !line.starts_with("DELIMITER ") {
            lines.push((line, database.clone()));
        }
    }
    assert_eq!(lines.len(), statements.len());
    assert!(lines.len() > 100);
    for ((line, database), (statement, exact, retcode, want_database)) in
        lines.iter().zip(&statements)
    {
        if line.starts_with("-- rdsaudit: not run, may be cut at the audit log limit") {
            // Its text may be cut anywhere: not run, and no USE for it.
            let text = statement.replace('\n', "\\n").replace('\r', "\\r");
            assert!(statement.len() > 512 && line.ends_with(&text), "{line}");
            continue;
        }
        assert_eq!(database, want_database, "{line}");
        if *retcode != 0 {
            // Refused by the server: never written as a statement to run.
            let note = format!("-- rdsaudit: not run, the server returned error {retcode}: ");
            assert!(line.starts_with(&note), "{line}");
            continue;
        }
        // Statements without comments or line breaks come out as they are; the others as
        // cli_output_safety.rs checks: never a raw line break, never a comment left open.
        if *exact {
            let want = if statement.ends_with(';') {
                statement.clone()
            } else {
                format!("{statement};")
            };
            assert_eq!(*line, want);
        } else {
            assert!(
                line.ends_with(';') || line.starts_with("-- rdsaudit: not written as SQL"),
                "{line}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l.0.starts_with("/* migration 42 */ ALTER TABLE"))
    );
}

/// Review 5's forgery (real MariaDB 10.11): eve's database name holds raw line breaks and a
/// whole line in which admin drops a table. Admin never ran it.
const FORGED: &[u8] = b"20250101 00:00:00,srv,p,10.0.0.1,5,0,DISCONNECT,,,0\n\
20250101 00:00:01,srv,eve,10.0.0.9,7,12,QUERY,x\n\
,u,0\n\
20241231 23:59:59,srv,admin,10.0.0.1,9,9,QUERY,mysql,'DROP TABLE t1',0\n\
20250101 00:00:02,srv,eve,10.0.0.9,7,13,QUERY,,'SELECT 1',0\n";

/// CSV and TSV carry the flag NDJSON carries, and SQL never writes a flagged statement as
/// one to run (docs/HOSTILE.md rule 3); a clean event only gains empty cells.
#[test]
fn every_format_carries_the_ambiguity_flag() {
    let dir = tempfile::tempdir().unwrap();
    let forged = write(dir.path(), "e6.log", FORGED);
    let clean = write(
        dir.path(),
        "clean.log",
        b"20250101 00:00:03,srv,bob,10.0.0.2,8,14,QUERY,shop,'SELECT 2',0\n",
    );
    for format in ["csv", "tsv"] {
        check_table(&forged, format);
        let rows = table(&run(&forged, format), format);
        let drop = rows.iter().find(|r| r[10] == "DROP TABLE t1").unwrap();
        assert_eq!(drop[4], "admin");
        assert_eq!(drop[14..17], ["true", "2", "1"], "{format}");
        let rows = table(&run(&clean, format), format);
        assert_eq!(rows[1][10], "SELECT 2");
        assert_eq!(rows[1][14..17], ["", "", ""], "{format}");
    }
    let out = rdsaudit()
        .args(["parse", "--format", "sql", "--writes"])
        .arg(&forged)
        .output()
        .unwrap();
    assert!(out.status.success());
    let sql = String::from_utf8(out.stdout).unwrap();
    // `--writes` keeps `SELECT 1` too: one of its readings is unlisted (filter.rs).
    assert_eq!(
        sql,
        "-- rdsaudit: not run, ambiguous (2 readings, 1 unlisted): DROP TABLE t1\n\
         -- rdsaudit: not run, ambiguous (2 readings, 1 unlisted): SELECT 1\n"
    );
    assert_eq!(
        String::from_utf8(run(&clean, "sql")).unwrap(),
        "USE `shop`;\nSELECT 2;\n"
    );
}
