//! ISO 8601 date-times, as AWS tools print them in front of (or beside) log events, and as
//! upstream MariaDB's audit plugin writes its own timestamp when `server_audit_timestamp_format`
//! is set to an ISO shape ([`crate::audit::dialect`]).
//!
//! Shapes read (the date and time are required, the rest optional):
//!
//! ```text
//! 2024-05-01T12:00:00.123Z          CloudWatch Logs export to S3 (one per line, then the message)
//! 2024-05-01T12:00:00.123000+00:00  aws logs tail
//! 2024-05-01 12:00:00.123           Logs Insights "download as CSV" (@timestamp)
//! ```
//!
//! A fraction of up to nine digits is accepted and cut to microseconds (the unit of every
//! timestamp we output). A zone is `Z` or `±HH:MM` / `±HHMM`; without one the time is read as
//! UTC, like the plugin's own `YYYYMMDD HH:MM:SS` (server local time, UTC on RDS).

use super::timestamp::days_from_civil;

/// A date-time read from the start of a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoTime {
    /// UTC epoch microseconds.
    pub epoch_us: i64,
    /// How many bytes of the input it took.
    pub len: usize,
}

/// Reads an ISO 8601 date-time at the start of `s` (see the module docs); `None` when `s` does
/// not start with one or the date or time is impossible (a 30th of February, hour 24).
///
/// ```
/// use rdsaudit::audit::iso_time::parse_prefix;
/// let t = parse_prefix(b"2024-05-01T12:00:00.123Z 20240501 12:00:00,db1,...").unwrap();
/// assert_eq!((t.epoch_us, t.len), (1_714_564_800_123_000, 24));
/// assert_eq!(parse_prefix(b"2024-05-01 14:00:00+02:00").unwrap().epoch_us, 1_714_564_800_000_000);
/// assert!(parse_prefix(b"2024-02-30T00:00:00Z").is_none());
/// ```
#[must_use]
pub fn parse_prefix(s: &[u8]) -> Option<IsoTime> {
    let civil = s.get(..19)?;
    if !shape_ok(civil) {
        return None;
    }
    let (year, month, day) = (num(civil, 0..4)?, num(civil, 5..7)?, num(civil, 8..10)?);
    let (hour, minute, second) = (
        num(civil, 11..13)?,
        num(civil, 14..16)?,
        num(civil, 17..19)?,
    );
    let month_ok = (1..=12).contains(&month);
    if !month_ok || day < 1 || day > super::timestamp::days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (micros, mut len) = fraction(s, 19);
    let (offset_secs, zone_len) = zone(s.get(len..).unwrap_or_default())?;
    len += zone_len;
    let secs = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second;
    Some(IsoTime {
        epoch_us: (secs - offset_secs) * 1_000_000 + micros,
        len,
    })
}

/// The length of the date-time at the start of `s` when it has the shape of one (see the
/// module docs); its values are checked by [`parse_prefix`]. How an audit line written with
/// an ISO `server_audit_timestamp_format` is recognised ([`crate::audit::dialect`]).
pub(crate) fn shape_len(s: &[u8]) -> Option<usize> {
    if !shape_ok(s.get(..19)?) {
        return None;
    }
    let (_, len) = fraction(s, 19);
    let (_, zone_len) = zone(s.get(len..).unwrap_or_default())?;
    Some(len + zone_len)
}

/// `YYYY-MM-DD[T ]HH:MM:SS`: digits everywhere but the separators.
fn shape_ok(s: &[u8]) -> bool {
    s.iter().enumerate().all(|(i, &b)| match i {
        4 | 7 => b == b'-',
        10 => b == b'T' || b == b' ',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    })
}

/// The microseconds of a `.ddd` fraction at `at` (none: 0), and the index after it.
fn fraction(s: &[u8], at: usize) -> (i64, usize) {
    if s.get(at) != Some(&b'.') {
        return (0, at);
    }
    let digits = s
        .get(at + 1..)
        .unwrap_or_default()
        .iter()
        .take(9)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return (0, at);
    }
    let mut micros = 0i64;
    for i in 0..6 {
        let d = if i < digits {
            s.get(at + 1 + i).map_or(0, |b| i64::from(b - b'0'))
        } else {
            0
        };
        micros = micros * 10 + d;
    }
    (micros, at + 1 + digits)
}

/// A zone designator at the start of `s`: `(offset east of UTC in seconds, its length)`.
/// `None` only for a malformed offset (`+2`, `+25:00`); no designator is `(0, 0)`.
fn zone(s: &[u8]) -> Option<(i64, usize)> {
    let sign = match s.first() {
        Some(b'Z') => return Some((0, 1)),
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some((0, 0)),
    };
    let hours = num(s, 1..3)?;
    let (minutes, len) = if s.get(3) == Some(&b':') {
        (num(s, 4..6)?, 6)
    } else {
        (num(s, 3..5)?, 5)
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((sign * (hours * 3600 + minutes * 60), len))
}

fn num(s: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
    s.get(range)?.iter().try_fold(0i64, |acc, &b| {
        Some(acc * 10 + i64::from(b.checked_sub(b'0').filter(|d| *d < 10)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::timestamp::Rfc3339;

    fn show(s: &[u8]) -> Option<(String, usize)> {
        parse_prefix(s).map(|t| (Rfc3339(t.epoch_us).to_string(), t.len))
    }

    #[test]
    fn every_shape_aws_tools_print() {
        let t = |len| Some(("2024-05-01T12:00:00.123000Z".to_owned(), len));
        assert_eq!(show(b"2024-05-01T12:00:00.123Z msg"), t(24));
        assert_eq!(show(b"2024-05-01T12:00:00.123000+00:00 s m"), t(32));
        assert_eq!(show(b"2024-05-01 12:00:00.123"), t(23));
        assert_eq!(show(b"2024-05-01 07:00:00.123-0500,x"), t(28));
        assert_eq!(
            show(b"2024-05-01T12:00:00.123456789Z"),
            Some(("2024-05-01T12:00:00.123456Z".to_owned(), 30))
        );
        assert_eq!(
            show(b"2024-05-01T12:00:00,"),
            Some(("2024-05-01T12:00:00.000000Z".to_owned(), 19))
        );
        // A dot without digits is not a fraction: the time ends before it.
        assert_eq!(show(b"2024-05-01T12:00:00.x").map(|(_, l)| l), Some(19));
    }

    #[test]
    fn impossible_or_malformed_times_are_refused() {
        for bad in [
            &b"2024-13-01T00:00:00"[..],
            b"2023-02-29T00:00:00",
            b"2024-05-01T24:00:00",
            b"2024-05-01X12:00:00",
            b"2024-05-01T12:00:00+2",
            b"2024-05-01T12:00:00+25:00",
            b"20240501 12:00:00",
            b"2024-05-01T12:00",
        ] {
            assert_eq!(parse_prefix(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips_rfc3339(us in -62_135_596_800_000_000i64..253_402_300_799_999_999) {
            let text = Rfc3339(us).to_string();
            let t = parse_prefix(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!((t.epoch_us, t.len), (us, text.len()));
        }

        #[test]
        fn never_panics(s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let _ = parse_prefix(&s);
        }
    }
}
