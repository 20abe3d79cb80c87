//! End to end with a destination: the real `bootstrap` binary (or `RDSAUDIT_LAMBDA_BIN` under
//! `RDSAUDIT_LAMBDA_RUNNER`, the arm64 build under qemu) against the Runtime API on 127.0.0.1
//! and moto's AWS API on 127.0.0.1, configured only through the environment Lambda would give
//! it: `RDSAUDIT_DESTINATION`, `AWS_ENDPOINT_URL`, `AWS_REGION` and credentials.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod moto;
mod support;

use std::io::Read;

use aws_sdk_sqs::types::QueueAttributeName;
use moto::proxy::{Proxy, Step};
use serde_json::{Value, json};
use support::events::*;
use support::runtime_api::{Post, PostKind, RuntimeApi};
use support::{Function, Output};

const QUERY: &str = "20240615 10:31:00,db1,app,10.0.0.7,43,17,QUERY,shop,'INSERT INTO orders VALUES (1,\\'a,b\\')',0";
const CONNECT: &str = "20240615 10:31:01,db1,app,10.0.0.7,44,0,CONNECT,shop,,0";

fn seq(n: u32) -> String {
    format!("4963000000000000000000000000000000000000000000000009{n:04}")
}

/// A CloudWatch Logs payload of audit lines from two sessions, its log events numbered from
/// `first_id`.
fn payload(first_id: u64) -> String {
    let events: Vec<Value> = [QUERY, CONNECT, QUERY]
        .iter()
        .enumerate()
        .map(|(i, line)| {
            json!({"id": format!("375837682773906246872682671342408974459184345123{:08}", first_id + i as u64),
                   "timestamp": 1_718_447_460_000i64, "message": line})
        })
        .collect();
    let envelope = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012",
        "logGroup": "/aws/rds/instance/db1/audit", "logStream": "db1",
        "subscriptionFilters": ["rdsaudit"], "logEvents": events,
    });
    b64(&gzip(&serde_json::to_vec(&envelope).unwrap()))
}

/// Three records of three log events each; with `redelivered`, the third holds the same log
/// events as the first (CloudWatch Logs delivers at least once).
fn event_with(redelivered: bool) -> Vec<u8> {
    let ids = [0, 3, if redelivered { 0 } else { 6 }];
    let records: Vec<Value> = ids
        .iter()
        .zip(0..)
        .map(|(&id, i)| kinesis_record(Some(&seq(i)), Some(&payload(id)), "NONE"))
        .collect();
    kinesis_event(&records)
}

fn event() -> Vec<u8> {
    event_with(false)
}

/// `n` records of three distinct log events each.
fn records(n: u32) -> Vec<u8> {
    let records: Vec<Value> = (0..n)
        .map(|i| kinesis_record(Some(&seq(i)), Some(&payload(u64::from(i) * 3)), "NONE"))
        .collect();
    kinesis_event(&records)
}

/// Runs the function once on `event` with `config` and the AWS variables for `endpoint`.
fn invoke(config: &[(&str, &str)], endpoint: &str, event: Vec<u8>) -> (Post, Output) {
    invoke_within(config, endpoint, event, None)
}

/// [`invoke`] with the invocation's deadline `deadline` away (none: 15 minutes).
fn invoke_within(
    config: &[(&str, &str)],
    endpoint: &str,
    event: Vec<u8>,
    deadline: Option<std::time::Duration>,
) -> (Post, Output) {
    let mut env = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    env.extend_from_slice(config);
    let api = RuntimeApi::start();
    if let Some(deadline) = deadline {
        api.set_deadline(deadline);
    }
    api.enqueue("req-0", event);
    let (mut posts, function) = Function::start(&api, &env).wait_posts(&api, 1);
    let output = function.stop();
    let post = posts.remove(0);
    assert_eq!(post.kind, PostKind::Response, "{output:?}");
    (post, output)
}

