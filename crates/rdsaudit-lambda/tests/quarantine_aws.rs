//! The durable quarantines against a real AWS API on 127.0.0.1 (moto's server mode, see
//! `tests/moto`), through the official SDK: the S3 object and the SQS messages hold the whole
//! poison payload, and `rdsaudit::quarantine::read_entries` reads it back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod moto;

use rdsaudit::quarantine::{Entry, EntryKind, read_entries, write_entry};
use rdsaudit_lambda::quarantine::{Quarantine, QuarantineSpec};

/// A poison record of 600 KB (larger than an SQS message) with the characters that break
/// naive encoders, and the noncharacters U+FFFE and U+FFFF, which SQS refuses in a body.
fn poison() -> String {
    (0..600_000u32)
        .map(|i| match i % 97 {
            0 => '"',
            1 => '\\',
            2 => 'é',
            3 => '\u{FFFF}',
            4 => '\u{FFFE}',
            _ => char::from(b'A' + (i % 26) as u8),
        })
        .collect()
}

fn entry<'a>(id: &'a str, payload: &'a [u8]) -> Entry<'a> {
    Entry {
        id,
        request_id: Some("req-7"),
        kind: EntryKind::Record,
        error_kind: "base64",
        reason: "base64: invalid byte",
        record_index: Some(3),
        sequence_number: Some("49630000000000000000000000000000000000000000000000000003"),
        partition_key: Some("db1"),
        log_group: None,
        log_stream: None,
        event_id: None,
        payload,
    }
}

async fn put(spec: &QuarantineSpec, entry: &Entry<'_>) -> String {
    let q = Quarantine::connect_with(spec, moto::loader(&moto::server().endpoint))
        .await
        .unwrap();
    let mut document = Vec::new();
    write_entry(entry, &mut document);
    let mut log = Vec::new();
    q.put(entry, &document, &mut log).await.unwrap();
    String::from_utf8(log).unwrap()
}

#[tokio::test]
async fn an_s3_object_holds_the_whole_payload() {
    let config = moto::config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket().bucket("poison").send().await.unwrap();
    let payload = poison();
    let spec = QuarantineSpec::parse("s3://poison/rdsaudit/").unwrap();
    let log = put(&spec, &entry("req-7-0", payload.as_bytes())).await;

    let list = s3
        .list_objects_v2()
        .bucket("poison")
        .prefix("rdsaudit/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("rdsaudit/dt=") && keys[0].ends_with("/req-7-0.json"),
        "{}",
        keys[0]
    );
    let object = s3
        .get_object()
        .bucket("poison")
        .key(keys[0])
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    let read = read_entries(&body);
    assert_eq!(read.entries.len(), 1, "{:?}", read.errors);
    assert_eq!(read.entries[0].payload, payload.as_bytes());
    // The function log only points at it.
    let pointer: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(pointer["kind"], "quarantined");
    assert_eq!(pointer["location"], format!("s3://poison/{}", keys[0]));
    assert_eq!(pointer["payload_bytes"], payload.len());
}

#[tokio::test]
async fn sqs_messages_hold_the_whole_payload_in_parts() {
    let config = moto::config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name("poison-q")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let payload = poison();
    let spec = QuarantineSpec::parse(&format!("sqs:{url}")).unwrap();
    let log = put(&spec, &entry("req-7-1", payload.as_bytes())).await;
    assert!(log.contains("\"kind\":\"quarantined\""), "{log}");

    let mut bodies = Vec::new();
    loop {
        let answer = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if answer.messages().is_empty() {
            break;
        }
        for m in answer.messages() {
            assert!(m.body().unwrap().len() <= 256 * 1024);
            // Written as the JSON escapes `\ufffe` / `\uffff` (read back as the same text).
            assert!(!m.body().unwrap().contains(['\u{FFFE}', '\u{FFFF}']));
            bodies.push(m.body().unwrap().to_owned());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert!(bodies.len() >= 3, "{}", bodies.len());
    // As `rdsaudit replay` gets them: one body per line, in any order.
    let read = read_entries(bodies.join("\n").as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.entries.len(), 1);
    assert_eq!(read.entries[0].payload, payload.as_bytes());
}
