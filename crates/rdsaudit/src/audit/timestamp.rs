//! Reading the timestamp that starts an audit line (its forms are in
//! [`super::dialect`]), and writing it as RFC 3339.
//!
//! - Aurora: epoch microseconds, `1653053459680124` (UTC by definition), 16 digits.
//! - MariaDB plugin and the RDS for MySQL fork: `20240323 13:36:08`, server local time with
//!   one-second resolution (UTC on RDS).
//! - Upstream MariaDB with an ISO `server_audit_timestamp_format`: `2024-03-23 13:36:08`,
//!   `2024-03-23T13:36:08.250000` (see `dialect::TimestampForm`).
//!
//! Output is RFC 3339 with a four-digit year, so a time past 9999-12-31T23:59:59 is refused,
//! and so is an epoch of another width (10 digits are seconds, 13 milliseconds: read as
//! microseconds they would be a date in 1970).

use crate::audit::dialect::{CIVIL_LEN, EPOCH_DIGITS, TimestampForm, is_civil_shape};
use crate::audit::scanner::LineError;

/// 10000-01-01T00:00:00Z in epoch microseconds: the first instant RFC 3339 cannot write.
const END_OF_9999_US: i64 = 253_402_300_800_000_000;

/// Parses a timestamp field of the given form to UTC epoch microseconds.
///
/// ```
/// use rdsaudit::audit::timestamp::parse_timestamp_field;
/// use rdsaudit::LineError;
/// assert_eq!(parse_timestamp_field(b"20240323 13:36:08"), Ok(1_711_200_968_000_000));
/// assert_eq!(parse_timestamp_field(b"1653053459680124"), Ok(1_653_053_459_680_124));
/// assert_eq!(parse_timestamp_field(b"20240230 00:00:00"), Err(LineError::TimestampRange)); // no 30th of February
/// assert_eq!(parse_timestamp_field(b"1653053459"), Err(LineError::EpochWidth { digits: 10 }));
/// // upstream MariaDB with server_audit_timestamp_format = '%Y-%m-%dT%H:%i:%s.%f'
/// assert_eq!(parse_timestamp_field(b"2024-03-23T13:36:08.250000"), Ok(1_711_200_968_250_000));
/// ```
pub fn parse_timestamp_field(s: &[u8]) -> Result<i64, LineError> {
    let form = if is_civil_shape(s) {
        TimestampForm::Civil
    } else if crate::audit::iso_time::shape_len(s).is_some() {
        TimestampForm::Iso
    } else {
        TimestampForm::Epoch
    };
    parse_timestamp(s, form)
}

pub(crate) fn parse_timestamp(s: &[u8], form: TimestampForm) -> Result<i64, LineError> {
    match form {
        TimestampForm::Civil if s.len() == CIVIL_LEN => {
            civil_to_epoch_us(s).ok_or(LineError::TimestampRange)
        }
        TimestampForm::Epoch if s.iter().all(u8::is_ascii_digit) => {
            if s.len() != EPOCH_DIGITS {
                return Err(LineError::EpochWidth { digits: s.len() });
            }
            num(s, 0..s.len()).ok_or(LineError::Timestamp)
        }
        TimestampForm::Iso => crate::audit::iso_time::parse_prefix(s)
            .filter(|t| t.len == s.len() && t.epoch_us < END_OF_9999_US)
            .map(|t| t.epoch_us)
            .ok_or(LineError::TimestampRange),
        _ => Err(LineError::Timestamp),
    }
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
    let us = ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000;
    // 9999-12-31T23:59:60 is a leap second that RFC 3339 would write as year 10000.
    (us < END_OF_9999_US).then_some(us)
}

/// The time of `head`, a line's first bytes, when they are a civil timestamp and its comma
/// on the same day as `key`, a civil timestamp and comma that read as `key_us`: the date is
/// the key's, so only the time of day is read (the date arithmetic and the date's checks,
/// ~200 instructions, were most of a line's timestamp when a log's second changes). `None`
/// when the date differs or the time is not one [`parse_timestamp`] reads (it then says why).
pub(crate) fn same_day_epoch_us(
    head: &[u8; CIVIL_LEN + 1],
    key: &[u8; CIVIL_LEN + 1],
    key_us: i64,
) -> Option<i64> {
    if head.get(..9) != key.get(..9) {
        return None;
    }
    let us = key_us - time_of_day_us(key)? + time_of_day_us(head)?;
    (us < END_OF_9999_US).then_some(us)
}

