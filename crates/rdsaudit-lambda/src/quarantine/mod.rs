//! Where records that cannot be decoded, log events that are not audit lines and events a
//! destination cannot take go, whole: `RDSAUDIT_QUARANTINE`.
//!
//! | value | where |
//! | --- | --- |
//! | unset | the function log (stdout), one entry per line, or numbered parts under CloudWatch Logs' 256 KB event limit |
//! | `s3://<bucket>/<prefix>` | one object per entry, `<prefix>dt=YYYY-MM-DD/hour=HH/<entry id>.json`, and a pointer line in the function log |
//! | `sqs:<queue url>` | one message per entry, or numbered parts under 256 KiB, and a pointer line in the function log |
//!
//! The entry format (and how to read it back) is [`rdsaudit::quarantine`]; `rdsaudit replay`
//! re-decodes entries from files (see the Lambda README for fetching them with the AWS CLI).
//! Decoding failures are deterministic: a poison record fails the same way on every retry, so
//! it is quarantined and the batch goes on; it never blocks the shard.

use rdsaudit::quarantine::Entry;

use crate::function_log;

#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "sqs")]
mod sqs;

/// A parsed `RDSAUDIT_QUARANTINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineSpec {
    /// The function's own log (the default).
    FunctionLog,
    /// `s3://<bucket>/<prefix>`.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
    /// `sqs:<queue url>`.
    Sqs {
        /// The queue URL.
        queue_url: String,
    },
}

/// Why a quarantine could not be set up or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    /// The value is not one of the accepted forms.
    #[error("expected s3://<bucket>/<prefix> or sqs:<queue url>")]
    Spec,
    /// The binary was built without the cargo feature of that service.
    #[error("quarantine {0} is not built into this binary (cargo feature {0:?})")]
    NotBuilt(&'static str),
    /// The service refused the entry (after the SDK's own retries).
    #[error("writing quarantine entry {id} to {location}: {error}")]
    Write {
        /// The entry's id.
        id: String,
        /// Where it was going.
        location: String,
        /// The service's error.
        error: String,
    },
    /// The invocation's deadline came before the entry was written.
    #[error("writing quarantine entry {id}: stopped at the invocation's deadline")]
    Deadline {
        /// The entry's id.
        id: String,
    },
}

impl QuarantineSpec {
    /// Parses an `RDSAUDIT_QUARANTINE` value.
    pub fn parse(value: &str) -> Result<Self, QuarantineError> {
        let value = value.trim();
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(QuarantineError::Spec);
            }
            return Ok(QuarantineSpec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        match value.strip_prefix("sqs:") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(QuarantineSpec::Sqs {
                    queue_url: url.to_owned(),
                })
            }
            _ => Err(QuarantineError::Spec),
        }
    }
}

/// The quarantine writer, built once at init.
#[derive(Debug)]
#[non_exhaustive]
pub enum Quarantine {
    /// Entries go to the function log.
    FunctionLog,
    /// Entries go to S3.
    #[cfg(feature = "s3")]
    S3(s3::S3Quarantine),
    /// Entries go to SQS.
    #[cfg(feature = "sqs")]
    Sqs(sqs::SqsQuarantine),
}

impl Quarantine {
    /// Connects the writer `spec` names (AWS clients read region, credentials and
    /// `AWS_ENDPOINT_URL*` from the environment).
    pub async fn connect(spec: &QuarantineSpec) -> Result<Self, QuarantineError> {
        #[cfg(feature = "aws")]
        {
            Self::connect_with(
                spec,
                aws_config::defaults(aws_config::BehaviorVersion::latest()),
            )
            .await
        }
        #[cfg(not(feature = "aws"))]
        match spec {
            QuarantineSpec::FunctionLog => Ok(Quarantine::FunctionLog),
            QuarantineSpec::S3 { .. } => Err(QuarantineError::NotBuilt("s3")),
            QuarantineSpec::Sqs { .. } => Err(QuarantineError::NotBuilt("sqs")),
        }
    }

    /// [`Quarantine::connect`] with the AWS configuration `loader` gives (tests: an endpoint
    /// on 127.0.0.1). Each client turns the SDK's standard retries on.
    #[cfg(feature = "aws")]
    pub async fn connect_with(
        spec: &QuarantineSpec,
        loader: aws_config::ConfigLoader,
    ) -> Result<Self, QuarantineError> {
        match spec {
            QuarantineSpec::FunctionLog => Ok(Quarantine::FunctionLog),
            #[cfg(feature = "s3")]
            QuarantineSpec::S3 { bucket, prefix } => Ok(Quarantine::S3(s3::S3Quarantine::new(
                &crate::destination::sdk_config(loader).await,
                bucket,
                prefix,
            ))),
            #[cfg(not(feature = "s3"))]
            QuarantineSpec::S3 { .. } => Err(QuarantineError::NotBuilt("s3")),
            #[cfg(feature = "sqs")]
            QuarantineSpec::Sqs { queue_url } => Ok(Quarantine::Sqs(sqs::SqsQuarantine::new(
                &crate::destination::sdk_config(loader).await,
                queue_url,
            ))),
            #[cfg(not(feature = "sqs"))]
            QuarantineSpec::Sqs { .. } => Err(QuarantineError::NotBuilt("sqs")),
        }
    }

    /// Keeps `entry` (its `document`, see [`rdsaudit::quarantine::write_entry`]) whole;
    /// appends the function-log lines (the entry itself, or a pointer to where it went) to
    /// `log`.
    pub async fn put(
        &self,
        entry: &Entry<'_>,
        document: &[u8],
        log: &mut Vec<u8>,
    ) -> Result<(), QuarantineError> {
        match self {
            Quarantine::FunctionLog => {
                function_log::quarantine_lines(entry, document, log);
                Ok(())
            }
            #[cfg(feature = "s3")]
            Quarantine::S3(q) => {
                let location = q.put(entry, document).await?;
                function_log::quarantined(entry, &location, log);
                Ok(())
            }
            #[cfg(feature = "sqs")]
            Quarantine::Sqs(q) => {
                let location = q.put(entry, document).await?;
                function_log::quarantined(entry, &location, log);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            QuarantineSpec::parse("s3://b/p/q/").unwrap(),
            QuarantineSpec::S3 {
                bucket: "b".into(),
                prefix: "p/q/".into()
            }
        );
        assert_eq!(
            QuarantineSpec::parse("s3://b").unwrap(),
            QuarantineSpec::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert!(matches!(
            QuarantineSpec::parse("sqs:https://sqs.eu-west-1.amazonaws.com/1/q"),
            Ok(QuarantineSpec::Sqs { .. })
        ));
        for bad in ["s3://", "sqs:q", "stdout", "ftp://x"] {
            assert!(QuarantineSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
