//! SQL: each QUERY event's statement on one line, ending in `;`, for reading a session or
//! replaying it with the `mysql` client. Other operations are not written.
//!
//! A statement is put on one line without changing what it means to MySQL (default
//! `sql_mode`; with `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES` strings are read differently):
//! line breaks between tokens become spaces, line breaks inside a string literal become the
//! `\n` / `\r` escapes (the same value), and a `-- ` or `#` comment, which would otherwise run
//! to the end of the line and swallow the rest of the statement (`DELETE FROM t -- note` +
//! newline + `WHERE id<10` flattened is an unscoped DELETE), becomes a `/* */` comment
//! (dropped inside a `/*! */` executable comment, which cannot hold one). In every comment's
//! text a `*/` is broken up as `* /` and a `/*` as `/ *`: the client reads a `/*!` inside a
//! comment as code and skips the next `*/`, so the comment would run on over the statements
//! after it. An optimizer hint (`/*+ */`), code to the `mysql` client and a comment to
//! MariaDB's, keeps its opener only when it holds nothing but names, numbers and `(),=.@+`.
//! A NUL byte in a string is written `\0` (the client refuses a line holding a NUL, and
//! every line after it). A statement that cannot be written so, because it ends inside a string, a
//! quoted identifier or a comment (what a statement cut at `server_audit_query_log_limit`
//! looks like: its `;` would fall inside the string and the next statement would join it),
//! has a line break inside a back-quoted identifier, or has a backslash outside strings and
//! comments other than `\N` (the client runs `\! <command>` in a shell, even inside a
//! `/*!99999 ... */` the server skips), holds a NUL outside a string, a `/* */` comment inside
//! a `/*! */` one, or is not UTF-8 (its bytes would change; NDJSON's `object_base64` keeps
//! them), is written as a `-- rdsaudit:` comment line that says why, with its text (line
//! breaks as `\n`, NUL as `\0`): read, never run.
//!
//! The `mysql` / `mariadb` client ends a statement at every `;` outside strings, quoted
//! identifiers and comments, so a statement holding one before more code (a compound
//! statement: `BEGIN NOT ATOMIC ... END`, the body of `CREATE PROCEDURE`, `FUNCTION`,
//! `TRIGGER`, `EVENT`) is written between `DELIMITER <d>` and `DELIMITER ;` lines and ends
//! with ` <d>`: the client's own mechanism, so it sends the statement whole. `<d>` is a run of
//! `$` or `/` that does not occur in the statement (`$$` mostly); a statement holding every
//! such run the client accepts (15 bytes at most) is a comment instead.
//!
//! A statement whose text reaches the plugin's `server_audit_query_log_limit` (1024 bytes by
//! default; the same test as `--enrich`'s `truncated`) may have been cut anywhere, between
//! tokens too (`DELETE ... FROM orders` without its `WHERE`): it is a `-- rdsaudit: not run,
//! may be cut at the audit log limit (1024 bytes):` comment, and no `USE` is written for it.
//! `LOAD DATA|XML ... LOCAL INFILE` read a file on the client that ran it; replayed, the
//! replaying client would send its own file at that path: a `-- rdsaudit: not run, LOAD ...
//! LOCAL` comment. A statement holding a `?` placeholder outside strings and comments is a
//! prepared statement logged without its parameters (binary protocol, `EXECUTE ... USING`):
//! it cannot be replayed and is a `-- rdsaudit: not run, a prepared statement` comment. These
//! statements, writes among them, are listed, not replayed.
//!
//! A statement the decoder flags as ambiguous (a raw name lets its line be read more than
//! one way, so this reading may be forged: docs/HOSTILE.md rule 3) is written as a
//! `-- rdsaudit: not run, ambiguous (<N> readings, <M> unlisted):` comment line with its text
//! (line breaks as `\n`), and no `USE` is written for its database: the output never runs
//! what a name may have forged. NDJSON lists the other readings.
//!
//! A statement whose database name is not valid UTF-8 (the server writes names raw) is a
//! `-- rdsaudit: not run, its database name is not valid UTF-8 ...:` comment line, and no
//! `USE` is written for it: written as text, the name's bytes would change and the `USE`
//! would select another database (NDJSON's `database_base64` keeps them). So is a statement
//! whose database name holds a line break or a NUL: its `USE` cannot be written on one line,
//! and run in the database before it the statement would change another database's rows.
//!
//! A statement a server thread ran (its client host is empty: the event scheduler, which
//! logs an event's statements with database `mysql` though they run in the event's schema)
//! is a `-- rdsaudit: not run, a server thread's statement ...:` comment, with no `USE`.
//!
//! A statement the server refused (its return code is not 0: a syntax error, a missing
//! table, a denied privilege) did not run, so it is not written as one: it is a
//! `-- rdsaudit: not run, the server returned error <code>:` comment line with its text (line
//! breaks as `\n`).
//!
//! Each statement runs in the database its session was in: a statement in another database
//! than the one before is preceded by `USE \`db\`;` (the name back-quoted, a back quote
//! doubled; a name holding a line break cannot be written on one line and is a comment
//! instead). Sessions interleave in the log, so the output is what one session replaying them
//! in order needs; a statement run with no database selected after one that had one gets a
//! `-- rdsaudit: no database selected` note (`USE` cannot unselect one). The `USE` or the
//! note comes right before the statement, after the comment lines of the statements before
//! it that select no database, also when the output is written in pieces ([`Joiner`]): it
//! does not depend on where the input was cut (a pipe's reads).
//!
//! The output is one session running every connection's statements in log order, so a
//! replay matches what the server did only for statements of one connection, or ones that
//! do not depend on session state: replayed, one connection's `BEGIN` ... `ROLLBACK` also
//! undoes another's autocommitted statements between them, and its `SET autocommit=0`,
//! `SET FOREIGN_KEY_CHECKS=0`, `sql_mode`, user variables and temporary tables apply to the
//! others' statements after them. MariaDB also logs the statements a stored routine runs,
//! before the `CALL` that ran them (the `CALL` carries the last one's query id): both are
//! written, so a replay runs such a body twice. Not yet told apart here (review 8, F19).
//!
//! A statement that came through CloudWatch Logs ends with `-- event_id=<id>` after its `;`,
//! so a file of statements delivered twice (Kinesis delivers at least once) can be
//! de-duplicated line by line, in order, keeping every line without an id (`USE`, notes):
//! `awk '!/ -- event_id=/ || !seen[$0]++'`. (`awk '!seen[$0]++'` would drop a repeated `USE`
//! and run the statements after it in another database; `sort -u` reorders them.)
//!
//! Statements are put on one line as the default `sql_mode` and a UTF-8 client read them. A
//! session's `SET` of `sql_mode` to a mode that changes how text is split (`ANSI_QUOTES`,
//! `NO_BACKSLASH_ESCAPES`, the modes holding them), or of its character set to one whose
//! characters may end in `\` (`gbk`, `big5`, `sjis`), made the server read its later
//! statements otherwise: flattened and replayed, a line break could become a comment's end
//! (session 29's review: a `DELETE ... LIMIT 0` replayed as a `DELETE` of every row). What a
//! `SET` sets is not evaluated (`4`, `0x41...`, `'AN' 'SI_QUOTES'` all set `ANSI_QUOTES`): any
//! `SET`, `SET STATEMENT`, `EXECUTE`, `PREPARE` or compound statement that names `sql_mode` or
//! a character set, but a plain `SET` to a quoted list of other modes or to UTF-8 or a
//! single-byte set, is a `-- rdsaudit: not run` comment, and every line after it too
//! (`sql/session.rs`). So is a statement that may be cut at the log limit before what it sets
//! (`SET @pad='<1100 bytes>', sql_mode='ANSI_QUOTES'` is logged as `SET @pad='ppp...`): any
//! at the limit that does not start as a statement on rows. And a line flagged ambiguous
//! whose other readings hold such a statement (or, when some are unlisted, whose text names
//! `sql_mode` or a character set) gets the same comment, with its whole record, before its own
//! line. [`changes_reading`] says which events these are: a caller that filters events in
//! front of the writer must let them through (the CLI's filter does for `--format sql`), and
//! one that orders them must put them before the statements of their time (`--merge` does).
//! Not in the log, so not seen here: a mode set in the parameter group or stored with a
//! routine, a character set chosen in the client's handshake: replay only logs of trusted
//! sessions.
//!
//! The output is UTF-8: replay it with a client whose character set reads UTF-8
//! (`mariadb --default-character-set=utf8mb4`). A client set to a multi-byte character set
//! whose second bytes include `\` (`gbk`, `big5`, `sjis`, `cp932`) reads a string's last
//! UTF-8 byte and the backslash after it as one character, so the string ends elsewhere.
//!
//! ```
//! use rdsaudit::sink::sql::SqlWriter;
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,app,10.0.0.5,4,149869,QUERY,shop,'DELETE FROM t -- old rows\nWHERE id<10',0,,")?;
//! let failed = rdsaudit::parse_line(br"20240323 13:36:10,ip-172-17-4-137,app,10.0.0.5,4,149870,QUERY,shop,'DROP TABLE orders',1142,,")?;
//! let mut out = Vec::new();
//! let mut writer = SqlWriter::new();
//! assert!(writer.write(&event, &mut out));
//! assert!(writer.write(&failed, &mut out));
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "USE `shop`;\n\
//!      DELETE FROM t /* old rows */ WHERE id<10;\n\
//!      -- rdsaudit: not run, the server returned error 1142: DROP TABLE orders\n"
//! );
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

