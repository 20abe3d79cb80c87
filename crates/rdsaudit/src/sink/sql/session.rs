//! What a session's `SET` does to the statements after it in the output.
//!
//! The output is read in one session with the default `sql_mode` and a UTF-8 client: every
//! statement is put on one line by that reading ([`super::one_line`]). A session that set
//! `ANSI_QUOTES` (`"` quotes a name) or `NO_BACKSLASH_ESCAPES` (`\` is a byte in a string), or
//! a client character set whose multi-byte characters may end in `\` or a back quote (`gbk`,
//! `big5`, `sjis`, ...), had its statements read otherwise by the server: flattened by the
//! default reading and replayed after its `SET`, a line break could become a comment's end or
//! a string's, and a replay ran what the server did not (session 29's review: `SET
//! sql_mode='ANSI_QUOTES'` then `DELETE FROM t ORDER BY (SELECT 1 AS "x\") -- "` + newline +
//! `LIMIT 0` deleted no row on the server and every row replayed). The log does not say which
//! session a later statement's reading depends on once the replay is one session, so from
//! such a `SET` on, no line is written as SQL: each is a `-- rdsaudit:` comment.

use std::io::{self, Write};

/// Why a statement that changes how later statements are read is not run: the
/// `-- rdsaudit:` note of its comment line, which [`Taint::filter`] looks for.
pub(super) const THE_SET_WHY: &str =
    "not run, it changes how the statements after it are read (sql_mode or character set)";

/// The note before every line after it.
const AFTER_SET: &[u8] = b"-- rdsaudit: not run, a session changed how statements are read before it (sql_mode or character set): ";

/// Whether a statement that changes how statements are read has been written: see the
/// module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Taint {
    after_set: bool,
}

impl Taint {
    /// Writes `lines` (whole lines of SQL output, in output order) to `out`: as they are until
    /// the comment line of a statement that changes how statements are read ([`THE_SET_WHY`],
    /// written by [`super::SqlWriter`] for any statement [`changes_reading`] finds); every
    /// line after it that is not a comment becomes a `-- rdsaudit:` comment (a `DELIMITER`
    /// line too, so the client's delimiter stays `;`).
    ///
    /// # Errors
    /// Those of `out`.
    pub(super) fn filter<W: Write + ?Sized>(
        &mut self,
        lines: &[u8],
        out: &mut W,
    ) -> io::Result<()> {
        let (mut plain, mut at) = (0, 0);
        while at < lines.len() {
            let rest = lines.get(at..).unwrap_or_default();
            let end = memchr::memchr(b'\n', rest).map_or(lines.len(), |i| at + i + 1);
            let line = lines.get(at..end).unwrap_or_default();
            if line.starts_with(b"-- ") {
                self.after_set |= is_the_set(line);
            } else if self.after_set {
                out.write_all(lines.get(plain..at).unwrap_or_default())?;
                out.write_all(AFTER_SET)?;
                out.write_all(line)?;
                plain = end;
            }
            at = end;
        }
        out.write_all(lines.get(plain..).unwrap_or_default())
    }
}

/// Whether a comment line is that of a statement that changes how statements are read.
fn is_the_set(line: &[u8]) -> bool {
    line.strip_prefix(b"-- rdsaudit: ")
        .is_some_and(|rest| rest.starts_with(THE_SET_WHY.as_bytes()))
}

/// `sql_mode` words that change how a statement's text is split: `ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES`, and the combined modes that hold `ANSI_QUOTES` (MariaDB's
/// `ORACLE` too: its parser reads otherwise).
const MODES: [&str; 7] = [
    "ansi",
    "no_backslash_escapes",
    "oracle",
    "mssql",
    "db2",
    "postgresql",
    "maxdb",
];

/// The variable whose modes may change how statements are read.
const SQL_MODE: &str = "sql_mode";

/// Words of a statement that may set the client's character set (variables by their bare
/// names, [`bare`]).
const CHARSET_WORDS: [&str; 6] = [
    "names",
    "character",
    "charset",
    "character_set_client",
    "character_set_connection",
    "collation_connection",
];

