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

/// MariaDB sequences are tables (the server logs CREATE, WRITE and DROP events for them):
/// `CREATE`, `ALTER` and `DROP SEQUENCE` named none, so `--table` hid them.
#[test]
fn sequence_statements_name_their_sequence() {
    check(&[
        ("CREATE SEQUENCE s3", &["s3"], &["s3"]),
        (
            "CREATE SEQUENCE IF NOT EXISTS s4 START WITH 10 INCREMENT BY 2",
            &["s4"],
            &["s4"],
        ),
        ("ALTER SEQUENCE s1 RESTART WITH 5", &["s1"], &["s1"]),
        (
            "ALTER SEQUENCE IF EXISTS shop.s2 INCREMENT BY 3",
            &["shop.s2"],
            &["shop.s2"],
        ),
        ("DROP SEQUENCE s3", &["s3"], &["s3"]),
        (
            "DROP SEQUENCE IF EXISTS s4, s5",
            &["s4", "s5"],
            &["s4", "s5"],
        ),
    ]);
}

/// Statements that read tables without being reads: `LOCK TABLES` (the server logs READ or
/// WRITE events for each table locked), `HANDLER t OPEN`, and the sequence reads `PREVIOUS
/// VALUE FOR s`, `LASTVAL(s)` (READ events). None was named.
#[test]
fn locks_handlers_and_sequence_reads_name_their_tables() {
    check(&[
        (
            "LOCK TABLES t READ, w WRITE, u AS uu READ LOCAL, orders LOW_PRIORITY WRITE",
            &["t", "w", "u", "orders"],
            &[],
        ),
        ("LOCK TABLE shop.t WRITE", &["shop.t"], &[]),
        ("HANDLER t OPEN", &["t"], &[]),
        ("HANDLER orders OPEN AS hh", &["orders"], &[]),
        (
            "SELECT PREVIOUS VALUE FOR s1, LASTVAL(s2)",
            &["s1", "s2"],
            &[],
        ),
    ]);
    for sql in ["LOCK TABLES t READ", "HANDLER t OPEN", "SELECT LASTVAL(s2)"] {
        let [tree, tokens] = read(sql);
        assert!(
            tree.1.is_empty() && tokens.1.is_empty(),
            "{sql} writes nothing"
        );
    }
}

/// Names that are no tables: a `JSON_TABLE(...)` among an `UPDATE`'s references, a
/// multi-table `DELETE`'s targets (aliases: the server writes the tables they stand for), and
/// a derived table's tables listed as written (the server reads them).
#[test]
fn table_functions_delete_targets_and_derived_tables_are_not_invented() {
    check(&[
        (
            "UPDATE t, JSON_TABLE('[1,2]', '$[*]' COLUMNS (q INT PATH '$')) jt, w SET w.a=8 WHERE w.id=jt.q",
            &["t", "w"],
            &["w"],
        ),
        (
            "DELETE FROM x USING orders AS x WHERE x.id=100",
            &["orders"],
            &["orders"],
        ),
        (
            "DELETE x FROM orders x WHERE x.id=100",
            &["orders"],
            &["orders"],
        ),
        (
            "DELETE FROM x, y USING orders AS x JOIN u AS y WHERE x.id=100",
            &["orders", "u"],
            &["orders", "u"],
        ),
        (
            "DELETE FROM orders USING orders JOIN u USING (id) WHERE orders.id=100",
            &["orders", "u"],
            &["orders"],
        ),
    ]);
    for (sql, want) in [
        (
            "UPDATE t, (SELECT id FROM u) d, w SET w.a=9 WHERE w.id=d.id",
            &["t", "w"][..],
        ),
        (
            "UPDATE (SELECT id, a FROM u) d JOIN w ON w.id=d.id SET w.a=10",
            &["w"],
        ),
    ] {
        for (how, got) in read(sql).into_iter().enumerate() {
            assert_eq!(got.1, want, "{sql} ({how}: tree 0, tokens 1)");
            assert!(got.0.iter().any(|t| t == "u"), "{sql}: u is read");
        }
    }
}