mod session;
mod shape;

use crate::audit::event::{AuditEvent, DEFAULT_QUERY_LOG_LIMIT, Operation};
use session::Taint;
use shape::{Shape, Walk};

/// Writes QUERY events as SQL (see the module docs), keeping track of the database.
#[derive(Debug, Clone)]
pub struct SqlWriter {
    /// The database the last statement ran in (`None`: nothing written yet).
    database: Option<Vec<u8>>,
    /// The database of the first statement written, and where its lines start in `out`
    /// (`out`'s length then): a piece's `USE` goes there ([`Joiner`]), after the comment
    /// lines of statements that select no database (`unreliable`).
    first: Option<(Vec<u8>, usize)>,
    /// Whether the first statement gets its `USE` here (else the caller writes it).
    lead: bool,
    /// The server's `server_audit_query_log_limit`: a statement reaching it may be cut.
    query_log_limit: usize,
    /// A whole output's: whether a `SET` changed how statements are read ([`Taint`]; a
    /// piece's is the [`Joiner`]'s).
    taint: Taint,
    /// Whether a statement written since the start (or [`SqlWriter::reset`]) may change how
    /// the statements after it are read ([`changes_reading`]).
    changed_reading: bool,
}

impl Default for SqlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl SqlWriter {
    /// A writer for a whole output: its first statement is preceded by its `USE`.
    #[must_use]
    pub fn new() -> Self {
        SqlWriter {
            database: None,
            first: None,
            lead: true,
            query_log_limit: DEFAULT_QUERY_LOG_LIMIT,
            taint: Taint::default(),
            changed_reading: false,
        }
    }