/// What the function writes to stdout for `event` without a destination: the events a
/// destination must receive.
fn stdout_events(event: Vec<u8>) -> Vec<Value> {
    let (_, output) = invoke(&[], &moto::server().endpoint, event);
    output.events()
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(Value::to_string);
    v
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every message of the queue, parsed (received and deleted until an empty receive).
fn drain(rt: &tokio::runtime::Runtime, sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    rt.block_on(async {
        let mut bodies = Vec::new();
        loop {
            let answer = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if answer.messages().is_empty() {
                return bodies;
            }
            for m in answer.messages() {
                bodies.push(serde_json::from_str::<Value>(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    })
}

#[test]
fn events_arrive_in_an_sqs_fifo_queue_once_even_when_cloudwatch_redelivers_them() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let (post, output) = invoke(&config, &moto::server().endpoint, event_with(true));
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    assert!(
        output.events().is_empty(),
        "the events went to SQS, not stdout"
    );
    let bodies = drain(&rt, &sqs, &url);
    // The third record repeats the first one's log events: their de-duplication ids (event id
    // and line) are the same, so SQS keeps the first copy only.
    let all = stdout_events(event_with(true));
    assert_eq!(all.len(), 9);
    let first_copies: Vec<Value> = all
        .iter()
        .filter(|e| e["sequence_number"] != seq(2))
        .cloned()
        .collect();
    assert_eq!(first_copies.len(), 6);
    assert_eq!(sorted(bodies), sorted(first_copies));
}

#[test]
fn the_s3_archive_holds_every_event_under_its_hour() {
    let rt = runtime();
    let s3 = rt.block_on(async { aws_sdk_s3::Client::new(&moto::config().await) });
    rt.block_on(async {
        s3.create_bucket()
            .bucket("e2e-archive")
            .send()
            .await
            .unwrap()
    });
    let config = [("RDSAUDIT_DESTINATION", "s3://e2e-archive/rds")];
    let (post, output) = invoke(&config, &moto::server().endpoint, event());
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    let objects = rt.block_on(async {
        let list = s3
            .list_objects_v2()
            .bucket("e2e-archive")
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for o in list.contents() {
            let key = o.key().unwrap().to_owned();
            let body = s3
                .get_object()
                .bucket("e2e-archive")
                .key(&key)
                .send()
                .await
                .unwrap();
            out.push((key, body.body.collect().await.unwrap().to_vec()));
        }
        out
    });
    assert_eq!(objects.len(), 1, "one hour, one shard: one object");
    let (key, body) = &objects[0];
    assert!(
        key.starts_with("rds/dt=2024-06-15/hour=10/shardId-000000000000-"),
        "{key}"
    );
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, stdout_events(event()), "every event once, in order");
}

#[test]
fn an_unreachable_destination_fails_from_the_first_record() {
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let config = [(
        "RDSAUDIT_DESTINATION",
        "sqs:https://sqs.us-east-1.amazonaws.com/123456789012/gone",
    )];
    let (post, output) = invoke(&config, &closed, event());
    assert_eq!(
        post.json(),
        json!({"batchItemFailures": [{"itemIdentifier": seq(0)}]}),
        "{output:?}"
    );
}

#[test]
fn a_destination_failing_mid_way_fails_from_the_record_of_the_first_undelivered_event() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-half")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    // The first SendMessageBatch (events 0..10) goes through, then SQS is down.
    let proxy = Proxy::start(
        &moto::server().address,
        vec![Step::Forward],
        Step::Unavailable,
    );
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let (post, output) = invoke(&config, &proxy.endpoint, records(5));
    // Event 10 is the second of record 3: Lambda retries from record 3.
    assert_eq!(
        post.json(),
        json!({"batchItemFailures": [{"itemIdentifier": seq(3)}]}),
        "{output:?}"
    );
    let bodies = drain(&rt, &sqs, &url);
    let all = stdout_events(records(5));
    assert_eq!(all.len(), 15);
    assert_eq!(sorted(bodies), sorted(all[..10].to_vec()));
}

/// A destination that takes the second `SendMessageBatch` and never answers, and a deadline
/// 4 s away: the function abandons the call before the deadline and answers in time with the
/// record of the first event not delivered (Lambda retries from it), and its summary;
/// before, it waited past Lambda's timeout, which reports nothing and retries the whole batch.
#[test]
fn a_silent_destination_is_abandoned_before_the_deadline_and_the_rest_reported() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-silent")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    let proxy = Proxy::start(&moto::server().address, vec![Step::Forward], Step::Silent);
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let deadline = std::time::Duration::from_secs(4);
    let (post, output) = invoke_within(&config, &proxy.endpoint, records(5), Some(deadline));
    // Answered before the deadline, after waiting for the silent call until the margin.
    let turnaround = post.turnaround.unwrap();
    assert!(turnaround < deadline, "{turnaround:?}");
    assert!(
        turnaround >= std::time::Duration::from_secs(2),
        "{turnaround:?}"
    );
    // Event 10 is the second of record 3: Lambda retries from record 3.
    assert_eq!(
        post.json(),
        json!({"batchItemFailures": [{"itemIdentifier": seq(3)}]}),
        "{output:?}"
    );
    assert_eq!(proxy.steps(), vec![Step::Forward, Step::Silent]);
    let stopped = output.kind("retry_from");
    assert_eq!(stopped.len(), 1, "{}", output.stdout);
    assert_eq!(stopped[0]["stage"], "deadline", "{}", output.stdout);
    assert_eq!(stopped[0]["sequence_number"], seq(3), "{}", output.stdout);
    let summary = output.kind("summary");
    assert_eq!(summary.len(), 1, "{}", output.stdout);
    assert_eq!(summary[0]["delivered_events"], 10, "{}", output.stdout);
    assert_eq!(summary[0]["deferred_records"], 2, "{}", output.stdout);
    let bodies = drain(&rt, &sqs, &url);
    let all = stdout_events(records(5));
    assert_eq!(sorted(bodies), sorted(all[..10].to_vec()));
}

#[test]
fn a_throttled_destination_is_retried_within_the_invocation() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-throttled")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    let plan = vec![Step::Throttle, Step::Unavailable];
    let proxy = Proxy::start(&moto::server().address, plan, Step::Forward);
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let (post, output) = invoke(&config, &proxy.endpoint, records(4));
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    let summary = output.kind("summary");
    assert_eq!(summary.len(), 1, "{}", output.stdout);
    assert_eq!(summary[0]["delivery_retries"], 2, "{}", output.stdout);
    assert_eq!(summary[0]["delivered_events"], 12, "{}", output.stdout);
    let all = stdout_events(records(4));
    assert_eq!(all.len(), 12);
    assert_eq!(sorted(drain(&rt, &sqs, &url)), sorted(all));
}

