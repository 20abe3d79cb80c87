//! The semantic questions asked of an audit event: a QUERY's SQL text, or a TABLE event
//! (`READ`, `WRITE`, `CREATE`, `ALTER`, `DROP`, `RENAME`), which the server writes for each
//! table a statement touched, just before that statement's QUERY record and with its query id.
//!
//! ```
//! use rdsaudit::audit::scanner::parse_line;
//! use rdsaudit_sql::Enricher;
//!
//! let mut enricher = Enricher::default();
//! // MariaDB: the TABLE event comes first, with the same connection and query id.
//! let table = parse_line(b"20240323 13:36:09,db1,app,10.0.0.5,41,700,WRITE,shop,orders,")?;
//! let query = parse_line(b"20240323 13:36:09,db1,app,10.0.0.5,41,700,QUERY,shop,'CALL archive_orders(2024)',0")?;
//! assert_eq!(enricher.enrich(&table).tables, ["shop.orders"]);
//! let s = enricher.enrich(&query);
//! assert!(s.writes);
//! assert_eq!(s.tables, ["shop.orders"]); // the server's word, not the parser's guess (none)
//! assert_eq!(s.fingerprint.as_deref(), Some("call archive_orders"));
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use std::collections::HashMap;

use rdsaudit::sink::json_str;
use rdsaudit::{AuditEvent, Operation};

use rdsaudit::audit::event::{DEFAULT_QUERY_LOG_LIMIT, Dialect};

use crate::class::StatementClass;
use crate::lexer::Server;
use crate::name::Table;
use crate::tables::{MAX_TABLES, push_unique};
use crate::{Analysis, Context, analyze_in, digest, fingerprint};

/// The enrichment of one event: the values of the NDJSON keys `writes`, `statement_class`,
/// `tables`, `written_tables`, `fingerprint`, `digest`, `truncated`, `version_dependent`,
/// `mode_dependent` and `partial` (written by [`Semantics::write_ndjson`]), and the class of
/// what an `EXECUTE IMMEDIATE` runs (for `stats`; not written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semantics {
    /// Whether the event can have changed data, schema or privileges (a QUERY that writes,
    /// or a `WRITE`/`CREATE`/`ALTER`/`DROP`/`RENAME` TABLE event). Says nothing about
    /// success: see the return code.
    pub writes: bool,
    /// The statement class of a QUERY; `None` for other events.
    pub class: Option<StatementClass>,
    /// Tables from the server's TABLE events for the same connection and query id when they
    /// were seen, else the names the statement text holds (written `db.table`, see
    /// [`Table`]'s `Display`).
    pub tables: Vec<Table>,
    /// Those of `tables` the event may have changed: from the server's `WRITE`, `CREATE`,
    /// `ALTER`, `DROP` and `RENAME` TABLE events when seen, else from the text
    /// ([`Analysis::written`]).
    pub written_tables: Vec<Table>,
    /// pt-fingerprint's normal form of a QUERY's text.
    pub fingerprint: Option<String>,
    /// pt-query-digest's Query ID of the fingerprint.
    pub digest: Option<String>,
    /// The object reaches the server's query log limit (1024 bytes unless set), so it may
    /// be cut.
    pub truncated: bool,
    /// `writes`, the class or the tables depend on the server's flavour or version (see
    /// [`Analysis::version_dependent`]): `writes` then says the statement may write.
    pub version_dependent: bool,
    /// The tables read from the text depend on the session's quoting `sql_mode` or client
    /// character set (see
    /// [`Analysis::mode_dependent`]): some may be a string's text in a default session.
    pub mode_dependent: bool,
    /// Only a part was read (see [`Analysis::partial`]): the statement's first
    /// [`crate::MAX_TOKENS`] tokens, or the first [`MAX_TABLES`] tables (of its text or of
    /// the server's TABLE events), or a text the query log limit cut (`truncated`: what
    /// stood past the cut is unknown): a table past them is not listed, so `--table` keeps
    /// the event whatever table it asks for.
    pub partial: bool,
    /// The class of the statement an `EXECUTE IMMEDIATE` runs (see
    /// [`Analysis::immediate_class`]); `statement_class` stays `call`. Not written.
    pub immediate_class: Option<StatementClass>,
}

