//! `RDSAUDIT_QUARANTINE=s3://<bucket>/<prefix>`: one object per [`Pack`], its documents whole,
//! one a line, `<prefix>dt=YYYY-MM-DD/hour=HH/<first entry id>.json` (the hour the function
//! wrote it, UTC). Entry ids are stable, so a retry that quarantines the same records again
//! (in the same hour) writes the same object again instead of a copy.

use super::{Pack, QuarantineError};
use crate::destination::{key_part, partition};
use aws_sdk_s3::primitives::ByteStream;

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

    /// The key of a pack whose first entry is `first_id`.
    pub(super) fn key(&self, first_id: &str) -> String {
        format!(
            "{}{}{}.json",
            self.prefix,
            partition_now(),
            key_part(first_id)
        )
    }

    /// The `s3://` location of `key`.
    pub(super) fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Puts the pack's documents as one object.
    pub(super) async fn put(&self, pack: &Pack) -> Result<(), QuarantineError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&pack.key)
            .content_type("application/x-ndjson")
            .metadata("rdsaudit-entries", pack.ends.len().to_string())
            .body(ByteStream::from(pack.documents.clone()))
            .send()
            .await
            .map_err(|e| QuarantineError::Write {
                id: pack.first_id().to_owned(),
                location: pack.location.clone(),
                error: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            })?;
        Ok(())
    }
}

/// `dt=YYYY-MM-DD/hour=HH/` of now, UTC: the archive's partitions.
fn partition_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    partition(i64::try_from(secs / 3600).unwrap_or_default())
}
