//! `eventbridge:<bus name or arn>`: one event per entry, sent with `PutEvents`.
//!
//! Each entry has `Source` = `rdsaudit`, `DetailType` = the operation (`QUERY`, `CONNECT`,
//! `TABLE_WRITE`...), `Time` = the audit event's time and `Detail` = the event's NDJSON object,
//! so a rule can match on any of its keys:
//! `{"source":["rdsaudit"],"detail-type":["QUERY"],"detail":{"database":["shop"]}}`.

use std::time::Instant;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;

use super::aws::{call_error, entry_failure};
use super::batch::{self, BatchApi, CallError, Entry, Limits};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, Outgoing};

/// `PutEvents`: 10 entries and 256 KiB (262,144 bytes) per call, counted as the service does.
const LIMITS: Limits = Limits {
    name: "EventBridge",
    entries: 10,
    batch_bytes: 262_144,
    entry_bytes: 262_144,
};

/// The `Source` of every entry (rules match `"source": ["rdsaudit"]`).
pub const SOURCE: &str = "rdsaudit";

/// The bytes `PutEvents` counts for an entry's `Time`, whatever its value.
const TIME_BYTES: usize = 14;

/// An EventBridge event bus.
#[derive(Debug)]
pub struct EventBridge {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridge {
    /// `address` is the bus name (`default`, `audit`) or its ARN.
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        super::address::event_bus(address)
            .map_err(super::invalid(format!("eventbridge:{address}")))?;
        Ok(Self {
            client: aws_sdk_eventbridge::Client::new(&super::for_address(config, address)),
            bus: address.to_owned(),
        })
    }

    /// Puts the items, ten (or 256 KiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>], deadline: Option<Instant>) -> Delivery {
        batch::deliver(self, items, deadline).await
    }

    /// The entry of one item.
    fn entry(&self, item: &Outgoing<'_>) -> Result<PutEventsRequestEntry, CallError> {
        let time = DateTime::from_secs_and_nanos(
            item.timestamp_us.div_euclid(1_000_000),
            u32::try_from(item.timestamp_us.rem_euclid(1_000_000) * 1_000).unwrap_or_default(),
        );
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(item.operation)
            .time(time)
            .detail(super::utf8(item)?)
            .build())
    }
}

impl BatchApi for EventBridge {
    fn limits(&self) -> Limits {
        LIMITS
    }

    /// As "Calculating PutEvents event entry size" counts it: time, source, detail type and
    /// detail.
    fn size(&self, item: &Outgoing<'_>) -> usize {
        TIME_BYTES + SOURCE.len() + item.operation.len() + item.json.len()
    }

    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
        let entries = batch
            .iter()
            .map(|item| self.entry(item))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| call_error(&e))?;
        // The answer's entries are in the order of the request's.
        Ok(answer
            .entries()
            .iter()
            .map(|e| match e.error_code() {
                None => Entry::Sent,
                Some(code) => entry_failure(code, e.error_message(), false),
            })
            .collect())
    }
}