/// Whether a list of tables is full: a name past [`MAX_TABLES`] was not kept.
pub(crate) fn tables_full(tables: &[Table]) -> bool {
    tables.len() >= MAX_TABLES
}

fn bool_text(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

/// `["shop.orders","shop.items"]`.
fn table_list(out: &mut Vec<u8>, tables: &[Table]) {
    out.push(b'[');
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, &t.to_string());
    }
    out.push(b']');
}

fn nullable(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => json_str(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// What the event tells of where its statement ran: the session's database (`database`, the
/// bytes of the event's: [`rdsaudit::Name::as_bytes`]), whether it succeeded, and whether
/// the dialect is written by MySQL only (Aurora's, the RDS for MySQL fork's; MariaDB and
/// MySQL both write the upstream plugin's).
pub fn context<'e>(e: &AuditEvent<'_>, database: &'e [u8]) -> Context<'e> {
    Context {
        database,
        server: Server {
            executed: e.retcode == Some(0),
            mysql_only: matches!(e.timestamp.dialect, Dialect::Aurora | Dialect::RdsMySql),
        },
    }
}

/// What an event means, without fingerprint (what filters need), logged with the plugin's
/// default query log limit.
pub fn analysis(e: &AuditEvent<'_>) -> Analysis {
    analysis_at(e, DEFAULT_QUERY_LOG_LIMIT)
}

/// [`analysis`] of an event logged by a server whose `server_audit_query_log_limit` is
/// `limit`.
pub fn analysis_at(e: &AuditEvent<'_>, limit: usize) -> Analysis {
    match e.operation {
        Operation::Query => {
            let database = default_database(e);
            let ctx = context(e, database.unwrap_or_default());
            let mut a = analyze_in(&e.object.unescaped(), &ctx);
            // Where an unqualified table is, is not known: `--table` keeps it.
            a.partial |= database.is_none();
            cut_at_the_limit(a, e, limit)
        }
        op if op.is_table() => {
            let tables = table_event_names(e).tables;
            let writes = op != Operation::Read;
            let partial = tables_full(&tables);
            Analysis {
                class: if op == Operation::Read || op == Operation::Write {
                    StatementClass::Dml
                } else {
                    StatementClass::Ddl
                },
                writes,
                written: if writes { tables.clone() } else { Vec::new() },
                tables,
                parsed: false,
                version_dependent: false,
                mode_dependent: false,
                partial,
                immediate_class: None,
            }
        }
        _ => Analysis {
            class: StatementClass::Other,
            writes: false,
            tables: Vec::new(),
            written: Vec::new(),
            parsed: false,
            version_dependent: false,
            mode_dependent: false,
            partial: false,
            immediate_class: None,
        },
    }
}

/// The default database a QUERY's statement ran in, as its event tells: the event's
/// `database`, except on a server-internal thread, whose client host is empty (a client's
/// never is: an address, `localhost` or a name). The event scheduler's statements are logged
/// with the user `event_scheduler`, no host and the database `mysql`, while the event's
/// body runs in the event's schema (recorded on MariaDB 10.11.14: `INSERT INTO w VALUES
/// (44)` logged in `mysql`, the server's TABLE event a WRITE of `shop.w`; session 35's
/// adversary SEVERE-3): `mysql.w` would be invented and `shop.w` hidden. There the default
/// database is unknown (`None`): an unqualified table is left bare, as with no database
/// selected, and the statement is [`Analysis::partial`].
fn default_database<'e>(e: &AuditEvent<'e>) -> Option<&'e [u8]> {
    (!e.is_server_thread()).then(|| e.database.as_bytes())
}

