//! Round trip against the real MariaDB Audit Plugin (`server_audit`).
//!
//! `corpus/mariadb/record.sh` drives a real `mariadbd` + `server_audit` with the workload in
//! `corpus/mariadb/workload.py` and writes, per pass, the plugin's log and an
//! `expected-*.jsonl` derived from what the workload SENT (never from the log). This test
//! parses the log with `rdsaudit::audit::scanner::parse_line` and checks it event by event against the
//! expectation: QUERY objects byte-exact (truncated ones equal the plugin's prefix, passwords
//! masked the way the plugin masks them), connection and TABLE events with the right fields.
//!
//! Modes:
//! * default: the checked-in recordings under `corpus/mariadb/`;
//! * `RDSAUDIT_FRESH_DIR=<dir>`: a fresh `record.sh <dir>` output (both passes);
//! * `RDSAUDIT_FRESH_LOG=<log>` + `RDSAUDIT_FRESH_EXPECTED=<jsonl>`: one fresh pass.
//!
//! A path that is given but missing fails the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rdsaudit::audit::scanner::parse_line;
use rdsaudit::{AuditEvent, Dialect, Operation};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpus/mariadb")
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64 field is a string"))
        .expect("valid base64")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

struct Expected {
    meta: Value,
    events: Vec<Value>,
}

fn load_expected(path: &Path) -> Expected {
    let text = String::from_utf8(read(path)).expect("expected file is UTF-8");
    let mut lines = text.split('\n').filter(|l| !l.is_empty());
    let meta: Value = serde_json::from_str(lines.next().expect("meta line")).expect("meta JSON");
    assert_eq!(
        meta["kind"],
        "meta",
        "first line of {} is the meta record",
        path.display()
    );
    let events: Vec<Value> = lines
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect();
    assert_eq!(
        meta["events"].as_u64(),
        Some(events.len() as u64),
        "meta.events matches the number of expected records"
    );
    Expected { meta, events }
}

/// Splits a plain plugin log into records with `rdsaudit::input::text::records`, with their 1-based
/// line numbers. The plugin escapes `\n` in statements and the workload uses no newline in
/// names, so every record must be exactly one physical line.
fn physical_lines(log: &[u8]) -> Vec<(usize, &[u8])> {
    assert!(
        log.ends_with(b"\n"),
        "every plugin record ends with a newline"
    );
    let newlines = log.iter().filter(|&&b| b == b'\n').count();
    let records: Vec<(usize, &[u8])> = rdsaudit::input::text::records(log)
        .map(|r| (r.line_number as usize, r.bytes))
        .collect();
    assert_eq!(records.len(), newlines, "one record per physical line");
    for (i, (n, bytes)) in records.iter().enumerate() {
        assert_eq!(*n, i + 1, "record {i} starts on its own line");
        assert!(!bytes.contains(&b'\n'), "line {n}: no rejoined record");
    }
    records
}

fn str_field<'v>(ev: &'v Value, key: &str) -> &'v str {
    ev[key]
        .as_str()
        .unwrap_or_else(|| panic!("expected record lacks string {key}: {ev}"))
}

fn escape_like_plugin(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rdsaudit::audit::unescape::escape_like_plugin(bytes, &mut out);
    out
}

/// What one check run saw, for the coverage assertions of the callers.
#[derive(Default)]
struct Summary {
    operations: BTreeSet<String>,
    truncated: usize,
    masked: usize,
    non_utf8: usize,
    incidental: usize,
    queries: usize,
}

/// The dialect a log is written in. The Aurora twin is derived from the MariaDB recording
/// (`corpus/tools/derive.py`): same records, epoch-microsecond timestamps, the instance name as
/// serverhost and `0` as the return code of TABLE records.
struct Variant {
    dialect: Dialect,
    serverhost: Option<&'static str>,
    table_retcode: Option<i64>,
}

const MARIADB: Variant = Variant {
    dialect: Dialect::MariaDb,
    serverhost: None,
    table_retcode: None,
};

const AURORA_TWIN: Variant = Variant {
    dialect: Dialect::Aurora,
    serverhost: Some("aurora-corpus-instance-1"),
    table_retcode: Some(0),
};

