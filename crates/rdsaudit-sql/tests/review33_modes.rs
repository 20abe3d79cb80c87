//! Session 33's adversary S: texts a session reads in a way the log does not say (its
//! `sql_mode`, its client character set), each checked on MariaDB 10.11 where it can be
//! (`crates/rdsaudit-cli/tests/recorded/review33_modes*.log`). Each case went through
//! `analyze` and `analyze_tokens` before the fix and hid a write or a written table.
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

/// Both readings (sqlparser's tree where it parses, the tokens) of `sql`.
fn both(sql: &[u8]) -> [Analysis; 2] {
    [analyze(sql), analyze_tokens(sql)]
}

/// `sql` writes every one of `written` (among its tables too), flagged `mode_dependent`.
fn writes_flagged(sql: &[u8], written: &[&str]) {
    for a in both(sql) {
        let shown = String::from_utf8_lossy(sql);
        assert!(a.writes && a.mode_dependent, "{shown}: {a:?}");
        for w in written {
            assert!(
                names(&a.written).iter().any(|x| x == w),
                "{shown}: {w} {a:?}"
            );
            assert!(
                names(&a.tables).iter().any(|x| x == w),
                "{shown}: {w} {a:?}"
            );
        }
    }
}

/// F1: an `ORACLE` session takes `s.nextval` as `NEXTVAL(s)` and `s.currval` as `LASTVAL(s)`
/// (`s.lastval`, `s.setval` are unknown columns there: 1109). Before: writes false, no table.
#[test]
fn oracle_sequence_calls_write_their_sequence() {
    for (sql, written) in [
        ("SELECT s.nextval", &["s"][..]),
        ("SELECT \"s\".nextval", &["s"]),
        ("SELECT `s`.NextVal, \"s2\".CURRVAL FROM DUAL", &["s"]),
        ("SELECT s . nextval", &["s"]),
        ("SELECT s/**/.nextval", &["s"]),
        ("SELECT s.`nextval`", &["s"]),
        ("SELECT db.q.nextval", &["db.q"]),
        ("SELECT \"db\".\"q\".NEXTVAL FROM DUAL", &["db.q"]),
        ("UPDATE t SET a = s.nextval WHERE id=1", &["t", "s"]),
        (
            "INSERT INTO t SELECT 200+s.nextval, 1, 'z' FROM DUAL",
            &["t", "s"],
        ),
    ] {
        writes_flagged(sql.as_bytes(), written);
    }
    let read = analyze(b"SELECT s2.currval");
    assert!(!read.writes && names(&read.tables) == ["s2"], "{read:?}");
    for sql in [
        "SELECT s.lastval",
        "SELECT s.setval",
        "SELECT 's.nextval'",
        "SELECT nextval FROM t",
    ] {
        let a = analyze(sql.as_bytes());
        assert!(
            !a.writes && a.tables.len() <= 1 && !a.mode_dependent,
            "{sql}: {a:?}"
        );
    }
}

/// F2: `MSSQL` (which sets `ANSI_QUOTES` with it) quotes names with `[ ]`, `]]` inside being
/// one `]`; a procedure made in an `MSSQL` session logs its statements so in any session.
/// Before: `DELETE FROM [w]` named no table, `NEXTVAL([s])` was no write.
#[test]
fn mssql_bracket_names_are_names() {
    for (sql, written) in [
        ("DELETE FROM [w] WHERE id=99", &["w"][..]),
        ("INSERT INTO [w] SELECT * FROM [r] WHERE id=99", &["w"]),
        ("SELECT NEXTVAL([s])", &["s"]),
        ("SELECT NEXT VALUE FOR [s2]", &["s2"]),
        ("UPDATE [q'] , w SET w.a=15 -- '", &["w"]),
        ("UPDATE [x]]y] SET a=1", &["x]y"]),
        ("UPDATE [db].[t] SET a=1", &["db.t"]),
    ] {
        writes_flagged(sql.as_bytes(), written);
    }
    let r = analyze(b"INSERT INTO [w] SELECT * FROM [r] WHERE id=99");
    assert!(names(&r.tables).contains(&"r".to_owned()), "{r:?}");
    // A `[` in a string names nothing new.
    let a = analyze(b"UPDATE t SET a='[w]'");
    assert!(names(&a.tables) == ["t"] && !a.mode_dependent, "{a:?}");
}

