#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

/// Where the messages of the reads the ring holds end, in order.
fn ends(ring: &Ring<'_>) -> Vec<u64> {
    let (front, back) = ring.pending();
    front.iter().chain(back).map(|(end, _)| *end).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The ring holds what a `VecDeque` (its reference, the list it replaced) holds for any
    /// run of reads made at the back and let go at the front, from any room kept: its slots
    /// appended to, wrapping, and put in order and doubled with reads held. Each read made is
    /// the read of its line, and `for_each` visits exactly the reads held, in order.
    #[test]
    fn ring_holds_what_a_deque_holds(
        ops in proptest::collection::vec(0u8..3, 0..300),
        kept in 0usize..40,
    ) {
        let lines: Vec<String> = (0..ops.len()).map(|i| format!("line {i}")).collect();
        let mut ring = Ring::new(Vec::with_capacity(kept));
        let mut deque = VecDeque::new();
        for (i, op) in ops.iter().enumerate() {
            let at = i as u64;
            if *op == 0 {
                prop_assert_eq!(ring.front().map(|(end, _)| *end), deque.front().copied());
                ring.pop_front();
                deque.pop_front();
            } else {
                let line = Unread {
                    bytes: lines[i].as_bytes(),
                    line_number: Some(at),
                    event_id: None,
                };
                let read = ring.push_back(at, line).unwrap();
                prop_assert_eq!(read.bytes, lines[i].as_bytes());
                prop_assert_eq!(read.line_number, Some(at));
                prop_assert!(matches!(read.parsed, Err(LineError::Empty)));
                deque.push_back(at);
            }
            prop_assert_eq!(ends(&ring), deque.iter().copied().collect::<Vec<_>>());
        }
        let mut visited = Vec::new();
        ring.for_each(|read| visited.push(read.line_number.unwrap()));
        prop_assert_eq!(visited, deque.iter().copied().collect::<Vec<_>>());
        ring.clear();
        prop_assert!(ends(&ring).is_empty());
        prop_assert!(ring.front().is_none());
    }
}
