//! What kind of statement a text is and whether it writes, read from its tokens (any text,
//! cut or not) or from sqlparser's tree (see [`crate::analyze_in`], which prefers the tree for
//! reads, DML, DDL, DCL and transactions and reads everything else from the tokens).
//!
//! # What `writes` means
//!
//! A statement writes when it can change data, schema, privileges, or server state that a
//! replica or an auditor reacting to writes cares about (binary logs, replication settings,
//! installed code). Says nothing about success: see the return code (`--writes` keeps return
//! code 0 only). The classes follow the MySQL Reference Manual's chapter "SQL Statements".
//!
//! | writes | statements | source (MySQL manual section, MariaDB KB page) |
//! | --- | --- | --- |
//! | yes | `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `WITH ... DELETE/UPDATE/INSERT`, `INSERT ... SELECT`, `LOAD DATA`, `LOAD XML` | "Data Manipulation Statements" |
//! | yes | `IMPORT TABLE FROM 'f.sdi'` (creates tables from files; names no table) | "IMPORT TABLE Statement" |
//! | yes | `CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE` (tables, views, routines, events, databases...) | "Data Definition Statements" |
//! | yes | `GRANT`, `REVOKE`, users and roles, `SET PASSWORD`, `SET DEFAULT ROLE` | "Account Management Statements" |
//! | yes | `CALL`, `EXECUTE` (the body is unknown, so it may write) | "CALL Statement", "EXECUTE Statement" |
//! | yes | `OPTIMIZE TABLE` (rebuilds; MariaDB logs a WRITE table event), `REPAIR TABLE` (may drop damaged rows) | "Table Maintenance Statements" |
//! | yes | `INSTALL`/`UNINSTALL PLUGIN`, `INSTALL`/`UNINSTALL COMPONENT` (writes `mysql.plugin`; can switch auditing off) | "Component, Plugin, and Loadable Function Statements" |
//! | yes | `PURGE BINARY LOGS`, `RESET MASTER` / `RESET BINARY LOGS AND GTIDS`, `RESET REPLICA`/`SLAVE`, `CHANGE MASTER`/`REPLICATION SOURCE`/`REPLICATION FILTER`, `BINLOG` | "Replication Statements", "BINLOG Statement" |
//! | yes | `SET PERSIST`, `SET PERSIST_ONLY`, `RESET PERSIST` (persisted configuration) | "SET Syntax for Variable Assignment", "RESET PERSIST Statement" |
//! | yes | `CLONE INSTANCE` (replaces the data), `CLONE LOCAL DATA DIRECTORY` (writes a full copy) | "CLONE Statement" |
//! | yes | MariaDB `BEGIN NOT ATOMIC ... END`, `IF`, `CASE`, `LOOP`, `REPEAT`, `WHILE`, `FOR` when a statement inside writes | KB "Using Compound Statements Outside of Stored Programs" |
//! | yes | a `WITH` whose main verb was cut away by the plugin's limit (it may write) | |
//! | yes | any statement the plugin's limit cut before a verb could be read: a long leading comment, a `SET STATEMENT` head without its `FOR` (class `other`; see `event::analysis`) | |
//! | as the statement it runs | MariaDB `SET STATEMENT ... FOR stmt`, `ANALYZE [FORMAT=JSON] stmt`; MySQL `EXPLAIN ANALYZE stmt` | KB "SET STATEMENT", "ANALYZE Statement"; "EXPLAIN Statement" |
//! | as the statement it runs (class `call`) | MariaDB `EXECUTE IMMEDIATE 'stmt'` of a plain string; of anything else (`@q`, `CONCAT(...)`), yes, `partial` (see `immediate.rs`) | KB "EXECUTE IMMEDIATE" |
//! | yes | a `SELECT` or `DO` calling MariaDB's `NEXTVAL(s)`, `SETVAL(s, n)` or `NEXT VALUE FOR s` (advances or sets the sequence, which is then among the tables; see `sequence.rs`) | KB "NEXT VALUE for sequence_name", "SETVAL" |
//! | yes | `SELECT`/`TABLE`/`VALUES ... INTO OUTFILE` or `INTO DUMPFILE` (class `select`): writes a file on the server, and Aurora's `INTO OUTFILE S3` sends the rows to S3, data leaving the database; its `tables` are those it reads | "SELECT ... INTO Statement"; Aurora User Guide "Saving data from an Amazon Aurora MySQL DB cluster into text files in an Amazon S3 bucket" |
//! | no | `SELECT` (also `FOR UPDATE`, `INTO @var`), `TABLE`, `VALUES`, `SHOW`, `EXPLAIN`, `DESCRIBE`, `HELP` | |
//! | no | `ANALYZE TABLE`, `CHECK TABLE`, `CHECKSUM TABLE` (statistics and checks; MariaDB logs READ events) | "Table Maintenance Statements" |
//! | no | `FLUSH` (`PRIVILEGES` re-reads grant tables whose changes were writes themselves; `LOGS` rotates without removing), `RESET QUERY CACHE`, `LOAD INDEX INTO CACHE`, `CACHE INDEX`, `KILL`, `SHUTDOWN`, `RESTART`, `START`/`STOP REPLICA` | "Other Administrative Statements" |
//! | no | `SET` (session and global variables: not durable; names, role), `USE`, transaction control, `PREPARE`, `DEALLOCATE`, `DO`, `HANDLER` | |
//!
//! Not seen: stored functions called from a `SELECT` or `DO` that write, and triggers (their
//! TABLE events, where the server logs them, name the tables).
//!
//! A versioned comment whose body may or may not have run (see [`crate::lexer`]) makes the
//! statement a write candidate when either reading writes, flagged `version_dependent`.

