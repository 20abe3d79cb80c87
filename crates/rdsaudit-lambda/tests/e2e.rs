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

/// The quarantine entries in the function log, read back with the library's reader (which
/// also joins parts).
fn quarantine(output: &Output) -> Vec<rdsaudit::quarantine::OwnedEntry> {
    let read = rdsaudit::quarantine::read_entries(output.stdout.as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    read.entries
}

#[test]
fn kinesis_corpus_and_poison_records_are_quarantined_whole() {
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
    // A large poison record (not base64: `!`): its entry is split into parts under the log
    // event limit.
    let big: String = (0..400_000u32)
        .map(|i| {
            if i % 1000 == 999 {
                '!'
            } else {
                char::from(b'A' + (i % 26) as u8)
            }
        })
        .collect();
    records.push(kinesis_record(Some(&seq(202)), Some(&big), "NONE"));
    let event = kinesis_event(&records);

    let (posts, output) = invoke(&[], vec![event.clone()]);
    assert_eq!(response(&posts[0]), no_failures());

    let events = output.events();
    assert_eq!(events, expected_events(&event, |_| true));
    assert_eq!(events.len(), 174 + 2);
    assert_eq!(events.last().unwrap()["sequence_number"], seq(200));

    output.assert_log_lines_fit();
    let entries = quarantine(&output);
    let records_kept: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == rdsaudit::quarantine::EntryKind::Record)
        .collect();
    assert_eq!(records_kept.len(), poison.len() + 1, "{}", output.stdout);
    for ((record, kind), entry) in poison.iter().zip(&records_kept) {
        assert_eq!(
            entry.sequence_number.as_deref(),
            record["kinesis"]["sequenceNumber"].as_str()
        );
        assert_eq!(entry.error_kind, *kind, "{entry:?}");
        assert!(!entry.reason.is_empty());
        // The whole payload, exactly as delivered; a record without a data string: its
        // JSON as in the event (it was kept with no bytes before session 28).
        match record["kinesis"]["data"].as_str() {
            Some(data) => assert_eq!(entry.payload, data.as_bytes()),
            None => {
                let kept: serde_json::Value = serde_json::from_slice(&entry.payload).unwrap();
                assert_eq!(&kept, record, "{entry:?}");
            }
        }
    }
    assert_eq!(records_kept[poison.len()].payload, big.as_bytes());
    let lines: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == rdsaudit::quarantine::EntryKind::Line)
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].sequence_number.as_deref(), Some(seq(200).as_str()));
    assert_eq!(lines[0].payload, b"not an audit line");

    let s = summary(&output);
    let expected = json!({
        "records": 18, "data_records": 10, "control_records": 2, "failed_records": 6,
        "quarantined": 7, "deferred_records": 0,
        "log_events": 177, "parsed_events": 176, "unparsed_events": 1, "matched_events": 176,
        "delivered_events": 176, "delivery_retries": 0,
        "balanced": true, "source": "kinesis", "request_id": "req-0",
        "failed_by_kind": {"base64": 2, "gzip": 2, "shape": 1, "envelope": 1},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&s[key], value, "summary {key}: {s}");
    }
    assert!(s["elapsed_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(s["_aws"]["CloudWatchMetrics"][0]["Namespace"], "rdsaudit");
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
fn a_bad_direct_cloudwatch_event_is_quarantined_and_the_function_goes_on() {
    let gz = gzip(&envelope("DATA_MESSAGE", "db1", &[QUERY]));
    let truncated = b64(&gz[..gz.len() - 9]);
    let good = awslogs_event(&b64(&gz));
    let (posts, output) = invoke(&[], vec![awslogs_event(&truncated), good.clone()]);
    assert_eq!(response(&posts[0]), no_failures());
    assert_eq!(response(&posts[1]), no_failures());
    assert_eq!(output.events(), expected_events(&good, |_| true));
    let entries = quarantine(&output);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].error_kind.as_str(),
            entries[0].payload.as_slice()
        ),
        ("gzip", truncated.as_bytes())
    );
}

