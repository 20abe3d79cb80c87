//! Builders for real inputs: gzip from flate2, CloudWatch Logs envelopes and Lambda Kinesis
//! events serialised by serde_json, so hostile tests start from what AWS actually sends.
//!
//! Shared by the fuzz bodies, the stable fuzz runner, the catalogue and the accounting property.

use std::io::Write as _;

use base64::Engine as _;
use serde_json::json;

/// The log group a test envelope claims to come from.
pub const LOG_GROUP: &str = "/aws/rds/cluster/prod-aurora/audit";

/// A real Aurora audit line (epoch microseconds), as CloudWatch Logs carries it.
pub const AURORA_LINE: &str =
    "1711200969123456,prod-aurora-instance-1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT \\'a,b\\' FROM t',0";
/// A real RDS for MySQL line (two trailing fields).
pub const RDS_MYSQL_LINE: &str =
    "20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,";
/// A real RDS for MariaDB TABLE line (empty return code).
pub const MARIADB_LINE: &str = "20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,";

/// gzip of `data` by flate2 (level 6, what CloudWatch Logs uses).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(data).expect("write to a Vec");
    encoder.finish().expect("finish to a Vec")
}

/// STANDARD base64 with padding, as Kinesis puts it in `data`.
pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A 56-digit CloudWatch event id, unique per `(record, index)`.
pub fn event_id(record: usize, index: usize) -> String {
    format!("{:056}", record * 100_000 + index)
}

/// A `DATA_MESSAGE` envelope holding one log event per message.
pub fn data_message(record: usize, messages: &[&str]) -> String {
    let events: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            json!({"id": event_id(record, i), "timestamp": 1_711_200_969_000i64 + i as i64, "message": message})
        })
        .collect();
    json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": LOG_GROUP,
        "logStream": "prod-aurora-instance-1",
        "subscriptionFilters": ["audit-to-kinesis"],
        "logEvents": events,
    })
    .to_string()
}

/// The `CONTROL_MESSAGE` CloudWatch Logs sends when a subscription is created.
pub fn control_message() -> String {
    json!({
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 1_711_200_969_000i64,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
    })
    .to_string()
}

/// A Lambda Kinesis event whose records carry `data` verbatim (normally base64 of a gzip).
pub fn kinesis_event(data: &[String]) -> Vec<u8> {
    let records: Vec<_> = data
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let seq = format!("4959033827149025660855969253836157109592157598913658{i:04}");
            json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "8b1e3c6c8c3c1c1d",
                    "sequenceNumber": seq, "data": data,
                    "approximateArrivalTimestamp": 1_711_200_969.123, "encryptionType": "KMS"},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/audit",
            })
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}
