//! MariaDB sequences a statement advances or sets. `NEXTVAL(s)`, `NEXT VALUE FOR s` and
//! `SETVAL(s, n)` change the sequence's state (the server writes the sequence table and the
//! binary log carries the change), though the statement around them is a `SELECT` or a `DO`
//! (MariaDB KB "CREATE SEQUENCE", "NEXT VALUE for sequence_name", "SETVAL"). `LASTVAL(s)` and
//! `PREVIOUS VALUE FOR s` only read the session's last value.
//!
//! ```text
//! 20240615 10:31:00,db1,app,localhost,43,19,QUERY,shop,'SELECT NEXTVAL(order_ids)',0
//! ```
//! writes, and names `shop.order_ids`.

use crate::lexer::{Lexer, Reading, Server, Token};
use crate::name::Table;
use crate::tables::{ident, push_unique};

/// The sequences `sql` advances or sets, as written (`db.s` or `s`), in order of first
/// appearance; none when it calls no sequence function. Read from the tokens as code, so
/// text in literals and comments is not a call.
pub(crate) fn advanced(sql: &[u8], server: Server) -> Vec<Table> {
    let mut names = Vec::new();
    if !mentions_one(sql) {
        return names;
    }
    let tokens: Vec<Token<'_>> = Lexer::reading(sql, server, Reading::Code)
        .take(crate::MAX_TOKENS)
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let call =
            (t.is("NEXTVAL") || t.is("SETVAL")) && tokens.get(i + 1) == Some(&Token::Punct(b'('));
        let next_value = t.is("NEXT")
            && tokens.get(i + 1).is_some_and(|t| t.is("VALUE"))
            && tokens.get(i + 2).is_some_and(|t| t.is("FOR"));
        let at = match (call, next_value) {
            (true, _) => i + 2,
            (_, true) => i + 3,
            _ => continue,
        };
        if let Some(name) = name_at(&tokens, at) {
            push_unique(&mut names, name);
        }
    }
    names
}

/// Whether `sql` holds `next` or `setval` in any case: the words every advancing call holds,
/// checked before the text is read as tokens (most statements hold neither).
fn mentions_one(sql: &[u8]) -> bool {
    let has = |word: &[u8]| {
        sql.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    has(b"next") || has(b"setval")
}

/// `s`, `db.s`, `` `db`.`s` `` at `at`.
fn name_at(tokens: &[Token<'_>], at: usize) -> Option<Table> {
    let part = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(String::from_utf8_lossy(w).into_owned()),
        Some(Token::Ident(w)) => Some(ident(w)),
        _ => None,
    };
    let first = part(at)?;
    match (tokens.get(at + 1), part(at + 2)) {
        (Some(Token::Punct(b'.')), Some(second)) => Some(Table::new(first, second)),
        _ => Some(Table::new("", first)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<Table> {
        advanced(sql.as_bytes(), Server::default())
    }

    #[test]
    fn calls_and_the_next_value_form_name_their_sequence() {
        assert_eq!(names("SELECT NEXTVAL(s1)"), ["s1"]);
        assert_eq!(names("select nextval(`shop`.`ids`), 1"), ["shop.ids"]);
        assert_eq!(names("DO SETVAL(s1, 100)"), ["s1"]);
        assert_eq!(names("SELECT NEXT VALUE FOR shop.ids"), ["shop.ids"]);
        assert_eq!(
            names("INSERT INTO t VALUES (NEXTVAL(a), NEXT VALUE FOR b, NEXTVAL(a))"),
            ["a", "b"]
        );
    }

    #[test]
    fn reads_literals_and_comments_name_none() {
        assert!(names("SELECT LASTVAL(s1), PREVIOUS VALUE FOR s1").is_empty());
        assert!(names("SELECT 'NEXTVAL(s1)', \"SETVAL(s1, 1)\"").is_empty());
        assert!(names("SELECT 1 /* NEXT VALUE FOR s1 */").is_empty());
        assert!(names("SELECT next_day, nextval FROM t").is_empty());
    }
}
