//! Statement shapes: SQL with its literals taken out, so statements that differ only in their
//! values group together (`rdsaudit stats`).
//!
//! String literals (`'...'`, `"..."`) and numbers become `?`; a list of placeholders becomes
//! `?+`, and repeated identical row groups collapse to one (`VALUES (?+), (?+)` →
//! `VALUES (?+)`); comments are dropped and whitespace runs become one space. Identifiers,
//! keywords and back-quoted names are kept as written.
//!
//! ```
//! use rdsaudit::shape::shape;
//! assert_eq!(shape(b"SELECT * FROM orders WHERE id = 7"), "SELECT * FROM orders WHERE id = ?");
//! assert_eq!(shape(b"SELECT * FROM orders WHERE id = 9"), "SELECT * FROM orders WHERE id = ?");
//! assert_eq!(
//!     shape(b"/* app */ INSERT INTO t1 (a, b) VALUES (1, 'it\\'s'), (2, 'x')"),
//!     "INSERT INTO t1 (a, b) VALUES (?+)"
//! );
//! ```

/// The shape of `sql` (see the module docs). Invalid UTF-8 is replaced by U+FFFD.
pub fn shape(sql: &[u8]) -> String {
    let mut out = Vec::with_capacity(sql.len());
    let mut rest = sql;
    while let Some((&c, tail)) = rest.split_first() {
        rest = match c {
            b'\'' | b'"' => {
                placeholder(&mut out);
                skip_quoted(tail, c)
            }
            b'`' => copy_quoted(&mut out, rest),
            b'/' if tail.first() == Some(&b'*') => skip_block_comment(tail),
            b'#' => skip_line(tail),
            b'-' if is_dash_comment(tail) => skip_line(tail),
            c if c.is_ascii_whitespace() => {
                space(&mut out);
                tail
            }
            c if starts_number(c, tail, &out) => {
                placeholder(&mut out);
                skip_number(rest)
            }
            c if is_word_byte(c) => copy_word(&mut out, rest),
            c => {
                if c == b',' && out.last() == Some(&b' ') {
                    out.pop();
                }
                out.push(c);
                tail
            }
        };
    }
    while out.last() == Some(&b' ') {
        out.pop();
    }
    collapse_repeated_groups(String::from_utf8_lossy(&out).into_owned())
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// A digit (or `.5`) that does not continue an identifier such as `t1`, or a minus sign
/// before a digit where an operand is expected (`= -7`, `(-7`, `, -7`).
fn starts_number(c: u8, tail: &[u8], out: &[u8]) -> bool {
    let next_is_digit = tail.first().is_some_and(u8::is_ascii_digit);
    match c {
        b'0'..=b'9' => !out.last().is_some_and(|&p| is_word_byte(p)),
        b'.' => next_is_digit && !out.last().is_some_and(|&p| is_word_byte(p)),
        b'-' => {
            let prev = out.trim_ascii_end().last();
            next_is_digit && prev.is_none_or(|p| b"(,=<>+-*/".contains(p))
        }
        _ => false,
    }
}

fn skip_number(s: &[u8]) -> &[u8] {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    let mut prev = 0u8;
    let end = s
        .iter()
        .position(|&b| {
            let exponent_sign = (b == b'+' || b == b'-') && (prev == b'e' || prev == b'E');
            prev = b;
            !(b.is_ascii_alphanumeric() || b == b'.' || exponent_sign)
        })
        .unwrap_or(s.len());
    s.get(end..).unwrap_or_default()
}

/// MySQL's `-- ` comment needs whitespace (or the end) after the dashes.
fn is_dash_comment(tail: &[u8]) -> bool {
    tail.first() == Some(&b'-') && tail.get(1).is_none_or(u8::is_ascii_whitespace)
}

fn skip_line(s: &[u8]) -> &[u8] {
    memchr::memchr(b'\n', s).map_or(&[][..], |i| s.get(i..).unwrap_or_default())
}

/// `s` starts after the `/`; the comment is replaced by nothing (whitespace around it stays).
fn skip_block_comment(s: &[u8]) -> &[u8] {
    let body = s.get(1..).unwrap_or_default();
    memchr::memmem::find(body, b"*/").map_or(&[][..], |i| body.get(i + 2..).unwrap_or_default())
}

/// `s` starts after the opening quote; backslash escapes and doubled quotes stay inside. An
/// unterminated literal (a statement cut by the plugin) runs to the end.
fn skip_quoted(s: &[u8], quote: u8) -> &[u8] {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let escaped_pair = b == b'\\' || (b == quote && s.get(i + 1) == Some(&quote));
        if escaped_pair {
            i += 2;
        } else if b == quote {
            return s.get(i + 1..).unwrap_or_default();
        } else {
            i += 1;
        }
    }
    &[]
}

/// Copies a back-quoted identifier, quotes included.
fn copy_quoted<'a>(out: &mut Vec<u8>, s: &'a [u8]) -> &'a [u8] {
    let body = s.get(1..).unwrap_or_default();
    let end = memchr::memchr(b'`', body).map_or(s.len(), |i| i + 2);
    out.extend_from_slice(s.get(..end).unwrap_or(s));
    s.get(end..).unwrap_or_default()
}