    /// The server's `server_audit_query_log_limit` (default [`DEFAULT_QUERY_LOG_LIMIT`]): a
    /// statement reaching it is written as a `-- rdsaudit: not run, may be cut` comment.
    pub fn set_query_log_limit(&mut self, limit: usize) {
        self.query_log_limit = limit;
    }

    /// A writer for a piece of an output whose place is not known yet (written in parallel):
    /// the `USE` its first statement needs is left to the caller, who knows the database of
    /// the piece before: a [`Joiner`] writes it.
    #[must_use]
    pub fn piece() -> Self {
        SqlWriter {
            lead: false,
            ..Self::new()
        }
    }

    /// Starts again, as a new writer of the same kind.
    pub fn reset(&mut self) {
        self.database = None;
        self.first = None;
        self.taint = Taint::default();
        self.changed_reading = false;
    }

    /// Whether a statement written since the start (or [`SqlWriter::reset`]) may change how
    /// the statements after it are read: its comment line makes every line after it a
    /// comment, so whoever orders statements (`--merge`) puts it before the others of its
    /// time.
    #[must_use]
    pub fn changed_reading(&self) -> bool {
        self.changed_reading
    }

    /// The database of the first statement written since the start, if any.
    #[must_use]
    pub fn first_database(&self) -> Option<&[u8]> {
        self.first.as_ref().map(|(database, _)| database.as_slice())
    }

    /// The database of the last statement written, if any.
    #[must_use]
    pub fn database(&self) -> Option<&[u8]> {
        self.database.as_deref()
    }

    /// Appends a QUERY's statement and `;\n` to `out`, after a `USE` when its database is
    /// not the last one's (see the module docs). Returns whether anything was written.
    pub fn write(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let written = self.write_lines(e, out);
        if written && self.lead {
            // A whole output: from a `SET` that changes how statements are read on, its lines
            // are comments (a piece's are made so by the `Joiner`, which sees them in order).
            let lines = out.split_off(start);
            // Writing to a `Vec` cannot fail.
            let _ = self.taint.filter(&lines, out);
        }
        written
    }

    /// [`SqlWriter::write`], but for the session's `SET`s.
    fn write_lines(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
        let text = (e.operation == Operation::Query).then(|| e.object.unescaped());
        let statement = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
        if let Some(why) = own_change(e, statement, self.query_log_limit) {
            // Never run; its note makes every line after it a comment ([`Taint`]), also when
            // the statement would be a comment for another reason (not UTF-8, cut, forged).
            comment_line(&why, statement, out);
            end_line(e, out);
            self.changed_reading = true;
            return true;
        }
        // Another reading of a flagged line may be what the server ran: its note, with the
        // whole record, before the event's own line (the taint needs no more than the note).
        let other = other_reading_changes(e, self.query_log_limit);
        if other {
            let why = format!(
                "{}, in a reading of this ambiguous line ({} readings, {} unlisted)",
                session::THE_SET_WHY,
                e.ambiguity.readings(),
                e.ambiguity.omitted()
            );
            comment_line(&why, e.ambiguity.record().trim_ascii_end(), out);
            end_line(e, out);
            self.changed_reading = true;
        }
        if statement.is_empty() {
            return other;
        }
        if let Some(why) = unreliable(e, self.query_log_limit) {
            // A raw name may have forged this reading (docs/HOSTILE.md rule 3), or the text
            // may be cut: neither the statement nor its database is written as SQL, and the
            // session's database is left as it was.
            comment_line(&why, statement, out);
            end_line(e, out);
            return true;
        }
        let database = e.database.as_bytes();
        if self.first.is_none() {
            self.first = Some((database.to_vec(), out.len()));
        }
        match &self.database {
            None if self.lead => switch_database(None, database, out),
            None => {}
            Some(before) => switch_database(Some(before), database, out),
        }
        if self.database.as_deref() != Some(database) {
            self.database = Some(database.to_vec());
        }
        let delimited = match e.retcode {
            Some(code) if code != 0 => {
                let why = format!("not run, the server returned error {code}");
                comment_line(&why, statement, out);
                false
            }
            _ => statement_line(e, statement, out),
        };
        end_line(e, out);
        if delimited {
            out.extend_from_slice(b"DELIMITER ;");
            end_line(e, out);
        }
        true
    }
}