fn check(log_path: &Path, expected_path: &Path) -> Summary {
    check_as(log_path, expected_path, &MARIADB)
}

fn check_as(log_path: &Path, expected_path: &Path, variant: &Variant) -> Summary {
    let log = read(log_path);
    let Expected { meta, events } = load_expected(expected_path);
    let ctx = format!("{} vs {}", log_path.display(), expected_path.display());
    let limit = meta["query_log_limit"]
        .as_u64()
        .expect("meta.query_log_limit") as usize;
    let serverhost = variant
        .serverhost
        .unwrap_or_else(|| str_field(&meta, "serverhost"));
    let client_host = str_field(&meta, "client_host");
    let start_us = meta["start_epoch_s"].as_i64().expect("meta.start_epoch_s") * 1_000_000;
    let end_us = meta["end_epoch_s"].as_i64().expect("meta.end_epoch_s") * 1_000_000;
    let incidental_dbs: BTreeSet<&str> = meta["incidental_table_dbs"]
        .as_array()
        .expect("meta.incidental_table_dbs")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        meta["system_time_zone"], "UTC",
        "{ctx}: server must run with TZ=UTC"
    );

    // 1. Every physical line is one well-formed record of the variant's dialect.
    let mut by_conn: BTreeMap<u64, Vec<(usize, AuditEvent<'_>)>> = BTreeMap::new();
    let mut summary = Summary::default();
    for (lineno, line) in physical_lines(&log) {
        let ev = parse_line(line)
            .unwrap_or_else(|e| panic!("{ctx}: line {lineno} does not parse: {e}: {line:?}"));
        assert_eq!(
            ev.timestamp.dialect, variant.dialect,
            "{ctx}: line {lineno} dialect"
        );
        assert!(
            (start_us..=end_us).contains(&ev.timestamp.epoch_us),
            "{ctx}: line {lineno}: timestamp {} outside the recording window [{start_us}, {end_us}] \
             (is the timestamp read as UTC?)",
            ev.timestamp.epoch_us
        );
        if variant.dialect == Dialect::MariaDb {
            assert_eq!(
                ev.timestamp.epoch_us % 1_000_000,
                0,
                "{ctx}: line {lineno}: seconds"
            );
        }
        assert_eq!(ev.serverhost, serverhost, "{ctx}: line {lineno} serverhost");
        assert_eq!(ev.host, client_host, "{ctx}: line {lineno} host");
        assert!(
            ev.extra.is_empty(),
            "{ctx}: line {lineno}: upstream lines have 10 fields"
        );
        summary.operations.insert(ev.operation.as_str().to_owned());
        if ev.operation.is_table() && incidental_dbs.contains(&*ev.database.text()) {
            // Server-internal tables (privilege tables, statistics): not predicted by the
            // workload, but they must still be well-formed TABLE records.
            assert!(
                !ev.object.is_quoted() && !ev.object.is_empty(),
                "{ctx}: line {lineno}"
            );
            assert_eq!(
                ev.retcode, variant.table_retcode,
                "{ctx}: line {lineno}: TABLE retcode"
            );
            assert!(
                ev.query_id > 0,
                "{ctx}: line {lineno}: TABLE record query id"
            );
            summary.incidental += 1;
            continue;
        }
        by_conn
            .entry(ev.connection_id)
            .or_default()
            .push((lineno, ev));
    }

    // 2. Per connection, the records match the expectation one to one, in order. (Across
    //    connections the order is not deterministic: DISCONNECT is written by the server
    //    thread after the client has gone.)
    let mut want_by_conn: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for ev in &events {
        let conn = ev["conn"]
            .as_u64()
            .unwrap_or_else(|| panic!("conn id in {ev}"));
        want_by_conn.entry(conn).or_default().push(ev);
    }
    assert_eq!(
        by_conn.keys().collect::<Vec<_>>(),
        want_by_conn.keys().collect::<Vec<_>>(),
        "{ctx}: connection ids in the log vs the workload"
    );

    for (conn, want) in &want_by_conn {
        let got = &by_conn[conn];
        let mut query_ids: BTreeMap<u64, u64> = BTreeMap::new(); // stmt -> query id
        let mut table_ids: Vec<(usize, u64, u64)> = Vec::new(); // (line, stmt, query id)
        let mut last_query_id = 0;
        for (i, w) in want.iter().enumerate() {
            let Some((lineno, g)) = got.get(i) else {
                panic!("{ctx}: connection {conn}: record {i} missing from the log: {w}")
            };
            let at = format!("{ctx}: line {lineno} (connection {conn}, record {i}, want {w})");
            let op = str_field(w, "op");
            assert_eq!(g.operation.as_str(), op, "{at}: operation");
            assert_eq!(g.username, str_field(w, "user"), "{at}: user");
            assert_eq!(g.database, str_field(w, "db"), "{at}: database");
            if g.operation.is_connection() {
                assert_eq!(g.query_id, 0, "{at}: connection records have query id 0");
                assert!(
                    g.object.is_empty() && !g.object.is_quoted(),
                    "{at}: empty object"
                );
                assert_eq!(g.retcode, w["retcode"].as_i64(), "{at}: retcode");
                continue;
            }
            assert!(g.query_id > 0, "{at}: query id");
            if w["tag"].as_str() == Some("call") {
                // A CALL is logged after its procedure's statements, with the last one's query
                // id (10.11.14, the checked-in recording) or with its own, taken before
                // theirs (10.11.19): corpus/mariadb/README.md, fact 6.
                assert!(
                    g.query_id <= last_query_id,
                    "{at}: a CALL's query id is not past its statements'"
                );
            } else {
                assert!(g.query_id >= last_query_id, "{at}: query ids never go back");
                last_query_id = g.query_id;
            }
            let stmt = w["stmt"].as_u64().expect("stmt");
            if g.operation == Operation::Query {
                summary.queries += 1;
                let object = b64(&w["object_b64"]);
                assert!(g.object.is_quoted(), "{at}: QUERY object is quoted");
                assert_eq!(g.retcode, w["retcode"].as_i64(), "{at}: retcode");
                let got_obj = g.object.unescaped();
                assert!(
                    got_obj.as_ref() == object.as_slice(),
                    "{at}: object differs\n got: {:?}\nwant: {:?}",
                    String::from_utf8_lossy(&got_obj),
                    String::from_utf8_lossy(&object)
                );
                // The raw field is exactly the plugin's escaping of the object.
                assert_eq!(
                    g.object.raw(),
                    escape_like_plugin(&object).as_slice(),
                    "{at}: raw"
                );
                let truncated = w["truncated"].as_bool().expect("truncated");
                let masked = w["masked"].as_bool().expect("masked");
                let sent = b64(&w["sent_b64"]);
                if truncated {
                    summary.truncated += 1;
                    assert!(limit > 0);
                    // The plugin cuts the statement to `limit` bytes and caps the escaped
                    // output at `limit` bytes without splitting an escape.
                    let raw_len = g.object.raw().len();
                    assert!(
                        raw_len == limit || raw_len + 1 == limit || masked,
                        "{at}: truncated raw length {raw_len} vs limit {limit}"
                    );
                    if raw_len >= 1024 {
                        assert!(g.object.possibly_truncated(), "{at}: possibly_truncated");
                    }
                    if !masked {
                        let trimmed = sent.trim_ascii_start();
                        assert!(
                            trimmed.starts_with(&object),
                            "{at}: a prefix of what was sent"
                        );
                        assert!(
                            object.len() < trimmed.len(),
                            "{at}: shorter than what was sent"
                        );
                    }
                } else if limit > 0 {
                    assert!(g.object.raw().len() <= limit, "{at}: within the limit");
                }
                if masked {
                    summary.masked += 1;
                    let needle: &[u8] = b"*****";
                    assert!(
                        object.windows(needle.len()).any(|w| w == needle),
                        "{at}: masked object shows *****"
                    );
                }
                if std::str::from_utf8(&got_obj).is_err() {
                    summary.non_utf8 += 1;
                }
                query_ids.insert(stmt, g.query_id);
            } else {
                assert!(g.operation.is_table(), "{at}: TABLE operation");
                assert!(!g.object.is_quoted(), "{at}: table names are unquoted");
                assert_eq!(
                    g.object.raw(),
                    str_field(w, "table").as_bytes(),
                    "{at}: table"
                );
                assert_eq!(g.retcode, variant.table_retcode, "{at}: TABLE retcode");
                // The TABLE record precedes its QUERY record; both carry the same query id,
                // checked once the QUERY record has been seen.
                table_ids.push((*lineno, stmt, g.query_id));
            }
        }
        assert_eq!(
            got.len(),
            want.len(),
            "{ctx}: connection {conn}: {} records in the log, {} expected; extra: {:?}",
            got.len(),
            want.len(),
            got.get(want.len())
                .map(|(n, e)| (n, e.operation, e.object.text()))
        );
        for (lineno, stmt, qid) in &table_ids {
            assert_eq!(
                query_ids.get(stmt),
                Some(qid),
                "{ctx}: line {lineno}: a TABLE record shares the query id of its statement {stmt}"
            );
        }
    }
    summary
}