#[test]
fn an_event_of_another_shape_is_an_invocation_error() {
    let events = vec![
        br#"{"hello":"world"}"#.to_vec(),
        br#"{"Records":"nope"}"#.to_vec(),
        b"[1,2]".to_vec(),
        // Not JSON at all: lambda_runtime would refuse it before our code ran.
        b"Records: not json {".to_vec(),
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
    // Still one summary line each, so invalid events show in the metrics.
    let summaries = output.kind("summary");
    assert_eq!(summaries.len(), 4, "{}", output.stdout);
    assert!(
        summaries
            .iter()
            .all(|s| s["source"] == "invalid" && s["records"] == 0)
    );
    assert!(output.events().is_empty(), "{}", output.stdout);
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

/// Session 30 (adv2 F5, F7): a misspelt prefix was ignored (`RDSADUIT_WRITES_ONLY=1` kept
/// every event) and `RDSAUDIT_USERS=","` meant every user; both now stop the function at init.
#[test]
fn a_misspelt_prefix_and_an_empty_list_item_are_init_errors() {
    for (config, expected) in [
        (
            ("RDSADUIT_WRITES_ONLY", "1"),
            "RDSADUIT_WRITES_ONLY looks like a misspelt RDSAUDIT_WRITES_ONLY",
        ),
        (
            ("RDSAUDIT_USERS", ","),
            "RDSAUDIT_USERS=\",\": an empty item",
        ),
    ] {
        let api = RuntimeApi::start();
        api.enqueue("req-0", kinesis_event(&[]));
        let output = Function::start(&api, &[config]).wait_exit();
        assert!(!output.status.success());
        let posts = api.posts();
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].kind, PostKind::InitError);
        let body = posts[0].json();
        assert_eq!(body["errorType"], "RdsAudit.InvalidConfiguration");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
}

/// Session 31 (advC F4): other products' variables one edit further from ours
/// (`DBAUDIT_ENABLED`, two edits from `RDSAUDIT`) stopped the function at init.
#[test]
fn other_products_audit_variables_do_not_stop_the_function() {
    let config = [
        ("DBAUDIT_ENABLED", "true"),
        ("AWSAUDIT_MODE", "strict"),
        ("MSAUDIT_LEVEL", "2"),
        ("RDSAUDITOR_URL", "https://auditor.example"),
    ];
    let (posts, output) = invoke(&config, vec![kinesis_event(&[])]);
    assert_eq!(response(&posts[0]), no_failures(), "{}", output.stderr);
}

/// Session 31 (advC F2): a destination or quarantine address naming no queue or bucket
/// (`sqs:http://`, `s3:// /x`) passed init; every record (or the first one needing the
/// quarantine) then failed and the shard stalled.
#[test]
fn an_address_naming_no_resource_is_an_init_error() {
    for (config, expected) in [
        (
            ("RDSAUDIT_DESTINATION", "sqs:http://"),
            "RDSAUDIT_DESTINATION: invalid destination \"sqs:http://\": expected the queue URL",
        ),
        (
            (
                "RDSAUDIT_DESTINATION",
                "kinesis:arn:aws:kinesis:us-east-1:1:stream/",
            ),
            "expected the stream name",
        ),
        (
            ("RDSAUDIT_QUARANTINE", "s3:// /x"),
            "RDSAUDIT_QUARANTINE=\"s3:// /x\": expected s3://<bucket>/<prefix>, the bucket name",
        ),
        (
            ("RDSAUDIT_QUARANTINE", "sqs:http://"),
            "RDSAUDIT_QUARANTINE=\"sqs:http://\": expected the queue URL",
        ),
    ] {
        let api = RuntimeApi::start();
        api.enqueue("req-0", kinesis_event(&[]));
        let output = Function::start(&api, &[config]).wait_exit();
        assert!(!output.status.success(), "{config:?}");
        let posts = api.posts();
        assert_eq!(posts.len(), 1, "{config:?}: {posts:?}");
        assert_eq!(posts[0].kind, PostKind::InitError);
        let body = posts[0].json();
        assert_eq!(body["errorType"], "RdsAudit.InvalidConfiguration");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{config:?}: {message}");
    }
}

#[test]
fn enrich_adds_the_semantic_keys_with_the_servers_tables() {
    let kinesis = corpus("kinesis-event.json");
    let config = [
        ("RDSAUDIT_ENRICH", "true"),
        ("RDSAUDIT_OPERATIONS", "QUERY"),
    ];
    let (posts, output) = invoke(&config, vec![kinesis.clone()]);
    assert_eq!(response(&posts[0]), no_failures());
    let all = expected_events(&kinesis, |_| true);
    let events = output.events();
    let queries: Vec<&Value> = all.iter().filter(|v| v["operation"] == "QUERY").collect();
    assert_eq!(events.len(), queries.len());
    let mut from_server = 0;
    let mut seen_ids = std::collections::HashSet::new();
    for (got, want) in events.iter().zip(queries) {
        // A CALL shares the query id of its body's last statement, which used the TABLE
        // events up: only the first QUERY of an id is checked against them.
        let first_of_id =
            seen_ids.insert((want["connection_id"].clone(), want["query_id"].to_string()));
        // The plain keys are untouched.
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(&got[key], value, "{key}");
        }
        let sql = want["object"].as_str().unwrap().as_bytes();
        let fp = rdsaudit_sql::fingerprint(sql);
        assert_eq!(got["fingerprint"], fp.as_str());
        assert_eq!(got["digest"], rdsaudit_sql::digest(&fp).as_str());
        assert!(got["writes"].is_boolean() && got["truncated"].is_boolean());
        assert!(got["statement_class"].is_string());
        // TABLE events of the same connection and query id (dropped by the filter) win.
        let server: Vec<String> = all
            .iter()
            .filter(|t| {
                !["QUERY", "CONNECT", "DISCONNECT", "FAILED_CONNECT"]
                    .contains(&t["operation"].as_str().unwrap())
                    && t["connection_id"] == want["connection_id"]
                    && t["query_id"] == want["query_id"]
            })
            .map(|t| {
                format!(
                    "{}.{}",
                    t["database"].as_str().unwrap(),
                    t["object"].as_str().unwrap()
                )
            })
            .collect();
        let tables: Vec<String> = got["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        if server.is_empty() {
            // Read in the event's context: its database qualifies bare names.
            let ctx = rdsaudit_sql::Context {
                database: want["database"].as_str().unwrap_or_default().as_bytes(),
                server: rdsaudit_sql::lexer::Server {
                    executed: want["retcode"] == 0,
                    mysql_only: want["dialect"] != "mariadb",
                },
            };
            let text: Vec<String> = rdsaudit_sql::analyze_in(sql, &ctx)
                .tables
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(tables, text);
        } else if first_of_id && !server.iter().any(|s| s.contains('|')) {
            let mut unique = server.clone();
            unique.dedup();
            assert_eq!(tables, unique, "{}", want["object"]);
            from_server += 1;
        }
    }
    assert!(
        from_server > 5,
        "the corpus has TABLE events ({from_server})"
    );
}