#[test]
fn a_quarantine_that_cannot_take_an_entry_fails_from_the_undecodable_record() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-quarantine-down")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    // Record 1 is not gzip: it must go to the quarantine, whose bucket does not exist.
    let records: Vec<Value> = [
        Some(payload(0)),
        Some(b64(b"not a gzip payload")),
        Some(payload(6)),
    ]
    .iter()
    .zip(0..)
    .map(|(data, i)| kinesis_record(Some(&seq(i)), data.as_deref(), "NONE"))
    .collect();
    let destination = format!("sqs:{url}");
    let config = [
        ("RDSAUDIT_DESTINATION", destination.as_str()),
        (
            "RDSAUDIT_QUARANTINE",
            "s3://rdsaudit-no-such-bucket/poison/",
        ),
    ];
    let (post, output) = invoke(&config, &moto::server().endpoint, kinesis_event(&records));
    // Neither lost nor delivered past the record the quarantine could not keep: Lambda
    // retries from record 1, and record 0's events are already in the queue.
    assert_eq!(
        post.json(),
        json!({"batchItemFailures": [{"itemIdentifier": seq(1)}]}),
        "{output:?}"
    );
    let bodies = drain(&rt, &sqs, &url);
    let first = stdout_events(kinesis_event(&records[..1]));
    assert_eq!(first.len(), 3);
    assert_eq!(sorted(bodies), sorted(first), "{output:?}");
    let stops = output.kind("retry_from");
    assert_eq!(stops.len(), 1, "{}", output.stdout);
    assert_eq!(stops[0]["stage"], "quarantine", "{}", output.stdout);
    assert_eq!(stops[0]["record_index"], 1, "{}", output.stdout);
    assert_eq!(stops[0]["sequence_number"], seq(1), "{}", output.stdout);
}

/// A CloudWatch Logs payload of `lines`, the log events' ids as given (`None`: no `id` key,
/// which fails the whole record: the envelope needs one).
fn payload_with_ids(lines: &[(&str, Option<&str>)]) -> String {
    let events: Vec<Value> = lines
        .iter()
        .map(|(line, id)| {
            let mut e = json!({"timestamp": 1_718_447_460_000i64, "message": line});
            if let Some(id) = id {
                e["id"] = json!(id);
            }
            e
        })
        .collect();
    let envelope = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012",
        "logGroup": "/aws/rds/instance/db1/audit", "logStream": "db1",
        "subscriptionFilters": ["rdsaudit"], "logEvents": events,
    });
    b64(&gzip(&serde_json::to_vec(&envelope).unwrap()))
}

