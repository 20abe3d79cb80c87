//! `sqs:<queue url>`: one event per message, sent with `SendMessageBatch`.
//!
//! The body is the event's NDJSON object. A FIFO queue (its URL ends in `.fifo`) gets
//! `MessageGroupId` = `serverhost:connection_id`, so one session's statements stay in order, and
//! `MessageDeduplicationId` = the CloudWatch event id + `-` + the line's index, so SQS drops the
//! copies Lambda's retries send within its 5-minute de-duplication window.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::aws::{call_error, entry_failure, fifo_char, fitted_id};
use super::batch::{self, BatchApi, CallError, Entry, Limits};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, Outgoing};

/// `SendMessageBatch`: 10 messages and 256 KiB (262,144 bytes) per call, 256 KiB per message.
const LIMITS: Limits = Limits {
    name: "SQS",
    entries: 10,
    batch_bytes: 262_144,
    entry_bytes: 262_144,
};

/// An SQS queue.
#[derive(Debug)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    fifo: bool,
}

impl Sqs {
    /// `address` is the queue URL (`https://sqs.eu-west-1.amazonaws.com/123456789012/audit`).
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        if !address.starts_with("https://") && !address.starts_with("http://") {
            return Err(DestinationError::InvalidSpec {
                spec: format!("sqs:{address}"),
                reason: "expected the queue URL, https://sqs.<region>.amazonaws.com/<account>/<queue>",
            });
        }
        Ok(Self {
            client: aws_sdk_sqs::Client::new(config),
            queue_url: address.to_owned(),
            fifo: address.ends_with(".fifo"),
        })
    }

    /// Sends the items, ten (or 256 KiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>]) -> Delivery {
        batch::deliver(self, items).await
    }

    /// The batch entry of one item, with id `slot` (its place in the call).
    fn entry(
        &self,
        slot: usize,
        item: &Outgoing<'_>,
    ) -> Result<SendMessageBatchRequestEntry, CallError> {
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(slot.to_string())
            .message_body(super::utf8(item)?);
        if self.fifo {
            entry = entry
                .message_group_id(fitted_id(item.group, 128, fifo_char))
                .message_deduplication_id(fitted_id(item.dedup_id, 128, fifo_char));
        }
        entry.build().map_err(|e| CallError {
            retryable: false,
            message: e.to_string(),
        })
    }
}

impl BatchApi for Sqs {
    fn limits(&self) -> Limits {
        LIMITS
    }

    fn size(&self, item: &Outgoing<'_>) -> usize {
        item.json.len()
    }

    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(slot, item)| self.entry(slot, item))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| call_error(&e))?;
        let mut results = super::unanswered(batch.len());
        for ok in answer.successful() {
            super::set_result(&mut results, ok.id(), Entry::Sent);
        }
        for failed in answer.failed() {
            let entry = entry_failure(failed.code(), failed.message(), failed.sender_fault());
            super::set_result(&mut results, failed.id(), entry);
        }
        Ok(results)
    }
}
