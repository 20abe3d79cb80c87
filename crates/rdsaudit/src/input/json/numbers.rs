//! Numbers simd-json cannot hold.
//!
//! simd-json rejects the whole text ("InvalidNumber") for an integer beyond 64 bits or a float
//! beyond `f64`: a `sequenceNumber` written as a JSON number
//! (`49590338271490256608559692538361571095921575989136588898`), a 400-digit
//! `approximateArrivalTimestamp`, `1e400`. The walk that reads the Lambda events takes any
//! number's text (the CloudWatch payload, still parsed by simd-json, is refused for one);
//! [`fits`] tells where the tape walk it replaced saw a number (an
//! `approximateArrivalTimestamp` that does not fit is absent, never made up), and the property
//! tests hand their simd-json oracles a copy in which each of those tokens is overwritten, in
//! place and at the same length, by `null` and spaces (valid JSON, nothing moves), as the tape
//! readers did before parsing.

#[cfg(test)]
use super::skip_string;

/// Overwrites every number token of `text` that simd-json cannot represent with `null` padded
/// by spaces; returns how many it overwrote. Strings are stepped over (their digits are text).
///
/// ```text
/// {"approximateArrivalTimestamp":1e400,"data":"x"}
/// {"approximateArrivalTimestamp":null ,"data":"x"}
/// ```
#[cfg(test)]
pub(crate) fn neutralize_wide_numbers(text: &mut [u8]) -> usize {
    let mut replaced = 0;
    let mut at = 0;
    while let Some(&b) = text.get(at) {
        if b == b'"' {
            at = skip_string(text, at + 1).unwrap_or(text.len());
        } else if b == b'-' || b.is_ascii_digit() {
            let end = at + token_len(text.get(at..).unwrap_or_default());
            if let Some(token) = text.get_mut(at..end)
                && !fits(token)
                && token.len() >= 4
            {
                token.fill(b' ');
                if let Some(null) = token.get_mut(..4) {
                    null.copy_from_slice(b"null");
                }
                replaced += 1;
            }
            at = end.max(at + 1);
        } else {
            at += 1;
        }
    }
    replaced
}

/// Length of the number-like token at the start of `s` (sign, digits, `.`, exponent).
#[cfg(test)]
fn token_len(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .count()
}

/// Whether simd-json reads `token` as a number: a 64-bit integer, or a finite `f64` written
/// with a fraction or an exponent (however many digits: checked, it reads 400-digit
/// fractions; only integers past 64 bits and values past `f64` fail).
pub(crate) fn fits(token: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(token) else {
        return false;
    };
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return s.parse::<i64>().is_ok() || s.parse::<u64>().is_ok();
    }
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::json::TapeParser;
    use crate::test_support::padded;

    fn parses(text: &[u8]) -> bool {
        let (mut buf, len) = padded(text);
        TapeParser::default()
            .parse_padded(&mut buf, len, usize::MAX, |_| {
                Ok::<_, super::super::JsonError>(())
            })
            .is_ok()
    }

    #[test]
    fn wide_numbers_become_null_and_nothing_else_moves() {
        let big = "7".repeat(400);
        let text = format!(
            r#"{{"a":{big},"s":"12345678901234567890123456789","b":-1e400,"c":[1.5,184467440737095516150],"t":1711200969000,"f":1711200969.123,"long":0.{big}}}"#
        );
        assert!(!parses(text.as_bytes()));
        let mut fixed = text.clone().into_bytes();
        assert_eq!(neutralize_wide_numbers(&mut fixed), 3);
        assert_eq!(fixed.len(), text.len());
        assert!(parses(&fixed));
        let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert!(v["a"].is_null() && v["b"].is_null() && v["c"][1].is_null());
        assert_eq!(v["s"], "12345678901234567890123456789");
        assert_eq!(v["c"][0], 1.5);
        assert_eq!(v["t"], 1_711_200_969_000_i64);
        assert_eq!(v["f"], 1_711_200_969.123);
        // A long fraction is read by simd-json, so it is kept.
        assert!(v["long"].is_f64());
    }

    proptest::proptest! {
        /// Numbers that fit are never touched: a text simd-json reads is left as it is.
        #[test]
        fn numbers_that_fit_are_kept(i in proptest::prelude::any::<i64>(), f in -1e300f64..1e300) {
            let text = format!(r#"{{"i":{i},"f":{f:e},"s":"{i}e999"}}"#);
            let mut copy = text.clone().into_bytes();
            proptest::prop_assert_eq!(neutralize_wide_numbers(&mut copy), 0);
            proptest::prop_assert_eq!(copy, text.into_bytes());
        }
    }
}
