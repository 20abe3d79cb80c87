//! End to end: the real `bootstrap` binary, the real `lambda_runtime` client, HTTP to a
//! Runtime API server on 127.0.0.1, recorded and built events, poison records.
//!
//! `RDSAUDIT_LAMBDA_BIN` / `RDSAUDIT_LAMBDA_RUNNER` run another build (arm64 under qemu, see
//! `lambda/scripts/build-arm64.sh`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use rdsaudit::filter::{Filter, FilterSpec};
use rdsaudit_sql::filter::{EventFilter, SemanticSpec};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use support::events::*;
use support::runtime_api::{Post, PostKind, RuntimeApi};
use support::{Function, Output};

/// A Kinesis sequence number (56 digits) of our own records.
fn seq(n: u32) -> String {
    format!("4963000000000000000000000000000000000000000000000009{n:04}")
}

const QUERY: &str = "20240615 10:31:00,db1,app,10.0.0.7,43,17,QUERY,shop,'INSERT INTO orders VALUES (1,\\'a,b\\')',0";
const CONNECT: &str = "20240615 10:31:01,db1,app,10.0.0.7,43,0,CONNECT,shop,,0";

/// Runs the function on `events` (one invocation each) and returns the posts and its output.
fn invoke(config: &[(&str, &str)], events: Vec<Vec<u8>>) -> (Vec<Post>, Output) {
    let api = RuntimeApi::start();
    let count = events.len();
    for (i, event) in events.into_iter().enumerate() {
        api.enqueue(&format!("req-{i}"), event);
    }
    let (posts, function) = Function::start(&api, config).wait_posts(&api, count);
    let output = function.stop();
    for (i, post) in posts.iter().enumerate() {
        assert_eq!(post.request_id, format!("req-{i}"), "{output:?}");
    }
    (posts, output)
}

fn response(post: &Post) -> Value {
    assert_eq!(
        post.kind,
        PostKind::Response,
        "{}",
        String::from_utf8_lossy(&post.body)
    );
    post.json()
}

fn no_failures() -> Value {
    json!({"batchItemFailures": []})
}

fn summary(output: &Output) -> Value {
    let mut s = output.kind("summary");
    assert_eq!(s.len(), 1, "{}", output.stdout);
    s.remove(0)
}

/// Poison records, each with its sequence number and the `error_kind` it must be logged with.
fn poison() -> Vec<(Value, &'static str)> {
    let gz = gzip(&envelope("DATA_MESSAGE", "db1", &[QUERY]));
    vec![
        (
            kinesis_record(Some(&seq(100)), Some("H4sI#not*base64"), "NONE"),
            "base64",
        ),
        (
            kinesis_record(Some(&seq(101)), Some(&b64(b"plain text, not gzip")), "NONE"),
            "gzip",
        ),
        (
            kinesis_record(Some(&seq(102)), Some(&b64(&gz[..gz.len() / 2])), "KMS"),
            "gzip",
        ),
        (kinesis_record(Some(&seq(103)), None, "NONE"), "shape"),
        (
            kinesis_record(
                Some(&seq(104)),
                Some(&b64(&gzip(b"{\"messageType\":"))),
                "NONE",
            ),
            "envelope",
        ),
    ]
}