/// A statement the plugin cut at its query log limit (`truncated`: its text reaches the
/// limit) is read in part: whatever stood past the cut is unknown, whatever the reading found
/// before it, so it is [`Analysis::partial`] and `--table` keeps it. The cut may fall between
/// two tokens, where the text reads whole: `DELETE FROM v <pad>` whose `, w USING v, w` was
/// cut wrote `w` too, and `EXECUTE IMMEDIATE <pad> 'DELETE FROM v'` whose adjacent `'w'` was
/// cut wrote `vw` (session 35's adversary SEVERE-2, recorded on MariaDB 10.11).
///
/// Cut before any verb could be read (1,100 bytes of leading comment, a long `SET STATEMENT`
/// head without its `FOR`), it may write too: `writes` is true, as for a `WITH` cut before its
/// main verb, so `--writes` cannot be dodged by padding the front of a statement. Its class
/// stays `other`.
fn cut_at_the_limit(mut a: Analysis, e: &AuditEvent<'_>, limit: usize) -> Analysis {
    if e.object.possibly_truncated_at(limit) {
        a.partial = true;
        if a.class == StatementClass::Other {
            a.writes = true;
        }
    }
    a
}

/// The tables a TABLE event names, and whether they are certain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableEventNames {
    /// The tables; for a RENAME that reads more than one way, those of every reading.
    pub tables: Vec<Table>,
    /// Whether the object reads one way only.
    pub certain: bool,
}

/// The tables of a TABLE event. The plugin writes the event's database and the table's name
/// raw, one field each, so the object is the name whole, whatever it holds (`shop.orders`
/// is a table of that name in the event's database): it is never split. A RENAME's object
/// is `old|newdb.newtable`, the old table in the event's database (`log_rename` in
/// server_audit.c, checked on MariaDB 10.11); since names may hold `|` and `.`, that split is
/// certain only when the object holds one `|` and one `.` after it. Otherwise every way to
/// read it is listed (so `--table` cannot miss the table renamed), and the event is no
/// authority for its QUERY's tables ([`Enricher`] reads the statement's text too).
pub fn table_event_names(e: &AuditEvent<'_>) -> TableEventNames {
    let (object, database) = (e.object.raw(), e.database.as_bytes());
    if e.operation != Operation::Rename {
        let tables = (!object.is_empty())
            .then(|| Table::from_bytes(database, object))
            .into_iter()
            .collect();
        return TableEventNames {
            tables,
            certain: true,
        };
    }
    // Split on the bytes: `|` and `.` are ASCII, never part of a sequence that is not UTF-8.
    let mut names = TableEventNames::default();
    let mut readings = 0usize;
    for bar in memchr::memchr_iter(b'|', object) {
        let (Some(old), Some(new)) = (object.get(..bar), object.get(bar + 1..)) else {
            continue;
        };
        for dot in memchr::memchr_iter(b'.', new) {
            let (Some(db), Some(table)) = (new.get(..dot), new.get(dot + 1..)) else {
                continue;
            };
            if [old, db, table].iter().any(|n| n.is_empty()) || names.tables.len() >= MAX_TABLES {
                continue;
            }
            readings += 1;
            push_unique(&mut names.tables, Table::from_bytes(database, old));
            push_unique(&mut names.tables, Table::from_bytes(db, table));
        }
    }
    names.certain = readings == 1;
    names
}

