//! `--merge`: several inputs' events as one stream in timestamp order, in bounded memory.
//!
//! Aurora writes each instance's audit log across several files at once, and RDS rotates its
//! files, so one instance's events are spread over files whose lines interleave in time. Each
//! input is read as a stream; a k-way merge (a binary heap holding each input's earliest
//! pending event) writes the earliest event of all inputs next.
//!
//! Inside one file, lines are mostly but not strictly in time order (concurrent sessions
//! write to the plugin's buffer). Each input therefore keeps a window of its next
//! [`WINDOW`] events, and offers the earliest of them: an event at most that many events
//! away from its place in its file comes out in order. An event further away comes out when
//! its window reaches it, after later ones; it is counted as `late` (the summary says how
//! many), never dropped. So the guarantee: the output is in timestamp order whenever no event
//! is more than [`WINDOW`] events away from its place in its own file; otherwise the summary
//! counts the events written after a later one.
//!
//! Equal times (MariaDB and RDS for MySQL log whole seconds) are ordered by what tells the
//! server's order, in this order ([`Key`]):
//! 1. `--format sql`: a statement that may change how the statements after it are read
//!    ([`Stamped::changes_reading`]: a `SET sql_mode='ANSI_QUOTES'`...) goes first. The SQL
//!    writer makes every line after its comment a comment; put after a `DELETE` of its second
//!    from another file (a rotated log split between a session's `SET` and its `DELETE`), it
//!    left the `DELETE` to run, and a replay deleted every row the server kept (session 29's
//!    review, F5). Moved before statements the server ran before it, it only makes them
//!    comments too. It goes first when it is within [`WINDOW`] events of its input's first
//!    event of that time. One further, with more than [`WINDOW`] events before it in its
//!    input still to be written, may come out after statements of its time (a second of
//!    more than [`WINDOW`] events in one file) or after later ones (lines that far out of
//!    time order in their file); each is counted apart ([`Merge::reading_changed_late`];
//!    `parse` warns, saying which: session 34's adversary LOW-5, a `SET` 100,000 seconds
//!    out of place was blamed on "more than 4096 events of that second").
//! 2. The input whose first event is earlier: a rotated file's last second before the next
//!    file's first, whatever order the files are given in (`audit.log audit.log.1`, as
//!    `audit.log*` expands, names the newer file first).
//! 3. The highest query id of the input up to the event: MariaDB's query id is one counter
//!    for the server (the plugin writes 0 for connection events, and a TABLE event carries its
//!    statement's id), so of two files of one server that start in the same second, the
//!    events after lower ids go first. Within one file this key never decreases, so it keeps
//!    the file's order (the plugin logs a statement when it ends, so ids are not in file
//!    order; trigger statements come before their parent with higher ids).
//! 4. Input order, then order in the file.
//!
//! Unparsed lines and unreadable records have no trustworthy time to merge by: they are
//! counted and written to `--rejects` as their input's chunks reach the merge (each with its
//! file and line), never to the output; their error lines go to stderr once the merge ends,
//! input by input in the order the inputs were given (the inputs are read at once, and lines
//! shown as each thread met them came out in a different order from run to run). SQL: each
//! statement's `USE` is decided where it lands in the merged order.
//!
//! Memory: each input is read on a thread of its own, decoded as without `--merge` (a group
//! of 256 KiB text pieces, or one JSON document up to `--max-file-size`), with at most two
//! decoded chunks waiting and [`WINDOW`] formatted events pending: about
//! k × (2 × threads + 3) MiB + k × [`WINDOW`] × event size for k text inputs. A chunk keeps
//! at most 8 MiB of its events in memory, the rest in a temporary file, read back one event
//! at a time (`parse.rs`: a JSON record's events were held whole, 2 GB for a 1 MB event).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Events each input holds back to put its own out-of-order lines in order.
pub const WINDOW: usize = 4096;

