//! Session 35's adversary: events `--table` dropped though the server wrote the table asked
//! for (recorded on MariaDB 10.11.14 with `server_audit_query_log_limit=1024`, the plugin's
//! default and `--query-log-limit`'s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use serde_json::Value;

/// The plugin cut each statement at the query log limit between two tokens, so its text
/// reads whole: `EXECUTE IMMEDIATE <pad> 'DELETE FROM v'` whose adjacent `'w'` was cut (the
/// server joined them and wrote `shop.vw`), and `DELETE FROM v <pad>` whose `, w USING v, w`
/// was cut (it wrote `shop.v` and `shop.w`). Both are `truncated: true`, yet read as naming
/// `shop.v` alone and not `partial`, so `--table shop.vw` and `--table shop.w` on the log
/// without TABLE events dropped them: a table past the cut may not have been read, which is
/// what `partial` says and what `--table` keeps. (`immediate.rs` reads "a string the query log
/// limit cut" as unknown, but only one cut inside its quotes.)
#[test]
fn a_statement_cut_between_tokens_is_kept_by_table_for_the_tables_past_the_cut() {
    let server = enriched_queries(&[], "review35_cut.log");
    let text = enriched_queries(&[], "review35_cut_no_table_events.log");
    assert_eq!(server.len(), 2);
    assert_eq!(text.len(), 2);
    let mut dropped = Vec::new();
    for (s, t) in server.iter().zip(&text) {
        assert_eq!(s["object"], t["object"]);
        assert_eq!(t["truncated"], true, "{}", t["object"]);
        for table in s["written_tables"].as_array().unwrap() {
            let table = table.as_str().unwrap();
            let kept = enriched_queries(&["--table", table], "review35_cut_no_table_events.log");
            if !kept.iter().any(|k| k["object"] == t["object"]) {
                dropped.push(format!(
                    "--table {table} dropped {:?}: tables {}, partial {}",
                    &t["object"].as_str().unwrap()[..20],
                    t["tables"],
                    t["partial"]
                ));
            }
        }
    }
    assert!(dropped.is_empty(), "{dropped:#?}");
}

/// MariaDB's event scheduler runs an event's body in a thread of no client: the plugin writes
/// its lines with an empty host (`<time>,vm,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w
/// VALUES (44)',0`), recorded on MariaDB 10.11.14 with `event_scheduler=ON` (`CREATE EVENT e2
/// ON SCHEDULE AT NOW() DO INSERT INTO w VALUES (44)`, and an event running `BEGIN INSERT
/// ...; EXECUTE IMMEDIATE '...'; END`; the server logged WRITE shop.w and shop.v for them).
/// docs/HOSTILE.md trusts a client host never to be empty: these 6 lines were unparsed
/// (`Header`, exit code 1), so the event scheduler's writes were no events (`--writes`,
/// `--table` and stats never saw them), and the 19 other lines gave 18 events (one read into
/// another's name), all flagged ambiguous (a raw line break in a name), so stats left them
/// out of writes per table.
#[test]
fn the_event_scheduler_s_lines_with_an_empty_host_are_events() {
    let file = recorded("review35_event_scheduler.log");
    let lines = std::fs::read(&file).unwrap();
    let n = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let out = rdsaudit()
        .args(["parse", "-q"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events = ndjson(&out.stdout);
    let scheduler: Vec<&Value> = events
        .iter()
        .filter(|e| e["username"] == "event_scheduler" && e["operation"] == "QUERY")
        .collect();
    let ambiguous = events.iter().filter(|e| e["ambiguous"] == true).count();
    assert!(
        out.status.success() && events.len() == n && scheduler.len() == 3 && ambiguous == 0,
        "exit {:?}, {} events of {n} lines, {} event_scheduler QUERY events, {ambiguous} ambiguous: {stderr}",
        out.status.code(),
        events.len(),
        scheduler.len()
    );
    assert_eq!(scheduler[0]["object"], "INSERT INTO w VALUES (44)");
    assert_eq!(scheduler[0]["host"], "");
}
