//! Runs of ASCII digits read eight at a time (SWAR): the envelope's fast reader reads each
//! CloudWatch timestamp (13 digits) with them, the Kinesis layout each
//! `approximateArrivalTimestamp` (`1711200968.517`).

/// Most digits [`leading_digits`] reads: their value fits an `i64` (simd-json reads more as a
/// float or a `u64`, which the envelope's fast reader declines).
const MOST_DIGITS: usize = 18;

/// The number of ASCII digits `text` starts with and their value; `None` when there are more
/// than [`MOST_DIGITS`]. Eight bytes at a time (a CloudWatch timestamp has 13 digits: two
/// words, not 13 steps); the last bytes of a text a byte at a time ([`leading_digits_bytes`],
/// the reference).
#[inline(always)]
pub(crate) fn leading_digits(text: &[u8]) -> Option<(usize, u64)> {
    let word = |i: usize| {
        text.get(8 * i..)
            .and_then(|t| t.first_chunk::<8>())
            .map(|w| u64::from_le_bytes(*w).wrapping_sub(0x30 * LOW))
    };
    let (Some(d0), Some(d1)) = (word(0), word(1)) else {
        return leading_digits_bytes(text);
    };
    let n0 = digits_in(d0);
    if n0 < 8 {
        return Some((n0, first_digits(d0, n0)));
    }
    let n1 = digits_in(d1);
    let value = first_digits(d0, 8) * POW10.get(n1)? + first_digits(d1, n1);
    if n1 < 8 {
        return Some((8 + n1, value));
    }
    // 16 digits, and two more at most.
    let Some(d2) = word(2) else {
        return leading_digits_bytes(text);
    };
    let n2 = digits_in(d2);
    if 16 + n2 > MOST_DIGITS {
        return None;
    }
    Some((16 + n2, value * POW10.get(n2)? + first_digits(d2, n2)))
}

/// [`leading_digits`] a byte at a time: the reference, and the last bytes of a text.
fn leading_digits_bytes(text: &[u8]) -> Option<(usize, u64)> {
    let n = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if n > MOST_DIGITS {
        return None;
    }
    let digits = text.get(..n).unwrap_or_default();
    Some((
        n,
        digits.iter().fold(0, |v, d| v * 10 + u64::from(d - b'0')),
    ))
}

const LOW: u64 = 0x0101_0101_0101_0101;

/// `10^n` for the digits of a word, and for the scale of a decimal of up to 15 digits (a
/// table: `pow` is a loop).
pub(crate) const POW10: [u64; 16] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
];

/// How many digits the little-endian word whose bytes are each less `0` (`d`) starts with
/// (0 to 8).
#[inline(always)]
fn digits_in(d: u64) -> usize {
    // A byte of a digit is 0 to 9 in `d`; any other has its top bit set there or once 0x76
    // is added. A borrow or a carry only reaches the bytes after a byte that is not a digit,
    // and only the first such byte counts.
    let not_digit = (d | d.wrapping_add(0x76 * LOW)) & (0x80 * LOW);
    not_digit.trailing_zeros() as usize / 8
}

/// The value of the first `n` bytes (0 to 8, digits less `0`) of `d`: they move to the top,
/// and the bytes below are 0s.
#[inline(always)]
fn first_digits(d: u64, n: usize) -> u64 {
    let d = d.checked_shl(8 * (8 - n as u32)).unwrap_or(0);
    // Pairs, then fours, then all eight, each step most significant part first.
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
    (d.wrapping_mul(10_000) + (d >> 32)) & 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
    /// The digits a word starts with are counted and read as the number they write.
    #[test]
    fn words_of_digits_are_their_number(word in any::<[u8; 8]>(), n in 0u32..100_000_000) {
        let less_zero = |w: [u8; 8]| u64::from_le_bytes(w).wrapping_sub(0x30 * LOW);
        let d = less_zero(*format!("{n:08}").as_bytes().first_chunk().unwrap());
        prop_assert_eq!((digits_in(d), first_digits(d, 8)), (8, u64::from(n)));
        let k = word.iter().take_while(|b| b.is_ascii_digit()).count();
        let d = less_zero(word);
        prop_assert_eq!(digits_in(d), k);
        let value = std::str::from_utf8(&word[..k]).unwrap().parse().unwrap_or(0);
        prop_assert_eq!(first_digits(d, k), value);
    }

    /// The digits a text starts with are read eight at a time as a byte at a time, their
    /// count and value, and more than 18 are declined alike.
    #[test]
    fn leading_digits_are_their_reference(
        digits in "[0-9]{0,24}",
        after in proptest::collection::vec(any::<u8>(), 0..24),
    ) {
        let text = [digits.as_bytes(), &after].concat();
        let read = leading_digits(&text);
        prop_assert_eq!(read, leading_digits_bytes(&text));
        let n = text.iter().take_while(|b| b.is_ascii_digit()).count();
        let expected = (n <= 18).then(|| (n, std::str::from_utf8(&text[..n]).unwrap().parse().unwrap_or(0)));
        prop_assert_eq!(read, expected);
    }
    }
}
