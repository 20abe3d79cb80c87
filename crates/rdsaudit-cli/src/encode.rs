//! `rdsaudit encode`: audit lines in, what the AWS pipeline delivers out: a Lambda Kinesis
//! event, a direct `awslogs` Lambda event, a gzip CloudWatch Logs payload or a Firehose-to-S3
//! object. For the Lambda console's test events, `cargo lambda invoke --data-file` and tests,
//! instead of gzip and base64 by hand.
//!
//! Each record, as `parse` reads the text (one whose names hold raw line breaks is one record),
//! becomes one CloudWatch log event, the blank lines before it kept in its message (no byte
//! of the text is left out). Its `timestamp` is the record's own time (CloudWatch's agent stamps
//! events when it reads them, a moment later; the record's time is the closest fact we have),
//! with a 56-digit `id` increasing with it. Lines that do not parse keep the time of the line
//! before them. Whether RDS ships one log event per record or per physical line is not
//! documented (a message may hold several lines); `parse` applies the window rule across the
//! log events of an envelope either way (docs/HOSTILE.md rule 4). With `--lines-per-event N`,
//! each log event's `message` holds N records joined by `\n`, as shippers that batch lines
//! write them (the event's time and id are its first record's). The packaging is
//! [`rdsaudit_synth::delivery`]'s, the same builders the synthetic corpora use.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use rdsaudit_synth::delivery::{
    KinesisRecord, LogEvent, awslogs_event, base64, envelope, event_id, firehose_object, gzip,
    kinesis_event, sequence_number,
};

/// What `encode` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Lambda event from a Kinesis event source mapping (JSON), one record per
    /// --events-per-record lines
    Kinesis,
    /// Lambda event from a CloudWatch Logs subscription, {"awslogs":{"data":...}} (JSON), all
    /// lines in one payload
    Awslogs,
    /// One CloudWatch Logs subscription payload, gzip (binary): what a Kinesis record holds
    Gzip,
    /// A Firehose-to-S3 object: gzip payloads back to back, one per --events-per-record lines
    Firehose,
}

/// `rdsaudit encode` arguments.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  rdsaudit encode audit.log > kinesis-event.json && cargo lambda invoke --data-file kinesis-event.json
  rdsaudit encode --to awslogs audit.log > awslogs-event.json
  rdsaudit encode --to gzip audit.log | rdsaudit decode")]
