//! Where the statement that runs begins, inside the wrappers that run another statement:
//!
//! - MariaDB's `SET STATEMENT var=value [, ...] FOR statement` (MariaDB KB, "SET STATEMENT")
//!   runs `statement`;
//! - MariaDB's `ANALYZE [FORMAT=JSON] statement` (KB, "ANALYZE Statement") and MySQL's
//!   `EXPLAIN ANALYZE statement` (Reference Manual, "EXPLAIN Statement") run it too; a plain
//!   `EXPLAIN` does not;
//! - compound statements, which MariaDB also runs outside stored programs (KB, "Using
//!   Compound Statements Outside of Stored Programs": `BEGIN NOT ATOMIC`, `IF`, `CASE`,
//!   `LOOP`, `REPEAT`, `WHILE`, `FOR`). A text is cut at each `;`, so a compound's parts
//!   come one by one: `BEGIN NOT ATOMIC DELETE FROM t`, `END`. In each part the labels
//!   (`lbl:`), openers (`BEGIN [NOT ATOMIC]`, `ELSE`, `LOOP`, `REPEAT`), conditions (`IF ...
//!   THEN`, `WHILE ... DO`, `WHEN ... THEN`) and handler heads (`DECLARE ... HANDLER FOR
//!   conditions`) are skipped; a part that is only `END ...`, `UNTIL ...` or a `DECLARE` of a
//!   variable, cursor or condition runs no statement. MariaDB also logs each statement a
//!   compound runs as its own QUERY event.
//!
//! ```
//! use rdsaudit_sql::lexer::Lexer;
//! use rdsaudit_sql::statement::start;
//!
//! let part: Vec<_> = Lexer::new(b"SET STATEMENT max_statement_time=1 FOR DELETE FROM t").collect();
//! assert!(part[start(&part)].is("DELETE"));
//! ```

use crate::class::{StatementClass, classify_tokens};
use crate::lexer::Token;

/// Wrappers unwrapped per part at most (each one skips at least one token).
const MAX_WRAPPERS: usize = 16;

/// Words after which a compound's next statement may begin.
const LEADS: &[&str] = &["THEN", "DO", "ELSE", "LOOP", "REPEAT"];

