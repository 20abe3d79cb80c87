//! Statement semantics for rdsaudit: which statements write, which tables they name, their
//! class, and their fingerprint and digest as percona-toolkit computes them.
//!
//! ```
//! use rdsaudit_sql::{analyze, StatementClass};
//!
//! let a = analyze(b"WITH old AS (SELECT id FROM shop.orders WHERE d < NOW()) DELETE FROM shop.orders WHERE id IN (SELECT id FROM old)");
//! assert_eq!(a.class, StatementClass::Dml);
//! assert!(a.writes);
//! assert_eq!(a.tables, ["shop.orders"]);
//!
//! // The plugin cut this one at its 1,024-byte limit, mid-literal: the tokens still tell.
//! let cut = analyze(b"INSERT INTO audit.log (note) VALUES ('a very long note that was cu");
//! assert!(cut.writes && !cut.parsed);
//! assert_eq!(cut.tables, ["audit.log"]);
//! ```
//!
//! # Where this crate sits
//!
//! Data flows one way: the core crate `rdsaudit` decodes audit lines into events and knows
//! nothing about SQL meaning; this crate reads the events' SQL; the front ends (the CLI and
//! the Lambda) use both. The core's [`rdsaudit::filter::Filter`] keeps the predicates on
//! fields (operation, user, host, time, return code...); the predicates that need SQL
//! meaning (`--writes`, `--table`) live here, in [`filter::EventFilter`], which wraps the
//! core filter. So the core keeps only pipeline dependencies, and there is one home for "what
//! a statement means".
//!
//! | module | concern |
//! | --- | --- |
//! | [`lexer`] | tokens of any text, cut or not; which versioned comments ran |
//! | [`statement`] | where the statement that runs begins (wrappers, compound statements) |
//! | `immediate` | the text MariaDB's `EXECUTE IMMEDIATE 'stmt'` runs |
//! | [`class`] | statement class and `writes`, from tokens or from sqlparser's tree |
//! | [`tables`] | the tables a statement names |
//! | [`fingerprint`](mod@fingerprint) | pt-fingerprint's normal form and pt-query-digest's Query ID |
//! | [`event`] | the same questions asked of an audit event (QUERY or TABLE) |
//! | [`filter`] | filters that need the answers |

// Tests may unwrap and index: a failing test should panic.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![deny(missing_docs)]

pub mod class;
pub mod event;
pub mod filter;
pub mod fingerprint;
mod immediate;
pub mod lexer;
pub mod name;
mod sequence;
pub mod statement;
pub mod tables;
pub mod written;

pub use class::StatementClass;
pub use event::{Enricher, Semantics};
pub use fingerprint::{digest, fingerprint};
pub use name::{Table, TablePattern};

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::class::{Verdict, classify_ast, classify_tokens};
use std::collections::BTreeMap;

use crate::lexer::{Lexer, Reading, Server, Token};
use crate::tables::push_unique;

/// Longest text handed to sqlparser; longer texts (multi-megabyte bulk INSERTs) are read
/// from their tokens only, so the tree's memory stays bounded.
pub const MAX_PARSE_BYTES: usize = 64 * 1024;

/// Tokens kept per statement for the token reading; the rest of a longer statement (row
/// values of a bulk INSERT) is skipped up to its `;`, and a table named there is not read:
/// the analysis is then [`Analysis::partial`], a write candidate.
/// 65,536 (24 bytes each, 1.5 MiB at most at once): 4,096 hid the table a 14 KB `UPDATE t
/// JOIN u ON u.id IN (0,...,2999), w SET ...` wrote (session 32's adversary T), and the
/// servers' query log limits are raised to 1 MiB and more where there are no TABLE events.
pub const MAX_TOKENS: usize = 1 << 16;

/// What a statement text means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The class; for multi-statement text, the class of the first part that writes (or of
    /// the first part when none does).
    pub class: StatementClass,
    /// Whether any part can change data, schema, privileges or durable server state (see
    /// [`class`]).
    pub writes: bool,
    /// The tables named (see [`tables`]), qualified with the current database.
    pub tables: Vec<Table>,
    /// Those of `tables` the statement may change (see [`written`]): the target of an
    /// `INSERT ... SELECT`, not the tables it reads; empty when it writes none.
    pub written: Vec<Table>,
    /// Whether sqlparser read the whole text; false means the tokens were used.
    pub parsed: bool,
    /// The meaning depends on the server's flavour or version: a versioned comment that may
    /// or may not have run changes `writes` or the tables (see [`lexer`]). Then `writes` is
    /// true when either reading writes (a write candidate: never hidden), the class is the
    /// writing reading's, and the tables of both readings are listed.
    pub version_dependent: bool,
    /// The tables depend on the session's quoting `sql_mode` or client character set, which
    /// the log does not hold (`ANSI_QUOTES`: `"t"` is a name; `NO_BACKSLASH_ESCAPES`: `'x\'`
    /// ends at its second quote; `MSSQL`: `[t]` is a name; `ORACLE`: `s.nextval` advances `s`;
    /// a `gbk`, `big5` or `sjis` client: `0xBF 0x5C` is one character, no backslash): a
    /// reading under such a mode names tables the default reading does not. They
    /// are listed (an ANSI session's write is never hidden), but in a default session they
    /// may be a string's text (`'x\'; DELETE FROM w; -- '` names `w`): a reader acting on
    /// `tables` checks this flag. When only another reading writes, `writes` is true (a
    /// write candidate, as for [`Analysis::version_dependent`]) and this flag says why.
    pub mode_dependent: bool,
    /// Only a part of the statement was read: a statement of more than [`MAX_TOKENS`]
    /// tokens was read up to there (bounded memory and time), or a list reached
    /// [`tables::MAX_TABLES`] names. A table named past that, or a write verb (`SELECT ...
    /// IN (0, ..., 32999) INTO OUTFILE '/tmp/f'`, session 32's adversary L), was not read:
    /// a cut statement is a write candidate (`writes` true), and a filter cannot prove
    /// that such a statement does not name a table, so `--table` keeps it. Also an
    /// `EXECUTE IMMEDIATE` of anything the `immediate` module cannot read (`@q`,
    /// `CONCAT(...)`): the text it runs is not in the log.
    pub partial: bool,
    /// The class of the statement an `EXECUTE IMMEDIATE` of the text runs, its string read
    /// (see the `immediate` module), while [`Analysis::class`] stays `call`: so `stats`
    /// lists `EXECUTE IMMEDIATE 'DROP USER evil'` with the DDL and DCL (session 35's
    /// adversary HIGH-1). With several (statements, or readings of the text), a DDL or DCL
    /// one, else the first; `None` when the text runs no string it holds.
    pub immediate_class: Option<StatementClass>,
}

