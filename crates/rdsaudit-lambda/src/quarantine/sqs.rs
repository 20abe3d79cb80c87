//! `RDSAUDIT_QUARANTINE=sqs:<queue url>`: a [`Pack`]'s documents whole, as many to a message
//! as fit 256 KiB, one a line; a document larger than a message in numbered parts, one a
//! message. U+FFFE and U+FFFF are written as JSON escapes (see the SQS destination).
//!
//! One call carries at most 256 KiB (`SendMessageBatch` too counts the sum of its messages
//! against that), so full messages sent one by one take as few calls as the service allows.

use rdsaudit::quarantine::write_parts;

use super::{Pack, QuarantineError};

/// SQS's message size limit (256 KiB) less room for the message attributes.
const MESSAGE_MAX: usize = 256 * 1024 - 1024;

/// A queue.
#[derive(Debug)]
pub struct SqsQuarantine {
    client: aws_sdk_sqs::Client,
    pub(super) queue_url: String,
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

    /// Sends the pack's documents, in order.
    pub(super) async fn send(&self, pack: &Pack) -> Result<(), QuarantineError> {
        let bodies = bodies(pack);
        for (n, body) in bodies.into_iter().enumerate() {
            let mut send = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body);
            if self.fifo {
                // One group keeps the parts in order; the pack's first entry id (stable
                // across Lambda's retries) and the message's number de-duplicate a retry.
                let id = format!("{}-{n}", pack.first_id());
                send = send
                    .message_group_id("rdsaudit-quarantine")
                    .message_deduplication_id(crate::destination::fifo_id(&id));
            }
            send.send().await.map_err(|e| QuarantineError::Write {
                id: pack.first_id().to_owned(),
                location: pack.location.clone(),
                error: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            })?;
        }
        Ok(())
    }
}

/// The message bodies of `pack`: its documents one a line, as many to a body as fit
/// [`MESSAGE_MAX`]; a larger document in numbered parts, one a body.
fn bodies(pack: &Pack) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut body = String::new();
    let mut start = 0;
    for (end, id) in &pack.ends {
        let document = pack.documents.get(start..*end).unwrap_or_default();
        start = *end;
        let document = document.strip_suffix(b"\n").unwrap_or(document);
        // The document is JSON (UTF-8: a payload that is not is base64): escaping U+FFFE and
        // U+FFFF, which SQS refuses, before it is cut keeps every part within the limit.
        let document = String::from_utf8_lossy(document);
        let document = crate::destination::sqs_text(&document);
        if document.len() > MESSAGE_MAX {
            if !body.is_empty() {
                bodies.push(std::mem::take(&mut body));
            }
            write_parts(id, document.as_bytes(), MESSAGE_MAX, |m| {
                bodies.push(String::from_utf8_lossy(m).into_owned());
            });
            continue;
        }
        if !body.is_empty() && body.len() + 1 + document.len() > MESSAGE_MAX {
            bodies.push(std::mem::take(&mut body));
        }
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&document);
    }
    if !body.is_empty() {
        bodies.push(body);
    }
    bodies
}
