//! `gen`, `stats`, `--threads`, broken pipes and `--help`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use cli_common::*;
use rdsaudit_synth::{Corpus, Spec};

fn gen_bytes(args: &[&str]) -> Vec<u8> {
    let out = rdsaudit().arg("gen").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn gen_is_deterministic_and_matches_the_library() {
    let args = [
        "--records",
        "4",
        "--lines-per-record",
        "6",
        "--dialect",
        "rds-mysql",
        "--hard",
        "35",
        "--seed",
        "9",
    ];
    let kinesis = gen_bytes(&args);
    assert_eq!(kinesis, gen_bytes(&args));
    let spec = Spec {
        seed: 9,
        records: 4,
        lines_per_record: 6,
        hard_percent: 35,
        ..Spec::new(rdsaudit::Dialect::RdsMySql)
    };
    let corpus = Corpus::generate(&spec);
    assert_eq!(kinesis, corpus.kinesis_event());
    let mut other_seed = args;
    other_seed[9] = "10";
    assert_ne!(kinesis, gen_bytes(&other_seed));
    let lines = gen_bytes(&[&args[..], &["--output", "lines"]].concat());
    assert_eq!(lines, corpus.plain_text());
    // Gzip outputs are real gzip: flate2 reads them back.
    let mut text = Vec::new();
    let gz = gen_bytes(&[&args[..], &["--output", "lines-gz"]].concat());
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(text, corpus.plain_text());
}

#[test]
fn gen_outputs_parse_back() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        records: 3,
        lines_per_record: 7,
        ..Spec::new(rdsaudit::Dialect::MariaDb)
    };
    let corpus = Corpus::generate(&spec);
    let base = [
        "--records",
        "3",
        "--lines-per-record",
        "7",
        "--dialect",
        "mariadb",
    ];
    for output in ["kinesis", "gzip", "envelope", "lines", "lines-gz"] {
        let bytes = gen_bytes(&[&base[..], &["--output", output]].concat());
        let path = write(dir.path(), output, &bytes);
        let (code, events, stderr) = parse(&[path.as_os_str()]);
        assert_eq!(code, 0, "{output}: {stderr}");
        assert_eq!(events.len(), 21, "{output}");
        let via_cloudwatch = !output.starts_with("lines");
        for (v, line) in events.iter().zip(corpus.lines()) {
            assert_event(v, line, via_cloudwatch);
        }
    }
    let one = gen_bytes(&["--records", "1", "--output", "awslogs"]);
    let (code, events, _) = parse(&[write(dir.path(), "a", &one).as_os_str()]);
    assert_eq!((code, events.len()), (0, 10));
    let out = rdsaudit()
        .args(["gen", "--output", "awslogs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // One payload file per record with --out DIR.
    let payloads = dir.path().join("payloads");
    std::fs::create_dir(&payloads).unwrap();
    rdsaudit()
        .args(["gen", "--records", "3", "--output", "gzip", "--out"])
        .arg(&payloads)
        .assert()
        .success();
    let (code, events, _) = parse(&[payloads.join("record-00003.gz").as_os_str()]);
    assert_eq!((code, events.len()), (0, 10));
}

#[test]
fn gen_lambda_presets() {
    let batch = gen_bytes(&["--preset", "max-lambda-batch"]);
    let v: serde_json::Value = serde_json::from_slice(&batch).unwrap();
    assert_eq!(v["Records"].as_array().unwrap().len(), 10_000);
    let payload = gen_bytes(&["--preset", "max-lambda-payload"]);
    assert!(payload.len() < 6_000_000, "{}", payload.len());
}

#[test]
fn stats_counts_match_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::MariaDb, 10, 30, 30);
    let path = write(dir.path(), "k.json", &corpus.kinesis_event());
    let out = rdsaudit()
        .args(["stats", "--top", "100"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let section = |title: &str| -> HashMap<String, u64> {
        let body = text.split(&format!("\n{title}:\n")).nth(1).unwrap();
        body.lines()
            .take_while(|l| l.starts_with("  ") && !l.contains(" more)"))
            .map(|l| {
                let (n, key) = l.trim_start().split_once("  ").unwrap();
                (key.to_owned(), n.parse().unwrap())
            })
            .collect()
    };
    let mut want_ops: HashMap<String, u64> = HashMap::new();
    let mut want_users: HashMap<String, u64> = HashMap::new();
    for l in corpus.lines() {
        *want_ops.entry(l.expected.operation.to_owned()).or_default() += 1;
        *want_users.entry(l.expected.username.clone()).or_default() += 1;
    }
    assert_eq!(section("operations"), want_ops);
    assert_eq!(section("users"), want_users);
    // Each count named for what it counts: one CloudWatch log event per audit line here.
    assert!(
        text.starts_with(
            "records: 10 (Kinesis records, CloudWatch Logs payloads)\n\
             CloudWatch log events: 300\n\
             audit lines: 300 = 300 parsed + 0 unparsed\n\
             events: 300 "
        ),
        "{text}"
    );
    // `WHERE id = 7` and `WHERE id = 9` have one fingerprint (pt-fingerprint's normal form).
    let body = text.split("\ntop fingerprints:\n").nth(1).unwrap();
    let shapes: HashMap<String, u64> = body
        .lines()
        .take_while(|l| l.starts_with("  ") && !l.contains(" more)"))
        .map(|l| {
            // `  <count>  <first> .. <last>  0x<digest>  <fingerprint>`
            let (head, rest) = l.split_once("  0x").unwrap();
            let n = head.split_whitespace().next().unwrap().parse().unwrap();
            let fp = rest.split_once("  ").map_or("", |(_, fp)| fp).to_owned();
            (fp, n)
        })
        .collect();
    let point_reads = corpus
        .lines()
        .filter(|l| {
            l.expected
                .object
                .starts_with(b"SELECT * FROM orders WHERE id = ")
        })
        .count() as u64;
    assert!(point_reads > 10);
    assert_eq!(shapes["select * from orders where id = ?"], point_reads);
    let failed = corpus
        .lines()
        .filter(|l| l.expected.operation == "FAILED_CONNECT")
        .count();
    assert!(
        text.contains(&format!("\nfailed logins: {failed}\n")),
        "{text}"
    );
    assert!(text.contains("\nevents per minute:\n"), "{text}");
    assert!(text.contains("\nDDL and DCL statements: "), "{text}");
    // The same numbers for machines.
    let json = rdsaudit()
        .args(["stats", "--format", "json", "--top", "100"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["events"], 300);
    assert_eq!(
        (
            &v["records"],
            &v["cloudwatch_log_events"],
            &v["audit_lines"]["total"]
        ),
        (&10.into(), &300.into(), &300.into())
    );
    let histogram_total: u64 = v["histogram"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["events"].as_u64().unwrap())
        .sum();
    assert_eq!(histogram_total, 300);
    let fp_point_reads = v["top_fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == "select * from orders where id = ?")
        .unwrap();
    assert_eq!(fp_point_reads["count"], point_reads);
    assert_eq!(fp_point_reads["digest"].as_str().unwrap().len(), 32);
    assert!(
        String::from_utf8(json.stderr)
            .unwrap()
            .contains("accounting:")
    );
    assert!(
        text.contains("\naccounting:\n  inputs:     1 = 1 read"),
        "{text}"
    );
    assert_eq!(balanced(&text, "audit lines"), [300, 0]);
    // Filters apply to stats too.
    let out = rdsaudit()
        .args(["stats", "--exclude-user", "rdsadmin"])
        .arg(&path)
        .output()
        .unwrap();
    let kept = corpus
        .lines()
        .filter(|l| l.expected.username != "rdsadmin")
        .count();
    assert!(String::from_utf8(out.stdout).unwrap().contains(&format!(
        "\nevents: {kept} (parsed audit lines the filters selected)\n"
    )));
    // The global -q: no accounting summary, in either format.
    for format in ["text", "json"] {
        let out = rdsaudit()
            .args(["-q", "stats", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert!(
            !stdout.contains("accounting:") && stderr.is_empty(),
            "{stdout}{stderr}"
        );
        assert!(stdout.contains("events"), "{stdout}");
    }
}

#[test]
fn threads_do_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    // Big enough for several text pieces and record chunks.
    let corpus = corpus(rdsaudit::Dialect::Aurora, 1500, 20, 20);
    let kinesis = write(dir.path(), "k.json", &corpus.kinesis_event());
    let text = write(dir.path(), "t.log", &corpus.plain_text());
    assert!(std::fs::metadata(&text).unwrap().len() > 3 << 20);
    for path in [&kinesis, &text] {
        let run = |threads: &str| {
            rdsaudit()
                .args(["parse", "--quiet", "--threads", threads])
                .arg(path)
                .output()
                .unwrap()
        };
        let one = run("1");
        let four = run("4");
        assert!(one.status.success() && four.status.success());
        assert_eq!(one.stdout, four.stdout);
        // SQL: a chunk's writer goes to the next record's chunk once its record is decoded,
        // unless the `USE` after it is still to be decided from it (rdsaudit-cli `parse`).
        for format in ["sql", "csv"] {
            let run = |threads: &str| {
                let out = rdsaudit()
                    .args(["parse", "--quiet", "--format", format, "--threads", threads])
                    .arg(path)
                    .output()
                    .unwrap();
                assert!(out.status.success());
                out.stdout
            };
            let one = run("1");
            assert!(!one.is_empty(), "{format}");
            assert_eq!(one, run("4"), "{format}");
        }
        let events = ndjson(&one.stdout);
        assert_eq!(events.len(), 30_000);
        for (v, line) in events.iter().zip(corpus.lines()) {
            assert_eq!(
                v["event_id"].as_str().map(|_| ()).is_some(),
                path == &kinesis
            );
            assert_eq!(v["query_id"], line.expected.query_id);
        }
    }
}

#[test]
fn broken_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::RdsMySql, 2000, 10, 20);
    let path = write(dir.path(), "big.json", &corpus.kinesis_event());
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
        .arg("parse")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"timestamp\""));
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// Stderr closed before the run writes to it (`rdsaudit parse x 2>&1 >/dev/null | head -1`
/// closes it after one line): the messages are lost, not the run. Every line here is bad,
/// so the run writes one error per line and then its summary.
#[test]
fn a_closed_stderr_does_not_end_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad: String = (0..500)
        .map(|i| format!("not an audit line {i}\n"))
        .collect();
    let path = write(dir.path(), "bad.log", bad.as_bytes());
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rdsaudit"))
        .arg("parse")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    // 1: some line failed (as with stderr open); a panic would be 101.
    assert_eq!(status.code(), Some(1));
}