/// Words a `SET NAMES` / `SET CHARACTER SET` / `SET character_set_client` may hold and still
/// leave the client's text read as UTF-8 or single-byte text (variables by their bare
/// names).
const SAFE_CHARSET_WORDS: [&str; 11] = [
    "names",
    "character",
    "set",
    "charset",
    "session",
    "local",
    "collate",
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "collation_connection",
];

/// Character sets (and their collations' prefixes) whose bytes past ASCII never end a
/// character in an ASCII byte.
const SAFE_CHARSETS: [&str; 5] = ["utf8", "latin1", "latin2", "ascii", "binary"];

/// Whether a statement (its text as the server ran it) may change how the statements after
/// it are read: a `SET`, `SET STATEMENT`, `EXECUTE`, `PREPARE` or compound statement
/// (`BEGIN`, `IF`...: anything but the statements that read or write rows) naming
/// [`SQL_MODE`] or a word of [`CHARSET_WORDS`], unless it is a plain `SET` whose every `sql_mode` value is one quoted
/// string of modes not in [`MODES`] and whose character set words are all safe. What a
/// `SET` sets is not evaluated here (`4`, `0x41...`, adjacent strings, escapes, variables,
/// expressions all set a mode): anything but the plain string counts (session 29's review
/// found eight such spellings of `ANSI_QUOTES` and `gbk` past a word list).
pub(super) fn changes_reading(statement: &[u8]) -> bool {
    if starts_as_row_statement(statement) {
        return false;
    }
    read_code(statement, |code, first| {
        if is_row_statement(first) {
            return false;
        }
        let words = words(code);
        if executes_unseen(code, &words) {
            return true;
        }
        if !names_reading_words(&words) {
            return false;
        }
        !(first == "set" && words.get(1) != Some(&"statement") && plain_set(code, &words))
    })
}

/// Whether a statement that may have been cut at the audit log limit may change how the
/// statements after it are read: what it sets may lie past the cut (`SET @pad='...1100
/// bytes...', sql_mode='ANSI_QUOTES'` is logged as `SET @pad='ppp...`), so anything but a
/// statement that reads or writes rows ([`changes_reading`]'s first words) may.
pub(super) fn may_change_reading_past_a_cut(statement: &[u8]) -> bool {
    if starts_as_row_statement(statement) {
        return false;
    }
    read_code(statement, |_, first| !is_row_statement(first))
}

/// Whether `text` (any bytes: an ambiguous line's whole record) names `sql_mode` or a word
/// of [`CHARSET_WORDS`] anywhere: what an unlisted reading of it may set.
pub(super) fn names_reading(text: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(text).to_ascii_lowercase();
    names_reading_words(&words(&lower))
}

/// Whether `statement` starts with the first word of a statement on rows ([`is_row_statement`])
/// right away, no blank or comment before it: the usual statement, answered without the
/// lowercase copy of its whole text the other checks read (every statement the SQL writer
/// writes, and with `--format sql` every one a filter drops, is asked).
fn starts_as_row_statement(statement: &[u8]) -> bool {
    let len = statement
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let mut word = [0u8; 12];
    let (Some(first), Some(lower)) = (statement.get(..len), word.get_mut(..len)) else {
        // Longer than any of the words.
        return false;
    };
    for (l, b) in lower.iter_mut().zip(first) {
        *l = b.to_ascii_lowercase();
    }
    std::str::from_utf8(lower).is_ok_and(is_row_statement)
}

/// Whether `statement` is a `SET` whose effect stays in its own session: not `GLOBAL` or
/// `PERSIST` (those reach the sessions opened after it), not run through `EXECUTE`. A word
/// search, so a string or a name holding `global` keeps it (it is then judged as reaching
/// other sessions: let through).
pub(super) fn sets_only_its_session(statement: &[u8]) -> bool {
    read_code(statement, |code, first| {
        first == "set" && !code.contains("global") && !code.contains("persist")
    })
}

