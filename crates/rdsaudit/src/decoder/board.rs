//! Where rayon's workers leave what they decoded for the calling thread, which sleeps until
//! what it waits for is there and is woken only then: for a given item (the chunk an event's
//! output waits for, [`super::ahead`]) or for a number of them (pieces of a text stream,
//! [`super::text_stream`]). A channel's receiver was woken once per item, each time taking a
//! core from a worker on a machine with as many threads as cores.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// An item posted on a [`Board`], known by a number of its own.
pub(super) trait Posting {
    fn key(&self) -> u64;
}

/// What the calling thread waits for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wait {
    /// The item of this key.
    For(u64),
    /// This many items posted and not yet taken.
    Count(usize),
}

impl Wait {
    fn met<T: Posting>(self, posted: &[T]) -> bool {
        match self {
            Wait::For(key) => posted.iter().any(|p| p.key() == key),
            Wait::Count(n) => posted.len() >= n,
        }
    }
}

pub(super) struct Board<T> {
    state: Mutex<Posted<T>>,
    /// Signalled when what the calling thread waits for is posted.
    met: Condvar,
}

struct Posted<T> {
    /// Items posted and not yet taken, in the order they were posted.
    items: Vec<T>,
    /// What the calling thread sleeps for, if it sleeps.
    waiting: Option<Wait>,
}

impl<T: Posting> Board<T> {
    pub(super) fn new() -> Self {
        Board {
            state: Mutex::new(Posted {
                items: Vec::new(),
                waiting: None,
            }),
            met: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Posted<T>> {
        // A worker's panic is caught before it posts: the list is never left half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker's item: the calling thread is woken if this completes what it waits for.
    pub(super) fn post(&self, item: T) {
        let mut posted = self.lock();
        posted.items.push(item);
        let wake = posted.waiting.is_some_and(|w| w.met(&posted.items));
        if wake {
            posted.waiting = None;
        }
        drop(posted);
        if wake {
            self.met.notify_one();
        }
    }

    /// Moves the items posted so far into `into` (empty), without waiting.
    pub(super) fn take(&self, into: &mut Vec<T>) {
        std::mem::swap(&mut self.lock().items, into);
    }

    /// Waits until `wait` is met, then moves every item posted into `into` (empty). The
    /// caller makes sure it will be: the items it waits for are being decoded.
    pub(super) fn take_when(&self, wait: Wait, into: &mut Vec<T>) {
        let mut posted = self.lock();
        while !wait.met(&posted.items) {
            posted.waiting = Some(wait);
            posted = self
                .met
                .wait(posted)
                .unwrap_or_else(PoisonError::into_inner);
        }
        posted.waiting = None;
        std::mem::swap(&mut posted.items, into);
    }
}

#[cfg(test)]
mod tests {
    use super::{Board, Posting, Wait};

    impl Posting for u64 {
        fn key(&self) -> u64 {
            *self
        }
    }

    /// Every item posted is taken once, whether the taker waits for a key, for a count or
    /// not at all, while workers post at the same time (a lost wake-up would hang this test).
    #[test]
    fn every_item_is_taken_once_and_each_wait_ends() {
        let board = Board::<u64>::new();
        let mut got = Vec::new();
        let mut taken = Vec::new();
        std::thread::scope(|s| {
            for half in 0..2u64 {
                let board = &board;
                s.spawn(move || (0..1_000).for_each(|i| board.post(2 * i + half)));
            }
            let mut round = 0u64;
            while got.len() < 2_000 {
                let left = 2_000 - got.len();
                match round % 3 {
                    0 => board.take_when(Wait::Count(left.min(3)), &mut taken),
                    1 => {
                        let next = (0..2_000).find(|k| !got.contains(k)).unwrap_or(0);
                        board.take_when(Wait::For(next), &mut taken);
                    }
                    _ => board.take(&mut taken),
                }
                got.append(&mut taken);
                round += 1;
            }
        });
        got.sort_unstable();
        assert_eq!(got, (0..2_000).collect::<Vec<_>>());
    }
}