fn copy_word<'a>(out: &mut Vec<u8>, s: &'a [u8]) -> &'a [u8] {
    let end = s.iter().position(|&b| !is_word_byte(b)).unwrap_or(s.len());
    out.extend_from_slice(s.get(..end).unwrap_or(s));
    s.get(end..).unwrap_or_default()
}

fn space(out: &mut Vec<u8>) {
    if !out.is_empty() && !matches!(out.last(), Some(b' ' | b'(')) {
        out.push(b' ');
    }
}

/// Writes `?`, or turns a placeholder list (`?, ?`, `?+, ?`) into `?+`.
fn placeholder(out: &mut Vec<u8>) {
    let trimmed = out.trim_ascii_end();
    let list_head = trimmed
        .strip_suffix(b",")
        .map(<[u8]>::trim_ascii_end)
        .filter(|head| head.ends_with(b"?") || head.ends_with(b"?+"));
    match list_head {
        Some(head) => {
            let keep = head.len() - usize::from(head.ends_with(b"+"));
            out.truncate(keep);
            out.push(b'+');
        }
        None => out.push(b'?'),
    }
}

/// `(G), (G), (G)` becomes `(G)` when the groups are identical (multi-row INSERTs).
fn collapse_repeated_groups(mut s: String) -> String {
    let mut from = 0;
    while let Some(at) = s.get(from..).and_then(|t| t.find("), (")).map(|i| i + from) {
        let open = s.get(..at).and_then(|h| h.rfind('('));
        let next_close = s
            .get(at + 4..)
            .and_then(|t| t.find(')'))
            .map(|i| i + at + 4);
        match (open, next_close) {
            (Some(open), Some(close))
                if s.get(open + 1..at) == s.get(at + 4..close)
                    && !s.get(open + 1..at).is_some_and(|g| g.contains('(')) =>
            {
                s.replace_range(at + 1..=close, "");
                from = open;
            }
            _ => from = at + 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_do_not_change_the_shape(a in any::<i64>(), b in -1e9f32..1e9f32, text in any::<String>()) {
            let mut quoted = Vec::new();
            crate::audit::unescape::escape_like_plugin(text.as_bytes(), &mut quoted);
            let mut sql = format!("SELECT * FROM t WHERE id = {a} AND x > {b} AND name = '").into_bytes();
            sql.extend_from_slice(&quoted);
            sql.extend_from_slice(b"' LIMIT 10");
            prop_assert_eq!(shape(&sql), "SELECT * FROM t WHERE id = ? AND x > ? AND name = ? LIMIT ?");
        }

        #[test]
        fn any_bytes_give_a_shape(sql in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = shape(&sql);
        }
    }

    #[test]
    fn literals_and_numbers_become_placeholders() {
        assert_eq!(
            shape(b"UPDATE t SET a = 'x\\'y', b = \"q\" WHERE id = 42"),
            "UPDATE t SET a = ?, b = ? WHERE id = ?"
        );
        assert_eq!(shape(b"SELECT 1.5e-3, 0x1F, .5, -7"), "SELECT ?+");
        assert_eq!(
            shape(b"SELECT c1 FROM t2 WHERE x IN (1,2, 3)"),
            "SELECT c1 FROM t2 WHERE x IN (?+)"
        );
        assert_eq!(shape(b"SELECT 'it''s'"), "SELECT ?");
    }

    #[test]
    fn comments_and_whitespace_do_not_change_the_shape() {
        let a = shape(
            b"  /* app:checkout */ UPDATE carts\n\tSET total = 12.50 -- note\n WHERE id = 5 # x",
        );
        assert_eq!(a, "UPDATE carts SET total = ? WHERE id = ?");
        assert_eq!(shape(b"SELECT a--b FROM t"), "SELECT a--b FROM t");
        assert_eq!(
            shape(b"SELECT `odd -- name`, `t1` FROM `x y`"),
            "SELECT `odd -- name`, `t1` FROM `x y`"
        );
    }

    #[test]
    fn multi_row_inserts_collapse_and_cut_statements_end_cleanly() {
        assert_eq!(
            shape(b"INSERT INTO t (a, b) VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
            "INSERT INTO t (a, b) VALUES (?+)"
        );
        assert_eq!(
            shape(b"INSERT INTO t VALUES (1), (f(2)), (3)"),
            "INSERT INTO t VALUES (?), (f(?)), (?)"
        );
        assert_eq!(
            shape(b"INSERT INTO t VALUES ('unterminated \\' cut"),
            "INSERT INTO t VALUES (?"
        );
        assert_eq!(shape(b"SELECT 'caf\xe9'"), "SELECT ?");
        assert_eq!(
            shape("SELECT 'こんにちは' AS 名前".as_bytes()),
            "SELECT ? AS 名前"
        );
        assert_eq!(shape(b""), "");
    }
}
