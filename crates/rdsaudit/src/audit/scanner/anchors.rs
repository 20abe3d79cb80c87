//! The middle of a line: each anchor `,<host>,<connection id>,<query id>,<OPERATION>,`
//! and the splits (readings) it gives with the ends.

use std::ops::ControlFlow;

use crate::audit::dialect::{self, OpClass, TailForm};
use crate::audit::event::Operation;
use crate::swar::{BLOCK, masks_at};

use super::end::{ConnectionEnd, Ends, QueryEnd, Span};
use super::start::Frame;

/// `,<host>,<connection id>,<query id>,<OPERATION>,` in `middle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Anchor {
    /// The comma between user and host.
    pub(super) user_end: usize,
    pub(super) host: Span,
    pub(super) connection_id: Span,
    pub(super) query_id: Span,
    pub(super) operation: Span,
    /// What the operation token names.
    pub(super) op: Operation<'static>,
    pub(super) class: OpClass,
    /// Just after the operation's comma: where the database starts.
    pub(super) db_start: usize,
}

/// One reading of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) anchor: Anchor,
    pub(super) database: Span,
    pub(super) object: Span,
    pub(super) quoted: bool,
    pub(super) retcode: Span,
    pub(super) extra: Option<Span>,
    pub(super) tail: TailForm,
}

/// The operation token at `k + 1` when `middle[k]` is a comma and a comma follows the token,
/// and what it names (only an operation some dialect logs can be an anchor's).
fn operation_at(middle: &[u8], k: usize) -> Option<(Span, Operation<'static>, OpClass)> {
    let rest = middle.get(k + 1..)?;
    let n = rest
        .iter()
        .take(15)
        .take_while(|&&b| b.is_ascii_uppercase() || b == b'_')
        .count();
    if rest.get(n) != Some(&b',') {
        return None;
    }
    let op = Operation::known(rest.get(..n)?)?;
    let class = OpClass::of(&op)?;
    Some((Span(k + 1, k + 1 + n), op, class))
}

/// [`operation_at`] when the comma after `k` is known to be at `end`: the token between
/// them, looked up whole (every known token is upper-case letters and `_`, at most 14 bytes,
/// so a token [`operation_at`] reads is one of them, and a known one ends at the next comma).
#[inline(always)]
pub(super) fn operation_between(
    middle: &[u8],
    k: usize,
    end: usize,
) -> Option<(Span, Operation<'static>, OpClass)> {
    let op = Operation::known(middle.get(k + 1..end)?)?;
    let class = OpClass::of(&op)?;
    Some((Span(k + 1, end), op, class))
}

/// The digits that end just before the comma at `end`, and the comma before them.
fn digits_before(middle: &[u8], end: usize) -> Option<(Span, usize)> {
    let head = middle.get(..end)?;
    let n = head.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let comma = end.checked_sub(n + 1)?;
    (n > 0 && middle.get(comma) == Some(&b',')).then_some((Span(comma + 1, end), comma))
}

/// The anchor whose operation token follows the comma at `k`.
pub(super) fn anchor_at(middle: &[u8], k: usize) -> Option<Anchor> {
    let (operation, op, class) = operation_at(middle, k)?;
    let (query_id, q) = digits_before(middle, k)?;
    let (connection_id, c) = digits_before(middle, q)?;
    let head = middle.get(..c)?;
    let n = head
        .iter()
        .rev()
        .take_while(|&&b| b != b',' && dialect::is_host_byte(b))
        .count();
    let user_end = c.checked_sub(n + 1)?;
    let host = Span(user_end + 1, c);
    if middle.get(user_end) != Some(&b',') {
        return None;
    }
    Some(Anchor {
        user_end,
        host,
        connection_id,
        query_id,
        operation,
        op,
        class,
        db_start: operation.1 + 1,
    })
}

