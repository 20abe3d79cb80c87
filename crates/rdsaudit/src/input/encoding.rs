//! Text encodings other than plain UTF-8, undone before an input is classified.
//!
//! Audit logs are UTF-8 (or raw client bytes), but the files people hand us went through
//! editors and shells: Windows PowerShell's `>` writes UTF-16LE with a byte order mark,
//! `Out-File -Encoding utf8` writes a UTF-8 BOM, and some editors save UTF-16BE. Read as
//! bytes, a BOM hides the first record (or makes a whole Lambda event "not JSON") and UTF-16
//! turns every line into one full of NUL bytes. So:
//!
//! - a UTF-8 BOM (`EF BB BF`) is dropped (borrowed, no copy);
//! - UTF-16LE/BE with a BOM (`FF FE` / `FE FF`) is transcoded to UTF-8;
//! - UTF-16LE without a BOM is recognised by its first line (an audit line or JSON is ASCII,
//!   so every second byte is NUL) and transcoded too;
//! - UTF-32 BOMs and UTF-16 that does not decode (odd length, unpaired surrogate) are one
//!   [`EncodingError`] naming the encoding and the byte, never a flood of unparsed lines.
//!
//! ```
//! use rdsaudit::input::encoding::{to_utf8, Encoding};
//! let mut utf16 = vec![0xFF, 0xFE];
//! for unit in "20240501 12:00:00,db1,app,10.0.0.5,7,0,CONNECT,shop,,0\n".encode_utf16() {
//!     utf16.extend_from_slice(&unit.to_le_bytes());
//! }
//! let text = to_utf8(&utf16)?;
//! assert_eq!(text.encoding, Encoding::Utf16Le);
//! assert!(text.bytes.starts_with(b"20240501 12:00:00,db1,"));
//! # Ok::<(), rdsaudit::input::encoding::EncodingError>(())
//! ```

use std::borrow::Cow;

/// The encoding an input was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// UTF-8 (or raw bytes) without a byte order mark: used as is.
    Utf8,
    /// UTF-8 behind a byte order mark, which is dropped.
    Utf8Bom,
    /// UTF-16, little-endian (with or without a BOM).
    Utf16Le,
    /// UTF-16, big-endian, with a BOM.
    Utf16Be,
}

impl Encoding {
    /// The name used in messages (`UTF-16LE`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with a byte order mark",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }
}

/// An input as UTF-8 (or raw bytes), and the encoding it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf8Text<'a> {
    /// The bytes to read: borrowed unless transcoded.
    pub bytes: Cow<'a, [u8]>,
    /// What the input was.
    pub encoding: Encoding,
}

/// Why an input's encoding cannot be undone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// UTF-16 with an odd number of bytes: cut, or not UTF-16 at all.
    #[error("the input is {} (by its byte order mark) but has an odd number of bytes ({len})", .encoding.name())]
    OddLength {
        /// The encoding found.
        encoding: Encoding,
        /// The input's length in bytes.
        len: usize,
    },
    /// A UTF-16 surrogate without its pair.
    #[error("the input is {} but holds an unpaired surrogate at byte {offset}", .encoding.name())]
    UnpairedSurrogate {
        /// The encoding found.
        encoding: Encoding,
        /// Byte offset of the bad code unit in the input.
        offset: usize,
    },
    /// A UTF-32 byte order mark: not something any AWS tool or shell writes for logs.
    #[error("the input is UTF-32 (by its byte order mark); convert it to UTF-8 first")]
    Utf32,
}

/// The UTF-8 byte order mark (U+FEFF encoded), which Windows tools write at the start of a
/// file: not content wherever it starts one, or a page appended to one.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Finds the encoding of `input` (see the module docs) and returns it as UTF-8.
///
/// # Errors
/// [`EncodingError`] when the input is UTF-32 or UTF-16 that does not decode.
pub fn to_utf8(input: &[u8]) -> Result<Utf8Text<'_>, EncodingError> {
    if input.starts_with(b"\xFF\xFE\x00\x00") || input.starts_with(b"\x00\x00\xFE\xFF") {
        return Err(EncodingError::Utf32);
    }
    let (encoding, body) = if let Some(rest) = input.strip_prefix(UTF8_BOM) {
        (Encoding::Utf8Bom, rest)
    } else if let Some(rest) = input.strip_prefix(b"\xFF\xFE") {
        (Encoding::Utf16Le, rest)
    } else if let Some(rest) = input.strip_prefix(b"\xFE\xFF") {
        (Encoding::Utf16Be, rest)
    } else if looks_like_utf16le(input) {
        (Encoding::Utf16Le, input)
    } else {
        (Encoding::Utf8, input)
    };
    let bytes = match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => Cow::Borrowed(body),
        Encoding::Utf16Le | Encoding::Utf16Be => {
            Cow::Owned(transcode(body, encoding, input.len() - body.len())?)
        }
    };
    Ok(Utf8Text { bytes, encoding })
}