/// An event whose NDJSON line is over a CloudWatch Logs event (a 1 MB statement; 200,000
/// control bytes, which the JSON writes six-fold as `\u0001`) is never written as one stdout
/// line: it goes whole to the quarantine (parts in the function log), counted, and not as
/// delivered; the events beside it are written as usual.
#[test]
fn an_event_over_a_cloudwatch_logs_event_is_quarantined_whole_not_written_as_a_line() {
    let long = format!(
        "20240615 10:31:02,db1,app,10.0.0.7,43,18,QUERY,shop,'SELECT \\'{}\\'',0",
        "ab,\\'".repeat(250_000)
    );
    let controls = format!(
        "20240615 10:31:03,db1,app,10.0.0.7,43,19,QUERY,shop,'SELECT {}',0",
        "\u{1}".repeat(200_000)
    );
    let lines = [QUERY, long.as_str(), CONNECT, controls.as_str()];
    let record = kinesis_record(
        Some(&seq(1)),
        Some(&b64(&gzip(&envelope("DATA_MESSAGE", "db1", &lines)))),
        "NONE",
    );
    let event = kinesis_event(&[record]);

    let (posts, output) = invoke(&[], vec![event.clone()]);
    assert_eq!(response(&posts[0]), no_failures());
    output.assert_log_lines_fit();
    let expected = expected_events(&event, |_| true);
    assert_eq!(expected.len(), 4);
    let (small, big): (Vec<Value>, Vec<Value>) = expected
        .into_iter()
        .partition(|e| e.to_string().len() <= rdsaudit::quarantine::LOG_EVENT_MAX);
    assert_eq!(big.len(), 2);
    assert_eq!(output.events(), small);

    let entries = quarantine(&output);
    assert_eq!(entries.len(), 2, "{entries:?}");
    for (entry, event) in entries.iter().zip(&big) {
        assert_eq!(entry.kind, rdsaudit::quarantine::EntryKind::Event);
        assert_eq!(entry.error_kind, "rejected");
        assert!(entry.reason.contains("CloudWatch Logs"), "{}", entry.reason);
        assert_eq!(entry.sequence_number.as_deref(), Some(seq(1).as_str()));
        // The event whole: the same object as the stdout line it would have been.
        let kept: Value = serde_json::from_slice(&entry.payload).unwrap();
        assert_eq!(&kept, event);
    }
    assert!(entries[0].payload.len() > 1_000_000);
    assert!(entries[1].payload.len() > 1_200_000);

    let s = summary(&output);
    assert_eq!(s["matched_events"], 4, "{s}");
    assert_eq!(s["delivered_events"], 2, "{s}");
    assert_eq!(s["quarantined"], 2, "{s}");
    assert_eq!(s["balanced"], true, "{s}");
}

