//! Each filter flag, checked against what the generator knows about every line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use rdsaudit_synth::{Corpus, SynthLine};

/// Runs `parse <flags> <file>` on a corpus and checks the events kept are exactly the lines
/// `keep` selects, in order.
fn check(corpus: &Corpus, flags: &[&str], keep: impl Fn(&SynthLine) -> bool) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "k.json", &corpus.kinesis_event());
    let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_ref()).collect();
    args.push(path.as_os_str());
    let (code, events, stderr) = parse(&args);
    assert_eq!(code, 0, "{stderr}");
    let wanted: Vec<&SynthLine> = corpus.lines().filter(|l| keep(l)).collect();
    assert_eq!(events.len(), wanted.len(), "{flags:?}");
    for (v, line) in events.iter().zip(wanted) {
        assert_event(v, line, true);
    }
    let selected = summary_counts(&stderr, "selected");
    assert_eq!(selected[0] as usize, events.len());
    assert_eq!(selected[1], corpus.lines().count() as u64);
    events.len()
}

fn sample() -> Corpus {
    corpus(rdsaudit::Dialect::MariaDb, 20, 20, 40)
}

#[test]
fn operation_database_user_exclude_user() {
    let c = sample();
    let n = check(&c, &["--operation", "query"], |l| {
        l.expected.operation == "QUERY"
    });
    assert!(n > 100);
    check(&c, &["--operation", "CONNECT,FAILED_CONNECT"], |l| {
        ["CONNECT", "FAILED_CONNECT"].contains(&l.expected.operation)
    });
    check(&c, &["--database", "analytics"], |l| {
        l.expected.database == "analytics"
    });
    check(&c, &["--user", "etl", "--user", "report"], |l| {
        ["etl", "report"].contains(&&*l.expected.username)
    });
    let without_rdsadmin = check(&c, &["--exclude-user", "rdsadmin"], |l| {
        l.expected.username != "rdsadmin"
    });
    assert!(
        without_rdsadmin < c.lines().count(),
        "the corpus has rdsadmin heartbeats"
    );
    // Filters combine with AND.
    check(
        &c,
        &[
            "--operation",
            "QUERY",
            "--database",
            "shop",
            "--exclude-user",
            "app",
        ],
        |l| {
            l.expected.operation == "QUERY"
                && l.expected.database == "shop"
                && l.expected.username != "app"
        },
    );
}

/// The first keyword after whitespace and comments, computed here independently.
fn first_word(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            s = rest
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if s.starts_with("-- ") || s.starts_with('#') {
            s = s
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            return s
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect::<String>()
                .to_uppercase();
        }
    }
}

#[test]
fn writes() {
    let c = sample();
    let write_words = [
        "INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "CREATE", "ALTER", "DROP", "RENAME",
        "TRUNCATE",
    ];
    let is_write = |l: &SynthLine| match l.expected.operation {
        "QUERY" => {
            write_words.contains(&first_word(&String::from_utf8_lossy(&l.expected.object)).as_str())
        }
        op => ["WRITE", "CREATE", "ALTER", "DROP", "RENAME"].contains(&op),
    };
    // Only what succeeded; MariaDB TABLE events carry no return code and prove nothing.
    let kept = check(&c, &["--writes"], |l| is_write(l) && l.expected.retcode == Some(0));
    let with_failed = check(&c, &["--writes", "--include-failed"], is_write);
    assert!(kept > 0 && kept < with_failed, "{kept} {with_failed}");
    // The corpus holds writes behind comments; they count as writes.
    let behind_comment = |l: &SynthLine| {
        let sql = String::from_utf8_lossy(&l.expected.object);
        (sql.starts_with("/*") || sql.starts_with("--")) && is_write(l)
    };
    assert!(c.lines().any(behind_comment));
    assert!(c.lines().any(|l| l.expected.operation == "WRITE"));
}

#[test]
fn grep_over_the_unescaped_object() {
    let c = sample();
    // `it's` is written `it\'s` in the log: grep sees the unescaped text.
    let n = check(&c, &["--grep", "it's"], |l| {
        String::from_utf8_lossy(&l.expected.object).contains("it's")
    });
    assert!(n > 0);
    check(
        &c,
        &["--grep", r"^SELECT \* FROM orders WHERE id = \d+$"],
        |l| {
            let sql = String::from_utf8_lossy(&l.expected.object);
            sql.starts_with("SELECT * FROM orders WHERE id = ")
                && sql.rsplit(' ').next().unwrap().parse::<u64>().is_ok()
        },
    );
}

#[test]
fn bad_filters_are_usage_errors() {
    for flags in [&["--grep", "("][..], &["--operation", "NOT AN OP"][..]] {
        let out = rdsaudit()
            .arg("parse")
            .args(flags)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("rdsaudit: invalid"), "{stderr}");
    }
}
