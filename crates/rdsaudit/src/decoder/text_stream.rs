//! [`Decoder::decode_text_stream`]: a stream's pieces decoded on rayon's threads as they are
//! read, and handed out in input order while later ones are still being decoded.
//!
//! Pieces used to be decoded a group at a time (two per thread) and the group settled and
//! emitted before the next was started: the workers waited while the calling thread wrote
//! the group out, and one waited while the other finished the group's last piece (two
//! threads ran a 100 MB plain log in 0.74x of one thread's wall time, with only 10% more
//! CPU). Here a piece is handed to a worker as soon as one is free, the calling thread takes
//! the pieces back in order as they are done, and [`Decoder::settle`] decides when each goes
//! out, as before: the window rule sees the same pieces, so the output is the same.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::input::stream::{Piece, TextStream};
use crate::report::Report;
use crate::sink::Sink;

use super::board::{Board, Posting, Wait};
use super::text_pieces::{Held, Streamed, TextPiece, TextRun};
use super::{Decoder, Done, Next, StopError};

/// What the reading thread sends: a piece, what it says of a followed file ([`Live`]), and
/// how many lines it moves the line number on when pieces are decoded in parallel (counted
/// there, off the thread that hands pieces out and writes them: a piece's first line must be
/// known before the pieces before it are decoded).
/// Decoded one at a time, a piece's decode counts its lines (`None` here): the reader's
/// count was a second pass over every byte (7.4 M of a 20 MB log's 388 M instructions).
/// Prefixed text is always counted here (its decode reads no line breaks off records).
type ReadPiece = std::io::Result<(Streamed, Live, Option<u64>)>;

/// What a piece read says of a followed file: whether the reader had caught up with it (with
/// every line read whole: [`TextStream::waits_for_a_line`]), and whether the piece starts the
/// file it was rotated to (its line numbers start again at 1: [`TextStream::starts_file`]).
#[derive(Clone, Copy)]
struct Live {
    caught_up: bool,
    starts_file: bool,
}