/// One event on its way out: its time and its formatted bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// UTC epoch microseconds (the event's `timestamp_us`).
    pub epoch_us: i64,
    /// The event as written in the output format.
    pub bytes: Vec<u8>,
    /// SQL: the database the statement ran in (its `USE` is written where it lands).
    pub database: Option<Vec<u8>>,
    /// SQL: the statement may change how the statements after it are read (a `SET
    /// sql_mode=...`, written as a comment that makes every line after it one): it goes
    /// before the other events of its time.
    pub changes_reading: bool,
    /// The server's query id (0 for connection events): a server's counter, so of two
    /// inputs' events of one time, the one after a lower id goes first.
    pub query_id: u64,
}

/// Where an event waits: ordered by time, then whether it changes how statements are read
/// (`false` first: the key holds its negation), then its input's first time, then the
/// highest query id of its input up to it, then input, then arrival (see the module docs).
type Key = (i64, bool, i64, u64, usize, u64);

/// A pending event: its bytes, database and query id.
type Pending = (Vec<u8>, Option<Vec<u8>>, u64);

/// One input's window of pending events.
struct Window<S> {
    source: S,
    /// Pending events, earliest first by [`Key`].
    pending: BinaryHeap<Reverse<(Key, Pending)>>,
    arrivals: u64,
    /// The time of the input's first event: of two inputs, the one that starts earlier has
    /// its events of a shared time first (a rotated file's last second before the next
    /// file's first, whatever order the files were given in).
    start: Option<i64>,
    /// The highest query id of the input's events so far.
    query_ids: u64,
}

impl<S: Iterator<Item = Stamped>> Window<S> {
    /// Pulls events until the window is full or the input ends.
    fn fill(&mut self, input: usize, window: usize) {
        while self.pending.len() < window {
            let Some(e) = self.source.next() else { return };
            let start = *self.start.get_or_insert(e.epoch_us);
            self.query_ids = self.query_ids.max(e.query_id);
            let key = (
                e.epoch_us,
                !e.changes_reading,
                start,
                self.query_ids,
                input,
                self.arrivals,
            );
            self.pending
                .push(Reverse((key, (e.bytes, e.database, e.query_id))));
            self.arrivals += 1;
        }
    }

    fn earliest(&self) -> Option<Key> {
        self.pending.peek().map(|Reverse((key, _))| *key)
    }
}

/// The merged stream of several inputs' events (an iterator of [`Stamped`]).
pub struct Merge<S> {
    windows: Vec<Window<S>>,
    /// Each input's earliest pending event.
    heads: BinaryHeap<Reverse<Key>>,
    window: usize,
    latest: Option<i64>,
    late: u64,
    /// The latest time of an event written that changes no reading.
    latest_plain: Option<i64>,
    /// Statements that change how statements are read written after an event of their time
    /// or later ([`Merge::reading_changed_late`]).
    reading_changed_late: ChangedLate,
}

/// Statements that change how statements are read (`SET sql_mode=...`) written after
/// statements the server may have read after them ([`Merge::reading_changed_late`]), by
/// what came before them. Either way their input held more than the window's events before
/// them still to be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangedLate {
    /// Written after statements of their own time, none later (a second of more than the
    /// window's events in their input).
    pub after_their_time: u64,
    /// Written after statements of a later time: they were further from their place in
    /// time order in their input than the window reaches.
    pub after_later: u64,
}

impl<S: Iterator<Item = Stamped>> Merge<S> {
    /// Merges `sources` (inputs in order) with a window of [`WINDOW`] events each.
    pub fn new(sources: impl IntoIterator<Item = S>) -> Self {
        Self::with_window(sources, WINDOW)
    }

