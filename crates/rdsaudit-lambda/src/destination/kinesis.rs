//! `kinesis:<stream name or arn>`: one event per record, sent with `PutRecords`.
//!
//! The data is the event's NDJSON object; the partition key is `serverhost:connection_id`, so
//! one session's events go to one shard in order (its SHA-256 when longer than 256 characters).

use std::time::Instant;

use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_smithy_types::Blob;

use super::aws::{call_error, entry_failure, fitted_id};
use super::batch::{self, BatchApi, CallError, Entry, Limits};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, Outgoing};

/// `PutRecords`: 500 records and 5 MiB per call, 1 MiB per record, partition keys included.
const LIMITS: Limits = Limits {
    name: "Kinesis",
    entries: 500,
    batch_bytes: 5 * 1024 * 1024,
    entry_bytes: 1024 * 1024,
};

/// The longest partition key, in Unicode characters.
const KEY_CHARS: usize = 256;

/// A Kinesis data stream.
#[derive(Debug)]
pub struct Kinesis {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

impl Kinesis {
    /// `address` is the stream name (`audit-events`) or its ARN.
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        super::address::stream(address).map_err(super::invalid(format!("kinesis:{address}")))?;
        Ok(Self {
            client: aws_sdk_kinesis::Client::new(&super::for_address(config, address)),
            stream: address.to_owned(),
        })
    }

    /// Puts the items, 500 (or 5 MiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>], deadline: Option<Instant>) -> Delivery {
        batch::deliver(self, items, deadline).await
    }
}

/// The partition key of an item.
fn partition_key(item: &Outgoing<'_>) -> String {
    fitted_id(item.group, KEY_CHARS, |_| true)
}

impl BatchApi for Kinesis {
    fn limits(&self) -> Limits {
        LIMITS
    }

    fn size(&self, item: &Outgoing<'_>) -> usize {
        item.json.len() + partition_key(item).len()
    }

    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
        let records = batch
            .iter()
            .map(|item| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(item.json))
                    .partition_key(partition_key(item))
                    .build()
                    .map_err(|e| CallError {
                        retryable: false,
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let request = self.client.put_records().set_records(Some(records));
        let request = if self.stream.starts_with("arn:") {
            request.stream_arn(&self.stream)
        } else {
            request.stream_name(&self.stream)
        };
        let answer = request.send().await.map_err(|e| call_error(&e))?;
        // The answer's records are in the order of the request's.
        Ok(answer
            .records()
            .iter()
            .map(|r| match r.error_code() {
                None => Entry::Sent,
                Some(code) => entry_failure(code, r.error_message(), false),
            })
            .collect())
    }
}