impl Decoder {
    /// Decodes plain audit text read from `stream` ([`crate::input::stream`]), for inputs of
    /// any size: pieces are read on a thread of their own and decoded in parallel as they
    /// come (two per thread at most at a time; on the calling thread, one at a time, when
    /// rayon's pool has one thread), each into a sink made by `make`, and handed to
    /// `emit` in input order. Whatever has been read is decoded as soon as the reader has
    /// nothing more for now, so a pipe or a growing file is followed (eager streams). Memory:
    /// a few pieces per thread (the stream's piece size, 256 KiB by default), plus the decoded
    /// pieces that wait for the [`crate::input::text::MAX_NAMES_BYTES`] after them (the
    /// window rule; usually one piece), at most [`super::DecoderBuilder::max_held_bytes`] of
    /// text and their output; not the input. Events, unparsed lines, line numbers and counts
    /// are those [`Decoder::decode`] gives for the whole text (flagged more only where pieces
    /// were held past that bound; a followed file's flags are those of the text written when
    /// the reader caught up with its writer: docs/HOSTILE.md, "Live input").
    ///
    /// A line longer than the stream's longest record reaches the sink as an unparsed line
    /// with its first bytes and [`crate::LineError::TooLong`].
    ///
    /// # Errors
    /// [`StopError::Read`] when reading fails (everything read before is decoded, emitted and
    /// counted in its report), [`StopError::Output`] when `emit` fails.
    pub fn decode_text_stream<R, S, M, E>(
        &self,
        stream: TextStream<R>,
        make: M,
        mut emit: E,
    ) -> Result<Report, StopError>
    where
        R: Read + Send + 'static,
        S: Sink + Send,
        M: Fn() -> S + Sync,
        E: FnMut(Done<'_, S>) -> std::io::Result<Next>,
    {
        // On one of rayon's own threads (a caller's `install`), waiting for pieces handed to
        // the pool could wait for this very thread: pieces are decoded here, one at a time.
        // A pool of one thread decodes no sooner than this one, and handing each piece to it
        // and back woke this thread once a piece (a 100 MB log: ~900 of its ~1,700 context
        // switches, ~4% of its CPU time).
        let spawn = self.limits.parallel
            && rayon::current_thread_index().is_none()
            && rayon::current_num_threads() > 1;
        let most = if spawn { self.text_group_len() } else { 1 };
        let (pieces, done_tx) = read_on_a_thread(stream, most, spawn);
        // Pieces emitted go back to the reader (which may have stopped: the buffer is then
        // dropped here).
        let mut back = |done: Streamed| drop(done_tx.send(done.piece));
        // Decoded pieces come back here; the calling thread sleeps until enough are back.
        let board = Board::new();
        rayon::in_place_scope(|scope| {
            let mut order = Order::new(most);
            let mut run = TextRun::new(None);
            let mut held = VecDeque::new();
            let mut failure = None;
            let mut back_now = Vec::new();
            loop {
                while let Some(read) = order.next_read(&pieces) {
                    let (
                        piece,
                        Live {
                            caught_up,
                            starts_file,
                        },
                        breaks,
                    ) = match read {
                        Ok(read) => read,
                        Err(e) => {
                            failure = Some(e);
                            order.reading = false;
                            break;
                        }
                    };
                    let counted = breaks.is_some();
                    let (seq, line, at) = order.place(breaks, piece.piece().len(), starts_file);
                    let (board, make) = (&board, &make);
                    // Returns the piece's line breaks read off its records (`None` when it
                    // panicked, and for prefixed text).
                    let decode = move || {
                        // A panic goes to the calling thread, which would otherwise wait
                        // for this piece for ever (review 13).
                        let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
                            self.decode_piece(piece.piece(), line, at, make)
                        }));
                        let mut breaks = None;
                        let held = decoded.map(|(outcome, sink, edges, lines)| {
                            breaks = lines;
                            Held {
                                piece,
                                first_line: line,
                                at,
                                starts_file,
                                edges,
                                outcome,
                                sink,
                            }
                        });
                        board.post(Back(seq, held, caught_up));
                        breaks
                    };
                    if spawn {
                        scope.spawn(move |_| {
                            decode();
                        });
                    } else {
                        // Decoded here, before the next piece is placed.
                        let breaks = decode();
                        if !counted {
                            order.moved_on(breaks.unwrap_or(0));
                        }
                    }
                }
                if order.in_flight == 0 {
                    break;
                }
                board.take_when(order.wait(), &mut back_now);
                for Back(seq, h, caught_up) in back_now.drain(..) {
                    let h = h.unwrap_or_else(|panicked| panic::resume_unwind(panicked));
                    let caught_up = order.done(seq, h, caught_up, &mut held, &mut run);
                    // A followed file read up to what its writer has written: what is held
                    // goes out with the lines known now, instead of waiting for the lines
                    // after it (a quiet followed log would show nothing for hundreds of
                    // lines). The server writes each record whole, so a line of the record a
                    // held one may be cut from is already here (docs/HOSTILE.md, "Live
                    // input").
                    let ended = caught_up && order.in_flight == 0;
                    let next =
                        self.settle(&mut held, &mut run, ended, &make, &mut emit, &mut back)?;
                    if next == Next::Stop {
                        return Ok(run.report);
                    }
                }
            }
            self.settle(&mut held, &mut run, true, &make, &mut emit, &mut back)?;
            match failure {
                Some(source) => Err(StopError::Read {
                    line: run.next_line,
                    report: Box::new(run.report),
                    source,
                }),
                None => Ok(run.report),
            }
        })
    }
}

/// A piece back from its decode: its number, the piece decoded (or the decode's panic), and
/// whether the reader had caught up when it was read.
struct Back<P, S>(u64, std::thread::Result<Held<P, S>>, bool);

