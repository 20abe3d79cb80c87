//! Where the decoded events go: one file per destination, selected by `RDSAUDIT_DESTINATION`.
//!
//! | spec | destination |
//! | --- | --- |
//! | `stdout` (the default) | NDJSON lines on stdout, i.e. the function's own log group |
//! | `sqs:<queue url>` | one event per message (FIFO queues: group and de-duplication ids) |
//! | `sns:<topic arn>` | one event per message |
//! | `eventbridge:<bus name or arn>` | one event per entry, `detail-type` = the operation |
//! | `kinesis:<stream name or arn>` | one event per record |
//! | `firehose:<delivery stream>` | one event per record (newline-terminated) |
//! | `s3://<bucket>/<prefix>` | gzip NDJSON objects under `dt=YYYY-MM-DD/hour=HH/` |
//!
//! The contract with the handler: [`Destination::deliver`] sends the items in order and reports
//! how long a prefix of them is delivered. The handler reports the Kinesis record holding the
//! first undelivered item in `batchItemFailures` (the lowest failed sequence number) and
//! delivers nothing after it, so Lambda retries from there: delivery is at least once, and
//! [`Outgoing::dedup_id`] is the key a consumer de-duplicates on.

mod stdout;

#[cfg(feature = "eventbridge")]
mod eventbridge;
#[cfg(feature = "firehose")]
mod firehose;
#[cfg(feature = "kinesis")]
mod kinesis;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "sns")]
mod sns;
#[cfg(feature = "sqs")]
mod sqs;

#[cfg(feature = "eventbridge")]
pub use eventbridge::EventBridge;
#[cfg(feature = "firehose")]
pub use firehose::Firehose;
#[cfg(feature = "kinesis")]
pub use kinesis::Kinesis;
#[cfg(feature = "s3")]
pub use s3::S3;
#[cfg(feature = "sns")]
pub use sns::Sns;
#[cfg(feature = "sqs")]
pub use sqs::Sqs;
pub use stdout::Stdout;

/// One event to deliver, borrowed from the batch being handled.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The event's NDJSON object, without the trailing newline:
    /// `{"timestamp":"2026-11-25T18:54:45.000000Z",...,"operation":"QUERY",...}`.
    pub json: &'a [u8],
    /// Index of the Kinesis record (in the invocation's `Records`) that holds the event.
    pub record: usize,
    /// CloudWatch event id + `-` + the line's index in that log event
    /// (`37305369863776743677097-0`): stable across Lambda's retries of the record.
    pub dedup_id: &'a str,
    /// `serverhost` + `:` + `connection_id` (`vm:10`): one database session.
    pub group: &'a str,
    /// The audit operation (`QUERY`, `CONNECT`, ...).
    pub operation: &'a str,
    /// The event's time, microseconds since the Unix epoch (UTC).
    pub timestamp_us: i64,
}

/// Where the items of one [`Destination::deliver`] call come from; names S3 objects.
#[derive(Debug, Clone, Copy)]
pub struct InvocationInfo<'a> {
    /// The Lambda request id of the invocation.
    pub request_id: &'a str,
    /// The Kinesis shard id (`shardId-000000000000`, from the records' `eventID`), or the
    /// log stream of a direct `awslogs` subscription.
    pub shard_id: &'a str,
}

/// The outcome of one [`Destination::deliver`] call.
#[derive(Debug)]
pub struct Delivery {
    /// How many items are delivered: always a prefix of the items, in order. Items after it
    /// may have been delivered too (then they are delivered again on Lambda's retry).
    pub delivered: usize,
    /// API calls (or batch entries) sent again after throttling, 5xx or a partial failure.
    pub retries: u64,
    /// Why `delivered` is short of the items; `None` when all are delivered.
    pub error: Option<DestinationError>,
    /// Indices (ascending, all below `delivered`) of items larger than the service accepts in
    /// one message or record. They were not sent (never truncated) and count as handled in
    /// `delivered`: the caller must keep each one whole (quarantine) and log a pointer to it.
    pub oversized: Vec<usize>,
}

