//! NDJSON: one event as one JSON object per line, with fixed, documented keys shared by the CLI
//! and the Lambda (the column list is [`super::COLUMNS`]).
//!
//! | key | value |
//! | --- | --- |
//! | `timestamp` | RFC 3339 UTC with microseconds |
//! | `timestamp_us` | epoch microseconds |
//! | `dialect` | `aurora`, `mariadb` or `rds_mysql` |
//! | `serverhost`, `username`, `host` | strings (invalid UTF-8 replaced by U+FFFD) |
//! | `serverhost_base64`, `username_base64`, `host_base64` | each right after its name, only when the name is not valid UTF-8: its exact bytes (a failed login's user name is whatever the client sent) |
//! | `connection_id`, `query_id` | numbers |
//! | `operation` | `QUERY`, `CONNECT`, `READ`, ... as written |
//! | `database` | string (invalid UTF-8 replaced by U+FFFD) |
//! | `database_base64` | only when the database name is not valid UTF-8: its exact bytes |
//! | `object` | the unescaped statement or table name |
//! | `object_base64` | only when `object` is not valid UTF-8: the exact bytes; `object` then holds the lossy text |
//! | `retcode` | number, or `null` when empty (upstream TABLE events) |
//! | `extra` | array of the trailing fields the dialect has (`["",""]` after an RDS for MySQL QUERY, `["SSL"]`), usually `[]` |
//! | `ambiguous`, `readings`, `alternatives`, `alternatives_omitted` | only when a raw name lets the line split more than one way: `true`, how many readings in all, the other readings (objects with the keys `timestamp` to `extra`), how many were left unlisted (only when some were) |
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

use super::lead::{Lead, same_bytes};
use super::spare::{Buf, Decimal, Spare};
use super::{json_escape, rfc3339};

/// What an event takes beyond its object, but for long names and provenance: reserved once
/// per event.
const ESTIMATE: usize = 640;
use crate::audit::event::{AuditEvent, Name, Operation};

/// Writes events as NDJSON, reusing one scratch buffer for unescaping and the text of the
/// last second's timestamp.
#[derive(Debug, Default)]
pub struct NdjsonWriter {
    scratch: Vec<u8>,
    time: rfc3339::Rfc3339Cache,
    /// `log_group` and `log_stream`, then `sequence_number` and `file`: each pair the same
    /// for every event of a record (and the file for every event of an input).
    group_stream: Repeated,
    sequence_file: Repeated,
    /// `{"timestamp":...` up to `"username":"`, as written for the last whole second.
    lead: Lead,
    /// The `file` of the events that name none ([`NdjsonWriter::set_file`]).
    default_file: Option<String>,
}

impl NdjsonWriter {
    /// A writer with an empty scratch buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The input file the events written from now on were read from, for those whose
    /// [`crate::Provenance::file`] is `None`: a front end reading a file says so once here
    /// instead of copying each event to name it (`None`: no `file` key for them).
    ///
    /// ```
    /// let event = rdsaudit::parse_line(b"20240323 13:36:09,db1,app,10.0.2.44,4,0,CONNECT,shop,,0")?;
    /// let mut writer = rdsaudit::sink::NdjsonWriter::new();
    /// writer.set_file(Some("server_audit.log"));
    /// let mut out = Vec::new();
    /// writer.write(&event, &mut out);
    /// assert!(out.ends_with(br#","file":"server_audit.log"}
    /// "#));
    /// # Ok::<(), rdsaudit::LineError>(())
    /// ```
    pub fn set_file(&mut self, file: Option<&str>) {
        // Said again for every record of an input: the same name keeps its copy and the run
        // written with it (no allocation and free per record).
        if self.default_file.as_deref() == file {
            return;
        }
        self.default_file = file.map(str::to_owned);
        // The run written for events that name no file names this one from now on.
        self.sequence_file.forget();
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
        // One reservation for the whole event (keys, numbers and provenance fit in the
        // constant but for long names; the object as written, before escapes), then writes
        // without per-piece bookkeeping ([`Spare`]).
        let mut w = Spare::new(out, ESTIMATE + e.object.raw().len());
        self.write_fields(e, &mut w);
        self.write_ambiguity(e, &mut w);
        self.write_provenance(e, &mut w);
        w.with_vec(extra);
        w.put_const(b"}\n");
    }