/// Session 30 (adv2 F9): log events with an empty id had the de-duplication ids `-0`, `-1`,
/// ... counted from the first of a row of them, the same in every record and again after an
/// event with an id, so an SQS FIFO queue kept one of each and dropped the others.
#[test]
fn log_events_without_ids_reach_an_sqs_fifo_queue_each_once() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-noid.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    let line = |n: u32| {
        format!("20240615 10:31:00,db1,app,10.0.0.7,43,{n},QUERY,shop,'SELECT {n}, \"-0\"',0")
    };
    let lines: Vec<String> = (0..6).map(line).collect();
    let records = [
        payload_with_ids(&[
            (&lines[0], Some("")),
            (
                &lines[1],
                Some("37583768277390624687268267134240897445918434512300000001"),
            ),
            (&lines[2], Some("")),
        ]),
        payload_with_ids(&[
            (&lines[3], Some("")),
            (&lines[4], Some("")),
            (&lines[5], Some("")),
        ]),
    ];
    let records: Vec<Value> = records
        .iter()
        .zip(0..)
        .map(|(data, i)| kinesis_record(Some(&seq(i)), Some(data), "NONE"))
        .collect();
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let (post, output) = invoke(&config, &moto::server().endpoint, kinesis_event(&records));
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    let all = stdout_events(kinesis_event(&records));
    assert_eq!(all.len(), 6);
    assert_eq!(sorted(drain(&rt, &sqs, &url)), sorted(all), "{output:?}");
}

/// Session 30 (adv2 F9): two direct CloudWatch Logs events whose log events have empty ids
/// were archived under the same S3 key (`awslogs--0`), the second overwriting the first. A
/// retry of one writes its own object again.
#[test]
fn awslogs_events_without_ids_are_archived_in_objects_of_their_own() {
    let rt = runtime();
    let s3 = rt.block_on(async { aws_sdk_s3::Client::new(&moto::config().await) });
    rt.block_on(async { s3.create_bucket().bucket("e2e-noid").send().await.unwrap() });
    let config = [("RDSAUDIT_DESTINATION", "s3://e2e-noid/rds")];
    let first = awslogs_event(&payload_with_ids(&[(QUERY, Some(""))]));
    let second = awslogs_event(&payload_with_ids(&[(CONNECT, Some(""))]));
    for event in [&first, &second, &first] {
        let (post, output) = invoke(&config, &moto::server().endpoint, event.clone());
        assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    }
    let objects = rt.block_on(async {
        let list = s3
            .list_objects_v2()
            .bucket("e2e-noid")
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for o in list.contents() {
            let key = o.key().unwrap().to_owned();
            let body = s3
                .get_object()
                .bucket("e2e-noid")
                .key(&key)
                .send()
                .await
                .unwrap();
            let body = body.body.collect().await.unwrap().to_vec();
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .unwrap();
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap()),
            );
        }
        out
    });
    let mut want = stdout_events(first);
    want.extend(stdout_events(second));
    assert_eq!(want.len(), 2);
    assert_eq!(
        sorted(objects),
        sorted(want),
        "two objects, the retry's written again"
    );
}

/// The S3 archive's events, every object's lines parsed, and the number of objects.
fn archived(
    rt: &tokio::runtime::Runtime,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> (Vec<Value>, usize) {
    rt.block_on(async {
        let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        let mut out = Vec::new();
        for o in list.contents() {
            let body = s3
                .get_object()
                .bucket(bucket)
                .key(o.key().unwrap())
                .send()
                .await
                .unwrap();
            let body = body.body.collect().await.unwrap().to_vec();
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .unwrap();
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap()),
            );
        }
        (out, list.contents().len())
    })
}

