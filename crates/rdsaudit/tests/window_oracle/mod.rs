//! The window rule's oracle, shared by `text_window.rs` and `prefixed_window.rs`: a line that
//! reads alone is a plain event exactly when no line that does not read alone lies within
//! `MAX_NAMES_BYTES` of it, counted from the end of one line's text to the start of the
//! other's (the break and every line between counted; docs/HOSTILE.md rule 4).

use rdsaudit::input::text::MAX_NAMES_BYTES;

/// Where each line of `log` (split at `\n`) starts and where its text ends.
pub fn spans(log: &[u8]) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, &b) in log.iter().enumerate() {
        if b == b'\n' {
            spans.push((start as u64, i as u64));
            start = i + 1;
        }
    }
    if start < log.len() {
        spans.push((start as u64, log.len() as u64));
    }
    spans
}

/// For each line of `log` that reads alone (`reads`, one per line): its 1-based number and
/// whether a line that does not read alone lies within reach.
pub fn expected(log: &[u8], reads: &[bool]) -> Vec<(u64, bool)> {
    let spans = spans(log);
    assert_eq!(spans.len(), reads.len(), "one `reads` per line");
    let dirty: Vec<(u64, u64)> = spans
        .iter()
        .zip(reads)
        .filter(|(_, r)| !**r)
        .map(|(s, _)| *s)
        .collect();
    spans
        .iter()
        .zip(reads)
        .enumerate()
        .filter(|(_, (_, r))| **r)
        .map(|(i, (&(start, end), _))| {
            let near = dirty.iter().any(|&(s, e)| {
                if e <= start {
                    start - e <= MAX_NAMES_BYTES
                } else {
                    s - end <= MAX_NAMES_BYTES
                }
            });
            (i as u64 + 1, near)
        })
        .collect()
}
