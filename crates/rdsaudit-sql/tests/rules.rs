//! The documented rules of `writes`, `statement_class`, `tables` and `version_dependent`
//! (crate docs of `rdsaudit_sql::class` and `rdsaudit_sql::lexer`), case by case, on statements
//! as MySQL and MariaDB accept them, through both readings (sqlparser's and the tokens').
//! `tests/semantics.rs` holds the same rules against a real MariaDB server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit_sql::filter::{EventFilter, SemanticSpec};
use rdsaudit_sql::lexer::Server;
use rdsaudit_sql::{Context, analyze_in, analyze_tokens_in};

/// The server that logged a statement: `Ok` = it succeeded (return code 0), `Unknown` = no or
/// another return code; `MySql` = a MySQL-only dialect (Aurora, RDS for MySQL's fork).
#[derive(Clone, Copy)]
enum Logged {
    Ok,
    Unknown,
    MySqlOk,
}

impl Logged {
    fn server(self) -> Server {
        match self {
            Logged::Ok => Server {
                executed: true,
                mysql_only: false,
            },
            Logged::Unknown => Server::default(),
            Logged::MySqlOk => Server {
                executed: true,
                mysql_only: true,
            },
        }
    }
}

/// (statement, current database, how it was logged, class, writes, version_dependent, tables)
type Case = (
    &'static str,
    &'static str,
    Logged,
    &'static str,
    bool,
    bool,
    &'static [&'static str],
);

use Logged::*;

