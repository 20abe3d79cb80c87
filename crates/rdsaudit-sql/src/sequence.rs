//! MariaDB sequences a statement advances or sets. `NEXTVAL(s)`, `NEXT VALUE FOR s` and
//! `SETVAL(s, n)` change the sequence's state (the server writes the sequence table and the
//! binary log carries the change), though the statement around them is a `SELECT` or a `DO`
//! (MariaDB KB "CREATE SEQUENCE", "NEXT VALUE for sequence_name", "SETVAL"). `LASTVAL(s)` and
//! `PREVIOUS VALUE FOR s` only read the session's last value: the sequence is among the
//! statement's tables (the server logs a READ event), not written.
//!
//! ```text
//! 20240615 10:31:00,db1,app,localhost,43,19,QUERY,shop,'SELECT NEXTVAL(order_ids)',0
//! ```
//! writes, and names `shop.order_ids`.

use crate::lexer::{Lexer, Modes, Reading, Server, Token};
use crate::name::Table;
use crate::tables::{ident, push_unique};

/// The sequences `sql` uses, as written (`db.s` or `s`), in order of first appearance: those
/// it advances or sets, and those it only reads (`LASTVAL(s)`, `PREVIOUS VALUE FOR s`: the
/// server logs a READ event; review 31 advE, they were not named). None when it calls no
/// sequence function. Read from the tokens as code, so text in literals and comments is not a
/// call.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Used {
    pub(crate) advanced: Vec<Table>,
    pub(crate) read: Vec<Table>,
    /// The text has more than [`crate::MAX_TOKENS`] tokens: a call past them was not read.
    pub(crate) cut: bool,
}

/// Read only when [`mentions_one`] (the caller checks it once per text).
pub(crate) fn used(sql: &[u8], server: Server, modes: Modes) -> Used {
    let mut used = Used::default();
    let mut lexer = Lexer::reading(sql, server, Reading::Code).with_modes(modes);
    let tokens: Vec<Token<'_>> = lexer.by_ref().take(crate::MAX_TOKENS).collect();
    used.cut = lexer.next().is_some();
    let word_at = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is(w));
    for (i, t) in tokens.iter().enumerate() {
        let opens = tokens.get(i + 1) == Some(&Token::Punct(b'('));
        let value_for = word_at(i + 1, "VALUE") && word_at(i + 2, "FOR");
        let oracle = if modes.ansi_quotes && !opens {
            oracle_call(&tokens, i)
        } else {
            None
        };
        if let Some((name, advances)) = oracle {
            let list = if advances {
                &mut used.advanced
            } else {
                &mut used.read
            };
            push_unique(list, name);
            continue;
        }
        let (at, advances) = if (t.is("NEXTVAL") || t.is("SETVAL")) && opens {
            (i + 2, true)
        } else if t.is("LASTVAL") && opens {
            (i + 2, false)
        } else if (t.is("NEXT") || t.is("PREVIOUS")) && value_for {
            (i + 3, t.is("NEXT"))
        } else {
            continue;
        };
        if let Some(name) = name_at(&tokens, at) {
            let list = if advances {
                &mut used.advanced
            } else {
                &mut used.read
            };
            push_unique(list, name);
        }
    }
    used
}

/// The sequences `sql` advances or sets ([`used`]).
#[cfg(test)]
fn advanced(sql: &[u8], server: Server) -> Vec<Table> {
    used(sql, server, Modes::default()).advanced
}