/// The class [`Analysis::immediate_class`] keeps of two: a DDL or DCL one first.
fn either_immediate(
    first: Option<StatementClass>,
    other: Option<StatementClass>,
) -> Option<StatementClass> {
    let listed =
        |c: &Option<StatementClass>| matches!(c, Some(StatementClass::Ddl | StatementClass::Dcl));
    if listed(&first) || (!listed(&other) && first.is_some()) {
        first
    } else {
        other
    }
}

/// What is known where a statement ran: the current database (the event's `database`) and
/// the server that logged it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context<'a> {
    /// The session's database when the statement began, as the server spells it (bytes: a
    /// name that is not UTF-8 stays itself in the tables, [`Table::bytes`]); a `USE` in the
    /// text changes it for the statements after it.
    pub database: &'a [u8],
    /// What the log tells of the server (see [`lexer::Server`]).
    pub server: Server,
}

/// [`analyze_in`] with nothing known of the session or the server: names stay as written.
pub fn analyze(sql: &[u8]) -> Analysis {
    analyze_in(sql, &Context::default())
}

/// Analyses `sql` (the unescaped object of a QUERY event) as run in `ctx`: sqlparser's MySQL
/// dialect where the text parses into kinds it maps (reads, DML, DDL, DCL, transactions),
/// [`analyze_tokens_in`] otherwise (cut statements, versioned comments, wrappers and
/// compound statements, administration, syntax sqlparser does not know, texts over
/// [`MAX_PARSE_BYTES`]).
pub fn analyze_in(sql: &[u8], ctx: &Context<'_>) -> Analysis {
    analyze_nested(sql, ctx, false)
}

/// [`analyze_in`]; `nested`: `sql` is the text an `EXECUTE IMMEDIATE` runs (see
/// [`immediate`]), which is not read for another one.
fn analyze_nested(sql: &[u8], ctx: &Context<'_>, nested: bool) -> Analysis {
    let calls = sequence::mentions_one(sql);
    let runs = Runs::new(nested);
    with_full_lists(with_session_modes(
        analyze_default_modes(sql, ctx, calls, &runs),
        sql,
        ctx,
        calls,
        &runs,
    ))
}

/// The texts the `EXECUTE IMMEDIATE` statements of one text run (see [`immediate`]), each
/// read once whatever the number of readings of the text that hold it.
struct Runs {
    /// The text read is itself one an `EXECUTE IMMEDIATE` runs: another in it is not read.
    nested: bool,
    /// Each text read so far, by the database it runs in (none until one is: most texts
    /// run none, and pay no map).
    read: std::cell::Cell<Option<Box<Known>>>,
}

/// The analyses of the texts run so far, by (database, text).
type Known = BTreeMap<(Vec<u8>, Vec<u8>), Analysis>;

impl Runs {
    fn new(nested: bool) -> Self {
        Runs {
            nested,
            read: std::cell::Cell::new(None),
        }
    }

    /// The analysis of `text` run in `database` on `server` (read once).
    fn analysis(&self, text: Vec<u8>, database: &[u8], server: Server) -> Analysis {
        let mut read = self.read.take().unwrap_or_default();
        let key = (database.to_owned(), text);
        let analysis = match read.get(&key) {
            Some(known) => known.clone(),
            None => {
                let ctx = Context {
                    database,
                    // A versioned comment in a string is not rewritten when it does not run
                    // (see [`lexer`]): that the statement ran says nothing of it.
                    server: Server {
                        executed: false,
                        ..server
                    },
                };
                let analysis = analyze_nested(&key.1, &ctx, true);
                read.insert(key, analysis.clone());
                analysis
            }
        };
        self.read.set(Some(read));
        analysis
    }
}

/// `analysis`, [`Analysis::partial`] when a list of tables is full: a name past
/// [`tables::MAX_TABLES`] was not kept (a `UNION` of 70 `SELECT`s names 70 tables).
fn with_full_lists(mut analysis: Analysis) -> Analysis {
    let full = |list: &[Table]| list.len() >= tables::MAX_TABLES;
    analysis.partial |= full(&analysis.tables) || full(&analysis.written);
    analysis
}