/// Runs `f` on a statement's code (lowercase, the comments before it skipped) and its first
/// word. Bytes that are not UTF-8 lie in strings or comments; the words are ASCII.
fn read_code<R>(statement: &[u8], f: impl FnOnce(&str, &str) -> R) -> R {
    let lower = String::from_utf8_lossy(statement).to_ascii_lowercase();
    let code = skip_comments(&lower);
    f(code, first_word(code))
}

/// The first word of `code` (lowercase, comments skipped).
fn first_word(code: &str) -> &str {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
}

/// The words of `code`, variables with their `@@`, scope and dots.
fn words(code: &str) -> Vec<&str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || "_@.$".contains(c)))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether a word names [`SQL_MODE`] or is one of [`CHARSET_WORDS`] (variables by their bare
/// names).
fn names_reading_words(words: &[&str]) -> bool {
    words
        .iter()
        .map(|w| bare(w))
        .any(|w| w.ends_with(SQL_MODE) || CHARSET_WORDS.contains(&w))
}

/// Whether a statement's first word (lowercase) starts one that reads or writes rows, or
/// another that sets nothing of the session's reading.
fn is_row_statement(first: &str) -> bool {
    matches!(
        first,
        "select"
            | "insert"
            | "update"
            | "delete"
            | "replace"
            | "with"
            | "show"
            | "use"
            | "load"
            | "call"
            | "create"
            | "alter"
            | "drop"
            | "truncate"
            | "rename"
            | "grant"
            | "revoke"
            | "analyze"
            | "optimize"
            | "check"
            | "describe"
            | "desc"
            | "explain"
            | "commit"
            | "rollback"
            | "start"
            | "savepoint"
            | "release"
            | "lock"
            | "unlock"
            | "flush"
            | "kill"
            | "handler"
            | "do"
            | "values"
            | "table"
    )
}

/// Whether a `SET` (lowercase, comments skipped) sets `sql_mode` only to plain strings of
/// modes not in [`MODES`] and a character set only to safe ones.
fn plain_set(code: &str, words: &[&str]) -> bool {
    let mut rest = code;
    while let Some(at) = rest.find(SQL_MODE) {
        let after = rest
            .get(at + SQL_MODE.len()..)
            .unwrap_or_default()
            .trim_start();
        let Some(value) = after.strip_prefix(":=").or_else(|| after.strip_prefix('=')) else {
            return false;
        };
        let value = value.trim_start();
        // `0`, no mode (connectors send `sql_mode=0` at connect), is plain too.
        if let Some(after) = value.strip_prefix('0') {
            if !ends_value(after) {
                return false;
            }
            rest = after;
            continue;
        }
        let Some((modes, after)) = one_string(value) else {
            return false;
        };
        if !modes
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ',')
            || MODES.iter().any(|m| modes.contains(m))
        {
            return false;
        }
        rest = after;
    }
    if words.iter().any(|w| CHARSET_WORDS.contains(&bare(w))) {
        let sql_mode_free = !code.contains(SQL_MODE);
        return sql_mode_free
            && words.iter().skip(1).all(|w| {
                SAFE_CHARSET_WORDS.contains(&bare(w))
                    || SAFE_CHARSETS.iter().any(|c| w.starts_with(c))
            });
    }
    true
}

/// Whether a value ends where `rest` starts: the next assignment, the statement's end or the
/// end of the `/*! */` it is in. Anything else makes the value an expression (`0 + 4`, `0|4`,
/// `0 or 4` set `ANSI_QUOTES`; review 30 replayed a DELETE the server had not run).
fn ends_value(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with([',', ';']) || rest.starts_with("*/")
}