/// UTF-16LE without a BOM: the first line (up to 64 bytes) is ASCII, so every odd byte is
/// NUL and no even one is. Neither an audit line nor JSON nor gzip has that shape.
fn looks_like_utf16le(input: &[u8]) -> bool {
    let head = input.get(..input.len().min(64)).unwrap_or_default();
    head.len() >= 8
        && head.chunks_exact(2).all(|pair| match pair {
            [lo, hi] => *hi == 0 && *lo != 0 && lo.is_ascii(),
            _ => false,
        })
}

/// UTF-16 code units to UTF-8; `base` is where `body` starts in the input (for offsets).
fn transcode(body: &[u8], encoding: Encoding, base: usize) -> Result<Vec<u8>, EncodingError> {
    if !body.len().is_multiple_of(2) {
        return Err(EncodingError::OddLength {
            encoding,
            len: base + body.len(),
        });
    }
    let units = body.chunks_exact(2).map(|pair| match (pair, encoding) {
        ([a, b], Encoding::Utf16Be) => u16::from_be_bytes([*a, *b]),
        ([a, b], _) => u16::from_le_bytes([*a, *b]),
        _ => 0,
    });
    // At most 3 UTF-8 bytes per 2-byte unit (a surrogate pair is 4 bytes for 4 bytes).
    let mut out = Vec::with_capacity(body.len() / 2 * 3);
    let mut offset = base;
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| EncodingError::UnpairedSurrogate { encoding, offset })?;
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        offset += c.len_utf16() * 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT \\'é😀\\'',0\r\n";

    fn utf16(text: &str, be: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if be { b"\xFE\xFF" } else { b"\xFF\xFE" });
        }
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if be {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_with_and_without_bom_becomes_the_same_utf8() {
        for (be, bom, enc) in [
            (false, true, Encoding::Utf16Le),
            (true, true, Encoding::Utf16Be),
            (false, false, Encoding::Utf16Le),
        ] {
            let input = utf16(LINE, be, bom);
            let text = to_utf8(&input).unwrap();
            assert_eq!(text.encoding, enc);
            assert_eq!(text.bytes, LINE.as_bytes());
        }
    }

    #[test]
    fn utf8_bom_is_dropped_without_a_copy() {
        let mut input = UTF8_BOM.to_vec();
        input.extend_from_slice(br#"{"Records":[]}"#);
        let text = to_utf8(&input).unwrap();
        assert_eq!(text.encoding, Encoding::Utf8Bom);
        assert!(matches!(text.bytes, Cow::Borrowed(b"{\"Records\":[]}")));
        let plain = to_utf8(LINE.as_bytes()).unwrap();
        assert_eq!(plain.encoding, Encoding::Utf8);
        // gzip is never mistaken for UTF-16.
        let gz = to_utf8(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03").unwrap();
        assert_eq!(gz.encoding, Encoding::Utf8);
    }

    #[test]
    fn undecodable_utf16_is_one_error_naming_the_encoding() {
        let mut odd = utf16(LINE, false, true);
        odd.pop();
        let e = to_utf8(&odd).unwrap_err();
        assert!(e.to_string().contains("UTF-16LE"), "{e}");
        let mut lone = utf16("ab", true, true);
        lone.extend_from_slice(&0xD800u16.to_be_bytes());
        lone.extend_from_slice(&utf16("c", true, false));
        assert_eq!(
            to_utf8(&lone).unwrap_err(),
            EncodingError::UnpairedSurrogate {
                encoding: Encoding::Utf16Be,
                offset: 6
            }
        );
        assert_eq!(
            to_utf8(b"\xFF\xFE\x00\x00abcd").unwrap_err(),
            EncodingError::Utf32
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_through_utf16(s in "\\PC{0,80}", be in proptest::bool::ANY) {
            let input = utf16(&s, be, true);
            let text = to_utf8(&input).unwrap();
            proptest::prop_assert_eq!(&*text.bytes, s.as_bytes());
        }
    }
}