/// The time of day of `YYYYMMDD HH:MM:SS,` in microseconds, with the checks of
/// [`civil_to_epoch_us`] on it (and the separators and comma of the shape).
fn time_of_day_us(s: &[u8; CIVIL_LEN + 1]) -> Option<i64> {
    let [.., b' ', h1, h2, b':', m1, m2, b':', s1, s2, b','] = *s else {
        return None;
    };
    let pair = |a: u8, b: u8| num(&[a, b], 0..2);
    let (hour, minute, second) = (pair(h1, h2)?, pair(m1, m2)?, pair(s1, s2)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour * 60 + minute) * 60_000_000 + second * 1_000_000)
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

    fn civil(s: &[u8]) -> Result<i64, LineError> {
        parse_timestamp(s, TimestampForm::Civil)
    }

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2024-02-29 exists, 2023-02-29 does not.
        assert!(civil(b"20240229 12:00:00").is_ok());
        assert!(civil(b"20230229 12:00:00").is_err());
        assert!(civil(b"20231301 12:00:00").is_err());
        assert!(civil(b"20231201 24:00:00").is_err());
    }

    #[test]
    fn four_digit_years_only() {
        let last = civil(b"99991231 23:59:59").unwrap();
        assert_eq!(Rfc3339(last).to_string(), "9999-12-31T23:59:59.000000Z");
        assert_eq!(last, END_OF_9999_US - 1_000_000);
        assert_eq!(civil(b"99991231 23:59:60"), Err(LineError::TimestampRange));
        let (key, head) = (b"99991231 23:59:59,", b"99991231 23:59:60,");
        assert_eq!(same_day_epoch_us(head, key, last), None);
        let epoch = |s: &[u8]| parse_timestamp(s, TimestampForm::Epoch);
        for (s, digits) in [
            (&b"1711200969"[..], 10),
            (b"1711200969123", 13),
            (b"17112009691234567", 17),
        ] {
            assert_eq!(epoch(s), Err(LineError::EpochWidth { digits }));
        }
        assert_eq!(epoch(b"9999999999999999"), Ok(9_999_999_999_999_999));
    }

    proptest::proptest! {
        /// A timestamp read from the one before it on the same day reads as it does alone,
        /// and one the full read refuses (or another day) is left to the full read.
        #[test]
        fn same_day_is_the_full_read(
            day in 0i64..2_932_896,
            (h, mi, sec) in (0u32..24, 0u32..60, 0u32..61),
            hms in proptest::collection::vec(0u8..10, 6),
            swap in 0usize..18,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let (y, m, d) = civil_from_days(day);
            let stamp = |h: String| format!("{y:04}{m:02}{d:02} {h},").into_bytes();
            let key: [u8; CIVIL_LEN + 1] =
                stamp(format!("{h:02}:{mi:02}:{sec:02}")).try_into().unwrap();
            let digits: String = hms.iter().map(|d| char::from(b'0' + d)).collect();
            let mut head: [u8; CIVIL_LEN + 1] =
                stamp(format!("{}:{}:{}", &digits[..2], &digits[2..4], &digits[4..]))
                    .try_into()
                    .unwrap();
            if byte % 4 == 0 {
                head[swap] = byte;
            }
            let key_us = civil(&key[..CIVIL_LEN]).unwrap();
            let full = match head.last() {
                Some(b',') if is_civil_shape(&head) => civil(&head[..CIVIL_LEN]).ok(),
                _ => None,
            };
            match same_day_epoch_us(&head, &key, key_us) {
                Some(us) => proptest::prop_assert_eq!(Some(us), full),
                None => proptest::prop_assert!(full.is_none() || head[..9] != key[..9]),
            }
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Rfc3339(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Rfc3339(-1).to_string(), "1969-12-31T23:59:59.999999Z");
        let us = civil(b"20240229 23:59:60").unwrap();
        assert_eq!(Rfc3339(us).to_string(), "2024-03-01T00:00:00.000000Z");
    }
}
