//! The window rule's oracle, shared by `text_window.rs`, `prefixed_window.rs` and
//! `envelope_window.rs`: a line (or a CloudWatch message) that
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
#[allow(dead_code)] // `envelope_window.rs` reads messages, not lines: `near_dirt`
pub fn expected(log: &[u8], reads: &[bool]) -> Vec<(u64, bool)> {
    let spans = spans(log);
    assert_eq!(spans.len(), reads.len(), "one `reads` per line");
    near_dirt(&spans, reads)
        .into_iter()
        .map(|(i, near)| (i as u64 + 1, near))
        .collect()
}

/// For each span (of a line, or of a CloudWatch message: where it starts and where its text
/// ends) that is clean (`clean`, one per span): its index and whether a span that is not
/// clean lies within reach.
pub fn near_dirt(spans: &[(u64, u64)], clean: &[bool]) -> Vec<(usize, bool)> {
    let dirty: Vec<(u64, u64)> = spans
        .iter()
        .zip(clean)
        .filter(|(_, c)| !**c)
        .map(|(s, _)| *s)
        .collect();
    spans
        .iter()
        .zip(clean)
        .enumerate()
        .filter(|(_, (_, c))| **c)
        .map(|(i, (&(start, end), _))| {
            let near = dirty.iter().any(|&(s, e)| {
                if e <= start {
                    start - e <= MAX_NAMES_BYTES
                } else {
                    s - end <= MAX_NAMES_BYTES
                }
            });
            (i, near)
        })
        .collect()
}
