//! Counting a line's readings ([`Counted`]) without enumerating them, and the plain line's
//! sole reading found first ([`sole_plain_split`]).

use std::ops::ControlFlow;

use crate::audit::dialect::{self, OpClass};
use crate::swar::{BLOCK, find2, masks_at};

use super::anchors::{
    Anchor, Split, anchor_at, comma_pairs_in, connection_split, for_each_anchor, operation_between,
    query_split, splits_of, table_operations, table_split,
};
use super::end::{Ends, NoQueryEnd, QueryEnd, Span, query_end_error};
use super::readings::{names_of, parse_i64, parse_u64, parse_u64_at};
use super::start::Frame;
use super::{Breaks, LineError};

/// A line's readings, counted.
pub(super) struct Counted<'a> {
    pub(super) frame: Frame<'a>,
    pub(super) ends: Ends,
    pub(super) epoch_us: i64,
    /// The split with the rightmost anchor: the event.
    pub(super) primary: Split,
    /// Its numbers (read once: checking that they are in range parses them).
    pub(super) numbers: Numbers,
    /// How many splits satisfy the grammar with every number in range.
    pub(super) valid: u64,
}

/// Frames `line`, reads its timestamp, counts its splits and picks the primary one.
pub(super) fn scan_counted(line: &[u8], breaks: Breaks) -> Result<Counted<'_>, LineError> {
    let (frame, epoch_us) = Frame::timed(line, breaks)?;
    let ends = Ends::new(&frame);
    // The plain path's proof covers the server host ([`Frame::check_host`]).
    if let Some((primary, numbers)) = sole_plain_split(&frame, &ends) {
        return Ok(Counted {
            frame,
            ends,
            epoch_us,
            primary,
            numbers,
            valid: 1,
        });
    }
    frame.check_host()?;
    count_splits(frame, ends, epoch_us)
}

/// Counts every split of a framed line (the general case of [`scan_counted`]).
pub(super) fn count_splits<'a>(
    frame: Frame<'a>,
    ends: Ends,
    epoch_us: i64,
) -> Result<Counted<'a>, LineError> {
    let middle = frame.middle;
    let mut valid = 0u64;
    let mut primary = None;
    let mut range_error = None;
    let mut commas = CommaCounter::default();
    let _ = for_each_anchor(middle, &ends, &mut |a| {
        let n = match a.class {
            OpClass::Table => ends
                .table
                .map_or(0, |t| commas.table_splits(middle, a.db_start, t)),
            _ => 1,
        };
        if n == 0 {
            return ControlFlow::Continue(());
        }
        let retcode = split_retcode(&ends, a.class, middle.len());
        match read_numbers(&frame, &a, retcode) {
            Ok(read) => {
                valid = valid.saturating_add(n);
                if !forged_in_statement(&ends, primary.as_ref().map(|(p, _)| p), &a) {
                    primary = Some((a, read));
                }
            }
            Err(e) => range_error = Some(e),
        }
        ControlFlow::Continue(())
    });
    let Some((anchor, numbers)) = primary else {
        return Err(range_error.unwrap_or_else(|| no_split_error(&frame, &ends)));
    };
    // Its first split has the class's return code, the one the numbers were read with.
    let primary = first_split(&frame, &ends, anchor).ok_or(LineError::Header)?;
    Ok(Counted {
        frame,
        ends,
        epoch_us,
        primary,
        numbers,
        valid,
    })
}