fn check_checked_in(pass: &str) -> Summary {
    let dir = corpus_dir();
    check(
        &dir.join(format!("audit-{pass}.log")),
        &dir.join(format!("expected-{pass}.jsonl")),
    )
}

/// What every recording must cover, whichever plugin version wrote it.
fn assert_coverage(s: &Summary, truncating: bool) {
    for op in [
        "CONNECT",
        "DISCONNECT",
        "FAILED_CONNECT",
        "QUERY",
        "READ",
        "WRITE",
        "CREATE",
        "DROP",
        "ALTER",
        "RENAME",
    ] {
        assert!(s.operations.contains(op), "no {op} record in the recording");
    }
    assert!(s.queries >= 50, "only {} QUERY records", s.queries);
    assert!(s.masked >= 5, "only {} masked statements", s.masked);
    assert!(s.non_utf8 >= 2, "only {} non-UTF-8 objects", s.non_utf8);
    assert!(s.incidental > 0, "no server-internal TABLE records seen");
    if truncating {
        assert!(
            s.truncated >= 5,
            "only {} truncated statements",
            s.truncated
        );
    } else {
        assert_eq!(s.truncated, 0, "nothing is truncated with a large limit");
    }
}

#[test]
fn checked_in_full_pass_round_trips() {
    let s = check_checked_in("full");
    assert_coverage(&s, false);
}

