//! Fuzz body for the audit line scanner ([`rdsaudit::audit::scanner`]), the plain-text record splitter
//! ([`rdsaudit::input::text`]) and the NDJSON sink they feed.
//!
//! Shared by `fuzz/fuzz_targets/line.rs` and `tests/hostile_fuzz_stable.rs`. Properties:
//!
//! - any bytes, as one line or as a whole log file, parse or give a typed error, never a panic;
//! - every accepted line becomes exactly one NDJSON line that serde_json reads back as an object
//!   whose `object` is the event's text and whose `object_base64`, if any, decodes to the exact
//!   unescaped bytes (nothing is lost to lossy UTF-8);
//! - the record splitter never loses or invents bytes: the records are in order, inside the
//!   buffer, every byte outside them is a line break (`\n`, `\r\n`, a lone `\r`), and each record's line
//!   number is one more than the line breaks before it.

use base64::Engine as _;
use rdsaudit::audit::scanner::parse_line;
use rdsaudit::input::text;
use rdsaudit::sink::NdjsonWriter;
use serde_json::Value;

pub fn run(data: &[u8]) {
    check_line(data);
    let (mut covered, mut newlines) = (0, 0);
    for record in text::records(data) {
        let start = offset_in(data, record.bytes);
        let gap = data.get(covered..start).expect("records in order");
        assert!(
            gap.iter().all(is_newline),
            "bytes between records are lost: {gap:?}"
        );
        newlines += count_newlines(gap);
        assert_eq!(record.line_number, newlines + 1, "line number");
        newlines += count_newlines(record.bytes);
        covered = start + record.bytes.len();
        check_line(record.bytes);
    }
    let tail = &data[covered..];
    assert!(tail.iter().all(is_newline), "lost tail {tail:?}");
}

/// Line breaks: `\n`, `\r\n` (one) and a lone `\r`.
fn count_newlines(bytes: &[u8]) -> u64 {
    let lone_cr = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .count();
    (memchr::memchr_iter(b'\n', bytes).count() + lone_cr) as u64
}

fn is_newline(b: &u8) -> bool {
    matches!(b, b'\n' | b'\r')
}

/// Byte offset of `part`, which must be a sub-slice of `whole`.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    let start = (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .expect("record starts inside the buffer");
    assert!(
        start + part.len() <= whole.len(),
        "record ends inside the buffer"
    );
    start
}

fn check_line(line: &[u8]) {
    let Ok(event) = parse_line(line) else { return };
    let mut out = Vec::new();
    NdjsonWriter::new().write(&event, &mut out);
    let newline = out.iter().position(|&b| b == b'\n');
    assert_eq!(newline, Some(out.len() - 1), "exactly one trailing newline");
    let value: Value = serde_json::from_slice(&out).expect("NDJSON output is JSON");
    assert_eq!(value["object"].as_str(), Some(&*event.object.text()));
    if let Some(b64) = value.get("object_base64") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("object_base64 is a string"))
            .expect("object_base64 is base64");
        assert_eq!(bytes, &*event.object.unescaped());
    }
}