/// F3: a `gbk`, `big5` or `sjis`/`cp932` client: a lead byte and `0x5C` are one character,
/// so the `\` escapes nothing and the next `'` closes the string (recorded with each client).
#[test]
fn a_backslash_ending_a_two_byte_character_escapes_nothing() {
    for lead in [0xBF_u8, 0x81, 0xA4] {
        let mut sql = b"UPDATE t JOIN u ON u.id <> 'it\\'s' AND u.id <> '".to_vec();
        sql.extend([lead, b'\\']);
        sql.extend_from_slice(b"' , w SET w.a=11 -- '");
        writes_flagged(&sql, &["t", "w"]);
        let mut call = b"SELECT 'it\\'s', '".to_vec();
        call.extend([lead, b'\\']);
        call.extend_from_slice(b"', NEXTVAL(s) -- '");
        writes_flagged(&call, &["s"]);
    }
    // `0xBF 0xBF` is one character: the `\` after it escapes as after `ab` (only the
    // NO_BACKSLASH_ESCAPES reading, flagged, runs the call).
    assert_eq!(
        analyze_tokens(b"SELECT '\xbf\xbf\\', NEXTVAL(s) -- '"),
        analyze_tokens(b"SELECT 'ab\\', NEXTVAL(s) -- '")
    );
    // sjis: `0xB0` is one byte (a katakana), then `0x81 0x5C` is a character.
    writes_flagged(b"SELECT '\xb0\x81\\', NEXTVAL(s) -- '", &["s"]);
}

/// F4: under `ANSI_QUOTES`, `"x""y"` is `x"y` (`x""y` named a table that does not exist and
/// hid the written one where sqlparser's reading did not rescue it).
#[test]
fn a_doubled_double_quote_in_a_name_is_one() {
    for (sql, table) in [
        ("UPDATE t, \"x\"\"y\" SET \"x\"\"y\".a=2", "x\"y"),
        ("SELECT NEXTVAL(\"s\"\"q\")", "s\"q"),
        ("SELECT NEXT VALUE FOR \"s\"\"q\"", "s\"q"),
        ("CREATE SEQUENCE \"s\"\"q\"", "s\"q"),
    ] {
        for a in both(sql.as_bytes()) {
            let t = names(&a.tables);
            assert!(t.contains(&table.to_owned()), "{sql}: {a:?}");
            assert!(!t.iter().any(|x| x.contains("\"\"")), "{sql}: {a:?}");
            assert!(a.writes, "{sql}: {a:?}");
        }
    }
    let a = analyze(b"UPDATE \"p\"\"\"\"q\" SET a=1");
    assert_eq!(names(&a.tables), ["p\"\"q"]);
    // A back-quoted name keeps its doubled double quotes.
    let a = analyze(b"UPDATE `x\"\"y` SET a=1");
    assert_eq!(names(&a.tables), ["x\"\"y"]);
}

/// F6: under a quoting mode, a versioned comment is read both ways too. On RDS for MySQL
/// with `ANSI_QUOTES`, `/*M!` is a comment and `UPDATE t /*M!100000 , "x */ , "w" SET ...`
/// writes `w` (argued: no MySQL server here; MariaDB rewrites a skipped comment before
/// logging it). Before: `w` missing, `x */ , ` invented.
#[test]
fn a_versioned_comment_is_read_both_ways_in_every_mode() {
    for sql in [
        "UPDATE t /*M!100000 , \"x */ , \"w\" SET \"w\".a=1",
        "UPDATE t /*M!100000 JOIN u ON u.b <> \"x */ , \"w\" SET \"w\".a=1",
    ] {
        for a in both(sql.as_bytes()) {
            assert!(names(&a.tables).contains(&"w".to_owned()), "{sql}: {a:?}");
            assert!(names(&a.written).contains(&"w".to_owned()), "{sql}: {a:?}");
            assert!(a.mode_dependent && a.version_dependent, "{sql}: {a:?}");
        }
    }
}

/// The readings agree on a text without their trigger bytes, or whose trigger bytes change
/// nothing: nothing new, nothing flagged.
#[test]
fn readings_that_agree_flag_nothing() {
    for sql in [
        "UPDATE t SET a=1 WHERE b='[x]'",
        "SELECT a[1] FROM t",
        "UPDATE `中` SET a='中\\n'",
        "SELECT nextval(s), currval FROM t",
        "INSERT INTO t VALUES ('x\\'y', \"z\")",
    ] {
        for a in both(sql.as_bytes()) {
            assert!(!a.mode_dependent && !a.version_dependent, "{sql}: {a:?}");
        }
    }
}
