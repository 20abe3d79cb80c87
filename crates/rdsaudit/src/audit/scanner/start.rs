//! The fixed start of a line: its timestamp and server host ([`Frame`]), structure the
//! server writes before any raw name.

use crate::audit::dialect::{self, TimestampForm};
use crate::audit::timestamp::{parse_timestamp, same_day_epoch_us};
use crate::swar::find2;

use super::end::Span;
use super::{Breaks, LineError};

/// A line cut at its fixed start.
pub(super) struct Frame<'a> {
    pub(super) line: &'a [u8],
    pub(super) timestamp: &'a [u8],
    pub(super) form: TimestampForm,
    pub(super) serverhost: &'a [u8],
    /// Everything after the server host's comma.
    pub(super) middle: &'a [u8],
    /// Where `middle` starts in `line`.
    pub(super) at: usize,
    /// What the line's reader knows of raw line breaks in it.
    pub(super) breaks: Breaks,
}

impl<'a> Frame<'a> {
    #[cfg(test)]
    pub(super) fn new(line: &'a [u8]) -> Result<Self, LineError> {
        let frame = Frame::unchecked(line, Breaks::Unknown)?;
        frame.check_host()?;
        Ok(frame)
    }

    /// The tests' `Frame::new` without [`Frame::check_host`].
    fn unchecked(line: &'a [u8], breaks: Breaks) -> Result<Self, LineError> {
        if line.is_empty() {
            return Err(LineError::Empty);
        }
        let (ts_len, form) = dialect::timestamp_shape(line).ok_or(LineError::Timestamp)?;
        Frame::after_timestamp(line, ts_len, form, breaks)
    }

    /// The frame once the timestamp's shape is known: `line[..ts_len]` has `form` and a comma
    /// follows it. The server host is not checked for line breaks yet ([`Frame::check_host`]).
    fn after_timestamp(
        line: &'a [u8],
        ts_len: usize,
        form: TimestampForm,
        breaks: Breaks,
    ) -> Result<Self, LineError> {
        let after_ts = line.get(ts_len + 1..).unwrap_or_default();
        // The server host is a few dozen bytes, where `memchr`'s start (~40 instructions a
        // line) cost more than its search: `find2`'s SSE2 start is a load.
        let host_end = find2(after_ts, b',', b',').ok_or(LineError::Header)?;
        let at = ts_len + 1 + host_end + 1;
        Ok(Frame {
            line,
            timestamp: line.get(..ts_len).unwrap_or_default(),
            form,
            serverhost: after_ts.get(..host_end).unwrap_or_default(),
            middle: line.get(at..).unwrap_or_default(),
            at,
            breaks,
        })
    }

    /// A server host holding a line break is no server host ([`LineError::Header`]): the
    /// text before the break is a record's start cut short.
    ///
    /// Checked apart from the frame: [`sole_plain_split`](super::counting::sole_plain_split) proves the whole text before the
    /// object free of breaks (the server host included) with one search, so only the lines
    /// it does not read need this one (a search per line, ~60 instructions, saved).
    pub(super) fn check_host(&self) -> Result<(), LineError> {
        if self.breaks == Breaks::None || dialect::is_server_host(self.serverhost) {
            Ok(())
        } else {
            Err(LineError::Header)
        }
    }

    /// [`Frame::unchecked`] and the time of its timestamp, from [`LAST_CIVIL`] when the line
    /// starts with the civil timestamp read last on this thread, or with one of the same day
    /// (its time of day read alone, [`same_day_epoch_us`]: `p20.log` changes its second every
    /// five lines). A frame whose timestamp is out of range reports a bad server host first,
    /// as the tests' `Frame::new` before its time would.
    ///
    /// Always inlined, as [`Ends::new`](super::end::Ends::new) and [`sole_plain_split`](super::counting::sole_plain_split): [`parse`](super::parse) and
    /// [`scan_counted`](super::counting::scan_counted) both call them, and called, each returned its struct through memory
    /// (`p20.log`: +5.5 M instructions).
    #[inline(always)]
    pub(super) fn timed(line: &'a [u8], breaks: Breaks) -> Result<(Self, i64), LineError> {
        if let (Some(head), Some((key, key_us))) = (line.first_chunk(), LAST_CIVIL.get()) {
            let epoch_us = if *head == key {
                Some(key_us)
            } else {
                let same_day = same_day_epoch_us(head, &key, key_us);
                if let Some(us) = same_day {
                    LAST_CIVIL.set(Some((*head, us)));
                }
                same_day
            };
            if let Some(epoch_us) = epoch_us {
                let frame =
                    Frame::after_timestamp(line, dialect::CIVIL_LEN, TimestampForm::Civil, breaks)?;
                return Ok((frame, epoch_us));
            }
        }
        let frame = Frame::unchecked(line, breaks)?;
        let epoch_us = match parse_timestamp(frame.timestamp, frame.form) {
            Ok(t) => t,
            Err(e) => {
                frame.check_host()?;
                return Err(e);
            }
        };
        if frame.form == TimestampForm::Civil
            && let Some(key) = line.first_chunk()
        {
            LAST_CIVIL.set(Some((*key, epoch_us)));
        }
        Ok((frame, epoch_us))
    }

    pub(super) fn get(&self, span: Span) -> &'a [u8] {
        self.middle.get(span.0..span.1).unwrap_or_default()
    }
}

thread_local! {
    /// The civil timestamp read last on this thread with its comma (`YYYYMMDD HH:MM:SS,`)
    /// and its time: a log's lines come several to a second, and the shape check and the
    /// date arithmetic cost ~200 instructions a line. A pure function of those 18 bytes, so
    /// a line starting with them reads as it would without.
    static LAST_CIVIL: std::cell::Cell<Option<([u8; dialect::CIVIL_LEN + 1], i64)>> =
        const { std::cell::Cell::new(None) };
}
