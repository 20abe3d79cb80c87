//! A MySQL tokenizer that survives what the audit log holds: statements cut mid-literal by
//! the plugin's query-log limit, invalid UTF-8, dialect extensions no parser knows.
//!
//! Comments other than versioned ones are dropped; string literals and numbers carry no
//! meaning here and are each a single [`Token::Literal`] (its text kept: `EXECUTE IMMEDIATE
//! 'stmt'` runs a string's text, see [`unescape`]). An unterminated literal or comment
//! runs to the end of the text.
//!
//! # Versioned comments
//!
//! The body of `/*!NNNNN ... */` (MySQL, MariaDB) and `/*M!NNNNNN ... */` (MariaDB) is code
//! on some servers and a comment on others. The rules, from the MySQL Reference Manual
//! ("Comments") and the MariaDB Knowledge Base ("Comment Syntax"):
//! - MySQL runs `/*!` bodies without a version, and those whose 5-digit version (`Mmmrr`)
//!   is at most its own; it reads `/*M!` as a plain comment.
//! - MariaDB runs `/*!` bodies without a version, and those whose version (5 or 6 digits) is
//!   at most its own, except MySQL versions 50700..=99999 (MySQL 5.7+ syntax it may not know);
//!   it runs `/*M!` bodies whose version is at most its own.
//! - Both servers rewrite the `!` of a versioned comment they skip to a space before the
//!   statement is logged (MySQL's and MariaDB's `sql_lex.cc`: "Patch and skip the conditional
//!   comment to avoid it being propagated infinitely"). MariaDB 10.11 logs
//!   `/*!99999 DROP TABLE t */` as `/* 99999 DROP TABLE t */` (checked against the real server
//!   by `tests/semantics.rs`). So in the text of a statement that parsed, a `/*!` still there
//!   ran. A statement that failed may have stopped before the comment.
//!
//! Hence [`runs`]: a body runs [`Runs::Always`] when every server these logs come from (MySQL
//! 5.7 and later, MariaDB) runs it, or when the server ran the statement (return code 0) and
//! left the `!` in place of a `/*!`; [`Runs::Never`] for `/*M!` on a MySQL-only dialect; and
//! [`Runs::Maybe`] otherwise, where the server's flavour or version decides. A [`Lexer`] reads
//! `Maybe` bodies as code or as comments as its [`Reading`] says; [`crate::analyze_in`] reads
//! both ways and flags a statement whose meaning differs (`version_dependent`).
//!
//! ```
//! use rdsaudit_sql::lexer::{Lexer, Token};
//!
//! let tokens: Vec<Token<'_>> = Lexer::new(b"/*!40000 ALTER TABLE `t` DISABLE KEYS */; SELECT 'cut").collect();
//! assert_eq!(tokens[0], Token::Word(b"ALTER"));
//! assert_eq!(tokens[2], Token::Ident(b"t", b'`'));
//! assert_eq!(tokens[5], Token::Punct(b';'));
//! assert_eq!(tokens[7], Token::Literal(b"'cut"));
//! ```

/// One token; names and words borrow from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A keyword or unquoted name (letters, digits, `_`, `$`, bytes >= 0x80).
    Word(&'a [u8]),
    /// A quoted name, without its quotes (a doubled quote stays doubled: see
    /// [`crate::tables`]), and the byte that closes it: `` ` ``, `"` under `ANSI_QUOTES`, `]`
    /// under `MSSQL`.
    Ident(&'a [u8], u8),
    /// A string, number or other value, as written (a string with its quotes, escapes
    /// undone by [`unescape`] only).
    Literal(&'a [u8]),
    /// Any other byte: `(`, `)`, `,`, `.`, `;`, `=`, ...
    Punct(u8),
}

impl Token<'_> {
    /// Whether this is the word `keyword`, compared case-insensitively.
    pub fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword.as_bytes()))
    }
}

/// What is known of the server that logged a statement (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Server {
    /// The statement succeeded (return code 0), so the server parsed all of it.
    pub executed: bool,
    /// The log's dialect is written only by MySQL (Aurora, the RDS for MySQL fork of the
    /// plugin); the upstream plugin's dialect is written by MariaDB and by MySQL.
    pub mysql_only: bool,
}

