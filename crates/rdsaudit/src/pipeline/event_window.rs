//! The window rule across log events read one at a time (the logs API's JSON, Insights
//! CSV): [`EventWindow`], kept from chunk to chunk.

use std::collections::HashMap;

use crate::input::log_event::LogEvent;
use crate::input::text;

use super::is_dirty;
use super::reads::text_span;

/// The window rule across the log events of the shapes read one event at a time (the logs
/// API's JSON, Insights CSV: docs/HOSTILE.md rule 4, review 9's R9-1). A
/// shipper may put each physical line of a record in a log event of its own, and
/// `filter-log-events` interleaves a group's streams: each stream's messages are read as the
/// text they came from, one after the other with a break between (as `Reach` reads an
/// envelope's), and an event is plain only when no dirty message of its stream lies within
/// [`text::MAX_NAMES_BYTES`] of text of its own. Kept from chunk to chunk: where each stream's
/// text is and where its last dirty message ends.
#[derive(Debug, Default)]
pub struct EventWindow {
    /// Per `(log group, log stream)` (none named: the whole input is one stream): where its
    /// next message's text starts, where its last dirty message's text ends.
    streams: HashMap<(Option<String>, Option<String>), Place>,
}

/// Where a stream's next message's text starts, where its last dirty message's text ends.
type Place = (u64, Option<u64>);

/// A log event's stream as [`EventWindow`] keys it.
type StreamKey<'k> = (Option<&'k str>, Option<&'k str>);

fn stream_key<'k>(e: &'k LogEvent<'_>) -> StreamKey<'k> {
    (e.log_group.as_deref(), e.log_stream.as_deref())
}

impl EventWindow {
    /// For each event of `chunk`: whether a dirty message of its stream (before it, itself,
    /// in `chunk` or `ahead` after it) lies within reach, or its reach goes past what is
    /// known while `more` follows. Moves the window past `chunk`.
    pub(super) fn near_dirt(
        &mut self,
        chunk: &[LogEvent<'_>],
        ahead: &[LogEvent<'_>],
        more: bool,
    ) -> Vec<bool> {
        let all = chunk.iter().chain(ahead);
        let mut state: HashMap<StreamKey<'_>, Place> = HashMap::new();
        // (stream, start, end, dirty) of every message, its text placed in its stream's.
        let mut spans = Vec::with_capacity(chunk.len() + ahead.len());
        let mut near = Vec::with_capacity(chunk.len());
        for (i, e) in all.enumerate() {
            let key = stream_key(e);
            let (at, last_dirty) = state.entry(key).or_insert_with(|| {
                let owned = (key.0.map(str::to_owned), key.1.map(str::to_owned));
                self.streams.get(&owned).copied().unwrap_or_default()
            });
            let ((start, end), next) = text_span(&e.message, *at);
            *at = next;
            let dirty = is_dirty(e);
            if i < chunk.len() {
                near.push(dirty || last_dirty.is_some_and(|d| text::within_reach(d, start)));
            }
            if dirty {
                *last_dirty = Some(end);
            }
            spans.push((key, start, end, dirty));
            if i + 1 == chunk.len() {
                self.keep(&state);
            }
        }
        // Backwards: the next dirty message of each stream (or where its unknown text starts).
        let mut next: HashMap<StreamKey<'_>, u64> = HashMap::new();
        if more {
            next.extend(state.iter().map(|(k, (at, _))| (*k, *at)));
        }
        for (i, (key, start, end, dirty)) in spans.into_iter().enumerate().rev() {
            if let (Some(n), Some(&d)) = (near.get_mut(i), next.get(&key)) {
                *n |= text::within_reach(end, d);
            }
            if dirty {
                next.insert(key, start);
            }
        }
        near
    }

    /// Keeps each stream's place after a chunk.
    fn keep(&mut self, state: &HashMap<StreamKey<'_>, Place>) {
        for (k, v) in state {
            let owned = (k.0.map(str::to_owned), k.1.map(str::to_owned));
            self.streams.insert(owned, *v);
        }
    }
}