impl<P, S> Posting for Back<P, S> {
    fn key(&self) -> u64 {
        self.0
    }
}

/// Starts the thread that reads `stream`'s pieces (see [`handoff`] for how many wait) and,
/// when `count` or the text is prefixed, counts their lines; pieces sent back on the
/// returned sender are read into again.
fn read_on_a_thread<R: Read + Send + 'static>(
    stream: TextStream<R>,
    most: usize,
    count: bool,
) -> (Taker<ReadPiece>, mpsc::Sender<Piece>) {
    let prefixed = stream.is_prefixed();
    let (tx, rx) = handoff(most);
    // Pieces decoded go back to the reader, whose next pieces reuse their buffers.
    let (done_tx, done_rx) = mpsc::channel();
    // Not a scoped thread: a reader blocked on a pipe or a followed file must not keep the
    // caller from returning when the output side stops.
    std::thread::spawn(move || {
        let mut stream = stream;
        loop {
            for done in done_rx.try_iter() {
                stream.reuse(done);
            }
            let Some(piece) = stream.next() else { return };
            let failed = piece.is_err();
            let read = piece.map(|piece| {
                let breaks_of = prefixed.then(|| stream.breaks());
                let piece = Streamed {
                    piece,
                    prefixed: breaks_of,
                };
                let breaks = (count || prefixed).then(|| piece.piece().line_breaks());
                let live = Live {
                    // Behind a line not whole yet, the records within reach wait for it.
                    caught_up: stream.caught_up() && !stream.waits_for_a_line(),
                    starts_file: stream.starts_file(),
                };
                (piece, live, breaks)
            });
            if !tx.put(read) || failed {
                return;
            }
        }
    });
    (rx, done_tx)
}

/// The pieces handed out and not yet held, and where the next one starts.
struct Order<P, S> {
    /// Pieces decoded at a time at most.
    most: usize,
    in_flight: usize,
    /// Whether the reader may send more.
    reading: bool,
    /// Numbers of the next piece handed out and of the next one to hold.
    next_out: u64,
    next_held: u64,
    /// The line and byte the next piece handed out starts at.
    line: u64,
    byte: u64,
    /// Where the pieces handed out and not held yet end (line, byte), in order.
    ends: VecDeque<(u64, u64)>,
    /// Pieces decoded before one handed out earlier (at most `most`), and whether the
    /// reader had caught up when each was read.
    early: BTreeMap<u64, (Held<P, S>, bool)>,
}

impl<P: TextPiece, S> Order<P, S> {
    fn new(most: usize) -> Self {
        let start = TextRun::new(None);
        Order {
            most: most.max(1),
            in_flight: 0,
            reading: true,
            next_out: 0,
            next_held: 0,
            line: start.next_line,
            byte: start.next_byte,
            ends: VecDeque::new(),
            early: BTreeMap::new(),
        }
    }

    /// The next piece read when there is room for one: waits for it only when nothing is
    /// being decoded (so held pieces go out as soon as they are done).
    fn next_read<T>(&mut self, pieces: &Taker<T>) -> Option<T> {
        if !self.reading || self.in_flight >= self.most {
            return None;
        }
        let read = match pieces.take(self.in_flight == 0) {
            Taken::Item(read) => Some(read),
            Taken::Empty => return None,
            Taken::Ended => None,
        };
        self.reading = read.is_some();
        read
    }

    /// Numbers a piece handed out: its number, first line and start byte. Its `breaks` are
    /// known before it is decoded when pieces are decoded in parallel; else the decode
    /// counts them ([`Order::moved_on`]) before the next piece is placed. A piece that
    /// `starts_file` (a followed file rotated) starts at line 1; bytes count on, so that
    /// the window rule's positions stay in order.
    fn place(&mut self, breaks: Option<u64>, len: usize, starts_file: bool) -> (u64, u64, u64) {
        if starts_file {
            self.line = 1;
        }
        let placed = (self.next_out, self.line, self.byte);
        self.next_out += 1;
        self.in_flight += 1;
        self.line += breaks.unwrap_or(0);
        self.byte += len as u64;
        self.ends.push_back((self.line, self.byte));
        placed
    }

