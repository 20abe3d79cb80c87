//! RFC 3339 timestamps for the output path, the date and time cached per second.
//!
//! Audit events come in bursts within the same second, so the `YYYY-MM-DDTHH:MM:SS` part is
//! kept and reused; each event then adds only its six microsecond digits. The date is
//! formatted once per day (by hand for four-digit years, by [`Rfc3339`], the one definition
//! of the text, for the others), the time of day by hand. The text is byte-identical to
//! [`Rfc3339`]'s (property tests check, dates of every year from 0 to 9999 among them).

use std::io::Write as _;

use super::spare::Buf;
use crate::audit::timestamp::{Rfc3339, civil_from_days};

/// Writes [`Rfc3339`] text, remembering the last second it formatted.
///
/// ```
/// # use rdsaudit::sink::rfc3339::Rfc3339Cache;
/// let mut cache = Rfc3339Cache::default();
/// let mut out = Vec::new();
/// cache.write(1_653_053_459_680_124, &mut out);
/// assert_eq!(out, b"2022-05-20T13:30:59.680124Z");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rfc3339Cache {
    /// The second whose text `text` holds; `None` before the first write.
    second: Option<i64>,
    /// The day whose `YYYY-MM-DDT` starts `text`.
    day: Option<i64>,
    /// `2022-05-20T13:30:59.000000Z`: the second's first microsecond, which is every event's
    /// time in the dialects that log whole seconds (copied whole instead of formatting the
    /// microseconds); everything before the `.` is the second's text ([`Self::seconds_text`]).
    /// One buffer: a new second rewrites its `HH:MM:SS` in place and copies nothing.
    text: Vec<u8>,
    /// `1653053459000000`: the second's first microsecond in decimal when the second is
    /// positive (none otherwise), the first `digits_len` bytes ([`Self::whole_digits`]);
    /// without their last six, the second's ([`Self::second_digits`]). Inline: rewritten at
    /// every new second, and a new writer's has nothing to allocate.
    digits: [u8; DIGITS_MAX],
    digits_len: usize,
}

/// The digits of `i64::MAX`: a second's first microsecond is an `i64` too.
const DIGITS_MAX: usize = 19;

/// `.000000Z`: what ends [`Rfc3339Cache::text`].
const WHOLE_MICROS: &[u8; 8] = b".000000Z";

/// The capacity `text` is given on its first use: the longest (a six-digit year with its
/// sign) fits, so a new writer's is allocated once, not grown.
const TEXT_CAPACITY: usize = 32;

impl Rfc3339Cache {
    /// Appends `epoch_us` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` to `out`.
    #[inline]
    pub fn write(&mut self, epoch_us: i64, out: &mut Vec<u8>) {
        let second = epoch_us.div_euclid(1_000_000);
        if self.second != Some(second) {
            self.refresh(second);
        }
        super::json_escape::put(out, self.seconds_text());
        out.extend_from_slice(&micros_text(epoch_us.rem_euclid(1_000_000)));
    }

    /// Appends the text [`Rfc3339Cache::write`] appends, then `between`, then `epoch_us` in
    /// decimal (NDJSON's `timestamp` and `timestamp_us`, CSV's first two cells): the second's
    /// digits are cached with its date-time and the microseconds' six digits are those of
    /// the date-time, instead of formatting a 16-digit number per event.
    ///
    /// ```
    /// # use rdsaudit::sink::rfc3339::Rfc3339Cache;
    /// let mut out = Vec::new();
    /// Rfc3339Cache::default().write_with_decimal(1_653_053_459_000_124, b",", &mut out);
    /// assert_eq!(out, b"2022-05-20T13:30:59.000124Z,1653053459000124");
    /// ```
    /// (Always inlined: `between` is a constant of the caller, copied as such.)
    #[inline(always)]
    pub fn write_with_decimal(&mut self, epoch_us: i64, between: &[u8], out: &mut Vec<u8>) {
        self.write_with_decimal_to(epoch_us, between, out);
    }

    /// [`Rfc3339Cache::write_with_decimal`] to any [`Buf`].
    #[inline(always)]
    pub(crate) fn write_with_decimal_to<B: Buf>(
        &mut self,
        epoch_us: i64,
        between: &[u8],
        out: &mut B,
    ) {
        let second = epoch_us.div_euclid(1_000_000);
        if self.second != Some(second) {
            self.refresh(second);
        }
        let micros_us = epoch_us.rem_euclid(1_000_000);
        if micros_us == 0 && self.digits_len > 0 {
            out.put(&self.text);
            out.put(between);
            out.put(self.whole_digits());
            return;
        }
        let micros = micros_text(micros_us);
        out.put(self.seconds_text());
        out.put_const(&micros);
        out.put(between);
        let second_digits = self.second_digits();
        if second_digits.is_empty() {
            // Up to the first second after 1970 the digits are not second + micros.
            out.put(itoa::Buffer::new().format(epoch_us).as_bytes());
            return;
        }
        out.put(second_digits);
        if let Some(digits) = micros.first_chunk::<7>().and_then(|m| m.last_chunk::<6>()) {
            out.put_const(digits);
        }
    }

