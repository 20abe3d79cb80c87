//! `parse --format sql` with filters and `--merge` on lines recorded from a real MariaDB 10.11
//! with the audit plugin (session 30, `tests/recorded/review30_*.log`: the plugin's file
//! output for sessions run over the client protocol). Session 29's
//! review (adv3 F4, F5): a session's `SET sql_mode='ANSI_QUOTES'` (or `NO_BACKSLASH_ESCAPES`)
//! made the server read its `DELETE` otherwise than the SQL output's default reading; the
//! writer comments out every line after such a `SET`, but a filter left the `SET` out and
//! `--merge` put the `DELETE` before it, and the replay deleted every row the server kept.
//!
//! `review30_set_then_delete.log`: connection 4 runs `SET sql_mode='ANSI_QUOTES'` and `DELETE
//! FROM shop.t WHERE "v" = 'v'` in one second (no row deleted on the server: `"v"` is the
//! column); connection 5 runs `SET sql_mode='NO_BACKSLASH_ESCAPES'`, then two seconds later
//! `DELETE FROM shop.t ORDER BY (SELECT 'x\') -- '` + newline + ` LIMIT 0` (no row deleted).
//! `review30_set_past_the_limit.log`: with `server_audit_query_log_limit=1024`, `SET
//! @pad='<1100 bytes>', sql_mode='ANSI_QUOTES'` is logged cut before `sql_mode`, then the
//! `DELETE` (no row deleted on the server, every row replayed before the fix).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use std::path::{Path, PathBuf};

use cli_common::*;

/// `rdsaudit parse -q --format sql ARGS FILES`: its output (exit code 0 asserted).
fn sql(args: &[&str], files: &[&Path]) -> String {
    let out = rdsaudit()
        .args(["parse", "-q", "--format", "sql"])
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The lines the `mysql` client would run (every line not a `-- ` comment).
fn runnable(sql: &str) -> Vec<&str> {
    sql.lines().filter(|l| !l.starts_with("-- ")).collect()
}

/// Asserts that no `DELETE` of the log is written to run, and that each is written (as a
/// comment after the `SET`'s).
fn no_delete_runs(sql: &str, deletes: usize) {
    assert!(runnable(sql).iter().all(|l| !l.contains("DELETE")), "{sql}");
    assert_eq!(sql.matches("DELETE FROM shop.t").count(), deletes, "{sql}");
    let set = sql.find("-- rdsaudit: not run, it changes how").unwrap();
    assert!(set < sql.find("DELETE FROM shop.t").unwrap(), "{sql}");
}

/// Every filter that drops the `SET` (none of them selects it) lets it through with `--format
/// sql`: `--writes`, `--grep DELETE`, `--table shop.t`, `--since` the second `DELETE`'s
/// second, `--operation` of none of its kind, `--retcode`. Failed before (the `DELETE`s were
/// written to run, and replayed deleted every row).
#[test]
fn a_filter_never_leaves_out_the_set_that_changed_how_the_statements_were_read() {
    let log = recorded("review30_set_then_delete.log");
    assert_eq!(runnable(&sql(&[], &[&log])), Vec::<&str>::new());
    for (args, deletes) in [
        (&["--writes"][..], 2),
        (&["--grep", "DELETE"], 2),
        (&["--table", "shop.t"], 2),
        (&["--since", "2026-12-04T19:12:25Z"], 1),
        (&["--writes", "--user", "adv", "--database", "shop"], 2),
        (
            &[
                "--operation",
                "QUERY",
                "--retcode",
                "0",
                "--grep",
                "ORDER BY",
            ],
            1,
        ),
    ] {
        no_delete_runs(&sql(args, &[&log]), deletes);
    }
    // NDJSON and CSV keep only what the filter selects.
    let out = rdsaudit()
        .args(["parse", "-q", "--writes"])
        .arg(&log)
        .output()
        .unwrap();
    let kept = ndjson(&out.stdout);
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .all(|e| e["object"].as_str().unwrap().starts_with("DELETE"))
    );
}

