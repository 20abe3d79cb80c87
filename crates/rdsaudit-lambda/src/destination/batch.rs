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

use std::time::{Duration, Instant};

use super::{Delivery, DestinationError, Outgoing, Rejected};
use crate::deadline::before;

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
    /// Refused for a reason of the destination's own, not the entry's (access denied to the
    /// queue or its KMS key, a disabled key, no such stream): every entry would be refused the
    /// same way until someone fixes it, so nothing is set aside: the delivery stops here and
    /// Lambda's retry of the record delivers it once it is fixed.
    Unusable(String),
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
/// fails after [`MAX_ATTEMPTS`], or whose call (or wait before one) is still going at
/// `deadline` ([`DestinationError::Deadline`]).
pub(super) async fn deliver(
    api: &impl BatchApi,
    items: &[Outgoing<'_>],
    deadline: Option<Instant>,
) -> Delivery {
    let mut delivery = Delivery {
        delivered: 0,
        retries: 0,
        error: None,
        rejected: Vec::new(),
    };
    let mut start = 0;
    while start < items.len() {
        let (batch, end) = next_batch(api, items, start, &mut delivery.rejected);
        let outcome = send_with_retry(api, items, &batch, deadline).await;
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

/// Sends one batch (indices into `items`), then what failed of it again, with backoff, until
/// `deadline`.
async fn send_with_retry(
    api: &impl BatchApi,
    items: &[Outgoing<'_>],
    batch: &[usize],
    deadline: Option<Instant>,
) -> Outcome {
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
        }
        let entries: Vec<&Outgoing<'_>> = pending.iter().filter_map(|&i| items.get(i)).collect();
        let call = async {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            api.send(&entries).await
        };
        let Some(answer) = before(deadline, call).await else {
            outcome.failed = pending.first().map(|&item| {
                let error = DestinationError::Deadline {
                    destination: name,
                    last,
                };
                (item, error)
            });
            return outcome;
        };
        match answer {
            Ok(results) if results.len() == pending.len() => {
                let mut still = Vec::new();
                let mut unusable = None;
                for (&item, result) in pending.iter().zip(results) {
                    match result {
                        Entry::Sent => {}
                        Entry::Retry(reason) => {
                            still.push(item);
                            last = reason;
                        }
                        Entry::Refused(reason) => outcome.refused.push(Rejected { item, reason }),
                        Entry::Unusable(reason) => {
                            still.push(item);
                            unusable = unusable.or(Some(reason));
                        }
                    }
                }
                if let Some(message) = unusable {
                    // Stop at the first entry not accepted (one to retry may come before it).
                    outcome.failed = still.first().map(|&item| {
                        let error = DestinationError::Refused {
                            destination: name,
                            message,
                        };
                        (item, error)
                    });
                    return outcome;
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
/// Makes one call (`call`) with the same retries and backoff as a batch, until `deadline`;
/// returns its result and the retries made.
pub(super) async fn with_retry<T>(
    name: &'static str,
    deadline: Option<Instant>,
    call: impl AsyncFn() -> Result<T, CallError>,
) -> (Result<T, DestinationError>, u64) {
    let mut last = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let attempt_call = async {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            call().await
        };
        let Some(answer) = before(deadline, attempt_call).await else {
            let error = DestinationError::Deadline {
                destination: name,
                last,
            };
            return (Err(error), u64::from(attempt));
        };
        match answer {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A service whose answer to call `n` (0-based) with entries `ids` is `answer(n, ids)`;
    /// an item's size is the length of its JSON.
    struct Fake {
        limits: Limits,
        calls: Mutex<Vec<Vec<String>>>,
        answer: fn(usize, &[String]) -> Result<Vec<Entry>, CallError>,
        /// From this call on, the service never answers.
        silent_from: usize,
    }

    impl BatchApi for Fake {
        fn limits(&self) -> Limits {
            self.limits
        }
        fn size(&self, item: &Outgoing<'_>) -> usize {
            item.json.len()
        }
        async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
            let ids: Vec<String> = batch.iter().map(|o| o.dedup_id.to_owned()).collect();
            let n = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(ids.clone());
                calls.len() - 1
            };
            if n >= self.silent_from {
                std::future::pending::<()>().await;
            }
            (self.answer)(n, &ids)
        }
    }

    const LIMITS: Limits = Limits {
        name: "Fake",
        entries: 3,
        batch_bytes: 10,
        entry_bytes: 6,
    };

    fn fake(answer: fn(usize, &[String]) -> Result<Vec<Entry>, CallError>) -> Fake {
        Fake {
            limits: LIMITS,
            calls: Mutex::new(Vec::new()),
            answer,
            silent_from: usize::MAX,
        }
    }

    fn all_sent(_: usize, ids: &[String]) -> Result<Vec<Entry>, CallError> {
        Ok(ids.iter().map(|_| Entry::Sent).collect())
    }

    /// Items whose JSON is `sizes[i]` bytes and whose dedup id is `i`.
    fn items(sizes: &[usize]) -> (Vec<String>, Vec<String>) {
        let json = sizes.iter().map(|&n| "x".repeat(n)).collect();
        let ids = (0..sizes.len()).map(|i| i.to_string()).collect();
        (json, ids)
    }

    fn outgoing<'a>(json: &'a [String], ids: &'a [String]) -> Vec<Outgoing<'a>> {
        json.iter()
            .zip(ids)
            .map(|(j, id)| Outgoing {
                json: j.as_bytes(),
                record: 0,
                dedup_id: id,
                group: "vm:1",
                operation: "QUERY",
                timestamp_us: 0,
            })
            .collect()
    }

    fn calls(fake: &Fake) -> Vec<Vec<String>> {
        fake.calls.lock().unwrap().clone()
    }

    fn ids(calls: &[&[usize]]) -> Vec<Vec<String>> {
        calls
            .iter()
            .map(|c| c.iter().map(usize::to_string).collect())
            .collect()
    }

    #[tokio::test]
    async fn batches_are_cut_at_the_count_and_byte_limits() {
        let fake = fake(all_sent);
        let (json, id) = items(&[4, 4, 4, 2, 6, 7, 1, 1, 1, 1]);
        let delivery = deliver(&fake, &outgoing(&json, &id), None).await;
        assert_eq!(delivery.delivered, 10);
        assert!(delivery.error.is_none());
        assert_eq!(calls(&fake), ids(&[&[0, 1], &[2, 3], &[4, 6, 7], &[8, 9]]));
        // 7 bytes is over the 6-byte entry limit: set aside whole, never sent.
        assert_eq!(delivery.rejected.len(), 1);
        assert_eq!(delivery.rejected[0].item, 5);
    }

    #[tokio::test]
    async fn failed_entries_alone_are_sent_again() {
        let fake = fake(|n, ids| {
            Ok(ids
                .iter()
                .map(|id| match (n, id.as_str()) {
                    (0, "1") => Entry::Retry("ProvisionedThroughputExceededException".into()),
                    (0, "2") => Entry::Refused("InvalidParameter: no".into()),
                    _ => Entry::Sent,
                })
                .collect())
        });
        let (json, id) = items(&[1, 1, 1]);
        let delivery = deliver(&fake, &outgoing(&json, &id), None).await;
        assert_eq!(calls(&fake), ids(&[&[0, 1, 2], &[1]]));
        assert_eq!(delivery.delivered, 3);
        assert_eq!(delivery.retries, 1);
        assert_eq!(delivery.rejected.len(), 1);
        assert_eq!(delivery.rejected[0].item, 2);
        assert!(delivery.rejected[0].reason.contains("InvalidParameter"));
    }

    #[tokio::test]
    async fn a_batch_still_failing_ends_the_delivered_prefix_at_its_first_failed_entry() {
        // The second batch (items 3..6): item 4 keeps failing, items 3 and 5 pass.
        let fake = fake(|n, ids| {
            Ok(ids
                .iter()
                .map(|id| match id.as_str() {
                    "4" if n >= 1 => Entry::Retry("InternalFailure".into()),
                    _ => Entry::Sent,
                })
                .collect())
        });
        let (json, id) = items(&[1, 1, 1, 1, 1, 9, 1, 1]);
        let delivery = deliver(&fake, &outgoing(&json, &id), None).await;
        assert_eq!(delivery.delivered, 4);
        assert_eq!(delivery.retries, u64::from(MAX_ATTEMPTS - 1));
        assert_eq!(calls(&fake).len(), 1 + MAX_ATTEMPTS as usize);
        assert!(
            matches!(&delivery.error, Some(DestinationError::Unavailable { last, .. }) if last == "InternalFailure")
        );
        // Item 5 (too large) is after the prefix: not reported, Lambda's retry sees it again.
        assert!(delivery.rejected.is_empty());
    }

    #[tokio::test]
    async fn a_call_refused_for_good_is_not_retried() {
        let fake = fake(|n, ids| match n {
            0 => Ok(ids.iter().map(|_| Entry::Sent).collect()),
            _ => Err(CallError {
                retryable: false,
                message: "AccessDeniedException".into(),
            }),
        });
        let (json, id) = items(&[5, 5, 5]);
        let delivery = deliver(&fake, &outgoing(&json, &id), None).await;
        assert_eq!(delivery.delivered, 2);
        assert_eq!(delivery.retries, 0);
        assert!(matches!(
            delivery.error,
            Some(DestinationError::Refused { .. })
        ));
    }

    #[tokio::test]
    async fn a_call_still_going_at_the_deadline_ends_the_delivered_prefix_at_its_batch() {
        let fake = Fake {
            silent_from: 1,
            ..fake(all_sent)
        };
        let (json, id) = items(&[4, 4, 4, 4, 4]);
        let deadline = Instant::now() + Duration::from_millis(300);
        let delivery = deliver(&fake, &outgoing(&json, &id), Some(deadline)).await;
        assert!(Instant::now() >= deadline);
        assert!(Instant::now() < deadline + Duration::from_secs(5));
        // Items 0 and 1 went in the first call; the second (2, 3) never came back.
        assert_eq!(delivery.delivered, 2);
        assert_eq!(calls(&fake), ids(&[&[0, 1], &[2, 3]]));
        assert!(
            matches!(&delivery.error, Some(DestinationError::Deadline { last, .. }) if last.is_empty()),
            "{:?}",
            delivery.error
        );
        // Past the deadline nothing is started.
        let late = deliver(&fake, &outgoing(&json, &id), Some(deadline)).await;
        assert_eq!(late.delivered, 0);
        assert_eq!(calls(&fake).len(), 2);
    }

    #[tokio::test]
    async fn a_backoff_that_would_end_past_the_deadline_stops_the_batch() {
        let fake = fake(|_, _| {
            Err(CallError {
                retryable: true,
                message: "ThrottlingException".into(),
            })
        });
        let (json, id) = items(&[4]);
        // The first retry waits 50-100 ms: a deadline 20 ms away comes first.
        let deadline = Instant::now() + Duration::from_millis(20);
        let delivery = deliver(&fake, &outgoing(&json, &id), Some(deadline)).await;
        assert_eq!(delivery.delivered, 0);
        assert_eq!(calls(&fake).len(), 1);
        assert!(
            matches!(&delivery.error, Some(DestinationError::Deadline { last, .. }) if last == "ThrottlingException"),
            "{:?}",
            delivery.error
        );
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_growing() {
        for attempt in 1..=MAX_ATTEMPTS + 3 {
            let full = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1))
                .min(MAX_BACKOFF);
            let wait = backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }
}