impl Semantics {
    /// Appends the keys to an NDJSON object being written (before its closing brace):
    /// `,"writes":true,"statement_class":"dml","tables":["shop.orders"],
    /// "written_tables":["shop.orders"],"fingerprint":"...",
    /// "digest":"...","truncated":false,"version_dependent":false,"mode_dependent":false,
    /// "partial":false`. `statement_class`, `fingerprint` and `digest` are
    /// `null` for events other than QUERY.
    pub fn write_ndjson(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#","writes":"#);
        out.extend_from_slice(bool_text(self.writes));
        out.extend_from_slice(br#","statement_class":"#);
        nullable(out, self.class.map(StatementClass::as_str));
        out.extend_from_slice(br#","tables":"#);
        table_list(out, &self.tables);
        out.extend_from_slice(br#","written_tables":"#);
        table_list(out, &self.written_tables);
        out.extend_from_slice(br#","fingerprint":"#);
        nullable(out, self.fingerprint.as_deref());
        out.extend_from_slice(br#","digest":"#);
        nullable(out, self.digest.as_deref());
        out.extend_from_slice(br#","truncated":"#);
        out.extend_from_slice(bool_text(self.truncated));
        out.extend_from_slice(br#","version_dependent":"#);
        out.extend_from_slice(bool_text(self.version_dependent));
        out.extend_from_slice(br#","mode_dependent":"#);
        out.extend_from_slice(bool_text(self.mode_dependent));
        out.extend_from_slice(br#","partial":"#);
        out.extend_from_slice(bool_text(self.partial));
    }

    /// The enrichment of `e` on its own (tables from the text only), logged with the
    /// plugin's default query log limit.
    pub fn of(e: &AuditEvent<'_>) -> Semantics {
        Semantics::of_at(e, DEFAULT_QUERY_LOG_LIMIT)
    }

    /// [`Semantics::of`] for a server whose `server_audit_query_log_limit` is `limit`.
    pub fn of_at(e: &AuditEvent<'_>, limit: usize) -> Semantics {
        let a = analysis_at(e, limit);
        let query = e.operation == Operation::Query;
        let fingerprint = query.then(|| fingerprint(&e.object.unescaped()));
        Semantics {
            writes: a.writes,
            class: query.then_some(a.class),
            tables: a.tables,
            written_tables: a.written,
            digest: fingerprint.as_deref().map(digest),
            fingerprint,
            truncated: query && e.object.possibly_truncated_at(limit),
            version_dependent: a.version_dependent,
            mode_dependent: a.mode_dependent,
            partial: a.partial,
            immediate_class: a.immediate_class,
        }
    }
}

/// Connections whose TABLE events are remembered at once; more (a hostile stream of
/// TABLE events without their QUERY) forgets them all and starts again.
const MAX_PENDING: usize = 4096;

/// Enriches the events of one ordered stream, taking tables from the server's own TABLE
/// events for the same server, connection and query id (Aurora and MariaDB write them; RDS for
/// MySQL does not, and there the statement text is read). An ambiguous TABLE event (a raw name
/// or a statement's text that reads as a TABLE header) is no authority: it is not remembered.
#[derive(Debug)]
pub struct Enricher {
    /// (serverhost, connection id) -> (query id, tables) of the TABLE events seen since its
    /// last QUERY: connection ids are per server, and one stream may mix instances.
    pending: HashMap<(String, u64), (u64, ServerTables)>,
    /// The server's `server_audit_query_log_limit` (`truncated`).
    query_log_limit: usize,
}

impl Default for Enricher {
    fn default() -> Self {
        Enricher {
            pending: HashMap::new(),
            query_log_limit: DEFAULT_QUERY_LOG_LIMIT,
        }
    }
}

/// The tables the server's TABLE events named for a QUERY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerTables {
    /// The tables, in the order the events named them.
    pub tables: Vec<Table>,
    /// Those named by events other than `READ`.
    pub written: Vec<Table>,
    /// Whether every event read one way only: the server's word is then the whole answer.
    /// A RENAME whose names hold `|` or `.` is not, and the statement's text is read too.
    pub certain: bool,
}

impl ServerTables {
    /// The QUERY's tables given those its text names: the server's when certain, else the
    /// server's certain ones followed by the text's.
    pub fn with_text(self, text: &[Table]) -> Vec<Table> {
        joined(self.tables, self.certain, text)
    }

    /// The QUERY's written tables given those its text writes, as [`ServerTables::with_text`].
    pub fn written_with_text(&self, text: &[Table]) -> Vec<Table> {
        joined(self.written.clone(), self.certain, text)
    }
}

/// The server's tables, followed by the text's when the server's word is not the whole answer.
fn joined(mut tables: Vec<Table>, certain: bool, text: &[Table]) -> Vec<Table> {
    if !certain {
        for t in text {
            push_unique(&mut tables, t.clone());
        }
    }
    tables
}

impl Enricher {
    /// An enricher for a server whose `server_audit_query_log_limit` is `limit` (an RDS
    /// option; 1024 by default): a statement reaching it is `truncated`.
    #[must_use]
    pub fn with_query_log_limit(limit: usize) -> Self {
        Enricher {
            query_log_limit: limit,
            ..Enricher::default()
        }
    }

    /// The enrichment of the next event of the stream.
    pub fn enrich(&mut self, e: &AuditEvent<'_>) -> Semantics {
        let mut s = Semantics::of_at(e, self.query_log_limit);
        if e.operation.is_table() {
            self.remember(e, table_event_names(e));
        } else if let Some(server) = self.server_tables(e) {
            s.written_tables = server.written_with_text(&s.written_tables);
            s.tables = server.with_text(&s.tables);
            // 70 READ events of a `UNION`: the server's list is full too.
            s.partial |= tables_full(&s.tables);
        }
        s
    }

    /// Takes note of an event of the stream that is not enriched (a filter dropped it): its
    /// TABLE events still name the tables of the QUERY that follows. Cheap: no SQL is read.
    /// For a QUERY, the tables the server's TABLE events named for it (used up), if any.
    pub fn observe(&mut self, e: &AuditEvent<'_>) -> Option<ServerTables> {
        if e.operation.is_table() {
            self.remember(e, table_event_names(e));
            None
        } else {
            self.server_tables(e)
        }
    }

    /// The tables the server's TABLE events named for the QUERY `e`; they are used up.
    fn server_tables(&mut self, e: &AuditEvent<'_>) -> Option<ServerTables> {
        if e.operation != Operation::Query {
            return None;
        }
        let key = (e.serverhost.to_string(), e.connection_id);
        let (query_id, tables) = self.pending.remove(&key)?;
        (query_id == e.query_id).then_some(tables)
    }

    /// Remembers the tables of the TABLE event `e` for the QUERY that follows it; an
    /// uncertain one is remembered as such (its tables stay out).
    fn remember(&mut self, e: &AuditEvent<'_>, names: TableEventNames) {
        if e.ambiguity.is_ambiguous() {
            return;
        }
        let (key, query) = ((e.serverhost.to_string(), e.connection_id), e.query_id);
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&key) {
            self.pending.clear();
        }
        let fresh = || {
            let tables = ServerTables {
                tables: Vec::new(),
                written: Vec::new(),
                certain: true,
            };
            (query, tables)
        };
        let entry = self.pending.entry(key).or_insert_with(fresh);
        if entry.0 != query {
            *entry = fresh();
        }
        if !names.certain {
            entry.1.certain = false;
            return;
        }
        for t in names.tables {
            if e.operation != Operation::Read {
                push_unique(&mut entry.1.written, t.clone());
            }
            push_unique(&mut entry.1.tables, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdsaudit::parse_line;

    #[test]
    fn tables_come_only_from_the_same_server_and_from_unambiguous_table_events() {
        let mut en = Enricher::default();
        let other_server =
            parse_line(b"20240323 13:00:00,instA,app,10.0.0.1,5,7,WRITE,shop,audit_trail,")
                .unwrap();
        en.enrich(&other_server);
        let delete = parse_line(
            b"20240323 13:00:00,instB,app,10.0.0.2,5,7,QUERY,shop,'DELETE FROM users',0",
        )
        .unwrap();
        assert_eq!(en.enrich(&delete).tables, ["shop.users"]);
        // A statement whose text reads as a TABLE header of connection 5, query 7.
        let forged = parse_line(
            br"1711198800000000,srv,mallory,10.0.0.2,9,3,QUERY,db,'SELECT \',h,5,7,WRITE,d,x',0",
        )
        .unwrap();
        assert!(forged.ambiguity.is_ambiguous());
        en.enrich(&forged);
        let delete =
            parse_line(b"1711198800000000,srv,app,10.0.0.1,5,7,QUERY,shop,'DELETE FROM users',0")
                .unwrap();
        assert_eq!(en.enrich(&delete).tables, ["shop.users"]);
    }

    /// A QUERY line whose statement is `sql` cut at the plugin's default 1024-byte limit.
    fn cut(sql: &str) -> Vec<u8> {
        let quoted = sql
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('\n', "\\n");
        let mut object = quoted.into_bytes();
        object.truncate(1024);
        let mut line = b"20250101 00:00:00,srv,u,h,1,1,QUERY,shop,'".to_vec();
        line.extend_from_slice(&object);
        line.extend_from_slice(b"',0");
        line
    }

    #[test]
    fn a_statement_cut_before_its_verb_may_write() {
        let pad = "A".repeat(1100);
        for sql in [
            format!("/* {pad} */ DELETE FROM orders"),
            format!("SET STATEMENT max_statement_time=1, sql_mode='{pad}' FOR DELETE FROM orders"),
            format!("# {pad}\nDELETE FROM orders"),
        ] {
            let line = cut(&sql);
            let e = parse_line(&line).unwrap();
            assert!(e.object.possibly_truncated(), "{sql:.40}");
            let a = analysis(&e);
            assert!(a.writes, "{sql:.40}: {a:?}");
            assert_eq!(a.class, StatementClass::Other);
        }
        // Not cut: a comment alone, or a SET STATEMENT without FOR, reads as it is.
        let whole =
            parse_line(b"20250101 00:00:00,srv,u,h,1,1,QUERY,shop,'/* DELETE */',0").unwrap();
        assert!(!analysis(&whole).writes);
        // Cut after the verb: the verb decides.
        let select = cut(&format!("SELECT '{pad}'"));
        assert!(!analysis(&parse_line(&select).unwrap()).writes);
    }

    /// Session 34's adversary LOW-4: a table named `\xff` and one named U+FFFD were one
    /// table (`rdsaudit stats` counted them together). Each part keeps its bytes, read from
    /// the statement's text, the event's database, a `USE` and TABLE events.
    #[test]
    fn tables_keep_their_bytes() {
        let ff = crate::analyze(b"CREATE TABLE `\xff` (a int)");
        let fffd = crate::analyze("CREATE TABLE `\u{FFFD}` (a int)".as_bytes());
        assert_eq!(ff.written[0].to_string(), fffd.written[0].to_string());
        assert_ne!(ff.written, fffd.written);
        assert_eq!(ff.written[0].bytes(), (&b""[..], &b"\xff"[..]));
        let mut both = b"INSERT INTO `\xff` SELECT * FROM `".to_vec();
        both.extend_from_slice("\u{FFFD}`".as_bytes());
        assert_eq!(crate::analyze(&both).tables.len(), 2);
        let e = parse_line(
            b"20240101 00:00:00,srv,u,h,1,1,QUERY,\xff,'DELETE FROM t; USE `\xfe`; DELETE FROM u',0",
        )
        .unwrap();
        let written: Vec<(Vec<u8>, Vec<u8>)> = Semantics::of(&e)
            .written_tables
            .iter()
            .map(|t| (t.bytes().0.to_vec(), t.bytes().1.to_vec()))
            .collect();
        assert_eq!(
            written,
            [
                (b"\xff".to_vec(), b"t".to_vec()),
                (b"\xfe".to_vec(), b"u".to_vec())
            ]
        );
        let write = parse_line(b"20240101 00:00:00,srv,u,h,1,1,WRITE,\xff,t\xfe,").unwrap();
        let names = table_event_names(&write);
        assert_eq!(names.tables[0].bytes(), (&b"\xff"[..], &b"t\xfe"[..]));
        let rename =
            parse_line(b"20240101 00:00:00,srv,u,h,1,1,RENAME,shop,a\xff|d\xfe.b,").unwrap();
        let names = table_event_names(&rename);
        assert!(names.certain);
        let got: Vec<(&[u8], &[u8])> = names.tables.iter().map(Table::bytes).collect();
        assert_eq!(
            got,
            [(&b"shop"[..], &b"a\xff"[..]), (&b"d\xfe"[..], &b"b"[..])]
        );
    }

    /// Session 35's adversary SEVERE-3: the event scheduler's statements are logged with an
    /// empty client host and the database `mysql`, not the event's schema (recorded on
    /// MariaDB 10.11.14: `...,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w VALUES
    /// (44)',0`, the server's TABLE event a WRITE of `shop.w`). The event is built here with
    /// its host emptied: the scanner reads such lines separately.
    #[test]
    fn an_event_scheduler_statement_names_no_table_in_mysql_and_is_partial() {
        use crate::filter::{EventFilter, SemanticSpec};
        use crate::name::TablePattern;
        use rdsaudit::Name;
        use rdsaudit::filter::Filter;

        let logged = |object: &'static [u8], host: &'static [u8]| {
            let mut line = b"20261205 09:22:57,vm,event_scheduler,h,88,228,QUERY,mysql,'".to_vec();
            line.extend_from_slice(object);
            line.extend_from_slice(b"',0");
            let line: &'static [u8] = Box::leak(line.into_boxed_slice());
            let mut e = parse_line(line).unwrap();
            e.host = Name::new(host);
            e
        };
        let table = |pattern: &str| {
            let spec = SemanticSpec {
                tables: vec![TablePattern::parse(pattern).unwrap()],
                ..SemanticSpec::default()
            };
            EventFilter::new(Filter::all(), spec)
        };
        let scheduler = logged(b"INSERT INTO w VALUES (44)", b"");
        assert!(scheduler.host.as_bytes().is_empty());
        let s = Enricher::default().enrich(&scheduler);
        let shown: Vec<String> = s.tables.iter().map(Table::to_string).collect();
        assert_eq!(shown, ["w"]);
        assert_eq!(s.tables, s.written_tables);
        assert!(s.writes && s.partial, "{s:?}");
        assert!(table("shop.w").matches(&scheduler));
        // A qualified name stays what it says.
        let qualified = Semantics::of(&logged(b"DELETE FROM shop.v", b""));
        let shown: Vec<String> = qualified.tables.iter().map(Table::to_string).collect();
        assert_eq!(shown, ["shop.v"]);
        // A client's statement runs in the logged database.
        let client = logged(b"INSERT INTO w VALUES (44)", b"localhost");
        let s = Semantics::of(&client);
        let shown: Vec<String> = s.tables.iter().map(Table::to_string).collect();
        assert_eq!(shown, ["mysql.w"]);
        assert!(!s.partial);
        assert!(!table("shop.w").matches(&client));
    }

    #[test]
    fn server_tables_win_and_are_used_once() {
        let mut en = Enricher::default();
        let line = |l: &'static [u8]| parse_line(l).unwrap();
        en.observe(&line(b"20240323 13:36:09,h,app,l,41,700,READ,shop,items,"));
        en.observe(&line(
            b"20240323 13:36:09,h,app,l,41,700,WRITE,shop,orders,",
        ));
        en.observe(&line(
            b"20240323 13:36:09,h,app,l,41,700,RENAME,shop,a|shop.b,",
        ));
        let q = line(b"20240323 13:36:09,h,app,l,41,700,QUERY,shop,'CALL p()',0");
        assert_eq!(
            en.enrich(&q).tables,
            ["shop.items", "shop.orders", "shop.a", "shop.b"]
        );
        assert!(en.enrich(&q).tables.is_empty());
        // Another query id: the text is read.
        en.observe(&line(
            b"20240323 13:36:09,h,app,l,41,701,WRITE,shop,orders,",
        ));
        let other = line(b"20240323 13:36:09,h,app,l,41,702,QUERY,shop,'DELETE FROM t',0");
        assert_eq!(en.enrich(&other).tables, ["shop.t"]);
    }
}
