//! `rdsaudit replay`: read a Lambda quarantine back (see `rdsaudit::quarantine`) and decode
//! what it holds again, with this build's decoder: a fixed decoder turns yesterday's poison
//! records into today's events.
//!
//! Entries come from files: S3 objects, `aws sqs receive-message` answers, the function log
//! (`aws logs filter-log-events` answers or plain lines); parts are joined. Records are
//! decoded to NDJSON events on stdout (a record kept as its JSON, its shape wrong, is read
//! as a Kinesis record again: once fixed, its events), lines parsed again, oversized events
//! printed as they were kept. What still fails is reported on stderr, one line each.

use std::io::{self, BufWriter, Write};

use rdsaudit::AuditEvent;
use rdsaudit::input::get_records::record_shape;
use rdsaudit::input::{Payload, SourceParser, SourceRecord};
use rdsaudit::pipeline::Pipeline;
use rdsaudit::quarantine::{EntryKind, OwnedEntry, read_entries};
use rdsaudit::sink::{FailedRecord, NdjsonWriter, Sink, UnparsedLine};

use crate::args::ReplayArgs;
use crate::{OK, SOME_INPUT_FAILED};

/// The counts printed at the end.
#[derive(Debug, Default)]
struct Counts {
    entries: u64,
    events: u64,
    still_failing: u64,
    unreadable: u64,
    /// Lines that are not quarantine entries (the function log's own lines, events).
    other_lines: u64,
    /// Files that held no entry at all: not a quarantine (a `--rejects` file, say).
    not_quarantine: u64,
}

/// Writes events as NDJSON; reports what does not decode.
struct Replay<'o, W: Write> {
    out: &'o mut W,
    writer: NdjsonWriter,
    line: Vec<u8>,
    entry_id: &'o str,
    counts: &'o mut Counts,
    error: Option<io::Error>,
}

impl<W: Write> Replay<'_, W> {
    fn emit(&mut self, event: &AuditEvent<'_>) {
        self.line.clear();
        self.writer.write(event, &mut self.line);
        if let Err(e) = self.out.write_all(&self.line) {
            self.error.get_or_insert(e);
        }
        self.counts.events += 1;
    }
}

impl<W: Write> Sink for Replay<'_, W> {
    fn event(&mut self, event: &AuditEvent<'_>) {
        self.emit(event);
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.counts.still_failing += 1;
        // An event without an id (a file's line, `get-log-events` output) is named by its
        // entry alone, never as event `?`.
        let event = line.event_id.map(|id| format!(" {id}")).unwrap_or_default();
        ewriteln!(
            "rdsaudit: entry {}: log event{event} is still not an audit line: {}",
            self.entry_id,
            line.reason
        );
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        self.counts.still_failing += 1;
        ewriteln!(
            "rdsaudit: entry {}: the record still cannot be read: {}",
            self.entry_id,
            record.error
        );
    }
}

/// Runs `rdsaudit replay`.
pub fn run(args: &ReplayArgs, quiet: bool) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let pipeline = Pipeline::new();
    let mut counts = Counts::default();
    for path in &args.files {
        let bytes = read_path(path)?;
        let read = match sqs_bodies(&bytes) {
            Some(lines) => read_entries(&lines),
            None => read_entries(&bytes),
        };
        for error in &read.errors {
            counts.unreadable += 1;
            ewriteln!("rdsaudit: {}: {error}", path.display());
        }
        counts.other_lines += read.other_lines;
        if read.entries.is_empty() && read.errors.is_empty() {
            // Said even with --quiet: nothing of this file was replayed.
            counts.not_quarantine += 1;
            ewriteln!(
                "rdsaudit: {}: no quarantine entry in it ({} other lines): not a Lambda quarantine \
                 (an `rdsaudit parse --rejects` file is read again with `rdsaudit parse`)",
                path.display(),
                read.other_lines
            );
        }
        for entry in &read.entries {
            counts.entries += 1;
            if args.list {
                list(&mut out, entry)?;
            } else {
                replay(&mut out, &pipeline, entry, &mut counts)?;
            }
        }
    }
    out.flush()?;
    if !quiet {
        ewriteln!(
            "rdsaudit: {} quarantine entries, {} events decoded, {} still failing, {} unreadable, \
             {} other lines skipped",
            counts.entries,
            counts.events,
            counts.still_failing,
            counts.unreadable,
            counts.other_lines
        );
    }
    Ok(
        if counts.still_failing + counts.unreadable + counts.not_quarantine == 0 {
            OK
        } else {
            SOME_INPUT_FAILED
        },
    )
}

/// The bodies of an `aws sqs receive-message` answer, one after another, each ending with a
/// newline. The SQS quarantine packs several documents in a body, one a line, which
/// `read_entries` reads from lines but not from one `Body` string; a body of one document
/// (an older function's) is one line too.
fn sqs_bodies(bytes: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(bytes, b"\"Messages\"")?;
    let answer: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let messages = answer.get("Messages")?.as_array()?;
    let mut lines = Vec::new();
    for message in messages {
        match message.get("Body").and_then(|b| b.as_str()) {
            Some(body) => lines.extend_from_slice(body.as_bytes()),
            // A message without its `Body` string is read as it is: one that holds an entry's
            // keys is an unreadable entry, not dropped (review 31).
            None => lines.extend_from_slice(message.to_string().as_bytes()),
        }
        lines.push(b'\n');
    }
    Some(lines)
}

