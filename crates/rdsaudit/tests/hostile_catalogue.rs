//! The catalogue of hostile inputs (issue 7): each case goes through the path the Lambda runs
//! (`parse_kinesis_event`, then `Pipeline::process` with the NDJSON sink) or, for plain files,
//! `Pipeline::process_text`, and asserts the exact error and the exact accounting.
//!
//! gzip comes from real compressors (flate2, and the gzip CLI for the bomb when installed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "fuzz_bodies/payload.rs"]
mod payload;

use std::collections::BTreeMap;
use std::io::Write as _;

use rdsaudit::LineError;
use rdsaudit::input::InputKind;
use rdsaudit::input::envelope::{EnvelopeError, JsonError};
use rdsaudit::input::gzip::{DEFAULT_MAX_OUTPUT, InflateError};
use rdsaudit::input::{SourceError, SourceParser, parse_kinesis_event};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::report::{RecordError, RecordStatus, Report};
use rdsaudit::sink::{NdjsonWriter, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder, Sink};
use serde_json::Value;

use payload::{
    AURORA_LINE, MARIADB_LINE, RDS_MYSQL_LINE, b64, control_message, data_message, gzip,
    kinesis_event,
};

/// What each record (or text input) produced, and the sum.
struct BatchOutput<W> {
    records: Vec<Rec<W>>,
    report: Report,
}

struct Rec<W> {
    status: RecordStatus,
    output: W,
    unparsed: Vec<Unparsed>,
}

/// An unparsed line as the sink saw it.
struct Unparsed {
    event_id: Option<String>,
    reason: LineError,
    excerpt: String,
}

/// A sink that hands events to `W` and keeps the unparsed lines.
#[derive(Default)]
struct Keep<W> {
    output: W,
    unparsed: Vec<Unparsed>,
}

/// What a test collects from each event.
trait Collect: Default + Send {
    fn collect(&mut self, e: &AuditEvent<'_>);
}

/// The NDJSON of the events.
impl Collect for Vec<u8> {
    fn collect(&mut self, e: &AuditEvent<'_>) {
        NdjsonWriter::new().write(e, self);
    }
}

/// How many events.
impl Collect for u64 {
    fn collect(&mut self, _: &AuditEvent<'_>) {
        *self += 1;
    }
}

/// Each event's (retcode, number of extra fields).
impl Collect for Vec<(Option<i64>, usize)> {
    fn collect(&mut self, e: &AuditEvent<'_>) {
        self.push((e.retcode, e.extra.fields().count()));
    }
}

impl<W: Collect> Sink for Keep<W> {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.output.collect(e);
    }

    fn unparsed(&mut self, u: &UnparsedLine<'_>) {
        self.unparsed.push(Unparsed {
            event_id: u.event_id.map(str::to_owned),
            reason: u.reason,
            excerpt: String::from_utf8_lossy(u.bytes).into_owned(),
        });
    }
}

/// Runs one Kinesis event through the handler path; the output is the NDJSON of each record.
fn handle(event: &[u8]) -> BatchOutput<Vec<u8>> {
    let mut buf = event.to_vec();
    buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
    let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new()).unwrap();
    let done = Pipeline::new().process(&records, 0, true, Keep::<Vec<u8>>::default);
    let mut report = Report::default();
    let records = done
        .into_iter()
        .map(|(outcome, keep)| {
            report.add(&outcome, true);
            Rec {
                status: outcome.status,
                output: keep.output,
                unparsed: keep.unparsed,
            }
        })
        .collect();
    assert!(report.is_balanced(), "{report:?}");
    BatchOutput { records, report }
}

/// Runs a plain log through the front door, on the calling thread.
fn text<W: Collect>(log: &[u8]) -> BatchOutput<W> {
    let mut keep = Keep::<W>::default();
    let decoder = Decoder::builder().kind(Some(InputKind::AuditText)).build();
    let report = decoder.decode(log, &mut keep).unwrap();
    let rec = Rec {
        status: RecordStatus::Data,
        output: keep.output,
        unparsed: keep.unparsed,
    };
    BatchOutput {
        records: vec![rec],
        report,
    }
}

/// One record whose `data` is `data`.
fn handle_one(data: String) -> BatchOutput<Vec<u8>> {
    handle(&kinesis_event(&[data]))
}

fn gz_b64(json: &str) -> String {
    b64(&gzip(json.as_bytes()))
}