    /// `{"timestamp":...` up to `"extra":[...]`, without the closing brace. (Always inlined,
    /// like everything given a [`Spare`]: see [`Buf::with_vec`].)
    #[inline(always)]
    fn write_fields<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        let time = &mut self.time;
        self.lead.write(e, out, |out| write_lead(time, e, out));
        name_to_then(
            out,
            &e.username,
            br#"","username_base64":""#,
            br#"","host":""#,
        );
        name_to_then(
            out,
            &e.host,
            br#"","host_base64":""#,
            br#"","connection_id":"#,
        );
        super::spare::put_decimal_then(out, e.connection_id, br#","query_id":"#);
        int(out, e.query_id);
        write_operation(out, &e.operation);
        name_to_then(
            out,
            &e.database,
            br#"","database_base64":""#,
            br#"","object":""#,
        );
        self.write_object(e, out);
        match (e.retcode, e.extra.raw()) {
            // The common cases as one constant: a return code of 0 and no trailing fields, or
            // RDS for MySQL's two empty ones after every QUERY.
            (Some(0), None) => return out.put_const(br#"","retcode":0,"extra":[]"#),
            (Some(0), Some(b",")) => return out.put_const(br#"","retcode":0,"extra":["",""]"#),
            (Some(r), _) => {
                out.put_const(br#"","retcode":"#);
                int(out, r);
            }
            (None, _) => out.put_const(br#"","retcode":null"#),
        }
        match e.extra.raw() {
            // The common cases as constants: none, and RDS for MySQL's two empty fields after
            // every QUERY.
            None => out.put_const(br#","extra":[]"#),
            Some(b",") => out.put_const(br#","extra":["",""]"#),
            Some(_) => {
                out.put_const(br#","extra":["#);
                for (i, field) in e.extra.fields().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    // A field that is UTF-8 (nearly all: `SSL` after an RDS for MySQL
                    // connection) is its own lossy text: escaped in place, where the lossy
                    // escape out of line cost ~70 instructions more a field.
                    match std::str::from_utf8(field) {
                        Ok(text) => json_escape::escape_to_then(out, text, b"\""),
                        Err(_) => {
                            out.with_vec(|v| json_escape::escape_lossy(v, field));
                            out.push(b'"');
                        }
                    }
                }
                out.push(b']');
            }
        }
    }

    /// Only for an ambiguous event: `"ambiguous":true`, `"readings"` (how many in all),
    /// `"alternatives"` (the other readings, each with the event keys up to `extra`) and,
    /// when some were left unlisted, `"alternatives_omitted"`.
    #[inline(always)]
    fn write_ambiguity<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        let a = &e.ambiguity;
        if !a.is_ambiguous() {
            return;
        }
        out.with_vec(|v| self.write_alternatives(a, v));
    }

    #[cold]
    fn write_alternatives(&mut self, a: &crate::audit::event::Ambiguity<'_>, out: &mut Vec<u8>) {
        out.put_const(br#","ambiguous":true,"readings":"#);
        int(out, a.readings());
        out.put_const(br#","alternatives":["#);
        let (alternatives, omitted) = a.listed();
        for (i, alt) in alternatives.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write_fields(alt, out);
            out.push(b'}');
        }
        out.push(b']');
        if omitted > 0 {
            out.put_const(br#","alternatives_omitted":"#);
            int(out, omitted);
        }
    }

    /// The object's text: unescaped straight into JSON when the raw bytes are valid UTF-8
    /// (nearly always), else the lossy text plus `object_base64` with the exact bytes
    /// (the closing quote is the next key's).
    #[inline(always)]
    fn write_object<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        if !json_escape::object_to_json(out, e.object.raw(), e.object.is_quoted()) {
            out.with_vec(|v| self.write_invalid_object(e, v));
        }
    }

    #[cold]
    fn write_invalid_object(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let raw = e.object.raw();
        let bytes: &[u8] = if e.object.is_quoted() {
            super::spare::unescape_into(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        // One pass each, straight into `out`: the lossy text escaped as it is checked
        // ([`json_escape::escape_lossy`]), then the exact bytes in base64 (a lossy `String`,
        // its escaped copy and an encoded `String` cost ~6,700 instructions an object on the
        // plain log).
        json_escape::escape_lossy(out, bytes);
        out.put_const(br#"","object_base64":""#);
        base64_simd::STANDARD.encode_append(bytes, out);
    }
}

impl NdjsonWriter {
    /// `,"log_group":...` to `,"line":...`, the keys that are known.
    ///
    /// The two repeated pairs are checked against the values alone; their keys and defaults
    /// are given only on a miss, out of line ([`NdjsonWriter::keep_group_stream`],
    /// [`NdjsonWriter::keep_sequence_file`]): passed to each check as arrays, they were
    /// stored to the stack for every event (~50 instructions an event on the plain log).
    #[inline(always)]
    fn write_provenance<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        let p = &e.provenance;
        if !self.group_stream.holds([p.log_group, p.log_stream]) {
            self.keep_group_stream(p);
        }
        // A text input has no group or stream: a test, not a put of nothing (ten
        // instructions: the room check and every size class).
        if !self.group_stream.run.is_empty() {
            out.put(&self.group_stream.run);
        }
        if let Some(v) = p.event_id {
            out.put_const(br#","event_id":""#);
            json_escape::escape_searched_to(out, v);
            out.push(b'"');
        }
        if let Some(ms) = p.cloudwatch_timestamp_ms {
            out.put_const(br#","cloudwatch_timestamp_ms":"#);
            int(out, ms);
        }
        // Keyed by the event's own file, so that one named by `set_file` is not compared.
        if !self.sequence_file.holds([p.sequence_number, p.file]) {
            self.keep_sequence_file(p);
        }
        let run = &self.sequence_file.run;
        match p.line_number {
            // A text input's line: its key under the file's room check.
            Some(line) => {
                out.put_then(run, br#","line":"#);
                int(out, line);
            }
            None => {
                if !run.is_empty() {
                    out.put(run);
                }
            }
        }
    }

    /// `group_stream` made to hold `p`'s log group and stream.
    #[cold]
    #[inline(never)]
    fn keep_group_stream(&mut self, p: &crate::audit::event::Provenance<'_>) {
        self.group_stream.keep(
            [br#","log_group":""#, br#","log_stream":""#],
            [p.log_group, p.log_stream],
            [None; 2],
        );
    }

    /// `sequence_file` made to hold `p`'s sequence number and file (the file named by
    /// [`NdjsonWriter::set_file`] when `p` names none).
    #[cold]
    #[inline(never)]
    fn keep_sequence_file(&mut self, p: &crate::audit::event::Provenance<'_>) {
        self.sequence_file.keep(
            [br#","sequence_number":""#, br#","file":""#],
            [p.sequence_number, p.file],
            [None, self.default_file.as_deref()],
        );
    }
}

/// Two adjacent optional string keys whose values repeat from event to event (a record's
/// log group and stream; its sequence number and the file), written escaped once as one
/// run and copied while both stay the same: escaping them for every event was 8% of a
/// Kinesis event's whole run, and one copy a key (with a compare each) still 300
/// instructions an event. Compared by content, not address: a buffer reused for the next
/// record may hold other text there.
#[derive(Debug, Default)]
struct Repeated {
    /// Whether `run` holds anything yet.
    filled: bool,
    /// The values last written: whether each was there, and its bytes.
    present: [bool; 2],
    raw: [Vec<u8>; 2],
    /// What each was written as: `,"key":"value"` when present (or defaulted), else empty;
    /// kept apart so that a change of one (a record's sequence number) escapes only it.
    escaped: [Vec<u8>; 2],
    /// Both, one after the other: what is copied.
    run: Vec<u8>,
}

impl Repeated {
    /// Makes the next [`Repeated::holds`] false, so that the values are written afresh (their
    /// defaults changed).
    fn forget(&mut self) {
        self.filled = false;
    }

    /// Whether `run` is what `values` are written as (with the keys and defaults of the last
    /// [`Repeated::keep`]).
    #[inline(always)]
    fn holds(&self, [first, second]: [Option<&str>; 2]) -> bool {
        // Two calls, not an iterator's `all`: a larger `same_bytes` (compares of up to 128
        // bytes as vectors, tried: no gain on the event over its `memcmp` calls) left that
        // out of line, a call per check (p20 +19 M instructions).
        self.filled && self.holds_at(0, first) && self.holds_at(1, second)
    }

    /// Whether slot `i` holds `value`.
    #[inline(always)]
    fn holds_at(&self, i: usize, value: Option<&str>) -> bool {
        let (Some(&present), Some(raw)) = (self.present.get(i), self.raw.get(i)) else {
            return false;
        };
        match value {
            Some(v) => present && same_bytes(raw, v.as_bytes()),
            None => !present,
        }
    }

    /// Makes `run` `,"key":"value"` for each value present, or else its default (`keys`
    /// hold `,"key":"`; keys and defaults the same on every call until
    /// [`Repeated::forget`]).
    fn keep(&mut self, keys: [&[u8]; 2], values: [Option<&str>; 2], defaults: [Option<&str>; 2]) {
        for (i, ((key, value), default)) in keys.iter().zip(values).zip(defaults).enumerate() {
            if self.filled && self.holds_at(i, value) {
                continue;
            }
            let (Some(present), Some(raw), Some(escaped)) = (
                self.present.get_mut(i),
                self.raw.get_mut(i),
                self.escaped.get_mut(i),
            ) else {
                continue;
            };
            *present = value.is_some();
            raw.clear();
            raw.extend_from_slice(value.unwrap_or_default().as_bytes());
            escaped.clear();
            if let Some(v) = value.or(default) {
                escaped.extend_from_slice(key);
                json_escape::escape(escaped, v);
                escaped.push(b'"');
            }
        }
        self.filled = true;
        self.run.clear();
        for escaped in &self.escaped {
            self.run.extend_from_slice(escaped);
        }
    }
}

/// `{"timestamp":...` up to `"username":"`: the keys a [`Lead`] repeats.
#[inline(always)]
fn write_lead<B: Buf>(time: &mut rfc3339::Rfc3339Cache, e: &AuditEvent<'_>, out: &mut B) {
    out.put_const(br#"{"timestamp":""#);
    time.write_with_decimal_to(e.timestamp.epoch_us, br#"","timestamp_us":"#, out);
    out.put_const(br#","dialect":""#);
    out.put(e.timestamp.dialect.as_str().as_bytes());
    out.put_const(br#"","serverhost":""#);
    name_to_then(
        out,
        &e.serverhost,
        br#"","serverhost_base64":""#,
        br#"","username":""#,
    );
}

/// A name's text escaped, then the constant `next` (which closes its string); a name that is
/// not UTF-8 ([`Name::as_str`] is `None`, nearly never) is written as its lossy text, then
/// `key` (`","username_base64":"`) and its exact bytes in base64, as an object that is not
/// UTF-8 is (out of line: [`invalid_name`]).
#[inline(always)]
fn name_to_then<B: Buf, const K: usize, const N: usize>(
    out: &mut B,
    name: &Name<'_>,
    key: &[u8; K],
    next: &[u8; N],
) {
    match name.as_str() {
        Some(text) => json_escape::escape_to_then(out, text, next),
        None => {
            out.with_vec(|v| invalid_name(v, name.as_bytes(), key));
            out.put_const(next);
        }
    }
}

/// [`name_to_then`] of a name that is not UTF-8, but `next`: its lossy text escaped, `key`
/// and its bytes in base64 (padded, the standard alphabet, as `object_base64`).
#[cold]
#[inline(never)]
fn invalid_name(out: &mut Vec<u8>, bytes: &[u8], key: &[u8]) {
    json_escape::escape_lossy(out, bytes);
    out.extend_from_slice(key);
    base64_simd::STANDARD.encode_append(bytes, out);
}

/// An integer in decimal, without `core::fmt` ([`super::spare::put_decimal`]).
#[inline(always)]
fn int<B: Buf>(out: &mut B, n: impl Decimal) {
    n.put_to(out);
}

/// `,"operation":"QUERY","database":"`: the operation token between its key and the next.
/// A known one is upper-case ASCII and needs no escaping: the three as one constant.
#[inline(always)]
fn write_operation<B: Buf>(out: &mut B, op: &Operation<'_>) {
    let keyed = match op {
        Operation::Other(token) => {
            out.put_const(br#","operation":""#);
            json_escape::escape_to_then(out, token, br#"","database":""#);
            return;
        }
        known => operation_keyed(known),
    };
    out.put(keyed.as_bytes());
}

/// `,"operation":"<token>","database":"` for each known operation (a test holds it to
/// [`Operation::as_str`]).
macro_rules! keyed_operations {
    ($($op:ident => $token:literal),* $(,)?) => {
        /// [`write_operation`]'s constant for a known operation (an `Other` has none: empty).
        fn operation_keyed(op: &Operation<'_>) -> &'static str {
            match op {
                $(Operation::$op => concat!(r#","operation":""#, $token, r#"","database":""#),)*
                Operation::Other(_) => "",
            }
        }

        /// The operations given a constant, for the test that holds each to its token.
        #[cfg(test)]
        const KEYED_OPERATIONS: &[Operation<'static>] = &[$(Operation::$op),*];
    };
}

keyed_operations! {
    Connect => "CONNECT",
    Disconnect => "DISCONNECT",
    FailedConnect => "FAILED_CONNECT",
    ChangeUser => "CHANGEUSER",
    ProxyConnect => "PROXY_CONNECT",
    Query => "QUERY",
    Read => "READ",
    Write => "WRITE",
    Create => "CREATE",
    Alter => "ALTER",
    Drop => "DROP",
    Rename => "RENAME",
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

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    json_escape::quoted(out, s);
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::audit::event::Provenance;
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

    fn base64_of(v: &serde_json::Value, key: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")))
            .unwrap()
    }

    /// Two users whose names are not UTF-8 (`\xff`, `\xfe`: the same lossy text) are two
    /// users: each name's bytes are in its `*_base64` key, right after the name, in the
    /// MariaDB and the RDS for MySQL dialects. Failed before: both were `"\u{FFFD}"`, no
    /// `username_base64`.
    #[test]
    fn names_that_are_not_utf8_keep_their_bytes() {
        for tail in [&b""[..], b",,"] {
            let line = |user: &[u8]| {
                [
                    &b"20240323 13:36:08,srv\xfd1,"[..],
                    user,
                    b",10.0.0.1,5,7,QUERY,d\xfe,'SELECT 1',0",
                    tail,
                ]
                .concat()
            };
            let (ff, fe) = (ndjson(&line(b"\xff")), ndjson(&line(b"\xfe")));
            assert_ne!(ff, fe);
            assert_eq!(ff["username"], "\u{FFFD}");
            assert_eq!(base64_of(&ff, "username_base64"), b"\xff");
            assert_eq!(base64_of(&fe, "username_base64"), b"\xfe");
            assert_eq!(ff["serverhost"], "srv\u{FFFD}1");
            assert_eq!(base64_of(&ff, "serverhost_base64"), b"srv\xfd1");
            assert_eq!(ff["database"], "d\u{FFFD}");
            assert_eq!(base64_of(&ff, "database_base64"), b"d\xfe");
            assert!(ff.get("host_base64").is_none() && ff.get("object_base64").is_none());
            let dialect = if tail.is_empty() {
                "mariadb"
            } else {
                "rds_mysql"
            };
            assert_eq!(ff["dialect"], dialect);
            // Each key right after its name.
            let mut out = Vec::new();
            NdjsonWriter::new().write(&parse_line(&line(b"\xff")).unwrap(), &mut out);
            let text = String::from_utf8(out).unwrap();
            for (name, next) in [
                ("serverhost", "username"),
                ("username", "host"),
                ("database", "object"),
            ] {
                let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
                assert!(at(name) < at(&format!("{name}_base64")), "{text}");
                assert!(at(&format!("{name}_base64")) < at(next), "{text}");
            }
        }
    }

    /// A name that is not UTF-8 and holds commas, quotes, a line break and a whole forged
    /// line stays one JSON line, its bytes exact in base64, on every reading listed.
    #[test]
    fn hostile_names_that_are_not_utf8_keep_their_bytes() {
        let user: &[u8] =
            b"\xff\",x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0\n20240323 13:36:09,db1,\xfe";
        let line = [
            &b"20240323 13:36:08,db1,"[..],
            user,
            b",10.0.0.9,5,0,FAILED_CONNECT,,,1045",
        ]
        .concat();
        let e = parse_line(&line).unwrap();
        let mut out = Vec::new();
        NdjsonWriter::new().write(&e, &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["operation"], "FAILED_CONNECT");
        assert_eq!(base64_of(&v, "username_base64"), user);
        for alt in v["alternatives"].as_array().into_iter().flatten() {
            let name = alt["username"].as_str().unwrap();
            if name.contains('\u{FFFD}') {
                assert!(alt.get("username_base64").is_some(), "{alt}");
            }
        }
    }

    /// Trailing fields are written as `from_utf8_lossy` reads them, escaped: invalid UTF-8,
    /// a cut sequence at the end, quotes and control bytes.
    #[test]
    fn extra_fields_are_lossy_text() {
        let mut e = parse_line(b"20240323 13:36:09,h,u,l,4,5,CONNECT,db,,0").unwrap();
        let raw: &[u8] = b"caf\xe9\"\x01,\\\xf0\x9f\x8e,ok";
        e.extra = crate::audit::event::Extra::new(Some(raw));
        let mut out = Vec::new();
        NdjsonWriter::new().write(&e, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let want: Vec<String> = e
            .extra
            .fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        assert_eq!(want.len(), 3);
        assert_eq!(v["extra"], serde_json::json!(want));
    }

    #[test]
    fn ambiguity_keys_only_when_ambiguous() {
        let plain = ndjson(b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,");
        assert!(plain.get("ambiguous").is_none() && plain.get("alternatives").is_none());
        let v = ndjson(b"20240615 10:31:00,db1,app,localhost,43,17,READ,a,b,t,1,");
        assert_eq!(v["ambiguous"], true);
        assert_eq!(v["readings"], 3);
        let alternatives = v["alternatives"].as_array().unwrap();
        assert_eq!(alternatives.len(), 2);
        let mut cuts: Vec<String> = std::iter::once(&v)
            .chain(alternatives)
            .map(|r| {
                format!(
                    "{}|{}",
                    r["database"].as_str().unwrap(),
                    r["object"].as_str().unwrap()
                )
            })
            .collect();
        cuts.sort();
        assert_eq!(cuts, ["a,b,t|1", "a,b|t,1", "a|b,t,1"]);
        assert_eq!(alternatives[0]["operation"], "READ");
        assert_eq!(alternatives[0]["retcode"], serde_json::Value::Null);
        assert!(v.get("alternatives_omitted").is_none());
    }

    proptest::proptest! {
        /// An object that is not UTF-8, quoted or not, is written as the former two passes
        /// wrote it: the unescaped bytes' lossy text, escaped, then the bytes in
        /// base64 (the `base64` crate's standard alphabet, padded).
        #[test]
        fn invalid_object_is_lossy_text_and_base64(
            raw in proptest::collection::vec(proptest::prop_oneof![
                proptest::sample::select(vec![b'a', b' ', b'\\', b'\'', b'"', b'n', 0x01, 0x80, 0xc3, 0xa9, 0xe9, 0xff]),
                proptest::num::u8::ANY,
            ], 0..200),
            quoted in proptest::bool::ANY,
        ) {
            let mut raw = raw;
            raw.push(0xff);
            let line = [
                &b"20240323 13:36:09,h,u,l,4,5,QUERY,db,"[..],
                if quoted { b"'" } else { b"" },
                &raw,
                if quoted { b"'" } else { b"" },
                b",0",
            ]
            .concat();
            let Ok(e) = parse_line(&line) else { return Ok(()) };
            let mut out = Vec::new();
            NdjsonWriter::new().write(&e, &mut out);
            let bytes = if e.object.is_quoted() {
                crate::audit::unescape::unescape_reference(e.object.raw())
            } else {
                e.object.raw().to_vec()
            };
            proptest::prop_assume!(std::str::from_utf8(&bytes).is_err());
            let mut expected = br#""object":""#.to_vec();
            json_escape::escape_reference(&mut expected, &String::from_utf8_lossy(&bytes));
            expected.extend_from_slice(br#"","object_base64":""#);
            expected.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(&bytes).as_bytes());
            expected.extend_from_slice(br#"","retcode""#);
            proptest::prop_assert!(
                out.windows(expected.len()).any(|w| w == expected.as_slice()),
                "{}", String::from_utf8_lossy(&out)
            );
        }
    }

    /// Provenance strings: repeated, the same length with other text, escapes, absent.
    fn provenance_text() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        proptest::option::of(proptest::sample::select(vec![
            "/aws/rds/cluster/c1/audit".to_owned(),
            "/aws/rds/cluster/c2/audit".to_owned(),
            "a\"b".to_owned(),
            "a\nb\u{1}".to_owned(),
            "ab".to_owned(),
            String::new(),
            "49590338271490256608559692538361571095921575989136588898".to_owned(),
        ]))
    }

    proptest::proptest! {
        /// A writer that has written other events writes each one as a fresh writer does.
        #[test]
        fn repeated_provenance_is_written_as_fresh(
            provenances in proptest::collection::vec(
                (provenance_text(), provenance_text(), provenance_text(), provenance_text(), provenance_text()),
                1..8,
            ),
        ) {
            let mut e = parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
            let mut writer = NdjsonWriter::new();
            for (group, stream, seq, file, default_file) in &provenances {
                e.provenance = Provenance {
                    log_group: group.as_deref(),
                    log_stream: stream.as_deref(),
                    event_id: Some("1"),
                    cloudwatch_timestamp_ms: Some(2),
                    sequence_number: seq.as_deref(),
                    file: file.as_deref(),
                    line_number: None,
                };
                let (mut ours, mut fresh) = (Vec::new(), Vec::new());
                writer.set_file(default_file.as_deref());
                writer.write(&e, &mut ours);
                let mut new = NdjsonWriter::new();
                new.set_file(default_file.as_deref());
                new.write(&e, &mut fresh);
                proptest::prop_assert_eq!(&ours, &fresh);
                let v: serde_json::Value = serde_json::from_slice(&ours).unwrap();
                proptest::prop_assert_eq!(v.get("log_group").and_then(|v| v.as_str()), group.as_deref());
                proptest::prop_assert_eq!(v.get("log_stream").and_then(|v| v.as_str()), stream.as_deref());
                proptest::prop_assert_eq!(v.get("sequence_number").and_then(|v| v.as_str()), seq.as_deref());
                proptest::prop_assert_eq!(v.get("file").and_then(|v| v.as_str()), file.as_deref().or(default_file.as_deref()));
            }
        }
    }

    proptest::proptest! {
        /// Events of the same or other times (whole seconds or not), dialects and server
        /// hosts (the same length with other text, escapes) are written as a fresh writer
        /// writes each.
        #[test]
        fn repeated_lead_is_written_as_fresh(events in super::super::lead::lead_runs()) {
            let mut e = parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
            let mut writer = NdjsonWriter::new();
            for (epoch_us, dialect, serverhost) in events {
                e.timestamp = crate::audit::event::Timestamp { epoch_us, dialect };
                e.serverhost = serverhost.into();
                let (mut ours, mut fresh) = (Vec::new(), Vec::new());
                writer.write(&e, &mut ours);
                NdjsonWriter::new().write(&e, &mut fresh);
                proptest::prop_assert_eq!(&ours, &fresh);
                let v: serde_json::Value = serde_json::from_slice(&ours).unwrap();
                proptest::prop_assert_eq!(v["serverhost"].as_str(), Some(serverhost));
                proptest::prop_assert_eq!(v["timestamp_us"].as_i64(), Some(epoch_us));
            }
        }
    }

    /// `set_file` names the events that name no file, in the place `file` has; an event's own
    /// file wins; `None` writes no key again.
    #[test]
    fn set_file_names_events_without_a_file() {
        let mut e = parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
        e.provenance.sequence_number = Some("7");
        e.provenance.line_number = Some(3);
        let mut writer = NdjsonWriter::new();
        let read = |writer: &mut NdjsonWriter, e: &AuditEvent<'_>| {
            let mut out = Vec::new();
            writer.write(e, &mut out);
            let text = String::from_utf8(out).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            (text, v)
        };
        writer.set_file(Some("a\"b.log"));
        let (text, v) = read(&mut writer, &e);
        assert_eq!(v["file"], "a\"b.log");
        assert!(text.ends_with(
            r#""sequence_number":"7","file":"a\"b.log","line":3}
"#
        ));
        let (_, v) = read(
            &mut writer,
            &AuditEvent {
                provenance: Provenance {
                    file: Some("own.log"),
                    ..e.provenance
                },
                ..e.clone()
            },
        );
        assert_eq!(v["file"], "own.log");
        writer.set_file(None);
        let (_, v) = read(&mut writer, &e);
        assert!(v.get("file").is_none());
    }

    /// Each known operation's constant is its key, [`Operation::as_str`] and the next key.
    #[test]
    fn keyed_operations_are_as_str() {
        for op in KEYED_OPERATIONS {
            let want = format!(r#","operation":"{}","database":""#, op.as_str());
            assert_eq!(operation_keyed(op), want);
        }
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
