//! Differential test: `rdsaudit_sql::fingerprint` against percona-toolkit's own code.
//!
//! Every statement of the recorded MariaDB corpus (what was sent, and the object the plugin
//! logged, truncated ones included) and a generated set (literals of every kind, comments,
//! IN lists, multi-row VALUES, hex, strings with escapes, UNIONs, ORDER BY, cut statements)
//! go through `QueryRewriter::fingerprint` of the installed `pt-fingerprint` (Debian package
//! `percona-toolkit`), loaded once by a small Perl driver and fed hex lines, so bytes travel
//! exactly. The only accepted difference is the documented one: our result is UTF-8 text
//! (U+FFFD for invalid bytes).
//!
//! pt-fingerprint is required: when it is missing the test installs it with apt-get (as root)
//! or fails saying how to install it. It never skips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::corpus_dir;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;
use rdsaudit_sql::fingerprint::fingerprint;

/// Loads pt-fingerprint as a module (it only runs `main` when it is not `require`d) and
/// fingerprints one hex-encoded statement per line with the tool's default options.
const DRIVER: &str = r#"
require $ARGV[0];
my $qr = QueryRewriter->new(QueryParser => QueryParser->new());
binmode STDIN; binmode STDOUT;
while (my $line = <STDIN>) {
    chomp $line;
    print unpack("H*", $qr->fingerprint(pack("H*", $line))), "\n";
}
"#;

fn pt_fingerprint() -> PathBuf {
    let find = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join("pt-fingerprint"))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return p;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if root {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-q", "percona-toolkit"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    find().unwrap_or_else(|| {
        panic!(
            "pt-fingerprint is not installed: this differential test needs it. \
             Install it with `apt-get install -y percona-toolkit` (Debian/Ubuntu; .ci/run does)"
        )
    })
}