/// Whether a statement is `EXECUTE IMMEDIATE` of anything but one plain string (lowercase,
/// comments skipped): the server logs only the outer statement, so what a hex literal, a
/// variable or a `CONCAT` runs (`EXECUTE IMMEDIATE 0x53455420...`, a `SET sql_mode`) is not
/// in the log (review 30).
fn executes_unseen(code: &str, words: &[&str]) -> bool {
    if words.first() != Some(&"execute") || words.get(1) != Some(&"immediate") {
        return false;
    }
    let argument = code
        .get(
            code.find("immediate")
                .map_or(0, |at| at + "immediate".len())..,
        )
        .unwrap_or_default()
        .trim_start();
    // A string holding its quote or an escape is read otherwise; only the plain one is seen.
    one_string(argument).is_none_or(|(text, _)| text.contains('\\'))
}

/// The text of the one quoted string `value` starts with, and what follows it, when the value
/// ends there ([`ends_value`]): another string right after is joined to it (`'AN'
/// 'SI_QUOTES'`), an operator makes it an expression (`'REAL_AS_FLOAT'|4`).
fn one_string(value: &str) -> Option<(&str, &str)> {
    let quote = value.chars().next().filter(|q| *q == '\'' || *q == '"')?;
    let inner = value.get(1..)?;
    let close = inner.find(quote)?;
    let rest = inner.get(close + 1..)?;
    Some((inner.get(..close)?, rest)).filter(|_| ends_value(rest))
}

/// A word's variable name without its `@@` and scope: `@@session.character_set_client` and
/// `@@character_set_client` are `character_set_client`.
fn bare(word: &str) -> &str {
    let name = word.trim_start_matches('@');
    name.rsplit_once('.').map_or(name, |(_, n)| n)
}

