//! Review 31's adversary E, left for session 32: statements MariaDB 10.11 ran (each checked
//! on the server, its TABLE events the oracle: `crates/rdsaudit-cli/tests/recorded/review32_*`)
//! whose text-only reading hid a table the statement wrote, missed one it read, or named a
//! table that is none. Each case goes through both readings (sqlparser's tree where it parses,
//! and the tokens), which must agree.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit_sql::{Analysis, analyze, analyze_tokens};

fn names(list: &[rdsaudit_sql::Table]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// (tables, written) of `sql` from both readings: sqlparser's tree (where it parses), tokens.
fn read(sql: &str) -> [(Vec<String>, Vec<String>); 2] {
    let both: [Analysis; 2] = [analyze(sql.as_bytes()), analyze_tokens(sql.as_bytes())];
    both.map(|a| (names(&a.tables), names(&a.written)))
}

/// Each `(sql, tables, written)`: exact tables; `written` must all be written.
fn check(cases: &[(&str, &[&str], &[&str])]) {
    let mut failures = Vec::new();
    for &(sql, tables, written) in cases {
        let [tree, tokens] = read(sql);
        if tree != tokens {
            failures.push(format!("{sql}: tree {tree:?}, tokens {tokens:?}"));
        }
        let (t, w) = tokens;
        if t != tables || !written.iter().all(|x| w.iter().any(|y| y == x)) {
            failures.push(format!(
                "{sql}: tables {t:?} (want {tables:?}), written {w:?} (want {written:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A keyword MariaDB 10.11 accepts as an unquoted table name (checked on the server for every
/// word the token reading treats as a keyword: `value`, `window`, `modify`, `engine`,
/// `charset`, `quick`, `temporary`, `only`, `duplicate`, `tables`, `truncate`, ...) named no
/// table, and the tables after it were lost: `UPDATE value, w SET ...` hid both.
#[test]
fn keywords_the_server_takes_as_table_names_are_tables() {
    let mut cases: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for k in [
        "value",
        "window",
        "modify",
        "engine",
        "charset",
        "quick",
        "temporary",
        "only",
        "duplicate",
        "tables",
        "truncate",
        "lateral",
        "local",
        "share",
        "nowait",
        "skip",
        "system_time",
    ] {
        let s = |v: &[&str]| v.iter().map(|x| x.replace('K', k)).collect::<Vec<_>>();
        cases.push((
            format!("UPDATE {k}, w SET w.a=1, {k}.a=1"),
            s(&["K", "w"]),
            s(&["K", "w"]),
        ));
        cases.push((
            format!("UPDATE t JOIN {k} ON {k}.id=t.id, w SET w.a=1"),
            s(&["t", "K", "w"]),
            s(&["w"]),
        ));
        cases.push((
            format!("DELETE {k} FROM {k} WHERE id=100"),
            s(&["K"]),
            s(&["K"]),
        ));
        cases.push((
            format!("UPDATE {k} JOIN w USING (id) SET w.a=1, {k}.a=1"),
            s(&["K", "w"]),
            s(&["K", "w"]),
        ));
        cases.push((
            format!("SELECT * FROM w JOIN {k} ON w.id = {k}.id, x"),
            s(&["w", "K", "x"]),
            vec![],
        ));
        if k != "window" {
            // An alias (MariaDB refuses `window` as one).
            cases.push((
                format!("UPDATE t {k}, w SET w.a=1"),
                s(&["t", "w"]),
                s(&["w"]),
            ));
        }
    }
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = cases
        .iter()
        .map(|(s, t, w)| {
            (
                s.as_str(),
                t.iter().map(String::as_str).collect(),
                w.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let cases: Vec<(&str, &[&str], &[&str])> =
        cases.iter().map(|(s, t, w)| (*s, &t[..], &w[..])).collect();
    check(&cases);
    // The same words as keywords still end or start nothing they did not.
    check(&[
        ("INSERT INTO t VALUE (1)", &["t"], &["t"]),
        ("INSERT INTO t (a) VALUE (1), (2)", &["t"], &["t"]),
        ("ALTER TABLE t ENGINE=InnoDB", &["t"], &["t"]),
        ("ALTER TABLE t ENGINE InnoDB", &["t"], &["t"]),
        ("ALTER TABLE t MODIFY a INT", &["t"], &["t"]),
        ("ALTER TABLE t CHARSET utf8mb4", &["t"], &["t"]),
        (
            "SELECT a, SUM(a) OVER w FROM t WINDOW w AS (ORDER BY a)",
            &["t"],
            &[],
        ),
        (
            "INSERT INTO t SELECT * FROM u ON DUPLICATE KEY UPDATE a=1",
            &["t", "u"],
            &["t"],
        ),
        ("DROP TEMPORARY TABLE IF EXISTS t", &["t"], &["t"]),
        (
            "CREATE TABLE t (a INT) ENGINE=InnoDB CHARSET=utf8mb4",
            &["t"],
            &["t"],
        ),
        ("SELECT * FROM t LOCK IN SHARE MODE", &["t"], &[]),
        ("SELECT * FROM t FOR UPDATE SKIP LOCKED", &["t"], &[]),
    ]);
}
