//! What the address of each destination kind (and of the quarantine) may be, checked at init:
//! the one place each kind's rules live. An empty or impossible name (`sqs:http://`,
//! `sns:arn:aws:sns:us-east-1:1:`, `s3:// /p`) was accepted and failed every record at run time,
//! stalling the shard; AWS refuses any name outside these characters, so refusing it here
//! stops nothing that could work.
//!
//! Each check returns the resource's name (or, for S3, the bucket and the prefix) or, as its
//! error, what is expected, for [`super::DestinationError::InvalidSpec`] and
//! [`crate::quarantine::QuarantineError::Name`].

// A build without every destination (`--no-default-features --features sqs`) uses only some.
#![cfg_attr(
    not(all(
        feature = "sns",
        feature = "eventbridge",
        feature = "kinesis",
        feature = "firehose"
    )),
    allow(dead_code)
)]

/// What an SQS address must be.
const QUEUE_URL: &str = "expected the queue URL, https://sqs.<region>.amazonaws.com/<account>/<queue>, \
     ending in the queue name: 1 to 80 of A-Z a-z 0-9 _ - (a FIFO queue's name ending in .fifo)";
/// What an SNS address must be.
const TOPIC_ARN: &str = "expected the topic ARN, arn:aws:sns:<region>:<account>:<topic>, the \
     topic name 1 to 256 of A-Z a-z 0-9 _ - (a FIFO topic's name ending in .fifo)";
/// What a Kinesis address must be.
const STREAM: &str = "expected the stream name, 1 to 128 of A-Z a-z 0-9 _ . -, or its ARN, \
     arn:aws:kinesis:<region>:<account>:stream/<name>";
/// What a Firehose address must be.
const DELIVERY_STREAM: &str = "expected the delivery stream name, 1 to 64 of A-Z a-z 0-9 _ . -, \
     or its ARN, arn:aws:firehose:<region>:<account>:deliverystream/<name>";
/// What an EventBridge address must be.
const EVENT_BUS: &str = "expected the event bus name, 1 to 256 of A-Z a-z 0-9 / . _ -, or its \
     ARN, arn:aws:events:<region>:<account>:event-bus/<name>";
/// What an S3 address (after `s3://`) must be.
const BUCKET: &str = "expected s3://<bucket>/<prefix>, the bucket name 3 to 255 of a-z A-Z 0-9 . - _ (3 to 63 of a-z 0-9 . - since 2018)";

/// The queue name at the end of an SQS queue URL (`https://sqs.eu-west-1.amazonaws.com/
/// 123456789012/audit.fifo`, or a local endpoint's `http://127.0.0.1:4566/000000000000/q`).
pub(crate) fn queue_url(url: &str) -> Result<&str, &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(QUEUE_URL)?;
    let (host, path) = rest.split_once('/').ok_or(QUEUE_URL)?;
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(QUEUE_URL);
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    fifo_name(name, 80).then_some(name).ok_or(QUEUE_URL)
}

/// The topic name of an SNS topic ARN.
pub(crate) fn topic_arn(arn: &str) -> Result<&str, &'static str> {
    arn_resource(arn, "sns")
        .filter(|name| fifo_name(name, 256))
        .ok_or(TOPIC_ARN)
}

/// The stream name of a Kinesis address: a name, or an ARN ending in `stream/<name>`.
pub(crate) fn stream(address: &str) -> Result<&str, &'static str> {
    name_or_arn(address, "kinesis", "stream/", 128, dotted_name_char).ok_or(STREAM)
}

/// The delivery stream name of a Firehose address: a name, or an ARN ending in
/// `deliverystream/<name>`.
pub(crate) fn delivery_stream(address: &str) -> Result<&str, &'static str> {
    name_or_arn(address, "firehose", "deliverystream/", 64, dotted_name_char).ok_or(DELIVERY_STREAM)
}

