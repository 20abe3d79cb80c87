//! What every batch API shares: cutting the items into batches at the service's limits, setting
//! aside the items it can never take, and sending each batch with retries (throttling, 5xx,
//! connection errors and the per-entry failures of a partially accepted batch) and backoff.
//!
//! The destination files say only how to size an entry and how to send one batch.

// A build with S3 as its only destination uses only the single-call retry.
#![cfg_attr(
    not(any(
        feature = "sqs",
        feature = "sns",
        feature = "eventbridge",
        feature = "kinesis",
        feature = "firehose"
    )),
    allow(dead_code)
)]

use std::time::Duration;

use super::{Delivery, DestinationError, Outgoing, Rejected};

/// Attempts per batch before giving up: the first call and 5 retries.
pub(super) const MAX_ATTEMPTS: u32 = 6;
/// The first backoff; it doubles on every retry (with jitter) up to [`MAX_BACKOFF`]. Six
/// attempts wait at most 0.1 + 0.2 + 0.4 + 0.8 + 1.6 = 3.1 s in all, well inside an invocation.
const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// The longest single wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A service's limits for one batch call, from its API reference.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The destination's name in messages (`SQS`, `Kinesis`, ...).
    pub name: &'static str,
    /// Entries per call (`SendMessageBatch`: 10, `PutRecords`: 500).
    pub entries: usize,
    /// Bytes per call, as the service counts them ([`BatchApi::size`]).
    pub batch_bytes: usize,
    /// Bytes of one entry.
    pub entry_bytes: usize,
}

/// What happened to one entry of a call that the service answered.
#[derive(Debug)]
pub(super) enum Entry {
    /// Accepted.
    Sent,
    /// Failed for a reason that may pass (throttling, an internal error): send it again.
    Retry(String),
    /// Refused for a reason that will not pass (the sender's fault): set it aside.
    Refused(String),
}

/// Why a whole call failed.
#[derive(Debug)]
pub(super) struct CallError {
    /// Throttling, 5xx, a timeout or a connection error: the same call may succeed later.
    pub retryable: bool,
    /// The error with its code and cause chain.
    pub message: String,
}

/// One service's batch API.
pub(super) trait BatchApi {
    /// The service's limits.
    fn limits(&self) -> Limits;
    /// The bytes the service counts for this item (body plus attributes it adds).
    fn size(&self, item: &Outgoing<'_>) -> usize;
    /// Sends one batch; on success, one [`Entry`] per item, in order.
    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError>;
}

/// Delivers the items through `api`, batch after batch, stopping at the first batch that still
/// fails after [`MAX_ATTEMPTS`].
pub(super) async fn deliver(api: &impl BatchApi, items: &[Outgoing<'_>]) -> Delivery {
    let mut delivery = Delivery {
        delivered: 0,
        retries: 0,
        error: None,
        rejected: Vec::new(),
    };
    let mut start = 0;
    while start < items.len() {
        let (batch, end) = next_batch(api, items, start, &mut delivery.rejected);
        let outcome = send_with_retry(api, items, &batch).await;
        delivery.retries += outcome.retries;
        delivery.rejected.extend(outcome.refused);
        if let Some((item, error)) = outcome.failed {
            delivery.delivered = item;
            delivery.rejected.retain(|r| r.item < item);
            delivery.rejected.sort_by_key(|r| r.item);
            delivery.error = Some(error);
            return delivery;
        }
        start = end;
    }
    delivery.delivered = items.len();
    delivery.rejected.sort_by_key(|r| r.item);
    delivery
}

/// The indices of the items of the next batch from `start`, within the count and byte limits,
/// and where the batch after it starts; items too large for any batch are set aside.
fn next_batch(
    api: &impl BatchApi,
    items: &[Outgoing<'_>],
    start: usize,
    rejected: &mut Vec<Rejected>,
) -> (Vec<usize>, usize) {
    let limits = api.limits();
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut next = start;
    for (i, item) in items.iter().enumerate().skip(start) {
        let size = api.size(item);
        if size > limits.entry_bytes {
            rejected.push(Rejected {
                item: i,
                reason: format!(
                    "{size} bytes, over the {}-byte {} limit for one entry",
                    limits.entry_bytes, limits.name
                ),
            });
        } else if batch.len() == limits.entries || bytes + size > limits.batch_bytes {
            break;
        } else {
            batch.push(i);
            bytes += size;
        }
        next = i + 1;
    }
    (batch, next)
}

/// What [`send_with_retry`] did with one batch.
#[derive(Default)]
struct Outcome {
    /// Calls made after the first.
    retries: u64,
    /// Entries refused for good.
    refused: Vec<Rejected>,
    /// The first item still not accepted after the last attempt, and why.
    failed: Option<(usize, DestinationError)>,
}

/// Sends one batch (indices into `items`), then what failed of it again, with backoff.
async fn send_with_retry(api: &impl BatchApi, items: &[Outgoing<'_>], batch: &[usize]) -> Outcome {
    let name = api.limits().name;
    let mut outcome = Outcome::default();
    let mut pending = batch.to_vec();
    let mut last = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        if pending.is_empty() {
            return outcome;
        }
        if attempt > 0 {
            outcome.retries += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
        let entries: Vec<&Outgoing<'_>> = pending.iter().filter_map(|&i| items.get(i)).collect();
        match api.send(&entries).await {
            Ok(results) if results.len() == pending.len() => {
                let mut still = Vec::new();
                for (&item, result) in pending.iter().zip(results) {
                    match result {
                        Entry::Sent => {}
                        Entry::Retry(reason) => {
                            still.push(item);
                            last = reason;
                        }
                        Entry::Refused(reason) => outcome.refused.push(Rejected { item, reason }),
                    }
                }
                pending = still;
            }
            Ok(results) => {
                last = format!("{} results for {} entries", results.len(), pending.len());
            }
            Err(e) if e.retryable => last = e.message,
            Err(e) => {
                outcome.failed = pending.first().map(|&item| {
                    let error = DestinationError::Refused {
                        destination: name,
                        message: e.message,
                    };
                    (item, error)
                });
                return outcome;
            }
        }
    }
    outcome.failed = pending.first().map(|&item| {
        let error = DestinationError::Unavailable {
            destination: name,
            attempts: MAX_ATTEMPTS,
            last,
        };
        (item, error)
    });
    outcome
}

/// The wait before attempt `attempt` (1 = the first retry): [`BASE_BACKOFF`] doubled on every
/// retry up to [`MAX_BACKOFF`], then jittered into its upper half so that the functions of many
/// shards throttled together do not come back together.
pub(super) fn backoff(attempt: u32) -> Duration {
    let full = BASE_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(feature = "s3")]
/// Makes one call (`call`) with the same retries and backoff as a batch; returns its result
/// and the retries made.
pub(super) async fn with_retry<T>(
    name: &'static str,
    call: impl AsyncFn() -> Result<T, CallError>,
) -> (Result<T, DestinationError>, u64) {
    let mut last = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        match call().await {
            Ok(value) => return (Ok(value), u64::from(attempt)),
            Err(e) if e.retryable => last = e.message,
            Err(e) => {
                let error = DestinationError::Refused {
                    destination: name,
                    message: e.message,
                };
                return (Err(error), u64::from(attempt));
            }
        }
    }
    let error = DestinationError::Unavailable {
        destination: name,
        attempts: MAX_ATTEMPTS,
        last,
    };
    (Err(error), u64::from(MAX_ATTEMPTS - 1))
}