/// Joins the pieces of one output written apart by [`SqlWriter::piece`] writers, in their
/// order: each piece's first statement gets the `USE` (or the note) it needs after the pieces
/// before, right before it, where one [`SqlWriter::new`] writing the whole would have put it.
/// A piece may start with comment lines of statements that select no database (ambiguous or
/// cut ones): the `USE` goes after them, so the output does not depend on where the pieces
/// were cut (a pipe's reads cut them where its writer paused). A piece may be one statement
/// ([`Joiner::statement`]): statements put in another order (`--merge`'s, by time) are joined
/// by the same rule.
#[derive(Debug, Clone, Default)]
pub struct Joiner {
    /// The database the last statement joined ran in (`None`: none yet).
    database: Option<Vec<u8>>,
    /// Scratch for the `USE` line.
    lead: Vec<u8>,
    /// Whether a `SET` joined changed how statements are read ([`Taint`]).
    taint: Taint,
}

impl Joiner {
    /// Writes `bytes`, what `piece` wrote since its start (or [`SqlWriter::reset`]), to `out`,
    /// with the `USE` its first statement needs.
    ///
    /// # Errors
    /// Those of `out`.
    pub fn join<W: std::io::Write + ?Sized>(
        &mut self,
        piece: &SqlWriter,
        bytes: &[u8],
        out: &mut W,
    ) -> std::io::Result<()> {
        let (Some((first, at)), Some(last)) = (&piece.first, &piece.database) else {
            return self.taint.filter(bytes, out);
        };
        self.place(first, *at, last, bytes, out)
    }

    /// Writes `bytes`, one statement a [`SqlWriter::piece`] wrote right after its start (or
    /// [`SqlWriter::reset`]), to `out`, with the `USE` it needs: `database` is that writer's
    /// [`SqlWriter::first_database`] then (`None`: it wrote a comment that selects none, or
    /// nothing). What [`Joiner::join`] does with a piece of that one statement, for a caller
    /// that keeps the statement's database rather than its writer (`--merge` holds thousands
    /// of statements of each input to order them by time).
    ///
    /// # Errors
    /// Those of `out`.
    pub fn statement<W: std::io::Write + ?Sized>(
        &mut self,
        database: Option<&[u8]>,
        bytes: &[u8],
        out: &mut W,
    ) -> std::io::Result<()> {
        let Some(database) = database else {
            return self.taint.filter(bytes, out);
        };
        self.place(database, 0, database, bytes, out)
    }

    /// [`Joiner::join`] for a piece handed over in blocks of whole lines, in order (`parse`
    /// keeps a long piece's output past 8 MiB in a temporary file until its turn: session
    /// 32's adversary M, 117 MB for a 335 KB event of 18,000 3 KB `INSERT`s): `skipped`
    /// bytes of the piece were taken away before its writer's first statement, whose place
    /// it counts from the bytes kept then. Give it each block ([`Joining::lines`]) and end it
    /// ([`Joining::end`]).
    pub fn joining<'a>(&'a mut self, piece: &'a SqlWriter, skipped: usize) -> Joining<'a> {
        let first = match (&piece.first, &piece.database) {
            (Some((first, at)), Some(last)) => Some((
                first.as_slice(),
                skipped.saturating_add(*at),
                last.as_slice(),
            )),
            _ => None,
        };
        Joining {
            joiner: self,
            first,
            seen: 0,
        }
    }

    /// Writes `bytes` with the `USE` that takes the session from the last statement joined
    /// to `first`, at `at` (where the first statement that selects a database starts), and
    /// keeps `last`, the database of the last one.
    fn place<W: std::io::Write + ?Sized>(
        &mut self,
        first: &[u8],
        at: usize,
        last: &[u8],
        bytes: &[u8],
        out: &mut W,
    ) -> std::io::Result<()> {
        // `at` is within `bytes` when they are what the piece wrote; anything else is written
        // whole, its `USE` after it, rather than panic.
        let (before, after) = bytes.split_at_checked(at).unwrap_or((bytes, &[]));
        self.lead.clear();
        switch_database(self.database.as_deref(), first, &mut self.lead);
        if self.database.as_deref() != Some(last) {
            self.database = Some(last.to_vec());
        }
        self.taint.filter(before, out)?;
        self.taint.filter(&self.lead, out)?;
        self.taint.filter(after, out)
    }
}

/// A piece being joined block by block ([`Joiner::joining`]).
#[derive(Debug)]
pub struct Joining<'a> {
    joiner: &'a mut Joiner,
    /// The piece's first statement's database, where it starts in the piece, and the last
    /// statement's database, until the `USE` is written.
    first: Option<(&'a [u8], usize, &'a [u8])>,
    /// The piece's bytes given so far.
    seen: usize,
}

