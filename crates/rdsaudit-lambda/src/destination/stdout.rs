//! `stdout`: today's behaviour and the default. Each event is one NDJSON line on stdout, which
//! Lambda sends to the function's own log group.

use std::io::Write;

use super::{Delivery, Outgoing};

/// Writes each event as one line to stdout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    /// Writes the items, one line each, and flushes; stops at the first write error.
    pub fn deliver(&self, items: &[Outgoing<'_>]) -> Delivery {
        let mut out = std::io::stdout().lock();
        let mut delivered = 0;
        for item in items {
            if let Err(e) = out.write_all(item.json).and_then(|()| out.write_all(b"\n")) {
                return Delivery {
                    delivered,
                    retries: 0,
                    rejected: Vec::new(),
                    error: Some(e.into()),
                };
            }
            delivered += 1;
        }
        Delivery {
            delivered,
            retries: 0,
            rejected: Vec::new(),
            error: out.flush().err().map(Into::into),
        }
    }
}