/// The bytes of a file, or of stdin for `-`.
fn read_path(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes).context("reading stdin")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// One JSON line describing `entry`, without decoding it.
fn list(out: &mut impl Write, entry: &OwnedEntry) -> io::Result<()> {
    let mut line = Vec::new();
    line.extend_from_slice(b"{\"id\":");
    rdsaudit::sink::json_str(&mut line, &entry.id);
    line.extend_from_slice(b",\"entry\":");
    rdsaudit::sink::json_str(&mut line, entry.kind.as_str());
    line.extend_from_slice(b",\"error_kind\":");
    rdsaudit::sink::json_str(&mut line, &entry.error_kind);
    line.extend_from_slice(b",\"reason\":");
    rdsaudit::sink::json_str(&mut line, &entry.reason);
    if let Some(seq) = &entry.sequence_number {
        line.extend_from_slice(b",\"sequence_number\":");
        rdsaudit::sink::json_str(&mut line, seq);
    }
    line.extend_from_slice(format!(",\"payload_bytes\":{}}}\n", entry.payload.len()).as_bytes());
    out.write_all(&line)
}

/// The `error_kind` of a line entry that holds a log event's JSON, not its message
/// (`rdsaudit::input::log_event`'s name for an envelope's entry that does not read).
const LOG_EVENT_ERROR: &str = "EnvelopeEvent";

fn replay<W: Write>(
    out: &mut W,
    pipeline: &Pipeline,
    entry: &OwnedEntry,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    if entry.kind == EntryKind::Event {
        // Already an NDJSON event: kept whole because a destination could not take it.
        out.write_all(&entry.payload)?;
        out.write_all(b"\n")?;
        counts.events += 1;
        return Ok(());
    }
    let mut sink = Replay {
        out,
        writer: NdjsonWriter::new(),
        line: Vec::new(),
        entry_id: &entry.id,
        counts,
        error: None,
    };
    match entry.kind {
        // A CloudWatch log event that did not read (no `id`, a lone surrogate...): the
        // entry is its JSON as delivered, not an audit line, and reads no better now
        // (session 34's adversary, MEDIUM-1: it was said to be "still not an audit line:
        // line does not start with an audit timestamp", not why it failed).
        EntryKind::Line if entry.error_kind == LOG_EVENT_ERROR => {
            sink.counts.still_failing += 1;
            ewriteln!(
                "rdsaudit: entry {}: still a CloudWatch log event that does not read: {} (its payload is the log event's JSON as delivered)",
                entry.id,
                entry.reason
            );
        }
        EntryKind::Line => match rdsaudit::parse_line(&entry.payload) {
            Ok(mut event) => {
                event.provenance.log_group = entry.log_group.as_deref();
                event.provenance.log_stream = entry.log_stream.as_deref();
                event.provenance.event_id = entry.event_id.as_deref();
                event.provenance.sequence_number = entry.sequence_number.as_deref();
                sink.emit(&event);
            }
            Err(reason) => {
                sink.counts.still_failing += 1;
                ewriteln!(
                    "rdsaudit: entry {}: still not an audit line: {reason}",
                    entry.id
                );
            }
        },
        _ if is_record_json(&entry.payload) => replay_record_json(pipeline, entry, &mut sink),
        _ => {
            let mut record = SourceRecord::new(payload(&entry.payload));
            record.sequence_number = entry.sequence_number.as_deref();
            pipeline.with_worker(|w| w.process_record(0, &record, &mut sink));
        }
    }
    match sink.error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Whether a record entry's payload is a Kinesis record kept as its JSON (a record whose
/// shape was wrong: no `data`, a key twice, both shapes), not a CloudWatch payload: an
/// object with a shape key of either record (`kinesis`, `Data`, `SequenceNumber`) near its
/// start, the sniff detection uses ([`record_shape`]).
fn is_record_json(payload: &[u8]) -> bool {
    payload.first() == Some(&b'{') && record_shape(payload).is_some()
}

/// A record kept as its JSON, read again as the one record of a Kinesis event: fixed (a
/// duplicate `data` removed), its events; still wrong, a failed record again.
fn replay_record_json<W: Write>(pipeline: &Pipeline, entry: &OwnedEntry, sink: &mut Replay<'_, W>) {
    let mut buf = Vec::with_capacity(entry.payload.len() + 16 + simd_json::INPUT_PADDING);
    buf.extend_from_slice(b"{\"Records\":[");
    buf.extend_from_slice(&entry.payload);
    buf.extend_from_slice(b"]}");
    let len = buf.len();
    buf.resize(len + simd_json::INPUT_PADDING, 0);
    match rdsaudit::input::parse_kinesis_event(&mut buf, len, &mut SourceParser::new()) {
        Ok(records) => {
            for (i, record) in records.iter().enumerate() {
                pipeline.with_worker(|w| w.process_record(i, record, sink));
            }
        }
        Err(e) => {
            sink.counts.still_failing += 1;
            ewriteln!(
                "rdsaudit: entry {}: still not a Kinesis record: {e}",
                entry.id
            );
        }
    }
}

/// A record's payload as the Lambda received it: base64 text; gzip or JSON when kept from
/// another source.
fn payload(bytes: &[u8]) -> Payload<'_> {
    match bytes {
        [0x1f, 0x8b, ..] => Payload::Gzip(bytes),
        [b'{', ..] => Payload::Json(bytes),
        _ => Payload::Base64(bytes),
    }
}