/// The log split where a rotation could cut it, between connection 4's `SET` and its
/// `DELETE` of the same second, and merged in either order (`--merge audit.log audit.log.1`
/// names the current file first): the `SET` goes first. Failed before with the later part
/// first (the `DELETE` ran).
#[test]
fn merge_puts_the_set_before_the_statements_of_its_second() {
    let log = std::fs::read(recorded("review30_set_then_delete.log")).unwrap();
    let text = String::from_utf8(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let older = write(
        dir.path(),
        "audit.log.1",
        (lines[..2].join("\n") + "\n").as_bytes(),
    );
    let current = write(
        dir.path(),
        "audit.log",
        (lines[2..].join("\n") + "\n").as_bytes(),
    );
    for files in [[&current, &older], [&older, &current]] {
        let files = files.map(PathBuf::as_path);
        no_delete_runs(&sql(&["--merge"], &files), 2);
        no_delete_runs(&sql(&["--merge", "--writes"], &files), 2);
    }
    // Without --merge the files would be written one after the other: the newer one's
    // DELETE before the older one's SET (review 30, a rotated log read as a directory).
    for files in [[&current, &older], [&older, &current]] {
        let out = rdsaudit()
            .args(["parse", "-q", "--format", "sql"])
            .args(files)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--format sql with 2 inputs: add --merge"),
            "{stderr}"
        );
    }
    // NDJSON: the older file's events of the shared second come first, whatever the order.
    for files in [[&current, &older], [&older, &current]] {
        let out = rdsaudit()
            .args(["parse", "-q", "--merge"])
            .args(files)
            .output()
            .unwrap();
        let ops: Vec<String> = ndjson(&out.stdout)
            .iter()
            .map(|e| e["operation"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ops[..4], ["CONNECT", "QUERY", "WRITE", "QUERY"], "{ops:?}");
    }
}

/// A `SET` logged cut at `server_audit_query_log_limit` before what it sets starts the
/// comments too, with or without a filter. Failed before.
#[test]
fn a_set_cut_at_the_log_limit_before_what_it_sets_is_not_trusted() {
    let log = recorded("review30_set_past_the_limit.log");
    for args in [
        &["--query-log-limit", "1024"][..],
        &["--query-log-limit", "1024", "--writes"],
    ] {
        no_delete_runs(&sql(args, &[&log]), 1);
    }
}

/// A flagged line whose own reading is the `SET` (a raw name lets it read another way, no
/// reading unlisted): `--writes` dropped it, as no reading writes. Failed before.
#[test]
fn a_flagged_set_passes_the_filters_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "a.log",
        b"20240323 13:36:08,srv,mal,h,1,2,QUERY,shop,'SELECT 1',0,h,1,2,QUERY,shop,'SET sql_mode=\\'ANSI_QUOTES\\'',0\n\
          20240323 13:36:09,srv,mal,h,1,3,QUERY,shop,'DELETE FROM shop.t WHERE \"v\" = \\'v\\'',0\n",
    );
    no_delete_runs(&sql(&["--writes"], &[&log]), 1);
}

