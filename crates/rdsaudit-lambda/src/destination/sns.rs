//! `sns:<topic arn>`: one event per message, sent with `PublishBatch`.
//!
//! The message is the event's NDJSON object, with a String message attribute `operation`
//! (`QUERY`, `CONNECT`, ...) for subscription filter policies. A FIFO topic (its ARN ends in
//! `.fifo`) gets the same group and de-duplication ids as an SQS FIFO queue.

use std::time::Instant;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use super::aws::{call_error, entry_failure, fifo_char, fitted_id};
use super::batch::{self, BatchApi, CallError, Entry, Limits};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, Outgoing};

/// `PublishBatch`: 10 messages and 256 KiB (262,144 bytes) per call, 256 KiB per message
/// (message attributes included).
const LIMITS: Limits = Limits {
    name: "SNS",
    entries: 10,
    batch_bytes: 262_144,
    entry_bytes: 262_144,
};

/// The message attribute that carries the operation, and its data type.
const OPERATION: (&str, &str) = ("operation", "String");

/// An SNS topic.
#[derive(Debug)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    fifo: bool,
}

impl Sns {
    /// `address` is the topic ARN (`arn:aws:sns:eu-west-1:123456789012:audit`).
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        let topic =
            super::address::topic_arn(address).map_err(super::invalid(format!("sns:{address}")))?;
        Ok(Self {
            client: aws_sdk_sns::Client::new(&super::for_address(config, address)),
            topic_arn: address.to_owned(),
            fifo: topic.ends_with(".fifo"),
        })
    }

    /// Publishes the items, ten (or 256 KiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>], deadline: Option<Instant>) -> Delivery {
        batch::deliver(self, items, deadline).await
    }

    /// The batch entry of one item, with id `slot` (its place in the call).
    fn entry(
        &self,
        slot: usize,
        item: &Outgoing<'_>,
    ) -> Result<PublishBatchRequestEntry, CallError> {
        let built = |e: aws_sdk_sns::error::BuildError| CallError {
            retryable: false,
            message: e.to_string(),
        };
        let mut entry = PublishBatchRequestEntry::builder()
            .id(slot.to_string())
            .message(super::utf8(item)?);
        // SNS refuses an empty attribute value, and would refuse the whole batch with it.
        if !item.operation.is_empty() {
            let operation = MessageAttributeValue::builder()
                .data_type(OPERATION.1)
                .string_value(item.operation)
                .build()
                .map_err(built)?;
            entry = entry.message_attributes(OPERATION.0, operation);
        }
        if self.fifo {
            entry = entry
                .message_group_id(fitted_id(item.group, 128, fifo_char))
                .message_deduplication_id(fitted_id(item.dedup_id, 128, fifo_char));
        }
        entry.build().map_err(built)
    }
}

impl BatchApi for Sns {
    fn limits(&self) -> Limits {
        LIMITS
    }

    /// The message and its attribute (name, type and value count).
    fn size(&self, item: &Outgoing<'_>) -> usize {
        item.json.len() + OPERATION.0.len() + OPERATION.1.len() + item.operation.len()
    }

    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(slot, item)| self.entry(slot, item))
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| call_error(&e))?;
        let mut results = super::unanswered(batch.len());
        for ok in answer.successful() {
            super::set_result(&mut results, ok.id().unwrap_or_default(), Entry::Sent);
        }
        for failed in answer.failed() {
            let entry = entry_failure(failed.code(), failed.message(), failed.sender_fault());
            super::set_result(&mut results, failed.id(), entry);
        }
        Ok(results)
    }
}