impl Joining<'_> {
    /// Writes the piece's next `block` (whole lines) to `out`, with the `USE` its first
    /// statement needs when it starts in it.
    ///
    /// # Errors
    /// Those of `out`.
    pub fn lines<W: std::io::Write + ?Sized>(
        &mut self,
        block: &[u8],
        out: &mut W,
    ) -> std::io::Result<()> {
        let start = self.seen;
        self.seen = start.saturating_add(block.len());
        match self.first {
            Some((first, at, last)) if at < self.seen => {
                self.first = None;
                self.joiner
                    .place(first, at.saturating_sub(start), last, block, out)
            }
            _ => self.joiner.taint.filter(block, out),
        }
    }

    /// Ends the piece: a `USE` not written yet (its place past the bytes given) goes last,
    /// as [`Joiner::join`] writes it.
    ///
    /// # Errors
    /// Those of `out`.
    pub fn end<W: std::io::Write + ?Sized>(mut self, out: &mut W) -> std::io::Result<()> {
        match self.first.take() {
            Some((first, _, last)) => self.joiner.place(first, 0, last, &[], out),
            None => Ok(()),
        }
    }
}

/// Whether the server may have run, in `e`, a statement that changes how the statements
/// after it are read, so that the statements written after it were read otherwise by the
/// server (see the module docs): `e`'s own statement when it is a QUERY the server did not
/// refuse, naming `sql_mode` or a character set other than by a plain `SET` to safe values,
/// or one that may have been cut at `query_log_limit` (the server's
/// `server_audit_query_log_limit`) before what it sets and does not start as a statement
/// that reads or writes rows; and for a line flagged ambiguous (a raw name lets it read more
/// than one way), any of its listed readings, or, when some readings are unlisted, any
/// mention of `sql_mode` or a character set in its record. The [`SqlWriter`] writes such an
/// event as a `-- rdsaudit: not run, it changes how ...` comment and every line after it as
/// a comment; a filter in front of it must let it through (`rdsaudit_sql`'s `EventFilter`
/// does for `--format sql`), or the statements after it are written to run.
///
/// ```
/// use rdsaudit::sink::sql::changes_reading;
/// let line = |l: &'static [u8]| rdsaudit::parse_line(l).unwrap();
/// assert!(changes_reading(&line(br"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SET sql_mode=\'ANSI_QUOTES\'',0"), 1024));
/// assert!(!changes_reading(&line(br"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SET sql_mode=\'ANSI_QUOTES\'',1064"), 1024));
/// assert!(!changes_reading(&line(br"20240323 13:36:08,vm,app,10.0.0.1,5,8,QUERY,shop,'DELETE FROM t',0"), 1024));
/// ```
#[must_use]
pub fn changes_reading(e: &AuditEvent<'_>, query_log_limit: usize) -> bool {
    let text = (e.operation == Operation::Query).then(|| e.object.unescaped());
    let statement = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
    own_change(e, statement, query_log_limit).is_some() || other_reading_changes(e, query_log_limit)
}

/// Whether `e` is a whole, unflagged `SET` that changes how its own session's statements are
/// read and no other session's (no `GLOBAL`, `PERSIST`; a `CHANGEUSER` resets the session): a
/// filter that drops every event of its session (`--user`, `--exclude-user`, `--host`) may drop
/// it too, since no statement it changed is written. Anything else that [`changes_reading`]
/// finds must pass every filter.
///
/// ```
/// use rdsaudit::sink::sql::changes_only_its_session;
/// let line = |l: &'static [u8]| rdsaudit::parse_line(l).unwrap();
/// assert!(changes_only_its_session(&line(br"20240323 13:36:08,vm,bob,10.0.0.1,5,7,QUERY,shop,'SET sql_mode=\'ANSI_QUOTES\'',0"), 1024));
/// assert!(!changes_only_its_session(&line(br"20240323 13:36:08,vm,bob,10.0.0.1,5,7,QUERY,shop,'SET GLOBAL sql_mode=\'ANSI_QUOTES\'',0"), 1024));
/// ```
pub fn changes_only_its_session(e: &AuditEvent<'_>, query_log_limit: usize) -> bool {
    e.operation == Operation::Query
        && !e.ambiguity.is_ambiguous()
        && !e.object.possibly_truncated_at(query_log_limit)
        && session::sets_only_its_session(e.object.unescaped().trim_ascii())
}

/// Why `e`'s own `statement` (trimmed; empty when `e` is no QUERY) may change how the
/// statements after it are read, if it may: the note of its comment line, which starts with
/// [`session::THE_SET_WHY`] (what [`Taint`] looks for).
fn own_change(e: &AuditEvent<'_>, statement: &[u8], limit: usize) -> Option<String> {
    if statement.is_empty() || e.retcode.is_some_and(|code| code != 0) {
        return None;
    }
    if session::changes_reading(statement) {
        return Some(session::THE_SET_WHY.to_owned());
    }
    (e.object.possibly_truncated_at(limit) && session::may_change_reading_past_a_cut(statement))
        .then(|| {
            format!(
                "{}, or may: it may be cut at the audit log limit ({limit} bytes) before what it sets",
                session::THE_SET_WHY
            )
        })
}