#[test]
fn kinesis_corpus_and_poison_records_are_quarantined() {
    let mut records = records_of(&corpus("kinesis-event.json"));
    let poison = poison();
    records.extend(poison.iter().map(|(r, _)| r.clone()));
    // Not poison: an encryptionType aws_lambda_events would reject, a non-audit line, a
    // CONTROL_MESSAGE built here.
    let mixed = envelope(
        "DATA_MESSAGE",
        "db1",
        &[QUERY, "not an audit line", CONNECT],
    );
    records.push(kinesis_record(
        Some(&seq(200)),
        Some(&b64(&gzip(&mixed))),
        "SOME_FUTURE_TYPE",
    ));
    records.push(kinesis_record(
        Some(&seq(201)),
        Some(&b64(&gzip(&envelope(
            "CONTROL_MESSAGE",
            "",
            &["CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."],
        )))),
        "NONE",
    ));
    let event = kinesis_event(&records);

    let (posts, output) = invoke(&[], vec![event.clone()]);
    assert_eq!(response(&posts[0]), no_failures());

    let events = output.events();
    assert_eq!(events, expected_events(&event, |_| true));
    assert_eq!(events.len(), 174 + 2);
    assert_eq!(events.last().unwrap()["sequence_number"], seq(200));

    let malformed = output.kind("malformed_record");
    assert_eq!(malformed.len(), poison.len(), "{}", output.stdout);
    for ((record, kind), line) in poison.iter().zip(&malformed) {
        assert_eq!(line["sequence_number"], record["kinesis"]["sequenceNumber"]);
        assert_eq!(line["error_kind"], *kind, "{line}");
        assert_eq!(line["action"], "quarantine");
        assert!(!line["reason"].as_str().unwrap().is_empty());
        let data = record["kinesis"]["data"].as_str();
        assert_eq!(line["payload_base64"].as_str(), data);
        let sha = data.map(|d| format!("{:x}", Sha256::digest(d.as_bytes())));
        assert_eq!(line["payload_sha256"].as_str(), sha.as_deref());
    }
    let unparsed = output.kind("unparsed_event");
    assert_eq!(unparsed.len(), 1);
    assert_eq!(unparsed[0]["sequence_number"], seq(200));
    assert_eq!(unparsed[0]["excerpt"], "not an audit line");

    let s = summary(&output);
    let expected = json!({
        "records": 17, "data_records": 10, "control_records": 2, "failed_records": 5,
        "quarantined_records": 5, "retried_records": 0, "deferred_records": 0,
        "log_events": 177, "parsed_events": 176, "unparsed_events": 1, "matched_events": 176,
        "balanced": true, "source": "kinesis", "request_id": "req-0",
        "failed_by_kind": {"base64": 1, "gzip": 2, "shape": 1, "envelope": 1},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&s[key], value, "summary {key}: {s}");
    }
    assert!(s["elapsed_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn fail_mode_retries_from_the_first_poison_record() {
    let corpus_records = records_of(&corpus("kinesis-event.json"));
    let no_sequence = kinesis_record(None, Some("!!!"), "NONE");
    let records = vec![
        corpus_records[1].clone(),
        no_sequence,
        corpus_records[2].clone(),
        kinesis_record(Some(&seq(100)), Some("!!!"), "NONE"),
        corpus_records[3].clone(),
        kinesis_record(Some(&seq(101)), Some(&b64(b"not gzip")), "NONE"),
    ];
    let (posts, output) = invoke(
        &[("RDSAUDIT_ON_MALFORMED", "fail")],
        vec![kinesis_event(&records)],
    );

    // Never an empty itemIdentifier: the record without a sequence number is quarantined.
    assert_eq!(
        response(&posts[0]),
        json!({"batchItemFailures": [{"itemIdentifier": seq(100)}]})
    );
    let before = kinesis_event(&[records[0].clone(), records[2].clone()]);
    assert_eq!(output.events(), expected_events(&before, |_| true));
    let malformed = output.kind("malformed_record");
    assert_eq!(malformed.len(), 2);
    assert_eq!(
        (&malformed[0]["action"], &malformed[0]["sequence_number"]),
        (&json!("quarantine"), &Value::Null)
    );
    assert_eq!(
        (&malformed[1]["action"], &malformed[1]["sequence_number"]),
        (&json!("retry"), &json!(seq(100)))
    );
    let s = summary(&output);
    assert_eq!(
        [
            &s["records"],
            &s["failed_records"],
            &s["quarantined_records"],
            &s["retried_records"],
            &s["deferred_records"]
        ],
        [&json!(6), &json!(2), &json!(1), &json!(1), &json!(2)]
    );
    assert_eq!(s["balanced"], true);
}

#[test]
fn direct_cloudwatch_events_and_filters_across_invocations() {
    let awslogs = corpus("awslogs-event.json");
    let kinesis = corpus("kinesis-event.json");
    let config = [
        ("RDSAUDIT_WRITES_ONLY", "true"),
        ("RDSAUDIT_EXCLUDE_USERS", "rdsadmin, nobody"),
    ];
    let fields = Filter::new(&FilterSpec {
        exclude_users: vec!["rdsadmin".into(), "nobody".into()],
        ..FilterSpec::default()
    })
    .unwrap();
    let filter = EventFilter::new(
        fields,
        SemanticSpec {
            writes: true,
            ..SemanticSpec::default()
        },
    );
    let (posts, output) = invoke(
        &config,
        vec![awslogs.clone(), kinesis.clone(), awslogs.clone()],
    );
    for post in &posts {
        assert_eq!(response(post), no_failures());
    }

    let per_source =
        [&awslogs, &kinesis, &awslogs].map(|e| expected_events(e, |ev| filter.matches(ev)));
    let all = per_source.concat();
    assert!(
        !per_source[0].is_empty() && per_source[0].len() < 174,
        "the filter should keep some events"
    );
    assert_eq!(output.events(), all);
    let summaries = output.kind("summary");
    let got: Vec<_> = summaries
        .iter()
        .map(|s| {
            (
                s["request_id"].clone(),
                s["source"].clone(),
                s["matched_events"].clone(),
            )
        })
        .collect();
    let want: Vec<_> = ["awslogs", "kinesis", "awslogs"]
        .iter()
        .enumerate()
        .map(|(i, src)| {
            (
                json!(format!("req-{i}")),
                json!(src),
                json!(per_source[i].len()),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(
        summaries
            .iter()
            .all(|s| s["balanced"] == true && s["parsed_events"] == 174)
    );
}

#[test]
fn a_bad_direct_cloudwatch_event_fails_the_invocation_in_fail_mode() {
    let gz = gzip(&envelope("DATA_MESSAGE", "db1", &[QUERY]));
    let truncated = awslogs_event(&b64(&gz[..gz.len() - 9]));
    let good = awslogs_event(&b64(&gz));
    let (posts, output) = invoke(
        &[("RDSAUDIT_ON_MALFORMED", "fail")],
        vec![truncated, good.clone()],
    );
    assert_eq!(posts[0].kind, PostKind::Error);
    assert_eq!(posts[0].json()["errorType"], "RdsAudit.MalformedRecord");
    assert!(
        posts[0].json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("gzip")
    );
    // The function lives on.
    assert_eq!(response(&posts[1]), no_failures());
    assert_eq!(output.events(), expected_events(&good, |_| true));
    assert_eq!(
        output.kind("malformed_record")[0]["action"],
        "fail_invocation"
    );
}

#[test]
fn an_event_of_another_shape_is_an_invocation_error() {
    let events = vec![
        br#"{"hello":"world"}"#.to_vec(),
        br#"{"Records":"nope"}"#.to_vec(),
        b"[1,2]".to_vec(),
    ];
    let (posts, output) = invoke(&[], events);
    for post in &posts {
        assert_eq!(post.kind, PostKind::Error, "{post:?}");
        assert_eq!(
            post.json()["errorType"],
            "RdsAudit.InvalidEvent",
            "{post:?}"
        );
    }
    assert!(
        posts[1].json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Records")
    );
    assert!(output.lines().is_empty(), "{}", output.stdout);
}

#[test]
fn invalid_configuration_is_reported_to_init_error() {
    let api = RuntimeApi::start();
    api.enqueue("req-0", kinesis_event(&[]));
    let function = Function::start(&api, &[("RDSAUDIT_WRITES_ONLY", "maybe")]);
    let output = function.wait_exit();
    assert!(!output.status.success());
    assert!(
        output.stderr.contains("RDSAUDIT_WRITES_ONLY=\"maybe\""),
        "{}",
        output.stderr
    );
    let posts = api.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].kind, PostKind::InitError);
    assert_eq!(posts[0].error_type.as_deref(), Some("Runtime.InitError"));
    let body = posts[0].json();
    assert_eq!(body["errorType"], "RdsAudit.InvalidConfiguration");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("expected true or false")
    );
}

/// The largest batch a Kinesis event source mapping delivers (`BatchSize` 10,000), spread over
/// two worker threads and several chunks: every event comes out, in order, and the process
/// stays within the smallest Lambda memory size.
#[test]
fn a_maximum_batch_in_parallel_within_128_mb() {
    use rdsaudit_synth::{Corpus, Spec};
    let corpus = Corpus::generate(&Spec::max_lambda_batch(rdsaudit::Dialect::RdsMySql));
    let event = corpus.kinesis_event();
    let api = RuntimeApi::start();
    api.enqueue("req-0", event.clone());
    let (posts, function) = Function::start(&api, &[("RDSAUDIT_THREADS", "2")]).wait_posts(&api, 1);
    let peak_kib = function.peak_rss_kib();
    let output = function.stop();
    assert_eq!(response(&posts[0]), no_failures());

    let events = output.events();
    assert_eq!(events.len(), 10_000);
    assert_eq!(events, expected_events(&event, |_| true));
    let s = summary(&output);
    assert_eq!(
        (&s["records"], &s["data_records"], &s["threads"]),
        (&json!(10_000), &json!(10_000), &json!(2))
    );
    assert_eq!(s["balanced"], true);
    // The arm64 script sets NEON: the SIMD path that ran is checked, not assumed.
    if let Ok(simd) = std::env::var("RDSAUDIT_LAMBDA_EXPECT_SIMD") {
        assert_eq!(s["simd_json"], simd);
    }
    eprintln!(
        "maximum batch: {} records, {} bytes of event, peak RSS {peak_kib} KiB, handler {} ms, simd-json {}",
        s["records"],
        event.len(),
        s["elapsed_ms"],
        s["simd_json"]
    );
    assert!(
        peak_kib < 128 * 1024,
        "peak RSS {peak_kib} KiB exceeds 128 MiB"
    );
}

/// `fail` mode across chunks, one thread: the records before the poison record are written,
/// the ones after it are deferred.
#[test]
fn fail_mode_across_chunks_on_one_thread() {
    use rdsaudit_synth::{Corpus, Spec};
    let corpus = Corpus::generate(&Spec {
        records: 6000,
        lines_per_record: 1,
        ..Spec::new(rdsaudit::Dialect::Aurora)
    });
    let mut records = records_of(&corpus.kinesis_event());
    let poison = 4000;
    // Past the first chunk (1 MiB of payload for one thread).
    let before: usize = records[..poison]
        .iter()
        .map(|r| r["kinesis"]["data"].as_str().unwrap().len())
        .sum();
    assert!(before > 1 << 20, "{before}");
    records[poison]["kinesis"]["data"] = json!(b64(b"not gzip"));
    let poison_seq = records[poison]["kinesis"]["sequenceNumber"].clone();
    let config = [("RDSAUDIT_ON_MALFORMED", "fail"), ("RDSAUDIT_THREADS", "1")];
    let (posts, output) = invoke(&config, vec![kinesis_event(&records)]);

    assert_eq!(
        response(&posts[0]),
        json!({"batchItemFailures": [{"itemIdentifier": poison_seq}]})
    );
    assert_eq!(
        output.events(),
        expected_events(&kinesis_event(&records[..poison]), |_| true)
    );
    let s = summary(&output);
    assert_eq!(
        (&s["data_records"], &s["deferred_records"], &s["threads"]),
        (&json!(poison), &json!(6000 - poison - 1), &json!(1))
    );
    assert_eq!(s["balanced"], true);
}