/// [`analyze_in`] as a session with the default `sql_mode` quoting reads `sql`.
/// `calls`: whether `sql` may call a sequence function ([`sequence::mentions_one`]).
fn analyze_default_modes(sql: &[u8], ctx: &Context<'_>, calls: bool, runs: &Runs) -> Analysis {
    // sqlparser's tree of `SELECT ... INTO OUTFILE` is a plain select: the tokens tell.
    if class::may_export(sql) {
        return tokens_default_modes(sql, ctx, calls, runs);
    }
    let Some(statements) = parse(sql) else {
        return tokens_default_modes(sql, ctx, calls, runs);
    };
    if statements.iter().any(tables::misread_by_the_parser) {
        return tokens_default_modes(sql, ctx, calls, runs);
    }
    let verdicts: Option<Vec<Verdict>> = statements.iter().map(classify_ast).collect();
    let Some(verdicts) = verdicts else {
        return tokens_default_modes(sql, ctx, calls, runs);
    };
    let (class, writes) = combine(&verdicts);
    let mut tables = Vec::new();
    for name in tables::from_ast(&statements) {
        push_unique(&mut tables, qualify(ctx.database, name));
    }
    let mut written = Vec::new();
    for (statement, _) in statements.iter().zip(&verdicts).filter(|(_, v)| v.1) {
        let named = tables::from_ast(std::slice::from_ref(statement));
        let targets = written::written_by_tree(statement);
        written::add(targets, &named, |t| qualify(ctx.database, t), &mut written);
    }
    let parsed = Analysis {
        class,
        writes,
        tables,
        written,
        parsed: true,
        version_dependent: false,
        mode_dependent: false,
        partial: false,
        immediate_class: None,
    };
    with_sequences(parsed, sql, ctx, lexer::Modes::default(), calls)
}

/// [`analyze_tokens_in`] with nothing known of the session or the server.
pub fn analyze_tokens(sql: &[u8]) -> Analysis {
    analyze_tokens_in(sql, &Context::default())
}

/// The token reading alone: what [`analyze_in`] falls back to. Public so tests can hold it
/// against the parser's reading and the server's TABLE events. A text holding versioned
/// comments that may or may not have run is read both ways (see [`Analysis::version_dependent`]).
pub fn analyze_tokens_in(sql: &[u8], ctx: &Context<'_>) -> Analysis {
    let calls = sequence::mentions_one(sql);
    let runs = Runs::new(false);
    let default = tokens_default_modes(sql, ctx, calls, &runs);
    with_full_lists(with_session_modes(default, sql, ctx, calls, &runs))
}

fn tokens_default_modes(sql: &[u8], ctx: &Context<'_>, calls: bool, runs: &Runs) -> Analysis {
    with_sequences(
        read_both_ways(sql, ctx, lexer::Modes::default(), runs),
        sql,
        ctx,
        lexer::Modes::default(),
        calls,
    )
}

/// `analysis` with the tables of the token readings under `ANSI_QUOTES` (when `sql` holds a
/// `"`, or an `ORACLE` sequence call `s.nextval`), `NO_BACKSLASH_ESCAPES` (when it holds a
/// backslash before a quote, or any backslash and the word `IMMEDIATE`: the string an
/// `EXECUTE IMMEDIATE` runs is another text there), `MSSQL`'s `[t]` names (when it holds a `[`) and a `gbk`,
/// `big5` or `sjis` client (when a byte `>= 0x81` stands right before a `\`, or, under
/// `MSSQL`, a `[` or `]`):
/// the session's `sql_mode` and character set are not in the log, and under them `UPDATE t,
/// "w" SET ...` and `UPDATE t JOIN u ON u.b <> 'x\' , w SET ...` write `w` (review 31 advE,
/// recorded on MariaDB 10.11), as do `DELETE FROM [w]` and `SELECT s.nextval` (session 33
/// advS F1, F2). A stored procedure keeps the mode it was created in, so even its statements
/// logged in a default session may read so. Each mode is read alone as well as with the
/// others: an `ANSI` session keeps backslash escapes, and read with both, `'it\'s' , "w"` hid
/// `w` (session 32's adversary T). Each reading is gated on bytes `memchr` finds, so a text
/// without them is read once, and a quoting reading on one pass of the lexer that meets a
/// name it quotes ([`quotes_a_name`]: a `"` or `[` in a string changes nothing); there are at
/// most 17 readings, each linear. Like the readings
/// of a versioned comment, the tables of every reading are listed, so a write is never
/// hidden; what another reading writes is listed when the statement writes, and
/// [`Analysis::mode_dependent`] says so. A write of another reading only (its statements or
/// its sequence calls) makes `writes` true, flagged; the class stays the default reading's.
fn with_session_modes(
    mut analysis: Analysis,
    sql: &[u8],
    ctx: &Context<'_>,
    calls: bool,
    runs: &Runs,
) -> Analysis {
    // An `ORACLE` call holds a `val` that `calls`' search found already.
    let oracle = calls && sequence::may_call_oracle(sql);
    for modes in other_readings(sql, oracle) {
        // A quoting whose tokens are those of a reading without it is that reading.
        // (Under `ANSI_QUOTES`, `s.nextval` is a call whatever the tokens.)
        let calls_oracle = oracle && modes.ansi_quotes;
        if !(calls_oracle || quotes_a_name(sql, ctx.server, modes)) {
            continue;
        }
        // Versioned comments are read both ways here too (session 33 advS F6: under
        // `ANSI_QUOTES`, `UPDATE t /*M!100000 , "x */ , "w" SET ...` writes `w` on MySQL).
        let read = read_both_ways(sql, ctx, modes, runs);
        let other = with_sequences(read, sql, ctx, modes, calls);
        analysis.partial |= other.partial;
        analysis.immediate_class =
            either_immediate(analysis.immediate_class, other.immediate_class);
        // A write of another reading only is a write candidate, as a versioned comment's is
        // (session 32's adversary L: `SELECT NEXT VALUE FOR "s"` ran only in an ANSI session
        // and advanced `s`; `SELECT 'x\'; DELETE FROM w; -- '` deletes under
        // NO_BACKSLASH_ESCAPES): `--writes` keeps it, flagged.
        let mut news = false;
        if other.writes && !analysis.writes {
            analysis.writes = true;
            news = true;
        }
        let written = if analysis.writes {
            other.written
        } else {
            Vec::new()
        };
        for (list, found) in [
            (&mut analysis.tables, other.tables),
            (&mut analysis.written, written),
        ] {
            for t in found {
                if !list.contains(&t) {
                    news = true;
                    push_unique(list, t);
                }
            }
        }
        if news {
            analysis.mode_dependent = true;
            analysis.version_dependent |= other.version_dependent;
        }
    }
    analysis
}