/// The report of one failed record.
fn failed(kind: &'static str) -> Report {
    Report {
        records: 1,
        failed_records: 1,
        failed_by_kind: BTreeMap::from([(kind, 1)]),
        ..Report::default()
    }
}

/// The report of one data record with `parsed` good events and `unparsed` bad ones by reason.
fn data(parsed: u64, unparsed: &[(&'static str, u64)]) -> Report {
    let unparsed_events = unparsed.iter().map(|(_, n)| n).sum::<u64>();
    Report {
        records: 1,
        data_records: 1,
        log_events: parsed + unparsed_events,
        parsed_events: parsed,
        unparsed_events,
        unparsed_by_reason: unparsed.iter().map(|(r, n)| (*r, *n)).collect(),
        ..Report::default()
    }
}

fn assert_failed(batch: &BatchOutput<Vec<u8>>, error: &RecordError) {
    assert_eq!(batch.records[0].status, RecordStatus::Failed(error.clone()));
    assert_eq!(batch.report, failed(error.kind()));
    assert!(batch.records[0].output.is_empty());
}

/// The NDJSON objects a record produced.
fn ndjson(batch: &BatchOutput<Vec<u8>>) -> Vec<Value> {
    batch.records[0]
        .output
        .split_inclusive(|&b| b == b'\n')
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

/// A one-event data record with `message`, expected to fail line parsing with `reason`.
fn assert_unparsed(message: &str, reason: LineError, key: &'static str) {
    let batch = handle_one(gz_b64(&data_message(0, &[message])));
    assert_eq!(batch.report, data(0, &[(key, 1)]), "{message:?}");
    let unparsed = &batch.records[0].unparsed[0];
    assert_eq!(unparsed.reason, reason, "{message:?}");
    assert_eq!(
        unparsed.event_id.as_deref(),
        Some(&*payload::event_id(0, 0))
    );
}

#[test]
fn invalid_base64() {
    let batch = handle_one("H4sI*not base64*".to_owned());
    let RecordStatus::Failed(RecordError::Base64(SourceError::Base64 { offset, .. })) =
        &batch.records[0].status
    else {
        panic!("{:?}", batch.records[0].status)
    };
    assert_eq!(*offset, Some(4));
    assert_eq!(batch.report, failed("base64"));
}

#[test]
fn not_gzip() {
    let json = data_message(0, &[AURORA_LINE]);
    let error = RecordError::Inflate(InflateError::NotGzip {
        offset: 0,
        found: b"{\"".to_vec(),
    });
    assert_failed(&handle_one(b64(json.as_bytes())), &error);
}

#[test]
fn truncated_gzip() {
    let whole = gzip(data_message(0, &[AURORA_LINE, RDS_MYSQL_LINE]).as_bytes());
    let n = whole.len();
    let in_body = InflateError::Corrupt {
        member: 0,
        offset: 10,
    };
    let in_trailer = InflateError::Truncated {
        member: 0,
        offset: n - 3,
        part: "trailer",
    };
    let in_header = InflateError::Truncated {
        member: 0,
        offset: 6,
        part: "header",
    };
    for (cut, error) in [(n / 2, in_body), (n - 3, in_trailer), (6, in_header)] {
        assert_failed(
            &handle_one(b64(&whole[..cut])),
            &RecordError::Inflate(error),
        );
    }
}

#[test]
fn bad_crc() {
    let mut z = gzip(data_message(0, &[AURORA_LINE]).as_bytes());
    let n = z.len();
    let actual = u32::from_le_bytes(z[n - 8..n - 4].try_into().unwrap());
    z[n - 8] ^= 0x55;
    let error = RecordError::Inflate(InflateError::BadCrc {
        member: 0,
        offset: n - 8,
        expected: actual ^ 0x55,
        actual,
    });
    assert_failed(&handle_one(b64(&z)), &error);
}

/// 1 GiB of zeros through a real gzip encoder: the CLI when installed (seconds), else flate2
/// fed 1 MiB at a time. Either way about 1 MiB compressed.
fn gzip_bomb() -> Vec<u8> {
    const GIB: usize = 1 << 30;
    let cli = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("head -c {GIB} /dev/zero | gzip -9 -c"))
        .output();
    if let Ok(out) = cli
        && out.status.success()
        && !out.stdout.is_empty()
    {
        return out.stdout;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..GIB / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 2 << 20, "{} bytes compressed", bomb.len());
    let error = RecordError::Inflate(InflateError::OutputLimit {
        limit: DEFAULT_MAX_OUTPUT,
    });
    // The bomb sits between two good records, which still come through.
    let good = gz_b64(&data_message(0, &[AURORA_LINE]));
    let batch = handle(&kinesis_event(&[good.clone(), b64(&bomb), good]));
    assert_eq!(batch.records[1].status, RecordStatus::Failed(error));
    let mut expected = data(2, &[]);
    expected.records = 3;
    expected.data_records = 2;
    expected.failed_records = 1;
    expected.failed_by_kind = BTreeMap::from([("gzip", 1)]);
    assert_eq!(batch.report, expected);
}

#[test]
fn concatenated_members_are_all_read() {
    // One envelope cut in three pieces, each its own gzip member (flate2, gzip CLI shape).
    let json = data_message(0, &[AURORA_LINE, RDS_MYSQL_LINE, MARIADB_LINE]);
    let (a, rest) = json.as_bytes().split_at(json.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let members = [gzip(a), gzip(b), gzip(c)].concat();
    let batch = handle_one(b64(&members));
    assert_eq!(batch.report, data(3, &[]));
    // Firehose style: two whole envelopes, one member each.
    let two = [gzip(json.as_bytes()), gzip(json.as_bytes())].concat();
    assert_eq!(handle_one(b64(&two)).report, data(6, &[]));
}

#[test]
fn json_syntax_errors() {
    let json = data_message(0, &[AURORA_LINE]);
    for broken in [&json[..json.len() - 1], "{\"messageType\":}", "{]", ""] {
        let batch = handle_one(gz_b64(broken));
        assert!(
            matches!(
                batch.records[0].status,
                RecordStatus::Failed(RecordError::Envelope(EnvelopeError::Json(
                    JsonError::Invalid { .. }
                )))
            ),
            "{broken:?}: {:?}",
            batch.records[0].status
        );
        assert_eq!(batch.report, failed("envelope"), "{broken:?}");
    }
}

#[test]
fn wrong_types() {
    let json = data_message(0, &[AURORA_LINE]);
    let cases = [
        (
            json.replacen("\"logGroup\":\"", "\"logGroup\":42,\"x\":\"", 1),
            EnvelopeError::WrongType {
                field: "logGroup",
                expected: "a string",
                found: "a number",
            },
        ),
        (
            "[1,2]".to_owned(),
            EnvelopeError::NotAnObject { found: "an array" },
        ),
    ];
    for (text, error) in cases {
        assert_failed(&handle_one(gz_b64(&text)), &RecordError::Envelope(error));
    }
    // A log event of the wrong shape fails alone (session 32: its whole record), kept as its
    // JSON in the payload; the others of its payload are read.
    let json = data_message(0, &[AURORA_LINE, AURORA_LINE]).replacen(
        "\"timestamp\":1711200969000",
        "\"timestamp\":\"1711200969000\"",
        1,
    );
    let batch = handle_one(gz_b64(&json));
    assert_eq!(batch.records[0].status, RecordStatus::Data);
    // The other event, within 4 KiB of it, flagged by the window rule.
    let expected = Report {
        ambiguous_events: 1,
        ..data(1, &[("EnvelopeEvent", 1)])
    };
    assert_eq!(batch.report, expected);
    let unparsed = &batch.records[0].unparsed[0];
    assert!(
        unparsed.excerpt.starts_with(r#"{"id":"#)
            && unparsed.excerpt.contains(r#""timestamp":"1711200969000""#),
        "{}",
        unparsed.excerpt
    );
}

#[test]
fn missing_log_events() {
    let json = data_message(0, &[]).replacen("\"logEvents\":[],", "", 1);
    assert!(!json.contains("logEvents"), "{json}");
    let error = RecordError::Envelope(EnvelopeError::MissingField("logEvents"));
    assert_failed(&handle_one(gz_b64(&json)), &error);
}

#[test]
fn empty_log_events_is_a_data_record_with_no_events() {
    let batch = handle_one(gz_b64(&data_message(0, &[])));
    assert_eq!(batch.records[0].status, RecordStatus::Data);
    assert_eq!(batch.report, data(0, &[]));
}

#[test]
fn control_message_is_skipped_by_rule() {
    let batch = handle_one(b64(&gzip(&control_message())));
    assert_eq!(batch.records[0].status, RecordStatus::Control);
    let expected = Report {
        records: 1,
        control_records: 1,
        control_messages: 1,
        ..Report::default()
    };
    assert_eq!(batch.report, expected);
}

#[test]
fn policy_level_is_accepted() {
    let json = data_message(0, &[AURORA_LINE]).replacen(
        "\"logEvents\"",
        "\"policyLevel\":\"ACCOUNT_LEVEL_POLICY\",\"logEvents\"",
        1,
    );
    assert_eq!(handle_one(gz_b64(&json)).report, data(1, &[]));
}

#[test]
fn unknown_encryption_type_is_accepted() {
    let event = String::from_utf8(kinesis_event(&[gz_b64(&data_message(0, &[AURORA_LINE]))]))
        .unwrap()
        .replacen("\"data\":", "\"encryptionType\":\"QUANTUM\",\"data\":", 1);
    let mut buf = event.clone().into_bytes();
    buf.resize(event.len() + simd_json::INPUT_PADDING, 0);
    let records = parse_kinesis_event(&mut buf, event.len(), &mut SourceParser::new()).unwrap();
    assert_eq!(records[0].encryption_type, Some("QUANTUM"));
    assert_eq!(handle(event.as_bytes()).report, data(1, &[]));
}

#[test]
fn lone_surrogate_escape_fails_its_log_event() {
    // Session 32: simd-json refused the whole payload, the record failed. Now the log event
    // alone, kept as its JSON (the escape as it is in the payload); the others are read.
    let json = data_message(0, &["x", AURORA_LINE]).replacen(
        "\"message\":\"x\"",
        r#""message":"\ud800""#,
        1,
    );
    let batch = handle_one(gz_b64(&json));
    assert_eq!(batch.records[0].status, RecordStatus::Data);
    // The other event, within 4 KiB of it, flagged by the window rule.
    let expected = Report {
        ambiguous_events: 1,
        ..data(1, &[("EnvelopeEvent", 1)])
    };
    assert_eq!(batch.report, expected);
    let unparsed = &batch.records[0].unparsed[0];
    assert!(
        unparsed.excerpt.contains(r#""message":"\ud800""#),
        "{}",
        unparsed.excerpt
    );
    // In a string of the payload itself: the record fails, as before.
    let json = data_message(0, &["x"]).replacen("\"owner\":\"", r#""owner":"\ud800"#, 1);
    let batch = handle_one(gz_b64(&json));
    let RecordStatus::Failed(RecordError::Envelope(EnvelopeError::Json(JsonError::Invalid {
        msg,
        ..
    }))) = &batch.records[0].status
    else {
        panic!("{:?}", batch.records[0].status)
    };
    assert_eq!(msg, "InvalidUnicodeCodepoint");
    assert_eq!(batch.report, failed("envelope"));
    // A proper pair is fine and decodes to one character.
    let pair =
        data_message(0, &["x"]).replacen("\"message\":\"x\"", r#""message":"\ud83d\ude00""#, 1);
    let batch = handle_one(gz_b64(&pair));
    assert_eq!(batch.report, data(0, &[("Timestamp", 1)]));
    assert_eq!(batch.records[0].unparsed[0].excerpt, "\u{1F600}");
}

#[test]
fn unterminated_quote() {
    let line = "1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT 1,0";
    assert_unparsed(
        line,
        LineError::UnterminatedObject { start: 56 },
        "UnterminatedObject",
    );
}

#[test]
fn fewer_than_nine_fields() {
    let no_operation = "1711200969123456,i1,admin,10.0.1.5,35,698024";
    assert_unparsed(no_operation, LineError::Header, "Header");
    let no_retcode = "1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT 1'";
    assert_unparsed(
        no_retcode,
        LineError::MissingRetcode { at: 66 },
        "MissingRetcode",
    );
}

#[test]
fn fields_no_dialect_defines_are_unparsed_not_an_extra_tail() {
    // `extra` holds only what the RDS fork writes (`,,` after a QUERY, a connection type);
    // more fields are not an event with a shifted tail but a line kept whole with a reason.
    let line = format!("{RDS_MYSQL_LINE},SSL,more,fields");
    let batch = handle_one(gz_b64(&data_message(0, &[&line])));
    assert_eq!(batch.report, data(0, &[("Retcode", 1)]));
    assert_eq!(batch.records[0].unparsed[0].excerpt, line);
}

#[test]
fn ten_megabyte_line() {
    // Escaped as the plugin writes it: every quote after a backslash.
    let escaped = r"INSERT INTO t VALUES (1,\'x\'),".repeat((10 << 20) / 31 + 1);
    let statement = escaped.replace(r"\'", "'");
    let line = format!("1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'{escaped}',0");
    assert!(line.len() >= 10 << 20);
    let batch = handle_one(gz_b64(&data_message(0, &[&line])));
    assert_eq!(batch.report, data(1, &[]));
    assert_eq!(ndjson(&batch)[0]["object"].as_str(), Some(&*statement));
    // The same line in a plain log file.
    let text = text::<u64>(line.as_bytes());
    assert_eq!(text_counts(&text.report), (1, 1, 0));
}

/// (log events, parsed, unparsed) of a plain-text run, which counts no records.
fn text_counts(report: &Report) -> (u64, u64, u64) {
    assert!(report.is_balanced());
    assert_eq!(report.records, 0);
    (
        report.log_events,
        report.parsed_events,
        report.unparsed_events,
    )
}

#[test]
fn empty_lines() {
    // An empty message is a log event that is not an audit line: counted, not dropped.
    assert_unparsed("", LineError::Empty, "Empty");
    // In a plain file, blank lines separate nothing and are not events.
    let log = format!("\n{MARIADB_LINE}\n\n\r\n{RDS_MYSQL_LINE}\n\n");
    let batch = text::<u64>(log.as_bytes());
    assert_eq!(text_counts(&batch.report), (2, 2, 0));
}

#[test]
fn crlf_line_endings() {
    let log = format!("{MARIADB_LINE}\r\n{RDS_MYSQL_LINE}\r\n");
    let batch = text::<Vec<(Option<i64>, usize)>>(log.as_bytes());
    assert_eq!(text_counts(&batch.report), (2, 2, 0));
    assert_eq!(batch.records[0].output, [(None, 0), (Some(0), 2)]);
    // A CloudWatch message ending in CRLF parses the same.
    let message = format!("{RDS_MYSQL_LINE}\r\n");
    let batch = handle_one(gz_b64(&data_message(0, &[&message])));
    assert_eq!(batch.report, data(1, &[]));
    assert_eq!(ndjson(&batch)[0]["extra"], serde_json::json!(["", ""]));
}

#[test]
fn nul_bytes() {
    // Escaped in the envelope (`\u0000`): a statement byte like any other, kept in the output.
    let line = "1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT \u{0}',0";
    let batch = handle_one(gz_b64(&data_message(0, &[line])));
    assert_eq!(batch.report, data(1, &[]));
    assert_eq!(ndjson(&batch)[0]["object"], "SELECT \u{0}");
    // Raw NUL inside a JSON string is invalid JSON: the record fails, it is not truncated.
    let raw = data_message(0, &["a"]).replacen("\"a\"", "\"a\u{0}\"", 1);
    let batch = handle_one(gz_b64(&raw));
    assert!(matches!(
        batch.records[0].status,
        RecordStatus::Failed(RecordError::Envelope(EnvelopeError::Json(
            JsonError::Invalid { .. }
        )))
    ));
    // In a plain file a NUL is just a byte of the statement.
    let text = text::<u64>(line.as_bytes());
    assert_eq!(text_counts(&text.report), (1, 1, 0));
}

#[test]
fn deeply_nested_json() {
    let json = data_message(0, &[AURORA_LINE]);
    let nest = |depth: usize| {
        let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        json.replacen("{", &format!("{{\"unknown\":{value},"), 1)
    };
    // Unknown nested values are skipped without recursion.
    assert_eq!(handle_one(gz_b64(&nest(500))).report, data(1, &[]));
    // simd-json refuses nesting deeper than 1024: a clear error, no stack overflow.
    let batch = handle_one(gz_b64(&nest(100_000)));
    let RecordStatus::Failed(RecordError::Envelope(EnvelopeError::Json(JsonError::Invalid {
        msg,
        ..
    }))) = &batch.records[0].status
    else {
        panic!("{:?}", batch.records[0].status)
    };
    assert!(msg.contains("Depth"), "{msg}");
    assert_eq!(batch.report, failed("envelope"));
}
