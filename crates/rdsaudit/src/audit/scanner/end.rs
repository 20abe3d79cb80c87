//! The fixed end of a line, found from the right: the return code, the RDS fork's trailing
//! fields and a QUERY's quoted statement ([`Ends`]).

use crate::audit::dialect::{self, OpClass, TailForm};
use crate::swar::{BLOCK, escaped_mask, find_pair, find_pair_after_first, find2, masks_at};

use super::start::Frame;
use super::{Breaks, LineError};

/// `[start, end)` in `middle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Span(pub(super) usize, pub(super) usize);

/// The end of a QUERY line.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueryEnd {
    /// The comma before the opening quote: where the database ends.
    pub(super) db_end: usize,
    /// The object between the quotes.
    pub(super) object: Span,
    pub(super) retcode: Span,
    pub(super) tail: TailForm,
}

/// The end of a connection line.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectionEnd {
    pub(super) db_end: usize,
    pub(super) object: Span,
    pub(super) retcode: Span,
    pub(super) extra: Option<Span>,
    pub(super) tail: TailForm,
}

/// The fixed ends that fit the line, one per operation class, or why none of a class does.
#[derive(Clone, Copy)]
pub(super) struct Ends {
    pub(super) query: Result<QueryEnd, NoQueryEnd>,
    pub(super) connection: Option<ConnectionEnd>,
    /// The comma before a TABLE event's return code.
    pub(super) table: Option<usize>,
    /// The commas of `middle`'s first block: its masks of commas and quotes are taken once,
    /// for the QUERY end's search for `,'` and for [`first_commas`](super::counting::first_commas) (one mask of a block
    /// fewer a line).
    pub(super) first_commas: u64,
}

impl Ends {
    #[inline(always)]
    pub(super) fn new(frame: &Frame<'_>) -> Self {
        let middle = frame.middle;
        let first = masks_at(middle, 0, [b',', b'\'']);
        let query = query_end(frame, first);
        // A line that ends like a QUERY ends like no connection line (a quote before the
        // return code's comma is no connection object's byte, and the fork's `,,` leaves an
        // empty last field, no connection type), so the connection end is looked for only
        // on the others (`a_query_end_is_no_connection_end` holds the grammar to it).
        let connection = match query {
            Err(NoQueryEnd::Tail) => dialect::connection_end(frame.form, middle),
            _ => None,
        };
        let connection = connection.map(|c| ConnectionEnd {
            db_end: c.object_comma,
            object: Span(c.object.start, c.object.end),
            retcode: Span(c.retcode.start, c.retcode.end),
            extra: c.extra.map(|r| Span(r.start, r.end)),
            tail: c.tail,
        });
        Ends {
            query,
            connection,
            table: dialect::table_end(frame.form, middle),
            first_commas: first[0],
        }
    }

    /// Where the database of an anchor of this class must end by, if the class fits.
    pub(super) fn bound(&self, class: OpClass) -> Option<usize> {
        match class {
            OpClass::Query => self.query.as_ref().ok().map(|q| q.db_end),
            OpClass::Connection => self.connection.map(|c| c.db_end),
            // A table name is never empty: the database ends two bytes before the return
            // code's comma at the latest.
            OpClass::Table => self.table.and_then(|t| t.checked_sub(1)),
        }
    }
}

/// Why a line has no QUERY end.
#[derive(Debug, Clone, Copy)]
pub(super) enum NoQueryEnd {
    /// The line does not end like a QUERY (a quote, the return code, the fork's `,,`): the
    /// error is worked out only when it is reported ([`query_end_error`]). Most such lines
    /// are connection and TABLE events, read by another class, and working it out on each
    /// (a `memmem` over the line) cost ~450 instructions a line on them.
    Tail,
    /// The line ends like a QUERY, but its statement does not open or close as one.
    Object(LineError),
}

/// The QUERY end: closing quote from the right, opening quote at the last `,'` before it,
/// no unescaped quote in between.
///
/// The opening quote is searched forwards: a candidate `,'` whose body reaches the closing
/// quote without an unescaped quote is the last `,'` (a valid body holds none, since a quote
/// after a comma is never escaped), and a candidate whose body meets an unescaped quote first
/// lies in a name, with the next candidate at or after that quote. So the statement is
/// crossed once, by the block scan, as in a line without hostile names.
///
/// `first` holds the masks of commas and quotes over `middle`'s first block, where the first
/// candidate nearly always lies.
#[inline(always)]
pub(super) fn query_end(frame: &Frame<'_>, first: [u64; 2]) -> Result<QueryEnd, NoQueryEnd> {
    let middle = frame.middle;
    let at = frame.at;
    let Some((close, retcode, tail)) = dialect::query_end(frame.form, middle) else {
        return Err(NoQueryEnd::Tail);
    };
    let head = middle.get(..close).unwrap_or_default();
    let mut candidate = find_pair_after_first(head, first, b',', b'\'');
    let mut stray = None;
    while let Some(db_end) = candidate {
        let object = Span(db_end + 2, close);
        match first_stray(frame.get(object), frame.breaks) {
            None => {
                return Ok(QueryEnd {
                    db_end,
                    object,
                    retcode: Span(retcode.start, retcode.end),
                    tail,
                });
            }
            Some(q) => {
                stray = Some(object.0 + q);
                candidate = find_pair(head, db_end + 1, b',', b'\'');
            }
        }
    }
    Err(NoQueryEnd::Object(match stray {
        Some(q) if middle.get(q) == Some(&b'\'') => LineError::StrayQuote { at: at + q },
        Some(_) => LineError::UnterminatedObject { start: at + close },
        None => LineError::UnquotedQuery { start: at + close },
    }))
}