/// Whether `sql` may call a sequence function, checked before the text is read as tokens (most
/// statements call none): every call holds `val` (`NEXTVAL`, `SETVAL`, `LASTVAL`, `NEXT VALUE`,
/// `PREVIOUS VALUE`, and `ORACLE`'s `s.nextval`, `s.currval`), found with `memchr` at its `v`.
/// A `val` right after `next`, `set`, `last` or `curr` may be a call; so may a whole word
/// `value` (not `values`) in a text that holds `next` or `previous` before it (a comment may
/// stand between the two words).
pub(crate) fn mentions_one(sql: &[u8]) -> bool {
    let ends_with = |end: usize, word: &[u8]| {
        end.checked_sub(word.len())
            .and_then(|start| sql.get(start..end))
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    // Where the first `next` or `previous` ends, found once when a word `value` is first
    // met: searching the text before each `value` again was quadratic (session 33 advS F5:
    // 22.5 s for 280 KB of `SELECT value, value, ...`).
    let mut call_word_end: Option<Option<usize>> = None;
    memchr::memchr2_iter(b'v', b'V', sql).any(|p| {
        let at = |i: usize, lower: u8| {
            sql.get(p + i)
                .is_some_and(|b| b.to_ascii_lowercase() == lower)
        };
        if !(at(1, b'a') && at(2, b'l')) {
            return false;
        }
        if [&b"next"[..], b"set", b"last", b"curr"]
            .iter()
            .any(|w| ends_with(p, w))
        {
            return true;
        }
        let word_value = at(3, b'u')
            && at(4, b'e')
            && !sql
                .get(p + 5)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            && !p
                .checked_sub(1)
                .and_then(|q| sql.get(q))
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        word_value
            && call_word_end
                .get_or_insert_with(|| first_end(sql, &[b"next", b"previous"]))
                .is_some_and(|end| end <= p)
    })
}

/// Whether `sql` may hold `ORACLE`'s `s.nextval` or `s.currval` ([`oracle_call`]): a `val`
/// right after `next` or `curr`. Checked before reading a text that holds no `"` under
/// `ANSI_QUOTES` (the reading `ORACLE` implies), which only such a call would make differ.
pub(crate) fn may_call_oracle(sql: &[u8]) -> bool {
    memchr::memchr2_iter(b'v', b'V', sql).any(|p| {
        let word = |start: usize, w: &[u8]| {
            sql.get(start..start + w.len())
                .is_some_and(|x| x.eq_ignore_ascii_case(w))
        };
        word(p, b"val")
            && p.checked_sub(4)
                .is_some_and(|s| word(s, b"next") || word(s, b"curr"))
    })
}

/// Where the first of `words` (ASCII, any case) to end in `text` ends.
fn first_end(text: &[u8], words: &[&[u8]]) -> Option<usize> {
    words
        .iter()
        .filter_map(|word| {
            text.windows(word.len())
                .position(|w| w.eq_ignore_ascii_case(word))
                .map(|start| start + word.len())
        })
        .min()
}

/// The Oracle form at `i` (`s.nextval`, `"db"."s".currval`, `` s . `NextVal` ``): the
/// sequence, and whether it is advanced (`nextval`) or read (`currval`). MariaDB takes it in
/// an `ORACLE` session only (`sql_yacc_ora.yy`, `LEX::create_item_ident`; `s.lastval` and
/// `s.setval` are unknown columns there, 1109; checked on MariaDB 10.11), and `ORACLE`
/// includes `ANSI_QUOTES`, so only the readings under it read this (session 33 advS F1:
/// `SELECT s.nextval` advanced `s` unseen).
fn oracle_call(tokens: &[Token<'_>], i: usize) -> Option<(Table, bool)> {
    let word = |t: &Token<'_>, w: &str| match t {
        Token::Word(b) | Token::Ident(b, _) => b.eq_ignore_ascii_case(w.as_bytes()),
        _ => false,
    };
    let t = tokens.get(i)?;
    let advances = if word(t, "NEXTVAL") {
        true
    } else if word(t, "CURRVAL") {
        false
    } else {
        return None;
    };
    let before = i.checked_sub(1)?;
    if tokens.get(before) != Some(&Token::Punct(b'.')) {
        return None;
    }
    let name_at = before.checked_sub(1)?;
    let table = match name_at
        .checked_sub(2)
        .filter(|&db| tokens.get(db + 1) == Some(&Token::Punct(b'.')))
    {
        Some(db) => name_at_parts(tokens, db)?,
        None => Table::from_bytes(b"", &part(tokens, name_at)?),
    };
    Some((table, advances))
}

fn part<'a>(tokens: &[Token<'a>], i: usize) -> Option<std::borrow::Cow<'a, [u8]>> {
    match tokens.get(i) {
        Some(Token::Word(w)) => Some(std::borrow::Cow::Borrowed(*w)),
        Some(Token::Ident(w, q)) => Some(ident(w, *q)),
        _ => None,
    }
}

