//! `stdout`: today's behaviour and the default. Each event is one NDJSON line on stdout, which
//! Lambda sends to the function's own log group.
//!
//! A CloudWatch Logs event holds at most [`LOG_EVENT_MAX`] bytes: a longer line would be cut
//! (or split) by the log pipeline and a consumer of the log would read broken JSON. Such an
//! event (a statement of a few hundred KB, or one whose control bytes swell six-fold as
//! `\u0001`) is not written as a line but set aside whole, like an event over an SQS message:
//! the quarantine keeps it (in the function log, as numbered `quarantine_part` lines that
//! `rdsaudit replay` joins).

use std::io::Write;

use rdsaudit::quarantine::LOG_EVENT_MAX;

use super::{Delivery, Outgoing, Rejected};

/// Writes each event as one line to stdout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    /// Writes the items, one line each, and flushes; stops at the first write error. An item
    /// over [`LOG_EVENT_MAX`] bytes is not written: it is [`Delivery::rejected`].
    pub fn deliver(&self, items: &[Outgoing<'_>]) -> Delivery {
        let mut out = std::io::stdout().lock();
        let mut delivered = 0;
        let mut rejected = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if item.json.len() > LOG_EVENT_MAX {
                rejected.push(Rejected {
                    item: i,
                    reason: format!(
                        "{} bytes, over the {LOG_EVENT_MAX}-byte limit of one CloudWatch Logs event (the function log)",
                        item.json.len()
                    ),
                });
            } else if let Err(e) = out.write_all(item.json).and_then(|()| out.write_all(b"\n")) {
                return Delivery {
                    delivered,
                    retries: 0,
                    rejected,
                    error: Some(e.into()),
                };
            }
            delivered += 1;
        }
        Delivery {
            delivered,
            retries: 0,
            rejected,
            error: out.flush().err().map(Into::into),
        }
    }
}
