//! MariaDB's `EXECUTE IMMEDIATE expr [USING param, ...]` (MariaDB KB, "EXECUTE IMMEDIATE";
//! MySQL has none) prepares and runs the text `expr` evaluates to. The audit plugin logs the
//! `EXECUTE IMMEDIATE` text alone as the QUERY; the tables of the statement it runs come as
//! TABLE events only where `server_audit_events` holds `TABLE` (session 34, recorded on
//! MariaDB 10.11: `EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = 1'` run in `shop` logs a WRITE
//! of `shop.w`, and with `CONNECT,QUERY` nothing names `w`).
//!
//! So when `expr` is a plain string literal, or adjacent ones (`'DELETE FROM ' 'w'`: the
//! server joins them), in parentheses or not, or one ASCII string under an introducer that
//! keeps its bytes (`N'...'`, `_utf8mb4'...'`), or a hex literal of ASCII bytes, its value is
//! read as the statement that runs, in the same database ([`Argument::Text`]). Anything else
//! (a variable `@q`, `CONCAT(...)`, `_utf16'...'`, a string the query log limit cut)
//! evaluates to a text the log does not hold ([`Argument::Unknown`]): the statement is
//! [`crate::Analysis::partial`], a write candidate. A text run by `EXECUTE IMMEDIATE` cannot
//! itself be one (error 1295, `ER_UNSUPPORTED_PS`, checked on 10.11), and is read once only.

use crate::lexer::{Modes, Token, unescape};

/// What an `EXECUTE IMMEDIATE` statement runs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Argument {
    /// The text of its plain string literal(s), unescaped as the reading's session would.
    Text(Vec<u8>),
    /// A text the log does not hold.
    Unknown,
}

/// Words that continue an expression after a string (`'a' OR ...`, `'a' COLLATE c`,
/// `'a' NOT LIKE ...`): the argument is then no plain string. Any other word right after the
/// strings is a syntax error in this reading (nothing runs), or the start of a text the
/// plugin cut; `USING` begins the parameters.
const OPERATOR_WORDS: &[&str] = &[
    "AND", "OR", "XOR", "NOT", "IS", "IN", "LIKE", "BETWEEN", "REGEXP", "RLIKE", "SOUNDS", "DIV",
    "MOD", "COLLATE", "MEMBER", "ESCAPE",
];

/// Bytes that continue an expression after a string (`'a' || 'b'` in an `ORACLE` or
/// `PIPES_AS_CONCAT` session, `'a' + 1`, `'a' := ...`). Any other (`,`, `)`, `\`: `'x\' \'...`
/// is how a `NO_BACKSLASH_ESCAPES` session reads `'x\'\''`) is a syntax error there.
const OPERATOR_BYTES: &[u8] = b"+-*/%=<>!&|^:";

/// Introducers that leave an ASCII string's bytes as they are (`N'...'` is `utf8`): the text
/// an `EXECUTE IMMEDIATE` of one runs is the string's, when it is ASCII. Others (`_utf16`,
/// `_ucs2`, ...) read the bytes as another text.
const ASCII_INTRODUCERS: &[&str] = &[
    "N", "_utf8", "_utf8mb3", "_utf8mb4", "_latin1", "_ascii", "_binary",
];