/// The bus name of an EventBridge address: a name (a partner bus's holds `/`), or an ARN ending
/// in `event-bus/<name>`.
pub(crate) fn event_bus(address: &str) -> Result<&str, &'static str> {
    name_or_arn(address, "events", "event-bus/", 256, |c| {
        dotted_name_char(c) || c == '/'
    })
    .ok_or(EVENT_BUS)
}

/// The bucket and the prefix (as written) of an S3 address, what follows `s3://`:
/// `<bucket>` or `<bucket>/<prefix>`.
pub(crate) fn bucket_and_prefix(address: &str) -> Result<(&str, &str), &'static str> {
    let (bucket, prefix) = address.split_once('/').unwrap_or((address, ""));
    // Buckets made in us-east-1 before March 2018 may hold capitals and `_`, up to 255
    // characters (the S3 user guide's "Legacy bucket naming rules"): they must still be named.
    let valid = (3..=255).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    valid.then_some((bucket, prefix)).ok_or(BUCKET)
}

/// The resource field of `arn:<partition>:<service>:<region>:<account>:<resource>` when the
/// service is `service` (an SQS ARN given for an SNS topic names no topic).
fn arn_resource<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let mut fields = arn.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, arn_service, _region, _account) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if arn_service != service {
        return None;
    }
    fields.next()
}

/// The name of an address that is either a name or an ARN of `service` whose resource is
/// `resource_type` followed by the name; the name 1 to `max` characters, each `allowed`.
fn name_or_arn<'a>(
    address: &'a str,
    service: &str,
    resource_type: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Option<&'a str> {
    let name = if address.starts_with("arn:") {
        arn_resource(address, service)?.strip_prefix(resource_type)?
    } else {
        address
    };
    ((1..=max).contains(&name.len()) && name.chars().all(allowed)).then_some(name)
}

