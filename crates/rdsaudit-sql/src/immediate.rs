//! MariaDB's `EXECUTE IMMEDIATE expr [USING param, ...]` (MariaDB KB, "EXECUTE IMMEDIATE";
//! MySQL has none) prepares and runs the text `expr` evaluates to. The audit plugin logs the
//! `EXECUTE IMMEDIATE` text alone as the QUERY; the tables of the statement it runs come as
//! TABLE events only where `server_audit_events` holds `TABLE` (session 34, recorded on
//! MariaDB 10.11: `EXECUTE IMMEDIATE 'DELETE FROM w WHERE a = 1'` run in `shop` logs a WRITE
//! of `shop.w`, and with `CONNECT,QUERY` nothing names `w`).
//!
//! So when `expr` is a plain string literal, or adjacent ones (`'DELETE FROM ' 'w'`: the
//! server joins them), its value is read as the statement that runs, in the same database
//! ([`Argument::Text`]). Anything else (a variable `@q`, `CONCAT(...)`, a hex literal, a
//! character set introducer `_utf8'...'`, a string the query log limit cut) evaluates to a
//! text the log does not hold ([`Argument::Unknown`]): the statement is
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

/// What `body` (a statement from its verb, see [`crate::statement::start`]) runs when it is
/// `EXECUTE IMMEDIATE ...`, read as a session in `modes` would; `None` for any other statement.
pub(crate) fn argument(body: &[Token<'_>], modes: Modes) -> Option<Argument> {
    let [execute, immediate, rest @ ..] = body else {
        return None;
    };
    if !(execute.is("EXECUTE") && immediate.is("IMMEDIATE")) {
        return None;
    }
    let mut text = Vec::new();
    let mut strings = 0;
    for t in rest {
        let Token::Literal(raw) = t else {
            break;
        };
        // A number, or a string the plugin cut (then it is the last token).
        let Some(value) = unescape(raw, modes) else {
            return Some(Argument::Unknown);
        };
        text.extend_from_slice(&value);
        strings += 1;
    }
    let after = rest.get(strings);
    let plain = strings > 0
        && match after {
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
        for unknown in [
            &b"EXECUTE IMMEDIATE @q"[..],
            b"EXECUTE IMMEDIATE CONCAT('DELETE FROM ', 'w')",
            b"EXECUTE IMMEDIATE _utf8'DELETE FROM w'",
            b"EXECUTE IMMEDIATE x'44454c455445'",
            b"EXECUTE IMMEDIATE 0x44454c455445",
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
