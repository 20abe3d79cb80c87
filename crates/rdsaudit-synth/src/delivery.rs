//! Packaging a corpus the ways it reaches us: a plain RDS log file, CloudWatch Logs
//! subscription envelopes (JSON), their gzip payloads, a Lambda Kinesis event and a direct
//! `awslogs` Lambda event. Gzip is libdeflate at level 6, the level CloudWatch uses.

use std::io::Write as _;

use base64::Engine as _;

use super::{Corpus, Record};
use rdsaudit::sink::json_str;

/// The AWS account that owns the synthetic log groups.
pub const OWNER: &str = "123456789012";

/// One record of a Kinesis event, `data` already base64 (tests put broken data here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisRecord {
    pub sequence_number: String,
    pub partition_key: String,
    pub data: String,
    pub arrival_ms: i64,
}

impl Corpus {
    /// The lines as an RDS audit log file: one per line, newline-terminated.
    pub fn plain_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.lines() {
            out.extend_from_slice(&line.line);
            out.push(b'\n');
        }
        out
    }

    /// One Kinesis record per corpus record, each holding its gzip payload.
    pub fn kinesis_records(&self) -> Vec<KinesisRecord> {
        self.records
            .iter()
            .map(|r| KinesisRecord {
                sequence_number: r.sequence_number.clone(),
                partition_key: r.log_stream.clone(),
                data: base64(&gzip(&r.envelope())),
                arrival_ms: r
                    .lines
                    .last()
                    .map_or(0, |l| l.cloudwatch_timestamp_ms + 180),
            })
            .collect()
    }

    /// The Lambda event for the whole corpus.
    pub fn kinesis_event(&self) -> Vec<u8> {
        kinesis_event(&self.kinesis_records())
    }
}

impl Record {
    /// The decompressed CloudWatch Logs subscription payload (`DATA_MESSAGE`). Lines that are
    /// not UTF-8 arrive lossily converted: CloudWatch stores text.
    pub fn envelope(&self) -> Vec<u8> {
        envelope(
            &self.log_group,
            &self.log_stream,
            self.lines.iter().map(|line| LogEvent {
                id: &line.event_id,
                timestamp_ms: line.cloudwatch_timestamp_ms,
                message: &line.line,
            }),
        )
    }
}

/// One log event of a CloudWatch Logs subscription payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// `id`: 56 digits ([`event_id`]).
    pub id: &'a str,
    /// `timestamp`: epoch milliseconds.
    pub timestamp_ms: i64,
    /// `message`: the audit line (lossily UTF-8, as CloudWatch stores text).
    pub message: &'a [u8],
}

/// A `DATA_MESSAGE` payload for `events` of one log stream, as CloudWatch Logs writes it.
pub fn envelope<'a>(
    log_group: &str,
    log_stream: &str,
    events: impl IntoIterator<Item = LogEvent<'a>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    envelope_head(&mut out, log_group, log_stream, "DATA_MESSAGE");
    for (i, event) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            r#"{{"id":"{}","timestamp":{},"message":"#,
            event.id, event.timestamp_ms
        );
        json_str(&mut out, &String::from_utf8_lossy(event.message));
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// A 56-digit CloudWatch Logs event id: the event's millisecond time, then a counter, so ids
/// are unique and increase with time like real ones
/// (`37605431982366218745392619003296741302869208427839209472`).
pub fn event_id(timestamp_ms: i64, counter: u64) -> String {
    format!("{timestamp_ms:013}{counter:043}")
}

/// A 56-digit Kinesis sequence number, increasing with `index`, like
/// `49590338271490256608559692538361571095921575989136588898`.
pub fn sequence_number(seed: u64, index: usize) -> String {
    format!("4959{:032}{:020}", seed % 10u64.pow(16), index)
}

/// What Firehose writes to S3 from a subscription: the gzip payloads back to back, one gzip
/// member each, no separator.
pub fn firehose_object(payloads: &[Vec<u8>]) -> Vec<u8> {
    payloads.iter().flat_map(|p| gzip(p)).collect()
}

/// The `CONTROL_MESSAGE` CloudWatch sends to check that a destination is reachable.
pub fn control_message() -> Vec<u8> {
    let mut out = Vec::new();
    envelope_head(&mut out, "", "", "CONTROL_MESSAGE");
    out.extend_from_slice(
        br#"{"id":"","timestamp":1711200968000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}"#,
    );
    out
}