/// Why a destination could not be built or could not deliver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// `RDSAUDIT_DESTINATION` does not name a destination.
    #[error(
        "unknown destination {spec:?}: expected stdout, sqs:<queue url>, sns:<topic arn>, \
         eventbridge:<bus>, kinesis:<stream>, firehose:<delivery stream> or s3://<bucket>/<prefix>"
    )]
    UnknownSpec {
        /// The value given.
        spec: String,
    },
    /// The destination names a service but its address is not usable.
    #[error("invalid destination {spec:?}: {reason}")]
    InvalidSpec {
        /// The value given.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// This build was compiled without the destination's cargo feature.
    #[error("destination {kind} is not built into this binary (cargo feature {kind:?})")]
    NotBuilt {
        /// The destination kind (`sqs`, `s3`, ...).
        kind: &'static str,
    },
    /// Writing to stdout failed.
    #[error("writing to stdout: {0}")]
    Stdout(#[from] std::io::Error),
}

/// The destination chosen by `RDSAUDIT_DESTINATION`, built once per cold start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Destination {
    /// `stdout`: NDJSON lines on stdout.
    Stdout(Stdout),
    /// `sqs:<queue url>`.
    #[cfg(feature = "sqs")]
    Sqs(Sqs),
    /// `sns:<topic arn>`.
    #[cfg(feature = "sns")]
    Sns(Sns),
    /// `eventbridge:<bus name or arn>`.
    #[cfg(feature = "eventbridge")]
    EventBridge(EventBridge),
    /// `kinesis:<stream name or arn>`.
    #[cfg(feature = "kinesis")]
    Kinesis(Kinesis),
    /// `firehose:<delivery stream>`.
    #[cfg(feature = "firehose")]
    Firehose(Firehose),
    /// `s3://<bucket>/<prefix>`.
    #[cfg(feature = "s3")]
    S3(S3),
}

impl Destination {
    /// Builds the destination a `RDSAUDIT_DESTINATION` value names (see the module table). AWS
    /// clients read their configuration (region, credentials, `AWS_ENDPOINT_URL*`) from the
    /// environment here, once.
    pub async fn from_spec(spec: &str) -> Result<Destination, DestinationError> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "stdout" {
            return Ok(Destination::Stdout(Stdout));
        }
        let (kind, address) = match spec.split_once("://") {
            Some(("s3", rest)) => ("s3", rest),
            _ => spec
                .split_once(':')
                .ok_or_else(|| DestinationError::UnknownSpec {
                    spec: spec.to_owned(),
                })?,
        };
        if address.is_empty() {
            return Err(DestinationError::InvalidSpec {
                spec: spec.to_owned(),
                reason: "the address after the destination kind is empty",
            });
        }
        let kind = KINDS.into_iter().find(|k| *k == kind).ok_or_else(|| {
            DestinationError::UnknownSpec {
                spec: spec.to_owned(),
            }
        })?;
        match kind {
            #[cfg(feature = "sqs")]
            "sqs" => Ok(Destination::Sqs(Sqs::new(address).await?)),
            #[cfg(feature = "sns")]
            "sns" => Ok(Destination::Sns(Sns::new(address).await?)),
            #[cfg(feature = "eventbridge")]
            "eventbridge" => Ok(Destination::EventBridge(EventBridge::new(address).await?)),
            #[cfg(feature = "kinesis")]
            "kinesis" => Ok(Destination::Kinesis(Kinesis::new(address).await?)),
            #[cfg(feature = "firehose")]
            "firehose" => Ok(Destination::Firehose(Firehose::new(address).await?)),
            #[cfg(feature = "s3")]
            "s3" => Ok(Destination::S3(S3::new(address).await?)),
            // A kind whose cargo feature is off in this build.
            not_built => Err(DestinationError::NotBuilt { kind: not_built }),
        }
    }

    /// Sends the items in order; never truncates one. See [`Delivery`] for what is reported.
    /// `info` names S3 objects (one per invocation and shard) and is otherwise unused.
    #[cfg_attr(not(feature = "s3"), allow(unused_variables))]
    pub async fn deliver(&self, items: &[Outgoing<'_>], info: &InvocationInfo<'_>) -> Delivery {
        match self {
            Destination::Stdout(d) => d.deliver(items),
            #[cfg(feature = "sqs")]
            Destination::Sqs(d) => d.deliver(items).await,
            #[cfg(feature = "sns")]
            Destination::Sns(d) => d.deliver(items).await,
            #[cfg(feature = "eventbridge")]
            Destination::EventBridge(d) => d.deliver(items).await,
            #[cfg(feature = "kinesis")]
            Destination::Kinesis(d) => d.deliver(items).await,
            #[cfg(feature = "firehose")]
            Destination::Firehose(d) => d.deliver(items).await,
            #[cfg(feature = "s3")]
            Destination::S3(d) => d.deliver(items, info).await,
        }
    }
}

/// The destination kinds, as written before `:` (or `://` for `s3`).
const KINDS: [&str; 6] = ["sqs", "sns", "eventbridge", "kinesis", "firehose", "s3"];