/// The ways other than the default one a session could have cut `sql` into tokens, each
/// gated on the bytes that make it differ (see [`with_session_modes`]): none for most texts,
/// found without allocating.
fn other_readings(sql: &[u8], oracle: bool) -> impl Iterator<Item = lexer::Modes> {
    use lexer::Multibyte;
    // One pass over the trigger bytes (a text without them is read once, as before).
    let (mut quotes, mut brackets, mut backslash_quote, mut multibyte) =
        (false, false, false, false);
    let mut backslash = false;
    for i in memchr::memchr3_iter(b'"', b'[', b'\\', sql) {
        match sql.get(i) {
            Some(b'"') => quotes = true,
            Some(b'[') => brackets = true,
            _ => {
                backslash = true;
                backslash_quote |= matches!(sql.get(i + 1), Some(b'\'' | b'"'));
                // A lead byte right before a backslash (see `lexer::Modes::multibyte`).
                multibyte |= i
                    .checked_sub(1)
                    .and_then(|p| sql.get(p))
                    .is_some_and(|&b| b >= 0x81);
            }
        }
        if quotes && brackets && backslash_quote && multibyte {
            break;
        }
    }
    quotes = quotes || oracle;
    // A lead byte right before a `]`: an `MSSQL` name a two-byte character may run on past;
    // before a `[`: a word a two-byte character may take it into (session 35's adversary,
    // SEVERE-1: in a `gbk` session, `x<BF>[` is one word and opens no name).
    let bracket_lead = brackets
        && memchr::memchr2_iter(b'[', b']', sql).any(|i| {
            i.checked_sub(1)
                .and_then(|p| sql.get(p))
                .is_some_and(|&b| b >= 0x81)
        });
    // The string an `EXECUTE IMMEDIATE` runs holds another text under NO_BACKSLASH_ESCAPES
    // when it holds any backslash (`'DELETE FROM w\n'`), not only one before a quote.
    backslash_quote = backslash_quote || (backslash && immediate::mentions(sql));
    // 3 quotings (default, ANSI_QUOTES, MSSQL) x (backslash escapes with 4 client character
    // sets, or NO_BACKSLASH_ESCAPES: with 4 under MSSQL, for its names), less the default
    // reading: 17 at most.
    let mut readings = [lexer::Modes::default(); 18];
    let mut n = 0;
    if !(quotes || brackets || backslash_quote || multibyte) {
        return readings.into_iter().take(n);
    }
    for ansi_quotes in [false, true] {
        for brackets_too in [false, true] {
            // `MSSQL` sets `ANSI_QUOTES` with it.
            let on = match (ansi_quotes, brackets_too) {
                (false, true) => false,
                (true, true) => brackets,
                (true, false) => quotes,
                (false, false) => true,
            };
            if !on {
                continue;
            }
            for no_backslash_escapes in [false, true] {
                if no_backslash_escapes && !backslash_quote {
                    continue;
                }
                for kind in [
                    Multibyte::None,
                    Multibyte::Gbk,
                    Multibyte::Big5,
                    Multibyte::Sjis,
                ] {
                    // Under NO_BACKSLASH_ESCAPES the lead byte's `\` escapes nothing anyway;
                    // an `MSSQL` name's `]` it may still take.
                    let in_strings = multibyte && !no_backslash_escapes;
                    let in_names = brackets_too && bracket_lead;
                    if kind != Multibyte::None && !(in_strings || in_names) {
                        continue;
                    }
                    let modes = lexer::Modes {
                        ansi_quotes,
                        no_backslash_escapes,
                        brackets: brackets_too,
                        multibyte: kind,
                    };
                    if modes != lexer::Modes::default()
                        && let Some(slot) = readings.get_mut(n)
                    {
                        *slot = modes;
                        n += 1;
                    }
                }
            }
        }
    }
    readings.into_iter().take(n)
}

/// Whether the tokens of `sql` under `modes` differ from those under `modes` without
/// `ANSI_QUOTES` and `MSSQL` brackets, which another reading (or the default one) reads: they
/// do only from a name those quote (`"t"`, `[t]`), or under `MSSQL` with a two-byte client
/// character set from a word that holds a character's `[` (`x<BF>[`), for a lexer takes the
/// same steps until it meets one. Most texts holding `"` or `[` hold them in strings (JSON: `'{"a":[1]}'`), and
/// this one pass of the lexer (two with a versioned comment that may not run) spares their
/// whole reading. Always true for a reading without those modes.
fn quotes_a_name(sql: &[u8], server: Server, modes: lexer::Modes) -> bool {
    if !(modes.ansi_quotes || modes.brackets) {
        return true;
    }
    // Under `MSSQL` with a two-byte client character set a word may hold the `[` of a
    // character (see `lexer::Modes::multibyte`): its tokens differ from there too.
    let words_too = modes.brackets && modes.multibyte != lexer::Multibyte::None;
    let quoted = |t: Token<'_>| match t {
        Token::Ident(_, q) => q == b'"' || q == b']',
        Token::Word(w) => words_too && w.contains(&b'['),
        _ => false,
    };
    let mut code = Lexer::reading(sql, server, Reading::Code).with_modes(modes);
    if code.by_ref().any(quoted) {
        return true;
    }
    code.maybe_seen()
        && Lexer::reading(sql, server, Reading::Comment)
            .with_modes(modes)
            .any(quoted)
}