/// Whether a reading of `e`'s line other than its own may change how the statements after it
/// are read (see [`changes_reading`]); false when `e` is not flagged ambiguous.
fn other_reading_changes(e: &AuditEvent<'_>, limit: usize) -> bool {
    if !e.ambiguity.is_ambiguous() {
        return false;
    }
    let (listed, omitted) = e.ambiguity.listed();
    let changes = |r: &AuditEvent<'_>| {
        let text = (r.operation == Operation::Query).then(|| r.object.unescaped());
        let statement = text.as_deref().map(<[u8]>::trim_ascii).unwrap_or_default();
        own_change(r, statement, limit).is_some()
    };
    listed.iter().any(changes) || (omitted > 0 && session::names_reading(e.ambiguity.record()))
}

/// Why a statement's text cannot be trusted as what the server ran, or not in the database
/// a `USE` would name, if it cannot: a server thread ran it (no client host), the line is
/// ambiguous, the text reaches the plugin's
/// length limit (the cut can fall between tokens: `DELETE FROM orders` cut before its
/// `WHERE` reads as a whole statement), or its database name is not UTF-8 (written as
/// text, its bytes would change and the `USE` name another database).
fn unreliable(e: &AuditEvent<'_>, limit: usize) -> Option<String> {
    if !e.database.is_utf8() {
        return Some(
            "not run, its database name is not valid UTF-8 (NDJSON's database_base64 holds its bytes)"
                .to_owned(),
        );
    }
    if memchr::memchr3(b'\n', b'\r', 0, e.database.as_bytes()).is_some() {
        // The `USE` would not fit on its line: run in the database before, it would change
        // another database's rows.
        return Some(
            "not run, its database name holds a line break or a NUL (no USE can select it on one line)"
                .to_owned(),
        );
    }
    if e.ambiguity.is_ambiguous() {
        let a = &e.ambiguity;
        return Some(format!(
            "not run, ambiguous ({} readings, {} unlisted)",
            a.readings(),
            a.omitted()
        ));
    }
    if e.is_server_thread() {
        // A server thread's: the event scheduler logs an event's statements with database
        // `mysql`, but runs them in the event's schema (recorded on MariaDB 10.11.14). After
        // the ambiguity: a forged reading's empty host is not the reason.
        return Some(
            "not run, a server thread's statement (the event scheduler's: the database it ran in is not logged)"
                .to_owned(),
        );
    }
    e.object
        .possibly_truncated_at(limit)
        .then(|| format!("not run, may be cut at the audit log limit ({limit} bytes)"))
}

/// Ends a statement's line: its ` -- event_id=<id>` when it came through CloudWatch Logs.
fn end_line(e: &AuditEvent<'_>, out: &mut Vec<u8>) {
    if let Some(id) = e.provenance.event_id.filter(|id| is_plain_id(id)) {
        out.extend_from_slice(b" -- event_id=");
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b'\n');
}

/// Writes what takes a session from database `from` (`None`: not known, a new session) to
/// `to`: a `USE` line, a note that no database is selected any more, or nothing.
fn switch_database(from: Option<&[u8]>, to: &[u8], out: &mut Vec<u8>) {
    if from == Some(to) {
        return;
    }
    if to.is_empty() {
        if from.is_some() {
            out.extend_from_slice(
                b"-- rdsaudit: no database selected from here on (USE cannot unselect one)\n",
            );
        }
        return;
    }
    out.extend_from_slice(b"USE `");
    for &b in to {
        out.extend_from_slice(if b == b'`' {
            b"``"
        } else {
            std::slice::from_ref(&b)
        });
    }
    out.extend_from_slice(b"`;\n");
}

/// The statement on one line ending in `;`, or between `DELIMITER` lines when it holds a
/// `;` the `mysql` client would cut it at (then returns true: the caller ends the line and
/// writes `DELIMITER ;`), or, when it cannot be run, a comment saying why. Each `DELIMITER`
/// line carries the event id too, so de-duplicating by line keeps them.
fn statement_line(e: &AuditEvent<'_>, statement: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let why = match one_line(statement, out) {
        Ok(shape) if shape.local_infile => {
            "not run, LOAD ... LOCAL would send the replaying machine's file".to_owned()
        }
        Ok(shape) if shape.placeholder => {
            "not run, a prepared statement (its parameters are not in the audit log)".to_owned()
        }
        Ok(shape) if shape.inner_semicolon => {
            let flat = out.split_off(start);
            match delimiter(&flat) {
                Some(d) => {
                    out.extend_from_slice(b"DELIMITER ");
                    out.extend_from_slice(&d);
                    end_line(e, out);
                    out.extend_from_slice(&flat);
                    out.push(b' ');
                    out.extend_from_slice(&d);
                    return true;
                }
                None => "not written as SQL, it holds every delimiter the client takes".to_owned(),
            }
        }
        Ok(_) => {
            if !out.ends_with(b";") {
                out.push(b';');
            }
            return false;
        }
        Err(why) => format!("not written as SQL, {why}"),
    };
    out.truncate(start);
    comment_line(&why, statement, out);
    false
}

/// A `DELIMITER` for a statement holding `;`: a run of `$` or `/` (at most 15 bytes, the
/// client's limit) that does not occur in it. Written after a space, it cannot join the
/// statement's last bytes either.
fn delimiter(flat: &[u8]) -> Option<Vec<u8>> {
    (2..16)
        .flat_map(|n| [vec![b'$'; n], vec![b'/'; n]])
        .find(|d| memchr::memmem::find(flat, d).is_none())
}