    /// Merges with a window of `window` events per input (at least 1).
    pub fn with_window(sources: impl IntoIterator<Item = S>, window: usize) -> Self {
        let window = window.max(1);
        let mut merge = Merge {
            windows: sources
                .into_iter()
                .map(|source| Window {
                    source,
                    pending: BinaryHeap::new(),
                    arrivals: 0,
                    start: None,
                    query_ids: 0,
                })
                .collect(),
            heads: BinaryHeap::new(),
            window,
            latest: None,
            late: 0,
            latest_plain: None,
            reading_changed_late: ChangedLate::default(),
        };
        for input in 0..merge.windows.len() {
            merge.refill(input);
        }
        merge
    }

    /// Events written after a later one (further out of place in their file than the window).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Statements that change how statements are read written after another event of their
    /// time or a later one (their input held more than the window's events before them
    /// still to be written: a busy second, or lines out of time order), so statements the
    /// server read after them may have been written to run before them; by what came
    /// before them.
    pub fn reading_changed_late(&self) -> ChangedLate {
        self.reading_changed_late
    }

    /// Tops up input `input`'s window and offers its earliest event.
    fn refill(&mut self, input: usize) {
        let window = self.window;
        if let Some(w) = self.windows.get_mut(input) {
            w.fill(input, window);
            if let Some(key) = w.earliest() {
                self.heads.push(Reverse(key));
            }
        }
    }
}

impl<S: Iterator<Item = Stamped>> Iterator for Merge<S> {
    type Item = Stamped;

