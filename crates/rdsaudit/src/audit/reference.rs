//! The reference splitter: an explicit byte-at-a-time state machine with no search, no
//! anchors and no retries. It only knows the quoting rule, so it is right exactly for lines
//! whose header fields hold no commas, which is what the property tests generate; the fast
//! scanner in [`crate::audit::scanner`] must agree with it on every such line.

use super::scanner::{RawLine, trim_newline};
use crate::audit::event::Operation;

#[derive(Clone, Copy)]
enum State {
    /// At the first byte of a field.
    FieldStart,
    /// Inside a field that is not quoted.
    Unquoted,
    /// Inside a quoted object.
    Quoted,
    /// Right after a `\` inside a quoted object: the next byte is escaped, whatever it is.
    Escape,
    /// Right after an unescaped `'` inside a quoted object: it closes the object if a comma or
    /// the end of the line follows.
    Quote,
}

/// Splits `line` into fields, or `None` when it has fewer than ten or an unclosed object.
pub fn split(line: &[u8]) -> Option<RawLine<'_>> {
    let line = trim_newline(line);
    // (start, end, quoted) of each finished field.
    let mut fields: Vec<(usize, usize, bool)> = Vec::new();
    let mut state = State::FieldStart;
    let mut start = 0;
    for (i, &b) in line.iter().enumerate() {
        state = match (state, b) {
            (State::FieldStart, b'\'') if object_may_be_quoted(line, &fields) => State::Quoted,
            (State::FieldStart | State::Unquoted, b',') => {
                fields.push((start, i, false));
                start = i + 1;
                State::FieldStart
            }
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
            (State::Quoted, b'\\') | (State::Quote, b'\\') => State::Escape,
            (State::Quoted, b'\'') | (State::Quote, b'\'') => State::Quote,
            (State::Quote, b',') => {
                fields.push((start + 1, i - 1, true));
                start = i + 1;
                State::FieldStart
            }
            (State::Quoted | State::Escape | State::Quote, _) => State::Quoted,
        };
    }
    match state {
        State::FieldStart | State::Unquoted => fields.push((start, line.len(), false)),
        State::Quote => fields.push((start + 1, line.len() - 1, true)),
        State::Quoted | State::Escape => return None,
    }
    build(line, &fields)
}

/// Only the object (field 8) is ever quoted, and only for operations that are neither TABLE
/// nor connection events.
fn object_may_be_quoted(line: &[u8], fields: &[(usize, usize, bool)]) -> bool {
    fields.len() == 8
        && fields.get(6).is_some_and(|&(s, e, _)| {
            let op = std::str::from_utf8(line.get(s..e).unwrap_or_default()).unwrap_or("");
            let op = Operation::from_token(op);
            !(op.is_table() || op.is_connection())
        })
}

fn build<'a>(line: &'a [u8], fields: &[(usize, usize, bool)]) -> Option<RawLine<'a>> {
    let f = |i: usize| -> Option<&'a [u8]> {
        let &(s, e, _) = fields.get(i)?;
        line.get(s..e)
    };
    Some(RawLine {
        timestamp: f(0)?,
        serverhost: f(1)?,
        username: f(2)?,
        host: f(3)?,
        connection_id: f(4)?,
        query_id: f(5)?,
        operation: std::str::from_utf8(f(6)?).ok()?,
        database: f(7)?,
        object: f(8)?,
        quoted: fields.get(8)?.2,
        retcode: f(9)?,
        extra: match fields.get(10) {
            Some(&(s, _, _)) => line.get(s..),
            None => None,
        },
    })
}
