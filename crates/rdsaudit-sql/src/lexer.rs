//! A MySQL tokenizer that survives what the audit log holds: statements cut mid-literal by
//! the plugin's query-log limit, invalid UTF-8, dialect extensions no parser knows.
//!
//! It reads versioned comments the way the server does: the body of `/*!40000 ALTER TABLE t
//! DISABLE KEYS */` (and MariaDB's `/*M!100100 ... */`) is code, since every server this log
//! comes from is newer than the versions such comments name. Other comments, string literals
//! and numbers carry no meaning here and are reduced to a single [`Token::Literal`] or dropped.
//! An unterminated literal or comment runs to the end of the text.
//!
//! ```
//! use rdsaudit_sql::lexer::{Lexer, Token};
//!
//! let tokens: Vec<Token<'_>> = Lexer::new(b"/*!40000 ALTER TABLE `t` DISABLE KEYS */; SELECT 'cut").collect();
//! assert_eq!(tokens[0], Token::Word(b"ALTER"));
//! assert_eq!(tokens[2], Token::Ident(b"t"));
//! assert_eq!(tokens[5], Token::Punct(b';'));
//! assert_eq!(tokens[7], Token::Literal);
//! ```

/// One token; names and words borrow from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A keyword or unquoted name (letters, digits, `_`, `$`, bytes >= 0x80).
    Word(&'a [u8]),
    /// A back-quoted name, without its quotes (a doubled back-quote stays doubled).
    Ident(&'a [u8]),
    /// A string, number or other value.
    Literal,
    /// Any other byte: `(`, `)`, `,`, `.`, `;`, `=`, ...
    Punct(u8),
}

impl Token<'_> {
    /// Whether this is the word `keyword`, compared case-insensitively.
    pub fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword.as_bytes()))
    }
}

/// An iterator over the tokens of a statement text.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    rest: &'a [u8],
    /// Inside `/*!NNNNN ... */`: the next `*/` closes it.
    versioned: bool,
}

impl<'a> Lexer<'a> {
    /// Tokens of `sql` (the unescaped object of a QUERY event).
    pub fn new(sql: &'a [u8]) -> Self {
        Lexer {
            rest: sql,
            versioned: false,
        }
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
                [b'/', b'*', b'!', ..] => self.open_versioned(3),
                [b'/', b'*', b'M', b'!', ..] => self.open_versioned(4),
                [b'/', b'*', ..] => {
                    let end = memchr::memmem::find(self.rest.get(2..).unwrap_or_default(), b"*/")
                        .map_or(self.rest.len(), |i| i + 4);
                    self.advance(end);
                }
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

    fn open_versioned(&mut self, marker: usize) {
        self.advance(marker);
        let digits = self
            .rest
            .iter()
            .take(6)
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.advance(digits);
        self.versioned = true;
    }

    fn skip_line(&mut self) {
        let end = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
        self.advance(end);
    }

    /// The length of a quoted run starting at the opening `quote`, closing quote included
    /// (the whole rest when it is cut). Backslash escapes and doubled quotes stay inside.
    fn quoted_len(&self, quote: u8, backslash: bool) -> usize {
        let mut i = 1;
        while let Some(&b) = self.rest.get(i) {
            let pair =
                (backslash && b == b'\\') || (b == quote && self.rest.get(i + 1) == Some(&quote));
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
        let (token, len) = match first {
            b'\'' | b'"' => (Token::Literal, self.quoted_len(first, true)),
            b'`' => {
                let len = self.quoted_len(b'`', false);
                let body_end = if rest.get(len.saturating_sub(1)) == Some(&b'`') && len > 1 {
                    len - 1
                } else {
                    len
                };
                (Token::Ident(rest.get(1..body_end).unwrap_or_default()), len)
            }
            b if is_word_byte(b) => {
                let len = rest
                    .iter()
                    .position(|&b| !is_word_byte(b))
                    .unwrap_or(rest.len());
                let word = rest.get(..len).unwrap_or_default();
                if word.iter().all(u8::is_ascii_digit) {
                    (Token::Literal, len)
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
                Token::Ident(w) => format!("`{}`", String::from_utf8_lossy(w)),
                Token::Literal => "?".to_owned(),
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

    proptest! {
        #[test]
        fn any_bytes_end(sql in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(Lexer::new(&sql).count() <= sql.len());
        }
    }
}
