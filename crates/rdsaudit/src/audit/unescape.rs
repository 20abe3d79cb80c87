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
    /// Appends bytes copied from the input unchanged.
    fn run(&mut self, bytes: &[u8]);
    /// Appends one decoded byte.
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

/// Unescapes `raw` into `out`. The backslashes of 64 bytes at a time come from one mask
/// (`swar::masks_at`) and the runs between them go to `out` whole: a test and a
/// copy each eight bytes and a call per escape took ~1,350 instructions a ~240-byte
/// statement of ~15 escapes (the plain log's objects that are not UTF-8, through the
/// writers' [`Output`]). `\'` and `\\` (nearly every escape) stand for their second byte,
/// which starts the next run instead of a [`Output::byte`] of its own.
pub fn unescape_to(raw: &[u8], out: &mut impl Output) {
    // What `raw[..run]` stands for is written; the backslashes before `free` were the second
    // byte of an escape.
    let (mut run, mut free) = (0, 0);
    let mut block = 0;
    while block < raw.len() {
        let mut backslashes = backslashes_at(raw, block);
        while backslashes != 0 {
            let at = block + backslashes.trailing_zeros() as usize;
            backslashes &= backslashes - 1;
            if at < free {
                continue;
            }
            out.run(raw.get(run..at).unwrap_or_default());
            free = at + 2;
            run = match raw.get(at + 1).copied() {
                Some(b'\'' | b'\\') => at + 1,
                Some(c) => match unescaped_byte(c) {
                    Some(b) => {
                        out.byte(b);
                        at + 2
                    }
                    // An unknown pair is kept whole: it starts the next run.
                    None => at,
                },
                // So is a lone trailing backslash.
                None => at,
            };
        }
        block += crate::swar::BLOCK;
    }
    out.run(raw.get(run..).unwrap_or_default());
}

/// Bit `i` is set when `raw[block + i]` is a backslash, for the 64 bytes from `block`.
/// Objects under sixteen bytes (table names, most of a log's short statements) are read as
/// two overlapping words instead: [`crate::swar::masks_at`] zero-fills such a body with a
/// `memset` and a `memcpy` call.
#[inline(always)]
fn backslashes_at(raw: &[u8], block: usize) -> u64 {
    if raw.len() >= 16 {
        let [backslashes] = crate::swar::masks_at(raw, block, [b'\\']);
        return backslashes;
    }
    // Bit `i` for byte `i` of a word.
    let bits = |word: u64| crate::swar::top_bits(crate::swar::equal_bytes(word, b'\\'));
    let n = raw.len();
    match (raw.first_chunk::<8>(), raw.last_chunk::<8>()) {
        (Some(&lo), Some(&hi)) => {
            bits(u64::from_le_bytes(lo)) | bits(u64::from_le_bytes(hi)) << (n - 8)
        }
        _ => raw
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | (u64::from(b == b'\\') << i)),
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

    /// Every escape, unknown pair, run of backslashes and lone trailing backslash, placed at
    /// every offset of the first and second 64-byte block (so across their boundary too), in
    /// text that ends there or goes on: the block way is the reference.
    #[test]
    fn escapes_at_every_offset_of_a_block() {
        let escapes: [&[u8]; 12] = [
            br"\'", br"\\", br"\n", br"\t", br"\r", br"\b", br"\f", br"\q", b"\\\xe9", br"\\\",
            br"\\\\", br"\",
        ];
        for esc in escapes {
            for at in 0..130 {
                for tail in [&b""[..], b"x", b"abc\\'def"] {
                    let raw = [&vec![b'a'; at][..], esc, tail].concat();
                    assert_eq!(fast(&raw), unescape_reference(&raw), "{raw:?}");
                }
            }
        }
    }

    /// Text in long pieces: runs of plain bytes and backslashes over whole blocks.
    fn blocks_with_escapes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                &b"\\'"[..],
                b"\\\\",
                b"\\n",
                b"\\q",
                b"\\\xe9",
                b"\\\\\\",
                b"\xc3\xa9",
            ])
            .prop_map(<[u8]>::to_vec),
            prop::collection::vec(prop::sample::select(vec![b'a', b' ', b'\\']), 0..90),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
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
        fn fast_matches_reference_over_blocks(raw in blocks_with_escapes()) {
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