const CASES: &[Case] = &[
    // 1. MariaDB's SET STATEMENT ... FOR: the inner statement's meaning.
    (
        "SET STATEMENT max_statement_time=1 FOR DELETE FROM t",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "SET STATEMENT max_statement_time=1, sql_mode='' FOR SELECT * FROM t",
        "shop",
        Ok,
        "select",
        false,
        false,
        &["shop.t"],
    ),
    (
        "set statement optimizer_switch='index_merge=off' for update a.t set x=1",
        "",
        Ok,
        "dml",
        true,
        false,
        &["a.t"],
    ),
    // 2. Versioned comments.
    (
        "/*!40000 ALTER TABLE t DISABLE KEYS */",
        "shop",
        Unknown,
        "ddl",
        true,
        false,
        &["shop.t"],
    ),
    (
        "/*!40000 DROP TABLE t */",
        "shop",
        Ok,
        "ddl",
        true,
        false,
        &["shop.t"],
    ),
    // No return code to tell whether the server parsed it: a flagged write candidate.
    (
        "/*!99999 DROP TABLE t */",
        "shop",
        Unknown,
        "ddl",
        true,
        true,
        &["shop.t"],
    ),
    // Logged with return code 0: the server rewrites a skipped `/*!` to `/* `, so it ran.
    (
        "/*!99999 DROP TABLE t */",
        "shop",
        Ok,
        "ddl",
        true,
        false,
        &["shop.t"],
    ),
    // What MariaDB really logs for `/*!99999 DROP TABLE t */`: a plain comment.
    (
        "/* 99999 DROP TABLE t */",
        "shop",
        Ok,
        "other",
        false,
        false,
        &[],
    ),
    (
        "/* 50700 DELETE FROM t */ SELECT 1",
        "shop",
        Ok,
        "select",
        false,
        false,
        &[],
    ),
    (
        "/*!50700 DELETE FROM t */ SELECT 1",
        "shop",
        Unknown,
        "dml",
        true,
        true,
        &["shop.t"],
    ),
    // MariaDB's own marker: MariaDB ran it, MySQL read a comment; which one logged it?
    (
        "/*M!100100 DROP TABLE t */",
        "shop",
        Ok,
        "ddl",
        true,
        true,
        &["shop.t"],
    ),
    (
        "/*M!100100 DROP TABLE t */",
        "shop",
        MySqlOk,
        "other",
        false,
        false,
        &[],
    ),
    (
        "/*M 999999 DELETE FROM t */ SELECT 2",
        "shop",
        Ok,
        "select",
        false,
        false,
        &[],
    ),
    // A versioned comment that changes neither writes nor tables is not flagged.
    (
        "/*M!100101 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */",
        "",
        Ok,
        "session",
        false,
        false,
        &[],
    ),
    (
        "SELECT /*!80000 SQL_NO_CACHE */ * FROM t",
        "shop",
        Unknown,
        "select",
        false,
        false,
        &["shop.t"],
    ),
    // 3. Statements classified one by one.
    (
        "IMPORT TABLE FROM '/tmp/t1.sdi', '/tmp/t2.sdi'",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &[],
    ),
    (
        "BEGIN NOT ATOMIC DELETE FROM t WHERE id=2; END",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "BEGIN NOT ATOMIC SELECT 1; END",
        "shop",
        Ok,
        "select",
        false,
        false,
        &[],
    ),
    (
        "IF 1 THEN DELETE FROM t WHERE id=3; END IF",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "IF (SELECT COUNT(*) FROM a) > CASE WHEN 1 THEN 0 END THEN INSERT INTO b VALUES (1); ELSE UPDATE c SET x=1; END IF",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.a", "shop.b", "shop.c"],
    ),
    (
        "lbl: BEGIN NOT ATOMIC DECLARE i INT DEFAULT 0; WHILE i < 3 DO INSERT INTO t VALUES (i); SET i = i + 1; END WHILE; END lbl",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "BEGIN NOT ATOMIC DECLARE CONTINUE HANDLER FOR SQLSTATE '42S02', SQLEXCEPTION DELETE FROM log; SELECT 1; END",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.log"],
    ),
    (
        "UNINSTALL PLUGIN server_audit",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "INSTALL PLUGIN server_audit SONAME 'server_audit.so'",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "INSTALL COMPONENT 'file://component_validate_password'",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    ("RESET MASTER", "", Ok, "admin", true, false, &[]),
    (
        "SET PERSIST max_connections = 500",
        "",
        Ok,
        "session",
        true,
        false,
        &[],
    ),
    (
        "SET @@persist_only.innodb_log_file_size = 1, sql_mode = ''",
        "",
        Ok,
        "session",
        true,
        false,
        &[],
    ),
    ("SET @persist = 1", "", Ok, "session", false, false, &[]),
    (
        "SET GLOBAL max_connections = 500",
        "",
        Ok,
        "session",
        false,
        false,
        &[],
    ),
    (
        "RESET BINARY LOGS AND GTIDS",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    ("RESET REPLICA ALL", "", Ok, "admin", true, false, &[]),
    ("RESET QUERY CACHE", "", Ok, "admin", false, false, &[]),
    (
        "PURGE BINARY LOGS TO 'mysql-bin.000010'",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "CLONE INSTANCE FROM 'u'@'donor':3306 IDENTIFIED BY *****",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "CLONE LOCAL DATA DIRECTORY = '/tmp/copy'",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'",
        "",
        Ok,
        "admin",
        true,
        false,
        &[],
    ),
    (
        "OPTIMIZE TABLE t",
        "shop",
        Ok,
        "admin",
        true,
        false,
        &["shop.t"],
    ),
    (
        "OPTIMIZE NO_WRITE_TO_BINLOG TABLE t",
        "shop",
        Ok,
        "admin",
        true,
        false,
        &["shop.t"],
    ),
    (
        "REPAIR TABLE t1, other.t2 QUICK",
        "shop",
        Ok,
        "admin",
        true,
        false,
        &["shop.t1", "other.t2"],
    ),
    (
        "ANALYZE TABLE t",
        "shop",
        Ok,
        "admin",
        false,
        false,
        &["shop.t"],
    ),
    (
        "CHECK TABLE t",
        "shop",
        Ok,
        "admin",
        false,
        false,
        &["shop.t"],
    ),
    ("TRUNCATE t", "shop", Ok, "ddl", true, false, &["shop.t"]),
    (
        "LOAD DATA INFILE '/tmp/x.csv' REPLACE INTO TABLE t",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "LOAD INDEX INTO CACHE t",
        "shop",
        Ok,
        "admin",
        false,
        false,
        &[],
    ),
    (
        "RENAME TABLE a TO b, other.c TO other.d",
        "shop",
        Ok,
        "ddl",
        true,
        false,
        &["shop.a", "shop.b", "other.c", "other.d"],
    ),
    (
        "ALTER USER 'u'@'%' ACCOUNT LOCK",
        "",
        Ok,
        "dcl",
        true,
        false,
        &[],
    ),
    ("FLUSH PRIVILEGES", "", Ok, "admin", false, false, &[]),
    (
        "FLUSH TABLES WITH READ LOCK",
        "",
        Ok,
        "admin",
        false,
        false,
        &[],
    ),
    ("FLUSH BINARY LOGS", "", Ok, "admin", false, false, &[]),
    (
        "ANALYZE DELETE FROM t WHERE id=100",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "ANALYZE FORMAT=JSON UPDATE t SET x=1",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.t"],
    ),
    (
        "EXPLAIN ANALYZE SELECT * FROM t",
        "shop",
        Ok,
        "select",
        false,
        false,
        &["shop.t"],
    ),
    (
        "EXPLAIN DELETE FROM t",
        "shop",
        Ok,
        "admin",
        false,
        false,
        &[],
    ),
    // 4. The current database: the event's, then each `USE` of the text.
    (
        "USE shop; DELETE FROM orders",
        "",
        Ok,
        "dml",
        true,
        false,
        &["shop.orders"],
    ),
    (
        "DELETE FROM orders",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.orders"],
    ),
    (
        "DELETE FROM orders; USE `other`; DELETE FROM orders; SELECT * FROM x.y",
        "shop",
        Ok,
        "dml",
        true,
        false,
        &["shop.orders", "other.orders", "x.y"],
    ),
    // 12. Exports write a file on the server (Aurora: to S3): writes, class select.
    (
        "SELECT * FROM orders INTO OUTFILE '/tmp/adv1-out-%d.txt'",
        "shop",
        Ok,
        "select",
        true,
        false,
        &["shop.orders"],
    ),
    (
        "SELECT id FROM orders INTO DUMPFILE '/tmp/x'",
        "shop",
        Ok,
        "select",
        true,
        false,
        &["shop.orders"],
    ),
    (
        "SELECT id FROM shop.orders INTO OUTFILE S3 's3://bucket/k' FORMAT CSV",
        "",
        Ok,
        "select",
        true,
        false,
        &["shop.orders"],
    ),
    (
        "SELECT id INTO @v FROM orders",
        "shop",
        Ok,
        "select",
        false,
        false,
        &["shop.orders"],
    ),
    // 13. DUAL is no table (recorded s9_sem2.log).
    (
        "SELECT 1 FROM DUAL WHERE 1 = (SELECT evil.f())",
        "shop",
        Ok,
        "select",
        false,
        false,
        &[],
    ),
    (
        "SELECT \"a\" = 'b' -- \nFROM DUAL",
        "shop",
        Ok,
        "select",
        false,
        false,
        &[],
    ),
    // 14. Names holding `.`, `|` or a back quote stay one part, written back-quoted.
    (
        "DELETE FROM evil.`shop.orders` WHERE id=-39",
        "evil",
        Ok,
        "dml",
        true,
        false,
        &["evil.`shop.orders`"],
    ),
    (
        "INSERT INTO `x|shop.orders` VALUES (1)",
        "evil",
        Ok,
        "dml",
        true,
        false,
        &["evil.`x|shop.orders`"],
    ),
    (
        "UPDATE `a.b`.`t``q` SET x = 1",
        "",
        Ok,
        "dml",
        true,
        false,
        &["`a.b`.`t``q`"],
    ),
    // 15. MariaDB's `EXECUTE IMMEDIATE 'stmt'` runs `stmt` in the current database: its
    // tables and writes (class `call`); anything but a plain string is a write candidate
    // (partial, see `every_execute_immediate_that_cannot_be_read_is_partial`).
    (
        "EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = 1'",
        "shop",
        Ok,
        "call",
        true,
        false,
        &["shop.w"],
    ),
    (
        "EXECUTE IMMEDIATE 'SELECT * FROM v JOIN shop2.x USING (a)'",
        "shop",
        Ok,
        "call",
        false,
        false,
        &["shop.v", "shop2.x"],
    ),
    (
        "execute immediate 'INSERT INTO w SELECT ' '* FROM v' USING 1",
        "shop",
        Unknown,
        "call",
        true,
        false,
        &["shop.w", "shop.v"],
    ),
    (
        "EXECUTE IMMEDIATE \"UPDATE w SET note = 'it''s'\"",
        "shop",
        Ok,
        "call",
        true,
        false,
        &["shop.w"],
    ),
    (
        "EXECUTE IMMEDIATE 'DELETE FROM w /*!99999 , v */'",
        "shop",
        Ok,
        "call",
        true,
        true,
        &["shop.w", "shop.v"],
    ),
    ("EXECUTE IMMEDIATE @q", "shop", Ok, "call", true, false, &[]),
];

/// What an `EXECUTE IMMEDIATE` runs is not in the log unless it is a string (plain, in
/// parentheses, under an introducer keeping its ASCII bytes) or a hex literal of ASCII bytes:
/// a write candidate whose tables are not told (`partial`, so `--table` keeps it).
#[test]
fn every_execute_immediate_that_cannot_be_read_is_partial() {
    let ctx = Context {
        database: b"shop",
        server: Logged::Ok.server(),
    };
    for sql in [
        "EXECUTE IMMEDIATE @q",
        "EXECUTE IMMEDIATE CONCAT('DELETE FROM ', 'w')",
        "EXECUTE IMMEDIATE _utf16'DELETE FROM w'",
        "EXECUTE IMMEDIATE _latin1'DELETE FROM w\u{e9}'",
        "EXECUTE IMMEDIATE X'44454C4554452046524F4D2077' 'x'",
        "EXECUTE IMMEDIATE 0X44454C4554452046524F4D2077",
        "EXECUTE IMMEDIATE 'DELETE FROM ' || 'w'",
        "EXECUTE IMMEDIATE 'DELETE FROM w WHERE note = ''a long note cut by the plugin",
        "EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE ''DELETE FROM w'''",
    ] {
        for a in [
            analyze_in(sql.as_bytes(), &ctx),
            analyze_tokens_in(sql.as_bytes(), &ctx),
        ] {
            assert!(a.partial && a.writes, "{sql}: {a:?}");
            assert_eq!(a.class.as_str(), "call", "{sql}");
        }
    }
    for sql in [
        "EXECUTE IMMEDIATE 'DELETE FROM w'",
        "EXECUTE IMMEDIATE _latin1'DELETE FROM w'",
        "EXECUTE IMMEDIATE X'44454C4554452046524F4D2077'",
        "EXECUTE s USING @a",
    ] {
        assert!(!analyze_in(sql.as_bytes(), &ctx).partial, "{sql}");
    }
}

#[test]
fn every_rule_through_both_readings() {
    let mut failures = Vec::new();
    for &(sql, database, logged, class, writes, dependent, tables) in CASES {
        let ctx = Context {
            database: database.as_bytes(),
            server: logged.server(),
        };
        for (how, a) in [
            ("parser", analyze_in(sql.as_bytes(), &ctx)),
            ("tokens", analyze_tokens_in(sql.as_bytes(), &ctx)),
        ] {
            let tables_got = a.tables.iter().map(ToString::to_string).collect::<Vec<_>>();
            let got = (a.class.as_str(), a.writes, a.version_dependent, tables_got);
            let want = (
                class,
                writes,
                dependent,
                tables.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
            );
            if got != want {
                failures.push(format!(
                    "{how} (parsed {}): {sql:?} in {database:?}: got {got:?}, want {want:?}",
                    a.parsed
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn line(l: &[u8]) -> rdsaudit::AuditEvent<'_> {
    rdsaudit::parse_line(l).unwrap()
}

#[test]
fn table_filter_follows_the_current_database() {
    let orders = EventFilter::new(
        rdsaudit::filter::Filter::all(),
        SemanticSpec {
            tables: vec![rdsaudit_sql::TablePattern::parse("shop.orders").unwrap()],
            ..SemanticSpec::default()
        },
    );
    // The text switches database; the event's own is another one (or none).
    for l in [
        &b"1711198800000000,srv,app,10.0.0.1,5,7,QUERY,,'USE shop; DELETE FROM orders',0"[..],
        b"1711198800000000,srv,app,10.0.0.1,5,7,QUERY,crm,'USE shop; DELETE FROM orders',0",
        b"20240323 13:36:09,srv,app,10.0.0.1,5,7,QUERY,shop,'DELETE FROM orders',0",
    ] {
        assert!(orders.matches(&line(l)), "{}", String::from_utf8_lossy(l));
    }
    for l in [
        &b"20240323 13:36:09,srv,app,10.0.0.1,5,7,QUERY,crm,'DELETE FROM orders',0"[..],
        b"1711198800000000,srv,app,10.0.0.1,5,7,QUERY,shop,'USE crm; DELETE FROM orders',0",
    ] {
        assert!(!orders.matches(&line(l)), "{}", String::from_utf8_lossy(l));
    }
}

#[test]
fn writes_filter_reads_the_event_context() {
    let writes = EventFilter::new(
        rdsaudit::filter::Filter::all(),
        SemanticSpec {
            writes: true,
            ..SemanticSpec::default()
        },
    );
    let keeps = |l: &[u8]| writes.matches(&line(l));
    assert!(keeps(
        b"20240323 13:36:09,srv,app,h,5,7,QUERY,shop,'SET STATEMENT max_statement_time=1 FOR DELETE FROM t',0"
    ));
    // As MariaDB logs a skipped versioned comment: nothing ran.
    assert!(!keeps(
        b"20240323 13:36:09,srv,app,h,5,7,QUERY,shop,'/* 99999 DROP TABLE t */ SELECT 1',0"
    ));
    // `/*M!` in Aurora's log: MySQL read a comment.
    assert!(!keeps(
        b"1711198800000000,srv,app,h,5,7,QUERY,shop,'/*M!100100 DROP TABLE t */ SELECT 1',0"
    ));
    // In the upstream plugin's log (MariaDB or MySQL): a flagged candidate, kept.
    let e =
        line(b"20240323 13:36:09,srv,app,h,5,7,QUERY,shop,'/*M!100100 DROP TABLE t */ SELECT 1',0");
    assert!(writes.matches(&e));
    let s = rdsaudit_sql::Semantics::of(&e);
    assert!(s.writes && s.version_dependent);
}