    fn next(&mut self) -> Option<Stamped> {
        let Reverse((_, _, _, _, input, _)) = self.heads.pop()?;
        let Reverse(((epoch_us, plain, ..), (bytes, database, query_id))) =
            self.windows.get_mut(input)?.pending.pop()?;
        if self.latest.is_some_and(|latest| epoch_us < latest) {
            self.late += 1;
        }
        self.latest = Some(self.latest.map_or(epoch_us, |l| l.max(epoch_us)));
        if plain {
            self.latest_plain = Some(self.latest_plain.map_or(epoch_us, |l| l.max(epoch_us)));
        } else if let Some(latest) = self.latest_plain.filter(|&l| l >= epoch_us) {
            let late = &mut self.reading_changed_late;
            if latest > epoch_us {
                late.after_later += 1;
            } else {
                late.after_their_time += 1;
            }
        }
        self.refill(input);
        Some(Stamped {
            epoch_us,
            bytes,
            database,
            changes_reading: !plain,
            query_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event at `t` whose bytes are `tag`.
    fn stamped(t: i64, tag: &str, changes_reading: bool) -> Stamped {
        Stamped {
            epoch_us: t,
            bytes: tag.as_bytes().to_vec(),
            database: None,
            changes_reading,
            query_id: 0,
        }
    }
    use proptest::prelude::*;

    /// Each input's events tagged with (input, position) so the output can be checked.
    fn inputs(times: &[Vec<i64>]) -> Vec<std::vec::IntoIter<Stamped>> {
        times
            .iter()
            .enumerate()
            .map(|(i, ts)| {
                ts.iter()
                    .enumerate()
                    .map(|(j, &t)| Stamped {
                        epoch_us: t,
                        bytes: format!("{i}:{j}").into_bytes(),
                        database: None,
                        changes_reading: false,
                        query_id: 0,
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
            })
            .collect()
    }

    fn tags(out: &[Stamped]) -> Vec<String> {
        out.iter()
            .map(|s| String::from_utf8(s.bytes.clone()).unwrap())
            .collect()
    }

    proptest! {
        #[test]
        fn sorted_inputs_merge_into_sorted_output_keeping_every_event(
            mut times in prop::collection::vec(prop::collection::vec(0i64..50, 0..40), 0..6),
            window in 1usize..8,
        ) {
            for t in &mut times {
                t.sort_unstable();
            }
            let mut merge = Merge::with_window(inputs(&times), window);
            let out: Vec<Stamped> = merge.by_ref().collect();
            prop_assert_eq!(out.len(), times.iter().map(Vec::len).sum::<usize>());
            prop_assert!(out.windows(2).all(|w| w[0].epoch_us <= w[1].epoch_us));
            prop_assert_eq!(merge.late(), 0);
            // Equal times: the input that starts earlier first, then earlier input, then file
            // order.
            let mut expected: Vec<(i64, i64, usize, usize)> = times
                .iter()
                .enumerate()
                .flat_map(|(i, ts)| ts.iter().enumerate().map(move |(j, &t)| (t, ts[0], i, j)))
                .collect();
            expected.sort_unstable();
            let expected: Vec<String> = expected.iter().map(|(_, _, i, j)| format!("{i}:{j}")).collect();
            prop_assert_eq!(tags(&out), expected);
        }

        #[test]
        fn out_of_order_inputs_lose_nothing_and_late_counts_the_misplaced(
            times in prop::collection::vec(prop::collection::vec(0i64..50, 0..40), 0..6),
            window in 1usize..8,
        ) {
            let mut merge = Merge::with_window(inputs(&times), window);
            let out: Vec<Stamped> = merge.by_ref().collect();
            let mut got = tags(&out);
            got.sort();
            let mut all: Vec<String> = times
                .iter()
                .enumerate()
                .flat_map(|(i, ts)| (0..ts.len()).map(move |j| format!("{i}:{j}")))
                .collect();
            all.sort();
            prop_assert_eq!(got, all);
            let descents = out.iter().scan(i64::MIN, |max, s| {
                let late = s.epoch_us < *max;
                *max = (*max).max(s.epoch_us);
                Some(late)
            });
            prop_assert_eq!(merge.late(), descents.filter(|&l| l).count() as u64);
        }
    }

    #[test]
    fn a_line_displaced_within_the_window_comes_out_in_order() {
        // Input 0 has one event 3 places early; a window of 4 puts it right.
        let times = vec![vec![1, 2, 6, 3, 4, 5, 7], vec![0, 5, 8]];
        let mut merge = Merge::with_window(inputs(&times), 4);
        let out: Vec<i64> = merge.by_ref().map(|s| s.epoch_us).collect();
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 5, 6, 7, 8]);
        assert_eq!(merge.late(), 0);
        // A window of 1 cannot: the displaced event comes out late, and is counted.
        let mut merge = Merge::with_window(inputs(&times), 1);
        let out: Vec<i64> = merge.by_ref().map(|s| s.epoch_us).collect();
        assert_eq!(out.len(), 10);
        assert!(merge.late() > 0);
    }

    /// Session 29's review (adv3 F5): `--merge audit.log audit.log.1` (the current file first,
    /// as `audit.log*` lists them) wrote the current file's `DELETE` before the rotated file's
    /// `SET sql_mode='ANSI_QUOTES'` of the same second, so the SQL writer's taint started after
    /// it. Equal times now go by the input that starts earlier, and a statement that changes
    /// how statements are read goes first among its time's events.
    #[test]
    fn a_tie_goes_to_the_older_file_and_to_a_change_of_reading_first() {
        // The current file starts in the second the rotated one ends in.
        let current = vec![stamped(7, "delete", false), stamped(8, "later", false)];
        let rotated = vec![
            stamped(5, "first", false),
            stamped(7, "select", false),
            stamped(7, "set", true),
        ];
        let out = Merge::new([current.clone().into_iter(), rotated.clone().into_iter()]);
        assert_eq!(
            tags(&out.collect::<Vec<_>>()),
            ["first", "set", "select", "delete", "later"]
        );
        // Both starting in the tie's second: the change of reading still goes first.
        let rotated = vec![stamped(7, "select", false), stamped(7, "set", true)];
        let mut merge = Merge::new([current.into_iter(), rotated.into_iter()]);
        let out: Vec<Stamped> = merge.by_ref().collect();
        assert_eq!(tags(&out), ["set", "delete", "select", "later"]);
        assert_eq!(merge.reading_changed_late(), ChangedLate::default());
    }

    /// Two parts of one server's log that both start in the shared second, given newest
    /// first: the part whose query ids come first goes first (connection events, query id 0,
    /// go with the highest id before them in their file).
    #[test]
    fn a_tie_goes_by_query_id_across_inputs() {
        let stamped = |tag: &str, query_id: u64| Stamped {
            epoch_us: 7,
            bytes: tag.as_bytes().to_vec(),
            database: None,
            changes_reading: false,
            query_id,
        };
        let older = vec![stamped("connect", 0), stamped("set", 9)];
        let newer = vec![
            stamped("write", 10),
            stamped("delete", 10),
            stamped("disconnect", 0),
        ];
        let out: Vec<Stamped> = Merge::new([newer.into_iter(), older.into_iter()]).collect();
        assert_eq!(
            tags(&out),
            ["connect", "set", "write", "delete", "disconnect"]
        );
    }

    /// More events of one time before the change of reading than the window holds: it comes
    /// out after some of them, and is counted.
    #[test]
    fn a_change_of_reading_past_the_window_is_counted() {
        let stamped = |tag: &str, changes_reading: bool| Stamped {
            epoch_us: 7,
            bytes: tag.as_bytes().to_vec(),
            database: None,
            changes_reading,
            query_id: 0,
        };
        let one = vec![
            stamped("a", false),
            stamped("b", false),
            stamped("set", true),
        ];
        let other = vec![stamped("delete", false)];
        let mut merge = Merge::with_window([one.clone().into_iter(), other.clone().into_iter()], 2);
        let out: Vec<Stamped> = merge.by_ref().collect();
        assert_eq!(tags(&out), ["a", "set", "b", "delete"]);
        assert_eq!(
            merge.reading_changed_late(),
            ChangedLate {
                after_their_time: 1,
                after_later: 0
            }
        );
        let mut merge = Merge::with_window([one.into_iter(), other.into_iter()], 3);
        let out: Vec<Stamped> = merge.by_ref().collect();
        assert_eq!(tags(&out), ["set", "a", "b", "delete"]);
        assert_eq!(merge.reading_changed_late(), ChangedLate::default());
    }

    /// Session 34's adversary LOW-5: a change of reading further out of time order in its
    /// file than the window reaches (no second holding more than a few events) comes out
    /// after statements of a later time, and is counted as that, not as a busy second.
    #[test]
    fn a_change_of_reading_far_out_of_order_is_counted_as_that() {
        let one = vec![
            stamped(8, "a", false),
            stamped(9, "b", false),
            stamped(7, "set", true),
        ];
        let mut merge = Merge::with_window([one.clone().into_iter()], 2);
        let out: Vec<Stamped> = merge.by_ref().collect();
        assert_eq!(tags(&out), ["a", "set", "b"]);
        assert_eq!(
            merge.reading_changed_late(),
            ChangedLate {
                after_their_time: 0,
                after_later: 1
            }
        );
        assert_eq!(merge.late(), 1);
        let mut merge = Merge::with_window([one.into_iter()], 3);
        assert_eq!(tags(&merge.by_ref().collect::<Vec<_>>()), ["set", "a", "b"]);
        assert_eq!(merge.reading_changed_late(), ChangedLate::default());
    }

    #[test]
    fn memory_is_a_window_per_input() {
        // An endless input is never drained into memory: pulled lazily, one window ahead.
        let pulled = std::cell::Cell::new(0u64);
        let endless = (0i64..).map(|t| {
            pulled.set(pulled.get() + 1);
            Stamped {
                epoch_us: t,
                bytes: Vec::new(),
                database: None,
                changes_reading: false,
                query_id: 0,
            }
        });
        let mut merge = Merge::with_window([endless], 16);
        assert_eq!(merge.by_ref().take(100).count(), 100);
        assert!(pulled.get() <= 100 + 16, "{}", pulled.get());
    }
}
