//! `sqs:<queue url>`: one event per message, sent with `SendMessageBatch`.
//!
//! The body is the event's NDJSON object. A FIFO queue (its URL ends in `.fifo`) gets
//! `MessageGroupId` = `serverhost:connection_id`, so one session's statements stay in order, and
//! `MessageDeduplicationId` = the CloudWatch event id + `-` + the line's index, so SQS drops the
//! copies Lambda's retries send within its 5-minute de-duplication window.
//!
//! SQS takes only `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF` in a
//! body and refuses the whole call otherwise (`InvalidMessageContents`). The NDJSON writer
//! escapes everything below `#x20` already, but writes the noncharacters U+FFFE and U+FFFF
//! (which any client can put in a statement) as they are: [`sqs_text`] writes them as the
//! JSON escapes `\ufffe` and `\uffff`, which read back as the same characters.

use std::borrow::Cow;
use std::time::Instant;

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
        let queue =
            super::address::queue_url(address).map_err(super::invalid(format!("sqs:{address}")))?;
        Ok(Self {
            client: aws_sdk_sqs::Client::new(&super::for_address(config, address)),
            queue_url: address.to_owned(),
            fifo: queue.ends_with(".fifo"),
        })
    }

    /// Sends the items, ten (or 256 KiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>], deadline: Option<Instant>) -> Delivery {
        batch::deliver(self, items, deadline).await
    }

    /// The batch entry of one item, with id `slot` (its place in the call).
    fn entry(
        &self,
        slot: usize,
        item: &Outgoing<'_>,
    ) -> Result<SendMessageBatchRequestEntry, CallError> {
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(slot.to_string())
            .message_body(sqs_text(super::utf8(item)?));
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
        std::str::from_utf8(item.json).map_or(item.json.len(), |text| sqs_text(text).len())
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

/// `json` (a JSON text) as SQS takes it: U+FFFE and U+FFFF, which SQS refuses and which can
/// only stand inside a JSON string, written as `\ufffe` and `\uffff` (the same JSON value).
/// Every other character of a compact JSON text is one SQS allows.
pub(crate) fn sqs_text(json: &str) -> Cow<'_, str> {
    if !json.contains(['\u{FFFE}', '\u{FFFF}']) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '\u{FFFE}' => out.push_str("\\ufffe"),
            '\u{FFFF}' => out.push_str("\\uffff"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQS allows in a message body (the `SendMessage` API reference).
    fn sqs_allows(c: char) -> bool {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }

    /// A queue URL of another region than the function's: the client calls that region.
    #[test]
    fn the_client_calls_the_region_of_the_queue_url() {
        let config = super::super::aws::function_config();
        let sqs = Sqs::new(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/audit",
            &config,
        )
        .unwrap();
        let region = sqs.client.config().region().map(|r| r.as_ref().to_owned());
        assert_eq!(region.as_deref(), Some("eu-west-1"));
        assert!(!sqs.fifo);
        let fifo = Sqs::new("https://sqs.eu-west-1.amazonaws.com/1/audit.fifo", &config).unwrap();
        assert!(fifo.fifo);
    }

    #[test]
    fn noncharacters_are_escaped_and_the_json_value_is_the_same() {
        let json = serde_json::json!({
            "object": "SELECT 1 /* \u{FFFF} \u{FFFE} */ -- \u{FFFD}\u{10FFFF}\u{E000}\u{D7FF} \\uffff \"",
            "user": "\u{FFFE}",
        })
        .to_string();
        let text = sqs_text(&json);
        assert!(text.chars().all(sqs_allows), "{text:?}");
        assert!(text.contains(r"/* \uffff \ufffe */"), "{text}");
        assert_eq!(text.len(), json.len() + 3 * 3);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        );
        // Nothing to escape: the same text, not a copy.
        assert!(matches!(sqs_text("{\"a\":\"\u{FFFD}\"}"), Cow::Borrowed(_)));
    }
}