fn envelope_head(out: &mut Vec<u8>, log_group: &str, log_stream: &str, message_type: &str) {
    let _ = write!(
        out,
        r#"{{"messageType":"{message_type}","owner":"{OWNER}","logGroup":"#
    );
    json_str(out, log_group);
    out.extend_from_slice(br#","logStream":"#);
    json_str(out, log_stream);
    out.extend_from_slice(br#","subscriptionFilters":["rds-audit-to-kinesis"],"logEvents":["#);
}

/// A Lambda event from a Kinesis Data Streams event source mapping.
pub fn kinesis_event(records: &[KinesisRecord]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(64 + records.iter().map(|r| r.data.len() + 400).sum::<usize>());
    out.extend_from_slice(br#"{"Records":["#);
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // The partition key is the caller's text (`encode --log-stream`): escaped like any
        // JSON string; the other values are ours (digits, base64).
        out.extend_from_slice(br#"{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"#);
        json_str(&mut out, &r.partition_key);
        let _ = write!(
            out,
            concat!(
                r#","sequenceNumber":"{seq}","#,
                r#""data":"{data}","approximateArrivalTimestamp":{secs}.{ms:03}}},"eventSource":"aws:kinesis","#,
                r#""eventVersion":"1.0","eventID":"shardId-000000000000:{seq}","eventName":"aws:kinesis:record","#,
                r#""invokeIdentityArn":"arn:aws:iam::{owner}:role/rdsaudit","awsRegion":"us-east-1","#,
                r#""eventSourceARN":"arn:aws:kinesis:us-east-1:{owner}:stream/rds-audit"}}"#
            ),
            seq = r.sequence_number,
            data = r.data,
            secs = r.arrival_ms.div_euclid(1000),
            ms = r.arrival_ms.rem_euclid(1000),
            owner = OWNER,
        );
    }
    out.extend_from_slice(b"]}");
    out
}

/// A CloudWatch Logs subscription that invokes Lambda directly: `{"awslogs":{"data":...}}`.
pub fn awslogs_event(gzip_payload: &[u8]) -> Vec<u8> {
    format!(r#"{{"awslogs":{{"data":"{}"}}}}"#, base64(gzip_payload)).into_bytes()
}

/// Standard base64 with padding, as Kinesis and CloudWatch use.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One gzip member at level 6 (libdeflate).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut out = vec![0; compressor.gzip_compress_bound(data.len())];
    // The bound is libdeflate's own worst case, so the only error (no space) cannot happen;
    // an empty result would still fail loudly downstream as a truncated gzip.
    let written = compressor.gzip_compress(data, &mut out).unwrap_or(0);
    out.truncate(written);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::Spec;
    use rdsaudit::audit::event::Dialect;

    #[test]
    fn envelope_is_json_and_gzip_round_trips_with_flate2() {
        let corpus = Corpus::generate(&Spec::new(Dialect::MariaDb));
        let record = &corpus.records[0];
        let json = record.envelope();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["logGroup"], "/aws/rds/instance/mariadb-prod/audit");
        assert_eq!(v["logEvents"].as_array().unwrap().len(), 10);
        let id = v["logEvents"][0]["id"].as_str().unwrap();
        assert_eq!(id.len(), 56);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&json)[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, json);
        let control: serde_json::Value = serde_json::from_slice(&control_message()).unwrap();
        assert_eq!(control["messageType"], "CONTROL_MESSAGE");
    }

    #[test]
    fn kinesis_event_shape() {
        let corpus = Corpus::generate(&Spec {
            records: 3,
            ..Spec::new(Dialect::Aurora)
        });
        let v: serde_json::Value = serde_json::from_slice(&corpus.kinesis_event()).unwrap();
        let records = v["Records"].as_array().unwrap();
        assert_eq!(records.len(), 3);
        let seq = records[2]["kinesis"]["sequenceNumber"].as_str().unwrap();
        assert_eq!(seq.len(), 56);
        assert_eq!(records[2]["eventID"], format!("shardId-000000000000:{seq}"));
        assert!(records[0]["kinesis"]["approximateArrivalTimestamp"].is_f64());
        let data = records[0]["kinesis"]["data"].as_str().unwrap();
        let gz = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    }

    /// `encode --log-stream` is the user's text: a tab or a quote in it stays one JSON string.
    #[test]
    fn a_partition_key_is_escaped() {
        let key = "s\t\"x\\\n";
        let event = kinesis_event(&[KinesisRecord {
            sequence_number: sequence_number(1, 0),
            partition_key: key.to_string(),
            data: base64(b"x"),
            arrival_ms: 1_000,
        }]);
        let v: serde_json::Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(v["Records"][0]["kinesis"]["partitionKey"], key);
    }
}