#[test]
fn checked_in_limit1024_pass_round_trips() {
    let s = check_checked_in("limit1024");
    assert_coverage(&s, true);
}

#[test]
fn checked_in_recording_is_the_plugin_we_document() {
    let Expected { meta, .. } = load_expected(&corpus_dir().join("expected-full.jsonl"));
    assert_eq!(
        meta["plugin_version"], "1.4.14",
        "README.md documents this version"
    );
    assert_eq!(meta["server_audit_events"], "CONNECT,QUERY,TABLE");
    let Expected { meta, .. } = load_expected(&corpus_dir().join("expected-limit1024.jsonl"));
    assert_eq!(
        meta["query_log_limit"], 1024,
        "the second pass uses the default limit"
    );
}

/// What the hostile pass saw.
#[derive(Default, Debug)]
struct HostileSummary {
    records: usize,
    /// Lines that are the head of a record cut by a raw line break (not parsed alone).
    cut: usize,
    ambiguous: usize,
    incidental: usize,
    /// Events the window rule flagged (a line that does not read alone within reach).
    window: usize,
}

/// Which records of `log` (by first line) the window rule flags: those with a line within
/// `MAX_NAMES_BYTES` that does not read alone (blank, does not parse, or is a line of a
/// record joined over several), computed from the physical lines here.
fn window_flagged(log: &[u8]) -> BTreeSet<u64> {
    // Each physical line: where it starts, where its text ends, whether it is dirty.
    let mut lines = Vec::new();
    let mut from = 0;
    while from < log.len() {
        let rest = &log[from..];
        let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        let dirty = line.is_empty() || rdsaudit::parse_line(line).is_err();
        lines.push((from as u64, (from + end) as u64, dirty));
        from += end
            + if rest[end..].starts_with(b"\r\n") {
                2
            } else {
                1
            };
    }
    let mut spans = Vec::new();
    for record in rdsaudit::input::text::records(log) {
        let breaks = rdsaudit::input::text::count_lines(record.bytes);
        for l in record.line_number..=record.line_number + breaks {
            lines[l as usize - 1].2 |= breaks > 0;
        }
        let start = (record.bytes.as_ptr() as usize - log.as_ptr() as usize) as u64;
        spans.push((record.line_number, start, start + record.bytes.len() as u64));
    }
    let reach = rdsaudit::input::text::MAX_NAMES_BYTES;
    let dirty: Vec<(u64, u64)> = lines.iter().filter(|l| l.2).map(|l| (l.0, l.1)).collect();
    spans
        .into_iter()
        .filter(|&(_, start, end)| {
            dirty.iter().any(|&(s, e)| {
                (e <= start && start - e <= reach)
                    || (s >= end && s - end <= reach)
                    || (s < end && e > start)
            })
        })
        .map(|(line, ..)| line)
        .collect()
}