/// An SQS queue or SNS topic name: 1 to `max` of `[A-Za-z0-9_-]`, `.fifo` (counted) allowed at
/// the end.
fn fifo_name(name: &str, max: usize) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    name.len() <= max
        && !base.is_empty()
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// A character of a Kinesis or Firehose stream name: `[A-Za-z0-9_.-]`.
fn dotted_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_end_in_a_queue_name() {
        let longest = "q".repeat(80);
        let longest_url = format!("https://h/1/{longest}");
        let too_long = format!("https://h/1/{longest}q");
        for (url, name) in [
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/audit",
                "audit",
            ),
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/audit-1_x.fifo",
                "audit-1_x.fifo",
            ),
            ("http://127.0.0.1:45931/123456789012/q", "q"),
            (longest_url.as_str(), longest.as_str()),
        ] {
            assert_eq!(queue_url(url), Ok(name), "{url}");
        }
        // advC F2: accepted at init, every record failed at run time.
        for url in [
            "http://",
            "https://",
            "https://sqs.us-east-1.amazonaws.com",
            "https://sqs.us-east-1.amazonaws.com/",
            "https://sqs.us-east-1.amazonaws.com/123456789012/",
            "https:///123456789012/q",
            "https:// /123456789012/q",
            "https://sqs.us-east-1.amazonaws.com/123456789012/.fifo",
            "https://sqs.us-east-1.amazonaws.com/123456789012/a b",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q?x=1",
            "https://sqs.us-east-1.amazonaws.com/123456789012/audit.log",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q\n",
            too_long.as_str(),
            "audit",
            "ftp://h/1/q",
        ] {
            let e = queue_url(url).unwrap_err();
            assert!(e.contains("ending in the queue name"), "{url:?}: {e}");
        }
    }

    #[test]
    fn topic_arns_name_an_sns_topic() {
        for (arn, name) in [
            ("arn:aws:sns:eu-west-1:123456789012:audit", "audit"),
            (
                "arn:aws-cn:sns:cn-north-1:123456789012:a_b-c.fifo",
                "a_b-c.fifo",
            ),
        ] {
            assert_eq!(topic_arn(arn), Ok(name), "{arn}");
        }
        for arn in [
            "arn:aws:sns:us-east-1:1:",
            "arn:aws:sns:us-east-1:1: ",
            "arn:aws:sns:us-east-1:1:a:b",
            "arn:aws:sns:us-east-1:1:.fifo",
            "arn:aws:sqs:us-east-1:1:audit",
            "arn:aws:sns:us-east-1",
            "audit",
        ] {
            let e = topic_arn(arn).unwrap_err();
            assert!(e.starts_with("expected the topic ARN"), "{arn:?}: {e}");
        }
    }

    #[test]
    fn kinesis_streams_are_a_name_or_a_stream_arn() {
        let too_long = "s".repeat(129);
        for (address, name) in [
            ("audit-events", "audit-events"),
            ("a.b_c-1", "a.b_c-1"),
            (
                "arn:aws:kinesis:eu-west-1:123456789012:stream/audit",
                "audit",
            ),
        ] {
            assert_eq!(stream(address), Ok(name), "{address}");
        }
        for address in [
            "arn:aws:kinesis:us-east-1:1:stream/",
            "arn:aws:kinesis:us-east-1:1:audit",
            "arn:aws:firehose:us-east-1:1:stream/audit",
            " /",
            " audit",
            "a/b",
            too_long.as_str(),
        ] {
            let e = stream(address).unwrap_err();
            assert!(
                e.starts_with("expected the stream name"),
                "{address:?}: {e}"
            );
        }
    }

    #[test]
    fn firehose_streams_are_a_name_or_a_delivery_stream_arn() {
        let too_long = "s".repeat(65);
        for (address, name) in [
            ("audit", "audit"),
            (
                "arn:aws:firehose:eu-west-1:123456789012:deliverystream/au.dit",
                "au.dit",
            ),
        ] {
            assert_eq!(delivery_stream(address), Ok(name), "{address}");
        }
        for address in [
            "arn:aws:firehose:us-east-1:1:deliverystream/",
            "arn:aws:firehose:us-east-1:1:stream/audit",
            "arn:aws:kinesis:us-east-1:1:deliverystream/audit",
            "a b",
            too_long.as_str(),
        ] {
            let e = delivery_stream(address).unwrap_err();
            assert!(
                e.starts_with("expected the delivery stream name"),
                "{address:?}: {e}"
            );
        }
    }

    #[test]
    fn event_buses_are_a_name_or_an_event_bus_arn() {
        let too_long = "b".repeat(257);
        for (address, name) in [
            ("default", "default"),
            (
                "aws.partner/example.com/123/audit",
                "aws.partner/example.com/123/audit",
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:event-bus/audit",
                "audit",
            ),
        ] {
            assert_eq!(event_bus(address), Ok(name), "{address}");
        }
        for address in [
            "arn:aws:events:us-east-1:123456789012:event-bus/",
            "arn:aws:events:us-east-1:123456789012:rule/audit",
            "arn:aws:sns:us-east-1:123456789012:event-bus/audit",
            "au dit",
            "audit,x",
            too_long.as_str(),
        ] {
            let e = event_bus(address).unwrap_err();
            assert!(
                e.starts_with("expected the event bus name"),
                "{address:?}: {e}"
            );
        }
    }

    #[test]
    fn s3_addresses_start_with_a_bucket_name() {
        let longest = "b".repeat(255);
        let too_long = "b".repeat(256);
        for (address, bucket, prefix) in [
            ("archive", "archive", ""),
            ("archive/audit/rds/", "archive", "audit/rds/"),
            ("a.b-1/p q", "a.b-1", "p q"),
            // Legacy us-east-1 names.
            ("Archive_2017/p", "Archive_2017", "p"),
            (longest.as_str(), longest.as_str(), ""),
        ] {
            assert_eq!(
                bucket_and_prefix(address),
                Ok((bucket, prefix)),
                "{address}"
            );
        }
        for address in [
            "",
            "/p",
            " /p",
            "ab/p",
            "arch ive/p",
            "arch:ive/p",
            too_long.as_str(),
        ] {
            let e = bucket_and_prefix(address).unwrap_err();
            assert!(e.contains("the bucket name 3 to 255"), "{address:?}: {e}");
        }
    }
}
