//! Session 35's adversary HIGH-1: `stats` promises every DDL and DCL statement, and listed
//! none run by MariaDB's `EXECUTE IMMEDIATE '<DDL or DCL>'` (recorded on MariaDB 10.11.14,
//! `server_audit_events=CONNECT,QUERY,TABLE`: a user created, its grant refused (1045), its
//! password set, dropped; a table created and dropped).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use serde_json::Value;

/// Each `EXECUTE IMMEDIATE` of the log runs DDL or DCL: `stats` lists each one, by the
/// class of the statement it runs (a user's: `dcl`; a table's: `ddl`), while `parse
/// --enrich` keeps its class `call`.
#[test]
fn stats_lists_the_ddl_and_dcl_an_execute_immediate_runs() {
    let log = recorded("review35_execute_immediate_ddl.log");
    let parsed = rdsaudit()
        .args(["parse", "-q", "--enrich", "--operation", "QUERY"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(parsed.status.success());
    let queries = ndjson(&parsed.stdout);
    assert_eq!(queries.len(), 6);
    let out = rdsaudit()
        .args(["stats", "--format", "json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = stats["ddl_dcl"].as_array().unwrap();
    let listed: Vec<(&str, &str, &Value)> = listed
        .iter()
        .map(|l| {
            (
                l["object"].as_str().unwrap(),
                l["statement_class"].as_str().unwrap(),
                &l["retcode"],
            )
        })
        .collect();
    let mut wanted = Vec::new();
    for q in &queries {
        let object = q["object"].as_str().unwrap();
        assert!(object.starts_with("EXECUTE IMMEDIATE '"), "{object}");
        assert_eq!(q["statement_class"], "call", "{object}");
        let run = &object["EXECUTE IMMEDIATE '".len()..];
        let class = if run.contains(" USER ") || run.starts_with("GRANT ") {
            "dcl"
        } else {
            "ddl"
        };
        wanted.push((object, class, &q["retcode"]));
    }
    assert_eq!(listed, wanted);
    let text = rdsaudit().arg("stats").arg(&log).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("\nDDL and DCL statements: 6\n"), "{text}");
}