/// Whether a versioned comment's body runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// On every server these logs come from, or on the one that logged it.
    Always,
    /// Not on the server that logged it.
    Never,
    /// Depending on the server's flavour or version.
    Maybe,
}

/// MySQL versions MariaDB skips in `/*!` comments (MariaDB KB, "Comment Syntax").
const MYSQL_ONLY_VERSIONS: std::ops::RangeInclusive<u32> = 50700..=99999;

/// Whether the body of `/*!` (or `/*M!` when `mariadb_marker`) with `version` runs.
pub fn runs(mariadb_marker: bool, version: Option<u32>, server: Server) -> Runs {
    if mariadb_marker {
        return match server {
            Server {
                mysql_only: true, ..
            } => Runs::Never,
            _ => Runs::Maybe,
        };
    }
    match version {
        None => Runs::Always,
        Some(v) if v < *MYSQL_ONLY_VERSIONS.start() => Runs::Always,
        Some(_) if server.executed => Runs::Always,
        Some(_) => Runs::Maybe,
    }
}

/// How a [`Lexer`] reads versioned comments that [`Runs::Maybe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// As code: what the statement does where they run.
    Code,
    /// As comments: what it does where they do not.
    Comment,
}

/// The session's `sql_mode` flags and client character set that change how a text is cut
/// into tokens. The audit log carries neither (a `SET sql_mode` may come long before, or from
/// the server's configuration; a stored procedure runs in the mode it was created in), so
/// [`crate::analyze_in`] reads a text that holds their trigger bytes once more per way a
/// session could read it and lists the tables of every reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modes {
    /// `ANSI_QUOTES`: `"t"` is a name, as `` `t` `` is, not a string (`"x""y"` is `x"y`).
    /// `ORACLE` and `MSSQL` include it (MariaDB sets it with them, checked on 10.11).
    pub ansi_quotes: bool,
    /// `NO_BACKSLASH_ESCAPES`: a backslash in a string is a plain byte (`'x\'` ends at its
    /// second quote).
    pub no_backslash_escapes: bool,
    /// MariaDB's `MSSQL` mode: `[t]` is a name too (`]]` inside is one `]`; checked on
    /// MariaDB 10.11, `UPDATE [x]]y] SET ...` writes `x]y`).
    pub brackets: bool,
    /// The client's character set, when it is one whose two-byte characters may end with
    /// `0x5C`, a backslash: read so in strings, where it decides what the backslash escapes,
    /// in `MSSQL` names, whose closing `]` such a character may end with, and in words under
    /// `MSSQL`, where such a character may end with the `[` that would open a name. A back
    /// quote may end one too, but a UTF-8 name in back quotes, `` `中` ``, ends with a byte a
    /// `gbk` lead could be: reading every one of them so would flag common texts (a known
    /// limit, README).
    pub multibyte: Multibyte,
}

/// Client character sets whose two-byte characters may hold an ASCII byte: in `gbk`,
/// `0xBF 0x5C` is one character, so the `\` in `'<BF>\'` escapes nothing and the string ends
/// at the next `'` (session 33 advS F3, recorded on MariaDB 10.11). Lead and trail byte
/// ranges are MariaDB's `ismbchar` ones (`ctype-gbk.c`, `ctype-big5.c`, `ctype-sjis.c`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Multibyte {
    /// A single-byte or UTF-8 client: every ASCII byte is itself.
    #[default]
    None,
    /// `gbk`: lead `0x81..=0xFE`, trail `0x40..=0x7E`, `0x80..=0xFE`.
    Gbk,
    /// `big5`: lead `0xA1..=0xF9`, trail `0x40..=0x7E`, `0xA1..=0xFE`.
    Big5,
    /// `sjis`, `cp932`: lead `0x81..=0x9F`, `0xE0..=0xFC`, trail `0x40..=0x7E`, `0x80..=0xFC`.
    Sjis,
}

