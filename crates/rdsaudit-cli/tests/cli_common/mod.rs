//! Helpers shared by the `cli_*` integration tests: they run the real `rdsaudit` binary on
//! corpora from `rdsaudit_synth`, compressed with flate2 (a different gzip implementation
//! from the one the generator and the parser use).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rdsaudit::Dialect;
use rdsaudit_synth::{Corpus, Spec, SynthLine};
use serde_json::Value;

pub const DIALECTS: [Dialect; 3] = [Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql];

/// A file under `tests/recorded/` (lines recorded from a real MariaDB server).
pub fn recorded(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/recorded")
        .join(name)
}

/// `rdsaudit parse -q --enrich --operation QUERY ARGS tests/recorded/FILE`: its events (exit
/// code 0 asserted).
pub fn enriched_queries(args: &[&str], file: &str) -> Vec<Value> {
    let out = rdsaudit()
        .args(["parse", "-q", "--enrich", "--operation", "QUERY"])
        .args(args)
        .arg(recorded(file))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ndjson(&out.stdout)
}

/// `rdsaudit stats --format json FILE` (exit code 0 asserted).
pub fn stats_json(file: &Path) -> Value {
    let out = rdsaudit()
        .args(["stats", "--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn rdsaudit() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("rdsaudit").unwrap()
}

pub fn corpus(dialect: Dialect, records: usize, lines: usize, hard: u8) -> Corpus {
    Corpus::generate(&Spec {
        records,
        lines_per_record: lines,
        hard_percent: hard,
        ..Spec::new(dialect)
    })
}

pub fn flate2_gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub fn ndjson(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs `rdsaudit parse <args>` and returns (exit code, NDJSON values, stderr).
pub fn parse(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>, String) {
    let out = rdsaudit().arg("parse").args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap(), ndjson(&out.stdout), stderr)
}

/// Checks one NDJSON event against what the generator meant. `via_cloudwatch`: the line
/// travelled as JSON text, so bytes that are not UTF-8 arrived lossily converted.
pub fn assert_event(v: &Value, line: &SynthLine, via_cloudwatch: bool) {
    let x = &line.expected;
    let ctx = String::from_utf8_lossy(&line.line);
    assert_eq!(v["timestamp_us"], x.timestamp_us, "{ctx}");
    assert_eq!(v["dialect"], x.dialect.as_str(), "{ctx}");
    assert_eq!(v["serverhost"], x.serverhost, "{ctx}");
    assert_eq!(v["username"], x.username, "{ctx}");
    assert_eq!(v["host"], x.host, "{ctx}");
    assert_eq!(v["connection_id"], x.connection_id, "{ctx}");
    assert_eq!(v["query_id"], x.query_id, "{ctx}");
    assert_eq!(v["operation"], x.operation, "{ctx}");
    assert_eq!(v["database"], x.database, "{ctx}");
    assert_eq!(
        v["retcode"],
        serde_json::to_value(x.retcode).unwrap(),
        "{ctx}"
    );
    assert_eq!(v["extra"], serde_json::to_value(&x.extra).unwrap(), "{ctx}");
    assert_eq!(v["object"], *String::from_utf8_lossy(&x.object), "{ctx}");
    let exact = std::str::from_utf8(&x.object).is_err() && !via_cloudwatch;
    match v.get("object_base64") {
        Some(b64) => {
            assert!(exact, "unexpected object_base64 for {ctx}");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_str().unwrap())
                .unwrap();
            assert_eq!(bytes, x.object, "{ctx}");
        }
        None => assert!(!exact, "missing object_base64 for {ctx}"),
    }
    if via_cloudwatch {
        assert_eq!(v["event_id"], line.event_id, "{ctx}");
        assert_eq!(
            v["cloudwatch_timestamp_ms"], line.cloudwatch_timestamp_ms,
            "{ctx}"
        );
    }
}

/// The counts on the summary's `label:` line: the total and each part, in order.
pub fn summary_counts(stderr: &str, label: &str) -> Vec<u64> {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no {label} line in {stderr}"));
    // Drop the breakdowns in parentheses: `1 failed (gzip: 1)`.
    let body = line.split_once(':').unwrap().1;
    let mut outside = String::new();
    let mut depth = 0;
    for c in body.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Asserts that a summary line's total equals the sum of its parts, and returns the parts.
pub fn balanced(stderr: &str, label: &str) -> Vec<u64> {
    let counts = summary_counts(stderr, label);
    let (total, parts) = counts.split_first().unwrap();
    assert_eq!(
        *total,
        parts.iter().sum::<u64>(),
        "{label} does not add up: {stderr}"
    );
    parts.to_vec()
}

/// Rows of a CSV file (read with the csv crate) or a TSV file (one row per line, one field
/// per tab, `\\` `\t` `\n` `\r` `\0` undone), header first.
pub fn table(bytes: &[u8], format: &str) -> Vec<Vec<String>> {
    if format == "csv" {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes);
        return reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
    }
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.lines()
        .map(|line| line.split('\t').map(tsv_unescape).collect())
        .collect()
}

pub fn tsv_unescape(cell: &str) -> String {
    rdsaudit_synth::tsv::unescape(cell).expect("a TSV escape is two characters")
}
