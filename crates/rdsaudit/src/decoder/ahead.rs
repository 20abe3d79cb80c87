//! Records decoded on rayon's pool ahead of the calling thread, which meanwhile walks the
//! event (a Kinesis event's records are handed out as the walk finds them) and then writes
//! the decoded chunks out in input order as they come back.
//!
//! A chunk (a few records, [`CHUNK_PAYLOAD_BYTES`] of payload at most unless one record is
//! larger) goes to one worker; chunks come back in any order and wait for their turn. Only
//! [`AHEAD_PAYLOAD_BYTES`] of payload are handed out and not yet written at any time, so the
//! output held is bounded by what that payload decodes to, whatever the input's size (and so
//! is the number of sinks alive: a sink per record). While the event is still walked nothing
//! can be written (an invalid byte at its end fails it whole): records go on being handed out
//! then only while the log events decoded and expected stay under [`WALK_AHEAD_EVENTS`]; the
//! rest wait for the walk to end.
//!
//! The calling thread sleeps while it waits for the oldest chunk, and is woken only when that
//! chunk is done ([`super::board`]): a chunk done before its turn cannot be written and frees no
//! room, so waking for it (as a channel's receiver was, once per chunk) only took a core from
//! a worker.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::input::SourceRecord;
use crate::input::kinesis::{EventText, RawRecord};
use crate::pipeline::Pipeline;
use crate::report::RecordOutcome;
use crate::sink::Sink;

use super::board::{Board, Posting, Wait};

/// A chunk of records given to one worker ends once its payloads (base64 or gzip, as
/// delivered) reach this many bytes: small enough that both threads get work early and the
/// last chunk leaves little idle time, large enough that handing it over costs nothing
/// measurable (a 16 MB event of 500 records makes 125 chunks, 6,000 one-line records 175).
pub(super) const CHUNK_PAYLOAD_BYTES: usize = 32 << 10;
/// Payload bytes handed to the workers and not yet written out: half of what one chunk was
/// before chunks were written as they came (the 16 MB event's records decode to 21 bytes of
/// NDJSON per payload byte, so about 3 MiB of output; 6,000 one-line records, 135 records'
/// worth). Measured (two threads, wall): 128 KiB was the best of 64 KiB to 1 MiB on both
/// corpora; larger budgets are slower, as every sink held is fresh memory and page faults
/// cost more than the idle time they save.
pub(super) const AHEAD_PAYLOAD_BYTES: usize = 128 << 10;
/// While the event is walked, records go on being handed out past [`AHEAD_PAYLOAD_BYTES`] as
/// long as the log events decoded and held, plus those the payloads handed out are expected
/// to hold (at the rate of the chunks decoded so far), stay under this many. Records of one
/// short line each (a few hundred bytes of output per payload) are then all decoded while the
/// walk goes on, instead of the second thread waiting for it; the 16 MB event's records (200
/// lines each) stay at about the payload budget.
pub(super) const WALK_AHEAD_EVENTS: u64 = 8192;
/// Records copied during the walk and not yet handed out (no room) are kept up to this many
/// payload bytes; past it copying stops and the rest is handed out after the walk, borrowed.
const PENDING_PAYLOAD_BYTES: usize = 2 * CHUNK_PAYLOAD_BYTES;

/// The payload bytes of a record, as delivered.
pub(super) fn payload_len(record: &SourceRecord<'_>) -> usize {
    record.as_delivered().len()
}

/// A decoded chunk's outcomes and sinks, or its panic (raised again on the calling thread, as
/// a parallel iterator would, instead of leaving it waiting).
type Decoded<S> = std::thread::Result<Vec<(RecordOutcome, S)>>;

/// A decoded chunk: its first record, its payload bytes, and what it decoded to.
type Arrival<S> = (usize, usize, Decoded<S>);

impl<S> Posting for Arrival<S> {
    /// A chunk is known by its first record.
    fn key(&self) -> u64 {
        self.0 as u64
    }
}

/// Records copied out of an event that is still being walked (the walk holds the event text
/// and unescapes it in place), for a worker to decode.
#[derive(Debug, Default)]
pub(super) struct Copies {
    text: Vec<u8>,
    records: Vec<RawRecord>,
}