/// The sequences `sql` advances or sets ([`sequence`]): the statement writes, and they are
/// among its tables (a MariaDB sequence is a table); those it only reads are among its tables.
/// None unless `calls` ([`sequence::mentions_one`], searched once per text, not per reading).
fn with_sequences(
    mut analysis: Analysis,
    sql: &[u8],
    ctx: &Context<'_>,
    modes: lexer::Modes,
    calls: bool,
) -> Analysis {
    if !calls {
        return analysis;
    }
    let used = sequence::used(sql, ctx.server, modes);
    if used.cut {
        // A call past the tokens read may advance a sequence: a write candidate.
        analysis.writes = true;
        analysis.partial = true;
    }
    for name in used.advanced {
        analysis.writes = true;
        let name = qualify(ctx.database, name);
        push_unique(&mut analysis.written, name.clone());
        push_unique(&mut analysis.tables, name);
    }
    for name in used.read {
        push_unique(&mut analysis.tables, qualify(ctx.database, name));
    }
    analysis
}

/// The token reading under `modes`: as code, and also as comments when versioned comments
/// may not have run.
fn read_both_ways(sql: &[u8], ctx: &Context<'_>, modes: lexer::Modes, runs: &Runs) -> Analysis {
    let mut lexer = Lexer::reading(sql, ctx.server, Reading::Code).with_modes(modes);
    let mut code = read_tokens(&mut lexer, ctx, modes, runs);
    if !lexer.maybe_seen() {
        return code;
    }
    let comment = read_tokens(
        &mut Lexer::reading(sql, ctx.server, Reading::Comment).with_modes(modes),
        ctx,
        modes,
        runs,
    );
    let immediate_class = either_immediate(code.immediate_class, comment.immediate_class);
    // A class that differs alone (`/*M!100101 SET x=1 */`: session or nothing) is no news.
    if (code.writes, &code.tables) == (comment.writes, &comment.tables) {
        code.immediate_class = immediate_class;
        return code;
    }
    let (class, writes) = combine(&[code.verdict(), comment.verdict()]);
    let mut tables = code.tables;
    for t in comment.tables {
        push_unique(&mut tables, t);
    }
    let mut written = code.written;
    for t in comment.written {
        push_unique(&mut written, t);
    }
    Analysis {
        class,
        writes,
        tables,
        written,
        parsed: false,
        version_dependent: true,
        // What an `EXECUTE IMMEDIATE`'s text names in another mode (see [`read_tokens`]).
        mode_dependent: code.mode_dependent || comment.mode_dependent,
        partial: code.partial || comment.partial,
        immediate_class,
    }
}

/// One reading of the tokens: each statement's verdict from where it begins (see
/// [`statement`]), tables from the whole of it, the current database followed through `USE`.
fn read_tokens<'a>(
    tokens: &mut impl Iterator<Item = Token<'a>>,
    ctx: &Context<'_>,
    modes: lexer::Modes,
    runs: &Runs,
) -> Analysis {
    let (parts, cut) = statements(tokens);
    let mut partial = cut;
    let (mut version_dependent, mut mode_dependent) = (false, false);
    let mut immediate_class = None;
    let mut current = ctx.database.to_owned();
    let mut verdicts = Vec::with_capacity(parts.len());
    let mut tables = Vec::new();
    let mut written = Vec::new();
    for part in &parts {
        let (prefix, body) = part.split_at(statement::start(part).min(part.len()));
        let mut verdict = classify_tokens(body);
        // `EXECUTE IMMEDIATE 'stmt'`: what `stmt` does, in the current database (class `call`).
        match immediate::argument(body, modes) {
            None => {}
            // A text the log does not hold (`@q`, `CONCAT(...)`, a cut string), or one in
            // a text `EXECUTE IMMEDIATE` runs (the server refuses it: 1295): a write candidate
            // whose tables are not told.
            Some(immediate::Argument::Unknown) => partial = true,
            Some(immediate::Argument::Text(_)) if runs.nested => partial = true,
            Some(immediate::Argument::Text(text)) => {
                let run = runs.analysis(text, &current, ctx.server);
                verdict.1 = run.writes;
                immediate_class = either_immediate(immediate_class, Some(run.class));
                for t in run.tables {
                    push_unique(&mut tables, t);
                }
                for t in run.written {
                    push_unique(&mut written, t);
                }
                partial |= run.partial;
                version_dependent |= run.version_dependent;
                mode_dependent |= run.mode_dependent;
            }
        }
        let mut named = Vec::new();
        tables::from_tokens(prefix, StatementClass::Select, &mut named);
        tables::from_tokens(body, verdict.0, &mut named);
        if verdict.1 {
            let targets = written::written_by(body);
            written::add(targets, &named, |t| qualify(&current, t), &mut written);
        }
        partial |= named.len() >= tables::MAX_TABLES;
        for name in named {
            push_unique(&mut tables, qualify(&current, name));
        }
        if let Some(db) = used_database(body) {
            current = db;
        }
        // A compound's `END`, `DECLARE n INT`: no statement, no verdict.
        if !body.is_empty() {
            verdicts.push(verdict);
        }
    }
    let (class, writes) = combine(&verdicts);
    Analysis {
        class,
        // The unread rest of a cut statement may be `INTO OUTFILE` or a sequence call.
        writes: writes || cut,
        tables,
        written,
        parsed: false,
        version_dependent,
        mode_dependent,
        partial,
        immediate_class,
    }
}

impl Analysis {
    fn verdict(&self) -> Verdict {
        (self.class, self.writes)
    }
}

/// `name` in the current database when written without one.
fn qualify(database: &[u8], name: Table) -> Table {
    name.in_database(database)
}

