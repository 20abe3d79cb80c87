//! Base64 as Lambda delivers a record's `data`: the STANDARD alphabet, padding optional, with a
//! bound on the decoded size.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::record::SourceError;

/// Largest decoded base64 payload [`decode_base64`] accepts: 8 MiB. A Kinesis record is at most
/// 1 MiB and a synchronous Lambda payload at most 6 MB, so no legitimate record comes close.
pub const MAX_DECODED_LEN: usize = 8 << 20;

/// STANDARD alphabet; padding may be present or absent (producers differ), but bad characters
/// and non-canonical trailing bits are rejected.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes STANDARD base64 into `out` (cleared first, allocation reused), bounded by
/// [`MAX_DECODED_LEN`]. Padding is optional; bad characters (including whitespace) are errors.
///
/// # Errors
/// [`SourceError::Base64`] for invalid text ([`SourceError::UrlSafeBase64`] when its first
/// bad byte is the URL-safe alphabet's `-` or `_`), [`SourceError::TooLarge`] above the bound.
pub fn decode_base64(b64: &[u8], out: &mut Vec<u8>) -> Result<(), SourceError> {
    decode_base64_with_limit(b64, out, MAX_DECODED_LEN)
}

/// [`decode_base64`] with an explicit bound on the decoded size.
///
/// # Errors
/// As [`decode_base64`].
pub fn decode_base64_with_limit(
    b64: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), SourceError> {
    out.clear();
    // Exact for padded input, at most 2 bytes high otherwise: never under the real size.
    let estimate = b64.len().div_ceil(4).saturating_mul(3);
    if estimate.saturating_sub(2) > limit {
        return Err(SourceError::TooLarge {
            encoded: b64.len(),
            limit,
        });
    }
    if decode_simd(b64, out) {
        if out.len() > limit {
            out.clear();
            return Err(SourceError::TooLarge {
                encoded: b64.len(),
                limit,
            });
        }
        return Ok(());
    }
    out.clear();
    out.reserve(estimate);
    BASE64.decode_vec(b64, out).map_err(|e| {
        if let base64::DecodeError::InvalidByte(offset, byte @ (b'-' | b'_')) = e {
            return SourceError::UrlSafeBase64 { offset, byte };
        }
        let offset = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => Some(at),
            base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => None,
        };
        SourceError::Base64 {
            offset,
            reason: e.to_string(),
        }
    })?;
    if out.len() > limit {
        out.clear();
        return Err(SourceError::TooLarge {
            encoded: b64.len(),
            limit,
        });
    }
    Ok(())
}

/// The fast path: `base64_simd` (AVX2, SSSE3 or NEON, chosen at run time), padded when the
/// text ends with `=`, else unpadded. It is stricter than [`BASE64`] (padding must be
/// complete when present) and as strict otherwise (the alphabet, the length, canonical
/// trailing bits), so whatever it decodes [`BASE64`] decodes the same (a property test
/// checks); on `false` (`out` holds nothing useful) the caller decodes with [`BASE64`], which
/// accepts or rejects, and names the error, as before.
fn decode_simd(b64: &[u8], out: &mut Vec<u8>) -> bool {
    let engine = if b64.ends_with(b"=") {
        &base64_simd::STANDARD
    } else {
        &base64_simd::STANDARD_NO_PAD
    };
    engine.decode_append(b64, out).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The old path alone: [`BASE64`] into a fresh `Vec`.
    fn reference(b64: &[u8]) -> Result<Vec<u8>, String> {
        BASE64.decode(b64).map_err(|e| e.to_string())
    }

    /// Text near base64: its alphabet, `=`, and now and then another byte, cut anywhere.
    fn near_base64() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                40 => proptest::sample::select(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()
                ),
                2 => Just(b'='),
                1 => any::<u8>(),
            ],
            0..200,
        )
    }

    proptest! {
        /// Whatever the fast path decodes, the reference decodes the same; and the whole
        /// function answers as the reference does.
        #[test]
        fn simd_decodes_as_the_reference(b64 in near_base64()) {
            let mut fast = Vec::new();
            if decode_simd(&b64, &mut fast) {
                prop_assert_eq!(Ok(fast), reference(&b64));
            }
            let mut out = vec![1, 2, 3];
            let ours = decode_base64(&b64, &mut out).map(|()| out);
            prop_assert_eq!(ours.ok(), reference(&b64).ok());
        }

        /// Valid text of any length, padded or not, takes the fast path.
        #[test]
        fn valid_text_is_decoded_fast(bytes in proptest::collection::vec(any::<u8>(), 0..300), pad in any::<bool>()) {
            let engine = if pad { base64::engine::general_purpose::STANDARD } else { base64::engine::general_purpose::STANDARD_NO_PAD };
            let b64 = engine.encode(&bytes);
            let mut out = Vec::new();
            prop_assert!(decode_simd(b64.as_bytes(), &mut out));
            prop_assert_eq!(out, bytes);
        }
    }
}
