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

use std::path::PathBuf;

use cli_common::*;
use serde_json::Value;

fn recorded(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/recorded")
        .join(name)
}

/// `rdsaudit parse -q --enrich --operation QUERY ARGS FILE`: its events (exit code 0).
fn events(args: &[&str], file: &str) -> Vec<Value> {
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
    let server = events(&[], "review35_cut.log");
    let text = events(&[], "review35_cut_no_table_events.log");
    assert_eq!(server.len(), 2);
    assert_eq!(text.len(), 2);
    let mut dropped = Vec::new();
    for (s, t) in server.iter().zip(&text) {
        assert_eq!(s["object"], t["object"]);
        assert_eq!(t["truncated"], true, "{}", t["object"]);
        for table in s["written_tables"].as_array().unwrap() {
            let table = table.as_str().unwrap();
            let kept = events(&["--table", table], "review35_cut_no_table_events.log");
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
