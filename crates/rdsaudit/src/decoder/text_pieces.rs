//! Text decoded in pieces on rayon's threads, in memory ([`Decoder::text_parallel`]) or from a
//! stream ([`super::text_stream`]): each piece decoded alone, then settled in input order by
//! the window rule ([`Decoder::settle`]), which needs the pieces around it.

use std::io;

use rayon::prelude::*;

use crate::audit::scanner::LineError;
use crate::input::stream::Piece;
use crate::input::{self, text};
use crate::report::{RecordOutcome, RecordStatus, Report};
use crate::sink::{Sink, UnparsedLine};

use super::{Decoder, Done, Next, TEXT_PIECE_BYTES};

impl Decoder {
    /// A text input in memory: cut into pieces of about [`TEXT_PIECE_BYTES`] at record
    /// boundaries ([`text::boundary_after`]; before a prefixed line for `prefixed` text,
    /// [`input::prefixed::boundary_after`]), decoded as a stream's pieces are.
    pub(super) fn text_parallel<S, M, E>(
        &self,
        text: &[u8],
        prefixed: bool,
        make: &M,
        emit: &mut E,
    ) -> io::Result<Report>
    where
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        let mut run = TextRun::new(Some(text.len()));
        let mut held = std::collections::VecDeque::new();
        let mut pieces = Vec::new();
        let mut rest = text;
        // The whole text's line breaks, for every piece (one may hold no `\n` of a text that
        // has some).
        let breaks = input::prefixed::Breaks::of(text);
        while !rest.is_empty() {
            let end = if prefixed {
                input::prefixed::boundary_after(rest, TEXT_PIECE_BYTES, breaks)
            } else {
                text::boundary_after(rest, TEXT_PIECE_BYTES)
            };
            let (own, after) = rest.split_at_checked(end).unwrap_or((rest, &[]));
            pieces.push(if prefixed {
                PieceRef::Prefixed(own, breaks)
            } else {
                PieceRef::Text(own)
            });
            rest = after;
        }
        for group in pieces.chunks(self.text_group_len()) {
            self.text_group(group.to_vec(), &mut run, &mut held, make);
            if self.settle(&mut held, &mut run, false, make, emit, &mut drop)? == Next::Stop {
                return Ok(run.report);
            }
        }
        self.settle(&mut held, &mut run, true, make, emit, &mut drop)?;
        Ok(run.report)
    }

    /// Text pieces decoded at a time: two per thread, or one.
    pub(super) fn text_group_len(&self) -> usize {
        if self.limits.parallel {
            rayon::current_num_threads() * 2
        } else {
            1
        }
    }

    /// Decodes a group of pieces (the first line of each from the line breaks of the pieces
    /// before, counted in parallel; runs of text in parallel, a line too long as one unparsed
    /// line) and holds them for [`Decoder::settle`].
    fn text_group<P, S, M>(
        &self,
        pieces: Vec<P>,
        run: &mut TextRun,
        held: &mut std::collections::VecDeque<Held<P, S>>,
        make: &M,
    ) where
        P: TextPiece,
        S: Sink + Send,
        M: Fn() -> S + Sync,
    {
        let refs: Vec<PieceRef<'_>> = pieces.iter().map(TextPiece::piece).collect();
        let breaks: Vec<u64> = refs.par_iter().map(PieceRef::line_breaks).collect();
        // Each piece's first line and where it starts in the whole text.
        let firsts: Vec<(u64, u64)> = breaks
            .iter()
            .zip(&refs)
            .map(|(n, p)| {
                let first = (run.next_line, run.next_byte);
                run.next_line += n;
                run.next_byte += p.len() as u64;
                first
            })
            .collect();
        let done: Vec<_> = refs
            .par_iter()
            .zip(&firsts)
            .with_max_len(1)
            .map(|(p, &(line, at))| self.decode_piece(*p, line, at, make))
            .collect();
        drop(refs);
        for ((piece, (first_line, at)), (outcome, sink, edges, _)) in
            pieces.into_iter().zip(firsts).zip(done)
        {
            held.push_back(Held {
                piece,
                first_line,
                at,
                starts_file: false,
                edges,
                outcome,
                sink,
            });
        }
    }

    /// Decodes one piece whose first line is `first_line` and which starts at byte `at` of the
    /// whole text into a sink made by `make`: its outcome, sink, [`text::Edges`] and, but
    /// for prefixed text, [`PieceRef::line_breaks`] (read off the records: no pass of its
    /// own; prefixed text is counted by whoever needs it, at most once).
    pub(super) fn decode_piece<S, M>(
        &self,
        piece: PieceRef<'_>,
        first_line: u64,
        at: u64,
        make: &M,
    ) -> (RecordOutcome, S, text::Edges, Option<u64>)
    where
        S: Sink,
        M: Fn() -> S,
    {
        if let PieceRef::TooLong { head, len } = piece {
            let (outcome, sink) = too_long(first_line, head, len, make);
            // A line too long does not read alone: it is a dirty line (its break starts the
            // next piece).
            let edges = text::Edges {
                first_dirty: Some(at),
                last_dirty: Some(at + len),
                ..text::Edges::default()
            };
            return (outcome, sink, edges, Some(0));
        }
        let mut sink = make();
        let (outcome, edges, breaks) = match piece {
            PieceRef::Prefixed(bytes, breaks) => {
                let (outcome, edges) = self.pipeline.with_worker(|w| {
                    let around = text::Around::default();
                    let piece = (bytes, first_line, at);
                    w.process_prefixed_piece(piece, breaks, around, &mut sink, make)
                });
                (outcome, edges, None)
            }
            text => {
                // Text and windows hold records (`None` is only for prefixed text and a
                // line too long).
                let mut records = text.records().unwrap_or_else(|| text::records(&[])).at(at);
                let outcome = self
                    .pipeline
                    .with_worker(|w| w.read_records(&mut records, first_line, &mut sink));
                let breaks = records.breaks_passed();
                debug_assert_eq!(breaks, text.line_breaks(), "every line of the piece read");
                (outcome, records.edges(), Some(breaks))
            }
        };
        (outcome, sink, edges, breaks)
    }

    /// Hands the decoded pieces held to `emit` in order, each once no line that is not
    /// decoded yet can flag its records (the window rule, [`text::Edges`]): the dirty line
    /// after it is known, or the lines within reach after its last plain record are decoded,
    /// or the input `ended`, or the file (a followed file was rotated: a piece after it
    /// [`Held::starts_file`]; the rule does not reach across files, whose records the server
    /// writes whole). A piece with a dirty line of its neighbours within reach of a
    /// plain record is decoded again with them ([`text::Records::around`]; rare: a clean log
    /// never is). `back` takes each piece emitted.
    pub(super) fn settle<P, S, M, E>(
        &self,
        held: &mut std::collections::VecDeque<Held<P, S>>,
        run: &mut TextRun,
        ended: bool,
        make: &M,
        emit: &mut E,
        back: &mut impl FnMut(P),
    ) -> io::Result<Next>
    where
        P: TextPiece,
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> io::Result<Next>,
    {
        while let Some(front) = held.front() {
            let later = || held.iter().skip(1);
            let next_file = later().position(|h| h.starts_file);
            let same_file = later().take(next_file.unwrap_or(usize::MAX));
            let after = same_file.filter_map(|h| h.edges.first_dirty).next();
            let file_ended = ended || next_file.is_some();
            let held_bytes: usize = held.iter().map(|h| h.piece.piece().len()).sum();
            let full = held_bytes > self.limits.max_held_bytes;
            if !file_ended && !full && after.is_none() && !front.edges.settled_by(run.next_byte) {
                break;
            }
            let Some(mut h) = held.pop_front() else { break };
            if h.starts_file {
                // The old file's dirty lines flag none of the new file's records.
                run.last_dirty = None;
            }
            // Held past the bound: the lines not read yet are taken for dirty ones.
            let unread = (full && !file_ended).then_some(run.next_byte);
            let around = text::Around {
                before: run.last_dirty,
                after: after.or(unread),
            };
            if h.edges.needs(around)
                && let PieceRef::Prefixed(bytes, breaks) = h.piece.piece()
            {
                let mut sink = make();
                let (outcome, edges) = self.pipeline.with_worker(|w| {
                    let piece = (bytes, h.first_line, h.at);
                    w.process_prefixed_piece(piece, breaks, around, &mut sink, make)
                });
                (h.outcome, h.sink, h.edges) = (outcome, sink, edges);
            } else if h.edges.needs(around)
                && let Some(records) = h.piece.piece().records()
            {
                let mut sink = make();
                let records = records.at(h.at).around(around);
                let (outcome, edges) = self
                    .pipeline
                    .with_worker(|w| w.process_records(records, h.first_line, &mut sink));
                (h.outcome, h.sink, h.edges) = (outcome, sink, edges);
            }
            run.last_dirty = h.edges.last_dirty.or(run.last_dirty);
            run.report.add(&h.outcome, false);
            run.bytes_done += h.piece.piece().len();
            let next = emit(Done {
                record: None,
                index: run.index,
                outcome: h.outcome,
                sink: h.sink,
                progress: run.progress(),
            })?;
            run.index += 1;
            back(h.piece);
            if next == Next::Stop {
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Continue)
    }
}

