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
/// use rdsaudit::audit::timestamp::parse_timestamp;
/// assert_eq!(parse_timestamp(b"20240323 13:36:08"), Some((1_711_200_968_000_000, false)));
/// assert_eq!(parse_timestamp(b"1653053459680124"), Some((1_653_053_459_680_124, true)));
/// assert_eq!(parse_timestamp(b"20240230 00:00:00"), None); // no 30th of February
/// ```
pub fn parse_timestamp(s: &[u8]) -> Option<(i64, bool)> {
    if s.len() == CIVIL_LEN && is_civil_shape(s) {
        return civil_to_epoch_us(s).map(|us| (us, false));
    }
    if epoch_digits(s) == Some(s.len()) {
        return Some((num(s, 0..s.len())?, true));
    }
    None
}

fn num(s: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
    s.get(range)?.iter().try_fold(0i64, |acc, &b| {
        Some(acc * 10 + i64::from(b.checked_sub(b'0').filter(|d| *d < 10)?))
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

pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
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

/// The proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Epoch microseconds shown as RFC 3339 UTC with microseconds, without allocating:
/// `2024-03-23T13:36:08.000000Z`.
///
/// ```
/// use rdsaudit::audit::timestamp::Rfc3339;
/// assert_eq!(Rfc3339(1_653_053_459_680_124).to_string(), "2022-05-20T13:30:59.680124Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub i64);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let tod = secs.rem_euclid(86_400);
        let (h, mi, s) = (tod / 3600, tod / 60 % 60, tod % 60);
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z"
        )
    }
}

#[cfg(test)]
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
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Rfc3339(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Rfc3339(-1).to_string(), "1969-12-31T23:59:59.999999Z");
        let (us, _) = parse_timestamp(b"20240229 23:59:60").unwrap();
        assert_eq!(Rfc3339(us).to_string(), "2024-03-01T00:00:00.000000Z");
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
