//! NDJSON: one event as one JSON object per line, with fixed, documented keys shared by the CLI
//! and the Lambda (the column list is [`super::COLUMNS`]).
//!
//! | key | value |
//! | --- | --- |
//! | `timestamp` | RFC 3339 UTC with microseconds |
//! | `timestamp_us` | epoch microseconds |
//! | `dialect` | `aurora`, `mariadb` or `rds_mysql` |
//! | `serverhost`, `username`, `host` | strings |
//! | `connection_id`, `query_id` | numbers |
//! | `operation` | `QUERY`, `CONNECT`, `READ`, ... as written |
//! | `database` | string |
//! | `object` | the unescaped statement or table name |
//! | `object_base64` | only when `object` is not valid UTF-8: the exact bytes; `object` then holds the lossy text |
//! | `retcode` | number, or `null` when empty (upstream TABLE events) |
//! | `extra` | array of the trailing fields (`["",""]`, `["SSL"]`), usually `[]` |
//! | `log_group`, `log_stream`, `event_id`, `cloudwatch_timestamp_ms`, `sequence_number` | only when known (CloudWatch Logs, Kinesis) |
//! | `file`, `line` | the input file as named on the command line, and the 1-based line in it (text inputs), when known |
//!
//! `event_id` is the CloudWatch Logs event id: unique per log event, the key to de-duplicate
//! on when Kinesis delivers a record twice.
//!
//! ```
//! let event = rdsaudit::audit::scanner::parse_line(br"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT \'a\'',0,,")?;
//! let mut out = Vec::new();
//! rdsaudit::sink::NdjsonWriter::new().write(&event, &mut out);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     r#"{"timestamp":"2024-03-23T13:36:09.000000Z","timestamp_us":1711200969000000,"dialect":"rds_mysql","serverhost":"ip-172-17-4-137","username":"rdsadmin","host":"localhost","connection_id":4,"query_id":149869,"operation":"QUERY","database":"","object":"SELECT 'a'","retcode":0,"extra":["",""]}"#.to_owned() + "\n"
//! );
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use std::io::Write as _;

use base64::Engine as _;

use crate::audit::event::AuditEvent;
use crate::audit::timestamp::Rfc3339;

/// Writes events as NDJSON, reusing one scratch buffer for unescaping.
#[derive(Debug, Default)]
pub struct NdjsonWriter {
    scratch: Vec<u8>,
}

impl NdjsonWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `event` and a newline to `out`.
    pub fn write(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        self.write_with(e, out, |_| {});
    }

    /// Like [`NdjsonWriter::write`], with more keys: `extra` appends them (each as
    /// `,"key":value`) just before the closing brace. Front ends add computed keys this way
    /// (`rdsaudit parse --enrich`) without a second writer; `write` passes a closure that
    /// does nothing, so it costs nothing there.
    pub fn write_with(
        &mut self,
        e: &AuditEvent<'_>,
        out: &mut Vec<u8>,
        extra: impl FnOnce(&mut Vec<u8>),
    ) {
        // Writing to a Vec cannot fail: the io::Result of write! is always Ok.
        let _ = write!(
            out,
            r#"{{"timestamp":"{}","timestamp_us":{},"dialect":"{}""#,
            Rfc3339(e.timestamp.epoch_us),
            e.timestamp.epoch_us,
            e.timestamp.dialect.as_str()
        );
        key_str(out, "serverhost", &e.serverhost);
        key_str(out, "username", &e.username);
        key_str(out, "host", &e.host);
        let _ = write!(
            out,
            r#","connection_id":{},"query_id":{}"#,
            e.connection_id, e.query_id
        );
        key_str(out, "operation", e.operation.as_str());
        key_str(out, "database", &e.database);
        self.write_object(e, out);
        match e.retcode {
            Some(r) => {
                let _ = write!(out, r#","retcode":{r}"#);
            }
            None => out.extend_from_slice(br#","retcode":null"#),
        }
        out.extend_from_slice(br#","extra":["#);
        for (i, field) in e.extra.fields().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, &String::from_utf8_lossy(field));
        }
        out.push(b']');
        self.write_provenance(e, out);
        extra(out);
        out.extend_from_slice(b"}\n");
    }

    fn write_object(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let raw = e.object.raw();
        let bytes: &[u8] = if e.object.is_quoted() && memchr::memchr(b'\\', raw).is_some() {
            self.scratch.clear();
            crate::audit::unescape::unescape_into(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => key_str(out, "object", text),
            Err(_) => {
                key_str(out, "object", &String::from_utf8_lossy(bytes));
                out.extend_from_slice(br#","object_base64":""#);
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                out.extend_from_slice(encoded.as_bytes());
                out.push(b'"');
            }
        }
    }

    fn write_provenance(&self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let p = &e.provenance;
        let strings = [
            ("log_group", p.log_group),
            ("log_stream", p.log_stream),
            ("event_id", p.event_id),
        ];
        for (key, value) in strings {
            if let Some(v) = value {
                key_str(out, key, v);
            }
        }
        if let Some(ms) = p.cloudwatch_timestamp_ms {
            let _ = write!(out, r#","cloudwatch_timestamp_ms":{ms}"#);
        }
        if let Some(seq) = p.sequence_number {
            key_str(out, "sequence_number", seq);
        }
        if let Some(file) = p.file {
            key_str(out, "file", file);
        }
        if let Some(line) = p.line_number {
            let _ = write!(out, r#","line":{line}"#);
        }
    }
}

/// A sink that writes every event it receives as NDJSON into `out`.
#[derive(Debug, Default)]
pub struct NdjsonBuffer {
    /// The NDJSON written so far.
    pub out: Vec<u8>,
    writer: NdjsonWriter,
}

impl super::Sink for NdjsonBuffer {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self.writer.write(event, &mut self.out);
    }
}

/// `,"key":"value"`.
fn key_str(out: &mut Vec<u8>, key: &str, value: &str) {
    out.push(b',');
    json_str(out, key);
    out.push(b':');
    json_str(out, value);
}

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::scanner::parse_line;

    fn ndjson(line: &[u8]) -> serde_json::Value {
        let e = parse_line(line).unwrap();
        let mut out = Vec::new();
        NdjsonWriter::new().write(&e, &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn control_bytes_and_quotes_are_valid_json() {
        let v = ndjson(b"20240323 13:36:09,h,u\"x,l,4,5,QUERY,db,'a\\nb\\t\"c\" \x01 \\\\',0");
        assert_eq!(v["object"], "a\nb\t\"c\" \u{1} \\");
        assert_eq!(v["username"], "u\"x");
        assert_eq!(v["retcode"], 0);
        assert_eq!(v["extra"], serde_json::json!([]));
        assert!(v.get("object_base64").is_none());
    }

    #[test]
    fn invalid_utf8_keeps_exact_bytes() {
        let v = ndjson(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'caf\xe9 \\'x\\'',0");
        assert_eq!(v["object"], "caf\u{FFFD} 'x'");
        let b64 = v["object_base64"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(bytes, b"caf\xe9 'x'");
    }

    #[test]
    fn table_event_has_null_retcode() {
        let v = ndjson(b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,");
        assert_eq!(v["retcode"], serde_json::Value::Null);
        assert_eq!(v["object"], "orders");
        assert_eq!(v["operation"], "READ");
        assert_eq!(v["dialect"], "mariadb");
    }
}