use crate::lexer::Token;

/// The class of a statement (`statement_class` in the NDJSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StatementClass {
    /// `SELECT`, `VALUES`, `TABLE t`, a `WITH` ending in `SELECT`.
    Select,
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `LOAD DATA`, `IMPORT TABLE`.
    Dml,
    /// `CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE` of anything but users and roles.
    Ddl,
    /// `GRANT`, `REVOKE`, users and roles, `SET PASSWORD`, `SET DEFAULT ROLE`.
    Dcl,
    /// Transactions and locks: `START TRANSACTION`, `BEGIN`, `COMMIT`, `ROLLBACK`,
    /// `SAVEPOINT`, `RELEASE`, `XA`, `LOCK/UNLOCK TABLES`, `SET TRANSACTION`.
    Tcl,
    /// `SET` (variables, names, role) and `USE`.
    Session,
    /// `SHOW`, `EXPLAIN`, `DESCRIBE`, table maintenance (`ANALYZE`, `OPTIMIZE`, `CHECK`,
    /// `REPAIR TABLE`), `FLUSH`, `KILL`, `RESET`, `PURGE`, `CLONE`, replication control,
    /// plugins and components.
    Admin,
    /// `CALL` and `EXECUTE`.
    Call,
    /// Anything else (`PREPARE`, `DEALLOCATE`, `DO`, `HANDLER`, an empty or unknown text).
    Other,
}

impl StatementClass {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementClass::Select => "select",
            StatementClass::Dml => "dml",
            StatementClass::Ddl => "ddl",
            StatementClass::Dcl => "dcl",
            StatementClass::Tcl => "tcl",
            StatementClass::Session => "session",
            StatementClass::Admin => "admin",
            StatementClass::Call => "call",
            StatementClass::Other => "other",
        }
    }
}

/// A class and whether the statement writes.
pub type Verdict = (StatementClass, bool);