/// What the output cannot see is said once in the summary of any `--format sql` run (not with
/// `-q`); a filter or `--merge` no longer warn, as they leave nothing out of the taint.
#[test]
fn sql_says_what_the_log_does_not_hold() {
    let log = recorded("review30_set_then_delete.log");
    let said = |args: &[&str]| {
        let out = rdsaudit().args(args).arg(&log).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let note = "not in the log, so not seen: a sql_mode set in the parameter group";
    assert!(said(&["parse", "--format", "sql"]).contains(note));
    assert!(said(&["parse", "--format", "sql", "--writes", "--merge"]).contains(note));
    assert!(!said(&["parse", "-q", "--format", "sql", "--writes"]).contains(note));
    assert!(!said(&["parse", "--writes"]).contains(note));
    assert!(!said(&["parse", "-q", "--format", "sql", "--merge"]).contains("rdsaudit:"));
}

/// `review31_another_users_set.log` (MariaDB 10.11): `bob` sets `ANSI_QUOTES` in his session,
/// `alice` deletes in hers, `bob` runs `SET GLOBAL sql_mode='ANSI_QUOTES'`, and `alice`, in a
/// session opened after it, deletes again. With `--user alice` bob's session `SET` changed none
/// of the statements written, so it is left out with him and alice's first `DELETE` is written
/// to run (it was a comment: another user's `SET` tainted it); his `SET GLOBAL` reaches her
/// later session, so it still passes the filter and her second `DELETE` is a comment.
#[test]
fn another_sessions_set_is_left_out_with_its_session_but_a_global_one_is_not() {
    let log = recorded("review31_another_users_set.log");
    assert_eq!(runnable(&sql(&[], &[&log])), Vec::<&str>::new());
    let out = sql(&["--user", "alice"], &[&log]);
    let run = runnable(&out);
    assert!(
        run.iter()
            .any(|l| l.starts_with("DELETE FROM items WHERE id = 99;")),
        "{out}"
    );
    assert!(run.iter().all(|l| !l.contains("id = 98")), "{out}");
    assert!(
        out.contains("SET GLOBAL sql_mode") && !out.contains("SET sql_mode"),
        "{out}"
    );
    // Excluding bob is the same.
    let out = sql(
        &["--exclude-user", "bob", "--exclude-user", "root"],
        &[&log],
    );
    assert!(
        runnable(&out).iter().any(|l| l.contains("id = 99")),
        "{out}"
    );
    assert!(
        runnable(&out).iter().all(|l| !l.contains("id = 98")),
        "{out}"
    );
}

/// The same log delivered one log event per Kinesis record (`encode --events-per-record 1`:
/// CloudWatch puts a quiet session's `SET` alone in a record), decoded on two threads: the
/// record holding only the `SET`'s comment selects no database, so its chunk gives its writer
/// back and is written around the joiner, which never sees the `SET`; the `DELETE`s of the
/// next records were written to run (session 34's adversary: on one thread, one chunk, they
/// were comments). Fails on eb0ec8c: `DELETE FROM shop.t ORDER BY (SELECT 'x\') -- '  LIMIT 0`
/// runnable.
#[test]
fn a_set_alone_in_its_record_still_makes_the_records_after_it_comments() {
    let dir = tempfile::tempdir().unwrap();
    let encoded = rdsaudit()
        .args(["encode", "--events-per-record", "1"])
        .arg(recorded("review30_set_then_delete.log"))
        .output()
        .unwrap();
    assert!(encoded.status.success());
    let event = write(dir.path(), "event.json", &encoded.stdout);
    for threads in ["1", "2", "4"] {
        let out = rdsaudit()
            .args(["--threads", threads, "parse", "-q", "--format", "sql"])
            .arg(&event)
            .output()
            .unwrap();
        assert!(out.status.success(), "{threads} threads");
        let sql = String::from_utf8(out.stdout).unwrap();
        assert_eq!(sql.matches("DELETE FROM shop.t").count(), 2, "{sql}");
        assert_eq!(
            runnable(&sql),
            Vec::<&str>::new(),
            "{threads} threads:\n{sql}"
        );
    }
}

/// Session 34's adversary LOW-5: `--merge --format sql` blamed "more than 4096 events of
/// that second in one input" for a `SET` that was simply far out of order in its file (no
/// second held more than one event). The warning says what came before it: statements of a
/// later time (the `SET` more than 4096 events from its place in time order), or of its own
/// time (more than 4096 events before it still to be written). Failed before (the second's
/// words for both).
#[test]
fn merge_says_why_a_set_came_after_statements() {
    let dir = tempfile::tempdir().unwrap();
    let line = |second: u32, query_id: u32, statement: &str| {
        format!(
            "20240615 {:02}:{:02}:{:02},db1,app,10.0.0.9,7,{query_id},QUERY,shop,'{statement}',0\n",
            second / 3600,
            second / 60 % 60,
            second % 60
        )
    };
    let set = r"SET sql_mode=\'ANSI_QUOTES\'";
    // One event a second from 10:00:00; the SET of 09:59:59 logged after 5,000 of them.
    let mut far = String::new();
    for i in 0..5000 {
        far.push_str(&line(36_000 + i, i + 1, "SELECT 1"));
    }
    far.push_str(&line(35_999, 6000, set));
    // 5,000 events of 10:00:00, then the SET of that second.
    let mut busy = String::new();
    for i in 0..5000 {
        busy.push_str(&line(36_000, i + 1, "SELECT 1"));
    }
    busy.push_str(&line(36_000, 6000, set));
    let later = "were written after statements of a later time (each more than 4096 events from its place in time order in its input)";
    let own = "were written after statements of their own time (more than 4096 events before each in its input still to be written";
    for (name, text, said, not_said) in [
        ("far.log", &far, later, own),
        ("busy.log", &busy, own, later),
    ] {
        let file = write(dir.path(), name, text.as_bytes());
        let out = rdsaudit()
            .args(["parse", "-q", "--merge", "--format", "sql"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("sql: 1 statements that change how statements are read (sql_mode, character set) {said}")),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains(not_said), "{name}: {stderr}");
        assert!(
            !stderr.contains("of that second in one input"),
            "{name}: {stderr}"
        );
        // Every statement is written (those after the SET's comment as comments).
        let sql = String::from_utf8(out.stdout).unwrap();
        assert_eq!(sql.matches("SELECT 1").count(), 5000, "{name}");
        assert_eq!(
            sql.matches("-- rdsaudit: not run, it changes how").count(),
            1,
            "{name}"
        );
    }
}
