//! `RDSAUDIT_QUARANTINE=s3://<bucket>/<prefix>`: one object per entry, its document whole,
//! `<prefix>dt=YYYY-MM-DD/hour=HH/<entry id>.json` (the hour the function wrote it, UTC).

use aws_sdk_s3::primitives::ByteStream;
use rdsaudit::quarantine::Entry;

use super::QuarantineError;
use crate::destination::{key_part, partition};

/// A bucket and key prefix.
#[derive(Debug)]
pub struct S3Quarantine {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
}

impl S3Quarantine {
    /// A writer to `bucket` under `prefix`, with the SDK's standard retries.
    pub(super) fn new(config: &aws_config::SdkConfig, bucket: &str, prefix: &str) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(config)
            .retry_config(aws_smithy_types::retry::RetryConfig::standard())
            .build();
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        S3Quarantine {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: bucket.to_owned(),
            prefix,
        }
    }

    /// Puts the document; returns its `s3://` location.
    pub(super) async fn put(
        &self,
        entry: &Entry<'_>,
        document: &[u8],
    ) -> Result<String, QuarantineError> {
        let key = format!(
            "{}{}{}.json",
            self.prefix,
            partition_now(),
            key_part(entry.id)
        );
        let location = format!("s3://{}/{key}", self.bucket);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .metadata("rdsaudit-entry", entry.kind.as_str())
            .metadata("rdsaudit-error-kind", key_part(entry.error_kind))
            .body(ByteStream::from(document.to_vec()))
            .send()
            .await
            .map_err(|e| QuarantineError::Write {
                id: entry.id.to_owned(),
                location: location.clone(),
                error: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            })?;
        Ok(location)
    }
}

/// `dt=YYYY-MM-DD/hour=HH/` of now, UTC: the archive's partitions.
fn partition_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    partition(i64::try_from(secs / 3600).unwrap_or_default())
}
