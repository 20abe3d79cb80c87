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
//! many), never dropped. Equal times keep input order (then order in the file). So the
//! guarantee: the output is in timestamp order whenever no event is more than [`WINDOW`]
//! events away from its place in its own file; otherwise the summary counts the events
//! written after a later one.
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
//! k × (2 × threads + 3) MiB + k × [`WINDOW`] × event size for k text inputs.

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
}

/// Where an event waits: ordered by time, then input, then arrival.
type Key = (i64, usize, u64);

/// A pending event: its bytes and database.
type Pending = (Vec<u8>, Option<Vec<u8>>);

/// One input's window of pending events.
struct Window<S> {
    source: S,
    /// Pending events, earliest first by (time, input, arrival).
    pending: BinaryHeap<Reverse<(Key, Pending)>>,
    arrivals: u64,
}

impl<S: Iterator<Item = Stamped>> Window<S> {
    /// Pulls events until the window is full or the input ends.
    fn fill(&mut self, input: usize, window: usize) {
        while self.pending.len() < window {
            let Some(e) = self.source.next() else { return };
            let key = (e.epoch_us, input, self.arrivals);
            self.pending.push(Reverse((key, (e.bytes, e.database))));
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
                })
                .collect(),
            heads: BinaryHeap::new(),
            window,
            latest: None,
            late: 0,
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
        let Reverse((_, input, _)) = self.heads.pop()?;
        let Reverse(((epoch_us, _, _), (bytes, database))) =
            self.windows.get_mut(input)?.pending.pop()?;
        if self.latest.is_some_and(|latest| epoch_us < latest) {
            self.late += 1;
        }
        self.latest = Some(self.latest.map_or(epoch_us, |l| l.max(epoch_us)));
        self.refill(input);
        Some(Stamped {
            epoch_us,
            bytes,
            database,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            // Equal times: earlier input first, then file order.
            let mut expected: Vec<(i64, usize, usize)> = times
                .iter()
                .enumerate()
                .flat_map(|(i, ts)| ts.iter().enumerate().map(move |(j, &t)| (t, i, j)))
                .collect();
            expected.sort_unstable();
            let expected: Vec<String> = expected.iter().map(|(_, i, j)| format!("{i}:{j}")).collect();
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
            }
        });
        let mut merge = Merge::with_window([endless], 16);
        assert_eq!(merge.by_ref().take(100).count(), 100);
        assert!(pulled.get() <= 100 + 16, "{}", pulled.get());
    }
}
