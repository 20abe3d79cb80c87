//! The first fields of an output record, kept as written and copied while they repeat.
//!
//! NDJSON's `{"timestamp":"…","timestamp_us":…,"dialect":"…","serverhost":"…","username":"`
//! and CSV's `time,us,dialect,serverhost,` are ten pieces, a time lookup and a check or
//! escape of the host for each event, but the same for every event of a second: a log has
//! one server host and several events a second. [`Lead`] keeps them as written for the last
//! whole second and copies them as one run (~100 instructions an event less on the plain
//! log). Compared by content, not address: a buffer reused for the next record may hold
//! another host there. Events with microseconds (Aurora) are written afresh each time.

use super::spare::Buf;
use crate::audit::event::{AuditEvent, Timestamp};

/// What an event's first fields were last written as, with what they were written for.
#[derive(Debug, Default)]
pub(crate) struct Lead {
    /// The time and dialect `run` was written for; `None` before the first.
    time: Option<Timestamp>,
    /// The server host `run` was written for, as it came (not escaped).
    serverhost: Vec<u8>,
    /// What was written.
    run: Vec<u8>,
    /// Whether an event was written before.
    started: bool,
}

impl Lead {
    /// Appends `e`'s first fields: the run kept when it is theirs, else by `write` (which
    /// writes them from `e`'s time, dialect and server host alone, the same way each time
    /// for one writer), kept when worth it.
    #[inline(always)]
    pub(crate) fn write<B: Buf>(
        &mut self,
        e: &AuditEvent<'_>,
        out: &mut B,
        write: impl FnOnce(&mut B),
    ) {
        if self.holds(e) {
            out.put(&self.run);
            return;
        }
        let mark = out.mark();
        write(out);
        if self.worth_keeping(e) {
            out.with_vec(|v| self.keep(e, v.get(mark..).unwrap_or_default()));
        }
    }

    /// Whether `run` is what `e`'s first fields are written as.
    #[inline(always)]
    fn holds(&self, e: &AuditEvent<'_>) -> bool {
        self.time == Some(e.timestamp) && same_bytes(&self.serverhost, e.serverhost.as_bytes())
    }

    /// Whether to keep what `e`'s first fields were written as, on a miss: only for a whole
    /// second (an event with microseconds is rarely followed by one with the same), and not
    /// on a writer's first event (a front end that makes a writer per record of one line
    /// would allocate and copy for nothing).
    #[inline(always)]
    fn worth_keeping(&mut self, e: &AuditEvent<'_>) -> bool {
        let started = std::mem::replace(&mut self.started, true);
        started && e.timestamp.epoch_us.rem_euclid(1_000_000) == 0
    }

    /// Keeps `run`, what `e`'s first fields were written as.
    #[cold]
    fn keep(&mut self, e: &AuditEvent<'_>, run: &[u8]) {
        self.time = Some(e.timestamp);
        self.serverhost.clear();
        self.serverhost.extend_from_slice(e.serverhost.as_bytes());
        self.run.clear();
        self.run.extend_from_slice(run);
    }
}

/// `a == b`, for names of 8 to 32 bytes (server hosts, log groups and streams) as two
/// overlapping words or vectors each instead of a `memcmp` call.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    /// The first and the last `N` bytes.
    #[inline(always)]
    fn ends<const N: usize>(s: &[u8]) -> Option<(&[u8; N], &[u8; N])> {
        Some((s.first_chunk()?, s.last_chunk()?))
    }
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        8..=16 => ends::<8>(a) == ends::<8>(b),
        17..=32 => ends::<16>(a) == ends::<16>(b),
        _ => a == b,
    }
}

/// Runs of (time, dialect, server host) as the writers' lead sees them from event to event:
/// the same or another time (whole seconds or not), dialect and server host (the same length
/// with other text, JSON and CSV escapes, a formula, longer than the 32 bytes compared as
/// words). One generator for the NDJSON and CSV writers' `repeated_lead_is_written_as_fresh`.
#[cfg(test)]
pub(crate) fn lead_runs()
-> impl proptest::strategy::Strategy<Value = Vec<(i64, crate::audit::dialect::Dialect, &'static str)>>
{
    use crate::audit::dialect::Dialect;
    use proptest::sample::select;
    let time = select(vec![
        1_711_200_969_000_000i64,
        1_711_200_970_000_000,
        1_711_200_969_000_001,
        0,
        -1_000_000,
        86_400_000_000,
    ]);
    let dialect = select(vec![Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql]);
    let serverhost = select(vec![
        "ip-10-0-0-12",
        "ip-10-0-0-13",
        "h",
        "",
        "a\"b\nc",
        "a,b\"c",
        "=cmd",
        "a\tb",
        "ip-172-17-4-137.ec2.internal",
        "ip-172-17-4-137.ec2.internax",
        "a-server-host-name-longer-than-32-bytes",
    ]);
    proptest::collection::vec((time, dialect, serverhost), 1..10)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// [`same_bytes`] is `==`, at every length around its classes.
        #[test]
        fn same_bytes_is_eq(
            a in prop::collection::vec(prop::sample::select(vec![b'a', b'b']), 0..40),
            b in prop::collection::vec(prop::sample::select(vec![b'a', b'b']), 0..40),
        ) {
            prop_assert_eq!(same_bytes(&a, &b), a == b);
            prop_assert!(same_bytes(&a, &a.clone()));
        }
    }
}