/// Session 31 (advC F3): a log event whose id spells the key generated for one without an id
/// (`record-<sequence number>-event`, line 0) shared its de-duplication id: an SQS FIFO queue
/// kept one of the two events (`ev_forge1.json`), and the S3 object named after the second
/// record's first event overwrote the first record's (`ev_forge2a/2b.json`). Failed before.
#[test]
fn an_id_spelling_a_generated_key_is_an_event_of_its_own() {
    let rt = runtime();
    let config = moto::config();
    let (sqs, s3) = rt.block_on(async {
        let config = config.await;
        (
            aws_sdk_sqs::Client::new(&config),
            aws_sdk_s3::Client::new(&config),
        )
    });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-forged-id.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    rt.block_on(async {
        s3.create_bucket()
            .bucket("e2e-forged-id")
            .send()
            .await
            .unwrap()
    });
    let forged = format!("record-{}-event", seq(0));
    let line =
        |n: u32| format!("20240615 10:31:00,db1,app,10.0.0.7,43,{n},QUERY,shop,'SELECT {n}',0");
    let (first, second) = (line(111), line(222));
    let one = |data: &str, i: u32| kinesis_record(Some(&seq(i)), Some(data), "NONE");
    // One record: a log event without an id, then one whose id spells its key.
    let both = kinesis_event(&[one(
        &payload_with_ids(&[(&first, Some("")), (&second, Some(&forged))]),
        0,
    )]);
    let destination = format!("sqs:{url}");
    let (post, output) = invoke(
        &[("RDSAUDIT_DESTINATION", &destination)],
        &moto::server().endpoint,
        both.clone(),
    );
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    let all = stdout_events(both);
    assert_eq!(all.len(), 2);
    assert_eq!(sorted(drain(&rt, &sqs, &url)), sorted(all), "{output:?}");
    // Two invocations: each one's object named after its first event.
    let config = [("RDSAUDIT_DESTINATION", "s3://e2e-forged-id/rds")];
    let mut want = Vec::new();
    for (event, i) in [((&first, ""), 0), ((&second, forged.as_str()), 1)] {
        let event = kinesis_event(&[one(&payload_with_ids(&[(event.0, Some(event.1))]), i)]);
        let (post, output) = invoke(&config, &moto::server().endpoint, event.clone());
        assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
        want.extend(stdout_events(event));
    }
    let (objects, count) = archived(&rt, &s3, "e2e-forged-id");
    assert_eq!((want.len(), count), (2, 2), "{objects:?}");
    assert_eq!(sorted(objects), sorted(want));
}

/// Session 30 (adv2, F4's variant): a queue whose KMS key the function may not use refused
/// every entry at the sender's fault; each event was set aside in the quarantine one by one
/// and the records checkpointed, so fixing the permission delivered nothing. Now the
/// delivery stops at the first record, nothing is quarantined, and the retry after the fix
/// delivers every event.
#[test]
fn a_destination_refusing_every_entry_for_its_kms_key_fails_and_delivers_after_the_fix() {
    let rt = runtime();
    let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&moto::config().await) });
    let url = rt.block_on(async {
        let q = sqs
            .create_queue()
            .queue_name("e2e-kms-denied")
            .send()
            .await
            .unwrap();
        q.queue_url().unwrap().to_owned()
    });
    let destination = format!("sqs:{url}");
    let config = [("RDSAUDIT_DESTINATION", destination.as_str())];
    let proxy = Proxy::start(
        &moto::server().address,
        Vec::new(),
        Step::RefuseEveryEntry("KmsAccessDenied"),
    );
    let (post, output) = invoke(&config, &proxy.endpoint, records(3));
    assert_eq!(
        post.json(),
        json!({"batchItemFailures": [{"itemIdentifier": seq(0)}]}),
        "{output:?}"
    );
    let summary = output.kind("summary");
    assert_eq!(summary[0]["quarantined"], 0, "{}", output.stdout);
    assert_eq!(summary[0]["delivered_events"], 0, "{}", output.stdout);
    let stops = output.kind("retry_from");
    assert_eq!(stops[0]["record_index"], 0, "{}", output.stdout);
    assert!(
        stops[0]["error"]
            .as_str()
            .unwrap()
            .contains("KmsAccessDenied"),
        "{}",
        output.stdout
    );
    assert!(drain(&rt, &sqs, &url).is_empty());
    // The permission fixed: Lambda's retry of the same records delivers them all.
    let (post, output) = invoke(&config, &moto::server().endpoint, records(3));
    assert_eq!(post.json(), json!({"batchItemFailures": []}), "{output:?}");
    let all = stdout_events(records(3));
    assert_eq!(all.len(), 9);
    assert_eq!(sorted(drain(&rt, &sqs, &url)), sorted(all));
}
