//! `writes` and `tables` held against the server's own word and against hand-written cases.
//!
//! * The recorded MariaDB corpus (`corpus/mariadb/expected-*.jsonl`, written from what the
//!   workload sent and from the TABLE events the real server logged for each statement): a
//!   statement the server logged a WRITE/CREATE/ALTER/DROP/RENAME for must be read as
//!   writing, one it only logged READs for as not writing (a CALL excepted: its body is
//!   unknown), and the tables it names must be the tables of its TABLE events outside the
//!   server's internal databases. Both readings are checked: sqlparser's ([`analyze`]) and the
//!   tokens' ([`analyze_tokens`]).
//! * The `semantics` pass (`corpus/mariadb/semantics.py`): statements sent byte-exact to a
//!   real MariaDB, each with whether it really changed rows, tables, plugins or binary logs
//!   (measured by the workload) and the documented verdict for every QUERY record it caused.
//!   The log's own events are read in their context (database, return code, dialect), as
//!   `--writes`, `--table` and `--enrich` read them.
//! * RDS for MySQL logs no TABLE events: a table of hand-written statements with their class,
//!   `writes` and tables, again through both readings, and cut at every byte (the token
//!   reading must not panic and must keep `writes` once the verb is in).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::corpus_dir;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use rdsaudit_sql::event::analysis;
use rdsaudit_sql::filter::{EventFilter, SemanticSpec};
use rdsaudit_sql::{Analysis, analyze, analyze_tokens};
use serde_json::Value;

struct Statement {
    sql: Vec<u8>,
    db: String,
    retcode: i64,
    tables: BTreeSet<String>,
    /// The tables of its TABLE events other than READ.
    written: BTreeSet<String>,
    write_events: bool,
    read_events: bool,
}