/// `db.s` at `at` (both parts names).
fn name_at_parts(tokens: &[Token<'_>], at: usize) -> Option<Table> {
    Some(Table::from_bytes(
        &part(tokens, at)?,
        &part(tokens, at + 2)?,
    ))
}

/// `s`, `db.s`, `` `db`.`s` `` at `at`.
fn name_at(tokens: &[Token<'_>], at: usize) -> Option<Table> {
    let part = |i: usize| part(tokens, i);
    let first = part(at)?;
    match (tokens.get(at + 1), part(at + 2)) {
        (Some(Token::Punct(b'.')), Some(second)) => Some(Table::from_bytes(&first, &second)),
        _ => Some(Table::from_bytes(b"", &first)),
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
        assert_eq!(
            used(
                b"SELECT LASTVAL(s1), PREVIOUS VALUE FOR db.s2",
                Server::default(),
                Modes::default()
            )
            .read,
            ["s1", "db.s2"]
        );
        assert!(names("SELECT 'NEXTVAL(s1)', \"SETVAL(s1, 1)\"").is_empty());
        assert!(names("SELECT 1 /* NEXT VALUE FOR s1 */").is_empty());
        assert!(names("SELECT next_day, nextval FROM t").is_empty());
        for sql in [
            "select nextval(s)",
            "SELECT SETVAL(s, 1)",
            "SELECT LastVal(s)",
            "SELECT NEXT VALUE FOR s",
            "SELECT PREVIOUS /* x */ VALUE FOR s",
        ] {
            assert!(mentions_one(sql.as_bytes()), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "INSERT INTO next VALUES (1)",
            "SELECT interval, valid FROM t",
        ] {
            assert!(!mentions_one(sql.as_bytes()), "{sql}");
        }
    }

    /// [`mentions_one`] as first written: the text before each word `value` searched again
    /// (quadratic), the oracle for the one search it does now.
    fn mentions_one_reference(sql: &[u8]) -> bool {
        let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        let has_before = |end: usize, w: &[u8]| {
            sql[..end]
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w))
        };
        (0..sql.len()).any(|p| {
            let lower = |i: usize| sql.get(p + i).map(u8::to_ascii_lowercase);
            let val = lower(0) == Some(b'v') && lower(1) == Some(b'a') && lower(2) == Some(b'l');
            let after = |w: &[u8]| p >= w.len() && sql[p - w.len()..p].eq_ignore_ascii_case(w);
            let value = lower(3) == Some(b'u')
                && lower(4) == Some(b'e')
                && !word(sql.get(p + 5))
                && !word(p.checked_sub(1).and_then(|q| sql.get(q)));
            val && (after(b"next")
                || after(b"set")
                || after(b"last")
                || after(b"curr")
                || value && (has_before(p, b"next") || has_before(p, b"previous")))
        })
    }

    proptest::proptest! {
        #[test]
        fn one_search_for_the_call_words_agrees_with_the_reference(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "value", "VALUE", "values", "next", "Previous", "prev", "val", "nextval",
                    "set", "last", " ", ",", "(", "_", "x", "'", "/* */", "ious", "v",
                ]),
                0..24,
            )
        ) {
            let sql = parts.concat();
            proptest::prop_assert_eq!(
                mentions_one(sql.as_bytes()),
                mentions_one_reference(sql.as_bytes()),
                "{}", sql
            );
        }
    }
}