impl Multibyte {
    /// Whether `lead` then `trail` are one character (where it matters, see
    /// [`Modes::multibyte`]).
    fn pairs(self, lead: u8, trail: Option<&u8>) -> bool {
        let Some(&trail) = trail else {
            return false;
        };
        match self {
            Multibyte::None => false,
            Multibyte::Gbk => {
                (0x81..=0xFE).contains(&lead) && matches!(trail, 0x40..=0x7E | 0x80..=0xFE)
            }
            Multibyte::Big5 => {
                (0xA1..=0xF9).contains(&lead) && matches!(trail, 0x40..=0x7E | 0xA1..=0xFE)
            }
            Multibyte::Sjis => {
                matches!(lead, 0x81..=0x9F | 0xE0..=0xFC)
                    && matches!(trail, 0x40..=0x7E | 0x80..=0xFC)
            }
        }
    }
}

/// An iterator over the tokens of a statement text.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    rest: &'a [u8],
    modes: Modes,
    /// Inside a versioned comment read as code: the next `*/` closes it.
    versioned: bool,
    server: Server,
    reading: Reading,
    /// A versioned comment that [`Runs::Maybe`] was met.
    maybe_seen: bool,
}

impl<'a> Lexer<'a> {
    /// Tokens of `sql` (the unescaped object of a QUERY event), every versioned comment read
    /// as code.
    pub fn new(sql: &'a [u8]) -> Self {
        Lexer::reading(sql, Server::default(), Reading::Code)
    }

    /// Tokens of `sql` logged by `server`, versioned comments that may run read as `reading`.
    pub fn reading(sql: &'a [u8], server: Server, reading: Reading) -> Self {
        Lexer {
            rest: sql,
            modes: Modes::default(),
            versioned: false,
            server,
            reading,
            maybe_seen: false,
        }
    }

    /// The same lexer reading the text under the session's `modes`.
    pub fn with_modes(mut self, modes: Modes) -> Self {
        self.modes = modes;
        self
    }

    /// Whether a versioned comment whose body may or may not run was met so far.
    pub fn maybe_seen(&self) -> bool {
        self.maybe_seen
    }

    fn advance(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    /// Skips whitespace and comments; false at the end.
    fn skip_trivia(&mut self) -> bool {
        loop {
            let start = self.rest.len();
            let spaces = self
                .rest
                .iter()
                .position(|b| !b.is_ascii_whitespace() && *b != b'\x0b')
                .unwrap_or(self.rest.len());
            self.advance(spaces);
            match self.rest {
                [] => return false,
                [b'*', b'/', ..] if self.versioned => {
                    self.versioned = false;
                    self.advance(2);
                }
                [b'/', b'*', b'!', ..] => self.open_versioned(false),
                [b'/', b'*', b'M', b'!', ..] => self.open_versioned(true),
                [b'/', b'*', ..] => self.skip_comment(),
                [b'#', ..] => self.skip_line(),
                [b'-', b'-', next, ..] if next.is_ascii_whitespace() || next.is_ascii_control() => {
                    self.skip_line()
                }
                [b'-', b'-'] => self.advance(2),
                _ => {}
            }
            if self.rest.len() == start {
                return true;
            }
        }
    }

    /// At `/*!` or `/*M!`: enters the body when it is read as code, else skips the comment.
    /// A version is 5 or 6 digits; fewer digits are no version (they belong to the body).
    fn open_versioned(&mut self, mariadb_marker: bool) {
        let marker = if mariadb_marker { 4 } else { 3 };
        let after = self.rest.get(marker..).unwrap_or_default();
        let digits = after
            .iter()
            .take(6)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let (version, skip) = match digits {
            5 | 6 => (
                after
                    .get(..digits)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse::<u32>().ok()),
                digits,
            ),
            _ => (None, 0),
        };
        let code = match runs(mariadb_marker, version, self.server) {
            Runs::Always => true,
            Runs::Never => false,
            Runs::Maybe => {
                self.maybe_seen = true;
                self.reading == Reading::Code
            }
        };
        if code && !self.versioned {
            self.advance(marker + skip);
            self.versioned = true;
        } else {
            self.skip_comment();
        }
    }