impl Copies {
    /// Empty copies with room for a quarter more than `last` (the chunk before) held, its
    /// text up to [`PENDING_PAYLOAD_BYTES`]: grown from nothing, each chunk's text was
    /// reallocated and copied a dozen times on the walking thread (4.3 M of its 47 M
    /// instructions on 6,000 one-line records, two threads).
    fn after(last: &Copies) -> Self {
        let room = |len: usize| len.saturating_add(len / 4);
        Copies {
            text: Vec::with_capacity(room(last.text.len()).min(PENDING_PAYLOAD_BYTES)),
            records: Vec::with_capacity(room(last.records.len())),
        }
    }

    /// Copies a record the walk has just read out of `text`.
    pub(super) fn push(&mut self, record: &RawRecord, text: &[u8]) {
        let copy = record.copy_to(text, &mut self.text);
        self.records.push(copy);
    }

    /// Whether the chunk is complete: its payload (and metadata) bytes, or its records.
    pub(super) fn is_full(&self, records_per_chunk: usize) -> bool {
        self.text.len() >= CHUNK_PAYLOAD_BYTES || self.records.len() >= records_per_chunk
    }

    pub(super) fn len(&self) -> usize {
        self.records.len()
    }
}

/// The chunks handed to the workers and not yet written, in input order.
pub(super) struct Ahead<'s, 'scope, S> {
    scope: &'s rayon::Scope<'scope>,
    pipeline: &'scope Pipeline,
    board: Arc<Board<Arrival<S>>>,
    /// The room chunks are taken off the [`Board`] into (kept empty between takes).
    taken: Vec<Arrival<S>>,
    /// `(first record, payload bytes)` of each chunk handed out and not yet taken, oldest
    /// first.
    chunks: VecDeque<(usize, usize)>,
    /// Chunks decoded before their turn, by first record, with their log events.
    back: BTreeMap<usize, (u64, Decoded<S>)>,
    /// Payload bytes of the chunks in `chunks`.
    bytes: usize,
    /// Payload bytes of the chunks handed out and not decoded yet.
    in_flight: usize,
    /// Log events of the chunks in `back`.
    held_events: u64,
    /// Log events and payload bytes of every chunk decoded so far (their rate estimates what
    /// the chunks in flight hold).
    seen: (u64, usize),
    /// Records the walk has found and copied, not handed out yet; `None` once the walk is
    /// over or copying stopped.
    copies: Option<Copies>,
    /// The first record not handed out yet.
    pub(super) next: usize,
}