/// A piece of text to decode: borrowed from the input or from a stream's [`Piece`].
#[derive(Debug, Clone, Copy)]
pub(super) enum PieceRef<'a> {
    Text(&'a [u8]),
    /// Prefixed text ([`crate::input::prefixed`]) and the whole text's line breaks.
    Prefixed(&'a [u8], input::prefixed::Breaks),
    Window {
        bytes: &'a [u8],
        until: usize,
    },
    TooLong {
        head: &'a [u8],
        len: u64,
    },
}

impl<'a> From<&'a Piece> for PieceRef<'a> {
    fn from(piece: &'a Piece) -> Self {
        match piece {
            Piece::Text(bytes) => PieceRef::Text(bytes),
            Piece::Window { bytes, until } => PieceRef::Window {
                bytes,
                until: *until,
            },
            Piece::TooLong { head, len } => PieceRef::TooLong { head, len: *len },
        }
    }
}

impl<'a> PieceRef<'a> {
    /// The piece's records, unless it is a line too long.
    fn records(&self) -> Option<text::Records<'a>> {
        match *self {
            PieceRef::Text(bytes) => Some(text::records(bytes)),
            PieceRef::Window { bytes, until } => {
                Some(text::records_in_window(bytes).stop_at(until))
            }
            PieceRef::Prefixed(..) | PieceRef::TooLong { .. } => None,
        }
    }

    /// The piece's own text (a window's up to its cut).
    fn own(&self) -> &'a [u8] {
        match *self {
            PieceRef::Text(bytes) | PieceRef::Prefixed(bytes, _) => bytes,
            PieceRef::Window { bytes, until } => bytes.get(..until).unwrap_or_default(),
            PieceRef::TooLong { .. } => &[],
        }
    }

    /// How many lines the piece moves the line number on (a line too long holds no break).
    pub(super) fn line_breaks(&self) -> u64 {
        match self {
            // Prefixed text breaks lines at LF only, unless the text has none.
            PieceRef::Prefixed(bytes, breaks) => breaks.count(bytes),
            _ => text::count_lines(self.own()),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            PieceRef::TooLong { len, .. } => usize::try_from(*len).unwrap_or(usize::MAX),
            _ => self.own().len(),
        }
    }
}

