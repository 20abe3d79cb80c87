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
    let name = "review35_execute_immediate_ddl.log";
    let log = recorded(name);
    let queries = enriched_queries(&[], name);
    assert_eq!(queries.len(), 6);
    let stats = stats_json(&log);
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

/// Session 35's second adversary: `stats` promises every DDL and DCL statement, and since
/// 88c504e lists an `EXECUTE IMMEDIATE` of a plain string by the class of what it runs. The
/// same DCL run by an `EXECUTE IMMEDIATE` of a parenthesised string, a national string or a
/// string with a character set introducer (all plain text, read the same by the server) is
/// not listed (recorded on MariaDB 10.11.14, `server_audit_events=CONNECT,QUERY,TABLE`: four
/// users dropped, each statement returning 0 and each with its `WRITE mysql.global_priv`; a
/// nested `EXECUTE IMMEDIATE` refused with 1295).
///
/// Each successful `EXECUTE IMMEDIATE` of the log dropped a user (checked in `mysql.user`
/// after the run): `stats` lists each one; the three whose text is a string literal the
/// server reads as `'DROP USER ...'` as `dcl`, the hex literal's (its text is the bytes of
/// `DROP USER x4@localhost`) under any class.
#[test]
fn stats_lists_the_dcl_an_execute_immediate_of_a_string_expression_runs() {
    let name = "review35_adv2_execute_immediate_expression.log";
    let ran: Vec<String> = enriched_queries(&[], name)
        .iter()
        .filter(|q| q["retcode"] == 0)
        .map(|q| q["object"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ran.len(), 4, "{ran:?}");
    let stats = stats_json(&recorded(name));
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
