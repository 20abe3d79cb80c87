//! `s3://<bucket>/<prefix>`: the archive. Gzip NDJSON objects under Hive-style partitions of
//! the events' time, one object per delivery (an invocation, or a slice of a large one), shard
//! and hour:
//!
//! `<prefix>/dt=2026-11-25/hour=18/shardId-000000000000-<first event's dedup id>.json.gz`
//!
//! so Athena or Spark read `dt` and `hour` as partition columns. The name comes from the first
//! event in it, not from the request id, so when Lambda retries the same records the object is
//! written again with the same name and content instead of a second copy.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use libdeflater::{CompressionLvl, Compressor};
use rdsaudit::audit::timestamp::civil_from_days;

use super::aws::call_error;
use super::batch::{self, CallError};
use aws_config::SdkConfig;

use super::{Delivery, DestinationError, InvocationInfo, Outgoing};

/// Microseconds in an hour.
const HOUR_US: i64 = 3_600_000_000;

/// An S3 bucket and key prefix.
#[derive(Debug)]
pub struct S3 {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
}

impl S3 {
    /// `address` is what follows `s3://`: `<bucket>` or `<bucket>/<prefix>`.
    pub fn new(address: &str, config: &SdkConfig) -> Result<Self, DestinationError> {
        let (bucket, prefix) = super::address::bucket_and_prefix(address)
            .map_err(super::invalid(format!("s3://{address}")))?;
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        Ok(Self {
            client: aws_sdk_s3::Client::new(config),
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// Writes one object per hour of the items' times, earliest hour first. When an object
    /// cannot be written, the items of it and of the later hours count as not delivered.
    pub async fn deliver(&self, items: &[Outgoing<'_>], info: &InvocationInfo<'_>) -> Delivery {
        let mut hours: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            hours
                .entry(item.timestamp_us.div_euclid(HOUR_US))
                .or_default()
                .push(i);
        }
        let mut delivery = Delivery {
            delivered: items.len(),
            retries: 0,
            error: None,
            rejected: Vec::new(),
        };
        let mut hours = hours.into_iter();
        while let Some((hour, members)) = hours.next() {
            let (result, retries) = self.put(hour, &members, items, info).await;
            delivery.retries += retries;
            if let Err(error) = result {
                let undelivered = std::iter::once(members)
                    .chain(hours.map(|(_, m)| m))
                    .filter_map(|m| m.first().copied());
                delivery.delivered = undelivered.min().unwrap_or(items.len());
                delivery.error = Some(error);
                break;
            }
        }
        delivery
    }

    /// Writes the object of one hour.
    async fn put(
        &self,
        hour: i64,
        members: &[usize],
        items: &[Outgoing<'_>],
        info: &InvocationInfo<'_>,
    ) -> (Result<(), DestinationError>, u64) {
        let first = members.first().and_then(|&i| items.get(i));
        let key = format!(
            "{}{}{}-{}.json.gz",
            self.prefix,
            partition(hour),
            key_part(info.shard_id),
            key_part(first.map_or("", |f| f.dedup_id)),
        );
        // Shared by the attempts, not copied for each.
        let body = match gzip_ndjson(members.iter().filter_map(|&i| items.get(i))) {
            Ok(body) => bytes::Bytes::from(body),
            Err(e) => return (Err(e), 0),
        };
        batch::with_retry("S3", info.deadline, async || -> Result<(), CallError> {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type("application/x-ndjson")
                .metadata("request-id", info.request_id)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| call_error(&e))
        })
        .await
    }
}

/// The Hive-style partition path of an hour since the epoch: `dt=2026-11-25/hour=18/`.
pub(crate) fn partition(hour: i64) -> String {
    let (year, month, day) = civil_from_days(hour.div_euclid(24));
    let hh = hour.rem_euclid(24);
    format!("dt={year:04}-{month:02}-{day:02}/hour={hh:02}/")
}

/// `value` with every byte outside `[A-Za-z0-9._-]` replaced by `_`, for an object name (a log
/// stream name may hold `/`, which would add a folder level under the partition).
pub(crate) fn key_part(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The items as NDJSON (one line each), gzip-compressed in one member.
fn gzip_ndjson<'a>(
    items: impl Iterator<Item = &'a Outgoing<'a>>,
) -> Result<Vec<u8>, DestinationError> {
    let mut ndjson = Vec::new();
    for item in items {
        ndjson.extend_from_slice(item.json);
        ndjson.push(b'\n');
    }
    let mut compressor = Compressor::new(CompressionLvl::default());
    let mut out = vec![0; compressor.gzip_compress_bound(ndjson.len())];
    let len =
        compressor
            .gzip_compress(&ndjson, &mut out)
            .map_err(|e| DestinationError::Refused {
                destination: "S3",
                message: format!("gzip: {e:?}"),
            })?;
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_hive_style_utc_hours() {
        // 2026-11-25T18:54:45Z, the README's event.
        assert_eq!(
            partition(1_795_632_885_000_000 / HOUR_US),
            "dt=2026-11-25/hour=18/"
        );
        assert_eq!(partition(0), "dt=1970-01-01/hour=00/");
        assert_eq!(partition(-1), "dt=1969-12-31/hour=23/");
    }

    #[test]
    fn key_parts_keep_no_folder_separator() {
        assert_eq!(key_part("shardId-000000000001"), "shardId-000000000001");
        assert_eq!(key_part("db/audit:1"), "db_audit_1");
    }
}