#[test]
fn help_reads_well() {
    let out = rdsaudit().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "parse",
        "stats",
        "gen",
        "--threads",
        "--quiet",
        "Exit status:",
        "1  some input failed",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let parse_help = String::from_utf8(
        rdsaudit()
            .args(["parse", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for needle in [
        "--format",
        "--input <KIND>",
        "--exclude-user",
        "--writes",
        "--grep",
        "object_base64",
        "kinesis",
        "awslogs",
        "cloudwatch-gzip",
    ] {
        assert!(
            parse_help.contains(needle),
            "{needle} missing from:\n{parse_help}"
        );
    }
    // A usage error is exit status 2.
    assert_eq!(
        rdsaudit()
            .arg("parse")
            .arg("--no-such-flag")
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

/// Review 8 (F9): the help shows escapes as escapes (`\t`), never the control bytes.
#[test]
fn help_holds_no_control_bytes() {
    for args in [&["--help"][..], &["parse", "--help"], &["encode", "--help"]] {
        let out = rdsaudit().args(args).output().unwrap();
        assert!(out.status.success());
        let bad: Vec<u8> = out
            .stdout
            .iter()
            .copied()
            .filter(|b| b.is_ascii_control() && *b != b'\n')
            .collect();
        assert!(bad.is_empty(), "{args:?}: {bad:?}");
    }
    let parse_help = rdsaudit()
        .args(["parse", "--help"])
        .output()
        .unwrap()
        .stdout;
    let parse_help = String::from_utf8(parse_help).unwrap();
    assert!(parse_help.contains(r"\\, \t, \n, \r, \0"), "{parse_help}");
    assert!(!parse_help.contains("quoted like CSV"), "{parse_help}");
}

/// Two users whose names are not UTF-8 are two users in `stats`, shown with their bytes (both
/// were one `\u{FFFD}` user, also in failed logins); a UTF-8 user whose name spells the
/// display of one of them is a third (session 31's adversary D, F5: it was shown, and
/// counted, as the user `\xff`).
#[test]
fn stats_tells_names_that_are_not_utf8_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    let forged = "\u{FFFD} (not UTF-8, base64 /w==)".as_bytes();
    for user in [&b"\xff"[..], b"\xfe", b"\xfe", forged] {
        log.extend_from_slice(b"20240323 13:36:08,srv,");
        log.extend_from_slice(user);
        log.extend_from_slice(b",10.0.0.1,5,0,FAILED_CONNECT,,,1045\n");
    }
    let path = write(dir.path(), "audit.log", &log);
    let out = rdsaudit()
        .args(["-q", "stats", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = |key: &str| -> Vec<(String, u64)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_owned(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        counts("users"),
        [
            ("\"\u{FFFD}\" (not UTF-8, base64 /g==)".to_owned(), 2),
            ("\"\\u{fffd} (not UTF-8, base64 /w==)\"".to_owned(), 1),
            ("\"\u{FFFD}\" (not UTF-8, base64 /w==)".to_owned(), 1)
        ],
        "{v}"
    );
    assert_eq!(
        counts("failed_logins"),
        [
            (
                "\"\u{FFFD}\" (not UTF-8, base64 /g==)@10.0.0.1".to_owned(),
                2
            ),
            (
                "\"\\u{fffd} (not UTF-8, base64 /w==)\"@10.0.0.1".to_owned(),
                1
            ),
            (
                "\"\u{FFFD}\" (not UTF-8, base64 /w==)@10.0.0.1".to_owned(),
                1
            )
        ],
        "{v}"
    );
}

/// Session 34's adversary LOW-4 (enr/s.log): `stats` counted the tables `\xff` and U+FFFD
/// as one (`2  shop.�`, one JSON key), and showed `t` of a database named `(none)` as
/// `(none).t`, which reads as a table of no database. Failed before.
#[test]
fn stats_counts_tables_by_their_bytes_and_no_database_named_none_reads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    for (database, statement) in [
        (&b"shop"[..], &b"CREATE TABLE `\xff` (a int)"[..]),
        (b"shop", "CREATE TABLE `\u{FFFD}` (a int)".as_bytes()),
        (b"(none)", b"INSERT INTO t VALUES (1)"),
        (b"", b"INSERT INTO t VALUES (1)"),
    ] {
        log.extend_from_slice(b"20240615 10:31:05,db1,app,10.0.0.9,7,1,QUERY,");
        log.extend_from_slice(database);
        log.extend_from_slice(b",'");
        log.extend_from_slice(statement);
        log.extend_from_slice(b"',0\n");
    }
    let path = write(dir.path(), "s.log", &log);
    let out = rdsaudit()
        .args(["-q", "stats", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, u64)> = v["writes_per_table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|(_, n)| *n == 1), "{rows:?}");
    let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    for key in [
        "shop.\u{FFFD} (not UTF-8, base64 c2hvcC7/)",
        "shop.\\u{fffd}",
        "`(none)`.t",
        "t",
    ] {
        assert!(keys.contains(&key), "{key:?} in {keys:?}");
    }
    let out = rdsaudit()
        .args(["-q", "stats"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n           1  `(none)`.t\n"), "{text}");
    assert!(!text.contains(" (none).t"), "{text}");
}