    /// Skips a comment from its `/*` to its `*/` (or the end).
    fn skip_comment(&mut self) {
        let end = memchr::memmem::find(self.rest.get(2..).unwrap_or_default(), b"*/")
            .map_or(self.rest.len(), |i| i + 4);
        self.advance(end);
    }

    fn skip_line(&mut self) {
        let end = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
        self.advance(end);
    }

    /// The length of a quoted run starting at the opening `quote`, closing quote included
    /// (the whole rest when it is cut). Backslash escapes and doubled quotes stay inside.
    fn quoted_len(&self, quote: u8, backslash: bool) -> usize {
        // Checked once here, not per byte: most readings have no two-byte characters. In a
        // string the trail byte that matters is `\`; in an `MSSQL` name, `]` (session 34's
        // adversary 2, HIGH-1: in a `gbk` session `UPDATE t AS [<BF>] SET a=1 -- ], w SET
        // w.a=7` writes `w`, checked on MariaDB 10.11.14). A back quote is left out: see
        // `Modes::multibyte`.
        let multibyte = (backslash || quote == b']') && self.modes.multibyte != Multibyte::None;
        let mut i = 1;
        while let Some(&b) = self.rest.get(i) {
            let pair = (backslash && b == b'\\')
                || (b == quote && self.rest.get(i + 1) == Some(&quote))
                || (multibyte && b >= 0x81 && self.modes.multibyte.pairs(b, self.rest.get(i + 1)));
            if pair {
                i += 2;
            } else if b == quote {
                return i + 1;
            } else {
                i += 1;
            }
        }
        self.rest.len()
    }
}

impl<'a> Lexer<'a> {
    /// The length of the word starting here, under `MSSQL` with a two-byte client character
    /// set: its characters stepped as the server's lexer steps them (MariaDB's `sql_lex.cc`,
    /// `MY_LEX_IDENT`: a character's trail byte is taken whatever it is), so that a lead byte
    /// followed by `[` (`0x5B`, a trail byte in `gbk`, `big5` and `sjis`) is one character of
    /// the word and opens no bracket name (session 35's adversary, SEVERE-1: in a `gbk`
    /// session under `MSSQL`, `UPDATE [q"] AS x<BF>[, w SET w.a = 7 -- "]` writes `w`, checked
    /// on MariaDB 10.11.14). A trail byte that is neither a word byte nor `[` ends the word
    /// before it, as in the other readings: outside a quoting, `]`, `\`, `@` and the like open
    /// nothing either way, and a back quote is a known limit (see `Modes::multibyte`). Only
    /// `[` is taken so because only `MSSQL` readings read it (the others run on their own
    /// gates, and read a word as the default reading does).
    fn word_len(&self) -> usize {
        let rest = self.rest;
        let mut i = 0;
        while let Some(&b) = rest.get(i) {
            if !is_word_byte(b) {
                break;
            }
            let next = rest.get(i + 1);
            if b >= 0x81 && self.modes.multibyte.pairs(b, next) {
                i += if next.is_some_and(|&t| is_word_byte(t) || t == b'[') {
                    2
                } else {
                    1
                };
            } else {
                i += 1;
            }
        }
        i
    }

    /// A name closed by `quote` (a back quote, `"` under `ANSI_QUOTES`, `]` under `MSSQL`):
    /// its body (a doubled quote stays doubled) and length.
    fn quoted_name(&self, quote: u8) -> (Token<'a>, usize) {
        let rest = self.rest;
        let len = self.quoted_len(quote, false);
        let body_end = if rest.get(len.saturating_sub(1)) == Some(&quote) && len > 1 {
            len - 1
        } else {
            len
        };
        (
            Token::Ident(rest.get(1..body_end).unwrap_or_default(), quote),
            len,
        )
    }
}