    /// What the calling thread waits for before it takes decoded pieces back: until only one
    /// piece per worker (half of `most`) is still being decoded, the queued ones taken.
    /// Woken for every piece done, it took a core from a worker once a piece, to hand out
    /// one piece while each worker still had one queued (a 100 MB log on two threads, perf
    /// sched: it slept 305-316 times, now 154-186; the workers 26-46 times each, now 0-11;
    /// context switches 918-1,155, now 546-712).
    fn wait(&self) -> Wait {
        Wait::Count(self.in_flight.saturating_sub(self.most / 2).max(1))
    }

    /// The line breaks of the piece placed last, uncounted when placed, from its decode.
    fn moved_on(&mut self, breaks: u64) {
        self.line += breaks;
        if let Some(end) = self.ends.back_mut() {
            end.0 = self.line;
        }
    }

    /// Takes piece `seq` back decoded, and holds it and those after it that are done, in
    /// order. Returns whether the reader had caught up at the last piece held.
    fn done(
        &mut self,
        seq: u64,
        held: Held<P, S>,
        caught_up: bool,
        queue: &mut VecDeque<Held<P, S>>,
        run: &mut TextRun,
    ) -> bool {
        self.in_flight -= 1;
        self.early.insert(seq, (held, caught_up));
        let mut last = false;
        while let Some((h, caught_up)) = self.early.remove(&self.next_held) {
            self.next_held += 1;
            // `run` says what is decoded: the window rule settles pieces by it.
            if let Some((line, byte)) = self.ends.pop_front() {
                (run.next_line, run.next_byte) = (line, byte);
            }
            queue.push_back(h);
            last = caught_up;
        }
        last
    }
}

/// The queue from the reading thread to the decoding one, for `most` pieces decoded at a time:
/// the reader queues each piece as soon as it is read (a followed file's or a pipe's piece is
/// never held back), and once `most + 1` wait it sleeps until the decoder has taken two of
/// them. A `sync_channel(most)` woke it for every piece taken: a futex wake on the decoding
/// thread and two context switches for every 256 KiB piece. One piece more waits at most
/// than with that channel (its buffer ~512 KiB with a read's room).
fn handoff<T>(most: usize) -> (Putter<T>, Taker<T>) {
    let shared = Arc::new(Handoff {
        state: Mutex::new(Queue {
            items: VecDeque::new(),
            reader_gone: false,
            taker_gone: false,
            reader_waits: false,
            taker_waits: false,
        }),
        filled: Condvar::new(),
        drained: Condvar::new(),
        high: most.max(1) + 1,
    });
    (Putter(Arc::clone(&shared)), Taker(shared))
}

/// What the two ends of [`handoff`] share.
struct Handoff<T> {
    state: Mutex<Queue<T>>,
    /// Signalled when a piece is queued, or the reader left, while the taker waits.
    filled: Condvar,
    /// Signalled when the queue has drained two below `high`, or the taker left, while the
    /// reader waits.
    drained: Condvar,
    /// How many pieces wait at most.
    high: usize,
}

struct Queue<T> {
    items: VecDeque<T>,
    reader_gone: bool,
    taker_gone: bool,
    /// Who sleeps on a condition variable: it is signalled only then (a signal is a system
    /// call even with no one waiting).
    reader_waits: bool,
    taker_waits: bool,
}