/// A session's `ANSI_QUOTES` (`"w"` is a name) or `NO_BACKSLASH_ESCAPES` (`'x\'` ends at its
/// second quote) is not in the log: both statements wrote `w` on MariaDB 10.11 under them, and
/// the text hid it. Read both ways, the tables of either are listed.
#[test]
fn a_sessions_quoting_modes_hide_no_table() {
    check(&[
        ("UPDATE t, \"w\" SET \"w\".a=11", &["t", "w"], &["w"]),
        (
            "SELECT * FROM \"t\" JOIN \"u\" USING (id)",
            &["t", "u"],
            &[],
        ),
        (
            "UPDATE t JOIN u ON u.b <> 'x\\' , w SET w.a=12 WHERE 'y' <> 'z'",
            &["t", "u", "w"],
            &["w"],
        ),
        // Nothing changes where the quotes read the same either way.
        ("SELECT * FROM t WHERE a = \"x\"", &["t"], &[]),
        ("INSERT INTO t VALUES ('a\\\\b')", &["t"], &["t"]),
        // Session 32's adversary T: an `ANSI` session (ANSI_QUOTES with backslash escapes)
        // wrote `w` after a string holding `\'`; read with both modes at once, the string
        // ended at `\'` and hid it.
        (
            "UPDATE t JOIN u ON u.b <> 'it\\'s' , \"w\" SET \"w\".a=21",
            &["t", "u", "w"],
            &["w"],
        ),
    ]);
}

/// Tables only another quoting mode's reading names are flagged: in a default session they may
/// be a string's text (session 32's adversary T: `'x\'; DELETE FROM w; -- '` named `w` as
/// written, without a word); the default reading's own are not.
#[test]
fn tables_of_another_quoting_mode_are_flagged() {
    let flagged = |sql: &str| analyze_tokens(sql.as_bytes()).mode_dependent;
    assert!(flagged(
        "UPDATE u SET b='x\\'; DELETE FROM w; -- ' WHERE id=1"
    ));
    assert!(flagged("UPDATE t, \"w\" SET \"w\".a=11"));
    assert!(analyze("UPDATE t, \"w\" SET \"w\".a=11".as_bytes()).mode_dependent);
    assert!(!flagged("INSERT INTO t VALUES ('a\\\\b')"));
    assert!(!flagged("SELECT * FROM t WHERE a = \"x\""));
    assert!(!flagged("UPDATE t SET a = 'it\\'s'"));
}

/// Session 32's adversary L: a write of another quoting mode's reading only was no write:
/// `NEXT VALUE FOR "s"` runs only in an ANSI session (a string is no sequence) and advances
/// `s`; under NO_BACKSLASH_ESCAPES `'x\'; DELETE FROM w; -- '` deletes. Both are write
/// candidates now, flagged, and name what they write; a plain string is neither.
#[test]
fn a_write_of_another_quoting_mode_is_a_flagged_write_candidate() {
    for sql in [
        "SELECT NEXT VALUE FOR \"s\"",
        "SELECT SETVAL(\"s\", 5)",
        "INSERT INTO t VALUES (NEXTVAL(\"s\"))",
    ] {
        for a in [analyze(sql.as_bytes()), analyze_tokens(sql.as_bytes())] {
            assert!(a.writes && a.mode_dependent, "{sql}: {a:?}");
            assert!(names(&a.written).contains(&"s".to_string()), "{sql}: {a:?}");
        }
    }
    let a = analyze_tokens(b"SELECT 'x\\'; DELETE FROM w; -- '");
    assert!(a.writes && a.mode_dependent, "{a:?}");
    assert_eq!(names(&a.written), ["w"]);
    for sql in ["SELECT 'O\\'Brien'", "SELECT * FROM t WHERE a = \"x\""] {
        let a = analyze_tokens(sql.as_bytes());
        assert!(!a.writes && !a.mode_dependent, "{sql}: {a:?}");
    }
}