/// Whether reading `r` is the expected record `w`.
fn is_expected(r: &AuditEvent<'_>, w: &Value) -> bool {
    let op = str_field(w, "op");
    let same = r.operation.as_str() == op
        && r.username == str_field(w, "user")
        && r.database == str_field(w, "db");
    same && if op == "QUERY" {
        r.object.is_quoted()
            && r.object.unescaped().as_ref() == b64(&w["object_b64"]).as_slice()
            && r.retcode == w["retcode"].as_i64()
    } else if r.operation.is_table() {
        r.object.raw() == str_field(w, "table").as_bytes() && r.retcode.is_none()
    } else {
        r.object.is_empty() && r.retcode == w["retcode"].as_i64()
    }
}

/// The hostile pass (`workload.py`, `run_hostile`): names that forge audit structure. Every
/// record of the log must be the expected record, or be flagged ambiguous with the expected
/// record among its readings; no record may be anything else (forged), none may be missing.
fn check_hostile(log_path: &Path, expected_path: &Path) -> HostileSummary {
    let log = read(log_path);
    let Expected { meta, events } = load_expected(expected_path);
    let ctx = format!("{} vs {}", log_path.display(), expected_path.display());
    let incidental_dbs: BTreeSet<&str> = meta["incidental_table_dbs"]
        .as_array()
        .expect("meta.incidental_table_dbs")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut pending: BTreeMap<u64, std::collections::VecDeque<&Value>> = BTreeMap::new();
    for ev in &events {
        pending
            .entry(ev["conn"].as_u64().expect("conn"))
            .or_default()
            .push_back(ev);
    }
    let mut summary = HostileSummary::default();
    let flagged = window_flagged(&log);
    let mut records = rdsaudit::input::text::records(&log);
    // A line that does not parse must be the head of a record cut by a raw line break in a
    // name: the record after it is then flagged, with the truth among its readings.
    let mut cut = None;
    while let Some((record, parsed)) = records.next_parsed() {
        let at = format!("{ctx}: line {}", record.line_number);
        let event = match parsed {
            Ok(event) => event,
            Err(e) => {
                assert!(cut.is_none(), "{at}: two lines in a row do not parse");
                cut = Some(format!("{at}: {e}"));
                summary.cut += 1;
                continue;
            }
        };
        summary.records += 1;
        // The window rule adds one unlisted reading to exactly the records it flags; every
        // other reading is listed.
        let window = flagged.contains(&record.line_number);
        assert_eq!(
            event.ambiguity.omitted(),
            u64::from(window),
            "{at}: the window rule"
        );
        summary.window += usize::from(window);
        let ambiguous = event.ambiguity.readings() > 1 + u64::from(window);
        if let Some(head) = cut.take() {
            assert!(ambiguous, "{head}: the record after it is not flagged");
        }
        if !ambiguous
            && event.operation.is_table()
            && incidental_dbs.contains(&*event.database.text())
        {
            summary.incidental += 1;
            continue;
        }
        summary.ambiguous += usize::from(ambiguous);
        let readings: Vec<AuditEvent<'_>> = std::iter::once(event.clone())
            .chain(event.ambiguity.alternatives())
            .collect();
        let found = readings.iter().find(|r| {
            pending
                .get(&r.connection_id)
                .and_then(|q| q.front())
                .is_some_and(|w| is_expected(r, w))
        });
        let Some(r) = found else {
            panic!(
                "{at}: a record that is not the next expected one of its connection (forged?): \
                 {:?} (ambiguous: {ambiguous})",
                readings
                    .iter()
                    .map(|r| (
                        r.connection_id,
                        r.operation,
                        r.username.to_string(),
                        r.object.text()
                    ))
                    .collect::<Vec<_>>()
            )
        };
        pending
            .get_mut(&r.connection_id)
            .and_then(|q| q.pop_front());
    }
    for (conn, rest) in &pending {
        assert!(
            rest.is_empty(),
            "{ctx}: connection {conn}: not in the log: {rest:?}"
        );
    }
    summary
}