/// Why the line does not end like a QUERY.
pub(super) fn query_end_error(frame: &Frame<'_>) -> LineError {
    let middle = frame.middle;
    let at = frame.at;
    if middle.ends_with(b"'") {
        return LineError::MissingRetcode {
            at: at + middle.len(),
        };
    }
    let body = middle.strip_suffix(b",,").unwrap_or(middle);
    let last = memchr::memrchr(b',', body).map_or(0, |c| c + 1);
    if !dialect::is_integer(body.get(last..).unwrap_or_default()) {
        return LineError::Retcode { at: at + last };
    }
    match memchr::memmem::find(middle, b",'") {
        Some(open) => LineError::UnterminatedObject {
            start: at + open + 1,
        },
        None => LineError::UnquotedQuery { start: at + last },
    }
}

/// The first byte in `body` that a statement as the plugin writes it never holds: a quote
/// not escaped by a backslash, or a raw line break (the plugin writes `\n` and `\r` as
/// escapes, so a raw break means the quote that seemed to open the statement lies in a
/// name, before a break that cuts a record).
///
/// The quote is searched first ([`first_unescaped_quote`]), then the breaks before it with
/// one vector `memchr2`: two more SWAR masks per block for the breaks made a 64 KB statement
/// 43% slower to scan (`split/ours-scan/64KB`), and breaks are searched only up to the
/// quote, so crossing the line stays linear over the candidates of [`query_end`].
///
/// A line known to hold no break ([`Breaks::None`]) has none in its statement: only the
/// quote is searched.
pub(super) fn first_stray(body: &[u8], breaks: Breaks) -> Option<usize> {
    let quote = first_unescaped_quote(body);
    if breaks == Breaks::None {
        return quote;
    }
    let before = body.get(..quote.unwrap_or(body.len())).unwrap_or_default();
    find2(before, b'\n', b'\r').or(quote)
}

/// A statement up to this long is searched quote by quote ([`first_unescaped_quote`]); a
/// longer one may hold thousands of escaped quotes, each a backslash run read, where the
/// block masks cost the same per block whatever it holds.
const QUOTE_BY_QUOTE: usize = 128;

/// The first quote in `body` not escaped by a backslash.
///
/// A short statement (nearly all: a log's median is a few dozen bytes) is searched with one
/// mask of quotes per 64-byte block, and each quote in it is escaped when an odd run of
/// backslashes ends just before it (they pair from the left): a literal's two `\'` are read
/// back one byte each, where the masks of backslashes and their carry arithmetic
/// ([`first_unescaped_quote_in_blocks`]) cost ~40 instructions a block. (A `find2` per quote
/// was not inlined: a call each, more than the masks.) Linear: a run of backslashes ends
/// at one quote only.
fn first_unescaped_quote(body: &[u8]) -> Option<usize> {
    if body.len() > QUOTE_BY_QUOTE {
        return first_unescaped_quote_in_blocks(body);
    }
    let mut base = 0;
    while base < body.len() {
        let [mut quotes] = masks_at(body, base, [b'\'']);
        while quotes != 0 {
            let at = base + quotes.trailing_zeros() as usize;
            if !escaped_at(body, at) {
                return Some(at);
            }
            quotes &= quotes - 1;
        }
        base += BLOCK;
    }
    None
}

/// Whether `body[at]` is escaped: an odd run of backslashes ends just before it.
fn escaped_at(body: &[u8], at: usize) -> bool {
    let before = body.get(..at).unwrap_or_default();
    before.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// [`first_unescaped_quote`] of a long statement.
///
/// Works on 64-byte blocks: one bit mask of quotes and one of backslashes per block, and the
/// escaped bytes from the backslash mask with carry arithmetic (simdjson's trick), so the
/// cost does not grow with the number of escapes. Statements are dense with `\'` (every
/// string literal has two), and a `memchr2` call per escape spent more time starting than
/// searching.
fn first_unescaped_quote_in_blocks(body: &[u8]) -> Option<usize> {
    // Whether the first byte of the next block is escaped by a backslash ending this one.
    let mut carry = 0u64;
    let mut base = 0;
    while base < body.len() {
        let [backslashes, quotes] = masks_at(body, base, [b'\\', b'\'']);
        let escaped = escaped_mask(backslashes, &mut carry);
        let quotes = quotes & !escaped;
        if quotes != 0 {
            return Some(base + quotes.trailing_zeros() as usize);
        }
        base += BLOCK;
    }
    None
}
