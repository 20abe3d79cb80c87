//! RFC 3339 timestamps for the output path, the date and time cached per second.
//!
//! Audit events come in bursts within the same second, so the `YYYY-MM-DDTHH:MM:SS` part is
//! kept and reused; each event then adds only its six microsecond digits. The date is
//! formatted once per day by [`Rfc3339`] (the one definition of the text), the time of day
//! by hand. The text is byte-identical to [`Rfc3339`]'s (a property test checks).

use std::io::Write as _;

use super::spare::Buf;
use crate::audit::timestamp::Rfc3339;

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
    /// The second whose text `seconds_text` holds; `None` before the first write.
    second: Option<i64>,
    /// The day whose `YYYY-MM-DDT` starts `seconds_text`.
    day: Option<i64>,
    /// `2022-05-20T13:30:59`: everything before the `.`.
    seconds_text: Vec<u8>,
    /// `1653053459`: the second in decimal, when it is positive (empty otherwise).
    second_digits: Vec<u8>,
    /// `2022-05-20T13:30:59.000000Z` and `1653053459000000` (empty when `second_digits` is):
    /// the second's first microsecond, which is every event's time in the dialects that log
    /// whole seconds, copied whole instead of formatting the microseconds twice.
    whole_text: Vec<u8>,
    whole_digits: Vec<u8>,
}

impl Rfc3339Cache {
    /// Appends `epoch_us` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` to `out`.
    #[inline]
    pub fn write(&mut self, epoch_us: i64, out: &mut Vec<u8>) {
        let second = epoch_us.div_euclid(1_000_000);
        if self.second != Some(second) {
            self.refresh(second);
        }
        super::json_escape::put(out, &self.seconds_text);
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
        if micros_us == 0 && !self.whole_digits.is_empty() {
            out.put(&self.whole_text);
            out.put(between);
            out.put(&self.whole_digits);
            return;
        }
        let micros = micros_text(micros_us);
        out.put(&self.seconds_text);
        out.put_const(&micros);
        out.put(between);
        if self.second_digits.is_empty() {
            // Up to the first second after 1970 the digits are not second + micros.
            out.put(itoa::Buffer::new().format(epoch_us).as_bytes());
            return;
        }
        out.put(&self.second_digits);
        if let Some(digits) = micros.first_chunk::<7>().and_then(|m| m.last_chunk::<6>()) {
            out.put_const(digits);
        }
    }

    /// A new second: `HH:MM:SS` by hand, the date only when the day changed too.
    fn refresh(&mut self, second: i64) {
        let day = second.div_euclid(86_400);
        if self.day != Some(day) {
            self.seconds_text.clear();
            // Writing to a Vec cannot fail.
            let _ = write!(
                self.seconds_text,
                "{}",
                Rfc3339(day.saturating_mul(86_400_000_000))
            );
            // Keep `YYYY-MM-DDT00:00:00`; the time is overwritten below.
            let keep = self.seconds_text.len().saturating_sub(8);
            self.seconds_text.truncate(keep);
            self.day = Some(day);
        }
        let tod = second.rem_euclid(86_400);
        let time = [tod / 3600, tod / 60 % 60, tod % 60];
        let start = self.seconds_text.len().saturating_sub(8);
        if let Some(hms) = self.seconds_text.get_mut(start..) {
            for (pair, value) in hms.chunks_mut(3).zip(time) {
                // Each value is in 0..60, so both digits fit a u8.
                if let [tens, ones, ..] = pair {
                    *tens = b'0' + (value / 10) as u8;
                    *ones = b'0' + (value % 10) as u8;
                }
            }
        }
        self.second_digits.clear();
        if second > 0 {
            let mut digits = itoa::Buffer::new();
            self.second_digits
                .extend_from_slice(digits.format(second).as_bytes());
        }
        self.whole_text.clear();
        self.whole_text.extend_from_slice(&self.seconds_text);
        self.whole_text.extend_from_slice(&micros_text(0));
        self.whole_digits.clear();
        if !self.second_digits.is_empty() {
            self.whole_digits.extend_from_slice(&self.second_digits);
            self.whole_digits.extend_from_slice(b"000000");
        }
        self.second = Some(second);
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

    proptest! {
        /// The cache gives Rfc3339's text for any sequence of times, repeated seconds included.
        #[test]
        fn same_text_as_rfc3339(times in prop::collection::vec(
            prop_oneof![0i64..2_000_000, -5_000_000i64..5_000_000, 0i64..999_999_999_999_999_999],
            1..20,
        )) {
            let mut cache = Rfc3339Cache::default();
            for t in times {
                let mut out = Vec::new();
                cache.write(t, &mut out);
                prop_assert_eq!(String::from_utf8(out).unwrap(), Rfc3339(t).to_string());
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