/// The class of one statement (no `;` inside) from its tokens.
pub fn classify_tokens(tokens: &[Token<'_>]) -> Verdict {
    use StatementClass::*;
    let words: Vec<&[u8]> = tokens
        .iter()
        .skip_while(|t| **t == Token::Punct(b'('))
        .take(8)
        .map_while(|t| match t {
            Token::Word(w) => Some(*w),
            _ => None,
        })
        .collect();
    let word = |i: usize| {
        words
            .get(i)
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let first = word(0);
    match first.as_slice() {
        b"SELECT" | b"VALUES" | b"TABLE" => (Select, exports(tokens)),
        b"WITH" => with_body(tokens),
        b"LOAD" if word(1) == b"INDEX" => (Admin, false),
        b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" | b"LOAD" | b"IMPORT" => (Dml, true),
        b"CREATE" | b"ALTER" | b"DROP" | b"RENAME" => {
            let object = if word(1) == b"OR" { word(3) } else { word(1) };
            if object == b"USER" || object == b"ROLE" {
                (Dcl, true)
            } else {
                (Ddl, true)
            }
        }
        b"TRUNCATE" => (Ddl, true),
        b"GRANT" | b"REVOKE" => (Dcl, true),
        b"SET" => set_class(&word(1), &word(2), tokens),
        b"USE" => (Session, false),
        b"START" if word(1) == b"TRANSACTION" => (Tcl, false),
        b"BEGIN" | b"COMMIT" | b"ROLLBACK" | b"SAVEPOINT" | b"RELEASE" | b"XA" | b"LOCK"
        | b"UNLOCK" => (Tcl, false),
        b"RESET" => {
            let durable = matches!(
                word(1).as_slice(),
                b"MASTER" | b"BINARY" | b"SLAVE" | b"REPLICA" | b"PERSIST"
            );
            (Admin, durable)
        }
        b"CHANGE" => (
            Admin,
            matches!(word(1).as_slice(), b"MASTER" | b"REPLICATION"),
        ),
        b"BINLOG" | b"INSTALL" | b"UNINSTALL" | b"PURGE" | b"CLONE" | b"OPTIMIZE" | b"REPAIR" => {
            (Admin, true)
        }
        b"SHOW" | b"EXPLAIN" | b"DESCRIBE" | b"DESC" | b"HELP" | b"ANALYZE" | b"CHECK"
        | b"CHECKSUM" | b"FLUSH" | b"KILL" | b"SHUTDOWN" | b"RESTART" | b"CACHE" | b"START"
        | b"STOP" | b"BACKUP" => (Admin, false),
        b"CALL" | b"EXECUTE" => (Call, true),
        _ => (Other, false),
    }
}

fn set_class(second: &[u8], third: &[u8], tokens: &[Token<'_>]) -> Verdict {
    use StatementClass::*;
    match second {
        b"PASSWORD" => (Dcl, true),
        b"DEFAULT" if third == b"ROLE" => (Dcl, true),
        b"TRANSACTION" => (Tcl, false),
        b"GLOBAL" | b"SESSION" | b"LOCAL" if third == b"TRANSACTION" => (Tcl, false),
        _ => (Session, persists(tokens)),
    }
}

/// `SET PERSIST x = 1`, `SET @@persist_only.x = 1` (also inside a list): MySQL writes the
/// setting to `mysqld-auto.cnf` ("SET Syntax for Variable Assignment"), durable state as
/// `RESET PERSIST` is. `SET @persist = 1` is a user variable.
fn persists(tokens: &[Token<'_>]) -> bool {
    tokens.windows(2).any(|w| match w {
        [t, next] => {
            (t.is("PERSIST") || t.is("PERSIST_ONLY"))
                && matches!(next, Token::Word(_) | Token::Ident(..) | Token::Punct(b'.'))
        }
        _ => false,
    })
}

/// `... INTO OUTFILE 'f'`, `INTO DUMPFILE 'f'`, Aurora's `INTO OUTFILE S3 's3://...'`: the
/// rows are written to a file (or S3), not to variables. Words in literals and comments are
/// not tokens, so `SELECT 'INTO OUTFILE'` is no export.
pub(crate) fn exports(tokens: &[Token<'_>]) -> bool {
    tokens.windows(2).any(|w| match w {
        [into, target] => into.is("INTO") && (target.is("OUTFILE") || target.is("DUMPFILE")),
        _ => false,
    })
}

/// Whether `sql` may hold an export ([`exports`]): checked on the bytes before the
/// statement's tree is trusted, which has no export in its select.
pub(crate) fn may_export(sql: &[u8]) -> bool {
    let has = |word: &[u8]| {
        sql.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    has(b"outfile") || has(b"dumpfile")
}

/// `WITH [RECURSIVE] name [(cols)] AS (...) [, ...] verb`: the first verb outside
/// parentheses. When the text was cut before the verb, the statement may write.
fn with_body(tokens: &[Token<'_>]) -> Verdict {
    let mut depth = 0usize;
    for t in tokens.iter().skip(1) {
        match t {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 => {
                let upper = w.to_ascii_uppercase();
                match upper.as_slice() {
                    b"SELECT" | b"VALUES" | b"TABLE" => {
                        return (StatementClass::Select, exports(tokens));
                    }
                    b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" => {
                        return (StatementClass::Dml, true);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (StatementClass::Other, true)
}

/// The class of a statement sqlparser understood, or `None` for kinds this module leaves
/// to [`classify_tokens`]: all but reads, DML, DDL, DCL and transactions (the tree has ~150
/// kinds, most of them other dialects'; the tokens know MySQL's administration statements,
/// wrappers and `USE`).
pub fn classify_ast(statement: &sqlparser::ast::Statement) -> Option<Verdict> {
    use StatementClass::*;
    use sqlparser::ast::{ObjectType, SetExpr, Statement as S};
    Some(match statement {
        S::Query(q) => match q.body.as_ref() {
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                (Dml, true)
            }
            _ => (Select, false),
        },
        S::Insert(_) | S::Update(_) | S::Delete(_) | S::Merge(_) | S::LoadData { .. } => {
            (Dml, true)
        }
        S::Drop { object_type, .. } => match object_type {
            ObjectType::User | ObjectType::Role => (Dcl, true),
            _ => (Ddl, true),
        },
        S::CreateTable(_)
        | S::CreateView(_)
        | S::CreateIndex(_)
        | S::CreateDatabase { .. }
        | S::CreateSchema { .. }
        | S::CreateFunction(_)
        | S::CreateProcedure { .. }
        | S::CreateTrigger(_)
        | S::AlterTable(_)
        | S::AlterView(_)
        | S::DropFunction(_)
        | S::DropProcedure { .. }
        | S::DropTrigger(_)
        | S::RenameTable(_)
        | S::Truncate(_) => (Ddl, true),
        S::Grant(_) | S::Revoke(_) | S::CreateUser(_) | S::AlterUser(_) | S::CreateRole(_) => {
            (Dcl, true)
        }
        S::StartTransaction { .. }
        | S::Commit { .. }
        | S::Rollback { .. }
        | S::Savepoint { .. }
        | S::ReleaseSavepoint { .. }
        | S::LockTables { .. }
        | S::UnlockTables => (Tcl, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;

    fn class(sql: &str) -> (&'static str, bool) {
        let tokens: Vec<Token<'_>> = Lexer::new(sql.as_bytes()).collect();
        let (c, w) = classify_tokens(&tokens);
        (c.as_str(), w)
    }

    #[test]
    fn the_issue_examples() {
        assert_eq!(
            class(
                "WITH old AS (SELECT id FROM orders WHERE d < NOW()) DELETE FROM orders WHERE id IN (SELECT id FROM old)"
            ),
            ("dml", true)
        );
        assert_eq!(class("CALL refresh_totals(2024)"), ("call", true));
        assert_eq!(class("GRANT SELECT ON db.* TO 'u'@'%'"), ("dcl", true));
        assert_eq!(class("REVOKE ALL ON *.* FROM u"), ("dcl", true));
        assert_eq!(class("SET PASSWORD FOR u = PASSWORD(*****)"), ("dcl", true));
        assert_eq!(class("EXECUTE stmt USING @a"), ("call", true));
        assert_eq!(
            class("/*!40000 ALTER TABLE t DISABLE KEYS */"),
            ("ddl", true)
        );
        assert_eq!(class("SELECT * FROM t FOR UPDATE"), ("select", false));
        assert_eq!(
            class("SELECT * FROM t INTO OUTFILE '/tmp/x'"),
            ("select", true)
        );
        assert_eq!(class("select 1 into dumpfile '/tmp/x'"), ("select", true));
        assert_eq!(
            class("SELECT id FROM t INTO OUTFILE S3 's3://b/k' FORMAT CSV"),
            ("select", true)
        );
        assert_eq!(
            class("WITH a AS (SELECT 1) SELECT * FROM a INTO OUTFILE 'f'"),
            ("select", true)
        );
        assert_eq!(class("TABLE t INTO OUTFILE 'f'"), ("select", true));
        assert_eq!(class("SELECT a INTO @x FROM t"), ("select", false));
        assert_eq!(
            class("SELECT 'INTO OUTFILE x' /* INTO DUMPFILE */"),
            ("select", false)
        );
        assert_eq!(class("SET autocommit=0"), ("session", false));
        assert_eq!(class("SHOW TABLES"), ("admin", false));
        assert_eq!(class("START TRANSACTION"), ("tcl", false));
        assert_eq!(class("WITH a AS (SELECT 1"), ("other", true));
        assert_eq!(class("(SELECT 1) UNION (SELECT 2)"), ("select", false));
        assert_eq!(class("CREATE OR REPLACE USER u"), ("dcl", true));
        assert_eq!(class(""), ("other", false));
    }
}