pub struct EncodeArgs {
    /// Audit log files (plain or gzip); `-` or none reads stdin
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// What to write
    #[arg(long, value_enum, default_value = "kinesis")]
    pub to: Target,
    /// The `logGroup` of the payloads
    #[arg(long, default_value = "/aws/rds/instance/database-1/audit")]
    pub log_group: String,
    /// The `logStream` of the payloads (RDS names it after the instance)
    #[arg(long, default_value = "database-1")]
    pub log_stream: String,
    /// Log events per Kinesis record or Firehose payload
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub events_per_record: u64,
    /// Audit records per CloudWatch log event, joined by `\n` in its message (as a shipper that
    /// batches lines writes them; 1: one record per event, with the blank lines before it)
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub lines_per_event: u64,
    /// Write here instead of stdout
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// One log event: an audit line (or several, joined) with the CloudWatch fields it gets.
struct Line {
    id: String,
    timestamp_ms: i64,
    message: Vec<u8>,
}

pub fn run(args: &EncodeArgs) -> anyhow::Result<u8> {
    if let Some(path) = &args.out {
        let inputs = super::paths::expand(&args.paths);
        super::paths::refuse_overwrite("--out", path, &inputs)?;
    }
    let lines = read_lines(&args.paths)?;
    anyhow::ensure!(!lines.is_empty(), "no audit lines to encode");
    let lines = join_lines(lines, args.lines_per_event);
    let chunk = usize::try_from(args.events_per_record).unwrap_or(usize::MAX);
    let payload = |lines: &[Line]| {
        envelope(
            &args.log_group,
            &args.log_stream,
            lines.iter().map(|l| LogEvent {
                id: &l.id,
                timestamp_ms: l.timestamp_ms,
                message: &l.message,
            }),
        )
    };
    let bytes = match args.to {
        Target::Kinesis => {
            let seed = lines.first().map_or(0, |l| l.timestamp_ms.unsigned_abs());
            let records: Vec<KinesisRecord> = lines
                .chunks(chunk)
                .enumerate()
                .map(|(i, part)| KinesisRecord {
                    sequence_number: sequence_number(seed, i),
                    partition_key: args.log_stream.clone(),
                    data: base64(&gzip(&payload(part))),
                    arrival_ms: part.last().map_or(0, |l| l.timestamp_ms + 180),
                })
                .collect();
            kinesis_event(&records)
        }
        Target::Awslogs => awslogs_event(&gzip(&payload(&lines))),
        Target::Gzip => gzip(&payload(&lines)),
        Target::Firehose => {
            let payloads: Vec<Vec<u8>> = lines.chunks(chunk).map(payload).collect();
            firehose_object(&payloads)
        }
    };
    let mut out = super::output(args.out.as_deref())?;
    out.write_all(&bytes)?;
    if matches!(args.to, Target::Kinesis | Target::Awslogs) {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(super::OK)
}

/// The audit lines of every input (records rejoined as `parse` reads them), with ids and
/// times.
fn read_lines(paths: &[PathBuf]) -> anyhow::Result<Vec<Line>> {
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    let mut lines = Vec::new();
    let mut last_ms = None;
    for path in paths {
        let text = read_text(path)?;
        warn_unless_audit_lines(path, &text);
        warn_unless_utf8(path, &text);
        for (record, message) in messages(&text) {
            let own_ms = rdsaudit::parse_line(record)
                .ok()
                .map(|e| e.timestamp.epoch_us.div_euclid(1000));
            let timestamp_ms = own_ms.or(last_ms).unwrap_or_else(now_ms);
            last_ms = Some(timestamp_ms);
            let counter = lines.len() as u64 + 1;
            lines.push(Line {
                id: event_id(timestamp_ms, counter),
                timestamp_ms,
                message: message.to_vec(),
            });
        }
    }
    Ok(lines)
}

/// Each record of `text` as `parse` reads it, with the message of its log event: the record
/// and the blank lines before it (those after the last record go with it), so that no byte
/// of the text is left out (a name's raw `\n\n` makes a blank line between the lines of one
/// record, and the window rule reads it: a message that starts with a blank line is dirty).
fn messages(text: &[u8]) -> Vec<(&[u8], &[u8])> {
    let base = text.as_ptr() as usize;
    let mut out: Vec<(&[u8], &[u8])> = Vec::new();
    let (mut from, mut last_start) = (0, 0);
    for record in rdsaudit::input::text::records(text) {
        let at = (record.bytes.as_ptr() as usize).saturating_sub(base);
        let end = at + record.bytes.len();
        out.push((record.bytes, text.get(from..end).unwrap_or(record.bytes)));
        last_start = from;
        from = end + break_len(text.get(end..).unwrap_or_default());
    }
    let tail = text.get(from..).unwrap_or_default();
    if let (Some(last), false) = (out.last_mut(), tail.is_empty()) {
        // Blank lines after the last record: up to the text's final break.
        let end = from + tail.len() - break_len_at_end(tail);
        last.1 = text.get(last_start..end).unwrap_or(last.1);
    }
    out
}

/// The length of the line break `rest` starts with (`\n`, `\r\n`, a lone `\r`, or none).
fn break_len(rest: &[u8]) -> usize {
    match rest {
        [b'\r', b'\n', ..] => 2,
        [b'\n' | b'\r', ..] => 1,
        _ => 0,
    }
}

/// The length of the line break `text` ends with.
fn break_len_at_end(text: &[u8]) -> usize {
    match text {
        [.., b'\r', b'\n'] => 2,
        [.., b'\n' | b'\r'] => 1,
        _ => 0,
    }
}

/// The lines, `per_event` to a log event: their messages joined by `\n`, the first line's
/// id and time.
fn join_lines(lines: Vec<Line>, per_event: u64) -> Vec<Line> {
    let per_event = usize::try_from(per_event).unwrap_or(usize::MAX);
    if per_event <= 1 {
        return lines;
    }
    let mut events: Vec<Line> = Vec::with_capacity(lines.len().div_ceil(per_event));
    for (i, line) in lines.into_iter().enumerate() {
        match events.last_mut() {
            Some(event) if i % per_event != 0 => {
                event.message.push(b'\n');
                event.message.extend_from_slice(&line.message);
            }
            _ => events.push(line),
        }
    }
    events
}

/// A file's text, inflated when it is gzip.
fn read_text(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
            .context("reading stdin")?;
        buf
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut inflater = rdsaudit::input::gzip::Inflater::with_limit(1 << 30);
    let inflated = inflater
        .inflate(&bytes)
        .with_context(|| format!("{}: gzip", path.display()))?;
    Ok(inflated.bytes().to_vec())
}

/// Encode wraps any text, line by line: a delivery or payload given by mistake (`encode
/// event.json`) would become audit lines that are all unparsed downstream, so it is said.
fn warn_unless_audit_lines(path: &std::path::Path, text: &[u8]) {
    let kind = rdsaudit::input::detect(text);
    if kind != rdsaudit::input::InputKind::AuditText {
        ewriteln!(
            "rdsaudit: {}: reads as {} input, not audit lines: each of its lines is wrapped as an audit line (rdsaudit decode shows what a delivery holds)",
            path.display(),
            kind.name()
        );
    }
}

/// A log event's `message` is a JSON string: bytes that are not UTF-8 cannot be written in
/// one, and become U+FFFD. Said, with where the first is (its line counted as `parse` counts
/// them: `\n`, `\r\n` or a lone `\r`; its byte in that line), so no one takes the event for
/// the text.
fn warn_unless_utf8(path: &std::path::Path, text: &[u8]) {
    if let Err(e) = std::str::from_utf8(text) {
        let before = text.get(..e.valid_up_to()).unwrap_or_default();
        let line = rdsaudit::input::text::count_lines(before) + 1;
        let line_start = memchr::memrchr2(b'\n', b'\r', before).map_or(0, |i| i + 1);
        ewriteln!(
            "rdsaudit: {}: line {line}, byte {}: not valid UTF-8 (the first such byte; there may be more): a log event's message is a JSON string, so such bytes are written as U+FFFD (parse the file itself to keep them: NDJSON's object_base64)",
            path.display(),
            before.len() - line_start
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