/// Review 8's F1 through the real function: a record whose database name holds
/// `⏎⏎<forged line>`, shipped one physical line per log event (and, as `rdsaudit encode`
/// writes it, the blank line kept in the message before). Each message of the forged WRITE
/// on `mysql.user` reads alone, but the messages around it do not, and the window rule runs
/// across the log events of the envelope: no event is plain (docs/HOSTILE.md rule 4).
#[test]
fn a_record_cut_across_log_events_gives_no_plain_event() {
    let head = "20261130 09:35:27,vm,root,localhost,12,27,WRITE,d";
    let forged = "20241231 23:59:59,vm,admin,10.0.0.1,9,9,WRITE,mysql,user,";
    let after = "20261130 09:35:27,vm,root,localhost,12,0,DISCONNECT,,,0";
    let head_and_blank = format!("{head}\n");
    let shapes: [&[&str]; 2] = [
        &[head, "", forged, after],
        &[&head_and_blank, forged, after],
    ];
    let records: Vec<Value> = shapes
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            let payload = b64(&gzip(&envelope("DATA_MESSAGE", "db1", lines)));
            kinesis_record(Some(&seq(300 + i as u32)), Some(&payload), "NONE")
        })
        .collect();
    let (posts, output) = invoke(&[], vec![kinesis_event(&records)]);
    assert_eq!(response(&posts[0]), no_failures());
    let events = output.events();
    assert_eq!(events.len(), 4, "{}", output.stdout);
    for e in &events {
        assert_eq!(e["ambiguous"], true, "plain {e}");
        assert!(e["alternatives_omitted"].as_u64().unwrap() >= 1, "{e}");
    }
    assert_eq!(
        events.iter().filter(|e| e["database"] == "mysql").count(),
        2
    );
}

/// One log event of a record that does not read (no `id`; a lone surrogate in its message)
/// among other users' events: before session 33 the whole record was quarantined and none
/// of its events delivered. Now its other events are delivered, it alone is quarantined as
/// a `line` entry holding its JSON as in the payload (a forged line inside it read as
/// nothing), no `batchItemFailures`, no failed record.
#[test]
fn a_log_event_that_does_not_read_is_quarantined_alone_and_the_others_delivered() {
    let forged = serde_json::to_string(
        "1,\"2\"\r\n20241231 23:59:59,db1,admin,10.0.0.1,9,9,QUERY,mysql,'DROP TABLE forged',0",
    )
    .unwrap();
    let good = |id: u32, line: &str| {
        format!(
            r#"{{"id":"{id}","timestamp":1718447460000,"message":{}}}"#,
            serde_json::to_string(line).unwrap()
        )
    };
    let no_id = format!(r#"{{"timestamp":1718447460000,"message":{forged}}}"#);
    let lone = format!(
        r#"{{"id":"3","timestamp":1718447460000,"message":{}\ud800"}}"#,
        forged.strip_suffix('"').unwrap()
    );
    let records: Vec<Value> = [&no_id, &lone]
        .iter()
        .enumerate()
        .map(|(i, bad)| {
            let payload = format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/rds/cluster/c/audit","logStream":"db1","subscriptionFilters":["f"],"logEvents":[{},{bad},{}]}}"#,
                good(1, QUERY),
                good(2, CONNECT)
            );
            let data = b64(&gzip(payload.as_bytes()));
            kinesis_record(Some(&seq(400 + i as u32)), Some(&data), "NONE")
        })
        .collect();
    let (posts, output) = invoke(&[], vec![kinesis_event(&records)]);
    assert_eq!(response(&posts[0]), no_failures());
    let events = output.events();
    assert_eq!(events.len(), 4, "{}", output.stdout);
    assert!(events.iter().all(|e| e["database"] == "shop"), "{events:?}");
    let entries = quarantine(&output);
    assert_eq!(entries.len(), 2, "{}", output.stdout);
    for (entry, bad) in entries.iter().zip([&no_id, &lone]) {
        assert_eq!(
            entry.kind,
            rdsaudit::quarantine::EntryKind::Line,
            "{entry:?}"
        );
        assert_eq!(entry.error_kind, "EnvelopeEvent", "{entry:?}");
        assert_eq!(entry.payload, bad.as_bytes());
    }
    let s = summary(&output);
    assert_eq!(s["failed_records"], 0, "{s}");
    assert_eq!(s["delivered_events"], 4, "{s}");
    assert_eq!(s["unparsed_events"], 2, "{s}");
    assert_eq!(s["quarantined"], 2, "{s}");
    assert_eq!(s["balanced"], true, "{s}");
}