/// The index in `part` (one statement, no `;`) where the statement that runs begins;
/// `part.len()` when it runs none.
pub fn start(part: &[Token<'_>]) -> usize {
    let mut at = 0;
    for _ in 0..MAX_WRAPPERS {
        match unwrap(part, at) {
            Some(next) if next > at => at = next,
            Some(_) => return at,
            None => return part.len(),
        }
    }
    at
}

/// One wrapper skipped: where its statement begins (`at` itself when there is no wrapper),
/// or `None` when the part runs no statement.
fn unwrap(part: &[Token<'_>], at: usize) -> Option<usize> {
    let word = |i: usize| part.get(at + i).copied().unwrap_or(Token::Literal(b""));
    let first = word(0);
    if matches!(first, Token::Word(_) | Token::Ident(..)) && word(1) == Token::Punct(b':') {
        return Some(at + 2);
    }
    let is = |w: &str| first.is(w);
    if is("BEGIN") {
        return Some(match (word(1), word(2)) {
            (n, a) if n.is("NOT") && a.is("ATOMIC") => at + 3,
            (w, _) if w.is("WORK") || matches!(w, Token::Literal(_)) => at,
            _ => at + 1,
        });
    }
    if is("SET") && word(1).is("STATEMENT") {
        return Some(after_depth0(part, at, &["FOR"]).unwrap_or(part.len()));
    }
    let runs_next = [
        "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "FORMAT",
    ]
    .iter()
    .any(|w| word(1).is(w));
    if is("ANALYZE") && runs_next {
        return Some(skip_format(part, at + 1));
    }
    if (is("EXPLAIN") || is("DESCRIBE") || is("DESC")) && word(1).is("ANALYZE") {
        return Some(skip_format(part, at + 2));
    }
    if is("ELSE") || is("LOOP") || is("REPEAT") {
        return Some(at + 1);
    }
    if ["IF", "ELSEIF", "WHEN", "WHILE", "CASE", "FOR"]
        .iter()
        .any(|w| is(w))
    {
        return first_statement_after(part, at, LEADS, false);
    }
    if is("DECLARE") {
        let handler = (at..part.len()).find(|&i| part.get(i).is_some_and(|t| t.is("HANDLER")))?;
        return first_statement_after(part, handler, &["FOR"], true);
    }
    if is("END") || is("UNTIL") {
        return None;
    }
    Some(at)
}

/// `FORMAT = name` (MariaDB's ANALYZE, MySQL's EXPLAIN) skipped; a text cut after the `=`
/// ends at the part's end.
fn skip_format(part: &[Token<'_>], at: usize) -> usize {
    if part.get(at).is_some_and(|t| t.is("FORMAT")) && part.get(at + 1) == Some(&Token::Punct(b'='))
    {
        (at + 3).min(part.len())
    } else {
        at
    }
}

/// Just after the first of `words` outside parentheses, from `at`.
fn after_depth0(part: &[Token<'_>], at: usize, words: &[&str]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in part.iter().enumerate().skip(at + 1) {
        match t {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth = depth.saturating_sub(1),
            _ if depth == 0 && words.iter().any(|w| t.is(w)) => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The first statement that begins just after one of `leads`, or anywhere after the first
/// lead when `anywhere` (a handler's conditions come between `FOR` and its statement). A
/// condition may hold `CASE WHEN ... THEN value END`: a `THEN` not followed by a statement
/// is passed over.
fn first_statement_after(
    part: &[Token<'_>],
    at: usize,
    leads: &[&str],
    anywhere: bool,
) -> Option<usize> {
    let is_lead = |i: usize| part.get(i).is_some_and(|t| leads.iter().any(|w| t.is(w)));
    let lead = (at + 1..part.len()).find(|&i| is_lead(i))?;
    (lead + 1..part.len()).find(|&i| {
        (anywhere || is_lead(i - 1)) && begins_statement(part.get(i..).unwrap_or_default())
    })
}

/// Whether a statement (or a compound opener) begins at the start of `tokens`. A verb
/// followed by `(` is a function (`INSERT(str, ...)`, `REPLACE(...)`).
fn begins_statement(tokens: &[Token<'_>]) -> bool {
    let Some(Token::Word(_)) = tokens.first() else {
        return false;
    };
    if tokens.get(1) == Some(&Token::Punct(b'(')) {
        return false;
    }
    let opener = ["BEGIN", "IF", "CASE", "WHILE", "LOOP", "REPEAT", "FOR"]
        .iter()
        .any(|w| tokens.first().is_some_and(|t| t.is(w)));
    opener || classify_tokens(tokens).0 != StatementClass::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;
    use proptest::prelude::*;

    fn words() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "BEGIN",
            "NOT",
            "ATOMIC",
            "IF",
            "THEN",
            "ELSE",
            "END",
            "WHILE",
            "DO",
            "DECLARE",
            "HANDLER",
            "FOR",
            "SET",
            "STATEMENT",
            "ANALYZE",
            "EXPLAIN",
            "FORMAT",
            "=",
            "(",
            ")",
            ":",
            "DELETE",
            "FROM",
            "t",
            "INSERT",
            "SELECT",
            "1",
            "'x'",
            "CASE",
            "WHEN",
        ]);
        prop::collection::vec(word, 0..24).prop_map(|w| w.join(" "))
    }

    proptest! {
        /// Any mix of wrapper words: the start is inside the part, and a statement that
        /// begins there is one the tokens can class.
        #[test]
        fn start_stays_inside_the_part(text in words()) {
            let part: Vec<Token<'_>> = Lexer::new(text.as_bytes()).collect();
            let at = start(&part);
            prop_assert!(at <= part.len());
            let _ = classify_tokens(&part[at..]);
        }
    }

    #[test]
    fn wrappers_and_compounds() {
        let at = |sql: &str| {
            let part: Vec<Token<'_>> = Lexer::new(sql.as_bytes()).collect();
            let i = start(&part);
            part.get(i).map(|t| match t {
                Token::Word(w) => String::from_utf8_lossy(w).into_owned(),
                other => format!("{other:?}"),
            })
        };
        assert_eq!(at("BEGIN").as_deref(), Some("BEGIN"));
        assert_eq!(at("BEGIN WORK").as_deref(), Some("BEGIN"));
        assert_eq!(at("END IF"), None);
        assert_eq!(at("DECLARE n INT DEFAULT 0"), None);
        assert_eq!(at("ANALYZE TABLE t").as_deref(), Some("ANALYZE"));
        assert_eq!(at("ANALYZE LOCAL TABLE t").as_deref(), Some("ANALYZE"));
        assert_eq!(at("EXPLAIN DELETE FROM t").as_deref(), Some("EXPLAIN"));
        assert_eq!(
            at("IF INSERT('abc', 1, 1, 'z') = 'z' THEN REPLACE INTO t VALUES (1)").as_deref(),
            Some("REPLACE")
        );
        assert_eq!(at("x: LOOP DELETE FROM t").as_deref(), Some("DELETE"));
        assert_eq!(at("UNTIL n > 3 END REPEAT"), None);
    }
}