fn assert_hostile_coverage(s: &HostileSummary) {
    // Every forged-connection failed login, the database and table with commas and the
    // table with a forged header are ambiguous; the rest is exact.
    assert!(
        s.ambiguous >= 15,
        "only {} ambiguous records: {s:?}",
        s.ambiguous
    );
    assert!(
        s.records - s.ambiguous - s.incidental >= 20,
        "too few exact records: {s:?}"
    );
}

#[test]
fn checked_in_hostile_pass_is_never_forged() {
    let dir = corpus_dir();
    let s = check_hostile(
        &dir.join("audit-hostile.log"),
        &dir.join("expected-hostile.jsonl"),
    );
    assert_hostile_coverage(&s);
}

/// The issue's cases, read from the recorded lines: the failed login forging a GRANT is one
/// exact FAILED_CONNECT, and the statement run in database `d,'SELECT 1',0` is the DELETE.
#[test]
fn checked_in_hostile_pass_issue_cases() {
    let log = read(&corpus_dir().join("audit-hostile.log"));
    let events: Vec<AuditEvent<'_>> = rdsaudit::input::text::records(&log)
        .filter_map(|r| parse_line(r.bytes).ok())
        .collect();
    let grant = events
        .iter()
        .find(|e| e.username.text().starts_with("x,h,1,2,QUERY,db,'GRANT"))
        .unwrap();
    assert_eq!(grant.operation, Operation::FailedConnect);
    assert!(!grant.ambiguity.is_ambiguous());
    assert!(
        events
            .iter()
            .all(|e| e.object.text() != "GRANT ALL ON *.* TO evil")
    );
    let delete = events
        .iter()
        .find(|e| e.database == "d,'SELECT 1',0" && e.operation == Operation::Query)
        .unwrap();
    assert_eq!(delete.object.text(), "CREATE TABLE users (id INT)");
    assert!(
        events
            .iter()
            .any(|e| e.object.text() == "DELETE FROM users" && !e.ambiguity.is_ambiguous())
    );
    assert!(events.iter().all(|e| e.username != "rdsadmin"));
}

fn env_path(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(name)?);
    assert!(p.exists(), "{name}={} does not exist", p.display());
    Some(p)
}

/// A fresh recording (see the module docs); does nothing unless the variables are set.
#[test]
fn fresh_recording_round_trips() {
    let mut ran = false;
    if let Some(dir) = env_path("RDSAUDIT_FRESH_DIR") {
        for (pass, truncating) in [("full", false), ("limit1024", true)] {
            let log = dir.join(format!("audit-{pass}.log"));
            let exp = dir.join(format!("expected-{pass}.jsonl"));
            assert!(log.exists(), "{} missing", log.display());
            assert!(exp.exists(), "{} missing", exp.display());
            let s = check(&log, &exp);
            assert_coverage(&s, truncating);
            eprintln!("fresh {pass}: {} QUERY records verified", s.queries);
        }
        let s = check_hostile(
            &dir.join("audit-hostile.log"),
            &dir.join("expected-hostile.jsonl"),
        );
        assert_hostile_coverage(&s);
        eprintln!("fresh hostile: {s:?}");
        ran = true;
    }
    match (
        env_path("RDSAUDIT_FRESH_LOG"),
        env_path("RDSAUDIT_FRESH_EXPECTED"),
    ) {
        (Some(log), Some(exp)) => {
            let s = check(&log, &exp);
            eprintln!(
                "fresh {}: {} QUERY records verified",
                log.display(),
                s.queries
            );
            ran = true;
        }
        (None, None) => {}
        _ => panic!("RDSAUDIT_FRESH_LOG and RDSAUDIT_FRESH_EXPECTED must be set together"),
    }
    if !ran {
        eprintln!(
            "no fresh recording given (RDSAUDIT_FRESH_DIR / RDSAUDIT_FRESH_LOG): nothing to do"
        );
    }
}