/// The common line's one reading, when a few checks prove it is the only one; `None` sends
/// the line to the full count in [`scan_counted`] (which the property tests hold to the
/// reference twin, and this to the full count).
///
/// Read forwards, a line whose user, database and table hold no comma has its anchor at the
/// fourth comma of `middle`. The proof that no other split exists:
/// - no other anchor of the same class: every comma before the database's end is one of the
///   anchor's five, and a TABLE anchor's database and table are cut by the one comma
///   between them;
/// - no anchor of another class: the other ends do not fit the line, except a TABLE end on
///   a QUERY or connection line (its empty or Aurora return code), where no TABLE
///   operation that reads as an anchor may follow the database (the search of
///   [`for_each_anchor`]);
/// - the numbers are in range, and no raw line break stands before the object (so the
///   record has no reading cut by a line break either, see [`break_readings`](super::readings::break_readings); the search
///   starts at the line's start, so it also proves the server host, [`Frame::check_host`];
///   a line whose reader cut it at its first break, [`Breaks::None`], needs no search).
#[inline(always)]
pub(super) fn sole_plain_split(frame: &Frame<'_>, ends: &Ends) -> Option<(Split, Numbers)> {
    let middle = frame.middle;
    let [user_end, host_end, cid_end, op_comma, op_end, db_end] =
        first_commas(middle, ends.first_commas)?;
    // What `anchor_at(middle, op_comma)` finds when the user holds no comma, checked field
    // by field since the commas are known.
    let (operation, op, class) = operation_between(middle, op_comma, op_end)?;
    let host = Span(user_end + 1, host_end);
    let connection_id = Span(host_end + 1, cid_end);
    let query_id = Span(cid_end + 1, op_comma);
    // Read where they are checked: `parse_u64` takes digits only, and an id out of range
    // sends the line to the full count as a failed `read_numbers` did.
    let (Some(cid), Some(qid)) = (
        parse_u64_at(middle, connection_id),
        parse_u64_at(middle, query_id),
    ) else {
        return None;
    };
    if operation.1 != op_end || !dialect::is_host_at(middle, host.0, host.1) {
        return None;
    }
    let anchor = Anchor {
        user_end,
        host,
        connection_id,
        query_id,
        operation,
        op,
        class,
        db_start: op_end + 1,
    };
    let table_end = match anchor.class {
        OpClass::Query => {
            let q = ends.query.as_ref().ok()?;
            if q.db_end != db_end || ends.connection.is_some() {
                return None;
            }
            ends.table
        }
        OpClass::Connection => {
            let c = ends.connection?;
            if c.db_end != db_end || ends.query.is_ok() {
                return None;
            }
            ends.table
        }
        OpClass::Table => {
            let t = ends.table?;
            let table = middle.get(db_end + 1..t).unwrap_or_default();
            let one_cut = !table.is_empty() && !table.contains(&b',');
            if !one_cut || ends.query.is_ok() || ends.connection.is_some() {
                return None;
            }
            // The TABLE end is this anchor's own.
            None
        }
    };
    // A TABLE operation has two commas five to seven bytes apart: most statements hold none.
    if let Some(t) = table_end
        && comma_pairs_in(middle, ends.first_commas, db_end, t)
    {
        // A TABLE anchor needs its database to start before the return code's comma.
        let rest = middle.get(db_end..t).unwrap_or_default();
        let fits = |a: &Anchor| a.class == OpClass::Table && a.db_start < t;
        let found = table_operations(
            rest,
            &mut |k| match anchor_at(middle, db_end + k).filter(fits) {
                Some(_) => ControlFlow::Break(()),
                None => ControlFlow::Continue(()),
            },
        );
        if found.is_break() {
            return None;
        }
    }
    // The anchor's first split, built here: its database ends at the sixth comma (for a
    // TABLE anchor, the one cut checked above), and returning it from `first_split` was a
    // copy of it.
    let split = split_ending(middle, ends, anchor, db_end)?;
    let retcode = match frame.get(split.retcode) {
        [] => None,
        ret => Some(parse_i64(ret)?),
    };
    let read = Numbers {
        connection_id: cid,
        query_id: qid,
        retcode,
    };
    if frame.breaks == Breaks::Unknown && find2(names_of(frame, &split), b'\n', b'\r').is_some() {
        return None;
    }
    Some((split, read))
}

