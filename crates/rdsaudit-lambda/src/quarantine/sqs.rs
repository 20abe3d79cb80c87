//! `RDSAUDIT_QUARANTINE=sqs:<queue url>`: one message per entry, the document whole, or its
//! numbered parts when it is larger than an SQS message (256 KiB). U+FFFE and U+FFFF are
//! written as JSON escapes (see the SQS destination).

use rdsaudit::quarantine::{Entry, write_parts};

use super::QuarantineError;

/// SQS's message size limit (256 KiB) less room for the message attributes.
const MESSAGE_MAX: usize = 256 * 1024 - 1024;

/// A queue.
#[derive(Debug)]
pub struct SqsQuarantine {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    fifo: bool,
}

impl SqsQuarantine {
    /// A writer to `queue_url`, with the SDK's standard retries.
    pub(super) fn new(config: &aws_config::SdkConfig, queue_url: &str) -> Self {
        let config = crate::destination::for_address(config, queue_url);
        let conf = aws_sdk_sqs::config::Builder::from(&config)
            .retry_config(aws_smithy_types::retry::RetryConfig::standard())
            .build();
        SqsQuarantine {
            client: aws_sdk_sqs::Client::from_conf(conf),
            queue_url: queue_url.to_owned(),
            fifo: queue_url.ends_with(".fifo"),
        }
    }

    /// Sends the document (or its parts, in order); returns a description of where it went.
    pub(super) async fn put(
        &self,
        entry: &Entry<'_>,
        document: &[u8],
    ) -> Result<String, QuarantineError> {
        // The document is JSON (UTF-8: a payload that is not is base64): escaping U+FFFE and
        // U+FFFF, which SQS refuses, before it is cut keeps every part within the limit.
        let document = String::from_utf8_lossy(document);
        let document = crate::destination::sqs_text(&document);
        let mut messages = Vec::new();
        write_parts(entry.id, document.as_bytes(), MESSAGE_MAX, |m| {
            messages.push(String::from_utf8_lossy(m).into_owned());
        });
        let location = format!("{} ({} messages)", self.queue_url, messages.len());
        for (n, body) in messages.into_iter().enumerate() {
            let mut send = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body);
            if self.fifo {
                // One group keeps the parts in order; the id makes Lambda's retries of the
                // same invocation harmless.
                send = send
                    .message_group_id("rdsaudit-quarantine")
                    .message_deduplication_id(format!("{}-{n}", entry.id));
            }
            send.send().await.map_err(|e| QuarantineError::Write {
                id: entry.id.to_owned(),
                location: location.clone(),
                error: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            })?;
        }
        Ok(location)
    }
}
