//! The two timestamp shapes that start an audit line.
//!
//! - Aurora: epoch microseconds, `1653053459680124` (UTC by definition).
//! - MariaDB plugin and the RDS for MySQL fork: `20240323 13:36:08`, server local time with
//!   one-second resolution (UTC on RDS).

/// Length of the timestamp at the start of `line` when it has one of the two shapes and is
/// followed by a comma.
pub(crate) fn shape_len(line: &[u8]) -> Option<usize> {
    let n = if is_civil_shape(line) {
        CIVIL_LEN
    } else {
        epoch_digits(line)?
    };
    (line.get(n) == Some(&b',')).then_some(n)
}

const CIVIL_LEN: usize = 17;

/// `YYYYMMDD HH:MM:SS`: digits everywhere but the separators.
fn is_civil_shape(s: &[u8]) -> bool {
    let Some(s) = s.get(..CIVIL_LEN) else {
        return false;
    };
    s.iter().enumerate().all(|(i, &b)| match i {
        8 => b == b' ',
        11 | 14 => b == b':',
        _ => b.is_ascii_digit(),
    })
}

/// Epoch microseconds: 10 to 18 digits (before 2001 they had fewer than 16).
fn epoch_digits(s: &[u8]) -> Option<usize> {
    let n = s.iter().take(19).take_while(|b| b.is_ascii_digit()).count();
    (10..=18).contains(&n).then_some(n)
}

/// Parses a timestamp field to UTC epoch microseconds; the flag says it was the Aurora
/// epoch form.
///
/// ```
/// use rdsaudit::line::parse_timestamp;
/// assert_eq!(parse_timestamp(b"20240323 13:36:08"), Some((1_711_200_968_000_000, false)));
/// assert_eq!(parse_timestamp(b"1653053459680124"), Some((1_653_053_459_680_124, true)));
/// assert_eq!(parse_timestamp(b"20240230 00:00:00"), None); // no 30th of February
/// ```
pub fn parse_timestamp(s: &[u8]) -> Option<(i64, bool)> {
    if s.len() == CIVIL_LEN && is_civil_shape(s) {
        return civil_to_epoch_us(s).map(|us| (us, false));
    }
    if epoch_digits(s) == Some(s.len()) {
        let us = std::str::from_utf8(s).ok()?.parse().ok()?;
        return Some((us, true));
    }
    None
}

fn num(s: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
    s.get(range)?.iter().try_fold(0i64, |acc, &b| {
        Some(acc * 10 + i64::from(b.checked_sub(b'0')?))
    })
}

fn civil_to_epoch_us(s: &[u8]) -> Option<i64> {
    let (year, month, day) = (num(s, 0..4)?, num(s, 4..6)?, num(s, 6..8)?);
    let (hour, minute, second) = (num(s, 9..11)?, num(s, 12..14)?, num(s, 15..17)?);
    let month_ok = (1..=12).contains(&month);
    if !month_ok || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 is a leap second, which local time may show.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2024-02-29 exists, 2023-02-29 does not.
        assert!(parse_timestamp(b"20240229 12:00:00").is_some());
        assert!(parse_timestamp(b"20230229 12:00:00").is_none());
        assert!(parse_timestamp(b"20231301 12:00:00").is_none());
        assert!(parse_timestamp(b"20231201 24:00:00").is_none());
    }

    #[test]
    fn shapes() {
        assert_eq!(shape_len(b"20240323 13:36:08,x"), Some(17));
        assert_eq!(shape_len(b"1653053459680124,c731"), Some(16));
        assert_eq!(shape_len(b"20240323 13:36:08 x"), None);
        assert_eq!(shape_len(b"123,x"), None);
        assert_eq!(shape_len(b""), None);
    }
}
