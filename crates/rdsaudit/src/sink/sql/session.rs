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

/// The note before a `SET` that changes how later statements are read.
const THE_SET: &[u8] = b"-- rdsaudit: not run, it changes how the statements after it are read (sql_mode or character set): ";

/// The note before every line after it.
const AFTER_SET: &[u8] = b"-- rdsaudit: not run, a session changed how statements are read before it (sql_mode or character set): ";

/// Whether a `SET` that changes how statements are read has been written: see the module
/// docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Taint {
    after_set: bool,
}

impl Taint {
    /// Writes `lines` (whole lines of SQL output, in output order) to `out`: as they are until
    /// a statement line that changes how statements are read ([`changes_reading`]); that line
    /// and every line after it that is not a comment become `-- rdsaudit:` comments (a
    /// `DELIMITER` line too, so the client's delimiter stays `;`).
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
            let note = if line.starts_with(b"-- ") {
                None
            } else if self.after_set {
                Some(AFTER_SET)
            } else if changes_reading(line) {
                self.after_set = true;
                Some(THE_SET)
            } else {
                None
            };
            if let Some(note) = note {
                out.write_all(lines.get(plain..at).unwrap_or_default())?;
                out.write_all(note)?;
                out.write_all(line)?;
                plain = end;
            }
            at = end;
        }
        out.write_all(lines.get(plain..).unwrap_or_default())
    }
}

/// `sql_mode` words that change how a statement's text is split: `ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES`, and the combined modes that hold `ANSI_QUOTES` (MariaDB's
/// `ORACLE` too: its parser reads otherwise).
const MODES: [&[u8]; 7] = [
    b"ansi",
    b"no_backslash_escapes",
    b"oracle",
    b"mssql",
    b"db2",
    b"postgresql",
    b"maxdb",
];

/// Words a `SET NAMES` / `SET CHARACTER SET` / `SET character_set_client` may hold and still
/// leave the client's text read as UTF-8 or single-byte text.
const SAFE_CHARSET_WORDS: [&[u8]; 16] = [
    b"names",
    b"character",
    b"set",
    b"charset",
    b"session",
    b"local",
    b"collate",
    b"default",
    b"null",
    b"character_set_client",
    b"character_set_connection",
    b"character_set_results",
    b"collation_connection",
    b"@@character_set_client",
    b"@@session.character_set_client",
    b"@@session.character_set_connection",
];

/// Character sets (and their collations' prefixes) whose bytes past ASCII never end a
/// character in an ASCII byte.
const SAFE_CHARSETS: [&[u8]; 5] = [b"utf8", b"latin1", b"latin2", b"ascii", b"binary"];

/// Whether a statement line sets how later statements are read: a `SET` (not `SET STATEMENT
/// ... FOR`, which holds for its own statement, read whole already) of `sql_mode` to a mode
/// of [`MODES`] or to a value that is not a string (a variable, an expression: not known
/// here), or of the client's character set to one not in [`SAFE_CHARSETS`]. A `SET` of both
/// counts when either part does (its words are all read as the character set's).
pub(super) fn changes_reading(line: &[u8]) -> bool {
    // Nearly every line starts with another word: read no further.
    if !matches!(line.trim_ascii_start().first(), Some(b's' | b'S' | b'/')) {
        return false;
    }
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    // The event id the writer adds after the statement is no part of it.
    let line = memchr::memmem::rfind(line, b" -- event_id=")
        .map_or(line, |i| line.get(..i).unwrap_or(line));
    let lower = line.to_ascii_lowercase();
    let mut s = lower.trim_ascii_start();
    // A `/*!40101 SET ... */` (mysqldump's) runs on MySQL and MariaDB.
    if let Some(rest) = s.strip_prefix(b"/*!").or_else(|| s.strip_prefix(b"/*m!")) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        s = rest.get(digits..).unwrap_or_default().trim_ascii_start();
    }
    let Some(rest) = s.strip_prefix(b"set") else {
        return false;
    };
    if rest
        .first()
        .is_none_or(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return false;
    }
    let words: Vec<&[u8]> = rest
        .split(|b| !(b.is_ascii_alphanumeric() || b"_@.$".contains(b)))
        .filter(|w| !w.is_empty())
        .collect();
    if words.first() == Some(&&b"statement"[..]) {
        return false;
    }
    let has = |w: &[u8]| memchr::memmem::find(rest, w).is_some();
    if has(b"sql_mode") {
        let unknown = has(b"(")
            || words
                .iter()
                .any(|w| w.starts_with(b"@") && !w.starts_with(b"@@"));
        if unknown || MODES.iter().any(|m| has(m)) {
            return true;
        }
    }
    let charset =
        has(b"names") || has(b"character") || has(b"charset") || has(b"collation_connection");
    charset
        && !words.iter().all(|w| {
            SAFE_CHARSET_WORDS.contains(w) || SAFE_CHARSETS.iter().any(|c| w.starts_with(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_that_change_reading() {
        for line in [
            "SET sql_mode='ANSI_QUOTES';\n",
            "set session sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'; -- event_id=1\n",
            "SET @@SESSION.sql_mode='ANSI';",
            "SET GLOBAL sql_mode='ORACLE';",
            "SET sql_mode=@OLD_SQL_MODE;",
            "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;",
            "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');",
            "SET NAMES gbk;",
            "SET NAMES 'big5' COLLATE 'big5_chinese_ci';",
            "SET CHARACTER SET sjis;",
            "SET character_set_client = cp932;",
            "SET NAMES utf8mb4, sql_mode='ANSI_QUOTES';",
        ] {
            assert!(changes_reading(line.as_bytes()), "{line}");
        }
        for line in [
            "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE';",
            "SET SESSION sql_mode = ''; -- event_id=123\n",
            "SET sql_mode = @@GLOBAL.sql_mode;",
            "SET NAMES utf8mb4;",
            "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'; -- event_id=7\n",
            "/*!40101 SET NAMES utf8 */;",
            "SET character_set_results = NULL;",
            "SET CHARACTER SET latin1;",
            "SET STATEMENT sql_mode='ANSI_QUOTES' FOR SELECT 1;",
            "SET autocommit=0;",
            "SELECT 'SET sql_mode=ANSI';",
            "settings;",
        ] {
            assert!(!changes_reading(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn every_line_after_the_set_is_a_comment() {
        let lines = b"USE `shop`;\nSET NAMES gbk;\n-- rdsaudit: a note\nDELIMITER $$\nSELECT 1 $$\nDELIMITER ;\n";
        let (mut taint, mut out) = (Taint::default(), Vec::new());
        taint.filter(&lines[..12], &mut out).unwrap();
        taint.filter(&lines[12..], &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got[0], "USE `shop`;");
        assert!(
            got[1].starts_with("-- rdsaudit: not run, it changes how")
                && got[1].ends_with(": SET NAMES gbk;")
        );
        assert_eq!(got[2], "-- rdsaudit: a note");
        for line in &got[3..] {
            assert!(
                line.starts_with("-- rdsaudit: not run, a session changed"),
                "{line}"
            );
        }
        assert_eq!(got.len(), 6);
    }
}
