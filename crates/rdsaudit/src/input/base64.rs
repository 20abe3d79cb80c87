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
/// [`SourceError::Base64`] for invalid text, [`SourceError::TooLarge`] above the bound.
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
    out.reserve(estimate);
    BASE64.decode_vec(b64, out).map_err(|e| {
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
