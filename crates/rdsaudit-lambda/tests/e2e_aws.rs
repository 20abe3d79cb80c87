//! The `bootstrap` end to end with AWS on 127.0.0.1 (moto's server mode, see `tests/moto`):
//! events delivered to SQS exactly once with a poison record quarantined whole in S3, and an
//! unreachable destination reported as the lowest sequence number holding an undelivered
//! event.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod moto;
mod support;

use serde_json::{Value, json};
use support::events::*;
use support::runtime_api::{PostKind, RuntimeApi};
use support::{Function, Output};

/// The AWS variables of a function whose clients talk to `endpoint`.
fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

fn run(env: &[(&str, String)], event: Vec<u8>) -> (Value, Output) {
    let api = RuntimeApi::start();
    api.enqueue("req-0", event);
    let config: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (posts, function) = Function::start(&api, &config).wait_posts(&api, 1);
    let output = function.stop();
    assert_eq!(posts[0].kind, PostKind::Response, "{output:?}");
    (posts[0].json(), output)
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_sqs_and_a_poison_record_reaches_the_s3_quarantine() {
    let moto = moto::server();
    let config = moto::config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name("audit-events")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket()
        .bucket("audit-poison")
        .send()
        .await
        .unwrap();

    let mut records = records_of(&corpus("kinesis-event.json"));
    let poison = "H4sI#not*base64".to_owned();
    records.push(kinesis_record(
        Some("49630000000000000000000000000000000000000000000000009999"),
        Some(&poison),
        "NONE",
    ));
    let event = kinesis_event(&records);
    let mut env = aws_env(&moto.endpoint);
    env.push(("RDSAUDIT_DESTINATION", format!("sqs:{url}")));
    env.push(("RDSAUDIT_QUARANTINE", "s3://audit-poison/q/".to_owned()));
    let (response, output) = tokio::task::spawn_blocking(move || run(&env, event.clone()))
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    // Every event once, as the NDJSON the stdout destination would write.
    let mut got = Vec::new();
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
            got.push(serde_json::from_str::<Value>(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let mut want = expected_events(&kinesis_event(&records), |_| true);
    let key = |v: &Value| v.to_string();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got.len(), 174);
    assert_eq!(got, want);

    let list = s3
        .list_objects_v2()
        .bucket("audit-poison")
        .prefix("q/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let body = s3
        .get_object()
        .bucket("audit-poison")
        .key(keys[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let read = rdsaudit::quarantine::read_entries(&body);
    assert_eq!(read.entries[0].payload, poison.as_bytes());
    let s = &output.kind("summary")[0];
    assert_eq!(
        (&s["delivered_events"], &s["quarantined"], &s["balanced"]),
        (&json!(174), &json!(1), &json!(true))
    );
    assert_eq!(output.kind("quarantined").len(), 1);
    assert!(output.events().is_empty(), "events went to SQS, not stdout");
}

#[test]
fn an_unreachable_destination_is_reported_as_the_first_undelivered_record() {
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let records = records_of(&corpus("kinesis-event.json"));
    let first_with_events = records
        .iter()
        .position(|r| {
            !expected_events(&kinesis_event(std::slice::from_ref(r)), |_| true).is_empty()
        })
        .unwrap();
    let seq = records[first_with_events]["kinesis"]["sequenceNumber"].clone();
    let mut env = aws_env(&closed);
    env.push((
        "RDSAUDIT_DESTINATION",
        "sqs:http://127.0.0.1/123456789012/q".to_owned(),
    ));
    let (response, output) = run(&env, kinesis_event(&records));
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": seq}]})
    );
    let stop = &output.kind("retry_from")[0];
    assert_eq!(
        (&stop["stage"], &stop["record_index"]),
        (&json!("delivery"), &json!(first_with_events))
    );
    let s = &output.kind("summary")[0];
    assert_eq!(
        (
            &s["delivered_events"],
            &s["deferred_records"],
            &s["balanced"]
        ),
        (
            &json!(0),
            &json!(records.len() - first_with_events),
            &json!(true)
        )
    );
    assert!(s["delivery_retries"].as_u64().unwrap() > 0);
}