/// The value of a string [`Token::Literal`] (`'...'`, or `"..."` outside `ANSI_QUOTES`) as a
/// session in `modes` reads it, cut where [`Lexer`] cuts it: a doubled quote is one; unless
/// `NO_BACKSLASH_ESCAPES`, a backslash escape is undone as the server's lexer does (`\n`,
/// `\t`, `\r`, `\b`, `\0`, `\Z` are control bytes, `\%` and `\_` keep their backslash, `\x`
/// is `x` for any other byte); a two-byte character of the client's character set is kept
/// whole, its trail byte never an escape (MariaDB's `get_text` in `sql_lex.cc`). `None` when
/// `literal` is not a string closed at its end: a number, a name, or a string the plugin's
/// query log limit cut.
///
/// ```
/// use rdsaudit_sql::lexer::{Modes, unescape};
///
/// let nbe = Modes { no_backslash_escapes: true, ..Modes::default() };
/// assert_eq!(unescape(br"'it\'s ''x'''", Modes::default()).as_deref(), Some(&b"it's 'x'"[..]));
/// assert_eq!(unescape(br"'a\'", nbe).as_deref(), Some(&br"a\"[..]));
/// assert_eq!(unescape(br"'a\'", Modes::default()), None);
/// assert_eq!(unescape(b"42", Modes::default()), None);
/// ```
pub fn unescape(literal: &[u8], modes: Modes) -> Option<Vec<u8>> {
    let quote = *literal.first()?;
    let string = quote == b'\'' || (quote == b'"' && !modes.ansi_quotes);
    if !string {
        return None;
    }
    let backslash = !modes.no_backslash_escapes;
    let multibyte = backslash && modes.multibyte != Multibyte::None;
    let mut value = Vec::with_capacity(literal.len());
    let mut i = 1;
    // The steps of `Lexer::quoted_len`, so that the value ends where the token does.
    while let Some(&b) = literal.get(i) {
        let next = literal.get(i + 1);
        if backslash && b == b'\\' {
            let &escaped = next?;
            match escaped {
                b'n' => value.push(b'\n'),
                b't' => value.push(b'\t'),
                b'r' => value.push(b'\r'),
                b'b' => value.push(0x08),
                b'0' => value.push(0),
                b'Z' => value.push(0x1a),
                b'%' | b'_' => value.extend_from_slice(&[b'\\', escaped]),
                other => value.push(other),
            }
            i += 2;
        } else if b == quote && next == Some(&quote) {
            value.push(quote);
            i += 2;
        } else if multibyte && b >= 0x81 && modes.multibyte.pairs(b, next) {
            value.push(b);
            value.extend(next);
            i += 2;
        } else if b == quote {
            return (i + 1 == literal.len()).then_some(value);
        } else {
            value.push(b);
            i += 1;
        }
    }
    None
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if !self.skip_trivia() {
            return None;
        }
        let rest = self.rest;
        let first = *rest.first()?;
        let backslash = !self.modes.no_backslash_escapes;
        let (token, len) = match first {
            b'"' if self.modes.ansi_quotes => self.quoted_name(b'"'),
            b'[' if self.modes.brackets => self.quoted_name(b']'),
            b'\'' | b'"' => {
                let len = self.quoted_len(first, backslash);
                (Token::Literal(rest.get(..len).unwrap_or(rest)), len)
            }
            b'`' => self.quoted_name(b'`'),
            b if is_word_byte(b) => {
                let mut len = rest
                    .iter()
                    .position(|&b| !is_word_byte(b))
                    .unwrap_or(rest.len());
                // Only a word the default steps end at a `[` may run on (checked here, after
                // the word, so that a text without one pays a compare a word).
                if rest.get(len) == Some(&b'[')
                    && self.modes.brackets
                    && self.modes.multibyte != Multibyte::None
                {
                    len = self.word_len();
                }
                let word = rest.get(..len).unwrap_or_default();
                if word.iter().all(u8::is_ascii_digit) {
                    (Token::Literal(word), len)
                } else {
                    (Token::Word(word), len)
                }
            }
            other => (Token::Punct(other), 1),
        };
        self.advance(len.max(1));
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(sql: &[u8]) -> Vec<String> {
        Lexer::new(sql)
            .map(|t| match t {
                Token::Word(w) => String::from_utf8_lossy(w).into_owned(),
                Token::Ident(w, _) => format!("`{}`", String::from_utf8_lossy(w)),
                Token::Literal(_) => "?".to_owned(),
                Token::Punct(p) => char::from(p).to_string(),
            })
            .collect()
    }

    #[test]
    fn comments_strings_and_versioned_comments() {
        assert_eq!(
            words(
                b"-- x\n# y\n/* z */ DELETE/*!50000 FROM*/ t WHERE a='x\\'y' AND b=\"q\"\"r\" -- c"
            ),
            [
                "DELETE", "FROM", "t", "WHERE", "a", "=", "?", "AND", "b", "=", "?"
            ]
        );
        assert_eq!(words(b"/*M!100100 DROP TABLE x */"), ["DROP", "TABLE", "x"]);
        assert_eq!(words(b"SELECT a--b"), ["SELECT", "a", "-", "-", "b"]);
        assert_eq!(words(b"SELECT `a``b`.`c"), ["SELECT", "`a``b`", ".", "`c`"]);
        assert_eq!(
            words(b"INSERT INTO t VALUES ('cut \\"),
            ["INSERT", "INTO", "t", "VALUES", "(", "?"]
        );
        assert_eq!(words(b"SELECT 1 /* open"), ["SELECT", "?"]);
    }

    /// Under `MSSQL` with a two-byte client character set, a lead byte takes the `[` after it
    /// into its word, stepped character by character from the word's start; elsewhere the
    /// `[` opens a name or is itself.
    #[test]
    fn a_lead_byte_takes_the_bracket_after_it_into_a_word() {
        let read = |sql: &[u8], brackets: bool, multibyte: Multibyte| -> Vec<String> {
            let modes = Modes {
                ansi_quotes: brackets,
                brackets,
                multibyte,
                ..Modes::default()
            };
            Lexer::new(sql)
                .with_modes(modes)
                .map(|t| match t {
                    Token::Word(w) => String::from_utf8_lossy(w).into_owned(),
                    Token::Ident(w, q) => {
                        format!("{}{}", String::from_utf8_lossy(w), char::from(q))
                    }
                    Token::Literal(_) => "?".to_owned(),
                    Token::Punct(p) => char::from(p).to_string(),
                })
                .collect()
        };
        for (multibyte, lead) in [
            (Multibyte::Gbk, 0xbf_u8),
            (Multibyte::Big5, 0xa4),
            (Multibyte::Sjis, 0x81),
        ] {
            let mut sql = b"x".to_vec();
            sql.push(lead);
            sql.extend_from_slice(b"[, w -- ]");
            let word = String::from_utf8_lossy(sql.get(..3).unwrap_or_default()).into_owned();
            assert_eq!(read(&sql, true, multibyte), [word.as_str(), ",", "w"]);
            // The same bytes in another reading: a name, or a `[` of its own.
            let cut = String::from_utf8_lossy(sql.get(..2).unwrap_or_default()).into_owned();
            assert_eq!(
                read(&sql, true, Multibyte::None),
                [cut.clone(), ", w -- ]".to_owned()]
            );
            assert_eq!(read(&sql, false, multibyte), [&cut, "[", ",", "w"]);
        }
        // `B0 BF` is one `gbk` character: the `[` after it opens a name.
        assert_eq!(
            read(b"x\xb0\xbf[w] y", true, Multibyte::Gbk),
            [
                String::from_utf8_lossy(b"x\xb0\xbf").into_owned(),
                "w]".to_owned(),
                "y".to_owned()
            ]
        );
        // `A0` is no `big5` lead; a lead before a byte that is no trail stays in the word.
        assert_eq!(read(b"a\xa0[w]", true, Multibyte::Big5).len(), 2);
        assert_eq!(read(b"a\xbf, w", true, Multibyte::Gbk).len(), 3);
        // A lead before `]` outside a name or a back quote ends the word before it.
        assert_eq!(read(b"a\xbf]b", true, Multibyte::Gbk).len(), 3);
        assert_eq!(read(b"a\xbf`w`", true, Multibyte::Gbk).len(), 2);
    }

    proptest! {
        #[test]
        fn any_bytes_end(sql in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(Lexer::new(&sql).count() <= sql.len());
        }
    }
}