/// Calls `visit` with every anchor whose class fits the line's end, left to right.
///
/// Names are walked comma by comma. Inside a QUERY's statement only a TABLE anchor can fit
/// (a QUERY or connection tail never ends inside a statement), and only when the line's last
/// field is a TABLE return code; that stretch is searched for the TABLE operations a 64-byte
/// block at a time ([`table_operations`]), so a long statement is crossed at memory speed.
pub(super) fn for_each_anchor(
    middle: &[u8],
    ends: &Ends,
    visit: &mut impl FnMut(Anchor) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let fits = |a: &Anchor| ends.bound(a.class).is_some_and(|b| a.db_start <= b);
    let names_end = match (&ends.query, ends.table) {
        (Ok(q), Some(_)) => q.db_end,
        _ => [OpClass::Query, OpClass::Connection, OpClass::Table]
            .into_iter()
            .filter_map(|c| ends.bound(c))
            .max()
            .unwrap_or(0),
    };
    let names = middle.get(..names_end).unwrap_or_default();
    for k in memchr::memchr_iter(b',', names) {
        if let Some(a) = anchor_at(middle, k).filter(fits) {
            visit(a)?;
        }
    }
    if let (Ok(_), Some(t)) = (&ends.query, ends.table) {
        let statement = middle.get(names_end..t).unwrap_or_default();
        table_operations(
            statement,
            &mut |k| match anchor_at(middle, names_end + k).filter(fits) {
                Some(a) => visit(a),
                None => ControlFlow::Continue(()),
            },
        )?;
    }
    ControlFlow::Continue(())
}