impl<T> Handoff<T> {
    /// The queue; a panic while it was locked left it whole (no code that can panic runs
    /// under the lock), so a poisoned lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reading thread's end of [`handoff`]; dropped (the reader ended or panicked), it tells
/// the taker that no more pieces come.
struct Putter<T>(Arc<Handoff<T>>);

impl<T> Putter<T> {
    /// Queues `item`, first waiting while the queue is full; `false` when the taker is gone.
    fn put(&self, item: T) -> bool {
        let shared = &self.0;
        let mut queue = shared.lock();
        if queue.items.len() >= shared.high && !queue.taker_gone {
            queue.reader_waits = true;
            while queue.reader_waits && !queue.taker_gone {
                queue = shared
                    .drained
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        if queue.taker_gone {
            return false;
        }
        queue.items.push_back(item);
        if std::mem::take(&mut queue.taker_waits) {
            shared.filled.notify_one();
        }
        true
    }
}

impl<T> Drop for Putter<T> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.reader_gone = true;
        if std::mem::take(&mut queue.taker_waits) {
            self.0.filled.notify_one();
        }
    }
}

/// The decoding thread's end of [`handoff`]; dropped (the output side stopped), it lets a
/// waiting reader go.
struct Taker<T>(Arc<Handoff<T>>);

/// What [`Taker::take`] found.
enum Taken<T> {
    Item(T),
    /// Nothing queued yet (when not waiting).
    Empty,
    /// Nothing queued, and the reader is gone.
    Ended,
}

impl<T> Taker<T> {
    /// The next piece, waiting for it when `wait`.
    fn take(&self, wait: bool) -> Taken<T> {
        let shared = &self.0;
        let mut queue = shared.lock();
        loop {
            if let Some(item) = queue.items.pop_front() {
                // Two below full: the reader reads the next two while these are decoded.
                if queue.reader_waits && queue.items.len() + 2 <= shared.high {
                    queue.reader_waits = false;
                    shared.drained.notify_one();
                }
                return Taken::Item(item);
            }
            if queue.reader_gone {
                return Taken::Ended;
            }
            if !wait {
                return Taken::Empty;
            }
            queue.taker_waits = true;
            queue = shared
                .filled
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<T> Drop for Taker<T> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.taker_gone = true;
        if std::mem::take(&mut queue.reader_waits) {
            self.0.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Taken, handoff};

    /// Every piece arrives once and in order, whether the taker waits or polls, with the
    /// reader blocked on a full queue in between (a lost wake-up would hang this test).
    #[test]
    fn the_handoff_delivers_every_piece_in_order() {
        for most in 1..=4 {
            let (put, take) = handoff::<u32>(most);
            let reader = std::thread::spawn(move || (0..2_000).all(|i| put.put(i)));
            let mut got = Vec::new();
            let mut polls = 0u32;
            loop {
                polls += 1;
                match take.take(!polls.is_multiple_of(3)) {
                    Taken::Item(i) => got.push(i),
                    Taken::Empty => std::thread::yield_now(),
                    Taken::Ended => break,
                }
            }
            assert!(reader.join().is_ok_and(|all_put| all_put));
            assert_eq!(got, (0..2_000).collect::<Vec<_>>(), "most = {most}");
        }
    }

    /// A reader blocked on a full queue is let go, told no one takes, when the taker leaves.
    #[test]
    fn a_reader_waiting_on_a_full_queue_is_released_when_the_taker_leaves() {
        let (put, take) = handoff::<u32>(1);
        let reader = std::thread::spawn(move || (0..100).take_while(|&i| put.put(i)).count());
        while !take.0.lock().reader_waits {
            std::thread::yield_now();
        }
        drop(take);
        // Two queued (most + 1), the third put found the taker gone.
        assert_eq!(reader.join().ok(), Some(2));
    }

    /// The taker learns that the reader ended once the queue is empty.
    #[test]
    fn the_taker_sees_the_end_after_the_last_piece() {
        let (put, take) = handoff::<u32>(2);
        assert!(put.put(7));
        drop(put);
        assert!(matches!(take.take(true), Taken::Item(7)));
        assert!(matches!(take.take(true), Taken::Ended));
        assert!(matches!(take.take(false), Taken::Ended));
    }
}