/// A `-- rdsaudit: <why>: <text>` comment, line breaks and NUL in the text as `\n`, `\r`
/// and `\0` (the client refuses a line holding a NUL, and stops reading there), invalid
/// UTF-8 as U+FFFD (no line break at the end).
fn comment_line(why: &str, text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"-- rdsaudit: ");
    out.extend_from_slice(why.as_bytes());
    out.extend_from_slice(b": ");
    for &b in String::from_utf8_lossy(text).as_bytes() {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            _ => out.push(b),
        }
    }
}

/// CloudWatch event ids are digits; anything else (a hand-made envelope) is left out rather
/// than written into a comment.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a statement cannot be put on one line without changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Unwritable {
    /// It ends inside a string literal (a statement cut at the plugin's length limit).
    #[error("it ends inside a string")]
    OpenString,
    /// It ends inside a back-quoted identifier.
    #[error("it ends inside a quoted identifier")]
    OpenIdentifier,
    /// It ends inside a `/* */` comment.
    #[error("it ends inside a comment")]
    OpenComment,
    /// A back-quoted identifier holds a line break, which no escape can write.
    #[error("a quoted identifier holds a line break")]
    BreakInIdentifier,
    /// A backslash outside strings and comments (not `\N`): the client would run it as one
    /// of its commands (`\! <shell command>`) instead of sending it.
    #[error("a backslash outside strings is a command to the mysql client")]
    ClientCommand,
    /// A NUL byte in code or a quoted identifier: the client refuses the line (and every
    /// line after it) unless run with `--binary-mode`; in a string it is written `\0`.
    #[error("it holds a NUL byte outside a string, which the mysql client refuses")]
    Nul,
    /// Not UTF-8: written as text, its bytes would change (NDJSON's `object_base64` keeps
    /// them).
    #[error("it is not valid UTF-8 (NDJSON's object_base64 holds its bytes)")]
    NotUtf8,
    /// A `/* */` comment inside a `/*! */` executable comment: the client ends neither where
    /// the server does.
    #[error("a comment inside an executable comment")]
    NestedComment,
}

/// Appends `sql` to `out` on one line, meaning the same to MySQL (default `sql_mode`):
/// line breaks between tokens become spaces, line breaks inside strings become `\n` / `\r`
/// escapes, and `-- ` / `#` comments become `/* */` comments (dropped inside a `/*! */`
/// executable comment, which cannot nest one). Returns what the walk saw of its code. On
/// error `out` holds a partial line.
fn one_line(sql: &[u8], out: &mut Vec<u8>) -> Result<Shape, Unwritable> {
    if std::str::from_utf8(sql).is_err() {
        return Err(Unwritable::NotUtf8);
    }
    let (mut i, mut executable, mut walk) = (0, false, Walk::default());
    while let Some(&b) = sql.get(i) {
        let next = sql.get(i + 1).copied();
        i = match b {
            b'\'' | b'"' => walk.token(string(sql, i, out)?),
            b'`' => walk.token(identifier(sql, i, out)?),
            b'#' => walk.gap(line_comment(sql, i + 1, executable, out)),
            b'-' if next == Some(b'-') && starts_dash_comment(sql.get(i + 2).copied()) => {
                walk.gap(line_comment(sql, i + 2, executable, out))
            }
            b'/' if next == Some(b'*') && !executable && is_executable(sql, i + 2) => {
                executable = true;
                walk.gap(executable_opener(sql, i, out))
            }
            b'/' if next == Some(b'*') && executable => return Err(Unwritable::NestedComment),
            b'/' if next == Some(b'*') => walk.gap(block_comment(sql, i, out)?),
            b'*' if next == Some(b'/') && executable => {
                executable = false;
                out.extend_from_slice(b"*/");
                walk.gap(i + 2)
            }
            b'\n' | b'\r' => {
                out.push(b' ');
                walk.gap(i + 1)
            }
            // `\N` is NULL; any other backslash in code is a command to the `mysql` client
            // (`\!` runs a shell), even inside `/*!99999 */`, which the server skips.
            b'\\' if next != Some(b'N') => return Err(Unwritable::ClientCommand),
            0 => return Err(Unwritable::Nul),
            _ => {
                out.push(b);
                walk.code(b);
                i + 1
            }
        };
    }
    if executable {
        return Err(Unwritable::OpenComment);
    }
    Ok(walk.finish())
}