/// The database a `USE db` statement switches to, as the server spells it.
fn used_database(statement: &[Token<'_>]) -> Option<Vec<u8>> {
    match statement {
        [u, Token::Word(db), ..] if u.is("USE") => Some(db.to_vec()),
        [u, Token::Ident(db, q), ..] if u.is("USE") => Some(tables::ident(db, *q).into_owned()),
        _ => None,
    }
}

/// The text's statements (split at `;` outside literals and comments), at most
/// [`MAX_TOKENS`] tokens each; empty statements are dropped. The flag says whether a
/// statement was cut there.
fn statements<'a>(tokens: &mut impl Iterator<Item = Token<'a>>) -> (Vec<Vec<Token<'a>>>, bool) {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    let mut cut = false;
    for t in tokens {
        if t == Token::Punct(b';') {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
        } else if current.len() < MAX_TOKENS {
            current.push(t);
        } else {
            cut = true;
        }
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    (parts, cut)
}

/// sqlparser's statements, when the whole text parses and is worth parsing.
fn parse(sql: &[u8]) -> Option<Vec<sqlparser::ast::Statement>> {
    let versioned =
        memchr::memmem::find(sql, b"/*!").is_some() || memchr::memmem::find(sql, b"/*M!").is_some();
    if sql.len() > MAX_PARSE_BYTES || versioned {
        return None;
    }
    let text = std::str::from_utf8(sql).ok()?;
    Parser::parse_sql(&MySqlDialect {}, text)
        .ok()
        .filter(|s| !s.is_empty())
}

fn combine(verdicts: &[Verdict]) -> Verdict {
    verdicts
        .iter()
        .find(|(_, writes)| *writes)
        .or_else(|| verdicts.first())
        .copied()
        .unwrap_or((StatementClass::Other, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lexer::{Modes, Multibyte};
    use proptest::prelude::*;

    /// Every way [`with_session_modes`] may read a text (`MSSQL` sets `ANSI_QUOTES` with it),
    /// the default one first.
    fn every_reading() -> Vec<Modes> {
        let mut all = Vec::new();
        for ansi_quotes in [false, true] {
            for brackets in [false, true] {
                for no_backslash_escapes in [false, true] {
                    for multibyte in [
                        Multibyte::None,
                        Multibyte::Gbk,
                        Multibyte::Big5,
                        Multibyte::Sjis,
                    ] {
                        if brackets && !ansi_quotes {
                            continue;
                        }
                        all.push(Modes {
                            ansi_quotes,
                            no_backslash_escapes,
                            brackets,
                            multibyte,
                        });
                    }
                }
            }
        }
        all
    }

    /// Pieces of texts that read differently in some mode: quotes of every kind, backslashes
    /// after lead bytes of each client character set (and after a lead that pairs with the
    /// byte before it), `ORACLE` sequence calls, versioned comments, names, writes.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let piece = proptest::sample::select(vec![
            &b"UPDATE t "[..],
            b"DELETE FROM ",
            b"INSERT INTO ",
            b"SELECT ",
            b" SET w.a=1",
            b" , w ",
            b" JOIN u ON u.b <> ",
            b"w",
            b"s",
            b"db.",
            b".nextval",
            b".CURRVAL",
            b"NEXTVAL(",
            b"NEXT VALUE FOR ",
            b")",
            b"'",
            b"\"",
            b"\"\"",
            b"`",
            b"[",
            b"]",
            b"]]",
            b"\\",
            b"\xbf",
            b"\x81",
            b"\xa4",
            b"\xb0",
            b"\xe4\xb8\xad",
            // Whole strings, so that the rare orders come up: an escaped quote, then a
            // backslash after a lead byte (where the two-byte reading alone differs).
            b"'it\\'s'",
            b"'\xbf\\'",
            b"'\x81\\'",
            b"'\xa4\\'",
            b"'\xb0\x81\\'",
            b"'\xbf\xbf\\'",
            b"\"x\\\"",
            b"\"w\"",
            b"[w]",
            b"[\xbf]",
            b"[w\x81]",
            // A lead byte before a `[`, and one that pairs with the byte before it instead.
            b" AS x\xbf[",
            b"\x81[",
            b"\xa4[",
            b"\xb0\xbf[",
            // A versioned comment that hides a quote from one of its two readings.
            b"/*M!100000 '*/",
            b"/*!50000 \"*/",
            b" -- ",
            b"\n",
            b"/*M!100000 ",
            b"/*!50000 ",
            b"*/",
            b";",
            b" ",
            // A statement that runs a string's text (see `immediate`).
            b"EXECUTE IMMEDIATE ",
            b" USING ",
        ]);
        proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    fn subset(part: &[Table], whole: &[Table]) -> bool {
        part.iter().all(|t| whole.contains(t))
    }

    /// A text with every trigger is read the 17 other ways, each once: none is dropped for
    /// want of room in `other_readings`' array.
    #[test]
    fn every_trigger_gives_every_other_reading() {
        let all: Vec<Modes> = other_readings(
            b"SELECT \"a\", [b], [\xbf], 'c\\'', '\xbf\\', s.nextval",
            true,
        )
        .collect();
        let others: Vec<Modes> = every_reading()
            .into_iter()
            .filter(|m| *m != Modes::default())
            .filter(|m| !(m.no_backslash_escapes && m.multibyte != Multibyte::None && !m.brackets))
            .collect();
        assert_eq!(all.len(), 17);
        assert_eq!(all.len(), others.len());
        assert!(others.iter().all(|m| all.contains(m)), "{all:?}");
        // A lead byte before a `[` alone opens the `MSSQL` readings' two-byte ones (session
        // 35's adversary, SEVERE-1), with NO_BACKSLASH_ESCAPES too where that is read.
        for (sql, n) in [
            (&b"UPDATE [q\"] AS x\xbf[, w SET w.a = 7 -- \"]"[..], 4),
            (b"UPDATE [q] AS x\xbf[, w SET w.b = 'c\\'' -- ]", 8),
        ] {
            let brackets: Vec<Modes> = other_readings(sql, false).filter(|m| m.brackets).collect();
            assert_eq!(brackets.len(), n, "{brackets:?}");
            for multibyte in [Multibyte::Gbk, Multibyte::Big5, Multibyte::Sjis] {
                assert!(
                    brackets.iter().any(|m| m.multibyte == multibyte),
                    "{brackets:?}"
                );
            }
        }
        assert_eq!(
            other_readings(b"SELECT a FROM t WHERE b = 'c'", false).count(),
            0
        );
    }

    proptest! {
        /// The readings of another session mode or client character set only add: every
        /// table and written table of each reading, the default one's included, is listed;
        /// a write of any reading makes `writes` true; the class is the default reading's;
        /// and when nothing is flagged, the tables are the default reading's. Each reading
        /// is gated on bytes found with `memchr`: a gate that skipped a reading which names
        /// more would fail here.
        #[test]
        fn another_reading_only_adds(sql in text(), db in proptest::sample::select(vec!["", "d"])) {
            let ctx = Context { database: db.as_bytes(), server: Server::default() };
            let shown = String::from_utf8_lossy(&sql).into_owned();
            let tokens = analyze_tokens_in(&sql, &ctx);
            let calls = sequence::mentions_one(&sql);
            let runs = Runs::new(false);
            let default = tokens_default_modes(&sql, &ctx, calls, &runs);
            prop_assert_eq!(tokens.class, default.class, "{}", shown);
            prop_assert!(!default.writes || tokens.writes, "{}", shown);
            prop_assert!(subset(&default.written, &tokens.written), "{}", shown);
            if !tokens.mode_dependent {
                prop_assert_eq!(&tokens.tables, &default.tables, "{}", shown);
                prop_assert_eq!(tokens.writes, default.writes, "{}", shown);
            }
            // sqlparser's reading, where it parses, gets the same readings on top.
            let parsed = analyze_in(&sql, &ctx);
            let parsed_default = analyze_default_modes(&sql, &ctx, calls, &runs);
            prop_assert!(subset(&parsed_default.tables, &parsed.tables), "{}", shown);
            prop_assert!(subset(&parsed_default.written, &parsed.written), "{}", shown);
            prop_assert!(!parsed_default.writes || parsed.writes, "{}", shown);
            for modes in every_reading() {
                // Read whole, past the gates: a gate that misses a call fails here too.
                let read = with_sequences(read_both_ways(&sql, &ctx, modes, &runs), &sql, &ctx, modes, true);
                // sqlparser's tree stands for the default reading: a reading that reads as
                // the default token reading does is held against the token analysis only.
                let same = (&read.tables, &read.written, read.writes)
                    == (&default.tables, &default.written, default.writes);
                let wholes = if same {
                    vec![&tokens]
                } else {
                    vec![&tokens, &parsed]
                };
                for whole in wholes {
                    prop_assert!(
                        subset(&read.tables, &whole.tables),
                        "{:?} {}: {:?} {:?}", modes, shown, read, whole
                    );
                    prop_assert!(!read.writes || whole.writes, "{:?} {}", modes, shown);
                    if whole.writes {
                        prop_assert!(
                            subset(&read.written, &whole.written),
                            "{:?} {}: {:?} {:?}", modes, shown, read, whole
                        );
                    }
                }
            }
            prop_assert_eq!(parsed.class, parsed_default.class, "{}", shown);
        }
    }

    /// `s` as a string literal of `EXECUTE IMMEDIATE` that reads back as `s`: `quote` is `'`
    /// or `"`; `doubled` writes a quote in `s` twice, else with a backslash; `backslashes`
    /// writes a backslash as `\\` (the default modes), else as itself (as a
    /// `NO_BACKSLASH_ESCAPES` session writes it, its quotes doubled then); `split` cuts the
    /// literal in two adjacent ones at that byte (the server joins them).
    fn literal(s: &[u8], quote: u8, doubled: bool, backslashes: bool, split: usize) -> Vec<u8> {
        let doubled = doubled || !backslashes;
        let mut out = vec![quote];
        for (i, &b) in s.iter().enumerate() {
            if i == split {
                out.extend_from_slice(&[quote, b' ', quote]);
            }
            if b == quote {
                out.push(if doubled { quote } else { b'\\' });
            } else if b == b'\\' && backslashes {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(quote);
        out
    }

    #[test]
    fn the_recorded_statements_name_their_text_s_tables() {
        let ctx = Context {
            database: b"shop",
            server: Server {
                executed: true,
                mysql_only: false,
            },
        };
        let names = |a: &Analysis| a.tables.iter().map(ToString::to_string).collect::<Vec<_>>();
        for (sql, tables, writes) in [
            (
                &br"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = 1'"[..],
                &["shop.w"][..],
                true,
            ),
            (
                br"EXECUTE IMMEDIATE 'UPDATE shop2.x SET a = 1'",
                &["shop2.x"],
                true,
            ),
            (
                br"EXECUTE IMMEDIATE 'INSERT INTO w VALUES (?)' USING 5",
                &["shop.w"],
                true,
            ),
            (br"EXECUTE IMMEDIATE 'SELECT * FROM v'", &["shop.v"], false),
            (
                br#"EXECUTE IMMEDIATE "DELETE FROM w WHERE a = 'x'""#,
                &["shop.w"],
                true,
            ),
            (
                br"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = \'x\' OR a = 7'",
                &["shop.w"],
                true,
            ),
            (
                br"EXECUTE   IMMEDIATE  'DELETE FROM `v` WHERE a = 8'",
                &["shop.v"],
                true,
            ),
            (br"EXECUTE IMMEDIATE 'DELETE FROM ' 'v'", &["shop.v"], true),
            (
                br"USE shop2; EXECUTE IMMEDIATE 'DELETE FROM x'",
                &["shop2.x"],
                true,
            ),
            (
                br"SET STATEMENT max_statement_time=1 FOR EXECUTE IMMEDIATE 'DELETE FROM w'",
                &["shop.w"],
                true,
            ),
            (
                br"BEGIN NOT ATOMIC EXECUTE IMMEDIATE 'DELETE FROM w'; END",
                &["shop.w"],
                true,
            ),
            // Session 35's adversary 2 (each ran on MariaDB 10.11.14).
            (br"EXECUTE IMMEDIATE ('DELETE FROM w')", &["shop.w"], true),
            (
                br"EXECUTE IMMEDIATE _utf8'DELETE FROM w'",
                &["shop.w"],
                true,
            ),
            (
                br"EXECUTE IMMEDIATE x'44454c4554452046524f4d2077'",
                &["shop.w"],
                true,
            ),
        ] {
            let shown = String::from_utf8_lossy(sql);
            let a = analyze_in(sql, &ctx);
            assert_eq!(names(&a), tables, "{shown}: {a:?}");
            assert_eq!(a.class, StatementClass::Call, "{shown}");
            assert_eq!(a.writes, writes, "{shown}");
            let written: &[&str] = if writes { tables } else { &[] };
            assert_eq!(
                a.written
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                written,
                "{shown}"
            );
            assert!(!a.mode_dependent && !a.version_dependent, "{shown}: {a:?}");
        }
        // What the text runs is not told: a write candidate, partial. (A double-quoted string
        // is a name in an ANSI_QUOTES session: a procedure variable's text.)
        for sql in [
            &b"EXECUTE IMMEDIATE @q"[..],
            b"EXECUTE IMMEDIATE CONCAT('DELETE FROM ', 'v')",
            b"EXECUTE IMMEDIATE _utf16'DELETE FROM w'",
            b"EXECUTE IMMEDIATE x'44454c4554452046524f4d20c3a9'",
            b"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = 1 AND b = ''cut by the query log l",
            b"EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE ''DELETE FROM w WHERE a = 9'''",
            b"EXECUTE IMMEDIATE \"DELETE FROM w WHERE a = 'x'\"",
        ] {
            let a = analyze_in(sql, &ctx);
            let shown = String::from_utf8_lossy(sql);
            assert!(a.partial && a.writes, "{shown}: {a:?}");
            assert_eq!(a.class, StatementClass::Call, "{shown}");
        }
        // A versioned comment in the string is not rewritten by the server when it does not
        // run: both readings.
        let a = analyze_in(b"EXECUTE IMMEDIATE 'SELECT 1 FROM t /*!99999 , w */'", &ctx);
        assert!(a.version_dependent, "{a:?}");
        assert!(a.tables.iter().any(|t| *t == "shop.w"), "{a:?}");
        // A backslash before no quote: in a NO_BACKSLASH_ESCAPES session, `\t` is two bytes,
        // not a tab that makes `--` a comment, and the string runs `UPDATE t JOIN u ON u.a =
        // 1 --\t, w SET w.a = 1`, which names `w`; read with escapes, `w` is in a comment.
        let a = analyze_in(
            br"EXECUTE IMMEDIATE 'UPDATE t JOIN u ON u.a = 1 --\t, w SET w.a = 1'",
            &ctx,
        );
        assert!(a.tables.iter().any(|t| *t == "shop.w"), "{a:?}");
        assert!(a.written.iter().any(|t| *t == "shop.w"), "{a:?}");
        assert!(a.mode_dependent, "{a:?}");
    }

    proptest! {
        /// `EXECUTE IMMEDIATE '<S>'` names what `S` names, however the literal is written:
        /// where its only reading is the default one (no backslash), exactly what `S` does
        /// when run so (an `EXECUTE IMMEDIATE` in `S` is not read again, and flagged); else
        /// every table `S` names is among its tables (another session's reading of the
        /// literal may add more, flagged), or it is partial.
        #[test]
        fn execute_immediate_names_what_its_text_names(
            s in text(),
            db in proptest::sample::select(vec!["", "d"]),
            quote in proptest::sample::select(vec![b'\'', b'"']),
            doubled in any::<bool>(),
            backslashes in any::<bool>(),
            split in 0usize..40,
        ) {
            let ctx = Context { database: db.as_bytes(), server: Server::default() };
            let mut sql = b"EXECUTE IMMEDIATE ".to_vec();
            let literal = literal(&s, quote, doubled, backslashes, split);
            sql.extend(&literal);
            let shown = String::from_utf8_lossy(&sql).into_owned();
            let plain = analyze_in(&s, &ctx);
            let run = analyze_nested(&s, &ctx, true);
            // Not reading `S`'s own `EXECUTE IMMEDIATE` loses nothing unflagged.
            prop_assert!(run.partial || run == plain, "{}: {:?} {:?}", shown, plain, run);
            let wrapped = analyze_in(&sql, &ctx);
            let tokens = analyze_tokens_in(&sql, &ctx);
            prop_assert_eq!(&wrapped, &tokens, "{}", shown);
            // (Written for a NO_BACKSLASH_ESCAPES session, `'x\'';DELETE ...'` is two
            // statements in a default one, whose class is the default reading's.)
            if backslashes {
                prop_assert_eq!(wrapped.class, StatementClass::Call, "{}", shown);
            }
            prop_assert!(
                wrapped.partial || subset(&plain.tables, &wrapped.tables),
                "{}: {:?} {:?}", shown, plain, wrapped
            );
            prop_assert!(!plain.writes || wrapped.writes, "{}", shown);
            prop_assert!(
                wrapped.partial || subset(&plain.written, &wrapped.written),
                "{}: {:?} {:?}", shown, plain, wrapped
            );
            if !literal.contains(&b'\\') && quote == b'\'' {
                prop_assert_eq!(&wrapped.tables, &run.tables, "{}", shown);
                prop_assert_eq!(&wrapped.written, &run.written, "{}", shown);
                prop_assert_eq!(wrapped.writes, run.writes, "{}", shown);
                prop_assert_eq!(wrapped.partial, run.partial, "{}", shown);
                prop_assert_eq!(wrapped.mode_dependent, run.mode_dependent, "{}", shown);
                prop_assert_eq!(wrapped.version_dependent, run.version_dependent, "{}", shown);
            }
        }
    }
}