    /// `2022-05-20T13:30:59`: the cached second's text, without its microseconds.
    #[inline(always)]
    fn seconds_text(&self) -> &[u8] {
        let end = self.text.len().saturating_sub(WHOLE_MICROS.len());
        self.text.get(..end).unwrap_or_default()
    }

    /// `1653053459`: the cached second in decimal (empty unless it is positive).
    #[inline(always)]
    fn second_digits(&self) -> &[u8] {
        let end = self.digits_len.saturating_sub(6);
        self.digits.get(..end).unwrap_or_default()
    }

    /// `1653053459000000`: the cached second's first microsecond in decimal (empty unless
    /// the second is positive).
    #[inline(always)]
    fn whole_digits(&self) -> &[u8] {
        self.digits.get(..self.digits_len).unwrap_or_default()
    }

    /// A new second: `HH:MM:SS` by hand, the date only when the day changed too; the
    /// second after the cached one within its minute (a log's usual next second) by
    /// [`Self::next_in_minute`].
    fn refresh(&mut self, second: i64) {
        if self
            .second
            .is_some_and(|cached| cached.checked_add(1) == Some(second))
            && second.rem_euclid(60) != 0
            && self.next_in_minute()
        {
            self.second = Some(second);
            return;
        }
        let day = second.div_euclid(86_400);
        if self.day != Some(day) {
            self.start_day(day);
        }
        let tod = second.rem_euclid(86_400);
        let time = [tod / 3600, tod / 60 % 60, tod % 60];
        let end = self.text.len().saturating_sub(WHOLE_MICROS.len());
        if let Some(hms) = self.text.get_mut(end.saturating_sub(8)..end) {
            for (pair, value) in hms.chunks_mut(3).zip(time) {
                // Each value is in 0..60, so both digits fit a u8.
                if let [tens, ones, ..] = pair {
                    *tens = b'0' + (value / 10) as u8;
                    *ones = b'0' + (value % 10) as u8;
                }
            }
        }
        self.digits_len = 0;
        if second > 0 {
            let mut digits = itoa::Buffer::new();
            let digits = digits.format(second).as_bytes();
            // Always fits (`second * 1_000_000` is an i64); were it not to, `digits_len`
            // stays 0 and the time is written from its own digits.
            if let Some((at, rest)) = self.digits.split_at_mut_checked(digits.len())
                && let Some(zeros) = rest.get_mut(..6)
            {
                at.copy_from_slice(digits);
                zeros.fill(b'0');
                self.digits_len = digits.len() + 6;
            }
        }
        self.second = Some(second);
    }

    /// Moves the cached text and digits on by one second, the cached second not being the
    /// last of its minute (so only `SS` changes, by one, and the day stays): ~20
    /// instructions instead of the ~200 of `HH:MM:SS` and the digits written afresh (30,430
    /// new seconds on the 20 MB plain log). `false` when the digits cannot be moved on in
    /// place (none cached: the second is not positive; or all nines: one digit more), then
    /// the caller writes everything afresh (the `SS` may have moved already).
    fn next_in_minute(&mut self) -> bool {
        let end = self.text.len().saturating_sub(WHOLE_MICROS.len());
        if let Some([tens, ones]) = self.text.get_mut(end.saturating_sub(2)..end) {
            if *ones == b'9' {
                *ones = b'0';
                *tens += 1;
            } else {
                *ones += 1;
            }
        }
        let Some(digits) = self.digits.get_mut(..self.digits_len.saturating_sub(6)) else {
            return false;
        };
        // Decimal increment from the last digit; a carry out of the first leaves all zeros.
        for digit in digits.iter_mut().rev() {
            if *digit == b'9' {
                *digit = b'0';
            } else {
                *digit += 1;
                return true;
            }
        }
        false
    }

    /// A new day: `text` becomes `YYYY-MM-DDT00:00:00.000000Z` (the time is overwritten by
    /// [`Self::refresh`]). Four-digit years (every real log's) by hand: a writer made for
    /// each record starts here, and `core::fmt` cost it 2,000 instructions; the others by
    /// [`Rfc3339`].
    fn start_day(&mut self, day: i64) {
        self.text.clear();
        self.text.reserve(TEXT_CAPACITY);
        let (year, month, date) = civil_from_days(day);
        if (0..=9999).contains(&year) {
            let mut text = *b"0000-00-00T00:00:00.000000Z";
            for (at, width, value) in [(0, 4, year), (5, 2, month), (8, 2, date)] {
                let mut rest = value;
                for digit in text.iter_mut().skip(at).take(width).rev() {
                    // `rest % 10` is in 0..10: the values are not negative.
                    *digit = b'0' + (rest % 10) as u8;
                    rest /= 10;
                }
            }
            self.text.extend_from_slice(&text);
        } else {
            // Writing to a Vec cannot fail.
            let _ = write!(self.text, "{}", Rfc3339(day.saturating_mul(86_400_000_000)));
            // Keep the date (and a time overwritten by `refresh`) and end with the second's
            // first microsecond (the day's start may have saturated to another).
            let keep = self.text.len().saturating_sub(WHOLE_MICROS.len());
            self.text.truncate(keep);
            self.text.extend_from_slice(WHOLE_MICROS);
        }
        self.day = Some(day);
    }
}