/// `code` past leading blanks and comments (`/* */`, `-- `, `#`), and past the opener of a
/// leading `/*! */` or `/*M! */` (whose code runs).
fn skip_comments(code: &str) -> &str {
    let mut rest = code.trim_start();
    loop {
        if let Some(body) = rest
            .strip_prefix("/*!")
            .or_else(|| rest.strip_prefix("/*m!"))
        {
            rest = body
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
        } else if let Some(body) = rest.strip_prefix("/*") {
            rest = body
                .find("*/")
                .map_or("", |e| body.get(e + 2..).unwrap_or_default())
                .trim_start();
        } else if rest.starts_with("--") || rest.starts_with('#') {
            rest = rest
                .find('\n')
                .map_or("", |e| rest.get(e + 1..).unwrap_or_default())
                .trim_start();
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_change_reading() {
        for sql in [
            "SET sql_mode='ANSI_QUOTES'",
            "set session sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'",
            "SET @@SESSION.sql_mode='ANSI'",
            "SET GLOBAL sql_mode='ORACLE'",
            "SET sql_mode=@OLD_SQL_MODE",
            "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */",
            "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
            "SET sql_mode = @@GLOBAL.sql_mode",
            "SET NAMES gbk",
            "SET NAMES 'big5' COLLATE 'big5_chinese_ci'",
            "SET CHARACTER SET sjis",
            "SET character_set_client = cp932",
            // Seen in the last read of the change: scoped names were not words of the list.
            "SET @@character_set_client = 'gbk'",
            "SET @@session.character_set_client = gbk",
            "SET @@local.character_set_connection = big5",
            "SET NAMES utf8mb4, sql_mode=''",
            // Session 29's review (adv3): spellings past a word list.
            "SET sql_mode=4",
            "SET sql_mode=0x41",
            "SET sql_mode=0x414E53495F51554F544553",
            "SET sql_mode='AN' 'SI_QUOTES'",
            "SET sql_mode='AN\\SI_QUOTES'",
            "/* c */ SET sql_mode='ANSI_QUOTES'",
            "-- c\nSET sql_mode='ANSI_QUOTES'",
            "EXECUTE IMMEDIATE 'SET sql_mode=''ANSI_QUOTES'''",
            "/**/SET NAMES gbk",
            "SET STATEMENT sql_mode='ANSI_QUOTES' FOR PREPARE s FROM 'DELETE FROM t'",
            "PREPARE s FROM 'SET sql_mode=?'",
            "BEGIN NOT ATOMIC SET sql_mode='ANSI_QUOTES'; END",
            "SET sql_mode=DEFAULT",
            // Session 30's review: a plain value followed by an operator, and what EXECUTE
            // IMMEDIATE runs out of the log's sight (each replayed a DELETE the server had
            // not run).
            "SET sql_mode = 0 + 4",
            "SET sql_mode=0|1048576",
            "SET sql_mode = 0 OR 4",
            "SET sql_mode = 0 + 0x4",
            "SET sql_mode='REAL_AS_FLOAT'|4",
            "SET sql_mode='REAL_AS_FLOAT' + 4",
            "EXECUTE IMMEDIATE 0x5345542073716c5f6d6f64653d27414e53495f51554f54455327",
            "EXECUTE IMMEDIATE CONCAT('SET sql', '_mode=''NO_BACKSLASH_ESCAPES''')",
            "EXECUTE IMMEDIATE @q",
            "EXECUTE IMMEDIATE 'SET sql\\_mode=4'",
            "/* c */ execute   immediate 'SELECT 1' 'x'",
        ] {
            assert!(changes_reading(sql.as_bytes()), "{sql}");
        }
        for sql in [
            "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE'",
            "SET SESSION wait_timeout=28800,SESSION time_zone='+00:00',SESSION sql_mode=0,SESSION autocommit=1",
            "/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
            "SET sql_mode = 0 ;",
            "EXECUTE IMMEDIATE 'SELECT 1'",
            "SET SESSION sql_mode = ''",
            "SET NAMES utf8mb4",
            "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'",
            "/*!40101 SET NAMES utf8 */",
            "SET CHARACTER SET latin1",
            "SET autocommit=0",
            "SELECT @@sql_mode, @@character_set_client",
            "SELECT 'SET sql_mode=ANSI'",
            "INSERT INTO names VALUES (1)",
            "UPDATE t SET sql_mode = 'ANSI' WHERE id = 1",
            "SET @x = 1",
        ] {
            assert!(!changes_reading(sql.as_bytes()), "{sql}");
        }
    }

    #[test]
    fn what_a_cut_statement_or_an_unlisted_reading_may_set() {
        // What it sets may lie past the cut: anything but a statement on rows may.
        for sql in [
            "SET @pad='ppp",
            "/* a long comment cut before the statement",
            "EXECUTE IMMEDIATE 'SELECT",
            "BEGIN NOT ATOMIC SELECT 1",
            "SE",
        ] {
            assert!(may_change_reading_past_a_cut(sql.as_bytes()), "{sql}");
        }
        for sql in [
            "SELECT 'ppp",
            "INSERT INTO t VALUES ('ppp",
            "/* c */ DELETE FROM t WHERE v IN ('ppp",
        ] {
            assert!(!may_change_reading_past_a_cut(sql.as_bytes()), "{sql}");
        }
        assert!(names_reading(
            b"20250101 00:00:01,srv,eve,h,7,12,QUERY,x\n,'SET @@SESSION.sql_mode=4',0"
        ));
        assert!(names_reading(b"x,SET NAMES gbk"));
        assert!(!names_reading(
            b"20250101 00:00:01,srv,eve,h,7,12,QUERY,x,'SELECT 1',0"
        ));
    }

    #[test]
    fn every_line_after_the_set_is_a_comment() {
        let lines = format!(
            "USE `shop`;\n-- rdsaudit: {THE_SET_WHY}: SET NAMES gbk\n-- rdsaudit: a note\nDELIMITER $$\nSELECT 1 $$\nDELIMITER ;\n"
        );
        let lines = lines.as_bytes();
        let (mut taint, mut out) = (Taint::default(), Vec::new());
        taint.filter(&lines[..12], &mut out).unwrap();
        taint.filter(&lines[12..], &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let got: Vec<&str> = out.lines().collect();
        let given = String::from_utf8_lossy(lines);
        assert_eq!(got[..3], given.lines().collect::<Vec<_>>()[..3]);
        for line in &got[3..] {
            assert!(
                line.starts_with("-- rdsaudit: not run, a session changed"),
                "{line}"
            );
        }
        assert_eq!(got.len(), 6);
    }
}