/// The split of anchor `a` whose database ends at the comma `db_end`, when [`splits_of`]
/// visits one.
///
/// Always inlined: called, its ~190-byte split came back through a temporary and was copied
/// twice on the plain path (into [`sole_plain_split`]'s answer, then into [`Counted`]), two
/// `memcpy` calls a line; inlined, both copies go (`p20.log`: -16 M instructions, -2.7%).
#[inline(always)]
fn split_ending(middle: &[u8], ends: &Ends, a: Anchor, db_end: usize) -> Option<Split> {
    match a.class {
        OpClass::Query => {
            let q = ends.query.as_ref().ok().filter(|q| q.db_end == db_end)?;
            Some(query_split(a, q, middle.len()))
        }
        OpClass::Connection => {
            let c = ends.connection.as_ref().filter(|c| c.db_end == db_end)?;
            Some(connection_split(a, c))
        }
        OpClass::Table => {
            let t = ends.table?;
            let in_region = a.db_start <= db_end && db_end < t.saturating_sub(1);
            (in_region && middle.get(db_end) == Some(&b','))
                .then(|| table_split(a, db_end, t, middle.len()))
        }
    }
}

/// Whether `a` is a TABLE anchor inside the statement of a QUERY reading already found: the
/// statement's author wrote it (any client can put `,h,1,2,READ,d,t` in a statement), so it
/// is a reading, never the event; the QUERY stays the event. (Forgeries in names lie to the
/// left of the real anchor, where the rightmost anchor wins.)
fn forged_in_statement(ends: &Ends, primary: Option<&Anchor>, a: &Anchor) -> bool {
    let query_found = primary.is_some_and(|p| p.class == OpClass::Query);
    let inside = |q: &QueryEnd| q.object.0 <= a.user_end && a.user_end < q.object.1;
    a.class == OpClass::Table && query_found && ends.query.as_ref().is_ok_and(inside)
}

/// Commas counted left to right, so that counting every TABLE anchor's splits stays linear.
#[derive(Default)]
struct CommaCounter {
    /// Position counted up to.
    pos: usize,
    /// Commas before `pos`.
    count: u64,
    /// Commas before the fixed end of the TABLE region, counted once.
    before_end: Option<u64>,
}

impl CommaCounter {
    /// Commas in `[db_start, t - 1)`: each ends a database and leaves a non-empty table.
    /// Anchors come left to right, so `db_start` never decreases; `t` is fixed per line.
    fn table_splits(&mut self, middle: &[u8], db_start: usize, t: usize) -> u64 {
        let end = t.saturating_sub(1);
        if db_start >= end {
            return 0;
        }
        let count = |s: &[u8]| memchr::memchr_iter(b',', s).count() as u64;
        if db_start > self.pos {
            self.count += count(middle.get(self.pos..db_start).unwrap_or_default());
            self.pos = db_start;
        }
        let before_end = *self
            .before_end
            .get_or_insert_with(|| count(middle.get(..end).unwrap_or_default()));
        before_end.saturating_sub(self.count)
    }
}

/// The return code span shared by every split of a class.
fn split_retcode(ends: &Ends, class: OpClass, len: usize) -> Span {
    match class {
        OpClass::Query => ends.query.as_ref().map(|q| q.retcode).unwrap_or_default(),
        OpClass::Connection => ends.connection.map(|c| c.retcode).unwrap_or_default(),
        OpClass::Table => ends.table.map(|t| Span(t + 1, len)).unwrap_or_default(),
    }
}

/// The numbers of a reading.
#[derive(Debug, Clone, Copy)]
pub(super) struct Numbers {
    pub(super) connection_id: u64,
    pub(super) query_id: u64,
    /// `None` when the field is empty (upstream TABLE events).
    pub(super) retcode: Option<i64>,
}

