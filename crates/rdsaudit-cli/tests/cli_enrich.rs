//! `rdsaudit parse --enrich`: the semantic keys on the recorded MariaDB corpus.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::path::PathBuf;

use cli_common::*;
use serde_json::Value;

fn corpus_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/mariadb")
        .join(name)
}

fn run(args: &[&str], file: &str) -> Vec<Value> {
    let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    all.push(corpus_file(file).into());
    let refs: Vec<&std::ffi::OsStr> = all.iter().map(|a| a.as_os_str()).collect();
    let (code, events, stderr) = parse(&refs);
    assert_eq!(code, 0, "{stderr}");
    events
}

const KEYS: [&str; 10] = [
    "writes",
    "statement_class",
    "tables",
    "written_tables",
    "fingerprint",
    "digest",
    "truncated",
    "version_dependent",
    "mode_dependent",
    "partial",
];

#[test]
fn every_event_gets_the_keys_and_plain_output_does_not() {
    let plain = run(&[], "audit-full.log");
    let enriched = run(&["--enrich"], "audit-full.log");
    assert_eq!(plain.len(), enriched.len());
    for (p, e) in plain.iter().zip(&enriched) {
        for key in KEYS {
            assert!(p.get(key).is_none(), "{key} without --enrich");
            assert!(e.get(key).is_some(), "{key} missing: {e}");
        }
        let mut rest = e.as_object().unwrap().clone();
        for key in KEYS {
            rest.remove(key);
        }
        assert_eq!(&Value::Object(rest), p, "the plain keys are unchanged");
        let query = e["operation"] == "QUERY";
        assert_eq!(e["fingerprint"].is_string(), query);
        assert_eq!(e["statement_class"].is_string(), query);
        assert!(e["writes"].is_boolean() && e["truncated"].is_boolean());
        // Written tables are some of the tables, and only for writes.
        let (tables, written) = (
            e["tables"].as_array().unwrap(),
            e["written_tables"].as_array().unwrap(),
        );
        assert!(written.iter().all(|t| tables.contains(t)), "{e}");
        assert!(e["writes"] == true || written.is_empty(), "{e}");
    }
    let classes: Vec<&str> = enriched
        .iter()
        .filter_map(|e| e["statement_class"].as_str())
        .collect();
    for class in ["select", "dml", "ddl", "dcl", "session", "call"] {
        assert!(
            classes.contains(&class),
            "no {class} in the corpus: {classes:?}"
        );
    }
}

#[test]
fn tables_come_from_the_servers_table_events_even_when_filtered_out() {
    let events = run(&["--enrich", "--operation", "QUERY"], "audit-full.log");
    let call = events.iter().find(|e| e["object"] == "CALL p1()").unwrap();
    assert_eq!(call["writes"], true);
    assert_eq!(call["fingerprint"], "call p1");
    let insert = events
        .iter()
        .find(|e| e["object"].as_str().unwrap().starts_with("INSERT INTO t1") && e["retcode"] == 0)
        .unwrap();
    assert_eq!(insert["tables"], serde_json::json!(["auditdb.t1"]));
    assert_eq!(insert["statement_class"], "dml");
}

#[test]
fn cut_statements_are_flagged() {
    let events = run(&["--enrich", "--operation", "QUERY"], "audit-limit1024.log");
    // As written in the log: the plugin escapes \b \t \n \f \r ' and \ with a backslash.
    let logged_len = |e: &Value| {
        let text = e["object"].as_str().unwrap();
        text.len()
            + text
                .bytes()
                .filter(|b| b"\x08\t\n\x0c\r'\\".contains(b))
                .count()
    };
    let expected = std::fs::read_to_string(corpus_file("expected-limit1024.jsonl")).unwrap();
    let recorded_cut = expected
        .lines()
        .filter(|l| l.contains(r#""truncated": true"#))
        .count();
    let cut: Vec<&Value> = events.iter().filter(|e| e["truncated"] == true).collect();
    assert!(
        cut.len() >= recorded_cut && recorded_cut > 0,
        "{} {recorded_cut}",
        cut.len()
    );
    for e in &events {
        assert_eq!(e["truncated"] == true, logged_len(e) >= 1023, "{e}");
    }
}

#[test]
fn enrich_is_ndjson_only() {
    let out = rdsaudit()
        .args(["parse", "--enrich", "--format", "csv"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("--enrich adds NDJSON keys")
    );
}

/// Review 8 (S3): `--csv-raw` changes CSV/TSV cells only; with another format it is refused
/// as `--enrich` is with one other than NDJSON, instead of doing nothing.
#[test]
fn csv_raw_is_csv_and_tsv_only() {
    for format in ["ndjson", "sql"] {
        let out = rdsaudit()
            .args(["parse", "--csv-raw", "--format", format])
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("--csv-raw writes CSV/TSV cells"),
            "{stderr}"
        );
    }
    for format in ["csv", "tsv"] {
        let out = rdsaudit()
            .args(["parse", "--csv-raw", "--format", format])
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
    }
}