#[test]
fn derived_aurora_twin_round_trips() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpus");
    let s = check_as(
        &root.join("aurora/derived-from-mariadb-full.log"),
        &root.join("mariadb/expected-full.jsonl"),
        &AURORA_TWIN,
    );
    assert_coverage(&s, false);
}

// ---------------------------------------------------------------------------------------------
// Delivery fixtures (corpus/kinesis): CloudWatch Logs envelopes, gzip, Kinesis / awslogs events.

fn gunzip_json(gz: &[u8]) -> Value {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz)
        .read_to_end(&mut out)
        .expect("valid gzip");
    serde_json::from_slice(&out).expect("CloudWatch envelope JSON")
}

/// One envelope as decoded by the core (`rdsaudit::input::gzip` + `rdsaudit::input::envelope`), owned.
#[derive(Debug, PartialEq)]
struct Decoded {
    message_type: String,
    policy_level: Option<String>,
    events: Vec<(String, i64, String)>,
}

fn core_decode(gz: &[u8]) -> Vec<Decoded> {
    use rdsaudit::input::envelope::{EnvelopeParser, MessageType};
    let mut inflater = rdsaudit::input::gzip::Inflater::new();
    let (buf, len) = inflater.inflate(gz).expect("core inflate").into_padded();
    let mut parser = EnvelopeParser::new();
    let envelopes = parser.parse(buf, len).expect("core envelope parse");
    envelopes
        .iter()
        .map(|e| Decoded {
            message_type: match e.message_type {
                MessageType::Data => "DATA_MESSAGE".to_owned(),
                MessageType::Control => "CONTROL_MESSAGE".to_owned(),
                MessageType::Other(s) => s.to_owned(),
            },
            policy_level: e.policy_level.map(str::to_owned),
            events: e
                .log_events
                .iter()
                .map(|le| (le.id.to_owned(), le.timestamp, le.message.to_owned()))
                .collect(),
        })
        .collect()
}

/// The same decoding with independent crates (flate2, serde_json), to cross-check the core.
fn reference_decode(gz: &[u8]) -> Decoded {
    let env = gunzip_json(gz);
    Decoded {
        message_type: str_field(&env, "messageType").to_owned(),
        policy_level: env["policyLevel"].as_str().map(str::to_owned),
        events: env["logEvents"]
            .as_array()
            .expect("logEvents")
            .iter()
            .map(|le| {
                (
                    str_field(le, "id").to_owned(),
                    le["timestamp"].as_i64().expect("timestamp"),
                    str_field(le, "message").to_owned(),
                )
            })
            .collect(),
    }
}

