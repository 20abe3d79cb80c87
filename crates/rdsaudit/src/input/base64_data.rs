//! One Kinesis record's `Data` pasted alone: the base64 text a user copies out of
//! `aws kinesis get-records` or a Lambda test event, because the Kinesis console's data viewer
//! shows the gzip inside as garbage.
//!
//! ```text
//! H4sIAAAAAAAA/6VUXW/aMBT9K5af...==
//! ```
//!
//! Recognised when the whole input is base64 (line breaks allowed, as a terminal wraps it) and starts like base64 of gzip (`H4sI`, from `1f 8b 08`) or of a JSON object
//! (`eyJ`, from `{"`: some test templates skip the gzip). It decodes to a payload that is
//! classified again, by content, like a file.
//!
//! ```
//! use rdsaudit::input::base64_data::{decode, looks_like_base64_data};
//! let pasted = b"H4sIAAAAAAAAA8tIzcnJBwCGphA2\nBQAAAA==\n";
//! assert!(looks_like_base64_data(pasted));
//! let mut out = Vec::new();
//! decode(pasted, &mut out)?;
//! assert_eq!(&out[..2], b"\x1f\x8b");
//! # Ok::<(), rdsaudit::input::SourceError>(())
//! ```

use crate::input::{SourceError, decode_base64};

/// The shortest input taken for pasted data: a gzip header alone is 10 bytes (16 in base64).
const MIN_LEN: usize = 16;

/// Whether `text` is a pasted base64 payload (see the module docs). Linear, no allocation.
/// The URL-safe alphabet's `-` and `_` are taken too: such a paste is then refused as data
/// with its reason ([`SourceError::UrlSafeBase64`]), where it would otherwise be read as a
/// line of audit text and fail as one that names no alphabet.
#[must_use]
pub fn looks_like_base64_data(text: &[u8]) -> bool {
    let trimmed = text.trim_ascii();
    (trimmed.starts_with(b"H4sI") || trimmed.starts_with(b"eyJ"))
        && trimmed.len() >= MIN_LEN
        && trimmed.iter().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
                || is_space(*b)
        })
}

/// Line breaks, as a terminal or an editor wraps long base64; spaces are not allowed, so a
/// sentence that happens to start with `H4sI` is not taken for data.
fn is_space(b: u8) -> bool {
    matches!(b, b'\r' | b'\n')
}

/// Decodes pasted base64 into `out` (line breaks dropped first), with the bound of
/// [`decode_base64`].
///
/// # Errors
/// As [`decode_base64`]: invalid base64 (the offset is in the text without whitespace), or a
/// payload over the bound.
pub fn decode(text: &[u8], out: &mut Vec<u8>) -> Result<(), SourceError> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !is_space(*b)).collect();
    decode_base64(&compact, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{base64, gzip};

    #[test]
    fn pasted_data_is_recognised_and_decoded() {
        let payload = gzip(br#"{"messageType":"CONTROL_MESSAGE"}"#);
        let b64 = base64(&payload);
        // Wrapped at 76 columns, with a trailing newline, as a terminal shows it.
        let wrapped: Vec<u8> = b64
            .as_bytes()
            .chunks(76)
            .flat_map(|c| c.iter().copied().chain(*b"\r\n"))
            .collect();
        for text in [b64.as_bytes(), &wrapped] {
            assert!(looks_like_base64_data(text));
            let mut out = Vec::new();
            decode(text, &mut out).unwrap();
            assert_eq!(out, payload);
        }
        assert!(looks_like_base64_data(
            base64(br#"{"awslogs":1}"#).as_bytes()
        ));
    }

    /// A paste re-encoded with the URL-safe alphabet is taken for data, and refused saying
    /// so, at the offset of its first `-` or `_` (in the text without its line breaks).
    #[test]
    fn url_safe_pasted_data_is_refused_naming_the_alphabet() {
        let payload = gzip(br#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#);
        let standard = base64(&payload);
        let url_safe = standard.replace('+', "-").replace('/', "_");
        let first = url_safe.find(['-', '_']).unwrap();
        assert_ne!(
            standard, url_safe,
            "the payload's base64 should hold `+` or `/`"
        );
        let wrapped = format!("{}\n{}\n", &url_safe[..first], &url_safe[first..]);
        for text in [url_safe.as_str(), &wrapped] {
            assert!(looks_like_base64_data(text.as_bytes()), "{text}");
            let err = decode(text.as_bytes(), &mut Vec::new()).unwrap_err();
            let byte = url_safe.as_bytes()[first];
            assert_eq!(
                err,
                SourceError::UrlSafeBase64 {
                    offset: first,
                    byte
                }
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "URL-safe base64 ('{}' at offset {first}): Kinesis data is standard base64, with '+' and '/'",
                    char::from(byte)
                )
            );
        }
    }

    #[test]
    fn audit_text_and_json_are_not_pasted_data() {
        for text in [
            &b"20240501 12:00:00,db1,app,10.0.0.5,7,0,CONNECT,shop,,0"[..],
            b"1714564800123456,db1,app,10.0.0.5,7,0,CONNECT,shop,,0",
            br#"{"Records":[]}"#,
            b"H4sI",
            b"H4sIAAAAAAAA but then words",
        ] {
            assert!(
                !looks_like_base64_data(text),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
