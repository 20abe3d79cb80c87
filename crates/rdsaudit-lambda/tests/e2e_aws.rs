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

/// 40 records, each one audit event among 50 log events that are not audit lines (2,000
/// quarantine entries): what a subscription filter on a noisy log group, or failed logins
/// with line breaks in their user names, give.
fn spread_event() -> (Vec<u8>, Vec<String>) {
    let mut junk = Vec::new();
    let records: Vec<Value> = (0..40)
        .map(|r| {
            let mut lines: Vec<String> = (0..50).map(|l| format!("junk {r} {l}, \"x\"")).collect();
            junk.extend(lines.iter().cloned());
            lines.insert(
                25,
                format!("20240615 10:31:00,db1,app,10.0.0.7,43,{r},QUERY,shop,'SELECT {r}',0"),
            );
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let data = b64(&gzip(&envelope("DATA_MESSAGE", "db1", &refs)));
            let seq = format!("4963000000000000000000000000000000000000000000000{r:07}");
            kinesis_record(Some(&seq), Some(&data), "NONE")
        })
        .collect();
    (kinesis_event(&records), junk)
}

/// Runs `events` as invocations of one function whose deadline is `deadline` away.
fn run_all(
    env: &[(&str, String)],
    events: Vec<Vec<u8>>,
    deadline: std::time::Duration,
) -> (Vec<Value>, Output) {
    let api = RuntimeApi::start();
    api.set_deadline(deadline);
    let n = events.len();
    for (i, event) in events.into_iter().enumerate() {
        api.enqueue(&format!("req-{i}"), event);
    }
    let config: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (posts, function) = Function::start(&api, &config).wait_posts(&api, n);
    let output = function.stop();
    assert!(
        posts.iter().all(|p| p.kind == PostKind::Response),
        "{output:?}"
    );
    (posts.iter().map(|p| p.json()).collect(), output)
}

/// Adversarial review 30 (F1): every non-audit line was its own `PutObject`, one after the
/// other; 2,000 of them did not fit the invocation, its deadline came before the slice was
/// delivered, and the retry started over with new entry ids: no progress, thousands of
/// duplicate objects, the shard blocked. Packed, the slice's entries are one object, named
/// after its first entry's stable id: the retry writes the same object again.
#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_unparsed_lines_are_one_s3_object_and_a_retry_rewrites_it() {
    let moto = moto::server();
    let config = moto::config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket()
        .bucket("quar-spread")
        .send()
        .await
        .unwrap();
    let (event, junk) = spread_event();
    let mut env = aws_env(&moto.endpoint);
    env.push(("RDSAUDIT_QUARANTINE", "s3://quar-spread/q/".to_owned()));
    let events = vec![event.clone(), event.clone()];
    let (responses, output) = tokio::task::spawn_blocking(move || {
        run_all(&env, events, std::time::Duration::from_secs(5))
    })
    .await
    .unwrap();
    for response in &responses {
        let stops = output.kind("retry_from");
        assert_eq!(response, &json!({"batchItemFailures": []}), "{stops:?}");
    }
    // Each invocation delivered its 40 events (stdout).
    assert_eq!(output.events().len(), 80);
    for s in output.kind("summary") {
        assert_eq!(
            (&s["quarantined"], &s["delivered_events"], &s["balanced"]),
            (&json!(2000), &json!(40), &json!(true))
        );
    }
    let list = s3
        .list_objects_v2()
        .bucket("quar-spread")
        .prefix("q/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{} objects", keys.len());
    let body = s3
        .get_object()
        .bucket("quar-spread")
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
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    let payloads: Vec<String> = read
        .entries
        .iter()
        .map(|e| String::from_utf8(e.payload.clone()).unwrap())
        .collect();
    assert_eq!(payloads, junk);
    // Every pointer line of both invocations names that object.
    let pointers = output.kind("quarantined");
    assert_eq!(pointers.len(), 4000);
    let location = format!("s3://quar-spread/{}", keys[0]);
    assert!(pointers.iter().all(|p| p["location"] == location.as_str()));
}

/// The same with an SQS quarantine: the entries go in as few messages as fit 256 KiB (they
/// were one message each), and read back as `rdsaudit replay` reads them.
#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_unparsed_lines_are_a_few_sqs_messages() {
    let moto = moto::server();
    let config = moto::config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name("quar-spread")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let (event, junk) = spread_event();
    let mut env = aws_env(&moto.endpoint);
    env.push(("RDSAUDIT_QUARANTINE", format!("sqs:{url}")));
    let (responses, output) = tokio::task::spawn_blocking(move || {
        run_all(&env, vec![event], std::time::Duration::from_secs(5))
    })
    .await
    .unwrap();
    let stops = output.kind("retry_from");
    assert_eq!(responses[0], json!({"batchItemFailures": []}), "{stops:?}");
    assert_eq!(output.events().len(), 40);
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
            bodies.push(m.body().unwrap().to_owned());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert!(bodies.len() <= 10, "{} messages", bodies.len());
    let read = rdsaudit::quarantine::read_entries(bodies.join("\n").as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    let mut payloads: Vec<String> = read
        .entries
        .iter()
        .map(|e| String::from_utf8(e.payload.clone()).unwrap())
        .collect();
    payloads.sort();
    let mut want = junk;
    want.sort();
    assert_eq!(payloads, want);
}