fn corpus(pass: &str) -> (Vec<Statement>, Vec<String>) {
    let path = corpus_dir().join(format!("expected-{pass}.jsonl"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let meta = lines.next().unwrap();
    let internal: Vec<String> = meta["incidental_table_dbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let mut by_stmt: BTreeMap<u64, Statement> = BTreeMap::new();
    let mut table_events = Vec::new();
    for v in lines {
        let Some(stmt) = v["stmt"].as_u64() else {
            continue;
        };
        if v["op"] == "QUERY" {
            let sql = base64::engine::general_purpose::STANDARD
                .decode(v["object_b64"].as_str().unwrap())
                .unwrap();
            by_stmt.insert(
                stmt,
                Statement {
                    sql,
                    db: v["db"].as_str().unwrap_or_default().to_owned(),
                    retcode: v["retcode"].as_i64().unwrap(),
                    tables: BTreeSet::new(),
                    written: BTreeSet::new(),
                    write_events: false,
                    read_events: false,
                },
            );
        } else {
            table_events.push((stmt, v));
        }
    }
    for (stmt, v) in table_events {
        let s = by_stmt
            .get_mut(&stmt)
            .expect("a TABLE event belongs to a QUERY");
        let db = v["db"].as_str().unwrap();
        if v["op"] == "READ" {
            s.read_events = true;
        } else {
            s.write_events = true;
        }
        if !internal.iter().any(|i| i == db) {
            for t in v["table"].as_str().unwrap().split('|') {
                let q = if t.contains('.') {
                    t.to_owned()
                } else {
                    format!("{db}.{t}")
                };
                if v["op"] != "READ" {
                    s.written.insert(q.to_lowercase());
                }
                s.tables.insert(q.to_lowercase());
            }
        }
    }
    (by_stmt.into_values().collect(), internal)
}

fn strings(tables: &[rdsaudit_sql::Table]) -> Vec<String> {
    tables.iter().map(ToString::to_string).collect()
}

/// Our tables, qualified with the session database as the server does.
fn qualified(a: &Analysis, db: &str) -> BTreeSet<String> {
    qualified_list(&a.tables, db)
}

fn qualified_list(tables: &[rdsaudit_sql::Table], db: &str) -> BTreeSet<String> {
    tables
        .iter()
        .map(|t| {
            t.clone()
                .in_database(db.as_bytes())
                .to_string()
                .to_lowercase()
        })
        .collect()
}

#[test]
fn corpus_writes_and_tables_agree_with_the_servers_table_events() {
    let mut checked = 0;
    let (mut parsed, mut compared_tables, mut compared_writes) = (0, 0, 0);
    let (mut compared_written, mut exact_written) = (0, 0);
    let mut failures = Vec::new();
    for pass in ["full", "limit1024"] {
        let (statements, _) = corpus(pass);
        for s in &statements {
            let text = String::from_utf8_lossy(&s.sql);
            for (how, a) in [
                ("parser", analyze(&s.sql)),
                ("tokens", analyze_tokens(&s.sql)),
            ] {
                if how == "parser" && !a.parsed {
                    continue;
                }
                parsed += usize::from(how == "parser");
                compared_writes += usize::from(s.write_events || s.read_events);
                let call = a.class == rdsaudit_sql::StatementClass::Call;
                if s.write_events && !a.writes {
                    failures.push(format!("{how}: server wrote, we say no: {text:?}"));
                }
                if s.read_events && !s.write_events && a.writes && !call {
                    failures.push(format!("{how}: server only read, we say write: {text:?}"));
                }
                // A failed statement may stop before opening its tables; a CALL's tables are
                // its body's.
                let complete = s.retcode == 0 && !call && !s.tables.is_empty();
                compared_tables += usize::from(complete);
                if complete && qualified(&a, &s.db) != s.tables {
                    failures.push(format!(
                        "{how}: tables {:?}, server {:?}: {text:?}",
                        qualified(&a, &s.db),
                        s.tables
                    ));
                }
                // Written tables: never fewer than the server's; the same where it read others.
                let written = qualified_list(&a.written, &s.db);
                if complete && !written.is_superset(&s.written) {
                    failures.push(format!(
                        "{how}: written {written:?}, server wrote {:?}: {text:?}",
                        s.written
                    ));
                }
                // The tree's rules and the tokens' are one set: the same answer.
                if how == "parser" && a.written != analyze_tokens(&s.sql).written {
                    failures.push(format!(
                        "written: parser {:?}, tokens {:?}: {text:?}",
                        a.written,
                        analyze_tokens(&s.sql).written
                    ));
                }
                let apart = complete && s.written != s.tables && !s.written.is_empty();
                compared_written += usize::from(apart);
                exact_written += usize::from(apart && written == s.written);
                checked += 1;
            }
        }
    }
    eprintln!(
        "{checked} readings, {parsed} by the parser, {compared_writes} against TABLE events, {compared_tables} table lists, {exact_written} of {compared_written} that write some and read others told exactly"
    );
    assert!(checked > 100, "the corpus holds statements ({checked})");
    assert!(parsed > 50 && compared_writes > 20 && compared_tables > 10);
    assert!(
        compared_written >= 4 && exact_written == compared_written,
        "statements that write one table and read another: {exact_written} of {compared_written} exact"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

#[test]
fn real_server_semantics_pass() {
    let dir = corpus_dir();
    let log = std::fs::read(dir.join("audit-semantics.log")).unwrap();
    let events: Vec<rdsaudit::AuditEvent<'_>> = log
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| rdsaudit::parse_line(l).unwrap())
        .collect();
    let expected = std::fs::read_to_string(dir.join("expected-semantics.jsonl")).unwrap();
    let writes = EventFilter::new(
        rdsaudit::filter::Filter::all(),
        SemanticSpec {
            writes: true,
            ..SemanticSpec::default()
        },
    );
    let mut failures = Vec::new();
    let (mut cursor, mut checked, mut wrote) = (0, 0, 0);
    for case in expected
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        if case["kind"] != "case" {
            continue;
        }
        let sent = String::from_utf8_lossy(&b64(&case["sent_b64"])).into_owned();
        let mut any_writes = false;
        for want in case["logged"].as_array().unwrap() {
            let text = b64(&want["object_b64"]);
            // The server's records, in order: the next QUERY with this text and database.
            let Some(i) = (cursor..events.len()).find(|&i| {
                let e = &events[i];
                e.operation == rdsaudit::Operation::Query
                    && *e.object.unescaped() == *text
                    && e.database == want["db"].as_str().unwrap()
            }) else {
                failures.push(format!(
                    "{sent:?}: no QUERY {:?} logged",
                    String::from_utf8_lossy(&text)
                ));
                continue;
            };
            cursor = i + 1;
            let e = &events[i];
            let a = analysis(e);
            let tables: Vec<&str> = want["tables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            let got = (a.writes, a.version_dependent, strings(&a.tables));
            let exp = (
                want["writes"].as_bool().unwrap(),
                want["version_dependent"].as_bool().unwrap(),
                tables.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
            );
            if got != exp {
                failures.push(format!(
                    "{:?}: got {got:?}, want {exp:?}",
                    String::from_utf8_lossy(&text)
                ));
            }
            if writes.matches(e) != exp.0 {
                failures.push(format!("--writes disagrees on {sent:?}"));
            }
            any_writes |= a.writes;
            checked += 1;
        }
        // Nothing hidden: a statement that changed something was read as writing.
        if case["wrote"] == true {
            wrote += 1;
            if !any_writes {
                failures.push(format!("the server wrote, we say no: {sent:?}"));
            }
        }
    }
    // The server's TABLE events: a QUERY after WRITE/CREATE/DROP/ALTER/RENAME events of its
    // connection and query id writes, one after READ events only does not. Two connections
    // run at once, so the other's lines may sit between a QUERY and its TABLE events (CI's
    // recording put a READ right before `DROP TRIGGER trg`; ours had a QUERY of the other
    // connection there).
    let mut table_checked = 0;
    for (i, e) in events.iter().enumerate() {
        if e.operation != rdsaudit::Operation::Query || e.retcode != Some(0) {
            continue;
        }
        let ops: Vec<&rdsaudit::Operation<'_>> = events[..i]
            .iter()
            .rev()
            .filter(|t| t.connection_id == e.connection_id)
            .take_while(|t| t.operation.is_table() && t.query_id == e.query_id)
            .map(|t| &t.operation)
            .collect();
        if ops.is_empty() {
            continue;
        }
        // Creating or dropping a trigger reads its table (a READ event) and writes the
        // schema: a write.
        let upper = e.object.unescaped().to_ascii_uppercase();
        let trigger = upper.starts_with(b"CREATE TRIGGER") || upper.starts_with(b"DROP TRIGGER");
        let server_writes = trigger || ops.iter().any(|op| **op != rdsaudit::Operation::Read);
        if analysis(e).writes != server_writes {
            failures.push(format!(
                "TABLE events say writes={server_writes}: {:?}",
                String::from_utf8_lossy(&e.object.unescaped())
            ));
        }
        table_checked += 1;
    }
    eprintln!(
        "{checked} logged statements, {wrote} commands that changed something, {table_checked} with TABLE events"
    );
    assert!(checked > 25 && wrote > 10 && table_checked > 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (statement, class, writes, tables) as RDS for MySQL would log them.
const RDS_MYSQL: &[(&str, &str, bool, &[&str])] = &[
    (
        "INSERT INTO shop.orders (id, note) VALUES (1, 'a,b'), (2, 'c')",
        "dml",
        true,
        &["shop.orders"],
    ),
    (
        "INSERT INTO archive SELECT * FROM orders WHERE d < '2024-01-01'",
        "dml",
        true,
        &["archive", "orders"],
    ),
    (
        "REPLACE INTO `shop`.`carts` SET id = 5",
        "dml",
        true,
        &["shop.carts"],
    ),
    (
        "UPDATE orders o JOIN items i ON i.order_id = o.id SET o.total = 0",
        "dml",
        true,
        &["orders", "items"],
    ),
    (
        "DELETE FROM sessions WHERE expires < NOW()",
        "dml",
        true,
        &["sessions"],
    ),
    (
        "WITH old AS (SELECT id FROM orders WHERE d < NOW()) DELETE FROM orders WHERE id IN (SELECT id FROM old)",
        "dml",
        true,
        &["orders"],
    ),
    (
        "LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE imports FIELDS TERMINATED BY ','",
        "dml",
        true,
        &["imports"],
    ),
    (
        "SELECT * FROM orders WHERE id = 7 FOR UPDATE",
        "select",
        false,
        &["orders"],
    ),
    (
        "SELECT a.x, b.y FROM db1.a a, db2.b AS b WHERE a.id = b.id",
        "select",
        false,
        &["db1.a", "db2.b"],
    ),
    (
        "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        "select",
        false,
        &[],
    ),
    ("SELECT 1", "select", false, &[]),
    (
        "CREATE TABLE IF NOT EXISTS t2 (id INT PRIMARY KEY)",
        "ddl",
        true,
        &["t2"],
    ),
    ("ALTER TABLE t2 ADD COLUMN note TEXT", "ddl", true, &["t2"]),
    ("DROP TABLE IF EXISTS t2, t3", "ddl", true, &["t2", "t3"]),
    (
        "RENAME TABLE t1 TO t2, t3 TO t4",
        "ddl",
        true,
        &["t1", "t2", "t3", "t4"],
    ),
    ("TRUNCATE TABLE logs", "ddl", true, &["logs"]),
    ("CREATE INDEX ix ON orders (d)", "ddl", true, &["orders"]),
    ("CREATE DATABASE reports", "ddl", true, &[]),
    (
        "/*!40000 ALTER TABLE `t` DISABLE KEYS */",
        "ddl",
        true,
        &["t"],
    ),
    ("GRANT SELECT ON shop.* TO 'app'@'%'", "dcl", true, &[]),
    (
        "REVOKE INSERT ON shop.orders FROM 'app'@'%'",
        "dcl",
        true,
        &[],
    ),
    ("CREATE USER 'u'@'%' IDENTIFIED BY *****", "dcl", true, &[]),
    ("DROP USER 'u'@'%'", "dcl", true, &[]),
    ("ALTER USER 'u'@'%' IDENTIFIED BY *****", "dcl", true, &[]),
    ("SET PASSWORD FOR 'u'@'%' = *****", "dcl", true, &[]),
    ("CALL refresh_totals(2024)", "call", true, &[]),
    ("EXECUTE stmt USING @a", "call", true, &[]),
    ("SET autocommit=0", "session", false, &[]),
    ("SET NAMES utf8mb4", "session", false, &[]),
    ("USE shop", "session", false, &[]),
    ("START TRANSACTION", "tcl", false, &[]),
    ("COMMIT", "tcl", false, &[]),
    ("ROLLBACK", "tcl", false, &[]),
    (
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "tcl",
        false,
        &[],
    ),
    ("SHOW TABLES FROM shop", "admin", false, &[]),
    ("EXPLAIN SELECT * FROM t", "admin", false, &[]),
    ("SELECT 1; DELETE FROM t", "dml", true, &["t"]),
    (
        "/* app:checkout */ UPDATE carts SET total = 12.5 WHERE id = 5",
        "dml",
        true,
        &["carts"],
    ),
    ("PREPARE stmt FROM 'DELETE FROM t'", "other", false, &[]),
    (
        "CREATE TRIGGER trg AFTER UPDATE ON shop.items FOR EACH ROW BEGIN INSERT INTO log_t SELECT * FROM a JOIN b ON a.x = b.x; END",
        "ddl",
        true,
        &["shop.items", "log_t", "a", "b"],
    ),
    (
        "CREATE DEFINER=`app`@`%` TRIGGER trg BEFORE INSERT ON items FOR EACH ROW SET NEW.n = 1",
        "ddl",
        true,
        &["items"],
    ),
];

#[test]
fn rds_mysql_hand_table() {
    let mut failures = Vec::new();
    for &(sql, class, writes, tables) in RDS_MYSQL {
        for (how, a) in [
            ("parser", analyze(sql.as_bytes())),
            ("tokens", analyze_tokens(sql.as_bytes())),
        ] {
            let got = (a.class.as_str(), a.writes, strings(&a.tables));
            let want = (
                class,
                writes,
                tables.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
            );
            if got != want {
                failures.push(format!(
                    "{how} (parsed {}): {sql:?}: got {got:?}, want {want:?}",
                    a.parsed
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cut_statements_keep_their_verdict_once_the_verb_is_in() {
    for &(sql, class, writes, _) in RDS_MYSQL {
        // The first two words decide (`SET PASSWORD`, `CREATE USER`).
        let verb_end = sql.match_indices(' ').nth(1).map_or(sql.len(), |(i, _)| i);
        for cut in 0..=sql.len() {
            let a = analyze_tokens(&sql.as_bytes()[..cut]);
            let with = sql.starts_with("WITH");
            let multi = sql.contains(';');
            if cut > verb_end && !with && !multi && !sql.starts_with("/*") {
                assert_eq!(
                    (a.class.as_str(), a.writes),
                    (class, writes),
                    "{:?}",
                    &sql[..cut]
                );
            }
        }
    }
}
