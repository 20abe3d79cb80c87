//! End to end with your own code: the `on_writes` example (a `main` of a few lines passing an
//! `EventHandler` to `rdsaudit_lambda::run_handler`) run as the function against the Runtime
//! API on 127.0.0.1 with the real `lambda_runtime` client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use serde_json::{Value, json};
use support::events::*;
use support::runtime_api::{PostKind, RuntimeApi};
use support::{Function, Output, example};

fn seq(n: u32) -> String {
    format!("4963000000000000000000000000000000000000000000000008{n:04}")
}

/// `QUERY` lines by `app` on connection 43 (RDS for MySQL / MariaDB shape).
fn query(n: u32, sql: &str, retcode: i32) -> String {
    format!(
        "20240615 10:31:{:02},db1,app,10.0.0.7,43,{n},QUERY,shop,'{sql}',{retcode}",
        n % 60
    )
}

/// An Aurora table event.
fn table_event(n: u32, op: &str, table: &str, retcode: i32) -> String {
    format!("1718447460{n:06},aurora-1,app,10.0.0.7,44,{n},{op},shop,{table},{retcode}")
}

/// An Aurora statement (its table events have the same connection and query id).
fn aurora_query(n: u32, sql: &str) -> String {
    format!("1718447460{n:06},aurora-1,app,10.0.0.7,44,{n},QUERY,shop,'{sql}',0")
}

/// Three records: writes on watched and other tables, failed writes, reads, table events.
fn batch() -> Vec<u8> {
    let records: Vec<Vec<String>> = vec![
        vec![
            query(1, "INSERT INTO orders (id, note) VALUES (1, \\'a,b\\')", 0),
            query(2, "SELECT * FROM orders", 0),
            query(3, "UPDATE `shop`.`customers` SET name=\\'x\\'", 0),
            query(4, "INSERT INTO orders VALUES (2)", 1062),
        ],
        vec![
            table_event(5, "WRITE", "payments", 0),
            table_event(6, "READ", "payments", 0),
            query(7, "DELETE FROM shop.orders WHERE id = 1", 0),
        ],
        vec![
            query(8, "REPLACE INTO payments VALUES (3)", 0),
            query(9, "insert ignore into orders values (4)", 0),
        ],
        vec![
            // The server's WRITE and its statement: one reaction.
            table_event(10, "WRITE", "orders", 0),
            aurora_query(10, "INSERT INTO orders VALUES (10)"),
            query(11, "/* from the app */ INSERT INTO orders VALUES (11)", 0),
            // Reads `orders`, changes `archive` (not watched).
            query(12, "INSERT INTO archive SELECT * FROM orders", 0),
            // User `u` in database `shop,l,1,2,QUERY,shop`, or user `u,l,1,2,QUERY,shop` in
            // `shop`: one reading may be forged.
            "20240615 10:31:13,db1,u,l,1,2,QUERY,shop,l,1,2,QUERY,shop,'INSERT INTO orders VALUES (13)',0".to_owned(),
        ],
    ];
    let values: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let payload = b64(&gzip(&envelope("DATA_MESSAGE", "db1", &refs)));
            kinesis_record(Some(&seq(i as u32)), Some(&payload), "NONE")
        })
        .collect();
    kinesis_event(&values)
}

fn run(config: &[(&str, &str)]) -> (Value, Output) {
    let api = RuntimeApi::start();
    api.enqueue("req-0", batch());
    let function = Function::start_bin(&example("on_writes"), &api, config);
    let (posts, function) = function.wait_posts(&api, 1);
    let output = function.stop();
    assert_eq!(posts[0].kind, PostKind::Response, "{output:?}");
    (posts[0].json(), output)
}

fn reactions(output: &Output) -> Vec<(String, String)> {
    output
        .kind("write")
        .iter()
        .map(|r| {
            (
                r["table"].as_str().unwrap().to_owned(),
                r["statement"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn reacts_only_to_successful_writes_on_the_chosen_tables() {
    let (response, output) = run(&[("ON_WRITES_TABLES", "shop.orders,shop.payments")]);
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(
        reactions(&output),
        [
            (
                "shop.orders",
                "INSERT INTO orders (id, note) VALUES (1, 'a,b')"
            ),
            ("shop.payments", "payments"),
            ("shop.orders", "DELETE FROM shop.orders WHERE id = 1"),
            ("shop.payments", "REPLACE INTO payments VALUES (3)"),
            ("shop.orders", "insert ignore into orders values (4)"),
            ("shop.orders", "INSERT INTO orders VALUES (10)"),
            (
                "shop.orders",
                "/* from the app */ INSERT INTO orders VALUES (11)"
            ),
        ]
        .map(|(t, s)| (t.to_owned(), s.to_owned()))
    );
    let review = output.kind("review");
    assert_eq!(review.len(), 1, "{output:?}");
    assert!(
        review[0]["record"]
            .as_str()
            .unwrap()
            .contains("INSERT INTO orders VALUES (13)")
    );
    // The dedup id: CloudWatch event id and the line's index in it.
    let first = &output.kind("write")[0];
    assert_eq!(
        first["dedup_id"],
        "37583768277390624687268267134240897445918434512310000000-0"
    );
    let s = &output.kind("summary")[0];
    assert_eq!(
        (&s["parsed_events"], &s["delivered_events"], &s["balanced"]),
        (&json!(14), &json!(14), &json!(true))
    );
}

#[test]
fn a_refused_event_reports_its_record_and_nothing_after_it_is_handed_over() {
    let (response, output) = run(&[
        ("ON_WRITES_TABLES", "shop.orders,shop.payments"),
        ("ON_WRITES_REFUSE", "shop.payments"),
        // Only writes reach the handler: the filters are the function's.
        ("RDSAUDIT_WRITES_ONLY", "true"),
    ]);
    // The first refused event (the WRITE on payments) is in the second record.
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": seq(1)}]})
    );
    assert_eq!(
        reactions(&output),
        [(
            "shop.orders".to_owned(),
            "INSERT INTO orders (id, note) VALUES (1, 'a,b')".to_owned()
        )]
    );
    let s = &output.kind("summary")[0];
    assert_eq!(
        (&s["deferred_records"], &s["balanced"]),
        (&json!(3), &json!(true))
    );
    let stop = &output.kind("retry_from")[0];
    assert_eq!(
        (&stop["stage"], &stop["sequence_number"]),
        (&json!("handler"), &json!(seq(1)))
    );
}
