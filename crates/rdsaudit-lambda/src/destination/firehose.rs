//! `firehose:<delivery stream>`: one event per record, sent with `PutRecordBatch`.
//!
//! Each record is the event's NDJSON object and a newline, so the objects Firehose writes to S3
//! are NDJSON.

use std::time::Instant;

use aws_sdk_firehose::types::Record;
use aws_smithy_types::Blob;

use super::aws::{call_error, entry_failure};
use super::batch::{self, BatchApi, CallError, Entry, Limits};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, Outgoing};

/// `PutRecordBatch`: 500 records and 4 MiB per call, 1,000 KiB per record.
const LIMITS: Limits = Limits {
    name: "Firehose",
    entries: 500,
    batch_bytes: 4 * 1024 * 1024,
    entry_bytes: 1_000 * 1024,
};

/// A Firehose delivery stream.
#[derive(Debug)]
pub struct Firehose {
    client: aws_sdk_firehose::Client,
    stream: String,
}

impl Firehose {
    /// `address` is the delivery stream's name, or its ARN
    /// (`arn:aws:firehose:<region>:<account>:deliverystream/<name>`), of which the name is used,
    /// in the ARN's region (`PutRecordBatch` takes only a name: the stream must be of the
    /// function's account).
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        let stream = super::address::delivery_stream(address)
            .map_err(super::invalid(format!("firehose:{address}")))?;
        Ok(Self {
            client: aws_sdk_firehose::Client::new(&super::for_address(config, address)),
            stream: stream.to_owned(),
        })
    }

    /// Puts the items, 500 (or 4 MiB) at a time.
    pub async fn deliver(&self, items: &[Outgoing<'_>], deadline: Option<Instant>) -> Delivery {
        batch::deliver(self, items, deadline).await
    }
}

impl BatchApi for Firehose {
    fn limits(&self) -> Limits {
        LIMITS
    }

    /// The object and its newline.
    fn size(&self, item: &Outgoing<'_>) -> usize {
        item.json.len() + 1
    }

    async fn send(&self, batch: &[&Outgoing<'_>]) -> Result<Vec<Entry>, CallError> {
        let records = batch
            .iter()
            .map(|item| {
                let mut line = Vec::with_capacity(item.json.len() + 1);
                line.extend_from_slice(item.json);
                line.push(b'\n');
                Record::builder()
                    .data(Blob::new(line))
                    .build()
                    .map_err(|e| CallError {
                        retryable: false,
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| call_error(&e))?;
        // The answer's entries are in the order of the request's.
        Ok(answer
            .request_responses()
            .iter()
            .map(|r| match r.error_code() {
                None => Entry::Sent,
                Some(code) => entry_failure(code, r.error_message(), false),
            })
            .collect())
    }
}