/// MySQL: `--` starts a comment only when followed by whitespace, a control character or
/// the end of the statement (`1--1` is one minus minus one).
fn starts_dash_comment(after: Option<u8>) -> bool {
    after.is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// `/*!` (MySQL) and `/*M!` (MariaDB) comments hold code the server runs.
fn is_executable(sql: &[u8], body: usize) -> bool {
    let rest = sql.get(body..).unwrap_or_default();
    rest.starts_with(b"!") || rest.starts_with(b"M!")
}

/// Copies the `/*!`, `/*M!` opener starting at `start` with its version number, if any
/// (`/*!50000`: not code); returns the index after it.
fn executable_opener(sql: &[u8], start: usize, out: &mut Vec<u8>) -> usize {
    let rest = sql.get(start..).unwrap_or_default();
    let bang = if rest.starts_with(b"/*M!") { 4 } else { 3 };
    let digits = rest
        .get(bang..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let end = bang + digits;
    out.extend_from_slice(rest.get(..end).unwrap_or_default());
    start + end
}

/// Copies the string literal starting at `start` (a quote), line breaks escaped; returns
/// the index after its closing quote.
fn string(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    let quote = sql.get(start).copied().unwrap_or(b'\'');
    out.push(quote);
    let mut i = start + 1;
    while let Some(&b) = sql.get(i) {
        match b {
            b'\\' => {
                out.push(b'\\');
                let Some(&escaped) = sql.get(i + 1) else {
                    break;
                };
                push_escaped(escaped, out);
                i += 2;
            }
            b if b == quote && sql.get(i + 1) == Some(&quote) => {
                out.extend_from_slice(&[quote, quote]);
                i += 2;
            }
            b if b == quote => {
                out.push(quote);
                return Ok(i + 1);
            }
            b'\n' | b'\r' | 0 => {
                out.push(b'\\');
                push_escaped(b, out);
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(Unwritable::OpenString)
}

/// The byte after a backslash: a raw line break or NUL becomes its escape letter (same
/// value: a backslash before a byte that starts no escape stands for that byte).
fn push_escaped(b: u8, out: &mut Vec<u8>) {
    out.push(match b {
        b'\n' => b'n',
        b'\r' => b'r',
        0 => b'0',
        other => other,
    });
}

/// Copies the back-quoted identifier starting at `start`; returns the index after it.
fn identifier(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    out.push(b'`');
    let mut i = start + 1;
    while let Some(&b) = sql.get(i) {
        match b {
            b'`' if sql.get(i + 1) == Some(&b'`') => {
                out.extend_from_slice(b"``");
                i += 2;
            }
            b'`' => {
                out.push(b'`');
                return Ok(i + 1);
            }
            b'\n' | b'\r' => return Err(Unwritable::BreakInIdentifier),
            0 => return Err(Unwritable::Nul),
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(Unwritable::OpenIdentifier)
}

/// A `--` or `#` comment whose text starts at `body`, written as `/* text */`
/// ([`comment_text`]), or dropped inside an executable comment. Returns the index of the
/// line break that ends it (it becomes a space), or the end.
fn line_comment(sql: &[u8], body: usize, executable: bool, out: &mut Vec<u8>) -> usize {
    let rest = sql.get(body..).unwrap_or_default();
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    if executable {
        out.push(b' ');
        return body + end;
    }
    let text = rest.get(..end).unwrap_or_default().trim_ascii();
    out.extend_from_slice(b"/* ");
    comment_text(text, out);
    if !text.is_empty() {
        out.push(b' ');
    }
    out.extend_from_slice(b"*/");
    body + end
}

/// Copies the `/* */` comment starting at `start` ([`comment_text`]); returns the index
/// after it. An optimizer hint (`/*+ ... */`) keeps its opener only when it holds nothing
/// but names, numbers and `(),=.@+`: the `mysql` client reads a hint as code (its quotes,
/// `;`, `-- ` and backslash commands: `/*+ \! cmd */` runs a shell), MariaDB's as a comment,
/// and the server ignores a hint it cannot read; any other hint is written `/* +`, a comment
/// to every client (a replay then runs without it).
fn block_comment(sql: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, Unwritable> {
    let body = start + 2;
    let rest = sql.get(body..).unwrap_or_default();
    let Some(end) = memchr::memmem::find(rest, b"*/") else {
        return Err(Unwritable::OpenComment);
    };
    let text = rest.get(..end).unwrap_or_default();
    out.extend_from_slice(b"/*");
    if text.first() == Some(&b'+') && !is_plain_hint(text) {
        out.push(b' ');
    }
    comment_text(text, out);
    out.extend_from_slice(b"*/");
    Ok(body + end + 2)
}

/// Whether a hint's text holds only what every client reads the same in code and comment.
fn is_plain_hint(text: &[u8]) -> bool {
    text.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b" \t_(),=.@+".contains(&b))
}

/// A comment's text, written so that the client sees one comment ending where the server's
/// did: line breaks and NUL as spaces, and `/*` and `*/` broken up as `/ *` and `* /`. A
/// `/*!` (or `/*+`) inside a comment makes the `mysql` / `mariadb` client skip the next `*/`,
/// so the comment would run on over the statements after it (`SELECT 1 -- /*!` then a
/// statement holding `*/; DROP TABLE t; -- ` dropped the statements between and ran the
/// `DROP`: adversarial review, session 29).
fn comment_text(text: &[u8], out: &mut Vec<u8>) {
    for (k, &b) in text.iter().enumerate() {
        let next = text.get(k + 1).copied();
        match b {
            b'\n' | b'\r' | 0 => out.push(b' '),
            b'*' if next == Some(b'/') => out.extend_from_slice(b"* "),
            b'/' if next == Some(b'*') => out.extend_from_slice(b"/ "),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests;