/// The numbers of an anchor with its class's return code, when in range: ids fit `u64`,
/// the return code fits `i64`.
pub(super) fn read_numbers(
    frame: &Frame<'_>,
    a: &Anchor,
    retcode: Span,
) -> Result<Numbers, LineError> {
    let at = frame.at;
    let connection_id =
        parse_u64(frame.get(a.connection_id)).ok_or(LineError::ConnectionIdRange {
            at: at + a.connection_id.0,
        })?;
    let query_id = parse_u64(frame.get(a.query_id)).ok_or(LineError::QueryIdRange {
        at: at + a.query_id.0,
    })?;
    let retcode = match frame.get(retcode) {
        [] => None,
        ret => Some(parse_i64(ret).ok_or(LineError::RetcodeRange { at: at + retcode.0 })?),
    };
    Ok(Numbers {
        connection_id,
        query_id,
        retcode,
    })
}

/// The first split of an anchor.
fn first_split(frame: &Frame<'_>, ends: &Ends, anchor: Anchor) -> Option<Split> {
    let mut found = None;
    let _ = splits_of(frame.middle, ends, anchor, &mut |s| {
        found = Some(s);
        ControlFlow::Break(())
    });
    found
}

/// Why no split fits: the diagnosis of the rightmost anchor with a known operation.
fn no_split_error(frame: &Frame<'_>, ends: &Ends) -> LineError {
    let middle = frame.middle;
    let last = memchr::memrchr_iter(b',', middle).find_map(|k| anchor_at(middle, k));
    let Some(anchor) = last else {
        return LineError::Header;
    };
    let at = frame.at;
    let rest_at = at + anchor.db_start;
    match anchor.class {
        OpClass::Query => match ends.query {
            Err(NoQueryEnd::Tail) => query_end_error(frame),
            Err(NoQueryEnd::Object(e)) => e,
            Ok(_) => LineError::UnquotedQuery { start: rest_at },
        },
        _ => {
            let rest = middle.get(anchor.db_start..).unwrap_or_default();
            match memchr::memrchr(b',', rest) {
                Some(c) if memchr::memchr(b',', rest.get(..c).unwrap_or_default()).is_some() => {
                    LineError::Retcode {
                        at: rest_at + c + 1,
                    }
                }
                _ => LineError::MissingRetcode {
                    at: at + middle.len(),
                },
            }
        }
    }
}

/// The first six commas of `s`: the positions of the lowest six bits of `first`, the mask of
/// the commas of `s`'s first block ([`Ends`] takes it), when it holds six (a line whose
/// user, host and ids fit 64 bytes: nearly all), else [`first_commas_across`]. Taken bit by
/// bit without a count or an index into the answer: the loop that stored each comma at its
/// count (with its bounds check and exit test per comma) was ~90 instructions a line.
#[inline(always)]
pub(super) fn first_commas(s: &[u8], first: u64) -> Option<[usize; 6]> {
    // The five lowest commas cleared: a bit left is the sixth.
    let past_fifth = (0..5).fold(first, |m, _| m & m.wrapping_sub(1));
    if past_fifth == 0 {
        return first_commas_across(s, first);
    }
    let mut mask = first;
    Some([(); 6].map(|()| {
        let at = mask.trailing_zeros() as usize;
        mask &= mask.wrapping_sub(1);
        at
    }))
}

/// [`first_commas`] of a line whose first block holds fewer than six commas, a 64-byte block
/// at a time: names are short, and a `memchr` call per comma costs more in starting than in
/// searching.
#[inline(never)]
fn first_commas_across(s: &[u8], first: u64) -> Option<[usize; 6]> {
    let mut out = [0; 6];
    let mut n = 0;
    let mut base = 0;
    let mut mask = first;
    while base < s.len() {
        if base > 0 {
            [mask] = masks_at(s, base, [b',']);
        }
        while mask != 0 {
            *out.get_mut(n)? = base + mask.trailing_zeros() as usize;
            n += 1;
            if n == out.len() {
                return Some(out);
            }
            mask &= mask - 1;
        }
        base += BLOCK;
    }
    None
}
