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
}

impl Quarantine {
    /// Connects the writer `spec` names (AWS clients read region, credentials and
    /// `AWS_ENDPOINT_URL*` from the environment).
    pub async fn connect(spec: &QuarantineSpec) -> Result<Self, QuarantineError> {
        match spec {
            QuarantineSpec::FunctionLog => Ok(Quarantine::FunctionLog),
            QuarantineSpec::S3 { .. } => Err(QuarantineError::NotBuilt("s3")),
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
