//! Lambda events for the tests: the recorded fixtures of `corpus/kinesis/` (real MariaDB audit
//! logs, gzip by Python), records built here with flate2's gzip, and poison records. The
//! expected NDJSON is computed by an independent decode path (base64 crate, flate2's
//! multi-member gzip, serde_json) feeding the library's line parser and NDJSON sink.

use std::io::{Read, Write};
use std::path::PathBuf;

use base64::Engine as _;
use rdsaudit::AuditEvent;
use rdsaudit::audit::event::Provenance;
use rdsaudit::sink::NdjsonWriter;
use serde_json::{Value, json};

pub fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/kinesis")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A CloudWatch Logs subscription payload (JSON) holding `lines`.
pub fn envelope(message_type: &str, log_stream: &str, lines: &[&str]) -> Vec<u8> {
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({"id": format!("3758376827739062468726826713424089744591843451231{i:07}"),
                   "timestamp": 1_711_200_969_000i64 + i as i64, "message": l})
        })
        .collect();
    serde_json::to_vec(&json!({
        "messageType": message_type, "owner": "123456789012",
        "logGroup": "/aws/rds/instance/db1/audit", "logStream": log_stream,
        "subscriptionFilters": ["rdsaudit"], "logEvents": events,
    }))
    .unwrap()
}

/// One element of `Records`; `None` leaves the field out.
pub fn kinesis_record(
    sequence_number: Option<&str>,
    data: Option<&str>,
    encryption_type: &str,
) -> Value {
    let mut kinesis = json!({"kinesisSchemaVersion": "1.0", "partitionKey": "db1",
        "approximateArrivalTimestamp": 1_711_200_970.25, "encryptionType": encryption_type});
    if let Some(seq) = sequence_number {
        kinesis["sequenceNumber"] = json!(seq);
    }
    if let Some(data) = data {
        kinesis["data"] = json!(data);
    }
    json!({"kinesis": kinesis, "eventSource": "aws:kinesis", "eventVersion": "1.0",
        "eventID": format!("shardId-000000000000:{}", sequence_number.unwrap_or("")),
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/rdsaudit",
        "awsRegion": "eu-west-1", "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/rds-audit"})
}

/// The `Records` of a Kinesis event.
pub fn records_of(event: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(event).unwrap();
    v["Records"].as_array().unwrap().clone()
}

pub fn kinesis_event(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

pub fn awslogs_event(data: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"awslogs": {"data": data}})).unwrap()
}

/// The event lines the function must print for `event` (Kinesis or awslogs), in order, for
/// the events `keep` accepts. Records the independent path cannot decode are skipped.
pub fn expected_events(event: &[u8], keep: impl Fn(&AuditEvent<'_>) -> bool) -> Vec<Value> {
    let v: Value = serde_json::from_slice(event).unwrap();
    let payloads: Vec<(Option<String>, String)> = match v.get("Records") {
        Some(records) => records
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| {
                let k = &r["kinesis"];
                Some((
                    k["sequenceNumber"].as_str().map(str::to_owned),
                    k["data"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        None => vec![(None, v["awslogs"]["data"].as_str().unwrap().to_owned())],
    };
    let mut out = Vec::new();
    let mut writer = NdjsonWriter::new();
    for (seq, data) in &payloads {
        let Some(json) = decode(data) else { continue };
        let Ok(envelope) = serde_json::from_slice::<Value>(&json) else {
            continue;
        };
        if envelope["messageType"] != "DATA_MESSAGE" {
            continue;
        }
        // The window rule across the envelope's log events (docs/HOSTILE.md rule 4): the
        // messages read as the text they came from, a break after each (unless it kept its
        // own); an event within 4 KiB of a message that does not read is flagged.
        let (mut at, mut dirty, mut kept) = (0u64, Vec::new(), Vec::new());
        for log_event in envelope["logEvents"].as_array().unwrap() {
            let message = log_event["message"].as_str().unwrap();
            let own_break = u64::from(message.ends_with('\n'));
            let len = message.len() as u64;
            let span = (at, at + len - own_break);
            at += len + 1 - own_break;
            let Ok(mut event) = rdsaudit::audit::scanner::parse_line(message.as_bytes()) else {
                dirty.push(span);
                continue;
            };
            event.provenance = Provenance {
                log_group: envelope["logGroup"].as_str(),
                log_stream: envelope["logStream"].as_str(),
                event_id: log_event["id"].as_str(),
                cloudwatch_timestamp_ms: log_event["timestamp"].as_i64(),
                sequence_number: seq.as_deref(),
                file: None,
                line_number: None,
            };
            // (The filter sees the event before the window rule: the corpora filtered in the
            // tests read clean.)
            if keep(&event) {
                let mut line = Vec::new();
                writer.write(&event, &mut line);
                kept.push((serde_json::from_slice(&line).unwrap(), span));
            }
        }
        for (mut event, (start, end)) in kept {
            let near = dirty.iter().any(|&(s, e): &(u64, u64)| {
                let gap = if e <= start { start - e } else { s - end };
                gap <= rdsaudit::input::text::MAX_NAMES_BYTES
            });
            if near {
                flag_unlisted(&mut event);
            }
            out.push(event);
        }
    }
    out
}

/// An event's NDJSON with one reading unlisted added (the window rule's flag).
fn flag_unlisted(event: &mut Value) {
    if event.get("alternatives_omitted").is_some() {
        return;
    }
    let readings = event.get("readings").and_then(Value::as_u64).unwrap_or(1) + 1;
    event["ambiguous"] = json!(true);
    event["readings"] = json!(readings);
    event["alternatives_omitted"] = json!(1);
    if event.get("alternatives").is_none() {
        event["alternatives"] = json!([]);
    }
}

fn decode(data: &str) -> Option<Vec<u8>> {
    let gz = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    let mut json = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .ok()?;
    Some(json)
}