/// A piece of text that can be read again ([`Decoder::settle`]): borrowed from the input,
/// or a stream's own.
pub(super) trait TextPiece {
    fn piece(&self) -> PieceRef<'_>;
}

impl TextPiece for PieceRef<'_> {
    fn piece(&self) -> PieceRef<'_> {
        *self
    }
}

/// A stream's piece, and the line breaks of the text when the stream is of prefixed text
/// ([`crate::input::stream::TextStream::breaks`]).
pub(super) struct Streamed {
    pub(super) piece: Piece,
    pub(super) prefixed: Option<input::prefixed::Breaks>,
}

impl TextPiece for Streamed {
    fn piece(&self) -> PieceRef<'_> {
        match (&self.piece, self.prefixed) {
            (Piece::Text(bytes), Some(breaks)) => PieceRef::Prefixed(bytes, breaks),
            (other, _) => PieceRef::from(other),
        }
    }
}

/// A decoded piece waiting for the lines after it ([`Decoder::settle`]).
pub(super) struct Held<P, S> {
    pub(super) piece: P,
    pub(super) first_line: u64,
    /// Where it starts in the whole text.
    pub(super) at: u64,
    /// Whether it starts the file a followed file was rotated to
    /// ([`crate::input::stream::TextStream::starts_file`]).
    pub(super) starts_file: bool,
    /// In byte positions of the whole text.
    pub(super) edges: text::Edges,
    pub(super) outcome: RecordOutcome,
    pub(super) sink: S,
}

/// Where the decoding of a text input is.
pub(super) struct TextRun {
    pub(super) report: Report,
    /// Index of the next piece handed to `emit`.
    index: usize,
    /// The line the next piece starts at.
    pub(super) next_line: u64,
    /// Where the next piece starts in the whole text.
    pub(super) next_byte: u64,
    /// The last dirty line of the pieces emitted (the window rule, [`text::Edges`]).
    last_dirty: Option<u64>,
    bytes_done: usize,
    /// The input's size, when known (for `progress`).
    total: Option<usize>,
}

impl TextRun {
    pub(super) fn new(total: Option<usize>) -> Self {
        TextRun {
            report: Report::default(),
            index: 0,
            next_line: 1,
            next_byte: 0,
            last_dirty: None,
            bytes_done: 0,
            total,
        }
    }

    fn progress(&self) -> f64 {
        self.total
            .map_or(0.0, |t| self.bytes_done as f64 / t.max(1) as f64)
    }
}

/// A line too long as an unparsed line in a sink of its own.
fn too_long<S: Sink, M: Fn() -> S>(
    line_number: u64,
    head: &[u8],
    len: u64,
    make: &M,
) -> (RecordOutcome, S) {
    let reason = LineError::TooLong { len };
    let mut sink = make();
    sink.unparsed(&UnparsedLine::of_text(head, reason, line_number));
    let mut outcome = RecordOutcome::new(RecordStatus::Data);
    outcome.add_unparsed(reason);
    (outcome, sink)
}