/// Calls `visit` with every place in `s` where a TABLE operation `,OP,` starts (its leading
/// comma), left to right.
///
/// A TABLE token is four to six bytes, so its leading comma has another comma five to seven
/// bytes on, and an `R` one, two or five bytes on (`READ`, `WRITE`, `CREATE`, `ALTER`,
/// `DROP`, `RENAME`): one mask of commas and one of `R`s per 64-byte block (the next
/// block's for the bytes past its end) give those candidates, and only they are read as a
/// token. A SIMD multi-pattern searcher (Teddy) cost ~230 instructions a statement to start
/// (an RDS for MySQL QUERY line's statement is searched whole: its `,,` tail also fits a
/// TABLE end, as an Aurora line's integer return code does). (The comma mask alone was
/// tried: a second caller of the one-byte `masks_at` got it outlined from [`first_commas`](super::counting::first_commas),
/// +19 instructions a line on a plain log.)
pub(super) fn table_operations(
    s: &[u8],
    visit: &mut impl FnMut(usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut base = 0;
    let [mut commas, mut rs] = masks_at(s, 0, [b',', b'R']);
    while base < s.len() {
        let after = base + BLOCK;
        let [next_commas, next_rs] = if after < s.len() {
            masks_at(s, after, [b',', b'R'])
        } else {
            [0, 0]
        };
        // Truncated to this block's bits: what lies 1, 2 or 5 bytes after each position.
        let both = u128::from(rs) | (u128::from(next_rs) << BLOCK);
        let r = ((both >> 1) | (both >> 2) | (both >> 5)) as u64;
        let mut candidates = comma_pairs(commas, next_commas) & r;
        while candidates != 0 {
            let k = base + candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            if operation_at(s, k).is_some_and(|(_, _, class)| class == OpClass::Table) {
                visit(k)?;
            }
        }
        (base, commas, rs) = (after, next_commas, next_rs);
    }
    ControlFlow::Continue(())
}

/// The commas of a block with another comma five to seven bytes on, from the block's mask
/// of commas and the next block's (zero past the text): where a TABLE operation `,OP,` may
/// start (its token is four to six bytes).
#[inline(always)]
pub(super) fn comma_pairs(commas: u64, next_commas: u64) -> u64 {
    // Truncated to this block's bits: what lies 5 to 7 bytes after each position.
    let both = u128::from(commas) | (u128::from(next_commas) << BLOCK);
    commas & ((both >> 5) | (both >> 6) | (both >> 7)) as u64
}

/// Whether `middle[from..to]` holds two commas five to seven bytes apart ([`comma_pairs`]),
/// as every TABLE operation `,OP,` there does: when not, [`table_operations`] visits nothing
/// there. `first` is the mask of the commas of `middle`'s first block (as [`Ends`] takes
/// it), so a line whose stretch ends in that block takes no other mask.
///
/// What an RDS for MySQL QUERY line costs instead of the TABLE search of its statement
/// ([`sole_plain_split`](super::counting::sole_plain_split): its `,,` tail fits a TABLE end):
/// one mask of a block, where that search took two and its candidates' arithmetic (~120
/// instructions a line against ~180). 5% of such a log's statements hold a pair (lists of
/// values), none of them a TABLE operation; they are searched as before. (Looking for the
/// pairs in the statement's quote search itself cost fewer instructions there but more
/// registers in every line's parse: a plain log's lines, which have no TABLE end, ~17
/// instructions more each. Inlined here: the event -0.7 M instructions more, `p20.log`
/// +0.7 M.)
pub(super) fn comma_pairs_in(middle: &[u8], first: u64, from: usize, to: usize) -> bool {
    let to = to.min(middle.len());
    if from >= to {
        return false;
    }
    // The commas of the block at `base` (at most `to`) before `to`.
    let before_end = |base: usize, mask: u64| match to - base {
        n if n < BLOCK => mask & !(u64::MAX << n),
        _ => mask,
    };
    let mut base = from - from % BLOCK;
    let mut mask = match base {
        0 => first,
        _ => masks_at(middle, base, [b','])[0],
    };
    mask = before_end(base, mask & (u64::MAX << (from - base)));
    loop {
        let after = base + BLOCK;
        if after >= to {
            return comma_pairs(mask, 0) != 0;
        }
        let next = before_end(after, masks_at(middle, after, [b','])[0]);
        if comma_pairs(mask, next) != 0 {
            return true;
        }
        (base, mask) = (after, next);
    }
}

/// Calls `visit` with every split, left to right (TABLE splits by database end).
pub(super) fn for_each_split(
    frame: &Frame<'_>,
    ends: &Ends,
    visit: &mut impl FnMut(Split) -> ControlFlow<()>,
) -> ControlFlow<()> {
    for_each_anchor(frame.middle, ends, &mut |a| {
        splits_of(frame.middle, ends, a, visit)
    })
}

/// Calls `visit` with the splits of one anchor.
pub(super) fn splits_of(
    middle: &[u8],
    ends: &Ends,
    a: Anchor,
    visit: &mut impl FnMut(Split) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match a.class {
        OpClass::Query => match &ends.query {
            Ok(q) => visit(query_split(a, q, middle.len())),
            Err(_) => ControlFlow::Continue(()),
        },
        OpClass::Connection => match &ends.connection {
            Some(c) => visit(connection_split(a, c)),
            None => ControlFlow::Continue(()),
        },
        OpClass::Table => {
            let Some(t) = ends.table else {
                return ControlFlow::Continue(());
            };
            let region = middle
                .get(a.db_start..t.saturating_sub(1))
                .unwrap_or_default();
            for c in memchr::memchr_iter(b',', region) {
                visit(table_split(a, a.db_start + c, t, middle.len()))?;
            }
            ControlFlow::Continue(())
        }
    }
}

/// A QUERY anchor's one split: its database runs to the statement's opening quote.
pub(super) fn query_split(a: Anchor, q: &QueryEnd, len: usize) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, q.db_end),
        object: q.object,
        quoted: true,
        retcode: q.retcode,
        extra: extra_of(q.tail, q.retcode, len),
        tail: q.tail,
    }
}

/// A connection anchor's one split, from the line's connection end.
pub(super) fn connection_split(a: Anchor, c: &ConnectionEnd) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, c.db_end),
        object: c.object,
        quoted: false,
        retcode: c.retcode,
        extra: c.extra,
        tail: c.tail,
    }
}

/// A TABLE anchor's split whose database ends at the comma `db_end` and whose table ends at
/// the comma `t` before the return code.
pub(super) fn table_split(a: Anchor, db_end: usize, t: usize, len: usize) -> Split {
    Split {
        anchor: a,
        database: Span(a.db_start, db_end),
        object: Span(db_end + 1, t),
        quoted: false,
        retcode: Span(t + 1, len),
        extra: None,
        tail: TailForm::Ten,
    }
}

/// The RDS fork's `,,` after a QUERY's return code: two empty fields.
fn extra_of(tail: TailForm, retcode: Span, len: usize) -> Option<Span> {
    (tail == TailForm::RdsFork).then_some(Span(retcode.1 + 1, len))
}