impl<'s, 'scope, S: Sink + Send + 'scope> Ahead<'s, 'scope, S> {
    pub(super) fn new(scope: &'s rayon::Scope<'scope>, pipeline: &'scope Pipeline) -> Self {
        Ahead {
            scope,
            pipeline,
            board: Arc::new(Board::new()),
            taken: Vec::new(),
            chunks: VecDeque::new(),
            back: BTreeMap::new(),
            bytes: 0,
            in_flight: 0,
            held_events: 0,
            seen: (0, 0),
            copies: None,
            next: 0,
        }
    }

    /// Copies the records an event walk finds ([`Ahead::found`]) until [`Ahead::walked`].
    pub(super) fn copying(mut self) -> Self {
        self.copies = Some(Copies::default());
        self
    }

    /// Whether another chunk may be handed out.
    pub(super) fn has_room(&self) -> bool {
        self.bytes < AHEAD_PAYLOAD_BYTES
    }

    /// Whether another chunk may be handed out while the event is walked (nothing is
    /// written then): within the payload budget, or within [`WALK_AHEAD_EVENTS`] log events
    /// held and expected.
    fn has_room_walking(&mut self) -> bool {
        if self.has_room() {
            return true;
        }
        self.poll();
        let (events, bytes) = self.seen;
        if bytes == 0 {
            return false;
        }
        let expected = (self.in_flight as u128 * u128::from(events)).div_ceil(bytes as u128);
        u128::from(self.held_events) + expected < u128::from(WALK_AHEAD_EVENTS)
    }

    /// Takes the chunks decoded so far off the board, without waiting.
    fn poll(&mut self) {
        self.board.take(&mut self.taken);
        self.receive_taken();
    }

    /// Keeps the chunks just taken off the board for their turn.
    fn receive_taken(&mut self) {
        let mut taken = std::mem::take(&mut self.taken);
        for (at, bytes, done) in taken.drain(..) {
            self.received(at, bytes, done);
        }
        self.taken = taken;
    }

    /// A decoded chunk of `bytes` payload bytes, first record `at`: kept for its turn.
    fn received(&mut self, at: usize, bytes: usize, done: Decoded<S>) {
        let events = match &done {
            Ok(list) => list.iter().map(|(o, _)| o.log_events).sum(),
            Err(_) => 0,
        };
        self.in_flight = self.in_flight.saturating_sub(bytes);
        self.held_events += events;
        self.seen = (self.seen.0 + events, self.seen.1 + bytes);
        self.back.insert(at, (events, done));
    }

    /// A record the event walk has just read (the next one): copied, and handed out with
    /// those before it once they make a chunk and there is room ([`Ahead::has_room_walking`]).
    /// Once [`PENDING_PAYLOAD_BYTES`] wait for room, copying stops: the rest is handed out
    /// after the walk.
    pub(super) fn found<M>(
        &mut self,
        record: &RawRecord,
        text: &[u8],
        per_chunk: usize,
        make: &'scope M,
    ) where
        M: Fn() -> S + Sync,
    {
        let Some(copies) = &mut self.copies else {
            return;
        };
        copies.push(record, text);
        if !copies.is_full(per_chunk) {
            return;
        }
        let pending = copies.text.len();
        if self.has_room_walking() {
            if let Some(copies) = &mut self.copies {
                let next = Copies::after(copies);
                let full = std::mem::replace(copies, next);
                self.hand_out(full, make);
            }
        } else if pending >= PENDING_PAYLOAD_BYTES {
            self.walked(make);
        }
    }

    /// The walk is over (or copying stops): the records copied are handed out.
    pub(super) fn walked<M>(&mut self, make: &'scope M)
    where
        M: Fn() -> S + Sync,
    {
        if let Some(copies) = self.copies.take().filter(|c| c.len() > 0) {
            self.hand_out(copies, make);
        }
    }

    /// Hands out records copied during the walk (they are the next ones).
    fn hand_out<M>(&mut self, copies: Copies, make: &'scope M)
    where
        M: Fn() -> S + Sync,
    {
        let (len, bytes, pipeline) = (copies.len(), copies.text.len(), self.pipeline);
        self.spawn(len, bytes, move |first| {
            let text = EventText::new(&copies.text);
            let records: Vec<SourceRecord<'_>> =
                copies.records.iter().map(|r| r.resolve(&text)).collect();
            pipeline.process(&records, first, false, make)
        });
    }

    /// Hands out the next records, borrowed.
    pub(super) fn records<M>(&mut self, records: &'scope [SourceRecord<'scope>], make: &'scope M)
    where
        M: Fn() -> S + Sync,
    {
        let (bytes, pipeline) = (records.iter().map(payload_len).sum(), self.pipeline);
        self.spawn(records.len(), bytes, move |first| {
            pipeline.process(records, first, false, make)
        });
    }

    /// Hands `len` records of `bytes` payload bytes to a worker, which decodes them with
    /// `work` (given the index of the first).
    fn spawn<W>(&mut self, len: usize, bytes: usize, work: W)
    where
        W: FnOnce(usize) -> Vec<(RecordOutcome, S)> + Send + 'scope,
    {
        let (first, board) = (self.next, Arc::clone(&self.board));
        self.chunks.push_back((first, bytes));
        self.bytes += bytes;
        self.in_flight += bytes;
        self.next += len;
        self.scope.spawn(move |_| {
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(first)));
            board.post((first, bytes, done));
        });
    }

    /// The oldest chunk handed out, once decoded (waits for it): its first record and its
    /// outcomes and sinks. `None` when every chunk handed out has been taken.
    pub(super) fn next_done(&mut self) -> Option<(usize, Vec<(RecordOutcome, S)>)> {
        let (first, bytes) = self.chunks.pop_front()?;
        self.bytes -= bytes;
        loop {
            if let Some((events, done)) = self.back.remove(&first) {
                self.held_events = self.held_events.saturating_sub(events);
                return Some((first, done.unwrap_or_else(|p| std::panic::resume_unwind(p))));
            }
            // Every chunk handed out is posted once (a panic too), so this wait ends.
            self.board
                .take_when(Wait::For(first as u64), &mut self.taken);
            self.receive_taken();
        }
    }
}
