//! The table of docs/HOSTILE.md ("Line breaks"), row by row: what rdsaudit reports for each
//! record the server writes with a hostile name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rdsaudit::AuditEvent;
use rdsaudit::input::text::records;

/// Every record of `log`: its event, or `None` when it did not parse.
fn read(log: &str) -> Vec<Option<AuditEvent<'_>>> {
    let mut r = records(log.as_bytes());
    std::iter::from_fn(move || r.next_parsed())
        .map(|(_, parsed)| parsed.ok())
        .collect()
}

fn only(log: &str) -> AuditEvent<'_> {
    let mut all = read(log);
    assert_eq!(all.len(), 1, "{log:?}");
    all.remove(0).expect("parses")
}

/// The operation and object of the event and of each listed reading.
fn readings(e: &AuditEvent<'_>) -> Vec<(String, String, String)> {
    std::iter::once(e.clone())
        .chain(e.ambiguity.alternatives())
        .map(|r| {
            (
                r.operation.as_str().to_owned(),
                r.username.to_string(),
                r.object.text().into_owned(),
            )
        })
        .collect()
}

#[test]
fn a_failed_login_forging_a_statement_is_a_plain_failed_login() {
    let e = only(
        "20240323 13:36:08,db1,x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0,10.0.0.9,5,0,FAILED_CONNECT,,,1045\n",
    );
    assert_eq!(e.operation.as_str(), "FAILED_CONNECT");
    assert!(!e.ambiguity.is_ambiguous());
}

#[test]
fn a_table_with_commas_in_a_database_with_commas_has_three_readings() {
    let e = only("20240615 10:31:00,db1,app,localhost,43,17,READ,a,b,t,1,\n");
    assert!(e.ambiguity.is_ambiguous());
    assert_eq!(e.ambiguity.readings(), 3);
}

#[test]
fn a_statement_shaped_like_a_table_header_stays_the_query() {
    for line in [
        "1711200968123456,db1,u,h,1,2,QUERY,,'x,h,1,2,READ,d,t',0\n",
        "1711200968123456,db1,u,h,1,2,QUERY,,'DELETE FROM t -- ,h,1,2,READ,d,t',0\n",
    ] {
        let e = only(line);
        assert_eq!(
            (e.operation.as_str(), &*e.username.text()),
            ("QUERY", "u"),
            "{line:?}"
        );
        assert!(e.ambiguity.is_ambiguous());
        assert!(readings(&e).iter().any(|(op, _, _)| op == "READ"));
    }
}

#[test]
fn a_newline_and_a_timestamp_in_a_user_name_is_one_record() {
    let e = only("20261130 04:00:00,db1,u\n20250101 00:00:00,10.0.0.9,5,0,FAILED_CONNECT,,,1045\n");
    assert_eq!(e.username, "u\n20250101 00:00:00");
    // One reading, the window rule's unlisted one aside: its lines do not read alone.
    assert!(e.ambiguity.alternatives().is_empty());
    assert_eq!(e.ambiguity.omitted(), 1);
}

#[test]
fn a_forged_record_before_a_newline_is_listed_never_an_event() {
    let e = only(
        "20261130 04:00:00,db1,a,h,1,1,QUERY,db,'DROP TABLE x',0\nb,10.0.0.9,5,0,FAILED_CONNECT,,,1045\n",
    );
    assert_eq!(e.operation.as_str(), "FAILED_CONNECT");
    assert!(e.ambiguity.is_ambiguous());
    assert!(readings(&e).contains(&("QUERY".into(), "a".into(), "DROP TABLE x".into())));
}

#[test]
fn a_forged_line_after_a_newline_is_flagged_with_the_truth_listed() {
    let user = "x\n20250101 00:00:00,db1,admin,h,1,2,QUERY,db,'DROP TABLE t',0";
    let log = format!("20261130 04:00:00,db1,{user},10.0.0.9,5,0,FAILED_CONNECT,,,1045\n");
    let all = read(&log);
    assert_eq!(all.len(), 2);
    assert!(all[0].is_none());
    let e = all[1].as_ref().unwrap();
    assert!(e.ambiguity.is_ambiguous());
    assert!(readings(e).contains(&("FAILED_CONNECT".into(), user.into(), String::new())));
}

/// Item 4 of the review: a long statement that reads many ways made ~17 times its size in
/// NDJSON. The alternatives written are capped in count and in bytes; the rest are counted.
#[test]
fn an_ambiguous_line_adds_a_bounded_amount_of_output() {
    let forged = format!("{},h,1,2,READ,d,t", "a".repeat(4000));
    let statement = forged.repeat(20);
    let line = format!("1711200968123456,db1,u,10.0.0.5,1,2,QUERY,,'{statement}',0");
    let e = rdsaudit::parse_line(line.as_bytes()).unwrap();
    assert_eq!(e.operation.as_str(), "QUERY");
    let readings = e.ambiguity.readings();
    assert!(readings > 20, "{readings}");
    let mut out = Vec::new();
    rdsaudit::sink::NdjsonWriter::new().write(&e, &mut out);
    let bound = 2 * line.len() + rdsaudit::audit::scanner::MAX_ALTERNATIVES_BYTES + 4096;
    assert!(
        out.len() < bound,
        "{} bytes for a {}-byte line",
        out.len(),
        line.len()
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let listed = v["alternatives"].as_array().unwrap().len() as u64;
    assert!(listed >= 1);
    assert_eq!(
        listed + v["alternatives_omitted"].as_u64().unwrap(),
        readings - 1
    );
}
