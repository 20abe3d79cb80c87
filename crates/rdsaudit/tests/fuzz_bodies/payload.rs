//! Builders for real inputs: gzip from flate2 (independent of the libdeflate we decode with),
//! CloudWatch Logs envelopes with arbitrary messages (serde_json escapes them) and Lambda Kinesis
//! events (from `rdsaudit_synth`), so hostile tests start from what AWS actually sends.
//!
//! Shared by the fuzz bodies, the stable fuzz runner, the catalogue and the accounting property.

use std::io::Write as _;

use rdsaudit_synth::delivery::{self, KinesisRecord};
pub use rdsaudit_synth::delivery::{base64 as b64, control_message};
use serde_json::json;

/// The log group a test envelope claims to come from.
pub const LOG_GROUP: &str = "/aws/rds/cluster/prod-aurora/audit";

/// A real Aurora audit line (epoch microseconds), as CloudWatch Logs carries it.
pub const AURORA_LINE: &str = "1711200969123456,prod-aurora-instance-1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT \\'a,b\\' FROM t',0";
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

/// A Lambda Kinesis event (built by `rdsaudit_synth`) whose records carry `data` verbatim
/// (normally base64 of a gzip), with sequence numbers `<prefix>0000`, `<prefix>0001`, ...
pub fn kinesis_event(data: &[String]) -> Vec<u8> {
    let records: Vec<_> = data
        .iter()
        .enumerate()
        .map(|(i, data)| KinesisRecord {
            sequence_number: sequence_number(i),
            partition_key: "prod-aurora-instance-1".to_owned(),
            data: data.clone(),
            arrival_ms: 1_711_200_969_123,
        })
        .collect();
    delivery::kinesis_event(&records)
}

/// The sequence number [`kinesis_event`] gives record `i`.
pub fn sequence_number(i: usize) -> String {
    format!("4959033827149025660855969253836157109592157598913658{i:04}")
}