/// What `body` (a statement from its verb, see [`crate::statement::start`]) runs when it is
/// `EXECUTE IMMEDIATE ...`, read as a session in `modes` would; `None` for any other statement.
///
/// The argument is read when it is plain strings (adjacent ones joined), in parentheses or
/// not, or one ASCII string under an [`ASCII_INTRODUCERS`] introducer, or one hex literal
/// (`x'44...'`, `0x44...`) of ASCII bytes: the text each evaluates to is in the log (session
/// 35's adversary 2 recorded `EXECUTE IMMEDIATE ('DROP USER x1@localhost')`, `N'...'`,
/// `_utf8mb4'...'` and `x'...'` each dropping its user on MariaDB 10.11.14).
pub(crate) fn argument(body: &[Token<'_>], modes: Modes) -> Option<Argument> {
    let [execute, immediate, rest @ ..] = body else {
        return None;
    };
    if !(execute.is("EXECUTE") && immediate.is("IMMEDIATE")) {
        return None;
    }
    let open = rest
        .iter()
        .take_while(|t| **t == Token::Punct(b'('))
        .count();
    let inner = rest.get(open..).unwrap_or_default();
    let Some((text, used)) = value(inner, modes) else {
        return Some(Argument::Unknown);
    };
    let after = inner.get(used..).unwrap_or_default();
    if matches!(after.first(), Some(Token::Literal(_))) {
        // A string after a hex literal: not one the server joins.
        return Some(Argument::Unknown);
    }
    let closed = after.iter().take(open).all(|t| *t == Token::Punct(b')'));
    let plain = closed
        && after.len() >= open
        && match after.get(open) {
            None => true,
            Some(Token::Punct(p)) => !OPERATOR_BYTES.contains(p),
            Some(t @ Token::Word(_)) => !OPERATOR_WORDS.iter().any(|w| t.is(w)),
            Some(_) => true,
        };
    Some(if plain {
        Argument::Text(text)
    } else {
        Argument::Unknown
    })
}

/// The text the literal(s) at the start of `tokens` evaluate to, and how many tokens they
/// take; `None` when it is not in the log (no literal, a number, a string the plugin cut, a
/// text under an introducer or in hex that is not ASCII).
fn value(tokens: &[Token<'_>], modes: Modes) -> Option<(Vec<u8>, usize)> {
    match tokens {
        [Token::Word(w), Token::Literal(raw), ..] if is_hex_word(w) => {
            Some((ascii(hex(raw.strip_prefix(b"'")?.strip_suffix(b"'")?)?)?, 2))
        }
        // `0x` in lower case only: `0X44` is a name.
        [Token::Word(w), ..] if w.len() > 2 && w.starts_with(b"0x") => {
            Some((ascii(hex(w.get(2..)?)?)?, 1))
        }
        // `N'DELETE FROM v' 'w'` is `DELETE FROM vw`: the strings after the first are joined.
        [intro @ Token::Word(_), Token::Literal(_), ..]
            if ASCII_INTRODUCERS.iter().any(|i| intro.is(i)) =>
        {
            let (text, n) = strings(tokens.get(1..)?, modes)?;
            Some((ascii(text)?, n + 1))
        }
        _ => strings(tokens, modes),
    }
}

/// Plain strings, adjacent ones joined as the server joins them.
fn strings(tokens: &[Token<'_>], modes: Modes) -> Option<(Vec<u8>, usize)> {
    let mut text = Vec::new();
    let mut n = 0;
    for t in tokens {
        let Token::Literal(raw) = t else {
            break;
        };
        // A number, or a string the plugin cut (then it is the last token).
        text.extend_from_slice(&unescape(raw, modes)?);
        n += 1;
    }
    (n > 0).then_some((text, n))
}

/// `x` or `X`, the word before a hex string literal.
fn is_hex_word(w: &[u8]) -> bool {
    w.eq_ignore_ascii_case(b"x")
}

/// The bytes of an even number of hex digits.
fn hex(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    digits
        .chunks_exact(2)
        .map(|p| Some(nibble(*p.first()?)? << 4 | nibble(*p.get(1)?)?))
        .collect()
}

fn ascii(text: Vec<u8>) -> Option<Vec<u8>> {
    text.is_ascii().then_some(text)
}

/// Whether `sql` may hold `EXECUTE IMMEDIATE`: the word `immediate`, in any case. Asked only
/// of a text holding a backslash (see [`crate::other_readings`]), so others pay nothing.
pub(crate) fn mentions(sql: &[u8]) -> bool {
    const WORD: &[u8] = b"immediate";
    memchr::memchr2_iter(b'm', b'M', sql).any(|p| {
        p.checked_sub(1)
            .and_then(|start| sql.get(start..start + WORD.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(WORD))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;

    fn read(sql: &[u8], modes: Modes) -> Option<Argument> {
        let tokens: Vec<Token<'_>> = Lexer::new(sql).with_modes(modes).collect();
        argument(&tokens, modes)
    }

    fn text(s: &str) -> Option<Argument> {
        Some(Argument::Text(s.as_bytes().to_vec()))
    }

    #[test]
    fn plain_strings_are_read_anything_else_is_unknown() {
        let d = Modes::default();
        let ansi = Modes {
            ansi_quotes: true,
            ..d
        };
        let nbe = Modes {
            no_backslash_escapes: true,
            ..d
        };
        assert_eq!(
            read(b"EXECUTE IMMEDIATE 'DELETE FROM w'", d),
            text("DELETE FROM w")
        );
        assert_eq!(
            read(b"execute  immediate 'DELETE FROM ' \"w\" USING 1, @a", d),
            text("DELETE FROM w")
        );
        assert_eq!(
            read(br"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = \'x\''", d),
            text("DELETE FROM w WHERE a = 'x'")
        );
        // The same text in a NO_BACKSLASH_ESCAPES session: a syntax error after `'...\'`.
        assert_eq!(
            read(br"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = \'x\''", nbe),
            text(r"DELETE FROM w WHERE a = \")
        );
        assert_eq!(
            read(b"EXECUTE IMMEDIATE \"DELETE FROM w\"", ansi),
            Some(Argument::Unknown)
        );
        // Parentheses, introducers that keep an ASCII string, hex of ASCII bytes (session 35).
        for (sql, run) in [
            (&b"EXECUTE IMMEDIATE ('DELETE FROM w')"[..], "DELETE FROM w"),
            (
                b"EXECUTE IMMEDIATE (('DELETE FROM ' 'w')) USING 1",
                "DELETE FROM w",
            ),
            (b"EXECUTE IMMEDIATE N'DELETE FROM w'", "DELETE FROM w"),
            (b"EXECUTE IMMEDIATE N'DELETE FROM v' 'w'", "DELETE FROM vw"),
            (
                b"EXECUTE IMMEDIATE (_utf8mb4'DELETE FROM v' \"w\")",
                "DELETE FROM vw",
            ),
            (
                b"EXECUTE IMMEDIATE _utf8mb4'DELETE FROM w'",
                "DELETE FROM w",
            ),
            (
                b"EXECUTE IMMEDIATE (_latin1'DELETE FROM w')",
                "DELETE FROM w",
            ),
            (
                b"EXECUTE IMMEDIATE x'44454c4554452046524f4d2077'",
                "DELETE FROM w",
            ),
            (
                b"EXECUTE IMMEDIATE 0x44454C4554452046524F4D2077",
                "DELETE FROM w",
            ),
        ] {
            assert_eq!(read(sql, d), text(run), "{}", String::from_utf8_lossy(sql));
        }
        for unknown in [
            &b"EXECUTE IMMEDIATE @q"[..],
            b"EXECUTE IMMEDIATE CONCAT('DELETE FROM ', 'w')",
            b"EXECUTE IMMEDIATE _utf16'DELETE FROM w'",
            b"EXECUTE IMMEDIATE _utf8'DELETE FROM \xc3\xa9'",
            b"EXECUTE IMMEDIATE x'44454c45544'",
            b"EXECUTE IMMEDIATE x'c3a9'",
            b"EXECUTE IMMEDIATE x'44454c4554452046524f4d2076' 'w'",
            b"EXECUTE IMMEDIATE _utf8mb4'DELETE FROM v' '\xc3\xa9'",
            b"EXECUTE IMMEDIATE 0x4g",
            b"EXECUTE IMMEDIATE 0X44454C4554452046524F4D2077",
            b"EXECUTE IMMEDIATE ('DELETE FROM w'",
            b"EXECUTE IMMEDIATE ('DELETE FROM ') || 'w'",
            b"EXECUTE IMMEDIATE ('DELETE FROM w') COLLATE utf8mb4_bin",
            b"EXECUTE IMMEDIATE 'DELETE FROM ' || 'w'",
            b"EXECUTE IMMEDIATE 'DELETE FROM w' COLLATE utf8mb4_bin",
            b"EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = ",
            b"EXECUTE IMMEDIATE 7",
            b"EXECUTE IMMEDIATE",
        ] {
            assert_eq!(
                read(unknown, d),
                Some(Argument::Unknown),
                "{}",
                String::from_utf8_lossy(unknown)
            );
        }
        assert_eq!(read(b"EXECUTE s USING @a", d), None);
        assert_eq!(read(b"SELECT 'EXECUTE IMMEDIATE'", d), None);
    }

    #[test]
    fn the_word_is_found_in_any_case() {
        assert!(mentions(b"execute ImMediate 'x'"));
        assert!(mentions(b"IMMEDIATE"));
        assert!(!mentions(b"IMMEDIAT"));
        assert!(!mentions(b"mmediate"));
    }
}