/// `.ffffffZ` for `micros` in `0..1_000_000`.
#[inline]
fn micros_text(micros: i64) -> [u8; 8] {
    let mut text = *b".000000Z";
    let mut rest = micros;
    for digit in text.iter_mut().skip(1).take(6).rev() {
        // `rest % 10` is in 0..10 for micros >= 0, so the cast keeps it.
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `0000-01-01T00:00:00Z` and `10000-01-01T00:00:00Z`.
    const YEAR_0_US: i64 = -62_167_219_200_000_000;
    const YEAR_10000_US: i64 = 253_402_300_800_000_000;

    #[test]
    fn year_edges() {
        let text = |t: i64| {
            let mut out = Vec::new();
            Rfc3339Cache::default().write(t, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(YEAR_0_US), "0000-01-01T00:00:00.000000Z");
        assert_eq!(text(YEAR_0_US - 1), Rfc3339(YEAR_0_US - 1).to_string());
        assert_eq!(text(YEAR_10000_US - 1), "9999-12-31T23:59:59.999999Z");
        assert_eq!(text(YEAR_10000_US), Rfc3339(YEAR_10000_US).to_string());
        assert_eq!(text(i64::MIN), Rfc3339(i64::MIN).to_string());
    }

    proptest! {
        /// The cache gives Rfc3339's text for any sequence of times, repeated seconds included.
        #[test]
        fn same_text_as_rfc3339(times in prop::collection::vec(
            prop_oneof![
                0i64..2_000_000,
                -5_000_000i64..5_000_000,
                0i64..999_999_999_999_999_999,
                // The years written by hand (0 to 9999), their edges, and every i64.
                YEAR_0_US..YEAR_10000_US,
                (-2i64..2).prop_map(|d| YEAR_0_US + d * 86_400_000_000),
                (-2i64..2).prop_map(|d| YEAR_10000_US + d * 86_400_000_000),
                any::<i64>(),
            ],
            1..20,
        )) {
            let mut cache = Rfc3339Cache::default();
            for t in times {
                let mut out = Vec::new();
                cache.write(t, &mut out);
                prop_assert_eq!(String::from_utf8(out).unwrap(), Rfc3339(t).to_string());
            }
        }

        /// Runs of consecutive seconds (and the same second again), from starts around the
        /// minute, hour and day edges, the first positive seconds, the nines that carry into
        /// a new digit, and before 1970: the text and decimal moved on in place are
        /// Rfc3339's and `Display`'s.
        #[test]
        fn consecutive_seconds_are_rfc3339(
            start in prop_oneof![
                (0i64..3).prop_map(|s| s * 1_000_000),
                (-3i64..3).prop_map(|s| (1_711_200_960 + 60 * s) * 1_000_000 - 3_000_000),
                Just(1_711_238_397_000_000i64),
                Just(999_999_995_000_000i64),
                Just(99_999_995_000_000i64),
                Just(-5_000_000i64),
                (YEAR_0_US / 1_000_000..YEAR_10000_US / 1_000_000).prop_map(|s| s * 1_000_000),
            ],
            steps in prop::collection::vec((0i64..3, prop_oneof![Just(0i64), 0i64..1_000_000]), 1..70),
        ) {
            let mut cache = Rfc3339Cache::default();
            let mut second = start;
            for (step, micros) in steps {
                second += step * 1_000_000;
                let t = second + micros;
                let mut out = Vec::new();
                cache.write_with_decimal(t, b"|", &mut out);
                prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{}|{t}", Rfc3339(t)));
            }
        }

        /// `write_with_decimal` is the date-time, the bytes between, and `epoch_us` as
        /// `Display` writes it, around 0 and the first second too, mixed with `write`.
        #[test]
        fn with_decimal_is_rfc3339_and_the_number(times in prop::collection::vec(
            prop_oneof![
                -3_000_000i64..3_000_000,
                0i64..999_999_999_999_999_999,
                (-3i64..3).prop_map(|s| s * 1_000_000),
                (0i64..999_999_999_999).prop_map(|s| s * 1_000_000),
                YEAR_0_US..YEAR_10000_US,
                any::<i64>(),
            ],
            1..20,
        )) {
            let mut cache = Rfc3339Cache::default();
            for t in times {
                let mut out = Vec::new();
                cache.write_with_decimal(t, b"|", &mut out);
                prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{}|{t}", Rfc3339(t)));
                cache.write(t, &mut Vec::new());
            }
        }
    }
}
