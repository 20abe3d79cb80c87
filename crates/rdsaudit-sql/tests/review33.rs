//! Session 32's adversary L (F2), left for session 33: a statement longer than
//! [`rdsaudit_sql::MAX_TOKENS`] tokens is read up to there, and a list of tables holds at most
//! [`rdsaudit_sql::tables::MAX_TABLES`] names; a table or a write verb past them was dropped
//! without a word, and `--table`/`--writes` hid the event (recorded on MariaDB 10.11:
//! `crates/rdsaudit-cli/tests/recorded/review33_cap.log`). Such an analysis is now `partial`,
//! a cut statement is a write candidate, and the filters keep it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit::filter::Filter;
use rdsaudit_sql::filter::{EventFilter, SemanticSpec};
use rdsaudit_sql::{MAX_TOKENS, TablePattern, analyze, analyze_tokens};

/// `0,0,...,0`: more values than the tokens read (a value and a comma are two tokens).
fn zeros() -> String {
    vec!["0"; MAX_TOKENS / 2 + 100].join(",")
}

/// A QUERY line of `sql` in database `s`, return code 0 (the statements hold no quote).
fn line(sql: &str) -> Vec<u8> {
    format!("20261205 04:32:17,vm,root,localhost,438,1453,QUERY,s,'{sql}',0").into_bytes()
}

#[test]
fn a_cut_statement_is_partial_and_a_write_candidate() {
    let z = zeros();
    for sql in [
        format!("UPDATE t JOIN u ON u.id IN ({z}), w SET w.a=1"),
        format!("SELECT id FROM t WHERE id IN ({z}) INTO OUTFILE '/tmp/f'"),
        format!("SELECT id FROM t WHERE id IN ({z}) UNION SELECT NEXTVAL(s)"),
        format!("SELECT id FROM t WHERE id IN ({z})"),
    ] {
        for a in [analyze(sql.as_bytes()), analyze_tokens(sql.as_bytes())] {
            assert!(a.partial && a.writes, "{:.60}: {a:?}", sql);
        }
    }
    // Under the cap: read whole, not flagged.
    let short = format!(
        "UPDATE t JOIN u ON u.id IN ({}), w SET w.a=1",
        "0,".repeat(1000) + "0"
    );
    let a = analyze(short.as_bytes());
    assert!(!a.partial, "{a:?}");
    assert!(a.written.iter().any(|t| *t == "w"), "{a:?}");
    // The statement after a cut one is read whole: its table is there.
    let two = format!("SELECT id FROM t WHERE id IN ({z}); DELETE FROM v");
    let a = analyze(two.as_bytes());
    assert!(a.partial && a.tables.iter().any(|t| *t == "v"), "{a:?}");
    assert!(!analyze(b"SELECT * FROM t").partial);
}

#[test]
fn a_full_list_of_tables_is_partial() {
    let union: Vec<String> = (0..70).map(|i| format!("SELECT id FROM c{i}")).collect();
    let sql = format!("SELECT 1 FROM ({}) d", union.join(" UNION ALL "));
    for a in [analyze(sql.as_bytes()), analyze_tokens(sql.as_bytes())] {
        assert_eq!(a.tables.len(), rdsaudit_sql::tables::MAX_TABLES);
        assert!(a.partial && !a.writes, "{a:?}");
    }
    let few: Vec<String> = (0..10).map(|i| format!("SELECT id FROM c{i}")).collect();
    assert!(!analyze(few.join(" UNION ALL ").as_bytes()).partial);
}

#[test]
fn the_filters_keep_a_partial_statement() {
    let z = zeros();
    let keeps = |spec: SemanticSpec, sql: &str| {
        let l = line(sql);
        let e = rdsaudit::parse_line(&l).unwrap();
        EventFilter::new(Filter::all(), spec).matches(&e)
    };
    let table = |t: &str| SemanticSpec {
        tables: vec![TablePattern::parse(t).unwrap()],
        ..SemanticSpec::default()
    };
    let writes = SemanticSpec {
        writes: true,
        ..SemanticSpec::default()
    };
    let update = format!("UPDATE t JOIN u ON u.id IN ({z}), w SET w.a=1");
    assert!(keeps(table("s.w"), &update));
    let outfile = format!("SELECT id FROM t WHERE id IN ({z}) INTO OUTFILE /tmp/f");
    assert!(keeps(writes.clone(), &outfile));
    let union: Vec<String> = (0..70).map(|i| format!("SELECT id FROM c{i}")).collect();
    assert!(keeps(table("s.c69"), &union.join(" UNION ALL ")));
    // Read whole: the filters still drop what does not match.
    assert!(!keeps(table("s.w"), "UPDATE t SET a=1"));
    assert!(!keeps(writes, "SELECT id FROM t WHERE id IN (0,0,0)"));
}

fn names(a: &rdsaudit_sql::Analysis) -> Vec<String> {
    a.tables.iter().map(ToString::to_string).collect()
}

/// Checked on MariaDB 10.11 (`review33_flush_seq.log`): a FLUSH that locks names its tables
/// (the server logs a READ of each), one that does not names none; a temporary sequence's
/// `CREATE` and `DROP` name none (the server logs no table event). Failed before.
#[test]
fn flush_locks_and_temporary_sequences_name_what_the_server_logs() {
    let cases: &[(&str, &[&str])] = &[
        ("FLUSH TABLES t WITH READ LOCK", &["t"]),
        ("FLUSH TABLES t, db.u FOR EXPORT", &["t", "db.u"]),
        (
            "FLUSH TABLE `a b` WITH READ LOCK AND DISABLE CHECKPOINT",
            &["a b"],
        ),
        ("FLUSH LOCAL TABLES t FOR EXPORT", &["t"]),
        (
            "FLUSH NO_WRITE_TO_BINLOG TABLES t, u, v WITH READ LOCK",
            &["t", "u", "v"],
        ),
        ("FLUSH TABLES t", &[]),
        ("FLUSH TABLES t, u", &[]),
        ("FLUSH TABLES WITH READ LOCK", &[]),
        ("FLUSH LOGS", &[]),
        ("CREATE TEMPORARY SEQUENCE s", &[]),
        ("CREATE OR REPLACE TEMPORARY SEQUENCE s START WITH 10", &[]),
        ("DROP TEMPORARY SEQUENCE IF EXISTS s", &[]),
        ("CREATE SEQUENCE s", &["s"]),
        ("DROP SEQUENCE s", &["s"]),
        ("SELECT NEXTVAL(s)", &["s"]),
    ];
    for &(sql, want) in cases {
        for a in [analyze(sql.as_bytes()), analyze_tokens(sql.as_bytes())] {
            assert_eq!(names(&a), want, "{sql}");
            assert!(!a.partial, "{sql}");
        }
    }
}