/// pt-fingerprint's output for each statement, as bytes.
fn reference(statements: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut child = Command::new("perl")
        .args(["-e", DRIVER])
        .arg(pt_fingerprint())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("perl runs");
    let mut input = String::new();
    for s in statements {
        input.push_str(&hex(s));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "the pt-fingerprint driver failed");
    let lines: Vec<Vec<u8>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(unhex)
        .collect();
    assert_eq!(
        lines.len(),
        statements.len(),
        "one fingerprint per statement"
    );
    lines
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Compares all statements; the message lists every difference.
fn check(statements: &[Vec<u8>]) {
    let expected = reference(statements);
    let mut diffs = Vec::new();
    for (s, want) in statements.iter().zip(&expected) {
        let want = String::from_utf8_lossy(want);
        let got = fingerprint(s);
        if got != want {
            diffs.push(format!(
                "statement {:?}\n   pt-fingerprint {want:?}\n   rdsaudit       {got:?}",
                String::from_utf8_lossy(s)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} differ:\n{}",
        diffs.len(),
        statements.len(),
        diffs.join("\n")
    );
}

fn corpus_statements() -> Vec<Vec<u8>> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    for pass in ["full", "limit1024"] {
        let path = dir.join(format!("expected-{pass}.jsonl"));
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in ["sent_b64", "object_b64"] {
                if let Some(b) = v[key].as_str() {
                    out.push(base64::engine::general_purpose::STANDARD.decode(b).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn every_corpus_statement_fingerprints_like_pt_fingerprint() {
    let statements = corpus_statements();
    assert!(statements.len() > 100, "the corpus holds the statements");
    check(&statements);
}

/// Pieces a statement is built from: every literal kind, names with digits, comments of
/// every style, quotes and escapes, keywords the normal form rewrites.
fn piece() -> BoxedStrategy<String> {
    let literal = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        (0u32..1000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        any::<u32>().prop_map(|n| format!("0x{n:X}")),
        any::<u32>().prop_map(|n| format!("0x{n:x}")),
        any::<u16>().prop_map(|n| format!("X'{n:04X}'")),
        any::<u8>().prop_map(|n| format!("b'{n:b}'")),
        any::<u8>().prop_map(|n| format!("0b{n:b}")),
        "[a-z ,'\\\\\"]{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "\\'"))),
        "[a-z ,\"]{0,8}".prop_map(|s| format!("'{}''{}'", s, s)),
        "[a-z ,']{0,8}".prop_map(|s| format!("\"{}\"", s)),
        "[a-z]{0,6}".prop_map(|s| format!("_utf8mb4'{s}' COLLATE utf8mb4_bin")),
        Just("NULL".to_owned()),
        Just("null".to_owned()),
        Just("TRUE".to_owned()),
        Just("-7".to_owned()),
        Just("+3".to_owned()),
        Just(".5".to_owned()),
    ];
    let word = prop_oneof![
        Just("SELECT"),
        Just("select"),
        Just("FROM"),
        Just("WHERE"),
        Just("IN"),
        Just("in"),
        Just("VALUES"),
        Just("value"),
        Just("UNION"),
        Just("union all"),
        Just("ORDER BY"),
        Just("order by"),
        Just("ASC"),
        Just("asc"),
        Just("ascii"),
        Just("LIMIT"),
        Just("OFFSET"),
        Just("AND"),
        Just("t1"),
        Just("tab1"),
        Just("`odd -- name`"),
        Just("db.t_2"),
        Just("md5"),
        Just("x"),
        Just("b"),
        Just("="),
        Just(","),
        Just("("),
        Just(")"),
        Just("-"),
        Just("+"),
        Just("*"),
        Just("\\'"),
        Just("\\\""),
    ]
    .prop_map(str::to_owned);
    let comment = prop_oneof![
        "[a-z ]{0,8}".prop_map(|s| format!("/* {s} */")),
        "[a-z ]{0,8}".prop_map(|s| format!("/*{s}*/")),
        "[a-z ]{0,8}".prop_map(|s| format!("/*!50000 {s} */")),
        "[a-z ']{0,8}".prop_map(|s| format!("-- {s}\n")),
        "[a-z ']{0,8}".prop_map(|s| format!("#{s}\n")),
        Just("--".to_owned()),
        Just("/**/".to_owned()),
    ];
    let space = prop_oneof![
        Just(" "),
        Just("  "),
        Just("\n"),
        Just("\t"),
        Just("\r\n"),
        Just("\x0c"),
        Just("\x0b"),
        Just(""),
    ]
    .prop_map(str::to_owned);
    prop_oneof![4 => literal, 6 => word, 1 => comment, 3 => space].boxed()
}

/// A statement shape DBAs see (so the rewriting rules fire), then filled with pieces.
fn statement() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(piece(), 0..24)
        .prop_map(|v| v.join(" "))
        .boxed();
    let list = proptest::collection::vec(piece(), 1..6)
        .prop_map(|v| v.join(", "))
        .boxed();
    let rows = proptest::collection::vec(list.clone(), 1..5)
        .prop_map(|v| {
            v.iter()
                .map(|r| format!("({r})"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .boxed();
    let whole = prop_oneof![
        body.clone(),
        (body.clone(), list.clone())
            .prop_map(|(b, l)| format!("SELECT * FROM t1 WHERE {b} IN ({l})")),
        (rows.clone(), body.clone())
            .prop_map(|(r, b)| format!("INSERT INTO t (a, b) VALUES {r} {b}")),
        rows.clone()
            .prop_map(|r| format!("replace ignore into db.t values{r}")),
        (body.clone(), body.clone())
            .prop_map(|(a, b)| format!("SELECT {a} UNION SELECT {a} UNION ALL SELECT {a} {b}")),
        (body.clone(), list.clone())
            .prop_map(|(a, l)| format!("select c from t order by {a} asc, c ASC limit {l}")),
        list.clone().prop_map(|l| format!("CALL p({l})")),
        "[a-z0-9_]{1,8}".prop_map(|d| format!("use {d}")),
        (body.clone(), body)
            .prop_map(|(a, b)| format!("  /* app */ UPDATE t SET a = {a} WHERE {b}\n")),
    ];
    (whole, any::<prop::sample::Index>(), any::<bool>()).prop_map(|(s, cut, truncate)| {
        let bytes = s.into_bytes();
        if truncate && !bytes.is_empty() {
            bytes[..cut.index(bytes.len())].to_vec()
        } else {
            bytes
        }
    })
}

#[test]
fn generated_statements_fingerprint_like_pt_fingerprint() {
    let cases: usize = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
        .clamp(256, 1024)
        * 4;
    let mut runner = TestRunner::deterministic();
    let strategy = statement();
    let mut statements: Vec<Vec<u8>> = (0..cases)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    // Hand-picked edges: the classic examples, non-UTF-8 bytes, the pieces alone.
    for s in [
        &b"SELECT /*!40001 SQL_NO_CACHE */ * FROM `t`"[..],
        b"SELECT * FROM t /*pt.table:1/2*/",
        b"administrator command: Ping",
        b"select 'caf\xe9', caf\xe9 from t",
        b"SELECT 'unterminated \\' cut",
        b"SELECT a--b FROM t",
        b"select 1 -- it's\n from t",
        b"use `db`\n",
        b"INSERT INTO t VALUES (')', 1),(2,3)",
        b"select a from t union select a from t union select b from t",
        b"select x order by a asc asc",
        b"",
        b"   ",
    ] {
        statements.push(s.to_vec());
    }
    check(&statements);
}