/// Decodes one gzip payload through the core and checks it against the reference decoding.
fn decode_checked(gz: &[u8], ctx: &str) -> Decoded {
    let mut core = core_decode(gz);
    assert_eq!(core.len(), 1, "{ctx}: one envelope per payload");
    let core = core.remove(0);
    assert_eq!(
        core,
        reference_decode(gz),
        "{ctx}: core vs reference decoding"
    );
    core
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks the log events of one DATA_MESSAGE against the lines they were built from: the
/// message is the line (lossily decoded), parses to the same event, and carries its time.
fn check_log_events(
    decoded: &Decoded,
    source: &[(usize, &[u8])],
    lines: &[u64],
    ctx: &str,
) -> usize {
    assert_eq!(
        decoded.events.len(),
        lines.len(),
        "{ctx}: number of log events"
    );
    let mut lossy = 0;
    for ((id, timestamp, message), &n) in decoded.events.iter().zip(lines) {
        let (_, line) = source[n as usize - 1];
        assert!(
            id.len() == 56 && id.bytes().all(|b| b.is_ascii_digit()),
            "{ctx}: event id {id}"
        );
        let want = parse_line(line).expect("source line parses");
        let got = parse_line(message.as_bytes())
            .unwrap_or_else(|e| panic!("{ctx}: message of line {n} does not parse: {e}"));
        assert_eq!(
            message.as_bytes() != line,
            std::str::from_utf8(line).is_err(),
            "{ctx}: line {n}: only non-UTF-8 lines are altered"
        );
        if message.as_bytes() == line {
            assert_eq!(got, want, "{ctx}: line {n}");
        } else {
            lossy += 1;
            let mut patched = want.clone();
            patched.object = got.object;
            assert_eq!(got, patched, "{ctx}: line {n}: only the object may differ");
            assert_eq!(
                got.object.raw(),
                String::from_utf8_lossy(want.object.raw()).as_bytes()
            );
        }
        assert_eq!(
            *timestamp,
            want.timestamp.epoch_us / 1000,
            "{ctx}: line {n}: ms"
        );
    }
    lossy
}

#[test]
fn kinesis_fixture_carries_the_recorded_lines() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpus");
    let manifest = json_file(&root.join("kinesis/manifest.json"));
    let m = &manifest["kinesis-event.json"];
    let log = read(&root.join("mariadb/audit-full.log"));
    let source = physical_lines(&log);
    let event = json_file(&root.join("kinesis/kinesis-event.json"));
    let records = event["Records"].as_array().expect("Records");
    let per_record = m["per_record"].as_array().expect("per_record");
    assert_eq!(records.len() as u64, m["records"].as_u64().unwrap());
    assert_eq!(records.len(), per_record.len());

    let (mut control, mut data_events, mut lossy) = (0, 0, 0);
    let mut seen_lines = Vec::new();
    let mut sequence_numbers = BTreeSet::new();
    for (rec, want) in records.iter().zip(per_record) {
        let seq = str_field(&rec["kinesis"], "sequenceNumber");
        assert_eq!(seq, str_field(want, "sequenceNumber"));
        assert!(
            sequence_numbers.insert(seq.to_owned()),
            "sequence numbers are unique"
        );
        assert_eq!(rec["eventSource"], "aws:kinesis");
        assert_eq!(
            str_field(rec, "eventID"),
            format!("shardId-000000000000:{seq}")
        );
        let gz = b64(&rec["kinesis"]["data"]);
        assert_eq!(&gz[..2], b"\x1f\x8b", "record {seq} holds gzip");
        let env = decode_checked(&gz, seq);
        assert_eq!(env.message_type, str_field(want, "messageType"));
        if env.message_type == "CONTROL_MESSAGE" {
            control += 1;
            continue;
        }
        let lines: Vec<u64> = want["sourceLines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(env.policy_level.is_some(), want["policyLevel"] == true);
        lossy += check_log_events(&env, &source, &lines, seq);
        data_events += lines.len();
        seen_lines.extend(lines);
    }
    assert_eq!(control, m["control_messages"].as_u64().unwrap());
    assert_eq!(data_events as u64, m["data_log_events"].as_u64().unwrap());
    assert_eq!(
        seen_lines,
        (1..=source.len() as u64).collect::<Vec<_>>(),
        "every line, in order"
    );
    assert!(lossy >= 2, "the non-UTF-8 lines travel lossily");
}

#[test]
fn awslogs_fixture_carries_the_recorded_lines() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpus");
    let manifest = json_file(&root.join("kinesis/manifest.json"));
    let m = &manifest["awslogs-event.json"];
    let log = read(&root.join("mariadb/audit-limit1024.log"));
    let source = physical_lines(&log);
    let event = json_file(&root.join("kinesis/awslogs-event.json"));
    let env = decode_checked(&b64(&event["awslogs"]["data"]), "awslogs");
    assert_eq!(env.message_type, "DATA_MESSAGE");
    let lines: Vec<u64> = (1..=source.len() as u64).collect();
    assert_eq!(source.len() as u64, m["data_log_events"].as_u64().unwrap());
    let lossy = check_log_events(&env, &source, &lines, "awslogs");
    assert_eq!(lossy, m["lossy"].as_array().unwrap().len());
}
