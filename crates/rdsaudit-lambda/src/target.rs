//! What receives the decoded events: a [`Destination`] (the `bootstrap` binary) or your own
//! [`EventHandler`] (a binary of yours, see [`crate::run_handler`]). The retry and quarantine
//! policy around them is the handler's ([`crate::handler`]), the same for both.

use std::future::Future;

use crate::capture::{Kept, Mode};
use crate::destination::{Destination, DestinationError, InvocationInfo, Outgoing};
use crate::events::{Event, EventHandler};

/// What a target did with a slice's events.
#[derive(Debug)]
pub(crate) struct Taken {
    /// How many events, from the first, are handled (delivered or quarantined as oversized).
    pub done: usize,
    /// Calls or entries sent again.
    pub retries: u64,
    /// Why `done` is short of the events.
    pub error: Option<String>,
    /// Events below `done` the target can never take (too large, refused as the sender's
    /// fault), with the reason: the caller quarantines them whole.
    pub rejected: Vec<(usize, String)>,
    /// Whether `done` is short because the invocation's deadline came.
    pub out_of_time: bool,
}

/// A receiver of decoded events.
pub(crate) trait Target {
    /// How the events must be kept for it.
    const MODE: Mode;
    /// The stage named when it fails (`delivery`, `handler`).
    const STAGE: &'static str;

    /// Takes `events` in order.
    fn take(&self, events: &[Kept<'_>], info: &InvocationInfo<'_>) -> impl Future<Output = Taken>;
}

impl Target for Destination {
    const MODE: Mode = Mode::Ndjson;
    const STAGE: &'static str = "delivery";

    async fn take(&self, events: &[Kept<'_>], info: &InvocationInfo<'_>) -> Taken {
        let items: Vec<Outgoing<'_>> = events
            .iter()
            .map(|k| Outgoing {
                json: k.json(),
                record: k.record,
                dedup_id: k.dedup_id(),
                group: k.group(),
                operation: k.operation(),
                timestamp_us: k.item.timestamp_us,
            })
            .collect();
        let delivery = self.deliver(&items, info).await;
        let out_of_time = matches!(delivery.error, Some(DestinationError::Deadline { .. }));
        Taken {
            out_of_time,
            done: delivery.delivered.min(items.len()),
            retries: delivery.retries,
            error: delivery.error.map(|e| e.to_string()),
            rejected: delivery
                .rejected
                .into_iter()
                .map(|r| (r.item, r.reason))
                .collect(),
        }
    }
}

/// Your [`EventHandler`] as a target.
#[derive(Debug)]
pub(crate) struct Own<H>(pub H);

impl<H: EventHandler> Target for Own<H> {
    const MODE: Mode = Mode::Stash;
    const STAGE: &'static str = "handler";

    async fn take(&self, events: &[Kept<'_>], info: &InvocationInfo<'_>) -> Taken {
        let typed: Vec<Event<'_>> = events
            .iter()
            .filter_map(|k| {
                Some(Event {
                    event: k.event()?,
                    record: k.record,
                    sequence_number: k.sequence_number,
                    dedup_id: k.dedup_id(),
                })
            })
            .collect();
        let Some(failed) = crate::deadline::before(info.deadline, self.0.handle(&typed)).await
        else {
            return Taken {
                done: 0,
                retries: 0,
                error: Some("the handler had not returned at the invocation's deadline".into()),
                rejected: Vec::new(),
                out_of_time: true,
            };
        };
        let done = failed
            .iter()
            .copied()
            .filter(|&i| i < typed.len())
            .min()
            .unwrap_or(typed.len());
        Taken {
            done,
            retries: 0,
            error: typed
                .get(done)
                .map(|e| format!("the handler failed event {}", e.dedup_id)),
            rejected: Vec::new(),
            out_of_time: false,
        }
    }
}
