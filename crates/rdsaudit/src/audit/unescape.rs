//! Undoing the plugin's escaping of the object field.
//!
//! The MariaDB audit plugin (and AWS's fork) writes these bytes of a statement as two-byte
//! escapes: backspace `\b`, tab `\t`, newline `\n`, form feed `\f`, carriage return `\r`,
//! `'` as `\'` and `\` as `\\`. Everything else passes through raw, including commas, double
//! quotes, NUL and bytes that are not UTF-8. Older plugins only escaped `\'` and `\\`.
//!
//! Unknown pairs (`\x`) are kept verbatim, both bytes, and so is a lone trailing `\`: the
//! unescaper never guesses and never fails.
//!
//! ```
//! let mut out = Vec::new();
//! rdsaudit::audit::unescape::unescape_into(br"it\'s\ta \\ path\q", &mut out);
//! assert_eq!(out, b"it's\ta \\ path\\q");
//! ```

/// The byte an escape pair `\c` stands for, or `None` when `c` is not one the plugin writes.
#[inline]
pub(crate) fn unescaped_byte(c: u8) -> Option<u8> {
    match c {
        b'\\' => Some(b'\\'),
        b'\'' => Some(b'\''),
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        _ => None,
    }
}

/// Where unescaped bytes go: runs borrowed from the input between escapes, and one byte per
/// decoded escape. Two methods rather than one `&[u8]` callback so a decoded byte is a `push`,
/// not a one-byte copy: statements hold an escape every few bytes.
pub trait Output {
    fn run(&mut self, bytes: &[u8]);
    fn byte(&mut self, b: u8);
}

impl Output for Vec<u8> {
    #[inline]
    fn run(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn byte(&mut self, b: u8) {
        self.push(b);
    }
}

/// Unescapes `raw` into `out`, eight bytes at a time: a word with no backslash is copied
/// whole, otherwise the bytes before the backslash are, then the escape is decoded.
/// Statements hold an escape every few bytes (each string literal has two `\'`), where a
/// `memchr` call and a variable-length copy per escape cost more than the search saves.
pub fn unescape_to(raw: &[u8], out: &mut impl Output) {
    let mut at = 0;
    while let Some(word) = raw.get(at..at + 8) {
        match first_backslash(word) {
            None => {
                out.run(word);
                at += 8;
            }
            Some(k) => {
                out.run(word.get(..k).unwrap_or_default());
                at += k + escape(raw, at + k, out);
            }
        }
    }
    while let Some(&c) = raw.get(at) {
        if c == b'\\' {
            at += escape(raw, at, out);
        } else {
            out.byte(c);
            at += 1;
        }
    }
}

/// Index of the first backslash in an 8-byte word.
#[inline]
fn first_backslash(word: &[u8]) -> Option<usize> {
    let word = u64::from_le_bytes(word.try_into().ok()?);
    let hits = crate::swar::equal_bytes(word, b'\\');
    (hits != 0).then(|| hits.trailing_zeros() as usize / 8)
}

/// Decodes the escape whose backslash is at `raw[at]`; returns the bytes it took (2, or 1 for
/// a lone trailing backslash, which is kept).
#[inline]
fn escape(raw: &[u8], at: usize, out: &mut impl Output) -> usize {
    match raw.get(at + 1).copied() {
        Some(c) => {
            match unescaped_byte(c) {
                Some(b) => out.byte(b),
                None => out.run(&[b'\\', c]),
            }
            2
        }
        None => {
            out.byte(b'\\');
            1
        }
    }
}

/// Unescapes `raw`, appending to `out` (reserved once: the output is never longer).
pub fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    unescape_to(raw, out);
}

/// The reference unescaper: one byte at a time, an explicit two-state machine. Kept to check
/// [`unescape_into`] against (property tests) and as the specification in code.
pub fn unescape_reference(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut after_backslash = false;
    for &c in raw {
        if after_backslash {
            match unescaped_byte(c) {
                Some(b) => out.push(b),
                None => out.extend_from_slice(&[b'\\', c]),
            }
            after_backslash = false;
        } else if c == b'\\' {
            after_backslash = true;
        } else {
            out.push(c);
        }
    }
    if after_backslash {
        out.push(b'\\');
    }
    out
}

/// Escapes bytes as the current plugin does (`esc_map` in `server_audit.c`): the inverse of
/// [`unescape_into`] for every input. A test oracle (tests and the corpus generator), not API.
#[doc(hidden)]
pub fn escape_like_plugin(sql: &[u8], out: &mut Vec<u8>) {
    for &c in sql {
        let esc = match c {
            0x08 => Some(b'b'),
            b'\t' => Some(b't'),
            b'\n' => Some(b'n'),
            0x0c => Some(b'f'),
            b'\r' => Some(b'r'),
            b'\'' => Some(b'\''),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        match esc {
            Some(e) => out.extend_from_slice(&[b'\\', e]),
            None => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(raw: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        unescape_into(raw, &mut v);
        v
    }

    #[test]
    fn every_escape_pair() {
        assert_eq!(fast(br"\\\'\n\t\r\b\f"), b"\\'\n\t\r\x08\x0c");
    }

    #[test]
    fn unknown_and_trailing_backslash_kept() {
        assert_eq!(fast(br"\0\x\%"), br"\0\x\%");
        assert_eq!(fast(b"abc\\"), b"abc\\");
        assert_eq!(fast(b"\\"), b"\\");
    }

    #[test]
    fn invalid_utf8_passes_through() {
        assert_eq!(fast(b"\xff\\'\xc3"), b"\xff'\xc3");
    }

    fn bytes_with_escapes() -> impl Strategy<Value = Vec<u8>> {
        let atom = prop_oneof![
            4 => any::<u8>().prop_map(|b| vec![b]),
            2 => prop::sample::select(vec![
                &b"\\\\"[..], b"\\'", b"\\n", b"\\t", b"\\r", b"\\b", b"\\f", b"\\", b"'", b",",
                "\u{3001}".as_bytes(), "\u{1F600}".as_bytes(), "\u{65E5}".as_bytes(),
            ])
            .prop_map(|s| s.to_vec()),
        ];
        prop::collection::vec(atom, 0..64).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn fast_matches_reference(raw in bytes_with_escapes()) {
            prop_assert_eq!(fast(&raw), unescape_reference(&raw));
        }

        #[test]
        fn unescape_inverts_plugin_escape(sql in bytes_with_escapes()) {
            let mut escaped = Vec::new();
            escape_like_plugin(&sql, &mut escaped);
            prop_assert_eq!(fast(&escaped), sql);
        }
    }
}
