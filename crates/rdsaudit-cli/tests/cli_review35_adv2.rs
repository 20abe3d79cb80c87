//! Session 35's second adversary: `stats` promises every DDL and DCL statement, and since
//! 88c504e lists an `EXECUTE IMMEDIATE` of a plain string by the class of what it runs. The
//! same DCL run by an `EXECUTE IMMEDIATE` of a parenthesised string, a national string or a
//! string with a character set introducer (all plain text, read the same by the server) is
//! not listed (recorded on MariaDB 10.11.14, `server_audit_events=CONNECT,QUERY,TABLE`: four
//! users dropped, each statement returning 0 and each with its `WRITE mysql.global_priv`; a
//! nested `EXECUTE IMMEDIATE` refused with 1295).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;
use serde_json::Value;

/// Each successful `EXECUTE IMMEDIATE` of the log dropped a user (checked in `mysql.user`
/// after the run): `stats` lists each one; the three whose text is a string literal the
/// server reads as `'DROP USER ...'` as `dcl`, the hex literal's (its text is the bytes of
/// `DROP USER x4@localhost`) under any class.
#[test]
fn stats_lists_the_dcl_an_execute_immediate_of_a_string_expression_runs() {
    let log = recorded("review35_adv2_execute_immediate_expression.log");
    let parsed = rdsaudit()
        .args(["parse", "-q", "--enrich", "--operation", "QUERY"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(parsed.status.success());
    let ran: Vec<String> = ndjson(&parsed.stdout)
        .iter()
        .filter(|q| q["retcode"] == 0)
        .map(|q| q["object"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ran.len(), 4, "{ran:?}");
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
    let listed: Vec<(&str, &str)> = stats["ddl_dcl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["object"].as_str().unwrap(),
                l["statement_class"].as_str().unwrap(),
            )
        })
        .collect();
    for object in &ran {
        let class = listed.iter().find(|(o, _)| o == object).map(|(_, c)| *c);
        assert!(class.is_some(), "{object} not listed: {listed:?}");
        if object.contains("DROP USER") {
            assert_eq!(class, Some("dcl"), "{object}");
        }
    }
}
