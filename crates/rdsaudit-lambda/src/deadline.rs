//! The invocation's deadline. Lambda stops the function at its timeout: an invocation still
//! running then reports nothing, so Lambda counts the whole batch as failed (what was
//! delivered is sent again) and retries it until `MaximumRetryAttempts`, then skips it. So
//! every call that can wait on the network (a destination's batch, a retry's backoff, a
//! quarantine write, your handler) is bounded by a time a little before the deadline, and the
//! records not delivered by then are reported in `batchItemFailures`, with the summary line.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// Kept for what follows the last call: the `stopped` and summary lines and the response to
/// the Runtime API (milliseconds in all), with room for a slow log pipe and a clock that does
/// not match Lambda's to the millisecond.
pub(crate) const MARGIN: Duration = Duration::from_secs(1);

/// The moment the calls of an invocation whose deadline (Lambda's
/// `Lambda-Runtime-Deadline-Ms`) is `deadline` must have returned: [`MARGIN`] before it.
pub(crate) fn stop_at(deadline: SystemTime) -> Instant {
    let now = Instant::now();
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    now + left.saturating_sub(MARGIN)
}

/// Whether `stop_at` has come.
pub(crate) fn passed(stop_at: Option<Instant>) -> bool {
    stop_at.is_some_and(|at| Instant::now() >= at)
}

/// `call`'s output, or `None` when `stop_at` comes first (or has come: then `call` is not
/// started). A call cut short may still have reached the service: what it carried counts as
/// not delivered and is sent again on Lambda's retry (at least once).
pub(crate) async fn before<T>(
    stop_at: Option<Instant>,
    call: impl Future<Output = T>,
) -> Option<T> {
    match stop_at {
        None => Some(call.await),
        Some(_) if passed(stop_at) => None,
        Some(at) => tokio::time::timeout_at(at.into(), call).await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_is_cut_at_the_deadline_and_not_started_after_it() {
        let soon = Some(Instant::now() + Duration::from_millis(100));
        assert_eq!(before(soon, async { 7 }).await, Some(7));
        let started = Instant::now();
        assert_eq!(before(soon, std::future::pending::<()>()).await, None);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(passed(soon));
        let mut ran = false;
        assert_eq!(before(soon, async { ran = true }).await, None);
        assert!(!ran, "a call is not started after the deadline");
        assert_eq!(before(None, async { 8 }).await, Some(8));
    }

    #[test]
    fn the_margin_is_kept_before_lambdas_deadline() {
        let in_ten = SystemTime::now() + Duration::from_secs(10);
        let left = stop_at(in_ten).saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(9) && left > Duration::from_secs(8),
            "{left:?}"
        );
        // A deadline already past (or within the margin): stop now.
        let past = SystemTime::now() - Duration::from_secs(1);
        assert!(stop_at(past) <= Instant::now());
    }
}
